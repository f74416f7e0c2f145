//! One POP3 connection: its state, the command / response cycle and the transaction
//! commands. Owns one transport and is not shared: [`Pop3Handler`](crate::pop3::Pop3Handler) puts
//! it behind a mutex. Opening it (greeting, STLS, CAPA, login) is in `connect.rs`, reading
//! multi-line answers (streamed, bounded, pipelined `RETR`) in `multiline.rs`.

mod connect;
mod multiline;
mod options;

use std::collections::BTreeSet;
use std::fmt;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::net::Transport;
use crate::net::socket::ShutdownHandle;
use crate::pop3::codec::{self, Capabilities, Command, parse_status};

/// The log target of the POP3 client.
pub(crate) const LOG: &str = "mailwire::pop3";

/// The hint added to errors seen while commands were pipelined.
const PIPELINING_HINT: &str = "pipelined; if this server mishandles PIPELINING, turn it off with Pop3Options::pipelining(false)";

pub use options::{LoginMethod, Pop3Options};

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
    /// Whether the server accepted the `UTF8` command (RFC 6856): UTF-8 mode is on.
    utf8: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.transport
            .debug_session(f, &self.state)
            .field("pending_deletions", &self.deleted.len())
            .finish_non_exhaustive()
    }
}

impl Session {
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
        if let Err(e) = &result
            && e.breaks_connection()
            && self.state != State::Closed
        {
            log::debug!(target: LOG, "[{}] connection unusable after: {e}", self.id());
            self.state = State::Broken;
            self.transport.shutdown();
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

    /// A handle that shuts this session's socket down from another thread (a cancel).
    pub(crate) fn shutdown_handle(&self) -> ShutdownHandle {
        self.transport.shutdown_handle()
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
