//! Which pooled connection a caller may be handed, against the real Dovecot, for both
//! `ImapPool` and `Pop3Pool`.
//!
//! A pool tells two things apart: the *account* (host, port, user), whose connections share
//! the per-account limit, and the *reuse key* (everything that changes trust or behaviour:
//! credentials, root certificates, danger switches, limits, timeouts, …), which decides
//! which idle connection a caller may be handed. So:
//!
//! - a config trusting only an unrelated CA is never handed a connection verified under
//!   Dovecot's certificate: it connects itself and fails verification, as a direct connect
//!   does;
//! - a config with a small literal limit and a short read timeout never receives a
//!   connection built with the defaults: a 4 KiB message is refused on it;
//! - two configs of one account with `max_per_account(1)` block each other (one permit) but
//!   never share a connection: the second closes the first's idle connection and opens its
//!   own.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use mailwire::imap::{ImapPool, SearchQuery};
use mailwire::pool::PoolOptions;
use mailwire::pop3::{Pop3Options, Pop3Pool};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{Dovecot, User};

/// The certificate of a second, unrelated self-signed CA (generated once per process).
fn other_ca() -> &'static [u8] {
    static PEM: OnceLock<Vec<u8>> = OnceLock::new();
    PEM.get_or_init(|| {
        let dir = support::make_temp_dir("mw-ca-b-");
        support::remove_at_exit(&dir);
        support::certs::generate(&dir).cert_pem
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Proto {
    Imap,
    Pop3,
}

/// A config for `user` over implicit TLS, trusting `root`.
fn builder(dc: &Dovecot, user: &User, root: &[u8]) -> mailwire::ConfigBuilder {
    Config::builder(dc.host())
        .port(dc.imaps_port())
        .pop3_port(dc.pop3s_port())
        .security(Security::Tls)
        .add_root_certificate_pem(root.to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
}

fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: big enough\r\n\r\n".to_vec();
    while m.len() < size {
        m.extend_from_slice(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n");
    }
    m
}

/// What the tests need of either pool: check out, name the connection, fetch message 1.
trait TestPool {
    fn checkout(&self, config: &Config, wait: Duration) -> mailwire::Result<Box<dyn Checked>>;
    fn open(&self) -> usize;
}

trait Checked {
    fn id(&self) -> String;
    fn fetch_first(&self) -> mailwire::Result<usize>;
}

impl TestPool for ImapPool {
    fn checkout(&self, config: &Config, wait: Duration) -> mailwire::Result<Box<dyn Checked>> {
        Ok(Box::new(self.get_timeout(config, wait)?))
    }
    fn open(&self) -> usize {
        self.open_connections()
    }
}

impl Checked for mailwire::imap::PooledImap {
    fn id(&self) -> String {
        mailwire::imap::ImapConnection::id(self).to_string()
    }
    fn fetch_first(&self) -> mailwire::Result<usize> {
        let uids = self.search("INBOX", &SearchQuery::all())?;
        let uid = uids.first().expect("a seeded message");
        let m = self.fetch_message("INBOX", uid)?.expect("message 1 exists");
        Ok(m.raw().len())
    }
}

impl TestPool for Pop3Pool {
    fn checkout(&self, config: &Config, wait: Duration) -> mailwire::Result<Box<dyn Checked>> {
        Ok(Box::new(self.get_timeout(config, wait)?))
    }
    fn open(&self) -> usize {
        self.open_connections()
    }
}

impl Checked for mailwire::pop3::Pop3PoolGuard {
    fn id(&self) -> String {
        mailwire::pop3::Pop3Handler::id(self).to_string()
    }
    fn fetch_first(&self) -> mailwire::Result<usize> {
        Ok(self.fetch_message(1)?.raw().len())
    }
}

fn pool(proto: Proto, max_per_account: usize) -> Box<dyn TestPool> {
    let options = PoolOptions::new()
        .max_per_account(max_per_account)
        .get_timeout(Duration::from_secs(10));
    match proto {
        Proto::Imap => Box::new(ImapPool::with_options(options).unwrap()),
        Proto::Pop3 => Box::new(Pop3Pool::with_options(options, Pop3Options::default()).unwrap()),
    }
}

const WAIT: Duration = Duration::from_secs(10);

fn other_ca_is_never_handed_a_verified_connection(proto: Proto) {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[message(100)]);
    let trusts_dovecot = builder(dc, &user, dc.cert_pem()).build().unwrap();
    let trusts_other = builder(dc, &user, other_ca()).build().unwrap();
    // The control: a direct connect trusting only the other CA fails verification.
    let direct = match proto {
        Proto::Imap => mailwire::imap::ImapConnection::connect(&trusts_other).map(drop),
        Proto::Pop3 => mailwire::pop3::Pop3Handler::connect(&trusts_other).map(drop),
    };
    assert!(matches!(direct, Err(Error::Tls { .. })), "{direct:?}");

    for max_per_account in [1, 5] {
        let pool = pool(proto, max_per_account);
        let verified = pool.checkout(&trusts_dovecot, WAIT).unwrap();
        verified.fetch_first().unwrap();
        let verified_id = verified.id();
        drop(verified);
        assert_eq!(pool.open(), 1);
        match pool.checkout(&trusts_other, WAIT) {
            Err(Error::Tls { .. }) => {}
            Err(e) => panic!("max_per_account {max_per_account}: expected Error::Tls, got {e:?}"),
            Ok(c) => panic!(
                "max_per_account {max_per_account}: a config trusting only another CA was handed {} (verified connection {verified_id})",
                c.id()
            ),
        }
        // The verified config still works through the pool.
        pool.checkout(&trusts_dovecot, WAIT)
            .unwrap()
            .fetch_first()
            .unwrap();
    }
}

#[test]
fn imap_config_trusting_another_ca_is_not_handed_a_verified_connection() {
    other_ca_is_never_handed_a_verified_connection(Proto::Imap);
}

#[test]
fn pop3_config_trusting_another_ca_is_not_handed_a_verified_connection() {
    other_ca_is_never_handed_a_verified_connection(Proto::Pop3);
}

fn smaller_limits_never_get_a_connection_built_with_larger_ones(proto: Proto) {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[message(4096)]);
    let roomy = builder(dc, &user, dc.cert_pem())
        .timeouts(Duration::from_secs(3600))
        .build()
        .unwrap();
    let strict = builder(dc, &user, dc.cert_pem())
        .max_literal_size(1024)
        .read_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let pool = pool(proto, 5);
    let built_roomy = pool.checkout(&roomy, WAIT).unwrap();
    // The control: the defaults take the 4 KiB message.
    assert!(built_roomy.fetch_first().unwrap() >= 4096);
    let roomy_id = built_roomy.id();
    drop(built_roomy);
    let on_strict = pool.checkout(&strict, WAIT).unwrap();
    assert_ne!(
        on_strict.id(),
        roomy_id,
        "the strict config was handed the connection built with the defaults"
    );
    match on_strict.fetch_first() {
        Err(Error::LimitExceeded { .. }) => {}
        other => panic!("a 4 KiB message with max_literal_size 1024: {other:?}"),
    }
    drop(on_strict);
    // And the roomy config still reuses its own connection.
    assert_eq!(pool.checkout(&roomy, WAIT).unwrap().id(), roomy_id);
}

#[test]
fn imap_smaller_limits_never_get_a_connection_built_with_larger_ones() {
    smaller_limits_never_get_a_connection_built_with_larger_ones(Proto::Imap);
}

#[test]
fn pop3_smaller_limits_never_get_a_connection_built_with_larger_ones() {
    smaller_limits_never_get_a_connection_built_with_larger_ones(Proto::Pop3);
}

fn two_configs_of_one_account_share_the_permit_not_the_connection(proto: Proto) {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[message(100)]);
    let first = builder(dc, &user, dc.cert_pem()).build().unwrap();
    let second = builder(dc, &user, dc.cert_pem())
        .read_timeout(Duration::from_secs(9))
        .build()
        .unwrap();
    let pool = pool(proto, 1);
    let short = Duration::from_millis(300);

    let held = pool.checkout(&first, WAIT).unwrap();
    let first_id = held.id();
    match pool.checkout(&second, short) {
        Err(Error::PoolTimeout { .. }) => {}
        Err(e) => panic!("expected the second config to wait for the one permit: {e:?}"),
        Ok(c) => panic!("a second connection ({}) beyond max_per_account 1", c.id()),
    }
    drop(held);
    assert_eq!(pool.open(), 1);

    let held = pool.checkout(&second, WAIT).unwrap();
    let second_id = held.id();
    assert_ne!(
        second_id, first_id,
        "the second config was handed the first config's connection"
    );
    assert_eq!(
        pool.open(),
        1,
        "the first config's idle connection makes room"
    );
    held.fetch_first().unwrap();
    match pool.checkout(&first, short) {
        Err(Error::PoolTimeout { .. }) => {}
        Err(e) => panic!("expected the first config to wait for the one permit: {e:?}"),
        Ok(c) => panic!("a second connection ({}) beyond max_per_account 1", c.id()),
    }
    drop(held);
    let again = pool.checkout(&first, WAIT).unwrap();
    assert_ne!(again.id(), second_id);
    assert_ne!(again.id(), first_id, "the first connection was closed");
    assert_eq!(pool.open(), 1);
}

