//! `ImapHandler::sort` / `thread` / `search_stats`: ordering, threading and counting on the
//! server, each on a pooled connection for the call.

use super::ImapHandler;
use crate::config::Config;
use crate::error::Result;
use crate::imap::codec::{SortKey, ThreadAlgorithm};
use crate::imap::connection::SearchStats;
use crate::imap::search::SearchQuery;
use crate::imap::types::Thread;

impl ImapHandler {
    /// The UIDs matching `query`, in the order of `keys` (see
    /// [`ImapConnection::sort`](crate::imap::ImapConnection::sort): needs `SORT`).
    pub fn sort(
        &self,
        account: &Config,
        folder: &str,
        keys: &[SortKey],
        query: &SearchQuery,
    ) -> Result<Vec<u32>> {
        self.conn_for(account, folder)?.sort(folder, keys, query)
    }

    /// The messages matching `query` as threads (see
    /// [`ImapConnection::thread`](crate::imap::ImapConnection::thread): needs
    /// `THREAD=<algorithm>`).
    pub fn thread(
        &self,
        account: &Config,
        folder: &str,
        algorithm: ThreadAlgorithm,
        query: &SearchQuery,
    ) -> Result<Vec<Thread>> {
        self.conn_for(account, folder)?
            .thread(folder, algorithm, query)
    }

    /// Lowest and highest matching UID and the count (see
    /// [`ImapConnection::search_stats`](crate::imap::ImapConnection::search_stats):
    /// ESEARCH when offered, else a plain search).
    pub fn search_stats(
        &self,
        account: &Config,
        folder: &str,
        query: &SearchQuery,
    ) -> Result<SearchStats> {
        self.conn_for(account, folder)?.search_stats(folder, query)
    }
}
