//! Pop3Handler against scripted servers, for what Dovecot does not do on demand: APOP,
//! `-ERR [IN-USE]` (retried) and `-ERR [AUTH]` (never retried), a server that advertises
//! PIPELINING and breaks on it, `-ERR` in the middle of a pipeline, a connection dropped
//! mid-message, STLS not offered, the RFC 5034 initial-response rule, and a `Pop3Pool`
//! that backs a throttled account off instead of reconnecting on every call.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mailwire::pool::PoolOptions;
use mailwire::pop3::{LoginMethod, Pop3Handler, Pop3Options, Pop3Pool};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

fn config(port: u16, user: &str, password: &str, retry: RetryPolicy) -> Config {
    Config::builder("127.0.0.1")
        .pop3_port(port)
        .security(Security::Plain)
        .login(user, password)
        .timeouts(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(1))
        .retry(retry)
        .build()
        .unwrap()
}

const CAPA_USER: &str = "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n";

/// Greeting, CAPA, USER, PASS answered with `pass_answer`.
fn login_script(pass_answer: &str) -> Script {
    Script::new()
        .send_line("+OK ready")
        .expect_line("CAPA")
        .send(CAPA_USER)
        .expect_line("USER alice")
        .send_line("+OK")
        .expect_line("PASS secret pw")
        .send_line(pass_answer)
}

#[test]
fn apop_with_the_rfc_1939_example() {
    // RFC 1939 §7: timestamp <1896.697170952@dbc.mtview.ca.us>, secret "tanstaaf".
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>")
            .expect_line("CAPA")
            .send_line("-ERR unknown command")
            .expect_line("APOP mrose c4c9334bac560ecc979e58001b3e22fb")
            .send_line("+OK mrose's maildrop has 2 messages (320 octets)")
            .expect_line("CAPA")
            .send_line("-ERR unknown command")
            .expect_line("STAT")
            .send_line("+OK 2 320")
            .expect_line("QUIT")
            .send_line("+OK dewey POP3 server signing off")
    });
    let cfg = config(server.port(), "mrose", "tanstaaf", RetryPolicy::none());
    let pop = Pop3Handler::connect_with(&cfg, Pop3Options::new().login_method(LoginMethod::Apop))
        .unwrap();
    assert_eq!(pop.logged_in_with(), Some("APOP"));
    assert!(pop.capabilities().iter().next().is_none());
    assert!(!pop.pipelines(), "no CAPA: no pipelining");
    let stat = pop.stat().unwrap();
    assert_eq!((stat.count, stat.size), (2, 320));
    pop.quit().unwrap();
    server.assert_ok();
}

