//! The response grammar: tagged and untagged responses and the untagged kinds (LIST,
//! STATUS, SEARCH / ESEARCH, NAMESPACE, ID, …).

use super::cursor::{P, is_astring_end, keyword, lossy, upper};
use crate::error::Result;
use crate::imap::types::{
    EsearchItem, ListItem, NameAttribute, NamespaceEntry, QuotaResource, Response, Status,
    StatusData, Untagged,
};

impl<'a> P<'a> {
    pub(super) fn tagged(&mut self) -> Result<Response> {
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

    pub(super) fn status_word(&mut self) -> Result<Status> {
        let start = self.i;
        let w = self.atom();
        let s = status_of(w);
        s.ok_or_else(|| {
            self.i = start;
            self.err("expected OK, NO, BAD, BYE or PREAUTH")
        })
    }

    pub(super) fn raw_other(&self) -> Untagged {
        let raw = self.b.strip_suffix(b"\n").unwrap_or(self.b);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        Untagged::Other { raw: raw.to_vec() }
    }

    pub(super) fn untagged(&mut self) -> Result<Untagged> {
        self.sp();
        if self.peek() == Some(b'[') {
            return self.bare_response_code();
        }
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
            b"SORT" => self.sort()?,
            b"THREAD" => self.thread()?,
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
                let mut resources = Vec::new();
                self.parenthesized("expected ( before quota resources", |p| {
                    let name = upper(p.nonempty_atom("expected a quota resource")?);
                    p.sp();
                    let usage = p.number_u64()?;
                    p.sp();
                    let limit = p.number_u64()?;
                    resources.push(QuotaResource { name, usage, limit });
                    Ok(())
                })?;
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

    pub(super) fn atoms_to_end(&mut self) -> Vec<String> {
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

    pub(super) fn delimiter(&mut self) -> Result<Option<char>> {
        Ok(self
            .nstring()?
            .and_then(|d| d.first().map(|&c| char::from(c))))
    }

    pub(super) fn list_item(&mut self) -> Result<ListItem> {
        let mut attributes = Vec::new();
        self.parenthesized("expected ( before mailbox attributes", |p| {
            attributes.push(NameAttribute::from_bytes(
                p.nonempty_atom("expected a mailbox attribute")?,
            ));
            Ok(())
        })?;
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

    pub(super) fn mailbox_status(&mut self) -> Result<Untagged> {
        let mailbox = self.astring()?;
        self.sp();
        let mut items = Vec::new();
        self.parenthesized("expected ( before status items", |p| {
            let name = p
                .nonempty_atom("expected a status item")?
                .to_ascii_uppercase();
            p.sp();
            let item = match name.as_slice() {
                b"MESSAGES" => StatusData::Messages(p.number()?),
                b"RECENT" => StatusData::Recent(p.number()?),
                b"UIDNEXT" => StatusData::UidNext(p.number()?),
                b"UIDVALIDITY" => StatusData::UidValidity(p.number()?),
                b"UNSEEN" => StatusData::Unseen(p.number()?),
                b"DELETED" => StatusData::Deleted(p.number()?),
                b"SIZE" => StatusData::Size(p.number_u64()?),
                b"HIGHESTMODSEQ" => StatusData::HighestModSeq(p.number_u64()?),
                b"APPENDLIMIT" => StatusData::AppendLimit(p.number_or_nil()?),
                b"MAILBOXID" => match p.objectid(false) {
                    Some(Some(id)) => StatusData::MailboxId(id),
                    _ => StatusData::Other {
                        name: lossy(&name),
                        raw: p.skip_value()?.to_vec(),
                    },
                },
                _ => StatusData::Other {
                    name: lossy(&name),
                    raw: p.skip_value()?.to_vec(),
                },
            };
            items.push(item);
            Ok(())
        })?;
        Ok(Untagged::MailboxStatus { mailbox, items })
    }

    /// A number, or `NIL` (RFC 7889's `APPENDLIMIT NIL`) as `None`.
    fn number_or_nil(&mut self) -> Result<Option<u64>> {
        if self
            .b
            .get(self.i..self.i + 3)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"NIL"))
        {
            self.i += 3;
            return Ok(None);
        }
        self.number_u64().map(Some)
    }

    pub(super) fn search(&mut self) -> Result<Untagged> {
        let mut ids = Vec::new();
        let mut modseq = None;
        loop {
            self.sp();
            if self.eat(b'(') {
                let n = self.named_value(
                    b"MODSEQ",
                    "expected MODSEQ",
                    "expected ) after MODSEQ",
                    P::number_u64,
                )?;
                modseq = Some(n);
                continue;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Ok(Untagged::Search { ids, modseq });
            }
            ids.push(self.number()?);
        }
    }

    pub(super) fn esearch(&mut self) -> Result<Untagged> {
        let mut tag = None;
        if self.eat(b'(') {
            let text = self.named_value(
                b"TAG",
                "expected TAG",
                "expected ) after the ESEARCH tag",
                P::string_text,
            )?;
            tag = Some(text);
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

    pub(super) fn namespaces(&mut self) -> Result<Vec<NamespaceEntry>> {
        let mut out = Vec::new();
        if !self.eat(b'(') {
            let a = self.atom();
            if a.eq_ignore_ascii_case(b"NIL") {
                return Ok(out);
            }
            return Err(self.err("expected a namespace list or NIL"));
        }
        self.list_rest(None, |p| {
            p.require(b'(', "expected ( before a namespace")?;
            p.sp();
            let prefix = p.string()?;
            p.sp();
            let delimiter = p.delimiter()?;
            p.list_rest(Some("unterminated namespace"), |p| p.skip_value().map(drop))?;
            out.push(NamespaceEntry { prefix, delimiter });
            Ok(())
        })?;
        Ok(out)
    }

    pub(super) fn id_params(&mut self) -> Result<Vec<(String, Option<String>)>> {
        let mut out = Vec::new();
        if !self.eat(b'(') {
            self.nonempty_atom("expected ( or NIL")?;
            return Ok(out);
        }
        self.list_rest(None, |p| {
            let key = p.string_text()?;
            p.sp();
            let value = p.nstring_text()?;
            out.push((key, value));
            Ok(())
        })?;
        Ok(out)
    }
}

pub(super) fn status_of(w: &[u8]) -> Option<Status> {
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
    use crate::imap::codec::parse::tests::{
        DOVECOT, DOVECOT_APPEND, fetch, parse, transcript, untagged,
    };
    use crate::imap::codec::parse::*;
    use crate::imap::seqset::SequenceSet;
    use crate::imap::types::*;

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
            &|r| matches!(r, Response::Untagged(Untagged::MailboxStatus { mailbox, items }) if mailbox == b"INBOX" && items.contains(&StatusData::UidValidity(1795310794)) && items.contains(&StatusData::HighestModSeq(6)))
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
        let items: Vec<&FetchData> = rs
            .iter()
            .filter_map(|r| match r {
                Response::Untagged(Untagged::Fetch { items, .. }) => Some(items),
                _ => None,
            })
            .flatten()
            .collect();
        assert!(items.contains(&&FetchData::InternalDate(
            "04-Nov-2025 15:00:00 +0000".into()
        )));
        assert!(items.contains(&&FetchData::Rfc822Size(887)));
        assert!(items.contains(&&FetchData::ModSeq(9)));
        assert!(items.contains(&&FetchData::BinarySize {
            section: "1.2".into(),
            size: 19
        }));
        let body = items
            .iter()
            .find_map(|i| match i {
                FetchData::BodySection {
                    section,
                    data: Some(d),
                    ..
                } if section.is_empty() && d.len() == 887 => Some(d),
                _ => None,
            })
            .unwrap();
        assert!(body.starts_with(b"From: Carol") && body.ends_with(b"--outer--\r\n"));
        assert!(items.iter().any(|i| matches!(i, FetchData::Binary { section, data: Some(d), .. } if section == "1.2" && d == "<p>html ü body</p>".as_bytes())));
        assert!(items.iter().any(|i| matches!(i, FetchData::BodySection { section, origin: Some(0), data: Some(d) } if section == "1.1" && d == b"plain")));
        let env = items
            .iter()
            .find_map(|i| match i {
                FetchData::Envelope(e) if e.subject.as_deref() == Some(b"Test message 1") => {
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
                FetchData::BodyStructure(b) if matches!(**b, BodyStructure::Multipart { .. }) => {
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
        assert!(items.iter().any(|i| matches!(i, FetchData::Body(b) if matches!(**b, BodyStructure::Multipart { ref parts, .. } if parts.len() == 3))));
    }

    #[test]
    fn status_size_and_appendlimit() {
        // RFC 8438 and RFC 7889's examples; a LIST-STATUS answer (RFC 5819) is the same
        // STATUS response after the LIST line.
        assert_eq!(
            untagged(b"* STATUS INBOX (MESSAGES 4 SIZE 8000 APPENDLIMIT 257890)\r\n"),
            Untagged::MailboxStatus {
                mailbox: b"INBOX".to_vec(),
                items: vec![
                    StatusData::Messages(4),
                    StatusData::Size(8000),
                    StatusData::AppendLimit(Some(257890))
                ]
            }
        );
        assert_eq!(
            untagged(b"* STATUS Drafts (APPENDLIMIT NIL)\r\n"),
            Untagged::MailboxStatus {
                mailbox: b"Drafts".to_vec(),
                items: vec![StatusData::AppendLimit(None)]
            }
        );
        assert!(parse_response(b"* STATUS Drafts (APPENDLIMIT NILS)\r\n").is_err());
        assert!(parse_response(b"* STATUS Drafts (SIZE 99999999999999999999999)\r\n").is_err());
    }

    #[test]
    fn dovecot_appenduid() {
        let rs = transcript(DOVECOT_APPEND);
        assert!(rs.contains(&Response::Tagged {
            tag: "a6".into(),
            status: Status::Ok,
            code: Some(ResponseCode::AppendUid {
                uid_validity: 1795310794,
                uids: SequenceSet::single(5)
            }),
            text: "Append completed (0.001 + 0.000 secs).".into(),
        }));
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
            untagged(b"* XSORT 3 1 2\r\n"),
            Untagged::Other {
                raw: b"* XSORT 3 1 2".to_vec()
            }
        );
        assert_eq!(
            untagged(b"* 3 XFOO bar\r\n"),
            Untagged::Other {
                raw: b"* 3 XFOO bar".to_vec()
            }
        );
        assert_eq!(
            fetch(b"* 1 FETCH (X-SNIPPET \"hi there\" UID 4)\r\n"),
            vec![
                FetchData::Other {
                    name: "X-SNIPPET".into(),
                    raw: b"\"hi there\"".to_vec()
                },
                FetchData::Uid(4)
            ]
        );
        assert_eq!(
            fetch(b"* 1 FETCH (RFC822.HEADER {3}\r\na\r\n)\r\n"),
            vec![FetchData::Rfc822Header(Some(b"a\r\n".to_vec()))]
        );
        assert!(matches!(parse(b"+ \r\n"), Response::Continuation(c) if c.text.is_empty()));
        assert!(
            matches!(parse(b"+ dGVzdA==\r\n"), Response::Continuation(c) if c.text == "dGVzdA==")
        );
    }
}
