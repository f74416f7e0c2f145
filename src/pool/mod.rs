//! The connection pool core shared by the IMAP and POP3 pools.
//!
//! [`Pool<M>`] keeps authenticated connections per account and hands them out as [`Pooled`]
//! guards that give the connection back when dropped. What a connection is, how it is opened,
//! checked and closed is up to a [`Manage`] implementation (after r2d2's
//! `ManageConnection`); the pool does the rest:
//!
//! - two keys (see [`ReuseKey`]): connections are *counted* per [`AccountKey`] (host, port,
//!   user; no secret), and *handed out* only to a caller with an equal [`ReuseKey`] (the
//!   account plus a keyed digest of the credentials and of every setting that changes trust
//!   or behaviour). A caller naming someone else's user with a wrong password, trusting
//!   other root certificates or asking for smaller limits is never handed a connection made
//!   for another config; two configs of one account still share its limit;
//! - at most [`PoolOptions::max_per_account`] connections per account and optionally
//!   [`PoolOptions::max_total`] in all; callers beyond that wait in arrival order until
//!   [`PoolOptions::get_timeout`], then get [`Error::PoolTimeout`]. A failure to connect is
//!   returned at once with its own error, never hidden behind a timeout;
//! - a connect refused with a throttling answer ([`Error::retry_after`]), or a throttling
//!   answer that broke a connection, backs the account off (`backoff.rs`): no new
//!   connection for the hint, doubling on repeats up to [`PoolOptions::max_backoff`], then
//!   one probe at a time, until a connect succeeds. Callers meanwhile get connections that
//!   come back, wait for the backoff to pass, or get the throttling error (transient, with
//!   its hint) once their timeout ends — at once when the backoff outlasts it and the
//!   account has no connection that could come back;
//! - idle connections are reused last-in first-out and checked with
//!   [`Manage::is_valid`] when they sat idle longer than [`PoolOptions::test_after`]. When
//!   an account is at its limit and the caller first in line finds only idle connections of
//!   other configs of the account, the longest-idle one is closed to make room;
//! - a connection marked broken ([`Pooled::mark_broken`], [`Pooled::run`] on an error that
//!   [breaks the connection](Error::breaks_connection), or [`Manage::has_broken`]) is closed
//!   on return, never reused;
//! - one background thread closes connections idle longer than
//!   [`PoolOptions::idle_timeout`] or older than [`PoolOptions::max_lifetime`]; it ends when
//!   the last clone of the pool is dropped, closing the idle connections on its way out.
//!
//! Connecting and closing (which may do I/O such as `LOGOUT`) always happen outside the
//! pool's lock: a slow server never blocks checkouts for other accounts. A connection's slot
//! is released only once it is closed, so with one connection per account (POP3's maildrop
//! lock) a new session never logs in while the old one is still quitting.
//!
//! Log lines use the target `mailwire::pool` and name the account by its [`AccountKey`]
//! (`user@host:port`, percent-encoded where needed).

mod backoff;
mod cancelling;
mod front;
mod guard;
mod key;
mod manage;
mod options;
mod semaphore;
mod state;
mod stats;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use backoff::{Backoff, Gate};
pub(crate) use front::config_pool_methods;
pub use guard::Pooled;
pub use key::{AccountKey, ReuseKey};
pub use manage::Manage;
pub use options::PoolOptions;
use state::{Account, Doomed, Got, IdleConn, State, Turn};
pub use stats::AccountStats;

const LOG: &str = "mailwire::pool";

struct Shared<M: Manage> {
    manager: M,
    options: PoolOptions,
    state: Mutex<State<M::Connection>>,
    cond: Condvar,
}

impl<M: Manage> Shared<M> {
    fn notify_if_waiting(&self, state: &State<M::Connection>) {
        if state.waiting > 0 {
            self.cond.notify_all();
        }
    }

    /// Closes connections taken out of the idle lists, then releases their slots.
    fn discard(&self, doomed: Vec<Doomed<M::Connection>>) {
        if doomed.is_empty() {
            return;
        }
        let mut done = Vec::with_capacity(doomed.len());
        for d in doomed {
            log::debug!(target: LOG, "{}: closing idle connection ({})", d.key, d.reason);
            self.manager.close(d.conn);
            done.push(d.key);
        }
        let mut state = self.state.lock();
        for key in &done {
            let account = state.account(key);
            account.closing = account.closing.saturating_sub(1);
            account.closed += 1;
            state.total = state.total.saturating_sub(1);
        }
        self.notify_if_waiting(&state);
    }

