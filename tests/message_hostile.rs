//! Hostile mail content: messages built to make reading them slow or huge (anyone who can
//! send mail can send these). Every accessor must return within a generous bound, stay
//! linear in the input, and the documented caps (`Message::MAX_*`) must show through what
//! the API returns: the parts listed, the header values found, the `MimeError`s reported.
//!
//! The time bounds are hang bounds (seconds, in the opt-level=1 test profile), not speed
//! assertions: the code as found took from 30 s to hours on these inputs in release builds.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use mailwire::Message;

const MAX_PARTS: usize = Message::MAX_PARTS;
const MAX_HEADER_FIELDS: usize = Message::MAX_HEADER_FIELDS;
const MAX_NESTING: usize = Message::MAX_NESTING;
const MAX_PARAMETERS: usize = Message::MAX_PARAMETERS;

/// Generous bound for one accessor call on a hostile message.
const HANG_BOUND: Duration = Duration::from_secs(5);

/// Runs `f` on its own thread and fails the test when it has not returned within
/// [`HANG_BOUND`] (the thread is left running; the test binary ends anyway).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(HANG_BOUND) {
        Ok(value) => value,
        Err(_) => panic!(
            "{what} did not return within {HANG_BOUND:?} ({:?} so far)",
            started.elapsed()
        ),
    }
}

/// Calls every accessor within the hang bound each.
fn read_everything(m: &Message) {
    let m1 = m.clone();
    within("subject", move || m1.subject());
    let m1 = m.clone();
    within("addresses", move || {
        (m1.from(), m1.to(), m1.cc(), m1.bcc(), m1.reply_to())
    });
    let m1 = m.clone();
    within("date and ids", move || {
        (
            m1.date(),
            m1.message_id(),
            m1.in_reply_to(),
            m1.references(),
        )
    });
    let m1 = m.clone();
    within("bodies, parts and attachments", move || {
        let mut n = m1.text_body().map_or(0, str::len) + m1.html_body().map_or(0, str::len);
        for p in m1.parts() {
            n += p.data().len() + p.filename().map_or(0, str::len);
            n += p.text().map_or(0, |t| t.len());
        }
        for a in m1.attachments() {
            n += a.data().len() + a.content_type().len();
        }
        n + m1.mime_errors().len()
    });
    let m1 = m.clone();
    within("Debug", move || format!("{m1:?}").len());
}

fn repeat(piece: &[u8], times: usize) -> Vec<u8> {
    piece.repeat(times)
}

#[test]
fn a_megabyte_subject_of_encoded_word_openers_decodes_linearly() {
    // What took 44 s (release) for one `subject()`: 1 MB of "=?".
    let mut raw = b"From: a@example.org\r\nSubject: ".to_vec();
    raw.extend(repeat(b"=?", 500_000));
    raw.extend_from_slice(b"\r\n\r\nbody\r\n");
    let m = Message::from_bytes(raw);
    let m1 = m.clone();
    let subject = within("subject of 1 MB of =?", move || m1.subject());
    // Nothing in it is an encoded word: the value is kept whole, not cut.
    assert_eq!(subject.as_deref().map(str::len), Some(1_000_000));
    assert!(
        subject
            .unwrap_or_default()
            .bytes()
            .all(|b| b == b'=' || b == b'?')
    );
    let m1 = m.clone();
    assert_eq!(
        within("subject again (cached)", move || m1.subject()).map(|s| s.len()),
        Some(1_000_000)
    );
    read_everything(&m);
}

#[test]
fn encoded_words_by_the_hundred_thousand_decode_linearly() {
    // 100,000 valid encoded words, and then the same number of word openers whose "?="
    // is never followed by a delimiter (each one used to rescan the rest of the line).
    let mut raw = b"Subject: ".to_vec();
    raw.extend(repeat(b"=?utf-8?q?a?= ", 100_000));
    raw.extend_from_slice(b"\r\nX-Openers: ");
    raw.extend(repeat(b"=?a?q?b?=x", 100_000));
    raw.extend_from_slice(b"\r\n\r\n");
    let m = Message::from_bytes(raw);
    let m1 = m.clone();
    let subject = within("subject of 100,000 encoded words", move || m1.subject());
    // Whitespace between adjacent encoded words is dropped (RFC 2047 §6.2).
    assert_eq!(subject, Some("a".repeat(100_000)));
    let m1 = m.clone();
    let openers = within("100,000 undelimited words", move || m1.header("X-Openers"));
    assert_eq!(openers.map(|v| v.len()), Some(1_000_000));
    read_everything(&m);
}

