//! `ImapConnection` calls on folders: LIST (with LIST-STATUS), STATUS, CREATE (with
//! SPECIAL-USE) / DELETE / RENAME, (UN)SUBSCRIBE, SELECT / EXAMINE, and the folder layout
//! (NAMESPACE, else `LIST "" ""`) that folder paths are built with.

use super::*;
use crate::imap::FolderKind;
use crate::imap::codec::StatusAttr;
use crate::imap::path::{FolderLayout, FolderPath, LayoutSource};
use crate::imap::types::NameAttribute;

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
    /// How many are `\Deleted` (`STATUS DELETED`, asked once IMAP4rev2 is enabled).
    pub deleted: Option<u32>,
    /// The folder's total size in bytes (`STATUS=SIZE`, RFC 8438), when the server
    /// offers it.
    pub size: Option<u64>,
    /// The largest message the folder accepts, in bytes (`APPENDLIMIT`, RFC 7889): the
    /// folder's own `STATUS APPENDLIMIT`, else the server-wide `APPENDLIMIT=n`
    /// capability; `None` when the server states no limit (or `APPENDLIMIT NIL`).
    pub append_limit: Option<u64>,
    /// The folder's permanent id (`MAILBOXID`, RFC 8474 OBJECTID): kept across renames,
    /// never reused for another folder. Asked only of a server that offers `OBJECTID`;
    /// `None` otherwise (Dovecot 2.3).
    pub mailbox_id: Option<String>,
}

impl FolderStatus {
    /// Fills the status from a `STATUS` answer's items; `limit` is the server-wide
    /// `APPENDLIMIT=n`, used when the folder states none.
    fn from_items(name: &str, items: Vec<StatusData>, limit: Option<u64>) -> FolderStatus {
        let mut status = FolderStatus {
            name: name.to_string(),
            append_limit: limit,
            ..FolderStatus::default()
        };
        for item in items {
            match item {
                StatusData::Messages(n) => status.messages = Some(n),
                StatusData::Recent(n) => status.recent = Some(n),
                StatusData::Unseen(n) => status.unseen = Some(n),
                StatusData::UidNext(n) => status.uid_next = Some(n),
                StatusData::UidValidity(n) => status.uid_validity = Some(n),
                StatusData::HighestModSeq(n) => status.highest_modseq = Some(n),
                StatusData::Size(n) => status.size = Some(n),
                StatusData::Deleted(n) => status.deleted = Some(n),
                // NIL: this folder has no limit, whatever the server-wide one says.
                StatusData::AppendLimit(n) => status.append_limit = n,
                StatusData::MailboxId(id) => status.mailbox_id = Some(id),
                _ => {}
            }
        }
        status
    }
}

/// The RFC 6154 attribute that marks a folder of `kind`; `None` for no special use.
fn special_use_of(kind: FolderKind) -> Option<NameAttribute> {
    Some(match kind {
        FolderKind::Sent => NameAttribute::Sent,
        FolderKind::Drafts => NameAttribute::Drafts,
        FolderKind::Trash => NameAttribute::Trash,
        FolderKind::Junk => NameAttribute::Junk,
        FolderKind::Archive => NameAttribute::Archive,
        FolderKind::All => NameAttribute::All,
        FolderKind::Flagged => NameAttribute::Flagged,
        _ => return None,
    })
}

/// Whether the server refused a command with `NO` (the session is fine).
fn is_refused(e: &Error) -> bool {
    matches!(
        e,
        Error::Server {
            status: crate::error::ServerStatus::No,
            ..
        }
    )
}

/// The server-wide limit of `APPENDLIMIT=n` (RFC 7889), when announced with a value.
pub(super) fn append_limit_capability(caps: &Capabilities) -> Option<u64> {
    caps.iter()
        .filter_map(|c| c.strip_prefix("APPENDLIMIT="))
        .find_map(|n| n.parse::<u64>().ok())
}

/// Whether the server has `APPENDLIMIT` (with or without a value).
fn has_append_limit(caps: &Capabilities) -> bool {
    caps.iter()
        .any(|c| c == "APPENDLIMIT" || c.starts_with("APPENDLIMIT="))
}

/// The STATUS items [`ImapConnection::folder_status`] asks for on this server: the
/// five of RFC 3501, then HIGHESTMODSEQ, SIZE, APPENDLIMIT and MAILBOXID where offered;
/// once IMAP4rev2 is enabled (`rev2`) DELETED in place of RECENT, which RFC 9051 removed.
fn default_status_items(caps: &Capabilities, rev2: bool) -> Vec<StatusAttr> {
    let mut items = vec![
        StatusAttr::Messages,
        if rev2 {
            StatusAttr::Deleted
        } else {
            StatusAttr::Recent
        },
        StatusAttr::UidNext,
        StatusAttr::UidValidity,
        StatusAttr::Unseen,
    ];
    if caps.has("CONDSTORE") {
        items.push(StatusAttr::HighestModSeq);
    }
    if caps.has("STATUS=SIZE") {
        items.push(StatusAttr::Size);
    }
    if has_append_limit(caps) {
        items.push(StatusAttr::AppendLimit);
    }
    if caps.has("OBJECTID") {
        items.push(StatusAttr::MailboxId);
    }
    items
}

