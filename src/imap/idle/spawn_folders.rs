//! Starting a listener over several folders: the checks, the first connect (with the sync
//! of every folder) on the caller's thread, and the thread running `FolderWorker`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::Callback;
use super::folders::{FolderWorker, Watched};
use super::group::gate::Gate;
use super::stop::start_thread;
use super::{IdleListener, Stop};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::imap::idle_queue::{EventQueue, WatchMode};
use crate::imap::sync::SyncState;

/// What a multi-folder listener is started with (from the builder).
pub(super) struct FolderParts {
    pub(super) config: Config,
    pub(super) folders: Vec<String>,
    pub(super) renew_every: Duration,
    pub(super) status_interval: Duration,
    pub(super) force_status_polling: bool,
    pub(super) callbacks: Vec<Callback>,
    pub(super) channel_capacity: usize,
    /// The group's connect gate, when the listener belongs to one.
    pub(super) gate: Option<Arc<Gate>>,
}

/// The most folders one listener watches (each costs a sync at every reconnect).
pub(super) const MAX_FOLDERS: usize = 1000;

pub(super) fn spawn(parts: FolderParts) -> Result<IdleListener> {
    if parts.renew_every < Duration::from_secs(1) {
        return Err(Error::invalid("renew_every", "must be at least one second"));
    }
    if parts.status_interval < Duration::from_millis(100) {
        return Err(Error::invalid("status_interval", "must be at least 100 ms"));
    }
    if parts.channel_capacity < 2 {
        return Err(Error::invalid("channel_capacity", "must be at least 2"));
    }
    if parts.folders.len() > MAX_FOLDERS {
        return Err(Error::invalid(
            "folders",
            format!("at most {MAX_FOLDERS} folders"),
        ));
    }
    let mut folders: Vec<Watched> = Vec::with_capacity(parts.folders.len());
    for name in &parts.folders {
        if name.is_empty() {
            return Err(Error::invalid("folders", "an empty folder name"));
        }
        if folders.iter().any(|w| &*w.name == name.as_str()) {
            return Err(Error::invalid(
                "folders",
                format!("{name:?} is given twice"),
            ));
        }
        folders.push(Watched {
            name: Arc::from(name.as_str()),
            state: SyncState::new(name.as_str()),
        });
    }
    let (events, rx) = EventQueue::new(parts.channel_capacity);
    let stop = Arc::new(Stop::new(parts.gate.clone()));
    let mode = Arc::new(Mutex::new(WatchMode::Notify));
    let mut worker = FolderWorker {
        config: parts.config,
        folders,
        renew_every: parts.renew_every,
        status_interval: parts.status_interval,
        force_status_polling: parts.force_status_polling,
        callbacks: parts.callbacks,
        events,
        stop: Arc::clone(&stop),
        session: None,
        mode: Arc::clone(&mode),
        gate: parts.gate,
    };
    if let Err(e) = worker.open() {
        if let Some(mut s) = worker.session.take() {
            s.shutdown();
        }
        return Err(e);
    }
    let first = parts.folders.first().cloned().unwrap_or_default();
    let name = format!("mailwire-idle-{first}+{}", parts.folders.len() - 1);
    let thread = start_thread(name, None, &stop, move || worker.run())?;
    Ok(IdleListener {
        folder: first,
        mode,
        events: rx,
        stop,
        thread: Mutex::new(Some(thread)),
    })
}
