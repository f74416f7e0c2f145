//! The TCP connect step: the resolved addresses raced as happy eyeballs (`eyeballs.rs`),
//! all before the connect deadline, then the socket options of a connected stream (no
//! Nagle, the configured read and write timeouts), set in one place: [`finish`].

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::eyeballs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::net::socket::Socket;

/// Opens a TCP connection to one of `addrs` (those of `host:port`), raced as RFC 8305
/// describes (families interleaved, a new attempt every 250 ms or as soon as one fails, at
/// most 16 addresses), all before `deadline` (the connect deadline); then sets the socket
/// options. Does not start TLS.
///
/// When no address connects: `Error::Timeout` if the deadline passed, else
/// `Error::Connect`; either names every address tried and why it failed.
pub(super) fn connect(
    config: &Config,
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    id: &str,
    deadline: Instant,
) -> Result<Socket> {
    let order = eyeballs::interleave(addrs, eyeballs::MAX_ADDRESSES);
    log::debug!(
        target: "mailwire::net",
        "[{id}] connecting to {host}:{port}: {} of {} addresses",
        order.len(),
        addrs.len()
    );
    match eyeballs::race(&order, deadline, id) {
        Ok((tcp, _addr)) => finish(tcp, config, id),
        Err(failure) if failure.timed_out => Err(Error::Timeout {
            operation: format!("connecting to {host}:{port} ({})", failure.summary()),
            after: config.connect_timeout(),
        }),
        Err(failure) => {
            let kind = failure
                .tried
                .last()
                .map_or(io::ErrorKind::NotFound, |(_, e)| e.kind());
            Err(Error::Connect {
                host: host.to_string(),
                port,
                source: io::Error::new(
                    kind,
                    format!("every address failed: {}", failure.summary()),
                ),
            })
        }
    }
}

/// The one place a connected stream is made ready: socket options, then the socket.
fn finish(tcp: TcpStream, config: &Config, id: &str) -> Result<Socket> {
    crate::net::sockopt::apply(&tcp, config, id);
    set_io_timeouts(&tcp, config)?;
    Ok(Socket::tcp(tcp))
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
