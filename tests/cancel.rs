//! The cancel token and progress callbacks (issue 18 item 3), against the harness Dovecot:
//! a cancel from another thread during a 20 MiB IMAP fetch or POP3 `RETR` returns long
//! before the 30 s read timeout with `Error::Cancelled`, the connection is broken (the
//! pool discards it) and the next call works; a cancel wakes a pool waiter; a cancelled
//! token sends nothing; progress is reported once per message. A scripted server that
//! stalls mid-literal shows a read blocked on the socket is cut.

mod support;

use std::io::{self, Write};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mailwire::imap::{
    FetchWhat, Flag, ImapConnection, ImapHandler, ImapPool, Selection, SyncState,
};
use mailwire::pool::PoolOptions;
use mailwire::pop3::{Pop3Handler, Pop3Pool};
use mailwire::{Cancel, Config, Error, Progress, RetryPolicy, Security};
use support::dovecot::{Dovecot, User};
use support::script_server::{Script, ScriptServer};

/// The read timeout every config here sets: what a cut call must return long before.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The generous bound on "from cancel() to the call returning".
const PROMPT: Duration = Duration::from_secs(5);

fn imap_config(dc: &Dovecot, u: &User) -> Config {
    Config::builder(dc.host())
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(READ_TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn pop3_config(dc: &Dovecot, u: &User) -> Config {
    Config::builder(dc.host())
        .pop3_port(dc.pop3s_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(READ_TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A message of about `size` bytes with a subject naming `n`.
fn message(n: usize, size: usize) -> Vec<u8> {
    let mut m = format!("From: a@example.org\r\nSubject: message {n}\r\n\r\n").into_bytes();
    let mut i = 0usize;
    while m.len() < size {
        m.extend((0..76).map(|k| b'A' + ((i + k + n) % 26) as u8));
        m.extend_from_slice(b"\r\n");
        i += 1;
    }
    m
}

const BIG: usize = 20 * 1024 * 1024;

/// A writer that tells `started` at its first write and then takes `pause` per write,
/// so a 20 MiB message takes far longer than the test waits: the cancel comes while the
/// call is under way, whatever the machine's speed.
struct SlowWriter {
    started: Option<mpsc::Sender<()>>,
    pause: Duration,
    written: usize,
}

impl SlowWriter {
    fn new(started: mpsc::Sender<()>) -> SlowWriter {
        SlowWriter {
            started: Some(started),
            pause: Duration::from_millis(20),
            written: 0,
        }
    }
}

impl Write for SlowWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(started) = self.started.take() {
            let _ = started.send(());
        }
        thread::sleep(self.pause);
        self.written += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A config for a scripted server: plain, the test's read timeout, no retries.
fn scripted_config(server: &ScriptServer) -> Config {
    Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(READ_TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Cancels `token` from another thread after `delay`; returns when it cancelled.
fn cancel_after(token: &Cancel, delay: Duration) -> thread::JoinHandle<Instant> {
    let token = token.clone();
    thread::spawn(move || {
        thread::sleep(delay);
        let at = Instant::now();
        token.cancel();
        at
    })
}

/// Cancels `token` when the first message's progress arrives on `first`, then lets the
/// call go on (`go_on`); returns when it cancelled.
fn cancel_on_first_message(
    token: &Cancel,
    first: mpsc::Receiver<()>,
    go_on: mpsc::Sender<()>,
) -> thread::JoinHandle<Instant> {
    let token = token.clone();
    thread::spawn(move || {
        first
            .recv_timeout(Duration::from_secs(60))
            .expect("first message");
        let at = Instant::now();
        token.cancel();
        let _ = go_on.send(());
        at
    })
}

/// Cancels `token` from another thread once `started` fires (and 100 ms more); returns
/// when it cancelled.
fn cancel_when_started(token: &Cancel, started: mpsc::Receiver<()>) -> thread::JoinHandle<Instant> {
    let token = token.clone();
    thread::spawn(move || {
        started
            .recv_timeout(Duration::from_secs(60))
            .expect("the call started");
        thread::sleep(Duration::from_millis(100));
        let at = Instant::now();
        token.cancel();
        at
    })
}

fn assert_cancelled<T: std::fmt::Debug>(result: mailwire::Result<T>, what: &str) -> Error {
    match result {
        Err(e @ Error::Cancelled { .. }) => {
            assert!(!e.is_transient(), "{what}: a cancel is never transient");
            e
        }
        other => panic!("{what}: expected Error::Cancelled, got {other:?}"),
    }
}

#[test]
fn cancel_during_a_20_mib_imap_stream_cuts_it_and_the_next_connection_works() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[message(1, BIG)]);
    let config = imap_config(dc, &u);
    let token = Cancel::new();
    let conn = ImapConnection::connect(&config)
        .unwrap()
        .with_cancel(&token);
    let (tx, rx) = mpsc::channel();
    let canceller = cancel_when_started(&token, rx);
    let mut writer = SlowWriter::new(tx);
    let result = conn.fetch_to_writer("INBOX", 1, &mut writer);
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    let e = assert_cancelled(result, "fetch_to_writer");
    let delay = returned.saturating_duration_since(cancelled_at);
    assert!(
        delay < PROMPT,
        "the stream returned {delay:?} after cancel()"
    );
    println!("cancel delay during a 20 MiB stream: {delay:?} ({e})");
    assert!(
        writer.written < BIG,
        "cut before the end ({} bytes)",
        writer.written
    );
    assert!(conn.is_broken(), "the cut connection is broken");
    // Later calls on the cancelled connection return at once.
    assert_cancelled(conn.fetch_metadata("INBOX", &[1]), "fetch after the cancel");
    // A new connection works and the message is intact.
    let fresh = ImapConnection::connect(&config).unwrap();
    let meta = fresh.fetch_metadata("INBOX", &[1]).unwrap();
    assert!(meta[0].size() >= BIG as u64);
    fresh.logout();
}

#[test]
fn cancel_during_a_pooled_fetch_discards_the_connection() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(
        &u.name,
        "INBOX",
        &[message(1, 2000), message(2, BIG), message(3, BIG)],
    );
    let config = imap_config(dc, &u);
    let handler = ImapHandler::new().unwrap();
    let token = Cancel::new();
    let cancellable = handler.pool().with_cancel(&token);
    let (tx, rx) = mpsc::channel();
    let (go_on_tx, go_on_rx) = mpsc::channel::<()>();
    let canceller = cancel_on_first_message(&token, rx, go_on_tx);
    let conn = cancellable.get(&config).unwrap();
    let mut seen = Vec::new();
    // The first message's progress hands over to the canceller and waits until it has
    // cancelled: the two 20 MiB messages are then still on their way.
    let result = conn.fetch_with_progress("INBOX", 1..=3, FetchWhat::Full, &mut |p| {
        seen.push(p);
        if p.messages == 1 {
            let _ = tx.send(());
            let _ = go_on_rx.recv_timeout(Duration::from_secs(60));
        }
    });
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_cancelled(result, "fetch_with_progress");
    let delay = returned.saturating_duration_since(cancelled_at);
    assert!(
        delay < PROMPT,
        "the fetch returned {delay:?} after cancel()"
    );
    println!("cancel delay during a 2 x 20 MiB fetch: {delay:?}");
    assert!(seen.len() < 3, "{seen:?}");
    assert!(conn.is_broken());
    drop(conn);
    let stats = handler.stats(&config);
    assert_eq!(
        stats.broken, 1,
        "the pool discarded the cut connection: {stats:?}"
    );
    assert_eq!(stats.idle, 0, "{stats:?}");
    // The handler without the token works on a new connection.
    let messages = handler
        .fetch_messages(&config, "INBOX", vec![1], FetchWhat::Full)
        .unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(handler.stats(&config).created, 2);
}

#[test]
fn cancel_wakes_a_pool_waiter_at_once() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[message(1, 2000)]);
    let config = imap_config(dc, &u);
    let options = PoolOptions::new()
        .max_per_account(1)
        .get_timeout(Duration::from_secs(30));
    let handler = ImapHandler::with_options(options).unwrap();
    // The account's one connection is taken.
    let holder = handler.pool().get(&config).unwrap();
    let token = Cancel::new();
    let waiting = handler.with_cancel(&token);
    let worker = {
        let config = config.clone();
        thread::spawn(move || {
            let r = waiting.fetch_messages(&config, "INBOX", Selection::All, FetchWhat::Full);
            (r, Instant::now())
        })
    };
    let started = Instant::now();
    while handler.stats(&config).waiting == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the worker never waited"
        );
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(200));
    let cancelled_at = Instant::now();
    token.cancel();
    let (result, returned) = worker.join().unwrap();
    let e = assert_cancelled(result, "a waiting fetch");
    assert!(
        e.to_string().contains("waiting for a pooled connection"),
        "{e}"
    );
    let delay = returned.saturating_duration_since(cancelled_at);
    assert!(
        delay < PROMPT,
        "the waiter returned {delay:?} after cancel()"
    );
    println!("cancel delay of a pool waiter: {delay:?}");
    let stats = handler.stats(&config);
    assert_eq!((stats.waiting, stats.timeouts), (0, 0), "{stats:?}");
    // The held connection was not touched and the line is free again.
    holder.noop().unwrap();
    drop(holder);
    let started = Instant::now();
    handler.test_connection(&config).unwrap();
    support::assert_within(started, Duration::from_secs(5), "the next checkout");
    assert_eq!(handler.stats(&config).created, 1);
    // A cancelled handler never waits and never connects.
    assert_cancelled(
        handler.with_cancel(&token).list_folders(&config),
        "a call after the cancel",
    );
}

