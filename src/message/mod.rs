//! A fetched e-mail message: its raw bytes, with headers and MIME structure parsed lazily.
//!
//! [`Message`] is what the IMAP and POP3 clients hand back for a fetched message, and what
//! [`Message::from_bytes`] builds from any RFC 5322 message (an `.eml` file, a maildir
//! entry). Nothing is parsed when a message is built: the header block is indexed the first
//! time a header is asked for, and the MIME tree is walked the first time a body, a part or
//! an attachment is asked for. Both happen at most once per message and are cached, so
//! fetching thousands of messages and reading the subject of a few costs nothing for the
//! rest. A header value is decoded the first time it is asked for, and kept.
//!
//! Parsing is best effort and never panics: a part that cannot be decoded is left out and
//! reported by [`Message::mime_errors`], and everything else is still readable. Header
//! values are decoded from RFC 2047 encoded words (and from raw UTF-8 or Latin-1);
//! attachment file names from RFC 2231 (including continuations) and RFC 2047.
//!
//! # Hostile messages
//!
//! Anyone who can send mail can send a message built to be slow or huge to read. Header
//! values, address lists, dates and message ids are read in time linear in the header's
//! length, and at most [`Message::MAX_HEADER_FIELDS`] fields of a header block are indexed
//! (the cap is reported in [`Message::mime_errors`] when it is hit).
//!
//! # Which parts are bodies and which are attachments
//!
//! The leaf parts of the MIME tree are listed by [`Message::parts`] in depth-first order.
//! Among them:
//!
//! - the **text body** is the first `text/plain` leaf and the **HTML body** the first
//!   `text/html` leaf that is not marked `Content-Disposition: attachment` and carries no file
//!   name. In a `multipart/alternative` this picks the plain and the HTML alternatives; in a
//!   message with several text parts the first one wins.
//! - every **other** leaf is an [attachment](Message::attachments): parts marked as
//!   attachments, inline images referenced by `Content-ID` from the HTML, further text parts,
//!   embedded messages (`message/rfc822`, kept whole and not descended into; parse them with
//!   [`Message::from_bytes`]).
//!
//! An attachment's [`Disposition`] comes from its `Content-Disposition` header (`inline`, or
//! anything else, which RFC 2183 says to treat as `attachment`); without that header a part
//! is [`Disposition::Inline`] when it has a `Content-ID` or sits in a `multipart/related`,
//! and [`Disposition::Attachment`] otherwise.
//!
//! File names come from the sender and are untrusted: they may contain path separators or
//! `..`. Sanitize them before using them as paths.

mod address;
mod charset;
mod encoded_words;
mod envelope;
mod field_values;
mod header;
mod transfer;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use mailparse::{DispositionType, ParsedContentType};

use crate::error::{Error, escape_bytes, excerpt};

pub use address::Address;

use address::parse_addresses;
use charset::decode_text;
use envelope::envelope_header_block;
use field_values::{message_ids, parse_date};
use header::HeaderIndex;

/// How deeply multiparts may nest before the walk stops (and records an error).
const MAX_DEPTH: usize = 64;
/// How many parse problems are recorded per message; further ones are counted in one entry.
const MAX_ERRORS: usize = 64;

/// An e-mail message: the raw RFC 5322 bytes, with headers and MIME parts parsed on first
/// use.
///
/// Cloning copies the raw bytes; what was already parsed is shared. `Debug` shows the size
/// and a few headers, never the body.
///
/// ```
/// use mailwire::Message;
///
/// let msg = Message::from_bytes(
///     b"From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\nSubject: Hi\r\n\r\nHello\r\n".to_vec(),
/// );
/// assert_eq!(msg.subject().as_deref(), Some("Hi"));
/// assert_eq!(msg.from()[0].name(), Some("J\u{fc}rgen"));
/// assert_eq!(msg.text_body(), Some("Hello\r\n"));
/// ```
#[derive(Clone)]
pub struct Message {
    raw: Vec<u8>,
    header_index: OnceLock<Arc<HeaderIndex>>,
    mime: OnceLock<Arc<Mime>>,
    meta: MessageMeta,
    /// A header block made from the envelope when only metadata was fetched (no raw
    /// bytes), so that `subject()`, `from()`, `date()`, … still answer. Built on first
    /// use: a metadata fetch of many messages does not pay for it up front.
    envelope_headers: OnceLock<Vec<u8>>,
}

