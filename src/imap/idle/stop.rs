//! How the handle stops the listener thread: a flag, a wake-up for its sleeps, the
//! shutdown handle of its current connection, and the thread's word that it has ended.
//!
//! Nothing here ticks: the thread's sleeps are condvar waits with a deadline that
//! [`Stop::request`] ends at once, its reads are cut by the shutdown handle, and the
//! handle's wait for the thread is a condvar wait that the thread's last act ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::group::gate::Gate;
use crate::error::{Error, Result};
use crate::net::socket::ShutdownHandle;

/// How the handle stops the worker: a flag, a wake-up for its sleeps, and the shutdown
/// handle of its current connection — all outside the session's lock, so stopping never
/// waits for a blocked read.
#[derive(Default)]
pub(super) struct Stop {
    requested: AtomicBool,
    /// Guards the wake-up (`wake` is notified under it) and the current socket.
    socket: Mutex<Option<ShutdownHandle>>,
    wake: Condvar,
    /// Set by the thread as it ends (see [`Finished`]); `ended` is notified under it.
    finished: Mutex<bool>,
    ended: Condvar,
    /// The connect gate of the listener's group, whose wait a stop ends too.
    gate: Option<Arc<Gate>>,
}

impl Stop {
    /// A stop for a listener whose connects wait at `gate` (a group's).
    pub(super) fn new(gate: Option<Arc<Gate>>) -> Stop {
        Stop {
            gate,
            ..Stop::default()
        }
    }

    pub(super) fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Asks the worker to stop: wakes a sleep and cuts the connection, so a blocked read
    /// returns at once.
    pub(super) fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        let socket = self.socket.lock();
        if let Some(handle) = socket.as_ref() {
            handle.shutdown();
        }
        self.wake.notify_all();
        drop(socket);
        if let Some(gate) = &self.gate {
            gate.wake();
        }
    }

    /// Records the connection the worker uses now (cut at once if a stop came first).
    pub(super) fn watch_socket(&self, handle: ShutdownHandle) {
        let mut socket = self.socket.lock();
        if self.requested() {
            handle.shutdown();
        }
        *socket = Some(handle);
    }

    /// Sleeps `d`, or less when a stop is requested: one condvar wait until the deadline
    /// (spurious wake-ups aside), which [`request`](Self::request) ends at once.
    pub(super) fn sleep(&self, d: Duration) {
        let Some(until) = Instant::now().checked_add(d) else {
            return;
        };
        let mut socket = self.socket.lock();
        while !self.requested() && Instant::now() < until {
            let _ = self.wake.wait_until(&mut socket, until);
        }
    }

    /// Waits until the thread has ended (see [`Finished`]) or `until` passed; true when it
    /// has ended.
    pub(super) fn wait_finished(&self, until: Instant) -> bool {
        let mut finished = self.finished.lock();
        while !*finished {
            if self.ended.wait_until(&mut finished, until).timed_out() {
                break;
            }
        }
        *finished
    }

    fn set_finished(&self) {
        *self.finished.lock() = true;
        self.ended.notify_all();
    }
}

/// Held by the listener thread for its whole life: dropping it (the thread's last act,
/// also when it unwinds) tells [`Stop::wait_finished`] that the thread has ended.
pub(super) struct Finished<'a>(pub(super) &'a Stop);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.set_finished();
    }
}

/// Starts a listener thread named `name` (on a `stack` of that many bytes when given) that
/// runs `body` holding [`Finished`], so [`Stop::wait_finished`] learns when it has ended:
/// the one way both kinds of listener start their thread.
pub(super) fn start_thread(
    name: String,
    stack: Option<usize>,
    stop: &Arc<Stop>,
    body: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>> {
    let ended = Arc::clone(stop);
    let mut thread = std::thread::Builder::new().name(name);
    if let Some(bytes) = stack {
        thread = thread.stack_size(bytes);
    }
    thread
        .spawn(move || {
            let _finished = Finished(&ended);
            body();
        })
        .map_err(|source| Error::Io {
            operation: "starting the IDLE listener thread".into(),
            source,
        })
}
