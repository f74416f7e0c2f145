//! The options of `SELECT` / `EXAMINE`: CONDSTORE and QRESYNC (RFC 7162).

use super::modseq::check_modseq;
use crate::error::{Error, Result};
use crate::imap::codec::writer::Writer;
use crate::imap::seqset::SequenceSet;

/// Options of `SELECT` / `EXAMINE`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SelectOptions {
    /// Sends `(CONDSTORE)` (RFC 7162): the server then reports mod-sequences.
    pub condstore: bool,
    /// Sends `(QRESYNC (...))` (RFC 7162) to resynchronize a cached mailbox.
    pub qresync: Option<Qresync>,
}

impl SelectOptions {
    /// No options.
    pub fn new() -> SelectOptions {
        SelectOptions::default()
    }

    /// Asks for `CONDSTORE`.
    #[must_use]
    pub fn condstore(mut self) -> SelectOptions {
        self.condstore = true;
        self
    }

    /// Asks for `QRESYNC` with the cached state.
    #[must_use]
    pub fn qresync(mut self, qresync: Qresync) -> SelectOptions {
        self.qresync = Some(qresync);
        self
    }
}

/// The cached state sent with `SELECT ... (QRESYNC (...))`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Qresync {
    /// The UIDVALIDITY of the cache.
    pub uid_validity: u32,
    /// The highest mod-sequence the cache has seen.
    pub mod_seq: u64,
    /// The UIDs the cache knows, if given.
    pub known_uids: Option<SequenceSet>,
}

impl Qresync {
    /// QRESYNC parameters from a cache's UIDVALIDITY and highest mod-sequence.
    pub fn new(uid_validity: u32, mod_seq: u64) -> Qresync {
        Qresync {
            uid_validity,
            mod_seq,
            known_uids: None,
        }
    }

    /// Adds the known UIDs.
    #[must_use]
    pub fn with_known_uids(mut self, uids: SequenceSet) -> Qresync {
        self.known_uids = Some(uids);
        self
    }
}

/// ` (CONDSTORE QRESYNC (...))` after the mailbox, nothing without options.
pub(super) fn options(w: &mut Writer<'_>, options: &SelectOptions) -> Result<()> {
    if !options.condstore && options.qresync.is_none() {
        return Ok(());
    }
    w.token(" (");
    if options.condstore {
        w.token("CONDSTORE");
        if options.qresync.is_some() {
            w.sp();
        }
    }
    if let Some(q) = &options.qresync {
        if q.uid_validity == 0 {
            return Err(Error::invalid("QRESYNC", "UIDVALIDITY must not be 0"));
        }
        w.token("QRESYNC (");
        w.number(u64::from(q.uid_validity));
        w.sp();
        w.number(check_modseq(q.mod_seq, "QRESYNC mod-sequence")?);
        if let Some(uids) = &q.known_uids {
            w.sp();
            w.set(uids, "QRESYNC known UIDs")?;
        }
        w.token(")");
    }
    w.token(")");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::enc;
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::EncodeOptions;

    #[test]
    fn condstore_and_qresync() {
        let opts = SelectOptions::new().condstore().qresync(
            Qresync::new(67890007, 20050715194045000).with_known_uids(SequenceSet::range(41, 211)),
        );
        assert_eq!(
            enc(&Command::Select {
                mailbox: "INBOX".into(),
                options: opts
            }),
            "A1 SELECT INBOX (CONDSTORE QRESYNC (67890007 20050715194045000 41:211))\r\n"
        );
        assert!(
            Command::Examine {
                mailbox: "INBOX".into(),
                options: SelectOptions::new().qresync(Qresync::new(1, 0))
            }
            .encode("A1", &EncodeOptions::new())
            .is_err()
        );
    }
}
