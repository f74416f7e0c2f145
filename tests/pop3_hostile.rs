//! Hostile POP3 servers: every multi-line answer held in memory is bounded. Endless `CAPA`
//! (before `STLS`, so no certificate is needed to send it), `UIDL` and `LIST` answers of
//! every shape, a `UIDL` line of 100 MB, `TOP` / `RETR` / pipelined `RETR` that never end,
//! and numbers too large for their type each end with a typed error quickly, with the
//! memory held bounded by the configured limit, the connection broken and no `QUIT` sent.
//! A million-message `UIDL` still works with the default limits.

mod support;

use std::time::{Duration, Instant};

use mailwire::pop3::Pop3Handler;
use mailwire::{Config, Error, RetryPolicy, Security};
use support::hostile_pop3::{HostilePop3, Peer};

/// The read timeout of every test config; a hostile answer must end well within 3× this.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The small listing / message limit the tests set.
const LIMIT: u64 = 64 * 1024;
/// How much an "endless" answer sends before the server gives up (1,024× the limit).
const FLOOD: u64 = 64 << 20;
/// The transport's read buffer.
const READ_BUFFER: usize = 64 * 1024;

fn config(
    port: u16,
    security: Security,
    limits: impl FnOnce(mailwire::ConfigBuilder) -> mailwire::ConfigBuilder,
) -> Config {
    limits(
        Config::builder("127.0.0.1")
            .pop3_port(port)
            .security(security)
            .login("alice", "pw")
            .timeouts(READ_TIMEOUT)
            .retry(RetryPolicy::none()),
    )
    .build()
    .unwrap()
}

fn small_listing(port: u16) -> Config {
    config(port, Security::Plain, |b| b.max_listing_size(LIMIT))
}

/// Asserts a `LimitExceeded` with `limit`, whose text names `what`.
fn assert_limit<T: std::fmt::Debug>(result: mailwire::Result<T>, limit: u64, what: &str) {
    match result {
        Err(Error::LimitExceeded {
            what: got,
            limit: l,
        }) => {
            assert_eq!(l as u64, limit, "reported limit ({got})");
            assert!(got.contains(what), "{got:?} should name {what:?}");
        }
        other => {
            // Never the whole value: it may be a 100 MB unique id.
            let shown: String = format!("{other:?}").chars().take(300).collect();
            panic!("expected LimitExceeded for {what}, got {shown}")
        }
    }
}

/// The shapes an endless answer can take: many valid entry lines, blank lines (skipped by
/// the parsers, but received), dot-stuffed lines (malformed entries for `LIST` / `UIDL`:
/// the rest of the answer is discarded, but still counted), one line that never ends.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Entries,
    BlankLines,
    DotStuffed,
    OneEndlessLine,
}

const SHAPES: [Shape; 4] = [
    Shape::Entries,
    Shape::BlankLines,
    Shape::DotStuffed,
    Shape::OneEndlessLine,
];

/// Sends an endless answer to `command` of `shape`, until the client stops reading.
fn endless(peer: &mut Peer, command: &'static str, shape: Shape) -> std::io::Result<()> {
    peer.stream(FLOOD, move |i, out| match shape {
        Shape::Entries => out.extend_from_slice(
            match command {
                "LIST" => format!("{} {}\r\n", i + 1, 4000 + i % 1000),
                "UIDL" => format!("{} UID-{i:012}\r\n", i + 1),
                "CAPA" => format!("X-CAP-{i} some arguments\r\n"),
                _ => format!("X-Header-{i}: a header of the message\r\n"),
            }
            .as_bytes(),
        ),
        Shape::BlankLines => out.extend_from_slice(b"\r\n"),
        Shape::DotStuffed => out.extend_from_slice(b"..\r\n"),
        Shape::OneEndlessLine => out.extend_from_slice(&[b'7'; 4096]),
    })
}

