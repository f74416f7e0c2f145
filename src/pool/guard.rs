//! `Pooled`: the guard of a checked-out connection; dropped, it gives the connection back.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Instant;

use super::{AccountKey, Manage, ReuseKey, Shared};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;

/// A checked-out connection: dereferences to it and gives it back to the pool when dropped.
///
/// A connection marked broken (by [`mark_broken`](Self::mark_broken), by
/// [`run`](Self::run) on an error that breaks it, or by [`Manage::has_broken`]), one whose
/// account was cleared, one past `max_lifetime`, and one dropped while its thread panics
/// (it may be halfway through a command) is closed instead of reused.
pub struct Pooled<M: Manage> {
    pub(super) conn: Option<M::Connection>,
    pub(super) shared: Arc<Shared<M>>,
    pub(super) key: Arc<ReuseKey>,
    pub(super) created: Instant,
    pub(super) generation: u64,
    pub(super) broken: bool,
}

impl<M: Manage> Pooled<M> {
    /// Makes sure the connection is closed, not reused, when the guard is dropped.
    pub fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Whether [`mark_broken`](Self::mark_broken) was called.
    pub fn is_marked_broken(&self) -> bool {
        self.broken
    }

    /// The account the connection belongs to.
    pub fn key(&self) -> &AccountKey {
        self.key.account()
    }

    /// The key that decided who may be handed the connection: it goes back to callers with
    /// an equal key only.
    pub fn reuse_key(&self) -> &ReuseKey {
        &self.key
    }

    /// Runs `f` on the connection and marks it broken when `f` fails with an error that
    /// [breaks the connection](Error::breaks_connection) (I/O, timeout, protocol, limit).
    /// When that error is also a throttling answer ([`Error::retry_after`], e.g. Microsoft
    /// 365's "User is authenticated but not connected"), the account backs off as after a
    /// throttled connect (see [`PoolOptions::max_backoff`](super::PoolOptions::max_backoff)).
    pub fn run<T>(&mut self, f: impl FnOnce(&mut M::Connection) -> Result<T>) -> Result<T> {
        let result = f(self);
        if let Err(e) = &result
            && e.breaks_connection()
        {
            self.broken = true;
            if e.retry_after().is_some() {
                self.shared.throttled_in_use(self.key.account_arc(), e);
            }
        }
        result
    }
}

impl<M: Manage> Deref for Pooled<M> {
    type Target = M::Connection;

    fn deref(&self) -> &M::Connection {
        match &self.conn {
            Some(conn) => conn,
            // The connection is only taken out in `drop`.
            None => unreachable_connection(),
        }
    }
}

impl<M: Manage> DerefMut for Pooled<M> {
    fn deref_mut(&mut self) -> &mut M::Connection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

// INVARIANT: `Pooled::conn` is `Some` from construction until `Drop::drop`, the only place
// that takes it; nothing can dereference a guard after its `drop` ran. Safe Rust offers no
// way to move a field out in `drop` without an `Option`, hence this one impossible branch.
#[cold]
fn unreachable_connection() -> ! {
    unreachable!("a pooled connection was used after it was given back")
}

impl<M: Manage> Drop for Pooled<M> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.shared
                .give_back(&self.key, conn, self.created, self.generation, self.broken);
        }
    }
}

impl<M: Manage> fmt::Debug for Pooled<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("account", &self.key.to_string())
            .field("age", &self.created.elapsed())
            .field("marked_broken", &self.broken)
            .finish_non_exhaustive()
    }
}
