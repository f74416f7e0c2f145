//! Server text reaches errors and logs escaped: a scripted server answers LOGIN,
//! AUTHENTICATE / AUTH, the greeting and CAPA with text holding terminal escapes (ESC
//! `[31m`, C1 CSI), CR, NUL, DEL, BEL, a line separator and a bidi override, and sends an
//! XOAUTH2 / OAUTHBEARER error challenge whose base64 JSON holds CR LF and ESC. Every
//! error's `Display` (and `Debug`), and every log line at trace level, must hold none of
//! those characters raw, and must still show the text (escaped).
//!
//! Own test binary: it installs a global capture logger.

#[path = "support/capture.rs"]
mod capture;
mod support;

use support::base64;

use std::time::Duration;

use mailwire::imap::ImapConnection;
use mailwire::pop3::{LoginMethod, Pop3Handler, Pop3Options};
use mailwire::sasl::Mechanism;
use mailwire::{Config, Error, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

/// Server text with every kind of character that can rewrite a terminal or forge a log
/// line. It holds no LF: in a line protocol that would end the line (the JSON challenge
/// below carries CR LF instead), and no CR (see [`WITH_CR`]).
const HOSTILE: &str =
    "bad\x1b[31mred\x1b[0m nul\x00del\x7fbel\x07csi\u{9b}2J ls\u{2028}rlo\u{202e}end";

/// A bare CR inside a line: IMAP ends the text there, POP3 refuses the line as a protocol
/// error; either way the error shown must be clean.
const WITH_CR: &str = "carriage\x1b[31m\rreturn\x1b[0m";

/// The JSON of an error challenge, with line breaks and an escape sequence in it.
const CHALLENGE_JSON: &str =
    "{\"status\":\"401\",\r\n\"schemes\":\"bearer\",\n\"scope\":\"\x1b[2Jhttps://mail.example/\"}";

/// Characters that must never appear raw in an error message or a log line.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Records a failure when `text` holds a dangerous character (all cases run, then the test
/// reports every failure at once).
fn check_clean(failures: &mut Vec<String>, what: &str, text: &str) {
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| is_dangerous(c)) {
        failures.push(format!("{what}: raw {c:?} at byte {i} in {text:?}"));
    }
}

/// The error is shown without a raw control character and still shows the server's text.
fn check_error(failures: &mut Vec<String>, what: &str, err: &Error, shows: &[&str]) {
    let display = err.to_string();
    check_clean(failures, &format!("{what} (Display)"), &display);
    check_clean(failures, &format!("{what} (Debug)"), &format!("{err:?}"));
    for needle in shows {
        if !display.to_lowercase().contains(&needle.to_lowercase()) {
            failures.push(format!("{what}: {needle:?} not shown in {display:?}"));
        }
    }
}

