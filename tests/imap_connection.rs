//! `ImapConnection` against the real Dovecot of the test harness: every public method over
//! IMAPS, the transport-independent ones over STARTTLS too, flags checked on disk, APPEND
//! round trips, UIDVALIDITY, errors and a shared connection used by 8 threads.

mod support;

use std::time::{Duration, Instant};

use mailwire::imap::codec::{InternalDate, RawArg};
use mailwire::imap::search::ImapDate;
use mailwire::imap::types::Untagged;
use mailwire::imap::{ConnectionState, FetchWhat, Flag, FolderKind, ImapConnection, SearchQuery};
use mailwire::{Config, Error, RetryPolicy, Security, ServerStatus};
use support::dovecot::{self, Dovecot, User};

fn dc() -> Option<&'static Dovecot> {
    dovecot::shared()
}

fn config(dc: &Dovecot, u: &User, security: Security) -> Config {
    let port = match security {
        Security::Tls => dc.imaps_port(),
        _ => dc.imap_port(),
    };
    Config::builder("127.0.0.1")
        .port(port)
        .security(security)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(20))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Connects over `security` (the tests that use it run once over IMAPS, once over STARTTLS).
fn connect_over(dc: &Dovecot, security: Security, u: &User) -> ImapConnection {
    let conn = ImapConnection::connect(&config(dc, u, security)).unwrap();
    assert!(conn.is_tls());
    conn
}

fn mail(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice Example <alice@example.org>\r\nTo: bob@example.org\r\nSubject: {subject}\r\nDate: Tue, 14 May 2024 10:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The maildir flag letters of every message file in `folder` (sorted by file name).
fn disk_flags(dc: &Dovecot, user: &str, folder: &str) -> Vec<String> {
    let dir = dc.maildir(user, folder);
    let mut out = Vec::new();
    for sub in ["cur", "new"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            out.push(
                name.split_once(":2,")
                    .map(|(_, f)| f.to_string())
                    .unwrap_or_default(),
            );
        }
    }
    out
}

#[test]
fn imap_connection_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ImapConnection>();
    assert_send_sync::<Error>();
}

#[test]
fn connect_list_and_fetch_over_imaps_and_starttls() {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let seeded = [mail("one", "first body"), mail("two", "second body")];
    dc.seed(&u.name, "INBOX", &[&seeded[0], &seeded[1]]);
    for security in [Security::Tls, Security::StartTls] {
        let conn = ImapConnection::connect(&config(dc, &u, security)).unwrap();
        assert!(conn.is_tls(), "{security:?}");
        assert_eq!(conn.state(), ConnectionState::Authenticated);
        assert!(conn.has_capability("IMAP4rev1"));
        assert!(!conn.capabilities().has("STARTTLS") || security == Security::Tls);
        let folders = conn.list_folders().unwrap();
        let inbox = folders.iter().find(|f| f.name == "INBOX").unwrap();
        assert_eq!(inbox.kind, FolderKind::Inbox);
        let uids = conn.search("INBOX", &SearchQuery::all()).unwrap();
        assert_eq!(uids.len(), 2, "{security:?}");
        let messages = conn.fetch_messages("INBOX", &uids).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].raw(), &seeded[0][..], "{security:?}");
        assert_eq!(messages[1].raw(), &seeded[1][..]);
        assert_eq!(messages[1].subject().as_deref(), Some("two"));
        assert_eq!(messages[0].size(), seeded[0].len() as u64);
        assert!(messages[0].meta().internal_date.is_some());
        conn.noop().unwrap();
        conn.logout();
        assert!(conn.is_broken());
        assert!(matches!(conn.noop(), Err(Error::Closed { .. })));
    }
}

fn folders_create_rename_subscribe_status_delete_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let conn = connect_over(dc, security, &u);
    let folders = conn.list_folders().unwrap();
    let kind = |name: &str| folders.iter().find(|f| f.name == name).map(|f| f.kind);
    assert_eq!(kind("Sent"), Some(FolderKind::Sent));
    assert_eq!(kind("Drafts"), Some(FolderKind::Drafts));
    assert_eq!(kind("Trash"), Some(FolderKind::Trash));
    assert_eq!(kind("Junk"), Some(FolderKind::Junk));
    // auto = subscribe in the server's config.
    assert!(
        folders
            .iter()
            .find(|f| f.name == "Sent")
            .unwrap()
            .subscribed
    );
    assert!(folders.iter().all(|f| f.delimiter == Some('/')));

    conn.create_folder("Projects/2024").unwrap();
    let listed = conn.list_folders().unwrap();
    let p = listed.iter().find(|f| f.name == "Projects/2024").unwrap();
    assert!(!p.subscribed);
    assert_eq!(p.path(), vec!["Projects", "2024"]);
    let parent = listed.iter().find(|f| f.name == "Projects");
    assert!(
        parent.is_some_and(|p| p.has_attribute("\\HasChildren")),
        "{listed:#?}"
    );

    conn.subscribe("Projects/2024").unwrap();
    let sub = conn.list_folders().unwrap();
    assert!(
        sub.iter()
            .find(|f| f.name == "Projects/2024")
            .unwrap()
            .subscribed
    );
    conn.unsubscribe("Projects/2024").unwrap();
    let unsub = conn.list_folders().unwrap();
    assert!(
        !unsub
            .iter()
            .find(|f| f.name == "Projects/2024")
            .unwrap()
            .subscribed
    );

    let matching = conn.list_folders_matching("", "Projects/%").unwrap();
    assert_eq!(
        matching.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        vec!["Projects/2024"]
    );

    dc.seed(
        &u.name,
        "Projects/2024",
        &[&mail("a", "x"), &mail("b", "y")],
    );
    dc.seed_with_flags(&u.name, "Projects/2024", &mail("c", "z"), "S");
    let status = conn.folder_status("Projects/2024").unwrap();
    assert_eq!(status.messages, Some(3));
    assert_eq!(status.unseen, Some(2));
    assert_eq!(status.uid_next, Some(4));
    assert!(status.uid_validity.is_some());
    assert_eq!(
        conn.uid_validity("Projects/2024").unwrap(),
        status.uid_validity.unwrap()
    );

    conn.select("Projects/2024").unwrap();
    conn.rename_folder("Projects/2024", "Projects/2025")
        .unwrap();
    let after = conn.list_folders().unwrap();
    assert!(after.iter().any(|f| f.name == "Projects/2025"));
    assert!(!after.iter().any(|f| f.name == "Projects/2024"));
    // The renamed folder still holds the messages and can be worked on by its new name.
    assert_eq!(
        conn.search("Projects/2025", &SearchQuery::all())
            .unwrap()
            .len(),
        3
    );
    conn.delete_folder("Projects/2025").unwrap();
    assert!(
        !conn
            .list_folders()
            .unwrap()
            .iter()
            .any(|f| f.name == "Projects/2025")
    );
    // A deleted folder cannot be selected any more: a missing folder.
    assert!(matches!(
        conn.select("Projects/2025"),
        Err(Error::MissingFolder { .. })
    ));
}

