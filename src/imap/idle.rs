//! `IdleListener`: a background thread with its own connection that watches one folder
//! and reports what changes, renewing IDLE and reconnecting on its own.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use parking_lot::{Condvar, Mutex};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::imap::codec::{Command, FetchAttr, SelectOptions};
use crate::imap::idle_queue::{EventQueue, IdleEvent, IdleEvents};
use crate::imap::search::SearchQuery;
use crate::imap::seqset::SequenceSet;
use crate::imap::session::Session;
use crate::imap::types::{FetchData, Flag, Untagged};
use crate::net::retry::Delays;
use crate::net::socket::ShutdownHandle;
use crate::setters::setters;

/// How long [`IdleListener::stop`] waits for the thread to end after cutting its
/// connection; a thread still busy then (inside a TCP connect that cannot be interrupted)
/// is left to end on its own, at its connect deadline.
const STOP_WAIT: Duration = Duration::from_millis(900);
/// The default capacity of the event channel.
const DEFAULT_CHANNEL_CAPACITY: usize = 1024;

type Callback = Box<dyn Fn(&IdleEvent) + Send + 'static>;

/// Configures and starts an [`IdleListener`].
#[must_use = "call spawn() to start the listener"]
pub struct IdleListenerBuilder {
    config: Config,
    folder: String,
    renew_every: Duration,
    poll_interval: Duration,
    callbacks: Vec<Callback>,
    force_polling: bool,
    channel_capacity: usize,
}

impl fmt::Debug for IdleListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleListenerBuilder")
            .field("config", &self.config)
            .field("folder", &self.folder)
            .field("renew_every", &self.renew_every)
            .field("poll_interval", &self.poll_interval)
            .field("callbacks", &self.callbacks.len())
            .field("channel_capacity", &self.channel_capacity)
            .finish_non_exhaustive()
    }
}

impl IdleListenerBuilder {
    setters! {
        /// The folder to watch (default `INBOX`).
        pub fn folder(folder: impl Into<String>) { self.folder = folder.into() }

        /// How often IDLE is ended and restarted (default 25 min, below the 29 min after which
        /// RFC 2177 lets a server drop an idle client). At least one second.
        ///
        /// After a lost connection the listener waits the config's retry policy
        /// `initial_delay`, reconnects, and backs off exponentially (up to `max_delay`) while
        /// reconnecting fails with transient errors.
        pub fn renew_every(every: Duration) { self.renew_every = every }

        /// How often to poll with `NOOP` on servers without IDLE (default 30 s).
        pub fn poll_interval(every: Duration) { self.poll_interval = every }

        /// How many events [`IdleListener::events`] holds for a reader (default 1,024). When
        /// nobody reads them, the oldest are dropped and the reader gets one
        /// [`IdleEvent::Lagged`] instead, so a listener used only through callbacks holds at
        /// most this many. At least 2.
        pub fn channel_capacity(events: usize) { self.channel_capacity = events }

        /// Polls with `NOOP` even if the server offers IDLE.
        pub fn force_polling(force: bool) { self.force_polling = force }
    }

