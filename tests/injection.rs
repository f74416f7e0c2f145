//! Command-injection property tests through the public entry points.
//!
//! A small recording fake server (one thread, 127.0.0.1) reads commands the way a real server
//! does: a line ends at CRLF unless it announces a literal (`{n}` answered with `+ go`, or
//! `{n+}` with LITERAL+), whose bytes are skipped. It answers every tagged command
//! `<tag> OK done` and records each command with literal contents removed. The property, for
//! arbitrary user input: every recorded command starts with the expected tag (the session stays
//! in step) and the expected command name, and nothing the user passed could start a second
//! command; input with NUL fails with `InvalidInput` and the command is never sent.
//!
//! IMAP cases reuse one connection per test. Credentials are only sent at login, so each
//! credential case needs its own connection: those properties run fewer cases
//! (`INJECTION_CREDENTIAL_CASES`, default 150 per mechanism) to keep the number of
//! connections down.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mailwire::config::{Config, Security};
use mailwire::imap::codec::InternalDate;
use mailwire::imap::{Flag, ImapConnection, SearchQuery};
use mailwire::pop3::{LoginMethod, Pop3Handler, Pop3Options};
use mailwire::sasl::Mechanism;
use mailwire::{Error, Result};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};

const CASES: u32 = 10_000;

fn credential_cases() -> u32 {
    std::env::var("INJECTION_CREDENTIAL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

/// One command as the server read it: the text outside literals, one entry per line.
#[derive(Debug, Clone)]
struct Recorded {
    lines: Vec<Vec<u8>>,
}

impl Recorded {
    fn first(&self) -> String {
        String::from_utf8_lossy(self.lines.first().map(Vec::as_slice).unwrap_or(b"")).into()
    }
    fn tag(&self) -> String {
        self.first().split(' ').next().unwrap_or("").to_string()
    }
    /// The command name: `UID` commands include the next word.
    fn name(&self) -> String {
        let first = self.first();
        let mut words = first.split(' ').skip(1);
        let a = words.next().unwrap_or("").to_ascii_uppercase();
        if a == "UID" {
            format!("UID {}", words.next().unwrap_or("").to_ascii_uppercase())
        } else {
            a
        }
    }
}

type Log = Arc<Mutex<Vec<Recorded>>>;

/// If `line` ends with `{n}` or `{n+}`, the size and whether it is non-synchronizing.
fn literal(line: &[u8]) -> Option<(usize, bool)> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let (digits, plus) = match digits.strip_suffix(b"+") {
        Some(d) => (d, true),
        None => (digits, false),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((std::str::from_utf8(digits).ok()?.parse().ok()?, plus))
}

fn read_line(r: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line).ok()?;
    if n == 0 {
        return None;
    }
    if line.ends_with(b"\r\n") {
        line.truncate(line.len() - 2);
    } else {
        // A bare LF or EOF: record it as is so the property fails visibly.
        line.extend(b"<no CRLF>");
    }
    Some(line)
}

/// Serves IMAP connections one after another until the listener is dropped by the test end.
fn imap_server(literal_plus: bool, auth: bool) -> (u16, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log: Log = Arc::default();
    let log2 = log.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            serve_imap(stream, literal_plus, auth, &log2);
        }
    });
    (port, log)
}