    /// Closes a checked-out connection, then releases its slot.
    fn discard_in_use(&self, key: &Arc<AccountKey>, conn: M::Connection, broken: bool) {
        self.manager.close(conn);
        self.release_in_use(key, broken);
    }

    fn release_in_use(&self, key: &Arc<AccountKey>, broken: bool) {
        let mut state = self.state.lock();
        let account = state.account(key);
        account.in_use = account.in_use.saturating_sub(1);
        account.closed += 1;
        if broken {
            account.broken += 1;
        }
        state.total = state.total.saturating_sub(1);
        self.notify_if_waiting(&state);
    }

    /// Why an idle connection must be closed rather than handed out, if it must.
    fn expiry(
        &self,
        idle: &IdleConn<M::Connection>,
        generation: u64,
        now: Instant,
    ) -> Option<&'static str> {
        if idle.generation != generation {
            Some("cleared")
        } else if now.saturating_duration_since(idle.created) >= self.options.max_lifetime {
            Some("older than max_lifetime")
        } else if now.saturating_duration_since(idle.idle_since) >= self.options.idle_timeout {
            Some("idle longer than idle_timeout")
        } else {
            None
        }
    }

    /// Under the lock: what the caller holding `ticket` for `reuse` can have now, if
    /// anything.
    fn try_take(
        &self,
        state: &mut State<M::Connection>,
        reuse: &ReuseKey,
        ticket: u64,
        now: Instant,
    ) -> Option<Turn<M::Connection>> {
        let options = &self.options;
        let total = state.total;
        let account = state.account(reuse.account_arc());
        if !account.queue.is_first(ticket) {
            return None;
        }
        let mut doomed = Vec::new();
        // Newest first: the most recent idle connection of this config, closing the expired
        // ones (of any config of the account) met on the way.
        loop {
            let generation = account.generation;
            let found = account.idle.iter().rposition(|idle| {
                *idle.reuse == *reuse || self.expiry(idle, generation, now).is_some()
            });
            // `rposition` only returns indices in range.
            let Some(i) = found.filter(|&i| i < account.idle.len()) else {
                break;
            };
            let idle = account.idle.remove(i);
            match self.expiry(&idle, generation, now) {
                Some(reason) => account.doom(idle, reason, &mut doomed),
                None => {
                    account.in_use += 1;
                    return Some(Turn {
                        got: Got::Idle(idle),
                        doomed,
                    });
                }
            }
        }
        let slots = account.slots();
        if semaphore::may_open(slots, options.max_per_account, total, options.max_total) {
            let probe = match Backoff::gate(&mut account.throttle, now) {
                Gate::Open => false,
                Gate::Probe => true,
                // Throttled: wait for a connection to come back or for the backoff to pass.
                Gate::Closed(_) => return Self::retry_if_doomed(doomed),
            };
            account.in_use += 1;
            state.total += 1;
            return Some(Turn {
                got: Got::Connect { probe },
                doomed,
            });
        }
        if account.throttle.is_some() {
            // No room is made for a connection the backoff would not let it open.
        } else if semaphore::account_full(slots, options.max_per_account) {
            // The account's permits are taken; idle ones belong to other configs of the
            // account (none matched above): close the longest-idle to make room.
            account.doom_longest_idle("making room for another config of the account", &mut doomed);
        } else if semaphore::blocked_by_total(
            slots,
            options.max_per_account,
            total,
            options.max_total,
        ) {
            // Make room by closing the longest-idle connection of the pool. None of this
            // account's idle connections is this config's (none matched above).
            let victim = state
                .accounts
                .values_mut()
                .filter_map(|a| {
                    let since = a.idle.first()?.idle_since;
                    Some((since, a))
                })
                .min_by_key(|(since, _)| *since)
                .map(|(_, a)| a);
            if let Some(victim) = victim {
                victim.doom_longest_idle("making room under max_total", &mut doomed);
            }
        }
        Self::retry_if_doomed(doomed)
    }

    /// Nothing to take: a retry when expired connections must be closed first.
    fn retry_if_doomed(doomed: Vec<Doomed<M::Connection>>) -> Option<Turn<M::Connection>> {
        if doomed.is_empty() {
            None
        } else {
            Some(Turn {
                got: Got::Retry,
                doomed,
            })
        }
    }

    /// Under the lock, for a caller that found nothing to take: the throttling answer of a
    /// backed-off account when waiting cannot help, i.e. at the deadline, or when the
    /// backoff outlasts the deadline and the account has no connection that could come
    /// back. `None` when the caller should go on waiting (or time out as usual).
    fn throttled_now(
        state: &mut State<M::Connection>,
        key: &Arc<AccountKey>,
        deadline: Option<Instant>,
        now: Instant,
    ) -> Option<Error> {
        let account = state.account(key);
        let backoff = account.throttle.as_ref()?;
        let at_deadline = deadline.is_some_and(|d| now >= d);
        let hopeless = deadline.is_some_and(|d| backoff.until >= d) && account.slots() == 0;
        if at_deadline || hopeless {
            Backoff::error(&account.throttle)
        } else {
            None
        }
    }

    /// Waits in line for `key`'s account until something can be taken or the deadline
    /// passes.
    ///
    /// `place` is the caller's ticket when it already stands in line: after a
    /// [`Got::Retry`] the caller keeps its place (it is closing connections to make room
    /// for itself, and nobody behind may take that room), otherwise the ticket is given
    /// up before returning.
    fn wait_turn(
        &self,
        key: &ReuseKey,
        start: Instant,
        deadline: Option<Instant>,
        place: &mut Place<'_, M>,
        cancel: Option<&Cancel>,
    ) -> Result<Turn<M::Connection>> {
        let mut state = self.state.lock();
        let ticket = match place.ticket {
            Some(ticket) => ticket,
            None => {
                let ticket = state.next_ticket;
                state.next_ticket = state.next_ticket.wrapping_add(1);
                state.account(key.account_arc()).queue.push(ticket);
                state.waiting += 1;
                place.ticket = Some(ticket);
                ticket
            }
        };
        let outcome = loop {
            if let Err(e) = cancelling::check(cancel) {
                break Err(e);
            }
            let now = Instant::now();
            if let Some(turn) = self.try_take(&mut state, key, ticket, now) {
                break Ok(turn);
            }
            if let Some(error) = Self::throttled_now(&mut state, key.account_arc(), deadline, now) {
                break Err(error);
            }
            // A backed-off account's waiters wake when the backoff passes, to probe.
            let backoff_ends = state
                .account(key.account_arc())
                .throttle
                .as_ref()
                .map(|b| b.until)
                .filter(|&until| until > now);
            match deadline {
                Some(deadline) if now >= deadline => {
                    let waited = now.saturating_duration_since(start);
                    break Err(Error::PoolTimeout {
                        account: key.to_string(),
                        waited,
                    });
                }
                deadline => match backoff_ends.into_iter().chain(deadline).min() {
                    Some(wake) => {
                        self.cond.wait_until(&mut state, wake);
                    }
                    None => self.cond.wait(&mut state),
                },
            }
        };
        if let Ok(Turn {
            got: Got::Retry, ..
        }) = &outcome
        {
            return outcome;
        }
        place.ticket = None;
        if let Err(Error::PoolTimeout { .. }) = &outcome {
            state.account(key.account_arc()).timeouts += 1;
        }
        self.leave_line(&mut state, key.account_arc(), ticket);
        outcome
    }

    /// Takes `ticket` out of the account's line and wakes the next in line.
    fn leave_line(&self, state: &mut State<M::Connection>, account: &Arc<AccountKey>, ticket: u64) {
        state.waiting = state.waiting.saturating_sub(1);
        let account = state.account(account);
        account.queue.remove(ticket);
        if !account.queue.is_empty() {
            // The next in line may now be first.
            self.cond.notify_all();
        }
    }

    fn checkout(
        self: &Arc<Self>,
        target: &M::Target,
        timeout: Duration,
        cancel: Option<&Cancel>,
    ) -> Result<Pooled<M>> {
        let _wake = cancelling::wake_on_cancel(self, cancel)?;
        let key = Arc::new(self.manager.reuse_key(target));
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        let mut place = Place {
            shared: self,
            account: Arc::clone(key.account_arc()),
            ticket: None,
        };
        loop {
            let turn = match self.wait_turn(&key, start, deadline, &mut place, cancel) {
                Ok(turn) => turn,
                Err(e) => {
                    cancelling::log_failure(&key, &e, "");
                    return Err(e);
                }
            };
            self.discard(turn.doomed);
            match turn.got {
                Got::Retry => continue,
                Got::Idle(idle) => {
                    let mut conn = idle.conn;
                    let idle_for = Instant::now().saturating_duration_since(idle.idle_since);
                    // A connection the server closed while it sat idle (cheap, no I/O
                    // wait), whatever its idle time.
                    if self.manager.has_broken(&mut conn) {
                        log::info!(
                            target: LOG,
                            "{key}: idle connection was closed or broken meanwhile, replacing it"
                        );
                        self.discard_in_use(key.account_arc(), conn, true);
                        continue;
                    }
                    if idle_for >= self.options.test_after
                        && let Err(e) = self.manager.is_valid(&mut conn)
                    {
                        log::info!(
                            target: LOG,
                            "{key}: connection idle for {idle_for:?} failed its health check, closing it: {e}"
                        );
                        self.discard_in_use(key.account_arc(), conn, true);
                        continue;
                    }
                    return Ok(Pooled {
                        conn: Some(conn),
                        shared: Arc::clone(self),
                        key,
                        created: idle.created,
                        generation: idle.generation,
                        broken: false,
                    });
                }
                Got::Connect { probe } => return self.connect(target, key, probe, cancel),
            }
        }
    }

    /// Opens a connection on a permit; `probe` when it is a throttled account's one attempt.
    fn connect(
        self: &Arc<Self>,
        target: &M::Target,
        key: Arc<ReuseKey>,
        probe: bool,
        cancel: Option<&Cancel>,
    ) -> Result<Pooled<M>> {
        let connected = match cancel {
            Some(cancel) => self.manager.connect_cancellable(target, cancel),
            None => self.manager.connect(target),
        };
        match connected {
            Ok(conn) => {
                let mut state = self.state.lock();
                let account = state.account(key.account_arc());
                account.created += 1;
                let generation = account.generation;
                let open = account.slots();
                if account.throttle.take().is_some() {
                    log::info!(target: LOG, "{key}: connected again, the throttling backoff is over");
                    self.notify_if_waiting(&state);
                }
                drop(state);
                log::debug!(
                    target: LOG,
                    "{key}: opened a connection ({open} open for the account)"
                );
                Ok(Pooled {
                    conn: Some(conn),
                    shared: Arc::clone(self),
                    key,
                    created: Instant::now(),
                    generation,
                    broken: false,
                })
            }
            Err(e) => {
                cancelling::log_failure(&key, &e, "could not connect: ");
                let mut state = self.state.lock();
                let account = state.account(key.account_arc());
                account.in_use = account.in_use.saturating_sub(1);
                if !matches!(e, Error::Cancelled { .. }) {
                    account.connect_errors += 1;
                }
                if e.retry_after().is_some() {
                    account.throttled += 1;
                }
                let cap = self.options.max_backoff;
                let now = Instant::now();
                if let Some(wait) = Backoff::failed(&mut account.throttle, &e, probe, now, cap) {
                    log::warn!(target: LOG, "{key}: the server throttles the account; no new connection for {wait:?}");
                }
                state.total = state.total.saturating_sub(1);
                self.notify_if_waiting(&state);
                Err(e)
            }
        }
    }

    /// Backs the account off after a throttling answer broke one of its open connections.
    fn throttled_in_use(&self, key: &Arc<AccountKey>, error: &Error) {
        let mut state = self.state.lock();
        let account = state.account(key);
        let cap = self.options.max_backoff;
        if let Some(wait) =
            Backoff::failed(&mut account.throttle, error, false, Instant::now(), cap)
        {
            log::warn!(target: LOG, "{key}: the server throttles the account ({error}); no new connection for {wait:?}");
        }
    }

    /// Takes a connection back from a guard.
    fn give_back(
        &self,
        key: &Arc<ReuseKey>,
        mut conn: M::Connection,
        created: Instant,
        generation: u64,
        marked_broken: bool,
    ) {
        let panicking = std::thread::panicking();
        let broken = marked_broken || panicking || self.manager.has_broken(&mut conn);
        let now = Instant::now();
        let mut state = self.state.lock();
        let closed = state.closed;
        let account = state.account(key.account_arc());
        let reason = if broken {
            if panicking {
                "its user panicked"
            } else {
                "broken"
            }
        } else if closed {
            "pool dropped"
        } else if generation != account.generation {
            "cleared"
        } else if now.saturating_duration_since(created) >= self.options.max_lifetime {
            "older than max_lifetime"
        } else {
            account.in_use = account.in_use.saturating_sub(1);
            account.idle.push(IdleConn {
                conn,
                reuse: Arc::clone(key),
                created,
                idle_since: now,
                generation,
            });
            self.notify_if_waiting(&state);
            return;
        };
        drop(state);
        log::debug!(target: LOG, "{key}: closing returned connection ({reason})");
        self.discard_in_use(key.account_arc(), conn, broken);
    }

    /// Closes idle connections past `idle_timeout` or `max_lifetime`.
    fn reap(&self) {
        let now = Instant::now();
        let mut doomed = Vec::new();
        let mut state = self.state.lock();
        for account in state.accounts.values_mut() {
            let mut kept = Vec::with_capacity(account.idle.len());
            for idle in std::mem::take(&mut account.idle) {
                match self.expiry(&idle, account.generation, now) {
                    Some(reason) => account.doom(idle, reason, &mut doomed),
                    None => kept.push(idle),
                }
            }
            account.idle = kept;
        }
        drop(state);
        self.discard(doomed);
    }

    /// Marks the pool closed and closes every idle connection.
    fn shut_down(&self) {
        let mut doomed = Vec::new();
        let mut state = self.state.lock();
        state.closed = true;
        for account in state.accounts.values_mut() {
            account.drain_idle("pool dropped", &mut doomed);
        }
        drop(state);
        log::debug!(target: LOG, "pool dropped: closing {} idle connection(s)", doomed.len());
        self.discard(doomed);
    }
}

