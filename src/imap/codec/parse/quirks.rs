//! Tolerated server defects: each one a small, bounded detour from the RFC 3501 grammar,
//! named for what it accepts and which server sends it (the list is in docs/imap.md,
//! "Tolerated server defects"; each has a transcript under `tests/transcripts/`).
//!
//! None of these reads more than the grammar it stands in for: no new loop, no new
//! nesting beyond one level (and that through [`enter`](P::enter)), no number read
//! without its bound.

use super::cursor::P;
use crate::error::Result;
use crate::imap::types::{FetchData, Status, Untagged};

impl<'a> P<'a> {
    /// Exchange / Office 365 send a response code on a line of its own, with no `*` and no
    /// status word (`[COPYUID 55 31 6]` before the tagged answer of a MOVE); home.pl sends
    /// `* [COPYUID …]` (no status word). Both read as the untagged `OK` with that code that
    /// RFC 6851 says they meant. The cursor is at the `[`.
    pub(super) fn bare_response_code(&mut self) -> Result<Untagged> {
        let (code, text) = self.resp_text()?;
        Ok(Untagged::Condition {
            status: Status::Ok,
            code,
            text,
        })
    }

    /// Lotus Domino wraps a FETCH item in its own parentheses, inside the FETCH data
    /// (`* 1 FETCH (UID 14960 (ENVELOPE (…)) BODYSTRUCTURE (…))`). The items of such a group
    /// are read as if the parentheses were not there; one level only (a group inside a group
    /// is an error, like any other value where an item name belongs). The cursor is at the
    /// `(`.
    pub(super) fn parenthesized_fetch_items(
        &mut self,
        each: &mut dyn FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.enter()?;
        self.i += 1;
        self.list_rest(Some("unterminated FETCH data"), |p| each(p))?;
        self.depth -= 1;
        Ok(())
    }

    /// Yandex sometimes leaves out the content of a body section (`BODY[2] )`): when the
    /// value after a section is missing (the FETCH data closes, or the line ends), it reads
    /// as `NIL`, the way MailKit reads it. The cursor is after the section and its spaces.
    pub(super) fn section_content_missing(&self) -> bool {
        self.peek() == Some(b')') || self.at_line_end()
    }

    /// Zoho sends `MODSEQ (-1)` for some messages. A negative mod-sequence is not a
    /// mod-sequence: the item is kept raw (`FetchData::Other` named `MODSEQ`), so the
    /// message reads as having none (`Message::mod_seq` is `None`), as when a server does not
    /// send one. Only `-` and up to 20 digits are accepted; the cursor is after the `(`'s
    /// spaces, and on `Some` it is after the `)`.
    pub(super) fn negative_mod_seq(&mut self, start: usize) -> Result<Option<FetchData>> {
        if self.peek() != Some(b'-') {
            return Ok(None);
        }
        self.i += 1;
        let digits = self.take_while(|b| !b.is_ascii_digit());
        if digits.is_empty() || digits.len() > 20 {
            return Err(self.err("expected a mod-sequence"));
        }
        self.sp();
        self.require(b')', "expected ) after the mod-sequence")?;
        Ok(Some(FetchData::Other {
            name: "MODSEQ".into(),
            raw: self.b.get(start..self.i).unwrap_or(&[]).to_vec(),
        }))
    }
}
