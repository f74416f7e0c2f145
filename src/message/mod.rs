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
//! Anyone who can send mail can send a message built to be slow or huge to read, so every
//! accessor is linear in the size of the message: each byte is read a bounded number of
//! times whatever the message contains (a few times, and a line that starts with `--` once
//! more for each multipart around it, at most [`Message::MAX_NESTING`]). What a message can
//! make the parser hold is bounded by caps, each reported once in [`Message::mime_errors`]
//! when it is hit:
//!
//! | Cap | Beyond it |
//! |-----|-----------|
//! | [`Message::MAX_HEADER_FIELDS`] header fields in one header block | not indexed (the block is still read to find the body) |
//! | [`Message::MAX_PARTS`] MIME parts in one message | not read |
//! | [`Message::MAX_NESTING`] levels of nested multiparts | skipped |
//! | [`Message::MAX_PARAMETERS`] parameters read in one `Content-Type` / `Content-Disposition` | ignored (parameters the library does not read are not parsed at all) |
//!
//! Memory: a part without a transfer encoding (7bit, 8bit, binary) is read in place from
//! the message's bytes; a base64 or quoted-printable part is decoded once into a buffer of
//! its own (smaller than its encoded form); [`Message::attachments`] are the parts
//! themselves, shared, not copies. The text and HTML bodies are decoded strings: as large as
//! their part in UTF-8, up to three times as large when its bytes are invalid in its charset
//! (each becomes a replacement character). A header value is kept decoded once it was asked
//! for. `Debug` of a message, a part or an attachment shows a few dozen characters of each
//! value, escaped, and so do the messages of [`MimeError`].
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
mod content_type;
mod encoded_words;
mod envelope;
mod field_values;
mod header;
mod mime;
mod mime_error;
mod part;
mod structure;
mod transfer;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

pub use address::Address;
pub use envelope::Envelope;
pub use mime_error::MimeError;
pub use part::{Attachment, Disposition, Part};
pub use structure::{BodyExtension, BodyStructure};

pub(crate) use envelope::{AddressParts, addresses_from_parts};

use crate::flag::Flag;
use address::parse_addresses;
use field_values::{message_ids, parse_date};
use header::HeaderIndex;
use mime::Mime;

/// How many parse problems are recorded per message; further ones are counted in one entry.
const MAX_ERRORS: usize = 64;

/// An e-mail message: the raw RFC 5322 bytes, with headers and MIME parts parsed on first
/// use.
///
/// Clones share the raw bytes and whatever was already parsed. `Debug` shows
/// the size and a few headers (shortened), never the body.
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
    raw: Arc<Vec<u8>>,
    header_index: OnceLock<Arc<HeaderIndex>>,
    mime: OnceLock<Arc<Mime>>,
    meta: MessageMeta,
}

/// What the server reported about a message besides its bytes (IMAP fills in what it
/// fetched; POP3 only the message number as `seq`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageMeta {
    /// The UID (IMAP), unique within the folder's UIDVALIDITY.
    pub uid: Option<u32>,
    /// The message sequence number (IMAP) or message number (POP3) when fetched.
    pub seq: Option<u32>,
    /// The flags.
    pub flags: Vec<crate::flag::Flag>,
    /// The server's internal date, as sent (`"17-Jul-1996 02:44:25 -0700"`).
    pub internal_date: Option<String>,
    /// The size in octets as the server counts it (`RFC822.SIZE`).
    pub size: Option<u64>,
    /// The envelope (boxed: a message fetched without one stays small).
    pub envelope: Option<Box<Envelope>>,
    /// The MIME structure as the server parsed it (boxed, like the envelope).
    pub body_structure: Option<Box<BodyStructure>>,
    /// The mod-sequence (CONDSTORE).
    pub mod_seq: Option<u64>,
    /// The server's plain-text preview of the message (IMAP `PREVIEW`, RFC 8970; at most
    /// 256 characters), when fetched.
    pub preview: Option<String>,
    /// The message's permanent id (IMAP `EMAILID`, RFC 8474), when the server offers
    /// `OBJECTID`.
    pub email_id: Option<String>,
    /// The id of the message's thread (IMAP `THREADID`, RFC 8474), when the server offers
    /// `OBJECTID` and threads the message.
    pub thread_id: Option<String>,
    /// Gmail's message id (`X-GM-MSGID`), when the server offers `X-GM-EXT-1`.
    pub gmail_message_id: Option<u64>,
    /// Gmail's conversation id (`X-GM-THRID`), when the server offers `X-GM-EXT-1`.
    pub gmail_thread_id: Option<u64>,
    /// Gmail's labels (`X-GM-LABELS`, decoded from modified UTF-7; system labels such as
    /// `\Inbox` keep their backslash), when the server offers `X-GM-EXT-1`; at most 1,000
    /// (the IMAP codec's `MAX_GMAIL_LABELS`).
    pub gmail_labels: Option<Vec<String>>,
}

