//! `ConfigBuilder::client_id` and `ConfigBuilder::on_connect` run on every IMAP connection
//! the library opens for a config: direct, pooled (incl. one replacing a kicked one) and an
//! IdleListener's reconnect, counted and seen in the real Dovecot's log (`imap_id_log`); a
//! hook's error (or panic) fails that connect; scripted servers for `ID` not offered (not
//! sent), the exact bytes of a hostile name, and names `build` refuses.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mailwire::imap::{ConnectionState, IdleEvent, IdleListener, ImapConnection, ImapPool};
use mailwire::{Config, ConfigBuilder, Credentials, Error, RetryPolicy, Security};
use support::dovecot::{Dovecot, User};
use support::script_server::{Script, ScriptServer};

/// One private Dovecot for this binary that logs every client's `ID` ("ID sent: …").
fn dovecot() -> Option<&'static Dovecot> {
    static DC: OnceLock<Option<Dovecot>> = OnceLock::new();
    DC.get_or_init(|| support::dovecot::start_with_config("imap_id_log = *"))
        .as_ref()
}

fn builder(dc: &Dovecot, user: &User) -> ConfigBuilder {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .credentials(Credentials::Password {
            user: user.name.clone(),
            password: user.password.clone(),
        })
        .timeouts(Duration::from_secs(10))
        .retry(
            RetryPolicy::new(3, Duration::from_millis(200)).with_max_delay(Duration::from_secs(1)),
        )
}

/// A config whose hook counts its calls and then runs `body` with the call's number (from
/// 0) on the new connection; with a client ID naming the user so that the log can be
/// searched for it.
fn hooked(
    dc: &Dovecot,
    user: &User,
    body: impl Fn(usize, &ImapConnection) -> mailwire::Result<()> + Send + Sync + 'static,
) -> (Config, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let config = builder(dc, user)
        .client_id(format!("hooks-{}", user.name), "1.2.3")
        .on_connect(move |conn| body(counter.fetch_add(1, Ordering::SeqCst), conn))
        .build()
        .unwrap();
    (config, calls)
}

/// [`hooked`] with a hook that checks that it runs on a logged-in connection with no folder
/// selected yet (before an IdleListener opens its folder).
fn counted(dc: &Dovecot, user: &User) -> (Config, Arc<AtomicUsize>) {
    hooked(dc, user, |_, conn| {
        if conn.state() != ConnectionState::Authenticated {
            return Err(Error::InvalidInput {
                what: "the test's hook".into(),
                reason: format!("ran in state {}", conn.state()),
            });
        }
        conn.noop()
    })
}

/// How many times Dovecot logged the ID `name` (one line per connection that sent it).
fn ids_logged(dc: &Dovecot, name: &str) -> usize {
    let log = std::fs::read_to_string(dc.dir().join("log/dovecot.log")).unwrap_or_default();
    let needle = format!("ID sent: name={name}, version=1.2.3");
    log.lines().filter(|l| l.contains(&needle)).count()
}

/// Waits (generously bounded) until `done` holds.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < until, "{what}: not within 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_hook_and_the_id_run_on_direct_and_pooled_connections() {
    let Some(dc) = dovecot() else {
        return;
    };
    let user = dc.add_user();
    let (config, calls) = counted(dc, &user);
    let name = format!("hooks-{}", user.name);

    let direct = ImapConnection::connect(&config).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    direct.logout();

    // Three pooled connections at once: three new connections, three hook calls.
    let pool = ImapPool::new().unwrap();
    let held: Vec<_> = (0..3).map(|_| pool.get(&config).unwrap()).collect();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    drop(held);
    // Reusing an idle connection opens none: no call.
    pool.get(&config).unwrap().noop().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(pool.stats_for(&config).created, 3);

    // The server drops them all; the pool replaces them with a new one, which runs the hook.
    dc.kick(&user.name);
    pool.get(&config).unwrap().noop().unwrap();
    assert_eq!(pool.stats_for(&config).created, 4);
    assert_eq!(calls.load(Ordering::SeqCst), 5);

    // Dovecot saw the ID on each of the five (its log is written asynchronously).
    wait_until("five IDs in Dovecot's log", || ids_logged(dc, &name) >= 5);
    assert_eq!(ids_logged(dc, &name), 5, "{}", dc.log_tail(40));
}

