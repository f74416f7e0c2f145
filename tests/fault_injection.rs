//! Fault injection against the scripted server, plain and TLS: every fault at every stage it
//! can reach gives a typed error within 2× the configured deadline, no panic, no thread left
//! behind, and a connection marked broken (the pool discards it, the IdleListener
//! reconnects).
//!
//! The tables are `Fault` × stage: a stage is the scripted conversation up to the point where
//! the fault strikes (before the greeting, after the login command, after the command of a
//! given public method), the fault is what the server does then.

mod support;

use std::time::{Duration, Instant};

use mailwire::imap::{IdleEvent, IdleListener, ImapConnection, ImapHandler, SearchQuery};
use mailwire::pool::PoolOptions;
use mailwire::pop3::Pop3Handler;
use mailwire::{Config, Error, RetryPolicy, Security, ServerStatus};
use support::certs::test_cert;
use support::script_server::{Script, ScriptServer};

/// The configured deadline: connect, read and write timeouts.
const DEADLINE: Duration = Duration::from_millis(1000);
/// The line-length limit the clients run with (the "100 MB line" needs only this much).
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The connection closes.
    Drop,
    /// Closed in the middle of a line.
    DropMidLine,
    /// Closed in the middle of a literal (IMAP) or a multi-line body (POP3).
    DropMidLiteral,
    /// `* BYE` (IMAP) / `-ERR` then close (POP3), then silence.
    Bye,
    /// Bytes that are no response at all.
    Garbage,
    /// A literal announcing 10^12 bytes (IMAP only).
    HugeLiteral,
    /// A line longer than the limit, never ended (only as much as passes the limit is sent).
    HugeLine,
    /// One byte every 500 ms.
    Trickle,
    /// Nothing at all.
    Silent,
}

const ALL_FAULTS: [Fault; 9] = [
    Fault::Drop,
    Fault::DropMidLine,
    Fault::DropMidLiteral,
    Fault::Bye,
    Fault::Garbage,
    Fault::HugeLiteral,
    Fault::HugeLine,
    Fault::Trickle,
    Fault::Silent,
];

impl Fault {
    fn imap(self, script: Script) -> Script {
        match self {
            Fault::Drop => script.close(),
            Fault::DropMidLine => script.send_partial_then_close("* 1 FETCH (UID 1 FLA"),
            Fault::DropMidLiteral => {
                script.send_partial_then_close("* 1 FETCH (UID 1 BODY[] {400}\r\nSubject: cut off")
            }
            Fault::Bye => script.send_line("* BYE going away").hang(),
            Fault::Garbage => script.send("\x00\x01garbage \u{fffd}\r\n").hang(),
            Fault::HugeLiteral => script
                .send("* 1 FETCH (UID 1 BODY[] {1000000000000}\r\n")
                .hang(),
            Fault::HugeLine => script.send(huge_line(b"* 1 FETCH (UID 1 X-HUGE ")).hang(),
            Fault::Trickle => script.trickle(
                "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n".repeat(4),
                Duration::from_millis(500),
            ),
            Fault::Silent => script.hang(),
        }
    }

    /// POP3 has no BYE: its closest is `-ERR` and a close. A multi-line body exists only
    /// after a multi-line command; elsewhere `DropMidLiteral` is a drop mid-line.
    fn pop3(self, script: Script, multiline: bool) -> Script {
        match self {
            Fault::Drop => script.close(),
            Fault::DropMidLiteral if multiline => {
                script.send_partial_then_close("+OK message follows\r\nSubject: cut off\r\n")
            }
            Fault::DropMidLine | Fault::DropMidLiteral => script.send_partial_then_close("+OK 2 3"),
            Fault::Bye => script.send_line("-ERR [SYS/PERM] shutting down").close(),
            Fault::Garbage => script.send("\x00\x01garbage \u{fffd}\r\n").hang(),
            // POP3 has no literals: the same as a line over the limit.
            Fault::HugeLiteral | Fault::HugeLine => script.send(huge_line(b"+OK ")).hang(),
            Fault::Trickle => script.trickle("+OK 2 320\r\n", Duration::from_millis(500)),
            Fault::Silent => script.hang(),
        }
    }

