//! What an `IdleListener` reports, and the channel that carries it: bounded, dropping the
//! oldest events when nobody reads and telling the reader so with one
//! [`IdleEvent::Lagged`].

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::error::Error;
use crate::imap::seqset::SequenceSet;
use crate::imap::types::Flag;

/// What the listener reports.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum IdleEvent {
    /// New messages arrived (also those that arrived while the listener was reconnecting).
    NewMessages {
        /// Their UIDs, ascending.
        uids: Vec<u32>,
    },
    /// Messages were expunged: `uids` names every one of them.
    Expunged {
        /// Sequence numbers, as the server reported them (`EXPUNGE`), in order; empty when
        /// the server named UIDs (`VANISHED`, with QRESYNC enabled) and in the catch-up
        /// after a reconnect. Each is valid only at its place in the sequence: prefer `uids`.
        seqs: Vec<u32>,
        /// The UIDs of the expunged messages, always filled: from `VANISHED`, or mapped
        /// from the sequence numbers through the listener's known UIDs. As ranges, and
        /// only UIDs the listener knew: a server claiming `1:4294967295` vanished costs the
        /// ranges of the known UIDs, never a list of four billion numbers.
        uids: SequenceSet,
    },
    /// A message's flags changed (reported only when they differ from the flags the
    /// listener knew).
    FlagsChanged {
        /// The message's UID.
        uid: u32,
        /// Its flags now (sorted by name, without `\Recent`).
        flags: Vec<Flag>,
    },
    /// The connection was lost and is back; `after` is how long it was down. Everything
    /// that changed meanwhile (expunges, flag changes, new messages) was reported before
    /// this event, so a reader that applies every event stays exactly right.
    Reconnected {
        /// The outage.
        after: Duration,
    },
    /// The folder's UIDVALIDITY changed: every UID known before is void; resynchronise
    /// (drop what you hold for the folder). A [`IdleEvent::NewMessages`] listing every
    /// message under the new UIDVALIDITY follows (no `Expunged` of the old UIDs).
    UidValidityChanged {
        /// The previous UIDVALIDITY.
        old: u32,
        /// The new one.
        new: u32,
    },
    /// A failure the listener is recovering from (it reconnects with backoff), or, when
    /// followed by [`IdleEvent::Stopped`], the one that ended it (e.g. the password was
    /// changed).
    Error(Arc<Error>),
    /// Events were dropped because nobody read [`IdleListener::events`](crate::imap::IdleListener::events) fast enough (the
    /// channel holds [`IdleListenerBuilder::channel_capacity`](crate::imap::IdleListenerBuilder::channel_capacity) events; the oldest go first).
    /// Callbacks saw them all; a channel reader missed changes and should resynchronise
    /// (e.g. with [`ImapConnection::sync`](crate::imap::ImapConnection::sync)).
    Lagged {
        /// How many events were dropped before this one.
        dropped: u64,
    },
    /// The listener stopped; no more events follow.
    Stopped,
    /// An event of one folder of a listener over several folders
    /// ([`IdleListenerBuilder::folders`](crate::imap::IdleListenerBuilder::folders)):
    /// `NewMessages`, `Expunged`, `FlagsChanged` or `UidValidityChanged`, with the folder it
    /// happened in. A single-folder listener never sends it; connection-wide events
    /// (`Reconnected`, `Error`, `Lagged`, `Stopped`) are never wrapped.
    /// [`folder`](IdleEvent::folder) and [`inner`](IdleEvent::inner) read any event alike.
    InFolder {
        /// The folder, as given to the builder.
        folder: Arc<str>,
        /// What happened in it.
        event: Box<IdleEvent>,
    },
}

impl IdleEvent {
    /// The folder an [`IdleEvent::InFolder`] names; `None` for any other event (a
    /// single-folder listener's events are all of its folder).
    pub fn folder(&self) -> Option<&str> {
        match self {
            IdleEvent::InFolder { folder, .. } => Some(folder),
            _ => None,
        }
    }

    /// The event itself: the wrapped one of an [`IdleEvent::InFolder`], otherwise `self`.
    pub fn inner(&self) -> &IdleEvent {
        match self {
            IdleEvent::InFolder { event, .. } => event.inner(),
            other => other,
        }
    }
}

