//! A fetched e-mail message: its raw bytes, with headers and MIME structure parsed lazily.
//!
//! [`Message`] is what the IMAP and POP3 clients hand back for a fetched message, and what
//! [`Message::from_bytes`] builds from any RFC 5322 message (an `.eml` file, a maildir
//! entry). Nothing is parsed when a message is built: the header block is indexed the first
//! time a header is asked for, and the MIME tree is walked the first time a body, a part or
//! an attachment is asked for. Both happen at most once per message and are cached, so
//! fetching thousands of messages and reading the subject of a few costs nothing for the
//! rest.
//!
//! Parsing is best effort and never panics: a part that cannot be decoded is left out and
//! reported by [`Message::mime_errors`], and everything else is still readable. Header
//! values are decoded from RFC 2047 encoded words (and from raw UTF-8 or Latin-1);
//! attachment file names from RFC 2231 (including continuations) and RFC 2047.
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

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use mailparse::body::Body;
use mailparse::{DispositionType, ParsedContentType};

use crate::error::{Error, escape_bytes, excerpt};

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
    /// lines unfolded and RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let index = self.header_index();
        index.first_value(self.header_bytes(), name)
    }

    /// The decoded values of every header named `name` (case-insensitive), in message order.
    pub fn headers(&self, name: &str) -> Vec<String> {
        let index = self.header_index();
        index.all_values(self.header_bytes(), name)
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

    /// The `Date` header as Unix seconds (UTC), or `None` when it is missing or unreadable.
    pub fn date(&self) -> Option<i64> {
        let value = self.date_header()?;
        guard(|| mailparse::dateparse(&value)).ok()?.ok()
    }

    /// The `Date` header as written.
    pub fn date_header(&self) -> Option<String> {
        self.header("Date")
    }

    /// The `Message-ID`, without angle brackets.
    pub fn message_id(&self) -> Option<String> {
        self.header("Message-ID")
            .and_then(|v| message_ids(&v).into_iter().next())
    }

    /// The ids in `In-Reply-To`, without angle brackets.
    pub fn in_reply_to(&self) -> Vec<String> {
        self.header("In-Reply-To")
            .map(|v| message_ids(&v))
            .unwrap_or_default()
    }

    /// The ids in `References`, oldest first, without angle brackets.
    pub fn references(&self) -> Vec<String> {
        self.headers("References")
            .iter()
            .flat_map(|v| message_ids(v))
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
                return Arc::new(Mime::build(&self.raw, &HeaderIndex::build(&self.raw, 0)));
            }
            let index = self.header_index();
            Arc::new(Mime::build(&self.raw, index))
        })
    }

    fn addresses(&self, name: &str) -> Vec<Address> {
        let index = self.header_index();
        index
            .fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name))
            .flat_map(|f| parse_addresses(f.bytes(self.header_bytes())))
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
        f.debug_struct("Message")
            .field("uid", &self.meta.uid)
            .field("flags", &self.meta.flags)
            .field("size", &self.raw.len())
            .field("message_id", &self.message_id())
            .field("date", &self.date_header())
            .field("from", &self.header("From"))
            .field("subject", &self.subject())
            .finish_non_exhaustive()
    }
}

/// One mailbox of an address header: `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Address {
    /// The display name, RFC 2047 decoded, if there is one.
    pub name: Option<String>,
    /// The address itself (`local@domain`).
    pub email: String,
}

impl Address {
    /// Builds an address from a display name and an e-mail address.
    pub fn new(name: Option<String>, email: impl Into<String>) -> Address {
        Address {
            name,
            email: email.into(),
        }
    }

    /// The display name, if there is one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The address itself (`local@domain`).
    pub fn email(&self) -> &str {
        &self.email
    }
}

impl fmt::Display for Address {
    /// Writes `email`, or `Name <email>` with the name quoted when it needs to be.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name.as_deref().filter(|n| !n.is_empty()) {
            None => f.write_str(&self.email),
            Some(name) => {
                let plain = name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || "!#$%&'*+-/=?^_`{|}~".contains(c));
                if plain {
                    write!(f, "{name} <{}>", self.email)
                } else {
                    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
                    write!(f, "\"{escaped}\" <{}>", self.email)
                }
            }
        }
    }
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

/// One header field: its trimmed name and where the whole field lies in the raw message.
struct Field {
    name: String,
    start: usize,
    end: usize,
}

