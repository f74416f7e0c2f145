//! Sequence sets and UID sets.
//!
//! A [`SequenceSet`] is the `sequence-set` of RFC 3501 / RFC 9051: message sequence numbers
//! or UIDs (the same type serves both), kept sorted, deduplicated and compressed into ranges,
//! and written in wire form by `Display` (`1:5,7,9:12`). `*` ("the largest number in use") is
//! supported as [`SeqNumber::Star`].
//!
//! An empty set has no wire form: encoding a command with an empty set (or one containing
//! the invalid number 0) fails with [`Error::InvalidInput`] before anything is sent. Very
//! large sets are split with [`SequenceSet::chunks`] so that each command stays short.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::error::{Error, Result};

/// One end of a range: a number, or `*` (the largest number in use in the mailbox).
///
/// `*` orders after every number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeqNumber {
    /// A message sequence number or UID.
    Value(u32),
    /// `*`: the largest sequence number / UID in use.
    Star,
}

impl SeqNumber {
    /// Whether `next` is at most one past `self` (so the two ranges touch).
    fn reaches(self, next: SeqNumber) -> bool {
        match (self, next) {
            (SeqNumber::Star, _) => true,
            (SeqNumber::Value(_), SeqNumber::Star) => false,
            (SeqNumber::Value(a), SeqNumber::Value(b)) => u64::from(b) <= u64::from(a) + 1,
        }
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNumber::Value(n) => write!(f, "{n}"),
            SeqNumber::Star => f.write_str("*"),
        }
    }
}

/// An inclusive range `start:end` of a [`SequenceSet`], with `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    start: SeqNumber,
    end: SeqNumber,
}

impl SeqRange {
    fn new(a: SeqNumber, b: SeqNumber) -> SeqRange {
        if a <= b {
            SeqRange { start: a, end: b }
        } else {
            SeqRange { start: b, end: a }
        }
    }

    /// The first member of the range.
    pub fn start(&self) -> SeqNumber {
        self.start
    }

    /// The last member of the range (`*` for an open range such as `5:*`).
    pub fn end(&self) -> SeqNumber {
        self.end
    }

    fn encoded_len(&self) -> usize {
        let one = |n: SeqNumber| match n {
            SeqNumber::Star => 1,
            SeqNumber::Value(v) => decimal_len(u64::from(v)),
        };
        if self.start == self.end {
            one(self.start)
        } else {
            one(self.start) + 1 + one(self.end)
        }
    }
}

impl fmt::Display for SeqRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}:{}", self.start, self.end)
        }
    }
}

fn decimal_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// A set of message sequence numbers or UIDs, kept sorted and compressed into ranges.
///
/// Build one from numbers (`[3, 1, 2, 7].into_iter().collect()` gives `1:3,7`), from ranges
/// ([`range`](Self::range), [`from_start`](Self::from_start) for `n:*`), or parse a server's
/// string with [`parse`](Self::parse) / `str::parse`. `Display` gives the wire form.
///
/// An empty set cannot be sent: a command carrying one fails to encode with
/// [`Error::InvalidInput`], as does a set containing 0 (which is no valid number).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SequenceSet {
    /// Sorted by start, non-overlapping and non-adjacent.
    ranges: Vec<SeqRange>,
}

impl SequenceSet {
    /// An empty set.
    pub fn new() -> SequenceSet {
        SequenceSet::default()
    }

    /// The set holding only `n`.
    pub fn single(n: u32) -> SequenceSet {
        SequenceSet {
            ranges: vec![SeqRange::new(SeqNumber::Value(n), SeqNumber::Value(n))],
        }
    }

    /// The range `a:b` (in either order: `9:3` is `3:9`).
    pub fn range(a: u32, b: u32) -> SequenceSet {
        SequenceSet {
            ranges: vec![SeqRange::new(SeqNumber::Value(a), SeqNumber::Value(b))],
        }
    }

    /// The open range `n:*`: `n` and everything after it.
    pub fn from_start(n: u32) -> SequenceSet {
        SequenceSet {
            ranges: vec![SeqRange::new(SeqNumber::Value(n), SeqNumber::Star)],
        }
    }

