//! SEARCHRES (RFC 5182): `ImapConnection::search_saved` and the [`SavedSearch`] handle that
//! acts on the result the server keeps as `$`, without sending the UIDs back; without
//! SEARCHRES, the same handle over UIDs kept on the client.

use super::transfer::{CopyUids, copy_uids, count_expunged};
use super::*;
use crate::imap::codec::{SavedAction, SearchReturn};

/// The result of [`ImapConnection::search_saved`]: the messages a search found, to act on
/// without sending their UIDs back (SEARCHRES keeps them on the server as `$`).
///
/// A handle is tied to its connection (it borrows it) and to the selection the search ran
/// in: it works only while **that connection keeps that folder selected** and no other
/// saved search replaced it. After anything that resets `$` on the server — selecting the
/// folder again or another folder (any call on another folder does), closing it, a later
/// `search_saved`, a reconnect, a raw command — every action is refused with
/// [`Error::InvalidInput`] before anything is sent, rather than acting on another set of
/// messages. Search again then.
///
/// Without SEARCHRES the handle keeps the UIDs found on the client and sends them with each
/// action ([`is_server_side`](Self::is_server_side) is `false`); the same rules apply, so
/// code behaves alike on either server. Messages expunged meanwhile drop out of the result
/// on the server (RFC 5182); UIDs kept on the client are simply not found any more.
#[derive(Debug)]
pub struct SavedSearch<'c> {
    conn: &'c ImapConnection,
    folder: String,
    id: u64,
    /// Without SEARCHRES: the UIDs found, with the folder's UIDVALIDITY.
    kept: Option<Uids>,
}

impl ImapConnection {
    /// Searches `folder` and keeps the result for acting on it without sending the UIDs
    /// back: `UID SEARCH RETURN (SAVE) query` when the server has SEARCHRES (RFC 5182),
    /// else a plain `UID SEARCH` whose UIDs the handle keeps (see [`SavedSearch`] for how
    /// long it stays valid). The folder is selected read-write.
    ///
    /// ```no_run
    /// # use mailwire::imap::{Flag, ImapConnection, SearchQuery};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let old = conn.search_saved("INBOX", &SearchQuery::seen().and(SearchQuery::from("list@example.org")))?;
    /// old.add_flags(&[Flag::Keyword("$Archived".into())])?;
    /// old.move_to("Archive")?;
    /// # Ok(()) }
    /// ```
    pub fn search_saved(&self, folder: &str, query: &SearchQuery) -> Result<SavedSearch<'_>> {
        if !self.has_capability("SEARCHRES") {
            let uids = self.search(folder, query)?;
            let id = self.with(|s| {
                if s.selected_folder() != Some(folder) {
                    return Err(gone(folder));
                }
                Ok(s.keep_saved_search())
            })?;
            return Ok(SavedSearch {
                conn: self,
                folder: folder.to_string(),
                id,
                kept: Some(uids),
            });
        }
        let memory = self.validities();
        let id = self.with(|s| {
            let validity = ensure_selected(s, folder)?;
            memory.read(folder, validity)?;
            run_ok(
                s,
                &Command::Search {
                    uid: true,
                    query: query.clone(),
                    returns: Some(vec![SearchReturn::Save]),
                },
            )?;
            Ok(s.keep_saved_search())
        })?;
        Ok(SavedSearch {
            conn: self,
            folder: folder.to_string(),
            id,
            kept: None,
        })
    }
}

/// The refusal of a handle whose result is gone.
fn gone(folder: &str) -> Error {
    Error::invalid(
        "saved search",
        format!(
            "the result saved on {folder:?} is no longer the connection's: the folder was selected again (or another one), another search was saved, or the connection was reopened since; search again"
        ),
    )
}

