//! FETCH data: the items of a FETCH response, and [`parse_fetch`]'s borrowed [`FetchParts`].

use std::borrow::Cow;

use super::cursor::{P, keyword, lossy, upper};
use crate::error::Result;
use crate::imap::types::{BodyStructure, Envelope, FetchData, Flag, MAX_GMAIL_LABELS, is_objectid};

/// Which FETCH item carried message data.
#[derive(Clone, Copy)]
pub(super) enum DataKind {
    BodySection,
    Binary,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
}

/// A FETCH item as parsed, before its message data (if any) is copied.
pub(super) enum ItemRef<'a> {
    Item(FetchData),
    Data {
        kind: DataKind,
        section: Option<&'a [u8]>,
        origin: Option<u32>,
        data: Option<Cow<'a, [u8]>>,
    },
}

impl ItemRef<'_> {
    pub(super) fn into_owned(self) -> FetchData {
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
            DataKind::BodySection => FetchData::BodySection {
                section: section(),
                origin,
                data,
            },
            DataKind::Binary => FetchData::Binary {
                section: section(),
                origin,
                data,
            },
            DataKind::Rfc822 => FetchData::Rfc822(data),
            DataKind::Rfc822Header => FetchData::Rfc822Header(data),
            DataKind::Rfc822Text => FetchData::Rfc822Text(data),
        }
    }
}

/// What a [`Message`](crate::Message) is made of, read from one FETCH response with the
/// message bytes left in place: [`parse_fetch`]'s result.
///
/// Parsing is as strict and as lenient as [`parse_response`](super::parse_response); only
/// the message data is not copied (a literal, or a quoted string without escapes, is
/// borrowed).
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
    pub other: Vec<FetchData>,
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
            ItemRef::Item(FetchData::Uid(uid)) => parts.uid = Some(uid),
            ItemRef::Item(FetchData::Flags(flags)) => parts.flags = Some(flags),
            ItemRef::Item(FetchData::InternalDate(date)) => parts.internal_date = Some(date),
            ItemRef::Item(FetchData::Rfc822Size(size)) => parts.size = Some(size),
            ItemRef::Item(FetchData::ModSeq(m)) => parts.mod_seq = Some(m),
            ItemRef::Item(FetchData::Envelope(e)) => parts.envelope = Some(e),
            ItemRef::Item(FetchData::BodyStructure(b) | FetchData::Body(b)) => {
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

impl<'a> P<'a> {
    pub(super) fn fetch_items(&mut self) -> Result<Vec<FetchData>> {
        // A typical FETCH response has up to 8 items: one allocation, no regrowth.
        let mut items = Vec::with_capacity(8);
        self.fetch_list(&mut |p| {
            items.push(p.fetch_item_ref()?.into_owned());
            Ok(())
        })?;
        Ok(items)
    }

    /// Walks the parenthesised FETCH data, calling `each` at the start of every item.
    pub(super) fn fetch_list(
        &mut self,
        each: &mut dyn FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
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
        self.list_rest(Some("unterminated FETCH data"), |p| {
            if p.peek() == Some(b'(') {
                p.parenthesized_fetch_items(each)
            } else {
                each(p)
            }
        })?;
        for _ in 0..extra {
            self.sp();
            self.eat(b')');
        }
        Ok(())
    }

    /// One FETCH item; message data (`BODY[…]`, `BINARY[…]`, `RFC822*`) stays borrowed.
    pub(super) fn fetch_item_ref(&mut self) -> Result<ItemRef<'a>> {
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
            let data = if p.section_content_missing() {
                None
            } else {
                p.nstring_cow()?
            };
            Ok(ItemRef::Data {
                kind,
                section,
                origin,
                data,
            })
        };
        Ok(ItemRef::Item(match (base, section.is_some()) {
            (b"UID", false) => FetchData::Uid(self.number()?),
            (b"FLAGS", false) => FetchData::Flags(self.flag_list()?),
            (b"INTERNALDATE", false) => FetchData::InternalDate(self.string_text()?),
            (b"RFC822.SIZE", false) => FetchData::Rfc822Size(self.number_u64()?),
            (b"ENVELOPE", false) => FetchData::Envelope(self.envelope()?),
            (b"BODYSTRUCTURE", false) => FetchData::BodyStructure(Box::new(self.body()?)),
            (b"BODY", false) => FetchData::Body(Box::new(self.body()?)),
            (b"BODY", true) => return data(DataKind::BodySection, self),
            (b"BINARY", true) => return data(DataKind::Binary, self),
            (b"BINARY.SIZE", true) => FetchData::BinarySize {
                section: lossy(section.unwrap_or(&[])),
                size: self.number_u64()?,
            },
            (b"RFC822", false) => return data(DataKind::Rfc822, self),
            (b"RFC822.HEADER", false) => return data(DataKind::Rfc822Header, self),
            (b"RFC822.TEXT", false) => return data(DataKind::Rfc822Text, self),
            (b"MODSEQ", false) => {
                let value_start = self.i;
                self.require(b'(', "expected ( before the mod-sequence")?;
                self.sp();
                if let Some(raw) = self.negative_mod_seq(value_start)? {
                    return Ok(ItemRef::Item(raw));
                }
                let n = self.number_u64()?;
                self.sp();
                self.require(b')', "expected ) after the mod-sequence")?;
                FetchData::ModSeq(n)
            }
            (b"PREVIEW", false) => FetchData::Preview(self.nstring_text()?.map(clip_preview)),
            (b"EMAILID", false) => match self.objectid(false) {
                Some(Some(id)) => FetchData::EmailId(id),
                _ => self.other_item(name_bytes)?,
            },
            (b"THREADID", false) => match self.objectid(true) {
                Some(id) => FetchData::ThreadId(id),
                None => self.other_item(name_bytes)?,
            },
            (b"X-GM-MSGID", false) => FetchData::GmMsgId(self.number_u64()?),
            (b"X-GM-THRID", false) => FetchData::GmThrId(self.number_u64()?),
            (b"X-GM-LABELS", false) => {
                let mut labels = Vec::new();
                self.parenthesized("expected ( before the labels", |p| {
                    let label = p.astring()?;
                    if labels.len() < MAX_GMAIL_LABELS {
                        labels.push(label);
                    }
                    Ok(())
                })?;
                FetchData::GmLabels(labels)
            }
            _ => self.other_item(name_bytes)?,
        }))
    }

    /// An item kept raw: its name and its value's bytes.
    fn other_item(&mut self, name: &[u8]) -> Result<FetchData> {
        Ok(FetchData::Other {
            name: upper(name),
            raw: self.skip_value()?.to_vec(),
        })
    }

    /// An OBJECTID value (RFC 8474): `(id)`, or `NIL` when `nil` is allowed (`Some(None)`).
    /// `None`, with nothing consumed, for any other shape (an id outside the grammar, more
    /// than 255 characters): the caller keeps the item raw.
    pub(super) fn objectid(&mut self, nil: bool) -> Option<Option<String>> {
        let start = self.i;
        if nil && self.atom().eq_ignore_ascii_case(b"NIL") {
            return Some(None);
        }
        self.i = start;
        if self.eat(b'(') {
            self.sp();
            let id = self.atom();
            self.sp();
            if is_objectid(id) && self.eat(b')') {
                return Some(Some(lossy(id)));
            }
        }
        self.i = start;
        None
    }
}

