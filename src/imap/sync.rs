//! Incremental folder synchronisation: one call that tells what changed in a folder since
//! the last sync (new messages, flag changes, expunges), using QRESYNC, CONDSTORE or plain
//! UID comparison, whichever the server offers.
//!
//! The caller keeps a [`SyncState`] per folder (its text form fits a database column),
//! passes it to [`ImapConnection::sync`], applies the [`SyncDelta`] to its own cache and
//! stores [`SyncDelta::state`] for next time. See `docs/sync.md` for what each strategy
//! costs and how to store the state.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::imap::codec::encode::{
    Command, FetchItem, Mailbox as WireMailbox, Qresync, SearchReturn, SelectOptions,
};
use crate::imap::connection::ImapConnection;
use crate::imap::search::SearchQuery;
use crate::imap::seqset::{SeqNumber, SequenceSet};
use crate::imap::session::{ConnectionState, Session};
use crate::imap::types::{EsearchItem, FetchItem as Item, Flag, ResponseCode, Untagged};

/// The version tag that starts the text form of a [`SyncState`].
const VERSION: &str = "v1";
/// The most UIDs a state may claim to know (a bound against a corrupted or hostile
/// stored state making the sync allocate gigabytes).
const MAX_KNOWN_UIDS: u64 = 20_000_000;
/// The longest known-UID set sent in `SELECT (QRESYNC ...)`; a longer one is left out
/// (the server then reports every expunge since the mod-sequence, which is still correct).
const MAX_QRESYNC_SET_LEN: usize = 4000;

/// What the client knew about a folder after its last sync: the input of the next one.
///
/// It holds the folder's UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, the UIDs of the messages
/// the caller knows, and their flags (grouped by flag combination, as compact UID sets, so
/// that a folder of 10,000 messages in a few flag combinations stays a few hundred bytes).
/// The flags are what lets every strategy, the plain one included, report exactly the
/// messages whose flags changed.
///
/// Store it with its text form (`Display` / `FromStr`), which is versioned and stable:
///
/// ```text
/// v1;folder=INBOX;uidvalidity=1716000000;uidnext=501;modseq=812;uids=1:500;flags=\Seen=1:200,305/\Flagged+\Seen=201:204
/// ```
///
/// `folder` and each flag are percent-encoded (bytes other than ASCII letters, digits and
/// `\ $ - _ . ~`); an absent value is empty (`modseq=`). `flags` lists, for each flag
/// combination, the known UIDs that carry exactly it; known UIDs in no group have no flags.
///
/// ```
/// use mailwire::imap::SyncState;
///
/// let first = SyncState::new("INBOX");
/// assert!(first.is_initial());
/// let text = first.to_string();
/// assert_eq!(text.parse::<SyncState>()?, first);
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncState {
    folder: String,
    uid_validity: Option<u32>,
    uid_next: Option<u32>,
    highest_modseq: Option<u64>,
    uids: SequenceSet,
    /// Canonical flag lists (sorted, deduplicated, no `\Recent`, never empty) → the known
    /// UIDs with exactly these flags. The sets are non-empty, disjoint and within `uids`.
    flags: BTreeMap<Vec<String>, SequenceSet>,
}

impl SyncState {
    /// The state of a folder never synced: the first sync reports every message as new.
    pub fn new(folder: impl Into<String>) -> SyncState {
        SyncState {
            folder: folder.into(),
            uid_validity: None,
            uid_next: None,
            highest_modseq: None,
            uids: SequenceSet::new(),
            flags: BTreeMap::new(),
        }
    }

    /// The folder this state describes.
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// The folder's UIDVALIDITY at the last sync (`None` before the first).
    pub fn uid_validity(&self) -> Option<u32> {
        self.uid_validity
    }

    /// The folder's UIDNEXT at the last sync: messages from this UID on are new.
    pub fn uid_next(&self) -> Option<u32> {
        self.uid_next
    }

    /// The folder's HIGHESTMODSEQ at the last sync (`None` when the server keeps no
    /// mod-sequences for it, or before the first sync).
    pub fn highest_modseq(&self) -> Option<u64> {
        self.highest_modseq
    }

    /// The UIDs of the messages known after the last sync.
    pub fn known_uids(&self) -> &SequenceSet {
        &self.uids
    }

    /// How many messages are known.
    pub fn message_count(&self) -> u64 {
        self.uids.len().unwrap_or(0)
    }

    /// The flags of a known message (sorted by name, without `\Recent`), `None` for a UID
    /// that is not known.
    pub fn flags(&self, uid: u32) -> Option<Vec<Flag>> {
        self.flag_texts(uid).map(|texts| {
            texts
                .iter()
                .map(|t| Flag::from_bytes(t.as_bytes()))
                .collect()
        })
    }

    /// Whether this state was never synced (no UIDVALIDITY known).
    pub fn is_initial(&self) -> bool {
        self.uid_validity.is_none()
    }

    fn flag_texts(&self, uid: u32) -> Option<&[String]> {
        if !self.uids.contains(uid) {
            return None;
        }
        Some(
            self.flags
                .iter()
                .find(|(_, set)| set.contains(uid))
                .map(|(flags, _)| flags.as_slice())
                .unwrap_or(&[]),
        )
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        write!(
            f,
            "{VERSION};folder={};uidvalidity={};uidnext={};modseq={};uids={};flags=",
            percent_encode(&self.folder),
            opt(self.uid_validity.map(u64::from)),
            opt(self.uid_next.map(u64::from)),
            opt(self.highest_modseq),
            self.uids,
        )?;
        for (i, (flags, set)) in self.flags.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            for (j, flag) in flags.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                f.write_str(&percent_encode(flag))?;
            }
            write!(f, "={set}")?;
        }
        Ok(())
    }
}

impl FromStr for SyncState {
    type Err = Error;

