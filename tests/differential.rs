//! Differential test: on valid responses, mailwire's `parse_response` agrees with imap-codec's
//! `ResponseCodec` on every field both model.
//!
//! Inputs: a proptest strategy that builds valid RFC 3501 responses (status responses with
//! codes, CAPABILITY, LIST/LSUB, STATUS, SEARCH, FLAGS, EXISTS/RECENT/EXPUNGE, FETCH with
//! UID/FLAGS/RFC822.SIZE/INTERNALDATE/ENVELOPE/BODY[] literals, ENABLED, QUOTA, QUOTAROOT,
//! continuations), plus every response of `tests/transcripts/*.bin` framed by mailwire's
//! `Framer`. Both results are mapped to a small common form (strings) and compared; what one
//! side does not model is skipped and counted. Generated inputs are valid by construction, so
//! a rejection by either side fails the test; for the recorded transcripts (real servers with
//! their quirks, which mailwire tolerates on purpose) a rejection by imap-codec is counted.

use std::collections::BTreeMap;

use imap_codec::ResponseCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::body::BodyStructure as CBody;
use imap_codec::imap_types::core::{AString, IString, NString};
use imap_codec::imap_types::envelope::{Address as CAddress, Envelope as CEnvelope};
use imap_codec::imap_types::fetch::{MessageDataItem, Section};
use imap_codec::imap_types::flag::{FlagFetch, FlagPerm};
use imap_codec::imap_types::mailbox::Mailbox as CMailbox;
use imap_codec::imap_types::response::{
    Code, CommandContinuationRequest, Data, Response as CResponse, Status as CStatus,
};
use imap_codec::imap_types::status::StatusDataItem;
use mailwire::config::Limits;
use mailwire::imap::codec::frame::{FrameEvent, Framer};
use mailwire::imap::codec::parse::parse_response;
use mailwire::imap::types::{
    BodyStructure, Envelope, EnvelopeAddress, FetchData, Flag, Response, ResponseCode, Status,
    StatusData, Untagged,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};

/// How many generated responses are checked.
const CASES: u32 = 10_000;

// ---------------------------------------------------------------------------------------
// The common comparison form
// ---------------------------------------------------------------------------------------

/// A response reduced to what both parsers model: its kind and a list of fields, each
/// rendered as a string; `None` for a field one side does not model (skipped).
#[derive(Debug, PartialEq, Eq)]
struct Norm {
    kind: String,
    fields: Vec<(String, Option<String>)>,
}

impl Norm {
    fn new(kind: &str) -> Norm {
        Norm {
            kind: kind.to_string(),
            fields: Vec::new(),
        }
    }
    fn push(&mut self, name: &str, value: impl Into<String>) {
        self.fields.push((name.to_string(), Some(value.into())));
    }
    fn skip(&mut self, name: &str) {
        self.fields.push((name.to_string(), None));
    }
}

