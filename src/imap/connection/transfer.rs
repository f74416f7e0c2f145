//! `ImapConnection` calls that move messages between folders or remove them: COPY, MOVE, EXPUNGE, APPEND.

use super::*;

/// The UIDs a COPY or MOVE gave the messages in the target folder (UIDPLUS).
///
/// Kept as runs of consecutive UIDs (`source..source+len` became `target..target+len`), so
/// its memory is bounded by the ranges of the server's `[COPYUID]`, never by how many
/// messages they cover. Only pairs whose source UID was among the UIDs asked for are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyUids {
    /// The target folder's UIDVALIDITY.
    pub uid_validity: u32,
    /// (first source UID, first target UID, count) per run, in the server's order.
    runs: Vec<(u32, u32, u32)>,
}

impl CopyUids {
    /// Every (source UID, target UID) pair, in the server's order (lazily).
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs
            .iter()
            .flat_map(|&(src, dst, count)| (0..count).map(move |i| (src + i, dst + i)))
    }

    /// The target UID of the message that had `source` in the source folder.
    pub fn target_of(&self, source: u32) -> Option<u32> {
        self.runs.iter().find_map(|&(src, dst, count)| {
            let offset = source.checked_sub(src)?;
            (offset < count).then(|| dst + offset)
        })
    }

    /// The messages' UIDs in the target folder, with its UIDVALIDITY (ready to pass to a
    /// call on the target folder).
    pub fn target_uids(&self) -> Uids {
        let set = SequenceSet::from_ranges(
            self.runs
                .iter()
                .map(|&(_, dst, count)| dst..=dst + (count - 1)),
        );
        Uids::with_validity(self.uid_validity, set)
    }

    /// How many messages the mapping covers.
    pub fn len(&self) -> u64 {
        self.runs
            .iter()
            .map(|&(_, _, count)| u64::from(count))
            .sum()
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// The UID an APPEND gave the new message (UIDPLUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendUid {
    /// The folder's UIDVALIDITY.
    pub uid_validity: u32,
    /// The new message's UID.
    pub uid: u32,
}

/// The `[COPYUID]` of a COPY / MOVE answer as runs, keeping only pairs whose source UID is
/// in `asked`. A code whose two sets differ in size, or that names impossible UIDs, is
/// ignored (`None`, logged); more than `max_ranges` ranges is `LimitExceeded`.
pub(super) fn copy_uids(
    code: &Option<ResponseCode>,
    untagged: &[Untagged],
    asked: &SequenceSet,
    max_ranges: usize,
) -> Result<Option<CopyUids>> {
    let from_untagged = untagged.iter().find_map(|u| match u {
        Untagged::Condition {
            code: Some(c @ ResponseCode::CopyUid { .. }),
            ..
        } => Some(c),
        _ => None,
    });
    let Some(ResponseCode::CopyUid {
        uid_validity,
        source,
        dest,
    }) = code.as_ref().or(from_untagged)
    else {
        return Ok(None);
    };
    for (set, what) in [
        (source, "a COPYUID source set"),
        (dest, "a COPYUID target set"),
    ] {
        if set.len() > max_ranges {
            return Err(Error::LimitExceeded {
                what: format!(
                    "ranges in {what} ({} sent; raise Limits::max_set_ranges if the server is trusted)",
                    set.len()
                ),
                limit: max_ranges,
            });
        }
    }
    let Some(runs) = zip_runs(source, dest) else {
        log::warn!(target: "mailwire::imap", "ignoring a [COPYUID] whose source and target sets do not match");
        return Ok(None);
    };
    // Clip every run to the UIDs asked for (a server cannot claim to have copied others).
    let mut kept = Vec::new();
    for (src, dst, count) in runs {
        let run = SequenceSet::range(src, src + (count - 1));
        for piece in run.intersection(asked).ranges() {
            if let (SeqNumber::Value(a), SeqNumber::Value(b)) = (piece.start(), piece.end()) {
                kept.push((a, dst + (a - src), b - a + 1));
            }
        }
    }
    Ok(Some(CopyUids {
        uid_validity: *uid_validity,
        runs: kept,
    }))
}

