//! IMAP4rev2 (RFC 9051, issue 21 item 3): supported, enabled only on request
//! (`ConfigBuilder::imap4rev2`), on scripted servers built from the RFC's examples (Dovecot
//! 2.3 does not offer it): `ENABLE IMAP4rev2` sent only when asked for and offered, a
//! request the server cannot meet staying IMAP4rev1, `SELECT` without `RECENT` (and with
//! its `* LIST` line), `UID SEARCH` answered with `ESEARCH` giving the UIDs a plain `SEARCH`
//! answer gives, `STATUS` with `DELETED` instead of `RECENT`, `LIST` without `LSUB` and
//! with `\NonExistent` / `OLDNAME`, UTF-8 names, and the contained extensions offered.

#[path = "support/configs.rs"]
mod configs;
#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use std::time::Duration;

use imap_scripts::{log_out_and_check, login, logout};
use mailwire::ConfigBuilder;
use mailwire::imap::{ImapConnection, SearchQuery};
use support::script_server::{Script, ScriptServer};

fn scripted(server: &ScriptServer) -> ConfigBuilder {
    configs::scripted(server.port())
}

/// RFC 9051 §6.3.1's exchange.
fn enable_rev2(script: Script) -> Script {
    script
        .expect_line("A2 ENABLE IMAP4rev2")
        .send_line("* ENABLED IMAP4rev2")
        .reply_tagged("OK ENABLE completed")
}

/// RFC 9051 §6.3.2's SELECT answer (no `RECENT`; a `* LIST` line), tagged `tag`.
fn select_inbox(script: Script, tag: &str) -> Script {
    script
        .expect_line(&format!("{tag} SELECT INBOX"))
        .send_line("* 172 EXISTS")
        .send_line("* OK [UIDVALIDITY 3857529045] UIDs valid")
        .send_line("* OK [UIDNEXT 4392] Predicted next UID")
        .send_line("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        .send_line("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited")
        .send_line("* LIST () \"/\" INBOX")
        .reply_tagged("OK [READ-WRITE] SELECT completed")
}

const BOTH: &str = "IMAP4rev1 IMAP4rev2 ENABLE UTF8=ACCEPT";

#[test]
fn imap4rev2_is_enabled_only_on_request_and_only_when_offered() {
    // Offered, not asked for: IMAP4rev1 with UTF8=ACCEPT, no ENABLE IMAP4rev2.
    let script = logout(
        login(BOTH)
            .expect_line("A2 ENABLE UTF8=ACCEPT")
            .send_line("* ENABLED UTF8=ACCEPT")
            .reply_tagged("OK enabled"),
    );
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted(&server).build().unwrap()).unwrap();
    assert!(!conn.is_imap4rev2());
    log_out_and_check(conn, &server);

    // Asked for and offered: ENABLE IMAP4rev2 alone (it contains UTF8=ACCEPT).
    let script = logout(enable_rev2(login(BOTH)));
    let server = ScriptServer::start_seq(vec![script]);
    let config = scripted(&server).imap4rev2(true).build().unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    assert!(conn.is_imap4rev2());
    assert!(conn.utf8_names());
    log_out_and_check(conn, &server);

    // Asked for, not offered: nothing sent, IMAP4rev1 (the documented fallback).
    let script = logout(login("IMAP4rev1 ENABLE"));
    let server = ScriptServer::start_seq(vec![script]);
    let config = scripted(&server).imap4rev2(true).build().unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    assert!(!conn.is_imap4rev2());
    assert!(!conn.has_capability("ESEARCH"));
    log_out_and_check(conn, &server);

    // Asked for, offered, refused: IMAP4rev1, and UTF8=ACCEPT tried next.
    let script = logout(
        login(BOTH)
            .expect_line("A2 ENABLE IMAP4rev2")
            .reply_tagged("NO not for you")
            .expect_line("A3 ENABLE UTF8=ACCEPT")
            .send_line("* ENABLED UTF8=ACCEPT")
            .reply_tagged("OK enabled"),
    );
    let server = ScriptServer::start_seq(vec![script]);
    let config = scripted(&server).imap4rev2(true).build().unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    assert!(!conn.is_imap4rev2());
    assert!(conn.utf8_names());
    log_out_and_check(conn, &server);
}

