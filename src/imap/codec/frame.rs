//! Splits the byte stream from an IMAP server into complete responses.
//!
//! A response is one line, or a line ending in a literal announcement (`{n}`, `{n+}`,
//! `~{n}`) followed by exactly `n` bytes and the rest of the response, and so on. The
//! [`Framer`] owns a growing buffer and remembers how far it has framed, so bytes are
//! scanned once however they arrive (a response fed in 1-byte pieces is framed in O(n)).
//!
//! # Streaming a large literal to a writer
//!
//! With [`Framer::with_stream_threshold`], a literal larger than the threshold is not
//! collected in memory. [`Framer::next_frame`] then returns
//! [`FrameEvent::StreamLiteral`]; the caller moves the body out itself:
//!
//! 1. write [`Framer::streamed_bytes`] (the part of the body already buffered) to its
//!    writer and call [`Framer::consume_streamed`] with their length;
//! 2. copy the [`Framer::literal_remaining`] bytes still to come straight from the source
//!    into the writer (or keep feeding the framer and repeat step 1) and report them with
//!    [`Framer::skipped_from_source`];
//! 3. call [`Framer::next_frame`] again: framing continues after the literal.
//!
//! In the finished frame that literal's announcement is rewritten to an empty literal
//! (`{0}`), so the parser sees e.g. `BODY[] {0}` and yields `Some(vec![])`;
//! [`Frame::streamed`] counts how many literals of the frame went to the caller.

use std::io::Read;

use crate::MemoryBudget;
use crate::config::Limits;
use crate::error::{Error, Result, excerpt};
use crate::setters::setters;

/// One complete response, borrowed from the framer's buffer until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame<'a> {
    /// The response's bytes, line ends and literals included.
    pub bytes: &'a [u8],
    /// How many literals of this response were streamed to the caller (and now read as
    /// empty literals).
    pub streamed: usize,
    /// The offset of the response's first byte in the whole stream.
    pub stream_offset: u64,
}

/// What [`Framer::next_frame`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameEvent<'a> {
    /// A complete response.
    Response(Frame<'a>),
    /// A literal larger than the stream threshold was announced; its body starts at
    /// `offset` in [`Framer::buffer`] (it may not have arrived yet) and is `size` bytes
    /// long. Move it out as described in the [module documentation](self).
    StreamLiteral {
        /// Where the body starts in the framer's buffer.
        offset: usize,
        /// The literal's size.
        size: u64,
    },
}

/// A buffer larger than this is released when it holds nothing (1 MiB).
const SHRINK_ABOVE: usize = 1 << 20;
/// [`Framer::take_from_last`] hands over its storage for a part this large (1 MiB).
const TAKE_WITHOUT_COPY: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Line,
    Literal(u64),
    Streaming(u64),
}

/// The index of the first `\n` in `hay`: eight bytes at a time (SWAR), the rest one by one.
/// Lines of metadata responses run to kilobytes; a byte-by-byte scan was a tenth of
/// the client's instructions in a 10,000-message metadata fetch.
fn find_newline(hay: &[u8]) -> Option<usize> {
    find_either(hay, b'\n', b'\n')
}

/// The index of the first `a` or `b` in `hay`, eight bytes at a time (SWAR), the rest one by
/// one. (The parser finds the end of quoted strings with it: `"` or `\\`.)
pub(crate) fn find_either(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let (wa, wb) = (LO * u64::from(a), LO * u64::from(b));
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let (xa, xb) = (word ^ wa, word ^ wb);
        // A zero byte in `xa` / `xb` is an `a` / `b` in the chunk (the classic has-zero-byte
        // test; it can flag false positives only above a real zero byte, so the lowest hit
        // of either is exact).
        let found = (xa.wrapping_sub(LO) & !xa & HI) | (xb.wrapping_sub(LO) & !xb & HI);
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&x| x == a || x == b)
        .map(|i| offset + i)
}

/// An incremental framer over a growing buffer. See the [module documentation](self).
pub struct Framer {
    /// Storage, zero-initialised once as it grows and then reused: only `..filled` holds
    /// received bytes. (Zero-filling the read offer on every `read` cost as much as the
    /// copy of the data itself when reads came back short.)
    buf: Vec<u8>,
    /// How many bytes of `buf` hold data.
    filled: usize,
    /// Start of the response being framed.
    start: usize,
    /// Start of the response last returned (it ends at `start`).
    last: usize,
    /// Everything before `pos` (from `start`) has been framed.
    pos: usize,
    /// Start of the current line segment (after the last literal).
    line_start: usize,
    state: State,
    streamed: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    limits: Limits,
    stream_threshold: Option<u64>,
    /// The shared budget the storage is drawn from, and how much of it the storage holds
    /// (its capacity).
    budget: Option<MemoryBudget>,
    charged: usize,
}