fn check_logs(failures: &mut Vec<String>, what: &str) {
    let lines = capture::lines();
    assert!(!lines.is_empty(), "{what}: nothing logged");
    for line in &lines {
        check_clean(failures, &format!("{what}: log line"), line);
    }
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn logged(needle: &str) -> bool {
    capture::lines().iter().any(|l| l.contains(needle))
}

fn config(port: u16, mechanism: Option<Mechanism>, oauth: bool) -> Config {
    let mut b = Config::builder("127.0.0.1")
        .port(port)
        .pop3_port(port)
        .security(Security::Plain)
        .timeouts(Duration::from_secs(3))
        .retry(RetryPolicy::none());
    b = if oauth {
        b.oauth2("alice@example.org", "ya29.token")
    } else {
        b.login("alice", "pw")
    };
    if let Some(m) = mechanism {
        b = b.auth_mechanism(m);
    }
    b.build().unwrap()
}

/// What the text of `HOSTILE` must still show, escaped, in an error.
const SHOWS: &[&str] = &["bad", "[31mred", "nul", "del", "bel", "csi", "rlo", "end"];

#[test]
fn imap_server_text_is_escaped_in_errors_and_logs() {
    capture::install();
    const SASL: &str = "IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER";
    let challenge = base64(CHALLENGE_JSON.as_bytes());
    let greet = |caps: &str| Script::new().send_line(&format!("* OK [CAPABILITY {caps}] hi"));
    type Case = (
        &'static str,
        Option<Mechanism>,
        bool,
        Script,
        &'static [&'static str],
    );
    let cases: Vec<Case> = vec![
        (
            "LOGIN answered NO",
            None,
            false,
            greet("IMAP4rev1")
                .expect_contains("LOGIN")
                .reply_tagged(&format!("NO {HOSTILE}")),
            SHOWS,
        ),
        (
            "AUTHENTICATE PLAIN answered NO",
            Some(Mechanism::Plain),
            false,
            greet(SASL)
                .expect_contains("AUTHENTICATE PLAIN")
                .reply_tagged(&format!("NO [AUTHENTICATIONFAILED] {HOSTILE}")),
            SHOWS,
        ),
        (
            "AUTHENTICATE XOAUTH2 error challenge",
            Some(Mechanism::XOAuth2),
            true,
            greet(SASL)
                .expect_contains("AUTHENTICATE XOAUTH2")
                .send_line(&format!("+ {challenge}"))
                .expect_any()
                .send_line(&format!("A1 NO [AUTHENTICATIONFAILED] {HOSTILE}")),
            SHOWS,
        ),
        (
            "AUTHENTICATE OAUTHBEARER error challenge",
            Some(Mechanism::OAuthBearer),
            true,
            greet(SASL)
                .expect_contains("AUTHENTICATE OAUTHBEARER")
                .send_line(&format!("+ {challenge}"))
                .expect_any()
                .send_line(&format!("A1 NO [AUTHENTICATIONFAILED] {HOSTILE}")),
            SHOWS,
        ),
        (
            "LOGIN answered NO with a bare CR",
            None,
            false,
            greet("IMAP4rev1")
                .expect_contains("LOGIN")
                .reply_tagged(&format!("NO {WITH_CR}")),
            &["carriage"],
        ),
        (
            "greeting BYE",
            None,
            false,
            Script::new().send_line(&format!("* BYE {HOSTILE}")),
            SHOWS,
        ),
        (
            "hostile capability strings",
            None,
            true,
            Script::new()
                .send_line("* OK hi")
                .expect_contains("CAPABILITY")
                .send_line("* CAPABILITY IMAP4rev1 AUTH=PL\x1b[31mAIN AUTH=X\u{9b}Y")
                .reply_tagged("OK done")
                .read_until_closed(),
            &["[31mAIN"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, mechanism, oauth, script, shows) in cases {
        let server = ScriptServer::start_seq(vec![script]);
        let err = match ImapConnection::connect(&config(server.port(), mechanism, oauth)) {
            Ok(_) => panic!("{name}: connected"),
            Err(e) => e,
        };
        check_error(&mut failures, name, &err, shows);
    }

    // An ALERT and a BYE while logged in go to the log, not into an error.
    let server = ScriptServer::start_seq(vec![
        greet("IMAP4rev1")
            .expect_contains("LOGIN")
            .send_line(&format!("* OK [ALERT] {HOSTILE}"))
            .reply_tagged("OK [CAPABILITY IMAP4rev1] in")
            .expect_contains("NOOP")
            .send_line(&format!("* BYE {HOSTILE}"))
            .close(),
    ]);
    let conn = ImapConnection::connect(&config(server.port(), None, false)).unwrap();
    let noop = conn.noop();
    if let Err(e) = &noop {
        check_error(&mut failures, "BYE to NOOP", e, &[]);
    }
    check_logs(&mut failures, "IMAP");
    assert_no_failures(&failures);
    assert!(logged("[31mred"), "the alert is logged (escaped)");
    assert!(
        logged("[2Jhttps"),
        "the decoded challenge is logged (escaped)"
    );
}

#[test]
fn pop3_server_text_is_escaped_in_errors_and_logs() {
    capture::install();
    let challenge = base64(CHALLENGE_JSON.as_bytes());
    let caps = "+OK\r\nUSER\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n";
    let greet = || {
        Script::new()
            .send_line("+OK hi")
            .expect_line("CAPA")
            .send(caps)
    };
    type Case = (
        &'static str,
        LoginMethod,
        Option<Mechanism>,
        bool,
        Script,
        &'static [&'static str],
    );
    let cases: Vec<Case> = vec![
        (
            "PASS answered -ERR",
            LoginMethod::UserPass,
            None,
            false,
            greet()
                .expect_prefix("USER ")
                .send_line("+OK")
                .expect_prefix("PASS ")
                .send_line(&format!("-ERR {HOSTILE}")),
            SHOWS,
        ),
        (
            "AUTH PLAIN answered -ERR",
            LoginMethod::Auto,
            Some(Mechanism::Plain),
            false,
            greet()
                .expect_prefix("AUTH PLAIN")
                .send_line(&format!("-ERR [AUTH] {HOSTILE}")),
            SHOWS,
        ),
        (
            "AUTH XOAUTH2 error challenge",
            LoginMethod::Auto,
            Some(Mechanism::XOAuth2),
            true,
            greet()
                .expect_prefix("AUTH XOAUTH2")
                .send_line(&format!("+ {challenge}"))
                .expect_any()
                .send_line(&format!("-ERR [AUTH] {HOSTILE}")),
            SHOWS,
        ),
        (
            "AUTH OAUTHBEARER error challenge",
            LoginMethod::Auto,
            Some(Mechanism::OAuthBearer),
            true,
            greet()
                .expect_prefix("AUTH OAUTHBEARER")
                .send_line(&format!("+ {challenge}"))
                .expect_any()
                .send_line(&format!("-ERR [AUTH] {HOSTILE}")),
            SHOWS,
        ),
        (
            "PASS answered -ERR with a bare CR",
            LoginMethod::UserPass,
            None,
            false,
            greet()
                .expect_prefix("USER ")
                .send_line("+OK")
                .expect_prefix("PASS ")
                .send_line(&format!("-ERR {WITH_CR}")),
            &["[31m"],
        ),
        (
            "greeting -ERR",
            LoginMethod::Auto,
            None,
            false,
            Script::new().send_line(&format!("-ERR {HOSTILE}")),
            SHOWS,
        ),
        (
            "hostile SASL capability",
            LoginMethod::Auto,
            None,
            true,
            // OAuth2 credentials fall back to XOAUTH2 when nothing fits.
            Script::new()
                .send_line("+OK hi")
                .expect_line("CAPA")
                .send("+OK\r\nSASL PL\x1b[31mAIN X\u{9b}Y\r\nIMPLEMENTATION \x1b[2Jx\r\n.\r\n")
                .expect_prefix("AUTH XOAUTH2")
                .send_line(&format!("-ERR [AUTH] {HOSTILE}")),
            SHOWS,
        ),
    ];
    let mut failures = Vec::new();
    for (name, method, mechanism, oauth, script, shows) in cases {
        let server = ScriptServer::start_seq(vec![script]);
        let cfg = config(server.port(), mechanism, oauth);
        let err = match Pop3Handler::connect_with(&cfg, Pop3Options::new().login_method(method)) {
            Ok(_) => panic!("{name}: connected"),
            Err(e) => e,
        };
        check_error(&mut failures, name, &err, shows);
    }

    // A hostile greeting and CAPA refusal on a session that logs in: only logged.
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line(&format!("+OK {HOSTILE} <1.2@host>"))
            .expect_line("CAPA")
            .send_line(&format!("-ERR {HOSTILE}"))
            .expect_prefix("USER ")
            .send_line("+OK")
            .expect_prefix("PASS ")
            .send_line("+OK in")
            .expect_line("CAPA")
            .send_line(&format!("-ERR {HOSTILE}"))
            .expect_line("QUIT")
            .send_line("+OK bye"),
    ]);
    let cfg = config(server.port(), None, false);
    let pop =
        Pop3Handler::connect_with(&cfg, Pop3Options::new().login_method(LoginMethod::UserPass))
            .unwrap_or_else(|e| {
                panic!(
                    "{e:?}; server: {:?} {:?}",
                    server.errors(),
                    server.received(0)
                )
            });
    assert!(pop.greeting().contains("bad"));
    pop.quit().unwrap();
    check_logs(&mut failures, "POP3");
    assert_no_failures(&failures);
    assert!(logged("[31mred"), "the greeting is logged (escaped)");
    assert!(
        logged("[2Jhttps"),
        "the decoded challenge is logged (escaped)"
    );
}
