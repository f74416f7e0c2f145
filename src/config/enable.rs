//! Which IMAP extensions a connection turns on with `ENABLE` right after login:
//! `UTF8=ACCEPT` (RFC 6855) when offered unless switched off, `IMAP4rev2` (RFC 9051) only
//! when asked for. The setters on [`ConfigBuilder`], the getters on [`Config`].

use super::{Config, ConfigBuilder};

/// What `ENABLE` asks for after login (the session reads it; part of the pool's reuse key:
/// a connection with UTF-8 names is never handed to a config that turned them off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Enable {
    /// `ENABLE UTF8=ACCEPT` when the server offers it (default on).
    pub(crate) utf8_accept: bool,
    /// `ENABLE IMAP4rev2` when the server offers it (default off).
    pub(crate) imap4rev2: bool,
}

impl Default for Enable {
    fn default() -> Enable {
        Enable {
            utf8_accept: true,
            imap4rev2: false,
        }
    }
}

impl ConfigBuilder {
    /// Whether IMAP connections send `ENABLE UTF8=ACCEPT` (RFC 6855) after login when the
    /// server offers `UTF8=ACCEPT` (default `true`; not sent to a server that does not
    /// offer it). Once the server has enabled it, folder names go out and come back as
    /// UTF-8 instead of modified UTF-7 (the names callers give and get are the same
    /// either way), quoted strings may carry UTF-8, and
    /// [`append`](crate::imap::ImapConnection::append) sends a message whose header holds
    /// 8-bit bytes in the `UTF8 (~{n}…)` form of RFC 6855 §4. `false` keeps modified UTF-7
    /// (for a server whose UTF-8 support is broken). It runs before the
    /// [`on_connect`](Self::on_connect) hook, on every connection: direct, pooled and
    /// every (re)connect of an [`IdleListener`](crate::imap::IdleListener).
    ///
    /// ```
    /// use mailwire::Config;
    ///
    /// let config = Config::builder("imap.example.com").utf8_accept(false).build()?;
    /// assert!(!config.utf8_accept());
    /// assert!(Config::builder("imap.example.com").build()?.utf8_accept());
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn utf8_accept(mut self, on: bool) -> Self {
        self.enable.utf8_accept = on;
        self
    }

    /// Whether IMAP connections send `ENABLE IMAP4rev2` (RFC 9051) after login when the
    /// server offers `IMAP4rev2` (default `false`). What changes once the server enabled
    /// it is listed in docs/imap.md ("IMAP4rev2"): `SEARCH` is answered with `ESEARCH`
    /// (read the same way), no `\Recent` ([`Mailbox::recent`](crate::imap::Mailbox::recent)
    /// stays 0, `STATUS` no longer asks `RECENT`), folder names in UTF-8, and the
    /// extensions IMAP4rev2 contains count as offered.
    ///
    /// A server that does not offer `IMAP4rev2` is not an error: the connection stays
    /// IMAP4rev1 (logged at debug level) and
    /// [`ImapConnection::is_imap4rev2`](crate::imap::ImapConnection::is_imap4rev2) says
    /// which one it speaks. When `IMAP4rev2` is enabled, `UTF8=ACCEPT` is not (IMAP4rev2
    /// contains it).
    ///
    /// ```
    /// use mailwire::Config;
    ///
    /// let config = Config::builder("imap.example.com").imap4rev2(true).build()?;
    /// assert!(config.imap4rev2());
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn imap4rev2(mut self, on: bool) -> Self {
        self.enable.imap4rev2 = on;
        self
    }
}

impl Config {
    /// Whether `ENABLE UTF8=ACCEPT` is sent after login when offered (see
    /// [`ConfigBuilder::utf8_accept`]).
    pub fn utf8_accept(&self) -> bool {
        self.enable.utf8_accept
    }

    /// Whether `ENABLE IMAP4rev2` is sent after login when offered (see
    /// [`ConfigBuilder::imap4rev2`]).
    pub fn imap4rev2(&self) -> bool {
        self.enable.imap4rev2
    }
}
