//! The cancel delay (issue 18): the time from `Cancel::cancel()` on another thread to the
//! cancelled call returning, during a 20 MiB IMAP fetch (streamed to a writer and into
//! memory), a 20 MiB POP3 `RETR`, and for a caller waiting for a pooled connection, on a
//! private Dovecot over TLS with a 30 s read timeout.
//!
//! Run through `scripts/bench` (or `cargo bench --bench cancel [-- --quick]`). Without
//! `--bench` on the command line (as under `cargo test --benches`) it does nothing. The
//! cancel comes at a point the call is sure to be under way: when the writer has seen
//! 4 MiB, after the first message of a batch, or once the waiter stands in line. Nothing
//! is asserted (tests/cancel.rs bounds the delays).

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, clippy::all)]
mod support;

use std::io::{self, Write};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mailwire::imap::{FetchWhat, ImapConnection, ImapHandler};
use mailwire::pool::PoolOptions;
use mailwire::pop3::Pop3Handler;
use mailwire::{Cancel, Config, Error, RetryPolicy, Security};

const BIG: usize = 20 * 1024 * 1024;
/// Where in the stream the cancel comes.
const CANCEL_AT: usize = 4 * 1024 * 1024;

fn message(n: usize, size: usize) -> Vec<u8> {
    let mut m = format!("From: a@example.org\r\nSubject: big {n}\r\n\r\n").into_bytes();
    let mut i = 0usize;
    while m.len() < size {
        m.extend((0..76).map(|k| b'A' + ((i + k + n) % 26) as u8));
        m.extend_from_slice(b"\r\n");
        i += 1;
    }
    m
}

/// A writer that tells the canceller when it has seen `CANCEL_AT` bytes, at full speed.
struct Signalling {
    seen: usize,
    signal: Option<mpsc::Sender<()>>,
}

impl Write for Signalling {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.seen += buf.len();
        if self.seen >= CANCEL_AT
            && let Some(tx) = self.signal.take()
        {
            let _ = tx.send(());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Cancels `token` when `rx` fires; the instant it did.
fn canceller(token: &Cancel, rx: mpsc::Receiver<()>) -> thread::JoinHandle<Option<Instant>> {
    let token = token.clone();
    thread::spawn(move || {
        rx.recv_timeout(Duration::from_secs(60)).ok()?;
        let at = Instant::now();
        token.cancel();
        Some(at)
    })
}

/// Seconds from the cancel to `returned`, when the call was cancelled.
fn delay<T>(result: mailwire::Result<T>, returned: Instant, at: Option<Instant>) -> Option<f64> {
    match (result, at) {
        (Err(Error::Cancelled { .. }), Some(at)) => {
            Some(returned.saturating_duration_since(at).as_secs_f64())
        }
        (Err(e), _) => {
            eprintln!("cancel: the call failed otherwise: {e}");
            None
        }
        (Ok(_), _) => None,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("cancel: not run (use scripts/bench or cargo bench --bench cancel)");
        return;
    }
    let rounds = if args.iter().any(|a| a == "--quick") {
        3
    } else {
        10
    };
    let Some(dc) = support::dovecot::start() else {
        eprintln!("cancel: Dovecot is not installed; nothing measured");
        std::process::exit(2);
    };
    let user = dc.alice();
    dc.seed(&user, "INBOX", &[message(0, 1000), message(1, BIG)]);
    let builder = || {
        Config::builder("127.0.0.1")
            .login(&user.name, &user.password)
            .add_root_certificate_pem(dc.cert_pem().to_vec())
            .timeouts(Duration::from_secs(30))
            .retry(RetryPolicy::none())
    };
    let imap = builder().port(dc.imaps_port()).build().expect("config");
    let pop3 = builder()
        .pop3_port(dc.pop3s_port())
        .security(Security::Tls)
        .build()
        .expect("config");

    let (mut stream, mut memory, mut pop, mut waiter) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        // IMAP, streamed to a writer: cancelled at 4 MiB.
        let token = Cancel::new();
        let conn = ImapConnection::connect(&imap)
            .expect("connect")
            .with_cancel(&token);
        let (tx, rx) = mpsc::channel();
        let at = canceller(&token, rx);
        let mut w = Signalling {
            seen: 0,
            signal: Some(tx),
        };
        let r = conn.fetch_to_writer("INBOX", 2, &mut w);
        stream.extend(delay(r, Instant::now(), at.join().ok().flatten()));

        // IMAP, into memory: cancelled after the first (small) message.
        let token = Cancel::new();
        let conn = ImapConnection::connect(&imap)
            .expect("connect")
            .with_cancel(&token);
        let (tx, rx) = mpsc::channel();
        let at = canceller(&token, rx);
        let mut tx = Some(tx);
        let r = conn.fetch_with_progress("INBOX", &[1, 2], FetchWhat::Full, &mut |_| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(());
            }
        });
        memory.extend(delay(r, Instant::now(), at.join().ok().flatten()));

        // POP3 RETR streamed to a writer: cancelled at 4 MiB.
        let token = Cancel::new();
        let handler = Pop3Handler::connect(&pop3)
            .expect("connect")
            .with_cancel(&token);
        let (tx, rx) = mpsc::channel();
        let at = canceller(&token, rx);
        let mut w = Signalling {
            seen: 0,
            signal: Some(tx),
        };
        let r = handler.fetch_to_writer(2, &mut w);
        pop.extend(delay(r, Instant::now(), at.join().ok().flatten()));

        // A caller waiting for the account's one pooled connection.
        let handler =
            ImapHandler::with_options(PoolOptions::new().max_per_account(1)).expect("pool");
        let held = handler.pool().get(&imap).expect("connect");
        let token = Cancel::new();
        let waiting = handler.with_cancel(&token);
        let config = imap.clone();
        let worker = thread::spawn(move || {
            let r = waiting.test_connection(&config);
            (r, Instant::now())
        });
        while handler.stats(&imap).waiting == 0 {
            thread::sleep(Duration::from_millis(1));
        }
        let at = Instant::now();
        token.cancel();
        if let Ok((r, returned)) = worker.join() {
            waiter.extend(delay(r, returned, Some(at)));
        }
        drop(held);
    }
    let ms = |v: &Vec<f64>| median(v.clone()) * 1e3;
    println!(
        "\n(cancel) from Cancel::cancel() to the call returning, median of {rounds} rounds (read timeout 30 s)"
    );
    println!(
        "  IMAP fetch_to_writer, 20 MiB, at 4 MiB    {:>9.3} ms",
        ms(&stream)
    );
    println!(
        "  IMAP fetch into memory, 20 MiB            {:>9.3} ms",
        ms(&memory)
    );
    println!(
        "  POP3 RETR to a writer, 20 MiB, at 4 MiB   {:>9.3} ms",
        ms(&pop)
    );
    println!(
        "  a caller waiting for a pooled connection  {:>9.3} ms",
        ms(&waiter)
    );
    println!(
        "cancel_delay_ms: imap_stream={:.3} imap_fetch={:.3} pop3_retr={:.3} pool_wait={:.3}",
        ms(&stream),
        ms(&memory),
        ms(&pop),
        ms(&waiter)
    );
}
