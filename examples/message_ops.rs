//! Flags, copy, move and delete on a scratch folder and its child (created and removed
//! again), named with `folder_path` so they are right on every server: `mailwire-example`
//! and `mailwire-example/archive` on one, `INBOX.mailwire-example.archive` on another.
//!
//! ```text
//! cargo run --example message_ops
//! ```

#[path = "common/mod.rs"]
mod common;

use mailwire::imap::{Flag, ImapConnection, SearchQuery, Uids};

fn main() {
    let conn = common::connect();
    // The server's own layout (its NAMESPACE prefix and delimiter), not a `/` typed here.
    let paths = conn
        .folder_path(["mailwire-example"])
        .and_then(|scratch| Ok((scratch, conn.folder_path(["mailwire-example", "archive"])?)));
    let (scratch, archive) = match paths {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("scratch folders on this server: {scratch} and {archive}");
    let result = run(&conn, &scratch, &archive);
    // Clean up even after a failure (children first).
    let _ = conn.delete_folder(&archive);
    let _ = conn.delete_folder(&scratch);
    conn.logout();
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(conn: &ImapConnection, scratch: &str, archive: &str) -> mailwire::Result<()> {
    conn.create_folder(scratch)?;
    conn.create_folder(archive)?;
    let mut appended_uids = Vec::new();
    for i in 1..=3 {
        let message = format!(
            "From: example@example.org\r\nSubject: mailwire example {i}\r\n\r\nHello {i}\r\n"
        );
        let appended = conn.append(scratch, message.as_bytes(), &[], None)?;
        println!("appended message {i}: {appended:?}");
        if let Some(a) = appended {
            appended_uids.push(a.uid);
        }
    }
    // A search returns the UIDs with the folder's UIDVALIDITY (every call below checks
    // it); the UIDs APPEND reported (UIDPLUS) are plain numbers.
    let uids: Uids = if appended_uids.is_empty() {
        // No UIDPLUS: find them by searching.
        conn.search(scratch, &SearchQuery::all())?
    } else {
        appended_uids.into()
    };
    let first = uids.first().unwrap_or(1);
    // Plain numbers work too (checked against the UIDVALIDITY the connection remembers).
    let list = uids.to_vec();
    conn.mark_as_read(scratch, &uids)?;
    conn.add_star(scratch, first)?;
    // A keyword only where the folder keeps it (its PERMANENTFLAGS have `\*` or list it):
    // add_keywords refuses one it cannot keep before sending anything.
    if conn.select(scratch)?.allows_keyword("$Important") {
        conn.add_keywords(scratch, first, &["$Important"])?;
    } else {
        println!("{scratch} cannot keep the keyword $Important; not set");
    }
    for m in conn.fetch_metadata(scratch, &uids)? {
        println!("uid {:?} flags {:?}", m.uid(), m.flags());
    }
    conn.set_flags(scratch, &list[1..2], &[Flag::Answered])?;
    let copied = conn.copy(scratch, &list[..1], archive)?;
    println!("copied: {copied:?}");
    let moved = conn.move_messages(scratch, &list[1..2], archive)?;
    println!("moved: {moved:?}");
    conn.mark_deleted(scratch, &list[2..])?;
    let gone = if conn.has_capability("UIDPLUS") {
        conn.uid_expunge(scratch, &list[2..])?
    } else {
        conn.expunge(scratch)?
    };
    println!("expunged {gone}");
    println!(
        "left in {scratch}: {:?}; in {archive}: {:?}",
        conn.search(scratch, &SearchQuery::all())?,
        conn.search(archive, &SearchQuery::all())?
    );
    Ok(())
}
