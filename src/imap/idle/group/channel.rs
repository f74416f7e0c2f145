//! The group's channel: bounded, dropping the oldest events when nobody reads, with one
//! `IdleEvent::Lagged` per watch before that watch's next event.

use std::collections::HashMap;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::counters::{Counters, bump};
use super::types::{GroupEvent, WatchId};
use crate::imap::idle_queue::IdleEvent;

/// The group's channel: bounded, dropping the oldest events when nobody reads, with one
/// [`IdleEvent::Lagged`] per watch before that watch's next event.
pub(super) struct ChannelQueue {
    pub(super) tx: Sender<GroupEvent>,
    pub(super) own_rx: Receiver<GroupEvent>,
    /// Events dropped per watch and not reported yet.
    pub(super) lag: HashMap<WatchId, u64>,
    pub(super) counters: Arc<Counters>,
}

impl ChannelQueue {
    fn note_lag(&mut self, watch: WatchId, dropped: u64) {
        let lag = self.lag.entry(watch).or_default();
        *lag = lag.saturating_add(dropped);
    }

    pub(super) fn push(&mut self, event: GroupEvent) {
        let capacity = self.tx.capacity().unwrap_or(usize::MAX);
        let watch = event.watch;
        loop {
            let marker = usize::from(self.lag.get(&watch).is_some_and(|n| *n > 0));
            if self.tx.len() + 1 + marker <= capacity {
                break;
            }
            match self.own_rx.try_recv() {
                // A marker dropped carries its count on to the next one.
                Ok(GroupEvent {
                    watch: w,
                    event: IdleEvent::Lagged { dropped },
                }) => self.note_lag(w, dropped),
                Ok(GroupEvent { watch: w, .. }) => {
                    self.note_lag(w, 1);
                    bump(&self.counters.channel_dropped);
                }
                Err(_) => break,
            }
        }
        if let Some(dropped) = self.lag.remove(&watch) {
            let marker = GroupEvent {
                watch,
                event: IdleEvent::Lagged { dropped },
            };
            if self.tx.try_send(marker).is_err() {
                self.lag.insert(watch, dropped);
            }
        }
        if let Err(TrySendError::Full(_)) = self.tx.try_send(event) {
            self.note_lag(watch, 1);
            bump(&self.counters.channel_dropped);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crossbeam_channel::bounded;

    use super::*;

    fn event(watch: u64, uid: u32) -> GroupEvent {
        GroupEvent {
            watch: WatchId(watch),
            event: IdleEvent::NewMessages { uids: vec![uid] },
        }
    }

    fn channel(capacity: usize) -> (ChannelQueue, Receiver<GroupEvent>, Arc<Counters>) {
        let (tx, rx) = bounded(capacity);
        let counters = Arc::new(Counters::default());
        let queue = ChannelQueue {
            tx,
            own_rx: rx.clone(),
            lag: HashMap::new(),
            counters: Arc::clone(&counters),
        };
        (queue, rx, counters)
    }

    #[test]
    fn the_channel_holds_its_capacity_and_counts_every_drop_per_watch() {
        let (mut queue, rx, counters) = channel(6);
        for uid in 0..100 {
            queue.push(event(u64::from(uid % 3), uid));
            assert!(rx.len() <= 6);
        }
        let held: Vec<GroupEvent> = rx.try_iter().collect();
        let mut lagged = 0;
        let mut kept = 0;
        for e in &held {
            match e.event {
                IdleEvent::Lagged { dropped } => lagged += dropped,
                _ => kept += 1,
            }
        }
        let pending: u64 = queue.lag.values().sum();
        assert_eq!(lagged + pending + kept, 100, "{held:?}");
        assert_eq!(
            counters.channel_dropped.load(Ordering::Relaxed),
            lagged + pending
        );
        // The newest event is kept, and each watch's marker comes before its next event.
        assert!(
            matches!(held.last(), Some(e) if matches!(&e.event, IdleEvent::NewMessages { uids } if uids == &[99]))
        );
        for (i, e) in held.iter().enumerate() {
            if matches!(e.event, IdleEvent::Lagged { .. }) {
                assert!(
                    held[i + 1..]
                        .iter()
                        .any(|n| n.watch == e.watch
                            && matches!(n.event, IdleEvent::NewMessages { .. })),
                    "{held:?}"
                );
            }
        }
    }

    #[test]
    fn a_reader_that_keeps_up_loses_nothing() {
        let (mut queue, rx, counters) = channel(2);
        for uid in 0..50 {
            queue.push(event(1, uid));
            let got = rx.try_recv().map(|e| e.event);
            assert!(matches!(got, Ok(IdleEvent::NewMessages { uids }) if uids == [uid]));
        }
        assert_eq!(counters.channel_dropped.load(Ordering::Relaxed), 0);
    }
}