    /// Parses the text form written by `Display`. Anything else (another version, a
    /// missing or repeated field, a bad number or set, flag groups that overlap or name
    /// unknown UIDs) is [`Error::InvalidInput`].
    fn from_str(s: &str) -> Result<SyncState> {
        let bad = |reason: String| Error::invalid("sync state", reason);
        let mut parts = s.trim().split(';');
        match parts.next() {
            Some(VERSION) => {}
            Some(other) => {
                return Err(bad(format!(
                    "unknown version {:?} (this mailwire reads {VERSION})",
                    other.chars().take(16).collect::<String>()
                )));
            }
            None => return Err(bad("empty".into())),
        }
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("field {:?} has no '='", excerpt(part))))?;
            if !matches!(
                key,
                "folder" | "uidvalidity" | "uidnext" | "modseq" | "uids" | "flags"
            ) {
                return Err(bad(format!("unknown field {:?}", excerpt(key))));
            }
            if fields.insert(key, value).is_some() {
                return Err(bad(format!("field {key:?} appears twice")));
            }
        }
        let field = |key: &str| {
            fields
                .get(key)
                .copied()
                .ok_or_else(|| bad(format!("field {key:?} is missing")))
        };
        let folder = percent_decode(field("folder")?)?;
        let number = |key: &str| -> Result<Option<u64>> {
            let v = field(key)?;
            if v.is_empty() {
                return Ok(None);
            }
            if !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("{key}={:?} is not a number", excerpt(v))));
            }
            v.parse::<u64>()
                .map(Some)
                .map_err(|_| bad(format!("{key}={:?} is too large", excerpt(v))))
        };
        let nz32 = |key: &str| -> Result<Option<u32>> {
            match number(key)? {
                None => Ok(None),
                Some(n) => match u32::try_from(n) {
                    Ok(v) if v != 0 => Ok(Some(v)),
                    _ => Err(bad(format!(
                        "{key}={n} is not a number from 1 to 4294967295"
                    ))),
                },
            }
        };
        let uid_validity = nz32("uidvalidity")?;
        let uid_next = nz32("uidnext")?;
        let highest_modseq = number("modseq")?;
        let uids = parse_uid_set(field("uids")?, "uids")?;
        if uids.len().unwrap_or(u64::MAX) > MAX_KNOWN_UIDS {
            return Err(bad(format!(
                "the state claims more than {MAX_KNOWN_UIDS} known messages"
            )));
        }
        if uid_validity.is_none() && !uids.is_empty() {
            return Err(bad("known UIDs without a UIDVALIDITY".into()));
        }
        let flags = parse_flag_groups(field("flags")?, &uids)?;
        Ok(SyncState {
            folder,
            uid_validity,
            uid_next,
            highest_modseq,
            uids,
            flags,
        })
    }
}

/// A short excerpt of stored text for an error message (a hostile state must not make
/// the error as large as itself).
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Reads the `flags` field: groups `flag+flag=set` separated by `/`. Linear in the text
/// (plus sorting its ranges once): each group's set is checked against the known UIDs by
/// binary search, overlaps by sorting every group's ranges together, and the groups with
/// the same flags are merged once at the end. Nothing is allocated beyond a constant
/// factor of the text's length.
fn parse_flag_groups(text: &str, uids: &SequenceSet) -> Result<BTreeMap<Vec<String>, SequenceSet>> {
    let bad = |reason: String| Error::invalid("sync state", reason);
    let mut flags: BTreeMap<Vec<String>, Vec<RangeInclusive<u32>>> = BTreeMap::new();
    // Every range of every group, with its group's number, to find overlaps.
    let mut all: Vec<(u32, u32, usize)> = Vec::new();
    if !text.is_empty() {
        for (index, group) in text.split('/').enumerate() {
            let (names, set) = group
                .split_once('=')
                .ok_or_else(|| bad(format!("flag group {:?} has no '='", excerpt(group))))?;
            let mut list = Vec::new();
            for name in names.split('+') {
                let name = percent_decode(name)?;
                if name.is_empty() {
                    return Err(bad(format!(
                        "empty flag name in group {:?}",
                        excerpt(group)
                    )));
                }
                list.push(name);
            }
            let list = canonical_texts(list);
            let set = parse_uid_set(set, "flag group")?;
            if set.is_empty() {
                return Err(bad(format!("flag group {:?} has no UID", excerpt(group))));
            }
            let mut ranges = Vec::with_capacity(set.ranges().len());
            for r in set.ranges() {
                let (SeqNumber::Value(a), SeqNumber::Value(b)) = (r.start(), r.end()) else {
                    return Err(bad("a flag group must not contain '*'".into()));
                };
                if !within(uids, a, b) {
                    return Err(bad(format!(
                        "flag group {:?} names UIDs that are not known",
                        excerpt(group)
                    )));
                }
                all.push((a, b, index));
                ranges.push(a..=b);
            }
            if !list.is_empty() {
                flags.entry(list).or_default().extend(ranges);
            }
        }
    }
    all.sort_unstable();
    if let Some(pair) = all.windows(2).find(|w| matches!(w, [x, y] if y.0 <= x.1)) {
        let group = pair.get(1).map_or(0, |&(_, _, i)| i);
        return Err(bad(format!(
            "flag group #{} overlaps another group",
            group + 1
        )));
    }
    Ok(flags
        .into_iter()
        .map(|(list, ranges)| (list, SequenceSet::from_ranges(ranges)))
        .collect())
}

/// Whether `a..=b` lies within `set` (a range inside a set of merged ranges lies inside
/// one of them): a binary search.
fn within(set: &SequenceSet, a: u32, b: u32) -> bool {
    let ranges = set.ranges();
    let idx = ranges.partition_point(|r| r.start() <= SeqNumber::Value(a));
    idx.checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|r| r.end() >= SeqNumber::Value(b))
}

fn parse_uid_set(text: &str, what: &str) -> Result<SequenceSet> {
    if text.is_empty() {
        return Ok(SequenceSet::new());
    }
    let set = SequenceSet::parse(text).map_err(|_| {
        Error::invalid(
            "sync state",
            format!(
                "{what} {:?} is not a UID set",
                text.chars().take(40).collect::<String>()
            ),
        )
    })?;
    if set.has_star() {
        return Err(Error::invalid(
            "sync state",
            format!("{what} must not contain '*'"),
        ));
    }
    Ok(set)
}

