//! `SORT` and `THREAD`'s arguments (RFC 5256, RFC 5957's DISPLAYFROM / DISPLAYTO): the sort
//! keys, the threading algorithm, and the charset-and-query both commands end with.

use crate::error::{Error, Result};
use crate::imap::codec::writer::Writer;
use crate::imap::search::SearchQuery;

/// What a [`SortKey`] orders by (RFC 5256 section 3; `DisplayFrom` / `DisplayTo` are RFC
/// 5957's and need the `SORT=DISPLAY` capability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortCriterion {
    /// `ARRIVAL`: the internal date (when the message reached the folder).
    Arrival,
    /// `CC`: the first Cc address's mailbox (local part).
    Cc,
    /// `DATE`: the `Date:` header (the internal date when it is missing or unreadable).
    Date,
    /// `FROM`: the first From address's mailbox (local part).
    From,
    /// `SIZE`: the RFC 822 size.
    Size,
    /// `SUBJECT`: the base subject (`Re:`, `Fwd:` and `[list]` prefixes removed).
    Subject,
    /// `TO`: the first To address's mailbox (local part).
    To,
    /// `DISPLAYFROM`: the first From address's display name, else its address (RFC 5957).
    DisplayFrom,
    /// `DISPLAYTO`: the first To address's display name, else its address (RFC 5957).
    DisplayTo,
}

impl SortCriterion {
    fn wire(self) -> &'static str {
        match self {
            SortCriterion::Arrival => "ARRIVAL",
            SortCriterion::Cc => "CC",
            SortCriterion::Date => "DATE",
            SortCriterion::From => "FROM",
            SortCriterion::Size => "SIZE",
            SortCriterion::Subject => "SUBJECT",
            SortCriterion::To => "TO",
            SortCriterion::DisplayFrom => "DISPLAYFROM",
            SortCriterion::DisplayTo => "DISPLAYTO",
        }
    }

    /// Whether the key is RFC 5957's (the server must offer `SORT=DISPLAY`).
    pub fn needs_sort_display(self) -> bool {
        matches!(self, SortCriterion::DisplayFrom | SortCriterion::DisplayTo)
    }
}

/// One key of a `SORT`: a criterion, ascending or (`REVERSE`) descending. Later keys
/// order what the earlier ones leave equal; the server breaks remaining ties by sequence
/// number (ascending).
///
/// ```
/// use mailwire::imap::codec::{SortCriterion, SortKey};
/// let newest_first = [SortKey::reverse(SortCriterion::Date)];
/// let by_sender_then_size = [SortKey::from(SortCriterion::From), SortCriterion::Size.into()];
/// # let _ = (newest_first, by_sender_then_size);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SortKey {
    /// What to order by.
    pub criterion: SortCriterion,
    /// `REVERSE`: descending.
    pub reverse: bool,
}

impl SortKey {
    /// `criterion`, ascending.
    pub fn new(criterion: SortCriterion) -> SortKey {
        SortKey {
            criterion,
            reverse: false,
        }
    }

    /// `REVERSE criterion`: descending.
    pub fn reverse(criterion: SortCriterion) -> SortKey {
        SortKey {
            criterion,
            reverse: true,
        }
    }
}

impl From<SortCriterion> for SortKey {
    fn from(criterion: SortCriterion) -> SortKey {
        SortKey::new(criterion)
    }
}

/// How `THREAD` groups messages (RFC 5256 section 3; the server names the ones it has as
/// `THREAD=REFERENCES` / `THREAD=ORDEREDSUBJECT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThreadAlgorithm {
    /// `REFERENCES`: by `Message-ID` / `In-Reply-To` / `References`, then by base subject.
    References,
    /// `ORDEREDSUBJECT`: by base subject only, each thread a flat list under its first
    /// message, by sent date.
    OrderedSubject,
}

impl ThreadAlgorithm {
    /// The algorithm's name on the wire (`REFERENCES`, `ORDEREDSUBJECT`).
    pub fn name(self) -> &'static str {
        match self {
            ThreadAlgorithm::References => "REFERENCES",
            ThreadAlgorithm::OrderedSubject => "ORDEREDSUBJECT",
        }
    }
}

