//! SEARCHRES (RFC 5182) through `search_saved` / `SavedSearch`: against the real Dovecot
//! (flag, move, copy, expunge and fetch through `$`, checking that exactly the messages found
//! changed and that the commands named `$`, not UIDs; a reselect, another folder or another
//! saved search makes the handle refuse before sending), and against a scripted server
//! without SEARCHRES (the UIDs kept on the client and sent, under the same rules).

#[path = "support/capture.rs"]
mod capture;
#[path = "support/configs.rs"]
mod configs;
mod support;

use std::time::Duration;

use mailwire::imap::{AppendMessage, FetchWhat, Flag, ImapConnection, SearchQuery};
use mailwire::{Config, Error};
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn dovecot_config(dc: &Dovecot, u: &User) -> Config {
    configs::dovecot(dc, u).build().unwrap()
}

fn mail(subject: &str, i: usize) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject} {i}\r\nMessage-ID: <s{i}@t>\r\n\r\nbody {i}\r\n"
    )
    .into_bytes()
}

/// A fresh user whose INBOX holds 8 messages, UIDs 1..=8: the even ones subject "go", the
/// odd ones "keep".
fn inbox(dc: &Dovecot) -> ImapConnection {
    let u = dc.add_user();
    let conn = ImapConnection::connect(&dovecot_config(dc, &u)).unwrap();
    assert!(conn.has_capability("SEARCHRES"));
    let batch = (1..=8)
        .map(|i| AppendMessage::new(mail(if i % 2 == 0 { "go" } else { "keep" }, i)))
        .collect();
    conn.append_batch("INBOX", batch, &mut |_| {}).unwrap();
    conn
}

fn uids(conn: &ImapConnection, folder: &str, query: &SearchQuery) -> Vec<u32> {
    conn.search(folder, query).unwrap().iter().collect()
}

/// The lines this connection sent, from the wire trace.
fn sent(conn: &ImapConnection) -> Vec<String> {
    let prefix = format!("mailwire::wire [{}] C: ", conn.id());
    capture::lines()
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

#[test]
fn flags_and_move_act_on_exactly_the_messages_found_through_dollar() {
    capture::install();
    let Some(dc) = dovecot::shared() else { return };
    let conn = inbox(dc);
    conn.create_folder("Archive").unwrap();
    let go = conn
        .search_saved("INBOX", &SearchQuery::subject("go"))
        .unwrap();
    assert!(go.is_server_side() && go.is_valid());
    assert_eq!(go.uids().unwrap().iter().collect::<Vec<_>>(), [2, 4, 6, 8]);
    go.add_flags(&[Flag::Flagged]).unwrap();
    assert_eq!(uids(&conn, "INBOX", &SearchQuery::flagged()), [2, 4, 6, 8]);
    // A plain search does not replace `$` (RFC 5182): the handle still works.
    assert_eq!(uids(&conn, "INBOX", &SearchQuery::all()).len(), 8);
    go.remove_flags(&[Flag::Flagged]).unwrap();
    assert!(uids(&conn, "INBOX", &SearchQuery::flagged()).is_empty());
    let fetched = go.fetch(FetchWhat::Full).unwrap();
    let subjects: Vec<_> = fetched.iter().map(|m| m.raw().to_vec()).collect();
    assert_eq!(subjects, [2, 4, 6, 8].map(|i| mail("go", i)));
    let copied = go.copy_to("Archive").unwrap().unwrap();
    assert_eq!(copied.len(), 4);
    let moved = go.move_to("Archive").unwrap().unwrap();
    assert_eq!(
        moved.pairs().map(|(src, _)| src).collect::<Vec<_>>(),
        [2, 4, 6, 8]
    );
    assert_eq!(uids(&conn, "INBOX", &SearchQuery::all()), [1, 3, 5, 7]);
    assert_eq!(uids(&conn, "Archive", &SearchQuery::subject("go")).len(), 8);
    assert!(uids(&conn, "Archive", &SearchQuery::subject("keep")).is_empty());
    // Every action named `$`, never the UIDs.
    let lines = sent(&conn);
    for cmd in [
        "UID SEARCH RETURN (SAVE) SUBJECT go",
        "UID STORE $ +FLAGS.SILENT (\\Flagged)",
        "UID STORE $ -FLAGS.SILENT",
        "UID SEARCH UID $",
        "UID COPY $ Archive",
        "UID MOVE $ Archive",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(cmd)),
            "{cmd} not in {lines:?}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.contains("UID STORE 2")),
        "{lines:?}"
    );
    conn.logout();
}

