//! A hostile IMAP server, scripted: what it sends cannot abort the process, grow memory
//! without bound or stretch a deadline, and a BYE to the credentials is never retried.
//! Every bound is asserted through a typed error (and generous time bounds, never speeds).

mod support;

use std::time::{Duration, Instant};

use mailwire::imap::ImapConnection;
use mailwire::{Config, ConfigBuilder, Error, MemoryBudget, RetryPolicy, Security};
use support::assert_within;
use support::script_server::{Script, ScriptServer};

const GREETING: &str = "* OK [CAPABILITY IMAP4rev1 IDLE] hostile server ready";

fn config(port: u16) -> ConfigBuilder {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("alice", "secret")
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
}

/// A connection to `server` with a 1 s read timeout.
fn connect_impatient(server: &ScriptServer) -> ImapConnection {
    ImapConnection::connect(
        &config(server.port())
            .read_timeout(Duration::from_secs(1))
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// Greets and accepts LOGIN, then runs `then`.
fn logged_in(then: Script) -> Script {
    Script::new()
        .send_line(GREETING)
        .expect_contains("LOGIN")
        .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE] logged in")
        .then(then)
}

#[test]
fn untagged_lines_trickled_cannot_stretch_a_command() {
    // Each line completes well within the read timeout; together they trickle at 20 B/s.
    let server = ScriptServer::start(|_| {
        logged_in(
            Script::new()
                .expect_contains("NOOP")
                .trickle("* 1 EXISTS\r\n".repeat(100), Duration::from_millis(50))
                .reply_tagged("OK done"),
        )
    });
    let conn = connect_impatient(&server);
    let started = Instant::now();
    let err = conn.noop().unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("min_transfer_rate"), "{err}");
    assert_within(started, Duration::from_secs(3), "a trickled NOOP answer");
}

#[test]
fn a_trickled_literal_cannot_stretch_a_fetch() {
    let server = ScriptServer::start(|_| {
        logged_in(
            Script::new()
                .expect_contains("NOOP")
                .send("* 1 FETCH (UID 1 BODY[] {100000}\r\n")
                .trickle("x".repeat(1000), Duration::from_millis(20)),
        )
    });
    let conn = connect_impatient(&server);
    let started = Instant::now();
    let err = conn.noop().unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_within(started, Duration::from_secs(3), "a trickled literal");
}

#[test]
fn a_literal_at_a_real_rate_outlasts_the_read_timeout() {
    // 150 KiB in 1.5 s at ~100 KiB/s, with a 500 ms read timeout: the windows stay full.
    let chunk = "y".repeat(1024);
    let mut body = Script::new()
        .expect_contains("NOOP")
        .send("* 1 FETCH (UID 1 BODY[] {153600}\r\n");
    for _ in 0..15 {
        body = body
            .send(chunk.repeat(10))
            .sleep(Duration::from_millis(100));
    }
    let body = body.send(")\r\n").reply_tagged("OK done");
    let server = ScriptServer::start(move |_| logged_in(body.clone()));
    let conn = ImapConnection::connect(
        &config(server.port())
            .read_timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    )
    .unwrap();
    conn.noop().unwrap();
}

#[test]
fn connect_is_bounded_by_the_connect_timeout_as_a_whole() {
    // Greeting and login answer trickle: each byte long before the read timeout.
    let server = ScriptServer::start(|_| {
        Script::new()
            .trickle(format!("{GREETING}\r\n"), Duration::from_millis(150))
            .expect_contains("LOGIN")
            .trickle("* OK still checking\r\n", Duration::from_millis(150))
    });
    let started = Instant::now();
    let err = ImapConnection::connect(
        &config(server.port())
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("connecting"), "{err}");
    assert_within(
        started,
        Duration::from_secs(3),
        "connect to a trickling server",
    );
}

