//! The one error type of the crate.
//!
//! Every fallible call in mailwire returns [`Result<T>`](crate::Result), whose error is
//! [`Error`]. Its messages say what happened and what to check; [`Error::is_transient`]
//! tells whether trying again may help (the retry module uses it and nothing else),
//! [`Error::retry_hint`] what a worker should do with the job that failed (`retry.rs`),
//! [`Error::is_missing_folder`] whether the folder a call named does not exist.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::throttle::{self, Throttle};

mod retry;

pub use retry::Retry;

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
///
/// **Server text is hostile.** The fields hold what the server sent, as it sent it (a
/// program may match on it). `Display` escapes, in the whole message, every control
/// character (C0 such as ESC, CR, LF, NUL, BEL; DEL; C1 such as CSI), the Unicode line and
/// paragraph separators and the bidirectional-text controls: `\x1b`, `\r`, `\n`, `\t`,
/// `\u{9b}`, … — so an error shown on a terminal or written to a log line cannot move the
/// cursor, recolour the screen, reorder the text or start a forged line. `Debug` escapes
/// them as Rust string literals do. Show the raw fields yourself only after escaping them.
///
/// ```
/// let e = mailwire::Error::Auth {
///     mechanism: "LOGIN".into(),
///     text: "no\x1b[2J\r\nA2 OK forged".into(),
/// };
/// let shown = e.to_string();
/// assert!(shown.contains("no\\x1b[2J\\r\\nA2 OK forged"));
/// assert!(!shown.chars().any(char::is_control));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host name could not be resolved.
    Dns {
        /// The host that was looked up.
        host: String,
        /// What the resolver said.
        #[source]
        source: io::Error,
    },

    /// No TCP connection could be opened to any address of the host: every address (the
    /// resolver's, or those set with
    /// [`ConfigBuilder::resolve`](crate::ConfigBuilder::resolve); at most 16, raced as
    /// RFC 8305 describes) failed before the connect deadline. Its message names each
    /// address tried and why it failed, e.g. `every address failed: [2001:db8::1]:993:
    /// Network is unreachable (os error 101); 192.0.2.1:993: Connection refused (os error
    /// 111)`. When the deadline passed first it is an [`Error::Timeout`] naming them the
    /// same way. Transient.
    Connect {
        /// The host connected to.
        host: String,
        /// The port connected to.
        port: u16,
        /// The kind of the last address's error, with the summary of every address tried.
        #[source]
        source: io::Error,
    },

    /// Reading from or writing to an established connection failed.
    Io {
        /// What was being done (e.g. "reading a response").
        operation: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The TLS handshake or the TLS setup failed.
    Tls {
        /// The host the handshake was with.
        host: String,
        /// What the TLS library reported.
        message: String,
    },

    /// An operation did not complete within its deadline.
    Timeout {
        /// What was being waited for (e.g. "waiting for the greeting").
        operation: String,
        /// The deadline that passed.
        after: Duration,
    },

    /// The server rejected the credentials. Never retried, never transient: a login refused
    /// because of throttling ("too many connections", `UNAVAILABLE`, …) is an
    /// [`Error::Server`] instead (see [`Error::is_transient`]).
    Auth {
        /// The mechanism that was used (`LOGIN`, `PLAIN`, `XOAUTH2`, `USER/PASS`, …).
        mechanism: String,
        /// The server's text.
        text: String,
    },

    /// The server refused a command with IMAP `NO` / `BAD` / `BYE` or POP3 `-ERR`.
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
    StartTlsUnavailable {
        /// `STARTTLS` (IMAP) or `STLS` (POP3).
        command: &'static str,
    },

    /// An argument or setting cannot be used: detected before anything is sent, or, for a
    /// plaintext [`Security`](crate::Security) against a port that speaks TLS from the
    /// first byte, from the server's answer to a probe (see
    /// [`Security::Plain`](crate::Security::Plain)). Never transient.
    InvalidInput {
        /// What was invalid (e.g. "mailbox name", "port").
        what: String,
        /// Why.
        reason: String,
    },

    /// A configured limit was exceeded; the connection is unusable afterwards.
    LimitExceeded {
        /// Which limit (e.g. "response line").
        what: String,
        /// The limit in bytes.
        limit: usize,
    },

    /// No pooled connection became free within the acquire deadline.
    PoolTimeout {
        /// The account (`user@host:port`).
        account: String,
        /// How long the caller waited.
        waited: Duration,
    },

    /// The folder a call named does not exist (see [`Error::is_missing_folder`]): the server
    /// refused a folder-scoped command (`SELECT`, `EXAMINE`, `STATUS`, `APPEND`, `COPY`,
    /// `MOVE`, `DELETE`, `RENAME`) with a code saying so (`NONEXISTENT`, `TRYCREATE`), or
    /// without a code and a `LIST` of the exact name, sent by the same call before it
    /// returned, found no such folder. Not transient; the connection stays usable.
    #[non_exhaustive]
    MissingFolder {
        /// The folder, as the caller named it.
        folder: String,
        /// The command that was refused (e.g. `SELECT`, `UID COPY`).
        command: String,
        /// The response code, if the server sent one (`NONEXISTENT`, `TRYCREATE`); `None`
        /// when the `LIST` confirmed it (Dovecot 2.3, see docs/errors.md).
        code: Option<String>,
        /// The server's text.
        text: String,
    },

    /// The folder's UIDVALIDITY changed since this connection last saw it: UIDs the caller
    /// holds for it no longer name the same messages. Reported once; the next call works
    /// with the new UIDs. Resynchronise the folder (see `ImapConnection::sync`).
    UidValidityChanged {
        /// The folder.
        folder: String,
        /// The UIDVALIDITY seen before.
        old: u32,
        /// The new UIDVALIDITY.
        new: u32,
    },

    /// The connection was closed, by the server or after an earlier fatal error.
    Closed {
        /// When it was noticed (e.g. "by the server while reading a response").
        context: String,
    },

    /// The call was stopped by its [`Cancel`](crate::Cancel) token: before it sent
    /// anything (the connection is intact), or while it ran (its connection was shut down
    /// and is broken; a pool closes it). Never transient: the caller asked for the stop.
    Cancelled {
        /// What was being done (e.g. "fetching messages").
        operation: String,
    },
}

