//! Plain TCP or TLS streams: connecting within a deadline, implicit TLS, the STARTTLS upgrade.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use native_tls::{HandshakeError, TlsStream};

use crate::config::{Config, Protocol};
use crate::error::{Error, Result};
use crate::net::socket::Socket;

/// A connected stream, plain or TLS, over a [`Socket`] whose deadlines bound every read
/// and write (also those the TLS layer makes on its own).
pub(crate) enum Stream {
    Plain(Socket),
    Tls(Box<TlsStream<Socket>>),
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
    pub(crate) fn socket(&self) -> &Socket {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }

    pub(crate) fn socket_mut(&mut self) -> &mut Socket {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_mut(),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    pub(crate) fn shutdown(&self) {
        self.socket().shutdown();
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
/// resolved address until one answers, all before `deadline` (the connect deadline); then
/// sets the socket timeouts. Does not start TLS.
pub(crate) fn connect_tcp(
    config: &Config,
    protocol: Protocol,
    id: &str,
    deadline: Instant,
) -> Result<Socket> {
    let host = config.host();
    let port = config.port(protocol);
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
                return Ok(Socket::tcp(tcp));
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

/// Sets the configured read and write timeouts on the socket after connecting.
fn set_io_timeouts(tcp: &TcpStream, config: &Config) -> Result<()> {
    tcp.set_read_timeout(Some(config.read_timeout()))
        .and_then(|()| tcp.set_write_timeout(Some(config.write_timeout())))
        .map_err(|source| Error::Io {
            operation: "setting socket timeouts".into(),
            source,
        })
}

/// Runs the TLS handshake over `socket`, ending by `deadline` whatever the server does (the
/// socket checks it before every read and write the TLS library makes), verifying the
/// certificate against the configured server name (unless verification was turned off in
/// the config). `timeout` is what the error reports.
pub(crate) fn tls_handshake(
    config: &Config,
    mut socket: Socket,
    deadline: Instant,
    timeout: Duration,
    id: &str,
) -> Result<TlsStream<Socket>> {
    let name = config.tls_server_name().to_string();
    socket.set_read_deadline(Some(deadline));
    socket.set_write_deadline(Some(deadline));
    let timed_out = || Error::Timeout {
        operation: format!("the TLS handshake with {name}"),
        after: timeout,
    };
    log::debug!(target: "mailwire::net", "[{id}] TLS handshake with {name}");
    let mut attempt = config.tls.connector.connect(&name, socket);
    loop {
        match attempt {
            Ok(tls) => {
                log::debug!(target: "mailwire::net", "[{id}] TLS established with {name}");
                return Ok(tls);
            }
            // A socket timeout surfaces as WouldBlock in the middle of the handshake.
            Err(HandshakeError::WouldBlock(mid)) => {
                if Instant::now() >= deadline {
                    mid.get_ref().shutdown();
                    return Err(timed_out());
                }
                attempt = mid.handshake();
            }
            Err(HandshakeError::Failure(e)) => {
                log::debug!(target: "mailwire::net", "[{id}] TLS handshake failed: {e}");
                // The peer hanging up mid-handshake is a network failure (transient), not a
                // certificate problem.
                if let Some(io) = io_cause(&e) {
                    if matches!(
                        io.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) {
                        return Err(timed_out());
                    }
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
