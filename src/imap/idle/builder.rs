//! `IdleListenerBuilder`: the listener's settings, checked, and `spawn`, which opens the
//! first connection and starts the thread.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::group::gate::Gate;
use super::run::Worker;
use super::spawn_folders::FolderParts;
use super::stop::start_thread;
use super::{Callback, DEFAULT_CHANNEL_CAPACITY, IdleListener, Stop};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::imap::idle_queue::{EventQueue, IdleEvent, WatchMode};
use crate::imap::sync::SyncState;
use crate::setters::setters;

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
    /// Whether the application added callbacks (then the thread keeps a normal stack).
    user_callbacks: bool,
    /// The group's connect gate, when the listener belongs to one.
    gate: Option<Arc<Gate>>,
    /// The listener thread's stack size when set by hand (tests).
    stack_size: Option<usize>,
    /// More folders (after `folder`) for a multi-folder listener (`folders`).
    more_folders: Vec<String>,
    status_interval: Duration,
    force_status_polling: bool,
}

/// The stack of a listener thread that runs no application callback: it only idles,
/// reads, parses and forwards (connects run on a short-lived thread with the normal stack,
/// `run.rs`). tests/imap_idle_stack.rs runs a listener on 64 KiB (a debug build) through
/// new mail, expunges, flag changes, a renewal and a reconnect, so this is 4× that.
pub(super) const SMALL_STACK: usize = 256 * 1024;

impl fmt::Debug for IdleListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleListenerBuilder")
            .field("config", &self.config)
            .field("folder", &self.folder)
            .field("more_folders", &self.more_folders)
            .field("status_interval", &self.status_interval)
            .field("renew_every", &self.renew_every)
            .field("poll_interval", &self.poll_interval)
            .field("callbacks", &self.callbacks.len())
            .field("channel_capacity", &self.channel_capacity)
            .finish_non_exhaustive()
    }
}

impl IdleListenerBuilder {
    pub(super) fn new(config: Config) -> IdleListenerBuilder {
        IdleListenerBuilder {
            config,
            folder: "INBOX".into(),
            renew_every: Duration::from_secs(25 * 60),
            poll_interval: Duration::from_secs(30),
            callbacks: Vec::new(),
            force_polling: false,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            user_callbacks: false,
            gate: None,
            stack_size: None,
            more_folders: Vec::new(),
            status_interval: Duration::from_secs(60),
            force_status_polling: false,
        }
    }

    setters! {
        /// The folder to watch (default `INBOX`).
        pub fn folder(folder: impl Into<String>) { self.folder = folder.into() }

        /// How often IDLE is ended and restarted (default 25 min, below the 29 min after which
        /// RFC 2177 lets a server drop an idle client). At least one second.
        ///
        /// After a lost connection the listener waits the config's retry policy
        /// `initial_delay`, reconnects, and backs off exponentially (up to `max_delay`) while
        /// reconnecting fails with transient errors. Each reconnect is one attempt (each
        /// failure an [`IdleEvent::Error`]), tried again as long as failures are transient:
        /// the policy's `max_attempts` bounds only the first connect, made by
        /// [`spawn`](Self::spawn).
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

        /// A listener over several folders without `NOTIFY`: how often the folders other
        /// than the first (which is watched with `IDLE`) are asked `STATUS` (default 60 s;
        /// at least 100 ms). Each round costs one `STATUS` per folder, and a sync of each
        /// folder that changed. Unused with `NOTIFY` and by single-folder listeners.
        pub fn status_interval(every: Duration) { self.status_interval = every }

        /// A listener over several folders: use `IDLE` on the first folder plus `STATUS`
        /// polling of the others even if the server offers `NOTIFY`.
        pub fn force_status_polling(force: bool) { self.force_status_polling = force }
    }

