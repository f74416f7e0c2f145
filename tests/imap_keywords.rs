//! Keywords only where the folder keeps them: `Mailbox::allows_keywords` /
//! `allows_keyword` read from `PERMANENTFLAGS`, and every call that can send a keyword
//! (`add_keywords`, `add_flags`, `set_flags`, `append`, and the `ImapHandler` twins)
//! refusing one the folder cannot keep before sending. The real Dovecot (whose
//! `PERMANENTFLAGS` include `\*`) shows keywords working; scripted servers show the
//! refusals and the other two rules (the keyword listed; no `PERMANENTFLAGS` at all).

mod support;

use std::time::Duration;

use mailwire::imap::{Flag, ImapConnection, ImapHandler, SearchQuery};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn dovecot_config(dc: &Dovecot, u: &User) -> Config {
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

fn scripted_config(port: u16) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[test]
fn dovecot_keeps_keywords_and_they_are_stored() {
    let Some(dc) = dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    dc.seed(
        &user.name,
        "INBOX",
        &[b"Subject: k\r\n\r\nbody\r\n".to_vec()],
    );
    let conn = ImapConnection::connect(&dovecot_config(dc, &user)).unwrap();
    let inbox = conn.select("INBOX").unwrap();
    assert!(
        inbox.permanent_flags.contains(&Flag::MayCreate),
        "{inbox:?}"
    );
    assert!(inbox.allows_keywords());
    assert!(inbox.allows_keyword("$Important"));
    let uids = conn.search("INBOX", &SearchQuery::all()).unwrap();
    conn.add_keywords("INBOX", &uids, &["$Important"]).unwrap();
    conn.add_flags("INBOX", &uids, &[Flag::Keyword("Work".into())])
        .unwrap();
    let m = conn.fetch_metadata("INBOX", &uids).unwrap();
    let flags = m[0].flags();
    assert!(
        flags.contains(&Flag::Keyword("$Important".into())),
        "{flags:?}"
    );
    assert!(flags.contains(&Flag::Keyword("Work".into())), "{flags:?}");
    let appended = conn
        .append(
            "INBOX",
            b"Subject: a\r\n\r\nappended\r\n",
            &[Flag::Keyword("$Later".into())],
            None,
        )
        .unwrap()
        .unwrap();
    let m = conn.fetch_metadata("INBOX", &[appended.uid]).unwrap();
    assert!(m[0].flags().contains(&Flag::Keyword("$Later".into())));
    conn.logout();
}

/// Logged in, then `SELECT INBOX` answered with `permanent` as its PERMANENTFLAGS code
/// (`None`: no code at all).
fn selected(permanent: Option<&str>) -> Script {
    let mut s = Script::new()
        .send_line("* OK [CAPABILITY IMAP4rev1 UIDPLUS] scripted")
        .expect_contains("LOGIN user")
        .reply_tagged("OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in")
        .expect_contains("SELECT INBOX")
        .send_line("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)")
        .send_line("* 2 EXISTS")
        .send_line("* OK [UIDVALIDITY 7] ok")
        .send_line("* OK [UIDNEXT 9] ok");
    if let Some(p) = permanent {
        s = s.send_line(&format!("* OK [PERMANENTFLAGS ({p})] limited"));
    }
    s.reply_tagged("OK [READ-WRITE] selected")
}

fn refused(r: mailwire::Result<impl std::fmt::Debug>, keyword: &str) {
    match r {
        Err(Error::InvalidInput { what, reason }) => {
            assert_eq!(what, "keyword");
            assert!(reason.contains(keyword), "{reason}");
            assert!(reason.contains("PERMANENTFLAGS"), "{reason}");
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn without_backslash_star_keywords_are_refused_before_sending() {
    let server = ScriptServer::start_seq(vec![
        selected(Some("\\Seen \\Deleted \\Flagged"))
            .expect_contains("UID STORE 1 +FLAGS.SILENT (\\Seen)")
            .reply_tagged("OK stored")
            .expect_contains("UID STORE 1 -FLAGS.SILENT ($Important)")
            .reply_tagged("OK stored")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let inbox = conn.select("INBOX").unwrap();
    assert!(!inbox.allows_keywords());
    assert!(!inbox.allows_keyword("$Important"));
    refused(
        conn.add_keywords("INBOX", &[1], &["$Important"]),
        "$Important",
    );
    refused(
        conn.add_flags("INBOX", &[1], &[Flag::Seen, Flag::Keyword("Work".into())]),
        "Work",
    );
    refused(
        conn.set_flags("INBOX", &[1], &[Flag::Keyword("$Junk".into())]),
        "$Junk",
    );
    refused(
        conn.append(
            "INBOX",
            b"Subject: x\r\n\r\ny\r\n",
            &[Flag::Keyword("$Later".into())],
            None,
        ),
        "$Later",
    );
    // System flags still go, and removing a keyword is not refused.
    conn.add_flags("INBOX", &[1], &[Flag::Seen]).unwrap();
    conn.remove_keywords("INBOX", &[1], &["$Important"])
        .unwrap();
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
    let sent = server.received(0);
    assert!(
        !sent
            .iter()
            .any(|l| l.contains("+FLAGS.SILENT ($") || l.contains("Work") || l.contains("APPEND")),
        "{sent:?}"
    );
}

#[test]
fn a_listed_keyword_is_allowed_and_others_are_not() {
    let server = ScriptServer::start_seq(vec![
        selected(Some("\\Seen \\Deleted $Important"))
            .expect_contains("UID STORE 1 +FLAGS.SILENT ($important)")
            .reply_tagged("OK stored")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let inbox = conn.select("INBOX").unwrap();
    assert!(!inbox.allows_keywords());
    assert!(inbox.allows_keyword("$Important"));
    assert!(inbox.allows_keyword("$important"));
    assert!(!inbox.allows_keyword("Work"));
    conn.add_keywords("INBOX", &[1], &["$important"]).unwrap();
    refused(conn.add_keywords("INBOX", &[1], &["Work"]), "Work");
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn without_permanentflags_every_keyword_is_allowed() {
    let server = ScriptServer::start_seq(vec![
        selected(None)
            .expect_contains("UID STORE 1 +FLAGS.SILENT (Work)")
            .reply_tagged("OK stored")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let inbox = conn.select("INBOX").unwrap();
    assert!(inbox.permanent_flags.is_empty());
    assert!(inbox.allows_keywords());
    assert!(inbox.allows_keyword("Work"));
    conn.add_keywords("INBOX", &[1], &["Work"]).unwrap();
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn an_empty_permanentflags_list_allows_no_keyword() {
    let server = ScriptServer::start_seq(vec![
        selected(Some(""))
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted_config(server.port())).unwrap();
    let inbox = conn.select("INBOX").unwrap();
    assert!(!inbox.allows_keywords());
    refused(conn.add_keywords("INBOX", &[1], &["Work"]), "Work");
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

#[test]
fn the_handler_refuses_before_sending_too() {
    let server = ScriptServer::start_seq(vec![
        selected(Some("\\Seen"))
            // The second call finds INBOX still selected on the pooled connection.
            .expect_contains("NOOP")
            .reply_tagged("OK noop")
            .read_until_closed(),
    ]);
    let account = scripted_config(server.port());
    let handler = ImapHandler::new().unwrap();
    refused(
        handler.add_keywords(&account, "INBOX", &[1], &["$Important"]),
        "$Important",
    );
    refused(
        handler.set_flags(&account, "INBOX", &[1], &[Flag::Keyword("X".into())]),
        "X",
    );
    drop(handler);
    assert!(server.wait_done(Duration::from_secs(10)));
    let sent = server.received(0);
    assert!(!sent.iter().any(|l| l.contains("STORE")), "{sent:?}");
}
