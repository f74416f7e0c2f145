//! Status lines: `+OK` / `-ERR` with their response codes, and the lines of an `AUTH` exchange.

use std::fmt;

use super::trim_ascii_blanks;
use crate::error::{Error, Result, ServerStatus};
use crate::throttle;

/// A response code in brackets at the start of a `-ERR` text (RFC 2449 §8, RFC 3206).
///
/// Codes are hierarchical (`SYS/TEMP`) and compared without regard to ASCII case; a code
/// with further levels (`SYS/TEMP/DISK`) is classified by its known prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `IN-USE`: the maildrop is locked by another session. Transient.
    InUse,
    /// `LOGIN-DELAY`: the user logged in too recently. Transient.
    LoginDelay,
    /// `SYS/TEMP`: a temporary server problem. Transient.
    SysTemp,
    /// `SYS/PERM`: a permanent server problem; retrying will not help.
    SysPerm,
    /// `AUTH`: the credentials were refused. Never retried.
    Auth,
    /// Any other code, as the server sent it (without the brackets).
    Other(String),
}

impl ResponseCode {
    /// Classifies the text between the brackets.
    pub fn parse(code: &str) -> ResponseCode {
        let code = code.trim();
        let mut levels = code.split('/');
        let first = levels.next().unwrap_or("");
        let second = levels.next();
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if is(first, "IN-USE") {
            ResponseCode::InUse
        } else if is(first, "LOGIN-DELAY") {
            ResponseCode::LoginDelay
        } else if is(first, "AUTH") {
            ResponseCode::Auth
        } else if is(first, "SYS") && second.is_some_and(|s| is(s, "TEMP")) {
            ResponseCode::SysTemp
        } else if is(first, "SYS") && second.is_some_and(|s| is(s, "PERM")) {
            ResponseCode::SysPerm
        } else {
            ResponseCode::Other(code.to_string())
        }
    }

    /// The code's canonical spelling (`IN-USE`, `SYS/TEMP`, …; `Other` as received).
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Auth => "AUTH",
            ResponseCode::Other(s) => s,
        }
    }

    /// Whether the condition is temporary (`IN-USE`, `LOGIN-DELAY`, `SYS/TEMP`), so that the
    /// same command may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ResponseCode::InUse | ResponseCode::LoginDelay | ResponseCode::SysTemp
        )
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `+OK` or `-ERR` line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// `+OK`, with the rest of the line (may be empty).
    Ok {
        /// The text after `+OK`, trimmed.
        text: String,
    },
    /// `-ERR`, with the optional response code and the rest of the line.
    Err {
        /// The bracketed response code, if the text starts with one.
        code: Option<ResponseCode>,
        /// The text after `-ERR` and the code, trimmed.
        text: String,
    },
}

impl Status {
    /// Whether this is `+OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Ok { .. })
    }

    /// `+OK` gives its text; `-ERR` becomes [`Error::Server`] with status `-ERR`, `command`
    /// and the code's canonical spelling, so that [`Error::is_transient`] sees `IN-USE`,
    /// `LOGIN-DELAY` and `SYS/TEMP` as transient.
    pub fn into_result(self, command: &str) -> Result<String> {
        match self {
            Status::Ok { text } => Ok(text),
            Status::Err { code, text } => Err(Error::Server {
                status: ServerStatus::Err,
                command: command.to_string(),
                code: code.map(|c| c.as_str().to_string()),
                text,
            }),
        }
    }

    /// Like [`into_result`](Self::into_result) for an authentication step (`USER`, `PASS`,
    /// `APOP`, `AUTH`): a `-ERR` with a transient code (`IN-USE`, `LOGIN-DELAY`,
    /// `SYS/TEMP`), `SYS/PERM`, or a throttling text (Microsoft 365's "Server Unavailable",
    /// "too many connections", see [`Error::retry_after`]) stays [`Error::Server`]; any
    /// other `-ERR` (`[AUTH]`, no code, an unknown code) is [`Error::Auth`] for `mechanism`
    /// and is never retried.
    pub fn into_auth_result(self, mechanism: &str) -> Result<String> {
        let keeps_server_error = matches!(
            &self,
            Status::Err { code, text }
                if *code == Some(ResponseCode::SysPerm)
                    || throttle::classify(code.as_ref().map(ResponseCode::as_str), text).is_some()
        );
        if keeps_server_error {
            return self.into_result(mechanism);
        }
        match self {
            Status::Err { code, text } => Err(Error::Auth {
                mechanism: mechanism.to_string(),
                text: match code {
                    Some(ResponseCode::Other(c)) => format!("[{c}] {text}"),
                    _ => text,
                },
            }),
            Status::Ok { text } => Ok(text),
        }
    }
}