/// What the server reported about a message besides its bytes: the IMAP `FETCH` data
/// (POP3 fills in only the message number as `seq`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageMeta {
    /// The UID (IMAP), unique within the folder's UIDVALIDITY.
    pub uid: Option<u32>,
    /// The message sequence number (IMAP) or message number (POP3) when fetched.
    pub seq: Option<u32>,
    /// The flags.
    pub flags: Vec<crate::imap::types::Flag>,
    /// The server's internal date, as sent (`"17-Jul-1996 02:44:25 -0700"`).
    pub internal_date: Option<String>,
    /// The size in octets as the server counts it (`RFC822.SIZE`).
    pub size: Option<u64>,
    /// The envelope (boxed: a message fetched without one stays small).
    pub envelope: Option<Box<crate::imap::types::Envelope>>,
    /// The MIME structure as the server parsed it (boxed, like the envelope).
    pub body_structure: Option<Box<crate::imap::types::BodyStructure>>,
    /// The mod-sequence (CONDSTORE).
    pub mod_seq: Option<u64>,
}

impl Message {
    /// At most this many header fields of one header block (the message's, or a part's)
    /// are indexed. The fields after them are still read past (the body is found) but are
    /// invisible to [`header`](Self::header), [`headers`](Self::headers) and every other
    /// accessor; [`mime_errors`](Self::mime_errors) says how many there were. Real messages
    /// have a few dozen (mail servers refuse more than about 100 `Received` hops).
    pub const MAX_HEADER_FIELDS: usize = 10_000;

    /// Wraps the raw bytes of a message (headers, blank line, body). Parses nothing yet.
    pub fn from_bytes(raw: Vec<u8>) -> Message {
        Message::with_meta(raw, MessageMeta::default())
    }

    /// Wraps raw bytes (possibly empty, when only metadata was fetched) and the server's
    /// metadata.
    ///
    /// Without raw bytes, the header accessors ([`subject`](Self::subject),
    /// [`from`](Self::from), [`date`](Self::date), [`message_id`](Self::message_id), …)
    /// answer from the envelope, if the metadata has one.
    pub fn with_meta(raw: Vec<u8>, meta: MessageMeta) -> Message {
        Message {
            raw,
            header_index: OnceLock::new(),
            mime: OnceLock::new(),
            meta,
            envelope_headers: OnceLock::new(),
        }
    }

    /// The bytes the header accessors read: the raw message, or the header block made
    /// from the envelope when there are no raw bytes.
    fn header_bytes(&self) -> &[u8] {
        if !self.raw.is_empty() {
            return &self.raw;
        }
        self.envelope_headers.get_or_init(|| {
            self.meta
                .envelope
                .as_deref()
                .map(envelope_header_block)
                .unwrap_or_default()
        })
    }

    /// The server's metadata (UID, flags, sizes, envelope, structure).
    pub fn meta(&self) -> &MessageMeta {
        &self.meta
    }

    /// The UID, when fetched over IMAP.
    pub fn uid(&self) -> Option<u32> {
        self.meta.uid
    }

    /// The flags reported by the server (empty when not fetched).
    pub fn flags(&self) -> &[crate::imap::types::Flag] {
        &self.meta.flags
    }

    /// Whether the server reported the `\Seen` flag.
    pub fn is_seen(&self) -> bool {
        self.meta.flags.contains(&crate::imap::types::Flag::Seen)
    }

    /// Whether the server reported the `\Flagged` flag (starred).
    pub fn is_flagged(&self) -> bool {
        self.meta.flags.contains(&crate::imap::types::Flag::Flagged)
    }

    /// The size in octets: the server's `RFC822.SIZE` when known, else the length of the
    /// raw bytes.
    pub fn size(&self) -> u64 {
        self.meta.size.unwrap_or(self.raw.len() as u64)
    }

    /// The raw bytes of the message, exactly as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Gives the raw bytes back, dropping whatever was parsed.
    pub fn into_raw(self) -> Vec<u8> {
        self.raw
    }

    /// The decoded value of the first header named `name` (case-insensitive), with folded
    /// lines unfolded and RFC 2047 encoded words decoded. Decoded once, on first use; later
    /// calls copy the decoded value. Only the first [`MAX_HEADER_FIELDS`](Self::MAX_HEADER_FIELDS)
    /// fields are searched.
    pub fn header(&self, name: &str) -> Option<String> {
        let bytes = self.header_bytes();
        self.header_index()
            .first_value(bytes, name)
            .map(str::to_string)
    }

