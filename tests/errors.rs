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
    dc.seed(
        &u.name,
        "INBOX",
        &[b"Subject: one\r\n\r\nbody\r\n".as_slice()],
    );
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
        (
            "move to",
            conn.move_messages("INBOX", &[1], missing).map(drop),
        ),
        (
            "search",
            conn.search(missing, &mailwire::imap::SearchQuery::all())
                .map(drop),
        ),
        ("delete_folder", conn.delete_folder(missing).map(drop)),
        (
            "rename_folder",
            conn.rename_folder(missing, "Elsewhere").map(drop),
        ),
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
        (
            "rename INBOX to INBOX",
            conn.rename_folder("INBOX", "INBOX"),
        ),
    ];
    for (call, result) in refusals {
        let e = result.expect_err(call);
        println!("{call}: {e:?}");
        assert!(!e.is_missing_folder(), "{call}: {e:?}");
        assert!(matches!(e, Error::Server { .. }), "{call}: {e:?}");
    }
    conn.logout();
}

fn scripted(port: u16, read_timeout: Duration) -> Config {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(read_timeout)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn logged_in() -> Script {
    Script::new()
        .send_line("* OK [CAPABILITY IMAP4rev1] scripted")
        .expect_contains("LOGIN user")
        .reply_tagged("OK [CAPABILITY IMAP4rev1] logged in")
}

/// A server that sends `[NONEXISTENT]`: the code says it, no LIST is sent. One that sends a
/// bare `NO`: the LIST of the exact name decides (a listed name that is only a pattern
/// match, or `\NonExistent`, is not the folder).
#[test]
fn scripted_nonexistent_code_and_bare_no_confirmed_by_list() {
    let server = ScriptServer::start_seq(vec![
        logged_in()
            .expect_contains("SELECT Archive")
            .reply_tagged("NO [NONEXISTENT] Unknown Mailbox: Archive (Failure)")
            .expect_contains("STATUS Archive")
            .reply_tagged("NO Mailbox does not exist")
            .expect_contains("LIST \"\" Archive")
            .send_line("* LIST (\\NonExistent) \"/\" Archive")
            .reply_tagged("OK listed")
            .expect_contains("SELECT \"Arch%\"")
            .reply_tagged("NO no such thing")
            .expect_contains("LIST \"\" Arch%")
            .send_line("* LIST () \"/\" Archives")
            .reply_tagged("OK listed")
            .expect_contains("SELECT Sent")
            .reply_tagged("NO [ALERT] Permission denied")
            .expect_contains("LIST \"\" Sent")
            .send_line("* LIST () \"/\" Sent")
            .reply_tagged("OK listed")
            .expect_contains("SELECT Drafts")
            .reply_tagged("NO [NOPERM] Permission denied")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let conn = ImapConnection::connect(&scripted(server.port(), Duration::from_secs(5))).unwrap();
    match conn.select("Archive") {
        Err(e @ Error::MissingFolder { .. }) => {
            assert!(e.is_missing_folder());
            let Error::MissingFolder { code, command, .. } = &e else {
                unreachable!()
            };
            assert_eq!(code.as_deref(), Some("NONEXISTENT"));
            assert_eq!(command, "SELECT");
        }
        other => panic!("{other:?}"),
    }
    let status = conn.folder_status("Archive").unwrap_err();
    assert!(status.is_missing_folder(), "{status:?}");
    let pattern = conn.select("Arch%").unwrap_err();
    assert!(pattern.is_missing_folder(), "{pattern:?}");
    // Listed as it is named: it exists, the refusal is another one.
    let denied = conn.select("Sent").unwrap_err();
    assert!(!denied.is_missing_folder(), "{denied:?}");
    assert!(matches!(denied, Error::Server { .. }), "{denied:?}");
    // A code that explains the refusal: no LIST.
    let noperm = conn.select("Drafts").unwrap_err();
    assert!(!noperm.is_missing_folder(), "{noperm:?}");
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

/// A plaintext `Security` against a port that speaks TLS from the first byte.
fn plain_on(dc: &Dovecot, u: &User, security: Security, imap_port: u16, pop3_port: u16) -> Config {
    Config::builder("127.0.0.1")
        .port(imap_port)
        .pop3_port(pop3_port)
        .security(security)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::default())
        .build()
        .unwrap()
}

/// The error of a plaintext connect to an implicit-TLS port: non-transient `InvalidInput`
/// naming the fix, long before the 30 s read timeout (under half of it), not retried.
fn assert_tls_port_error(what: &str, started: Instant, result: mailwire::Result<()>, port: &str) {
    let took = started.elapsed();
    println!("{what}: failed after {took:?}: {result:?}");
    let e = result.expect_err(what);
    assert!(took < Duration::from_secs(15), "{what}: took {took:?}");
    assert!(!e.is_transient(), "{what}: {e:?}");
    assert_eq!(e.retry_hint(), mailwire::Retry::Never, "{what}");
    match &e {
        Error::InvalidInput {
            what: field,
            reason,
        } => {
            assert_eq!(field, "security setting");
            assert!(reason.contains("Security::Tls"), "{reason}");
            assert!(reason.contains(port), "{reason}");
            assert!(reason.contains("implicit TLS"), "{reason}");
        }
        other => panic!("{what}: {other:?}"),
    }
}

#[test]
fn plaintext_security_on_the_implicit_tls_ports_is_a_configuration_error() {
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    for security in [Security::Plain, Security::StartTls] {
        let cfg = plain_on(dc, &u, security, dc.imaps_port(), dc.pop3s_port());
        let started = Instant::now();
        let imap = ImapConnection::connect(&cfg).map(drop);
        assert_tls_port_error(&format!("IMAP {security:?}"), started, imap, "993");
        let started = Instant::now();
        let pop3 = mailwire::pop3::Pop3Handler::connect(&cfg).map(drop);
        assert_tls_port_error(&format!("POP3 {security:?}"), started, pop3, "995");
    }
    // The plaintext ports still connect (the probe is never sent to a server that greets).
    let cfg = plain_on(dc, &u, Security::StartTls, dc.imap_port(), dc.pop3_port());
    ImapConnection::connect(&cfg).unwrap().logout();
    mailwire::pop3::Pop3Handler::connect(&cfg).unwrap();
}

/// A plaintext server that never greets still times out (transient, as before the probe):
/// silence after the probe is no proof of TLS.
#[test]
fn a_silent_plaintext_server_still_times_out_transient() {
    let server = ScriptServer::start(|_| Script::new().read_until_closed());
    let started = Instant::now();
    let e = ImapConnection::connect(&scripted(server.port(), Duration::from_secs(3))).unwrap_err();
    println!("silent server: {e:?} after {:?}", started.elapsed());
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.is_transient());
    assert!(started.elapsed() < Duration::from_secs(20));
    // The probe went out after the quiet time, and nothing else.
    assert_eq!(server.received(0), vec!["P0 NOOP".to_string()]);
}

/// A plaintext server that greets only after the quiet time: the probe reaches it as a
/// command after the greeting, and its answer is read and dropped (IMAP and POP3).
#[test]
fn a_late_greeting_is_still_a_working_connection() {
    let late = Duration::from_millis(2500);
    let server = ScriptServer::start(move |_| {
        Script::new()
            .sleep(late)
            .send_line("* OK [CAPABILITY IMAP4rev1] slow")
            .expect_line("P0 NOOP")
            .send_line("P0 OK NOOP completed")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1] logged in")
            .expect_contains("NOOP")
            .reply_tagged("OK noop")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close()
    });
    let conn = ImapConnection::connect(&scripted(server.port(), Duration::from_secs(10))).unwrap();
    conn.noop().unwrap();
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();

    let pop3 = ScriptServer::start(move |_| {
        Script::new()
            .sleep(late)
            .send_line("+OK slow POP3")
            .expect_line("NOOP")
            .send_line("-ERR not in this state")
            .expect_line("CAPA")
            .send_line("+OK")
            .send_line("USER")
            .send_line(".")
            .expect_line("USER user")
            .send_line("+OK")
            .expect_line("PASS secret")
            .send_line("+OK logged in")
            .expect_line("CAPA")
            .send_line("+OK")
            .send_line("USER")
            .send_line(".")
            .expect_line("STAT")
            .send_line("+OK 0 0")
            .expect_line("QUIT")
            .send_line("+OK bye")
            .close()
    });
    let cfg = Config::builder("127.0.0.1")
        .pop3_port(pop3.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let handler = mailwire::pop3::Pop3Handler::connect_with(
        &cfg,
        mailwire::pop3::Pop3Options::new().login_method(mailwire::pop3::LoginMethod::UserPass),
    )
    .unwrap();
    assert_eq!(handler.stat().unwrap().count, 0);
    handler.quit().unwrap();
    assert!(pop3.wait_done(Duration::from_secs(5)));
    pop3.assert_ok();
}

/// A TLS server that answers the probe with an alert record (as OpenSSL may: `0x15 0x03 …`,
/// protocol_version) is recognised as well as one that hangs up.
#[test]
fn a_tls_alert_in_answer_to_the_probe_is_the_configuration_error() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .expect_line("P0 NOOP")
            .send([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])
            .read_until_closed()
    });
    let started = Instant::now();
    let cfg = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::default())
        .build()
        .unwrap();
    let result = ImapConnection::connect(&cfg).map(drop);
    assert_tls_port_error("alert", started, result, "993");
    // Not retried (the default policy retries transient errors): one connection.
    assert_eq!(server.connections(), 1);
}

