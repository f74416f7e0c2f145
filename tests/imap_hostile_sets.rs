//! Server-sent sets are bounded by their ranges, never their members (issue 15, item 1).
//!
//! A scripted hostile server answers with sets such as `1:4294967295`: four billion UIDs in
//! 12 bytes. Expanding one into a list (16 GiB) aborts the whole process, so each test
//! here, on the code before the fix, dies instead of failing an assertion. Now: the set
//! stays ranges, what a call returns is clipped to what can exist, a cap on ranges per
//! response applies (`Limits::max_set_ranges`), and `VANISHED` is accepted only with
//! QRESYNC enabled.

#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use std::time::{Duration, Instant};

use imap_scripts::{logged_in, logout};
use mailwire::imap::{
    IdleEvent, IdleListener, ImapConnection, SearchQuery, SequenceSet, SyncState, SyncStrategy,
};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

fn config(port: u16) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// SELECT INBOX (A2) of a folder of 3 messages, UIDs 1 to 3.
fn selected(script: Script) -> Script {
    script
        .expect_contains("SELECT INBOX")
        .send_line("* 3 EXISTS")
        .send_line("* OK [UIDVALIDITY 7] ok")
        .send_line("* OK [UIDNEXT 4] ok")
        .reply_tagged("OK [READ-WRITE] selected")
}

