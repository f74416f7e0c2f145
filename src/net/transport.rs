//! A buffered, traced connection: bounded line reads, reads under the turn deadline or an
//! explicit one, writes with a deadline, the STARTTLS upgrade, and the deadlines that bound
//! a whole connect and a closing LOGOUT / QUIT.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, Result, escape_bytes};
use crate::net::clock::TurnClock;
use crate::net::connect::starttls;
use crate::net::memory::MemoryEnd;
use crate::net::quickack::QuickAck;
use crate::net::socket::{Peeked, ShutdownHandle, Socket};
use crate::net::stream::Stream;

/// How many bytes one read asks the socket for (see `net::buffer`).
const READ_CHUNK: usize = crate::net::buffer::LARGE_READ;
/// How much of a line the wire trace shows.
const TRACE_MAX: usize = 512;
/// The log target of the wire trace.
pub(crate) const WIRE: &str = "mailwire::wire";

/// What the connect bound is reported as.
const CONNECTING: &str = "connecting and logging in";

/// A deadline over every read and write until it is cleared: the whole of a connect, or a
/// closing LOGOUT / QUIT.
#[derive(Debug, Clone)]
struct Bound {
    at: Instant,
    after: Duration,
    what: &'static str,
}

/// One connection to a server: the stream, a read buffer, the deadlines and the limits.
#[derive(Debug)]
pub(crate) struct Transport {
    stream: Stream,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    id: String,
    host: String,
    read_timeout: Duration,
    write_timeout: Duration,
    min_rate: u64,
    max_line: usize,
    /// The deadline of the server's current turn (restarted after every send).
    clock: TurnClock,
    bound: Option<Bound>,
    shutdown: ShutdownHandle,
    quickack: QuickAck,
}

impl Transport {
    /// A transport over a stream the connect steps (`net::connect`) just opened: every read
    /// and write is bounded by the connect `deadline` (`timeout` is what an error reports)
    /// until [`end_connect`](Self::end_connect).
    pub(crate) fn connecting(
        stream: Stream,
        config: &Config,
        id: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Transport {
        let mut transport = Transport::new(stream, config, id);
        transport.bound = Some(Bound {
            at: deadline,
            after: timeout,
            what: CONNECTING,
        });
        transport
    }

    /// A transport over one end of an in-memory pipe (no socket): for running a session in
    /// tests and under the fuzzer. No connect deadline applies.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) fn over_memory(end: MemoryEnd, config: &Config, id: &str) -> Transport {
        Transport::new(Stream::Plain(Socket::memory(end)), config, id)
    }

    fn new(stream: Stream, config: &Config, id: &str) -> Transport {
        let limits = config.limits();
        let shutdown = stream.socket().shutdown_handle();
        Transport {
            stream,
            // Allocated on the first line read (see `net::buffer`).
            buf: Vec::new(),
            start: 0,
            end: 0,
            id: id.to_string(),
            host: config.host().to_string(),
            read_timeout: config.read_timeout(),
            write_timeout: config.write_timeout(),
            min_rate: limits.min_transfer_rate,
            max_line: limits.max_line_length,
            clock: TurnClock::start(config.read_timeout(), limits.min_transfer_rate),
            bound: None,
            shutdown,
            quickack: QuickAck::default(),
        }
    }

    /// When the connect must be over, while it is under way (`None` afterwards and for a
    /// transport that was never connecting).
    pub(crate) fn connect_deadline(&self) -> Option<Instant> {
        self.bound
            .as_ref()
            .filter(|b| b.what == CONNECTING)
            .map(|b| b.at)
    }

    /// The connect is over: only the per-turn deadlines apply from now on.
    pub(crate) fn end_connect(&mut self) {
        self.bound = None;
    }

    /// Bounds every read and write from now on by `after` in all (a closing LOGOUT /
    /// QUIT must not wait longer, whatever the server does).
    pub(crate) fn bound_all(&mut self, after: Duration, what: &'static str) {
        let at = later(Instant::now(), after);
        if self.bound.as_ref().is_none_or(|b| b.at > at) {
            self.bound = Some(Bound { at, after, what });
        }
    }

    /// A handle that shuts this connection's socket down from any thread (kept outside
    /// the lock that guards the session; it survives the STARTTLS upgrade).
    pub(crate) fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// The socket under the stream, for tests that read its options back.
    #[cfg(test)]
    pub(crate) fn socket(&self) -> &Socket {
        self.stream.socket()
    }

    /// How many times `TCP_QUICKACK` was re-armed on this connection (`net::quickack`).
    pub(crate) fn quickack_calls(&self) -> u64 {
        self.quickack.calls()
    }