fn bytes(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

fn opt_bytes(b: Option<&[u8]>) -> String {
    b.map(bytes).unwrap_or_else(|| "NIL".into())
}

fn mailbox_name(raw: &[u8]) -> String {
    // INBOX is case-insensitive (RFC 3501 5.1); imap-codec normalizes it, mailwire keeps bytes.
    if raw.eq_ignore_ascii_case(b"INBOX") {
        "INBOX".into()
    } else {
        bytes(raw)
    }
}

/// Flags as lower-case strings in the order sent.
fn our_flags(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| {
            match f {
                Flag::Seen => "\\seen".to_string(),
                Flag::Answered => "\\answered".into(),
                Flag::Flagged => "\\flagged".into(),
                Flag::Deleted => "\\deleted".into(),
                Flag::Draft => "\\draft".into(),
                Flag::Recent => "\\recent".into(),
                Flag::MayCreate => "\\*".into(),
                Flag::Extension(e) => format!("\\{e}"),
                Flag::Keyword(k) => k.clone(),
                other => format!("{other:?}"),
            }
            .to_ascii_lowercase()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn their_flags<T: std::fmt::Display>(flags: impl IntoIterator<Item = T>) -> String {
    flags
        .into_iter()
        .map(|f| f.to_string().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn flag_fetch(f: &FlagFetch) -> String {
    match f {
        FlagFetch::Flag(f) => f.to_string(),
        FlagFetch::Recent => "\\Recent".into(),
    }
}

fn flag_perm(f: &FlagPerm) -> String {
    match f {
        FlagPerm::Flag(f) => f.to_string(),
        FlagPerm::Asterisk => "\\*".into(),
    }
}

fn istring(s: &IString) -> Vec<u8> {
    s.as_ref().to_vec()
}

fn nstring(s: &NString) -> Option<Vec<u8>> {
    s.0.as_ref().map(istring)
}

fn astring(s: &AString) -> Vec<u8> {
    s.as_ref().to_vec()
}

fn their_mailbox(m: &CMailbox) -> String {
    match m {
        CMailbox::Inbox => "INBOX".into(),
        CMailbox::Other(o) => mailbox_name(o.as_ref()),
    }
}

// ---- response codes ----

fn our_code(code: &Option<ResponseCode>) -> Option<String> {
    Some(match code {
        None => "-".into(),
        Some(ResponseCode::Alert) => "ALERT".into(),
        Some(ResponseCode::Parse) => "PARSE".into(),
        Some(ResponseCode::ReadOnly) => "READ-ONLY".into(),
        Some(ResponseCode::ReadWrite) => "READ-WRITE".into(),
        Some(ResponseCode::TryCreate) => "TRYCREATE".into(),
        Some(ResponseCode::UidNext(n)) => format!("UIDNEXT {n}"),
        Some(ResponseCode::UidValidity(n)) => format!("UIDVALIDITY {n}"),
        Some(ResponseCode::Unseen(n)) => format!("UNSEEN {n}"),
        Some(ResponseCode::Capability(c)) => format!("CAPABILITY {}", caps(c)),
        Some(ResponseCode::PermanentFlags(f)) => format!("PERMANENTFLAGS ({})", our_flags(f)),
        Some(ResponseCode::Other { name, value }) => match value {
            Some(v) => format!("{} {}", name.to_ascii_uppercase(), v),
            None => name.to_ascii_uppercase(),
        },
        // Typed by mailwire only (UIDPLUS, CONDSTORE, QRESYNC): imap-codec 1.0 keeps them raw.
        Some(_) => return None,
    })
}

fn their_code(code: Option<&Code>) -> Option<String> {
    Some(match code {
        None => "-".into(),
        Some(Code::Alert) => "ALERT".into(),
        Some(Code::Parse) => "PARSE".into(),
        Some(Code::ReadOnly) => "READ-ONLY".into(),
        Some(Code::ReadWrite) => "READ-WRITE".into(),
        Some(Code::TryCreate) => "TRYCREATE".into(),
        Some(Code::UidNext(n)) => format!("UIDNEXT {n}"),
        Some(Code::UidValidity(n)) => format!("UIDVALIDITY {n}"),
        Some(Code::Unseen(n)) => format!("UNSEEN {n}"),
        Some(Code::Capability(c)) => format!(
            "CAPABILITY {}",
            c.as_ref()
                .iter()
                .map(|c| c.to_string().to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Some(Code::PermanentFlags(f)) => {
            format!("PERMANENTFLAGS ({})", their_flags(f.iter().map(flag_perm)))
        }
        Some(Code::Other(o)) => {
            let raw = String::from_utf8_lossy(o.inner()).to_string();
            match raw.split_once(' ') {
                Some((name, value)) => format!("{} {}", name.to_ascii_uppercase(), value),
                None => raw.to_ascii_uppercase(),
            }
        }
        Some(_) => return None,
    })
}

fn caps(c: &[String]) -> String {
    c.iter()
        .map(|c| c.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "OK",
        Status::No => "NO",
        Status::Bad => "BAD",
        Status::Bye => "BYE",
        Status::PreAuth => "PREAUTH",
        _ => "?",
    }
}

fn push_code(n: &mut Norm, code: Option<String>) {
    match code {
        Some(c) => n.push("code", c),
        None => n.skip("code"),
    }
}

// ---- envelope ----

fn our_addrs(a: &[EnvelopeAddress]) -> String {
    a.iter()
        .map(|a| {
            format!(
                "({} {} {} {})",
                opt_bytes(a.name.as_deref()),
                opt_bytes(a.adl.as_deref()),
                opt_bytes(a.mailbox.as_deref()),
                opt_bytes(a.host.as_deref())
            )
        })
        .collect()
}

fn their_addrs(a: &[CAddress]) -> String {
    a.iter()
        .map(|a| {
            format!(
                "({} {} {} {})",
                opt_bytes(nstring(&a.name).as_deref()),
                opt_bytes(nstring(&a.adl).as_deref()),
                opt_bytes(nstring(&a.mailbox).as_deref()),
                opt_bytes(nstring(&a.host).as_deref())
            )
        })
        .collect()
}

fn our_envelope(e: &Envelope) -> String {
    format!(
        "{} {} F{} S{} R{} T{} C{} B{} {} {}",
        opt_bytes(e.date.as_deref()),
        opt_bytes(e.subject.as_deref()),
        our_addrs(&e.from),
        our_addrs(&e.sender),
        our_addrs(&e.reply_to),
        our_addrs(&e.to),
        our_addrs(&e.cc),
        our_addrs(&e.bcc),
        opt_bytes(e.in_reply_to.as_deref()),
        opt_bytes(e.message_id.as_deref()),
    )
}

fn their_envelope(e: &CEnvelope) -> String {
    format!(
        "{} {} F{} S{} R{} T{} C{} B{} {} {}",
        opt_bytes(nstring(&e.date).as_deref()),
        opt_bytes(nstring(&e.subject).as_deref()),
        their_addrs(&e.from),
        their_addrs(&e.sender),
        their_addrs(&e.reply_to),
        their_addrs(&e.to),
        their_addrs(&e.cc),
        their_addrs(&e.bcc),
        opt_bytes(nstring(&e.in_reply_to).as_deref()),
        opt_bytes(nstring(&e.message_id).as_deref()),
    )
}

// ---- body structure (the MIME tree: types, subtypes and sizes of the leaves) ----

fn our_body(b: &BodyStructure) -> String {
    match b {
        BodyStructure::Single {
            media_type,
            subtype,
            size,
            ..
        } => format!(
            "{}/{}:{}",
            media_type.to_ascii_lowercase(),
            subtype.to_ascii_lowercase(),
            size
        ),
        BodyStructure::Multipart { parts, subtype, .. } => format!(
            "({} {})",
            parts.iter().map(our_body).collect::<Vec<_>>().join(" "),
            subtype.to_ascii_lowercase()
        ),
        other => format!("{other:?}"),
    }
}

fn their_body(b: &CBody) -> String {
    match b {
        CBody::Single { body, .. } => format!(
            "{}/{}:{}",
            String::from_utf8_lossy(&basic_type(body).0).to_ascii_lowercase(),
            String::from_utf8_lossy(&basic_type(body).1).to_ascii_lowercase(),
            body.basic.size
        ),
        CBody::Multi {
            bodies, subtype, ..
        } => format!(
            "({} {})",
            bodies
                .as_ref()
                .iter()
                .map(their_body)
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&istring(subtype)).to_ascii_lowercase()
        ),
    }
}

fn basic_type(body: &imap_codec::imap_types::body::Body) -> (Vec<u8>, Vec<u8>) {
    use imap_codec::imap_types::body::SpecificFields;
    match &body.specific {
        SpecificFields::Basic { r#type, subtype } => (istring(r#type), istring(subtype)),
        SpecificFields::Message { .. } => (b"message".to_vec(), b"rfc822".to_vec()),
        SpecificFields::Text { subtype, .. } => (b"text".to_vec(), istring(subtype)),
    }
}

// ---- dates ----

/// `d-Mon-yyyy hh:mm:ss +zzzz` (day with a leading space or one digit) to a fixed form.
fn our_date(s: &str) -> String {
    let s = s.trim_start();
    let s = match s.split_once('-') {
        Some((day, rest)) if day.len() == 1 => format!("0{day}-{rest}"),
        _ => s.to_string(),
    };
    // -0000 and +0000 are the same zone; chrono prints +0000.
    match s.strip_suffix("-0000") {
        Some(head) => format!("{head}+0000"),
        None => s,
    }
}

// ---- sections ----

fn part(p: &imap_codec::imap_types::fetch::Part) -> String {
    p.0.as_ref()
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

fn with_part(p: &Option<imap_codec::imap_types::fetch::Part>, what: &str) -> String {
    match p {
        Some(p) => format!("{}.{what}", part(p)),
        None => what.to_string(),
    }
}

fn their_section(s: &Option<Section>) -> String {
    let fields = |l: &[AString]| {
        l.iter()
            .map(|a| String::from_utf8_lossy(&astring(a)).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match s {
        None => String::new(),
        Some(Section::Part(p)) => part(p),
        Some(Section::Header(p)) => with_part(p, "HEADER"),
        Some(Section::HeaderFields(p, l)) => {
            with_part(p, &format!("HEADER.FIELDS ({})", fields(l.as_ref())))
        }
        Some(Section::HeaderFieldsNot(p, l)) => {
            with_part(p, &format!("HEADER.FIELDS.NOT ({})", fields(l.as_ref())))
        }
        Some(Section::Text(p)) => with_part(p, "TEXT"),
        Some(Section::Mime(p)) => format!("{}.MIME", part(p)),
    }
    .to_ascii_uppercase()
}

// ---- the two mappings ----

fn ours(r: &Response) -> Norm {
    match r {
        Response::Tagged {
            tag,
            status,
            code,
            text,
        } => {
            let mut n = Norm::new(&format!("tagged {}", status_word(*status)));
            n.push("tag", tag.clone());
            push_code(&mut n, our_code(code));
            n.push("text", text.trim());
            n
        }
        Response::Continuation(c) => {
            let mut n = Norm::new("continuation");
            push_code(&mut n, our_code(&c.code));
            n.push("text", c.text.trim());
            n
        }
        Response::Untagged(u) => ours_untagged(u),
        other => Norm::new(&format!("unknown {other:?}")),
    }
}

fn ours_untagged(u: &Untagged) -> Norm {
    match u {
        Untagged::Condition { status, code, text } => {
            let mut n = Norm::new(&format!("untagged {}", status_word(*status)));
            push_code(&mut n, our_code(code));
            n.push("text", text.trim());
            n
        }
        Untagged::Capability(c) => {
            let mut n = Norm::new("CAPABILITY");
            n.push("caps", caps(c));
            n
        }
        Untagged::List(l) | Untagged::Lsub(l) => {
            let mut n = Norm::new(if matches!(u, Untagged::List(_)) {
                "LIST"
            } else {
                "LSUB"
            });
            let attrs: Vec<String> = l
                .attributes
                .iter()
                .map(|a| attribute_name(a).to_ascii_lowercase())
                .collect();
            n.push("attributes", attrs.join(" "));
            n.push("delimiter", format!("{:?}", l.delimiter));
            n.push("name", mailbox_name(&l.name));
            n
        }
        Untagged::MailboxStatus { mailbox, items } => {
            let mut n = Norm::new("STATUS");
            n.push("mailbox", mailbox_name(mailbox));
            for item in items {
                match item {
                    StatusData::Messages(v) => n.push("MESSAGES", v.to_string()),
                    StatusData::Recent(v) => n.push("RECENT", v.to_string()),
                    StatusData::UidNext(v) => n.push("UIDNEXT", v.to_string()),
                    StatusData::UidValidity(v) => n.push("UIDVALIDITY", v.to_string()),
                    StatusData::Unseen(v) => n.push("UNSEEN", v.to_string()),
                    StatusData::Deleted(v) => n.push("DELETED", v.to_string()),
                    _ => n.skip("status item"),
                }
            }
            n
        }
        Untagged::Search { ids, modseq } => {
            let mut n = Norm::new("SEARCH");
            n.push("ids", format!("{ids:?}"));
            if modseq.is_some() {
                n.skip("modseq");
            }
            n
        }
        Untagged::Flags(f) => {
            let mut n = Norm::new("FLAGS");
            n.push("flags", our_flags(f));
            n
        }
        Untagged::Exists(v) => {
            let mut n = Norm::new("EXISTS");
            n.push("n", v.to_string());
            n
        }
        Untagged::Recent(v) => {
            let mut n = Norm::new("RECENT");
            n.push("n", v.to_string());
            n
        }
        Untagged::Expunge(v) => {
            let mut n = Norm::new("EXPUNGE");
            n.push("n", v.to_string());
            n
        }
        Untagged::Fetch { seq, items } => {
            let mut n = Norm::new("FETCH");
            n.push("seq", seq.to_string());
            for item in items {
                match item {
                    FetchData::Uid(v) => n.push("UID", v.to_string()),
                    FetchData::Flags(f) => n.push("FLAGS", our_flags(f)),
                    FetchData::Rfc822Size(v) => n.push("RFC822.SIZE", v.to_string()),
                    FetchData::InternalDate(d) => n.push("INTERNALDATE", our_date(d)),
                    FetchData::Envelope(e) => n.push("ENVELOPE", our_envelope(e)),
                    FetchData::Body(b) => n.push("BODY", our_body(b)),
                    FetchData::BodyStructure(b) => n.push("BODYSTRUCTURE", our_body(b)),
                    FetchData::BodySection {
                        section,
                        origin,
                        data,
                    } => n.push(
                        &format!("BODY[{}]<{origin:?}>", section.to_ascii_uppercase()),
                        opt_bytes(data.as_deref()),
                    ),
                    FetchData::Rfc822(d) => n.push("RFC822", opt_bytes(d.as_deref())),
                    FetchData::Rfc822Header(d) => n.push("RFC822.HEADER", opt_bytes(d.as_deref())),
                    FetchData::Rfc822Text(d) => n.push("RFC822.TEXT", opt_bytes(d.as_deref())),
                    _ => n.skip("fetch item"),
                }
            }
            n
        }
        Untagged::Enabled(c) => {
            let mut n = Norm::new("ENABLED");
            n.push("caps", caps(c));
            n
        }
        Untagged::Quota { root, resources } => {
            let mut n = Norm::new("QUOTA");
            n.push("root", bytes(root));
            for r in resources {
                n.push(
                    "resource",
                    format!("{} {} {}", r.name.to_ascii_uppercase(), r.usage, r.limit),
                );
            }
            n
        }
        Untagged::QuotaRoot { mailbox, roots } => {
            let mut n = Norm::new("QUOTAROOT");
            n.push("mailbox", mailbox_name(mailbox));
            n.push(
                "roots",
                roots.iter().map(|r| bytes(r)).collect::<Vec<_>>().join(" "),
            );
            n
        }
        other => Norm::new(&format!("mailwire-only {}", variant_name(other))),
    }
}

fn attribute_name(a: &mailwire::imap::types::NameAttribute) -> String {
    use mailwire::imap::types::NameAttribute as A;
    match a {
        A::Other(s) => s.clone(),
        known => format!("\\{known:?}"),
    }
}

fn variant_name(u: &Untagged) -> String {
    format!("{u:?}")
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or("")
        .to_string()
}

/// imap-codec's default `quirk_missing_text` turns a missing text into `...`; mailwire keeps
/// it empty. That text is imap-codec's invention, so it is not compared.
fn push_text(n: &mut Norm, text: &str) {
    if text == "..." {
        n.skip("text (missing; imap-codec inserts ...)");
    } else {
        n.push("text", text.trim());
    }
}

fn theirs(r: &CResponse) -> Norm {
    match r {
        CResponse::Status(s) => {
            let (word, tag, code, text) = match s {
                CStatus::Ok { tag, code, text } => ("OK", tag.as_ref(), code.as_ref(), text),
                CStatus::No { tag, code, text } => ("NO", tag.as_ref(), code.as_ref(), text),
                CStatus::Bad { tag, code, text } => ("BAD", tag.as_ref(), code.as_ref(), text),
                CStatus::Bye { code, text } => ("BYE", None, code.as_ref(), text),
            };
            let mut n = match tag {
                Some(t) => {
                    let mut n = Norm::new(&format!("tagged {word}"));
                    n.push("tag", t.inner());
                    n
                }
                None => Norm::new(&format!("untagged {word}")),
            };
            push_code(&mut n, their_code(code));
            push_text(&mut n, text.inner());
            n
        }
        CResponse::CommandContinuationRequest(c) => {
            let mut n = Norm::new("continuation");
            match c {
                CommandContinuationRequest::Basic(b) => {
                    push_code(&mut n, their_code(b.code()));
                    n.push("text", b.text().inner().trim());
                }
                CommandContinuationRequest::Base64(_) => {
                    n.skip("code");
                    n.skip("text (imap-codec read it as base64)");
                }
            }
            n
        }
        CResponse::Data(d) => theirs_data(d),
    }
}

fn theirs_data(d: &Data) -> Norm {
    match d {
        Data::Capability(c) => {
            let mut n = Norm::new("CAPABILITY");
            n.push(
                "caps",
                c.as_ref()
                    .iter()
                    .map(|c| c.to_string().to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            n
        }
        Data::List {
            items,
            delimiter,
            mailbox,
        }
        | Data::Lsub {
            items,
            delimiter,
            mailbox,
        } => {
            let mut n = Norm::new(if matches!(d, Data::List { .. }) {
                "LIST"
            } else {
                "LSUB"
            });
            n.push("attributes", their_flags(items.iter()));
            n.push("delimiter", format!("{:?}", delimiter.map(|c| c.inner())));
            n.push("name", their_mailbox(mailbox));
            n
        }
        Data::Status { mailbox, items } => {
            let mut n = Norm::new("STATUS");
            n.push("mailbox", their_mailbox(mailbox));
            for item in items.iter() {
                match item {
                    StatusDataItem::Messages(v) => n.push("MESSAGES", v.to_string()),
                    StatusDataItem::Recent(v) => n.push("RECENT", v.to_string()),
                    StatusDataItem::UidNext(v) => n.push("UIDNEXT", v.to_string()),
                    StatusDataItem::UidValidity(v) => n.push("UIDVALIDITY", v.to_string()),
                    StatusDataItem::Unseen(v) => n.push("UNSEEN", v.to_string()),
                    StatusDataItem::Deleted(v) => n.push("DELETED", v.to_string()),
                    _ => n.skip("status item"),
                }
            }
            n
        }
        Data::Search(ids) => {
            let mut n = Norm::new("SEARCH");
            let ids: Vec<u32> = ids.iter().map(|i| i.get()).collect();
            n.push("ids", format!("{ids:?}"));
            n
        }
        Data::Flags(f) => {
            let mut n = Norm::new("FLAGS");
            n.push("flags", their_flags(f.iter()));
            n
        }
        Data::Exists(v) => {
            let mut n = Norm::new("EXISTS");
            n.push("n", v.to_string());
            n
        }
        Data::Recent(v) => {
            let mut n = Norm::new("RECENT");
            n.push("n", v.to_string());
            n
        }
        Data::Expunge(v) => {
            let mut n = Norm::new("EXPUNGE");
            n.push("n", v.to_string());
            n
        }
        Data::Fetch { seq, items } => {
            let mut n = Norm::new("FETCH");
            n.push("seq", seq.to_string());
            for item in items.as_ref() {
                match item {
                    MessageDataItem::Uid(v) => n.push("UID", v.to_string()),
                    MessageDataItem::Flags(f) => {
                        n.push("FLAGS", their_flags(f.iter().map(flag_fetch)))
                    }
                    MessageDataItem::Rfc822Size(v) => n.push("RFC822.SIZE", v.to_string()),
                    MessageDataItem::InternalDate(d) => n.push(
                        "INTERNALDATE",
                        d.as_ref().format("%d-%b-%Y %H:%M:%S %z").to_string(),
                    ),
                    MessageDataItem::Envelope(e) => n.push("ENVELOPE", their_envelope(e)),
                    MessageDataItem::Body(b) => n.push("BODY", their_body(b)),
                    MessageDataItem::BodyStructure(b) => n.push("BODYSTRUCTURE", their_body(b)),
                    MessageDataItem::BodyExt {
                        section,
                        origin,
                        data,
                    } => n.push(
                        &format!("BODY[{}]<{origin:?}>", their_section(section)),
                        opt_bytes(nstring(data).as_deref()),
                    ),
                    MessageDataItem::Rfc822(d) => {
                        n.push("RFC822", opt_bytes(nstring(d).as_deref()))
                    }
                    MessageDataItem::Rfc822Header(d) => {
                        n.push("RFC822.HEADER", opt_bytes(nstring(d).as_deref()))
                    }
                    MessageDataItem::Rfc822Text(d) => {
                        n.push("RFC822.TEXT", opt_bytes(nstring(d).as_deref()))
                    }
                }
            }
            n
        }
        Data::Enabled { capabilities } => {
            let mut n = Norm::new("ENABLED");
            n.push(
                "caps",
                capabilities
                    .iter()
                    .map(|c| c.to_string().to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            n
        }
        Data::Quota { root, quotas } => {
            let mut n = Norm::new("QUOTA");
            n.push("root", bytes(&astring(root)));
            for q in quotas.as_ref() {
                n.push(
                    "resource",
                    format!(
                        "{} {} {}",
                        q.resource.to_string().to_ascii_uppercase(),
                        q.usage,
                        q.limit
                    ),
                );
            }
            n
        }
        Data::QuotaRoot { mailbox, roots } => {
            let mut n = Norm::new("QUOTAROOT");
            n.push("mailbox", their_mailbox(mailbox));
            n.push(
                "roots",
                roots
                    .iter()
                    .map(|r| bytes(&astring(r)))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            n
        }
    }
}

// ---------------------------------------------------------------------------------------
// Comparison and counting
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    /// kind -> (compared, skipped)
    kinds: BTreeMap<String, (u64, u64)>,
    /// Fields compared / skipped over all responses.
    fields_compared: u64,
    fields_skipped: BTreeMap<String, u64>,
    /// Responses imap-codec rejected (transcripts only), with one example each kind.
    codec_rejected: BTreeMap<String, (u64, String)>,
}

impl Tally {
    fn skipped_kind(&mut self, kind: &str) {
        self.kinds.entry(kind.to_string()).or_default().1 += 1;
    }
}

/// Compares mailwire's and imap-codec's readings of one complete response.
/// `strict`: the input is valid by construction, so a rejection by either side fails.
fn compare(input: &[u8], strict: bool, tally: &mut Tally) -> Result<(), String> {
    let show = || String::from_utf8_lossy(input).to_string();
    let ours_r =
        parse_response(input).map_err(|e| format!("mailwire rejected {:?}: {e}", show()))?;
    let ours_n = ours(&ours_r);
    if ours_n.kind.starts_with("mailwire-only") || ours_n.kind == "untagged PREAUTH" {
        // ESEARCH, NAMESPACE, ID, VANISHED, PREAUTH (a greeting, not a response to
        // imap-codec), unknown responses: imap-codec 1.0 does not model them.
        tally.skipped_kind(&ours_n.kind);
        return Ok(());
    }
    let theirs_r = match ResponseCodec::default().decode(input) {
        Ok((&[], r)) => r,
        Ok((rest, _)) => {
            return Err(format!(
                "imap-codec left {:?} of {:?}",
                String::from_utf8_lossy(rest),
                show()
            ));
        }
        Err(e) if strict => return Err(format!("imap-codec rejected {:?}: {e:?}", show())),
        Err(_) => {
            let entry = tally
                .codec_rejected
                .entry(ours_n.kind.clone())
                .or_insert_with(|| (0, String::new()));
            entry.0 += 1;
            if std::env::var_os("DIFF_VERBOSE").is_some() {
                println!("  imap-codec rejected: {:?}", show());
            }
            tally.skipped_kind(&ours_n.kind);
            return Ok(());
        }
    };
    let theirs_n = theirs(&theirs_r);
    let fail = || {
        format!(
            "disagreement on {:?}\n  mailwire:   {ours_n:?}\n  imap-codec: {theirs_n:?}",
            show()
        )
    };
    if ours_n.kind != theirs_n.kind || ours_n.fields.len() != theirs_n.fields.len() {
        return Err(fail());
    }
    for ((name_a, a), (name_b, b)) in ours_n.fields.iter().zip(&theirs_n.fields) {
        match (a, b) {
            (Some(a), Some(b)) => {
                if name_a != name_b || a != b {
                    return Err(fail());
                }
                tally.fields_compared += 1;
            }
            _ => {
                let name = if a.is_none() { name_a } else { name_b };
                *tally
                    .fields_skipped
                    .entry(format!("{} {name}", ours_n.kind))
                    .or_default() += 1;
            }
        }
    }
    tally.kinds.entry(ours_n.kind.clone()).or_default().0 += 1;
    Ok(())
}

fn report(label: &str, tally: &Tally) {
    println!("== {label}: responses compared / skipped per kind");
    for (kind, (c, s)) in &tally.kinds {
        println!("  {kind:<20} compared {c:>6}  skipped {s:>4}");
    }
    println!("  fields compared: {}", tally.fields_compared);
    for (field, n) in &tally.fields_skipped {
        println!("  field skipped (one side does not model it): {field} x{n}");
    }
    for (kind, (n, _)) in &tally.codec_rejected {
        println!("  imap-codec rejected {n} {kind} response(s) (DIFF_VERBOSE=1 lists them)");
    }
}

// ---------------------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------------------

#[test]
fn transcripts_agree_with_imap_codec() {
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let mut total = 0;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let mut framer = Framer::new(Limits::default());
        framer.extend(&data);
        while let Some(event) = framer.next_frame().unwrap() {
            let FrameEvent::Response(frame) = event else {
                panic!("unexpected streaming event")
            };
            total += 1;
            if let Err(e) = compare(frame.bytes, false, &mut tally) {
                failures.push(format!("{}: {e}", file.display()));
            }
        }
    }
    report(&format!("transcripts ({total} responses)"), &tally);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let compared: u64 = tally.kinds.values().map(|(c, _)| c).sum();
    assert!(
        compared >= 50,
        "too few transcript responses compared: {compared}"
    );
}

// ---------------------------------------------------------------------------------------
// The generator of valid responses
// ---------------------------------------------------------------------------------------

fn nz() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..100, 1u32..=u32::MAX]
}

fn number() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..100, any::<u32>()]
}

/// A quoted string's content: TEXT-CHAR (7-bit, no CR/LF), `"` and `\` escaped on output.
fn quoted_content() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0x20u8..0x7f, 0..20)
}

fn quoted(content: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in content {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

fn literal(content: &[u8]) -> Vec<u8> {
    let mut out = format!("{{{}}}\r\n", content.len()).into_bytes();
    out.extend_from_slice(content);
    out
}

/// CHAR8 (no NUL) for literals.
fn literal_content() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..60)
}

/// An IMAP string (quoted or literal) and the bytes it stands for.
fn string() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop_oneof![
        3 => quoted_content().prop_map(|c| (quoted(&c), c)),
        1 => literal_content().prop_map(|c| (literal(&c), c)),
    ]
}

fn nstring_s() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(b"NIL".to_vec()),
        4 => string().prop_map(|(w, _)| w),
    ]
}

/// An astring usable as a mailbox name: atom, quoted, literal, or INBOX in any case.
fn astring_s() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => "[A-Za-z0-9_.&-]{1,12}".prop_map(String::into_bytes),
        1 => "(?i)inbox".prop_map(String::into_bytes),
        2 => string().prop_map(|(w, _)| w),
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 .,!:()-]{0,30}"
}

fn system_flag() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\\Seen".to_string()),
        Just("\\Answered".to_string()),
        Just("\\Flagged".to_string()),
        Just("\\Deleted".to_string()),
        Just("\\Draft".to_string()),
        Just("\\seen".to_string()),
    ]
}

