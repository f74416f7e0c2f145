//! Mod-sequence arguments (CONDSTORE / QRESYNC, RFC 7162): the range a client may send.

use crate::error::{Error, Result};

/// The largest mod-sequence value (RFC 7162: 63 bits).
pub(super) const MAX_MODSEQ: u64 = i64::MAX as u64;

/// Refuses a mod-sequence outside `1..=2^63-1`; `what` names it in the error.
pub(super) fn check_modseq(v: u64, what: &str) -> Result<u64> {
    if v == 0 || v > MAX_MODSEQ {
        return Err(Error::invalid(
            what,
            format!("mod-sequence {v} is outside 1..=2^63-1"),
        ));
    }
    Ok(v)
}
