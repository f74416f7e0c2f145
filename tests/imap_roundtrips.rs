//! Fewer round trips (issue 21, item 3): LIST-STATUS (RFC 5819) against the harness
//! Dovecot, which offers it, with answers equal to separate STATUS calls and one command on
//! the wire; STATUS=SIZE (RFC 8438) from Dovecot. The fallback (LIST + one STATUS per
//! folder) and APPENDLIMIT (RFC 7889, which Dovecot 2.3 lacks) on scripted servers.
//! Own test binary: it installs a global logger to count the commands on the wire.

#[path = "support/capture.rs"]
mod capture;
#[path = "support/configs.rs"]
mod configs;
#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use std::time::Duration;

use imap_scripts::{assert_refused_naming, log_out_and_check, login};
use mailwire::Config;
use mailwire::imap::codec::StatusAttr;
use mailwire::imap::{FolderStatus, ImapConnection, ImapHandler};
use support::dovecot::{Dovecot, User};
use support::script_server::ScriptServer;

fn config(dc: &Dovecot, u: &User) -> Config {
    configs::dovecot(dc, u).build().unwrap()
}

fn scripted_config(server: &ScriptServer) -> Config {
    configs::scripted(server.port()).build().unwrap()
}

fn mail(i: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: m{i}\r\n\r\nbody {i}\r\n").into_bytes()
}

/// The commands (their verbs after the tag) this connection sent since `from` log lines.
fn commands_sent(conn: &ImapConnection, from: usize) -> Vec<String> {
    let prefix = format!("mailwire::wire [{}] C: ", conn.id());
    capture::lines()
        .into_iter()
        .skip(from)
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .filter_map(|l| l.split(' ').nth(1).map(str::to_ascii_uppercase))
        .collect()
}

#[test]
fn dovecot_list_status_equals_separate_status_calls_in_one_command() {
    capture::install();
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[mail(1), mail(2), mail(3)]);
    let conn = ImapConnection::connect(&config(dc, &u)).unwrap();
    assert!(
        conn.has_capability("LIST-STATUS"),
        "{:?}",
        conn.capabilities()
    );
    assert!(
        conn.has_capability("STATUS=SIZE"),
        "{:?}",
        conn.capabilities()
    );
    conn.create_folder("Projects/2026").unwrap();
    conn.create_folder("Résumé").unwrap();
    conn.append("Résumé", &mail(9), &[], None).unwrap();
    // A \Noselect parent: its status is None.
    conn.create_folder("Parent/Child").unwrap();
    conn.delete_folder("Parent").ok();

    let before = capture::lines().len();
    let listed = conn.list_folders_with_status(&[]).unwrap();
    let sent = commands_sent(&conn, before);
    assert_eq!(sent, ["LIST"], "one command for every folder's status");

    let names: Vec<&str> = listed.iter().map(|(f, _)| f.name.as_str()).collect();
    for name in ["INBOX", "Projects/2026", "Résumé", "Drafts"] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let mut compared = 0;
    for (folder, status) in &listed {
        if !folder.is_selectable() {
            assert_eq!(status, &None, "{folder:?}");
            continue;
        }
        let status = status
            .as_ref()
            .unwrap_or_else(|| panic!("no status: {folder:?}"));
        let separate = conn.folder_status(&folder.name).unwrap();
        assert_eq!(status, &separate, "{}", folder.name);
        compared += 1;
    }
    assert!(compared >= 4, "{listed:?}");
    let inbox = &listed.iter().find(|(f, _)| f.name == "INBOX").unwrap().1;
    let inbox = inbox.as_ref().unwrap();
    assert_eq!(inbox.messages, Some(3));
    assert_eq!(inbox.unseen, Some(3));
    // STATUS=SIZE: the folder's bytes, the three messages' sizes.
    let total: usize = (1..=3).map(|i| mail(i).len()).sum();
    assert_eq!(inbox.size, Some(total as u64), "{inbox:?}");
    // Dovecot states no APPENDLIMIT.
    assert_eq!(inbox.append_limit, None);
    let resume = listed.iter().find(|(f, _)| f.name == "Résumé").unwrap();
    assert_eq!(resume.1.as_ref().unwrap().messages, Some(1));

    // Asked items only, and the handler's twin answers the same.
    let before = capture::lines().len();
    let only = conn
        .list_folders_with_status(&[StatusAttr::Messages])
        .unwrap();
    assert_eq!(commands_sent(&conn, before), ["LIST"]);
    let inbox = only.iter().find(|(f, _)| f.name == "INBOX").unwrap();
    let inbox = inbox.1.as_ref().unwrap();
    assert_eq!(
        (inbox.messages, inbox.unseen, inbox.size),
        (Some(3), None, None)
    );
    let handler = ImapHandler::new().unwrap();
    let by_handler = handler
        .list_folders_with_status(&config(dc, &u), &[StatusAttr::Messages])
        .unwrap();
    assert_eq!(by_handler, only);
    conn.logout();
}

