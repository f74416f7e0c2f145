//! Remembering UIDs safely: store (UIDVALIDITY, UID) pairs, and resynchronise when the
//! server reports a new UIDVALIDITY.
//!
//! ```text
//! cargo run --example uid_validity -- [FOLDER]
//! ```

#[path = "common/mod.rs"]
mod common;

use mailwire::Error;
use mailwire::imap::SearchQuery;

fn main() {
    let folder = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "INBOX".to_string());
    let conn = common::connect();
    // What an application would have stored from an earlier run.
    let validity = match conn.uid_validity(&folder) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("{folder}: UIDVALIDITY {validity}; store it next to every UID you keep");
    // The connection remembers the UIDVALIDITY of each folder it selected; when it
    // changes (the folder was deleted and recreated, or rebuilt by the server), the next
    // folder-scoped call fails once with UidValidityChanged.
    loop {
        match conn.search(&folder, &SearchQuery::unseen()) {
            Ok(uids) => {
                println!("unseen: {uids:?}");
                break;
            }
            Err(Error::UidValidityChanged { folder, old, new }) => {
                println!(
                    "{folder}: UIDVALIDITY changed {old} -> {new}: drop every cached UID of \
                     this folder and resynchronise; the next call works"
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    conn.logout();
}
