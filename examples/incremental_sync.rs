//! Incremental sync with the state kept in a file: each run prints what changed in the
//! folder since the previous run, then saves the new state.
//!
//! ```text
//! MAILWIRE_HOST=… MAILWIRE_USER=… MAILWIRE_PASSWORD=… cargo run --example incremental_sync
//! ```
//!
//! Besides the account variables of `examples/common`: `MAILWIRE_FOLDER` (default `INBOX`),
//! `MAILWIRE_SYNC_STATE` (the state file, default `./mailwire-sync-state.txt`) and
//! `MAILWIRE_SYNC_STRATEGY` (`auto` (default), `qresync`, `condstore` or `plain`).

#[path = "common/mod.rs"]
mod common;

use std::process::exit;

use mailwire::imap::{SyncState, SyncStrategy};

fn main() {
    let folder = std::env::var("MAILWIRE_FOLDER")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| "INBOX".to_string());
    let path = std::env::var("MAILWIRE_SYNC_STATE")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "./mailwire-sync-state.txt".to_string());
    let strategy = match std::env::var("MAILWIRE_SYNC_STRATEGY")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "auto" => SyncStrategy::Auto,
        "qresync" => SyncStrategy::Qresync,
        "condstore" => SyncStrategy::Condstore,
        "plain" => SyncStrategy::Plain,
        other => common::fail(&format!(
            "MAILWIRE_SYNC_STRATEGY={other:?}: use auto, qresync, condstore or plain"
        )),
    };

    // The stored state, if it is for this folder; else a first sync.
    let state = match std::fs::read_to_string(&path) {
        Ok(text) => match text.parse::<SyncState>() {
            Ok(state) if state.folder() == folder => state,
            Ok(state) => {
                println!(
                    "{path} holds the state of {:?}, not {folder:?}: starting over",
                    state.folder()
                );
                SyncState::new(&folder)
            }
            Err(e) => {
                eprintln!("error: {path}: {e}");
                exit(1);
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no state in {path}: first sync of {folder:?}");
            SyncState::new(&folder)
        }
        Err(e) => {
            eprintln!("error: cannot read {path}: {e}");
            exit(1);
        }
    };

    let conn = common::connect();
    let before = conn.bytes_received();
    let delta = match conn.sync_with(&folder, &state, strategy) {
        Ok(delta) => delta,
        Err(e) => {
            eprintln!("error: {e}");
            exit(1);
        }
    };
    let bytes = conn.bytes_received() - before;
    println!(
        "{folder}: synced with {} ({bytes} bytes received), {} messages known",
        delta.strategy,
        delta.state.message_count()
    );
    if delta.uid_validity_reset {
        println!(
            "UIDVALIDITY changed (the folder was recreated or rebuilt): every cached UID is void, all messages are new"
        );
    }
    if delta.is_empty() {
        println!("no change");
    }
    if !delta.vanished.is_empty() {
        println!("vanished: {:?}", delta.vanished);
    }
    if !delta.new.is_empty() {
        println!("new: {} message(s)", delta.new.len());
        // Show the subjects of the newest few.
        let newest = &delta.new[delta.new.len().saturating_sub(10)..];
        match conn.fetch_headers(&folder, newest) {
            Ok(messages) => {
                for m in messages {
                    println!(
                        "  {:>6}  {}",
                        m.uid().unwrap_or(0),
                        m.subject().unwrap_or_default()
                    );
                }
            }
            Err(e) => eprintln!("  (could not fetch their headers: {e})"),
        }
    }
    let changed: Vec<_> = delta
        .flags_changed
        .iter()
        .filter(|(uid, _)| delta.new.binary_search(uid).is_err())
        .collect();
    for (uid, flags) in &changed {
        println!("flags of {uid}: {flags:?}");
    }

    // Save atomically: write a temporary file, then rename it over the old one.
    let tmp = format!("{path}.tmp");
    if let Err(e) = std::fs::write(&tmp, format!("{}\n", delta.state))
        .and_then(|()| std::fs::rename(&tmp, &path))
    {
        eprintln!("error: cannot save the state to {path}: {e}");
        exit(1);
    }
    println!("state saved to {path}");
    conn.logout();
}
