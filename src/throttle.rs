//! Which server answers mean "too many / too fast, try later" (throttling), and how long a
//! client should wait before it tries again.
//!
//! Pure: looks at a response code and a text, nothing else (the one `Error` asks it, so it
//! imports nothing of the crate). The forms, with where they were seen:
//!
//! | answer | sent by | kind |
//! |---|---|---|
//! | `[LIMIT]` (RFC 5530 §3) | any RFC 5530 server | [`Throttle::Limit`] |
//! | `[UNAVAILABLE]` (RFC 5530) | Dovecot: `NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=16)` (mscdex/node-imap#606); Yahoo: `NO [UNAVAILABLE] UID FETCH Service is temporarily not available` | [`Throttle::Unavailable`] |
//! | `[INUSE]` (RFC 5530), POP3 `[IN-USE]` (RFC 2449 §8.1.1) | a maildrop another session holds | [`Throttle::InUse`] |
//! | POP3 `[LOGIN-DELAY]` (RFC 2449 §8.1.2) | a server whose `LOGIN-DELAY` capability was ignored | [`Throttle::LoginDelay`] |
//! | POP3 `[SYS/TEMP]` (RFC 3206) | any RFC 3206 server | [`Throttle::Unavailable`] |
//! | `Too many simultaneous connections` | Gmail, to LOGIN / AUTHENTICATE: `NO [ALERT] Too many simultaneous connections. (Failure)` (jstedfast/MailKit#377, zone-eu/wildduck#35, mordak/runt#1) | [`Throttle::TooManyConnections`] |
//! | `Maximum number of connections`, `Too many connections` | Dovecot (above), many others | [`Throttle::TooManyConnections`] |
//! | `[THROTTLED]`, `Account exceeded command or bandwidth limits` | Gmail (jakartaee/mail-api#96, jstedfast/MailKit#1396; on `OK` it only slows down and is no error) | [`Throttle::Bandwidth`] |
//! | `User is authenticated but not connected` | Microsoft 365 / Outlook: `BAD` to the command after a successful LOGIN / AUTHENTICATE (jstedfast/MailKit#1494, mscdex/node-imap#523) | [`Throttle::NotConnected`] |
//! | `Server Unavailable` | Microsoft 365 POP3: `-ERR Server Unavailable. 21` (simonrob/email-oauth2-proxy#379) | [`Throttle::Unavailable`] |
//!
//! Deliberately **not** throttling: `[AUTHENTICATIONFAILED] Invalid credentials`, any
//! `authentication failed`, and "too many login failures" / "too many bad logins" (an
//! account locked by wrong passwords: trying the same secret again makes it worse).

use std::time::Duration;

/// A kind of "too many / too fast, later" answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Throttle {
    /// `[LIMIT]`: a per-user or per-server limit was hit.
    Limit,
    /// `[UNAVAILABLE]`, `[SYS/TEMP]`, "Server Unavailable": the server is temporarily not
    /// able to serve.
    Unavailable,
    /// `[INUSE]` / `[IN-USE]`: the mailbox is locked by another session.
    InUse,
    /// `[LOGIN-DELAY]`: logged in too soon after the last login (RFC 2449: minutes).
    LoginDelay,
    /// Too many connections of the account at once: frees when one closes.
    TooManyConnections,
    /// Gmail's bandwidth or command limit.
    Bandwidth,
    /// Microsoft 365's "User is authenticated but not connected": the session is unusable.
    NotConnected,
}

impl Throttle {
    /// How long to wait before trying again when the server gave no number: a documented
    /// default per kind.
    pub(crate) fn retry_after(self) -> Duration {
        Duration::from_secs(match self {
            Throttle::Unavailable => 10,
            Throttle::TooManyConnections | Throttle::InUse | Throttle::NotConnected => 30,
            Throttle::Limit | Throttle::Bandwidth => 60,
            Throttle::LoginDelay => 300,
        })
    }

    /// Whether the connection that got this answer cannot be used further.
    pub(crate) fn breaks_connection(self) -> bool {
        self == Throttle::NotConnected
    }
}

/// Response codes (the first word of the code, ASCII case-insensitive) that mean throttling.
const CODES: &[(&str, Throttle)] = &[
    ("LIMIT", Throttle::Limit),
    ("UNAVAILABLE", Throttle::Unavailable),
    ("SYS/TEMP", Throttle::Unavailable),
    ("INUSE", Throttle::InUse),
    ("IN-USE", Throttle::InUse),
    ("LOGIN-DELAY", Throttle::LoginDelay),
    ("THROTTLED", Throttle::Bandwidth),
];

