//! The unsolicited-response queue (news for whoever takes it) and the bound on what one command may hold.

use super::*;
use crate::imap::seqset::SequenceSet;

impl Session {
    /// Takes the unsolicited responses received so far (EXISTS, EXPUNGE, FETCH FLAGS, …).
    pub(crate) fn take_unsolicited(&mut self) -> Vec<Untagged> {
        self.unsolicited_bytes = 0;
        self.unsolicited.drain(..).map(|(u, _)| u).collect()
    }

    /// Queues an unsolicited response; past `MAX_UNSOLICITED` responses or
    /// `max_untagged_bytes` the oldest are dropped (the queue is news for whoever takes
    /// it, never the answer to a command).
    pub(super) fn push_unsolicited(&mut self, response: Untagged, size: usize) {
        let max_bytes = self.config.limits().max_untagged_bytes;
        self.unsolicited_bytes = self.unsolicited_bytes.saturating_add(size as u64);
        self.unsolicited.push_back((response, size));
        while self.unsolicited.len() > MAX_UNSOLICITED || self.unsolicited_bytes > max_bytes {
            let Some((_, dropped)) = self.unsolicited.pop_front() else {
                break;
            };
            self.unsolicited_bytes = self.unsolicited_bytes.saturating_sub(dropped as u64);
        }
    }

    /// A new command starts: nothing is held for it yet.
    pub(super) fn start_turn(&mut self) {
        self.held = (0, 0);
    }

    /// Counts one more untagged response held for the running command; `LimitExceeded`
    /// past `Limits::max_untagged_responses` / `max_untagged_bytes` (a server answering one
    /// command with endless untagged responses cannot grow memory without bound).
    pub(super) fn hold(&mut self, size: usize) -> Result<()> {
        let limits = self.config.limits();
        self.held.0 = self.held.0.saturating_add(1);
        self.held.1 = self.held.1.saturating_add(size as u64);
        if self.held.0 > limits.max_untagged_responses {
            return Err(Error::LimitExceeded {
                what: "untagged responses to one command".into(),
                limit: limits.max_untagged_responses,
            });
        }
        if self.held.1 > limits.max_untagged_bytes {
            return Err(Error::LimitExceeded {
                what: "bytes of untagged responses to one command".into(),
                limit: usize::try_from(limits.max_untagged_bytes).unwrap_or(usize::MAX),
            });
        }
        Ok(())
    }

    /// Empties the unsolicited queue: what it held is known to the caller already.
    pub(super) fn drop_news(&mut self) {
        self.unsolicited.clear();
        self.unsolicited_bytes = 0;
    }

    /// From now on mailbox events stay in the answers they come with and are not queued as
    /// news too: the owner reads every answer (the `IdleListener`). Empties the queue.
    pub(crate) fn read_news_from_answers(&mut self) {
        self.news = News::InAnswers;
        self.drop_news();
    }

    /// Runs `f` with the `FETCH` responses that carry a UID in `uids` marked as answers:
    /// they are the command's data, not news, and stay out of the unsolicited queue (a
    /// large fetch is not copied there). The mark ends with `f`, whatever it returns.
    pub(crate) fn soliciting<T>(
        &mut self,
        uids: SequenceSet,
        f: impl FnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        self.solicited_uids = Some(uids);
        let result = f(self);
        self.solicited_uids = None;
        result
    }
}
