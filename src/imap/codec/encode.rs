//! IMAP command encoder.
//!
//! Commands are built, never concatenated: a [`Command`] is a typed value, and
//! [`Command::encode`] turns it into an [`EncodedCommand`] ready to send. Every
//! user-supplied string (mailbox name, search text, flag keyword, credential, header name)
//! goes through one function that writes it as an atom when every byte allows it, as a
//! quoted string when it is printable 7-bit text (or UTF-8 after `ENABLE UTF8=ACCEPT`), and
//! as a literal otherwise. NUL is refused, CR and LF are only ever sent inside a literal,
//! so no input can end the command early or smuggle in a second one.
//!
//! A command with a synchronizing literal is sent in several parts: send a part, and when
//! it ends with a literal announcement `{n}\r\n`, wait for the server's `+` continuation
//! before sending the next. With `LITERAL+` (or `LITERAL-` for literals up to 4096 bytes)
//! the command is one part.

use std::fmt;

use crate::error::{Error, Result};
use crate::imap::codec::utf7;
use crate::imap::search::{ImapDate, SearchQuery};
use crate::imap::seqset::SequenceSet;

pub use crate::imap::codec::writer::{
    EncodeOptions, EncodedCommand, LITERAL_MINUS_MAX, LiteralMode,
};
#[cfg(test)]
use crate::imap::codec::writer::{Repr, choose};
use crate::imap::codec::writer::{Syntax, Writer, check_atom, is_astring_char, refuse_nul};

/// The largest mod-sequence value (RFC 7162: 63 bits).
const MAX_MODSEQ: u64 = i64::MAX as u64;

/// The line that ends `IDLE`: `DONE\r\n` (untagged).
pub fn idle_done() -> EncodedCommand {
    EncodedCommand::line(b"DONE\r\n".to_vec(), "DONE")
}

/// A SASL answer line whose text is already encoded (base64, or `*` to cancel); traced
/// as `<redacted>`.
pub(crate) fn sasl_line(text: &str) -> EncodedCommand {
    let mut line = text.as_bytes().to_vec();
    line.extend_from_slice(b"\r\n");
    EncodedCommand::line(line, "<redacted>")
}

/// A client response in an `AUTHENTICATE` exchange: `data` in BASE64 and CRLF (an empty
/// response is an empty line). Redacted in the trace.
pub fn sasl_response(data: &[u8]) -> EncodedCommand {
    let mut line = crate::base64::encode(data).into_bytes();
    line.extend_from_slice(b"\r\n");
    EncodedCommand::line(line, "<redacted>")
}

/// A secret (password, token, SASL initial response): sent as given, shown as `<redacted>`
/// by `Debug` and in traces.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.as_bytes().to_vec())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s.into_bytes())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(v: Vec<u8>) -> Secret {
        Secret(v)
    }
}

/// A mailbox name as a command argument.
///
/// [`Mailbox::new`] takes the name as a person reads it (`Entwürfe`); it is sent in modified
/// UTF-7 (or as UTF-8 after `UTF8=ACCEPT`), and `INBOX` in any letter case is sent as
/// `INBOX`. [`Mailbox::from_wire`] takes a name exactly as the server sent it (from `LIST`)
/// and sends those bytes unchanged, which also reaches mailboxes whose names are not valid
/// modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox(MailboxRepr);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MailboxRepr {
    Name(String),
    Wire(Vec<u8>),
}

impl Mailbox {
    /// A mailbox by its (decoded) name.
    pub fn new(name: impl Into<String>) -> Mailbox {
        Mailbox(MailboxRepr::Name(name.into()))
    }

    /// A mailbox by the exact bytes the server uses for it.
    pub fn from_wire(bytes: impl Into<Vec<u8>>) -> Mailbox {
        Mailbox(MailboxRepr::Wire(bytes.into()))
    }

    /// `INBOX`.
    pub fn inbox() -> Mailbox {
        Mailbox::new("INBOX")
    }

    /// Whether this is `INBOX` (case-insensitive).
    pub fn is_inbox(&self) -> bool {
        match &self.0 {
            MailboxRepr::Name(n) => n.eq_ignore_ascii_case("INBOX"),
            MailboxRepr::Wire(w) => w.eq_ignore_ascii_case(b"INBOX"),
        }
    }

    /// The bytes the name has on the wire (before quoting).
    pub(crate) fn wire_bytes(&self, opts: &EncodeOptions) -> Vec<u8> {
        if self.is_inbox() {
            return b"INBOX".to_vec();
        }
        match &self.0 {
            MailboxRepr::Name(n) if opts.utf8_accept => n.as_bytes().to_vec(),
            MailboxRepr::Name(n) => utf7::encode(n).into_bytes(),
            MailboxRepr::Wire(w) => w.clone(),
        }
    }
}

impl From<&str> for Mailbox {
    fn from(s: &str) -> Mailbox {
        Mailbox::new(s)
    }
}

impl From<String> for Mailbox {
    fn from(s: String) -> Mailbox {
        Mailbox::new(s)
    }
}

impl From<&String> for Mailbox {
    fn from(s: &String) -> Mailbox {
        Mailbox::new(s.as_str())
    }
}

/// A message flag to store or to append with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flag {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// A keyword such as `$Forwarded` or `Work`: must be an IMAP atom (checked when
    /// encoding, or up front with [`Flag::keyword`]).
    Keyword(String),
}

impl Flag {
    /// A keyword flag, checked to be a valid atom (no space, parentheses, braces, quotes,
    /// backslash, `%`, `*`, `]`, control or 8-bit characters; not empty).
    pub fn keyword(name: impl Into<String>) -> Result<Flag> {
        let name = name.into();
        check_atom(&name, "flag keyword")?;
        Ok(Flag::Keyword(name))
    }

    /// Parses `\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft` (any case) or a
    /// keyword. Other `\` flags (such as `\Recent`) cannot be set and are refused.
    pub fn parse(s: &str) -> Result<Flag> {
        let system = [
            ("\\Seen", Flag::Seen),
            ("\\Answered", Flag::Answered),
            ("\\Flagged", Flag::Flagged),
            ("\\Deleted", Flag::Deleted),
            ("\\Draft", Flag::Draft),
        ];
        for (name, flag) in system {
            if s.eq_ignore_ascii_case(name) {
                return Ok(flag);
            }
        }
        if s.starts_with('\\') {
            return Err(Error::invalid(
                "flag",
                format!("{s:?} is not a system flag a client can set"),
            ));
        }
        Flag::keyword(s)
    }

    fn wire(&self) -> Result<&str> {
        Ok(match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
            Flag::Keyword(k) => {
                check_atom(k, "flag keyword")?;
                k
            }
        })
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Keyword(k) => f.write_str(k),
            other => f.write_str(other.wire().unwrap_or("")),
        }
    }
}

/// The internal date given to `APPEND`: `"dd-Mon-yyyy hh:mm:ss +zzzz"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InternalDate {
    date: ImapDate,
    hour: u8,
    minute: u8,
    second: u8,
    zone_minutes: i16,
}

impl InternalDate {
    /// A date and time with its UTC offset in minutes (east positive, e.g. 60 for +0100).
    /// Fails on an hour over 23, a minute or second over 59, or an offset beyond ±23:59.
    pub fn new(
        date: ImapDate,
        hour: u8,
        minute: u8,
        second: u8,
        zone_minutes: i16,
    ) -> Result<InternalDate> {
        if hour > 23 || minute > 59 || second > 59 {
            return Err(Error::invalid(
                "internal date",
                format!("{hour:02}:{minute:02}:{second:02} is not a valid time"),
            ));
        }
        if zone_minutes.unsigned_abs() > 23 * 60 + 59 {
            return Err(Error::invalid(
                "internal date",
                format!("UTC offset of {zone_minutes} minutes is out of range"),
            ));
        }
        Ok(InternalDate {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        })
    }

