//! The folder-scoped `ImapConnection` calls that `ImapHandler` mirrors (fetch a part, a
//! range, to a writer; flags and keywords; copy, expunge, append; folder management;
//! select / examine), and the `Selection` forms (`&Vec<u32>`, arrays, `uid_next..`),
//! against the harness Dovecot: each gives what the connection gives.

mod support;

use std::time::Duration;

use mailwire::imap::{FetchWhat, Flag, ImapConnection, ImapHandler, SearchQuery, Selection};
use mailwire::{Config, Security};
use support::dovecot::{Dovecot, User};

fn account(dc: &Dovecot, u: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn mail(n: u32) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: call {n}\r\nMessage-ID: <call.{n}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntext of {n}\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part of {n}\r\n--b--\r\n"
    )
    .into_bytes()
}

fn uids(messages: &[mailwire::Message]) -> Vec<u32> {
    messages.iter().filter_map(|m| m.uid()).collect()
}

#[test]
fn selection_forms_fetch_what_they_name() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    let seeded: Vec<Vec<u8>> = (1..=5).map(mail).collect();
    dc.seed(&u.name, "INBOX", &seeded);
    let handler = ImapHandler::new().unwrap();
    let fetch = |s: Selection| {
        uids(
            &handler
                .fetch_messages(&acct, "INBOX", s, FetchWhat::Metadata)
                .unwrap(),
        )
    };
    let wanted = vec![4, 2];
    assert_eq!(fetch((&wanted).into()), [2, 4]);
    assert_eq!(fetch([5, 1].into()), [1, 5]);
    assert_eq!(fetch((&[3]).into()), [3]);
    // The calls take the forms directly.
    let got = handler
        .fetch_messages(&acct, "INBOX", [1, 3], FetchWhat::Headers)
        .unwrap();
    assert_eq!(uids(&got), [1, 3]);
    let got = handler
        .fetch_messages(&acct, "INBOX", &wanted, FetchWhat::Headers)
        .unwrap();
    assert_eq!(uids(&got), [2, 4]);

    // `uid_next..`: what arrived since UIDNEXT was read, and nothing before anything did
    // (a literal `6:*` would return message 5, the highest UID).
    let uid_next = handler.examine(&acct, "INBOX").unwrap().uid_next.unwrap();
    assert_eq!(uid_next, 6);
    assert_eq!(fetch((uid_next..).into()), Vec::<u32>::new());
    assert_eq!(fetch((3..).into()), [3, 4, 5]);
    assert_eq!(fetch((0..).into()), [1, 2, 3, 4, 5]);
    // Another client delivers two messages.
    let other = ImapConnection::connect(&acct).unwrap();
    for n in [6, 7] {
        other.append("INBOX", &mail(n), &[], None).unwrap();
    }
    other.logout();
    let arrived = handler
        .fetch_messages(&acct, "INBOX", uid_next.., FetchWhat::Full)
        .unwrap();
    assert_eq!(uids(&arrived), [6, 7]);
    assert_eq!(arrived[1].subject().as_deref(), Some("call 7"));
}

#[test]
fn a_reused_connection_sees_what_others_delivered_since() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    dc.seed(&u.name, "INBOX", &[mail(1)]);
    // One pooled connection: every call reuses it, INBOX still selected.
    let handler =
        ImapHandler::with_options(mailwire::pool::PoolOptions::new().max_per_account(1)).unwrap();
    assert_eq!(
        uids(&handler.fetch_headers(&acct, "INBOX", &[1]).unwrap()),
        [1]
    );
    let other = ImapConnection::connect(&acct).unwrap();
    let deliver = |n: u32| other.append("INBOX", &mail(n), &[], None).unwrap();

    deliver(2);
    assert_eq!(
        uids(&handler.fetch_headers(&acct, "INBOX", &[2]).unwrap()),
        [2]
    );
    deliver(3);
    let found = handler.search(&acct, "INBOX", &SearchQuery::all()).unwrap();
    assert_eq!(found.iter().collect::<Vec<u32>>(), [1, 2, 3]);
    deliver(4);
    let all = handler
        .fetch_messages(&acct, "INBOX", Selection::All, FetchWhat::Metadata)
        .unwrap();
    assert_eq!(uids(&all), [1, 2, 3, 4]);
    deliver(5);
    handler.add_star(&acct, "INBOX", &[5]).unwrap();
    let flagged = other.search("INBOX", &SearchQuery::flagged()).unwrap();
    assert_eq!(flagged.iter().collect::<Vec<u32>>(), [5]);
    deliver(6);
    let mut out = Vec::new();
    assert!(
        handler
            .fetch_to_writer(&acct, "INBOX", 6, &mut out)
            .unwrap()
            .is_some()
    );
    assert_eq!(handler.stats(&acct).idle, 1, "one connection did it all");
    other.logout();
}

