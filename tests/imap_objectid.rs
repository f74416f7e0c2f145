//! Stable identities (issue 21, item 2): OBJECTID (RFC 8474). `EMAILID` / `THREADID` on
//! fetched messages, `MAILBOXID` on SELECT, STATUS and CREATE, and the `EMAILID` /
//! `THREADID` search keys, against scripted servers built from the RFC's examples (Dovecot
//! 2.3 has no OBJECTID); the exact commands sent, what comes back, nothing asked of a
//! server that does not announce it, and ids outside the RFC's grammar. Against the real
//! Dovecot: the capability-absent path.

#[path = "support/configs.rs"]
mod configs;
#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use imap_scripts::{assert_refused_naming, command, log_out_and_check, login, logout};
use mailwire::Config;
use mailwire::imap::{ImapConnection, ImapHandler, SearchQuery};
use support::dovecot::{Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn config(dc: &Dovecot, u: &User) -> Config {
    configs::dovecot(dc, u).build().unwrap()
}

fn scripted_config(server: &ScriptServer) -> Config {
    configs::scripted(server.port()).build().unwrap()
}

/// `SELECT INBOX` answered (RFC 8474 §7's SELECT example carries the MAILBOXID code).
fn select_inbox(script: Script, mailbox_id: bool) -> Script {
    let script = command(script, "SELECT INBOX")
        .send_line("* 2 EXISTS")
        .send_line("* OK [UIDVALIDITY 1] ok");
    let script = if mailbox_id {
        script.send_line("* OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Ok")
    } else {
        script
    };
    script.reply_tagged("OK [READ-WRITE] selected")
}

#[test]
fn object_ids_are_fetched_selected_statused_created_and_searched_when_offered() {
    let script = select_inbox(login("IMAP4rev1 OBJECTID"), true);
    let script = command(
        script,
        "UID FETCH 7,9 (UID FLAGS RFC822.SIZE INTERNALDATE EMAILID THREADID ENVELOPE BODYSTRUCTURE)",
    )
    .send_line("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10 EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))")
    .send_line("* 2 FETCH (UID 9 FLAGS () RFC822.SIZE 12 EMAILID (M5fdc09b49ea703) THREADID NIL)")
    .reply_tagged("OK fetched");
    let script = command(script, "UID FETCH 7 (UID FLAGS RFC822.SIZE INTERNALDATE EMAILID THREADID BODY.PEEK[])")
        .send_line("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10 EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9) BODY[] {10}\r\nSubject: x)")
        .reply_tagged("OK fetched");
    let script = command(
        script,
        "UID SEARCH OR EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9",
    )
    .send_line("* SEARCH 7 9")
    .reply_tagged("OK searched");
    let script = command(
        script,
        "STATUS foo (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN MAILBOXID)",
    )
    .send_line("* STATUS foo (MESSAGES 0 UIDNEXT 1 MAILBOXID (F6352ae03-b7f5-463c-896f-d8b48ee3))")
    .reply_tagged("OK status");
    let script = command(script, "CREATE bar")
        .reply_tagged("OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Completed");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();

    let inbox = conn.select("INBOX").unwrap();
    assert_eq!(
        inbox.mailbox_id.as_deref(),
        Some("F2212ea87-6097-4256-9d51-71338625")
    );
    let meta = conn.fetch_metadata("INBOX", &[7, 9]).unwrap();
    assert_eq!(meta.len(), 2);
    assert_eq!(meta[0].email_id(), Some("M6d99ac3275bb4e"));
    assert_eq!(meta[0].thread_id(), Some("T64b478a75b7ea9"));
    assert_eq!(meta[1].email_id(), Some("M5fdc09b49ea703"));
    assert_eq!(meta[1].thread_id(), None, "THREADID NIL");
    let full = conn.fetch_message("INBOX", 7).unwrap().unwrap();
    assert_eq!(full.email_id(), Some("M6d99ac3275bb4e"));
    assert_eq!(full.raw(), b"Subject: x");
    let query =
        SearchQuery::email_id("M6d99ac3275bb4e").or(SearchQuery::thread_id("T64b478a75b7ea9"));
    let found = conn.search("INBOX", &query).unwrap();
    assert_eq!(found.to_vec(), vec![7, 9]);
    let status = conn.folder_status("foo").unwrap();
    assert_eq!(
        status.mailbox_id.as_deref(),
        Some("F6352ae03-b7f5-463c-896f-d8b48ee3")
    );
    assert_eq!(status.messages, Some(0));
    let created = conn.create_folder_with_id("bar").unwrap();
    assert_eq!(
        created.as_deref(),
        Some("F2212ea87-6097-4256-9d51-71338625")
    );
    log_out_and_check(conn, &server);
}

#[test]
fn without_objectid_nothing_is_asked_and_the_ids_are_none() {
    // The same calls on a server that does not announce OBJECTID: no EMAILID / THREADID /
    // MAILBOXID item on the wire, the ids None, and an id search refused before sending
    // (the script has no line for it: a sent command would fail the script).
    let script = select_inbox(login("IMAP4rev1"), false);
    let script = command(
        script,
        "UID FETCH 7 (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)",
    )
    .send_line("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10)")
    .reply_tagged("OK fetched");
    let script = command(
        script,
        "STATUS foo (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)",
    )
    .send_line("* STATUS foo (MESSAGES 0)")
    .reply_tagged("OK status");
    let script = command(script, "CREATE bar").reply_tagged("OK Completed");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();

    assert_eq!(conn.select("INBOX").unwrap().mailbox_id, None);
    let meta = conn.fetch_metadata("INBOX", &[7]).unwrap();
    assert_eq!((meta[0].email_id(), meta[0].thread_id()), (None, None));
    assert_eq!(conn.folder_status("foo").unwrap().mailbox_id, None);
    assert_eq!(conn.create_folder_with_id("bar").unwrap(), None);
    for query in [
        SearchQuery::email_id("M6d99ac3275bb4e"),
        SearchQuery::unseen().and(!SearchQuery::thread_id("T64b478a75b7ea9")),
    ] {
        let err = conn.search("INBOX", &query).unwrap_err();
        assert_refused_naming(&err, "OBJECTID");
        let err = conn.search_stats("INBOX", &query).unwrap_err();
        assert_refused_naming(&err, "OBJECTID");
    }
    log_out_and_check(conn, &server);
}

#[test]
fn object_ids_outside_the_grammar_are_not_taken() {
    // A 256-character id, one with a dot, and a MAILBOXID code with a space: each is kept
    // raw by the parser (the fetch still works), and the message or folder has no id.
    let long = "M".repeat(256);
    let fetched =
        format!("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10 EMAILID ({long}) THREADID (T6.4))");
    let script = command(login("IMAP4rev1 OBJECTID"), "SELECT INBOX")
        .send_line("* 1 EXISTS")
        .send_line("* OK [UIDVALIDITY 1] ok")
        .send_line("* OK [MAILBOXID (F22 12)] Ok")
        .reply_tagged("OK [READ-WRITE] selected")
        .expect_contains("UID FETCH 7 ")
        .send_line(&fetched)
        .reply_tagged("OK fetched");
    let server = ScriptServer::start_seq(vec![logout(script)]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    assert_eq!(conn.select("INBOX").unwrap().mailbox_id, None);
    let meta = conn.fetch_metadata("INBOX", &[7]).unwrap();
    assert_eq!(meta.len(), 1);
    assert_eq!((meta[0].email_id(), meta[0].thread_id()), (None, None));
    // A caller's id outside the grammar never reaches the wire either.
    let err = conn
        .search("INBOX", &SearchQuery::email_id("M1 OR ALL"))
        .unwrap_err();
    assert!(
        matches!(err, mailwire::Error::InvalidInput { .. }),
        "{err:?}"
    );
    log_out_and_check(conn, &server);
}

#[test]
fn dovecot_without_objectid_fetches_with_no_ids() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(
        &u.name,
        "INBOX",
        &[b"From: a@example.org\r\nSubject: ids\r\n\r\nbody\r\n".to_vec()],
    );
    let cfg = config(dc, &u);
    let conn = ImapConnection::connect(&cfg).unwrap();
    assert!(
        !conn.has_capability("OBJECTID"),
        "{:?}",
        conn.capabilities()
    );
    let inbox = conn.select("INBOX").unwrap();
    assert_eq!(inbox.mailbox_id, None);
    let meta = conn.fetch_metadata("INBOX", &[1]).unwrap();
    assert_eq!(meta.len(), 1);
    assert_eq!(meta[0].subject().as_deref(), Some("ids"));
    assert_eq!((meta[0].email_id(), meta[0].thread_id()), (None, None));
    let full = conn.fetch_messages("INBOX", &[1]).unwrap();
    assert_eq!(full[0].email_id(), None);
    assert_eq!(conn.folder_status("INBOX").unwrap().mailbox_id, None);
    assert_eq!(conn.create_folder_with_id("Projects").unwrap(), None);
    assert!(conn.folder_status("Projects").is_ok());
    let err = conn
        .search("INBOX", &SearchQuery::email_id("M6d99ac3275bb4e"))
        .unwrap_err();
    assert_refused_naming(&err, "OBJECTID");
    // The connection is still fine after the refusal.
    assert_eq!(
        conn.search("INBOX", &SearchQuery::all()).unwrap().to_vec(),
        vec![1]
    );
    let handler = ImapHandler::new().unwrap();
    assert_eq!(
        handler
            .create_folder_with_id(&cfg, "Projects/2026")
            .unwrap(),
        None
    );
    assert!(
        handler
            .folder_status(&cfg, "Projects/2026")
            .unwrap()
            .mailbox_id
            .is_none()
    );
    let err = handler
        .search(&cfg, "INBOX", &SearchQuery::thread_id("T1"))
        .unwrap_err();
    assert_refused_naming(&err, "OBJECTID");
    conn.logout();
}
