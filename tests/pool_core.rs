//! The generic pool core against a fake manager that counts what it is asked to do, fails
//! on demand or at a seeded random rate, and tracks how many connections are alive at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mailwire::Error;
use mailwire::pool::{AccountKey, AccountStats, Manage, Pool, PoolOptions, Pooled, ReuseKey};
use parking_lot::Mutex;

/// splitmix64: a small seeded generator, good enough to pick failures.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[derive(Default, Debug)]
struct Counters {
    connects: AtomicUsize,
    connect_attempts: AtomicUsize,
    closes: AtomicUsize,
    valid_checks: AtomicUsize,
    next_id: AtomicU64,
    /// Connections alive per user, and the most seen at once.
    live: Mutex<HashMap<String, (usize, usize)>>,
    live_total: Mutex<(usize, usize)>,
    /// Per mille failure rate of connect / is_valid / has_broken.
    fail_per_mille: AtomicU64,
    rng: AtomicU64,
    /// The next this many connects fail.
    fail_next_connects: AtomicUsize,
    /// Every connect fails with an authentication error.
    reject_auth: AtomicBool,
    /// Every connect is refused with Gmail's "too many simultaneous connections".
    throttle: AtomicBool,
    connect_delay_ms: AtomicU64,
    close_delay_ms: AtomicU64,
    manager_dropped: AtomicBool,
}

impl Counters {
    fn random_failure(&self) -> bool {
        let rate = self.fail_per_mille.load(Ordering::Relaxed);
        if rate == 0 {
            return false;
        }
        let n = self.rng.fetch_add(1, Ordering::Relaxed);
        splitmix64(n) % 1000 < rate
    }

    fn max_live(&self, user: &str) -> usize {
        self.live.lock().get(user).map_or(0, |e| e.1)
    }

    fn live(&self, user: &str) -> usize {
        self.live.lock().get(user).map_or(0, |e| e.0)
    }
}

struct Fake {
    c: Arc<Counters>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.c.manager_dropped.store(true, Ordering::SeqCst);
    }
}

struct Target {
    user: String,
    password: String,
}

fn target(user: &str, password: &str) -> Target {
    Target {
        user: user.into(),
        password: password.into(),
    }
}

#[derive(Debug)]
struct Conn {
    id: u64,
    user: String,
    /// Set by a test: has_broken reports it.
    dead: bool,
    /// Set by a test: is_valid fails.
    stale: bool,
    c: Arc<Counters>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(e) = self.c.live.lock().get_mut(&self.user) {
            e.0 -= 1;
        }
        self.c.live_total.lock().0 -= 1;
    }
}

fn io_error() -> Error {
    Error::Io {
        operation: "faking".into(),
        source: std::io::Error::other("injected"),
    }
}

/// Gmail's answer to a LOGIN beyond its connection limit.
fn too_many() -> Error {
    Error::Server {
        status: mailwire::ServerStatus::No,
        command: "LOGIN".into(),
        code: Some("ALERT".into()),
        text: "Too many simultaneous connections. (Failure)".into(),
    }
}

/// A throttling answer: transient, with a hint, and not a pool timeout.
fn is_throttling(e: &Error) -> bool {
    matches!(e, Error::Server { .. }) && e.is_transient() && e.retry_after().is_some()
}

impl Manage for Fake {
    type Target = Target;
    type Connection = Conn;

    fn reuse_key(&self, t: &Target) -> ReuseKey {
        ReuseKey::new(
            AccountKey::new("Fake.Example", 143, &t.user),
            &("imap+plain", &t.password),
        )
    }

