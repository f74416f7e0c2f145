//! `ImapHandler`: the high-level, pool-backed IMAP API.

use crate::config::Config;
use crate::error::Result;
use crate::imap::connection::{FetchWhat, FolderStatus};
use crate::imap::folder::Folder;
use crate::imap::pool::{ImapPool, PooledImap};
use crate::imap::search::SearchQuery;
use crate::imap::seqset::SequenceSet;
use crate::imap::uids::{Uid, Uids};
use crate::message::Message;
use crate::pool::{AccountStats, PoolOptions};

mod fetch;
mod flags;
mod folders;
mod labels;
mod order;
mod selection;
mod sync;
mod transfer;

pub use selection::Selection;

/// The high-level IMAP API: every call names the account (`&Config`) and the folder,
/// checks a connection out of its [`ImapPool`], selects the folder, runs, and gives the
/// connection back. `Send + Sync` and cheap to clone: share one handler between worker
/// threads; the pool bounds the connections per account.
///
/// Every folder-scoped call of [`ImapConnection`](crate::imap::ImapConnection) has a
/// twin here taking the account first: [`sync`](Self::sync),
/// [`fetch_headers`](Self::fetch_headers), flags, copy, append, folder management (the
/// table in docs/imap.md, "Worker threads: the handler"); errors are the connection's, plus
/// [`Error::PoolTimeout`](crate::Error::PoolTimeout) when every connection of the account
/// stays busy. A call on the messages of a folder sees what other clients delivered up to
/// the moment it starts: a pooled connection that still has the folder selected from an
/// earlier call sends a `NOOP` first (a server reports such messages only at the end of a
/// command, so the call would miss them), one round trip that replaces the SELECT a
/// connection without the folder sends anyway.
///
/// UIDs are never silently mixed across a folder's recreation: [`search`](Self::search)
/// returns [`Uids`] carrying the folder's UIDVALIDITY, which every UID-taking call checks
/// (store it with the UIDs to keep that check across restarts); plain UIDs are checked
/// against the UIDVALIDITY the pool remembers for the account's folder, whichever pooled
/// connection read it. A mismatch is
/// [`Error::UidValidityChanged`](crate::Error::UidValidityChanged) and nothing is done.
///
/// ```no_run
/// use mailwire::Config;
/// use mailwire::imap::{FetchWhat, ImapHandler, Selection};
///
/// let handler = ImapHandler::new()?;
/// let account = Config::builder("imap.example.com").login("alice", "app-password").build()?;
/// handler.test_connection(&account)?;
/// for message in handler.fetch_messages(&account, "INBOX", Selection::Newest(10), FetchWhat::Full)? {
///     println!("{:?} {:?}", message.uid(), message.subject());
/// }
/// handler.mark_as_read(&account, "INBOX", &[42])?;
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ImapHandler {
    pool: ImapPool,
}

impl ImapHandler {
    /// A handler with a pool of default options (5 connections per account).
    pub fn new() -> Result<ImapHandler> {
        Ok(ImapHandler {
            pool: ImapPool::new()?,
        })
    }

    /// A handler with a pool of the given options.
    pub fn with_options(options: PoolOptions) -> Result<ImapHandler> {
        Ok(ImapHandler {
            pool: ImapPool::with_options(options)?,
        })
    }

    /// A handler over an existing pool (the pool stays shared).
    pub fn with_pool(pool: ImapPool) -> ImapHandler {
        ImapHandler { pool }
    }

    /// A handler on the same pool whose every call honours `cancel`: a call waiting for a
    /// pooled connection returns [`Error::Cancelled`](crate::Error::Cancelled) as soon as
    /// the token is cancelled, a fetch, append or sync under way is cut (its connection is
    /// shut down and closed by the pool, never reused), and every call made after the
    /// cancel returns at once without I/O. Cheap (the pool is shared): make one for a
    /// service's shutdown, or one per job to cancel that job alone. See
    /// [`Cancel`](crate::Cancel) and docs/cancellation.md.
    pub fn with_cancel(&self, cancel: &crate::Cancel) -> ImapHandler {
        ImapHandler {
            pool: self.pool.with_cancel(cancel),
        }
    }

    /// The pool behind the handler.
    pub fn pool(&self) -> &ImapPool {
        &self.pool
    }

    /// Statistics of the account's pooled connections.
    pub fn stats(&self, account: &Config) -> AccountStats {
        self.pool.stats_for(account)
    }

    fn conn(&self, account: &Config) -> Result<PooledImap> {
        self.pool.get(account)
    }

    /// A pooled connection for a call on the messages of `folder`, its view of the folder
    /// current: when the connection has the folder selected from an earlier call, a `NOOP`
    /// first, so messages other clients delivered since are seen (otherwise a server
    /// reports them only after the call, and the call misses them).
    fn conn_for(&self, account: &Config, folder: &str) -> Result<PooledImap> {
        let conn = self.pool.get(account)?;
        conn.refresh_if_selected(folder)?;
        Ok(conn)
    }