    /// The decoded values of every header named `name` (case-insensitive), in message order
    /// (among the first [`MAX_HEADER_FIELDS`](Self::MAX_HEADER_FIELDS) fields).
    pub fn headers(&self, name: &str) -> Vec<String> {
        let bytes = self.header_bytes();
        self.header_index()
            .named(bytes, name)
            .map(|f| f.value(bytes).to_string())
            .collect()
    }

    /// The decoded `Subject`.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject")
    }

    /// The `From` addresses (usually one), display names decoded.
    pub fn from(&self) -> Vec<Address> {
        self.addresses("From")
    }

    /// The `To` addresses, members of groups included.
    pub fn to(&self) -> Vec<Address> {
        self.addresses("To")
    }

    /// The `Cc` addresses, members of groups included.
    pub fn cc(&self) -> Vec<Address> {
        self.addresses("Cc")
    }

    /// The `Bcc` addresses (present only in messages the sender kept, such as sent mail).
    pub fn bcc(&self) -> Vec<Address> {
        self.addresses("Bcc")
    }

    /// The `Reply-To` addresses.
    pub fn reply_to(&self) -> Vec<Address> {
        self.addresses("Reply-To")
    }

    /// The `Date` header as Unix seconds (UTC), or `None` when it is missing or unreadable
    /// (a number of more than four digits in it is unreadable).
    pub fn date(&self) -> Option<i64> {
        parse_date(
            self.header_index()
                .first_value(self.header_bytes(), "Date")?,
        )
    }

    /// The `Date` header as written.
    pub fn date_header(&self) -> Option<String> {
        self.header("Date")
    }

    /// The `Message-ID`, without angle brackets.
    pub fn message_id(&self) -> Option<String> {
        let bytes = self.header_bytes();
        let value = self.header_index().first_value(bytes, "Message-ID")?;
        message_ids(value).into_iter().next()
    }

    /// The ids in `In-Reply-To`, without angle brackets.
    pub fn in_reply_to(&self) -> Vec<String> {
        let bytes = self.header_bytes();
        self.header_index()
            .first_value(bytes, "In-Reply-To")
            .map(message_ids)
            .unwrap_or_default()
    }

    /// The ids in `References`, oldest first, without angle brackets.
    pub fn references(&self) -> Vec<String> {
        let bytes = self.header_bytes();
        self.header_index()
            .named(bytes, "References")
            .flat_map(|f| message_ids(f.value(bytes)))
            .collect()
    }

    /// The plain-text body, decoded from its transfer encoding and charset.
    ///
    /// See the [module documentation](self) for which part is chosen. `None` when the
    /// message has no such part (an HTML-only message, or one whose body is empty).
    pub fn text_body(&self) -> Option<&str> {
        self.mime().text.as_deref()
    }

    /// The HTML body, decoded from its transfer encoding and charset.
    ///
    /// See the [module documentation](self) for which part is chosen.
    pub fn html_body(&self) -> Option<&str> {
        self.mime().html.as_deref()
    }

    /// Every leaf part that is not the chosen text or HTML body, in message order.
    ///
    /// See the [module documentation](self) for the rule.
    pub fn attachments(&self) -> &[Attachment] {
        &self.mime().attachments
    }

    /// Every leaf part of the MIME tree that could be decoded, depth first, with its IMAP
    /// part number (`"1"`, `"2.1"`, …). A message that is not multipart has one part, `"1"`,
    /// unless its body is empty.
    pub fn parts(&self) -> &[Part] {
        &self.mime().parts
    }

    /// The problems met while parsing: parts that could not be decoded (and are therefore
    /// missing from [`parts`](Self::parts)), unknown charsets, missing boundaries, nesting
    /// too deep. Empty for a well-formed message.
    pub fn mime_errors(&self) -> &[MimeError] {
        &self.mime().errors
    }

    fn header_index(&self) -> &HeaderIndex {
        self.header_index
            .get_or_init(|| Arc::new(HeaderIndex::build(self.header_bytes(), 0)))
    }

    fn mime(&self) -> &Mime {
        self.mime.get_or_init(|| {
            if self.raw.is_empty() {
                // Nothing to walk (the envelope's header block has no body).
                return Arc::new(Mime::build(&self.raw, &HeaderIndex::build(&[], 0)));
            }
            let index = self.header_index();
            Arc::new(Mime::build(&self.raw, index))
        })
    }

    fn addresses(&self, name: &str) -> Vec<Address> {
        let bytes = self.header_bytes();
        self.header_index()
            .named(bytes, name)
            .flat_map(|f| parse_addresses(&f.raw_value(bytes)))
            .collect()
    }
}

