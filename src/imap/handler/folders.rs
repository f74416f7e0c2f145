//! `ImapHandler` calls on folders beyond `list_folders` / `folder_status`: listing by
//! pattern, listing with status, the folder layout and paths, CREATE / DELETE / RENAME,
//! (UN)SUBSCRIBE, SELECT / EXAMINE; each on a pooled connection for the call.

use super::ImapHandler;
use crate::config::Config;
use crate::error::Result;
use crate::imap::codec::StatusAttr;
use crate::imap::folder::Folder;
use crate::imap::mailbox::Mailbox;
use crate::imap::{FolderKind, FolderLayout, FolderPath, FolderStatus};

impl ImapHandler {
    /// The folders matching `pattern` (`*` any levels, `%` one level) under `reference`
    /// (see [`ImapConnection::list_folders_matching`](crate::imap::ImapConnection::list_folders_matching)).
    pub fn list_folders_matching(
        &self,
        account: &Config,
        reference: &str,
        pattern: &str,
    ) -> Result<Vec<Folder>> {
        self.conn(account)?
            .list_folders_matching(reference, pattern)
    }

    /// Every folder with its `STATUS`, in one `LIST` when the server offers
    /// `LIST-STATUS` (see
    /// [`ImapConnection::list_folders_with_status`](crate::imap::ImapConnection::list_folders_with_status)).
    pub fn list_folders_with_status(
        &self,
        account: &Config,
        items: &[StatusAttr],
    ) -> Result<Vec<(Folder, Option<FolderStatus>)>> {
        self.conn(account)?.list_folders_with_status(items)
    }

    /// How the account's server names nested folders (its personal namespace's prefix and
    /// delimiter; see
    /// [`ImapConnection::folder_layout`](crate::imap::ImapConnection::folder_layout)),
    /// asked once per pooled connection.
    pub fn folder_layout(&self, account: &Config) -> Result<FolderLayout> {
        self.conn(account)?.folder_layout()
    }

    /// The name of the folder `levels` on the account's server (`Projects/2026`, or
    /// `INBOX.Projects.2026`; see
    /// [`ImapConnection::folder_path`](crate::imap::ImapConnection::folder_path)).
    ///
    /// ```no_run
    /// # use mailwire::{Config, imap::ImapHandler};
    /// # fn demo(handler: &ImapHandler, account: &Config) -> mailwire::Result<()> {
    /// let reports = handler.folder_path(account, ["Reports", "2026"])?;
    /// handler.create_folder(account, &reports)?;
    /// # Ok(()) }
    /// ```
    pub fn folder_path<I, S>(&self, account: &Config, levels: I) -> Result<FolderPath>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.conn(account)?.folder_path(levels)
    }

    /// Creates a folder.
    pub fn create_folder(&self, account: &Config, folder: &str) -> Result<()> {
        self.conn(account)?.create_folder(folder)
    }

    /// Creates a folder, giving its permanent id when the server sent one (OBJECTID, see
    /// [`ImapConnection::create_folder_with_id`](crate::imap::ImapConnection::create_folder_with_id)).
    pub fn create_folder_with_id(&self, account: &Config, folder: &str) -> Result<Option<String>> {
        self.conn(account)?.create_folder_with_id(folder)
    }

    /// Creates a folder marked for a special use (`CREATE-SPECIAL-USE`, see
    /// [`ImapConnection::create_special_folder`](crate::imap::ImapConnection::create_special_folder)).
    pub fn create_special_folder(
        &self,
        account: &Config,
        folder: &str,
        kind: FolderKind,
    ) -> Result<()> {
        self.conn(account)?.create_special_folder(folder, kind)
    }

    /// Deletes a folder, leaving it first without expunging when the pooled connection
    /// has it selected (see
    /// [`ImapConnection::delete_folder`](crate::imap::ImapConnection::delete_folder)).
    /// Other pooled connections that have it selected notice at their next call on it.
    pub fn delete_folder(&self, account: &Config, folder: &str) -> Result<()> {
        self.conn(account)?.delete_folder(folder)
    }

    /// Renames a folder.
    pub fn rename_folder(&self, account: &Config, from: &str, to: &str) -> Result<()> {
        self.conn(account)?.rename_folder(from, to)
    }

    /// Subscribes to a folder.
    pub fn subscribe(&self, account: &Config, folder: &str) -> Result<()> {
        self.conn(account)?.subscribe(folder)
    }

    /// Unsubscribes from a folder.
    pub fn unsubscribe(&self, account: &Config, folder: &str) -> Result<()> {
        self.conn(account)?.unsubscribe(folder)
    }

    /// Selects a folder read-write and reports its state (`exists`, `uid_next`, …; see
    /// [`ImapConnection::select`](crate::imap::ImapConnection::select)). The folder stays
    /// selected on the pooled connection, which only saves a later call on it a SELECT.
    pub fn select(&self, account: &Config, folder: &str) -> Result<Mailbox> {
        self.conn(account)?.select(folder)
    }

    /// Opens a folder read-only (`EXAMINE`) and reports its state (see
    /// [`ImapConnection::examine`](crate::imap::ImapConnection::examine)); a later call
    /// that changes something selects it read-write again.
    pub fn examine(&self, account: &Config, folder: &str) -> Result<Mailbox> {
        self.conn(account)?.examine(folder)
    }
}