fn flag() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => system_flag(),
        2 => "[A-Za-z$][A-Za-z0-9_$-]{0,10}",
        1 => "\\\\X[A-Za-z0-9]{0,6}",
    ]
}

fn flag_list(extra: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![8 => flag(), 1 => Just(extra.to_string())], 0..5)
        .prop_map(|v| format!("({})", v.join(" ")))
}

fn capability() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("IDLE".to_string()),
        Just("STARTTLS".to_string()),
        Just("LOGINDISABLED".to_string()),
        Just("LITERAL+".to_string()),
        Just("UIDPLUS".to_string()),
        Just("MOVE".to_string()),
        Just("ENABLE".to_string()),
        Just("QUOTA".to_string()),
        Just("SASL-IR".to_string()),
        Just("CONDSTORE".to_string()),
        "AUTH=[A-Z][A-Z0-9-]{0,10}",
        "X[A-Z0-9-]{1,10}",
    ]
}

fn capabilities() -> impl Strategy<Value = String> {
    proptest::collection::vec(capability(), 0..6).prop_map(|v| {
        std::iter::once("IMAP4rev1".to_string())
            .chain(v)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn resp_code() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[ALERT] ".to_string()),
        Just("[PARSE] ".to_string()),
        Just("[READ-ONLY] ".to_string()),
        Just("[READ-WRITE] ".to_string()),
        Just("[TRYCREATE] ".to_string()),
        nz().prop_map(|n| format!("[UIDNEXT {n}] ")),
        nz().prop_map(|n| format!("[UIDVALIDITY {n}] ")),
        nz().prop_map(|n| format!("[UNSEEN {n}] ")),
        capabilities().prop_map(|c| format!("[CAPABILITY {c}] ")),
        flag_list("\\*").prop_map(|f| format!("[PERMANENTFLAGS {f}] ")),
        (nz(), nz()).prop_map(|(v, u)| format!("[APPENDUID {v} {u}] ")),
        "X-[A-Z]{1,8}".prop_map(|c| format!("[{c}] ")),
        "X-[A-Z]{1,8} [a-z0-9]{1,8}".prop_map(|c| format!("[{c}] ")),
    ]
}

fn maybe_code() -> impl Strategy<Value = String> {
    prop_oneof![1 => Just(String::new()), 2 => resp_code()]
}

fn status_response() -> BoxedStrategy<Vec<u8>> {
    let tagged = (
        "[A-Za-z0-9.]{1,8}",
        prop_oneof![Just("OK"), Just("NO"), Just("BAD")],
        maybe_code(),
        text(),
    )
        .prop_map(|(tag, s, c, t)| format!("{tag} {s} {c}{t}\r\n").into_bytes());
    let untagged = (
        prop_oneof![Just("OK"), Just("NO"), Just("BAD"), Just("BYE")],
        maybe_code(),
        text(),
    )
        .prop_map(|(s, c, t)| format!("* {s} {c}{t}\r\n").into_bytes());
    let cont = (maybe_code(), "[A-Za-z]{1,8} [A-Za-z0-9 ]{1,20}")
        .prop_map(|(c, t)| format!("+ {c}{t}\r\n").into_bytes());
    prop_oneof![3 => tagged, 3 => untagged, 1 => cont].boxed()
}

fn list_response() -> BoxedStrategy<Vec<u8>> {
    let attr = prop_oneof![
        Just("\\Noselect"),
        Just("\\NoInferiors"),
        Just("\\Marked"),
        Just("\\Unmarked"),
        Just("\\HasChildren"),
        Just("\\HasNoChildren"),
        Just("\\Sent"),
        Just("\\Trash"),
        Just("\\Junk"),
        Just("\\Drafts"),
        Just("\\Archive"),
        Just("\\All"),
        Just("\\Flagged"),
        Just("\\noselect"),
    ];
    let delimiter = prop_oneof![
        Just("NIL".to_string()),
        Just("\"/\"".to_string()),
        Just("\".\"".to_string()),
        Just("\"\\\\\"".to_string()),
        Just("\"\\\"\"".to_string()),
    ];
    (
        prop_oneof![Just("LIST"), Just("LSUB")],
        proptest::collection::vec(attr, 0..4),
        delimiter,
        astring_s(),
    )
        .prop_map(|(kind, attrs, d, name)| {
            let mut out = format!("* {kind} ({}) {d} ", attrs.join(" ")).into_bytes();
            out.extend(name);
            out.extend(b"\r\n");
            out
        })
        .boxed()
}

fn status_data_response() -> BoxedStrategy<Vec<u8>> {
    let item = prop_oneof![
        number().prop_map(|n| format!("MESSAGES {n}")),
        number().prop_map(|n| format!("RECENT {n}")),
        nz().prop_map(|n| format!("UIDNEXT {n}")),
        nz().prop_map(|n| format!("UIDVALIDITY {n}")),
        number().prop_map(|n| format!("UNSEEN {n}")),
        number().prop_map(|n| format!("DELETED {n}")),
    ];
    (astring_s(), proptest::collection::vec(item, 0..6))
        .prop_map(|(name, items)| {
            let mut out = b"* STATUS ".to_vec();
            out.extend(name);
            out.extend(format!(" ({})\r\n", items.join(" ")).into_bytes());
            out
        })
        .boxed()
}

fn misc_response() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(nz(), 0..10).prop_map(|ids| {
            let ids: Vec<String> = ids.iter().map(|i| format!(" {i}")).collect();
            format!("* SEARCH{}\r\n", ids.concat()).into_bytes()
        }),
        flag_list("\\Recent").prop_map(|f| format!("* FLAGS {f}\r\n").into_bytes()),
        number().prop_map(|n| format!("* {n} EXISTS\r\n").into_bytes()),
        number().prop_map(|n| format!("* {n} RECENT\r\n").into_bytes()),
        nz().prop_map(|n| format!("* {n} EXPUNGE\r\n").into_bytes()),
        capabilities().prop_map(|c| format!("* CAPABILITY {c}\r\n").into_bytes()),
        proptest::collection::vec(
            prop_oneof![Just("UTF8=ACCEPT"), Just("CONDSTORE"), Just("X-FOO")],
            0..3
        )
        .prop_map(|c| {
            let c: Vec<String> = c.iter().map(|c| format!(" {c}")).collect();
            format!("* ENABLED{}\r\n", c.concat()).into_bytes()
        }),
        (
            astring_s(),
            proptest::collection::vec(
                (
                    prop_oneof![Just("STORAGE"), Just("MESSAGE")],
                    0u64..1 << 40,
                    0u64..1 << 40
                ),
                1..3
            )
        )
            .prop_map(|(root, res)| {
                let mut out = b"* QUOTA ".to_vec();
                out.extend(root);
                let res: Vec<String> = res.iter().map(|(n, u, l)| format!("{n} {u} {l}")).collect();
                out.extend(format!(" ({})\r\n", res.join(" ")).into_bytes());
                out
            }),
        (astring_s(), proptest::collection::vec(astring_s(), 0..3)).prop_map(|(m, roots)| {
            let mut out = b"* QUOTAROOT ".to_vec();
            out.extend(m);
            for r in roots {
                out.push(b' ');
                out.extend(r);
            }
            out.extend(b"\r\n");
            out
        }),
    ]
    .boxed()
}

