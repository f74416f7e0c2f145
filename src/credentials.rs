//! Who to log in as: [`Credentials`], a fixed password or OAuth2 token, a
//! [`CredentialProvider`] asked at every login ([`Ask`] says why, [`Secret`] is its answer)
//! or an application's own SASL mechanism ([`CustomMechanism`]); in a module of their own so
//! that configuration and SASL use them without depending on each other.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::sasl::custom::{CustomMechanism, SaslContext, SaslMechanism};

/// Who to log in as. `Debug` shows the user but never the secret.
///
/// A fixed [`Password`](Credentials::Password) or [`OAuth2`](Credentials::OAuth2) token is
/// sent as is at every login; a [`provider`](Credentials::provider) is asked for the secret
/// at every login instead, so that rotated passwords and refreshed tokens reach pools and
/// idle listeners that reconnect.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Credentials {
    /// A user name and password (IMAP `LOGIN` / `AUTHENTICATE PLAIN`, POP3 `USER`/`PASS`,
    /// `APOP`, `AUTH PLAIN`).
    Password {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// A user name and an OAuth2 access token (`XOAUTH2` / `OAUTHBEARER`).
    OAuth2 {
        /// The user name (usually the e-mail address).
        user: String,
        /// The access token.
        token: String,
    },
    /// A user name and a provider asked for the password or token at every login (see
    /// [`Credentials::provider`]).
    Provider(CredentialProvider),
    /// A user name and the application's own SASL mechanism, used by its name (see
    /// [`Credentials::custom`]).
    Custom(CustomMechanism),
}

/// What a [`CredentialProvider`] is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ask {
    /// A login is about to happen: hand out the current secret (a token cache returns its
    /// cached token unless it knows it expired).
    First,
    /// The server just rejected the secret handed out for this login: hand out a fresh one
    /// (refresh the token, re-read the password store). Asked at most once per connect;
    /// if the server rejects that secret too, the connect fails with [`Error::Auth`].
    Rejected,
}

/// A secret a [`CredentialProvider`] hands out. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Secret {
    /// A password (IMAP `LOGIN` / `AUTHENTICATE PLAIN`, POP3 `USER`/`PASS`, `APOP`,
    /// `AUTH PLAIN`).
    Password(String),
    /// An OAuth2 access token (`XOAUTH2` / `OAUTHBEARER`).
    OAuth2Token(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::OAuth2Token(_) => f.write_str("OAuth2Token(<redacted>)"),
        }
    }
}

/// The function a [`CredentialProvider`] calls.
type Provide = dyn Fn(Ask) -> Result<Secret> + Send + Sync;

/// A user name, a caller-given name and the function asked for the secret at every login.
/// Made by [`Credentials::provider`].
///
/// Two providers are equal when they share the function (clones of one provider). The
/// pool names a provider's account by the user and the provider's *name*, never by the
/// secrets it hands out: every connection made with one name shares the account's
/// connections, across any number of refreshes. Give two providers that hand out secrets of
/// different accounts (or different rights) different names.
#[derive(Clone)]
pub struct CredentialProvider {
    user: String,
    name: String,
    provide: Arc<Provide>,
}

impl CredentialProvider {
    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The caller-given name (what the pool's reuse key and the logs use).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The function's address, standing for it in `Eq` and `Hash`.
    fn address(&self) -> usize {
        Arc::as_ptr(&self.provide).cast::<()>() as usize
    }
}

impl PartialEq for CredentialProvider {
    fn eq(&self, other: &CredentialProvider) -> bool {
        self.user == other.user && self.name == other.name && self.address() == other.address()
    }
}

impl Eq for CredentialProvider {}

impl Hash for CredentialProvider {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&self.user, &self.name, self.address()).hash(state);
    }
}