/// Removes one trailing CRLF or LF; fails on a CR or LF anywhere else.
fn strip_line_end<'a>(line: &'a [u8], what: &str) -> Result<&'a [u8]> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if let Some(pos) = body.iter().position(|&b| b == b'\n' || b == b'\r') {
        return Err(Error::protocol(
            format!("line break inside a {what}"),
            line,
            pos,
        ));
    }
    Ok(body)
}

/// Matches `keyword` (ASCII case-insensitive) at the start of `line`, followed by the end
/// of the line or a blank; returns the rest.
fn after_keyword<'a>(line: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = line.get(keyword.len()..)?;
    match rest.first() {
        None | Some(b' ') | Some(b'\t') => Some(rest),
        Some(_) => None,
    }
}

/// Parses a status line (`+OK …` or `-ERR …`), with or without its CRLF or bare LF.
///
/// Lenient where real servers differ: any case (`+ok`), missing text, extra or trailing
/// blanks. Anything else (including a `+` continuation) is [`Error::Protocol`] with the
/// offset and an excerpt of the line.
pub fn parse_status(line: &[u8]) -> Result<Status> {
    let body = strip_line_end(line, "status line")?;
    if let Some(rest) = after_keyword(body, b"+OK") {
        return Ok(Status::Ok {
            text: String::from_utf8_lossy(trim_ascii_blanks(rest)).into_owned(),
        });
    }
    if let Some(rest) = after_keyword(body, b"-ERR") {
        let rest = trim_ascii_blanks(rest);
        let (code, text) = split_code(rest);
        return Ok(Status::Err {
            code,
            text: String::from_utf8_lossy(text).into_owned(),
        });
    }
    Err(Error::protocol(
        "expected a status line starting with +OK or -ERR",
        line,
        0,
    ))
}

/// Splits a leading `[CODE]` off `text`.
fn split_code(text: &[u8]) -> (Option<ResponseCode>, &[u8]) {
    if text.first() != Some(&b'[') {
        return (None, text);
    }
    let Some(close) = text.iter().position(|&b| b == b']') else {
        return (None, text);
    };
    let inner = text.get(1..close).unwrap_or(&[]);
    let inner = trim_ascii_blanks(inner);
    if inner.is_empty() {
        return (None, text);
    }
    let rest = trim_ascii_blanks(text.get(close + 1..).unwrap_or(&[]));
    (
        Some(ResponseCode::parse(&String::from_utf8_lossy(inner))),
        rest,
    )
}

/// The answer to a step of `AUTH`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthLine {
    /// `+ challenge`: the server waits for the next client response. The payload is the
    /// base64 text as sent (empty for a bare `+`).
    Continuation {
        /// The base64 challenge, trimmed.
        payload: String,
    },
    /// `+OK` or `-ERR`: the exchange is over.
    Status(Status),
}

