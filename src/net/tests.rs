//! Compiled only under #[cfg(test)] (declared so in src/net/mod.rs).
//! Transport tests against the real Dovecot of the test harness and the scripted fault
//! server: TLS / STARTTLS / plain for IMAP and POP3, certificate checks, deadlines, retry,
//! STARTTLS injection, line limits and the redacted wire trace.

use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

#[path = "../../tests/support/mod.rs"]
mod support;

use support::dovecot::{self, Dovecot};
use support::script_server::{Script, ScriptServer};

use crate::config::{Config, ConfigBuilder, Protocol, RetryPolicy, Security};
use crate::error::Error;
use crate::imap::session::{ConnectionState, Session};
use crate::net::{Transport, connect_with_retry};

fn dc() -> Option<&'static Dovecot> {
    dovecot::shared()
}

fn base(dc: &Dovecot, security: Security) -> ConfigBuilder {
    let port = match security {
        Security::Tls => dc.imaps_port(),
        _ => dc.imap_port(),
    };
    let pop3 = match security {
        Security::Tls => dc.pop3s_port(),
        _ => dc.pop3_port(),
    };
    Config::builder("127.0.0.1")
        .port(port)
        .pop3_port(pop3)
        .security(security)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
}

fn script_config(port: u16) -> ConfigBuilder {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
}

/// Connects an IMAP session to `server` in at most `attempts` attempts, 10 ms apart at
/// first: the outcome and how many connections the server saw.
fn connect_in_attempts(server: &ScriptServer, attempts: u32) -> (crate::Result<Session>, usize) {
    let config = script_config(server.port())
        .retry(RetryPolicy::new(attempts, Duration::from_millis(10)))
        .build()
        .unwrap();
    let outcome = Session::connect(&config);
    (outcome, server.connections())
}

/// Connects an IMAP session with `config`, which must fail: the error and how long it took.
fn failed_connect(config: &Config) -> (Error, Duration) {
    let started = Instant::now();
    let err = Session::connect(config).unwrap_err();
    (err, started.elapsed())
}

/// Connects an IMAP session to `server` with a 1 s read timeout, which must time out: how
/// long that took.
fn times_out(server: &ScriptServer) -> Duration {
    let config = script_config(server.port())
        .read_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (err, took) = failed_connect(&config);
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    took
}

/// POP3 greeting and STLS driven by hand: the transport is what is under test here.
fn pop3_greet(config: &Config) -> crate::Result<(Transport, String)> {
    let mut t = crate::net::connect::open(config, Protocol::Pop3, "pop3#test")?;
    let greeting = String::from_utf8_lossy(t.read_line("greeting")?).into_owned();
    if config.security() == Security::StartTls {
        t.send(b"STLS\r\n", "STLS")?;
        let ok = String::from_utf8_lossy(t.read_line("STLS")?).into_owned();
        assert!(ok.starts_with("+OK"), "{ok}");
        t = t.start_tls(config)?;
        t.send(b"CAPA\r\n", "CAPA")?;
        let capa = String::from_utf8_lossy(t.read_line("CAPA")?).into_owned();
        assert!(capa.starts_with("+OK"), "{capa}");
    }
    Ok((t, greeting))
}

#[test]
fn imap_connects_over_tls_starttls_and_plain() {
    let Some(dc) = dc() else { return };
    for security in [Security::Tls, Security::StartTls, Security::Plain] {
        let config = base(dc, security).build().unwrap();
        let session = Session::connect(&config).unwrap_or_else(|e| panic!("{security:?}: {e}"));
        assert_eq!(session.state(), ConnectionState::NotAuthenticated);
        assert_eq!(
            session.is_tls(),
            security != Security::Plain,
            "{security:?}"
        );
        assert!(session.capabilities().has("IMAP4rev1"), "{security:?}");
        if security == Security::StartTls {
            // After TLS the capabilities were asked again: STARTTLS is no longer offered.
            assert!(!session.capabilities().has("STARTTLS"));
        }
    }
}

#[test]
fn pop3_connects_over_tls_stls_and_plain() {
    let Some(dc) = dc() else { return };
    for security in [Security::Tls, Security::StartTls, Security::Plain] {
        let config = base(dc, security).build().unwrap();
        let (t, greeting) = pop3_greet(&config).unwrap_or_else(|e| panic!("{security:?}: {e}"));
        assert!(greeting.starts_with("+OK"), "{security:?}: {greeting}");
        assert_eq!(t.is_tls(), security != Security::Plain);
    }
}