/// What one LIST (possibly with `RETURN (STATUS ...)`) produced: the folders and the
/// STATUS answers by raw mailbox name.
struct Listing {
    folders: Vec<Folder>,
    statuses: Vec<(Vec<u8>, Vec<StatusData>)>,
}

/// LIST (plus LSUB on a server without LIST-EXTENDED); with `status` not empty, asks
/// `RETURN (STATUS (...))` (the caller checked LIST-STATUS).
fn list_in(
    s: &mut Session,
    reference: &str,
    pattern: &str,
    status: &[StatusAttr],
) -> Result<Listing> {
    let extended = s.capabilities().has("LIST-EXTENDED");
    let mut returns = ListReturn::new();
    if extended {
        // Without RETURN (CHILDREN) a LIST-EXTENDED server may omit \HasChildren.
        returns = returns.subscribed().children();
        if s.capabilities().has("SPECIAL-USE") {
            returns = returns.special_use();
        }
    }
    if !status.is_empty() {
        returns = returns.status(status.iter().copied());
    }
    let list = Command::List {
        reference: MailboxName::new(reference),
        pattern: pattern.to_string(),
        returns,
    };
    let c = run_ok(s, &list)?;
    let utf8 = names_are_utf8(s);
    let mut folders = Vec::new();
    let mut statuses = Vec::new();
    for u in c.untagged {
        match u {
            Untagged::List(item) => folders.push(to_folder(item, utf8)),
            Untagged::MailboxStatus { mailbox, items } => statuses.push((mailbox, items)),
            _ => {}
        }
    }
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
    Ok(Listing { folders, statuses })
}

/// One `STATUS` of `folder`, asking `items`; the answer's items.
fn status_in(s: &mut Session, folder: &str, items: Vec<StatusAttr>) -> Result<Vec<StatusData>> {
    let c = run_on_folder(
        s,
        folder,
        &Command::Status {
            mailbox: MailboxName::new(folder),
            items,
        },
    )?;
    Ok(c.untagged
        .into_iter()
        .filter_map(|u| match u {
            Untagged::MailboxStatus { items, .. } => Some(items),
            _ => None,
        })
        .flatten()
        .collect())
}

/// Whether the server sends names as UTF-8: after ENABLE UTF8=ACCEPT (or on a UTF8=ONLY
/// server) names come back as UTF-8, not modified UTF-7 (RFC 6855 §3).
fn names_are_utf8(s: &Session) -> bool {
    s.utf8_accept() || s.capabilities().has("UTF8=ONLY")
}

/// A name as the server sent it, decoded.
fn decode_name(raw: &[u8], utf8: bool) -> String {
    if utf8 {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        utf7::decode(raw).unwrap_or_else(|_| utf7::decode_lenient(raw))
    }
}

pub(super) fn to_folder(item: crate::imap::types::ListItem, utf8: bool) -> Folder {
    let name = decode_name(&item.name, utf8);
    Folder::new(name, item.name, item.delimiter, item.attributes)
}

