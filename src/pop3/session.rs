//! One POP3 connection: greeting, STLS, authentication, the command / response cycle, the
//! streaming multi-line reader and pipelined `RETR`. Owns one transport and is not shared:
//! [`Pop3Handler`](super::Pop3Handler) puts it behind a mutex.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Write};

use crate::config::{Config, Credentials, Protocol, Security};
use crate::error::{Error, Result, escaped};
use crate::message::{Message, MessageMeta};
use crate::net::{self, Transport};
use crate::pop3::apop::apop_digest;
use crate::pop3::codec::{
    self, AuthLine, Capabilities, Capability, Command, MultiLineDecoder, Status, apop_timestamp,
    parse_status, plan_auth,
};
use crate::pop3::listing::{Entry, Listing};
use crate::sasl::{self, Mechanism};

/// The log target of the POP3 client.
pub(crate) const LOG: &str = "mailwire::pop3";

/// The hint added to errors seen while commands were pipelined.
const PIPELINING_HINT: &str = "pipelined; if this server mishandles PIPELINING, turn it off with Pop3Options::pipelining(false)";

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

/// Options of a [`Pop3Handler`](super::Pop3Handler) beyond the [`Config`]: how to log in
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

    /// Sets how to log in with a password.
    pub fn login_method(mut self, method: LoginMethod) -> Self {
        self.login_method = method;
        self
    }

    /// Turns pipelining on (the default, used only when the server advertises it) or off.
    pub fn pipelining(mut self, enabled: bool) -> Self {
        self.pipelining = enabled;
        self
    }

    /// Sets how many commands may be in flight when pipelining (values under 1 count as 1).
    pub fn pipeline_window(mut self, commands: usize) -> Self {
        self.pipeline_window = commands;
        self
    }

    /// Whether pipelining is allowed by these options.
    pub fn pipelining_enabled(&self) -> bool {
        self.pipelining
    }
}

/// Where a session is (RFC 1939 §3, plus the client's own view of failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Greeted, not logged in.
    Authorization,
    /// Logged in.
    Transaction,
    /// QUIT was sent (or the caller disconnected).
    Closed,
    /// An I/O, protocol or limit error broke the connection.
    Broken,
}

/// Where the content of a multi-line answer goes, and how many bytes of it the library
/// holds in memory (counted in [`Pop3Handler::peak_buffered_bytes`](super::Pop3Handler::peak_buffered_bytes)).
trait BodySink: Write {
    /// The bytes held in memory for the answer so far (0 for a caller's writer).
    fn held(&self) -> usize;
}

/// A caller's writer: what it keeps is not the library's memory.
struct Streamed<'a>(&'a mut dyn Write);

impl Write for Streamed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl BodySink for Streamed<'_> {
    fn held(&self) -> usize {
        0
    }
}

impl<T: Entry> BodySink for Listing<T> {
    fn held(&self) -> usize {
        Listing::held(self)
    }
}

/// The bound on the bytes received for one multi-line answer: `limit` bytes, named `what`
/// in the error.
#[derive(Debug, Clone, Copy)]
struct RawLimit<'a> {
    limit: u64,
    what: &'a str,
}

/// A writer that refuses to grow past a limit.
struct Limited<'a> {
    out: &'a mut Vec<u8>,
    limit: u64,
    exceeded: bool,
    /// The shared budget the message being read draws from while it is read, and how much
    /// of it this answer holds (given back when the answer is handed over or dropped).
    budget: Option<(&'a crate::MemoryBudget, u64)>,
    over_budget: bool,
}

impl Drop for Limited<'_> {
    fn drop(&mut self) {
        if let Some((budget, charged)) = self.budget {
            budget.release(charged);
        }
    }
}

impl BodySink for Limited<'_> {
    fn held(&self) -> usize {
        self.out.len()
    }
}

