//! The counters an `IdleGroup`'s listeners, its dispatcher and its handle share (read by
//! `IdleGroup::stats`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters the listeners, the dispatcher and the handle share.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) events: AtomicU64,
    pub(super) waits: AtomicU64,
    pub(super) dropped_at_stop: AtomicU64,
    pub(super) channel_dropped: AtomicU64,
    pub(super) callback_panics: AtomicU64,
}

pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
