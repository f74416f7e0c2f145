//! `IdleListener`: a background thread with its own connection that watches one folder
//! and reports every change, with UIDs, renewing IDLE and reconnecting on its own.
//!
//! One idea per file: `builder` configures and spawns, `stop` is how the handle stops the
//! thread, `run` the thread's loop (connecting, watching, reconnecting), `events` turns a
//! batch of untagged responses into events, `catch_up` reports what changed while the
//! listener was not watching (through the sync engine, `imap/sync/`), `uid_map` maps
//! sequence numbers to UIDs over the known UIDs, `folders` watches several folders on one
//! connection (NOTIFY, or IDLE + STATUS polling) and `spawn_folders` starts it. This file
//! is the handle.

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use parking_lot::Mutex;

use crate::config::Config;
use crate::imap::idle_queue::{IdleEvent, IdleEvents, WatchMode};

mod builder;
mod catch_up;
mod events;
mod folders;
mod group;
mod run;
mod spawn_folders;
mod stop;
mod uid_map;

pub use builder::IdleListenerBuilder;
pub use group::{GroupEvent, GroupEvents, GroupStats, IdleGroup, IdleGroupBuilder, WatchId};
use stop::Stop;

/// How long [`IdleListener::stop`] waits for the thread to end after cutting its
/// connection; a thread still busy then (inside a TCP connect that cannot be interrupted)
/// is left to end on its own, at its connect deadline.
const STOP_WAIT: Duration = Duration::from_millis(900);
/// The default capacity of the event channel.
const DEFAULT_CHANNEL_CAPACITY: usize = 1024;

type Callback = Box<dyn Fn(&IdleEvent) + Send + 'static>;

/// A background listener for one folder: its own connection on its own named thread.
///
/// It `IDLE`s when the server offers it and polls with `NOOP` otherwise, renews IDLE
/// before the server's timeout, reconnects with exponential backoff after a fault, and
/// delivers every event to the callbacks and to a channel. Stop it with
/// [`stop`](Self::stop) from any thread, or by dropping it.
///
/// While idle it costs nothing: its thread blocks until the server speaks, the renewal (or
/// the next poll, or reconnect attempt) is due, or it is stopped — no periodic wake-up
/// (docs/idle.md, "What wakes a listener").
///
/// Every event about messages names them by UID: it enables QRESYNC when offered
/// (`VANISHED` names expunged UIDs) and otherwise maps sequence numbers through the UIDs
/// it knows. After a reconnect it reports every expunge, flag change and new message of
/// the outage (with QRESYNC, CONDSTORE or a UID + flags comparison, as
/// [`ImapConnection::sync`](crate::imap::ImapConnection::sync) does) before
/// [`IdleEvent::Reconnected`], so an application that only applies the events stays
/// exactly right. For that it keeps the folder's UIDs and flags as ranges (16 bytes a
/// range; docs/idle.md gives the bytes per message).
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
    mode: Arc<Mutex<WatchMode>>,
    events: Receiver<IdleEvent>,
    stop: Arc<Stop>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for IdleListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleListener")
            .field("folder", &self.folder)
            .field("mode", &self.mode())
            .field("running", &self.is_running())
            .finish()
    }
}

impl IdleListener {
    /// Starts configuring a listener for the account of `config`.
    pub fn builder(config: Config) -> IdleListenerBuilder {
        IdleListenerBuilder::new(config)
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

    /// The folder watched (the first one of a multi-folder listener).
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// How the listener watches, chosen from the server's capabilities at connect and the
    /// builder's switches (also logged at `info` when chosen): [`WatchMode::Idle`] or
    /// [`WatchMode::Polling`] for one folder, [`WatchMode::Notify`] or
    /// [`WatchMode::IdleWithStatusPolling`] for several (it becomes the latter when the
    /// server refuses `NOTIFY`).
    pub fn mode(&self) -> WatchMode {
        *self.mode.lock()
    }

    /// Whether the listener thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread
            .lock()
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    /// Stops the listener: closes its connection (a blocked read returns at once; the
    /// server ends the session as it would after a LOGOUT), ends a wait between polls or
    /// reconnect attempts, and joins the thread. Returns within a second whatever the
    /// server does, with the thread ended and [`IdleEvent::Stopped`] sent; only a thread
    /// still inside a TCP connect then is left to end by itself at its connect deadline,
    /// sending nothing but its final [`IdleEvent::Stopped`].
    /// Calling it again, or from a callback, does nothing more.
    pub fn stop(&self) {
        self.stop_by(Instant::now() + STOP_WAIT);
    }
}

/// What an [`IdleGroup`] needs of its listeners: to signal one without waiting, and to end
/// its stop by a deadline shared by the whole group (signal all, then join all).
impl IdleListener {
    /// Asks the thread to stop (cuts its connection, ends its sleep) without waiting.
    pub(super) fn request_stop(&self) {
        self.stop.request();
    }

    /// [`stop`](Self::stop), waiting for the thread at most until `deadline`; false when
    /// the thread was left to end by itself (inside a TCP connect).
    pub(super) fn stop_by(&self, deadline: Instant) -> bool {
        self.stop.request();
        let handle = self.thread.lock().take();
        let Some(handle) = handle else { return true };
        if handle.thread().id() == std::thread::current().id() {
            return true; // called from a callback: the thread ends after it returns
        }
        // One wait, ended by the thread's last act (no polling of `is_finished`).
        if self.stop.wait_finished(deadline) {
            // The thread has let go of everything; `join` waits only for it to exit.
            let _ = handle.join();
            true
        } else {
            log::debug!(target: "mailwire::idle", "[idle {}] the listener thread is still connecting; not waiting for it", self.folder);
            false
        }
    }
}

impl Drop for IdleListener {
    fn drop(&mut self) {
        self.stop();
    }
}
