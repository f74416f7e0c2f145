//! An account's throttle backoff: after the server said "too many / too fast, later", no new
//! connection for the account until the hint has passed (doubling on repeats, capped), then
//! one probe at a time; a successful connect ends it.

use std::time::{Duration, Instant};

use crate::error::Error;

/// The backoff of one account, held under the pool's lock while the account is throttled.
pub(super) struct Backoff {
    /// No new connection before this.
    pub(super) until: Instant,
    /// How many throttled probes in a row (0 after the first throttling answer).
    step: u32,
    /// A connect that started after the wait passed is under way: nobody else opens one.
    probing: bool,
    /// The server's answer, handed to callers whose deadline ends before `until`.
    error: Error,
}

/// Whether a caller may open a connection for the account now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    /// Not throttled: connect as usual.
    Open,
    /// Throttled, the wait has passed: connect as the one probe.
    Probe,
    /// Throttled: wait (until the time, or for the probe to end when `None`).
    Closed(Option<Instant>),
}

/// `hint × 2^step`, at most `cap` (and at least 10 ms, so that a zero hint cannot spin).
fn delay(hint: Duration, step: u32, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(step.min(16)).unwrap_or(u32::MAX);
    hint.checked_mul(factor)
        .unwrap_or(cap)
        .min(cap)
        .max(Duration::from_millis(10))
}

impl Backoff {
    /// What `slot` (the account's backoff, if any) allows at `now`; takes the probe when it
    /// grants it.
    pub(super) fn gate(slot: &mut Option<Backoff>, now: Instant) -> Gate {
        match slot {
            None => Gate::Open,
            Some(b) if b.probing => Gate::Closed(None),
            Some(b) if now < b.until => Gate::Closed(Some(b.until)),
            Some(b) => {
                b.probing = true;
                Gate::Probe
            }
        }
    }

    /// Records a connect that failed with `error`, started as the probe or not. A throttling
    /// answer starts the backoff or, from the probe, doubles it; an answer from a connect
    /// that was already under way when the backoff began changes nothing. Returns the wait
    /// when the backoff started or grew.
    pub(super) fn failed(
        slot: &mut Option<Backoff>,
        error: &Error,
        probe: bool,
        now: Instant,
        cap: Duration,
    ) -> Option<Duration> {
        let Some((hint, copy)) = error.retry_after().zip(error.throttle_copy()) else {
            if let Some(b) = slot.as_mut().filter(|_| probe) {
                // Another kind of failure: let the next caller probe.
                b.probing = false;
            }
            return None;
        };
        let step = match slot {
            None => 0,
            Some(b) if probe => b.step.saturating_add(1),
            Some(_) => return None,
        };
        let wait = delay(hint, step, cap);
        *slot = Some(Backoff {
            until: now.checked_add(wait).unwrap_or(now),
            step,
            probing: false,
            error: copy,
        });
        Some(wait)
    }

    /// A copy of the answer that started the backoff, when `slot` holds one.
    pub(super) fn error(slot: &Option<Backoff>) -> Option<Error> {
        slot.as_ref().and_then(|b| b.error.throttle_copy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServerStatus;

    fn too_many() -> Error {
        Error::Server {
            status: ServerStatus::No,
            command: "LOGIN".into(),
            code: Some("ALERT".into()),
            text: "Too many simultaneous connections. (Failure)".into(),
        }
    }

    const CAP: Duration = Duration::from_secs(120);

    #[test]
    fn doubles_from_the_hint_on_each_throttled_probe_up_to_the_cap_and_ends_on_success() {
        let t0 = Instant::now();
        let mut slot = None;
        assert_eq!(Backoff::gate(&mut slot, t0), Gate::Open);
        let wait = Backoff::failed(&mut slot, &too_many(), false, t0, CAP);
        assert_eq!(wait, Some(Duration::from_secs(30)));
        // A connect already under way when the backoff began changes nothing.
        assert_eq!(
            Backoff::failed(&mut slot, &too_many(), false, t0, CAP),
            None
        );
        let until = t0 + Duration::from_secs(30);
        assert_eq!(Backoff::gate(&mut slot, t0), Gate::Closed(Some(until)));
        assert_eq!(Backoff::gate(&mut slot, until), Gate::Probe);
        // One probe at a time.
        assert_eq!(Backoff::gate(&mut slot, until), Gate::Closed(None));
        let mut now = until;
        for expected in [60, 120, 120] {
            let wait = Backoff::failed(&mut slot, &too_many(), true, now, CAP);
            assert_eq!(wait, Some(Duration::from_secs(expected)));
            now += Duration::from_secs(expected);
            assert_eq!(Backoff::gate(&mut slot, now), Gate::Probe);
        }
        assert!(Backoff::error(&slot).is_some_and(|e| e.is_transient()));
        // A failure of another kind releases the probe but keeps the backoff.
        let closed = Error::Closed {
            context: "test".into(),
        };
        assert_eq!(Backoff::failed(&mut slot, &closed, true, now, CAP), None);
        assert_eq!(Backoff::gate(&mut slot, now), Gate::Probe);
    }

    #[test]
    fn delays_are_bounded() {
        assert_eq!(delay(Duration::from_secs(30), 40, CAP), CAP);
        assert_eq!(delay(Duration::ZERO, 0, CAP), Duration::from_millis(10));
        assert_eq!(
            delay(Duration::MAX, 0, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