impl fmt::Debug for CredentialProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialProvider")
            .field("user", &self.user)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials whose password or token `provide` hands out at every login: direct
    /// connects, pool connects, idle-listener reconnects and POP3 alike.
    ///
    /// `provide` is asked with [`Ask::First`] before each login; when the server rejects
    /// the secret (an [`Error::Auth`] that is not [transient](Error::is_transient): a
    /// throttling answer never counts), it is asked once more with [`Ask::Rejected`] and
    /// the login is tried once more (on the same connection when the server kept it open,
    /// else on a new one) before the connect fails with [`Error::Auth`]. An error `provide`
    /// returns fails the connect with that error (a transient one is retried per the
    /// config's retry policy); a panic in `provide` is caught and fails the connect with an
    /// [`Error::InvalidInput`] naming the provider. It runs on the connecting thread, and
    /// its time counts against the connect deadline: keep it quick or cache.
    ///
    /// `name` names the account in the pool's reuse key (see [`CredentialProvider`]) and in
    /// logs; secrets are never logged.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use mailwire::{Config, Credentials};
    /// use mailwire::credentials::{Ask, Secret};
    ///
    /// // A token cache: hand out the cached token, refresh it when the server rejected it.
    /// let cache = Arc::new(Mutex::new(String::from("token-1")));
    /// let credentials = Credentials::provider("alice@example.com", "alice-oauth", move |ask| {
    ///     let mut token = cache.lock().unwrap();
    ///     if ask == Ask::Rejected {
    ///         *token = String::from("token-2"); // fetch a fresh one here
    ///     }
    ///     Ok(Secret::OAuth2Token(token.clone()))
    /// });
    /// let config = Config::builder("imap.example.com").credentials(credentials).build()?;
    /// assert_eq!(config.user(), Some("alice@example.com"));
    /// assert!(!format!("{config:?}").contains("token-1"));
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn provider(
        user: impl Into<String>,
        name: impl Into<String>,
        provide: impl Fn(Ask) -> Result<Secret> + Send + Sync + 'static,
    ) -> Credentials {
        Credentials::Provider(CredentialProvider {
            user: user.into(),
            name: name.into(),
            provide: Arc::new(provide),
        })
    }

    /// Credentials that log in with the application's own SASL mechanism `name` (NTLM,
    /// GSSAPI, …: one mailwire does not have), IMAP `AUTHENTICATE` and POP3 `AUTH` alike.
    /// `make` is asked for a fresh [`SaslMechanism`] at every login (direct connects, pool
    /// connects, idle-listener reconnects), with the [`SaslContext`] of that login.
    ///
    /// `name` must be a SASL mechanism name (RFC 4422: 1 to 20 characters of `A`–`Z`,
    /// `0`–`9`, `-`, `_`, upper case): [`ConfigBuilder::build`](crate::ConfigBuilder::build)
    /// refuses another with [`Error::InvalidInput`], and refuses it together with
    /// [`auth_mechanism`](crate::ConfigBuilder::auth_mechanism). The server must offer it;
    /// else the connect fails with [`Error::InvalidInput`] naming it and what the server
    /// offers, before anything of the exchange is sent. POP3 logs in with `AUTH` whatever
    /// the [`LoginMethod`](crate::pop3::LoginMethod) (as with OAuth2), and
    /// [`Pop3Handler::logged_in_with`](crate::pop3::Pop3Handler::logged_in_with) says
    /// `"SASL"`.
    ///
    /// `user` names the account (the pool's [`AccountKey`](crate::pool::AccountKey)) and the
    /// logs; the pool's reuse key holds the user and `name`, so configs with another
    /// mechanism name never share a connection. See [`SaslMechanism`] for how the exchange
    /// runs, its errors and its bound of [`MAX_CHALLENGES`](crate::sasl::MAX_CHALLENGES)
    /// challenges.
    ///
    /// ```
    /// use mailwire::sasl::{SaslContext, SaslMechanism};
    /// use mailwire::{Config, Credentials, Result};
    ///
    /// /// PLAIN (RFC 4616) as an application would plug in its own mechanism.
    /// struct MyPlain {
    ///     user: String,
    ///     password: String,
    /// }
    ///
    /// impl SaslMechanism for MyPlain {
    ///     fn start(&mut self) -> Result<Option<Vec<u8>>> {
    ///         Ok(Some(format!("\0{}\0{}", self.user, self.password).into_bytes()))
    ///     }
    ///     fn step(&mut self, _challenge: &[u8]) -> Result<Vec<u8>> {
    ///         Ok(Vec::new())
    ///     }
    /// }
    ///
    /// let credentials = Credentials::custom("alice", "PLAIN", |login: &SaslContext| {
    ///     Ok(Box::new(MyPlain {
    ///         user: login.user.clone(),
    ///         password: "app-password".into(),
    ///     }) as Box<dyn SaslMechanism>)
    /// });
    /// let config = Config::builder("imap.example.com").credentials(credentials).build()?;
    /// assert_eq!(config.user(), Some("alice"));
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn custom(
        user: impl Into<String>,
        name: impl Into<String>,
        make: impl Fn(&SaslContext) -> Result<Box<dyn SaslMechanism>> + Send + Sync + 'static,
    ) -> Credentials {
        Credentials::Custom(CustomMechanism::new(user.into(), name.into(), make))
    }

    /// The user name.
    pub fn user(&self) -> &str {
        match self {
            Credentials::Password { user, .. } | Credentials::OAuth2 { user, .. } => user,
            Credentials::Provider(p) => &p.user,
            Credentials::Custom(c) => c.user(),
        }
    }

    /// The password or token (empty for a provider: logins use [`resolve`](Self::resolve);
    /// empty for a custom mechanism, which holds its own secrets).
    pub(crate) fn secret(&self) -> &str {
        match self {
            Credentials::Password { password, .. } => password,
            Credentials::OAuth2 { token, .. } => token,
            Credentials::Provider(_) | Credentials::Custom(_) => "",
        }
    }

    /// Whether the secret comes from a provider.
    pub(crate) fn is_provider(&self) -> bool {
        matches!(self, Credentials::Provider(_))
    }

    /// The fixed credentials to send for this login: these, or what the provider hands
    /// out for `ask` (checked as [`ConfigBuilder::build`](crate::ConfigBuilder::build)
    /// checks fixed ones).
    pub(crate) fn resolve(&self, ask: Ask) -> Result<Credentials> {
        let Credentials::Provider(p) = self else {
            return Ok(self.clone());
        };
        log::debug!(target: "mailwire::credentials", "asking the credential provider {:?} for {} ({ask:?})", p.name, p.user);
        // A panic in the caller's function must not end the connecting thread (a pool's
        // caller, an idle listener's worker): it fails this connect instead.
        let provided = catch_unwind(AssertUnwindSafe(|| (p.provide)(ask))).map_err(|_| {
            Error::invalid(
                "credential provider",
                format!("the provider {:?} panicked when asked {ask:?}", p.name),
            )
        })?;
        let resolved = match provided? {
            Secret::Password(password) => Credentials::Password {
                user: p.user.clone(),
                password,
            },
            Secret::OAuth2Token(token) => Credentials::OAuth2 {
                user: p.user.clone(),
                token,
            },
        };
        resolved.check().map_err(|e| match e {
            Error::InvalidInput { what, reason } => Error::InvalidInput {
                what,
                reason: format!("credential provider {:?}: {reason}", p.name),
            },
            other => other,
        })?;
        Ok(resolved)
    }

    /// Refuses an empty user and user names or secrets that could change the commands they
    /// go into (NUL, CR, LF; with OAuth2 any control character).
    pub(crate) fn check(&self) -> Result<()> {
        if self.user().is_empty() {
            return Err(Error::invalid("user name", "the user name is empty"));
        }
        if let Credentials::Custom(c) = self {
            c.check_name()?;
        }
        let bad = |s: &str| s.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n'));
        if bad(self.user()) {
            return Err(Error::invalid("user name", "contains NUL, CR or LF"));
        }
        if bad(self.secret()) {
            return Err(Error::invalid(
                "password or token",
                "contains NUL, CR or LF",
            ));
        }
        if let Credentials::OAuth2 { user, token } = self {
            // `\x01` separates the fields of XOAUTH2 / OAUTHBEARER: any control
            // character in them could add or change fields.
            let control = |s: &str| s.bytes().any(|b| b.is_ascii_control());
            if control(user) {
                return Err(Error::invalid(
                    "user name",
                    "contains a control character (not allowed with OAuth2: \\x01 separates XOAUTH2 / OAUTHBEARER fields)",
                ));
            }
            if control(token) {
                return Err(Error::invalid(
                    "password or token",
                    "the OAuth2 token contains a control character (\\x01 separates XOAUTH2 / OAUTHBEARER fields)",
                ));
            }
        }
        Ok(())
    }
}

