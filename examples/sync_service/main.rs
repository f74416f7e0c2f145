//! The reference service: how a real service uses mailwire. Worker threads on one
//! `ImapHandler` sync every account's folders incrementally into SQLite (the `SyncState`
//! text and a messages table kept in step with the server), one `IdleListener` per
//! account and folder enqueues a sync on every change, failed jobs come back after their
//! `retry_hint()`, and Ctrl-C or SIGTERM stops it all through one `Cancel` token.
//!
//! ```text
//! MAILWIRE_HOST=imap.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=… \
//!     cargo run --example sync_service            # runs until Ctrl-C, then a summary
//! cargo run --example sync_service -- --check     # database == server? exit 1 if not
//! cargo run --example sync_service -- --mutate    # another client: append, flag, expunge
//! ```
//!
//! Accounts as in `examples/multi_account.rs` (the variables of `examples/common`, more
//! accounts on the same server from `MAILWIRE_USER_2` / `MAILWIRE_PASSWORD_2`, …). Also:
//!
//! | variable | meaning |
//! |---|---|
//! | `MAILWIRE_SERVICE_WORKERS` | worker threads (default 4) |
//! | `MAILWIRE_SERVICE_FOLDERS` | folders synced in every account, comma-separated (default `INBOX`) |
//! | `MAILWIRE_SERVICE_DB` | the SQLite file (default `mailwire-sync-service.db` in the temp dir) |
//! | `MAILWIRE_SERVICE_SECONDS` | stop by itself after this long (default: run until a signal) |
//! | `MAILWIRE_MUTATE_COUNT` | `--mutate`: messages appended per account (default 20) |
//!
//! Files: `service.rs` the workers, queue and listeners; `store.rs` the database;
//! `check.rs` the comparison with the server; `mutate.rs` the other client.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod mutate;
mod service;
mod store;

use std::path::{Path, PathBuf};
use std::process::exit;
use std::time::{Duration, Instant};

use mailwire::imap::{ImapConnection, ImapHandler};
use mailwire::{Cancel, Config};

use service::{Account, Service, Settings};
use store::Store;

/// The accounts (`examples/common`: `MAILWIRE_USER`, then `MAILWIRE_USER_2`, …).
fn accounts() -> Vec<Account> {
    common::accounts().into_iter().map(Account::new).collect()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str) -> Option<T> {
    env(name).map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| common::fail(&format!("{name}={v:?} is not a number")))
    })
}

fn settings() -> Settings {
    let folders = env("MAILWIRE_SERVICE_FOLDERS")
        .map(|f| {
            f.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_else(|| vec!["INBOX".to_string()]);
    Settings {
        workers: number("MAILWIRE_SERVICE_WORKERS").unwrap_or(4),
        folders,
        verbose: true,
    }
}

fn db_path() -> PathBuf {
    env("MAILWIRE_SERVICE_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("mailwire-sync-service.db"))
}

fn open_store(path: &Path) -> Store {
    Store::open(path).unwrap_or_else(|e| {
        eprintln!("error: cannot open the database {}: {e}", path.display());
        exit(1)
    })
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        None => run(),
        Some("--check") => run_check(),
        Some("--mutate") => run_mutate(),
        Some(other) => common::fail(&format!(
            "unknown argument {other:?}: use --check or --mutate"
        )),
    }
}

fn run() {
    let accounts = accounts();
    let settings = settings();
    let path = db_path();
    let limit = number::<f64>("MAILWIRE_SERVICE_SECONDS").map(|s| {
        Duration::try_from_secs_f64(s).unwrap_or_else(|_| {
            common::fail(&format!("MAILWIRE_SERVICE_SECONDS={s}: not a duration"))
        })
    });
    let store = open_store(&path);

    // The one token: the signal handler cancels it, and the shutdown goes through it.
    let shutdown = Cancel::new();
    let on_signal = shutdown.clone();
    // A second signal while the shutdown runs ends the process at once.
    let handled = ctrlc::set_handler(move || {
        if on_signal.is_cancelled() {
            eprintln!("second signal: exiting without waiting for the shutdown");
            exit(130);
        }
        on_signal.cancel();
    });
    if let Err(e) = handled {
        eprintln!("error: cannot install the Ctrl-C / SIGTERM handler: {e}");
        exit(1);
    }
    let handler = ImapHandler::new().unwrap_or_else(|e| common::fail(&e.to_string()));
    println!(
        "sync_service: {} account(s), folders {:?}, {} workers, database {}",
        accounts.len(),
        settings.folders,
        settings.workers,
        path.display()
    );
    let service = match Service::start(accounts, settings, store, &handler, &shutdown) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            exit(1);
        }
    };
    println!("running; Ctrl-C (SIGINT) or SIGTERM stops it");
    let started = Instant::now();
    while !shutdown.is_cancelled() {
        if limit.is_some_and(|l| started.elapsed() >= l) {
            println!("MAILWIRE_SERVICE_SECONDS reached");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("stopping");
    let summary = service.shutdown();
    handler.disconnect_all();
    println!("{summary}");
}

fn run_check() {
    let accounts = accounts();
    let settings = settings();
    let path = db_path();
    if !path.exists() {
        eprintln!("check: no database at {}", path.display());
        exit(1);
    }
    let store = open_store(&path);
    match check::check(&accounts, &settings.folders, &store) {
        Ok(report) if report.is_ok() => println!("check: ok ({} messages)", report.messages),
        Ok(report) => {
            for d in &report.differences {
                println!("check: {d}");
            }
            println!(
                "check: FAILED, {} difference(s) over {} messages",
                report.differences.len(),
                report.messages
            );
            exit(1);
        }
        Err(e) => {
            eprintln!("check: error: {e}");
            exit(1);
        }
    }
}

fn run_mutate() {
    let accounts = accounts();
    let folder = settings().folders.remove(0);
    let count = number("MAILWIRE_MUTATE_COUNT").unwrap_or(20);
    let tag = format!("mutate-{}", std::process::id());
    let failed = std::thread::scope(|scope| {
        let threads: Vec<_> = accounts
            .iter()
            .map(|account| {
                let (folder, tag) = (&folder, &tag);
                scope.spawn(move || -> Result<String, String> {
                    let config: &Config = &account.config;
                    let conn = ImapConnection::connect(config).map_err(|e| e.to_string())?;
                    let done =
                        mutate::mutate(&conn, folder, tag, count, Duration::from_millis(150))
                            .map_err(|e| e.to_string())?;
                    conn.logout();
                    Ok(format!(
                        "mutate {}/{folder}: {} appended, {} flag changes, {} expunged",
                        account.name, done.appended, done.flagged, done.expunged
                    ))
                })
            })
            .collect();
        let mut failed = false;
        for t in threads {
            match t.join() {
                Ok(Ok(line)) => println!("{line}"),
                Ok(Err(e)) => {
                    eprintln!("mutate: error: {e}");
                    failed = true;
                }
                Err(_) => failed = true,
            }
        }
        failed
    });
    if failed {
        exit(1);
    }
}
