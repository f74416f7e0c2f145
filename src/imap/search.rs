//! Typed IMAP search queries.
//!
//! A [`SearchQuery`] covers every RFC 3501 search key plus `MODSEQ` (CONDSTORE), `EMAILID`
//! / `THREADID` (OBJECTID, RFC 8474) and Gmail's `X-GM-RAW`, `X-GM-MSGID`, `X-GM-THRID` and
//! `X-GM-LABELS`, combined with AND (juxtaposition), OR and NOT:
//!
//! ```
//! use mailwire::imap::search::{ImapDate, SearchQuery};
//! let q = SearchQuery::from("alice")
//!     .and(SearchQuery::unseen())
//!     .and(SearchQuery::since(ImapDate::new(2024, 2, 1)?));
//! # Ok::<(), mailwire::Error>(())
//! ```
//!
//! It is encoded as part of [`Command::Search`](crate::imap::codec::Command::Search),
//! which adds `CHARSET UTF-8` when some text is not ASCII
//! ([`SearchQuery::needs_utf8_charset`]). Text arguments go through the same encoder as
//! every user string (atom, quoted or literal; NUL refused).

use std::fmt;

use crate::atom::is_atom_char;
use crate::error::{Error, Result};
use crate::imap::codec::utf7;
use crate::imap::codec::writer::{Syntax, Writer, check_atom, refuse_nul};
use crate::imap::seqset::SequenceSet;
use crate::imap::types::is_objectid;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Queries nested deeper than this are refused when encoding (no server needs them, and it
/// keeps the encoder's recursion bounded).
pub const MAX_DEPTH: usize = 256;

/// A calendar date as IMAP search uses it (`1-Feb-2024`); always a valid date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImapDate {
    year: u16,
    month: u8,
    day: u8,
}

impl ImapDate {
    /// A date; fails unless `year` is 1..=9999, `month` 1..=12 and `day` exists in that
    /// month (leap years included).
    pub fn new(year: u16, month: u8, day: u8) -> Result<ImapDate> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(Error::invalid(
                "date",
                format!("{year:04}-{month:02}-{day:02} is not a valid date"),
            ));
        }
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day == 0 || day > days {
            return Err(Error::invalid(
                "date",
                format!("{year:04}-{month:02}-{day:02} is not a valid date"),
            ));
        }
        Ok(ImapDate { year, month, day })
    }

    /// Parses the IMAP form `d-Mon-yyyy` (one- or two-digit day, English month
    /// abbreviation in any case, four-digit year).
    pub fn parse(s: &str) -> Result<ImapDate> {
        let bad = || Error::invalid("date", format!("{s:?} is not d-Mon-yyyy"));
        let mut fields = s.split('-');
        let (Some(d), Some(m), Some(y), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let digits = |t: &str, lens: &[usize]| {
            lens.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(d, &[1, 2]) || !digits(y, &[4]) {
            return Err(bad());
        }
        let month = MONTHS
            .iter()
            .position(|name| name.eq_ignore_ascii_case(m))
            .ok_or_else(bad)?;
        let month = u8::try_from(month + 1).map_err(|_| bad())?;
        ImapDate::new(
            y.parse().map_err(|_| bad())?,
            month,
            d.parse().map_err(|_| bad())?,
        )
    }

    /// The year (1..=9999).
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month (1..=12).
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month (1..=31).
    pub fn day(&self) -> u8 {
        self.day
    }

    /// The English month abbreviation IMAP uses (`Jan` ... `Dec`).
    pub fn month_name(&self) -> &'static str {
        MONTHS
            .get(usize::from(self.month).wrapping_sub(1))
            .copied()
            .unwrap_or("Jan")
    }
}

impl fmt::Display for ImapDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:04}", self.day, self.month_name(), self.year)
    }
}