/// ` (keys) UTF-8 query`.
pub(super) fn sort(w: &mut Writer<'_>, keys: &[SortKey], query: &SearchQuery) -> Result<()> {
    if keys.is_empty() {
        return Err(Error::invalid("SORT", "no sort key given"));
    }
    w.sp();
    w.parenthesized(keys, |w, key| {
        if key.reverse {
            w.token("REVERSE ");
        }
        w.token(key.criterion.wire());
        Ok(())
    })?;
    charset_and_query(w, query)
}

/// ` algorithm UTF-8 query`.
pub(super) fn thread(
    w: &mut Writer<'_>,
    algorithm: ThreadAlgorithm,
    query: &SearchQuery,
) -> Result<()> {
    w.sp();
    w.token(algorithm.name());
    charset_and_query(w, query)
}

/// The charset is not optional in SORT / THREAD; UTF-8 is the one every server must know.
fn charset_and_query(w: &mut Writer<'_>, query: &SearchQuery) -> Result<()> {
    w.token(" UTF-8 ");
    query.encode(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::{EncodeOptions, LiteralMode};

    fn wire(cmd: Command) -> (String, String) {
        let opts = EncodeOptions::new().with_literal(LiteralMode::Plus);
        let e = cmd.encode("S", &opts).unwrap();
        (
            String::from_utf8(e.to_bytes()).unwrap(),
            e.trace_text().to_string(),
        )
    }

    #[test]
    fn sort_bytes() {
        let cmd = Command::UidSort {
            keys: vec![
                SortKey::reverse(SortCriterion::Date),
                SortCriterion::Subject.into(),
            ],
            query: SearchQuery::all(),
        };
        let (bytes, trace) = wire(cmd);
        assert_eq!(bytes, "S UID SORT (REVERSE DATE SUBJECT) UTF-8 ALL\r\n");
        assert_eq!(trace, "S UID SORT (REVERSE DATE SUBJECT) UTF-8 ALL");
        let every = [
            SortCriterion::Arrival,
            SortCriterion::Cc,
            SortCriterion::Date,
            SortCriterion::From,
            SortCriterion::Size,
            SortCriterion::Subject,
            SortCriterion::To,
            SortCriterion::DisplayFrom,
            SortCriterion::DisplayTo,
        ];
        let cmd = Command::UidSort {
            keys: every.iter().map(|&c| SortKey::new(c)).collect(),
            query: SearchQuery::from("Grüße").and(SearchQuery::unseen()),
        };
        let (bytes, _) = wire(cmd);
        assert_eq!(
            bytes,
            "S UID SORT (ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO) UTF-8 FROM {7+}\r\nGrüße UNSEEN\r\n"
        );
        // Text that could end the line goes as a literal, never raw.
        let cmd = Command::UidSort {
            keys: vec![SortCriterion::Size.into()],
            query: SearchQuery::subject("a\r\nS2 DELETE INBOX"),
        };
        let (bytes, _) = wire(cmd);
        assert!(bytes.starts_with("S UID SORT (SIZE) UTF-8 SUBJECT {18+}\r\n"));
    }

    #[test]
    fn sort_needs_a_key() {
        let cmd = Command::UidSort {
            keys: vec![],
            query: SearchQuery::all(),
        };
        assert!(matches!(
            cmd.encode("S", &EncodeOptions::new()),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn thread_bytes() {
        let cmd = Command::UidThread {
            algorithm: ThreadAlgorithm::References,
            query: SearchQuery::all(),
        };
        assert_eq!(wire(cmd).0, "S UID THREAD REFERENCES UTF-8 ALL\r\n");
        let cmd = Command::UidThread {
            algorithm: ThreadAlgorithm::OrderedSubject,
            query: SearchQuery::seen().and(SearchQuery::larger(100)),
        };
        assert_eq!(
            wire(cmd).0,
            "S UID THREAD ORDEREDSUBJECT UTF-8 SEEN LARGER 100\r\n"
        );
    }
}
