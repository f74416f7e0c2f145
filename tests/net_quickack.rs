//! `TCP_QUICKACK` is re-armed only while an answer is incomplete after a read, at most once
//! per command: counted with `ImapConnection::quickack_calls` against a scripted server that
//! writes each answer in one piece or in two, and for a bulk fetch from the real Dovecot.
//! (Speeds are the bench's: `MAILWIRE_BENCH_ONLY=nagle scripts/bench --quick`.)

mod support;

use std::time::{Duration, Instant};

use mailwire::imap::ImapConnection;
use mailwire::{Config, RetryPolicy, Security};
use support::nagle_server::{NagleServer, Split};

/// Whether the option exists here (elsewhere no call is ever made).
const LINUX: bool = cfg!(any(target_os = "linux", target_os = "android"));

fn config(port: u16) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The re-arms each of five single-message fetches made, against `server`.
fn calls_per_fetch(server: &NagleServer) -> Vec<u64> {
    let conn = ImapConnection::connect(&config(server.port())).unwrap();
    conn.select("INBOX").unwrap();
    (1..=5u32)
        .map(|uid| {
            let before = conn.quickack_calls();
            let message = conn.fetch_message("INBOX", uid).unwrap().unwrap();
            assert_eq!(message.uid(), Some(uid));
            conn.quickack_calls() - before
        })
        .collect()
}

#[test]
fn rearmed_once_per_answer_in_two_pieces_never_for_an_answer_in_one() {
    let started = Instant::now();
    let message = b"Subject: hi\r\n\r\nhello\r\n".to_vec();
    // The pause makes sure the client reads the first piece alone.
    let two = NagleServer::start(
        Split::Two {
            pause: Duration::from_millis(100),
        },
        5,
        message.clone(),
    );
    assert_eq!(calls_per_fetch(&two), vec![u64::from(LINUX); 5]);
    let one = NagleServer::start(Split::One, 5, message);
    assert_eq!(calls_per_fetch(&one), vec![0; 5]);
    support::assert_within(started, Duration::from_secs(30), "ten fetches");
}

#[test]
fn a_bulk_fetch_from_dovecot_rearms_once_not_per_read() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let body = "The quick brown fox jumps over the lazy dog.\r\n".repeat(90);
    let messages: Vec<String> = (0..500)
        .map(|i| format!("Subject: bulk {i}\r\n\r\n{body}"))
        .collect();
    dc.seed(&u.name, "INBOX", &messages);
    let config = Config::builder("127.0.0.1")
        .port(dc.imap_port())
        .security(Security::Plain)
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    conn.select("INBOX").unwrap();
    let before = conn.quickack_calls();
    let fetched = conn
        .fetch_uid_range("INBOX", 1..=u32::MAX, mailwire::imap::FetchWhat::Full)
        .unwrap();
    let calls = conn.quickack_calls() - before;
    assert_eq!(fetched.len(), 500);
    let bytes: usize = fetched.iter().map(|m| m.raw().len()).sum();
    println!("bulk fetch of 500 messages ({bytes} bytes): {calls} TCP_QUICKACK call(s)");
    // About 2 MB: dozens of reads of at most 64 KiB, one call.
    assert!(bytes > 2_000_000, "{bytes}");
    assert_eq!(calls, u64::from(LINUX));
}
