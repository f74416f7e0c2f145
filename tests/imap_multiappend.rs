//! MULTIAPPEND (RFC 3502) through `append_batch`: against the real Dovecot (100 messages in
//! exactly one APPEND command, the UIDs of its `[APPENDUID]` equal to what a search finds,
//! bodies, flags and dates as given; `ImapHandler` too), and against scripted servers for a
//! `NO` after the 3rd literal (nothing claimed stored, the connection still usable), a
//! server without MULTIAPPEND (one APPEND each), an `[APPENDUID]` whose count differs from
//! the batch, the `LITERAL+` path, and the bounds checked before anything is sent.

#[path = "support/capture.rs"]
mod capture;
#[path = "support/configs.rs"]
mod configs;
#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use std::time::Duration;

use imap_scripts::{logged_in, logout};
use mailwire::imap::codec::InternalDate;
use mailwire::imap::search::ImapDate;
use mailwire::imap::{AppendMessage, Flag, ImapConnection, ImapHandler, SearchQuery};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};
use support::script_server::ScriptServer;

fn dovecot_config(dc: &Dovecot, u: &User) -> Config {
    configs::dovecot(dc, u).build().unwrap()
}

fn mail(i: usize) -> Vec<u8> {
    format!(
        "From: batch@example.org\r\nSubject: batch message {i}\r\nMessage-ID: <b{i}@t>\r\n\r\nbody {i}\r\n{}\r\n",
        "x".repeat(i * 7)
    )
    .into_bytes()
}

fn flags_of(i: usize) -> Vec<Flag> {
    let mut flags = Vec::new();
    if i.is_multiple_of(3) {
        flags.push(Flag::Seen);
    }
    if i.is_multiple_of(5) {
        flags.push(Flag::Flagged);
    }
    flags
}

/// The commands (first word after the tag) this connection sent, read from the wire trace.
fn commands_sent(conn_id: &str) -> Vec<String> {
    let prefix = format!("mailwire::wire [{conn_id}] C: ");
    capture::lines()
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter(|l| !l.starts_with('<'))
        .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
        .collect()
}

#[test]
fn a_hundred_messages_go_in_one_append_with_their_uids() {
    capture::install();
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let conn = ImapConnection::connect(&dovecot_config(dc, &u)).unwrap();
    assert!(conn.has_capability("MULTIAPPEND") && conn.has_capability("UIDPLUS"));
    let date = InternalDate::new(ImapDate::new(2024, 5, 14).unwrap(), 10, 0, 0, 120).unwrap();
    let batch: Vec<AppendMessage> = (0..100)
        .map(|i| {
            let m = AppendMessage::new(mail(i)).with_flags(flags_of(i));
            if i.is_multiple_of(10) {
                m.with_date(date)
            } else {
                m
            }
        })
        .collect();
    let mut reports = Vec::new();
    let uids = conn
        .append_batch("INBOX", batch, &mut |p| reports.push(p))
        .unwrap();
    let sent = commands_sent(conn.id());
    assert_eq!(
        sent.iter().filter(|c| c.as_str() == "APPEND").count(),
        1,
        "{sent:?}"
    );
    // Stored at once: one report, of all of them.
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].messages, 100);
    assert_eq!(reports[0].total_messages, Some(100));
    let total: usize = (0..100).map(|i| mail(i).len()).sum();
    assert_eq!(reports[0].bytes, total as u64);

    let uids: Vec<u32> = uids.into_iter().map(|u| u.unwrap().uid).collect();
    assert_eq!(uids.len(), 100);
    let found: Vec<u32> = conn
        .search("INBOX", &SearchQuery::all())
        .unwrap()
        .iter()
        .collect();
    assert_eq!(found, uids);
    let messages = conn.fetch_messages("INBOX", uids.as_slice()).unwrap();
    assert_eq!(messages.len(), 100);
    for (i, uid) in uids.iter().enumerate() {
        let m = messages.iter().find(|m| m.uid() == Some(*uid)).unwrap();
        assert_eq!(m.raw(), mail(i).as_slice(), "message {i}");
        for f in flags_of(i) {
            assert!(m.flags().contains(&f), "message {i}: {:?}", m.flags());
        }
        assert_eq!(
            m.flags().contains(&Flag::Seen),
            i.is_multiple_of(3),
            "message {i}: {:?}",
            m.flags()
        );
        if i.is_multiple_of(10) {
            let d = m.meta().internal_date.as_deref().unwrap_or("");
            // 10:00 +0200 as given, or the same instant in UTC as Dovecot returns it.
            assert!(
                d.contains("14-May-2024 10:00:00 +0200")
                    || d.contains("14-May-2024 08:00:00 +0000"),
                "message {i}: {d}"
            );
        }
    }
    conn.logout();
}

