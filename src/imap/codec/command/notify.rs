//! `NOTIFY SET (MAILBOXES (...) (MessageNew MessageExpunge FlagChange))` (RFC 5465): the
//! events a multi-folder listener asks for, for the named folders.

use crate::error::{Error, Result};
use crate::imap::codec::command::MailboxName;
use crate::imap::codec::writer::Writer;

/// The events asked for every watched folder (RFC 5465 §5: `MessageNew` and
/// `MessageExpunge` go together; `FlagChange` needs both).
const EVENTS: &str = "(MessageNew MessageExpunge FlagChange)";

/// ` SET (MAILBOXES (m1 m2 ...) (MessageNew MessageExpunge FlagChange))`: at least one
/// mailbox, each written like every other mailbox name (atom, quoted or literal).
pub(super) fn set(w: &mut Writer<'_>, mailboxes: &[MailboxName]) -> Result<()> {
    if mailboxes.is_empty() {
        return Err(Error::invalid("NOTIFY", "no mailbox given"));
    }
    w.sp();
    w.token("SET (MAILBOXES ");
    w.parenthesized(mailboxes, |w, m| w.mailbox(m))?;
    w.sp();
    w.token(EVENTS);
    w.token(")");
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::imap::codec::{Command, EncodeOptions};

    #[test]
    fn notify_set_names_every_mailbox() {
        let c = Command::Notify {
            mailboxes: vec![
                "INBOX".into(),
                "Work".into(),
                "Lists/rust".into(),
                "a b".into(),
            ],
        };
        let wire =
            String::from_utf8(c.encode("A1", &EncodeOptions::new()).unwrap().to_bytes()).unwrap();
        assert_eq!(
            wire,
            "A1 NOTIFY SET (MAILBOXES (INBOX Work Lists/rust \"a b\") (MessageNew MessageExpunge FlagChange))\r\n"
        );
    }

    #[test]
    fn notify_without_mailboxes_is_refused() {
        assert!(
            Command::Notify { mailboxes: vec![] }
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
    }
}
