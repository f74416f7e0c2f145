//! The service core: worker threads on one `ImapHandler` taking sync jobs from a channel,
//! one `IdleListener` per account and folder enqueueing them, retries by `retry_hint()`,
//! and a shutdown through one `Cancel` token. `main.rs` reads the environment and the
//! signals; `tests/sync_service.rs` runs this file against the test Dovecot.
//!
//! Jobs are coalesced per (account, folder): at most one waits in the channel and at most
//! one runs. An event arriving while that folder's job runs marks it "dirty", and the job
//! is queued once more when the running one ends (the running sync may have missed it).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use mailwire::imap::{IdleEvent, IdleListener, ImapHandler, SyncState};
use mailwire::pool::AccountKey;
use mailwire::{Cancel, Config, Error, Protocol, Retry};
use parking_lot::Mutex;

use super::store::{Applied, Store};

/// Headers fetched per `fetch_headers` call (a first sync of a large folder).
const HEADER_BATCH: usize = 500;
/// Attempts of one job before it is dropped, whatever the hints say (a `Retry::Now` that
/// keeps failing must not spin forever).
const MAX_ATTEMPTS: u32 = 8;
/// The pause before retrying after a database error.
const DB_RETRY: Duration = Duration::from_secs(1);

/// An account the service syncs: its stable name (host, port, user; no secret: the key
/// of its rows in the database) and its settings.
#[derive(Clone)]
pub struct Account {
    pub name: String,
    pub config: Config,
}

impl Account {
    pub fn new(config: Config) -> Account {
        Account {
            name: AccountKey::for_config(&config, Protocol::Imap).to_string(),
            config,
        }
    }
}

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Worker threads.
    pub workers: usize,
    /// The folders synced (and watched) in every account.
    pub folders: Vec<String>,
    /// Print a line per job that changed something, and per error.
    pub verbose: bool,
}

/// What the service did, printed at the end.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub jobs_run: u64,
    pub jobs_ok: u64,
    pub jobs_retried: u64,
    pub jobs_dropped: u64,
    pub jobs_cut_by_shutdown: u64,
    pub coalesced: u64,
    pub events: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Errors by kind (`pool-timeout`, `io`, `missing-folder`, `database`, …).
    pub errors: BTreeMap<&'static str, u64>,
    pub elapsed: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "summary after {:.1} s:", self.elapsed.as_secs_f64())?;
        writeln!(
            f,
            "  jobs: {} run, {} ok, {} retried, {} dropped, {} cut by the shutdown; {} coalesced; {} listener events",
            self.jobs_run,
            self.jobs_ok,
            self.jobs_retried,
            self.jobs_dropped,
            self.jobs_cut_by_shutdown,
            self.coalesced,
            self.events
        )?;
        writeln!(
            f,
            "  messages: {} inserted, {} updated, {} deleted",
            self.inserted, self.updated, self.deleted
        )?;
        if self.errors.is_empty() {
            write!(f, "  errors: none")
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            write!(f, "  errors: {}", list.join(", "))
        }
    }
}

/// A short name for the kind of an error, for the summary.
pub fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Dns { .. } => "dns",
        Error::Connect { .. } => "connect",
        Error::Io { .. } => "io",
        Error::Tls { .. } => "tls",
        Error::Timeout { .. } => "timeout",
        Error::Auth { .. } => "auth",
        Error::Server { .. } => "server",
        Error::Protocol { .. } => "protocol",
        Error::StartTlsUnavailable { .. } => "starttls-unavailable",
        Error::InvalidInput { .. } => "invalid-input",
        Error::LimitExceeded { .. } => "limit-exceeded",
        Error::PoolTimeout { .. } => "pool-timeout",
        Error::MissingFolder { .. } => "missing-folder",
        Error::UidValidityChanged { .. } => "uid-validity-changed",
        Error::Closed { .. } => "closed",
        Error::Cancelled { .. } => "cancelled",
        _ => "other",
    }
}

/// A job: sync this folder of this account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    account: usize,
    folder: String,
}

/// Where a folder's job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// In the channel.
    Queued,
    /// A worker runs it.
    Running,
    /// A worker runs it and an event came meanwhile: queue it again when it ends.
    RunningDirty,
    /// Failed; the retry thread queues it again at its time.
    Waiting,
}