fn serve_imap(stream: TcpStream, literal_plus: bool, auth: bool, log: &Log) {
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let caps = if !auth {
        "IMAP4rev1 LITERAL+"
    } else if literal_plus {
        "IMAP4rev1 LITERAL+ UIDPLUS MOVE AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER SASL-IR X-GM-EXT-1 OBJECTID"
    } else {
        "IMAP4rev1 UIDPLUS MOVE AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER X-GM-EXT-1 OBJECTID"
    };
    if w.write_all(format!("* OK [CAPABILITY {caps}] hi\r\n").as_bytes())
        .is_err()
    {
        return;
    }
    loop {
        let mut lines = Vec::new();
        loop {
            let Some(line) = read_line(&mut r) else {
                return;
            };
            let lit = literal(&line);
            lines.push(line);
            match lit {
                Some((n, plus)) => {
                    if !plus {
                        let _ = w.write_all(b"+ go\r\n");
                    }
                    let mut data = vec![0; n];
                    if r.read_exact(&mut data).is_err() {
                        return;
                    }
                }
                None => break,
            }
        }
        let cmd = Recorded { lines };
        let tag = cmd.tag();
        let name = cmd.name();
        log.lock().unwrap().push(cmd);
        let reply = match name.as_str() {
            "AUTHENTICATE" => {
                // Challenge until the client's answer line (SASL-IR may already have sent it).
                let first = log.lock().unwrap().last().unwrap().first();
                let words = first.split(' ').count();
                let mut rounds = if words >= 4 { 0 } else { 1 };
                if first.to_ascii_uppercase().contains(" LOGIN") {
                    rounds = if words >= 4 { 1 } else { 2 };
                }
                for i in 0..rounds {
                    let challenge = if i == 0 {
                        "+ VXNlcm5hbWU6"
                    } else {
                        "+ UGFzc3dvcmQ6"
                    };
                    let _ = w.write_all(format!("{challenge}\r\n").as_bytes());
                    let Some(answer) = read_line(&mut r) else {
                        return;
                    };
                    log.lock().unwrap().push(Recorded {
                        lines: vec![[b"<sasl> ".to_vec(), answer].concat()],
                    });
                }
                format!("{tag} OK [CAPABILITY {caps}] in\r\n")
            }
            "LOGIN" => format!("{tag} OK [CAPABILITY {caps}] in\r\n"),
            "SELECT" | "EXAMINE" => {
                format!("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK [READ-WRITE] done\r\n")
            }
            "UID SEARCH" | "SEARCH" => format!("* SEARCH\r\n{tag} OK done\r\n"),
            "LOGOUT" => format!("* BYE bye\r\n{tag} OK done\r\n"),
            _ => format!("{tag} OK done\r\n"),
        };
        if w.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn config(port: u16, user: &str, password: &str) -> Result<Config> {
    Config::builder("127.0.0.1")
        .port(port)
        .pop3_port(port)
        .security(Security::Plain)
        .login(user, password)
        .timeouts(Duration::from_secs(5))
        .build()
}

/// Checks the commands recorded since `mark`: each has the next tag and a name in `allowed`,
/// and `expected` occurs exactly once (or never, when `sent` is false).
struct Checker {
    log: Log,
    mark: usize,
    /// The prefix and number of the next tag, learnt from the first command.
    next_tag: Option<(String, u64)>,
}

impl Checker {
    fn new(log: Log) -> Checker {
        let mut c = Checker {
            mark: 0,
            log,
            next_tag: None,
        };
        c.check(
            &["LOGIN", "AUTHENTICATE", "CAPABILITY", "ENABLE", "ID"],
            None,
            false,
        )
        .unwrap();
        c
    }

    fn check(
        &mut self,
        allowed: &[&str],
        expected: Option<&str>,
        sent: bool,
    ) -> std::result::Result<(), TestCaseError> {
        let log = self.log.lock().unwrap();
        let new: Vec<Recorded> = log[self.mark..].to_vec();
        self.mark = log.len();
        drop(log);
        let mut count = 0;
        for cmd in &new {
            if cmd.first().starts_with("<sasl> ") {
                prop_assert_eq!(cmd.lines.len(), 1, "SASL answer spans lines: {:?}", cmd);
                continue;
            }
            let tag = cmd.tag();
            let split = tag
                .rfind(|c: char| !c.is_ascii_digit())
                .map(|i| i + 1)
                .unwrap_or(0);
            let (prefix, digits) = tag.split_at(split);
            let number: u64 = digits
                .parse()
                .map_err(|_| TestCaseError::fail(format!("bad tag in {cmd:?}")))?;
            if let Some((p, n)) = &self.next_tag {
                // A command refused before sending may have used a tag number, so numbers
                // can skip; they never repeat or go back, and the prefix never changes.
                prop_assert!(
                    prefix == p.as_str() && number >= *n,
                    "out of step (expected {}{} or later): {:?} (all: {:?})",
                    p,
                    n,
                    cmd,
                    new
                );
            }
            self.next_tag = Some((prefix.to_string(), number + 1));
            let name = cmd.name();
            if expected == Some(name.as_str()) {
                count += 1;
            } else {
                prop_assert!(
                    allowed.contains(&name.as_str()),
                    "unexpected command {:?} in {:?}",
                    name,
                    new
                );
            }
        }
        if let Some(e) = expected {
            prop_assert_eq!(
                count,
                usize::from(sent),
                "{} sent {} times: {:?}",
                e,
                count,
                new
            );
        }
        Ok(())
    }
}

/// The property for one call: if it failed with InvalidInput (always when `input` has NUL),
/// the command was not sent; otherwise it was sent once, in one piece, in step.
fn verify(
    checker: &mut Checker,
    result: Result<()>,
    input_has_nul: bool,
    expected: &str,
) -> std::result::Result<(), TestCaseError> {
    const HELPERS: &[&str] = &[
        "SELECT",
        "EXAMINE",
        "CLOSE",
        "UNSELECT",
        "NOOP",
        "CAPABILITY",
        "LOGOUT",
    ];
    match result {
        Err(Error::InvalidInput { .. }) => checker.check(HELPERS, Some(expected), false),
        Err(e) => Err(TestCaseError::fail(format!(
            "{expected}: unexpected error {e}"
        ))),
        Ok(()) => {
            prop_assert!(!input_has_nul, "{} accepted input with NUL", expected);
            checker.check(HELPERS, Some(expected), true)
        }
    }
}

/// Hostile strings: arbitrary Unicode, and mixes of the bytes that matter to IMAP framing.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        3 => proptest::collection::vec(
            prop_oneof![
                Just("\r\n".to_string()),
                Just("\r".to_string()),
                Just("\n".to_string()),
                Just("\0".to_string()),
                Just("\"".to_string()),
                Just("\\".to_string()),
                Just("{5}".to_string()),
                Just("{0+}".to_string()),
                Just(" ".to_string()),
                Just("A999 LOGOUT".to_string()),
                Just("\r\nA1 DELETE INBOX\r\n".to_string()),
                Just("*%()]".to_string()),
                Just("&-".to_string()),
                Just("é€😀".to_string()),
                "[a-zA-Z0-9]{1,5}",
            ],
            0..8
        )
        .prop_map(|v| v.concat()),
    ]
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    })
}