    fn connect(&self, t: &Target) -> mailwire::Result<Conn> {
        self.c.connect_attempts.fetch_add(1, Ordering::SeqCst);
        let delay = self.c.connect_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            thread::sleep(Duration::from_millis(delay));
        }
        if self.c.throttle.load(Ordering::SeqCst) {
            return Err(too_many());
        }
        if self.c.reject_auth.load(Ordering::SeqCst) {
            return Err(Error::Auth {
                mechanism: "LOGIN".into(),
                text: "bad password".into(),
            });
        }
        let forced = self
            .c
            .fail_next_connects
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if forced || self.c.random_failure() {
            return Err(Error::Connect {
                host: "fake.example".into(),
                port: 143,
                source: std::io::Error::other("refused"),
            });
        }
        self.c.connects.fetch_add(1, Ordering::SeqCst);
        {
            let mut live = self.c.live.lock();
            let e = live.entry(t.user.clone()).or_default();
            e.0 += 1;
            e.1 = e.1.max(e.0);
            let mut total = self.c.live_total.lock();
            total.0 += 1;
            total.1 = total.1.max(total.0);
        }
        Ok(Conn {
            id: self.c.next_id.fetch_add(1, Ordering::SeqCst) + 1,
            user: t.user.clone(),
            dead: false,
            stale: false,
            c: Arc::clone(&self.c),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> mailwire::Result<()> {
        self.c.valid_checks.fetch_add(1, Ordering::SeqCst);
        if conn.stale || self.c.random_failure() {
            return Err(io_error());
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.dead || self.c.random_failure()
    }

    fn close(&self, conn: Conn) {
        let delay = self.c.close_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            thread::sleep(Duration::from_millis(delay));
        }
        self.c.closes.fetch_add(1, Ordering::SeqCst);
        drop(conn);
    }
}

fn pool(options: PoolOptions) -> (Pool<Fake>, Arc<Counters>) {
    let c = Arc::new(Counters::default());
    let pool = Pool::new(Fake { c: Arc::clone(&c) }, options).unwrap();
    (pool, c)
}

/// The account key of `user` on the fake server.
fn account(user: &str) -> AccountKey {
    AccountKey::new("fake.example", 143, user)
}

/// Polls `f` every 10 ms until it holds or `limit` passes; returns the time it took.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        thread::sleep(Duration::from_millis(10));
    }
    f().then(|| start.elapsed())
}

#[test]
fn pool_and_guard_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pool<Fake>>();
    assert_send_sync::<Pooled<Fake>>();
    assert_send_sync::<AccountKey>();
}

#[test]
fn invalid_options_are_rejected() {
    let c = Arc::new(Counters::default());
    for options in [
        PoolOptions::new().max_per_account(0),
        PoolOptions::new().max_total(Some(0)),
        PoolOptions::new().idle_timeout(Duration::ZERO),
        PoolOptions::new().max_lifetime(Duration::ZERO),
    ] {
        let err = Pool::new(Fake { c: Arc::clone(&c) }, options).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }
    assert_eq!(
        PoolOptions::new()
            .idle_timeout(Duration::from_secs(1))
            .reap_interval(),
        Duration::from_millis(500)
    );
    assert_eq!(PoolOptions::new().reap_interval(), Duration::from_secs(30));
}

