//! Response codes: the bracketed `[CODE value]` at the start of a response's text.

use super::cursor::{P, lossy, upper};
use crate::error::Result;
use crate::imap::seqset::SequenceSet;
use crate::imap::types::ResponseCode;

impl<'a> P<'a> {
    pub(super) fn resp_text(&mut self) -> Result<(Option<ResponseCode>, String)> {
        self.sp();
        let code = if self.peek() == Some(b'[') {
            Some(self.code()?)
        } else {
            None
        };
        self.sp();
        Ok((code, self.text()))
    }

    pub(super) fn code(&mut self) -> Result<ResponseCode> {
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
    pub(super) fn known_code(&mut self, name: &str) -> Result<Option<ResponseCode>> {
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
            // Outside RFC 8474's grammar: kept raw (`Other`).
            "MAILBOXID" => match self.objectid(false) {
                Some(Some(id)) => ResponseCode::MailboxId(id),
                _ => return Ok(None),
            },
            "APPENDUID" => {
                let uid_validity = self.number()?;
                self.sp();
                let uids =
                    SequenceSet::from_ranges(self.uid_set()?.into_iter().map(|(a, b)| a..=b));
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
}

#[cfg(test)]
mod tests {
    use crate::imap::codec::parse::tests::{parse, untagged};
    use crate::imap::types::*;

    #[test]
    fn mailboxid_code() {
        // RFC 8474 §7's CREATE and SELECT examples.
        let r = parse(b"3 OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Completed\r\n");
        let Response::Tagged { code, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            code,
            Some(ResponseCode::MailboxId(
                "F2212ea87-6097-4256-9d51-71338625".into()
            ))
        );
        let u = untagged(b"* OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Ok\r\n");
        assert!(
            matches!(&u, Untagged::Condition { code: Some(ResponseCode::MailboxId(id)), .. } if id.starts_with("F2212")),
            "{u:?}"
        );
        // STATUS (RFC 8474 §4.2's example), and outside the grammar: raw.
        assert_eq!(
            untagged(b"* STATUS foo (MAILBOXID (F6352ae03-b7f5-463c-896f-d8b48ee3))\r\n"),
            Untagged::MailboxStatus {
                mailbox: b"foo".to_vec(),
                items: vec![StatusData::MailboxId(
                    "F6352ae03-b7f5-463c-896f-d8b48ee3".into()
                )]
            }
        );
        let u = untagged(b"* STATUS foo (MAILBOXID (F.1) MESSAGES 2)\r\n");
        assert!(
            matches!(&u, Untagged::MailboxStatus { items, .. } if matches!(&items[..], [StatusData::Other { name, .. }, StatusData::Messages(2)] if name == "MAILBOXID")),
            "{u:?}"
        );
        let r = parse(b"3 OK [MAILBOXID (F.1)] Completed\r\n");
        assert!(
            matches!(&r, Response::Tagged { code: Some(ResponseCode::Other { name, .. }), .. } if name == "MAILBOXID"),
            "{r:?}"
        );
    }

    #[test]
    fn appenduid_is_a_sequence_set() {
        let r = parse(b"a OK [APPENDUID 7 3:1,5,4] Done\r\n");
        let Response::Tagged {
            code: Some(ResponseCode::AppendUid { uid_validity, uids }),
            ..
        } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!(uid_validity, 7);
        assert_eq!(uids, crate::imap::seqset::SequenceSet::range(1, 5));
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
}
