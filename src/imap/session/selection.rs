//! The selected state: opening and leaving a folder, the UIDVALIDITY last seen per folder,
//! and the extensions `ENABLE` turned on. The session is the only writer of this state;
//! the handles ask it.

use super::*;
use crate::imap::Mailbox;
use crate::imap::codec::{MailboxName, SelectOptions};

/// A folder just opened: what the server reported, and the untagged responses of its
/// answer (QRESYNC's `VANISHED (EARLIER)` and `FETCH` come there).
pub(crate) struct Opened {
    /// The folder as `SELECT` / `EXAMINE` reported it.
    pub(crate) mailbox: Mailbox,
    /// Every untagged response of the answer, in order.
    pub(crate) answer: Vec<Untagged>,
}

impl Session {
    /// Opens `folder` with `SELECT` (or `EXAMINE` when `read_only`), always sending the
    /// command (QRESYNC parameters take effect only on a fresh one). On success the folder
    /// is the selected one, its UIDVALIDITY is remembered (forgotten when the server sent
    /// none), and the events of the answer are not news (the queue is emptied). A refused
    /// open leaves no folder selected (RFC 3501 §6.3.1).
    pub(crate) fn open_folder(
        &mut self,
        folder: &str,
        options: SelectOptions,
        read_only: bool,
    ) -> Result<Opened> {
        let mailbox = MailboxName::new(folder);
        let command = if read_only {
            Command::Examine { mailbox, options }
        } else {
            Command::Select { mailbox, options }
        };
        self.selected = None;
        let completion = self.run(&command)?;
        let completion = match completion.into_result(if read_only { "EXAMINE" } else { "SELECT" })
        {
            Ok(c) => c,
            Err(e) => {
                if self.state == ConnectionState::Selected {
                    self.state = ConnectionState::Authenticated;
                }
                return Err(e);
            }
        };
        let mailbox = Mailbox::from_answer(
            folder,
            read_only,
            &completion.untagged,
            completion.code.as_ref(),
        );
        self.state = ConnectionState::Selected;
        self.selected = Some((folder.to_string(), mailbox.read_only));
        // Events about the folder as it was opened are not news.
        self.drop_news();
        match mailbox.uid_validity {
            Some(v) => {
                self.uid_validities.insert(folder.to_string(), v);
            }
            None => {
                self.uid_validities.remove(folder);
            }
        }
        self.opened.insert(folder.to_string(), mailbox.clone());
        Ok(Opened {
            mailbox,
            answer: completion.untagged,
        })
    }

    /// Leaves the selected folder without expunging: `UNSELECT`, or, without it, `EXAMINE`
    /// of the same folder (read-only; selecting implicitly closes without expunge, RFC 9051
    /// §6.3.2) then `CLOSE`, which removes nothing from a read-only folder (§6.4.1). A plain
    /// `CLOSE` would expunge every `\Deleted` message. Nothing selected: nothing sent.
    pub(crate) fn leave_folder(&mut self) -> Result<()> {
        if self.capabilities().has("UNSELECT") {
            self.run(&Command::Unselect)?.into_result("UNSELECT")?;
        } else {
            let Some((name, read_only)) = self.selected.clone() else {
                return Ok(());
            };
            // If even EXAMINE fails, no folder is selected any more: nothing to close.
            if !read_only && self.open_folder(&name, SelectOptions::new(), true).is_err() {
                self.left();
                return Ok(());
            }
            if self.selected.as_ref().is_some_and(|(_, ro)| *ro) {
                self.run(&Command::Close)?.into_result("CLOSE")?;
            }
        }
        self.left();
        Ok(())
    }

    /// No folder is selected any more.
    fn left(&mut self) {
        self.selected = None;
        if self.state == ConnectionState::Selected {
            self.state = ConnectionState::Authenticated;
        }
    }

    /// The selected folder, as the caller named it, when one is.
    pub(crate) fn selected_folder(&self) -> Option<&str> {
        self.selected.as_ref().map(|(name, _)| name.as_str())
    }

    /// Whether `folder` is selected read-write (and the connection is in the selected
    /// state): a call that needs it so can skip the `SELECT`.
    pub(crate) fn is_open_writable(&self, folder: &str) -> bool {
        self.state == ConnectionState::Selected
            && self
                .selected
                .as_ref()
                .is_some_and(|(name, read_only)| name == folder && !read_only)
    }

    /// The UIDVALIDITY the server reported when `folder` was last opened on this
    /// connection.
    pub(crate) fn uid_validity(&self, folder: &str) -> Option<u32> {
        self.uid_validities.get(folder).copied()
    }

    /// What the last `SELECT` / `EXAMINE` of `folder` on this connection reported.
    pub(crate) fn opened(&self, folder: &str) -> Option<&Mailbox> {
        self.opened.get(folder)
    }

    /// `folder` was renamed: if it was the selected one, the next call opens by name again.
    pub(crate) fn folder_renamed(&mut self, folder: &str) {
        self.opened.remove(folder);
        if self.selected_folder() == Some(folder) {
            self.selected = None;
        }
    }

    /// `ENABLE` of `extensions` (RFC 5161); returns what the server enabled. The session
    /// applies it: UTF-8 mailbox names after `UTF8=ACCEPT`, `VANISHED` accepted after
    /// `QRESYNC`.
    pub(crate) fn enable(&mut self, extensions: Vec<String>) -> Result<Vec<String>> {
        let c = self
            .run(&Command::Enable(extensions))?
            .into_result("ENABLE")?;
        Ok(c.untagged
            .into_iter()
            .filter_map(|u| match u {
                Untagged::Enabled(v) => Some(v),
                _ => None,
            })
            .flatten()
            .collect())
    }

    /// Applies an `ENABLED` response (RFC 5161 §3.2).
    pub(super) fn note_enabled(&mut self, enabled: &[String]) {
        if enabled
            .iter()
            .any(|e| e.eq_ignore_ascii_case("UTF8=ACCEPT"))
        {
            self.set_utf8_accept(true);
        }
        // From now on the server reports expunges as VANISHED (RFC 7162 §3.2.10), which
        // is accepted only once QRESYNC is enabled.
        if enabled.iter().any(|e| e.eq_ignore_ascii_case("QRESYNC")) {
            self.qresync_enabled = true;
        }
        self.note_imap4rev2(enabled);
    }

    /// Whether `ENABLE QRESYNC` succeeded on this connection.
    pub(crate) fn qresync_enabled(&self) -> bool {
        self.qresync_enabled
    }
}
