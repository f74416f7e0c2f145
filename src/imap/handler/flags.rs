//! `ImapHandler` flag and keyword calls beyond `mark_as_read` / `add_star`: any flags,
//! `\Deleted`, keywords; each on a pooled connection for the call.

use super::ImapHandler;
use crate::config::Config;
use crate::error::Result;
use crate::imap::types::Flag;
use crate::imap::uids::Uids;

impl ImapHandler {
    /// Adds flags (see [`ImapConnection::add_flags`](crate::imap::ImapConnection::add_flags)).
    pub fn add_flags(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        flags: &[Flag],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .add_flags(folder, uids, flags)
    }

    /// Removes flags.
    pub fn remove_flags(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        flags: &[Flag],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .remove_flags(folder, uids, flags)
    }

    /// Replaces the messages' flags.
    pub fn set_flags(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        flags: &[Flag],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .set_flags(folder, uids, flags)
    }

    /// Adds `\Deleted` only (nothing is expunged: see [`expunge`](Self::expunge),
    /// [`uid_expunge`](Self::uid_expunge), or [`delete_messages`](Self::delete_messages)
    /// for both steps).
    pub fn mark_deleted(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
    ) -> Result<()> {
        self.conn_for(account, folder)?.mark_deleted(folder, uids)
    }

    /// Adds keywords (`$Forwarded`, `Work`, …); each must be an IMAP atom.
    pub fn add_keywords(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        keywords: &[&str],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .add_keywords(folder, uids, keywords)
    }

    /// Removes keywords.
    pub fn remove_keywords(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        keywords: &[&str],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .remove_keywords(folder, uids, keywords)
    }
}
