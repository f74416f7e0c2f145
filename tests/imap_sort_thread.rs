//! SORT, THREAD and ESEARCH MIN / MAX / COUNT against the real Dovecot on a hand-built
//! folder whose expected orders and thread trees are stated here (worked out from RFC
//! 5256's rules by hand, not read from another implementation), and against scripted
//! servers: a missing capability (refused before anything is sent), hostile answers
//! (repeated UIDs, nesting beyond the depth bound, inconsistent ESEARCH numbers), the
//! plain-search fallback of `search_stats`.

#[path = "support/configs.rs"]
mod configs;
#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use std::time::Duration;

use imap_scripts::{logged_in, logout};
use mailwire::imap::codec::InternalDate;
use mailwire::imap::search::ImapDate;
use mailwire::imap::{
    ImapConnection, SearchQuery, SearchStats, SortCriterion as C, SortKey, Thread, ThreadAlgorithm,
};
use mailwire::{Config, Error};
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn dovecot_config(dc: &Dovecot, u: &User) -> Config {
    configs::dovecot(dc, u).build().unwrap()
}

/// One message of the hand-built folder.
struct Mail {
    from: &'static str,
    to: &'static str,
    cc: Option<&'static str>,
    subject: &'static str,
    /// Day of May 2024 in the `Date:` header.
    day: u8,
    id: &'static str,
    /// `In-Reply-To` and `References`.
    replies_to: &'static [&'static str],
    /// Day of June 2024 of the internal date (ARRIVAL).
    arrival: u8,
    /// Body bytes, far apart so that SIZE orders by them.
    pad: usize,
}

/// UIDs 1..=6 in this order. What each key sees:
///
/// | UID | Date  | From (mailbox / display)   | To  | Cc  | base subject | arrival | pad  |
/// |-----|-------|----------------------------|-----|-----|--------------|---------|------|
/// | 1   | May 3 | carol / "Ann"              | zed | kim | plans        | Jun 5   | 3000 |
/// | 2   | May 1 | alice / "Bea"              | yan | –   | plans        | Jun 1   | 1000 |
/// | 3   | May 5 | bob / "Cid"                | xia | jon | budget       | Jun 3   | 500  |
/// | 4   | May 2 | alice / (alice@example.org)| wes | –   | plans        | Jun 4   | 5000 |
/// | 5   | May 6 | dave / "Dan"               | val | –   | offsite      | Jun 2   | 2000 |
/// | 6   | May 7 | erin / "Eve"               | uma | –   | offsite      | Jun 6   | 4000 |
///
/// Threads by reference: 2 answers 1, 4 answers 2 (References 1 2); 5 and 6 both answer
/// `<gone@t>`, which is not in the folder (a dummy parent).
const MAILS: [Mail; 6] = [
    Mail {
        from: "Ann <carol@example.org>",
        to: "zed@example.org",
        cc: Some("kim@example.org"),
        subject: "Plans",
        day: 3,
        id: "a@t",
        replies_to: &[],
        arrival: 5,
        pad: 3000,
    },
    Mail {
        from: "Bea <alice@example.org>",
        to: "yan@example.org",
        cc: None,
        subject: "Re: Plans",
        day: 1,
        id: "b@t",
        replies_to: &["a@t"],
        arrival: 1,
        pad: 1000,
    },
    Mail {
        from: "Cid <bob@example.org>",
        to: "xia@example.org",
        cc: Some("jon@example.org"),
        subject: "Budget",
        day: 5,
        id: "c@t",
        replies_to: &[],
        arrival: 3,
        pad: 500,
    },
    Mail {
        from: "alice@example.org",
        to: "wes@example.org",
        cc: None,
        subject: "Re: Re: Plans",
        day: 2,
        id: "d@t",
        replies_to: &["a@t", "b@t"],
        arrival: 4,
        pad: 5000,
    },
    Mail {
        from: "Dan <dave@example.org>",
        to: "val@example.org",
        cc: None,
        subject: "Re: Offsite",
        day: 6,
        id: "e@t",
        replies_to: &["gone@t"],
        arrival: 2,
        pad: 2000,
    },
    Mail {
        from: "Eve <erin@example.org>",
        to: "uma@example.org",
        cc: None,
        subject: "Re: Offsite",
        day: 7,
        id: "f@t",
        replies_to: &["gone@t"],
        arrival: 6,
        pad: 4000,
    },
];