#[test]
fn folders_create_rename_subscribe_status_delete() {
    folders_create_rename_subscribe_status_delete_over(Security::Tls);
    folders_create_rename_subscribe_status_delete_over(Security::StartTls);
}

fn non_ascii_and_special_folder_names_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let conn = connect_over(dc, security, &u);
    for name in ["Entwürfe/Привет", "a b\"c\\d%e", "日本語 フォルダ"] {
        conn.create_folder(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let listed = conn.list_folders().unwrap();
        if let Some((parent, _)) = name.split_once('/') {
            // The implicit parent is listed too, decoded.
            assert!(listed.iter().any(|f| f.name == parent), "{listed:?}");
        }
        let f = listed
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name:?} not in {listed:?}"));
        assert!(f.raw_name.is_ascii(), "sent as modified UTF-7: {f:?}");
        conn.append(name, &mail("inside", "body"), &[], None)
            .unwrap();
        let mailbox = conn.select(name).unwrap();
        assert_eq!(mailbox.exists, 1, "{name}");
        assert_eq!(mailbox.name, name);
        let status = conn.folder_status(name).unwrap();
        assert_eq!(status.messages, Some(1));
        let uids = conn.search(name, &SearchQuery::all()).unwrap();
        assert_eq!(conn.fetch_messages(name, &uids).unwrap().len(), 1);
        conn.delete_folder(name).unwrap();
        assert!(!conn.list_folders().unwrap().iter().any(|f| f.name == name));
    }
}

#[test]
fn non_ascii_and_special_folder_names() {
    non_ascii_and_special_folder_names_over(Security::Tls);
    non_ascii_and_special_folder_names_over(Security::StartTls);
}

fn select_and_examine_report_the_mailbox_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[&mail("a", "1"), &mail("b", "2")]);
    dc.seed_with_flags(&u.name, "INBOX", &mail("c", "3"), "S");
    let conn = connect_over(dc, security, &u);
    let m = conn.examine("INBOX").unwrap();
    assert!(m.read_only);
    assert_eq!(m.exists, 3);
    assert_eq!(m.uid_next, Some(4));
    assert!(m.uid_validity.is_some());
    assert_eq!(m.first_unseen, Some(1));
    assert!(m.flags.contains(&Flag::Seen) && m.flags.contains(&Flag::Deleted));
    let m = conn.select("INBOX").unwrap();
    assert!(!m.read_only);
    assert_eq!(m.exists, 3);
    assert!(m.permanent_flags.contains(&Flag::MayCreate));
    assert!(m.permanent_flags.contains(&Flag::Flagged));
    assert_eq!(conn.state(), ConnectionState::Selected);
    // Dovecot keeps mod-sequences once CONDSTORE is used.
    if conn.has_capability("CONDSTORE") {
        assert!(m.highest_modseq.is_some(), "{m:?}");
    }
    // After EXAMINE a store must re-select read-write instead of failing.
    conn.examine("INBOX").unwrap();
    conn.add_star("INBOX", &[1]).unwrap();
    let meta = conn.fetch_metadata("INBOX", &[1]).unwrap();
    assert!(meta[0].is_flagged());
}

#[test]
fn select_and_examine_report_the_mailbox() {
    select_and_examine_report_the_mailbox_over(Security::Tls);
    select_and_examine_report_the_mailbox_over(Security::StartTls);
}

fn search_fixture(dc: &Dovecot, u: &User) {
    let messages: Vec<Vec<u8>> = vec![
        b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Quarterly report\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nX-Project: apollo\r\n\r\nNumbers are up.\r\n".to_vec(),
        b"From: Carol <carol@example.org>\r\nTo: bob@example.org\r\nCc: dave@example.org\r\nSubject: Lunch\r\nDate: Wed, 15 May 2024 12:00:00 +0000\r\n\r\nPizza?\r\n".to_vec(),
        "From: J\u{fc}rgen <j@example.de>\r\nTo: bob@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=\r\nDate: Fri, 20 Sep 2024 08:00:00 +0200\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSch\u{f6}ne Gr\u{fc}\u{df}e, \u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}!\r\n".as_bytes().to_vec(),
        {
            let mut big = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Big attachment\r\nDate: Sat, 30 Nov 2024 10:00:00 +0000\r\nX-Project: hermes\r\n\r\n".to_vec();
            big.extend(std::iter::repeat_n(b'x', 20_000));
            big.extend_from_slice(b"\r\n");
            big
        },
    ];
    dc.seed(&u.name, "INBOX", &messages);
}

