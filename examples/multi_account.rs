//! One `ImapHandler` serving several accounts at once: each account gets its own
//! connections from the shared pool, and never another account's.
//!
//! The first account comes from the usual variables (`MAILWIRE_USER`, `MAILWIRE_PASSWORD`
//! …); more accounts on the same server from `MAILWIRE_USER_2` / `MAILWIRE_PASSWORD_2`,
//! `MAILWIRE_USER_3` / `MAILWIRE_PASSWORD_3`, and so on.
//!
//! ```text
//! MAILWIRE_HOST=imap.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=… \
//!     MAILWIRE_USER_2=bob MAILWIRE_PASSWORD_2=… cargo run --example multi_account
//! ```

#[path = "common/mod.rs"]
mod common;

use mailwire::imap::{ImapHandler, SearchQuery};

fn main() {
    let accounts = common::accounts();
    let handler = ImapHandler::new().unwrap_or_else(|e| common::fail(&e.to_string()));
    println!("{} account(s), one handler", accounts.len());
    let failed = std::thread::scope(|scope| {
        let threads: Vec<_> = accounts
            .iter()
            .map(|account| {
                let handler = &handler;
                scope.spawn(move || -> mailwire::Result<String> {
                    let folders = handler.list_folders(account)?;
                    let unseen = handler.search(account, "INBOX", &SearchQuery::unseen())?;
                    let status = handler.folder_status(account, "INBOX")?;
                    Ok(format!(
                        "  {:<12} {:>2} folders, INBOX {:>3} messages, {:>3} unseen",
                        account.user().unwrap_or("?"),
                        folders.len(),
                        status.messages.unwrap_or(0),
                        unseen.len()
                    ))
                })
            })
            .collect();
        let mut failed = false;
        for t in threads {
            match t.join() {
                Ok(Ok(line)) => println!("{line}"),
                Ok(Err(e)) => {
                    eprintln!("error: {e}");
                    failed = true;
                }
                Err(_) => failed = true,
            }
        }
        failed
    });
    for (key, stats) in handler.pool().stats() {
        println!(
            "  pool {key}: created {}, idle {}",
            stats.created, stats.idle
        );
    }
    handler.disconnect_all();
    if failed {
        std::process::exit(1);
    }
}