#[test]
fn mirrored_calls_act_like_the_connections() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let acct = account(dc, &u);
    let seeded: Vec<Vec<u8>> = (1..=4).map(mail).collect();
    dc.seed(&u.name, "INBOX", &seeded);
    let handler = ImapHandler::new().unwrap();
    let conn = ImapConnection::connect(&acct).unwrap();

    // Fetches: a part, a range, a message streamed to a writer, metadata.
    let part = handler
        .fetch_part(&acct, "INBOX", 2, &[2])
        .unwrap()
        .unwrap();
    assert_eq!(part, conn.fetch_part("INBOX", 2, &[2]).unwrap().unwrap());
    assert!(String::from_utf8_lossy(&part).contains("second part of 2"));
    let range = handler
        .fetch_range(&acct, "INBOX", 1, 0, 10)
        .unwrap()
        .unwrap();
    assert_eq!(range, &seeded[0][..10]);
    assert_eq!(
        handler.fetch_range(&acct, "INBOX", 99, 0, 10).unwrap(),
        None
    );
    let mut out = Vec::new();
    let written = handler
        .fetch_to_writer(&acct, "INBOX", 3, &mut out)
        .unwrap();
    assert_eq!((written, &out), (Some(seeded[2].len() as u64), &seeded[2]));
    assert_eq!(
        handler
            .fetch_to_writer(&acct, "INBOX", 99, &mut Vec::new())
            .unwrap(),
        None
    );
    let meta = handler.fetch_metadata(&acct, "INBOX", &[1, 4]).unwrap();
    assert_eq!(uids(&meta), [1, 4]);
    assert_eq!(meta[1].size(), seeded[3].len() as u64);

    // Flags and keywords.
    handler
        .add_flags(&acct, "INBOX", &[1, 2], &[Flag::Answered])
        .unwrap();
    handler
        .remove_flags(&acct, "INBOX", &[2], &[Flag::Answered])
        .unwrap();
    handler
        .set_flags(&acct, "INBOX", &[3], &[Flag::Seen, Flag::Flagged])
        .unwrap();
    handler
        .add_keywords(&acct, "INBOX", &[4], &["Work", "$Forwarded"])
        .unwrap();
    handler
        .remove_keywords(&acct, "INBOX", &[4], &["Work"])
        .unwrap();
    let flags_of = |uid: u32| {
        conn.fetch_metadata("INBOX", uid).unwrap()[0]
            .meta()
            .flags
            .clone()
    };
    assert_eq!(flags_of(1), vec![Flag::Answered]);
    assert_eq!(flags_of(2), vec![]);
    let mut f3 = flags_of(3);
    f3.sort_by_key(|f| f.to_string());
    assert_eq!(f3, vec![Flag::Flagged, Flag::Seen]);
    assert_eq!(flags_of(4), vec![Flag::Keyword("$Forwarded".into())]);

    // Folders: create, list by pattern, rename, subscribe, select / examine, delete.
    handler.create_folder(&acct, "Handled").unwrap();
    handler.rename_folder(&acct, "Handled", "Done").unwrap();
    handler.subscribe(&acct, "Done").unwrap();
    let listed = handler.list_folders_matching(&acct, "", "Do%").unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].name == "Done" && listed[0].subscribed,
        "{listed:?}"
    );
    handler.unsubscribe(&acct, "Done").unwrap();
    assert!(!handler.list_folders_matching(&acct, "", "Done").unwrap()[0].subscribed);

    // Copy, append, mark deleted, expunge, uid_expunge.
    let copied = handler
        .copy(&acct, "INBOX", &[1, 2], "Done")
        .unwrap()
        .unwrap();
    assert_eq!(copied.target_uids().iter().collect::<Vec<u32>>(), [1, 2]);
    let appended = handler
        .append(&acct, "Done", &mail(9), &[Flag::Seen], None)
        .unwrap()
        .unwrap();
    assert_eq!(appended.uid, 3);
    assert_eq!(handler.select(&acct, "Done").unwrap().exists, 3);
    handler.mark_deleted(&acct, "Done", &[1, 3]).unwrap();
    assert_eq!(handler.uid_expunge(&acct, "Done", &[3]).unwrap(), 1);
    assert_eq!(handler.examine(&acct, "Done").unwrap().exists, 2);
    assert_eq!(handler.expunge(&acct, "Done").unwrap(), 1);
    let left = conn.search("Done", &SearchQuery::all()).unwrap();
    assert_eq!(left.iter().collect::<Vec<u32>>(), [2]);
    handler.delete_folder(&acct, "Done").unwrap();
    assert!(
        handler
            .list_folders_matching(&acct, "", "Done")
            .unwrap()
            .is_empty()
    );
    conn.logout();
}
