//! Stable identities (issue 21, item 2): Gmail's IMAP extensions (`X-GM-EXT-1`).
//! `X-GM-MSGID`, `X-GM-THRID` and `X-GM-LABELS` on fetched messages, `add_labels` /
//! `remove_labels` / `set_labels` (`STORE X-GM-LABELS`) and the `X-GM-LABELS` /
//! `X-GM-MSGID` / `X-GM-THRID` search keys, against scripted servers built from Gmail's
//! documented examples (developers.google.com/gmail/imap/imap-extensions): the exact
//! commands sent, what comes back, nothing asked of a server that does not announce the
//! extension, and a hostile label list bounded. Against the real Dovecot (no Gmail
//! extensions): the fetch works with no ids, the label calls give the clear error.

#[path = "support/configs.rs"]
mod configs;
#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use imap_scripts::{assert_refused_naming, command, log_out_and_check, login, logout};
use mailwire::Config;
use mailwire::imap::types::MAX_GMAIL_LABELS;
use mailwire::imap::{ImapConnection, ImapHandler, SearchQuery};
use support::dovecot::{Dovecot, User};
use support::script_server::{Script, ScriptServer};

const GMAIL_CAPS: &str =
    "IMAP4rev1 UNSELECT LITERAL+ IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1";

fn config(dc: &Dovecot, u: &User) -> Config {
    configs::dovecot(dc, u).build().unwrap()
}

fn scripted_config(server: &ScriptServer) -> Config {
    configs::scripted(server.port()).build().unwrap()
}

fn select_inbox(script: Script) -> Script {
    command(script, "SELECT INBOX")
        .send_line("* 4 EXISTS")
        .send_line("* OK [UIDVALIDITY 1] ok")
        .reply_tagged("OK [READ-WRITE] INBOX selected. (Success)")
}

#[test]
fn gmail_ids_and_labels_come_with_the_fetch() {
    // Gmail's examples: `* 1 FETCH (X-GM-LABELS (\Inbox \Sent Important "Muy Importante"))`,
    // `X-GM-MSGID 1278455344230334865`, `X-GM-THRID 1266894439832287888`; one label in
    // modified UTF-7 (Übung), a message without labels.
    let script = select_inbox(login(GMAIL_CAPS));
    let script = command(
        script,
        "UID FETCH 7:8 (UID FLAGS RFC822.SIZE INTERNALDATE X-GM-MSGID X-GM-THRID X-GM-LABELS ENVELOPE BODYSTRUCTURE)",
    )
    .send_line("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10 X-GM-MSGID 1278455344230334865 X-GM-THRID 1266894439832287888 X-GM-LABELS (\\Inbox \\Sent Important \"Muy Importante\" &ANw-bung))")
    .send_line("* 2 FETCH (UID 8 FLAGS () RFC822.SIZE 10 X-GM-MSGID 1278455344230334866 X-GM-THRID 1266894439832287888 X-GM-LABELS ())")
    .reply_tagged("OK FETCH (Success)");
    let script = command(
        script,
        "UID FETCH 7 (UID FLAGS RFC822.SIZE INTERNALDATE X-GM-MSGID X-GM-THRID X-GM-LABELS BODY.PEEK[HEADER])",
    )
    .send_line("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10 X-GM-MSGID 1278455344230334865 X-GM-THRID 1266894439832287888 X-GM-LABELS (foo) BODY[HEADER] {12}\r\nSubject: x\r\n)")
    .reply_tagged("OK FETCH (Success)");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();

    let meta = conn.fetch_metadata("INBOX", &[7, 8]).unwrap();
    assert_eq!(meta.len(), 2);
    assert_eq!(meta[0].gmail_message_id(), Some(1278455344230334865));
    assert_eq!(meta[0].gmail_thread_id(), Some(1266894439832287888));
    assert_eq!(
        meta[0].gmail_labels().unwrap(),
        ["\\Inbox", "\\Sent", "Important", "Muy Importante", "Übung"]
    );
    assert_eq!(meta[1].gmail_labels(), Some(&[][..]));
    assert_eq!(meta[0].gmail_thread_id(), meta[1].gmail_thread_id());
    let headers = conn.fetch_headers("INBOX", &[7]).unwrap();
    assert_eq!(headers[0].gmail_labels().unwrap(), ["foo"]);
    assert_eq!(headers[0].subject().as_deref(), Some("x"));
    log_out_and_check(conn, &server);
}

