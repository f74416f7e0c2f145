#![no_main]
//! Arbitrary bytes through the IMAP framer and parser: errors are fine, panics are not.
//! `parse_fetch` must read exactly the FETCH responses `parse_response` reads, and
//! `complete_len` must frame like the framer.

use libfuzzer_sys::fuzz_target;
use mailwire::Limits;
use mailwire::imap::codec::frame::{FrameEvent, Framer, complete_len};
use mailwire::imap::codec::parse::{parse_fetch, parse_response};
use mailwire::imap::types::{Response, Untagged};

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_line_length = 1024;
    limits.max_literal_size = 4096;
    let mut framer = Framer::new(limits).with_stream_threshold(512);
    // feed in two pieces to exercise resumption
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    for piece in [&data[..split], &data[split..]] {
        framer.extend(piece);
        loop {
            match framer.next_frame() {
                Ok(Some(FrameEvent::Response(frame))) => {
                    let general = parse_response(frame.bytes);
                    let is_fetch = matches!(general, Ok(Response::Untagged(Untagged::Fetch { .. })));
                    match parse_fetch(frame.bytes) {
                        Ok(Some(_)) => assert!(is_fetch, "{general:?}"),
                        Ok(None) => assert!(!is_fetch),
                        Err(_) => assert!(general.is_err()),
                    }
                    let len = frame.bytes.len();
                    let part = framer.take_from_last(len / 3..len / 2);
                    assert_eq!(part.map(|p| p.len()), Some(len / 2 - len / 3));
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    if framer.literal_remaining() > 0 && !framer.streamed_bytes().is_empty() {
                        let n = framer.streamed_bytes().len();
                        framer.consume_streamed(n);
                        continue;
                    }
                    break;
                }
                Err(_) => return,
            }
        }
    }
    let _ = parse_response(data);
    let _ = parse_fetch(data);
    let _ = complete_len(data, &limits);
});
