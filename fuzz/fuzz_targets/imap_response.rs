#![no_main]
//! Arbitrary bytes through the IMAP framer and parser: errors are fine, panics are not.

use libfuzzer_sys::fuzz_target;
use mailwire::Limits;
use mailwire::imap::codec::frame::{FrameEvent, Framer};
use mailwire::imap::codec::parse::parse_response;

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
                    let _ = parse_response(frame.bytes);
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
});
