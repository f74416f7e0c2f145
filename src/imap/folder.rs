//! Folders (IMAP mailboxes) as listed by the server, and what each one is for.

use std::fmt;

use crate::imap::types::NameAttribute;

/// What a folder is used for, from the server's SPECIAL-USE attributes (RFC 6154), Gmail's
/// older XLIST attributes, or, when the server says nothing, well-known names in common
/// languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FolderKind {
    /// The inbox.
    Inbox,
    /// Sent mail (`\Sent`).
    Sent,
    /// Drafts (`\Drafts`).
    Drafts,
    /// Deleted mail (`\Trash`).
    Trash,
    /// Spam (`\Junk`).
    Junk,
    /// The archive (`\Archive`).
    Archive,
    /// A virtual folder holding all messages (`\All`, Gmail's "All Mail").
    All,
    /// A virtual folder of flagged messages (`\Flagged`, Gmail's "Starred").
    Flagged,
    /// Anything else.
    Other,
}

impl fmt::Display for FolderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FolderKind::Inbox => "inbox",
            FolderKind::Sent => "sent",
            FolderKind::Drafts => "drafts",
            FolderKind::Trash => "trash",
            FolderKind::Junk => "junk",
            FolderKind::Archive => "archive",
            FolderKind::All => "all",
            FolderKind::Flagged => "flagged",
            FolderKind::Other => "other",
        })
    }
}

impl FolderKind {
    /// The kind named by the first SPECIAL-USE or XLIST attribute (`\Sent`, `\Spam`, …)
    /// among `attributes`, if any.
    pub fn from_attributes(attributes: &[NameAttribute]) -> Option<FolderKind> {
        attributes.iter().find_map(FolderKind::from_attribute)
    }

    /// The kind named by a SPECIAL-USE or XLIST attribute (`\Sent`, `\Spam`, …), if any.
    pub fn from_attribute(attribute: &NameAttribute) -> Option<FolderKind> {
        Some(match attribute {
            NameAttribute::Sent => FolderKind::Sent,
            NameAttribute::Drafts => FolderKind::Drafts,
            NameAttribute::Trash => FolderKind::Trash,
            NameAttribute::Junk => FolderKind::Junk,
            NameAttribute::Archive => FolderKind::Archive,
            NameAttribute::All => FolderKind::All,
            NameAttribute::Flagged => FolderKind::Flagged,
            // XLIST's names, which are not RFC 6154's.
            NameAttribute::Other(text) => return FolderKind::from_xlist(text),
            _ => return None,
        })
    }

    /// The kind named by an attribute [`NameAttribute`] does not know: Gmail's older XLIST
    /// names (`\Inbox`, `\Spam`, `\AllMail`, `\Starred`), case-insensitive, and the
    /// SPECIAL-USE names should one come this way.
    fn from_xlist(attribute: &str) -> Option<FolderKind> {
        let a = attribute.strip_prefix('\\')?;
        let kind = match a.to_ascii_lowercase().as_str() {
            "inbox" => FolderKind::Inbox,
            "sent" => FolderKind::Sent,
            "drafts" => FolderKind::Drafts,
            "trash" => FolderKind::Trash,
            "junk" | "spam" => FolderKind::Junk,
            "archive" => FolderKind::Archive,
            "all" | "allmail" => FolderKind::All,
            "flagged" | "starred" => FolderKind::Flagged,
            _ => return None,
        };
        Some(kind)
    }

