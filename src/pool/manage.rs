//! [`Manage`]: what a pooled connection is, and how the pool opens, checks and closes it.

use super::ReuseKey;
#[cfg(doc)]
use super::{Pool, PoolOptions};
use crate::cancel::Cancel;
use crate::error::Result;

/// Opens, checks and closes the connections of a [`Pool`].
///
/// The IMAP and POP3 pools implement it for their connection types; tests implement it with
/// fakes. All methods may be called from any thread, several at once.
pub trait Manage: Send + Sync + 'static {
    /// What [`Pool::get`] is given to find or open a connection (e.g. a
    /// [`Config`](crate::Config)).
    type Target: ?Sized;
    /// The pooled connection.
    type Connection: Send + 'static;

    /// Which connections `target` may be handed, and (through [`ReuseKey::account`]) which
    /// account's limit they count against. A connection is only ever handed to targets with
    /// an equal key, so the key must cover everything that makes two connections different
    /// (credentials, trust, limits, timeouts, …): build it with [`ReuseKey::for_config`],
    /// or with [`ReuseKey::new`] and an identity that covers the secret and every such
    /// setting.
    fn reuse_key(&self, target: &Self::Target) -> ReuseKey;

    /// Opens and authenticates a new connection. Bounded by the manager's own timeouts; the
    /// error is handed to the caller of [`Pool::get`] unchanged.
    fn connect(&self, target: &Self::Target) -> Result<Self::Connection>;

    /// [`connect`](Self::connect) for a checkout that honours `cancel` (a pool handle made
    /// with `with_cancel`): an implementation that can cut a connect in progress does so
    /// when the token is cancelled and returns [`Error::Cancelled`](crate::Error::Cancelled).
    /// The default connects as [`connect`](Self::connect) does and reports the cancel
    /// afterwards.
    fn connect_cancellable(
        &self,
        target: &Self::Target,
        cancel: &Cancel,
    ) -> Result<Self::Connection> {
        let conn = self.connect(target)?;
        cancel.check("connecting")?;
        Ok(conn)
    }

    /// Checks that an idle connection still works (e.g. IMAP `NOOP`, POP3 `NOOP`), bounded
    /// by the I/O timeout. Called at checkout for connections idle longer than
    /// [`PoolOptions::test_after`]; on an error the connection is closed and another one
    /// is used.
    fn is_valid(&self, conn: &mut Self::Connection) -> Result<()>;

    /// Whether the connection is known to be unusable (it saw an I/O, timeout or protocol
    /// error, or the server closed it). Must be cheap and must never wait: it is called each
    /// time a connection is given back and each time an idle one is checked out (a
    /// non-blocking look at the socket is fine).
    fn has_broken(&self, conn: &mut Self::Connection) -> bool;

    /// Closes a connection the pool discards (politely, e.g. `LOGOUT` / `QUIT`, when it is
    /// not broken). Called outside the pool's lock for every connection the pool drops,
    /// broken ones included. The default just drops it.
    fn close(&self, conn: Self::Connection) {
        drop(conn);
    }
}
