//! [`Pop3Pool`]: logged-in POP3 connections kept per account, on the shared pool core.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::config::{Config, Protocol};
use crate::error::Result;
use crate::pool::{AccountKey, Manage, Pool, PoolOptions, Pooled, ReuseKey};
use crate::pop3::handler::Pop3Handler;
use crate::pop3::session::{LOG, Pop3Options};

/// Opens, checks and closes the connections of a [`Pop3Pool`] (the pool core's
/// [`Manage`] for POP3).
///
/// - key: [`ReuseKey::for_config`] with [`Protocol::Pop3`]: connections count against the
///   account (host, port, user) and are handed only to configs with equal settings and
///   credentials;
/// - connect: [`Pop3Handler::connect_with`] with the pool's [`Pop3Options`];
/// - health check: `NOOP`;
/// - broken: the handler is closed or broke;
/// - close: `QUIT` only on a healthy connection without pending deletions (idle pooled
///   connections never have any, see [`Pop3PoolGuard`]); otherwise the socket is closed
///   without `QUIT`, which commits nothing. Closing never commits a deletion.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pop3Manager {
    options: Pop3Options,
}

impl Pop3Manager {
    /// A manager that connects with `options`.
    pub fn new(options: Pop3Options) -> Pop3Manager {
        Pop3Manager { options }
    }
}

impl Manage for Pop3Manager {
    type Target = Config;
    type Connection = Pop3Handler;

    fn reuse_key(&self, target: &Config) -> ReuseKey {
        ReuseKey::for_config(target, Protocol::Pop3)
    }

    fn connect(&self, target: &Config) -> Result<Pop3Handler> {
        Pop3Handler::connect_with(target, self.options)
    }

    fn is_valid(&self, conn: &mut Pop3Handler) -> Result<()> {
        conn.noop()
    }

    fn has_broken(&self, conn: &mut Pop3Handler) -> bool {
        conn.is_closed()
    }

    /// Closes a connection the pool discards. `QUIT` is sent only when it commits nothing:
    /// a connection with pending deletions, or one closed while its thread panics, is
    /// dropped without `QUIT`, so the server rolls its deletions back.
    fn close(&self, conn: Pop3Handler) {
        if conn.is_closed() {
            return;
        }
        let pending = conn.pending_deletions().len();
        if pending > 0 || std::thread::panicking() {
            log::debug!(target: LOG, "[{}] closing a pooled connection without QUIT ({pending} uncommitted deletion(s))", conn.id());
            conn.disconnect();
        } else if let Err(e) = conn.quit() {
            log::debug!(target: LOG, "[{}] QUIT while closing a pooled connection failed: {e}", conn.id());
        }
    }
}

/// A pool of logged-in POP3 connections: [`get`](Self::get) checks one out as a
/// [`Pop3PoolGuard`], dropping the guard gives it back, [`clear_all`](Self::clear_all)
/// closes the idle ones.
///
/// One connection per account by default: RFC 1939 servers lock the maildrop for the
/// session, so a second session of the same account would be refused (`-ERR [IN-USE]`) or
/// would see a maildrop whose deletions the first session has not committed. A second
/// [`get`](Self::get) for an account waits until the first guard is dropped, up to
/// the pool's `get_timeout`, then fails with [`Error::PoolTimeout`](crate::Error::PoolTimeout).
/// `Send + Sync`; clones share the same connections.
///
/// ```no_run
/// use mailwire::Config;
/// use mailwire::pop3::Pop3Pool;
///
/// let pool = Pop3Pool::new()?;
/// let config = Config::builder("pop.example.com").login("alice", "pw").build()?;
/// {
///     let pop = pool.get(&config)?;
///     println!("{} messages", pop.stat()?.count);
/// } // released: back to the pool, logged in, for the next acquire
/// pool.clear_all();
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Pop3Pool {
    pool: Pool<Pop3Manager>,
    /// The token this handle's checkouts and the connections it hands out honour.
    cancel: Option<Cancel>,
}

impl Pop3Pool {
    /// A pool with one connection per account and otherwise the [`PoolOptions`] defaults
    /// (30 s acquire timeout, `NOOP` check after 60 s idle, idle connections closed after
    /// 5 min).
    pub fn new() -> Result<Pop3Pool> {
        Pop3Pool::with_options(
            PoolOptions::new().max_per_account(1),
            Pop3Options::default(),
        )
    }