/// A search query: one key, or keys combined with AND / OR / NOT.
///
/// Build it with the constructors (`SearchQuery::from("alice")`, `SearchQuery::unseen()`, ...)
/// and combine with [`and`](Self::and), [`or`](Self::or), `!` / [`negated`](Self::negated),
/// [`all_of`](Self::all_of) and [`any_of`](Self::any_of); or write the variants directly.
/// An empty [`And`](Self::And) matches everything (`ALL`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchQuery {
    /// `ALL`.
    All,
    /// `ANSWERED`.
    Answered,
    /// `BCC text`.
    Bcc(String),
    /// `BEFORE date` (internal date).
    Before(ImapDate),
    /// `BODY text`.
    Body(String),
    /// `CC text`.
    Cc(String),
    /// `DELETED`.
    Deleted,
    /// `DRAFT`.
    Draft,
    /// `FLAGGED`.
    Flagged,
    /// `FROM text`.
    From(String),
    /// `HEADER field-name text`.
    Header(String, String),
    /// `KEYWORD flag` (the keyword must be an atom).
    Keyword(String),
    /// `LARGER n` (size in bytes).
    Larger(u64),
    /// `NEW`.
    New,
    /// `NOT key`.
    Not(Box<SearchQuery>),
    /// `OLD`.
    Old,
    /// `ON date`.
    On(ImapDate),
    /// `OR key1 key2`.
    Or(Box<SearchQuery>, Box<SearchQuery>),
    /// `RECENT`.
    Recent,
    /// `SEEN`.
    Seen,
    /// `SENTBEFORE date` (Date: header).
    SentBefore(ImapDate),
    /// `SENTON date`.
    SentOn(ImapDate),
    /// `SENTSINCE date`.
    SentSince(ImapDate),
    /// `SINCE date`.
    Since(ImapDate),
    /// `SMALLER n`.
    Smaller(u64),
    /// `SUBJECT text`.
    Subject(String),
    /// `TEXT text` (header and body).
    Text(String),
    /// `TO text`.
    To(String),
    /// `UID set`.
    Uid(SequenceSet),
    /// `UNANSWERED`.
    Unanswered,
    /// `UNDELETED`.
    Undeleted,
    /// `UNDRAFT`.
    Undraft,
    /// `UNFLAGGED`.
    Unflagged,
    /// `UNKEYWORD flag`.
    Unkeyword(String),
    /// `UNSEEN`.
    Unseen,
    /// A sequence set of message numbers.
    SequenceSet(SequenceSet),
    /// Every key must match (`(k1 k2 ...)`); empty is `ALL`.
    And(Vec<SearchQuery>),
    /// `MODSEQ n` (CONDSTORE): changed at or after mod-sequence `n`.
    ModSeq(u64),
    /// `X-GM-RAW "gmail search syntax"` (only for servers with `X-GM-EXT-1`).
    GmailRaw(String),
    /// `EMAILID id` (OBJECTID, RFC 8474): the message with this permanent id (see
    /// [`Message::email_id`](crate::Message::email_id)).
    EmailId(String),
    /// `THREADID id` (OBJECTID, RFC 8474): the messages of this thread (see
    /// [`Message::thread_id`](crate::Message::thread_id)).
    ThreadId(String),
    /// `X-GM-MSGID n` (Gmail): the message with this Gmail message id.
    GmailMessageId(u64),
    /// `X-GM-THRID n` (Gmail): the messages of this Gmail conversation.
    GmailThreadId(u64),
    /// `X-GM-LABELS label` (Gmail): the messages carrying this label (a system label such
    /// as `\Important` keeps its backslash).
    GmailLabel(String),
}