#[test]
fn a_cancelled_token_refuses_calls_without_sending_anything() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[message(1, 2000)]);
    let token = Cancel::new();
    let conn = ImapConnection::connect(&imap_config(dc, &u))
        .unwrap()
        .with_cancel(&token);
    conn.noop().unwrap();
    token.cancel();
    let before = conn.bytes_received();
    assert_cancelled(conn.fetch_messages("INBOX", &[1]), "fetch_messages");
    assert_cancelled(
        conn.fetch_to_writer("INBOX", 1, &mut io::sink()),
        "fetch_to_writer",
    );
    assert_cancelled(conn.append("INBOX", &message(2, 100), &[], None), "append");
    assert_cancelled(
        conn.append_many("INBOX", &[message(3, 100)], &[], &mut |_| {}),
        "append_many",
    );
    assert_cancelled(conn.sync("INBOX", &SyncState::new("INBOX")), "sync");
    assert_eq!(
        conn.bytes_received(),
        before,
        "nothing was asked of the server"
    );
    assert!(
        !conn.is_broken(),
        "a cancel before the call leaves the connection intact"
    );
    // Calls the token does not cover still work.
    conn.noop().unwrap();
    conn.logout();
    // Nor does a cancelled pool handle connect.
    let pool = ImapPool::new().unwrap();
    let config = imap_config(dc, &u);
    assert_cancelled(pool.with_cancel(&token).get(&config), "ImapPool::get");
    assert_eq!(pool.stats_for(&config).created, 0);
    let pop = Pop3Pool::new().unwrap();
    assert_cancelled(
        pop.with_cancel(&token).get(&pop3_config(dc, &u)),
        "Pop3Pool::get",
    );
}

