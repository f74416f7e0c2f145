//! Plug-in SASL mechanisms (`mailwire::sasl::SaslMechanism` through `Credentials::custom`):
//! PLAIN and CRAM-MD5 written in this test on the trait alone log in to the real Dovecot
//! (IMAP and POP3); scripted servers for a name Dovecot does not offer (`X-TEST`) show the
//! exact bytes of a multi-round exchange (with and without SASL-IR, client-first and
//! server-first), the bound on challenges, a mechanism the server does not offer, a
//! mechanism that fails or panics (a typed error, the exchange cancelled, the connection
//! closed), and that no payload shows in the log; the pool never hands a connection made
//! with one mechanism name to a config naming another.
//! Own test binary: it installs a global logger.

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use mailwire::imap::{IdleEvent, IdleListener, ImapConnection, ImapPool};
use mailwire::pool::PoolOptions;
use mailwire::pool::ReuseKey;
use mailwire::pop3::{Pop3Handler, Pop3Options, Pop3Pool};
use mailwire::sasl::{MAX_CHALLENGES, Mechanism, SaslContext, SaslMechanism};
use mailwire::{Config, Credentials, Error, Protocol, RetryPolicy, Security};
use support::base64 as b64;
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

// ---- mechanisms written by the application, on the public trait only ----------------------

/// PLAIN (RFC 4616) as an application would write it.
struct AppPlain {
    user: String,
    password: String,
}