impl From<Vec<u8>> for Message {
    fn from(raw: Vec<u8>) -> Message {
        Message::from_bytes(raw)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = |name: &str| self.header(name).as_deref().map(shown);
        f.debug_struct("Message")
            .field("uid", &self.meta.uid)
            .field("flags", &self.meta.flags)
            .field("size", &self.raw.len())
            .field("message_id", &self.message_id().as_deref().map(shown))
            .field("date", &header("Date"))
            .field("from", &header("From"))
            .field("subject", &header("Subject"))
            .finish_non_exhaustive()
    }
}

/// How much of a value from the mail `Debug` and error messages show.
const SHOWN_CHARS: usize = 64;

/// `text` for `Debug` and error messages: control characters escaped (a mail can hold
/// terminal escape sequences), cut after [`SHOWN_CHARS`] characters.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a part is meant to be shown inline or offered as a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Disposition {
    /// Shown as part of the message (an image referenced from the HTML body, say).
    Inline,
    /// Offered as a separate file.
    Attachment,
}

/// A leaf part of the MIME tree, decoded from its transfer encoding.
#[derive(Clone)]
pub struct Part {
    path: String,
    content_type: String,
    charset: Option<String>,
    disposition: Disposition,
    explicit_attachment: bool,
    filename: Option<String>,
    content_id: Option<String>,
    offset: usize,
    data: Arc<[u8]>,
}

impl Part {
    /// The IMAP part number (`"1"`, `"2.1"`, …), usable in `BODY[...]` fetches.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The MIME type, lowercase (`text/plain`, `image/png`, …).
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The `charset` parameter of `Content-Type`, if given.
    pub fn charset(&self) -> Option<&str> {
        self.charset.as_deref()
    }

    /// Inline or attachment (see the [module documentation](self) for the default).
    pub fn disposition(&self) -> Disposition {
        self.disposition
    }

    /// The file name, decoded (RFC 2231 / RFC 2047), from `Content-Disposition` or else the
    /// `name` parameter of `Content-Type`. Untrusted: sanitize before using it as a path.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The `Content-ID`, without angle brackets (what `cid:` URLs in the HTML refer to).
    pub fn content_id(&self) -> Option<&str> {
        self.content_id.as_deref()
    }

    /// The size of the decoded content in bytes.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// The decoded content (transfer encoding removed, charset untouched).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The byte offset of the part (its header block) in [`Message::raw`].
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The content as text, decoded with the part's charset, for `text/*` parts; `None` for
    /// other types. An unknown charset falls back to UTF-8 with replacement characters.
    pub fn text(&self) -> Option<String> {
        if self.content_type.starts_with("text/") {
            Some(decode_text(&self.data, self.charset.as_deref()).0)
        } else {
            None
        }
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part")
            .field("path", &self.path)
            .field("content_type", &self.content_type)
            .field("charset", &self.charset)
            .field("disposition", &self.disposition)
            .field("filename", &self.filename)
            .field("content_id", &self.content_id)
            .field("size", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// A part that is not the text or HTML body: a file, an inline image, an embedded message.
///
/// See the [module documentation](self) for which parts count as attachments.
#[derive(Clone)]
pub struct Attachment {
    part: Part,
}

impl Attachment {
    /// The file name, decoded (RFC 2231 / RFC 2047), from `Content-Disposition` or else the
    /// `name` parameter of `Content-Type`. Untrusted: sanitize before using it as a path.
    pub fn filename(&self) -> Option<&str> {
        self.part.filename()
    }

    /// The MIME type, lowercase (`application/pdf`, `image/png`, …).
    pub fn content_type(&self) -> &str {
        self.part.content_type()
    }

    /// The size of the decoded content in bytes.
    pub fn size(&self) -> usize {
        self.part.size()
    }

    /// The `Content-ID`, without angle brackets.
    pub fn content_id(&self) -> Option<&str> {
        self.part.content_id()
    }

    /// Inline (e.g. an image shown by the HTML body) or attachment.
    pub fn disposition(&self) -> Disposition {
        self.part.disposition()
    }

    /// The decoded content.
    pub fn data(&self) -> &[u8] {
        self.part.data()
    }

    /// The IMAP part number (`"2"`, `"1.2"`, …).
    pub fn path(&self) -> &str {
        self.part.path()
    }

    /// The leaf part this attachment is.
    pub fn part(&self) -> &Part {
        &self.part
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("path", &self.part.path)
            .field("filename", &self.part.filename)
            .field("content_type", &self.part.content_type)
            .field("size", &self.part.data.len())
            .field("content_id", &self.part.content_id)
            .field("disposition", &self.part.disposition)
            .finish()
    }
}

/// A problem met while parsing a message's MIME structure.
///
/// Converts into [`Error::Protocol`] for callers who want to fail on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MimeError {
    /// The IMAP part number of the part concerned; empty for the message as a whole.
    pub path: String,
    /// The byte offset in the raw message where the problem is.
    pub offset: usize,
    /// What went wrong and what was done about it.
    pub message: String,
    /// A few escaped bytes around the offset.
    pub excerpt: String,
}

impl fmt::Display for MimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "message: {} (at byte {})", self.message, self.offset)
        } else {
            write!(
                f,
                "part {}: {} (at byte {})",
                self.path, self.message, self.offset
            )
        }
    }
}