fn internal_date() -> impl Strategy<Value = String> {
    (
        1u32..=28,
        any::<bool>(),
        0usize..12,
        1970u32..2100,
        (0u32..24, 0u32..60, 0u32..60),
        (
            any::<bool>(),
            0u32..14,
            prop_oneof![Just(0u32), Just(30), Just(45)],
        ),
    )
        .prop_map(|(d, pad, m, y, (h, mi, s), (neg, zh, zm))| {
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let day = if d < 10 && pad {
                format!(" {d}")
            } else {
                format!("{d:02}")
            };
            format!(
                "\"{day}-{}-{y} {h:02}:{mi:02}:{s:02} {}{zh:02}{zm:02}\"",
                MONTHS[m],
                if neg { '-' } else { '+' }
            )
        })
}

fn address() -> impl Strategy<Value = Vec<u8>> {
    (nstring_s(), nstring_s(), nstring_s(), nstring_s()).prop_map(|(a, b, c, d)| {
        let mut out = b"(".to_vec();
        for (i, part) in [a, b, c, d].into_iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend(part);
        }
        out.push(b')');
        out
    })
}

fn address_list() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(b"NIL".to_vec()),
        3 => proptest::collection::vec(address(), 1..3).prop_map(|v| {
            let mut out = b"(".to_vec();
            for a in v {
                out.extend(a);
            }
            out.push(b')');
            out
        }),
    ]
}