#[test]
fn labels_are_added_removed_and_set_with_store() {
    // Gmail's `a011 STORE 1 +X-GM-LABELS (foo)` and `a012 STORE 1 -X-GM-LABELS (foo)`, in
    // their UID and .SILENT form; system labels bare, a label with a space quoted, a
    // non-ASCII one in modified UTF-7, and the handler twin on the same kind of server.
    let script = select_inbox(login(GMAIL_CAPS));
    let script =
        command(script, "UID STORE 7 +X-GM-LABELS.SILENT (foo)").reply_tagged("OK STORE (Success)");
    let script = command(script, "UID STORE 7 -X-GM-LABELS.SILENT (\\Inbox foo)")
        .reply_tagged("OK STORE (Success)");
    let script = command(
        script,
        "UID STORE 7,9 X-GM-LABELS.SILENT (\"Muy Importante\" \\Starred &ANw-bung)",
    )
    .reply_tagged("OK STORE (Success)");
    let script =
        command(script, "UID STORE 9 X-GM-LABELS.SILENT ()").reply_tagged("OK STORE (Success)");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();

    conn.add_labels("INBOX", &[7], &["foo"]).unwrap();
    conn.remove_labels("INBOX", &[7], &["\\Inbox", "foo"])
        .unwrap();
    conn.set_labels("INBOX", &[7, 9], &["Muy Importante", "\\Starred", "Übung"])
        .unwrap();
    conn.set_labels("INBOX", &[9], &[]).unwrap();
    // Nothing to store: nothing sent. A bad label: refused before sending.
    conn.add_labels("INBOX", &[] as &[u32], &["foo"]).unwrap();
    let err = conn.add_labels("INBOX", &[7], &[""]).unwrap_err();
    assert!(
        matches!(err, mailwire::Error::InvalidInput { .. }),
        "{err:?}"
    );
    log_out_and_check(conn, &server);
}

#[test]
fn a_server_refusing_a_label_store_is_a_server_error() {
    let script = select_inbox(login(GMAIL_CAPS));
    let script = command(script, "UID STORE 7 +X-GM-LABELS.SILENT (\\Draft)")
        .reply_tagged("NO STORE attempt on READ-ONLY folder (Failure)");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    let err = conn.add_labels("INBOX", &[7], &["\\Draft"]).unwrap_err();
    assert!(matches!(err, mailwire::Error::Server { .. }), "{err:?}");
    log_out_and_check(conn, &server);
}

#[test]
fn gmail_search_keys() {
    // Gmail's `a009 UID SEARCH X-GM-MSGID 1278455344230334865`, `a011 UID SEARCH
    // X-GM-THRID 1266894439832287888` and `SEARCH X-GM-LABELS foo`.
    let script = select_inbox(login(GMAIL_CAPS));
    let script = command(script, "UID SEARCH X-GM-MSGID 1278455344230334865")
        .send_line("* SEARCH 1")
        .reply_tagged("OK SEARCH (Success)");
    let script = command(script, "UID SEARCH X-GM-THRID 1266894439832287888")
        .send_line("* SEARCH 2 3")
        .reply_tagged("OK SEARCH (Success)");
    let script = command(
        script,
        "UID SEARCH X-GM-LABELS foo NOT X-GM-LABELS \\Important X-GM-LABELS \"Muy Importante\"",
    )
    .send_line("* SEARCH 1")
    .reply_tagged("OK SEARCH (Success)");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    let by_id = conn
        .search("INBOX", &SearchQuery::gmail_message_id(1278455344230334865))
        .unwrap();
    assert_eq!(by_id.to_vec(), vec![1]);
    let thread = conn
        .search("INBOX", &SearchQuery::gmail_thread_id(1266894439832287888))
        .unwrap();
    assert_eq!(thread.to_vec(), vec![2, 3]);
    let query = SearchQuery::gmail_label("foo")
        .and(!SearchQuery::gmail_label("\\Important"))
        .and(SearchQuery::gmail_label("Muy Importante"));
    assert_eq!(conn.search("INBOX", &query).unwrap().to_vec(), vec![1]);
    log_out_and_check(conn, &server);
}