fn keeps(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'\\' | b'$' | b'-' | b'_' | b'.' | b'~')
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if keeps(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Result<String> {
    let bad = |reason: String| Error::invalid("sync state", reason);
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = |d: Option<u8>| d.and_then(|d| char::from(d).to_digit(16));
            match (hex(bytes.next()), hex(bytes.next())) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(bad(format!("bad percent escape in {:?}", excerpt(s)))),
            }
        } else if keeps(b) {
            out.push(b);
        } else {
            return Err(bad(format!(
                "character {:?} must be percent-encoded",
                char::from(b)
            )));
        }
    }
    String::from_utf8(out).map_err(|_| bad(format!("{:?} does not decode to UTF-8", excerpt(s))))
}

/// How [`ImapConnection::sync_with`] finds the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SyncStrategy {
    /// The best the server offers: QRESYNC, else CONDSTORE, else plain.
    #[default]
    Auto,
    /// `ENABLE QRESYNC` and `SELECT ... (QRESYNC (...))`: the server reports expunges
    /// (`VANISHED (EARLIER)`) and flag changes in its answer to the SELECT (RFC 7162).
    Qresync,
    /// `UID FETCH 1:* (FLAGS) (CHANGEDSINCE n)` for flag changes and `UID SEARCH ALL`
    /// compared with the known UIDs for new and expunged messages (RFC 7162).
    Condstore,
    /// `UID FETCH 1:* (FLAGS)` compared with the stored state: works everywhere, costs one
    /// line per message.
    Plain,
}

impl fmt::Display for SyncStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncStrategy::Auto => "auto",
            SyncStrategy::Qresync => "QRESYNC",
            SyncStrategy::Condstore => "CONDSTORE",
            SyncStrategy::Plain => "plain",
        })
    }
}

/// What changed in a folder since the state passed to [`ImapConnection::sync`].
///
/// Apply it in this order: drop `vanished`, add `new`, then set the flags of every entry
/// of `flags_changed`, which covers the new messages too (a new message's flags are
/// reported there, so one list gives the current flags of every message the caller does
/// not know yet or knows with other flags). Then store `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncDelta {
    /// UIDs of the messages that appeared, ascending.
    pub new: Vec<u32>,
    /// `(uid, flags)` for every new message and every known message whose flags differ
    /// from the state's, ascending by UID; flags sorted by name, without `\Recent`.
    pub flags_changed: Vec<(u32, Vec<Flag>)>,
    /// UIDs of known messages that are gone, as ranges (iterate with `for uid in
    /// &delta.vanished`, ascending): only UIDs of the state, so a server claiming that
    /// `1:4294967295` vanished costs a few ranges, never a list of four billion numbers.
    pub vanished: SequenceSet,
    /// The folder's UIDVALIDITY differs from the state's: every UID the caller holds for
    /// it is meaningless now. Drop the folder's cache; `new` then lists every message and
    /// `vanished` is empty (the old UIDs are never mixed with the new ones).
    pub uid_validity_reset: bool,
    /// The state to store and pass to the next sync.
    pub state: SyncState,
    /// The strategy that ran (never [`SyncStrategy::Auto`]). A first sync, a reset, or a
    /// folder without mod-sequences is a full listing, reported as
    /// [`SyncStrategy::Plain`] whatever was asked.
    pub strategy: SyncStrategy,
}

impl SyncDelta {
    /// Whether nothing changed (no new, changed or vanished message, no reset).
    pub fn is_empty(&self) -> bool {
        self.new.is_empty()
            && self.flags_changed.is_empty()
            && self.vanished.is_empty()
            && !self.uid_validity_reset
    }
}

impl ImapConnection {
    /// Tells what changed in `folder` since `state` was taken (a [`SyncState::new`] for a
    /// first sync): new messages, flag changes, expunges, or a UIDVALIDITY reset, with
    /// the next state to store. Uses QRESYNC when the server offers it (enabling it on
    /// this connection once), else CONDSTORE, else plain UID comparison; all three give
    /// the same delta. The folder is left selected.
    ///
    /// `state` must be for `folder` ([`Error::InvalidInput`] otherwise).
    ///
    /// ```no_run
    /// use mailwire::imap::{ImapConnection, SyncState};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let stored = std::fs::read_to_string("inbox.state").ok();
    /// let state = match stored {
    ///     Some(text) => text.parse::<SyncState>()?,
    ///     None => SyncState::new("INBOX"),
    /// };
    /// let delta = conn.sync("INBOX", &state)?;
    /// if delta.uid_validity_reset {
    ///     println!("the folder was recreated: drop the cache, everything is new");
    /// }
    /// for uid in &delta.vanished {
    ///     println!("gone: {uid}");
    /// }
    /// for message in conn.fetch_headers("INBOX", &delta.new)? {
    ///     println!("new: {:?} {:?}", message.uid(), message.subject());
    /// }
    /// for (uid, flags) in &delta.flags_changed {
    ///     println!("{uid}: {flags:?}");
    /// }
    /// std::fs::write("inbox.state", delta.state.to_string()).ok();
    /// # Ok(()) }
    /// ```
    pub fn sync(&self, folder: &str, state: &SyncState) -> Result<SyncDelta> {
        self.sync_with(folder, state, SyncStrategy::Auto)
    }

    /// [`sync`](Self::sync) with a chosen strategy: for tests, and for servers that
    /// announce an extension they implement badly. Forcing [`SyncStrategy::Qresync`] or
    /// [`SyncStrategy::Condstore`] on a server that does not announce it is
    /// [`Error::InvalidInput`]; so is QRESYNC when the server refuses to enable it.
    pub fn sync_with(
        &self,
        folder: &str,
        state: &SyncState,
        strategy: SyncStrategy,
    ) -> Result<SyncDelta> {
        if state.folder != folder {
            return Err(Error::invalid(
                "sync state",
                format!("the state is for folder {:?}, not {folder:?}", state.folder),
            ));
        }
        let memory = self.validities();
        let max_ranges = self.limits().max_set_ranges;
        let mut session = self.session.lock();
        match run_sync(&mut session, folder, state, strategy, max_ranges) {
            Ok(delta) => {
                // The delta reports a reset itself; later calls with the new UIDs are fine.
                if let Some(v) = delta.state.uid_validity {
                    memory.record(folder, v);
                }
                Ok(delta)
            }
            Err(e) => {
                if matches!(e, Error::LimitExceeded { .. }) {
                    // A set over the limit: the connection is not reused.
                    session.shutdown();
                }
                Err(e)
            }
        }
    }
}

