//! `ImapConnection` calls that order and count on the server: `sort` (UID SORT), `thread`
//! (UID THREAD), `search_stats` (ESEARCH MIN / MAX / COUNT, or a plain search).

use super::*;
use crate::imap::codec::{SearchReturn, SortKey, ThreadAlgorithm};
use crate::imap::types::Thread;

/// What [`ImapConnection::search_stats`] answers: the lowest and highest matching UID and
/// how many match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SearchStats {
    /// The lowest matching UID, `None` when nothing matches.
    pub min: Option<u32>,
    /// The highest matching UID, `None` when nothing matches.
    pub max: Option<u32>,
    /// How many messages match.
    pub count: u32,
}

/// The error for a server without `capability`.
fn unsupported(what: &str, capability: &str, rfc: &str) -> Error {
    Error::invalid(
        what,
        format!(
            "the server does not offer {capability} ({rfc}); check `has_capability(\"{capability}\")` first, or order / group the messages on the client"
        ),
    )
}

/// The UIDs of every `* SORT` of one command, in order: refused (a protocol error, the
/// connection dropped) when a UID is 0 or repeats, since no folder holds a message twice;
/// dropped when outside the query's own `UID` bounds.
fn sort_answer(untagged: &[Untagged], bound: Option<&SequenceSet>) -> Result<Vec<u32>> {
    let mut all = Vec::new();
    for u in untagged {
        if let Untagged::Sort { ids, .. } = u {
            all.extend_from_slice(ids);
        }
    }
    check_uids(&all, "SORT")?;
    all.retain(|&uid| bound.is_none_or(|b| b.contains(uid)));
    Ok(all)
}

/// The UIDs of a SORT / THREAD answer: none 0, none twice (a sorted copy, so a hostile
/// answer of a million UIDs costs O(n log n), not O(n²)).
fn check_uids(uids: &[u32], answer: &str) -> Result<()> {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    let zero = sorted.first() == Some(&0);
    let repeated = sorted.windows(2).find_map(|w| match w {
        [a, b] if a == b => Some(*a),
        _ => None,
    });
    if zero || repeated.is_some() {
        let uid = repeated.unwrap_or(0);
        let what = format!("the {answer} answer names UID {uid} twice or as 0");
        return Err(Error::protocol(what, &[], 0));
    }
    Ok(())
}

/// The threads of every `* THREAD` of one command, the UIDs checked as for SORT.
fn thread_answer(untagged: Vec<Untagged>) -> Result<Vec<Thread>> {
    let mut out = Vec::new();
    for u in untagged {
        if let Untagged::Thread(threads) = u {
            out.extend(threads);
        }
    }
    let uids: Vec<u32> = out.iter().flat_map(Thread::uids).collect();
    check_uids(&uids, "THREAD")?;
    Ok(out)
}

/// MIN / MAX / COUNT of an ESEARCH answer, checked for consistency.
fn stats_answer(untagged: &[Untagged]) -> Result<SearchStats> {
    let mut stats = SearchStats::default();
    for u in untagged {
        let Untagged::Esearch { items, .. } = u else {
            continue;
        };
        for item in items {
            match *item {
                EsearchItem::Min(n) => stats.min = Some(n),
                EsearchItem::Max(n) => stats.max = Some(n),
                EsearchItem::Count(n) => stats.count = n,
                _ => {}
            }
        }
    }
    let consistent = match (stats.min, stats.max) {
        (None, None) => stats.count == 0,
        (Some(min), Some(max)) => {
            let count = u64::from(stats.count);
            min >= 1
                && min <= max
                && count >= 1
                && (count == 1) == (min == max)
                && count <= u64::from(max - min) + 1
        }
        _ => false,
    };
    if !consistent {
        let what = format!(
            "the ESEARCH answer is inconsistent (MIN {:?}, MAX {:?}, COUNT {})",
            stats.min, stats.max, stats.count
        );
        return Err(Error::protocol(what, &[], 0));
    }
    Ok(stats)
}

