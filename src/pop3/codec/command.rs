//! Command encoding: arguments safe from injection, the 255-octet limit, the `AUTH` plan.

use std::fmt;

#[cfg(doc)]
use super::MultiLineDecoder;
use crate::error::{Error, Result};

/// The longest command line a client may send, CRLF included (RFC 2449 §4).
pub const MAX_COMMAND_LINE: usize = 255;

/// A POP3 command, encoded with [`Command::encode`].
///
/// Arguments are borrowed; secrets (`PASS`, the APOP digest, SASL responses) never appear in
/// `Debug` or [`trace_text`](Command::trace_text).
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `CAPA`.
    Capa,
    /// `STLS`.
    Stls,
    /// `USER name`.
    User(&'a str),
    /// `PASS password` (the password may contain spaces).
    Pass(&'a str),
    /// `APOP name digest`.
    Apop {
        /// The user name (no blanks).
        user: &'a str,
        /// The digest from the greeting's timestamp and the password.
        digest: &'a str,
    },
    /// `AUTH mechanism [initial-response]`; build it with [`plan_auth`].
    Auth {
        /// The SASL mechanism name.
        mechanism: &'a str,
        /// The base64 initial response (`Some("")` is sent as `=`).
        initial_response: Option<&'a str>,
    },
    /// A client response after a `+` continuation (base64), or `*` to cancel. Not limited to
    /// 255 octets.
    AuthResponse(&'a str),
    /// `STAT`.
    Stat,
    /// `LIST` (all messages) or `LIST n`.
    List(Option<u32>),
    /// `UIDL` (all messages) or `UIDL n`.
    Uidl(Option<u32>),
    /// `RETR n`.
    Retr(u32),
    /// `TOP n lines`: the headers and the first `lines` body lines.
    Top {
        /// The message number.
        number: u32,
        /// How many body lines.
        lines: u32,
    },
    /// `DELE n`.
    Dele(u32),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `UTF8` (RFC 6856).
    Utf8,
    /// `QUIT`.
    Quit,
}

impl fmt::Debug for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({:?})", self.trace_text())
    }
}

fn check_argument(what: &str, value: &str, allow_blanks: bool) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(what, "is empty"));
    }
    if value.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(Error::invalid(
            what,
            "contains NUL, CR or LF, which would end the command early",
        ));
    }
    if !allow_blanks && value.bytes().any(|b| b == b' ' || b == b'\t') {
        return Err(Error::invalid(
            what,
            "contains a space, which would split the argument",
        ));
    }
    Ok(())
}

fn check_number(n: u32) -> Result<u32> {
    if n == 0 {
        Err(Error::invalid(
            "message number",
            "POP3 message numbers start at 1",
        ))
    } else {
        Ok(n)
    }
}

fn check_mechanism(mechanism: &str) -> Result<()> {
    // RFC 4422 §3.1: upper-case letters, digits, '-' and '_', 1 to 20 characters.
    let valid = !mechanism.is_empty()
        && mechanism.len() <= 20
        && mechanism
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            "SASL mechanism",
            format!("{mechanism:?} is not a valid mechanism name"),
        ))
    }
}

