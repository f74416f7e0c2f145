//! SASL client responses shared by IMAP `AUTHENTICATE` and POP3 `AUTH`.
//!
//! The client responses are built here already base64-encoded, ready to be sent as an initial
//! response or after a server continuation. Which mechanism is used is decided by
//! [`Mechanism`] selection from what the server offers and what credentials are configured:
//! OAuth2 credentials use `OAUTHBEARER` (RFC 7628) or else `XOAUTH2`; a password uses
//! `SCRAM-SHA-256`, else `SCRAM-SHA-1` (RFC 7677 / RFC 5802), else `PLAIN` (RFC 4616), else
//! the protocol's own login (IMAP `LOGIN`, POP3 `USER` / `PASS`), else `LOGIN`, and
//! `CRAM-MD5` (RFC 2195) only when nothing else can carry the password or when configured.
//!
//! `SCRAM-*` and `CRAM-MD5` answer the server's challenges: an internal exchange drives them
//! (one mechanism per file: `sasl/scram.rs`, `sasl/cram_md5.rs`). A mechanism mailwire does
//! not have is plugged in by the application through [`SaslMechanism`] and
//! [`Credentials::custom`] (`sasl/custom.rs`), and runs through the same exchange.

mod cram_md5;
pub(crate) mod custom;
mod scram;

pub use custom::{CustomMechanism, MAX_CHALLENGES, SaslContext, SaslMechanism};

use std::fmt;
use std::str::FromStr;

use crate::base64;
use crate::credentials::Credentials;
use crate::error::{Error, Result};

/// A SASL mechanism mailwire can authenticate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616): user and password in one response.
    Plain,
    /// `LOGIN`: user and password as answers to two server prompts.
    Login,
    /// `XOAUTH2` (Google and Microsoft): user and OAuth2 bearer token.
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628): user, host, port and OAuth2 bearer token.
    OAuthBearer,
    /// `CRAM-MD5` (RFC 2195): HMAC-MD5 of the server's challenge keyed with the password.
    /// The password is not sent, but the server must keep it in clear and a captured answer
    /// allows an offline dictionary attack: chosen automatically only when nothing else fits.
    CramMd5,
    /// `SCRAM-SHA-1` (RFC 5802), without channel binding: the password is not sent and the
    /// server must prove it knows it.
    ScramSha1,
    /// `SCRAM-SHA-256` (RFC 7677), without channel binding: the preferred password
    /// mechanism when the server offers it.
    ScramSha256,
}

/// Every mechanism, in the order of [`Mechanism::from_str`]'s error message.
const ALL: [Mechanism; 7] = [
    Mechanism::Plain,
    Mechanism::Login,
    Mechanism::XOAuth2,
    Mechanism::OAuthBearer,
    Mechanism::CramMd5,
    Mechanism::ScramSha1,
    Mechanism::ScramSha256,
];

impl Mechanism {
    /// The mechanism's registered name as sent on the wire (`PLAIN`, `LOGIN`, …).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    /// Whether the mechanism authenticates with an OAuth2 token rather than a password.
    pub fn uses_oauth2(self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mechanism {
    type Err = Error;

    /// Parses a mechanism name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Mechanism> {
        ALL.into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::invalid(
                    "SASL mechanism",
                    format!("{s:?} is not one of PLAIN, LOGIN, XOAUTH2, OAUTHBEARER, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256"),
                )
            })
    }
}

/// The password mechanisms preferred over the protocol's own login (IMAP `LOGIN`, POP3
/// `USER` / `PASS`), best first.
const BEST_PASSWORD: [Mechanism; 3] = [
    Mechanism::ScramSha256,
    Mechanism::ScramSha1,
    Mechanism::Plain,
];

/// The best of `SCRAM-SHA-256`, `SCRAM-SHA-1`, `PLAIN` that `server_mechanisms` offers, if
/// any: what a password logs in with before the protocol's own login is considered.
pub(crate) fn best_password<S: AsRef<str>>(server_mechanisms: &[S]) -> Option<Mechanism> {
    BEST_PASSWORD
        .into_iter()
        .find(|m| offers(server_mechanisms, *m))
}