fn search_with_typed_queries_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    search_fixture(dc, &u);
    let conn = connect_over(dc, security, &u);
    conn.add_star("INBOX", &[2]).unwrap();
    conn.mark_as_read("INBOX", &[1, 2]).unwrap();
    conn.add_keywords("INBOX", &[4], &["$Work"]).unwrap();
    let s = |q: SearchQuery| conn.search("INBOX", &q).unwrap();
    assert_eq!(s(SearchQuery::all()), vec![1, 2, 3, 4]);
    assert_eq!(s(SearchQuery::from("alice")), vec![1, 4]);
    assert_eq!(s(SearchQuery::subject("report")), vec![1]);
    assert_eq!(s(SearchQuery::cc("dave")), vec![2]);
    assert_eq!(s(SearchQuery::body("Pizza")), vec![2]);
    assert_eq!(s(SearchQuery::flagged()), vec![2]);
    assert_eq!(s(SearchQuery::unseen()), vec![3, 4]);
    assert_eq!(
        s(SearchQuery::seen().and(SearchQuery::unflagged())),
        vec![1]
    );
    assert_eq!(s(SearchQuery::keyword("$Work")), vec![4]);
    assert_eq!(s(SearchQuery::unkeyword("$Work")), vec![1, 2, 3]);
    assert_eq!(s(SearchQuery::larger(10_000)), vec![4]);
    assert_eq!(s(SearchQuery::smaller(10_000)), vec![1, 2, 3]);
    assert_eq!(s(SearchQuery::header("X-Project", "apollo")), vec![1]);
    assert_eq!(s(SearchQuery::header("X-Project", "")), vec![1, 4]);
    // Dates: the Date: header (SENT*) of the fixture.
    let d = |y, m, day| ImapDate::new(y, m, day).unwrap();
    assert_eq!(s(SearchQuery::sent_before(d(2024, 5, 1))), vec![1]);
    assert_eq!(s(SearchQuery::sent_on(d(2024, 5, 15))), vec![2]);
    assert_eq!(s(SearchQuery::sent_since(d(2024, 9, 1))), vec![3, 4]);
    // The internal date is the seeding time: today.
    assert_eq!(s(SearchQuery::before(d(2000, 1, 1))), Vec::<u32>::new());
    assert_eq!(s(SearchQuery::since(d(2000, 1, 1))), vec![1, 2, 3, 4]);
    // OR / NOT / UID sets.
    assert_eq!(
        s(SearchQuery::subject("Lunch").or(SearchQuery::subject("report"))),
        vec![1, 2]
    );
    assert_eq!(s(SearchQuery::from("alice").negated()), vec![2, 3]);
    assert_eq!(
        s(SearchQuery::any_of([
            SearchQuery::cc("dave"),
            SearchQuery::larger(10_000),
            SearchQuery::subject("report")
        ])),
        vec![1, 2, 4]
    );
    assert_eq!(
        s(SearchQuery::uid(mailwire::imap::SequenceSet::range(2, 3))),
        vec![2, 3]
    );
    assert_eq!(
        s(SearchQuery::all_of([
            SearchQuery::uid(mailwire::imap::SequenceSet::range(1, 4)),
            SearchQuery::from("alice"),
            SearchQuery::unseen()
        ])),
        vec![4]
    );
    // Non-ASCII text: CHARSET UTF-8; matches the decoded subject and the 8-bit body.
    assert_eq!(s(SearchQuery::subject("Grüße")), vec![3]);
    assert_eq!(s(SearchQuery::body("Привет")), vec![3]);
    assert_eq!(s(SearchQuery::text("München")), vec![3]);
    assert_eq!(s(SearchQuery::subject("Ärger")), Vec::<u32>::new());
}

#[test]
fn search_with_typed_queries() {
    search_with_typed_queries_over(Security::Tls);
    search_with_typed_queries_over(Security::StartTls);
}

fn fetch_variants_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let nested = std::fs::read("tests/messages/nested.eml").unwrap();
    let mut seeded: Vec<Vec<u8>> = (1..=12)
        .map(|i| mail(&format!("m{i}"), &format!("body {i}")))
        .collect();
    seeded.push(nested.clone());
    dc.seed(&u.name, "INBOX", &seeded);
    let conn = connect_over(dc, security, &u);

    // Metadata: envelope and body structure, no bytes; subject/from/date from the envelope.
    let meta = conn.fetch_metadata("INBOX", &[1, 13]).unwrap();
    assert_eq!(meta.len(), 2);
    assert!(meta[0].raw().is_empty());
    let env = meta[0].meta().envelope.as_ref().unwrap();
    assert_eq!(env.subject.as_deref(), Some(&b"m1"[..]));
    assert_eq!(meta[0].subject().as_deref(), Some("m1"));
    assert_eq!(meta[0].from()[0].email(), "alice@example.org");
    assert_eq!(meta[0].from()[0].name(), Some("Alice Example"));
    assert_eq!(meta[0].to()[0].email(), "bob@example.org");
    assert_eq!(meta[0].date(), Some(1_715_680_800));
    assert_eq!(meta[0].message_id().as_deref(), Some("m1@example.org"));
    assert_eq!(meta[0].size(), seeded[0].len() as u64);
    match meta[1].meta().body_structure.as_deref().unwrap() {
        mailwire::imap::types::BodyStructure::Multipart { subtype, parts, .. } => {
            assert_eq!(subtype, "mixed");
            assert!(parts.len() >= 2, "{parts:?}");
        }
        other => panic!("expected multipart, got {other:?}"),
    }

    // Headers only.
    let headers = conn.fetch_headers("INBOX", &[2]).unwrap();
    let end = seeded[1].windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(headers[0].raw(), &seeded[1][..end]);
    assert_eq!(headers[0].subject().as_deref(), Some("m2"));

    // One message, a missing one.
    let one = conn.fetch_message("INBOX", 3).unwrap().unwrap();
    assert_eq!(one.raw(), &seeded[2][..]);
    assert_eq!(one.uid(), Some(3));
    assert!(conn.fetch_message("INBOX", 999).unwrap().is_none());
    // Missing UIDs among existing ones are skipped.
    let some = conn.fetch_messages("INBOX", &[5, 500, 4]).unwrap();
    assert_eq!(
        some.iter().map(|m| m.uid().unwrap()).collect::<Vec<_>>(),
        vec![4, 5]
    );

    // A part and a byte range.
    let parsed = mailwire::Message::from_bytes(nested.clone());
    let first = &parsed.parts()[0];
    let path: Vec<u32> = first
        .path()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    let part = conn.fetch_part("INBOX", 13, &path).unwrap().unwrap();
    assert!(!part.is_empty());
    let range = conn.fetch_range("INBOX", 1, 6, 5).unwrap().unwrap();
    assert_eq!(range, &seeded[0][6..11]);
    assert!(conn.fetch_range("INBOX", 999, 0, 5).unwrap().is_none());

    // Newest and UID range.
    let newest = conn.fetch_newest("INBOX", 3, FetchWhat::Metadata).unwrap();
    assert_eq!(
        newest.iter().map(|m| m.uid().unwrap()).collect::<Vec<_>>(),
        vec![11, 12, 13]
    );
    let range = conn
        .fetch_uid_range("INBOX", 4..=6, FetchWhat::Full)
        .unwrap();
    assert_eq!(
        range.iter().map(|m| m.uid().unwrap()).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    assert_eq!(range[1].raw(), &seeded[4][..]);
    let open_ended = conn
        .fetch_uid_range("INBOX", 12..=u32::MAX, FetchWhat::Headers)
        .unwrap();
    assert_eq!(open_ended.len(), 2);

    // To a writer.
    let mut out = Vec::new();
    let n = conn.fetch_to_writer("INBOX", 13, &mut out).unwrap();
    assert_eq!(n, Some(nested.len() as u64));
    assert_eq!(out, nested);
    let mut none = Vec::new();
    assert_eq!(conn.fetch_to_writer("INBOX", 777, &mut none).unwrap(), None);
    assert!(none.is_empty());

    // None of this set \Seen: on the server's disk every file is still unflagged.
    conn.logout();
    assert!(
        disk_flags(dc, &u.name, "INBOX")
            .iter()
            .all(|f| !f.contains('S')),
        "{:?}",
        disk_flags(dc, &u.name, "INBOX")
    );
}