/// Pairs two lists of ascending ranges (as the parser gives them) member by member into
/// (source, target, count) runs, walking both lists once (never expanding a range). `None`
/// if their sizes differ or a range holds 0.
fn zip_runs(source: &[(u32, u32)], dest: &[(u32, u32)]) -> Option<Vec<(u32, u32, u32)>> {
    let mut runs = Vec::new();
    let mut src = source.iter().copied();
    let mut dst = dest.iter().copied();
    let (mut s, mut d) = (src.next(), dst.next());
    while let (Some((s0, s1)), Some((d0, d1))) = (s, d) {
        if s0 == 0 || d0 == 0 {
            return None;
        }
        // Both sides have at least one member left; take as many as both have.
        let count = s1.checked_sub(s0)?.min(d1.checked_sub(d0)?);
        runs.push((s0, d0, count + 1));
        s = if s0 + count == s1 {
            src.next()
        } else {
            Some((s0 + count + 1, s1))
        };
        d = if d0 + count == d1 {
            dst.next()
        } else {
            Some((d0 + count + 1, d1))
        };
    }
    (s.is_none() && d.is_none()).then_some(runs)
}

/// How many messages an EXPUNGE / UID EXPUNGE answer removed: `EXPUNGE` responses, and
/// `VANISHED` UIDs — only when QRESYNC is enabled (no other server may send it), and only
/// within `asked` when the command named its UIDs.
pub(super) fn count_expunged(
    s: &Session,
    untagged: &[Untagged],
    asked: Option<&SequenceSet>,
) -> usize {
    let mut count = 0u64;
    for u in untagged {
        match u {
            Untagged::Expunge(_) => count += 1,
            Untagged::Vanished {
                earlier: false,
                uids,
            } if s.qresync_enabled() => {
                let gone = match asked {
                    Some(asked) => uids.intersection(asked),
                    None => uids.intersection(&SequenceSet::range(1, u32::MAX)),
                };
                count += gone.len().unwrap_or(0);
            }
            _ => {}
        }
    }
    usize::try_from(count).unwrap_or(usize::MAX)
}

impl ImapConnection {
    /// Copies messages to another folder; returns the new UIDs when the server says
    /// (UIDPLUS): only pairs whose source UID was asked for are kept, and a `[COPYUID]` of
    /// more than [`Limits::max_set_ranges`](crate::Limits::max_set_ranges) ranges is
    /// [`Error::LimitExceeded`] (the copy happened; the connection is dropped).
    pub fn copy(&self, folder: &str, uids: impl Into<Uids>, to: &str) -> Result<Option<CopyUids>> {
        self.transfer(folder, uids.into(), |s, set, max_ranges| {
            let c = run_on_folder(
                s,
                to,
                &Command::Copy {
                    uid: true,
                    set: set.clone(),
                    mailbox: MailboxName::new(to),
                },
            )?;
            copy_uids(&c.code, &c.untagged, set, max_ranges).map_err(|e| broken(s, e))
        })
    }

