//! `ImapConnection` against the scripted server: what Dovecot does not do on demand (a
//! server without MOVE, without UIDPLUS, a rejected login counted by connections).

mod support;

use std::time::Duration;

use mailwire::imap::{ImapConnection, SearchQuery};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

fn config(port: u16, retry: RetryPolicy) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(retry)
        .build()
        .unwrap()
}

fn logged_in(caps: &str) -> Script {
    Script::new()
        .send_line(&format!("* OK [CAPABILITY IMAP4rev1 {caps}] scripted"))
        .expect_contains("LOGIN user")
        .reply_tagged(&format!("OK [CAPABILITY IMAP4rev1 {caps}] logged in"))
}

fn selected(script: Script) -> Script {
    script
        .expect_contains("SELECT INBOX")
        .send_line("* 4 EXISTS")
        .send_line("* OK [UIDVALIDITY 7] ok")
        .send_line("* OK [UIDNEXT 5] ok")
        .reply_tagged("OK [READ-WRITE] selected")
}

#[test]
fn move_falls_back_to_copy_store_uid_expunge() {
    let server = ScriptServer::start_seq(vec![
        selected(logged_in("UIDPLUS"))
            .expect_contains("UID COPY 2:3 Archive")
            .reply_tagged("OK [COPYUID 9 2:3 10:11] copied")
            .expect_contains("UID STORE 2:3 +FLAGS.SILENT (\\Deleted)")
            .reply_tagged("OK stored")
            .expect_contains("UID EXPUNGE 2:3")
            .send_line("* 2 EXPUNGE")
            .send_line("* 2 EXPUNGE")
            .reply_tagged("OK expunged")
            .expect_contains("LOGOUT")
            .send_line("* BYE bye")
            .reply_tagged("OK done")
            .close(),
    ]);
    let conn = ImapConnection::connect(&config(server.port(), RetryPolicy::none())).unwrap();
    let moved = conn
        .move_messages("INBOX", &[3, 2], "Archive")
        .unwrap()
        .unwrap();
    assert_eq!(moved.uid_validity, 9);
    assert_eq!(moved.pairs().collect::<Vec<_>>(), vec![(2, 10), (3, 11)]);
    assert_eq!(moved.target_of(3), Some(11));
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
    let sent = server.received(0);
    assert!(!sent.iter().any(|l| l.contains("MOVE")), "{sent:?}");
    // The plain EXPUNGE (which would also remove other \Deleted messages) was never sent.
    assert!(!sent.iter().any(|l| l.ends_with(" EXPUNGE")), "{sent:?}");
}

#[test]
fn move_without_move_or_uidplus_is_refused_before_sending() {
    let server = ScriptServer::start_seq(vec![
        selected(logged_in("IDLE"))
            .expect_contains("UID SEARCH")
            .send_line("* SEARCH 1 2")
            .reply_tagged("OK searched")
            .expect_contains("LOGOUT")
            .reply_tagged("OK done")
            .close(),
    ]);
    let conn = ImapConnection::connect(&config(server.port(), RetryPolicy::none())).unwrap();
    assert_eq!(
        conn.search("INBOX", &SearchQuery::all()).unwrap(),
        vec![1, 2]
    );
    match conn.move_messages("INBOX", &[1], "Archive") {
        Err(Error::InvalidInput { what, reason }) => {
            assert_eq!(what, "move");
            assert!(reason.contains("UIDPLUS"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        conn.uid_expunge("INBOX", &[1]),
        Err(Error::InvalidInput { .. })
    ));
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
    let sent = server.received(0);
    assert!(
        !sent
            .iter()
            .any(|l| l.contains("COPY") || l.contains("STORE") || l.contains("EXPUNGE")),
        "{sent:?}"
    );
}

#[test]
fn rejected_login_is_not_retried() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1] scripted")
            .expect_contains("LOGIN")
            .reply_tagged("NO [AUTHENTICATIONFAILED] Authentication failed.")
            .read_until_closed()
    });
    let retry = RetryPolicy::new(3, Duration::from_millis(10));
    match ImapConnection::connect(&config(server.port(), retry)) {
        Err(Error::Auth { text, .. }) => assert!(text.contains("Authentication failed"), "{text}"),
        other => panic!("{other:?}"),
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 1);
}

