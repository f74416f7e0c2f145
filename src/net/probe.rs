//! Telling a port that speaks TLS from the first byte from a slow plaintext greeting: after
//! a short silence one probe line is sent, and a TLS alert record or a close in answer
//! means implicit TLS (a configuration error, never transient), not a slow server.
//!
//! A TLS server waits silently for the client's hello; bytes that are not a TLS record make
//! it answer with an alert (`0x15 0x03 …`) or hang up. A plaintext server that greets late
//! reads the probe as a command after its greeting: the session then reads and drops the
//! probe's answer. No port number is looked at.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::net::Transport;

/// How long the greeting may keep silent before the probe is sent (at most half the read
/// timeout).
const QUIET: Duration = Duration::from_millis(1500);

/// How soon after the probe a close counts as a TLS server's answer.
const PROMPT: Duration = Duration::from_secs(1);

/// TLS record types a TLS server answers with: alert, handshake.
const TLS_RECORDS: [u8; 2] = [0x15, 0x16];

/// What the wait for a plaintext greeting saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Greeting {
    /// Bytes arrived (or are not awaited here): read the greeting as usual.
    Arrived,
    /// Bytes arrived after the probe was sent: after the greeting, the session reads and
    /// drops the server's answer to the probe.
    AfterProbe,
}

/// Waits for the first bytes of a plaintext greeting on a connecting transport. If none
/// come within [`QUIET`], sends `probe` (traced as `trace`) and waits on: a TLS record in
/// answer, or a close within [`PROMPT`], is [`Error::InvalidInput`] naming the fix (`fix`,
/// the protocol's words); a later close is the usual transient [`Error::Closed`], silence
/// until the deadline the usual transient [`Error::Timeout`].
///
/// Only while connecting (a transport with a connect deadline, plaintext, nothing
/// buffered yet); otherwise returns [`Greeting::Arrived`] at once.
pub(crate) fn await_plain_greeting(
    t: &mut Transport,
    probe: &[u8],
    trace: &str,
    fix: &str,
) -> Result<Greeting> {
    const WAITING: &str = "waiting for the greeting";
    if t.is_tls() || !t.buffered().is_empty() {
        return Ok(Greeting::Arrived);
    }
    let Some(bound) = t.connect_deadline() else {
        return Ok(Greeting::Arrived);
    };
    let quiet = QUIET.min(t.read_timeout() / 2);
    let probe_at = Instant::now() + quiet;
    if probe_at >= bound {
        return Ok(Greeting::Arrived);
    }
    match t.fill_until(Some(probe_at), WAITING) {
        Ok(_) => return Ok(Greeting::Arrived),
        Err(Error::Timeout { .. }) => {}
        Err(e) => return Err(e),
    }
    log::debug!(target: "mailwire::net", "[{}] no greeting within {quiet:?}; probing whether the port speaks TLS", t.id());
    t.send(probe, trace)?;
    // A TLS server answers at once; a close later than that is a server in trouble (a
    // transient `Closed`, as without the probe), not evidence of TLS.
    let prompt = Instant::now() + PROMPT;
    let arrived = match t.fill_until(Some(prompt), WAITING) {
        Err(Error::Closed { .. }) => {
            return Err(tls_port(t.host(), quiet, "by closing the connection", fix));
        }
        Err(Error::Timeout { .. }) => t.fill(WAITING),
        other => other,
    };
    arrived?;
    let first = t.buffered();
    let record = first.first().is_some_and(|b| TLS_RECORDS.contains(b))
        && first.get(1).is_none_or(|&v| v == 0x03);
    if record {
        t.shutdown();
        return Err(tls_port(t.host(), quiet, "with a TLS record", fix));
    }
    Ok(Greeting::AfterProbe)
}

/// The error for a port that answered the probe as a TLS server does.
fn tls_port(host: &str, quiet: Duration, answer: &str, fix: &str) -> Error {
    log::debug!(target: "mailwire::net", "the server at {host} answered the plaintext probe {answer}: implicit TLS");
    Error::invalid(
        "security setting",
        format!(
            "the server at {host} sent no greeting within {quiet:?} and answered a plaintext probe {answer}, as a TLS server does: this port speaks TLS from the first byte (implicit TLS), so a plaintext Security cannot work here; {fix}"
        ),
    )
}