    /// The connection id used in log lines (e.g. `imap#3`).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Whether the stream is encrypted.
    pub(crate) fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Whether the socket has something to read right now (bytes the server sent unasked,
    /// or the end of the stream), checked without waiting. On an idle connection either
    /// means it should not be reused: typically a `BYE` or a close by the server.
    pub(crate) fn readable_while_idle(&self) -> bool {
        if !self.buffered().is_empty() {
            return true;
        }
        let mut probe = [0u8; 1];
        !matches!(
            self.stream.socket().peek_now(&mut probe),
            Ok(Peeked::Nothing)
        )
    }

    /// Closes the socket in both directions.
    pub(crate) fn shutdown(&self) {
        self.stream.shutdown();
    }

    /// The bytes received but not consumed yet.
    pub(crate) fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// How many bytes the read buffer has allocated (it grows only when one unconsumed
    /// run of bytes fills it).
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.buf.len()
    }

    /// Marks `n` buffered bytes as consumed.
    /// Gives the line buffer's storage back when nothing is buffered and it holds more
    /// than `keep` bytes (the IMAP session at rest: see `net::buffer`).
    pub(crate) fn release_line_buffer(&mut self, keep: usize) {
        if self.start == self.end && self.buf.capacity() > keep {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more bytes into the buffer under the turn deadline (see `net::clock`).
    /// Returns how many arrived. Fails with `Closed` on EOF and `Timeout` when the turn ran
    /// out.
    pub(crate) fn fill(&mut self, operation: &str) -> Result<usize> {
        self.fill_until(None, operation)
    }

    /// Like [`fill`](Self::fill), waiting until `deadline` instead of the turn's when given.
    pub(crate) fn fill_until(
        &mut self,
        deadline: Option<Instant>,
        operation: &str,
    ) -> Result<usize> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let grown = (self.buf.len() * 2).max(READ_CHUNK);
                self.buf.resize(grown, 0);
            }
        }
        // The buffer is lent to the socket read and put back (a move, not a copy).
        let mut buf = std::mem::take(&mut self.buf);
        let result = match buf.get_mut(self.end..) {
            Some(space) => self.read_socket(space, deadline, operation),
            None => Err(Error::protocol("read buffer out of range", &[], self.end)),
        };
        self.buf = buf;
        let n = result?;
        self.end += n;
        Ok(n)
    }

    /// One read from the socket into `out`: until `deadline` when given, else under the turn
    /// deadline; never past the connect / closing bound. `Timeout` when the wait ran out,
    /// `Closed` at the end of the stream.
    fn read_socket(
        &mut self,
        out: &mut [u8],
        deadline: Option<Instant>,
        operation: &str,
    ) -> Result<usize> {
        loop {
            let now = Instant::now();
            let wanted = deadline.unwrap_or_else(|| self.clock.deadline());
            let bounded = self.bound.as_ref().filter(|b| b.at <= wanted);
            let until = bounded.map_or(wanted, |b| b.at);
            if now >= until {
                if let Some(b) = bounded {
                    return Err(Error::Timeout {
                        operation: format!("{operation} ({})", b.what),
                        after: b.after,
                    });
                }
                if deadline.is_none() && self.clock.roll(now) {
                    continue;
                }
                return Err(self.turn_timeout(operation, deadline.is_some()));
            }
            self.stream.socket_mut().set_read_deadline(Some(until));
            self.quickack.before_read(self.stream.socket(), &self.id);
            match self.stream.read(out) {
                Ok(0) => {
                    log::debug!(target: "mailwire::net", "[{}] connection closed by the server while {operation}", self.id);
                    return Err(Error::Closed {
                        context: format!("by the server while {operation}"),
                    });
                }
                Ok(n) => {
                    self.quickack.received();
                    if deadline.is_none() {
                        // A window that ends short is caught by the next read's check.
                        let _ = self.clock.record(n);
                    }
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    log::debug!(target: "mailwire::net", "[{}] read failed while {operation}: {e}", self.id);
                    return Err(Error::from_io(e, operation, self.read_timeout));
                }
            }
        }
    }

    fn turn_timeout(&self, operation: &str, explicit: bool) -> Error {
        if explicit {
            return Error::Timeout {
                operation: operation.to_string(),
                after: self.read_timeout,
            };
        }
        log::debug!(target: "mailwire::net", "[{}] the server sent fewer than {} bytes in {:?} while {operation}", self.id, self.clock.per_window(), self.clock.window());
        Error::Timeout {
            operation: format!(
                "{operation} (a response must complete within the read timeout, or keep arriving at {} bytes/s or more; see Limits::min_transfer_rate)",
                self.min_rate
            ),
            after: self.read_timeout,
        }
    }

    /// Reads one line, returning it with its line end (CRLF or a bare LF), under the turn
    /// deadline; a line longer than the configured maximum is a `LimitExceeded` error as
    /// soon as the limit is passed.
    pub(crate) fn read_line(&mut self, operation: &str) -> Result<&[u8]> {
        let mut scanned = 0;
        loop {
            let unread = self.buffered();
            if let Some(pos) = unread
                .get(scanned..)
                .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            {
                let len = scanned + pos + 1;
                if len > self.max_line {
                    return Err(self.line_limit());
                }
                let line_start = self.start;
                self.consume_keep(len);
                let line = self.buf.get(line_start..line_start + len).unwrap_or(&[]);
                trace_server(&self.id, line);
                return Ok(line);
            }
            scanned = unread.len();
            if scanned >= self.max_line {
                return Err(self.line_limit());
            }
            self.fill(operation)?;
        }
    }

    /// Reads whatever is available (at least one byte) into `out`: first any bytes already
    /// buffered here, else one read from the socket, until `deadline` when given, else under
    /// the turn deadline.
    pub(crate) fn read_raw(
        &mut self,
        out: &mut [u8],
        deadline: Option<Instant>,
        operation: &str,
    ) -> Result<usize> {
        let buffered = self.buffered();
        if !buffered.is_empty() {
            let n = buffered.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..n), buffered.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.consume(n);
            return Ok(n);
        }
        self.read_socket(out, deadline, operation)
    }

    /// The configured read timeout.
    pub(crate) fn read_timeout(&self) -> Duration {
        self.read_timeout
    }

    /// Like `consume`, but keeps the consumed bytes in place so that a returned slice stays
    /// valid until the next read.
    fn consume_keep(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    fn line_limit(&self) -> Error {
        log::debug!(target: "mailwire::net", "[{}] response line over {} bytes", self.id, self.max_line);
        Error::LimitExceeded {
            what: "a response line".into(),
            limit: self.max_line,
        }
    }

    /// Sends `bytes` and flushes. The wire trace shows `trace` instead of the bytes: the
    /// caller's rendering with credentials replaced by `<redacted>` (commands are never
    /// logged verbatim, so nothing can leak by forgetting to redact).
    pub(crate) fn send(&mut self, bytes: &[u8], trace: &str) -> Result<()> {
        log::trace!(target: WIRE, "[{}] C: {trace}", self.id);
        // The write timeout, plus the time the minimum rate allows for the bytes: a large
        // APPEND on a slow link goes through, a server that stops reading cannot hold the
        // call forever.
        let allowance = Duration::from_millis(
            u64::try_from(bytes.len())
                .unwrap_or(u64::MAX)
                .saturating_mul(1000)
                / self.min_rate.max(1),
        );
        let mut until = later(Instant::now(), self.write_timeout.saturating_add(allowance));
        if let Some(b) = &self.bound {
            until = until.min(b.at);
        }
        self.stream.socket_mut().set_write_deadline(Some(until));
        let result = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| Error::from_io(e, "sending a command", self.write_timeout));
        // The server's turn starts when the client has finished sending.
        self.clock.restart();
        self.quickack.turn_started();
        result
    }

    /// Upgrades the plain connection to TLS after the server accepted STARTTLS / STLS
    /// (`net::connect::starttls`), within what is left of the connect deadline.
    ///
    /// Fails, and closes the connection, if the server sent anything after its OK: bytes
    /// there would otherwise be read as if they came through TLS (a response-injection
    /// attack, CVE-2011-0411 and kin).
    pub(crate) fn start_tls(self, config: &Config) -> Result<Transport> {
        let (deadline, after) = match &self.bound {
            Some(b) => (b.at, b.after),
            None => (
                later(Instant::now(), config.connect_timeout()),
                config.connect_timeout(),
            ),
        };
        let Transport {
            stream,
            id,
            bound,
            buf,
            start,
            end,
            quickack,
            ..
        } = self;
        let buffered = buf.get(start..end).unwrap_or(&[]);
        let tls = starttls::upgrade(stream, buffered, config, &id, deadline, after)?;
        let mut upgraded = Transport::new(tls, config, &id);
        upgraded.bound = bound;
        upgraded.quickack = quickack;
        Ok(upgraded)
    }

    /// The host this transport is connected to.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Starts the `Debug` output of a session over this transport with what the IMAP and
    /// POP3 sessions both show: `Session { id, host, state, tls`; the caller adds its own
    /// fields and finishes it.
    pub(crate) fn debug_session<'a, 'b>(
        &self,
        f: &'a mut fmt::Formatter<'b>,
        state: &dyn fmt::Debug,
    ) -> fmt::DebugStruct<'a, 'b> {
        let mut session = f.debug_struct("Session");
        session
            .field("id", &self.id())
            .field("host", &self.host())
            .field("state", state)
            .field("tls", &self.is_tls());
        session
    }
}

/// `at + by`, saturating far in the future instead of overflowing.
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(at)
}

pub(crate) fn trace_server(id: &str, line: &[u8]) {
    if log::log_enabled!(target: WIRE, log::Level::Trace) {
        log::trace!(target: WIRE, "[{id}] S: {}", shorten(line));
    }
}

/// The first bytes of a line, escaped, for the trace.
pub(crate) fn shorten(bytes: &[u8]) -> String {
    let body = bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes);
    if body.len() > TRACE_MAX {
        format!(
            "{}… ({} bytes)",
            escape_bytes(body.get(..TRACE_MAX).unwrap_or(body)),
            body.len()
        )
    } else {
        escape_bytes(body)
    }
}