impl SearchQuery {
    /// `ALL`.
    pub fn all() -> Self {
        SearchQuery::All
    }
    /// `ANSWERED`.
    pub fn answered() -> Self {
        SearchQuery::Answered
    }
    /// `BCC text`.
    pub fn bcc(text: impl Into<String>) -> Self {
        SearchQuery::Bcc(text.into())
    }
    /// `BEFORE date`.
    pub fn before(date: ImapDate) -> Self {
        SearchQuery::Before(date)
    }
    /// `BODY text`.
    pub fn body(text: impl Into<String>) -> Self {
        SearchQuery::Body(text.into())
    }
    /// `CC text`.
    pub fn cc(text: impl Into<String>) -> Self {
        SearchQuery::Cc(text.into())
    }
    /// `DELETED`.
    pub fn deleted() -> Self {
        SearchQuery::Deleted
    }
    /// `DRAFT`.
    pub fn draft() -> Self {
        SearchQuery::Draft
    }
    /// `FLAGGED`.
    pub fn flagged() -> Self {
        SearchQuery::Flagged
    }
    /// `FROM text`.
    // An associated function, not the `From` trait: `SearchQuery::from("alice")` reads as
    // the IMAP key it builds.
    #[allow(clippy::should_implement_trait)]
    pub fn from(text: impl Into<String>) -> Self {
        SearchQuery::From(text.into())
    }
    /// `HEADER field text`.
    pub fn header(field: impl Into<String>, text: impl Into<String>) -> Self {
        SearchQuery::Header(field.into(), text.into())
    }
    /// `KEYWORD flag`.
    pub fn keyword(flag: impl Into<String>) -> Self {
        SearchQuery::Keyword(flag.into())
    }
    /// `LARGER n`.
    pub fn larger(bytes: u64) -> Self {
        SearchQuery::Larger(bytes)
    }
    /// `NEW`.
    pub fn new_messages() -> Self {
        SearchQuery::New
    }
    /// `OLD`.
    pub fn old() -> Self {
        SearchQuery::Old
    }
    /// `ON date`.
    pub fn on(date: ImapDate) -> Self {
        SearchQuery::On(date)
    }
    /// `RECENT`.
    pub fn recent() -> Self {
        SearchQuery::Recent
    }
    /// `SEEN`.
    pub fn seen() -> Self {
        SearchQuery::Seen
    }
    /// `SENTBEFORE date`.
    pub fn sent_before(date: ImapDate) -> Self {
        SearchQuery::SentBefore(date)
    }
    /// `SENTON date`.
    pub fn sent_on(date: ImapDate) -> Self {
        SearchQuery::SentOn(date)
    }
    /// `SENTSINCE date`.
    pub fn sent_since(date: ImapDate) -> Self {
        SearchQuery::SentSince(date)
    }
    /// `SINCE date`.
    pub fn since(date: ImapDate) -> Self {
        SearchQuery::Since(date)
    }
    /// `SMALLER n`.
    pub fn smaller(bytes: u64) -> Self {
        SearchQuery::Smaller(bytes)
    }
    /// `SUBJECT text`.
    pub fn subject(text: impl Into<String>) -> Self {
        SearchQuery::Subject(text.into())
    }
    /// `TEXT text`.
    pub fn text(text: impl Into<String>) -> Self {
        SearchQuery::Text(text.into())
    }
    /// `TO text`.
    pub fn to(text: impl Into<String>) -> Self {
        SearchQuery::To(text.into())
    }
    /// `UID set`.
    pub fn uid(set: impl Into<SequenceSet>) -> Self {
        SearchQuery::Uid(set.into())
    }
    /// `UNANSWERED`.
    pub fn unanswered() -> Self {
        SearchQuery::Unanswered
    }
    /// `UNDELETED`.
    pub fn undeleted() -> Self {
        SearchQuery::Undeleted
    }
    /// `UNDRAFT`.
    pub fn undraft() -> Self {
        SearchQuery::Undraft
    }
    /// `UNFLAGGED`.
    pub fn unflagged() -> Self {
        SearchQuery::Unflagged
    }
    /// `UNKEYWORD flag`.
    pub fn unkeyword(flag: impl Into<String>) -> Self {
        SearchQuery::Unkeyword(flag.into())
    }
    /// `UNSEEN`.
    pub fn unseen() -> Self {
        SearchQuery::Unseen
    }
    /// Message sequence numbers.
    pub fn sequence(set: impl Into<SequenceSet>) -> Self {
        SearchQuery::SequenceSet(set.into())
    }
    /// `MODSEQ n`.
    pub fn mod_seq(n: u64) -> Self {
        SearchQuery::ModSeq(n)
    }
    /// `X-GM-RAW query`.
    pub fn gmail_raw(query: impl Into<String>) -> Self {
        SearchQuery::GmailRaw(query.into())
    }
    /// `EMAILID id` (needs `OBJECTID`).
    pub fn email_id(id: impl Into<String>) -> Self {
        SearchQuery::EmailId(id.into())
    }
    /// `THREADID id` (needs `OBJECTID`).
    pub fn thread_id(id: impl Into<String>) -> Self {
        SearchQuery::ThreadId(id.into())
    }
    /// `X-GM-MSGID n` (needs `X-GM-EXT-1`).
    pub fn gmail_message_id(id: u64) -> Self {
        SearchQuery::GmailMessageId(id)
    }
    /// `X-GM-THRID n` (needs `X-GM-EXT-1`).
    pub fn gmail_thread_id(id: u64) -> Self {
        SearchQuery::GmailThreadId(id)
    }
    /// `X-GM-LABELS label` (needs `X-GM-EXT-1`).
    ///
    /// ```
    /// use mailwire::imap::SearchQuery;
    /// let starred_work = SearchQuery::gmail_label("Work").and(SearchQuery::gmail_label("\\Starred"));
    /// # let _ = starred_work;
    /// ```
    pub fn gmail_label(label: impl Into<String>) -> Self {
        SearchQuery::GmailLabel(label.into())
    }

