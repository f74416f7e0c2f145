//! `ImapConnection`: the blocking IMAP client, safe to share between threads.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::ops::RangeInclusive;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::config::{Config, Limits};
use crate::error::{Error, Result};
use crate::imap::codec::encode::{
    self, Command, FetchItem, InternalDate, ListReturn, Mailbox as WireMailbox, Partial, RawArg,
    Section, SelectOptions, StoreAction,
};
use crate::imap::codec::parse::{FetchParts, parse_fetch};
use crate::imap::codec::utf7;
use crate::imap::folder::Folder;
use crate::imap::meta;
use crate::imap::search::SearchQuery;
use crate::imap::seqset::{SeqNumber, SequenceSet};
use crate::imap::session::{Capabilities, Completion, ConnectionState, Offer, Session, Take};
use crate::imap::types::{
    EsearchItem, FetchItem as Item, Flag, NamespaceEntry, QuotaResource, ResponseCode, StatusItem,
    Untagged,
};
use crate::imap::uids::{Uid, Uids};
use crate::imap::validity::ValidityMemory;
use crate::message::{Message, MessageMeta};

/// The longest UID set put in one command; longer sets are split into several commands,
/// pipelined.
const MAX_SET_LEN: usize = 4000;
/// How many commands one pipelined batch sends before reading the answers.
const PIPELINE_WINDOW: usize = 32;

/// What `SELECT` / `EXAMINE` reported about a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mailbox {
    /// The folder's name, as given.
    pub name: String,
    /// How many messages it holds.
    pub exists: u32,
    /// How many are `\Recent`.
    pub recent: u32,
    /// The sequence number of the first unseen message, if the server said.
    pub first_unseen: Option<u32>,
    /// The UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// The UID the next message will get.
    pub uid_next: Option<u32>,
    /// The highest mod-sequence (CONDSTORE), if the server keeps them.
    pub highest_modseq: Option<u64>,
    /// The flags defined in the folder.
    pub flags: Vec<Flag>,
    /// The flags the client may change permanently (`MayCreate` means new keywords).
    pub permanent_flags: Vec<Flag>,
    /// Whether the folder was opened read-only.
    pub read_only: bool,
}

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

/// What to fetch for each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FetchWhat {
    /// Flags, size, internal date, envelope and body structure; no content.
    #[default]
    Metadata,
    /// The whole message (`BODY.PEEK[]`: does not set `\Seen`) and the flags, size and
    /// internal date.
    Full,
    /// The header block only (`BODY.PEEK[HEADER]`), with flags, size and internal date.
    Headers,
}

/// The UIDs a COPY or MOVE gave the messages in the target folder (UIDPLUS).
///
/// Kept as runs of consecutive UIDs (`source..source+len` became `target..target+len`), so
/// its memory is bounded by the ranges of the server's `[COPYUID]`, never by how many
/// messages they cover. Only pairs whose source UID was among the UIDs asked for are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyUids {
    /// The target folder's UIDVALIDITY.
    pub uid_validity: u32,
    /// (first source UID, first target UID, count) per run, in the server's order.
    runs: Vec<(u32, u32, u32)>,
}

impl CopyUids {
    /// Every (source UID, target UID) pair, in the server's order (lazily).
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs
            .iter()
            .flat_map(|&(src, dst, count)| (0..count).map(move |i| (src + i, dst + i)))
    }

    /// The target UID of the message that had `source` in the source folder.
    pub fn target_of(&self, source: u32) -> Option<u32> {
        self.runs.iter().find_map(|&(src, dst, count)| {
            let offset = source.checked_sub(src)?;
            (offset < count).then(|| dst + offset)
        })
    }

    /// The messages' UIDs in the target folder, with its UIDVALIDITY (ready to pass to a
    /// call on the target folder).
    pub fn target_uids(&self) -> Uids {
        let set = SequenceSet::from_ranges(
            self.runs
                .iter()
                .map(|&(_, dst, count)| dst..=dst + (count - 1)),
        );
        Uids::with_validity(self.uid_validity, set)
    }

    /// How many messages the mapping covers.
    pub fn len(&self) -> u64 {
        self.runs
            .iter()
            .map(|&(_, _, count)| u64::from(count))
            .sum()
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// The UID an APPEND gave the new message (UIDPLUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendUid {
    /// The folder's UIDVALIDITY.
    pub uid_validity: u32,
    /// The new message's UID.
    pub uid: u32,
}

/// The personal, other users' and shared namespaces (RFC 2342).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Namespaces {
    /// The user's own folders.
    pub personal: Vec<NamespaceEntry>,
    /// Other users' folders.
    pub other: Vec<NamespaceEntry>,
    /// Shared folders.
    pub shared: Vec<NamespaceEntry>,
}

/// One quota root and its resources (RFC 9208).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// The quota root's name.
    pub root: String,
    /// Usage and limit per resource (`STORAGE` in KiB, `MESSAGE` in messages).
    pub resources: Vec<QuotaResource>,
}

/// A blocking IMAP client connection.
///
/// `Send + Sync`: methods take `&self` and serialise on an internal lock, so one connection
/// can be shared between threads. Every folder-scoped method names its folder and selects
/// it under the same lock, so two threads can never act on each other's folder. Reading
/// mail never sets `\Seen` (fetches use `BODY.PEEK`).
///
/// ```no_run
/// use mailwire::Config;
/// use mailwire::imap::{ImapConnection, search::SearchQuery};
///
/// let config = Config::builder("imap.example.com").login("alice", "app-password").build()?;
/// let conn = ImapConnection::connect(&config)?;
/// for folder in conn.list_folders()? {
///     println!("{} ({})", folder.name, folder.kind);
/// }
/// let unseen = conn.search("INBOX", &SearchQuery::unseen())?;
/// for message in conn.fetch_messages("INBOX", &unseen)? {
///     println!("{:?}: {:?}", message.uid(), message.subject());
/// }
/// conn.logout();
/// # Ok::<(), mailwire::Error>(())
/// ```
pub struct ImapConnection {
    pub(super) session: Mutex<Session>,
    id: String,
    /// The limits of the config it was built from (bounds on what the server sends).
    limits: Limits,
    /// The UIDVALIDITY per folder under which UIDs were last read: private to this
    /// connection, or shared by an account's pooled connections.
    memory: Mutex<Arc<ValidityMemory>>,
}