impl std::fmt::Debug for Framer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framer")
            .field("buffered", &self.filled)
            .field("capacity", &self.buf.len())
            .field("start", &self.start)
            .field("pos", &self.pos)
            .field("state", &self.state)
            .field("stream_offset", &self.base)
            .field("limits", &self.limits)
            .field("stream_threshold", &self.stream_threshold)
            .finish()
    }
}

impl Framer {
    /// A framer applying `limits` (line length, in-memory literal size).
    pub fn new(limits: Limits) -> Framer {
        Framer {
            buf: Vec::new(),
            filled: 0,
            start: 0,
            last: 0,
            pos: 0,
            line_start: 0,
            state: State::Line,
            streamed: 0,
            base: 0,
            limits,
            stream_threshold: None,
            budget: None,
            charged: 0,
        }
    }

    /// Draws the buffer's storage from `budget`: growing it past what the budget has left
    /// fails [`make_room`](Self::make_room) with [`Error::LimitExceeded`]; storage given up
    /// (a shrink, a [`take_from_last`](Self::take_from_last), the framer's drop) goes back.
    pub fn with_budget(mut self, budget: MemoryBudget) -> Framer {
        self.budget = Some(budget);
        self.settle();
        self
    }

    /// Makes room for `more` bytes after the data, drawing the growth from the budget
    /// first: `LimitExceeded` (and no growth) when the budget cannot give it.
    pub fn make_room(&mut self, more: usize) -> Result<()> {
        self.compact();
        let want = self.filled.saturating_add(more);
        if self.buf.len() >= want {
            return Ok(());
        }
        let capacity = self.buf.capacity();
        if want > capacity {
            // Grow by half at least (amortised); with a budget, charge it for the new
            // capacity first, or for the bare need when the amortised growth does not fit.
            let mut target = want.max(capacity.saturating_add(capacity / 2));
            if let Some(budget) = &self.budget {
                let charge = |to: usize| to.saturating_sub(self.charged) as u64;
                if !budget.try_reserve(charge(target)) {
                    if !budget.try_reserve(charge(want)) {
                        return Err(Error::LimitExceeded {
                            what: "the shared memory budget (MemoryBudget)".into(),
                            limit: usize::try_from(budget.limit()).unwrap_or(usize::MAX),
                        });
                    }
                    target = want;
                }
                self.charged = self.charged.max(target);
            }
            self.buf
                .reserve_exact(target.saturating_sub(self.buf.len()));
        }
        self.buf.resize(want, 0);
        self.settle();
        Ok(())
    }

    /// Brings the budget's share in line with the storage's capacity now.
    fn settle(&mut self) {
        let Some(budget) = &self.budget else {
            return;
        };
        let capacity = self.buf.capacity();
        if capacity < self.charged {
            budget.release((self.charged - capacity) as u64);
        } else if capacity > self.charged {
            // Growth that did not go through `make_room` (`extend`): counted, not refused.
            budget.charge((capacity - self.charged) as u64);
        }
        self.charged = capacity;
    }

    setters! {
        /// Reports literals larger than `bytes` as [`FrameEvent::StreamLiteral`] instead of
        /// collecting them (such literals are then not bound by `max_literal_size`).
        pub fn with_stream_threshold(bytes: u64) -> Framer { self.stream_threshold = Some(bytes) }
    }

    /// Sets or clears the stream threshold (e.g. only while a streaming fetch is running).
    pub fn set_stream_threshold(&mut self, bytes: Option<u64>) {
        self.stream_threshold = bytes;
    }

