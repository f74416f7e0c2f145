//! Who to log in as: the [`Credentials`] that configuration holds and SASL turns into
//! responses, in a module of their own so that neither depends on the other.

use std::fmt;

/// Who to log in as. `Debug` shows the user but never the secret.
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
}

impl Credentials {
    /// The user name.
    pub fn user(&self) -> &str {
        match self {
            Credentials::Password { user, .. } | Credentials::OAuth2 { user, .. } => user,
        }
    }

    /// The password or token.
    pub(crate) fn secret(&self) -> &str {
        match self {
            Credentials::Password { password, .. } => password,
            Credentials::OAuth2 { token, .. } => token,
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
        }
    }
}
