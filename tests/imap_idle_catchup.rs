//! IdleListener catch-up after an outage (issue 17, item 6): 10 expunges, 10 flag changes
//! and 10 new messages made by another client while the listener's connection is down are
//! all reported, with UIDs, before `Reconnected` — against the real Dovecot with QRESYNC,
//! Dovecot with CONDSTORE only (no `ENABLE QRESYNC` sent), and a scripted server with
//! neither (the UID + flags comparison); a UIDVALIDITY change meanwhile says "resynchronise".

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mailwire::imap::{Flag, IdleEvent, IdleEvents, IdleListener, ImapConnection};
use mailwire::{Config, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};
use support::gated_relay::GatedRelay;
use support::script_server::{Script, ScriptServer};

/// Dovecot 2.3's capabilities after login, without QRESYNC (CONDSTORE stays).
const CAPABILITIES_WITHOUT_QRESYNC: &str = "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE UIDPLUS CHILDREN LIST-EXTENDED SPECIAL-USE UNSELECT CONDSTORE ESEARCH MOVE";

/// The tests of this file read the captured log from where they started: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

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
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: catch-up {i}\r\n\r\nhello {i}\r\n"
    )
    .into_bytes()
}

/// What a reader saw up to (and without) `Reconnected`.
#[derive(Debug, Default)]
struct Seen {
    expunged: BTreeSet<u32>,
    flags: BTreeMap<u32, Vec<Flag>>,
    new: BTreeSet<u32>,
    reconnected: bool,
    others: Vec<String>,
}

/// Reads events until `Reconnected` (or `timeout`).
fn until_reconnected(events: &IdleEvents, timeout: Duration) -> Seen {
    let mut seen = Seen::default();
    let until = Instant::now() + timeout;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(IdleEvent::Expunged { uids, .. }) => seen.expunged.extend(uids.iter()),
            Ok(IdleEvent::FlagsChanged { uid, flags }) => {
                seen.flags.insert(uid, flags);
            }
            Ok(IdleEvent::NewMessages { uids }) => seen.new.extend(uids),
            Ok(IdleEvent::Reconnected { .. }) => {
                seen.reconnected = true;
                break;
            }
            Ok(IdleEvent::Error(_)) => {}
            Ok(other) => seen.others.push(format!("{other:?}")),
            Err(_) => break,
        }
    }
    seen
}