impl fmt::Debug for ImapConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ImapConnection");
        d.field("id", &self.id);
        match self.session.try_lock() {
            Some(s) => d.field("session", &*s),
            None => d.field("session", &"<in use>"),
        };
        d.finish()
    }
}

impl ImapConnection {
    /// Connects, secures the connection as configured (TLS or STARTTLS, never falling back to
    /// plaintext), and logs in with the configured credentials. Transient failures (network,
    /// timeouts, `BYE`, `[UNAVAILABLE]`) are retried per the config's retry policy; a
    /// rejected login is returned at once as [`Error::Auth`].
    ///
    /// ```no_run
    /// use mailwire::{Config, Error, Security};
    /// use mailwire::imap::ImapConnection;
    ///
    /// let config = Config::builder("imap.example.com")
    ///     .security(Security::StartTls)
    ///     .login("alice@example.com", "app-password")
    ///     .build()?;
    /// match ImapConnection::connect(&config) {
    ///     Ok(conn) => println!("connected, TLS: {}", conn.is_tls()),
    ///     Err(Error::Auth { text, .. }) => eprintln!("wrong credentials: {text}"),
    ///     Err(e) => eprintln!("cannot connect: {e}"),
    /// }
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn connect(config: &Config) -> Result<ImapConnection> {
        Session::connect(config).map(ImapConnection::from_session)
    }

    /// Wraps a session that is already logged in (or not: the fuzzing entry points).
    pub(crate) fn from_session(session: Session) -> ImapConnection {
        let id = session.id().to_string();
        let limits = session.limits();
        ImapConnection {
            session: Mutex::new(session),
            id,
            limits,
            memory: Mutex::new(Arc::default()),
        }
    }

    /// Makes the connection use `memory` (the pool's memory of its account) for the
    /// UIDVALIDITY checks, keeping what it learnt on its own.
    pub(crate) fn share_validities(&self, memory: Arc<ValidityMemory>) {
        let mut current = self.memory.lock();
        if !Arc::ptr_eq(&current, &memory) {
            memory.absorb(&current);
            *current = memory;
        }
    }

    /// The memory the UIDVALIDITY checks use.
    pub(super) fn validities(&self) -> Arc<ValidityMemory> {
        Arc::clone(&self.memory.lock())
    }

    /// The limits of the config the connection was built from.
    pub(super) fn limits(&self) -> Limits {
        self.limits
    }

    /// The connection id that prefixes this connection's log lines (`imap#3`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the connection is in the IMAP state machine.
    pub fn state(&self) -> ConnectionState {
        self.session.lock().state()
    }

    /// Whether the connection is unusable (a transport or protocol error, or logged out).
    pub fn is_broken(&self) -> bool {
        self.session.lock().is_broken()
    }

    /// Whether the connection should not be reused: broken, logged out, or the server
    /// closed it or sent something unasked while it sat idle. Does not wait for the
    /// network; used by the pool before handing out an idle connection.
    pub fn is_stale(&self) -> bool {
        self.session.lock().is_stale()
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.session.lock().is_tls()
    }

    /// The server's capabilities (as refreshed after STARTTLS and after login).
    pub fn capabilities(&self) -> Capabilities {
        self.session.lock().capabilities().clone()
    }

    /// Whether the server announced `capability` (case-insensitive).
    pub fn has_capability(&self, capability: &str) -> bool {
        self.session.lock().capabilities().has(capability)
    }

    /// The most bytes the response buffer has held at once: how much memory responses
    /// took (a streamed message does not pass through it).
    pub fn peak_buffered_bytes(&self) -> usize {
        self.session.lock().peak_buffered()
    }

    /// How many bytes this connection has read from the server since it was opened (the
    /// protocol bytes after TLS decryption, greeting included): a diagnostic for comparing
    /// what operations cost on the wire, e.g. the sync strategies.
    pub fn bytes_received(&self) -> u64 {
        self.session.lock().bytes_received()
    }

    /// Takes the responses the server sent unasked (new messages, expunges, flag changes by
    /// other clients) since the last call.
    pub fn take_unsolicited(&self) -> Vec<Untagged> {
        self.session.lock().take_unsolicited()
    }

    /// Holds the connection's lock for several calls in a row (no other thread's command
    /// can run in between).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let mut guard = conn.lock();
    /// let mailbox = guard.select("INBOX")?;
    /// let untagged = guard.run(&mailwire::imap::codec::encode::Command::Noop)?;
    /// drop(guard); // other threads may use the connection again
    /// # Ok(()) }
    /// ```
    pub fn lock(&self) -> ImapGuard<'_> {
        let memory = self.validities();
        ImapGuard {
            session: self.session.lock(),
            memory,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut session = self.session.lock();
        f(&mut session)
    }

    // ---- any state ---------------------------------------------------------------------

    /// Sends `NOOP`: keeps the connection alive and collects pending updates.
    pub fn noop(&self) -> Result<()> {
        self.with(|s| run_ok(s, &Command::Noop).map(drop))
    }

    /// Logs out and closes the connection. Errors are ignored: the connection is closed
    /// either way.
    pub fn logout(&self) {
        self.session.lock().logout();
    }

    /// `NAMESPACE` (RFC 2342).
    pub fn namespace(&self) -> Result<Namespaces> {
        self.with(|s| {
            let c = run_ok(s, &Command::Namespace)?;
            let mut ns = Namespaces::default();
            for u in c.untagged {
                if let Untagged::Namespace {
                    personal,
                    other,
                    shared,
                } = u
                {
                    ns = Namespaces {
                        personal,
                        other,
                        shared,
                    };
                }
            }
            Ok(ns)
        })
    }

    /// `ID` (RFC 2971): sends the client's fields and returns the server's.
    pub fn id_exchange(&self, fields: &[(&str, &str)]) -> Result<Vec<(String, Option<String>)>> {
        let fields = fields
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        self.with(|s| {
            let c = run_ok(s, &Command::Id(fields))?;
            Ok(c.untagged
                .into_iter()
                .find_map(|u| match u {
                    Untagged::Id(v) => Some(v),
                    _ => None,
                })
                .unwrap_or_default())
        })
    }

