//! The streaming decoder of multi-line responses (dot-unstuffing), and their content lines.

use std::io::Write;

use crate::error::{Error, Result};

/// How far a [`MultiLineDecoder::decode`] call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decoded {
    /// How many bytes of the input were used. When `done`, the bytes after this belong to
    /// the next response (with `PIPELINING` it may already be there).
    pub consumed: usize,
    /// Whether the terminating `.` line was read: the response is complete.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeState {
    /// At the first byte of a line.
    LineStart,
    /// A line started with `.`, which was consumed.
    AfterDot,
    /// A line started with `.` and CR, both consumed.
    AfterDotCr,
    /// Inside a line that is being copied.
    InLine,
    /// The terminator was read.
    Done,
}

/// Decodes the body of a multi-line response as it arrives, in any chunks.
///
/// Feed it the bytes that follow the `+OK` status line. It writes the content to a writer
/// with the dot-stuffing removed (a line starting with `.` loses that first `.`, so `..`
/// becomes `.`), and stops right after the terminator line `.` CRLF. Line ends are
/// written exactly as received: CRLF stays CRLF and a bare LF from a broken server stays a
/// bare LF (nothing is normalised, so the bytes are the message as the server stored it).
/// A bare-LF terminator (`.` LF) is accepted too. An empty message gives empty content.
///
/// The state is a few bytes: no line is ever buffered, so there is no line-length limit
/// and memory does not grow with the message. The terminator is recognised wherever the
/// chunks are split.
///
/// ```
/// use mailwire::pop3::codec::MultiLineDecoder;
///
/// let mut decoder = MultiLineDecoder::new();
/// let mut content = Vec::new();
/// let first = decoder.decode(b"Subject: hi\r\n\r\n..dots\r\n.", &mut content)?;
/// assert!(!first.done);
/// let second = decoder.decode(b"\r\n+OK next response\r\n", &mut content)?;
/// assert!(second.done);
/// assert_eq!(second.consumed, 2); // the next response is left alone
/// assert_eq!(content, b"Subject: hi\r\n\r\n.dots\r\n");
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultiLineDecoder {
    state: DecodeState,
    content_bytes: u64,
}

impl Default for MultiLineDecoder {
    fn default() -> Self {
        MultiLineDecoder::new()
    }
}

impl MultiLineDecoder {
    /// A decoder positioned at the start of the first content line.
    pub fn new() -> MultiLineDecoder {
        MultiLineDecoder {
            state: DecodeState::LineStart,
            content_bytes: 0,
        }
    }

    /// Whether the terminator has been read.
    pub fn is_done(&self) -> bool {
        self.state == DecodeState::Done
    }

    /// How many content bytes have been written so far.
    pub fn content_len(&self) -> u64 {
        self.content_bytes
    }

    /// Decodes `input`, writing the content to `out`.
    ///
    /// Uses all of `input` unless the terminator is in it, in which case `consumed` ends
    /// just after it. After `done`, further calls consume nothing. A failing writer gives
    /// [`Error::Io`]; the decoder is then in an unknown position and must be discarded.
    pub fn decode<W: Write + ?Sized>(&mut self, input: &[u8], out: &mut W) -> Result<Decoded> {
        let mut pos = 0;
        while let Some(&byte) = input.get(pos) {
            match self.state {
                DecodeState::Done => break,
                DecodeState::LineStart => {
                    if byte == b'.' {
                        pos += 1;
                        self.state = DecodeState::AfterDot;
                    } else {
                        self.state = DecodeState::InLine;
                    }
                }
                DecodeState::AfterDot => match byte {
                    b'\r' => {
                        pos += 1;
                        self.state = DecodeState::AfterDotCr;
                    }
                    b'\n' => {
                        pos += 1;
                        self.state = DecodeState::Done;
                    }
                    // The stuffing dot is dropped; this byte (a second `.` or, from a
                    // lax server, anything else) is content.
                    _ => self.state = DecodeState::InLine,
                },
                DecodeState::AfterDotCr => {
                    if byte == b'\n' {
                        pos += 1;
                        self.state = DecodeState::Done;
                    } else {
                        // `.` CR followed by more: a stuffed line whose content starts with
                        // CR. The dot is dropped, the CR is content.
                        self.emit(out, b"\r")?;
                        self.state = DecodeState::InLine;
                    }
                }
                DecodeState::InLine => {
                    let rest = input.get(pos..).unwrap_or(&[]);
                    let (run, next) = scan_run(rest);
                    self.emit(out, rest.get(..run).unwrap_or(&[]))?;
                    pos += run;
                    self.state = next;
                    if next == DecodeState::AfterDot {
                        pos += 1; // the dot that starts the next line
                    }
                }
            }
        }
        Ok(Decoded {
            consumed: pos,
            done: self.state == DecodeState::Done,
        })
    }

