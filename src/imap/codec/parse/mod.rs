//! Parses one framed IMAP response into a [`Response`].
//!
//! Hand-written and lenient, over byte slices: no regex, no per-byte allocation, one copy of
//! each literal body. What real servers get wrong is tolerated: trailing spaces, a response
//! code without text after it (Gmail `[HIGHESTMODSEQ n]`), extra parentheses around FETCH
//! data and address lists (Domino), `NIL` where a string belongs, a body line count of `-1`,
//! 8-bit bytes in quoted strings, lower-case keywords, bare LF line ends. Unknown responses,
//! response codes and FETCH items are kept raw. Anything that cannot be read is an
//! [`Error::Protocol`](crate::error::Error::Protocol) with the offset and an excerpt, never a panic.
//!
//! A literal streamed to a sink by the [`Framer`](super::frame::Framer) arrives here as the
//! empty literal `{0}`.
//!
//! [`parse_fetch`] reads a FETCH response the way a [`Message`](crate::Message) needs it,
//! leaving the message data borrowed from the response instead of copying it: what the
//! fetches of [`ImapConnection`](crate::imap::ImapConnection) use.
//!
//! One file per part of the grammar (all internal): `cursor` (the cursor and the basic
//! values), `response` (tagged, untagged, continuation and the untagged kinds), `codes`
//! (response codes), `fetch` (FETCH items and [`FetchParts`]), `envelope`, `body_structure`,
//! `quirks` (the tolerated server defects that need more than leniency: a response code on a
//! bare line, a FETCH item in its own parentheses, a body section without its content, a
//! negative `MODSEQ`),
//! `order` (the SORT and THREAD answers).

mod body_structure;
mod codes;
mod cursor;
mod envelope;
mod fetch;
mod order;
mod quirks;
mod response;

pub use fetch::{FetchParts, parse_fetch};

use crate::error::Result;
use crate::imap::types::{Continuation, Response};
use cursor::{P, seq_number};

/// Parses one complete response as returned by the framer (line end and literals included).
pub fn parse_response(bytes: &[u8]) -> Result<Response> {
    let mut p = P {
        b: bytes,
        i: 0,
        depth: 0,
    };
    match p.peek() {
        Some(b'*') => {
            p.i += 1;
            p.untagged().map(Response::Untagged)
        }
        Some(b'+') => {
            p.i += 1;
            p.eat(b' ');
            let code = if p.peek() == Some(b'[') {
                Some(p.code()?)
            } else {
                None
            };
            let text = p.text();
            Ok(Response::Continuation(Continuation { code, text }))
        }
        Some(b'[') => p.bare_response_code().map(Response::Untagged),
        Some(_) => p.tagged(),
        None => Err(p.err("empty response")),
    }
}