fn choose(s: &Session, asked: SyncStrategy) -> Result<SyncStrategy> {
    let caps = s.capabilities();
    let qresync = caps.has("QRESYNC");
    // QRESYNC implies CONDSTORE (RFC 7162 §3.2).
    let condstore = qresync || caps.has("CONDSTORE");
    let missing = |name: &str| {
        Error::invalid(
            "sync strategy",
            format!("{name} was forced but the server does not announce it"),
        )
    };
    match asked {
        SyncStrategy::Auto if qresync => Ok(SyncStrategy::Qresync),
        SyncStrategy::Auto if condstore => Ok(SyncStrategy::Condstore),
        SyncStrategy::Auto | SyncStrategy::Plain => Ok(SyncStrategy::Plain),
        SyncStrategy::Qresync if qresync => Ok(SyncStrategy::Qresync),
        SyncStrategy::Qresync => Err(missing("QRESYNC")),
        SyncStrategy::Condstore if condstore => Ok(SyncStrategy::Condstore),
        SyncStrategy::Condstore => Err(missing("CONDSTORE")),
    }
}

/// `ENABLE QRESYNC` (once per connection). ENABLE belongs before any SELECT (RFC 5161),
/// so a selected folder is left first with UNSELECT when the server has it. Returns
/// whether QRESYNC is on.
fn enable_qresync(s: &mut Session) -> Result<bool> {
    if s.qresync_enabled {
        return Ok(true);
    }
    if s.state() == ConnectionState::Selected && s.capabilities().has("UNSELECT") {
        s.run(&Command::Unselect)?.into_result("UNSELECT")?;
        s.selected = None;
        s.set_state(ConnectionState::Authenticated);
    }
    let c = s.run(&Command::Enable(vec!["QRESYNC".into()]))?;
    let enabled = c.untagged.iter().any(|u| {
        matches!(u, Untagged::Enabled(list) if list.iter().any(|e| e.eq_ignore_ascii_case("QRESYNC")))
    });
    s.qresync_enabled = enabled;
    Ok(enabled)
}

/// What the SELECT answered.
struct Selected {
    exists: u32,
    uid_validity: u32,
    uid_next: Option<u32>,
    highest_modseq: Option<u64>,
    untagged: Vec<Untagged>,
}

/// Selects `folder` explicitly (never trusting the connection's "already selected"
/// cache: the QRESYNC parameters only take effect on a fresh SELECT) and records it as the
/// connection's selected folder.
fn select(s: &mut Session, folder: &str, options: SelectOptions) -> Result<Selected> {
    s.selected = None;
    let completion = s.run(&Command::Select {
        mailbox: WireMailbox::new(folder),
        options,
    })?;
    let completion = match completion.into_result("SELECT") {
        Ok(c) => c,
        Err(e) => {
            s.set_state(ConnectionState::Authenticated);
            return Err(e);
        }
    };
    let mut exists = 0;
    let mut uid_validity = None;
    let mut uid_next = None;
    let mut highest_modseq = None;
    let mut no_modseq = false;
    let mut read_only = false;
    let codes = completion
        .untagged
        .iter()
        .filter_map(|u| match u {
            Untagged::Condition {
                code: Some(code), ..
            } => Some(code),
            _ => None,
        })
        .chain(completion.code.as_ref());
    for code in codes {
        match code {
            ResponseCode::UidValidity(n) => uid_validity = Some(*n),
            ResponseCode::UidNext(n) => uid_next = Some(*n),
            ResponseCode::HighestModSeq(n) => highest_modseq = Some(*n),
            ResponseCode::NoModSeq => no_modseq = true,
            ResponseCode::ReadOnly => read_only = true,
            _ => {}
        }
    }
    for u in &completion.untagged {
        if let Untagged::Exists(n) = u {
            exists = *n;
        }
    }
    s.set_state(ConnectionState::Selected);
    s.selected = Some((folder.to_string(), read_only));
    // The FETCH / EXISTS of the SELECT answer are its data, not news.
    let _ = s.take_unsolicited();
    let uid_validity = uid_validity.filter(|&v| v != 0).ok_or_else(|| {
        Error::protocol(
            format!("the server sent no UIDVALIDITY when selecting {folder:?}"),
            &[],
            0,
        )
    })?;
    // The sync reports a change itself: the connection's cache must not fail the next
    // call with UidValidityChanged.
    s.uid_validities.insert(folder.to_string(), uid_validity);
    Ok(Selected {
        exists,
        uid_validity,
        uid_next: uid_next.filter(|&n| n != 0),
        highest_modseq: if no_modseq { None } else { highest_modseq },
        untagged: completion.untagged,
    })
}

/// What the server told about the folder's messages.
enum Observation {
    /// Every message with its flags.
    Full(BTreeMap<u32, Vec<String>>),
    /// Changes only: UIDs reported expunged (possibly including UIDs never known) and
    /// `(uid, flags)` of messages changed or added.
    Changes {
        vanished: SequenceSet,
        changed: BTreeMap<u32, Vec<String>>,
    },
}

