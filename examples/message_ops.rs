//! Flags, copy, move and delete on a scratch folder (created and removed again).
//!
//! ```text
//! cargo run --example message_ops
//! ```

#[path = "common/mod.rs"]
mod common;

use mailwire::imap::{Flag, ImapConnection, SearchQuery, Uids};

const SCRATCH: &str = "mailwire-example";
const ARCHIVE: &str = "mailwire-example/archive";

fn main() {
    let conn = common::connect();
    let result = run(&conn);
    // Clean up even after a failure (children first).
    let _ = conn.delete_folder(ARCHIVE);
    let _ = conn.delete_folder(SCRATCH);
    conn.logout();
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(conn: &ImapConnection) -> mailwire::Result<()> {
    conn.create_folder(SCRATCH)?;
    conn.create_folder(ARCHIVE)?;
    let mut appended_uids = Vec::new();
    for i in 1..=3 {
        let message = format!(
            "From: example@example.org\r\nSubject: mailwire example {i}\r\n\r\nHello {i}\r\n"
        );
        let appended = conn.append(SCRATCH, message.as_bytes(), &[], None)?;
        println!("appended message {i}: {appended:?}");
        if let Some(a) = appended {
            appended_uids.push(a.uid);
        }
    }
    // A search returns the UIDs with the folder's UIDVALIDITY (every call below checks
    // it); the UIDs APPEND reported (UIDPLUS) are plain numbers.
    let uids: Uids = if appended_uids.is_empty() {
        // No UIDPLUS: find them by searching.
        conn.search(SCRATCH, &SearchQuery::all())?
    } else {
        appended_uids.into()
    };
    let first = uids.first().unwrap_or(1);
    // Plain numbers work too (checked against the UIDVALIDITY the connection remembers).
    let list = uids.to_vec();
    conn.mark_as_read(SCRATCH, &uids)?;
    conn.add_star(SCRATCH, first)?;
    // A keyword only where the folder keeps it (its PERMANENTFLAGS have `\*` or list it):
    // add_keywords refuses one it cannot keep before sending anything.
    if conn.select(SCRATCH)?.allows_keyword("$Important") {
        conn.add_keywords(SCRATCH, first, &["$Important"])?;
    } else {
        println!("{SCRATCH} cannot keep the keyword $Important; not set");
    }
    for m in conn.fetch_metadata(SCRATCH, &uids)? {
        println!("uid {:?} flags {:?}", m.uid(), m.flags());
    }
    conn.set_flags(SCRATCH, &list[1..2], &[Flag::Answered])?;
    let copied = conn.copy(SCRATCH, &list[..1], ARCHIVE)?;
    println!("copied: {copied:?}");
    let moved = conn.move_messages(SCRATCH, &list[1..2], ARCHIVE)?;
    println!("moved: {moved:?}");
    conn.mark_deleted(SCRATCH, &list[2..])?;
    let gone = if conn.has_capability("UIDPLUS") {
        conn.uid_expunge(SCRATCH, &list[2..])?
    } else {
        conn.expunge(SCRATCH)?
    };
    println!("expunged {gone}");
    println!(
        "left in {SCRATCH}: {:?}; in {ARCHIVE}: {:?}",
        conn.search(SCRATCH, &SearchQuery::all())?,
        conn.search(ARCHIVE, &SearchQuery::all())?
    );
    Ok(())
}
