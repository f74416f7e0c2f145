//! [`Pop3Handler`]: the public, thread-safe POP3 client.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;

use parking_lot::Mutex;

use crate::cancel::Cancel;
use crate::config::Config;
use crate::error::Result;
use crate::message::Message;
use crate::pop3::codec::{Capabilities, ListEntry, UidlEntry};
use crate::pop3::session::{Pop3Options, Session, State};
use crate::progress::Progress;

/// The answer to `STAT`: how many messages the maildrop holds and their total size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MailboxStat {
    /// The number of messages (not counting those marked for deletion).
    pub count: u32,
    /// Their total size in octets, as the server counts it.
    pub size: u64,
}

/// A POP3 client connection: logged in when [`connect`](Self::connect) returns, usable from
/// several threads (`Send + Sync`; every method takes `&self` and runs under an internal
/// lock, one command exchange at a time).
///
/// POP3 deletions are only *marked* by [`delete_message`](Self::delete_message); the server
/// removes the messages when the session ends with [`quit`](Self::quit). Ending it any other
/// way — [`disconnect`](Self::disconnect), dropping the handler, a broken connection —
/// commits nothing: every message is still there next time. [`Pop3Handler::session`] runs a
/// unit of work and quits only when it succeeded; a panic inside it commits nothing either.
/// A call interrupted by a panic (in a caller's writer, say) leaves the connection at an
/// unknown point of an answer: it is then broken and every further call is
/// [`Error::Closed`](crate::Error::Closed).
///
/// Errors are [`Error`](crate::Error)s: a `-ERR` answer is [`Error::Server`](crate::Error::Server)
/// (transient for `[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/TEMP]`), a refused login is
/// [`Error::Auth`](crate::Error::Auth) (never retried). After an I/O, protocol or limit error
/// the connection is closed and every further call fails with
/// [`Error::Closed`](crate::Error::Closed). Log lines use the target `mailwire::pop3` and
/// carry the connection id; the wire trace (`mailwire::wire`) never shows a password.
///
/// ```no_run
/// use mailwire::{Config, Security};
/// use mailwire::pop3::Pop3Handler;
///
/// let config = Config::builder("pop.example.com")
///     .security(Security::Tls)
///     .login("alice@example.com", "app-password")
///     .build()?;
/// let pop = Pop3Handler::connect(&config)?;
/// let stat = pop.stat()?;
/// println!("{} messages, {} bytes", stat.count, stat.size);
/// for entry in pop.uidl()? {
///     let message = pop.fetch_message(entry.number)?;
///     println!("{} {:?}", entry.uid, message.subject());
/// }
/// pop.quit()?;
/// # Ok::<(), mailwire::Error>(())
/// ```
pub struct Pop3Handler {
    session: Mutex<Session>,
    id: String,
    /// The token the fetches honour (see [`with_cancel`](Self::with_cancel)).
    cancel: Mutex<Option<Cancel>>,
}

impl fmt::Debug for Pop3Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.session.try_lock() {
            Some(session) => f
                .debug_struct("Pop3Handler")
                .field("session", &*session)
                .finish(),
            None => f
                .debug_struct("Pop3Handler")
                .field("id", &self.id)
                .field("session", &"<in use>")
                .finish(),
        }
    }
}

impl Pop3Handler {
    /// Connects and logs in with the default [`Pop3Options`]: the greeting is read, `CAPA`
    /// asked, `STLS` used when the config says [`Security::StartTls`](crate::Security::StartTls)
    /// (an error if the server does not offer it: never a plaintext fallback), then the
    /// credentials are sent (`AUTH PLAIN` if offered, else `USER` / `PASS`; OAuth2 tokens
    /// with `OAUTHBEARER` / `XOAUTH2`). Transient failures of the whole sequence are retried
    /// per the config's retry policy.
    pub fn connect(config: &Config) -> Result<Pop3Handler> {
        Pop3Handler::connect_with(config, Pop3Options::default())
    }

    /// Like [`connect`](Self::connect) with explicit options (login method, pipelining).
    pub fn connect_with(config: &Config, options: Pop3Options) -> Result<Pop3Handler> {
        Session::connect(config, options).map(Pop3Handler::from_session)
    }