    /// Parses the IMAP form `dd-Mon-yyyy hh:mm:ss +zzzz` (the day may be one digit or
    /// space-padded), refusing anything else.
    pub fn parse(s: &str) -> Result<InternalDate> {
        let bad = || {
            Error::invalid(
                "internal date",
                format!("{s:?} is not dd-Mon-yyyy hh:mm:ss +zzzz"),
            )
        };
        let s2 = s.strip_prefix(' ').unwrap_or(s);
        let mut fields = s2.split(' ');
        let (Some(date), Some(time), Some(zone), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let date = ImapDate::parse(date)?;
        let num = |t: &str| -> Result<u8> {
            if t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let mut hms = time.split(':');
        let (Some(h), Some(m), Some(sec), None) = (hms.next(), hms.next(), hms.next(), hms.next())
        else {
            return Err(bad());
        };
        let (sign, digits) = match zone.as_bytes().first() {
            Some(b'+') => (1i16, zone.get(1..).unwrap_or("")),
            Some(b'-') => (-1i16, zone.get(1..).unwrap_or("")),
            _ => return Err(bad()),
        };
        if digits.len() != 4 {
            return Err(bad());
        }
        let zh = num(digits.get(..2).unwrap_or(""))?;
        let zm = num(digits.get(2..).unwrap_or(""))?;
        if zh > 23 || zm > 59 {
            return Err(bad());
        }
        let zone_minutes = sign * (i16::from(zh) * 60 + i16::from(zm));
        InternalDate::new(date, num(h)?, num(m)?, num(sec)?, zone_minutes)
    }

    /// The date part.
    pub fn date(&self) -> ImapDate {
        self.date
    }

    /// Hour, minute and second.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// The UTC offset in minutes.
    pub fn zone_minutes(&self) -> i16 {
        self.zone_minutes
    }
}

impl fmt::Display for InternalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.zone_minutes < 0 { '-' } else { '+' };
        let z = self.zone_minutes.unsigned_abs();
        write!(
            f,
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            self.date.day(),
            self.date.month_name(),
            self.date.year(),
            self.hour,
            self.minute,
            self.second,
            z / 60,
            z % 60
        )
    }
}

/// Options of `SELECT` / `EXAMINE`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SelectOptions {
    /// Sends `(CONDSTORE)` (RFC 7162): the server then reports mod-sequences.
    pub condstore: bool,
    /// Sends `(QRESYNC (...))` (RFC 7162) to resynchronize a cached mailbox.
    pub qresync: Option<Qresync>,
}

impl SelectOptions {
    /// No options.
    pub fn new() -> SelectOptions {
        SelectOptions::default()
    }

    /// Asks for `CONDSTORE`.
    #[must_use]
    pub fn condstore(mut self) -> SelectOptions {
        self.condstore = true;
        self
    }

    /// Asks for `QRESYNC` with the cached state.
    #[must_use]
    pub fn qresync(mut self, qresync: Qresync) -> SelectOptions {
        self.qresync = Some(qresync);
        self
    }
}

/// The cached state sent with `SELECT ... (QRESYNC (...))`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Qresync {
    /// The UIDVALIDITY of the cache.
    pub uid_validity: u32,
    /// The highest mod-sequence the cache has seen.
    pub mod_seq: u64,
    /// The UIDs the cache knows, if given.
    pub known_uids: Option<SequenceSet>,
}

impl Qresync {
    /// QRESYNC parameters from a cache's UIDVALIDITY and highest mod-sequence.
    pub fn new(uid_validity: u32, mod_seq: u64) -> Qresync {
        Qresync {
            uid_validity,
            mod_seq,
            known_uids: None,
        }
    }

    /// Adds the known UIDs.
    #[must_use]
    pub fn with_known_uids(mut self, uids: SequenceSet) -> Qresync {
        self.known_uids = Some(uids);
        self
    }
}

/// An item of `STATUS` (and of `LIST ... RETURN (STATUS (...))`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusItem {
    /// `MESSAGES`.
    Messages,
    /// `RECENT` (IMAP4rev1 only).
    Recent,
    /// `UIDNEXT`.
    UidNext,
    /// `UIDVALIDITY`.
    UidValidity,
    /// `UNSEEN`.
    Unseen,
    /// `DELETED` (IMAP4rev2).
    Deleted,
    /// `SIZE` (IMAP4rev2 / STATUS=SIZE).
    Size,
    /// `HIGHESTMODSEQ` (CONDSTORE).
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889).
    AppendLimit,
}

impl StatusItem {
    fn wire(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
        }
    }
}

/// `LIST ... RETURN (...)` options (RFC 5258, 6154, 5819).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListReturn {
    /// `SUBSCRIBED`.
    pub subscribed: bool,
    /// `CHILDREN`.
    pub children: bool,
    /// `SPECIAL-USE`.
    pub special_use: bool,
    /// `STATUS (...)`, when not empty.
    pub status: Vec<StatusItem>,
}

impl ListReturn {
    /// No return options (a plain `LIST`).
    pub fn new() -> ListReturn {
        ListReturn::default()
    }

    /// Asks for `SUBSCRIBED`.
    #[must_use]
    pub fn subscribed(mut self) -> ListReturn {
        self.subscribed = true;
        self
    }

    /// Asks for `CHILDREN`.
    #[must_use]
    pub fn children(mut self) -> ListReturn {
        self.children = true;
        self
    }

    /// Asks for `SPECIAL-USE`.
    #[must_use]
    pub fn special_use(mut self) -> ListReturn {
        self.special_use = true;
        self
    }

    /// Asks for `STATUS (items)`.
    #[must_use]
    pub fn status(mut self, items: impl IntoIterator<Item = StatusItem>) -> ListReturn {
        self.status = items.into_iter().collect();
        self
    }

    fn is_empty(&self) -> bool {
        !self.subscribed && !self.children && !self.special_use && self.status.is_empty()
    }
}

/// `SEARCH RETURN (...)` options (ESEARCH, RFC 4731).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SearchReturn {
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `ALL`: the matches as a sequence set.
    All,
    /// `COUNT`.
    Count,
    /// `SAVE` (SEARCHRES, RFC 5182).
    Save,
}

impl SearchReturn {
    fn wire(self) -> &'static str {
        match self {
            SearchReturn::Min => "MIN",
            SearchReturn::Max => "MAX",
            SearchReturn::All => "ALL",
            SearchReturn::Count => "COUNT",
            SearchReturn::Save => "SAVE",
        }
    }
}

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

/// An item of `FETCH`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchItem {
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
    /// `X-GM-MSGID` (Gmail).
    GmailMessageId,
    /// `X-GM-THRID` (Gmail).
    GmailThreadId,
    /// `X-GM-LABELS` (Gmail).
    GmailLabels,
}

impl FetchItem {
    /// `BODY.PEEK[section]`: fetch without setting `\Seen`.
    pub fn peek(section: Section) -> FetchItem {
        FetchItem::Body {
            section,
            partial: None,
            peek: true,
        }
    }

    /// `BODY.PEEK[]`: the whole raw message, without setting `\Seen`.
    pub fn full_message() -> FetchItem {
        FetchItem::peek(Section::full())
    }
}

