//! The MIME structure of a message as its server described it, without its bytes.

use super::Envelope;

/// The MIME structure of a message as its server parsed it (IMAP's `BODYSTRUCTURE` /
/// `BODY`): what the parts are and how large, before any of them is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyStructure {
    /// A leaf part.
    Single {
        /// The MIME type (`text`), lower-cased.
        media_type: String,
        /// The subtype (`plain`), lower-cased.
        subtype: String,
        /// The content-type parameters.
        params: Vec<(String, String)>,
        /// `Content-ID`.
        id: Option<String>,
        /// `Content-Description`.
        description: Option<String>,
        /// `Content-Transfer-Encoding`, as sent.
        encoding: String,
        /// Size in octets (of the encoded body).
        size: u64,
        /// Line count for `text/*` and `message/rfc822`; `None` when absent or negative.
        lines: Option<u32>,
        /// The envelope of an embedded `message/rfc822`.
        envelope: Option<Box<Envelope>>,
        /// The structure of an embedded `message/rfc822`.
        body: Option<Box<BodyStructure>>,
        /// Extension data (empty for `BODY`).
        extension: BodyExtension,
    },
    /// A `multipart/*` part.
    Multipart {
        /// The parts, in order.
        parts: Vec<BodyStructure>,
        /// The subtype (`mixed`, `alternative`), lower-cased.
        subtype: String,
        /// The content-type parameters (extension data).
        params: Vec<(String, String)>,
        /// Further extension data.
        extension: BodyExtension,
    },
}

/// The extension data of a body part (IMAP's `BODYSTRUCTURE` only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BodyExtension {
    /// `body-fld-md5` (single parts only).
    pub md5: Option<String>,
    /// The disposition (`attachment`, `inline`) and its parameters.
    pub disposition: Option<(String, Vec<(String, String)>)>,
    /// The languages.
    pub language: Vec<String>,
    /// The content location.
    pub location: Option<String>,
    /// Any further extension data, raw bytes as sent.
    pub extra: Vec<u8>,
}
