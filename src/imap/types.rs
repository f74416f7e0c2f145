//! Typed IMAP responses, as produced by [`parse_response`](crate::imap::codec::parse::parse_response).
//!
//! Everything here is owned and plain data. Mailbox names are kept as the bytes sent on the
//! wire (modified UTF-7, or UTF-8 after `ENABLE UTF8=ACCEPT`); decoding is left to the caller.
//! Literal bodies are `Vec<u8>`. Numbers that can exceed `u32` (mod-sequences, Gmail ids,
//! sizes of quota resources) are `u64`. Server-sent UID sets of `ESEARCH`, `VANISHED` and
//! `APPENDUID` are [`SequenceSet`]s (memory by ranges, never by members); `COPYUID`'s two
//! sets stay ordered ranges, since their order pairs them.

pub use crate::message::{BodyExtension, BodyStructure};

pub use crate::flag::Flag;
use crate::imap::seqset::SequenceSet;

/// The former name of [`FetchData`].
#[deprecated(
    since = "0.2.0",
    note = "renamed `FetchData` (the request side is `codec::FetchAttr`)"
)]
pub type FetchItem = FetchData;

/// The former name of [`StatusData`].
#[deprecated(
    since = "0.2.0",
    note = "renamed `StatusData` (the request side is `codec::StatusAttr`)"
)]
pub type StatusItem = StatusData;

/// The most labels of one message an `X-GM-LABELS` item keeps: Gmail puts a handful on a
/// message, and a hostile server's list of a million one-letter labels costs no more than
/// this many (the rest are read past and dropped).
pub const MAX_GMAIL_LABELS: usize = 1_000;

/// The longest OBJECTID (RFC 8474 §4: 1 to 255 characters of letters, digits, `_` and
/// `-`); a value outside that grammar is kept raw as an unknown item.
pub const MAX_OBJECTID_LEN: usize = 255;

/// Whether `id` is an RFC 8474 `objectid`: 1 to 255 letters, digits, `_` or `-`.
pub(crate) fn is_objectid(id: &[u8]) -> bool {
    (1..=MAX_OBJECTID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One complete response from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// The completion of a command: `a1 OK [code] text`.
    Tagged {
        /// The tag of the command it completes.
        tag: String,
        /// `OK`, `NO` or `BAD` (a server that answers `BYE` or `PREAUTH` is tolerated).
        status: Status,
        /// The response code in brackets, if any.
        code: Option<ResponseCode>,
        /// The human-readable text (may be empty).
        text: String,
    },
    /// A response starting with `*`.
    Untagged(Untagged),
    /// A continuation request starting with `+`.
    Continuation(Continuation),
}

/// The status word of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `OK`.
    Ok,
    /// `NO`.
    No,
    /// `BAD`.
    Bad,
    /// `PREAUTH` (greeting only).
    PreAuth,
    /// `BYE`.
    Bye,
}

/// A continuation request (`+ text` or `+ base64`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Continuation {
    /// A response code, if the server sent one in brackets.
    pub code: Option<ResponseCode>,
    /// The rest of the line: human text, or a base64 SASL challenge.
    pub text: String,
}

/// A response code, the bracketed part of a status response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `ALERT`: the text must be shown to the user.
    Alert,
    /// `PARSE`: the server could not parse a message's headers.
    Parse,
    /// `CAPABILITY ...`: the server's capabilities.
    Capability(Vec<String>),
    /// `PERMANENTFLAGS (...)`: the flags the client can change permanently.
    PermanentFlags(Vec<Flag>),
    /// `READ-ONLY`.
    ReadOnly,
    /// `READ-WRITE`.
    ReadWrite,
    /// `TRYCREATE`: the target mailbox does not exist but could be created.
    TryCreate,
    /// `UIDNEXT n`.
    UidNext(u32),
    /// `UIDVALIDITY n`.
    UidValidity(u32),
    /// `UNSEEN n`: the sequence number of the first unseen message.
    Unseen(u32),
    /// `HIGHESTMODSEQ n` (CONDSTORE).
    HighestModSeq(u64),
    /// `NOMODSEQ`: the mailbox does not support mod-sequences.
    NoModSeq,
    /// `APPENDUID validity uids` (UIDPLUS).
    AppendUid {
        /// The UIDVALIDITY of the target mailbox.
        uid_validity: u32,
        /// The UIDs assigned.
        uids: SequenceSet,
    },
    /// `COPYUID validity source dest` (UIDPLUS).
    CopyUid {
        /// The UIDVALIDITY of the target mailbox.
        uid_validity: u32,
        /// The source UIDs, as inclusive ranges in the server's order (each range ascending).
        /// Not a [`SequenceSet`]: the order pairs them with `dest`.
        source: Vec<(u32, u32)>,
        /// The UIDs in the target, as inclusive ranges, in the same order.
        dest: Vec<(u32, u32)>,
    },
    /// `CLOSED` (QRESYNC): the previously selected mailbox is closed.
    Closed,
    /// `MAILBOXID (id)` (OBJECTID, RFC 8474): the folder's permanent id, sent with
    /// `CREATE`'s OK and in the answer to `SELECT` / `EXAMINE`.
    MailboxId(String),
    /// Any other code, kept raw: its name (upper-cased) and the text after it.
    Other {
        /// The code's name, upper-cased.
        name: String,
        /// Everything after the name up to `]`, if anything.
        value: Option<String>,
    },
}

