//! UIDs are never silently mixed across a folder's recreation (issue 15, item 8), on the
//! real Dovecot: the folder is deleted and created again by another client, new messages
//! get the old UIDs, and every call given the old UIDs refuses with
//! `UidValidityChanged` and touches nothing.
//!
//! Two layers: UIDs carrying the UIDVALIDITY they were read under (`Uids`, as `search`
//! returns them, storable across restarts), and, for plain UIDs, the pool's memory of each
//! account's folders across its connections.

mod support;

use std::time::Duration;

use mailwire::imap::{
    FetchWhat, Flag, ImapConnection, ImapHandler, SearchQuery, Selection, SequenceSet, Uid, Uids,
};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};

fn config(dc: &Dovecot, u: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(20))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn mail(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n").into_bytes()
}

/// Another client deletes `folder`, creates it again and appends `new` messages (UIDs
/// 1, 2, … again); returns the new UIDVALIDITY.
fn recreate(dc: &Dovecot, u: &User, folder: &str, new: &[&str]) -> u32 {
    let other = ImapConnection::connect(&config(dc, u)).unwrap();
    let before = other.uid_validity(folder).unwrap();
    other.delete_folder(folder).unwrap();
    // Dovecot derives UIDVALIDITY from the time in seconds: make sure it differs.
    std::thread::sleep(Duration::from_millis(1100));
    other.create_folder(folder).unwrap();
    for subject in new {
        other.append(folder, &mail(subject), &[], None).unwrap();
    }
    let after = other.uid_validity(folder).unwrap();
    assert_ne!(before, after);
    other.logout();
    after
}

fn expect_changed<T: std::fmt::Debug>(what: &str, result: mailwire::Result<T>, old: u32, new: u32) {
    match result {
        Err(Error::UidValidityChanged { old: o, new: n, .. }) => {
            assert_eq!((o, n), (old, new), "{what}");
        }
        other => panic!("{what} with old UIDs: expected UidValidityChanged, got {other:?}"),
    }
}

/// Checks on a fresh connection that `folder` holds exactly `subjects`, untouched (no
/// flag set, nothing expunged or moved).
fn untouched(dc: &Dovecot, u: &User, folder: &str, subjects: &[&str]) {
    let fresh = ImapConnection::connect(&config(dc, u)).unwrap();
    let all = fresh.search(folder, &SearchQuery::all()).unwrap();
    let messages = fresh.fetch_headers(folder, &all).unwrap();
    let got: Vec<String> = messages.iter().filter_map(|m| m.subject()).collect();
    assert_eq!(got, subjects);
    for m in &messages {
        assert!(m.flags().is_empty(), "{:?} {:?}", m.subject(), m.flags());
    }
    fresh.logout();
}

#[test]
fn pooled_plain_uids_are_refused_after_the_folder_was_recreated() {
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let account = config(dc, &u);
    let setup = ImapConnection::connect(&account).unwrap();
    setup.create_folder("Work").unwrap();
    setup.create_folder("Archive").unwrap();
    setup.append("Work", &mail("old1"), &[], None).unwrap();
    setup.append("Work", &mail("old2"), &[], None).unwrap();
    setup.logout();

    let handler = ImapHandler::new().unwrap();
    let found = handler
        .search(&account, "Work", &SearchQuery::all())
        .unwrap();
    assert_eq!(found, vec![1, 2]);
    let old = found.validity().unwrap();
    // The app keeps bare numbers, as most do.
    let plain: Vec<u32> = found.to_vec();
    // The pool churns: every connection that read those UIDs is closed.
    handler.disconnect(&account);
    assert_eq!(handler.pool().open_connections(), 0);
    let new = recreate(dc, &u, "Work", &["new1", "new2"]);

    // Every acting call refuses, every time (the memory is not overwritten by a refusal).
    expect_changed(
        "delete_messages",
        handler.delete_messages(&account, "Work", &plain),
        old,
        new,
    );
    expect_changed(
        "move_messages",
        handler.move_messages(&account, "Work", &plain, "Archive"),
        old,
        new,
    );
    expect_changed(
        "mark_as_read",
        handler.mark_as_read(&account, "Work", &plain),
        old,
        new,
    );
    expect_changed(
        "add_star",
        handler.add_star(&account, "Work", &plain),
        old,
        new,
    );
    expect_changed(
        "fetch_messages",
        handler.fetch_messages(
            &account,
            "Work",
            Selection::from(plain.clone()),
            FetchWhat::Full,
        ),
        old,
        new,
    );
    expect_changed(
        "fetch_message",
        handler.fetch_message(&account, "Work", plain[0]),
        old,
        new,
    );
    // The value search returned is refused too, whatever the pool remembers.
    expect_changed(
        "delete_messages (Uids)",
        handler.delete_messages(&account, "Work", &found),
        old,
        new,
    );
    untouched(dc, &u, "Work", &["new1", "new2"]);
    untouched(dc, &u, "Archive", &[]);

    // Reading the folder again reports the change once; the new UIDs then work.
    expect_changed(
        "search",
        handler.search(&account, "Work", &SearchQuery::all()),
        old,
        new,
    );
    let fresh = handler
        .search(&account, "Work", &SearchQuery::all())
        .unwrap();
    assert_eq!(fresh.validity(), Some(new));
    handler.mark_as_read(&account, "Work", &fresh).unwrap();
    handler.add_star(&account, "Work", &[1]).unwrap();
    let starred = handler
        .search(&account, "Work", &SearchQuery::flagged())
        .unwrap();
    assert_eq!(starred, vec![1]);
    handler.disconnect_all();
}

