//! [`Retry`]: what a worker should do with a job whose call failed ([`Error::retry_hint`]).

use std::time::Duration;

use super::{Error, ServerStatus};

/// The pause before trying again after the network failed to reach the server (DNS,
/// TCP, a timeout): mailwire's own connect retries have already run by then.
const UNREACHABLE_PAUSE: Duration = Duration::from_secs(5);
/// The pause after the server closed the conversation (`BYE`) or reported its own bug
/// (`SERVERBUG`): a new connection, a moment later.
const SERVER_PAUSE: Duration = Duration::from_secs(1);

/// What a worker should do with a job whose call failed: the answer of
/// [`Error::retry_hint`].
///
/// ```no_run
/// use mailwire::{Config, Retry};
/// use mailwire::imap::ImapHandler;
///
/// # fn demo(handler: &ImapHandler, account: &Config) {
/// for _attempt in 0..5 {
///     match handler.folder_status(account, "INBOX") {
///         Ok(status) => { println!("{status:?}"); break }
///         Err(e) => match e.retry_hint() {
///             Retry::Now => continue,
///             Retry::After(wait) => std::thread::sleep(wait),
///             // Fix the input, the config or the credentials; repeating cannot help.
///             _ => { eprintln!("giving up: {e}"); break }
///         },
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Retry {
    /// Try again at once: the failure was of one connection or of waiting for one, and a
    /// new attempt gets another.
    Now,
    /// Try again after this pause (the server's throttling hint, or a short pause for a
    /// server that was unreachable or restarting).
    After(Duration),
    /// Do not repeat the same call: it fails the same way until the input, the config, the
    /// credentials or the server's data change.
    Never,
}

