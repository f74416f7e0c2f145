//! The IMAP command: [`Command`], a typed value for every command the client sends, and
//! its encoder.
//!
//! Commands are built, never concatenated: [`Command::encode`] turns one into an
//! [`EncodedCommand`] ready to send. Every user-supplied string (mailbox name, search text,
//! flag keyword, credential, header name) goes through one function that writes it as an
//! atom when every byte allows it, as a quoted string when it is printable 7-bit text (or
//! UTF-8 after `ENABLE UTF8=ACCEPT`), and as a literal otherwise. NUL is refused, CR and LF
//! are only ever sent inside a literal, so no input can end the command early or smuggle in
//! a second one.
//!
//! A command with a synchronizing literal is sent in several parts: send a part, and when
//! it ends with a literal announcement `{n}\r\n`, wait for the server's `+` continuation
//! before sending the next. With `LITERAL+` (or `LITERAL-` for literals up to 4096 bytes)
//! the command is one part.
//!
//! The arguments live beside the grammar they belong to, one file a family: `auth`
//! (LOGIN, AUTHENTICATE, SASL lines), `mailbox` (names and LIST patterns), `create`
//! (CREATE with SPECIAL-USE), `select`,
//! `status`, `list`, `search`, `sort` (SORT and THREAD), `fetch`, `store`, `append`, `raw` (extension commands) and
//! `modseq` (the CONDSTORE numbers).

mod append;
mod auth;
mod create;
mod fetch;
mod list;
mod mailbox;
mod modseq;
mod notify;
mod raw;
mod search;
mod select;
mod sort;
mod status;
mod store;

pub use append::{AppendMessage, InternalDate};
pub(crate) use auth::sasl_line;
pub use auth::{Secret, sasl_response};
pub use fetch::{FetchAttr, Partial, Section, SectionText};
pub use list::ListReturn;
pub use mailbox::MailboxName;
pub use raw::RawArg;
pub use search::{SavedAction, SearchReturn};
pub use select::{Qresync, SelectOptions};
pub use sort::{SortCriterion, SortKey, ThreadAlgorithm};
pub use status::StatusAttr;
pub use store::StoreAction;

use crate::atom::check_atom;
use crate::error::{Error, Result};
use crate::flag::Flag;
use crate::imap::codec::writer::{EncodeOptions, EncodedCommand, Writer, is_astring_char};
use crate::imap::search::SearchQuery;
use crate::imap::seqset::SequenceSet;

/// The line that ends `IDLE`: `DONE\r\n` (untagged).
pub fn idle_done() -> EncodedCommand {
    EncodedCommand::line(b"DONE\r\n".to_vec(), "DONE")
}

