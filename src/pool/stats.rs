//! `AccountStats`: what a pool reports about one account.

#[cfg(doc)]
use super::Pool;
#[cfg(doc)]
use crate::error::Error;

/// What the pool holds for one account, as returned by [`Pool::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountStats {
    /// Connections waiting in the pool to be reused.
    pub idle: usize,
    /// Connections checked out, being opened or being closed.
    pub in_use: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
    /// Connections opened so far.
    pub created: u64,
    /// Connections discarded because they were broken or failed a health check.
    pub broken: u64,
    /// Connections closed so far, for any reason.
    pub closed: u64,
    /// Checkouts that ended in [`Error::PoolTimeout`].
    pub timeouts: u64,
    /// Attempts to connect that failed.
    pub connect_errors: u64,
    /// Attempts to connect the server refused with a throttling answer ("too many
    /// connections", `UNAVAILABLE`, …; see [`Error::retry_after`]), counted in
    /// `connect_errors` too.
    pub throttled: u64,
    /// Whether the account is backing off now: no new connection is opened for it until the
    /// server's hint has passed (see [`PoolOptions::max_backoff`](super::PoolOptions::max_backoff)).
    pub backing_off: bool,
}
