//! IdleListener against the real Dovecot (new mail, flags, expunge, reconnection, panicking
//! callbacks) and scripted servers (renewal, silent server, NOOP polling).

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mailwire::imap::{Flag, IdleEvent, IdleListener, ImapConnection};
use mailwire::{Config, RetryPolicy, Security};
use support::dovecot::{Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn account(dc: &Dovecot, user: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(10))
        .retry(
            RetryPolicy::new(5, Duration::from_millis(800)).with_max_delay(Duration::from_secs(2)),
        )
        .build()
        .unwrap()
}

fn mail(i: usize) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: idle test {i}\r\n\r\nhello {i}\r\n"
    )
    .into_bytes()
}

/// Waits for an event matching `pred`, up to `timeout`.
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

#[test]
fn new_messages_are_reported_with_their_uids() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let config = account(dc, &user);
    let listener = IdleListener::builder(config.clone())
        .folder("INBOX")
        .spawn()
        .unwrap();
    let events = listener.events();
    let writer = ImapConnection::connect(&config).unwrap();
    let mut appended = Vec::new();
    for i in 0..20 {
        let uid = writer
            .append("INBOX", &mail(i), &[], None)
            .unwrap()
            .expect("APPENDUID")
            .uid;
        appended.push((uid, Instant::now()));
    }
    let mut seen = BTreeSet::new();
    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(15);
    while seen.len() < 20 && Instant::now() < until {
        if let Ok(IdleEvent::NewMessages { uids }) = events.recv_timeout(Duration::from_millis(200))
        {
            let now = Instant::now();
            for uid in uids {
                assert!(seen.insert(uid), "UID {uid} reported twice");
                if let Some((_, at)) = appended.iter().find(|(u, _)| *u == uid) {
                    latencies.push(now.duration_since(*at));
                }
            }
        }
    }
    let expected: BTreeSet<u32> = appended.iter().map(|(u, _)| *u).collect();
    assert_eq!(seen, expected);
    latencies.sort();
    println!(
        "20 appends -> NewMessages: latency min {:?}, median {:?}, max {:?} (Dovecot delays IDLE notifications by 500 ms)",
        latencies.first().unwrap(),
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    listener.stop();
    assert!(!listener.is_running());
}

#[test]
fn flag_changes_and_expunges_are_reported() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[&mail(1), &mail(2), &mail(3)]);
    let config = account(dc, &user);
    let listener = IdleListener::builder(config.clone()).spawn().unwrap();
    let events = listener.events();
    let other = ImapConnection::connect(&config).unwrap();
    other.mark_as_read("INBOX", &[2]).unwrap();
    let event = wait_for(&events, Duration::from_secs(5), |e| {
        matches!(e, IdleEvent::FlagsChanged { .. })
    });
    match event {
        Some(IdleEvent::FlagsChanged { uid, flags }) => {
            assert_eq!(uid, 2);
            assert!(flags.contains(&Flag::Seen), "{flags:?}");
        }
        other => panic!("expected FlagsChanged, got {other:?}"),
    }
    other.mark_deleted("INBOX", &[3]).unwrap();
    other.expunge("INBOX").unwrap();
    let event = wait_for(&events, Duration::from_secs(5), |e| {
        matches!(e, IdleEvent::Expunged { .. })
    });
    match event {
        // Dovecot offers QRESYNC: the listener enables it and gets VANISHED (UIDs).
        Some(IdleEvent::Expunged { seqs, uids }) => {
            assert_eq!(uids.to_string(), "3", "{seqs:?} {uids:?}")
        }
        other => panic!("expected Expunged, got {other:?}"),
    }
}

#[test]
fn reconnects_and_reports_mail_that_arrived_meanwhile() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let config = account(dc, &user);
    let listener = IdleListener::builder(config.clone()).spawn().unwrap();
    let events = listener.events();
    dc.kick(&user.name);
    // The listener waits the retry policy's first delay (800 ms) before reconnecting.
    let writer = ImapConnection::connect(&config).unwrap();
    let uid = writer
        .append("INBOX", &mail(9), &[], None)
        .unwrap()
        .unwrap()
        .uid;
    let mut reconnected = false;
    let mut reported = false;
    let until = Instant::now() + Duration::from_secs(10);
    while !(reconnected && reported) && Instant::now() < until {
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(IdleEvent::Reconnected { after }) => {
                println!("reconnected after {after:?}");
                reconnected = true;
            }
            Ok(IdleEvent::NewMessages { uids }) => reported |= uids.contains(&uid),
            _ => {}
        }
    }
    assert!(reconnected, "no Reconnected event");
    assert!(
        reported,
        "the message appended during the outage was not reported"
    );
}