#[test]
fn imap_two_configs_of_one_account_share_the_permit_not_the_connection() {
    two_configs_of_one_account_share_the_permit_not_the_connection(Proto::Imap);
}

#[test]
fn pop3_two_configs_of_one_account_share_the_permit_not_the_connection() {
    two_configs_of_one_account_share_the_permit_not_the_connection(Proto::Pop3);
}

// -----------------------------------------------------------------------------------------
// The keys themselves (no server needed)
// -----------------------------------------------------------------------------------------

/// A base config and one variation per setting: each must get its own reuse key, and the
/// account key must change only with host, port and user.
#[test]
fn the_reuse_key_covers_every_setting_and_the_account_key_only_host_port_user() {
    use mailwire::pool::{AccountKey, ReuseKey};
    use mailwire::{Limits, Protocol, sasl::Mechanism};

    let ca_a = support::certs::test_cert().cert_pem.clone();
    let ca_b = other_ca().to_vec();
    let base = || {
        Config::builder("mail.example.org")
            .port(993)
            .pop3_port(995)
            .login("alice", "pw")
            .add_root_certificate_pem(ca_a.clone())
    };
    let reuse =
        |b: mailwire::ConfigBuilder| ReuseKey::for_config(&b.build().unwrap(), Protocol::Imap);
    let account =
        |b: mailwire::ConfigBuilder| AccountKey::for_config(&b.build().unwrap(), Protocol::Imap);
    let base_key = reuse(base());
    let base_account = account(base());
    // Equal settings, equal keys: connections are reused.
    assert_eq!(reuse(base()), base_key);
    assert_eq!(
        reuse(
            Config::builder("MAIL.example.ORG")
                .port(993)
                .pop3_port(995)
                .login("alice", "pw")
                .add_root_certificate_pem(ca_a.clone())
        ),
        base_key
    );
    // The same roots added in another order, or twice, trust the same.
    let both = |first: &[u8], second: &[u8]| {
        base()
            .add_root_certificate_pem(first.to_vec())
            .add_root_certificate_pem(second.to_vec())
    };
    assert_eq!(reuse(both(&ca_a, &ca_b)), reuse(both(&ca_b, &ca_a)));
    assert_eq!(
        reuse(base().add_root_certificate_pem(ca_a.clone())),
        base_key
    );

    let limits = Limits::default();
    let same_account: Vec<(&str, mailwire::ConfigBuilder)> = vec![
        ("password", base().login("alice", "pw2")),
        (
            "memory budget",
            base().memory_budget(&mailwire::MemoryBudget::new(1 << 30)),
        ),
        ("OAuth2 with the same secret", base().oauth2("alice", "pw")),
        ("auth mechanism", base().auth_mechanism(Mechanism::Plain)),
        ("UTF8=ACCEPT off", base().utf8_accept(false)),
        ("IMAP4rev2 on", base().imap4rev2(true)),
        ("security mode", base().security(Security::StartTls)),
        (
            "connect timeout",
            base().connect_timeout(Duration::from_secs(29)),
        ),
        ("read timeout", base().read_timeout(Duration::from_secs(29))),
        (
            "write timeout",
            base().write_timeout(Duration::from_secs(29)),
        ),
        (
            "max_line_length",
            base().max_line_length(limits.max_line_length - 1),
        ),
        (
            "max_literal_size",
            base().max_literal_size(limits.max_literal_size - 1),
        ),
        (
            "max_response_size",
            base().max_response_size(limits.max_response_size - 1),
        ),
        (
            "max_untagged responses",
            base().max_untagged(limits.max_untagged_responses - 1, limits.max_untagged_bytes),
        ),
        (
            "max_untagged bytes",
            base().max_untagged(limits.max_untagged_responses, limits.max_untagged_bytes - 1),
        ),
        (
            "max_listing_size",
            base().max_listing_size(limits.max_listing_size - 1),
        ),
        (
            "max_set_ranges",
            base().max_set_ranges(limits.max_set_ranges - 1),
        ),
        (
            "min_transfer_rate",
            base().min_transfer_rate(limits.min_transfer_rate + 1),
        ),
        (
            "another root of the same count",
            Config::builder("mail.example.org")
                .port(993)
                .login("alice", "pw")
                .add_root_certificate_pem(ca_b.clone()),
        ),
        (
            "one more root",
            base().add_root_certificate_pem(ca_b.clone()),
        ),
        (
            "no extra root",
            Config::builder("mail.example.org")
                .port(993)
                .login("alice", "pw"),
        ),
        (
            "TLS server name",
            base().tls_server_name("other.example.org"),
        ),
        (
            "danger_accept_invalid_certs",
            base().danger_accept_invalid_certs(true),
        ),
    ];
    let mut seen = vec![("base", base_key.clone())];
    for (what, builder) in same_account {
        let key = reuse(builder.clone());
        assert_eq!(
            account(builder),
            base_account,
            "{what} changed the account key"
        );
        for (other, other_key) in &seen {
            assert_ne!(&key, other_key, "{what} and {other} share a reuse key");
        }
        seen.push((what, key));
    }
    // Host, port and user change both keys.
    for (what, builder) in [
        (
            "host",
            Config::builder("mx.example.org")
                .port(993)
                .login("alice", "pw"),
        ),
        ("port", base().port(994)),
        ("user", base().login("bob", "pw")),
    ] {
        assert_ne!(account(builder.clone()), base_account, "{what}");
        assert_ne!(reuse(builder), base_key, "{what}");
    }
    // The protocol: POP3 on the same port is the same account, never the same connection.
    let shared_port = base().pop3_port(993).build().unwrap();
    assert_eq!(
        AccountKey::for_config(&shared_port, Protocol::Pop3),
        AccountKey::for_config(&shared_port, Protocol::Imap)
    );
    assert_ne!(
        ReuseKey::for_config(&shared_port, Protocol::Pop3),
        ReuseKey::for_config(&shared_port, Protocol::Imap)
    );
    // The POP3 port of a config is part of its POP3 keys only.
    let other_pop3_port = base().pop3_port(1995).build().unwrap();
    let base_config = base().build().unwrap();
    assert_eq!(
        ReuseKey::for_config(&other_pop3_port, Protocol::Imap),
        ReuseKey::for_config(&base_config, Protocol::Imap)
    );
    assert_ne!(
        ReuseKey::for_config(&other_pop3_port, Protocol::Pop3),
        ReuseKey::for_config(&base_config, Protocol::Pop3)
    );
    // The retry policy only decides how a connection is opened: configs that differ in it
    // alone share connections (how one call fails fast, `Config::with_retry`).
    for retry in [
        RetryPolicy::none(),
        RetryPolicy::new(4, Duration::from_secs(2)),
        RetryPolicy::default().with_max_delay(Duration::from_secs(31)),
        RetryPolicy::default().with_multiplier(3.0),
    ] {
        assert_eq!(reuse(base().retry(retry)), base_key, "{retry:?}");
        assert_eq!(
            ReuseKey::for_config(&base_config.with_retry(retry).unwrap(), Protocol::Imap),
            base_key,
            "{retry:?}"
        );
    }
}

