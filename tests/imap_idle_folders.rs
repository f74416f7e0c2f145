//! An IdleListener over several folders on one connection (issue 19, item 3): new mail,
//! expunges and flag changes in each of three folders, each event naming its folder, via
//! NOTIFY (the test Dovecot offers it) and via the forced IDLE + STATUS fallback; the
//! catch-up after a `doveadm kick` covers every folder; `mode()` says which; scripted
//! servers for a server without NOTIFY, one that refuses it, and hostile STATUS answers.

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailwire::imap::{
    Flag, IdleEvent, IdleEvents, IdleGroup, IdleListener, ImapConnection, WatchMode,
};
use mailwire::{Config, RetryPolicy};
use support::dovecot::{Dovecot, User};
use support::gated_relay::GatedRelay;
use support::script_server::{Script, ScriptServer};

const FOLDERS: [&str; 3] = ["INBOX", "Work", "Archive"];

fn account(dc: &Dovecot, user: &User, port: u16) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(20))
        .retry(
            RetryPolicy::new(5, Duration::from_millis(200)).with_max_delay(Duration::from_secs(1)),
        )
        .build()
        .unwrap()
}

fn mail(i: u32) -> Vec<u8> {
    format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: folders {i}\r\n\r\nhello {i}\r\n")
        .into_bytes()
}

/// What a reader saw, per folder.
#[derive(Debug, Default)]
struct Seen {
    new: BTreeMap<String, BTreeSet<u32>>,
    expunged: BTreeMap<String, BTreeSet<u32>>,
    seen_flag: BTreeMap<String, BTreeSet<u32>>,
    unnamed: Vec<String>,
    reconnected: bool,
}

impl Seen {
    fn take(&mut self, e: &IdleEvent) {
        let folder = e.folder().map(str::to_string);
        match (folder, e.inner()) {
            (Some(f), IdleEvent::NewMessages { uids }) => {
                self.new.entry(f).or_default().extend(uids)
            }
            (Some(f), IdleEvent::Expunged { uids, .. }) => {
                self.expunged.entry(f).or_default().extend(uids.iter())
            }
            (Some(f), IdleEvent::FlagsChanged { uid, flags }) if flags.contains(&Flag::Seen) => {
                self.seen_flag.entry(f).or_default().insert(*uid);
            }
            (None, IdleEvent::Reconnected { .. }) => self.reconnected = true,
            (
                None,
                IdleEvent::NewMessages { .. }
                | IdleEvent::Expunged { .. }
                | IdleEvent::FlagsChanged { .. },
            ) => self.unnamed.push(format!("{e:?}")),
            _ => {}
        }
    }

    fn has(map: &BTreeMap<String, BTreeSet<u32>>, folder: &str, uid: u32) -> bool {
        map.get(folder).is_some_and(|s| s.contains(&uid))
    }
}

/// Reads events into `seen` until `done` holds or `timeout` passes.
fn read_until(
    events: &IdleEvents,
    seen: &mut Seen,
    timeout: Duration,
    done: impl Fn(&Seen) -> bool,
) {
    let until = Instant::now() + timeout;
    while !done(seen) {
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            return;
        };
        match events.recv_timeout(left) {
            Ok(e) => seen.take(&e),
            Err(_) => return,
        }
    }
}

/// A user with the three folders, each holding messages 1–3 (UIDs 1–3).
fn seeded_user(dc: &Dovecot) -> (User, Config) {
    let user = dc.add_user();
    let config = account(dc, &user, dc.imaps_port());
    let c = ImapConnection::connect(&config).unwrap();
    for f in FOLDERS {
        if f != "INBOX" {
            c.create_folder(f).unwrap();
        }
        for i in 1..=3 {
            c.append(f, &mail(i), &[], None).unwrap();
        }
    }
    c.logout();
    (user, config)
}

/// In each folder: a new message, UID 1 marked `\Seen`, UID 2 expunged — then checks the
/// listener reported all of it, each with its folder named.
fn changes_in_every_folder_are_reported(listener: &IdleListener, config: &Config) {
    let events = listener.events();
    let other = ImapConnection::connect(config).unwrap();
    let mut appended = BTreeMap::new();
    for f in FOLDERS {
        let uid = other
            .append(f, &mail(9), &[], None)
            .unwrap()
            .expect("APPENDUID")
            .uid;
        appended.insert(f, uid);
        other.mark_as_read(f, &[1]).unwrap();
        other.mark_deleted(f, &[2]).unwrap();
        other.expunge(f).unwrap();
    }
    let mut seen = Seen::default();
    let all = |s: &Seen| {
        FOLDERS.iter().all(|f| {
            Seen::has(&s.new, f, appended[f])
                && Seen::has(&s.expunged, f, 2)
                && Seen::has(&s.seen_flag, f, 1)
        })
    };
    read_until(&events, &mut seen, Duration::from_secs(20), all);
    assert!(
        all(&seen),
        "not everything reported: {seen:?} (appended {appended:?})"
    );
    assert!(
        seen.unnamed.is_empty(),
        "events without their folder: {:?}",
        seen.unnamed
    );
    for f in FOLDERS {
        assert_eq!(seen.expunged[f], BTreeSet::from([2]), "{f}: {seen:?}");
        assert_eq!(seen.new[f], BTreeSet::from([appended[f]]), "{f}: {seen:?}");
    }
}

