//! Mailbox names as command arguments: [`MailboxName`] (by its decoded name or by the
//! server's bytes) and the LIST pattern, written in modified UTF-7 unless `UTF8=ACCEPT`.

use crate::error::Result;
use crate::imap::codec::utf7;
use crate::imap::codec::writer::{EncodeOptions, Syntax, Writer, refuse_nul};

/// A mailbox name as a command argument (what a `SELECT` reports about a mailbox is
/// [`imap::Mailbox`](crate::imap::Mailbox)).
///
/// [`MailboxName::new`] takes the name as a person reads it (`Entwürfe`); it is sent in modified
/// UTF-7 (or as UTF-8 after `UTF8=ACCEPT`), and `INBOX` in any letter case is sent as
/// `INBOX`. [`MailboxName::from_wire`] takes a name exactly as the server sent it (from `LIST`)
/// and sends those bytes unchanged, which also reaches mailboxes whose names are not valid
/// modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MailboxName(MailboxRepr);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MailboxRepr {
    Name(String),
    Wire(Vec<u8>),
}

impl MailboxName {
    /// A mailbox by its (decoded) name.
    pub fn new(name: impl Into<String>) -> MailboxName {
        MailboxName(MailboxRepr::Name(name.into()))
    }

    /// A mailbox by the exact bytes the server uses for it.
    pub fn from_wire(bytes: impl Into<Vec<u8>>) -> MailboxName {
        MailboxName(MailboxRepr::Wire(bytes.into()))
    }

    /// `INBOX`.
    pub fn inbox() -> MailboxName {
        MailboxName::new("INBOX")
    }

    /// Whether this is `INBOX` (case-insensitive).
    pub fn is_inbox(&self) -> bool {
        match &self.0 {
            MailboxRepr::Name(n) => n.eq_ignore_ascii_case("INBOX"),
            MailboxRepr::Wire(w) => w.eq_ignore_ascii_case(b"INBOX"),
        }
    }

    /// The bytes the name has on the wire (before quoting).
    pub(crate) fn wire_bytes(&self, opts: &EncodeOptions) -> Vec<u8> {
        if self.is_inbox() {
            return b"INBOX".to_vec();
        }
        match &self.0 {
            MailboxRepr::Name(n) if opts.utf8_accept => n.as_bytes().to_vec(),
            MailboxRepr::Name(n) => utf7::encode(n).into_bytes(),
            MailboxRepr::Wire(w) => w.clone(),
        }
    }
}

impl From<&str> for MailboxName {
    fn from(s: &str) -> MailboxName {
        MailboxName::new(s)
    }
}

impl From<String> for MailboxName {
    fn from(s: String) -> MailboxName {
        MailboxName::new(s)
    }
}

impl From<&String> for MailboxName {
    fn from(s: &String) -> MailboxName {
        MailboxName::new(s.as_str())
    }
}

/// MailboxName arguments, which need [`MailboxName`].
impl Writer<'_> {
    /// Writes a mailbox name (modified UTF-7 unless `UTF8=ACCEPT`) as an astring.
    pub(crate) fn mailbox(&mut self, mailbox: &MailboxName) -> Result<()> {
        if let MailboxRepr::Name(name) = &mailbox.0 {
            refuse_nul(name.as_bytes(), "mailbox name")?;
        }
        let wire = mailbox.wire_bytes(self.options());
        self.write_string(&wire, Syntax::Astring, false, "mailbox name")
    }

    /// Writes a LIST pattern (`%` and `*` allowed in the atom form).
    pub(crate) fn pattern(&mut self, pattern: &str) -> Result<()> {
        refuse_nul(pattern.as_bytes(), "mailbox pattern")?;
        let wire = if self.options().utf8_accept {
            pattern.as_bytes().to_vec()
        } else {
            utf7::encode(pattern).into_bytes()
        };
        self.write_string(&wire, Syntax::ListMailbox, false, "mailbox pattern")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{enc, enc_with};
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::EncodeOptions;

    #[test]
    fn mailbox_names() {
        assert_eq!(enc(&Command::select("inbox")), "A1 SELECT INBOX\r\n");
        assert_eq!(
            enc(&Command::select("~peter/mail/台北/日本語")),
            "A1 SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n"
        );
        assert_eq!(
            enc(&Command::Create("Tom & Jerry".into())),
            "A1 CREATE \"Tom &- Jerry\"\r\n"
        );
        let utf8 = EncodeOptions::new().with_utf8_accept(true);
        assert_eq!(
            enc_with(&Command::select("Entwürfe"), utf8).to_bytes(),
            "A1 SELECT \"Entwürfe\"\r\n".as_bytes()
        );
        assert_eq!(
            enc(&Command::select(MailboxName::from_wire(
                b"odd&name".to_vec()
            ))),
            "A1 SELECT odd&name\r\n"
        );
        assert_eq!(
            enc(&Command::Rename {
                from: "a".into(),
                to: "".into()
            }),
            "A1 RENAME a \"\"\r\n"
        );
        assert!(
            Command::select("a\0b")
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
    }
}