    /// `ENABLE` (RFC 5161): returns the capabilities the server enabled. Enabling
    /// `UTF8=ACCEPT` makes mailbox names go out as UTF-8; enabling `QRESYNC` makes the
    /// connection accept `VANISHED` (refused before: no server may send it then).
    pub fn enable(&self, capabilities: &[&str]) -> Result<Vec<String>> {
        let caps = capabilities.iter().map(|c| c.to_string()).collect();
        self.with(|s| {
            let c = run_ok(s, &Command::Enable(caps))?;
            let enabled: Vec<String> = c
                .untagged
                .into_iter()
                .filter_map(|u| match u {
                    Untagged::Enabled(v) => Some(v),
                    _ => None,
                })
                .flatten()
                .collect();
            if enabled
                .iter()
                .any(|e| e.eq_ignore_ascii_case("UTF8=ACCEPT"))
            {
                s.set_utf8_accept(true);
            }
            // From now on the server reports expunges as VANISHED (RFC 7162 §3.2.10),
            // which is accepted only once QRESYNC is enabled.
            if enabled.iter().any(|e| e.eq_ignore_ascii_case("QRESYNC")) {
                s.qresync_enabled = true;
            }
            Ok(enabled)
        })
    }

    /// The quota roots of `folder` and their usage (`GETQUOTAROOT`, RFC 9208).
    pub fn quota(&self, folder: &str) -> Result<Vec<Quota>> {
        self.with(|s| {
            let c = run_ok(s, &Command::GetQuotaRoot(WireMailbox::new(folder)))?;
            Ok(c.untagged
                .into_iter()
                .filter_map(|u| match u {
                    Untagged::Quota { root, resources } => Some(Quota {
                        root: String::from_utf8_lossy(&root).into_owned(),
                        resources,
                    }),
                    _ => None,
                })
                .collect())
        })
    }

    /// The escape hatch for extensions mailwire does not model: sends `name args…` (every
    /// argument still checked and encoded) and returns the untagged responses. A `NO` or
    /// `BAD` is an error.
    pub fn raw_command(&self, name: &str, args: Vec<RawArg>) -> Result<Vec<Untagged>> {
        let command = Command::raw_extension(name, args);
        self.with(|s| run_ok(s, &command).map(|c| c.untagged))
    }

    // ---- folders -----------------------------------------------------------------------

