//! `ImapHandler` calls that move messages in and out of folders: COPY, EXPUNGE, UID
//! EXPUNGE, APPEND; each on a pooled connection for the call.

use super::ImapHandler;
use crate::config::Config;
use crate::error::Result;
use crate::imap::codec::{AppendMessage, InternalDate};
use crate::imap::connection::{AppendUid, CopyUids};
use crate::imap::types::Flag;
use crate::imap::uids::Uids;
use crate::progress::Progress;

impl ImapHandler {
    /// Copies messages to another folder; the new UIDs when the server says (UIDPLUS; see
    /// [`ImapConnection::copy`](crate::imap::ImapConnection::copy)).
    pub fn copy(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        to: &str,
    ) -> Result<Option<CopyUids>> {
        self.conn_for(account, folder)?.copy(folder, uids, to)
    }

    /// Removes every `\Deleted` message of the folder, also those other clients marked;
    /// returns how many went (see
    /// [`ImapConnection::expunge`](crate::imap::ImapConnection::expunge)).
    pub fn expunge(&self, account: &Config, folder: &str) -> Result<usize> {
        self.conn_for(account, folder)?.expunge(folder)
    }

    /// Removes exactly these messages if they are `\Deleted` (UIDPLUS); returns how many
    /// went (see [`ImapConnection::uid_expunge`](crate::imap::ImapConnection::uid_expunge)).
    pub fn uid_expunge(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
    ) -> Result<usize> {
        self.conn_for(account, folder)?.uid_expunge(folder, uids)
    }

    /// Appends a message with the given flags and, optionally, an internal date; its UID
    /// when the server says (UIDPLUS; see
    /// [`ImapConnection::append`](crate::imap::ImapConnection::append)).
    pub fn append(
        &self,
        account: &Config,
        folder: &str,
        message: &[u8],
        flags: &[Flag],
        date: Option<InternalDate>,
    ) -> Result<Option<AppendUid>> {
        self.conn(account)?.append(folder, message, flags, date)
    }

    /// Appends several messages, each with its own flags and date: one `APPEND` when the
    /// server has MULTIAPPEND (all stored or none), else one each (not atomic); their UIDs
    /// when the server says (see
    /// [`ImapConnection::append_batch`](crate::imap::ImapConnection::append_batch)).
    pub fn append_batch(
        &self,
        account: &Config,
        folder: &str,
        messages: Vec<AppendMessage>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Option<AppendUid>>> {
        self.conn(account)?.append_batch(folder, messages, progress)
    }
}