fn raw(m: &Mail) -> Vec<u8> {
    let mut s = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {:02} May 2024 10:00:00 +0000\r\nMessage-ID: <{}>\r\n",
        m.from, m.to, m.subject, m.day, m.id
    );
    if let Some(cc) = m.cc {
        s.push_str(&format!("Cc: {cc}\r\n"));
    }
    if let Some(last) = m.replies_to.last() {
        s.push_str(&format!("In-Reply-To: <{last}>\r\n"));
        let refs: Vec<String> = m.replies_to.iter().map(|r| format!("<{r}>")).collect();
        s.push_str(&format!("References: {}\r\n", refs.join(" ")));
    }
    s.push_str("\r\n");
    for _ in 0..m.pad / 50 {
        s.push_str(&"x".repeat(48));
        s.push_str("\r\n");
    }
    s.into_bytes()
}

/// A fresh user whose INBOX holds exactly [`MAILS`] as UIDs 1..=6.
fn built(dc: &Dovecot) -> ImapConnection {
    built_for(dc).0
}

/// [`built`], with the user's config.
fn built_for(dc: &Dovecot) -> (ImapConnection, Config) {
    let u = dc.add_user();
    let config = dovecot_config(dc, &u);
    let conn = ImapConnection::connect(&config).unwrap();
    for (i, m) in MAILS.iter().enumerate() {
        let date =
            InternalDate::new(ImapDate::new(2024, 6, m.arrival).unwrap(), 9, 0, 0, 0).unwrap();
        let uid = conn
            .append("INBOX", &raw(m), &[], Some(date))
            .unwrap()
            .unwrap();
        assert_eq!(uid.uid, i as u32 + 1);
    }
    (conn, config)
}

fn rev(c: C) -> SortKey {
    SortKey::reverse(c)
}

fn key(c: C) -> SortKey {
    SortKey::new(c)
}

#[test]
fn sort_orders_the_hand_built_folder_as_stated() {
    let Some(dc) = dovecot::shared() else { return };
    let conn = built(dc);
    assert!(conn.has_capability("SORT"));
    let all = SearchQuery::all();
    let cases: Vec<(Vec<SortKey>, Vec<u32>)> = vec![
        (vec![key(C::Date)], vec![2, 4, 1, 3, 5, 6]),
        (vec![rev(C::Date)], vec![6, 5, 3, 1, 4, 2]),
        (vec![key(C::Arrival)], vec![2, 5, 3, 4, 1, 6]),
        (vec![rev(C::Arrival)], vec![6, 1, 4, 3, 5, 2]),
        // alice (2, 4: equal, so by sequence), bob, carol, dave, erin.
        (vec![key(C::From)], vec![2, 4, 3, 1, 5, 6]),
        // Multi-key: the two alices newest first.
        (vec![key(C::From), rev(C::Date)], vec![4, 2, 3, 1, 5, 6]),
        (vec![key(C::Size)], vec![3, 2, 5, 1, 6, 4]),
        (vec![rev(C::Size)], vec![4, 6, 1, 5, 2, 3]),
        // budget, offsite (5, 6), plans (1, 2, 4): prefixes removed.
        (vec![key(C::Subject)], vec![3, 5, 6, 1, 2, 4]),
        (vec![key(C::Subject), rev(C::Date)], vec![3, 6, 5, 1, 4, 2]),
        (vec![key(C::To)], vec![6, 5, 4, 3, 2, 1]),
        // No Cc sorts as the empty string: first, by sequence.
        (vec![key(C::Cc)], vec![2, 4, 5, 6, 3, 1]),
        (vec![rev(C::Cc), key(C::Date)], vec![1, 3, 2, 4, 5, 6]),
    ];
    for (keys, expected) in cases {
        assert_eq!(
            conn.sort("INBOX", &keys, &all).unwrap(),
            expected,
            "{keys:?}"
        );
    }
    // The query narrows, the order stays the keys'.
    let plans = SearchQuery::subject("plans");
    assert_eq!(
        conn.sort("INBOX", &[key(C::Date)], &plans).unwrap(),
        vec![2, 4, 1]
    );
    assert_eq!(
        conn.sort("INBOX", &[key(C::Date)], &SearchQuery::subject("nothing"))
            .unwrap(),
        Vec::<u32>::new()
    );
    // RFC 5957's display keys when the server has them; a clear refusal when not.
    let display = conn.sort("INBOX", &[key(C::DisplayFrom)], &all);
    // Dovecot 2.3 offers SORT=DISPLAY; the refusal without it is a scripted test below.
    assert!(conn.has_capability("SORT=DISPLAY"));
    // "alice@example.org" (no name), Ann, Bea, Cid, Dan, Eve.
    assert_eq!(display.unwrap(), vec![4, 1, 2, 3, 5, 6]);
    let display_to = conn.sort("INBOX", &[rev(C::DisplayTo)], &all).unwrap();
    assert_eq!(display_to, vec![1, 2, 3, 4, 5, 6]);
}

