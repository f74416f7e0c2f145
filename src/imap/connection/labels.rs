//! `ImapConnection` calls that change Gmail labels (`UID STORE ... X-GM-LABELS`, X-GM-EXT-1).

use super::*;

/// The error for a server without `X-GM-EXT-1`.
fn no_gmail(what: &str) -> Error {
    Error::invalid(
        what,
        "the server does not offer X-GM-EXT-1 (Gmail's IMAP extensions): labels exist only on Gmail; check `has_capability(\"X-GM-EXT-1\")` first, or use keywords (`add_keywords`) or folders elsewhere",
    )
}

impl ImapConnection {
    /// Adds Gmail labels to the messages (`UID STORE uids +X-GM-LABELS.SILENT (labels)`):
    /// user labels by name (`"Work"`, `"Muy Importante"`, `"Projects/2026"`; sent in
    /// modified UTF-7 like folder names), system labels with their backslash
    /// (`"\\Important"`, `"\\Starred"`, `"\\Inbox"`: sent bare, as Gmail wants them). Adding
    /// a label is what copying to its folder does, without a second copy: the message
    /// stays where it is and also appears in the label's folder.
    ///
    /// Needs `X-GM-EXT-1` (Gmail): without it the call fails with [`Error::InvalidInput`]
    /// naming the capability, before anything is sent. An empty label, or one holding NUL,
    /// is [`Error::InvalidInput`] too. Like every call taking UIDs, refuses UIDs read under
    /// another UIDVALIDITY than the folder's (see [`Uids`]). A label Gmail refuses is
    /// [`Error::Server`].
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// if conn.has_capability("X-GM-EXT-1") {
    ///     conn.add_labels("INBOX", &[42, 43], &["Work", "\\Important"])?;
    ///     conn.remove_labels("INBOX", &[43], &["\\Inbox"])?; // archive it
    /// }
    /// # Ok(()) }
    /// ```
    pub fn add_labels(&self, folder: &str, uids: impl Into<Uids>, labels: &[&str]) -> Result<()> {
        self.store_labels(folder, uids, StoreAction::Add, labels)
    }

    /// Removes Gmail labels from the messages (`-X-GM-LABELS`); see
    /// [`add_labels`](Self::add_labels) for how labels are written and what is checked.
    /// Removing `\Inbox` archives a message; removing the label of the folder it was
    /// fetched from takes it out of that folder (it stays in `[Gmail]/All Mail`).
    pub fn remove_labels(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        labels: &[&str],
    ) -> Result<()> {
        self.store_labels(folder, uids, StoreAction::Remove, labels)
    }

    /// Replaces the messages' Gmail labels with `labels` (`X-GM-LABELS`; an empty list
    /// removes every label); see [`add_labels`](Self::add_labels).
    pub fn set_labels(&self, folder: &str, uids: impl Into<Uids>, labels: &[&str]) -> Result<()> {
        self.store_labels(folder, uids, StoreAction::Replace, labels)
    }

    fn store_labels(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        action: StoreAction,
        labels: &[&str],
    ) -> Result<()> {
        for label in labels {
            if label.is_empty() || label.contains('\0') {
                return Err(Error::invalid(
                    "Gmail label",
                    format!("{label:?} is empty or holds NUL"),
                ));
            }
        }
        let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        let uids = uids.into();
        let set = uids.set().difference(&SequenceSet::single(0));
        let memory = self.validities();
        self.with(|s| {
            if !s.capabilities().has("X-GM-EXT-1") {
                return Err(no_gmail("Gmail labels"));
            }
            if set.is_empty() {
                return Ok(());
            }
            ensure_acting(s, &memory, folder, uids.validity())?;
            let commands: Vec<Command> = set
                .chunks(MAX_SET_LEN)
                .map(|chunk| Command::StoreGmailLabels {
                    uid: true,
                    set: chunk,
                    action,
                    silent: true,
                    labels: labels.clone(),
                })
                .collect();
            for window in commands.chunks(PIPELINE_WINDOW) {
                let (_, completions) = s.run_pipelined(window)?;
                for c in completions {
                    c.into_result("UID STORE X-GM-LABELS")?;
                }
            }
            Ok(())
        })
    }
}
