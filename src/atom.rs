//! The atom of RFC 3501: which bytes a bare word (a flag keyword, a capability, a command
//! name) may hold, shared by [`Flag`](crate::Flag) and the IMAP command writer.

use crate::error::{Error, Result, escape_bytes};

/// ATOM-CHAR of RFC 3501: printable ASCII except atom-specials.
pub(crate) fn is_atom_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// Refuses `s` unless it is a non-empty IMAP atom; `what` names it in the error.
pub(crate) fn check_atom(s: &str, what: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(what, "is empty"));
    }
    if !s.bytes().all(is_atom_char) {
        return Err(Error::invalid(
            what,
            format!(
                "{:?} is not an IMAP atom (no space, control, 8-bit or ( ) {{ % * \" \\ ])",
                escape_bytes(s.as_bytes())
            ),
        ));
    }
    Ok(())
}