#[test]
fn fetch_variants() {
    fetch_variants_over(Security::Tls);
    fetch_variants_over(Security::StartTls);
}

fn flags_and_keywords_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    dc.seed(
        &u.name,
        "INBOX",
        &[&mail("a", "1"), &mail("b", "2"), &mail("c", "3")],
    );
    let conn = connect_over(dc, security, &u);
    let flags_of = |uid: u32| {
        conn.fetch_metadata("INBOX", &[uid]).unwrap()[0]
            .flags()
            .to_vec()
    };
    conn.mark_as_read("INBOX", &[1, 2]).unwrap();
    assert!(flags_of(1).contains(&Flag::Seen) && flags_of(2).contains(&Flag::Seen));
    assert!(!flags_of(3).contains(&Flag::Seen));
    conn.mark_as_unread("INBOX", &[2]).unwrap();
    assert!(!flags_of(2).contains(&Flag::Seen));
    conn.add_star("INBOX", &[3]).unwrap();
    assert!(flags_of(3).contains(&Flag::Flagged));
    conn.remove_star("INBOX", &[3]).unwrap();
    assert!(!flags_of(3).contains(&Flag::Flagged));
    conn.add_keywords("INBOX", &[1], &["$Forwarded", "Work"])
        .unwrap();
    let f = flags_of(1);
    assert!(
        f.contains(&Flag::Keyword("$Forwarded".into()))
            && f.contains(&Flag::Keyword("Work".into()))
    );
    conn.remove_keywords("INBOX", &[1], &["Work"]).unwrap();
    assert!(!flags_of(1).contains(&Flag::Keyword("Work".into())));
    conn.add_flags("INBOX", &[2], &[Flag::Answered, Flag::Draft])
        .unwrap();
    assert!(flags_of(2).contains(&Flag::Answered));
    conn.remove_flags("INBOX", &[2], &[Flag::Draft]).unwrap();
    assert!(!flags_of(2).contains(&Flag::Draft));
    conn.set_flags("INBOX", &[1, 2, 3], &[Flag::Flagged])
        .unwrap();
    for uid in 1..=3 {
        let flags: Vec<Flag> = flags_of(uid)
            .into_iter()
            .filter(|f| *f != Flag::Recent)
            .collect();
        assert_eq!(flags, vec![Flag::Flagged], "uid {uid}");
    }
    conn.mark_as_read("INBOX", &[1]).unwrap();
    conn.mark_deleted("INBOX", &[2]).unwrap();
    assert!(flags_of(2).contains(&Flag::Deleted));
    // Empty UID lists are no-ops, not errors.
    conn.add_flags("INBOX", &[], &[Flag::Seen]).unwrap();
    conn.logout();
    // On the server's disk: uid 1 FS, uid 2 FT, uid 3 F.
    let mut disk = disk_flags(dc, &u.name, "INBOX");
    disk.sort();
    assert_eq!(disk, vec!["F", "FS", "FT"]);
}

#[test]
fn flags_and_keywords() {
    flags_and_keywords_over(Security::Tls);
    flags_and_keywords_over(Security::StartTls);
}

