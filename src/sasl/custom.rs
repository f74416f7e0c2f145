//! Plug-in SASL mechanisms: the public [`SaslMechanism`] trait an application implements for
//! a mechanism mailwire does not have (NTLM, GSSAPI from another crate), the
//! [`CustomMechanism`] factory that credentials name it by, and [`Running`], which drives one
//! instance for one login with the caller's panics caught.
//!
//! Kept apart from `sasl/mod.rs` because `credentials.rs` holds a [`CustomMechanism`] while
//! `sasl/mod.rs` reads `Credentials`: this file imports neither.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::base64;
use crate::config::Protocol;
use crate::error::{Error, Result};

/// How many server challenges one login with a [`SaslMechanism`] may bring, in IMAP and
/// POP3 alike: a server that keeps challenging past it fails the login with
/// [`Error::Protocol`] instead of looping the client forever.
pub const MAX_CHALLENGES: usize = 16;

/// The longest mechanism name RFC 4422 §3.1 allows.
const MAX_NAME: usize = 20;

/// One SASL mechanism's client side for one login (RFC 4422), implemented by the
/// application for a mechanism mailwire does not have: NTLM, GSSAPI from another crate, an
/// in-house token scheme.
///
/// A fresh instance is made by the [`CustomMechanism`]'s factory for every login (every
/// direct connect, pooled connection and idle-listener reconnect), so the state of one
/// exchange never leaks into the next. mailwire sends the command (IMAP `AUTHENTICATE`, with
/// the initial response on the command line when the server offers `SASL-IR`, else after
/// its first empty challenge; POP3 `AUTH`), base64-encodes what the mechanism returns and
/// decodes what the server sends (strictly: a challenge that is not valid base64 cancels the
/// exchange with [`Error::Protocol`]). The payloads are never logged: the wire trace shows
/// them as `<redacted>`.
///
/// Neither IMAP nor POP3 carries data with the server's success: a server's final message
/// (a mutual-authentication token, SCRAM's `v=`) arrives as one more challenge, passed to
/// [`step`](Self::step), whose answer is then empty. [`finish`](Self::finish) runs after the
/// server's OK, where a mechanism that expected such a message and did not get it (or could
/// not verify it) refuses the login.
///
/// An error returned by any method cancels the exchange (`*`), and the connect fails with
/// that error once the server acknowledged the cancel; a panic is caught and becomes
/// [`Error::InvalidInput`] naming the mechanism. The methods run on the connecting thread
/// and their time counts against the connect deadline; an instance never leaves that
/// thread, so it need not be `Send` (the factory, kept in the config, is `Send + Sync`).
pub trait SaslMechanism {
    /// The initial response: `Some(bytes)` (possibly empty) when the mechanism speaks first,
    /// `None` when the server does (its first challenge then goes to [`step`](Self::step)).
    fn start(&mut self) -> Result<Option<Vec<u8>>>;

    /// The answer to one server challenge (already decoded from base64).
    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>>;

    /// The server accepted the login: an error here refuses it all the same (for example,
    /// the server never proved its identity). The default accepts.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// What a [`CustomMechanism`]'s factory is told about the login it makes a mechanism for
/// (a GSSAPI mechanism names its service principal from it: `imap@host`, `pop@host`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaslContext {
    /// IMAP or POP3.
    pub protocol: Protocol,
    /// The host connected to, as configured.
    pub host: String,
    /// The port connected to.
    pub port: u16,
    /// The user name of the credentials.
    pub user: String,
}

/// The function a [`CustomMechanism`] calls for every login.
type Make = dyn Fn(&SaslContext) -> Result<Box<dyn SaslMechanism>> + Send + Sync;

