//! The sequence → UID map of the watched folder: the known UIDs themselves, as ranges.
//! Sequence number n is the n-th known UID in ascending order (RFC 3501 §2.3.1.2), so the
//! map costs nothing beyond the UID set the listener keeps anyway, and it only ever holds
//! UIDs the server's data named (an `EXISTS` count allocates nothing).

use crate::imap::seqset::{SeqNumber, SequenceSet};

/// The UID at sequence number `seq` (1-based), `None` beyond the known messages. Walks the
/// ranges: linear in their number, never in the messages.
pub(super) fn uid_at(known: &SequenceSet, seq: u32) -> Option<u32> {
    let mut left = u64::from(seq).checked_sub(1)?;
    for r in known.ranges() {
        let (SeqNumber::Value(a), SeqNumber::Value(b)) = (r.start(), r.end()) else {
            return None;
        };
        let len = u64::from(b) - u64::from(a) + 1;
        if left < len {
            return u32::try_from(u64::from(a) + left).ok();
        }
        left -= len;
    }
    None
}

/// Removes the message at sequence number `seq` (an `EXPUNGE`: later numbers shift down by
/// one) and returns its UID, `None` (nothing removed) beyond the known messages.
pub(super) fn take_seq(known: &mut SequenceSet, seq: u32) -> Option<u32> {
    let uid = uid_at(known, seq)?;
    *known = known.difference(&SequenceSet::single(uid));
    Some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_ranks_of_the_known_uids() {
        let known = SequenceSet::parse("3:5,9,20:21").unwrap();
        let got: Vec<Option<u32>> = (0..=7).map(|seq| uid_at(&known, seq)).collect();
        assert_eq!(
            got,
            vec![
                None,
                Some(3),
                Some(4),
                Some(5),
                Some(9),
                Some(20),
                Some(21),
                None
            ]
        );
        assert_eq!(uid_at(&SequenceSet::new(), 1), None);
        assert_eq!(uid_at(&known, u32::MAX), None);
    }

    #[test]
    fn expunges_shift_the_later_numbers_down() {
        // EXPUNGE 2, EXPUNGE 2, EXPUNGE 3 on 3:5,9,20:21 removes 4, 5, then 20.
        let mut known = SequenceSet::parse("3:5,9,20:21").unwrap();
        let taken: Vec<Option<u32>> = [2, 2, 3].iter().map(|&s| take_seq(&mut known, s)).collect();
        assert_eq!(taken, vec![Some(4), Some(5), Some(20)]);
        assert_eq!(known, SequenceSet::parse("3,9,21").unwrap());
        assert_eq!(take_seq(&mut known, 4), None);
        assert_eq!(known, SequenceSet::parse("3,9,21").unwrap());
    }

    #[test]
    fn the_largest_uids_map() {
        let mut known = SequenceSet::from_ranges([1..=u32::MAX]);
        assert_eq!(uid_at(&known, u32::MAX), Some(u32::MAX));
        assert_eq!(take_seq(&mut known, 1), Some(1));
        assert_eq!(uid_at(&known, 1), Some(2));
    }
}
