//! The resolve and TCP connect steps against real sockets: happy eyeballs past a blackholed
//! first address to the real Dovecot, `ConfigBuilder::resolve` for a made-up host name (a
//! real login, the certificate still checked against the name), every address failing
//! named in the error, and an all-blackholed race held to the connect deadline.
//!
//! A blackhole (tests/support/blackhole.rs) is a loopback listener whose accept queue is
//! full and never drained: Linux then drops new SYNs, so a connect to it hangs as one to a
//! dead route does. Where such a listener cannot be made (another OS, `tcp_abort_on_overflow`), the tests that need it
//! print `SKIP:` and pass, unless `MAILWIRE_REQUIRE_SERVERS=1`.

#[path = "support/blackhole.rs"]
mod blackhole;
mod support;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use blackhole::blackhole;
use mailwire::imap::ImapConnection;
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot};

/// The connect timeout of these tests: a blackhole that ate it would show.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A made-up host name: only `ConfigBuilder::resolve` can make it reach anything.
const MADE_UP_HOST: &str = "imap.mailwire-connect.invalid";

/// A port on 127.0.0.1 nothing listens on (connects are refused at once).
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// IMAPS to the made-up host, resolved to `addrs`, logging in as a fresh user of `dc`.
fn config_via(dc: &Dovecot, addrs: &[SocketAddr]) -> Config {
    let user = dc.add_user();
    Config::builder(MADE_UP_HOST)
        .port(dc.imaps_port())
        .security(Security::Tls)
        .resolve(MADE_UP_HOST, addrs.iter().copied())
        // The test certificate names localhost and 127.0.0.1, not the made-up host.
        .tls_server_name("localhost")
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(CONNECT_TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn dovecot_imaps(dc: &Dovecot) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], dc.imaps_port()))
}

#[test]
fn a_blackholed_first_address_does_not_eat_the_connect_timeout() {
    let Some(dc) = dovecot::shared() else { return };
    let Some(hole) = blackhole() else { return };
    let config = config_via(dc, &[hole.addr, dovecot_imaps(dc)]);
    let started = Instant::now();
    let conn = ImapConnection::connect(&config).unwrap();
    let took = started.elapsed();
    conn.select("INBOX").unwrap();
    conn.logout();
    assert!(
        took < CONNECT_TIMEOUT / 2,
        "connecting past the blackhole took {took:?}"
    );
}

#[test]
fn a_resolve_override_reaches_a_made_up_host_and_keeps_its_tls_name() {
    let Some(dc) = dovecot::shared() else { return };
    // Port 0: the config's port (IMAPS here) is used.
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = config_via(dc, &[any_port]);
    let conn = ImapConnection::connect(&config).unwrap();
    conn.select("INBOX").unwrap();
    conn.logout();

    // Without the server-name override the certificate is checked against the made-up
    // host, never against the address (which the test certificate does name).
    let user = dc.add_user();
    let strict = Config::builder(MADE_UP_HOST)
        .port(dc.imaps_port())
        .resolve(MADE_UP_HOST, [any_port])
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(CONNECT_TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = ImapConnection::connect(&strict).err();
    assert!(matches!(err, Some(Error::Tls { .. })), "{err:?}");
}

#[test]
fn when_every_address_fails_the_error_names_each() {
    let (a, b) = (closed_port(), closed_port());
    let config = Config::builder(MADE_UP_HOST)
        .resolve(MADE_UP_HOST, [a, b])
        .login("nobody", "nothing")
        .timeouts(CONNECT_TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = ImapConnection::connect(&config).err().unwrap();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(err.is_transient());
    let text = err.to_string();
    assert!(
        text.contains(&a.to_string()) && text.contains(&b.to_string()),
        "{text}"
    );
    // Refused at once: no address waited for the whole timeout.
    assert!(started.elapsed() < CONNECT_TIMEOUT / 2);
}

#[test]
fn an_all_blackholed_race_ends_at_the_connect_deadline() {
    let (Some(one), Some(two)) = (blackhole(), blackhole()) else {
        return;
    };
    let timeout = Duration::from_secs(2);
    let config = Config::builder(MADE_UP_HOST)
        .resolve(MADE_UP_HOST, [one.addr, two.addr])
        .login("nobody", "nothing")
        .connect_timeout(timeout)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = ImapConnection::connect(&config).err().unwrap();
    let took = started.elapsed();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    let text = err.to_string();
    assert!(
        text.contains(&one.addr.to_string()) && text.contains(&two.addr.to_string()),
        "{text}"
    );
    // Held to the deadline, bounded generously.
    assert!(took < timeout + Duration::from_secs(8), "took {took:?}");
}
