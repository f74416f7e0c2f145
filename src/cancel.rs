//! [`Cancel`]: a token another thread triggers to stop calls promptly — a blocked read is
//! cut through the connection's socket, a pool waiter is woken.
//!
//! A token is cheap to clone (the clones are one token) and one-way: once cancelled it
//! stays cancelled. It is *attached* to what runs the calls — an
//! [`ImapHandler`](crate::imap::ImapHandler), an [`ImapPool`](crate::imap::ImapPool), a
//! [`Pop3Pool`](crate::pop3::Pop3Pool), an [`ImapConnection`](crate::imap::ImapConnection)
//! or a [`Pop3Handler`](crate::pop3::Pop3Handler) — with their `with_cancel`, rather than
//! passed to each call: a service creates one token for its shutdown and one handler
//! with it, and every worker's fetch, append, sync and pool wait honours it without a
//! second set of methods to choose from (or to forget). One call is cancelled on its own
//! through a handler clone with its own token (`handler.with_cancel(&token)` shares the
//! pool and costs one `Arc`).
//!
//! What the calls do with it (docs/cancellation.md):
//!
//! - a call that starts with the token cancelled returns [`Error::Cancelled`] at once,
//!   without sending anything;
//! - a call under way when [`Cancel::cancel`] is called has its connection's socket shut
//!   down (the shutdown handle the `IdleListener` stops with), so a read blocked on the
//!   server returns at once; the call returns [`Error::Cancelled`], the connection is
//!   broken and a pool closes it instead of reusing it;
//! - a caller waiting for a pooled connection is woken and returns [`Error::Cancelled`].
//!
//! [`Error::Cancelled`] is never [transient](Error::is_transient): retrying is the
//! caller's decision, with a new token.

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// A cancellation token: clone it to the threads that may cancel, attach it to the handler
/// (or pool, or connection) whose calls it stops.
///
/// `Send + Sync`; [`cancel`](Self::cancel) is idempotent, never blocks on a call in
/// progress and may be called from any thread (a signal-handling thread, a timer, another
/// worker).
///
/// ```no_run
/// use mailwire::{Cancel, Config, Error};
/// use mailwire::imap::{FetchWhat, ImapHandler, Selection};
///
/// let shutdown = Cancel::new();
/// let handler = ImapHandler::new()?.with_cancel(&shutdown);
/// let account = Config::builder("imap.example.com").login("alice", "app-password").build()?;
///
/// let stopper = shutdown.clone();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(5));
///     stopper.cancel(); // the fetch below returns within moments
/// });
/// match handler.fetch_messages(&account, "INBOX", Selection::All, FetchWhat::Full) {
///     Ok(messages) => println!("{} messages", messages.len()),
///     Err(Error::Cancelled { .. }) => println!("stopped"),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    next_id: AtomicU64,
    /// What to do on cancel: cut the socket of a call under way, wake a pool waiter.
    watchers: Mutex<Vec<(u64, Arc<Watcher>)>>,
}

/// One registered action, run at most once, never after its [`Watch`] was dropped.
struct Watcher {
    /// Whether the action may still run (false once the watch ended), and whether it ran.
    /// Held while the action runs, so ending a watch waits for an action under way.
    state: Mutex<WatchState>,
    action: Box<dyn Fn() + Send + Sync>,
}

#[derive(Clone, Copy)]
struct WatchState {
    live: bool,
    fired: bool,
}

impl Watcher {
    fn fire(&self) {
        let mut state = self.state.lock();
        if state.live && !state.fired {
            state.fired = true;
            (self.action)();
        }
    }
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel")
            .field("cancelled", &self.is_cancelled())
            .field("watching", &self.inner.watchers.lock().len())
            .finish()
    }
}