impl SaslMechanism for AppPlain {
    fn start(&mut self) -> mailwire::Result<Option<Vec<u8>>> {
        Ok(Some(
            format!("\0{}\0{}", self.user, self.password).into_bytes(),
        ))
    }
    fn step(&mut self, _challenge: &[u8]) -> mailwire::Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

/// CRAM-MD5 (RFC 2195): the server speaks first.
struct AppCramMd5 {
    user: String,
    password: String,
    answered: bool,
}

impl SaslMechanism for AppCramMd5 {
    fn start(&mut self) -> mailwire::Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn step(&mut self, challenge: &[u8]) -> mailwire::Result<Vec<u8>> {
        assert!(!self.answered, "CRAM-MD5 has one challenge");
        self.answered = true;
        let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(self.password.as_bytes()).unwrap();
        mac.update(challenge);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(format!("{} {hex}", self.user).into_bytes())
    }
    fn finish(&mut self) -> mailwire::Result<()> {
        assert!(self.answered, "finish before the challenge was answered");
        Ok(())
    }
}

/// Credentials for `name` ("PLAIN" or "CRAM-MD5") built on the trait; `made` counts the
/// instances the factory made (one per login).
fn app_credentials(user: &User, name: &str, made: Arc<AtomicUsize>) -> Credentials {
    let password = user.password.clone();
    let cram = name == "CRAM-MD5";
    Credentials::custom(&user.name, name, move |login: &SaslContext| {
        made.fetch_add(1, Ordering::SeqCst);
        let (user, password) = (login.user.clone(), password.clone());
        Ok(if cram {
            Box::new(AppCramMd5 {
                user,
                password,
                answered: false,
            }) as Box<dyn SaslMechanism>
        } else {
            Box::new(AppPlain { user, password })
        })
    })
}

fn dovecot_config(dc: &Dovecot, credentials: Credentials) -> Config {
    Config::builder(dc.host())
        .port(dc.imaps_port())
        .pop3_port(dc.pop3s_port())
        .credentials(credentials)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The IMAP login line of the session's debug log for `user`.
fn imap_logged_in_with(user: &str) -> String {
    capture::lines()
        .iter()
        .rev()
        .find_map(|l| {
            l.split_once(&format!("logged in as {user} ("))
                .map(|(_, rest)| rest.trim_end_matches(')').to_string())
        })
        .unwrap_or_default()
}

/// Asserts nothing logged holds any of `secrets`.
fn assert_not_logged(what: &str, secrets: &[String]) {
    let all = capture::lines().join("\n");
    assert!(!all.is_empty(), "{what}: nothing logged");
    for secret in secrets {
        assert!(
            !all.contains(secret.as_str()),
            "{what}: {secret:?} was logged:\n{all}"
        );
    }
}

#[test]
fn mechanisms_written_on_the_trait_log_in_to_dovecot() {
    capture::install();
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[b"Subject: one\n\nbody\n"]);
    for name in ["PLAIN", "CRAM-MD5"] {
        let made = Arc::new(AtomicUsize::new(0));
        let config = dovecot_config(dc, app_credentials(&user, name, made.clone()));
        let conn = ImapConnection::connect(&config).unwrap_or_else(|e| panic!("IMAP {name}: {e}"));
        assert_eq!(
            imap_logged_in_with(&user.name),
            format!("AUTHENTICATE {name}")
        );
        assert_eq!(conn.select("INBOX").unwrap().exists, 1, "IMAP {name}");
        conn.logout();

        let pop = Pop3Handler::connect(&config).unwrap_or_else(|e| panic!("POP3 {name}: {e}"));
        assert_eq!(pop.logged_in_with(), Some("SASL"));
        assert_eq!(pop.stat().unwrap().count, 1, "POP3 {name}");
        pop.quit().unwrap();
        assert_eq!(
            made.load(Ordering::SeqCst),
            2,
            "{name}: one instance per login"
        );
    }
    let plain = format!("\0{}\0{}", user.name, user.password);
    assert_not_logged(
        "Dovecot logins",
        &[user.password.clone(), b64(plain.as_bytes())],
    );

    // A wrong password through the trait is the server's refusal: Error::Auth.
    let mut wrong = user.clone();
    wrong.password = "not the password".into();
    let config = dovecot_config(dc, app_credentials(&wrong, "PLAIN", Arc::default()));
    match ImapConnection::connect(&config) {
        Err(e @ Error::Auth { .. }) => {
            assert!(!e.is_transient(), "{e}");
            assert!(e.to_string().contains("AUTHENTICATE PLAIN"), "{e}");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    match Pop3Handler::connect(&config) {
        Err(Error::Auth { .. }) => {}
        other => panic!("expected Auth, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_pool_never_hands_a_connection_to_another_mechanism_name() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[b"Subject: one\n\nbody\n"]);
    let counters: [Arc<AtomicUsize>; 3] = Default::default();
    // `again` names the same mechanism through another factory: by the documented rule
    // (user and name), it shares `plain`'s connections; `cram` never does.
    let plain = dovecot_config(dc, app_credentials(&user, "PLAIN", counters[0].clone()));
    let again = dovecot_config(dc, app_credentials(&user, "PLAIN", counters[1].clone()));
    let cram = dovecot_config(dc, app_credentials(&user, "CRAM-MD5", counters[2].clone()));
    for proto in [Protocol::Imap, Protocol::Pop3] {
        assert_eq!(
            ReuseKey::for_config(&plain, proto),
            ReuseKey::for_config(&again, proto)
        );
        assert_ne!(
            ReuseKey::for_config(&plain, proto),
            ReuseKey::for_config(&cram, proto)
        );
    }
    let made = || counters.each_ref().map(|c| c.load(Ordering::SeqCst));

    let pool = ImapPool::with_options(PoolOptions::new()).unwrap();
    let first = pool.get(&plain).unwrap();
    let first_id = first.id().to_string();
    drop(first);
    let shared = pool.get(&again).unwrap();
    assert_eq!(
        shared.id(),
        first_id,
        "same user and mechanism name: reused"
    );
    drop(shared);
    let other = pool.get(&cram).unwrap();
    assert_ne!(
        other.id(),
        first_id,
        "another mechanism name got PLAIN's connection"
    );
    assert_eq!(other.select("INBOX").unwrap().exists, 1);
    drop(other);
    assert_eq!(made(), [1, 0, 1], "IMAP: one login per connection");
    assert_eq!(pool.open_connections(), 2);

    let pool = Pop3Pool::with_options(PoolOptions::new(), Pop3Options::default()).unwrap();
    let first = pool.get(&plain).unwrap();
    let first_id = first.id().to_string();
    drop(first);
    let shared = pool.get(&again).unwrap();
    assert_eq!(shared.id(), first_id);
    drop(shared);
    let other = pool.get(&cram).unwrap();
    assert_ne!(
        other.id(),
        first_id,
        "another mechanism name got PLAIN's connection"
    );
    assert_eq!(other.stat().unwrap().count, 1);
    drop(other);
    assert_eq!(made(), [2, 0, 2], "POP3: one login per connection");
}

#[test]
fn an_idle_listener_reconnect_logs_in_with_a_fresh_instance() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    let made = Arc::new(AtomicUsize::new(0));
    let config = Config::builder(dc.host())
        .port(dc.imaps_port())
        .credentials(app_credentials(&user, "CRAM-MD5", made.clone()))
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::new(5, Duration::from_millis(300)))
        .build()
        .unwrap();
    let listener = IdleListener::builder(config).spawn().unwrap();
    let events = listener.events();
    assert_eq!(made.load(Ordering::SeqCst), 1);
    dc.kick(&user.name);
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let mut reconnected = false;
    while !reconnected && std::time::Instant::now() < until {
        reconnected = matches!(
            events.recv_timeout(Duration::from_millis(200)),
            Ok(IdleEvent::Reconnected { .. })
        );
    }
    assert!(reconnected, "no Reconnected event");
    // CRAM-MD5 answers one challenge per instance: a reused instance would have refused.
    assert_eq!(
        made.load(Ordering::SeqCst),
        2,
        "one fresh instance per login"
    );
    drop(listener);
}

// ---- a scripted X-TEST server ---------------------------------------------------------

const INITIAL: &[u8] = b"\x00client-first S3CRET-one";
const CH1: &[u8] = b"\x00\xffchallenge one\r\n";
const ANS1: &[u8] = b"answer one S3CRET-two";
const CH2: &[u8] = b"challenge two";
const ANS2: &[u8] = b"\x01\x02 S3CRET-three";
const FINAL: &[u8] = b"server final";

/// What the scripted mechanism does besides answering.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    /// `step` returns an error at this (1-based) challenge.
    ErrAt(usize),
    /// `step` panics at this challenge.
    PanicAt(usize),
    /// The factory panics.
    FactoryPanics,
    /// `finish` refuses the login.
    FinishErr,
}

#[derive(Default, Debug)]
struct Seen {
    contexts: Vec<SaslContext>,
    challenges: Vec<Vec<u8>>,
    finished: usize,
}

struct Scripted {
    initial: Option<Vec<u8>>,
    answers: VecDeque<Vec<u8>>,
    fault: Fault,
    seen: Arc<Mutex<Seen>>,
}

impl SaslMechanism for Scripted {
    fn start(&mut self) -> mailwire::Result<Option<Vec<u8>>> {
        Ok(self.initial.take())
    }
    fn step(&mut self, challenge: &[u8]) -> mailwire::Result<Vec<u8>> {
        let n = {
            let mut seen = self.seen.lock().unwrap();
            seen.challenges.push(challenge.to_vec());
            seen.challenges.len()
        };
        if self.fault == Fault::ErrAt(n) {
            return Err(Error::Auth {
                mechanism: "X-TEST".into(),
                text: "the ticket expired".into(),
            });
        }
        if self.fault == Fault::PanicAt(n) {
            panic!("the mechanism broke");
        }
        Ok(self.answers.pop_front().unwrap_or_default())
    }
    fn finish(&mut self) -> mailwire::Result<()> {
        self.seen.lock().unwrap().finished += 1;
        if self.fault == Fault::FinishErr {
            return Err(Error::Auth {
                mechanism: "X-TEST".into(),
                text: "the server did not prove itself".into(),
            });
        }
        Ok(())
    }
}

/// `X-TEST` credentials whose mechanism starts with `initial` and answers `answers` in
/// order (then empty), recording into the returned `Seen`.
fn x_test(
    initial: Option<&[u8]>,
    answers: &[&[u8]],
    fault: Fault,
) -> (Credentials, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    let initial = initial.map(<[u8]>::to_vec);
    let answers: VecDeque<Vec<u8>> = answers.iter().map(|a| a.to_vec()).collect();
    let credentials = Credentials::custom("alice", "X-TEST", move |login: &SaslContext| {
        if fault == Fault::FactoryPanics {
            panic!("no ticket cache");
        }
        record.lock().unwrap().contexts.push(login.clone());
        Ok(Box::new(Scripted {
            initial: initial.clone(),
            answers: answers.clone(),
            fault,
            seen: record.clone(),
        }) as Box<dyn SaslMechanism>)
    });
    (credentials, seen)
}

fn scripted_config(port: u16, credentials: Credentials) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .pop3_port(port)
        .security(Security::Plain)
        .credentials(credentials)
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn challenge(bytes: &[u8]) -> String {
    format!("+ {}", b64(bytes))
}

const IMAP_GREETING: &str = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=X-TEST] ready";
const IMAP_GREETING_IR: &str = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=X-TEST] ready";
const POP3_CAPA: &str = "+OK\r\nSASL PLAIN X-TEST\r\nUIDL\r\n.";