#[test]
fn cancel_during_a_pop3_retr_of_a_large_message() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[message(1, 2000), message(2, BIG)]);
    let config = pop3_config(dc, &u);

    // Streamed to a writer.
    let token = Cancel::new();
    let pop = Pop3Handler::connect(&config).unwrap().with_cancel(&token);
    pop.delete_message(1).unwrap();
    let (tx, rx) = mpsc::channel();
    let canceller = cancel_when_started(&token, rx);
    let mut writer = SlowWriter::new(tx);
    let result = pop.fetch_to_writer(2, &mut writer);
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_cancelled(result, "POP3 fetch_to_writer");
    let delay = returned.saturating_duration_since(cancelled_at);
    assert!(delay < PROMPT, "RETR returned {delay:?} after cancel()");
    println!("cancel delay during a 20 MiB POP3 RETR: {delay:?}");
    assert!(writer.written < BIG);
    assert!(pop.is_closed(), "the cut connection is closed");
    drop(pop);

    // Into memory, between the messages of a batch.
    let token = Cancel::new();
    let pop = Pop3Handler::connect(&config).unwrap().with_cancel(&token);
    assert_eq!(
        pop.stat().unwrap().count,
        2,
        "the DELE of the cut session was not committed"
    );
    let (tx, rx) = mpsc::channel();
    let (go_on_tx, go_on_rx) = mpsc::channel::<()>();
    let canceller = cancel_on_first_message(&token, rx, go_on_tx);
    let result = pop.fetch_messages_with_progress(&[1, 2], &mut |p| {
        if p.messages == 1 {
            let _ = tx.send(());
            let _ = go_on_rx.recv_timeout(Duration::from_secs(60));
        }
    });
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_cancelled(result, "POP3 fetch_messages");
    assert!(returned.saturating_duration_since(cancelled_at) < PROMPT);
    assert!(pop.is_closed());
    drop(pop);

    // A new session works and has both messages.
    let pop = Pop3Handler::connect(&config).unwrap();
    assert_eq!(pop.stat().unwrap().count, 2);
    pop.quit().unwrap();
}