#[test]
fn keys_never_show_the_secret_and_the_account_key_has_a_stable_form() {
    use mailwire::Protocol;
    use mailwire::pool::{AccountKey, ReuseKey};

    let config = Config::builder("Mail.Example.org")
        .login("bob@example.org", "s3cret-pw")
        .build()
        .unwrap();
    let account = AccountKey::for_config(&config, Protocol::Imap);
    let reuse = ReuseKey::for_config(&config, Protocol::Imap);
    for shown in [
        account.to_string(),
        format!("{account:?}"),
        reuse.to_string(),
        format!("{reuse:?}"),
    ] {
        assert!(
            !shown.contains("s3cret") && shown.contains("bob"),
            "{shown}"
        );
    }
    // The stable form: the same in every process (nothing random in it), read back exactly.
    assert_eq!(
        account.to_string(),
        "bob%40example.org@mail.example.org:993"
    );
    assert_eq!(account.to_string().parse::<AccountKey>().unwrap(), account);
    assert_eq!(reuse.account(), &account);
    let anonymous = Config::builder("mail.example.org").build().unwrap();
    assert_eq!(
        AccountKey::for_config(&anonymous, Protocol::Pop3).to_string(),
        "mail.example.org:995"
    );
}

mod stable_form {
    use mailwire::pool::AccountKey;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any user and host: the stable form is printable ASCII, parses back to the same
        /// key, and two different keys never share a form.
        #[test]
        fn round_trips(user in "\\PC{0,12}|[@%:a-z]{0,6}", host in "[a-z0-9.:@%-]{1,12}|\\PC{1,8}", port: u16,
                       other_user in "[@%a]{0,4}") {
            let key = AccountKey::new(host.clone(), port, user.clone());
            let form = key.to_string();
            prop_assert!(form.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{}", form);
            prop_assert_eq!(form.parse::<AccountKey>().unwrap(), key.clone());
            let other = AccountKey::new(host, port, other_user);
            prop_assert_eq!(other == key, other.to_string() == form);
        }
    }
}