impl Write for Limited<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let total = (self.out.len() as u64).saturating_add(buf.len() as u64);
        if total > self.limit {
            self.exceeded = true;
            return Err(io::Error::other("message larger than max_literal_size"));
        }
        if let Some((budget, charged)) = &mut self.budget {
            if !budget.try_reserve(buf.len() as u64) {
                self.over_budget = true;
                return Err(io::Error::other("the shared memory budget is used up"));
            }
            *charged = charged.saturating_add(buf.len() as u64);
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One POP3 connection.
pub(crate) struct Session {
    transport: Transport,
    config: Config,
    options: Pop3Options,
    state: State,
    greeting: String,
    timestamp: Option<String>,
    caps: Capabilities,
    /// Message numbers marked with DELE since the last RSET.
    deleted: BTreeSet<u32>,
    /// The most bytes the read buffer ever held or allocated.
    peak_buffered: usize,
    /// How the session logged in (`PLAIN`, `USER/PASS`, `APOP`, …).
    logged_in_with: Option<&'static str>,
    /// Set while a command runs through [`Session::run`]; still set afterwards only if the
    /// call never returned (its thread panicked midway, e.g. in a caller's writer), in
    /// which case the connection is at an unknown point of an answer and unusable.
    interrupted: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.transport.id())
            .field("host", &self.transport.host())
            .field("state", &self.state)
            .field("tls", &self.transport.is_tls())
            .field("pending_deletions", &self.deleted.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects, reads the greeting, asks CAPA, upgrades with STLS when configured (CAPA
    /// again) and logs in with the configured credentials, if any. Transient failures of the
    /// whole sequence (`[IN-USE]`, `[SYS/TEMP]`, I/O, timeouts) are retried per the config's
    /// retry policy; an authentication failure never is.
    pub(crate) fn connect(config: &Config, options: Pop3Options) -> Result<Session> {
        let id = net::next_connection_id(Protocol::Pop3);
        net::connect_with_retry(config, Protocol::Pop3, &id, |transport| {
            Session::establish(transport, config, options)
        })
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
        Session::establish(Transport::over_memory(end, config, &id), config, options)
    }

    /// Greeting, CAPA, STLS and login on a new transport, all within the connect deadline
    /// the transport started with.
    fn establish(transport: Transport, config: &Config, options: Pop3Options) -> Result<Session> {
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
        };
        session.greet()?;
        if config.security() == Security::StartTls {
            session = session.start_tls()?;
        }
        if let Some(credentials) = config.credentials() {
            session.authenticate(credentials)?;
            // Capabilities may change after login (RFC 2449 §5): PIPELINING, UIDL, …
            session.refresh_capabilities()?;
        }
        session.transport.end_connect();
        Ok(session)
    }

    /// Reads the greeting (keeping the APOP timestamp) and asks CAPA.
    fn greet(&mut self) -> Result<()> {
        let line = self.read_status_line("waiting for the greeting")?;
        let text = parse_status(&line)?.into_result("greeting")?;
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
        };
        log::debug!(target: LOG, "[{}] STLS: TLS established", session.id());
        session.refresh_capabilities()?;
        Ok(session)
    }

    /// The connection id used in logs (`pop3#7`).
    pub(crate) fn id(&self) -> &str {
        self.transport.id()
    }

    /// The state; a session whose last call was interrupted by a panic counts as broken.
    pub(crate) fn state(&self) -> State {
        if self.interrupted && self.state != State::Closed {
            State::Broken
        } else {
            self.state
        }
    }

    /// Whether the connection can no longer be used (broken, closed, or interrupted by a
    /// panic in the middle of a command).
    pub(crate) fn is_unusable(&self) -> bool {
        matches!(self.state(), State::Broken | State::Closed)
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.transport.is_tls()
    }

    pub(crate) fn greeting(&self) -> &str {
        &self.greeting
    }

    pub(crate) fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub(crate) fn options(&self) -> &Pop3Options {
        &self.options
    }

    pub(crate) fn pending_deletions(&self) -> Vec<u32> {
        self.deleted.iter().copied().collect()
    }

    pub(crate) fn logged_in_with(&self) -> Option<&'static str> {
        self.logged_in_with
    }

    pub(crate) fn peak_buffered(&self) -> usize {
        self.peak_buffered
    }

    /// Whether `fetch_messages` will pipeline.
    pub(crate) fn pipelines(&self) -> bool {
        self.options.pipelining && self.caps.pipelining()
    }

    /// Fails early when the connection cannot be used.
    fn check_usable(&self, command: &str) -> Result<()> {
        if self.interrupted && self.state != State::Closed {
            return Err(Error::Closed {
                context: format!(
                    "before {command}: an earlier call on this connection panicked midway through an answer; connect again"
                ),
            });
        }
        match self.state {
            State::Broken => Err(Error::Closed {
                context: format!(
                    "before {command}: an earlier error broke the connection; connect again"
                ),
            }),
            State::Closed => Err(Error::Closed {
                context: format!("before {command}: QUIT was sent or the connection dropped"),
            }),
            _ => Ok(()),
        }
    }

    /// Marks the connection broken when `result` is an error that breaks it.
    fn guard<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.breaks_connection() && self.state != State::Closed {
                log::debug!(target: LOG, "[{}] connection unusable after: {e}", self.id());
                self.state = State::Broken;
                self.transport.shutdown();
            }
        }
        result
    }

    /// Records the bytes held now: the read buffer plus `answer`, what the answer being
    /// read holds in memory.
    fn note_buffer(&mut self, answer: usize) {
        let held = self
            .transport
            .buffer_capacity()
            .max(self.transport.buffered().len())
            .saturating_add(answer);
        self.peak_buffered = self.peak_buffered.max(held);
    }

    fn read_status_line(&mut self, operation: &str) -> Result<Vec<u8>> {
        let line = self.transport.read_line(operation)?.to_vec();
        self.note_buffer(0);
        Ok(line)
    }

    fn send(&mut self, command: &Command<'_>) -> Result<()> {
        let bytes = command.encode()?;
        let trace = command.trace_text();
        self.transport.send(&bytes, &trace)
    }

    /// Sends a single-line command and returns the text of its `+OK`.
    fn simple(&mut self, command: Command<'_>) -> Result<String> {
        self.send(&command)?;
        let operation = format!("waiting for the answer to {}", command.name());
        let line = self.read_status_line(&operation)?;
        parse_status(&line)?.into_result(command.name())
    }

    /// Reads the body of a multi-line response into `out`, in constant memory of its own.
    /// With `raw`, at most `raw.limit` bytes (as received, terminator included) are
    /// decoded: an answer that is not complete by then is [`Error::LimitExceeded`], and
    /// nothing past the limit is ever handed to `out`.
    fn read_multi_line(
        &mut self,
        out: &mut dyn BodySink,
        operation: &str,
        raw: Option<RawLimit<'_>>,
    ) -> Result<u64> {
        let mut decoder = MultiLineDecoder::new();
        let mut received = 0u64;
        loop {
            let buffered = self.transport.buffered();
            let input = match raw {
                Some(raw) => {
                    let room = raw.limit.saturating_sub(received);
                    let take =
                        usize::try_from(room).map_or(buffered.len(), |r| r.min(buffered.len()));
                    buffered.get(..take).unwrap_or(buffered)
                }
                None => buffered,
            };
            let decoded = decoder.decode(input, &mut *out)?;
            self.transport.consume(decoded.consumed);
            received = received.saturating_add(decoded.consumed as u64);
            self.note_buffer(out.held());
            if decoded.done {
                return Ok(decoder.content_len());
            }
            if let Some(raw) = raw {
                if received >= raw.limit {
                    log::debug!(target: LOG, "[{}] {} over {} bytes", self.id(), raw.what, raw.limit);
                    return Err(Error::LimitExceeded {
                        what: raw.what.to_string(),
                        limit: usize::try_from(raw.limit).unwrap_or(usize::MAX),
                    });
                }
            }
            // Under the turn deadline: a trickle cannot stretch the answer.
            self.transport.fill(operation)?;
            self.note_buffer(out.held());
        }
    }

    /// Reads the status line and, on `+OK`, the content of a multi-line answer to `command`.
    /// `hint` is appended to the operation named in timeouts and closes.
    fn read_multi_answer(
        &mut self,
        command: &Command<'_>,
        out: &mut dyn BodySink,
        hint: &str,
        raw_limit: Option<u64>,
    ) -> Result<u64> {
        let trace = command.trace_text();
        let operation = format!("waiting for the answer to {trace}{hint}");
        let line = self.read_status_line(&operation)?;
        parse_status(&line)?.into_result(&trace)?;
        let operation = format!("reading the answer to {trace}{hint}");
        let what = format!("the answer to {trace} (a listing; Limits::max_listing_size)");
        let raw = raw_limit.map(|limit| RawLimit { limit, what: &what });
        self.read_multi_line(out, &operation, raw)
    }

    /// Reads a multi-line answer into memory: its content bounded by `max_literal_size`,
    /// and with `raw_limit` the bytes received too.
    fn read_multi_to_vec(
        &mut self,
        command: &Command<'_>,
        hint: &str,
        raw_limit: Option<u64>,
    ) -> Result<Vec<u8>> {
        let limit = self.config.limits().max_literal_size;
        let mut out = Vec::new();
        let budget = self.config.memory_budget().cloned();
        let mut sink = Limited {
            out: &mut out,
            limit,
            exceeded: false,
            budget: budget.as_ref().map(|b| (b, 0)),
            over_budget: false,
        };
        let result = self.read_multi_answer(command, &mut sink, hint, raw_limit);
        let (exceeded, over_budget) = (sink.exceeded, sink.over_budget);
        drop(sink);
        match result {
            Ok(_) => Ok(out),
            Err(_) if over_budget => Err(Error::LimitExceeded {
                what: format!(
                    "the shared memory budget (MemoryBudget), reading the answer to {}",
                    command.trace_text()
                ),
                limit: budget.as_ref().map_or(usize::MAX, |b| {
                    usize::try_from(b.limit()).unwrap_or(usize::MAX)
                }),
            }),
            Err(_) if exceeded => Err(Error::LimitExceeded {
                what: format!(
                    "the answer to {} (a message held in memory; Limits::max_literal_size)",
                    command.trace_text()
                ),
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            }),
            Err(e) => Err(e),
        }
    }

    /// Runs a listing command (`LIST`, `UIDL`): sends it and parses its answer line by line
    /// as it arrives, bounded by `max_listing_size` (bytes received and the entries'
    /// memory) and `max_line_length`.
    fn listing<T: Entry>(&mut self, command: Command<'_>) -> Result<Vec<T>> {
        self.send(&command)?;
        let limit = self.config.limits().max_listing_size;
        let mut listing = Listing::<T>::new(&self.config.limits());
        match self.read_multi_answer(&command, &mut listing, "", Some(limit)) {
            Ok(_) => listing.finish(),
            Err(e) => Err(listing.take_failure().unwrap_or(e)),
        }
    }

    // -------------------------------------------------------------------------------
    // Authentication
    // -------------------------------------------------------------------------------

    fn authenticate(&mut self, credentials: &Credentials) -> Result<()> {
        let method = self.authenticate_inner(credentials)?;
        self.state = State::Transaction;
        self.logged_in_with = Some(method);
        log::debug!(target: LOG, "[{}] logged in as {} with {method}", self.id(), credentials.user());
        Ok(())
    }

    /// Logs in; returns the method used.
    fn authenticate_inner(&mut self, credentials: &Credentials) -> Result<&'static str> {
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
                None => {
                    let offers_plain = self
                        .caps
                        .sasl_mechanisms()
                        .iter()
                        .any(|m| m.eq_ignore_ascii_case("PLAIN"));
                    if offers_plain {
                        self.auth_sasl(Mechanism::Plain, credentials)
                    } else {
                        user_pass(self)
                    }
                }
            },
        }
    }

    fn user_pass(&mut self, credentials: &Credentials) -> Result<()> {
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
        loop {
            let line = self.read_status_line("waiting for the answer to AUTH")?;
            match codec::parse_auth_line(&line)? {
                AuthLine::Status(status) => {
                    return status.into_auth_result(name).map(|_| name);
                }
                AuthLine::Continuation { payload } => {
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

    // -------------------------------------------------------------------------------
    // Transaction commands
    // -------------------------------------------------------------------------------

    /// Runs `f` if the connection is usable, marking it broken on a breaking error.
    pub(crate) fn run<T>(
        &mut self,
        command: &str,
        f: impl FnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        self.check_usable(command)?;
        self.interrupted = true;
        let result = f(self);
        self.interrupted = false;
        self.guard(result)
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

    pub(crate) fn stat(&mut self) -> Result<(u32, u64)> {
        let text = self.simple(Command::Stat)?;
        codec::parse_stat(&text)
    }

    pub(crate) fn list(&mut self) -> Result<Vec<codec::ListEntry>> {
        self.listing(Command::List(None))
    }

    pub(crate) fn list_one(&mut self, number: u32) -> Result<codec::ListEntry> {
        let text = self.simple(Command::List(Some(number)))?;
        codec::parse_list_line(&text)
    }

    pub(crate) fn uidl(&mut self) -> Result<Vec<codec::UidlEntry>> {
        self.listing(Command::Uidl(None))
    }

    pub(crate) fn uidl_one(&mut self, number: u32) -> Result<codec::UidlEntry> {
        let text = self.simple(Command::Uidl(Some(number)))?;
        codec::parse_uidl_line(&text)
    }

    pub(crate) fn retr(&mut self, number: u32) -> Result<Message> {
        let command = Command::Retr(number);
        self.send(&command)?;
        let raw = self.read_multi_to_vec(&command, "", None)?;
        Ok(pop3_message(raw, number))
    }

    pub(crate) fn top(&mut self, number: u32, lines: u32) -> Result<Message> {
        let command = Command::Top { number, lines };
        self.send(&command)?;
        // Headers and a few lines: a message part and a listing, so both bounds apply.
        let listing_limit = self.config.limits().max_listing_size;
        let raw = self.read_multi_to_vec(&command, "", Some(listing_limit))?;
        Ok(pop3_message(raw, number))
    }

    pub(crate) fn retr_to_writer(&mut self, number: u32, out: &mut dyn Write) -> Result<u64> {
        let command = Command::Retr(number);
        self.send(&command)?;
        self.read_multi_answer(&command, &mut Streamed(out), "", None)
    }

    /// `RETR` for each number, pipelined in windows when the server advertises PIPELINING
    /// and the options allow it, one by one otherwise. On a `-ERR` for one message the
    /// answers already requested are still read (the connection stays in step) and the
    /// first error is returned.
    pub(crate) fn retr_many(&mut self, numbers: &[u32]) -> Result<Vec<Message>> {
        // Validate everything before sending anything.
        for &n in numbers {
            Command::Retr(n).encode()?;
        }
        if !self.pipelines() || numbers.len() < 2 {
            return numbers.iter().map(|&n| self.retr(n)).collect();
        }
        let window = self.options.pipeline_window.max(1);
        let refill_at = window / 2;
        let hint = format!(" ({PIPELINING_HINT})");
        log::debug!(
            target: LOG,
            "[{}] pipelining {} RETR commands, up to {window} in flight",
            self.id(),
            numbers.len()
        );
        let mut messages = Vec::with_capacity(numbers.len());
        let mut next_to_send = 0usize;
        let mut first_error: Option<Error> = None;
        for (index, &number) in numbers.iter().enumerate() {
            let in_flight = next_to_send.saturating_sub(index);
            if first_error.is_none() && in_flight <= refill_at && next_to_send < numbers.len() {
                let end = index.saturating_add(window).min(numbers.len());
                let batch = numbers.get(next_to_send..end).unwrap_or(&[]);
                let mut bytes = Vec::with_capacity(batch.len().saturating_mul(16));
                for &n in batch {
                    bytes.extend_from_slice(&Command::Retr(n).encode()?);
                }
                let trace = match (batch.first(), batch.last()) {
                    (Some(a), Some(b)) => {
                        format!("RETR {a} … RETR {b} ({} pipelined)", batch.len())
                    }
                    _ => String::new(),
                };
                self.transport.send(&bytes, &trace)?;
                next_to_send = end;
            }
            if index >= next_to_send {
                // Stopped sending after an error: nothing more in flight.
                break;
            }
            let command = Command::Retr(number);
            match self.read_multi_to_vec(&command, &hint, None) {
                Ok(raw) => messages.push(pop3_message(raw, number)),
                Err(e) if e.breaks_connection() => return Err(e),
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(messages),
        }
    }

    pub(crate) fn dele(&mut self, number: u32) -> Result<()> {
        self.simple(Command::Dele(number))?;
        self.deleted.insert(number);
        Ok(())
    }

    pub(crate) fn rset(&mut self) -> Result<()> {
        self.simple(Command::Rset)?;
        self.deleted.clear();
        Ok(())
    }

    pub(crate) fn noop(&mut self) -> Result<()> {
        self.simple(Command::Noop).map(|_| ())
    }

    /// Sends QUIT (the server commits the deletions) and closes the connection.
    pub(crate) fn quit(&mut self) -> Result<()> {
        self.check_usable("QUIT")?;
        // A closing QUIT never holds the caller (or a Drop) longer than this.
        self.transport
            .bound_all(crate::net::CLOSING_DEADLINE, "quitting");
        let result = self.simple(Command::Quit);
        self.state = State::Closed;
        self.transport.shutdown();
        let committed = self.deleted.len();
        self.deleted.clear();
        match result {
            Ok(_) => {
                log::debug!(target: LOG, "[{}] QUIT: {committed} deletion(s) committed", self.id());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Closes the socket without QUIT: the server commits nothing.
    pub(crate) fn disconnect(&mut self) {
        if !self.is_unusable() {
            log::debug!(
                target: LOG,
                "[{}] disconnecting without QUIT; {} deletion(s) not committed",
                self.id(),
                self.deleted.len()
            );
        }
        self.state = State::Closed;
        self.deleted.clear();
        self.transport.shutdown();
    }
}

fn pop3_message(raw: Vec<u8>, number: u32) -> Message {
    let meta = MessageMeta {
        seq: Some(number),
        size: Some(raw.len() as u64),
        ..MessageMeta::default()
    };
    Message::with_meta(raw, meta)
}
