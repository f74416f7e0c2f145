//! The listener thread's loop: connecting and opening the folder (with the catch-up of
//! what changed meanwhile), watching with IDLE or NOOP polling, and reconnecting with
//! backoff after a fault.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::group::gate::{Gate, Permit};
use super::{Callback, Stop};
use crate::config::{Config, RetryPolicy};
use crate::error::{Error, Result};
use crate::imap::codec::Command;
use crate::imap::idle_queue::{EventQueue, IdleEvent};
use crate::imap::session::Session;
use crate::imap::sync::SyncState;
use crate::imap::types::Untagged;
use crate::net::retry::Delays;

pub(super) struct Worker {
    pub(super) config: Config,
    pub(super) folder: String,
    pub(super) renew_every: Duration,
    pub(super) poll_interval: Duration,
    pub(super) force_polling: bool,
    pub(super) callbacks: Vec<Callback>,
    pub(super) events: EventQueue,
    pub(super) stop: Arc<Stop>,
    pub(super) session: Arc<Mutex<Option<Session>>>,
    /// What the listener knows of the folder: UIDVALIDITY, UIDNEXT, mod-sequence, the
    /// UIDs of its messages (also the sequence → UID map: sequence number n is the n-th
    /// known UID) and their flags, kept up to date with every event. The catch-up after a
    /// reconnect is a sync from it.
    pub(super) state: SyncState,
    /// The connect gate of the listener's group: every connect takes a permit of it.
    pub(super) gate: Option<Arc<Gate>>,
}

/// Why a watching round ended.
enum Ended {
    Stopped,
    Failed(Error),
}

/// Waits for a permit of `gate` (a group's connect gate), if there is one (`Ok(None)`
/// when not); fails when `stop` is requested or the group is stopped. Every connect of a
/// group's listener, single- or multi-folder, goes through it.
pub(super) fn connect_permit(gate: Option<&Arc<Gate>>, stop: &Stop) -> Result<Option<Permit>> {
    let Some(gate) = gate else {
        return Ok(None);
    };
    match gate.enter(&|| stop.requested()) {
        Some(permit) => Ok(Some(permit)),
        None if stop.requested() => Err(Error::Closed {
            context: "(the listener is stopping)".into(),
        }),
        None => Err(Error::Closed {
            context: "(the IdleGroup is stopped)".into(),
        }),
    }
}

/// Connects and logs in with every socket of the connect watched by `stop` (a stop cuts
/// it), failing at once when a stop comes first or during it: the one connect of both
/// kinds of listener.
pub(super) fn open_watched(config: &Config, stop: &Arc<Stop>) -> Result<Session> {
    let watching = Arc::clone(stop);
    let session = crate::imap::ImapConnection::open_session(config, &mut |handle| {
        watching.watch_socket(handle);
        if watching.requested() {
            // Not transient: no further attempt.
            return Err(Error::invalid("IdleListener", "stopped while connecting"));
        }
        Ok(())
    })?;
    if stop.requested() {
        return Err(Error::Closed {
            context: "(the listener is stopping)".into(),
        });
    }
    Ok(session)
}

impl Worker {
    pub(super) fn stopping(&self) -> bool {
        self.stop.requested()
    }

    pub(super) fn emit(&mut self, event: IdleEvent) {
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

    /// Waits for a permit of the group's connect gate, if the listener is in a group
    /// (`Ok(None)` when not). Fails when the listener is stopped or the group is.
    fn permit(&self) -> Result<Option<Permit>> {
        connect_permit(self.gate.as_ref(), &self.stop)
    }

    /// Takes a connect permit (in a group), then connects and opens the folder read-only
    /// on the calling thread; returns the session (the first connect, on `spawn`'s caller's
    /// thread).
    pub(super) fn open(&mut self) -> Result<Session> {
        let _permit = self.permit()?;
        self.connect()
    }

    /// A reconnect: takes a connect permit (in a group) on the listener's thread, then
    /// connects on a short-lived thread with the normal stack size — the TLS handshake,
    /// the login with the credential provider, the `on_connect` hook and the catch-up's
    /// callbacks are deep or user code, and the listener's own thread has a small stack.
    fn reopen(&mut self) -> Result<Session> {
        let _permit = self.permit()?;
        std::thread::scope(|scope| {
            let connecting = std::thread::Builder::new()
                .name("mailwire-idle-connect".into())
                .spawn_scoped(scope, || self.connect())
                .map_err(|source| Error::Io {
                    operation: "starting the listener's connect thread".into(),
                    source,
                })?;
            connecting.join().unwrap_or_else(|_| {
                Err(Error::invalid(
                    "IdleListener",
                    "the reconnect panicked (a credential provider or on_connect hook?)",
                ))
            })
        })
    }

    /// Connects and opens the folder read-only; returns the session. Reports what changed
    /// since the listener last watched (nothing on the first open).
    fn connect(&mut self) -> Result<Session> {
        let mut session = open_watched(&self.config, &self.stop)?;
        // This listener reads every answer's events itself: none are queued as news.
        session.read_news_from_answers();
        self.catch_up(&mut session)?;
        Ok(session)
    }

    pub(super) fn run(mut self) {
        let mut down_since: Option<Instant> = None;
        let policy = self.config.retry();
        let mut delays = Delays::new(&policy);
        // Each reconnect is one attempt: the waits between attempts are this loop's, which
        // a stop ends at once (the connect's own retries would sleep through a stop).
        // `spawn` made the first connect with the whole policy, on the caller's thread.
        let single = RetryPolicy {
            max_attempts: 1,
            ..policy
        };
        match self.config.with_retry(single) {
            Ok(config) => self.config = config,
            Err(e) => {
                log::debug!(target: "mailwire::idle", "[idle {}] reconnects keep the whole retry policy: {e}", self.folder);
            }
        }
        loop {
            if self.stopping() {
                break;
            }
            let session = self.session.lock().take();
            let session = match session {
                Some(s) => Some(s),
                None => match self.reopen() {
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
                        // A throttling answer ("too many connections") asks for its
                        // retry-after hint, capped by the policy's max_delay.
                        let delay = delays.after(&e);
                        self.emit(IdleEvent::Error(Arc::new(e)));
                        self.sleep(delay);
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
                    // Give a restarting server a moment (the retry policy's first delay, or
                    // a throttling answer's hint such as `BYE [UNAVAILABLE]`).
                    delays.reset();
                    let delay = delays.after(&e);
                    self.emit(IdleEvent::Error(Arc::new(e)));
                    self.sleep(delay);
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

    pub(super) fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
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