impl Field {
    fn bytes<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.start..self.end).unwrap_or(&[])
    }

    /// The field's decoded value (unfolded, encoded words decoded).
    fn value(&self, raw: &[u8]) -> Option<String> {
        let bytes = self.bytes(raw);
        guard(|| mailparse::parse_header(bytes).map(|(h, _)| h.get_value()))
            .ok()?
            .ok()
    }
}

/// The header block of one entity: where each field is and where the body starts.
struct HeaderIndex {
    fields: Vec<Field>,
    /// Absolute offset of the first body byte.
    body_start: usize,
    /// Problems as (absolute offset, message).
    problems: Vec<(usize, String)>,
}

impl HeaderIndex {
    /// Indexes the header block at the start of `bytes`, which begins at `base` in the raw
    /// message. Lenient: a line that is not a header is skipped and noted.
    fn build(bytes: &[u8], base: usize) -> HeaderIndex {
        let mut fields = Vec::new();
        let mut problems = Vec::new();
        let mut ix = 0usize;
        let body_start = loop {
            let rest = match bytes.get(ix..) {
                Some(rest) if !rest.is_empty() => rest,
                _ => break bytes.len(),
            };
            match rest.first() {
                Some(b'\n') => break ix.saturating_add(1),
                Some(b'\r') if rest.get(1) == Some(&b'\n') => break ix.saturating_add(2),
                Some(b'\r') => {
                    if problems.len() < MAX_ERRORS {
                        problems.push((base.saturating_add(ix), "stray CR in header block".into()));
                    }
                    ix = ix.saturating_add(1);
                    continue;
                }
                _ => {}
            }
            let parsed = guard(|| {
                mailparse::parse_header(rest).map(|(h, n)| (h.get_key_ref().trim().to_string(), n))
            });
            match parsed {
                Ok(Ok((name, n))) if n > 0 && n <= rest.len() => {
                    let end = ix.saturating_add(n);
                    fields.push(Field {
                        name,
                        start: base.saturating_add(ix),
                        end: base.saturating_add(end),
                    });
                    ix = end;
                }
                other => {
                    let why = match other {
                        Ok(Err(e)) => e.to_string(),
                        Err(panic) => panic,
                        Ok(Ok(_)) => "header line could not be read".to_string(),
                    };
                    if problems.len() < MAX_ERRORS {
                        problems.push((
                            base.saturating_add(ix),
                            format!("skipped a header line: {why}"),
                        ));
                    }
                    // Skip to the next line.
                    let skip = rest
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(rest.len(), |p| p.saturating_add(1));
                    ix = ix.saturating_add(skip.max(1));
                }
            }
        };
        HeaderIndex {
            fields,
            body_start: base.saturating_add(body_start),
            problems,
        }
    }

    fn first_value(&self, raw: &[u8], name: &str) -> Option<String> {
        self.fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name))
            .find_map(|f| f.value(raw))
    }

    fn all_values(&self, raw: &[u8], name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name))
            .filter_map(|f| f.value(raw))
            .collect()
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
        let ct = match content_type(index.first_value(raw, "Content-Type"), ctx) {
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
            Some(enc @ ("base64" | "quoted-printable")) => {
                let ctype = ParsedContentType::default();
                let decoded = guard(|| {
                    let cte = Some(enc.to_string());
                    match Body::new(body, &ctype, &cte) {
                        Body::Base64(b) | Body::QuotedPrintable(b) => b.get_decoded(),
                        Body::SevenBit(b) | Body::EightBit(b) => Ok(b.get_raw().to_vec()),
                        Body::Binary(b) => Ok(b.get_raw().to_vec()),
                    }
                });
                match decoded {
                    Ok(Ok(data)) => data,
                    Ok(Err(e)) => {
                        self.error(
                            &path,
                            body_start,
                            format!("{enc} content cannot be decoded ({e}); part skipped"),
                        );
                        return;
                    }
                    Err(panic) => {
                        self.error(&path, body_start, format!("{panic}; part skipped"));
                        return;
                    }
                }
            }
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
    if !value.contains("=?") {
        return value.to_string();
    }
    let line = format!("X: {value}");
    guard(|| mailparse::parse_header(line.as_bytes()).map(|(h, _)| h.get_value()))
        .ok()
        .and_then(Result::ok)
        .unwrap_or_else(|| value.to_string())
}

