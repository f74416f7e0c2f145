//! Opening a POP3 session: connect (with retry), greeting, `CAPA`, the STLS upgrade and
//! login (`AUTH`, `APOP`, `USER` / `PASS`).

use std::collections::BTreeSet;

use crate::config::{Config, Credentials, Protocol, Security};
use crate::credentials::Asking;
use crate::error::{Error, Result, escaped};
use crate::net::{self, Transport};
use crate::pop3::apop::apop_digest;
use crate::pop3::codec::{
    self, AuthLine, Capabilities, Capability, Command, Status, apop_timestamp, parse_status,
    plan_auth,
};
use crate::pop3::listing::Listing;
use crate::sasl::{self, Mechanism};

use super::multiline::RawLimit;
use super::{LOG, LoginMethod, Pop3Options, Session, State};

impl Session {
    /// Connects, reads the greeting, asks CAPA, upgrades with STLS when configured (CAPA
    /// again) and logs in with the configured credentials, if any. Transient failures of the
    /// whole sequence (`[IN-USE]`, `[SYS/TEMP]`, I/O, timeouts) are retried per the config's
    /// retry policy; an authentication failure never is.
    ///
    /// A provider's secret that the server rejected is refreshed once (see
    /// [`Credentials::provider`]): tried again on the same connection, or on one more
    /// connect when the server closed it.
    pub(crate) fn connect(config: &Config, options: Pop3Options) -> Result<Session> {
        let id = net::next_connection_id(Protocol::Pop3);
        let mut asking = Asking::new();
        loop {
            let result = net::connect_with_retry(config, Protocol::Pop3, &id, |transport| {
                Session::establish(transport, config, options, &mut asking)
            });
            match result {
                Err(e) if asking.take_reconnect() => {
                    log::debug!(target: LOG, "[{id}] the server closed the connection after rejecting the provided secret ({e}); trying the fresh one on a new connection");
                }
                other => return other,
            }
        }
    }

