//! Plain TCP or TLS streams: connecting within a deadline, implicit TLS, the STARTTLS upgrade.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use native_tls::{HandshakeError, TlsStream};

use crate::config::{Config, Protocol};
use crate::error::{Error, Result};

/// A connected socket, plain or TLS. Reads and writes honour the socket timeouts.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Plain(_) => f.write_str("Stream::Plain"),
            Stream::Tls(_) => f.write_str("Stream::Tls"),
        }
    }
}

impl Stream {
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    pub(crate) fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        // A zero duration means "no timeout" to the OS: never pass it.
        self.tcp()
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
    }

    pub(crate) fn shutdown(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Opens a TCP connection to the configured host and port for `protocol`, trying each
/// resolved address until one answers, all within `connect_timeout`; then sets the socket
/// timeouts. Does not start TLS.
pub(crate) fn connect_tcp(config: &Config, protocol: Protocol, id: &str) -> Result<TcpStream> {
    let host = config.host();
    let port = config.port(protocol);
    let deadline = Instant::now() + config.connect_timeout();
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| Error::Dns {
            host: host.to_string(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Dns {
            host: host.to_string(),
            source: io::Error::new(io::ErrorKind::NotFound, "no address found"),
        });
    }
    let mut last_error = io::Error::new(io::ErrorKind::TimedOut, "connect deadline passed");
    for addr in addrs {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        log::debug!(target: "mailwire::net", "[{id}] connecting to {addr} ({host}:{port})");
        match TcpStream::connect_timeout(&addr, remaining) {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                set_io_timeouts(&tcp, config)?;
                log::debug!(target: "mailwire::net", "[{id}] connected to {addr}");
                return Ok(tcp);
            }
            Err(e) => {
                log::debug!(target: "mailwire::net", "[{id}] connect to {addr} failed: {e}");
                last_error = e;
            }
        }
    }
    if last_error.kind() == io::ErrorKind::TimedOut
        || last_error.kind() == io::ErrorKind::WouldBlock
    {
        return Err(Error::Timeout {
            operation: format!("connecting to {host}:{port}"),
            after: config.connect_timeout(),
        });
    }
    Err(Error::Connect {
        host: host.to_string(),
        port,
        source: last_error,
    })
}

/// Sets the configured read and write timeouts on the socket (after connecting, and again
/// after a handshake that ran under its own deadline).
fn set_io_timeouts(tcp: &TcpStream, config: &Config) -> Result<()> {
    tcp.set_read_timeout(Some(config.read_timeout()))
        .and_then(|()| tcp.set_write_timeout(Some(config.write_timeout())))
        .map_err(|source| Error::Io {
            operation: "setting socket timeouts".into(),
            source,
        })
}

/// Runs the TLS handshake over `tcp`, within `timeout`, verifying the certificate against
/// the configured server name (unless verification was turned off in the config).
pub(crate) fn tls_handshake(
    config: &Config,
    tcp: TcpStream,
    timeout: Duration,
    id: &str,
) -> Result<TlsStream<TcpStream>> {
    let name = config.tls_server_name().to_string();
    let deadline = Instant::now() + timeout;
    let set_timeouts = |tcp: &TcpStream| {
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let _ = tcp.set_read_timeout(Some(remaining));
        let _ = tcp.set_write_timeout(Some(remaining));
    };
    set_timeouts(&tcp);
    log::debug!(target: "mailwire::net", "[{id}] TLS handshake with {name}");
    let mut attempt = config.tls.connector.connect(&name, tcp);
    loop {
        match attempt {
            Ok(tls) => {
                set_io_timeouts(tls.get_ref(), config)?;
                log::debug!(target: "mailwire::net", "[{id}] TLS established with {name}");
                return Ok(tls);
            }
            // A socket timeout surfaces as WouldBlock in the middle of the handshake.
            Err(HandshakeError::WouldBlock(mid)) => {
                if Instant::now() >= deadline {
                    mid.get_ref().shutdown(Shutdown::Both).ok();
                    return Err(Error::Timeout {
                        operation: format!("the TLS handshake with {name}"),
                        after: timeout,
                    });
                }
                set_timeouts(mid.get_ref());
                attempt = mid.handshake();
            }
            Err(HandshakeError::Failure(e)) => {
                log::debug!(target: "mailwire::net", "[{id}] TLS handshake failed: {e}");
                // The peer hanging up mid-handshake is a network failure (transient), not a
                // certificate problem.
                if let Some(io) = io_cause(&e) {
                    return Err(Error::from_io(
                        io::Error::new(io.kind(), e.to_string()),
                        "in the TLS handshake",
                        timeout,
                    ));
                }
                return Err(Error::Tls {
                    host: name,
                    message: e.to_string(),
                });
            }
        }
    }
}

/// The I/O error somewhere in `e`'s source chain, if the failure was one.
fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = err.source();
    }
    None
}
