//! POP3 `UTF8` (RFC 6856, issue 21 item 8): sent in the AUTHORIZATION state when `CAPA`
//! lists it, before login; UTF-8 user names and passwords only to a server that lists
//! `UTF8 USER`, else refused before anything is sent. Scripted servers from the RFC's
//! exchange, and the real Dovecot, which does not offer `UTF8`: nothing sent. Own test
//! binary: it installs a global logger to read the commands on the wire.

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::time::Duration;

use mailwire::pop3::{LoginMethod, Pop3Handler, Pop3Options};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

fn config(port: u16, user: &str, password: &str) -> Config {
    Config::builder("127.0.0.1")
        .pop3_port(port)
        .security(Security::Plain)
        .login(user, password)
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Greeting and a CAPA answer listing `utf8` (a line such as `UTF8 USER`, or nothing).
fn greet(utf8: &str) -> Script {
    let capa = if utf8.is_empty() {
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n".to_string()
    } else {
        format!("+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\n{utf8}\r\n.\r\n")
    };
    Script::new()
        .send_line("+OK POP3 server ready")
        .expect_line("CAPA")
        .send(capa)
}

fn user_pass() -> Pop3Options {
    Pop3Options::new().login_method(LoginMethod::UserPass)
}

#[test]
fn utf8_is_sent_before_login_and_utf8_user_names_go_through() {
    // RFC 6856 §3.1: `UTF8 USER` in CAPA; the client sends UTF8 in the AUTHORIZATION
    // state, then a UTF-8 user name and password.
    let server = ScriptServer::start_seq(vec![
        greet("UTF8 USER")
            .expect_line("UTF8")
            .send_line("+OK UTF8 enabled")
            .expect_line("USER 用户")
            .send_line("+OK")
            .expect_line("PASS pässwort")
            .send_line("+OK logged in")
            .expect_line("CAPA")
            .send("+OK\r\nUIDL\r\nUTF8 USER\r\n.\r\n")
            .expect_line("QUIT")
            .send_line("+OK bye"),
    ]);
    let pop =
        Pop3Handler::connect_with(&config(server.port(), "用户", "pässwort"), user_pass()).unwrap();
    assert!(pop.capabilities().utf8_user());
    pop.quit().unwrap();
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
}

#[test]
fn utf8_without_user_sends_utf8_and_ascii_logins_work() {
    // `UTF8` alone: UTF8 mode on, ASCII credentials as usual.
    let server = ScriptServer::start_seq(vec![
        greet("UTF8")
            .expect_line("UTF8")
            .send_line("+OK UTF8 enabled")
            .expect_line("USER alice")
            .send_line("+OK")
            .expect_line("PASS secret")
            .send_line("+OK logged in")
            .expect_line("CAPA")
            .send("+OK\r\nUTF8\r\n.\r\n")
            .expect_line("QUIT")
            .send_line("+OK bye"),
    ]);
    let pop =
        Pop3Handler::connect_with(&config(server.port(), "alice", "secret"), user_pass()).unwrap();
    assert!(pop.capabilities().utf8() && !pop.capabilities().utf8_user());
    pop.quit().unwrap();
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
}

#[test]
fn a_non_ascii_login_is_refused_before_sending_without_utf8_user() {
    // `UTF8` without USER, and no UTF8 at all: the non-ASCII user name (or password) is
    // refused with InvalidInput naming `UTF8 USER`, and no USER / PASS reaches the wire.
    let cases = [
        ("UTF8", "用户", "secret", "user name", true),
        ("UTF8", "alice", "pässwort", "password", true),
        ("", "jörg", "pässwort", "user name and password", false),
    ];
    for (utf8, user, password, what, sends_utf8) in cases {
        let mut script = greet(utf8);
        if sends_utf8 {
            script = script.expect_line("UTF8").send_line("+OK UTF8 enabled");
        }
        let server = ScriptServer::start_seq(vec![script.read_until_closed()]);
        let err = Pop3Handler::connect_with(&config(server.port(), user, password), user_pass())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("UTF8 USER"), "{text}");
        assert!(text.contains(&format!("the {what} holds")), "{text}");
        assert!(
            !text.contains(password),
            "the password in the error: {text}"
        );
        assert!(server.wait_done(Duration::from_secs(10)));
        server.assert_ok();
        let received = server.received(0);
        assert!(
            !received
                .iter()
                .any(|l| l.starts_with("USER") || l.starts_with("PASS")),
            "{received:?}"
        );
    }
    // APOP: the user name is checked the same way (the password only goes into the digest).
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>")
            .expect_line("CAPA")
            .send("+OK\r\nUTF8\r\n.\r\n")
            .expect_line("UTF8")
            .send_line("+OK UTF8 enabled")
            .read_until_closed(),
    ]);
    let err = Pop3Handler::connect_with(
        &config(server.port(), "mröse", "tanstaaf"),
        Pop3Options::new().login_method(LoginMethod::Apop),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(server.wait_done(Duration::from_secs(10)));
    assert!(!server.received(0).iter().any(|l| l.starts_with("APOP")));
}

#[test]
fn utf8_refused_leaves_utf8_user_names_refused() {
    // The server lists `UTF8 USER` but answers -ERR to UTF8: UTF-8 mode is off, so a
    // UTF-8 user name is still refused before sending.
    let server = ScriptServer::start_seq(vec![
        greet("UTF8 USER")
            .expect_line("UTF8")
            .send_line("-ERR not today")
            .read_until_closed(),
    ]);
    let err = Pop3Handler::connect_with(&config(server.port(), "用户", "secret"), user_pass())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(server.wait_done(Duration::from_secs(10)));
    assert!(!server.received(0).iter().any(|l| l.starts_with("USER")));
}

#[test]
fn dovecot_pop3_does_not_offer_utf8_and_nothing_is_sent() {
    capture::install();
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let cfg = Config::builder(dc.host())
        .pop3_port(dc.pop3_port())
        .security(Security::Plain)
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for options in [Pop3Options::new(), user_pass()] {
        let pop = Pop3Handler::connect_with(&cfg, options).unwrap();
        assert!(!pop.capabilities().utf8(), "{:?}", pop.capabilities());
        pop.stat().unwrap();
        let prefix = format!("mailwire::wire [{}] C: ", pop.id());
        let sent: Vec<String> = capture::lines()
            .into_iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect();
        assert!(sent.iter().any(|l| l == "STAT"), "{sent:?}");
        assert!(!sent.iter().any(|l| l.starts_with("UTF8")), "{sent:?}");
        pop.quit().unwrap();
    }
}