#[test]
fn transient_failure_is_retried() {
    // The first connection says BYE [UNAVAILABLE], the second works.
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* BYE [UNAVAILABLE] busy, try later")
            .close(),
        logged_in("UIDPLUS")
            .expect_contains("NOOP")
            .reply_tagged("OK noop")
            .read_until_closed(),
    ]);
    let retry = RetryPolicy::new(3, Duration::from_millis(10));
    let conn = ImapConnection::connect(&config(server.port(), retry)).unwrap();
    conn.noop().unwrap();
    assert_eq!(server.connections(), 2);
}

#[test]
fn a_throttled_login_is_retried_after_the_hint_capped_by_max_delay() {
    // Gmail's answer beyond its connection limit, then a login that works.
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("NO [ALERT] Too many simultaneous connections. (Failure)")
            .read_until_closed(),
        logged_in("UIDPLUS")
            .expect_contains("NOOP")
            .reply_tagged("OK noop")
            .read_until_closed(),
    ]);
    // The hint (30 s) is capped at max_delay (300 ms); the policy alone would wait ~10 ms.
    let retry =
        RetryPolicy::new(3, Duration::from_millis(10)).with_max_delay(Duration::from_millis(300));
    let start = std::time::Instant::now();
    let conn = ImapConnection::connect(&config(server.port(), retry)).unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "retried after {:?}",
        start.elapsed()
    );
    conn.noop().unwrap();
    assert_eq!(server.connections(), 2);
}

#[test]
fn large_uid_lists_are_chunked_and_pipelined() {
    // 3000 scattered UIDs: several commands' worth of set (the connection splits sets at
    // 4000 bytes); all chunks are sent back to back before the first answer is read.
    let uids: Vec<u32> = (1..=3000).map(|i| i * 2).collect();
    let set: mailwire::imap::SequenceSet = uids.iter().copied().collect();
    let chunks = set.chunks(4000).count();
    assert!(chunks >= 3, "{chunks}");
    let mut script = selected(logged_in("UIDPLUS"));
    for _ in 0..chunks {
        script = script.expect_contains("UID STORE");
    }
    // Only now, with every command received, does the server answer (A1 was LOGIN, A2
    // SELECT).
    for tag in 3..3 + chunks {
        script = script.send_line(&format!("A{tag} OK stored"));
    }
    let server = ScriptServer::start_seq(vec![script.read_until_closed()]);
    let conn = ImapConnection::connect(&config(server.port(), RetryPolicy::none())).unwrap();
    conn.mark_as_read("INBOX", &uids).unwrap();
    let sent = server.received(0);
    let stores: Vec<&String> = sent.iter().filter(|l| l.contains("UID STORE")).collect();
    assert_eq!(stores.len(), chunks, "{sent:?}");
    // Every UID was sent exactly once, in order.
    let mut seen = Vec::new();
    for l in stores {
        let set = l.split(' ').nth(3).unwrap();
        for n in set.split(',') {
            seen.push(n.parse::<u32>().unwrap());
        }
        assert!(l.ends_with("+FLAGS.SILENT (\\Seen)"), "{l}");
    }
    assert_eq!(seen, uids);
}

