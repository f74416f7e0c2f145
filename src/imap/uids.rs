//! UIDs together with the UIDVALIDITY they were read under.
//!
//! A UID names a message only together with its folder's UIDVALIDITY: when a folder is
//! deleted and recreated, the new messages get the old numbers again. [`Uids`] (a set) and
//! [`Uid`] (one message) carry the UIDVALIDITY next to the numbers, so that a call acting
//! on them can refuse ([`Error::UidValidityChanged`](crate::Error::UidValidityChanged),
//! nothing done) when the folder is no longer the one they were read from — across
//! connections, processes and restarts, since the value can be stored.
//!
//! Every UID-taking method of [`ImapConnection`](crate::imap::ImapConnection) and
//! [`ImapHandler`](crate::imap::ImapHandler) accepts `impl Into<Uids>` (or
//! `impl Into<Uid>`): plain numbers (`&[1, 2]`, a `Vec<u32>`, a range, a
//! [`SequenceSet`]) as well as the value a search returned.
//!
//! ```
//! use mailwire::imap::{SequenceSet, Uids};
//!
//! // As `search` returns them: read under UIDVALIDITY 1716000000.
//! let found = Uids::with_validity(1_716_000_000, &[3, 4, 5, 9]);
//! assert_eq!(found.set().to_string(), "3:5,9");
//! assert_eq!(found.len(), 4);
//! // Store both parts; rebuild the value after a restart.
//! let (validity, text) = (found.validity().unwrap(), found.set().to_string());
//! let again = Uids::with_validity(validity, text.parse::<SequenceSet>()?);
//! assert_eq!(again, found);
//! // Plain numbers carry no UIDVALIDITY (the connection's or pool's memory checks them).
//! assert_eq!(Uids::from(&[9, 3, 4, 5][..]).validity(), None);
//! # Ok::<(), mailwire::Error>(())
//! ```

use std::fmt;
use std::ops::RangeInclusive;

use crate::imap::seqset::SequenceSet;

/// UIDs of messages in one folder, with the folder's UIDVALIDITY when known.
///
/// Returned by [`ImapConnection::search`](crate::imap::ImapConnection::search) (with the
/// UIDVALIDITY of the folder it searched), accepted by every UID-taking call. A call given
/// a `Uids` with a UIDVALIDITY acts only if the folder still has it; otherwise it fails
/// with [`Error::UidValidityChanged`](crate::Error::UidValidityChanged) and sends nothing
/// that changes or reads the messages.
///
/// The numbers are a [`SequenceSet`]: memory is bounded by ranges, so `1:4294967295` costs
/// as little as `7`. `*` in a set converted to `Uids` is read as 4294967295 (UID commands
/// then mean "every UID from there on").
///
/// Compares equal to a slice or `Vec` listing exactly its members in ascending order
/// (the UIDVALIDITY is not compared there); two `Uids` are equal when both parts are.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Uids {
    validity: Option<u32>,
    set: SequenceSet,
}

impl Uids {
    /// No UID, no UIDVALIDITY.
    pub fn new() -> Uids {
        Uids::default()
    }

    /// `uids` read under `validity` (replacing any UIDVALIDITY `uids` already carried).
    pub fn with_validity(validity: u32, uids: impl Into<Uids>) -> Uids {
        Uids {
            validity: Some(validity),
            set: uids.into().set,
        }
    }

    /// The UIDVALIDITY the UIDs were read under, `None` for plain numbers.
    pub fn validity(&self) -> Option<u32> {
        self.validity
    }

    /// The UIDs as a set (its `Display` is the wire form, `1:5,7`).
    pub fn set(&self) -> &SequenceSet {
        &self.set
    }

    /// The set, dropping the UIDVALIDITY.
    pub fn into_set(self) -> SequenceSet {
        self.set
    }

    /// How many UIDs (saturating at `usize::MAX` on 32-bit targets).
    pub fn len(&self) -> usize {
        usize::try_from(self.set.len().unwrap_or(0)).unwrap_or(usize::MAX)
    }

    /// Whether there is no UID.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Whether `uid` is one of them.
    pub fn contains(&self, uid: u32) -> bool {
        self.set.contains(uid)
    }

    /// The UIDs in ascending order (lazily: a large range is never expanded into memory).
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.set.iter()
    }

    /// The smallest UID.
    pub fn first(&self) -> Option<u32> {
        self.set.first()
    }

    /// The largest UID.
    pub fn last(&self) -> Option<u32> {
        self.set.last()
    }

    /// The `n` highest UIDs (the newest messages), with the same UIDVALIDITY.
    pub fn newest(&self, n: usize) -> Uids {
        Uids {
            validity: self.validity,
            set: self.set.last_n(u64::try_from(n).unwrap_or(u64::MAX)),
        }
    }

    /// One of the UIDs as a [`Uid`] carrying the same UIDVALIDITY; `None` if `uid` is not
    /// a member.
    pub fn get(&self, uid: u32) -> Option<Uid> {
        self.contains(uid).then_some(Uid {
            validity: self.validity,
            uid,
        })
    }

    /// The UIDs as a vector. It holds every member: mind the size of sets a server sent
    /// (`len()` tells it first).
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }
}