impl Message {
    /// At most this many header fields of one header block (the message's, or a part's)
    /// are indexed. The fields after them are still read past (the body is found) but are
    /// invisible to [`header`](Self::header), [`headers`](Self::headers) and every other
    /// accessor; [`mime_errors`](Self::mime_errors) says how many there were. Real messages
    /// have a few dozen (mail servers refuse more than about 100 `Received` hops).
    pub const MAX_HEADER_FIELDS: usize = 10_000;

    /// At most this many MIME parts of one message are read: leaves and multiparts, the
    /// message itself not counted. The part that would exceed it and everything after it
    /// are not read; [`mime_errors`](Self::mime_errors) reports where that was.
    pub const MAX_PARTS: usize = 10_000;

    /// Multiparts nest at most this deep; a multipart deeper than this is skipped with
    /// everything in it, reported once in [`mime_errors`](Self::mime_errors).
    pub const MAX_NESTING: usize = 64;

    /// Of the parameters this library reads (`charset`, `boundary` and `name` of
    /// `Content-Type`, `filename` of `Content-Disposition`), at most this many per header
    /// are read, RFC 2231 continuations counting one each (a file name in more segments is
    /// cut); the rest are ignored and reported in [`mime_errors`](Self::mime_errors).
    /// Other parameters are not read at all.
    pub const MAX_PARAMETERS: usize = 64;

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
            raw: Arc::new(raw),
            header_index: OnceLock::new(),
            mime: OnceLock::new(),
            meta,
        }
    }

    /// The envelope the header accessors answer from: the metadata's, when there are no raw
    /// bytes.
    fn envelope_only(&self) -> Option<&Envelope> {
        if self.raw.is_empty() {
            self.meta.envelope.as_deref()
        } else {
            None
        }
    }

    /// The server's metadata (UID, flags, sizes, envelope, structure).
    pub fn meta(&self) -> &MessageMeta {
        &self.meta
    }

    /// The UID, when fetched over IMAP.
    pub fn uid(&self) -> Option<u32> {
        self.meta.uid
    }

    /// The server's short plain-text preview (IMAP `PREVIEW`, RFC 8970), when the
    /// metadata fetch got one: servers that offer `PREVIEW` are asked for it.
    pub fn preview(&self) -> Option<&str> {
        self.meta.preview.as_deref()
    }

    /// The message's permanent id (`EMAILID`, RFC 8474 OBJECTID): the same for every
    /// copy of the message in every folder, and kept when it is moved, so an index keyed
    /// on it survives a UIDVALIDITY change. Fetched with the message whenever the server
    /// offers `OBJECTID` (it is never asked otherwise): `None` on a server without it
    /// (Dovecot 2.3 has none), or on a message built from bytes.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// for m in conn.fetch_metadata("INBOX", &[7])? {
    ///     if let Some(id) = m.email_id() {
    ///         // The same message, wherever it went since:
    ///         let uids = conn.search("Archive", &SearchQuery::email_id(id))?;
    ///         # let _ = uids;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn email_id(&self) -> Option<&str> {
        self.meta.email_id.as_deref()
    }

    /// The id of the message's thread (`THREADID`, RFC 8474 OBJECTID), shared by the
    /// messages the server puts in one conversation; search them with the IMAP
    /// `SearchQuery::thread_id`. `None` when the
    /// server does not offer `OBJECTID` (it is never asked then), or does not thread the
    /// message (`THREADID NIL`).
    pub fn thread_id(&self) -> Option<&str> {
        self.meta.thread_id.as_deref()
    }

    /// Gmail's message id (`X-GM-MSGID`): permanent, the same in every label folder.
    /// Fetched whenever the server offers `X-GM-EXT-1` (Gmail); `None` elsewhere.
    pub fn gmail_message_id(&self) -> Option<u64> {
        self.meta.gmail_message_id
    }

    /// Gmail's conversation id (`X-GM-THRID`). Fetched whenever the server offers
    /// `X-GM-EXT-1`; `None` elsewhere.
    pub fn gmail_thread_id(&self) -> Option<u64> {
        self.meta.gmail_thread_id
    }

    /// Gmail's labels of the message (`X-GM-LABELS`): user labels by name (decoded from
    /// modified UTF-7, `Muy Importante`), system labels with their backslash (`\Inbox`,
    /// `\Important`, `\Starred`, `\Sent`, `\Draft`). Fetched whenever the server offers
    /// `X-GM-EXT-1`; `None` elsewhere, `Some(&[])` for a message without labels. At most
    /// 1,000 are kept (the IMAP codec's `MAX_GMAIL_LABELS`: a hostile server's list of a
    /// million labels costs no more).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// for m in conn.fetch_metadata("[Gmail]/All Mail", &[7])? {
    ///     let important = m
    ///         .gmail_labels()
    ///         .is_some_and(|labels| labels.iter().any(|l| l == "\\Important"));
    ///     # let _ = important;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn gmail_labels(&self) -> Option<&[String]> {
        self.meta.gmail_labels.as_deref()
    }

    /// The flags reported by the server (empty when not fetched).
    pub fn flags(&self) -> &[Flag] {
        &self.meta.flags
    }

    /// Whether the server reported the `\Seen` flag.
    pub fn is_seen(&self) -> bool {
        self.meta.flags.contains(&Flag::Seen)
    }

    /// Whether the server reported the `\Flagged` flag (starred).
    pub fn is_flagged(&self) -> bool {
        self.meta.flags.contains(&Flag::Flagged)
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

    /// Gives the raw bytes back, dropping whatever was parsed. Without a copy, unless a
    /// clone of the message or one of its [`Part`]s / [`Attachment`]s is still alive
    /// elsewhere (they share the bytes).
    pub fn into_raw(self) -> Vec<u8> {
        let Message { raw, mime, .. } = self;
        drop(mime);
        Arc::try_unwrap(raw).unwrap_or_else(|shared| shared.as_ref().clone())
    }

    /// The decoded value of the first header named `name` (case-insensitive), with folded
    /// lines unfolded and RFC 2047 encoded words decoded. Decoded once, on first use; later
    /// calls copy the decoded value. Only the first [`MAX_HEADER_FIELDS`](Self::MAX_HEADER_FIELDS)
    /// fields are searched.
    ///
    /// Without raw bytes, the envelope's fields answer, an address field written out
    /// (`Name <box@host>, …`).
    pub fn header(&self, name: &str) -> Option<String> {
        if let Some(envelope) = self.envelope_only() {
            return envelope.value(name);
        }
        self.header_index()
            .first_value(&self.raw, name)
            .map(str::to_string)
    }

    /// The decoded values of every header named `name` (case-insensitive), in message order
    /// (among the first [`MAX_HEADER_FIELDS`](Self::MAX_HEADER_FIELDS) fields).
    pub fn headers(&self, name: &str) -> Vec<String> {
        if let Some(envelope) = self.envelope_only() {
            return envelope.value(name).into_iter().collect();
        }
        self.header_index()
            .named(&self.raw, name)
            .map(|f| f.value(&self.raw).to_string())
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
        if let Some(envelope) = self.envelope_only() {
            return parse_date(&envelope.value("Date")?);
        }
        parse_date(self.header_index().first_value(&self.raw, "Date")?)
    }

    /// The `Date` header as written.
    pub fn date_header(&self) -> Option<String> {
        self.header("Date")
    }

    /// The `Message-ID`, without angle brackets.
    pub fn message_id(&self) -> Option<String> {
        message_ids(&self.header("Message-ID")?).into_iter().next()
    }

    /// The ids in `In-Reply-To`, without angle brackets.
    pub fn in_reply_to(&self) -> Vec<String> {
        self.header("In-Reply-To")
            .map(|value| message_ids(&value))
            .unwrap_or_default()
    }

    /// The ids in `References`, oldest first, without angle brackets.
    pub fn references(&self) -> Vec<String> {
        if self.envelope_only().is_some() {
            // An envelope has no `References`.
            return Vec::new();
        }
        self.header_index()
            .named(&self.raw, "References")
            .flat_map(|f| message_ids(f.value(&self.raw)))
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

    /// Every leaf part that is not the chosen text or HTML body, in message order. Each is
    /// the [`Part`] of [`parts`](Self::parts) itself, shared, not a copy.
    ///
    /// See the [module documentation](self) for the rule.
    pub fn attachments(&self) -> &[Attachment] {
        &self.mime().attachments
    }

    /// Every leaf part of the MIME tree that could be decoded, depth first, with its IMAP
    /// part number (`"1"`, `"2.1"`, …). A message that is not multipart has one part, `"1"`,
    /// unless its body is empty. At most [`MAX_PARTS`](Self::MAX_PARTS).
    pub fn parts(&self) -> &[Part] {
        &self.mime().parts
    }

    /// The problems met while parsing: parts that could not be decoded (and are therefore
    /// missing from [`parts`](Self::parts)), unknown charsets, missing boundaries, header
    /// lines that are not headers, and each cap (`MAX_*`) that was hit. Empty for a
    /// well-formed message.
    pub fn mime_errors(&self) -> &[MimeError] {
        &self.mime().errors
    }

    fn header_index(&self) -> &HeaderIndex {
        self.header_index
            .get_or_init(|| Arc::new(HeaderIndex::build(&self.raw, 0)))
    }

    fn mime(&self) -> &Mime {
        self.mime
            .get_or_init(|| Arc::new(Mime::build(&self.raw, self.header_index())))
    }

    fn addresses(&self, name: &str) -> Vec<Address> {
        if let Some(envelope) = self.envelope_only() {
            return envelope.addresses(name).to_vec();
        }
        self.header_index()
            .named(&self.raw, name)
            .flat_map(|f| parse_addresses(&f.raw_value(&self.raw)))
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

/// Runs `f`, turning a panic inside it (mailparse is treated as untrusted) into an error.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        format!("the MIME parser failed internally ({})", shown(&what))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_only_messages_answer_from_the_envelope() {
        let envelope = Envelope {
            subject: Some(b"Quarterly report".to_vec()),
            message_id: Some(b"<q1@example.org>".to_vec()),
            from: vec![Address::new(Some("Alice".into()), "alice@example.org")],
            ..Envelope::default()
        };
        let meta = MessageMeta {
            envelope: Some(Box::new(envelope)),
            ..MessageMeta::default()
        };
        let m = Message::with_meta(Vec::new(), meta);
        let copy = m.clone();
        assert_eq!(m.subject().as_deref(), Some("Quarterly report"));
        assert_eq!(m.message_id().as_deref(), Some("q1@example.org"));
        assert_eq!(m.from()[0].name(), Some("Alice"));
        assert_eq!(copy.subject().as_deref(), Some("Quarterly report"));
        assert_eq!(
            m.header("from").as_deref(),
            Some("Alice <alice@example.org>")
        );
        assert_eq!(m.headers("Subject"), ["Quarterly report"]);
        assert!(m.header("Date").is_none() && m.references().is_empty());
        assert!(m.header_index.get().is_none(), "no header block is made");
        // Raw bytes win over the envelope.
        let raw = Message::with_meta(b"Subject: raw\r\n\r\n".to_vec(), m.meta().clone());
        assert_eq!(raw.subject().as_deref(), Some("raw"));
        assert!(raw.from().is_empty());
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

    #[test]
    fn into_raw_does_not_copy_when_nothing_else_holds_the_bytes() {
        let raw = b"Subject: s\r\n\r\nbody".to_vec();
        let ptr = raw.as_ptr();
        let m = Message::from_bytes(raw);
        assert_eq!(m.parts().len(), 1, "parts share the bytes");
        let back = m.into_raw();
        assert_eq!(back.as_ptr(), ptr);
        let m = Message::from_bytes(b"Subject: s\r\n\r\nbody".to_vec());
        let part = m.parts()[0].clone();
        let back = m.into_raw();
        assert_eq!(back, b"Subject: s\r\n\r\nbody");
        assert_eq!(part.data(), b"body", "a part outlives its message");
    }
}
