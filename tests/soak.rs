//! Soak: 32 threads through `ImapHandler` and `Pop3Pool` against a private Dovecot that is
//! restarted at random moments. Every call must return `Ok` or a typed error, nothing may
//! deadlock (a watchdog fails the test if no call completes for 30 s), and at the end open
//! file descriptors and resident memory are back near where they started (both printed).
//!
//! Runs for `MAILWIRE_SOAK_SECONDS` (default 5); `scripts/soak [seconds]` runs it longer.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mailwire::imap::{ImapHandler, SearchQuery};
use mailwire::pool::PoolOptions;
use mailwire::pop3::{Pop3Options, Pop3Pool};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::Dovecot;

const THREADS: usize = 32;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// A small xorshift generator: the soak needs variety, not quality.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn account(dc: &Dovecot, user: &str, password: &str, pop3: bool) -> Config {
    let b = Config::builder("127.0.0.1")
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(user, password)
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::new(2, Duration::from_millis(50)));
    let b = if pop3 {
        b.pop3_port(dc.pop3s_port())
    } else {
        b.port(dc.imaps_port())
    };
    b.build().unwrap()
}

/// Errors a restart may cause; anything else (a protocol error, a panic) fails the soak.
fn acceptable(e: &Error) -> bool {
    e.is_transient()
        || matches!(
            e,
            Error::Closed { .. }
                | Error::Timeout { .. }
                | Error::PoolTimeout { .. }
                | Error::Tls { .. }
                | Error::Server { .. }
                | Error::Auth { .. }
        )
}

#[test]
fn soak_with_random_restarts() {
    let seconds: u64 = std::env::var("MAILWIRE_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let Some(dc) = Dovecot::start() else {
        eprintln!("dovecot not installed: soak skipped");
        return;
    };
    let dc = Arc::new(dc);
    let users: Vec<_> = (0..4).map(|_| dc.add_user()).collect();
    for user in &users {
        let msgs: Vec<Vec<u8>> = (0..5)
            .map(|i| format!("Subject: soak {i}\r\n\r\nbody {i}\r\n").into_bytes())
            .collect();
        dc.seed(&user.name, "INBOX", &msgs);
    }
    let imap = ImapHandler::with_options(
        PoolOptions::new()
            .max_per_account(4)
            .get_timeout(Duration::from_secs(10)),
    )
    .unwrap();
    let pop = Pop3Pool::with_options(
        PoolOptions::new().get_timeout(Duration::from_secs(10)),
        Pop3Options::new(),
    )
    .unwrap();

    // Warm up once so that one-time allocations (TLS, logger, pools) are in the baseline.
    let warm = account(&dc, &users[0].name, &users[0].password, false);
    imap.list_folders(&warm).unwrap();
    let fds_before = open_fds();
    let rss_before = rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let last_progress = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (imap, pop, dc, stop, calls, errors, progress) = (
                imap.clone(),
                pop.clone(),
                Arc::clone(&dc),
                Arc::clone(&stop),
                Arc::clone(&calls),
                Arc::clone(&errors),
                Arc::clone(&last_progress),
            );
            let user = users[t % users.len()].clone();
            std::thread::spawn(move || {
                let use_pop = t % 2 == 1;
                let cfg = account(&dc, &user.name, &user.password, use_pop);
                let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1);
                while !stop.load(Ordering::Relaxed) {
                    let result: mailwire::Result<()> = if use_pop {
                        pop.get(&cfg).and_then(|p| match next(&mut rng) % 3 {
                            0 => p.stat().map(drop),
                            1 => p.uidl().map(drop),
                            _ => p.fetch_message(1).map(drop),
                        })
                    } else {
                        match next(&mut rng) % 4 {
                            0 => imap.list_folders(&cfg).map(drop),
                            1 => imap.folder_status(&cfg, "INBOX").map(drop),
                            2 => imap.search(&cfg, "INBOX", &SearchQuery::all()).map(drop),
                            _ => imap.get_uid_validity(&cfg, "INBOX").map(drop),
                        }
                    };
                    if let Err(e) = &result {
                        assert!(acceptable(e), "thread {t}: unexpected error: {e:?}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                    progress.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();

    // Restarts at random moments, and the watchdog.
    let mut rng = 0xDEAD_BEEF_u64;
    let mut restarts = 0;
    let end = started + Duration::from_secs(seconds);
    let mut next_restart = started + Duration::from_millis(500 + next(&mut rng) % 1500);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
        let since = started.elapsed().as_millis() as u64 - last_progress.load(Ordering::Relaxed);
        assert!(since < 30_000, "deadlock: no call finished for {since} ms");
        if Instant::now() >= next_restart {
            dc.restart();
            restarts += 1;
            next_restart = Instant::now() + Duration::from_millis(500 + next(&mut rng) % 2500);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(60);
    for w in workers {
        while !w.is_finished() {
            assert!(
                Instant::now() < deadline,
                "deadlock: a worker never returned"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        w.join().expect("a worker panicked");
    }
    // Recovery: once the server is up again, every account works through the pools
    // (within 10 s of the last restart).
    for user in &users {
        for use_pop in [false, true] {
            let cfg = account(&dc, &user.name, &user.password, use_pop);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let result = if use_pop {
                    pop.get(&cfg).and_then(|p| p.stat().map(drop))
                } else {
                    imap.search(&cfg, "INBOX", &SearchQuery::all()).map(drop)
                };
                match result {
                    Ok(()) => break,
                    Err(e) => {
                        assert!(
                            Instant::now() < deadline,
                            "{} (pop3: {use_pop}) did not recover: {e:?}",
                            user.name
                        );
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        }
    }
    imap.disconnect_all();
    pop.clear_all();
    std::thread::sleep(Duration::from_millis(200));
    let fds_after = open_fds();
    let rss_after = rss_kib();
    println!(
        "soak: {seconds}s, {THREADS} threads, {} calls, {} errors, {restarts} restarts; \
         fds {fds_before} -> {fds_after}; VmRSS {rss_before} KiB -> {rss_after} KiB",
        calls.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed)
    );
    assert!(calls.load(Ordering::Relaxed) > 0);
    assert!(
        fds_after <= fds_before + 4,
        "file descriptors leak: {fds_before} -> {fds_after}"
    );
    assert!(
        rss_after < rss_before + 128 * 1024,
        "memory grows: {rss_before} KiB -> {rss_after} KiB"
    );
}
