//! `STORE`'s arguments: [`StoreAction`], UNCHANGEDSINCE and the flag list (also APPEND's),
//! refusing a flag a client cannot set; Gmail's `X-GM-LABELS` form.

use super::modseq::MAX_MODSEQ;
use crate::error::{Error, Result};
use crate::flag::Flag;
use crate::imap::codec::writer::Writer;
use crate::imap::search::write_gmail_label;
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

/// `set [+|-]X-GM-LABELS[.SILENT] (label ...)` (Gmail).
pub(super) fn store_gmail_labels(
    w: &mut Writer<'_>,
    set: &SequenceSet,
    action: StoreAction,
    silent: bool,
    labels: &[String],
) -> Result<()> {
    w.sp();
    w.set(set, "message set")?;
    w.token(match action {
        StoreAction::Add => " +X-GM-LABELS",
        StoreAction::Remove => " -X-GM-LABELS",
        StoreAction::Replace => " X-GM-LABELS",
    });
    if silent {
        w.token(".SILENT");
    }
    w.sp();
    w.parenthesized(labels, |w, label| write_gmail_label(w, label))
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
    fn gmail_label_store_forms() {
        // Gmail's documented `a011 STORE 1 +X-GM-LABELS (foo)`, and its other forms.
        let store = |action, silent, labels: &[&str]| Command::StoreGmailLabels {
            uid: false,
            set: SequenceSet::single(1),
            action,
            silent,
            labels: labels.iter().map(|l| l.to_string()).collect(),
        };
        assert_eq!(
            enc(&store(StoreAction::Add, false, &["foo"])),
            "A1 STORE 1 +X-GM-LABELS (foo)\r\n"
        );
        assert_eq!(
            enc(&store(
                StoreAction::Remove,
                true,
                &["\\Inbox", "Muy Importante"]
            )),
            "A1 STORE 1 -X-GM-LABELS.SILENT (\\Inbox \"Muy Importante\")\r\n"
        );
        assert_eq!(
            enc(&store(StoreAction::Replace, true, &[])),
            "A1 STORE 1 X-GM-LABELS.SILENT ()\r\n"
        );
        let uid = Command::StoreGmailLabels {
            uid: true,
            set: SequenceSet::range(3, 5),
            action: StoreAction::Add,
            silent: true,
            labels: vec!["Übung".into(), "R&D".into(), "a\"b".into()],
        };
        let e = uid.encode("A1", &EncodeOptions::new()).unwrap();
        assert_eq!(
            String::from_utf8(e.to_bytes()).unwrap(),
            "A1 UID STORE 3:5 +X-GM-LABELS.SILENT (&ANw-bung R&-D \"a\\\"b\")\r\n"
        );
        assert!(
            store(StoreAction::Add, true, &[""])
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
    }

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