fn copy_move_expunge_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let seeded: Vec<Vec<u8>> = (1..=6).map(|i| mail(&format!("m{i}"), "x")).collect();
    dc.seed(&u.name, "INBOX", &seeded);
    let conn = connect_over(dc, security, &u);
    conn.create_folder("Archive").unwrap();
    let copied = conn.copy("INBOX", &[1, 2], "Archive").unwrap().unwrap();
    assert_eq!(copied.pairs().collect::<Vec<_>>(), vec![(1, 1), (2, 2)]);
    assert_eq!(
        Some(copied.uid_validity),
        conn.folder_status("Archive").unwrap().uid_validity
    );
    assert!(conn.has_capability("MOVE"));
    let moved = conn
        .move_messages("INBOX", &[3, 4], "Archive")
        .unwrap()
        .unwrap();
    assert_eq!(moved.pairs().collect::<Vec<_>>(), vec![(3, 3), (4, 4)]);
    assert_eq!(moved.target_uids(), [3, 4]);
    assert_eq!(moved.target_uids().validity(), Some(moved.uid_validity));
    assert_eq!(
        conn.search("INBOX", &SearchQuery::all()).unwrap(),
        vec![1, 2, 5, 6]
    );
    let archived = conn.fetch_messages("Archive", &[1, 2, 3, 4]).unwrap();
    assert_eq!(archived.len(), 4);
    assert_eq!(archived[2].raw(), &seeded[2][..]);
    // Moving to a folder that does not exist: NO [TRYCREATE], a missing folder.
    match conn.move_messages("INBOX", &[5], "Nope") {
        Err(Error::MissingFolder { code, folder, .. }) => {
            assert_eq!(folder, "Nope");
            assert_eq!(code.as_deref(), Some("TRYCREATE"))
        }
        other => panic!("{other:?}"),
    }

    // uid_expunge removes exactly the named \Deleted messages.
    conn.mark_deleted("INBOX", &[1, 2]).unwrap();
    assert_eq!(conn.uid_expunge("INBOX", &[1]).unwrap(), 1);
    assert_eq!(
        conn.search("INBOX", &SearchQuery::all()).unwrap(),
        vec![2, 5, 6]
    );
    // expunge removes every \Deleted message.
    conn.mark_deleted("INBOX", &[5]).unwrap();
    assert_eq!(conn.expunge("INBOX").unwrap(), 2);
    assert_eq!(conn.search("INBOX", &SearchQuery::all()).unwrap(), vec![6]);
    assert_eq!(conn.expunge("INBOX").unwrap(), 0);
}

#[test]
fn copy_move_expunge() {
    copy_move_expunge_over(Security::Tls);
    copy_move_expunge_over(Security::StartTls);
}