#[test]
fn without_x_gm_ext_1_nothing_gmail_is_sent() {
    // No Gmail item in the fetch; label calls and Gmail search keys refused before
    // anything (not even the SELECT) is sent: the script has no line for them.
    let script = select_inbox(login("IMAP4rev1"));
    let script = command(
        script,
        "UID FETCH 7 (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)",
    )
    .send_line("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10)")
    .reply_tagged("OK fetched");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    for err in [
        conn.add_labels("INBOX", &[7], &["foo"]).unwrap_err(),
        conn.remove_labels("INBOX", &[7], &["foo"]).unwrap_err(),
        conn.set_labels("INBOX", &[7], &[]).unwrap_err(),
        conn.search("INBOX", &SearchQuery::gmail_label("foo"))
            .unwrap_err(),
        conn.search("INBOX", &SearchQuery::gmail_message_id(1))
            .unwrap_err(),
        conn.search(
            "INBOX",
            &SearchQuery::gmail_thread_id(1).or(SearchQuery::seen()),
        )
        .unwrap_err(),
    ] {
        assert_refused_naming(&err, "X-GM-EXT-1");
    }
    let meta = conn.fetch_metadata("INBOX", &[7]).unwrap();
    assert_eq!(meta.len(), 1);
    assert_eq!(meta[0].gmail_labels(), None);
    assert_eq!(
        (meta[0].gmail_message_id(), meta[0].gmail_thread_id()),
        (None, None)
    );
    log_out_and_check(conn, &server);
}

#[test]
fn a_hostile_label_list_is_bounded() {
    // 200,000 one-letter labels (400 KB on the wire, 200,000 Strings if kept): the message
    // keeps MAX_GMAIL_LABELS of them, and the rest of the FETCH (UID, flags) is read.
    let labels = "a ".repeat(200_000);
    let line = format!(
        "* 1 FETCH (UID 7 X-GM-LABELS ({labels}) FLAGS (\\Seen) RFC822.SIZE 10 X-GM-MSGID 1)"
    );
    let script = select_inbox(login(GMAIL_CAPS))
        .expect_contains("UID FETCH 7 ")
        .send_line(&line)
        .reply_tagged("OK FETCH (Success)");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    let meta = conn.fetch_metadata("INBOX", &[7]).unwrap();
    assert_eq!(meta.len(), 1);
    assert_eq!(
        meta[0].gmail_labels().map(<[String]>::len),
        Some(MAX_GMAIL_LABELS)
    );
    assert!(meta[0].is_seen());
    assert_eq!(meta[0].gmail_message_id(), Some(1));
    log_out_and_check(conn, &server);
}

#[test]
fn dovecot_without_gmail_fetches_with_no_ids_and_refuses_labels() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(
        &u.name,
        "INBOX",
        &[b"From: a@example.org\r\nSubject: labels\r\n\r\nbody\r\n".to_vec()],
    );
    let cfg = config(dc, &u);
    let conn = ImapConnection::connect(&cfg).unwrap();
    assert!(
        !conn.has_capability("X-GM-EXT-1"),
        "{:?}",
        conn.capabilities()
    );
    let meta = conn.fetch_metadata("INBOX", &[1]).unwrap();
    assert_eq!(meta.len(), 1);
    assert_eq!(meta[0].subject().as_deref(), Some("labels"));
    assert_eq!(meta[0].gmail_labels(), None);
    assert_eq!(meta[0].gmail_message_id(), None);
    assert_eq!(meta[0].gmail_thread_id(), None);
    for err in [
        conn.add_labels("INBOX", &[1], &["Work"]).unwrap_err(),
        conn.remove_labels("INBOX", &[1], &["\\Inbox"]).unwrap_err(),
        conn.set_labels("INBOX", &[1], &["Work"]).unwrap_err(),
        conn.search("INBOX", &SearchQuery::gmail_label("Work"))
            .unwrap_err(),
    ] {
        assert_refused_naming(&err, "X-GM-EXT-1");
    }
    // The connection is still fine, and nothing was stored.
    let again = conn.fetch_metadata("INBOX", &[1]).unwrap();
    assert_eq!(again[0].flags(), meta[0].flags());
    let handler = ImapHandler::new().unwrap();
    for err in [
        handler
            .add_labels(&cfg, "INBOX", &[1], &["Work"])
            .unwrap_err(),
        handler
            .remove_labels(&cfg, "INBOX", &[1], &["Work"])
            .unwrap_err(),
        handler.set_labels(&cfg, "INBOX", &[1], &[]).unwrap_err(),
    ] {
        assert_refused_naming(&err, "X-GM-EXT-1");
    }
    conn.logout();
}
