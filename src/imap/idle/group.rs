//! `IdleGroup`: many `IdleListener`s started, held and stopped together — one event
//! channel and callbacks on one dispatcher thread, a bound on how many connect at once, and
//! a stop that signals every listener before it joins them.

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded, select};
use parking_lot::{Condvar, Mutex};

use super::{IdleListener, IdleListenerBuilder};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::imap::idle_queue::IdleEvent;
use crate::setters::setters;

/// How long [`IdleGroup::stop`] waits for the listener threads, all at once (as
/// [`IdleListener::stop`] does for one), and then again for the dispatcher.
const STOP_WAIT: Duration = Duration::from_millis(900);
/// A group listener's own channel is never read (its events come through the group): the
/// smallest capacity it accepts.
const UNREAD_CHANNEL: usize = 2;

type GroupCallback = Box<dyn Fn(&GroupEvent) + Send + 'static>;

/// Which watch of an [`IdleGroup`] an event comes from: returned by [`IdleGroup::add`],
/// unique within its group, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchId(u64);

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

/// The counters the listeners, the dispatcher and the handle share.
#[derive(Default)]
struct Counters {
    events: AtomicU64,
    waits: AtomicU64,
    dropped_at_stop: AtomicU64,
    channel_dropped: AtomicU64,
    callback_panics: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The group's connect semaphore: at most `max` listeners connect at once.
struct Gate {
    max: usize,
    state: Mutex<GateState>,
    freed: Condvar,
}

#[derive(Default)]
struct GateState {
    in_flight: usize,
    peak: usize,
    closed: bool,
}

/// A connect permit, given back when dropped (also when the connect panics).
struct Permit<'a>(&'a Gate);

impl Gate {
    /// Waits for a permit (until one is free or the group stops: `None`). Each holder is
    /// bounded by its connect's own deadlines, so the wait is too.
    fn enter(&self) -> Option<Permit<'_>> {
        let mut state = self.state.lock();
        while !state.closed && state.in_flight >= self.max {
            self.freed.wait(&mut state);
        }
        if state.closed {
            return None;
        }
        state.in_flight += 1;
        state.peak = state.peak.max(state.in_flight);
        Some(Permit(self))
    }

    fn close(&self) {
        self.state.lock().closed = true;
        self.freed.notify_all();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.0.freed.notify_one();
    }
}

/// The group's channel: bounded, dropping the oldest events when nobody reads, with one
/// [`IdleEvent::Lagged`] per watch before that watch's next event.
struct ChannelQueue {
    tx: Sender<GroupEvent>,
    own_rx: Receiver<GroupEvent>,
    /// Events dropped per watch and not reported yet.
    lag: HashMap<WatchId, u64>,
    counters: Arc<Counters>,
}

impl ChannelQueue {
    fn note_lag(&mut self, watch: WatchId, dropped: u64) {
        let lag = self.lag.entry(watch).or_default();
        *lag = lag.saturating_add(dropped);
    }

    fn push(&mut self, event: GroupEvent) {
        let capacity = self.tx.capacity().unwrap_or(usize::MAX);
        let watch = event.watch;
        loop {
            let marker = usize::from(self.lag.get(&watch).is_some_and(|n| *n > 0));
            if self.tx.len() + 1 + marker <= capacity {
                break;
            }
            match self.own_rx.try_recv() {
                // A marker dropped carries its count on to the next one.
                Ok(GroupEvent {
                    watch: w,
                    event: IdleEvent::Lagged { dropped },
                }) => self.note_lag(w, dropped),
                Ok(GroupEvent { watch: w, .. }) => {
                    self.note_lag(w, 1);
                    bump(&self.counters.channel_dropped);
                }
                Err(_) => break,
            }
        }
        if let Some(dropped) = self.lag.remove(&watch) {
            let marker = GroupEvent {
                watch,
                event: IdleEvent::Lagged { dropped },
            };
            if self.tx.try_send(marker).is_err() {
                self.lag.insert(watch, dropped);
            }
        }
        if let Err(TrySendError::Full(_)) = self.tx.try_send(event) {
            self.note_lag(watch, 1);
            bump(&self.counters.channel_dropped);
        }
    }
}

