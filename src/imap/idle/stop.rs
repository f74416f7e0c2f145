//! How the handle stops the listener thread: a flag, a wake-up for its sleeps, and the
//! shutdown handle of its current connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

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
}

impl Stop {
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
    }

    /// Records the connection the worker uses now (cut at once if a stop came first).
    pub(super) fn watch_socket(&self, handle: ShutdownHandle) {
        let mut socket = self.socket.lock();
        if self.requested() {
            handle.shutdown();
        }
        *socket = Some(handle);
    }

    /// Sleeps `d`, or less when a stop is requested.
    pub(super) fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut socket = self.socket.lock();
        while !self.requested() && Instant::now() < until {
            let _ = self.wake.wait_until(&mut socket, until);
        }
    }
}
