//! An idle IdleListener costs nothing while idle: its thread makes no system call until the
//! server speaks, the renewal is due or it is stopped (read from /proc, against the real
//! Dovecot), and it still renews; stop ends it at once while it idles, while it waits to
//! reconnect, between two reconnect attempts, inside a TLS handshake and against a server
//! that never answers DONE (scripted servers).
//!
//! The /proc figures are the thread's own: `utime` + `stime` (clock ticks) from
//! /proc/self/task/TID/stat and `voluntary_ctxt_switches` from …/status, which grows by one
//! every time the thread blocks, so a thread woken every 100 ms shows ~30 over 3 s.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mailwire::imap::{IdleEvent, IdleListener, ImapConnection};
use mailwire::{Config, RetryPolicy, Security};
use support::certs::test_cert;
use support::dovecot::{Dovecot, User};
use support::script_server::{Script, ScriptServer};

/// Context switches a blocked thread may still show over the measured seconds: none is
/// expected; one is allowed for a wake-up the kernel makes on its own (a signal delivered to
/// the process can land on any thread) and one for the sampling edge (the thread blocking
/// again right after the first sample). A 100 ms tick shows ~30.
const SWITCH_TOLERANCE: u64 = 2;
/// CPU a blocked thread may show: one clock tick (10 ms) for the same sampling edge.
const TICK_TOLERANCE: u64 = 1;

fn account(dc: &Dovecot, user: &User, retry: RetryPolicy) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(10))
        .retry(retry)
        .build()
        .unwrap()
}

fn mail(i: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: quiet {i}\r\n\r\nhello\r\n")
        .into_bytes()
}

fn wait_for(
    rx: &Receiver<IdleEvent>,
    timeout: Duration,
    mut pred: impl FnMut(&IdleEvent) -> bool,
) -> Option<IdleEvent> {
    let until = Instant::now() + timeout;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(e) if pred(&e) => return Some(e),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The id of the calling thread (from /proc/thread-self, a link to `PID/task/TID`).
fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// What /proc says about one thread of this process.
#[derive(Debug, Clone, Copy)]
struct ThreadUse {
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
    /// `voluntary_ctxt_switches` (None where /proc does not show it).
    voluntary: Option<u64>,
}

fn thread_use(tid: u32) -> ThreadUse {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .unwrap_or_else(|e| panic!("the listener thread {tid} is gone: {e}"));
    // The name (field 2) is in parentheses and may hold spaces: count fields after it.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    let cpu_ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let voluntary = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok())
        });
    ThreadUse {
        cpu_ticks,
        voluntary,
    }
}

fn thread_name(tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// How much the thread ran over `d`: (CPU ticks, voluntary context switches).
fn use_over(tid: u32, d: Duration) -> (u64, Option<u64>) {
    let before = thread_use(tid);
    std::thread::sleep(d);
    let after = thread_use(tid);
    let switches = before
        .voluntary
        .zip(after.voluntary)
        .map(|(b, a)| a.saturating_sub(b));
    (after.cpu_ticks.saturating_sub(before.cpu_ticks), switches)
}

fn assert_quiet(tid: u32, d: Duration, what: &str) {
    let (ticks, switches) = use_over(tid, d);
    println!("{what}: thread {tid} used {ticks} ticks, {switches:?} voluntary switches in {d:?}");
    assert!(
        ticks <= TICK_TOLERANCE,
        "{what}: the thread used {ticks} clock ticks of CPU in {d:?}"
    );
    if let Some(switches) = switches {
        assert!(
            switches <= SWITCH_TOLERANCE,
            "{what}: the thread woke up {switches} times in {d:?} (a periodic wake-up?)"
        );
    }
}

/// Records the id of the thread the callback runs on (the listener's) at the first event
/// `pred` accepts.
fn tid_recorder(
    pred: impl Fn(&IdleEvent) -> bool + Send + 'static,
) -> (Arc<OnceLock<u32>>, impl Fn(&IdleEvent) + Send + 'static) {
    let tid = Arc::new(OnceLock::new());
    let set = Arc::clone(&tid);
    (tid, move |e: &IdleEvent| {
        if pred(e)
            && let Some(t) = current_tid()
        {
            let _ = set.set(t);
        }
    })
}

#[test]
fn an_idle_listeners_thread_makes_no_system_call_while_idle() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let config = account(dc, &user, RetryPolicy::default());
    let (tid, record) = tid_recorder(|e| matches!(e, IdleEvent::NewMessages { .. }));
    let listener = IdleListener::builder(config.clone())
        .on_event(record)
        .spawn()
        .unwrap();
    let events = listener.events();
    let writer = ImapConnection::connect(&config).unwrap();
    writer.append("INBOX", &mail(1), &[], None).unwrap();
    assert!(
        wait_for(&events, Duration::from_secs(10), |e| matches!(
            e,
            IdleEvent::NewMessages { .. }
        ))
        .is_some(),
        "the first message was not reported"
    );
    let tid = *tid.get().expect("the callback ran on a thread with an id");
    let name = thread_name(tid);
    assert!(
        name.starts_with("mailwire-idle"),
        "thread {tid} is {name:?}"
    );
    // Let it go back to IDLE (DONE, UID FETCH, IDLE: milliseconds on loopback).
    std::thread::sleep(Duration::from_secs(1));
    assert_quiet(tid, Duration::from_secs(3), "idling");
    // It was asleep, not dead: the next message wakes it.
    let uid = writer
        .append("INBOX", &mail(2), &[], None)
        .unwrap()
        .unwrap()
        .uid;
    let event = wait_for(&events, Duration::from_secs(10), |e| {
        matches!(e, IdleEvent::NewMessages { .. })
    });
    assert!(
        matches!(event, Some(IdleEvent::NewMessages { ref uids }) if uids.contains(&uid)),
        "{event:?}"
    );
    let started = Instant::now();
    listener.stop();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "stop while idling took {took:?}"
    );
    assert!(!listener.is_running());
    assert!(matches!(events.try_iter().last(), Some(IdleEvent::Stopped)));
}

