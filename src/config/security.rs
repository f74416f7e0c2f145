//! Which protocol a config is used with and how its connection is secured: the two choices
//! that decide the default port.

use std::fmt;

#[cfg(doc)]
use super::Config;
use crate::error::{Error, Result};

/// The protocol a [`Config`] is used with; it decides the default port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// IMAP4rev1 / IMAP4rev2.
    Imap,
    /// POP3.
    Pop3,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
        })
    }
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Security {
    /// TLS from the first byte (IMAPS on 993, POP3S on 995). The default.
    #[default]
    Tls,
    /// A plaintext connection upgraded with `STARTTLS` / `STLS` before anything else is
    /// sent (143 / 110). Fails if the server does not offer the upgrade; never falls back.
    StartTls,
    /// No encryption at all. Credentials cross the network readable: use only on loopback
    /// or a trusted network.
    ///
    /// `Plain` and [`StartTls`](Self::StartTls) expect a plaintext greeting. Against a port
    /// that speaks TLS from the first byte (993, 995), which waits silently for a TLS hello,
    /// the connect sends one probe line when no greeting has come within 1.5 s (at most half
    /// the read timeout); a TLS alert record or a prompt close in answer fails the connect with a
    /// non-transient [`Error::InvalidInput`](crate::Error::InvalidInput) naming the fix
    /// (use `Tls`, or the plaintext port), never retried. A plaintext server that greets
    /// late reads the probe as one command after its greeting, and its answer is dropped.
    Plain,
}

impl Security {
    /// The standard port for this security mode and protocol.
    pub fn default_port(self, protocol: Protocol) -> u16 {
        match (protocol, self) {
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, _) => 143,
            (Protocol::Pop3, Security::Tls) => 995,
            (Protocol::Pop3, _) => 110,
        }
    }
}

impl fmt::Display for Security {
    /// `tls`, `starttls` or `plain`: the form [`FromStr`](std::str::FromStr) reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
            Security::Plain => "plain",
        })
    }
}

impl std::str::FromStr for Security {
    type Err = Error;

    /// Parses `tls`, `ssl`, `starttls` or `plain` (any case).
    fn from_str(s: &str) -> Result<Security> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" | "ssl" | "imaps" | "pop3s" => Ok(Security::Tls),
            "starttls" | "stls" => Ok(Security::StartTls),
            "plain" | "none" | "insecure" => Ok(Security::Plain),
            other => Err(Error::invalid(
                "security",
                format!("{other:?} is not one of tls, starttls, plain"),
            )),
        }
    }
}
