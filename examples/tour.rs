//! A guided tour of mailwire against one account: folders, status, the newest messages,
//! search, flags, a pool of workers, an IDLE listener receiving a message, and POP3.
//!
//! ```text
//! scripts/demo                                  # against a throw-away local Dovecot
//! MAILWIRE_HOST=imap.example.com MAILWIRE_USER=alice MAILWIRE_PASSWORD=… \
//!     cargo run --example tour                  # against your own account
//! ```
//!
//! The tour changes the account: it stars and marks read the newest message, and appends
//! one message to INBOX (to show IDLE). POP3 is skipped when `MAILWIRE_POP3_PORT` is unset.

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use mailwire::imap::{
    FetchWhat, Flag, FolderKind, IdleEvent, IdleListener, ImapConnection, ImapHandler, SearchQuery,
};
use mailwire::pool::PoolOptions;
use mailwire::pop3::Pop3Handler;
use mailwire::{Config, Message};

struct Tour {
    started: Instant,
    step: usize,
}

impl Tour {
    const STEPS: usize = 9;

    fn step(&mut self, title: &str) {
        self.step += 1;
        println!("\n[{}/{}] {title}", self.step, Tour::STEPS);
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn short(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        format!("{s:<width$}")
    } else {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn describe(m: &Message) -> String {
    let from = m
        .from()
        .first()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "(no sender)".into());
    let subject = m.subject().unwrap_or_else(|| "(no subject)".into());
    let date = m.date_header().unwrap_or_default();
    let mut line = format!(
        "  #{:<4} {}  {}  {}",
        m.uid().unwrap_or(0),
        short(date.trim(), 31),
        short(&from, 40),
        short(&subject, 32)
    );
    let files: Vec<&str> = m
        .attachments()
        .iter()
        .map(|a| a.filename().unwrap_or("(unnamed)"))
        .collect();
    if !files.is_empty() {
        line.push_str(&format!("\n         attachments: {}", files.join(", ")));
    }
    line
}

fn main() {
    let config = common::config();
    let mut tour = Tour {
        started: Instant::now(),
        step: 0,
    };
    println!(
        "mailwire tour: {} ({})",
        config.account_label(mailwire::Protocol::Imap),
        config.security()
    );
    if let Err(e) = run(&config, &mut tour) {
        eprintln!("\nerror: {e}");
        std::process::exit(1);
    }
    println!("\nDone in {}.", ms(tour.started.elapsed()));
}

fn run(config: &Config, tour: &mut Tour) -> mailwire::Result<()> {
    tour.step("Connecting");
    let t = Instant::now();
    let conn = ImapConnection::connect(config)?;
    let caps: Vec<&str> = [
        "IDLE",
        "MOVE",
        "UIDPLUS",
        "CONDSTORE",
        "QRESYNC",
        "SPECIAL-USE",
        "LITERAL+",
    ]
    .into_iter()
    .filter(|c| conn.has_capability(c))
    .collect();
    println!(
        "  logged in over {} in {}; the server offers {}",
        if conn.is_tls() { "TLS" } else { "plaintext" },
        ms(t.elapsed()),
        caps.join(" ")
    );

    tour.step("Folders and what they are for");
    let t = Instant::now();
    let folders = conn.list_folders()?;
    // Shown by their levels, without the server's namespace prefix: `INBOX.Archive.2025`
    // and `Archive/2025` both read "Archive › 2025".
    let layout = conn.folder_layout()?;
    for f in &folders {
        println!(
            "  {} {:<28} {}",
            if f.subscribed { "*" } else { " " },
            short(&layout.components(&f.name).join(" › "), 28),
            f.kind
        );
    }
    println!(
        "  {} folders in {} (* = subscribed); this server names them like {:?} (prefix {:?}, delimiter {:?}, from {})",
        folders.len(),
        ms(t.elapsed()),
        layout.path(["Projects", "2026"])?.as_str(),
        layout.prefix(),
        layout.delimiter().map(String::from).unwrap_or_default(),
        layout.source()
    );
    // Special folders by kind, never by a name that assumes a layout or a language.
    if let Some(sent) = folders.iter().find(|f| f.kind == FolderKind::Sent) {
        println!("  the Sent folder here is {:?}", sent.name);
    }

    tour.step("INBOX status");
    let status = conn.folder_status("INBOX")?;
    println!(
        "  {} messages, {} unseen, next UID {}, UIDVALIDITY {}",
        status.messages.unwrap_or(0),
        status.unseen.unwrap_or(0),
        status.uid_next.unwrap_or(0),
        status.uid_validity.unwrap_or(0)
    );

    tour.step("The 5 newest messages");
    let t = Instant::now();
    let newest = conn.fetch_newest("INBOX", 5, FetchWhat::Full)?;
    for m in newest.iter().rev() {
        println!("{}", describe(m));
    }
    println!("  fetched and parsed in {}", ms(t.elapsed()));

    tour.step("Search: unseen and flagged, or mentioning \"report\"");
    let t = Instant::now();
    let query = SearchQuery::unseen()
        .and(SearchQuery::flagged())
        .or(SearchQuery::subject("report"));
    let found = conn.search("INBOX", &query)?;
    println!(
        "  UIDs {found:?} ({} matches, {})",
        found.len(),
        ms(t.elapsed())
    );

    tour.step("Mark the newest message read and star it");
    if let Some(uid) = newest.last().and_then(Message::uid) {
        conn.mark_as_read("INBOX", &[uid])?;
        conn.add_star("INBOX", &[uid])?;
        let after = conn.fetch_metadata("INBOX", &[uid])?;
        let flags: Vec<String> = after
            .first()
            .map(|m| m.flags().iter().map(Flag::to_string).collect())
            .unwrap_or_default();
        println!("  #{uid} now has {}", flags.join(" "));
    } else {
        println!("  (INBOX is empty)");
    }

    tour.step("4 pool workers fetch INBOX in parallel");
    let uids = conn.search("INBOX", &SearchQuery::all())?;
    let handler = ImapHandler::with_options(PoolOptions::new().max_per_account(4))?;
    let t = Instant::now();
    let counts: Vec<mailwire::Result<usize>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let share: Vec<u32> = uids.iter().skip(w).step_by(4).collect();
                let handler = &handler;
                scope.spawn(move || -> mailwire::Result<usize> {
                    let got = handler.fetch_messages(config, "INBOX", share, FetchWhat::Full)?;
                    print!(".");
                    let _ = std::io::stdout().flush();
                    Ok(got.len())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Ok(0)))
            .collect()
    });
    let total: usize = counts
        .into_iter()
        .collect::<mailwire::Result<Vec<usize>>>()?
        .iter()
        .sum();
    let stats = handler.stats(config);
    println!(
        "\n  {total} messages in {}; pool: {} connections created, {} idle, {} in use",
        ms(t.elapsed()),
        stats.created,
        stats.idle,
        stats.in_use
    );
    handler.disconnect_all();