#[test]
fn the_reconnect_wait_makes_no_system_call_and_stop_ends_it_at_once() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    // After a lost connection the listener waits initial_delay (20 s ± 25 %) first.
    let retry =
        RetryPolicy::new(3, Duration::from_secs(20)).with_max_delay(Duration::from_secs(30));
    let config = account(dc, &user, retry);
    let (tid, record) = tid_recorder(|e| matches!(e, IdleEvent::Error(_)));
    let listener = IdleListener::builder(config)
        .on_event(record)
        .spawn()
        .unwrap();
    let events = listener.events();
    dc.kick(&user.name);
    assert!(
        wait_for(&events, Duration::from_secs(10), |e| matches!(
            e,
            IdleEvent::Error(_)
        ))
        .is_some(),
        "the kicked connection was not reported"
    );
    let tid = *tid.get().expect("the callback ran on a thread with an id");
    std::thread::sleep(Duration::from_millis(300));
    assert_quiet(tid, Duration::from_secs(2), "waiting to reconnect");
    let started = Instant::now();
    listener.stop();
    let took = started.elapsed();
    println!("stop during the reconnect wait took {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(!listener.is_running(), "the thread still sleeps");
    assert!(matches!(events.try_iter().last(), Some(IdleEvent::Stopped)));
}

fn scripted(port: u16, retry: RetryPolicy) -> mailwire::ConfigBuilder {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(5))
        .retry(retry)
}

/// Login (A1), EXAMINE (A2) of an empty folder, IDLE (A3) answered with a continuation.
fn idling() -> Script {
    Script::new()
        .send_line("* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR] scripted")
        .then(after_greeting())
}

fn after_greeting() -> Script {
    Script::new()
        .expect_contains("AUTHENTICATE")
        .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE] in")
        .expect_contains("EXAMINE")
        .send("* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 1] ok\r\n")
        .reply_tagged("OK [READ-ONLY] done")
        .expect_contains("IDLE")
        .send_line("+ idling")
}