/// Hands one listener's events to the dispatcher, on the listener's thread. When the
/// dispatcher's queue is full the listener waits for room (nothing is lost), unless its
/// watch is being stopped (`cancel` disconnected): then the event is dropped and counted.
fn forward(
    queue: &Sender<GroupEvent>,
    cancel: &Receiver<()>,
    counters: &Counters,
    event: GroupEvent,
) {
    match queue.try_send(event) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(event)) => {
            if matches!(cancel.try_recv(), Err(TryRecvError::Disconnected)) {
                bump(&counters.dropped_at_stop);
                return;
            }
            bump(&counters.waits);
            select! {
                send(queue, event) -> _ => {}
                recv(cancel) -> _ => bump(&counters.dropped_at_stop),
            }
        }
    }
}

/// The dispatcher thread: every event to the callbacks (a panic caught, logged and
/// counted), then to the channel; ends when `shutdown` is disconnected, after delivering
/// what is queued.
fn dispatch(
    queue: Receiver<GroupEvent>,
    shutdown: Receiver<()>,
    callbacks: Vec<GroupCallback>,
    mut channel: ChannelQueue,
) {
    let deliver = |channel: &mut ChannelQueue, event: GroupEvent| {
        for (i, callback) in callbacks.iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| callback(&event))).is_err() {
                bump(&channel.counters.callback_panics);
                log::error!(target: "mailwire::idle", "[idle group] callback #{i} panicked on {} {:?}; delivery goes on", event.watch, event.event);
            }
        }
        bump(&channel.counters.events);
        channel.push(event);
    };
    loop {
        select! {
            recv(queue) -> event => match event {
                Ok(event) => deliver(&mut channel, event),
                Err(_) => break,
            },
            recv(shutdown) -> _ => {
                while let Ok(event) = queue.try_recv() {
                    deliver(&mut channel, event);
                }
                break;
            }
        }
    }
    log::debug!(target: "mailwire::idle", "[idle group] dispatcher ends");
}

/// Configures an [`IdleGroup`].
#[must_use = "call build() to start the group"]
pub struct IdleGroupBuilder {
    max_concurrent_connects: usize,
    queue_capacity: usize,
    channel_capacity: usize,
    callbacks: Vec<GroupCallback>,
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
        /// never opens 10,000 TLS handshakes at once. (A listener's later reconnects are
        /// spread by its retry policy's jitter, not by this bound.)
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
            gate: Gate {
                max: self.max_concurrent_connects,
                state: Mutex::new(GateState::default()),
                freed: Condvar::new(),
            },
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
    gate: Gate,
    /// The dispatcher's queue (each listener's forwarding holds a clone).
    queue: Sender<GroupEvent>,
    events: Receiver<GroupEvent>,
    counters: Arc<Counters>,
    dispatcher: Mutex<Option<Dispatcher>>,
}