    /// Whether `err` is an acceptable typed error for this fault.
    fn accepts(self, err: &Error, stage_is_multiline: bool) -> bool {
        match self {
            Fault::Drop | Fault::DropMidLine | Fault::DropMidLiteral => {
                matches!(err, Error::Closed { .. } | Error::Io { .. })
            }
            Fault::Bye => matches!(
                err,
                Error::Server {
                    status: ServerStatus::Bye | ServerStatus::Err,
                    ..
                } | Error::Closed { .. }
            ),
            // POP3 has no BYE: `-ERR` and a close; the close is seen by the next call.
            Fault::Garbage => matches!(err, Error::Protocol { .. }),
            Fault::HugeLiteral | Fault::HugeLine => matches!(err, Error::LimitExceeded { .. }),
            Fault::Trickle => {
                matches!(err, Error::Timeout { .. })
                    || (stage_is_multiline && matches!(err, Error::Protocol { .. }))
            }
            Fault::Silent => matches!(err, Error::Timeout { .. }),
        }
    }
}

fn huge_line(prefix: &[u8]) -> Vec<u8> {
    let mut line = prefix.to_vec();
    line.resize(MAX_LINE + 4096, b'x');
    line
}

fn config(server: &ScriptServer, tls: bool, pop3: bool) -> Config {
    let mut builder = Config::builder("127.0.0.1")
        .login("user", "secret")
        .timeouts(DEADLINE)
        .max_line_length(MAX_LINE)
        .retry(RetryPolicy::none());
    builder = if pop3 {
        builder.pop3_port(server.port())
    } else {
        builder.port(server.port())
    };
    builder = if tls {
        builder
            .security(Security::Tls)
            .tls_server_name("localhost")
            .add_root_certificate_pem(test_cert().cert_pem.clone())
    } else {
        builder.security(Security::Plain)
    };
    builder.build().unwrap()
}

fn start(tls: bool, script: impl Fn(usize) -> Script + Send + Sync + 'static) -> ScriptServer {
    if tls {
        ScriptServer::start_tls(script)
    } else {
        ScriptServer::start(script)
    }
}

/// Threads of this process whose name marks them as the library's.
fn library_threads() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|name| name.starts_with("mailwire"))
        .count()
}

/// Checks one outcome: an error of the right kind, within 2× the deadline (2× the connect
/// plus the read deadline when connecting).
fn check<T: std::fmt::Debug>(
    case: &str,
    fault: Fault,
    multiline: bool,
    started: Instant,
    result: mailwire::Result<T>,
    failures: &mut Vec<String>,
) -> bool {
    let took = started.elapsed();
    match result {
        Ok(v) => {
            failures.push(format!("{case}: {fault:?} succeeded: {v:?}"));
            false
        }
        Err(err) => {
            // A BYE in answer to the credentials is an authentication failure (never
            // retried: a retry would send the password again).
            let accepted = if case.starts_with("imap")
                && case.contains("connect login")
                && fault == Fault::Bye
            {
                matches!(err, Error::Auth { .. }) && !err.is_transient()
            } else {
                fault.accepts(&err, multiline)
            };
            if !accepted {
                failures.push(format!(
                    "{case}: {fault:?} gave an unexpected error: {err:?}"
                ));
            }
            // Connecting has two deadlines in a row: the connect deadline (TCP and the TLS
            // handshake) and the read deadline (the greeting, then the login): 2× their sum.
            let limit = if case.contains(" connect ") {
                4 * DEADLINE
            } else {
                2 * DEADLINE
            };
            if took > limit {
                failures.push(format!("{case}: {fault:?} took {took:?} (limit {limit:?})"));
            }
            true
        }
    }
}

// ------------------------------------------------------------------------------------------
// IMAP
// ------------------------------------------------------------------------------------------

const CAPS: &str = "IMAP4rev1 IDLE UIDPLUS";

fn imap_logged_in() -> Script {
    Script::new()
        .send_line(&format!("* OK [CAPABILITY {CAPS}] scripted"))
        .expect_contains("LOGIN")
        .reply_tagged(&format!("OK [CAPABILITY {CAPS}] in"))
}

fn imap_selected() -> Script {
    imap_logged_in()
        .expect(|l| l.contains("SELECT") || l.contains("EXAMINE"))
        .send("* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 4] ok\r\n")
        .reply_tagged("OK [READ-WRITE] done")
}