impl std::error::Error for MimeError {}

impl From<MimeError> for Error {
    fn from(e: MimeError) -> Error {
        let message = if e.path.is_empty() {
            format!("malformed message: {}", e.message)
        } else {
            format!("malformed MIME part {}: {}", e.path, e.message)
        };
        Error::Protocol {
            message,
            excerpt: e.excerpt,
            offset: e.offset,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing internals.

/// Runs `f`, turning a panic inside it (mailparse is treated as untrusted) into an error.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        format!("the MIME parser failed internally ({what})")
    })
}

/// Collects parse problems, at most `MAX_ERRORS` of them.
#[derive(Default)]
struct Errors {
    list: Vec<MimeError>,
    suppressed: usize,
    depth_reported: bool,
}

impl Errors {
    fn push(&mut self, raw: &[u8], path: &str, offset: usize, message: impl Into<String>) {
        if self.list.len() >= MAX_ERRORS {
            self.suppressed = self.suppressed.saturating_add(1);
            return;
        }
        self.list.push(MimeError {
            path: path.to_string(),
            offset,
            message: message.into(),
            excerpt: excerpt(raw, offset),
        });
    }

    /// Records that the nesting cap was hit: once per message, and never suppressed.
    fn push_too_deep(&mut self, raw: &[u8], path: &str, offset: usize) {
        if self.depth_reported {
            return;
        }
        self.depth_reported = true;
        self.list.push(MimeError {
            path: path.to_string(),
            offset,
            message: format!(
                "multiparts nested more than {MAX_DEPTH} deep; everything deeper is skipped"
            ),
            excerpt: excerpt(raw, offset),
        });
    }

    fn finish(mut self) -> Vec<MimeError> {
        if self.suppressed > 0 {
            self.list.push(MimeError {
                path: String::new(),
                offset: 0,
                message: format!("{} further problems not listed", self.suppressed),
                excerpt: String::new(),
            });
        }
        self.list
    }
}

/// The result of walking the MIME tree once.
struct Mime {
    parts: Vec<Part>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Attachment>,
    errors: Vec<MimeError>,
}

/// What a parent multipart tells its children.
#[derive(Clone, Copy)]
struct Context {
    in_digest: bool,
    in_related: bool,
}

struct Walker<'a> {
    raw: &'a [u8],
    parts: Vec<Part>,
    errors: Errors,
}

