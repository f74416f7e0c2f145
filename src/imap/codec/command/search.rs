//! `SEARCH`'s arguments: the ESEARCH return options (RFC 4731) and the query with its
//! charset.

use super::mailbox::MailboxName;
use super::store::{StoreAction, flag_list};
use crate::error::Result;
use crate::flag::Flag;
use crate::imap::codec::writer::Writer;
use crate::imap::search::SearchQuery;

/// `SEARCH RETURN (...)` options (ESEARCH, RFC 4731).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SearchReturn {
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `ALL`: the matches as a sequence set.
    All,
    /// `COUNT`.
    Count,
    /// `SAVE` (SEARCHRES, RFC 5182).
    Save,
}

impl SearchReturn {
    fn wire(self) -> &'static str {
        match self {
            SearchReturn::Min => "MIN",
            SearchReturn::Max => "MAX",
            SearchReturn::All => "ALL",
            SearchReturn::Count => "COUNT",
            SearchReturn::Save => "SAVE",
        }
    }
}

/// `[RETURN (...)] [CHARSET UTF-8] query`.
pub(super) fn search(
    w: &mut Writer<'_>,
    query: &SearchQuery,
    returns: Option<&[SearchReturn]>,
) -> Result<()> {
    if let Some(returns) = returns {
        w.token(" RETURN ");
        w.parenthesized(returns, |w, r| {
            w.token(r.wire());
            Ok(())
        })?;
    }
    if query.needs_utf8_charset() {
        w.token(" CHARSET UTF-8");
    }
    w.sp();
    query.encode(w)?;
    Ok(())
}

/// What a command does with the saved search result `$` (SEARCHRES, RFC 5182): the
/// messages the last `UID SEARCH RETURN (SAVE)` of the session found, named without sending
/// their UIDs. Valid only on the session and the selection that saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SavedAction {
    /// `UID STORE $ [+|-]FLAGS.SILENT (flags)`.
    Store {
        /// Add, remove or replace.
        action: StoreAction,
        /// The flags.
        flags: Vec<Flag>,
    },
    /// `UID COPY $ mailbox`.
    Copy(MailboxName),
    /// `UID MOVE $ mailbox` (RFC 6851).
    Move(MailboxName),
    /// `UID EXPUNGE $` (UIDPLUS): removes those of the messages marked `\Deleted`.
    Expunge,
    /// `UID SEARCH UID $`: the messages' UIDs (leaves `$` as it is).
    Uids,
}

impl SavedAction {
    /// The command's name as sent.
    pub(super) fn name(&self) -> &'static str {
        match self {
            SavedAction::Store { .. } => "UID STORE",
            SavedAction::Copy(_) => "UID COPY",
            SavedAction::Move(_) => "UID MOVE",
            SavedAction::Expunge => "UID EXPUNGE",
            SavedAction::Uids => "UID SEARCH",
        }
    }
}

/// The arguments of a command on `$`.
pub(super) fn saved(w: &mut Writer<'_>, action: &SavedAction) -> Result<()> {
    match action {
        SavedAction::Store { action, flags } => {
            w.token(match action {
                StoreAction::Add => " $ +FLAGS.SILENT ",
                StoreAction::Remove => " $ -FLAGS.SILENT ",
                StoreAction::Replace => " $ FLAGS.SILENT ",
            });
            flag_list(w, flags)
        }
        SavedAction::Copy(mailbox) | SavedAction::Move(mailbox) => {
            w.token(" $ ");
            w.mailbox(mailbox)
        }
        SavedAction::Expunge => {
            w.token(" $");
            Ok(())
        }
        SavedAction::Uids => {
            w.token(" UID $");
            Ok(())
        }
    }
}

