//! Incremental folder synchronisation: one call that tells what changed in a folder since
//! the last sync (new messages, flag changes, expunges), using QRESYNC, CONDSTORE or plain
//! UID comparison, whichever the server offers.
//!
//! The caller keeps a [`SyncState`] per folder (its text form fits a database column),
//! passes it to [`ImapConnection::sync`], applies the [`SyncDelta`] to its own cache and
//! stores [`SyncDelta::state`] for next time. See `docs/sync.md` for what each strategy
//! costs and how to store the state.
//!
//! One idea per file: `state` is the [`SyncState`] and its stored text form, `flags`
//! the canonical flag texts the state holds, `run` the strategies (what each asks the
//! server), `delta` the computation of the delta and the next state from what the server
//! reported. This file holds the public types; the public methods are in
//! `imap/connection/sync.rs`.

use std::fmt;

#[cfg(doc)]
use crate::imap::ImapConnection;
use crate::imap::seqset::SequenceSet;
use crate::imap::types::Flag;

mod delta;
mod flags;
pub(crate) mod run;
mod state;

pub use state::SyncState;

/// How [`ImapConnection::sync_with`] finds the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SyncStrategy {
    /// The best the server offers: QRESYNC, else CONDSTORE, else plain.
    #[default]
    Auto,
    /// `ENABLE QRESYNC` and `SELECT ... (QRESYNC (...))`: the server reports expunges
    /// (`VANISHED (EARLIER)`) and flag changes in its answer to the SELECT (RFC 7162).
    Qresync,
    /// `UID FETCH 1:* (FLAGS) (CHANGEDSINCE n)` for flag changes and `UID SEARCH ALL`
    /// compared with the known UIDs for new and expunged messages (RFC 7162).
    Condstore,
    /// `UID FETCH 1:* (FLAGS)` compared with the stored state: works everywhere, costs one
    /// line per message.
    Plain,
}

impl fmt::Display for SyncStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncStrategy::Auto => "auto",
            SyncStrategy::Qresync => "QRESYNC",
            SyncStrategy::Condstore => "CONDSTORE",
            SyncStrategy::Plain => "plain",
        })
    }
}

/// What changed in a folder since the state passed to [`ImapConnection::sync`].
///
/// Apply it in this order: drop `vanished`, add `new`, then set the flags of every entry
/// of `flags_changed`, which covers the new messages too (a new message's flags are
/// reported there, so one list gives the current flags of every message the caller does
/// not know yet or knows with other flags). Then store `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncDelta {
    /// UIDs of the messages that appeared, ascending.
    pub new: Vec<u32>,
    /// `(uid, flags)` for every new message and every known message whose flags differ
    /// from the state's, ascending by UID; flags sorted by name, without `\Recent`.
    pub flags_changed: Vec<(u32, Vec<Flag>)>,
    /// UIDs of known messages that are gone, as ranges (iterate with `for uid in
    /// &delta.vanished`, ascending): only UIDs of the state, so a server claiming that
    /// `1:4294967295` vanished costs a few ranges, never a list of four billion numbers.
    pub vanished: SequenceSet,
    /// The folder's UIDVALIDITY differs from the state's: every UID the caller holds for
    /// it is meaningless now. Drop the folder's cache; `new` then lists every message and
    /// `vanished` is empty (the old UIDs are never mixed with the new ones).
    pub uid_validity_reset: bool,
    /// The state to store and pass to the next sync.
    pub state: SyncState,
    /// The strategy that ran (never [`SyncStrategy::Auto`]). A first sync, a reset, or a
    /// folder without mod-sequences is a full listing, reported as
    /// [`SyncStrategy::Plain`] whatever was asked.
    pub strategy: SyncStrategy,
}

impl SyncDelta {
    /// Whether nothing changed (no new, changed or vanished message, no reset).
    pub fn is_empty(&self) -> bool {
        self.new.is_empty()
            && self.flags_changed.is_empty()
            && self.vanished.is_empty()
            && !self.uid_validity_reset
    }
}

/// Compiles every example of `docs/sync.md` as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/sync.md")]
pub struct SyncGuideExamples;
