//! The pieces of a scripted IMAP server's script that many integration tests share: the
//! greeting and `LOGIN` of `user` with given capabilities, one exact command, `LOGOUT`, and
//! the checks after it. Included with `#[path = "support/imap_scripts.rs"] mod imap_scripts;`
//! beside `mod support;` (it uses `mailwire`, which `support/mod.rs` must not).
#![allow(dead_code)]

use std::time::Duration;

use mailwire::imap::ImapConnection;

use crate::support::script_server::{Script, ScriptServer};

/// Greets with exactly `caps` and answers the `LOGIN` of `user` (as
/// `configs::scripted` logs in), announcing `caps` again.
pub fn login(caps: &str) -> Script {
    Script::new()
        .send_line(&format!("* OK [CAPABILITY {caps}] scripted"))
        .expect_contains("LOGIN user")
        .reply_tagged(&format!("OK [CAPABILITY {caps}] logged in"))
}

/// [`login`] with `IMAP4rev1 ` before the extensions `extra`.
pub fn logged_in(extra: &str) -> Script {
    login(&format!("IMAP4rev1 {extra}"))
}

/// Expects the command `rest` exactly, whatever its tag.
pub fn command(script: Script, rest: &'static str) -> Script {
    script.expect(move |l| l.split_once(' ').is_some_and(|(_, r)| r == rest))
}

/// Answers `LOGOUT` (`BYE`, then the tagged `OK`) and closes.
pub fn logout(script: Script) -> Script {
    script
        .expect_contains("LOGOUT")
        .send_line("* BYE bye")
        .reply_tagged("OK done")
        .close()
}

/// Logs out and checks that the scripted server saw exactly its script.
pub fn log_out_and_check(conn: ImapConnection, server: &ScriptServer) {
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(10)));
    server.assert_ok();
}

/// A call refused before sending, naming the capability it needs.
pub fn assert_refused_naming(err: &mailwire::Error, capability: &str) {
    assert!(
        matches!(err, mailwire::Error::InvalidInput { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(capability), "{err}");
}