fn run_sync(
    s: &mut Session,
    folder: &str,
    state: &SyncState,
    asked: SyncStrategy,
    max_ranges: usize,
) -> Result<SyncDelta> {
    let mut strategy = choose(s, asked)?;
    if strategy == SyncStrategy::Qresync && !enable_qresync(s)? {
        if asked == SyncStrategy::Qresync {
            return Err(Error::invalid(
                "sync strategy",
                "QRESYNC was forced but the server did not enable it",
            ));
        }
        strategy = SyncStrategy::Condstore;
    }
    let usable =
        |st: &SyncState| st.uid_validity.is_some() && valid_modseq(st.highest_modseq).is_some();
    let options = match (
        strategy,
        state.uid_validity,
        valid_modseq(state.highest_modseq),
    ) {
        (SyncStrategy::Qresync, Some(validity), Some(modseq)) => {
            let mut q = Qresync::new(validity, modseq);
            if !state.uids.is_empty() && state.uids.encoded_len() <= MAX_QRESYNC_SET_LEN {
                q = q.with_known_uids(state.uids.clone());
            }
            SelectOptions::new().qresync(q)
        }
        (SyncStrategy::Qresync | SyncStrategy::Condstore, ..) => SelectOptions::new().condstore(),
        _ => SelectOptions::new(),
    };
    let mut selected = select(s, folder, options)?;
    selected.highest_modseq = valid_modseq(selected.highest_modseq);
    let reset = state
        .uid_validity
        .is_some_and(|old| old != selected.uid_validity);
    let base = if reset || state.is_initial() {
        SyncState::new(folder)
    } else {
        state.clone()
    };
    let incremental =
        strategy != SyncStrategy::Plain && usable(&base) && selected.highest_modseq.is_some();
    if !incremental {
        strategy = SyncStrategy::Plain;
    }
    let observation = match strategy {
        SyncStrategy::Qresync => observe_qresync(s, &base, &selected, max_ranges)?,
        SyncStrategy::Condstore => observe_condstore(s, &base, &selected, max_ranges)?,
        _ => Observation::Full(fetch_flags(s, &selected, None, None)?),
    };
    let Outcome {
        new,
        flags_changed,
        vanished,
        mut next,
    } = apply(&base, observation);
    next.uid_validity = Some(selected.uid_validity);
    next.highest_modseq = selected.highest_modseq;
    let after_last = next.uids.ranges().last().and_then(|r| match r.end() {
        SeqNumber::Value(v) => v.checked_add(1),
        SeqNumber::Star => None,
    });
    next.uid_next = [selected.uid_next, after_last, base.uid_next]
        .into_iter()
        .flatten()
        .max();
    log::debug!(
        target: "mailwire::imap",
        "[{}] sync of {folder:?} ({strategy}): {} new, {} flag changes, {} vanished{}",
        s.id(),
        new.len(),
        flags_changed.len(),
        vanished.len().unwrap_or(0),
        if reset { ", UIDVALIDITY reset" } else { "" }
    );
    Ok(SyncDelta {
        new,
        flags_changed,
        vanished,
        uid_validity_reset: reset,
        state: next,
        strategy,
    })
}

/// A mod-sequence that can be sent back (RFC 7162: 1 to 2^63-1); others count as none, so
/// a state holding one gets a full listing instead of a command the encoder refuses.
fn valid_modseq(modseq: Option<u64>) -> Option<u64> {
    modseq.filter(|&m| m >= 1 && m <= i64::MAX as u64)
}

/// The expunges and flag changes from the QRESYNC SELECT answer, plus the messages from
/// the old UIDNEXT on.
fn observe_qresync(
    s: &mut Session,
    base: &SyncState,
    selected: &Selected,
    max_ranges: usize,
) -> Result<Observation> {
    let mut vanished = SequenceSet::new();
    let mut changed = BTreeMap::new();
    for u in &selected.untagged {
        match u {
            // QRESYNC is enabled on this path (the only case where VANISHED is valid); the
            // set stays ranges and `apply` keeps only the known UIDs of it.
            Untagged::Vanished { uids, .. } => {
                uids.check_ranges(max_ranges, "a VANISHED response")?;
                vanished = vanished.union(uids);
                vanished.check_ranges(max_ranges, "the VANISHED responses of one SELECT")?;
            }
            Untagged::Fetch { items, .. } => {
                if let Some((uid, flags)) = uid_and_flags(items) {
                    changed.insert(uid, flags);
                }
            }
            _ => {}
        }
    }
    let from = base.uid_next.unwrap_or(1).max(1);
    if selected.uid_next.is_none_or(|next| next > from) {
        changed.extend(fetch_flags(s, selected, Some(from), None)?);
    }
    Ok(Observation::Changes { vanished, changed })
}

/// `UID FETCH 1:* (FLAGS) (CHANGEDSINCE n)` and `UID SEARCH ALL`, pipelined; expunges are
/// the known UIDs the search no longer finds. The search answer stays ranges (at most
/// `max_ranges`) and is clipped to the UIDs below the folder's UIDNEXT.
fn observe_condstore(
    s: &mut Session,
    base: &SyncState,
    selected: &Selected,
    max_ranges: usize,
) -> Result<Observation> {
    if selected.exists == 0 {
        return Ok(Observation::Changes {
            vanished: base.uids.clone(),
            changed: BTreeMap::new(),
        });
    }
    let modseq = valid_modseq(base.highest_modseq).unwrap_or(1);
    let esearch = s.capabilities().has("ESEARCH");
    let commands = [
        Command::Fetch {
            uid: true,
            set: SequenceSet::all(),
            items: vec![FetchItem::Uid, FetchItem::Flags],
            changed_since: Some(modseq),
            vanished: false,
        },
        Command::Search {
            uid: true,
            query: SearchQuery::all(),
            returns: esearch.then(|| vec![SearchReturn::All]),
        },
    ];
    s.solicited_uids = Some(SequenceSet::all());
    let result = s.run_pipelined(&commands);
    s.solicited_uids = None;
    let (untagged, completions) = result?;
    for (c, name) in completions.into_iter().zip(["UID FETCH", "UID SEARCH"]) {
        c.into_result(name)?;
    }
    let mut present = SequenceSet::new();
    let mut changed = BTreeMap::new();
    for u in &untagged {
        match u {
            Untagged::Fetch { items, .. } => {
                if let Some((uid, flags)) = uid_and_flags(items) {
                    changed.insert(uid, flags);
                }
            }
            Untagged::Search { ids, .. } => {
                let part: SequenceSet = ids.iter().copied().collect();
                part.check_ranges(max_ranges, "a SEARCH answer")?;
                present = present.union(&part);
            }
            Untagged::Esearch { items, .. } => {
                for item in items {
                    if let EsearchItem::All(set) = item {
                        set.check_ranges(max_ranges, "an ESEARCH answer")?;
                        present = present.union(set);
                    }
                }
            }
            _ => {}
        }
        present.check_ranges(max_ranges, "the SEARCH answers of one sync")?;
    }
    // What can exist: UIDs from 1 to below UIDNEXT (a message arriving meanwhile is found
    // by the next sync).
    let last = selected.uid_next.map_or(u32::MAX, |n| n.saturating_sub(1));
    let present = present.intersection(&SequenceSet::from_ranges([1..=last]));
    // New messages normally come with the CHANGEDSINCE answer (their mod-sequence is
    // higher); fetch the flags of any that did not. Computed on ranges: a hostile answer
    // costs its ranges, never a list of every UID it claims.
    let answered: SequenceSet = changed.keys().copied().collect();
    let missing = present.difference(&base.uids).difference(&answered);
    if !missing.is_empty() {
        changed.extend(fetch_flags(s, selected, None, Some(missing))?);
    }
    let changed: BTreeMap<u32, Vec<String>> = changed
        .into_iter()
        .filter(|(uid, _)| present.contains(*uid))
        .collect();
    Ok(Observation::Changes {
        vanished: base.uids.difference(&present),
        changed,
    })
}

