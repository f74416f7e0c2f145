//! `IdleGroupBuilder`: the group's settings, checked, and `build`, which starts the
//! dispatcher thread.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crossbeam_channel::bounded;
use parking_lot::Mutex;

use super::channel::ChannelQueue;
use super::counters::Counters;
use super::dispatch::{GroupCallback, dispatch};
use super::gate::Gate;
use super::types::GroupEvent;
use super::{Dispatcher, IdleGroup, Watches};
use crate::error::{Error, Result};
#[cfg(doc)]
use crate::imap::{GroupStats, IdleEvent, IdleListenerBuilder};
use crate::setters::setters;

/// Configures an [`IdleGroup`].
#[must_use = "call build() to start the group"]
pub struct IdleGroupBuilder {
    pub(super) max_concurrent_connects: usize,
    pub(super) queue_capacity: usize,
    pub(super) channel_capacity: usize,
    pub(super) callbacks: Vec<GroupCallback>,
}

impl fmt::Debug for IdleGroupBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleGroupBuilder")
            .field("max_concurrent_connects", &self.max_concurrent_connects)
            .field("queue_capacity", &self.queue_capacity)
            .field("channel_capacity", &self.channel_capacity)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl IdleGroupBuilder {
    setters! {
        /// How many listeners may connect at once (connect, TLS, login, opening the folder
        /// and listing its UIDs: all of [`IdleListenerBuilder::spawn`]); default 16, at
        /// least 1. Further [`IdleGroup::add`] calls wait for a permit, so adding 10,000
        /// never opens 10,000 TLS handshakes at once. A listener's reconnects after a fault
        /// take a permit too (waiting for one without ticking; a stop ends the wait), so
        /// 10,000 listeners reconnecting after a server restart open at most this many
        /// connections at once ([`GroupStats::connects`](super::GroupStats::connects) counts them all).
        pub fn max_concurrent_connects(connects: usize) { self.max_concurrent_connects = connects }

        /// How many events wait between the listeners and the dispatcher (default 1,024,
        /// at least 1). When it is full — the callbacks are slower than the events come — a
        /// listener with an event waits for room: nothing is lost, and that listener reads
        /// its connection again once the dispatcher catches up ([`GroupStats::waits`]).
        pub fn queue_capacity(events: usize) { self.queue_capacity = events }

        /// How many events [`IdleGroup::events`] holds for a reader (default 4,096, at
        /// least 2). When nobody reads it the oldest are dropped
        /// ([`GroupStats::channel_dropped`]) and the reader gets one
        /// [`IdleEvent::Lagged`] for each watch that lost events, before that watch's next
        /// one; callbacks see every event.
        pub fn channel_capacity(events: usize) { self.channel_capacity = events }
    }

    /// Adds a callback, called for every event of every listener of the group, in the
    /// order the callbacks were added, on the group's one dispatcher thread (a normal
    /// stack, never a listener's thread). A slow callback delays the events after it; once
    /// `queue_capacity` events are waiting, a listener with one more waits too (see
    /// [`queue_capacity`](Self::queue_capacity)). A panic is caught, logged and counted
    /// ([`GroupStats::callback_panics`]); delivery goes on.
    pub fn on_event(mut self, callback: impl Fn(&GroupEvent) + Send + 'static) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Starts the dispatcher thread; the group holds no listener yet.
    pub fn build(self) -> Result<IdleGroup> {
        if self.max_concurrent_connects == 0 {
            return Err(Error::invalid(
                "max_concurrent_connects",
                "must be at least 1",
            ));
        }
        if self.queue_capacity == 0 {
            return Err(Error::invalid("queue_capacity", "must be at least 1"));
        }
        if self.channel_capacity < 2 {
            return Err(Error::invalid("channel_capacity", "must be at least 2"));
        }
        let counters = Arc::new(Counters::default());
        let (queue, queue_rx) = bounded(self.queue_capacity);
        let (tx, events) = bounded(self.channel_capacity);
        let channel = ChannelQueue {
            tx,
            own_rx: events.clone(),
            lag: HashMap::new(),
            counters: Arc::clone(&counters),
        };
        let (shutdown, shutdown_rx) = bounded::<()>(0);
        let (done, done_rx) = bounded::<()>(0);
        let callbacks = self.callbacks;
        let dispatcher = std::thread::Builder::new()
            .name("mailwire-idle-group".into())
            .spawn(move || {
                let _done = done;
                dispatch(queue_rx, shutdown_rx, callbacks, channel);
            })
            .map_err(|source| Error::Io {
                operation: "starting the IdleGroup dispatcher thread".into(),
                source,
            })?;
        Ok(IdleGroup {
            watches: Mutex::new(Watches::default()),
            next_id: AtomicU64::new(1),
            gate: Gate::new(self.max_concurrent_connects),
            queue,
            events,
            counters,
            dispatcher: Mutex::new(Some(Dispatcher {
                thread: dispatcher,
                shutdown,
                done: done_rx,
            })),
        })
    }
}