/// Phrases (ASCII case-insensitive, anywhere in the text) that mean throttling.
const PHRASES: &[(&str, Throttle)] = &[
    (
        "too many simultaneous connections",
        Throttle::TooManyConnections,
    ),
    (
        "maximum number of connections",
        Throttle::TooManyConnections,
    ),
    ("too many connections", Throttle::TooManyConnections),
    ("[throttled]", Throttle::Bandwidth),
    ("exceeded command or bandwidth limits", Throttle::Bandwidth),
    ("bandwidth limit exceeded", Throttle::Bandwidth),
    (
        "user is authenticated but not connected",
        Throttle::NotConnected,
    ),
    ("server unavailable", Throttle::Unavailable),
];

/// The throttling `code` (as the server spelled it, arguments included) and `text` mean, if
/// any. The code wins over the text.
pub(crate) fn classify(code: Option<&str>, text: &str) -> Option<Throttle> {
    let by_code = code.and_then(|c| {
        let name = c.split_whitespace().next().unwrap_or("");
        CODES
            .iter()
            .find(|(known, _)| name.eq_ignore_ascii_case(known))
            .map(|&(_, kind)| kind)
    });
    by_code.or_else(|| {
        let lower = text.to_ascii_lowercase();
        PHRASES
            .iter()
            .find(|(phrase, _)| lower.contains(phrase))
            .map(|&(_, kind)| kind)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts_of_real_servers() {
        let cases: &[(Option<&str>, &str, Throttle)] = &[
            (Some("LIMIT"), "too many", Throttle::Limit),
            (
                Some("UNAVAILABLE"),
                "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=16)",
                Throttle::Unavailable,
            ),
            (Some("unavailable"), "try later", Throttle::Unavailable),
            (Some("INUSE"), "mailbox in use", Throttle::InUse),
            (Some("IN-USE"), "maildrop locked", Throttle::InUse),
            (Some("LOGIN-DELAY"), "wait", Throttle::LoginDelay),
            (Some("SYS/TEMP"), "later", Throttle::Unavailable),
            (
                Some("ALERT"),
                "Too many simultaneous connections. (Failure)",
                Throttle::TooManyConnections,
            ),
            (
                None,
                "Too many simultaneous connections. (Failure)",
                Throttle::TooManyConnections,
            ),
            (
                None,
                "Account exceeded command or bandwidth limits. (Failure)",
                Throttle::Bandwidth,
            ),
            (Some("THROTTLED"), "slow down", Throttle::Bandwidth),
            (None, "Success [THROTTLED]", Throttle::Bandwidth),
            (
                None,
                "User is authenticated but not connected.",
                Throttle::NotConnected,
            ),
            (None, "Server Unavailable. 21", Throttle::Unavailable),
            (
                None,
                "Maximum number of connections from user+IP exceeded",
                Throttle::TooManyConnections,
            ),
        ];
        for &(code, text, kind) in cases {
            assert_eq!(classify(code, text), Some(kind), "{code:?} {text:?}");
        }
    }

    #[test]
    fn rejected_credentials_are_not_throttling() {
        for (code, text) in [
            (
                Some("AUTHENTICATIONFAILED"),
                "Invalid credentials (Failure)",
            ),
            (None, "authentication failed"),
            (Some("AUTH"), "invalid login"),
            (None, "Too many login failures"),
            (None, "LOGIN failed."),
            (Some("ALERT"), "Please log in via your web browser"),
            (Some("TRYCREATE"), "no such mailbox"),
            (Some("SERVERBUG"), "internal error"),
        ] {
            assert_eq!(classify(code, text), None, "{code:?} {text:?}");
        }
    }

    #[test]
    fn every_kind_has_a_bounded_default() {
        for (_, kind) in CODES.iter().chain(PHRASES) {
            let d = kind.retry_after();
            assert!(
                d >= Duration::from_secs(1) && d <= Duration::from_secs(300),
                "{kind:?}"
            );
        }
        assert!(Throttle::NotConnected.breaks_connection());
        assert!(!Throttle::TooManyConnections.breaks_connection());
    }
}