#[derive(Default)]
struct Counters {
    jobs_run: AtomicU64,
    jobs_ok: AtomicU64,
    jobs_retried: AtomicU64,
    jobs_dropped: AtomicU64,
    jobs_cut: AtomicU64,
    coalesced: AtomicU64,
    events: AtomicU64,
    inserted: AtomicU64,
    updated: AtomicU64,
    deleted: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
    fn error(&self, kind: &'static str) {
        *self.errors.lock().entry(kind).or_insert(0) += 1;
    }
}

/// The coalescing job queue: the slot of every folder with a job, the channel to the
/// workers and the one to the retry thread (both closed at shutdown).
struct Queue {
    slots: Mutex<HashMap<Key, (Slot, u32)>>,
    jobs: Mutex<Option<Sender<Key>>>,
    retries: Mutex<Option<Sender<(Instant, Key)>>>,
    counters: Counters,
}

impl Queue {
    fn send(&self, key: Key) {
        if let Some(tx) = self.jobs.lock().as_ref() {
            let _ = tx.send(key);
        }
    }

    /// A sync of `key` is wanted (an event, a reconnect, the start).
    fn enqueue(&self, key: Key) {
        let mut slots = self.slots.lock();
        match slots.get_mut(&key) {
            None => {
                slots.insert(key.clone(), (Slot::Queued, 0));
                self.send(key);
            }
            Some((slot @ Slot::Running, _)) => {
                *slot = Slot::RunningDirty;
                Counters::add(&self.counters.coalesced, 1);
            }
            // Already waiting in the channel or for its retry: that run will see it.
            Some(_) => Counters::add(&self.counters.coalesced, 1),
        }
    }

    /// A worker takes `key` from the channel; its attempt number.
    fn start(&self, key: &Key) -> u32 {
        let mut slots = self.slots.lock();
        let entry = slots.entry(key.clone()).or_insert((Slot::Queued, 0));
        entry.0 = Slot::Running;
        entry.1 += 1;
        entry.1
    }

    /// The job of `key` ended: done (succeeded, or dropped), or to be retried.
    fn finish(&self, key: &Key, retry: Option<Retry>) {
        let mut slots = self.slots.lock();
        let Some(entry) = slots.get_mut(key) else {
            return;
        };
        let dirty = entry.0 == Slot::RunningDirty;
        match retry {
            None if dirty => {
                *entry = (Slot::Queued, 0);
                self.send(key.clone());
            }
            None => {
                slots.remove(key);
            }
            Some(Retry::After(wait)) => {
                entry.0 = Slot::Waiting;
                if let Some(tx) = self.retries.lock().as_ref() {
                    let _ = tx.send((Instant::now() + wait, key.clone()));
                }
            }
            Some(_) => {
                entry.0 = Slot::Queued;
                self.send(key.clone());
            }
        }
    }

    /// The retry thread: `key`'s pause is over.
    fn release(&self, key: Key) {
        let mut slots = self.slots.lock();
        if let Some(entry) = slots.get_mut(&key)
            && entry.0 == Slot::Waiting
        {
            entry.0 = Slot::Queued;
            self.send(key);
        }
    }

    fn close(&self) {
        self.jobs.lock().take();
        self.retries.lock().take();
    }
}

/// A running service; [`Service::shutdown`] stops it and returns the summary.
pub struct Service {
    started: Instant,
    cancel: Cancel,
    queue: Arc<Queue>,
    store: Arc<Mutex<Option<Store>>>,
    listeners: Vec<IdleListener>,
    workers: Vec<JoinHandle<()>>,
    retry_thread: Option<JoinHandle<()>>,
}