    /// Drops the bytes of responses already returned, so the buffer holds only the
    /// response in progress. A buffer grown far beyond the usual read size (a large literal
    /// held in memory) is given back once nothing is pending.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.rebase();
        }
        if self.filled == 0 && self.buf.len() > SHRINK_ABOVE {
            self.buf = Vec::new();
            self.settle();
        }
    }

    /// The buffer now starts at what was `start` (the responses before it were moved away
    /// or dropped): shifts every index accordingly.
    fn rebase(&mut self) {
        self.base = self.base.saturating_add(self.start as u64);
        self.filled -= self.start;
        self.pos -= self.start;
        self.line_start -= self.start;
        self.start = 0;
        self.last = 0;
    }

    /// Makes room for `more` bytes after the data (zero-filling only storage never used).
    fn reserve(&mut self, more: usize) {
        let want = self.filled.saturating_add(more);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
            self.settle();
        }
    }

    /// Appends bytes received from the server.
    pub fn extend(&mut self, data: &[u8]) {
        self.compact();
        // Appended straight after the data: no zero-filling of new storage first.
        self.buf.truncate(self.filled);
        self.buf.extend_from_slice(data);
        self.filled = self.buf.len();
        self.settle();
    }

    /// Gives the storage back when nothing is buffered beyond the responses already framed
    /// and it holds more than `keep` bytes (a connection at rest keeps little: the crate's
    /// buffer policy).
    pub fn release_storage(&mut self, keep: usize) {
        if !self.is_idle() {
            return;
        }
        self.compact();
        if self.filled == 0 && self.buf.capacity() > keep {
            self.buf = Vec::new();
            self.settle();
        }
    }

    /// Reads up to `max` bytes from `reader` straight into the buffer (one `read` call);
    /// returns how many were read (0 at end of stream).
    pub fn read_from<R: Read + ?Sized>(
        &mut self,
        reader: &mut R,
        max: usize,
    ) -> std::io::Result<usize> {
        self.compact();
        self.reserve(max);
        let end = self.filled.saturating_add(max);
        let n = reader.read(self.buf.get_mut(self.filled..end).unwrap_or(&mut []))?;
        self.filled += n.min(max);
        Ok(n)
    }

    /// The framer's buffer (the response in progress and anything received after it).
    pub fn buffer(&self) -> &[u8] {
        self.data()
    }

    fn data(&self) -> &[u8] {
        self.buf.get(..self.filled).unwrap_or(&[])
    }

    /// How many bytes the framer holds (what a caller bounding memory watches).
    pub fn buffered_len(&self) -> usize {
        self.filled
    }

    /// Bytes held beyond the current response's framed part: nothing pending means the
    /// stream is at a response boundary.
    pub fn is_idle(&self) -> bool {
        self.state == State::Line && self.start == self.filled
    }

    /// Bytes of a streamed literal still owed by the source (0 when not streaming).
    pub fn literal_remaining(&self) -> u64 {
        match self.state {
            State::Streaming(n) => n,
            _ => 0,
        }
    }

    /// The part of a streamed literal's body already in the buffer.
    pub fn streamed_bytes(&self) -> &[u8] {
        let n = usize::try_from(self.literal_remaining()).unwrap_or(usize::MAX);
        let end = self.pos.saturating_add(n).min(self.filled);
        self.buf.get(self.pos..end).unwrap_or(&[])
    }

    /// Removes the first `n` bytes of [`streamed_bytes`](Self::streamed_bytes) (the
    /// caller has written them to its sink).
    pub fn consume_streamed(&mut self, n: usize) {
        let n = n.min(self.streamed_bytes().len());
        if n > 0 {
            self.buf.copy_within(self.pos + n..self.filled, self.pos);
            self.filled -= n;
            self.base = self.base.saturating_add(n as u64);
            if let State::Streaming(rem) = self.state {
                self.state = State::Streaming(rem.saturating_sub(n as u64));
            }
        }
    }

    /// Moves bytes `range` (offsets within the response [`next_frame`](Self::next_frame)
    /// returned last) out of the framer, e.g. a message body to keep. A part of 1 MiB or
    /// more is not copied: the framer's storage becomes the returned vector (the part is
    /// moved to its front in place) and the framer continues with a new buffer holding only
    /// what followed the response, so holding a large message never takes twice its size.
    /// A smaller part is copied. `None` if `range` is not within that response (or the
    /// framer has read since, or nothing was returned).
    pub fn take_from_last(&mut self, range: std::ops::Range<usize>) -> Option<Vec<u8>> {
        let from = self.last.checked_add(range.start)?;
        let to = self.last.checked_add(range.end)?;
        if from > to || to > self.start {
            return None;
        }
        if to - from < TAKE_WITHOUT_COPY {
            return self.buf.get(from..to).map(<[u8]>::to_vec);
        }
        let rest = self.buf.get(self.start..self.filled)?;
        let mut fresh = Vec::with_capacity(rest.len().max(4096));
        fresh.extend_from_slice(rest);
        let mut out = std::mem::replace(&mut self.buf, fresh);
        // The taken storage is the caller's now: it leaves the budget.
        self.settle();
        self.rebase();
        out.copy_within(from..to, 0);
        out.truncate(to - from);
        out.shrink_to_fit();
        Some(out)
    }

    /// Tells the framer that the caller copied `n` bytes of the streamed literal straight
    /// from the source, without passing them through the framer.
    pub fn skipped_from_source(&mut self, n: u64) {
        if let State::Streaming(rem) = self.state {
            self.state = State::Streaming(rem.saturating_sub(n));
            self.base = self.base.saturating_add(n);
        }
    }

    fn stream_offset(&self, index: usize) -> u64 {
        self.base.saturating_add(index as u64)
    }

    fn protocol_error(&self, message: String, index: usize) -> Error {
        let offset = usize::try_from(self.stream_offset(index)).unwrap_or(usize::MAX);
        Error::Protocol {
            message,
            excerpt: excerpt(self.data(), index),
            offset,
        }
    }

    /// Frames as far as the buffered bytes allow: a complete response, a literal to
    /// stream, or `None` when more bytes are needed.
    ///
    /// Errors (over-long line, over-large literal, malformed literal size) leave the
    /// stream unusable.
    pub fn next_frame(&mut self) -> Result<Option<FrameEvent<'_>>> {
        loop {
            match self.state {
                State::Streaming(0) | State::Literal(0) => {
                    self.state = State::Line;
                    self.line_start = self.pos;
                }
                State::Streaming(_) => return Ok(None),
                State::Literal(rem) => {
                    let avail = (self.filled - self.pos) as u64;
                    let take = avail.min(rem);
                    self.pos += take as usize;
                    self.state = State::Literal(rem - take);
                    if rem > take {
                        return Ok(None);
                    }
                }
                State::Line => {
                    let tail = self.buf.get(self.pos..self.filled).unwrap_or(&[]);
                    let Some(nl) = find_newline(tail) else {
                        self.pos = self.filled;
                        if self.filled - self.line_start > self.limits.max_line_length {
                            return Err(self.line_too_long());
                        }
                        return Ok(None);
                    };
                    let line_end = self.pos + nl + 1;
                    if line_end - self.line_start > self.limits.max_line_length {
                        return Err(self.line_too_long());
                    }
                    if (line_end - self.start) as u64 > self.limits.max_response_size {
                        return Err(self.response_too_large());
                    }
                    self.pos = line_end;
                    match self.literal_at_end(line_end)? {
                        None => {
                            let start = self.start;
                            let streamed = self.streamed;
                            self.last = start;
                            self.start = line_end;
                            self.line_start = line_end;
                            self.streamed = 0;
                            return Ok(Some(FrameEvent::Response(Frame {
                                bytes: self.buf.get(start..line_end).unwrap_or(&[]),
                                streamed,
                                stream_offset: self.stream_offset(start),
                            })));
                        }
                        Some((brace, size)) => {
                            if self.stream_threshold.is_some_and(|t| size > t) {
                                // Rewrite the announcement to `{0}` and let the caller
                                // move the body out.
                                self.buf.truncate(self.filled);
                                self.buf.splice(brace..line_end, b"{0}\r\n".iter().copied());
                                self.filled = self.buf.len();
                                self.settle();
                                let removed = (line_end - brace) as u64;
                                self.pos = brace + 5;
                                self.base = self.base.saturating_add(removed).saturating_sub(5);
                                self.streamed += 1;
                                self.state = State::Streaming(size);
                                return Ok(Some(FrameEvent::StreamLiteral {
                                    offset: self.pos,
                                    size,
                                }));
                            }
                            if size > self.limits.max_literal_size {
                                return Err(Error::LimitExceeded {
                                    what: "literal".into(),
                                    limit: usize::try_from(self.limits.max_literal_size)
                                        .unwrap_or(usize::MAX),
                                });
                            }
                            // All of one response's lines and literals together (a
                            // response of many literals each under the literal limit).
                            if ((line_end - self.start) as u64).saturating_add(size)
                                > self.limits.max_response_size
                            {
                                return Err(self.response_too_large());
                            }
                            self.state = State::Literal(size);
                        }
                    }
                }
            }
        }
    }

    fn response_too_large(&self) -> Error {
        Error::LimitExceeded {
            what: "one response (its lines and literals together)".into(),
            limit: usize::try_from(self.limits.max_response_size).unwrap_or(usize::MAX),
        }
    }

    fn line_too_long(&self) -> Error {
        Error::LimitExceeded {
            what: "response line".into(),
            limit: self.limits.max_line_length,
        }
    }

    /// If the line ending at `line_end` (just after `\n`) announces a literal, returns the
    /// index of its `{` and its size.
    fn literal_at_end(&self, line_end: usize) -> Result<Option<(usize, u64)>> {
        let line = self.buf.get(self.line_start..line_end).unwrap_or(&[]);
        literal_announced(line)
            .map(|found| found.map(|(open, size)| (self.line_start + open, size)))
            .map_err(|(message, at)| self.protocol_error(message.into(), self.line_start + at))
    }
}