#[test]
fn address_headers_are_parsed_linearly() {
    let mut raw = b"From: a@example.org\r\nTo: ".to_vec();
    raw.extend(repeat(b"=?", 500_000));
    raw.extend_from_slice(b"\r\nCc: ");
    let n = 20_000;
    for i in 0..n {
        raw.extend_from_slice(format!("=?utf-8?q?n=C3=A4{i}?= <u{i}@example.org>, ").as_bytes());
    }
    raw.extend_from_slice(b"\r\n\r\nbody\r\n");
    let m = Message::from_bytes(raw);
    let m1 = m.clone();
    assert!(within("To of 1 MB of =?", move || m1.to()).is_empty());
    let m1 = m.clone();
    let cc = within("Cc of 20,000 addresses", move || m1.cc());
    assert_eq!(cc.len(), n);
    assert_eq!(cc[1234].name(), Some("nä1234"));
    assert_eq!(cc[1234].email(), "u1234@example.org");
    read_everything(&m);
}

#[test]
fn a_message_of_many_thousand_parts_lists_at_most_the_cap() {
    let n = 200_000;
    let mut raw = b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    raw.extend(repeat(b"--b\r\n", n));
    raw.extend_from_slice(b"--b--\r\n");
    let m = Message::from_bytes(raw);
    let m1 = m.clone();
    let parts = within("parts of a 200,000-part message", move || m1.parts().len());
    assert_eq!(parts, MAX_PARTS);
    let bodies = usize::from(m.text_body().is_some()) + usize::from(m.html_body().is_some());
    assert_eq!(bodies + m.attachments().len(), MAX_PARTS);
    let capped: Vec<_> = m
        .mime_errors()
        .iter()
        .filter(|e| {
            e.message
                .contains(&format!("more than {MAX_PARTS} MIME parts"))
        })
        .collect();
    assert_eq!(capped.len(), 1, "{:?}", m.mime_errors());
    // Reported where the first part left out begins.
    let first_skipped = b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        .len()
        + 5 * (MAX_PARTS + 1);
    assert_eq!(capped[0].offset, first_skipped);
    read_everything(&m);
}

#[test]
fn attachments_share_the_parsed_parts_and_unencoded_content_is_not_copied() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n".to_vec();
    for i in 0..100 {
        raw.extend_from_slice(
            format!(
                "--b\r\nContent-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename=f{i}.bin\r\n\r\ndata {i}\r\n"
            )
            .as_bytes(),
        );
    }
    raw.extend_from_slice(b"--b--\r\n");
    let m = Message::from_bytes(raw);
    let raw_range = m.raw().as_ptr_range();
    let parts = m.parts();
    assert_eq!(parts.len(), 101);
    assert_eq!(m.attachments().len(), 100);
    for (a, p) in m.attachments().iter().zip(&parts[1..]) {
        // The attachment is the part itself, not a copy of it.
        assert_eq!(a.path().as_ptr(), p.path().as_ptr());
        assert_eq!(a.filename().map(str::as_ptr), p.filename().map(str::as_ptr));
        assert_eq!(a.data().as_ptr(), p.data().as_ptr());
        // 7bit content is read in place from the message's bytes.
        assert!(raw_range.contains(&p.data().as_ptr()), "{p:?} copied");
    }
}