/// The three challenges of the full exchange, each answered as the mechanism must, then
/// the server's success (`ok`).
fn three_rounds(script: Script, ok: &str) -> Script {
    script
        .send_line(&challenge(CH1))
        .expect_line(&b64(ANS1))
        .send_line(&challenge(CH2))
        .expect_line(&b64(ANS2))
        .send_line(&challenge(FINAL))
        .expect_line("")
        .send_line(ok)
}

fn payload_secrets() -> Vec<String> {
    vec!["S3CRET".into(), b64(INITIAL), b64(ANS1), b64(ANS2)]
}

fn assert_full_exchange(what: &str, seen: &Mutex<Seen>, protocol: Protocol, port: u16) {
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.challenges,
        vec![CH1.to_vec(), CH2.to_vec(), FINAL.to_vec()],
        "{what}: the challenges, in order, byte for byte"
    );
    assert_eq!(seen.finished, 1, "{what}: finish once, after the OK");
    assert_eq!(seen.contexts.len(), 1, "{what}: one instance");
    let c = &seen.contexts[0];
    assert_eq!(
        (c.protocol, c.host.as_str(), c.port, c.user.as_str()),
        (protocol, "127.0.0.1", port, "alice"),
        "{what}"
    );
}

#[test]
fn imap_multi_round_exchange_byte_for_byte() {
    capture::install();
    let ok = "A1 OK [CAPABILITY IMAP4rev1] in";
    // With SASL-IR: the initial response on the command line.
    let server = ScriptServer::start(move |_| {
        three_rounds(
            Script::new()
                .send_line(IMAP_GREETING_IR)
                .expect_line(&format!("A1 AUTHENTICATE X-TEST {}", b64(INITIAL))),
            ok,
        )
        .read_until_closed()
    });
    let (credentials, seen) = x_test(Some(INITIAL), &[ANS1, ANS2], Fault::None);
    let conn = ImapConnection::connect(&scripted_config(server.port(), credentials)).unwrap();
    assert_eq!(imap_logged_in_with("alice"), "AUTHENTICATE X-TEST");
    drop(conn);
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
    assert_full_exchange("IMAP SASL-IR", &seen, Protocol::Imap, server.port());

    // Without SASL-IR: the initial response answers the server's first, empty challenge.
    let server = ScriptServer::start(move |_| {
        three_rounds(
            Script::new()
                .send_line(IMAP_GREETING)
                .expect_line("A1 AUTHENTICATE X-TEST")
                .send_line("+ ")
                .expect_line(&b64(INITIAL)),
            ok,
        )
        .read_until_closed()
    });
    let (credentials, seen) = x_test(Some(INITIAL), &[ANS1, ANS2], Fault::None);
    drop(ImapConnection::connect(&scripted_config(server.port(), credentials)).unwrap());
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
    assert_full_exchange("IMAP without SASL-IR", &seen, Protocol::Imap, server.port());

    // An empty initial response with SASL-IR is `=`; a server-first mechanism sends the
    // bare command even when SASL-IR is offered.
    for (initial, command) in [
        (Some(&b""[..]), "A1 AUTHENTICATE X-TEST ="),
        (None, "A1 AUTHENTICATE X-TEST"),
    ] {
        let server = ScriptServer::start(move |_| {
            three_rounds(
                Script::new()
                    .send_line(IMAP_GREETING_IR)
                    .expect_line(command),
                ok,
            )
            .read_until_closed()
        });
        let (credentials, seen) = x_test(initial, &[ANS1, ANS2], Fault::None);
        drop(ImapConnection::connect(&scripted_config(server.port(), credentials)).unwrap());
        assert!(server.wait_done(Duration::from_secs(10)));
        server.assert_ok();
        assert_full_exchange(command, &seen, Protocol::Imap, server.port());
    }
    assert_not_logged("IMAP X-TEST", &payload_secrets());
    let all = capture::lines().join("\n");
    assert!(
        all.contains("AUTHENTICATE X-TEST <redacted>"),
        "the initial response is traced redacted:\n{all}"
    );
}