    /// The capability the first key of the query that needs one the server lacks
    /// (`has` says which it offers) needs: `OBJECTID` for `EMAILID` / `THREADID`,
    /// `X-GM-EXT-1` for `X-GM-MSGID` / `X-GM-THRID` / `X-GM-LABELS`. `None` when the server
    /// can take the whole query. The connection's search calls check this before sending.
    pub(crate) fn missing_capability(&self, has: &dyn Fn(&str) -> bool) -> Option<&'static str> {
        let mut stack = vec![self];
        while let Some(q) = stack.pop() {
            let needs = match q {
                SearchQuery::EmailId(_) | SearchQuery::ThreadId(_) => "OBJECTID",
                SearchQuery::GmailMessageId(_)
                | SearchQuery::GmailThreadId(_)
                | SearchQuery::GmailLabel(_) => "X-GM-EXT-1",
                SearchQuery::Not(inner) => {
                    stack.push(inner);
                    continue;
                }
                SearchQuery::Or(a, b) => {
                    stack.push(a);
                    stack.push(b);
                    continue;
                }
                SearchQuery::And(keys) => {
                    stack.extend(keys.iter());
                    continue;
                }
                _ => continue,
            };
            if !has(needs) {
                return Some(needs);
            }
        }
        None
    }

    /// [`missing_capability`](Self::missing_capability) as the error a search call returns
    /// before sending anything.
    pub(crate) fn check_offered(&self, has: &dyn Fn(&str) -> bool) -> Result<()> {
        match self.missing_capability(has) {
            None => Ok(()),
            Some(capability) => Err(Error::invalid(
                "search query",
                format!(
                    "the server does not offer {capability}, which the query's {} key needs; check `has_capability(\"{capability}\")` first",
                    if capability == "OBJECTID" {
                        "EMAILID / THREADID"
                    } else {
                        "X-GM-MSGID / X-GM-THRID / X-GM-LABELS"
                    }
                ),
            )),
        }
    }

    /// Both `self` and `other` must match. Chained calls build one flat AND.
    #[must_use]
    pub fn and(self, other: SearchQuery) -> Self {
        match self {
            SearchQuery::And(mut keys) => {
                keys.push(other);
                SearchQuery::And(keys)
            }
            first => SearchQuery::And(vec![first, other]),
        }
    }

    /// Either `self` or `other` matches.
    #[must_use]
    pub fn or(self, other: SearchQuery) -> Self {
        SearchQuery::Or(Box::new(self), Box::new(other))
    }

    /// `self` must not match.
    #[must_use]
    pub fn negated(self) -> Self {
        SearchQuery::Not(Box::new(self))
    }

    /// Every query must match; none at all matches everything.
    pub fn all_of(queries: impl IntoIterator<Item = SearchQuery>) -> Self {
        SearchQuery::And(queries.into_iter().collect())
    }

    /// At least one query must match, as nested ORs (balanced, so even thousands of
    /// alternatives stay shallow). An empty list matches nothing (`NOT ALL`).
    pub fn any_of(queries: impl IntoIterator<Item = SearchQuery>) -> Self {
        let mut level: Vec<SearchQuery> = queries.into_iter().collect();
        if level.is_empty() {
            return SearchQuery::All.negated();
        }
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut it = level.into_iter();
            while let Some(a) = it.next() {
                match it.next() {
                    Some(b) => next.push(a.or(b)),
                    None => next.push(a),
                }
            }
            level = next;
        }
        level.pop().unwrap_or(SearchQuery::All)
    }

    /// Whether some text in the query is not ASCII, so that the command needs
    /// `CHARSET UTF-8`.
    pub fn needs_utf8_charset(&self) -> bool {
        let mut stack = vec![self];
        while let Some(q) = stack.pop() {
            match q {
                SearchQuery::Bcc(t)
                | SearchQuery::Body(t)
                | SearchQuery::Cc(t)
                | SearchQuery::From(t)
                | SearchQuery::Subject(t)
                | SearchQuery::Text(t)
                | SearchQuery::To(t)
                | SearchQuery::GmailRaw(t)
                    if !t.is_ascii() =>
                {
                    return true;
                }
                SearchQuery::Header(name, value) if !name.is_ascii() || !value.is_ascii() => {
                    return true;
                }
                SearchQuery::Not(inner) => stack.push(inner),
                SearchQuery::Or(a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                SearchQuery::And(keys) => stack.extend(keys.iter()),
                _ => {}
            }
        }
        false
    }

    /// The UIDs a message must be among to match, when the query says (its `UID` keys,
    /// combined through AND and OR; a key with `*` or under NOT bounds nothing): what a
    /// search answer is clipped to. `None` when any UID may match.
    pub(crate) fn uid_bound(&self) -> Option<SequenceSet> {
        self.uid_bound_at(0)
    }

    /// [`uid_bound`](Self::uid_bound) at nesting `depth` (bounded like the encoder's).
    fn uid_bound_at(&self, depth: usize) -> Option<SequenceSet> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self {
            // `n:*` also matches the largest UID when it is below n (RFC 9051 §6.4.4).
            SearchQuery::Uid(set) if !set.has_star() => Some(set.clone()),
            SearchQuery::And(keys) => keys
                .iter()
                .filter_map(|k| k.uid_bound_at(depth + 1))
                .reduce(|a, b| a.intersection(&b)),
            SearchQuery::Or(a, b) => Some(
                a.uid_bound_at(depth + 1)?
                    .union(&b.uid_bound_at(depth + 1)?),
            ),
            _ => None,
        }
    }

    /// Writes the search program (keys separated by spaces).
    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            SearchQuery::And(keys) if !keys.is_empty() => {
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        w.sp();
                    }
                    key.encode_key(w, 1)?;
                }
                Ok(())
            }
            other => other.encode_key(w, 0),
        }
    }

    fn encode_key(&self, w: &mut Writer<'_>, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::invalid(
                "search query",
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let text = |w: &mut Writer<'_>, key: &str, t: &str| -> Result<()> {
            w.token(key);
            w.sp();
            w.astring(t.as_bytes(), "search text")
        };
        let date = |w: &mut Writer<'_>, key: &str, d: &ImapDate| {
            w.token(key);
            w.sp();
            w.token(&d.to_string());
        };
        match self {
            SearchQuery::All => w.token("ALL"),
            SearchQuery::Answered => w.token("ANSWERED"),
            SearchQuery::Bcc(t) => text(w, "BCC", t)?,
            SearchQuery::Before(d) => date(w, "BEFORE", d),
            SearchQuery::Body(t) => text(w, "BODY", t)?,
            SearchQuery::Cc(t) => text(w, "CC", t)?,
            SearchQuery::Deleted => w.token("DELETED"),
            SearchQuery::Draft => w.token("DRAFT"),
            SearchQuery::Flagged => w.token("FLAGGED"),
            SearchQuery::From(t) => text(w, "FROM", t)?,
            SearchQuery::Header(name, value) => {
                w.token("HEADER ");
                w.astring(name.as_bytes(), "header field name")?;
                w.sp();
                w.astring(value.as_bytes(), "search text")?;
            }
            SearchQuery::Keyword(k) | SearchQuery::Unkeyword(k) => {
                check_atom(k, "flag keyword")?;
                w.token(if matches!(self, SearchQuery::Keyword(_)) {
                    "KEYWORD "
                } else {
                    "UNKEYWORD "
                });
                w.token(k);
            }
            SearchQuery::Larger(n) => {
                w.token("LARGER ");
                w.number(*n);
            }
            SearchQuery::New => w.token("NEW"),
            SearchQuery::Not(inner) => {
                w.token("NOT ");
                inner.encode_key(w, depth + 1)?;
            }
            SearchQuery::Old => w.token("OLD"),
            SearchQuery::On(d) => date(w, "ON", d),
            SearchQuery::Or(a, b) => {
                w.token("OR ");
                a.encode_key(w, depth + 1)?;
                w.sp();
                b.encode_key(w, depth + 1)?;
            }
            SearchQuery::Recent => w.token("RECENT"),
            SearchQuery::Seen => w.token("SEEN"),
            SearchQuery::SentBefore(d) => date(w, "SENTBEFORE", d),
            SearchQuery::SentOn(d) => date(w, "SENTON", d),
            SearchQuery::SentSince(d) => date(w, "SENTSINCE", d),
            SearchQuery::Since(d) => date(w, "SINCE", d),
            SearchQuery::Smaller(n) => {
                w.token("SMALLER ");
                w.number(*n);
            }
            SearchQuery::Subject(t) => text(w, "SUBJECT", t)?,
            SearchQuery::Text(t) => text(w, "TEXT", t)?,
            SearchQuery::To(t) => text(w, "TO", t)?,
            SearchQuery::Uid(set) => {
                w.token("UID ");
                w.set(set, "UID set")?;
            }
            SearchQuery::Unanswered => w.token("UNANSWERED"),
            SearchQuery::Undeleted => w.token("UNDELETED"),
            SearchQuery::Undraft => w.token("UNDRAFT"),
            SearchQuery::Unflagged => w.token("UNFLAGGED"),
            SearchQuery::Unseen => w.token("UNSEEN"),
            SearchQuery::SequenceSet(set) => w.set(set, "message set")?,
            SearchQuery::And(keys) => match keys.as_slice() {
                [] => w.token("ALL"),
                [one] => one.encode_key(w, depth + 1)?,
                many => {
                    w.token("(");
                    for (i, key) in many.iter().enumerate() {
                        if i > 0 {
                            w.sp();
                        }
                        key.encode_key(w, depth + 1)?;
                    }
                    w.token(")");
                }
            },
            SearchQuery::ModSeq(n) => {
                if *n > i64::MAX as u64 {
                    return Err(Error::invalid("MODSEQ", "exceeds 2^63 - 1"));
                }
                w.token("MODSEQ ");
                w.number(*n);
            }
            SearchQuery::GmailRaw(t) => text(w, "X-GM-RAW", t)?,
            SearchQuery::EmailId(id) | SearchQuery::ThreadId(id) => {
                if !is_objectid(id.as_bytes()) {
                    return Err(Error::invalid(
                        "object id",
                        format!(
                            "{id:?} is not an RFC 8474 object id (1 to 255 letters, digits, `_` or `-`)"
                        ),
                    ));
                }
                w.token(if matches!(self, SearchQuery::EmailId(_)) {
                    "EMAILID "
                } else {
                    "THREADID "
                });
                w.token(id);
            }
            SearchQuery::GmailMessageId(n) => {
                w.token("X-GM-MSGID ");
                w.number(*n);
            }
            SearchQuery::GmailThreadId(n) => {
                w.token("X-GM-THRID ");
                w.number(*n);
            }
            SearchQuery::GmailLabel(label) => {
                w.token("X-GM-LABELS ");
                write_gmail_label(w, label)?;
            }
        }
        Ok(())
    }
}

