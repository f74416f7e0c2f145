//! Downloading a maildrop that never loses or repeats a message: [`Download`] saves what is
//! new into the caller's [`Pop3Store`], deletes what the store holds, and commits with
//! `QUIT` only when all of it succeeded.
//!
//! The crash-safety model is on [`Download`].

use std::fmt;
use std::io::Write;

use crate::cancel::Cancel;
use crate::config::Config;
use crate::error::Error;
use crate::message::Message;
use crate::pop3::codec::UidlEntry;
use crate::pop3::handler::Pop3Handler;
use crate::pop3::pool::Pop3Pool;
use crate::pop3::session::{LOG, Pop3Options};

/// Where a [`Download`] keeps messages: the source of truth of which messages have been
/// downloaded, by their POP3 unique id (`UIDL`).
///
/// `contains` and `save` are called once per message of a run, in message-number order;
/// `flush` once before the run commits. Errors are the store's own type (a disk error need
/// not pose as a mailwire error), into which a [`mailwire::Error`](crate::Error) converts:
/// the errors of [`Incoming`]'s reads pass through `?` inside `save`, and a run returns
/// `Result<DownloadReport, S::Error>`.
///
/// ```
/// use std::collections::HashMap;
/// use mailwire::pop3::{Incoming, Pop3Store};
///
/// /// Messages in memory (a test double: nothing survives the process).
/// #[derive(Default)]
/// struct InMemory(HashMap<String, Vec<u8>>);
///
/// impl Pop3Store for InMemory {
///     type Error = mailwire::Error;
///
///     fn contains(&mut self, uid: &str) -> Result<bool, Self::Error> {
///         Ok(self.0.contains_key(uid))
///     }
///
///     fn save(&mut self, message: &mut Incoming<'_>) -> Result<(), Self::Error> {
///         let mut bytes = Vec::new();
///         message.fetch_to_writer(&mut bytes)?; // or message.fetch()? into memory
///         self.0.insert(message.uid().to_string(), bytes);
///         Ok(())
///     }
/// }
/// ```
pub trait Pop3Store {
    /// The store's error. A [`mailwire::Error`](crate::Error) must convert into it
    /// (`mailwire::Error` itself, `Box<dyn std::error::Error>`, or the caller's enum with
    /// a `From` arm).
    type Error: From<Error>;

    /// Whether the store already holds the message with unique id `uid` durably (saved by
    /// this run or an earlier one). `true` makes the message a leftover: it is deleted from
    /// the server without being downloaded again. Answer only from what survives a crash.
    fn contains(&mut self, uid: &str) -> Result<bool, Self::Error>;

    /// Stores the message: read it with exactly one of [`Incoming::fetch`] (into memory,
    /// bounded by [`Limits::max_literal_size`](crate::Limits::max_literal_size)) or
    /// [`Incoming::fetch_to_writer`] (streamed, any size), and keep it under
    /// [`Incoming::uid`]. When this returns `Ok` the message is marked for deletion, so it
    /// must be durable by then, or at the latest when [`flush`](Self::flush) returns. An
    /// `Ok` without a completed read is refused (the run fails, nothing is deleted). A
    /// store given an id it already holds (possible only when two runs of one account
    /// overlap) may replace the old copy.
    fn save(&mut self, message: &mut Incoming<'_>) -> Result<(), Self::Error>;

    /// Makes everything saved so far durable; called once, after the last `save` and
    /// before `QUIT`. The default does nothing (for a store whose `save` is durable on its
    /// own, such as a file written, synced and renamed).
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// One message offered to [`Pop3Store::save`]: its unique id, its number in this session,
/// and the two ways to read it. It can be read once.
pub struct Incoming<'a> {
    pop: &'a Pop3Handler,
    entry: &'a UidlEntry,
    /// A read was started (a second one is refused).
    started: bool,
    /// The bytes of a read that completed; `None` while none has.
    completed: Option<u64>,
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("connection", &self.pop.id())
            .field("number", &self.entry.number)
            .field("uid", &self.entry.uid)
            .field("read", &self.completed.is_some())
            .finish()
    }
}