#[test]
fn pop3_multi_round_exchange_byte_for_byte() {
    capture::install();
    for (initial, command) in [
        (Some(INITIAL), format!("AUTH X-TEST {}", b64(INITIAL))),
        (Some(&b""[..]), "AUTH X-TEST =".to_string()),
        (None, "AUTH X-TEST".to_string()),
    ] {
        let line = command.clone();
        let server = ScriptServer::start(move |_| {
            three_rounds(
                Script::new()
                    .send_line("+OK ready")
                    .expect_line("CAPA")
                    .send_line(POP3_CAPA)
                    .expect_line(&line),
                "+OK in",
            )
            .expect_line("CAPA")
            .send_line(POP3_CAPA)
            .expect_line("QUIT")
            .send_line("+OK bye")
        });
        let (credentials, seen) = x_test(initial, &[ANS1, ANS2], Fault::None);
        // Whatever the login method: a custom mechanism logs in with AUTH.
        let options = Pop3Options::default().login_method(mailwire::pop3::LoginMethod::UserPass);
        let pop = Pop3Handler::connect_with(&scripted_config(server.port(), credentials), options)
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        assert_eq!(pop.logged_in_with(), Some("SASL"));
        pop.quit().unwrap();
        assert!(server.wait_done(Duration::from_secs(10)));
        server.assert_ok();
        assert_full_exchange(&command, &seen, Protocol::Pop3, server.port());
    }
    assert_not_logged("POP3 X-TEST", &payload_secrets());
    let all = capture::lines().join("\n");
    assert!(all.contains("AUTH X-TEST <redacted>"), "{all}");
}

