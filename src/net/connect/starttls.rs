//! The STARTTLS / STLS step, once the server has accepted the upgrade: refuse anything the
//! server sent before the handshake (a response-injection attack, CVE-2011-0411 and kin),
//! then the TLS step over the same socket.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, Result, escape_bytes};
use crate::net::socket::{Peeked, Socket};
use crate::net::stream::Stream;

use super::tls;

/// Upgrades a plain `stream` to TLS, ending by `deadline` (`after` is what a timeout
/// reports). `buffered` is what the transport received and has not consumed: bytes there,
/// or bytes already waiting on the socket, would be read as if they came through TLS, so
/// the connection is closed and the upgrade refused. A stream that already uses TLS is
/// refused too.
pub(crate) fn upgrade(
    stream: Stream,
    buffered: &[u8],
    config: &Config,
    id: &str,
    deadline: Instant,
    after: Duration,
) -> Result<Stream> {
    let tcp = match stream {
        Stream::Plain(tcp) => tcp,
        Stream::Tls(tls) => {
            tls.socket().shutdown();
            return Err(Error::protocol(
                "STARTTLS on a connection that already uses TLS",
                &[],
                0,
            ));
        }
    };
    let injected = if buffered.is_empty() {
        peek_pending(&tcp)
    } else {
        buffered.len()
    };
    if injected > 0 {
        log::warn!(target: "mailwire::net", "[{id}] the server sent {injected} bytes before the TLS handshake; closing");
        tcp.shutdown();
        return Err(Error::Protocol {
            message: format!(
                "the server sent {injected} unencrypted bytes after accepting STARTTLS, before the TLS handshake (possible response injection); the connection was closed"
            ),
            excerpt: escape_bytes(buffered.get(..buffered.len().min(48)).unwrap_or(&[])),
            offset: 0,
        });
    }
    tls::handshake(config, tcp, deadline, after, id)
}

/// How many bytes are already waiting on the socket (0 if none, or if it cannot tell).
fn peek_pending(socket: &Socket) -> usize {
    let mut probe = [0u8; 64];
    match socket.peek_now(&mut probe) {
        Ok(Peeked::Bytes(n)) => n,
        _ => 0,
    }
}
