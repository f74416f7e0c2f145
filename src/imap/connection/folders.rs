//! `ImapConnection` calls on folders: LIST, STATUS, CREATE / DELETE / RENAME, (UN)SUBSCRIBE, SELECT / EXAMINE.

use super::*;

/// What `STATUS` reported about a folder (fields the server did not send are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FolderStatus {
    /// The folder's name, as given.
    pub name: String,
    /// How many messages it holds.
    pub messages: Option<u32>,
    /// How many are `\Recent`.
    pub recent: Option<u32>,
    /// How many are not `\Seen`.
    pub unseen: Option<u32>,
    /// The UID the next message will get.
    pub uid_next: Option<u32>,
    /// The UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// The highest mod-sequence (CONDSTORE).
    pub highest_modseq: Option<u64>,
}

pub(super) fn to_folder(item: crate::imap::types::ListItem, utf8: bool) -> Folder {
    let name = if utf8 {
        String::from_utf8_lossy(&item.name).into_owned()
    } else {
        utf7::decode(&item.name).unwrap_or_else(|_| utf7::decode_lenient(&item.name))
    };
    Folder::new(name, item.name, item.delimiter, item.attributes)
}

impl ImapConnection {
    /// Every folder, with its kind (SPECIAL-USE, XLIST or well-known names) and whether
    /// the user is subscribed to it.
    ///
    /// An attribute beats a name: a folder gets a kind from its name (`Entwürfe`,
    /// `Gesendet`, …) only when no folder of the listing carries that kind as a
    /// SPECIAL-USE or XLIST attribute. With `Drafts (\Drafts)` and a plain `Entwürfe`, only
    /// `Drafts` is [`FolderKind::Drafts`](crate::imap::FolderKind::Drafts), so
    /// `find(|f| f.kind == FolderKind::Drafts)` returns the folder the server named. Kinds
    /// are settled within one listing: [`list_folders_matching`](Self::list_folders_matching)
    /// with a narrow pattern may not see the attributed folder.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, FolderKind};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let folders = conn.list_folders()?;
    /// let sent = folders.iter().find(|f| f.kind == FolderKind::Sent);
    /// for f in folders.iter().filter(|f| f.subscribed && f.is_selectable()) {
    ///     println!("{} {:?}", f.name, f.kind);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_folders(&self) -> Result<Vec<Folder>> {
        self.list_folders_matching("", "*")
    }

    /// The folders matching `pattern` (`*` any levels, `%` one level) under `reference`.
    pub fn list_folders_matching(&self, reference: &str, pattern: &str) -> Result<Vec<Folder>> {
        self.with(|s| {
            let extended = s.capabilities().has("LIST-EXTENDED");
            let mut returns = ListReturn::new();
            if extended {
                // Without RETURN (CHILDREN) a LIST-EXTENDED server may omit \HasChildren.
                returns = returns.subscribed().children();
                if s.capabilities().has("SPECIAL-USE") {
                    returns = returns.special_use();
                }
            }
            let list = Command::List {
                reference: MailboxName::new(reference),
                pattern: pattern.to_string(),
                returns,
            };
            let c = run_ok(s, &list)?;
            // After ENABLE UTF8=ACCEPT (or on a UTF8=ONLY server) names come back as UTF-8,
            // not modified UTF-7 (RFC 6855 §3).
            let utf8 = s.utf8_accept() || s.capabilities().has("UTF8=ONLY");
            let mut folders: Vec<Folder> = c
                .untagged
                .into_iter()
                .filter_map(|u| match u {
                    Untagged::List(item) => Some(item),
                    _ => None,
                })
                .map(|item| to_folder(item, utf8))
                .collect();
            if !extended {
                let lsub = Command::Lsub {
                    reference: MailboxName::new(reference),
                    pattern: pattern.to_string(),
                };
                let c = run_ok(s, &lsub)?;
                let subscribed: Vec<Vec<u8>> = c
                    .untagged
                    .into_iter()
                    .filter_map(|u| match u {
                        Untagged::Lsub(item) => Some(item.name),
                        _ => None,
                    })
                    .collect();
                for f in &mut folders {
                    f.subscribed = subscribed.contains(&f.raw_name);
                }
            }
            crate::imap::folder::settle_kinds(&mut folders);
            Ok(folders)
        })
    }

    /// `STATUS` of a folder without selecting it.
    pub fn folder_status(&self, folder: &str) -> Result<FolderStatus> {
        self.with(|s| {
            use crate::imap::codec::StatusAttr;
            let mut items = vec![
                StatusAttr::Messages,
                StatusAttr::Recent,
                StatusAttr::UidNext,
                StatusAttr::UidValidity,
                StatusAttr::Unseen,
            ];
            if s.capabilities().has("CONDSTORE") {
                items.push(StatusAttr::HighestModSeq);
            }
            let c = run_on_folder(
                s,
                folder,
                &Command::Status {
                    mailbox: MailboxName::new(folder),
                    items,
                },
            )?;
            let mut status = FolderStatus {
                name: folder.to_string(),
                ..FolderStatus::default()
            };
            for u in c.untagged {
                if let Untagged::MailboxStatus { items, .. } = u {
                    for item in items {
                        match item {
                            StatusData::Messages(n) => status.messages = Some(n),
                            StatusData::Recent(n) => status.recent = Some(n),
                            StatusData::Unseen(n) => status.unseen = Some(n),
                            StatusData::UidNext(n) => status.uid_next = Some(n),
                            StatusData::UidValidity(n) => status.uid_validity = Some(n),
                            StatusData::HighestModSeq(n) => status.highest_modseq = Some(n),
                            _ => {}
                        }
                    }
                }
            }
            Ok(status)
        })
    }

    /// Creates a folder (intermediate levels as the server's rules allow).
    pub fn create_folder(&self, folder: &str) -> Result<()> {
        self.with(|s| run_ok(s, &Command::Create(MailboxName::new(folder))).map(drop))
    }

    /// Deletes a folder.
    ///
    /// When the folder is selected it is left first (some servers refuse to delete the
    /// selected folder) without expunging anything: with `UNSELECT` when the server has
    /// it, else by re-opening it read-only (`EXAMINE`) and closing that, since `CLOSE` of a
    /// read-write folder would remove every `\Deleted` message. So a `DELETE` the server
    /// refuses (`INBOX`, no permission) leaves the folder exactly as it was.
    pub fn delete_folder(&self, folder: &str) -> Result<()> {
        self.with(|s| {
            if s.selected_folder() == Some(folder) {
                s.leave_folder()?;
            }
            run_on_folder(s, folder, &Command::Delete(MailboxName::new(folder))).map(drop)
        })
    }

    /// Renames a folder.
    pub fn rename_folder(&self, from: &str, to: &str) -> Result<()> {
        self.with(|s| {
            s.folder_renamed(from);
            run_on_folder(
                s,
                from,
                &Command::Rename {
                    from: MailboxName::new(from),
                    to: MailboxName::new(to),
                },
            )
            .map(drop)
        })
    }

    /// Subscribes to a folder.
    pub fn subscribe(&self, folder: &str) -> Result<()> {
        self.with(|s| run_ok(s, &Command::Subscribe(MailboxName::new(folder))).map(drop))
    }

    /// Unsubscribes from a folder.
    pub fn unsubscribe(&self, folder: &str) -> Result<()> {
        self.with(|s| run_ok(s, &Command::Unsubscribe(MailboxName::new(folder))).map(drop))
    }

    /// Selects a folder read-write and reports its state. Fails with
    /// [`Error::UidValidityChanged`] (once) when its UIDVALIDITY differs from the one UIDs
    /// were last read under (through this connection, or, for a pooled connection,
    /// through any connection of the pool for the same account).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let inbox = conn.select("INBOX")?;
    /// println!("{} messages, next UID {:?}", inbox.exists, inbox.uid_next);
    /// # Ok(()) }
    /// ```
    pub fn select(&self, folder: &str) -> Result<Mailbox> {
        let memory = self.validities();
        self.with(|s| open_reading(s, &memory, folder, false))
    }

    /// Opens a folder read-only (`EXAMINE`): nothing can change, not even `\Recent`.
    /// Reports a UIDVALIDITY change like [`select`](Self::select).
    pub fn examine(&self, folder: &str) -> Result<Mailbox> {
        let memory = self.validities();
        self.with(|s| open_reading(s, &memory, folder, true))
    }

    /// The UIDVALIDITY of a folder (from `STATUS`, without selecting it).
    pub fn uid_validity(&self, folder: &str) -> Result<u32> {
        self.folder_status(folder)?
            .uid_validity
            .ok_or_else(|| Error::protocol("the server sent no UIDVALIDITY in STATUS", &[], 0))
    }
}
