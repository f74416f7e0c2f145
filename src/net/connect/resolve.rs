//! The first connect step: the host name and port to the addresses to try: those set with
//! `ConfigBuilder::resolve` for the host if any, else the system resolver's, in its order.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::config::{Config, Protocol};
use crate::error::{Error, Result};

/// The addresses of the config's host for `protocol`: the override set for it, else the
/// system resolver's; `Error::Dns` when the name does not resolve or resolves to nothing.
pub(super) fn resolve(config: &Config, protocol: Protocol, id: &str) -> Result<Vec<SocketAddr>> {
    let host = config.host();
    if let Some(addrs) = config.resolve_override(host, protocol) {
        log::debug!(target: "mailwire::net", "[{id}] {host}: addresses set in the config");
        return Ok(addrs);
    }
    let addrs: Vec<SocketAddr> = (host, config.port(protocol))
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
    Ok(addrs)
}