/// Stops `listener` and checks that the thread has ended within a generous 2 s, with
/// `Stopped` as its last event.
fn assert_stops_at_once(listener: IdleListener, what: &str) {
    let events = listener.events();
    let started = Instant::now();
    listener.stop();
    let took = started.elapsed();
    println!("stop {what} took {took:?}");
    assert!(took < Duration::from_secs(2), "stop {what} took {took:?}");
    assert!(!listener.is_running(), "{what}: the thread still runs");
    let last = events.try_iter().last();
    assert!(matches!(last, Some(IdleEvent::Stopped)), "{what}: {last:?}");
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn stop_ends_a_listener_between_two_reconnect_attempts() {
    // The first connection ends with BYE; every reconnect is closed at once (a transient
    // failure), so the listener keeps waiting between attempts: 1.5 s, then 3 s, … A stop in
    // one of those waits ends the thread at once (the connect's own retries, which sleep
    // through a stop, are not used for reconnects).
    let server = ScriptServer::start(|i| {
        if i == 0 {
            idling()
                .sleep(Duration::from_millis(100))
                .send_line("* BYE going away")
                .close()
        } else {
            Script::new().close()
        }
    });
    let retry =
        RetryPolicy::new(3, Duration::from_millis(1500)).with_max_delay(Duration::from_secs(10));
    let listener = IdleListener::builder(scripted(server.port(), retry).build().unwrap())
        .spawn()
        .unwrap();
    wait_until("a reconnect attempt", || server.connections() >= 2);
    std::thread::sleep(Duration::from_millis(300)); // in the wait after the failed attempt
    assert_eq!(server.connections(), 2, "one reconnect attempt so far");
    assert_stops_at_once(listener, "between reconnect attempts");
}

#[test]
fn each_reconnect_is_one_attempt_reported_and_retried_past_max_attempts() {
    // As above, with short delays: every failed reconnect is one connection and one
    // `Error`, and the listener goes on past the policy's two attempts.
    let server = ScriptServer::start(|i| {
        if i == 0 {
            idling()
                .sleep(Duration::from_millis(100))
                .send_line("* BYE going away")
                .close()
        } else {
            Script::new().close()
        }
    });
    let retry =
        RetryPolicy::new(2, Duration::from_millis(50)).with_max_delay(Duration::from_millis(100));
    let errors = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&errors);
    let listener = IdleListener::builder(scripted(server.port(), retry).build().unwrap())
        .on_event(move |e| {
            if matches!(e, IdleEvent::Error(_)) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        })
        .spawn()
        .unwrap();
    wait_until("five failed reconnects", || server.connections() >= 6);
    assert_stops_at_once(listener, "while reconnecting");
    // The BYE, then one per failed reconnect (the last may have been cut by the stop).
    let (errors, connections) = (errors.load(Ordering::SeqCst), server.connections());
    assert!(
        errors + 1 >= connections && errors <= connections,
        "{errors} errors for {connections} connections"
    );
}

#[test]
fn stop_is_quick_when_the_server_never_answers_done() {
    // The renewal sends DONE; the server never completes the IDLE command.
    let server = ScriptServer::start(|_| idling().expect_line("DONE").hang());
    let listener = IdleListener::builder(
        scripted(server.port(), RetryPolicy::none())
            .read_timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    )
    .renew_every(Duration::from_secs(1))
    .spawn()
    .unwrap();
    wait_until("DONE", || {
        server.received_all().iter().any(|l| l.trim_end() == "DONE")
    });
    std::thread::sleep(Duration::from_millis(300)); // waiting for the end of IDLE
    assert_stops_at_once(listener, "while the server ignores DONE");
}

#[test]
fn stop_is_quick_inside_a_tls_handshake() {
    // STARTTLS: the first connection upgrades and idles, then drops; the reconnect's server
    // accepts STARTTLS and never answers the TLS handshake.
    let server = ScriptServer::start(|i| {
        let greeted = Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 STARTTLS] scripted")
            .expect_contains("STARTTLS")
            .reply_tagged("OK begin TLS");
        if i == 0 {
            greeted
                .starttls()
                .expect_contains("CAPABILITY")
                .send_line("* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR")
                .reply_tagged("OK")
                .then(after_greeting())
                .sleep(Duration::from_millis(100))
                .send_line("* BYE going away")
                .close()
        } else {
            greeted.hang()
        }
    });
    let config = scripted(
        server.port(),
        RetryPolicy::new(2, Duration::from_millis(20)),
    )
    .security(Security::StartTls)
    .tls_server_name("localhost")
    .add_root_certificate_pem(test_cert().cert_pem.clone())
    .connect_timeout(Duration::from_secs(30))
    .build()
    .unwrap();
    let listener = IdleListener::builder(config).spawn().unwrap();
    wait_until("the reconnect's STARTTLS", || {
        server.received(1).iter().any(|l| l.contains("STARTTLS"))
    });
    std::thread::sleep(Duration::from_millis(300)); // inside the handshake
    assert_stops_at_once(listener, "inside a TLS handshake");
}

// ---- renewal, with no tick ----------------------------------------------------------------

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target() == "mailwire::idle"
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static LOGGER: OnceLock<&'static Capture> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(logger).expect("the only logger of this test binary");
        log::set_max_level(log::LevelFilter::Debug);
        logger
    })
}