/// A command the client sends. Encode it with [`Command::encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `STARTTLS`.
    StartTls,
    /// `LOGIN user password` (the password is redacted in traces).
    Login {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
    /// `AUTHENTICATE mechanism [initial-response]`; the initial response (SASL-IR,
    /// RFC 4959) is given raw and sent in BASE64 (`=` when empty), redacted in traces.
    Authenticate {
        /// The SASL mechanism name (an atom, e.g. `PLAIN`, `XOAUTH2`).
        mechanism: String,
        /// The initial client response, if the server has `SASL-IR`.
        initial_response: Option<Secret>,
    },
    /// `ENABLE cap ...` (RFC 5161).
    Enable(Vec<String>),
    /// `ID (field value ...)` or `ID NIL` (RFC 2971).
    Id(Vec<(String, Option<String>)>),
    /// `NAMESPACE`.
    Namespace,
    /// `SELECT mailbox [(options)]`.
    Select {
        /// The mailbox.
        mailbox: MailboxName,
        /// CONDSTORE / QRESYNC.
        options: SelectOptions,
    },
    /// `EXAMINE mailbox [(options)]`: read-only select.
    Examine {
        /// The mailbox.
        mailbox: MailboxName,
        /// CONDSTORE / QRESYNC.
        options: SelectOptions,
    },
    /// `CREATE mailbox`.
    Create(MailboxName),
    /// `CREATE mailbox (USE (attributes))` (RFC 6154, CREATE-SPECIAL-USE): a folder
    /// marked `\Sent`, `\Drafts`, …; each attribute must be `\` and an atom.
    CreateSpecialUse {
        /// The new mailbox.
        mailbox: MailboxName,
        /// Its special-use attributes (at least one).
        uses: Vec<crate::imap::types::NameAttribute>,
    },
    /// `DELETE mailbox`.
    Delete(MailboxName),
    /// `RENAME from to`.
    Rename {
        /// The existing mailbox.
        from: MailboxName,
        /// The new name.
        to: MailboxName,
    },
    /// `SUBSCRIBE mailbox`.
    Subscribe(MailboxName),
    /// `UNSUBSCRIBE mailbox`.
    Unsubscribe(MailboxName),
    /// `LIST reference pattern [RETURN (...)]`; the pattern may hold `*` and `%`.
    List {
        /// The reference name (usually empty).
        reference: MailboxName,
        /// The mailbox pattern, e.g. `*`.
        pattern: String,
        /// Return options.
        returns: ListReturn,
    },
    /// `LSUB reference pattern`.
    Lsub {
        /// The reference name (usually empty).
        reference: MailboxName,
        /// The mailbox pattern.
        pattern: String,
    },
    /// `STATUS mailbox (items)`.
    Status {
        /// The mailbox.
        mailbox: MailboxName,
        /// The items asked for (at least one).
        items: Vec<StatusAttr>,
    },
    /// `CHECK`.
    Check,
    /// `CLOSE`.
    Close,
    /// `UNSELECT`.
    Unselect,
    /// `EXPUNGE`.
    Expunge,
    /// `UID EXPUNGE set` (UIDPLUS).
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH [RETURN (...)] [CHARSET UTF-8] query`; `CHARSET UTF-8` is added when
    /// the query has non-ASCII text.
    Search {
        /// `UID SEARCH` (answers UIDs) instead of `SEARCH`.
        uid: bool,
        /// The query.
        query: SearchQuery,
        /// ESEARCH return options.
        returns: Option<Vec<SearchReturn>>,
    },
    /// `UID SORT (keys) UTF-8 query` (RFC 5256): the matching UIDs in the keys' order.
    UidSort {
        /// The sort keys (at least one), most significant first.
        keys: Vec<SortKey>,
        /// The query.
        query: SearchQuery,
    },
    /// `UID THREAD algorithm UTF-8 query` (RFC 5256): the matching UIDs as threads.
    UidThread {
        /// The threading algorithm.
        algorithm: ThreadAlgorithm,
        /// The query.
        query: SearchQuery,
    },
    /// `[UID] FETCH set (items) [(CHANGEDSINCE n [VANISHED])]`.
    Fetch {
        /// `UID FETCH` instead of `FETCH`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The items (at least one).
        items: Vec<FetchAttr>,
        /// `CHANGEDSINCE` mod-sequence (CONDSTORE).
        changed_since: Option<u64>,
        /// `VANISHED` (QRESYNC; only with `uid` and `changed_since`).
        vanished: bool,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)`.
    Store {
        /// `UID STORE` instead of `STORE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// Add, remove or replace.
        action: StoreAction,
        /// `.SILENT`: no untagged FETCH answer.
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
        /// `UNCHANGEDSINCE` mod-sequence (CONDSTORE).
        unchanged_since: Option<u64>,
    },
    /// `[UID] STORE set [+|-]X-GM-LABELS[.SILENT] (labels)` (Gmail, `X-GM-EXT-1`): labels
    /// written as Gmail wants them (a system label such as `\Inbox` bare, any other in
    /// modified UTF-7 as an astring).
    StoreGmailLabels {
        /// `UID STORE` instead of `STORE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// Add, remove or replace.
        action: StoreAction,
        /// `.SILENT`: no untagged FETCH answer.
        silent: bool,
        /// The labels (`Replace` with none removes every label).
        labels: Vec<String>,
    },
    /// `[UID] COPY set mailbox`.
    Copy {
        /// `UID COPY` instead of `COPY`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: MailboxName,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851).
    Move {
        /// `UID MOVE` instead of `MOVE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: MailboxName,
    },
    /// `APPEND mailbox [(flags)] ["date"] literal`.
    Append {
        /// The destination.
        mailbox: MailboxName,
        /// Flags to set on the new message.
        flags: Vec<Flag>,
        /// The internal date (the server's clock when absent).
        date: Option<InternalDate>,
        /// The raw message (RFC 5322, CRLF line ends). Must not be empty; NUL only with
        /// `binary`.
        message: Vec<u8>,
        /// Send as `literal8` `~{n}` (only when the server has `BINARY`).
        binary: bool,
    },
    /// `APPEND mailbox 1*([(flags)] ["date"] literal)`: several messages in one command
    /// (MULTIAPPEND, RFC 3502; only when the server has it). The server stores all of them
    /// or none.
    MultiAppend {
        /// The destination.
        mailbox: MailboxName,
        /// The messages, in order (at least one; each non-empty, without NUL).
        messages: Vec<AppendMessage>,
    },
    /// A command on the saved search result `$` (SEARCHRES, RFC 5182): `UID STORE $ …`,
    /// `UID COPY $ …`, `UID MOVE $ …`, `UID EXPUNGE $`, `UID SEARCH UID $`.
    OnSaved(SavedAction),
    /// `IDLE`; end it with [`idle_done`].
    Idle,
    /// `GETQUOTAROOT mailbox`.
    GetQuotaRoot(MailboxName),
    /// `GETQUOTA root`.
    GetQuota(String),
    /// `NOTIFY SET (MAILBOXES (...) (MessageNew MessageExpunge FlagChange))` (RFC 5465):
    /// new mail, expunges and flag changes of the named folders, announced as untagged
    /// `STATUS` while none of them is selected.
    Notify {
        /// The folders (at least one).
        mailboxes: Vec<MailboxName>,
    },
    /// The escape hatch for extension commands this type does not cover: `name args...`.
    /// The name must be an atom and every argument is checked, so it cannot inject CR,
    /// LF or NUL; build it with [`Command::raw_extension`].
    RawExtension {
        /// The command name.
        name: String,
        /// The arguments.
        args: Vec<RawArg>,
    },
}

impl Command {
    /// `LOGIN user password`.
    pub fn login(user: impl Into<String>, password: impl Into<Secret>) -> Command {
        Command::Login {
            user: user.into(),
            password: password.into(),
        }
    }

    /// `SELECT mailbox` without options.
    pub fn select(mailbox: impl Into<MailboxName>) -> Command {
        Command::Select {
            mailbox: mailbox.into(),
            options: SelectOptions::default(),
        }
    }

    /// `EXAMINE mailbox` without options.
    pub fn examine(mailbox: impl Into<MailboxName>) -> Command {
        Command::Examine {
            mailbox: mailbox.into(),
            options: SelectOptions::default(),
        }
    }

    /// `LIST "" pattern`.
    pub fn list(pattern: impl Into<String>) -> Command {
        Command::List {
            reference: MailboxName::new(""),
            pattern: pattern.into(),
            returns: ListReturn::default(),
        }
    }

    /// `UID SEARCH query`.
    pub fn uid_search(query: SearchQuery) -> Command {
        Command::Search {
            uid: true,
            query,
            returns: None,
        }
    }

    /// `UID FETCH set (items)`.
    pub fn uid_fetch(set: SequenceSet, items: impl IntoIterator<Item = FetchAttr>) -> Command {
        Command::Fetch {
            uid: true,
            set,
            items: items.into_iter().collect(),
            changed_since: None,
            vanished: false,
        }
    }

    /// `UID STORE set +FLAGS/-FLAGS/FLAGS (flags)`.
    pub fn uid_store(
        set: SequenceSet,
        action: StoreAction,
        flags: impl IntoIterator<Item = Flag>,
    ) -> Command {
        Command::Store {
            uid: true,
            set,
            action,
            silent: false,
            flags: flags.into_iter().collect(),
            unchanged_since: None,
        }
    }

    /// `APPEND mailbox (flags) message`.
    pub fn append(
        mailbox: impl Into<MailboxName>,
        flags: impl IntoIterator<Item = Flag>,
        message: impl Into<Vec<u8>>,
    ) -> Command {
        Command::Append {
            mailbox: mailbox.into(),
            flags: flags.into_iter().collect(),
            date: None,
            message: message.into(),
            binary: false,
        }
    }

    /// An extension command this type does not model: `name args...`. The name must be
    /// an atom; the arguments are checked when encoding.
    pub fn raw_extension(
        name: impl Into<String>,
        args: impl IntoIterator<Item = RawArg>,
    ) -> Command {
        Command::RawExtension {
            name: name.into(),
            args: args.into_iter().collect(),
        }
    }

    /// The command's name as sent (`SELECT`, `UID FETCH`, ...), for logs and errors.
    pub fn name(&self) -> &str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::StartTls => "STARTTLS",
            Command::Login { .. } => "LOGIN",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Enable(_) => "ENABLE",
            Command::Id(_) => "ID",
            Command::Namespace => "NAMESPACE",
            Command::Select { .. } => "SELECT",
            Command::Examine { .. } => "EXAMINE",
            Command::Create(_) | Command::CreateSpecialUse { .. } => "CREATE",
            Command::Delete(_) => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe(_) => "SUBSCRIBE",
            Command::Unsubscribe(_) => "UNSUBSCRIBE",
            Command::List { .. } => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Status { .. } => "STATUS",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge => "EXPUNGE",
            Command::UidExpunge(_) => "UID EXPUNGE",
            Command::Search { uid: true, .. } => "UID SEARCH",
            Command::Search { .. } => "SEARCH",
            Command::UidSort { .. } => "UID SORT",
            Command::UidThread { .. } => "UID THREAD",
            Command::Fetch { uid: true, .. } => "UID FETCH",
            Command::Fetch { .. } => "FETCH",
            Command::Store { uid: true, .. } | Command::StoreGmailLabels { uid: true, .. } => {
                "UID STORE"
            }
            Command::Store { .. } | Command::StoreGmailLabels { .. } => "STORE",
            Command::Copy { uid: true, .. } => "UID COPY",
            Command::Copy { .. } => "COPY",
            Command::Move { uid: true, .. } => "UID MOVE",
            Command::Move { .. } => "MOVE",
            Command::Append { .. } | Command::MultiAppend { .. } => "APPEND",
            Command::OnSaved(action) => action.name(),
            Command::Idle => "IDLE",
            Command::GetQuotaRoot(_) => "GETQUOTAROOT",
            Command::GetQuota(_) => "GETQUOTA",
            Command::Notify { .. } => "NOTIFY",
            Command::RawExtension { name, .. } => name,
        }
    }

    /// Encodes the command with `tag` (letters and digits are always safe; `+`, spaces,
    /// controls and the other atom specials are refused).
    ///
    /// Fails with [`Error::InvalidInput`], before anything is sent, on: NUL in any string,
    /// a flag keyword, capability, mechanism or extension name that is not an atom, an empty
    /// or 0-containing sequence set, an empty item list, an empty APPEND message (or one
    /// holding NUL without `binary`), out-of-range mod-sequences, and `VANISHED` without
    /// `UID FETCH ... CHANGEDSINCE`.
    pub fn encode(&self, tag: &str, opts: &EncodeOptions) -> Result<EncodedCommand> {
        check_tag(tag)?;
        let mut w = Writer::new(opts);
        w.token(tag);
        w.sp();
        w.token(self.name());
        self.encode_args(&mut w)?;
        Ok(w.finish())
    }

    fn encode_args(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Command::Capability
            | Command::Noop
            | Command::Logout
            | Command::StartTls
            | Command::Namespace
            | Command::Check
            | Command::Close
            | Command::Unselect
            | Command::Expunge
            | Command::Idle => Ok(()),
            Command::Login { user, password } => auth::login(w, user, password),
            Command::Authenticate {
                mechanism,
                initial_response,
            } => auth::authenticate(w, mechanism, initial_response.as_ref()),
            Command::Enable(caps) => {
                if caps.is_empty() {
                    return Err(Error::invalid("ENABLE", "no capability given"));
                }
                for cap in caps {
                    check_atom(cap, "capability")?;
                    w.sp();
                    w.token(cap);
                }
                Ok(())
            }
            Command::Id(fields) => id(w, fields),
            Command::Select { mailbox, options } | Command::Examine { mailbox, options } => {
                w.sp();
                w.mailbox(mailbox)?;
                select::options(w, options)
            }
            Command::Create(m)
            | Command::Delete(m)
            | Command::Subscribe(m)
            | Command::Unsubscribe(m)
            | Command::GetQuotaRoot(m) => {
                w.sp();
                w.mailbox(m)
            }
            Command::CreateSpecialUse { mailbox, uses } => {
                create::create_special_use(w, mailbox, uses)
            }
            Command::Rename { from, to } => {
                w.sp();
                w.mailbox(from)?;
                w.sp();
                w.mailbox(to)
            }
            Command::List {
                reference,
                pattern,
                returns,
            } => list::list(w, reference, pattern, returns),
            Command::Lsub { reference, pattern } => {
                list::list(w, reference, pattern, &ListReturn::new())
            }
            Command::Status { mailbox, items } => {
                w.sp();
                w.mailbox(mailbox)?;
                w.sp();
                status::attrs(w, items)
            }
            Command::UidExpunge(set) => {
                w.sp();
                w.set(set, "UID set")
            }
            Command::Search { query, returns, .. } => search::search(w, query, returns.as_deref()),
            Command::UidSort { keys, query } => sort::sort(w, keys, query),
            Command::UidThread { algorithm, query } => sort::thread(w, *algorithm, query),
            Command::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => fetch::fetch(w, *uid, set, items, *changed_since, *vanished),
            Command::Store {
                set,
                action,
                silent,
                flags,
                unchanged_since,
                ..
            } => store::store(w, set, *action, *silent, flags, *unchanged_since),
            Command::StoreGmailLabels {
                set,
                action,
                silent,
                labels,
                ..
            } => store::store_gmail_labels(w, set, *action, *silent, labels),
            Command::Copy { set, mailbox, .. } | Command::Move { set, mailbox, .. } => {
                w.sp();
                w.set(set, "message set")?;
                w.sp();
                w.mailbox(mailbox)
            }
            Command::Append {
                mailbox,
                flags,
                date,
                message,
                binary,
            } => append::append(w, mailbox, flags, date.as_ref(), message, *binary),
            Command::OnSaved(action) => search::saved(w, action),
            Command::MultiAppend { mailbox, messages } => {
                append::multi_append(w, mailbox, messages)
            }
            Command::GetQuota(root) => {
                w.sp();
                w.astring(root.as_bytes(), "quota root")
            }
            Command::Notify { mailboxes } => notify::set(w, mailboxes),
            Command::RawExtension { name, args } => raw::raw_extension(w, name, args),
        }
    }
}