impl fmt::Debug for Uids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uids")
            .field("validity", &self.validity)
            .field("set", &format_args!("{}", self.set))
            .finish()
    }
}

impl<'a> IntoIterator for &'a Uids {
    type Item = u32;
    type IntoIter = Box<dyn Iterator<Item = u32> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.set.iter())
    }
}

impl From<SequenceSet> for Uids {
    /// Plain UIDs (`*` read as 4294967295).
    fn from(set: SequenceSet) -> Uids {
        let set = if set.has_star() {
            set.resolve(u32::MAX)
        } else {
            set
        };
        Uids {
            validity: None,
            set,
        }
    }
}

impl From<&SequenceSet> for Uids {
    fn from(set: &SequenceSet) -> Uids {
        Uids::from(set.clone())
    }
}

impl From<&Uids> for Uids {
    fn from(uids: &Uids) -> Uids {
        uids.clone()
    }
}

impl From<&[u32]> for Uids {
    fn from(uids: &[u32]) -> Uids {
        Uids::from(uids.iter().copied().collect::<SequenceSet>())
    }
}

impl From<&Vec<u32>> for Uids {
    fn from(uids: &Vec<u32>) -> Uids {
        Uids::from(uids.as_slice())
    }
}

impl From<Vec<u32>> for Uids {
    fn from(uids: Vec<u32>) -> Uids {
        Uids::from(uids.as_slice())
    }
}

impl<const N: usize> From<&[u32; N]> for Uids {
    fn from(uids: &[u32; N]) -> Uids {
        Uids::from(&uids[..])
    }
}

impl From<u32> for Uids {
    fn from(uid: u32) -> Uids {
        Uids::from(SequenceSet::single(uid))
    }
}

impl From<RangeInclusive<u32>> for Uids {
    /// Every UID of the range (an empty range such as `3..=1` gives no UID).
    fn from(range: RangeInclusive<u32>) -> Uids {
        Uids::from(SequenceSet::from(range))
    }
}

impl From<Uid> for Uids {
    fn from(uid: Uid) -> Uids {
        Uids {
            validity: uid.validity,
            set: SequenceSet::single(uid.uid),
        }
    }
}

impl PartialEq<[u32]> for Uids {
    fn eq(&self, other: &[u32]) -> bool {
        self.set == *other
    }
}

impl PartialEq<&[u32]> for Uids {
    fn eq(&self, other: &&[u32]) -> bool {
        self.set == **other
    }
}

impl PartialEq<Vec<u32>> for Uids {
    fn eq(&self, other: &Vec<u32>) -> bool {
        self.set == other[..]
    }
}

impl<const N: usize> PartialEq<[u32; N]> for Uids {
    fn eq(&self, other: &[u32; N]) -> bool {
        self.set == other[..]
    }
}

/// One message's UID, with its folder's UIDVALIDITY when known (see [`Uids`]).
///
/// Single-message calls ([`fetch_message`](crate::imap::ImapConnection::fetch_message),
/// [`fetch_part`](crate::imap::ImapConnection::fetch_part), …) take `impl Into<Uid>`: a plain
/// `u32`, or a `Uid` from [`Uids::get`] / [`Uid::with_validity`], checked like a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uid {
    validity: Option<u32>,
    uid: u32,
}

impl Uid {
    /// `uid` read under `validity`.
    pub fn with_validity(validity: u32, uid: u32) -> Uid {
        Uid {
            validity: Some(validity),
            uid,
        }
    }

    /// The number.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The UIDVALIDITY it was read under, `None` for a plain number.
    pub fn validity(&self) -> Option<u32> {
        self.validity
    }
}

impl From<u32> for Uid {
    fn from(uid: u32) -> Uid {
        Uid {
            validity: None,
            uid,
        }
    }
}

impl From<&Uid> for Uid {
    fn from(uid: &Uid) -> Uid {
        *uid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_stamped_forms() {
        let plain = Uids::from(vec![5, 1, 2, 3]);
        assert_eq!(plain.validity(), None);
        assert_eq!(plain, vec![1, 2, 3, 5]);
        assert_eq!(plain, [1, 2, 3, 5]);
        assert_ne!(plain, vec![5, 1, 2, 3]);
        assert_eq!(plain.len(), 4);
        let stamped = Uids::with_validity(7, &plain);
        assert_eq!(stamped.validity(), Some(7));
        assert_ne!(stamped, plain);
        assert_eq!(stamped.newest(2), [3, 5]);
        assert_eq!(stamped.newest(2).validity(), Some(7));
        assert_eq!(stamped.get(3), Some(Uid::with_validity(7, 3)));
        assert_eq!(stamped.get(4), None);
        assert_eq!((&stamped).into_iter().collect::<Vec<_>>(), [1, 2, 3, 5]);
        // A huge range is one range, never expanded.
        let all = Uids::from(SequenceSet::all());
        assert_eq!(all.set().to_string(), "1:4294967295");
        assert_eq!(all.len() as u64, u64::from(u32::MAX));
        assert_eq!(all.newest(1), [u32::MAX]);
        assert_eq!(
            format!("{stamped:?}"),
            "Uids { validity: Some(7), set: 1:3,5 }"
        );
        assert_eq!(
            Uids::from(Uid::with_validity(9, 4)),
            Uids::with_validity(9, 4)
        );
    }
}
