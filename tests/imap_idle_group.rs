//! IdleGroup: 200 listeners against the real Dovecot (all connect, mail reaches the group
//! naming the right watch, stop leaves no thread), `remove`, a panicking and a slow
//! callback, and the connect bound against a scripted server that counts connects in flight.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mailwire::imap::{
    GroupEvent, GroupEvents, IdleEvent, IdleGroup, IdleGroupBuilder, IdleListener, ImapConnection,
    WatchId,
};
use mailwire::{Config, RetryPolicy, Security};
use support::dovecot::{Dovecot, User};

/// The tests count this process's listener threads: one test at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Threads of this process whose name starts with `mailwire-idle` (listeners, the group's
/// dispatcher and its add workers; `comm` is cut at 15 bytes).
fn idle_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|name| name.starts_with("mailwire-idle"))
        .count()
}

fn account(dc: &Dovecot, user: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(20))
        .retry(
            RetryPolicy::new(3, Duration::from_millis(500)).with_max_delay(Duration::from_secs(2)),
        )
        .build()
        .unwrap()
}

fn mail(i: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: group {i}\r\n\r\nhello {i}\r\n")
        .into_bytes()
}

fn append(config: &Config, i: usize) -> u32 {
    let writer = ImapConnection::connect(config).unwrap();
    writer
        .append("INBOX", &mail(i), &[], None)
        .unwrap()
        .expect("APPENDUID")
        .uid
}