    /// The kind suggested by a folder's name (its last level), for servers without
    /// SPECIAL-USE: English, German, French, Spanish, Italian, Dutch, Portuguese and Russian
    /// names used by common clients, and Gmail's `[Gmail]/…` folders.
    pub fn from_name(name: &str, delimiter: Option<char>) -> FolderKind {
        if name.eq_ignore_ascii_case("INBOX") {
            return FolderKind::Inbox;
        }
        let leaf = match delimiter {
            Some(d) => name.rsplit(d).next().unwrap_or(name),
            None => name,
        };
        let leaf = leaf.trim().to_lowercase();
        const NAMES: &[(FolderKind, &[&str])] = &[
            (
                FolderKind::Sent,
                &[
                    "sent",
                    "sent items",
                    "sent mail",
                    "sent messages",
                    "sent-mail",
                    "outbox sent",
                    "gesendet",
                    "gesendete elemente",
                    "gesendete objekte",
                    "envoyés",
                    "envoyes",
                    "éléments envoyés",
                    "enviados",
                    "elementos enviados",
                    "posta inviata",
                    "inviati",
                    "verzonden",
                    "verzonden items",
                    "itens enviados",
                    "отправленные",
                ],
            ),
            (
                FolderKind::Drafts,
                &[
                    "drafts",
                    "draft",
                    "entwürfe",
                    "entwurf",
                    "brouillons",
                    "borradores",
                    "bozze",
                    "concepten",
                    "rascunhos",
                    "черновики",
                ],
            ),
            (
                FolderKind::Trash,
                &[
                    "trash",
                    "deleted",
                    "deleted items",
                    "deleted messages",
                    "bin",
                    "papierkorb",
                    "gelöschte elemente",
                    "gelöschte objekte",
                    "corbeille",
                    "éléments supprimés",
                    "papelera",
                    "elementos eliminados",
                    "cestino",
                    "prullenbak",
                    "verwijderde items",
                    "lixeira",
                    "itens excluídos",
                    "корзина",
                    "удаленные",
                ],
            ),
            (
                FolderKind::Junk,
                &[
                    "junk",
                    "spam",
                    "junk e-mail",
                    "junk email",
                    "junk mail",
                    "bulk mail",
                    "junk-e-mail",
                    "spamverdacht",
                    "courrier indésirable",
                    "indésirables",
                    "correo no deseado",
                    "posta indesiderata",
                    "ongewenste e-mail",
                    "lixo eletrônico",
                    "спам",
                ],
            ),
            (
                FolderKind::Archive,
                &[
                    "archive",
                    "archives",
                    "archiv",
                    "archivo",
                    "archivio",
                    "archief",
                    "arquivo",
                    "архив",
                ],
            ),
            (
                FolderKind::All,
                &["all mail", "alle nachrichten", "tous les messages", "todos"],
            ),
            (
                FolderKind::Flagged,
                &["starred", "flagged", "markiert", "suivis", "destacados"],
            ),
        ];
        for (kind, names) in NAMES {
            if names.contains(&leaf.as_str()) {
                return *kind;
            }
        }
        FolderKind::Other
    }
}

/// A folder as listed by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Folder {
    /// The name for people and for mailwire's own calls (decoded from modified UTF-7).
    pub name: String,
    /// The name exactly as the server sent it.
    pub raw_name: Vec<u8>,
    /// The hierarchy delimiter (`/` or `.`), or `None` for a flat namespace.
    pub delimiter: Option<char>,
    /// The LIST attributes (`\HasChildren`, `\Noselect`, `\Sent`, …).
    pub attributes: Vec<NameAttribute>,
    /// What the folder is used for.
    pub kind: FolderKind,
    /// Whether the user is subscribed to it (when the listing asked for it).
    pub subscribed: bool,
}

impl Folder {
    /// Builds a folder, working out its kind: an attribute wins over the name. The kind
    /// is the folder's alone; a listing then settles the kinds across all its folders
    /// (an attributed folder takes its kind from a name-only namesake: see
    /// [`ImapConnection::list_folders`](crate::imap::ImapConnection::list_folders)).
    pub fn new(
        name: String,
        raw_name: Vec<u8>,
        delimiter: Option<char>,
        attributes: Vec<NameAttribute>,
    ) -> Folder {
        let kind = if name.eq_ignore_ascii_case("INBOX") {
            FolderKind::Inbox
        } else {
            FolderKind::from_attributes(&attributes)
                .unwrap_or_else(|| FolderKind::from_name(&name, delimiter))
        };
        let subscribed = attributes.contains(&NameAttribute::Subscribed);
        Folder {
            name,
            raw_name,
            delimiter,
            attributes,
            kind,
            subscribed,
        }
    }

    /// Whether the server lists the attribute (case-insensitive, e.g. `"\\Noselect"`).
    pub fn has_attribute(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.as_str().eq_ignore_ascii_case(attribute))
    }

    /// Whether the folder can be selected (it is not `\Noselect` or `\NonExistent`).
    pub fn is_selectable(&self) -> bool {
        !self
            .attributes
            .iter()
            .any(|a| matches!(a, NameAttribute::NoSelect | NameAttribute::NonExistent))
    }

    /// The name's levels split at the delimiter.
    pub fn path(&self) -> Vec<&str> {
        match self.delimiter {
            Some(d) => self.name.split(d).collect(),
            None => vec![self.name.as_str()],
        }
    }
}

