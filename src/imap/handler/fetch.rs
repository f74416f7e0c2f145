//! `ImapHandler` fetches beyond `fetch_messages`: headers, metadata, one part, a byte
//! range, a message streamed to a writer; each on a pooled connection for the call.

use std::io::Write;

use super::ImapHandler;
use crate::config::Config;
use crate::error::Result;
use crate::imap::uids::{Uid, Uids};
use crate::message::Message;

impl ImapHandler {
    /// The header blocks of these messages, ascending by UID (see
    /// [`ImapConnection::fetch_headers`](crate::imap::ImapConnection::fetch_headers)):
    /// what a sync fetches for `delta.new`. UIDs that do not exist are skipped; UIDs read
    /// under another UIDVALIDITY are refused with
    /// [`Error::UidValidityChanged`](crate::Error::UidValidityChanged).
    pub fn fetch_headers(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
    ) -> Result<Vec<Message>> {
        self.conn_for(account, folder)?.fetch_headers(folder, uids)
    }

    /// Flags, size, internal date, envelope and body structure of these messages (see
    /// [`ImapConnection::fetch_metadata`](crate::imap::ImapConnection::fetch_metadata)).
    pub fn fetch_metadata(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
    ) -> Result<Vec<Message>> {
        self.conn_for(account, folder)?.fetch_metadata(folder, uids)
    }

    /// One MIME part of a message, still transfer-encoded; `None` if there is no such
    /// message (see [`ImapConnection::fetch_part`](crate::imap::ImapConnection::fetch_part)).
    pub fn fetch_part(
        &self,
        account: &Config,
        folder: &str,
        uid: impl Into<Uid>,
        path: &[u32],
    ) -> Result<Option<Vec<u8>>> {
        self.conn_for(account, folder)?
            .fetch_part(folder, uid, path)
    }

    /// One MIME part of a message, decoded by the server (`BINARY`, RFC 3516); `None` if
    /// there is no such message (see
    /// [`ImapConnection::fetch_part_binary`](crate::imap::ImapConnection::fetch_part_binary)).
    pub fn fetch_part_binary(
        &self,
        account: &Config,
        folder: &str,
        uid: impl Into<Uid>,
        path: &[u32],
    ) -> Result<Option<Vec<u8>>> {
        self.conn_for(account, folder)?
            .fetch_part_binary(folder, uid, path)
    }

    /// `len` bytes of a message from byte `offset` (see
    /// [`ImapConnection::fetch_range`](crate::imap::ImapConnection::fetch_range)).
    pub fn fetch_range(
        &self,
        account: &Config,
        folder: &str,
        uid: impl Into<Uid>,
        offset: u32,
        len: u32,
    ) -> Result<Option<Vec<u8>>> {
        self.conn_for(account, folder)?
            .fetch_range(folder, uid, offset, len)
    }

    /// Streams a whole message to `writer` in constant memory; the bytes written, or
    /// `None` if there is no such message (see
    /// [`ImapConnection::fetch_to_writer`](crate::imap::ImapConnection::fetch_to_writer)).
    /// A failing writer breaks the connection, which the pool then drops.
    pub fn fetch_to_writer(
        &self,
        account: &Config,
        folder: &str,
        uid: impl Into<Uid>,
        writer: &mut dyn Write,
    ) -> Result<Option<u64>> {
        self.conn_for(account, folder)?
            .fetch_to_writer(folder, uid, writer)
    }
}