#[test]
fn search_answered_with_esearch_gives_the_same_uids_as_search() {
    // IMAP4rev1: `* SEARCH`; IMAP4rev2: `* ESEARCH (TAG ..) UID ALL` (RFC 9051 §6.4.4,
    // §7.3.4). Same UIDs; SELECT without RECENT gives recent 0.
    let rev1 = logout(
        select_inbox(login("IMAP4rev1"), "A2")
            .expect_line("A3 UID SEARCH ALL")
            .send_line("* SEARCH 4 5 6 9")
            .reply_tagged("OK SEARCH completed"),
    );
    let rev2 = logout(
        select_inbox(enable_rev2(login("IMAP4rev2 ENABLE")), "A3")
            .expect_line("A4 UID SEARCH ALL")
            .send_line("* ESEARCH (TAG \"A4\") UID ALL 4:6,9")
            .reply_tagged("OK SEARCH completed")
            .expect_line("A5 UID SEARCH UNSEEN")
            .send_line("* ESEARCH (TAG \"A5\") UID")
            .reply_tagged("OK SEARCH completed"),
    );
    let mut answers = Vec::new();
    for (script, rev2) in [(rev1, false), (rev2, true)] {
        let server = ScriptServer::start_seq(vec![script]);
        let config = scripted(&server).imap4rev2(rev2).build().unwrap();
        let conn = ImapConnection::connect(&config).unwrap();
        assert_eq!(conn.is_imap4rev2(), rev2);
        let inbox = conn.select("INBOX").unwrap();
        assert_eq!(
            (inbox.exists, inbox.recent, inbox.uid_next),
            (172, 0, Some(4392))
        );
        assert_eq!(inbox.uid_validity, Some(3857529045));
        let uids = conn.search("INBOX", &SearchQuery::all()).unwrap();
        assert_eq!(uids.validity(), Some(3857529045));
        answers.push(uids.to_vec());
        if rev2 {
            // No match: an ESEARCH with no ALL.
            assert!(
                conn.search("INBOX", &SearchQuery::unseen())
                    .unwrap()
                    .is_empty()
            );
        }
        log_out_and_check(conn, &server);
    }
    assert_eq!(answers[0], [4, 5, 6, 9]);
    assert_eq!(answers[0], answers[1]);
}

#[test]
fn an_esearch_without_the_uid_indicator_is_refused() {
    // Sequence numbers answering a UID SEARCH would name other messages: a protocol error,
    // never those numbers taken as UIDs.
    let script = select_inbox(enable_rev2(login("IMAP4rev2 ENABLE")), "A3")
        .expect_line("A4 UID SEARCH ALL")
        .send_line("* ESEARCH (TAG \"A4\") ALL 1:3")
        .reply_tagged("OK SEARCH completed")
        .read_until_closed();
    let server = ScriptServer::start_seq(vec![script]);
    let config = scripted(&server).imap4rev2(true).build().unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    conn.select("INBOX").unwrap();
    let err = conn.search("INBOX", &SearchQuery::all()).unwrap_err();
    assert!(matches!(err, mailwire::Error::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("UID indicator"), "{err}");
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
}

#[test]
fn rev2_status_list_names_and_append() {
    // A server that lists IMAP4rev2 alone: once enabled, the extensions it contains count
    // as offered (LIST-EXTENDED: no LSUB; STATUS=SIZE; LITERAL-: `{n+}`), STATUS asks
    // DELETED instead of RECENT, names are UTF-8, and an APPEND with UTF-8 headers is a
    // plain literal (IMAP4rev2 has no `UTF8 (...)`).
    let message = "Subject: Grüße\r\n\r\nHallo\r\n";
    let n = message.len();
    let script = logout(
        enable_rev2(login("IMAP4rev2 ENABLE"))
            .expect_line("A3 STATUS blurdybloop (MESSAGES DELETED UIDNEXT UIDVALIDITY UNSEEN SIZE)")
            .send_line("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 DELETED 3 SIZE 90000)")
            .reply_tagged("OK STATUS completed")
            .expect_line("A4 LIST \"\" * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)")
            .send_line("* LIST (\\Subscribed) \"/\" INBOX")
            .send_line("* LIST (\\Subscribed \\NonExistent) \"/\" \"Fruit/Peach\"")
            .send_line("* LIST (\\HasNoChildren) \"/\" \"bar\" (\"OLDNAME\" (\"foo\"))")
            .send_line("* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entwürfe\"")
            .reply_tagged("OK LIST completed")
            .expect_line(&format!("A5 APPEND \"Entwürfe\" {{{n}+}}"))
            .expect_line("Subject: Grüße")
            .expect_line("")
            .expect_line("Hallo")
            .expect_line("")
            .send_line("A5 OK [APPENDUID 38505 3955] APPEND completed"),
    );
    let server = ScriptServer::start_seq(vec![script]);
    let config = scripted(&server).imap4rev2(true).build().unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    for implied in ["ESEARCH", "LIST-EXTENDED", "UNSELECT", "UIDPLUS", "MOVE"] {
        assert!(conn.has_capability(implied), "{implied}");
    }
    let status = conn.folder_status("blurdybloop").unwrap();
    assert_eq!(
        (status.messages, status.recent, status.deleted, status.size),
        (Some(231), None, Some(3), Some(90000))
    );
    let folders = conn.list_folders().unwrap();
    let names: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["INBOX", "Fruit/Peach", "bar", "Entwürfe"]);
    assert!(!folders[1].is_selectable());
    assert!(folders[1].subscribed);
    assert!(folders[2].is_selectable());
    assert_eq!(folders[3].kind, mailwire::imap::FolderKind::Drafts);
    let uid = conn
        .append("Entwürfe", message.as_bytes(), &[], None)
        .unwrap();
    assert_eq!(uid.map(|u| u.uid), Some(3955));
    log_out_and_check(conn, &server);
}