/// A mailbox name attribute from `LIST` / `LSUB` (RFC 3501, RFC 5258, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameAttribute {
    /// `\Noinferiors`.
    NoInferiors,
    /// `\Noselect`.
    NoSelect,
    /// `\Marked`.
    Marked,
    /// `\Unmarked`.
    Unmarked,
    /// `\HasChildren`.
    HasChildren,
    /// `\HasNoChildren`.
    HasNoChildren,
    /// `\NonExistent`.
    NonExistent,
    /// `\Subscribed`.
    Subscribed,
    /// `\Remote`.
    Remote,
    /// SPECIAL-USE `\All`.
    All,
    /// SPECIAL-USE `\Archive`.
    Archive,
    /// SPECIAL-USE `\Drafts`.
    Drafts,
    /// SPECIAL-USE `\Flagged`.
    Flagged,
    /// SPECIAL-USE `\Junk`.
    Junk,
    /// SPECIAL-USE `\Sent`.
    Sent,
    /// SPECIAL-USE `\Trash`.
    Trash,
    /// `\Important` (RFC 8457).
    Important,
    /// Anything else, as sent (backslash included).
    Other(String),
}

impl NameAttribute {
    /// The attribute as written on the wire (`\HasChildren`; an [`Other`](Self::Other) as
    /// it was sent).
    pub fn as_str(&self) -> &str {
        match self {
            NameAttribute::NoInferiors => "\\Noinferiors",
            NameAttribute::NoSelect => "\\Noselect",
            NameAttribute::Marked => "\\Marked",
            NameAttribute::Unmarked => "\\Unmarked",
            NameAttribute::HasChildren => "\\HasChildren",
            NameAttribute::HasNoChildren => "\\HasNoChildren",
            NameAttribute::NonExistent => "\\NonExistent",
            NameAttribute::Subscribed => "\\Subscribed",
            NameAttribute::Remote => "\\Remote",
            NameAttribute::All => "\\All",
            NameAttribute::Archive => "\\Archive",
            NameAttribute::Drafts => "\\Drafts",
            NameAttribute::Flagged => "\\Flagged",
            NameAttribute::Junk => "\\Junk",
            NameAttribute::Sent => "\\Sent",
            NameAttribute::Trash => "\\Trash",
            NameAttribute::Important => "\\Important",
            NameAttribute::Other(s) => s,
        }
    }

    /// Interprets one attribute as sent by the server (case-insensitive).
    pub fn from_bytes(raw: &[u8]) -> NameAttribute {
        let text = String::from_utf8_lossy(raw);
        let known = [
            ("\\noinferiors", NameAttribute::NoInferiors),
            ("\\noselect", NameAttribute::NoSelect),
            ("\\marked", NameAttribute::Marked),
            ("\\unmarked", NameAttribute::Unmarked),
            ("\\haschildren", NameAttribute::HasChildren),
            ("\\hasnochildren", NameAttribute::HasNoChildren),
            ("\\nonexistent", NameAttribute::NonExistent),
            ("\\subscribed", NameAttribute::Subscribed),
            ("\\remote", NameAttribute::Remote),
            ("\\all", NameAttribute::All),
            ("\\archive", NameAttribute::Archive),
            ("\\drafts", NameAttribute::Drafts),
            ("\\flagged", NameAttribute::Flagged),
            ("\\junk", NameAttribute::Junk),
            ("\\sent", NameAttribute::Sent),
            ("\\trash", NameAttribute::Trash),
            ("\\important", NameAttribute::Important),
        ];
        known
            .into_iter()
            .find(|(n, _)| text.eq_ignore_ascii_case(n))
            .map(|(_, a)| a)
            .unwrap_or_else(|| NameAttribute::Other(text.into_owned()))
    }
}