    /// Connects (or reuses a connection) and sends `NOOP`.
    pub fn test_connection(&self, account: &Config) -> Result<()> {
        self.conn(account)?.noop()
    }

    /// Checks the credentials: a pooled connection is authenticated, so getting one is the
    /// check. A rejected login is [`Error::Auth`](crate::Error::Auth).
    pub fn authenticate(&self, account: &Config) -> Result<()> {
        self.conn(account).map(drop)
    }

    /// Every folder of the account, with kinds.
    pub fn list_folders(&self, account: &Config) -> Result<Vec<Folder>> {
        self.conn(account)?.list_folders()
    }

    /// `STATUS` of a folder.
    pub fn folder_status(&self, account: &Config, folder: &str) -> Result<FolderStatus> {
        self.conn(account)?.folder_status(folder)
    }

    /// Fetches the selected messages (ascending UID order).
    pub fn fetch_messages(
        &self,
        account: &Config,
        folder: &str,
        selection: impl Into<Selection>,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        let conn = self.conn_for(account, folder)?;
        let uids = match selection.into() {
            Selection::Uids(uids) => uids,
            Selection::UidRange(range) => {
                // UID 0 does not exist (and is no valid set member): `0..` starts at 1.
                let (a, b) = ((*range.start()).max(1), *range.end());
                if a > b {
                    return Ok(Vec::new());
                }
                conn.search(folder, &SearchQuery::uid(SequenceSet::range(a, b)))?
            }
            Selection::Newest(n) => return conn.fetch_newest(folder, n, what),
            Selection::All => conn.search(folder, &SearchQuery::all())?,
        };
        conn.fetch(folder, uids, what)
    }

    /// Fetches one whole message, `None` if there is no such UID.
    pub fn fetch_message(
        &self,
        account: &Config,
        folder: &str,
        uid: impl Into<Uid>,
    ) -> Result<Option<Message>> {
        self.conn_for(account, folder)?.fetch_message(folder, uid)
    }

    /// The UIDs matching `query`, with the folder's UIDVALIDITY (see
    /// [`ImapConnection::search`](crate::imap::ImapConnection::search)).
    pub fn search(&self, account: &Config, folder: &str, query: &SearchQuery) -> Result<Uids> {
        self.conn_for(account, folder)?.search(folder, query)
    }

    /// Adds `\Seen`.
    pub fn mark_as_read(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
    ) -> Result<()> {
        self.conn_for(account, folder)?.mark_as_read(folder, uids)
    }

    /// Removes `\Seen`.
    pub fn mark_as_unread(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
    ) -> Result<()> {
        self.conn_for(account, folder)?.mark_as_unread(folder, uids)
    }

    /// Adds `\Flagged`.
    pub fn add_star(&self, account: &Config, folder: &str, uids: impl Into<Uids>) -> Result<()> {
        self.conn_for(account, folder)?.add_star(folder, uids)
    }

    /// Removes `\Flagged`.
    pub fn remove_star(&self, account: &Config, folder: &str, uids: impl Into<Uids>) -> Result<()> {
        self.conn_for(account, folder)?.remove_star(folder, uids)
    }

    /// Deletes messages: marks them `\Deleted` and, when the server has UIDPLUS, expunges
    /// exactly them; without UIDPLUS they stay marked (a plain `EXPUNGE` would also remove
    /// other messages the user marked) and `false` is returned.
    pub fn delete_messages(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
    ) -> Result<bool> {
        let uids = uids.into();
        let conn = self.conn_for(account, folder)?;
        conn.mark_deleted(folder, &uids)?;
        if conn.has_capability("UIDPLUS") {
            conn.uid_expunge(folder, &uids)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Moves messages to another folder (see
    /// [`ImapConnection::move_messages`](crate::imap::ImapConnection::move_messages)).
    pub fn move_messages(
        &self,
        account: &Config,
        folder: &str,
        uids: impl Into<Uids>,
        to: &str,
    ) -> Result<()> {
        self.conn_for(account, folder)?
            .move_messages(folder, uids, to)
            .map(drop)
    }

    /// The UIDVALIDITY of a folder.
    pub fn get_uid_validity(&self, account: &Config, folder: &str) -> Result<u32> {
        self.conn(account)?.uid_validity(folder)
    }

    /// Closes the account's pooled connections (idle ones now, busy ones when they return).
    pub fn disconnect(&self, account: &Config) {
        self.pool.clear(account);
    }

    /// Closes every pooled connection.
    pub fn disconnect_all(&self) {
        self.pool.clear_all();
    }
}
