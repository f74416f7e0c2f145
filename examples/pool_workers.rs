//! Four worker threads share one `ImapHandler` (and its pool) and fetch disjoint parts of
//! INBOX in parallel; prints what each did and the pool's statistics.
//!
//! ```text
//! MAILWIRE_HOST=imap.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=… \
//!     cargo run --example pool_workers
//! ```
//! `MAILWIRE_WORKERS` sets the number of threads (default 4).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use mailwire::imap::{FetchWhat, ImapHandler, SearchQuery};
use mailwire::pool::PoolOptions;

fn main() {
    let account = common::config();
    let workers: usize = std::env::var("MAILWIRE_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .filter(|&w| w > 0)
        .unwrap_or(4);
    let handler = match ImapHandler::with_options(PoolOptions::new().max_per_account(workers)) {
        Ok(h) => h,
        Err(e) => common::fail(&e.to_string()),
    };
    let uids = match handler.search(&account, "INBOX", &SearchQuery::all()) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "INBOX has {} messages; {workers} workers fetch a share each",
        uids.len()
    );
    let started = Instant::now();
    let shares: Vec<Vec<u32>> = (0..workers)
        .map(|w| uids.iter().skip(w).step_by(workers).collect())
        .collect();
    let results: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = shares
            .iter()
            .enumerate()
            .map(|(w, share)| {
                let (handler, account) = (&handler, &account);
                scope.spawn(move || {
                    let t = Instant::now();
                    let fetched =
                        handler.fetch_messages(account, "INBOX", share.clone(), FetchWhat::Full)?;
                    let bytes: u64 = fetched.iter().map(|m| m.raw().len() as u64).sum();
                    println!(
                        "  worker {w}: {:>4} messages, {:>8} bytes in {:>6.1} ms",
                        fetched.len(),
                        bytes,
                        t.elapsed().as_secs_f64() * 1000.0
                    );
                    Ok::<usize, mailwire::Error>(fetched.len())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join()).collect()
    });
    let mut total = 0;
    for r in results {
        match r {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            Err(_) => {
                eprintln!("error: a worker panicked");
                std::process::exit(1);
            }
        }
    }
    let s = handler.stats(&account);
    println!(
        "{total} messages in {:.1} ms; pool: {} connections created, {} idle, {} in use",
        started.elapsed().as_secs_f64() * 1000.0,
        s.created,
        s.idle,
        s.in_use
    );
    handler.disconnect_all();
}
