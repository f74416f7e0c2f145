//! `ImapConnection::sync` / `sync_with`: the public face of the incremental folder sync
//! (`imap/sync/`).

use super::*;
use crate::imap::sync::run::{self, SyncRun};
use crate::imap::sync::{SyncDelta, SyncState, SyncStrategy};

impl ImapConnection {
    /// Tells what changed in `folder` since `state` was taken (a [`SyncState::new`] for a
    /// first sync): new messages, flag changes, expunges, or a UIDVALIDITY reset, with
    /// the next state to store. Uses QRESYNC when the server offers it (enabling it on
    /// this connection once), else CONDSTORE, else plain UID comparison; all three give
    /// the same delta. The folder is left selected.
    ///
    /// `state` must be for `folder` ([`Error::InvalidInput`] otherwise).
    ///
    /// ```no_run
    /// use mailwire::imap::{ImapConnection, SyncState};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let stored = std::fs::read_to_string("inbox.state").ok();
    /// let state = match stored {
    ///     Some(text) => text.parse::<SyncState>()?,
    ///     None => SyncState::new("INBOX"),
    /// };
    /// let delta = conn.sync("INBOX", &state)?;
    /// if delta.uid_validity_reset {
    ///     println!("the folder was recreated: drop the cache, everything is new");
    /// }
    /// for uid in &delta.vanished {
    ///     println!("gone: {uid}");
    /// }
    /// for message in conn.fetch_headers("INBOX", &delta.new)? {
    ///     println!("new: {:?} {:?}", message.uid(), message.subject());
    /// }
    /// for (uid, flags) in &delta.flags_changed {
    ///     println!("{uid}: {flags:?}");
    /// }
    /// std::fs::write("inbox.state", delta.state.to_string()).ok();
    /// # Ok(()) }
    /// ```
    pub fn sync(&self, folder: &str, state: &SyncState) -> Result<SyncDelta> {
        self.sync_with(folder, state, SyncStrategy::Auto)
    }

    /// [`sync`](Self::sync) with a chosen strategy: for tests, and for servers that
    /// announce an extension they implement badly. Forcing [`SyncStrategy::Qresync`] or
    /// [`SyncStrategy::Condstore`] on a server that does not announce it is
    /// [`Error::InvalidInput`]; so is QRESYNC when the server refuses to enable it.
    pub fn sync_with(
        &self,
        folder: &str,
        state: &SyncState,
        strategy: SyncStrategy,
    ) -> Result<SyncDelta> {
        if state.folder() != folder {
            return Err(Error::invalid(
                "sync state",
                format!(
                    "the state is for folder {:?}, not {folder:?}",
                    state.folder()
                ),
            ));
        }
        let memory = self.validities();
        let max_ranges = self.limits().max_set_ranges;
        let run = SyncRun {
            strategy,
            max_ranges,
            read_only: false,
        };
        self.cancellable("synchronising a folder", |session| {
            match run::run_sync(session, folder, state, run) {
                Ok(delta) => {
                    // The delta reports a reset itself; later calls with the new UIDs are
                    // fine.
                    if let Some(v) = delta.state.uid_validity() {
                        memory.record(folder, v);
                    }
                    Ok(delta)
                }
                Err(e) => {
                    if matches!(e, Error::LimitExceeded { .. }) {
                        // A set over the limit: the connection is not reused.
                        session.shutdown();
                    }
                    Err(missing::classify(session, folder, e))
                }
            }
        })
    }
}