/// `UID FETCH <set> (UID FLAGS)`: every message (`1:*`), those from `from` on, or the
/// given UIDs. An empty folder costs no command.
fn fetch_flags(
    s: &mut Session,
    selected: &Selected,
    from: Option<u32>,
    uids: Option<SequenceSet>,
) -> Result<BTreeMap<u32, Vec<String>>> {
    let mut out = BTreeMap::new();
    if selected.exists == 0 {
        return Ok(out);
    }
    let from = from.unwrap_or(1).max(1);
    let sets: Vec<SequenceSet> = match uids {
        Some(set) => set.chunks(MAX_QRESYNC_SET_LEN).collect(),
        None => vec![SequenceSet::from_start(from)],
    };
    let commands: Vec<Command> = sets
        .into_iter()
        .map(|set| Command::uid_fetch(set, [FetchItem::Uid, FetchItem::Flags]))
        .collect();
    s.solicited_uids = Some(SequenceSet::all());
    let result = s.run_pipelined(&commands);
    s.solicited_uids = None;
    let (untagged, completions) = result?;
    for c in completions {
        c.into_result("UID FETCH")?;
    }
    for u in &untagged {
        if let Untagged::Fetch { items, .. } = u {
            // `n:*` also matches the last message when it is below n (RFC 9051 §6.4.8).
            if let Some((uid, flags)) = uid_and_flags(items).filter(|(uid, _)| *uid >= from) {
                out.insert(uid, flags);
            }
        }
    }
    Ok(out)
}

fn uid_and_flags(items: &[Item]) -> Option<(u32, Vec<String>)> {
    let uid = items.iter().find_map(|i| match i {
        Item::Uid(uid) if *uid != 0 => Some(*uid),
        _ => None,
    })?;
    let flags = items.iter().find_map(|i| match i {
        Item::Flags(flags) => Some(canonical_flags(flags)),
        _ => None,
    })?;
    Some((uid, flags))
}

/// Computes the delta and the next state (its UIDVALIDITY, UIDNEXT and modseq are set by
/// the caller) from the base state and what the server said. Linear in the state's ranges
/// and the messages reported (plus sorting): flags are looked up through a [`FlagIndex`].
fn apply(base: &SyncState, observation: Observation) -> Outcome {
    let index = FlagIndex::new(base);
    let mut new = Vec::new();
    let mut changes: Vec<(u32, Vec<String>)> = Vec::new();
    let mut next = SyncState::new(base.folder.clone());
    let vanished: SequenceSet;
    match observation {
        Observation::Full(all) => {
            let present: SequenceSet = all.keys().copied().collect();
            vanished = base.uids.difference(&present);
            let mut groups: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
            for (uid, flags) in all {
                match index.get(uid) {
                    Some(old) if old == flags.as_slice() => {}
                    Some(_) => changes.push((uid, flags.clone())),
                    None => {
                        new.push(uid);
                        changes.push((uid, flags.clone()));
                    }
                }
                if !flags.is_empty() {
                    groups.entry(flags).or_default().push(uid);
                }
            }
            next.uids = present;
            next.flags = groups
                .into_iter()
                .map(|(flags, uids)| (flags, uids.into_iter().collect()))
                .collect();
        }
        Observation::Changes {
            vanished: reported,
            changed,
        } => {
            let gone = reported.intersection(&base.uids);
            let mut touched = Vec::new();
            let mut groups: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
            for (uid, flags) in changed {
                if reported.contains(uid) {
                    continue;
                }
                match index.get(uid) {
                    Some(old) if old == flags.as_slice() => continue,
                    Some(_) => {}
                    None => new.push(uid),
                }
                touched.push(uid);
                changes.push((uid, flags.clone()));
                if !flags.is_empty() {
                    groups.entry(flags).or_default().push(uid);
                }
            }
            let touched: SequenceSet = touched.into_iter().collect();
            let added: SequenceSet = new.iter().copied().collect();
            next.uids = base.uids.difference(&gone).union(&added);
            next.flags = index.without(&gone.union(&touched));
            for (flags, uids) in groups {
                let set: SequenceSet = uids.into_iter().collect();
                let entry = next.flags.entry(flags).or_default();
                *entry = entry.union(&set);
            }
            vanished = gone;
        }
    }
    let flags_changed = changes
        .into_iter()
        .map(|(uid, texts)| {
            (
                uid,
                texts
                    .iter()
                    .map(|t| Flag::from_bytes(t.as_bytes()))
                    .collect(),
            )
        })
        .collect();
    Outcome {
        new,
        flags_changed,
        vanished,
        next,
    }
}

/// The flags of a state's known UIDs, by binary search over every group's ranges sorted
/// together (built once per sync: looking a UID up group by group would cost the number
/// of groups per message).
struct FlagIndex<'a> {
    known: &'a SequenceSet,
    /// (first, last, flags) of every range of every group, sorted, disjoint.
    ranges: Vec<(u32, u32, &'a Vec<String>)>,
}