/// Writes a Gmail label (in `X-GM-LABELS` searches and stores): a system label
/// (`\Inbox`, `\Important`, `\Starred`: a backslash and an atom) as it is; any
/// other label like a mailbox name, in modified UTF-7 (UTF-8 after `UTF8=ACCEPT`) as an
/// astring. An empty label, or one holding NUL, is refused.
pub(crate) fn write_gmail_label(w: &mut Writer<'_>, label: &str) -> Result<()> {
    refuse_nul(label.as_bytes(), "Gmail label")?;
    if label.is_empty() {
        return Err(Error::invalid("Gmail label", "is empty"));
    }
    if let Some(name) = label.strip_prefix('\\')
        && !name.is_empty()
        && name.bytes().all(is_atom_char)
    {
        w.token(label);
        return Ok(());
    }
    let wire = if w.options().utf8_accept {
        label.as_bytes().to_vec()
    } else {
        utf7::encode(label).into_bytes()
    };
    w.write_string(&wire, Syntax::Astring, false, "Gmail label")
}

impl std::ops::Not for SearchQuery {
    type Output = SearchQuery;

    fn not(self) -> SearchQuery {
        self.negated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> ImapDate {
        ImapDate::new(y, m, day).unwrap()
    }

    fn encoded(q: &SearchQuery, utf8: bool) -> Result<String> {
        let opts = crate::imap::codec::EncodeOptions::new().with_utf8_accept(utf8);
        let mut w = Writer::new(&opts);
        q.encode(&mut w)?;
        let bytes = w.finish().to_bytes();
        Ok(String::from_utf8_lossy(bytes.strip_suffix(b"\r\n").unwrap_or(&bytes)).into_owned())
    }

    #[test]
    fn object_id_and_gmail_keys() {
        // RFC 8474 §6 and Gmail's examples.
        let q =
            SearchQuery::email_id("M6d99ac3275bb4e").or(SearchQuery::thread_id("T64b478a75b7ea9"));
        assert_eq!(
            encoded(&q, false).unwrap(),
            "OR EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9"
        );
        let q = SearchQuery::gmail_message_id(1278455344230334865)
            .and(SearchQuery::gmail_thread_id(1266894439832287888))
            .and(SearchQuery::gmail_label("foo"))
            .and(SearchQuery::gmail_label("\\Important"))
            .and(SearchQuery::gmail_label("Muy Importante"))
            .and(SearchQuery::gmail_label("Übung"))
            .and(SearchQuery::gmail_label("\\Odd label"));
        assert_eq!(
            encoded(&q, false).unwrap(),
            "X-GM-MSGID 1278455344230334865 X-GM-THRID 1266894439832287888 X-GM-LABELS foo \
             X-GM-LABELS \\Important X-GM-LABELS \"Muy Importante\" X-GM-LABELS &ANw-bung \
             X-GM-LABELS \"\\\\Odd label\""
        );
        assert!(!q.needs_utf8_charset());
        assert_eq!(
            encoded(&SearchQuery::gmail_label("Übung"), true).unwrap(),
            "X-GM-LABELS \"Übung\""
        );
        // Ids outside the grammar and empty labels never reach the wire.
        for bad in [
            SearchQuery::email_id("M6d9 OR ALL"),
            SearchQuery::thread_id(""),
            SearchQuery::email_id("a".repeat(256)),
            SearchQuery::gmail_label(""),
            SearchQuery::gmail_label("a\0b"),
        ] {
            assert!(encoded(&bad, false).is_err(), "{bad:?}");
        }
        // Which capability each needs, through NOT / OR / AND.
        let nested = !SearchQuery::all().and(SearchQuery::seen().or(SearchQuery::thread_id("T1")));
        assert_eq!(nested.missing_capability(&|_| false), Some("OBJECTID"));
        assert_eq!(nested.missing_capability(&|c| c == "OBJECTID"), None);
        assert_eq!(
            SearchQuery::gmail_label("x").missing_capability(&|c| c == "OBJECTID"),
            Some("X-GM-EXT-1")
        );
        assert_eq!(SearchQuery::unseen().missing_capability(&|_| false), None);
        let e = nested.check_offered(&|_| false).unwrap_err().to_string();
        assert!(
            e.contains("OBJECTID") && e.contains("has_capability"),
            "{e}"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(d(2024, 2, 1).to_string(), "1-Feb-2024");
        assert_eq!(d(2024, 2, 29).to_string(), "29-Feb-2024");
        assert!(ImapDate::new(2023, 2, 29).is_err());
        assert!(ImapDate::new(1900, 2, 29).is_err());
        assert!(ImapDate::new(2000, 2, 29).is_ok());
        assert!(ImapDate::new(2024, 4, 31).is_err());
        assert!(ImapDate::new(2024, 13, 1).is_err());
        assert!(ImapDate::new(2024, 0, 1).is_err());
        assert!(ImapDate::new(0, 1, 1).is_err());
        assert_eq!(ImapDate::parse("01-dec-1999").unwrap(), d(1999, 12, 1));
        for bad in [
            "1-Foo-2024",
            "1-Feb-24",
            "001-Feb-2024",
            "1-Feb-2024-",
            "",
            "x-Feb-2024",
        ] {
            assert!(ImapDate::parse(bad).is_err(), "{bad}");
        }
    }
}
