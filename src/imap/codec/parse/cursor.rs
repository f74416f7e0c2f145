//! The cursor `P` over one response's bytes and the grammar's basic values: atoms, numbers,
//! strings, literals, flag lists, sequence sets.
//!
//! A `P` holds the whole response (`b`: line end and literals included, as the
//! [`Framer`](crate::imap::codec::frame::Framer) returned it), the offset of the next unread
//! byte (`i`) and how many parentheses the grammar is inside (`depth`). Invariants:
//!
//! - `i <= b.len()`: every step forward follows a successful `peek` or a bounds check, and
//!   every read goes through `get`, so a slip reads as empty rather than panicking;
//!   [`err`](P::err) clamps the offset all the same;
//! - `i` moves forward, except that a caller may rewind to an offset it saved (a failed
//!   alternative) or step back over the byte it has just read;
//! - `depth` is raised by [`enter`](P::enter), which fails once it passes `MAX_DEPTH`, and
//!   lowered by the code that entered when it leaves its parentheses (an error abandons the
//!   whole parse, so it is not restored then);
//! - values borrow from `b` (lifetime `'a`) wherever they can.
//!
//! Lists: [`parenthesized`](P::parenthesized) reads `( item item … )`,
//! [`list_rest`](P::list_rest) the items of a list whose `(` a caller read itself (after
//! trying `NIL` or another alternative), and [`named_value`](P::named_value) a `(NAME value)`
//! pair; no grammar rule loops to a `)` by hand.

use std::borrow::Cow;

use super::parse_uid_set;
use crate::error::{Error, Result};
use crate::imap::seqset::SequenceSet;
use crate::imap::types::Flag;

/// Deepest nesting of parentheses accepted (body structures, unknown values).
pub(super) const MAX_DEPTH: usize = 64;

pub(super) fn seq_number(s: &[u8]) -> Option<u32> {
    if s == b"*" {
        return Some(u32::MAX);
    }
    digits_u64(s).and_then(|n| u32::try_from(n).ok())
}

pub(super) fn digits_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

pub(super) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Like [`lossy`] for an owned buffer: valid UTF-8 (the usual case) is kept as is, without
/// a second allocation and copy.
pub(super) fn lossy_owned(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| lossy(e.as_bytes()))
}

/// Pushes onto a list that usually holds one element (addresses of a field, parameters of a
/// part): the first push allocates room for exactly one, later ones grow as usual. These
/// lists live as long as the message; the default first allocation (room for four) made
/// most of a metadata fetch's memory.
pub(super) fn push_snug<T>(list: &mut Vec<T>, value: T) {
    if list.capacity() == 0 {
        list.reserve_exact(1);
    }
    list.push(value);
}

/// A keyword upper-cased into `buf` for matching, without allocating. A word longer than
/// the buffer is returned as is: no keyword is that long, so it matches nothing.
pub(super) fn keyword<'k>(word: &'k [u8], buf: &'k mut [u8; 16]) -> &'k [u8] {
    match buf.get_mut(..word.len()) {
        Some(out) => {
            out.copy_from_slice(word);
            out.make_ascii_uppercase();
            out
        }
        None => word,
    }
}

pub(super) fn upper(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_uppercase()
}

pub(super) fn is_atom_end(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'(' | b')' | b'{' | b'"' | b'\r' | b'\n' | b'[' | b']'
    )
}

pub(super) fn is_astring_end(b: u8) -> bool {
    matches!(b, b' ' | b'(' | b')' | b'{' | b'"' | b'\r' | b'\n')
}

pub(super) struct P<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
    pub(super) depth: usize,
}

