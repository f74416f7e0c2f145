//! UTF8=ACCEPT (RFC 6855, issue 21 item 3), enabled by the library after login when the
//! server offers it. Dovecot 2.3 does not offer it: scripted servers built from the RFC's
//! exchange (`ENABLE UTF8=ACCEPT` / `* ENABLED UTF8=ACCEPT`) show the ENABLE sent once, only
//! when offered and not switched off (on direct, pooled and IdleListener connections),
//! UTF-8 folder names both ways and the `UTF8 (~{n})`
//! APPEND of a message with UTF-8 headers; the real Dovecot shows the not-offered path (no
//! ENABLE on the wire, non-ASCII names round-trip through modified UTF-7). Own test binary:
//! it installs a global logger to read the commands on the wire.

#[path = "support/capture.rs"]
mod capture;
#[path = "support/configs.rs"]
mod configs;
#[path = "support/imap_scripts.rs"]
mod imap_scripts;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use imap_scripts::{log_out_and_check, login, logout};
use mailwire::imap::{IdleEvent, IdleListener, ImapConnection, ImapPool};
use mailwire::pool::PoolOptions;
use mailwire::{Config, ConfigBuilder, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

fn scripted(server: &ScriptServer) -> ConfigBuilder {
    configs::scripted(server.port())
}

/// RFC 6855 §3's exchange.
fn enable_utf8(script: Script) -> Script {
    script
        .expect_line("A2 ENABLE UTF8=ACCEPT")
        .send_line("* ENABLED UTF8=ACCEPT")
        .reply_tagged("OK UTF8=ACCEPT enabled")
}

const UTF8_CAPS: &str = "IMAP4rev1 ENABLE UTF8=ACCEPT LIST-EXTENDED";
const HEADERS_UTF8: &str = "From: Jörg <jörg@example.org>\r\nSubject: Grüße\r\n\r\nHallo\r\n";

#[test]
fn utf8_accept_is_enabled_once_after_login_and_names_are_utf8_both_ways() {
    let n = HEADERS_UTF8.len();
    let script = logout(
        enable_utf8(login(UTF8_CAPS))
            // The caller's hook runs after the library's ENABLE.
            .expect_contains("NOOP")
            .reply_tagged("OK noop")
            .expect_contains("LIST \"\" * RETURN (SUBSCRIBED CHILDREN)")
            .send_line("* LIST (\\HasNoChildren) \"/\" INBOX")
            .send_line("* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"")
            .send_line("* LIST (\\HasNoChildren) \"/\" \"台北/日本語\"")
            .send_line("* LIST (\\HasNoChildren) \"/\" \"Tom & Jerry\"")
            .reply_tagged("OK listed")
            .expect_line("A5 SELECT \"Entwürfe\"")
            .send_line("* 3 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .send_line("* OK [UIDNEXT 4] ok")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect_line("A6 STATUS \"台北/日本語\" (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
            .send_line(
                "* STATUS \"台北/日本語\" (MESSAGES 2 RECENT 0 UIDNEXT 3 UIDVALIDITY 9 UNSEEN 1)",
            )
            .reply_tagged("OK status")
            .expect_line("A7 CREATE \"Tom & Jerry/Über\"")
            .reply_tagged("OK created")
            // RFC 6855 §4: UTF-8 headers go as UTF8 (literal8).
            .expect_line(&format!("A8 APPEND \"Entwürfe\" UTF8 (~{{{n}}}"))
            .send_line("+ go")
            .expect_line("From: Jörg <jörg@example.org>")
            .expect_line("Subject: Grüße")
            .expect_line("")
            .expect_line("Hallo")
            .expect_line(")")
            .send_line("A8 OK [APPENDUID 7 4] appended"),
    );
    let server = ScriptServer::start_seq(vec![script]);
    let hook_saw_utf8 = Arc::new(AtomicBool::new(false));
    let saw = hook_saw_utf8.clone();
    let config = scripted(&server)
        .on_connect(move |conn| {
            saw.store(conn.utf8_names(), Ordering::SeqCst);
            conn.noop()
        })
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    assert!(
        hook_saw_utf8.load(Ordering::SeqCst),
        "hook ran before ENABLE"
    );
    assert!(conn.utf8_names());
    let names: Vec<String> = conn
        .list_folders()
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["INBOX", "Entwürfe", "台北/日本語", "Tom & Jerry"]);
    let opened = conn.select("Entwürfe").unwrap();
    assert_eq!((opened.exists, opened.name.as_str()), (3, "Entwürfe"));
    let status = conn.folder_status("台北/日本語").unwrap();
    assert_eq!((status.messages, status.unseen), (Some(2), Some(1)));
    conn.create_folder("Tom & Jerry/Über").unwrap();
    let uid = conn
        .append("Entwürfe", HEADERS_UTF8.as_bytes(), &[], None)
        .unwrap();
    assert_eq!(uid.map(|u| u.uid), Some(4));
    log_out_and_check(conn, &server);
}

#[test]
fn without_utf8_accept_names_stay_modified_utf7_and_no_enable_is_sent() {
    // Not offered: no ENABLE; names out and back in modified UTF-7 (RFC 3501 §5.1.3's
    // example), an APPEND with 8-bit headers a plain literal.
    let n = HEADERS_UTF8.len();
    let script = logout(
        login("IMAP4rev1 ENABLE LIST-EXTENDED")
            .expect_contains("LIST \"\" * RETURN")
            .send_line("* LIST () \"/\" ~peter/mail/&U,BTFw-/&ZeVnLIqe-")
            .send_line("* LIST () \"/\" \"Tom &- Jerry\"")
            .reply_tagged("OK listed")
            .expect_line("A3 SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-")
            .send_line("* 0 EXISTS")
            .reply_tagged("OK selected")
            .expect_line(&format!("A4 APPEND \"Tom &- Jerry\" {{{n}}}"))
            .send_line("+ go")
            .expect_any()
            .expect_any()
            .expect_line("")
            .expect_line("Hallo")
            .expect_line("")
            .send_line("A4 OK appended"),
    );
    let server = ScriptServer::start_seq(vec![script]);
    let conn = ImapConnection::connect(&scripted(&server).build().unwrap()).unwrap();
    assert!(!conn.utf8_names());
    let names: Vec<String> = conn
        .list_folders()
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["~peter/mail/台北/日本語", "Tom & Jerry"]);
    conn.select("~peter/mail/台北/日本語").unwrap();
    conn.append("Tom & Jerry", HEADERS_UTF8.as_bytes(), &[], None)
        .unwrap();
    log_out_and_check(conn, &server);
}

#[test]
fn switched_off_or_not_confirmed_keeps_modified_utf7() {
    // `utf8_accept(false)`: offered, but no ENABLE sent.
    let script = logout(
        login(UTF8_CAPS)
            .expect_line("A2 CREATE Entw&APw-rfe")
            .reply_tagged("OK created"),
    );
    let server = ScriptServer::start_seq(vec![script]);
    let conn =
        ImapConnection::connect(&scripted(&server).utf8_accept(false).build().unwrap()).unwrap();
    assert!(!conn.utf8_names());
    conn.create_folder("Entwürfe").unwrap();
    log_out_and_check(conn, &server);

    // ENABLE answered OK without `* ENABLED UTF8=ACCEPT` (RFC 5161 §3.1: not enabled),
    // then a NO: both leave modified UTF-7.
    for answer in [vec!["OK nothing enabled"], vec!["NO not now"]] {
        let mut script = login(UTF8_CAPS).expect_line("A2 ENABLE UTF8=ACCEPT");
        for line in answer {
            script = script.reply_tagged(line);
        }
        let script = logout(
            script
                .expect_line("A3 CREATE Entw&APw-rfe")
                .reply_tagged("OK created"),
        );
        let server = ScriptServer::start_seq(vec![script]);
        let conn = ImapConnection::connect(&scripted(&server).build().unwrap()).unwrap();
        assert!(!conn.utf8_names());
        conn.create_folder("Entwürfe").unwrap();
        log_out_and_check(conn, &server);
    }
}

#[test]
fn every_pooled_connection_enables_utf8_accept() {
    // Two connections of one pool: each sends its own ENABLE once, then its SELECT in UTF-8.
    let script = |_| {
        enable_utf8(login(UTF8_CAPS))
            .expect_line("A3 SELECT \"Entwürfe\"")
            .send_line("* 1 EXISTS")
            .reply_tagged("OK selected")
            .read_until_closed()
    };
    let server = ScriptServer::start(script);
    let config = scripted(&server).build().unwrap();
    let pool = ImapPool::with_options(PoolOptions::new().max_per_account(2)).unwrap();
    let a = pool.get(&config).unwrap();
    let b = pool.get(&config).unwrap();
    assert!(a.utf8_names() && b.utf8_names());
    a.select("Entwürfe").unwrap();
    b.select("Entwürfe").unwrap();
    drop((a, b));
    drop(pool);
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
    assert_eq!(server.connections(), 2);
}

#[test]
fn an_idle_listener_enables_utf8_accept_on_every_reconnect() {
    // The first connection is dropped while idling; the reconnect sends its own ENABLE
    // before opening the folder by its UTF-8 name again.
    let opened = |script: Script| {
        enable_utf8(login(&format!("{UTF8_CAPS} IDLE")))
            .expect(|l| l.contains("EXAMINE \"Entwürfe\""))
            .send_line("* 1 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .send_line("* OK [UIDNEXT 2] ok")
            .reply_tagged("OK [READ-ONLY] examined")
            .expect_contains("FETCH")
            .send_line("* 1 FETCH (UID 1)")
            .reply_tagged("OK fetched")
            .then(script)
    };
    let server = ScriptServer::start_seq(vec![
        opened(Script::new())
            .expect_contains("IDLE")
            .send_line("+ idling")
            .close(),
        opened(Script::new())
            .expect_contains("IDLE")
            .send_line("+ idling")
            .hang(),
    ]);
    let config = scripted(&server)
        .retry(RetryPolicy::new(3, Duration::from_millis(20)))
        .build()
        .unwrap();
    let listener = IdleListener::builder(config)
        .folder("Entwürfe")
        .spawn()
        .unwrap();
    let events = listener.events();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let mut reconnected = false;
    while !reconnected && std::time::Instant::now() < until {
        if let Ok(IdleEvent::Reconnected { .. }) = events.recv_timeout(Duration::from_millis(200)) {
            reconnected = true;
        }
    }
    assert!(reconnected, "no Reconnected within 20 s");
    // `Reconnected` comes after the catch-up, before the new IDLE: wait for it to be sent.
    server.wait_received(1, "IDLE", Duration::from_secs(10));
    listener.stop();
    assert!(server.errors().is_empty(), "{:?}", server.errors());
    for conn in 0..2 {
        let sent = server.received(conn);
        let enables = sent.iter().filter(|l| l.contains("ENABLE")).count();
        assert_eq!(enables, 1, "connection {conn}: {sent:?}");
    }
}

#[test]
fn dovecot_without_utf8_accept_sends_no_enable_and_round_trips_utf7_names() {
    capture::install();
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    let config = Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    assert!(
        !conn.has_capability("UTF8=ACCEPT"),
        "Dovecot 2.3 offers it now?"
    );
    assert!(!conn.utf8_names());
    let folder = "Entwürfe/台北 & Co";
    conn.create_folder(folder).unwrap();
    let message = b"From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n";
    conn.append(folder, message, &[], None).unwrap();
    let listed = conn.list_folders().unwrap();
    let found = listed.iter().find(|f| f.name == folder);
    let found = found.unwrap_or_else(|| panic!("{folder} not in {listed:?}"));
    assert_eq!(found.raw_name, b"Entw&APw-rfe/&U,BTFw- &- Co");
    assert_eq!(conn.select(folder).unwrap().exists, 1);
    assert_eq!(conn.folder_status(folder).unwrap().messages, Some(1));
    let prefix = format!("mailwire::wire [{}] C: ", conn.id());
    let sent: Vec<String> = capture::lines()
        .into_iter()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect();
    assert!(
        sent.iter()
            .any(|l| l.contains("LOGIN") || l.contains("AUTHENTICATE"))
    );
    assert!(!sent.iter().any(|l| l.contains("ENABLE")), "{sent:?}");
    conn.logout();
}
