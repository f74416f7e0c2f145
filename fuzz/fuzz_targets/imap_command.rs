#![no_main]
//! Arbitrary user strings through the IMAP command encoder: every command it accepts must be
//! exactly one command on the wire (no CR, LF or NUL outside literals, literal announcements
//! that match what follows), and it must refuse rather than panic.

use libfuzzer_sys::fuzz_target;
use mailwire::imap::codec::{
    Command, EncodeOptions, Flag, InternalDate, LiteralMode, MailboxName, Secret, StoreAction,
};
use mailwire::imap::search::SearchQuery;
use mailwire::imap::seqset::SequenceSet;

/// If `line` ends with a literal announcement `{n}`, `{n+}`, `~{n}` or `~{n+}`, its size.
fn literal_size(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Counts the commands a server would see in `bytes`, checking that no CR, LF or NUL
/// appears outside a literal and that the stream ends at a command end.
fn count_commands(bytes: &[u8]) -> usize {
    let mut commands = 0;
    let mut pos = 0;
    let mut open = false;
    while pos < bytes.len() {
        let rel = bytes[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("bytes after the last CRLF");
        let line = &bytes[pos..pos + rel];
        assert!(
            !line.contains(&b'\r') && !line.contains(&b'\n') && !line.contains(&0),
            "CR, LF or NUL outside a literal: {:?}",
            String::from_utf8_lossy(line)
        );
        pos += rel + 2;
        match literal_size(line) {
            Some(n) => {
                assert!(pos + n <= bytes.len(), "literal runs past the end");
                pos += n;
                open = true;
            }
            None => {
                commands += 1;
                open = false;
            }
        }
    }
    assert!(!open, "unterminated command");
    commands
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut fields = rest.split(|&b| b == 0xff);
    let mut next = || String::from_utf8_lossy(fields.next().unwrap_or(&[])).into_owned();
    let (a, b, c) = (next(), next(), next());
    let raw = rest.split(|&b| b == 0xff).nth(3).unwrap_or(&[]).to_vec();
    let literal = match selector & 3 {
        0 => LiteralMode::Synchronizing,
        1 => LiteralMode::Plus,
        _ => LiteralMode::Minus,
    };
    let opts = EncodeOptions::new()
        .with_literal(literal)
        .with_utf8_accept(selector & 4 != 0);
    let flags = |s: &str| -> Vec<Flag> {
        s.split(' ')
            .filter_map(|w| Flag::parse(w).ok().or_else(|| Flag::keyword(w).ok()))
            .collect()
    };
    let command = match selector >> 3 {
        0 => Command::login(a, Secret::new(raw)),
        1 => Command::select(a),
        2 => Command::Rename {
            from: MailboxName::new(a),
            to: MailboxName::from_wire(raw),
        },
        3 => Command::list(a),
        4 => Command::uid_search(
            SearchQuery::subject(a.clone())
                .and(SearchQuery::header(b.clone(), c.clone()))
                .and(SearchQuery::keyword(b).or(!SearchQuery::body(c)))
                .and(SearchQuery::gmail_raw(a)),
        ),
        5 => Command::uid_store(SequenceSet::range(1, 9), StoreAction::Add, flags(&a)),
        6 => {
            let mut cmd = Command::append(a, flags(&b), raw);
            if let (Command::Append { date, .. }, Ok(d)) = (&mut cmd, InternalDate::parse(&c)) {
                *date = Some(d);
            }
            cmd
        }
        7 => Command::Authenticate {
            mechanism: a,
            initial_response: Some(Secret::new(raw)),
        },
        8 => Command::Id(vec![(a, Some(b)), (c, None)]),
        9 => Command::Enable(vec![a, b]),
        10 => Command::GetQuota(a),
        _ => Command::Status {
            mailbox: MailboxName::new(a),
            items: Vec::new(),
        },
    };
    if let Ok(tag_ok) = command.encode("A1", &opts) {
        let bytes = tag_ok.to_bytes();
        assert_eq!(tag_ok.parts().concat(), bytes);
        assert_eq!(count_commands(&bytes), 1, "{:?}", String::from_utf8_lossy(&bytes));
    }
});
