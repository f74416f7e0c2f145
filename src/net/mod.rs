//! Transport: TCP and TLS streams, deadlines, STARTTLS, bounded line reading, the wire trace
//! and connection retry. Below the IMAP and POP3 sessions; knows nothing of either protocol.

pub(crate) mod clock;
pub(crate) mod memory;
pub(crate) mod retry;
pub(crate) mod socket;
pub(crate) mod stream;
pub(crate) mod transport;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Config, Protocol};
use crate::error::Result;

pub(crate) use transport::Transport;

/// The longest a closing LOGOUT / QUIT (in `close`, `logout` and every `Drop`) may take,
/// whatever the server does.
pub(crate) const CLOSING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new connection id for log lines: `imap#7`, `pop3#8`, …
pub(crate) fn next_connection_id(protocol: Protocol) -> String {
    format!("{protocol}#{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// Connects and runs `greet` (read the greeting, upgrade with STARTTLS, …) on the new
/// transport, retrying the whole sequence on transient failures per the config's retry
/// policy. Returns what `greet` returns.
pub(crate) fn connect_with_retry<T>(
    config: &Config,
    protocol: Protocol,
    id: &str,
    mut greet: impl FnMut(Transport) -> Result<T>,
) -> Result<T> {
    let what = format!("connecting to {}", config.account_label(protocol));
    retry::retry(&config.retry(), id, &what, |_| {
        let transport = Transport::connect(config, protocol, id)?;
        greet(transport)
    })
}

#[cfg(test)]
mod tests;
