//! The byte stream under a transport — a TCP socket or an in-memory pipe — with deadlines
//! that hold for every single read and write, also those TLS makes inside one record.
//!
//! A socket timeout alone bounds each system call, not an operation: a peer that sends one
//! byte just before each timeout keeps a blocking read (or a TLS handshake, or a TLS record
//! assembled from many reads) alive forever. Here every read and write first checks the
//! deadline the transport set and shortens the socket timeout to what is left, so the
//! operation ends at its deadline whatever the peer does.
//!
//! [`ShutdownHandle`] is a second handle on the same socket, kept by whoever must be able
//! to stop a blocked read from another thread (an IdleListener's `stop`): it survives the
//! TLS upgrade because it holds the socket, not the stream.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::net::memory::{MemoryEnd, MemoryShutdown};
pub(crate) use crate::net::peek::Peeked;

/// How far a read may run past its deadline before the socket timeout is set again: a
/// deadline recomputed before every read moves by microseconds, and a system call per read
/// cost more than the parse of what it read.
const TIMEOUT_SLACK: Duration = Duration::from_millis(10);

/// The stream under TLS (or used plain): TCP, or an in-memory pipe.
#[derive(Debug)]
pub(crate) struct Socket {
    kind: Kind,
    read_deadline: Option<Instant>,
    write_deadline: Option<Instant>,
    /// What is set on the TCP socket now, to avoid needless system calls.
    read_timeout_set: Option<Duration>,
    write_timeout_set: Option<Duration>,
}

#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
#[derive(Debug)]
enum Kind {
    Tcp(TcpStream),
    Memory(MemoryEnd),
}

/// Shuts a socket down from any thread: a read blocked on it returns at once (end of
/// stream or an error), and every later read and write fails. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ShutdownHandle {
    inner: Arc<HandleKind>,
}

#[derive(Debug)]
enum HandleKind {
    Tcp(TcpStream),
    Memory(MemoryShutdown),
    None,
}

impl ShutdownHandle {
    /// Closes the socket in both directions (idempotent).
    pub(crate) fn shutdown(&self) {
        match &*self.inner {
            HandleKind::Tcp(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            HandleKind::Memory(memory) => memory.shutdown(),
            HandleKind::None => {}
        }
    }
}

impl Socket {
    pub(crate) fn tcp(tcp: TcpStream) -> Socket {
        Socket::new(Kind::Tcp(tcp))
    }

    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) fn memory(end: MemoryEnd) -> Socket {
        Socket::new(Kind::Memory(end))
    }

    fn new(kind: Kind) -> Socket {
        Socket {
            kind,
            read_deadline: None,
            write_deadline: None,
            read_timeout_set: None,
            write_timeout_set: None,
        }
    }

    /// A handle that can shut this socket down from another thread. If the operating
    /// system refuses a second handle on the socket, the handle does nothing (the caller's
    /// own deadlines still end every wait).
    pub(crate) fn shutdown_handle(&self) -> ShutdownHandle {
        let inner = match &self.kind {
            Kind::Tcp(tcp) => match tcp.try_clone() {
                Ok(clone) => HandleKind::Tcp(clone),
                Err(e) => {
                    log::debug!(target: "mailwire::net", "no second handle on the socket: {e}");
                    HandleKind::None
                }
            },
            Kind::Memory(end) => HandleKind::Memory(end.shutdown_handle()),
        };
        ShutdownHandle {
            inner: Arc::new(inner),
        }
    }

    /// Every later read must end by `deadline` (`None`: no deadline of the socket's own
    /// beyond the timeout last set).
    pub(crate) fn set_read_deadline(&mut self, deadline: Option<Instant>) {
        self.read_deadline = deadline;
    }

    /// Every later write must end by `deadline`.
    pub(crate) fn set_write_deadline(&mut self, deadline: Option<Instant>) {
        self.write_deadline = deadline;
    }