    /// Every folder, with its kind (SPECIAL-USE, XLIST or well-known names) and whether
    /// the user is subscribed to it.
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
                reference: WireMailbox::new(reference),
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
                    reference: WireMailbox::new(reference),
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
            Ok(folders)
        })
    }

    /// `STATUS` of a folder without selecting it.
    pub fn folder_status(&self, folder: &str) -> Result<FolderStatus> {
        self.with(|s| {
            use encode::StatusItem as S;
            let mut items = vec![
                S::Messages,
                S::Recent,
                S::UidNext,
                S::UidValidity,
                S::Unseen,
            ];
            if s.capabilities().has("CONDSTORE") {
                items.push(S::HighestModSeq);
            }
            let c = run_ok(
                s,
                &Command::Status {
                    mailbox: WireMailbox::new(folder),
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
                            StatusItem::Messages(n) => status.messages = Some(n),
                            StatusItem::Recent(n) => status.recent = Some(n),
                            StatusItem::Unseen(n) => status.unseen = Some(n),
                            StatusItem::UidNext(n) => status.uid_next = Some(n),
                            StatusItem::UidValidity(n) => status.uid_validity = Some(n),
                            StatusItem::HighestModSeq(n) => status.highest_modseq = Some(n),
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
        self.with(|s| run_ok(s, &Command::Create(WireMailbox::new(folder))).map(drop))
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
            if s.selected.as_ref().is_some_and(|(name, _)| name == folder) {
                leave_without_expunge(s)?;
            }
            run_ok(s, &Command::Delete(WireMailbox::new(folder))).map(drop)
        })
    }

    /// Renames a folder.
    pub fn rename_folder(&self, from: &str, to: &str) -> Result<()> {
        self.with(|s| {
            if s.selected.as_ref().is_some_and(|(name, _)| name == from) {
                s.selected = None;
            }
            run_ok(
                s,
                &Command::Rename {
                    from: WireMailbox::new(from),
                    to: WireMailbox::new(to),
                },
            )
            .map(drop)
        })
    }

    /// Subscribes to a folder.
    pub fn subscribe(&self, folder: &str) -> Result<()> {
        self.with(|s| run_ok(s, &Command::Subscribe(WireMailbox::new(folder))).map(drop))
    }

    /// Unsubscribes from a folder.
    pub fn unsubscribe(&self, folder: &str) -> Result<()> {
        self.with(|s| run_ok(s, &Command::Unsubscribe(WireMailbox::new(folder))).map(drop))
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

    // ---- search and fetch ---------------------------------------------------------------

    /// The UIDs of the messages in `folder` matching `query`, with the folder's UIDVALIDITY
    /// (pass them to any UID-taking call: it refuses to act if the folder was recreated
    /// since). Non-ASCII text is sent with `CHARSET UTF-8`.
    ///
    /// The answer is held as ranges (a server claiming `1:4294967295` costs one range, not
    /// 16 GiB), limited to [`Limits::max_set_ranges`](crate::Limits::max_set_ranges) ranges
    /// ([`Error::LimitExceeded`], the connection is dropped), and clipped to what can
    /// match: UIDs from 1 on, within the query's own `UID` bounds when it has some. Fails
    /// once with [`Error::UidValidityChanged`] when the folder's UIDVALIDITY changed since
    /// UIDs were last read from it.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery, search::ImapDate};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let query = SearchQuery::unseen()
    ///     .and(SearchQuery::since(ImapDate::new(2024, 5, 1)?))
    ///     .and(SearchQuery::from("boss@example.com").or(SearchQuery::subject("Grüße")));
    /// let uids = conn.search("INBOX", &query)?;
    /// # Ok(()) }
    /// ```
    pub fn search(&self, folder: &str, query: &SearchQuery) -> Result<Uids> {
        let memory = self.validities();
        let max_ranges = self.limits.max_set_ranges;
        self.with(|s| {
            let validity = ensure_selected(s, folder)?;
            memory.read(folder, validity)?;
            let c = run_ok(s, &Command::uid_search(query.clone()))?;
            let found = match search_answer(&c.untagged, max_ranges) {
                Ok(found) => found,
                Err(e) => return Err(broken(s, e)),
            };
            let mut clip = SequenceSet::range(1, u32::MAX);
            if let Some(bound) = query.uid_bound() {
                clip = clip.intersection(&bound);
            }
            let set = found.intersection(&clip);
            Ok(match validity {
                Some(v) => Uids::with_validity(v, set),
                None => Uids::from(set),
            })
        })
    }

    /// Fetches the messages with these UIDs (whole content, flags, size, internal date), in
    /// ascending UID order; UIDs that do not exist are skipped. Many UIDs are fetched with
    /// a few pipelined commands, not one round trip each. Does not set `\Seen`.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let uids = conn.search("INBOX", &SearchQuery::unseen())?;
    /// for m in conn.fetch_messages("INBOX", &uids)? {
    ///     println!("{:?} {:?}", m.subject(), m.text_body());
    ///     for a in m.attachments() {
    ///         println!("  {:?} {} bytes", a.filename(), a.size());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_messages(&self, folder: &str, uids: impl Into<Uids>) -> Result<Vec<Message>> {
        self.fetch(folder, uids, FetchWhat::Full)
    }

    /// Fetches one whole message by UID, `None` if there is no such message.
    pub fn fetch_message(&self, folder: &str, uid: impl Into<Uid>) -> Result<Option<Message>> {
        Ok(self
            .fetch(folder, uid.into(), FetchWhat::Full)?
            .into_iter()
            .next())
    }

    /// Fetches metadata only: flags, size, internal date, envelope and body structure.
    pub fn fetch_metadata(&self, folder: &str, uids: impl Into<Uids>) -> Result<Vec<Message>> {
        self.fetch(folder, uids, FetchWhat::Metadata)
    }

    /// Fetches the header blocks only.
    pub fn fetch_headers(&self, folder: &str, uids: impl Into<Uids>) -> Result<Vec<Message>> {
        self.fetch(folder, uids, FetchWhat::Headers)
    }

    /// Fetches `what` for the messages with these UIDs, in ascending UID order. UIDs read
    /// under another UIDVALIDITY than the folder's are refused with
    /// [`Error::UidValidityChanged`] before anything is fetched (see [`Uids`]).
    pub fn fetch(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        let uids = uids.into();
        let set = uids.set().difference(&SequenceSet::single(0));
        self.fetch_set(folder, set, uids.validity(), what)
    }

    fn fetch_set(
        &self,
        folder: &str,
        set: SequenceSet,
        carried: Option<u32>,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        if set.is_empty() {
            return Ok(Vec::new());
        }
        let items = fetch_items(what);
        let memory = self.validities();
        self.with(|s| {
            ensure_acting(s, &memory, folder, carried)?;
            let commands: Vec<Command> = set
                .chunks(MAX_SET_LEN)
                .map(|chunk| Command::uid_fetch(chunk, items.clone()))
                .collect();
            // Every FETCH is turned into its Message as it arrives, so no response
            // outlives its parse (the memory of one is reused for the next).
            let hint = set.len().unwrap_or(0).min(256);
            let mut collector = Collector {
                wanted: &set,
                messages: Vec::with_capacity(usize::try_from(hint).unwrap_or(256)),
                pending: None,
            };
            soliciting(s, &set, |s| {
                for window in commands.chunks(PIPELINE_WINDOW) {
                    let (_, completions) =
                        s.run_pipelined_taking(window, &mut |offer| collector.offer(offer))?;
                    for c in completions {
                        c.into_result("UID FETCH")?;
                    }
                }
                Ok(())
            })?;
            let mut messages = collector.messages;
            messages.sort_by_key(|m| m.uid());
            messages.dedup_by_key(|m| m.uid());
            Ok(messages)
        })
    }

    /// Fetches `what` for every message whose UID is in `uids` (e.g. `100..=200`, or
    /// `first..=u32::MAX` for everything from `first` on), in ascending UID order: one
    /// `UID FETCH first:last`, without searching first. UIDs that do not exist are simply
    /// absent from the result. An empty range (`start > end`) is
    /// [`Error::InvalidInput`]; UID 0 does not exist and is skipped.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, FetchWhat};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// for m in conn.fetch_uid_range("INBOX", 1000..=u32::MAX, FetchWhat::Metadata)? {
    ///     println!("{:?} {:?}", m.uid(), m.subject());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_uid_range(
        &self,
        folder: &str,
        uids: RangeInclusive<u32>,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        let (first, last) = (*uids.start(), *uids.end());
        if first > last {
            return Err(Error::invalid(
                "UID range",
                format!("{first}..={last} is empty (the start is after the end)"),
            ));
        }
        let set = SequenceSet::range(first.max(1), last.max(1));
        self.fetch_set(folder, set, None, what)
    }

    /// The newest `count` messages of `folder` (highest UIDs), fetching `what`.
    pub fn fetch_newest(
        &self,
        folder: &str,
        count: usize,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        let all = self.search(folder, &SearchQuery::all())?;
        self.fetch(folder, all.newest(count), what)
    }

    /// Fetches one MIME part (`path` as in [`Part::path`](crate::Part::path), e.g. `[2, 1]`)
    /// of a message, still transfer-encoded. `None` if there is no such message.
    pub fn fetch_part(
        &self,
        folder: &str,
        uid: impl Into<Uid>,
        path: &[u32],
    ) -> Result<Option<Vec<u8>>> {
        self.fetch_section(
            folder,
            uid.into(),
            FetchItem::peek(Section::part(path.to_vec())),
        )
    }

    /// Fetches `len` bytes of a message starting at byte `offset` (a partial fetch).
    pub fn fetch_range(
        &self,
        folder: &str,
        uid: impl Into<Uid>,
        offset: u32,
        len: u32,
    ) -> Result<Option<Vec<u8>>> {
        self.fetch_section(
            folder,
            uid.into(),
            FetchItem::Body {
                section: Section::full(),
                partial: Some(Partial { offset, count: len }),
                peek: true,
            },
        )
    }

    fn fetch_section(&self, folder: &str, uid: Uid, item: FetchItem) -> Result<Option<Vec<u8>>> {
        let memory = self.validities();
        self.with(|s| {
            ensure_acting(s, &memory, folder, uid.validity())?;
            let set = SequenceSet::single(uid.uid());
            let command = Command::uid_fetch(set.clone(), [FetchItem::Uid, item]);
            // Read like a fetch of messages: a large section is handed over from the read
            // buffer, not copied.
            let mut collector = Collector {
                wanted: &set,
                messages: Vec::new(),
                pending: None,
            };
            soliciting(s, &set, |s| {
                let (_, completions) = s
                    .run_pipelined_taking(std::slice::from_ref(&command), &mut |offer| {
                        collector.offer(offer)
                    })?;
                completions
                    .into_iter()
                    .try_for_each(|c| c.into_result("UID FETCH").map(drop))
            })?;
            Ok(collector.messages.pop().map(Message::into_raw))
        })
    }

    /// Streams a whole message to `writer` as it arrives, never holding it in memory (a
    /// 50 MB message costs a 64 KiB buffer). Returns the number of bytes written, or `None`
    /// if there is no message with this UID. Does not set `\Seen`.
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut file = std::io::BufWriter::new(std::fs::File::create("message.eml")?);
    /// match conn.fetch_to_writer("INBOX", 42, &mut file)? {
    ///     Some(bytes) => println!("saved {bytes} bytes"),
    ///     None => println!("no message with UID 42"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_to_writer(
        &self,
        folder: &str,
        uid: impl Into<Uid>,
        writer: &mut dyn Write,
    ) -> Result<Option<u64>> {
        let uid = uid.into();
        let (validity, uid) = (uid.validity(), uid.uid());
        let memory = self.validities();
        self.with(|s| {
            ensure_acting(s, &memory, folder, validity)?;
            let command = Command::uid_fetch(
                SequenceSet::single(uid),
                [FetchItem::Uid, FetchItem::full_message()],
            );
            let set = SequenceSet::single(uid);
            let (c, written) = soliciting(s, &set, |s| s.run_streaming(&command, 0, writer))?;
            let c = c.into_result("UID FETCH")?;
            let found = c.untagged.iter().any(
                |u| matches!(u, Untagged::Fetch { items, .. } if items.contains(&Item::Uid(uid))),
            );
            Ok(found.then_some(written))
        })
    }

    // ---- flags -------------------------------------------------------------------------

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

    /// Adds keywords (`$Forwarded`, `Work`, …); each must be an IMAP atom.
    pub fn add_keywords(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        keywords: &[&str],
    ) -> Result<()> {
        let flags: Vec<Flag> = keywords
            .iter()
            .map(|k| Flag::Keyword(k.to_string()))
            .collect();
        self.add_flags(folder, uids, &flags)
    }

    /// Removes keywords.
    pub fn remove_keywords(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        keywords: &[&str],
    ) -> Result<()> {
        let flags: Vec<Flag> = keywords
            .iter()
            .map(|k| Flag::Keyword(k.to_string()))
            .collect();
        self.remove_flags(folder, uids, &flags)
    }

    fn store(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        action: StoreAction,
        flags: &[Flag],
    ) -> Result<()> {
        let flags = flags.iter().map(settable).collect::<Result<Vec<_>>>()?;
        let uids = uids.into();
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids.set().clone();
        let memory = self.validities();
        self.with(|s| {
            ensure_acting(s, &memory, folder, uids.validity())?;
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

    // ---- copy, move, expunge, append ----------------------------------------------------

    /// Copies messages to another folder; returns the new UIDs when the server says
    /// (UIDPLUS): only pairs whose source UID was asked for are kept, and a `[COPYUID]` of
    /// more than [`Limits::max_set_ranges`](crate::Limits::max_set_ranges) ranges is
    /// [`Error::LimitExceeded`] (the copy happened; the connection is dropped).
    pub fn copy(&self, folder: &str, uids: impl Into<Uids>, to: &str) -> Result<Option<CopyUids>> {
        let uids = uids.into();
        if uids.is_empty() {
            return Ok(None);
        }
        let set = uids.set().clone();
        let memory = self.validities();
        let max_ranges = self.limits.max_set_ranges;
        self.with(|s| {
            ensure_acting(s, &memory, folder, uids.validity())?;
            let c = run_ok(
                s,
                &Command::Copy {
                    uid: true,
                    set: set.clone(),
                    mailbox: WireMailbox::new(to),
                },
            )?;
            copy_uids(&c.code, &c.untagged, &set, max_ranges).map_err(|e| broken(s, e))
        })
    }

    /// Moves messages to another folder: `MOVE` (RFC 6851) when the server has it, else
    /// `COPY` + `\Deleted` + `UID EXPUNGE` of exactly these messages (UIDPLUS). Without
    /// either, fails with [`Error::InvalidInput`] rather than expunge other messages the
    /// user marked deleted. The returned UIDs are read as for [`copy`](Self::copy).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// if let Some(moved) = conn.move_messages("INBOX", &[10, 11], "Archive")? {
    ///     for (old, new) in moved.pairs() {
    ///         println!("INBOX/{old} is now Archive/{new}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn move_messages(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        to: &str,
    ) -> Result<Option<CopyUids>> {
        let uids = uids.into();
        if uids.is_empty() {
            return Ok(None);
        }
        let set = uids.set().clone();
        let memory = self.validities();
        let max_ranges = self.limits.max_set_ranges;
        self.with(|s| {
            ensure_acting(s, &memory, folder, uids.validity())?;
            if s.capabilities().has("MOVE") {
                let c = run_ok(s, &Command::Move { uid: true, set: set.clone(), mailbox: WireMailbox::new(to) })?;
                return copy_uids(&c.code, &c.untagged, &set, max_ranges).map_err(|e| broken(s, e));
            }
            if !s.capabilities().has("UIDPLUS") {
                return Err(Error::invalid(
                    "move",
                    "the server has neither MOVE nor UIDPLUS; moving would need an EXPUNGE that also removes other messages marked \\Deleted. Copy, then delete explicitly",
                ));
            }
            let c = run_ok(s, &Command::Copy { uid: true, set: set.clone(), mailbox: WireMailbox::new(to) })?;
            run_ok(
                s,
                &Command::Store {
                    uid: true,
                    set: set.clone(),
                    action: StoreAction::Add,
                    silent: true,
                    flags: vec![encode::Flag::Deleted],
                    unchanged_since: None,
                },
            )?;
            run_ok(s, &Command::UidExpunge(set.clone()))?;
            copy_uids(&c.code, &c.untagged, &set, max_ranges).map_err(|e| broken(s, e))
        })
    }

    /// Removes every `\Deleted` message of the folder; returns how many went.
    pub fn expunge(&self, folder: &str) -> Result<usize> {
        self.with(|s| {
            ensure_selected(s, folder)?;
            let c = run_ok(s, &Command::Expunge)?;
            Ok(count_expunged(s, &c.untagged, None))
        })
    }

    /// Removes exactly these messages if they are `\Deleted` (`UID EXPUNGE`, UIDPLUS);
    /// returns how many went (a `VANISHED` answer is counted only within these UIDs).
    pub fn uid_expunge(&self, folder: &str, uids: impl Into<Uids>) -> Result<usize> {
        let uids = uids.into();
        if uids.is_empty() {
            return Ok(0);
        }
        let set = uids.set().clone();
        let memory = self.validities();
        self.with(|s| {
            if !s.capabilities().has("UIDPLUS") {
                return Err(Error::invalid(
                    "UID EXPUNGE",
                    "the server does not support UIDPLUS",
                ));
            }
            ensure_acting(s, &memory, folder, uids.validity())?;
            let c = run_ok(s, &Command::UidExpunge(set.clone()))?;
            Ok(count_expunged(s, &c.untagged, Some(&set)))
        })
    }

    /// Appends a message to a folder with the given flags and, optionally, an internal
    /// date; returns its UID when the server says (UIDPLUS).
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, Flag, search::ImapDate};
    /// use mailwire::imap::codec::encode::InternalDate;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let date = InternalDate::new(ImapDate::new(2024, 5, 14)?, 10, 0, 0, 120)?;
    /// let raw = b"From: me@example.com\r\nSubject: draft\r\n\r\nHello\r\n";
    /// let appended = conn.append("Drafts", raw, &[Flag::Draft, Flag::Seen], Some(date))?;
    /// # Ok(()) }
    /// ```
    pub fn append(
        &self,
        folder: &str,
        message: &[u8],
        flags: &[Flag],
        date: Option<InternalDate>,
    ) -> Result<Option<AppendUid>> {
        let flags = flags.iter().map(settable).collect::<Result<Vec<_>>>()?;
        if message.is_empty() {
            return Err(Error::invalid(
                "message",
                "an empty message cannot be appended",
            ));
        }
        if message.contains(&0) {
            // A server could store it through a BINARY literal (RFC 3516), but BODY[] can
            // never return a NUL: Dovecot, for one, hands it back as 0x80. Refuse rather than
            // store something that cannot be read back intact.
            return Err(Error::invalid(
                "message",
                "it contains NUL bytes, which IMAP cannot return intact; encode binary parts (e.g. base64) before appending",
            ));
        }
        self.with(|s| {
            let command = Command::Append {
                mailbox: WireMailbox::new(folder),
                flags,
                date,
                message: message.to_vec(),
                binary: false,
            };
            let c = run_ok(s, &command)?;
            Ok(match c.code {
                Some(ResponseCode::AppendUid { uid_validity, uids }) => {
                    uids.first().map(|uid| AppendUid { uid_validity, uid })
                }
                _ => None,
            })
        })
    }
}