/// Reads a sequence set / UID set (`1:5,7,9:*`) into inclusive ranges; `*` is `u32::MAX`.
pub fn parse_uid_set(text: &[u8]) -> Option<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    for part in text.split(|&b| b == b',') {
        let mut ends = part.splitn(2, |&b| b == b':');
        let a = seq_number(ends.next()?)?;
        let b = match ends.next() {
            Some(e) => seq_number(e)?,
            None => a,
        };
        out.push((a.min(b), a.max(b)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::imap::codec::frame::{FrameEvent, Framer};
    use crate::imap::types::*;

    pub(super) fn parse(s: &[u8]) -> Response {
        parse_response(s).unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(s)))
    }

    pub(super) fn untagged(s: &[u8]) -> Untagged {
        match parse(s) {
            Response::Untagged(u) => u,
            other => panic!("not untagged: {other:?}"),
        }
    }

    pub(super) fn fetch(s: &[u8]) -> Vec<FetchData> {
        match untagged(s) {
            Untagged::Fetch { items, .. } => items,
            other => panic!("not a FETCH: {other:?}"),
        }
    }

    /// Frames and parses a whole transcript.
    pub(super) fn transcript(bytes: &[u8]) -> Vec<Response> {
        let mut f = Framer::new(Limits::default());
        f.extend(bytes);
        let mut out = Vec::new();
        while let Some(ev) = f.next_frame().unwrap() {
            match ev {
                FrameEvent::Response(fr) => out.push(parse(fr.bytes)),
                other => panic!("{other:?}"),
            }
        }
        assert!(f.is_idle(), "transcript ends mid-response");
        out
    }

    pub(super) const DOVECOT: &[u8] =
        include_bytes!("../../../../tests/transcripts/dovecot-session.bin");
    pub(super) const DOVECOT_APPEND: &[u8] =
        include_bytes!("../../../../tests/transcripts/dovecot-append.bin");
    pub(super) const GMAIL: &[u8] = include_bytes!("../../../../tests/transcripts/gmail.bin");
    pub(super) const EXCHANGE: &[u8] = include_bytes!("../../../../tests/transcripts/exchange.bin");
    pub(super) const DOMINO: &[u8] = include_bytes!("../../../../tests/transcripts/domino.bin");

    #[test]
    fn every_transcript_parses_without_other() {
        for t in [DOVECOT, DOVECOT_APPEND, GMAIL, EXCHANGE, DOMINO] {
            for r in transcript(t) {
                assert!(
                    !matches!(r, Response::Untagged(Untagged::Other { .. })),
                    "{r:?}"
                );
                if let Response::Untagged(Untagged::Fetch { items, .. }) = &r {
                    assert!(
                        !items.iter().any(|i| matches!(i, FetchData::Other { .. })),
                        "{r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn lenient_trailing_spaces() {
        assert_eq!(
            untagged(b"* SEARCH 1 2 3   \r\n"),
            Untagged::Search {
                ids: vec![1, 2, 3],
                modseq: None
            }
        );
        assert_eq!(
            fetch(b"* 4 FETCH (FLAGS (\\Seen) )   \r\n"),
            vec![FetchData::Flags(vec![Flag::Seen])]
        );
        assert!(
            matches!(untagged(b"* OK ready.  \r\n"), Untagged::Condition { text, .. } if text == "ready.")
        );
    }

    #[test]
    fn lenient_nil_where_string_belongs() {
        let items = fetch(b"* 1 FETCH (BODYSTRUCTURE (NIL NIL NIL NIL NIL NIL NIL))\r\n");
        assert!(
            matches!(&*match &items[0] { FetchData::BodyStructure(b) => b.clone(), _ => panic!() },
            BodyStructure::Single { media_type, encoding, size: 0, .. } if media_type.is_empty() && encoding.is_empty())
        );
        assert_eq!(
            untagged(b"* STATUS NIL (MESSAGES 1)\r\n"),
            Untagged::MailboxStatus {
                mailbox: b"NIL".to_vec(),
                items: vec![StatusData::Messages(1)]
            }
        );
        assert!(
            matches!(&fetch(b"* 2 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n")[0], FetchData::Envelope(e) if **e == Envelope::default())
        );
    }

    #[test]
    fn lenient_lower_case_keywords() {
        assert_eq!(
            fetch(b"* 2 fetch (uid 8 flags (\\seen) rfc822.size 5)\r\n"),
            vec![
                FetchData::Uid(8),
                FetchData::Flags(vec![Flag::Seen]),
                FetchData::Rfc822Size(5)
            ]
        );
        assert!(matches!(
            parse(b"a2 ok [uidnext 5] done\r\n"),
            Response::Tagged {
                status: Status::Ok,
                code: Some(ResponseCode::UidNext(5)),
                ..
            }
        ));
        assert_eq!(untagged(b"* 3 exists\r\n"), Untagged::Exists(3));
    }

    #[test]
    fn lenient_interleaved_and_keepalive() {
        let rs = transcript(GMAIL);
        let kinds: Vec<&str> = rs
            .iter()
            .map(|r| match r {
                Response::Untagged(Untagged::Fetch { .. }) => "fetch",
                Response::Untagged(Untagged::Exists(_)) => "exists",
                Response::Untagged(Untagged::Condition { text, .. }) if text == "Still here" => {
                    "keepalive"
                }
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "other",
                "other",
                "other",
                "fetch",
                "keepalive",
                "fetch",
                "exists",
                "fetch",
                "other"
            ]
        );
        let Response::Untagged(Untagged::Fetch { items, .. }) = &rs[3] else {
            panic!()
        };
        assert_eq!(items[0], FetchData::GmThrId(1278455344230334865));
        assert_eq!(
            items[2],
            FetchData::GmLabels(vec![
                b"\\Inbox".to_vec(),
                b"\\Sent".to_vec(),
                b"Important".to_vec(),
                b"Muy Importante".to_vec(),
                b"label".to_vec()
            ])
        );
        assert_eq!(items[4], FetchData::ModSeq(9999999999));
    }

    #[test]
    fn bare_lf_line_ends() {
        assert_eq!(
            fetch(b"* 1 FETCH (UID 3 BODY[] {2}\nab)\n"),
            vec![
                FetchData::Uid(3),
                FetchData::BodySection {
                    section: String::new(),
                    origin: None,
                    data: Some(b"ab".to_vec())
                }
            ]
        );
    }
}
