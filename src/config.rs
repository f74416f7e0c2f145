//! Connection settings shared by the IMAP and POP3 clients.
//!
//! A [`Config`] describes one account on one server: where it is, how to secure the
//! connection, who to log in as, and the deadlines, retry policy and limits to apply. It is
//! built with [`Config::builder`], validated once by [`ConfigBuilder::build`], cheap to clone
//! and safe to share between threads.
//!
//! ```
//! use std::time::Duration;
//! use mailwire::{Config, Security};
//!
//! let config = Config::builder("imap.example.com")
//!     .security(Security::Tls)
//!     .login("alice@example.com", "app-password")
//!     .read_timeout(Duration::from_secs(20))
//!     .build()?;
//! assert_eq!(config.port(mailwire::Protocol::Imap), 993);
//! assert_eq!(config.port(mailwire::Protocol::Pop3), 995);
//! // Debug never shows a secret:
//! assert!(!format!("{config:?}").contains("app-password"));
//! # Ok::<(), mailwire::Error>(())
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

pub use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::sasl::Mechanism;

/// The protocol a [`Config`] is used with; it decides the default port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// IMAP4rev1 / IMAP4rev2.
    Imap,
    /// POP3.
    Pop3,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
        })
    }
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Security {
    /// TLS from the first byte (IMAPS on 993, POP3S on 995). The default.
    #[default]
    Tls,
    /// A plaintext connection upgraded with `STARTTLS` / `STLS` before anything else is
    /// sent (143 / 110). Fails if the server does not offer the upgrade; never falls back.
    StartTls,
    /// No encryption at all. Credentials cross the network readable: use only on loopback
    /// or a trusted network.
    Plain,
}

impl Security {
    /// The standard port for this security mode and protocol.
    pub fn default_port(self, protocol: Protocol) -> u16 {
        match (protocol, self) {
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, _) => 143,
            (Protocol::Pop3, Security::Tls) => 995,
            (Protocol::Pop3, _) => 110,
        }
    }
}

impl fmt::Display for Security {
    /// `tls`, `starttls` or `plain`: the form [`FromStr`](std::str::FromStr) reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
            Security::Plain => "plain",
        })
    }
}

impl std::str::FromStr for Security {
    type Err = Error;

    /// Parses `tls`, `ssl`, `starttls` or `plain` (any case).
    fn from_str(s: &str) -> Result<Security> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" | "ssl" | "imaps" | "pop3s" => Ok(Security::Tls),
            "starttls" | "stls" => Ok(Security::StartTls),
            "plain" | "none" | "insecure" => Ok(Security::Plain),
            other => Err(Error::invalid(
                "security",
                format!("{other:?} is not one of tls, starttls, plain"),
            )),
        }
    }
}

/// How failed connection attempts are retried: exponential backoff with jitter, transient
/// errors only (see [`Error::is_transient`]).
///
/// The delay before attempt *n + 1* is `initial_delay × multiplierⁿ⁻¹`, capped at
/// `max_delay`, randomised by ±25 %.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many attempts in all (1 = no retry). Default 3.
    pub max_attempts: u32,
    /// The delay before the second attempt. Default 1 s.
    pub initial_delay: Duration,
    /// The longest delay between two attempts. Default 30 s.
    pub max_delay: Duration,
    /// How much each delay grows. Default 2.0.
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// A policy that makes a single attempt.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// A policy of `max_attempts` attempts with the given initial delay (other fields
    /// default).
    pub fn new(max_attempts: u32, initial_delay: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_delay,
            ..RetryPolicy::default()
        }
    }

    /// Sets the longest delay.
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> RetryPolicy {
        self.max_delay = max_delay;
        self
    }

    /// Sets the growth factor.
    #[must_use]
    pub fn with_multiplier(mut self, multiplier: f64) -> RetryPolicy {
        self.multiplier = multiplier;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::invalid(
                "retry policy",
                "max_attempts must be at least 1",
            ));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(Error::invalid(
                "retry policy",
                format!(
                    "multiplier must be a finite number >= 1.0, got {}",
                    self.multiplier
                ),
            ));
        }
        if self.initial_delay > self.max_delay {
            return Err(Error::invalid(
                "retry policy",
                format!(
                    "initial_delay ({:?}) is longer than max_delay ({:?})",
                    self.initial_delay, self.max_delay
                ),
            ));
        }
        Ok(())
    }
}