/// Whether mailparse knows `label` as a charset, tested through its RFC 2231 parameter
/// decoder (which only decodes parameters whose charset it knows).
fn charset_known(label: &str) -> bool {
    let token = !label.is_empty()
        && label.len() <= 64
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+".contains(&b));
    if !token {
        return false;
    }
    let probe = format!("text/plain; x*={label}''%41");
    guard(|| mailparse::parse_content_type(&probe))
        .map(|ct| ct.params.get("x").map(String::as_str) == Some("A"))
        .unwrap_or(false)
}

/// Decodes text with `charset`. Without a charset, or with `us-ascii`, valid UTF-8 is taken
/// as UTF-8 and anything else as Windows-1252. An unknown charset falls back to lossy UTF-8
/// and returns a note saying so.
fn decode_text(data: &[u8], charset: Option<&str>) -> (String, Option<String>) {
    let label = charset.map(|c| c.trim().to_ascii_lowercase());
    let label = match label.as_deref() {
        None | Some("" | "us-ascii" | "ascii") => match std::str::from_utf8(data) {
            Ok(s) => return (s.to_string(), None),
            Err(_) => "windows-1252".to_string(),
        },
        Some("utf-8" | "utf8") => return (String::from_utf8_lossy(data).into_owned(), None),
        Some(other) => other.to_string(),
    };
    if charset_known(&label) {
        let ctype = ParsedContentType {
            mimetype: "text/plain".into(),
            charset: label.clone(),
            params: Default::default(),
        };
        let cte = Some("8bit".to_string());
        let decoded = guard(|| match Body::new(data, &ctype, &cte) {
            Body::SevenBit(b) | Body::EightBit(b) => b.get_as_string(),
            Body::Binary(b) => b.get_as_string(),
            Body::Base64(b) | Body::QuotedPrintable(b) => b.get_decoded_as_string(),
        });
        if let Ok(Ok(text)) = decoded {
            return (text, None);
        }
    }
    (
        String::from_utf8_lossy(data).into_owned(),
        Some(format!(
            "unknown charset {:?}; decoded as UTF-8 with replacement characters",
            escape_bytes(label.as_bytes())
        )),
    )
}