/// How the built-in connect retries compose with the caller's loop: with the default
/// policy one handler call against a server that is down makes three attempts (and holds
/// the worker for the delays between them); `with_retry(RetryPolicy::none())` makes one.
#[test]
fn one_call_fails_fast_with_retry_none_and_the_default_policy_tries_three_times() {
    use mailwire::imap::ImapHandler;
    // Down: nothing listens on the port.
    let down_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let account = |port| {
        Config::builder("127.0.0.1")
            .port(port)
            .security(Security::Plain)
            .login("user", "secret")
            .timeouts(Duration::from_secs(5))
            .build()
            .unwrap()
    };
    let handler = ImapHandler::new().unwrap();
    let started = Instant::now();
    let e = handler
        .folder_status(&account(down_port), "INBOX")
        .unwrap_err();
    let default_held = started.elapsed();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    let started = Instant::now();
    let fast = account(down_port).with_retry(RetryPolicy::none()).unwrap();
    let e = handler.folder_status(&fast, "INBOX").unwrap_err();
    let fast_held = started.elapsed();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(matches!(e.retry_hint(), mailwire::Retry::After(_)), "{e:?}");
    println!(
        "bench: a handler call with the server down (connection refused) held the worker {default_held:?} with the default policy, {fast_held:?} with RetryPolicy::none()"
    );

    // Counted on a server that accepts and hangs up before the greeting (transient).
    let hangs_up = ScriptServer::start(|_| Script::new().close());
    let e = handler
        .folder_status(&account(hangs_up.port()), "INBOX")
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(
        hangs_up.connections(),
        3,
        "the default policy: three attempts"
    );
    let fast = account(hangs_up.port())
        .with_retry(RetryPolicy::none())
        .unwrap();
    let e = handler.folder_status(&fast, "INBOX").unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(
        hangs_up.connections(),
        4,
        "RetryPolicy::none(): one attempt"
    );
    // An invalid policy is refused like the builder refuses it.
    assert!(matches!(
        account(down_port).with_retry(RetryPolicy::new(0, Duration::from_secs(1))),
        Err(Error::InvalidInput { .. })
    ));
}

