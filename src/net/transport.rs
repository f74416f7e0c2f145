//! A buffered, traced connection: bounded line reads with a deadline, exact reads to memory
//! or to a writer, writes, and the STARTTLS upgrade.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::config::{Config, Protocol, Security};
use crate::error::{Error, Result, escape_bytes};
use crate::net::stream::{Stream, connect_tcp, tls_handshake};

/// How many bytes one read asks the socket for.
const READ_CHUNK: usize = 64 * 1024;
/// How far a read may run past its deadline before the socket timeout is set again (see
/// `Transport::set_socket_timeout`).
const TIMEOUT_SLACK: Duration = Duration::from_millis(10);
/// How much of a line the wire trace shows.
const TRACE_MAX: usize = 512;
/// The log target of the wire trace.
pub(crate) const WIRE: &str = "mailwire::wire";

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
    max_line: usize,
    /// The read timeout currently set on the socket, to avoid needless syscalls.
    socket_timeout: Duration,
}

impl Transport {
    /// Connects to the host and port of `config` for `protocol`, with implicit TLS when the
    /// security mode is [`Security::Tls`]. The greeting is not read.
    pub(crate) fn connect(config: &Config, protocol: Protocol, id: &str) -> Result<Transport> {
        let started = Instant::now();
        let tcp = connect_tcp(config, protocol, id)?;
        let stream = if config.security() == Security::Tls {
            let remaining = config
                .connect_timeout()
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1));
            Stream::Tls(Box::new(tls_handshake(config, tcp, remaining, id)?))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Transport::new(stream, config, id))
    }

    fn new(stream: Stream, config: &Config, id: &str) -> Transport {
        Transport {
            stream,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            id: id.to_string(),
            host: config.host().to_string(),
            read_timeout: config.read_timeout(),
            max_line: config.limits().max_line_length,
            socket_timeout: config.read_timeout(),
        }
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
        let tcp = self.stream.tcp();
        if tcp.set_nonblocking(true).is_err() {
            return true;
        }
        let mut probe = [0u8; 1];
        let readable = match tcp.peek(&mut probe) {
            Ok(_) => true,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        if tcp.set_nonblocking(false).is_err() {
            return true;
        }
        readable
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
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more bytes into the buffer, waiting until `deadline`. Returns how many arrived.
    /// Fails with `Closed` on EOF and `Timeout` past the deadline.
    pub(crate) fn fill(&mut self, deadline: Instant, operation: &str) -> Result<usize> {
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

    /// One read from the socket into `out`, waiting until `deadline`: `Timeout` past it,
    /// `Closed` at the end of the stream.
    fn read_socket(&mut self, out: &mut [u8], deadline: Instant, operation: &str) -> Result<usize> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::Timeout {
                operation: operation.to_string(),
                after: self.read_timeout,
            });
        }
        self.set_socket_timeout(remaining)?;
        loop {
            match self.stream.read(out) {
                Ok(0) => {
                    log::debug!(target: "mailwire::net", "[{}] connection closed by the server while {operation}", self.id);
                    return Err(Error::Closed {
                        context: format!("by the server while {operation}"),
                    });
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!(target: "mailwire::net", "[{}] read failed while {operation}: {e}", self.id);
                    return Err(Error::from_io(e, operation, self.read_timeout));
                }
            }
        }
    }

    fn set_socket_timeout(&mut self, timeout: Duration) -> Result<()> {
        // Only touch the socket when the deadline is nearer than what is set, or when a
        // previous near deadline left the setting well below what is wanted now. Within
        // `TIMEOUT_SLACK` the setting stands: a deadline recomputed before every read moves
        // by microseconds, and a system call per read cost more than the parse of what it
        // read (a read may end at most that much after its deadline).
        let t = timeout.min(self.read_timeout);
        if t + TIMEOUT_SLACK < self.socket_timeout || self.socket_timeout + TIMEOUT_SLACK < t {
            self.stream
                .set_read_timeout(t)
                .map_err(|source| Error::Io {
                    operation: "setting the read timeout".into(),
                    source,
                })?;
            self.socket_timeout = t;
        }
        Ok(())
    }

    /// Reads one line, returning it with its line end (CRLF or a bare LF). The whole line
    /// must arrive within the read timeout; a line longer than the configured maximum is a
    /// `LimitExceeded` error as soon as the limit is passed.
    pub(crate) fn read_line(&mut self, operation: &str) -> Result<&[u8]> {
        let deadline = Instant::now() + self.read_timeout;
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
            self.fill(deadline, operation)?;
        }
    }

    /// Reads whatever is available (at least one byte) into `out`: first any bytes already
    /// buffered here, else one read from the socket that must return before `deadline`.
    pub(crate) fn read_raw(
        &mut self,
        out: &mut [u8],
        deadline: Instant,
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
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| Error::from_io(e, "sending a command", self.read_timeout))
    }

    /// Upgrades the plain connection to TLS after the server accepted STARTTLS / STLS.
    ///
    /// Fails, and closes the connection, if the server sent anything after its OK: bytes
    /// there would otherwise be read as if they came through TLS (a response-injection
    /// attack, CVE-2011-0411 and kin).
    pub(crate) fn start_tls(self, config: &Config) -> Result<Transport> {
        let Transport { stream, id, .. } = self;
        let leftover = self.end - self.start;
        let tcp = match stream {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => {
                tls.get_ref().shutdown(std::net::Shutdown::Both).ok();
                return Err(Error::protocol(
                    "STARTTLS on a connection that already uses TLS",
                    &[],
                    0,
                ));
            }
        };
        let injected = if leftover > 0 {
            leftover
        } else {
            peek_pending(&tcp)
        };
        if injected > 0 {
            log::warn!(target: "mailwire::net", "[{id}] the server sent {injected} bytes before the TLS handshake; closing");
            tcp.shutdown(std::net::Shutdown::Both).ok();
            return Err(Error::Protocol {
                message: format!(
                    "the server sent {injected} unencrypted bytes after accepting STARTTLS, before the TLS handshake (possible response injection); the connection was closed"
                ),
                excerpt: escape_bytes(
                    self.buf
                        .get(self.start..self.end.min(self.start + 48))
                        .unwrap_or(&[]),
                ),
                offset: 0,
            });
        }
        let tls = tls_handshake(config, tcp, config.connect_timeout(), &id)?;
        Ok(Transport::new(Stream::Tls(Box::new(tls)), config, &id))
    }

    /// The host this transport is connected to.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

/// How many bytes are already waiting on the socket (0 if none, or if it cannot tell).
fn peek_pending(tcp: &TcpStream) -> usize {
    if tcp.set_nonblocking(true).is_err() {
        return 0;
    }
    let mut probe = [0u8; 64];
    let n = tcp.peek(&mut probe).unwrap_or(0);
    let _ = tcp.set_nonblocking(false);
    n
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
