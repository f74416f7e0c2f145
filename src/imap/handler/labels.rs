//! `ImapHandler` Gmail label calls (X-GM-EXT-1), each on a pooled connection for the call.

use super::ImapHandler;
use crate::config::Config;
use crate::error::Result;
use crate::imap::uids::Uids;

impl ImapHandler {
    /// Adds Gmail labels (see
    /// [`ImapConnection::add_labels`](crate::imap::ImapConnection::add_labels)).
    pub fn add_labels(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        labels: &[&str],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .add_labels(folder, uids, labels)
    }

    /// Removes Gmail labels (see
    /// [`ImapConnection::remove_labels`](crate::imap::ImapConnection::remove_labels)).
    pub fn remove_labels(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        labels: &[&str],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .remove_labels(folder, uids, labels)
    }

    /// Replaces the Gmail labels (see
    /// [`ImapConnection::set_labels`](crate::imap::ImapConnection::set_labels)).
    pub fn set_labels(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        labels: &[&str],
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .set_labels(folder, uids, labels)
    }
}
