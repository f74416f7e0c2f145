//! Resolution overrides: static addresses for a host name, used instead of the system
//! resolver (as curl's `--resolve`), set with [`ConfigBuilder::resolve`] and bounded.

use std::net::SocketAddr;

use super::ConfigBuilder;
use super::builder::check_name;
use crate::error::{Error, Result};

/// The most host names a config may override.
pub(crate) const MAX_HOSTS: usize = 16;

/// The most addresses one overridden host name may have.
pub(crate) const MAX_ADDRESSES_PER_HOST: usize = 64;

/// Host names and the addresses to use for them instead of resolving them (names kept in
/// ASCII lowercase; addresses in the caller's order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct ResolveOverrides {
    entries: Vec<(String, Vec<SocketAddr>)>,
}

impl ResolveOverrides {
    /// The addresses given for `host` (case-insensitive), with a port of 0 replaced by
    /// `port`; `None` when `host` is not overridden.
    pub(crate) fn lookup(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        let (_, addrs) = self
            .entries
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))?;
        let with_port = |a: &SocketAddr| {
            let mut a = *a;
            if a.port() == 0 {
                a.set_port(port);
            }
            a
        };
        Some(addrs.iter().map(with_port).collect())
    }

    /// Sets the addresses of `host`, replacing any set before.
    fn set(&mut self, host: String, addrs: Vec<SocketAddr>) {
        let host = host.trim().to_ascii_lowercase();
        self.entries.retain(|(name, _)| *name != host);
        self.entries.push((host, addrs));
    }

    /// Checks the bounds and the names (for `build`).
    pub(super) fn validated(self) -> Result<ResolveOverrides> {
        if self.entries.len() > MAX_HOSTS {
            return Err(Error::invalid(
                "resolve",
                format!("more than {MAX_HOSTS} host names are overridden"),
            ));
        }
        for (host, addrs) in &self.entries {
            if host.is_empty() {
                return Err(Error::invalid("resolve", "the host name is empty"));
            }
            check_name("resolve", host)?;
            if addrs.is_empty() {
                return Err(Error::invalid(
                    "resolve",
                    format!("no address given for {host}"),
                ));
            }
            if addrs.len() > MAX_ADDRESSES_PER_HOST {
                return Err(Error::invalid(
                    "resolve",
                    format!("more than {MAX_ADDRESSES_PER_HOST} addresses given for {host}"),
                ));
            }
        }
        Ok(self)
    }
}

impl ConfigBuilder {
    /// Connects to `addresses` when connecting to `host`, instead of resolving the name, as
    /// curl's `--resolve` does: for a server not in DNS yet, a test server, or to pin one
    /// address of a host whose other addresses are unreachable. The TLS certificate is still
    /// checked against the configured host (or [`tls_server_name`](Self::tls_server_name)),
    /// never against an address.
    ///
    /// An address with port 0 takes the port the connection uses (the protocol's port, see
    /// [`Config::port`](super::Config::port)); any other port is used as given. The
    /// addresses are tried as resolved ones are (families interleaved, a new attempt every
    /// 250 ms, see docs/reliability.md). `host` is compared without regard to case;
    /// calling this again for the same host replaces its addresses.
    ///
    /// [`build`](Self::build) fails with [`Error::InvalidInput`] when more than 16 host names
    /// are overridden, a host name is empty or holds whitespace, or a host has no address or
    /// more than 64.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use mailwire::{Config, Protocol};
    ///
    /// let v6: SocketAddr = "[2001:db8::7]:0".parse()?;
    /// let v4: SocketAddr = "192.0.2.7:0".parse()?;
    /// let config = Config::builder("imap.example.com")
    ///     .resolve("imap.example.com", [v6, v4])
    ///     .build()?;
    /// assert_eq!(config.resolve_override("imap.example.com", Protocol::Imap).map(|a| a.len()), Some(2));
    /// // The certificate is still checked against the host name.
    /// assert_eq!(config.tls_server_name(), "imap.example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(
        mut self,
        host: impl Into<String>,
        addresses: impl IntoIterator<Item = SocketAddr>,
    ) -> Self {
        // Bounded here too: one more than the limit is enough for `build` to refuse it.
        let addrs = addresses
            .into_iter()
            .take(MAX_ADDRESSES_PER_HOST + 1)
            .collect();
        self.resolve.set(host.into(), addrs);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Protocol};

    fn addr(text: &str) -> SocketAddr {
        text.parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    #[test]
    fn port_zero_takes_the_protocol_port_and_names_match_without_case() {
        let config = Config::builder("Mail.Test")
            .resolve("MAIL.test", [addr("127.0.0.1:0"), addr("127.0.0.2:4143")])
            .build();
        let config = config.ok();
        let got = config
            .as_ref()
            .and_then(|c| c.resolve_override("mail.TEST", Protocol::Imap));
        assert_eq!(
            got,
            Some(vec![addr("127.0.0.1:993"), addr("127.0.0.2:4143")])
        );
        let other = config
            .as_ref()
            .and_then(|c| c.resolve_override("other.test", Protocol::Imap));
        assert_eq!(other, None);
    }

    #[test]
    fn a_second_call_replaces_and_the_bounds_hold() {
        let config = Config::builder("mail.test")
            .resolve("mail.test", [addr("127.0.0.1:1")])
            .resolve("mail.test", [addr("127.0.0.2:2")])
            .build()
            .ok();
        let got = config.and_then(|c| c.resolve_override("mail.test", Protocol::Imap));
        assert_eq!(got, Some(vec![addr("127.0.0.2:2")]));

        let many = (0..1000u16).map(|p| SocketAddr::from(([127, 0, 0, 1], p + 1)));
        let too_many = Config::builder("mail.test")
            .resolve("mail.test", many)
            .build();
        assert!(matches!(too_many, Err(Error::InvalidInput { .. })));
        let none = Config::builder("mail.test")
            .resolve("mail.test", [])
            .build();
        assert!(matches!(none, Err(Error::InvalidInput { .. })));
        let mut hosts = Config::builder("mail.test");
        for i in 0..=MAX_HOSTS {
            hosts = hosts.resolve(format!("h{i}.test"), [addr("127.0.0.1:1")]);
        }
        assert!(matches!(hosts.build(), Err(Error::InvalidInput { .. })));
        let blank = Config::builder("mail.test").resolve("a b", [addr("127.0.0.1:1")]);
        assert!(matches!(blank.build(), Err(Error::InvalidInput { .. })));
    }
}
