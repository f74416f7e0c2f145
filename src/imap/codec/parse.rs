//! Parses one framed IMAP response into a [`Response`].
//!
//! Hand-written and lenient, over byte slices: no regex, no per-byte allocation, one copy of
//! each literal body. What real servers get wrong is tolerated: trailing spaces, a response
//! code without text after it (Gmail `[HIGHESTMODSEQ n]`), extra parentheses around FETCH
//! data and address lists (Domino), `NIL` where a string belongs, a body line count of `-1`,
//! 8-bit bytes in quoted strings, lower-case keywords, bare LF line ends. Unknown responses,
//! response codes and FETCH items are kept raw. Anything that cannot be read is an
//! [`Error::Protocol`] with the offset and an excerpt, never a panic.
//!
//! A literal streamed to a sink by the [`Framer`](super::frame::Framer) arrives here as the
//! empty literal `{0}`.
//!
//! [`parse_fetch`] reads a FETCH response the way a [`Message`](crate::Message) needs it,
//! leaving the message data borrowed from the response instead of copying it: what the
//! fetches of [`ImapConnection`](crate::imap::ImapConnection) use.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::imap::seqset::SequenceSet;
use crate::imap::types::{
    Address, BodyExtension, BodyStructure, Continuation, Envelope, EsearchItem, FetchItem, Flag,
    ListItem, NameAttribute, NamespaceEntry, QuotaResource, Response, ResponseCode, Status,
    StatusItem, Untagged,
};

/// Deepest nesting of parentheses accepted (body structures, unknown values).
const MAX_DEPTH: usize = 64;

/// Parses one complete response as returned by the framer (line end and literals included).
pub fn parse_response(bytes: &[u8]) -> Result<Response> {
    let mut p = P {
        b: bytes,
        i: 0,
        depth: 0,
    };
    match p.peek() {
        Some(b'*') => {
            p.i += 1;
            p.untagged().map(Response::Untagged)
        }
        Some(b'+') => {
            p.i += 1;
            p.eat(b' ');
            let code = if p.peek() == Some(b'[') {
                Some(p.code()?)
            } else {
                None
            };
            let text = p.text();
            Ok(Response::Continuation(Continuation { code, text }))
        }
        Some(_) => p.tagged(),
        None => Err(p.err("empty response")),
    }
}

/// Reads a sequence set / UID set (`1:5,7,9:*`) into inclusive ranges; `*` is `u32::MAX`.
pub fn parse_uid_set(text: &[u8]) -> Option<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    for part in text.split(|&b| b == b',') {
        let mut ends = part.splitn(2, |&b| b == b':');
        let a = seq_number(ends.next()?)?;
        let b = match ends.next() {
            Some(e) => seq_number(e)?,
            None => a,
        };
        out.push((a.min(b), a.max(b)));
    }
    Some(out)
}

fn seq_number(s: &[u8]) -> Option<u32> {
    if s == b"*" {
        return Some(u32::MAX);
    }
    digits_u64(s).and_then(|n| u32::try_from(n).ok())
}

fn digits_u64(s: &[u8]) -> Option<u64> {
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

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Like [`lossy`] for an owned buffer: valid UTF-8 (the usual case) is kept as is, without
/// a second allocation and copy.
fn lossy_owned(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| lossy(e.as_bytes()))
}

/// Pushes onto a list that usually holds one element (addresses of a field, parameters of a
/// part): the first push allocates room for exactly one, later ones grow as usual. These
/// lists live as long as the message; the default first allocation (room for four) made
/// most of a metadata fetch's memory.
fn push_snug<T>(list: &mut Vec<T>, value: T) {
    if list.capacity() == 0 {
        list.reserve_exact(1);
    }
    list.push(value);
}

/// A keyword upper-cased into `buf` for matching, without allocating. A word longer than
/// the buffer is returned as is: no keyword is that long, so it matches nothing.
fn keyword<'k>(word: &'k [u8], buf: &'k mut [u8; 16]) -> &'k [u8] {
    match buf.get_mut(..word.len()) {
        Some(out) => {
            out.copy_from_slice(word);
            out.make_ascii_uppercase();
            out
        }
        None => word,
    }
}

fn upper(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_uppercase()
}

fn is_atom_end(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'(' | b')' | b'{' | b'"' | b'\r' | b'\n' | b'[' | b']'
    )
}

fn is_astring_end(b: u8) -> bool {
    matches!(b, b' ' | b'(' | b')' | b'{' | b'"' | b'\r' | b'\n')
}

/// Which FETCH item carried message data.
#[derive(Clone, Copy)]
enum DataKind {
    BodySection,
    Binary,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
}

/// A FETCH item as parsed, before its message data (if any) is copied.
enum ItemRef<'a> {
    Item(FetchItem),
    Data {
        kind: DataKind,
        section: Option<&'a [u8]>,
        origin: Option<u32>,
        data: Option<Cow<'a, [u8]>>,
    },
}

impl ItemRef<'_> {
    fn into_owned(self) -> FetchItem {
        let (kind, section, origin, data) = match self {
            ItemRef::Item(item) => return item,
            ItemRef::Data {
                kind,
                section,
                origin,
                data,
            } => (kind, section, origin, data.map(Cow::into_owned)),
        };
        let section = || lossy(section.unwrap_or(&[]));
        match kind {
            DataKind::BodySection => FetchItem::BodySection {
                section: section(),
                origin,
                data,
            },
            DataKind::Binary => FetchItem::Binary {
                section: section(),
                origin,
                data,
            },
            DataKind::Rfc822 => FetchItem::Rfc822(data),
            DataKind::Rfc822Header => FetchItem::Rfc822Header(data),
            DataKind::Rfc822Text => FetchItem::Rfc822Text(data),
        }
    }
}

/// What a [`Message`](crate::Message) is made of, read from one FETCH response with the
/// message bytes left in place: [`parse_fetch`]'s result.
///
/// Parsing is as strict and as lenient as [`parse_response`]; only the message data is not
/// copied (a literal, or a quoted string without escapes, is borrowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchParts<'a> {
    /// The message sequence number.
    pub seq: u32,
    /// `UID`.
    pub uid: Option<u32>,
    /// `FLAGS`.
    pub flags: Option<Vec<Flag>>,
    /// `INTERNALDATE`, as sent.
    pub internal_date: Option<String>,
    /// `RFC822.SIZE`.
    pub size: Option<u64>,
    /// `MODSEQ`.
    pub mod_seq: Option<u64>,
    /// `ENVELOPE`.
    pub envelope: Option<Box<Envelope>>,
    /// `BODYSTRUCTURE` (or `BODY` without a section).
    pub body_structure: Option<Box<BodyStructure>>,
    /// The data of the first `BODY[…]`, `RFC822` or `RFC822.HEADER` item that has some
    /// (is not `NIL`): the message or the part of it that was asked for (its section and
    /// origin are not kept). `None` when there is no such item.
    pub content: Option<Cow<'a, [u8]>>,
    /// Every other item (a second section, `BINARY[…]`, Gmail's items, unknown ones), owned.
    pub other: Vec<FetchItem>,
}