/// Whether `error` is the server rejecting the secret sent (rather than a throttling
/// answer, which is transient and must not cost a refresh).
pub(crate) fn is_rejection(error: &Error) -> bool {
    matches!(error, Error::Auth { .. }) && !error.is_transient()
}

/// How one connect asks a provider: [`Ask::First`] until the server rejected a secret, then
/// [`Ask::Rejected`] once; attempts after that refresh (a retry after a transient failure)
/// ask [`Ask::First`] again and never refresh a second time.
#[derive(Debug)]
pub(crate) struct Asking {
    /// The server rejected a secret and the provider has not yet been asked for a fresh one
    /// (it closed the connection: the fresh secret goes to the next connect).
    refresh_due: bool,
    /// The provider was asked with [`Ask::Rejected`] in this connect.
    refreshed: bool,
    /// The server rejected the first secret and closed the connection: the refreshed
    /// secret is to be tried on a new one.
    reconnect: bool,
}

impl Asking {
    pub(crate) fn new() -> Asking {
        Asking {
            refresh_due: false,
            refreshed: false,
            reconnect: false,
        }
    }

    /// Whether a rejection on a closed connection asks for one more connect (once, and
    /// not when a retry of the connect already tried the refreshed secret).
    pub(crate) fn take_reconnect(&mut self) -> bool {
        std::mem::take(&mut self.reconnect) && !self.refreshed
    }

