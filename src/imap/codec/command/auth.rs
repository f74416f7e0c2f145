//! Credentials on the wire: the redacted [`Secret`], the LOGIN / AUTHENTICATE arguments
//! and the SASL answer lines.

use std::fmt;

use crate::atom::check_atom;
use crate::error::Result;
use crate::imap::codec::writer::{EncodedCommand, Syntax, Writer};

/// A SASL answer line whose text is already encoded (base64, or `*` to cancel); traced
/// as `<redacted>`.
pub(crate) fn sasl_line(text: &str) -> EncodedCommand {
    let mut line = text.as_bytes().to_vec();
    line.extend_from_slice(b"\r\n");
    EncodedCommand::line(line, "<redacted>")
}

/// A client response in an `AUTHENTICATE` exchange: `data` in BASE64 and CRLF (an empty
/// response is an empty line). Redacted in the trace.
pub fn sasl_response(data: &[u8]) -> EncodedCommand {
    let mut line = crate::base64::encode(data).into_bytes();
    line.extend_from_slice(b"\r\n");
    EncodedCommand::line(line, "<redacted>")
}

/// A secret (password, token, SASL initial response): sent as given, shown as `<redacted>`
/// by `Debug` and in traces.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.as_bytes().to_vec())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s.into_bytes())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(v: Vec<u8>) -> Secret {
        Secret(v)
    }
}

/// `LOGIN user password`: the password is redacted in the trace.
pub(super) fn login(w: &mut Writer<'_>, user: &str, password: &Secret) -> Result<()> {
    w.sp();
    w.astring(user.as_bytes(), "user name")?;
    w.sp();
    w.write_string(password.expose(), Syntax::Astring, true, "password")?;
    Ok(())
}

/// `AUTHENTICATE mechanism [initial-response]`: the response in BASE64 (`=` when empty),
/// redacted in the trace.
pub(super) fn authenticate(
    w: &mut Writer<'_>,
    mechanism: &str,
    initial_response: Option<&Secret>,
) -> Result<()> {
    check_atom(mechanism, "SASL mechanism")?;
    w.sp();
    w.token(mechanism);
    if let Some(ir) = initial_response {
        w.sp();
        let text = if ir.expose().is_empty() {
            "=".to_string()
        } else {
            crate::base64::encode(ir.expose())
        };
        w.secret_token(&text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::enc;
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::EncodeOptions;

    #[test]
    fn login_password_redacted_in_every_form() {
        for pw in ["hunter2", "two words", "new\nline", ""] {
            let c = Command::login("bob", pw)
                .encode("A1", &EncodeOptions::new())
                .unwrap();
            assert!(c.trace_text().ends_with("<redacted>"), "{}", c.trace_text());
            if !pw.is_empty() {
                assert!(!c.trace_text().contains(pw));
            }
        }
        let auth = Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::from("\0bob\0pw")),
        };
        let c = auth.encode("A2", &EncodeOptions::new()).unwrap();
        assert_eq!(c.to_bytes(), b"A2 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n");
        assert_eq!(c.trace_text(), "A2 AUTHENTICATE PLAIN <redacted>");
        let empty = Command::Authenticate {
            mechanism: "EXTERNAL".into(),
            initial_response: Some(Secret::new(Vec::new())),
        };
        assert_eq!(enc(&empty), "A1 AUTHENTICATE EXTERNAL =\r\n");
        assert_eq!(sasl_response(b"abc").to_bytes(), b"YWJj\r\n");
        assert_eq!(sasl_response(b"abc").trace_text(), "<redacted>");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secret = "s3cret-Pa55";
        let login = Command::login("bob", secret);
        let auth = Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::from(format!("\0bob\0{secret}").as_str())),
        };
        for command in [&login, &auth] {
            assert!(!format!("{command:?}").contains(secret), "{command:?}");
            let encoded = command.encode("A1", &EncodeOptions::new()).unwrap();
            let shown = format!("{encoded:?}");
            assert!(!shown.contains(secret), "{shown}");
            // Nor its base64 form (AUTHENTICATE PLAIN).
            assert!(!shown.contains("AGJvYgBzM2NyZXQtUGE1NQ"), "{shown}");
        }
        assert!(!format!("{:?}", Secret::from(secret)).contains(secret));
    }
}