impl Mime {
    fn build(raw: &[u8], top: &HeaderIndex) -> Mime {
        let mut walker = Walker {
            raw,
            parts: Vec::new(),
            errors: Errors::default(),
        };
        let walked = guard(|| {
            walker.entity(
                0,
                raw.len(),
                Some(top),
                String::new(),
                0,
                Context {
                    in_digest: false,
                    in_related: false,
                },
            );
        });
        if let Err(panic) = walked {
            walker.errors.push(raw, "", 0, panic);
        }
        let Walker {
            parts, mut errors, ..
        } = walker;

        let is_body = |p: &Part, mime: &str| {
            p.content_type == mime && !p.explicit_attachment && p.filename.is_none()
        };
        let text_ix = parts.iter().position(|p| is_body(p, "text/plain"));
        let html_ix = parts.iter().position(|p| is_body(p, "text/html"));
        let mut decode_body = |ix: Option<usize>| {
            let part = parts.get(ix?)?;
            let (text, problem) = decode_text(&part.data, part.charset.as_deref());
            if let Some(problem) = problem {
                errors.push(raw, &part.path, part.offset, problem);
            }
            Some(text)
        };
        let text = decode_body(text_ix);
        let html = decode_body(html_ix);
        let attachments = parts
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != text_ix && Some(*i) != html_ix)
            .map(|(_, p)| Attachment { part: p.clone() })
            .collect();
        Mime {
            parts,
            text,
            html,
            attachments,
            errors: errors.finish(),
        }
    }
}

/// The parsed `Content-Type` of an entity, with the defaults applied.
struct ContentType {
    mime: String,
    charset: Option<String>,
    boundary: Option<String>,
    name: Option<String>,
}