    /// Closes the socket in both directions.
    pub(crate) fn shutdown(&self) {
        match &self.kind {
            Kind::Tcp(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            Kind::Memory(end) => end.shutdown(),
        }
    }

    /// How many bytes wait to be read right now (up to `probe.len()`), without waiting and
    /// without consuming them. `Ok(0)` with `eof == true` is the end of the stream.
    pub(crate) fn peek_now(&self, probe: &mut [u8]) -> io::Result<Peeked> {
        match &self.kind {
            Kind::Tcp(tcp) => {
                tcp.set_nonblocking(true)?;
                let result = tcp.peek(probe);
                let restored = tcp.set_nonblocking(false);
                let peeked = match result {
                    Ok(0) => Peeked::Eof,
                    Ok(n) => Peeked::Bytes(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Peeked::Nothing,
                    Err(e) => return Err(e),
                };
                restored.map(|()| peeked)
            }
            Kind::Memory(end) => Ok(end.peek_now(probe)),
        }
    }

    /// Sets `TCP_QUICKACK` on a TCP socket (see `net::quickack`); returns whether a system
    /// call was made (never for the in-memory pipe, nor where the option does not exist).
    pub(crate) fn quickack(&self, id: &str) -> bool {
        match &self.kind {
            Kind::Tcp(tcp) => crate::net::sockopt::quickack(tcp, id),
            Kind::Memory(_) => false,
        }
    }

    /// The TCP stream under this socket (`None` for the in-memory pipe), for tests that
    /// read its options back.
    #[cfg(test)]
    pub(crate) fn tcp_stream(&self) -> Option<&TcpStream> {
        match &self.kind {
            Kind::Tcp(tcp) => Some(tcp),
            Kind::Memory(_) => None,
        }
    }

    /// The time left until `deadline`, or a `TimedOut` error when none is.
    fn left(deadline: Option<Instant>) -> io::Result<Option<Duration>> {
        match deadline {
            None => Ok(None),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
                } else {
                    Ok(Some(left))
                }
            }
        }
    }
}

/// Tells a connection the kernel ended apart from a read that timed out. On Unix a socket
/// read timeout is `EAGAIN` (`WouldBlock`), so `ETIMEDOUT` (`TimedOut`) from a read means the
/// connection itself timed out: keepalive probes or retransmissions went unanswered (the
/// peer or a NAT on the way is gone). It is passed on as `ConnectionAborted`, which ends
/// the wait at once, instead of as a timeout that the read loop would wait out. (Windows
/// reports both as `TimedOut`; there the read deadline ends the wait.)
fn dead_peer(e: io::Error) -> io::Error {
    if cfg!(unix) && e.kind() == io::ErrorKind::TimedOut {
        return io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!(
                "the connection timed out: no answer to TCP keepalive probes or retransmissions, the server or the network path to it is gone ({e})"
            ),
        );
    }
    e
}

/// Sets a socket timeout when it differs from what is set by more than the slack (a zero
/// duration means "no timeout" to the OS and is never passed).
fn adjust(
    set: &mut Option<Duration>,
    want: Duration,
    apply: impl FnOnce(Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    let want = want.max(Duration::from_millis(1));
    let close_enough = set.is_some_and(|s| want <= s && s <= want + TIMEOUT_SLACK);
    if !close_enough {
        apply(Some(want))?;
        *set = Some(want);
    }
    Ok(())
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = Socket::left(self.read_deadline)?;
        match &mut self.kind {
            Kind::Tcp(tcp) => {
                if let Some(left) = left {
                    let t = &*tcp;
                    adjust(&mut self.read_timeout_set, left, |d| t.set_read_timeout(d))?;
                }
                tcp.read(buf).map_err(dead_peer)
            }
            Kind::Memory(end) => end.read_until(buf, self.read_deadline),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = Socket::left(self.write_deadline)?;
        match &mut self.kind {
            Kind::Tcp(tcp) => {
                if let Some(left) = left {
                    let t = &*tcp;
                    adjust(&mut self.write_timeout_set, left, |d| {
                        t.set_write_timeout(d)
                    })?;
                }
                tcp.write(buf)
            }
            Kind::Memory(end) => end.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.kind {
            Kind::Tcp(tcp) => tcp.flush(),
            Kind::Memory(_) => Ok(()),
        }
    }
}