impl Drop for Framer {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.release(self.charged as u64);
        }
    }
}

/// If `line` (ending in `\n`) ends with a literal announcement (`{n}`, `{n+}`), the offset of
/// its `{` in the line and `n`. Errors carry a message and the offset of the bad byte.
fn literal_announced(
    line: &[u8],
) -> std::result::Result<Option<(usize, u64)>, (&'static str, usize)> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let Some(inner) = body.strip_suffix(b"}") else {
        return Ok(None);
    };
    let Some(open) = inner.iter().rposition(|&b| b == b'{') else {
        return Ok(None);
    };
    let content = inner.get(open + 1..).unwrap_or(&[]);
    // Human text such as `* OK see {this}` is not a literal; anything that starts
    // like a number is, and must be a valid one.
    let looks_numeric = content
        .first()
        .is_some_and(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+');
    if !looks_numeric {
        return Ok(None);
    }
    let digits = content.strip_suffix(b"+").unwrap_or(content);
    let mut size: u64 = 0;
    for (i, &d) in digits.iter().enumerate() {
        if !d.is_ascii_digit() {
            return Err(("literal size is not a number", open + 1 + i));
        }
        size = size
            .checked_mul(10)
            .and_then(|s| s.checked_add(u64::from(d - b'0')))
            .ok_or(("literal size overflows", open))?;
    }
    if digits.is_empty() {
        return Err(("literal size is missing", open));
    }
    Ok(Some((open, size)))
}

