//! Entry points for the fuzz targets that play arbitrary bytes as the *server* of a whole
//! session. Not an API: compiled only with the `fuzzing` feature (and in the crate's own
//! tests); nothing here is stable.
//!
//! Each function runs a short client session over an in-memory pipe whose other end holds
//! `server` (then the end of the stream): greeting, login, the common calls, logout. Every
//! outcome is fine except a panic, an abort, unbounded memory or a hang — which is what
//! the fuzzer looks for. The limits are small so that a run cannot legitimately hold much.

use std::time::Duration;

use crate::config::{Config, Limits, RetryPolicy, Security};
use crate::imap::codec::Command;
use crate::imap::{ImapConnection, SearchQuery};
use crate::net::memory;

/// The limits the fuzzed sessions run with: a few MiB at most per response. Built once
/// (building a config loads the system's root certificates).
fn fuzz_config() -> Option<Config> {
    static CONFIG: std::sync::OnceLock<Option<Config>> = std::sync::OnceLock::new();
    CONFIG.get_or_init(build_config).clone()
}

fn build_config() -> Option<Config> {
    Config::builder("fuzz.invalid")
        .security(Security::Plain)
        .login("fuzz", "password")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .limits(Limits {
            max_line_length: 64 * 1024,
            max_literal_size: 1 << 20,
            max_response_size: 2 << 20,
            max_untagged_responses: 10_000,
            max_untagged_bytes: 2 << 20,
            max_listing_size: 1 << 20,
            max_set_ranges: 10_000,
            ..Limits::default()
        })
        .build()
        .ok()
}

/// An IMAP session against `server`: greeting, LOGIN, IDLE for one response, LIST, SELECT,
/// SEARCH, FETCH of what was found (at most ten), NOOP, LOGOUT.
pub fn imap_session(server: &[u8]) {
    let Some(config) = fuzz_config() else { return };
    let (client, mut peer) = memory::pair();
    if peer.write_and_close(server).is_err() {
        return;
    }
    let Ok(mut session) = crate::imap::session::Session::over_memory(client, &config) else {
        return;
    };
    if let Ok((tag, _)) = session.idle_start() {
        let _ = session.poll_untagged(Duration::from_millis(1));
        let _ = session.idle_done(&tag, Duration::from_millis(1));
    }
    let conn = ImapConnection::from_session(session);
    let _ = conn.list_folders();
    let _ = conn.select("INBOX");
    if let Ok(found) = conn.search("INBOX", &SearchQuery::all()) {
        let some: Vec<u32> = found.into_iter().take(10).collect();
        let _ = conn.fetch_messages("INBOX", &some);
        let _ = conn.fetch_headers("INBOX", &some);
    }
    let _ = conn.noop();
    {
        let mut guard = conn.lock();
        let _ = guard.run(&Command::Noop);
    }
    conn.logout();
    drop(peer);
}

/// A POP3 session against `server`: greeting, CAPA, USER/PASS (or AUTH), CAPA, STAT, LIST,
/// UIDL, TOP and RETR of the first listed messages (at most five), DELE, RSET, NOOP, QUIT.
pub fn pop3_session(server: &[u8]) {
    use crate::pop3::{Pop3Handler, Pop3Options};

    let Some(config) = fuzz_config() else { return };
    let (client, mut peer) = memory::pair();
    if peer.write_and_close(server).is_err() {
        return;
    }
    let options = Pop3Options::default();
    let Ok(session) = crate::pop3::session::Session::over_memory(client, &config, options) else {
        return;
    };
    let pop = Pop3Handler::from_session(session);
    let _ = pop.stat();
    let numbers: Vec<u32> = pop
        .list()
        .map(|entries| entries.iter().take(5).map(|e| e.number).collect())
        .unwrap_or_default();
    let _ = pop.uidl();
    for &n in &numbers {
        let _ = pop.fetch_headers(n, 10);
    }
    let _ = pop.fetch_messages(&numbers);
    let _ = pop.fetch_to_writer(1, &mut std::io::sink());
    let _ = pop.delete_messages(&numbers);
    let _ = pop.reset();
    let _ = pop.noop();
    let _ = pop.quit();
    drop(peer);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &[u8] = b"* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n\
A1 OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n\
+ idling\r\n* 3 EXISTS\r\nA2 OK idle done\r\n\
* LIST (\\HasNoChildren) \"/\" INBOX\r\nA3 OK list\r\n\
* 3 EXISTS\r\n* OK [UIDVALIDITY 9] v\r\nA4 OK [READ-WRITE] selected\r\n\
* SEARCH 1 2 3\r\nA5 OK searched\r\n\
* 1 FETCH (UID 1 RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\nA6 OK fetched\r\n";

    #[test]
    fn a_plausible_session_and_its_every_prefix_end_without_panic() {
        for end in 0..=SESSION.len() {
            imap_session(&SESSION[..end]);
        }
    }

    const POP3: &[u8] = b"+OK ready <1.2@x>\r\n+OK\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n.\r\n\
+OK\r\n+OK in\r\n+OK\r\nUSER\r\nUIDL\r\n.\r\n+OK 2 30\r\n+OK\r\n1 10\r\n2 20\r\n.\r\n\
+OK\r\n1 a\r\n2 b\r\n.\r\n+OK\r\nSubject: x\r\n\r\n.\r\n+OK\r\nSubject: y\r\n\r\n.\r\n\
+OK\r\nSubject: x\r\n\r\nhi\r\n.\r\n+OK\r\n..dot\r\n.\r\n+OK\r\n.\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK bye\r\n";

    #[test]
    fn a_plausible_pop3_session_and_its_every_prefix_end_without_panic() {
        for end in 0..=POP3.len() {
            pop3_session(&POP3[..end]);
        }
    }

    #[test]
    fn pseudo_random_servers_end_without_panic() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..300 {
            let len = (next() % 600) as usize;
            // Mutate the plausible session: random bytes spliced into it.
            let mut bytes = SESSION.to_vec();
            for _ in 0..len % 20 {
                let at = (next() as usize) % bytes.len();
                bytes[at] = (next() % 256) as u8;
            }
            imap_session(&bytes);
            let mut bytes = POP3.to_vec();
            for _ in 0..len % 20 {
                let at = (next() as usize) % bytes.len();
                bytes[at] = (next() % 256) as u8;
            }
            pop3_session(&bytes);
        }
    }
}