fn content_type(value: Option<String>, ctx: Context) -> Result<ContentType, String> {
    let default_mime = if ctx.in_digest {
        "message/rfc822"
    } else {
        "text/plain"
    };
    let Some(value) = value else {
        return Ok(ContentType {
            mime: default_mime.to_string(),
            charset: None,
            boundary: None,
            name: None,
        });
    };
    let parsed: ParsedContentType = guard(|| mailparse::parse_content_type(&value))?;
    let mut mime = parsed.mimetype.trim().to_ascii_lowercase();
    if mime.is_empty() || !mime.contains('/') {
        mime = default_mime.to_string();
    }
    let param = |k: &str| {
        parsed
            .params
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Ok(ContentType {
        mime,
        charset: param("charset"),
        boundary: parsed
            .params
            .get("boundary")
            .cloned()
            .filter(|b| !b.is_empty()),
        name: param("name").map(|n| decode_words(&n)),
    })
}

impl Walker<'_> {
    fn error(&mut self, path: &str, offset: usize, message: impl Into<String>) {
        self.errors.push(self.raw, path, offset, message);
    }

    /// Walks the entity at `start..end` (absolute offsets). `path` is its IMAP part number,
    /// empty for the message itself.
    fn entity(
        &mut self,
        start: usize,
        end: usize,
        top: Option<&HeaderIndex>,
        path: String,
        depth: usize,
        ctx: Context,
    ) {
        let raw = self.raw;
        let bytes = raw.get(start..end).unwrap_or(&[]);
        let built;
        let index = match top {
            Some(index) => index,
            None => {
                built = HeaderIndex::build(bytes, start);
                &built
            }
        };
        for (offset, problem) in &index.problems {
            self.error(&path, *offset, problem.clone());
        }
        let body_start = index.body_start.min(end);
        let ct = match content_type(
            index.first_value(raw, "Content-Type").map(str::to_string),
            ctx,
        ) {
            Ok(ct) => ct,
            Err(panic) => {
                self.error(&path, start, panic);
                content_type(None, ctx).unwrap_or(ContentType {
                    mime: "text/plain".into(),
                    charset: None,
                    boundary: None,
                    name: None,
                })
            }
        };

        if ct.mime.starts_with("multipart/") {
            let Some(boundary) = ct.boundary.clone() else {
                self.error(
                    &path,
                    start,
                    format!(
                        "{} without a boundary parameter; body read as text/plain",
                        ct.mime
                    ),
                );
                let ct = ContentType {
                    mime: "text/plain".into(),
                    ..ct
                };
                self.leaf(start, body_start, end, index, ct, path, ctx);
                return;
            };
            if depth >= MAX_DEPTH {
                self.errors.push_too_deep(self.raw, &path, start);
                return;
            }
            let split = split_multipart(raw, body_start, end, boundary.as_bytes());
            if split.parts.is_empty() && !split.closed {
                self.error(
                    &path,
                    body_start,
                    format!(
                        "{} boundary {boundary:?} never appears; body read as text/plain",
                        ct.mime
                    ),
                );
                let ct = ContentType {
                    mime: "text/plain".into(),
                    ..ct
                };
                self.leaf(start, body_start, end, index, ct, path, ctx);
                return;
            }
            if !split.closed {
                self.error(
                    &path,
                    end,
                    format!(
                        "closing boundary \"--{boundary}--\" missing; the last part runs to the end"
                    ),
                );
            }
            let child_ctx = Context {
                in_digest: ct.mime == "multipart/digest",
                in_related: ctx.in_related || ct.mime == "multipart/related",
            };
            for (i, (part_start, part_end)) in split.parts.into_iter().enumerate() {
                let number = i.saturating_add(1);
                let child_path = if path.is_empty() {
                    number.to_string()
                } else {
                    format!("{path}.{number}")
                };
                self.entity(
                    part_start,
                    part_end,
                    None,
                    child_path,
                    depth.saturating_add(1),
                    child_ctx,
                );
            }
            return;
        }
        self.leaf(start, body_start, end, index, ct, path, ctx);
    }

    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        start: usize,
        body_start: usize,
        end: usize,
        index: &HeaderIndex,
        ct: ContentType,
        path: String,
        ctx: Context,
    ) {
        let raw = self.raw;
        let body = raw.get(body_start..end).unwrap_or(&[]);
        let path = if path.is_empty() {
            if body.is_empty() {
                // A message with an empty body has no parts.
                return;
            }
            "1".to_string()
        } else {
            path
        };
        let encoding = index
            .first_value(raw, "Content-Transfer-Encoding")
            .map(|e| e.trim().to_ascii_lowercase());
        let data = match encoding.as_deref() {
            Some("base64") => match transfer::base64(body, transfer::base64_body_space) {
                Ok(data) => data,
                Err(at) => {
                    self.error(
                        &path,
                        body_start.saturating_add(at),
                        "base64 content cannot be decoded (not base64 from here on); part skipped",
                    );
                    return;
                }
            },
            Some("quoted-printable") => transfer::quoted_printable(body),
            None | Some("" | "7bit" | "8bit" | "binary") => body.to_vec(),
            Some(other) => {
                self.error(
                    &path,
                    start,
                    format!(
                        "unknown Content-Transfer-Encoding {:?}; content kept undecoded",
                        escape_bytes(other.as_bytes())
                    ),
                );
                body.to_vec()
            }
        };

        let disposition_header = index.first_value(raw, "Content-Disposition");
        let parsed_disposition = match disposition_header {
            Some(value) => match guard(|| mailparse::parse_content_disposition(&value)) {
                Ok(d) => Some(d),
                Err(panic) => {
                    self.error(&path, start, panic);
                    None
                }
            },
            None => None,
        };
        let content_id = index
            .first_value(raw, "Content-ID")
            .map(|v| {
                let v = v.trim();
                let v = v.strip_prefix('<').unwrap_or(v);
                let v = v.strip_suffix('>').unwrap_or(v);
                v.trim().to_string()
            })
            .filter(|v| !v.is_empty());
        let explicit_attachment = parsed_disposition
            .as_ref()
            .is_some_and(|d| d.disposition != DispositionType::Inline);
        let disposition = match &parsed_disposition {
            Some(d) if d.disposition == DispositionType::Inline => Disposition::Inline,
            Some(_) => Disposition::Attachment,
            None if content_id.is_some() || ctx.in_related => Disposition::Inline,
            None => Disposition::Attachment,
        };
        let filename = parsed_disposition
            .as_ref()
            .and_then(|d| d.params.get("filename"))
            .map(|n| decode_words(n.trim()))
            .filter(|n| !n.is_empty())
            .or(ct.name);

        self.parts.push(Part {
            path,
            content_type: ct.mime,
            charset: ct.charset,
            disposition,
            explicit_attachment,
            filename,
            content_id,
            offset: start,
            data: Arc::from(data),
        });
    }
}

/// Where the parts of a multipart body lie.
struct Split {
    /// (start, end) of each part, absolute, without the line break before the delimiter.
    parts: Vec<(usize, usize)>,
    /// Whether the closing delimiter was found.
    closed: bool,
}

