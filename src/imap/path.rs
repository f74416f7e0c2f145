//! Folder paths that work on every server: levels joined with the server's hierarchy
//! delimiter under its personal namespace prefix (RFC 2342), and the reverse.
//!
//! Servers lay folders out differently: Dovecot and Gmail as `Projects/2026`, Courier and
//! many Cyrus setups as `INBOX.Projects.2026` (personal namespace `INBOX.`, delimiter
//! `.`). A [`FolderLayout`] is one server's rule; [`FolderLayout::path`] builds a name from
//! its levels and [`FolderLayout::components`] takes a listed name apart again. Names stay
//! Rust strings: the mailbox encoding (modified UTF-7, or UTF-8 after `UTF8=ACCEPT`) is the
//! command writer's, as for every other name.

use std::fmt;
use std::ops::Deref;

use crate::error::{Error, Result};

/// Where a [`FolderLayout`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LayoutSource {
    /// The first personal namespace of the server's `NAMESPACE` answer (RFC 2342).
    Namespace,
    /// `LIST "" ""` (RFC 3501 §6.3.8): the server has no `NAMESPACE` (or names no personal
    /// namespace), so the delimiter comes from LIST and the prefix is taken as empty.
    List,
    /// Built by the caller with [`FolderLayout::new`].
    Given,
}

impl fmt::Display for LayoutSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayoutSource::Namespace => "NAMESPACE",
            LayoutSource::List => "LIST \"\" \"\"",
            LayoutSource::Given => "given",
        })
    }
}

/// How one server names nested folders: the personal namespace's prefix (`""`, `INBOX.`)
/// and its hierarchy delimiter (`/`, `.`, or none for a flat namespace).
///
/// Get it from the server with
/// [`ImapConnection::folder_layout`](crate::imap::ImapConnection::folder_layout) (or build
/// a path at once with
/// [`ImapConnection::folder_path`](crate::imap::ImapConnection::folder_path)); build one
/// for a server you know with [`new`](Self::new).
///
/// ```
/// use mailwire::imap::FolderLayout;
///
/// let courier = FolderLayout::new("INBOX.", Some('.'))?;
/// assert_eq!(courier.path(["Projects", "2026"])?.as_str(), "INBOX.Projects.2026");
/// assert_eq!(courier.components("INBOX.Projects.2026"), ["Projects", "2026"]);
///
/// let dovecot = FolderLayout::new("", Some('/'))?;
/// assert_eq!(dovecot.path(["Projects", "2026"])?.as_str(), "Projects/2026");
/// // A level holding the delimiter is refused, never split.
/// assert!(dovecot.path(["a/b"]).is_err());
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderLayout {
    prefix: String,
    delimiter: Option<char>,
    source: LayoutSource,
}

impl FolderLayout {
    /// The longest namespace prefix accepted, in bytes (real ones are a few characters:
    /// `INBOX.`, `#mh/`); a server naming a longer one is refused.
    pub const MAX_PREFIX: usize = 1024;

    /// A layout with `prefix` and `delimiter` (`None`: a flat namespace, one level only).
    ///
    /// Fails with [`Error::InvalidInput`] for a prefix longer than
    /// [`MAX_PREFIX`](Self::MAX_PREFIX) or holding NUL, CR or LF, and for a delimiter that
    /// is not ASCII punctuation (`/`, `.`, `\`, …).
    pub fn new(prefix: impl Into<String>, delimiter: Option<char>) -> Result<FolderLayout> {
        let prefix = prefix.into();
        check(&prefix, delimiter).map_err(|reason| Error::invalid("folder layout", reason))?;
        Ok(FolderLayout {
            prefix,
            delimiter,
            source: LayoutSource::Given,
        })
    }

    /// The layout a server announced: refused as [`Error::Protocol`] where
    /// [`new`](Self::new) refuses it.
    pub(crate) fn announced(
        prefix: String,
        delimiter: Option<char>,
        source: LayoutSource,
    ) -> Result<FolderLayout> {
        check(&prefix, delimiter).map_err(|reason| {
            Error::protocol(
                format!("the server's folder layout ({source}) is unusable: {reason}"),
                &[],
                0,
            )
        })?;
        Ok(FolderLayout {
            prefix,
            delimiter,
            source,
        })
    }

    /// The personal namespace's prefix (`""`, `INBOX.`), decoded.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hierarchy delimiter; `None` for a flat namespace.
    pub fn delimiter(&self) -> Option<char> {
        self.delimiter
    }