/// The length of the first complete response in `bytes` (line ends and literals included),
/// or `None` if `bytes` holds only part of one: framing over a buffer that is already
/// complete (a file, a test vector), without copying it into a [`Framer`]. A literal's body
/// is skipped, not scanned. The same limits and errors as [`Framer::next_frame`] apply.
///
/// ```
/// use mailwire::Limits;
/// use mailwire::imap::codec::frame::complete_len;
///
/// let buf = b"* 1 FETCH (BODY[] {5}\r\nhello)\r\na1 OK done\r\n";
/// let first = complete_len(buf, &Limits::default()).unwrap().unwrap();
/// assert_eq!(&buf[..first], b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n");
/// assert_eq!(complete_len(&buf[..10], &Limits::default()).unwrap(), None);
/// ```
pub fn complete_len(bytes: &[u8], limits: &Limits) -> Result<Option<usize>> {
    let mut line_start = 0;
    loop {
        let tail = bytes.get(line_start..).unwrap_or(&[]);
        let Some(nl) = find_newline(tail) else {
            if tail.len() > limits.max_line_length {
                return Err(Error::LimitExceeded {
                    what: "response line".into(),
                    limit: limits.max_line_length,
                });
            }
            return Ok(None);
        };
        let line_end = line_start + nl + 1;
        if line_end - line_start > limits.max_line_length {
            return Err(Error::LimitExceeded {
                what: "response line".into(),
                limit: limits.max_line_length,
            });
        }
        let line = bytes.get(line_start..line_end).unwrap_or(&[]);
        match literal_announced(line) {
            Ok(None) => return Ok(Some(line_end)),
            Ok(Some((_, size))) => {
                if size > limits.max_literal_size {
                    return Err(Error::LimitExceeded {
                        what: "literal".into(),
                        limit: usize::try_from(limits.max_literal_size).unwrap_or(usize::MAX),
                    });
                }
                match usize::try_from(size)
                    .ok()
                    .and_then(|n| line_end.checked_add(n))
                {
                    Some(next) if next <= bytes.len() => line_start = next,
                    _ => return Ok(None),
                }
            }
            Err((message, at)) => {
                return Err(Error::Protocol {
                    message: message.into(),
                    excerpt: excerpt(bytes, line_start + at),
                    offset: line_start + at,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::codec::parse::parse_response;
    use crate::imap::types::{FetchData, Response, Untagged};
    use std::io::{Read, Write};

    fn limits(line: usize, literal: u64) -> Limits {
        Limits {
            max_line_length: line,
            max_literal_size: literal,
            ..Limits::default()
        }
    }

    fn frames(f: &mut Framer) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(FrameEvent::Response(fr)) = f.next_frame().unwrap() {
            out.push(fr.bytes.to_vec());
        }
        out
    }

    const INPUT: &[u8] = b"* OK hi\r\n* 1 FETCH (BODY[] {5}\r\nab\r\nc FLAGS (\\Seen) BODY[1] ~{2+}\r\n{})\r\na1 OK done\r\n";

    #[test]
    fn frames_lines_and_literals_whole_or_bytewise() {
        let mut whole = Framer::new(Limits::default());
        whole.extend(INPUT);
        let expected = frames(&mut whole);
        assert_eq!(expected.len(), 3);
        assert_eq!(expected.concat(), INPUT);
        let mut bytewise = Framer::new(Limits::default());
        let mut got = Vec::new();
        for b in INPUT {
            bytewise.extend(&[*b]);
            got.extend(frames(&mut bytewise));
            assert!(bytewise.buffered_len() <= 80);
        }
        assert_eq!(got, expected);
        assert!(bytewise.is_idle());
    }

    #[test]
    fn complete_len_agrees_with_the_framer() {
        let transcripts: [&[u8]; 4] = [
            INPUT,
            include_bytes!("../../../tests/transcripts/dovecot-session.bin"),
            include_bytes!("../../../tests/transcripts/gmail.bin"),
            include_bytes!("../../../tests/transcripts/domino.bin"),
        ];
        for input in transcripts {
            let mut framer = Framer::new(Limits::default());
            framer.extend(input);
            let expected = frames(&mut framer);
            let mut rest = input;
            let mut got = Vec::new();
            while let Some(n) = complete_len(rest, &Limits::default()).unwrap() {
                got.push(rest[..n].to_vec());
                // every proper prefix of a response is incomplete
                for cut in [0, 1, n / 2, n - 1] {
                    assert_eq!(
                        complete_len(&rest[..cut], &Limits::default()).unwrap(),
                        None
                    );
                }
                rest = &rest[n..];
            }
            assert!(rest.is_empty(), "{} bytes left", rest.len());
            assert_eq!(got, expected);
        }
        // the framer's errors and limits
        assert!(matches!(
            complete_len(b"* 1 FETCH (BODY[] {12x}\r\n", &Limits::default()),
            Err(Error::Protocol { offset: 21, .. })
        ));
        assert!(matches!(
            complete_len(b"* 1 FETCH (BODY[] {11}\r\n", &limits(1024, 10)),
            Err(Error::LimitExceeded { limit: 10, .. })
        ));
        assert!(matches!(
            complete_len(&[b' '; 2000], &limits(1024, 10)),
            Err(Error::LimitExceeded { limit: 1024, .. })
        ));
    }

    #[test]
    fn human_text_braces_are_not_literals() {
        let mut f = Framer::new(Limits::default());
        f.extend(b"* OK see {this}\r\n* OK {}\r\n");
        assert_eq!(frames(&mut f).len(), 2);
    }

    #[test]
    fn bad_literal_sizes_are_protocol_errors_with_offset() {
        for (input, offset) in [
            (
                &b"* OK x\r\n* 1 FETCH (BODY[] {99999999999999999999999}\r\n"[..],
                26,
            ),
            (b"* 1 FETCH (BODY[] {12x}\r\n", 21),
            (b"* 1 FETCH (BODY[] {-1}\r\n", 19),
        ] {
            let mut f = Framer::new(Limits::default());
            f.extend(input);
            let err = loop {
                match f.next_frame() {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("no error for {input:?}"),
                    Err(e) => break e,
                }
            };
            assert!(
                matches!(&err, Error::Protocol { offset: o, excerpt, .. } if *o == offset && !excerpt.is_empty()),
                "{err:?}"
            );
        }
    }

    #[test]
    fn line_limit_hits_before_the_line_ends() {
        let mut f = Framer::new(limits(1024, 1 << 20));
        f.extend(b"* SEARCH");
        assert!(f.next_frame().unwrap().is_none());
        let err = loop {
            f.extend(&[b' '; 100]);
            match f.next_frame() {
                Ok(None) => assert!(f.buffered_len() <= 1124),
                Ok(Some(_)) => panic!(),
                Err(e) => break e,
            }
        };
        assert!(matches!(err, Error::LimitExceeded { limit: 1024, .. }));
    }

    #[test]
    fn literal_limit() {
        let mut f = Framer::new(limits(1024, 10));
        f.extend(b"* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n");
        assert!(matches!(f.next_frame(), Ok(Some(FrameEvent::Response(_)))));
        f.extend(b"* 1 FETCH (BODY[] {11}\r\n");
        assert!(matches!(
            f.next_frame(),
            Err(Error::LimitExceeded { limit: 10, .. })
        ));
    }

    /// A reader producing `* 3 FETCH (UID 9 BODY[] {size}` + size bytes + `)` + a tagged OK,
    /// without ever holding the body.
    struct Generated {
        head: Vec<u8>,
        size: u64,
        tail: Vec<u8>,
        pos: u64,
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let head = self.head.len() as u64;
            let total = head + self.size + self.tail.len() as u64;
            let mut n = 0;
            while n < out.len() && self.pos < total {
                let p = self.pos;
                out[n] = if p < head {
                    self.head[p as usize]
                } else if p < head + self.size {
                    b'a' + ((p - head) % 26) as u8
                } else {
                    self.tail[(p - head - self.size) as usize]
                };
                n += 1;
                self.pos += 1;
            }
            Ok(n)
        }
    }

    struct Counting(u64, u64);
    impl Write for Counting {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            self.1 = b.iter().fold(self.1, |h, &x| {
                h.wrapping_mul(31).wrapping_add(u64::from(x))
            });
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn streams_a_50_mb_literal_with_bounded_memory() {
        const SIZE: u64 = 50 * 1024 * 1024;
        let mut src = Generated {
            head: b"* 2 EXISTS\r\n* 3 FETCH (UID 9 BODY[] {52428800}\r\n".to_vec(),
            size: SIZE,
            tail: b" FLAGS (\\Seen))\r\na7 OK done\r\n".to_vec(),
            pos: 0,
        };
        // max_literal_size far below the body: streaming is not bound by it
        let mut f = Framer::new(limits(4096, 1 << 20)).with_stream_threshold(64 * 1024);
        let mut sink = Counting(0, 0);
        let mut responses = Vec::new();
        let mut peak = 0;
        let mut streams = 0;
        loop {
            match f.next_frame().unwrap() {
                Some(FrameEvent::Response(fr)) => {
                    responses.push((parse_response(fr.bytes).unwrap(), fr.streamed));
                    continue;
                }
                Some(FrameEvent::StreamLiteral { size, offset }) => {
                    assert_eq!(size, SIZE);
                    assert_eq!(&f.buffer()[offset - 5..offset], b"{0}\r\n");
                    streams += 1;
                    continue;
                }
                None => {}
            }
            if f.literal_remaining() > 0 {
                let held = f.streamed_bytes();
                let n = held.len();
                sink.write_all(held).unwrap();
                f.consume_streamed(n);
                // and half of the time copy straight from the source, bypassing the framer
                if f.literal_remaining() > 0 && sink.0.is_multiple_of(2) {
                    let want = f.literal_remaining().min(64 * 1024);
                    let copied = std::io::copy(&mut (&mut src).take(want), &mut sink).unwrap();
                    f.skipped_from_source(copied);
                    continue;
                }
            }
            if f.read_from(&mut src, 64 * 1024).unwrap() == 0 {
                break;
            }
            peak = peak.max(f.buffered_len());
        }
        assert!(peak < 1024 * 1024, "framer held {peak} bytes");
        assert_eq!(streams, 1);
        assert_eq!(sink.0, SIZE);
        let mut expect = Counting(0, 0);
        std::io::copy(
            &mut Generated {
                head: vec![],
                size: SIZE,
                tail: vec![],
                pos: 0,
            },
            &mut expect,
        )
        .unwrap();
        assert_eq!(sink.1, expect.1, "body bytes differ");
        assert_eq!(responses.len(), 3);
        assert_eq!(responses[0], (Response::Untagged(Untagged::Exists(2)), 0));
        let (Response::Untagged(Untagged::Fetch { seq: 3, items }), 1) = &responses[1] else {
            panic!("{:?}", responses[1])
        };
        assert_eq!(items[0], FetchData::Uid(9));
        assert_eq!(
            items[1],
            FetchData::BodySection {
                section: String::new(),
                origin: None,
                data: Some(vec![])
            }
        );
        assert!(matches!(items[2], FetchData::Flags(_)));
        assert!(matches!(responses[2].0, Response::Tagged { .. }));
    }

    #[test]
    fn storage_is_reused_and_a_large_buffer_released_when_empty() {
        let mut f = Framer::new(limits(4096, 4 << 20));
        let mut src: &[u8] = b"* 1 EXISTS\r\n";
        assert_eq!(f.read_from(&mut src, 64 * 1024).unwrap(), 12);
        assert_eq!(frames(&mut f).len(), 1);
        let capacity = f.buf.len();
        // Short reads reuse the storage (nothing after `filled` counts).
        for _ in 0..100 {
            let mut src: &[u8] = b"* 2 EXISTS\r\n";
            f.read_from(&mut src, 64 * 1024).unwrap();
            assert_eq!(frames(&mut f), vec![b"* 2 EXISTS\r\n".to_vec()]);
        }
        assert_eq!(f.buf.len(), capacity);
        // A 2 MiB literal grows it; once that response is framed and nothing is pending,
        // the next read starts from a small buffer again.
        let mut big = b"* 3 FETCH (BODY[] {2097152}\r\n".to_vec();
        big.resize(big.len() + 2_097_152, b'x');
        big.extend_from_slice(b")\r\n");
        f.extend(&big);
        assert_eq!(frames(&mut f).len(), 1);
        assert!(f.buf.len() > 2_000_000);
        let mut src: &[u8] = b"* 4 EXISTS\r\n";
        f.read_from(&mut src, 64 * 1024).unwrap();
        assert_eq!(frames(&mut f), vec![b"* 4 EXISTS\r\n".to_vec()]);
        assert!(f.buf.len() <= capacity, "{} bytes kept", f.buf.len());
    }

    #[test]
    fn take_from_last_copies_small_parts_and_hands_over_large_ones() {
        let big = vec![b'x'; 2 << 20];
        let mut input = b"* 1 FETCH (BODY[] {5}\r\nsmall)\r\n".to_vec();
        input.extend_from_slice(format!("* 2 FETCH (BODY[] {{{}}}\r\n", big.len()).as_bytes());
        input.extend_from_slice(&big);
        input.extend_from_slice(b")\r\n* 3 FETCH (BODY[] {4}\r\nnext)\r\na1 OK do");
        let mut f = Framer::new(limits(4096, 8 << 20));
        f.extend(&input);
        // Nothing returned yet: no range is valid.
        assert_eq!(f.take_from_last(0..1), None);
        let Some(FrameEvent::Response(first)) = f.next_frame().unwrap() else {
            panic!()
        };
        assert_eq!(first.stream_offset, 0);
        let at = first.bytes.len() - 8;
        assert_eq!(f.take_from_last(at..at + 5), Some(b"small".to_vec()));
        assert_eq!(f.take_from_last(0..10_000), None, "beyond the response");
        let Some(FrameEvent::Response(second)) = f.next_frame().unwrap() else {
            panic!()
        };
        let (len, offset) = (second.bytes.len(), second.stream_offset);
        let head = len - big.len() - 3;
        let body = f.take_from_last(head..head + big.len()).unwrap();
        assert!(body == big);
        assert_eq!(body.capacity(), body.len(), "given back exactly");
        assert!(
            f.buffered_len() < 100,
            "the framer kept {}",
            f.buffered_len()
        );
        // Framing goes on where it was, with stream offsets intact, and the rest of the
        // stream can still arrive.
        let Some(FrameEvent::Response(third)) = f.next_frame().unwrap() else {
            panic!()
        };
        assert_eq!(third.bytes, b"* 3 FETCH (BODY[] {4}\r\nnext)\r\n");
        assert_eq!(offset, 31);
        assert_eq!(third.stream_offset, offset + len as u64);
        assert!(f.next_frame().unwrap().is_none());
        f.extend(b"ne\r\n");
        let Some(FrameEvent::Response(done)) = f.next_frame().unwrap() else {
            panic!()
        };
        assert_eq!(done.bytes, b"a1 OK done\r\n");
        assert_eq!(done.stream_offset as usize, input.len() - 8);
        assert!(f.is_idle());
    }

    #[test]
    fn find_newline_matches_a_plain_scan() {
        // Every position and neighbouring byte values (0x0a +- 1, 0x8a, 0xff, 0x00)
        // across chunk boundaries.
        let fillers = [0u8, b'a', 0x09, 0x0b, 0x8a, 0xff, 0x80, 0x7f];
        for len in 0..40 {
            for &fill in &fillers {
                for nl in (0..len).map(Some).chain([None]) {
                    let mut hay = vec![fill; len];
                    if let Some(i) = nl {
                        hay[i] = b'\n';
                        // a second newline later must not win
                        if i + 3 < len {
                            hay[i + 3] = b'\n';
                        }
                    }
                    let expect = hay.iter().position(|&b| b == b'\n');
                    assert_eq!(find_newline(&hay), expect, "{hay:?}");
                    // and with a second needle placed before, at or after the first
                    for other in [i32::MIN, -1, 0, 2] {
                        let mut two = hay.clone();
                        let at = nl.map_or(len as i32 / 2, |i| i as i32 + other);
                        if other != i32::MIN && at >= 0 && (at as usize) < len {
                            two[at as usize] = b'"';
                        }
                        let expect = two.iter().position(|&b| b == b'\n' || b == b'"');
                        assert_eq!(find_either(&two, b'"', b'\n'), expect, "{two:?}");
                    }
                }
            }
        }
    }
}
