//! Prints the events of a folder as they happen, until interrupted (Ctrl-C).
//!
//! ```text
//! MAILWIRE_HOST=imap.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=… \
//!     cargo run --example idle_watch
//! ```
//! `MAILWIRE_FOLDER` picks the folder (default INBOX); `MAILWIRE_IDLE_SECONDS` stops after
//! that many seconds (the demo uses it), otherwise it runs until interrupted.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use mailwire::imap::{IdleEvent, IdleListener};

fn main() {
    let config = common::config();
    let folder = std::env::var("MAILWIRE_FOLDER").unwrap_or_else(|_| "INBOX".into());
    let limit = std::env::var("MAILWIRE_IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let listener = match IdleListener::builder(config)
        .folder(folder.as_str())
        .spawn()
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("watching {folder} (new mail, flag changes, expunges); Ctrl-C to stop");
    let started = Instant::now();
    let events = listener.events();
    loop {
        let wait = match limit {
            Some(l) => match l.checked_sub(started.elapsed()) {
                Some(left) => left,
                None => break,
            },
            None => Duration::from_secs(3600),
        };
        match events.recv_timeout(wait) {
            Ok(IdleEvent::Stopped) => break,
            Ok(event) => println!("[{:>7.1} s] {event:?}", started.elapsed().as_secs_f64()),
            Err(_) if limit.is_some() => break,
            Err(_) => {}
        }
    }
    listener.stop();
    println!("stopped after {:.1} s", started.elapsed().as_secs_f64());
}