fn envelope() -> impl Strategy<Value = Vec<u8>> {
    (
        (nstring_s(), nstring_s()),
        proptest::collection::vec(address_list(), 6),
        (nstring_s(), nstring_s()),
    )
        .prop_map(|((date, subject), addrs, (irt, mid))| {
            let mut parts = vec![date, subject];
            parts.extend(addrs);
            parts.push(irt);
            parts.push(mid);
            let mut out = b"ENVELOPE (".to_vec();
            out.extend(parts.join(&b' '));
            out.push(b')');
            out
        })
}

fn section() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("HEADER".to_string()),
        Just("TEXT".to_string()),
        Just("1".to_string()),
        Just("1.2".to_string()),
        Just("2.MIME".to_string()),
        Just("1.HEADER".to_string()),
        Just("HEADER.FIELDS (FROM SUBJECT)".to_string()),
        Just("HEADER.FIELDS.NOT (DATE)".to_string()),
    ]
}

fn body_section() -> impl Strategy<Value = Vec<u8>> {
    (
        section(),
        proptest::option::of(number()),
        prop_oneof![
            3 => literal_content().prop_map(|c| literal(&c)),
            1 => quoted_content().prop_map(|c| quoted(&c)),
            1 => Just(b"NIL".to_vec()),
        ],
    )
        .prop_map(|(s, origin, data)| {
            let mut out = format!("BODY[{s}]").into_bytes();
            if let Some(o) = origin {
                out.extend(format!("<{o}>").into_bytes());
            }
            out.push(b' ');
            out.extend(data);
            out
        })
}