/// Finds the delimiter lines `--boundary` (and the closing `--boundary--`) in
/// `raw[body_start..end]`. A delimiter line may be followed by whitespace only.
fn split_multipart(raw: &[u8], body_start: usize, end: usize, boundary: &[u8]) -> Split {
    let mut parts = Vec::new();
    let mut closed = false;
    // Start (after the delimiter line) of the part being collected.
    let mut open: Option<usize> = None;
    let mut line_start = body_start;
    while line_start < end {
        let line_end = raw
            .get(line_start..end)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(end, |p| line_start.saturating_add(p).saturating_add(1));
        let line = raw.get(line_start..line_end).unwrap_or(&[]);
        if let Some(after) = line
            .strip_prefix(b"--")
            .and_then(|l| l.strip_prefix(boundary))
        {
            let is_close = after.starts_with(b"--");
            if is_close || after.iter().all(u8::is_ascii_whitespace) {
                if let Some(part_start) = open.take() {
                    parts.push((part_start, content_end(raw, part_start, line_start)));
                }
                if is_close {
                    closed = true;
                    break;
                }
                open = Some(line_end);
            }
        }
        line_start = line_end;
    }
    if let Some(part_start) = open {
        parts.push((part_start.min(end), end));
    }
    Split { parts, closed }
}

/// Where a part's content ends before a delimiter at `delimiter`: the CRLF (or LF) in front
/// of the delimiter belongs to it (RFC 2046).
fn content_end(raw: &[u8], part_start: usize, delimiter: usize) -> usize {
    let mut end = delimiter;
    if end > part_start && raw.get(end.saturating_sub(1)) == Some(&b'\n') {
        end -= 1;
        if end > part_start && raw.get(end.saturating_sub(1)) == Some(&b'\r') {
            end -= 1;
        }
    }
    end.max(part_start)
}

/// Decodes RFC 2047 encoded words left in a parameter value (they are not allowed inside
/// quoted strings, but common).
fn decode_words(value: &str) -> String {
    if value.contains("=?") {
        encoded_words::decode_value(value)
    } else {
        value.to_string()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_only_messages_answer_from_the_envelope_built_on_first_use() {
        use crate::imap::types::{Address as ImapAddress, Envelope};
        let envelope = Envelope {
            subject: Some(b"Quarterly report".to_vec()),
            message_id: Some(b"<q1@example.org>".to_vec()),
            from: vec![ImapAddress {
                name: Some(b"Alice".to_vec()),
                mailbox: Some(b"alice".to_vec()),
                host: Some(b"example.org".to_vec()),
                ..ImapAddress::default()
            }],
            ..Envelope::default()
        };
        let meta = MessageMeta {
            envelope: Some(Box::new(envelope)),
            ..MessageMeta::default()
        };
        let m = Message::with_meta(Vec::new(), meta);
        assert!(m.envelope_headers.get().is_none(), "built eagerly");
        // A clone taken before first use answers the same.
        let copy = m.clone();
        assert_eq!(m.subject().as_deref(), Some("Quarterly report"));
        assert!(m.envelope_headers.get().is_some());
        assert_eq!(m.message_id().as_deref(), Some("q1@example.org"));
        assert_eq!(m.from()[0].name(), Some("Alice"));
        assert_eq!(copy.subject().as_deref(), Some("Quarterly report"));
        // Raw bytes win over the envelope.
        let raw = Message::with_meta(b"Subject: raw\r\n\r\n".to_vec(), m.meta().clone());
        assert_eq!(raw.subject().as_deref(), Some("raw"));
        assert!(raw.envelope_headers.get().is_none());
    }

    #[test]
    fn guard_turns_a_panic_into_an_error() {
        assert_eq!(guard(|| 5), Ok(5));
        let e = guard(|| -> u8 { panic!("boom {}", 1) }).unwrap_err();
        assert!(e.contains("boom 1"), "{e}");
    }

    #[test]
    fn headers_do_not_trigger_the_mime_walk() {
        let m = Message::from_bytes(b"Subject: s\r\n\r\nbody".to_vec());
        assert_eq!(m.subject().as_deref(), Some("s"));
        assert!(m.header_index.get().is_some());
        assert!(m.mime.get().is_none());
        assert_eq!(m.text_body(), Some("body"));
        assert!(m.mime.get().is_some());
    }

    #[test]
    fn shown_escapes_and_cuts() {
        assert_eq!(shown("a\x1b[1mb"), "a\\u{1b}[1mb");
        assert_eq!(
            shown(&"x".repeat(100)),
            format!("{}…", "x".repeat(SHOWN_CHARS))
        );
        assert_eq!(shown("Grüße"), "Grüße");
    }
}