impl Command<'_> {
    /// The command line to send, CRLF included.
    ///
    /// Fails with [`Error::InvalidInput`] on an empty argument, NUL / CR / LF in an
    /// argument, a blank in a user name or mechanism, message number 0, or a command line
    /// longer than [`MAX_COMMAND_LINE`] octets (a SASL continuation response is exempt).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let line = self.line()?;
        let limited = !matches!(self, Command::AuthResponse(_));
        if limited && line.len() + 2 > MAX_COMMAND_LINE {
            return Err(Error::invalid(
                format!("{} command", self.name()),
                format!(
                    "the command line would be {} octets, over the limit of {MAX_COMMAND_LINE} (RFC 2449)",
                    line.len() + 2
                ),
            ));
        }
        let mut bytes = line.into_bytes();
        bytes.extend_from_slice(b"\r\n");
        Ok(bytes)
    }

    /// The command's keyword (`RETR`, `PASS`, …; `AUTH` for a continuation response).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Auth { .. } | Command::AuthResponse(_) => "AUTH",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top { .. } => "TOP",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Utf8 => "UTF8",
            Command::Quit => "QUIT",
        }
    }

    /// Whether the answer is a multi-line response (to read with [`MultiLineDecoder`] after
    /// a `+OK`).
    pub fn is_multi_line(&self) -> bool {
        matches!(
            self,
            Command::Capa
                | Command::List(None)
                | Command::Uidl(None)
                | Command::Retr(_)
                | Command::Top { .. }
        )
    }

    fn line(&self) -> Result<String> {
        let name = self.name();
        Ok(match *self {
            Command::User(user) => {
                check_argument("user name", user, true)?;
                format!("USER {user}")
            }
            Command::Pass(password) => {
                check_argument("password", password, true)?;
                format!("PASS {password}")
            }
            Command::Apop { user, digest } => {
                check_argument("user name", user, false)?;
                check_argument("APOP digest", digest, false)?;
                format!("APOP {user} {digest}")
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                check_mechanism(mechanism)?;
                match initial_response {
                    None => format!("AUTH {mechanism}"),
                    Some("") => format!("AUTH {mechanism} ="),
                    Some(ir) => {
                        check_argument("SASL initial response", ir, false)?;
                        format!("AUTH {mechanism} {ir}")
                    }
                }
            }
            Command::AuthResponse(response) => {
                if !response.is_empty() {
                    check_argument("SASL response", response, false)?;
                }
                response.to_string()
            }
            Command::List(Some(n)) | Command::Uidl(Some(n)) => {
                format!("{name} {}", check_number(n)?)
            }
            Command::Retr(n) | Command::Dele(n) => format!("{name} {}", check_number(n)?),
            Command::Top { number, lines } => format!("TOP {} {lines}", check_number(number)?),
            Command::Capa
            | Command::Stls
            | Command::Stat
            | Command::List(None)
            | Command::Uidl(None)
            | Command::Noop
            | Command::Rset
            | Command::Utf8
            | Command::Quit => name.to_string(),
        })
    }

    /// The command as it may be logged: `PASS`, the APOP digest and SASL payloads are
    /// replaced by `<redacted>`; no CRLF.
    pub fn trace_text(&self) -> String {
        const HIDDEN: &str = "<redacted>";
        match *self {
            Command::Pass(_) => format!("PASS {HIDDEN}"),
            Command::Apop { user, .. } => format!("APOP {user} {HIDDEN}"),
            Command::Auth {
                mechanism,
                initial_response: Some(_),
            } => format!("AUTH {mechanism} {HIDDEN}"),
            Command::AuthResponse("*") => "*".to_string(),
            Command::AuthResponse(_) => HIDDEN.to_string(),
            _ => self
                .line()
                .unwrap_or_else(|_| format!("{} <invalid>", self.name())),
        }
    }
}

/// How to start an `AUTH` exchange: the command, and the response to send after the
/// server's first `+` continuation if the initial response could not go with the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthPlan<'a> {
    /// The `AUTH` command to send.
    pub command: Command<'a>,
    /// The initial response to send after the first continuation, when it did not fit.
    pub deferred_response: Option<&'a str>,
}