/// `ID NIL` or `ID (field value ...)` (RFC 2971).
fn id(w: &mut Writer<'_>, fields: &[(String, Option<String>)]) -> Result<()> {
    w.sp();
    if fields.is_empty() {
        w.token("NIL");
        return Ok(());
    }
    w.parenthesized(fields, |w, (name, value)| {
        w.string(name.as_bytes(), "ID field name")?;
        w.sp();
        match value {
            Some(v) => w.string(v.as_bytes(), "ID field value"),
            None => {
                w.token("NIL");
                Ok(())
            }
        }
    })
}

/// Refuses a tag that is not a non-empty run of ASTRING-CHARs without `+`.
fn check_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || !tag.bytes().all(|b| is_astring_char(b) && b != b'+') {
        return Err(Error::invalid(
            "tag",
            format!("{tag:?} is not a valid IMAP tag"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::imap::codec::writer::{LiteralMode, Repr, Syntax, choose};
    use crate::imap::seqset::SequenceSet;

    pub(super) fn enc(cmd: &Command) -> String {
        String::from_utf8(cmd.encode("A1", &EncodeOptions::new()).unwrap().to_bytes()).unwrap()
    }

    pub(super) fn enc_with(cmd: &Command, opts: EncodeOptions) -> EncodedCommand {
        cmd.encode("A1", &opts).unwrap()
    }

    #[test]
    fn simple_commands() {
        assert_eq!(enc(&Command::Capability), "A1 CAPABILITY\r\n");
        assert_eq!(enc(&Command::Idle), "A1 IDLE\r\n");
        assert_eq!(idle_done().to_bytes(), b"DONE\r\n");
        assert_eq!(enc(&Command::Id(vec![])), "A1 ID NIL\r\n");
        assert_eq!(
            enc(&Command::Id(vec![
                ("name".into(), Some("mailwire".into())),
                ("os".into(), None)
            ])),
            "A1 ID (\"name\" \"mailwire\" \"os\" NIL)\r\n"
        );
        assert_eq!(
            enc(&Command::Enable(vec![
                "UTF8=ACCEPT".into(),
                "CONDSTORE".into()
            ])),
            "A1 ENABLE UTF8=ACCEPT CONDSTORE\r\n"
        );
        assert!(
            Command::Enable(vec!["A B".into()])
                .encode("A1", &EncodeOptions::new())
                .is_err()
        );
        assert!(Command::Noop.encode("A+1", &EncodeOptions::new()).is_err());
        assert!(Command::Noop.encode("", &EncodeOptions::new()).is_err());
        assert!(Command::Noop.encode("A 1", &EncodeOptions::new()).is_err());
    }

    #[test]
    fn string_representations() {
        let opts = EncodeOptions::new();
        assert_eq!(choose(b"INBOX", Syntax::Astring, false), Repr::Atom);
        assert_eq!(choose(b"a]b", Syntax::Astring, false), Repr::Atom);
        assert_eq!(choose(b"a*", Syntax::Astring, false), Repr::Quoted);
        assert_eq!(choose(b"a*", Syntax::ListMailbox, false), Repr::Atom);
        assert_eq!(choose(b"nil", Syntax::Astring, false), Repr::Quoted);
        assert_eq!(choose(b"", Syntax::Astring, false), Repr::Quoted);
        assert_eq!(choose(b"abc", Syntax::String, false), Repr::Quoted);
        assert_eq!(choose(b"a\tb", Syntax::Astring, false), Repr::Literal);
        assert_eq!(
            choose("é".as_bytes(), Syntax::Astring, false),
            Repr::Literal
        );
        assert_eq!(choose("é".as_bytes(), Syntax::Astring, true), Repr::Quoted);
        assert_eq!(choose(b"\xff", Syntax::Astring, true), Repr::Literal);
        assert_eq!(choose(&[b'a'; 2000], Syntax::String, false), Repr::Literal);
        let login = Command::login("al ice", "p\"w\\d");
        assert_eq!(enc(&login), "A1 LOGIN \"al ice\" \"p\\\"w\\\\d\"\r\n");
        let nul = Command::login("alice", "pw\0");
        assert!(matches!(
            nul.encode("A1", &opts),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn literals_split_parts() {
        let login = Command::login("alice", "line1\r\nline2");
        let sync = enc_with(&login, EncodeOptions::new());
        assert_eq!(sync.parts().len(), 2);
        assert_eq!(sync.parts()[0], b"A1 LOGIN alice {12}\r\n");
        assert_eq!(sync.parts()[1], b"line1\r\nline2\r\n");
        assert!(sync.needs_continuation());
        assert_eq!(sync.trace_text(), "A1 LOGIN alice {12}<redacted>");
        assert!(!format!("{sync:?}").contains("line1"));
        let plus = enc_with(&login, EncodeOptions::new().with_literal(LiteralMode::Plus));
        assert_eq!(plus.parts().len(), 1);
        assert_eq!(
            plus.to_bytes(),
            b"A1 LOGIN alice {12+}\r\nline1\r\nline2\r\n"
        );
        let big = Command::append("INBOX", [], vec![b'x'; 5000]);
        let minus = enc_with(&big, EncodeOptions::new().with_literal(LiteralMode::Minus));
        assert_eq!(minus.parts().len(), 2);
        assert_eq!(minus.parts()[0], b"A1 APPEND INBOX {5000}\r\n");
        assert_eq!(minus.trace_text(), "A1 APPEND INBOX {5000}<5000 bytes>");
        let small = Command::append("INBOX", [], b"x\r\n".to_vec());
        let minus = enc_with(
            &small,
            EncodeOptions::new().with_literal(LiteralMode::Minus),
        );
        assert_eq!(minus.to_bytes(), b"A1 APPEND INBOX {3+}\r\nx\r\n\r\n");
    }

    #[test]
    fn copy_and_move() {
        let mv = Command::Move {
            uid: true,
            set: SequenceSet::single(4),
            mailbox: "Archive".into(),
        };
        assert_eq!(enc(&mv), "A1 UID MOVE 4 Archive\r\n");
        let copy = Command::Copy {
            uid: false,
            set: SequenceSet::range(1, 2),
            mailbox: "Sent Items".into(),
        };
        assert_eq!(enc(&copy), "A1 COPY 1:2 \"Sent Items\"\r\n");
    }
}