#[test]
fn deep_nesting_around_a_large_body_is_capped_and_linear() {
    // Every level of nesting used to rescan everything below it.
    let depth = 10_000;
    let mut raw = Vec::new();
    for i in 0..depth {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
    // Lines that look like delimiters of every level but are none.
    raw.extend(repeat(b"--b1 x\r\n--b\r\n", 400_000));
    let m = Message::from_bytes(raw);
    let m1 = m.clone();
    let parts = within("parts of 10,000 nested multiparts", move || {
        m1.parts().len()
    });
    assert_eq!(parts, 0);
    let too_deep: Vec<_> = m
        .mime_errors()
        .iter()
        .filter(|e| {
            e.message
                .contains(&format!("nested more than {MAX_NESTING} deep"))
        })
        .collect();
    assert_eq!(too_deep.len(), 1, "{:?}", m.mime_errors());
    read_everything(&m);
}

#[test]
fn a_million_tiny_header_fields_index_at_most_the_cap() {
    let mut raw = b"Subject: many fields\r\n".to_vec();
    raw.extend(repeat(b"X: y\r\n", 1_000_000));
    raw.extend_from_slice(b"X-Last: after the cap\r\n\r\nbody\r\n");
    let m = Message::from_bytes(raw);
    let m1 = m.clone();
    let xs = within("headers(X) of 1 M fields", move || m1.headers("X").len());
    // The Subject is the first field; the cap leaves room for MAX_HEADER_FIELDS - 1 X's.
    assert_eq!(xs, MAX_HEADER_FIELDS - 1);
    assert_eq!(m.subject().as_deref(), Some("many fields"));
    assert_eq!(m.header("X-Last"), None);
    // The body is still found after the fields left out.
    assert_eq!(m.text_body(), Some("body\r\n"));
    assert!(
        m.mime_errors().iter().any(|e| e
            .message
            .contains(&format!("more than {MAX_HEADER_FIELDS} header fields"))),
        "{:?}",
        m.mime_errors()
    );
    read_everything(&m);
}

#[test]
fn parameters_beyond_the_cap_are_ignored() {
    // 100,000 parameters nobody reads, and a file name in 100,000 RFC 2231 segments.
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
                    Content-Type: application/octet-stream\r\n\
                    Content-Disposition: attachment; filename*0*=utf-8''kept"
        .to_vec();
    for i in 1..100_000 {
        raw.extend_from_slice(format!("; p{i}*0*=utf-8''x; filename*{i}=x").as_bytes());
    }
    raw.extend_from_slice(b"\r\n\r\ndata\r\n--b--\r\n");
    let m = Message::from_bytes(raw);
    let m1 = m.clone();
    let names = within("attachments with 200,000 parameters", move || {
        m1.attachments()
            .iter()
            .map(|a| a.filename().map(str::to_string))
            .collect::<Vec<_>>()
    });
    let expected = format!("kept{}", "x".repeat(MAX_PARAMETERS - 1));
    assert_eq!(names, vec![Some(expected)]);
    let capped: Vec<_> = m
        .mime_errors()
        .iter()
        .filter(|e| {
            e.message
                .contains(&format!("more than {MAX_PARAMETERS} parameters"))
        })
        .collect();
    assert_eq!(capped.len(), 1, "{:?}", m.mime_errors());
    read_everything(&m);
}

#[test]
fn dates_with_absurd_years_are_refused() {
    for date in [
        "Thu, 1 Jan 4294967295 00:00:00 +0000",
        "1 Jan 99999 00:00:00 +0000",
        "1 Jan 00000000000000000000002024 00:00:00 +0000",
    ] {
        let m = Message::from_bytes(format!("Date: {date}\r\n\r\n").into_bytes());
        let m1 = m.clone();
        assert_eq!(within("date", move || m1.date()), None, "{date}");
    }
    let m = Message::from_bytes(b"Date: Tue, 01 Oct 2024 14:30:00 +0200\r\n\r\n".to_vec());
    assert_eq!(m.date(), Some(1_727_785_800));
}

#[test]
fn debug_and_mime_errors_stay_short_and_escaped_on_hostile_values() {
    let mut raw = b"Subject: ".to_vec();
    raw.extend(repeat(b"\x1b[31m", 100_000));
    raw.extend_from_slice(b"\r\nContent-Type: multipart/\x1b[2Jmixed; boundary=\"");
    raw.extend(repeat(b"\x1b[1m", 50_000));
    raw.extend_from_slice(b"\"\r\n\r\nno delimiter here\r\n");
    let m = Message::from_bytes(raw);
    let debug = format!("{m:?}");
    assert!(debug.len() < 1_000, "{} bytes of Debug", debug.len());
    assert!(!debug.contains('\x1b'), "{debug}");
    assert!(!m.mime_errors().is_empty());
    for e in m.mime_errors() {
        let shown = e.to_string();
        assert!(shown.len() < 1_000, "{} bytes: {shown:.200}", shown.len());
        assert!(!shown.contains('\x1b'), "{shown:.200}");
        let as_error = mailwire::Error::from(e.clone()).to_string();
        assert!(
            as_error.len() < 1_000 && !as_error.contains('\x1b'),
            "{as_error:.200}"
        );
    }
}
