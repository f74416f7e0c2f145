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

mod builder;
mod enable;
mod keepalive;
mod limits;
mod resolve;
mod retry;
mod security;
mod tls;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use crate::credentials::Credentials;
use crate::error::Result;
use crate::imap::hook::{ClientId, OnConnect};
use crate::sasl::Mechanism;
pub use builder::ConfigBuilder;
pub(crate) use enable::Enable;
pub use keepalive::Keepalive;
pub use limits::Limits;
use resolve::ResolveOverrides;
pub use retry::RetryPolicy;
pub use security::{Protocol, Security};
pub(crate) use tls::TlsSettings;

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
    pub(crate) resolve: ResolveOverrides,
    pub(crate) keepalive: Keepalive,
    pub(crate) client_id: Option<ClientId>,
    pub(crate) on_connect: Option<OnConnect>,
    pub(crate) enable: Enable,
}

impl Config {
    /// Starts a configuration for `host` with the defaults: implicit TLS, certificate
    /// verification on, 30 s connect / read / write timeouts, 3 connection attempts.
    pub fn builder(host: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder::new(host.into())
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

    /// The `ID` fields (name, version) sent after login, if set with
    /// [`ConfigBuilder::client_id`].
    pub fn client_id(&self) -> Option<(&str, &str)> {
        self.client_id
            .as_ref()
            .map(|c| (c.name.as_str(), c.version.as_str()))
    }

    /// Whether a setup hook was set with [`ConfigBuilder::on_connect`].
    pub fn has_on_connect(&self) -> bool {
        self.on_connect.is_some()
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

    /// This config with another retry policy: how one call is made to fail fast (or to try
    /// harder) without a second account.
    ///
    /// The policy decides only how a connection is *opened*, so configs that differ in it
    /// alone share the pool's connections and permits: a call through an
    /// [`ImapHandler`](crate::imap::ImapHandler) or a pool with
    /// `account.with_retry(RetryPolicy::none())?` takes an idle connection as usual, and
    /// when it must connect, makes one attempt and returns its error at once (with the
    /// default policy a server that is down holds the call for three attempts and the
    /// delays between them; docs/errors.md). Fails with [`Error::InvalidInput`](crate::Error::InvalidInput) for a
    /// policy [`ConfigBuilder::build`] would refuse.
    ///
    /// ```no_run
    /// use mailwire::{Config, RetryPolicy};
    /// use mailwire::imap::ImapHandler;
    ///
    /// let handler = ImapHandler::new()?;
    /// let account = Config::builder("imap.example.com").login("alice", "app-password").build()?;
    /// let fail_fast = account.with_retry(RetryPolicy::none())?;
    /// match handler.folder_status(&fail_fast, "INBOX") {
    ///     Ok(status) => println!("{status:?}"),
    ///     Err(e) => eprintln!("not now ({:?}): {e}", e.retry_hint()),
    /// }
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn with_retry(&self, retry: RetryPolicy) -> Result<Config> {
        retry.validate()?;
        Ok(Config {
            retry,
            ..self.clone()
        })
    }

    /// The TCP keepalive every connection's socket gets (on by default: a dead peer is
    /// noticed within [`Keepalive::detection_time`], 2 minutes).
    pub fn keepalive(&self) -> Keepalive {
        self.keepalive
    }

    /// The memory limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The addresses set with [`ConfigBuilder::resolve`] for `host` (a port of 0 replaced by
    /// the port of `protocol`), or `None` when `host` is resolved by the system resolver.
    pub fn resolve_override(&self, host: &str, protocol: Protocol) -> Option<Vec<SocketAddr>> {
        self.resolve.lookup(host, self.port(protocol))
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
            resolve,
            keepalive,
            client_id,
            on_connect,
            enable,
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
        // Which addresses the host name stands for: two configs naming one host but
        // different servers never share a connection.
        resolve.hash(state);
        security.hash(state);
        match credentials {
            None => 0u8.hash(state),
            Some(Credentials::Password { user, password }) => (1u8, user, password).hash(state),
            Some(Credentials::OAuth2 { user, token }) => (2u8, user, token).hash(state),
            // The caller-given name stands for the secrets: a digest of each secret would
            // make every refresh a new account. Not the function's address either: two
            // configs built with one name share connections, as the docs promise.
            Some(Credentials::Provider(p)) => (3u8, p.user(), p.name()).hash(state),
            // A custom mechanism by its name, as a provider (the factory cannot be compared;
            // it holds its own secrets): another name is never handed this connection.
            Some(Credentials::Custom(c)) => (4u8, c.user(), c.name()).hash(state),
        }
        // What ran on the connection after login: the ID sent, and which setup hook (by
        // address; a connection holds its config and so the hook, so the address cannot
        // be reused while the connection lives).
        client_id.hash(state);
        on_connect.as_ref().map(OnConnect::address).hash(state);
        // What ENABLE turned on after login (UTF-8 names, IMAP4rev2).
        enable.hash(state);
        auth_mechanism.hash(state);
        (connect_timeout, read_timeout, write_timeout).hash(state);
        // How soon a dead peer is noticed: a connection probed less often is not handed to
        // a config that asked for quicker detection.
        keepalive.hash(state);
        // Not the retry policy: it decides only how a connection is opened, and a connection
        // once open behaves the same whatever it was; configs that differ in it alone share
        // connections, which is what lets one call fail fast (`Config::with_retry`).
        let RetryPolicy {
            max_attempts: _,
            initial_delay: _,
            max_delay: _,
            multiplier: _,
        } = retry;
        // Every field of the limits, in order: `Limits` derives `Hash`, so a field added
        // later is fed without a change here.
        limits.hash(state);
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
            .field("resolve", &self.resolve)
            .field("keepalive", &self.keepalive)
            .field("client_id", &self.client_id)
            .field("on_connect", &self.on_connect)
            .field("enable", &self.enable)
            .finish()
    }
}

#[cfg(test)]
mod tests;