/// A plug-in mechanism as credentials hold it: the user, the mechanism's registered name and
/// the factory asked for a fresh [`SaslMechanism`] at every login. Made by
/// [`Credentials::custom`](crate::Credentials::custom).
///
/// The name is what the server must offer (`AUTH=NAME` in IMAP's capabilities, `SASL NAME`
/// in POP3's `CAPA`) and what the pool's reuse key holds: two configs with one user and one
/// mechanism name share pooled connections (the factory cannot be compared, as a
/// [`CredentialProvider`](crate::credentials::CredentialProvider)'s function cannot); two
/// names never do. Two values are equal when they also share the factory (clones).
#[derive(Clone)]
pub struct CustomMechanism {
    user: String,
    name: String,
    make: Arc<Make>,
}

impl CustomMechanism {
    pub(crate) fn new(
        user: String,
        name: String,
        make: impl Fn(&SaslContext) -> Result<Box<dyn SaslMechanism>> + Send + Sync + 'static,
    ) -> CustomMechanism {
        CustomMechanism {
            user,
            name,
            make: Arc::new(make),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The mechanism's name as sent on the wire (`NTLM`, `GSSAPI`, `X-TEST`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The factory's address, standing for it in `Eq` and `Hash`.
    fn address(&self) -> usize {
        Arc::as_ptr(&self.make).cast::<()>() as usize
    }

    /// Refuses a name RFC 4422 §3.1 does not allow: 1 to 20 characters of `A`–`Z`, `0`–`9`,
    /// `-` and `_` (upper case only).
    pub(crate) fn check_name(&self) -> Result<()> {
        let name = &self.name;
        let fits = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        if name.is_empty() || name.len() > MAX_NAME || !name.bytes().all(fits) {
            return Err(Error::invalid(
                "SASL mechanism",
                format!(
                    "{name:?} is not a SASL mechanism name (RFC 4422: 1 to {MAX_NAME} characters of A-Z, 0-9, - and _, upper case)"
                ),
            ));
        }
        Ok(())
    }

    /// A fresh mechanism for the login `context` describes, started: its initial response
    /// already asked for.
    pub(crate) fn begin(&self, context: &SaslContext) -> Result<Running> {
        let made = guarded(&self.name, "when asked for a new instance", || {
            (self.make)(context)
        })?;
        let mut running = Running {
            name: self.name.clone(),
            mechanism: made,
            initial: None,
        };
        let first = guarded(&self.name, "in start", || running.mechanism.start())?;
        running.initial = first.map(|bytes| base64::encode(&bytes));
        Ok(running)
    }
}

impl PartialEq for CustomMechanism {
    fn eq(&self, other: &CustomMechanism) -> bool {
        self.user == other.user && self.name == other.name && self.address() == other.address()
    }
}

impl Eq for CustomMechanism {}

impl Hash for CustomMechanism {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&self.user, &self.name, self.address()).hash(state);
    }
}

impl fmt::Debug for CustomMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomMechanism")
            .field("user", &self.user)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Runs the caller's `call`, turning a panic into [`Error::InvalidInput`] naming the
/// mechanism and `when` it panicked: a panic must not end the connecting thread (a pool's
/// caller, an idle listener's worker).
fn guarded<T>(name: &str, when: &str, call: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(call)).map_err(|_| {
        Error::invalid(
            "SASL mechanism",
            format!("the custom mechanism {name} panicked {when}"),
        )
    })?
}

/// One started [`SaslMechanism`] for one login. `Debug` shows only its name.
pub(crate) struct Running {
    name: String,
    mechanism: Box<dyn SaslMechanism>,
    /// The initial response, base64 (`Some("")` for an empty one).
    initial: Option<String>,
}

impl Running {
    /// The initial response (base64), if the mechanism speaks first.
    pub(crate) fn initial_response(&self) -> Option<String> {
        self.initial.clone()
    }

    /// The answer (base64) to the server's base64 `challenge`.
    ///
    /// Fails with [`Error::Protocol`] when the challenge is not base64, with the
    /// mechanism's own error, or with [`Error::InvalidInput`] when it panicked.
    pub(crate) fn respond(&mut self, challenge: &str) -> Result<String> {
        let decoded = base64::decode(challenge.trim().as_bytes()).map_err(|_| {
            Error::protocol(
                format!("the server's {} challenge is not base64", self.name),
                challenge.as_bytes(),
                0,
            )
        })?;
        let mechanism = &mut self.mechanism;
        let answer = guarded(&self.name, "in step", || mechanism.step(&decoded))?;
        Ok(base64::encode(&answer))
    }