#[test]
fn notify_reports_new_mail_expunges_and_flags_in_each_folder() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    capture::install();
    let (_user, config) = seeded_user(dc);
    let listener = IdleListener::builder(config.clone())
        .folders(FOLDERS)
        .spawn()
        .unwrap();
    assert_eq!(listener.mode(), WatchMode::Notify);
    changes_in_every_folder_are_reported(&listener, &config);
    listener.stop();
    // What the server said while nothing was selected (the wire trace of this design).
    for line in capture::lines() {
        if line.contains("NOTIFY") || line.contains("S: * STATUS") {
            println!("{line}");
        }
    }
}

#[test]
fn status_fallback_reports_new_mail_expunges_and_flags_in_each_folder() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let (_user, config) = seeded_user(dc);
    let listener = IdleListener::builder(config.clone())
        .folders(FOLDERS)
        .force_status_polling(true)
        .status_interval(Duration::from_millis(500))
        .spawn()
        .unwrap();
    assert_eq!(listener.mode(), WatchMode::IdleWithStatusPolling);
    changes_in_every_folder_are_reported(&listener, &config);
    listener.stop();
}

#[test]
fn single_folder_listener_is_unchanged() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let (_user, config) = seeded_user(dc);
    let listener = IdleListener::builder(config.clone())
        .folder("Work")
        .spawn()
        .unwrap();
    assert_eq!(listener.mode(), WatchMode::Idle);
    let events = listener.events();
    let other = ImapConnection::connect(&config).unwrap();
    let uid = other
        .append("Work", &mail(9), &[], None)
        .unwrap()
        .unwrap()
        .uid;
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let left = until
            .checked_duration_since(Instant::now())
            .expect("no NewMessages");
        match events.recv_timeout(left).expect("no NewMessages") {
            // Not wrapped: a single-folder user's `match` stays as it was.
            IdleEvent::NewMessages { uids } => {
                assert_eq!(uids, vec![uid]);
                break;
            }
            IdleEvent::InFolder { .. } => panic!("a single-folder listener wrapped an event"),
            _ => {}
        }
    }
    let polling = IdleListener::builder(config)
        .folder("Work")
        .force_polling(true)
        .spawn()
        .unwrap();
    assert_eq!(polling.mode(), WatchMode::Polling);
}

/// The user is kicked; while the relay holds the reconnect another connection changes
/// every folder; all of it is reported, named, before `Reconnected`.
fn catch_up_covers_every_folder(force_status_polling: bool) {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let (user, direct) = seeded_user(dc);
    let relay = GatedRelay::start(dc.imaps_port());
    let listener = IdleListener::builder(account(dc, &user, relay.port))
        .folders(FOLDERS)
        .force_status_polling(force_status_polling)
        .spawn()
        .unwrap();
    let events = listener.events();
    relay.set(false);
    dc.kick(&user.name);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(IdleEvent::Error(_)) => break,
            _ => assert!(
                Instant::now() < until,
                "the listener did not notice the kick"
            ),
        }
    }
    let other = ImapConnection::connect(&direct).unwrap();
    let mut appended = BTreeMap::new();
    for f in FOLDERS {
        appended.insert(
            f,
            other.append(f, &mail(7), &[], None).unwrap().unwrap().uid,
        );
        other.mark_as_read(f, &[3]).unwrap();
        other.mark_deleted(f, &[1]).unwrap();
        other.expunge(f).unwrap();
    }
    other.logout();
    let held_since = Instant::now();
    while relay.waiting() == 0 && held_since.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(relay.waiting() > 0, "the listener never tried to reconnect");
    relay.set(true);
    let mut seen = Seen::default();
    read_until(&events, &mut seen, Duration::from_secs(20), |s| {
        s.reconnected
    });
    assert!(seen.reconnected, "no Reconnected: {seen:?}");
    for f in FOLDERS {
        assert!(
            Seen::has(&seen.new, f, appended[f]),
            "{f}: new mail not caught up: {seen:?}"
        );
        assert!(
            Seen::has(&seen.expunged, f, 1),
            "{f}: expunge not caught up: {seen:?}"
        );
        assert!(
            Seen::has(&seen.seen_flag, f, 3),
            "{f}: flag change not caught up: {seen:?}"
        );
    }
    assert!(seen.unnamed.is_empty(), "{:?}", seen.unnamed);
    listener.stop();
}

