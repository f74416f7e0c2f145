#![no_main]
//! Arbitrary bytes as the *server* of a whole POP3 session (greeting, CAPA, login, STAT,
//! LIST, UIDL, TOP, RETR, DELE, RSET, NOOP, QUIT) over an in-memory pipe: no panic, no
//! abort, no unbounded memory (run under `-rss_limit_mb` / `-malloc_limit_mb`, see
//! scripts/fuzz), no hang.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|server: &[u8]| {
    mailwire::fuzzing::pop3_session(server);
});