/// A header block (`Date`, `Subject`, `Message-ID`, `In-Reply-To`, the address fields)
/// written from an IMAP envelope, for messages fetched without their bytes. Values are kept
/// as sent (encoded words are decoded when read); CR and LF are replaced by spaces.
fn envelope_header_block(envelope: &crate::imap::types::Envelope) -> Vec<u8> {
    let mut out = Vec::new();
    let mut field = |name: &str, value: &[u8]| {
        if value.is_empty() {
            return;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend(
            value
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
    };
    for (name, value) in [
        ("Date", &envelope.date),
        ("Subject", &envelope.subject),
        ("Message-ID", &envelope.message_id),
        ("In-Reply-To", &envelope.in_reply_to),
    ] {
        if let Some(value) = value {
            field(name, value);
        }
    }
    for (name, list) in [
        ("From", &envelope.from),
        ("Sender", &envelope.sender),
        ("Reply-To", &envelope.reply_to),
        ("To", &envelope.to),
        ("Cc", &envelope.cc),
        ("Bcc", &envelope.bcc),
    ] {
        field(name, &envelope_addresses(list));
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// An envelope address list as a header value (`"Name" <box@host>, …`); group markers are
/// dropped, their members kept.
fn envelope_addresses(list: &[crate::imap::types::Address]) -> Vec<u8> {
    let mut out = Vec::new();
    for address in list {
        let (Some(mailbox), Some(host)) = (&address.mailbox, &address.host) else {
            continue;
        };
        if !out.is_empty() {
            out.extend_from_slice(b", ");
        }
        if let Some(name) = address.name.as_ref().filter(|n| !n.is_empty()) {
            let encoded_word = name.starts_with(b"=?")
                && name.ends_with(b"?=")
                && !name.iter().any(|b| b.is_ascii_whitespace() || *b == b'"');
            if encoded_word {
                out.extend_from_slice(name);
            } else {
                out.push(b'"');
                for &b in name {
                    if b == b'"' || b == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
            out.push(b' ');
        }
        out.push(b'<');
        out.extend_from_slice(mailbox);
        out.push(b'@');
        out.extend_from_slice(host);
        out.push(b'>');
    }
    out
}

/// Parses one raw address header field (`To: a <b@c>, ...`), flattening groups. Falls back
/// to picking out `<...@...>` and bare `...@...` tokens when the header is malformed.
fn parse_addresses(field: &[u8]) -> Vec<Address> {
    let parsed = guard(|| {
        let (header, _) = mailparse::parse_header(field)?;
        let list = mailparse::addrparse_header(&header)?;
        let mut out = Vec::new();
        for addr in list.iter() {
            match addr {
                mailparse::MailAddr::Single(s) => out.push(single(s)),
                mailparse::MailAddr::Group(g) => out.extend(g.addrs.iter().map(single)),
            }
        }
        Ok::<_, mailparse::MailParseError>(out)
    });
    match parsed {
        Ok(Ok(list)) => list,
        _ => {
            let value = guard(|| mailparse::parse_header(field).map(|(h, _)| h.get_value()))
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            fallback_addresses(&value)
        }
    }
}

fn single(s: &mailparse::SingleInfo) -> Address {
    Address {
        name: s
            .display_name
            .as_ref()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        email: s.addr.trim().to_string(),
    }
}

fn fallback_addresses(value: &str) -> Vec<Address> {
    value
        .split([',', ';'])
        .filter_map(|piece| {
            let piece = piece.trim();
            if let Some((before, rest)) = piece.split_once('<') {
                let email = rest.split('>').next().unwrap_or("").trim();
                if !email.contains('@') {
                    return None;
                }
                let name = before.trim().trim_matches('"').trim();
                Some(Address {
                    name: (!name.is_empty()).then(|| name.to_string()),
                    email: email.to_string(),
                })
            } else {
                piece
                    .split_whitespace()
                    .find(|w| w.contains('@'))
                    .map(|w| Address {
                        name: None,
                        email: w
                            .trim_matches(|c| c == '"' || c == '(' || c == ')')
                            .to_string(),
                    })
            }
        })
        .collect()
}

/// The message ids in a `Message-ID` / `In-Reply-To` / `References` value, without angle
/// brackets. Ids outside brackets are taken word by word.
fn message_ids(value: &str) -> Vec<String> {
    if value.contains('<') {
        value
            .split('<')
            .skip(1)
            .filter_map(|s| s.split_once('>').map(|(id, _)| id.trim()))
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        value
            .split_whitespace()
            .filter(|w| w.contains('@'))
            .map(str::to_string)
            .collect()
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
    fn split_respects_boundary_lines() {
        let raw = b"--b\r\nA\r\n--bX\r\n--b  \r\nB\r\n--b--\r\nepilogue";
        let s = split_multipart(raw, 0, raw.len(), b"b");
        assert!(s.closed);
        let parts: Vec<&[u8]> = s.parts.iter().map(|&(a, b)| &raw[a..b]).collect();
        assert_eq!(parts, vec![&b"A\r\n--bX"[..], &b"B"[..]]);
    }

    #[test]
    fn charset_probe() {
        assert!(charset_known("iso-8859-1"));
        assert!(charset_known("windows-1252"));
        assert!(charset_known("koi8-r"));
        assert!(!charset_known("x-no-such-charset"));
        assert!(!charset_known("utf-8'';x"));
        assert_eq!(
            decode_text(b"\xe4", Some("ISO-8859-1")),
            ("\u{e4}".to_string(), None)
        );
        assert_eq!(decode_text("ä".as_bytes(), None).0, "ä");
        assert_eq!(decode_text(b"\xe4", None).0, "\u{e4}");
        let (text, note) = decode_text(b"a\xff", Some("x-bogus"));
        assert_eq!(text, "a\u{fffd}");
        assert!(note.is_some());
    }

    #[test]
    fn ids_and_fallback_addresses() {
        assert_eq!(
            message_ids(" <a@b> <c@d>\t<e@f>"),
            vec!["a@b", "c@d", "e@f"]
        );
        assert_eq!(message_ids("a@b"), vec!["a@b"]);
        assert_eq!(message_ids("<>"), Vec::<String>::new());
        let a = fallback_addresses("\"Bob\" <bob@x.org>, carol@y.org; junk");
        assert_eq!(
            a,
            vec![
                Address::new(Some("Bob".into()), "bob@x.org"),
                Address::new(None, "carol@y.org")
            ]
        );
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
    fn header_index_is_lenient() {
        let raw = b" leading continuation\r\nSubject: x\r\n\rFrom: a@b\r\n\r\nbody";
        let idx = HeaderIndex::build(raw, 0);
        assert_eq!(idx.first_value(raw, "subject").as_deref(), Some("x"));
        assert_eq!(idx.first_value(raw, "FROM").as_deref(), Some("a@b"));
        assert_eq!(&raw[idx.body_start..], b"body");
        assert_eq!(idx.problems.len(), 2);
    }
}
