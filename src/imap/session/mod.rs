//! One IMAP connection: tags, the command / response cycle, continuation requests, the
//! state machine, capabilities and the unsolicited-response queue. Owns one transport and is
//! not shared: the public handles put it behind a mutex.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::config::{Config, Credentials, Protocol, Security};
use crate::credentials::Asking;
use crate::error::{Error, Result, ServerStatus, escaped};
use crate::imap::codec;
use crate::imap::codec::frame::{FrameEvent, Framer};
use crate::imap::codec::parse::parse_response;
use crate::imap::codec::{Command, EncodeOptions, EncodedCommand, LiteralMode, Secret};
use crate::imap::types::{Continuation, Response, ResponseCode, Status, Untagged};
use crate::net::buffer::{self, ReadSize};
use crate::net::socket::ShutdownHandle;
use crate::net::{self, Transport};
use crate::sasl::{self, Mechanism};

mod enable;
mod exchange;
mod idle;
mod login;
mod news;
mod selection;

pub(crate) use selection::Opened;

/// How many unsolicited responses are kept before the oldest are dropped.
const MAX_UNSOLICITED: usize = 10_000;

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
    /// The completion of the command tagged `tag` when `response` is it (no untagged
    /// responses yet); any other response is given back.
    fn of(response: Response, tag: &str) -> std::result::Result<Completion, Response> {
        if !matches!(&response, Response::Tagged { tag: t, .. } if t == tag) {
            return Err(response);
        }
        Completion::tagged(response).map(|(_, completion)| completion)
    }

    /// A tagged response as its tag and a completion (no untagged responses yet); any
    /// other response is given back.
    fn tagged(response: Response) -> std::result::Result<(String, Completion), Response> {
        match response {
            Response::Tagged {
                tag,
                status,
                code,
                text,
            } => Ok((
                tag,
                Completion {
                    untagged: Vec::new(),
                    status,
                    code,
                    text,
                },
            )),
            other => Err(other),
        }
    }

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
        ResponseCode::MailboxId(id) => format!("MAILBOXID ({id})"),
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
    /// How much the next read asks for (the crate's buffer policy, `net::buffer`).
    read_size: ReadSize,
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
    selected: Option<(String, bool)>,
    /// The last UIDVALIDITY seen per folder.
    uid_validities: std::collections::HashMap<String, u32>,
    /// What the last `SELECT` / `EXAMINE` of each folder reported (its `PERMANENTFLAGS`
    /// decide which keywords a `STORE` or `APPEND` may send).
    opened: std::collections::HashMap<String, crate::imap::Mailbox>,
    /// The most bytes the response buffer ever held.
    peak_buffered: usize,
    /// Bytes of literals copied to callers' writers, all told.
    streamed: u64,
    /// How many bytes were read from the server in total (after TLS decryption).
    bytes_received: u64,
    /// Whether `ENABLE QRESYNC` succeeded on this connection (afterwards the server reports
    /// expunges as `VANISHED`).
    qresync_enabled: bool,
    /// Whether `ENABLE IMAP4rev2` succeeded on this connection.
    imap4rev2: bool,
    /// While a `UID FETCH` runs: the UIDs it asked for. Their FETCH responses are the
    /// command's answer, not news, and are kept out of the unsolicited queue.
    solicited_uids: Option<crate::imap::seqset::SequenceSet>,
    /// The handle number of the search result the server holds as `$` (SEARCHRES), or of
    /// the client-side stand-in; reset by whatever resets `$` (see `exchange.rs`).
    saved_search: Option<u64>,
    /// Where mailbox events go besides the answer they came with.
    news: News,
}

