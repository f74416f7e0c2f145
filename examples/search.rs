//! Typed searches: unseen, from someone, since a date, OR / NOT, non-ASCII text.
//!
//! ```text
//! cargo run --example search -- [FOLDER] [TEXT]
//! ```

#[path = "common/mod.rs"]
mod common;

use mailwire::imap::SearchQuery;
use mailwire::imap::search::ImapDate;

fn main() {
    let mut args = std::env::args().skip(1);
    let folder = args.next().unwrap_or_else(|| "INBOX".to_string());
    let text = args.next().unwrap_or_else(|| "Grüße".to_string());
    let conn = common::connect();
    if let Err(e) = run(&conn, &folder, &text) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    conn.logout();
}

fn run(conn: &mailwire::imap::ImapConnection, folder: &str, text: &str) -> mailwire::Result<()> {
    let since = ImapDate::new(2024, 1, 1)?;
    let queries = [
        ("unseen", SearchQuery::unseen()),
        (
            "flagged and unseen",
            SearchQuery::flagged().and(SearchQuery::unseen()),
        ),
        ("since 1-Jan-2024", SearchQuery::since(since)),
        (
            "larger than 1 MB or with an attachment header",
            SearchQuery::larger(1_000_000)
                .or(SearchQuery::header("Content-Disposition", "attachment")),
        ),
        (
            "not from example.com",
            SearchQuery::from("example.com").negated(),
        ),
        ("text (CHARSET UTF-8 when needed)", SearchQuery::text(text)),
    ];
    for (label, query) in queries {
        let uids = conn.search(folder, &query)?;
        println!("{label:<50} {} messages {}", uids.len(), uids.set());
    }
    Ok(())
}
