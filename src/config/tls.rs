//! The TLS settings of a config: extra root certificates, the name the certificate is
//! checked against, the switch that turns verification off, and the connector built from
//! them once, when the config is built.

use std::fmt;

use crate::error::{Error, Result};
use crate::setters::setters;

use super::ConfigBuilder;
use super::builder::check_name;

/// A validated set of extra root certificates and TLS switches, ready to connect with.
#[derive(Clone)]
pub(crate) struct TlsSettings {
    pub(crate) connector: native_tls::TlsConnector,
    pub(crate) server_name: Option<String>,
    pub(crate) accept_invalid_certs: bool,
    /// The extra root certificates the connector trusts (DER, sorted, without duplicates):
    /// what the pool's reuse key compares, since two configs trusting different roots must
    /// never share a connection.
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("server_name", &self.server_name)
            .field("extra_roots", &self.extra_roots.len())
            .field("danger_accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

impl TlsSettings {
    /// Checks the TLS server name (if one was set) and builds the connector: TLS 1.2 or
    /// later, the system's roots plus `extra_roots_pem`, verification off only when
    /// `accept_invalid_certs`. `host` names the server in a setup error.
    pub(super) fn build(
        host: &str,
        extra_roots_pem: &[Vec<u8>],
        server_name: Option<&str>,
        accept_invalid_certs: bool,
    ) -> Result<TlsSettings> {
        if let Some(name) = server_name {
            if name.trim().is_empty() {
                return Err(Error::invalid("TLS server name", "is empty"));
            }
            check_name("TLS server name", name)?;
        }

        let mut tls = native_tls::TlsConnector::builder();
        tls.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
        let mut extra_roots = Vec::with_capacity(extra_roots_pem.len());
        for (i, pem) in extra_roots_pem.iter().enumerate() {
            let cert = native_tls::Certificate::from_pem(pem).map_err(|e| {
                Error::invalid(
                    "root certificate",
                    format!("certificate #{} is not valid PEM: {e}", i + 1),
                )
            })?;
            // The certificate as trusted; its PEM text if it cannot be re-encoded (then two
            // spellings of one certificate count as different roots, never the reverse).
            extra_roots.push(cert.to_der().unwrap_or_else(|_| pem.clone()));
            tls.add_root_certificate(cert);
        }
        extra_roots.sort_unstable();
        extra_roots.dedup();
        if accept_invalid_certs {
            tls.danger_accept_invalid_certs(true);
            tls.danger_accept_invalid_hostnames(true);
        }
        let connector = tls.build().map_err(|e| Error::Tls {
            host: host.to_string(),
            message: format!("could not set up TLS: {e}"),
        })?;
        Ok(TlsSettings {
            connector,
            server_name: server_name.map(str::to_string),
            accept_invalid_certs,
            extra_roots,
        })
    }
}

impl ConfigBuilder {
    /// Trusts an extra root certificate (PEM) in addition to the system's: how to reach a
    /// server with a private CA or a self-signed certificate without turning verification
    /// off. May be called several times.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    setters! {
        /// Checks the server's certificate against `name` instead of the host (for a server
        /// reached by IP address or through a tunnel).
        pub fn tls_server_name(name: impl Into<String>) { self.server_name = Some(name.into()) }

        /// **Turns certificate verification off**: any certificate, for any host, is
        /// accepted, so anyone on the network path can read and change the session, passwords
        /// included. For throw-away test servers only; prefer
        /// [`add_root_certificate_pem`](Self::add_root_certificate_pem).
        pub fn danger_accept_invalid_certs(accept: bool) {
            self.danger_accept_invalid_certs = accept
        }
    }
}
