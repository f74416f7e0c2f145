//! Records a session with the real Dovecot of the test harness (raw socket, no mailwire
//! client in between) and runs the bytes through the framer and parser: every response
//! must parse, and none of the kinds mailwire models may fall back to `Other`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mailwire::Limits;
use mailwire::imap::codec::frame::{FrameEvent, Framer};
use mailwire::imap::codec::parse::parse_response;
use mailwire::imap::types::{Response, Untagged};

/// Sends `command` (tagged `tag`) and returns the raw bytes up to its tagged completion.
fn exchange(stream: &mut TcpStream, tag: &str, command: &str) -> Vec<u8> {
    stream
        .write_all(format!("{tag} {command}\r\n").as_bytes())
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let marker = format!("\r\n{tag} ");
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed during {command}");
        out.extend_from_slice(&buf[..n]);
        let done = out
            .windows(marker.len())
            .position(|w| w == marker.as_bytes())
            .or_else(|| out.starts_with(format!("{tag} ").as_bytes()).then_some(0));
        if let Some(pos) = done
            && out[pos..].ends_with(b"\r\n")
            && out[pos + 2..].iter().filter(|&&b| b == b'\n').count() == 1
        {
            return out;
        }
    }
}

#[test]
fn a_recorded_dovecot_session_parses_completely() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let user = dc.add_user();
    let msg = b"From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\nTo: a@example.org, \"B, C\" <bc@example.org>\r\nSubject: live transcript\r\nMessage-ID: <live@example.org>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--x\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Disposition: attachment; filename=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--x--\r\n";
    dc.seed(&user, "INBOX", &[msg, msg]);
    dc.seed(&user, "Archive/2024", &[msg]);
    let mut s = TcpStream::connect(("127.0.0.1", dc.imap_port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut transcript = Vec::new();
    let mut greeting = [0u8; 512];
    let n = s.read(&mut greeting).unwrap();
    transcript.extend_from_slice(&greeting[..n]);
    let commands = [
        format!("LOGIN {} {}", user.name, user.password),
        "CAPABILITY".into(),
        "ENABLE QRESYNC".into(),
        "ID (\"name\" \"mailwire-test\")".into(),
        "NAMESPACE".into(),
        "LIST \"\" \"*\"".into(),
        "LIST \"\" \"*\" RETURN (SPECIAL-USE SUBSCRIBED)".into(),
        "LSUB \"\" \"*\"".into(),
        "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)".into(),
        "SELECT INBOX (CONDSTORE)".into(),
        "UID SEARCH ALL".into(),
        "UID SEARCH RETURN (MIN MAX COUNT ALL) ALL".into(),
        "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE MODSEQ)".into(),
        "UID FETCH 1 (BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[1]<0.3> BINARY.PEEK[2] BINARY.SIZE[2])".into(),
        "UID STORE 1 +FLAGS (\\Seen $Important)".into(),
        "UID STORE 2 +FLAGS.SILENT (\\Deleted)".into(),
        "UID EXPUNGE 2".into(),
        "GETQUOTAROOT INBOX".into(),
        "NOOP".into(),
        "LOGOUT".into(),
    ];
    for (i, c) in commands.iter().enumerate() {
        transcript.extend(exchange(&mut s, &format!("t{i}"), c));
    }
    let mut framer = Framer::new(Limits::default());
    framer.extend(&transcript);
    let mut count = 0;
    let mut kinds = std::collections::BTreeSet::new();
    while let Some(event) = framer.next_frame().unwrap() {
        let FrameEvent::Response(frame) = event else {
            panic!("unexpected streaming event")
        };
        let bytes = frame.bytes.to_vec();
        let response = parse_response(&bytes)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&bytes)));
        if let Response::Untagged(Untagged::Other { raw }) = &response {
            panic!("kept raw: {}", String::from_utf8_lossy(raw));
        }
        if let Response::Untagged(u) = &response {
            kinds.insert(
                format!("{u:?}")
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        count += 1;
    }
    assert!(framer.is_idle(), "bytes left unframed");
    println!("{count} responses parsed; kinds: {kinds:?}");
    for kind in [
        "Capability",
        "Enabled",
        "Id",
        "Namespace",
        "List",
        "Lsub",
        "MailboxStatus",
        "Search",
        "Esearch",
        "Fetch",
        "Flags",
        "Exists",
        "Vanished",
        "Condition",
    ] {
        assert!(
            kinds.contains(kind),
            "no {kind} in the recorded session: {kinds:?}"
        );
    }
}

