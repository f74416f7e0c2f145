//! The TCP connect step: each resolved address in turn until one answers, all before the
//! connect deadline, then the socket options (no Nagle, the configured read and write
//! timeouts). Happy eyeballs or TCP keepalive would change this file only.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::net::socket::Socket;

/// Opens a TCP connection to one of `addrs` (those of `host:port`), trying each until one
/// answers, all before `deadline` (the connect deadline); then sets the socket timeouts.
/// Does not start TLS.
pub(super) fn connect(
    config: &Config,
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    id: &str,
    deadline: Instant,
) -> Result<Socket> {
    let mut last_error = io::Error::new(io::ErrorKind::TimedOut, "connect deadline passed");
    for addr in addrs {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        log::debug!(target: "mailwire::net", "[{id}] connecting to {addr} ({host}:{port})");
        match TcpStream::connect_timeout(addr, remaining) {
            Ok(tcp) => {
                crate::net::sockopt::apply(&tcp, config, id);
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