impl std::fmt::Display for NameAttribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One mailbox of a `LIST` or `LSUB` response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListItem {
    /// The name attributes (`\HasChildren`, `\Sent`, ...).
    pub attributes: Vec<NameAttribute>,
    /// The hierarchy delimiter, `None` for `NIL` (a flat namespace).
    pub delimiter: Option<char>,
    /// The mailbox name, raw bytes as on the wire.
    pub name: Vec<u8>,
}

/// One item of a `STATUS` response: the answer to a
/// [`StatusAttr`](crate::imap::codec::StatusAttr).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusData {
    /// `MESSAGES n`.
    Messages(u32),
    /// `RECENT n`.
    Recent(u32),
    /// `UIDNEXT n`.
    UidNext(u32),
    /// `UIDVALIDITY n`.
    UidValidity(u32),
    /// `UNSEEN n`.
    Unseen(u32),
    /// `DELETED n` (IMAP4rev2).
    Deleted(u32),
    /// `SIZE n` (STATUS=SIZE).
    Size(u64),
    /// `HIGHESTMODSEQ n` (CONDSTORE).
    HighestModSeq(u64),
    /// `APPENDLIMIT n` (RFC 7889): the largest message the folder accepts, in bytes;
    /// `None` for `APPENDLIMIT NIL` (no limit).
    AppendLimit(Option<u64>),
    /// `MAILBOXID (id)` (OBJECTID, RFC 8474): the folder's permanent id.
    MailboxId(String),
    /// Any other item: its name (upper-cased) and its raw value.
    Other {
        /// The item's name, upper-cased.
        name: String,
        /// The value's bytes as sent.
        raw: Vec<u8>,
    },
}

/// One item of an `ESEARCH` response (RFC 4731).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EsearchItem {
    /// `MIN n`.
    Min(u32),
    /// `MAX n`.
    Max(u32),
    /// `COUNT n`.
    Count(u32),
    /// `ALL set`, as a set of ranges (a `*` is read as 4294967295). Kept as ranges:
    /// `1:4294967295` is one range, never a list of numbers.
    All(SequenceSet),
    /// `MODSEQ n`.
    ModSeq(u64),
    /// Any other item: its name (upper-cased) and its raw value.
    Other {
        /// The item's name, upper-cased.
        name: String,
        /// The value's bytes as sent.
        raw: Vec<u8>,
    },
}

/// One node of a `THREAD` answer (RFC 5256): a message and the messages that answer it.
///
/// `uid` is `None` for a dummy parent: the server knows the children belong together
/// (they answer the same missing message) but has no message for their parent, as in
/// `((3)(5))`. A chain `(3 6 4)` is 3 with the single child 6, which has the child 4.
/// Parsing refuses trees deeper than [`Thread::MAX_DEPTH`] levels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Thread {
    /// The message (UID or sequence number, by command), `None` for a dummy parent.
    pub uid: Option<u32>,
    /// The answers to it, in the server's order.
    pub children: Vec<Thread>,
}

impl Thread {
    /// The deepest tree a `THREAD` answer may hold (levels from a root); a deeper one is an
    /// [`Error::Protocol`](crate::Error::Protocol), never a stack overflow.
    pub const MAX_DEPTH: usize = 1000;

    /// A node for `uid` (`None`: a dummy parent) with `children`.
    pub fn new(uid: Option<u32>, children: Vec<Thread>) -> Thread {
        Thread { uid, children }
    }

    /// A message without answers.
    pub fn leaf(uid: u32) -> Thread {
        Thread::new(Some(uid), Vec::new())
    }

