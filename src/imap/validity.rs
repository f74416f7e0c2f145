//! The UIDVALIDITY under which an application last read each folder's UIDs: the check
//! behind [`Error::UidValidityChanged`] for calls given plain UIDs.
//!
//! An [`ImapConnection`](crate::imap::ImapConnection) on its own keeps a private memory;
//! the connections an [`ImapPool`](crate::imap::ImapPool) hands out for one account share
//! one, so a UIDVALIDITY read through one connection still protects a call made through
//! another after the first was closed (the pool churned).
//!
//! Two rules, applied by the connection:
//! - a call that *reads* UIDs (search, select, examine) records the folder's UIDVALIDITY;
//!   if it differs from the remembered one it fails once with `UidValidityChanged` (the
//!   memory then holds the new value: the caller is told to drop its old UIDs);
//! - a call that *acts* on UIDs the caller passes (fetch, store, copy, move, expunge) never
//!   updates the memory on a mismatch: it fails with `UidValidityChanged` before sending
//!   anything that touches messages, every time, until the caller reads the folder again.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::{Config, Protocol};
use crate::error::{Error, Result};

/// Folder name → the UIDVALIDITY the application last read UIDs under.
#[derive(Debug, Default)]
pub(crate) struct ValidityMemory {
    folders: Mutex<HashMap<String, u32>>,
}

impl ValidityMemory {
    /// The remembered UIDVALIDITY of `folder`.
    #[cfg(test)]
    pub(crate) fn get(&self, folder: &str) -> Option<u32> {
        self.folders.lock().get(folder).copied()
    }

    /// Records `current` for `folder`, returning what was remembered before.
    fn replace(&self, folder: &str, current: u32) -> Option<u32> {
        self.folders.lock().insert(folder.to_string(), current)
    }

    /// Copies the folders `other` knows and `self` does not.
    pub(crate) fn absorb(&self, other: &ValidityMemory) {
        let theirs = other.folders.lock().clone();
        let mut ours = self.folders.lock();
        for (folder, v) in theirs {
            ours.entry(folder).or_insert(v);
        }
    }

    /// A call that read the folder's UIDs under `current`: remember it; a change is
    /// reported once.
    pub(crate) fn read(&self, folder: &str, current: Option<u32>) -> Result<()> {
        let Some(current) = current else {
            return Ok(());
        };
        match self.replace(folder, current) {
            Some(old) if old != current => Err(changed(folder, old, current)),
            _ => Ok(()),
        }
    }

    /// The sync reports a change itself (`uid_validity_reset`): remember silently.
    pub(crate) fn record(&self, folder: &str, current: u32) {
        self.replace(folder, current);
    }

    /// A call about to act on UIDs the caller passed, read under `carried` (`None`: plain
    /// numbers, checked against the memory). Fails, remembering nothing new, when the
    /// folder's UIDVALIDITY is no longer the one they were read under.
    pub(crate) fn act(
        &self,
        folder: &str,
        current: Option<u32>,
        carried: Option<u32>,
    ) -> Result<()> {
        let Some(current) = current else {
            if carried.is_some() {
                // Asked to verify, and nothing to verify against: refuse.
                return Err(Error::protocol(
                    format!(
                        "the server sent no UIDVALIDITY for {folder:?}, so UIDs read under a UIDVALIDITY cannot be checked"
                    ),
                    &[],
                    0,
                ));
            }
            return Ok(());
        };
        let mut folders = self.folders.lock();
        match carried.or_else(|| folders.get(folder).copied()) {
            Some(expected) if expected != current => Err(changed(folder, expected, current)),
            // Numbers read under the current UIDVALIDITY (or the first seen): remember it.
            _ => {
                folders.insert(folder.to_string(), current);
                Ok(())
            }
        }
    }
}

fn changed(folder: &str, old: u32, new: u32) -> Error {
    log::warn!(target: "mailwire::imap", "UIDVALIDITY of {folder:?} changed from {old} to {new}");
    Error::UidValidityChanged {
        folder: folder.to_string(),
        old,
        new,
    }
}

/// One [`ValidityMemory`] per mailbox account (host, port, user: UIDVALIDITY belongs to
/// the server's mailbox, whatever credentials reached it), for a pool.
#[derive(Debug, Default)]
pub(crate) struct AccountValidities {
    accounts: Mutex<HashMap<(String, u16, String), Arc<ValidityMemory>>>,
}

impl AccountValidities {
    /// The memory shared by the connections of `config`'s account.
    pub(crate) fn for_account(&self, config: &Config) -> Arc<ValidityMemory> {
        let key = (
            config.host().to_ascii_lowercase(),
            config.port(Protocol::Imap),
            config.user().unwrap_or_default().to_string(),
        );
        Arc::clone(self.accounts.lock().entry(key).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_reports_once_acting_refuses_until_read_again() {
        let m = ValidityMemory::default();
        m.read("Work", Some(1)).unwrap();
        // Recreated: plain UIDs are refused every time, the memory stays.
        for _ in 0..3 {
            assert!(matches!(
                m.act("Work", Some(2), None),
                Err(Error::UidValidityChanged { old: 1, new: 2, .. })
            ));
        }
        assert_eq!(m.get("Work"), Some(1));
        // UIDs carried with the new UIDVALIDITY are fine (and teach the memory).
        m.act("Work", Some(2), Some(2)).unwrap();
        assert_eq!(m.get("Work"), Some(2));
        // Carried under the old one: refused whatever the memory says.
        assert!(m.act("Work", Some(2), Some(1)).is_err());
        // A read after a change fails once, then works.
        assert!(m.read("Work", Some(3)).is_err());
        m.read("Work", Some(3)).unwrap();
        m.act("Work", Some(3), None).unwrap();
        // Unknown folders and servers without UIDVALIDITY are not checked.
        m.act("Other", Some(5), None).unwrap();
        assert_eq!(m.get("Other"), Some(5));
        m.act("Odd", None, None).unwrap();
        // Asked to verify without a UIDVALIDITY to verify against: refused.
        assert!(matches!(
            m.act("Odd", None, Some(4)),
            Err(Error::Protocol { .. })
        ));
    }
}