impl fmt::Display for Error {
    /// The message for a person, every control character escaped (see [`Error`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_message(&mut EscapingWriter { out: f })
    }
}

impl Error {
    /// Writes the message unescaped to `w`; `Display` passes an escaping writer, so this is
    /// the one place that decides what reaches a person.
    fn write_message(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            Error::Dns { host, source } => write!(
                w,
                "could not resolve host {host:?}: {source}; check the host name and the DNS setup"
            ),
            Error::Connect { host, port, source } => write!(
                w,
                "could not connect to {host}:{port}: {source}; check the host, the port and that the server is reachable"
            ),
            Error::Io { operation, source } => {
                write!(w, "I/O error while {operation}: {source}")
            }
            Error::Tls { host, message } => write!(
                w,
                "TLS error with {host}: {message}; check the server's certificate, the host name it was issued for, and any extra root certificate configured"
            ),
            Error::Timeout { operation, after } => write!(
                w,
                "timed out after {after:?} while {operation}; the server is slow or unreachable (the deadline is set in Config)"
            ),
            Error::Auth { mechanism, text } => write!(
                w,
                "authentication failed ({mechanism}): {text}; check the user name and password or token (Gmail and Outlook need an app password or OAuth2)"
            ),
            Error::Server {
                status,
                command,
                code,
                text,
            } => {
                write!(w, "server answered {status} to {command}")?;
                if let Some(code) = code {
                    write!(w, " [{code}]")?;
                }
                write!(w, ": {text}")
            }
            Error::Protocol {
                message,
                excerpt,
                offset,
            } => write!(
                w,
                "protocol error: {message} at byte {offset} near {excerpt:?}"
            ),
            Error::StartTlsUnavailable { command } => write!(
                w,
                "the server does not offer {command}; refusing to continue without TLS (use Security::Tls on the implicit-TLS port, or Security::Plain only on a trusted network)"
            ),
            Error::InvalidInput { what, reason } => write!(w, "invalid {what}: {reason}"),
            Error::LimitExceeded { what, limit } => write!(
                w,
                "{what} exceeds the limit of {limit} bytes; raise it in Config if the server is legitimate"
            ),
            Error::PoolTimeout { account, waited } => write!(
                w,
                "no connection for {account} became free within {waited:?}; all are in use (raise max_per_account or get_timeout)"
            ),
            Error::MissingFolder {
                folder,
                command,
                code,
                text,
            } => {
                write!(
                    w,
                    "the folder {folder:?} does not exist (server answered NO to {command}"
                )?;
                if let Some(code) = code {
                    write!(w, " [{code}]")?;
                }
                write!(
                    w,
                    ": {text}); check the name with list_folders, or create it first"
                )
            }
            Error::UidValidityChanged { folder, old, new } => write!(
                w,
                "the UIDVALIDITY of {folder:?} changed from {old} to {new}: UIDs from before refer to other messages now; resynchronise the folder"
            ),
            Error::Closed { context } => write!(w, "connection closed {context}"),
            Error::Cancelled { operation } => write!(
                w,
                "cancelled while {operation}: the call's Cancel token was triggered (a call under way had its connection closed)"
            ),
        }
    }

    /// Whether trying the same thing again later may succeed.
    ///
    /// True for network failures, timeouts, closed connections, `BYE`, `SERVERBUG`, and
    /// every answer that means "too many / too fast, later" (throttling, see
    /// [`retry_after`](Self::retry_after)): the response codes `LIMIT`, `UNAVAILABLE`,
    /// `INUSE` (RFC 5530), POP3 `SYS/TEMP`, `IN-USE`, `LOGIN-DELAY` (RFC 2449 / 3206), and
    /// the texts real providers send instead (Gmail's "Too many simultaneous connections"
    /// and "\[THROTTLED\]", Microsoft 365's "User is authenticated but not connected", …).
    /// A login the server refused with such an answer is an
    /// [`Error::Server`], never an [`Error::Auth`].
    ///
    /// Never true for an authentication failure ([`Error::Auth`] always means "the
    /// credentials were rejected"), bad input, a TLS verification failure or a protocol
    /// violation.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Dns { .. }
            | Error::Connect { .. }
            | Error::Io { .. }
            | Error::Timeout { .. }
            | Error::Closed { .. } => true,
            Error::Server { status, code, .. } => {
                let server_bug = code.as_deref().is_some_and(|c| {
                    let name = c.split_whitespace().next().unwrap_or("");
                    name.eq_ignore_ascii_case("SERVERBUG")
                });
                self.throttle().is_some() || server_bug || *status == ServerStatus::Bye
            }
            Error::Auth { .. }
            | Error::Tls { .. }
            | Error::Protocol { .. }
            | Error::StartTlsUnavailable { .. }
            | Error::InvalidInput { .. }
            | Error::LimitExceeded { .. }
            | Error::PoolTimeout { .. }
            | Error::MissingFolder { .. }
            | Error::UidValidityChanged { .. }
            | Error::Cancelled { .. } => false,
        }
    }

    /// Whether the folder a call named does not exist.
    ///
    /// True for [`Error::MissingFolder`], which every folder-scoped call of
    /// [`ImapConnection`](crate::imap::ImapConnection) and
    /// [`ImapHandler`](crate::imap::ImapHandler) returns for a folder that does not exist,
    /// on every server: by the response code when the server sends one (`NONEXISTENT`,
    /// RFC 5530; `TRYCREATE` for the target of `APPEND` / `COPY` / `MOVE`), otherwise
    /// (Dovecot 2.3 answers `NO Mailbox doesn't exist: X` without a code) confirmed by a
    /// `LIST` of the exact name that the failing call sends before it returns. Also true
    /// for an [`Error::Server`] `NO` with one of those codes (a raw command through
    /// [`ImapGuard::run`](crate::imap::ImapGuard::run)). Does no I/O.
    ///
    /// ```
    /// use mailwire::{Error, ServerStatus};
    /// let e = Error::Server {
    ///     status: ServerStatus::No,
    ///     command: "SELECT".into(),
    ///     code: Some("NONEXISTENT".into()),
    ///     text: "Unknown Mailbox: Archive".into(),
    /// };
    /// assert!(e.is_missing_folder());
    /// assert!(!e.is_transient());
    /// ```
    pub fn is_missing_folder(&self) -> bool {
        match self {
            Error::MissingFolder { .. } => true,
            Error::Server {
                status: ServerStatus::No,
                code: Some(code),
                ..
            } => code_says_missing(code),
            _ => false,
        }
    }

    /// How long to wait before trying again, when the server said "too many / too fast,
    /// later" (throttling); `None` for every other error (use the retry policy's delays).
    ///
    /// Servers send no number with these answers, so the hint is a default per kind: it
    /// is 10 s for `UNAVAILABLE` / `SYS/TEMP` / "Server Unavailable", 30 s
    /// for too many simultaneous connections (Gmail's limit frees when one of the
    /// account's connections closes), `INUSE` / `IN-USE` and Microsoft 365's "not
    /// connected", 60 s for `LIMIT` and Gmail's bandwidth limit (`THROTTLED`), 5 min for
    /// POP3 `LOGIN-DELAY` (RFC 2449 counts it in minutes). Every `Some` is also
    /// [transient](Self::is_transient). mailwire's own waits on it are bounded: a connect
    /// retry waits at most [`RetryPolicy::max_delay`](crate::RetryPolicy::max_delay), a
    /// pool at most [`PoolOptions::max_backoff`](crate::pool::PoolOptions::max_backoff) and
    /// never beyond the caller's timeout.
    ///
    /// ```
    /// use mailwire::{Error, ServerStatus};
    /// let gmail = Error::Server {
    ///     status: ServerStatus::No,
    ///     command: "LOGIN".into(),
    ///     code: Some("ALERT".into()),
    ///     text: "Too many simultaneous connections. (Failure)".into(),
    /// };
    /// assert!(gmail.is_transient());
    /// assert_eq!(gmail.retry_after(), Some(std::time::Duration::from_secs(30)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.throttle().map(Throttle::retry_after)
    }

    /// The throttling a server answer means, if it is one.
    fn throttle(&self) -> Option<Throttle> {
        match self {
            Error::Server { code, text, .. } => throttle::classify(code.as_deref(), text),
            _ => None,
        }
    }

    /// A copy of a throttling answer (the pool keeps one per backed-off account to hand to
    /// callers that cannot wait for the backoff to pass); `None` for any other error.
    pub(crate) fn throttle_copy(&self) -> Option<Error> {
        match self {
            Error::Server {
                status,
                command,
                code,
                text,
            } if self.throttle().is_some() => Some(Error::Server {
                status: *status,
                command: command.clone(),
                code: code.clone(),
                text: text.clone(),
            }),
            _ => None,
        }
    }

    /// Whether the connection that produced this error must be discarded rather than reused.
    ///
    /// A server `NO` or `BAD`, bad input or a pool timeout leave the connection usable; any
    /// transport, protocol or limit failure, a `BYE`, and Microsoft 365's "User is
    /// authenticated but not connected" (every later command fails too) do not.
    pub fn breaks_connection(&self) -> bool {
        match self {
            Error::Server { status, .. } => {
                *status == ServerStatus::Bye
                    || self.throttle().is_some_and(Throttle::breaks_connection)
            }
            Error::InvalidInput { .. }
            | Error::PoolTimeout { .. }
            | Error::Auth { .. }
            | Error::MissingFolder { .. }
            | Error::UidValidityChanged { .. }
            // A call cut under way has already broken its connection itself.
            | Error::Cancelled { .. } => false,
            _ => true,
        }
    }

    pub(crate) fn cancelled(operation: &str) -> Error {
        Error::Cancelled {
            operation: operation.to_string(),
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

/// Whether a response code says the folder a command named does not exist: `NONEXISTENT`
/// (RFC 5530), or `TRYCREATE` (RFC 3501: the target of APPEND / COPY / MOVE is missing).
pub(crate) fn code_says_missing(code: &str) -> bool {
    let name = code.split_whitespace().next().unwrap_or("");
    name.eq_ignore_ascii_case("NONEXISTENT") || name.eq_ignore_ascii_case("TRYCREATE")
}

/// Whether `c` must not reach a terminal or a log line raw: control characters (C0, DEL,
/// C1), the line and paragraph separators, and the bidirectional-text controls that can
/// reorder what follows them.
pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// A `fmt::Write` that passes text through to `out`, escaping every character for which
/// [`needs_escape`] holds: `\r`, `\n`, `\t`, `\xNN` below 0x80, `\u{NNNN}` above.
struct EscapingWriter<'a, 'b> {
    out: &'a mut fmt::Formatter<'b>,
}

impl fmt::Write for EscapingWriter<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain_from = 0;
        for (i, c) in s.char_indices() {
            if !needs_escape(c) {
                continue;
            }
            self.out.write_str(s.get(plain_from..i).unwrap_or(""))?;
            match c {
                '\r' => self.out.write_str("\\r")?,
                '\n' => self.out.write_str("\\n")?,
                '\t' => self.out.write_str("\\t")?,
                c if c.is_ascii() => write!(self.out, "\\x{:02x}", u32::from(c))?,
                c => write!(self.out, "\\u{{{:x}}}", u32::from(c))?,
            }
            plain_from = i + c.len_utf8();
        }
        self.out.write_str(s.get(plain_from..).unwrap_or(""))
    }
}