    /// The next question for the provider (a due refresh is asked once).
    fn ask(&mut self) -> Ask {
        if std::mem::take(&mut self.refresh_due) {
            self.refreshed = true;
            Ask::Rejected
        } else {
            Ask::First
        }
    }

    /// Logs in on `session` with `credentials`: `attempt` sends one secret. A provider's
    /// rejected secret is refreshed once: retried on the same session when `usable` says it
    /// is still open, else left for the next connect (see [`take_reconnect`](Self::take_reconnect)).
    pub(crate) fn log_in<S>(
        &mut self,
        credentials: &Credentials,
        session: &mut S,
        usable: impl Fn(&S) -> bool,
        mut attempt: impl FnMut(&mut S, &Credentials) -> Result<()>,
    ) -> Result<()> {
        let ask = self.ask();
        let secret = credentials.resolve(ask)?;
        match attempt(session, &secret) {
            Err(e) if credentials.is_provider() && !self.refreshed && is_rejection(&e) => {
                self.refresh_due = true;
                log::debug!(target: "mailwire::credentials", "the server rejected the provided secret for {}: {e}; asking for a fresh one", credentials.user());
                if !usable(session) {
                    self.reconnect = true;
                    return Err(e);
                }
                let secret = credentials.resolve(self.ask())?;
                attempt(session, &secret)
            }
            other => other,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password { user, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::OAuth2 { user, .. } => f
                .debug_struct("OAuth2")
                .field("user", user)
                .field("token", &"<redacted>")
                .finish(),
            Credentials::Provider(p) => f.debug_tuple("Provider").field(p).finish(),
            Credentials::Custom(c) => f.debug_tuple("Custom").field(c).finish(),
        }
    }
}