    /// `*` alone: the last message (or the largest UID).
    pub fn star() -> SequenceSet {
        SequenceSet {
            ranges: vec![SeqRange::new(SeqNumber::Star, SeqNumber::Star)],
        }
    }

    /// `1:*`: every message.
    pub fn all() -> SequenceSet {
        SequenceSet::from_start(1)
    }

    /// The union of inclusive ranges (empty ranges such as `3..=1` add nothing, as in Rust).
    pub fn from_ranges<I: IntoIterator<Item = RangeInclusive<u32>>>(ranges: I) -> SequenceSet {
        let mut set = SequenceSet {
            ranges: ranges
                .into_iter()
                .filter(|r| !r.is_empty())
                .map(|r| SeqRange::new(SeqNumber::Value(*r.start()), SeqNumber::Value(*r.end())))
                .collect(),
        };
        set.normalize();
        set
    }

    /// Parses a wire-form set such as `1:5,7`, `*`, `5:*` or `9:3` (reversed ranges are
    /// allowed). Fails with [`Error::Protocol`] on anything else, including 0 and numbers
    /// over `u32::MAX`.
    pub fn parse(s: &str) -> Result<SequenceSet> {
        let bytes = s.as_bytes();
        if s.is_empty() {
            return Err(Error::protocol("empty sequence set", bytes, 0));
        }
        let mut ranges = Vec::new();
        let mut offset = 0usize;
        for item in s.split(',') {
            let mut ends = item.splitn(2, ':');
            let a = parse_number(ends.next().unwrap_or(""), bytes, offset)?;
            let b = match ends.next() {
                Some(b) => parse_number(b, bytes, offset)?,
                None => a,
            };
            ranges.push(SeqRange::new(a, b));
            offset += item.len() + 1;
        }
        let mut set = SequenceSet { ranges };
        set.normalize();
        Ok(set)
    }

    /// Adds `n`.
    pub fn insert(&mut self, n: u32) {
        self.insert_range(n, n);
    }

    /// Adds the range `a:b` (in either order).
    pub fn insert_range(&mut self, a: u32, b: u32) {
        self.ranges
            .push(SeqRange::new(SeqNumber::Value(a), SeqNumber::Value(b)));
        self.normalize();
    }

    /// The union of `self` and `other`.
    pub fn union(&self, other: &SequenceSet) -> SequenceSet {
        let mut ranges = self.ranges.clone();
        ranges.extend_from_slice(&other.ranges);
        let mut set = SequenceSet { ranges };
        set.normalize();
        set
    }

