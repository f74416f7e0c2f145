//! Transport: connecting (a chain of steps in `connect/`: resolve, TCP, TLS, STARTTLS), the
//! stream and its deadlines, bounded line reading, the wire trace and connection retry. Below
//! the IMAP and POP3 sessions; knows nothing of either protocol.

pub(crate) mod buffer;
pub(crate) mod clock;
pub(crate) mod connect;
pub(crate) mod memory;
pub(crate) mod peek;
pub(crate) mod probe;
pub(crate) mod quickack;
pub(crate) mod retry;
pub(crate) mod socket;
pub(crate) mod sockopt;
pub(crate) mod stream;
pub(crate) mod transport;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Protocol;

pub(crate) use connect::connect_with_retry;
pub(crate) use transport::Transport;

/// The longest a closing LOGOUT / QUIT (in `close`, `logout` and every `Drop`) may take,
/// whatever the server does.
pub(crate) const CLOSING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new connection id for log lines: `imap#7`, `pop3#8`, …
pub(crate) fn next_connection_id(protocol: Protocol) -> String {
    format!("{protocol}#{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests;