/// The FETCH streams the parser benchmark (`benches/imap_parser.rs`) reads as its recorded
/// inputs: Dovecot's answers to a metadata fetch and a full fetch of the sample messages in
/// `tests/messages`, recorded from the harness Dovecot over a raw socket.
fn record_fetches(dc: &support::dovecot::Dovecot) -> (Vec<u8>, Vec<u8>) {
    let user = dc.add_user();
    let mut messages: Vec<Vec<u8>> = std::fs::read_dir("tests/messages")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    messages.sort();
    dc.seed(&user, "INBOX", &messages);
    let mut s = TcpStream::connect(("127.0.0.1", dc.imap_port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut greeting = [0u8; 512];
    let n = s.read(&mut greeting).unwrap();
    assert!(greeting[..n].starts_with(b"* OK"), "greeting");
    exchange(
        &mut s,
        "r1",
        &format!("LOGIN {} {}", user.name, user.password),
    );
    exchange(&mut s, "r2", "SELECT INBOX");
    let meta = exchange(
        &mut s,
        "r3",
        "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)",
    );
    let body = exchange(
        &mut s,
        "r4",
        "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])",
    );
    exchange(&mut s, "r5", "LOGOUT");
    (meta, body)
}

/// Re-records `tests/transcripts/dovecot-fetch-{meta,body}.bin`:
/// `cargo test --test imap_codec_live -- --ignored record_fetch_transcripts`.
#[test]
#[ignore = "writes the recorded transcripts; run by hand"]
fn record_fetch_transcripts() {
    let dc = support::dovecot::shared().expect("Dovecot");
    let (meta, body) = record_fetches(dc);
    std::fs::write("tests/transcripts/dovecot-fetch-meta.bin", meta).unwrap();
    std::fs::write("tests/transcripts/dovecot-fetch-body.bin", body).unwrap();
}

/// The committed recordings still match what this Dovecot sends (apart from dates and
/// UIDVALIDITY-dependent values, the shape is compared: the same responses, items and
/// sizes), and both parsers read every FETCH in them alike.
#[test]
fn recorded_fetch_transcripts_match_dovecot_and_parse() {
    use mailwire::imap::codec::frame::complete_len;
    use mailwire::imap::codec::parse::parse_fetch;
    let recorded = [
        &include_bytes!("transcripts/dovecot-fetch-meta.bin")[..],
        &include_bytes!("transcripts/dovecot-fetch-body.bin")[..],
    ];
    let shape = |bytes: &[u8]| -> Vec<(usize, Option<u32>, Option<u64>, usize)> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(n) = complete_len(rest, &Limits::default()).unwrap() {
            let frame = &rest[..n];
            rest = &rest[n..];
            let general = parse_response(frame).unwrap();
            match parse_fetch(frame).unwrap() {
                Some(parts) => {
                    let Response::Untagged(Untagged::Fetch { seq, .. }) = general else {
                        panic!("{general:?}")
                    };
                    assert_eq!(parts.seq, seq);
                    out.push((
                        seq as usize,
                        parts.uid,
                        parts.size,
                        parts.content.map_or(0, |c| c.len()),
                    ));
                }
                None => assert!(!matches!(
                    general,
                    Response::Untagged(Untagged::Fetch { .. })
                )),
            }
        }
        assert!(rest.is_empty());
        out
    };
    for r in recorded {
        assert!(shape(r).len() >= 9, "{} FETCH responses", shape(r).len());
    }
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let (meta, body) = record_fetches(dc);
    assert_eq!(shape(&meta), shape(recorded[0]));
    assert_eq!(shape(&body), shape(recorded[1]));
}
