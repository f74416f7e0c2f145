//! Logs in to a POP3 account and lists what is there: STAT, the UIDL list, and the subject
//! and sender of each message (read with `TOP n 0`, headers only). Deletes nothing.
//!
//! ```text
//! MAILWIRE_HOST=pop.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=... \
//!     cargo run --example pop3_download
//! ```
//!
//! Environment:
//! - `MAILWIRE_HOST` (required)
//! - `MAILWIRE_POP3_PORT`, else `MAILWIRE_PORT` (default 995 with TLS, 110 otherwise)
//! - `MAILWIRE_SECURITY`: `tls` (default), `starttls` or `plain`
//! - `MAILWIRE_USER` (required) and `MAILWIRE_PASSWORD` or `MAILWIRE_OAUTH2_TOKEN`
//! - `MAILWIRE_CA_FILE`: a PEM root certificate to trust in addition to the system's
//!
//! Set `RUST_LOG`-style logging up in your own program to see the `mailwire::pop3` and
//! `mailwire::wire` log lines; this example prints only its results.

use std::process::ExitCode;

use mailwire::pop3::Pop3Handler;
use mailwire::{Config, Security};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str) -> Result<String, String> {
    var(name).ok_or_else(|| format!("{name} is not set; see the top of examples/pop3_download.rs"))
}

fn config() -> Result<Config, String> {
    let host = required("MAILWIRE_HOST")?;
    let user = required("MAILWIRE_USER")?;
    let security: Security = match var("MAILWIRE_SECURITY") {
        Some(s) => s
            .parse()
            .map_err(|e| format!("MAILWIRE_SECURITY={s:?}: {e} (use tls, starttls or plain)"))?,
        None => Security::Tls,
    };
    let mut builder = Config::builder(host).security(security);
    if let Some(port) = var("MAILWIRE_POP3_PORT").or_else(|| var("MAILWIRE_PORT")) {
        let port: u16 = port
            .trim()
            .parse()
            .map_err(|_| format!("the port {port:?} is not a number between 1 and 65535"))?;
        builder = builder.pop3_port(port);
    }
    builder = match (var("MAILWIRE_PASSWORD"), var("MAILWIRE_OAUTH2_TOKEN")) {
        (Some(password), _) => builder.login(user, password),
        (None, Some(token)) => builder.oauth2(user, token),
        (None, None) => {
            return Err(
                "set MAILWIRE_PASSWORD or MAILWIRE_OAUTH2_TOKEN; see the top of examples/pop3_download.rs"
                    .to_string(),
            );
        }
    };
    if let Some(path) = var("MAILWIRE_CA_FILE") {
        let pem = std::fs::read(&path)
            .map_err(|e| format!("cannot read MAILWIRE_CA_FILE {path:?}: {e}"))?;
        builder = builder.add_root_certificate_pem(pem);
    }
    builder.build().map_err(|e| e.to_string())
}

fn run(config: &Config) -> mailwire::Result<()> {
    Pop3Handler::session(config, |pop| {
        println!(
            "connected ({}, logged in with {})",
            if pop.is_tls() { "TLS" } else { "no TLS" },
            pop.logged_in_with().unwrap_or("nothing")
        );
        let stat = pop.stat()?;
        println!("STAT: {} messages, {} octets", stat.count, stat.size);
        let uidl = if pop.capabilities().uidl() || pop.capabilities().iter().next().is_none() {
            pop.uidl().unwrap_or_default()
        } else {
            Vec::new()
        };
        println!("UIDL:");
        for entry in &uidl {
            println!("  {:>5} {}", entry.number, entry.uid);
        }
        println!("messages:");
        for entry in pop.list()? {
            let headers = pop.fetch_headers(entry.number, 0)?;
            let from = headers
                .from()
                .first()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "(no sender)".to_string());
            println!(
                "  {:>5} {:>9} B  {}  —  {}",
                entry.number,
                entry.size,
                from,
                headers.subject().unwrap_or_else(|| "(no subject)".into())
            );
        }
        Ok(())
    })
}

fn main() -> ExitCode {
    let config = match config() {
        Ok(c) => c,
        Err(message) => {
            eprintln!("pop3_download: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pop3_download: {e}");
            ExitCode::FAILURE
        }
    }
}
