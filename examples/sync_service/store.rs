//! The service's SQLite database: the `SyncState` text per account and folder, and the
//! messages table kept in step with the server (one transaction per applied delta).
//!
//! ```sql
//! folders  (account, folder, state)                         -- SyncState::to_string()
//! messages (account, folder, uid, flags, subject, message_id)
//! ```
//!
//! The invariant the check mode verifies: for every (account, folder) the rows of
//! `messages` are exactly the UIDs of the stored state, with the flags the server has.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use mailwire::Message;
use mailwire::imap::{Flag, SyncDelta, SyncState};
use rusqlite::{Connection, OptionalExtension, params};

/// What one applied delta changed in the messages table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

/// One row of the messages table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub flags: String,
    pub subject: Option<String>,
    pub message_id: Option<String>,
}

/// Flags as stored: sorted by name, space-separated, without `\Recent` (as the sync
/// reports them; the check formats the server's flags the same way).
pub fn flags_text(flags: &[Flag]) -> String {
    let mut names: Vec<String> = flags
        .iter()
        .filter(|f| **f != Flag::Recent)
        .map(|f| f.to_string())
        .collect();
    names.sort();
    names.dedup();
    names.join(" ")
}

/// The database (one connection; the service shares it behind a mutex: every write is
/// one short transaction, the network calls happen outside it).
pub struct Store {
    db: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let db = Connection::open(path)?;
        // WAL: the check (another process) can read while the service writes.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS folders (
                 account TEXT NOT NULL,
                 folder  TEXT NOT NULL,
                 state   TEXT NOT NULL,
                 PRIMARY KEY (account, folder));
             CREATE TABLE IF NOT EXISTS messages (
                 account    TEXT NOT NULL,
                 folder     TEXT NOT NULL,
                 uid        INTEGER NOT NULL,
                 flags      TEXT NOT NULL,
                 subject    TEXT,
                 message_id TEXT,
                 PRIMARY KEY (account, folder, uid));",
        )?;
        Ok(Store { db })
    }

    /// The stored state of (account, folder): `None` before the first sync; a text that
    /// does not parse (a corrupted row) is logged and treated as none, which costs one
    /// full listing (and the folder's rows are replaced, see [`Store::apply`]).
    pub fn state(&self, account: &str, folder: &str) -> rusqlite::Result<Option<SyncState>> {
        let text: Option<String> = self
            .db
            .query_row(
                "SELECT state FROM folders WHERE account = ?1 AND folder = ?2",
                params![account, folder],
                |row| row.get(0),
            )
            .optional()?;
        Ok(text.and_then(|t| match t.parse::<SyncState>() {
            Ok(state) if state.folder() == folder => Some(state),
            Ok(_) => None,
            Err(e) => {
                eprintln!(
                    "warning: stored state of {account}/{folder} unreadable ({e}): starting over"
                );
                None
            }
        }))
    }

    /// Applies a delta and stores its state, in one transaction: on a UIDVALIDITY reset
    /// or a first sync every row of the folder goes first; then `vanished` are deleted,
    /// `new` inserted (subject and Message-ID from `headers`), `flags_changed` of known
    /// messages updated. `first` says the sync started from no state.
    pub fn apply(
        &mut self,
        account: &str,
        folder: &str,
        first: bool,
        delta: &SyncDelta,
        headers: &[Message],
    ) -> rusqlite::Result<Applied> {
        let mut applied = Applied::default();
        let flags: HashMap<u32, String> = delta
            .flags_changed
            .iter()
            .map(|(uid, f)| (*uid, flags_text(f)))
            .collect();
        let headers: HashMap<u32, &Message> =
            headers.iter().filter_map(|m| Some((m.uid()?, m))).collect();
        let tx = self.db.transaction()?;
        if first || delta.uid_validity_reset {
            // No state (or a void one): whatever rows are there are not known to be right.
            applied.deleted += tx.execute(
                "DELETE FROM messages WHERE account = ?1 AND folder = ?2",
                params![account, folder],
            )? as u64;
        }
        {
            let mut delete = tx.prepare_cached(
                "DELETE FROM messages WHERE account = ?1 AND folder = ?2 AND uid = ?3",
            )?;
            for uid in &delta.vanished {
                applied.deleted += delete.execute(params![account, folder, uid])? as u64;
            }
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO messages (account, folder, uid, flags, subject, message_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for uid in &delta.new {
                // A message expunged between the sync and the header fetch has no headers:
                // its row stays (the state knows it) until the next sync reports it gone.
                let m = headers.get(uid);
                insert.execute(params![
                    account,
                    folder,
                    uid,
                    flags.get(uid).map(String::as_str).unwrap_or(""),
                    m.and_then(|m| m.subject()),
                    m.and_then(|m| m.message_id()),
                ])?;
                applied.inserted += 1;
            }
            let mut update = tx.prepare_cached(
                "UPDATE messages SET flags = ?4 WHERE account = ?1 AND folder = ?2 AND uid = ?3",
            )?;
            for (uid, f) in &flags {
                if delta.new.binary_search(uid).is_err() {
                    applied.updated += update.execute(params![account, folder, uid, f])? as u64;
                }
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO folders (account, folder, state) VALUES (?1, ?2, ?3)",
            params![account, folder, delta.state.to_string()],
        )?;
        tx.commit()?;
        Ok(applied)
    }

    /// Every row of (account, folder), by UID.
    pub fn rows(&self, account: &str, folder: &str) -> rusqlite::Result<BTreeMap<u32, Row>> {
        let mut stmt = self.db.prepare(
            "SELECT uid, flags, subject, message_id FROM messages
             WHERE account = ?1 AND folder = ?2 ORDER BY uid",
        )?;
        let rows = stmt.query_map(params![account, folder], |row| {
            Ok((
                row.get::<_, u32>(0)?,
                Row {
                    flags: row.get(1)?,
                    subject: row.get(2)?,
                    message_id: row.get(3)?,
                },
            ))
        })?;
        rows.collect()
    }

    /// Closes the database, reporting a failure to flush.
    pub fn close(self) -> rusqlite::Result<()> {
        self.db.close().map_err(|(_, e)| e)
    }
}
