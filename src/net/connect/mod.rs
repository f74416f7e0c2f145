//! Connecting: a chain of small steps, one file each, run in order within one connect
//! deadline (`Config::connect_timeout`, per attempt), the whole chain retried on transient
//! failures (`net::retry`). As in ureq's transport, each step takes what the step before it
//! produced and hands on something to read and write; adding a way to connect is adding a
//! step, not editing the others.
//!
//! | step | file | takes → gives | where a change goes |
//! |---|---|---|---|
//! | resolve | `resolve.rs` | host, port → addresses: the config's override (`ConfigBuilder::resolve`) or the system resolver's (`Error::Dns`) | a custom resolver |
//! | TCP | `tcp.rs`, racing in `eyeballs.rs` | addresses → a connected [`Socket`]: happy eyeballs (RFC 8305: families interleaved, a new attempt every 250 ms or when one fails, first to connect wins) within the deadline; socket options | keepalive |
//! | (proxy) | `proxy.rs`, not written yet | the socket to the proxy → the same socket tunnelled to the server (SOCKS5, HTTP `CONNECT`); resolve then names the proxy | the transport issue |
//! | TLS | `tls.rs` | a socket → a TLS [`Stream`] (implicit TLS, and the STARTTLS upgrade), within the deadline | another TLS backend: a second file whose stream implements [`Layer`](super::stream::Layer) |
//! | transport | [`open`] | the stream → a [`Transport`] bounded by the connect deadline until `end_connect` | |
//! | greeting / STARTTLS / login | the protocol's `greet` closure (`imap::Session::establish`, `pop3::Session::establish`) given to [`connect_with_retry`] | reads the greeting; on STARTTLS / STLS calls [`Transport::start_tls`], which runs `starttls.rs` (refuses bytes sent before the handshake, then `tls.rs`); registers the shutdown handle, logs in | protocol knowledge stays in the sessions |
//!
//! After login, a compression layer (IMAP `COMPRESS=DEFLATE`, RFC 4978) would be one more
//! [`Layer`](super::stream::Layer) over the stream, installed by the transport the way
//! `start_tls` installs TLS.

mod eyeballs;
mod resolve;
pub(crate) mod starttls;
mod tcp;
pub(crate) mod tls;

use std::time::Instant;

use crate::config::{Config, Protocol, Security};
use crate::error::Result;
use crate::net::retry;
#[cfg(doc)]
use crate::net::socket::Socket;
use crate::net::stream::Stream;
use crate::net::transport::{Transport, later};

/// Runs the chain up to the transport: resolve, TCP, implicit TLS when the security mode is
/// [`Security::Tls`]. The greeting is not read. Everything from here until
/// [`Transport::end_connect`] — TCP, TLS, greeting, STARTTLS, capabilities, login — must
/// end within the connect timeout.
pub(crate) fn open(config: &Config, protocol: Protocol, id: &str) -> Result<Transport> {
    let timeout = config.connect_timeout();
    let deadline = later(Instant::now(), timeout);
    let host = config.host();
    let port = config.port(protocol);
    let addrs = resolve::resolve(config, protocol, id)?;
    let socket = tcp::connect(config, host, port, &addrs, id, deadline)?;
    let stream = if config.security() == Security::Tls {
        tls::handshake(config, socket, deadline, timeout, id)?
    } else {
        Stream::Plain(socket)
    };
    Ok(Transport::connecting(stream, config, id, deadline, timeout))
}

/// Connects ([`open`]) and runs `greet` (read the greeting, upgrade with STARTTLS, …) on the
/// new transport, retrying the whole sequence on transient failures per the config's retry
/// policy. Returns what `greet` returns.
pub(crate) fn connect_with_retry<T>(
    config: &Config,
    protocol: Protocol,
    id: &str,
    mut greet: impl FnMut(Transport) -> Result<T>,
) -> Result<T> {
    let what = format!("connecting to {}", config.account_label(protocol));
    retry::retry(&config.retry(), id, &what, |_| {
        let transport = open(config, protocol, id)?;
        greet(transport)
    })
}