fn leaf(n: u32) -> Thread {
    Thread::leaf(n)
}

#[test]
fn thread_builds_the_stated_trees() {
    let Some(dc) = dovecot::shared() else { return };
    let conn = built(dc);
    // REFERENCES: 1 -> 2 -> 4; 3 alone; 5 and 6 under a dummy for the missing <gone@t>.
    // Roots by the date of the root (the dummy: of its first child): 1 (May 3), 3, dummy.
    let threads = conn
        .thread("INBOX", ThreadAlgorithm::References, &SearchQuery::all())
        .unwrap();
    assert_eq!(
        threads,
        vec![
            Thread::new(Some(1), vec![Thread::new(Some(2), vec![leaf(4)])]),
            leaf(3),
            Thread::new(None, vec![leaf(5), leaf(6)]),
        ]
    );
    // ORDEREDSUBJECT: one thread per base subject, its oldest message the parent of the
    // others (by date), threads by the date of their first message.
    let threads = conn
        .thread(
            "INBOX",
            ThreadAlgorithm::OrderedSubject,
            &SearchQuery::all(),
        )
        .unwrap();
    assert_eq!(
        threads,
        vec![
            Thread::new(Some(2), vec![leaf(4), leaf(1)]),
            leaf(3),
            Thread::new(Some(5), vec![leaf(6)]),
        ]
    );
    // Narrowed by the query: 2 and 4 without 1, the tree keeps what matches.
    let threads = conn
        .thread(
            "INBOX",
            ThreadAlgorithm::References,
            &SearchQuery::from("alice"),
        )
        .unwrap();
    let uids: Vec<u32> = threads.iter().flat_map(Thread::uids).collect();
    assert_eq!(uids, vec![2, 4]);
}

#[test]
fn search_stats_from_esearch() {
    let Some(dc) = dovecot::shared() else { return };
    let conn = built(dc);
    assert!(conn.has_capability("ESEARCH"));
    let s = conn
        .search_stats("INBOX", &SearchQuery::from("alice"))
        .unwrap();
    assert_eq!((s.min, s.max, s.count), (Some(2), Some(4), 2));
    let s = conn.search_stats("INBOX", &SearchQuery::all()).unwrap();
    assert_eq!((s.min, s.max, s.count), (Some(1), Some(6), 6));
    let s = conn
        .search_stats("INBOX", &SearchQuery::subject("nothing"))
        .unwrap();
    assert_eq!(s, SearchStats::default());
}

#[test]
fn handler_twins_answer_as_the_connection_does() {
    let Some(dc) = dovecot::shared() else { return };
    let (conn, account) = built_for(dc);
    conn.logout();
    let handler = mailwire::imap::ImapHandler::new().unwrap();
    let all = SearchQuery::all();
    let keys = [key(C::From), rev(C::Date)];
    assert_eq!(
        handler.sort(&account, "INBOX", &keys, &all).unwrap(),
        vec![4, 2, 3, 1, 5, 6]
    );
    let threads = handler
        .thread(&account, "INBOX", ThreadAlgorithm::OrderedSubject, &all)
        .unwrap();
    assert_eq!(threads[0], Thread::new(Some(2), vec![leaf(4), leaf(1)]));
    let s = handler
        .search_stats(&account, "INBOX", &SearchQuery::subject("offsite"))
        .unwrap();
    assert_eq!((s.min, s.max, s.count), (Some(5), Some(6), 2));
}

// --- scripted servers -------------------------------------------------------------------

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

fn reason(e: &Error) -> String {
    match e {
        Error::InvalidInput { reason, .. } => reason.clone(),
        other => panic!("not InvalidInput: {other:?}"),
    }
}

