//! The counting part of the pool: the FIFO queue of callers waiting for one account, and the
//! rule that decides whether one more connection may be opened.
//!
//! Both are plain data used under the pool's one lock; waiting itself is the pool's
//! `Condvar`. Keeping the rules here, free of threads, lets them be tested directly.

use std::collections::VecDeque;

/// The callers waiting for a connection of one account, in arrival order.
///
/// Every caller takes a ticket and may take a connection or a permit only while its ticket is
/// first: a caller arriving later cannot overtake one that has been waiting (no barging), and
/// a caller that gives up removes its ticket so the next one moves up.
#[derive(Debug, Default)]
pub(crate) struct WaitQueue {
    tickets: VecDeque<u64>,
}

impl WaitQueue {
    /// Adds `ticket` at the back.
    pub(crate) fn push(&mut self, ticket: u64) {
        self.tickets.push_back(ticket);
    }

    /// Whether `ticket` is the first in line.
    pub(crate) fn is_first(&self, ticket: u64) -> bool {
        self.tickets.front() == Some(&ticket)
    }

    /// Removes `ticket` wherever it is; false when it was not queued.
    pub(crate) fn remove(&mut self, ticket: u64) -> bool {
        if self.tickets.front() == Some(&ticket) {
            self.tickets.pop_front();
            return true;
        }
        match self.tickets.iter().position(|&t| t == ticket) {
            Some(index) => self.tickets.remove(index).is_some(),
            None => false,
        }
    }

    /// How many callers are waiting.
    pub(crate) fn len(&self) -> usize {
        self.tickets.len()
    }

    /// Whether nobody is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }
}

/// Whether one more connection may be opened for an account that holds `account_slots`
/// connections (idle, in use, being opened or being closed) when the whole pool holds
/// `total_slots`.
pub(crate) fn may_open(
    account_slots: usize,
    max_per_account: usize,
    total_slots: usize,
    max_total: Option<usize>,
) -> bool {
    account_slots < max_per_account && max_total.is_none_or(|max| total_slots < max)
}

/// Whether the account holds all the connections it may: then an idle connection of
/// another config of the account may be closed to make room.
pub(crate) fn account_full(account_slots: usize, max_per_account: usize) -> bool {
    account_slots >= max_per_account
}

/// Whether the account is under its own limit but the pool as a whole is full: then an idle
/// connection of another account may be closed to make room.
pub(crate) fn blocked_by_total(
    account_slots: usize,
    max_per_account: usize,
    total_slots: usize,
    max_total: Option<usize>,
) -> bool {
    account_slots < max_per_account && max_total.is_some_and(|max| total_slots >= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_fifo_and_removal_moves_the_next_up() {
        let mut q = WaitQueue::default();
        assert!(q.is_empty());
        q.push(1);
        q.push(2);
        q.push(3);
        assert_eq!(q.len(), 3);
        assert!(q.is_first(1));
        assert!(!q.is_first(2));
        // The middle one gives up: order of the others is kept.
        assert!(q.remove(2));
        assert!(!q.remove(2));
        assert!(q.is_first(1));
        assert!(q.remove(1));
        assert!(q.is_first(3));
        assert!(q.remove(3));
        assert!(q.is_empty());
        assert!(!q.is_first(3));
    }

    #[test]
    fn open_rule_respects_both_limits() {
        assert!(may_open(0, 1, 0, None));
        assert!(!may_open(1, 1, 0, None));
        assert!(may_open(4, 5, 100, None));
        assert!(may_open(1, 5, 2, Some(3)));
        assert!(!may_open(1, 5, 3, Some(3)));
        assert!(!may_open(5, 5, 0, Some(10)));
        assert!(blocked_by_total(1, 5, 3, Some(3)));
        assert!(!blocked_by_total(5, 5, 3, Some(3)));
        assert!(!blocked_by_total(1, 5, 2, Some(3)));
        assert!(!blocked_by_total(1, 5, 1000, None));
        assert!(account_full(1, 1) && account_full(6, 5));
        assert!(!account_full(0, 1) && !account_full(4, 5));
    }
}
