#![no_main]
//! Arbitrary bytes as the *server* of a whole IMAP session (greeting, login, IDLE, LIST,
//! SELECT, SEARCH, FETCH, NOOP, LOGOUT) over an in-memory pipe: no panic, no abort, no
//! unbounded memory (run under `-rss_limit_mb` / `-malloc_limit_mb`, see scripts/fuzz), no
//! hang.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|server: &[u8]| {
    mailwire::fuzzing::imap_session(server);
});
