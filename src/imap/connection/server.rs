//! `ImapConnection` calls about the server and the session: NAMESPACE, ID, ENABLE, QUOTA, raw commands.

use super::*;

/// The personal, other users' and shared namespaces (RFC 2342).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Namespaces {
    /// The user's own folders.
    pub personal: Vec<NamespaceEntry>,
    /// Other users' folders.
    pub other: Vec<NamespaceEntry>,
    /// Shared folders.
    pub shared: Vec<NamespaceEntry>,
}

/// One quota root and its resources (RFC 9208).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// The quota root's name.
    pub root: String,
    /// Usage and limit per resource (`STORAGE` in KiB, `MESSAGE` in messages).
    pub resources: Vec<QuotaResource>,
}

impl ImapConnection {
    /// `NAMESPACE` (RFC 2342).
    pub fn namespace(&self) -> Result<Namespaces> {
        self.with(|s| {
            let c = run_ok(s, &Command::Namespace)?;
            let mut ns = Namespaces::default();
            for u in c.untagged {
                if let Untagged::Namespace {
                    personal,
                    other,
                    shared,
                } = u
                {
                    ns = Namespaces {
                        personal,
                        other,
                        shared,
                    };
                }
            }
            Ok(ns)
        })
    }

    /// `ID` (RFC 2971): sends the client's fields and returns the server's.
    pub fn id_exchange(&self, fields: &[(&str, &str)]) -> Result<Vec<(String, Option<String>)>> {
        let fields = fields
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        self.with(|s| {
            let c = run_ok(s, &Command::Id(fields))?;
            Ok(c.untagged
                .into_iter()
                .find_map(|u| match u {
                    Untagged::Id(v) => Some(v),
                    _ => None,
                })
                .unwrap_or_default())
        })
    }

    /// `ENABLE` (RFC 5161): returns the capabilities the server enabled. Enabling
    /// `UTF8=ACCEPT` makes mailbox names go out as UTF-8; enabling `QRESYNC` makes the
    /// connection accept `VANISHED` (refused before: no server may send it then).
    pub fn enable(&self, capabilities: &[&str]) -> Result<Vec<String>> {
        let caps = capabilities.iter().map(|c| c.to_string()).collect();
        self.with(|s| s.enable(caps))
    }

    /// Whether `ENABLE IMAP4rev2` succeeded on this connection (asked for with
    /// [`ConfigBuilder::imap4rev2`](crate::ConfigBuilder::imap4rev2); `false` on a server
    /// that does not offer it, which is spoken to as IMAP4rev1). docs/imap.md
    /// ("IMAP4rev2") lists what changes.
    pub fn is_imap4rev2(&self) -> bool {
        self.session.lock().imap4rev2()
    }

    /// Whether folder names travel as UTF-8 on this connection (after `ENABLE UTF8=ACCEPT`
    /// or `ENABLE IMAP4rev2`, see [`ConfigBuilder::utf8_accept`](crate::ConfigBuilder::utf8_accept)),
    /// rather than in modified UTF-7. The names given to and returned by the methods are the
    /// same either way.
    pub fn utf8_names(&self) -> bool {
        self.session.lock().utf8_accept()
    }

    /// The quota roots of `folder` and their usage (`GETQUOTAROOT`, RFC 9208).
    pub fn quota(&self, folder: &str) -> Result<Vec<Quota>> {
        self.with(|s| {
            let c = run_ok(s, &Command::GetQuotaRoot(MailboxName::new(folder)))?;
            Ok(c.untagged
                .into_iter()
                .filter_map(|u| match u {
                    Untagged::Quota { root, resources } => Some(Quota {
                        root: String::from_utf8_lossy(&root).into_owned(),
                        resources,
                    }),
                    _ => None,
                })
                .collect())
        })
    }

    /// The escape hatch for extensions mailwire does not model: sends `name args…` (every
    /// argument still checked and encoded) and returns the untagged responses. A `NO` or
    /// `BAD` is an error.
    pub fn raw_command(&self, name: &str, args: Vec<RawArg>) -> Result<Vec<Untagged>> {
        let command = Command::raw_extension(name, args);
        self.with(|s| run_ok(s, &command).map(|c| c.untagged))
    }
}