/// Gives SPECIAL-USE (and XLIST) attributes precedence over names across one listing:
/// a folder whose kind came from its name alone loses it (becomes [`FolderKind::Other`])
/// when another folder of the listing carries that kind as an attribute. So with
/// `Drafts (\Drafts)` and a plain `Entwürfe` only `Drafts` is
/// [`FolderKind::Drafts`]; without any `\Drafts` folder, `Entwürfe` still is. `INBOX` is
/// always the inbox.
pub(crate) fn settle_kinds(folders: &mut [Folder]) {
    let attributed: Vec<FolderKind> = folders
        .iter()
        .filter_map(|f| FolderKind::from_attributes(&f.attributes))
        .collect();
    if attributed.is_empty() {
        return;
    }
    for f in folders.iter_mut() {
        let by_name = f.kind != FolderKind::Inbox
            && f.kind != FolderKind::Other
            && FolderKind::from_attributes(&f.attributes).is_none();
        if by_name && attributed.contains(&f.kind) {
            log::debug!(
                target: "mailwire::imap",
                "folder {:?} is not taken as {} by its name: another folder carries that attribute",
                f.name,
                f.kind
            );
            f.kind = FolderKind::Other;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, attrs: &[&str]) -> Folder {
        Folder::new(
            name.to_string(),
            name.as_bytes().to_vec(),
            Some('/'),
            attrs
                .iter()
                .map(|s| NameAttribute::from_bytes(s.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn special_use_wins() {
        assert_eq!(
            folder("Whatever", &["\\HasNoChildren", "\\Sent"]).kind,
            FolderKind::Sent
        );
        assert_eq!(folder("Drafts", &["\\Trash"]).kind, FolderKind::Trash);
        assert_eq!(folder("[Gmail]/All Mail", &["\\All"]).kind, FolderKind::All);
        assert_eq!(
            folder("Spam", &["\\spam"]).kind,
            FolderKind::Junk,
            "XLIST, lower case"
        );
        assert_eq!(
            folder("[Gmail]/Starred", &["\\Starred"]).kind,
            FolderKind::Flagged
        );
        assert_eq!(folder("inbox", &[]).kind, FolderKind::Inbox);
    }

    #[test]
    fn names_when_no_attributes() {
        assert_eq!(folder("Sent Items", &[]).kind, FolderKind::Sent);
        assert_eq!(folder("INBOX/Entwürfe", &[]).kind, FolderKind::Drafts);
        assert_eq!(folder("Gelöschte Elemente", &[]).kind, FolderKind::Trash);
        assert_eq!(folder("Junk E-mail", &[]).kind, FolderKind::Junk);
        assert_eq!(folder("[Gmail]/All Mail", &[]).kind, FolderKind::All);
        assert_eq!(folder("Projects/Sentinel", &[]).kind, FolderKind::Other);
        assert_eq!(folder("Отправленные", &[]).kind, FolderKind::Sent);
    }

    #[test]
    fn kinds_from_parsed_attributes() {
        let xlist = NameAttribute::from_bytes(b"\\AllMail");
        assert_eq!(xlist, NameAttribute::Other("\\AllMail".into()));
        assert_eq!(
            FolderKind::from_attributes(&[NameAttribute::HasChildren, xlist]),
            Some(FolderKind::All)
        );
        assert_eq!(
            FolderKind::from_attributes(&[NameAttribute::Important]),
            None
        );
        for text in [
            "\\Noinferiors",
            "\\HasNoChildren",
            "\\Sent",
            "\\Important",
            "\\X-Odd",
        ] {
            let a = NameAttribute::from_bytes(text.as_bytes());
            assert_eq!(a.as_str(), text);
            assert_eq!(a.to_string(), text);
        }
    }

    fn settled(listing: &[(&str, &[&str])]) -> Vec<FolderKind> {
        let mut folders: Vec<Folder> = listing.iter().map(|(n, a)| folder(n, a)).collect();
        settle_kinds(&mut folders);
        folders.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn an_attribute_takes_the_kind_from_a_name_only_namesake() {
        use FolderKind::*;
        // Both orders: the attributed folder wins wherever it is listed.
        assert_eq!(
            settled(&[("Entwürfe", &[]), ("Drafts", &["\\Drafts"])]),
            vec![Other, Drafts]
        );
        assert_eq!(
            settled(&[
                ("Drafts", &["\\Drafts"]),
                ("INBOX/Entwürfe", &["\\HasNoChildren"])
            ]),
            vec![Drafts, Other]
        );
        // A folder named for one kind but attributed another keeps its attribute's.
        assert_eq!(
            settled(&[
                ("Drafts", &["\\Trash"]),
                ("Papierkorb", &[]),
                ("Entwürfe", &[])
            ]),
            vec![Trash, Other, Drafts]
        );
        // Kinds no attribute names still come from names; INBOX is always the inbox.
        assert_eq!(
            settled(&[
                ("INBOX", &[]),
                ("Sent", &["\\Sent"]),
                ("Spam", &[]),
                ("Gesendet", &[])
            ]),
            vec![Inbox, Sent, Junk, Other]
        );
        // XLIST attributes count as well.
        assert_eq!(
            settled(&[("[Gmail]/Spam", &["\\Spam"]), ("Junk", &[])]),
            vec![Junk, Other]
        );
        // Without any attribute, names decide as before.
        assert_eq!(
            settled(&[("Entwürfe", &[]), ("Drafts", &[])]),
            vec![Drafts, Drafts]
        );
    }

    #[test]
    fn attributes_and_path() {
        let f = folder("A/B/C", &["\\Noselect", "\\Subscribed"]);
        assert!(!f.is_selectable());
        assert!(f.subscribed);
        assert_eq!(f.path(), vec!["A", "B", "C"]);
        assert!(folder("X", &[]).is_selectable());
    }
}