impl Error {
    /// What a worker should do with the job that failed with this error: try again
    /// [now](Retry::Now), [after a pause](Retry::After), or [never](Retry::Never).
    ///
    /// Unlike [`is_transient`](Self::is_transient), which tells whether the *same
    /// connection attempt* may succeed (and drives mailwire's own connect retries), this is
    /// for the caller's loop around a whole call. The two agree except for
    /// [`Error::PoolTimeout`], which is not transient (no connection attempt failed) but is
    /// the most retryable error there is for a worker. Per variant:
    ///
    /// | Variant | Hint |
    /// |---|---|
    /// | [`PoolTimeout`](Error::PoolTimeout) | `Now` (the wait for a free connection was the pause) |
    /// | [`Io`](Error::Io), [`Closed`](Error::Closed) | `Now` (the pool replaces the broken connection) |
    /// | [`Dns`](Error::Dns), [`Connect`](Error::Connect), [`Timeout`](Error::Timeout) | `After(5 s)` (the connect retries have already run) |
    /// | [`Server`](Error::Server) throttling ([`retry_after`](Self::retry_after)) | `After(retry_after)` |
    /// | [`Server`](Error::Server) `BYE`, or `NO [SERVERBUG]` | `After(1 s)` |
    /// | [`Server`](Error::Server) any other `NO` / `BAD` / `-ERR` | `Never` |
    /// | [`MissingFolder`](Error::MissingFolder) | `Never` (create the folder or fix the name) |
    /// | [`UidValidityChanged`](Error::UidValidityChanged) | `Never` (resynchronise; then new calls with the new UIDs work) |
    /// | [`Auth`](Error::Auth), [`Tls`](Error::Tls), [`StartTlsUnavailable`](Error::StartTlsUnavailable), [`InvalidInput`](Error::InvalidInput) | `Never` (credentials, trust or config) |
    /// | [`Protocol`](Error::Protocol), [`LimitExceeded`](Error::LimitExceeded) | `Never` (the same answer would break the same way) |
    /// | [`Cancelled`](Error::Cancelled) | `Never` (the caller asked to stop) |
    ///
    /// ```
    /// use std::time::Duration;
    /// use mailwire::{Error, Retry};
    /// let busy = Error::PoolTimeout { account: "alice@imap.example.com:993".into(), waited: Duration::from_secs(30) };
    /// assert_eq!(busy.retry_hint(), Retry::Now);
    /// assert!(!busy.is_transient());
    /// let typo = Error::Auth { mechanism: "LOGIN".into(), text: "wrong password".into() };
    /// assert_eq!(typo.retry_hint(), Retry::Never);
    /// ```
    pub fn retry_hint(&self) -> Retry {
        match self {
            Error::PoolTimeout { .. } | Error::Io { .. } | Error::Closed { .. } => Retry::Now,
            Error::Dns { .. } | Error::Connect { .. } | Error::Timeout { .. } => {
                Retry::After(UNREACHABLE_PAUSE)
            }
            Error::Server { status, .. } => match self.retry_after() {
                Some(wait) => Retry::After(wait),
                None if *status == ServerStatus::Bye || self.is_transient() => {
                    Retry::After(SERVER_PAUSE)
                }
                None => Retry::Never,
            },
            Error::Auth { .. }
            | Error::Tls { .. }
            | Error::Protocol { .. }
            | Error::StartTlsUnavailable { .. }
            | Error::InvalidInput { .. }
            | Error::LimitExceeded { .. }
            | Error::MissingFolder { .. }
            | Error::UidValidityChanged { .. }
            | Error::Cancelled { .. } => Retry::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    fn server(status: ServerStatus, code: Option<&str>, text: &str) -> Error {
        Error::Server {
            status,
            command: "SELECT".into(),
            code: code.map(str::to_string),
            text: text.into(),
        }
    }

    /// One error of every variant (and every kind of server answer) with its hint.
    fn every_variant() -> Vec<(Error, Retry)> {
        let t = || "x".to_string();
        let second = Duration::from_secs(1);
        vec![
            (
                Error::Dns {
                    host: t(),
                    source: io::Error::other("no such host"),
                },
                Retry::After(UNREACHABLE_PAUSE),
            ),
            (
                Error::Connect {
                    host: t(),
                    port: 993,
                    source: io::Error::from(io::ErrorKind::ConnectionRefused),
                },
                Retry::After(UNREACHABLE_PAUSE),
            ),
            (
                Error::Io {
                    operation: t(),
                    source: io::Error::other("reset"),
                },
                Retry::Now,
            ),
            (
                Error::Tls {
                    host: t(),
                    message: t(),
                },
                Retry::Never,
            ),
            (
                Error::Timeout {
                    operation: t(),
                    after: second,
                },
                Retry::After(UNREACHABLE_PAUSE),
            ),
            (
                Error::Auth {
                    mechanism: t(),
                    text: t(),
                },
                Retry::Never,
            ),
            (
                server(ServerStatus::No, None, "no such thing"),
                Retry::Never,
            ),
            (server(ServerStatus::Bad, None, "syntax"), Retry::Never),
            (
                server(ServerStatus::Err, None, "no such message"),
                Retry::Never,
            ),
            (
                server(ServerStatus::Bye, None, "shutting down"),
                Retry::After(SERVER_PAUSE),
            ),
            (
                server(ServerStatus::No, Some("SERVERBUG"), "oops"),
                Retry::After(SERVER_PAUSE),
            ),
            (
                server(ServerStatus::No, Some("UNAVAILABLE"), "later"),
                Retry::After(Duration::from_secs(10)),
            ),
            (
                server(ServerStatus::No, Some("LIMIT"), "slow down"),
                Retry::After(Duration::from_secs(60)),
            ),
            (
                server(ServerStatus::Err, Some("LOGIN-DELAY"), "wait"),
                Retry::After(Duration::from_secs(300)),
            ),
            (Error::protocol("garbage", b"\x00", 0), Retry::Never),
            (
                Error::StartTlsUnavailable {
                    command: "STARTTLS",
                },
                Retry::Never,
            ),
            (Error::invalid("port", "0"), Retry::Never),
            (
                Error::LimitExceeded {
                    what: t(),
                    limit: 1,
                },
                Retry::Never,
            ),
            (
                Error::PoolTimeout {
                    account: t(),
                    waited: second,
                },
                Retry::Now,
            ),
            (
                Error::MissingFolder {
                    folder: t(),
                    command: t(),
                    code: None,
                    text: t(),
                },
                Retry::Never,
            ),
            (
                Error::UidValidityChanged {
                    folder: t(),
                    old: 1,
                    new: 2,
                },
                Retry::Never,
            ),
            (Error::Closed { context: t() }, Retry::Now),
            (Error::Cancelled { operation: t() }, Retry::Never),
        ]
    }

    #[test]
    fn every_variant_has_its_hint() {
        for (e, hint) in every_variant() {
            assert_eq!(e.retry_hint(), hint, "{e:?}");
        }
    }

    /// `retry_hint` agrees with `is_transient`, except that a pool timeout is retryable.
    #[test]
    fn hints_agree_with_is_transient_but_for_the_pool_timeout() {
        for (e, _) in every_variant() {
            let hint = e.retry_hint();
            let retryable = hint != Retry::Never;
            if matches!(e, Error::PoolTimeout { .. }) {
                assert!(retryable && !e.is_transient());
            } else {
                assert_eq!(retryable, e.is_transient(), "{e:?}");
            }
            if let Some(wait) = e.retry_after() {
                assert_eq!(hint, Retry::After(wait), "{e:?}");
            }
        }
    }
}