impl<'a> FlagIndex<'a> {
    fn new(state: &'a SyncState) -> FlagIndex<'a> {
        let mut ranges = Vec::new();
        for (flags, set) in &state.flags {
            for r in set.ranges() {
                if let (SeqNumber::Value(a), SeqNumber::Value(b)) = (r.start(), r.end()) {
                    ranges.push((a, b, flags));
                }
            }
        }
        ranges.sort_unstable_by_key(|&(a, b, _)| (a, b));
        FlagIndex {
            known: &state.uids,
            ranges,
        }
    }

    /// The flags of a known UID (empty for one in no group), `None` for an unknown one.
    fn get(&self, uid: u32) -> Option<&'a [String]> {
        if !self.known.contains(uid) {
            return None;
        }
        let idx = self.ranges.partition_point(|&(a, _, _)| a <= uid);
        Some(
            idx.checked_sub(1)
                .and_then(|i| self.ranges.get(i))
                .filter(|&&(_, b, _)| uid <= b)
                .map_or(&[][..], |&(_, _, flags)| flags.as_slice()),
        )
    }

    /// The groups without the UIDs of `removed`, in one pass over both (sorted).
    fn without(&self, removed: &SequenceSet) -> BTreeMap<Vec<String>, SequenceSet> {
        let mut kept: BTreeMap<&Vec<String>, Vec<RangeInclusive<u32>>> = BTreeMap::new();
        let removed = removed.ranges();
        let mut j = 0usize;
        for &(a, b, flags) in &self.ranges {
            let out = kept.entry(flags).or_default();
            let mut cursor = u64::from(a);
            let end = u64::from(b);
            while removed
                .get(j)
                .is_some_and(|r| r.end() < SeqNumber::Value(a))
            {
                j += 1;
            }
            let mut k = j;
            while let Some(r) = removed.get(k) {
                let (SeqNumber::Value(ra), rb) = (r.start(), r.end()) else {
                    break;
                };
                if u64::from(ra) > end {
                    break;
                }
                if u64::from(ra) > cursor {
                    if let Ok(c) = u32::try_from(cursor) {
                        out.push(c..=ra - 1);
                    }
                }
                cursor = match rb {
                    SeqNumber::Value(v) => cursor.max(u64::from(v) + 1),
                    SeqNumber::Star => u64::MAX,
                };
                if cursor > end {
                    break;
                }
                k += 1;
            }
            if cursor <= end {
                if let Ok(c) = u32::try_from(cursor) {
                    out.push(c..=b);
                }
            }
        }
        kept.into_iter()
            .map(|(flags, ranges)| (flags.clone(), SequenceSet::from_ranges(ranges)))
            .filter(|(_, set)| !set.is_empty())
            .collect()
    }
}

/// The delta's lists and the next state, as [`apply`] computes them.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    new: Vec<u32>,
    flags_changed: Vec<(u32, Vec<Flag>)>,
    vanished: SequenceSet,
    next: SyncState,
}

/// The stable text of a flag, `None` for `\Recent` (session-specific, never stored).
fn flag_text(flag: &Flag) -> Option<String> {
    Some(match flag {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => return None,
        Flag::MayCreate => "\\*".into(),
        Flag::Extension(name) => format!("\\{name}"),
        Flag::Keyword(k) => k.clone(),
    })
}

fn canonical_flags(flags: &[Flag]) -> Vec<String> {
    canonical_texts(flags.iter().filter_map(flag_text).collect())
}

