//! What a client asks of `FETCH`: [`FetchAttr`], the body [`Section`] and [`Partial`]
//! range, and the FETCH command's arguments (CHANGEDSINCE / VANISHED).

use super::modseq::check_modseq;
use crate::error::{Error, Result};
use crate::imap::codec::writer::Writer;
use crate::imap::seqset::SequenceSet;

/// Which part of a message a `BODY[...]` / `BINARY[...]` item fetches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Section {
    /// The part path (`1.2` is `vec![1, 2]`); empty for the whole message.
    pub part: Vec<u32>,
    /// What of that part.
    pub text: SectionText,
}

/// The text specifier of a [`Section`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SectionText {
    /// The whole part (`BODY[]`, `BODY[1.2]`).
    #[default]
    Full,
    /// `HEADER`.
    Header,
    /// `HEADER.FIELDS (names)`.
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`.
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`.
    Text,
    /// `MIME` (only with a part path).
    Mime,
}

impl Section {
    /// The whole message.
    pub fn full() -> Section {
        Section::default()
    }

    /// The message header.
    pub fn header() -> Section {
        Section {
            part: Vec::new(),
            text: SectionText::Header,
        }
    }

    /// The named header fields.
    pub fn header_fields<I, S>(names: I) -> Section
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Section {
            part: Vec::new(),
            text: SectionText::HeaderFields(names.into_iter().map(Into::into).collect()),
        }
    }

    /// The message body without the header.
    pub fn text() -> Section {
        Section {
            part: Vec::new(),
            text: SectionText::Text,
        }
    }

    /// A MIME part by path (`[1, 2]` for `1.2`).
    pub fn part(path: impl Into<Vec<u32>>) -> Section {
        Section {
            part: path.into(),
            text: SectionText::Full,
        }
    }
}

/// A byte range `<offset.count>` of a fetched section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// The first byte.
    pub offset: u32,
    /// How many bytes (at least 1).
    pub count: u32,
}

/// An attribute a client asks of `FETCH`; the server answers each with a
/// [`FetchData`](crate::imap::types::FetchData).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchAttr {
    /// `UID`.
    Uid,
    /// `FLAGS`.
    Flags,
    /// `INTERNALDATE`.
    InternalDate,
    /// `RFC822.SIZE`.
    Rfc822Size,
    /// `ENVELOPE`.
    Envelope,
    /// `BODYSTRUCTURE`.
    BodyStructure,
    /// `BODY` (the non-extensible structure).
    BodyStructureBasic,
    /// `BODY[section]<partial>`, or `BODY.PEEK[...]` when `peek` (which leaves `\Seen`
    /// alone: what reading mail should use).
    Body {
        /// Which section.
        section: Section,
        /// An optional byte range.
        partial: Option<Partial>,
        /// `BODY.PEEK` instead of `BODY`.
        peek: bool,
    },
    /// `BINARY[part]<partial>` / `BINARY.PEEK[...]` (RFC 3516): the part with its
    /// content-transfer-encoding removed.
    Binary {
        /// The part path (empty for the whole message).
        part: Vec<u32>,
        /// An optional byte range.
        partial: Option<Partial>,
        /// `BINARY.PEEK` instead of `BINARY`.
        peek: bool,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize {
        /// The part path.
        part: Vec<u32>,
    },
    /// `MODSEQ` (CONDSTORE).
    ModSeq,
    /// `PREVIEW` (RFC 8970): a short plain-text preview of the message.
    Preview,
    /// `EMAILID` (OBJECTID, RFC 8474): the message's permanent id.
    EmailId,
    /// `THREADID` (OBJECTID, RFC 8474): the id of the message's thread.
    ThreadId,
    /// `X-GM-MSGID` (Gmail).
    GmailMessageId,
    /// `X-GM-THRID` (Gmail).
    GmailThreadId,
    /// `X-GM-LABELS` (Gmail).
    GmailLabels,
}

impl FetchAttr {
    /// `BODY.PEEK[section]`: fetch without setting `\Seen`.
    pub fn peek(section: Section) -> FetchAttr {
        FetchAttr::Body {
            section,
            partial: None,
            peek: true,
        }
    }

    /// `BODY.PEEK[]`: the whole raw message, without setting `\Seen`.
    pub fn full_message() -> FetchAttr {
        FetchAttr::peek(Section::full())
    }
}

/// `set (items) [(CHANGEDSINCE n [VANISHED])]`.
pub(super) fn fetch(
    w: &mut Writer<'_>,
    uid: bool,
    set: &SequenceSet,
    items: &[FetchAttr],
    changed_since: Option<u64>,
    vanished: bool,
) -> Result<()> {
    w.sp();
    w.set(set, "message set")?;
    if items.is_empty() {
        return Err(Error::invalid("FETCH", "no fetch item given"));
    }
    w.sp();
    w.parenthesized(items, fetch_attr)?;
    if vanished && !(uid && changed_since.is_some()) {
        return Err(Error::invalid(
            "FETCH",
            "VANISHED needs UID FETCH with CHANGEDSINCE",
        ));
    }
    if let Some(since) = changed_since {
        w.token(" (CHANGEDSINCE ");
        w.number(check_modseq(since, "CHANGEDSINCE")?);
        if vanished {
            w.token(" VANISHED");
        }
        w.token(")");
    }
    Ok(())
}