#[test]
fn expunge_through_dollar_leaves_other_deleted_messages() {
    let Some(dc) = dovecot::shared() else { return };
    let conn = inbox(dc);
    conn.mark_deleted("INBOX", &[1]).unwrap();
    let go = conn
        .search_saved("INBOX", &SearchQuery::subject("go"))
        .unwrap();
    go.add_flags(&[Flag::Deleted]).unwrap();
    assert_eq!(go.expunge().unwrap(), 4);
    assert_eq!(uids(&conn, "INBOX", &SearchQuery::all()), [1, 3, 5, 7]);
    assert_eq!(uids(&conn, "INBOX", &SearchQuery::deleted()), [1]);
    conn.logout();
}

#[test]
fn a_reselect_another_folder_or_another_saved_search_ends_the_handle() {
    let Some(dc) = dovecot::shared() else { return };
    let conn = inbox(dc);
    conn.create_folder("Other").unwrap();
    let refused = |e: Error| match e {
        Error::InvalidInput { reason, .. } => assert!(reason.contains("search again"), "{reason}"),
        other => panic!("{other:?}"),
    };

    let go = conn
        .search_saved("INBOX", &SearchQuery::subject("go"))
        .unwrap();
    conn.select("INBOX").unwrap();
    assert!(!go.is_valid());
    refused(go.add_flags(&[Flag::Flagged]).unwrap_err());
    refused(go.move_to("Other").unwrap_err());
    refused(go.uids().unwrap_err());

    let go = conn
        .search_saved("INBOX", &SearchQuery::subject("go"))
        .unwrap();
    conn.search("Other", &SearchQuery::all()).unwrap();
    refused(go.add_flags(&[Flag::Flagged]).unwrap_err());

    let go = conn
        .search_saved("INBOX", &SearchQuery::subject("go"))
        .unwrap();
    let keep = conn
        .search_saved("INBOX", &SearchQuery::subject("keep"))
        .unwrap();
    refused(go.add_flags(&[Flag::Flagged]).unwrap_err());
    keep.add_flags(&[Flag::Seen]).unwrap();

    // Nothing was flagged by the refused calls, the connection is fine.
    assert!(uids(&conn, "INBOX", &SearchQuery::flagged()).is_empty());
    assert_eq!(uids(&conn, "INBOX", &SearchQuery::seen()), [1, 3, 5, 7]);
    assert!(!conn.is_broken());
    assert_eq!(keep.folder(), "INBOX");

    // Another connection's saved search is its own: this handle still works.
    let other = ImapConnection::connect(&dovecot_config(dc, &dc.add_user())).unwrap();
    let theirs = other.search_saved("INBOX", &SearchQuery::all()).unwrap();
    assert!(theirs.is_valid() && keep.is_valid());
    keep.remove_flags(&[Flag::Seen]).unwrap();
    other.logout();
    conn.logout();
}

// --- scripted server without SEARCHRES ---------------------------------------------------