#[test]
fn a_panicking_callback_does_not_stop_delivery() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let config = account(dc, &user);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let listener = IdleListener::builder(config.clone())
        .on_event(|e| {
            if matches!(e, IdleEvent::NewMessages { .. }) {
                panic!("callback bug");
            }
        })
        .on_event(move |e| {
            if let IdleEvent::NewMessages { uids } = e {
                counted.fetch_add(uids.len(), Ordering::SeqCst);
            }
        })
        .spawn()
        .unwrap();
    let events = listener.events();
    let writer = ImapConnection::connect(&config).unwrap();
    for i in 0..2 {
        writer.append("INBOX", &mail(i), &[], None).unwrap();
        assert!(
            wait_for(&events, Duration::from_secs(5), |e| matches!(
                e,
                IdleEvent::NewMessages { .. }
            ))
            .is_some()
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(listener.is_running());
}

fn scripted_config(port: u16) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Greeting, login (A1), EXAMINE (A2) of a folder with one message and the listing of its
/// UIDs and flags (A3) that the listener keeps to report every change with UIDs.
fn opening(caps: &str) -> Script {
    Script::new()
        .send_line(&format!(
            "* OK [CAPABILITY IMAP4rev1 {caps} AUTH=PLAIN SASL-IR] scripted"
        ))
        .expect_contains("AUTHENTICATE")
        .reply_tagged(&format!("OK [CAPABILITY IMAP4rev1 {caps}] in"))
        .expect_contains("EXAMINE")
        .send("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n")
        .reply_tagged("OK [READ-ONLY] done")
        .expect_contains("UID FETCH 1:* (UID FLAGS)")
        .send_line("* 1 FETCH (UID 1 FLAGS ())")
        .reply_tagged("OK listed")
}

#[test]
fn idle_is_renewed_and_events_still_arrive() {
    let server = ScriptServer::start(|_| {
        opening("IDLE")
            .expect_line("A4 IDLE")
            .send_line("+ idling")
            .send_line("* OK Still here")
            .expect_line("DONE")
            .send_line("A4 OK renewed")
            .expect_line("A5 IDLE")
            .send_line("+ idling")
            .sleep(Duration::from_millis(300))
            .send_line("* 2 EXISTS")
            .expect_line("DONE")
            .send_line("A5 OK done")
            .expect_contains("UID FETCH 2:* (UID FLAGS)")
            .send_line("* 2 FETCH (UID 2 FLAGS ())")
            .reply_tagged("OK fetched")
            .expect_line("A7 IDLE")
            .send_line("+ idling")
            .read_until_closed()
    });
    let started = Instant::now();
    let listener = IdleListener::builder(scripted_config(server.port()))
        .renew_every(Duration::from_secs(2))
        .spawn()
        .unwrap();
    let event = wait_for(&listener.events(), Duration::from_secs(6), |e| {
        matches!(e, IdleEvent::NewMessages { .. })
    });
    assert!(
        matches!(event, Some(IdleEvent::NewMessages { ref uids }) if uids == &vec![2]),
        "{event:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "renewed too early: {:?}",
        started.elapsed()
    );
    // After the event the listener goes back to IDLE (a third time); it sends that after
    // handing out the event, so wait for it (generously) before stopping.
    let idles = || {
        server
            .received_all()
            .iter()
            .filter(|l| l.ends_with(" IDLE"))
            .count()
    };
    let waited = Instant::now();
    while idles() < 3 && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    listener.stop();
    assert!(idles() >= 3, "IDLE sent {} times", idles());
    server.assert_ok();
}

#[test]
fn stop_returns_quickly_when_the_server_is_silent() {
    let server = ScriptServer::start(|_| {
        opening("IDLE")
            .expect_line("A4 IDLE")
            .send_line("+ idling")
            .hang()
    });
    let listener = IdleListener::builder(scripted_config(server.port()))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    listener.stop();
    let took = started.elapsed();
    println!("stop() with a silent server took {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(!listener.is_running());
    assert!(matches!(
        listener.events().try_iter().last(),
        Some(IdleEvent::Stopped)
    ));
}

#[test]
fn without_idle_the_listener_polls_with_noop() {
    let server = ScriptServer::start(|_| {
        opening("")
            .expect_contains("NOOP")
            .reply_tagged("OK nothing")
            .expect_contains("NOOP")
            .send_line("* 2 EXISTS")
            .reply_tagged("OK news")
            .expect_contains("UID FETCH 2:* (UID FLAGS)")
            .send_line("* 2 FETCH (UID 2 FLAGS ())")
            .reply_tagged("OK fetched")
            .expect_contains("NOOP")
            .send_line("* 1 EXPUNGE")
            .reply_tagged("OK gone")
            .read_until_closed()
    });
    let listener = IdleListener::builder(scripted_config(server.port()))
        .poll_interval(Duration::from_millis(200))
        .spawn()
        .unwrap();
    let events = listener.events();
    let new = wait_for(&events, Duration::from_secs(5), |e| {
        matches!(e, IdleEvent::NewMessages { .. })
    });
    assert!(
        matches!(new, Some(IdleEvent::NewMessages { ref uids }) if uids == &vec![2]),
        "{new:?}"
    );
    let gone = wait_for(&events, Duration::from_secs(5), |e| {
        matches!(e, IdleEvent::Expunged { .. })
    });
    assert!(
        matches!(gone, Some(IdleEvent::Expunged { ref seqs, ref uids }) if seqs == &vec![1] && uids.to_string() == "1"),
        "{gone:?}"
    );
    listener.stop();
    assert!(!server.received_all().iter().any(|l| l.ends_with("IDLE")));
}

#[test]
fn expunges_and_flag_changes_by_sequence_number_are_reported_with_uids() {
    // No QRESYNC: EXPUNGE and FETCH name sequence numbers; the listener maps them through
    // the UIDs it knows (3, 4, 5, 9), each response at its place in the sequence, without
    // asking the server.
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR] scripted")
            .expect_contains("AUTHENTICATE")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE] in")
            .expect_contains("EXAMINE")
            .send("* 4 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 10] ok\r\n")
            .reply_tagged("OK [READ-ONLY] done")
            .expect_line("A3 UID FETCH 1:* (UID FLAGS)")
            .send("* 1 FETCH (UID 3 FLAGS ())\r\n* 2 FETCH (UID 4 FLAGS ())\r\n* 3 FETCH (UID 5 FLAGS ())\r\n* 4 FETCH (UID 9 FLAGS ())\r\n")
            .reply_tagged("OK listed")
            .expect_line("A4 IDLE")
            .send_line("+ idling")
            .send("* 2 EXPUNGE\r\n* 2 EXPUNGE\r\n* 2 FETCH (FLAGS (\\Seen))\r\n")
            .expect_line("DONE")
            .send_line("A4 OK done")
            .read_until_closed()
    });
    let listener = IdleListener::builder(scripted_config(server.port()))
        .spawn()
        .unwrap();
    let events = listener.events();
    let flags = wait_for(&events, Duration::from_secs(5), |e| {
        matches!(e, IdleEvent::FlagsChanged { .. })
    });
    assert!(
        matches!(flags, Some(IdleEvent::FlagsChanged { uid: 9, ref flags }) if flags == &vec![Flag::Seen]),
        "{flags:?}"
    );
    let gone = wait_for(&events, Duration::from_secs(5), |e| {
        matches!(e, IdleEvent::Expunged { .. })
    });
    assert!(
        matches!(gone, Some(IdleEvent::Expunged { ref seqs, ref uids }) if seqs == &vec![2, 2] && uids.to_string() == "4:5"),
        "{gone:?}"
    );
    listener.stop();
    server.assert_ok();
}