/// Reads `bytes` (one complete response) as a FETCH response into [`FetchParts`], copying
/// nothing of the message data; `Ok(None)` if it is some other response.
///
/// ```
/// use mailwire::imap::codec::parse::parse_fetch;
///
/// let bytes = b"* 3 FETCH (UID 17 FLAGS (\\Seen) BODY[] {11}\r\nHi\r\n\r\nthere)\r\n";
/// let parts = parse_fetch(bytes).unwrap().unwrap();
/// assert_eq!((parts.seq, parts.uid), (3, Some(17)));
/// assert_eq!(parts.content.as_deref(), Some(&b"Hi\r\n\r\nthere"[..]));
/// assert!(parse_fetch(b"* 4 EXISTS\r\n").unwrap().is_none());
/// ```
pub fn parse_fetch(bytes: &[u8]) -> Result<Option<FetchParts<'_>>> {
    let mut p = P {
        b: bytes,
        i: 0,
        depth: 0,
    };
    if !p.eat(b'*') {
        return Ok(None);
    }
    p.sp();
    if !p.peek().is_some_and(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let seq = p.number()?;
    p.sp();
    if !p.atom().eq_ignore_ascii_case(b"FETCH") {
        return Ok(None);
    }
    p.sp();
    let mut parts = FetchParts {
        seq,
        ..FetchParts::default()
    };
    p.fetch_list(&mut |p| {
        match p.fetch_item_ref()? {
            ItemRef::Item(FetchItem::Uid(uid)) => parts.uid = Some(uid),
            ItemRef::Item(FetchItem::Flags(flags)) => parts.flags = Some(flags),
            ItemRef::Item(FetchItem::InternalDate(date)) => parts.internal_date = Some(date),
            ItemRef::Item(FetchItem::Rfc822Size(size)) => parts.size = Some(size),
            ItemRef::Item(FetchItem::ModSeq(m)) => parts.mod_seq = Some(m),
            ItemRef::Item(FetchItem::Envelope(e)) => parts.envelope = Some(e),
            ItemRef::Item(FetchItem::BodyStructure(b) | FetchItem::Body(b)) => {
                parts.body_structure = Some(b)
            }
            ItemRef::Data {
                kind: DataKind::BodySection | DataKind::Rfc822 | DataKind::Rfc822Header,
                data,
                ..
            } if parts.content.is_none() => parts.content = data,
            other => parts.other.push(other.into_owned()),
        }
        Ok(())
    })?;
    p.finish()?;
    Ok(Some(parts))
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl<'a> P<'a> {
    fn err(&self, message: &str) -> Error {
        Error::protocol(message, self.b, self.i.min(self.b.len()))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn require(&mut self, c: u8, what: &str) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// Skips spaces (any number, including none: servers are sloppy both ways).
    fn sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn at_line_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\r') | Some(b'\n'))
    }

    fn take_while(&mut self, end: fn(u8) -> bool) -> &'a [u8] {
        let start = self.i;
        let rest = self.b.get(start..).unwrap_or(&[]);
        let n = rest.iter().position(|&b| end(b)).unwrap_or(rest.len());
        self.i = start + n;
        rest.get(..n).unwrap_or(&[])
    }

    fn atom(&mut self) -> &'a [u8] {
        self.take_while(is_atom_end)
    }

    fn nonempty_atom(&mut self, what: &str) -> Result<&'a [u8]> {
        let a = self.atom();
        if a.is_empty() {
            Err(self.err(what))
        } else {
            Ok(a)
        }
    }

    fn number_u64(&mut self) -> Result<u64> {
        let start = self.i;
        let d = self.take_while(|b| !b.is_ascii_digit());
        digits_u64(d).ok_or_else(|| {
            self.i = start;
            self.err("expected a number")
        })
    }

    fn number(&mut self) -> Result<u32> {
        let start = self.i;
        let n = self.number_u64()?;
        u32::try_from(n).map_err(|_| {
            self.i = start;
            self.err("number does not fit in 32 bits")
        })
    }

    /// The rest of the line as text, trailing spaces trimmed; consumes the line end.
    fn text(&mut self) -> String {
        let t = self.take_while(|b| b == b'\r' || b == b'\n');
        self.eat(b'\r');
        self.eat(b'\n');
        let end = t.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
        lossy(t.get(..end).unwrap_or(&[]))
    }

    /// Expects the end of the response, tolerating trailing spaces and stray `)`.
    fn finish(&mut self) -> Result<()> {
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

    fn quoted(&mut self) -> Result<Vec<u8>> {
        self.quoted_cow().map(Cow::into_owned)
    }

    /// A quoted string: borrowed from the response unless it has escapes.
    fn quoted_cow(&mut self) -> Result<Cow<'a, [u8]>> {
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

    fn literal(&mut self) -> Result<&'a [u8]> {
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
    fn nstring(&mut self) -> Result<Option<Vec<u8>>> {
        Ok(self.nstring_cow()?.map(Cow::into_owned))
    }

    /// [`nstring`](Self::nstring), borrowed from the response where it can be.
    fn nstring_cow(&mut self) -> Result<Option<Cow<'a, [u8]>>> {
        match self.peek() {
            Some(b'"') => self.quoted_cow().map(Some),
            Some(b'{') | Some(b'~') => self.literal().map(|l| Some(Cow::Borrowed(l))),
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
    fn string(&mut self) -> Result<Vec<u8>> {
        Ok(self.nstring()?.unwrap_or_default())
    }

    fn string_text(&mut self) -> Result<String> {
        self.string().map(lossy_owned)
    }

    /// A string, lower-cased in place (media types and subtypes).
    fn lower_text(&mut self) -> Result<String> {
        let mut text = self.string_text()?;
        text.make_ascii_lowercase();
        Ok(text)
    }

    fn nstring_text(&mut self) -> Result<Option<String>> {
        Ok(self.nstring()?.map(lossy_owned))
    }

    /// An astring (atom, quoted or literal); `NIL` is kept as the name `NIL`.
    fn astring(&mut self) -> Result<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') | Some(b'~') => self.literal().map(|l| l.to_vec()),
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

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        Ok(())
    }

    /// Skips one value of any shape; returns its bytes.
    fn skip_value(&mut self) -> Result<&'a [u8]> {
        let start = self.i;
        match self.peek() {
            Some(b'(') => {
                self.enter()?;
                self.i += 1;
                loop {
                    self.sp();
                    if self.eat(b')') {
                        break;
                    }
                    if self.at_line_end() {
                        return Err(self.err("unterminated list"));
                    }
                    self.skip_value()?;
                }
                self.depth -= 1;
            }
            Some(b'"') => {
                self.quoted()?;
            }
            Some(b'{') | Some(b'~') => {
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

    fn flag_list(&mut self) -> Result<Vec<Flag>> {
        self.require(b'(', "expected a flag list")?;
        let mut flags = Vec::new();
        loop {
            self.sp();
            if self.eat(b')') {
                return Ok(flags);
            }
            let a = self.nonempty_atom("expected a flag")?;
            flags.push(Flag::from_bytes(a));
        }
    }

    /// A server's UID set kept as ranges (`ESEARCH ALL`, `VANISHED`).
    fn seq_set(&mut self) -> Result<SequenceSet> {
        let start = self.i;
        let a = self.take_while(is_atom_end);
        SequenceSet::parse_server(a).ok_or_else(|| {
            self.i = start;
            self.err("expected a sequence set")
        })
    }

    fn uid_set(&mut self) -> Result<Vec<(u32, u32)>> {
        let start = self.i;
        let a = self.take_while(is_atom_end);
        parse_uid_set(a).ok_or_else(|| {
            self.i = start;
            self.err("expected a sequence set")
        })
    }

    fn tagged(&mut self) -> Result<Response> {
        let tag = self.nonempty_atom("expected a tag")?;
        let tag = lossy(tag);
        self.sp();
        let status = self.status_word()?;
        let (code, text) = self.resp_text()?;
        Ok(Response::Tagged {
            tag,
            status,
            code,
            text,
        })
    }

    fn status_word(&mut self) -> Result<Status> {
        let start = self.i;
        let w = self.atom();
        let s = status_of(w);
        s.ok_or_else(|| {
            self.i = start;
            self.err("expected OK, NO, BAD, BYE or PREAUTH")
        })
    }

    fn resp_text(&mut self) -> Result<(Option<ResponseCode>, String)> {
        self.sp();
        let code = if self.peek() == Some(b'[') {
            Some(self.code()?)
        } else {
            None
        };
        self.sp();
        Ok((code, self.text()))
    }

    fn code(&mut self) -> Result<ResponseCode> {
        self.require(b'[', "expected [")?;
        let start = self.i;
        let name = self.take_while(|b| matches!(b, b' ' | b']' | b'\r' | b'\n'));
        let name = upper(name);
        let after_name = self.i;
        let known = self.known_code(&name);
        self.sp();
        match known {
            Ok(Some(code)) if self.eat(b']') => Ok(code),
            _ => {
                // Unknown, or a known name with a value we cannot read: keep it raw.
                self.i = after_name;
                let rest = self.b.get(self.i..).unwrap_or(&[]);
                let Some(close) = rest
                    .iter()
                    .position(|&b| b == b']' || b == b'\r' || b == b'\n')
                    .filter(|&p| rest.get(p) == Some(&b']'))
                else {
                    self.i = start;
                    return Err(self.err("response code without ]"));
                };
                let value = rest.get(..close).unwrap_or(&[]);
                let value = value.strip_prefix(b" ").unwrap_or(value);
                self.i += close + 1;
                Ok(ResponseCode::Other {
                    name,
                    value: (!value.is_empty()).then(|| lossy(value)),
                })
            }
        }
    }

    /// The code `name` with its value (after the space that separates them); `None` for a
    /// name mailwire does not model. The caller rewinds when this fails.
    fn known_code(&mut self, name: &str) -> Result<Option<ResponseCode>> {
        self.sp();
        Ok(Some(match name {
            "ALERT" => ResponseCode::Alert,
            "PARSE" => ResponseCode::Parse,
            "READ-ONLY" => ResponseCode::ReadOnly,
            "READ-WRITE" => ResponseCode::ReadWrite,
            "TRYCREATE" => ResponseCode::TryCreate,
            "NOMODSEQ" => ResponseCode::NoModSeq,
            "CLOSED" => ResponseCode::Closed,
            "CAPABILITY" => {
                let mut caps = Vec::new();
                loop {
                    self.sp();
                    let a = self.atom();
                    if a.is_empty() {
                        break;
                    }
                    caps.push(upper(a));
                }
                ResponseCode::Capability(caps)
            }
            "PERMANENTFLAGS" => ResponseCode::PermanentFlags(self.flag_list()?),
            "UIDNEXT" => ResponseCode::UidNext(self.number()?),
            "UIDVALIDITY" => ResponseCode::UidValidity(self.number()?),
            "UNSEEN" => ResponseCode::Unseen(self.number()?),
            "HIGHESTMODSEQ" => ResponseCode::HighestModSeq(self.number_u64()?),
            "APPENDUID" => {
                let uid_validity = self.number()?;
                self.sp();
                let uids = self.uid_set()?;
                ResponseCode::AppendUid { uid_validity, uids }
            }
            "COPYUID" => {
                let uid_validity = self.number()?;
                self.sp();
                let source = self.uid_set()?;
                self.sp();
                let dest = self.uid_set()?;
                ResponseCode::CopyUid {
                    uid_validity,
                    source,
                    dest,
                }
            }
            _ => return Ok(None),
        }))
    }

    fn raw_other(&self) -> Untagged {
        let raw = self.b.strip_suffix(b"\n").unwrap_or(self.b);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        Untagged::Other { raw: raw.to_vec() }
    }

    fn untagged(&mut self) -> Result<Untagged> {
        self.sp();
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            let n = self.number()?;
            self.sp();
            let mut buf = [0u8; 16];
            let r = match keyword(self.atom(), &mut buf) {
                b"EXISTS" => Untagged::Exists(n),
                b"RECENT" => Untagged::Recent(n),
                b"EXPUNGE" => Untagged::Expunge(n),
                b"FETCH" => {
                    self.sp();
                    let items = self.fetch_items()?;
                    Untagged::Fetch { seq: n, items }
                }
                _ => return Ok(self.raw_other()),
            };
            self.finish()?;
            return Ok(r);
        }
        let mut buf = [0u8; 16];
        let kw = keyword(self.atom(), &mut buf);
        if let Some(status) = status_of(kw) {
            let (code, text) = self.resp_text()?;
            return Ok(Untagged::Condition { status, code, text });
        }
        self.sp();
        let r = match kw {
            b"CAPABILITY" => Untagged::Capability(self.atoms_to_end()),
            b"ENABLED" => Untagged::Enabled(self.atoms_to_end()),
            b"LIST" => Untagged::List(self.list_item()?),
            b"LSUB" => Untagged::Lsub(self.list_item()?),
            b"FLAGS" => Untagged::Flags(self.flag_list()?),
            b"STATUS" => self.mailbox_status()?,
            b"SEARCH" => self.search()?,
            b"ESEARCH" => self.esearch()?,
            b"VANISHED" => {
                let mut earlier = false;
                if self.eat(b'(') {
                    self.sp();
                    earlier = self.atom().eq_ignore_ascii_case(b"EARLIER");
                    self.sp();
                    self.require(b')', "expected ) after EARLIER")?;
                    self.sp();
                }
                Untagged::Vanished {
                    earlier,
                    uids: self.seq_set()?,
                }
            }
            b"NAMESPACE" => {
                let personal = self.namespaces()?;
                self.sp();
                let other = self.namespaces()?;
                self.sp();
                let shared = self.namespaces()?;
                Untagged::Namespace {
                    personal,
                    other,
                    shared,
                }
            }
            b"ID" => Untagged::Id(self.id_params()?),
            b"QUOTA" => {
                let root = self.astring()?;
                self.sp();
                self.require(b'(', "expected ( before quota resources")?;
                let mut resources = Vec::new();
                loop {
                    self.sp();
                    if self.eat(b')') {
                        break;
                    }
                    let name = upper(self.nonempty_atom("expected a quota resource")?);
                    self.sp();
                    let usage = self.number_u64()?;
                    self.sp();
                    let limit = self.number_u64()?;
                    resources.push(QuotaResource { name, usage, limit });
                }
                Untagged::Quota { root, resources }
            }
            b"QUOTAROOT" => {
                let mailbox = self.astring()?;
                let mut roots = Vec::new();
                loop {
                    self.sp();
                    if self.at_line_end() {
                        break;
                    }
                    roots.push(self.astring()?);
                }
                Untagged::QuotaRoot { mailbox, roots }
            }
            _ => return Ok(self.raw_other()),
        };
        self.finish()?;
        Ok(r)
    }

    fn atoms_to_end(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            self.sp();
            let a = self.take_while(is_astring_end);
            if a.is_empty() {
                return out;
            }
            out.push(upper(a));
        }
    }

    fn delimiter(&mut self) -> Result<Option<char>> {
        Ok(self
            .nstring()?
            .and_then(|d| d.first().map(|&c| char::from(c))))
    }

    fn list_item(&mut self) -> Result<ListItem> {
        self.require(b'(', "expected ( before mailbox attributes")?;
        let mut attributes = Vec::new();
        loop {
            self.sp();
            if self.eat(b')') {
                break;
            }
            attributes.push(NameAttribute::from_bytes(
                self.nonempty_atom("expected a mailbox attribute")?,
            ));
        }
        self.sp();
        let delimiter = self.delimiter()?;
        self.sp();
        let name = self.astring()?;
        // LIST-EXTENDED data (CHILDINFO, OLDNAME) is skipped.
        loop {
            self.sp();
            if self.at_line_end() {
                break;
            }
            self.skip_value()?;
        }
        Ok(ListItem {
            attributes,
            delimiter,
            name,
        })
    }

    fn mailbox_status(&mut self) -> Result<Untagged> {
        let mailbox = self.astring()?;
        self.sp();
        self.require(b'(', "expected ( before status items")?;
        let mut items = Vec::new();
        loop {
            self.sp();
            if self.eat(b')') {
                break;
            }
            let name = self
                .nonempty_atom("expected a status item")?
                .to_ascii_uppercase();
            self.sp();
            let item = match name.as_slice() {
                b"MESSAGES" => StatusItem::Messages(self.number()?),
                b"RECENT" => StatusItem::Recent(self.number()?),
                b"UIDNEXT" => StatusItem::UidNext(self.number()?),
                b"UIDVALIDITY" => StatusItem::UidValidity(self.number()?),
                b"UNSEEN" => StatusItem::Unseen(self.number()?),
                b"DELETED" => StatusItem::Deleted(self.number()?),
                b"SIZE" => StatusItem::Size(self.number_u64()?),
                b"HIGHESTMODSEQ" => StatusItem::HighestModSeq(self.number_u64()?),
                _ => StatusItem::Other {
                    name: lossy(&name),
                    raw: self.skip_value()?.to_vec(),
                },
            };
            items.push(item);
        }
        Ok(Untagged::MailboxStatus { mailbox, items })
    }

    fn search(&mut self) -> Result<Untagged> {
        let mut ids = Vec::new();
        let mut modseq = None;
        loop {
            self.sp();
            if self.eat(b'(') {
                self.sp();
                if !self.atom().eq_ignore_ascii_case(b"MODSEQ") {
                    return Err(self.err("expected MODSEQ"));
                }
                self.sp();
                modseq = Some(self.number_u64()?);
                self.sp();
                self.require(b')', "expected ) after MODSEQ")?;
                continue;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Ok(Untagged::Search { ids, modseq });
            }
            ids.push(self.number()?);
        }
    }

    fn esearch(&mut self) -> Result<Untagged> {
        let mut tag = None;
        if self.eat(b'(') {
            self.sp();
            if !self.atom().eq_ignore_ascii_case(b"TAG") {
                return Err(self.err("expected TAG"));
            }
            self.sp();
            tag = Some(self.string_text()?);
            self.sp();
            self.require(b')', "expected ) after the ESEARCH tag")?;
        }
        let mut uid = false;
        let mut items = Vec::new();
        loop {
            self.sp();
            if self.at_line_end() {
                break;
            }
            let name = self
                .nonempty_atom("expected an ESEARCH item")?
                .to_ascii_uppercase();
            if name == b"UID" {
                uid = true;
                continue;
            }
            self.sp();
            items.push(match name.as_slice() {
                b"MIN" => EsearchItem::Min(self.number()?),
                b"MAX" => EsearchItem::Max(self.number()?),
                b"COUNT" => EsearchItem::Count(self.number()?),
                b"ALL" => EsearchItem::All(self.seq_set()?),
                b"MODSEQ" => EsearchItem::ModSeq(self.number_u64()?),
                _ => EsearchItem::Other {
                    name: lossy(&name),
                    raw: self.skip_value()?.to_vec(),
                },
            });
        }
        Ok(Untagged::Esearch { tag, uid, items })
    }

    fn namespaces(&mut self) -> Result<Vec<NamespaceEntry>> {
        let mut out = Vec::new();
        if !self.eat(b'(') {
            let a = self.atom();
            if a.eq_ignore_ascii_case(b"NIL") {
                return Ok(out);
            }
            return Err(self.err("expected a namespace list or NIL"));
        }
        loop {
            self.sp();
            if self.eat(b')') {
                return Ok(out);
            }
            self.require(b'(', "expected ( before a namespace")?;
            self.sp();
            let prefix = self.string()?;
            self.sp();
            let delimiter = self.delimiter()?;
            loop {
                self.sp();
                if self.eat(b')') {
                    break;
                }
                if self.at_line_end() {
                    return Err(self.err("unterminated namespace"));
                }
                self.skip_value()?;
            }
            out.push(NamespaceEntry { prefix, delimiter });
        }
    }

    fn id_params(&mut self) -> Result<Vec<(String, Option<String>)>> {
        let mut out = Vec::new();
        if !self.eat(b'(') {
            self.nonempty_atom("expected ( or NIL")?;
            return Ok(out);
        }
        loop {
            self.sp();
            if self.eat(b')') {
                return Ok(out);
            }
            let key = self.string_text()?;
            self.sp();
            let value = self.nstring_text()?;
            out.push((key, value));
        }
    }

    fn fetch_items(&mut self) -> Result<Vec<FetchItem>> {
        // A typical FETCH response has up to 8 items: one allocation, no regrowth.
        let mut items = Vec::with_capacity(8);
        self.fetch_list(&mut |p| {
            items.push(p.fetch_item_ref()?.into_owned());
            Ok(())
        })?;
        Ok(items)
    }

    /// Walks the parenthesised FETCH data, calling `each` at the start of every item.
    fn fetch_list(&mut self, each: &mut dyn FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.require(b'(', "expected ( before FETCH data")?;
        // Domino: `((UID 1 ...))`.
        let mut extra = 0;
        loop {
            self.sp();
            if !self.eat(b'(') {
                break;
            }
            extra += 1;
        }
        loop {
            self.sp();
            if self.eat(b')') {
                break;
            }
            if self.at_line_end() {
                return Err(self.err("unterminated FETCH data"));
            }
            each(self)?;
        }
        for _ in 0..extra {
            self.sp();
            self.eat(b')');
        }
        Ok(())
    }

    /// One FETCH item; message data (`BODY[…]`, `BINARY[…]`, `RFC822*`) stays borrowed.
    fn fetch_item_ref(&mut self) -> Result<ItemRef<'a>> {
        let start = self.i;
        let base = self.nonempty_atom("expected a FETCH item name")?;
        let mut section: Option<&'a [u8]> = None;
        let mut origin = None;
        if self.eat(b'[') {
            let s = self.i;
            let rest = self.b.get(s..).unwrap_or(&[]);
            let close = rest
                .iter()
                .position(|&b| b == b']' || b == b'\n')
                .filter(|&p| rest.get(p) == Some(&b']'))
                .ok_or_else(|| self.err("section without ]"))?;
            section = rest.get(..close);
            self.i = s + close + 1;
            if self.eat(b'<') {
                origin = Some(self.number()?);
                self.require(b'>', "expected > after the origin")?;
            }
        }
        let name_bytes = self.b.get(start..self.i).unwrap_or(&[]);
        let mut buf = [0u8; 16];
        let base = keyword(base, &mut buf);
        self.sp();
        let data = |kind, p: &mut Self| -> Result<ItemRef<'a>> {
            Ok(ItemRef::Data {
                kind,
                section,
                origin,
                data: p.nstring_cow()?,
            })
        };
        Ok(ItemRef::Item(match (base, section.is_some()) {
            (b"UID", false) => FetchItem::Uid(self.number()?),
            (b"FLAGS", false) => FetchItem::Flags(self.flag_list()?),
            (b"INTERNALDATE", false) => FetchItem::InternalDate(self.string_text()?),
            (b"RFC822.SIZE", false) => FetchItem::Rfc822Size(self.number_u64()?),
            (b"ENVELOPE", false) => FetchItem::Envelope(self.envelope()?),
            (b"BODYSTRUCTURE", false) => FetchItem::BodyStructure(Box::new(self.body()?)),
            (b"BODY", false) => FetchItem::Body(Box::new(self.body()?)),
            (b"BODY", true) => return data(DataKind::BodySection, self),
            (b"BINARY", true) => return data(DataKind::Binary, self),
            (b"BINARY.SIZE", true) => FetchItem::BinarySize {
                section: lossy(section.unwrap_or(&[])),
                size: self.number_u64()?,
            },
            (b"RFC822", false) => return data(DataKind::Rfc822, self),
            (b"RFC822.HEADER", false) => return data(DataKind::Rfc822Header, self),
            (b"RFC822.TEXT", false) => return data(DataKind::Rfc822Text, self),
            (b"MODSEQ", false) => {
                self.require(b'(', "expected ( before the mod-sequence")?;
                self.sp();
                let n = self.number_u64()?;
                self.sp();
                self.require(b')', "expected ) after the mod-sequence")?;
                FetchItem::ModSeq(n)
            }
            (b"X-GM-MSGID", false) => FetchItem::GmMsgId(self.number_u64()?),
            (b"X-GM-THRID", false) => FetchItem::GmThrId(self.number_u64()?),
            (b"X-GM-LABELS", false) => {
                self.require(b'(', "expected ( before the labels")?;
                let mut labels = Vec::new();
                loop {
                    self.sp();
                    if self.eat(b')') {
                        break;
                    }
                    labels.push(self.astring()?);
                }
                FetchItem::GmLabels(labels)
            }
            _ => FetchItem::Other {
                name: upper(name_bytes),
                raw: self.skip_value()?.to_vec(),
            },
        }))
    }

    /// An envelope, built in its box (no 240-byte move afterwards).
    fn envelope(&mut self) -> Result<Box<Envelope>> {
        self.enter()?;
        self.require(b'(', "expected ( before the envelope")?;
        // Domino may wrap the envelope in an extra pair.
        self.sp();
        let wrapped = self.eat(b'(');
        let mut e = Box::<Envelope>::default();
        self.sp();
        e.date = self.nstring()?;
        self.sp();
        e.subject = self.nstring()?;
        for list in [
            &mut e.from,
            &mut e.sender,
            &mut e.reply_to,
            &mut e.to,
            &mut e.cc,
            &mut e.bcc,
        ] {
            self.sp();
            *list = self.addresses()?;
        }
        self.sp();
        e.in_reply_to = self.nstring()?;
        self.sp();
        e.message_id = self.nstring()?;
        self.sp();
        self.require(b')', "expected ) after the envelope")?;
        if wrapped {
            self.sp();
            self.eat(b')');
        }
        self.depth -= 1;
        Ok(e)
    }

    fn addresses(&mut self) -> Result<Vec<Address>> {
        let mut out = Vec::new();
        self.address_list(&mut out)?;
        Ok(out)
    }

    fn address_list(&mut self, out: &mut Vec<Address>) -> Result<()> {
        if !self.eat(b'(') {
            return match self.nstring()? {
                None => Ok(()),
                Some(_) => Err(self.err("expected an address list")),
            };
        }
        self.enter()?;
        loop {
            self.sp();
            if self.eat(b')') {
                break;
            }
            self.require(b'(', "expected ( before an address")?;
            self.sp();
            if self.peek() == Some(b'(') {
                // Extra parentheses around the addresses (Domino): flatten.
                self.i -= 1;
                self.address_list(out)?;
                continue;
            }
            let mut a = Address::default();
            for field in [&mut a.name, &mut a.adl, &mut a.mailbox, &mut a.host] {
                self.sp();
                *field = self.nstring()?;
            }
            self.sp();
            self.require(b')', "expected ) after an address")?;
            push_snug(out, a);
        }
        self.depth -= 1;
        Ok(())
    }

    fn params(&mut self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        if !self.eat(b'(') {
            self.nstring()?;
            return Ok(out);
        }
        loop {
            self.sp();
            if self.eat(b')') {
                return Ok(out);
            }
            let key = self.string_text()?;
            self.sp();
            let value = if self.peek() == Some(b')') {
                String::new()
            } else {
                self.string_text()?
            };
            push_snug(&mut out, (key, value));
        }
    }

    fn more(&mut self) -> bool {
        self.sp();
        !matches!(self.peek(), Some(b')') | None | Some(b'\r') | Some(b'\n'))
    }

    fn extension(&mut self, ext: &mut BodyExtension) -> Result<()> {
        if self.more() {
            if self.eat(b'(') {
                self.sp();
                let kind = self.string_text()?;
                self.sp();
                let params = if self.peek() == Some(b')') {
                    Vec::new()
                } else {
                    self.params()?
                };
                self.sp();
                self.require(b')', "expected ) after the disposition")?;
                ext.disposition = Some((kind, params));
            } else if let Some(kind) = self.nstring_text()? {
                ext.disposition = Some((kind, Vec::new()));
            }
        }
        if self.more() {
            if self.eat(b'(') {
                loop {
                    self.sp();
                    if self.eat(b')') {
                        break;
                    }
                    ext.language.push(self.string_text()?);
                }
            } else if let Some(l) = self.nstring_text()? {
                ext.language.push(l);
            }
        }
        if self.more() {
            ext.location = self.nstring_text()?;
        }
        if self.more() {
            let start = self.i;
            while self.more() {
                self.skip_value()?;
            }
            ext.extra = self.b.get(start..self.i).unwrap_or(&[]).to_vec();
        }
        Ok(())
    }

    fn body(&mut self) -> Result<BodyStructure> {
        self.enter()?;
        self.require(b'(', "expected ( before a body structure")?;
        self.sp();
        let r = if self.peek() == Some(b'(') {
            // Most multiparts have two parts.
            let mut parts = Vec::with_capacity(2);
            while self.peek() == Some(b'(') {
                parts.push(self.body()?);
                self.sp();
            }
            let subtype = self.lower_text()?;
            let mut params = Vec::new();
            let mut extension = BodyExtension::default();
            if self.more() {
                params = self.params()?;
                self.extension(&mut extension)?;
            }
            BodyStructure::Multipart {
                parts,
                subtype,
                params,
                extension,
            }
        } else {
            let media_type = self.lower_text()?;
            self.sp();
            let subtype = self.lower_text()?;
            self.sp();
            let params = self.params()?;
            self.sp();
            let id = self.nstring_text()?;
            self.sp();
            let description = self.nstring_text()?;
            self.sp();
            let encoding = self.string_text()?;
            self.sp();
            let size = self.lenient_number()?.unwrap_or(0);
            let mut lines = None;
            let mut envelope = None;
            let mut body = None;
            let is_message =
                media_type == "message" && (subtype == "rfc822" || subtype == "global");
            if is_message && self.more() && self.peek() == Some(b'(') {
                envelope = Some(self.envelope()?);
                self.sp();
                body = Some(Box::new(self.body()?));
                if self.more() {
                    lines = self.lenient_number()?;
                }
            } else if (media_type == "text" || is_message) && self.more() {
                lines = self.lenient_number()?;
            }
            let mut extension = BodyExtension::default();
            if self.more() {
                extension.md5 = self.nstring_text()?;
                self.extension(&mut extension)?;
            }
            BodyStructure::Single {
                media_type,
                subtype,
                params,
                id,
                description,
                encoding,
                size,
                lines: lines.and_then(|l| u32::try_from(l).ok()),
                envelope,
                body,
                extension,
            }
        };
        self.sp();
        self.require(b')', "expected ) after a body structure")?;
        self.depth -= 1;
        Ok(r)
    }

    /// A number where servers also send `NIL` or `-1`: both read as `None`.
    fn lenient_number(&mut self) -> Result<Option<u64>> {
        if self.eat(b'-') {
            self.number_u64()?;
            return Ok(None);
        }
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return self.number_u64().map(Some);
        }
        match self.nstring()? {
            None => Ok(None),
            Some(_) => Err(self.err("expected a number")),
        }
    }
}

