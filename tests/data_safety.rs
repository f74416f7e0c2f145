//! Data safety against the real Dovecot, through the pooled `ImapHandler` and the raw
//! `ImapConnection`: no way of reading a message marks it `\Seen` on the server, and APPEND
//! of a message with NUL or 8-bit bytes either round-trips byte for byte or is refused with
//! a typed error, never stored altered.
//!
//! Covered elsewhere, not duplicated: POP3 deletions only at QUIT
//! (`tests/pop3.rs::deletions_need_quit_and_reset_undoes_them`), a UIDVALIDITY change never
//! mixing UIDs (`tests/imap_connection.rs::uid_validity_change_is_reported_once`,
//! `selected_folder_replaced_by_another_client_breaks_the_connection`), APPEND with NUL
//! through BINARY (`tests/imap_connection.rs::append_with_nul_uses_binary`).

mod support;

use std::time::Duration;

use mailwire::imap::{FetchWhat, ImapConnection, ImapHandler, Selection};
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

/// The maildir flag letters of every message file in INBOX.
fn disk_flags(dc: &Dovecot, user: &str) -> Vec<String> {
    let dir = dc.maildir(user, "INBOX");
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
fn no_read_sets_seen_on_the_server() {
    let Some(dc) = dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let raw = b"Subject: peek\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\npart one\r\n--b--\r\n";
    dc.seed(&u.name, "INBOX", &[raw.as_slice(), raw.as_slice()]);
    let cfg = config(dc, &u);
    let conn = ImapConnection::connect(&cfg).unwrap();
    let uids = conn
        .search("INBOX", &mailwire::imap::SearchQuery::all())
        .unwrap();
    assert_eq!(uids.len(), 2);
    for what in [FetchWhat::Full, FetchWhat::Headers, FetchWhat::Metadata] {
        conn.fetch("INBOX", &uids, what).unwrap();
    }
    conn.fetch_messages("INBOX", &uids).unwrap();
    conn.fetch_part("INBOX", uids.first().unwrap(), &[1])
        .unwrap();
    let mut sink = Vec::new();
    conn.fetch_to_writer("INBOX", uids.last().unwrap(), &mut sink)
        .unwrap();
    assert_eq!(sink, raw);
    let handler = ImapHandler::new().unwrap();
    handler
        .fetch_messages(&cfg, "INBOX", Selection::All, FetchWhat::Full)
        .unwrap();
    handler.disconnect_all();
    conn.logout();
    let flags = disk_flags(dc, &u.name);
    assert_eq!(flags.len(), 2);
    assert!(
        flags.iter().all(|f| !f.contains('S')),
        "\\Seen set on the server: {flags:?}"
    );
}

#[test]
fn append_of_8bit_round_trips_or_is_refused() {
    append_round_trips_or_is_refused(vec![
        b"Subject: 8bit \xc3\xa9\r\n\r\nna\xefve caf\xc3\xa9 \xff\xfe\r\n".to_vec(),
        b"Subject: lone cr\r\n\r\na\rb\r\n".to_vec(),
        // Every byte but NUL and a bare LF (which the server turns into CRLF).
        (1u8..=255)
            .filter(|&b| b != b'\n')
            .chain(b"\r\n".iter().copied())
            .collect(),
    ]);
}

/// A NUL could be stored through BINARY, but `BODY.PEEK[]` returns it as 0x80 on Dovecot:
/// mailwire refuses such an APPEND with `InvalidInput` instead of storing what cannot be read
/// back intact (this test found the corruption before the refusal existed).
#[test]
fn append_of_nul_round_trips_or_is_refused() {
    append_round_trips_or_is_refused(vec![
        b"Subject: nul\r\n\r\nbefore\0after\r\n".to_vec(),
        (0u8..=255).chain(b"\r\n".iter().copied()).collect(),
    ]);
}

fn append_round_trips_or_is_refused(bodies: Vec<Vec<u8>>) {
    let Some(dc) = dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let conn = ImapConnection::connect(&config(dc, &u)).unwrap();
    for body in bodies {
        match conn.append("INBOX", &body, &[], None) {
            Ok(_) => {
                let uids = conn
                    .search("INBOX", &mailwire::imap::SearchQuery::all())
                    .unwrap();
                let last = uids.last().unwrap();
                let mut stored = Vec::new();
                conn.fetch_to_writer("INBOX", last, &mut stored).unwrap();
                assert_eq!(stored, body, "stored altered");
            }
            Err(e) => assert!(
                matches!(e, Error::InvalidInput { .. } | Error::Server { .. }),
                "not a clear refusal: {e:?}"
            ),
        }
    }
    conn.logout();
}