fn offers<S: AsRef<str>>(server_mechanisms: &[S], m: Mechanism) -> bool {
    server_mechanisms
        .iter()
        .any(|s| s.as_ref().trim().eq_ignore_ascii_case(m.name()))
}

/// Picks the best mechanism among `server_mechanisms` (names as the server listed them, any
/// case) for `credentials`.
///
/// OAuth2 credentials: `OAUTHBEARER`, else `XOAUTH2`. Password: `SCRAM-SHA-256`, else
/// `SCRAM-SHA-1`, else `PLAIN`, else `LOGIN`, else `CRAM-MD5`.
/// Fails with [`Error::InvalidInput`] naming what the server offers when none fits.
pub(crate) fn choose<S: AsRef<str>>(
    server_mechanisms: &[S],
    credentials: &Credentials,
) -> Result<Mechanism> {
    let preference: &[Mechanism] = match credentials {
        Credentials::OAuth2 { .. } => &[Mechanism::OAuthBearer, Mechanism::XOAuth2],
        Credentials::Password { .. } => &[
            Mechanism::ScramSha256,
            Mechanism::ScramSha1,
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
        ],
        // A provider's secret is asked for before a mechanism is chosen; a custom
        // mechanism is named by the credentials, never chosen.
        Credentials::Provider(_) | Credentials::Custom(_) => &[],
    };
    if let Some(&m) = preference.iter().find(|&&m| offers(server_mechanisms, m)) {
        return Ok(m);
    }
    let kind = match credentials {
        Credentials::OAuth2 { .. } => "OAuth2 credentials need OAUTHBEARER or XOAUTH2",
        Credentials::Password { .. } => {
            "password credentials need SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN or CRAM-MD5"
        }
        Credentials::Provider(_) => "a credential provider's secret is needed first",
        Credentials::Custom(_) => "a custom mechanism is used by its name, never chosen",
    };
    Err(Error::invalid(
        "SASL mechanism",
        format!(
            "{kind}, but the server offers: {}",
            offered_text(server_mechanisms)
        ),
    ))
}

/// The mechanisms a server offers, for an error message (`none` for none).
fn offered_text<S: AsRef<str>>(server_mechanisms: &[S]) -> String {
    let list: Vec<&str> = server_mechanisms.iter().map(|s| s.as_ref()).collect();
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(" ")
    }
}

/// Fails with [`Error::InvalidInput`] naming the custom mechanism `name` and what the
/// server offers, unless `server_mechanisms` holds `name` (any case): checked before
/// anything of the exchange is sent.
pub(crate) fn require_offered<S: AsRef<str>>(server_mechanisms: &[S], name: &str) -> Result<()> {
    if server_mechanisms
        .iter()
        .any(|s| s.as_ref().trim().eq_ignore_ascii_case(name))
    {
        return Ok(());
    }
    Err(Error::invalid(
        "SASL mechanism",
        format!(
            "the custom mechanism {name} is not offered by the server, which offers: {}",
            offered_text(server_mechanisms)
        ),
    ))
}

