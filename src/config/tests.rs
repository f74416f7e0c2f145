//! Unit tests of building and validating a [`Config`](super::Config); compiled only under
//! #[cfg(test)] (declared so in src/config/mod.rs).

use super::*;
use crate::error::Error;

fn invalid(b: ConfigBuilder) -> String {
    match b.build() {
        Err(Error::InvalidInput { what, reason }) => format!("{what}: {reason}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn defaults() {
    let c = Config::builder("mail.example.org").build().unwrap();
    assert_eq!(c.port(Protocol::Imap), 993);
    assert_eq!(c.port(Protocol::Pop3), 995);
    assert_eq!(c.read_timeout(), Duration::from_secs(30));
    assert_eq!(c.connect_timeout(), Duration::from_secs(30));
    assert_eq!(c.write_timeout(), Duration::from_secs(30));
    assert_eq!(c.retry().max_attempts, 3);
    assert_eq!(c.security(), Security::Tls);
    assert!(!c.danger_accepts_invalid_certs());
    let s = Config::builder("h")
        .security(Security::StartTls)
        .build()
        .unwrap();
    assert_eq!((s.port(Protocol::Imap), s.port(Protocol::Pop3)), (143, 110));
    let p = Config::builder("h")
        .security(Security::Plain)
        .port(1143)
        .pop3_port(1110)
        .build()
        .unwrap();
    assert_eq!(
        (p.port(Protocol::Imap), p.port(Protocol::Pop3)),
        (1143, 1110)
    );
}

#[test]
fn a_larger_literal_limit_raises_the_response_limit() {
    let config = Config::builder("h")
        .max_literal_size(1 << 30)
        .build()
        .unwrap();
    assert_eq!(config.limits().max_response_size, 1 << 30);
    let config = Config::builder("h")
        .max_response_size(1 << 20)
        .max_literal_size(1 << 22)
        .build()
        .unwrap();
    assert_eq!(
        config.limits().max_response_size,
        1 << 20,
        "chosen: it stands"
    );
    let config = Config::builder("h")
        .max_response_size(1 << 20)
        .build()
        .unwrap();
    assert_eq!(config.limits().max_response_size, 1 << 20);
}

#[test]
fn rejects_bad_settings() {
    assert!(invalid(Config::builder("")).starts_with("host"));
    assert!(invalid(Config::builder("  ")).starts_with("host"));
    assert!(invalid(Config::builder("a b")).starts_with("host"));
    assert!(invalid(Config::builder("h").port(0)).starts_with("port"));
    assert!(invalid(Config::builder("h").read_timeout(Duration::ZERO)).starts_with("read timeout"));
    assert!(
        invalid(Config::builder("h").retry(RetryPolicy::new(0, Duration::ZERO)))
            .starts_with("retry")
    );
    assert!(
        invalid(Config::builder("h").retry(RetryPolicy::default().with_multiplier(f64::NAN)))
            .starts_with("retry")
    );
    assert!(invalid(Config::builder("h").max_line_length(10)).starts_with("max_line_length"));
    assert!(invalid(Config::builder("h").login("", "pw")).starts_with("user name"));
    assert!(invalid(Config::builder("h").login("u", "p\r\nw")).starts_with("password"));
    assert!(
        invalid(Config::builder("h").add_root_certificate_pem("not pem"))
            .starts_with("root certificate")
    );
    // The name goes into the TLS handshake and the OAUTHBEARER `host=` field.
    for name in ["", " ", "a b", "a\x01host=evil", "a\x1b[2J"] {
        assert!(
            invalid(Config::builder("h").tls_server_name(name)).starts_with("TLS server name"),
            "{name:?}"
        );
    }
}

#[test]
fn oauth2_refuses_control_bytes_in_user_and_token() {
    // `\x01` separates the fields of XOAUTH2 / OAUTHBEARER: one in the user name or the
    // token would let it add or change fields (`auth=`, `host=`).
    for bad in ["\x01", "\x00", "\x1b", "\t", "\x7f", "\r", "\n"] {
        let user = format!("alice{bad}auth=Bearer forged");
        assert!(
            invalid(Config::builder("h").oauth2(user, "tok")).starts_with("user name"),
            "user with {bad:?}"
        );
        let token = format!("tok{bad}host=evil");
        assert!(
            invalid(Config::builder("h").oauth2("alice", token)).starts_with("password or token"),
            "token with {bad:?}"
        );
    }
    assert!(
        Config::builder("h")
            .oauth2("alice@example.org", "ya29.a-b_c~d+e/f=")
            .build()
            .is_ok()
    );
    // A password may hold other control characters (PLAIN carries any byte but NUL).
    assert!(
        Config::builder("h")
            .login("alice", "p\x01w")
            .build()
            .is_ok()
    );
}

#[test]
fn debug_redacts_secrets() {
    let c = Config::builder("h")
        .login("alice", "s3cret-pw")
        .build()
        .unwrap();
    let d = format!("{c:?}");
    assert!(d.contains("alice") && !d.contains("s3cret-pw"), "{d}");
    let o = Config::builder("h")
        .oauth2("bob", "ya29.tokenvalue")
        .build()
        .unwrap();
    let d = format!(
        "{o:?} {:?}",
        Config::builder("h").oauth2("bob", "ya29.tokenvalue")
    );
    assert!(!d.contains("ya29"), "{d}");
    assert_eq!(o.account_label(Protocol::Pop3), "bob@h:995");
}

#[test]
fn security_from_str() {
    assert_eq!("STARTTLS".parse::<Security>().unwrap(), Security::StartTls);
    assert_eq!("tls".parse::<Security>().unwrap(), Security::Tls);
    assert_eq!("plain".parse::<Security>().unwrap(), Security::Plain);
    assert!("tls1.3".parse::<Security>().is_err());
}