/// Shows `value` with every control character escaped as in [`Error`]'s `Display`: how a
/// log line prints text that came from the server (`log::warn!("alert: {}", escaped(text))`).
pub(crate) fn escaped<T: fmt::Display>(value: T) -> Escaped<T> {
    Escaped(value)
}

/// See [`escaped`].
pub(crate) struct Escaped<T>(T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Write::write_fmt(&mut EscapingWriter { out: f }, format_args!("{}", self.0))
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

    /// The server's refusal of `command`, with a response code.
    fn refused(status: ServerStatus, command: &str, code: &str, text: &str) -> Error {
        Error::Server {
            status,
            command: command.into(),
            code: Some(code.into()),
            text: text.into(),
        }
    }

    #[test]
    fn transient_classification() {
        let reading =
            |kind| Error::from_io(io::Error::from(kind), "reading", Duration::from_secs(1));
        let io = reading(io::ErrorKind::TimedOut);
        assert!(matches!(io, Error::Timeout { .. }));
        assert!(io.is_transient());
        let eof = reading(io::ErrorKind::UnexpectedEof);
        assert!(matches!(eof, Error::Closed { .. }));
        assert!(eof.is_transient());
        let auth = Error::Auth {
            mechanism: "LOGIN".into(),
            text: "nope".into(),
        };
        assert!(!auth.is_transient());
        let unavailable = refused(ServerStatus::No, "LOGIN", "UNAVAILABLE", "try later");
        assert!(unavailable.is_transient());
        let in_use = refused(ServerStatus::Err, "PASS", "in-use", "locked");
        assert!(in_use.is_transient());
        let trycreate = refused(ServerStatus::No, "APPEND", "TRYCREATE", "no such mailbox");
        assert!(!trycreate.is_transient());
        assert!(!trycreate.breaks_connection());
        assert!(!Error::invalid("port", "0").is_transient());
    }

    #[test]
    fn messages_name_the_problem() {
        let e = refused(
            ServerStatus::No,
            "SELECT",
            "NONEXISTENT",
            "Mailbox doesn't exist: Nope",
        );
        assert_eq!(
            e.to_string(),
            "server answered NO to SELECT [NONEXISTENT]: Mailbox doesn't exist: Nope"
        );
        let p = Error::protocol("expected CRLF", b"* OK hello\x00world", 10);
        assert!(p.to_string().contains("\\x00"), "{p}");
    }

    /// Every variant, every text field and source holding hostile text: the message shows
    /// the text, escaped, and no control character.
    #[test]
    fn every_variant_escapes_what_it_shows() {
        const HOSTILE: &str = "a\x1b[31m\r\n\x00\x7f\u{9b}\u{2028}\u{202e}\tz";
        let t = || HOSTILE.to_string();
        let io = || io::Error::other(HOSTILE);
        let all = [
            Error::Dns {
                host: t(),
                source: io(),
            },
            Error::Connect {
                host: t(),
                port: 1,
                source: io(),
            },
            Error::Io {
                operation: t(),
                source: io(),
            },
            Error::Tls {
                host: t(),
                message: t(),
            },
            Error::Timeout {
                operation: t(),
                after: Duration::from_secs(1),
            },
            Error::Auth {
                mechanism: t(),
                text: t(),
            },
            Error::Server {
                status: ServerStatus::No,
                command: t(),
                code: Some(t()),
                text: t(),
            },
            Error::protocol(HOSTILE, HOSTILE.as_bytes(), 0),
            Error::Protocol {
                message: t(),
                excerpt: t(),
                offset: 0,
            },
            Error::StartTlsUnavailable { command: "STLS" },
            Error::invalid(HOSTILE, HOSTILE),
            Error::LimitExceeded {
                what: t(),
                limit: 1,
            },
            Error::PoolTimeout {
                account: t(),
                waited: Duration::from_secs(1),
            },
            Error::MissingFolder {
                folder: t(),
                command: t(),
                code: Some(t()),
                text: t(),
            },
            Error::UidValidityChanged {
                folder: t(),
                old: 1,
                new: 2,
            },
            Error::Closed { context: t() },
        ];
        for e in &all {
            let shown = e.to_string();
            assert!(!shown.chars().any(needs_escape), "{shown:?}");
            if !matches!(e, Error::StartTlsUnavailable { .. }) {
                assert!(shown.contains("[31m"), "{shown:?}");
            }
        }
        let auth = Error::Auth {
            mechanism: "LOGIN".into(),
            text: HOSTILE.into(),
        };
        assert_eq!(
            auth.to_string(),
            "authentication failed (LOGIN): a\\x1b[31m\\r\\n\\x00\\x7f\\u{9b}\\u{2028}\\u{202e}\\tz; check the user name and password or token (Gmail and Outlook need an app password or OAuth2)"
        );
        // Printable text, UTF-8 included, passes unchanged.
        assert_eq!(
            escaped("Grüße, 日本 \\ [ALERT]").to_string(),
            "Grüße, 日本 \\ [ALERT]"
        );
        assert_eq!(
            escaped(HOSTILE).to_string(),
            "a\\x1b[31m\\r\\n\\x00\\x7f\\u{9b}\\u{2028}\\u{202e}\\tz"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_bytes(b"a\r\n\xff\\"), "a\\r\\n\\xff\\\\");
        assert_eq!(excerpt(b"abc", 100), "");
    }
}