    /// After the server's OK: the mechanism's verdict.
    pub(crate) fn finish(&mut self) -> Result<()> {
        let mechanism = &mut self.mechanism;
        guarded(&self.name, "in finish", || mechanism.finish())
    }
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers each challenge with `re:` and the challenge; panics on `boom`.
    struct Echo {
        first: Option<Vec<u8>>,
    }

    impl SaslMechanism for Echo {
        fn start(&mut self) -> Result<Option<Vec<u8>>> {
            Ok(self.first.take())
        }
        fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>> {
            if challenge == b"boom" {
                panic!("boom");
            }
            if challenge == b"fail" {
                return Err(Error::Auth {
                    mechanism: "X-ECHO".into(),
                    text: "refused".into(),
                });
            }
            Ok([b"re:".as_slice(), challenge].concat())
        }
    }

    fn custom(name: &str, first: Option<&'static [u8]>) -> CustomMechanism {
        CustomMechanism::new("u".into(), name.into(), move |_| {
            Ok(Box::new(Echo {
                first: first.map(<[u8]>::to_vec),
            }))
        })
    }

    fn context() -> SaslContext {
        SaslContext {
            protocol: Protocol::Imap,
            host: "h".into(),
            port: 143,
            user: "u".into(),
        }
    }

    #[test]
    fn names_follow_rfc_4422() {
        for good in ["X-TEST", "NTLM", "GSSAPI", "A", "SCRAM-SHA-256-PLUS", "A_1"] {
            assert!(custom(good, None).check_name().is_ok(), "{good}");
        }
        for bad in [
            "",
            "x-test",
            "X TEST",
            "X\r\nA1 LOGOUT",
            "X.TEST",
            "ABCDEFGHIJKLMNOPQRSTU",
            "É",
        ] {
            match custom(bad, None).check_name() {
                Err(Error::InvalidInput { what, .. }) => assert_eq!(what, "SASL mechanism"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_exchange_in_base64_and_panics_as_errors() {
        let mut r = custom("X-ECHO", Some(b"")).begin(&context()).unwrap();
        assert_eq!(r.initial_response().as_deref(), Some(""));
        assert_eq!(r.respond("aGk=").unwrap(), base64::encode(b"re:hi"));
        assert_eq!(r.respond(" aGk= ").unwrap(), base64::encode(b"re:hi"));
        assert!(matches!(r.respond("a!"), Err(Error::Protocol { .. })));
        assert!(matches!(
            r.respond(&base64::encode(b"fail")),
            Err(Error::Auth { .. })
        ));
        match r.respond(&base64::encode(b"boom")) {
            Err(Error::InvalidInput { reason, .. }) => {
                assert!(reason.contains("X-ECHO panicked in step"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(r.finish().is_ok());
        assert_eq!(format!("{r:?}"), "Running { name: \"X-ECHO\", .. }");
        let r = custom("X-ECHO", None).begin(&context()).unwrap();
        assert_eq!(r.initial_response(), None);
        let panics = CustomMechanism::new("u".into(), "X-P".into(), |_| panic!("factory"));
        assert!(matches!(
            panics.begin(&context()),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<CustomMechanism>();
        send_sync::<SaslContext>();
        send_sync::<crate::Credentials>();
    }

    #[test]
    fn equal_only_with_the_same_factory() {
        let a = custom("X-ECHO", None);
        assert_eq!(a, a.clone());
        assert_ne!(a, custom("X-ECHO", None));
        assert_eq!(
            format!("{a:?}"),
            "CustomMechanism { user: \"u\", name: \"X-ECHO\", .. }"
        );
    }
}
