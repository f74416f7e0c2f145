//! One IMAP connection: tags, the command / response cycle, continuation requests, the
//! state machine, capabilities and the unsolicited-response queue. Owns one transport and is
//! not shared: the public handles put it behind a mutex.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::config::{Config, Credentials, Protocol, Security};
use crate::error::{Error, Result, ServerStatus, escaped};
use crate::imap::codec::frame::{FrameEvent, Framer};
use crate::imap::codec::parse::parse_response;
use crate::imap::codec::{self, Command, EncodeOptions, EncodedCommand, LiteralMode, Secret};
use crate::imap::types::{Continuation, Response, ResponseCode, Status, Untagged};
use crate::net::socket::ShutdownHandle;
use crate::net::{self, Transport};
use crate::sasl::{self, Mechanism};

/// How many unsolicited responses are kept before the oldest are dropped.
const MAX_UNSOLICITED: usize = 10_000;
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// What a [`TakeFrame`] hook is offered.
pub(crate) enum Offer<'b> {
    /// A complete response, before it is parsed.
    Frame(&'b [u8]),
    /// The part of the last frame the hook asked for with [`Take::Part`], moved out of the
    /// read buffer (not copied when large: see `Framer::take_from_last`).
    Part(Vec<u8>),
}

/// A [`TakeFrame`] hook's answer to [`Offer::Frame`].
pub(crate) enum Take {
    /// Not the hook's: parse it as usual.
    No,
    /// Taken.
    Yes,
    /// Taken, and the hook wants these bytes of it (offsets within the frame) as an
    /// [`Offer::Part`].
    Part(std::ops::Range<usize>),
}

/// Offered each complete response before it is parsed (see `run_pipelined_taking`).
pub(crate) type TakeFrame<'t> = dyn FnMut(Offer<'_>) -> Result<Take> + 't;
/// How many SASL challenges one authentication answers before it gives up (a server that
/// keeps challenging would otherwise hold the exchange forever).
const MAX_SASL_CHALLENGES: usize = 16;

/// Where a connection is in the IMAP state machine (RFC 3501 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Connected, not logged in yet.
    NotAuthenticated,
    /// Logged in, no folder selected.
    Authenticated,
    /// A folder is selected.
    Selected,
    /// In IDLE.
    Idle,
    /// LOGOUT was sent or the server said BYE.
    Logout,
    /// A transport, protocol or limit error broke the connection; it cannot be used again.
    Error,
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionState::NotAuthenticated => "not authenticated",
            ConnectionState::Authenticated => "authenticated",
            ConnectionState::Selected => "selected",
            ConnectionState::Idle => "idle",
            ConnectionState::Logout => "logged out",
            ConnectionState::Error => "broken",
        })
    }
}

/// The capabilities a server announced (upper-cased).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    names: Vec<String>,
}

impl Capabilities {
    pub(crate) fn new(names: Vec<String>) -> Capabilities {
        Capabilities {
            names: names.into_iter().map(|n| n.to_ascii_uppercase()).collect(),
        }
    }

    /// Whether the server announced `name` (case-insensitive), e.g. `"IDLE"`, `"AUTH=PLAIN"`.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// The SASL mechanisms announced with `AUTH=`.
    pub fn auth_mechanisms(&self) -> Vec<&str> {
        self.names
            .iter()
            .filter_map(|n| n.strip_prefix("AUTH="))
            .collect()
    }

    /// Every capability, upper-cased, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Whether nothing is known yet.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The outcome of a completed command: the untagged responses it produced and its tagged
/// completion.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) untagged: Vec<Untagged>,
    pub(crate) status: Status,
    pub(crate) code: Option<ResponseCode>,
    pub(crate) text: String,
}

impl Completion {
    /// Turns a `NO` / `BAD` completion into the error for `command`.
    pub(crate) fn into_result(self, command: &str) -> Result<Completion> {
        match self.status {
            Status::Ok => Ok(self),
            status => Err(Error::Server {
                status: match status {
                    Status::No => ServerStatus::No,
                    Status::Bye => ServerStatus::Bye,
                    _ => ServerStatus::Bad,
                },
                command: command.to_string(),
                code: self.code.as_ref().map(code_text),
                text: self.text,
            }),
        }
    }
}

/// A response code as text for error messages (`TRYCREATE`, `UIDVALIDITY 3`, …).
pub(crate) fn code_text(code: &ResponseCode) -> String {
    match code {
        ResponseCode::Alert => "ALERT".into(),
        ResponseCode::Parse => "PARSE".into(),
        ResponseCode::Capability(_) => "CAPABILITY".into(),
        ResponseCode::PermanentFlags(_) => "PERMANENTFLAGS".into(),
        ResponseCode::ReadOnly => "READ-ONLY".into(),
        ResponseCode::ReadWrite => "READ-WRITE".into(),
        ResponseCode::TryCreate => "TRYCREATE".into(),
        ResponseCode::UidNext(n) => format!("UIDNEXT {n}"),
        ResponseCode::UidValidity(n) => format!("UIDVALIDITY {n}"),
        ResponseCode::Unseen(n) => format!("UNSEEN {n}"),
        ResponseCode::HighestModSeq(n) => format!("HIGHESTMODSEQ {n}"),
        ResponseCode::NoModSeq => "NOMODSEQ".into(),
        ResponseCode::AppendUid { .. } => "APPENDUID".into(),
        ResponseCode::CopyUid { .. } => "COPYUID".into(),
        ResponseCode::Closed => "CLOSED".into(),
        ResponseCode::Other { name, value } => match value {
            Some(v) => format!("{name} {v}"),
            None => name.clone(),
        },
    }
}