#[test]
fn in_use_is_retried_and_auth_is_not() {
    let server = ScriptServer::start_seq(vec![
        login_script("-ERR [IN-USE] maildrop already locked"),
        login_script("+OK logged in")
            .expect_line("CAPA")
            .send(CAPA_USER)
            .expect_line("NOOP")
            .send_line("+OK")
            .expect_line("QUIT")
            .send_line("+OK bye"),
    ]);
    let cfg = config(
        server.port(),
        "alice",
        "secret pw",
        // IN-USE asks for 30 s; the cap keeps the test short.
        RetryPolicy::new(3, Duration::from_millis(20)).with_max_delay(Duration::from_millis(50)),
    );
    let pop = Pop3Handler::connect(&cfg).unwrap();
    assert_eq!(pop.logged_in_with(), Some("USER/PASS"));
    pop.noop().unwrap();
    pop.quit().unwrap();
    assert_eq!(server.connections(), 2);
    server.assert_ok();

    // IN-USE on every attempt: the error says so and is transient.
    let server = ScriptServer::start(|_| login_script("-ERR [IN-USE] locked"));
    let cfg = config(
        server.port(),
        "alice",
        "secret pw",
        RetryPolicy::new(3, Duration::from_millis(10)).with_max_delay(Duration::from_millis(50)),
    );
    match Pop3Handler::connect(&cfg) {
        Err(e @ Error::Server { .. }) => {
            assert!(e.is_transient());
            assert!(e.to_string().contains("IN-USE"), "{e}");
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    assert_eq!(server.connections(), 3);

    // [AUTH] and a plain -ERR to PASS: authentication errors, one attempt only.
    for answer in ["-ERR [AUTH] invalid credentials", "-ERR nope"] {
        let server = ScriptServer::start(move |_| login_script(answer));
        let cfg = config(
            server.port(),
            "alice",
            "secret pw",
            RetryPolicy::new(3, Duration::from_millis(10)),
        );
        match Pop3Handler::connect(&cfg) {
            Err(e @ Error::Auth { .. }) => assert!(!e.is_transient()),
            other => panic!("expected Auth, got {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(server.connections(), 1, "{answer}");
    }
}

/// A server that advertises PIPELINING but handles only the first command of each read and
/// drops the rest of the bytes (a real class of bug: a fresh read buffer per command).
fn broken_pipelining_server(connections: usize) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut tcp, _)) = listener.accept() else {
                return;
            };
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            tcp.write_all(b"+OK ready\r\n").unwrap();
            let mut buf = [0u8; 4096];
            loop {
                let n = match tcp.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let first = text.split("\r\n").next().unwrap_or("").to_string();
                let reply = match first.split(' ').next().unwrap_or("") {
                    "CAPA" => "+OK\r\nUSER\r\nPIPELINING\r\nTOP\r\nUIDL\r\n.\r\n".to_string(),
                    "RETR" => {
                        let n = first.split(' ').nth(1).unwrap_or("0");
                        format!("+OK\r\nSubject: {n}\r\n\r\nbody {n}\r\n..dot\r\n.\r\n")
                    }
                    "QUIT" => {
                        let _ = tcp.write_all(b"+OK bye\r\n");
                        break;
                    }
                    _ => "+OK\r\n".to_string(),
                };
                if tcp.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    (port, handle)
}

#[test]
fn broken_pipelining_gives_a_clear_error_and_the_opt_out_works() {
    let (port, server) = broken_pipelining_server(2);
    let cfg = config(port, "alice", "secret pw", RetryPolicy::none());

    let pop = Pop3Handler::connect(&cfg).unwrap();
    assert!(pop.pipelines());
    let started = Instant::now();
    match pop.fetch_messages(&[1, 2, 3]) {
        Err(Error::Timeout { operation, after }) => {
            assert!(operation.contains("RETR 2"), "{operation}");
            assert!(
                operation.contains("Pop3Options::pipelining(false)"),
                "{operation}"
            );
            assert_eq!(after, Duration::from_secs(1));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(pop.is_broken());
    assert!(matches!(pop.noop(), Err(Error::Closed { .. })));
    drop(pop);

    let pop = Pop3Handler::connect_with(&cfg, Pop3Options::new().pipelining(false)).unwrap();
    assert!(!pop.pipelines());
    let messages = pop.fetch_messages(&[1, 2, 3]).unwrap();
    for (i, m) in messages.iter().enumerate() {
        let n = i + 1;
        assert_eq!(
            m.raw(),
            format!("Subject: {n}\r\n\r\nbody {n}\r\n.dot\r\n").as_bytes()
        );
        assert_eq!(m.meta().seq, Some(n as u32));
    }
    pop.quit().unwrap();
    server.join().unwrap();
}

#[test]
fn err_inside_a_pipeline_keeps_the_connection_in_step() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n")
            .expect_line("USER alice")
            .send_line("+OK")
            .expect_line("PASS secret pw")
            .send_line("+OK")
            .expect_line("CAPA")
            .send("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n")
            .expect_line("RETR 1")
            .expect_line("RETR 2")
            .expect_line("RETR 3")
            .send("+OK\r\none\r\n.\r\n-ERR [SYS/PERM] no such message\r\n+OK\r\nthree\r\n.\r\n")
            .expect_line("NOOP")
            .send_line("+OK")
            .expect_line("QUIT")
            .send_line("+OK")
    });
    let cfg = config(server.port(), "alice", "secret pw", RetryPolicy::none());
    let pop = Pop3Handler::connect_with(&cfg, Pop3Options::new().pipeline_window(8)).unwrap();
    match pop.fetch_messages(&[1, 2, 3]) {
        Err(Error::Server { command, code, .. }) => {
            assert_eq!(command, "RETR 2");
            assert_eq!(code.as_deref(), Some("SYS/PERM"));
        }
        other => panic!("expected -ERR, got {other:?}"),
    }
    assert!(!pop.is_broken());
    pop.noop().unwrap();
    pop.quit().unwrap();
    server.assert_ok();
}

#[test]
fn pipeline_windows_bound_the_commands_in_flight() {
    // Window 4: RETR 1-4 go out together; after two answers (half the window) RETR 5-6.
    let answer = |n: u32| format!("+OK\r\nmessage {n}\r\n.\r\n");
    let server = ScriptServer::start(move |_| {
        let mut s = login_script("+OK")
            .expect_line("CAPA")
            .send("+OK\r\nPIPELINING\r\n.\r\n");
        for n in 1..=4 {
            s = s.expect_line(&format!("RETR {n}"));
        }
        s = s.send(answer(1)).send(answer(2));
        for n in 5..=6 {
            s = s.expect_line(&format!("RETR {n}"));
        }
        s.send(answer(3))
            .send(answer(4))
            .send(answer(5))
            .send(answer(6))
            .expect_line("QUIT")
            .send_line("+OK")
    });
    let cfg = config(server.port(), "alice", "secret pw", RetryPolicy::none());
    let pop = Pop3Handler::connect_with(&cfg, Pop3Options::new().pipeline_window(4)).unwrap();
    let messages = pop.fetch_messages(&[1, 2, 3, 4, 5, 6]).unwrap();
    let bodies: Vec<String> = messages
        .iter()
        .map(|m| String::from_utf8_lossy(m.raw()).into_owned())
        .collect();
    assert_eq!(
        bodies,
        (1..=6)
            .map(|n| format!("message {n}\r\n"))
            .collect::<Vec<_>>()
    );
    pop.quit().unwrap();
    server.assert_ok();
}

#[test]
fn connection_dropped_mid_message_breaks_the_handler() {
    let server = ScriptServer::start(|_| {
        login_script("+OK")
            .expect_line("CAPA")
            .send(CAPA_USER)
            .expect_line("RETR 1")
            .send_partial_then_close("+OK\r\nSubject: cut\r\n\r\nhalf a bo")
    });
    let cfg = config(server.port(), "alice", "secret pw", RetryPolicy::none());
    let pop = Pop3Handler::connect(&cfg).unwrap();
    let mut sink = Vec::new();
    match pop.fetch_to_writer(1, &mut sink) {
        Err(e @ Error::Closed { .. }) => assert!(e.to_string().contains("RETR 1"), "{e}"),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(pop.is_broken());
    assert!(matches!(pop.stat(), Err(Error::Closed { .. })));
}

#[test]
fn stls_not_offered_is_an_error_never_plaintext() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send(CAPA_USER)
            .read_until_closed()
    });
    let cfg = Config::builder("127.0.0.1")
        .pop3_port(server.port())
        .security(Security::StartTls)
        .login("alice", "secret pw")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    match Pop3Handler::connect(&cfg) {
        Err(Error::StartTlsUnavailable { command }) => assert_eq!(command, "STLS"),
        other => panic!("expected StartTlsUnavailable, got {other:?}"),
    }
    assert!(server.wait_done(Duration::from_secs(5)));
    assert!(
        !server.received(0).iter().any(|l| l.starts_with("USER")),
        "credentials must not be sent: {:?}",
        server.received(0)
    );
}