impl Incoming<'_> {
    /// The message's unique id (`UIDL`), stable across sessions: the key to store it
    /// under. Server text: up to 70 printable characters by RFC 1939, but only control
    /// characters are refused, so a store that makes a file name of it must encode it
    /// (`/`, `..`, a leading dot).
    pub fn uid(&self) -> &str {
        &self.entry.uid
    }

    /// The message's number in this session (not stable across sessions).
    pub fn number(&self) -> u32 {
        self.entry.number
    }

    /// The message's size in octets as the server counts it (`LIST n`; with CRLF line
    /// ends, so it can differ slightly from the bytes read). A hint for choosing between
    /// [`fetch`](Self::fetch) and [`fetch_to_writer`](Self::fetch_to_writer).
    pub fn size(&self) -> Result<u64, Error> {
        self.pop.message_size(self.entry.number)
    }

    /// Reads the whole message into memory (`RETR`), bounded by
    /// [`Limits::max_literal_size`](crate::Limits::max_literal_size) like
    /// [`Pop3Handler::fetch_message`].
    pub fn fetch(&mut self) -> Result<Message, Error> {
        self.start()?;
        let message = self.pop.fetch_message(self.entry.number)?;
        self.completed = Some(message.raw().len() as u64);
        Ok(message)
    }

    /// Streams the message to `out` as it arrives (`RETR`, dot-unstuffed), in constant
    /// memory whatever its size, like [`Pop3Handler::fetch_to_writer`]; returns the bytes
    /// written. Flushing and syncing `out` is the store's part. A failing writer breaks the
    /// connection (the run then fails and nothing is deleted).
    pub fn fetch_to_writer(&mut self, out: &mut dyn Write) -> Result<u64, Error> {
        self.start()?;
        let bytes = self.pop.fetch_to_writer(self.entry.number, out)?;
        self.completed = Some(bytes);
        Ok(bytes)
    }

    fn start(&mut self) -> Result<(), Error> {
        if self.started {
            return Err(Error::invalid(
                format!(
                    "message {} (unique id {})",
                    self.entry.number, self.entry.uid
                ),
                "it was already read in this save: Incoming::fetch or fetch_to_writer may be called once",
            ));
        }
        self.started = true;
        Ok(())
    }
}

/// What a [`Download`] run did. Returned only when the run committed (`QUIT` answered
/// `+OK`), so every message counted here is saved in the store and gone from the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DownloadReport {
    /// Messages saved to the store in this run (and deleted from the server).
    pub downloaded: usize,
    /// Messages deleted from the server in this run: `downloaded` plus `leftovers_deleted`.
    pub deleted: usize,
    /// Messages the store already held that were still on the server (saved by an earlier
    /// run that did not commit), deleted without being downloaded again.
    pub leftovers_deleted: usize,
    /// New messages left on the server for a later run by
    /// [`Download::max_messages`]; 0 without that limit.
    pub remaining: usize,
    /// The bytes of the messages downloaded, as read (after dot-unstuffing).
    pub bytes: u64,
}

/// Downloads a POP3 maildrop into a [`Pop3Store`]: what is new is saved, what the store
/// holds is deleted, and the deletions are committed with `QUIT` only when the whole run
/// succeeded. A crash at any point loses nothing and repeats nothing on the next run (see
/// the model below).
///
/// [`run`](Self::run) opens its own connection; [`run_pooled`](Self::run_pooled) takes one
/// from a [`Pop3Pool`]. [`Pop3Handler::download`] is `Download::new().run(..)`.
///
/// ```no_run
/// # use mailwire::pop3::{Incoming, Pop3Store};
/// # struct Dir;
/// # impl Pop3Store for Dir {
/// #     type Error = mailwire::Error;
/// #     fn contains(&mut self, _: &str) -> Result<bool, mailwire::Error> { Ok(false) }
/// #     fn save(&mut self, m: &mut Incoming<'_>) -> Result<(), mailwire::Error> {
/// #         m.fetch_to_writer(&mut std::io::sink()).map(drop)
/// #     }
/// # }
/// use mailwire::Config;
/// use mailwire::pop3::Download;
///
/// let config = Config::builder("pop.example.com").login("alice", "app-password").build()?;
/// let mut store = Dir; // your Pop3Store
/// let report = Download::new().max_messages(500).run(&config, &mut store)?;
/// println!(
///     "{} downloaded, {} leftovers deleted, {} left for the next run",
///     report.downloaded, report.leftovers_deleted, report.remaining
/// );
/// # Ok::<(), mailwire::Error>(())
/// ```
///
/// # The crash-safety model
///
/// The store is the source of truth of what has been downloaded; the server's maildrop is
/// what has not been deleted yet. One run, on one connection:
///
/// 1. `UIDL` lists every message with its unique id (bounded by
///    [`Limits::max_listing_size`](crate::Limits::max_listing_size)); a listing that
///    names one id twice is refused before anything is done.
/// 2. For each message in number order: if [`Pop3Store::contains`] says the store already
///    holds its id (a *leftover*: saved by an earlier run that did not get to commit), it
///    is marked for deletion (`DELE`) without being downloaded again; otherwise it is
///    handed to [`Pop3Store::save`], which reads it (into memory or streamed to a writer)
///    and stores it, and only after `save` returned `Ok` is it marked for deletion.
/// 3. [`Pop3Store::flush`] makes everything saved durable, then `QUIT` commits the
///    deletions.
///
/// A failure at any point — the store's error, a panic, the process killed, the
/// connection broken — ends the connection without `QUIT`, so the server deletes nothing
/// (RFC 1939 deletes only in the UPDATE state, which `QUIT` enters). On the next run the
/// messages saved before the failure are leftovers (deleted, not downloaded again), the
/// others are downloaded. So whatever the moment of the crash: nothing is lost, nothing is
/// saved twice, and every message is deleted once, after it was saved.
///
/// The model needs two things of the store — `save` (or `flush`, for a store that
/// batches) has made the message durable before the next `QUIT`, and `contains` answers
/// from what is durable — and one of the caller: one download per account at a time (two
/// concurrent sessions of one account on a server that does not lock the maildrop would
/// both see the same new messages; [`Pop3Pool`]'s default of one connection per account
/// serialises the runs of one process).
#[derive(Debug, Clone, Default)]
#[must_use = "a Download does nothing until it is run"]
pub struct Download {
    options: Pop3Options,
    max_messages: Option<usize>,
    cancel: Option<Cancel>,
}

