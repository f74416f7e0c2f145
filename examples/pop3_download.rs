//! Logs in to a POP3 account and lists what is there: STAT, the UIDL list, and the subject
//! and sender of each message (read with `TOP n 0`, headers only). Deletes nothing.
//!
//! ```text
//! MAILWIRE_HOST=pop.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=... \
//!     cargo run --example pop3_download
//! ```
//!
//! Environment: as every example (see `examples/common/mod.rs`); the POP3 port is
//! `MAILWIRE_POP3_PORT`, else `MAILWIRE_PORT`, else 995 with TLS and 110 otherwise.
//!
//! Set `RUST_LOG`-style logging up in your own program to see the `mailwire::pop3` and
//! `mailwire::wire` log lines; this example prints only its results.

use std::process::ExitCode;

use mailwire::Config;
use mailwire::pop3::Pop3Handler;

#[path = "common/mod.rs"]
mod common;

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
    let config = common::config();
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pop3_download: {e}");
            ExitCode::FAILURE
        }
    }
}