/// How long reading one response may take.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// The turn deadline (`net::clock`): the answer completes within the read timeout or
    /// keeps arriving at the minimum transfer rate, counted from the end of the last send.
    Response,
    /// Until this instant; passing it is [`Error::Timeout`].
    Until(Instant),
    /// Until this instant; passing it is not an error (polling during IDLE).
    Poll(Instant),
}

/// One IMAP connection.
pub(crate) struct Session {
    transport: Transport,
    framer: Framer,
    config: Config,
    next_tag: u32,
    state: ConnectionState,
    caps: Capabilities,
    encode_options: EncodeOptions,
    /// Responses the server sent unasked, with their size on the wire.
    unsolicited: VecDeque<(Untagged, usize)>,
    unsolicited_bytes: u64,
    /// Untagged responses held since the current command started: how many, and their
    /// bytes on the wire (bounded by `Limits::max_untagged_*`).
    held: (usize, u64),
    /// The size on the wire of the response parsed last.
    last_frame_len: usize,
    /// The mailbox currently selected, as the caller named it, and whether read-only.
    pub(crate) selected: Option<(String, bool)>,
    /// The last UIDVALIDITY seen per folder.
    pub(crate) uid_validities: std::collections::HashMap<String, u32>,
    /// The most bytes the response buffer ever held.
    peak_buffered: usize,
    /// Bytes of literals copied to callers' writers, all told.
    streamed: u64,
    /// How many bytes were read from the server in total (after TLS decryption).
    bytes_received: u64,
    /// Whether `ENABLE QRESYNC` succeeded on this connection (the sync module enables it
    /// once; afterwards the server reports expunges as `VANISHED`).
    pub(crate) qresync_enabled: bool,
    /// While a `UID FETCH` runs: the UIDs it asked for. Their FETCH responses are the
    /// command's answer, not news, and are kept out of the unsolicited queue.
    pub(crate) solicited_uids: Option<crate::imap::seqset::SequenceSet>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.transport.id())
            .field("host", &self.transport.host())
            .field("state", &self.state)
            .field("tls", &self.transport.is_tls())
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

/// Adapts the transport to `io::Read` for the framer, keeping the typed error aside.
struct DeadlineReader<'a> {
    transport: &'a mut Transport,
    deadline: Option<Instant>,
    operation: &'a str,
    error: Option<Error>,
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.transport.read_raw(buf, self.deadline, self.operation) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.error = Some(e);
                Err(io::Error::other("transport error"))
            }
        }
    }
}

impl Session {
    /// Connects, reads the greeting, upgrades with STARTTLS when configured, learns the
    /// capabilities and logs in with the configured credentials (if any). Transient
    /// failures of the whole sequence are retried per the config's retry policy; an
    /// authentication failure never is.
    pub(crate) fn connect(config: &Config) -> Result<Session> {
        Session::connect_watched(config, &mut |_| Ok(()))
    }

    /// [`connect`](Self::connect), handing `watch` the shutdown handle of each attempt's
    /// socket as soon as it is connected (before TLS, the greeting and the login), so that
    /// another thread can cut a connect in progress. An error from `watch` ends the connect
    /// with that error (a non-transient one ends the retries too).
    pub(crate) fn connect_watched(
        config: &Config,
        watch: &mut dyn FnMut(ShutdownHandle) -> Result<()>,
    ) -> Result<Session> {
        let id = net::next_connection_id(Protocol::Imap);
        net::connect_with_retry(config, Protocol::Imap, &id, |transport| {
            watch(transport.shutdown_handle())?;
            Session::establish(transport, config)
        })
    }

