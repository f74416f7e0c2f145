//! What the pool holds under its lock: per account, the idle connections, the slots in use
//! and being closed, the line of waiting callers and the counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::backoff::Backoff;
use super::semaphore::WaitQueue;
use super::{AccountKey, AccountStats, ReuseKey};

pub(super) struct IdleConn<C> {
    pub(super) conn: C,
    /// Who may be handed it: only a caller with an equal reuse key.
    pub(super) reuse: Arc<ReuseKey>,
    pub(super) created: Instant,
    pub(super) idle_since: Instant,
    pub(super) generation: u64,
}

/// A connection taken out of the idle list to be closed; it keeps its slot until closed.
pub(super) struct Doomed<C> {
    pub(super) key: Arc<AccountKey>,
    pub(super) conn: C,
    pub(super) reason: &'static str,
}

pub(super) struct Account<C> {
    pub(super) key: Arc<AccountKey>,
    /// Last in, first out: the most recently returned connection is at the end. Holds the
    /// idle connections of every config of the account; each is handed out only to its own
    /// reuse key.
    pub(super) idle: Vec<IdleConn<C>>,
    /// Checked out, being opened, or checked out and being closed.
    pub(super) in_use: usize,
    /// Taken from `idle` and being closed.
    pub(super) closing: usize,
    pub(super) queue: WaitQueue,
    /// Raised by `clear`: connections of an older generation are closed, not reused.
    pub(super) generation: u64,
    pub(super) created: u64,
    pub(super) broken: u64,
    pub(super) closed: u64,
    pub(super) timeouts: u64,
    pub(super) connect_errors: u64,
    /// Connects refused with a throttling answer.
    pub(super) throttled: u64,
    /// Set while the server throttles the account: no new connection before it allows.
    pub(super) throttle: Option<Backoff>,
}

impl<C> Account<C> {
    pub(super) fn new(key: Arc<AccountKey>) -> Self {
        Account {
            key,
            idle: Vec::new(),
            in_use: 0,
            closing: 0,
            queue: WaitQueue::default(),
            generation: 0,
            created: 0,
            broken: 0,
            closed: 0,
            timeouts: 0,
            connect_errors: 0,
            throttled: 0,
            throttle: None,
        }
    }

    pub(super) fn slots(&self) -> usize {
        self.idle.len() + self.in_use + self.closing
    }

    pub(super) fn stats(&self) -> AccountStats {
        AccountStats {
            idle: self.idle.len(),
            in_use: self.in_use + self.closing,
            waiting: self.queue.len(),
            created: self.created,
            broken: self.broken,
            closed: self.closed,
            timeouts: self.timeouts,
            connect_errors: self.connect_errors,
            throttled: self.throttled,
            backing_off: self.throttle.is_some(),
        }
    }

    /// Moves every idle connection to the closing state.
    pub(super) fn drain_idle(&mut self, reason: &'static str, out: &mut Vec<Doomed<C>>) {
        for idle in std::mem::take(&mut self.idle) {
            self.doom(idle, reason, out);
        }
    }

    /// Moves `idle`, already taken out of this account's idle list, to the closing state:
    /// it keeps its slot until the caller has closed it.
    pub(super) fn doom(
        &mut self,
        idle: IdleConn<C>,
        reason: &'static str,
        out: &mut Vec<Doomed<C>>,
    ) {
        self.closing += 1;
        out.push(Doomed {
            key: Arc::clone(&self.key),
            conn: idle.conn,
            reason,
        });
    }

    /// Moves the longest-idle connection, if there is one, to the closing state.
    pub(super) fn doom_longest_idle(&mut self, reason: &'static str, out: &mut Vec<Doomed<C>>) {
        if !self.idle.is_empty() {
            let idle = self.idle.remove(0);
            self.doom(idle, reason, out);
        }
    }
}

pub(super) struct State<C> {
    pub(super) accounts: HashMap<Arc<AccountKey>, Account<C>>,
    /// Slots of all accounts.
    pub(super) total: usize,
    /// Callers waiting, all accounts together.
    pub(super) waiting: usize,
    pub(super) next_ticket: u64,
    /// Set when the last `Pool` handle is gone: returned connections are closed.
    pub(super) closed: bool,
}

impl<C> State<C> {
    pub(super) fn account(&mut self, key: &Arc<AccountKey>) -> &mut Account<C> {
        self.accounts
            .entry(Arc::clone(key))
            .or_insert_with_key(|k| Account::new(Arc::clone(k)))
    }
}

/// What a caller first in line got.
pub(super) enum Got<C> {
    /// An idle connection (now counted as in use).
    Idle(IdleConn<C>),
    /// A permit to open a connection (counted as in use); `probe` when it is the one
    /// attempt of a throttled account whose wait has passed.
    Connect {
        /// Whether this connect is the throttled account's probe.
        probe: bool,
    },
    /// Nothing yet: stale connections were taken out and must be closed first.
    Retry,
}

pub(super) struct Turn<C> {
    pub(super) got: Got<C>,
    pub(super) doomed: Vec<Doomed<C>>,
}