/// The server's side of an exchange the client gives up: `first` is the command line
/// expected, `challenges` challenges are each answered (any line), then one more is sent
/// and everything else recorded until the client closes.
fn endless(pop3: bool, challenges: usize) -> ScriptServer {
    ScriptServer::start(move |_| {
        let mut script = if pop3 {
            Script::new()
                .send_line("+OK ready")
                .expect_line("CAPA")
                .send_line(POP3_CAPA)
                .expect_prefix("AUTH X-TEST")
        } else {
            Script::new()
                .send_line(IMAP_GREETING_IR)
                .expect_prefix("A1 AUTHENTICATE X-TEST")
        };
        for _ in 0..challenges {
            script = script
                .send_line(&challenge(b"again"))
                .expect_line(&b64(b"more"));
        }
        script.send_line(&challenge(b"again")).read_until_closed()
    })
}

#[test]
fn a_server_that_never_stops_challenging_is_cut_off() {
    for pop3 in [false, true] {
        let what = if pop3 { "POP3" } else { "IMAP" };
        let server = endless(pop3, MAX_CHALLENGES);
        let answers = vec![&b"more"[..]; MAX_CHALLENGES + 1];
        let (credentials, seen) = x_test(Some(b"hi"), &answers, Fault::None);
        let config = scripted_config(server.port(), credentials);
        let started = std::time::Instant::now();
        let result = if pop3 {
            Pop3Handler::connect(&config).map(|_| ())
        } else {
            ImapConnection::connect(&config).map(|_| ())
        };
        match result {
            Err(e @ Error::Protocol { .. }) => {
                assert!(
                    e.to_string()
                        .contains(&format!("more than {MAX_CHALLENGES}")),
                    "{what}: {e}"
                );
                assert!(!e.is_transient());
            }
            other => panic!("{what}: expected Error::Protocol, got {other:?}"),
        }
        support::assert_within(started, Duration::from_secs(5), what);
        assert!(
            server.wait_done(Duration::from_secs(10)),
            "{what}: the connection was closed"
        );
        server.assert_ok();
        // The command, then one answer per allowed challenge; the one too many unanswered.
        let got = server.received(0);
        let command = got.iter().position(|l| l.contains("X-TEST")).unwrap();
        assert_eq!(got.len() - command, 1 + MAX_CHALLENGES, "{what}: {got:?}");
        assert!(
            got.iter().skip(command + 1).all(|l| l == &b64(b"more")),
            "{what}: {got:?}"
        );
        assert_eq!(
            seen.lock().unwrap().challenges.len(),
            MAX_CHALLENGES,
            "{what}"
        );
    }
}

