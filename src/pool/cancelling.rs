//! How a [`Cancel`] reaches a caller waiting in an account's line: it wakes the wait, and
//! the waiter, checking the token on every wake-up, leaves the line with the error (logged
//! at debug: the caller asked for it, it is no failure).

use std::sync::Arc;

use super::{Manage, Shared};
use crate::cancel::{Cancel, Watch};
use crate::error::{Error, Result};

use super::{LOG, ReuseKey};

/// What a cancelled checkout is doing, as its error says.
const WAITING: &str = "waiting for a pooled connection";

/// [`Error::Cancelled`](crate::Error::Cancelled) when the checkout's token is cancelled.
/// Called under the pool's lock, which the wake-up takes too, so a cancel can never fall
/// between a waiter's check and its sleep.
pub(super) fn check(cancel: Option<&Cancel>) -> Result<()> {
    cancel.map_or(Ok(()), |cancel| cancel.check(WAITING))
}

/// Fails at once when the token is already cancelled; else a watch that, on cancel,
/// wakes every waiter of the pool (each checks its own token). Registered before the
/// checkout takes the pool's lock and dropped after it released it, since the wake-up
/// takes that lock.
pub(super) fn wake_on_cancel<M: Manage>(
    shared: &Arc<Shared<M>>,
    cancel: Option<&Cancel>,
) -> Result<Option<Watch>> {
    let Some(cancel) = cancel else {
        return Ok(None);
    };
    cancel.check(WAITING)?;
    let shared = Arc::clone(shared);
    Ok(Some(cancel.on_cancel(move || {
        let _state = shared.state.lock();
        shared.cond.notify_all();
    })))
}

/// Logs a failed checkout or connect: a warning, except for a cancel the caller asked for
/// (debug).
pub(super) fn log_failure(key: &ReuseKey, e: &Error, what: &str) {
    if matches!(e, Error::Cancelled { .. }) {
        log::debug!(target: LOG, "{key}: {what}{e}");
    } else {
        log::warn!(target: LOG, "{key}: {what}{e}");
    }
}