#[test]
fn dovecot_folder_status_has_size() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[mail(1), mail(22)]);
    let conn = ImapConnection::connect(&config(dc, &u)).unwrap();
    let status = conn.folder_status("INBOX").unwrap();
    assert_eq!(
        status.size,
        Some((mail(1).len() + mail(22).len()) as u64),
        "{status:?}"
    );
    assert_eq!(status.messages, Some(2));
    let empty = conn.folder_status("Trash").unwrap();
    assert_eq!(empty.size, Some(0));
    conn.logout();
}

#[test]
fn without_list_status_it_lists_then_asks_status_per_selectable_folder() {
    // No LIST-STATUS (and no LIST-EXTENDED): LIST, LSUB, then one STATUS per folder; a
    // folder that vanished meanwhile gets no status, the others theirs.
    let script = login("IMAP4rev1 APPENDLIMIT=1000")
        .expect(|l| l.contains("LIST") && !l.contains("RETURN"))
        .send_line("* LIST (\\HasNoChildren) \"/\" INBOX")
        .send_line("* LIST (\\Noselect \\HasChildren) \"/\" Archive")
        .send_line("* LIST (\\HasNoChildren) \"/\" Archive/2025")
        .send_line("* LIST (\\HasNoChildren) \"/\" Gone")
        .reply_tagged("OK listed")
        .expect_contains("LSUB")
        .send_line("* LSUB () \"/\" INBOX")
        .reply_tagged("OK lsub")
        .expect_contains("STATUS INBOX (MESSAGES UNSEEN APPENDLIMIT)")
        .send_line("* STATUS INBOX (MESSAGES 7 UNSEEN 2 APPENDLIMIT 500)")
        .reply_tagged("OK status")
        .expect_contains("STATUS Archive/2025 (MESSAGES UNSEEN APPENDLIMIT)")
        .send_line("* STATUS Archive/2025 (MESSAGES 40 UNSEEN 0)")
        .reply_tagged("OK status")
        .expect_contains("STATUS Gone (MESSAGES UNSEEN APPENDLIMIT)")
        .reply_tagged("NO [NONEXISTENT] Mailbox doesn't exist: Gone")
        .expect_contains("LOGOUT")
        .reply_tagged("OK bye")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    let listed = conn
        .list_folders_with_status(&[
            StatusAttr::Messages,
            StatusAttr::Unseen,
            StatusAttr::AppendLimit,
        ])
        .unwrap();
    log_out_and_check(conn, &server);
    let get = |name: &str| -> Option<FolderStatus> {
        listed
            .iter()
            .find(|(f, _)| f.name == name)
            .unwrap_or_else(|| panic!("{name} not listed"))
            .1
            .clone()
    };
    let inbox = get("INBOX").unwrap();
    assert_eq!((inbox.messages, inbox.unseen), (Some(7), Some(2)));
    // The folder's own limit beats the server-wide APPENDLIMIT=1000.
    assert_eq!(inbox.append_limit, Some(500));
    let archived = get("Archive/2025").unwrap();
    assert_eq!(archived.messages, Some(40));
    // No STATUS APPENDLIMIT for this one: the server-wide limit.
    assert_eq!(archived.append_limit, Some(1000));
    assert_eq!(get("Archive"), None);
    assert_eq!(get("Gone"), None);
    let subscribed: Vec<bool> = listed.iter().map(|(f, _)| f.subscribed).collect();
    assert_eq!(subscribed, [true, false, false, false]);
}