#[test]
fn logout_waits_at_most_a_second_whatever_the_server_does() {
    for trickle in [false, true] {
        let server = ScriptServer::start(move |_| {
            let after = Script::new().expect_contains("LOGOUT");
            logged_in(if trickle {
                after.trickle("* BYE ".repeat(200), Duration::from_millis(100))
            } else {
                after.hang()
            })
        });
        let conn = ImapConnection::connect(&config(server.port()).build().unwrap()).unwrap();
        let started = Instant::now();
        conn.logout();
        assert_within(
            started,
            Duration::from_millis(1600),
            if trickle {
                "logout from a trickling server"
            } else {
                "logout from a silent server"
            },
        );
    }
}

#[test]
fn endless_untagged_responses_to_one_command_are_refused() {
    let flood = "* 1 EXISTS\r\n".repeat(20_000);
    // By count…
    let server = ScriptServer::start({
        let flood = flood.clone();
        move |_| {
            logged_in(
                Script::new()
                    .expect_contains("NOOP")
                    .send(flood.clone())
                    .reply_tagged("OK done"),
            )
        }
    });
    let conn = ImapConnection::connect(
        &config(server.port())
            .max_untagged(1_000, 64 << 20)
            .build()
            .unwrap(),
    )
    .unwrap();
    match conn.noop().unwrap_err() {
        Error::LimitExceeded { what, limit } => {
            assert!(what.contains("untagged"), "{what}");
            assert_eq!(limit, 1_000);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        conn.noop().is_err(),
        "the connection is broken after a limit"
    );
    // …and by bytes.
    let server = ScriptServer::start(move |_| {
        logged_in(
            Script::new()
                .expect_contains("NOOP")
                .send(flood.clone())
                .reply_tagged("OK done"),
        )
    });
    let conn = ImapConnection::connect(
        &config(server.port())
            .max_untagged(10_000_000, 16 * 1024)
            .build()
            .unwrap(),
    )
    .unwrap();
    match conn.noop().unwrap_err() {
        Error::LimitExceeded { what, limit } => {
            assert!(what.contains("bytes of untagged"), "{what}");
            assert_eq!(limit, 16 * 1024);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn many_literals_in_one_response_are_bounded_by_the_response_size() {
    let literal = format!("BODY[1] {{1024}}\r\n{} ", "z".repeat(1024));
    let many = format!("* 1 FETCH (UID 1 {})\r\n", literal.repeat(200));
    let empty = format!("* 1 FETCH (UID 1 X {})\r\n", " {0}\r\n".repeat(50_000));
    for (name, response) in [("1 KiB literals", many), ("empty literals", empty)] {
        let server = ScriptServer::start(move |_| {
            logged_in(
                Script::new()
                    .expect_contains("NOOP")
                    .send(response.clone())
                    .reply_tagged("OK done"),
            )
        });
        let conn = ImapConnection::connect(
            &config(server.port())
                .max_literal_size(2048)
                .max_response_size(64 * 1024)
                .build()
                .unwrap(),
        )
        .unwrap();
        match conn.noop().unwrap_err() {
            Error::LimitExceeded { what, limit } => {
                assert!(what.contains("one response"), "{name}: {what}");
                assert_eq!(limit, 64 * 1024, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(
            conn.peak_buffered_bytes() < 64 * 1024 + 128 * 1024,
            "{name}: {} bytes held",
            conn.peak_buffered_bytes()
        );
    }
}

#[test]
fn a_bye_in_answer_to_login_or_authenticate_is_an_auth_failure_never_retried() {
    for (caps, command) in [
        ("IMAP4rev1", "LOGIN"),
        ("IMAP4rev1 AUTH=PLAIN", "AUTHENTICATE"),
    ] {
        let server = ScriptServer::start(move |_| {
            Script::new()
                .send_line(&format!("* OK [CAPABILITY {caps}] ready"))
                .expect_contains(command)
                .send_line("* BYE too many login attempts")
                .close()
        });
        let err = ImapConnection::connect(
            &config(server.port())
                .retry(RetryPolicy::new(3, Duration::from_millis(10)))
                .build()
                .unwrap(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{command}: {err:?}");
        assert!(!err.is_transient(), "{command}: {err:?}");
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            server.connections(),
            1,
            "{command}: the password was sent once only"
        );
    }
}

#[test]
fn a_shared_memory_budget_fails_the_command_that_needs_more_not_the_others() {
    let budget = MemoryBudget::new(1 << 20);
    let big = format!(
        "* 1 FETCH (UID 1 BODY[] {{2000000}}\r\n{})\r\n",
        "b".repeat(2_000_000)
    );
    let server = ScriptServer::start(move |i| {
        let answer = if i == 0 {
            Script::new()
                .expect_contains("NOOP")
                .send(big.clone())
                .reply_tagged("OK done")
        } else {
            Script::new()
                .expect_contains("NOOP")
                .reply_tagged("OK done")
                .read_until_closed()
        };
        logged_in(answer)
    });
    let config = config(server.port())
        .memory_budget(&budget)
        .build()
        .unwrap();
    let greedy = ImapConnection::connect(&config).unwrap();
    let modest = ImapConnection::connect(&config).unwrap();
    let held_by_two = budget.used();
    assert!(held_by_two > 0, "the read buffers are counted");
    match greedy.noop().unwrap_err() {
        Error::LimitExceeded { what, limit } => {
            assert!(what.contains("memory budget"), "{what}");
            assert_eq!(limit, 1 << 20);
        }
        other => panic!("{other:?}"),
    }
    modest.noop().unwrap();
    assert!(
        budget.peak() <= 1 << 20,
        "peak {} over the budget",
        budget.peak()
    );
    drop(greedy);
    assert!(
        budget.used() <= held_by_two,
        "{} held after the greedy connection is gone",
        budget.used()
    );
}

/// Logged in, `EXAMINE` answered, the first IDLE started (tags A1 LOGIN, A2 EXAMINE, A3 IDLE)
/// in an empty folder, or, with `known` messages (UIDs 1 to `known`), after the listing of
/// their UIDs and flags the listener keeps (A3; the IDLE is then A4).
fn idling(known: u32, then: Script) -> Script {
    let mut examine = Script::new()
        .expect_contains("EXAMINE")
        .send_line("* OK [UIDVALIDITY 7] ok")
        .send_line("* OK [UIDNEXT 100] ok");
    if known > 0 {
        let listing: String = (1..=known)
            .map(|n| format!("* {n} FETCH (UID {n} FLAGS ())\r\n"))
            .collect();
        examine = examine
            .send_line(&format!("* {known} EXISTS"))
            .reply_tagged("OK [READ-ONLY] done")
            .expect_contains("UID FETCH 1:* (UID FLAGS)")
            .send(listing)
            .reply_tagged("OK listed");
    } else {
        examine = examine.reply_tagged("OK [READ-ONLY] done");
    }
    logged_in(examine.expect_contains("IDLE").send_line("+ idling")).then(then)
}

#[test]
fn a_listener_nobody_reads_holds_its_channel_capacity_and_callbacks_see_everything() {
    use mailwire::imap::{IdleEvent, IdleListener};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const CHANGES: u32 = 50;
    let flood: String = (1..=CHANGES)
        .map(|n| format!("* {n} FETCH (UID {n} FLAGS (\\Seen))\r\n"))
        .collect();
    let server = ScriptServer::start(move |_| {
        idling(
            CHANGES,
            Script::new()
                .send(flood.clone())
                .expect_line("DONE")
                .send_line("A4 OK idle done")
                .expect_contains("IDLE")
                .send_line("+ idling")
                .hang(),
        )
    });
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let listener = IdleListener::builder(config(server.port()).build().unwrap())
        .channel_capacity(8)
        .on_event(move |e| {
            if matches!(e, IdleEvent::FlagsChanged { .. }) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .spawn()
        .unwrap();
    let started = Instant::now();
    while seen.load(Ordering::SeqCst) < CHANGES as usize
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        CHANGES as usize,
        "callbacks see every event"
    );
    let events = listener.events();
    assert!(events.len() <= 8, "{} events held", events.len());
    let held: Vec<IdleEvent> = events.try_iter().collect();
    let dropped: u64 = held
        .iter()
        .map(|e| match e {
            IdleEvent::Lagged { dropped } => *dropped,
            _ => 0,
        })
        .sum();
    let kept = held
        .iter()
        .filter(|e| matches!(e, IdleEvent::FlagsChanged { .. }))
        .count() as u64;
    assert_eq!(dropped + kept, u64::from(CHANGES), "{held:?}");
    assert!(dropped > 0, "{held:?}");

    // The server now idles silently: stopping does not wait for it.
    let started = Instant::now();
    listener.stop();
    assert_within(
        started,
        Duration::from_millis(1500),
        "stopping a listener on a silent server",
    );
}

#[test]
fn stopping_a_listener_is_quick_while_its_server_trickles_an_answer() {
    use mailwire::imap::IdleListener;

    let server = ScriptServer::start(|_| {
        idling(
            0,
            Script::new()
                .send_line("* 120 EXISTS")
                .expect_line("DONE")
                .send_line("A3 OK idle done")
                .expect_contains("UID FETCH 100:*")
                .trickle("* SEARCH".repeat(1000), Duration::from_millis(100)),
        )
    });
    let listener = IdleListener::builder(
        config(server.port())
            .read_timeout(Duration::from_secs(30))
            .min_transfer_rate(1)
            .build()
            .unwrap(),
    )
    .spawn()
    .unwrap();
    // Let the worker get into the trickled SEARCH (it holds its session meanwhile).
    let started = Instant::now();
    while !server.received_all().iter().any(|l| l.contains("SEARCH"))
        && started.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    drop(listener);
    assert_within(
        started,
        Duration::from_millis(1500),
        "dropping a listener mid-trickle",
    );
}

#[test]
fn a_trickled_message_cannot_stretch_fetch_to_writer() {
    let server = ScriptServer::start(|_| {
        logged_in(
            Script::new()
                .expect_contains("SELECT")
                .send_line("* 1 EXISTS")
                .send_line("* OK [UIDVALIDITY 1] v")
                .reply_tagged("OK [READ-WRITE] selected")
                .expect_contains("FETCH")
                .send("* 1 FETCH (UID 1 BODY[] {100000}\r\n")
                .trickle("w".repeat(1000), Duration::from_millis(20)),
        )
    });
    let conn = connect_impatient(&server);
    let started = Instant::now();
    let err = conn
        .fetch_to_writer("INBOX", 1, &mut std::io::sink())
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_within(
        started,
        Duration::from_secs(3),
        "a trickled streamed literal",
    );
}

#[test]
fn clearing_a_pool_does_not_wait_for_a_server_that_ignores_logout() {
    use mailwire::imap::ImapPool;

    let server = ScriptServer::start(|_| logged_in(Script::new().expect_contains("LOGOUT").hang()));
    let config = config(server.port()).build().unwrap();
    let pool = ImapPool::new().unwrap();
    drop(pool.get(&config).unwrap()); // back to the idle list, alive
    let started = Instant::now();
    pool.clear(&config); // closes it: LOGOUT, which the server never answers
    assert_within(
        started,
        Duration::from_millis(2500),
        "closing a pooled connection",
    );
}

#[test]
fn a_tls_record_trickled_inside_the_handshake_cannot_stretch_connect() {
    use std::io::Write;
    use std::net::TcpListener;

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else {
            return;
        };
        // A handshake record announcing 16 KiB, then its bytes one by one: the TLS layer
        // reads on and on inside one record.
        let _ = socket.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00]);
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(100));
            if socket.write_all(&[0x02]).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let err = ImapConnection::connect(
        &config(port)
            .security(Security::Tls)
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_within(started, Duration::from_secs(3), "a trickled TLS handshake");
    let _ = server.join();
}

#[test]
fn a_server_that_stops_reading_cannot_hold_a_write() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready")
            .expect_contains("LOGIN")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 LITERAL+] logged in")
            .hang() // never reads again: the kernel buffers fill up
    });
    let conn = ImapConnection::connect(
        &config(server.port())
            .write_timeout(Duration::from_secs(1))
            .min_transfer_rate(64 << 20)
            .build()
            .unwrap(),
    )
    .unwrap();
    let message = [b"Subject: big\r\n\r\n".as_slice(), &vec![b'a'; 64 << 20]].concat();
    let started = Instant::now();
    let err = conn.append("INBOX", &message, &[], None).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // write timeout 1 s + 64 MiB at 64 MiB/s = 2 s
    assert_within(
        started,
        Duration::from_secs(4),
        "a write to a server that stopped reading",
    );
}

#[test]
fn with_retries_connecting_takes_at_most_the_attempts_times_the_connect_timeout() {
    let server = ScriptServer::start(|_| {
        Script::new().trickle(format!("{GREETING}\r\n"), Duration::from_millis(150))
    });
    let started = Instant::now();
    let err = ImapConnection::connect(
        &config(server.port())
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(20))
            .retry(RetryPolicy::new(2, Duration::from_millis(100)))
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(server.connections(), 2);
    // 2 × 1 s + a 100 ms (±25 %) backoff delay
    assert_within(
        started,
        Duration::from_millis(3500),
        "two trickled connect attempts",
    );
}

fn exists_lines(from: u32, to: u32) -> String {
    (from..=to).map(|n| format!("* {n} EXISTS\r\n")).collect()
}

fn last_exists(queued: &[mailwire::imap::types::Untagged]) -> Option<u32> {
    match queued.last() {
        Some(mailwire::imap::types::Untagged::Exists(n)) => Some(*n),
        _ => None,
    }
}

#[test]
fn the_queue_of_unsolicited_responses_keeps_the_newest_within_its_bounds() {
    // By count: 15,000 in one answer, the newest 10,000 kept.
    let server = ScriptServer::start(|_| {
        logged_in(
            Script::new()
                .expect_contains("NOOP")
                .send(exists_lines(1, 15_000))
                .reply_tagged("OK done")
                .read_until_closed(),
        )
    });
    let conn = ImapConnection::connect(&config(server.port()).build().unwrap()).unwrap();
    conn.noop().unwrap();
    let queued = conn.take_unsolicited();
    assert_eq!(queued.len(), 10_000);
    assert!(matches!(
        queued.first(),
        Some(mailwire::imap::types::Untagged::Exists(5_001))
    ));
    assert_eq!(last_exists(&queued), Some(15_000));

    // By bytes: ten answers of 1,000 lines (about 14 KB each) never read by the caller.
    let server = ScriptServer::start(|_| {
        let mut s = Script::new();
        for round in 0..10u32 {
            s = s
                .expect_contains("NOOP")
                .send(exists_lines(round * 1000 + 1, round * 1000 + 1000))
                .reply_tagged("OK done");
        }
        logged_in(s.read_until_closed())
    });
    let conn = ImapConnection::connect(
        &config(server.port())
            .max_untagged(1_000_000, 64 * 1024)
            .build()
            .unwrap(),
    )
    .unwrap();
    for _ in 0..10 {
        conn.noop().unwrap();
    }
    let queued = conn.take_unsolicited();
    let bytes: usize = (10_001 - queued.len() as u32..=10_000)
        .map(|n| format!("* {n} EXISTS\r\n").len())
        .sum();
    assert!(bytes <= 64 * 1024, "{} queued, {bytes} bytes", queued.len());
    assert!(queued.len() > 1000, "{} queued", queued.len());
    assert_eq!(last_exists(&queued), Some(10_000));
}

#[test]
fn stopping_a_listener_while_it_reconnects_cuts_the_connect_and_joins_the_thread() {
    use mailwire::imap::IdleListener;

    let server = ScriptServer::start(|i| {
        if i == 0 {
            idling(0, Script::new().send_line("* BYE going down").close())
        } else {
            // The reconnect: a greeting that trickles (the connect timeout is long).
            Script::new().trickle(format!("{GREETING}\r\n"), Duration::from_millis(200))
        }
    });
    let listener = IdleListener::builder(
        config(server.port())
            .connect_timeout(Duration::from_secs(30))
            .retry(RetryPolicy::new(3, Duration::from_millis(20)))
            .build()
            .unwrap(),
    )
    .spawn()
    .unwrap();
    let started = Instant::now();
    while server.connections() < 2 && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.connections(), 2, "the listener reconnects");
    std::thread::sleep(Duration::from_millis(300)); // inside the trickled greeting
    let started = Instant::now();
    listener.stop();
    // Well under the 900 ms after which stop() would stop waiting for the thread.
    assert_within(
        started,
        Duration::from_millis(800),
        "stopping a reconnecting listener",
    );
}

#[test]
fn one_tls_record_trickled_after_the_handshake_cannot_stretch_a_command() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The server's socket: once `slow` is set, every write (one TLS record) goes out a
    /// byte at a time, 20 ms apart.
    struct Trickling {
        tcp: TcpStream,
        slow: Arc<AtomicBool>,
    }
    impl Read for Trickling {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.tcp.read(buf)
        }
    }
    impl Write for Trickling {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if !self.slow.load(Ordering::SeqCst) {
                return self.tcp.write(buf);
            }
            for byte in buf {
                self.tcp.write_all(std::slice::from_ref(byte))?;
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.tcp.flush()
        }
    }

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        let slow = Arc::new(AtomicBool::new(false));
        let socket = Trickling {
            tcp,
            slow: Arc::clone(&slow),
        };
        let Ok(tls) = support::certs::test_cert().acceptor().accept(socket) else {
            return;
        };
        let mut tls = BufReader::new(tls);
        let mut line = String::new();
        let _ = tls
            .get_mut()
            .write_all(format!("{GREETING}\r\n").as_bytes());
        let _ = tls.read_line(&mut line); // LOGIN
        let tag = line.split(' ').next().unwrap_or("A1").to_string();
        let _ = tls
            .get_mut()
            .write_all(format!("{tag} OK [CAPABILITY IMAP4rev1] in\r\n").as_bytes());
        line.clear();
        let _ = tls.read_line(&mut line); // NOOP
        slow.store(true, Ordering::SeqCst);
        // One write, one record of about 4 KiB: 80 s at this pace.
        let _ = tls
            .get_mut()
            .write_all(format!("* OK {}\r\n", "x".repeat(4000)).as_bytes());
    });
    let conn = ImapConnection::connect(
        &config(port)
            .security(Security::Tls)
            .add_root_certificate_pem(support::certs::test_cert().cert_pem.clone())
            .read_timeout(Duration::from_secs(1))
            .build()
            .unwrap(),
    )
    .unwrap();
    let started = Instant::now();
    let err = conn.noop().unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_within(
        started,
        Duration::from_secs(3),
        "a TLS record trickled after the handshake",
    );
    drop(conn);
    let _ = server.join();
}

#[test]
fn dropping_a_connection_never_waits_for_the_server() {
    let server = ScriptServer::start(|_| logged_in(Script::new().hang()));
    let conn = ImapConnection::connect(&config(server.port()).build().unwrap()).unwrap();
    let started = Instant::now();
    drop(conn);
    assert_within(started, Duration::from_millis(200), "dropping a connection");
}