/// `PLAIN` response: base64 of `\0user\0password` (empty authorization identity).
pub(crate) fn plain(user: &str, password: &str) -> String {
    let mut raw = Vec::with_capacity(user.len() + password.len() + 2);
    raw.push(0);
    raw.extend_from_slice(user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(password.as_bytes());
    base64::encode(&raw)
}

/// `LOGIN` responses: the user name (answer to the first prompt) then the password (answer
/// to the second), each base64.
pub(crate) fn login(user: &str, password: &str) -> [String; 2] {
    [
        base64::encode(user.as_bytes()),
        base64::encode(password.as_bytes()),
    ]
}

/// Refuses a value that holds an ASCII control character: `^A` (`\x01`) separates the
/// fields of `XOAUTH2` and `OAUTHBEARER`, so one in the user name or the token would add or
/// change fields (`auth=`, `host=`) of the message the server reads.
fn refuse_controls(what: &str, value: &str) -> Result<()> {
    match value.bytes().find(u8::is_ascii_control) {
        Some(b) => Err(Error::invalid(
            what,
            format!(
                "contains the control character \\x{b:02x} (\\x01 separates the fields of XOAUTH2 / OAUTHBEARER)"
            ),
        )),
        None => Ok(()),
    }
}

/// `XOAUTH2` response: base64 of `user=U^Aauth=Bearer T^A^A`.
///
/// Fails with [`Error::InvalidInput`] when the user or the token holds a control character.
pub(crate) fn xoauth2(user: &str, token: &str) -> Result<String> {
    refuse_controls("user name", user)?;
    refuse_controls("OAuth2 token", token)?;
    Ok(base64::encode(
        format!("user={user}\x01auth=Bearer {token}\x01\x01").as_bytes(),
    ))
}

/// `OAUTHBEARER` response (RFC 7628 §3.1): base64 of
/// `n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A`, with `,` and `=` in the user escaped as
/// `=2C` and `=3D` (RFC 5801 `saslname`).
///
/// Fails with [`Error::InvalidInput`] when the user, the token or the host holds a control
/// character.
pub(crate) fn oauthbearer(user: &str, token: &str, host: &str, port: u16) -> Result<String> {
    refuse_controls("user name", user)?;
    refuse_controls("OAuth2 token", token)?;
    refuse_controls("host", host)?;
    let user = user.replace('=', "=3D").replace(',', "=2C");
    Ok(base64::encode(
        format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
            .as_bytes(),
    ))
}

/// The first client response of `mechanism` for `credentials`, base64 (`host` and `port` are
/// used by `OAUTHBEARER` only). For `LOGIN` this is the user name; the password follows
/// with [`login`]'s second element.
///
/// Fails with [`Error::InvalidInput`] if the mechanism does not fit the credentials, or an
/// OAuth2 user name, token or host holds a control character.
pub(crate) fn initial_response(
    mechanism: Mechanism,
    credentials: &Credentials,
    host: &str,
    port: u16,
) -> Result<String> {
    let user = credentials.user();
    let secret = credentials.secret();
    match (mechanism, credentials) {
        (Mechanism::Plain, Credentials::Password { .. }) => Ok(plain(user, secret)),
        (Mechanism::Login, Credentials::Password { .. }) => {
            let [user, _] = login(user, "");
            Ok(user)
        }
        (Mechanism::XOAuth2, Credentials::OAuth2 { .. }) => xoauth2(user, secret),
        (Mechanism::OAuthBearer, Credentials::OAuth2 { .. }) => {
            oauthbearer(user, secret, host, port)
        }
        (Mechanism::CramMd5 | Mechanism::ScramSha1 | Mechanism::ScramSha256, _) => {
            Err(Error::invalid(
                "SASL mechanism",
                format!("{mechanism} answers challenges: it runs through sasl::Exchange"),
            ))
        }
        (m, _) => Err(Error::invalid(
            "SASL mechanism",
            format!(
                "{m} needs {} credentials",
                if m.uses_oauth2() {
                    "OAuth2"
                } else {
                    "password"
                }
            ),
        )),
    }
}

/// The text of an `XOAUTH2` / `OAUTHBEARER` error challenge: the server sends base64 JSON
/// such as `{"status":"401","schemes":"bearer","scope":"…"}` in a continuation before it
/// fails the command. Returns the decoded JSON text (lossy UTF-8), or the challenge itself
/// if it is not valid base64.
pub(crate) fn decode_error_challenge(challenge: &str) -> String {
    let trimmed = challenge.trim();
    match base64::decode(trimmed.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => trimmed.to_string(),
    }
}

/// The client response that acknowledges an error challenge so the server can finish with
/// its failure status: empty for `XOAUTH2`, base64 of `^A` for `OAUTHBEARER`
/// (RFC 7628 §3.2.3); `*` (cancel) for the other mechanisms.
pub(crate) fn error_acknowledgement(mechanism: Mechanism) -> &'static str {
    match mechanism {
        Mechanism::XOAuth2 => "",
        Mechanism::OAuthBearer => "AQ==",
        _ => "*",
    }
}

