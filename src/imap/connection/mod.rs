//! `ImapConnection`: the blocking IMAP client, safe to share between threads.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::ops::RangeInclusive;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::cancel::Cancel;
use crate::config::{Config, Limits};
use crate::error::{Error, Result};
use crate::imap::Mailbox;
use crate::imap::codec::parse::{FetchParts, parse_fetch};
use crate::imap::codec::utf7;
use crate::imap::codec::{
    Command, FetchAttr, InternalDate, ListReturn, MailboxName, Partial, RawArg, Section,
    SelectOptions, StoreAction,
};
use crate::imap::folder::Folder;
use crate::imap::meta;
use crate::imap::search::SearchQuery;
use crate::imap::seqset::{SeqNumber, SequenceSet};
use crate::imap::session::{Capabilities, Completion, ConnectionState, Offer, Session, Take};
use crate::imap::types::{
    EsearchItem, FetchData, Flag, NamespaceEntry, QuotaResource, ResponseCode, StatusData, Untagged,
};
use crate::imap::uids::{Uid, Uids};
use crate::imap::validity::ValidityMemory;
use crate::message::{Message, MessageMeta};
use crate::net::socket::ShutdownHandle;
use crate::progress::Progress;

mod fetch;
mod flags;
mod folders;
mod labels;
mod missing;
mod multiappend;
mod order;
mod saved;
mod search;
mod server;
mod sync;
mod transfer;

pub use fetch::FetchWhat;
pub use folders::FolderStatus;
pub use order::SearchStats;
pub use saved::SavedSearch;
pub use server::{Namespaces, Quota};
pub use transfer::{AppendUid, CopyUids};

/// The longest UID set put in one command; longer sets are split into several commands,
/// pipelined.
const MAX_SET_LEN: usize = 4000;

