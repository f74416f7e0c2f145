//! ImapPool and ImapHandler against the real Dovecot, and a stress run against a scripted
//! server that fails at random.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mailwire::imap::{FetchWhat, ImapHandler, ImapPool, SearchQuery, Selection};
use mailwire::pool::PoolOptions;
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn account(dc: &Dovecot, user: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: Sender {i} <s{i}@example.org>\r\nTo: r@example.org\r\nSubject: pooled message {i}\r\nMessage-ID: <p{i}@example.org>\r\n\r\nBody {i}\r\n"
    )
    .into_bytes()
}

#[test]
fn handler_and_pool_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<ImapHandler>();
    check::<ImapPool>();
}

#[test]
fn concurrent_handler_calls_respect_the_per_account_limit() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let users = [dc.add_user(), dc.add_user()];
    let accounts: Vec<Config> = users.iter().map(|u| account(dc, u)).collect();
    for u in &users {
        let msgs: Vec<Vec<u8>> = (0..5).map(message).collect();
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        dc.seed(u, "INBOX", &refs);
    }
    let handler = ImapHandler::with_options(PoolOptions::new().max_per_account(3)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let max_server = Arc::new(AtomicUsize::new(0));
    let monitor = {
        let (handler, accounts, done, max_seen, max_server) = (
            handler.clone(),
            accounts.clone(),
            done.clone(),
            max_seen.clone(),
            max_server.clone(),
        );
        let names: Vec<String> = users.iter().map(|u| u.name.clone()).collect();
        thread::spawn(move || {
            let mut round = 0u32;
            while !done.load(Ordering::Relaxed) {
                for (a, name) in accounts.iter().zip(&names) {
                    let s = handler.stats(a);
                    max_seen.fetch_max(s.in_use + s.idle, Ordering::Relaxed);
                    if round.is_multiple_of(5) {
                        max_server.fetch_max(dc.connections(name), Ordering::Relaxed);
                    }
                }
                round += 1;
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let handler = handler.clone();
            let account = accounts[t % 2].clone();
            thread::spawn(move || {
                for i in 0..200 {
                    match i % 4 {
                        0 => handler.test_connection(&account).unwrap(),
                        1 => assert_eq!(
                            handler
                                .search(&account, "INBOX", &SearchQuery::all())
                                .unwrap()
                                .len(),
                            5
                        ),
                        2 => {
                            let m = handler
                                .fetch_messages(
                                    &account,
                                    "INBOX",
                                    Selection::Newest(2),
                                    FetchWhat::Metadata,
                                )
                                .unwrap();
                            assert_eq!(m.len(), 2);
                        }
                        _ => assert_eq!(
                            handler.folder_status(&account, "INBOX").unwrap().messages,
                            Some(5)
                        ),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    monitor.join().unwrap();
    for a in &accounts {
        let s = handler.stats(a);
        assert_eq!(s.in_use, 0, "{s:?}");
        assert!(s.created <= 3 + s.broken + s.closed, "{s:?}");
    }
    let (pool_max, server_max) = (
        max_seen.load(Ordering::Relaxed),
        max_server.load(Ordering::Relaxed),
    );
    println!(
        "1,600 handler calls on 2 accounts in {took:?}; most connections per account: pool {pool_max}, server {server_max}"
    );
    assert!(
        pool_max <= 3,
        "pool held {pool_max} connections for one account"
    );
    assert!(
        server_max <= 3,
        "the server saw {server_max} connections for one account"
    );
}

#[test]
fn sequential_calls_reuse_one_connection() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[&message(1)]);
    let account = account(dc, &user);
    let handler = ImapHandler::new().unwrap();
    for _ in 0..100 {
        assert_eq!(
            handler
                .search(&account, "INBOX", &SearchQuery::all())
                .unwrap(),
            vec![1]
        );
    }
    let s = handler.stats(&account);
    assert_eq!(s.created, 1, "{s:?}");
    assert_eq!(s.idle, 1);
}

#[test]
fn acquire_timeout_is_a_pool_timeout() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let account = account(dc, &user);
    let pool = ImapPool::with_options(PoolOptions::new().max_per_account(1)).unwrap();
    let held = pool.get(&account).unwrap();
    let started = Instant::now();
    let err = pool
        .get_timeout(&account, Duration::from_millis(200))
        .unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, Error::PoolTimeout { .. }), "{err:?}");
    assert!(err.to_string().contains(&user.name), "{err}");
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(1),
        "{waited:?}"
    );
    drop(held);
    assert!(
        pool.get_timeout(&account, Duration::from_millis(200))
            .is_ok()
    );
}

#[test]
fn a_connection_killed_by_the_server_is_replaced() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[&message(1)]);
    let account = account(dc, &user);
    let handler = ImapHandler::new().unwrap();
    handler.test_connection(&account).unwrap();
    assert_eq!(handler.stats(&account).idle, 1);
    dc.kick(&user.name);
    // The idle connection is dead; the next call must get a fresh one and succeed.
    assert_eq!(
        handler
            .search(&account, "INBOX", &SearchQuery::all())
            .unwrap(),
        vec![1]
    );
    let s = handler.stats(&account);
    assert_eq!(s.created, 2, "{s:?}");
    assert!(s.broken >= 1, "{s:?}");
}

