//! Framing + parsing throughput on FETCH responses: generated (`BODY[]` 1,000 x 4 KB and
//! 4 x 1 MB, `ENVELOPE` x 1,000) and recorded from Dovecot (`tests/transcripts`: a metadata
//! fetch and a full fetch of the sample messages, and a whole session).
//!
//! Per input: `mailwire` frames with a [`Framer`] fed in 64 KiB pieces and parses every
//! response into owned values (the general path; bodies are copied);
//! `mailwire-borrowed` frames the complete buffer with [`complete_len`] and reads FETCH
//! responses with [`parse_fetch`] (message data borrowed, everything else owned: what a
//! fetch does before the `Message` takes its copy), other responses with
//! [`parse_response`]; `imap-proto` (rust-imap's parser) and `imap-codec` decode the
//! complete buffer.
//!
//! `cargo bench --bench imap_parser` prints MB/s per input (criterion's throughput). Nothing
//! is asserted: the figures are for comparison between runs.

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use mailwire::Limits;
use mailwire::imap::codec::frame::{FrameEvent, Framer, complete_len};
use mailwire::imap::codec::parse::{parse_fetch, parse_response};

fn message(size: usize, seed: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Report {seed}\r\n\
         Date: Mon, 3 Nov 2025 10:00:00 +0100\r\nMessage-ID: <m{seed}@example.org>\r\n\r\n"
    )
    .into_bytes();
    let line =
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m.truncate(size);
    m
}

fn body_responses(count: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1..=count {
        let m = message(size, i);
        out.extend_from_slice(
            format!("* {i} FETCH (UID {} BODY[] {{{}}}\r\n", i + 1000, m.len()).as_bytes(),
        );
        out.extend_from_slice(&m);
        out.extend_from_slice(b")\r\n");
    }
    out.extend_from_slice(b"a1 OK Fetch completed.\r\n");
    out
}

fn envelope_responses(count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1..=count {
        out.extend_from_slice(format!(
            "* {i} FETCH (UID {} FLAGS (\\Seen $Forwarded) ENVELOPE (\"Mon, 3 Nov 2025 10:{:02}:00 +0100\" \
             \"=?UTF-8?Q?Re:_Quarterly_report_{i}?=\" ((\"Alice Example\" NIL \"alice\" \"example.org\")) \
             ((\"Alice Example\" NIL \"alice\" \"example.org\")) ((\"Alice Example\" NIL \"alice\" \"example.org\")) \
             ((\"Bob\" NIL \"bob\" \"example.org\")(NIL NIL \"carol\" \"example.net\")) NIL NIL \
             \"<prev{i}@example.org>\" \"<msg{i}@example.org>\") RFC822.SIZE {})\r\n",
            i + 1000,
            i % 60,
            4000 + i
        ).as_bytes());
    }
    out.extend_from_slice(b"a1 OK Fetch completed.\r\n");
    out
}

/// Frames and parses everything, as a session would: bytes arrive in 64 KiB reads.
fn frame_and_parse(input: &[u8]) -> usize {
    let mut framer = Framer::new(Limits::default());
    let mut n = 0;
    for chunk in input.chunks(64 * 1024) {
        framer.extend(chunk);
        while let Some(FrameEvent::Response(frame)) = framer.next_frame().expect("frames") {
            let r = parse_response(frame.bytes).expect("parses");
            black_box(&r);
            n += 1;
        }
    }
    n
}

/// The complete buffer, FETCH responses read in place.
fn borrowed_parse(input: &[u8]) -> usize {
    let limits = Limits::default();
    let mut rest = input;
    let mut n = 0;
    while let Some(len) = complete_len(rest, &limits).expect("frames") {
        let (frame, tail) = rest.split_at(len);
        match parse_fetch(frame).expect("parses") {
            Some(parts) => {
                black_box(&parts);
            }
            None => {
                black_box(&parse_response(frame).expect("parses"));
            }
        }
        rest = tail;
        n += 1;
    }
    n
}

/// The same bytes through imap-proto (rust-imap's parser): it takes a complete buffer.
fn imap_proto_parse(input: &[u8]) -> Option<usize> {
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, response) = imap_proto::parse_response(rest).ok()?;
        black_box(&response);
        rest = r;
        n += 1;
    }
    Some(n)
}

/// The same bytes through imap-codec's response decoder.
fn imap_codec_parse(input: &[u8]) -> Option<usize> {
    use imap_codec::ResponseCodec;
    use imap_codec::decode::Decoder;
    let codec = ResponseCodec::default();
    let mut rest = input;
    let mut n = 0;
    while !rest.is_empty() {
        let (r, response) = codec.decode(rest).ok()?;
        black_box(&response);
        rest = r;
        n += 1;
    }
    Some(n)
}

fn bench(c: &mut Criterion) {
    let inputs = [
        ("fetch_body_1000x4k", body_responses(1000, 4096)),
        ("fetch_body_4x1m", body_responses(4, 1024 * 1024)),
        ("fetch_envelope_1000", envelope_responses(1000)),
        (
            "recorded_dovecot_fetch_meta",
            include_bytes!("../tests/transcripts/dovecot-fetch-meta.bin").to_vec(),
        ),
        (
            "recorded_dovecot_fetch_body",
            include_bytes!("../tests/transcripts/dovecot-fetch-body.bin").to_vec(),
        ),
        (
            "recorded_dovecot_session",
            include_bytes!("../tests/transcripts/dovecot-session.bin").to_vec(),
        ),
    ];
    let mut group = c.benchmark_group("imap_parser");
    for (name, input) in &inputs {
        group.throughput(Throughput::Bytes(input.len() as u64));
        let ours = frame_and_parse(input);
        group.bench_function(format!("{name}/mailwire"), |b| {
            b.iter(|| frame_and_parse(black_box(input)))
        });
        assert_eq!(
            borrowed_parse(input),
            ours,
            "{name}: the two paths disagree"
        );
        group.bench_function(format!("{name}/mailwire-borrowed"), |b| {
            b.iter(|| borrowed_parse(black_box(input)))
        });
        // The peers, on the same bytes, when they can read all of them.
        type Peer = fn(&[u8]) -> Option<usize>;
        let peers: [(&str, Peer); 2] = [
            ("imap-proto", imap_proto_parse),
            ("imap-codec", imap_codec_parse),
        ];
        for (peer, parse) in peers {
            match parse(input) {
                Some(n) if n == ours => {
                    group.bench_function(format!("{name}/{peer}"), |b| {
                        b.iter(|| parse(black_box(input)))
                    });
                }
                other => {
                    println!("{peer} cannot read {name} ({other:?} of {ours} responses): skipped")
                }
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