impl<M: Manage> Drop for Shared<M> {
    fn drop(&mut self) {
        // Normally the reaper closed everything on its way out; this covers a pool whose
        // reaper never ran.
        let state = self.state.get_mut();
        for account in state.accounts.values_mut() {
            for idle in account.idle.drain(..) {
                self.manager.close(idle.conn);
            }
        }
    }
}

/// A caller's place in its account's line, kept while it closes connections to make room
/// for itself. Dropping it with a ticket still held (an early return, or a panic in
/// [`Manage::close`]) gives the place up, so the line never stalls behind a caller that is
/// gone.
struct Place<'a, M: Manage> {
    shared: &'a Shared<M>,
    account: Arc<AccountKey>,
    ticket: Option<u64>,
}

impl<M: Manage> Drop for Place<'_, M> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let mut state = self.shared.state.lock();
            self.shared.leave_line(&mut state, &self.account, ticket);
        }
    }
}

/// Owned by the `Pool` handles: dropping the last one closes `stop`, which ends the reaper.
struct Handle<M: Manage> {
    shared: Arc<Shared<M>>,
    _stop: Sender<()>,
    _reaper: JoinHandle<()>,
}

/// A pool of connections made by a [`Manage`] implementation, keyed by account.
///
/// `Send + Sync` and cheap to clone: clones share the same connections. The background
/// reaper thread ends, and the idle connections are closed, once the last clone is dropped;
/// connections still checked out are closed when their guards are dropped.
pub struct Pool<M: Manage> {
    inner: Arc<Handle<M>>,
}

