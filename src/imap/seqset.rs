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
//!
//! Memory is bounded by a set's *ranges*, never by how many numbers they cover: `1:4294967295`
//! is one range of 8 bytes. Every constructor (collecting numbers, [`SequenceSet::from_ranges`],
//! parsing, [`Extend`]) merges as it goes, and the set algebra
//! ([`union`](SequenceSet::union), [`intersection`](SequenceSet::intersection),
//! [`difference`](SequenceSet::difference)) works on ranges in linear time. Only
//! [`SequenceSet::iter`] visits members one by one (lazily).

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

    /// The number as a point on one line where `*` comes after every `u32` (for the set
    /// algebra: `a:*` is everything from `a` on).
    fn key(self) -> u64 {
        match self {
            SeqNumber::Value(v) => u64::from(v),
            SeqNumber::Star => STAR_KEY,
        }
    }

    /// The inverse of [`key`](Self::key) (anything past `u32::MAX` is `*`).
    fn from_key(k: u64) -> SeqNumber {
        match u32::try_from(k) {
            Ok(v) => SeqNumber::Value(v),
            Err(_) => SeqNumber::Star,
        }
    }
}

/// Where `*` lies on the line of [`SeqNumber::key`].
const STAR_KEY: u64 = 1 << 32;

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

    /// Whether the two ranges overlap or are adjacent (so their union is one range).
    fn touches(&self, other: &SeqRange) -> bool {
        self.end.reaches(other.start) && other.end.reaches(self.start)
    }

    /// The one range covering both (only meaningful when they [`touch`](Self::touches)).
    fn hull(&self, other: &SeqRange) -> SeqRange {
        SeqRange {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
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
    /// Merges as it goes: memory is bounded by the resulting ranges (plus a constant
    /// factor), whatever the order of the input.
    pub fn from_ranges<I: IntoIterator<Item = RangeInclusive<u32>>>(ranges: I) -> SequenceSet {
        let mut builder = Builder::default();
        for r in ranges.into_iter().filter(|r| !r.is_empty()) {
            builder.push(SeqRange::new(
                SeqNumber::Value(*r.start()),
                SeqNumber::Value(*r.end()),
            ));
        }
        builder.finish()
    }

    /// Parses a wire-form set such as `1:5,7`, `*`, `5:*` or `9:3` (reversed ranges are
    /// allowed). Fails with [`Error::Protocol`] on anything else, including 0 and numbers
    /// over `u32::MAX`.
    pub fn parse(s: &str) -> Result<SequenceSet> {
        let bytes = s.as_bytes();
        if s.is_empty() {
            return Err(Error::protocol("empty sequence set", bytes, 0));
        }
        let mut builder = Builder::default();
        let mut offset = 0usize;
        for item in s.split(',') {
            let mut ends = item.splitn(2, ':');
            let a = parse_number(ends.next().unwrap_or(""), bytes, offset)?;
            let b = match ends.next() {
                Some(b) => parse_number(b, bytes, offset)?,
                None => a,
            };
            builder.push(SeqRange::new(a, b));
            offset += item.len() + 1;
        }
        Ok(builder.finish())
    }

    /// Reads a set a server sent (`ESEARCH ALL`, `VANISHED`), leniently: any decimal number
    /// that fits a `u32` (0 and leading zeros included: the caller clips the set to what
    /// can exist) and `*`, read as 4294967295. `None` if it is not a set.
    pub(crate) fn parse_server(text: &[u8]) -> Option<SequenceSet> {
        if text.is_empty() {
            return None;
        }
        let number = |s: &[u8]| -> Option<u32> {
            if s == b"*" {
                return Some(u32::MAX);
            }
            if s.is_empty() || s.len() > 20 {
                return None;
            }
            let mut n: u64 = 0;
            for &d in s {
                if !d.is_ascii_digit() {
                    return None;
                }
                n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            }
            u32::try_from(n).ok()
        };
        let mut builder = Builder::default();
        for part in text.split(|&b| b == b',') {
            let mut ends = part.splitn(2, |&b| b == b':');
            let a = number(ends.next()?)?;
            let b = match ends.next() {
                Some(e) => number(e)?,
                None => a,
            };
            builder.push(SeqRange::new(SeqNumber::Value(a), SeqNumber::Value(b)));
        }
        Some(builder.finish())
    }

    /// Adds `n`.
    pub fn insert(&mut self, n: u32) {
        self.insert_range(n, n);
    }

    /// Adds the range `a:b` (in either order). Costs a binary search and, at most, moving
    /// the ranges after the insertion point.
    pub fn insert_range(&mut self, a: u32, b: u32) {
        self.insert_seq_range(SeqRange::new(SeqNumber::Value(a), SeqNumber::Value(b)));
    }

    fn insert_seq_range(&mut self, r: SeqRange) {
        // The ranges that touch r form one run [lo, hi): ends and starts both ascend.
        let lo = self.ranges.partition_point(|x| !x.end.reaches(r.start));
        let hi = self.ranges.partition_point(|x| r.end.reaches(x.start));
        if lo < hi {
            let mut merged = r;
            if let Some(first) = self.ranges.get(lo) {
                merged = merged.hull(first);
            }
            if let Some(last) = self.ranges.get(hi - 1) {
                merged = merged.hull(last);
            }
            self.ranges.splice(lo..hi, [merged]);
        } else {
            self.ranges.insert(lo.min(self.ranges.len()), r);
        }
    }

    /// The union of `self` and `other`, in one pass over both.
    pub fn union(&self, other: &SequenceSet) -> SequenceSet {
        let mut out: Vec<SeqRange> = Vec::with_capacity(self.ranges.len() + other.ranges.len());
        let (mut a, mut b) = (
            self.ranges.iter().peekable(),
            other.ranges.iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => {
                    if (x.start, x.end) <= (y.start, y.end) {
                        a.next()
                    } else {
                        b.next()
                    }
                }
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            let Some(&r) = next else { break };
            match out.last_mut() {
                Some(last) if last.touches(&r) => *last = last.hull(&r),
                _ => out.push(r),
            }
        }
        SequenceSet { ranges: out }
    }

    /// The members of both `self` and `other`, in one pass over both (`*` counts as a
    /// number above every other, so `5:*` ∩ `1:10` is `5:10`).
    pub fn intersection(&self, other: &SequenceSet) -> SequenceSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0usize, 0usize);
        while let (Some(x), Some(y)) = (self.ranges.get(i), other.ranges.get(j)) {
            let start = x.start.key().max(y.start.key());
            let end = x.end.key().min(y.end.key());
            if start <= end {
                out.push(SeqRange {
                    start: SeqNumber::from_key(start),
                    end: SeqNumber::from_key(end),
                });
            }
            if x.end.key() < y.end.key() {
                i += 1;
            } else {
                j += 1;
            }
        }
        SequenceSet { ranges: out }
    }

    /// The members of `self` that are not in `other`, in one pass over both.
    pub fn difference(&self, other: &SequenceSet) -> SequenceSet {
        let mut out = Vec::new();
        let mut j = 0usize;
        for x in &self.ranges {
            let end = x.end.key();
            let mut cursor = x.start.key();
            // Ranges of `other` wholly before this one are before every later one too.
            while other.ranges.get(j).is_some_and(|y| y.end.key() < cursor) {
                j += 1;
            }
            let mut k = j;
            while let Some(y) = other.ranges.get(k) {
                if y.start.key() > end {
                    break;
                }
                if y.start.key() > cursor {
                    out.push(SeqRange {
                        start: SeqNumber::from_key(cursor),
                        end: SeqNumber::from_key(y.start.key() - 1),
                    });
                }
                cursor = cursor.max(y.end.key() + 1);
                if cursor > end {
                    break;
                }
                k += 1;
            }
            if cursor <= end {
                out.push(SeqRange {
                    start: SeqNumber::from_key(cursor),
                    end: x.end,
                });
            }
        }
        SequenceSet { ranges: out }
    }

    /// The smallest member (`None` for an empty set or `*` alone).
    pub fn first(&self) -> Option<u32> {
        match self.ranges.first()?.start {
            SeqNumber::Value(v) => Some(v),
            SeqNumber::Star => None,
        }
    }

    /// The largest known member: the end of the last range, or its start when the set
    /// ends with an open range such as `5:*` (`None` for an empty set or `*` alone).
    pub fn last(&self) -> Option<u32> {
        let r = self.ranges.last()?;
        match (r.start, r.end) {
            (_, SeqNumber::Value(v)) | (SeqNumber::Value(v), SeqNumber::Star) => Some(v),
            (SeqNumber::Star, SeqNumber::Star) => None,
        }
    }

    /// The `n` highest members (all of them when there are fewer), without expanding any
    /// range. Ranges reaching `*` are left out (their end is unknown).
    pub fn last_n(&self, n: u64) -> SequenceSet {
        let mut left = n;
        let mut out = Vec::new();
        for r in self.ranges.iter().rev() {
            if left == 0 {
                break;
            }
            let (SeqNumber::Value(a), SeqNumber::Value(b)) = (r.start, r.end) else {
                continue;
            };
            let size = u64::from(b) - u64::from(a) + 1;
            let take = size.min(left);
            left -= take;
            let start = u64::from(b) + 1 - take;
            out.push(SeqRange {
                start: SeqNumber::from_key(start),
                end: SeqNumber::Value(b),
            });
        }
        out.reverse();
        SequenceSet { ranges: out }
    }

    /// Fails with [`Error::LimitExceeded`] when the set has more than `max` ranges: the
    /// bound on a set a server sent (`Limits::max_set_ranges`).
    pub(crate) fn check_ranges(&self, max: usize, what: &str) -> Result<()> {
        if self.ranges.len() > max {
            return Err(Error::LimitExceeded {
                what: format!(
                    "ranges in {what} ({} sent; raise Limits::max_set_ranges if the server is trusted)",
                    self.ranges.len()
                ),
                limit: max,
            });
        }
        Ok(())
    }

    /// Sorts and merges the ranges in place (after pushes in any order).
    fn normalize(&mut self) {
        self.ranges.sort_unstable_by_key(|r| (r.start, r.end));
        let mut kept = 0usize;
        for i in 0..self.ranges.len() {
            let Some(&r) = self.ranges.get(i) else { break };
            match kept.checked_sub(1).and_then(|k| self.ranges.get_mut(k)) {
                Some(last) if last.end.reaches(r.start) => {
                    if r.end > last.end {
                        last.end = r.end;
                    }
                }
                _ => {
                    if let Some(slot) = self.ranges.get_mut(kept) {
                        *slot = r;
                    }
                    kept += 1;
                }
            }
        }
        self.ranges.truncate(kept);
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

/// Whether `a..=b` lies within `set` (a range inside a set of merged ranges lies inside
/// one of them): a binary search.
pub(crate) fn within(set: &SequenceSet, a: u32, b: u32) -> bool {
    let ranges = set.ranges();
    let idx = ranges.partition_point(|r| r.start() <= SeqNumber::Value(a));
    idx.checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|r| r.end() >= SeqNumber::Value(b))
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
    /// Merges as it goes: ascending (or descending) runs cost nothing per number, and
    /// memory stays proportional to the ranges of the result, never to the count of
    /// numbers (collecting `1..=u32::MAX` holds one range).
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> SequenceSet {
        let mut builder = Builder::default();
        for n in iter {
            builder.push(SeqRange::new(SeqNumber::Value(n), SeqNumber::Value(n)));
        }
        builder.finish()
    }
}