    /// A session over one end of an in-memory pipe whose other end plays the server
    /// (tests, the fuzz target): greeting, capabilities and login as in
    /// [`connect`](Self::connect), without retry; STARTTLS is not possible there.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) fn over_memory(end: net::memory::MemoryEnd, config: &Config) -> Result<Session> {
        let id = net::next_connection_id(Protocol::Imap);
        Session::establish(Transport::over_memory(end, config, &id), config)
    }

    /// Greeting, STARTTLS, capabilities and login on a new transport; all of it within the
    /// connect deadline the transport started with.
    fn establish(transport: Transport, config: &Config) -> Result<Session> {
        let mut session = Session::new(transport, config);
        session.greet()?;
        if config.security() == Security::StartTls {
            session = session.start_tls()?;
        }
        if session.caps.is_empty() {
            session.refresh_capabilities()?;
        }
        if let Some(credentials) = config.credentials() {
            if session.state == ConnectionState::NotAuthenticated {
                session.authenticate(credentials)?;
            }
        }
        session.transport.end_connect();
        Ok(session)
    }

    fn new(transport: Transport, config: &Config) -> Session {
        Session {
            transport,
            framer: match config.memory_budget() {
                Some(budget) => Framer::new(config.limits()).with_budget(budget.clone()),
                None => Framer::new(config.limits()),
            },
            config: config.clone(),
            next_tag: 1,
            state: ConnectionState::NotAuthenticated,
            caps: Capabilities::default(),
            encode_options: EncodeOptions::new(),
            unsolicited: VecDeque::new(),
            unsolicited_bytes: 0,
            held: (0, 0),
            last_frame_len: 0,
            selected: None,
            uid_validities: std::collections::HashMap::new(),
            peak_buffered: 0,
            streamed: 0,
            bytes_received: 0,
            qresync_enabled: false,
            solicited_uids: None,
        }
    }

    /// The limits this session applies.
    pub(crate) fn limits(&self) -> crate::config::Limits {
        self.config.limits()
    }

    /// The connection id used in logs.
    pub(crate) fn id(&self) -> &str {
        self.transport.id()
    }

    /// The state machine's state.
    pub(crate) fn state(&self) -> ConnectionState {
        self.state
    }

    pub(crate) fn set_state(&mut self, state: ConnectionState) {
        self.state = state;
    }

    /// Whether the connection is unusable (broken or logged out).
    pub(crate) fn is_broken(&self) -> bool {
        matches!(self.state, ConnectionState::Error | ConnectionState::Logout)
    }

    /// Whether the connection cannot be reused: broken, logged out, or the server sent
    /// something (a `BYE`, a close) while it sat idle. Never waits.
    pub(crate) fn is_stale(&self) -> bool {
        self.is_broken() || !self.framer.is_idle() || self.transport.readable_while_idle()
    }

    /// The server's capabilities as last learnt.
    pub(crate) fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Whether the stream is encrypted.
    pub(crate) fn is_tls(&self) -> bool {
        self.transport.is_tls()
    }

    /// Takes the unsolicited responses received so far (EXISTS, EXPUNGE, FETCH FLAGS, …).
    pub(crate) fn take_unsolicited(&mut self) -> Vec<Untagged> {
        self.unsolicited_bytes = 0;
        self.unsolicited.drain(..).map(|(u, _)| u).collect()
    }

    /// Queues an unsolicited response; past `MAX_UNSOLICITED` responses or
    /// `max_untagged_bytes` the oldest are dropped (the queue is news for whoever takes
    /// it, never the answer to a command).
    fn push_unsolicited(&mut self, response: Untagged, size: usize) {
        let max_bytes = self.config.limits().max_untagged_bytes;
        self.unsolicited_bytes = self.unsolicited_bytes.saturating_add(size as u64);
        self.unsolicited.push_back((response, size));
        while self.unsolicited.len() > MAX_UNSOLICITED || self.unsolicited_bytes > max_bytes {
            let Some((_, dropped)) = self.unsolicited.pop_front() else {
                break;
            };
            self.unsolicited_bytes = self.unsolicited_bytes.saturating_sub(dropped as u64);
        }
    }

    /// A new command starts: nothing is held for it yet.
    fn start_turn(&mut self) {
        self.held = (0, 0);
    }

    /// Counts one more untagged response held for the running command; `LimitExceeded`
    /// past `Limits::max_untagged_responses` / `max_untagged_bytes` (a server answering one
    /// command with endless untagged responses cannot grow memory without bound).
    fn hold(&mut self, size: usize) -> Result<()> {
        let limits = self.config.limits();
        self.held.0 = self.held.0.saturating_add(1);
        self.held.1 = self.held.1.saturating_add(size as u64);
        if self.held.0 > limits.max_untagged_responses {
            return Err(Error::LimitExceeded {
                what: "untagged responses to one command".into(),
                limit: limits.max_untagged_responses,
            });
        }
        if self.held.1 > limits.max_untagged_bytes {
            return Err(Error::LimitExceeded {
                what: "bytes of untagged responses to one command".into(),
                limit: usize::try_from(limits.max_untagged_bytes).unwrap_or(usize::MAX),
            });
        }
        Ok(())
    }

    /// `Error::Closed` once the connection is broken or logged out.
    fn ensure_usable(&self) -> Result<()> {
        if self.is_broken() {
            return Err(Error::Closed {
                context: format!("earlier (the connection is {}); reconnect", self.state),
            });
        }
        Ok(())
    }

    /// Marks the connection broken when `result` is an error that breaks it.
    fn guard<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.breaks_connection() && self.state != ConnectionState::Logout {
                log::debug!(target: "mailwire::imap", "[{}] connection unusable after: {e}", self.id());
                self.state = ConnectionState::Error;
                self.transport.shutdown();
            }
        }
        result
    }

    fn greet(&mut self) -> Result<()> {
        let response = self.read_response("waiting for the greeting")?;
        match response {
            Response::Untagged(Untagged::Condition { status, code, text }) => {
                if let Some(ResponseCode::Capability(caps)) = code.clone() {
                    self.caps = Capabilities::new(caps);
                }
                match status {
                    Status::Ok => {
                        self.state = ConnectionState::NotAuthenticated;
                        Ok(())
                    }
                    Status::PreAuth => {
                        self.state = ConnectionState::Authenticated;
                        Ok(())
                    }
                    Status::Bye => {
                        self.state = ConnectionState::Logout;
                        Err(Error::Server {
                            status: ServerStatus::Bye,
                            command: "greeting".into(),
                            code: code.as_ref().map(code_text),
                            text,
                        })
                    }
                    _ => Err(Error::protocol(
                        format!("unexpected greeting status {status:?}"),
                        text.as_bytes(),
                        0,
                    )),
                }
            }
            other => Err(Error::protocol(
                format!(
                    "expected a greeting (* OK / * PREAUTH / * BYE), got {}",
                    describe(&other)
                ),
                &[],
                0,
            )),
        }
    }

    fn start_tls(mut self) -> Result<Session> {
        if self.caps.is_empty() {
            self.refresh_capabilities()?;
        }
        if !self.caps.has("STARTTLS") {
            self.transport.shutdown();
            return Err(Error::StartTlsUnavailable {
                command: "STARTTLS",
            });
        }
        self.run(&Command::StartTls)?.into_result("STARTTLS")?;
        if !self.framer.is_idle() {
            let pending = self.framer.buffer().len();
            self.transport.shutdown();
            return Err(Error::Protocol {
                message: format!(
                    "the server sent {pending} unencrypted bytes after accepting STARTTLS, before the TLS handshake (possible response injection); the connection was closed"
                ),
                excerpt: crate::error::escape_bytes(
                    self.framer.buffer().get(..48.min(pending)).unwrap_or(&[]),
                ),
                offset: 0,
            });
        }
        let Session {
            transport,
            config,
            next_tag,
            ..
        } = self;
        let transport = transport.start_tls(&config)?;
        let mut session = Session::new(transport, &config);
        session.next_tag = next_tag;
        // Anything learnt before TLS is forgotten (RFC 3501 §6.2.1).
        session.refresh_capabilities()?;
        Ok(session)
    }

    /// Asks the server for its capabilities.
    pub(crate) fn refresh_capabilities(&mut self) -> Result<()> {
        let completion = self.run(&Command::Capability)?.into_result("CAPABILITY")?;
        for response in completion.untagged {
            if let Untagged::Capability(caps) = response {
                self.caps = Capabilities::new(caps);
            }
        }
        Ok(())
    }

    fn update_literal_mode(&mut self) {
        let literal = if self.caps.has("LITERAL+") {
            LiteralMode::Plus
        } else if self.caps.has("LITERAL-") {
            LiteralMode::Minus
        } else {
            LiteralMode::Synchronizing
        };
        self.encode_options = self.encode_options.with_literal(literal);
    }

    /// Whether `ENABLE UTF8=ACCEPT` succeeded (mailbox names are UTF-8 both ways).
    pub(crate) fn utf8_accept(&self) -> bool {
        self.encode_options.utf8_accept
    }

    /// Turns on UTF-8 mailbox names after a successful `ENABLE UTF8=ACCEPT`.
    pub(crate) fn set_utf8_accept(&mut self, on: bool) {
        self.encode_options = self.encode_options.with_utf8_accept(on);
    }

    fn choose_mechanism(&self, credentials: &Credentials) -> Result<Option<Mechanism>> {
        let offered = self.caps.auth_mechanisms();
        if let Some(wanted) = self.config.auth_mechanism() {
            return Ok(match wanted {
                // The LOGIN command; SASL LOGIN only when the command is disabled.
                Mechanism::Login if !self.caps.has("LOGINDISABLED") => None,
                other => Some(other),
            });
        }
        match credentials {
            Credentials::Password { .. } => {
                if offered.iter().any(|m| m.eq_ignore_ascii_case("PLAIN")) {
                    Ok(Some(Mechanism::Plain))
                } else if !self.caps.has("LOGINDISABLED") {
                    Ok(None)
                } else {
                    sasl::choose(&offered, credentials).map(Some)
                }
            }
            _ => sasl::choose(&offered, credentials).map(Some),
        }
    }

    /// Logs in with `credentials`, choosing the mechanism (see [`Config`]).
    pub(crate) fn authenticate(&mut self, credentials: &Credentials) -> Result<()> {
        self.update_literal_mode();
        let mechanism = self.choose_mechanism(credentials)?;
        let (name, result) = match mechanism {
            None => {
                if self.caps.has("LOGINDISABLED") {
                    return Err(Error::invalid(
                        "authentication",
                        "the server disabled LOGIN (LOGINDISABLED) and offers no usable SASL mechanism; use TLS or STARTTLS",
                    ));
                }
                let Credentials::Password { user, password } = credentials else {
                    return Err(Error::invalid("authentication", "LOGIN needs a password"));
                };
                let command =
                    Command::login(user.clone(), Secret::new(password.as_bytes().to_vec()));
                ("LOGIN".to_string(), self.run(&command))
            }
            Some(mechanism) => (
                format!("AUTHENTICATE {}", mechanism.name()),
                self.run_authenticate(mechanism, credentials),
            ),
        };
        let completion = match result {
            // A BYE in answer to the credentials is the server refusing them: never retried
            // (each retry would send the password again and bring an account lockout
            // closer).
            Err(Error::Server {
                status: ServerStatus::Bye,
                code,
                text,
                ..
            }) => {
                return Err(Error::Auth {
                    mechanism: name,
                    text: match code {
                        Some(code) => format!("BYE [{code}] {text}"),
                        None => format!("BYE {text}"),
                    },
                });
            }
            other => other?,
        };
        match completion.status {
            Status::Ok => {
                self.state = ConnectionState::Authenticated;
                log::debug!(target: "mailwire::imap", "[{}] logged in as {} ({name})", self.id(), credentials.user());
                match &completion.code {
                    Some(ResponseCode::Capability(caps)) => {
                        self.caps = Capabilities::new(caps.clone())
                    }
                    _ => self.refresh_capabilities()?,
                }
                self.update_literal_mode();
                Ok(())
            }
            _ => {
                let code = completion.code.as_ref().map(code_text);
                let transient = completion
                    .code
                    .as_ref()
                    .is_some_and(|c| matches!(c, ResponseCode::Other { name, .. } if name == "UNAVAILABLE" || name == "SERVERBUG" || name == "INUSE"));
                if transient && completion.status != Status::Bye {
                    Err(Error::Server {
                        status: ServerStatus::No,
                        command: name,
                        code,
                        text: completion.text,
                    })
                } else {
                    Err(Error::Auth {
                        mechanism: name,
                        text: match code {
                            Some(code) => format!("[{code}] {}", completion.text),
                            None => completion.text,
                        },
                    })
                }
            }
        }
    }

    fn run_authenticate(
        &mut self,
        mechanism: Mechanism,
        credentials: &Credentials,
    ) -> Result<Completion> {
        let host = self.config.tls_server_name().to_string();
        let port = self.config.port(Protocol::Imap);
        let user = credentials.user().to_string();
        let secret = credentials.secret().to_string();
        let responses: Vec<String> = match mechanism {
            Mechanism::Login => sasl::login(&user, &secret).to_vec(),
            other => vec![sasl::initial_response(other, credentials, &host, port)?],
        };
        let sasl_ir = self.caps.has("SASL-IR") && mechanism != Mechanism::Login;
        let mut pending = responses.into_iter();
        let initial = match if sasl_ir { pending.next() } else { None } {
            Some(b64) => Some(Secret::new(crate::base64::decode(b64.as_bytes())?)),
            None => None,
        };
        let command = Command::Authenticate {
            mechanism: mechanism.name().to_string(),
            initial_response: initial,
        };
        let mut failed_challenge = false;
        let mut challenges = 0;
        self.run_with(&command, |_, continuation| {
            challenges += 1;
            if challenges > MAX_SASL_CHALLENGES {
                return Err(Error::protocol(
                    format!(
                        "the server sent more than {MAX_SASL_CHALLENGES} authentication challenges"
                    ),
                    &[],
                    0,
                ));
            }
            let answer = if failed_challenge {
                // After an error challenge the client must answer, then gets NO.
                String::new()
            } else if let Some(next) = pending.next() {
                next
            } else {
                // An error challenge (XOAUTH2 / OAUTHBEARER send a base64 JSON status).
                failed_challenge = true;
                log::debug!(target: "mailwire::imap", "authentication challenge after the last response: {}", escaped(sasl::decode_error_challenge(&continuation.text)));
                sasl::error_acknowledgement(mechanism).to_string()
            };
            Ok(codec::sasl_line(&answer))
        })
    }

    fn tag(&mut self) -> String {
        let tag = format!("A{}", self.next_tag);
        self.next_tag = self.next_tag.wrapping_add(1);
        tag
    }

    /// Sends `command` and reads until its completion. A `NO` or `BAD` completion is
    /// returned as such (see [`Completion::into_result`]); errors are transport, protocol,
    /// limit or encoding failures (the latter before anything was sent).
    pub(crate) fn run(&mut self, command: &Command) -> Result<Completion> {
        self.run_to(command, &mut refuse_continuation, None)
    }

    /// Like [`run`](Self::run); `on_continuation` answers continuation requests that are
    /// not for a literal of the command (SASL challenges).
    pub(crate) fn run_with(
        &mut self,
        command: &Command,
        mut on_continuation: impl FnMut(&str, &Continuation) -> Result<EncodedCommand>,
    ) -> Result<Completion> {
        self.run_to(command, &mut on_continuation, None)
    }

    /// Encodes, sends and completes `command`; literals the framer streams go to `sink`.
    fn run_to<'s>(
        &mut self,
        command: &Command,
        on_continuation: &mut dyn FnMut(&str, &Continuation) -> Result<EncodedCommand>,
        sink: Option<&mut (dyn Write + 's)>,
    ) -> Result<Completion> {
        self.ensure_usable()?;
        self.start_turn();
        let tag = self.tag();
        let encoded = command.encode(&tag, &self.encode_options)?;
        let name = command.name().to_string();
        let result = self.exchange(&tag, &name, &encoded, on_continuation, sink);
        self.guard(result)
    }

    /// Sends an encoded command and reads until its completion. Literals the framer is told
    /// to stream go to `sink`.
    fn exchange<'s>(
        &mut self,
        tag: &str,
        name: &str,
        encoded: &EncodedCommand,
        on_continuation: &mut dyn FnMut(&str, &Continuation) -> Result<EncodedCommand>,
        mut sink: Option<&mut (dyn Write + 's)>,
    ) -> Result<Completion> {
        // Every part but the last ends with a synchronizing literal announcement: the next
        // part goes out when the server sends its continuation.
        let mut parts = encoded.parts().iter();
        if let Some(first) = parts.next() {
            self.transport.send(first, encoded.trace_text())?;
        }
        let mut untagged = Vec::new();
        loop {
            match self.read_response_to(name, sink.as_deref_mut(), None)? {
                Response::Tagged {
                    tag: t,
                    status,
                    code,
                    text,
                } if t == tag => {
                    // Also a NO / BAD that refuses a literal before it was sent.
                    return Ok(Completion {
                        untagged,
                        status,
                        code,
                        text,
                    });
                }
                Response::Tagged { tag: t, .. } => {
                    return Err(Error::protocol(
                        format!("completion for unknown tag {t:?} while waiting for {tag}"),
                        &[],
                        0,
                    ));
                }
                Response::Continuation(c) => match parts.next() {
                    Some(part) => self.transport.send(part, "<literal continued>")?,
                    None => {
                        let answer = on_continuation(name, &c)?;
                        for part in answer.parts() {
                            self.transport.send(part, answer.trace_text())?;
                        }
                    }
                },
                Response::Untagged(u) => {
                    self.absorb_for(name, Response::Untagged(u), &mut untagged)?
                }
            }
        }
    }

    /// Like [`absorb`](Self::absorb), for a response that arrived while `command` runs: an
    /// untagged `BYE` (except during LOGOUT) ends the wait at once with
    /// [`Error::Server`] (status `Bye`) instead of waiting for a completion that will not
    /// come; the connection is then unusable.
    fn absorb_for(
        &mut self,
        command: &str,
        response: Response,
        untagged: &mut Vec<Untagged>,
    ) -> Result<()> {
        let bye = match &response {
            Response::Untagged(Untagged::Condition {
                status: Status::Bye,
                code,
                text,
            }) if command != "LOGOUT" => Some((code.as_ref().map(code_text), text.clone())),
            _ => None,
        };
        untagged.extend(self.absorb(response)?);
        match bye {
            Some((code, text)) => Err(Error::Server {
                status: ServerStatus::Bye,
                command: command.to_string(),
                code,
                text,
            }),
            None => Ok(()),
        }
    }

    /// Files an untagged response: state changes are applied, mailbox events also go to the
    /// unsolicited queue; returns it for the command's list.
    fn absorb(&mut self, response: Response) -> Result<Option<Untagged>> {
        let Response::Untagged(u) = response else {
            return Ok(None);
        };
        let size = self.last_frame_len;
        self.hold(size)?;
        match &u {
            Untagged::Condition {
                status: Status::Bye,
                text,
                ..
            } => {
                log::debug!(target: "mailwire::imap", "[{}] server said BYE: {}", self.id(), escaped(text));
                self.state = ConnectionState::Logout;
            }
            Untagged::Condition {
                code: Some(ResponseCode::Alert),
                text,
                ..
            } => {
                log::warn!(target: "mailwire::imap", "[{}] server alert: {}", self.id(), escaped(text));
            }
            Untagged::Capability(caps) => self.caps = Capabilities::new(caps.clone()),
            Untagged::Fetch { items, .. }
                if self.solicited_uids.as_ref().is_some_and(|set| {
                    items.iter().any(|i| {
                        matches!(i, crate::imap::types::FetchData::Uid(uid) if set.contains(*uid))
                    })
                }) => {}
            // VANISHED means something only once QRESYNC is enabled (RFC 7162 §3.2.10).
            Untagged::Vanished { .. } if !self.qresync_enabled => {}
            Untagged::Exists(_)
            | Untagged::Expunge(_)
            | Untagged::Vanished { earlier: false, .. }
            | Untagged::Recent(_)
            | Untagged::Fetch { .. } => self.push_unsolicited(u.clone(), size),
            _ => {}
        }
        Ok(Some(u))
    }

    /// Reads one complete response (see [`Wait::Response`]).
    pub(crate) fn read_response(&mut self, operation: &str) -> Result<Response> {
        self.read_response_to(operation, None, None)
    }

    /// Reads one complete response, copying literals the framer streams to `sink` and
    /// offering complete responses to `take` first (see
    /// [`run_pipelined_taking`](Self::run_pipelined_taking)).
    fn read_response_to<'s>(
        &mut self,
        operation: &str,
        sink: Option<&mut (dyn Write + 's)>,
        take: Option<&mut TakeFrame<'_>>,
    ) -> Result<Response> {
        match self.next_response(operation, Wait::Response, sink, take)? {
            Some(response) => Ok(response),
            None => Err(Error::Timeout {
                operation: operation.to_string(),
                after: self.transport.read_timeout(),
            }),
        }
    }

    /// The one loop that turns bytes into responses: frames, reads more when needed under
    /// `wait`, and copies streamed literals to `sink`. `Ok(None)` only when a
    /// [`Wait::Poll`] deadline passed without a complete response.
    fn next_response<'s>(
        &mut self,
        operation: &str,
        wait: Wait,
        mut sink: Option<&mut (dyn Write + 's)>,
        mut take: Option<&mut TakeFrame<'_>>,
    ) -> Result<Option<Response>> {
        loop {
            let deadline = match wait {
                Wait::Response => None,
                Wait::Until(deadline) | Wait::Poll(deadline) => Some(deadline),
            };
            match self.framer.next_frame()? {
                Some(FrameEvent::Response(frame)) => {
                    net::transport::trace_server(self.transport.id(), frame.bytes);
                    if let Some(take) = take.as_deref_mut() {
                        match take(Offer::Frame(frame.bytes))? {
                            Take::No => {}
                            Take::Yes => continue,
                            Take::Part(range) => {
                                let part = self.framer.take_from_last(range).ok_or_else(|| {
                                    Error::protocol(
                                        "a fetch asked for bytes outside its response",
                                        &[],
                                        0,
                                    )
                                })?;
                                take(Offer::Part(part))?;
                                continue;
                            }
                        }
                    }
                    self.last_frame_len = frame.bytes.len();
                    return parse_response(frame.bytes).map(Some);
                }
                Some(FrameEvent::StreamLiteral { size, .. }) => {
                    let Some(sink) = sink.as_deref_mut() else {
                        return Err(Error::protocol(
                            format!(
                                "a streamed literal outside a streaming fetch, while {operation}"
                            ),
                            &[],
                            0,
                        ));
                    };
                    log::trace!(target: net::transport::WIRE, "[{}] S: <{size} bytes of literal data streamed to the caller>", self.transport.id());
                    while self.framer.literal_remaining() > 0 {
                        let chunk = self.framer.streamed_bytes();
                        if chunk.is_empty() {
                            self.fill(deadline, operation)?;
                            continue;
                        }
                        sink.write_all(chunk).map_err(|source| Error::Io {
                            operation: "writing the message to the caller's writer".into(),
                            source,
                        })?;
                        let n = chunk.len();
                        self.streamed = self.streamed.saturating_add(n as u64);
                        self.framer.consume_streamed(n);
                    }
                }
                None => {
                    if let Wait::Poll(deadline) = wait {
                        if Instant::now() >= deadline {
                            return Ok(None);
                        }
                        match self.fill(Some(deadline), operation) {
                            Ok(_) => {}
                            Err(Error::Timeout { .. }) => return Ok(None),
                            Err(e) => return Err(e),
                        }
                    } else {
                        self.fill(deadline, operation)?;
                    }
                }
            }
        }
    }

    fn fill(&mut self, deadline: Option<Instant>, operation: &str) -> Result<usize> {
        self.framer.make_room(READ_CHUNK)?;
        let mut reader = DeadlineReader {
            transport: &mut self.transport,
            deadline,
            operation,
            error: None,
        };
        match self.framer.read_from(&mut reader, READ_CHUNK) {
            Ok(n) => {
                self.peak_buffered = self.peak_buffered.max(self.framer.buffered_len());
                self.bytes_received = self.bytes_received.saturating_add(n as u64);
                Ok(n)
            }
            Err(e) => Err(reader.error.take().unwrap_or(Error::Io {
                operation: operation.to_string(),
                source: e,
            })),
        }
    }

    /// Runs `command`, whose response carries literals that are copied to `sink` as they
    /// arrive instead of being held in memory (a literal over `threshold` bytes). Returns the
    /// completion (streamed literals read as empty) and how many bytes went to the sink.
    pub(crate) fn run_streaming(
        &mut self,
        command: &Command,
        threshold: u64,
        sink: &mut dyn Write,
    ) -> Result<(Completion, u64)> {
        self.framer.set_stream_threshold(Some(threshold));
        let before = self.streamed;
        let result = self.run_to(command, &mut refuse_continuation, Some(sink));
        self.framer.set_stream_threshold(None);
        let written = self.streamed.saturating_sub(before);
        result.map(|c| (c, written))
    }

    /// Starts IDLE: sends the command and waits for the server's continuation. Returns the
    /// tag to finish it with [`idle_done`](Self::idle_done). Untagged responses that arrive
    /// first go to the unsolicited queue.
    pub(crate) fn idle_start(&mut self) -> Result<String> {
        self.ensure_usable()?;
        self.start_turn();
        let tag = self.tag();
        let result = self.idle_start_inner(&tag);
        self.guard(result).map(|()| tag)
    }

    fn idle_start_inner(&mut self, tag: &str) -> Result<()> {
        let encoded = Command::Idle.encode(tag, &self.encode_options)?;
        for part in encoded.parts() {
            self.transport.send(part, encoded.trace_text())?;
        }
        let mut ignored = Vec::new();
        loop {
            match self.read_response("starting IDLE")? {
                Response::Continuation(_) => {
                    self.state = ConnectionState::Idle;
                    return Ok(());
                }
                Response::Tagged {
                    tag: t,
                    status,
                    code,
                    text,
                } if t == tag => {
                    return Completion {
                        untagged: Vec::new(),
                        status,
                        code,
                        text,
                    }
                    .into_result("IDLE")
                    .and_then(|_| Err(Error::protocol("the server ended IDLE at once", &[], 0)));
                }
                other => self.absorb_for("IDLE", other, &mut ignored)?,
            }
        }
    }

    /// Waits up to `tick` for one untagged response during IDLE (or between polls).
    /// `Ok(None)` when nothing arrived in time: the connection stays usable.
    pub(crate) fn poll_untagged(&mut self, tick: Duration) -> Result<Option<Untagged>> {
        let result = self.poll_untagged_inner(tick);
        self.guard(result)
    }

    fn poll_untagged_inner(&mut self, tick: Duration) -> Result<Option<Untagged>> {
        let deadline = Instant::now() + tick;
        match self.next_response("waiting in IDLE", Wait::Poll(deadline), None, None)? {
            None | Some(Response::Continuation(_)) => Ok(None),
            Some(Response::Untagged(u)) => {
                let absorbed = self.absorb(Response::Untagged(u));
                // Handed to the caller: no longer held for the IDLE command.
                self.start_turn();
                absorbed
            }
            Some(Response::Tagged {
                tag, status, text, ..
            }) => Err(Error::protocol(
                format!("unexpected completion {tag} {status:?} while idle: {text}"),
                &[],
                0,
            )),
        }
    }

    /// Ends IDLE: sends `DONE` and reads until the IDLE command completes, waiting at most
    /// `timeout`. Returns the untagged responses received meanwhile.
    pub(crate) fn idle_done(&mut self, tag: &str, timeout: Duration) -> Result<Vec<Untagged>> {
        let result = self.idle_done_inner(tag, timeout);
        self.guard(result)
    }

    fn idle_done_inner(&mut self, tag: &str, timeout: Duration) -> Result<Vec<Untagged>> {
        let done = codec::idle_done();
        for part in done.parts() {
            self.transport.send(part, done.trace_text())?;
        }
        let deadline = Instant::now() + timeout;
        let mut untagged = Vec::new();
        loop {
            let response = self
                .next_response(
                    "waiting for the end of IDLE",
                    Wait::Until(deadline),
                    None,
                    None,
                )?
                .ok_or_else(|| Error::Timeout {
                    operation: "waiting for the end of IDLE".into(),
                    after: timeout,
                })?;
            match response {
                Response::Tagged {
                    tag: t,
                    status,
                    code,
                    text,
                } if t == tag => {
                    if self.state == ConnectionState::Idle {
                        self.state = ConnectionState::Selected;
                    }
                    Completion {
                        untagged: Vec::new(),
                        status,
                        code,
                        text,
                    }
                    .into_result("IDLE")?;
                    return Ok(untagged);
                }
                other => self.absorb_for("IDLE", other, &mut untagged)?,
            }
        }
    }

    /// Shuts the socket down (another thread's blocked read returns at once).
    pub(crate) fn shutdown(&mut self) {
        self.transport.shutdown();
        self.state = ConnectionState::Error;
    }

    /// The configured read timeout.
    pub(crate) fn read_timeout(&self) -> Duration {
        self.transport.read_timeout()
    }

    /// The most bytes the response buffer has held at once.
    pub(crate) fn peak_buffered(&self) -> usize {
        self.peak_buffered
    }

    /// How many bytes were read from the server so far (after TLS decryption).
    pub(crate) fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// Sends independent, literal-free commands back to back and then reads all their
    /// completions: one round trip for the lot instead of one per command. Returns every
    /// untagged response received and the completions in command order. Commands that need
    /// a synchronizing literal are refused (send them with `run`).
    pub(crate) fn run_pipelined(
        &mut self,
        commands: &[Command],
    ) -> Result<(Vec<Untagged>, Vec<Completion>)> {
        self.run_pipelined_taking(commands, &mut |_| Ok(Take::No))
    }

    /// [`run_pipelined`](Self::run_pipelined), offering each complete response's bytes to
    /// `take` before they are parsed: a response it takes ([`Take::Yes`] or
    /// [`Take::Part`]) is its own and is not returned. A fetch reads its FETCH responses in place this way, with
    /// [`parse_fetch`](crate::imap::codec::parse::parse_fetch), and none outlives its parse.
    /// `take` must only take FETCH responses the command solicited: the responses it takes
    /// bypass [`absorb`](Self::absorb).
    pub(crate) fn run_pipelined_taking(
        &mut self,
        commands: &[Command],
        take: &mut TakeFrame<'_>,
    ) -> Result<(Vec<Untagged>, Vec<Completion>)> {
        self.ensure_usable()?;
        self.start_turn();
        let mut tags = Vec::with_capacity(commands.len());
        let mut wire = Vec::new();
        let mut names = Vec::with_capacity(commands.len());
        for command in commands {
            let tag = self.tag();
            let encoded = command.encode(&tag, &self.encode_options)?;
            if encoded.needs_continuation() {
                return Err(Error::invalid(
                    "pipelined command",
                    format!(
                        "{} needs a synchronizing literal and cannot be pipelined",
                        command.name()
                    ),
                ));
            }
            for part in encoded.parts() {
                wire.extend_from_slice(part);
            }
            names.push(command.name().to_string());
            tags.push(tag);
        }
        let result = self.pipeline_exchange(&wire, &tags, &names, take);
        self.guard(result)
    }

    fn pipeline_exchange(
        &mut self,
        wire: &[u8],
        tags: &[String],
        names: &[String],
        take: &mut TakeFrame<'_>,
    ) -> Result<(Vec<Untagged>, Vec<Completion>)> {
        let summary = format!(
            "<{} pipelined commands: {} {}…>",
            tags.len(),
            tags.first().map(String::as_str).unwrap_or(""),
            names.first().map(String::as_str).unwrap_or("")
        );
        self.transport.send(wire, &summary)?;
        let mut untagged = Vec::new();
        let mut done: Vec<Option<Completion>> = tags.iter().map(|_| None).collect();
        let mut remaining = tags.len();
        while remaining > 0 {
            let name = names
                .first()
                .map(String::as_str)
                .unwrap_or("pipelined commands");
            match self.read_response_to(name, None, Some(&mut *take))? {
                Response::Tagged {
                    tag,
                    status,
                    code,
                    text,
                } => {
                    let Some(i) = tags.iter().position(|t| *t == tag) else {
                        return Err(Error::protocol(
                            format!("completion for unknown tag {tag:?}"),
                            &[],
                            0,
                        ));
                    };
                    if let Some(slot) = done.get_mut(i) {
                        if slot.is_none() {
                            remaining -= 1;
                        }
                        *slot = Some(Completion {
                            untagged: Vec::new(),
                            status,
                            code,
                            text,
                        });
                    }
                }
                Response::Continuation(c) => {
                    return Err(Error::protocol(
                        format!("unexpected continuation request in a pipeline: {}", c.text),
                        &[],
                        0,
                    ));
                }
                other => self.absorb_for(name, other, &mut untagged)?,
            }
        }
        Ok((untagged, done.into_iter().flatten().collect()))
    }

    /// Sends LOGOUT and waits (briefly) for the server's answer; errors are ignored since
    /// the connection is closed either way.
    pub(crate) fn logout(&mut self) {
        if !self.is_broken() {
            // Whatever the server does, closing takes at most this long.
            self.transport
                .bound_all(net::CLOSING_DEADLINE, "logging out");
            let _ = self.run(&Command::Logout);
        }
        self.state = ConnectionState::Logout;
        self.transport.shutdown();
    }
}

/// The answer to a continuation request a command did not expect (only SASL exchanges
/// answer them): a protocol error.
fn refuse_continuation(name: &str, c: &Continuation) -> Result<EncodedCommand> {
    Err(Error::protocol(
        format!("unexpected continuation request during {name}: {}", c.text),
        &[],
        0,
    ))
}

/// A short description of a response for error messages.
fn describe(response: &Response) -> String {
    match response {
        Response::Tagged { tag, status, .. } => format!("a tagged {status:?} for {tag}"),
        Response::Untagged(u) => format!("an untagged {}", untagged_name(u)),
        Response::Continuation(_) => "a continuation request".into(),
    }
}

fn untagged_name(u: &Untagged) -> &'static str {
    match u {
        Untagged::Condition { .. } => "status",
        Untagged::Capability(_) => "CAPABILITY",
        Untagged::Fetch { .. } => "FETCH",
        Untagged::Exists(_) => "EXISTS",
        _ => "response",
    }
}
