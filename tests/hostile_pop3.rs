//! A hostile POP3 server, scripted: a trickled answer cannot stretch a call, connecting is
//! bounded as a whole, and QUIT never holds the caller longer than a second.

mod support;

use std::time::{Duration, Instant};

use mailwire::pop3::Pop3Handler;
use mailwire::{Config, ConfigBuilder, Error, RetryPolicy, Security};
use support::assert_within;
use support::script_server::{Script, ScriptServer};

const CAPA: &str = "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n";

fn config(port: u16) -> ConfigBuilder {
    Config::builder("127.0.0.1")
        .pop3_port(port)
        .security(Security::Plain)
        .login("alice", "secret")
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
}

/// Greeting, CAPA, USER, PASS, CAPA after login; then `then`.
fn logged_in(then: Script) -> Script {
    Script::new()
        .send_line("+OK ready")
        .expect_line("CAPA")
        .send(CAPA)
        .expect_line("USER alice")
        .send_line("+OK")
        .expect_line("PASS secret")
        .send_line("+OK logged in")
        .expect_line("CAPA")
        .send(CAPA)
        .then(then)
}

#[test]
fn a_trickled_message_cannot_stretch_retr() {
    for to_writer in [false, true] {
        let server = ScriptServer::start(|_| {
            logged_in(
                Script::new()
                    .expect_line("RETR 1")
                    .send_line("+OK 100000 octets")
                    .trickle("Subject: slow\r\n".repeat(100), Duration::from_millis(20)),
            )
        });
        let pop3 = Pop3Handler::connect(
            &config(server.port())
                .read_timeout(Duration::from_secs(1))
                .build()
                .unwrap(),
        )
        .unwrap();
        let started = Instant::now();
        let err = if to_writer {
            pop3.fetch_to_writer(1, &mut std::io::sink()).unwrap_err()
        } else {
            pop3.fetch_message(1).unwrap_err()
        };
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert_within(started, Duration::from_secs(3), "a trickled RETR");
    }
}

#[test]
fn pop3_connect_is_bounded_by_the_connect_timeout_as_a_whole() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("+OK ready")
            .expect_line("CAPA")
            .trickle(CAPA.repeat(20), Duration::from_millis(100))
    });
    let started = Instant::now();
    let err = Pop3Handler::connect(
        &config(server.port())
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_within(
        started,
        Duration::from_secs(3),
        "POP3 connect to a trickling server",
    );
}

#[test]
fn quit_waits_at_most_a_second_whatever_the_server_does() {
    let server = ScriptServer::start(|_| logged_in(Script::new().expect_line("QUIT").hang()));
    let pop3 = Pop3Handler::connect(&config(server.port()).build().unwrap()).unwrap();
    let started = Instant::now();
    let _ = pop3.quit();
    assert_within(
        started,
        Duration::from_millis(2500),
        "QUIT to a silent server",
    );
}

#[test]
fn a_failing_writer_breaks_the_connection() {
    struct Refuses;
    impl std::io::Write for Refuses {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let server = ScriptServer::start(|_| {
        logged_in(
            Script::new()
                .expect_line("RETR 1")
                .send("+OK 40 octets\r\nSubject: x\r\n\r\nbody line\r\n.\r\n")
                .read_until_closed(),
        )
    });
    let pop3 = Pop3Handler::connect(&config(server.port()).build().unwrap()).unwrap();
    let err = pop3.fetch_to_writer(1, &mut Refuses).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        pop3.is_broken(),
        "the rest of the answer cannot be skipped reliably"
    );
    assert!(matches!(pop3.noop(), Err(Error::Closed { .. })));
}

#[test]
fn dropping_a_handler_never_waits_for_the_server() {
    let server = ScriptServer::start(|_| logged_in(Script::new().hang()));
    let pop3 = Pop3Handler::connect(&config(server.port()).build().unwrap()).unwrap();
    let started = Instant::now();
    drop(pop3);
    assert_within(
        started,
        Duration::from_millis(200),
        "dropping a POP3 handler",
    );
}

#[test]
fn a_shared_memory_budget_bounds_messages_read_into_memory() {
    use mailwire::MemoryBudget;

    let budget = MemoryBudget::new(64 * 1024);
    let big = format!(
        "+OK\r\nSubject: big\r\n\r\n{}\r\n.\r\n",
        "b".repeat(200_000)
    );
    let server = ScriptServer::start(move |i| {
        logged_in(
            Script::new()
                .expect_line("RETR 1")
                .send(if i == 0 {
                    big.clone()
                } else {
                    "+OK\r\nSubject: small\r\n\r\nhi\r\n.\r\n".to_string()
                })
                .read_until_closed(),
        )
    });
    let config = config(server.port())
        .memory_budget(&budget)
        .build()
        .unwrap();
    let greedy = Pop3Handler::connect(&config).unwrap();
    let modest = Pop3Handler::connect(&config).unwrap();
    match greedy.fetch_message(1).unwrap_err() {
        Error::LimitExceeded { what, limit } => {
            assert!(what.contains("memory budget"), "{what}");
            assert_eq!(limit, 64 * 1024);
        }
        other => panic!("{other:?}"),
    }
    assert!(greedy.is_broken());
    let message = modest.fetch_message(1).unwrap();
    assert_eq!(message.subject().as_deref(), Some("small"));
    assert!(budget.peak() <= 64 * 1024, "peak {}", budget.peak());
    assert_eq!(budget.used(), 0, "handed over or dropped: nothing held");
}