#[test]
fn certificate_checked_unless_trusted_or_dangerously_ignored() {
    let Some(dc) = dc() else { return };
    let untrusted = Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .retry(RetryPolicy::new(3, Duration::from_millis(10)))
        .build()
        .unwrap();
    match Session::connect(&untrusted) {
        Err(Error::Tls { message, .. }) => assert!(message.contains("certificate"), "{message}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }
    let trusted = base(dc, Security::Tls).build().unwrap();
    assert!(Session::connect(&trusted).is_ok());
    let danger = Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert!(Session::connect(&danger).is_ok());
    // The certificate is for localhost / 127.0.0.1: another name is refused even when the
    // root is trusted.
    let wrong_name = base(dc, Security::Tls)
        .tls_server_name("mail.example.org")
        .build()
        .unwrap();
    assert!(matches!(
        Session::connect(&wrong_name),
        Err(Error::Tls { .. })
    ));
    // STARTTLS applies the same checks.
    let untrusted_starttls = Config::builder("127.0.0.1")
        .port(dc.imap_port())
        .security(Security::StartTls)
        .build()
        .unwrap();
    assert!(matches!(
        Session::connect(&untrusted_starttls),
        Err(Error::Tls { .. })
    ));
}

#[test]
fn closed_port_fails_fast_with_connect_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (err, took) = failed_connect(&script_config(port).build().unwrap());
    assert!(
        matches!(err, Error::Connect { port: p, .. } if p == port),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn silent_server_times_out_after_the_read_timeout() {
    let server = ScriptServer::start(|_| Script::new().hang());
    let took = times_out(&server);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(2),
        "{took:?}"
    );
    println!("silent server: timeout after {took:?} (read timeout 1 s)");
}

#[test]
fn trickling_server_cannot_stretch_a_line_past_the_deadline() {
    let server = ScriptServer::start(|_| {
        Script::new().trickle("* OK slowly greeting you\r\n", Duration::from_millis(200))
    });
    let took = times_out(&server);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn transient_failures_are_retried_until_the_server_greets() {
    let server = ScriptServer::start(|i| {
        if i < 2 {
            Script::new().close()
        } else {
            Script::new()
                .send_line("* OK [CAPABILITY IMAP4rev1] third time lucky")
                .read_until_closed()
        }
    });
    let (outcome, connections) = connect_in_attempts(&server, 3);
    assert_eq!(outcome.unwrap().state(), ConnectionState::NotAuthenticated);
    assert_eq!(connections, 3);
}

#[test]
fn retry_gives_up_after_max_attempts() {
    let server = ScriptServer::start(|_| Script::new().close());
    let (outcome, connections) = connect_in_attempts(&server, 3);
    assert!(matches!(outcome, Err(Error::Closed { .. })));
    assert_eq!(connections, 3);
}

#[test]
fn permanent_errors_are_never_retried() {
    // A certificate nobody trusts: retrying cannot help.
    let server =
        ScriptServer::start_tls(|_| Script::new().send_line("* OK hello").read_until_closed());
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .retry(RetryPolicy::new(5, Duration::from_millis(10)))
        .build()
        .unwrap();
    assert!(matches!(Session::connect(&config), Err(Error::Tls { .. })));
    assert_eq!(server.connections(), 1);
    // A greeting that is not IMAP at all.
    let garbage = ScriptServer::start(|_| {
        Script::new()
            .send_line("SSH-2.0-OpenSSH_9.2")
            .read_until_closed()
    });
    let (outcome, connections) = connect_in_attempts(&garbage, 5);
    assert!(matches!(outcome, Err(Error::Protocol { .. })));
    assert_eq!(connections, 1);
}

#[test]
fn starttls_with_injected_plaintext_is_rejected() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi")
            .expect_contains("STARTTLS")
            .send("A1 OK Begin TLS negotiation now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n")
            .read_until_closed()
    });
    let config = script_config(server.port())
        .security(Security::StartTls)
        .build()
        .unwrap();
    match Session::connect(&config) {
        Err(Error::Protocol { message, .. }) => assert!(message.contains("injection"), "{message}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn starttls_not_offered_is_an_error_never_plaintext() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here")
            .read_until_closed()
    });
    let config = script_config(server.port())
        .security(Security::StartTls)
        .login("alice", "secret-pw")
        .build()
        .unwrap();
    let err = Session::connect(&config).unwrap_err();
    assert!(
        matches!(
            err,
            Error::StartTlsUnavailable {
                command: "STARTTLS"
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    server.wait_done(Duration::from_secs(2));
    let sent = server.received_all().join("\n");
    assert!(
        !sent.contains("secret-pw") && !sent.contains("LOGIN") && !sent.contains("AUTHENTICATE"),
        "{sent}"
    );
}

/// A scripted server that sends `greeting` and then waits, and a config for it that takes
/// lines of at most `max_line` bytes.
fn greeting_over(greeting: String, max_line: usize) -> (ScriptServer, Config) {
    let server =
        ScriptServer::start(move |_| Script::new().send(greeting.as_bytes()).read_until_closed());
    let config = script_config(server.port())
        .max_line_length(max_line)
        .build()
        .unwrap();
    (server, config)
}

#[test]
fn over_long_line_is_a_limit_error() {
    let (_server, config) = greeting_over(
        format!("* OK {}\r\n", "x".repeat(4 * 1024 * 1024)),
        64 * 1024,
    );
    match Session::connect(&config) {
        Err(Error::LimitExceeded { limit, .. }) => assert_eq!(limit, 64 * 1024),
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
    // The transport's own line reader applies the same limit.
    let (_server, config) = greeting_over(format!("+OK {}\r\n", "y".repeat(200 * 1024)), 16 * 1024);
    let mut t = crate::net::connect::open(&config, Protocol::Pop3, "pop3#limit").unwrap();
    assert!(matches!(
        t.read_line("greeting"),
        Err(Error::LimitExceeded { limit: 16384, .. })
    ));
}

#[test]
fn connect_with_retry_retries_the_greeting_step() {
    let server = ScriptServer::start(|i| {
        if i == 0 {
            Script::new().send_partial_then_close("+OK hal")
        } else {
            Script::new().send_line("+OK ready").read_until_closed()
        }
    });
    let config = script_config(server.port())
        .pop3_port(server.port())
        .retry(RetryPolicy::new(2, Duration::from_millis(10)))
        .build()
        .unwrap();
    let greeting = connect_with_retry(&config, Protocol::Pop3, "pop3#retry", |mut t| {
        Ok(String::from_utf8_lossy(t.read_line("greeting")?).into_owned())
    })
    .unwrap();
    assert_eq!(greeting, "+OK ready\r\n");
    assert_eq!(server.connections(), 2);
}

// ---- the wire trace never shows a credential -------------------------------------------

struct CaptureLogger {
    lines: Mutex<Vec<String>>,
}

impl log::Log for CaptureLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.target(), record.args());
        self.lines.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

fn capture() -> &'static CaptureLogger {
    static LOGGER: OnceLock<&'static CaptureLogger> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger: &'static CaptureLogger = Box::leak(Box::new(CaptureLogger {
            lines: Mutex::new(Vec::new()),
        }));
        log::set_logger(logger).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        logger
    })
}