#[test]
fn folder_names_are_utf8_after_enable_utf8_accept() {
    let server = ScriptServer::start_seq(vec![
        logged_in("ENABLE UTF8=ACCEPT")
            .expect_contains("LIST")
            .send_line("* LIST () \"/\" Entw&APw-rfe")
            .reply_tagged("OK listed")
            .expect_contains("LSUB")
            .reply_tagged("OK lsub")
            .expect_contains("ENABLE UTF8=ACCEPT")
            .send_line("* ENABLED UTF8=ACCEPT")
            .reply_tagged("OK enabled")
            .expect_contains("LIST")
            .send_line("* LIST () \"/\" \"Привет\"")
            .send_line("* LIST () \"/\" \"Tom&AOk-Jerry\"")
            .reply_tagged("OK listed")
            .expect_contains("LSUB")
            .send_line("* LSUB () \"/\" \"Привет\"")
            .reply_tagged("OK lsub")
            .expect_contains("SELECT \"Привет\"")
            .send_line("* 0 EXISTS")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    // The automatic ENABLE switched off, to enable it by hand (tests/imap_utf8.rs has
    // the automatic one).
    let manual = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .utf8_accept(false)
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&manual).unwrap();
    let before: Vec<String> = conn
        .list_folders()
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(before, vec!["Entwürfe"]);
    assert_eq!(conn.enable(&["UTF8=ACCEPT"]).unwrap(), vec!["UTF8=ACCEPT"]);
    let after = conn.list_folders().unwrap();
    let names: Vec<&str> = after.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["Привет", "Tom&AOk-Jerry"]);
    assert!(after[0].subscribed && !after[1].subscribed);
    assert_eq!(conn.select("Привет").unwrap().exists, 0);
    conn.logout();
    server.assert_ok();
}

#[test]
fn a_fetch_keeps_its_answers_and_queues_the_rest() {
    // Between the answers to the fetch: a flag change without UID, an EXISTS, a FETCH for a
    // UID that was not asked for; the answers themselves come as a literal, as a 2 MiB
    // literal (handed over from the read buffer) followed in the same write by more
    // responses, as a quoted string with escapes and as NIL.
    let big: Vec<u8> = (0..2 << 20).map(|i| b'a' + (i % 23) as u8).collect();
    let mut burst = format!("* 2 FETCH (UID 2 BODY[] {{{}}}\r\n", big.len()).into_bytes();
    burst.extend_from_slice(&big);
    burst.extend_from_slice(b")\r\n* 9 FETCH (UID 99 FLAGS (\\Flagged))\r\n");
    burst.extend_from_slice(b"* 4 FETCH (UID 4 BODY[] \"say \\\"hi\\\"\")\r\n");
    let script = selected(logged_in("UIDPLUS"))
        .expect_contains("UID FETCH 1:4")
        .send(b"* 1 FETCH (UID 1 FLAGS () BODY[] {5}\r\nhello)\r\n")
        .send_line("* 3 FETCH (FLAGS (\\Seen))")
        .send_line("* 5 EXISTS")
        .send(burst)
        .send_line("* 3 FETCH (UID 3 BODY[] NIL)")
        .reply_tagged("OK fetched")
        .expect_contains("LOGOUT")
        .send_line("* BYE bye")
        .reply_tagged("OK logged out")
        .read_until_closed();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&config(server.port(), RetryPolicy::none())).unwrap();
    let got = conn
        .fetch("INBOX", &[1, 2, 3, 4], mailwire::imap::FetchWhat::Full)
        .unwrap();
    let uids: Vec<Option<u32>> = got.iter().map(|m| m.uid()).collect();
    assert_eq!(uids, [Some(1), Some(2), Some(3), Some(4)]);
    assert_eq!(got[0].raw(), b"hello");
    assert!(got[1].raw() == big.as_slice());
    assert_eq!(got[2].raw(), b"");
    assert_eq!(got[3].raw(), b"say \"hi\"");
    let queued = conn.take_unsolicited();
    assert_eq!(queued.len(), 3, "{queued:?}");
    assert!(matches!(
        queued[0],
        mailwire::imap::types::Untagged::Fetch { seq: 3, .. }
    ));
    assert!(matches!(
        queued[1],
        mailwire::imap::types::Untagged::Exists(5)
    ));
    assert!(matches!(
        queued[2],
        mailwire::imap::types::Untagged::Fetch { seq: 9, .. }
    ));
    conn.logout();
    server.assert_ok();
}