    /// Wraps a session that is already logged in (or not: the fuzzing entry points).
    pub(crate) fn from_session(session: Session) -> Pop3Handler {
        let id = session.id().to_string();
        Pop3Handler {
            session: Mutex::new(session),
            id,
            cancel: Mutex::new(None),
        }
    }

    /// The connection with `cancel` attached: from now on its fetches
    /// ([`fetch_message`](Self::fetch_message), [`fetch_messages`](Self::fetch_messages),
    /// [`fetch_to_writer`](Self::fetch_to_writer)) return
    /// [`Error::Cancelled`](crate::Error::Cancelled) at once when the token is cancelled
    /// before they start, and are cut when it is cancelled while they run: the socket is
    /// shut down (a `RETR` blocked on the server returns at once) and the connection is
    /// closed without `QUIT`, so nothing marked for deletion is committed. Taken by value,
    /// so the token is attached before the handler can be shared. A pooled handler gets
    /// its pool's token instead ([`Pop3Pool::with_cancel`](crate::pop3::Pop3Pool::with_cancel)).
    /// See [`Cancel`] and docs/cancellation.md.
    pub fn with_cancel(self, cancel: &Cancel) -> Pop3Handler {
        self.attach_cancel(Some(cancel.clone()));
        self
    }

    /// Attaches `cancel` (or none): the pool does it at every checkout.
    pub(crate) fn attach_cancel(&self, cancel: Option<Cancel>) {
        *self.cancel.lock() = cancel;
    }

    /// Runs `f` as [`Session::run`] does, cancellable by the attached token (refused
    /// without I/O when it is already cancelled, cut through the socket's shutdown handle
    /// when it is cancelled meanwhile: the connection is then closed and the error is
    /// [`Error::Cancelled`](crate::Error::Cancelled)).
    fn cancellable<T>(
        &self,
        command: &str,
        operation: &str,
        f: impl FnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        let cancel = self.cancel.lock().clone();
        let Some(cancel) = cancel else {
            return self.session.lock().run(command, f);
        };
        cancel.check(operation)?;
        let mut session = self.session.lock();
        cancel.check(operation)?;
        let handle = session.shutdown_handle();
        let watch = cancel.on_cancel(move || handle.shutdown());
        let result = session.run(command, f);
        if watch.finish() {
            log::debug!(target: crate::pop3::session::LOG, "[{}] cancelled while {operation}: the connection was cut", self.id);
            // The socket is shut: nothing more can be read or committed.
            session.disconnect();
        }
        cancel.outcome(operation, result)
    }