    /// Adds a callback, called on the listener's thread for every event, in the order the
    /// callbacks were added. A slow callback delays the next notification: hand heavy work
    /// to a worker through [`IdleListener::events`] instead. A panicking callback is caught
    /// and logged; delivery goes on.
    pub fn on_event(mut self, callback: impl Fn(&IdleEvent) + Send + 'static) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Connects, opens the folder and starts the listener thread. A failure to connect,
    /// log in or open the folder is returned here; later failures are reported as events
    /// and recovered from.
    pub fn spawn(self) -> Result<IdleListener> {
        if self.renew_every < Duration::from_secs(1) {
            return Err(Error::invalid("renew_every", "must be at least one second"));
        }
        if self.poll_interval < Duration::from_millis(100) {
            return Err(Error::invalid("poll_interval", "must be at least 100 ms"));
        }
        if self.channel_capacity < 2 {
            return Err(Error::invalid("channel_capacity", "must be at least 2"));
        }
        let (events, rx) = EventQueue::new(self.channel_capacity);
        let stop = Arc::new(Stop::default());
        let mut worker = Worker {
            config: self.config,
            folder: self.folder.clone(),
            renew_every: self.renew_every,
            poll_interval: self.poll_interval,
            force_polling: self.force_polling,
            callbacks: self.callbacks,
            events,
            stop: Arc::clone(&stop),
            session: Arc::new(Mutex::new(None)),
            uid_validity: None,
            uid_next: None,
        };
        let session = worker.open()?;
        *worker.session.lock() = Some(session);
        let name = format!("mailwire-idle-{}", worker.folder);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || worker.run())
            .map_err(|source| Error::Io {
                operation: "starting the IDLE listener thread".into(),
                source,
            })?;
        Ok(IdleListener {
            folder: self.folder,
            events: rx,
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// A background listener for one folder: its own connection on its own named thread.
///
/// It `IDLE`s when the server offers it and polls with `NOOP` otherwise, renews IDLE
/// before the server's timeout, reconnects with exponential backoff after a fault (and
/// then reports the messages that arrived meanwhile), and delivers every event to the
/// callbacks and to a channel. Stop it with [`stop`](Self::stop) from any thread, or by
/// dropping it.
///
/// ```no_run
/// use mailwire::Config;
/// use mailwire::imap::{IdleEvent, IdleListener};
///
/// let config = Config::builder("imap.example.com").login("alice", "app-password").build()?;
/// let listener = IdleListener::builder(config)
///     .folder("INBOX")
///     .on_event(|event| {
///         if let IdleEvent::NewMessages { uids } = event {
///             println!("new mail: {uids:?}");
///         }
///     })
///     .spawn()?;
/// // … or receive events elsewhere:
/// let events = listener.events();
/// while let Ok(event) = events.recv() {
///     if matches!(event, IdleEvent::Stopped) { break }
/// }
/// # Ok::<(), mailwire::Error>(())
/// ```
pub struct IdleListener {
    folder: String,
    events: Receiver<IdleEvent>,
    stop: Arc<Stop>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How the handle stops the worker: a flag, a wake-up for its sleeps, and the shutdown
/// handle of its current connection — all outside the session's lock, so stopping never
/// waits for a blocked read.
#[derive(Default)]
struct Stop {
    requested: AtomicBool,
    /// Guards the wake-up (`wake` is notified under it) and the current socket.
    socket: Mutex<Option<ShutdownHandle>>,
    wake: Condvar,
}

impl Stop {
    fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Asks the worker to stop: wakes a sleep and cuts the connection, so a blocked read
    /// returns at once.
    fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        let socket = self.socket.lock();
        if let Some(handle) = socket.as_ref() {
            handle.shutdown();
        }
        self.wake.notify_all();
    }

    /// Records the connection the worker uses now (cut at once if a stop came first).
    fn watch_socket(&self, handle: ShutdownHandle) {
        let mut socket = self.socket.lock();
        if self.requested() {
            handle.shutdown();
        }
        *socket = Some(handle);
    }

    /// Sleeps `d`, or less when a stop is requested.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut socket = self.socket.lock();
        while !self.requested() && Instant::now() < until {
            let _ = self.wake.wait_until(&mut socket, until);
        }
    }
}

impl fmt::Debug for IdleListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleListener")
            .field("folder", &self.folder)
            .field("running", &self.is_running())
            .finish()
    }
}

impl IdleListener {
    /// Starts configuring a listener for the account of `config`.
    pub fn builder(config: Config) -> IdleListenerBuilder {
        IdleListenerBuilder {
            config,
            folder: "INBOX".into(),
            renew_every: Duration::from_secs(25 * 60),
            poll_interval: Duration::from_secs(30),
            callbacks: Vec::new(),
            force_polling: false,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
        }
    }

    /// A receiver of every event (clones share the same queue: each event goes to one
    /// receiver).
    ///
    /// This is deliberately `crossbeam_channel::Receiver` (re-exported as
    /// [`mailwire::imap::IdleEvents`](crate::imap::IdleEvents)): it works with
    /// `crossbeam_channel::select!` next to the application's own channels. crossbeam-channel
    /// 0.5 has been API-stable for years; a change of its major version would be a major
    /// version of mailwire.
    pub fn events(&self) -> IdleEvents {
        self.events.clone()
    }