#[test]
fn idle_is_renewed_on_time_without_a_tick() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let logs = capture();
    let user = dc.add_user();
    // A folder of its own, so that this listener's log lines are told apart.
    let folder = "Renewed";
    let config = account(dc, &user, RetryPolicy::default());
    let writer = ImapConnection::connect(&config).unwrap();
    writer.create_folder(folder).unwrap();
    let errors = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&errors);
    let (tid, record) = tid_recorder(|e| matches!(e, IdleEvent::NewMessages { .. }));
    let listener = IdleListener::builder(config.clone())
        .folder(folder)
        .renew_every(Duration::from_secs(2))
        .on_event(record)
        .on_event(move |e| {
            if matches!(e, IdleEvent::Error(_)) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        })
        .spawn()
        .unwrap();
    let events = listener.events();
    writer.append(folder, &mail(1), &[], None).unwrap();
    assert!(
        wait_for(&events, Duration::from_secs(10), |e| matches!(
            e,
            IdleEvent::NewMessages { .. }
        ))
        .is_some()
    );
    let tid = *tid.get().unwrap();
    let renewals = || {
        logs.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(&format!("[idle {folder}] renewing IDLE")))
            .count()
    };
    let before = renewals();
    // Over 5 s the thread wakes for the two renewals (the measure sees wake-ups) and
    // nothing else.
    let (_, switches) = use_over(tid, Duration::from_secs(5));
    let renewed = renewals() - before;
    println!("renewed {renewed} times, {switches:?} voluntary switches in 5 s");
    assert!((2..=3).contains(&renewed), "renewed {renewed} times in 5 s");
    if let Some(switches) = switches {
        assert!(switches >= 1, "the renewals did not show as wake-ups");
        assert!(
            switches <= 10 * renewed as u64,
            "{switches} wake-ups for {renewed} renewals"
        );
    }
    // Still watching after the renewals.
    let uid = writer
        .append(folder, &mail(2), &[], None)
        .unwrap()
        .unwrap()
        .uid;
    let mut seen = BTreeSet::new();
    let _ = wait_for(&events, Duration::from_secs(10), |e| {
        if let IdleEvent::NewMessages { uids } = e {
            seen.extend(uids.iter().copied());
        }
        seen.contains(&uid)
    });
    assert!(seen.contains(&uid), "not reported after the renewals");
    assert_eq!(errors.load(Ordering::SeqCst), 0, "a renewal failed");
}

// ---- the figure for docs/idle.md (run by hand) --------------------------------------------

/// Every thread of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> Vec<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|&tid| thread_name(tid).starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// CPU time of a thread in nanoseconds (/proc/…/schedstat, finer than the clock ticks).
fn cpu_ns(tid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// The process's utime + stime in clock ticks.
fn process_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// `MAILWIRE_IDLE_N` listeners (default 200) idle for 10 s: the CPU they use, per second.
/// `cargo test --test imap_idle_quiet -- --ignored --nocapture idle_cpu`
#[test]
#[ignore = "a measurement, run by hand"]
fn idle_cpu_of_many_listeners() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let n: usize = std::env::var("MAILWIRE_IDLE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let user = dc.add_user();
    let config = account(dc, &user, RetryPolicy::default());
    let listeners: Vec<IdleListener> = (0..n)
        .map(|_| IdleListener::builder(config.clone()).spawn().unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(2)); // every one in IDLE
    let tids = threads_named("mailwire-idle");
    assert_eq!(tids.len(), n, "one thread per listener");
    let measured = Duration::from_secs(10);
    let ns_before: u64 = tids.iter().map(|&t| cpu_ns(t)).sum();
    let switches_before: u64 = tids.iter().filter_map(|&t| thread_use(t).voluntary).sum();
    let ticks_before = process_ticks();
    std::thread::sleep(measured);
    let ns = tids.iter().map(|&t| cpu_ns(t)).sum::<u64>() - ns_before;
    let switches = tids
        .iter()
        .filter_map(|&t| thread_use(t).voluntary)
        .sum::<u64>()
        - switches_before;
    let ticks = process_ticks() - ticks_before;
    let secs = measured.as_secs_f64();
    println!(
        "idle: {n} listeners, threads {:.3} ms/s of CPU, {:.1} wake-ups/s; process {:.1} ms/s (clock ticks)",
        ns as f64 / 1e6 / secs,
        switches as f64 / secs,
        ticks as f64 * 10.0 / secs,
    );
    let started = Instant::now();
    drop(listeners);
    println!("stopping {n} one after the other: {:?}", started.elapsed());
}
