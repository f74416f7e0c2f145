//! The account settings integration tests build again and again: the private Dovecot over
//! IMAPS as one of its users, and a scripted server in plain text as `user` / `secret`; both
//! without retries, with generous timeouts. Included with
//! `#[path = "support/configs.rs"] mod configs;` beside `mod support;` (it uses `mailwire`,
//! which `support/mod.rs` must not).
#![allow(dead_code)]

use std::time::Duration;

use mailwire::{Config, ConfigBuilder, RetryPolicy, Security};

use crate::support::dovecot::{Dovecot, User};

/// The private Dovecot's IMAPS port (its POP3S port too), trusting its certificate, logged in
/// as `u`; 30 s timeouts, no retries.
pub fn dovecot(dc: &Dovecot, u: &User) -> ConfigBuilder {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .pop3_port(dc.pop3s_port())
        .security(Security::Tls)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::none())
}

/// A scripted server on `port` (IMAP and POP3 alike) in plain text, logged in as `user` /
/// `secret`; 5 s timeouts, no retries.
pub fn scripted(port: u16) -> ConfigBuilder {
    Config::builder("127.0.0.1")
        .port(port)
        .pop3_port(port)
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
}