#[test]
fn the_handler_appends_a_batch_on_a_pooled_connection() {
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let account = dovecot_config(dc, &u);
    let handler = ImapHandler::new().unwrap();
    let batch = (0..3).map(|i| AppendMessage::new(mail(i))).collect();
    let uids = handler
        .append_batch(&account, "INBOX", batch, &mut |_| {})
        .unwrap();
    let uids: Vec<u32> = uids.into_iter().map(|u| u.unwrap().uid).collect();
    let conn = ImapConnection::connect(&account).unwrap();
    let found: Vec<u32> = conn
        .search("INBOX", &SearchQuery::all())
        .unwrap()
        .iter()
        .collect();
    assert_eq!(found, uids);
    conn.logout();
}

// --- scripted servers -------------------------------------------------------------------

fn scripted_config(port: u16) -> Config {
    configs::scripted(port).build().unwrap()
}

/// Five one-line messages `m1` … `m5` (no CRLF inside, so the script reads each literal
/// together with what follows it as one line).
fn five() -> Vec<AppendMessage> {
    (1..=5)
        .map(|i| AppendMessage::new(format!("m{i}").into_bytes()))
        .collect()
}

#[test]
fn a_no_after_the_third_literal_stores_nothing_and_leaves_the_connection_usable() {
    let server = ScriptServer::start_seq(vec![logout(
        logged_in("MULTIAPPEND UIDPLUS")
            .expect_line("A2 APPEND INBOX {2}")
            .send_line("+ go")
            .expect_line("m1 {2}")
            .send_line("+ go")
            .expect_line("m2 {2}")
            .send_line("+ go")
            .expect_line("m3 {2}")
            .send_line("A2 NO [OVERQUOTA] quota exceeded")
            .expect_line("A3 NOOP")
            .reply_tagged("OK noop"),
    )]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let mut reports = 0;
    let e = conn
        .append_batch("INBOX", five(), &mut |_| reports += 1)
        .unwrap_err();
    match &e {
        Error::Server { command, code, .. } => {
            assert_eq!(command, "APPEND");
            assert_eq!(code.as_deref(), Some("OVERQUOTA"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("quota exceeded"), "{e}");
    assert_eq!(reports, 0, "nothing may be reported stored");
    assert!(!conn.is_broken());
    conn.noop().unwrap();
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
    // m4 and m5 never went out.
    let sent = server.received(0);
    assert!(!sent.iter().any(|l| l.contains("m4")), "{sent:?}");
}

#[test]
fn without_multiappend_each_message_is_its_own_append() {
    let mut script = logged_in("UIDPLUS");
    for i in 1..=3 {
        script = script
            .expect_line(&format!("A{} APPEND INBOX (\\Seen) {{2}}", i + 1))
            .send_line("+ go")
            .expect_line(&format!("m{i}"))
            .send_line(&format!("A{} OK [APPENDUID 7 {}] stored", i + 1, 10 + i));
    }
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let batch = five()
        .into_iter()
        .take(3)
        .map(|m| m.with_flags([Flag::Seen]))
        .collect();
    let mut reports = Vec::new();
    let uids = conn
        .append_batch("INBOX", batch, &mut |p| reports.push(p.messages))
        .unwrap();
    let uids: Vec<u32> = uids.into_iter().map(|u| u.unwrap().uid).collect();
    assert_eq!(uids, [11, 12, 13]);
    assert_eq!(reports, [1, 2, 3]);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn without_multiappend_a_failure_in_the_middle_keeps_the_ones_before() {
    let server = ScriptServer::start_seq(vec![logout(
        logged_in("UIDPLUS")
            .expect_line("A2 APPEND INBOX {2}")
            .send_line("+ go")
            .expect_line("m1")
            .send_line("A2 OK [APPENDUID 7 11] stored")
            .expect_line("A3 APPEND INBOX {2}")
            .send_line("A3 NO [OVERQUOTA] quota exceeded"),
    )]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let mut reports = Vec::new();
    let e = conn
        .append_batch("INBOX", five(), &mut |p| reports.push(p.messages))
        .unwrap_err();
    assert!(matches!(e, Error::Server { .. }), "{e:?}");
    // The report says one is stored; the rest were never sent.
    assert_eq!(reports, [1]);
    assert!(!conn.is_broken());
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn an_appenduid_whose_count_differs_from_the_batch_gives_no_uids() {
    let server = ScriptServer::start_seq(vec![logout(
        logged_in("MULTIAPPEND UIDPLUS LITERAL+")
            .expect_line("A2 APPEND INBOX {2+}")
            .expect_line("m1 {2+}")
            .expect_line("m2")
            .send_line("A2 OK [APPENDUID 7 20:4000000000] stored"),
    )]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let batch = five().into_iter().take(2).collect();
    let uids = conn.append_batch("INBOX", batch, &mut |_| {}).unwrap();
    assert_eq!(uids, [None, None]);
    assert!(!conn.is_broken());
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn literal_plus_sends_the_batch_without_waiting_for_continuations() {
    let server = ScriptServer::start_seq(vec![logout(
        logged_in("MULTIAPPEND UIDPLUS LITERAL+")
            // No `+` is ever sent: the whole command arrives as it is.
            .expect_line("A2 APPEND INBOX {2+}")
            .expect_line("m1 {2+}")
            .expect_line("m2 {2+}")
            .expect_line("m3 {2+}")
            .expect_line("m4 {2+}")
            .expect_line("m5")
            .send_line("A2 OK [APPENDUID 7 31:33,40:41] stored"),
    )]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let uids = conn.append_batch("INBOX", five(), &mut |_| {}).unwrap();
    let uids: Vec<(u32, u32)> = uids
        .into_iter()
        .map(|u| u.map(|u| (u.uid_validity, u.uid)).unwrap())
        .collect();
    assert_eq!(uids, [(7, 31), (7, 32), (7, 33), (7, 40), (7, 41)]);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn oversized_batches_and_messages_are_refused_before_sending() {
    let server =
        ScriptServer::start_seq(vec![logout(logged_in("MULTIAPPEND UIDPLUS APPENDLIMIT=3"))]);
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .max_append_batch(9)
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    // 5 × 2 bytes: over the batch bound of 9.
    let e = conn.append_batch("INBOX", five(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { reason, .. } if reason.contains("max_append_batch")),
        "{e:?}"
    );
    // A message of 4 bytes: over the server's APPENDLIMIT of 3.
    let big = vec![
        AppendMessage::new(b"m1".to_vec()),
        AppendMessage::new(b"abcd".to_vec()),
    ];
    let e = conn.append_batch("INBOX", big, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { reason, .. } if reason.contains("APPENDLIMIT")),
        "{e:?}"
    );
    // An empty batch sends nothing and gives nothing.
    assert!(
        conn.append_batch("INBOX", Vec::new(), &mut |_| {})
            .unwrap()
            .is_empty()
    );
    assert!(!conn.is_broken());
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
    assert_eq!(server.received(0).len(), 2, "{:?}", server.received(0));
}

#[test]
fn a_cancel_cuts_a_multiappend_whose_server_stopped_reading() {
    // The server asks for the first literal and never reads: the 20 MiB write blocks once
    // the socket buffers are full, until its deadline unless cut.
    let server = ScriptServer::start_seq(vec![
        logged_in("MULTIAPPEND UIDPLUS")
            .expect_contains("APPEND INBOX")
            .send_line("+ go ahead")
            .hang(),
    ]);
    let token = mailwire::Cancel::new();
    let conn = ImapConnection::connect(&scripted_config(server.port()))
        .unwrap()
        .with_cancel(&token);
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            token.cancel();
        })
    };
    let started = std::time::Instant::now();
    let batch = vec![
        AppendMessage::new(vec![b'x'; 20 * 1024 * 1024]),
        AppendMessage::new(b"m2".to_vec()),
    ];
    let e = conn.append_batch("INBOX", batch, &mut |_| {}).unwrap_err();
    canceller.join().unwrap();
    assert!(matches!(e, Error::Cancelled { .. }), "{e:?}");
    support::assert_within(
        started,
        Duration::from_secs(10),
        "the cancelled MULTIAPPEND",
    );
    assert!(conn.is_broken());
}

#[test]
fn append_many_goes_in_as_few_appends_as_the_batch_bound_allows() {
    capture::install();
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let raw: Vec<Vec<u8>> = (0..100).map(mail).collect();
    let total: u64 = raw.iter().map(|m| m.len() as u64).sum();

    // The default bound holds all of them: one command, one report.
    let conn = ImapConnection::connect(&dovecot_config(dc, &u)).unwrap();
    let mut reports = Vec::new();
    let uids = conn
        .append_many("INBOX", &raw, &[Flag::Seen], &mut |p| reports.push(p))
        .unwrap();
    let appends = |id: &str| {
        commands_sent(id)
            .iter()
            .filter(|c| c.as_str() == "APPEND")
            .count()
    };
    assert_eq!(appends(conn.id()), 1);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!((reports[0].messages, reports[0].bytes), (100, total));
    let first: Vec<u32> = uids.into_iter().map(|u| u.unwrap().uid).collect();
    conn.logout();

    // A bound of a third of the bytes: commands of at most that many bytes, in order,
    // every message stored once, a report after each command.
    let third = total / 3;
    let config = configs::dovecot(dc, &u)
        .max_append_batch(third)
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    let mut reports = Vec::new();
    let uids = conn
        .append_many("INBOX", &raw, &[], &mut |p| reports.push(p))
        .unwrap();
    let commands = appends(conn.id());
    assert!((3..=5).contains(&commands), "{commands} APPEND commands");
    assert_eq!(reports.len(), commands, "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].messages < w[1].messages));
    let last = reports.last().unwrap();
    assert_eq!((last.messages, last.bytes), (100, total));
    let second: Vec<u32> = uids.into_iter().map(|u| u.unwrap().uid).collect();
    assert_eq!(second.len(), 100);
    let found: Vec<u32> = conn
        .search("INBOX", &SearchQuery::all())
        .unwrap()
        .iter()
        .collect();
    assert_eq!(found, [first, second.clone()].concat());
    let messages = conn.fetch_messages("INBOX", second.as_slice()).unwrap();
    for (i, uid) in second.iter().enumerate() {
        let m = messages.iter().find(|m| m.uid() == Some(*uid)).unwrap();
        assert_eq!(m.raw(), raw[i].as_slice(), "message {i}");
    }
    conn.logout();
}