/// Sorted, deduplicated, without empty names and `\Recent`.
fn canonical_texts(texts: Vec<String>) -> Vec<String> {
    let mut texts: Vec<String> = texts
        .into_iter()
        .map(|t| flag_text(&Flag::from_bytes(t.as_bytes())).unwrap_or_default())
        .filter(|t| !t.is_empty())
        .collect();
    texts.sort();
    texts.dedup();
    texts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(s: &str) -> SequenceSet {
        if s.is_empty() {
            SequenceSet::new()
        } else {
            SequenceSet::parse(s).unwrap()
        }
    }

    fn texts(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|s| s.to_string()).collect()
    }

    fn sample() -> SyncState {
        let mut s = SyncState::new("Archive/2024 Grüße;x=y%");
        s.uid_validity = Some(1_716_000_000);
        s.uid_next = Some(501);
        s.highest_modseq = Some(812);
        s.uids = set("1:500");
        s.flags.insert(texts(&["\\Seen"]), set("1:200,305"));
        s.flags.insert(
            texts(&["$Work+Fun/x", "\\Flagged", "\\Seen"]),
            set("201:204"),
        );
        s
    }

    #[test]
    fn text_form_is_stable_and_round_trips() {
        let s = sample();
        let text = s.to_string();
        assert_eq!(
            text,
            "v1;folder=Archive%2F2024%20Gr%C3%BC%C3%9Fe%3Bx%3Dy%25;uidvalidity=1716000000;\
             uidnext=501;modseq=812;uids=1:500;flags=$Work%2BFun%2Fx+\\Flagged+\\Seen=201:204/\\Seen=1:200,305"
        );
        assert_eq!(text.parse::<SyncState>().unwrap(), s);
        let initial = SyncState::new("INBOX");
        assert_eq!(
            initial.to_string(),
            "v1;folder=INBOX;uidvalidity=;uidnext=;modseq=;uids=;flags="
        );
        assert_eq!(initial.to_string().parse::<SyncState>().unwrap(), initial);
        assert_eq!(s.flags(305), Some(vec![Flag::Seen]));
        assert_eq!(s.flags(400), Some(vec![]));
        assert_eq!(s.flags(501), None);
        assert_eq!(
            s.flags(202),
            Some(vec![
                Flag::Keyword("$Work+Fun/x".into()),
                Flag::Flagged,
                Flag::Seen
            ])
        );
        assert_eq!(s.message_count(), 500);
    }

    #[test]
    fn parsing_rejects_bad_states_with_invalid_input() {
        let good = sample().to_string();
        let cases = [
            String::new(),
            "v2;folder=INBOX;uidvalidity=;uidnext=;modseq=;uids=;flags=".into(),
            good.replace("uidvalidity=1716000000", "uidvalidity=0"),
            good.replace("uidvalidity=1716000000", "uidvalidity=99999999999"),
            good.replace("uidnext=501", "uidnext=5x1"),
            good.replace("modseq=812", "modseq=-1"),
            good.replace(";modseq=812", ""),
            format!("{good};modseq=3"),
            format!("{good};color=red"),
            good.replace("uids=1:500", "uids=1:*"),
            good.replace("uids=1:500", "uids=0:5"),
            good.replace("uids=1:500", "uids=1:100"),
            good.replace("=201:204", "=150:204"),
            good.replace("=201:204", "="),
            good.replace("+\\Flagged", "+"),
            good.replace("folder=Archive%2F", "folder=Archive/"),
            good.replace("%C3%BC", "%C3"),
            good.replace("%2F2024", "%G02024"),
            good.replace("uids=1:500", "uids=1:4294967295"),
            "v1;folder=INBOX;uidvalidity=;uidnext=;modseq=;uids=1:3;flags=".into(),
        ];
        for case in cases {
            match case.parse::<SyncState>() {
                Err(Error::InvalidInput { what, .. }) => assert_eq!(what, "sync state", "{case}"),
                other => panic!("{case:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn parsing_canonicalises_flag_groups() {
        let text = "v1;folder=INBOX;uidvalidity=7;uidnext=10;modseq=;uids=1:9;\
                    flags=\\seen+\\Recent=1:2/\\Seen=3/\\Recent=4";
        let s: SyncState = text.parse().unwrap();
        assert_eq!(s.flags.len(), 1);
        assert_eq!(s.flags.get(&texts(&["\\Seen"])), Some(&set("1:3")));
        assert_eq!(s.flags(4), Some(vec![]));
        assert_eq!(
            s.to_string(),
            "v1;folder=INBOX;uidvalidity=7;uidnext=10;modseq=;uids=1:9;flags=\\Seen=1:3"
        );
    }

    fn arb_set() -> impl Strategy<Value = SequenceSet> {
        prop::collection::vec((1u32..200, 0u32..20), 0..8)
            .prop_map(|v| SequenceSet::from_ranges(v.into_iter().map(|(a, len)| a..=a + len)))
    }

    fn arb_flags() -> impl Strategy<Value = Vec<String>> {
        let flag = prop_oneof![
            Just("\\Seen".to_string()),
            Just("\\Answered".to_string()),
            Just("\\Flagged".to_string()),
            Just("\\Draft".to_string()),
            "[$a-zA-Z][ -~]{0,8}".prop_filter("no backslash start", |s| !s.starts_with('\\')),
        ];
        prop::collection::vec(flag, 1..4).prop_map(canonical_texts)
    }

    fn arb_state() -> impl Strategy<Value = SyncState> {
        (
            "\\PC{0,12}",
            prop::option::of(1u32..),
            prop::option::of(1u32..),
            prop::option::of(any::<u64>()),
            arb_set(),
            prop::collection::vec((arb_flags(), arb_set()), 0..4),
        )
            .prop_map(|(folder, validity, next, modseq, uids, groups)| {
                let mut s = SyncState::new(folder);
                s.uid_next = next;
                s.highest_modseq = modseq;
                let Some(v) = validity else { return s };
                s.uid_validity = Some(v);
                s.uids = uids;
                let mut covered = SequenceSet::new();
                for (flags, g) in groups {
                    let g = g.intersection(&s.uids).difference(&covered);
                    if g.is_empty() || flags.is_empty() {
                        continue;
                    }
                    covered = covered.union(&g);
                    let entry = s.flags.entry(flags).or_default();
                    *entry = entry.union(&g);
                }
                s
            })
    }

    proptest! {
        #[test]
        fn any_state_round_trips(state in arb_state()) {
            let text = state.to_string();
            let back: SyncState = text.parse().unwrap();
            prop_assert_eq!(&back, &state);
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn garbage_never_panics(text in "v1;[ -~]{0,60}") {
            let _ = text.parse::<SyncState>();
        }
    }

    fn state_with(uids: &str, groups: &[(&[&str], &str)]) -> SyncState {
        let mut s = SyncState::new("INBOX");
        s.uid_validity = Some(1);
        s.highest_modseq = Some(10);
        s.uids = set(uids);
        for (flags, g) in groups {
            s.flags.insert(texts(flags), set(g));
        }
        s
    }

    #[test]
    fn full_and_incremental_observations_agree() {
        // Known 1:6; 1,2 seen. Now: 3 expunged, 2 unseen, 4 flagged, 7 new (seen).
        let base = state_with("1:6", &[(&["\\Seen"], "1:2")]);
        let mut all = BTreeMap::new();
        for (uid, flags) in [
            (1, &["\\Seen"][..]),
            (2, &[]),
            (4, &["\\Flagged"]),
            (5, &[]),
            (6, &[]),
            (7, &["\\Seen"]),
        ] {
            all.insert(uid, texts(flags));
        }
        let full = apply(&base, Observation::Full(all));
        let mut changed = BTreeMap::new();
        changed.insert(1, texts(&["\\Seen"])); // modseq changed, flags did not
        changed.insert(2, texts(&[]));
        changed.insert(4, texts(&["\\Flagged"]));
        changed.insert(7, texts(&["\\Seen"]));
        changed.insert(9, texts(&["\\Seen"])); // reported and vanished: ignored
        let incremental = apply(
            &base,
            Observation::Changes {
                vanished: set("3,8:9,100"),
                changed,
            },
        );
        assert_eq!(full.new, vec![7]);
        assert_eq!(
            full.flags_changed,
            vec![(2, vec![]), (4, vec![Flag::Flagged]), (7, vec![Flag::Seen])]
        );
        assert_eq!(full.vanished, vec![3]);
        assert_eq!(full.next.uids, set("1:2,4:7"));
        assert_eq!(full.next.flags(4), Some(vec![Flag::Flagged]));
        assert_eq!(full.next.flags(2), Some(vec![]));
        assert_eq!(full, incremental);
    }
}

/// Compiles every example of `docs/sync.md` as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/sync.md")]
pub struct SyncGuideExamples;