impl Service {
    /// Starts the workers, the retry thread and a listener per account and folder, and
    /// queues a first sync of every folder (catching up from the stored states).
    /// Everything honours `cancel`: the workers' handler is `with_cancel(cancel)`.
    pub fn start(
        accounts: Vec<Account>,
        settings: Settings,
        store: Store,
        handler: &ImapHandler,
        cancel: &Cancel,
    ) -> Result<Service, String> {
        let started = Instant::now();
        let handler = handler.with_cancel(cancel);
        let (jobs_tx, jobs_rx) = unbounded::<Key>();
        let (retry_tx, retry_rx) = unbounded::<(Instant, Key)>();
        let queue = Arc::new(Queue {
            slots: Mutex::new(HashMap::new()),
            jobs: Mutex::new(Some(jobs_tx)),
            retries: Mutex::new(Some(retry_tx)),
            counters: Counters::default(),
        });
        let store = Arc::new(Mutex::new(Some(store)));
        let accounts = Arc::new(accounts);

        let workers = (0..settings.workers.max(1))
            .map(|n| {
                let worker = Worker {
                    handler: handler.clone(),
                    accounts: Arc::clone(&accounts),
                    store: Arc::clone(&store),
                    queue: Arc::clone(&queue),
                    cancel: cancel.clone(),
                    verbose: settings.verbose,
                    started,
                };
                let jobs = jobs_rx.clone();
                std::thread::Builder::new()
                    .name(format!("sync-worker-{n}"))
                    .spawn(move || worker.run(&jobs))
                    .map_err(|e| format!("cannot start a worker thread: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let retry_thread = {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("sync-retries".into())
                .spawn(move || retry_loop(&queue, &retry_rx))
                .map_err(|e| format!("cannot start the retry thread: {e}"))?
        };
        let mut service = Service {
            started,
            cancel: cancel.clone(),
            queue: Arc::clone(&queue),
            store,
            listeners: Vec::new(),
            workers,
            retry_thread: Some(retry_thread),
        };

        for (a, account) in accounts.iter().enumerate() {
            for folder in &settings.folders {
                let key = Key {
                    account: a,
                    folder: folder.clone(),
                };
                let on_event = {
                    let queue = Arc::clone(&queue);
                    let key = key.clone();
                    let (name, verbose) = (account.name.clone(), settings.verbose);
                    move |event: &IdleEvent| {
                        Counters::add(&queue.counters.events, 1);
                        match event {
                            IdleEvent::Stopped => {}
                            // The listener recovers by itself; its Reconnected follows.
                            IdleEvent::Error(e) => {
                                if verbose {
                                    eprintln!("listener {name}/{}: {e}", key.folder);
                                }
                            }
                            // New mail, flags, expunges, UIDVALIDITY, Lagged, Reconnected.
                            _ => queue.enqueue(key.clone()),
                        }
                    }
                };
                let listener = IdleListener::builder(account.config.clone())
                    .folder(folder.as_str())
                    .on_event(on_event)
                    .spawn();
                match listener {
                    Ok(l) => service.listeners.push(l),
                    Err(e) => {
                        let why = format!("cannot watch {}/{folder}: {e}", account.name);
                        service.cancel.cancel();
                        service.shutdown();
                        return Err(why);
                    }
                }
                // The first sync: catch up with what changed while the service was off.
                queue.enqueue(key);
            }
        }
        Ok(service)
    }

    /// Stops everything through the one token: cancels it (a sync or a pool wait under
    /// way returns `Cancelled` at once), stops the listeners, closes the channels, joins
    /// the threads, closes the database; returns what the service did.
    pub fn shutdown(mut self) -> Summary {
        self.cancel.cancel();
        for l in &self.listeners {
            l.stop();
        }
        self.listeners.clear();
        self.queue.close();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        if let Some(t) = self.retry_thread.take() {
            let _ = t.join();
        }
        let c = &self.queue.counters;
        let mut errors = c.errors.lock().clone();
        if let Some(store) = self.store.lock().take()
            && let Err(e) = store.close()
        {
            eprintln!("error: closing the database: {e}");
            *errors.entry("database").or_insert(0) += 1;
        }
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Summary {
            jobs_run: get(&c.jobs_run),
            jobs_ok: get(&c.jobs_ok),
            jobs_retried: get(&c.jobs_retried),
            jobs_dropped: get(&c.jobs_dropped),
            jobs_cut_by_shutdown: get(&c.jobs_cut),
            coalesced: get(&c.coalesced),
            events: get(&c.events),
            inserted: get(&c.inserted),
            updated: get(&c.updated),
            deleted: get(&c.deleted),
            errors,
            elapsed: self.started.elapsed(),
        }
    }

    /// Whether no job is queued, running or waiting for a retry (the test waits for it).
    #[allow(dead_code)] // tests/sync_service.rs waits for it
    pub fn is_idle(&self) -> bool {
        self.queue.slots.lock().is_empty()
    }
}

/// Queues each failed job again when its pause is over.
fn retry_loop(queue: &Queue, retries: &Receiver<(Instant, Key)>) {
    let mut due: BinaryHeap<Reverse<(Instant, Key)>> = BinaryHeap::new();
    loop {
        let wait = due
            .peek()
            .map_or(Duration::from_secs(3600), |Reverse((at, _))| {
                at.saturating_duration_since(Instant::now())
            });
        match retries.recv_timeout(wait) {
            Ok(item) => due.push(Reverse(item)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while due
            .peek()
            .is_some_and(|Reverse((at, _))| *at <= Instant::now())
        {
            if let Some(Reverse((_, key))) = due.pop() {
                queue.release(key);
            }
        }
    }
}

/// Why a job failed.
enum JobError {
    Mail(Error),
    Db(rusqlite::Error),
}

impl From<Error> for JobError {
    fn from(e: Error) -> Self {
        JobError::Mail(e)
    }
}

impl From<rusqlite::Error> for JobError {
    fn from(e: rusqlite::Error) -> Self {
        JobError::Db(e)
    }
}

struct Worker {
    handler: ImapHandler,
    accounts: Arc<Vec<Account>>,
    store: Arc<Mutex<Option<Store>>>,
    queue: Arc<Queue>,
    cancel: Cancel,
    verbose: bool,
    started: Instant,
}

impl Worker {
    fn run(&self, jobs: &Receiver<Key>) {
        while let Ok(key) = jobs.recv() {
            if self.cancel.is_cancelled() {
                break;
            }
            let attempt = self.queue.start(&key);
            Counters::add(&self.queue.counters.jobs_run, 1);
            let account = &self.accounts[key.account];
            let outcome = self.sync(account, &key.folder);
            let c = &self.queue.counters;
            let retry = match outcome {
                Ok((applied, strategy)) => {
                    Counters::add(&c.jobs_ok, 1);
                    Counters::add(&c.inserted, applied.inserted);
                    Counters::add(&c.updated, applied.updated);
                    Counters::add(&c.deleted, applied.deleted);
                    if self.verbose && applied != Applied::default() {
                        println!(
                            "[{:>6.1} s] {}/{}: +{} ~{} -{} ({strategy})",
                            self.started.elapsed().as_secs_f64(),
                            account.name,
                            key.folder,
                            applied.inserted,
                            applied.updated,
                            applied.deleted
                        );
                    }
                    None
                }
                Err(JobError::Mail(Error::Cancelled { .. })) if self.cancel.is_cancelled() => {
                    Counters::add(&c.jobs_cut, 1);
                    None
                }
                Err(e) => {
                    let (kind, hint, text) = match &e {
                        JobError::Mail(e) => (error_kind(e), e.retry_hint(), e.to_string()),
                        JobError::Db(e) => ("database", Retry::After(DB_RETRY), e.to_string()),
                    };
                    c.error(kind);
                    let give_up = hint == Retry::Never || attempt >= MAX_ATTEMPTS;
                    if self.verbose || give_up {
                        let what = if give_up {
                            "dropped".to_string()
                        } else {
                            format!("retry {hint:?}")
                        };
                        eprintln!(
                            "[{:>6.1} s] {}/{}: {kind}: {text} ({what}, attempt {attempt})",
                            self.started.elapsed().as_secs_f64(),
                            account.name,
                            key.folder
                        );
                    }
                    if give_up {
                        Counters::add(&c.jobs_dropped, 1);
                        None
                    } else {
                        Counters::add(&c.jobs_retried, 1);
                        Some(hint)
                    }
                }
            };
            self.queue.finish(&key, retry);
        }
    }

    /// One job: the stored state, the sync (network, no lock held), the headers of what
    /// is new, then the delta and the new state in one transaction.
    fn sync(&self, account: &Account, folder: &str) -> Result<(Applied, String), JobError> {
        let stored = match self.store.lock().as_ref() {
            Some(store) => store.state(&account.name, folder)?,
            None => return Err(JobError::Db(rusqlite::Error::InvalidQuery)),
        };
        let first = stored.is_none();
        let state = stored.unwrap_or_else(|| SyncState::new(folder));
        let delta = self.handler.sync(&account.config, folder, &state)?;
        let mut headers = Vec::with_capacity(delta.new.len());
        for batch in delta.new.chunks(HEADER_BATCH) {
            headers.extend(self.handler.fetch_headers(&account.config, folder, batch)?);
        }
        let mut guard = self.store.lock();
        let Some(store) = guard.as_mut() else {
            return Err(JobError::Db(rusqlite::Error::InvalidQuery));
        };
        let applied = store.apply(&account.name, folder, first, &delta, &headers)?;
        Ok((applied, delta.strategy.to_string()))
    }
}