impl ImapConnection {
    /// The UIDs of the messages in `folder` matching `query`, in the order of `keys`
    /// (`UID SORT`, RFC 5256): the first key decides, later keys order what it leaves
    /// equal, the server breaks the remaining ties by arrival in the folder.
    ///
    /// Needs the `SORT` capability, and `SORT=DISPLAY` (RFC 5957) for
    /// [`SortCriterion::DisplayFrom`](crate::imap::codec::SortCriterion::DisplayFrom) /
    /// `DisplayTo`: without it the call fails with [`Error::InvalidInput`] naming the
    /// capability, before anything is sent. The answer is checked: a UID that is 0 or
    /// appears twice is an [`Error::Protocol`] (the connection is dropped), so the list
    /// never holds more entries than the folder has messages; UIDs outside the query's own
    /// `UID` bounds are dropped. Its memory is bounded by
    /// [`Limits::max_line_length`](crate::Limits::max_line_length) (one response line).
    /// Fails once with [`Error::UidValidityChanged`] as [`search`](Self::search) does.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery};
    /// use mailwire::imap::codec::{SortCriterion, SortKey};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// // Unread mail, newest first; equal dates by subject.
    /// let keys = [SortKey::reverse(SortCriterion::Date), SortCriterion::Subject.into()];
    /// let uids: Vec<u32> = conn.sort("INBOX", &keys, &SearchQuery::unseen())?;
    /// # Ok(()) }
    /// ```
    pub fn sort(&self, folder: &str, keys: &[SortKey], query: &SearchQuery) -> Result<Vec<u32>> {
        let memory = self.validities();
        self.with(|s| {
            query.check_offered(&|c| s.capabilities().has(c))?;
            if !s.capabilities().has("SORT") {
                return Err(unsupported("sort", "SORT", "RFC 5256"));
            }
            if keys.iter().any(|k| k.criterion.needs_sort_display())
                && !s.capabilities().has("SORT=DISPLAY")
            {
                return Err(unsupported("sort key", "SORT=DISPLAY", "RFC 5957"));
            }
            let validity = ensure_selected(s, folder)?;
            memory.read(folder, validity)?;
            let command = Command::UidSort {
                keys: keys.to_vec(),
                query: query.clone(),
            };
            let c = run_ok(s, &command)?;
            let bound = query.uid_bound();
            sort_answer(&c.untagged, bound.as_ref()).map_err(|e| broken(s, e))
        })
    }