fn status_of(w: &[u8]) -> Option<Status> {
    [
        (&b"OK"[..], Status::Ok),
        (b"NO", Status::No),
        (b"BAD", Status::Bad),
        (b"BYE", Status::Bye),
        (b"PREAUTH", Status::PreAuth),
    ]
    .into_iter()
    .find(|(n, _)| w.eq_ignore_ascii_case(n))
    .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::imap::codec::frame::{FrameEvent, Framer};

    fn parse(s: &[u8]) -> Response {
        parse_response(s).unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(s)))
    }

    fn untagged(s: &[u8]) -> Untagged {
        match parse(s) {
            Response::Untagged(u) => u,
            other => panic!("not untagged: {other:?}"),
        }
    }

    fn fetch(s: &[u8]) -> Vec<FetchItem> {
        match untagged(s) {
            Untagged::Fetch { items, .. } => items,
            other => panic!("not a FETCH: {other:?}"),
        }
    }

    /// Frames and parses a whole transcript.
    fn transcript(bytes: &[u8]) -> Vec<Response> {
        let mut f = Framer::new(Limits::default());
        f.extend(bytes);
        let mut out = Vec::new();
        while let Some(ev) = f.next_frame().unwrap() {
            match ev {
                FrameEvent::Response(fr) => out.push(parse(fr.bytes)),
                other => panic!("{other:?}"),
            }
        }
        assert!(f.is_idle(), "transcript ends mid-response");
        out
    }

    /// Rebuilds the FETCH items a [`FetchParts`] stands for, in the order `parse_fetch`
    /// files them.
    fn parts_as_items(parts: FetchParts<'_>) -> Vec<FetchItem> {
        let mut items = Vec::new();
        items.extend(parts.uid.map(FetchItem::Uid));
        items.extend(parts.flags.map(FetchItem::Flags));
        items.extend(parts.internal_date.map(FetchItem::InternalDate));
        items.extend(parts.size.map(FetchItem::Rfc822Size));
        items.extend(parts.mod_seq.map(FetchItem::ModSeq));
        items.extend(parts.envelope.map(FetchItem::Envelope));
        items.extend(parts.body_structure.map(FetchItem::BodyStructure));
        items.extend(
            parts
                .content
                .map(|c| FetchItem::Rfc822(Some(c.into_owned()))),
        );
        items.extend(parts.other);
        items
    }

    /// The same items as `parts_as_items` makes, from a general parse.
    fn normalised(items: Vec<FetchItem>) -> Vec<FetchItem> {
        let rank = |i: &FetchItem| match i {
            FetchItem::Uid(_) => 0,
            FetchItem::Flags(_) => 1,
            FetchItem::InternalDate(_) => 2,
            FetchItem::Rfc822Size(_) => 3,
            FetchItem::ModSeq(_) => 4,
            FetchItem::Envelope(_) => 5,
            FetchItem::BodyStructure(_) | FetchItem::Body(_) => 6,
            _ => 8,
        };
        let mut content_taken = false;
        let mut items: Vec<(usize, FetchItem)> = items
            .into_iter()
            .map(|i| match i {
                FetchItem::Body(b) => (6, FetchItem::BodyStructure(b)),
                FetchItem::BodySection { data: Some(d), .. }
                | FetchItem::Rfc822(Some(d))
                | FetchItem::Rfc822Header(Some(d))
                    if !content_taken =>
                {
                    content_taken = true;
                    (7, FetchItem::Rfc822(Some(d)))
                }
                other => (rank(&other), other),
            })
            .collect();
        items.sort_by_key(|(r, _)| *r);
        items.into_iter().map(|(_, i)| i).collect()
    }

    #[test]
    fn parse_fetch_matches_parse_response_and_borrows_the_message() {
        let mut fetches = 0;
        let recorded_fetches: [&[u8]; 2] = [
            include_bytes!("../../../tests/transcripts/dovecot-fetch-meta.bin"),
            include_bytes!("../../../tests/transcripts/dovecot-fetch-body.bin"),
        ];
        for input in [DOVECOT, DOVECOT_APPEND, GMAIL, EXCHANGE, DOMINO]
            .into_iter()
            .chain(recorded_fetches)
        {
            let mut rest = input;
            while let Some(n) =
                crate::imap::codec::frame::complete_len(rest, &Limits::default()).unwrap()
            {
                let bytes = &rest[..n];
                rest = &rest[n..];
                match (parse_response(bytes).unwrap(), parse_fetch(bytes).unwrap()) {
                    (Response::Untagged(Untagged::Fetch { seq, items }), Some(parts)) => {
                        fetches += 1;
                        assert_eq!(parts.seq, seq);
                        if let Some(Cow::Borrowed(c)) = &parts.content {
                            let range = bytes.as_ptr_range();
                            assert!(range.contains(&c.as_ptr()), "content was copied");
                        }
                        assert_eq!(
                            parts_as_items(parts),
                            normalised(items),
                            "{}",
                            String::from_utf8_lossy(bytes)
                        );
                    }
                    (_, None) => {}
                    (other, Some(parts)) => panic!("{other:?} read as {parts:?}"),
                }
            }
        }
        assert!(fetches >= 10, "{fetches} FETCH responses");
        // Quoted data with an escape is the one copy.
        let parts = parse_fetch(b"* 1 FETCH (RFC822.HEADER \"a\\\"b\")\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(parts.content, Some(Cow::Owned(b"a\"b".to_vec())));
        // Malformed FETCH data is an error, like parse_response's.
        for bad in [
            &b"* 1 FETCH (UID x)\r\n"[..],
            b"* 1 FETCH (UID 1\r\n",
            b"* 1 FETCH (BODY[] {10}\r\nabc)\r\n",
        ] {
            assert!(parse_response(bad).is_err());
            assert!(
                matches!(parse_fetch(bad), Err(Error::Protocol { .. })),
                "{bad:?}"
            );
        }
    }

    const DOVECOT: &[u8] = include_bytes!("../../../tests/transcripts/dovecot-session.bin");
    const DOVECOT_APPEND: &[u8] = include_bytes!("../../../tests/transcripts/dovecot-append.bin");
    const GMAIL: &[u8] = include_bytes!("../../../tests/transcripts/gmail.bin");
    const EXCHANGE: &[u8] = include_bytes!("../../../tests/transcripts/exchange.bin");
    const DOMINO: &[u8] = include_bytes!("../../../tests/transcripts/domino.bin");

    #[test]
    fn every_transcript_parses_without_other() {
        for t in [DOVECOT, DOVECOT_APPEND, GMAIL, EXCHANGE, DOMINO] {
            for r in transcript(t) {
                assert!(
                    !matches!(r, Response::Untagged(Untagged::Other { .. })),
                    "{r:?}"
                );
                if let Response::Untagged(Untagged::Fetch { items, .. }) = &r {
                    assert!(
                        !items.iter().any(|i| matches!(i, FetchItem::Other { .. })),
                        "{r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn dovecot_session_kinds() {
        let rs = transcript(DOVECOT);
        assert_eq!(rs.len(), 113);
        let has = |pred: &dyn Fn(&Response) -> bool| rs.iter().any(pred);
        let greeting =
            parse_response(&DOVECOT[..DOVECOT.iter().position(|&b| b == b'\n').unwrap() + 1])
                .unwrap();
        assert!(
            matches!(greeting, Response::Untagged(Untagged::Condition { status: Status::Ok, code: Some(ResponseCode::Capability(ref c)), .. }) if c.contains(&"IDLE".to_string()))
        );
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Capability(c)) if c.contains(&"CONDSTORE".to_string()))
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Enabled(c)) if c == &["QRESYNC"])
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Id(v)) if v == &[("name".to_string(), Some("Dovecot".to_string()))])
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Namespace { personal, other, shared }) if personal.len() == 1 && personal[0].delimiter == Some('/') && other.is_empty() && shared.is_empty())
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::List(l)) if l.name == b"R&AOk-sum&AOk-" && l.delimiter == Some('/'))
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::List(l)) if l.name == b"Sent" && l.attributes == [NameAttribute::HasNoChildren, NameAttribute::Sent])
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Lsub(l)) if l.name == b"Junk" && l.attributes == [NameAttribute::Junk])
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::MailboxStatus { mailbox, items }) if mailbox == b"INBOX" && items.contains(&StatusItem::UidValidity(1795310794)) && items.contains(&StatusItem::HighestModSeq(6)))
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::QuotaRoot { roots, .. }) if roots == &[b"User quota".to_vec()])
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Quota { resources, .. }) if resources[0].name == "STORAGE" && resources[0].limit == 1048576)
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Flags(f)) if f.contains(&Flag::Keyword("$Important".into())))
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Condition { code: Some(ResponseCode::PermanentFlags(f)), .. }) if f.contains(&Flag::MayCreate))
        ));
        assert!(has(&|r| matches!(
            r,
            Response::Untagged(Untagged::Exists(5))
        )));
        assert!(has(&|r| matches!(
            r,
            Response::Untagged(Untagged::Recent(5))
        )));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Search { ids, .. }) if ids == &[1, 2, 3, 4, 5])
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Esearch { tag: Some(t), items, .. }) if t == "a16" && items.contains(&EsearchItem::All(SequenceSet::range(1, 5))) && items.contains(&EsearchItem::Count(5)))
        ));
        assert!(has(
            &|r| matches!(r, Response::Untagged(Untagged::Vanished { earlier: false, uids }) if uids == &[3])
        ));
        assert!(has(
            &|r| matches!(r, Response::Continuation(c) if c.text == "idling")
        ));
        assert!(has(&|r| matches!(
            r,
            Response::Untagged(Untagged::Condition {
                code: Some(ResponseCode::Closed),
                ..
            })
        )));
        assert!(has(&|r| matches!(
            r,
            Response::Tagged {
                code: Some(ResponseCode::ReadWrite),
                ..
            }
        )));
        assert!(has(&|r| matches!(
            r,
            Response::Tagged {
                code: Some(ResponseCode::HighestModSeq(10)),
                ..
            }
        )));
        assert!(has(&|r| matches!(
            r,
            Response::Untagged(Untagged::Condition {
                status: Status::Bye,
                ..
            })
        )));
        // FETCH items
        let items: Vec<&FetchItem> = rs
            .iter()
            .filter_map(|r| match r {
                Response::Untagged(Untagged::Fetch { items, .. }) => Some(items),
                _ => None,
            })
            .flatten()
            .collect();
        assert!(items.contains(&&FetchItem::InternalDate(
            "04-Nov-2025 15:00:00 +0000".into()
        )));
        assert!(items.contains(&&FetchItem::Rfc822Size(887)));
        assert!(items.contains(&&FetchItem::ModSeq(9)));
        assert!(items.contains(&&FetchItem::BinarySize {
            section: "1.2".into(),
            size: 19
        }));
        let body = items
            .iter()
            .find_map(|i| match i {
                FetchItem::BodySection {
                    section,
                    data: Some(d),
                    ..
                } if section.is_empty() && d.len() == 887 => Some(d),
                _ => None,
            })
            .unwrap();
        assert!(body.starts_with(b"From: Carol") && body.ends_with(b"--outer--\r\n"));
        assert!(items.iter().any(|i| matches!(i, FetchItem::Binary { section, data: Some(d), .. } if section == "1.2" && d == "<p>html ü body</p>".as_bytes())));
        assert!(items.iter().any(|i| matches!(i, FetchItem::BodySection { section, origin: Some(0), data: Some(d) } if section == "1.1" && d == b"plain")));
        let env = items
            .iter()
            .find_map(|i| match i {
                FetchItem::Envelope(e) if e.subject.as_deref() == Some(b"Test message 1") => {
                    Some(e)
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(env.from[0].mailbox.as_deref(), Some(&b"alice"[..]));
        assert_eq!(env.to.len(), 2);
        assert_eq!(
            env.cc[0].name.as_deref(),
            Some(&b"=?UTF-8?Q?J=C3=BCrgen?="[..])
        );
        assert_eq!(env.message_id.as_deref(), Some(&b"<msg1@example.org>"[..]));
        // nested multipart with extension data and an embedded message
        let bs = items
            .iter()
            .find_map(|i| match i {
                FetchItem::BodyStructure(b) if matches!(**b, BodyStructure::Multipart { .. }) => {
                    Some(b)
                }
                _ => None,
            })
            .unwrap();
        let BodyStructure::Multipart {
            parts,
            subtype,
            params,
            ..
        } = &**bs
        else {
            unreachable!()
        };
        assert_eq!(subtype, "mixed");
        assert_eq!(params, &[("boundary".to_string(), "outer".to_string())]);
        assert_eq!(parts.len(), 3);
        assert!(
            matches!(&parts[0], BodyStructure::Multipart { subtype, parts, .. } if subtype == "alternative" && parts.len() == 2)
        );
        assert!(
            matches!(&parts[1], BodyStructure::Single { media_type, extension, .. } if media_type == "application" && extension.disposition.as_ref().is_some_and(|d| d.0 == "attachment" && d.1[0].1 == "report.pdf"))
        );
        assert!(
            matches!(&parts[2], BodyStructure::Single { envelope: Some(e), body: Some(_), .. } if e.subject.as_deref() == Some(b"inner"))
        );
        // the non-extensible BODY form
        assert!(items.iter().any(|i| matches!(i, FetchItem::Body(b) if matches!(**b, BodyStructure::Multipart { ref parts, .. } if parts.len() == 3))));
    }

    #[test]
    fn dovecot_appenduid() {
        let rs = transcript(DOVECOT_APPEND);
        assert!(rs.contains(&Response::Tagged {
            tag: "a6".into(),
            status: Status::Ok,
            code: Some(ResponseCode::AppendUid {
                uid_validity: 1795310794,
                uids: vec![(5, 5)]
            }),
            text: "Append completed (0.001 + 0.000 secs).".into(),
        }));
    }

    #[test]
    fn response_codes() {
        let code = |s: &[u8]| match parse(s) {
            Response::Tagged { code, .. } => code.unwrap(),
            r => panic!("{r:?}"),
        };
        assert_eq!(code(b"a OK [ALERT] x\r\n"), ResponseCode::Alert);
        assert_eq!(code(b"a NO [PARSE] x\r\n"), ResponseCode::Parse);
        assert_eq!(code(b"a OK [READ-ONLY] x\r\n"), ResponseCode::ReadOnly);
        assert_eq!(code(b"a NO [TRYCREATE] x\r\n"), ResponseCode::TryCreate);
        assert_eq!(code(b"a OK [UIDNEXT 7] x\r\n"), ResponseCode::UidNext(7));
        assert_eq!(code(b"a OK [NOMODSEQ] x\r\n"), ResponseCode::NoModSeq);
        assert_eq!(
            code(b"a OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"),
            ResponseCode::CopyUid {
                uid_validity: 38505,
                source: vec![(304, 304), (319, 320)],
                dest: vec![(3956, 3958)]
            }
        );
        assert_eq!(
            code(b"a NO [BADCHARSET (UTF-8 US-ASCII)] x\r\n"),
            ResponseCode::Other {
                name: "BADCHARSET".into(),
                value: Some("(UTF-8 US-ASCII)".into())
            }
        );
        assert_eq!(
            code(b"a NO [UNAVAILABLE] x\r\n"),
            ResponseCode::Other {
                name: "UNAVAILABLE".into(),
                value: None
            }
        );
        // a known name with a value we cannot read is kept raw, not an error
        assert_eq!(
            code(b"a OK [UIDNEXT abc] x\r\n"),
            ResponseCode::Other {
                name: "UIDNEXT".into(),
                value: Some("abc".into())
            }
        );
    }

    #[test]
    fn greeting_kinds() {
        // What `Session::greet` accepts: an untagged OK, PREAUTH or BYE condition.
        assert!(matches!(
            parse_response(b"* PREAUTH [CAPABILITY IMAP4rev2] hi\r\n").unwrap(),
            Response::Untagged(Untagged::Condition {
                status: Status::PreAuth,
                ..
            })
        ));
        assert_eq!(
            parse_response(b"* BYE too busy\r\n").unwrap(),
            Response::Untagged(Untagged::Condition {
                status: Status::Bye,
                code: None,
                text: "too busy".into()
            })
        );
        assert!(!matches!(
            parse_response(b"* 1 EXISTS\r\n").unwrap(),
            Response::Untagged(Untagged::Condition { .. })
        ));
    }

    #[test]
    fn lenient_trailing_spaces() {
        assert_eq!(
            untagged(b"* SEARCH 1 2 3   \r\n"),
            Untagged::Search {
                ids: vec![1, 2, 3],
                modseq: None
            }
        );
        assert_eq!(
            fetch(b"* 4 FETCH (FLAGS (\\Seen) )   \r\n"),
            vec![FetchItem::Flags(vec![Flag::Seen])]
        );
        assert!(
            matches!(untagged(b"* OK ready.  \r\n"), Untagged::Condition { text, .. } if text == "ready.")
        );
    }

    #[test]
    fn lenient_code_without_text() {
        assert_eq!(
            untagged(b"* OK [HIGHESTMODSEQ 123456789012]\r\n"),
            Untagged::Condition {
                status: Status::Ok,
                code: Some(ResponseCode::HighestModSeq(123456789012)),
                text: String::new()
            }
        );
        assert!(
            matches!(parse(b"a1 OK [READ-WRITE]\r\n"), Response::Tagged { code: Some(ResponseCode::ReadWrite), ref text, .. } if text.is_empty())
        );
    }

    #[test]
    fn lenient_extra_parentheses() {
        assert_eq!(
            fetch(b"* 1 FETCH ((UID 11 FLAGS (\\Seen)))\r\n"),
            vec![FetchItem::Uid(11), FetchItem::Flags(vec![Flag::Seen])]
        );
        let items = fetch(b"* 2 FETCH (ENVELOPE (NIL \"Hi\" (((\"Dom\" NIL \"dom\" \"example.com\"))) NIL NIL NIL NIL NIL NIL NIL))\r\n");
        let FetchItem::Envelope(e) = &items[0] else {
            panic!()
        };
        assert_eq!(e.from.len(), 1);
        assert_eq!(e.from[0].host.as_deref(), Some(&b"example.com"[..]));
    }

    #[test]
    fn lenient_nil_where_string_belongs() {
        let items = fetch(b"* 1 FETCH (BODYSTRUCTURE (NIL NIL NIL NIL NIL NIL NIL))\r\n");
        assert!(
            matches!(&*match &items[0] { FetchItem::BodyStructure(b) => b.clone(), _ => panic!() },
            BodyStructure::Single { media_type, encoding, size: 0, .. } if media_type.is_empty() && encoding.is_empty())
        );
        assert_eq!(
            untagged(b"* STATUS NIL (MESSAGES 1)\r\n"),
            Untagged::MailboxStatus {
                mailbox: b"NIL".to_vec(),
                items: vec![StatusItem::Messages(1)]
            }
        );
        assert!(
            matches!(&fetch(b"* 2 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n")[0], FetchItem::Envelope(e) if **e == Envelope::default())
        );
    }

    #[test]
    fn lenient_negative_line_count() {
        let items = fetch(b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 120 -1 NIL NIL NIL NIL))\r\n");
        let FetchItem::BodyStructure(b) = &items[0] else {
            panic!()
        };
        assert!(
            matches!(&**b, BodyStructure::Single { lines: None, size: 120, media_type, subtype, .. } if media_type == "text" && subtype == "plain")
        );
    }

    #[test]
    fn lenient_8bit_quoted() {
        let items = fetch(b"* 3 FETCH (BODY[] \"quoted \xe4\xf6\xfc 8-bit\")\r\n");
        assert_eq!(
            items,
            vec![FetchItem::BodySection {
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
    fn lenient_lower_case_keywords() {
        assert_eq!(
            fetch(b"* 2 fetch (uid 8 flags (\\seen) rfc822.size 5)\r\n"),
            vec![
                FetchItem::Uid(8),
                FetchItem::Flags(vec![Flag::Seen]),
                FetchItem::Rfc822Size(5)
            ]
        );
        assert!(matches!(
            parse(b"a2 ok [uidnext 5] done\r\n"),
            Response::Tagged {
                status: Status::Ok,
                code: Some(ResponseCode::UidNext(5)),
                ..
            }
        ));
        assert_eq!(untagged(b"* 3 exists\r\n"), Untagged::Exists(3));
    }

    #[test]
    fn lenient_interleaved_and_keepalive() {
        let rs = transcript(GMAIL);
        let kinds: Vec<&str> = rs
            .iter()
            .map(|r| match r {
                Response::Untagged(Untagged::Fetch { .. }) => "fetch",
                Response::Untagged(Untagged::Exists(_)) => "exists",
                Response::Untagged(Untagged::Condition { text, .. }) if text == "Still here" => {
                    "keepalive"
                }
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "other",
                "other",
                "other",
                "fetch",
                "keepalive",
                "fetch",
                "exists",
                "fetch",
                "other"
            ]
        );
        let Response::Untagged(Untagged::Fetch { items, .. }) = &rs[3] else {
            panic!()
        };
        assert_eq!(items[0], FetchItem::GmThrId(1278455344230334865));
        assert_eq!(
            items[2],
            FetchItem::GmLabels(vec![
                b"\\Inbox".to_vec(),
                b"\\Sent".to_vec(),
                b"Important".to_vec(),
                b"Muy Importante".to_vec(),
                b"label".to_vec()
            ])
        );
        assert_eq!(items[4], FetchItem::ModSeq(9999999999));
    }

    #[test]
    fn bare_lf_line_ends() {
        assert_eq!(
            fetch(b"* 1 FETCH (UID 3 BODY[] {2}\nab)\n"),
            vec![
                FetchItem::Uid(3),
                FetchItem::BodySection {
                    section: String::new(),
                    origin: None,
                    data: Some(b"ab".to_vec())
                }
            ]
        );
    }

    #[test]
    fn other_kinds() {
        assert_eq!(
            untagged(b"* VANISHED (EARLIER) 300:310,405,411\r\n"),
            Untagged::Vanished {
                earlier: true,
                uids: SequenceSet::from_ranges([300..=310, 405..=405, 411..=411])
            }
        );
        // A hostile range is one range (never expanded), `*` reads as 4294967295, reversed
        // ranges are normalised.
        assert_eq!(
            untagged(b"* VANISHED 1:4294967295\r\n"),
            Untagged::Vanished {
                earlier: false,
                uids: SequenceSet::range(1, u32::MAX)
            }
        );
        assert_eq!(
            untagged(b"* ESEARCH (TAG \"x\") UID ALL 9:*,5:3\r\n"),
            Untagged::Esearch {
                tag: Some("x".into()),
                uid: true,
                items: vec![EsearchItem::All(SequenceSet::from_ranges([
                    3..=5,
                    9..=u32::MAX
                ]))]
            }
        );
        assert_eq!(untagged(b"* 7 EXPUNGE\r\n"), Untagged::Expunge(7));
        assert_eq!(
            untagged(b"* SEARCH 2 5 (MODSEQ 917162500)\r\n"),
            Untagged::Search {
                ids: vec![2, 5],
                modseq: Some(917162500)
            }
        );
        assert_eq!(
            untagged(b"* SEARCH\r\n"),
            Untagged::Search {
                ids: vec![],
                modseq: None
            }
        );
        assert_eq!(
            untagged(b"* ESEARCH (TAG \"a\") UID COUNT 0\r\n"),
            Untagged::Esearch {
                tag: Some("a".into()),
                uid: true,
                items: vec![EsearchItem::Count(0)]
            }
        );
        assert_eq!(untagged(b"* ID NIL\r\n"), Untagged::Id(vec![]));
        assert_eq!(
            untagged(b"* LIST (\\Noselect) NIL \"\"\r\n"),
            Untagged::List(ListItem {
                attributes: vec![NameAttribute::NoSelect],
                delimiter: None,
                name: vec![]
            })
        );
        assert!(
            matches!(untagged(b"* LIST () \"/\" {5}\r\nIN}BX\r\n"), Untagged::List(l) if l.name == b"IN}BX")
        );
        assert_eq!(
            untagged(b"* SORT 3 1 2\r\n"),
            Untagged::Other {
                raw: b"* SORT 3 1 2".to_vec()
            }
        );
        assert_eq!(
            untagged(b"* 3 XFOO bar\r\n"),
            Untagged::Other {
                raw: b"* 3 XFOO bar".to_vec()
            }
        );
        assert_eq!(
            fetch(b"* 1 FETCH (PREVIEW \"hi there\" UID 4)\r\n"),
            vec![
                FetchItem::Other {
                    name: "PREVIEW".into(),
                    raw: b"\"hi there\"".to_vec()
                },
                FetchItem::Uid(4)
            ]
        );
        assert_eq!(
            fetch(b"* 1 FETCH (RFC822.HEADER {3}\r\na\r\n)\r\n"),
            vec![FetchItem::Rfc822Header(Some(b"a\r\n".to_vec()))]
        );
        assert!(matches!(parse(b"+ \r\n"), Response::Continuation(c) if c.text.is_empty()));
        assert!(
            matches!(parse(b"+ dGVzdA==\r\n"), Response::Continuation(c) if c.text == "dGVzdA==")
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
