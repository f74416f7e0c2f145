//! The [`SyncState`] a caller stores between syncs, and its versioned text form
//! (`Display` / `FromStr`), parsed without trusting the stored text.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::flags::canonical_texts;
use crate::error::{Error, Result};
use crate::imap::seqset::{SeqNumber, SequenceSet, within};
use crate::imap::types::Flag;

/// The version tag that starts the text form of a [`SyncState`].
const VERSION: &str = "v1";
/// The most UIDs a state may claim to know (a bound against a corrupted or hostile
/// stored state making the sync allocate gigabytes).
const MAX_KNOWN_UIDS: u64 = 20_000_000;

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
    pub(super) folder: String,
    pub(super) uid_validity: Option<u32>,
    pub(super) uid_next: Option<u32>,
    pub(super) highest_modseq: Option<u64>,
    pub(super) uids: SequenceSet,
    /// Canonical flag lists (sorted, deduplicated, no `\Recent`, never empty) → the known
    /// UIDs with exactly these flags. The sets are non-empty, disjoint and within `uids`.
    pub(super) flags: BTreeMap<Vec<String>, SequenceSet>,
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

    /// About how many bytes the state holds on the heap: 16 bytes per range (of the known
    /// UIDs and of every flag group: a run of consecutive UIDs is one range), and each
    /// group's flag texts. What an `IdleListener` keeps per watched folder (docs/idle.md
    /// quotes it per message).
    pub(crate) fn heap_bytes(&self) -> usize {
        let ranges = |set: &SequenceSet| std::mem::size_of_val(set.ranges());
        let groups: usize = self
            .flags
            .iter()
            .map(|(texts, set)| {
                let names: usize = texts
                    .iter()
                    .map(|t| t.len() + std::mem::size_of::<String>())
                    .sum();
                names + ranges(set) + std::mem::size_of::<(Vec<String>, SequenceSet)>()
            })
            .sum();
        ranges(&self.uids) + groups
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

#[cfg(test)]
pub(in crate::imap::sync) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(in crate::imap::sync) fn set(s: &str) -> SequenceSet {
        if s.is_empty() {
            SequenceSet::new()
        } else {
            SequenceSet::parse(s).unwrap()
        }
    }

    pub(in crate::imap::sync) fn texts(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|s| s.to_string()).collect()
    }

    /// The figures docs/idle.md quotes: bytes per message of 10,000 messages.
    #[test]
    fn heap_bytes_per_message() {
        let per_message = |text: String| {
            let state: SyncState = text.parse().unwrap();
            assert_eq!(state.message_count(), 10_000);
            state.heap_bytes() as f64 / 10_000.0
        };
        // Consecutive UIDs, the older 9,000 \Seen, a few flagged among them.
        let typical = per_message(
            "v1;folder=INBOX;uidvalidity=1;uidnext=10001;modseq=;uids=1:10000;flags=\\Seen=1:99,101:199,201:9000/\\Flagged+\\Seen=100,200".into(),
        );
        // The worst: a hole after every UID, and two flag combinations alternating.
        let uids: Vec<String> = (0..10_000).map(|i| (2 * i + 1).to_string()).collect();
        let (mut seen, mut flagged) = (Vec::new(), Vec::new());
        for (i, uid) in uids.iter().enumerate() {
            if i % 2 == 0 {
                seen.push(uid.clone())
            } else {
                flagged.push(uid.clone())
            }
        }
        let worst = per_message(format!(
            "v1;folder=INBOX;uidvalidity=1;uidnext=20001;modseq=;uids={};flags=\\Seen={}/\\Flagged={}",
            uids.join(","),
            seen.join(","),
            flagged.join(",")
        ));
        println!("SyncState bytes per message: typical {typical:.3}, worst {worst:.1}");
        assert!(typical < 0.1, "{typical}");
        assert!((32.0..32.1).contains(&worst), "{worst}");
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
}