fn fetch_item() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        nz().prop_map(|n| format!("UID {n}").into_bytes()),
        flag_list("\\Recent").prop_map(|f| format!("FLAGS {f}").into_bytes()),
        number().prop_map(|n| format!("RFC822.SIZE {n}").into_bytes()),
        internal_date().prop_map(|d| format!("INTERNALDATE {d}").into_bytes()),
        envelope(),
        body_section(),
        (
            prop_oneof![Just("RFC822"), Just("RFC822.HEADER"), Just("RFC822.TEXT")],
            nstring_s()
        )
            .prop_map(|(n, d)| {
                let mut out = format!("{n} ").into_bytes();
                out.extend(d);
                out
            }),
        Just(
            b"BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3028 92)"
                .to_vec()
        ),
        Just(
            b"BODY ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 10 1)(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 400) \"mixed\")"
                .to_vec()
        ),
    ]
}

fn fetch_response() -> BoxedStrategy<Vec<u8>> {
    (nz(), proptest::collection::vec(fetch_item(), 1..6))
        .prop_map(|(seq, items)| {
            let mut out = format!("* {seq} FETCH (").into_bytes();
            out.extend(items.join(&b' '));
            out.extend(b")\r\n");
            out
        })
        .boxed()
}

fn response() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => status_response(),
        2 => list_response(),
        2 => status_data_response(),
        3 => misc_response(),
        5 => fetch_response(),
    ]
}