    /// A pool with explicit pool and connection options. `max_per_account` above 1 is
    /// allowed for servers that do not lock the maildrop (Dovecot by default), but two
    /// sessions of one account then see each other's uncommitted state differently.
    pub fn with_options(options: PoolOptions, pop3: Pop3Options) -> Result<Pop3Pool> {
        Ok(Pop3Pool {
            pool: Pool::new(Pop3Manager::new(pop3), options)?,
            cancel: None,
        })
    }

    /// A handle on the same pool whose checkouts honour `cancel`: a caller waiting in
    /// [`get`](Self::get) (or [`session`](Self::session)) returns
    /// [`Error::Cancelled`](crate::Error::Cancelled) as soon as the token is cancelled, and
    /// the connections it hands out carry the token while checked out (their fetches are
    /// cut by it, see [`Pop3Handler::with_cancel`]; a cut connection is closed without
    /// `QUIT`, committing nothing). Connections and limits stay shared with `self`.
    pub fn with_cancel(&self, cancel: &Cancel) -> Pop3Pool {
        Pop3Pool {
            pool: self.pool.clone(),
            cancel: Some(cancel.clone()),
        }
    }

    /// Checks out a logged-in connection for the account of `config`, reusing an idle one
    /// or connecting; waits up to the pool's `get_timeout` while the account's connections
    /// are all in use. A connect or login failure is returned at once.
    pub fn get(&self, config: &Config) -> Result<Pop3PoolGuard> {
        self.get_timeout(config, self.pool.options().get_timeout)
    }

    /// [`get`](Self::get) with its own wait limit.
    pub fn get_timeout(&self, config: &Config, timeout: Duration) -> Result<Pop3PoolGuard> {
        let inner = self
            .pool
            .get_cancellable(config, timeout, self.cancel.as_ref())?;
        inner.attach_cancel(self.cancel.clone());
        Ok(Pop3PoolGuard { inner })
    }

    /// Runs one unit of work on a pooled connection: acquires one for the account of
    /// `config`, calls `work`, and then [commits](Pop3PoolGuard::commit) (sends `QUIT` if
    /// messages were marked for deletion, else gives the connection back) when `work`
    /// returned `Ok`, or closes the connection without `QUIT` (nothing deleted) when it
    /// returned `Err` or panicked. A failing commit is returned as the error.
    ///
    /// ```no_run
    /// # use mailwire::{Config, pop3::Pop3Pool};
    /// # let pool = Pop3Pool::new()?;
    /// # let config = Config::builder("pop.example.com").login("u", "p").build()?;
    /// // Download everything, then delete it; nothing is deleted if a download fails.
    /// let messages = pool.session(&config, |pop| {
    ///     let numbers: Vec<u32> = pop.list()?.iter().map(|e| e.number).collect();
    ///     let messages = pop.fetch_messages(&numbers)?;
    ///     pop.delete_messages(&numbers)?;
    ///     Ok::<_, mailwire::Error>(messages)
    /// })?;
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    ///
    /// The closure's error is the caller's own, `E: From<mailwire::Error>`, as for
    /// [`Pop3Handler::session`]: mailwire's errors (the checkout, `?` inside, the commit)
    /// convert into it, and an `Err` of the caller's own commits nothing.
    pub fn session<T, E>(
        &self,
        config: &Config,
        work: impl FnOnce(&Pop3Handler) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<crate::Error>,
    {
        let guard = self.get(config)?;
        match work(&guard) {
            Ok(value) => {
                guard.commit()?;
                Ok(value)
            }
            Err(e) => {
                guard.discard();
                Err(e)
            }
        }
    }

    crate::pool::config_pool_methods!();

    /// The old name of [`get`](Self::get).
    #[deprecated(
        since = "0.2.0",
        note = "use `Pop3Pool::get` (the name `ImapPool` uses)"
    )]
    pub fn acquire(&self, config: &Config) -> Result<Pop3PoolGuard> {
        self.get(config)
    }

    /// The old name of [`get_timeout`](Self::get_timeout).
    #[deprecated(
        since = "0.2.0",
        note = "use `Pop3Pool::get_timeout` (the name `ImapPool` uses)"
    )]
    pub fn acquire_timeout(&self, config: &Config, timeout: Duration) -> Result<Pop3PoolGuard> {
        self.get_timeout(config, timeout)
    }

    /// The old name of [`clear_all`](Self::clear_all).
    #[deprecated(
        since = "0.2.0",
        note = "use `Pop3Pool::clear_all` (the name `ImapPool` uses)"
    )]
    pub fn close_all(&self) {
        self.clear_all();
    }
}