/// A validated set of extra root certificates and TLS switches, ready to connect with.
#[derive(Clone)]
pub(crate) struct TlsSettings {
    pub(crate) connector: native_tls::TlsConnector,
    pub(crate) server_name: Option<String>,
    pub(crate) accept_invalid_certs: bool,
    /// The extra root certificates the connector trusts (DER, sorted, without duplicates):
    /// what the pool's reuse key compares, since two configs trusting different roots must
    /// never share a connection.
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("server_name", &self.server_name)
            .field("extra_roots", &self.extra_roots.len())
            .field("danger_accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

/// Limits that keep a misbehaving server from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest response line accepted, CRLF included. Default 8 MiB (a `SEARCH`
    /// answer over a million messages fits).
    pub max_line_length: usize,
    /// The largest literal (message body, header block) held in memory. Default 256 MiB.
    /// Streaming calls that write to a caller's writer are bounded by their buffer, not by
    /// this.
    pub max_literal_size: u64,
    /// The largest single IMAP response held in memory: all its lines and literals
    /// together. Default 512 MiB, or `max_literal_size` when that is larger and this was not
    /// set. A response made of many small literals is bound by this even when each literal
    /// is under `max_literal_size`.
    pub max_response_size: u64,
    /// How many untagged responses may wait, unread by the caller, while one command runs
    /// (another client's flag changes, `EXISTS`, …). Default 1,000,000.
    pub max_untagged_responses: usize,
    /// The bytes (as received) those waiting untagged responses may hold. Default 128 MiB.
    pub max_untagged_bytes: u64,
    /// The longest POP3 multi-line listing (`CAPA`, `LIST`, `UIDL`, `TOP` headers, …) held in
    /// memory, in bytes: counted on the bytes received and, again, on the parsed entries'
    /// memory. Default 256 MiB: a `UIDL` of a million messages with 70-character unique ids
    /// takes about 80 MiB.
    pub max_listing_size: u64,
    /// How many ranges (`a:b` or single numbers) a set sent by the server may have before
    /// it is refused (`SEARCH`, `ESEARCH`, `VANISHED`, a `[COPYUID]`). Default 4,000,000:
    /// memory for a set is bounded by its ranges, never by how many numbers they cover.
    pub max_set_ranges: usize,
    /// The slowest rate, in bytes per second, at which a response that takes longer than
    /// the read timeout must keep arriving. A response completes within `read_timeout`, or
    /// keeps arriving at this average rate over each `read_timeout` window after that; a
    /// server trickling one byte at a time cannot stretch a call. Default 1 KiB/s.
    pub min_transfer_rate: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_length: 8 * 1024 * 1024,
            max_literal_size: 256 * 1024 * 1024,
            max_response_size: 512 * 1024 * 1024,
            max_untagged_responses: 1_000_000,
            max_untagged_bytes: 128 * 1024 * 1024,
            max_listing_size: 256 * 1024 * 1024,
            max_set_ranges: 4_000_000,
            min_transfer_rate: 1024,
        }
    }
}

/// Everything needed to reach and log in to one account. Build it with
/// [`Config::builder`]; see the [module documentation](self) for an example.
///
/// `Clone` is cheap; `Debug` redacts the password or token.
#[derive(Clone)]
pub struct Config {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) pop3_port: Option<u16>,
    pub(crate) security: Security,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) limits: Limits,
    pub(crate) tls: Arc<TlsSettings>,
    pub(crate) auth_mechanism: Option<Mechanism>,
    pub(crate) memory_budget: Option<crate::MemoryBudget>,
}