#[test]
fn limits_per_account_and_in_total_are_never_exceeded() {
    let (pool, c) = pool(
        PoolOptions::new()
            .max_per_account(3)
            .max_total(Some(4))
            .get_timeout(Duration::from_secs(20)),
    );
    c.connect_delay_ms.store(1, Ordering::Relaxed);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let pool = pool.clone();
            thread::spawn(move || {
                let t = target(if i % 2 == 0 { "alice" } else { "bob" }, "pw");
                for _ in 0..60 {
                    let conn = pool.get(&t).unwrap();
                    assert_eq!(conn.user, t.user);
                    thread::sleep(Duration::from_micros(300));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(c.max_live("alice") <= 3, "alice: {}", c.max_live("alice"));
    assert!(c.max_live("bob") <= 3, "bob: {}", c.max_live("bob"));
    let max_total = c.live_total.lock().1;
    assert!(max_total <= 4, "total: {max_total}");
    // Both limits were actually reached, so the test did exercise them.
    assert_eq!(max_total, 4);
    assert!(pool.open_connections() <= 4);
    for (_, s) in pool.stats() {
        assert_eq!((s.in_use, s.waiting), (0, 0));
    }
}

#[test]
fn idle_connections_are_reused_last_in_first_out() {
    let (pool, c) = pool(PoolOptions::new());
    let t = target("alice", "pw");
    let a = pool.get(&t).unwrap();
    let b = pool.get(&t).unwrap();
    let d = pool.get(&t).unwrap();
    let (ida, idb, idd) = (a.id, b.id, d.id);
    assert_eq!(c.connects.load(Ordering::SeqCst), 3);
    drop(a);
    drop(d);
    drop(b);
    assert_eq!(pool.get(&t).unwrap().id, idb);
    let first = pool.get(&t).unwrap();
    let second = pool.get(&t).unwrap();
    assert_eq!((first.id, second.id), (idb, idd));
    let third = pool.get(&t).unwrap();
    assert_eq!(third.id, ida);
    assert_eq!(c.connects.load(Ordering::SeqCst), 3);
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.idle, s.in_use, s.created), (0, 3, 3));
}

#[test]
fn broken_connections_are_closed_and_counted_never_reused() {
    let (pool, c) = pool(PoolOptions::new());
    let t = target("alice", "pw");
    let k = account("alice");

    let mut conn = pool.get(&t).unwrap();
    let first = conn.id;
    conn.mark_broken();
    assert!(conn.is_marked_broken());
    drop(conn);
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
    assert_eq!(c.live("alice"), 0);

    // has_broken (no I/O) is asked on return.
    let mut conn = pool.get(&t).unwrap();
    assert_ne!(conn.id, first);
    conn.dead = true;
    drop(conn);
    assert_eq!(c.closes.load(Ordering::SeqCst), 2);

    // run() marks the connection broken on a connection-breaking error only.
    let mut conn = pool.get(&t).unwrap();
    let kept = conn.id;
    let err = conn
        .run(|_| -> mailwire::Result<()> {
            Err(Error::Server {
                status: mailwire::ServerStatus::No,
                command: "SELECT".into(),
                code: None,
                text: "no such mailbox".into(),
            })
        })
        .unwrap_err();
    assert!(matches!(err, Error::Server { .. }));
    assert!(!conn.is_marked_broken());
    drop(conn);
    let mut conn = pool.get(&t).unwrap();
    assert_eq!(conn.id, kept, "a NO must not discard the connection");
    assert_eq!(conn.run(|c| Ok(c.id)).unwrap(), kept);
    assert!(
        conn.run(|_| -> mailwire::Result<()> { Err(io_error()) })
            .is_err()
    );
    assert!(conn.is_marked_broken());
    drop(conn);
    assert_ne!(pool.get(&t).unwrap().id, kept);

    let s = pool.stats_for(&k);
    assert_eq!((s.broken, s.closed, s.created), (3, 3, 4));
    assert_eq!((s.in_use, s.idle), (0, 1));
}

#[test]
fn a_connect_error_surfaces_at_once_and_is_not_a_timeout() {
    let (pool, c) = pool(PoolOptions::new().max_per_account(1));
    let t = target("alice", "pw");
    c.reject_auth.store(true, Ordering::SeqCst);
    let start = Instant::now();
    let err = pool.get_timeout(&t, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    // Not retried by the pool, and its permit is back: a second call also fails at once.
    let err = pool.get_timeout(&t, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(c.connect_attempts.load(Ordering::SeqCst), 2);
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.connect_errors, s.timeouts, s.in_use), (2, 0, 0));
    assert_eq!(pool.open_connections(), 0);
}

#[test]
fn a_waiter_behind_a_failed_connect_is_not_starved() {
    let (pool, c) = pool(PoolOptions::new().max_per_account(1));
    c.connect_delay_ms.store(300, Ordering::SeqCst);
    c.fail_next_connects.store(1, Ordering::SeqCst);
    let first = {
        let pool = pool.clone();
        thread::spawn(move || pool.get_timeout(&target("alice", "pw"), Duration::from_secs(5)))
    };
    // The second caller arrives while the first holds the only permit, connecting.
    assert!(
        eventually(Duration::from_secs(2), || c
            .connect_attempts
            .load(Ordering::SeqCst)
            == 1)
        .is_some()
    );
    let start = Instant::now();
    let second = pool
        .get_timeout(&target("alice", "pw"), Duration::from_secs(5))
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(2));
    let err = first.join().unwrap().unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_eq!(second.id, 1);
    assert_eq!(c.connect_attempts.load(Ordering::SeqCst), 2);
}

#[test]
fn acquire_times_out_when_every_permit_stays_busy() {
    let (pool, _c) = pool(PoolOptions::new().max_per_account(1));
    let t = target("alice", "pw");
    let held = pool.get(&t).unwrap();
    let start = Instant::now();
    let err = pool
        .get_timeout(&t, Duration::from_millis(200))
        .unwrap_err();
    let elapsed = start.elapsed();
    match &err {
        Error::PoolTimeout { account, waited } => {
            assert_eq!(account, "alice@fake.example:143");
            assert!(*waited >= Duration::from_millis(200), "{waited:?}");
        }
        other => panic!("expected PoolTimeout, got {other:?}"),
    }
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert!(!err.is_transient());
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.timeouts, s.waiting, s.in_use), (1, 0, 1));
    // Another account is not affected by alice's limit.
    let bob = pool.get_timeout(&target("bob", "pw"), Duration::from_millis(200));
    assert!(bob.is_ok());
    // Once the connection is back, the waiter gets it.
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || {
            pool.get_timeout(&target("alice", "pw"), Duration::from_secs(5))
                .map(|c| c.id)
        })
    };
    assert!(
        eventually(Duration::from_secs(2), || pool
            .stats_for(&account("alice"))
            .waiting
            == 1)
        .is_some()
    );
    let id = held.id;
    drop(held);
    assert_eq!(waiter.join().unwrap().unwrap(), id);
}

