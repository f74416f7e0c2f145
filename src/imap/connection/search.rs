//! `ImapConnection::search`: UID SEARCH (ESEARCH when offered), the answer bounded by the limits.

use super::*;

/// The UIDs a `UID SEARCH` answered (`SEARCH`, or `ESEARCH ALL` as IMAP4rev2 servers
/// answer), as ranges: each response's set may have at most `max_ranges` ranges, and so may
/// their union. An `ESEARCH` without the `UID` indicator holds sequence numbers (RFC 4731
/// §3.1), which taken as UIDs would name other messages: `Error::Protocol`.
pub(super) fn search_answer(untagged: &[Untagged], max_ranges: usize) -> Result<SequenceSet> {
    let mut found = SequenceSet::new();
    for u in untagged {
        let part = match u {
            Untagged::Search { ids, .. } => ids.iter().copied().collect(),
            Untagged::Esearch { uid: false, .. } => {
                return Err(Error::protocol(
                    "the server answered UID SEARCH with an ESEARCH without the UID indicator (sequence numbers, not UIDs; RFC 4731 §3.1)",
                    &[],
                    0,
                ));
            }
            Untagged::Esearch { items, .. } => {
                let mut all = SequenceSet::new();
                for item in items {
                    if let EsearchItem::All(set) = item {
                        set.check_ranges(max_ranges, "an ESEARCH answer")?;
                        all = all.union(set);
                    }
                }
                all
            }
            _ => continue,
        };
        part.check_ranges(max_ranges, "a SEARCH answer")?;
        found = found.union(&part);
        found.check_ranges(max_ranges, "the SEARCH answers of one command")?;
    }
    Ok(found)
}

impl ImapConnection {
    /// The UIDs of the messages in `folder` matching `query`, with the folder's UIDVALIDITY
    /// (pass them to any UID-taking call: it refuses to act if the folder was recreated
    /// since). Non-ASCII text is sent with `CHARSET UTF-8`.
    ///
    /// The answer is held as ranges (a server claiming `1:4294967295` costs one range, not
    /// 16 GiB), limited to [`Limits::max_set_ranges`](crate::Limits::max_set_ranges) ranges
    /// ([`Error::LimitExceeded`], the connection is dropped), and clipped to what can
    /// match: UIDs from 1 on, within the query's own `UID` bounds when it has some. Fails
    /// once with [`Error::UidValidityChanged`] when the folder's UIDVALIDITY changed since
    /// UIDs were last read from it. A key the server did not announce (`EMAILID` /
    /// `THREADID` without `OBJECTID`, Gmail's `X-GM-*` keys without `X-GM-EXT-1`) is
    /// [`Error::InvalidInput`] naming the capability, before anything is sent.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery, search::ImapDate};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let query = SearchQuery::unseen()
    ///     .and(SearchQuery::since(ImapDate::new(2024, 5, 1)?))
    ///     .and(SearchQuery::from("boss@example.com").or(SearchQuery::subject("Grüße")));
    /// let uids = conn.search("INBOX", &query)?;
    /// # Ok(()) }
    /// ```
    pub fn search(&self, folder: &str, query: &SearchQuery) -> Result<Uids> {
        let memory = self.validities();
        let max_ranges = self.limits.max_set_ranges;
        self.with(|s| {
            query.check_offered(&|c| s.capabilities().has(c))?;
            let validity = ensure_selected(s, folder)?;
            memory.read(folder, validity)?;
            let c = run_ok(s, &Command::uid_search(query.clone()))?;
            let found = match search_answer(&c.untagged, max_ranges) {
                Ok(found) => found,
                Err(e) => return Err(broken(s, e)),
            };
            let mut clip = SequenceSet::range(1, u32::MAX);
            if let Some(bound) = query.uid_bound() {
                clip = clip.intersection(&bound);
            }
            let set = found.intersection(&clip);
            Ok(match validity {
                Some(v) => Uids::with_validity(v, set),
                None => Uids::from(set),
            })
        })
    }
}