fn append_returns_uid_and_exact_bytes_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let conn = connect_over(dc, security, &u);
    // Binary-ish content, long lines, 8-bit bytes: all must survive byte for byte.
    let mut message = mail("appended", "Gr\u{fc}\u{df}e");
    message.extend_from_slice(&[b'y'; 3000]);
    message.extend_from_slice(b"\r\n\xc3\xa9t\xc3\xa9\r\n");
    let date = InternalDate::new(ImapDate::new(2023, 2, 3).unwrap(), 4, 5, 6, 120).unwrap();
    let appended = conn
        .append(
            "INBOX",
            &message,
            &[Flag::Seen, Flag::Keyword("$Label1".into())],
            Some(date),
        )
        .unwrap()
        .unwrap();
    assert_eq!(appended.uid, 1);
    assert_eq!(
        Some(appended.uid_validity),
        conn.folder_status("INBOX").unwrap().uid_validity
    );
    let second = conn
        .append("INBOX", &mail("second", "b"), &[], None)
        .unwrap()
        .unwrap();
    assert_eq!(second.uid, 2);
    let fetched = conn.fetch_message("INBOX", appended.uid).unwrap().unwrap();
    assert_eq!(fetched.raw(), &message[..]);
    assert!(fetched.is_seen());
    assert!(fetched.flags().contains(&Flag::Keyword("$Label1".into())));
    // Dovecot's maildir keeps the instant (as the file's mtime), not the zone.
    let date = fetched.meta().internal_date.as_deref().unwrap();
    assert!(
        date == "03-Feb-2023 04:05:06 +0200" || date == "03-Feb-2023 02:05:06 +0000",
        "{date}"
    );
    // Appending to a folder that does not exist: NO [TRYCREATE], a missing folder.
    match conn.append("Nope", b"Subject: x\r\n\r\nx\r\n", &[], None) {
        Err(Error::MissingFolder { code, .. }) => {
            assert_eq!(code.as_deref(), Some("TRYCREATE"))
        }
        other => panic!("{other:?}"),
    }
    // \Recent cannot be set by a client: refused before sending.
    assert!(matches!(
        conn.append("INBOX", b"Subject: x\r\n\r\nx\r\n", &[Flag::Recent], None),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn append_returns_uid_and_exact_bytes() {
    append_returns_uid_and_exact_bytes_over(Security::Tls);
    append_returns_uid_and_exact_bytes_over(Security::StartTls);
}

fn fixture_survives_append_round_trip_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let conn = connect_over(dc, security, &u);
    let raw = std::fs::read("tests/messages/nested.eml").unwrap();
    let expected = mailwire::Message::from_bytes(raw.clone());
    let uid = conn.append("INBOX", &raw, &[], None).unwrap().unwrap().uid;
    let got = conn.fetch_message("INBOX", uid).unwrap().unwrap();
    assert_eq!(got.raw(), &raw[..]);
    assert_eq!(got.subject(), expected.subject());
    assert_eq!(got.text_body(), expected.text_body());
    assert_eq!(got.html_body(), expected.html_body());
    assert!(got.text_body().is_some() && got.html_body().is_some());
    assert!(got.mime_errors().is_empty(), "{:?}", got.mime_errors());
    let names: Vec<_> = got
        .attachments()
        .iter()
        .map(|a| {
            (
                a.filename().map(String::from),
                a.content_type().to_string(),
                a.data().to_vec(),
                a.disposition(),
            )
        })
        .collect();
    let want: Vec<_> = expected
        .attachments()
        .iter()
        .map(|a| {
            (
                a.filename().map(String::from),
                a.content_type().to_string(),
                a.data().to_vec(),
                a.disposition(),
            )
        })
        .collect();
    assert_eq!(names, want);
    assert!(want.len() >= 2, "{want:?}");
    // The parts the issue names, after the round trip through the server.
    let filenames: Vec<&str> = got
        .attachments()
        .iter()
        .filter_map(|a| a.filename())
        .collect();
    assert!(filenames.contains(&"€ Kurse 2024.txt"), "{filenames:?}");
    assert!(filenames.contains(&"Übersicht €.pdf"), "{filenames:?}");
    assert!(
        got.attachments()
            .iter()
            .any(|a| a.content_type() == "image/png"
                && a.disposition() == mailwire::Disposition::Inline
                && a.content_id().is_some())
    );
    assert!(
        !got.text_body().unwrap().is_ascii(),
        "ISO-8859-1 QP decoded"
    );
    // The server's view of the structure agrees on the number of leaf parts.
    let meta = conn.fetch_metadata("INBOX", &[uid]).unwrap();
    fn leaves(b: &mailwire::imap::types::BodyStructure) -> usize {
        match b {
            mailwire::imap::types::BodyStructure::Multipart { parts, .. } => {
                parts.iter().map(leaves).sum()
            }
            _ => 1,
        }
    }
    assert_eq!(
        leaves(meta[0].meta().body_structure.as_deref().unwrap()),
        expected.parts().len() + expected.mime_errors().len()
    );
}

#[test]
fn fixture_survives_append_round_trip() {
    fixture_survives_append_round_trip_over(Security::Tls);
    fixture_survives_append_round_trip_over(Security::StartTls);
}

#[test]
fn misc_commands() {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    for security in [Security::Tls, Security::StartTls] {
        let conn = ImapConnection::connect(&config(dc, &u, security)).unwrap();
        conn.noop().unwrap();
        let ns = conn.namespace().unwrap();
        assert_eq!(ns.personal.len(), 1);
        assert_eq!(ns.personal[0].delimiter, Some('/'));
        let id = conn
            .id_exchange(&[("name", "mailwire-tests"), ("version", "1")])
            .unwrap();
        assert!(
            id.iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("name") && v.as_deref() == Some("Dovecot")),
            "{id:?}"
        );
        let enabled = conn.enable(&["CONDSTORE"]).unwrap();
        assert_eq!(enabled, vec!["CONDSTORE".to_string()]);
        // Without the quota plugin: a clear NO / BAD naming the command.
        match conn.quota("INBOX") {
            Ok(q) => assert!(q.iter().all(|q| !q.resources.is_empty())),
            Err(Error::Server {
                status, command, ..
            }) => {
                assert!(matches!(status, ServerStatus::No | ServerStatus::Bad));
                assert_eq!(command, "GETQUOTAROOT");
            }
            Err(other) => panic!("{other:?}"),
        }
        // The escape hatch: arguments still encoded; a NO is an error.
        let untagged = conn
            .raw_command(
                "STATUS",
                vec![
                    RawArg::Mailbox("INBOX".into()),
                    RawArg::Verbatim("(MESSAGES)".into()),
                ],
            )
            .unwrap();
        assert!(
            untagged
                .iter()
                .any(|u| matches!(u, Untagged::MailboxStatus { .. })),
            "{untagged:?}"
        );
        assert!(matches!(
            conn.raw_command("XNOSUCHCOMMAND", vec![]),
            Err(Error::Server {
                status: ServerStatus::Bad,
                ..
            })
        ));
        // The connection is still usable after a BAD.
        conn.noop().unwrap();
        // lock(): several steps with nobody in between.
        {
            let mut guard = conn.lock();
            let m = guard.select("INBOX").unwrap();
            assert_eq!(m.name, "INBOX");
            let r = guard.run(&mailwire::imap::codec::Command::Noop).unwrap();
            drop(r);
        }
        assert_eq!(conn.state(), ConnectionState::Selected);
        assert!(conn.take_unsolicited().is_empty());
        assert!(format!("{conn:?}").contains("ImapConnection"));
        assert!(conn.id().starts_with("imap#"));
        conn.logout();
        assert_eq!(conn.state(), ConnectionState::Logout);
        // Logging out twice is harmless.
        conn.logout();
    }
}

fn uid_validity_change_is_reported_once_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let conn = connect_over(dc, security, &u);
    conn.create_folder("Volatile").unwrap();
    conn.append("Volatile", &mail("old", "x"), &[], None)
        .unwrap();
    let before = conn.select("Volatile").unwrap().uid_validity.unwrap();
    conn.delete_folder("Volatile").unwrap();
    // Dovecot derives UIDVALIDITY from the time in seconds: make sure it differs.
    std::thread::sleep(Duration::from_millis(1100));
    conn.create_folder("Volatile").unwrap();
    conn.append("Volatile", &mail("new", "y"), &[], None)
        .unwrap();
    match conn.search("Volatile", &SearchQuery::all()) {
        Err(Error::UidValidityChanged { folder, old, new }) => {
            assert_eq!(folder, "Volatile");
            assert_eq!(old, before);
            assert_ne!(new, before);
        }
        other => panic!("expected UidValidityChanged, got {other:?}"),
    }
    // Reported once: the next call works with the new UIDs.
    let uids = conn.search("Volatile", &SearchQuery::all()).unwrap();
    assert_eq!(uids, vec![1]);
    let m = conn.fetch_message("Volatile", 1).unwrap().unwrap();
    assert_eq!(m.subject().as_deref(), Some("new"));
    assert!(conn.select("Volatile").is_ok());
}

#[test]
fn uid_validity_change_is_reported_once() {
    uid_validity_change_is_reported_once_over(Security::Tls);
    uid_validity_change_is_reported_once_over(Security::StartTls);
}