impl SavedSearch<'_> {
    /// The folder searched.
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// Whether the server keeps the result (`$`, SEARCHRES); `false` when the handle keeps
    /// the UIDs itself.
    pub fn is_server_side(&self) -> bool {
        self.kept.is_none()
    }

    /// Whether the handle still names the connection's saved result (nothing reset it).
    pub fn is_valid(&self) -> bool {
        self.conn.with(|s| Ok(self.live(s))).unwrap_or(false)
    }

    fn live(&self, s: &Session) -> bool {
        s.saved_search() == Some(self.id) && s.selected_folder() == Some(self.folder.as_str())
    }

    fn check(&self, s: &Session) -> Result<()> {
        if self.live(s) {
            Ok(())
        } else {
            Err(gone(&self.folder))
        }
    }

    /// Runs `f` on the session once the handle is checked; the client-side UIDs when kept.
    fn act<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        self.conn.with(|s| {
            self.check(s)?;
            f(s)
        })
    }

    /// Checks the handle, for the client-side path (the UIDs go through the ordinary
    /// UID-taking calls, which check their UIDVALIDITY).
    fn checked_kept(&self) -> Result<Option<&Uids>> {
        self.act(|_| Ok(()))?;
        Ok(self.kept.as_ref())
    }

    fn store(&self, action: StoreAction, flags: &[Flag]) -> Result<()> {
        flags.iter().try_for_each(Flag::check_settable)?;
        if let Some(uids) = self.checked_kept()? {
            return match action {
                StoreAction::Remove => self.conn.remove_flags(&self.folder, uids, flags),
                _ => self.conn.add_flags(&self.folder, uids, flags),
            };
        }
        self.act(|s| {
            super::flags::check_keywords_kept(s, &self.folder, flags)?;
            run_ok(
                s,
                &Command::OnSaved(SavedAction::Store {
                    action,
                    flags: flags.to_vec(),
                }),
            )
            .map(drop)
        })
    }

    /// Adds `flags` to the messages (`UID STORE $ +FLAGS.SILENT`).
    pub fn add_flags(&self, flags: &[Flag]) -> Result<()> {
        self.store(StoreAction::Add, flags)
    }

    /// Removes `flags` from the messages (`UID STORE $ -FLAGS.SILENT`).
    pub fn remove_flags(&self, flags: &[Flag]) -> Result<()> {
        self.store(StoreAction::Remove, flags)
    }

    /// Copies the messages to `to` (`UID COPY $ to`); the new UIDs when the server says
    /// (UIDPLUS), read as for [`ImapConnection::copy`].
    pub fn copy_to(&self, to: &str) -> Result<Option<CopyUids>> {
        if let Some(uids) = self.checked_kept()? {
            return self.conn.copy(&self.folder, uids, to);
        }
        let max_ranges = self.conn.limits.max_set_ranges;
        self.act(|s| {
            let c = run_on_folder(
                s,
                to,
                &Command::OnSaved(SavedAction::Copy(MailboxName::new(to))),
            )?;
            copy_uids(&c.code, &c.untagged, &every_uid(), max_ranges).map_err(|e| broken(s, e))
        })
    }

    /// Moves the messages to `to`: `UID MOVE $ to` (RFC 6851), else `UID COPY $`,
    /// `\Deleted` and `UID EXPUNGE $` (UIDPLUS), as
    /// [`ImapConnection::move_messages`] does (and refused as it is without either).
    pub fn move_to(&self, to: &str) -> Result<Option<CopyUids>> {
        if let Some(uids) = self.checked_kept()? {
            return self.conn.move_messages(&self.folder, uids, to);
        }
        let max_ranges = self.conn.limits.max_set_ranges;
        self.act(|s| {
            let target = MailboxName::new(to);
            if s.capabilities().has("MOVE") {
                let c = run_on_folder(s, to, &Command::OnSaved(SavedAction::Move(target)))?;
                return copy_uids(&c.code, &c.untagged, &every_uid(), max_ranges)
                    .map_err(|e| broken(s, e));
            }
            if !s.capabilities().has("UIDPLUS") {
                return Err(Error::invalid(
                    "move",
                    "the server has neither MOVE nor UIDPLUS; moving would need an EXPUNGE that also removes other messages marked \\Deleted. Copy, then delete explicitly",
                ));
            }
            let c = run_on_folder(s, to, &Command::OnSaved(SavedAction::Copy(target)))?;
            run_ok(
                s,
                &Command::OnSaved(SavedAction::Store {
                    action: StoreAction::Add,
                    flags: vec![Flag::Deleted],
                }),
            )?;
            run_ok(s, &Command::OnSaved(SavedAction::Expunge))?;
            copy_uids(&c.code, &c.untagged, &every_uid(), max_ranges).map_err(|e| broken(s, e))
        })
    }

    /// Removes those of the messages that are `\Deleted` (`UID EXPUNGE $`, UIDPLUS); returns
    /// how many went. Other messages marked `\Deleted` stay.
    pub fn expunge(&self) -> Result<usize> {
        if let Some(uids) = self.checked_kept()? {
            return self.conn.uid_expunge(&self.folder, uids);
        }
        self.act(|s| {
            if !s.capabilities().has("UIDPLUS") {
                return Err(Error::invalid(
                    "UID EXPUNGE",
                    "the server does not support UIDPLUS",
                ));
            }
            let c = run_ok(s, &Command::OnSaved(SavedAction::Expunge))?;
            Ok(count_expunged(s, &c.untagged, None))
        })
    }

    /// The messages' UIDs, with the folder's UIDVALIDITY (`UID SEARCH UID $`; the kept
    /// UIDs without SEARCHRES). The answer is bounded as [`ImapConnection::search`]'s.
    pub fn uids(&self) -> Result<Uids> {
        if let Some(uids) = self.checked_kept()? {
            return Ok(uids.clone());
        }
        let max_ranges = self.conn.limits.max_set_ranges;
        self.act(|s| {
            let c = run_ok(s, &Command::OnSaved(SavedAction::Uids))?;
            let found = super::search::search_answer(&c.untagged, max_ranges)
                .map_err(|e| broken(s, e))?
                .intersection(&every_uid());
            Ok(match s.uid_validity(&self.folder) {
                Some(v) => Uids::with_validity(v, found),
                None => Uids::from(found),
            })
        })
    }

    /// Fetches `what` for the messages: their [`uids`](Self::uids), then
    /// [`ImapConnection::fetch`] of them (a fetch answers with each message's UID anyway).
    pub fn fetch(&self, what: FetchWhat) -> Result<Vec<Message>> {
        let uids = self.uids()?;
        self.conn.fetch(&self.folder, uids, what)
    }
}

/// Every UID a server can name: a `$` answer is clipped to it.
fn every_uid() -> SequenceSet {
    SequenceSet::range(1, u32::MAX)
}
