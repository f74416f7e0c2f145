//! A listener without callbacks runs on a small stack (256 KiB), and user code never runs
//! there: this test gives the listener thread only 64 KiB (a quarter of that, in a debug
//! build, which uses far more stack than a release one) and drives it through what its
//! thread does against the real Dovecot over TLS — IDLE, new mail, flag changes, expunges,
//! a reconnect after `doveadm kick` with a catch-up of many changes and the `on_connect`
//! hook (both on the short-lived connect thread), and a stop. A stack overflow would abort
//! the test process.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mailwire::imap::{IdleEvent, IdleEvents, IdleListener, ImapConnection};
use mailwire::{Config, Flag, RetryPolicy};

const TINY_STACK: usize = 64 * 1024;

fn mail(i: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: stack {i}\r\n\r\nhi\r\n")
        .into_bytes()
}

fn wait_for(events: &IdleEvents, what: &str, mut pred: impl FnMut(&IdleEvent) -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(e) if pred(&e) => return,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no {what} within 20 s");
}

#[test]
fn a_listener_on_a_64_kib_stack_idles_reports_reconnects_and_stops() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let hooks = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hooks);
    let config = Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::new(3, Duration::from_millis(300)))
        .on_connect(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .build()
        .unwrap();
    let writer = ImapConnection::connect(&config).unwrap();
    for i in 0..5 {
        writer.append("INBOX", &mail(i), &[], None).unwrap();
    }
    let listener = IdleListener::builder(config.clone())
        .thread_stack_size(TINY_STACK)
        .spawn()
        .unwrap();
    let events = listener.events();
    std::thread::sleep(Duration::from_millis(500));
    let uid = writer
        .append("INBOX", &mail(10), &[], None)
        .unwrap()
        .expect("APPENDUID")
        .uid;
    wait_for(
        &events,
        "NewMessages",
        |e| matches!(e, IdleEvent::NewMessages { uids } if uids.contains(&uid)),
    );
    writer
        .add_flags("INBOX", vec![uid], &[Flag::Flagged])
        .unwrap();
    wait_for(
        &events,
        "FlagsChanged",
        |e| matches!(e, IdleEvent::FlagsChanged { uid: u, .. } if *u == uid),
    );
    writer.mark_deleted("INBOX", vec![uid]).unwrap();
    writer.uid_expunge("INBOX", vec![uid]).unwrap();
    wait_for(&events, "Expunged", |e| {
        matches!(e, IdleEvent::Expunged { .. })
    });
    // An outage with many changes: the catch-up (on the connect thread) reports them.
    dc.kick(&user.name);
    let writer = ImapConnection::connect(&config).unwrap();
    for i in 20..70 {
        writer.append("INBOX", &mail(i), &[], None).unwrap();
    }
    wait_for(&events, "Reconnected", |e| {
        matches!(e, IdleEvent::Reconnected { .. })
    });
    assert!(
        hooks.load(Ordering::SeqCst) >= 3,
        "on_connect ran on every connect"
    );
    assert!(listener.is_running());
    let started = Instant::now();
    listener.stop();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!listener.is_running());
}
