//! Each error class, provoked on purpose, and what to do about it.
//!
//! ```text
//! cargo run --example error_handling
//! ```

#[path = "common/mod.rs"]
mod common;

use mailwire::imap::ImapConnection;
use mailwire::{Error, ServerStatus};

/// What a caller should do with an error.
fn advice(e: &Error) -> &'static str {
    match e {
        Error::Auth { .. } => "ask for new credentials; never retry automatically",
        Error::InvalidInput { .. } => "fix the argument; nothing was sent, the connection is fine",
        e if e.is_missing_folder() => "the folder does not exist: create it or fix the name",
        Error::Server {
            status: ServerStatus::No | ServerStatus::Bad,
            ..
        } => "the server refused this command; the connection is still usable",
        Error::UidValidityChanged { .. } => "drop cached UIDs of the folder and resynchronise",
        Error::LimitExceeded { .. } => {
            "reconnect; raise the limit in Config if the server is legitimate"
        }
        Error::Tls { .. } | Error::StartTlsUnavailable { .. } => {
            "check the certificate / security mode; never fall back to plaintext"
        }
        e if e.is_transient() => "transient: reconnect and retry later",
        e if e.breaks_connection() => "the connection is unusable: reconnect",
        _ => "log it",
    }
}

fn show(label: &str, result: mailwire::Result<impl std::fmt::Debug>) {
    match result {
        Ok(v) => println!("{label}: ok {v:?}"),
        Err(e) => println!(
            "{label}:\n    error:     {e}\n    transient: {}  breaks connection: {}\n    do:        {}",
            e.is_transient(),
            e.breaks_connection(),
            advice(&e)
        ),
    }
}

fn main() {
    // A wrong password (same account, other secret): Error::Auth, not retried.
    match common::builder()
        .login(common::user(), "certainly-not-the-password")
        .build()
    {
        Ok(wrong) => show("wrong password", ImapConnection::connect(&wrong).map(drop)),
        Err(e) => show("wrong password config", Err::<(), _>(e)),
    }
    let conn = common::connect();
    // Named in the server's layout (`mailwire/does/not/exist`, `INBOX.mailwire.does.…`).
    let missing = match conn.folder_path(["mailwire", "does", "not", "exist"]) {
        Ok(path) => path.into_string(),
        Err(e) => {
            show("folder path", Err::<(), _>(e));
            return;
        }
    };
    show("select a missing folder", conn.select(&missing));
    show(
        "a folder level holding the delimiter",
        conn.folder_path(["a.b/c"]),
    );
    show("folder name with NUL", conn.create_folder("bad\0name"));
    show(
        "keyword with a space",
        conn.add_keywords("INBOX", &[1], &["two words"]),
    );
    show(
        "copy to a missing folder",
        conn.copy("INBOX", &[1], &missing),
    );
    show(
        "raw command the server does not know",
        conn.raw_command("XNOSUCHTHING", vec![]),
    );
    show("noop (still usable)", conn.noop());
    conn.logout();
    show("noop after logout", conn.noop());
}