#[test]
fn events_that_do_not_add_up_are_resynchronised_from_the_server() {
    // UIDs 1 and 2 known; the server reports an EXPUNGE of message 5 (there is none): the
    // listener does not guess, it re-reads the folder (EXAMINE, UID FETCH 1:*) and reports
    // what really changed.
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR] scripted")
            .expect_contains("AUTHENTICATE")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE] in")
            .expect_contains("EXAMINE")
            .send("* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n")
            .reply_tagged("OK [READ-ONLY] done")
            .expect_line("A3 UID FETCH 1:* (UID FLAGS)")
            .send("* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLAGS ())\r\n")
            .reply_tagged("OK listed")
            .expect_line("A4 IDLE")
            .send_line("+ idling")
            .send_line("* 5 EXPUNGE")
            .expect_line("DONE")
            .send_line("A4 OK done")
            .expect_line("A5 EXAMINE INBOX")
            .send("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n")
            .reply_tagged("OK [READ-ONLY] done")
            .expect_line("A6 UID FETCH 1:* (UID FLAGS)")
            .send_line("* 1 FETCH (UID 2 FLAGS (\\Seen))")
            .reply_tagged("OK listed")
            .read_until_closed()
    });
    let listener = IdleListener::builder(scripted_config(server.port()))
        .spawn()
        .unwrap();
    let events = listener.events();
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while seen.len() < 2 && Instant::now() < until {
        if let Ok(e) = events.recv_timeout(Duration::from_millis(100)) {
            seen.push(format!("{e:?}"));
        }
    }
    listener.stop();
    assert_eq!(
        seen,
        vec![
            "FlagsChanged { uid: 2, flags: [Seen] }".to_string(),
            format!(
                "{:?}",
                IdleEvent::Expunged {
                    seqs: vec![],
                    uids: "1".parse().unwrap()
                }
            )
        ]
    );
    server.assert_ok();
}