impl fmt::Debug for IdleGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleGroup")
            .field("max_concurrent_connects", &self.gate.max)
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
            for _ in 0..self.gate.max.min(count) {
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
        let Some(permit) = self.gate.enter() else {
            return Err(stopped());
        };
        let id = WatchId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (cancel, cancelled) = bounded::<()>(0);
        let queue = self.queue.clone();
        let counters = Arc::clone(&self.counters);
        let builder = listener
            .channel_capacity(UNREAD_CHANNEL)
            .on_event(move |event| {
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
        drop(permit);
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
        let (connecting, peak_connecting) = {
            let gate = self.gate.state.lock();
            (gate.in_flight, gate.peak)
        };
        let c = &self.counters;
        GroupStats {
            listeners: self.len(),
            connecting,
            peak_connecting,
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
        self.gate.close();
        let started = Instant::now();
        let mut listeners = Vec::with_capacity(held.len());
        for Watch { listener, cancel } in held {
            drop(cancel);
            listener.request_stop();
            listeners.push(listener);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(watch: u64, uid: u32) -> GroupEvent {
        GroupEvent {
            watch: WatchId(watch),
            event: IdleEvent::NewMessages { uids: vec![uid] },
        }
    }

    fn channel(capacity: usize) -> (ChannelQueue, Receiver<GroupEvent>, Arc<Counters>) {
        let (tx, rx) = bounded(capacity);
        let counters = Arc::new(Counters::default());
        let queue = ChannelQueue {
            tx,
            own_rx: rx.clone(),
            lag: HashMap::new(),
            counters: Arc::clone(&counters),
        };
        (queue, rx, counters)
    }

    #[test]
    fn the_channel_holds_its_capacity_and_counts_every_drop_per_watch() {
        let (mut queue, rx, counters) = channel(6);
        for uid in 0..100 {
            queue.push(event(u64::from(uid % 3), uid));
            assert!(rx.len() <= 6);
        }
        let held: Vec<GroupEvent> = rx.try_iter().collect();
        let mut lagged = 0;
        let mut kept = 0;
        for e in &held {
            match e.event {
                IdleEvent::Lagged { dropped } => lagged += dropped,
                _ => kept += 1,
            }
        }
        let pending: u64 = queue.lag.values().sum();
        assert_eq!(lagged + pending + kept, 100, "{held:?}");
        assert_eq!(
            counters.channel_dropped.load(Ordering::Relaxed),
            lagged + pending
        );
        // The newest event is kept, and each watch's marker comes before its next event.
        assert!(
            matches!(held.last(), Some(e) if matches!(&e.event, IdleEvent::NewMessages { uids } if uids == &[99]))
        );
        for (i, e) in held.iter().enumerate() {
            if matches!(e.event, IdleEvent::Lagged { .. }) {
                assert!(
                    held[i + 1..]
                        .iter()
                        .any(|n| n.watch == e.watch
                            && matches!(n.event, IdleEvent::NewMessages { .. })),
                    "{held:?}"
                );
            }
        }
    }

    #[test]
    fn a_reader_that_keeps_up_loses_nothing() {
        let (mut queue, rx, counters) = channel(2);
        for uid in 0..50 {
            queue.push(event(1, uid));
            let got = rx.try_recv().map(|e| e.event);
            assert!(matches!(got, Ok(IdleEvent::NewMessages { uids }) if uids == [uid]));
        }
        assert_eq!(counters.channel_dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_gate_holds_at_most_its_permits_and_closing_wakes_the_waiters() {
        let gate = Arc::new(Gate {
            max: 2,
            state: Mutex::new(GateState::default()),
            freed: Condvar::new(),
        });
        let a = gate.enter();
        let b = gate.enter();
        assert!(a.is_some() && b.is_some());
        let waiter = {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || gate.enter().is_some())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "a third permit was given");
        drop(a);
        assert!(
            waiter.join().unwrap_or(false),
            "a freed permit is handed on"
        );
        let c = gate.enter();
        assert!(c.is_some());
        let waiter = {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || gate.enter().is_none())
        };
        std::thread::sleep(Duration::from_millis(20));
        gate.close();
        assert!(waiter.join().unwrap_or(false), "closing wakes a waiter");
        drop((b, c));
        assert_eq!(gate.state.lock().peak, 2);
        assert_eq!(gate.state.lock().in_flight, 0);
    }

    #[test]
    fn forwarding_waits_for_room_and_gives_up_when_cancelled() {
        let counters = Counters::default();
        let (queue, queue_rx) = bounded(1);
        let (cancel, cancelled) = bounded::<()>(0);
        forward(&queue, &cancelled, &counters, event(1, 1));
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(30));
                let _ = queue_rx.recv();
            });
            // Full: waits until the reader makes room.
            forward(&queue, &cancelled, &counters, event(1, 2));
        });
        assert_eq!(counters.waits.load(Ordering::Relaxed), 1);
        assert_eq!(queue_rx.len(), 1);
        drop(cancel);
        forward(&queue, &cancelled, &counters, event(1, 3));
        assert_eq!(counters.dropped_at_stop.load(Ordering::Relaxed), 1);
    }
}