#[test]
fn idle_connections_are_health_checked_after_test_after() {
    let (pool, c) = pool(PoolOptions::new().test_after(Duration::from_millis(100)));
    let t = target("alice", "pw");
    let first = pool.get(&t).unwrap().id;
    assert_eq!(pool.get(&t).unwrap().id, first);
    assert_eq!(
        c.valid_checks.load(Ordering::SeqCst),
        0,
        "too early to check"
    );
    thread::sleep(Duration::from_millis(150));
    let mut conn = pool.get(&t).unwrap();
    assert_eq!(conn.id, first);
    assert_eq!(c.valid_checks.load(Ordering::SeqCst), 1);
    conn.stale = true;
    drop(conn);
    thread::sleep(Duration::from_millis(150));
    let conn = pool.get(&t).unwrap();
    assert_ne!(
        conn.id, first,
        "a connection failing its check must be replaced"
    );
    assert_eq!(c.valid_checks.load(Ordering::SeqCst), 2);
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.broken, s.created, s.in_use), (1, 2, 1));
}

#[test]
fn reaper_closes_connections_idle_longer_than_idle_timeout() {
    let (pool, c) = pool(PoolOptions::new().idle_timeout(Duration::from_secs(1)));
    let t = target("alice", "pw");
    let conns: Vec<_> = (0..3).map(|_| pool.get(&t).unwrap()).collect();
    drop(conns);
    assert_eq!(pool.stats_for(&account("alice")).idle, 3);
    let took = eventually(Duration::from_secs(3), || {
        c.closes.load(Ordering::SeqCst) == 3
    })
    .expect("idle connections were not closed");
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
    assert!(
        took <= Duration::from_millis(2500),
        "closed too late: {took:?}"
    );
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.idle, s.closed, s.in_use), (0, 3, 0));
    assert_eq!(pool.open_connections(), 0);
}

#[test]
fn connections_older_than_max_lifetime_are_closed() {
    let (pool, c) = pool(PoolOptions::new().max_lifetime(Duration::from_millis(600)));
    let t = target("alice", "pw");
    // Given back after its lifetime: closed on return.
    let old = pool.get(&t).unwrap();
    thread::sleep(Duration::from_millis(650));
    drop(old);
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
    // Idle past its lifetime: closed by the reaper.
    drop(pool.get(&t).unwrap());
    assert_eq!(pool.stats_for(&account("alice")).idle, 1);
    assert!(
        eventually(Duration::from_secs(2), || c.closes.load(Ordering::SeqCst)
            == 2)
        .is_some()
    );
    assert_eq!(pool.stats_for(&account("alice")).idle, 0);
}

#[test]
fn reaper_thread_ends_and_idle_connections_close_when_the_pool_is_dropped() {
    let (pool, c) = pool(PoolOptions::new());
    let t = target("alice", "pw");
    let a = pool.get(&t).unwrap();
    let held = pool.get(&t).unwrap();
    drop(a);
    let clone = pool.clone();
    drop(pool);
    // A clone keeps everything alive.
    thread::sleep(Duration::from_millis(100));
    assert_eq!(c.closes.load(Ordering::SeqCst), 0);
    drop(clone);
    // The reaper closes the idle connection on its way out...
    assert!(
        eventually(Duration::from_secs(1), || c.closes.load(Ordering::SeqCst)
            == 1)
        .is_some()
    );
    // ...and the guard still works; given back, its connection is closed.
    assert_eq!(held.user, "alice");
    assert!(!c.manager_dropped.load(Ordering::SeqCst));
    drop(held);
    assert_eq!(c.closes.load(Ordering::SeqCst), 2);
    assert_eq!(c.live("alice"), 0);
    // The manager is dropped only once the reaper thread let go of the pool.
    assert!(
        eventually(Duration::from_secs(1), || c
            .manager_dropped
            .load(Ordering::SeqCst))
        .is_some()
    );
}

#[test]
fn reaper_thread_exits_within_a_second_of_drop() {
    // A long reap interval: the thread must not wait for its next tick to notice.
    let (pool, c) = pool(PoolOptions::new().reap_every(Duration::from_secs(60)));
    drop(pool.get(&target("alice", "pw")).unwrap());
    drop(pool);
    let took = eventually(Duration::from_secs(1), || {
        c.manager_dropped.load(Ordering::SeqCst)
    })
    .expect("the reaper thread did not end");
    assert!(took < Duration::from_secs(1));
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
}