/// A connection checked out of a [`Pop3Pool`]: dereferences to the [`Pop3Handler`];
/// dropping it releases the connection.
///
/// A checked-out connection is a unit of work, and its deletions are committed only when
/// the caller says so:
///
/// - [`commit`](Self::commit) sends `QUIT` when messages are marked for deletion (the
///   server removes them; the pool connects afresh next time), or gives the connection
///   back as it is when none are;
/// - dropping the guard — at the end of a scope, on an early `?` return, or while the
///   thread panics — never sends `QUIT` when deletions are pending: the connection is
///   closed without it, the server rolls the deletions back (every message is still there
///   next time) and the pool connects afresh. A guard without pending deletions (none
///   marked, or undone by [`reset`](Pop3Handler::reset)) goes back to the pool, still
///   logged in; one dropped while its thread panics is closed, never reused;
/// - [`discard`](Self::discard) closes the connection without `QUIT` in any case.
///
/// [`Pop3Pool::session`] runs a closure as one unit of work with the same rule: `Ok`
/// commits, `Err` or a panic commits nothing. A connection that broke is never reused and
/// never commits. Calling [`quit`](Pop3Handler::quit) through the guard is an explicit
/// commit too.
///
/// ```no_run
/// # use mailwire::{Config, pop3::Pop3Pool};
/// # let pool = Pop3Pool::new()?;
/// # let config = Config::builder("pop.example.com").login("u", "p").build()?;
/// let pop = pool.get(&config)?;
/// let numbers: Vec<u32> = pop.list()?.iter().map(|e| e.number).collect();
/// let messages = pop.fetch_messages(&numbers)?; // an error here: nothing deleted
/// pop.delete_messages(&numbers)?;
/// // … store `messages` durably …
/// pop.commit()?; // only now are the messages removed from the server
/// # Ok::<(), mailwire::Error>(())
/// ```
pub struct Pop3PoolGuard {
    inner: Pooled<Pop3Manager>,
}

impl fmt::Debug for Pop3PoolGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pop3PoolGuard")
            .field("pooled", &self.inner)
            .finish()
    }
}

impl Deref for Pop3PoolGuard {
    type Target = Pop3Handler;

    fn deref(&self) -> &Pop3Handler {
        &self.inner
    }
}

impl Pop3PoolGuard {
    /// Ends the unit of work, committing its deletions: with messages marked for deletion,
    /// sends `QUIT` (the server removes them; the connection is closed and the pool opens a
    /// new one for the next acquire) and returns its error if it fails; with none, gives
    /// the connection back to the pool, still logged in, and returns `Ok`.
    ///
    /// On a connection that is already closed or broken it is
    /// [`Error::Closed`](crate::Error::Closed) and nothing is deleted.
    pub fn commit(self) -> Result<()> {
        if self.inner.is_closed() {
            // The same error every other call gives on a closed connection.
            return self.inner.quit();
        }
        if self.inner.pending_deletions().is_empty() {
            return Ok(());
        }
        self.inner.quit()
    }

    /// Drops the connection without `QUIT`: deletions marked on it are not committed, and
    /// the pool opens a new connection for the next acquire.
    pub fn discard(mut self) {
        self.inner.disconnect();
        self.inner.mark_broken();
    }

    /// The account the connection belongs to.
    pub fn key(&self) -> &AccountKey {
        self.inner.key()
    }
}

impl Drop for Pop3PoolGuard {
    /// Releases the connection without committing anything: pending deletions (or a
    /// panicking thread) mean the connection is closed without `QUIT`.
    fn drop(&mut self) {
        if self.inner.is_closed() {
            return;
        }
        let pending = self.inner.pending_deletions().len();
        let panicking = std::thread::panicking();
        if pending > 0 || panicking {
            log::debug!(
                target: LOG,
                "[{}] released without commit{}: closing without QUIT, {pending} deletion(s) rolled back",
                self.inner.id(),
                if panicking { " while its thread panics" } else { "" }
            );
            self.inner.disconnect();
            self.inner.mark_broken();
        }
    }
}

/// Compiles every example of `docs/pop3.md` as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/pop3.md")]
pub struct Pop3GuideExamples;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_one_connection_per_account() {
        let pool = Pop3Pool::new().unwrap();
        assert_eq!(pool.options().max_per_account, 1);
    }
}