    /// Runs one unit of work on a fresh connection: connects, calls `work`, and then sends
    /// `QUIT` (committing deletions) when `work` returned `Ok`, or drops the connection
    /// without `QUIT` (nothing deleted) when it returned `Err` or panicked. A failing `QUIT`
    /// is returned as the error. [`Pop3Pool::session`](crate::pop3::Pop3Pool::session) is
    /// the same on a pooled connection.
    ///
    /// The closure's error is the caller's own, `E: From<mailwire::Error>`: mailwire's
    /// errors (connecting, `?` on a call inside, the `QUIT`) convert into it, and the
    /// caller's own failures (a disk full while saving) come back as they were, with
    /// nothing deleted. With `mailwire::Error` itself, name it when the closure only
    /// returns through `?` and `Ok` (`Ok::<_, mailwire::Error>(..)`, or a
    /// `-> mailwire::Result<_>` closure): the compiler cannot infer it from `?`.
    ///
    /// ```no_run
    /// # use mailwire::{Config, pop3::Pop3Handler};
    /// # let config = Config::builder("pop.example.com").login("u", "p").build()?;
    /// // Download everything, then delete it; nothing is deleted if a download fails.
    /// let messages = Pop3Handler::session(&config, |pop| {
    ///     let numbers: Vec<u32> = pop.list()?.iter().map(|e| e.number).collect();
    ///     let messages = pop.fetch_messages(&numbers)?;
    ///     pop.delete_messages(&numbers)?;
    ///     Ok::<_, mailwire::Error>(messages)
    /// })?;
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    ///
    /// With the caller's own error type, a failure to save is not an `Error::Io` posing as
    /// a network error, and nothing is deleted:
    ///
    /// ```no_run
    /// # use mailwire::{Config, pop3::Pop3Handler};
    /// #[derive(Debug)]
    /// enum DownloadError {
    ///     Mail(mailwire::Error),
    ///     Disk(std::io::Error),
    /// }
    /// impl From<mailwire::Error> for DownloadError {
    ///     fn from(e: mailwire::Error) -> Self {
    ///         DownloadError::Mail(e)
    ///     }
    /// }
    ///
    /// # fn demo(config: &Config) -> Result<(), DownloadError> {
    /// Pop3Handler::session(config, |pop| {
    ///     for entry in pop.uidl()? {
    ///         let message = pop.fetch_message(entry.number)?;
    ///         std::fs::write(format!("{}.eml", entry.uid), message.raw()).map_err(DownloadError::Disk)?;
    ///         pop.delete_message(entry.number)?;
    ///     }
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn session<T, E>(
        config: &Config,
        work: impl FnOnce(&Pop3Handler) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<crate::Error>,
    {
        Pop3Handler::session_with(config, Pop3Options::default(), work)
    }

    /// [`session`](Self::session) with explicit options.
    pub fn session_with<T, E>(
        config: &Config,
        options: Pop3Options,
        work: impl FnOnce(&Pop3Handler) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<crate::Error>,
    {
        let handler = Pop3Handler::connect_with(config, options)?;
        match work(&handler) {
            Ok(value) => {
                handler.quit()?;
                Ok(value)
            }
            Err(e) => {
                handler.disconnect();
                Err(e)
            }
        }
    }

    /// The connection id used in log lines (`pop3#7`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the connection is encrypted (implicit TLS or after `STLS`).
    pub fn is_tls(&self) -> bool {
        self.session.lock().is_tls()
    }

    /// Whether the connection can no longer be used: it broke, or was closed by
    /// [`quit`](Self::quit) or [`disconnect`](Self::disconnect).
    pub fn is_closed(&self) -> bool {
        self.session.lock().is_unusable()
    }

    /// Whether an I/O, protocol or limit error broke the connection (a deliberate
    /// [`quit`](Self::quit) / [`disconnect`](Self::disconnect) does not count).
    pub fn is_broken(&self) -> bool {
        self.session.lock().state() == State::Broken
    }

    /// How the connection logged in: the SASL mechanism (`PLAIN`, `LOGIN`, `XOAUTH2`,
    /// `OAUTHBEARER`), `USER/PASS` or `APOP`; `SASL` after a
    /// [custom mechanism](crate::Credentials::custom) (its name is the credentials');
    /// `None` when the config had no credentials.
    pub fn logged_in_with(&self) -> Option<&'static str> {
        self.session.lock().logged_in_with()
    }

    /// The text of the server's greeting (after `+OK`).
    pub fn greeting(&self) -> String {
        self.session.lock().greeting().to_string()
    }

    /// The capabilities the server listed in `CAPA` after login (empty for a server
    /// without `CAPA`).
    pub fn capabilities(&self) -> Capabilities {
        self.session.lock().capabilities().clone()
    }

    /// Asks `CAPA` again and returns the new list (bounded like [`list`](Self::list); the
    /// `CAPA` asked while connecting, before `STLS`, is bounded the same way).
    pub fn refresh_capabilities(&self) -> Result<Capabilities> {
        self.session.lock().run("CAPA", |s| {
            s.refresh_capabilities()?;
            Ok(s.capabilities().clone())
        })
    }

    /// Whether [`fetch_messages`](Self::fetch_messages) pipelines: the server advertises
    /// `PIPELINING` and the options did not turn it off.
    pub fn pipelines(&self) -> bool {
        self.session.lock().pipelines()
    }

    /// The options the handler was connected with.
    pub fn options(&self) -> Pop3Options {
        *self.session.lock().options()
    }

    /// The most bytes the connection ever held for one response: its read buffer
    /// (allocated or filled) plus what the answer being read held in memory at that moment
    /// (a listing's parsed entries and partial line, a message read into memory). A measure
    /// of the memory the library itself used for responses, independent of message size
    /// for streamed reads ([`fetch_to_writer`](Self::fetch_to_writer)), and bounded by the
    /// read buffer plus `Limits::max_listing_size` for listings or
    /// `Limits::max_literal_size` for messages.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.session.lock().peak_buffered()
    }

    /// The message numbers marked for deletion in this session (committed only by
    /// [`quit`](Self::quit)), ascending.
    pub fn pending_deletions(&self) -> Vec<u32> {
        self.session.lock().pending_deletions()
    }

