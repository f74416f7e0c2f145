//! The check mode: compares the database with the server, per account and folder — the
//! set of UIDs and their flags must equal a fresh `UID SEARCH ALL` and flags fetch, and
//! the stored `SyncState` must know exactly the rows' UIDs.

use std::collections::BTreeMap;

use mailwire::imap::{ImapConnection, SearchQuery};

use super::service::Account;
use super::store::{Store, flags_text};

/// What the check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Messages compared (on the server).
    pub messages: u64,
    /// One line per difference; empty when the database is in step.
    pub differences: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares every (account, folder) of the database with the server, over a fresh
/// connection per account (not the service's).
pub fn check(
    accounts: &[Account],
    folders: &[String],
    store: &Store,
) -> Result<CheckReport, String> {
    let mut report = CheckReport::default();
    for account in accounts {
        let conn = ImapConnection::connect(&account.config)
            .map_err(|e| format!("{}: cannot connect: {e}", account.name))?;
        for folder in folders {
            let at = format!("{}/{folder}", account.name);
            let uids = conn
                .search(folder, &SearchQuery::all())
                .map_err(|e| format!("{at}: UID SEARCH ALL: {e}"))?;
            let mut server: BTreeMap<u32, String> = BTreeMap::new();
            let all: Vec<u32> = uids.iter().collect();
            for batch in all.chunks(1000) {
                let messages = conn
                    .fetch_metadata(folder, batch)
                    .map_err(|e| format!("{at}: fetching flags: {e}"))?;
                for m in messages {
                    if let Some(uid) = m.uid() {
                        server.insert(uid, flags_text(m.flags()));
                    }
                }
            }
            // A message expunged between the search and the fetch would show as missing:
            // the check runs with the service and every other client stopped.
            let rows = store
                .rows(&account.name, folder)
                .map_err(|e| format!("{at}: reading the database: {e}"))?;
            report.messages += server.len() as u64;
            for (uid, flags) in &server {
                match rows.get(uid) {
                    None => report.differences.push(format!(
                        "{at}: UID {uid} on the server, not in the database"
                    )),
                    Some(row) if &row.flags != flags => report.differences.push(format!(
                        "{at}: UID {uid} flags: server {flags:?}, database {:?}",
                        row.flags
                    )),
                    Some(_) => {}
                }
            }
            for uid in rows.keys().filter(|uid| !server.contains_key(uid)) {
                report.differences.push(format!(
                    "{at}: UID {uid} in the database, not on the server"
                ));
            }
            match store.state(&account.name, folder) {
                Ok(Some(state)) => {
                    let known: Vec<u32> = state.known_uids().iter().collect();
                    let stored: Vec<u32> = rows.keys().copied().collect();
                    if known != stored {
                        report.differences.push(format!(
                            "{at}: the stored state knows {} UIDs, the messages table holds {}",
                            known.len(),
                            stored.len()
                        ));
                    }
                }
                Ok(None) => report
                    .differences
                    .push(format!("{at}: no stored sync state (never synced)")),
                Err(e) => return Err(format!("{at}: reading the stored state: {e}")),
            }
        }
        conn.logout();
    }
    Ok(report)
}
