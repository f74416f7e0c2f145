//! `ImapPool`: per-account pooling of [`ImapConnection`]s on the generic pool core.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::config::{Config, Protocol};
use crate::error::Result;
use crate::imap::connection::ImapConnection;
use crate::imap::validity::AccountValidities;
use crate::pool::{Manage, Pool, PoolOptions, Pooled, ReuseKey};

/// Connects, checks and closes IMAP connections for the pool core.
#[derive(Debug, Default, Clone, Copy)]
pub struct ImapManager;

impl Manage for ImapManager {
    type Target = Config;
    type Connection = ImapConnection;

    fn reuse_key(&self, config: &Config) -> ReuseKey {
        ReuseKey::for_config(config, Protocol::Imap)
    }

    fn connect(&self, config: &Config) -> Result<ImapConnection> {
        ImapConnection::connect(config)
    }

    /// Connects with every attempt's socket watched by `cancel`: a cancel cuts the
    /// attempt under way (TCP, TLS, greeting, login) and ends the retries.
    fn connect_cancellable(&self, config: &Config, cancel: &Cancel) -> Result<ImapConnection> {
        let mut watches = Vec::new();
        let result = ImapConnection::connect_watched(config, &mut |handle| {
            cancel.check("connecting")?;
            watches.push(cancel.on_cancel(move || handle.shutdown()));
            Ok(())
        });
        drop(watches);
        let conn = cancel.outcome("connecting", result)?;
        // A cancel that came as the connect ended may have cut the socket: not handed out.
        cancel.check("connecting")?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut ImapConnection) -> Result<()> {
        conn.noop()
    }

    fn has_broken(&self, conn: &mut ImapConnection) -> bool {
        conn.is_stale()
    }

    fn close(&self, conn: ImapConnection) {
        if conn.is_broken() {
            drop(conn);
        } else {
            conn.logout();
        }
    }
}

/// A checked-out IMAP connection; dereferences to [`ImapConnection`] and goes back to the
/// pool when dropped (or is closed, if it broke).
pub type PooledImap = Pooled<ImapManager>;

/// A pool of authenticated IMAP connections, counted per account (host, port, user: see
/// [`AccountKey`](crate::pool::AccountKey)) and handed out per config (see [`ReuseKey`]): a caller with the right
/// user but a wrong password, other root certificates, smaller limits or shorter timeouts
/// never gets a connection made for another config; two configs of one account share its
/// `max_per_account`.
///
/// Cheap to clone (the clones share the pool), `Send + Sync`. Defaults: 5 connections per
/// account, 30 s acquire timeout, a `NOOP` health check for connections idle over 60 s,
/// idle connections closed after 5 min, any connection after 30 min. See
/// [`PoolOptions`].
///
/// ```no_run
/// use mailwire::Config;
/// use mailwire::imap::ImapPool;
///
/// let config = Config::builder("imap.example.com").login("alice", "app-password").build()?;
/// let pool = ImapPool::new()?;
/// let conn = pool.get(&config)?;           // connects, or reuses an idle connection
/// let unseen = conn.search("INBOX", &mailwire::imap::SearchQuery::unseen())?;
/// drop(conn);                              // back to the pool
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Clone)]
pub struct ImapPool {
    pool: Pool<ImapManager>,
    /// The UIDVALIDITY each account's folders had when UIDs were last read from them,
    /// shared by all connections of the account (see `imap::validity`).
    validities: Arc<AccountValidities>,
    /// The token this handle's checkouts and the connections it hands out honour.
    cancel: Option<Cancel>,
}

impl fmt::Debug for ImapPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapPool")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl ImapPool {
    /// A pool with the default options (5 connections per account).
    pub fn new() -> Result<ImapPool> {
        ImapPool::with_options(PoolOptions::new())
    }

    /// A pool with the given options.
    pub fn with_options(options: PoolOptions) -> Result<ImapPool> {
        Ok(ImapPool {
            pool: Pool::new(ImapManager, options)?,
            validities: Arc::default(),
            cancel: None,
        })
    }

    /// A handle on the same pool whose checkouts honour `cancel`: a caller waiting in
    /// [`get`](Self::get) returns [`Error::Cancelled`](crate::Error::Cancelled) as soon as
    /// the token is cancelled (at once when it already is), and the connections it hands
    /// out carry the token for as long as they are checked out (their fetches, appends
    /// and syncs are cut by it: see
    /// [`ImapConnection::with_cancel`](crate::imap::ImapConnection::with_cancel)). The
    /// connections, limits and statistics stay shared with `self`; a connection cut by a
    /// cancel is broken and closed when it comes back, never reused.
    ///
    /// ```no_run
    /// use mailwire::{Cancel, Config};
    /// use mailwire::imap::ImapPool;
    ///
    /// let pool = ImapPool::new()?;
    /// let shutdown = Cancel::new();
    /// let workers_pool = pool.with_cancel(&shutdown);
    /// let config = Config::builder("imap.example.com").login("alice", "pw").build()?;
    /// let conn = workers_pool.get(&config)?; // returns Error::Cancelled once shutdown.cancel()
    /// # Ok::<(), mailwire::Error>(())
    /// ```
    pub fn with_cancel(&self, cancel: &Cancel) -> ImapPool {
        ImapPool {
            cancel: Some(cancel.clone()),
            ..self.clone()
        }
    }

    /// An authenticated connection for the account of `config`: an idle one if there is
    /// one (checked first), else a new one, waiting up to the pool's `get_timeout` when the
    /// account's limit is reached ([`Error::PoolTimeout`](crate::Error::PoolTimeout)). A
    /// connection or login failure is returned at once with its own error.
    ///
    /// The connection checks UIDVALIDITY against what the pool remembers for the account
    /// (host, port, user) and folder, whichever of its connections read it: plain UIDs read
    /// through a connection that has since been closed are still refused with
    /// [`Error::UidValidityChanged`](crate::Error::UidValidityChanged) once the folder was
    /// recreated.
    pub fn get(&self, config: &Config) -> Result<PooledImap> {
        self.get_timeout(config, self.pool.options().get_timeout)
    }

    /// Like [`get`](Self::get) with its own acquire timeout.
    pub fn get_timeout(&self, config: &Config, timeout: Duration) -> Result<PooledImap> {
        let conn = self
            .pool
            .get_cancellable(config, timeout, self.cancel.as_ref())?;
        conn.share_validities(self.validities.for_account(config));
        conn.attach_cancel(self.cancel.clone());
        Ok(conn)
    }

    crate::pool::config_pool_methods!();
}