#[test]
fn list_status_on_a_scripted_server_and_append_limit_nil() {
    // RFC 5819's form: the STATUS answers follow their LIST lines inside the one command;
    // a mailbox the listing did not name is ignored; APPENDLIMIT NIL is no limit.
    let caps = "IMAP4rev1 LIST-EXTENDED LIST-STATUS APPENDLIMIT";
    let script = login(caps)
        .expect_contains("LIST \"\" * RETURN (SUBSCRIBED CHILDREN STATUS (MESSAGES APPENDLIMIT))")
        .send_line("* LIST (\\Subscribed) \"/\" INBOX")
        .send_line("* STATUS INBOX (MESSAGES 17 APPENDLIMIT 257890)")
        .send_line("* LIST (\\HasNoChildren) \"/\" Drafts")
        .send_line("* STATUS Drafts (MESSAGES 2 APPENDLIMIT NIL)")
        .send_line("* STATUS Elsewhere (MESSAGES 5)")
        .send_line("* LIST (\\HasNoChildren) \"/\" Unanswered")
        .reply_tagged("OK listed")
        .expect_contains("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN APPENDLIMIT)")
        .send_line("* STATUS INBOX (MESSAGES 17 APPENDLIMIT 257890)")
        .reply_tagged("OK status")
        .expect_contains("LOGOUT")
        .reply_tagged("OK bye")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    let listed = conn
        .list_folders_with_status(&[StatusAttr::Messages, StatusAttr::AppendLimit])
        .unwrap();
    let status = conn.folder_status("INBOX").unwrap();
    log_out_and_check(conn, &server);
    assert_eq!(listed.len(), 3, "{listed:?}");
    let inbox = listed[0].1.as_ref().unwrap();
    assert_eq!(
        (inbox.messages, inbox.append_limit),
        (Some(17), Some(257890))
    );
    assert!(listed[0].0.subscribed);
    let drafts = listed[1].1.as_ref().unwrap();
    assert_eq!((drafts.messages, drafts.append_limit), (Some(2), None));
    assert_eq!(listed[2].0.name, "Unanswered");
    assert_eq!(listed[2].1, None);
    assert_eq!(status.append_limit, Some(257890));
}

/// A multipart message whose second part is `payload` in base64 (76-column lines).
fn with_attachment(payload: &[u8]) -> Vec<u8> {
    let encoded = support::base64(payload);
    let mut lines = String::new();
    for chunk in encoded.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(chunk).unwrap());
        lines.push_str("\r\n");
    }
    format!(
        "From: a@example.org\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"blob.bin\"\r\n\r\n{lines}--b1--\r\n"
    )
    .into_bytes()
}

#[test]
fn dovecot_binary_fetch_returns_the_attachment_decoded() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    // Every byte value, NUL and 0xFF included: the server may send it as a literal8.
    let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    assert!(payload.contains(&0) && payload.contains(&0xff));
    dc.seed(&u.name, "INBOX", &[with_attachment(&payload)]);
    let conn = ImapConnection::connect(&config(dc, &u)).unwrap();
    assert!(conn.has_capability("BINARY"), "{:?}", conn.capabilities());
    let decoded = conn.fetch_part_binary("INBOX", 1, &[2]).unwrap().unwrap();
    assert_eq!(decoded.len(), payload.len());
    assert!(
        decoded == payload,
        "the attachment differs from the original"
    );
    // The plain section is still base64, and the decoded one is not.
    let encoded = conn.fetch_part("INBOX", 1, &[2]).unwrap().unwrap();
    assert!(encoded.len() > payload.len() * 4 / 3, "{}", encoded.len());
    assert_eq!(
        conn.fetch_part_binary("INBOX", 1, &[1]).unwrap().as_deref(),
        Some(&b"see the file"[..])
    );
    // No such message: None. Not marked \Seen by the BINARY.PEEK.
    assert_eq!(conn.fetch_part_binary("INBOX", 99, &[2]).unwrap(), None);
    let meta = conn.fetch_metadata("INBOX", &[1]).unwrap();
    assert!(!meta[0].is_seen(), "{:?}", meta[0].flags());
    // The handler's twin.
    let handler = ImapHandler::new().unwrap();
    let by_handler = handler
        .fetch_part_binary(&config(dc, &u), "INBOX", 1, &[2])
        .unwrap();
    assert!(by_handler.as_deref() == Some(&payload[..]));
    conn.logout();
}

