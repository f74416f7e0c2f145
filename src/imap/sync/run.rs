//! The sync strategies: choosing QRESYNC, CONDSTORE or plain, the explicit SELECT, and
//! what each strategy asks the server (the observation handed to `delta`).

use std::collections::BTreeMap;

use super::delta::{Observation, Outcome, apply};
pub(crate) use super::flags::canonical_flags;
use super::{SyncDelta, SyncState, SyncStrategy};
use crate::error::{Error, Result};
use crate::imap::codec::{Command, FetchAttr, Qresync, SearchReturn, SelectOptions};
use crate::imap::search::SearchQuery;
use crate::imap::seqset::{SeqNumber, SequenceSet};
use crate::imap::session::{ConnectionState, Opened, Session};
use crate::imap::types::{EsearchItem, FetchData, Untagged};

/// The longest known-UID set sent in `SELECT (QRESYNC ...)`; a longer one is left out
/// (the server then reports every expunge since the mod-sequence, which is still correct).
const MAX_QRESYNC_SET_LEN: usize = 4000;

fn choose(s: &Session, asked: SyncStrategy) -> Result<SyncStrategy> {
    let caps = s.capabilities();
    let qresync = caps.has("QRESYNC");
    // QRESYNC implies CONDSTORE (RFC 7162 §3.2).
    let condstore = qresync || caps.has("CONDSTORE");
    let missing = |name: &str| {
        Error::invalid(
            "sync strategy",
            format!("{name} was forced but the server does not announce it"),
        )
    };
    match asked {
        SyncStrategy::Auto if qresync => Ok(SyncStrategy::Qresync),
        SyncStrategy::Auto if condstore => Ok(SyncStrategy::Condstore),
        SyncStrategy::Auto | SyncStrategy::Plain => Ok(SyncStrategy::Plain),
        SyncStrategy::Qresync if qresync => Ok(SyncStrategy::Qresync),
        SyncStrategy::Qresync => Err(missing("QRESYNC")),
        SyncStrategy::Condstore if condstore => Ok(SyncStrategy::Condstore),
        SyncStrategy::Condstore => Err(missing("CONDSTORE")),
    }
}

/// `ENABLE QRESYNC` (once per connection). ENABLE belongs before any SELECT (RFC 5161),
/// so a selected folder is left first with UNSELECT when the server has it. Returns
/// whether QRESYNC is on.
fn enable_qresync(s: &mut Session) -> Result<bool> {
    if s.qresync_enabled() {
        return Ok(true);
    }
    if s.state() == ConnectionState::Selected && s.capabilities().has("UNSELECT") {
        s.leave_folder()?;
    }
    s.enable(vec!["QRESYNC".into()])?;
    Ok(s.qresync_enabled())
}

/// What the SELECT answered.
struct Selected {
    exists: u32,
    uid_validity: u32,
    uid_next: Option<u32>,
    highest_modseq: Option<u64>,
    untagged: Vec<Untagged>,
}

/// Selects `folder` explicitly (never trusting the connection's "already selected"
/// cache: the QRESYNC parameters only take effect on a fresh SELECT) and records it as the
/// connection's selected folder.
fn select(
    s: &mut Session,
    folder: &str,
    options: SelectOptions,
    read_only: bool,
) -> Result<Selected> {
    let Opened { mailbox, answer } = s.open_folder(folder, options, read_only)?;
    let uid_validity = mailbox.uid_validity.filter(|&v| v != 0).ok_or_else(|| {
        Error::protocol(
            format!("the server sent no UIDVALIDITY when selecting {folder:?}"),
            &[],
            0,
        )
    })?;
    Ok(Selected {
        exists: mailbox.exists,
        uid_validity,
        uid_next: mailbox.uid_next.filter(|&n| n != 0),
        highest_modseq: mailbox.highest_modseq,
        untagged: answer,
    })
}

