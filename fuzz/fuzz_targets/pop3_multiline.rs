#![no_main]
//! Arbitrary bytes through the POP3 multi-line reader, in arbitrary chunks: it must never
//! panic, the result must not depend on how the input is split, and what it writes is the
//! dot-unstuffed content (never longer than the input).

use libfuzzer_sys::fuzz_target;
use mailwire::pop3::codec::MultiLineDecoder;

/// Decodes `data` fed in pieces of the given sizes; returns (content, consumed, done).
fn run(data: &[u8], sizes: &[u8]) -> (Vec<u8>, usize, bool) {
    let mut decoder = MultiLineDecoder::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut sizes = sizes.iter().cycle();
    while pos < data.len() {
        let n = usize::from(*sizes.next().unwrap_or(&255)).max(1);
        let end = (pos + n).min(data.len());
        let got = decoder.decode(&data[pos..end], &mut out).expect("Vec never fails");
        assert!(got.consumed <= end - pos);
        // Without the terminator, all of the input is used.
        assert!(got.done || got.consumed == end - pos);
        pos += got.consumed;
        if got.done {
            assert!(decoder.is_done());
            // A finished decoder consumes nothing more.
            let again = decoder.decode(&data[pos..], &mut out).expect("no write");
            assert_eq!(again.consumed, 0);
            return (out, pos, true);
        }
    }
    (out, pos, false)
}

fuzz_target!(|input: &[u8]| {
    let split = input.first().map_or(0, |&b| usize::from(b) % 8);
    let (sizes, data) = input.split_at(split.min(input.len()));
    let whole = run(data, &[255]);
    let chunked = run(data, if sizes.is_empty() { &[1] } else { sizes });
    assert_eq!(whole, chunked, "result depends on chunking");
    let (content, consumed, _) = &whole;
    assert!(content.len() <= *consumed);
});
