//! A batch of untagged responses (from IDLE, its `DONE`, or a `NOOP`) turned into events
//! that all carry UIDs, with the listener's state kept in step: `EXPUNGE` and a `FETCH`
//! without UID are mapped through the known UIDs, `VANISHED` (QRESYNC) names them, and
//! `EXISTS` fetches the new messages' UIDs and flags.

use std::collections::BTreeMap;

use super::run::Worker;
use super::uid_map::{take_seq, uid_at};
use crate::error::Result;
use crate::imap::codec::{Command, FetchAttr};
use crate::imap::seqset::SequenceSet;
use crate::imap::sync::run::{apply_changes, canonical_flags, uid_and_flags};
use crate::imap::types::{FetchData, Untagged};

/// What one batch said, in the server's order.
struct Batch {
    /// The known UIDs as the batch goes (the sequence → UID map after each response).
    known: SequenceSet,
    /// Sequence numbers of the `EXPUNGE` responses that mapped to a UID.
    seqs: Vec<u32>,
    /// UIDs expunged (`EXPUNGE` mapped, or `VANISHED`), only known ones.
    gone: SequenceSet,
    /// Canonical flags of known messages, by UID.
    changed: BTreeMap<u32, Vec<String>>,
    /// The message count the server's last `EXISTS` and the expunges after it give.
    count: Option<u64>,
    /// A sequence number beyond the known messages: the listener's view is off.
    lost: bool,
}

impl Batch {
    fn take(&mut self, u: Untagged, qresync: bool, max_ranges: usize, folder: &str) -> Result<()> {
        match u {
            Untagged::Exists(n) => self.count = Some(u64::from(n)),
            Untagged::Expunge(seq) => match take_seq(&mut self.known, seq) {
                Some(uid) => {
                    self.seqs.push(seq);
                    self.gone.insert(uid);
                    self.changed.remove(&uid);
                    self.count = self.count.map(|c| c.saturating_sub(1));
                }
                None => self.lost = true,
            },
            // VANISHED is only valid once QRESYNC is enabled (RFC 7162 §3.2.10); UIDs the
            // listener does not know are not news.
            Untagged::Vanished {
                earlier: false,
                uids,
            } if qresync => {
                uids.check_ranges(max_ranges, "a VANISHED response")?;
                let hit = uids.intersection(&self.known);
                self.known = self.known.difference(&hit);
                self.count = self.count.map(|c| c.saturating_sub(hit.len().unwrap_or(0)));
                self.gone = self.gone.union(&hit);
                self.gone
                    .check_ranges(max_ranges, "the VANISHED responses of one batch")?;
            }
            Untagged::Vanished { .. } => {
                log::warn!(target: "mailwire::idle", "[idle {folder}] ignoring VANISHED: QRESYNC is not enabled");
            }
            Untagged::Fetch { seq, items } => {
                let Some(flags) = items.iter().find_map(|i| match i {
                    FetchData::Flags(f) => Some(canonical_flags(f)),
                    _ => None,
                }) else {
                    return Ok(());
                };
                let uid = items
                    .iter()
                    .find_map(|i| match i {
                        FetchData::Uid(uid) if *uid != 0 => Some(*uid),
                        _ => None,
                    })
                    .or_else(|| uid_at(&self.known, seq));
                match uid {
                    Some(uid) if self.known.contains(uid) => {
                        self.changed.insert(uid, flags);
                    }
                    // A message beyond the known ones is new: fetched with the others.
                    _ if u64::from(seq) > self.known.len().unwrap_or(0) => {}
                    _ => self.lost = true,
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Worker {
    /// Turns a batch of untagged responses into events (outside IDLE: may run commands).
    pub(super) fn handle(&mut self, responses: Vec<Untagged>) -> Result<()> {
        let qresync = self
            .with_session(|s| Ok(s.qresync_enabled()))
            .unwrap_or(false);
        let max_ranges = self.config.limits().max_set_ranges;
        let mut batch = Batch {
            known: self.state.known_uids().clone(),
            seqs: Vec::new(),
            gone: SequenceSet::new(),
            changed: BTreeMap::new(),
            count: None,
            lost: false,
        };
        for u in responses {
            batch.take(u, qresync, max_ranges, &self.folder)?;
        }
        let Batch {
            seqs,
            gone,
            changed,
            count,
            lost,
            ..
        } = batch;
        let delta = apply_changes(&self.state, gone, changed);
        self.report(seqs, delta);
        if lost {
            return self.resync();
        }
        if count.is_some() && !self.report_new(count)? {
            return self.resync();
        }
        Ok(())
    }

    /// Fetches the UIDs and flags of the messages from the known UIDNEXT on and reports
    /// them. Returns whether the folder now adds up: the count is `expected` (when known)
    /// and the answer carried no other change.
    fn report_new(&mut self, expected: Option<u64>) -> Result<bool> {
        let from = self.state.uid_next().unwrap_or(1).max(1);
        let untagged = self.with_session(|s| {
            let command = Command::uid_fetch(
                SequenceSet::from_start(from),
                [FetchAttr::Uid, FetchAttr::Flags],
            );
            Ok(s.run(&command)?.into_result("UID FETCH")?.untagged)
        })?;
        let mut changed = BTreeMap::new();
        let mut disturbed = false;
        for u in &untagged {
            match u {
                Untagged::Fetch { items, .. } => match uid_and_flags(items) {
                    // `n:*` also matches the last message when it is below n (RFC 9051
                    // §6.4.8): a known one is compared like any flag change.
                    Some((uid, flags)) if uid >= from || self.state.known_uids().contains(uid) => {
                        changed.insert(uid, flags);
                    }
                    Some(_) => disturbed = true,
                    None => {}
                },
                Untagged::Exists(_) | Untagged::Expunge(_) | Untagged::Vanished { .. } => {
                    disturbed = true
                }
                _ => {}
            }
        }
        let delta = apply_changes(&self.state, SequenceSet::new(), changed);
        self.report(Vec::new(), delta);
        let count = self.state.message_count();
        Ok(!disturbed && expected.is_none_or(|n| n == count))
    }
}
