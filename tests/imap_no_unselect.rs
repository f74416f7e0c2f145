//! A server without UNSELECT (issue 15, item 7): leaving the selected folder must never
//! expunge. `CLOSE` of a read-write folder removes every `\Deleted` message, so the client
//! used to lose them when it left the folder with CLOSE and the DELETE that followed
//! failed. Now it re-opens the folder read-only (`EXAMINE`) and closes that.

mod support;

use std::time::Duration;

use mailwire::imap::{ImapConnection, SearchQuery};
use mailwire::{Config, Error, RetryPolicy, Security, ServerStatus};
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

/// Dovecot 2.3's capabilities after login, without UNSELECT.
const CAPABILITIES_WITHOUT_UNSELECT: &str = "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE UIDPLUS CHILDREN LIST-EXTENDED SPECIAL-USE CONDSTORE ESEARCH MOVE";

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

fn mail(i: u32) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: m{i}\r\n\r\nbody {i}\r\n").into_bytes()
}

#[test]
fn a_refused_delete_of_the_selected_folder_expunges_nothing_on_dovecot() {
    let Some(dc) = dovecot::start_with_config(CAPABILITIES_WITHOUT_UNSELECT) else {
        return;
    };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[mail(1), mail(2), mail(3)]);
    let conn = ImapConnection::connect(&config(&dc, &u)).unwrap();
    assert!(
        !conn.has_capability("UNSELECT"),
        "{:?}",
        conn.capabilities()
    );
    // Two messages marked \Deleted, INBOX selected read-write.
    conn.mark_deleted("INBOX", &[1, 2]).unwrap();
    match conn.delete_folder("INBOX") {
        Err(Error::Server {
            status: ServerStatus::No,
            ..
        }) => {}
        other => panic!("Dovecot deleted INBOX? {other:?}"),
    }
    // The connection is still usable, and nothing was expunged (seen by a fresh one).
    assert_eq!(
        conn.search("INBOX", &SearchQuery::all()).unwrap(),
        vec![1, 2, 3]
    );
    let fresh = ImapConnection::connect(&config(&dc, &u)).unwrap();
    assert_eq!(
        fresh.search("INBOX", &SearchQuery::all()).unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(
        fresh.search("INBOX", &SearchQuery::deleted()).unwrap(),
        vec![1, 2]
    );
    // Deleting another selected folder still works without UNSELECT.
    conn.create_folder("Scratch").unwrap();
    conn.append("Scratch", &mail(9), &[], None).unwrap();
    conn.mark_deleted("Scratch", &[1]).unwrap();
    conn.delete_folder("Scratch").unwrap();
    assert!(
        !conn
            .list_folders()
            .unwrap()
            .iter()
            .any(|f| f.name == "Scratch")
    );
    assert_eq!(conn.search("INBOX", &SearchQuery::all()).unwrap().len(), 3);
    conn.logout();
    fresh.logout();
}

#[test]
fn without_unselect_the_folder_is_left_read_only_before_close() {
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 UIDPLUS] scripted")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in")
            .expect_contains("SELECT INBOX")
            .send_line("* 2 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect_contains("UID STORE 1:2 +FLAGS.SILENT (\\Deleted)")
            .reply_tagged("OK stored")
            // Never a CLOSE while the folder is read-write.
            .expect_contains("EXAMINE INBOX")
            .send_line("* 2 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .reply_tagged("OK [READ-ONLY] examined")
            .expect_contains("CLOSE")
            .reply_tagged("OK closed")
            .expect_contains("DELETE INBOX")
            .reply_tagged("NO cannot delete INBOX")
            // A NO without a code: the LIST that tells a missing folder from this refusal.
            .expect_contains("LIST \"\" INBOX")
            .send_line("* LIST () \"/\" INBOX")
            .reply_tagged("OK listed")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    conn.mark_deleted("INBOX", &[1, 2]).unwrap();
    assert!(matches!(
        conn.delete_folder("INBOX"),
        Err(Error::Server {
            status: ServerStatus::No,
            ..
        })
    ));
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}