impl Download {
    /// A run of the whole maildrop with the default [`Pop3Options`].
    pub fn new() -> Download {
        Download::default()
    }

    /// The connection options [`run`](Self::run) connects with (a pooled run uses the
    /// pool's).
    pub fn options(mut self, options: Pop3Options) -> Download {
        self.options = options;
        self
    }

    /// Downloads at most `messages` new messages in this run (the rest are counted in
    /// [`DownloadReport::remaining`] and left for a later run), so that one run's work and
    /// uncommitted deletions stay bounded. Leftovers are deleted whatever the limit: with
    /// 0 a run only deletes what the store already holds.
    pub fn max_messages(mut self, messages: usize) -> Download {
        self.max_messages = Some(messages);
        self
    }

    /// Makes [`run`](Self::run) stoppable from another thread: a `cancel` before or
    /// during the run (a `RETR` in progress is cut) ends it with [`Error::Cancelled`]
    /// without `QUIT`, so nothing of the run is deleted. A pooled run uses the pool's
    /// token instead ([`Pop3Pool::with_cancel`]).
    pub fn cancel(mut self, cancel: &Cancel) -> Download {
        self.cancel = Some(cancel.clone());
        self
    }

    /// Connects, downloads (saving new messages, deleting saved ones), flushes the store
    /// and sends `QUIT`. On any error before the commit — the store's or the
    /// connection's — or a panic inside the store, the connection is closed without
    /// `QUIT` and the error is returned: the server deletes nothing, and the next run picks
    /// up where this one stopped. A failing `QUIT` is returned as the error (the server may
    /// or may not have committed; either way the next run is right).
    pub fn run<S: Pop3Store>(
        &self,
        config: &Config,
        store: &mut S,
    ) -> Result<DownloadReport, S::Error> {
        if let Some(cancel) = &self.cancel {
            cancel.check("downloading a maildrop")?;
        }
        let pop = Pop3Handler::connect_with(config, self.options)?;
        let pop = match &self.cancel {
            Some(cancel) => pop.with_cancel(cancel),
            None => pop,
        };
        match self.download(&pop, store) {
            Ok(report) => {
                pop.quit()?;
                log_committed(pop.id(), &report);
                Ok(report)
            }
            Err(e) => {
                pop.disconnect();
                Err(e)
            }
        }
    }

    /// [`run`](Self::run) on a connection of `pool` (waiting for it as
    /// [`Pop3Pool::get`] does; the pool's options apply): committed with
    /// [`Pop3PoolGuard::commit`](crate::pop3::Pop3PoolGuard::commit) on success (which
    /// gives the connection back when nothing was deleted), discarded without `QUIT` on
    /// any error or panic.
    pub fn run_pooled<S: Pop3Store>(
        &self,
        pool: &Pop3Pool,
        config: &Config,
        store: &mut S,
    ) -> Result<DownloadReport, S::Error> {
        let guard = pool.get(config)?;
        match self.download(&guard, store) {
            Ok(report) => {
                let id = guard.id().to_string();
                guard.commit()?;
                log_committed(&id, &report);
                Ok(report)
            }
            Err(e) => {
                guard.discard();
                Err(e)
            }
        }
    }

