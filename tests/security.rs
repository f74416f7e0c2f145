//! Security checks: no secret in any log line at trace level, for every authentication
//! mechanism of IMAP and POP3; certificates are verified (wrong host name, self-signed,
//! expired: each generated here with the openssl CLI, each rejected, and a correct one
//! accepted as the control); no credential crosses the wire after a refused STARTTLS.
//! Own test binary: it installs a global logger.
//!
//! Command injection through user strings is covered at the encoder level by
//! `tests/encoder_props.rs` (10,000 cases per input kind) and the `imap_command` fuzz target.

#[path = "support/capture.rs"]
mod capture;
mod support;

use support::base64;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mailwire::imap::ImapConnection;
use mailwire::pop3::{LoginMethod, Pop3Handler, Pop3Options};
use mailwire::sasl::Mechanism;
use mailwire::{Config, Error, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "Pw-Sup3r-s3cret";
const TOKEN: &str = "ya29.Tok3n-s3cret-value";

/// Every form in which a secret could show up in a log line.
fn secret_forms() -> Vec<String> {
    let mut forms = vec![
        PASSWORD.to_string(),
        TOKEN.to_string(),
        base64(PASSWORD.as_bytes()),
    ];
    forms.push(base64(format!("\0{USER}\0{PASSWORD}").as_bytes()));
    forms.push(base64(
        format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01").as_bytes(),
    ));
    forms.push(base64(TOKEN.as_bytes()));
    // Substrings long enough to be a leak but not to occur by chance.
    forms.push(PASSWORD[3..12].to_string());
    forms.push(TOKEN[5..16].to_string());
    forms
}

fn assert_no_secret_logged(what: &str) {
    let lines = capture::lines();
    let all = lines.join("\n");
    assert!(!lines.is_empty(), "{what}: nothing logged (is trace on?)");
    for secret in secret_forms() {
        assert!(!all.contains(&secret), "{what}: {secret:?} leaked:\n{all}");
    }
}

/// Whether the secret was sent at all (so the test is not vacuous): in the clear, or inside
/// some base64 line the server received.
fn secret_was_sent(received: &[String]) -> bool {
    received.iter().any(|line| {
        line.contains(PASSWORD)
            || line.contains(TOKEN)
            || line.split(' ').any(|word| {
                decode_b64(word).is_some_and(|d| {
                    let d = String::from_utf8_lossy(&d).into_owned();
                    d.contains(PASSWORD) || d.contains(TOKEN)
                })
            })
    })
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

fn imap_config(port: u16, mechanism: Option<Mechanism>, oauth: bool) -> Config {
    let mut b = Config::builder("127.0.0.1")
        .port(port)
        .pop3_port(port)
        .security(Security::Plain)
        .timeouts(Duration::from_secs(3))
        .retry(RetryPolicy::none());
    b = if oauth {
        b.oauth2(USER, TOKEN)
    } else {
        b.login(USER, PASSWORD)
    };
    if let Some(m) = mechanism {
        b = b.auth_mechanism(m);
    }
    b.build().unwrap()
}

#[test]
fn imap_secrets_are_never_logged() {
    capture::install();
    const SASL: &str = "IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER";
    let logout = |s: Script| {
        s.expect_contains("LOGOUT")
            .send_line("* BYE bye")
            .reply_tagged("OK done")
    };
    // A server offering every mechanism that accepts `command` in one step.
    let one_step = |command: &str| {
        logout(
            Script::new()
                .send_line(&format!("* OK [CAPABILITY {SASL}] hi"))
                .expect_contains(command)
                .reply_tagged("OK [CAPABILITY IMAP4rev1] in"),
        )
    };
    type Case = (&'static str, Option<Mechanism>, bool, Script);
    let cases: Vec<Case> = vec![
        (
            "LOGIN command",
            None,
            false,
            logout(
                Script::new()
                    .send_line("* OK [CAPABILITY IMAP4rev1] hi")
                    .expect_contains("LOGIN")
                    .reply_tagged("OK [CAPABILITY IMAP4rev1] in"),
            ),
        ),
        (
            "AUTHENTICATE PLAIN",
            Some(Mechanism::Plain),
            false,
            one_step("AUTHENTICATE PLAIN"),
        ),
        (
            "AUTHENTICATE LOGIN",
            Some(Mechanism::Login),
            false,
            logout(
                Script::new()
                    // SASL LOGIN is used only where the LOGIN command is disabled.
                    .send_line(&format!("* OK [CAPABILITY {SASL} LOGINDISABLED] hi"))
                    .expect_contains("AUTHENTICATE LOGIN")
                    .send_line("+ VXNlcm5hbWU6")
                    .expect_any()
                    .send_line("+ UGFzc3dvcmQ6")
                    .expect_any()
                    .send_line("A1 OK [CAPABILITY IMAP4rev1] in"),
            ),
        ),
        (
            "AUTHENTICATE XOAUTH2",
            Some(Mechanism::XOAuth2),
            true,
            one_step("AUTHENTICATE XOAUTH2"),
        ),
        (
            "AUTHENTICATE OAUTHBEARER",
            Some(Mechanism::OAuthBearer),
            true,
            one_step("AUTHENTICATE OAUTHBEARER"),
        ),
    ];
    for (name, mechanism, oauth, script) in cases {
        let server = ScriptServer::start_seq(vec![script]);
        let conn = ImapConnection::connect(&imap_config(server.port(), mechanism, oauth))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        conn.logout();
        server.assert_ok();
        assert!(
            secret_was_sent(&server.received(0)),
            "{name}: {:?}",
            server.received(0)
        );
        assert_no_secret_logged(name);
    }
}

#[test]
fn pop3_secrets_are_never_logged() {
    capture::install();
    let caps = "+OK\r\nUSER\r\nSASL PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n.\r\n";
    let after = |s: Script| {
        s.expect_line("CAPA")
            .send(caps)
            .expect_line("QUIT")
            .send_line("+OK bye")
    };
    let greet = |s: &str| Script::new().send_line(s).expect_line("CAPA").send(caps);
    type Case = (&'static str, LoginMethod, Option<Mechanism>, bool, Script);
    let cases: Vec<Case> = vec![
        (
            "USER/PASS",
            LoginMethod::UserPass,
            None,
            false,
            after(
                greet("+OK hi")
                    .expect_prefix("USER ")
                    .send_line("+OK")
                    .expect_prefix("PASS ")
                    .send_line("+OK in"),
            ),
        ),
        (
            "APOP",
            LoginMethod::Apop,
            None,
            false,
            after(
                greet("+OK hi <1.2@host>")
                    .expect_prefix("APOP ")
                    .send_line("+OK in"),
            ),
        ),
        (
            "AUTH PLAIN",
            LoginMethod::Auto,
            Some(Mechanism::Plain),
            false,
            after(
                greet("+OK hi")
                    .expect_prefix("AUTH PLAIN")
                    .send_line("+OK in"),
            ),
        ),
        (
            "AUTH LOGIN",
            LoginMethod::Auto,
            Some(Mechanism::Login),
            false,
            after(
                greet("+OK hi")
                    .expect_prefix("AUTH LOGIN")
                    .send_line("+ VXNlcm5hbWU6")
                    .expect_any()
                    .send_line("+ UGFzc3dvcmQ6")
                    .expect_any()
                    .send_line("+OK in"),
            ),
        ),
        (
            "AUTH XOAUTH2",
            LoginMethod::Auto,
            Some(Mechanism::XOAuth2),
            true,
            after(
                greet("+OK hi")
                    .expect_prefix("AUTH XOAUTH2")
                    .send_line("+OK in"),
            ),
        ),
        (
            "AUTH OAUTHBEARER",
            LoginMethod::Auto,
            Some(Mechanism::OAuthBearer),
            true,
            after(
                greet("+OK hi")
                    .expect_prefix("AUTH OAUTHBEARER")
                    .send_line("+OK in"),
            ),
        ),
    ];
    for (name, method, mechanism, oauth, script) in cases {
        let server = ScriptServer::start_seq(vec![script]);
        let cfg = imap_config(server.port(), mechanism, oauth);
        let pop = Pop3Handler::connect_with(&cfg, Pop3Options::new().login_method(method))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        pop.quit().unwrap();
        server.assert_ok();
        let received = server.received(0);
        let apop_digest = received
            .iter()
            .find(|l| l.starts_with("APOP "))
            .and_then(|l| l.rsplit(' ').next().map(str::to_string));
        assert!(
            apop_digest.is_some() || secret_was_sent(&received),
            "{name}: {received:?}"
        );
        assert_no_secret_logged(name);
        if let Some(digest) = apop_digest {
            let all = capture::lines().join("\n");
            assert!(!all.contains(&digest), "{name}: APOP digest logged");
        }
    }
}

#[test]
fn no_credentials_after_a_refused_or_missing_starttls() {
    // STARTTLS not offered, STARTTLS refused (NO / -ERR), and a failed handshake after OK.
    let imap_scripts = vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here")
            .read_until_closed(),
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi")
            .expect_contains("STARTTLS")
            .reply_tagged("NO not today")
            .read_until_closed(),
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi")
            .expect_contains("STARTTLS")
            .reply_tagged("OK go")
            .send_line("this is not a TLS handshake")
            .read_until_closed(),
    ];
    let pop_scripts = vec![
        Script::new()
            .send_line("+OK hi")
            .expect_line("CAPA")
            .send("+OK\r\nUSER\r\n.\r\n")
            .read_until_closed(),
        Script::new()
            .send_line("+OK hi")
            .expect_line("CAPA")
            .send("+OK\r\nSTLS\r\nUSER\r\n.\r\n")
            .expect_line("STLS")
            .send_line("-ERR not today")
            .read_until_closed(),
        Script::new()
            .send_line("+OK hi")
            .expect_line("CAPA")
            .send("+OK\r\nSTLS\r\nUSER\r\n.\r\n")
            .expect_line("STLS")
            .send_line("+OK go")
            .send_line("this is not a TLS handshake")
            .read_until_closed(),
    ];
    for (i, (imap, pop)) in imap_scripts.into_iter().zip(pop_scripts).enumerate() {
        for (script, is_pop) in [(imap, false), (pop, true)] {
            let server = ScriptServer::start_seq(vec![script]);
            let cfg = Config::builder("127.0.0.1")
                .port(server.port())
                .pop3_port(server.port())
                .security(Security::StartTls)
                .login(USER, PASSWORD)
                .timeouts(Duration::from_secs(2))
                .retry(RetryPolicy::new(3, Duration::from_millis(10)))
                .build()
                .unwrap();
            let result = if is_pop {
                Pop3Handler::connect(&cfg).map(|_| ())
            } else {
                ImapConnection::connect(&cfg).map(|_| ())
            };
            assert!(result.is_err(), "case {i} pop={is_pop}: connected");
            assert!(server.wait_done(Duration::from_secs(3)));
            let sent = server.received_all();
            assert!(
                !secret_was_sent(&sent)
                    && !sent.iter().any(|l| l.contains(USER)
                        || l.contains("LOGIN")
                        || l.starts_with("USER")
                        || l.contains("AUTH")),
                "case {i} pop={is_pop}: credentials sent in plaintext: {sent:?}"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Certificates
// ------------------------------------------------------------------------------------------

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// A CA, and leaves it signs: (cert PEM, key PEM).
struct Pki {
    dir: std::path::PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = support::make_temp_dir("mw-pki-");
        support::remove_at_exit(&dir);
        let mut args = vec!["req", "-x509"];
        args.extend(EC);
        args.extend([
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=mailwire test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &args);
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = d\n[d]\ndir = {0}\ndatabase = {0}/index.txt\n\
                 new_certs_dir = {0}\nserial = {0}/serial\ndefault_md = sha256\n\
                 policy = any\nunique_subject = no\n[any]\ncommonName = supplied\n",
                dir.display()
            ),
        )
        .unwrap();
        Pki { dir }
    }

    fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).unwrap()
    }

    /// A leaf for `san`, signed by the CA, valid from `start` to `end` (YYYYMMDDHHMMSSZ).
    fn leaf(&self, name: &str, san: &str, start: &str, end: &str) -> (Vec<u8>, Vec<u8>) {
        let mut args = vec!["req", "-new"];
        args.extend(EC);
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        let ext = format!("{name}.ext");
        args.extend([
            "-nodes",
            "-subj",
            "/CN=mailwire leaf",
            "-keyout",
            &key,
            "-out",
            &csr,
        ]);
        openssl(&self.dir, &args);
        std::fs::write(
            self.dir.join(&ext),
            format!("[e]\nsubjectAltName = {san}\nextendedKeyUsage = serverAuth\n"),
        )
        .unwrap();
        openssl(
            &self.dir,
            &[
                "ca",
                "-batch",
                "-notext",
                "-config",
                "ca.cnf",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-in",
                &csr,
                "-out",
                &pem,
                "-startdate",
                start,
                "-enddate",
                end,
                "-extfile",
                &ext,
                "-extensions",
                "e",
            ],
        );
        (
            std::fs::read(self.dir.join(&pem)).unwrap(),
            std::fs::read(self.dir.join(&key)).unwrap(),
        )
    }

    /// A self-signed certificate for 127.0.0.1 and localhost.
    fn self_signed(&self) -> (Vec<u8>, Vec<u8>) {
        let mut args = vec!["req", "-x509"];
        args.extend(EC);
        args.extend([
            "-nodes",
            "-days",
            "365",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
        ]);
        openssl(&self.dir, &args);
        (
            std::fs::read(self.dir.join("self.pem")).unwrap(),
            std::fs::read(self.dir.join("self.key")).unwrap(),
        )
    }
}

/// An IMAPS server with this certificate: greets, then answers every command `OK`.
fn tls_server(cert: &[u8], key: &[u8]) -> u16 {
    let identity = native_tls::Identity::from_pkcs8(cert, key).unwrap();
    let acceptor = native_tls::TlsAcceptor::new(identity).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let Ok(mut tls) = acceptor.accept(tcp) else {
                continue;
            };
            let _ = tls.write_all(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
            let mut reader = BufReader::new(tls);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let tag = line.split(' ').next().unwrap_or("*").to_string();
                let _ = reader
                    .get_mut()
                    .write_all(format!("{tag} OK done\r\n").as_bytes());
                line.clear();
            }
        }
    });
    port
}

