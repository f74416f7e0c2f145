//! `CREATE mailbox (USE (attributes))` (RFC 6154 §5.2, CREATE-SPECIAL-USE): a new folder
//! marked for a special use.

use super::mailbox::MailboxName;
use crate::atom::check_atom;
use crate::error::{Error, Result};
use crate::imap::codec::writer::Writer;
use crate::imap::types::NameAttribute;

/// ` mailbox (USE (\Sent ...))`: at least one attribute, each `\` and an atom.
pub(super) fn create_special_use(
    w: &mut Writer<'_>,
    mailbox: &MailboxName,
    uses: &[NameAttribute],
) -> Result<()> {
    if uses.is_empty() {
        return Err(Error::invalid(
            "CREATE (USE ...)",
            "no special-use attribute given",
        ));
    }
    w.sp();
    w.mailbox(mailbox)?;
    w.token(" (USE ");
    w.parenthesized(uses, |w, attribute| {
        let text = attribute.as_str();
        let Some(name) = text.strip_prefix('\\') else {
            return Err(Error::invalid(
                "special-use attribute",
                format!("{text:?} does not start with a backslash"),
            ));
        };
        check_atom(name, "special-use attribute")?;
        w.token(text);
        Ok(())
    })?;
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
    fn create_with_use() {
        // RFC 6154 §5.3's example.
        let create = Command::CreateSpecialUse {
            mailbox: "MySpecial".into(),
            uses: vec![NameAttribute::Drafts, NameAttribute::Sent],
        };
        assert_eq!(
            enc(&create),
            "A1 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n"
        );
        assert_eq!(create.name(), "CREATE");
        let unicode = Command::CreateSpecialUse {
            mailbox: "Entwürfe".into(),
            uses: vec![NameAttribute::Drafts],
        };
        assert_eq!(enc(&unicode), "A1 CREATE Entw&APw-rfe (USE (\\Drafts))\r\n");
        for uses in [
            vec![],
            vec![NameAttribute::Other("Sent".into())],
            vec![NameAttribute::Other("\\Sent) (x".into())],
            vec![NameAttribute::Other("\\Sent\r\nA2 LOGOUT".into())],
        ] {
            let cmd = Command::CreateSpecialUse {
                mailbox: "x".into(),
                uses,
            };
            assert!(cmd.encode("A1", &EncodeOptions::new()).is_err(), "{cmd:?}");
        }
    }
}