    /// `STAT`: the number of messages and their total size.
    pub fn stat(&self) -> Result<MailboxStat> {
        let (count, size) = self.session.lock().run("STAT", Session::stat)?;
        Ok(MailboxStat { count, size })
    }

    /// `LIST`: every message's number and size.
    ///
    /// Parsed line by line as it arrives. Bounded by
    /// [`Limits::max_listing_size`](crate::Limits::max_listing_size) — the bytes received
    /// for the answer, and separately the memory of the entries parsed from it — and by
    /// `max_line_length` per line; exceeding one is
    /// [`Error::LimitExceeded`](crate::Error::LimitExceeded) and breaks the connection (no
    /// `QUIT` is sent on it). A number that does not fit its type (a message number over
    /// `u32`, a size over `u64`) is [`Error::Protocol`](crate::Error::Protocol), never
    /// wrapped.
    pub fn list(&self) -> Result<Vec<ListEntry>> {
        self.session.lock().run("LIST", Session::list)
    }

    /// `LIST n`: one message's number and size. A `-ERR` (no such message) is
    /// [`Error::Server`](crate::Error::Server).
    pub fn list_one(&self, number: u32) -> Result<ListEntry> {
        self.session.lock().run("LIST", |s| s.list_one(number))
    }

    /// The size in octets of message `number` (`LIST n`).
    pub fn message_size(&self, number: u32) -> Result<u64> {
        Ok(self.list_one(number)?.size)
    }

    /// `UIDL`: every message's number and unique id, which stays the same across sessions.
    ///
    /// Bounded like [`list`](Self::list): `max_listing_size` (bytes received, and the
    /// entries' memory), `max_line_length` per line. The defaults take a million messages
    /// with room to spare.
    pub fn uidl(&self) -> Result<Vec<UidlEntry>> {
        self.session.lock().run("UIDL", Session::uidl)
    }

    /// `UIDL n`: one message's unique id.
    pub fn uidl_one(&self, number: u32) -> Result<UidlEntry> {
        self.session.lock().run("UIDL", |s| s.uidl_one(number))
    }

    /// The messages whose unique id is not in `seen`, in message-number order: what to
    /// download when the ids of earlier downloads were kept.
    ///
    /// To download *and delete*, use [`Download`](crate::pop3::Download) instead: with
    /// `new_messages`, a message saved by a run whose `QUIT` never came is filtered out as
    /// seen next time and never deleted; `Download` deletes such leftovers.
    ///
    /// ```no_run
    /// # use std::collections::HashSet;
    /// # use mailwire::{Config, pop3::Pop3Handler};
    /// # let config = Config::builder("pop.example.com").login("u", "p").build()?;
    /// let pop = Pop3Handler::connect(&config)?;
    /// let mut seen: HashSet<String> = HashSet::new(); // loaded from storage
    /// for entry in pop.new_messages(&seen)? {
    ///     let message = pop.fetch_message(entry.number)?;
    ///     // … store message …
    ///     seen.insert(entry.uid);
    /// }
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn new_messages(&self, seen: &HashSet<String>) -> Result<Vec<UidlEntry>> {
        let mut all = self.uidl()?;
        all.retain(|entry| !seen.contains(&entry.uid));
        Ok(all)
    }

    /// `RETR n`: the whole message, dot-unstuffed, as the server sent it (no line length
    /// limit). Its [`meta`](Message::meta) has the message number as `seq` and the size.
    /// Bounded by the config's `max_literal_size` ([`Error::LimitExceeded`](crate::Error::LimitExceeded));
    /// use [`fetch_to_writer`](Self::fetch_to_writer) for messages of any size.
    pub fn fetch_message(&self, number: u32) -> Result<Message> {
        self.cancellable("RETR", "downloading a message", |s| s.retr(number))
    }

    /// `RETR` for each number, in the order given. Pipelined when the server advertises
    /// `PIPELINING` (commands go out in windows of [`Pop3Options::pipeline_window`], so
    /// neither side's socket buffer can fill up and block), one by one otherwise or when
    /// [`Pop3Options::pipelining`] turned it off. If one message is refused (`-ERR`), the
    /// answers already asked for are still read and the first error is returned. Each
    /// message is bounded by `max_literal_size` like [`fetch_message`](Self::fetch_message);
    /// a message over it is [`Error::LimitExceeded`](crate::Error::LimitExceeded) and breaks
    /// the connection.
    pub fn fetch_messages(&self, numbers: &[u32]) -> Result<Vec<Message>> {
        self.cancellable("RETR", "downloading messages", |s| {
            s.retr_many(numbers, None)
        })
    }