type ImapOp = fn(&ImapConnection) -> mailwire::Result<String>;

/// The public methods a fault can hit after login, and whether they select a folder first.
fn imap_ops() -> Vec<(&'static str, bool, ImapOp)> {
    vec![
        ("noop", false, |c| c.noop().map(|v| format!("{v:?}"))),
        ("list_folders", false, |c| {
            c.list_folders().map(|v| format!("{v:?}"))
        }),
        ("folder_status", false, |c| {
            c.folder_status("INBOX").map(|v| format!("{v:?}"))
        }),
        ("select", false, |c| {
            c.select("INBOX").map(|v| format!("{v:?}"))
        }),
        ("search", true, |c| {
            c.search("INBOX", &SearchQuery::all())
                .map(|v| format!("{v:?}"))
        }),
        ("fetch_messages", true, |c| {
            c.fetch_messages("INBOX", &[1, 2]).map(|v| format!("{v:?}"))
        }),
        ("add_flags", true, |c| {
            c.mark_as_read("INBOX", &[1]).map(|v| format!("{v:?}"))
        }),
        ("append", false, |c| {
            c.append("INBOX", b"Subject: x\r\n\r\nbody\r\n", &[], None)
                .map(|v| format!("{v:?}"))
        }),
    ]
}

/// Faults before the greeting and during LOGIN, through `ImapConnection::connect`.
fn imap_connect_table(tls: bool, failures: &mut Vec<String>) {
    per_fault(failures, |fault, failures| {
        for during_login in [false, true] {
            let server = start(tls, move |_| {
                let script = if during_login {
                    Script::new()
                        .send_line(&format!("* OK [CAPABILITY {CAPS}] scripted"))
                        .expect_contains("LOGIN")
                } else {
                    Script::new()
                };
                fault.imap(script)
            });
            let case = format!(
                "imap tls={tls} connect {}",
                if during_login { "login" } else { "greeting" }
            );
            let started = Instant::now();
            let result = ImapConnection::connect(&config(&server, tls, false));
            check(&case, fault, true, started, result, failures);
        }
    });
}

/// Faults after the command of each public method.
fn imap_method_table(tls: bool, failures: &mut Vec<String>) {
    // Over TLS, the methods whose reads differ (plain response, streamed literal, literal
    // upload); the plain table covers every method.
    per_fault(failures, |fault, failures| {
        let ops = imap_ops()
            .into_iter()
            .filter(|(name, ..)| !tls || ["noop", "fetch_messages", "append"].contains(name));
        for (name, selects, op) in ops {
            let server = start(tls, move |_| {
                let base = if selects {
                    imap_selected()
                } else {
                    imap_logged_in()
                };
                fault.imap(base.expect_any())
            });
            let conn = ImapConnection::connect(&config(&server, tls, false)).unwrap();
            let case = format!("imap tls={tls} {name}");
            let started = Instant::now();
            if check(&case, fault, true, started, op(&conn), failures) && !conn.is_broken() {
                failures.push(format!("{case}: {fault:?}: connection not marked broken"));
            }
            // A broken connection fails fast afterwards (or reconnects), never hangs.
            let started = Instant::now();
            let _ = conn.noop();
            if started.elapsed() > 2 * DEADLINE {
                failures.push(format!(
                    "{case}: {fault:?}: the next call took {:?}",
                    started.elapsed()
                ));
            }
        }
    });
}