#[test]
fn the_hook_and_the_id_run_on_an_idle_listeners_reconnect() {
    let Some(dc) = dovecot() else {
        return;
    };
    let user = dc.add_user();
    let (config, calls) = counted(dc, &user);
    let name = format!("hooks-{}", user.name);
    let listener = IdleListener::builder(config).spawn().unwrap();
    let events = listener.events();
    wait_until("the listener's first connection", || {
        calls.load(Ordering::SeqCst) == 1 && dc.connections(&user.name) > 0
    });

    dc.kick(&user.name);
    let until = Instant::now() + Duration::from_secs(20);
    let mut reconnected = 0;
    while reconnected == 0 && Instant::now() < until {
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(IdleEvent::Reconnected { .. }) => reconnected += 1,
            // The kick itself is reported (`BYE`); a failed reconnect would be another error.
            Ok(IdleEvent::Error(e)) => assert!(
                matches!(*e, Error::Closed { .. }),
                "an error other than the kick reached the caller: {e:?}"
            ),
            _ => {}
        }
    }
    assert_eq!(reconnected, 1, "no Reconnected within 20 s");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(listener.is_running());
    listener.stop();
    wait_until("two IDs in Dovecot's log", || ids_logged(dc, &name) >= 2);
    assert_eq!(ids_logged(dc, &name), 2, "{}", dc.log_tail(40));
}

#[test]
fn a_hook_failing_on_a_listeners_reconnect_stops_the_listener_with_its_error() {
    let Some(dc) = dovecot() else {
        return;
    };
    let user = dc.add_user();
    let (config, calls) = hooked(dc, &user, |call, _| match call {
        0 => Ok(()),
        _ => Err(hook_error()),
    });
    let listener = IdleListener::builder(config).spawn().unwrap();
    let events = listener.events();
    dc.kick(&user.name);
    let until = Instant::now() + Duration::from_secs(20);
    let (mut hook_errors, mut stopped) = (0, false);
    while !stopped && Instant::now() < until {
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(IdleEvent::Error(e)) if is_hook_error(&e) => hook_errors += 1,
            Ok(IdleEvent::Reconnected { .. }) => panic!("reconnected although the hook failed"),
            Ok(IdleEvent::Stopped) => stopped = true,
            _ => {}
        }
    }
    assert!(stopped, "the listener did not stop within 20 s");
    assert_eq!(hook_errors, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // `Stopped` is sent just before the thread ends.
    wait_until("the listener's thread to end", || !listener.is_running());
}

/// The error the failing hook returns (not transient: no retry).
fn hook_error() -> Error {
    Error::InvalidInput {
        what: "namespace".into(),
        reason: "the setup found no shared namespace".into(),
    }
}

fn is_hook_error(e: &Error) -> bool {
    matches!(e, Error::InvalidInput { what, reason }
        if what == "namespace" && reason == "the setup found no shared namespace")
}

#[test]
fn a_hooks_error_fails_the_connect_with_that_error() {
    let Some(dc) = dovecot() else {
        return;
    };
    let user = dc.add_user();
    let (config, calls) = hooked(dc, &user, |_, _| Err(hook_error()));
    match ImapConnection::connect(&config) {
        Err(e) => assert!(is_hook_error(&e), "got another error: {e:?}"),
        Ok(_) => panic!("connect succeeded although the hook failed"),
    }
    let pool = ImapPool::new().unwrap();
    match pool.get(&config) {
        Err(e) => assert!(is_hook_error(&e), "got another error: {e:?}"),
        Ok(_) => panic!("pool get succeeded although the hook failed"),
    }
    // Not transient: each connect ran the hook once; the pool kept nothing open.
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(pool.open_connections(), 0);
    // The library closed both connections.
    wait_until("the server to see both connections closed", || {
        dc.connections(&user.name) == 0
    });

    // A panicking hook fails the connect with an error naming the hook.
    let config = builder(dc, &user)
        .on_connect(|_| panic!("the caller's bug"))
        .build()
        .unwrap();
    match ImapConnection::connect(&config) {
        Err(Error::InvalidInput { what, .. }) => assert_eq!(what, "on_connect hook"),
        Err(e) => panic!("expected InvalidInput, got {e:?}"),
        Ok(_) => panic!("connect succeeded although the hook panicked"),
    }
}