/// What one sync run is asked to do: the strategy, the bound on a server-sent set's
/// ranges, and whether the folder is opened read-only (`EXAMINE`, as the `IdleListener`
/// does) or read-write (`SELECT`, as `ImapConnection::sync` does).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncRun {
    pub(crate) strategy: SyncStrategy,
    pub(crate) max_ranges: usize,
    pub(crate) read_only: bool,
}

pub(crate) fn run_sync(
    s: &mut Session,
    folder: &str,
    state: &SyncState,
    run: SyncRun,
) -> Result<SyncDelta> {
    let SyncRun {
        strategy: asked,
        max_ranges,
        read_only,
    } = run;
    let mut strategy = choose(s, asked)?;
    if strategy == SyncStrategy::Qresync && !enable_qresync(s)? {
        if asked == SyncStrategy::Qresync {
            return Err(Error::invalid(
                "sync strategy",
                "QRESYNC was forced but the server did not enable it",
            ));
        }
        strategy = SyncStrategy::Condstore;
    }
    let usable =
        |st: &SyncState| st.uid_validity.is_some() && valid_modseq(st.highest_modseq).is_some();
    let options = match (
        strategy,
        state.uid_validity,
        valid_modseq(state.highest_modseq),
    ) {
        (SyncStrategy::Qresync, Some(validity), Some(modseq)) => {
            let mut q = Qresync::new(validity, modseq);
            if !state.uids.is_empty() && state.uids.encoded_len() <= MAX_QRESYNC_SET_LEN {
                q = q.with_known_uids(state.uids.clone());
            }
            SelectOptions::new().qresync(q)
        }
        (SyncStrategy::Qresync | SyncStrategy::Condstore, ..) => SelectOptions::new().condstore(),
        _ => SelectOptions::new(),
    };
    let mut selected = select(s, folder, options, read_only)?;
    selected.highest_modseq = valid_modseq(selected.highest_modseq);
    let reset = state
        .uid_validity
        .is_some_and(|old| old != selected.uid_validity);
    let base = if reset || state.is_initial() {
        SyncState::new(folder)
    } else {
        state.clone()
    };
    let incremental =
        strategy != SyncStrategy::Plain && usable(&base) && selected.highest_modseq.is_some();
    if !incremental {
        strategy = SyncStrategy::Plain;
    }
    let observation = match strategy {
        SyncStrategy::Qresync => observe_qresync(s, &base, &selected, max_ranges)?,
        SyncStrategy::Condstore => observe_condstore(s, &base, &selected, max_ranges)?,
        _ => Observation::Full(fetch_flags(s, &selected, None, None)?),
    };
    let Outcome {
        new,
        flags_changed,
        vanished,
        mut next,
    } = apply(&base, observation);
    next.uid_validity = Some(selected.uid_validity);
    next.highest_modseq = selected.highest_modseq;
    next.uid_next = next_uid_next(&next, [selected.uid_next, base.uid_next]);
    log::debug!(
        target: "mailwire::imap",
        "[{}] sync of {folder:?} ({strategy}): {} new, {} flag changes, {} vanished{}",
        s.id(),
        new.len(),
        flags_changed.len(),
        vanished.len().unwrap_or(0),
        if reset { ", UIDVALIDITY reset" } else { "" }
    );
    Ok(SyncDelta {
        new,
        flags_changed,
        vanished,
        uid_validity_reset: reset,
        state: next,
        strategy,
    })
}

/// The UIDNEXT of a next state: the largest of the UIDNEXTs known and the UID after its
/// last known message.
fn next_uid_next(next: &SyncState, known: [Option<u32>; 2]) -> Option<u32> {
    let after_last = next.uids.ranges().last().and_then(|r| match r.end() {
        SeqNumber::Value(v) => v.checked_add(1),
        SeqNumber::Star => None,
    });
    known.into_iter().chain([after_last]).flatten().max()
}