impl<M: Manage> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: Manage> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.shared.state.lock();
        f.debug_struct("Pool")
            .field("options", &self.inner.shared.options)
            .field("accounts", &state.accounts.len())
            .field("open", &state.total)
            .field("waiting", &state.waiting)
            .finish()
    }
}

fn reaper<M: Manage>(shared: Arc<Shared<M>>, stop: Receiver<()>, every: Duration) {
    // Nothing is ever sent: the channel only disconnects when the last handle is dropped.
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        shared.reap();
    }
    shared.shut_down();
}

impl<M: Manage> Pool<M> {
    /// Creates a pool and starts its reaper thread (`mailwire-pool-reaper`).
    ///
    /// Fails with [`Error::InvalidInput`] when `max_per_account` or `max_total` is zero or
    /// `idle_timeout` / `max_lifetime` is zero, and with [`Error::Io`] when the thread
    /// cannot be started.
    pub fn new(manager: M, options: PoolOptions) -> Result<Pool<M>> {
        options.validate()?;
        let shared = Arc::new(Shared {
            manager,
            options,
            state: Mutex::new(State {
                accounts: HashMap::new(),
                total: 0,
                waiting: 0,
                next_ticket: 0,
                closed: false,
            }),
            cond: Condvar::new(),
        });
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let every = options.reap_interval();
        let for_thread = Arc::clone(&shared);
        let reaper = std::thread::Builder::new()
            .name("mailwire-pool-reaper".to_string())
            .spawn(move || reaper(for_thread, stopped, every))
            .map_err(|source| Error::Io {
                operation: "starting the pool's reaper thread".to_string(),
                source,
            })?;
        Ok(Pool {
            inner: Arc::new(Handle {
                shared,
                _stop: stop,
                _reaper: reaper,
            }),
        })
    }