    /// [`fetch_messages`](Self::fetch_messages), telling `progress` after each message
    /// received: the messages and bytes so far, of `numbers.len()` (see [`Progress`]).
    ///
    /// ```no_run
    /// # use mailwire::pop3::Pop3Handler;
    /// # fn demo(pop: &Pop3Handler) -> mailwire::Result<()> {
    /// let numbers: Vec<u32> = pop.list()?.iter().map(|e| e.number).collect();
    /// let messages = pop.fetch_messages_with_progress(&numbers, &mut |p| {
    ///     eprintln!("{}/{:?}: {} bytes", p.messages, p.total_messages, p.bytes);
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn fetch_messages_with_progress(
        &self,
        numbers: &[u32],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Message>> {
        self.cancellable("RETR", "downloading messages", |s| {
            s.retr_many(numbers, Some(progress))
        })
    }

    /// `TOP n lines`: the header and the first `lines` lines of the body (0 for the header
    /// only). The server must support `TOP` (most do; `CAPA` lists it). Bounded by both
    /// `max_listing_size` (bytes received) and `max_literal_size` (the content held):
    /// [`Error::LimitExceeded`](crate::Error::LimitExceeded) names the one that applied.
    pub fn fetch_headers(&self, number: u32, lines: u32) -> Result<Message> {
        self.session.lock().run("TOP", |s| s.top(number, lines))
    }

    /// `RETR n` streamed to `out` as it arrives, dot-unstuffed, in constant memory whatever
    /// the message size. Returns the number of bytes written. The message must arrive within
    /// the read timeout or keep arriving at [`Limits::min_transfer_rate`](crate::Limits::min_transfer_rate)
    /// over each read-timeout window (a trickle cannot stretch the call). A failing writer breaks the connection (the rest of the answer cannot be skipped
    /// reliably).
    pub fn fetch_to_writer(&self, number: u32, out: &mut dyn Write) -> Result<u64> {
        // Stops at the next chunk on a cancel, not after what the socket already holds.
        let cancel = self.cancel.lock().clone();
        let out = &mut crate::cancel::CheckedWriter::new(out, cancel);
        self.cancellable("RETR", "streaming a message", |s| {
            s.retr_to_writer(number, out)
        })
    }

    /// `DELE n`: marks a message for deletion. The server deletes it only at
    /// [`quit`](Self::quit); [`reset`](Self::reset) unmarks everything.
    pub fn delete_message(&self, number: u32) -> Result<()> {
        self.session.lock().run("DELE", |s| s.dele(number))
    }

    /// Marks each message for deletion (`DELE`), stopping at the first refusal.
    pub fn delete_messages(&self, numbers: &[u32]) -> Result<()> {
        self.session
            .lock()
            .run("DELE", |s| numbers.iter().try_for_each(|&n| s.dele(n)))
    }

    /// `RSET`: unmarks every message marked for deletion in this session.
    pub fn reset(&self) -> Result<()> {
        self.session.lock().run("RSET", Session::rset)
    }

    /// `NOOP`: checks that the server still answers.
    pub fn noop(&self) -> Result<()> {
        self.session.lock().run("NOOP", Session::noop)
    }

    /// Checks that the connection works (`NOOP` answered `+OK`), like
    /// [`ImapHandler::test_connection`](crate::imap::ImapHandler::test_connection); the error
    /// says why not.
    pub fn test_connection(&self) -> Result<()> {
        self.noop()
    }

    /// `QUIT`: the server commits the deletions and the connection is closed. Calling it on
    /// a closed connection is [`Error::Closed`](crate::Error::Closed).
    pub fn quit(&self) -> Result<()> {
        self.session.lock().quit()
    }

    /// Closes the connection without `QUIT`: the server commits nothing, every message
    /// marked for deletion stays. Does nothing on a closed connection.
    pub fn disconnect(&self) {
        self.session.lock().disconnect();
    }
}

impl Drop for Pop3Handler {
    /// Closes the socket without `QUIT`: deletions marked in this session are not committed.
    fn drop(&mut self) {
        self.session.get_mut().disconnect();
    }
}