#[test]
fn auth_plain_defers_a_long_initial_response() {
    // RFC 5034 §4: an initial response that would make the command longer than 255
    // octets is sent after the server's "+" instead.
    let long_user = "u".repeat(200);
    let expected = {
        let mut raw = vec![0u8];
        raw.extend_from_slice(long_user.as_bytes());
        raw.push(0);
        raw.extend_from_slice(b"pw");
        raw
    };
    let server = ScriptServer::start(move |_| {
        let expected = expected.clone();
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send("+OK\r\nSASL PLAIN\r\n.\r\n")
            .expect_line("AUTH PLAIN")
            .send_line("+ ")
            .expect(move |line| decode_b64(line) == expected)
            .send_line("+OK welcome")
            .expect_line("CAPA")
            .send("+OK\r\n.\r\n")
            .expect_line("QUIT")
            .send_line("+OK")
    });
    let cfg = config(server.port(), &long_user, "pw", RetryPolicy::none());
    let pop = Pop3Handler::connect(&cfg).unwrap();
    assert_eq!(pop.logged_in_with(), Some("PLAIN"));
    pop.quit().unwrap();
    server.assert_ok();

    // A short one goes on the command line.
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send("+OK\r\nSASL PLAIN LOGIN\r\n.\r\n")
            .expect_line("AUTH PLAIN AGFsaWNlAHNlY3JldCBwdw==")
            .send_line("-ERR [AUTH] no")
    });
    let cfg = config(server.port(), "alice", "secret pw", RetryPolicy::none());
    assert!(matches!(
        Pop3Handler::connect(&cfg),
        Err(Error::Auth { .. })
    ));
    server.assert_ok();
}