fn eight_threads_share_one_connection_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    for t in 0..8 {
        let folder = format!("T{t}");
        let messages: Vec<Vec<u8>> = (0..5)
            .map(|i| mail(&format!("t{t}-m{i}"), &format!("thread {t}")))
            .collect();
        dc.seed(&u.name, &folder, &messages);
    }
    let conn = connect_over(dc, security, &u);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let conn = &conn;
            scope.spawn(move || {
                let folder = format!("T{t}");
                for round in 0..5 {
                    let uids = conn.search(&folder, &SearchQuery::all()).unwrap();
                    assert_eq!(uids, vec![1, 2, 3, 4, 5], "{folder} round {round}");
                    let messages = conn.fetch_messages(&folder, &uids).unwrap();
                    for (i, m) in messages.iter().enumerate() {
                        assert_eq!(m.subject().unwrap(), format!("t{t}-m{i}"), "{folder}");
                    }
                    conn.add_star(&folder, &[round + 1]).unwrap();
                    let starred = conn.search(&folder, &SearchQuery::flagged()).unwrap();
                    assert_eq!(starred, (1..=round + 1).collect::<Vec<u32>>(), "{folder}");
                    let status = conn.folder_status(&folder).unwrap();
                    assert_eq!(status.messages, Some(5));
                }
            });
        }
    });
    conn.logout();
}

#[test]
fn eight_threads_share_one_connection() {
    eight_threads_share_one_connection_over(Security::Tls);
    eight_threads_share_one_connection_over(Security::StartTls);
}

