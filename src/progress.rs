//! [`Progress`]: how far a batch fetch or append has come, reported once per message.

/// How far a batch call has come: what it reports to its progress callback after each
/// message (IMAP [`fetch_with_progress`](crate::imap::ImapConnection::fetch_with_progress)
/// and [`append_many`](crate::imap::ImapConnection::append_many), POP3
/// [`fetch_messages_with_progress`](crate::pop3::Pop3Handler::fetch_messages_with_progress)).
///
/// The callback runs on the calling thread, between two messages, while the connection is
/// held: keep it short (update a counter, send on a channel). Counts only grow within a
/// call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Progress {
    /// Messages done so far (received, or appended), this one included.
    pub messages: u64,
    /// Their bytes so far (the message data as received, or as sent).
    pub bytes: u64,
    /// How many messages the call will handle, when known before it starts: the messages
    /// to append, the POP3 numbers asked for, the IMAP UIDs asked for (UIDs that no longer
    /// exist are skipped, so a fetch may end below it: a range such as `1..=1000` counts
    /// 1000). `None` when the set names `*`, whose value only the server knows.
    pub total_messages: Option<u64>,
}

impl Progress {
    /// The progress after one more message of `bytes` bytes.
    pub(crate) fn advance(&mut self, bytes: usize) -> Progress {
        self.messages += 1;
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX));
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_counts_messages_and_bytes() {
        let mut p = Progress {
            total_messages: Some(2),
            ..Progress::default()
        };
        assert_eq!(
            p.advance(10),
            Progress {
                messages: 1,
                bytes: 10,
                total_messages: Some(2)
            }
        );
        assert_eq!(p.advance(5).bytes, 15);
        assert_eq!(p.messages, 2);
    }
}