#[test]
fn endless_capa_before_stls_is_refused() {
    for shape in SHAPES {
        let server = HostilePop3::start(move |peer| {
            peer.send(b"+OK ready\r\n")?;
            peer.expect("CAPA")?;
            peer.send(b"+OK\r\nSTLS\r\n")?;
            endless(peer, "CAPA", shape)
        });
        // A retry policy that would retry a transient failure: a limit is not one.
        let cfg = config(server.port(), Security::StartTls, |b| {
            b.max_listing_size(LIMIT)
                .retry(RetryPolicy::new(3, Duration::from_millis(10)))
        });
        let started = Instant::now();
        assert_limit(Pop3Handler::connect(&cfg), LIMIT, "CAPA");
        assert!(
            started.elapsed() < 3 * READ_TIMEOUT,
            "{shape:?}: {:?}",
            started.elapsed()
        );
        // Nothing was sent after CAPA: no STLS, no credentials, no QUIT; and no retry.
        assert_eq!(server.received(), ["CAPA"], "{shape:?}");
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            server.connections(),
            1,
            "{shape:?}: a refused CAPA was retried"
        );
        let _ = server.finish();
    }
}

/// Logs in, then answers `command` with `+OK` and an endless body of `shape`.
fn endless_listing(command: &'static str, shape: Shape) -> HostilePop3 {
    HostilePop3::start(move |peer| {
        peer.login("UIDL")?;
        peer.expect(command)?;
        peer.send(b"+OK listing follows\r\n")?;
        endless(peer, command, shape)
    })
}

/// After a refused listing: broken, bounded memory, and no QUIT on drop.
fn assert_broken_without_quit(pop: Pop3Handler, server: HostilePop3, command: &str) {
    assert!(pop.is_broken(), "{command}: the connection must be broken");
    assert!(matches!(pop.noop(), Err(Error::Closed { .. })));
    let peak = pop.peak_buffered_bytes();
    eprintln!("{command}: refused with {peak} bytes held at most (limit {LIMIT})");
    // The read buffer, the entries parsed so far and one partial line, each bounded.
    assert!(
        peak <= READ_BUFFER + 2 * LIMIT as usize,
        "{command}: {peak} bytes held for a listing limited to {LIMIT}"
    );
    drop(pop);
    let _ = server.finish();
}

#[test]
fn endless_uidl_is_refused() {
    for shape in SHAPES {
        let server = endless_listing("UIDL", shape);
        let pop = Pop3Handler::connect(&small_listing(server.port())).unwrap();
        let started = Instant::now();
        assert_limit(pop.uidl(), LIMIT, "UIDL");
        assert!(started.elapsed() < 3 * READ_TIMEOUT, "{shape:?}");
        let received = server.received();
        assert_broken_without_quit(pop, server, "UIDL");
        assert!(!received.iter().any(|l| l == "QUIT"), "{received:?}");
    }
}

#[test]
fn endless_list_after_a_huge_stat_is_refused() {
    for shape in SHAPES {
        let server = HostilePop3::start(move |peer| {
            peer.login("UIDL")?;
            peer.expect("STAT")?;
            peer.send(b"+OK 4294967295 18446744073709551615\r\n")?;
            peer.expect("LIST")?;
            peer.send(b"+OK 4294967295 messages\r\n")?;
            endless(peer, "LIST", shape)
        });
        let pop = Pop3Handler::connect(&small_listing(server.port())).unwrap();
        // A STAT count is only a number: nothing is sized by it.
        let stat = pop.stat().unwrap();
        assert_eq!((stat.count, stat.size), (u32::MAX, u64::MAX));
        let started = Instant::now();
        assert_limit(pop.list(), LIMIT, "LIST");
        assert!(started.elapsed() < 3 * READ_TIMEOUT, "{shape:?}");
        assert_broken_without_quit(pop, server, "LIST");
    }
}