/// Applies changes seen on a selected folder (expunged UIDs; `(uid, canonical flags)` of
/// changed or new messages, texts as [`uid_and_flags`] gives them) to `base`, with the
/// same computation as a sync: the delta lists only real changes, and its state keeps
/// `base`'s UIDVALIDITY and mod-sequence. For the `IdleListener`, which keeps its state
/// up to date between syncs.
pub(crate) fn apply_changes(
    base: &SyncState,
    vanished: SequenceSet,
    changed: BTreeMap<u32, Vec<String>>,
) -> SyncDelta {
    let Outcome {
        new,
        flags_changed,
        vanished,
        mut next,
    } = apply(base, Observation::Changes { vanished, changed });
    next.uid_validity = base.uid_validity;
    next.highest_modseq = base.highest_modseq;
    next.uid_next = next_uid_next(&next, [base.uid_next, None]);
    SyncDelta {
        new,
        flags_changed,
        vanished,
        uid_validity_reset: false,
        state: next,
        strategy: SyncStrategy::Plain,
    }
}

/// A mod-sequence that can be sent back (RFC 7162: 1 to 2^63-1); others count as none, so
/// a state holding one gets a full listing instead of a command the encoder refuses.
fn valid_modseq(modseq: Option<u64>) -> Option<u64> {
    modseq.filter(|&m| m >= 1 && m <= i64::MAX as u64)
}

/// The expunges and flag changes from the QRESYNC SELECT answer, plus the messages from
/// the old UIDNEXT on.
fn observe_qresync(
    s: &mut Session,
    base: &SyncState,
    selected: &Selected,
    max_ranges: usize,
) -> Result<Observation> {
    let mut vanished = SequenceSet::new();
    let mut changed = BTreeMap::new();
    for u in &selected.untagged {
        match u {
            // QRESYNC is enabled on this path (the only case where VANISHED is valid); the
            // set stays ranges and `apply` keeps only the known UIDs of it.
            Untagged::Vanished { uids, .. } => {
                uids.check_ranges(max_ranges, "a VANISHED response")?;
                vanished = vanished.union(uids);
                vanished.check_ranges(max_ranges, "the VANISHED responses of one SELECT")?;
            }
            Untagged::Fetch { items, .. } => {
                if let Some((uid, flags)) = uid_and_flags(items) {
                    changed.insert(uid, flags);
                }
            }
            _ => {}
        }
    }
    let from = base.uid_next.unwrap_or(1).max(1);
    if selected.uid_next.is_none_or(|next| next > from) {
        changed.extend(fetch_flags(s, selected, Some(from), None)?);
    }
    Ok(Observation::Changes { vanished, changed })
}

