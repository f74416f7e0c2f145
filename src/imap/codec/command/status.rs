//! The attributes a client asks of `STATUS` (and of `LIST ... RETURN (STATUS (...))`).

use crate::error::{Error, Result};
use crate::imap::codec::writer::Writer;

/// An attribute a client asks of `STATUS` (and of `LIST ... RETURN (STATUS (...))`); the
/// server answers each with a [`StatusData`](crate::imap::types::StatusData).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusAttr {
    /// `MESSAGES`.
    Messages,
    /// `RECENT` (IMAP4rev1 only).
    Recent,
    /// `UIDNEXT`.
    UidNext,
    /// `UIDVALIDITY`.
    UidValidity,
    /// `UNSEEN`.
    Unseen,
    /// `DELETED` (IMAP4rev2).
    Deleted,
    /// `SIZE` (IMAP4rev2 / STATUS=SIZE).
    Size,
    /// `HIGHESTMODSEQ` (CONDSTORE).
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889).
    AppendLimit,
    /// `MAILBOXID` (OBJECTID, RFC 8474): the folder's permanent id.
    MailboxId,
}

impl StatusAttr {
    fn wire(self) -> &'static str {
        match self {
            StatusAttr::Messages => "MESSAGES",
            StatusAttr::Recent => "RECENT",
            StatusAttr::UidNext => "UIDNEXT",
            StatusAttr::UidValidity => "UIDVALIDITY",
            StatusAttr::Unseen => "UNSEEN",
            StatusAttr::Deleted => "DELETED",
            StatusAttr::Size => "SIZE",
            StatusAttr::HighestModSeq => "HIGHESTMODSEQ",
            StatusAttr::AppendLimit => "APPENDLIMIT",
            StatusAttr::MailboxId => "MAILBOXID",
        }
    }
}

/// `(MESSAGES UNSEEN ...)`: at least one.
pub(super) fn attrs(w: &mut Writer<'_>, items: &[StatusAttr]) -> Result<()> {
    if items.is_empty() {
        return Err(Error::invalid("STATUS", "no status item given"));
    }
    w.parenthesized(items, |w, item| {
        w.token(item.wire());
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
    fn status_attrs() {
        let status = Command::Status {
            mailbox: "Sent Items".into(),
            items: vec![
                StatusAttr::UidNext,
                StatusAttr::HighestModSeq,
                StatusAttr::MailboxId,
            ],
        };
        assert_eq!(
            enc(&status),
            "A1 STATUS \"Sent Items\" (UIDNEXT HIGHESTMODSEQ MAILBOXID)\r\n"
        );
        assert!(
            Command::Status {
                mailbox: "x".into(),
                items: vec![]
            }
            .encode("A1", &EncodeOptions::new())
            .is_err()
        );
    }
}