/// RFC 8970 §3: a preview is at most 256 characters; a longer one is cut there.
fn clip_preview(mut text: String) -> String {
    if let Some((i, _)) = text.char_indices().nth(PREVIEW_CHARS) {
        text.truncate(i);
    }
    text
}

/// The most characters of a `PREVIEW` kept (RFC 8970's limit).
const PREVIEW_CHARS: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::error::Error;
    use crate::imap::codec::parse::tests::{DOMINO, DOVECOT, DOVECOT_APPEND, EXCHANGE, GMAIL};
    use crate::imap::codec::parse::*;
    use crate::imap::types::*;

    #[test]
    fn objectid_items() {
        // RFC 8474 §7's examples.
        let items = crate::imap::codec::parse::tests::fetch(
            b"* 1 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9) UID 3)\r\n",
        );
        assert_eq!(
            items,
            [
                FetchData::EmailId("M6d99ac3275bb4e".into()),
                FetchData::ThreadId(Some("T64b478a75b7ea9".into())),
                FetchData::Uid(3)
            ]
        );
        let items = crate::imap::codec::parse::tests::fetch(b"* 2 FETCH (THREADID NIL)\r\n");
        assert_eq!(items, [FetchData::ThreadId(None)]);
        // Outside the grammar (a bad character, 256 characters, NIL for EMAILID): raw.
        let long = format!("* 3 FETCH (EMAILID ({}))\r\n", "a".repeat(256));
        for bad in [
            &b"* 3 FETCH (EMAILID (M6d9.9))\r\n"[..],
            long.as_bytes(),
            b"* 3 FETCH (EMAILID NIL)\r\n",
            b"* 3 FETCH (THREADID ())\r\n",
        ] {
            let items = crate::imap::codec::parse::tests::fetch(bad);
            assert!(
                matches!(&items[..], [FetchData::Other { name, .. }] if name.ends_with("ID")),
                "{items:?}"
            );
        }
        let ok = format!("* 3 FETCH (EMAILID ({}))\r\n", "a".repeat(255));
        let items = crate::imap::codec::parse::tests::fetch(ok.as_bytes());
        assert_eq!(items, [FetchData::EmailId("a".repeat(255))]);
    }

    #[test]
    fn gmail_labels_are_bounded() {
        // Gmail's documented example, then a million one-letter labels.
        let items = crate::imap::codec::parse::tests::fetch(
            b"* 1 FETCH (X-GM-LABELS (\\Inbox \\Sent Important \"Muy Importante\"))\r\n",
        );
        assert_eq!(
            items,
            [FetchData::GmLabels(vec![
                b"\\Inbox".to_vec(),
                b"\\Sent".to_vec(),
                b"Important".to_vec(),
                b"Muy Importante".to_vec()
            ])]
        );
        let many = format!(
            "* 1 FETCH (X-GM-LABELS ({}) UID 9)\r\n",
            "a ".repeat(1_000_000)
        );
        let items = crate::imap::codec::parse::tests::fetch(many.as_bytes());
        let [FetchData::GmLabels(labels), FetchData::Uid(9)] = &items[..] else {
            panic!("{:?}", items.get(1))
        };
        assert_eq!(labels.len(), MAX_GMAIL_LABELS);
    }

    #[test]
    fn preview_items() {
        // RFC 8970 §4's example, NIL, and a server that sends more than 256 characters.
        let items = crate::imap::codec::parse::tests::fetch(
            b"* 1 FETCH (UID 5 PREVIEW \"Hello, this is a preview\")\r\n",
        );
        assert!(items.contains(&FetchData::Preview(Some("Hello, this is a preview".into()))));
        let items = crate::imap::codec::parse::tests::fetch(b"* 2 FETCH (PREVIEW NIL)\r\n");
        assert_eq!(items, [FetchData::Preview(None)]);
        let long = format!("* 3 FETCH (PREVIEW \"{}\")\r\n", "ü".repeat(300));
        let items = crate::imap::codec::parse::tests::fetch(long.as_bytes());
        assert_eq!(items, [FetchData::Preview(Some("ü".repeat(256)))]);
    }

    /// Rebuilds the FETCH items a [`FetchParts`] stands for, in the order `parse_fetch`
    /// files them.
    fn parts_as_items(parts: FetchParts<'_>) -> Vec<FetchData> {
        let mut items = Vec::new();
        items.extend(parts.uid.map(FetchData::Uid));
        items.extend(parts.flags.map(FetchData::Flags));
        items.extend(parts.internal_date.map(FetchData::InternalDate));
        items.extend(parts.size.map(FetchData::Rfc822Size));
        items.extend(parts.mod_seq.map(FetchData::ModSeq));
        items.extend(parts.envelope.map(FetchData::Envelope));
        items.extend(parts.body_structure.map(FetchData::BodyStructure));
        items.extend(
            parts
                .content
                .map(|c| FetchData::Rfc822(Some(c.into_owned()))),
        );
        items.extend(parts.other);
        items
    }

    /// The same items as `parts_as_items` makes, from a general parse.
    fn normalised(items: Vec<FetchData>) -> Vec<FetchData> {
        let rank = |i: &FetchData| match i {
            FetchData::Uid(_) => 0,
            FetchData::Flags(_) => 1,
            FetchData::InternalDate(_) => 2,
            FetchData::Rfc822Size(_) => 3,
            FetchData::ModSeq(_) => 4,
            FetchData::Envelope(_) => 5,
            FetchData::BodyStructure(_) | FetchData::Body(_) => 6,
            _ => 8,
        };
        let mut content_taken = false;
        let mut items: Vec<(usize, FetchData)> = items
            .into_iter()
            .map(|i| match i {
                FetchData::Body(b) => (6, FetchData::BodyStructure(b)),
                FetchData::BodySection { data: Some(d), .. }
                | FetchData::Rfc822(Some(d))
                | FetchData::Rfc822Header(Some(d))
                    if !content_taken =>
                {
                    content_taken = true;
                    (7, FetchData::Rfc822(Some(d)))
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
            include_bytes!("../../../../tests/transcripts/dovecot-fetch-meta.bin"),
            include_bytes!("../../../../tests/transcripts/dovecot-fetch-body.bin"),
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
}