#[test]
fn trace_log_of_a_login_contains_no_secret() {
    let Some(dc) = dc() else { return };
    let logger = capture();
    let user = dc.add_user();
    for mechanism in [
        None,
        Some(crate::sasl::Mechanism::Login),
        Some(crate::sasl::Mechanism::Plain),
    ] {
        let mut b = base(dc, Security::Tls).login(&user.name, &user.password);
        if let Some(m) = mechanism {
            b = b.auth_mechanism(m);
        }
        let session =
            Session::connect(&b.build().unwrap()).unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
        assert_eq!(session.state(), ConnectionState::Authenticated);
    }
    let lines = logger.lines.lock().unwrap().clone();
    let wire: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("mailwire::wire"))
        .collect();
    assert!(
        wire.iter()
            .any(|l| l.contains("LOGIN") && l.contains("<redacted>")),
        "no LOGIN traced"
    );
    assert!(
        wire.iter().any(|l| l.contains("AUTHENTICATE PLAIN")),
        "no AUTHENTICATE traced"
    );
    let secrets = [
        user.password.clone(),
        crate::base64::encode(user.password.as_bytes()),
        crate::sasl::plain(&user.name, &user.password),
    ];
    for line in &lines {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "secret in log line: {line}"
            );
        }
    }
}

#[test]
fn wrong_password_is_an_auth_error_without_retry() {
    let Some(dc) = dc() else { return };
    let user = dc.add_user();
    let config = base(dc, Security::Tls)
        .login(&user.name, "not-the-password")
        .retry(RetryPolicy::new(3, Duration::from_millis(200)))
        .build()
        .unwrap();
    let started = Instant::now();
    match Session::connect(&config) {
        Err(e @ Error::Auth { .. }) => assert!(!e.is_transient()),
        other => panic!("expected an authentication error, got {other:?}"),
    }
    // No retry delay was spent (Dovecot itself delays failed logins by up to a few seconds).
    println!("wrong password rejected in {:?}", started.elapsed());
}