#[test]
fn progress_is_reported_once_per_message_with_growing_bytes() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let sizes = [3000usize, 50_000, 700];
    let seeded: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| message(i, s))
        .collect();
    dc.seed(&u.name, "INBOX", &seeded);

    // IMAP fetch.
    let conn = ImapConnection::connect(&imap_config(dc, &u)).unwrap();
    let mut seen: Vec<Progress> = Vec::new();
    let messages = conn
        .fetch_with_progress("INBOX", &[1, 2, 3, 4], FetchWhat::Full, &mut |p| {
            seen.push(p)
        })
        .unwrap();
    assert_eq!(messages.len(), 3);
    assert_per_message(
        &seen,
        &messages.iter().map(|m| m.raw().len()).collect::<Vec<_>>(),
        Some(4),
    );

    // IMAP append of many.
    let to_append: Vec<Vec<u8>> = (10..13).map(|n| message(n, 1000 * n)).collect();
    let mut seen = Vec::new();
    let uids = conn
        .append_many("INBOX", &to_append, &[Flag::Seen], &mut |p| seen.push(p))
        .unwrap();
    assert_eq!(uids.len(), 3);
    assert!(
        uids.iter().all(Option::is_some),
        "Dovecot has UIDPLUS: {uids:?}"
    );
    // Dovecot has MULTIAPPEND: the three go in one command, reported once.
    let sizes: Vec<usize> = to_append.iter().map(Vec::len).collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].messages, 3, "{seen:?}");
    assert_eq!(
        seen[0].bytes,
        sizes.iter().sum::<usize>() as u64,
        "{seen:?}"
    );
    assert_eq!(seen[0].total_messages, Some(3), "{seen:?}");
    let appended = conn.fetch_metadata("INBOX", 4..=u32::MAX).unwrap();
    assert_eq!(appended.len(), 3);
    assert!(appended.iter().all(|m| m.is_seen()));
    conn.logout();

    // POP3 batch download.
    let pop = Pop3Handler::connect(&pop3_config(dc, &u)).unwrap();
    let mut seen = Vec::new();
    let messages = pop
        .fetch_messages_with_progress(&[1, 2, 3], &mut |p| seen.push(p))
        .unwrap();
    assert_per_message(
        &seen,
        &messages.iter().map(|m| m.raw().len()).collect::<Vec<_>>(),
        Some(3),
    );
    pop.quit().unwrap();
}

/// One report per message, in order, bytes summing the messages' sizes so far.
fn assert_per_message(seen: &[Progress], sizes: &[usize], total: Option<u64>) {
    assert_eq!(seen.len(), sizes.len(), "{seen:?}");
    let mut bytes = 0u64;
    for (i, (p, &size)) in seen.iter().zip(sizes).enumerate() {
        bytes += size as u64;
        assert_eq!(p.messages, i as u64 + 1, "{seen:?}");
        assert_eq!(p.bytes, bytes, "{seen:?}");
        assert_eq!(p.total_messages, total, "{seen:?}");
    }
    assert!(seen.windows(2).all(|w| w[0].bytes < w[1].bytes), "{seen:?}");
}

