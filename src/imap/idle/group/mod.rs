//! `IdleGroup`: many `IdleListener`s started, held and stopped together — one event
//! channel and callbacks on one dispatcher thread, a bound on how many connect at once, and
//! a stop that signals every listener before it joins them.
//!
//! One idea per file: `builder` configures and starts the dispatcher, `gate` bounds the
//! connects (first connects and reconnects), `dispatch` carries events from the listeners
//! to the callbacks, `counters` what `stats` reads, `channel` is the group's bounded channel, `types` what the group hands
//! out. This file is the handle.

mod builder;
mod channel;
mod counters;
mod dispatch;
pub(super) mod gate;
mod types;

pub use builder::IdleGroupBuilder;
pub use types::{GroupEvent, GroupEvents, GroupStats, WatchId};

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use parking_lot::Mutex;

use super::{IdleListener, IdleListenerBuilder};
use crate::config::Config;
use crate::error::{Error, Result};
#[cfg(doc)]
use crate::imap::idle_queue::IdleEvent;
use counters::Counters;
use dispatch::forward;
use gate::Gate;

/// How long [`IdleGroup::stop`] waits for the listener threads, all at once (as
/// [`IdleListener::stop`] does for one), and then again for the dispatcher.
const STOP_WAIT: Duration = Duration::from_millis(900);
/// A group listener's own channel is never read (its events come through the group): the
/// smallest capacity it accepts.
const UNREAD_CHANNEL: usize = 2;
/// One listener of the group, and the way to stop its forwarding from waiting.
struct Watch {
    listener: IdleListener,
    /// Dropped to tell the listener's forwarding not to wait for room any more.
    cancel: Sender<()>,
}

#[derive(Default)]
struct Watches {
    held: HashMap<WatchId, Watch>,
    stopped: bool,
}

struct Dispatcher {
    thread: JoinHandle<()>,
    /// Dropped to end the dispatcher.
    shutdown: Sender<()>,
    /// Disconnected when the dispatcher has ended.
    done: Receiver<()>,
}

/// Many [`IdleListener`]s started, held and stopped together: one event channel and
/// callbacks for all, a bound on how many connect at once, and a [`stop`](Self::stop)
/// that signals every listener before it joins them.
///
/// Each [`add`](Self::add) starts one listener (its own connection and thread, exactly as
/// [`IdleListener`] does: renewal, reconnection, catch-up) and returns the [`WatchId`]
/// its events carry. The group's callbacks run on one dispatcher thread, the listeners'
/// events reach it through a bounded queue (a full queue makes a listener wait: no event
/// is lost while the group runs), and the group's channel drops its oldest events when
/// nobody reads it (telling the reader with [`IdleEvent::Lagged`] per watch).
///
/// ```no_run
/// use mailwire::Config;
/// use mailwire::imap::{IdleEvent, IdleGroup};
///
/// let group = IdleGroup::builder()
///     .max_concurrent_connects(32)
///     .on_event(|e| {
///         if let IdleEvent::NewMessages { uids } = &e.event {
///             println!("{}: new mail {uids:?}", e.watch);
///         }
///     })
///     .build()?;
/// let mut ids = Vec::new();
/// for user in ["alice", "bob"] {
///     let config = Config::builder("imap.example.com").login(user, "app-password").build()?;
///     ids.push(group.add(config, "INBOX")?);
/// }
/// group.remove(ids[0]);     // stops just that one
/// group.stop();             // all of them: returns once their threads are gone
/// # Ok::<(), mailwire::Error>(())
/// ```
pub struct IdleGroup {
    watches: Mutex<Watches>,
    next_id: AtomicU64,
    /// The connect gate, shared with every listener (its reconnects take permits too).
    gate: Arc<Gate>,
    /// The dispatcher's queue (each listener's forwarding holds a clone).
    queue: Sender<GroupEvent>,
    events: Receiver<GroupEvent>,
    counters: Arc<Counters>,
    dispatcher: Mutex<Option<Dispatcher>>,
}

