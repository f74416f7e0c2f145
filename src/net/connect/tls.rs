//! The TLS step (native-tls): the handshake over a socket within a deadline, verifying the
//! certificate against the configured server name; used for implicit TLS and by the
//! STARTTLS upgrade. Another TLS backend would be a file like this one, its stream
//! implementing [`Layer`].

use std::io;
use std::time::{Duration, Instant};

use native_tls::{HandshakeError, TlsStream};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::net::socket::Socket;
use crate::net::stream::{Layer, Stream};

impl Layer for TlsStream<Socket> {
    fn socket(&self) -> &Socket {
        self.get_ref()
    }

    fn socket_mut(&mut self) -> &mut Socket {
        self.get_mut()
    }
}

/// Runs the TLS handshake over `socket`, ending by `deadline` whatever the server does (the
/// socket checks it before every read and write the TLS library makes), verifying the
/// certificate against the configured server name (unless verification was turned off in
/// the config). `timeout` is what the error reports.
pub(crate) fn handshake(
    config: &Config,
    mut socket: Socket,
    deadline: Instant,
    timeout: Duration,
    id: &str,
) -> Result<Stream> {
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
                return Ok(Stream::Tls(Box::new(tls)));
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
