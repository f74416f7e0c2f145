//! `ImapConnection::append_batch` and `append_many`: several messages in one `APPEND`
//! (MULTIAPPEND, RFC 3502) when the server has it, else one `APPEND` each.

use super::transfer::{AppendUid, append_one, check_appendable};
use super::*;
use crate::imap::codec::AppendMessage;

impl ImapConnection {
    /// Appends `messages` to `folder`, each with its own flags and internal date, and
    /// returns each one's UID when the server says (UIDPLUS), in the order given.
    ///
    /// - **With MULTIAPPEND** (RFC 3502): one `APPEND` command carries every message, and
    ///   the server stores **all of them or none**. A `NO` (also one sent after some of the
    ///   messages went out) means none was stored; the connection stays usable. The UIDs
    ///   come from the answer's `[APPENDUID uidvalidity uid-set]`: a set that does not hold
    ///   exactly one UID per message is not trusted (every entry `None`, logged: the
    ///   messages were stored, find them by a search), and it is never expanded beyond
    ///   `messages.len()` UIDs. `progress` hears once, when the server has stored the lot.
    /// - **Without MULTIAPPEND**: one `APPEND` per message, in order — **not atomic**. On a
    ///   failure in the middle, the messages before the failing one stay stored and the
    ///   ones after it are not sent; `progress` hears after each stored message, so the
    ///   last report tells how many were stored.
    ///
    /// Without UIDPLUS every entry is `None`. Refused with [`Error::InvalidInput`] before
    /// anything is sent: an empty message or one holding NUL, a flag that cannot be set (or
    /// a keyword the folder cannot keep), messages totalling more than
    /// [`Limits::max_append_batch`](crate::Limits::max_append_batch), or a message larger
    /// than the server's `APPENDLIMIT=n`. Each literal waits for the server's `+` unless
    /// `LITERAL+` (any size) or `LITERAL-` (up to 4096 bytes) lets it go at once.
    ///
    /// Cancellable (see [`with_cancel`](Self::with_cancel)): with MULTIAPPEND a cancel cuts
    /// the connection while the command is under way, and then either none or all of the
    /// messages are stored (all only when the cut came after the last byte was sent);
    /// without it, as [`append_many`](Self::append_many).
    ///
    /// ```no_run
    /// # use mailwire::imap::{AppendMessage, Flag, ImapConnection};
    /// # fn demo(conn: &ImapConnection, raw: Vec<Vec<u8>>) -> mailwire::Result<()> {
    /// let batch = raw
    ///     .into_iter()
    ///     .map(|m| AppendMessage::new(m).with_flags([Flag::Seen]))
    ///     .collect();
    /// let uids = conn.append_batch("Archive", batch, &mut |p| {
    ///     eprintln!("{} of {:?} stored", p.messages, p.total_messages);
    /// })?;
    /// for uid in uids.iter().flatten() {
    ///     println!("stored as UID {} (UIDVALIDITY {})", uid.uid, uid.uid_validity);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn append_batch(
        &self,
        folder: &str,
        messages: Vec<AppendMessage>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Option<AppendUid>>> {
        let total = check_batch(&messages, self.limits.max_append_batch)?;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let caps = self.capabilities();
        if let Some(limit) = super::folders::append_limit_capability(&caps) {
            check_append_limit(&messages, limit)?;
        }
        let count = messages.len();
        let mut done = Progress {
            total_messages: u64::try_from(count).ok(),
            ..Progress::default()
        };
        if !caps.has("MULTIAPPEND") {
            let mut uids = Vec::with_capacity(count);
            for m in &messages {
                let uid = self.cancellable("appending messages", |s| {
                    append_one(s, folder, m.message(), m.flags().to_vec(), m.date())
                })?;
                uids.push(uid);
                progress(done.advance(m.message().len()));
            }
            return Ok(uids);
        }
        let uids = self.multi_append(folder, messages)?;
        progress(Progress {
            messages: u64::try_from(count).unwrap_or(u64::MAX),
            bytes: total,
            ..done
        });
        Ok(uids)
    }
}