/// How `STORE` changes the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreAction {
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
    /// `FLAGS`: replace.
    Replace,
}

/// An argument of [`Command::RawExtension`]. Every variant is checked before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawArg {
    /// An atom: refused unless every byte is an ATOM-CHAR.
    Atom(String),
    /// A string, sent as atom, quoted string or literal like any user string.
    String(Vec<u8>),
    /// A number.
    Number(u64),
    /// A sequence set.
    Set(SequenceSet),
    /// A mailbox name, encoded like every mailbox argument.
    Mailbox(Mailbox),
    /// Syntax written as given (e.g. `(FOO BAR)`): printable ASCII only, so it cannot
    /// contain CR, LF or NUL.
    Verbatim(String),
}

/// A command the client sends. Encode it with [`Command::encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `STARTTLS`.
    StartTls,
    /// `LOGIN user password` (the password is redacted in traces).
    Login {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
    /// `AUTHENTICATE mechanism [initial-response]`; the initial response (SASL-IR,
    /// RFC 4959) is given raw and sent in BASE64 (`=` when empty), redacted in traces.
    Authenticate {
        /// The SASL mechanism name (an atom, e.g. `PLAIN`, `XOAUTH2`).
        mechanism: String,
        /// The initial client response, if the server has `SASL-IR`.
        initial_response: Option<Secret>,
    },
    /// `ENABLE cap ...` (RFC 5161).
    Enable(Vec<String>),
    /// `ID (field value ...)` or `ID NIL` (RFC 2971).
    Id(Vec<(String, Option<String>)>),
    /// `NAMESPACE`.
    Namespace,
    /// `SELECT mailbox [(options)]`.
    Select {
        /// The mailbox.
        mailbox: Mailbox,
        /// CONDSTORE / QRESYNC.
        options: SelectOptions,
    },
    /// `EXAMINE mailbox [(options)]`: read-only select.
    Examine {
        /// The mailbox.
        mailbox: Mailbox,
        /// CONDSTORE / QRESYNC.
        options: SelectOptions,
    },
    /// `CREATE mailbox`.
    Create(Mailbox),
    /// `DELETE mailbox`.
    Delete(Mailbox),
    /// `RENAME from to`.
    Rename {
        /// The existing mailbox.
        from: Mailbox,
        /// The new name.
        to: Mailbox,
    },
    /// `SUBSCRIBE mailbox`.
    Subscribe(Mailbox),
    /// `UNSUBSCRIBE mailbox`.
    Unsubscribe(Mailbox),
    /// `LIST reference pattern [RETURN (...)]`; the pattern may hold `*` and `%`.
    List {
        /// The reference name (usually empty).
        reference: Mailbox,
        /// The mailbox pattern, e.g. `*`.
        pattern: String,
        /// Return options.
        returns: ListReturn,
    },
    /// `LSUB reference pattern`.
    Lsub {
        /// The reference name (usually empty).
        reference: Mailbox,
        /// The mailbox pattern.
        pattern: String,
    },
    /// `STATUS mailbox (items)`.
    Status {
        /// The mailbox.
        mailbox: Mailbox,
        /// The items asked for (at least one).
        items: Vec<StatusItem>,
    },
    /// `CHECK`.
    Check,
    /// `CLOSE`.
    Close,
    /// `UNSELECT`.
    Unselect,
    /// `EXPUNGE`.
    Expunge,
    /// `UID EXPUNGE set` (UIDPLUS).
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH [RETURN (...)] [CHARSET UTF-8] query`; `CHARSET UTF-8` is added when
    /// the query has non-ASCII text.
    Search {
        /// `UID SEARCH` (answers UIDs) instead of `SEARCH`.
        uid: bool,
        /// The query.
        query: SearchQuery,
        /// ESEARCH return options.
        returns: Option<Vec<SearchReturn>>,
    },
    /// `[UID] FETCH set (items) [(CHANGEDSINCE n [VANISHED])]`.
    Fetch {
        /// `UID FETCH` instead of `FETCH`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The items (at least one).
        items: Vec<FetchItem>,
        /// `CHANGEDSINCE` mod-sequence (CONDSTORE).
        changed_since: Option<u64>,
        /// `VANISHED` (QRESYNC; only with `uid` and `changed_since`).
        vanished: bool,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)`.
    Store {
        /// `UID STORE` instead of `STORE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// Add, remove or replace.
        action: StoreAction,
        /// `.SILENT`: no untagged FETCH answer.
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
        /// `UNCHANGEDSINCE` mod-sequence (CONDSTORE).
        unchanged_since: Option<u64>,
    },
    /// `[UID] COPY set mailbox`.
    Copy {
        /// `UID COPY` instead of `COPY`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: Mailbox,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851).
    Move {
        /// `UID MOVE` instead of `MOVE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: Mailbox,
    },
    /// `APPEND mailbox [(flags)] ["date"] literal`.
    Append {
        /// The destination.
        mailbox: Mailbox,
        /// Flags to set on the new message.
        flags: Vec<Flag>,
        /// The internal date (the server's clock when absent).
        date: Option<InternalDate>,
        /// The raw message (RFC 5322, CRLF line ends). Must not be empty; NUL only with
        /// `binary`.
        message: Vec<u8>,
        /// Send as `literal8` `~{n}` (only when the server has `BINARY`).
        binary: bool,
    },
    /// `IDLE`; end it with [`idle_done`].
    Idle,
    /// `GETQUOTAROOT mailbox`.
    GetQuotaRoot(Mailbox),
    /// `GETQUOTA root`.
    GetQuota(String),
    /// The escape hatch for extension commands this type does not cover: `name args...`.
    /// The name must be an atom and every argument is checked, so it cannot inject CR,
    /// LF or NUL; build it with [`Command::raw_extension`].
    RawExtension {
        /// The command name.
        name: String,
        /// The arguments.
        args: Vec<RawArg>,
    },
}

impl Command {
    /// `LOGIN user password`.
    pub fn login(user: impl Into<String>, password: impl Into<Secret>) -> Command {
        Command::Login {
            user: user.into(),
            password: password.into(),
        }
    }

    /// `SELECT mailbox` without options.
    pub fn select(mailbox: impl Into<Mailbox>) -> Command {
        Command::Select {
            mailbox: mailbox.into(),
            options: SelectOptions::default(),
        }
    }

    /// `EXAMINE mailbox` without options.
    pub fn examine(mailbox: impl Into<Mailbox>) -> Command {
        Command::Examine {
            mailbox: mailbox.into(),
            options: SelectOptions::default(),
        }
    }

    /// `LIST "" pattern`.
    pub fn list(pattern: impl Into<String>) -> Command {
        Command::List {
            reference: Mailbox::new(""),
            pattern: pattern.into(),
            returns: ListReturn::default(),
        }
    }

    /// `UID SEARCH query`.
    pub fn uid_search(query: SearchQuery) -> Command {
        Command::Search {
            uid: true,
            query,
            returns: None,
        }
    }

    /// `UID FETCH set (items)`.
    pub fn uid_fetch(set: SequenceSet, items: impl IntoIterator<Item = FetchItem>) -> Command {
        Command::Fetch {
            uid: true,
            set,
            items: items.into_iter().collect(),
            changed_since: None,
            vanished: false,
        }
    }

    /// `UID STORE set +FLAGS/-FLAGS/FLAGS (flags)`.
    pub fn uid_store(
        set: SequenceSet,
        action: StoreAction,
        flags: impl IntoIterator<Item = Flag>,
    ) -> Command {
        Command::Store {
            uid: true,
            set,
            action,
            silent: false,
            flags: flags.into_iter().collect(),
            unchanged_since: None,
        }
    }

    /// `APPEND mailbox (flags) message`.
    pub fn append(
        mailbox: impl Into<Mailbox>,
        flags: impl IntoIterator<Item = Flag>,
        message: impl Into<Vec<u8>>,
    ) -> Command {
        Command::Append {
            mailbox: mailbox.into(),
            flags: flags.into_iter().collect(),
            date: None,
            message: message.into(),
            binary: false,
        }
    }

    /// An extension command this type does not model: `name args...`. The name must be
    /// an atom; the arguments are checked when encoding.
    pub fn raw_extension(
        name: impl Into<String>,
        args: impl IntoIterator<Item = RawArg>,
    ) -> Command {
        Command::RawExtension {
            name: name.into(),
            args: args.into_iter().collect(),
        }
    }

    /// The command's name as sent (`SELECT`, `UID FETCH`, ...), for logs and errors.
    pub fn name(&self) -> &str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::StartTls => "STARTTLS",
            Command::Login { .. } => "LOGIN",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Enable(_) => "ENABLE",
            Command::Id(_) => "ID",
            Command::Namespace => "NAMESPACE",
            Command::Select { .. } => "SELECT",
            Command::Examine { .. } => "EXAMINE",
            Command::Create(_) => "CREATE",
            Command::Delete(_) => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe(_) => "SUBSCRIBE",
            Command::Unsubscribe(_) => "UNSUBSCRIBE",
            Command::List { .. } => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Status { .. } => "STATUS",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge => "EXPUNGE",
            Command::UidExpunge(_) => "UID EXPUNGE",
            Command::Search { uid: true, .. } => "UID SEARCH",
            Command::Search { .. } => "SEARCH",
            Command::Fetch { uid: true, .. } => "UID FETCH",
            Command::Fetch { .. } => "FETCH",
            Command::Store { uid: true, .. } => "UID STORE",
            Command::Store { .. } => "STORE",
            Command::Copy { uid: true, .. } => "UID COPY",
            Command::Copy { .. } => "COPY",
            Command::Move { uid: true, .. } => "UID MOVE",
            Command::Move { .. } => "MOVE",
            Command::Append { .. } => "APPEND",
            Command::Idle => "IDLE",
            Command::GetQuotaRoot(_) => "GETQUOTAROOT",
            Command::GetQuota(_) => "GETQUOTA",
            Command::RawExtension { name, .. } => name,
        }
    }

    /// Encodes the command with `tag` (letters and digits are always safe; `+`, spaces,
    /// controls and the other atom specials are refused).
    ///
    /// Fails with [`Error::InvalidInput`], before anything is sent, on: NUL in any string,
    /// a flag keyword, capability, mechanism or extension name that is not an atom, an empty
    /// or 0-containing sequence set, an empty item list, an empty APPEND message (or one
    /// holding NUL without `binary`), out-of-range mod-sequences, and `VANISHED` without
    /// `UID FETCH ... CHANGEDSINCE`.
    pub fn encode(&self, tag: &str, opts: &EncodeOptions) -> Result<EncodedCommand> {
        check_tag(tag)?;
        let mut w = Writer::new(opts);
        w.token(tag);
        w.sp();
        w.token(self.name());
        self.encode_args(&mut w)?;
        Ok(w.finish())
    }

    fn encode_args(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Command::Capability
            | Command::Noop
            | Command::Logout
            | Command::StartTls
            | Command::Namespace
            | Command::Check
            | Command::Close
            | Command::Unselect
            | Command::Expunge
            | Command::Idle => {}
            Command::Login { user, password } => {
                w.sp();
                w.astring(user.as_bytes(), "user name")?;
                w.sp();
                w.write_string(password.expose(), Syntax::Astring, true, "password")?;
            }
            Command::Authenticate {
                mechanism,
                initial_response,
            } => {
                check_atom(mechanism, "SASL mechanism")?;
                w.sp();
                w.token(mechanism);
                if let Some(ir) = initial_response {
                    w.sp();
                    let text = if ir.expose().is_empty() {
                        "=".to_string()
                    } else {
                        crate::base64::encode(ir.expose())
                    };
                    w.secret_token(&text);
                }
            }
            Command::Enable(caps) => {
                if caps.is_empty() {
                    return Err(Error::invalid("ENABLE", "no capability given"));
                }
                for cap in caps {
                    check_atom(cap, "capability")?;
                    w.sp();
                    w.token(cap);
                }
            }
            Command::Id(fields) => {
                w.sp();
                if fields.is_empty() {
                    w.token("NIL");
                } else {
                    w.token("(");
                    for (i, (name, value)) in fields.iter().enumerate() {
                        if i > 0 {
                            w.sp();
                        }
                        w.string(name.as_bytes(), "ID field name")?;
                        w.sp();
                        match value {
                            Some(v) => w.string(v.as_bytes(), "ID field value")?,
                            None => w.token("NIL"),
                        }
                    }
                    w.token(")");
                }
            }
            Command::Select { mailbox, options } | Command::Examine { mailbox, options } => {
                w.sp();
                w.mailbox(mailbox)?;
                encode_select_options(w, options)?;
            }
            Command::Create(m)
            | Command::Delete(m)
            | Command::Subscribe(m)
            | Command::Unsubscribe(m)
            | Command::GetQuotaRoot(m) => {
                w.sp();
                w.mailbox(m)?;
            }
            Command::Rename { from, to } => {
                w.sp();
                w.mailbox(from)?;
                w.sp();
                w.mailbox(to)?;
            }
            Command::List {
                reference,
                pattern,
                returns,
            } => {
                w.sp();
                w.mailbox(reference)?;
                w.sp();
                w.pattern(pattern)?;
                if !returns.is_empty() {
                    w.token(" RETURN (");
                    let mut first = true;
                    let mut opt = |w: &mut Writer<'_>, t: &str| {
                        if !first {
                            w.sp();
                        }
                        first = false;
                        w.token(t);
                    };
                    if returns.subscribed {
                        opt(w, "SUBSCRIBED");
                    }
                    if returns.children {
                        opt(w, "CHILDREN");
                    }
                    if returns.special_use {
                        opt(w, "SPECIAL-USE");
                    }
                    if !returns.status.is_empty() {
                        opt(w, "STATUS ");
                        status_items(w, &returns.status)?;
                    }
                    w.token(")");
                }
            }
            Command::Lsub { reference, pattern } => {
                w.sp();
                w.mailbox(reference)?;
                w.sp();
                w.pattern(pattern)?;
            }
            Command::Status { mailbox, items } => {
                w.sp();
                w.mailbox(mailbox)?;
                w.sp();
                status_items(w, items)?;
            }
            Command::UidExpunge(set) => {
                w.sp();
                w.set(set, "UID set")?;
            }
            Command::Search { query, returns, .. } => {
                if let Some(returns) = returns {
                    w.token(" RETURN (");
                    for (i, r) in returns.iter().enumerate() {
                        if i > 0 {
                            w.sp();
                        }
                        w.token(r.wire());
                    }
                    w.token(")");
                }
                if query.needs_utf8_charset() {
                    w.token(" CHARSET UTF-8");
                }
                w.sp();
                query.encode(w)?;
            }
            Command::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                w.sp();
                w.set(set, "message set")?;
                if items.is_empty() {
                    return Err(Error::invalid("FETCH", "no fetch item given"));
                }
                w.token(" (");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        w.sp();
                    }
                    fetch_item(w, item)?;
                }
                w.token(")");
                if *vanished && !(*uid && changed_since.is_some()) {
                    return Err(Error::invalid(
                        "FETCH",
                        "VANISHED needs UID FETCH with CHANGEDSINCE",
                    ));
                }
                if let Some(since) = changed_since {
                    w.token(" (CHANGEDSINCE ");
                    w.number(check_modseq(*since, "CHANGEDSINCE")?);
                    if *vanished {
                        w.token(" VANISHED");
                    }
                    w.token(")");
                }
            }
            Command::Store {
                set,
                action,
                silent,
                flags,
                unchanged_since,
                ..
            } => {
                w.sp();
                w.set(set, "message set")?;
                if let Some(since) = unchanged_since {
                    w.token(" (UNCHANGEDSINCE ");
                    // UNCHANGEDSINCE 0 is valid: it fails for every message with a modseq.
                    if *since > MAX_MODSEQ {
                        return Err(Error::invalid("UNCHANGEDSINCE", "exceeds 2^63 - 1"));
                    }
                    w.number(*since);
                    w.token(")");
                }
                w.token(match action {
                    StoreAction::Add => " +FLAGS",
                    StoreAction::Remove => " -FLAGS",
                    StoreAction::Replace => " FLAGS",
                });
                if *silent {
                    w.token(".SILENT");
                }
                w.sp();
                flag_list(w, flags)?;
            }
            Command::Copy { set, mailbox, .. } | Command::Move { set, mailbox, .. } => {
                w.sp();
                w.set(set, "message set")?;
                w.sp();
                w.mailbox(mailbox)?;
            }
            Command::Append {
                mailbox,
                flags,
                date,
                message,
                binary,
            } => {
                w.sp();
                w.mailbox(mailbox)?;
                if !flags.is_empty() {
                    w.sp();
                    flag_list(w, flags)?;
                }
                if let Some(date) = date {
                    w.token(" \"");
                    w.token(&date.to_string());
                    w.token("\"");
                }
                if message.is_empty() {
                    return Err(Error::invalid(
                        "message",
                        "an empty message cannot be appended",
                    ));
                }
                if !binary && message.contains(&0) {
                    return Err(Error::invalid(
                        "message",
                        "contains NUL bytes, which need a binary APPEND (server capability BINARY)",
                    ));
                }
                w.sp();
                w.literal(message, *binary, false);
            }
            Command::GetQuota(root) => {
                w.sp();
                w.astring(root.as_bytes(), "quota root")?;
            }
            Command::RawExtension { name, args } => {
                check_atom(name, "extension command name")?;
                for arg in args {
                    w.sp();
                    match arg {
                        RawArg::Atom(a) => {
                            check_atom(a, "extension argument")?;
                            w.token(a);
                        }
                        RawArg::String(s) => w.astring(s, "extension argument")?,
                        RawArg::Number(n) => w.number(*n),
                        RawArg::Set(s) => w.set(s, "extension argument")?,
                        RawArg::Mailbox(m) => w.mailbox(m)?,
                        RawArg::Verbatim(v) => {
                            if v.is_empty() || !v.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                                return Err(Error::invalid(
                                    "extension argument",
                                    "verbatim syntax must be non-empty printable ASCII",
                                ));
                            }
                            w.token(v);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_modseq(v: u64, what: &str) -> Result<u64> {
    if v == 0 || v > MAX_MODSEQ {
        return Err(Error::invalid(
            what,
            format!("mod-sequence {v} is outside 1..=2^63-1"),
        ));
    }
    Ok(v)
}

fn encode_select_options(w: &mut Writer<'_>, options: &SelectOptions) -> Result<()> {
    if !options.condstore && options.qresync.is_none() {
        return Ok(());
    }
    w.token(" (");
    if options.condstore {
        w.token("CONDSTORE");
        if options.qresync.is_some() {
            w.sp();
        }
    }
    if let Some(q) = &options.qresync {
        if q.uid_validity == 0 {
            return Err(Error::invalid("QRESYNC", "UIDVALIDITY must not be 0"));
        }
        w.token("QRESYNC (");
        w.number(u64::from(q.uid_validity));
        w.sp();
        w.number(check_modseq(q.mod_seq, "QRESYNC mod-sequence")?);
        if let Some(uids) = &q.known_uids {
            w.sp();
            w.set(uids, "QRESYNC known UIDs")?;
        }
        w.token(")");
    }
    w.token(")");
    Ok(())
}

fn status_items(w: &mut Writer<'_>, items: &[StatusItem]) -> Result<()> {
    if items.is_empty() {
        return Err(Error::invalid("STATUS", "no status item given"));
    }
    w.token("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.sp();
        }
        w.token(item.wire());
    }
    w.token(")");
    Ok(())
}

fn flag_list(w: &mut Writer<'_>, flags: &[Flag]) -> Result<()> {
    w.token("(");
    for (i, flag) in flags.iter().enumerate() {
        if i > 0 {
            w.sp();
        }
        w.token(flag.wire()?);
    }
    w.token(")");
    Ok(())
}

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

fn fetch_item(w: &mut Writer<'_>, item: &FetchItem) -> Result<()> {
    match item {
        FetchItem::Uid => w.token("UID"),
        FetchItem::Flags => w.token("FLAGS"),
        FetchItem::InternalDate => w.token("INTERNALDATE"),
        FetchItem::Rfc822Size => w.token("RFC822.SIZE"),
        FetchItem::Envelope => w.token("ENVELOPE"),
        FetchItem::BodyStructure => w.token("BODYSTRUCTURE"),
        FetchItem::BodyStructureBasic => w.token("BODY"),
        FetchItem::ModSeq => w.token("MODSEQ"),
        FetchItem::GmailMessageId => w.token("X-GM-MSGID"),
        FetchItem::GmailThreadId => w.token("X-GM-THRID"),
        FetchItem::GmailLabels => w.token("X-GM-LABELS"),
        FetchItem::Body {
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
                    for (i, name) in names.iter().enumerate() {
                        if i > 0 {
                            w.sp();
                        }
                        w.astring(name.as_bytes(), "header field name")?;
                    }
                    w.token(")");
                }
            }
            w.token("]");
            partial(w, range.as_ref())?;
        }
        FetchItem::Binary {
            part,
            partial: range,
            peek,
        } => {
            w.token(if *peek { "BINARY.PEEK[" } else { "BINARY[" });
            part_path(w, part)?;
            w.token("]");
            partial(w, range.as_ref())?;
        }
        FetchItem::BinarySize { part } => {
            w.token("BINARY.SIZE[");
            part_path(w, part)?;
            w.token("]");
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || !tag.bytes().all(|b| is_astring_char(b) && b != b'+') {
        return Err(Error::invalid(
            "tag",
            format!("{tag:?} is not a valid IMAP tag"),
        ));
    }
    Ok(())
}

/// Mailbox arguments, which need the encoder's [`Mailbox`].
impl Writer<'_> {
    /// Writes a mailbox name (modified UTF-7 unless `UTF8=ACCEPT`) as an astring.
    pub(crate) fn mailbox(&mut self, mailbox: &Mailbox) -> Result<()> {
        if let MailboxRepr::Name(name) = &mailbox.0 {
            refuse_nul(name.as_bytes(), "mailbox name")?;
        }
        let wire = mailbox.wire_bytes(self.options());
        self.write_string(&wire, Syntax::Astring, false, "mailbox name")
    }

    /// Writes a LIST pattern (`%` and `*` allowed in the atom form).
    pub(crate) fn pattern(&mut self, pattern: &str) -> Result<()> {
        refuse_nul(pattern.as_bytes(), "mailbox pattern")?;
        let wire = if self.options().utf8_accept {
            pattern.as_bytes().to_vec()
        } else {
            utf7::encode(pattern).into_bytes()
        };
        self.write_string(&wire, Syntax::ListMailbox, false, "mailbox pattern")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(cmd: &Command) -> String {
        String::from_utf8(cmd.encode("A1", &EncodeOptions::new()).unwrap().to_bytes()).unwrap()
    }

    fn enc_with(cmd: &Command, opts: EncodeOptions) -> EncodedCommand {
        cmd.encode("A1", &opts).unwrap()
    }

    #[test]
    fn simple_commands() {
        assert_eq!(enc(&Command::Capability), "A1 CAPABILITY\r\n");
        assert_eq!(enc(&Command::Idle), "A1 IDLE\r\n");
        assert_eq!(idle_done().to_bytes(), b"DONE\r\n");
        assert_eq!(enc(&Command::Id(vec![])), "A1 ID NIL\r\n");
        assert_eq!(
            enc(&Command::Id(vec![
                ("name".into(), Some("mailwire".into())),
                ("os".into(), None)
            ])),
            "A1 ID (\"name\" \"mailwire\" \"os\" NIL)\r\n"
        );
        assert_eq!(
            enc(&Command::Enable(vec![
                "UTF8=ACCEPT".into(),
                "CONDSTORE".into()
            ])),
            "A1 ENABLE UTF8=ACCEPT CONDSTORE\r\n"
        );
        assert!(
            Command::Enable(vec!["A B".into()])
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
        assert!(Command::Noop.encode("A+1", &EncodeOptions::new()).is_err());
        assert!(Command::Noop.encode("", &EncodeOptions::new()).is_err());
        assert!(Command::Noop.encode("A 1", &EncodeOptions::new()).is_err());
    }

    #[test]
    fn string_representations() {
        let opts = EncodeOptions::new();
        assert_eq!(choose(b"INBOX", Syntax::Astring, false), Repr::Atom);
        assert_eq!(choose(b"a]b", Syntax::Astring, false), Repr::Atom);
        assert_eq!(choose(b"a*", Syntax::Astring, false), Repr::Quoted);
        assert_eq!(choose(b"a*", Syntax::ListMailbox, false), Repr::Atom);
        assert_eq!(choose(b"nil", Syntax::Astring, false), Repr::Quoted);
        assert_eq!(choose(b"", Syntax::Astring, false), Repr::Quoted);
        assert_eq!(choose(b"abc", Syntax::String, false), Repr::Quoted);
        assert_eq!(choose(b"a\tb", Syntax::Astring, false), Repr::Literal);
        assert_eq!(
            choose("é".as_bytes(), Syntax::Astring, false),
            Repr::Literal
        );
        assert_eq!(choose("é".as_bytes(), Syntax::Astring, true), Repr::Quoted);
        assert_eq!(choose(b"\xff", Syntax::Astring, true), Repr::Literal);
        assert_eq!(choose(&[b'a'; 2000], Syntax::String, false), Repr::Literal);
        let login = Command::login("al ice", "p\"w\\d");
        assert_eq!(enc(&login), "A1 LOGIN \"al ice\" \"p\\\"w\\\\d\"\r\n");
        let nul = Command::login("alice", "pw\0");
        assert!(matches!(
            nul.encode("A1", &opts),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn literals_split_parts() {
        let login = Command::login("alice", "line1\r\nline2");
        let sync = enc_with(&login, EncodeOptions::new());
        assert_eq!(sync.parts().len(), 2);
        assert_eq!(sync.parts()[0], b"A1 LOGIN alice {12}\r\n");
        assert_eq!(sync.parts()[1], b"line1\r\nline2\r\n");
        assert!(sync.needs_continuation());
        assert_eq!(sync.trace_text(), "A1 LOGIN alice {12}<redacted>");
        assert!(!format!("{sync:?}").contains("line1"));
        let plus = enc_with(&login, EncodeOptions::new().with_literal(LiteralMode::Plus));
        assert_eq!(plus.parts().len(), 1);
        assert_eq!(
            plus.to_bytes(),
            b"A1 LOGIN alice {12+}\r\nline1\r\nline2\r\n"
        );
        let big = Command::append("INBOX", [], vec![b'x'; 5000]);
        let minus = enc_with(&big, EncodeOptions::new().with_literal(LiteralMode::Minus));
        assert_eq!(minus.parts().len(), 2);
        assert_eq!(minus.parts()[0], b"A1 APPEND INBOX {5000}\r\n");
        assert_eq!(minus.trace_text(), "A1 APPEND INBOX {5000}<5000 bytes>");
        let small = Command::append("INBOX", [], b"x\r\n".to_vec());
        let minus = enc_with(
            &small,
            EncodeOptions::new().with_literal(LiteralMode::Minus),
        );
        assert_eq!(minus.to_bytes(), b"A1 APPEND INBOX {3+}\r\nx\r\n\r\n");
    }

    #[test]
    fn login_password_redacted_in_every_form() {
        for pw in ["hunter2", "two words", "new\nline", ""] {
            let c = Command::login("bob", pw)
                .encode("A1", &EncodeOptions::new())
                .unwrap();
            assert!(c.trace_text().ends_with("<redacted>"), "{}", c.trace_text());
            if !pw.is_empty() {
                assert!(!c.trace_text().contains(pw));
            }
        }
        let auth = Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::from("\0bob\0pw")),
        };
        let c = auth.encode("A2", &EncodeOptions::new()).unwrap();
        assert_eq!(c.to_bytes(), b"A2 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n");
        assert_eq!(c.trace_text(), "A2 AUTHENTICATE PLAIN <redacted>");
        let empty = Command::Authenticate {
            mechanism: "EXTERNAL".into(),
            initial_response: Some(Secret::new(Vec::new())),
        };
        assert_eq!(enc(&empty), "A1 AUTHENTICATE EXTERNAL =\r\n");
        assert_eq!(sasl_response(b"abc").to_bytes(), b"YWJj\r\n");
        assert_eq!(sasl_response(b"abc").trace_text(), "<redacted>");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secret = "s3cret-Pa55";
        let login = Command::login("bob", secret);
        let auth = Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(Secret::from(format!("\0bob\0{secret}").as_str())),
        };
        for command in [&login, &auth] {
            assert!(!format!("{command:?}").contains(secret), "{command:?}");
            let encoded = command.encode("A1", &EncodeOptions::new()).unwrap();
            let shown = format!("{encoded:?}");
            assert!(!shown.contains(secret), "{shown}");
            // Nor its base64 form (AUTHENTICATE PLAIN).
            assert!(!shown.contains("AGJvYgBzM2NyZXQtUGE1NQ"), "{shown}");
        }
        assert!(!format!("{:?}", Secret::from(secret)).contains(secret));
    }

    #[test]
    fn mailbox_names() {
        assert_eq!(enc(&Command::select("inbox")), "A1 SELECT INBOX\r\n");
        assert_eq!(
            enc(&Command::select("~peter/mail/台北/日本語")),
            "A1 SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n"
        );
        assert_eq!(
            enc(&Command::Create("Tom & Jerry".into())),
            "A1 CREATE \"Tom &- Jerry\"\r\n"
        );
        let utf8 = EncodeOptions::new().with_utf8_accept(true);
        assert_eq!(
            enc_with(&Command::select("Entwürfe"), utf8).to_bytes(),
            "A1 SELECT \"Entwürfe\"\r\n".as_bytes()
        );
        assert_eq!(
            enc(&Command::select(Mailbox::from_wire(b"odd&name".to_vec()))),
            "A1 SELECT odd&name\r\n"
        );
        assert_eq!(
            enc(&Command::Rename {
                from: "a".into(),
                to: "".into()
            }),
            "A1 RENAME a \"\"\r\n"
        );
        assert!(
            Command::select("a\0b")
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
    }

    #[test]
    fn select_list_status() {
        let opts = SelectOptions::new().condstore().qresync(
            Qresync::new(67890007, 20050715194045000).with_known_uids(SequenceSet::range(41, 211)),
        );
        assert_eq!(
            enc(&Command::Select {
                mailbox: "INBOX".into(),
                options: opts
            }),
            "A1 SELECT INBOX (CONDSTORE QRESYNC (67890007 20050715194045000 41:211))\r\n"
        );
        assert!(
            Command::Examine {
                mailbox: "INBOX".into(),
                options: SelectOptions::new().qresync(Qresync::new(1, 0))
            }
            .encode("A1", &EncodeOptions::new())
            .is_err()
        );
        assert_eq!(enc(&Command::list("*")), "A1 LIST \"\" *\r\n");
        let list = Command::List {
            reference: "".into(),
            pattern: "Entwürfe/%".into(),
            returns: ListReturn::new()
                .special_use()
                .subscribed()
                .status([StatusItem::Messages, StatusItem::Unseen]),
        };
        assert_eq!(
            enc(&list),
            "A1 LIST \"\" Entw&APw-rfe/% RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n"
        );
        let status = Command::Status {
            mailbox: "Sent Items".into(),
            items: vec![StatusItem::UidNext, StatusItem::HighestModSeq],
        };
        assert_eq!(
            enc(&status),
            "A1 STATUS \"Sent Items\" (UIDNEXT HIGHESTMODSEQ)\r\n"
        );
        assert!(
            Command::Status {
                mailbox: "x".into(),
                items: vec![]
            }
            .encode("A1", &EncodeOptions::new())
            .is_err()
        );
    }

    #[test]
    fn fetch_store_copy() {
        let fetch = Command::Fetch {
            uid: true,
            set: [1, 2, 3, 7].into_iter().collect(),
            items: vec![
                FetchItem::Uid,
                FetchItem::Flags,
                FetchItem::Body {
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
                FetchItem::Binary {
                    part: vec![2],
                    partial: None,
                    peek: true,
                },
                FetchItem::full_message(),
                FetchItem::ModSeq,
                FetchItem::GmailLabels,
            ],
            changed_since: Some(12345),
            vanished: true,
        };
        assert_eq!(
            enc(&fetch),
            "A1 UID FETCH 1:3,7 (UID FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From \"X Odd\")]<0.100> \
             BINARY.PEEK[2] BODY.PEEK[] MODSEQ X-GM-LABELS) (CHANGEDSINCE 12345 VANISHED)\r\n"
        );
        let bad = Command::Fetch {
            uid: false,
            set: SequenceSet::single(1),
            items: vec![FetchItem::Uid],
            changed_since: Some(1),
            vanished: true,
        };
        assert!(bad.encode("A1", &EncodeOptions::new()).is_err());
        let empty_set = Command::uid_fetch(SequenceSet::new(), [FetchItem::Uid]);
        assert!(empty_set.encode("A1", &EncodeOptions::new()).is_err());
        let mime_without_part = Command::uid_fetch(
            SequenceSet::single(1),
            [FetchItem::peek(Section {
                part: vec![],
                text: SectionText::Mime,
            })],
        );
        assert!(
            mime_without_part
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );

        let store = Command::Store {
            uid: true,
            set: SequenceSet::from_start(5),
            action: StoreAction::Add,
            silent: true,
            flags: vec![Flag::Seen, Flag::keyword("$Forwarded").unwrap()],
            unchanged_since: Some(0),
        };
        assert_eq!(
            enc(&store),
            "A1 UID STORE 5:* (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen $Forwarded)\r\n"
        );
        assert!(Flag::keyword("two words").is_err());
        assert!(Flag::keyword("").is_err());
        assert!(Flag::parse("\\Recent").is_err());
        assert_eq!(Flag::parse("\\SEEN").unwrap(), Flag::Seen);
        let bad_kw = Command::uid_store(
            SequenceSet::single(1),
            StoreAction::Remove,
            [Flag::Keyword("a)b".into())],
        );
        assert!(bad_kw.encode("A1", &EncodeOptions::new()).is_err());
        let mv = Command::Move {
            uid: true,
            set: SequenceSet::single(4),
            mailbox: "Archive".into(),
        };
        assert_eq!(enc(&mv), "A1 UID MOVE 4 Archive\r\n");
    }

    #[test]
    fn append_forms() {
        let date = InternalDate::parse("01-Feb-2024 10:00:00 +0100").unwrap();
        assert_eq!(date.to_string(), "01-Feb-2024 10:00:00 +0100");
        assert_eq!(
            InternalDate::parse(" 7-Jul-1999 23:59:59 -0830")
                .unwrap()
                .to_string(),
            "07-Jul-1999 23:59:59 -0830"
        );
        for bad in [
            "31-Feb-2024 10:00:00 +0100",
            "01-Feb-2024 24:00:00 +0100",
            "01-Feb-2024 10:00 +0100",
            "01-Feb-2024 10:00:00 0100",
            "01-Feb-2024 10:00:00 +01000",
            "01-Feb-2024 10:00:00 +0160",
            "01-Feb-2024  10:00:00 +0100",
            "",
        ] {
            assert!(InternalDate::parse(bad).is_err(), "{bad:?}");
        }
        let append = Command::Append {
            mailbox: "Drafts".into(),
            flags: vec![Flag::Draft, Flag::Seen],
            date: Some(date),
            message: b"Subject: x\r\n\r\nhi\r\n".to_vec(),
            binary: false,
        };
        let e = enc_with(&append, EncodeOptions::new());
        assert_eq!(
            e.parts()[0],
            b"A1 APPEND Drafts (\\Draft \\Seen) \"01-Feb-2024 10:00:00 +0100\" {18}\r\n"
        );
        assert_eq!(e.parts()[1], b"Subject: x\r\n\r\nhi\r\n\r\n");
        let with_nul = Command::append("INBOX", [], b"a\0b".to_vec());
        assert!(with_nul.encode("A1", &EncodeOptions::new()).is_err());
        let binary = Command::Append {
            mailbox: "INBOX".into(),
            flags: vec![],
            date: None,
            message: b"a\0b".to_vec(),
            binary: true,
        };
        assert_eq!(
            enc_with(
                &binary,
                EncodeOptions::new().with_literal(LiteralMode::Plus)
            )
            .to_bytes(),
            b"A1 APPEND INBOX ~{3+}\r\na\0b\r\n"
        );
        assert!(
            Command::append("INBOX", [], Vec::new())
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
    }

    #[test]
    fn raw_extension_is_checked() {
        let ok = Command::raw_extension(
            "XLIST",
            [
                RawArg::String(b"".to_vec()),
                RawArg::Verbatim("(A B)".into()),
                RawArg::Number(5),
            ],
        );
        assert_eq!(enc(&ok), "A1 XLIST \"\" (A B) 5\r\n");
        for bad in [
            Command::raw_extension("X CMD", []),
            Command::raw_extension("X", [RawArg::Verbatim("a\r\nB LOGOUT".into())]),
            Command::raw_extension("X", [RawArg::Atom("a b".into())]),
            Command::raw_extension("X", [RawArg::String(b"\0".to_vec())]),
        ] {
            assert!(bad.encode("A1", &EncodeOptions::new()).is_err(), "{bad:?}");
        }
        let lit = Command::raw_extension("X", [RawArg::String(b"a\r\nB LOGOUT".to_vec())]);
        assert_eq!(
            enc_with(&lit, EncodeOptions::new()).to_bytes(),
            b"A1 X {11}\r\na\r\nB LOGOUT\r\n"
        );
    }
}

/// [`SearchQuery`] as the encoder writes it in `SEARCH` / `UID SEARCH`.
#[cfg(test)]
mod search_tests {
    use super::*;

    fn search(q: SearchQuery) -> String {
        let cmd = Command::uid_search(q);
        let opts = EncodeOptions::new().with_literal(LiteralMode::Plus);
        String::from_utf8(cmd.encode("S", &opts).unwrap().to_bytes()).unwrap()
    }

    fn d(y: u16, m: u8, day: u8) -> ImapDate {
        ImapDate::new(y, m, day).unwrap()
    }

    #[test]
    fn builder_example() {
        let q = SearchQuery::from("alice")
            .and(SearchQuery::unseen())
            .and(SearchQuery::since(d(2024, 2, 1)));
        assert_eq!(
            search(q),
            "S UID SEARCH FROM alice UNSEEN SINCE 1-Feb-2024\r\n"
        );
    }

    #[test]
    fn or_not_and_nesting() {
        let q = SearchQuery::any_of([
            SearchQuery::from("a"),
            SearchQuery::from("b"),
            SearchQuery::from("c"),
        ]);
        assert_eq!(search(q), "S UID SEARCH OR OR FROM a FROM b FROM c\r\n");
        let q = !SearchQuery::seen().and(SearchQuery::flagged());
        assert_eq!(search(q), "S UID SEARCH NOT (SEEN FLAGGED)\r\n");
        let q = SearchQuery::seen()
            .and(SearchQuery::flagged())
            .or(SearchQuery::all_of([]));
        assert_eq!(search(q), "S UID SEARCH OR (SEEN FLAGGED) ALL\r\n");
        assert_eq!(search(SearchQuery::all_of([])), "S UID SEARCH ALL\r\n");
        assert_eq!(search(SearchQuery::any_of([])), "S UID SEARCH NOT ALL\r\n");
        let q = SearchQuery::all_of([SearchQuery::all_of([SearchQuery::deleted()])]);
        assert_eq!(search(q), "S UID SEARCH DELETED\r\n");
        // A thousand alternatives stay shallow enough to encode.
        let many = SearchQuery::any_of((1..=1000u32).map(SearchQuery::uid));
        assert!(search(many).starts_with("S UID SEARCH OR OR OR"));
        // A hand-built degenerate chain is refused, not a stack overflow.
        let mut deep = SearchQuery::seen();
        for _ in 0..400 {
            deep = deep.negated();
        }
        let err = Command::uid_search(deep).encode("S", &EncodeOptions::new());
        assert!(matches!(err, Err(Error::InvalidInput { .. })));
    }

    #[test]
    fn every_key_and_charset() {
        let date = d(2024, 2, 1);
        let q = SearchQuery::all_of([
            SearchQuery::all(),
            SearchQuery::answered(),
            SearchQuery::bcc("b c"),
            SearchQuery::before(date),
            SearchQuery::body("x"),
            SearchQuery::cc("c"),
            SearchQuery::deleted(),
            SearchQuery::draft(),
            SearchQuery::flagged(),
            SearchQuery::header("List-Id", ""),
            SearchQuery::keyword("$Junk"),
            SearchQuery::larger(10),
            SearchQuery::new_messages(),
            SearchQuery::old(),
            SearchQuery::on(date),
            SearchQuery::recent(),
            SearchQuery::seen(),
            SearchQuery::sent_before(date),
            SearchQuery::sent_on(date),
            SearchQuery::sent_since(date),
            SearchQuery::smaller(20),
            SearchQuery::subject("hi"),
            SearchQuery::text("t"),
            SearchQuery::to("t"),
            SearchQuery::uid(SequenceSet::from_start(7)),
            SearchQuery::unanswered(),
            SearchQuery::undeleted(),
            SearchQuery::undraft(),
            SearchQuery::unflagged(),
            SearchQuery::unkeyword("Work"),
            SearchQuery::unseen(),
            SearchQuery::sequence(1..=3),
            SearchQuery::mod_seq(99),
            SearchQuery::gmail_raw("has:attachment in:inbox"),
        ]);
        assert!(!q.needs_utf8_charset());
        assert_eq!(
            search(q),
            "S UID SEARCH ALL ANSWERED BCC \"b c\" BEFORE 1-Feb-2024 BODY x CC c DELETED DRAFT \
             FLAGGED HEADER List-Id \"\" KEYWORD $Junk LARGER 10 NEW OLD ON 1-Feb-2024 RECENT \
             SEEN SENTBEFORE 1-Feb-2024 SENTON 1-Feb-2024 SENTSINCE 1-Feb-2024 SMALLER 20 \
             SUBJECT hi TEXT t TO t UID 7:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD \
             Work UNSEEN 1:3 MODSEQ 99 X-GM-RAW \"has:attachment in:inbox\"\r\n"
        );
    }

    #[test]
    fn non_ascii_text_adds_charset() {
        let q = SearchQuery::subject("Grüße").and(SearchQuery::seen());
        assert!(q.needs_utf8_charset());
        assert_eq!(
            search(q.clone()),
            "S UID SEARCH CHARSET UTF-8 SUBJECT {7+}\r\nGrüße SEEN\r\n"
        );
        let utf8 = EncodeOptions::new().with_utf8_accept(true);
        let bytes = Command::uid_search(q)
            .encode("S", &utf8)
            .unwrap()
            .to_bytes();
        assert_eq!(
            bytes,
            "S UID SEARCH CHARSET UTF-8 SUBJECT \"Grüße\" SEEN\r\n".as_bytes()
        );
        let nested = !SearchQuery::header("X-Tag", "naïve");
        assert!(nested.needs_utf8_charset());
        let with_return = Command::Search {
            uid: false,
            query: SearchQuery::unseen(),
            returns: Some(vec![SearchReturn::Min, SearchReturn::Count]),
        };
        assert_eq!(
            with_return
                .encode("S", &EncodeOptions::new())
                .unwrap()
                .to_bytes(),
            b"S SEARCH RETURN (MIN COUNT) UNSEEN\r\n"
        );
    }

    #[test]
    fn refuses_bad_arguments() {
        let opts = EncodeOptions::new();
        for q in [
            SearchQuery::keyword("a b"),
            SearchQuery::unkeyword(""),
            SearchQuery::subject("a\0b"),
            SearchQuery::uid(SequenceSet::new()),
            SearchQuery::mod_seq(u64::MAX),
            SearchQuery::seen().or(SearchQuery::header("X\0", "v")),
        ] {
            assert!(
                Command::uid_search(q.clone()).encode("S", &opts).is_err(),
                "{q:?}"
            );
        }
    }
}