    /// Every message in the tree, parents before children, siblings in the server's order
    /// (dummy parents skipped).
    pub fn uids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(t) = stack.pop() {
            out.extend(t.uid);
            stack.extend(t.children.iter().rev());
        }
        out
    }
}

/// One entry of a `NAMESPACE` response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamespaceEntry {
    /// The prefix, raw bytes.
    pub prefix: Vec<u8>,
    /// The hierarchy delimiter, `None` for `NIL`.
    pub delimiter: Option<char>,
}

/// One resource of a `QUOTA` response (RFC 2087 / 9208).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaResource {
    /// The resource name, upper-cased (`STORAGE` is in KiB, `MESSAGE` in messages).
    pub name: String,
    /// Current usage.
    pub usage: u64,
    /// The limit.
    pub limit: u64,
}

/// A response starting with `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Untagged {
    /// `* OK / NO / BAD / BYE / PREAUTH [code] text` (also the greeting and keepalives).
    Condition {
        /// The status word.
        status: Status,
        /// The response code, if any.
        code: Option<ResponseCode>,
        /// The human-readable text (may be empty).
        text: String,
    },
    /// `* CAPABILITY ...`.
    Capability(Vec<String>),
    /// `* LIST (attrs) delim name`.
    List(ListItem),
    /// `* LSUB (attrs) delim name`.
    Lsub(ListItem),
    /// `* STATUS mailbox (items)`.
    MailboxStatus {
        /// The mailbox, raw bytes.
        mailbox: Vec<u8>,
        /// The items in the order sent.
        items: Vec<StatusData>,
    },
    /// `* SEARCH n n n [(MODSEQ m)]`.
    Search {
        /// The matching numbers (sequence numbers or UIDs, by command).
        ids: Vec<u32>,
        /// The highest mod-sequence, with CONDSTORE.
        modseq: Option<u64>,
    },
    /// `* ESEARCH (TAG "t") [UID] items`.
    Esearch {
        /// The tag of the command it answers.
        tag: Option<String>,
        /// Whether the numbers are UIDs.
        uid: bool,
        /// The result items.
        items: Vec<EsearchItem>,
    },
    /// `* SORT n n n [(MODSEQ m)]` (RFC 5256): the UIDs (or sequence numbers) in the
    /// server's order.
    Sort {
        /// The numbers in the order sent.
        ids: Vec<u32>,
        /// The highest mod-sequence, with CONDSTORE.
        modseq: Option<u64>,
    },
    /// `* THREAD (..)(..)` (RFC 5256): the threads, as trees.
    Thread(Vec<Thread>),
    /// `* FLAGS (...)`.
    Flags(Vec<Flag>),
    /// `* n EXISTS`.
    Exists(u32),
    /// `* n RECENT`.
    Recent(u32),
    /// `* n EXPUNGE`.
    Expunge(u32),
    /// `* VANISHED [(EARLIER)] uids` (QRESYNC).
    Vanished {
        /// Whether `(EARLIER)` was given (an answer to a FETCH / SELECT, not a new event).
        earlier: bool,
        /// The UIDs, as a set of ranges (a `*` is read as 4294967295).
        uids: SequenceSet,
    },
    /// `* n FETCH (...)`.
    Fetch {
        /// The message sequence number.
        seq: u32,
        /// The data items in the order sent.
        items: Vec<FetchData>,
    },
    /// `* NAMESPACE personal other shared`.
    Namespace {
        /// Personal namespaces.
        personal: Vec<NamespaceEntry>,
        /// Other users' namespaces.
        other: Vec<NamespaceEntry>,
        /// Shared namespaces.
        shared: Vec<NamespaceEntry>,
    },
    /// `* ID (...)` or `* ID NIL`: the server's field/value pairs.
    Id(Vec<(String, Option<String>)>),
    /// `* ENABLED ...`.
    Enabled(Vec<String>),
    /// `* QUOTA root (resources)`.
    Quota {
        /// The quota root, raw bytes.
        root: Vec<u8>,
        /// The resources.
        resources: Vec<QuotaResource>,
    },
    /// `* QUOTAROOT mailbox root...`.
    QuotaRoot {
        /// The mailbox, raw bytes.
        mailbox: Vec<u8>,
        /// The quota roots, raw bytes.
        roots: Vec<Vec<u8>>,
    },
    /// Any untagged response this parser does not model, kept whole (line end excluded).
    Other {
        /// The response's bytes.
        raw: Vec<u8>,
    },
}

