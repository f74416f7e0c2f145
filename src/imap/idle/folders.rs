//! A listener over several folders on one connection: `NOTIFY` (RFC 5465) when the server
//! has it — nothing selected, `IDLE` until the server's untagged `STATUS` names a changed
//! folder — otherwise `IDLE` on the first folder and `STATUS` of the others every
//! `status_interval`. Whatever announced a change, what changed is found by the sync
//! engine (QRESYNC, CONDSTORE or UID + flags) from that folder's state, so every event is
//! exact and carries UIDs; the catch-up after a reconnect syncs every folder.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::group::gate::Gate;
use super::run::{connect_permit, open_watched};
use super::{Callback, Stop};
use crate::config::{Config, RetryPolicy};
use crate::error::{Error, Result};
use crate::imap::codec::{Command, MailboxName, StatusAttr};
use crate::imap::idle_queue::{EventQueue, IdleEvent, WatchMode};
use crate::imap::session::Session;
use crate::imap::sync::run::{SyncRun, run_sync};
use crate::imap::sync::{SyncDelta, SyncState, SyncStrategy};
use crate::imap::types::{Status, StatusData, Untagged};
use crate::net::retry::Delays;

/// One watched folder and what the listener knows of it.
pub(super) struct Watched {
    pub(super) name: Arc<str>,
    pub(super) state: SyncState,
}

pub(super) struct FolderWorker {
    pub(super) config: Config,
    pub(super) folders: Vec<Watched>,
    pub(super) renew_every: Duration,
    pub(super) status_interval: Duration,
    pub(super) force_status_polling: bool,
    pub(super) callbacks: Vec<Callback>,
    pub(super) events: EventQueue,
    pub(super) stop: Arc<Stop>,
    pub(super) session: Option<Session>,
    pub(super) mode: Arc<Mutex<WatchMode>>,
    /// The connect gate of the listener's group: every connect takes a permit of it.
    pub(super) gate: Option<Arc<Gate>>,
}