    /// Where the layout came from (`NAMESPACE`, or `LIST "" ""` without it).
    pub fn source(&self) -> LayoutSource {
        self.source
    }

    /// The folder name for `levels`: the prefix, then the levels joined with the
    /// delimiter (`["Projects", "2026"]` → `Projects/2026` or `INBOX.Projects.2026`).
    ///
    /// `INBOX` is the one name outside the prefix: `["INBOX"]` is `INBOX` (any case, kept
    /// as given), and `["INBOX", "Projects"]` is INBOX's child: `INBOX/Projects`, or under
    /// a prefix that is INBOX itself (`INBOX.`) `INBOX.Projects`, the same folder as
    /// `["Projects"]` there.
    ///
    /// Fails with [`Error::InvalidInput`], before anything is sent, for no levels, an
    /// empty level, a level holding the delimiter (pass the levels separately; nothing is
    /// ever split), and more than one level in a flat namespace. Other characters are the
    /// mailbox encoding's business when the name is used (a NUL is refused there).
    pub fn path<I, S>(&self, levels: I) -> Result<FolderPath>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let levels: Vec<String> = levels.into_iter().map(|s| s.as_ref().to_string()).collect();
        let refuse = |reason: String| Err(Error::invalid("folder path", reason));
        let Some(first) = levels.first() else {
            return refuse("a folder path needs at least one level".into());
        };
        for level in &levels {
            if level.is_empty() {
                return refuse(format!("{levels:?} has an empty level"));
            }
            if let Some(d) = self.delimiter
                && level.contains(d)
            {
                return refuse(format!(
                    "the level {level:?} holds the server's hierarchy delimiter {d:?}; pass each level separately"
                ));
            }
        }
        let join = |parts: &[String], d: char| {
            let mut out = String::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push(d);
                }
                out.push_str(p);
            }
            out
        };
        let name = match (self.delimiter, levels.len()) {
            (_, 1) if first.eq_ignore_ascii_case("INBOX") => first.clone(),
            (None, 1) => format!("{}{first}", self.prefix),
            (None, n) => {
                return refuse(format!(
                    "the server's namespace is flat (no hierarchy delimiter): a folder has one level, not {n}"
                ));
            }
            (Some(d), _) if first.eq_ignore_ascii_case("INBOX") => {
                let rest = levels.get(1..).unwrap_or_default();
                if self.prefix_is_inbox() {
                    format!("{}{}", self.prefix, join(rest, d))
                } else {
                    format!("{first}{d}{}", join(rest, d))
                }
            }
            (Some(d), _) => format!("{}{}", self.prefix, join(&levels, d)),
        };
        Ok(FolderPath { name, levels })
    }

    /// The levels of a folder's name, without the prefix: the reverse of
    /// [`path`](Self::path), for showing listed folders the same way on every server
    /// (`INBOX.Projects.2026` → `["Projects", "2026"]`, `INBOX` → `["INBOX"]`).
    ///
    /// A name outside the prefix (another namespace, or `INBOX/x` under an empty prefix)
    /// is split as it stands. For every name of the personal namespace (INBOX, its
    /// children, and the names under the prefix) without an empty level,
    /// `path(components(name))` is `name` again (INBOX in any case).
    pub fn components(&self, name: &str) -> Vec<String> {
        if name.eq_ignore_ascii_case("INBOX") {
            return vec![name.to_string()];
        }
        let rest = self.strip_prefix(name).unwrap_or(name);
        match self.delimiter {
            Some(d) => rest.split(d).map(str::to_string).collect(),
            None => vec![rest.to_string()],
        }
    }

    /// `name` without the prefix, when it starts with it (the `INBOX` of an `INBOX.`
    /// prefix in any case).
    fn strip_prefix<'n>(&self, name: &'n str) -> Option<&'n str> {
        if self.prefix.is_empty() {
            return None;
        }
        if self.prefix_is_inbox() {
            let (head, tail) = (name.get(..5)?, name.get(5..)?);
            let d = self.prefix.get(5..)?;
            return (head.eq_ignore_ascii_case("INBOX") && tail.starts_with(d))
                .then(|| tail.get(d.len()..))
                .flatten();
        }
        name.strip_prefix(self.prefix.as_str())
    }

    /// Whether the prefix is INBOX and the delimiter (`INBOX.`, `INBOX/`): the personal
    /// namespace's top level is then INBOX's children.
    fn prefix_is_inbox(&self) -> bool {
        match (self.delimiter, self.prefix.get(..5), self.prefix.get(5..)) {
            (Some(d), Some(head), Some(tail)) => {
                head.eq_ignore_ascii_case("INBOX")
                    && tail.len() == d.len_utf8()
                    && tail.starts_with(d)
            }
            _ => false,
        }
    }
}

