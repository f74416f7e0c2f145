//! Lists the folders, shows the INBOX status and the newest 10 messages.
//!
//! ```text
//! MAILWIRE_HOST=imap.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=… \
//!     cargo run --example basic_sync
//! ```

#[path = "common/mod.rs"]
mod common;

use mailwire::imap::FetchWhat;

fn main() {
    let conn = common::connect();
    if let Err(e) = run(&conn) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    conn.logout();
}

fn run(conn: &mailwire::imap::ImapConnection) -> mailwire::Result<()> {
    println!("Folders:");
    for folder in conn.list_folders()? {
        let star = if folder.subscribed { "*" } else { " " };
        println!("  {star} {:<30} {:?}", folder.name, folder.kind);
    }
    let status = conn.folder_status("INBOX")?;
    println!(
        "INBOX: {} messages, {} unseen, UIDVALIDITY {:?}",
        status.messages.unwrap_or(0),
        status.unseen.unwrap_or(0),
        status.uid_validity
    );
    println!("Newest 10:");
    for m in conn.fetch_newest("INBOX", 10, FetchWhat::Metadata)? {
        let from = m.from().first().map(|a| a.to_string()).unwrap_or_default();
        let seen = if m.is_seen() { " " } else { "N" };
        println!(
            "  {seen} {:>6} {:<30} {}",
            m.uid().unwrap_or(0),
            from,
            m.subject().unwrap_or_default()
        );
    }
    Ok(())
}