    fn normalize(&mut self) {
        self.ranges.sort_unstable_by_key(|r| (r.start, r.end));
        let mut merged: Vec<SeqRange> = Vec::with_capacity(self.ranges.len());
        for r in self.ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if last.end.reaches(r.start) => {
                    if r.end > last.end {
                        last.end = r.end;
                    }
                }
                _ => merged.push(r),
            }
        }
        self.ranges = merged;
    }

    /// The compressed ranges, in ascending order.
    pub fn ranges(&self) -> &[SeqRange] {
        &self.ranges
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether the set refers to `*` (alone or as the end of an open range such as `5:*`).
    pub fn has_star(&self) -> bool {
        self.ranges.iter().any(|r| r.end == SeqNumber::Star)
    }

    /// The number of members, or `None` when the set refers to `*`, whose value only the
    /// server knows (see [`resolve`](Self::resolve)).
    pub fn len(&self) -> Option<u64> {
        let mut total = 0u64;
        for r in &self.ranges {
            match (r.start, r.end) {
                (SeqNumber::Value(a), SeqNumber::Value(b)) => {
                    total += u64::from(b) - u64::from(a) + 1;
                }
                _ => return None,
            }
        }
        Some(total)
    }

    /// Whether `n` is a member. An open range `a:*` contains every `n >= a`; `*` alone
    /// contains no known number.
    pub fn contains(&self, n: u32) -> bool {
        let n = SeqNumber::Value(n);
        // The ranges are sorted by start: find the last one starting at or before n.
        let idx = self.ranges.partition_point(|r| r.start <= n);
        match idx.checked_sub(1).and_then(|i| self.ranges.get(i)) {
            Some(r) => n <= r.end,
            None => false,
        }
    }

    /// The members in ascending order. Ranges reaching `*` are not expanded (their end is
    /// unknown): call [`resolve`](Self::resolve) first when the set has a `*`.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(|r| match (r.start, r.end) {
            (SeqNumber::Value(a), SeqNumber::Value(b)) => a..=b,
            // An empty inclusive range.
            #[allow(clippy::reversed_empty_ranges)]
            _ => 1..=0,
        })
    }

    /// This set with `*` replaced by `largest` (the mailbox's highest sequence number or
    /// UID), following RFC 9051: `5:*` with `largest` 3 is `3:5`.
    pub fn resolve(&self, largest: u32) -> SequenceSet {
        let fix = |n: SeqNumber| match n {
            SeqNumber::Star => SeqNumber::Value(largest),
            v => v,
        };
        let mut set = SequenceSet {
            ranges: self
                .ranges
                .iter()
                .map(|r| SeqRange::new(fix(r.start), fix(r.end)))
                .collect(),
        };
        set.normalize();
        set
    }

    /// The length in bytes of the wire form.
    pub fn encoded_len(&self) -> usize {
        let commas = self.ranges.len().saturating_sub(1);
        self.ranges.iter().map(SeqRange::encoded_len).sum::<usize>() + commas
    }

    /// Splits the set into consecutive pieces whose wire form is at most `max_encoded_len`
    /// bytes each, for sending a huge set as several commands. The pieces are disjoint, in
    /// ascending order, and their union is `self`. A single range is never split, so a
    /// bound under 21 bytes (the longest range, `4294967294:4294967295`) may be exceeded by
    /// a piece holding one range. An empty set gives no piece.
    pub fn chunks(&self, max_encoded_len: usize) -> impl Iterator<Item = SequenceSet> + '_ {
        let mut rest = self.ranges.as_slice();
        std::iter::from_fn(move || {
            let mut len = 0usize;
            let mut count = 0usize;
            for r in rest {
                let add = r.encoded_len() + usize::from(count > 0);
                if count > 0 && len + add > max_encoded_len {
                    break;
                }
                len += add;
                count += 1;
            }
            if count == 0 {
                return None;
            }
            let (piece, tail) = rest.split_at(count.min(rest.len()));
            rest = tail;
            Some(SequenceSet {
                ranges: piece.to_vec(),
            })
        })
    }

    /// Checks that the set can be sent: not empty, no 0.
    pub(crate) fn validate(&self, what: &str) -> Result<()> {
        if self.is_empty() {
            return Err(Error::invalid(
                what,
                "the set is empty and cannot be sent (skip the command instead)",
            ));
        }
        if self.ranges.first().map(|r| r.start) == Some(SeqNumber::Value(0)) {
            return Err(Error::invalid(
                what,
                "0 is not a valid sequence number or UID",
            ));
        }
        Ok(())
    }
}

fn parse_number(s: &str, all: &[u8], offset: usize) -> Result<SeqNumber> {
    if s == "*" {
        return Ok(SeqNumber::Star);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
        return Err(Error::protocol(
            "invalid number in sequence set",
            all,
            offset,
        ));
    }
    s.parse::<u32>()
        .map(SeqNumber::Value)
        .map_err(|_| Error::protocol("number in sequence set exceeds 4294967295", all, offset))
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for SequenceSet {
    type Err = Error;

    fn from_str(s: &str) -> Result<SequenceSet> {
        SequenceSet::parse(s)
    }
}

impl FromIterator<u32> for SequenceSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> SequenceSet {
        let mut numbers: Vec<u32> = iter.into_iter().collect();
        numbers.sort_unstable();
        numbers.dedup();
        let mut ranges: Vec<SeqRange> = Vec::new();
        for n in numbers {
            match ranges.last_mut() {
                Some(SeqRange {
                    end: end @ SeqNumber::Value(_),
                    ..
                }) if end.reaches(SeqNumber::Value(n)) => *end = SeqNumber::Value(n),
                _ => ranges.push(SeqRange::new(SeqNumber::Value(n), SeqNumber::Value(n))),
            }
        }
        SequenceSet { ranges }
    }
}