#[test]
fn pop3_plain_against_a_server_that_never_stops_challenging_is_cut_off() {
    // The built-in fixed-response path has the same bound: PLAIN's one response, then `*`.
    let server = ScriptServer::start(|_| {
        let mut script = Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send_line("+OK\r\nSASL PLAIN\r\n.")
            .expect_prefix("AUTH PLAIN");
        for _ in 0..MAX_CHALLENGES {
            script = script.send_line("+ ").expect_any();
        }
        script.send_line("+ ").read_until_closed()
    });
    let config = Config::builder("127.0.0.1")
        .pop3_port(server.port())
        .security(Security::Plain)
        .login("alice", "pw")
        .auth_mechanism(Mechanism::Plain)
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    match Pop3Handler::connect(&config) {
        Err(e @ Error::Protocol { .. }) => {
            assert!(
                e.to_string()
                    .contains(&format!("more than {MAX_CHALLENGES}")),
                "{e}"
            )
        }
        other => panic!("expected Error::Protocol, got {:?}", other.map(|_| ())),
    }
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
    let got = server.received(0);
    assert_eq!(got.len(), 2 + MAX_CHALLENGES, "{got:?}");
}

#[test]
fn a_mechanism_the_server_does_not_offer_is_refused_before_sending() {
    for pop3 in [false, true] {
        let what = if pop3 { "POP3" } else { "IMAP" };
        let server = ScriptServer::start(move |_| {
            if pop3 {
                Script::new()
                    .send_line("+OK ready")
                    .expect_line("CAPA")
                    .send_line("+OK\r\nSASL PLAIN SCRAM-SHA-256\r\n.")
                    .read_until_closed()
            } else {
                Script::new()
                    .send_line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=SCRAM-SHA-256] hi")
                    .read_until_closed()
            }
        });
        let (credentials, seen) = x_test(Some(b"hi"), &[], Fault::None);
        let config = scripted_config(server.port(), credentials);
        let result = if pop3 {
            Pop3Handler::connect(&config).map(|_| ())
        } else {
            ImapConnection::connect(&config).map(|_| ())
        };
        match result {
            Err(Error::InvalidInput { what: w, reason }) => {
                assert_eq!(w, "SASL mechanism");
                assert!(reason.contains("X-TEST"), "{what}: {reason}");
                assert!(
                    reason.contains("offers: PLAIN SCRAM-SHA-256"),
                    "{what}: {reason}"
                );
            }
            other => panic!("{what}: expected InvalidInput, got {other:?}"),
        }
        assert!(server.wait_done(Duration::from_secs(10)));
        let got = server.received_all();
        assert!(!got.iter().any(|l| l.contains("AUTH")), "{what}: {got:?}");
        assert!(
            seen.lock().unwrap().contexts.is_empty(),
            "{what}: no instance made"
        );
    }
}

