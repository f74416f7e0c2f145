//! A batch of untagged responses (from IDLE, its `DONE`, or a `NOOP`) turned into events,
//! and the report of the messages that arrived from the known UIDNEXT on.

use std::sync::Arc;

use super::run::Worker;
use crate::error::Result;
use crate::imap::codec::{Command, FetchAttr};
use crate::imap::idle_queue::IdleEvent;
use crate::imap::search::SearchQuery;
use crate::imap::seqset::SequenceSet;
use crate::imap::session::Session;
use crate::imap::types::{FetchData, Flag, Untagged};

impl Worker {
    /// Turns a batch of untagged responses into events (outside IDLE: may run commands).
    pub(super) fn handle(&mut self, responses: Vec<Untagged>) -> Result<()> {
        let mut expunged_seqs = Vec::new();
        let mut expunged_uids = SequenceSet::new();
        // VANISHED is only valid once QRESYNC is enabled (RFC 7162 §3.2.10); UIDs that
        // cannot exist yet (from UIDNEXT on) are not news.
        let qresync = self
            .with_session(|s| Ok(s.qresync_enabled()))
            .unwrap_or(false);
        let known =
            SequenceSet::from_ranges([1..=self.uid_next.map_or(u32::MAX, |n| n.saturating_sub(1))]);
        let max_ranges = self.config.limits().max_set_ranges;
        let mut new_mail = false;
        let mut flag_changes: Vec<(Option<u32>, u32, Vec<Flag>)> = Vec::new();
        for u in responses {
            match u {
                Untagged::Exists(_) => new_mail = true,
                Untagged::Expunge(seq) => expunged_seqs.push(seq),
                Untagged::Vanished {
                    earlier: false,
                    uids,
                } if qresync => {
                    uids.check_ranges(max_ranges, "a VANISHED response")?;
                    expunged_uids = expunged_uids.union(&uids.intersection(&known));
                    expunged_uids
                        .check_ranges(max_ranges, "the VANISHED responses of one batch")?;
                }
                Untagged::Vanished { .. } => {
                    log::warn!(target: "mailwire::idle", "[idle {}] ignoring VANISHED: QRESYNC is not enabled", self.folder);
                }
                Untagged::Fetch { seq, items } => {
                    let mut uid = None;
                    let mut flags = None;
                    for item in items {
                        match item {
                            FetchData::Uid(u) => uid = Some(u),
                            FetchData::Flags(f) => flags = Some(f),
                            _ => {}
                        }
                    }
                    if let Some(flags) = flags {
                        flag_changes.push((uid, seq, flags));
                    }
                }
                _ => {}
            }
        }
        // Sequence numbers are valid before the expunges of this batch are applied; ask
        // for the UIDs of flag changes that came without one.
        let unknown: Vec<u32> = flag_changes
            .iter()
            .filter(|(uid, _, _)| uid.is_none())
            .map(|(_, seq, _)| *seq)
            .collect();
        if !unknown.is_empty() && expunged_seqs.is_empty() {
            let set: SequenceSet = unknown.iter().copied().collect();
            let map = self.with_session(|s| {
                let c = s
                    .run(&Command::Fetch {
                        uid: false,
                        set,
                        items: vec![FetchAttr::Uid, FetchAttr::Flags],
                        changed_since: None,
                        vanished: false,
                    })?
                    .into_result("FETCH")?;
                Ok(c.untagged)
            })?;
            for u in map {
                if let Untagged::Fetch { seq, items } = u {
                    let uid = items.iter().find_map(|i| {
                        if let FetchData::Uid(u) = i {
                            Some(*u)
                        } else {
                            None
                        }
                    });
                    let flags = items.iter().find_map(|i| {
                        if let FetchData::Flags(f) = i {
                            Some(f.clone())
                        } else {
                            None
                        }
                    });
                    if let Some(change) = flag_changes
                        .iter_mut()
                        .find(|(u, s, _)| u.is_none() && *s == seq)
                    {
                        change.0 = uid;
                        if let Some(f) = flags {
                            change.2 = f;
                        }
                    }
                }
            }
        }
        for (uid, _, flags) in flag_changes {
            if let Some(uid) = uid {
                self.emit(IdleEvent::FlagsChanged { uid, flags });
            }
        }
        if !expunged_seqs.is_empty() || !expunged_uids.is_empty() {
            self.emit(IdleEvent::Expunged {
                seqs: expunged_seqs,
                uids: expunged_uids,
            });
        }
        if new_mail {
            let shared = Arc::clone(&self.session);
            let mut guard = shared.lock();
            if let Some(s) = guard.as_mut() {
                self.report_new(s)?;
            }
        }
        Ok(())
    }

    /// Reports the messages with UIDs from the last known UIDNEXT on.
    pub(super) fn report_new(&mut self, s: &mut Session) -> Result<()> {
        let from = self.uid_next.unwrap_or(1).max(1);
        let query = SearchQuery::uid(SequenceSet::from_start(from));
        let c = s
            .run(&Command::uid_search(query))?
            .into_result("UID SEARCH")?;
        let mut uids: Vec<u32> = c
            .untagged
            .into_iter()
            .filter_map(|u| match u {
                Untagged::Search { ids, .. } => Some(ids),
                _ => None,
            })
            .flatten()
            .filter(|&uid| uid >= from)
            .collect();
        uids.sort_unstable();
        uids.dedup();
        if let Some(&last) = uids.last() {
            self.uid_next = Some(last.saturating_add(1));
            self.emit(IdleEvent::NewMessages { uids });
        }
        Ok(())
    }
}
