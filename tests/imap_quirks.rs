//! The server defects MailKit works around, tolerated by mailwire's parser: every transcript
//! under `tests/transcripts/` parses with no error line (what `cargo run --example
//! parse_transcript` checks), each defect reads as what the server meant, a session uses
//! Exchange's bare `[COPYUID …]` line, and each tolerance stays bounded (a second level of
//! wrapping, a malformed negative number, or a missing value elsewhere is still an error).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use mailwire::imap::ImapConnection;
use mailwire::imap::codec::frame::{FrameEvent, Framer};
use mailwire::imap::codec::parse::{parse_fetch, parse_response};
use mailwire::imap::types::{FetchData, Response, ResponseCode, Status, Untagged};
use mailwire::{Config, Error, Limits, RetryPolicy, Security};
use support::script_server::{Script, ScriptServer};

fn transcripts() -> Vec<PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    files
}

/// What `examples/parse_transcript.rs` does with one file: frames it, parses every
/// response; returns the responses and the error lines it would print.
fn parse_like_the_example(bytes: &[u8]) -> (Vec<Response>, Vec<String>) {
    let mut framer = Framer::new(Limits::default());
    framer.extend(bytes);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    loop {
        match framer.next_frame() {
            Ok(Some(FrameEvent::Response(frame))) => match parse_response(frame.bytes) {
                Ok(r) => out.push(r),
                Err(e) => errors.push(format!("{} ERROR {e}", frame.stream_offset)),
            },
            Ok(Some(_)) => {}
            Ok(None) => {
                if !framer.is_idle() {
                    errors.push("incomplete response at the end of the file".into());
                }
                break;
            }
            Err(e) => {
                errors.push(format!("FRAMING ERROR {e}"));
                break;
            }
        }
    }
    (out, errors)
}

fn transcript(name: &str) -> Vec<Response> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(name);
    let (rs, errors) = parse_like_the_example(&std::fs::read(path).unwrap());
    assert!(errors.is_empty(), "{name}: {errors:?}");
    rs
}

fn fetch_items(r: &Response) -> &[FetchData] {
    match r {
        Response::Untagged(Untagged::Fetch { items, .. }) => items,
        other => panic!("not a FETCH: {other:?}"),
    }
}