/// Where a session puts the mailbox events (EXISTS, EXPUNGE, FETCH, …) that come with
/// answers or unasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum News {
    /// Also into the unsolicited queue, for whoever takes it (`ImapConnection`).
    Queued,
    /// Only in the answers: the owner reads every answer's events itself (the
    /// `IdleListener`), so nothing is queued twice.
    InAnswers,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.transport
            .debug_session(f, &self.state)
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
    /// capabilities and logs in with the configured credentials (if any), without the
    /// `on_connect` hook (the connect chain's unit tests; the library connects through
    /// `ImapConnection::connect_watched`).
    #[cfg(test)]
    pub(crate) fn connect(config: &Config) -> Result<Session> {
        Session::connect_then(config, &mut |_| Ok(()), &mut Ok)
    }

    /// Connects, reads the greeting, upgrades with STARTTLS when configured, learns the
    /// capabilities, logs in with the configured credentials (if any) and sends the
    /// configured `ID`, then runs `then` on the logged-in session, inside the same attempt
    /// (its error is retried when transient, like a failed login). Transient failures of
    /// the whole sequence are retried per the config's retry policy; an authentication
    /// failure never is. `watch` is handed the shutdown handle of each attempt's socket as
    /// soon as it is connected (before TLS, the greeting and the login), so that another
    /// thread can cut a connect in progress; an error from `watch` ends the connect with
    /// that error (a non-transient one ends the retries too).
    ///
    /// A provider's secret that the server rejected and answered with closing the
    /// connection is refreshed and tried on one more connect (see [`Asking`]).
    pub(crate) fn connect_then<T>(
        config: &Config,
        watch: &mut dyn FnMut(ShutdownHandle) -> Result<()>,
        then: &mut dyn FnMut(Session) -> Result<T>,
    ) -> Result<T> {
        let id = net::next_connection_id(Protocol::Imap);
        let mut asking = Asking::new();
        loop {
            let result = net::connect_with_retry(config, Protocol::Imap, &id, |transport| {
                watch(transport.shutdown_handle())?;
                then(Session::establish(transport, config, &mut asking)?)
            });
            match result {
                Err(e) if asking.take_reconnect() => {
                    log::debug!(target: "mailwire::imap", "[{id}] the server closed the connection after rejecting the provided secret ({e}); trying the fresh one on a new connection");
                }
                other => return other,
            }
        }
    }

    /// A session over one end of an in-memory pipe whose other end plays the server
    /// (tests, the fuzz target): greeting, capabilities and login as in
    /// [`connect`](Self::connect), without retry; STARTTLS is not possible there.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) fn over_memory(end: net::memory::MemoryEnd, config: &Config) -> Result<Session> {
        let id = net::next_connection_id(Protocol::Imap);
        Session::establish(
            Transport::over_memory(end, config, &id),
            config,
            &mut Asking::new(),
        )
    }

    /// Greeting, STARTTLS, capabilities, login, `ID` and `ENABLE` on a new transport; all of it
    /// within the connect deadline the transport started with.
    fn establish(transport: Transport, config: &Config, asking: &mut Asking) -> Result<Session> {
        let mut session = Session::new(transport, config);
        session.greet()?;
        if config.security() == Security::StartTls {
            session = session.start_tls()?;
        }
        if session.caps.is_empty() {
            session.refresh_capabilities()?;
        }
        if let Some(credentials) = config.credentials()
            && session.state == ConnectionState::NotAuthenticated
        {
            asking.log_in(
                credentials,
                &mut session,
                |s| !s.is_broken(),
                |s, secret| s.authenticate(secret),
            )?;
        }
        session.send_client_id()?;
        session.enable_after_login()?;
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
            read_size: ReadSize::default(),
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
            opened: std::collections::HashMap::new(),
            peak_buffered: 0,
            streamed: 0,
            bytes_received: 0,
            qresync_enabled: false,
            imap4rev2: false,
            solicited_uids: None,
            saved_search: None,
            news: News::Queued,
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
        if let Err(e) = &result
            && e.breaks_connection()
            && self.state != ConnectionState::Logout
        {
            log::debug!(target: "mailwire::imap", "[{}] connection unusable after: {e}", self.id());
            self.state = ConnectionState::Error;
            self.transport.shutdown();
        }
        result
    }

    /// A handle that shuts this session's socket down from another thread (a cancel).
    pub(crate) fn shutdown_handle(&self) -> ShutdownHandle {
        self.transport.shutdown_handle()
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

    /// How many times `TCP_QUICKACK` was re-armed on this connection.
    pub(crate) fn quickack_calls(&self) -> u64 {
        self.transport.quickack_calls()
    }

    /// How many bytes were read from the server so far (after TLS decryption).
    pub(crate) fn bytes_received(&self) -> u64 {
        self.bytes_received
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
