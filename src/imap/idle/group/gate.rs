//! The group's connect gate: at most `max_concurrent_connects` of its listeners connect at
//! once — the first connect in `add` and every reconnect after a fault alike (the listener
//! takes a permit around each connect: `Worker::permit` in `idle/run.rs`).

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// The group's connect semaphore: at most `max` listeners connect at once.
pub(in crate::imap::idle) struct Gate {
    max: usize,
    state: Mutex<GateState>,
    freed: Condvar,
}

#[derive(Default)]
struct GateState {
    in_flight: usize,
    peak: usize,
    /// Permits given so far (first connects and reconnects).
    granted: u64,
    closed: bool,
}

/// What the gate did so far: (connecting now, the most at once, permits given).
pub(in crate::imap::idle) struct GateCounts {
    pub(in crate::imap::idle) in_flight: usize,
    pub(in crate::imap::idle) peak: usize,
    pub(in crate::imap::idle) granted: u64,
}

/// A connect permit, given back when dropped (also when the connect panics).
pub(in crate::imap::idle) struct Permit(Arc<Gate>);

impl Gate {
    pub(in crate::imap::idle) fn new(max: usize) -> Arc<Gate> {
        Arc::new(Gate {
            max,
            state: Mutex::new(GateState::default()),
            freed: Condvar::new(),
        })
    }

    /// How many may connect at once.
    pub(in crate::imap::idle) fn max(&self) -> usize {
        self.max
    }

    /// Waits for a permit: until one is free, the group stops or `cancelled()` says the
    /// waiter is being stopped (both `None`; a stop calls [`wake`](Self::wake) so that
    /// the waiter looks again). Each holder is bounded by its connect's own deadlines, so
    /// the wait is too; nothing ticks while it waits.
    pub(in crate::imap::idle) fn enter(
        self: &Arc<Self>,
        cancelled: &dyn Fn() -> bool,
    ) -> Option<Permit> {
        let mut state = self.state.lock();
        loop {
            if state.closed {
                return None;
            }
            if cancelled() {
                // A permit freed for this waiter goes on to the next one.
                if state.in_flight < self.max {
                    self.freed.notify_one();
                }
                return None;
            }
            if state.in_flight < self.max {
                break;
            }
            self.freed.wait(&mut state);
        }
        state.in_flight += 1;
        state.granted = state.granted.saturating_add(1);
        state.peak = state.peak.max(state.in_flight);
        Some(Permit(Arc::clone(self)))
    }

    /// Wakes every waiter to look at its `cancelled` again (a listener is being stopped).
    pub(in crate::imap::idle) fn wake(&self) {
        let _state = self.state.lock();
        self.freed.notify_all();
    }

    /// No permit is given any more: every waiter, now and later, gets `None`.
    pub(in crate::imap::idle) fn close(&self) {
        self.state.lock().closed = true;
        self.freed.notify_all();
    }

    pub(in crate::imap::idle) fn counts(&self) -> GateCounts {
        let state = self.state.lock();
        GateCounts {
            in_flight: state.in_flight,
            peak: state.peak,
            granted: state.granted,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_gate_holds_at_most_its_permits_and_closing_wakes_the_waiters() {
        let gate = Gate::new(2);
        let never = || false;
        let a = gate.enter(&never);
        let b = gate.enter(&never);
        assert!(a.is_some() && b.is_some());
        let waiter = {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || gate.enter(&|| false).is_some())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "a third permit was given");
        drop(a);
        assert!(
            waiter.join().unwrap_or(false),
            "a freed permit is handed on"
        );
        let c = gate.enter(&never);
        assert!(c.is_some());
        let waiter = {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || gate.enter(&|| false).is_none())
        };
        std::thread::sleep(Duration::from_millis(20));
        gate.close();
        assert!(waiter.join().unwrap_or(false), "closing wakes a waiter");
        drop((b, c));
        let counts = gate.counts();
        assert_eq!((counts.peak, counts.in_flight, counts.granted), (2, 0, 4));
    }

    #[test]
    fn a_cancelled_waiter_leaves_and_hands_a_freed_permit_on() {
        let gate = Gate::new(1);
        let held = gate.enter(&|| false);
        assert!(held.is_some());
        let stop = Arc::new(AtomicBool::new(false));
        let cancelled_waiter = {
            let (gate, stop) = (Arc::clone(&gate), Arc::clone(&stop));
            std::thread::spawn(move || gate.enter(&|| stop.load(Ordering::SeqCst)).is_none())
        };
        let other = {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || gate.enter(&|| false).is_some())
        };
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::SeqCst);
        gate.wake();
        assert!(
            cancelled_waiter.join().unwrap_or(false),
            "a stop ends the wait without a permit"
        );
        assert!(!other.is_finished(), "only one permit");
        drop(held);
        assert!(
            other.join().unwrap_or(false),
            "the freed permit reaches the other waiter"
        );
    }
}