#[test]
fn binary_fetch_without_binary_is_a_clear_error_before_sending() {
    let script = login("IMAP4rev1 UIDPLUS")
        .expect_contains("LOGOUT")
        .reply_tagged("OK bye")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    let err = conn.fetch_part_binary("INBOX", 1, &[2]).unwrap_err();
    assert_refused_naming(&err, "BINARY");
    log_out_and_check(conn, &server);
}

#[test]
fn create_special_folder_sends_create_use_and_reports_useattr() {
    use mailwire::imap::FolderKind;
    let script = login("IMAP4rev1 SPECIAL-USE CREATE-SPECIAL-USE")
        .expect_line("A2 CREATE Outbox (USE (\\Sent))")
        .reply_tagged("OK MySpecial created")
        .expect_line("A3 CREATE Entw&APw-rfe (USE (\\Drafts))")
        .reply_tagged("NO [USEATTR] \\Drafts not supported here")
        .expect_contains("LOGOUT")
        .reply_tagged("OK bye")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    conn.create_special_folder("Outbox", FolderKind::Sent)
        .unwrap();
    match conn.create_special_folder("Entwürfe", FolderKind::Drafts) {
        Err(mailwire::Error::Server { code, .. }) => assert_eq!(code.as_deref(), Some("USEATTR")),
        other => panic!("{other:?}"),
    }
    // No special use: refused before sending.
    let err = conn
        .create_special_folder("x", FolderKind::Other)
        .unwrap_err();
    assert!(
        matches!(err, mailwire::Error::InvalidInput { .. }),
        "{err:?}"
    );
    log_out_and_check(conn, &server);
}

#[test]
fn create_special_folder_without_the_capability_is_a_clear_error() {
    use mailwire::imap::FolderKind;
    // SPECIAL-USE (listing) without CREATE-SPECIAL-USE, as on Dovecot 2.3: nothing sent.
    let script = login("IMAP4rev1 SPECIAL-USE")
        .expect_contains("LOGOUT")
        .reply_tagged("OK bye")
        .close();
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
    let err = conn
        .create_special_folder("Outbox", FolderKind::Sent)
        .unwrap_err();
    assert_refused_naming(&err, "CREATE-SPECIAL-USE");
    log_out_and_check(conn, &server);
}

#[test]
fn dovecot_metadata_carries_the_preview() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let body = "Lunch on Friday? The new place opens at noon.";
    let message = format!("From: a@example.org\r\nSubject: lunch\r\n\r\n{body}\r\n");
    dc.seed(&u.name, "INBOX", &[message.into_bytes()]);
    let conn = ImapConnection::connect(&config(dc, &u)).unwrap();
    assert!(conn.has_capability("PREVIEW"), "{:?}", conn.capabilities());
    let meta = conn.fetch_metadata("INBOX", &[1]).unwrap();
    assert_eq!(meta[0].preview(), Some(body), "{:?}", meta[0].meta());
    // Still \Seen-free, and a full fetch asks no preview.
    assert!(!meta[0].is_seen());
    let full = conn.fetch_messages("INBOX", &[1]).unwrap();
    assert_eq!(full[0].preview(), None);
    conn.logout();
}

#[test]
fn preview_is_asked_only_when_offered() {
    let fetch = |caps: &str, asks: bool| {
        login(caps)
            .expect_contains("SELECT INBOX")
            .send_line("* 1 EXISTS")
            .send_line("* OK [UIDVALIDITY 1] ok")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect(move |l| l.contains("UID FETCH 7") && l.contains("PREVIEW") == asks)
            .send_line("* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 10 PREVIEW NIL)")
            .reply_tagged("OK fetched")
    };
    for (caps, asks) in [("IMAP4rev1 PREVIEW", true), ("IMAP4rev1", false)] {
        let script = fetch(caps, asks)
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close();
        let server = ScriptServer::start_seq(vec![script]);
        let conn = ImapConnection::connect(&scripted_config(&server)).unwrap();
        let meta = conn
            .fetch_metadata("INBOX", &[7])
            .unwrap_or_else(|e| panic!("{caps}: {e}"));
        assert_eq!(meta.len(), 1);
        assert_eq!(meta[0].preview(), None);
        conn.logout();
        assert!(server.wait_done(Duration::from_secs(10)));
        server.assert_ok();
    }
}
