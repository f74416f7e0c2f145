//! What changed while the listener was not watching: a sync from the listener's state
//! (QRESYNC, CONDSTORE or the plain UID + flags comparison of `imap/sync/`), reported as
//! events. Runs at every (re)connect, before `Reconnected`, and whenever a batch of events
//! does not add up.

use std::sync::Arc;

use super::run::Worker;
use crate::error::{Error, Result};
use crate::imap::idle_queue::IdleEvent;
use crate::imap::session::Session;
use crate::imap::sync::run::{SyncRun, run_sync};
use crate::imap::sync::{SyncDelta, SyncStrategy};

impl Worker {
    /// Opens the folder read-only on `s` (`EXAMINE`, with QRESYNC or CONDSTORE parameters
    /// when the server offers them) with a sync from the listener's state, and reports the
    /// difference: nothing on the first open; otherwise flag changes, expunges and new
    /// messages; after a UIDVALIDITY change, `UidValidityChanged` and then every message as
    /// new (never expunges of the old UIDs).
    pub(super) fn catch_up(&mut self, s: &mut Session) -> Result<()> {
        let run = SyncRun {
            strategy: SyncStrategy::Auto,
            max_ranges: self.config.limits().max_set_ranges,
            read_only: true,
        };
        let first = self.state.is_initial();
        let old = self.state.uid_validity();
        let delta = run_sync(s, &self.folder, &self.state, run)?;
        log::debug!(target: "mailwire::idle", "[idle {}] [{}] caught up with {} ({} messages known, state {} bytes)", self.folder, s.id(), delta.strategy, delta.state.message_count(), delta.state.heap_bytes());
        if first {
            self.state = delta.state;
            return Ok(());
        }
        if delta.uid_validity_reset
            && let (Some(old), Some(new)) = (old, delta.state.uid_validity())
        {
            self.emit(IdleEvent::UidValidityChanged { old, new });
        }
        self.report(Vec::new(), delta);
        Ok(())
    }

    /// [`catch_up`](Self::catch_up) on the listener's connection, outside IDLE: when its
    /// view of the folder no longer adds up (a sequence number beyond the known messages,
    /// a count that differs from the server's), it is rebuilt from the server.
    pub(super) fn resync(&mut self) -> Result<()> {
        log::info!(target: "mailwire::idle", "[idle {}] the events do not add up; resynchronising", self.folder);
        let shared = Arc::clone(&self.session);
        let mut guard = shared.lock();
        match guard.as_mut() {
            Some(s) => self.catch_up(s),
            None => Err(Error::Closed {
                context: "(the listener's connection is gone)".into(),
            }),
        }
    }

    /// Takes `delta`'s state and reports it: `FlagsChanged` for each known message whose
    /// flags changed, one `Expunged` (with `seqs`, the sequence numbers of the `EXPUNGE`
    /// responses it came from, if any), one `NewMessages`.
    pub(super) fn report(&mut self, seqs: Vec<u32>, delta: SyncDelta) {
        let SyncDelta {
            new,
            flags_changed,
            vanished,
            state,
            ..
        } = delta;
        self.state = state;
        for (uid, flags) in flags_changed {
            // A new message's flags come with it (fetch it); `new` is ascending.
            if new.binary_search(&uid).is_err() {
                self.emit(IdleEvent::FlagsChanged { uid, flags });
            }
        }
        if !vanished.is_empty() {
            self.emit(IdleEvent::Expunged {
                seqs,
                uids: vanished,
            });
        }
        if !new.is_empty() {
            self.emit(IdleEvent::NewMessages { uids: new });
        }
    }
}