#[test]
fn cancel_cuts_a_read_blocked_on_a_stalled_server() {
    // The server announces a 20 MiB literal, sends a little of it and then stalls: the
    // client's read blocks on the socket until the 30 s read timeout unless cut.
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 UIDPLUS] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in")
            .expect_contains("SELECT INBOX")
            .send_line("* 1 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect_contains("UID FETCH 1")
            .send(format!(
                "* 1 FETCH (UID 1 RFC822.SIZE {BIG} BODY[] {{{BIG}}}\r\n"
            ))
            .send(vec![b'x'; 4096])
            .hang(),
    ]);
    let config = scripted_config(&server);
    let token = Cancel::new();
    let conn = ImapConnection::connect(&config)
        .unwrap()
        .with_cancel(&token);
    let canceller = cancel_after(&token, Duration::from_millis(300));
    let result = conn.fetch_messages("INBOX", &[1]);
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_cancelled(result, "a fetch blocked on a stalled server");
    let delay = returned.saturating_duration_since(cancelled_at);
    assert!(
        delay < PROMPT,
        "the blocked read returned {delay:?} after cancel()"
    );
    println!("cancel delay of a read blocked on a stalled server: {delay:?}");
    assert!(conn.is_broken());
}

#[test]
fn cancel_cuts_a_pooled_connect_to_a_server_that_never_greets() {
    let server = ScriptServer::start_seq(vec![Script::new().hang()]);
    let config = scripted_config(&server);
    let pool = ImapPool::new().unwrap();
    let token = Cancel::new();
    let canceller = cancel_after(&token, Duration::from_millis(300));
    let result = pool.with_cancel(&token).get(&config);
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    let e = assert_cancelled(result, "a connect waiting for the greeting");
    assert!(e.to_string().contains("connecting"), "{e}");
    let delay = returned.saturating_duration_since(cancelled_at);
    assert!(
        delay < PROMPT,
        "the connect returned {delay:?} after cancel()"
    );
    let stats = pool.stats_for(&config);
    assert_eq!((stats.in_use, stats.connect_errors), (0, 0), "{stats:?}");
}

#[test]
fn cancel_cuts_an_append_whose_server_stopped_reading() {
    // The server asks for the literal and then never reads: the 20 MiB write blocks once
    // the socket buffers are full, until the 30 s write deadline unless cut.
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 UIDPLUS] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in")
            .expect_contains("APPEND INBOX")
            .send_line("+ go ahead")
            .hang(),
    ]);
    let config = scripted_config(&server);
    let token = Cancel::new();
    let conn = ImapConnection::connect(&config)
        .unwrap()
        .with_cancel(&token);
    let canceller = cancel_after(&token, Duration::from_millis(500));
    let result = conn.append("INBOX", &message(1, BIG), &[], None);
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_cancelled(result, "an append blocked in its write");
    let delay = returned.saturating_duration_since(cancelled_at);
    assert!(
        delay < PROMPT,
        "the blocked write returned {delay:?} after cancel()"
    );
    println!("cancel delay of a write blocked on a server that stopped reading: {delay:?}");
    assert!(conn.is_broken());
}

#[test]
fn cancel_cuts_a_sync_waiting_for_the_server() {
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1] logged in")
            .expect_contains("SELECT INBOX")
            .send_line("* 3 EXISTS")
            .hang(),
    ]);
    let config = scripted_config(&server);
    let token = Cancel::new();
    let conn = ImapConnection::connect(&config)
        .unwrap()
        .with_cancel(&token);
    let canceller = cancel_after(&token, Duration::from_millis(300));
    let result = conn.sync("INBOX", &SyncState::new("INBOX"));
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    let e = assert_cancelled(result, "a sync waiting for its SELECT");
    assert!(e.to_string().contains("synchronising"), "{e}");
    assert!(returned.saturating_duration_since(cancelled_at) < PROMPT);
    assert!(conn.is_broken());
}