    /// The messages in `folder` matching `query`, grouped into threads by `algorithm`
    /// (`UID THREAD`, RFC 5256), each a tree of [`Thread`] nodes (a node without a UID is
    /// a dummy parent: a missing message its children answer).
    ///
    /// Needs `THREAD=REFERENCES` or `THREAD=ORDEREDSUBJECT` as chosen: without it the call
    /// fails with [`Error::InvalidInput`] naming the capability, before anything is sent.
    /// The answer is read without recursion; a tree deeper than [`Thread::MAX_DEPTH`]
    /// levels, or a UID that is 0 or appears twice, is an [`Error::Protocol`] (the
    /// connection is dropped). Fails once with [`Error::UidValidityChanged`] as
    /// [`search`](Self::search) does.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery};
    /// use mailwire::imap::codec::ThreadAlgorithm;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// for thread in conn.thread("INBOX", ThreadAlgorithm::References, &SearchQuery::all())? {
    ///     println!("{:?} with {} answers", thread.uid, thread.uids().len().saturating_sub(1));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn thread(
        &self,
        folder: &str,
        algorithm: ThreadAlgorithm,
        query: &SearchQuery,
    ) -> Result<Vec<Thread>> {
        let memory = self.validities();
        self.with(|s| {
            query.check_offered(&|c| s.capabilities().has(c))?;
            let capability = format!("THREAD={}", algorithm.name());
            if !s.capabilities().has(&capability) {
                return Err(unsupported("thread", &capability, "RFC 5256"));
            }
            let validity = ensure_selected(s, folder)?;
            memory.read(folder, validity)?;
            let command = Command::UidThread {
                algorithm,
                query: query.clone(),
            };
            let c = run_ok(s, &command)?;
            thread_answer(c.untagged).map_err(|e| broken(s, e))
        })
    }

    /// The lowest and highest UID matching `query` in `folder`, and how many match,
    /// without the list of UIDs: `UID SEARCH RETURN (MIN MAX COUNT)` when the server offers
    /// ESEARCH (RFC 4731), else computed from a plain [`search`](Self::search) (held as
    /// ranges, so cheap even for a large folder). An ESEARCH answer whose numbers cannot
    /// all be true (MIN above MAX, a COUNT the range cannot hold) is an
    /// [`Error::Protocol`].
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let unread = conn.search_stats("INBOX", &SearchQuery::unseen())?;
    /// println!("{} unread, oldest UID {:?}", unread.count, unread.min);
    /// # Ok(()) }
    /// ```
    pub fn search_stats(&self, folder: &str, query: &SearchQuery) -> Result<SearchStats> {
        query.check_offered(&|c| self.has_capability(c))?;
        if !self.has_capability("ESEARCH") {
            let found = self.search(folder, query)?;
            let set = found.set();
            let count = set
                .len()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(u32::MAX);
            return Ok(SearchStats {
                min: set.first(),
                max: set.last(),
                count,
            });
        }
        let memory = self.validities();
        self.with(|s| {
            let validity = ensure_selected(s, folder)?;
            memory.read(folder, validity)?;
            let command = Command::Search {
                uid: true,
                query: query.clone(),
                returns: Some(vec![
                    SearchReturn::Min,
                    SearchReturn::Max,
                    SearchReturn::Count,
                ]),
            };
            let c = run_ok(s, &command)?;
            stats_answer(&c.untagged).map_err(|e| broken(s, e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_uid_answer_is_checked_by_sorting() {
        let mut ids: Vec<u32> = (1..=1_000_000u32).map(|n| n * 2).collect();
        let sort = |ids: Vec<u32>| vec![Untagged::Sort { ids, modseq: None }];
        assert_eq!(
            sort_answer(&sort(ids.clone()), None).unwrap().len(),
            1_000_000
        );
        ids.push(1_000);
        assert!(matches!(
            sort_answer(&sort(ids.clone()), None),
            Err(Error::Protocol { .. })
        ));
        ids.pop();
        ids.insert(500, 0);
        assert!(matches!(
            sort_answer(&sort(ids), None),
            Err(Error::Protocol { .. })
        ));
        // Split over two responses, a repeat across them still counts.
        let two = vec![
            Untagged::Sort {
                ids: vec![5, 6],
                modseq: None,
            },
            Untagged::Sort {
                ids: vec![7, 5],
                modseq: None,
            },
        ];
        assert!(matches!(
            sort_answer(&two, None),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn esearch_stats_consistency() {
        let esearch = |items| {
            vec![Untagged::Esearch {
                tag: None,
                uid: true,
                items,
            }]
        };
        use EsearchItem::{Count, Max, Min};
        let ok = stats_answer(&esearch(vec![Min(3), Max(3), Count(1)])).unwrap();
        assert_eq!((ok.min, ok.max, ok.count), (Some(3), Some(3), 1));
        assert_eq!(
            stats_answer(&esearch(vec![Count(0)])).unwrap(),
            SearchStats::default()
        );
        for bad in [
            vec![Min(3), Max(3), Count(2)],
            vec![Min(2), Max(3), Count(1)],
            vec![Min(0), Max(3), Count(2)],
            vec![Min(3), Count(1)],
            vec![Min(1), Max(3), Count(4)],
        ] {
            assert!(stats_answer(&esearch(bad.clone())).is_err(), "{bad:?}");
        }
    }
}