#[test]
fn a_failing_or_panicking_mechanism_is_a_typed_error_and_the_connection_closes() {
    capture::install();
    for pop3 in [false, true] {
        for fault in [
            Fault::ErrAt(2),
            Fault::PanicAt(1),
            Fault::FinishErr,
            Fault::FactoryPanics,
        ] {
            let what = format!("{} {fault:?}", if pop3 { "POP3" } else { "IMAP" });
            let server = ScriptServer::start(move |_| {
                let start = if pop3 {
                    Script::new()
                        .send_line("+OK ready")
                        .expect_line("CAPA")
                        .send_line(POP3_CAPA)
                } else {
                    Script::new().send_line(IMAP_GREETING_IR)
                };
                let (cancelled, ok) = if pop3 {
                    ("-ERR cancelled", "+OK in")
                } else {
                    (
                        "A1 BAD AUTHENTICATE cancelled",
                        "A1 OK [CAPABILITY IMAP4rev1] in",
                    )
                };
                let command = if pop3 {
                    "AUTH X-TEST "
                } else {
                    "A1 AUTHENTICATE X-TEST "
                };
                match fault {
                    Fault::FactoryPanics => start.read_until_closed(),
                    Fault::FinishErr => {
                        three_rounds(start.expect_line(&format!("{command}{}", b64(INITIAL))), ok)
                            .read_until_closed()
                    }
                    Fault::ErrAt(2) => start
                        .expect_line(&format!("{command}{}", b64(INITIAL)))
                        .send_line(&challenge(CH1))
                        .expect_line(&b64(ANS1))
                        .send_line(&challenge(CH2))
                        .expect_line("*")
                        .send_line(cancelled)
                        .read_until_closed(),
                    _ => start
                        .expect_line(&format!("{command}{}", b64(INITIAL)))
                        .send_line(&challenge(CH1))
                        .expect_line("*")
                        .send_line(cancelled)
                        .read_until_closed(),
                }
            });
            let (credentials, seen) = x_test(Some(INITIAL), &[ANS1, ANS2], fault);
            let config = scripted_config(server.port(), credentials);
            let result = if pop3 {
                Pop3Handler::connect(&config).map(|_| ())
            } else {
                ImapConnection::connect(&config).map(|_| ())
            };
            match (fault, result) {
                (Fault::ErrAt(_), Err(Error::Auth { text, .. })) => {
                    assert_eq!(
                        text, "the ticket expired",
                        "{what}: the mechanism's own error"
                    )
                }
                (Fault::FinishErr, Err(Error::Auth { text, .. })) => {
                    assert_eq!(text, "the server did not prove itself", "{what}")
                }
                (Fault::PanicAt(_), Err(Error::InvalidInput { reason, .. })) => {
                    assert!(
                        reason.contains("X-TEST panicked in step"),
                        "{what}: {reason}"
                    )
                }
                (Fault::FactoryPanics, Err(Error::InvalidInput { reason, .. })) => assert!(
                    reason.contains("X-TEST panicked when asked for a new instance"),
                    "{what}: {reason}"
                ),
                (_, other) => panic!("{what}: got {other:?}"),
            }
            assert!(
                server.wait_done(Duration::from_secs(10)),
                "{what}: the client closed the connection"
            );
            server.assert_ok();
            let got = server.received_all();
            if fault == Fault::FactoryPanics {
                assert!(!got.iter().any(|l| l.contains("AUTH")), "{what}: {got:?}");
            }
            if fault == Fault::FinishErr {
                assert_eq!(seen.lock().unwrap().finished, 1, "{what}");
            }
        }
    }
    assert_not_logged("faults", &payload_secrets());
}

#[test]
fn names_are_checked_at_build_and_debug_shows_no_secret() {
    let build = |name: &str| {
        Config::builder("imap.example.com")
            .credentials(Credentials::custom("alice", name, |_: &SaslContext| {
                Ok(Box::new(AppPlain {
                    user: "alice".into(),
                    password: "hunter2-secret".into(),
                }) as Box<dyn SaslMechanism>)
            }))
            .build()
    };
    for bad in [
        "",
        "x-test",
        "X TEST",
        "X-TEST\r\nA1 LOGOUT",
        "TWENTY-ONE-CHARACTERS",
    ] {
        match build(bad) {
            Err(Error::InvalidInput { what, reason }) => {
                assert_eq!(what, "SASL mechanism", "{bad:?}");
                assert!(reason.contains("RFC 4422"), "{bad:?}: {reason}");
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let config = build("GSSAPI").unwrap();
    let shown = format!("{config:?}");
    assert!(
        shown.contains("GSSAPI") && shown.contains("alice"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");
    match config.credentials() {
        Some(Credentials::Custom(c)) => assert_eq!((c.user(), c.name()), ("alice", "GSSAPI")),
        other => panic!("{other:?}"),
    }
    // A forced built-in mechanism next to a custom one is a contradiction.
    let (credentials, _) = x_test(None, &[], Fault::None);
    match Config::builder("imap.example.com")
        .credentials(credentials)
        .auth_mechanism(Mechanism::Plain)
        .build()
    {
        Err(Error::InvalidInput { reason, .. }) => {
            assert!(
                reason.contains("X-TEST") && reason.contains("PLAIN"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}