    /// The run up to the commit: list, save, delete, flush. Commits nothing.
    fn download<S: Pop3Store>(
        &self,
        pop: &Pop3Handler,
        store: &mut S,
    ) -> Result<DownloadReport, S::Error> {
        if !pop.pending_deletions().is_empty() {
            // Never the case for a fresh or pooled connection; a QUIT would commit them.
            return Err(Error::invalid(
                "the connection of a download",
                "it already has messages marked for deletion, which the download's QUIT would commit",
            )
            .into());
        }
        let listing = pop.uidl()?;
        check_unique(&listing)?;
        let mut report = DownloadReport::default();
        for entry in &listing {
            if let Some(cancel) = &self.cancel {
                // Between messages too (a leftover's DELE is not a read a cancel cuts).
                cancel.check("downloading a maildrop")?;
            }
            if store.contains(&entry.uid)? {
                log::trace!(target: LOG, "[{}] message {} ({}) is already stored: deleting it", pop.id(), entry.number, entry.uid);
                pop.delete_message(entry.number)?;
                report.leftovers_deleted += 1;
                continue;
            }
            if self
                .max_messages
                .is_some_and(|max| report.downloaded >= max)
            {
                report.remaining += 1;
                continue;
            }
            let mut incoming = Incoming {
                pop,
                entry,
                started: false,
                completed: None,
            };
            store.save(&mut incoming)?;
            let Some(bytes) = incoming.completed else {
                return Err(Error::invalid(
                    format!("Pop3Store::save of message {} (unique id {})", entry.number, entry.uid),
                    "it returned Ok without reading the message (Incoming::fetch or fetch_to_writer): nothing is deleted",
                )
                .into());
            };
            log::trace!(target: LOG, "[{}] message {} ({}) saved, {bytes} bytes: deleting it", pop.id(), entry.number, entry.uid);
            pop.delete_message(entry.number)?;
            report.downloaded += 1;
            report.bytes = report.bytes.saturating_add(bytes);
        }
        report.deleted = report.downloaded + report.leftovers_deleted;
        store.flush()?;
        Ok(report)
    }
}

impl Pop3Handler {
    /// Downloads the maildrop of `config` into `store` on a fresh connection and commits:
    /// [`Download::new().run(config, store)`](Download::run). New messages are saved, what
    /// the store holds is deleted, and `QUIT` is sent only when everything succeeded, so a
    /// crash at any point loses nothing and repeats nothing on the next run (see
    /// [`Download`]).
    pub fn download<S: Pop3Store>(
        config: &Config,
        store: &mut S,
    ) -> Result<DownloadReport, S::Error> {
        Download::new().run(config, store)
    }
}

fn log_committed(id: &str, report: &DownloadReport) {
    log::debug!(
        target: LOG,
        "[{id}] download committed: {} saved ({} bytes), {} leftover(s) deleted, {} left for a later run",
        report.downloaded,
        report.bytes,
        report.leftovers_deleted,
        report.remaining
    );
}

/// Refuses a listing that gives one unique id to two messages (RFC 1939 forbids it): the
/// second would be taken for a leftover of the first and deleted unsaved.
fn check_unique(listing: &[UidlEntry]) -> Result<(), Error> {
    let mut ids: Vec<(&str, u32)> = listing.iter().map(|e| (e.uid.as_str(), e.number)).collect();
    ids.sort_unstable();
    for pair in ids.windows(2) {
        if let [(a, first), (b, second)] = pair
            && a == b
        {
            return Err(Error::Protocol {
                message: format!(
                    "the server's UIDL gives messages {first} and {second} the same unique id, \
                         so a download cannot tell them apart; nothing was downloaded or deleted \
                         (on Dovecot, set pop3_uidl_format to include %u and %v)"
                ),
                excerpt: crate::error::escape_bytes(a.as_bytes()),
                offset: 0,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: u32, uid: &str) -> UidlEntry {
        UidlEntry {
            number,
            uid: uid.to_string(),
        }
    }

    #[test]
    fn a_listing_with_one_id_twice_is_refused() {
        let listing = [entry(1, "a"), entry(2, "b"), entry(3, "a")];
        let err = check_unique(&listing).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("messages 1 and 3"), "{shown}");
        assert!(matches!(err, Error::Protocol { .. }));
        assert!(check_unique(&[entry(1, "a"), entry(2, "b")]).is_ok());
        assert!(check_unique(&[]).is_ok());
    }

    #[test]
    fn the_public_types_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Download>();
        send_sync::<DownloadReport>();
        send_sync::<Incoming<'static>>();
    }
}