/// How many commands one pipelined batch sends before reading the answers.
const PIPELINE_WINDOW: usize = 32;

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
    session: Mutex<Session>,
    id: String,
    /// The limits of the config it was built from (bounds on what the server sends).
    limits: Limits,
    /// The UIDVALIDITY per folder under which UIDs were last read: private to this
    /// connection, or shared by an account's pooled connections.
    memory: Mutex<Arc<ValidityMemory>>,
    /// The token the cancellable calls honour (see [`with_cancel`](Self::with_cancel)).
    cancel: Mutex<Option<Cancel>>,
    /// The server's folder layout, asked once (see [`folder_layout`](Self::folder_layout)).
    layout: Mutex<Option<crate::imap::path::FolderLayout>>,
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
        ImapConnection::connect_watched(config, &mut |_| Ok(()))
    }

    /// Every connection the library opens for a config comes from here: the session's
    /// connect (see `Session::connect_then`), then the config's
    /// [`on_connect`](crate::ConfigBuilder::on_connect) hook on the new connection, inside
    /// the same attempt (a transient hook error is retried like a failed login).
    pub(crate) fn connect_watched(
        config: &Config,
        watch: &mut dyn FnMut(ShutdownHandle) -> Result<()>,
    ) -> Result<ImapConnection> {
        Session::connect_then(config, watch, &mut |session| {
            let conn = ImapConnection::from_session(session);
            if let Some(hook) = &config.on_connect
                && let Err(e) = hook.run(&conn)
            {
                log::debug!(target: "mailwire::imap", "[{}] the on_connect hook failed: {e}", conn.id());
                conn.session.lock().shutdown();
                return Err(e);
            }
            Ok(conn)
        })
    }

    /// [`connect_watched`](Self::connect_watched) for an owner that drives the session
    /// itself (the `IdleListener`).
    pub(crate) fn open_session(
        config: &Config,
        watch: &mut dyn FnMut(ShutdownHandle) -> Result<()>,
    ) -> Result<Session> {
        ImapConnection::connect_watched(config, watch).map(|conn| conn.session.into_inner())
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
            cancel: Mutex::new(None),
            layout: Mutex::new(None),
        }
    }

    /// The connection with `cancel` attached: from now on its fetches
    /// ([`fetch`](Self::fetch) and the calls built on it, [`fetch_to_writer`](Self::fetch_to_writer)),
    /// appends and syncs return [`Error::Cancelled`] at once when the token is cancelled
    /// before they start, and are cut when it is cancelled while they run: the socket is
    /// shut down, so a read blocked on the server returns at once, and the connection is
    /// broken afterwards (connect again). See [`Cancel`] and docs/cancellation.md.
    ///
    /// Taking the connection by value attaches the token before the connection can be
    /// shared, so two threads can never race to attach different ones. A pooled connection
    /// gets its pool's token instead ([`ImapPool::with_cancel`](crate::imap::ImapPool::with_cancel)).
    pub fn with_cancel(self, cancel: &Cancel) -> ImapConnection {
        self.attach_cancel(Some(cancel.clone()));
        self
    }

    /// The token attached now, if any.
    fn cancel_token(&self) -> Option<Cancel> {
        self.cancel.lock().clone()
    }

    /// Attaches `cancel` (or none): the pool does it at every checkout.
    pub(crate) fn attach_cancel(&self, cancel: Option<Cancel>) {
        *self.cancel.lock() = cancel;
    }

    /// Runs `f` under the connection's lock as a cancellable call (see
    /// [`with_cancel`](Self::with_cancel)): refused without I/O when the token is already
    /// cancelled; cut through the socket's shutdown handle when it is cancelled meanwhile,
    /// which leaves the session broken and turns the call's error into
    /// [`Error::Cancelled`].
    fn cancellable<T>(
        &self,
        operation: &str,
        f: impl FnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        let Some(cancel) = self.cancel_token() else {
            return self.with(f);
        };
        cancel.check(operation)?;
        let mut session = self.session.lock();
        cancel.check(operation)?;
        let handle = session.shutdown_handle();
        let watch = cancel.on_cancel(move || handle.shutdown());
        let result = f(&mut session);
        if watch.finish() {
            log::debug!(target: "mailwire::imap", "[{}] cancelled while {operation}: the connection was cut", self.id);
            // The socket is shut: whatever the call managed, the session cannot go on.
            session.shutdown();
        }
        cancel.outcome(operation, result)
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
    fn validities(&self) -> Arc<ValidityMemory> {
        Arc::clone(&self.memory.lock())
    }

    /// The limits of the config the connection was built from.
    fn limits(&self) -> Limits {
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

    /// Not an API (for mailwire's own tests and benchmarks; it may change or go at any
    /// time): how many times this connection re-armed `TCP_QUICKACK`, the `setsockopt`
    /// calls that keep a server with Nagle's algorithm on from stalling on the delayed ACK.
    #[doc(hidden)]
    pub fn quickack_calls(&self) -> u64 {
        self.session.lock().quickack_calls()
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
    /// let untagged = guard.run(&mailwire::imap::codec::Command::Noop)?;
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

    /// Sends `NOOP`: keeps the connection alive and collects pending updates.
    pub fn noop(&self) -> Result<()> {
        self.with(|s| run_ok(s, &Command::Noop).map(drop))
    }

    /// Brings the view of `folder` up to date when the connection has it selected already:
    /// a `NOOP`, since a server reports what other clients changed (new messages above
    /// all) only at the end of a command, so a call on a folder selected earlier would not
    /// see a message delivered since (Dovecot answers its UID with nothing). Nothing is
    /// sent when another folder, or none, is selected: the call's own SELECT is fresh.
    /// For `ImapHandler`, whose calls reuse pooled connections the caller cannot see.
    pub(crate) fn refresh_if_selected(&self, folder: &str) -> Result<()> {
        self.with(|s| {
            if s.selected_folder() == Some(folder) {
                run_ok(s, &Command::Noop).map(drop)
            } else {
                Ok(())
            }
        })
    }

    /// Logs out and closes the connection. Errors are ignored: the connection is closed
    /// either way.
    pub fn logout(&self) {
        self.session.lock().logout();
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
    if s.is_open_writable(folder) {
        return Ok(s.uid_validity(folder));
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

/// `SELECT` / `EXAMINE` with the options this connection always asks for (`CONDSTORE`
/// when the server has it).
fn open_folder(s: &mut Session, folder: &str, read_only: bool) -> Result<Mailbox> {
    let mut options = SelectOptions::new();
    if s.capabilities().has("CONDSTORE") {
        options = options.condstore();
    }
    s.open_folder(folder, options, read_only)
        .map(|o| o.mailbox)
        .map_err(|e| missing::classify(s, folder, e))
}

/// [`run_ok`] for a command that names `folder`, which must exist: a refusal because it
/// does not is [`Error::MissingFolder`] (see `missing::classify`).
fn run_on_folder(s: &mut Session, folder: &str, command: &Command) -> Result<Completion> {
    run_ok(s, command).map_err(|e| missing::classify(s, folder, e))
}

/// Compiles every example of `docs/imap.md` as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/imap.md")]
pub struct ImapGuideExamples;