#[test]
fn generated_responses_agree_with_imap_codec() {
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    let mut runner = TestRunner::new(PtConfig {
        cases: CASES,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let tally_cell = std::cell::RefCell::new(&mut tally);
    let result = runner.run(&response(), |input| {
        // Each input must be exactly one response as mailwire's framer sees it.
        let mut framer = Framer::new(Limits::default());
        framer.extend(&input);
        match framer.next_frame() {
            Ok(Some(FrameEvent::Response(f))) if f.bytes.len() == input.len() => {}
            other => {
                return Err(TestCaseError::fail(format!(
                    "framer: {other:?} for {:?}",
                    String::from_utf8_lossy(&input)
                )));
            }
        }
        compare(&input, true, &mut tally_cell.borrow_mut()).map_err(TestCaseError::fail)
    });
    report(
        &format!("{CASES} generated responses in {:?}", started.elapsed()),
        &tally,
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let compared: u64 = tally.kinds.values().map(|(c, _)| c).sum();
    assert!(
        compared >= 2_000,
        "only {compared} generated responses compared"
    );
    // Sanity: the kinds the strategy produces were all compared, not skipped.
    for kind in [
        "tagged OK",
        "untagged BYE",
        "continuation",
        "CAPABILITY",
        "LIST",
        "LSUB",
        "STATUS",
        "SEARCH",
        "FLAGS",
        "EXISTS",
        "RECENT",
        "EXPUNGE",
        "FETCH",
        "ENABLED",
        "QUOTA",
        "QUOTAROOT",
    ] {
        assert!(
            tally.kinds.get(kind).is_some_and(|(c, _)| *c > 0),
            "kind {kind} never compared"
        );
    }
}

#[test]
fn the_comparison_catches_a_difference() {
    // The comparison itself must be able to fail: a response whose two readings differ
    // (mailwire's typed UIDNEXT against imap-codec's) is detected when the fields differ.
    let mut tally = Tally::default();
    compare(b"* OK [UIDNEXT 5] hi\r\n", true, &mut tally).unwrap();
    let ours_n = ours(&parse_response(b"* OK [UIDNEXT 5] hi\r\n").unwrap());
    let (_, r) = ResponseCodec::default()
        .decode(b"* OK [UIDNEXT 6] hi\r\n")
        .unwrap();
    assert_ne!(ours_n, theirs(&r));
}