/// Lowercase hexadecimal of `bytes` (CRAM-MD5 and APOP digests).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// A challenge-driven exchange (`SCRAM-*`, `CRAM-MD5`, a custom mechanism): the session sends
/// [`Exchange::initial_response`] (if any), answers each server challenge with
/// [`Exchange::respond`], and on the server's success calls [`Exchange::verified`] (SCRAM
/// refuses a server that did not prove it knows the password).
#[derive(Debug)]
pub(crate) enum Exchange {
    /// SCRAM-SHA-1 or SCRAM-SHA-256.
    Scram(scram::Scram),
    /// CRAM-MD5; `answered` once the challenge was answered.
    CramMd5 {
        /// The user name.
        user: String,
        /// The password (kept out of `Debug` by `Credentials`' redaction rules: never
        /// printed, see the `Debug` of [`Exchange`] users).
        password: Redacted,
        /// Whether the challenge has been answered.
        answered: bool,
    },
    /// The application's [`SaslMechanism`], started.
    Custom(custom::Running),
}

/// A password held by an [`Exchange`], shown as `<redacted>`.
pub(crate) struct Redacted(String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Exchange {
    /// The exchange for `mechanism` with `credentials`, or `None` when the mechanism sends
    /// fixed responses (`PLAIN`, `LOGIN`, `XOAUTH2`, `OAUTHBEARER`: see
    /// [`initial_response`]).
    ///
    /// Fails with [`Error::InvalidInput`] when the credentials are not a password, or
    /// SASLprep refuses the password (SCRAM).
    pub(crate) fn start(
        mechanism: Mechanism,
        credentials: &Credentials,
    ) -> Result<Option<Exchange>> {
        let hash = match mechanism {
            Mechanism::ScramSha1 => Some(scram::Hash::Sha1),
            Mechanism::ScramSha256 => Some(scram::Hash::Sha256),
            Mechanism::CramMd5 => None,
            _ => return Ok(None),
        };
        let Credentials::Password { user, password } = credentials else {
            return Err(Error::invalid(
                "SASL mechanism",
                format!("{mechanism} needs password credentials"),
            ));
        };
        Ok(Some(match hash {
            Some(hash) => Exchange::Scram(scram::Scram::new(hash, user, password)?),
            None => Exchange::CramMd5 {
                user: user.clone(),
                password: Redacted(password.clone()),
                answered: false,
            },
        }))
    }

    /// The initial response (base64), sent with the command: SCRAM's client-first message;
    /// none for CRAM-MD5 (the server speaks first).
    pub(crate) fn initial_response(&self) -> Option<String> {
        match self {
            Exchange::Scram(s) => Some(s.client_first()),
            Exchange::CramMd5 { .. } => None,
            Exchange::Custom(c) => c.initial_response(),
        }
    }

    /// The answer (base64, or `*` to cancel) to the server's base64 `challenge`.
    ///
    /// Fails with [`Error::Protocol`] on a malformed challenge, [`Error::Auth`] when the
    /// server refuses the SCRAM exchange in its first message (`e=`).
    pub(crate) fn respond(&mut self, challenge: &str) -> Result<String> {
        match self {
            Exchange::Scram(s) => s.respond(challenge),
            Exchange::Custom(c) => c.respond(challenge),
            Exchange::CramMd5 { answered: true, .. } => Ok("*".to_string()),
            Exchange::CramMd5 {
                user,
                password,
                answered,
            } => {
                *answered = true;
                cram_md5::response(user, &password.0, challenge)
            }
        }
    }

    /// After the server's success: fails with [`Error::Auth`] if SCRAM's server did not
    /// prove it knows the password (`command` names the login command in the error), or
    /// with what a custom mechanism's [`finish`](SaslMechanism::finish) returned.
    pub(crate) fn verified(&mut self, command: &str) -> Result<()> {
        match self {
            Exchange::Scram(s) => s.verified(command),
            Exchange::CramMd5 { .. } => Ok(()),
            Exchange::Custom(c) => c.finish(),
        }
    }

    /// After the server's refusal: the error to return instead of the server's own when
    /// the client cancelled because the server failed to prove it knows the password.
    pub(crate) fn failure(&self, command: &str) -> Option<Error> {
        match self {
            Exchange::Scram(s) => s.failure(command),
            Exchange::CramMd5 { .. } | Exchange::Custom(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(b64: &str) -> Vec<u8> {
        base64::decode(b64.as_bytes()).unwrap()
    }

    fn password() -> Credentials {
        Credentials::Password {
            user: "alice".into(),
            password: "pw".into(),
        }
    }

    fn oauth() -> Credentials {
        Credentials::OAuth2 {
            user: "bob@example.com".into(),
            token: "ya29.tok".into(),
        }
    }

    #[test]
    fn plain_layout() {
        assert_eq!(plain("alice", "pw"), "AGFsaWNlAHB3");
        assert_eq!(
            decoded(&plain("tim", "tanstaaftanstaaf")),
            b"\0tim\0tanstaaftanstaaf"
        );
        // UTF-8 is sent as is.
        assert_eq!(decoded(&plain("jöe", "pä ss")), "\0jöe\0pä ss".as_bytes());
    }

    #[test]
    fn login_answers() {
        let [u, p] = login("alice", "pw");
        assert_eq!((u.as_str(), p.as_str()), ("YWxpY2U=", "cHc="));
    }

    #[test]
    fn xoauth2_layout() {
        // The example of Google's XOAUTH2 documentation.
        assert_eq!(
            xoauth2(
                "someuser@example.com",
                "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
            )
            .unwrap(),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
    }

    #[test]
    fn oauthbearer_layout() {
        // RFC 7628 §4.1.
        assert_eq!(
            decoded(
                &oauthbearer(
                    "user@example.com",
                    "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                    "server.example.com",
                    143
                )
                .unwrap()
            ),
            b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert!(
            decoded(&oauthbearer("a,b=c", "t", "h", 1).unwrap())
                .starts_with(b"n,a=a=2Cb=3Dc,\x01host=h")
        );
    }

    #[test]
    fn choosing() {
        let m = |list: &[&str], c: &Credentials| choose(list, c);
        assert_eq!(
            m(&["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"], &oauth()).unwrap(),
            Mechanism::OAuthBearer
        );
        assert_eq!(
            m(&["plain", "xoauth2"], &oauth()).unwrap(),
            Mechanism::XOAuth2
        );
        assert_eq!(
            m(&["LOGIN", "PLAIN", "XOAUTH2"], &password()).unwrap(),
            Mechanism::Plain
        );
        assert_eq!(
            m(&["CRAM-MD5", "login"], &password()).unwrap(),
            Mechanism::Login
        );
        // SCRAM-SHA-256 > SCRAM-SHA-1 > PLAIN; CRAM-MD5 only when nothing else fits.
        assert_eq!(
            m(
                &["PLAIN", "SCRAM-SHA-1", "scram-sha-256", "CRAM-MD5"],
                &password()
            )
            .unwrap(),
            Mechanism::ScramSha256
        );
        assert_eq!(
            m(&["PLAIN", "CRAM-MD5", "SCRAM-SHA-1"], &password()).unwrap(),
            Mechanism::ScramSha1
        );
        assert_eq!(
            m(&["CRAM-MD5", "GSSAPI"], &password()).unwrap(),
            Mechanism::CramMd5
        );
        assert_eq!(best_password(&["CRAM-MD5", "LOGIN"]), None);
        assert_eq!(best_password(&["PLAIN", "LOGIN"]), Some(Mechanism::Plain));
        assert_eq!(
            best_password(&["PLAIN", "SCRAM-SHA-256"]),
            Some(Mechanism::ScramSha256)
        );
        match m(&["DIGEST-MD5", "GSSAPI"], &password()) {
            Err(Error::InvalidInput { reason, .. }) => {
                assert!(reason.contains("DIGEST-MD5 GSSAPI"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(m(&["PLAIN", "LOGIN"], &oauth()).is_err());
        assert!(m(&[], &password()).is_err());
    }

    #[test]
    fn initial_responses_match_credentials() {
        assert_eq!(
            initial_response(Mechanism::Plain, &password(), "h", 1).unwrap(),
            plain("alice", "pw")
        );
        assert_eq!(
            initial_response(Mechanism::Login, &password(), "h", 1).unwrap(),
            "YWxpY2U="
        );
        assert_eq!(
            initial_response(Mechanism::XOAuth2, &oauth(), "h", 1).unwrap(),
            xoauth2("bob@example.com", "ya29.tok").unwrap()
        );
        assert_eq!(
            initial_response(Mechanism::OAuthBearer, &oauth(), "imap.h", 993).unwrap(),
            oauthbearer("bob@example.com", "ya29.tok", "imap.h", 993).unwrap()
        );
        assert!(initial_response(Mechanism::Plain, &oauth(), "h", 1).is_err());
        assert!(initial_response(Mechanism::XOAuth2, &password(), "h", 1).is_err());
    }

    #[test]
    fn oauth_builders_refuse_control_bytes() {
        let invalid = |r: Result<String>| match r {
            Err(Error::InvalidInput { what, .. }) => what,
            other => panic!("expected InvalidInput, got {other:?}"),
        };
        for c in ['\x01', '\x00', '\x1b', '\t', '\r', '\n', '\x7f'] {
            let bad = format!("x{c}auth=Bearer forged");
            assert_eq!(invalid(xoauth2(&bad, "tok")), "user name");
            assert_eq!(invalid(xoauth2("u", &bad)), "OAuth2 token");
            assert_eq!(invalid(oauthbearer(&bad, "tok", "h", 1)), "user name");
            assert_eq!(invalid(oauthbearer("u", &bad, "h", 1)), "OAuth2 token");
            assert_eq!(invalid(oauthbearer("u", "tok", &bad, 1)), "host");
            let creds = Credentials::OAuth2 {
                user: bad.clone(),
                token: "tok".into(),
            };
            for m in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
                assert_eq!(invalid(initial_response(m, &creds, "h", 1)), "user name");
            }
        }
        // UTF-8 and RFC 6750 token characters pass.
        assert!(xoauth2("jöe@example.org", "ya29.a-b_c~d+e/f=").is_ok());
    }

    #[test]
    fn error_challenges() {
        let json = r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        let challenge = base64::encode(json.as_bytes());
        assert_eq!(decode_error_challenge(&challenge), json);
        assert_eq!(decode_error_challenge(&format!(" {challenge}\r\n")), json);
        assert_eq!(decode_error_challenge("not base64!"), "not base64!");
        assert_eq!(
            error_acknowledgement(Mechanism::OAuthBearer),
            base64::encode(b"\x01")
        );
        assert_eq!(error_acknowledgement(Mechanism::XOAuth2), "");
    }

    #[test]
    fn mechanism_names() {
        for m in ALL {
            assert_eq!(m.name().to_lowercase().parse::<Mechanism>().unwrap(), m);
            assert_eq!(m.to_string(), m.name());
        }
        assert_eq!("cram-md5".parse::<Mechanism>().unwrap(), Mechanism::CramMd5);
        assert!("DIGEST-MD5".parse::<Mechanism>().is_err());
        assert!(Mechanism::XOAuth2.uses_oauth2() && !Mechanism::Login.uses_oauth2());
    }
}