/// The connection held for several calls in a row; see [`ImapConnection::lock`].
pub struct ImapGuard<'a> {
    session: MutexGuard<'a, Session>,
    memory: Arc<ValidityMemory>,
}

impl fmt::Debug for ImapGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapGuard")
            .field("session", &*self.session)
            .finish()
    }
}

impl ImapGuard<'_> {
    /// Selects `folder` (read-write) while holding the lock (reporting a UIDVALIDITY
    /// change like [`ImapConnection::select`]).
    pub fn select(&mut self, folder: &str) -> Result<Mailbox> {
        open_reading(&mut self.session, &self.memory, folder, false)
    }

    /// Sends a command and returns its untagged responses; `NO` / `BAD` are errors.
    pub fn run(&mut self, command: &Command) -> Result<Vec<Untagged>> {
        run_ok(&mut self.session, command).map(|c| c.untagged)
    }
}

/// Runs `f` with the FETCH responses for `uids` marked as answers (kept out of the
/// unsolicited queue, so a large fetch is not copied there).
fn soliciting<T>(
    s: &mut Session,
    uids: &SequenceSet,
    f: impl FnOnce(&mut Session) -> Result<T>,
) -> Result<T> {
    s.solicited_uids = Some(uids.clone());
    let result = f(s);
    s.solicited_uids = None;
    result
}