/// Drains events until `pred` matches one (or `timeout`).
fn wait_for(events: &IdleEvents, timeout: Duration, pred: impl Fn(&IdleEvent) -> bool) -> bool {
    let until = Instant::now() + timeout;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(e) if pred(&e) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// 20 messages (UIDs 1–20); the listener watches through a relay; the user is kicked and
/// the relay holds the reconnect while another connection expunges 1–10, marks 11–20
/// `\Seen` and appends 10. Returns the captured log lines from the start and what the
/// reader saw before `Reconnected`.
fn outage(dc: &Dovecot) -> (Vec<String>, Seen, Vec<u32>) {
    let user = dc.add_user();
    let seeded: Vec<Vec<u8>> = (1..=20).map(mail).collect();
    dc.seed(&user, "INBOX", &seeded);
    let relay = GatedRelay::start(dc.imaps_port());
    let direct = account(dc, &user, dc.imaps_port());
    let listener = IdleListener::builder(account(dc, &user, relay.port))
        .spawn()
        .unwrap();
    let events = listener.events();
    relay.set(false);
    dc.kick(&user.name);
    assert!(
        wait_for(&events, Duration::from_secs(10), |e| matches!(
            e,
            IdleEvent::Error(_)
        )),
        "the listener did not notice the kick"
    );
    let other = ImapConnection::connect(&direct).unwrap();
    let gone: Vec<u32> = (1..=10).collect();
    other.mark_deleted("INBOX", &gone).unwrap();
    other.expunge("INBOX").unwrap();
    let read: Vec<u32> = (11..=20).collect();
    other.mark_as_read("INBOX", &read).unwrap();
    let mut appended = Vec::new();
    for i in 21..=30 {
        let uid = other
            .append("INBOX", &mail(i), &[], None)
            .unwrap()
            .expect("APPENDUID")
            .uid;
        appended.push(uid);
    }
    other.logout();
    // The listener is reconnecting (held at the gate) while all that happened.
    let held_since = Instant::now();
    while relay.waiting() == 0 && held_since.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(relay.waiting() > 0, "the listener never tried to reconnect");
    relay.set(true);
    let seen = until_reconnected(&events, Duration::from_secs(20));
    listener.stop();
    (capture::lines(), seen, appended)
}

fn assert_all_reported(seen: &Seen, appended: &[u32]) {
    assert!(seen.reconnected, "no Reconnected: {seen:?}");
    assert_eq!(
        seen.expunged,
        (1..=10).collect::<BTreeSet<u32>>(),
        "expunges: {seen:?}"
    );
    assert_eq!(
        seen.flags.keys().copied().collect::<Vec<u32>>(),
        (11..=20).collect::<Vec<u32>>(),
        "flag changes: {seen:?}"
    );
    assert!(
        seen.flags.values().all(|f| f.contains(&Flag::Seen)),
        "{seen:?}"
    );
    assert_eq!(
        seen.new,
        appended.iter().copied().collect::<BTreeSet<u32>>(),
        "new mail: {seen:?}"
    );
    assert!(seen.others.is_empty(), "{seen:?}");
}

#[test]
fn an_outage_is_caught_up_before_reconnected_with_qresync() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    capture::install();
    let Some(dc) = dovecot::shared() else {
        return;
    };
    let probe = ImapConnection::connect(&account(dc, &dc.add_user(), dc.imaps_port())).unwrap();
    assert!(
        probe.has_capability("QRESYNC"),
        "{:?}",
        probe.capabilities()
    );
    let from = capture::lines().len();
    let (lines, seen, appended) = outage(dc);
    assert_all_reported(&seen, &appended);
    let lines = &lines[from..];
    assert!(
        lines.iter().any(|l| l.contains("caught up with QRESYNC")),
        "the catch-up did not use QRESYNC"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("C: ") && l.contains("ENABLE QRESYNC")),
        "no ENABLE QRESYNC"
    );
}

#[test]
fn an_outage_is_caught_up_before_reconnected_with_condstore_only() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    capture::install();
    let Some(dc) = dovecot::start_with_config(CAPABILITIES_WITHOUT_QRESYNC) else {
        return;
    };
    let probe = ImapConnection::connect(&account(&dc, &dc.add_user(), dc.imaps_port())).unwrap();
    let caps = probe.capabilities();
    println!("Dovecot advertises: {caps:?}");
    assert!(
        probe.has_capability("CONDSTORE") && !probe.has_capability("QRESYNC"),
        "{caps:?}"
    );
    let from = capture::lines().len();
    let (lines, seen, appended) = outage(&dc);
    assert_all_reported(&seen, &appended);
    let lines = &lines[from..];
    assert!(
        lines.iter().any(|l| l.contains("caught up with CONDSTORE")),
        "the catch-up did not use CONDSTORE"
    );
    assert!(
        !lines.iter().any(|l| l.contains("ENABLE QRESYNC")),
        "ENABLE QRESYNC sent to a server that does not offer it"
    );
}