impl Cancel {
    /// A token that is not cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels: every call this token is attached to that is under way is cut (its
    /// connection shut down), every pool wait is woken, and every later call returns
    /// [`Error::Cancelled`] at once. Idempotent; returns without waiting for the calls.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        // Run the actions outside the list's lock: an action may take another lock (the
        // pool's) that a thread holds while it registers or ends a watch.
        let watchers: Vec<Arc<Watcher>> = self
            .inner
            .watchers
            .lock()
            .iter()
            .map(|(_, w)| Arc::clone(w))
            .collect();
        for watcher in watchers {
            watcher.fire();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// [`Error::Cancelled`] for `operation` when the token is cancelled.
    pub(crate) fn check(&self, operation: &str) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::cancelled(operation))
        } else {
            Ok(())
        }
    }

    /// Runs `action` when the token is cancelled while the returned watch lives (at once,
    /// if it already is). The action must not wait for anything the registering thread
    /// may hold while it ends the watch.
    pub(crate) fn on_cancel(&self, action: impl Fn() + Send + Sync + 'static) -> Watch {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let watcher = Arc::new(Watcher {
            state: Mutex::new(WatchState {
                live: true,
                fired: false,
            }),
            action: Box::new(action),
        });
        self.inner.watchers.lock().push((id, Arc::clone(&watcher)));
        // A cancel that took its list before the push is seen here.
        if self.is_cancelled() {
            watcher.fire();
        }
        Watch {
            cancel: self.clone(),
            id,
            watcher,
        }
    }

    /// The error a call returns: [`Error::Cancelled`] in place of the error a cut
    /// connection produced (a close, an I/O error), when the token is cancelled.
    pub(crate) fn outcome<T>(&self, operation: &str, result: Result<T>) -> Result<T> {
        match result {
            Err(_) if self.is_cancelled() => Err(Error::cancelled(operation)),
            other => other,
        }
    }
}

/// A registration made by `Cancel::on_cancel`; dropping it (or [`finish`](Self::finish))
/// removes it. Once it is gone its action never runs.
pub(crate) struct Watch {
    cancel: Cancel,
    id: u64,
    watcher: Arc<Watcher>,
}

impl Watch {
    /// Ends the watch; whether its action ran.
    pub(crate) fn finish(self) -> bool {
        self.end()
    }

    fn end(&self) -> bool {
        let fired = {
            let mut state = self.watcher.state.lock();
            state.live = false;
            state.fired
        };
        self.cancel
            .inner
            .watchers
            .lock()
            .retain(|(id, _)| *id != self.id);
        fired
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.end();
    }
}

/// A caller's writer that fails as soon as the token is cancelled, so a stream stops at
/// the next chunk instead of first passing on what the socket had already received.
pub(crate) struct CheckedWriter<'a> {
    inner: &'a mut dyn Write,
    cancel: Option<Cancel>,
}

impl<'a> CheckedWriter<'a> {
    pub(crate) fn new(inner: &'a mut dyn Write, cancel: Option<Cancel>) -> CheckedWriter<'a> {
        CheckedWriter { inner, cancel }
    }

    fn check(&self) -> io::Result<()> {
        match &self.cancel {
            Some(cancel) if cancel.is_cancelled() => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the call was cancelled",
            )),
            _ => Ok(()),
        }
    }
}

impl Write for CheckedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.check()?;
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Asserts at compile time that the token crosses threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Cancel>();
};

/// docs/cancellation.md's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/cancellation.md")]
pub struct CancellationGuideExamples;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_new_token_is_not_cancelled_and_clones_share_it() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!a.is_cancelled());
        assert!(a.check("x").is_ok());
        b.cancel();
        b.cancel();
        assert!(a.is_cancelled());
        let e = a.check("fetching").unwrap_err();
        assert!(matches!(e, Error::Cancelled { .. }), "{e:?}");
        assert!(!e.is_transient());
        assert!(format!("{a:?}").contains("cancelled: true"));
    }

    #[test]
    fn actions_run_once_while_watched_and_never_after() {
        let token = Cancel::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let gone = token.on_cancel(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!gone.finish());
        let r = Arc::clone(&runs);
        let watch = token.on_cancel(move || {
            r.fetch_add(10, Ordering::SeqCst);
        });
        token.cancel();
        token.cancel();
        assert_eq!(runs.load(Ordering::SeqCst), 10);
        assert!(watch.finish());
        assert_eq!(token.inner.watchers.lock().len(), 0);
        // Registered after the cancel: runs at once.
        let r = Arc::clone(&runs);
        let late = token.on_cancel(move || {
            r.fetch_add(100, Ordering::SeqCst);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 110);
        drop(late);
    }

    #[test]
    fn outcome_turns_errors_into_cancelled_only_when_cancelled() {
        let token = Cancel::new();
        let closed = || Error::Closed {
            context: "x".into(),
        };
        assert!(matches!(
            token.outcome::<()>("op", Err(closed())),
            Err(Error::Closed { .. })
        ));
        token.cancel();
        assert!(matches!(
            token.outcome::<()>("op", Err(closed())),
            Err(Error::Cancelled { .. })
        ));
        assert!(token.outcome("op", Ok(1)).is_ok());
    }
}
