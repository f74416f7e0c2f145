//! The first connect step: the host name and port to the addresses to try, in the order the
//! system resolver gives them.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::error::{Error, Result};

/// The addresses of `host:port`; `Error::Dns` when the name does not resolve or resolves
/// to nothing.
pub(super) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
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
    Ok(addrs)
}