#[test]
fn a_uidl_line_of_100_mb_is_refused() {
    let line_of_100_mb = |peer: &mut Peer| -> std::io::Result<()> {
        peer.login("UIDL")?;
        peer.expect("UIDL")?;
        peer.send(b"+OK\r\n1 ")?;
        peer.stream(100 << 20, |_, out| out.extend_from_slice(&[b'u'; 8192]))?;
        peer.send(b"\r\n.\r\n")
    };
    // With a small listing limit, that limit stops it.
    let server = HostilePop3::start(line_of_100_mb);
    let pop = Pop3Handler::connect(&small_listing(server.port())).unwrap();
    assert_limit(pop.uidl(), LIMIT, "UIDL");
    assert_broken_without_quit(pop, server, "UIDL");

    // With the default limits, the line limit does (8 MiB), long before 100 MB.
    let server = HostilePop3::start(line_of_100_mb);
    let pop = Pop3Handler::connect(&config(server.port(), Security::Plain, |b| b)).unwrap();
    let started = Instant::now();
    assert_limit(pop.uidl(), 8 * 1024 * 1024, "line");
    assert!(started.elapsed() < 3 * READ_TIMEOUT);
    assert!(pop.is_broken());
    let peak = pop.peak_buffered_bytes();
    assert!(peak <= READ_BUFFER + 8 * 1024 * 1024 + 4096, "{peak}");
    drop(pop);
    let _ = server.finish();
}

#[test]
fn top_retr_and_pipelined_retr_in_memory_are_bounded() {
    // TOP: a message part and a listing; the smaller limit applies.
    let server = endless_listing("TOP 1 0", Shape::Entries);
    let cfg = config(server.port(), Security::Plain, |b| {
        b.max_listing_size(LIMIT).max_literal_size(4 * LIMIT)
    });
    let pop = Pop3Handler::connect(&cfg).unwrap();
    assert_limit(pop.fetch_headers(1, 0), LIMIT, "TOP 1 0");
    assert_broken_without_quit(pop, server, "TOP");

    let server = endless_listing("TOP 1 0", Shape::OneEndlessLine);
    let cfg = config(server.port(), Security::Plain, |b| {
        b.max_listing_size(4 * LIMIT).max_literal_size(LIMIT)
    });
    let pop = Pop3Handler::connect(&cfg).unwrap();
    assert_limit(pop.fetch_headers(1, 0), LIMIT, "TOP 1 0");
    assert_broken_without_quit(pop, server, "TOP");

    // RETR: a message body, bounded by max_literal_size.
    for shape in SHAPES {
        let server = endless_listing("RETR 1", shape);
        let cfg = config(server.port(), Security::Plain, |b| {
            b.max_literal_size(LIMIT)
        });
        let pop = Pop3Handler::connect(&cfg).unwrap();
        assert_limit(pop.fetch_message(1), LIMIT, "RETR 1");
        assert_broken_without_quit(pop, server, "RETR");
    }

    // Pipelined RETR: the first message is fine, the second never ends.
    let server = HostilePop3::start(|peer| {
        peer.login("PIPELINING")?;
        peer.expect("RETR 1")?;
        peer.expect("RETR 2")?;
        peer.send(b"+OK\r\nSubject: one\r\n\r\nbody\r\n.\r\n+OK\r\n")?;
        endless(peer, "RETR 2", Shape::Entries)
    });
    let cfg = config(server.port(), Security::Plain, |b| {
        b.max_literal_size(LIMIT)
    });
    let pop = Pop3Handler::connect(&cfg).unwrap();
    assert!(pop.pipelines());
    assert_limit(pop.fetch_messages(&[1, 2]), LIMIT, "RETR 2");
    assert_broken_without_quit(pop, server, "pipelined RETR");
}