#[test]
fn a_throttled_reconnect_waits_for_the_servers_hint() {
    // The first connection drops; the next login is refused with "too many connections"
    // ([UNAVAILABLE]: a 10 s hint, capped here by the policy's max_delay of 1.5 s); the
    // third connection works. The listener must wait the capped hint before it tries again,
    // not its 20 ms first delay.
    let server = ScriptServer::start(|i| match i {
        0 => opening("IDLE")
            .expect_line("A4 IDLE")
            .send_line("+ idling")
            .sleep(Duration::from_millis(100))
            .send_line("* BYE going away")
            .close(),
        1 => Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN SASL-IR] scripted")
            .expect_contains("AUTHENTICATE")
            .reply_tagged("NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded")
            .read_until_closed(),
        _ => opening("IDLE")
            .expect_line("A4 IDLE")
            .send_line("+ idling")
            .read_until_closed(),
    });
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("u", "p")
        .timeouts(Duration::from_secs(5))
        .retry(
            RetryPolicy::new(1, Duration::from_millis(20))
                .with_max_delay(Duration::from_millis(1500)),
        )
        .build()
        .unwrap();
    let listener = IdleListener::builder(config).spawn().unwrap();
    let events = listener.events();
    let mut refused_at = None;
    let mut reconnected_at = None;
    let until = Instant::now() + Duration::from_secs(15);
    while reconnected_at.is_none() && Instant::now() < until {
        match events.recv_timeout(Duration::from_millis(50)) {
            Ok(IdleEvent::Error(e)) if e.retry_after().is_some() => {
                assert!(!matches!(*e, mailwire::Error::Auth { .. }), "{e}");
                refused_at = Some(Instant::now());
            }
            Ok(IdleEvent::Reconnected { .. }) => reconnected_at = Some(Instant::now()),
            _ => {}
        }
    }
    // `Reconnected` comes before the listener idles again: let the third script see its
    // IDLE before the stop cuts the connection.
    let waited = Instant::now();
    while !server.received(2).iter().any(|l| l.ends_with(" IDLE"))
        && waited.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    listener.stop();
    let refused_at = refused_at.expect("the throttling answer was not reported");
    let reconnected_at = reconnected_at.expect("the listener did not reconnect");
    let waited = reconnected_at - refused_at;
    assert!(
        waited >= Duration::from_millis(1400),
        "reconnected {waited:?} after the throttling answer: the hint was not honoured"
    );
    assert!(
        waited < Duration::from_secs(9),
        "waited {waited:?}: the hint was not capped by max_delay"
    );
    assert_eq!(server.connections(), 3);
    server.assert_ok();
}