#[test]
fn clear_closes_idle_now_and_in_use_on_return() {
    let (pool, c) = pool(PoolOptions::new());
    let alice = target("alice", "pw");
    let bob = target("bob", "pw");
    let a_held = pool.get(&alice).unwrap();
    drop(pool.get(&alice).unwrap());
    let b_held = pool.get(&bob).unwrap();
    drop(pool.get(&bob).unwrap());
    let a_idle = pool.stats_for(&account("alice")).idle;
    assert_eq!(a_idle, 1);

    pool.clear(&account("alice"));
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
    assert_eq!(pool.stats_for(&account("bob")).idle, 1);
    drop(a_held);
    assert_eq!(
        c.closes.load(Ordering::SeqCst),
        2,
        "in-use connection closed on return"
    );
    assert_eq!(pool.stats_for(&account("alice")).idle, 0);
    // New connections after the clear are pooled again.
    drop(pool.get(&alice).unwrap());
    assert_eq!(pool.stats_for(&account("alice")).idle, 1);

    pool.clear_all();
    assert_eq!(c.closes.load(Ordering::SeqCst), 4);
    drop(b_held);
    assert_eq!(c.closes.load(Ordering::SeqCst), 5);
    assert_eq!(pool.open_connections(), 0);
    for (_, s) in pool.stats() {
        assert_eq!((s.idle, s.in_use), (0, 0));
    }
}

#[test]
fn stats_report_each_account() {
    let (pool, _c) = pool(PoolOptions::new().max_per_account(2));
    let alice = target("alice", "pw");
    let a1 = pool.get(&alice).unwrap();
    let a2 = pool.get(&alice).unwrap();
    drop(pool.get(&target("bob", "pw")).unwrap());
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || {
            drop(
                pool.get_timeout(&target("alice", "pw"), Duration::from_secs(5))
                    .unwrap(),
            )
        })
    };
    assert!(
        eventually(Duration::from_secs(2), || pool
            .stats_for(&account("alice"))
            .waiting
            == 1)
        .is_some()
    );
    let stats = pool.stats();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].0.to_string(), "alice@fake.example:143");
    let mut expected = AccountStats::default();
    expected.in_use = 2;
    expected.waiting = 1;
    expected.created = 2;
    assert_eq!(stats[0].1, expected);
    assert_eq!(stats[1].0.to_string(), "bob@fake.example:143");
    assert_eq!(
        (stats[1].1.idle, stats[1].1.in_use, stats[1].1.created),
        (1, 0, 1)
    );
    drop(a1);
    waiter.join().unwrap();
    drop(a2);
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.idle, s.in_use, s.waiting, s.created), (2, 0, 0, 2));
    assert_eq!(pool.stats_for(&account("carol")), AccountStats::default());
    assert!(format!("{pool:?}").contains("open: 3"));
}

#[test]
fn a_different_password_never_gets_another_users_connection() {
    let (pool, c) = pool(PoolOptions::new());
    let right = pool.get(&target("alice", "right")).unwrap();
    let right_id = right.id;
    drop(right);
    let reuse = |password: &str| pool.reuse_key_for(&target("alice", password));
    assert_ne!(reuse("right"), reuse("wrong"));
    assert_eq!(reuse("right"), reuse("right"));
    assert_eq!(reuse("right").account(), &account("alice"));
    c.reject_auth.store(true, Ordering::SeqCst);
    // The wrong password goes to the server (which rejects it), not to alice's idle connection.
    let err = pool.get(&target("alice", "wrong")).unwrap_err();
    assert!(matches!(err, Error::Auth { .. }));
    c.reject_auth.store(false, Ordering::SeqCst);
    let other = pool.get(&target("alice", "other")).unwrap();
    assert_ne!(other.id, right_id);
    assert_eq!(pool.get(&target("alice", "right")).unwrap().id, right_id);
    drop(other);
    // One account: its statistics cover all three.
    assert_eq!(pool.stats().len(), 1);
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.created, s.connect_errors, s.idle), (2, 1, 2), "{s:?}");
}

