//! The one error type of the crate.
//!
//! Every fallible call in mailwire returns [`Result<T>`](crate::Result), whose error is
//! [`Error`]. Its messages say what happened and what to check; [`Error::is_transient`]
//! tells whether trying again may help (the retry module uses it and nothing else).

use std::fmt;
use std::io;
use std::time::Duration;

/// Shorthand for `std::result::Result<T, mailwire::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which status a server answered with when it refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerStatus {
    /// IMAP `NO`: the command was understood but failed.
    No,
    /// IMAP `BAD`: the server did not accept the command's syntax or state.
    Bad,
    /// IMAP `BYE`: the server is closing the connection.
    Bye,
    /// POP3 `-ERR`.
    Err,
}

impl fmt::Display for ServerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerStatus::No => "NO",
            ServerStatus::Bad => "BAD",
            ServerStatus::Bye => "BYE",
            ServerStatus::Err => "-ERR",
        })
    }
}

/// Everything that can go wrong in mailwire.
///
/// The variants carry what a caller needs to decide and to tell a person: the operation, the
/// server's own text, the limit that was hit. Match on them where the reaction differs (an
/// [`Error::Auth`] wants new credentials, a transient error a later retry); otherwise the
/// `Display` text is written for the person reading the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host name could not be resolved.
    #[error("could not resolve host {host:?}: {source}; check the host name and the DNS setup")]
    Dns {
        /// The host that was looked up.
        host: String,
        /// What the resolver said.
        #[source]
        source: io::Error,
    },

    /// No TCP connection could be opened to any address of the host.
    #[error(
        "could not connect to {host}:{port}: {source}; check the host, the port and that the server is reachable"
    )]
    Connect {
        /// The host connected to.
        host: String,
        /// The port connected to.
        port: u16,
        /// The error of the last address tried.
        #[source]
        source: io::Error,
    },

    /// Reading from or writing to an established connection failed.
    #[error("I/O error while {operation}: {source}")]
    Io {
        /// What was being done (e.g. "reading a response").
        operation: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The TLS handshake or the TLS setup failed.
    #[error(
        "TLS error with {host}: {message}; check the server's certificate, the host name it was issued for, and any extra root certificate configured"
    )]
    Tls {
        /// The host the handshake was with.
        host: String,
        /// What the TLS library reported.
        message: String,
    },

    /// An operation did not complete within its deadline.
    #[error(
        "timed out after {after:?} while {operation}; the server is slow or unreachable (the deadline is set in Config)"
    )]
    Timeout {
        /// What was being waited for (e.g. "waiting for the greeting").
        operation: String,
        /// The deadline that passed.
        after: Duration,
    },

    /// The server rejected the credentials. Never retried.
    #[error(
        "authentication failed ({mechanism}): {text}; check the user name and password or token (Gmail and Outlook need an app password or OAuth2)"
    )]
    Auth {
        /// The mechanism that was used (`LOGIN`, `PLAIN`, `XOAUTH2`, `USER/PASS`, …).
        mechanism: String,
        /// The server's text.
        text: String,
    },

    /// The server refused a command with IMAP `NO` / `BAD` / `BYE` or POP3 `-ERR`.
    #[error("server answered {status} to {command}{}: {text}", code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Server {
        /// `NO`, `BAD`, `BYE` or `-ERR`.
        status: ServerStatus,
        /// The command it answered (e.g. `SELECT`), or `greeting`.
        command: String,
        /// The response code in brackets, if any (e.g. `TRYCREATE`, `SYS/TEMP`).
        code: Option<String>,
        /// The human-readable text of the response.
        text: String,
    },

    /// The server sent something that is not valid protocol, or that the client must not
    /// accept (such as bytes injected before a TLS handshake).
    #[error("protocol error: {message} at byte {offset} near {excerpt:?}")]
    Protocol {
        /// What is wrong.
        message: String,
        /// A short excerpt of the offending bytes, escaped.
        excerpt: String,
        /// The offset of the problem in the response or stream.
        offset: usize,
    },

    /// `Security::StartTls` was asked for but the server does not offer it. mailwire never
    /// falls back to plaintext.
    #[error(
        "the server does not offer {command}; refusing to continue without TLS (use Security::Tls on the implicit-TLS port, or Security::Plain only on a trusted network)"
    )]
    StartTlsUnavailable {
        /// `STARTTLS` (IMAP) or `STLS` (POP3).
        command: &'static str,
    },

    /// An argument cannot be used: detected before anything is sent.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was invalid (e.g. "mailbox name", "port").
        what: String,
        /// Why.
        reason: String,
    },

    /// A configured limit was exceeded; the connection is unusable afterwards.
    #[error(
        "{what} exceeds the limit of {limit} bytes; raise it in Config if the server is legitimate"
    )]
    LimitExceeded {
        /// Which limit (e.g. "response line").
        what: String,
        /// The limit in bytes.
        limit: usize,
    },

    /// No pooled connection became free within the acquire deadline.
    #[error(
        "no connection for {account} became free within {waited:?}; all are in use (raise max_per_account or get_timeout)"
    )]
    PoolTimeout {
        /// The account (`user@host:port`).
        account: String,
        /// How long the caller waited.
        waited: Duration,
    },

    /// The folder's UIDVALIDITY changed since this connection last saw it: UIDs the caller
    /// holds for it no longer name the same messages. Reported once; the next call works
    /// with the new UIDs. Resynchronise the folder (see `ImapConnection::sync`).
    #[error(
        "the UIDVALIDITY of {folder:?} changed from {old} to {new}: UIDs from before refer to other messages now; resynchronise the folder"
    )]
    UidValidityChanged {
        /// The folder.
        folder: String,
        /// The UIDVALIDITY seen before.
        old: u32,
        /// The new UIDVALIDITY.
        new: u32,
    },

    /// The connection was closed, by the server or after an earlier fatal error.
    #[error("connection closed {context}")]
    Closed {
        /// When it was noticed (e.g. "by the server while reading a response").
        context: String,
    },
}