impl ImapConnection {
    /// Appends `messages` to `folder` in order, each with `flags`; returns each one's UID
    /// when the server says (UIDPLUS), in order. Every message is checked before the first
    /// is sent (an empty one or one with NUL bytes is [`Error::InvalidInput`] and nothing
    /// is appended).
    ///
    /// When the server offers MULTIAPPEND (RFC 3502) the messages go in as few `APPEND`
    /// commands as [`Limits::max_append_batch`](crate::Limits::max_append_batch) allows
    /// (each command at most that many bytes; a larger message goes alone): every command
    /// is stored whole or not at all, and `progress` hears after each command the server
    /// stored. Without MULTIAPPEND, one `APPEND` per message and `progress` after each.
    /// Either way `progress` tells messages and bytes stored so far, of `messages.len()`,
    /// and on an error what was stored before the failing command stays stored: the last
    /// report tells how many. For one all-or-none command, per-message flags or dates, use
    /// [`append_batch`](Self::append_batch).
    ///
    /// Cancellable like [`append`](Self::append): a cancel between or during commands
    /// stops the call with [`Error::Cancelled`] (the command being sent may or may not
    /// have been stored).
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, Flag};
    /// # fn demo(conn: &ImapConnection, raw: Vec<Vec<u8>>) -> mailwire::Result<()> {
    /// let uids = conn.append_many("Archive", &raw, &[Flag::Seen], &mut |p| {
    ///     eprintln!("{} of {:?} stored ({} bytes)", p.messages, p.total_messages, p.bytes);
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn append_many<M: AsRef<[u8]>>(
        &self,
        folder: &str,
        messages: &[M],
        flags: &[Flag],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Option<AppendUid>>> {
        flags.iter().try_for_each(Flag::check_settable)?;
        messages
            .iter()
            .try_for_each(|m| check_appendable(m.as_ref()))?;
        let mut done = Progress {
            total_messages: u64::try_from(messages.len()).ok(),
            ..Progress::default()
        };
        let multiappend = self.capabilities().has("MULTIAPPEND");
        let max = self.limits.max_append_batch;
        let size = |m: &M| u64::try_from(m.as_ref().len()).unwrap_or(u64::MAX);
        let mut uids = Vec::with_capacity(messages.len());
        let mut rest = messages;
        while !rest.is_empty() {
            let n = if multiappend {
                batch_len(rest.iter().map(size), max)
            } else {
                1
            };
            let (now, later) = rest.split_at(n.clamp(1, rest.len()));
            rest = later;
            if let [one] = now {
                let message = one.as_ref();
                let uid = self.cancellable("appending messages", |s| {
                    append_one(s, folder, message, flags.to_vec(), None)
                })?;
                uids.push(uid);
                progress(done.advance(message.len()));
                continue;
            }
            let batch = now
                .iter()
                .map(|m| AppendMessage::new(m.as_ref().to_vec()).with_flags(flags.iter().cloned()))
                .collect();
            uids.extend(self.multi_append(folder, batch)?);
            for m in now {
                done.advance(m.as_ref().len());
            }
            progress(done);
        }
        Ok(uids)
    }

    /// One `APPEND` command carrying every message of `messages` (already checked; the
    /// server offers MULTIAPPEND): all stored or none.
    pub(super) fn multi_append(
        &self,
        folder: &str,
        messages: Vec<AppendMessage>,
    ) -> Result<Vec<Option<AppendUid>>> {
        let id = self.id.clone();
        let count = messages.len();
        self.cancellable("appending messages (MULTIAPPEND)", |s| {
            for m in &messages {
                super::flags::check_keywords_kept(s, folder, m.flags())?;
            }
            let command = Command::MultiAppend {
                mailbox: MailboxName::new(folder),
                messages,
            };
            let c = run_on_folder(s, folder, &command)?;
            Ok(batch_uids(c.code, count, &id))
        })
    }
}

/// How many of `sizes` (from the first) go in one MULTIAPPEND command of at most `max`
/// bytes: at least one, so a message larger than `max` goes on its own.
pub(super) fn batch_len(sizes: impl IntoIterator<Item = u64>, max: u64) -> usize {
    let mut bytes = 0u64;
    let mut n = 0usize;
    for size in sizes {
        bytes = bytes.saturating_add(size);
        if n > 0 && bytes > max {
            break;
        }
        n += 1;
    }
    n
}

/// Checks every message and the batch's size; returns the batch's bytes.
fn check_batch(messages: &[AppendMessage], max: u64) -> Result<u64> {
    let mut total = 0u64;
    for m in messages {
        m.flags().iter().try_for_each(Flag::check_settable)?;
        check_appendable(m.message())?;
        total = total.saturating_add(u64::try_from(m.message().len()).unwrap_or(u64::MAX));
    }
    if total > max {
        return Err(Error::invalid(
            "append batch",
            format!(
                "its {} messages total {total} bytes, over Limits::max_append_batch ({max} bytes): split the batch, or raise the limit",
                messages.len()
            ),
        ));
    }
    Ok(total)
}