#[test]
fn catch_up_after_a_kick_covers_every_folder_with_notify() {
    catch_up_covers_every_folder(false);
}

#[test]
fn catch_up_after_a_kick_covers_every_folder_with_status_polling() {
    catch_up_covers_every_folder(true);
}

/// Folder `name` opened by the plain sync (no CONDSTORE): one message, UID 1.
fn scripted_examine(script: Script, name: &str) -> Script {
    script
        .expect_contains(&format!("EXAMINE {name}"))
        .send("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n")
        .reply_tagged("OK [READ-ONLY] done")
        .expect_contains("UID FETCH 1:* (UID FLAGS)")
        .send_line("* 1 FETCH (UID 1 FLAGS ())")
        .reply_tagged("OK listed")
}

/// [`scripted_examine`], then the folder is left.
fn scripted_sync(script: Script, name: &str) -> Script {
    scripted_examine(script, name)
        .expect_contains("UNSELECT")
        .reply_tagged("OK left")
}

/// Waits (bounded) until the client sent `IDLE` `n` times.
fn wait_idles(server: &ScriptServer, n: usize) -> usize {
    let count = || {
        server
            .received(0)
            .iter()
            .filter(|l| l.ends_with(" IDLE"))
            .count()
    };
    let until = Instant::now() + Duration::from_secs(5);
    while count() < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    count()
}

/// Login with `caps`, then the first sync of folders A and B.
fn scripted_open(caps: &str) -> Script {
    let s = Script::new()
        .send_line(&format!(
            "* OK [CAPABILITY {caps} AUTH=PLAIN SASL-IR] scripted"
        ))
        .expect_contains("AUTHENTICATE")
        .reply_tagged(&format!("OK [CAPABILITY {caps}] in"));
    scripted_sync(scripted_sync(s, "A"), "B")
}

fn scripted_config(server: &ScriptServer) -> Config {
    Config::builder("127.0.0.1")
        .port(server.port())
        .security(mailwire::Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::new(3, Duration::from_millis(50)))
        .build()
        .unwrap()
}

/// Waits (bounded) for the listener to report `mode`.
fn wait_mode(listener: &IdleListener, mode: WatchMode) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while listener.mode() != mode && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    listener.mode() == mode
}

#[test]
fn a_server_without_notify_gets_idle_on_the_first_folder_and_status_polling() {
    let server = ScriptServer::start(|_| {
        let s = scripted_open("IMAP4rev1 IDLE UNSELECT");
        scripted_examine(s, "A")
            .expect_contains("IDLE")
            .send_line("+ idling")
            .read_until_closed()
    });
    let listener = IdleListener::builder(scripted_config(&server))
        .folders(["A", "B"])
        .spawn()
        .unwrap();
    assert_eq!(listener.mode(), WatchMode::IdleWithStatusPolling);
    assert_eq!(wait_idles(&server, 1), 1, "{:?}", server.received(0));
    listener.stop();
    server.assert_ok();
    let sent = server.received(0).join("\n");
    assert!(!sent.contains("NOTIFY"), "{sent}");
    assert!(sent.contains("IDLE"), "{sent}");
}

#[test]
fn no_to_notify_falls_back_to_status_polling() {
    let server = ScriptServer::start(|_| {
        let s = scripted_open("IMAP4rev1 IDLE UNSELECT NOTIFY")
            .expect_contains("NOTIFY SET")
            .reply_tagged("NO [LIMIT] not for you");
        scripted_examine(s, "A")
            .expect_contains("IDLE")
            .send_line("+ idling")
            .read_until_closed()
    });
    let listener = IdleListener::builder(scripted_config(&server))
        .folders(["A", "B"])
        .spawn()
        .unwrap();
    assert!(
        wait_mode(&listener, WatchMode::IdleWithStatusPolling),
        "still {:?}; sent {:?}",
        listener.mode(),
        server.received(0)
    );
    // It idles on A now (the script's last step before waiting for the end).
    assert_eq!(wait_idles(&server, 1), 1, "{:?}", server.received(0));
    listener.stop();
    server.assert_ok();
}

