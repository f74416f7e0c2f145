//! The message flag: one type for the flags a server reports (`FLAGS`, `PERMANENTFLAGS`)
//! and the flags a client sets (`STORE`, `APPEND`), protocol-neutral so that
//! [`MessageMeta`](crate::MessageMeta) can hold it.

use std::borrow::Cow;
use std::fmt;

use crate::atom::check_atom;
use crate::error::{Error, Result};

/// A message flag.
///
/// What a server sends is read with [`Flag::from_bytes`] (which accepts anything); what a
/// client may set ([`Flag::is_settable`]) is the five system flags and keywords, checked
/// when a command is encoded, or up front with [`Flag::keyword`] / [`Flag::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flag {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// `\Recent` (set by the server only).
    Recent,
    /// `\*` in PERMANENTFLAGS: new keywords may be created (never a message's flag).
    MayCreate,
    /// Another flag starting with a backslash, without the backslash (reported by a
    /// server; a client cannot set it).
    Extension(String),
    /// A keyword such as `$Forwarded` or `Work`: to be set it must be an IMAP atom (checked
    /// when encoding, or up front with [`Flag::keyword`]).
    Keyword(String),
}

/// The system flags by their wire text, `\Recent` and `\*` included.
const SYSTEM: [(&str, Flag); 7] = [
    ("\\Seen", Flag::Seen),
    ("\\Answered", Flag::Answered),
    ("\\Flagged", Flag::Flagged),
    ("\\Deleted", Flag::Deleted),
    ("\\Draft", Flag::Draft),
    ("\\Recent", Flag::Recent),
    ("\\*", Flag::MayCreate),
];

impl Flag {
    /// A keyword flag, checked to be a valid atom (no space, parentheses, braces, quotes,
    /// backslash, `%`, `*`, `]`, control or 8-bit characters; not empty).
    pub fn keyword(name: impl Into<String>) -> Result<Flag> {
        let name = name.into();
        check_atom(&name, "flag keyword")?;
        Ok(Flag::Keyword(name))
    }

    /// Parses a flag a client can set: `\Seen`, `\Answered`, `\Flagged`, `\Deleted`,
    /// `\Draft` (any case) or a keyword. Other `\` flags (such as `\Recent`) cannot be set
    /// and are refused.
    pub fn parse(s: &str) -> Result<Flag> {
        if s.starts_with('\\') {
            return match Flag::system(s) {
                Some(flag) if flag.is_settable() => Ok(flag),
                _ => Err(Error::invalid(
                    "flag",
                    format!("{s:?} is not a system flag a client can set"),
                )),
            };
        }
        Flag::keyword(s)
    }

    /// Interprets one flag as sent by the server (case-insensitive for system flags);
    /// never fails.
    pub fn from_bytes(raw: &[u8]) -> Flag {
        let text = String::from_utf8_lossy(raw);
        match text.strip_prefix('\\') {
            Some(name) => Flag::system(&text).unwrap_or_else(|| Flag::Extension(name.to_string())),
            None => Flag::Keyword(text.into_owned()),
        }
    }

    /// The system flag whose wire text is `text` (any case).
    fn system(text: &str) -> Option<Flag> {
        SYSTEM
            .into_iter()
            .find(|(name, _)| text.eq_ignore_ascii_case(name))
            .map(|(_, flag)| flag)
    }

    /// The flag's wire text: `\Seen`, `\*`, `\` and the name of an extension flag, or the
    /// keyword itself. Borrowed except for extension flags.
    pub fn as_str(&self) -> Cow<'_, str> {
        match self {
            Flag::Extension(name) => Cow::Owned(format!("\\{name}")),
            Flag::Keyword(k) => Cow::Borrowed(k),
            system => Cow::Borrowed(
                SYSTEM
                    .iter()
                    .find(|(_, flag)| flag == system)
                    .map_or("", |(name, _)| *name),
            ),
        }
    }

    /// Whether a client may set this flag with `STORE` or `APPEND`: the five system flags
    /// and keywords, not `\Recent`, `\*` or an extension flag. (A keyword must also be an
    /// atom, which encoding checks.)
    pub fn is_settable(&self) -> bool {
        !matches!(self, Flag::Recent | Flag::MayCreate | Flag::Extension(_))
    }

    /// Refuses a flag a client cannot set, or a keyword that is not an atom.
    pub(crate) fn check_settable(&self) -> Result<()> {
        match self {
            Flag::Keyword(k) => check_atom(k, "flag keyword"),
            other if !other.is_settable() => Err(Error::invalid(
                "flag",
                format!(
                    "{other:?} cannot be set by a client (only \\Seen \\Answered \\Flagged \\Deleted \\Draft and keywords)"
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The wire text ([`Flag::as_str`]).
impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_and_parse() {
        assert!(Flag::keyword("two words").is_err());
        assert!(Flag::keyword("").is_err());
        assert_eq!(
            Flag::keyword("$Forwarded").unwrap(),
            Flag::Keyword("$Forwarded".into())
        );
        assert!(Flag::parse("\\Recent").is_err());
        assert!(Flag::parse("\\*").is_err());
        assert!(Flag::parse("\\Custom").is_err());
        assert!(Flag::parse("a)b").is_err());
        assert_eq!(Flag::parse("\\SEEN").unwrap(), Flag::Seen);
        assert_eq!(Flag::parse("\\draft").unwrap(), Flag::Draft);
        assert_eq!(Flag::parse("Work").unwrap(), Flag::Keyword("Work".into()));
    }

    #[test]
    fn from_bytes_reads_anything() {
        assert_eq!(Flag::from_bytes(b"\\sEEn"), Flag::Seen);
        assert_eq!(Flag::from_bytes(b"\\Recent"), Flag::Recent);
        assert_eq!(Flag::from_bytes(b"\\*"), Flag::MayCreate);
        assert_eq!(
            Flag::from_bytes(b"\\Custom"),
            Flag::Extension("Custom".into())
        );
        assert_eq!(Flag::from_bytes(b"$Junk"), Flag::Keyword("$Junk".into()));
    }

    #[test]
    fn wire_text_round_trips() {
        for flag in [
            Flag::Seen,
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Draft,
            Flag::Recent,
            Flag::MayCreate,
            Flag::Extension("Custom".into()),
            Flag::Keyword("$Forwarded".into()),
        ] {
            let text = flag.to_string();
            assert_eq!(text, flag.as_str());
            assert_eq!(Flag::from_bytes(text.as_bytes()), flag);
        }
        assert_eq!(Flag::Seen.as_str(), "\\Seen");
        assert_eq!(Flag::MayCreate.as_str(), "\\*");
        assert_eq!(Flag::Extension("X".into()).as_str(), "\\X");
    }

    #[test]
    fn settable() {
        for flag in [Flag::Seen, Flag::Deleted, Flag::Keyword("Work".into())] {
            assert!(flag.is_settable());
            assert!(flag.check_settable().is_ok());
        }
        for flag in [Flag::Recent, Flag::MayCreate, Flag::Extension("X".into())] {
            assert!(!flag.is_settable());
            assert!(matches!(
                flag.check_settable(),
                Err(Error::InvalidInput { .. })
            ));
        }
        // A keyword is settable in kind, but encoding refuses one that is not an atom.
        assert!(Flag::Keyword("a b".into()).is_settable());
        assert!(Flag::Keyword("a b".into()).check_settable().is_err());
    }
}