#[test]
fn missing_capabilities_are_refused_before_sending() {
    let server = ScriptServer::start_seq(vec![logout(logged_in("IDLE SORT"))]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let all = SearchQuery::all();
    let e = conn
        .thread("INBOX", ThreadAlgorithm::References, &all)
        .unwrap_err();
    assert!(reason(&e).contains("THREAD=REFERENCES"), "{e}");
    let e = conn
        .thread("INBOX", ThreadAlgorithm::OrderedSubject, &all)
        .unwrap_err();
    assert!(reason(&e).contains("THREAD=ORDEREDSUBJECT"), "{e}");
    let e = conn.sort("INBOX", &[key(C::DisplayTo)], &all).unwrap_err();
    assert!(reason(&e).contains("SORT=DISPLAY"), "{e}");
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();

    let server = ScriptServer::start_seq(vec![logout(logged_in("IDLE THREAD=REFERENCES"))]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let e = conn.sort("INBOX", &[key(C::Date)], &all).unwrap_err();
    assert!(reason(&e).contains("SORT (RFC 5256)"), "{e}");
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
    // Nothing but LOGIN and LOGOUT went out: no SELECT, no SORT.
    let sent = server.received(0);
    assert_eq!(sent.len(), 2, "{sent:?}");
}

#[test]
fn sort_answer_with_a_repeated_uid_is_a_protocol_error() {
    let server = ScriptServer::start_seq(vec![
        selected(logged_in("SORT"))
            .expect_contains("UID SORT (DATE) UTF-8 ALL")
            .send_line("* SORT 3 1 3 3 3")
            .reply_tagged("OK sorted")
            .read_until_closed(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let e = conn
        .sort("INBOX", &[key(C::Date)], &SearchQuery::all())
        .unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert!(conn.is_broken());
    assert!(server.wait_done(Duration::from_secs(5)));
}

#[test]
fn sort_answer_outside_the_query_bounds_is_dropped() {
    let server = ScriptServer::start_seq(vec![logout(
        selected(logged_in("SORT"))
            .expect_contains("UID SORT (REVERSE SIZE) UTF-8 UID 2:3")
            .send_line("* SORT 3 900 2 4294967295")
            .reply_tagged("OK sorted"),
    )]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let query = SearchQuery::uid(mailwire::imap::SequenceSet::range(2, 3));
    let got = conn.sort("INBOX", &[rev(C::Size)], &query).unwrap();
    assert_eq!(got, vec![3, 2]);
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn hostile_thread_answers_are_protocol_errors() {
    let deep = format!("* THREAD {}1{}", "(".repeat(50_000), ")".repeat(50_000));
    for answer in [deep.as_str(), "* THREAD (1 2)(2)", "* THREAD (1 (2)(3)"] {
        let server = ScriptServer::start_seq(vec![
            selected(logged_in("THREAD=REFERENCES"))
                .expect_contains("UID THREAD REFERENCES UTF-8 ALL")
                .send_line(answer)
                .reply_tagged("OK threaded")
                .read_until_closed(),
        ]);
        let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
        let e = conn
            .thread("INBOX", ThreadAlgorithm::References, &SearchQuery::all())
            .unwrap_err();
        assert!(
            matches!(e, Error::Protocol { .. }),
            "{}: {e:?}",
            &answer[..20.min(answer.len())]
        );
        assert!(conn.is_broken());
        drop(conn);
        assert!(server.wait_done(Duration::from_secs(5)));
    }
}

#[test]
fn inconsistent_esearch_stats_are_protocol_errors() {
    for answer in [
        "* ESEARCH (TAG \"A3\") UID MIN 5 MAX 2 COUNT 2",
        "* ESEARCH (TAG \"A3\") UID MIN 2 MAX 4 COUNT 9",
        "* ESEARCH (TAG \"A3\") UID COUNT 3",
    ] {
        let server = ScriptServer::start_seq(vec![
            selected(logged_in("ESEARCH"))
                .expect_contains("UID SEARCH RETURN (MIN MAX COUNT) UNSEEN")
                .send_line(answer)
                .reply_tagged("OK searched")
                .read_until_closed(),
        ]);
        let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
        let e = conn
            .search_stats("INBOX", &SearchQuery::unseen())
            .unwrap_err();
        assert!(matches!(e, Error::Protocol { .. }), "{answer}: {e:?}");
        drop(conn);
        assert!(server.wait_done(Duration::from_secs(5)));
    }
}

#[test]
fn search_stats_without_esearch_counts_a_plain_search() {
    let server = ScriptServer::start_seq(vec![logout(
        selected(logged_in("IDLE"))
            .expect(|l| l.contains("UID SEARCH UNSEEN") && !l.contains("RETURN"))
            .send_line("* SEARCH 4 2 3 9")
            .reply_tagged("OK searched"),
    )]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let s = conn.search_stats("INBOX", &SearchQuery::unseen()).unwrap();
    assert_eq!((s.min, s.max, s.count), (Some(2), Some(9), 4));
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn answer_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Thread>();
    send_sync::<SearchStats>();
    send_sync::<SortKey>();
    send_sync::<ThreadAlgorithm>();
}