impl fmt::Debug for IdleGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleGroup")
            .field("max_concurrent_connects", &self.gate.max())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl IdleGroup {
    /// Starts configuring a group.
    pub fn builder() -> IdleGroupBuilder {
        IdleGroupBuilder {
            max_concurrent_connects: 16,
            queue_capacity: 1024,
            channel_capacity: 4096,
            callbacks: Vec::new(),
        }
    }

    /// Starts a listener on `folder` of the account of `config` with the listener's
    /// defaults (see [`add_listener`](Self::add_listener) for other settings). Waits for a
    /// connect permit, then connects as [`IdleListenerBuilder::spawn`] does: a failure to
    /// connect, log in or open the folder is returned here.
    pub fn add(&self, config: Config, folder: &str) -> Result<WatchId> {
        self.add_listener(IdleListener::builder(config).folder(folder))
    }

    /// Starts the listener `listener` configures (renewal, polling, its own callbacks on
    /// its own thread if any), as [`add`](Self::add) does. Its own channel is not used (its
    /// events come through the group): its capacity is set to the minimum, 2.
    pub fn add_listener(&self, listener: IdleListenerBuilder) -> Result<WatchId> {
        self.start(listener)
    }

    /// Starts many listeners, up to `max_concurrent_connects` at once on short-lived
    /// threads, and returns when all have connected or failed: one result per listener, in
    /// order.
    pub fn add_many(
        &self,
        listeners: impl IntoIterator<Item = IdleListenerBuilder>,
    ) -> Vec<Result<WatchId>> {
        let work: Vec<IdleListenerBuilder> = listeners.into_iter().collect();
        let count = work.len();
        let todo = Mutex::new(work.into_iter().enumerate());
        let results: Mutex<Vec<Option<Result<WatchId>>>> =
            Mutex::new((0..count).map(|_| None).collect());
        let run = || {
            loop {
                let next = todo.lock().next();
                let Some((i, builder)) = next else { break };
                let result = self.add_listener(builder);
                if let Some(slot) = results.lock().get_mut(i) {
                    *slot = Some(result);
                }
            }
        };
        std::thread::scope(|scope| {
            let mut started = 0;
            for _ in 0..self.gate.max().min(count) {
                let spawned = std::thread::Builder::new()
                    .name("mailwire-idle-group-add".into())
                    .spawn_scoped(scope, run);
                if spawned.is_err() {
                    break;
                }
                started += 1;
            }
            if started == 0 {
                run();
            }
        });
        results
            .into_inner()
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Error::invalid(
                        "IdleGroup::add_many",
                        "a listener was not started (a callback panicked)",
                    ))
                })
            })
            .collect()
    }

    fn start(&self, listener: IdleListenerBuilder) -> Result<WatchId> {
        let stopped = || Error::Closed {
            context: "(the IdleGroup is stopped)".into(),
        };
        let id = WatchId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (cancel, cancelled) = bounded::<()>(0);
        let queue = self.queue.clone();
        let counters = Arc::clone(&self.counters);
        // Every connect of this listener (its first, here, and each reconnect) takes a
        // permit of the group's gate.
        let builder = listener
            .channel_capacity(UNREAD_CHANNEL)
            .connect_gate(Arc::clone(&self.gate))
            .forward_events(move |event| {
                let event = GroupEvent {
                    watch: id,
                    event: event.clone(),
                };
                forward(&queue, &cancelled, &counters, event);
            });
        // User code (a credential provider) runs inside: its panic is this add's error.
        let spawned = catch_unwind(AssertUnwindSafe(|| builder.spawn())).unwrap_or_else(|_| {
            Err(Error::invalid(
                "IdleGroup::add",
                "a callback panicked while the listener connected",
            ))
        });
        let listener = spawned?;
        let mut watches = self.watches.lock();
        if watches.stopped {
            drop(watches);
            drop(cancel);
            listener.stop();
            return Err(stopped());
        }
        watches.held.insert(id, Watch { listener, cancel });
        log::debug!(target: "mailwire::idle", "[idle group] {id} started");
        Ok(id)
    }

    /// Stops the listener of `id` and waits for its thread (as [`IdleListener::stop`]):
    /// its last event is [`IdleEvent::Stopped`]. False when the group holds no such watch
    /// (never added, already removed, or the group is stopped).
    pub fn remove(&self, id: WatchId) -> bool {
        let watch = self.watches.lock().held.remove(&id);
        let Some(Watch { listener, cancel }) = watch else {
            return false;
        };
        drop(cancel);
        listener.stop();
        true
    }

    /// Whether the group holds a watch `id`.
    pub fn contains(&self, id: WatchId) -> bool {
        self.watches.lock().held.contains_key(&id)
    }

    /// The ids of the watches held now, ascending.
    pub fn watches(&self) -> Vec<WatchId> {
        let mut ids: Vec<WatchId> = self.watches.lock().held.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// How many listeners the group holds.
    pub fn len(&self) -> usize {
        self.watches.lock().held.len()
    }

    /// Whether the group holds no listener.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A receiver of every event of every listener (clones share one queue: each event goes
    /// to one receiver). It disconnects once the group is stopped and its last events are
    /// delivered.
    pub fn events(&self) -> GroupEvents {
        self.events.clone()
    }

    /// What the group did so far.
    pub fn stats(&self) -> GroupStats {
        let gate = self.gate.counts();
        let c = &self.counters;
        GroupStats {
            listeners: self.len(),
            connecting: gate.in_flight,
            peak_connecting: gate.peak,
            connects: gate.granted,
            events: c.events.load(Ordering::Relaxed),
            waits: c.waits.load(Ordering::Relaxed),
            dropped_at_stop: c.dropped_at_stop.load(Ordering::Relaxed),
            channel_dropped: c.channel_dropped.load(Ordering::Relaxed),
            callback_panics: c.callback_panics.load(Ordering::Relaxed),
        }
    }

    /// Stops every listener and the dispatcher: signals them all first (each connection is
    /// cut, each sleep ended), then joins them, so the whole group takes about as long as
    /// one listener's stop: the listeners are waited for at most a second, all together. As with
    /// [`IdleListener::stop`], a thread still inside a TCP connect then is left to end by
    /// itself at its connect deadline. The listeners' [`IdleEvent::Stopped`] events are
    /// delivered before the dispatcher ends (one that finds the dispatcher's queue full is
    /// dropped and counted in [`GroupStats::dropped_at_stop`]); a callback still running a
    /// second after the listeners ended is not waited for. Adds waiting for a permit, and
    /// every later add, fail with [`Error::Closed`]. Calling it again does nothing more.
    pub fn stop(&self) {
        let held: Vec<Watch> = {
            let mut watches = self.watches.lock();
            watches.stopped = true;
            watches.held.drain().map(|(_, w)| w).collect()
        };
        let started = Instant::now();
        let mut listeners = Vec::with_capacity(held.len());
        for Watch { listener, cancel } in held {
            drop(cancel);
            listener.request_stop();
            listeners.push(listener);
        }
        // After the stops: a listener waiting to reconnect ends quietly (its stop), and
        // only then do waiting adds fail.
        self.gate.close();
        let deadline = Instant::now() + STOP_WAIT;
        let left = listeners.iter().filter(|l| !l.stop_by(deadline)).count();
        let count = listeners.len();
        drop(listeners);
        let dispatcher = self.dispatcher.lock().take();
        if let Some(Dispatcher {
            thread,
            shutdown,
            done,
        }) = dispatcher
        {
            drop(shutdown);
            if thread.thread().id() != std::thread::current().id() {
                let ended = matches!(
                    done.recv_deadline(Instant::now() + STOP_WAIT),
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected)
                );
                if ended {
                    let _ = thread.join();
                } else {
                    log::warn!(target: "mailwire::idle", "[idle group] a callback is still running; not waiting for the dispatcher");
                }
            }
        }
        if count > 0 || left > 0 {
            log::debug!(target: "mailwire::idle", "[idle group] {count} listeners stopped in {:?}; {left} left inside a TCP connect", started.elapsed());
        }
    }
}

impl Drop for IdleGroup {
    fn drop(&mut self) {
        self.stop();
    }
}