#[test]
fn esearch_of_every_uid_is_one_range_not_four_billion_numbers() {
    let server = ScriptServer::start_seq(vec![logout(
        selected(logged_in("ESEARCH"))
            .expect_contains("UID SEARCH")
            .send_line("* ESEARCH (TAG \"A3\") UID ALL 1:4294967295")
            .reply_tagged("OK searched")
            .expect_contains("UID SEARCH")
            .send_line("* ESEARCH (TAG \"A4\") UID ALL 1:4294967295")
            .reply_tagged("OK searched"),
    )]);
    let conn = ImapConnection::connect(&config(server.port())).unwrap();
    let uids = conn.search("INBOX", &SearchQuery::all()).unwrap();
    // Held as one range; never expanded.
    assert_eq!(uids.set().ranges().len(), 1);
    assert_eq!(uids.len() as u64, u64::from(u32::MAX));
    assert_eq!(uids.validity(), Some(7));
    assert_eq!(uids.newest(2), [u32::MAX - 1, u32::MAX]);
    // Clipped to the searched set when the query bounds the UIDs.
    let bounded = conn
        .search("INBOX", &SearchQuery::uid(SequenceSet::range(2, 3)))
        .unwrap();
    assert_eq!(bounded, vec![2, 3]);
    assert!(conn.peak_buffered_bytes() < 64 * 1024);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn search_answers_are_clipped_to_the_searched_uids_and_to_real_uids() {
    let server = ScriptServer::start_seq(vec![logout(
        selected(logged_in("IDLE"))
            .expect_contains("UID SEARCH UID 5:10")
            .send_line("* SEARCH 0 1 7 4000000000")
            .reply_tagged("OK searched")
            .expect_contains("UID SEARCH OR UID 1:2 UID 9")
            .send_line("* SEARCH 2 3 9")
            .reply_tagged("OK searched")
            .expect_contains("UID SEARCH UNSEEN")
            .send_line("* SEARCH 0 3")
            .reply_tagged("OK searched"),
    )]);
    let conn = ImapConnection::connect(&config(server.port())).unwrap();
    let q = SearchQuery::uid(SequenceSet::range(5, 10));
    assert_eq!(conn.search("INBOX", &q).unwrap(), vec![7]);
    let q = SearchQuery::uid(SequenceSet::range(1, 2)).or(SearchQuery::uid(9));
    assert_eq!(conn.search("INBOX", &q).unwrap(), vec![2, 9]);
    // UID 0 exists nowhere.
    assert_eq!(
        conn.search("INBOX", &SearchQuery::unseen()).unwrap(),
        vec![3]
    );
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn a_set_over_max_set_ranges_is_limit_exceeded_and_breaks_the_connection() {
    // 11 ranges where the config allows 10.
    let ranges: Vec<String> = (0..11).map(|i| (2 * i + 1).to_string()).collect();
    let answer = format!("* ESEARCH (TAG \"A3\") UID ALL {}", ranges.join(","));
    let server = ScriptServer::start_seq(vec![
        selected(logged_in("ESEARCH"))
            .expect_contains("UID SEARCH")
            .send_line(&answer)
            .reply_tagged("OK searched")
            .read_until_closed(),
    ]);
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .max_set_ranges(10)
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    match conn.search("INBOX", &SearchQuery::all()) {
        Err(e @ Error::LimitExceeded { limit: 10, .. }) => {
            assert!(e.breaks_connection(), "{e}");
            assert!(e.to_string().contains("max_set_ranges"), "{e}");
        }
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
    assert!(conn.is_broken());
    assert!(conn.is_stale());
}

#[test]
fn vanished_counts_only_with_qresync_and_only_the_uids_asked_for() {
    let server = ScriptServer::start_seq(vec![logout(
        selected(logged_in("UIDPLUS ENABLE QRESYNC CONDSTORE"))
            // Not enabled yet: a VANISHED is a protocol violation and counts nothing.
            .expect_contains("UID EXPUNGE 2:3")
            .send_line("* VANISHED 1:4294967295")
            .reply_tagged("OK expunged")
            .expect_contains("ENABLE QRESYNC")
            .send_line("* ENABLED QRESYNC")
            .reply_tagged("OK enabled")
            // Enabled: only the UIDs asked for count.
            .expect_contains("UID EXPUNGE 2:3")
            .send_line("* VANISHED 1:4294967295")
            .reply_tagged("OK expunged"),
    )]);
    let conn = ImapConnection::connect(&config(server.port())).unwrap();
    assert_eq!(conn.uid_expunge("INBOX", &[2, 3]).unwrap(), 0);
    assert_eq!(conn.enable(&["QRESYNC"]).unwrap(), vec!["QRESYNC"]);
    assert_eq!(conn.uid_expunge("INBOX", &[2, 3]).unwrap(), 2);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn copyuid_keeps_only_the_uids_copied_as_ranges() {
    let server = ScriptServer::start_seq(vec![logout(
        selected(logged_in("UIDPLUS MOVE"))
            .expect_contains("UID COPY 2:3 Archive")
            .reply_tagged("OK [COPYUID 9 1:4294967295 1:4294967295] copied")
            .expect_contains("UID MOVE 2:3 Archive")
            .send_line("* OK [COPYUID 9 3,2 20:21] moving")
            .send_line("* 2 EXPUNGE")
            .send_line("* 2 EXPUNGE")
            .reply_tagged("OK moved")
            .expect_contains("UID COPY 1 Archive")
            // Source and target sets of different sizes: the code is ignored.
            .reply_tagged("OK [COPYUID 9 1 5:6] copied"),
    )]);
    let conn = ImapConnection::connect(&config(server.port())).unwrap();
    let copied = conn.copy("INBOX", &[2, 3], "Archive").unwrap().unwrap();
    assert_eq!(copied.len(), 2);
    assert_eq!(copied.pairs().collect::<Vec<_>>(), vec![(2, 2), (3, 3)]);
    assert_eq!(copied.target_uids(), [2, 3]);
    assert_eq!(copied.target_uids().validity(), Some(9));
    let moved = conn
        .move_messages("INBOX", &[2, 3], "Archive")
        .unwrap()
        .unwrap();
    // The server's order pairs 3 with 20 and 2 with 21.
    assert_eq!(moved.pairs().collect::<Vec<_>>(), vec![(3, 20), (2, 21)]);
    assert_eq!(moved.target_of(2), Some(21));
    assert_eq!(conn.copy("INBOX", &[1], "Archive").unwrap(), None);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn condstore_sync_clips_a_hostile_search_answer_below_uidnext() {
    let state: SyncState = "v1;folder=INBOX;uidvalidity=7;uidnext=3;modseq=100;uids=1:2;flags="
        .parse()
        .unwrap();
    let caps = "CONDSTORE ESEARCH";
    let select = |script: Script, uid_next: &str| {
        script
            .expect_contains("SELECT INBOX (CONDSTORE)")
            .send_line("* 2 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .send_line(&format!("* OK [UIDNEXT {uid_next}] ok"))
            .send_line("* OK [HIGHESTMODSEQ 110] ok")
            .reply_tagged("OK [READ-WRITE] selected")
    };
    let first = select(logged_in(caps), "3")
        .expect_contains("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 100)")
        .expect_contains("UID SEARCH RETURN (ALL) ALL")
        .send_line("A3 OK fetched")
        .send_line("* ESEARCH (TAG \"A4\") UID ALL 1:4294967295")
        .send_line("A4 OK searched");
    // A hostile UIDNEXT too: the set of UIDs still to ask about stays one range.
    let second = select(first, "4294967295")
        .expect_contains("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 100)")
        .expect_contains("UID SEARCH RETURN (ALL) ALL")
        .send_line("A6 OK fetched")
        .send_line("* ESEARCH (TAG \"A7\") UID ALL 1:4294967295")
        .send_line("A7 OK searched")
        .expect_contains("UID FETCH 3:4294967294 (UID FLAGS)")
        .reply_tagged("OK fetched");
    let server = ScriptServer::start_seq(vec![logout(second)]);
    let conn = ImapConnection::connect(&config(server.port())).unwrap();
    let d = conn
        .sync_with("INBOX", &state, SyncStrategy::Condstore)
        .unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(d.state.known_uids(), &SequenceSet::range(1, 2));
    let d = conn
        .sync_with("INBOX", &state, SyncStrategy::Condstore)
        .unwrap();
    assert!(d.new.is_empty() && d.vanished.is_empty(), "{d:?}");
    assert!(conn.peak_buffered_bytes() < 64 * 1024);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn a_sync_refuses_an_esearch_answer_without_the_uid_indicator() {
    let state: SyncState = "v1;folder=INBOX;uidvalidity=7;uidnext=3;modseq=100;uids=1:2;flags="
        .parse()
        .unwrap();
    // Sequence number 1 taken as a UID would call UID 2 vanished.
    let script = logged_in("CONDSTORE ESEARCH")
        .expect_contains("SELECT INBOX (CONDSTORE)")
        .send_line("* 2 EXISTS")
        .send_line("* OK [UIDVALIDITY 7] ok")
        .send_line("* OK [UIDNEXT 3] ok")
        .send_line("* OK [HIGHESTMODSEQ 110] ok")
        .reply_tagged("OK [READ-WRITE] selected")
        .expect_contains("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 100)")
        .expect_contains("UID SEARCH RETURN (ALL) ALL")
        .send_line("A3 OK fetched")
        .send_line("* ESEARCH (TAG \"A4\") ALL 1")
        .send_line("A4 OK searched");
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&config(server.port())).unwrap();
    let err = conn
        .sync_with("INBOX", &state, SyncStrategy::Condstore)
        .unwrap_err();
    assert!(
        matches!(err, Error::Protocol { .. }) && err.to_string().contains("UID indicator"),
        "{err:?}"
    );
    drop(conn);
    assert!(server.wait_done(Duration::from_secs(5)));
}

/// Greeting, login (A1), an `ENABLE QRESYNC` the server answers without enabling it (A2),
/// EXAMINE (A3) of a folder with one message and the listing of its UIDs and flags (A4),
/// for a listener.
fn listener_opening() -> Script {
    Script::new()
        .send_line("* OK [CAPABILITY IMAP4rev1 IDLE QRESYNC AUTH=PLAIN SASL-IR] scripted")
        .expect_contains("AUTHENTICATE")
        .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE QRESYNC] in")
        .expect_line("A2 ENABLE QRESYNC")
        .reply_tagged("OK nothing enabled")
        .expect_contains("EXAMINE")
        .send("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n")
        .reply_tagged("OK [READ-ONLY] done")
        .expect_contains("UID FETCH 1:* (UID FLAGS)")
        .send_line("* 1 FETCH (UID 1 FLAGS ())")
        .reply_tagged("OK listed")
}

#[test]
fn idle_listener_ignores_vanished_without_qresync() {
    let server = ScriptServer::start(|_| {
        listener_opening()
            .expect_line("A5 IDLE")
            .send_line("+ idling")
            .send_line("* VANISHED 1:4294967295")
            .expect_line("DONE")
            .send_line("A5 OK done")
            .expect_line("A6 IDLE")
            .send_line("+ idling")
            .send_line("* 2 EXISTS")
            .expect_line("DONE")
            .send_line("A6 OK done")
            .expect_contains("UID FETCH 2:* (UID FLAGS)")
            .send_line("* 2 FETCH (UID 2 FLAGS ())")
            .reply_tagged("OK fetched")
            .read_until_closed()
    });
    let listener = IdleListener::builder(config(server.port()))
        .spawn()
        .unwrap();
    let events = listener.events();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(e @ IdleEvent::NewMessages { .. }) => {
                seen.push(e);
                break;
            }
            Ok(e) => seen.push(e),
            Err(_) => {}
        }
    }
    listener.stop();
    assert!(
        matches!(seen.last(), Some(IdleEvent::NewMessages { uids }) if uids == &vec![2]),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|e| matches!(e, IdleEvent::Expunged { .. })),
        "VANISHED accepted without QRESYNC: {seen:?}"
    );
    server.assert_ok();
}

#[test]
fn idle_listener_clips_a_hostile_vanished_to_the_known_uids() {
    // QRESYNC enabled: VANISHED is valid, but "everything vanished" only removes the UIDs
    // the listener knows (3, 4, 9): three numbers in two ranges, never four billion.
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 IDLE QRESYNC AUTH=PLAIN SASL-IR] scripted")
            .expect_contains("AUTHENTICATE")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 IDLE QRESYNC] in")
            .expect_line("A2 ENABLE QRESYNC")
            .send_line("* ENABLED QRESYNC")
            .reply_tagged("OK enabled")
            .expect_contains("EXAMINE")
            .send("* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 10] ok\r\n* OK [HIGHESTMODSEQ 5] ok\r\n")
            .reply_tagged("OK [READ-ONLY] done")
            .expect_line("A4 UID FETCH 1:* (UID FLAGS)")
            .send("* 1 FETCH (UID 3 FLAGS ())\r\n* 2 FETCH (UID 4 FLAGS ())\r\n* 3 FETCH (UID 9 FLAGS ())\r\n")
            .reply_tagged("OK listed")
            .expect_line("A5 IDLE")
            .send_line("+ idling")
            .send_line("* VANISHED 1:4294967295")
            .expect_line("DONE")
            .send_line("A5 OK done")
            .read_until_closed()
    });
    let listener = IdleListener::builder(config(server.port()))
        .spawn()
        .unwrap();
    let events = listener.events();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut gone = None;
    while gone.is_none() && Instant::now() < deadline {
        if let Ok(IdleEvent::Expunged { seqs, uids }) =
            events.recv_timeout(Duration::from_millis(100))
        {
            gone = Some((seqs, uids));
        }
    }
    listener.stop();
    let (seqs, uids) = gone.expect("an Expunged event");
    assert!(seqs.is_empty(), "{seqs:?}");
    assert_eq!(uids.to_string(), "3:4,9");
    server.assert_ok();
}