#[test]
fn every_transcript_parses_with_no_error_line() {
    let files = transcripts();
    assert!(files.len() >= 11, "{files:?}");
    let mut failures = Vec::new();
    let mut responses = 0;
    for file in &files {
        let (rs, errors) = parse_like_the_example(&std::fs::read(file).unwrap());
        responses += rs.len();
        failures.extend(
            errors
                .into_iter()
                .map(|e| format!("{}: {e}", file.display())),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(responses > 150, "{responses} responses");
}

#[test]
fn exchange_bare_response_code_reads_as_untagged_ok() {
    let rs = transcript("exchange-bare-code.bin");
    assert_eq!(
        rs[1],
        Response::Untagged(Untagged::Condition {
            status: Status::Ok,
            code: Some(ResponseCode::CopyUid {
                uid_validity: 55,
                source: vec![(31, 31)].into_iter().collect(),
                dest: vec![(6, 6)].into_iter().collect(),
            }),
            text: String::new(),
        })
    );
    // home.pl's `* [COPYUID …]`, no status word.
    assert!(matches!(
        &rs[5],
        Response::Untagged(Untagged::Condition {
            status: Status::Ok,
            code: Some(ResponseCode::CopyUid {
                uid_validity: 55,
                ..
            }),
            ..
        })
    ));
    // A bare line that is not a response code is still an error.
    assert!(parse_response(b"[COPYUID 55 31\r\n").is_err());
    assert!(parse_response(b"(COPYUID 55 31 6)\r\n").is_err());
}

#[test]
fn domino_wrapped_items_read_as_items() {
    let rs = transcript("domino-wrapped-items.bin");
    let items = fetch_items(&rs[1]);
    assert_eq!(items[0], FetchData::Uid(14960));
    assert!(matches!(items[1], FetchData::Envelope(_)), "{items:?}");
    assert!(matches!(items[2], FetchData::BodyStructure(_)), "{items:?}");
    let items = fetch_items(&rs[2]);
    assert!(
        matches!(&items[1], FetchData::Envelope(e) if e.subject.as_deref() == Some(&b"Wrapped"[..]))
    );
    assert_eq!(items[2], FetchData::Rfc822Size(120));
    // parse_fetch (what the connection's fetches use) agrees.
    let parts = parse_fetch(
        b"* 1 FETCH (UID 14960 (ENVELOPE (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL)))\r\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(parts.uid, Some(14960));
    assert_eq!(parts.envelope.unwrap().subject.as_deref(), Some(&b"s"[..]));
    // One level only: a group inside a group, or an unclosed group, is an error.
    for bad in [
        &b"* 1 FETCH (UID 1 ((FLAGS ())))\r\n"[..],
        b"* 1 FETCH (UID 1 (FLAGS ()\r\n",
        b"* 1 FETCH (UID 1 ()\r\n",
    ] {
        assert!(
            matches!(parse_response(bad), Err(Error::Protocol { .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // An empty group is nothing.
    assert_eq!(
        fetch_items(&parse_response(b"* 1 FETCH (UID 1 ())\r\n").unwrap()),
        &[FetchData::Uid(1)]
    );
}

#[test]
fn yandex_missing_section_content_reads_as_nil() {
    let rs = transcript("yandex-missing-section.bin");
    let items = fetch_items(&rs[1]);
    assert!(
        matches!(&items[1], FetchData::BodySection { section, data: Some(d), .. } if section == "2.MIME" && d.starts_with(b"Content-Type"))
    );
    assert_eq!(
        items[2],
        FetchData::BodySection {
            section: "2".into(),
            origin: None,
            data: None
        }
    );
    let parts = parse_fetch(b"* 2 FETCH (UID 3017 BODY[1] )\r\n")
        .unwrap()
        .unwrap();
    assert_eq!((parts.uid, parts.content), (Some(3017), None));
    // A missing value anywhere else is still an error.
    assert!(parse_response(b"* 1 FETCH (UID )\r\n").is_err());
    assert!(parse_response(b"* 1 FETCH (RFC822.SIZE )\r\n").is_err());
}

#[test]
fn zoho_negative_modseq_reads_as_no_modseq() {
    let rs = transcript("zoho-negative-modseq.bin");
    assert_eq!(fetch_items(&rs[1])[0], FetchData::ModSeq(0));
    for r in [&rs[2], &rs[4]] {
        let items = fetch_items(r);
        assert!(
            items
                .iter()
                .any(|i| matches!(i, FetchData::Other { name, .. } if name == "MODSEQ")),
            "{items:?}"
        );
        assert!(!items.iter().any(|i| matches!(i, FetchData::ModSeq(_))));
    }
    assert_eq!(
        fetch_items(&rs[3])[0],
        FetchData::ModSeq(1538484935027010002)
    );
    let parts = parse_fetch(b"* 2 FETCH (MODSEQ (-1) FLAGS (\\Seen) UID 336)\r\n")
        .unwrap()
        .unwrap();
    assert_eq!((parts.uid, parts.mod_seq), (Some(336), None));
    // Bounded: a sign without digits, too many digits, or no `)` is an error.
    for bad in [
        &b"* 1 FETCH (MODSEQ (-) UID 1)\r\n"[..],
        b"* 1 FETCH (MODSEQ (-123456789012345678901) UID 1)\r\n",
        b"* 1 FETCH (MODSEQ (-1 UID 1)\r\n",
        b"* 1 FETCH (MODSEQ (--1) UID 1)\r\n",
    ] {
        assert!(
            matches!(parse_response(bad), Err(Error::Protocol { .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn a_move_on_exchange_reads_the_bare_copyuid_line() {
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 MOVE UIDPLUS] The Microsoft Exchange IMAP4 service is ready.")
            .expect_contains("LOGIN user")
            .reply_tagged("OK [CAPABILITY IMAP4rev1 MOVE UIDPLUS] logged in")
            .expect_contains("SELECT INBOX")
            .send_line("* 3 EXISTS")
            .send_line("* OK [UIDVALIDITY 7] ok")
            .reply_tagged("OK [READ-WRITE] selected")
            .expect_contains("UID MOVE 31 Archive")
            .send_line("[COPYUID 55 31 6]")
            .send_line("* 1 EXPUNGE")
            .reply_tagged("OK MOVE completed.")
            .expect_contains("LOGOUT")
            .reply_tagged("OK bye")
            .close(),
    ]);
    let config = Config::builder("127.0.0.1")
        .port(server.port())
        .security(Security::Plain)
        .login("user", "secret")
        .timeouts(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let conn = ImapConnection::connect(&config).unwrap();
    let moved = conn
        .move_messages("INBOX", &[31], "Archive")
        .unwrap()
        .unwrap();
    assert_eq!(moved.uid_validity, 55);
    assert_eq!(moved.target_of(31), Some(6));
    conn.logout();
    assert!(server.wait_done(Duration::from_secs(5)));
    server.assert_ok();
}

/// The fuzz target's invariant (`fuzz/fuzz_targets/imap_response.rs`) on the quirk
/// transcripts mutated around the bytes the tolerances look at (`(`, `)`, `[`, `]`, `-`,
/// line ends): no panic, and `parse_fetch` reads exactly the FETCH responses
/// `parse_response` reads.
#[test]
fn mutated_quirk_transcripts_keep_the_parsers_in_agreement() {
    let names = [
        "exchange-bare-code.bin",
        "domino-wrapped-items.bin",
        "yandex-missing-section.bin",
        "zoho-negative-modseq.bin",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"()[]- \r\n0{}*";
    let mut checked = 0;
    for name in names {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/transcripts")
            .join(name);
        let data = std::fs::read(path).unwrap();
        for line in data.split_inclusive(|&b| b == b'\n') {
            for _ in 0..400 {
                let mut m = line.to_vec();
                for _ in 0..1 + next() % 3 {
                    let at = usize::try_from(next()).unwrap() % m.len().max(1);
                    let c = alphabet[usize::try_from(next()).unwrap() % alphabet.len()];
                    match next() % 3 {
                        0 if at < m.len() => m[at] = c,
                        1 => m.insert(at.min(m.len()), c),
                        _ => m.truncate(at.max(1)),
                    }
                }
                let general = parse_response(&m);
                let is_fetch = matches!(general, Ok(Response::Untagged(Untagged::Fetch { .. })));
                match parse_fetch(&m) {
                    Ok(Some(_)) => assert!(is_fetch, "{:?}", String::from_utf8_lossy(&m)),
                    Ok(None) => assert!(!is_fetch, "{:?}", String::from_utf8_lossy(&m)),
                    Err(_) => assert!(general.is_err(), "{:?}", String::from_utf8_lossy(&m)),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}
