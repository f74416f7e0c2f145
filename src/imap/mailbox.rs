//! `Mailbox`: what `SELECT` / `EXAMINE` reported about a folder, and the one place that
//! reads it from the server's answer.

use crate::imap::types::{Flag, ResponseCode, Untagged};

/// What `SELECT` / `EXAMINE` reported about a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mailbox {
    /// The folder's name, as given.
    pub name: String,
    /// How many messages it holds.
    pub exists: u32,
    /// How many are `\Recent`.
    pub recent: u32,
    /// The sequence number of the first unseen message, if the server said.
    pub first_unseen: Option<u32>,
    /// The UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// The UID the next message will get.
    pub uid_next: Option<u32>,
    /// The highest mod-sequence (CONDSTORE), if the server keeps them.
    pub highest_modseq: Option<u64>,
    /// The flags defined in the folder.
    pub flags: Vec<Flag>,
    /// The flags the client may change permanently (`MayCreate` means new keywords).
    /// Empty both when the server sent `PERMANENTFLAGS ()` and when it sent none: see
    /// [`allows_keywords`](Self::allows_keywords) for the difference.
    pub permanent_flags: Vec<Flag>,
    /// Whether the folder was opened read-only.
    pub read_only: bool,
    /// The folder's permanent id (`[MAILBOXID (...)]`, RFC 8474 OBJECTID), when the
    /// server sent one: servers that offer `OBJECTID` do; `None` otherwise (Dovecot 2.3).
    pub mailbox_id: Option<String>,
    /// Whether the answer carried a `PERMANENTFLAGS` code at all.
    permanent_flags_sent: bool,
}

impl Mailbox {
    /// Whether the folder keeps new keywords: its `PERMANENTFLAGS` include `\*`
    /// ([`Flag::MayCreate`]), or the server sent no `PERMANENTFLAGS` at all, in which case
    /// RFC 3501 §7.1 says to assume every flag can be changed permanently.
    ///
    /// [`ImapConnection::add_keywords`](crate::imap::ImapConnection::add_keywords),
    /// `add_flags`, `set_flags` and `append` check every keyword with
    /// [`allows_keyword`](Self::allows_keyword) before sending and refuse one the folder
    /// cannot keep with [`Error::InvalidInput`](crate::Error::InvalidInput) (some servers
    /// answer `BAD` to such a `STORE`, others drop the keyword silently).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let inbox = conn.select("INBOX")?;
    /// if inbox.allows_keyword("$Important") {
    ///     conn.add_keywords("INBOX", &[7], &["$Important"])?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn allows_keywords(&self) -> bool {
        !self.permanent_flags_sent || self.permanent_flags.contains(&Flag::MayCreate)
    }

    /// Whether the folder keeps `keyword`: it [`allows_keywords`](Self::allows_keywords),
    /// or its `PERMANENTFLAGS` list that keyword (compared without regard to ASCII case, as
    /// servers do).
    pub fn allows_keyword(&self, keyword: &str) -> bool {
        self.allows_keywords()
            || self
                .permanent_flags
                .iter()
                .any(|f| matches!(f, Flag::Keyword(k) if k.eq_ignore_ascii_case(keyword)))
    }

    /// Reads the answer to `SELECT` / `EXAMINE` of `name` (opened `read_only` as asked):
    /// the untagged data and response codes, and the completion's code. `READ-ONLY` /
    /// `READ-WRITE` override what was asked; `NOMODSEQ` means no mod-sequences even if a
    /// `HIGHESTMODSEQ` came too. Zero UIDVALIDITY / UIDNEXT (invalid, RFC 3501 §2.3.1.1)
    /// are kept as sent: the callers that need them valid check.
    pub(crate) fn from_answer(
        name: &str,
        read_only: bool,
        untagged: &[Untagged],
        completion_code: Option<&ResponseCode>,
    ) -> Mailbox {
        let mut mailbox = Mailbox {
            name: name.to_string(),
            read_only,
            ..Mailbox::default()
        };
        let mut no_modseq = false;
        let codes = untagged
            .iter()
            .filter_map(|u| match u {
                Untagged::Condition {
                    code: Some(code), ..
                } => Some(code),
                _ => None,
            })
            .chain(completion_code);
        for code in codes {
            match code {
                ResponseCode::UidValidity(n) => mailbox.uid_validity = Some(*n),
                ResponseCode::UidNext(n) => mailbox.uid_next = Some(*n),
                ResponseCode::Unseen(n) => mailbox.first_unseen = Some(*n),
                ResponseCode::HighestModSeq(n) => mailbox.highest_modseq = Some(*n),
                ResponseCode::NoModSeq => no_modseq = true,
                ResponseCode::PermanentFlags(f) => {
                    mailbox.permanent_flags = f.clone();
                    mailbox.permanent_flags_sent = true;
                }
                ResponseCode::ReadOnly => mailbox.read_only = true,
                ResponseCode::ReadWrite => mailbox.read_only = false,
                ResponseCode::MailboxId(id) => mailbox.mailbox_id = Some(id.clone()),
                _ => {}
            }
        }
        for u in untagged {
            match u {
                Untagged::Exists(n) => mailbox.exists = *n,
                Untagged::Recent(n) => mailbox.recent = *n,
                Untagged::Flags(f) => mailbox.flags = f.clone(),
                _ => {}
            }
        }
        if no_modseq {
            mailbox.highest_modseq = None;
        }
        mailbox
    }
}