#[test]
fn uids_carried_with_their_validity_are_refused_by_a_new_connection() {
    let Some(dc) = dovecot::shared() else { return };
    let u = dc.add_user();
    let account = config(dc, &u);
    let first = ImapConnection::connect(&account).unwrap();
    first.create_folder("Projects").unwrap();
    first.create_folder("Elsewhere").unwrap();
    first.append("Projects", &mail("old1"), &[], None).unwrap();
    first.append("Projects", &mail("old2"), &[], None).unwrap();
    let found = first.search("Projects", &SearchQuery::all()).unwrap();
    // What an application stores (a database row), then the process ends.
    let stored = (found.validity().unwrap(), found.set().to_string());
    first.logout();
    drop(first);
    let new = recreate(dc, &u, "Projects", &["new1", "new2"]);

    // A restart: a brand-new connection with no memory, the UIDs rebuilt from storage.
    let conn = ImapConnection::connect(&account).unwrap();
    let uids = Uids::with_validity(stored.0, stored.1.parse::<SequenceSet>().unwrap());
    let old = stored.0;
    expect_changed(
        "mark_deleted",
        conn.mark_deleted("Projects", &uids),
        old,
        new,
    );
    expect_changed(
        "add_flags",
        conn.add_flags("Projects", &uids, &[Flag::Answered]),
        old,
        new,
    );
    expect_changed(
        "set_flags",
        conn.set_flags("Projects", &uids, &[]),
        old,
        new,
    );
    expect_changed("uid_expunge", conn.uid_expunge("Projects", &uids), old, new);
    expect_changed(
        "move_messages",
        conn.move_messages("Projects", &uids, "Elsewhere"),
        old,
        new,
    );
    expect_changed("copy", conn.copy("Projects", &uids, "Elsewhere"), old, new);
    expect_changed(
        "fetch_messages",
        conn.fetch_messages("Projects", &uids),
        old,
        new,
    );
    let one: Uid = uids.get(1).unwrap();
    expect_changed(
        "fetch_message",
        conn.fetch_message("Projects", one),
        old,
        new,
    );
    expect_changed(
        "fetch_part",
        conn.fetch_part("Projects", one, &[1]),
        old,
        new,
    );
    let mut sink = Vec::new();
    expect_changed(
        "fetch_to_writer",
        conn.fetch_to_writer("Projects", one, &mut sink),
        old,
        new,
    );
    assert!(sink.is_empty());
    untouched(dc, &u, "Projects", &["new1", "new2"]);
    untouched(dc, &u, "Elsewhere", &[]);

    // UIDs read under the current UIDVALIDITY are fine.
    let current = Uids::with_validity(new, &[2]);
    conn.mark_as_read("Projects", &current).unwrap();
    assert_eq!(
        conn.search("Projects", &SearchQuery::seen()).unwrap(),
        vec![2]
    );
    conn.logout();
}