/// How a listener watches ([`IdleListener::mode`](crate::imap::IdleListener::mode)),
/// chosen from the server's capabilities and the builder's switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WatchMode {
    /// One folder, with `IDLE`.
    Idle,
    /// One folder, polled with `NOOP` (no `IDLE`, or `force_polling`).
    Polling,
    /// Several folders with `NOTIFY` (RFC 5465): nothing selected, `IDLE` waits for the
    /// server's `STATUS` of a changed folder.
    Notify,
    /// Several folders without `NOTIFY` (or `force_status_polling`): `IDLE` on the first
    /// folder and `STATUS` of the others every `status_interval`.
    IdleWithStatusPolling,
}

/// The channel end that receives an [`IdleListener`](crate::imap::IdleListener)'s events.
pub type IdleEvents = Receiver<IdleEvent>;

/// The sending side, which also holds a receiver to drop the oldest event when full.
pub(crate) struct EventQueue {
    tx: Sender<IdleEvent>,
    own_rx: Receiver<IdleEvent>,
    /// Events dropped and not reported yet.
    dropped: u64,
}

impl EventQueue {
    /// A queue of `capacity` events (at least 2: an event and a `Lagged` marker) and the
    /// receiver the application gets.
    pub(crate) fn new(capacity: usize) -> (EventQueue, Receiver<IdleEvent>) {
        let (tx, rx) = bounded(capacity.max(2));
        (
            EventQueue {
                tx,
                own_rx: rx.clone(),
                dropped: 0,
            },
            rx,
        )
    }

    /// Puts `event` in the channel; when it is full, drops the oldest events first and puts
    /// one [`IdleEvent::Lagged`] (with every drop since the last one) before `event`.
    /// Returns how many events were dropped to make room.
    pub(crate) fn push(&mut self, event: IdleEvent) -> u64 {
        let mut made_room = 0;
        let capacity = self.tx.capacity().unwrap_or(usize::MAX);
        while self.tx.len() + 1 + usize::from(self.dropped > 0) > capacity {
            match self.own_rx.try_recv() {
                // A marker dropped carries its count on to the next one.
                Ok(IdleEvent::Lagged { dropped }) => {
                    self.dropped = self.dropped.saturating_add(dropped)
                }
                Ok(_) => {
                    self.dropped = self.dropped.saturating_add(1);
                    made_room += 1;
                }
                Err(_) => break,
            }
        }
        if self.dropped > 0
            && self
                .tx
                .try_send(IdleEvent::Lagged {
                    dropped: self.dropped,
                })
                .is_ok()
        {
            self.dropped = 0;
        }
        if let Err(TrySendError::Full(_)) = self.tx.try_send(event) {
            self.dropped = self.dropped.saturating_add(1);
            made_room += 1;
        }
        made_room
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn new_mail(uid: u32) -> IdleEvent {
        IdleEvent::NewMessages { uids: vec![uid] }
    }

    #[test]
    fn holds_at_most_its_capacity_and_reports_what_it_dropped() {
        let (mut queue, rx) = EventQueue::new(4);
        for uid in 0..100 {
            queue.push(new_mail(uid));
            assert!(rx.len() <= 4, "{} held", rx.len());
        }
        let held: Vec<IdleEvent> = rx.try_iter().collect();
        let lagged: u64 = held
            .iter()
            .map(|e| match e {
                IdleEvent::Lagged { dropped } => *dropped,
                _ => 0,
            })
            .sum();
        let kept: Vec<u32> = held
            .iter()
            .filter_map(|e| match e {
                IdleEvent::NewMessages { uids } => uids.first().copied(),
                _ => None,
            })
            .collect();
        assert_eq!(lagged + kept.len() as u64, 100, "{held:?}");
        assert_eq!(kept.last(), Some(&99), "the newest event is kept");
        assert!(
            matches!(held.first(), Some(IdleEvent::Lagged { .. })) || kept.len() == 3,
            "{held:?}"
        );
    }

    #[test]
    fn a_reader_that_keeps_up_loses_nothing() {
        let (mut queue, rx) = EventQueue::new(2);
        for uid in 0..50 {
            queue.push(new_mail(uid));
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(IdleEvent::NewMessages { uids }) => assert_eq!(uids, vec![uid]),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn lagged_comes_before_the_events_after_the_gap() {
        let (mut queue, rx) = EventQueue::new(3);
        for uid in 0..10 {
            queue.push(new_mail(uid));
        }
        let held: Vec<IdleEvent> = rx.try_iter().collect();
        let lag_at = held
            .iter()
            .position(|e| matches!(e, IdleEvent::Lagged { .. }))
            .expect("a Lagged marker");
        assert!(
            held[lag_at + 1..]
                .iter()
                .all(|e| matches!(e, IdleEvent::NewMessages { .. })),
            "{held:?}"
        );
    }
}