/// A fail-fast config shares the account's pooled connections: the call takes the idle one
/// the default config left (no second connection is opened).
#[test]
fn a_fail_fast_call_reuses_the_pooled_connection() {
    use mailwire::imap::ImapHandler;
    let Some(dc) = dc() else { return };
    let u = dc.add_user();
    let account = imaps(dc, &u).with_retry(RetryPolicy::default()).unwrap();
    let handler = ImapHandler::new().unwrap();
    handler.folder_status(&account, "INBOX").unwrap();
    let fast = account.with_retry(RetryPolicy::none()).unwrap();
    handler.folder_status(&fast, "INBOX").unwrap();
    let stats = handler.stats(&account);
    assert_eq!(stats.created, 1, "{stats:?}");
    assert_eq!(handler.stats(&fast).created, 1);
}

/// A plaintext server that closes a while after the probe (a server in trouble, not a TLS
/// server, which answers at once) is the usual transient `Closed`, retried.
#[test]
fn a_late_close_after_the_probe_is_still_transient() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .expect_line("P0 NOOP")
            .sleep(Duration::from_millis(2500))
            .close()
    });
    let e = ImapConnection::connect(&scripted(server.port(), Duration::from_secs(30))).unwrap_err();
    assert!(matches!(e, Error::Closed { .. }), "{e:?}");
    assert!(e.is_transient());
}