    /// Checks out a connection for `target`, waiting up to
    /// [`PoolOptions::get_timeout`]; see [`get_timeout`](Self::get_timeout).
    pub fn get(&self, target: &M::Target) -> Result<Pooled<M>> {
        self.get_timeout(target, self.inner.shared.options.get_timeout)
    }

    /// Checks out a connection for `target`, waiting up to `timeout` for one to be free.
    ///
    /// Reuses the most recently returned idle connection of the account (after a health
    /// check if it sat idle longer than [`PoolOptions::test_after`]), or opens a new one when
    /// the limits allow. Fails with [`Error::PoolTimeout`] when every permitted connection
    /// stayed busy for `timeout`, and at once with the manager's own error when connecting
    /// fails (an authentication failure is never retried here). After the server throttled
    /// the account ([`Error::retry_after`]) no new connection is opened until its backoff
    /// has passed ([`PoolOptions::max_backoff`]): the call waits for a connection to come
    /// back or for the backoff to end, and fails with the throttling error instead of
    /// [`Error::PoolTimeout`] when `timeout` ends first.
    pub fn get_timeout(&self, target: &M::Target, timeout: Duration) -> Result<Pooled<M>> {
        self.inner.shared.checkout(target, timeout, None)
    }

    /// [`get_timeout`](Self::get_timeout) that returns [`Error::Cancelled`] at once when
    /// `cancel` is (or becomes, while it waits in line) cancelled.
    pub(crate) fn get_cancellable(
        &self,
        target: &M::Target,
        timeout: Duration,
        cancel: Option<&Cancel>,
    ) -> Result<Pooled<M>> {
        self.inner.shared.checkout(target, timeout, cancel)
    }