#[test]
fn two_identities_of_one_account_share_its_limit_not_its_connections() {
    let (pool, c) = pool(
        PoolOptions::new()
            .max_per_account(1)
            .get_timeout(Duration::from_secs(5)),
    );
    let a = pool.get(&target("alice", "a")).unwrap();
    let a_id = a.id;
    assert_eq!(a.key(), &account("alice"));
    assert_eq!(a.reuse_key(), &pool.reuse_key_for(&target("alice", "a")));
    // B waits for the account's one permit...
    let started = Instant::now();
    match pool.get_timeout(&target("alice", "b"), Duration::from_millis(50)) {
        Err(Error::PoolTimeout { account, .. }) => assert_eq!(account, "alice@fake.example:143"),
        other => panic!("expected a pool timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    // ...and, once A is idle, closes it to make room instead of taking it.
    drop(a);
    let b = pool.get(&target("alice", "b")).unwrap();
    assert_ne!(b.id, a_id);
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
    assert_eq!(c.max_live("alice"), 1);
    assert_eq!(pool.open_connections(), 1);
    // A waiter of A behind the busy B is served once B comes back, with a fresh connection.
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || pool.get(&target("alice", "a")).map(|g| g.id))
    };
    assert!(
        eventually(Duration::from_secs(3), || pool
            .stats_for(&account("alice"))
            .waiting
            == 1)
        .is_some()
    );
    let b_id = b.id;
    drop(b);
    let new_a = waiter.join().unwrap().unwrap();
    assert!(new_a != a_id && new_a != b_id);
    assert_eq!(c.max_live("alice"), 1);
    // With room for both, each identity keeps and reuses its own connection.
    let (pool, _c) = pool_with_room();
    let a = pool.get(&target("alice", "a")).unwrap().id;
    let b = pool.get(&target("alice", "b")).unwrap().id;
    assert_ne!(a, b);
    for _ in 0..3 {
        assert_eq!(pool.get(&target("alice", "a")).unwrap().id, a);
        assert_eq!(pool.get(&target("alice", "b")).unwrap().id, b);
    }
    assert_eq!(pool.stats_for(&account("alice")).created, 2);
}

#[test]
fn a_caller_making_room_for_its_config_keeps_its_place_in_line() {
    // A holds the account's one permit; B (another config of the account) queues first,
    // then C (A's config). When A comes back, B is first: it closes A's idle connection
    // and must get the permit it made room for, not C behind it.
    let (pool, c) = pool(
        PoolOptions::new()
            .max_per_account(1)
            .get_timeout(Duration::from_secs(10)),
    );
    c.close_delay_ms.store(200, Ordering::SeqCst);
    let a = pool.get(&target("alice", "a")).unwrap();
    let waiting = |n: usize| {
        eventually(Duration::from_secs(3), || {
            pool.stats_for(&account("alice")).waiting == n
        })
        .is_some()
    };
    let (got_tx, got_rx) = std::sync::mpsc::channel::<&'static str>();
    let spawn = |password: &'static str| {
        let pool = pool.clone();
        let got = got_tx.clone();
        thread::spawn(move || {
            let guard = pool.get(&target("alice", password)).unwrap();
            got.send(password).unwrap();
            thread::sleep(Duration::from_millis(300));
            drop(guard);
        })
    };
    let b = spawn("b");
    assert!(waiting(1));
    let c_waiter = spawn("a");
    assert!(waiting(2));
    drop(a);
    let first = got_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let second = got_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((first, second), ("b", "a"), "served out of arrival order");
    b.join().unwrap();
    c_waiter.join().unwrap();
    assert_eq!(c.max_live("alice"), 1);
}

fn pool_with_room() -> (Pool<Fake>, Arc<Counters>) {
    pool(PoolOptions::new().max_per_account(2))
}

#[test]
fn global_limit_makes_room_by_closing_another_accounts_idle_connection() {
    let (pool, c) = pool(PoolOptions::new().max_per_account(2).max_total(Some(1)));
    drop(pool.get(&target("alice", "pw")).unwrap());
    let start = Instant::now();
    let bob = pool
        .get_timeout(&target("bob", "pw"), Duration::from_secs(5))
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
    assert_eq!(c.live("alice"), 0);
    assert_eq!(pool.stats_for(&account("alice")).idle, 0);
    // With bob's connection in use, alice must wait.
    let err = pool
        .get_timeout(&target("alice", "pw"), Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(err, Error::PoolTimeout { .. }));
    drop(bob);
}

#[test]
fn a_guard_dropped_while_panicking_discards_its_connection() {
    let (pool, c) = pool(PoolOptions::new().max_per_account(1));
    let t = target("alice", "pw");
    let first = pool.get(&t).unwrap().id;
    let p = pool.clone();
    let result = thread::spawn(move || {
        let conn = p.get(&target("alice", "pw")).unwrap();
        assert_eq!(conn.id, 1);
        panic!("user code failed halfway through a command");
    })
    .join();
    assert!(result.is_err());
    assert_eq!(c.closes.load(Ordering::SeqCst), 1);
    let s = pool.stats_for(&account("alice"));
    assert_eq!((s.in_use, s.idle, s.broken), (0, 0, 1));
    // The permit is back: the only slot can be used again, by a new connection.
    let conn = pool.get_timeout(&t, Duration::from_millis(500)).unwrap();
    assert_ne!(conn.id, first);
}

