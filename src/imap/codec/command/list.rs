//! `LIST`'s return options (RFC 5258, 6154, 5819) and the LIST command's arguments.

use super::mailbox::MailboxName;
use super::status::{self, StatusAttr};
use crate::error::Result;
use crate::imap::codec::writer::Writer;

/// `LIST ... RETURN (...)` options (RFC 5258, 6154, 5819).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListReturn {
    /// `SUBSCRIBED`.
    pub subscribed: bool,
    /// `CHILDREN`.
    pub children: bool,
    /// `SPECIAL-USE`.
    pub special_use: bool,
    /// `STATUS (...)`, when not empty.
    pub status: Vec<StatusAttr>,
}

impl ListReturn {
    /// No return options (a plain `LIST`).
    pub fn new() -> ListReturn {
        ListReturn::default()
    }

    /// Asks for `SUBSCRIBED`.
    #[must_use]
    pub fn subscribed(mut self) -> ListReturn {
        self.subscribed = true;
        self
    }

    /// Asks for `CHILDREN`.
    #[must_use]
    pub fn children(mut self) -> ListReturn {
        self.children = true;
        self
    }

    /// Asks for `SPECIAL-USE`.
    #[must_use]
    pub fn special_use(mut self) -> ListReturn {
        self.special_use = true;
        self
    }

    /// Asks for `STATUS (items)`.
    #[must_use]
    pub fn status(mut self, items: impl IntoIterator<Item = StatusAttr>) -> ListReturn {
        self.status = items.into_iter().collect();
        self
    }

    fn is_empty(&self) -> bool {
        !self.subscribed && !self.children && !self.special_use && self.status.is_empty()
    }
}

/// `reference pattern [RETURN (...)]` (LSUB: the same without return options).
pub(super) fn list(
    w: &mut Writer<'_>,
    reference: &MailboxName,
    pattern: &str,
    returns: &ListReturn,
) -> Result<()> {
    w.sp();
    w.mailbox(reference)?;
    w.sp();
    w.pattern(pattern)?;
    if !returns.is_empty() {
        w.token(" RETURN (");
        let mut first = true;
        let mut opt = |w: &mut Writer<'_>, t: &str| {
            if !first {
                w.sp();
            }
            first = false;
            w.token(t);
        };
        if returns.subscribed {
            opt(w, "SUBSCRIBED");
        }
        if returns.children {
            opt(w, "CHILDREN");
        }
        if returns.special_use {
            opt(w, "SPECIAL-USE");
        }
        if !returns.status.is_empty() {
            opt(w, "STATUS ");
            status::attrs(w, &returns.status)?;
        }
        w.token(")");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::enc;
    use super::*;
    use crate::imap::codec::command::Command;

    #[test]
    fn list_and_return_options() {
        assert_eq!(enc(&Command::list("*")), "A1 LIST \"\" *\r\n");
        let list = Command::List {
            reference: "".into(),
            pattern: "Entwürfe/%".into(),
            returns: ListReturn::new()
                .special_use()
                .subscribed()
                .status([StatusAttr::Messages, StatusAttr::Unseen]),
        };
        assert_eq!(
            enc(&list),
            "A1 LIST \"\" Entw&APw-rfe/% RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n"
        );
    }
}