impl FolderWorker {
    fn emit(&mut self, event: IdleEvent) {
        log::debug!(target: "mailwire::idle", "[idle {} folders] event {event:?}", self.folders.len());
        for (i, callback) in self.callbacks.iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| callback(&event))).is_err() {
                log::error!(target: "mailwire::idle", "[idle folders] callback #{i} panicked on {event:?}; delivery goes on");
            }
        }
        self.events.push(event);
    }

    fn session(&mut self) -> Result<&mut Session> {
        self.session.as_mut().ok_or_else(|| Error::Closed {
            context: "(the listener's connection is gone)".into(),
        })
    }

    /// The mode for this connection's capabilities.
    fn choose_mode(&self, s: &Session) -> WatchMode {
        if !self.force_status_polling
            && s.capabilities().has("NOTIFY")
            && s.capabilities().has("IDLE")
        {
            WatchMode::Notify
        } else {
            WatchMode::IdleWithStatusPolling
        }
    }

    fn set_mode(&self, mode: WatchMode) {
        let mut m = self.mode.lock();
        if *m != mode {
            log::info!(target: "mailwire::idle", "[idle folders] watching {} folders in mode {mode:?}", self.folders.len());
        }
        *m = mode;
    }

    /// Connects and syncs every folder (reporting what changed since the last time; nothing
    /// on the first open), leaving none selected.
    pub(super) fn open(&mut self) -> Result<()> {
        let _permit = connect_permit(self.gate.as_ref(), &self.stop)?;
        let mut session = open_watched(&self.config, &self.stop)?;
        session.read_news_from_answers();
        let mode = self.choose_mode(&session);
        self.set_mode(mode);
        self.session = Some(session);
        for i in 0..self.folders.len() {
            self.sync(i)?;
        }
        Ok(())
    }

    /// Opens folder `i` read-only with a sync from its state, reports the difference and
    /// leaves the folder again.
    fn sync(&mut self, i: usize) -> Result<()> {
        let run = SyncRun {
            strategy: SyncStrategy::Auto,
            max_ranges: self.config.limits().max_set_ranges,
            read_only: true,
        };
        let Some(w) = self.folders.get(i) else {
            return Ok(());
        };
        let (name, first, old) = (
            Arc::clone(&w.name),
            w.state.is_initial(),
            w.state.uid_validity(),
        );
        let state = w.state.clone();
        let s = self.session()?;
        let delta = run_sync(s, &name, &state, run)?;
        s.leave_folder()?;
        self.report(i, first, old, delta);
        Ok(())
    }

    fn report(&mut self, i: usize, first: bool, old: Option<u32>, delta: SyncDelta) {
        let Some(w) = self.folders.get_mut(i) else {
            return;
        };
        let folder = Arc::clone(&w.name);
        let SyncDelta {
            new,
            flags_changed,
            vanished,
            uid_validity_reset,
            state,
            ..
        } = delta;
        let new_validity = state.uid_validity();
        w.state = state;
        if first {
            return;
        }
        let wrap = |event| IdleEvent::InFolder {
            folder: Arc::clone(&folder),
            event: Box::new(event),
        };
        if uid_validity_reset && let (Some(old), Some(new)) = (old, new_validity) {
            self.emit(wrap(IdleEvent::UidValidityChanged { old, new }));
        }
        for (uid, flags) in flags_changed {
            if new.binary_search(&uid).is_err() {
                self.emit(wrap(IdleEvent::FlagsChanged { uid, flags }));
            }
        }
        if !vanished.is_empty() {
            self.emit(wrap(IdleEvent::Expunged {
                seqs: Vec::new(),
                uids: vanished,
            }));
        }
        if !new.is_empty() {
            self.emit(wrap(IdleEvent::NewMessages { uids: new }));
        }
    }

    /// The watched folder a server's mailbox name denotes (raw, or modified UTF-7).
    fn index_of(&self, mailbox: &[u8]) -> Option<usize> {
        let decoded = crate::imap::codec::utf7::decode(mailbox).ok();
        self.folders
            .iter()
            .position(|w| w.name.as_bytes() == mailbox || decoded.as_deref() == Some(&*w.name))
    }

    /// Whether a `STATUS` answer differs from what the listener knows of the folder.
    fn differs(&self, i: usize, items: &[StatusData]) -> bool {
        let Some(w) = self.folders.get(i) else {
            return false;
        };
        items.iter().any(|item| match item {
            StatusData::Messages(n) => u64::from(*n) != w.state.message_count(),
            StatusData::UidNext(n) => Some(*n) != w.state.uid_next(),
            StatusData::UidValidity(n) => Some(*n) != w.state.uid_validity(),
            StatusData::HighestModSeq(n) => Some(*n) != w.state.highest_modseq(),
            _ => false,
        })
    }

    /// `STATUS` of folder `i`; true when it differs from the known state.
    fn status_changed(&mut self, i: usize) -> Result<bool> {
        let Some(name) = self.folders.get(i).map(|w| Arc::clone(&w.name)) else {
            return Ok(false);
        };
        let s = self.session()?;
        let mut items = vec![
            StatusAttr::Messages,
            StatusAttr::UidNext,
            StatusAttr::UidValidity,
        ];
        if s.capabilities().has("CONDSTORE") || s.capabilities().has("QRESYNC") {
            items.push(StatusAttr::HighestModSeq);
        }
        let answer = s
            .run(&Command::Status {
                mailbox: MailboxName::new(name.to_string()),
                items,
            })?
            .into_result("STATUS")?;
        let mut changed = false;
        for u in &answer.untagged {
            if let Untagged::MailboxStatus { mailbox, items } = u
                && self.index_of(mailbox) == Some(i)
            {
                changed |= self.differs(i, items);
            }
        }
        Ok(changed)
    }

    /// Syncs folder `i` until its `STATUS` agrees with the state (a change made while it
    /// was selected is seen by the `STATUS` after leaving it); at most a few rounds.
    fn settle(&mut self, i: usize) -> Result<()> {
        for _ in 0..4 {
            self.sync(i)?;
            if !self.status_changed(i)? {
                break;
            }
        }
        Ok(())
    }

    /// Sends `NOTIFY SET`; false when the server refuses it (then the fallback is used).
    fn notify_set(&mut self) -> Result<bool> {
        let mailboxes = self
            .folders
            .iter()
            .map(|w| MailboxName::new(w.name.to_string()))
            .collect();
        let s = self.session()?;
        let answer = s.run(&Command::Notify { mailboxes })?;
        match answer.into_result("NOTIFY") {
            Ok(_) => Ok(true),
            Err(e @ (Error::Closed { .. } | Error::Io { .. })) => Err(e),
            Err(e) => {
                log::warn!(target: "mailwire::idle", "[idle folders] NOTIFY refused ({e}); falling back to IDLE + STATUS polling");
                Ok(false)
            }
        }
    }

    /// One IDLE until `until` (or a stop, or a response `wake` accepts); returns the
    /// responses seen, ended by `DONE`. `Ok(None)` when stopped.
    fn idle_until(
        &mut self,
        until: Instant,
        wake: impl Fn(&Untagged) -> bool,
    ) -> Result<Option<Vec<Untagged>>> {
        let (tag, early) = self.session()?.idle_start()?;
        let mut seen: Vec<Untagged> = early;
        let mut woke = seen.iter().any(&wake);
        while !woke {
            if self.stop.requested() {
                return Ok(None);
            }
            let now = Instant::now();
            if now >= until {
                break;
            }
            let polled = match self.session()?.poll_untagged(until - now) {
                Err(_) if self.stop.requested() => return Ok(None),
                other => other?,
            };
            let Some(u) = polled else { continue };
            if let Untagged::Condition {
                status: Status::Bye,
                text,
                ..
            } = &u
            {
                return Err(Error::Closed {
                    context: format!("by the server (BYE: {text})"),
                });
            }
            woke = wake(&u);
            seen.push(u);
        }
        let s = self.session()?;
        let timeout = s.read_timeout();
        let more = s.idle_done(&tag, timeout)?;
        seen.extend(more);
        Ok(Some(seen))
    }

    fn watch_notify(&mut self) -> Result<bool> {
        if !self.notify_set()? {
            return Ok(false);
        }
        loop {
            let until = Instant::now() + self.renew_every;
            let is_status = |u: &Untagged| matches!(u, Untagged::MailboxStatus { .. });
            let Some(seen) = self.idle_until(until, is_status)? else {
                return Ok(true);
            };
            let mut changed: Vec<usize> = Vec::new();
            for u in &seen {
                if let Untagged::MailboxStatus { mailbox, .. } = u {
                    match self.index_of(mailbox) {
                        Some(i) if !changed.contains(&i) => changed.push(i),
                        Some(_) => {}
                        None => {
                            log::debug!(target: "mailwire::idle", "[idle folders] ignoring STATUS of a folder not watched ({} bytes of name)", mailbox.len());
                        }
                    }
                }
            }
            for i in changed {
                self.settle(i)?;
            }
        }
    }

    fn watch_status_polling(&mut self) -> Result<()> {
        let mut next_poll = Instant::now() + self.status_interval;
        loop {
            // The first folder stays selected while idling.
            let Some(first) = self.folders.first().map(|w| Arc::clone(&w.name)) else {
                return Ok(());
            };
            let state = self
                .folders
                .first()
                .map(|w| w.state.clone())
                .unwrap_or_else(|| SyncState::new(&*first));
            let run = SyncRun {
                strategy: SyncStrategy::Auto,
                max_ranges: self.config.limits().max_set_ranges,
                read_only: true,
            };
            let s = self.session()?;
            let delta = run_sync(s, &first, &state, run)?;
            self.report(0, false, state.uid_validity(), delta);
            let until = next_poll.min(Instant::now() + self.renew_every);
            let is_event = |u: &Untagged| {
                matches!(
                    u,
                    Untagged::Exists(_)
                        | Untagged::Expunge(_)
                        | Untagged::Vanished { .. }
                        | Untagged::Fetch { .. }
                )
            };
            let Some(_) = self.idle_until(until, is_event)? else {
                return Ok(());
            };
            self.session()?.leave_folder()?;
            if Instant::now() >= next_poll {
                next_poll = Instant::now() + self.status_interval;
                for i in 1..self.folders.len() {
                    if self.stop.requested() {
                        return Ok(());
                    }
                    if self.status_changed(i)? {
                        self.settle(i)?;
                    }
                }
            }
        }
    }

    fn watch(&mut self) -> Result<()> {
        if *self.mode.lock() == WatchMode::Notify {
            if self.watch_notify()? {
                return Ok(());
            }
            self.set_mode(WatchMode::IdleWithStatusPolling);
        }
        self.watch_status_polling()
    }

    pub(super) fn run(mut self) {
        let policy = self.config.retry();
        let mut delays = Delays::new(&policy);
        let single = RetryPolicy {
            max_attempts: 1,
            ..policy
        };
        if let Ok(config) = self.config.with_retry(single) {
            self.config = config;
        }
        let mut down_since: Option<Instant> = None;
        loop {
            if self.stop.requested() {
                break;
            }
            if self.session.is_none() {
                match self.open() {
                    Err(_) if self.stop.requested() => break,
                    Ok(()) => {
                        if let Some(since) = down_since.take() {
                            self.emit(IdleEvent::Reconnected {
                                after: since.elapsed(),
                            });
                        }
                        delays.reset();
                    }
                    Err(e) if e.is_transient() => {
                        if let Some(mut s) = self.session.take() {
                            s.shutdown();
                        }
                        let delay = delays.after(&e);
                        self.emit(IdleEvent::Error(Arc::new(e)));
                        self.stop.sleep(delay);
                        continue;
                    }
                    Err(e) => {
                        log::error!(target: "mailwire::idle", "[idle folders] giving up: {e}");
                        self.emit(IdleEvent::Error(Arc::new(e)));
                        break;
                    }
                }
            }
            match self.watch() {
                Ok(()) => break,
                Err(_) if self.stop.requested() => break,
                Err(e) => {
                    log::info!(target: "mailwire::idle", "[idle folders] connection lost: {e}; reconnecting");
                    if let Some(mut s) = self.session.take() {
                        s.shutdown();
                    }
                    if down_since.is_none() {
                        down_since = Some(Instant::now());
                    }
                    delays.reset();
                    let delay = delays.after(&e);
                    self.emit(IdleEvent::Error(Arc::new(e)));
                    self.stop.sleep(delay);
                }
            }
        }
        if let Some(mut s) = self.session.take() {
            if !self.stop.requested() {
                s.logout();
            }
            s.shutdown();
        }
        self.emit(IdleEvent::Stopped);
    }
}