/// Collects `NewMessages` per watch until `want` watches have one, up to `timeout`.
fn new_mail(
    events: &GroupEvents,
    want: usize,
    timeout: Duration,
) -> BTreeMap<WatchId, BTreeSet<u32>> {
    let mut seen: BTreeMap<WatchId, BTreeSet<u32>> = BTreeMap::new();
    let until = Instant::now() + timeout;
    while seen.len() < want {
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            break;
        };
        match events.recv_timeout(left) {
            Ok(GroupEvent {
                watch,
                event: IdleEvent::NewMessages { uids },
                ..
            }) => seen.entry(watch).or_default().extend(uids),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    seen
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

#[test]
fn the_group_handle_crosses_threads_and_its_debug_shows_no_secret() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<IdleGroup>();
    send_sync::<GroupEvent>();
    send_sync::<WatchId>();
    fn send<T: Send>() {}
    send::<IdleGroupBuilder>();
    let _serial = serial();
    let group = IdleGroup::builder()
        .max_concurrent_connects(3)
        .on_event(|_| {})
        .build()
        .unwrap();
    let shown = format!("{group:?} {:?}", IdleGroup::builder().on_event(|_| {}));
    assert!(shown.contains("max_concurrent_connects: 3"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
    // A failed add (nothing listens there) keeps no secret in its error either.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("someone", "secret-password")
        .timeouts(Duration::from_secs(2))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = group.add(config, "INBOX").unwrap_err();
    assert!(!format!("{err:?} {group:?}").contains("secret-password"));
    assert!(group.is_empty());
    for bad in [
        IdleGroup::builder().max_concurrent_connects(0).build(),
        IdleGroup::builder().queue_capacity(0).build(),
        IdleGroup::builder().channel_capacity(1).build(),
    ] {
        assert!(matches!(bad, Err(mailwire::Error::InvalidInput { .. })));
    }
}

#[test]
fn two_hundred_listeners_connect_report_mail_naming_their_watch_and_stop_with_every_thread_gone() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let _serial = serial();
    let n: usize = std::env::var("MAILWIRE_GROUP_LISTENERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let users: Vec<User> = (0..n).map(|_| dc.add_user()).collect();
    let configs: Vec<Config> = users.iter().map(|u| account(dc, u)).collect();
    let before = idle_threads();
    let called: Arc<Mutex<BTreeMap<WatchId, BTreeSet<u32>>>> = Arc::default();
    let group = IdleGroup::builder()
        .max_concurrent_connects(16)
        .on_event({
            let called = Arc::clone(&called);
            move |e| {
                // On the group's dispatcher thread, never a listener's.
                if std::thread::current().name() != Some("mailwire-idle-group") {
                    called.lock().unwrap().insert(e.watch, BTreeSet::from([0]));
                } else if let IdleEvent::NewMessages { uids } = &e.event {
                    let mut called = called.lock().unwrap();
                    called.entry(e.watch).or_default().extend(uids);
                }
            }
        })
        .build()
        .unwrap();
    let events = group.events();
    let started = Instant::now();
    let results = group.add_many(
        configs
            .iter()
            .map(|c| IdleListener::builder(c.clone()).folder("INBOX")),
    );
    let spawn_time = started.elapsed();
    let ids: Vec<WatchId> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(group.len(), n);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        n,
        "ids are unique"
    );
    assert!(
        wait_until(Duration::from_secs(5), || idle_threads() == before + n + 1),
        "one thread a listener + the dispatcher: {}",
        idle_threads()
    );
    let stats = group.stats();
    assert!(stats.peak_connecting <= 16, "{stats:?}");
    assert_eq!(stats.connecting, 0, "{stats:?}");

    // Mail to 5 of the watched accounts reaches the group naming exactly their watches.
    let picked = [0, n / 4, n / 2, 3 * n / 4, n - 1];
    let mut expected: BTreeMap<WatchId, BTreeSet<u32>> = BTreeMap::new();
    for &i in &picked {
        let uid = append(&configs[i], i);
        expected.entry(ids[i]).or_default().insert(uid);
    }
    let seen = new_mail(&events, picked.len(), Duration::from_secs(20));
    assert_eq!(seen, expected, "the channel names the watches mail came to");
    assert!(
        wait_until(Duration::from_secs(5), || *called.lock().unwrap()
            == expected),
        "the callback saw {:?}",
        called.lock().unwrap()
    );

    let stopping = Instant::now();
    group.stop();
    let stop_time = stopping.elapsed();
    let after = idle_threads();
    println!(
        "{n} listeners: add_many {spawn_time:?} (16 connects at once), stop {stop_time:?}, idle threads {before} -> {} -> {after}",
        before + n + 1
    );
    assert_eq!(
        after, before,
        "every listener thread and the dispatcher are gone"
    );
    assert!(
        stop_time < Duration::from_secs(10),
        "stop took {stop_time:?}"
    );
    assert!(group.is_empty());
    // Every watch's last event is `Stopped`, then the channel disconnects.
    let mut stopped = BTreeSet::new();
    while let Ok(e) = events.recv_timeout(Duration::from_secs(5)) {
        if matches!(e.event, IdleEvent::Stopped) {
            assert!(stopped.insert(e.watch), "{} stopped twice", e.watch);
        }
    }
    assert_eq!(stopped.len(), n, "{:?}", group.stats());
    assert!(
        matches!(
            group.add(configs[0].clone(), "INBOX"),
            Err(mailwire::Error::Closed { .. })
        ),
        "a stopped group adds nothing"
    );
}

#[test]
fn remove_stops_just_that_one_and_a_panicking_callback_does_not_stop_the_dispatcher() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let _serial = serial();
    let configs: Vec<Config> = (0..3).map(|_| account(dc, &dc.add_user())).collect();
    let before = idle_threads();
    let calls = Arc::new(AtomicUsize::new(0));
    let group = IdleGroup::builder()
        .on_event(|e| {
            if matches!(e.event, IdleEvent::NewMessages { .. }) {
                panic!("a callback that panics on new mail");
            }
        })
        .on_event({
            let calls = Arc::clone(&calls);
            move |e| {
                if matches!(e.event, IdleEvent::NewMessages { .. }) {
                    calls.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .build()
        .unwrap();
    let events = group.events();
    let ids: Vec<WatchId> = configs
        .iter()
        .map(|c| group.add(c.clone(), "INBOX").unwrap())
        .collect();
    // (A new thread names itself once it runs.)
    assert!(wait_until(Duration::from_secs(5), || idle_threads() == before + 4));

    assert!(group.remove(ids[1]));
    assert!(!group.remove(ids[1]), "removed once");
    assert!(!group.contains(ids[1]));
    assert_eq!(group.watches(), vec![ids[0], ids[2]]);
    assert_eq!(
        idle_threads(),
        before + 3,
        "just that listener's thread is gone"
    );
    let last = events.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(last.watch, ids[1]);
    assert!(matches!(last.event, IdleEvent::Stopped), "{last:?}");

    // The others still watch; every event panics the first callback, and the dispatcher
    // goes on delivering to the second one and to the channel.
    let mut expected = BTreeMap::new();
    for i in [0, 2] {
        expected.insert(ids[i], BTreeSet::from([append(&configs[i], i)]));
    }
    append(&configs[1], 1); // unwatched now
    assert_eq!(new_mail(&events, 2, Duration::from_secs(15)), expected);
    assert!(wait_until(Duration::from_secs(5), || calls
        .load(Ordering::SeqCst)
        >= 2));
    let stats = group.stats();
    assert!(stats.callback_panics >= 2, "{stats:?}");
    // Still delivering after the panics.
    let uid = append(&configs[0], 10);
    assert_eq!(
        new_mail(&events, 1, Duration::from_secs(15)),
        BTreeMap::from([(ids[0], BTreeSet::from([uid]))])
    );
    assert!(
        new_mail(&events, 1, Duration::from_millis(1500)).is_empty(),
        "the removed one is silent"
    );
    drop(group);
    assert_eq!(idle_threads(), before, "drop stops the rest");
}

#[test]
fn a_slow_callback_makes_listeners_wait_and_loses_nothing() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let _serial = serial();
    let configs: Vec<Config> = (0..5).map(|_| account(dc, &dc.add_user())).collect();
    let group = IdleGroup::builder()
        .queue_capacity(1)
        .on_event(|e| {
            if matches!(e.event, IdleEvent::NewMessages { .. }) {
                std::thread::sleep(Duration::from_millis(400));
            }
        })
        .build()
        .unwrap();
    let events = group.events();
    let results = group.add_many(configs.iter().map(|c| IdleListener::builder(c.clone())));
    let ids: Vec<WatchId> = results.into_iter().map(|r| r.unwrap()).collect();
    let mut expected = BTreeMap::new();
    for (i, config) in configs.iter().enumerate() {
        expected.insert(ids[i], BTreeSet::from([append(config, i)]));
    }
    assert_eq!(new_mail(&events, 5, Duration::from_secs(30)), expected);
    let stats = group.stats();
    assert!(stats.waits >= 1, "the queue of 1 was never full: {stats:?}");
    assert_eq!(stats.channel_dropped, 0, "{stats:?}");
    let stopping = Instant::now();
    group.stop();
    assert!(stopping.elapsed() < Duration::from_secs(5));
}

/// A plaintext IMAP server that answers a listener's opening (login slowed by `login`)
/// and counts the connections between accept and the answer that ends the opening.
struct CountingServer {
    port: u16,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
    /// Every connection accepted (a clone), for `kick_all`.
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl CountingServer {
    fn start(login: Duration) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = CountingServer {
            port,
            in_flight: Arc::default(),
            peak: Arc::default(),
            accepted: Arc::default(),
            done: Arc::default(),
            streams: Arc::default(),
        };
        let (in_flight, peak, accepted, done, streams) = (
            Arc::clone(&server.in_flight),
            Arc::clone(&server.peak),
            Arc::clone(&server.accepted),
            Arc::clone(&server.done),
            Arc::clone(&server.streams),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Ok(clone) = stream.try_clone() {
                    streams
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(clone);
                }
                accepted.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let in_flight = Arc::clone(&in_flight);
                std::thread::spawn(move || serve(stream, login, &in_flight));
            }
        });
        server
    }
}

impl CountingServer {
    /// Closes every connection at once, as a restarting server does.
    fn kick_all(&self) {
        for s in self
            .streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, login: Duration, in_flight: &AtomicUsize) {
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream).lines();
    let mut send = |text: &str| out.write_all(text.as_bytes()).is_ok();
    send("* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR] counting\r\n");
    let mut idle_tag = String::new();
    let mut counted = true;
    while let Some(Ok(line)) = lines.next() {
        let tag = line.split(' ').next().unwrap_or("*").to_string();
        let ok = if line.contains("AUTHENTICATE") {
            std::thread::sleep(login);
            send(&format!("{tag} OK [CAPABILITY IMAP4rev1 IDLE] in\r\n"))
        } else if line.contains("EXAMINE") {
            send(&format!(
                "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n{tag} OK [READ-ONLY] done\r\n"
            ))
        } else if line.contains("UID FETCH") {
            // The last answer of the opening: the listener is no longer connecting.
            if std::mem::take(&mut counted) {
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            send(&format!(
                "* 1 FETCH (UID 1 FLAGS ())\r\n{tag} OK listed\r\n"
            ))
        } else if line.ends_with(" IDLE") {
            // (Had the opening no UID FETCH, the connect ends here.)
            if std::mem::take(&mut counted) {
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            idle_tag = tag;
            send("+ idling\r\n")
        } else if line == "DONE" {
            send(&format!("{idle_tag} OK done\r\n"))
        } else if line.contains("LOGOUT") {
            send(&format!("* BYE bye\r\n{tag} OK out\r\n"));
            false
        } else {
            send(&format!("{tag} OK\r\n"))
        };
        if !ok {
            break;
        }
    }
    if counted {
        in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn never_more_than_max_concurrent_connects_are_in_flight() {
    let _serial = serial();
    let server = CountingServer::start(Duration::from_millis(150));
    let config = Config::builder("127.0.0.1")
        .port(server.port)
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let before = idle_threads();
    let group = IdleGroup::builder()
        .max_concurrent_connects(4)
        .build()
        .unwrap();
    let results = group.add_many((0..24).map(|_| IdleListener::builder(config.clone())));
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 24);
    let peak = server.peak.load(Ordering::SeqCst);
    let stats = group.stats();
    println!(
        "24 listeners, max_concurrent_connects 4: the server saw at most {peak} connecting at once; {stats:?}"
    );
    assert!(peak <= 4, "{peak} connects in flight at once");
    assert!(peak >= 2, "add_many connects in parallel: peak {peak}");
    assert!(stats.peak_connecting <= 4, "{stats:?}");
    // Plain `add` from many threads at once is bounded by the same permits.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| group.add(config.clone(), "INBOX").unwrap());
        }
    });
    assert!(server.peak.load(Ordering::SeqCst) <= 4);
    assert_eq!(group.len(), 32);
    assert!(wait_until(Duration::from_secs(5), || idle_threads() == before + 33));
    group.stop();
    assert_eq!(idle_threads(), before);
}

#[test]
fn reconnects_after_a_server_restart_go_through_the_connect_gate() {
    let _serial = serial();
    let server = CountingServer::start(Duration::from_millis(150));
    // Every listener retries after the same short delay: without the gate all 24
    // reconnects would be in flight at once.
    let config = Config::builder("127.0.0.1")
        .port(server.port)
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::new(3, Duration::from_millis(50)))
        .build()
        .unwrap();
    let group = IdleGroup::builder()
        .max_concurrent_connects(4)
        .build()
        .unwrap();
    let events = group.events();
    let results = group.add_many((0..24).map(|_| IdleListener::builder(config.clone())));
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(group.stats().connects, 24);
    // Every listener idles: nobody is connecting any more.
    assert!(wait_until(Duration::from_secs(10), || server
        .in_flight
        .load(Ordering::SeqCst)
        == 0));
    server.peak.store(0, Ordering::SeqCst);
    server.kick_all();
    let mut reconnected = BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(60);
    while reconnected.len() < 24 && Instant::now() < until {
        if let Ok(e) = events.recv_timeout(Duration::from_secs(1))
            && matches!(e.event, IdleEvent::Reconnected { .. })
        {
            reconnected.insert(e.watch);
        }
    }
    let peak = server.peak.load(Ordering::SeqCst);
    let stats = group.stats();
    println!(
        "24 listeners reconnecting, max_concurrent_connects 4: at most {peak} in flight at once; {stats:?}"
    );
    assert_eq!(reconnected.len(), 24, "every listener came back: {stats:?}");
    assert!(peak <= 4, "{peak} reconnects in flight at once");
    assert!(peak >= 2, "reconnects run in parallel: peak {peak}");
    assert!(
        stats.connects >= 48,
        "each reconnect took a permit: {stats:?}"
    );
    assert!(stats.peak_connecting <= 4, "{stats:?}");
    let started = Instant::now();
    group.stop();
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn stop_signals_every_listener_before_it_joins_any() {
    let _serial = serial();
    let server = CountingServer::start(Duration::ZERO);
    let config = Config::builder("127.0.0.1")
        .port(server.port)
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    const N: usize = 20;
    let before = idle_threads();
    let group = IdleGroup::builder().build().unwrap();
    // Each listener's own callback, on its own thread, holds its thread at `Stopped` until
    // every listener got there: only a stop that signals all before joining any lets them
    // all through (one listener stopped at a time, each would wait alone).
    let arrived = Arc::new(AtomicUsize::new(0));
    let met = Arc::new(AtomicUsize::new(0));
    let listeners = (0..N).map(|_| {
        let (arrived, met) = (Arc::clone(&arrived), Arc::clone(&met));
        IdleListener::builder(config.clone()).on_event(move |e| {
            if matches!(e, IdleEvent::Stopped) {
                arrived.fetch_add(1, Ordering::SeqCst);
                if wait_until(Duration::from_secs(3), || {
                    arrived.load(Ordering::SeqCst) == N
                }) {
                    met.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    });
    assert!(group.add_many(listeners).iter().all(|r| r.is_ok()));
    let stopping = Instant::now();
    group.stop();
    println!("{N} listeners stopped together in {:?}", stopping.elapsed());
    assert_eq!(
        met.load(Ordering::SeqCst),
        N,
        "every listener was signalled before any was joined"
    );
    assert_eq!(idle_threads(), before, "and every thread is gone");
}