/// The personal namespace's layout: the first personal entry of `NAMESPACE` when the
/// server offers it and names one, else the delimiter of `LIST "" ""` with an empty
/// prefix. A layout that cannot work (a delimiter that is no punctuation, a prefix past
/// `FolderLayout::MAX_PREFIX`) is `Error::Protocol`.
fn layout_in(s: &mut Session) -> Result<FolderLayout> {
    let utf8 = names_are_utf8(s);
    if s.capabilities().has("NAMESPACE") {
        let c = run_ok(s, &Command::Namespace)?;
        let personal = c.untagged.into_iter().find_map(|u| match u {
            Untagged::Namespace { personal, .. } => Some(personal),
            _ => None,
        });
        if let Some(entry) = personal.and_then(|p| p.into_iter().next()) {
            let prefix = decode_name(&entry.prefix, utf8);
            return FolderLayout::announced(prefix, entry.delimiter, LayoutSource::Namespace)
                .map_err(|e| broken(s, e));
        }
        log::debug!(target: "mailwire::imap", "[{}] NAMESPACE names no personal namespace; asking LIST \"\" \"\" for the delimiter", s.id());
    }
    let list = Command::List {
        reference: MailboxName::new(""),
        pattern: String::new(),
        returns: ListReturn::new(),
    };
    let c = run_ok(s, &list)?;
    let delimiter = c.untagged.into_iter().find_map(|u| match u {
        Untagged::List(item) => Some(item.delimiter),
        _ => None,
    });
    let Some(delimiter) = delimiter else {
        let e = Error::protocol(
            "the server answered LIST \"\" \"\" without a LIST line, so its hierarchy delimiter is unknown",
            &[],
            0,
        );
        return Err(broken(s, e));
    };
    FolderLayout::announced(String::new(), delimiter, LayoutSource::List).map_err(|e| broken(s, e))
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
        self.with(|s| list_in(s, reference, pattern, &[]).map(|l| l.folders))
    }

    /// Every folder with its `STATUS` in as few round trips as the server allows: one
    /// `LIST "" * RETURN (STATUS (...))` when it offers `LIST-STATUS` (RFC 5819), else
    /// the listing of [`list_folders`](Self::list_folders) and one `STATUS` per
    /// selectable folder (documented in docs/imap.md's "Server extensions").
    ///
    /// `items` are the STATUS attributes to ask; empty asks what
    /// [`folder_status`](Self::folder_status) asks on this server. The status is `None`
    /// for a folder that cannot be selected (`\Noselect`, `\NonExistent`) and for one the
    /// server gave no status for (with LIST-STATUS a server omits a folder whose STATUS
    /// fails; in the fallback a `NO` to one folder's STATUS, e.g. deleted meanwhile,
    /// leaves that folder without a status and the others as they are). The answers are
    /// the ones separate `STATUS` calls give, and
    /// [`FolderStatus::append_limit`] falls back to the server's `APPENDLIMIT=n` alike.
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// use mailwire::imap::codec::StatusAttr;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// for (folder, status) in conn.list_folders_with_status(&[StatusAttr::Messages, StatusAttr::Unseen])? {
    ///     if let Some(st) = status {
    ///         println!("{}: {:?} messages, {:?} unseen", folder.name, st.messages, st.unseen);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_folders_with_status(
        &self,
        items: &[StatusAttr],
    ) -> Result<Vec<(Folder, Option<FolderStatus>)>> {
        self.with(|s| {
            let items = if items.is_empty() {
                default_status_items(s.capabilities(), s.imap4rev2())
            } else {
                items.to_vec()
            };
            let limit = append_limit_capability(s.capabilities());
            if s.capabilities().has("LIST-STATUS") {
                let listing = list_in(s, "", "*", &items)?;
                // By name: one lookup a folder, however many the account has (the first
                // answer for a name counts).
                let mut by_name: std::collections::HashMap<Vec<u8>, Vec<StatusData>> =
                    std::collections::HashMap::with_capacity(listing.statuses.len());
                for (name, st) in listing.statuses {
                    by_name.entry(name).or_insert(st);
                }
                let mut out = Vec::with_capacity(listing.folders.len());
                for folder in listing.folders {
                    let status = by_name
                        .remove(&folder.raw_name)
                        .filter(|_| folder.is_selectable())
                        .map(|st| FolderStatus::from_items(&folder.name, st, limit));
                    out.push((folder, status));
                }
                return Ok(out);
            }
            let folders = list_in(s, "", "*", &[])?.folders;
            let mut out = Vec::with_capacity(folders.len());
            for folder in folders {
                let status = if folder.is_selectable() {
                    match status_in(s, &folder.name, items.clone()) {
                        Ok(st) => Some(FolderStatus::from_items(&folder.name, st, limit)),
                        Err(e) if e.is_missing_folder() || is_refused(&e) => None,
                        Err(e) => return Err(e),
                    }
                } else {
                    None
                };
                out.push((folder, status));
            }
            Ok(out)
        })
    }

    /// `STATUS` of a folder without selecting it.
    pub fn folder_status(&self, folder: &str) -> Result<FolderStatus> {
        self.with(|s| {
            let items = default_status_items(s.capabilities(), s.imap4rev2());
            let limit = append_limit_capability(s.capabilities());
            let answer = status_in(s, folder, items)?;
            Ok(FolderStatus::from_items(folder, answer, limit))
        })
    }

    /// Creates a folder (intermediate levels as the server's rules allow).
    pub fn create_folder(&self, folder: &str) -> Result<()> {
        self.create_folder_with_id(folder).map(drop)
    }

    /// [`create_folder`](Self::create_folder), giving the new folder's permanent id when
    /// the server sent one (`[MAILBOXID (...)]` on the OK, RFC 8474 OBJECTID); `None` from
    /// a server without `OBJECTID` (Dovecot 2.3). Costs nothing more than the `CREATE`.
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// if let Some(id) = conn.create_folder_with_id("Projects")? {
    ///     println!("Projects is {id} for good, whatever it is renamed to");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn create_folder_with_id(&self, folder: &str) -> Result<Option<String>> {
        self.with(|s| {
            let c = run_ok(s, &Command::Create(MailboxName::new(folder)))?;
            Ok(match c.code {
                Some(ResponseCode::MailboxId(id)) => Some(id),
                _ => None,
            })
        })
    }

    /// Creates a folder marked for a special use (`CREATE name (USE (\Sent))`, RFC 6154),
    /// so other clients find it as the Sent (Drafts, Trash, …) folder.
    ///
    /// Needs `CREATE-SPECIAL-USE` (Dovecot 2.3 lacks it; its special uses come from its
    /// configuration): without it the call fails with [`Error::InvalidInput`] naming the
    /// capability, before anything is sent, and so does a kind that is no special use
    /// ([`FolderKind::Inbox`](crate::imap::FolderKind::Inbox),
    /// [`FolderKind::Other`](crate::imap::FolderKind::Other)). A server that cannot give
    /// the folder that use answers `NO [USEATTR]` ([`Error::Server`] with that code).
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, FolderKind};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// if conn.has_capability("CREATE-SPECIAL-USE") {
    ///     conn.create_special_folder("Outbox", FolderKind::Sent)?;
    /// } else {
    ///     conn.create_folder("Outbox")?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn create_special_folder(&self, folder: &str, kind: FolderKind) -> Result<()> {
        let Some(attribute) = special_use_of(kind) else {
            return Err(Error::invalid(
                "create_special_folder",
                format!(
                    "{kind} is no special use (RFC 6154 names sent, drafts, trash, junk, archive, all and flagged)"
                ),
            ));
        };
        self.with(|s| {
            if !s.capabilities().has("CREATE-SPECIAL-USE") {
                return Err(Error::invalid(
                    "create_special_folder",
                    "the server does not offer CREATE-SPECIAL-USE (RFC 6154); use create_folder (the server may mark folders by its own configuration)",
                ));
            }
            let command = Command::CreateSpecialUse {
                mailbox: MailboxName::new(folder),
                uses: vec![attribute],
            };
            run_ok(s, &command).map(drop)
        })
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

    /// How this server names nested folders: its personal namespace's prefix and
    /// hierarchy delimiter, from `NAMESPACE` (RFC 2342) when it offers it, else from
    /// `LIST "" ""` with an empty prefix ([`FolderLayout::source`] says which). Asked once
    /// per connection; later calls answer from memory.
    ///
    /// A layout that cannot work (a delimiter that is no ASCII punctuation, a prefix longer
    /// than [`FolderLayout::MAX_PREFIX`]) is [`Error::Protocol`]; `NIL` as the delimiter is
    /// a flat namespace (one level only).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let layout = conn.folder_layout()?;
    /// for f in conn.list_folders()? {
    ///     // `INBOX.Projects.2026` and `Projects/2026` both show as "Projects › 2026".
    ///     println!("{}", layout.components(&f.name).join(" › "));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn folder_layout(&self) -> Result<FolderLayout> {
        if let Some(layout) = self.layout.lock().clone() {
            return Ok(layout);
        }
        let layout = self.with(layout_in)?;
        log::debug!(target: "mailwire::imap", "[{}] folder layout from {}: prefix {:?}, delimiter {:?}", self.id, layout.source(), layout.prefix(), layout.delimiter());
        *self.layout.lock() = Some(layout.clone());
        Ok(layout)
    }

    /// The name of the folder `levels` on this server:
    /// [`folder_layout`](Self::folder_layout)`()?.`[`path(levels)`](FolderLayout::path)
    /// (`["Projects", "2026"]` → `Projects/2026`, or `INBOX.Projects.2026` on a server
    /// whose personal namespace is `INBOX.`). A level holding the delimiter is
    /// [`Error::InvalidInput`], never split.
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let year = conn.folder_path(["Projects", "2026"])?;
    /// conn.create_folder(&year)?;
    /// conn.append(&year, b"Subject: plan\r\n\r\nHello\r\n", &[], None)?;
    /// conn.delete_folder(&year)?;
    /// # Ok(()) }
    /// ```
    pub fn folder_path<I, S>(&self, levels: I) -> Result<FolderPath>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.folder_layout()?.path(levels)
    }

    /// The UIDVALIDITY of a folder (from `STATUS`, without selecting it).
    pub fn uid_validity(&self, folder: &str) -> Result<u32> {
        self.folder_status(folder)?
            .uid_validity
            .ok_or_else(|| Error::protocol("the server sent no UIDVALIDITY in STATUS", &[], 0))
    }
}