    /// Watches several folders of the account on one connection (replacing
    /// [`folder`](Self::folder)); one folder is the same as `folder`. With two or more,
    /// every event about messages is an [`IdleEvent::InFolder`] naming its folder, and
    /// [`IdleListener::mode`](crate::imap::IdleListener::mode) says how they are watched:
    /// [`WatchMode::Notify`](crate::imap::WatchMode::Notify) when the server offers
    /// `NOTIFY` (RFC 5465), otherwise
    /// [`WatchMode::IdleWithStatusPolling`](crate::imap::WatchMode::IdleWithStatusPolling)
    /// (docs/idle.md, "Watching many folders on one connection").
    ///
    /// ```no_run
    /// use mailwire::Config;
    /// use mailwire::imap::{IdleEvent, IdleListener};
    ///
    /// let config = Config::builder("imap.example.com").login("alice", "app-password").build()?;
    /// let listener = IdleListener::builder(config)
    ///     .folders(["INBOX", "Work", "Lists/rust"])
    ///     .on_event(|event| {
    ///         if let (Some(folder), IdleEvent::NewMessages { uids }) = (event.folder(), event.inner()) {
    ///             println!("new mail in {folder}: {uids:?}");
    ///         }
    ///     })
    ///     .spawn()?;
    /// println!("watching with {:?}", listener.mode());
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn folders<S: Into<String>>(mut self, folders: impl IntoIterator<Item = S>) -> Self {
        let mut all = folders.into_iter().map(Into::into);
        self.folder = all.next().unwrap_or_default();
        self.more_folders = all.collect();
        self
    }

    /// Adds a callback, called on the listener's thread for every event, in the order the
    /// callbacks were added. A slow callback delays the next notification: hand heavy work
    /// to a worker through [`IdleListener::events`] instead. A panicking callback is caught
    /// and logged; delivery goes on. A listener with callbacks keeps a thread with the
    /// normal stack size (without, its thread has a small one: docs/idle.md, "What a
    /// listener costs").
    pub fn on_event(mut self, callback: impl Fn(&IdleEvent) + Send + 'static) -> Self {
        self.callbacks.push(Box::new(callback));
        self.user_callbacks = true;
        self
    }

    /// A callback of mailwire's own (the group's forwarding): not user code, so the
    /// thread may keep its small stack.
    pub(super) fn forward_events(mut self, callback: impl Fn(&IdleEvent) + Send + 'static) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Every connect of this listener takes a permit of `gate` (a group's).
    pub(super) fn connect_gate(mut self, gate: Arc<Gate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Not an API (for mailwire's own tests; it may change or go at any time): the
    /// listener thread's stack size, instead of the small one (no callbacks) or the
    /// normal one (with callbacks).
    #[doc(hidden)]
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Connects, opens the folder (read-only), lists its messages' UIDs and flags once
    /// (`UID FETCH 1:* (UID FLAGS)`: the state the listener keeps to report every change
    /// with UIDs) and starts the listener thread. A failure to connect, log in or open the
    /// folder is returned here; later failures are reported as events and recovered from.
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
        if self.folder.is_empty() {
            return Err(Error::invalid("folders", "no folder given"));
        }
        if !self.more_folders.is_empty() {
            return super::spawn_folders::spawn(self.into_folder_parts());
        }
        let (events, rx) = EventQueue::new(self.channel_capacity);
        let stop = Arc::new(Stop::new(self.gate.clone()));
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
            state: SyncState::new(self.folder.as_str()),
            gate: self.gate,
        };
        let session = worker.open()?;
        let mode = if !worker.force_polling && session.capabilities().has("IDLE") {
            WatchMode::Idle
        } else {
            WatchMode::Polling
        };
        *worker.session.lock() = Some(session);
        let name = format!("mailwire-idle-{}", worker.folder);
        // User code never runs on the small stack: callbacks keep the normal one, and the
        // credential provider and `on_connect` run inside connects (never on this thread).
        let stack = self
            .stack_size
            .or((!self.user_callbacks).then_some(SMALL_STACK));
        let thread = start_thread(name, stack, &stop, move || worker.run())?;
        Ok(IdleListener {
            folder: self.folder,
            mode: Arc::new(Mutex::new(mode)),
            events: rx,
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }
}

impl IdleListenerBuilder {
    fn into_folder_parts(self) -> FolderParts {
        let mut folders = vec![self.folder];
        folders.extend(self.more_folders);
        FolderParts {
            config: self.config,
            folders,
            renew_every: self.renew_every,
            status_interval: self.status_interval,
            force_status_polling: self.force_status_polling,
            callbacks: self.callbacks,
            channel_capacity: self.channel_capacity,
            gate: self.gate,
        }
    }
}
