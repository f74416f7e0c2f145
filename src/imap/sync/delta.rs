//! The delta and the next state, computed from the base state and what the server
//! reported (every message, or the changes only), linear in ranges and messages.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::SyncState;
use crate::imap::seqset::{SeqNumber, SequenceSet};
use crate::imap::types::Flag;

/// What the server told about the folder's messages.
pub(super) enum Observation {
    /// Every message with its flags.
    Full(BTreeMap<u32, Vec<String>>),
    /// Changes only: UIDs reported expunged (possibly including UIDs never known) and
    /// `(uid, flags)` of messages changed or added.
    Changes {
        vanished: SequenceSet,
        changed: BTreeMap<u32, Vec<String>>,
    },
}

/// Computes the delta and the next state (its UIDVALIDITY, UIDNEXT and modseq are set by
/// the caller) from the base state and what the server said. Linear in the state's ranges
/// and the messages reported (plus sorting): flags are looked up through a [`FlagIndex`].
pub(super) fn apply(base: &SyncState, observation: Observation) -> Outcome {
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
                if u64::from(ra) > cursor
                    && let Ok(c) = u32::try_from(cursor)
                {
                    out.push(c..=ra - 1);
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
            if cursor <= end
                && let Ok(c) = u32::try_from(cursor)
            {
                out.push(c..=b);
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
pub(super) struct Outcome {
    pub(super) new: Vec<u32>,
    pub(super) flags_changed: Vec<(u32, Vec<Flag>)>,
    pub(super) vanished: SequenceSet,
    pub(super) next: SyncState,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::sync::state::tests::{set, texts};

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
