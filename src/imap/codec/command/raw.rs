//! The escape hatch for extension commands: [`RawArg`], every argument checked so that it
//! cannot inject CR, LF or NUL.

use super::mailbox::MailboxName;
use crate::atom::check_atom;
use crate::error::{Error, Result};
use crate::imap::codec::writer::Writer;
use crate::imap::seqset::SequenceSet;

/// An argument of [`Command::RawExtension`](super::Command::RawExtension). Every variant is
/// checked before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawArg {
    /// An atom: refused unless every byte is an ATOM-CHAR.
    Atom(String),
    /// A string, sent as atom, quoted string or literal like any user string.
    String(Vec<u8>),
    /// A number.
    Number(u64),
    /// A sequence set.
    Set(SequenceSet),
    /// A mailbox name, encoded like every mailbox argument.
    Mailbox(MailboxName),
    /// Syntax written as given (e.g. `(FOO BAR)`): printable ASCII only, so it cannot
    /// contain CR, LF or NUL.
    Verbatim(String),
}

/// `name args...`.
pub(super) fn raw_extension(w: &mut Writer<'_>, name: &str, args: &[RawArg]) -> Result<()> {
    check_atom(name, "extension command name")?;
    for arg in args {
        w.sp();
        match arg {
            RawArg::Atom(a) => {
                check_atom(a, "extension argument")?;
                w.token(a);
            }
            RawArg::String(s) => w.astring(s, "extension argument")?,
            RawArg::Number(n) => w.number(*n),
            RawArg::Set(s) => w.set(s, "extension argument")?,
            RawArg::Mailbox(m) => w.mailbox(m)?,
            RawArg::Verbatim(v) => {
                if v.is_empty() || !v.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                    return Err(Error::invalid(
                        "extension argument",
                        "verbatim syntax must be non-empty printable ASCII",
                    ));
                }
                w.token(v);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{enc, enc_with};
    use super::*;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::EncodeOptions;

    #[test]
    fn raw_extension_is_checked() {
        let ok = Command::raw_extension(
            "XLIST",
            [
                RawArg::String(b"".to_vec()),
                RawArg::Verbatim("(A B)".into()),
                RawArg::Number(5),
            ],
        );
        assert_eq!(enc(&ok), "A1 XLIST \"\" (A B) 5\r\n");
        for bad in [
            Command::raw_extension("X CMD", []),
            Command::raw_extension("X", [RawArg::Verbatim("a\r\nB LOGOUT".into())]),
            Command::raw_extension("X", [RawArg::Atom("a b".into())]),
            Command::raw_extension("X", [RawArg::String(b"\0".to_vec())]),
        ] {
            assert!(bad.encode("A1", &EncodeOptions::new()).is_err(), "{bad:?}");
        }
        let lit = Command::raw_extension("X", [RawArg::String(b"a\r\nB LOGOUT".to_vec())]);
        assert_eq!(
            enc_with(&lit, EncodeOptions::new()).to_bytes(),
            b"A1 X {11}\r\na\r\nB LOGOUT\r\n"
        );
    }
}