    tour.step("An IdleListener sees a message appended by another connection");
    let listener = IdleListener::builder(config.clone())
        .folder("INBOX")
        .spawn()?;
    let events = listener.events();
    // Let the listener settle into IDLE, so that what follows is a real push notification.
    std::thread::sleep(Duration::from_millis(300));
    let appended_at = Instant::now();
    let message = format!(
        "From: mailwire tour <tour@example.org>\r\nTo: {}\r\nSubject: Hello from the mailwire tour\r\n\r\nAppended to show IDLE.\r\n",
        config.user().unwrap_or("you")
    );
    let appended = conn.append("INBOX", message.as_bytes(), &[], None)?;
    print!(
        "  appended (UID {}); waiting for IDLE",
        appended.map(|a| a.uid).unwrap_or(0)
    );
    let _ = std::io::stdout().flush();
    let mut reported = false;
    while appended_at.elapsed() < Duration::from_secs(10) {
        match events.recv_timeout(Duration::from_millis(250)) {
            Ok(IdleEvent::NewMessages { uids }) => {
                println!(
                    "\n  NewMessages {uids:?} after {}",
                    ms(appended_at.elapsed())
                );
                reported = true;
                break;
            }
            Ok(_) => {}
            Err(_) => {
                print!(".");
                let _ = std::io::stdout().flush();
            }
        }
    }
    if !reported {
        println!("\n  no notification within 10 s");
    }
    listener.stop();
    conn.logout();

    tour.step("POP3: stat, uidl and top");
    if std::env::var("MAILWIRE_POP3_PORT").is_err() {
        println!("  skipped: set MAILWIRE_POP3_PORT to include POP3");
        return Ok(());
    }
    let t = Instant::now();
    let pop = Pop3Handler::connect(config)?;
    let stat = pop.stat()?;
    println!(
        "  STAT: {} messages, {} octets ({})",
        stat.count,
        stat.size,
        ms(t.elapsed())
    );
    let uidl = pop.uidl()?;
    for entry in uidl.iter().take(3) {
        println!("  UIDL {:>3} {}", entry.number, entry.uid);
    }
    if let Some(first) = uidl.first() {
        let top = pop.fetch_headers(first.number, 0)?;
        println!(
            "  TOP {} 0: {}",
            first.number,
            top.subject().unwrap_or_else(|| "(no subject)".into())
        );
    }
    pop.quit()?;
    Ok(())
}