    /// Moves messages to another folder: `MOVE` (RFC 6851) when the server has it, else
    /// `COPY` + `\Deleted` + `UID EXPUNGE` of exactly these messages (UIDPLUS). Without
    /// either, fails with [`Error::InvalidInput`] rather than expunge other messages the
    /// user marked deleted. The returned UIDs are read as for [`copy`](Self::copy).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// if let Some(moved) = conn.move_messages("INBOX", &[10, 11], "Archive")? {
    ///     for (old, new) in moved.pairs() {
    ///         println!("INBOX/{old} is now Archive/{new}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn move_messages(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        to: &str,
    ) -> Result<Option<CopyUids>> {
        self.transfer(folder, uids.into(), |s, set, max_ranges| {
            if s.capabilities().has("MOVE") {
                let c = run_on_folder(s, to, &Command::Move { uid: true, set: set.clone(), mailbox: MailboxName::new(to) })?;
                return copy_uids(&c.code, &c.untagged, set, max_ranges).map_err(|e| broken(s, e));
            }
            if !s.capabilities().has("UIDPLUS") {
                return Err(Error::invalid(
                    "move",
                    "the server has neither MOVE nor UIDPLUS; moving would need an EXPUNGE that also removes other messages marked \\Deleted. Copy, then delete explicitly",
                ));
            }
            let c = run_on_folder(s, to, &Command::Copy { uid: true, set: set.clone(), mailbox: MailboxName::new(to) })?;
            run_ok(
                s,
                &Command::Store {
                    uid: true,
                    set: set.clone(),
                    action: StoreAction::Add,
                    silent: true,
                    flags: vec![Flag::Deleted],
                    unchanged_since: None,
                },
            )?;
            run_ok(s, &Command::UidExpunge(set.clone()))?;
            copy_uids(&c.code, &c.untagged, set, max_ranges).map_err(|e| broken(s, e))
        })
    }

    /// A COPY-like transfer of `uids` out of `folder`: nothing for no UIDs; else the folder
    /// is selected for acting on them (their UIDVALIDITY checked) and `f` runs with the
    /// session, the UID set and the bound on the ranges of a `[COPYUID]` answer.
    fn transfer(
        &self,
        folder: &str,
        uids: Uids,
        f: impl FnOnce(&mut Session, &SequenceSet, usize) -> Result<Option<CopyUids>>,
    ) -> Result<Option<CopyUids>> {
        if uids.is_empty() {
            return Ok(None);
        }
        let memory = self.validities();
        let max_ranges = self.limits.max_set_ranges;
        self.with(|s| {
            ensure_acting(s, &memory, folder, uids.validity())?;
            f(s, uids.set(), max_ranges)
        })
    }

    /// Removes every `\Deleted` message of the folder; returns how many went.
    pub fn expunge(&self, folder: &str) -> Result<usize> {
        self.with(|s| {
            ensure_selected(s, folder)?;
            let c = run_ok(s, &Command::Expunge)?;
            Ok(count_expunged(s, &c.untagged, None))
        })
    }

    /// Removes exactly these messages if they are `\Deleted` (`UID EXPUNGE`, UIDPLUS);
    /// returns how many went (a `VANISHED` answer is counted only within these UIDs).
    pub fn uid_expunge(&self, folder: &str, uids: impl Into<Uids>) -> Result<usize> {
        let uids = uids.into();
        if uids.is_empty() {
            return Ok(0);
        }
        let set = uids.set().clone();
        let memory = self.validities();
        self.with(|s| {
            if !s.capabilities().has("UIDPLUS") {
                return Err(Error::invalid(
                    "UID EXPUNGE",
                    "the server does not support UIDPLUS",
                ));
            }
            ensure_acting(s, &memory, folder, uids.validity())?;
            let c = run_ok(s, &Command::UidExpunge(set.clone()))?;
            Ok(count_expunged(s, &c.untagged, Some(&set)))
        })
    }

    /// Appends a message to a folder with the given flags and, optionally, an internal
    /// date; returns its UID when the server says (UIDPLUS).
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, Flag, search::ImapDate};
    /// use mailwire::imap::codec::InternalDate;
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let date = InternalDate::new(ImapDate::new(2024, 5, 14)?, 10, 0, 0, 120)?;
    /// let raw = b"From: me@example.com\r\nSubject: draft\r\n\r\nHello\r\n";
    /// let appended = conn.append("Drafts", raw, &[Flag::Draft, Flag::Seen], Some(date))?;
    /// # Ok(()) }
    /// ```
    pub fn append(
        &self,
        folder: &str,
        message: &[u8],
        flags: &[Flag],
        date: Option<InternalDate>,
    ) -> Result<Option<AppendUid>> {
        flags.iter().try_for_each(Flag::check_settable)?;
        check_appendable(message)?;
        let flags = flags.to_vec();
        self.cancellable("appending a message", |s| {
            append_one(s, folder, message, flags, date)
        })
    }
}

/// Refuses a message APPEND cannot store intact.
pub(super) fn check_appendable(message: &[u8]) -> Result<()> {
    if message.is_empty() {
        return Err(Error::invalid(
            "message",
            "an empty message cannot be appended",
        ));
    }
    if message.contains(&0) {
        // A server could store it through a BINARY literal (RFC 3516), but BODY[] can
        // never return a NUL: Dovecot, for one, hands it back as 0x80. Refuse rather than
        // store something that cannot be read back intact.
        return Err(Error::invalid(
            "message",
            "it contains NUL bytes, which IMAP cannot return intact; encode binary parts (e.g. base64) before appending",
        ));
    }
    Ok(())
}

/// One `APPEND` of a checked message.
pub(super) fn append_one(
    s: &mut Session,
    folder: &str,
    message: &[u8],
    flags: Vec<Flag>,
    date: Option<InternalDate>,
) -> Result<Option<AppendUid>> {
    super::flags::check_keywords_kept(s, folder, &flags)?;
    let command = Command::Append {
        mailbox: MailboxName::new(folder),
        flags,
        date,
        message: message.to_vec(),
        binary: false,
    };
    let c = run_on_folder(s, folder, &command)?;
    Ok(match c.code {
        Some(ResponseCode::AppendUid { uid_validity, uids }) => {
            uids.first().map(|uid| AppendUid { uid_validity, uid })
        }
        _ => None,
    })
}