/// Minimal base64 decoder for the test (standard alphabet, padding).
fn decode_b64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text.trim().as_bytes() {
        if c == b'=' {
            break;
        }
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            return Vec::new();
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn pipeline_never_has_more_than_the_window_in_flight() {
    // The server lets the client send all it wants (100 ms of quiet), counts the RETRs not
    // answered yet, then answers at most two; the client must never exceed its window.
    const WINDOW: usize = 4;
    const TOTAL: usize = 20;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.write_all(b"+OK ready\r\n").unwrap();
        let mut pending = String::new();
        let mut buf = [0u8; 4096];
        let mut requested = 0usize;
        let mut answered = 0usize;
        let mut max_in_flight = 0usize;
        let mut logged_in = false;
        loop {
            tcp.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            match tcp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                    continue; // keep reading until the client is quiet
                }
                Err(_) => {}
            }
            while let Some(end) = pending.find("\r\n") {
                let line: String = pending.drain(..end + 2).collect();
                let line = line.trim_end();
                if line.starts_with("RETR") {
                    requested += 1;
                } else if line == "QUIT" {
                    tcp.write_all(b"+OK\r\n").unwrap();
                    return max_in_flight;
                } else if line == "CAPA" {
                    let caps = if logged_in {
                        "+OK\r\nPIPELINING\r\n.\r\n"
                    } else {
                        CAPA_USER
                    };
                    tcp.write_all(caps.as_bytes()).unwrap();
                } else {
                    logged_in |= line.starts_with("PASS");
                    tcp.write_all(b"+OK\r\n").unwrap();
                }
            }
            max_in_flight = max_in_flight.max(requested - answered);
            for _ in 0..2.min(requested - answered) {
                answered += 1;
                tcp.write_all(format!("+OK\r\nmessage {answered}\r\n.\r\n").as_bytes())
                    .unwrap();
            }
        }
        max_in_flight
    });
    let cfg = config(port, "alice", "secret pw", RetryPolicy::none());
    let pop = Pop3Handler::connect_with(&cfg, Pop3Options::new().pipeline_window(WINDOW)).unwrap();
    let numbers: Vec<u32> = (1..=TOTAL as u32).collect();
    let messages = pop.fetch_messages(&numbers).unwrap();
    assert_eq!(messages.len(), TOTAL);
    assert_eq!(
        messages[TOTAL - 1].raw(),
        format!("message {TOTAL}\r\n").as_bytes()
    );
    pop.quit().unwrap();
    let max_in_flight = server.join().unwrap();
    assert_eq!(
        max_in_flight, WINDOW,
        "commands in flight never exceed the window"
    );
}

