//! `Selection`: which messages of a folder an `ImapHandler` fetch names, and the forms it
//! is built from (UID lists, arrays, `Uids`, UID ranges, `uid_next..`).

use std::ops::{RangeFrom, RangeInclusive};

use crate::imap::uids::Uids;

/// Which messages of a folder to fetch.
///
/// Built from UIDs (`Vec<u32>`, `&Vec<u32>`, `&[u32]`, `[u32; N]`, `&[u32; N]`, [`Uids`]),
/// an inclusive UID range (`100..=200`), or a UID range open at the top
/// (`uid_next..`: every message whose UID is at least `uid_next`, IMAP's `uid_next:*`).
///
/// ```
/// use mailwire::imap::Selection;
///
/// assert_eq!(Selection::from([3, 1, 2]), Selection::from(vec![3, 1, 2]));
/// let uid_next = 501;
/// assert_eq!(Selection::from(uid_next..), Selection::UidRange(501..=u32::MAX));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// These UIDs (checked against the UIDVALIDITY they carry, if any).
    Uids(Uids),
    /// Every message whose UID is in the range (inclusive). `uid_next..` converts to
    /// `uid_next..=u32::MAX`: the messages from `uid_next` on, and none at all when no
    /// message is that new (unlike a literal `uid_next:*`, which a server answers with the
    /// newest message even when its UID is below `uid_next`).
    UidRange(RangeInclusive<u32>),
    /// The newest `n` messages (highest UIDs).
    Newest(usize),
    /// Every message of the folder.
    All,
}

impl From<Vec<u32>> for Selection {
    fn from(uids: Vec<u32>) -> Selection {
        Selection::Uids(uids.into())
    }
}

impl From<&Vec<u32>> for Selection {
    fn from(uids: &Vec<u32>) -> Selection {
        Selection::Uids(uids.into())
    }
}

impl From<&[u32]> for Selection {
    fn from(uids: &[u32]) -> Selection {
        Selection::Uids(uids.into())
    }
}

impl<const N: usize> From<[u32; N]> for Selection {
    fn from(uids: [u32; N]) -> Selection {
        Selection::Uids((&uids).into())
    }
}

impl<const N: usize> From<&[u32; N]> for Selection {
    fn from(uids: &[u32; N]) -> Selection {
        Selection::Uids(uids.into())
    }
}

impl From<Uids> for Selection {
    fn from(uids: Uids) -> Selection {
        Selection::Uids(uids)
    }
}

impl From<&Uids> for Selection {
    fn from(uids: &Uids) -> Selection {
        Selection::Uids(uids.clone())
    }
}

impl From<RangeInclusive<u32>> for Selection {
    fn from(range: RangeInclusive<u32>) -> Selection {
        Selection::UidRange(range)
    }
}

impl From<RangeFrom<u32>> for Selection {
    /// `uid_next..`: every UID from `uid_next` on (`uid_next..=u32::MAX`).
    fn from(range: RangeFrom<u32>) -> Selection {
        Selection::UidRange(range.start..=u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids(selection: Selection) -> Vec<u32> {
        match selection {
            Selection::Uids(uids) => uids.iter().collect(),
            other => panic!("not a UID list: {other:?}"),
        }
    }

    #[test]
    fn uid_lists_in_every_form_are_the_same_selection() {
        let owned = vec![7, 3, 5];
        let expected = uids(Selection::from(owned.clone()));
        assert_eq!(expected, vec![3, 5, 7]);
        assert_eq!(uids(Selection::from(&owned)), expected);
        assert_eq!(uids(Selection::from(owned.as_slice())), expected);
        assert_eq!(uids(Selection::from([7, 3, 5])), expected);
        assert_eq!(uids(Selection::from(&[7, 3, 5])), expected);
        assert_eq!(uids(Selection::from(Uids::from(&owned))), expected);
        assert_eq!(uids(Selection::from([])), Vec::<u32>::new());
    }

    #[test]
    fn open_range_reaches_the_highest_uid() {
        assert_eq!(Selection::from(501..), Selection::UidRange(501..=u32::MAX));
        assert_eq!(Selection::from(0..), Selection::UidRange(0..=u32::MAX));
        assert_eq!(
            Selection::from(u32::MAX..),
            Selection::UidRange(u32::MAX..=u32::MAX)
        );
        assert_eq!(Selection::from(2..=9), Selection::UidRange(2..=9));
    }

    #[test]
    fn conversions_are_accepted_where_a_selection_is_taken() {
        fn takes(selection: impl Into<Selection>) -> Selection {
            selection.into()
        }
        let v = vec![1, 2];
        assert_eq!(takes(&v), takes([1, 2]));
        let array = [1, 2];
        assert_eq!(Selection::from(&array), takes(v));
        assert_eq!(takes(array), takes(&array[..]));
        assert_eq!(takes(10..), Selection::UidRange(10..=u32::MAX));
    }
}
