//! The deadline of one server turn: from the moment a command is sent until its answer is
//! complete.
//!
//! The rule (documented on [`Limits::min_transfer_rate`](crate::Limits::min_transfer_rate)):
//! the answer completes within the read timeout `T`, or, when it takes longer, keeps
//! arriving at the minimum rate `R` averaged over each window of `T` — at least `R × T`
//! bytes in every window. A server that trickles one byte before each timeout fails at
//! the end of the first window; a large message on a real link keeps its windows full and
//! arrives. The bytes of every response of the turn count (a command answered by endless
//! slow untagged lines is one trickle, not many fast responses). The rule does not depend
//! on how reads happen to be split: the windows are fixed from the start of the turn.

use std::time::{Duration, Instant};

/// Windows of a read timeout, each of which must bring a minimum number of bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TurnClock {
    window: Duration,
    /// Bytes each window must bring for the turn to go on past it.
    per_window: u64,
    window_end: Instant,
    in_window: u64,
}

impl TurnClock {
    /// A turn starting now, with windows of `timeout` and a minimum average `rate`.
    pub(crate) fn start(timeout: Duration, rate: u64) -> TurnClock {
        let per_window = u64::try_from(u128::from(rate).saturating_mul(timeout.as_millis()) / 1000)
            .unwrap_or(u64::MAX)
            .max(1);
        TurnClock {
            window: timeout,
            per_window,
            window_end: later(Instant::now(), timeout),
            in_window: 0,
        }
    }

    /// Starts the turn again now (the client just finished sending).
    pub(crate) fn restart(&mut self) {
        self.window_end = later(Instant::now(), self.window);
        self.in_window = 0;
    }

    /// The instant the current read must end by.
    pub(crate) fn deadline(&self) -> Instant {
        self.window_end
    }

    /// Counts `n` bytes received; false when the turn has run out (see [`roll`](Self::roll)).
    pub(crate) fn record(&mut self, n: usize) -> bool {
        self.in_window = self.in_window.saturating_add(n as u64);
        self.roll(Instant::now())
    }

    /// Moves past every window that ended by `now`; false when one of them brought fewer
    /// bytes than the rate asks (the turn has then run out).
    pub(crate) fn roll(&mut self, now: Instant) -> bool {
        while now >= self.window_end {
            if self.in_window < self.per_window {
                return false;
            }
            self.in_window = 0;
            self.window_end = later(self.window_end, self.window);
        }
        true
    }

    /// The bytes each window must bring.
    pub(crate) fn per_window(&self) -> u64 {
        self.per_window
    }

    /// The window length (the read timeout).
    pub(crate) fn window(&self) -> Duration {
        self.window
    }
}

fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_without_enough_bytes_ends_the_turn() {
        let mut clock = TurnClock::start(Duration::from_millis(50), 1000);
        assert_eq!(clock.per_window(), 50);
        assert!(clock.record(10));
        let end = clock.deadline();
        assert!(!clock.roll(end), "10 bytes in a window that needs 50");
    }

    #[test]
    fn full_windows_go_on_and_an_empty_one_stops() {
        let mut clock = TurnClock::start(Duration::from_millis(50), 1000);
        let first = clock.deadline();
        assert!(clock.record(60));
        assert!(clock.roll(first), "the first window brought enough");
        assert_eq!(clock.deadline(), first + Duration::from_millis(50));
        assert!(!clock.roll(clock.deadline()), "the second brought nothing");
    }

    #[test]
    fn several_windows_passing_at_once_need_bytes_in_each() {
        let mut clock = TurnClock::start(Duration::from_millis(10), 1000);
        assert!(clock.record(100));
        let much_later = clock.deadline() + Duration::from_millis(25);
        assert!(!clock.roll(much_later));
    }
}