/// Runs `body` for every fault, the faults in parallel (each case mostly waits on the
/// scripted server), and collects the failures.
fn per_fault(failures: &mut Vec<String>, body: impl Fn(Fault, &mut Vec<String>) + Sync) {
    let body = &body;
    let found: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ALL_FAULTS
            .iter()
            .map(|&fault| {
                scope.spawn(move || {
                    let mut found = Vec::new();
                    body(fault, &mut found);
                    found
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    failures.extend(found.into_iter().flatten());
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn imap_connect_faults_plain() {
    let mut failures = Vec::new();
    imap_connect_table(false, &mut failures);
    report(failures);
}

#[test]
fn imap_connect_faults_tls() {
    let mut failures = Vec::new();
    imap_connect_table(true, &mut failures);
    report(failures);
}

#[test]
fn imap_method_faults_plain() {
    let mut failures = Vec::new();
    imap_method_table(false, &mut failures);
    report(failures);
}

#[test]
fn imap_method_faults_tls() {
    let mut failures = Vec::new();
    imap_method_table(true, &mut failures);
    report(failures);
}

#[test]
fn imap_pipelined_batch_dropped_between_responses() {
    // fetch_messages of many UIDs: the connection drops after the first response.
    for tls in [false, true] {
        let server = start(tls, |_| {
            imap_selected()
                .expect_contains("UID FETCH")
                .send("* 1 FETCH (UID 1 RFC822.SIZE 3 BODY[] {3}\r\nabc)\r\n")
                .close()
        });
        let conn = ImapConnection::connect(&config(&server, tls, false)).unwrap();
        let started = Instant::now();
        let result = conn.fetch_messages("INBOX", &[1, 2, 3]);
        let mut failures = Vec::new();
        check(
            "imap pipelined",
            Fault::Drop,
            true,
            started,
            result,
            &mut failures,
        );
        assert!(conn.is_broken());
        report(failures);
    }
}

#[test]
fn imap_handler_discards_a_connection_broken_by_a_fault() {
    for fault in [
        Fault::Drop,
        Fault::Bye,
        Fault::Garbage,
        Fault::HugeLiteral,
        Fault::Silent,
    ] {
        // Connection 0 breaks on its first command after login; later ones work.
        let server = ScriptServer::start(move |i| {
            if i == 0 {
                fault.imap(imap_logged_in().expect_any())
            } else {
                imap_logged_in()
                    .expect_contains("LIST")
                    .send_line("* LIST () \"/\" INBOX")
                    .reply_tagged("OK listed")
                    .expect_contains("LSUB")
                    .reply_tagged("OK none")
                    .read_until_closed()
            }
        });
        let account = config(&server, false, false);
        let handler = ImapHandler::with_options(PoolOptions::new().max_per_account(1)).unwrap();
        let started = Instant::now();
        let result = handler.list_folders(&account);
        let mut failures = Vec::new();
        check(
            "ImapHandler::list_folders",
            fault,
            true,
            started,
            result,
            &mut failures,
        );
        report(failures);
        let stats = handler.stats(&account);
        assert_eq!(
            stats.idle, 0,
            "{fault:?}: broken connection kept: {stats:?}"
        );
        // The next call gets a fresh connection that works.
        let folders = handler.list_folders(&account).unwrap();
        assert_eq!(folders.len(), 1, "{fault:?}");
        assert_eq!(server.connections(), 2, "{fault:?}");
        handler.disconnect_all();
    }
}

fn wait_for(
    events: &crossbeam_channel::Receiver<IdleEvent>,
    within: Duration,
    pred: impl Fn(&IdleEvent) -> bool,
) -> Option<IdleEvent> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(e) if pred(&e) => return Some(e),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

fn idle_opening() -> Script {
    imap_logged_in()
        .expect(|l| l.contains("SELECT") || l.contains("EXAMINE"))
        .send("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n")
        .reply_tagged("OK [READ-ONLY] done")
        // The listing of UIDs and flags the listener keeps (and compares after a
        // reconnect).
        .expect(|l| l.contains("UID FETCH 1:* (UID FLAGS)"))
        .send_line("* 1 FETCH (UID 1 FLAGS ())")
        .reply_tagged("OK listed")
        .expect(|l| l.ends_with(" IDLE"))
        .send_line("+ idling")
}

#[test]
fn idle_listener_reconnects_after_each_fault() {
    let before = library_threads();
    for fault in [
        Fault::Drop,
        Fault::Bye,
        Fault::Garbage,
        Fault::HugeLiteral,
        Fault::HugeLine,
    ] {
        let server = ScriptServer::start(move |i| {
            if i == 0 {
                fault.imap(idle_opening().sleep(Duration::from_millis(100)))
            } else {
                idle_opening().read_until_closed()
            }
        });
        let listener = IdleListener::builder(config(&server, false, false))
            .spawn()
            .unwrap();
        let event = wait_for(&listener.events(), 10 * DEADLINE, |e| {
            matches!(e, IdleEvent::Reconnected { .. })
        });
        assert!(event.is_some(), "{fault:?}: no reconnect");
        assert!(listener.is_running(), "{fault:?}");
        // `Reconnected` comes before the new IDLE the script expects.
        server.wait_received(1, "IDLE", 10 * DEADLINE);
        listener.stop();
        assert!(!listener.is_running(), "{fault:?}");
    }
    // Every listener thread has ended.
    let deadline = Instant::now() + Duration::from_secs(2);
    while library_threads() > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(library_threads() <= before, "listener threads left behind");
}

#[test]
fn failed_tls_handshake_is_a_typed_error_in_time() {
    // A plaintext server on a TLS connection, a server that never answers the handshake, and
    // a TLS server whose certificate is not trusted.
    let cases: Vec<(&str, ScriptServer, bool)> = vec![
        (
            "plaintext reply",
            ScriptServer::start(|_| Script::new().send_line("* OK not TLS at all").hang()),
            false,
        ),
        (
            "silent",
            ScriptServer::start(|_| Script::new().hang()),
            false,
        ),
        (
            "untrusted",
            ScriptServer::start_tls(|_| Script::new().send_line("* OK hi").hang()),
            true,
        ),
    ];
    for (name, server, untrusted) in cases {
        let mut builder = Config::builder("127.0.0.1")
            .port(server.port())
            .pop3_port(server.port())
            .security(Security::Tls)
            .login("user", "secret")
            .timeouts(DEADLINE)
            .retry(RetryPolicy::none());
        if !untrusted {
            builder = builder.add_root_certificate_pem(test_cert().cert_pem.clone());
        }
        let cfg = builder.build().unwrap();
        let started = Instant::now();
        let imap = ImapConnection::connect(&cfg);
        assert!(
            matches!(
                imap,
                Err(Error::Tls { .. } | Error::Timeout { .. } | Error::Closed { .. })
            ),
            "{name}: {imap:?}"
        );
        let pop = Pop3Handler::connect(&cfg);
        assert!(
            matches!(
                pop,
                Err(Error::Tls { .. } | Error::Timeout { .. } | Error::Closed { .. })
            ),
            "{name}: {:?}",
            pop.map(|_| ())
        );
        if untrusted {
            assert!(matches!(imap, Err(Error::Tls { .. })), "{name}: {imap:?}");
        }
        assert!(
            started.elapsed() < 4 * DEADLINE,
            "{name}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn starttls_with_injected_plaintext_is_refused() {
    // The server answers STARTTLS and, in the same packet, a forged response meant to be
    // read as if it came over TLS.
    let imap = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi")
            .expect_contains("STARTTLS")
            .send("A1 OK begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n")
            .starttls()
            .read_until_closed()
    });
    let pop = ScriptServer::start(|_| {
        Script::new()
            .send_line("+OK hi")
            .expect_line("CAPA")
            .send("+OK\r\nSTLS\r\nUSER\r\n.\r\n")
            .expect_line("STLS")
            .send("+OK begin TLS\r\n+OK injected\r\n")
            .starttls()
            .read_until_closed()
    });
    for (server, is_pop) in [(&imap, false), (&pop, true)] {
        let cfg = Config::builder("127.0.0.1")
            .port(server.port())
            .pop3_port(server.port())
            .security(Security::StartTls)
            .tls_server_name("localhost")
            .add_root_certificate_pem(test_cert().cert_pem.clone())
            .login("user", "secret")
            .timeouts(DEADLINE)
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let result = if is_pop {
            Pop3Handler::connect(&cfg).map(|_| ())
        } else {
            ImapConnection::connect(&cfg).map(|_| ())
        };
        assert!(
            matches!(result, Err(Error::Protocol { .. })),
            "pop={is_pop}: {result:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
        let sent = server.received_all();
        assert!(
            !sent.iter().any(|l| l.contains("secret")
                || l.contains("LOGIN")
                || l.contains("PASS")
                || l.contains("AUTH")),
            "credentials sent after a failed STARTTLS: {sent:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// POP3
// ------------------------------------------------------------------------------------------

const POP_CAPA: &str = "+OK\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n.\r\n";

fn pop3_logged_in() -> Script {
    Script::new()
        .send_line("+OK ready")
        .expect_line("CAPA")
        .send(POP_CAPA)
        .expect_line("USER user")
        .send_line("+OK")
        .expect_line("PASS secret")
        .send_line("+OK logged in")
        .expect_line("CAPA")
        .send(POP_CAPA)
}

type PopOp = fn(&Pop3Handler) -> mailwire::Result<String>;

fn pop3_ops() -> Vec<(&'static str, bool, PopOp)> {
    vec![
        ("stat", false, |p| p.stat().map(|v| format!("{v:?}"))),
        ("list", true, |p| p.list().map(|v| format!("{v:?}"))),
        ("uidl", true, |p| p.uidl().map(|v| format!("{v:?}"))),
        ("fetch_message", true, |p| {
            p.fetch_message(1).map(|v| format!("{v:?}"))
        }),
        ("fetch_headers", true, |p| {
            p.fetch_headers(1, 0).map(|v| format!("{v:?}"))
        }),
        ("delete_message", false, |p| {
            p.delete_message(1).map(|v| format!("{v:?}"))
        }),
        ("noop", false, |p| p.noop().map(|v| format!("{v:?}"))),
    ]
}

fn pop3_connect_table(tls: bool, failures: &mut Vec<String>) {
    per_fault(failures, |fault, failures| {
        // Before the greeting and during the login.
        for during_login in [false, true] {
            let server = start(tls, move |_| {
                let script = if during_login {
                    Script::new()
                        .send_line("+OK ready")
                        .expect_line("CAPA")
                        .send(POP_CAPA)
                        .expect_line("USER user")
                } else {
                    Script::new()
                };
                fault.pop3(script, false)
            });
            let case = format!("pop3 tls={tls} connect login={during_login}");
            let started = Instant::now();
            let result = Pop3Handler::connect(&config(&server, tls, true)).map(|_| ());
            check(&case, fault, true, started, result, failures);
        }
    });
}

fn pop3_method_table(tls: bool, failures: &mut Vec<String>) {
    per_fault(failures, |fault, failures| {
        let ops = pop3_ops()
            .into_iter()
            .filter(|(name, ..)| !tls || ["stat", "fetch_message"].contains(name));
        for (name, multiline, op) in ops {
            let server = start(tls, move |_| {
                fault.pop3(pop3_logged_in().expect_any(), multiline)
            });
            let pop = Pop3Handler::connect(&config(&server, tls, true)).unwrap();
            let case = format!("pop3 tls={tls} {name}");
            let started = Instant::now();
            let errored = check(&case, fault, multiline, started, op(&pop), failures);
            // After `-ERR` the server's close is only seen by the next call, which must fail
            // fast and leave the connection broken.
            let started = Instant::now();
            let next = pop.noop();
            if started.elapsed() > 2 * DEADLINE {
                failures.push(format!(
                    "{case}: {fault:?}: the next call took {:?}",
                    started.elapsed()
                ));
            }
            if errored && (next.is_ok() || !pop.is_broken()) {
                failures.push(format!(
                    "{case}: {fault:?}: connection not marked broken ({next:?})"
                ));
            }
        }
    });
}

#[test]
fn pop3_connect_faults() {
    let mut failures = Vec::new();
    pop3_connect_table(false, &mut failures);
    pop3_connect_table(true, &mut failures);
    report(failures);
}

#[test]
fn pop3_method_faults_plain() {
    let mut failures = Vec::new();
    pop3_method_table(false, &mut failures);
    report(failures);
}

#[test]
fn pop3_method_faults_tls() {
    let mut failures = Vec::new();
    pop3_method_table(true, &mut failures);
    report(failures);
}

#[test]
fn pop3_pipelined_batch_dropped_between_responses() {
    for tls in [false, true] {
        let server = start(tls, |_| {
            pop3_logged_in()
                .expect_line("RETR 1")
                .expect_line("RETR 2")
                .expect_line("RETR 3")
                .send("+OK\r\nSubject: 1\r\n\r\none\r\n.\r\n")
                .close()
        });
        let pop = Pop3Handler::connect(&config(&server, tls, true)).unwrap();
        let started = Instant::now();
        let result = pop.fetch_messages(&[1, 2, 3]);
        let mut failures = Vec::new();
        check(
            "pop3 pipelined",
            Fault::Drop,
            true,
            started,
            result,
            &mut failures,
        );
        report(failures);
        assert!(pop.is_broken());
    }
}