#[test]
fn numbers_too_large_for_their_type_are_protocol_errors() {
    const HUGE: &str = "123456789012345678901234567890";
    let cases: [(&str, String, &str); 6] = [
        ("STAT", format!("+OK {HUGE} 5\r\n"), "message count"),
        ("STAT", format!("+OK 5 {HUGE}\r\n"), "maildrop size"),
        (
            "LIST",
            format!("+OK\r\n1 10\r\n{HUGE} 5\r\n.\r\n"),
            "message number",
        ),
        ("LIST", format!("+OK\r\n1 {HUGE}\r\n.\r\n"), "message size"),
        (
            "UIDL",
            format!("+OK\r\n{HUGE} uid\r\n.\r\n"),
            "message number",
        ),
        (
            "LIST 1",
            "+OK 4294967296 5\r\n".to_string(),
            "message number",
        ),
    ];
    for (command, answer, what) in cases {
        let server = HostilePop3::start(move |peer| {
            peer.login("UIDL")?;
            peer.expect(command)?;
            peer.send(answer.as_bytes())?;
            peer.line().map(drop)
        });
        let pop = Pop3Handler::connect(&small_listing(server.port())).unwrap();
        let result = match command {
            "STAT" => pop.stat().map(drop),
            "LIST" => pop.list().map(drop),
            "UIDL" => pop.uidl().map(drop),
            _ => pop.list_one(1).map(drop),
        };
        match result {
            Err(Error::Protocol { message, .. }) => {
                assert!(
                    message.contains(what) && message.contains("out of range"),
                    "{message}"
                )
            }
            other => panic!("{command}: expected a protocol error, got {other:?}"),
        }
        drop(pop);
        let _ = server.finish();
    }
}

#[test]
fn a_million_message_uidl_and_list_work_with_the_default_limits() {
    const N: u32 = 1_000_000;
    let server = HostilePop3::start(|peer| {
        peer.login("UIDL")?;
        let mut uidl = b"+OK\r\n".to_vec();
        let mut list = b"+OK\r\n".to_vec();
        for n in 1..=N {
            uidl.extend_from_slice(
                format!("{n} 0000{n:08}.M123456P789.host,S=4321\r\n").as_bytes(),
            );
            list.extend_from_slice(format!("{n} {}\r\n", 4000 + n % 1000).as_bytes());
        }
        uidl.extend_from_slice(b".\r\n");
        list.extend_from_slice(b".\r\n");
        peer.expect("UIDL")?;
        peer.send(&uidl)?;
        peer.expect("LIST")?;
        peer.send(&list)?;
        peer.expect("QUIT")?;
        peer.send(b"+OK bye\r\n")
    });
    let pop = Pop3Handler::connect(&config(server.port(), Security::Plain, |b| b)).unwrap();
    let uidl = pop.uidl().unwrap();
    assert_eq!(uidl.len(), N as usize);
    assert_eq!(uidl[0].number, 1);
    assert_eq!(uidl[N as usize - 1].number, N);
    assert_eq!(uidl[41].uid, "000000000042.M123456P789.host,S=4321");
    let list = pop.list().unwrap();
    assert_eq!(list.len(), N as usize);
    assert_eq!(list.iter().map(|e| e.size).max(), Some(4999));
    pop.quit().unwrap();
    assert_eq!(server.finish(), Ok(()));
}

#[test]
fn a_refused_listing_breaks_a_pooled_connection_without_quit() {
    let server = endless_listing("UIDL", Shape::Entries);
    let cfg = small_listing(server.port());
    let pool = mailwire::pop3::Pop3Pool::new().unwrap();
    {
        let pop = pool.get(&cfg).unwrap();
        assert_limit(pop.uidl(), LIMIT, "UIDL");
        assert!(pop.is_broken());
    }
    let stats = pool.stats_for(&cfg);
    assert_eq!((stats.idle, stats.broken), (0, 1), "{stats:?}");
    assert!(!server.received().iter().any(|l| l == "QUIT"));
    drop(pool);
    let _ = server.finish();
}