#[test]
fn hostile_status_answers_cost_a_sync_and_report_only_what_is_true() {
    // Tags: A1 login, A2–A4 and A5–A7 the syncs, A8 NOTIFY, A9 IDLE.
    let server = ScriptServer::start(|_| {
        let s = scripted_open("IMAP4rev1 IDLE UNSELECT NOTIFY")
            .expect_contains("NOTIFY SET")
            .reply_tagged("OK notifying")
            .expect_line("A9 IDLE")
            .send_line("+ idling")
            // A folder nobody watches, and absurd counts for B: B is synced, nothing more.
            .send_line("* STATUS Nobody (MESSAGES 4294967295 UIDNEXT 4294967295)")
            .send_line("* STATUS B (MESSAGES 4294967295 UIDNEXT 4294967295 UNSEEN 4294967295)")
            .expect_line("DONE")
            .send_line("A9 OK done");
        scripted_sync(s, "B")
            .expect_contains("STATUS B")
            .send_line("* STATUS B (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7)")
            .reply_tagged("OK status")
            .expect_contains("IDLE")
            .send_line("+ idling")
            .read_until_closed()
    });
    let listener = IdleListener::builder(scripted_config(&server))
        .folders(["A", "B"])
        .spawn()
        .unwrap();
    assert_eq!(listener.mode(), WatchMode::Notify);
    let events = listener.events();
    wait_idles(&server, 2);
    assert!(listener.is_running());
    listener.stop();
    let got: Vec<IdleEvent> = events.try_iter().collect();
    assert!(
        got.iter().all(|e| matches!(e, IdleEvent::Stopped)),
        "a STATUS that changed nothing was reported: {got:?}"
    );
    assert_eq!(
        server
            .received(0)
            .iter()
            .filter(|l| l.ends_with(" IDLE"))
            .count(),
        2,
        "the listener did not sync B and idle again: {:?}",
        server.received(0)
    );
    server.assert_ok();
}

/// The listener thread's voluntary context switches (`/proc`), or None off Linux.
fn voluntary_switches(tid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn a_notify_listener_is_quiet_while_idle_and_stops_promptly() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    if !cfg!(target_os = "linux") {
        return;
    }
    let (_user, config) = seeded_user(dc);
    let tid = Arc::new(Mutex::new(None::<u32>));
    let set = Arc::clone(&tid);
    let listener = IdleListener::builder(config.clone())
        .folders(FOLDERS)
        .on_event(move |e| {
            if e.folder().is_some()
                && let Ok(link) = std::fs::read_link("/proc/thread-self")
            {
                *set.lock().unwrap() = link.file_name().and_then(|n| n.to_str()?.parse().ok());
            }
        })
        .spawn()
        .unwrap();
    assert_eq!(listener.mode(), WatchMode::Notify);
    let other = ImapConnection::connect(&config).unwrap();
    other.append("Archive", &mail(5), &[], None).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while tid.lock().unwrap().is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let tid = tid
        .lock()
        .unwrap()
        .expect("no event from the listener thread");
    // Let the sync after the event settle, then watch the idle thread for 3 s.
    std::thread::sleep(Duration::from_millis(500));
    let before = voluntary_switches(tid);
    std::thread::sleep(Duration::from_secs(3));
    let after = voluntary_switches(tid);
    if let (Some(b), Some(a)) = (before, after) {
        assert!(
            a - b <= 2,
            "the idle thread woke {} times in 3 s (a periodic wake-up?)",
            a - b
        );
    }
    let started = Instant::now();
    listener.stop();
    assert!(!listener.is_running());
    // Generous bound: the promise is a second (docs/reliability.md).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_group_watch_over_several_folders_names_its_folder_and_takes_the_gate() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let (user, config) = seeded_user(dc);
    let group = IdleGroup::builder()
        .max_concurrent_connects(1)
        .build()
        .unwrap();
    let id = group
        .add_listener(IdleListener::builder(config.clone()).folders(FOLDERS))
        .unwrap();
    // A second watch waits for the one permit: both connect, one after the other.
    let single = group.add(config.clone(), "INBOX").unwrap();
    let other = ImapConnection::connect(&config).unwrap();
    let uid = other
        .append("Archive", &mail(7), &[], None)
        .unwrap()
        .map(|a| a.uid);
    let events = group.events();
    let until = Instant::now() + Duration::from_secs(10);
    let mut named = None;
    while named.is_none() && Instant::now() < until {
        if let Ok(e) = events.recv_timeout(Duration::from_millis(100))
            && e.watch == id
            && e.folder() == Some("Archive")
        {
            named = Some(e);
        }
    }
    let named = named.expect("no event of the multi-folder watch naming Archive");
    assert!(
        matches!(named.event.inner(), IdleEvent::NewMessages { uids } if uid.is_none_or(|u| uids.contains(&u))),
        "{named:?}"
    );
    // Its reconnect after a kick goes through the gate too.
    let before = group.stats().connects;
    dc.kick(&user.name);
    let until = Instant::now() + Duration::from_secs(20);
    while group.stats().connects < before + 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        group.stats().connects >= before + 2,
        "both watches reconnect through the gate: {:?}",
        group.stats()
    );
    assert_eq!(group.stats().peak_connecting, 1);
    assert!(group.contains(single));
    other.logout();
    group.stop();
}