/// `1.2`: a part path, every number at least 1.
fn part_path(w: &mut Writer<'_>, part: &[u32]) -> Result<()> {
    for (i, p) in part.iter().enumerate() {
        if *p == 0 {
            return Err(Error::invalid("section", "part numbers start at 1"));
        }
        if i > 0 {
            w.token(".");
        }
        w.number(u64::from(*p));
    }
    Ok(())
}

/// `<offset.count>`, when asked for.
fn partial(w: &mut Writer<'_>, partial: Option<&Partial>) -> Result<()> {
    if let Some(p) = partial {
        if p.count == 0 {
            return Err(Error::invalid(
                "partial fetch",
                "the byte count must be at least 1",
            ));
        }
        w.token(&format!("<{}.{}>", p.offset, p.count));
    }
    Ok(())
}

/// One attribute as its FETCH syntax.
fn fetch_attr(w: &mut Writer<'_>, item: &FetchAttr) -> Result<()> {
    match item {
        FetchAttr::Uid => w.token("UID"),
        FetchAttr::Flags => w.token("FLAGS"),
        FetchAttr::InternalDate => w.token("INTERNALDATE"),
        FetchAttr::Rfc822Size => w.token("RFC822.SIZE"),
        FetchAttr::Envelope => w.token("ENVELOPE"),
        FetchAttr::BodyStructure => w.token("BODYSTRUCTURE"),
        FetchAttr::BodyStructureBasic => w.token("BODY"),
        FetchAttr::ModSeq => w.token("MODSEQ"),
        FetchAttr::Preview => w.token("PREVIEW"),
        FetchAttr::EmailId => w.token("EMAILID"),
        FetchAttr::ThreadId => w.token("THREADID"),
        FetchAttr::GmailMessageId => w.token("X-GM-MSGID"),
        FetchAttr::GmailThreadId => w.token("X-GM-THRID"),
        FetchAttr::GmailLabels => w.token("X-GM-LABELS"),
        FetchAttr::Body {
            section,
            partial: range,
            peek,
        } => {
            w.token(if *peek { "BODY.PEEK[" } else { "BODY[" });
            part_path(w, &section.part)?;
            let has_part = !section.part.is_empty();
            let dot = if has_part { "." } else { "" };
            match &section.text {
                SectionText::Full => {}
                SectionText::Header => w.token(&format!("{dot}HEADER")),
                SectionText::Text => w.token(&format!("{dot}TEXT")),
                SectionText::Mime => {
                    if !has_part {
                        return Err(Error::invalid("section", "MIME needs a part number"));
                    }
                    w.token(".MIME");
                }
                SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names) => {
                    let not = matches!(section.text, SectionText::HeaderFieldsNot(_));
                    w.token(&format!(
                        "{dot}HEADER.FIELDS{} (",
                        if not { ".NOT" } else { "" }
                    ));
                    if names.is_empty() {
                        return Err(Error::invalid("section", "no header field name given"));
                    }
                    w.spaced(names, |w, name| {
                        w.astring(name.as_bytes(), "header field name")
                    })?;
                    w.token(")");
                }
            }
            w.token("]");
            partial(w, range.as_ref())?;
        }
        FetchAttr::Binary {
            part,
            partial: range,
            peek,
        } => {
            w.token(if *peek { "BINARY.PEEK[" } else { "BINARY[" });
            part_path(w, part)?;
            w.token("]");
            partial(w, range.as_ref())?;
        }
        FetchAttr::BinarySize { part } => {
            w.token("BINARY.SIZE[");
            part_path(w, part)?;
            w.token("]");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::enc;
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::EncodeOptions;

    #[test]
    fn fetch_attrs_and_modifiers() {
        let fetch = Command::Fetch {
            uid: true,
            set: [1, 2, 3, 7].into_iter().collect(),
            items: vec![
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::Body {
                    section: Section {
                        part: vec![1, 2],
                        text: SectionText::HeaderFields(vec!["From".into(), "X Odd".into()]),
                    },
                    partial: Some(Partial {
                        offset: 0,
                        count: 100,
                    }),
                    peek: true,
                },
                FetchAttr::Binary {
                    part: vec![2],
                    partial: None,
                    peek: true,
                },
                FetchAttr::full_message(),
                FetchAttr::ModSeq,
                FetchAttr::EmailId,
                FetchAttr::ThreadId,
                FetchAttr::GmailMessageId,
                FetchAttr::GmailThreadId,
                FetchAttr::GmailLabels,
            ],
            changed_since: Some(12345),
            vanished: true,
        };
        assert_eq!(
            enc(&fetch),
            "A1 UID FETCH 1:3,7 (UID FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From \"X Odd\")]<0.100> \
             BINARY.PEEK[2] BODY.PEEK[] MODSEQ EMAILID THREADID X-GM-MSGID X-GM-THRID X-GM-LABELS) \
             (CHANGEDSINCE 12345 VANISHED)\r\n"
        );
        let bad = Command::Fetch {
            uid: false,
            set: SequenceSet::single(1),
            items: vec![FetchAttr::Uid],
            changed_since: Some(1),
            vanished: true,
        };
        assert!(bad.encode("A1", &EncodeOptions::new()).is_err());
        let empty_set = Command::uid_fetch(SequenceSet::new(), [FetchAttr::Uid]);
        assert!(empty_set.encode("A1", &EncodeOptions::new()).is_err());
        let mime_without_part = Command::uid_fetch(
            SequenceSet::single(1),
            [FetchAttr::peek(Section {
                part: vec![],
                text: SectionText::Mime,
            })],
        );
        assert!(
            mime_without_part
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
    }
}
