//! [`ConfigBuilder`]: the connection, login, timeout and retry setters, and `build`, which
//! checks everything once (limits and TLS check their own parts).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{
    Config, Credentials, Enable, Keepalive, Limits, ResolveOverrides, RetryPolicy, Security,
    TlsSettings,
};
use crate::error::{Error, Result};
use crate::imap::ImapConnection;
use crate::imap::hook::{ClientId, OnConnect};
use crate::sasl::Mechanism;
use crate::setters::setters;

/// The connect, read and write timeouts a builder starts with.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a [`Config`]; every setter takes and returns the builder.
#[must_use = "a builder does nothing until build() is called"]
#[derive(Clone)]
pub struct ConfigBuilder {
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) pop3_port: Option<u16>,
    pub(super) security: Security,
    pub(super) credentials: Option<Credentials>,
    pub(super) connect_timeout: Duration,
    pub(super) read_timeout: Duration,
    pub(super) write_timeout: Duration,
    pub(super) retry: RetryPolicy,
    pub(super) limits: Limits,
    pub(super) extra_roots_pem: Vec<Vec<u8>>,
    pub(super) danger_accept_invalid_certs: bool,
    pub(super) server_name: Option<String>,
    pub(super) auth_mechanism: Option<Mechanism>,
    pub(super) memory_budget: Option<crate::MemoryBudget>,
    pub(super) resolve: ResolveOverrides,
    pub(super) keepalive: Keepalive,
    pub(super) client_id: Option<(String, String)>,
    pub(super) on_connect: Option<OnConnect>,
    pub(super) enable: Enable,
    /// Whether the caller set `max_response_size` (else it follows `max_literal_size` up).
    pub(super) response_size_set: bool,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("pop3_port", &self.pop3_port)
            .field("security", &self.security)
            .field("credentials", &self.credentials)
            .field("extra_roots", &self.extra_roots_pem.len())
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .field("resolve", &self.resolve)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// A builder for `host` with every default (see [`Config::builder`]).
    pub(super) fn new(host: String) -> ConfigBuilder {
        ConfigBuilder {
            host,
            port: None,
            pop3_port: None,
            security: Security::default(),
            credentials: None,
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
            write_timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            limits: Limits::default(),
            extra_roots_pem: Vec::new(),
            danger_accept_invalid_certs: false,
            server_name: None,
            auth_mechanism: None,
            memory_budget: None,
            resolve: ResolveOverrides::default(),
            keepalive: Keepalive::default(),
            client_id: None,
            on_connect: None,
            enable: Enable::default(),
            response_size_set: false,
        }
    }

    setters! {
        /// The port to connect to (default: 993 / 143 for IMAP, 995 / 110 for POP3, by
        /// security mode). Used for POP3 too unless [`pop3_port`](Self::pop3_port) is set.
        pub fn port(port: u16) { self.port = Some(port) }

        /// The port used when this config connects with POP3.
        pub fn pop3_port(port: u16) { self.pop3_port = Some(port) }

        /// How the connection is secured (default [`Security::Tls`]).
        pub fn security(security: Security) { self.security = security }
    }

    /// Log in with a user name and password.
    pub fn login(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::Password {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Log in with an OAuth2 access token (`XOAUTH2` / `OAUTHBEARER`).
    pub fn oauth2(mut self, user: impl Into<String>, access_token: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::OAuth2 {
            user: user.into(),
            token: access_token.into(),
        });
        self
    }

    setters! {
        /// Forces an authentication mechanism instead of letting mailwire choose.
        ///
        /// By default, with a password: IMAP `AUTHENTICATE SCRAM-SHA-256`, else `SCRAM-SHA-1`,
        /// else `PLAIN` when offered, else the `LOGIN` command (unless `LOGINDISABLED`), else
        /// SASL `LOGIN`, else `CRAM-MD5`; POP3 `AUTH SCRAM-SHA-256`, else `SCRAM-SHA-1`, else
        /// `PLAIN`, else `USER`/`PASS` (the rule: docs/security.md). With an OAuth2 token: `OAUTHBEARER` when offered, else `XOAUTH2`.
        /// With IMAP, [`Mechanism::Login`] selects the `LOGIN`
        /// command (SASL `AUTHENTICATE LOGIN` only if the server sets `LOGINDISABLED`).
        pub fn auth_mechanism(mechanism: Mechanism) { self.auth_mechanism = Some(mechanism) }

        /// Draws the response buffers of every connection made from this config from `budget`,
        /// shared with every other config given the same budget (see [`crate::MemoryBudget`]).
        pub fn memory_budget(budget: &crate::MemoryBudget) {
            self.memory_budget = Some(budget.clone())
        }

        /// Sets the credentials directly.
        pub fn credentials(credentials: Credentials) { self.credentials = Some(credentials) }

        /// The deadline for connecting as a whole, per attempt: TCP, TLS handshake, greeting,
        /// STARTTLS, capabilities and login (default 30 s). With retries, connecting takes at
        /// most `max_attempts` × this plus the backoff delays.
        pub fn connect_timeout(timeout: Duration) { self.connect_timeout = timeout }

        /// The time an answer has to complete (default 30 s); an answer that takes longer, such
        /// as a large message, must keep arriving at [`Limits::min_transfer_rate`] over each
        /// window of this length, so a trickling server cannot stretch a call.
        pub fn read_timeout(timeout: Duration) { self.read_timeout = timeout }

        /// The deadline for sending one command (default 30 s), plus the time
        /// [`Limits::min_transfer_rate`] allows for its bytes: a large APPEND on a slow link goes
        /// through, a server that stops reading cannot hold the call.
        pub fn write_timeout(timeout: Duration) { self.write_timeout = timeout }
    }

    /// Sets connect, read and write timeouts at once.
    pub fn timeouts(self, timeout: Duration) -> Self {
        self.connect_timeout(timeout)
            .read_timeout(timeout)
            .write_timeout(timeout)
    }

    /// Sends `ID ("name" name "version" version)` (RFC 2971) right after every IMAP login
    /// when the server offers `ID`, before the [`on_connect`](Self::on_connect) hook and
    /// anything else the connection does (some providers, e.g. NetEase / 163.com, refuse
    /// `SELECT` with "Unsafe Login" without it): on [`ImapConnection::connect`], each new
    /// pooled connection and every (re)connect of an
    /// [`IdleListener`](crate::imap::IdleListener). Not sent when the server does not offer
    /// `ID`, nor over POP3, which has no `ID`. A `NO` / `BAD` answer is logged, not an
    /// error; the server's own `ID` answer is logged (escaped, at most 512 characters) at
    /// debug level.
    ///
    /// The values go out as IMAP strings, `"` and `\` escaped, so they cannot end the
    /// command; [`build`](Self::build) refuses an empty value, one over 1024 bytes (RFC
    /// 2971's limit) or one holding a control character (CR, LF, NUL, tab, …) with
    /// [`Error::InvalidInput`]. The ID is part of the pool's reuse key.
    ///
    /// ```
    /// use mailwire::{Config, Error};
    ///
    /// let config = Config::builder("imap.163.com")
    ///     .login("you@163.com", "client-authorization-code")
    ///     .client_id("my \"quoted\" service", "1.0")
    ///     .build()?;
    /// assert_eq!(config.client_id(), Some(("my \"quoted\" service", "1.0")));
    ///
    /// let refused = Config::builder("imap.163.com").client_id("evil\r\nA1 LOGOUT", "1.0").build();
    /// assert!(matches!(refused, Err(Error::InvalidInput { .. })));
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn client_id(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.client_id = Some((name.into(), version.into()));
        self
    }

    /// Runs `setup` on every IMAP connection the library opens for this config, after login
    /// (and after [`client_id`](Self::client_id)'s `ID`), before the connection is used:
    /// [`ImapConnection::connect`], each new pooled connection
    /// ([`ImapPool`](crate::imap::ImapPool), [`ImapHandler`](crate::imap::ImapHandler)) and
    /// every (re)connect of an [`IdleListener`](crate::imap::IdleListener). `setup` gets
    /// the connection and may run any command on it (`enable`, `namespace`,
    /// `raw_command`, …). It runs after the library's own setup: `ENABLE UTF8=ACCEPT` when
    /// offered (see [`utf8_accept`](Self::utf8_accept)) and `ENABLE IMAP4rev2` when asked
    /// for ([`imap4rev2`](Self::imap4rev2)).
    ///
    /// An error from `setup` fails that connect with the same error (the connection is
    /// closed); it is retried per the retry policy only if it is
    /// [transient](Error::is_transient). A panic in `setup` is caught and becomes an
    /// [`Error::InvalidInput`]. Connections made with another hook (or none) are never
    /// handed to this config by a pool. POP3 connections do not run it: POP3 has no
    /// per-connection state to set up (no `ENABLE`, `ID` or namespaces).
    ///
    /// ```
    /// use mailwire::Config;
    ///
    /// let config = Config::builder("imap.example.com")
    ///     .login("alice", "app-password")
    ///     .client_id("my-service", "1.0")
    ///     .on_connect(|conn| {
    ///         if conn.has_capability("CONDSTORE") {
    ///             conn.enable(&["CONDSTORE"])?;
    ///         }
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// assert!(config.has_on_connect());
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn on_connect(
        mut self,
        setup: impl Fn(&ImapConnection) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.on_connect = Some(OnConnect::new(setup));
        self
    }

    setters! {
        /// How connection attempts are retried (default: 3 attempts, 1 s initial delay).
        pub fn retry(retry: RetryPolicy) { self.retry = retry }

        /// The TCP keepalive of every connection (IMAP and POP3) made from this config:
        /// default on, 60 s idle, then a probe every 15 s, 4 probes, so a connection that
        /// silently died (a NAT dropped it) is noticed within
        /// [`Keepalive::detection_time`], 2 minutes; [`Keepalive::off`] turns it off.
        pub fn keepalive(keepalive: Keepalive) { self.keepalive = keepalive }
    }

    /// Validates the settings and builds the [`Config`].
    ///
    /// Fails with [`Error::InvalidInput`] on an empty or malformed host or TLS server name,
    /// port 0, a zero timeout, an invalid retry policy, a keepalive idle time or interval
    /// outside 1 s – 32,767 s or a probe count outside 1 – 127, a line limit under 1 KiB, credentials
    /// with an empty user or containing NUL, CR or LF, OAuth2 credentials whose user or token
    /// holds any control character (`\x01` separates XOAUTH2 / OAUTHBEARER fields), a
    /// [custom mechanism](Credentials::custom) whose name is not an RFC 4422 name or that
    /// comes with [`auth_mechanism`](Self::auth_mechanism), a
    /// root certificate that is not valid PEM, or a [`resolve`](Self::resolve) override out of
    /// its bounds.
    pub fn build(self) -> Result<Config> {
        let host = self.host.trim().to_string();
        if host.is_empty() {
            return Err(Error::invalid("host", "the host name is empty"));
        }
        check_name("host", &host)?;
        if self.port == Some(0) || self.pop3_port == Some(0) {
            return Err(Error::invalid("port", "port 0 cannot be connected to"));
        }
        for (name, value) in [
            ("connect timeout", self.connect_timeout),
            ("read timeout", self.read_timeout),
            ("write timeout", self.write_timeout),
        ] {
            if value.is_zero() {
                return Err(Error::invalid(name, "a timeout must be longer than zero"));
            }
        }
        self.retry.validate()?;
        self.keepalive.validate()?;
        let limits = self.limits.validated(self.response_size_set)?;
        if let Some(credentials) = &self.credentials {
            credentials.check()?;
            if let (Credentials::Custom(custom), Some(forced)) = (credentials, self.auth_mechanism)
            {
                return Err(Error::invalid(
                    "SASL mechanism",
                    format!(
                        "auth_mechanism({forced}) and the custom mechanism {} are both set: the custom mechanism is the one used, drop auth_mechanism",
                        custom.name()
                    ),
                ));
            }
        }
        let client_id = match self.client_id {
            Some((name, version)) => Some(ClientId::new(name, version)?),
            None => None,
        };
        let tls = TlsSettings::build(
            &host,
            &self.extra_roots_pem,
            self.server_name.as_deref(),
            self.danger_accept_invalid_certs,
        )?;
        Ok(Config {
            host,
            port: self.port,
            pop3_port: self.pop3_port,
            security: self.security,
            credentials: self.credentials,
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            retry: self.retry,
            limits,
            tls: Arc::new(tls),
            auth_mechanism: self.auth_mechanism,
            memory_budget: self.memory_budget,
            resolve: self.resolve.validated()?,
            keepalive: self.keepalive,
            client_id,
            on_connect: self.on_connect,
            enable: self.enable,
        })
    }
}

/// Refuses a host or server name holding whitespace or control characters (`what` names
/// the setting in the error).
pub(super) fn check_name(what: &str, name: &str) -> Result<()> {
    if name
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(Error::invalid(
            what,
            format!("{name:?} contains whitespace or control characters"),
        ));
    }
    Ok(())
}
