//! Batch fetch and store over many UIDs, with timings: mailwire pipelines the chunks
//! instead of one round trip per message.
//!
//! ```text
//! cargo run --release --example bulk_ops -- [FOLDER]
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use mailwire::imap::{FetchWhat, ImapConnection, SearchQuery};

fn main() {
    let folder = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "INBOX".to_string());
    let conn = common::connect();
    if let Err(e) = run(&conn, &folder) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    conn.logout();
}

fn run(conn: &ImapConnection, folder: &str) -> mailwire::Result<()> {
    let t = Instant::now();
    let all = conn.search(folder, &SearchQuery::all())?;
    println!("search ALL: {} UIDs in {:?}", all.len(), t.elapsed());

    let t = Instant::now();
    let meta = conn.fetch(folder, &all, FetchWhat::Metadata)?;
    let bytes: u64 = meta.iter().map(|m| m.size()).sum();
    println!(
        "metadata of {} messages ({} MB on the server) in {:?}",
        meta.len(),
        bytes / 1_000_000,
        t.elapsed()
    );

    let t = Instant::now();
    let headers = conn.fetch_headers(folder, &all)?;
    println!("headers of {} messages in {:?}", headers.len(), t.elapsed());

    // Store: flag every unseen message \Flagged and back (leaves the folder as it was).
    let unseen = conn.search(folder, &SearchQuery::unseen().and(SearchQuery::unflagged()))?;
    let t = Instant::now();
    conn.add_star(folder, &unseen)?;
    conn.remove_star(folder, &unseen)?;
    println!("2 stores over {} UIDs in {:?}", unseen.len(), t.elapsed());
    Ok(())
}