#[test]
fn a_slot_is_released_only_once_its_connection_is_closed() {
    // One connection per account (POP3's maildrop lock): the next session must not log in
    // while the old one is still quitting.
    let (pool, c) = pool(PoolOptions::new().max_per_account(1));
    c.close_delay_ms.store(200, Ordering::SeqCst);
    let mut held = pool.get(&target("alice", "pw")).unwrap();
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || {
            pool.get_timeout(&target("alice", "pw"), Duration::from_secs(5))
                .map(|c| c.id)
        })
    };
    assert!(
        eventually(Duration::from_secs(2), || pool
            .stats_for(&account("alice"))
            .waiting
            == 1)
        .is_some()
    );
    held.mark_broken();
    drop(held);
    assert_eq!(waiter.join().unwrap().unwrap(), 2);
    assert_eq!(c.max_live("alice"), 1);
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let (pool, _c) = pool(PoolOptions::new().max_per_account(1));
    let held = pool.get(&target("alice", "pw")).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for n in 1..=3 {
        let p = pool.clone();
        let order = Arc::clone(&order);
        waiters.push(thread::spawn(move || {
            let conn = p
                .get_timeout(&target("alice", "pw"), Duration::from_secs(5))
                .unwrap();
            order.lock().push(n);
            thread::sleep(Duration::from_millis(20));
            drop(conn);
        }));
        assert!(
            eventually(Duration::from_secs(2), || pool
                .stats_for(&account("alice"))
                .waiting
                == n)
            .is_some()
        );
    }
    drop(held);
    for w in waiters {
        w.join().unwrap();
    }
    assert_eq!(*order.lock(), vec![1, 2, 3]);
}

