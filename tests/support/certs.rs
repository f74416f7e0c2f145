//! A per-process self-signed test certificate made with the `openssl` command line tool.
//!
//! EC P-256, CN=localhost, subjectAltName DNS:localhost and IP:127.0.0.1, key in PKCS#8 PEM
//! (`native_tls::Identity::from_pkcs8` accepts it). Clients trust it by adding
//! [`TestCert::certificate`] as an extra root.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The test certificate, its private key and the files holding them.
#[derive(Debug)]
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: Vec<u8>,
    /// File holding `cert_pem` (removed when the test process exits).
    pub cert_path: PathBuf,
    /// File holding `key_pem` (mode 0600, removed when the test process exits).
    pub key_path: PathBuf,
}

impl TestCert {
    /// The certificate as a `native_tls` root to add to a client's trust store.
    pub fn certificate(&self) -> native_tls::Certificate {
        native_tls::Certificate::from_pem(&self.cert_pem).expect("test certificate parses")
    }

    /// The certificate and key as a `native_tls` server identity.
    pub fn identity(&self) -> native_tls::Identity {
        native_tls::Identity::from_pkcs8(&self.cert_pem, &self.key_pem).expect("test key is PKCS#8")
    }

    /// A TLS acceptor serving this certificate.
    pub fn acceptor(&self) -> native_tls::TlsAcceptor {
        native_tls::TlsAcceptor::new(self.identity()).expect("TLS acceptor")
    }

    /// A TLS connector that trusts this certificate (in addition to the system roots).
    pub fn connector(&self) -> native_tls::TlsConnector {
        native_tls::TlsConnector::builder()
            .add_root_certificate(self.certificate())
            .build()
            .expect("TLS connector")
    }
}

/// The certificate of this test process, generated on first use.
pub fn test_cert() -> &'static TestCert {
    static CERT: OnceLock<TestCert> = OnceLock::new();
    CERT.get_or_init(|| {
        let dir = super::make_temp_dir("mw-cert-");
        super::remove_at_exit(&dir);
        generate(&dir)
    })
}

/// Generates a new certificate and key into `dir` (`cert.pem`, `key.pem`).
pub fn generate(dir: &std::path::Path) -> TestCert {
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "3650", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key_path)
        .arg("-out")
        .arg(&cert_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (needed for the test certificate): {e}"));
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert_pem = std::fs::read(&cert_path).expect("read cert.pem");
    let mut key_pem = std::fs::read(&key_path).expect("read key.pem");
    if !key_pem.starts_with(b"-----BEGIN PRIVATE KEY-----") {
        // Older openssl writes "BEGIN EC PRIVATE KEY": convert to PKCS#8.
        let out = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
            .arg(&key_path)
            .output()
            .expect("run openssl pkcs8");
        assert!(out.status.success(), "openssl pkcs8 failed");
        key_pem = out.stdout;
        std::fs::write(&key_path, &key_pem).expect("write key.pem");
    }
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600));
    TestCert {
        cert_pem,
        key_pem,
        cert_path,
        key_path,
    }
}