impl Error {
    /// Whether trying the same thing again later may succeed.
    ///
    /// True for network failures, timeouts, closed connections, `BYE`, and server answers
    /// whose response code says "temporary" (`UNAVAILABLE`, `INUSE`, `SERVERBUG`, POP3
    /// `SYS/TEMP`, `IN-USE`, `LOGIN-DELAY`). Never true for an authentication failure, bad
    /// input, a TLS verification failure or a protocol violation.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Dns { .. }
            | Error::Connect { .. }
            | Error::Io { .. }
            | Error::Timeout { .. }
            | Error::Closed { .. } => true,
            Error::Server { status, code, .. } => {
                let transient_code = code.as_deref().is_some_and(|c| {
                    let name = c.split_whitespace().next().unwrap_or("");
                    [
                        "UNAVAILABLE",
                        "INUSE",
                        "SERVERBUG",
                        "SYS/TEMP",
                        "IN-USE",
                        "LOGIN-DELAY",
                    ]
                    .iter()
                    .any(|t| name.eq_ignore_ascii_case(t))
                });
                transient_code || *status == ServerStatus::Bye
            }
            Error::Auth { .. }
            | Error::Tls { .. }
            | Error::Protocol { .. }
            | Error::StartTlsUnavailable { .. }
            | Error::InvalidInput { .. }
            | Error::LimitExceeded { .. }
            | Error::PoolTimeout { .. }
            | Error::UidValidityChanged { .. } => false,
        }
    }

    /// Whether the connection that produced this error must be discarded rather than reused.
    ///
    /// A server `NO` or `BAD`, bad input or a pool timeout leave the connection usable; any
    /// transport, protocol or limit failure does not.
    pub fn breaks_connection(&self) -> bool {
        match self {
            Error::Server { status, .. } => *status == ServerStatus::Bye,
            Error::InvalidInput { .. }
            | Error::PoolTimeout { .. }
            | Error::Auth { .. }
            | Error::UidValidityChanged { .. } => false,
            _ => true,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidInput {
            what: what.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn protocol(message: impl Into<String>, bytes: &[u8], offset: usize) -> Error {
        Error::Protocol {
            message: message.into(),
            excerpt: excerpt(bytes, offset),
            offset,
        }
    }

    /// Maps an I/O error to `Timeout` when it is one, `Closed` on EOF, `Io` otherwise.
    pub(crate) fn from_io(source: io::Error, operation: &str, deadline: Duration) -> Error {
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout {
                operation: operation.to_string(),
                after: deadline,
            },
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Error::Closed {
                context: format!("while {operation} ({source})"),
            },
            _ => Error::Io {
                operation: operation.to_string(),
                source,
            },
        }
    }
}

/// Up to 48 bytes around `offset`, escaped so that it is safe to print.
pub(crate) fn excerpt(bytes: &[u8], offset: usize) -> String {
    let start = offset.saturating_sub(16).min(bytes.len());
    let end = offset.saturating_add(32).min(bytes.len());
    escape_bytes(bytes.get(start..end).unwrap_or(&[]))
}

/// Escapes control and non-ASCII bytes (`\r`, `\n`, `\xNN`) for logs and error messages.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_classification() {
        let io = Error::from_io(
            io::Error::from(io::ErrorKind::TimedOut),
            "reading",
            Duration::from_secs(1),
        );
        assert!(matches!(io, Error::Timeout { .. }));
        assert!(io.is_transient());
        let eof = Error::from_io(
            io::Error::from(io::ErrorKind::UnexpectedEof),
            "reading",
            Duration::from_secs(1),
        );
        assert!(matches!(eof, Error::Closed { .. }));
        assert!(eof.is_transient());
        let auth = Error::Auth {
            mechanism: "LOGIN".into(),
            text: "nope".into(),
        };
        assert!(!auth.is_transient());
        let unavailable = Error::Server {
            status: ServerStatus::No,
            command: "LOGIN".into(),
            code: Some("UNAVAILABLE".into()),
            text: "try later".into(),
        };
        assert!(unavailable.is_transient());
        let in_use = Error::Server {
            status: ServerStatus::Err,
            command: "PASS".into(),
            code: Some("in-use".into()),
            text: "locked".into(),
        };
        assert!(in_use.is_transient());
        let trycreate = Error::Server {
            status: ServerStatus::No,
            command: "APPEND".into(),
            code: Some("TRYCREATE".into()),
            text: "no such mailbox".into(),
        };
        assert!(!trycreate.is_transient());
        assert!(!trycreate.breaks_connection());
        assert!(!Error::invalid("port", "0").is_transient());
    }

    #[test]
    fn messages_name_the_problem() {
        let e = Error::Server {
            status: ServerStatus::No,
            command: "SELECT".into(),
            code: Some("NONEXISTENT".into()),
            text: "Mailbox doesn't exist: Nope".into(),
        };
        assert_eq!(
            e.to_string(),
            "server answered NO to SELECT [NONEXISTENT]: Mailbox doesn't exist: Nope"
        );
        let p = Error::protocol("expected CRLF", b"* OK hello\x00world", 10);
        assert!(p.to_string().contains("\\x00"), "{p}");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_bytes(b"a\r\n\xff\\"), "a\\r\\n\\xff\\\\");
        assert_eq!(excerpt(b"abc", 100), "");
    }
}