    /// A session over one end of an in-memory pipe whose other end plays the server (the
    /// fuzz target): greeting, CAPA and login as in [`connect`](Self::connect), without
    /// retry; STLS is not possible there.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) fn over_memory(
        end: net::memory::MemoryEnd,
        config: &Config,
        options: Pop3Options,
    ) -> Result<Session> {
        let id = net::next_connection_id(Protocol::Pop3);
        Session::establish(
            Transport::over_memory(end, config, &id),
            config,
            options,
            &mut Asking::new(),
        )
    }

    /// Greeting, CAPA, STLS and login on a new transport, all within the connect deadline
    /// the transport started with.
    fn establish(
        transport: Transport,
        config: &Config,
        options: Pop3Options,
        asking: &mut Asking,
    ) -> Result<Session> {
        let mut session = Session {
            transport,
            config: config.clone(),
            options,
            state: State::Authorization,
            greeting: String::new(),
            timestamp: None,
            caps: Capabilities::default(),
            deleted: BTreeSet::new(),
            peak_buffered: 0,
            logged_in_with: None,
            interrupted: false,
            utf8: false,
        };
        session.greet()?;
        if config.security() == Security::StartTls {
            session = session.start_tls()?;
        }
        session.enable_utf8()?;
        if let Some(credentials) = config.credentials() {
            asking.log_in(
                credentials,
                &mut session,
                |s| !s.is_unusable(),
                |s, secret| s.authenticate(secret),
            )?;
            // Capabilities may change after login (RFC 2449 §5): PIPELINING, UIDL, …
            session.refresh_capabilities()?;
        }
        session.transport.end_connect();
        Ok(session)
    }

    /// Reads the greeting (keeping the APOP timestamp) and asks CAPA.
    fn greet(&mut self) -> Result<()> {
        let probed = net::probe::await_plain_greeting(
            &mut self.transport,
            b"NOOP\r\n",
            "NOOP (probe: does the port speak TLS?)",
            "use Security::Tls for it (POP3's implicit-TLS port is 995), or keep Security::StartTls / Security::Plain and connect to the plaintext port (110)",
        )?;
        let line = self.read_status_line("waiting for the greeting")?;
        let text = parse_status(&line)?.into_result("greeting")?;
        if probed == net::probe::Greeting::AfterProbe {
            // The probe's answer (`-ERR` before login, or `+OK`): one status line.
            self.read_status_line("waiting for the answer to the TLS probe")?;
        }
        self.timestamp = apop_timestamp(&text).map(str::to_string);
        log::debug!(target: LOG, "[{}] greeting: {}", self.id(), escaped(&text));
        self.greeting = text;
        self.refresh_capabilities()
    }

    /// Sends STLS and upgrades the connection; never falls back to plaintext. The
    /// capabilities are asked again over TLS (RFC 2595 §4).
    fn start_tls(mut self) -> Result<Session> {
        if !self.caps.stls() {
            self.transport.shutdown();
            return Err(Error::StartTlsUnavailable { command: "STLS" });
        }
        self.simple(Command::Stls)?;
        let Session {
            transport,
            config,
            options,
            state,
            greeting,
            timestamp,
            deleted,
            peak_buffered,
            logged_in_with,
            interrupted,
            utf8,
            ..
        } = self;
        let tls = transport.start_tls(&config)?;
        let mut session = Session {
            transport: tls,
            config,
            options,
            state,
            greeting,
            timestamp,
            caps: Capabilities::default(),
            deleted,
            peak_buffered,
            logged_in_with,
            interrupted,
            utf8,
        };
        log::debug!(target: LOG, "[{}] STLS: TLS established", session.id());
        session.refresh_capabilities()?;
        Ok(session)
    }

    pub(crate) fn refresh_capabilities(&mut self) -> Result<()> {
        self.send(&Command::Capa)?;
        let line = self.read_status_line("waiting for the answer to CAPA")?;
        match parse_status(&line)? {
            Status::Ok { .. } => {
                // Bounded like every listing: CAPA runs before STLS, so anyone on the
                // network path can answer it.
                let limits = self.config.limits();
                let raw = RawLimit {
                    limit: limits.max_listing_size,
                    what: "the answer to CAPA (a listing; Limits::max_listing_size)",
                };
                let mut listing = Listing::<Capability>::new(&limits);
                let read =
                    self.read_multi_line(&mut listing, "reading the answer to CAPA", Some(raw));
                let list = match read {
                    Ok(_) => listing.finish()?,
                    Err(e) => return Err(listing.take_failure().unwrap_or(e)),
                };
                self.caps = Capabilities::from_list(list);
            }
            Status::Err { text, .. } => {
                // RFC 1939-only servers have no CAPA: assume nothing.
                log::debug!(target: LOG, "[{}] CAPA refused ({}); assuming no extensions", self.id(), escaped(text));
                self.caps = Capabilities::default();
            }
        }
        Ok(())
    }

    fn authenticate(&mut self, credentials: &Credentials) -> Result<()> {
        let method = self.authenticate_inner(credentials)?;
        self.state = State::Transaction;
        self.logged_in_with = Some(method);
        log::debug!(target: LOG, "[{}] logged in as {} with {method}", self.id(), credentials.user());
        Ok(())
    }

    /// Logs in; returns the method used.
    fn authenticate_inner(&mut self, credentials: &Credentials) -> Result<&'static str> {
        if let Credentials::Custom(custom) = credentials {
            return self.auth_custom(custom).map(|()| CUSTOM_METHOD);
        }
        if let Credentials::OAuth2 { .. } = credentials {
            let mechanism = match self.config.auth_mechanism() {
                Some(m) => m,
                None => sasl::choose(&self.caps.sasl_mechanisms(), credentials)
                    .unwrap_or(Mechanism::XOAuth2),
            };
            return self.auth_sasl(mechanism, credentials);
        }
        let user_pass = |s: &mut Session| s.user_pass(credentials).map(|()| "USER/PASS");
        match self.options.login_method {
            LoginMethod::UserPass => user_pass(self),
            LoginMethod::Apop => self.apop(credentials).map(|()| "APOP"),
            LoginMethod::Auto => match self.config.auth_mechanism() {
                Some(mechanism) => self.auth_sasl(mechanism, credentials),
                // SCRAM-SHA-256 > SCRAM-SHA-1 > PLAIN > USER/PASS (docs/security.md).
                None => match sasl::best_password(&self.caps.sasl_mechanisms()) {
                    Some(best) => self.auth_sasl(best, credentials),
                    None => user_pass(self),
                },
            },
        }
    }

    /// Sends `UTF8` (RFC 6856) when `CAPA` lists it: in the AUTHORIZATION state, the only
    /// one the command is valid in, after STLS (the capabilities it reads are the ones
    /// given over TLS) and before login, so that a `UTF8 USER` server takes a UTF-8 user
    /// name. A `-ERR` answer is logged and leaves UTF-8 mode off; nothing is sent to a
    /// server that does not list it.
    fn enable_utf8(&mut self) -> Result<()> {
        if !self.caps.utf8() {
            return Ok(());
        }
        self.send(&Command::Utf8)?;
        let line = self.read_status_line("waiting for the answer to UTF8")?;
        match parse_status(&line)? {
            Status::Ok { .. } => {
                self.utf8 = true;
                log::debug!(target: LOG, "[{}] UTF8 mode on", self.id());
            }
            Status::Err { text, .. } => {
                log::debug!(target: LOG, "[{}] UTF8 refused: {}", self.id(), escaped(text));
            }
        }
        Ok(())
    }

    /// Refuses, before anything is sent, a non-ASCII user name (or, with `password`, a
    /// non-ASCII password) for `command` unless UTF-8 mode is on and the server listed
    /// `UTF8 USER` (RFC 6856 §3.1): another server would take the bytes in some other
    /// charset, or fail the login for reasons the caller could not see.
    fn check_utf8_login(
        &self,
        command: &str,
        credentials: &Credentials,
        password: bool,
    ) -> Result<()> {
        let non_ascii = |s: &str| !s.is_ascii();
        let user = non_ascii(credentials.user());
        let secret = password && non_ascii(credentials.secret());
        if !(user || secret) || (self.utf8 && self.caps.utf8_user()) {
            return Ok(());
        }
        let what = match (user, secret) {
            (true, true) => "user name and password",
            (true, false) => "user name",
            _ => "password",
        };
        Err(Error::invalid(
            format!("{command} login"),
            format!(
                "the {what} holds non-ASCII characters, which POP3 sends as UTF-8 only to a server that lists `UTF8 USER` in CAPA (RFC 6856); this server {}. Use an ASCII {what}, or a SASL mechanism (PLAIN, SCRAM) the server offers",
                if self.caps.utf8() {
                    "offers UTF8 without USER"
                } else {
                    "does not offer UTF8"
                }
            ),
        ))
    }

    fn user_pass(&mut self, credentials: &Credentials) -> Result<()> {
        self.check_utf8_login("USER/PASS", credentials, true)?;
        let user = Command::User(credentials.user());
        self.send(&user)?;
        let line = self.read_status_line("waiting for the answer to USER")?;
        parse_status(&line)?.into_auth_result("USER/PASS")?;
        let pass = Command::Pass(credentials.secret());
        self.send(&pass)?;
        let line = self.read_status_line("waiting for the answer to PASS")?;
        parse_status(&line)?.into_auth_result("USER/PASS")?;
        Ok(())
    }

    fn apop(&mut self, credentials: &Credentials) -> Result<()> {
        let Some(timestamp) = self.timestamp.clone() else {
            return Err(Error::invalid(
                "login method",
                "APOP was asked for but the server's greeting has no <timestamp>, so it does not offer APOP",
            ));
        };
        self.check_utf8_login("APOP", credentials, false)?;
        let digest = apop_digest(&timestamp, credentials.secret());
        let command = Command::Apop {
            user: credentials.user(),
            digest: &digest,
        };
        self.send(&command)?;
        let line = self.read_status_line("waiting for the answer to APOP")?;
        parse_status(&line)?.into_auth_result("APOP")?;
        Ok(())
    }

    fn auth_sasl(
        &mut self,
        mechanism: Mechanism,
        credentials: &Credentials,
    ) -> Result<&'static str> {
        let name = mechanism.name();
        if let Some(exchange) = sasl::Exchange::start(mechanism, credentials)? {
            return self.auth_exchange(name, exchange).map(|()| name);
        }
        let port = self.config.port(Protocol::Pop3);
        let first = sasl::initial_response(mechanism, credentials, self.config.host(), port)?;
        // LOGIN answers prompts; the others send their response at once (RFC 5034 §4).
        let (initial, mut pending): (Option<&str>, Vec<String>) = if mechanism == Mechanism::Login {
            let [user, password] = sasl::login(credentials.user(), credentials.secret());
            (None, vec![user, password])
        } else {
            (Some(first.as_str()), Vec::new())
        };
        let plan = plan_auth(name, initial)?;
        if let Some(deferred) = plan.deferred_response {
            pending.push(deferred.to_string());
        }
        self.send(&plan.command)?;
        let mut pending = pending.into_iter();
        let mut acknowledged_error = false;
        let mut challenges = 0;
        loop {
            let line = self.read_status_line("waiting for the answer to AUTH")?;
            match codec::parse_auth_line(&line)? {
                AuthLine::Status(status) => {
                    return status.into_auth_result(name).map(|_| name);
                }
                AuthLine::Continuation { payload } => {
                    challenges += 1;
                    if challenges > MAX_AUTH_CHALLENGES {
                        return Err(too_many_challenges());
                    }
                    let response = match pending.next() {
                        Some(r) => r,
                        None if mechanism.uses_oauth2() && !acknowledged_error => {
                            // An error challenge: acknowledge so the server sends -ERR.
                            log::debug!(
                                target: LOG,
                                "[{}] {name} error challenge: {}",
                                self.id(),
                                escaped(sasl::decode_error_challenge(&payload))
                            );
                            acknowledged_error = true;
                            sasl::error_acknowledgement(mechanism).to_string()
                        }
                        None => "*".to_string(),
                    };
                    self.send(&Command::AuthResponse(&response))?;
                }
            }
        }
    }

    /// `AUTH` with the application's own mechanism ([`Credentials::custom`]): the server
    /// must list it in `CAPA`'s `SASL` line (checked before anything is sent); then a fresh
    /// instance runs as any challenge-driven exchange. Like OAuth2 credentials, whatever the
    /// [`LoginMethod`](super::LoginMethod) (it chooses among password logins).
    fn auth_custom(&mut self, custom: &sasl::CustomMechanism) -> Result<()> {
        let name = custom.name();
        sasl::require_offered(&self.caps.sasl_mechanisms(), name)?;
        let context = sasl::SaslContext {
            protocol: Protocol::Pop3,
            host: self.config.host().to_string(),
            port: self.config.port(Protocol::Pop3),
            user: custom.user().to_string(),
        };
        let exchange = sasl::Exchange::Custom(custom.begin(&context)?);
        self.auth_exchange(name, exchange)?;
        log::debug!(target: LOG, "[{}] AUTH {name} (custom mechanism) accepted", self.id());
        Ok(())
    }

    /// `AUTH` for a challenge-driven mechanism (SCRAM, CRAM-MD5, a custom one): the
    /// [`sasl::Exchange`] answers each `+` line, at most [`MAX_AUTH_CHALLENGES`] of them; a
    /// malformed challenge, a server that fails SCRAM's proof or a custom mechanism's error
    /// cancels (`*`) and is the error returned; a `+OK` from a SCRAM server that did not
    /// prove it knows the password is [`Error::Auth`].
    fn auth_exchange(&mut self, name: &str, mut exchange: sasl::Exchange) -> Result<()> {
        let initial = exchange.initial_response();
        let plan = plan_auth(name, initial.as_deref())?;
        let mut unsent = plan.deferred_response.map(str::to_string);
        self.send(&plan.command)?;
        let mut broken: Option<Error> = None;
        let mut challenges = 0;
        loop {
            let line = self.read_status_line("waiting for the answer to AUTH")?;
            match codec::parse_auth_line(&line)? {
                AuthLine::Status(status) => {
                    let result = status.into_auth_result(name);
                    if let Some(e) = broken.or_else(|| exchange.failure(name)) {
                        return Err(e);
                    }
                    result?;
                    return exchange.verified(name);
                }
                AuthLine::Continuation { payload } => {
                    challenges += 1;
                    if challenges > MAX_AUTH_CHALLENGES {
                        return Err(too_many_challenges());
                    }
                    let response = if let Some(first) = unsent.take() {
                        first
                    } else if broken.is_some() {
                        "*".to_string()
                    } else {
                        match exchange.respond(&payload) {
                            Ok(r) => r,
                            Err(e) => {
                                log::debug!(target: LOG, "[{}] {name} exchange cancelled: {e}", self.id());
                                broken = Some(e);
                                "*".to_string()
                            }
                        }
                    };
                    self.send(&Command::AuthResponse(&response))?;
                }
            }
        }
    }
}

/// How many `+` challenges an `AUTH` exchange may bring (SCRAM needs two; a custom
/// mechanism gets the bound its docs promise).
const MAX_AUTH_CHALLENGES: usize = sasl::MAX_CHALLENGES;

/// The error for a server that keeps challenging past [`MAX_AUTH_CHALLENGES`]: the one too
/// many is not answered, the connect fails and the connection is closed.
fn too_many_challenges() -> Error {
    Error::protocol(
        format!("the server sent more than {MAX_AUTH_CHALLENGES} AUTH challenges"),
        &[],
        0,
    )
}

/// What [`Pop3Handler::logged_in_with`](crate::pop3::Pop3Handler::logged_in_with) says after
/// a login with a custom mechanism (its name is the credentials').
const CUSTOM_METHOD: &str = "SASL";
