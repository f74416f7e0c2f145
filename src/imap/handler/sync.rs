//! `ImapHandler::sync` / `sync_with`: the incremental folder sync (`imap/sync/`) on a
//! pooled connection, for worker threads sharing one handler.

use super::ImapHandler;
use crate::config::Config;
use crate::error::Result;
use crate::imap::sync::{SyncDelta, SyncState, SyncStrategy};

impl ImapHandler {
    /// [`ImapConnection::sync`](crate::imap::ImapConnection::sync) on a connection checked
    /// out of the pool for the call: what changed in `folder` of `account` since `state`
    /// was taken (a [`SyncState::new`] for a first sync), with the next state to store.
    /// Errors are the connection's (a `state` for another folder is
    /// [`Error::InvalidInput`](crate::Error::InvalidInput)), plus the pool's own
    /// ([`Error::PoolTimeout`](crate::Error::PoolTimeout) when every connection of the
    /// account stays busy).
    ///
    /// A `SyncState` belongs to one account and one folder, not to a connection: the next
    /// call may run on another pooled connection (or after a reconnect) and still gets the
    /// right delta. A UIDVALIDITY reset the delta reports is recorded in the pool's memory
    /// of the account, so the new UIDs are accepted by every connection of the account.
    ///
    /// ```no_run
    /// use mailwire::Config;
    /// use mailwire::imap::{ImapHandler, SyncState};
    ///
    /// let handler = ImapHandler::new()?;
    /// let account = Config::builder("imap.example.com").login("alice", "app-password").build()?;
    /// let state = SyncState::new("INBOX"); // or the text stored last time, parsed
    /// let delta = handler.sync(&account, "INBOX", &state)?;
    /// for message in handler.fetch_headers(&account, "INBOX", &delta.new)? {
    ///     println!("new: {:?} {:?}", message.uid(), message.subject());
    /// }
    /// let to_store = delta.state.to_string();
    /// # let _ = to_store;
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn sync(&self, account: &Config, folder: &str, state: &SyncState) -> Result<SyncDelta> {
        self.conn(account)?.sync(folder, state)
    }

    /// [`sync`](Self::sync) with a chosen strategy (see
    /// [`ImapConnection::sync_with`](crate::imap::ImapConnection::sync_with)).
    pub fn sync_with(
        &self,
        account: &Config,
        folder: &str,
        state: &SyncState,
        strategy: SyncStrategy,
    ) -> Result<SyncDelta> {
        self.conn(account)?.sync_with(folder, state, strategy)
    }
}