impl Extend<u32> for SequenceSet {
    fn extend<I: IntoIterator<Item = u32>>(&mut self, iter: I) {
        let mut builder = Builder::from_set(std::mem::take(self));
        for n in iter {
            builder.push(SeqRange::new(SeqNumber::Value(n), SeqNumber::Value(n)));
        }
        *self = builder.finish();
    }
}

impl<'a> IntoIterator for &'a SequenceSet {
    type Item = u32;
    type IntoIter = Box<dyn Iterator<Item = u32> + 'a>;

    /// The members in ascending order (see [`SequenceSet::iter`]).
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Equal when the slice lists exactly the members, ascending (a set with `*` equals no
/// slice).
impl PartialEq<[u32]> for SequenceSet {
    fn eq(&self, other: &[u32]) -> bool {
        !self.has_star()
            && self.len() == Some(other.len() as u64)
            && self.iter().eq(other.iter().copied())
    }
}

impl PartialEq<Vec<u32>> for SequenceSet {
    fn eq(&self, other: &Vec<u32>) -> bool {
        *self == other[..]
    }
}

impl PartialEq<&[u32]> for SequenceSet {
    fn eq(&self, other: &&[u32]) -> bool {
        *self == other[..]
    }
}

impl<const N: usize> PartialEq<[u32; N]> for SequenceSet {
    fn eq(&self, other: &[u32; N]) -> bool {
        *self == other[..]
    }
}

/// Collects ranges in any order with memory bounded by the ranges, not their members: a
/// range that touches the last one pushed is merged into it on the spot (so ascending or
/// descending input never grows the list), others are appended, and the list is sorted
/// and merged whenever it has doubled since it last was.
#[derive(Default)]
struct Builder {
    set: SequenceSet,
    /// Length of `set.ranges` after the last normalisation.
    settled: usize,
}

impl Builder {
    /// Smallest list length at which pushes trigger a normalisation.
    const MIN_SPAN: usize = 64;

    fn from_set(set: SequenceSet) -> Builder {
        let settled = set.ranges.len();
        Builder { set, settled }
    }

    fn push(&mut self, r: SeqRange) {
        let ranges = &mut self.set.ranges;
        if let Some(last) = ranges.last_mut()
            && last.touches(&r)
        {
            *last = last.hull(&r);
            return;
        }
        ranges.push(r);
        if ranges.len() >= self.settled.max(Self::MIN_SPAN / 2) * 2 {
            self.set.normalize();
            self.settled = self.set.ranges.len();
        }
    }

    fn finish(mut self) -> SequenceSet {
        self.set.normalize();
        self.set
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
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn set(s: &str) -> SequenceSet {
        if s.is_empty() {
            SequenceSet::new()
        } else {
            SequenceSet::parse(s).unwrap()
        }
    }

    #[test]
    fn set_algebra_on_ranges() {
        assert_eq!(set("1:10").difference(&set("3,5:6,10")), set("1:2,4,7:9"));
        assert_eq!(set("1:10,20:30").difference(&set("5:25")), set("1:4,26:30"));
        assert_eq!(
            set("1:4294967295").difference(&set("4294967295")),
            set("1:4294967294")
        );
        assert_eq!(set("4294967295").difference(&set("1:4294967295")), set(""));
        assert_eq!(
            set("1:10,20:30").intersection(&set("5:25")),
            set("5:10,20:25")
        );
        assert_eq!(set("").intersection(&set("5:25")), set(""));
        // `*` is a number above every other.
        assert_eq!(set("5:*").intersection(&set("1:10")), set("5:10"));
        assert_eq!(set("1:*").difference(&set("3:*")), set("1:2"));
        assert_eq!(set("1:*").difference(&set("3")), set("1:2,4:*"));
        assert_eq!(set("*").intersection(&set("1:4294967295")), set(""));
        assert_eq!(set("7,*").union(&set("8:9")), set("7:9,*"));
        assert_eq!(set("1:3,9").last_n(2), set("3,9"));
        assert_eq!(set("1:3,9").last_n(0), set(""));
        assert_eq!(set("1:4294967295").last_n(2), set("4294967294:4294967295"));
        assert_eq!(set("2:5,9:*").last(), Some(9));
        assert_eq!(set("2:5,9:*").first(), Some(2));
        assert_eq!(set("4:5"), vec![4, 5]);
        assert_ne!(set("4:*"), vec![4, 5]);
    }

    #[test]
    fn server_sets_are_read_leniently_as_ranges() {
        let s = SequenceSet::parse_server(b"0,007:5,*").unwrap();
        assert_eq!(s.to_string(), "0,5:7,4294967295");
        assert_eq!(
            SequenceSet::parse_server(b"1:4294967295")
                .unwrap()
                .ranges()
                .len(),
            1
        );
        for bad in [&b""[..], b",", b"1,", b"4294967296", b"1:2:3", b"a", b"-1"] {
            assert!(SequenceSet::parse_server(bad).is_none(), "{bad:?}");
        }
        assert!(s.check_ranges(3, "x").is_ok());
        assert!(matches!(
            s.check_ranges(2, "x"),
            Err(Error::LimitExceeded { limit: 2, .. })
        ));
    }

    #[test]
    fn insert_range_merges_with_neighbours() {
        let mut s = set("1:3,10:12,20");
        s.insert_range(5, 9);
        assert_eq!(s.to_string(), "1:3,5:12,20");
        s.insert(4);
        assert_eq!(s.to_string(), "1:12,20");
        s.insert_range(30, 25);
        s.insert(0);
        assert_eq!(s.to_string(), "0:12,20,25:30");
        s.insert_range(13, 40);
        assert_eq!(s.to_string(), "0:40");
        let mut open = set("5:*");
        open.insert(3);
        open.insert(4);
        assert_eq!(open.to_string(), "3:*");
    }

    #[test]
    fn collecting_merges_as_it_goes() {
        // Interleaved input: the pending list is normalised whenever it doubles, so it
        // never holds much more than twice the ranges of the set so far.
        let mut builder = Builder::default();
        let mut peak = 0usize;
        for i in 0..200_000u32 {
            // Evens then odds of each block of 1,000: 500 ranges per block until the odds
            // fill the gaps in.
            let block = i / 1000;
            let k = i % 1000;
            let n = block * 1000 + if k < 500 { 2 * k } else { 2 * (k - 500) + 1 };
            builder.push(SeqRange::new(SeqNumber::Value(n), SeqNumber::Value(n)));
            peak = peak.max(builder.set.ranges.capacity());
        }
        let set = builder.finish();
        assert_eq!(set.to_string(), "0:199999");
        assert!(peak <= 4 * 1024, "peak capacity {peak}");
    }

    fn to_btree(s: &SequenceSet) -> BTreeSet<u32> {
        s.iter().collect()
    }

    fn arb_set() -> impl Strategy<Value = SequenceSet> {
        prop::collection::vec((1u32..200, 0u32..20), 0..8)
            .prop_map(|v| SequenceSet::from_ranges(v.into_iter().map(|(a, len)| a..=a + len)))
    }

    proptest! {
        #[test]
        fn algebra_matches_a_reference(a in arb_set(), b in arb_set()) {
            let (ra, rb) = (to_btree(&a), to_btree(&b));
            prop_assert_eq!(to_btree(&a.difference(&b)), ra.difference(&rb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(to_btree(&a.intersection(&b)), ra.intersection(&rb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(to_btree(&a.union(&b)), ra.union(&rb).copied().collect::<BTreeSet<_>>());
            // Results are normalised: equal to the same set built from its members.
            let members: SequenceSet = a.union(&b).iter().collect();
            prop_assert_eq!(a.union(&b), members);
            let members: SequenceSet = a.difference(&b).iter().collect();
            prop_assert_eq!(a.difference(&b), members);
        }

        #[test]
        fn any_order_collects_to_the_same_set(mut v in prop::collection::vec(0u32..300, 0..400), seed in any::<u64>()) {
            let reference: BTreeSet<u32> = v.iter().copied().collect();
            // A deterministic shuffle.
            let mut x = seed | 1;
            for i in (1..v.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                v.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let collected: SequenceSet = v.iter().copied().collect();
            prop_assert_eq!(to_btree(&collected), reference.clone());
            let mut inserted = SequenceSet::new();
            for &n in &v {
                inserted.insert(n);
            }
            prop_assert_eq!(&inserted, &collected);
            let mut extended = SequenceSet::new();
            extended.extend(v.iter().copied());
            prop_assert_eq!(&extended, &collected);
        }
    }

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
