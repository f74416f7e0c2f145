//! Incremental sync (`ImapConnection::sync`) against the harness Dovecot (which has
//! CONDSTORE and QRESYNC), every strategy forced in turn from the same starting state, and
//! against the scripted server for what Dovecot cannot show (a server without CONDSTORE).

mod support;

use std::time::{Duration, Instant};

use mailwire::imap::{
    Flag, ImapConnection, SearchQuery, SequenceSet, SyncDelta, SyncState, SyncStrategy,
};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

const STRATEGIES: [SyncStrategy; 3] = [
    SyncStrategy::Qresync,
    SyncStrategy::Condstore,
    SyncStrategy::Plain,
];

fn config(dc: &Dovecot, u: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn connect(dc: &Dovecot, u: &User) -> ImapConnection {
    ImapConnection::connect(&config(dc, u)).unwrap()
}

fn mail(n: usize) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

fn seed(dc: &Dovecot, u: &User, folder: &str, count: usize) {
    let messages: Vec<Vec<u8>> = (0..count).map(mail).collect();
    dc.seed(&u.name, folder, &messages);
}

/// The state's text without the mod-sequence: the plain strategy may not learn it.
fn without_modseq(state: &SyncState) -> String {
    state
        .to_string()
        .split(';')
        .filter(|f| !f.starts_with("modseq="))
        .collect::<Vec<_>>()
        .join(";")
}

/// New, flags changed, vanished, reset, state text without the mod-sequence.
type Comparable = (Vec<u32>, Vec<(u32, Vec<Flag>)>, SequenceSet, bool, String);

/// Everything a caller sees of a delta except which strategy ran.
fn comparable(d: &SyncDelta) -> Comparable {
    (
        d.new.clone(),
        d.flags_changed.clone(),
        d.vanished.clone(),
        d.uid_validity_reset,
        without_modseq(&d.state),
    )
}

#[test]
fn all_strategies_report_exactly_the_changes_of_another_client() {
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let folder = "INBOX";
    seed(dc, &u, folder, 495);
    for i in 0..5 {
        dc.seed_with_flags(&u.name, folder, &mail(1000 + i), "S");
    }

    // Initial sync: every message is new, with its flags; all strategies agree.
    let mut initial = Vec::new();
    for strategy in STRATEGIES {
        let conn = connect(dc, &u);
        let d = conn
            .sync_with(folder, &SyncState::new(folder), strategy)
            .unwrap();
        assert_eq!(d.new.len(), 500, "{strategy}");
        assert_eq!(d.new, (1..=500).collect::<Vec<u32>>());
        assert_eq!(d.flags_changed.len(), 500);
        assert!(d.vanished.is_empty() && !d.uid_validity_reset);
        assert_eq!(d.state.message_count(), 500);
        assert_eq!(d.state.uid_next(), Some(501));
        let seen = d
            .flags_changed
            .iter()
            .filter(|(_, f)| f == &vec![Flag::Seen])
            .count();
        assert_eq!(seen, 5);
        initial.push(d);
    }
    assert!(
        initial
            .windows(2)
            .all(|w| comparable(&w[0]) == comparable(&w[1]))
    );
    let state0 = initial[0].state.clone();
    assert!(state0.highest_modseq().is_some(), "{state0}");
    assert_eq!(state0.to_string().parse::<SyncState>().unwrap(), state0);

    // Another client appends 3, flags 2, expunges 4.
    let other = connect(dc, &u);
    let mut appended = Vec::new();
    for i in 0..3 {
        let flags: &[Flag] = if i == 0 { &[Flag::Flagged] } else { &[] };
        let a = other
            .append(folder, &mail(2000 + i), flags, None)
            .unwrap()
            .unwrap();
        appended.push(a.uid);
    }
    other.add_flags(folder, &[10, 20], &[Flag::Seen]).unwrap();
    other.add_keywords(folder, &[20], &["$Work"]).unwrap();
    other.mark_deleted(folder, &[3, 100, 101, 496]).unwrap();
    assert_eq!(other.uid_expunge(folder, &[3, 100, 101, 496]).unwrap(), 4);
    assert_eq!(appended, vec![501, 502, 503]);

    let mut deltas = Vec::new();
    for strategy in STRATEGIES {
        let conn = connect(dc, &u);
        let d = conn.sync_with(folder, &state0, strategy).unwrap();
        assert_eq!(d.strategy, strategy);
        assert_eq!(d.new, vec![501, 502, 503], "{strategy}");
        assert_eq!(d.vanished, vec![3, 100, 101, 496], "{strategy}");
        assert_eq!(
            d.flags_changed,
            vec![
                (10, vec![Flag::Seen]),
                (20, vec![Flag::Keyword("$Work".into()), Flag::Seen]),
                (501, vec![Flag::Flagged]),
                (502, vec![]),
                (503, vec![]),
            ],
            "{strategy}"
        );
        assert!(!d.uid_validity_reset);
        assert_eq!(d.state.message_count(), 499);
        assert_eq!(d.state.uid_next(), Some(504));
        assert_eq!(d.state.flags(20).unwrap().len(), 2);
        assert_eq!(d.state.flags(3), None);
        // Nothing changed since: the same connection reports nothing.
        let again = conn.sync_with(folder, &d.state, strategy).unwrap();
        assert!(again.is_empty(), "{strategy}: {again:?}");
        deltas.push(d);
    }
    assert_eq!(comparable(&deltas[0]), comparable(&deltas[1]));
    assert_eq!(comparable(&deltas[0]), comparable(&deltas[2]));

    // A flag set and removed again is no change, although its mod-sequence moved.
    let state1 = deltas[0].state.clone();
    other.add_star(folder, &[30]).unwrap();
    other.remove_star(folder, &[30]).unwrap();
    for strategy in STRATEGIES {
        let conn = connect(dc, &u);
        let d = conn.sync_with(folder, &state1, strategy).unwrap();
        assert!(d.is_empty(), "{strategy}: {d:?}");
    }

    // Auto on a connection that already has a folder selected: QRESYNC still works (the
    // connection leaves the folder to ENABLE it), and the mailbox cache does not skip the
    // QRESYNC SELECT.
    let conn = connect(dc, &u);
    conn.select(folder).unwrap();
    let d = conn.sync(folder, &state0).unwrap();
    assert_eq!(d.strategy, SyncStrategy::Qresync);
    assert_eq!(comparable(&d), comparable(&deltas[0]));
    // The folder stays selected and usable.
    assert_eq!(conn.search(folder, &SearchQuery::all()).unwrap().len(), 499);
    other.logout();
}

#[test]
fn recreated_folder_is_a_uid_validity_reset() {
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let folder = "Recreated";
    let conn = connect(dc, &u);
    conn.create_folder(folder).unwrap();
    for i in 0..5 {
        conn.append(folder, &mail(i), &[Flag::Seen], None).unwrap();
    }
    let before = conn.sync(folder, &SyncState::new(folder)).unwrap();
    assert_eq!(before.new, vec![1, 2, 3, 4, 5]);
    let old_validity = before.state.uid_validity().unwrap();

    conn.delete_folder(folder).unwrap();
    conn.create_folder(folder).unwrap();
    for i in 0..2 {
        conn.append(folder, &mail(10 + i), &[], None).unwrap();
    }

    let mut results = Vec::new();
    for strategy in STRATEGIES {
        let c = connect(dc, &u);
        let d = c.sync_with(folder, &before.state, strategy).unwrap();
        assert!(d.uid_validity_reset, "{strategy}");
        // UIDs 1 and 2 again, but other messages: all new, nothing mixed with the old.
        assert_eq!(d.new, vec![1, 2], "{strategy}");
        assert!(d.vanished.is_empty());
        assert_eq!(d.flags_changed, vec![(1, vec![]), (2, vec![])]);
        assert_ne!(d.state.uid_validity(), Some(old_validity));
        assert_eq!(d.state.message_count(), 2);
        results.push(comparable(&d));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    // On the connection that knew the old UIDVALIDITY, the sync reports the reset itself
    // and later calls do not fail with UidValidityChanged.
    let d = conn.sync(folder, &before.state).unwrap();
    assert!(d.uid_validity_reset);
    assert_eq!(
        conn.search(folder, &SearchQuery::all()).unwrap(),
        vec![1, 2]
    );
}

#[test]
fn qresync_moves_under_five_percent_of_the_plain_bytes_on_10000_messages() {
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let folder = "Big";
    let started = Instant::now();
    dc.maildir(&u.name, folder);
    seed(dc, &u, folder, 10_000);
    let conn = connect(dc, &u);
    conn.create_folder(folder).ok();
    let initial = conn.sync(folder, &SyncState::new(folder)).unwrap();
    assert_eq!(initial.new.len(), 10_000);
    let state = initial.state;

    // 10 changes: 4 flag changes, 3 appends, 3 expunges.
    conn.add_flags(folder, &[5, 500, 5000], &[Flag::Seen])
        .unwrap();
    conn.add_star(folder, &[9999]).unwrap();
    for i in 0..3 {
        conn.append(folder, &mail(20_000 + i), &[], None).unwrap();
    }
    conn.mark_deleted(folder, &[7, 70, 7000]).unwrap();
    conn.uid_expunge(folder, &[7, 70, 7000]).unwrap();

    let measure = |strategy| {
        let c = connect(dc, &u);
        let before = c.bytes_received();
        let d = c.sync_with(folder, &state, strategy).unwrap();
        (c.bytes_received() - before, d)
    };
    let (qresync_bytes, q) = measure(SyncStrategy::Qresync);
    let (condstore_bytes, c) = measure(SyncStrategy::Condstore);
    let (plain_bytes, p) = measure(SyncStrategy::Plain);
    println!(
        "sync of 10,000 messages with 10 changes: QRESYNC {qresync_bytes} bytes, CONDSTORE {condstore_bytes} bytes, plain {plain_bytes} bytes ({:.2} % of plain for QRESYNC); setup and syncs took {:?}",
        qresync_bytes as f64 * 100.0 / plain_bytes as f64,
        started.elapsed()
    );
    assert_eq!(q.new, vec![10_001, 10_002, 10_003]);
    assert_eq!(q.vanished, vec![7, 70, 7000]);
    assert_eq!(q.flags_changed.len(), 7);
    assert_eq!(comparable(&q), comparable(&p));
    assert_eq!(comparable(&q), comparable(&c));
    println!(
        "stored state after the sync: {} bytes",
        q.state.to_string().len()
    );
    assert!(
        qresync_bytes * 20 < plain_bytes,
        "QRESYNC {qresync_bytes} bytes vs plain {plain_bytes}"
    );
}

#[test]
fn state_for_another_folder_is_refused() {
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let conn = connect(dc, &u);
    match conn.sync("INBOX", &SyncState::new("Archive")) {
        Err(Error::InvalidInput { what, reason }) => {
            assert_eq!(what, "sync state");
            assert!(reason.contains("Archive"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A real state survives its text form.
    dc.seed(&u.name, "INBOX", &[&mail(1), &mail(2)]);
    let d = conn.sync("INBOX", &SyncState::new("INBOX")).unwrap();
    let text = d.state.to_string();
    assert!(text.starts_with("v1;folder=INBOX;uidvalidity="), "{text}");
    assert!(text.contains(";uids=1:2;"), "{text}");
    assert_eq!(text.parse::<SyncState>().unwrap(), d.state);
}

fn scripted_config(port: u16) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[test]
fn server_without_condstore_gets_plain_sync_and_forcing_is_refused() {
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1] logged in")
            .expect(|l| l.ends_with(" SELECT INBOX"))
            .send_line("* 3 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .send_line("* OK [UIDNEXT 12] ok")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect_contains("UID FETCH 1:* (UID FLAGS)")
            .send_line("* 1 FETCH (UID 4 FLAGS (\\Seen \\Recent))")
            .send_line("* 2 FETCH (UID 9 FLAGS ())")
            .send_line("* 3 FETCH (FLAGS (\\Answered) UID 11)")
            .reply_tagged("OK fetched")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    for strategy in [SyncStrategy::Qresync, SyncStrategy::Condstore] {
        match conn.sync_with("INBOX", &SyncState::new("INBOX"), strategy) {
            Err(Error::InvalidInput { what, reason }) => {
                assert_eq!(what, "sync strategy");
                assert!(reason.contains("does not announce"), "{reason}");
            }
            other => panic!("{strategy}: {other:?}"),
        }
    }
    let d = conn.sync("INBOX", &SyncState::new("INBOX")).unwrap();
    assert_eq!(d.strategy, SyncStrategy::Plain);
    assert_eq!(d.new, vec![4, 9, 11]);
    // \Recent is session state, never reported or stored.
    assert_eq!(
        d.flags_changed,
        vec![
            (4, vec![Flag::Seen]),
            (9, vec![]),
            (11, vec![Flag::Answered])
        ]
    );
    assert_eq!(d.state.uid_next(), Some(12));
    assert_eq!(d.state.highest_modseq(), None);
    assert_eq!(
        d.state.to_string(),
        "v1;folder=INBOX;uidvalidity=7;uidnext=12;modseq=;uids=4,9,11;flags=\\Answered=11/\\Seen=4"
    );
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
    // Nothing was sent for the refused strategies: no ENABLE, one SELECT.
    let sent = server.received(0);
    assert!(!sent.iter().any(|l| l.contains("ENABLE")), "{sent:?}");
    assert_eq!(sent.iter().filter(|l| l.contains("SELECT")).count(), 1);
}

#[test]
fn qresync_commands_on_the_wire() {
    let state: SyncState =
        "v1;folder=INBOX;uidvalidity=7;uidnext=12;modseq=100;uids=4,9,11;flags=\\Seen=4"
            .parse()
            .unwrap();
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC] logged in")
            .expect_contains("ENABLE QRESYNC")
            .send_line("* ENABLED QRESYNC")
            .reply_tagged("OK enabled")
            .expect_contains("SELECT INBOX (QRESYNC (7 100 4,9,11))")
            .send_line("* 3 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .send_line("* OK [UIDNEXT 14] ok")
            .send_line("* OK [HIGHESTMODSEQ 130] ok")
            .send_line("* VANISHED (EARLIER) 1:3,5:9")
            .send_line("* 1 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (101))")
            .send_line("* 2 FETCH (UID 11 FLAGS (\\Flagged) MODSEQ (120))")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect_contains("UID FETCH 12:* (UID FLAGS)")
            .send_line("* 3 FETCH (UID 13 FLAGS (\\Seen) MODSEQ (130))")
            .reply_tagged("OK fetched")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let d = conn.sync("INBOX", &state).unwrap();
    assert_eq!(d.strategy, SyncStrategy::Qresync);
    // UID 4 was reported with a new MODSEQ but unchanged flags: no change.
    assert_eq!(d.vanished, vec![9]);
    assert_eq!(d.new, vec![13]);
    assert_eq!(
        d.flags_changed,
        vec![(11, vec![Flag::Flagged]), (13, vec![Flag::Seen])]
    );
    assert_eq!(
        d.state.to_string(),
        "v1;folder=INBOX;uidvalidity=7;uidnext=14;modseq=130;uids=4,11,13;flags=\\Flagged=11/\\Seen=4,13"
    );
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn unusable_stored_modseq_falls_back_to_a_full_listing() {
    // modseq=0 cannot be sent as CHANGEDSINCE: the sync lists the folder instead of failing.
    let state: SyncState = "v1;folder=INBOX;uidvalidity=7;uidnext=5;modseq=0;uids=4;flags="
        .parse()
        .unwrap();
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 CONDSTORE] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 CONDSTORE] logged in")
            .expect_contains("SELECT INBOX (CONDSTORE)")
            .send_line("* 2 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .send_line("* OK [UIDNEXT 6] ok")
            .send_line("* OK [HIGHESTMODSEQ 9] ok")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect(|l| l.ends_with("UID FETCH 1:* (UID FLAGS)"))
            .send_line("* 1 FETCH (UID 4 FLAGS ())")
            .send_line("* 2 FETCH (UID 5 FLAGS (\\Deleted))")
            .reply_tagged("OK fetched")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let d = conn.sync("INBOX", &state).unwrap();
    assert_eq!(d.strategy, SyncStrategy::Plain);
    assert_eq!(d.new, vec![5]);
    assert_eq!(d.flags_changed, vec![(5, vec![Flag::Deleted])]);
    assert_eq!(d.state.highest_modseq(), Some(9));
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}