fn run_ok(s: &mut Session, command: &Command) -> Result<Completion> {
    let name = command.name().to_string();
    s.run(command)?.into_result(&name)
}

/// Marks the session broken after a limit or protocol check above the session failed (the
/// connection is not reused), and returns the error.
fn broken(s: &mut Session, e: Error) -> Error {
    if e.breaks_connection() {
        s.shutdown();
    }
    e
}

/// Selects `folder` read-write unless it already is; returns its UIDVALIDITY.
fn ensure_selected(s: &mut Session, folder: &str) -> Result<Option<u32>> {
    if s.selected
        .as_ref()
        .is_some_and(|(name, read_only)| name == folder && !read_only)
        && s.state() == ConnectionState::Selected
    {
        return Ok(s.uid_validities.get(folder).copied());
    }
    open_folder(s, folder, false).map(|m| m.uid_validity)
}

/// Selects `folder` for a call acting on UIDs read under `carried` (or, for plain UIDs,
/// the remembered UIDVALIDITY): nothing that touches a message is sent when the folder's
/// UIDVALIDITY is another.
fn ensure_acting(
    s: &mut Session,
    memory: &ValidityMemory,
    folder: &str,
    carried: Option<u32>,
) -> Result<()> {
    let current = ensure_selected(s, folder)?;
    memory.act(folder, current, carried)
}

/// `SELECT` / `EXAMINE` as a call that reads the folder: a UIDVALIDITY change is reported
/// once.
fn open_reading(
    s: &mut Session,
    memory: &ValidityMemory,
    folder: &str,
    read_only: bool,
) -> Result<Mailbox> {
    let mailbox = open_folder(s, folder, read_only)?;
    memory.read(folder, mailbox.uid_validity)?;
    Ok(mailbox)
}