fn scripted_config(port: u16) -> Config {
    configs::scripted(port).build().unwrap()
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
fn without_searchres_the_uids_are_kept_and_sent_under_the_same_rules() {
    let caps = "UIDPLUS MOVE";
    let script = Script::new()
        .send_line(&format!("* OK [CAPABILITY IMAP4rev1 {caps}] scripted"))
        .expect_contains("LOGIN user")
        .reply_tagged(&format!("OK [CAPABILITY IMAP4rev1 {caps}] logged in"));
    let script = selected(script)
        .expect_line("A3 UID SEARCH SUBJECT go")
        .send_line("* SEARCH 2 4")
        .reply_tagged("OK searched")
        .expect_line("A4 UID STORE 2,4 +FLAGS.SILENT (\\Flagged)")
        .reply_tagged("OK stored")
        .expect_line("A5 UID MOVE 2,4 Archive")
        .send_line("* OK [COPYUID 9 2,4 10:11] moved")
        .send_line("* 2 EXPUNGE")
        .send_line("* 3 EXPUNGE")
        .reply_tagged("OK done");
    let script = selected(script)
        .expect_contains("LOGOUT")
        .send_line("* BYE bye")
        .reply_tagged("OK done")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let go = conn
        .search_saved("INBOX", &SearchQuery::subject("go"))
        .unwrap();
    assert!(!go.is_server_side());
    assert_eq!(go.uids().unwrap().iter().collect::<Vec<_>>(), [2, 4]);
    go.add_flags(&[Flag::Flagged]).unwrap();
    let moved = go.move_to("Archive").unwrap().unwrap();
    assert_eq!(moved.pairs().collect::<Vec<_>>(), [(2, 10), (4, 11)]);
    conn.select("INBOX").unwrap();
    // After the reselect: refused, nothing sent (the script expects LOGOUT next).
    assert!(matches!(
        go.add_flags(&[Flag::Seen]),
        Err(Error::InvalidInput { .. })
    ));
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn with_searchres_but_no_move_a_move_is_copy_flag_and_expunge_of_dollar() {
    let caps = "SEARCHRES UIDPLUS";
    let script = Script::new()
        .send_line(&format!("* OK [CAPABILITY IMAP4rev1 {caps}] scripted"))
        .expect_contains("LOGIN user")
        .reply_tagged(&format!("OK [CAPABILITY IMAP4rev1 {caps}] logged in"));
    let script = selected(script)
        .expect_line("A3 UID SEARCH RETURN (SAVE) SUBJECT go")
        .reply_tagged("OK saved")
        .expect_line("A4 UID COPY $ Archive")
        .reply_tagged("OK [COPYUID 9 2,4 10:11] copied")
        .expect_line("A5 UID STORE $ +FLAGS.SILENT (\\Deleted)")
        .reply_tagged("OK stored")
        .expect_line("A6 UID EXPUNGE $")
        .send_line("* 2 EXPUNGE")
        .send_line("* 3 EXPUNGE")
        .reply_tagged("OK expunged")
        .expect_contains("LOGOUT")
        .send_line("* BYE bye")
        .reply_tagged("OK done")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let go = conn
        .search_saved("INBOX", &SearchQuery::subject("go"))
        .unwrap();
    assert!(go.is_server_side());
    let moved = go.move_to("Archive").unwrap().unwrap();
    assert_eq!(moved.pairs().collect::<Vec<_>>(), [(2, 10), (4, 11)]);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn with_searchres_but_neither_move_nor_uidplus_move_and_expunge_are_refused_before_sending() {
    let caps = "SEARCHRES";
    let script = Script::new()
        .send_line(&format!("* OK [CAPABILITY IMAP4rev1 {caps}] scripted"))
        .expect_contains("LOGIN user")
        .reply_tagged(&format!("OK [CAPABILITY IMAP4rev1 {caps}] logged in"));
    let script = selected(script)
        .expect_line("A3 UID SEARCH RETURN (SAVE) ALL")
        .reply_tagged("OK saved")
        .expect_contains("LOGOUT")
        .send_line("* BYE bye")
        .reply_tagged("OK done")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let all = conn.search_saved("INBOX", &SearchQuery::all()).unwrap();
    assert!(matches!(
        all.move_to("Archive"),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(all.expunge(), Err(Error::InvalidInput { .. })));
    assert!(all.is_valid());
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}
