//! The leaf parts of a parsed message, and the attachments among them.
//!
//! A [`Part`] is a cheap handle (one reference count) on the parsed part, and an
//! [`Attachment`] is such a handle too: the attachments of a message are its parts, not
//! copies of them. Content without a transfer encoding (7bit, 8bit, binary) is read in place
//! from the message's bytes; only base64 and quoted-printable content is decoded into a
//! buffer of its own, once.

use std::fmt;
use std::sync::Arc;

use super::charset::decode_text;

/// Whether a part is meant to be shown inline or offered as a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Disposition {
    /// Shown as part of the message (an image referenced from the HTML body, say).
    Inline,
    /// Offered as a separate file.
    Attachment,
}

/// Where a part's decoded content is.
pub(super) enum Content {
    /// A range of the message's bytes (no transfer encoding to undo).
    InPlace {
        raw: Arc<Vec<u8>>,
        start: usize,
        end: usize,
    },
    /// Decoded from base64 or quoted-printable.
    Decoded(Vec<u8>),
}

impl Content {
    fn bytes(&self) -> &[u8] {
        match self {
            Content::InPlace { raw, start, end } => raw.get(*start..*end).unwrap_or(&[]),
            Content::Decoded(data) => data,
        }
    }
}

/// What the MIME walk found about one leaf part.
pub(super) struct PartData {
    pub(super) path: String,
    pub(super) content_type: String,
    pub(super) charset: Option<String>,
    pub(super) disposition: Disposition,
    pub(super) explicit_attachment: bool,
    pub(super) filename: Option<String>,
    pub(super) content_id: Option<String>,
    pub(super) offset: usize,
    pub(super) content: Content,
}

/// A leaf part of the MIME tree, decoded from its transfer encoding.
///
/// Cloning is cheap (the clones share the parsed part). A part that was not transfer-encoded
/// shares the message's bytes, so keeping it keeps those bytes alive.
#[derive(Clone)]
pub struct Part {
    inner: Arc<PartData>,
}

impl Part {
    pub(super) fn new(data: PartData) -> Part {
        Part {
            inner: Arc::new(data),
        }
    }

    /// Whether this is a `mime` part that can be the text or HTML body (not marked as an
    /// attachment, no file name).
    pub(super) fn is_body(&self, mime: &str) -> bool {
        self.inner.content_type == mime
            && !self.inner.explicit_attachment
            && self.inner.filename.is_none()
    }

    /// The IMAP part number (`"1"`, `"2.1"`, …), usable in `BODY[...]` fetches.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The MIME type, lowercase (`text/plain`, `image/png`, …).
    pub fn content_type(&self) -> &str {
        &self.inner.content_type
    }

    /// The `charset` parameter of `Content-Type`, if given.
    pub fn charset(&self) -> Option<&str> {
        self.inner.charset.as_deref()
    }

    /// Inline or attachment (see the [module documentation](super) for the default).
    pub fn disposition(&self) -> Disposition {
        self.inner.disposition
    }

    /// The file name, decoded (RFC 2231 / RFC 2047), from `Content-Disposition` or else the
    /// `name` parameter of `Content-Type`. Untrusted: sanitize before using it as a path.
    pub fn filename(&self) -> Option<&str> {
        self.inner.filename.as_deref()
    }

    /// The `Content-ID`, without angle brackets (what `cid:` URLs in the HTML refer to).
    pub fn content_id(&self) -> Option<&str> {
        self.inner.content_id.as_deref()
    }

    /// The size of the decoded content in bytes.
    pub fn size(&self) -> usize {
        self.data().len()
    }

    /// The decoded content (transfer encoding removed, charset untouched).
    pub fn data(&self) -> &[u8] {
        self.inner.content.bytes()
    }

    /// The byte offset of the part (its header block) in [`Message::raw`](super::Message::raw).
    pub fn offset(&self) -> usize {
        self.inner.offset
    }

    /// The content as text, decoded with the part's charset, for `text/*` parts; `None` for
    /// other types. An unknown charset falls back to UTF-8 with replacement characters.
    /// Decoded on each call (linear in the part's size).
    pub fn text(&self) -> Option<String> {
        if self.inner.content_type.starts_with("text/") {
            Some(decode_text(self.data(), self.charset()).0)
        } else {
            None
        }
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.inner;
        f.debug_struct("Part")
            .field("path", &p.path)
            .field("content_type", &super::shown(&p.content_type))
            .field("charset", &p.charset.as_deref().map(super::shown))
            .field("disposition", &p.disposition)
            .field("filename", &p.filename.as_deref().map(super::shown))
            .field("content_id", &p.content_id.as_deref().map(super::shown))
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// A part that is not the text or HTML body: a file, an inline image, an embedded message.
///
/// See the [module documentation](super) for which parts count as attachments. An
/// attachment is the [`Part`] itself (shared, not copied).
#[derive(Clone)]
pub struct Attachment {
    part: Part,
}

impl Attachment {
    pub(super) fn new(part: Part) -> Attachment {
        Attachment { part }
    }

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
        let p = &self.part.inner;
        f.debug_struct("Attachment")
            .field("path", &p.path)
            .field("filename", &p.filename.as_deref().map(super::shown))
            .field("content_type", &super::shown(&p.content_type))
            .field("size", &self.size())
            .field("content_id", &p.content_id.as_deref().map(super::shown))
            .field("disposition", &p.disposition)
            .finish()
    }
}