/// Leaves the selected folder without expunging: `UNSELECT`, or, without it, `EXAMINE`
/// of the same folder (read-only; selecting implicitly closes without expunge, RFC 9051
/// §6.3.2) then `CLOSE`, which removes nothing from a read-only folder (§6.4.1). A plain
/// `CLOSE` would expunge every `\Deleted` message.
fn leave_without_expunge(s: &mut Session) -> Result<()> {
    if s.capabilities().has("UNSELECT") {
        run_ok(s, &Command::Unselect)?;
    } else {
        let read_only = s.selected.as_ref().is_some_and(|(_, ro)| *ro);
        if !read_only {
            let Some((name, _)) = s.selected.clone() else {
                return Ok(());
            };
            // If even EXAMINE fails, no folder is selected any more: nothing to close.
            if open_folder(s, &name, true).is_err() {
                s.selected = None;
                s.set_state(ConnectionState::Authenticated);
                return Ok(());
            }
        }
        if s.selected.as_ref().is_some_and(|(_, ro)| *ro) {
            run_ok(s, &Command::Close)?;
        }
    }
    s.selected = None;
    s.set_state(ConnectionState::Authenticated);
    Ok(())
}

fn open_folder(s: &mut Session, folder: &str, read_only: bool) -> Result<Mailbox> {
    let mut options = SelectOptions::new();
    if s.capabilities().has("CONDSTORE") {
        options = options.condstore();
    }
    let command = if read_only {
        Command::Examine {
            mailbox: WireMailbox::new(folder),
            options,
        }
    } else {
        Command::Select {
            mailbox: WireMailbox::new(folder),
            options,
        }
    };
    s.selected = None;
    let completion = s.run(&command)?;
    let completion = match completion.into_result(if read_only { "EXAMINE" } else { "SELECT" }) {
        Ok(c) => c,
        Err(e) => {
            // A failed SELECT leaves no folder selected (RFC 3501 §6.3.1).
            s.set_state(ConnectionState::Authenticated);
            return Err(e);
        }
    };
    let mut mailbox = Mailbox {
        name: folder.to_string(),
        read_only,
        ..Mailbox::default()
    };
    let apply = |code: &ResponseCode, mailbox: &mut Mailbox| match code {
        ResponseCode::UidValidity(n) => mailbox.uid_validity = Some(*n),
        ResponseCode::UidNext(n) => mailbox.uid_next = Some(*n),
        ResponseCode::Unseen(n) => mailbox.first_unseen = Some(*n),
        ResponseCode::HighestModSeq(n) => mailbox.highest_modseq = Some(*n),
        ResponseCode::PermanentFlags(f) => mailbox.permanent_flags = f.clone(),
        ResponseCode::ReadOnly => mailbox.read_only = true,
        ResponseCode::ReadWrite => mailbox.read_only = false,
        _ => {}
    };
    for u in &completion.untagged {
        match u {
            Untagged::Exists(n) => mailbox.exists = *n,
            Untagged::Recent(n) => mailbox.recent = *n,
            Untagged::Flags(f) => mailbox.flags = f.clone(),
            Untagged::Condition {
                code: Some(code), ..
            } => apply(code, &mut mailbox),
            _ => {}
        }
    }
    if let Some(code) = &completion.code {
        apply(code, &mut mailbox);
    }
    s.set_state(ConnectionState::Selected);
    s.selected = Some((folder.to_string(), mailbox.read_only));
    // Events about the folder as it was opened are not news.
    let _ = s.take_unsolicited();
    // What the folder's UIDVALIDITY is now; the callers compare it with what UIDs were
    // read under (`ValidityMemory`).
    match mailbox.uid_validity {
        Some(v) => {
            s.uid_validities.insert(folder.to_string(), v);
        }
        None => {
            s.uid_validities.remove(folder);
        }
    }
    Ok(mailbox)
}

fn fetch_items(what: FetchWhat) -> Vec<FetchItem> {
    let mut items = vec![
        FetchItem::Uid,
        FetchItem::Flags,
        FetchItem::Rfc822Size,
        FetchItem::InternalDate,
    ];
    match what {
        FetchWhat::Metadata => {
            items.push(FetchItem::Envelope);
            items.push(FetchItem::BodyStructure);
        }
        FetchWhat::Full => items.push(FetchItem::full_message()),
        FetchWhat::Headers => items.push(FetchItem::peek(Section::header())),
    }
    items
}

/// Turns a fetch's FETCH responses into `Message`s as they arrive (the hook of
/// `Session::run_pipelined_taking`).
struct Collector<'s> {
    wanted: &'s SequenceSet,
    messages: Vec<Message>,
    /// The metadata of the message whose body was asked for with `Take::Part`.
    pending: Option<MessageMeta>,
}

impl Collector<'_> {
    fn offer(&mut self, offer: Offer<'_>) -> Result<Take> {
        let bytes = match offer {
            Offer::Part(raw) => {
                if let Some(meta) = self.pending.take() {
                    self.messages.push(Message::with_meta(raw, meta));
                }
                return Ok(Take::Yes);
            }
            Offer::Frame(bytes) => bytes,
        };
        // Unsolicited FETCHes (another client's flag change) lack a wanted UID: they take
        // the general path.
        let Some(parts) =
            parse_fetch(bytes)?.filter(|p| p.uid.is_some_and(|uid| self.wanted.contains(uid)))
        else {
            return Ok(Take::No);
        };
        let (meta, content) = split_parts(parts);
        let raw = match content {
            // Still in the read buffer: ask for it (moved rather than copied when large).
            Some(Cow::Borrowed(body)) => match range_within(bytes, body) {
                Some(range) => {
                    self.pending = Some(meta);
                    return Ok(Take::Part(range));
                }
                None => body.to_vec(),
            },
            other => other.map(Cow::into_owned).unwrap_or_default(),
        };
        self.messages.push(Message::with_meta(raw, meta));
        Ok(Take::Yes)
    }
}

/// A FETCH response's metadata, and its message data.
fn split_parts(parts: FetchParts<'_>) -> (MessageMeta, Option<Cow<'_, [u8]>>) {
    let meta = MessageMeta {
        uid: parts.uid,
        seq: Some(parts.seq),
        flags: parts.flags.unwrap_or_default(),
        internal_date: parts.internal_date,
        size: parts.size,
        envelope: parts.envelope.map(|e| Box::new(meta::envelope(*e))),
        body_structure: parts.body_structure,
        mod_seq: parts.mod_seq,
    };
    (meta, parts.content)
}