#[test]
fn xoauth2_error_challenge_is_acknowledged_and_reported_as_auth() {
    // user=bob\x01auth=Bearer tok\x01\x01
    let ir = "dXNlcj1ib2IBYXV0aD1CZWFyZXIgdG9rAQE=";
    let server = ScriptServer::start(move |_| {
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .send("+OK\r\nSASL XOAUTH2\r\n.\r\n")
            .expect_line(&format!("AUTH XOAUTH2 {ir}"))
            .send_line("+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=")
            .expect_line("")
            .send_line("-ERR [AUTH] invalid token")
    });
    let cfg = Config::builder("127.0.0.1")
        .pop3_port(server.port())
        .security(Security::Plain)
        .oauth2("bob", "tok")
        .retry(RetryPolicy::new(3, Duration::from_millis(10)))
        .build()
        .unwrap();
    match Pop3Handler::connect(&cfg) {
        Err(Error::Auth { mechanism, text }) => {
            assert_eq!(mechanism, "XOAUTH2");
            assert!(text.contains("invalid token"), "{text}");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    server.assert_ok();
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_throttled_pop3_account_is_backed_off_by_the_pool() {
    // `[IN-USE]` to every PASS until the server lets the account in again.
    let locked = Arc::new(AtomicBool::new(true));
    let server = ScriptServer::start({
        let locked = locked.clone();
        move |_| {
            if locked.load(Ordering::SeqCst) {
                login_script("-ERR [IN-USE] maildrop already locked")
            } else {
                login_script("+OK logged in")
                    .expect_line("CAPA")
                    .send(CAPA_USER)
                    .read_until_closed()
            }
        }
    });
    let cfg = config(
        server.port(),
        "alice",
        "secret pw",
        RetryPolicy::new(1, Duration::from_millis(10)),
    );
    let backoff = Duration::from_millis(400);
    let pool = Pop3Pool::with_options(
        PoolOptions::new().max_per_account(1).max_backoff(backoff),
        Pop3Options::default(),
    )
    .unwrap();
    let in_use = |e: &Error| matches!(e, Error::Server { .. }) && e.to_string().contains("IN-USE");
    let err = pool.get(&cfg).unwrap_err();
    assert!(in_use(&err) && err.is_transient(), "{err:?}");
    assert!(pool.stats_for(&cfg).backing_off);
    assert_eq!(server.connections(), 1);

    // Three workers asking for 1.2 s: one probe per backoff step (400 ms: the hint capped),
    // never a connection per call, and every failure is the server's answer, not a timeout.
    let until = Instant::now() + Duration::from_millis(1200);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (pool, cfg) = (pool.clone(), cfg.clone());
            std::thread::spawn(move || {
                let mut calls = 0;
                while Instant::now() < until {
                    let err = pool
                        .get_timeout(&cfg, Duration::from_millis(50))
                        .unwrap_err();
                    assert!(in_use(&err), "{err:?}");
                    calls += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                calls
            })
        })
        .collect();
    let calls: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let connections = server.connections();
    assert!(calls > 50, "{calls} calls");
    assert!(
        connections <= 1 + 4,
        "{connections} connections for {calls} calls"
    );

    // Let in: the next probe (within one backoff step) logs in and ends the backoff.
    locked.store(false, Ordering::SeqCst);
    let guard = pool.get_timeout(&cfg, Duration::from_secs(5));
    assert!(guard.is_ok(), "{:?}", guard.err());
    drop(guard);
    let stats = pool.stats_for(&cfg);
    assert!(!stats.backing_off, "{stats:?}");
    assert_eq!(stats.throttled, connections as u64, "{stats:?}");
    pool.clear_all();
}
