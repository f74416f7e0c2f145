//! The per-connection POP3 options: [`Pop3Options`] and the [`LoginMethod`] it chooses.

use crate::setters::setters;
#[cfg(doc)]
use crate::{config::Config, error::Error};

/// How the client logs in when the config has password credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LoginMethod {
    /// The mechanism forced in the [`Config`] (`auth_mechanism`) if any; otherwise `AUTH
    /// PLAIN` when the server lists it in `CAPA SASL`, else `USER` / `PASS`. OAuth2
    /// credentials always use `OAUTHBEARER` or `XOAUTH2`.
    #[default]
    Auto,
    /// `USER` then `PASS`, whatever the server offers.
    UserPass,
    /// `APOP` with the timestamp of the greeting (RFC 1939 §7). Fails with
    /// [`Error::InvalidInput`] if the greeting has no timestamp. MD5-based: no substitute for
    /// TLS.
    Apop,
}

/// Options of a [`Pop3Handler`](crate::pop3::Pop3Handler) beyond the [`Config`]: how to log in
/// and whether to pipeline.
///
/// ```
/// use mailwire::pop3::{LoginMethod, Pop3Options};
///
/// let options = Pop3Options::new()
///     .login_method(LoginMethod::Apop)
///     .pipelining(false);
/// assert!(!options.pipelining_enabled());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[must_use = "a Pop3Options does nothing until it is passed to a call"]
pub struct Pop3Options {
    /// How to log in with a password (default [`LoginMethod::Auto`]).
    pub login_method: LoginMethod,
    /// Whether `fetch_messages` pipelines its `RETR`s when the server advertises
    /// `PIPELINING` (default true). Turn it off for servers that advertise it but break.
    pub pipelining: bool,
    /// How many commands may be in flight at once when pipelining (default 32, at least 1).
    /// The command bytes in flight stay far below any socket buffer, so neither side can
    /// block the other whatever the size of the messages.
    pub pipeline_window: usize,
}

impl Default for Pop3Options {
    fn default() -> Self {
        Pop3Options {
            login_method: LoginMethod::Auto,
            pipelining: true,
            pipeline_window: 32,
        }
    }
}

impl Pop3Options {
    /// The defaults: automatic login method, pipelining on, a window of 32 commands.
    pub fn new() -> Pop3Options {
        Pop3Options::default()
    }

    setters! {
        /// Sets how to log in with a password.
        pub fn login_method(method: LoginMethod) { self.login_method = method }

        /// Turns pipelining on (the default, used only when the server advertises it) or off.
        pub fn pipelining(enabled: bool) { self.pipelining = enabled }

        /// Sets how many commands may be in flight when pipelining (values under 1 count as 1).
        pub fn pipeline_window(commands: usize) { self.pipeline_window = commands }
    }

    /// Whether pipelining is allowed by these options.
    pub fn pipelining_enabled(&self) -> bool {
        self.pipelining
    }
}