/// [`SearchQuery`] as the encoder writes it in `SEARCH` / `UID SEARCH`.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::imap::codec::command::Command;
    use crate::imap::codec::writer::{EncodeOptions, LiteralMode};
    use crate::imap::search::ImapDate;
    use crate::imap::seqset::SequenceSet;

    fn search(q: SearchQuery) -> String {
        let cmd = Command::uid_search(q);
        let opts = EncodeOptions::new().with_literal(LiteralMode::Plus);
        String::from_utf8(cmd.encode("S", &opts).unwrap().to_bytes()).unwrap()
    }

    fn d(y: u16, m: u8, day: u8) -> ImapDate {
        ImapDate::new(y, m, day).unwrap()
    }

    #[test]
    fn builder_example() {
        let q = SearchQuery::from("alice")
            .and(SearchQuery::unseen())
            .and(SearchQuery::since(d(2024, 2, 1)));
        assert_eq!(
            search(q),
            "S UID SEARCH FROM alice UNSEEN SINCE 1-Feb-2024\r\n"
        );
    }

    #[test]
    fn or_not_and_nesting() {
        let q = SearchQuery::any_of([
            SearchQuery::from("a"),
            SearchQuery::from("b"),
            SearchQuery::from("c"),
        ]);
        assert_eq!(search(q), "S UID SEARCH OR OR FROM a FROM b FROM c\r\n");
        let q = !SearchQuery::seen().and(SearchQuery::flagged());
        assert_eq!(search(q), "S UID SEARCH NOT (SEEN FLAGGED)\r\n");
        let q = SearchQuery::seen()
            .and(SearchQuery::flagged())
            .or(SearchQuery::all_of([]));
        assert_eq!(search(q), "S UID SEARCH OR (SEEN FLAGGED) ALL\r\n");
        assert_eq!(search(SearchQuery::all_of([])), "S UID SEARCH ALL\r\n");
        assert_eq!(search(SearchQuery::any_of([])), "S UID SEARCH NOT ALL\r\n");
        let q = SearchQuery::all_of([SearchQuery::all_of([SearchQuery::deleted()])]);
        assert_eq!(search(q), "S UID SEARCH DELETED\r\n");
        // A thousand alternatives stay shallow enough to encode.
        let many = SearchQuery::any_of((1..=1000u32).map(SearchQuery::uid));
        assert!(search(many).starts_with("S UID SEARCH OR OR OR"));
        // A hand-built degenerate chain is refused, not a stack overflow.
        let mut deep = SearchQuery::seen();
        for _ in 0..400 {
            deep = deep.negated();
        }
        let err = Command::uid_search(deep).encode("S", &EncodeOptions::new());
        assert!(matches!(err, Err(Error::InvalidInput { .. })));
    }

    #[test]
    fn every_key_and_charset() {
        let date = d(2024, 2, 1);
        let q = SearchQuery::all_of([
            SearchQuery::all(),
            SearchQuery::answered(),
            SearchQuery::bcc("b c"),
            SearchQuery::before(date),
            SearchQuery::body("x"),
            SearchQuery::cc("c"),
            SearchQuery::deleted(),
            SearchQuery::draft(),
            SearchQuery::flagged(),
            SearchQuery::header("List-Id", ""),
            SearchQuery::keyword("$Junk"),
            SearchQuery::larger(10),
            SearchQuery::new_messages(),
            SearchQuery::old(),
            SearchQuery::on(date),
            SearchQuery::recent(),
            SearchQuery::seen(),
            SearchQuery::sent_before(date),
            SearchQuery::sent_on(date),
            SearchQuery::sent_since(date),
            SearchQuery::smaller(20),
            SearchQuery::subject("hi"),
            SearchQuery::text("t"),
            SearchQuery::to("t"),
            SearchQuery::uid(SequenceSet::from_start(7)),
            SearchQuery::unanswered(),
            SearchQuery::undeleted(),
            SearchQuery::undraft(),
            SearchQuery::unflagged(),
            SearchQuery::unkeyword("Work"),
            SearchQuery::unseen(),
            SearchQuery::sequence(1..=3),
            SearchQuery::mod_seq(99),
            SearchQuery::gmail_raw("has:attachment in:inbox"),
        ]);
        assert!(!q.needs_utf8_charset());
        assert_eq!(
            search(q),
            "S UID SEARCH ALL ANSWERED BCC \"b c\" BEFORE 1-Feb-2024 BODY x CC c DELETED DRAFT \
             FLAGGED HEADER List-Id \"\" KEYWORD $Junk LARGER 10 NEW OLD ON 1-Feb-2024 RECENT \
             SEEN SENTBEFORE 1-Feb-2024 SENTON 1-Feb-2024 SENTSINCE 1-Feb-2024 SMALLER 20 \
             SUBJECT hi TEXT t TO t UID 7:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD \
             Work UNSEEN 1:3 MODSEQ 99 X-GM-RAW \"has:attachment in:inbox\"\r\n"
        );
    }

    #[test]
    fn non_ascii_text_adds_charset() {
        let q = SearchQuery::subject("Grüße").and(SearchQuery::seen());
        assert!(q.needs_utf8_charset());
        assert_eq!(
            search(q.clone()),
            "S UID SEARCH CHARSET UTF-8 SUBJECT {7+}\r\nGrüße SEEN\r\n"
        );
        let utf8 = EncodeOptions::new().with_utf8_accept(true);
        let bytes = Command::uid_search(q)
            .encode("S", &utf8)
            .unwrap()
            .to_bytes();
        assert_eq!(
            bytes,
            "S UID SEARCH CHARSET UTF-8 SUBJECT \"Grüße\" SEEN\r\n".as_bytes()
        );
        let nested = !SearchQuery::header("X-Tag", "naïve");
        assert!(nested.needs_utf8_charset());
        let with_return = Command::Search {
            uid: false,
            query: SearchQuery::unseen(),
            returns: Some(vec![SearchReturn::Min, SearchReturn::Count]),
        };
        assert_eq!(
            with_return
                .encode("S", &EncodeOptions::new())
                .unwrap()
                .to_bytes(),
            b"S SEARCH RETURN (MIN COUNT) UNSEEN\r\n"
        );
    }

    #[test]
    fn refuses_bad_arguments() {
        let opts = EncodeOptions::new();
        for q in [
            SearchQuery::keyword("a b"),
            SearchQuery::unkeyword(""),
            SearchQuery::subject("a\0b"),
            SearchQuery::uid(SequenceSet::new()),
            SearchQuery::mod_seq(u64::MAX),
            SearchQuery::seen().or(SearchQuery::header("X\0", "v")),
        ] {
            assert!(
                Command::uid_search(q.clone()).encode("S", &opts).is_err(),
                "{q:?}"
            );
        }
    }

    #[test]
    fn commands_on_the_saved_result() {
        let enc = |a: SavedAction| {
            let opts = EncodeOptions::new();
            String::from_utf8(Command::OnSaved(a).encode("A1", &opts).unwrap().to_bytes()).unwrap()
        };
        let save = Command::Search {
            uid: true,
            query: SearchQuery::unseen(),
            returns: Some(vec![SearchReturn::Save]),
        };
        assert_eq!(
            String::from_utf8(save.encode("A1", &EncodeOptions::new()).unwrap().to_bytes())
                .unwrap(),
            "A1 UID SEARCH RETURN (SAVE) UNSEEN\r\n"
        );
        assert_eq!(
            enc(SavedAction::Store {
                action: StoreAction::Add,
                flags: vec![Flag::Seen, Flag::Keyword("$Done".into())]
            }),
            "A1 UID STORE $ +FLAGS.SILENT (\\Seen $Done)\r\n"
        );
        assert_eq!(
            enc(SavedAction::Store {
                action: StoreAction::Remove,
                flags: vec![Flag::Flagged]
            }),
            "A1 UID STORE $ -FLAGS.SILENT (\\Flagged)\r\n"
        );
        assert_eq!(
            enc(SavedAction::Copy("Old mail".into())),
            "A1 UID COPY $ \"Old mail\"\r\n"
        );
        assert_eq!(
            enc(SavedAction::Move("Archive".into())),
            "A1 UID MOVE $ Archive\r\n"
        );
        assert_eq!(enc(SavedAction::Expunge), "A1 UID EXPUNGE $\r\n");
        assert_eq!(enc(SavedAction::Uids), "A1 UID SEARCH UID $\r\n");
        // A flag a client cannot set is refused before sending.
        let recent = Command::OnSaved(SavedAction::Store {
            action: StoreAction::Add,
            flags: vec![Flag::Recent],
        });
        assert!(recent.encode("A1", &EncodeOptions::new()).is_err());
    }
}
