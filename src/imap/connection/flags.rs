//! `ImapConnection` calls that change flags and keywords (UID STORE).

use super::*;

impl ImapConnection {
    /// Adds flags to the messages. Like every call taking UIDs, refuses with
    /// [`Error::UidValidityChanged`] (nothing stored) UIDs read under another UIDVALIDITY
    /// than the folder's now (see [`Uids`]).
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, Flag};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// conn.add_flags("INBOX", &[1, 2, 3], &[Flag::Answered, Flag::Keyword("$Forwarded".into())])?;
    /// conn.mark_as_read("INBOX", &[1, 2, 3])?;
    /// conn.add_star("INBOX", &[2])?;
    /// # Ok(()) }
    /// ```
    pub fn add_flags(&self, folder: &str, uids: impl Into<Uids>, flags: &[Flag]) -> Result<()> {
        self.store(folder, uids, StoreAction::Add, flags)
    }

    /// Removes flags from the messages.
    pub fn remove_flags(&self, folder: &str, uids: impl Into<Uids>, flags: &[Flag]) -> Result<()> {
        self.store(folder, uids, StoreAction::Remove, flags)
    }

    /// Replaces the messages' flags.
    pub fn set_flags(&self, folder: &str, uids: impl Into<Uids>, flags: &[Flag]) -> Result<()> {
        self.store(folder, uids, StoreAction::Replace, flags)
    }

    /// Adds `\Seen`.
    pub fn mark_as_read(&self, folder: &str, uids: impl Into<Uids>) -> Result<()> {
        self.add_flags(folder, uids, &[Flag::Seen])
    }

    /// Removes `\Seen`.
    pub fn mark_as_unread(&self, folder: &str, uids: impl Into<Uids>) -> Result<()> {
        self.remove_flags(folder, uids, &[Flag::Seen])
    }

    /// Adds `\Flagged` (a star).
    pub fn add_star(&self, folder: &str, uids: impl Into<Uids>) -> Result<()> {
        self.add_flags(folder, uids, &[Flag::Flagged])
    }

    /// Removes `\Flagged`.
    pub fn remove_star(&self, folder: &str, uids: impl Into<Uids>) -> Result<()> {
        self.remove_flags(folder, uids, &[Flag::Flagged])
    }

    /// Adds `\Deleted` (the messages go on [`expunge`](Self::expunge)).
    pub fn mark_deleted(&self, folder: &str, uids: impl Into<Uids>) -> Result<()> {
        self.add_flags(folder, uids, &[Flag::Deleted])
    }

    /// Adds keywords (`$Forwarded`, `Work`, …); each must be an IMAP atom, and one the
    /// folder can keep ([`Mailbox::allows_keyword`]): a keyword its `PERMANENTFLAGS` do not
    /// allow is [`Error::InvalidInput`], checked after the folder is selected and before
    /// the `STORE` is sent. [`add_flags`](Self::add_flags) and
    /// [`set_flags`](Self::set_flags) check their keywords the same way;
    /// [`remove_keywords`](Self::remove_keywords) does not (removing what cannot be there
    /// does no harm).
    pub fn add_keywords(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        keywords: &[&str],
    ) -> Result<()> {
        self.add_flags(folder, uids, &keyword_flags(keywords))
    }

    /// Removes keywords.
    pub fn remove_keywords(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        keywords: &[&str],
    ) -> Result<()> {
        self.remove_flags(folder, uids, &keyword_flags(keywords))
    }

    fn store(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        action: StoreAction,
        flags: &[Flag],
    ) -> Result<()> {
        flags.iter().try_for_each(Flag::check_settable)?;
        let flags = flags.to_vec();
        let uids = uids.into();
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids.set().clone();
        let memory = self.validities();
        self.with(|s| {
            ensure_acting(s, &memory, folder, uids.validity())?;
            if action != StoreAction::Remove {
                check_keywords_kept(s, folder, &flags)?;
            }
            let commands: Vec<Command> = set
                .chunks(MAX_SET_LEN)
                .map(|chunk| Command::Store {
                    uid: true,
                    set: chunk,
                    action,
                    silent: true,
                    flags: flags.clone(),
                    unchanged_since: None,
                })
                .collect();
            for window in commands.chunks(PIPELINE_WINDOW) {
                let (_, completions) = s.run_pipelined(window)?;
                for c in completions {
                    c.into_result("UID STORE")?;
                }
            }
            Ok(())
        })
    }
}

/// Refuses a keyword `folder` cannot keep, by what its last `SELECT` / `EXAMINE` on this
/// session reported (see [`Mailbox::allows_keyword`]); a folder not opened on this session
/// is not checked (its `PERMANENTFLAGS` are not known: the server decides).
pub(super) fn check_keywords_kept(s: &Session, folder: &str, flags: &[Flag]) -> Result<()> {
    let Some(mailbox) = s.opened(folder) else {
        return Ok(());
    };
    for flag in flags {
        if let Flag::Keyword(k) = flag
            && !mailbox.allows_keyword(k)
        {
            let kept: Vec<String> = mailbox
                .permanent_flags
                .iter()
                .map(|f| f.as_str().into_owned())
                .collect();
            return Err(Error::invalid(
                "keyword",
                format!(
                    "folder {folder:?} cannot keep the keyword {k:?}: its PERMANENTFLAGS ({}) have no \\* and do not list it (check Mailbox::allows_keyword first)",
                    kept.join(" ")
                ),
            ));
        }
    }
    Ok(())
}

/// Keywords as flags (each checked to be an atom when the command is encoded).
fn keyword_flags(keywords: &[&str]) -> Vec<Flag> {
    keywords
        .iter()
        .map(|k| Flag::Keyword(k.to_string()))
        .collect()
}