fn connect(literal_plus: bool) -> (ImapConnection, Checker) {
    let (port, log) = imap_server(literal_plus, true);
    let conn = ImapConnection::connect(&config(port, "user", "pw").unwrap()).unwrap();
    (conn, Checker::new(log))
}

fn mailbox_names(literal_plus: bool) {
    let started = std::time::Instant::now();
    let (conn, checker) = connect(literal_plus);
    let checker = std::cell::RefCell::new(checker);
    let result = runner(CASES).run(&(hostile(), 0usize..11), |(name, op)| {
        let nul = name.contains('\0');
        let msg = b"Subject: x\r\n\r\nbody\r\n";
        let (expected, result): (&str, Result<()>) = match op {
            0 => ("SELECT", conn.select(&name).map(drop)),
            1 => ("EXAMINE", conn.examine(&name).map(drop)),
            2 => ("CREATE", conn.create_folder(&name)),
            3 => ("RENAME", conn.rename_folder(&name, "Other")),
            4 => ("RENAME", conn.rename_folder("Other", &name)),
            5 => ("DELETE", conn.delete_folder(&name)),
            6 => ("SUBSCRIBE", conn.subscribe(&name)),
            7 => ("STATUS", conn.folder_status(&name).map(drop)),
            8 => ("UID COPY", conn.copy("INBOX", &[1], &name).map(drop)),
            9 => (
                "UID MOVE",
                conn.move_messages("INBOX", &[1], &name).map(drop),
            ),
            _ => ("APPEND", conn.append(&name, msg, &[], None).map(drop)),
        };
        verify(&mut checker.borrow_mut(), result, nul, expected)
    });
    assert!(!conn.is_broken());
    println!(
        "mailbox names (LITERAL+ {literal_plus}): {CASES} cases in {:?}",
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn mailbox_names_cannot_inject_with_literal_plus() {
    mailbox_names(true);
}

#[test]
fn mailbox_names_cannot_inject_with_synchronizing_literals() {
    mailbox_names(false);
}

fn search_text(literal_plus: bool) {
    let started = std::time::Instant::now();
    let (conn, checker) = connect(literal_plus);
    let checker = std::cell::RefCell::new(checker);
    let result = runner(CASES).run(&(hostile(), hostile(), 0usize..6), |(text, field, op)| {
        let nul = text.contains('\0') || (op == 5 && field.contains('\0'));
        let query = match op {
            0 => SearchQuery::subject(text.as_str()),
            1 => SearchQuery::body(text.as_str()),
            2 => SearchQuery::from(text.as_str()),
            3 => SearchQuery::text(text.as_str()),
            4 => SearchQuery::header("X-Test", text.as_str()),
            _ => SearchQuery::header(field.as_str(), text.as_str()),
        };
        let result = conn.search("INBOX", &query).map(drop);
        verify(&mut checker.borrow_mut(), result, nul, "UID SEARCH")
    });
    assert!(!conn.is_broken());
    println!(
        "search text (LITERAL+ {literal_plus}): {CASES} cases in {:?}",
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn search_text_cannot_inject() {
    search_text(true);
    search_text(false);
}

/// Gmail labels (stored and searched) and object ids (searched) are user text too.
fn labels_and_object_ids(literal_plus: bool) {
    let (conn, checker) = connect(literal_plus);
    let checker = std::cell::RefCell::new(checker);
    let result = runner(CASES / 5).run(&(hostile(), hostile(), 0usize..6), |(a, b, op)| {
        let nul = a.contains('\0') || b.contains('\0');
        let (result, expected) = match op {
            0 => (
                conn.add_labels("INBOX", &[1], &[a.as_str(), b.as_str()]),
                "UID STORE",
            ),
            1 => (
                conn.remove_labels("INBOX", &[1], &[a.as_str()]),
                "UID STORE",
            ),
            2 => (
                conn.set_labels("INBOX", &[1, 3], &[b.as_str(), a.as_str()]),
                "UID STORE",
            ),
            3 => (
                conn.search(
                    "INBOX",
                    &SearchQuery::gmail_label(a.as_str()).or(SearchQuery::gmail_label(b.as_str())),
                )
                .map(drop),
                "UID SEARCH",
            ),
            4 => (
                conn.search("INBOX", &SearchQuery::email_id(a.as_str()))
                    .map(drop),
                "UID SEARCH",
            ),
            _ => (
                conn.search("INBOX", &!SearchQuery::thread_id(b.as_str()))
                    .map(drop),
                "UID SEARCH",
            ),
        };
        let nul = nul
            && (op != 1 || a.contains('\0'))
            && (op != 4 || a.contains('\0'))
            && (op != 5 || b.contains('\0'));
        verify(&mut checker.borrow_mut(), result, nul, expected)
    });
    assert!(!conn.is_broken());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn gmail_labels_and_object_ids_cannot_inject() {
    labels_and_object_ids(true);
    labels_and_object_ids(false);
}

#[test]
fn keywords_append_flags_and_dates_cannot_inject() {
    let started = std::time::Instant::now();
    let (conn, checker) = connect(false);
    let checker = std::cell::RefCell::new(checker);
    let result = runner(CASES).run(
        &(hostile(), hostile(), any::<bool>()),
        |(kw, date, store)| {
            let mut checker = checker.borrow_mut();
            if store {
                let result = conn.add_keywords("INBOX", &[1], &[kw.as_str()]);
                return verify(&mut checker, result, kw.contains('\0'), "UID STORE");
            }
            // APPEND with a keyword flag and a date parsed from an arbitrary string.
            let flag: Result<Flag> = Ok(Flag::Keyword(kw.clone()));
            let parsed = InternalDate::parse(&date);
            if date.contains('\0') {
                prop_assert!(parsed.is_err(), "a date with NUL parsed: {:?}", date);
            }
            let result = match (flag, parsed) {
                (Ok(flag), Ok(date)) => conn
                    .append("INBOX", b"Subject: x\r\n\r\nbody\r\n", &[flag], Some(date))
                    .map(drop),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            if let Err(e) = &result {
                prop_assert!(
                    matches!(e, Error::InvalidInput { .. }),
                    "refused with {:?}",
                    e
                );
            }
            verify(
                &mut checker,
                result,
                kw.contains('\0') || date.contains('\0'),
                "APPEND",
            )
        },
    );
    assert!(!conn.is_broken());
    println!(
        "keywords / APPEND flags and dates: {CASES} cases in {:?}",
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn credentials_cannot_inject() {
    let started = std::time::Instant::now();
    let cases = credential_cases();
    for (mechanism, expected) in [
        (None, "LOGIN"),
        (Some(Mechanism::Plain), "AUTHENTICATE"),
        (Some(Mechanism::Login), "AUTHENTICATE"),
    ] {
        let (port, log) = imap_server(mechanism.is_none(), mechanism.is_some());
        let checker = std::cell::RefCell::new(Checker::new(log));
        let result = runner(cases).run(&(hostile(), hostile()), |(user, password)| {
            let nul = user.contains('\0') || password.contains('\0');
            let mut checker = checker.borrow_mut();
            // Each connection starts its own tag sequence.
            checker.next_tag = None;
            let built = Config::builder("127.0.0.1")
                .port(port)
                .security(Security::Plain)
                .login(user.as_str(), password.as_str())
                .timeouts(Duration::from_secs(5));
            let built = match mechanism {
                Some(m) => built.auth_mechanism(m),
                None => built,
            };
            let result = built
                .build()
                .and_then(|c| ImapConnection::connect(&c))
                .map(|c| {
                    c.logout();
                });
            match (mechanism, result) {
                (None, result) => verify(&mut checker, result, nul, expected),
                // A SASL mechanism may fall back to LOGIN (empty password for SASL LOGIN).
                (Some(_), Ok(())) => {
                    prop_assert!(!nul, "input with NUL accepted");
                    checker.check(
                        &["AUTHENTICATE", "LOGIN", "CAPABILITY", "LOGOUT"],
                        None,
                        false,
                    )
                }
                (Some(_), Err(Error::InvalidInput { .. })) => {
                    checker.check(&["CAPABILITY", "LOGOUT"], None, false)
                }
                (Some(_), Err(e)) => Err(TestCaseError::fail(format!("unexpected error {e}"))),
            }
        });
        if let Err(e) = result {
            panic!("{mechanism:?}: {e}");
        }
    }
    println!(
        "IMAP credentials: {cases} cases x 3 mechanisms in {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// POP3
// ---------------------------------------------------------------------------------------

fn pop3_server() -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let log2 = log.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut w = stream.try_clone().unwrap();
            let mut r = BufReader::new(stream);
            if w.write_all(b"+OK hi\r\n").is_err() {
                continue;
            }
            while let Some(line) = read_line(&mut r) {
                let upper = String::from_utf8_lossy(&line).to_ascii_uppercase();
                log2.lock().unwrap().push(line);
                let reply: &[u8] = if upper.starts_with("CAPA") {
                    b"+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"
                } else if upper == "AUTH LOGIN" {
                    b"+ VXNlcm5hbWU6\r\n"
                } else if upper == "AUTH PLAIN" {
                    b"+ \r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = w.write_all(b"+OK bye\r\n");
                    break;
                } else {
                    b"+OK\r\n"
                };
                if w.write_all(reply).is_err() {
                    break;
                }
            }
        }
    });
    (port, log)
}

#[test]
fn pop3_credentials_cannot_inject() {
    let started = std::time::Instant::now();
    let cases = credential_cases();
    for method in [LoginMethod::UserPass, LoginMethod::Auto] {
        let (port, log) = pop3_server();
        let result = runner(cases).run(&(hostile(), hostile()), |(user, password)| {
            let nul = user.contains('\0') || password.contains('\0');
            log.lock().unwrap().clear();
            let mut options = Pop3Options::new();
            options.login_method = method;
            let result = config(port, &user, &password)
                .and_then(|c| Pop3Handler::connect_with(&c, options))
                .map(drop);
            // Let the server record the QUIT of a dropped handler before reading the log.
            let lines = log.lock().unwrap().clone();
            match result {
                Err(Error::InvalidInput { .. }) => {
                    // The input with NUL never reaches the wire (a valid user name may
                    // have been sent before the password was refused).
                    let user_sent = lines.iter().any(|l| l.starts_with(b"USER"));
                    let pass_sent = lines.iter().any(|l| l.starts_with(b"PASS"));
                    let refused_sent = (user.contains('\0') && user_sent)
                        || (password.contains('\0') && pass_sent);
                    prop_assert!(!refused_sent, "refused input was sent: {:?}", lines);
                }
                Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e}"))),
                Ok(()) => prop_assert!(!nul, "input with NUL accepted"),
            }
            // Every line the server read is one known command or one SASL answer line
            // (base64, so it cannot carry a command).
            for line in &lines {
                let text = String::from_utf8_lossy(line);
                let word = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
                let base64 = !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
                prop_assert!(
                    ["CAPA", "USER", "PASS", "AUTH", "QUIT", "STAT", "NOOP"]
                        .contains(&word.as_str())
                        || base64
                        || text.is_empty(),
                    "unexpected line {:?} in {:?}",
                    text,
                    lines
                );
            }
            let users = lines.iter().filter(|l| l.starts_with(b"USER ")).count();
            let passes = lines.iter().filter(|l| l.starts_with(b"PASS ")).count();
            prop_assert!(users <= 1 && passes <= 1, "{:?}", lines);
            Ok(())
        });
        if let Err(e) = result {
            panic!("{method:?}: {e}");
        }
    }
    println!(
        "POP3 credentials: {cases} cases x 2 methods in {:?}",
        started.elapsed()
    );
}