impl Extend<u32> for SequenceSet {
    fn extend<I: IntoIterator<Item = u32>>(&mut self, iter: I) {
        let more: SequenceSet = iter.into_iter().collect();
        *self = self.union(&more);
    }
}

impl From<u32> for SequenceSet {
    fn from(n: u32) -> SequenceSet {
        SequenceSet::single(n)
    }
}

impl From<RangeInclusive<u32>> for SequenceSet {
    /// The members of the range (an empty range such as `3..=1` gives an empty set).
    fn from(r: RangeInclusive<u32>) -> SequenceSet {
        SequenceSet::from_ranges([r])
    }
}

impl From<&[u32]> for SequenceSet {
    fn from(numbers: &[u32]) -> SequenceSet {
        numbers.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_ranges() {
        let s: SequenceSet = [9, 1, 2, 3, 4, 5, 7, 10, 11, 12, 3].into_iter().collect();
        assert_eq!(s.to_string(), "1:5,7,9:12");
        assert_eq!(s.len(), Some(10));
        assert!(s.contains(7) && s.contains(12) && !s.contains(6) && !s.contains(13));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 7, 9, 10, 11, 12]
        );
        let edge: SequenceSet = [u32::MAX, u32::MAX - 1, 0].into_iter().collect();
        assert_eq!(edge.to_string(), "0,4294967294:4294967295");
        assert!(edge.validate("uid set").is_err());
        assert!(SequenceSet::new().validate("uid set").is_err());
    }

    #[test]
    fn parses_server_forms() {
        assert_eq!(SequenceSet::parse("9:3").unwrap().to_string(), "3:9");
        assert_eq!(SequenceSet::parse("*").unwrap(), SequenceSet::star());
        let open = SequenceSet::parse("5:*,2,7").unwrap();
        assert_eq!(open.to_string(), "2,5:*");
        assert!(open.has_star() && open.len().is_none());
        assert!(open.contains(1000) && !open.contains(4));
        assert_eq!(SequenceSet::parse("*:4").unwrap().to_string(), "4:*");
        assert_eq!(
            SequenceSet::parse("1:2,3:4,*").unwrap().to_string(),
            "1:4,*"
        );
        assert_eq!(open.resolve(3).to_string(), "2:5");
        for bad in [
            "",
            ",",
            "1,",
            "0",
            "1:0",
            "01",
            "4294967296",
            "a",
            "1:2:3",
            " 1",
            "1-3",
        ] {
            assert!(SequenceSet::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            "4294967295".parse::<SequenceSet>().unwrap().to_string(),
            "4294967295"
        );
    }

    #[test]
    fn chunks_respect_bound() {
        let s: SequenceSet = (1..200u32).map(|n| n * 2).collect();
        let pieces: Vec<_> = s.chunks(20).collect();
        assert!(pieces.len() > 1);
        for p in &pieces {
            assert!(p.encoded_len() <= 20, "{p}");
            assert_eq!(p.encoded_len(), p.to_string().len());
        }
        let back: SequenceSet = pieces.iter().flat_map(|p| p.iter()).collect();
        assert_eq!(back, s);
        assert_eq!(SequenceSet::new().chunks(10).count(), 0);
        // A single range longer than the bound still comes out, alone.
        let big = SequenceSet::range(1_000_000, 2_000_000);
        assert_eq!(big.chunks(3).collect::<Vec<_>>(), vec![big.clone()]);
    }

    #[test]
    fn union_and_insert_merge() {
        let mut s = SequenceSet::range(1, 3);
        s.insert(5);
        s.insert(4);
        assert_eq!(s.to_string(), "1:5");
        s.extend([7, 8]);
        assert_eq!(s.union(&SequenceSet::from_start(6)).to_string(), "1:*");
        assert_eq!(
            SequenceSet::from_ranges([10..=12, 1..=3, 5..=6]).to_string(),
            "1:3,5:6,10:12"
        );
        #[allow(clippy::reversed_empty_ranges)]
        let empty = SequenceSet::from(9..=3);
        assert!(empty.is_empty());
        assert_eq!(SequenceSet::range(9, 3).to_string(), "3:9");
    }
}