/// `UID FETCH 1:* (FLAGS) (CHANGEDSINCE n)` and `UID SEARCH ALL`, pipelined; expunges are
/// the known UIDs the search no longer finds. The search answer stays ranges (at most
/// `max_ranges`) and is clipped to the UIDs below the folder's UIDNEXT.
fn observe_condstore(
    s: &mut Session,
    base: &SyncState,
    selected: &Selected,
    max_ranges: usize,
) -> Result<Observation> {
    if selected.exists == 0 {
        return Ok(Observation::Changes {
            vanished: base.uids.clone(),
            changed: BTreeMap::new(),
        });
    }
    let modseq = valid_modseq(base.highest_modseq).unwrap_or(1);
    let esearch = s.capabilities().has("ESEARCH");
    let commands = [
        Command::Fetch {
            uid: true,
            set: SequenceSet::all(),
            items: vec![FetchAttr::Uid, FetchAttr::Flags],
            changed_since: Some(modseq),
            vanished: false,
        },
        Command::Search {
            uid: true,
            query: SearchQuery::all(),
            returns: esearch.then(|| vec![SearchReturn::All]),
        },
    ];
    let result = s.soliciting(SequenceSet::all(), |s| s.run_pipelined(&commands));
    let (untagged, completions) = result?;
    for (c, name) in completions.into_iter().zip(["UID FETCH", "UID SEARCH"]) {
        c.into_result(name)?;
    }
    let mut present = SequenceSet::new();
    let mut changed = BTreeMap::new();
    for u in &untagged {
        match u {
            Untagged::Fetch { items, .. } => {
                if let Some((uid, flags)) = uid_and_flags(items) {
                    changed.insert(uid, flags);
                }
            }
            Untagged::Search { ids, .. } => {
                let part: SequenceSet = ids.iter().copied().collect();
                part.check_ranges(max_ranges, "a SEARCH answer")?;
                present = present.union(&part);
            }
            // Sequence numbers taken as UIDs would call present messages vanished.
            Untagged::Esearch { uid: false, .. } => {
                return Err(Error::protocol(
                    "the server answered UID SEARCH with an ESEARCH without the UID indicator (sequence numbers, not UIDs; RFC 4731 §3.1)",
                    &[],
                    0,
                ));
            }
            Untagged::Esearch { items, .. } => {
                for item in items {
                    if let EsearchItem::All(set) = item {
                        set.check_ranges(max_ranges, "an ESEARCH answer")?;
                        present = present.union(set);
                    }
                }
            }
            _ => {}
        }
        present.check_ranges(max_ranges, "the SEARCH answers of one sync")?;
    }
    // What can exist: UIDs from 1 to below UIDNEXT (a message arriving meanwhile is found
    // by the next sync).
    let last = selected.uid_next.map_or(u32::MAX, |n| n.saturating_sub(1));
    let present = present.intersection(&SequenceSet::from_ranges([1..=last]));
    // New messages normally come with the CHANGEDSINCE answer (their mod-sequence is
    // higher); fetch the flags of any that did not. Computed on ranges: a hostile answer
    // costs its ranges, never a list of every UID it claims.
    let answered: SequenceSet = changed.keys().copied().collect();
    let missing = present.difference(&base.uids).difference(&answered);
    if !missing.is_empty() {
        changed.extend(fetch_flags(s, selected, None, Some(missing))?);
    }
    let changed: BTreeMap<u32, Vec<String>> = changed
        .into_iter()
        .filter(|(uid, _)| present.contains(*uid))
        .collect();
    Ok(Observation::Changes {
        vanished: base.uids.difference(&present),
        changed,
    })
}

/// `UID FETCH <set> (UID FLAGS)`: every message (`1:*`), those from `from` on, or the
/// given UIDs. An empty folder costs no command.
fn fetch_flags(
    s: &mut Session,
    selected: &Selected,
    from: Option<u32>,
    uids: Option<SequenceSet>,
) -> Result<BTreeMap<u32, Vec<String>>> {
    let mut out = BTreeMap::new();
    if selected.exists == 0 {
        return Ok(out);
    }
    let from = from.unwrap_or(1).max(1);
    let sets: Vec<SequenceSet> = match uids {
        Some(set) => set.chunks(MAX_QRESYNC_SET_LEN).collect(),
        None => vec![SequenceSet::from_start(from)],
    };
    let commands: Vec<Command> = sets
        .into_iter()
        .map(|set| Command::uid_fetch(set, [FetchAttr::Uid, FetchAttr::Flags]))
        .collect();
    let result = s.soliciting(SequenceSet::all(), |s| s.run_pipelined(&commands));
    let (untagged, completions) = result?;
    for c in completions {
        c.into_result("UID FETCH")?;
    }
    for u in &untagged {
        if let Untagged::Fetch { items, .. } = u {
            // `n:*` also matches the last message when it is below n (RFC 9051 §6.4.8).
            if let Some((uid, flags)) = uid_and_flags(items).filter(|(uid, _)| *uid >= from) {
                out.insert(uid, flags);
            }
        }
    }
    Ok(out)
}

/// The UID and the canonical flag texts of a FETCH answer that has both.
pub(crate) fn uid_and_flags(items: &[FetchData]) -> Option<(u32, Vec<String>)> {
    let uid = items.iter().find_map(|i| match i {
        FetchData::Uid(uid) if *uid != 0 => Some(*uid),
        _ => None,
    })?;
    let flags = items.iter().find_map(|i| match i {
        FetchData::Flags(flags) => Some(canonical_flags(flags)),
        _ => None,
    })?;
    Some((uid, flags))
}