    /// The folder watched.
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// Whether the listener thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread
            .lock()
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    /// Stops the listener: closes its connection (a blocked read returns at once; the
    /// server ends the session as it would after a LOGOUT) and joins the thread. Returns
    /// within a second whatever the server does: a thread still inside a TCP connect then
    /// is left to end by itself at its connect deadline, sending nothing but its final
    /// [`IdleEvent::Stopped`].
    /// Calling it again, or from a callback, does nothing more.
    pub fn stop(&self) {
        self.stop.request();
        let handle = self.thread.lock().take();
        let Some(handle) = handle else { return };
        if handle.thread().id() == std::thread::current().id() {
            return; // called from a callback: the thread ends after it returns
        }
        let started = Instant::now();
        while !handle.is_finished() && started.elapsed() < STOP_WAIT {
            std::thread::sleep(Duration::from_millis(2));
        }
        if handle.is_finished() {
            let _ = handle.join();
        } else {
            log::debug!(target: "mailwire::idle", "[idle {}] the listener thread is still connecting; not waiting for it", self.folder);
        }
    }
}

impl Drop for IdleListener {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    config: Config,
    folder: String,
    renew_every: Duration,
    poll_interval: Duration,
    force_polling: bool,
    callbacks: Vec<Callback>,
    events: EventQueue,
    stop: Arc<Stop>,
    session: Arc<Mutex<Option<Session>>>,
    uid_validity: Option<u32>,
    uid_next: Option<u32>,
}

/// Why a watching round ended.
enum Ended {
    Stopped,
    Failed(Error),
}

impl Worker {
    fn stopping(&self) -> bool {
        self.stop.requested()
    }