impl<'a> P<'a> {
    pub(super) fn err(&self, message: &str) -> Error {
        Error::protocol(message, self.b, self.i.min(self.b.len()))
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Whether a literal starts here: `{`, or `~{` (a `~` alone is an atom character, as
    /// in the mailbox `~peter/mail`).
    fn at_literal(&self) -> bool {
        match self.peek() {
            Some(b'{') => true,
            Some(b'~') => self.b.get(self.i + 1) == Some(&b'{'),
            _ => false,
        }
    }

    pub(super) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn require(&mut self, c: u8, what: &str) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// Skips spaces (any number, including none: servers are sloppy both ways).
    pub(super) fn sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    pub(super) fn at_line_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\r') | Some(b'\n'))
    }

    pub(super) fn take_while(&mut self, end: fn(u8) -> bool) -> &'a [u8] {
        let start = self.i;
        let rest = self.b.get(start..).unwrap_or(&[]);
        let n = rest.iter().position(|&b| end(b)).unwrap_or(rest.len());
        self.i = start + n;
        rest.get(..n).unwrap_or(&[])
    }

    pub(super) fn atom(&mut self) -> &'a [u8] {
        self.take_while(is_atom_end)
    }

    pub(super) fn nonempty_atom(&mut self, what: &str) -> Result<&'a [u8]> {
        let a = self.atom();
        if a.is_empty() {
            Err(self.err(what))
        } else {
            Ok(a)
        }
    }

    pub(super) fn number_u64(&mut self) -> Result<u64> {
        let start = self.i;
        let d = self.take_while(|b| !b.is_ascii_digit());
        digits_u64(d).ok_or_else(|| {
            self.i = start;
            self.err("expected a number")
        })
    }

    pub(super) fn number(&mut self) -> Result<u32> {
        let start = self.i;
        let n = self.number_u64()?;
        u32::try_from(n).map_err(|_| {
            self.i = start;
            self.err("number does not fit in 32 bits")
        })
    }

    /// The rest of the line as text, trailing spaces trimmed; consumes the line end.
    pub(super) fn text(&mut self) -> String {
        let t = self.take_while(|b| b == b'\r' || b == b'\n');
        self.eat(b'\r');
        self.eat(b'\n');
        let end = t.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
        lossy(t.get(..end).unwrap_or(&[]))
    }

    /// Expects the end of the response, tolerating trailing spaces and stray `)`.
    pub(super) fn finish(&mut self) -> Result<()> {
        loop {
            self.sp();
            if !self.eat(b')') {
                break;
            }
        }
        self.eat(b'\r');
        if self.eat(b'\n') || self.i >= self.b.len() {
            if self.i >= self.b.len() {
                return Ok(());
            }
            return Err(self.err("unexpected data after the end of the response"));
        }
        Err(self.err("expected the end of the line"))
    }

    pub(super) fn quoted(&mut self) -> Result<Vec<u8>> {
        self.quoted_cow().map(Cow::into_owned)
    }

    /// A quoted string: borrowed from the response unless it has escapes.
    pub(super) fn quoted_cow(&mut self) -> Result<Cow<'a, [u8]>> {
        self.require(b'"', "expected a quoted string")?;
        let start = self.i;
        let rest = self.b.get(start..).unwrap_or(&[]);
        let Some(n) = crate::imap::codec::frame::find_either(rest, b'"', b'\\') else {
            return Err(self.err("unterminated quoted string"));
        };
        if rest.get(n) == Some(&b'"') {
            self.i = start + n + 1;
            return Ok(Cow::Borrowed(rest.get(..n).unwrap_or(&[])));
        }
        let mut out = rest.get(..n).unwrap_or(&[]).to_vec();
        self.i = start + n;
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated quoted string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c) => {
                            out.push(c);
                            self.i += 1;
                        }
                        None => return Err(self.err("unterminated quoted string")),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    pub(super) fn literal(&mut self) -> Result<&'a [u8]> {
        self.eat(b'~');
        self.require(b'{', "expected a literal")?;
        let size = self.number_u64()?;
        self.eat(b'+');
        self.require(b'}', "expected } after the literal size")?;
        self.eat(b'\r');
        self.require(b'\n', "expected a line end after the literal size")?;
        let start = self.i;
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| start.checked_add(s))
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| self.err("literal is longer than the response"))?;
        self.i = end;
        Ok(self.b.get(start..end).unwrap_or(&[]))
    }

    /// `NIL`, a quoted string, a literal, or (leniently) a bare atom.
    pub(super) fn nstring(&mut self) -> Result<Option<Vec<u8>>> {
        Ok(self.nstring_cow()?.map(Cow::into_owned))
    }

    /// [`nstring`](Self::nstring), borrowed from the response where it can be.
    pub(super) fn nstring_cow(&mut self) -> Result<Option<Cow<'a, [u8]>>> {
        match self.peek() {
            Some(b'"') => self.quoted_cow().map(Some),
            _ if self.at_literal() => self.literal().map(|l| Some(Cow::Borrowed(l))),
            _ => {
                let a = self.take_while(is_astring_end);
                if a.is_empty() {
                    Err(self.err("expected a string"))
                } else if a.eq_ignore_ascii_case(b"NIL") {
                    Ok(None)
                } else {
                    Ok(Some(Cow::Borrowed(a)))
                }
            }
        }
    }

    /// A string where `NIL` (wrong but sent) reads as empty.
    pub(super) fn string(&mut self) -> Result<Vec<u8>> {
        Ok(self.nstring()?.unwrap_or_default())
    }

    pub(super) fn string_text(&mut self) -> Result<String> {
        self.string().map(lossy_owned)
    }

    /// A string, lower-cased in place (media types and subtypes).
    pub(super) fn lower_text(&mut self) -> Result<String> {
        let mut text = self.string_text()?;
        text.make_ascii_lowercase();
        Ok(text)
    }

    pub(super) fn nstring_text(&mut self) -> Result<Option<String>> {
        Ok(self.nstring()?.map(lossy_owned))
    }

    /// An astring (atom, quoted or literal); `NIL` is kept as the name `NIL`.
    pub(super) fn astring(&mut self) -> Result<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            _ if self.at_literal() => self.literal().map(|l| l.to_vec()),
            _ => {
                let a = self.take_while(is_astring_end);
                if a.is_empty() {
                    Err(self.err("expected a string"))
                } else {
                    Ok(a.to_vec())
                }
            }
        }
    }

    /// A parenthesised list: `(`, or the error `what`; then its items up to and including
    /// the `)`, as [`list_rest`](Self::list_rest) reads them (no message of its own for an
    /// unterminated list: the item reader fails at the line end).
    pub(super) fn parenthesized(
        &mut self,
        what: &str,
        item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.require(b'(', what)?;
        self.list_rest(None, item)
    }

    /// The items of a list whose `(` was just read, up to and including its `)`: spaces
    /// before each item and before the `)` are skipped, `item` reads one item (it consumes
    /// something or fails). When the line ends before the `)`, the error is `unterminated`
    /// if given, else whatever `item` says there.
    #[inline]
    pub(super) fn list_rest(
        &mut self,
        unterminated: Option<&str>,
        mut item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        loop {
            self.sp();
            if self.eat(b')') {
                return Ok(());
            }
            if let Some(message) = unterminated
                && self.at_line_end()
            {
                return Err(self.err(message));
            }
            item(self)?;
        }
    }

    /// `NAME value)` after its `(` was read: the atom `name` (case-insensitive, else the
    /// error `missing`), the value `value` reads, then `)` (else the error `unclosed`).
    pub(super) fn named_value<T>(
        &mut self,
        name: &[u8],
        missing: &str,
        unclosed: &str,
        value: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.sp();
        if !self.atom().eq_ignore_ascii_case(name) {
            return Err(self.err(missing));
        }
        self.sp();
        let v = value(self)?;
        self.sp();
        self.require(b')', unclosed)?;
        Ok(v)
    }

    pub(super) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        Ok(())
    }

    /// Skips one value of any shape; returns its bytes.
    pub(super) fn skip_value(&mut self) -> Result<&'a [u8]> {
        let start = self.i;
        match self.peek() {
            Some(b'(') => {
                self.enter()?;
                self.i += 1;
                self.list_rest(Some("unterminated list"), |p| p.skip_value().map(drop))?;
                self.depth -= 1;
            }
            Some(b'"') => {
                self.quoted()?;
            }
            _ if self.at_literal() => {
                self.literal()?;
            }
            _ => {
                let a = self.take_while(|b| is_astring_end(b) && b != b'[' && b != b']');
                if a.is_empty() {
                    if self.peek() == Some(b'[') || self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        return Err(self.err("expected a value"));
                    }
                }
            }
        }
        Ok(self.b.get(start..self.i).unwrap_or(&[]))
    }

    pub(super) fn flag_list(&mut self) -> Result<Vec<Flag>> {
        let mut flags = Vec::new();
        self.parenthesized("expected a flag list", |p| {
            flags.push(Flag::from_bytes(p.nonempty_atom("expected a flag")?));
            Ok(())
        })?;
        Ok(flags)
    }

    /// A server's UID set kept as ranges (`ESEARCH ALL`, `VANISHED`).
    pub(super) fn seq_set(&mut self) -> Result<SequenceSet> {
        let start = self.i;
        let a = self.take_while(is_atom_end);
        SequenceSet::parse_server(a).ok_or_else(|| {
            self.i = start;
            self.err("expected a sequence set")
        })
    }

    pub(super) fn uid_set(&mut self) -> Result<Vec<(u32, u32)>> {
        let start = self.i;
        let a = self.take_while(is_atom_end);
        parse_uid_set(a).ok_or_else(|| {
            self.i = start;
            self.err("expected a sequence set")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::codec::parse::tests::{fetch, untagged};
    use crate::imap::codec::parse::*;
    use crate::imap::types::*;

    #[test]
    fn lenient_8bit_quoted() {
        let items = fetch(b"* 3 FETCH (BODY[] \"quoted \xe4\xf6\xfc 8-bit\")\r\n");
        assert_eq!(
            items,
            vec![FetchData::BodySection {
                section: String::new(),
                origin: None,
                data: Some(b"quoted \xe4\xf6\xfc 8-bit".to_vec())
            }]
        );
        assert!(
            matches!(untagged(b"* LIST () \"/\" \"Ma\xc3\xb1ana \\\"x\\\"\"\r\n"), Untagged::List(l) if l.name == "Mañana \"x\"".as_bytes())
        );
    }

    #[test]
    fn a_tilde_alone_is_an_atom_character() {
        // `~peter/mail` (RFC 3501 §5.1.3's example) is an atom; `~{n}` a literal8.
        assert!(
            matches!(untagged(b"* LIST () \"/\" ~peter/mail/&U,BTFw-\r\n"), Untagged::List(l) if l.name == b"~peter/mail/&U,BTFw-")
        );
        assert!(
            matches!(untagged(b"* LIST () \"/\" ~{3}\r\nabc\r\n"), Untagged::List(l) if l.name == b"abc")
        );
        assert!(
            matches!(untagged(b"* STATUS ~x (MESSAGES 1)\r\n"), Untagged::MailboxStatus { mailbox, .. } if mailbox == b"~x")
        );
    }

    #[test]
    fn errors_have_offsets() {
        for (input, at) in [
            (&b"* 1 FETCH (UID x)\r\n"[..], 15),
            (b"* 1 FETCH (BODY[] {10}\r\nabc)\r\n", 24),
            (b"a1 MAYBE\r\n", 3),
            (b"* 1 FETCH (FLAGS (\\Seen)\r\n", 24),
        ] {
            match parse_response(input) {
                Err(Error::Protocol {
                    offset, excerpt, ..
                }) => {
                    assert_eq!(offset, at, "{:?}", String::from_utf8_lossy(input));
                    assert!(!excerpt.is_empty());
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(parse_response(b"").is_err());
        let deep = [&b"* 1 FETCH (X "[..], &[b'('; 10_000], b"\r\n"].concat();
        assert!(parse_response(&deep).is_err());
    }
}