impl Config {
    /// Starts a configuration for `host` with the defaults: implicit TLS, certificate
    /// verification on, 30 s connect / read / write timeouts, 3 connection attempts.
    pub fn builder(host: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            host: host.into(),
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
            response_size_set: false,
        }
    }

    /// The authentication mechanism asked for, if the caller chose one (otherwise the
    /// best one the server offers is used).
    pub fn auth_mechanism(&self) -> Option<Mechanism> {
        self.auth_mechanism
    }

    /// The process-wide memory budget this config's connections draw from, if any.
    pub fn memory_budget(&self) -> Option<&crate::MemoryBudget> {
        self.memory_budget.as_ref()
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port used for `protocol`: the one set with [`ConfigBuilder::pop3_port`] for
    /// POP3 if any, else the one set with [`ConfigBuilder::port`], else the standard port for
    /// the protocol and security mode.
    pub fn port(&self, protocol: Protocol) -> u16 {
        let explicit = match protocol {
            Protocol::Pop3 => self.pop3_port.or(self.port),
            Protocol::Imap => self.port,
        };
        explicit.unwrap_or_else(|| self.security.default_port(protocol))
    }

    /// How the connection is secured.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The credentials, if any were set.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The user name, if credentials were set.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(Credentials::user)
    }

    /// The deadline for connecting as a whole, per attempt: TCP, TLS handshake, greeting,
    /// STARTTLS, capabilities and login.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The time an answer has to complete; an answer that takes longer must keep arriving
    /// at [`Limits::min_transfer_rate`] over each window of this length.
    pub fn read_timeout(&self) -> Duration {
        self.read_timeout
    }

    /// The deadline for each write.
    pub fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// The retry policy for connecting.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// The memory limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The name the TLS certificate is checked against (the host unless overridden).
    pub fn tls_server_name(&self) -> &str {
        self.tls.server_name.as_deref().unwrap_or(&self.host)
    }

    /// Whether certificate verification is turned off.
    pub fn danger_accepts_invalid_certs(&self) -> bool {
        self.tls.accept_invalid_certs
    }

    /// `user@host:port` for `protocol`: how logs and pool errors name the account.
    pub fn account_label(&self, protocol: Protocol) -> String {
        match self.user() {
            Some(user) => format!("{user}@{}:{}", self.host, self.port(protocol)),
            None => format!("{}:{}", self.host, self.port(protocol)),
        }
    }

    /// Feeds into `state` everything that decides what a connection made from this config
    /// with `protocol` trusts and how it behaves: the identity behind the pool's
    /// [`ReuseKey`](crate::pool::ReuseKey).
    ///
    /// Built from an exhaustive destructuring of `Config` (and of the structs it holds), so
    /// a field added later does not compile until it is either fed here or ignored here on
    /// purpose, with the reason next to it.
    pub(crate) fn hash_reuse_identity<H: Hasher>(&self, protocol: Protocol, state: &mut H) {
        let Config {
            host,
            // What a connection uses is the port of `protocol`, fed below.
            port: _,
            pop3_port: _,
            security,
            credentials,
            connect_timeout,
            read_timeout,
            write_timeout,
            retry,
            limits,
            tls,
            auth_mechanism,
            memory_budget,
        } = self;
        protocol.hash(state);
        // Which budget a connection draws from: a connection of budget A is never handed
        // to a config of budget B (or of none). A connection holds its budget, so the
        // identity cannot be reused while the connection lives.
        memory_budget
            .as_ref()
            .map(crate::MemoryBudget::identity)
            .hash(state);
        host.to_ascii_lowercase().hash(state);
        self.port(protocol).hash(state);
        security.hash(state);
        match credentials {
            None => 0u8.hash(state),
            Some(Credentials::Password { user, password }) => (1u8, user, password).hash(state),
            Some(Credentials::OAuth2 { user, token }) => (2u8, user, token).hash(state),
        }
        auth_mechanism.hash(state);
        (connect_timeout, read_timeout, write_timeout).hash(state);
        let RetryPolicy {
            max_attempts,
            initial_delay,
            max_delay,
            multiplier,
        } = retry;
        (max_attempts, initial_delay, max_delay, multiplier.to_bits()).hash(state);
        let Limits {
            max_line_length,
            max_literal_size,
            max_response_size,
            max_untagged_responses,
            max_untagged_bytes,
            max_listing_size,
            max_set_ranges,
            min_transfer_rate,
        } = limits;
        (
            max_line_length,
            max_literal_size,
            max_response_size,
            max_untagged_responses,
            max_untagged_bytes,
            max_listing_size,
            max_set_ranges,
            min_transfer_rate,
        )
            .hash(state);
        let TlsSettings {
            // Built from nothing but the roots and the switch below, which stand for it.
            connector: _,
            // Fed below as the name actually checked.
            server_name: _,
            accept_invalid_certs,
            extra_roots,
        } = &**tls;
        // The name certificates are checked against (the host unless overridden).
        self.tls_server_name().to_ascii_lowercase().hash(state);
        accept_invalid_certs.hash(state);
        extra_roots.hash(state);
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("pop3_port", &self.pop3_port)
            .field("security", &self.security)
            .field("credentials", &self.credentials)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .field("tls", &self.tls)
            .field("auth_mechanism", &self.auth_mechanism)
            .field("memory_budget", &self.memory_budget)
            .finish()
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a [`Config`]; every setter takes and returns the builder.
#[must_use = "a builder does nothing until build() is called"]
#[derive(Clone)]
pub struct ConfigBuilder {
    host: String,
    port: Option<u16>,
    pop3_port: Option<u16>,
    security: Security,
    credentials: Option<Credentials>,
    connect_timeout: Duration,
    read_timeout: Duration,
    write_timeout: Duration,
    retry: RetryPolicy,
    limits: Limits,
    extra_roots_pem: Vec<Vec<u8>>,
    danger_accept_invalid_certs: bool,
    server_name: Option<String>,
    auth_mechanism: Option<Mechanism>,
    memory_budget: Option<crate::MemoryBudget>,
    /// Whether the caller set `max_response_size` (else it follows `max_literal_size` up).
    response_size_set: bool,
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
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// The port to connect to (default: 993 / 143 for IMAP, 995 / 110 for POP3, by
    /// security mode). Used for POP3 too unless [`pop3_port`](Self::pop3_port) is set.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The port used when this config connects with POP3.
    pub fn pop3_port(mut self, port: u16) -> Self {
        self.pop3_port = Some(port);
        self
    }

    /// How the connection is secured (default [`Security::Tls`]).
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
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

    /// Forces an authentication mechanism instead of letting mailwire choose.
    ///
    /// By default, with a password: IMAP `AUTHENTICATE PLAIN` when offered, else the
    /// `LOGIN` command (unless `LOGINDISABLED`), else SASL `LOGIN`; POP3 `AUTH PLAIN`, else
    /// `USER`/`PASS`. With an OAuth2 token: `OAUTHBEARER` when offered, else `XOAUTH2`.
    /// With IMAP, [`Mechanism::Login`] selects the `LOGIN`
    /// command (SASL `AUTHENTICATE LOGIN` only if the server sets `LOGINDISABLED`).
    pub fn auth_mechanism(mut self, mechanism: Mechanism) -> Self {
        self.auth_mechanism = Some(mechanism);
        self
    }

    /// Draws the response buffers of every connection made from this config from `budget`,
    /// shared with every other config given the same budget (see [`crate::MemoryBudget`]).
    pub fn memory_budget(mut self, budget: &crate::MemoryBudget) -> Self {
        self.memory_budget = Some(budget.clone());
        self
    }

    /// Sets the credentials directly.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The deadline for connecting as a whole, per attempt: TCP, TLS handshake, greeting,
    /// STARTTLS, capabilities and login (default 30 s). With retries, connecting takes at
    /// most `max_attempts` × this plus the backoff delays.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The time an answer has to complete (default 30 s); an answer that takes longer, such
    /// as a large message, must keep arriving at [`Limits::min_transfer_rate`] over each
    /// window of this length, so a trickling server cannot stretch a call.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The deadline for sending one command (default 30 s), plus the time
    /// [`Limits::min_transfer_rate`] allows for its bytes: a large APPEND on a slow link goes
    /// through, a server that stops reading cannot hold the call.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets connect, read and write timeouts at once.
    pub fn timeouts(self, timeout: Duration) -> Self {
        self.connect_timeout(timeout)
            .read_timeout(timeout)
            .write_timeout(timeout)
    }

    /// How connection attempts are retried (default: 3 attempts, 1 s initial delay).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The longest response line accepted (default 8 MiB, minimum 1 KiB).
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.limits.max_line_length = bytes;
        self
    }

    /// The largest literal held in memory (default 256 MiB).
    pub fn max_literal_size(mut self, bytes: u64) -> Self {
        self.limits.max_literal_size = bytes;
        self
    }

    /// The largest single IMAP response held in memory, literals included (default
    /// 512 MiB, or `max_literal_size` when that is larger; once set here it stands, and a
    /// literal larger than it is refused).
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.limits.max_response_size = bytes;
        self.response_size_set = true;
        self
    }

    /// How many untagged responses, and how many bytes of them, may wait unread while one
    /// command runs (default 1,000,000 and 128 MiB).
    pub fn max_untagged(mut self, responses: usize, bytes: u64) -> Self {
        self.limits.max_untagged_responses = responses;
        self.limits.max_untagged_bytes = bytes;
        self
    }

    /// The longest POP3 multi-line listing held in memory (default 256 MiB).
    pub fn max_listing_size(mut self, bytes: u64) -> Self {
        self.limits.max_listing_size = bytes;
        self
    }

    /// How many ranges a server-sent set may have (default 4,000,000).
    pub fn max_set_ranges(mut self, ranges: usize) -> Self {
        self.limits.max_set_ranges = ranges;
        self
    }

    /// The slowest average rate at which a response that outlasts the read timeout must
    /// keep arriving (default 1 KiB/s; see [`Limits::min_transfer_rate`]).
    pub fn min_transfer_rate(mut self, bytes_per_second: u64) -> Self {
        self.limits.min_transfer_rate = bytes_per_second;
        self
    }

    /// All limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.response_size_set = true;
        self
    }

    /// Trusts an extra root certificate (PEM) in addition to the system's: how to reach a
    /// server with a private CA or a self-signed certificate without turning verification
    /// off. May be called several times.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Checks the server's certificate against `name` instead of the host (for a server
    /// reached by IP address or through a tunnel).
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// **Turns certificate verification off**: any certificate, for any host, is
    /// accepted, so anyone on the network path can read and change the session, passwords
    /// included. For throw-away test servers only; prefer
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem).
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.danger_accept_invalid_certs = accept;
        self
    }

    /// Validates the settings and builds the [`Config`].
    ///
    /// Fails with [`Error::InvalidInput`] on an empty or malformed host or TLS server name,
    /// port 0, a zero timeout, an invalid retry policy, a line limit under 1 KiB, credentials
    /// with an empty user or containing NUL, CR or LF, OAuth2 credentials whose user or token
    /// holds any control character (`\x01` separates XOAUTH2 / OAUTHBEARER fields), or a
    /// root certificate that is not valid PEM.
    pub fn build(self) -> Result<Config> {
        let host = self.host.trim().to_string();
        if host.is_empty() {
            return Err(Error::invalid("host", "the host name is empty"));
        }
        if host
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(Error::invalid(
                "host",
                format!("{host:?} contains whitespace or control characters"),
            ));
        }
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
        if self.limits.max_line_length < 1024 {
            return Err(Error::invalid(
                "max_line_length",
                format!(
                    "{} bytes is below the minimum of 1024",
                    self.limits.max_line_length
                ),
            ));
        }
        if self.limits.max_literal_size == 0 {
            return Err(Error::invalid(
                "max_literal_size",
                "must be at least 1 byte",
            ));
        }
        // Unless the caller chose a response limit, a response can hold one literal of the
        // permitted size (raising max_literal_size alone must not make a config invalid).
        // A chosen response limit stands: a literal larger than it is refused by it.
        let mut limits = self.limits;
        if !self.response_size_set {
            limits.max_response_size = limits.max_response_size.max(limits.max_literal_size);
        }
        for (name, value) in [
            (
                "max_untagged_responses",
                self.limits.max_untagged_responses as u64,
            ),
            ("max_untagged_bytes", self.limits.max_untagged_bytes),
            ("max_listing_size", self.limits.max_listing_size),
            ("max_set_ranges", self.limits.max_set_ranges as u64),
            ("min_transfer_rate", self.limits.min_transfer_rate),
        ] {
            if value == 0 {
                return Err(Error::invalid(name, "must be at least 1"));
            }
        }
        if let Some(credentials) = &self.credentials {
            if credentials.user().is_empty() {
                return Err(Error::invalid("user name", "the user name is empty"));
            }
            let bad = |s: &str| s.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n'));
            if bad(credentials.user()) {
                return Err(Error::invalid("user name", "contains NUL, CR or LF"));
            }
            if bad(credentials.secret()) {
                return Err(Error::invalid(
                    "password or token",
                    "contains NUL, CR or LF",
                ));
            }
            if let Credentials::OAuth2 { user, token } = credentials {
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
        }
        if let Some(name) = &self.server_name {
            if name.trim().is_empty() {
                return Err(Error::invalid("TLS server name", "is empty"));
            }
            if name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            {
                return Err(Error::invalid(
                    "TLS server name",
                    format!("{name:?} contains whitespace or control characters"),
                ));
            }
        }

        let mut tls = native_tls::TlsConnector::builder();
        tls.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
        let mut extra_roots = Vec::with_capacity(self.extra_roots_pem.len());
        for (i, pem) in self.extra_roots_pem.iter().enumerate() {
            let cert = native_tls::Certificate::from_pem(pem).map_err(|e| {
                Error::invalid(
                    "root certificate",
                    format!("certificate #{} is not valid PEM: {e}", i + 1),
                )
            })?;
            // The certificate as trusted; its PEM text if it cannot be re-encoded (then two
            // spellings of one certificate count as different roots, never the reverse).
            extra_roots.push(cert.to_der().unwrap_or_else(|_| pem.clone()));
            tls.add_root_certificate(cert);
        }
        extra_roots.sort_unstable();
        extra_roots.dedup();
        if self.danger_accept_invalid_certs {
            tls.danger_accept_invalid_certs(true);
            tls.danger_accept_invalid_hostnames(true);
        }
        let connector = tls.build().map_err(|e| Error::Tls {
            host: host.clone(),
            message: format!("could not set up TLS: {e}"),
        })?;

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
            tls: Arc::new(TlsSettings {
                connector,
                server_name: self.server_name,
                accept_invalid_certs: self.danger_accept_invalid_certs,
                extra_roots,
            }),
            auth_mechanism: self.auth_mechanism,
            memory_budget: self.memory_budget,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(b: ConfigBuilder) -> String {
        match b.build() {
            Err(Error::InvalidInput { what, reason }) => format!("{what}: {reason}"),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = Config::builder("mail.example.org").build().unwrap();
        assert_eq!(c.port(Protocol::Imap), 993);
        assert_eq!(c.port(Protocol::Pop3), 995);
        assert_eq!(c.read_timeout(), Duration::from_secs(30));
        assert_eq!(c.connect_timeout(), Duration::from_secs(30));
        assert_eq!(c.write_timeout(), Duration::from_secs(30));
        assert_eq!(c.retry().max_attempts, 3);
        assert_eq!(c.security(), Security::Tls);
        assert!(!c.danger_accepts_invalid_certs());
        let s = Config::builder("h")
            .security(Security::StartTls)
            .build()
            .unwrap();
        assert_eq!((s.port(Protocol::Imap), s.port(Protocol::Pop3)), (143, 110));
        let p = Config::builder("h")
            .security(Security::Plain)
            .port(1143)
            .pop3_port(1110)
            .build()
            .unwrap();
        assert_eq!(
            (p.port(Protocol::Imap), p.port(Protocol::Pop3)),
            (1143, 1110)
        );
    }

    #[test]
    fn a_larger_literal_limit_raises_the_response_limit() {
        let config = Config::builder("h")
            .max_literal_size(1 << 30)
            .build()
            .unwrap();
        assert_eq!(config.limits().max_response_size, 1 << 30);
        let config = Config::builder("h")
            .max_response_size(1 << 20)
            .max_literal_size(1 << 22)
            .build()
            .unwrap();
        assert_eq!(
            config.limits().max_response_size,
            1 << 20,
            "chosen: it stands"
        );
        let config = Config::builder("h")
            .max_response_size(1 << 20)
            .build()
            .unwrap();
        assert_eq!(config.limits().max_response_size, 1 << 20);
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(invalid(Config::builder("")).starts_with("host"));
        assert!(invalid(Config::builder("  ")).starts_with("host"));
        assert!(invalid(Config::builder("a b")).starts_with("host"));
        assert!(invalid(Config::builder("h").port(0)).starts_with("port"));
        assert!(
            invalid(Config::builder("h").read_timeout(Duration::ZERO)).starts_with("read timeout")
        );
        assert!(
            invalid(Config::builder("h").retry(RetryPolicy::new(0, Duration::ZERO)))
                .starts_with("retry")
        );
        assert!(
            invalid(Config::builder("h").retry(RetryPolicy::default().with_multiplier(f64::NAN)))
                .starts_with("retry")
        );
        assert!(invalid(Config::builder("h").max_line_length(10)).starts_with("max_line_length"));
        assert!(invalid(Config::builder("h").login("", "pw")).starts_with("user name"));
        assert!(invalid(Config::builder("h").login("u", "p\r\nw")).starts_with("password"));
        assert!(
            invalid(Config::builder("h").add_root_certificate_pem("not pem"))
                .starts_with("root certificate")
        );
        // The name goes into the TLS handshake and the OAUTHBEARER `host=` field.
        for name in ["", " ", "a b", "a\x01host=evil", "a\x1b[2J"] {
            assert!(
                invalid(Config::builder("h").tls_server_name(name)).starts_with("TLS server name"),
                "{name:?}"
            );
        }
    }

    #[test]
    fn oauth2_refuses_control_bytes_in_user_and_token() {
        // `\x01` separates the fields of XOAUTH2 / OAUTHBEARER: one in the user name or the
        // token would let it add or change fields (`auth=`, `host=`).
        for bad in ["\x01", "\x00", "\x1b", "\t", "\x7f", "\r", "\n"] {
            let user = format!("alice{bad}auth=Bearer forged");
            assert!(
                invalid(Config::builder("h").oauth2(user, "tok")).starts_with("user name"),
                "user with {bad:?}"
            );
            let token = format!("tok{bad}host=evil");
            assert!(
                invalid(Config::builder("h").oauth2("alice", token))
                    .starts_with("password or token"),
                "token with {bad:?}"
            );
        }
        assert!(
            Config::builder("h")
                .oauth2("alice@example.org", "ya29.a-b_c~d+e/f=")
                .build()
                .is_ok()
        );
        // A password may hold other control characters (PLAIN carries any byte but NUL).
        assert!(
            Config::builder("h")
                .login("alice", "p\x01w")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Config::builder("h")
            .login("alice", "s3cret-pw")
            .build()
            .unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("alice") && !d.contains("s3cret-pw"), "{d}");
        let o = Config::builder("h")
            .oauth2("bob", "ya29.tokenvalue")
            .build()
            .unwrap();
        let d = format!(
            "{o:?} {:?}",
            Config::builder("h").oauth2("bob", "ya29.tokenvalue")
        );
        assert!(!d.contains("ya29"), "{d}");
        assert_eq!(o.account_label(Protocol::Pop3), "bob@h:995");
    }

    #[test]
    fn security_from_str() {
        assert_eq!("STARTTLS".parse::<Security>().unwrap(), Security::StartTls);
        assert_eq!("tls".parse::<Security>().unwrap(), Security::Tls);
        assert_eq!("plain".parse::<Security>().unwrap(), Security::Plain);
        assert!("tls1.3".parse::<Security>().is_err());
    }
}