/// Why a prefix / delimiter pair cannot be used, if it cannot.
fn check(prefix: &str, delimiter: Option<char>) -> std::result::Result<(), String> {
    if prefix.len() > FolderLayout::MAX_PREFIX {
        return Err(format!(
            "a namespace prefix of {} bytes (at most {} are accepted)",
            prefix.len(),
            FolderLayout::MAX_PREFIX
        ));
    }
    if prefix.contains(['\0', '\r', '\n']) {
        return Err(format!(
            "the namespace prefix {prefix:?} holds NUL, CR or LF"
        ));
    }
    if let Some(d) = delimiter
        && !d.is_ascii_punctuation()
    {
        return Err(format!(
            "the hierarchy delimiter {d:?} is not ASCII punctuation (`/`, `.`, …)"
        ));
    }
    Ok(())
}

/// A folder name built by [`FolderLayout::path`], with the levels it was built from.
///
/// Dereferences to `str`, so it goes wherever a folder name does:
/// `conn.create_folder(&path)`, `conn.select(&path)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FolderPath {
    name: String,
    levels: Vec<String>,
}

impl FolderPath {
    /// The folder's name on this server (`INBOX.Projects.2026`).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The levels it was built from (`["Projects", "2026"]`).
    pub fn levels(&self) -> &[String] {
        &self.levels
    }

    /// The name, as a `String`.
    pub fn into_string(self) -> String {
        self.name
    }
}

impl Deref for FolderPath {
    type Target = str;

    fn deref(&self) -> &str {
        &self.name
    }
}

impl AsRef<str> for FolderPath {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for FolderPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl From<FolderPath> for String {
    fn from(path: FolderPath) -> String {
        path.name
    }
}

impl PartialEq<str> for FolderPath {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl PartialEq<&str> for FolderPath {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(prefix: &str, delimiter: Option<char>) -> FolderLayout {
        FolderLayout::new(prefix, delimiter).unwrap()
    }

    fn name(l: &FolderLayout, levels: &[&str]) -> String {
        l.path(levels).unwrap().into_string()
    }

    fn refused(l: &FolderLayout, levels: &[&str], needle: &str) {
        match l.path(levels) {
            Err(Error::InvalidInput { what, reason }) => {
                assert_eq!(what, "folder path");
                assert!(reason.contains(needle), "{reason}");
            }
            other => panic!("{levels:?} not refused: {other:?}"),
        }
    }

    #[test]
    fn paths_on_the_three_layouts() {
        let slash = layout("", Some('/'));
        let dot = layout("INBOX.", Some('.'));
        let inbox_slash = layout("INBOX/", Some('/'));
        assert_eq!(name(&slash, &["Projects", "2026"]), "Projects/2026");
        assert_eq!(name(&dot, &["Projects", "2026"]), "INBOX.Projects.2026");
        assert_eq!(
            name(&inbox_slash, &["Projects", "2026"]),
            "INBOX/Projects/2026"
        );
        for l in [&slash, &dot, &inbox_slash] {
            assert_eq!(name(l, &["INBOX"]), "INBOX");
            assert_eq!(name(l, &["inbox"]), "inbox");
        }
        // INBOX's children.
        assert_eq!(name(&slash, &["INBOX", "Projects"]), "INBOX/Projects");
        assert_eq!(name(&dot, &["INBOX", "Projects"]), "INBOX.Projects");
        assert_eq!(name(&dot, &["Inbox", "Projects"]), "INBOX.Projects");
        assert_eq!(name(&inbox_slash, &["INBOX", "a", "b"]), "INBOX/a/b");
        // A prefix that is not INBOX.
        let mh = layout("#mh/", Some('/'));
        assert_eq!(name(&mh, &["INBOX", "x"]), "INBOX/x");
        assert_eq!(name(&mh, &["x", "y"]), "#mh/x/y");
        // Non-ASCII stays a Rust string (the writer encodes it).
        assert_eq!(name(&dot, &["Entwürfe", "Привет"]), "INBOX.Entwürfe.Привет");
        assert_eq!(
            FolderPath::levels(&dot.path(["a", "b"]).unwrap()),
            ["a", "b"]
        );
    }