#[test]
fn stress_with_random_failures_finishes_and_returns_every_permit() {
    const MAX: usize = 4;
    let (pool, c) = pool(
        PoolOptions::new()
            .max_per_account(MAX)
            .test_after(Duration::ZERO)
            .get_timeout(Duration::from_secs(30)),
    );
    c.fail_per_mille.store(50, Ordering::SeqCst);
    c.rng.store(0x5eed, Ordering::SeqCst);
    let start = Instant::now();
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let pool = pool.clone();
            thread::spawn(move || {
                let t = target(if i % 4 == 0 { "bob" } else { "alice" }, "pw");
                let (mut ok, mut failed) = (0u32, 0u32);
                for n in 0..2_000u32 {
                    match pool.get(&t) {
                        Ok(mut conn) => {
                            ok += 1;
                            if n % 97 == 0 {
                                conn.mark_broken();
                            }
                        }
                        Err(Error::Connect { .. }) => failed += 1,
                        Err(other) => panic!("unexpected error: {other:?}"),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for h in handles {
        let (o, f) = h.join().unwrap();
        ok += o;
        failed += f;
    }
    let took = start.elapsed();
    assert_eq!(ok + failed, 32_000);
    assert!(failed > 0, "the failure injection did not run");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(c.max_live("alice") <= MAX && c.max_live("bob") <= MAX);
    let mut idle = 0;
    for (k, s) in pool.stats() {
        assert_eq!((s.in_use, s.waiting), (0, 0), "{k}: {s:?}");
        assert!(s.idle <= MAX);
        assert!(s.broken > 0);
        idle += s.idle;
    }
    // Nothing leaked: what is open is exactly what is idle.
    assert_eq!(pool.open_connections(), idle);
    assert_eq!(
        c.connects.load(Ordering::SeqCst) - c.closes.load(Ordering::SeqCst),
        idle
    );
    // Every permit is back: MAX connections can be checked out at once, and no more.
    c.fail_per_mille.store(0, Ordering::SeqCst);
    let t = target("alice", "pw");
    let all: Vec<_> = (0..MAX)
        .map(|_| pool.get_timeout(&t, Duration::from_millis(500)).unwrap())
        .collect();
    assert!(matches!(
        pool.get_timeout(&t, Duration::from_millis(50)),
        Err(Error::PoolTimeout { .. })
    ));
    drop(all);
    eprintln!("stress: {ok} checkouts, {failed} connect failures in {took:?}");
}

#[test]
fn a_slow_connect_or_close_of_one_account_never_blocks_checkouts_of_another() {
    let (pool, c) = pool(PoolOptions::new().max_per_account(2));
    // An idle connection for "fast", made while connects are quick.
    drop(pool.get(&target("fast", "pw")).unwrap());
    drop(pool.get(&target("closing", "pw")).unwrap());
    c.connect_delay_ms.store(1500, Ordering::SeqCst);
    c.close_delay_ms.store(1500, Ordering::SeqCst);
    let slow = {
        let pool = pool.clone();
        thread::spawn(move || pool.get(&target("slow", "pw")).map(drop))
    };
    let closing = {
        let pool = pool.clone();
        thread::spawn(move || pool.clear(&account("closing")))
    };
    thread::sleep(Duration::from_millis(200)); // both are now inside connect / close
    let started = Instant::now();
    let fast = pool.get(&target("fast", "pw")).unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "a checkout of another account waited {took:?}"
    );
    drop(fast);
    slow.join().unwrap().unwrap();
    closing.join().unwrap();
}

#[test]
fn a_throttled_account_opens_no_connection_until_its_backoff_passes() {
    let backoff = Duration::from_millis(400);
    let (pool, c) = pool(PoolOptions::new().max_per_account(2).max_backoff(backoff));
    let t = target("alice", "pw");
    c.throttle.store(true, Ordering::SeqCst);
    let err = pool.get_timeout(&t, Duration::from_secs(5)).unwrap_err();
    assert!(is_throttling(&err), "{err:?}");
    assert!(pool.stats_for(&account("alice")).backing_off);
    // The backoff outlasts the caller's timeout and no connection could come back: the
    // throttling answer at once, without a connect.
    let start = Instant::now();
    let err = pool
        .get_timeout(&t, Duration::from_millis(100))
        .unwrap_err();
    assert!(is_throttling(&err), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_millis(90),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.connect_attempts.load(Ordering::SeqCst), 1);
    // Four workers asking for 1.5 s: one probe per backoff step (400 ms, the hint capped),
    // never a connect per call; every failure is the throttling answer.
    let until = Instant::now() + Duration::from_millis(1500);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (pool, t) = (pool.clone(), target("alice", "pw"));
            thread::spawn(move || {
                let mut calls = 0;
                while Instant::now() < until {
                    let err = pool.get_timeout(&t, Duration::from_millis(50)).unwrap_err();
                    assert!(is_throttling(&err), "{err:?}");
                    calls += 1;
                    thread::sleep(Duration::from_millis(5));
                }
                calls
            })
        })
        .collect();
    let calls: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let attempts = c.connect_attempts.load(Ordering::SeqCst);
    assert!(calls > 100, "{calls} calls");
    assert!(attempts <= 1 + 5, "{attempts} connects for {calls} calls");
    // The server lets it in again: the next probe connects and ends the backoff.
    c.throttle.store(false, Ordering::SeqCst);
    let conn = pool.get_timeout(&t, Duration::from_secs(5));
    assert!(conn.is_ok(), "{:?}", conn.err());
    drop(conn);
    let s = pool.stats_for(&account("alice"));
    assert!(!s.backing_off, "{s:?}");
    assert_eq!(s.throttled, attempts as u64, "{s:?}");
}

#[test]
fn a_throttled_account_keeps_using_its_open_connections() {
    let (pool, c) = pool(PoolOptions::new().max_per_account(2));
    let t = target("alice", "pw");
    let first = pool.get(&t).unwrap();
    let first_id = first.id;
    c.throttle.store(true, Ordering::SeqCst);
    let err = pool.get(&t).unwrap_err();
    assert!(is_throttling(&err), "{err:?}");
    drop(first);
    // The default backoff (30 s) is far longer than this call's timeout, yet the idle
    // connection is handed out.
    let again = pool.get_timeout(&t, Duration::from_millis(200)).unwrap();
    assert_eq!(again.id, first_id);
    assert_eq!(c.connect_attempts.load(Ordering::SeqCst), 2);
    // A caller that finds it busy waits for it to come back rather than connecting.
    let waiter = {
        let (pool, t) = (pool.clone(), target("alice", "pw"));
        thread::spawn(move || pool.get_timeout(&t, Duration::from_secs(5)).map(|g| g.id))
    };
    thread::sleep(Duration::from_millis(100));
    drop(again);
    assert_eq!(waiter.join().unwrap().ok(), Some(first_id));
    assert_eq!(c.connect_attempts.load(Ordering::SeqCst), 2);
}

#[test]
fn a_throttling_answer_that_breaks_a_connection_backs_the_account_off() {
    let (pool, c) = pool(PoolOptions::new().max_per_account(2));
    let t = target("alice", "pw");
    let mut conn = pool.get(&t).unwrap();
    let not_connected = || Error::Server {
        status: mailwire::ServerStatus::Bad,
        command: "SELECT".into(),
        code: None,
        text: "User is authenticated but not connected.".into(),
    };
    let err = conn
        .run(|_| -> mailwire::Result<()> { Err(not_connected()) })
        .unwrap_err();
    assert!(err.breaks_connection() && is_throttling(&err), "{err:?}");
    drop(conn);
    assert!(pool.stats_for(&account("alice")).backing_off);
    // No new connection while it backs off: the throttling answer, without a connect.
    let err = pool
        .get_timeout(&t, Duration::from_millis(100))
        .unwrap_err();
    assert!(is_throttling(&err), "{err:?}");
    assert_eq!(c.connect_attempts.load(Ordering::SeqCst), 1);
}