#[test]
fn a_hooks_transient_error_is_retried_per_the_retry_policy() {
    let Some(dc) = dovecot() else {
        return;
    };
    let user = dc.add_user();
    let (config, calls) = hooked(dc, &user, |call, _| match call {
        0 => Err(Error::Closed {
            context: "while the setup ran".into(),
        }),
        _ => Ok(()),
    });
    ImapConnection::connect(&config).unwrap().noop().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

// ---- scripted servers: ID not offered, the exact bytes of a hostile name, refused names ----

fn scripted(port: u16) -> ConfigBuilder {
    Config::builder("127.0.0.1")
        .port(port)
        .security(Security::Plain)
        .login("alice", "pw")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
}

/// Connects with `client_id(name, version)` to a server offering `caps` that runs `id` (the
/// steps for what follows the login) before the caller's `NOOP` and `LOGOUT`; the scripts
/// all passed.
fn connect_scripted(caps: &'static str, id: Script, name: &str, version: &str) -> ScriptServer {
    let server = ScriptServer::start(move |_| {
        Script::new()
            .send_line(&format!("* OK [CAPABILITY {caps}] scripted"))
            .expect_contains("LOGIN alice pw")
            .reply_tagged(&format!("OK [CAPABILITY {caps}] logged in"))
            .then(id.clone())
            .expect_contains("NOOP")
            .reply_tagged("OK done")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close()
    });
    let config = scripted(server.port())
        .client_id(name, version)
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    conn.noop().unwrap();
    conn.logout();
    server.assert_ok();
    server
}

#[test]
fn client_id_is_not_sent_when_the_server_does_not_offer_id() {
    // Nothing between the login and the caller's NOOP.
    let server = connect_scripted("IMAP4rev1", Script::new(), "my-service", "1.0");
    assert!(
        !server.received(0).iter().any(|l| l.contains(" ID ")),
        "{:?}",
        server.received(0)
    );
}

#[test]
fn client_id_escapes_quotes_and_backslashes() {
    let id = Script::new()
        .expect(|l| {
            l.ends_with(r#" ID ("name" "my \"quoted\" \\ service" "version" "1.0 \"beta\"")"#)
        })
        .send_line(r#"* ID ("name" "scripted" "version" "9")"#)
        .reply_tagged("OK ID completed");
    connect_scripted(
        "IMAP4rev1 ID",
        id,
        r#"my "quoted" \ service"#,
        r#"1.0 "beta""#,
    );
}

#[test]
fn a_refused_id_is_not_an_error() {
    let id = Script::new()
        .expect_contains(r#" ID ("name" "my-service" "version" "1.0")"#)
        .reply_tagged("NO not today");
    connect_scripted("IMAP4rev1 ID", id, "my-service", "1.0");
}

#[test]
fn build_refuses_a_client_id_that_could_break_the_command() {
    for (name, version) in [
        ("evil\r\nA1 DELETE INBOX", "1.0"),
        ("name", "1.0\n"),
        ("nul\0", "1.0"),
        ("tab\t", "1.0"),
        ("", "1.0"),
        ("name", ""),
    ] {
        match Config::builder("imap.example.com")
            .client_id(name, version)
            .build()
        {
            Err(Error::InvalidInput { what, .. }) => assert!(what.starts_with("client_id")),
            other => panic!("{name:?} / {version:?}: expected InvalidInput, got {other:?}"),
        }
    }
    let long = "x".repeat(1025);
    assert!(
        Config::builder("imap.example.com")
            .client_id(long.as_str(), "1")
            .build()
            .is_err()
    );
    let most = "x".repeat(1024);
    let config = Config::builder("imap.example.com")
        .client_id(most.as_str(), "1")
        .build()
        .unwrap();
    assert_eq!(config.client_id(), Some((most.as_str(), "1")));
}

#[test]
fn the_pools_reuse_key_tells_hooks_and_ids_apart() {
    let pool = ImapPool::new().unwrap();
    let base = || Config::builder("imap.example.com").login("alice", "pw");
    let plain = base().build().unwrap();
    let with_hook = base().on_connect(|_| Ok(()));
    let hooked = with_hook.clone().build().unwrap();
    let key = |c: &Config| pool.reuse_key_for(c);
    // One hook (a clone of the config or of its builder): one identity.
    assert_eq!(key(&hooked), key(&hooked.clone()));
    assert_eq!(key(&hooked), key(&with_hook.build().unwrap()));
    // A connection set up by another hook, or none, or with another ID, is never handed out.
    assert_ne!(key(&plain), key(&hooked));
    assert_ne!(
        key(&hooked),
        key(&base().on_connect(|_| Ok(())).build().unwrap())
    );
    let id = |name: &str| base().client_id(name, "1").build().unwrap();
    assert_ne!(key(&plain), key(&id("svc")));
    assert_ne!(key(&id("svc")), key(&id("other")));
    assert_eq!(key(&id("svc")), key(&id("svc")));
    // Still one account: they share its connection limit.
    assert_eq!(pool.key_for(&plain), pool.key_for(&hooked));
}