    #[test]
    fn levels_that_cannot_be_a_path_are_refused() {
        let slash = layout("", Some('/'));
        let dot = layout("INBOX.", Some('.'));
        refused(&slash, &["a/b"], "delimiter '/'");
        refused(&dot, &["v1.2"], "delimiter '.'");
        refused(&dot, &["INBOX", "a.b"], "delimiter");
        refused(&slash, &[], "at least one level");
        refused(&slash, &["a", ""], "empty level");
        // A dot is fine where the delimiter is a slash, and the reverse.
        assert_eq!(name(&slash, &["v1.2"]), "v1.2");
        assert_eq!(name(&dot, &["a/b"]), "INBOX.a/b");
        let flat = layout("", None);
        assert_eq!(name(&flat, &["a/b.c"]), "a/b.c");
        refused(&flat, &["a", "b"], "flat");
        refused(&flat, &["INBOX", "b"], "flat");
        assert_eq!(name(&flat, &["INBOX"]), "INBOX");
    }

    #[test]
    fn components_reverse_paths() {
        let dot = layout("INBOX.", Some('.'));
        assert_eq!(dot.components("INBOX.Projects.2026"), ["Projects", "2026"]);
        assert_eq!(dot.components("inbox.Projects"), ["Projects"]);
        assert_eq!(dot.components("INBOX"), ["INBOX"]);
        assert_eq!(dot.components("shared.x"), ["shared", "x"]);
        let slash = layout("", Some('/'));
        assert_eq!(slash.components("INBOX/Projects"), ["INBOX", "Projects"]);
        let flat = layout("", None);
        assert_eq!(flat.components("a/b.c"), ["a/b.c"]);
        for (l, names) in [
            (
                &dot,
                &["INBOX", "INBOX.a", "INBOX.a.b", "inbox.x", "INBOX.Entwürfe"][..],
            ),
            (
                &slash,
                &["INBOX", "INBOX/a", "a/b/c", "Inbox/x", "Привет/мир"][..],
            ),
            (&layout("INBOX/", Some('/')), &["INBOX/a/b", "INBOX"][..]),
            (
                &layout("#mh/", Some('/')),
                &["#mh/a/b", "INBOX", "INBOX/x"][..],
            ),
            (&flat, &["INBOX", "a.b/c"][..]),
        ] {
            for n in names {
                let back = l.path(l.components(n)).unwrap();
                assert!(
                    back.as_str().eq_ignore_ascii_case(n),
                    "{n:?} -> {:?} -> {back:?} on {l:?}",
                    l.components(n)
                );
                if !n.to_ascii_lowercase().starts_with("inbox.") {
                    assert_eq!(back.as_str(), *n, "on {l:?}");
                }
            }
        }
    }

    #[test]
    fn a_path_is_a_str_and_both_types_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<FolderLayout>();
        send_sync::<FolderPath>();
        let path = layout("INBOX.", Some('.')).path(["a", "b"]).unwrap();
        let as_str: &str = &path;
        assert_eq!(as_str, "INBOX.a.b");
        assert_eq!(path.to_string(), "INBOX.a.b");
        assert_eq!(path, "INBOX.a.b");
        assert_eq!(String::from(path), "INBOX.a.b");
    }

    #[test]
    fn layouts_that_cannot_work_are_refused() {
        for d in ['a', '7', ' ', 'é', '\u{0}'] {
            assert!(FolderLayout::new("", Some(d)).is_err(), "{d:?}");
        }
        for d in ['/', '.', '\\', ':', '^'] {
            assert!(FolderLayout::new("", Some(d)).is_ok(), "{d:?}");
        }
        assert!(FolderLayout::new("x".repeat(FolderLayout::MAX_PREFIX + 1), Some('/')).is_err());
        assert!(FolderLayout::new("a\r\n", Some('/')).is_err());
        let announced =
            FolderLayout::announced("".into(), Some('a'), LayoutSource::Namespace).unwrap_err();
        assert!(matches!(announced, Error::Protocol { .. }), "{announced:?}");
        assert!(announced.to_string().contains("NAMESPACE"), "{announced}");
    }
}
