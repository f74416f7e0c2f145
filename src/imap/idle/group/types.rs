//! What an `IdleGroup` hands out: the id of a watch, one event of one watch, the channel
//! end, and the group's figures as [`IdleGroup::stats`](super::IdleGroup::stats) reads them.

use std::fmt;

use crossbeam_channel::Receiver;

#[cfg(doc)]
use crate::imap::IdleGroup;
use crate::imap::idle_queue::IdleEvent;

/// Which watch of an [`IdleGroup`] an event comes from: returned by [`IdleGroup::add`],
/// unique within its group, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchId(pub(super) u64);

impl WatchId {
    /// The number (1 for the group's first watch, then counting up).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for WatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "watch #{}", self.0)
    }
}

/// One event of one listener of an [`IdleGroup`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GroupEvent {
    /// The watch it comes from.
    pub watch: WatchId,
    /// What the listener reported ([`IdleEvent::Stopped`] last). In the group's channel
    /// only, [`IdleEvent::Lagged`] means the *group's* channel dropped that many of this
    /// watch's events because nobody read it (callbacks saw them all).
    pub event: IdleEvent,
}

impl GroupEvent {
    /// The folder the event is about, for a watch over several folders
    /// ([`IdleEvent::InFolder`]); `None` otherwise (see [`IdleEvent::folder`]).
    pub fn folder(&self) -> Option<&str> {
        self.event.folder()
    }
}

/// The channel end that receives an [`IdleGroup`]'s events (a `crossbeam_channel`
/// receiver, like [`IdleEvents`](crate::imap::IdleEvents)).
pub type GroupEvents = Receiver<GroupEvent>;

/// What an [`IdleGroup`] did so far ([`IdleGroup::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupStats {
    /// Listeners held now.
    pub listeners: usize,
    /// Listeners connecting now (holding one of the `max_concurrent_connects` permits).
    pub connecting: usize,
    /// The most that were connecting at once.
    pub peak_connecting: usize,
    /// Connects that took a permit so far: first connects (`add`) and reconnects after a
    /// fault alike.
    pub connects: u64,
    /// Events the dispatcher handed to the callbacks and the channel.
    pub events: u64,
    /// How often a listener found the dispatcher's queue full and waited for room.
    pub waits: u64,
    /// Events that found the dispatcher's queue full while the group (or their watch) was
    /// being stopped, and were dropped instead of waited for.
    pub dropped_at_stop: u64,
    /// Events dropped from [`IdleGroup::events`] because nobody read it (callbacks saw them).
    pub channel_dropped: u64,
    /// Callback calls that panicked (caught and logged; delivery goes on).
    pub callback_panics: u64,
}
