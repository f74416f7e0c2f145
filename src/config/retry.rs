//! [`RetryPolicy`]: how failed connection attempts are retried.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::setters::setters;

/// How failed connection attempts are retried: exponential backoff with jitter, transient
/// errors only (see [`Error::is_transient`]).
///
/// The delay before attempt *n + 1* is `initial_delay × multiplierⁿ⁻¹`, capped at
/// `max_delay`, randomised by ±25 %.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many attempts in all (1 = no retry). Default 3.
    pub max_attempts: u32,
    /// The delay before the second attempt. Default 1 s.
    pub initial_delay: Duration,
    /// The longest delay between two attempts. Default 30 s.
    pub max_delay: Duration,
    /// How much each delay grows. Default 2.0.
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// A policy that makes a single attempt.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// A policy of `max_attempts` attempts with the given initial delay (other fields
    /// default).
    pub fn new(max_attempts: u32, initial_delay: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_delay,
            ..RetryPolicy::default()
        }
    }

    setters! {
        /// Sets the longest delay.
        #[must_use]
        pub fn with_max_delay(max_delay: Duration) -> RetryPolicy { self.max_delay = max_delay }

        /// Sets the growth factor.
        #[must_use]
        pub fn with_multiplier(multiplier: f64) -> RetryPolicy { self.multiplier = multiplier }
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::invalid(
                "retry policy",
                "max_attempts must be at least 1",
            ));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(Error::invalid(
                "retry policy",
                format!(
                    "multiplier must be a finite number >= 1.0, got {}",
                    self.multiplier
                ),
            ));
        }
        if self.initial_delay > self.max_delay {
            return Err(Error::invalid(
                "retry policy",
                format!(
                    "initial_delay ({:?}) is longer than max_delay ({:?})",
                    self.initial_delay, self.max_delay
                ),
            ));
        }
        Ok(())
    }
}