    fn emit<W: Write + ?Sized>(&mut self, out: &mut W, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        out.write_all(bytes).map_err(|source| Error::Io {
            operation: "writing the content of a multi-line response".to_string(),
            source,
        })?;
        self.content_bytes = self.content_bytes.saturating_add(bytes.len() as u64);
        Ok(())
    }
}

/// Scans `bytes`, which start inside a line, for the longest run of content that can be
/// copied as is: up to the end of the input, or up to the end of a line whose next line
/// starts with `.` (or whose next line has not arrived yet). Returns the run's length and
/// the state after it; for `AfterDot` the dot itself is at `run` and not part of the run.
fn scan_run(bytes: &[u8]) -> (usize, DecodeState) {
    let mut from = 0;
    loop {
        let Some(lf) = bytes.get(from..).and_then(find_lf) else {
            return (bytes.len(), DecodeState::InLine);
        };
        let line_end = from + lf + 1;
        match bytes.get(line_end) {
            None => return (line_end, DecodeState::LineStart),
            Some(b'.') => return (line_end, DecodeState::AfterDot),
            Some(_) => from = line_end,
        }
    }
}

/// The position of the first LF, eight bytes at a time.
fn find_lf(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LFS: u64 = ONES * b'\n' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LFS;
        // Sets the high bit of each zero byte of x (exact for the lowest one, which is the
        // only one used).
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(base + (zeros.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| base + p)
}

/// The lines of a decoded multi-line content, without their CRLF or LF (empty lines kept,
/// no empty line after a final line end).
pub fn content_lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    let trimmed = content.strip_suffix(b"\n").unwrap_or(content);
    let none = content.is_empty();
    trimmed
        .split(|&b| b == b'\n')
        .filter(move |_| !none)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `input` fed in `chunks`-sized pieces; returns the content and the bytes
    /// consumed.
    fn decode_in_chunks(input: &[u8], sizes: &[usize]) -> (Vec<u8>, usize, bool) {
        let mut decoder = MultiLineDecoder::new();
        let mut out = Vec::new();
        let mut pos = 0;
        let mut i = 0;
        while pos < input.len() && !decoder.is_done() {
            let size = sizes
                .get(i % sizes.len().max(1))
                .copied()
                .unwrap_or(1)
                .max(1);
            i += 1;
            let end = (pos + size).min(input.len());
            let d = decoder.decode(&input[pos..end], &mut out).unwrap();
            assert!(d.consumed <= end - pos);
            if !d.done {
                assert_eq!(d.consumed, end - pos, "must consume everything before done");
            }
            pos += d.consumed;
        }
        (out, pos, decoder.is_done())
    }

    fn decode_whole(input: &[u8]) -> (Vec<u8>, usize, bool) {
        decode_in_chunks(input, &[input.len().max(1)])
    }

    /// Decodes `input` in one piece, which must reach the terminator: the content and how
    /// many bytes were consumed.
    fn decode_complete(input: &[u8]) -> (Vec<u8>, usize) {
        let (content, consumed, done) = decode_whole(input);
        assert!(done, "{:?} not terminated", String::from_utf8_lossy(input));
        (content, consumed)
    }

    const RESPONSE: &[u8] = b"Return-Path: <a@example.org>\r\n\
Subject: test\r\n\
\r\n\
Hello.\r\n\
..a line that started with a dot\r\n\
...\r\n\
.\r\n\
+OK next";

    const CONTENT: &[u8] = b"Return-Path: <a@example.org>\r\n\
Subject: test\r\n\
\r\n\
Hello.\r\n\
.a line that started with a dot\r\n\
..\r\n";

    #[test]
    fn decodes_a_response_and_stops_at_the_terminator() {
        let (content, consumed) = decode_complete(RESPONSE);
        assert_eq!(content, CONTENT);
        assert_eq!(&RESPONSE[consumed..], b"+OK next");
    }

    #[test]
    fn terminator_split_at_every_position() {
        for split in 0..=RESPONSE.len() {
            let mut decoder = MultiLineDecoder::new();
            let mut out = Vec::new();
            let first = decoder.decode(&RESPONSE[..split], &mut out).unwrap();
            let end = RESPONSE.len() - b"+OK next".len();
            if split < end {
                assert!(!first.done, "done too early at split {split}");
                assert_eq!(first.consumed, split);
                let second = decoder.decode(&RESPONSE[split..], &mut out).unwrap();
                assert!(second.done, "split {split}");
                assert_eq!(split + second.consumed, end, "split {split}");
            } else {
                // The whole terminator is in the first piece.
                assert!(first.done, "split {split}");
                assert_eq!(first.consumed, end, "split {split}");
            }
            assert_eq!(out, CONTENT, "split {split}");
            assert_eq!(decoder.content_len(), CONTENT.len() as u64);
        }
        // And byte by byte.
        let (content, consumed, done) = decode_in_chunks(RESPONSE, &[1]);
        assert!(done);
        assert_eq!(content, CONTENT);
        assert_eq!(&RESPONSE[consumed..], b"+OK next");
    }

    #[test]
    fn empty_content() {
        let (content, consumed) = decode_complete(b".\r\n+OK");
        assert!(content.is_empty());
        assert_eq!(consumed, 3);
        let (content, consumed) = decode_complete(b".\n");
        assert!(content.is_empty() && consumed == 2);
        let mut d = MultiLineDecoder::new();
        let r = d.decode(b"", &mut Vec::new()).unwrap();
        assert_eq!(
            r,
            Decoded {
                consumed: 0,
                done: false
            }
        );
    }

    #[test]
    fn bare_lf_is_kept_and_dot_lf_terminates() {
        let (content, consumed) = decode_complete(b"a\nb\r\n..c\n.\nrest");
        assert_eq!(content, b"a\nb\r\n.c\n");
        assert_eq!(consumed, 11);
        // CRLF content ended by a bare-LF terminator.
        assert_eq!(decode_complete(b"x\r\n.\n").0, b"x\r\n");
    }

    #[test]
    fn dot_lines_that_are_not_terminators() {
        // `.x` from a lax server: the dot is removed as RFC 1939 says.
        assert_eq!(
            decode_complete(b".x\r\n.. \r\n.\rz\r\n.\r\n").0,
            b"x\r\n. \r\n\rz\r\n"
        );
        // A dot in the middle of a line is content; so is "\r." without LF.
        assert_eq!(decode_complete(b"a.b\r.\r\n.\r\n").0, b"a.b\r.\r\n");
    }

    #[test]
    fn unterminated_is_not_done() {
        let (content, consumed, done) = decode_whole(b"line\r\n..\r\n.");
        assert!(!done);
        assert_eq!(consumed, 11);
        assert_eq!(content, b"line\r\n.\r\n");
        let (_, _, done) = decode_whole(b"line\r\n.\r");
        assert!(!done);
    }

    #[test]
    fn nothing_is_consumed_after_done() {
        let mut d = MultiLineDecoder::new();
        let mut out = Vec::new();
        assert!(d.decode(b".\r\n", &mut out).unwrap().done);
        let again = d.decode(b"+OK\r\n", &mut out).unwrap();
        assert_eq!(
            again,
            Decoded {
                consumed: 0,
                done: true
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn very_long_lines_and_8bit_bytes() {
        let mut line: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        line.retain(|&b| b != b'\n' && b != b'\r');
        line[0] = b'.';
        let mut input = b".".to_vec();
        input.extend_from_slice(&line);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&line[1..]);
        input.extend_from_slice(b"\r\n.\r\n");
        let mut expected = line.clone();
        expected.extend_from_slice(b"\r\n");
        expected.extend_from_slice(&line[1..]);
        expected.extend_from_slice(b"\r\n");
        for sizes in [&[input.len()][..], &[4096], &[1, 7, 4093]] {
            let (content, consumed, done) = decode_in_chunks(&input, sizes);
            assert!(done);
            assert_eq!(consumed, input.len());
            assert!(
                content == expected,
                "content differs for chunk sizes {sizes:?}"
            );
        }
    }

    #[test]
    fn writer_errors_are_io_errors() {
        struct Failing;
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let e = MultiLineDecoder::new()
            .decode(b"abc\r\n.\r\n", &mut Failing)
            .unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        // Empty content writes nothing, so even a failing writer is fine.
        assert!(
            MultiLineDecoder::new()
                .decode(b".\r\n", &mut Failing)
                .unwrap()
                .done
        );
    }

    #[test]
    fn find_lf_matches_naive_search() {
        let mut hay = vec![b'x'; 40];
        assert_eq!(find_lf(&hay), None);
        for i in 0..hay.len() {
            hay[i] = b'\n';
            assert_eq!(find_lf(&hay), Some(i));
            // A later LF and bytes that differ from LF by one bit do not confuse it.
            hay[i] = 0x0b;
            hay[39] = b'\n';
            assert_eq!(
                find_lf(&hay[..i + 1]),
                if i == 39 { Some(39) } else { None }
            );
            hay[39] = b'x';
            hay[i] = b'x';
        }
        assert_eq!(find_lf(b"\x8a\x0a"), Some(1));
        assert_eq!(find_lf(b"\x09\x0b\x00\xff\x0a"), Some(4));
    }

    /// What a server does: every line starting with `.` gets another `.`, then `.` CRLF.
    fn dot_stuff(lines: &[(Vec<u8>, bool)]) -> (Vec<u8>, Vec<u8>) {
        let mut wire = Vec::new();
        let mut content = Vec::new();
        for (line, crlf) in lines {
            let end: &[u8] = if *crlf { b"\r\n" } else { b"\n" };
            if line.first() == Some(&b'.') {
                wire.push(b'.');
            }
            wire.extend_from_slice(line);
            wire.extend_from_slice(end);
            content.extend_from_slice(line);
            content.extend_from_slice(end);
        }
        wire.extend_from_slice(b".\r\n");
        (wire, content)
    }

    fn line_strategy() -> impl Strategy<Value = (Vec<u8>, bool)> {
        let byte = prop_oneof![
            4 => Just(b'.'),
            2 => Just(b'\r'),
            1 => any::<u8>().prop_filter("no LF", |b| *b != b'\n'),
            4 => proptest::sample::select(b"ab .\r\t\xff".to_vec()),
        ];
        (proptest::collection::vec(byte, 0..12), any::<bool>())
    }

    proptest! {
        #[test]
        fn stuffed_content_round_trips_in_any_chunks(
            lines in proptest::collection::vec(line_strategy(), 0..20),
            sizes in proptest::collection::vec(1usize..16, 1..8),
            trailer in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let (mut wire, content) = dot_stuff(&lines);
            let response_len = wire.len();
            wire.extend_from_slice(&trailer);
            let (decoded, consumed, done) = decode_in_chunks(&wire, &sizes);
            prop_assert!(done);
            prop_assert_eq!(consumed, response_len);
            prop_assert_eq!(decoded, content);
        }
    }

    /// Not a benchmark (see benches/), a sanity measurement printed with `--nocapture`.
    #[test]
    fn decoder_throughput() {
        let mut line =
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusm\r\n".to_vec();
        line.extend_from_slice(b"..dot-stuffed line\r\n");
        let mut input = Vec::new();
        while input.len() < 8 << 20 {
            input.extend_from_slice(&line);
        }
        input.extend_from_slice(b".\r\n");
        let mut out = Vec::with_capacity(input.len());
        let start = std::time::Instant::now();
        let mut total = 0usize;
        for _ in 0..4 {
            out.clear();
            let mut d = MultiLineDecoder::new();
            let mut pos = 0;
            for chunk in input.chunks(16 * 1024) {
                let r = d.decode(chunk, &mut out).unwrap();
                pos += r.consumed;
            }
            assert!(d.is_done());
            assert_eq!(pos, input.len());
            total += input.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "MultiLineDecoder: {:.0} MB/s ({} MiB in {:.3} s)",
            total as f64 / secs / 1e6,
            total >> 20,
            secs
        );
        assert_eq!(out.len(), input.len() - 3 - input.len() / line.len());
    }
}