#[test]
fn wrong_password_fails_at_once_and_never_gets_a_pooled_connection() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let good = account(dc, &user);
    let bad = Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, "wrong password")
        .retry(RetryPolicy::new(3, Duration::from_millis(500)))
        .build()
        .unwrap();
    let handler = ImapHandler::new().unwrap();
    // A good connection of the same user sits idle in the pool.
    handler.test_connection(&good).unwrap();
    assert_eq!(handler.stats(&good).idle, 1);
    let started = Instant::now();
    match handler.test_connection(&bad) {
        Err(Error::Auth { .. }) => {}
        other => panic!("expected an authentication error, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // One account (one limit), two reuse keys (never each other's connections).
    assert_eq!(handler.pool().key_for(&good), handler.pool().key_for(&bad));
    assert_ne!(
        handler.pool().reuse_key_for(&good),
        handler.pool().reuse_key_for(&bad)
    );
    // The good connection is untouched and still the only one.
    assert_eq!(handler.stats(&good).idle, 1);
    assert!(matches!(
        handler.authenticate(&bad),
        Err(Error::Auth { .. })
    ));
}

#[test]
fn reaper_closes_idle_connections() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let account = account(dc, &user);
    let pool =
        ImapPool::with_options(PoolOptions::new().idle_timeout(Duration::from_secs(1))).unwrap();
    {
        let a = pool.get(&account).unwrap();
        let b = pool.get(&account).unwrap();
        a.noop().unwrap();
        b.noop().unwrap();
    }
    assert_eq!(pool.stats_for(&account).idle, 2);
    let started = Instant::now();
    while pool.stats_for(&account).idle > 0 && started.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(50));
    }
    let closed_after = started.elapsed();
    assert_eq!(pool.stats_for(&account).idle, 0);
    println!("idle connections closed {closed_after:?} after being returned (idle_timeout 1 s)");
    assert!(
        closed_after < Duration::from_millis(2500),
        "{closed_after:?}"
    );
    // The server agrees (its count is updated asynchronously).
    let started = Instant::now();
    while dc.connections(&user.name) > 0 && started.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(dc.connections(&user.name), 0);
}

/// A PRNG for the fault script (no rand crate).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// This process's TCP sockets whose peer is `port` on loopback (the client ends of
/// connections to the scripted server). Counting only these keeps the check exact while
/// the other tests of this binary open and close connections of their own.
fn sockets_to(port: u16) -> usize {
    let ours: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(remote), Some(inode)) = (cols.get(2), cols.get(9)) else {
                continue;
            };
            let remote_port = remote
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if remote_port == Some(port) && ours.contains(*inode) {
                count += 1;
            }
        }
    }
    count
}

#[test]
fn stress_against_a_server_failing_five_percent_of_operations() {
    // Each connection: greeting, login, then NOOPs; every operation fails with probability
    // 5 % (the connection is dropped, or the login is refused as unavailable).
    let server = ScriptServer::start(|i| {
        let mut rng = 0xC0FFEE ^ (i as u64).wrapping_mul(0x1234_5678_9ABC);
        let mut fail = || splitmix(&mut rng) % 100 < 5;
        if fail() {
            return Script::new().close();
        }
        let mut s = Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+] scripted")
            .expect_contains("AUTHENTICATE");
        if fail() {
            return s
                .reply_tagged("NO [UNAVAILABLE] try later")
                .read_until_closed();
        }
        s = s.reply_tagged("OK [CAPABILITY IMAP4rev1 LITERAL+] logged in");
        for _ in 0..200 {
            if fail() {
                return s.expect_any().close();
            }
            s = s.expect_any().reply_tagged("OK done");
        }
        s.read_until_closed()
    });
    let account = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("stress", "pw")
        .timeouts(Duration::from_secs(5))
        // `[UNAVAILABLE]` asks for 10 s: the caps keep the retries and the account's
        // backoff short enough for 32,000 checkouts, while still taking both paths.
        .retry(
            RetryPolicy::new(2, Duration::from_millis(1)).with_max_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let pool = ImapPool::with_options(
        PoolOptions::new()
            .max_per_account(4)
            .max_backoff(Duration::from_millis(20))
            .get_timeout(Duration::from_secs(10)),
    )
    .unwrap();
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (pool, account, ok, failed) =
                (pool.clone(), account.clone(), ok.clone(), failed.clone());
            thread::spawn(move || {
                for _ in 0..2_000 {
                    match pool.get(&account).and_then(|c| c.noop()) {
                        Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            assert!(!matches!(e, Error::PoolTimeout { .. }), "pool timeout: {e}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let took = started.elapsed();
    let s = pool.stats_for(&account);
    println!(
        "stress: 32,000 checkouts in {took:?}: {} ok, {} failed; created {}, broken {}",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        s.created,
        s.broken
    );
    assert_eq!(
        ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed),
        32_000
    );
    assert_eq!(s.in_use, 0, "{s:?}");
    assert_eq!(s.waiting, 0, "{s:?}");
    // Every permit is back: max_per_account connections can be held at once.
    let held: Vec<_> = (0..4)
        .map(|_| pool.get_timeout(&account, Duration::from_millis(500)))
        .collect();
    for r in &held {
        assert!(
            !matches!(r, Err(Error::PoolTimeout { .. })),
            "a permit was not given back: {r:?}"
        );
    }
    drop(held);
    let port = server.port();
    // The count sees the idle connections the pool keeps (so the check below can fail).
    assert!(sockets_to(port) > 0, "the pool kept no idle connection");
    drop(pool);
    // Every connection the pool opened is closed once the pool is gone.
    let started = Instant::now();
    while sockets_to(port) > 0 && started.elapsed() < Duration::from_secs(3) {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sockets_to(port), 0, "connections to the server left open");
    drop(server);
}