    fn emit(&mut self, event: IdleEvent) {
        log::debug!(target: "mailwire::idle", "[idle {}] event {event:?}", self.folder);
        for (i, callback) in self.callbacks.iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| callback(&event))).is_err() {
                log::error!(target: "mailwire::idle", "[idle {}] callback #{i} panicked on {event:?}; delivery goes on", self.folder);
            }
        }
        let dropped = self.events.push(event);
        if dropped > 0 {
            log::debug!(target: "mailwire::idle", "[idle {}] nobody reads the events: {dropped} dropped", self.folder);
        }
    }

    /// Connects and opens the folder read-only; returns the session. Reports UIDVALIDITY
    /// changes and messages that arrived since the last known UIDNEXT.
    fn open(&mut self) -> Result<Session> {
        let stop = Arc::clone(&self.stop);
        let mut session = crate::imap::ImapConnection::open_session(&self.config, &mut |handle| {
            stop.watch_socket(handle);
            if stop.requested() {
                // Not transient: no further attempt.
                return Err(Error::invalid("IdleListener", "stopped while connecting"));
            }
            Ok(())
        })?;
        if self.stopping() {
            return Err(Error::Closed {
                context: "(the listener is stopping)".into(),
            });
        }
        // This listener reads every answer's events itself: none are queued as news.
        session.read_news_from_answers();
        let mailbox = session
            .open_folder(self.folder.as_str(), SelectOptions::new(), true)?
            .mailbox;
        let (validity, uid_next) = (mailbox.uid_validity, mailbox.uid_next);
        let mut catch_up_from = self.uid_next;
        if let (Some(old), Some(new)) = (self.uid_validity, validity) {
            if old != new {
                self.emit(IdleEvent::UidValidityChanged { old, new });
                catch_up_from = None;
            }
        }
        self.uid_validity = validity.or(self.uid_validity);
        match (catch_up_from, uid_next) {
            (Some(from), Some(now)) if now > from => {
                self.uid_next = Some(from);
                self.report_new(&mut session)?;
            }
            _ => self.uid_next = uid_next.or(self.uid_next),
        }
        Ok(session)
    }

    fn run(mut self) {
        let mut down_since: Option<Instant> = None;
        let mut delays = Delays::new(&self.config.retry());
        loop {
            if self.stopping() {
                break;
            }
            let session = self.session.lock().take();
            let session = match session {
                Some(s) => Some(s),
                None => match self.open() {
                    Err(_) if self.stopping() => break,
                    Ok(s) => {
                        if let Some(since) = down_since.take() {
                            self.emit(IdleEvent::Reconnected {
                                after: since.elapsed(),
                            });
                        }
                        delays.reset();
                        Some(s)
                    }
                    Err(e) if e.is_transient() => {
                        self.emit(IdleEvent::Error(Arc::new(e)));
                        self.sleep(delays.next_delay());
                        None
                    }
                    Err(e) => {
                        log::error!(target: "mailwire::idle", "[idle {}] giving up: {e}", self.folder);
                        self.emit(IdleEvent::Error(Arc::new(e)));
                        break;
                    }
                },
            };
            let Some(session) = session else { continue };
            *self.session.lock() = Some(session);
            match self.watch() {
                Ended::Stopped => break,
                Ended::Failed(_) if self.stopping() => break,
                Ended::Failed(e) => {
                    log::info!(target: "mailwire::idle", "[idle {}] connection lost: {e}; reconnecting", self.folder);
                    if let Some(mut s) = self.session.lock().take() {
                        s.shutdown();
                    }
                    down_since = Some(Instant::now());
                    self.emit(IdleEvent::Error(Arc::new(e)));
                    // Give a restarting server a moment (the retry policy's first delay).
                    delays.reset();
                    self.sleep(delays.next_delay());
                }
            }
        }
        // Leave politely when the connection is alive (bounded: logout never waits
        // longer than a second).
        if let Some(mut s) = self.session.lock().take() {
            if !self.stopping() {
                s.logout();
            }
            s.shutdown();
        }
        self.emit(IdleEvent::Stopped);
    }

    fn sleep(&self, d: Duration) {
        self.stop.sleep(d);
    }

    /// Watches the folder until stopped or the connection fails.
    fn watch(&mut self) -> Ended {
        let use_idle = !self.force_polling
            && self
                .session
                .lock()
                .as_ref()
                .is_some_and(|s| s.capabilities().has("IDLE"));
        let result = if use_idle {
            self.watch_idle()
        } else {
            self.watch_polling()
        };
        match result {
            Ok(()) => Ended::Stopped,
            Err(e) => Ended::Failed(e),
        }
    }

    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut guard = self.session.lock();
        match guard.as_mut() {
            Some(s) => f(s),
            None => Err(Error::Closed {
                context: "(the listener's connection is gone)".into(),
            }),
        }
    }

    fn watch_idle(&mut self) -> Result<()> {
        loop {
            let (tag, early) = self.with_session(|s| s.idle_start())?;
            let renew_at = Instant::now() + self.renew_every;
            // Changes the server announced before its continuation (it reports what happened
            // since the last command as soon as IDLE starts) are news too.
            let mut pending: Vec<Untagged> = early.into_iter().filter(is_mailbox_event).collect();
            loop {
                if !pending.is_empty() {
                    break;
                }
                if self.stopping() {
                    return Ok(());
                }
                let now = Instant::now();
                if now >= renew_at {
                    log::debug!(target: "mailwire::idle", "[idle {}] renewing IDLE", self.folder);
                    break;
                }
                // One wait until the renewal: a stop cuts the socket, which ends it at once.
                let polled = match self.with_session(|s| s.poll_untagged(renew_at - now)) {
                    Err(_) if self.stopping() => return Ok(()),
                    other => other?,
                };
                let Some(u) = polled else { continue };
                match &u {
                    Untagged::Condition {
                        status: crate::imap::types::Status::Bye,
                        text,
                        ..
                    } => {
                        return Err(Error::Closed {
                            context: format!("by the server (BYE: {text})"),
                        });
                    }
                    Untagged::Exists(_)
                    | Untagged::Expunge(_)
                    | Untagged::Vanished { .. }
                    | Untagged::Fetch { .. } => {
                        pending.push(u);
                        // Leave IDLE to act on it (find the new UIDs, map sequence numbers).
                        break;
                    }
                    _ => {}
                }
            }
            let more = self.with_session(|s| s.idle_done(&tag, s.read_timeout()))?;
            pending.extend(more);
            self.handle(pending)?;
        }
    }

    fn watch_polling(&mut self) -> Result<()> {
        loop {
            self.sleep(self.poll_interval);
            if self.stopping() {
                return Ok(());
            }
            let untagged = self.with_session(|s| {
                let c = s.run(&Command::Noop)?.into_result("NOOP")?;
                Ok(c.untagged)
            })?;
            if untagged.iter().any(|u| {
                matches!(
                    u,
                    Untagged::Condition {
                        status: crate::imap::types::Status::Bye,
                        ..
                    }
                )
            }) {
                return Err(Error::Closed {
                    context: "by the server (BYE)".into(),
                });
            }
            self.handle(untagged)?;
        }
    }

    /// Turns a batch of untagged responses into events (outside IDLE: may run commands).
    fn handle(&mut self, responses: Vec<Untagged>) -> Result<()> {
        let mut expunged_seqs = Vec::new();
        let mut expunged_uids = SequenceSet::new();
        // VANISHED is only valid once QRESYNC is enabled (RFC 7162 §3.2.10); UIDs that
        // cannot exist yet (from UIDNEXT on) are not news.
        let qresync = self
            .with_session(|s| Ok(s.qresync_enabled()))
            .unwrap_or(false);
        let known =
            SequenceSet::from_ranges([1..=self.uid_next.map_or(u32::MAX, |n| n.saturating_sub(1))]);
        let max_ranges = self.config.limits().max_set_ranges;
        let mut new_mail = false;
        let mut flag_changes: Vec<(Option<u32>, u32, Vec<Flag>)> = Vec::new();
        for u in responses {
            match u {
                Untagged::Exists(_) => new_mail = true,
                Untagged::Expunge(seq) => expunged_seqs.push(seq),
                Untagged::Vanished {
                    earlier: false,
                    uids,
                } if qresync => {
                    uids.check_ranges(max_ranges, "a VANISHED response")?;
                    expunged_uids = expunged_uids.union(&uids.intersection(&known));
                    expunged_uids
                        .check_ranges(max_ranges, "the VANISHED responses of one batch")?;
                }
                Untagged::Vanished { .. } => {
                    log::warn!(target: "mailwire::idle", "[idle {}] ignoring VANISHED: QRESYNC is not enabled", self.folder);
                }
                Untagged::Fetch { seq, items } => {
                    let mut uid = None;
                    let mut flags = None;
                    for item in items {
                        match item {
                            FetchData::Uid(u) => uid = Some(u),
                            FetchData::Flags(f) => flags = Some(f),
                            _ => {}
                        }
                    }
                    if let Some(flags) = flags {
                        flag_changes.push((uid, seq, flags));
                    }
                }
                _ => {}
            }
        }
        // Sequence numbers are valid before the expunges of this batch are applied; ask
        // for the UIDs of flag changes that came without one.
        let unknown: Vec<u32> = flag_changes
            .iter()
            .filter(|(uid, _, _)| uid.is_none())
            .map(|(_, seq, _)| *seq)
            .collect();
        if !unknown.is_empty() && expunged_seqs.is_empty() {
            let set: SequenceSet = unknown.iter().copied().collect();
            let map = self.with_session(|s| {
                let c = s
                    .run(&Command::Fetch {
                        uid: false,
                        set,
                        items: vec![FetchAttr::Uid, FetchAttr::Flags],
                        changed_since: None,
                        vanished: false,
                    })?
                    .into_result("FETCH")?;
                Ok(c.untagged)
            })?;
            for u in map {
                if let Untagged::Fetch { seq, items } = u {
                    let uid = items.iter().find_map(|i| {
                        if let FetchData::Uid(u) = i {
                            Some(*u)
                        } else {
                            None
                        }
                    });
                    let flags = items.iter().find_map(|i| {
                        if let FetchData::Flags(f) = i {
                            Some(f.clone())
                        } else {
                            None
                        }
                    });
                    if let Some(change) = flag_changes
                        .iter_mut()
                        .find(|(u, s, _)| u.is_none() && *s == seq)
                    {
                        change.0 = uid;
                        if let Some(f) = flags {
                            change.2 = f;
                        }
                    }
                }
            }
        }
        for (uid, _, flags) in flag_changes {
            if let Some(uid) = uid {
                self.emit(IdleEvent::FlagsChanged { uid, flags });
            }
        }
        if !expunged_seqs.is_empty() || !expunged_uids.is_empty() {
            self.emit(IdleEvent::Expunged {
                seqs: expunged_seqs,
                uids: expunged_uids,
            });
        }
        if new_mail {
            let shared = Arc::clone(&self.session);
            let mut guard = shared.lock();
            if let Some(s) = guard.as_mut() {
                self.report_new(s)?;
            }
        }
        Ok(())
    }

    /// Reports the messages with UIDs from the last known UIDNEXT on.
    fn report_new(&mut self, s: &mut Session) -> Result<()> {
        let from = self.uid_next.unwrap_or(1).max(1);
        let query = SearchQuery::uid(SequenceSet::from_start(from));
        let c = s
            .run(&Command::uid_search(query))?
            .into_result("UID SEARCH")?;
        let mut uids: Vec<u32> = c
            .untagged
            .into_iter()
            .filter_map(|u| match u {
                Untagged::Search { ids, .. } => Some(ids),
                _ => None,
            })
            .flatten()
            .filter(|&uid| uid >= from)
            .collect();
        uids.sort_unstable();
        uids.dedup();
        if let Some(&last) = uids.last() {
            self.uid_next = Some(last.saturating_add(1));
            self.emit(IdleEvent::NewMessages { uids });
        }
        Ok(())
    }
}

fn is_mailbox_event(u: &Untagged) -> bool {
    matches!(
        u,
        Untagged::Exists(_)
            | Untagged::Expunge(_)
            | Untagged::Vanished { .. }
            | Untagged::Fetch { .. }
    )
}