/// Refuses a message over the server's `APPENDLIMIT=n` (RFC 7889) before anything is sent:
/// the server would refuse it, and with MULTIAPPEND the whole batch with it.
fn check_append_limit(messages: &[AppendMessage], limit: u64) -> Result<()> {
    for (i, m) in messages.iter().enumerate() {
        let size = u64::try_from(m.message().len()).unwrap_or(u64::MAX);
        if size > limit {
            return Err(Error::invalid(
                "append batch",
                format!(
                    "message {} of {} has {size} bytes, over the server's APPENDLIMIT of {limit} bytes",
                    i + 1,
                    messages.len()
                ),
            ));
        }
    }
    Ok(())
}

/// The UIDs of a MULTIAPPEND's `[APPENDUID]`, one per message in order (UIDs are given in
/// ascending order as the messages were stored: RFC 4315 §3); all `None` without the code
/// or when its set does not hold exactly `count` UIDs. Never more than `count` entries.
fn batch_uids(code: Option<ResponseCode>, count: usize, id: &str) -> Vec<Option<AppendUid>> {
    match code {
        Some(ResponseCode::AppendUid { uid_validity, uids })
            if !uids.has_star() && uids.len() == u64::try_from(count).ok() =>
        {
            uids.iter()
                .take(count)
                .map(|uid| Some(AppendUid { uid_validity, uid }))
                .collect()
        }
        Some(ResponseCode::AppendUid { uids, .. }) => {
            log::warn!(
                target: "mailwire::imap",
                "[{id}] ignoring an [APPENDUID] naming {:?} UIDs for {count} messages appended",
                uids.len()
            );
            vec![None; count]
        }
        _ => vec![None; count],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(uids: &str) -> Option<ResponseCode> {
        Some(ResponseCode::AppendUid {
            uid_validity: 9,
            uids: SequenceSet::parse(uids).unwrap(),
        })
    }

    #[test]
    fn appenduid_sets_are_taken_only_when_they_count_one_uid_per_message() {
        let got: Vec<_> = batch_uids(code("5:7,9"), 4, "t")
            .into_iter()
            .map(|u| u.map(|u| (u.uid_validity, u.uid)))
            .collect();
        assert_eq!(
            got,
            [Some((9, 5)), Some((9, 6)), Some((9, 7)), Some((9, 9))]
        );
        // Too many (a huge range is not expanded), too few, none, a star.
        assert_eq!(batch_uids(code("1:4000000000"), 3, "t"), vec![None; 3]);
        assert_eq!(batch_uids(code("5:6"), 3, "t"), vec![None; 3]);
        assert_eq!(batch_uids(None, 2, "t"), vec![None; 2]);
        assert_eq!(batch_uids(code("5:*"), 1, "t"), vec![None; 1]);
    }

    #[test]
    fn append_many_splits_into_commands_within_the_batch_bound() {
        assert_eq!(batch_len([10, 10, 10], 25), 2);
        assert_eq!(batch_len([10, 10, 10], 30), 3);
        // A message over the bound goes alone; nothing is ever left out.
        assert_eq!(batch_len([40, 10], 25), 1);
        assert_eq!(batch_len([10, 40], 25), 1);
        assert_eq!(batch_len([u64::MAX, 1], 25), 1);
        assert_eq!(batch_len([], 25), 0);
    }

    #[test]
    fn the_new_types_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<AppendMessage>();
        send_sync::<super::super::SavedSearch<'static>>();
    }

    #[test]
    fn batches_are_checked_before_sending() {
        let m = |b: &[u8]| AppendMessage::new(b.to_vec());
        assert_eq!(check_batch(&[m(b"ab"), m(b"cde")], 5).unwrap(), 5);
        let e = check_batch(&[m(b"ab"), m(b"cdef")], 5).unwrap_err();
        assert!(e.to_string().contains("max_append_batch"), "{e}");
        assert!(check_batch(&[m(b"ab"), m(b"")], 100).is_err());
        assert!(check_batch(&[m(b"a\0b")], 100).is_err());
        assert!(check_batch(&[m(b"a").with_flags([Flag::Recent])], 100).is_err());
        assert!(check_append_limit(&[m(b"ab"), m(b"abc")], 3).is_ok());
        let e = check_append_limit(&[m(b"ab"), m(b"abcd")], 3).unwrap_err();
        assert!(e.to_string().contains("message 2 of 2"), "{e}");
    }
}