fn errors_are_typed_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    // Wrong password: Error::Auth, with a retry policy that would retry transient errors.
    let bad = Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, "wrong-password")
        .retry(RetryPolicy::new(3, Duration::from_secs(10)))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    match ImapConnection::connect(&bad) {
        Err(Error::Auth { text, .. }) => assert!(!text.is_empty()),
        other => panic!("expected Auth, got {other:?}"),
    }
    // No retry: a retry would have waited 10 s first (Dovecot itself delays a failed
    // login by 2 s).
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    let conn = connect_over(dc, security, &u);
    match conn.select("Does/Not/Exist") {
        Err(Error::MissingFolder { command, text, .. }) => {
            assert_eq!(command, "SELECT");
            assert!(
                text.contains("doesn't exist") || text.contains("not exist"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.state(), ConnectionState::Authenticated);
    // Folder-scoped calls on a missing folder carry the same refusal.
    assert!(matches!(
        conn.search("Does/Not/Exist", &SearchQuery::all()),
        Err(Error::MissingFolder { .. })
    ));

    // Input that cannot be encoded: refused before anything is sent (the connection is
    // still fine and still in its state).
    conn.select("INBOX").unwrap();
    let invalid = |r: mailwire::Result<()>, what: &str| match r {
        Err(Error::InvalidInput { .. }) => {}
        other => panic!("{what}: expected InvalidInput, got {other:?}"),
    };
    invalid(conn.create_folder("bad\0name"), "NUL folder");
    invalid(conn.select("bad\0name").map(drop), "NUL select");
    invalid(
        conn.add_keywords("INBOX", &[1], &["two words"]),
        "keyword with a space",
    );
    invalid(conn.add_keywords("INBOX", &[1], &[""]), "empty keyword");
    invalid(conn.add_flags("INBOX", &[1], &[Flag::Recent]), "\\Recent");
    invalid(
        conn.search("INBOX", &SearchQuery::subject("a\0b"))
            .map(drop),
        "NUL search",
    );
    invalid(
        conn.append("bad\0", b"x", &[], None).map(drop),
        "NUL append",
    );
    invalid(
        #[allow(clippy::reversed_empty_ranges)]
        conn.fetch_uid_range("INBOX", 5..=2, FetchWhat::Metadata)
            .map(drop),
        "empty range",
    );
    invalid(
        conn.append("INBOX", b"", &[], None).map(drop),
        "empty message",
    );
    invalid(conn.mark_as_read("INBOX", &[0]), "UID 0");
    assert!(!conn.is_broken());
    assert_eq!(conn.state(), ConnectionState::Selected);
    conn.noop().unwrap();
    // Fetching UID 0 finds nothing rather than failing.
    assert!(conn.fetch_messages("INBOX", &[0]).unwrap().is_empty());
}

#[test]
fn errors_are_typed() {
    errors_are_typed_over(Security::Tls);
    errors_are_typed_over(Security::StartTls);
}

fn append_with_nul_is_refused_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let conn = connect_over(dc, security, &u);
    assert!(conn.has_capability("BINARY"));
    let message = b"Subject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nA\0B\r\n";
    // Dovecot would store it (BINARY), but BODY[] returns the NUL as 0x80: refused up front.
    match conn.append("INBOX", message, &[], None) {
        Err(Error::InvalidInput { what, reason }) => {
            assert_eq!(what, "message");
            assert!(reason.contains("NUL"), "{reason}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(conn.folder_status("INBOX").unwrap().messages, Some(0));
    assert!(!conn.is_broken());
}

#[test]
fn append_with_nul_is_refused() {
    append_with_nul_is_refused_over(Security::Tls);
    append_with_nul_is_refused_over(Security::StartTls);
}

fn metadata_answers_from_the_envelope_and_fetches_are_not_unsolicited_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let raw = b"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <j@example.de>, \"Doe, Jane\" <jane@example.org>\r\nTo: undisclosed-recipients:;\r\nCc: Team: a@example.org, b@example.org;\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?= und mehr\r\nDate: Fri, 20 Sep 2024 08:00:00 +0200\r\nMessage-ID: <abc@example.de>\r\nIn-Reply-To: <parent@example.de>\r\n\r\nbody\r\n";
    dc.seed(&u.name, "INBOX", &[&raw[..], &mail("second", "x")]);
    let conn = connect_over(dc, security, &u);
    let full = conn.fetch_message("INBOX", 1).unwrap().unwrap();
    let meta = conn.fetch_metadata("INBOX", &[1]).unwrap().remove(0);
    assert!(meta.raw().is_empty());
    assert_eq!(meta.subject().as_deref(), Some("Grüße und mehr"));
    assert_eq!(meta.subject(), full.subject());
    assert_eq!(meta.from(), full.from());
    assert_eq!(meta.from().len(), 2);
    assert_eq!(meta.from()[1].name(), Some("Doe, Jane"));
    assert_eq!(meta.cc(), full.cc());
    assert_eq!(meta.cc().len(), 2);
    assert_eq!(meta.date(), full.date());
    assert_eq!(meta.date(), Some(1_726_812_000));
    assert_eq!(meta.message_id().as_deref(), Some("abc@example.de"));
    assert_eq!(meta.in_reply_to(), vec!["parent@example.de".to_string()]);
    assert!(meta.text_body().is_none() && meta.attachments().is_empty());
    // What a fetch asked for is its answer, not news: the unsolicited queue stays empty.
    conn.fetch_messages("INBOX", &[1, 2]).unwrap();
    let mut sink = Vec::new();
    conn.fetch_to_writer("INBOX", 2, &mut sink).unwrap();
    conn.fetch_range("INBOX", 1, 0, 10).unwrap();
    let queued = conn.take_unsolicited();
    assert!(queued.is_empty(), "{queued:?}");
    // A change made by another client is news, and shows up after the next command.
    let other = connect_over(dc, security, &u);
    other.add_star("INBOX", &[2]).unwrap();
    other.logout();
    conn.noop().unwrap();
    let news = conn.take_unsolicited();
    assert!(
        news.iter().any(|u| matches!(u, Untagged::Fetch { .. })),
        "{news:?}"
    );
}

#[test]
fn metadata_answers_from_the_envelope_and_fetches_are_not_unsolicited() {
    metadata_answers_from_the_envelope_and_fetches_are_not_unsolicited_over(Security::Tls);
    metadata_answers_from_the_envelope_and_fetches_are_not_unsolicited_over(Security::StartTls);
}

fn selected_folder_replaced_by_another_client_breaks_the_connection_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let conn = connect_over(dc, security, &u);
    conn.create_folder("Shared").unwrap();
    conn.append("Shared", &mail("old", "x"), &[], None).unwrap();
    let before = conn.select("Shared").unwrap().uid_validity.unwrap();
    assert_eq!(conn.search("Shared", &SearchQuery::all()).unwrap(), vec![1]);
    // Another client replaces the folder while this connection has it selected.
    let other = connect_over(dc, security, &u);
    other.delete_folder("Shared").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    other.create_folder("Shared").unwrap();
    other
        .append("Shared", &mail("new1", "y"), &[], None)
        .unwrap();
    other
        .append("Shared", &mail("new2", "y"), &[], None)
        .unwrap();
    other.logout();
    // Dovecot closes a session whose selected folder was deleted ("* BYE Mailbox was
    // deleted"): the next call fails with a transient error and the connection reports
    // itself broken, so a caller reconnects rather than mixing old UIDs with new messages.
    // Dovecot notices the replacement when it next syncs the selected folder; on a loaded
    // machine a command may still be answered from the folder as it had it selected (the
    // one old message, under the old UIDVALIDITY) before it does. Never may an answer show
    // the new folder's messages under the old UIDVALIDITY.
    let waited = Instant::now();
    loop {
        match conn.search("Shared", &SearchQuery::all()) {
            Err(e) => {
                assert!(e.is_transient() && e.breaks_connection(), "{e}");
                assert!(conn.is_broken());
                break;
            }
            Ok(uids) => {
                assert!(
                    uids.validity() == Some(before) && uids == vec![1],
                    "old UIDs silently mixed with the new folder: {uids:?}"
                );
                assert!(
                    waited.elapsed() < Duration::from_secs(10),
                    "the server never reported the replaced folder"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    // A fresh connection sees the new folder.
    let fresh = connect_over(dc, security, &u);
    assert_eq!(
        fresh.search("Shared", &SearchQuery::all()).unwrap(),
        vec![1, 2]
    );
    let m = fresh.fetch_message("Shared", 1).unwrap().unwrap();
    assert_eq!(m.subject().as_deref(), Some("new1"));
    assert_ne!(fresh.uid_validity("Shared").unwrap(), before);
}

#[test]
fn selected_folder_replaced_by_another_client_breaks_the_connection() {
    selected_folder_replaced_by_another_client_breaks_the_connection_over(Security::Tls);
    selected_folder_replaced_by_another_client_breaks_the_connection_over(Security::StartTls);
}

fn bulk_fetch_and_store_over_fragmented_uid_sets_over(security: Security) {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let messages: Vec<Vec<u8>> = (1..=3000).map(|i| mail(&format!("bulk{i}"), "b")).collect();
    dc.seed(&u.name, "INBOX", &messages);
    let conn = connect_over(dc, security, &u);
    // Every third UID: a set that no single short command can carry (~13 KB as text).
    let wanted: Vec<u32> = (1..=3000).filter(|n| n % 3 != 0).collect();
    conn.mark_as_read("INBOX", &wanted).unwrap();
    assert_eq!(conn.search("INBOX", &SearchQuery::seen()).unwrap(), wanted);
    let fetched = conn.fetch_headers("INBOX", &wanted).unwrap();
    assert_eq!(fetched.len(), wanted.len());
    for (m, uid) in fetched.iter().zip(&wanted) {
        assert_eq!(m.uid(), Some(*uid));
        assert_eq!(m.subject().unwrap(), format!("bulk{uid}"));
        assert!(m.is_seen());
    }
    let all = conn
        .fetch_uid_range("INBOX", 1..=u32::MAX, FetchWhat::Metadata)
        .unwrap();
    assert_eq!(all.len(), 3000);
    assert_eq!(all.iter().filter(|m| m.is_seen()).count(), wanted.len());
}

#[test]
fn bulk_fetch_and_store_over_fragmented_uid_sets() {
    bulk_fetch_and_store_over_fragmented_uid_sets_over(Security::Tls);
    bulk_fetch_and_store_over_fragmented_uid_sets_over(Security::StartTls);
}