/// Greeting and login (A1), EXAMINE (A2) of a folder whose messages are `uids`, their
/// listing (A3, with `\Seen` on `seen`) and the IDLE (A4).
fn scripted_open(uids: std::ops::RangeInclusive<u32>, seen: &[u32], uid_next: u32) -> Script {
    let listing: String = uids
        .clone()
        .enumerate()
        .map(|(i, uid)| {
            let flags = if seen.contains(&uid) { "\\Seen" } else { "" };
            format!("* {} FETCH (UID {uid} FLAGS ({flags}))\r\n", i + 1)
        })
        .collect();
    Script::new()
        .send_line("* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR] scripted")
        .expect_contains("AUTHENTICATE")
        .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE] in")
        .expect_contains("EXAMINE")
        .send(format!(
            "* {} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT {uid_next}] ok\r\n",
            uids.count()
        ))
        .reply_tagged("OK [READ-ONLY] done")
        .expect_line("A3 UID FETCH 1:* (UID FLAGS)")
        .send(listing)
        .reply_tagged("OK listed")
        .expect_line("A4 IDLE")
        .send_line("+ idling")
}

#[test]
fn an_outage_is_caught_up_before_reconnected_without_qresync_or_condstore() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    capture::install();
    // Before: UIDs 1–20, no flags. After the outage: 1–10 gone, 11–20 \Seen, 21–30 new.
    let server = ScriptServer::start(|i| {
        if i == 0 {
            scripted_open(1..=20, &[], 21)
                .sleep(Duration::from_millis(200))
                .send_line("* BYE going away")
                .close()
        } else {
            let read: Vec<u32> = (11..=20).collect();
            scripted_open(11..=30, &read, 31).read_until_closed()
        }
    });
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::new(3, Duration::from_millis(50)))
        .build()
        .unwrap();
    let from = capture::lines().len();
    let listener = IdleListener::builder(config).spawn().unwrap();
    let seen = until_reconnected(&listener.events(), Duration::from_secs(10));
    // `Reconnected` comes after the catch-up, before the new IDLE the script expects.
    server.wait_received(1, "IDLE", Duration::from_secs(10));
    listener.stop();
    let appended: Vec<u32> = (21..=30).collect();
    assert_all_reported(&seen, &appended);
    assert!(
        capture::lines()[from..]
            .iter()
            .any(|l| l.contains("caught up with plain")),
        "the catch-up did not compare UIDs and flags"
    );
    server.assert_ok();
}

#[test]
fn a_uidvalidity_change_during_an_outage_says_resynchronise_and_lists_every_message() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let open = |validity: u32, count: u32| {
        let listing: String = (1..=count)
            .map(|uid| format!("* {uid} FETCH (UID {uid} FLAGS ())\r\n"))
            .collect();
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR] scripted")
            .expect_contains("AUTHENTICATE")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE] in")
            .expect_contains("EXAMINE")
            .send(format!(
                "* {count} EXISTS\r\n* OK [UIDVALIDITY {validity}] ok\r\n* OK [UIDNEXT {}] ok\r\n",
                count + 1
            ))
            .reply_tagged("OK [READ-ONLY] done")
            .expect_line("A3 UID FETCH 1:* (UID FLAGS)")
            .send(listing)
            .reply_tagged("OK listed")
            .expect_line("A4 IDLE")
            .send_line("+ idling")
    };
    let server = ScriptServer::start(move |i| {
        if i == 0 {
            open(7, 2).sleep(Duration::from_millis(200)).close()
        } else {
            open(8, 3).read_until_closed()
        }
    });
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::new(3, Duration::from_millis(50)))
        .build()
        .unwrap();
    let listener = IdleListener::builder(config).spawn().unwrap();
    let events = listener.events();
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(IdleEvent::Error(_)) | Err(_) => {}
            Ok(e @ IdleEvent::Reconnected { .. }) => {
                seen.push(e);
                break;
            }
            Ok(e) => seen.push(e),
        }
    }
    // `Reconnected` comes after the catch-up, before the new IDLE the script expects.
    server.wait_received(1, "IDLE", Duration::from_secs(10));
    listener.stop();
    assert!(
        matches!(
            seen.as_slice(),
            [
                IdleEvent::UidValidityChanged { old: 7, new: 8 },
                IdleEvent::NewMessages { uids },
                IdleEvent::Reconnected { .. }
            ] if uids == &vec![1, 2, 3]
        ),
        "{seen:?}"
    );
    server.assert_ok();
}
