//! The POP3 wire trace and log lines never show a secret, and every line names its
//! connection. Own test binary: it installs a global logger.

mod support;

use std::sync::Mutex;
use std::time::Duration;

use mailwire::pop3::{LoginMethod, Pop3Handler, Pop3Options};
use mailwire::{Config, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target().starts_with("mailwire")
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            LINES
                .lock()
                .unwrap()
                .push(format!("{} {}", record.target(), record.args()));
        }
    }
    fn flush(&self) {}
}

#[test]
fn trace_redacts_pass_apop_and_sasl() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let password = "Sup3r-secret";
    // base64 of "\0alice\0Sup3r-secret"
    let plain_b64 = "AGFsaWNlAFN1cDNyLXNlY3JldA==";
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("+OK ready <1.2@host>")
            .expect_line("CAPA")
            .send("+OK\r\nUSER\r\n.\r\n")
            .expect_line("USER alice")
            .send_line("+OK")
            .expect_line(&format!("PASS {password}"))
            .send_line("+OK")
            .expect_line("CAPA")
            .send("+OK\r\n.\r\n")
            .expect_line("QUIT")
            .send_line("+OK"),
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send("+OK\r\nSASL PLAIN\r\n.\r\n")
            .expect_line(&format!("AUTH PLAIN {plain_b64}"))
            .send_line("+OK")
            .expect_line("CAPA")
            .send("+OK\r\n.\r\n")
            .expect_line("QUIT")
            .send_line("+OK"),
        Script::new()
            .send_line("+OK ready <1.2@host>")
            .expect_line("CAPA")
            .send("+OK\r\n.\r\n")
            .expect_prefix("APOP alice ")
            .send_line("+OK")
            .expect_line("CAPA")
            .send("+OK\r\n.\r\n")
            .expect_line("QUIT")
            .send_line("+OK"),
    ]);
    let cfg = Config::builder("127.0.0.1")
        .pop3_port(server.port())
        .security(Security::Plain)
        .login("alice", password)
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for method in [LoginMethod::UserPass, LoginMethod::Auto, LoginMethod::Apop] {
        let pop = Pop3Handler::connect_with(&cfg, Pop3Options::new().login_method(method)).unwrap();
        pop.quit().unwrap();
    }
    server.assert_ok();
    let apop_line = server.received(2)[1].clone();
    let digest = apop_line.rsplit(' ').next().unwrap().to_string();

    let lines = LINES.lock().unwrap().clone();
    let all = lines.join("\n");
    assert!(all.contains("PASS <redacted>"), "{all}");
    assert!(all.contains("AUTH PLAIN <redacted>"), "{all}");
    assert!(all.contains("APOP alice <redacted>"), "{all}");
    for secret in [password, plain_b64, digest.as_str()] {
        assert!(!all.contains(secret), "{secret:?} leaked:\n{all}");
    }
    for line in lines.iter().filter(|l| l.starts_with("mailwire::pop3 ")) {
        assert!(line.contains("[pop3#"), "no connection id: {line}");
    }
    assert!(lines.iter().any(|l| l.starts_with("mailwire::pop3 ")));
}