/// Parses a line received during `AUTH`: a continuation (`+`, `+ `, `+ base64`) or a
/// status line.
pub fn parse_auth_line(line: &[u8]) -> Result<AuthLine> {
    let body = strip_line_end(line, "continuation line")?;
    if let Some(rest) = body.strip_prefix(b"+")
        && (rest.is_empty() || rest.first() == Some(&b' '))
    {
        return Ok(AuthLine::Continuation {
            payload: String::from_utf8_lossy(trim_ascii_blanks(rest)).into_owned(),
        });
    }
    parse_status(line).map(AuthLine::Status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pop3::codec::protocol_offset;

    fn ok(text: &str) -> Status {
        Status::Ok { text: text.into() }
    }

    fn err(code: Option<ResponseCode>, text: &str) -> Status {
        Status::Err {
            code,
            text: text.into(),
        }
    }

    #[test]
    fn status_lines() {
        let cases: [(&[u8], Status); 15] = [
            (b"+OK POP3 ready\r\n", ok("POP3 ready")),
            (b"+ok\r\n", ok("")),
            (b"+OK", ok("")),
            (b"+Ok  2 320   \n", ok("2 320")),
            (b"-ERR\r\n", err(None, "")),
            (b"-err no such message\r\n", err(None, "no such message")),
            (
                b"-ERR [IN-USE] Mailbox locked\r\n",
                err(Some(ResponseCode::InUse), "Mailbox locked"),
            ),
            (
                b"-ERR [sys/temp] try later",
                err(Some(ResponseCode::SysTemp), "try later"),
            ),
            (
                b"-ERR [SYS/PERM/DISK]\r\n",
                err(Some(ResponseCode::SysPerm), ""),
            ),
            (
                b"-ERR [LOGIN-DELAY] wait 900s\r\n",
                err(Some(ResponseCode::LoginDelay), "wait 900s"),
            ),
            (
                b"-ERR [AUTH] Authentication failed.\r\n",
                err(Some(ResponseCode::Auth), "Authentication failed."),
            ),
            (
                b"-ERR [X-FOO] odd\r\n",
                err(Some(ResponseCode::Other("X-FOO".into())), "odd"),
            ),
            // Not a code: no closing bracket, or empty brackets.
            (b"-ERR [unclosed\r\n", err(None, "[unclosed")),
            (b"-ERR [] x\r\n", err(None, "[] x")),
            // 8-bit text is kept (lossily).
            (b"+OK caf\xc3\xa9 \xff\r\n", ok("café \u{fffd}")),
        ];
        for (line, expected) in cases {
            let shown = String::from_utf8_lossy(line).into_owned();
            assert_eq!(parse_status(line).unwrap(), expected, "{shown:?}");
        }
    }

    #[test]
    fn status_garbage() {
        let (offset, excerpt) = protocol_offset(parse_status(b"HTTP/1.1 400 Bad\r\n"));
        assert_eq!(offset, 0);
        assert!(excerpt.starts_with("HTTP/1.1"), "{excerpt}");
        protocol_offset(parse_status(b"+OKAY\r\n"));
        protocol_offset(parse_status(b"-ERROR\r\n"));
        protocol_offset(parse_status(b""));
        protocol_offset(parse_status(b"+ abc\r\n"));
        assert_eq!(protocol_offset(parse_status(b"+OK a\rb\r\n")).0, 5);
        assert_eq!(protocol_offset(parse_status(b"+OK a\r\n+OK\r\n")).0, 5);
    }

    #[test]
    fn response_codes() {
        for (raw, code) in [
            ("IN-USE", ResponseCode::InUse),
            ("in-use", ResponseCode::InUse),
            ("LOGIN-DELAY", ResponseCode::LoginDelay),
            ("SYS/TEMP", ResponseCode::SysTemp),
            ("Sys/Temp/quota", ResponseCode::SysTemp),
            ("SYS/PERM", ResponseCode::SysPerm),
            ("AUTH", ResponseCode::Auth),
            ("SYS", ResponseCode::Other("SYS".into())),
            ("SYSTEMP", ResponseCode::Other("SYSTEMP".into())),
            ("UTF8", ResponseCode::Other("UTF8".into())),
        ] {
            assert_eq!(ResponseCode::parse(raw), code, "{raw}");
        }
        assert_eq!(ResponseCode::parse("sys/temp").to_string(), "SYS/TEMP");
        assert!(ResponseCode::InUse.is_transient());
        assert!(!ResponseCode::SysPerm.is_transient());
        assert!(!ResponseCode::Auth.is_transient());
    }

    #[test]
    fn status_into_result_classifies() {
        assert_eq!(ok("2 320").into_result("STAT").unwrap(), "2 320");
        for (code, transient) in [
            (Some(ResponseCode::InUse), true),
            (Some(ResponseCode::LoginDelay), true),
            (Some(ResponseCode::parse("sys/temp/disk")), true),
            (Some(ResponseCode::SysPerm), false),
            (Some(ResponseCode::Auth), false),
            (None, false),
        ] {
            let e = err(code.clone(), "nope").into_result("RETR").unwrap_err();
            assert_eq!(e.is_transient(), transient, "{code:?}: {e}");
            match e {
                Error::Server {
                    status,
                    command,
                    code: c,
                    text,
                } => {
                    assert_eq!(status, ServerStatus::Err);
                    assert_eq!(command, "RETR");
                    assert_eq!(c, code.map(|c| c.as_str().to_string()));
                    assert_eq!(text, "nope");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn auth_result_classifies() {
        assert_eq!(ok("welcome").into_auth_result("PASS").unwrap(), "welcome");
        let plain = err(None, "invalid login").into_auth_result("USER/PASS");
        match plain {
            Err(Error::Auth { mechanism, text }) => {
                assert_eq!(
                    (mechanism.as_str(), text.as_str()),
                    ("USER/PASS", "invalid login")
                )
            }
            other => panic!("{other:?}"),
        }
        let auth = err(Some(ResponseCode::Auth), "bad").into_auth_result("APOP");
        assert!(matches!(auth, Err(Error::Auth { .. })));
        let other = err(Some(ResponseCode::Other("X".into())), "bad").into_auth_result("PLAIN");
        match other {
            Err(Error::Auth { text, .. }) => assert_eq!(text, "[X] bad"),
            o => panic!("{o:?}"),
        }
        for code in [
            ResponseCode::InUse,
            ResponseCode::LoginDelay,
            ResponseCode::SysTemp,
        ] {
            let e = err(Some(code), "later")
                .into_auth_result("PASS")
                .unwrap_err();
            assert!(
                matches!(e, Error::Server { .. }) && e.is_transient(),
                "{e:?}"
            );
        }
        // A throttling text without a code (Microsoft 365 POP3) is the server's state too.
        let busy = err(None, "Server Unavailable. 21")
            .into_auth_result("PASS")
            .unwrap_err();
        assert!(
            matches!(busy, Error::Server { .. }) && busy.retry_after().is_some(),
            "{busy:?}"
        );
        let perm = err(Some(ResponseCode::SysPerm), "gone").into_auth_result("PASS");
        let perm = perm.unwrap_err();
        assert!(matches!(perm, Error::Server { .. }) && !perm.is_transient());
    }

    #[test]
    fn auth_lines() {
        assert_eq!(
            parse_auth_line(b"+ VXNlcm5hbWU6\r\n").unwrap(),
            AuthLine::Continuation {
                payload: "VXNlcm5hbWU6".into()
            }
        );
        assert_eq!(
            parse_auth_line(b"+\r\n").unwrap(),
            AuthLine::Continuation { payload: "".into() }
        );
        assert_eq!(
            parse_auth_line(b"+ \n").unwrap(),
            AuthLine::Continuation { payload: "".into() }
        );
        assert_eq!(
            parse_auth_line(b"+OK Logged in.\r\n").unwrap(),
            AuthLine::Status(ok("Logged in."))
        );
        assert_eq!(
            parse_auth_line(b"-ERR [AUTH] no\r\n").unwrap(),
            AuthLine::Status(err(Some(ResponseCode::Auth), "no"))
        );
        protocol_offset(parse_auth_line(b"* garbage\r\n"));
        protocol_offset(parse_auth_line(b"+x\r\n"));
    }
}