/// One data item of a `FETCH` response: the answer to a
/// [`FetchAttr`](crate::imap::codec::FetchAttr).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchData {
    /// `UID n`.
    Uid(u32),
    /// `FLAGS (...)`.
    Flags(Vec<Flag>),
    /// `INTERNALDATE "..."`, as sent.
    InternalDate(String),
    /// `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// `ENVELOPE (...)`.
    Envelope(Box<Envelope>),
    /// `BODYSTRUCTURE (...)` (with extension data where sent).
    BodyStructure(Box<BodyStructure>),
    /// `BODY (...)`: the structure without extension data.
    Body(Box<BodyStructure>),
    /// `BODY[section]<origin> data`.
    ///
    /// A literal that the framer handed to the caller's sink (see
    /// [`Framer`](crate::imap::codec::frame::Framer)) appears here as `Some(vec![])`.
    BodySection {
        /// The section spec between the brackets, as sent (`""`, `"HEADER"`, `"1.2"`, ...).
        section: String,
        /// The origin octet of a partial fetch.
        origin: Option<u32>,
        /// The data, `None` for `NIL`.
        data: Option<Vec<u8>>,
    },
    /// `BINARY[section]<origin> data` (RFC 3516): the decoded content.
    Binary {
        /// The section part number, as sent.
        section: String,
        /// The origin octet of a partial fetch.
        origin: Option<u32>,
        /// The data, `None` for `NIL`.
        data: Option<Vec<u8>>,
    },
    /// `BINARY.SIZE[section] n`.
    BinarySize {
        /// The section part number, as sent.
        section: String,
        /// The decoded size.
        size: u64,
    },
    /// `RFC822 data`: the whole message.
    Rfc822(Option<Vec<u8>>),
    /// `RFC822.HEADER data`.
    Rfc822Header(Option<Vec<u8>>),
    /// `RFC822.TEXT data`.
    Rfc822Text(Option<Vec<u8>>),
    /// `MODSEQ (n)` (CONDSTORE).
    ModSeq(u64),
    /// `PREVIEW text` (RFC 8970): at most 256 characters of plain text (longer is cut
    /// there); `None` for `NIL` (the server has none to give).
    Preview(Option<String>),
    /// `EMAILID (id)` (OBJECTID, RFC 8474): the message's permanent id, the same in every
    /// folder that holds a copy of it.
    EmailId(String),
    /// `THREADID (id)` (OBJECTID, RFC 8474): the id of the message's thread; `None` for
    /// `THREADID NIL` (the server does not thread this message).
    ThreadId(Option<String>),
    /// `X-GM-MSGID n` (Gmail).
    GmMsgId(u64),
    /// `X-GM-THRID n` (Gmail).
    GmThrId(u64),
    /// `X-GM-LABELS (...)` (Gmail): labels as raw bytes (system labels keep their
    /// backslash), at most [`MAX_GMAIL_LABELS`] of them: the labels after those are read
    /// past and dropped.
    GmLabels(Vec<Vec<u8>>),
    /// Any other item: its name (upper-cased, section included) and its value's raw bytes.
    Other {
        /// The item's name.
        name: String,
        /// The value's bytes as sent.
        raw: Vec<u8>,
    },
}

/// The `ENVELOPE` of a message as sent: strings are raw bytes (RFC 2047 encoded words
/// undecoded), addresses the server's four fields.
pub type Envelope = crate::message::Envelope<EnvelopeAddress>;

/// One address of an envelope as sent: the server's four fields, raw (a group start has no
/// host, a group end no mailbox either). The parsed address a `Message` gives is
/// [`mailwire::Address`](crate::Address).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EnvelopeAddress {
    /// The display name.
    pub name: Option<Vec<u8>>,
    /// The source route (obsolete).
    pub adl: Option<Vec<u8>>,
    /// The local part (or the group name).
    pub mailbox: Option<Vec<u8>>,
    /// The domain.
    pub host: Option<Vec<u8>>,
}

/// The old name of [`EnvelopeAddress`].
#[deprecated(
    since = "0.2.0",
    note = "renamed `EnvelopeAddress` (`mailwire::Address` is the parsed address)"
)]
pub type Address = EnvelopeAddress;
