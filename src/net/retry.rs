//! Retrying transient failures with exponential backoff (longer when the server said
//! "too many / too fast": its [`retry_after`](Error::retry_after) hint, capped by the
//! policy's `max_delay`).
//!
//! The only user of the `backoff` crate in mailwire (it is unmaintained, RUSTSEC-2025-0012:
//! keeping it behind this one function keeps a replacement cheap).

use std::time::Duration;

use backoff::backoff::Backoff;

use crate::config::RetryPolicy;
use crate::error::{Error, Result};

/// Jitter applied to each delay: ±25 %.
const RANDOMIZATION: f64 = 0.25;

/// The delays between attempts under a policy: exponential, capped, with jitter. Used by
/// [`retry`] and by long-running reconnect loops (the IDLE listener) that must stay
/// interruptible while they wait.
pub(crate) struct Delays {
    inner: backoff::ExponentialBackoff,
    max: Duration,
}

impl Delays {
    pub(crate) fn new(policy: &RetryPolicy) -> Delays {
        let mut inner = backoff::ExponentialBackoff {
            current_interval: policy.initial_delay,
            initial_interval: policy.initial_delay,
            randomization_factor: RANDOMIZATION,
            multiplier: policy.multiplier,
            max_interval: policy.max_delay,
            max_elapsed_time: None,
            ..backoff::ExponentialBackoff::default()
        };
        inner.reset();
        Delays {
            inner,
            max: policy.max_delay,
        }
    }

    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.inner.next_backoff().unwrap_or(self.max)
    }

    /// The delay before the attempt after one that failed with `error`: the next delay, or
    /// the server's [`retry_after`](Error::retry_after) hint when that is longer, never
    /// longer than the policy's `max_delay`.
    pub(crate) fn after(&mut self, error: &Error) -> Duration {
        let delay = self.next_delay();
        error
            .retry_after()
            .map_or(delay, |hint| delay.max(hint.min(self.max)))
    }

    /// Starts over from the initial delay (after a success).
    pub(crate) fn reset(&mut self) {
        self.inner.reset();
    }
}

/// Runs `op` until it succeeds, fails with an error that is not transient, or has been tried
/// `policy.max_attempts` times. `op` receives the attempt number, from 1. Each failed attempt
/// is logged at debug level with `id` and `what`.
pub(crate) fn retry<T>(
    policy: &RetryPolicy,
    id: &str,
    what: &str,
    mut op: impl FnMut(u32) -> Result<T>,
) -> Result<T> {
    let mut delays = Delays::new(policy);
    let mut attempt = 1;
    loop {
        match op(attempt) {
            Ok(value) => {
                if attempt > 1 {
                    log::debug!(target: "mailwire::net", "[{id}] {what} succeeded on attempt {attempt}");
                }
                return Ok(value);
            }
            Err(e) if e.is_transient() && attempt < policy.max_attempts => {
                let delay = delays.after(&e);
                log::debug!(
                    target: "mailwire::net",
                    "[{id}] {what}: attempt {attempt} of {} failed: {e}; retrying in {:?}",
                    policy.max_attempts,
                    round_ms(delay)
                );
                std::thread::sleep(delay);
                attempt += 1;
            }
            Err(e) => {
                log::debug!(
                    target: "mailwire::net",
                    "[{id}] {what}: attempt {attempt} of {} failed: {e}; {}",
                    policy.max_attempts,
                    if e.is_transient() { "no attempts left" } else { "not retrying (permanent)" }
                );
                return Err(e);
            }
        }
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().try_into().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServerStatus;
    use std::time::Instant;

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy::new(attempts, Duration::from_millis(20))
            .with_max_delay(Duration::from_millis(50))
    }

    fn closed() -> Error {
        Error::Closed {
            context: "test".into(),
        }
    }

    #[test]
    fn retries_transient_until_success() {
        let mut calls = 0;
        let r = retry(&policy(3), "t#1", "connecting", |n| {
            calls += 1;
            assert_eq!(n, calls);
            if n < 3 { Err(closed()) } else { Ok(n) }
        });
        assert_eq!(r.unwrap(), 3);
        assert_eq!(calls, 3);
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let mut calls = 0;
        let started = Instant::now();
        let r: Result<()> = retry(&policy(3), "t#2", "connecting", |_| {
            calls += 1;
            Err(closed())
        });
        assert!(matches!(r, Err(Error::Closed { .. })));
        assert_eq!(calls, 3);
        // two delays of about 20 ms and 40 ms (±25 %)
        assert!(
            started.elapsed() >= Duration::from_millis(40),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn delays_grow_by_the_multiplier_within_the_jitter_and_stop_at_the_cap() {
        let policy = RetryPolicy::new(10, Duration::from_millis(100))
            .with_multiplier(2.0)
            .with_max_delay(Duration::from_millis(1000));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            let mut delays = Delays::new(&policy);
            let mut nominal = 100.0f64;
            for _ in 0..8 {
                let d = delays.next_delay().as_secs_f64() * 1000.0;
                let expected = nominal.min(1000.0);
                assert!(
                    d >= expected * 0.75 - 1.0 && d <= expected * 1.25 + 1.0,
                    "{d} ms, expected {expected} ± 25 %"
                );
                // Never beyond the cap plus its jitter.
                assert!(d <= 1250.0 + 1.0, "{d} ms");
                seen.insert(d as u64);
                nominal *= 2.0;
            }
            delays.reset();
            let first = delays.next_delay().as_secs_f64() * 1000.0;
            assert!((74.0..=126.0).contains(&first), "after reset: {first} ms");
        }
        assert!(seen.len() > 20, "the delays are randomised: {seen:?}");
    }

    #[test]
    fn a_throttled_attempt_waits_the_hint_capped_by_max_delay() {
        let throttled = || Error::Server {
            status: ServerStatus::No,
            command: "LOGIN".into(),
            code: Some("ALERT".into()),
            text: "Too many simultaneous connections. (Failure)".into(),
        };
        // The hint (30 s) is capped at max_delay (200 ms); without it the delay is ~10 ms.
        let policy = RetryPolicy::new(3, Duration::from_millis(10))
            .with_max_delay(Duration::from_millis(200));
        let mut delays = Delays::new(&policy);
        assert_eq!(delays.after(&throttled()), Duration::from_millis(200));
        assert!(delays.after(&closed()) <= Duration::from_millis(250));
        let started = Instant::now();
        let mut calls = 0;
        let r = retry(&policy, "t#4", "logging in", |n| {
            calls += 1;
            if n < 3 { Err(throttled()) } else { Ok(()) }
        });
        assert!(r.is_ok());
        assert_eq!(calls, 3);
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn never_retries_permanent_errors() {
        let mut calls = 0;
        let r: Result<()> = retry(&policy(5), "t#3", "logging in", |_| {
            calls += 1;
            Err(Error::Auth {
                mechanism: "LOGIN".into(),
                text: "bad".into(),
            })
        });
        assert!(matches!(r, Err(Error::Auth { .. })));
        assert_eq!(calls, 1);
    }
}
