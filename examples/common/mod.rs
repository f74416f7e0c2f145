//! Shared by the examples: the account comes from the environment.
//!
//! | variable | meaning |
//! |---|---|
//! | `MAILWIRE_HOST` | the server (required) |
//! | `MAILWIRE_PORT` | the port (default: 993 for `tls`, 143 otherwise) |
//! | `MAILWIRE_SECURITY` | `tls` (default), `starttls` or `plain` |
//! | `MAILWIRE_USER` | the login name (required) |
//! | `MAILWIRE_PASSWORD` | the password, or … |
//! | `MAILWIRE_OAUTH2_TOKEN` | … an OAuth2 access token (XOAUTH2 / OAUTHBEARER) |
//! | `MAILWIRE_CA_FILE` | a PEM file with an extra root certificate to trust |
//! | `MAILWIRE_POP3_PORT` | the POP3 port (default: `MAILWIRE_PORT`, else 995 for `tls`, 110 otherwise) |
//!
//! A missing or invalid variable prints what is wrong and exits with code 2.
#![allow(dead_code)]

use std::process::exit;

use mailwire::imap::ImapConnection;
use mailwire::{Config, ConfigBuilder, Security};

/// The value of `name`, or exit 2 with a message saying what to set.
pub fn required(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => fail(&format!("{name} is not set")),
    }
}

/// Prints `message` and the variables the examples read, then exits with code 2.
pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    eprintln!(
        "set MAILWIRE_HOST, MAILWIRE_USER and MAILWIRE_PASSWORD (or MAILWIRE_OAUTH2_TOKEN); \
         optionally MAILWIRE_PORT, MAILWIRE_SECURITY (tls|starttls|plain), MAILWIRE_CA_FILE"
    );
    exit(2)
}

/// Builds the [`Config`] from the environment (exits 2 when something is missing).
pub fn config() -> Config {
    builder()
        .build()
        .unwrap_or_else(|e| fail(&format!("invalid settings: {e}")))
}

/// The login name from the environment.
/// Every account: the first from the usual variables, more on the same server from
/// `MAILWIRE_USER_2` / `MAILWIRE_PASSWORD_2`, `MAILWIRE_USER_3` / `MAILWIRE_PASSWORD_3`, …
pub fn accounts() -> Vec<Config> {
    let mut accounts = vec![config()];
    for n in 2.. {
        let (Ok(user), Ok(password)) = (
            std::env::var(format!("MAILWIRE_USER_{n}")),
            std::env::var(format!("MAILWIRE_PASSWORD_{n}")),
        ) else {
            break;
        };
        match builder().login(user, password).build() {
            Ok(c) => accounts.push(c),
            Err(e) => fail(&format!("account {n}: {e}")),
        }
    }
    accounts
}

pub fn user() -> String {
    required("MAILWIRE_USER")
}

/// The [`ConfigBuilder`] with everything from the environment, to adjust before building.
pub fn builder() -> ConfigBuilder {
    let host = required("MAILWIRE_HOST");
    let user = required("MAILWIRE_USER");
    let security: Security = match std::env::var("MAILWIRE_SECURITY") {
        Ok(s) if !s.trim().is_empty() => s.parse().unwrap_or_else(|_| {
            fail(&format!(
                "MAILWIRE_SECURITY={s:?}: use tls, starttls or plain"
            ))
        }),
        _ => Security::Tls,
    };
    let mut builder = Config::builder(host).security(security);
    if let Ok(port) = std::env::var("MAILWIRE_PORT") {
        let port: u16 = port
            .trim()
            .parse()
            .unwrap_or_else(|_| fail(&format!("MAILWIRE_PORT={port:?} is not a port number")));
        builder = builder.port(port);
    }
    if let Ok(port) = std::env::var("MAILWIRE_POP3_PORT") {
        let port: u16 = port
            .trim()
            .parse()
            .unwrap_or_else(|_| fail(&format!("MAILWIRE_POP3_PORT={port:?} is not a port number")));
        builder = builder.pop3_port(port);
    }
    builder = match (
        std::env::var("MAILWIRE_PASSWORD"),
        std::env::var("MAILWIRE_OAUTH2_TOKEN"),
    ) {
        (Ok(password), _) => builder.login(user, password),
        (_, Ok(token)) => builder.oauth2(user, token),
        _ => fail("neither MAILWIRE_PASSWORD nor MAILWIRE_OAUTH2_TOKEN is set"),
    };
    if let Ok(path) = std::env::var("MAILWIRE_CA_FILE") {
        let pem = std::fs::read(&path)
            .unwrap_or_else(|e| fail(&format!("MAILWIRE_CA_FILE={path:?}: {e}")));
        builder = builder.add_root_certificate_pem(pem);
    }
    builder
}

/// Connects with the environment's account; on failure prints the error and exits 1.
pub fn connect() -> ImapConnection {
    let config = config();
    ImapConnection::connect(&config).unwrap_or_else(|e| {
        eprintln!("error: could not connect: {e}");
        exit(1)
    })
}
