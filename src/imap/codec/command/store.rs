//! `STORE`'s arguments: [`StoreAction`], UNCHANGEDSINCE and the flag list (also APPEND's),
//! refusing a flag a client cannot set.

use super::modseq::MAX_MODSEQ;
use crate::error::{Error, Result};
use crate::flag::Flag;
use crate::imap::codec::writer::Writer;
use crate::imap::seqset::SequenceSet;

/// How `STORE` changes the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreAction {
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
    /// `FLAGS`: replace.
    Replace,
}

/// `set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)`.
pub(super) fn store(
    w: &mut Writer<'_>,
    set: &SequenceSet,
    action: StoreAction,
    silent: bool,
    flags: &[Flag],
    unchanged_since: Option<u64>,
) -> Result<()> {
    w.sp();
    w.set(set, "message set")?;
    if let Some(since) = unchanged_since {
        w.token(" (UNCHANGEDSINCE ");
        // UNCHANGEDSINCE 0 is valid: it fails for every message with a modseq.
        if since > MAX_MODSEQ {
            return Err(Error::invalid("UNCHANGEDSINCE", "exceeds 2^63 - 1"));
        }
        w.number(since);
        w.token(")");
    }
    w.token(match action {
        StoreAction::Add => " +FLAGS",
        StoreAction::Remove => " -FLAGS",
        StoreAction::Replace => " FLAGS",
    });
    if silent {
        w.token(".SILENT");
    }
    w.sp();
    flag_list(w, flags)?;
    Ok(())
}

/// `(flag ...)`: every flag settable, every keyword an atom.
pub(super) fn flag_list(w: &mut Writer<'_>, flags: &[Flag]) -> Result<()> {
    w.parenthesized(flags, |w, flag| {
        flag.check_settable()?;
        w.token(&flag.as_str());
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::enc;
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::EncodeOptions;

    #[test]
    fn store_forms() {
        let store = Command::Store {
            uid: true,
            set: SequenceSet::from_start(5),
            action: StoreAction::Add,
            silent: true,
            flags: vec![Flag::Seen, Flag::keyword("$Forwarded").unwrap()],
            unchanged_since: Some(0),
        };
        assert_eq!(
            enc(&store),
            "A1 UID STORE 5:* (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen $Forwarded)\r\n"
        );
        let bad_kw = Command::uid_store(
            SequenceSet::single(1),
            StoreAction::Remove,
            [Flag::Keyword("a)b".into())],
        );
        assert!(bad_kw.encode("A1", &EncodeOptions::new()).is_err());
        for bad in [Flag::Recent, Flag::MayCreate, Flag::Extension("X".into())] {
            let cmd = Command::uid_store(SequenceSet::single(1), StoreAction::Add, [bad]);
            assert!(cmd.encode("A1", &EncodeOptions::new()).is_err());
        }
    }
}