fn tls_config(port: u16, root: Option<Vec<u8>>) -> Config {
    let mut b = Config::builder("127.0.0.1")
        .port(port)
        .pop3_port(port)
        .security(Security::Tls)
        .login(USER, PASSWORD)
        .timeouts(Duration::from_secs(3))
        .retry(RetryPolicy::new(3, Duration::from_millis(10)));
    if let Some(root) = root {
        b = b.add_root_certificate_pem(root);
    }
    b.build().unwrap()
}

#[test]
fn certificates_are_verified() {
    let pki = Pki::new();
    let (good, good_key) = pki.leaf(
        "good",
        "DNS:localhost,IP:127.0.0.1",
        "20240101000000Z",
        "20991231000000Z",
    );
    let (wrong_host, wrong_host_key) = pki.leaf(
        "wronghost",
        "DNS:mail.example.org",
        "20240101000000Z",
        "20991231000000Z",
    );
    let (expired, expired_key) = pki.leaf(
        "expired",
        "DNS:localhost,IP:127.0.0.1",
        "20200101000000Z",
        "20210101000000Z",
    );
    let (self_signed, self_key) = pki.self_signed();

    // Control: the CA's good leaf is accepted, so each rejection below is the defect's.
    let port = tls_server(&good, &good_key);
    ImapConnection::connect(&tls_config(port, Some(pki.ca_pem())))
        .expect("a valid certificate from a trusted CA");

    let cases = [
        ("wrong host name", tls_server(&wrong_host, &wrong_host_key)),
        ("expired", tls_server(&expired, &expired_key)),
        ("self-signed", tls_server(&self_signed, &self_key)),
    ];
    for (name, port) in cases {
        let cfg = tls_config(port, Some(pki.ca_pem()));
        let imap = ImapConnection::connect(&cfg);
        assert!(matches!(imap, Err(Error::Tls { .. })), "{name}: {imap:?}");
        let pop = Pop3Handler::connect(&cfg).map(|_| ());
        assert!(matches!(pop, Err(Error::Tls { .. })), "{name}: {pop:?}");
    }
    // The opt-out accepts the self-signed one (and is the only way to).
    let port = tls_server(&self_signed, &self_key);
    let cfg = Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Tls)
        .login(USER, PASSWORD)
        .timeouts(Duration::from_secs(3))
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    ImapConnection::connect(&cfg).expect("danger_accept_invalid_certs accepts");
}
