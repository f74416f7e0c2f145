//! Errors a worker can act on: a missing folder on every server (`is_missing_folder`, the
//! real Dovecot and a scripted `[NONEXISTENT]` server), a plaintext `Security` against an
//! implicit-TLS port (the real Dovecot's imaps / pop3s ports), and one call made to fail
//! fast with the server down.

mod support;

use std::time::{Duration, Instant};

use mailwire::imap::ImapConnection;
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};
use support::script_server::{Script, ScriptServer};

fn dc() -> Option<&'static Dovecot> {
    dovecot::shared()
}

fn imaps(dc: &Dovecot, u: &User) -> Config {
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

/// Every folder-scoped call on a folder that does not exist fails with an error for which
/// `is_missing_folder` holds (Dovecot 2.3 sends no code to SELECT / STATUS: the call
/// confirms with a LIST); a refusal of another kind on an existing folder does not.
#[test]
fn dovecot_missing_folder_is_recognised_by_every_folder_scoped_call() {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    dc.seed(&u.name, "INBOX", &[b"Subject: one\r\n\r\nbody\r\n".as_slice()]);
    let conn = ImapConnection::connect(&imaps(dc, &u)).unwrap();
    let missing = "No such folder";
    let calls: Vec<(&str, mailwire::Result<()>)> = vec![
        ("select", conn.select(missing).map(drop)),
        ("examine", conn.examine(missing).map(drop)),
        ("folder_status", conn.folder_status(missing).map(drop)),
        (
            "append",
            conn.append(missing, b"Subject: x\r\n\r\nx\r\n", &[], None)
                .map(drop),
        ),
        ("copy to", conn.copy("INBOX", &[1], missing).map(drop)),
        ("move to", conn.move_messages("INBOX", &[1], missing).map(drop)),
        (
            "search",
            conn.search(missing, &mailwire::imap::SearchQuery::all())
                .map(drop),
        ),
        ("delete_folder", conn.delete_folder(missing).map(drop)),
        ("rename_folder", conn.rename_folder(missing, "Elsewhere").map(drop)),
    ];
    for (call, result) in calls {
        let e = result.expect_err(call);
        println!("{call}: {e:?}");
        assert!(e.is_missing_folder(), "{call}: {e:?}");
        assert!(!e.is_transient(), "{call}: {e:?}");
        assert!(!e.breaks_connection(), "{call}: {e:?}");
        assert_eq!(e.retry_hint(), mailwire::Retry::Never, "{call}");
        match &e {
            Error::MissingFolder { folder, .. } => assert_eq!(folder, missing, "{call}"),
            other => panic!("{call}: {other:?}"),
        }
    }
    // The connection is still usable, and an existing folder is not missing.
    assert_eq!(conn.select("INBOX").unwrap().exists, 1);
    // Refusals of another kind on folders that exist are not a missing folder.
    let refusals: Vec<(&str, mailwire::Result<()>)> = vec![
        ("delete INBOX", conn.delete_folder("INBOX")),
        ("create INBOX", conn.create_folder("INBOX")),
        ("rename INBOX to INBOX", conn.rename_folder("INBOX", "INBOX")),
    ];
    for (call, result) in refusals {
        let e = result.expect_err(call);
        println!("{call}: {e:?}");
        assert!(!e.is_missing_folder(), "{call}: {e:?}");
        assert!(matches!(e, Error::Server { .. }), "{call}: {e:?}");
    }
    conn.logout();
}