    /// The account `target`'s connections count against (what [`stats_for`](Self::stats_for)
    /// and [`clear`](Self::clear) take).
    pub fn key_for(&self, target: &M::Target) -> AccountKey {
        self.inner
            .shared
            .manager
            .reuse_key(target)
            .account()
            .clone()
    }

    /// The key that decides which idle connections `target` may be handed.
    pub fn reuse_key_for(&self, target: &M::Target) -> ReuseKey {
        self.inner.shared.manager.reuse_key(target)
    }

    /// Closes the idle connections of the account `key` now (those of every config of the
    /// account); its checked-out connections are closed when given back.
    pub fn clear(&self, key: &AccountKey) {
        let shared = &self.inner.shared;
        let mut doomed = Vec::new();
        let mut state = shared.state.lock();
        if let Some(account) = state.accounts.get_mut(key) {
            account.generation = account.generation.wrapping_add(1);
            account.drain_idle("cleared", &mut doomed);
        }
        drop(state);
        log::debug!(target: LOG, "{key}: cleared");
        shared.discard(doomed);
    }

    /// [`clear`](Self::clear) for every account.
    pub fn clear_all(&self) {
        let shared = &self.inner.shared;
        let mut doomed = Vec::new();
        let mut state = shared.state.lock();
        for account in state.accounts.values_mut() {
            account.generation = account.generation.wrapping_add(1);
            account.drain_idle("cleared", &mut doomed);
        }
        drop(state);
        log::debug!(target: LOG, "all accounts cleared");
        shared.discard(doomed);
    }

    /// The statistics of every account the pool has seen, sorted by key.
    pub fn stats(&self) -> Vec<(AccountKey, AccountStats)> {
        let state = self.inner.shared.state.lock();
        let mut all: Vec<_> = state
            .accounts
            .values()
            .map(|a| ((*a.key).clone(), a.stats()))
            .collect();
        drop(state);
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The statistics of one account (all zero for an account never seen).
    pub fn stats_for(&self, key: &AccountKey) -> AccountStats {
        let state = self.inner.shared.state.lock();
        state
            .accounts
            .get(key)
            .map(Account::stats)
            .unwrap_or_default()
    }

    /// How many connections are open in the whole pool (idle, in use, being opened or
    /// closed).
    pub fn open_connections(&self) -> usize {
        self.inner.shared.state.lock().total
    }

    /// The options the pool was created with.
    pub fn options(&self) -> &PoolOptions {
        &self.inner.shared.options
    }

    /// The manager.
    pub fn manager(&self) -> &M {
        &self.inner.shared.manager
    }
}