/// Plans `AUTH mechanism` with an optional base64 initial response (RFC 5034 §4): the
/// response goes on the command line (an empty one as `=`) only if the whole line stays
/// within [`MAX_COMMAND_LINE`] octets; otherwise the command is sent bare and the response
/// follows the server's `+` continuation.
pub fn plan_auth<'a>(
    mechanism: &'a str,
    initial_response: Option<&'a str>,
) -> Result<AuthPlan<'a>> {
    let with = Command::Auth {
        mechanism,
        initial_response,
    };
    match with.encode() {
        Ok(_) => Ok(AuthPlan {
            command: with,
            deferred_response: None,
        }),
        Err(too_long) => {
            let bare = Command::Auth {
                mechanism,
                initial_response: None,
            };
            bare.encode()?;
            let Some(response) = initial_response else {
                return Err(too_long);
            };
            // Validate the deferred response now rather than after the server answered.
            Command::AuthResponse(response).encode()?;
            Ok(AuthPlan {
                command: bare,
                deferred_response: Some(response),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(c: Command<'_>) -> String {
        String::from_utf8(c.encode().unwrap()).unwrap()
    }

    fn invalid(c: Command<'_>) -> String {
        match c.encode() {
            Err(Error::InvalidInput { what, reason }) => format!("{what}: {reason}"),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn command_encoding() {
        assert_eq!(encoded(Command::Capa), "CAPA\r\n");
        assert_eq!(encoded(Command::User("alice")), "USER alice\r\n");
        assert_eq!(encoded(Command::Pass("two words")), "PASS two words\r\n");
        assert_eq!(
            encoded(Command::Apop {
                user: "mrose",
                digest: "c4c9334bac560ecc979e58001b3e22fb"
            }),
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"
        );
        assert_eq!(encoded(Command::List(None)), "LIST\r\n");
        assert_eq!(encoded(Command::List(Some(2))), "LIST 2\r\n");
        assert_eq!(encoded(Command::Uidl(Some(7))), "UIDL 7\r\n");
        assert_eq!(encoded(Command::Retr(1)), "RETR 1\r\n");
        assert_eq!(
            encoded(Command::Top {
                number: 3,
                lines: 0
            }),
            "TOP 3 0\r\n"
        );
        assert_eq!(encoded(Command::Dele(4)), "DELE 4\r\n");
        assert_eq!(encoded(Command::Stat), "STAT\r\n");
        assert_eq!(encoded(Command::Quit), "QUIT\r\n");
        assert_eq!(
            encoded(Command::Auth {
                mechanism: "PLAIN",
                initial_response: Some("")
            }),
            "AUTH PLAIN =\r\n"
        );
        assert_eq!(encoded(Command::AuthResponse("")), "\r\n");
        assert_eq!(encoded(Command::AuthResponse("*")), "*\r\n");
        assert!(Command::Retr(1).is_multi_line() && Command::Capa.is_multi_line());
        assert!(!Command::List(Some(1)).is_multi_line() && Command::List(None).is_multi_line());
    }

    #[test]
    fn command_injection_is_refused() {
        assert!(invalid(Command::User("a\r\nDELE 1")).contains("CR or LF"));
        assert!(invalid(Command::Pass("pw\nQUIT")).contains("CR or LF"));
        assert!(invalid(Command::Pass("p\0w")).contains("NUL"));
        assert!(invalid(Command::User("")).contains("empty"));
        assert!(
            invalid(Command::Apop {
                user: "a b",
                digest: "d"
            })
            .contains("space")
        );
        assert!(invalid(Command::Retr(0)).contains("start at 1"));
        assert!(
            invalid(Command::Top {
                number: 0,
                lines: 1
            })
            .contains("start at 1")
        );
        assert!(
            invalid(Command::Auth {
                mechanism: "PLAIN X",
                initial_response: None
            })
            .starts_with("SASL mechanism")
        );
        assert!(invalid(Command::AuthResponse("abc\r\n")).contains("CR or LF"));
    }

    #[test]
    fn the_255_octet_limit() {
        // "PASS " + 248 + CRLF = 255: allowed; one more is refused.
        let fits = "p".repeat(248);
        assert_eq!(Command::Pass(&fits).encode().unwrap().len(), 255);
        let over = "p".repeat(249);
        let reason = invalid(Command::Pass(&over));
        assert!(
            reason.contains("256 octets") && reason.contains("255"),
            "{reason}"
        );
        // A continuation response may be longer (OAuth2 tokens are).
        let long = "A".repeat(2000);
        assert_eq!(Command::AuthResponse(&long).encode().unwrap().len(), 2002);
    }

    #[test]
    fn auth_initial_response_rule() {
        // "AUTH PLAIN " (11) + 242 + CRLF = 255: sent with the command.
        let fits = "A".repeat(242);
        let plan = plan_auth("PLAIN", Some(&fits)).unwrap();
        assert_eq!(plan.deferred_response, None);
        assert_eq!(plan.command.encode().unwrap().len(), 255);
        // One octet more: sent after the continuation, command without "=".
        let over = "A".repeat(243);
        let plan = plan_auth("XOAUTH2", Some(&over)).unwrap();
        assert_eq!(plan.command.encode().unwrap(), b"AUTH XOAUTH2\r\n");
        assert_eq!(plan.deferred_response, Some(over.as_str()));
        // Empty initial response: "=".
        let plan = plan_auth("PLAIN", Some("")).unwrap();
        assert_eq!(plan.command.encode().unwrap(), b"AUTH PLAIN =\r\n");
        // No initial response (LOGIN).
        let plan = plan_auth("LOGIN", None).unwrap();
        assert_eq!(plan.command.encode().unwrap(), b"AUTH LOGIN\r\n");
        assert_eq!(plan.deferred_response, None);
        assert!(plan_auth("PLAIN", Some("a\r\nb")).is_err());
        assert!(plan_auth("PLAIN", Some(&format!("{over}\r\n"))).is_err());
        assert!(plan_auth("BAD MECH", Some("x")).is_err());
    }

    #[test]
    fn trace_text_redacts_secrets() {
        let secret = "s3cr3t";
        for c in [
            Command::Pass(secret),
            Command::Apop {
                user: "mrose",
                digest: secret,
            },
            Command::Auth {
                mechanism: "PLAIN",
                initial_response: Some(secret),
            },
            Command::AuthResponse(secret),
        ] {
            let t = c.trace_text();
            assert!(!t.contains(secret) && t.contains("<redacted>"), "{t}");
            assert!(!format!("{c:?}").contains(secret));
        }
        assert_eq!(
            Command::Apop {
                user: "mrose",
                digest: "d"
            }
            .trace_text(),
            "APOP mrose <redacted>"
        );
        assert_eq!(Command::User("alice").trace_text(), "USER alice");
        assert_eq!(Command::Retr(3).trace_text(), "RETR 3");
        assert_eq!(Command::AuthResponse("*").trace_text(), "*");
        assert_eq!(
            Command::Auth {
                mechanism: "LOGIN",
                initial_response: None
            }
            .trace_text(),
            "AUTH LOGIN"
        );
    }
}
