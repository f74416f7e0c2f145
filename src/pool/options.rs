//! `PoolOptions`: the limits and timeouts of a pool, their defaults and their validation.

use std::time::Duration;

#[cfg(doc)]
use super::{Manage, Pool};
use crate::error::{Error, Result};
use crate::setters::setters;

/// How a [`Pool`] behaves. Start from [`PoolOptions::new`] (the defaults) and chain the
/// setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "a PoolOptions does nothing until it is passed to a call"]
pub struct PoolOptions {
    /// Most connections open at once per account: idle, in use, being opened or being
    /// closed (default 5; use 1 for POP3, whose server locks the maildrop).
    pub max_per_account: usize,
    /// Most connections open at once in the whole pool (default: no limit). When it is
    /// reached and another account has an idle connection, that one is closed to make room.
    pub max_total: Option<usize>,
    /// How long [`Pool::get`] waits for a free connection (default 30 s).
    pub get_timeout: Duration,
    /// A connection idle longer than this is checked with [`Manage::is_valid`] before it is
    /// handed out (default 60 s).
    pub test_after: Duration,
    /// A connection idle longer than this is closed (default 5 min).
    pub idle_timeout: Duration,
    /// A connection older than this is closed when idle or given back (default 30 min).
    pub max_lifetime: Duration,
    /// How often the background thread looks for idle connections to close (default: half
    /// the shorter of `idle_timeout` and `max_lifetime`, between 50 ms and 30 s).
    pub reap_every: Option<Duration>,
    /// The longest an account backs off after the server throttled it (default 5 min).
    ///
    /// When a connect is refused with a throttling answer (see
    /// [`Error::retry_after`](crate::Error::retry_after): "too many simultaneous
    /// connections", `UNAVAILABLE`, `IN-USE`, …), the pool opens no new connection for that
    /// account for the answer's hint, doubled on each further refusal, at most this long;
    /// then one connect at a time tries again, and the first that succeeds ends the
    /// backoff. Connections already open keep being handed out meanwhile.
    pub max_backoff: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_per_account: 5,
            max_total: None,
            get_timeout: Duration::from_secs(30),
            test_after: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(5 * 60),
            max_lifetime: Duration::from_secs(30 * 60),
            reap_every: None,
            max_backoff: Duration::from_secs(5 * 60),
        }
    }
}

impl PoolOptions {
    /// The defaults (see each field).
    pub fn new() -> PoolOptions {
        PoolOptions::default()
    }

    setters! {
        /// Sets [`max_per_account`](Self::max_per_account).
        pub fn max_per_account(max: usize) { self.max_per_account = max }

        /// Sets [`max_total`](Self::max_total).
        pub fn max_total(max: Option<usize>) { self.max_total = max }

        /// Sets [`get_timeout`](Self::get_timeout).
        pub fn get_timeout(timeout: Duration) { self.get_timeout = timeout }

        /// Sets [`test_after`](Self::test_after).
        pub fn test_after(after: Duration) { self.test_after = after }

        /// Sets [`idle_timeout`](Self::idle_timeout).
        pub fn idle_timeout(timeout: Duration) { self.idle_timeout = timeout }

        /// Sets [`max_lifetime`](Self::max_lifetime).
        pub fn max_lifetime(lifetime: Duration) { self.max_lifetime = lifetime }

        /// Sets [`max_backoff`](Self::max_backoff).
        pub fn max_backoff(max: Duration) { self.max_backoff = max }

        /// Sets [`reap_every`](Self::reap_every) (at least 10 ms is used).
        pub fn reap_every(every: Duration) { self.reap_every = Some(every) }
    }

    /// The interval the background thread actually uses.
    pub fn reap_interval(&self) -> Duration {
        match self.reap_every {
            Some(every) => every.max(Duration::from_millis(10)),
            None => (self.idle_timeout.min(self.max_lifetime) / 2)
                .clamp(Duration::from_millis(50), Duration::from_secs(30)),
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.max_per_account == 0 {
            return Err(Error::invalid(
                "max_per_account",
                "must allow at least one connection",
            ));
        }
        if self.max_total == Some(0) {
            return Err(Error::invalid(
                "max_total",
                "must allow at least one connection (use None for no limit)",
            ));
        }
        if self.idle_timeout.is_zero() || self.max_lifetime.is_zero() {
            return Err(Error::invalid(
                "idle_timeout / max_lifetime",
                "must be longer than zero",
            ));
        }
        Ok(())
    }
}