/// Where `part` (a slice borrowed from `whole`) lies in `whole`.
fn range_within(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

fn to_folder(item: crate::imap::types::ListItem, utf8: bool) -> Folder {
    let name = if utf8 {
        String::from_utf8_lossy(&item.name).into_owned()
    } else {
        utf7::decode(&item.name).unwrap_or_else(|_| utf7::decode_lenient(&item.name))
    };
    Folder::new(name, item.name, item.delimiter, item.attributes)
}

/// A parsed flag as one the client may set.
fn settable(flag: &Flag) -> Result<encode::Flag> {
    Ok(match flag {
        Flag::Seen => encode::Flag::Seen,
        Flag::Answered => encode::Flag::Answered,
        Flag::Flagged => encode::Flag::Flagged,
        Flag::Deleted => encode::Flag::Deleted,
        Flag::Draft => encode::Flag::Draft,
        Flag::Keyword(k) => encode::Flag::keyword(k.clone())?,
        other => {
            return Err(Error::invalid(
                "flag",
                format!(
                    "{other:?} cannot be set by a client (only \\Seen \\Answered \\Flagged \\Deleted \\Draft and keywords)"
                ),
            ));
        }
    })
}

/// The UIDs a `UID SEARCH` answered (`SEARCH` and `ESEARCH ALL`), as ranges: each
/// response's set may have at most `max_ranges` ranges, and so may their union.
fn search_answer(untagged: &[Untagged], max_ranges: usize) -> Result<SequenceSet> {
    let mut found = SequenceSet::new();
    for u in untagged {
        let part = match u {
            Untagged::Search { ids, .. } => ids.iter().copied().collect(),
            Untagged::Esearch { items, .. } => {
                let mut all = SequenceSet::new();
                for item in items {
                    if let EsearchItem::All(set) = item {
                        set.check_ranges(max_ranges, "an ESEARCH answer")?;
                        all = all.union(set);
                    }
                }
                all
            }
            _ => continue,
        };
        part.check_ranges(max_ranges, "a SEARCH answer")?;
        found = found.union(&part);
        found.check_ranges(max_ranges, "the SEARCH answers of one command")?;
    }
    Ok(found)
}

/// The `[COPYUID]` of a COPY / MOVE answer as runs, keeping only pairs whose source UID is
/// in `asked`. A code whose two sets differ in size, or that names impossible UIDs, is
/// ignored (`None`, logged); more than `max_ranges` ranges is `LimitExceeded`.
fn copy_uids(
    code: &Option<ResponseCode>,
    untagged: &[Untagged],
    asked: &SequenceSet,
    max_ranges: usize,
) -> Result<Option<CopyUids>> {
    let from_untagged = untagged.iter().find_map(|u| match u {
        Untagged::Condition {
            code: Some(c @ ResponseCode::CopyUid { .. }),
            ..
        } => Some(c),
        _ => None,
    });
    let Some(ResponseCode::CopyUid {
        uid_validity,
        source,
        dest,
    }) = code.as_ref().or(from_untagged)
    else {
        return Ok(None);
    };
    for (set, what) in [
        (source, "a COPYUID source set"),
        (dest, "a COPYUID target set"),
    ] {
        if set.len() > max_ranges {
            return Err(Error::LimitExceeded {
                what: format!(
                    "ranges in {what} ({} sent; raise Limits::max_set_ranges if the server is trusted)",
                    set.len()
                ),
                limit: max_ranges,
            });
        }
    }
    let Some(runs) = zip_runs(source, dest) else {
        log::warn!(target: "mailwire::imap", "ignoring a [COPYUID] whose source and target sets do not match");
        return Ok(None);
    };
    // Clip every run to the UIDs asked for (a server cannot claim to have copied others).
    let mut kept = Vec::new();
    for (src, dst, count) in runs {
        let run = SequenceSet::range(src, src + (count - 1));
        for piece in run.intersection(asked).ranges() {
            if let (SeqNumber::Value(a), SeqNumber::Value(b)) = (piece.start(), piece.end()) {
                kept.push((a, dst + (a - src), b - a + 1));
            }
        }
    }
    Ok(Some(CopyUids {
        uid_validity: *uid_validity,
        runs: kept,
    }))
}

/// Pairs two lists of ascending ranges (as the parser gives them) member by member into
/// (source, target, count) runs, walking both lists once (never expanding a range). `None`
/// if their sizes differ or a range holds 0.
fn zip_runs(source: &[(u32, u32)], dest: &[(u32, u32)]) -> Option<Vec<(u32, u32, u32)>> {
    let mut runs = Vec::new();
    let mut src = source.iter().copied();
    let mut dst = dest.iter().copied();
    let (mut s, mut d) = (src.next(), dst.next());
    while let (Some((s0, s1)), Some((d0, d1))) = (s, d) {
        if s0 == 0 || d0 == 0 {
            return None;
        }
        // Both sides have at least one member left; take as many as both have.
        let count = s1.checked_sub(s0)?.min(d1.checked_sub(d0)?);
        runs.push((s0, d0, count + 1));
        s = if s0 + count == s1 {
            src.next()
        } else {
            Some((s0 + count + 1, s1))
        };
        d = if d0 + count == d1 {
            dst.next()
        } else {
            Some((d0 + count + 1, d1))
        };
    }
    (s.is_none() && d.is_none()).then_some(runs)
}

/// How many messages an EXPUNGE / UID EXPUNGE answer removed: `EXPUNGE` responses, and
/// `VANISHED` UIDs — only when QRESYNC is enabled (no other server may send it), and only
/// within `asked` when the command named its UIDs.
fn count_expunged(s: &Session, untagged: &[Untagged], asked: Option<&SequenceSet>) -> usize {
    let mut count = 0u64;
    for u in untagged {
        match u {
            Untagged::Expunge(_) => count += 1,
            Untagged::Vanished {
                earlier: false,
                uids,
            } if s.qresync_enabled => {
                let gone = match asked {
                    Some(asked) => uids.intersection(asked),
                    None => uids.intersection(&SequenceSet::range(1, u32::MAX)),
                };
                count += gone.len().unwrap_or(0);
            }
            _ => {}
        }
    }
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// Compiles every example of `docs/imap.md` as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/imap.md")]
pub struct ImapGuideExamples;
