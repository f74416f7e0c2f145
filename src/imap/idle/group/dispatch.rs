//! How events travel in an `IdleGroup`: each listener forwards its events to one
//! dispatcher thread through a bounded queue (waiting for room rather than losing one), and
//! the dispatcher calls the group's callbacks and fills the group's channel.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, select};

use super::channel::ChannelQueue;
use super::counters::{Counters, bump};
use super::types::GroupEvent;

pub(super) type GroupCallback = Box<dyn Fn(&GroupEvent) + Send + 'static>;

/// Hands one listener's events to the dispatcher, on the listener's thread. When the
/// dispatcher's queue is full the listener waits for room (nothing is lost), unless its
/// watch is being stopped (`cancel` disconnected): then the event is dropped and counted.
pub(super) fn forward(
    queue: &Sender<GroupEvent>,
    cancel: &Receiver<()>,
    counters: &Counters,
    event: GroupEvent,
) {
    match queue.try_send(event) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(event)) => {
            if matches!(cancel.try_recv(), Err(TryRecvError::Disconnected)) {
                bump(&counters.dropped_at_stop);
                return;
            }
            bump(&counters.waits);
            select! {
                send(queue, event) -> _ => {}
                recv(cancel) -> _ => bump(&counters.dropped_at_stop),
            }
        }
    }
}

/// The dispatcher thread: every event to the callbacks (a panic caught, logged and
/// counted), then to the channel; ends when `shutdown` is disconnected, after delivering
/// what is queued.
pub(super) fn dispatch(
    queue: Receiver<GroupEvent>,
    shutdown: Receiver<()>,
    callbacks: Vec<GroupCallback>,
    mut channel: ChannelQueue,
) {
    let deliver = |channel: &mut ChannelQueue, event: GroupEvent| {
        for (i, callback) in callbacks.iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| callback(&event))).is_err() {
                bump(&channel.counters.callback_panics);
                log::error!(target: "mailwire::idle", "[idle group] callback #{i} panicked on {} {:?}; delivery goes on", event.watch, event.event);
            }
        }
        bump(&channel.counters.events);
        channel.push(event);
    };
    loop {
        select! {
            recv(queue) -> event => match event {
                Ok(event) => deliver(&mut channel, event),
                Err(_) => break,
            },
            recv(shutdown) -> _ => {
                while let Ok(event) = queue.try_recv() {
                    deliver(&mut channel, event);
                }
                break;
            }
        }
    }
    log::debug!(target: "mailwire::idle", "[idle group] dispatcher ends");
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use crossbeam_channel::bounded;

    use super::*;
    use crate::imap::idle::group::types::WatchId;
    use crate::imap::idle_queue::IdleEvent;

    fn event(watch: u64, uid: u32) -> GroupEvent {
        GroupEvent {
            watch: WatchId(watch),
            event: IdleEvent::NewMessages { uids: vec![uid] },
        }
    }

    #[test]
    fn forwarding_waits_for_room_and_gives_up_when_cancelled() {
        let counters = Counters::default();
        let (queue, queue_rx) = bounded(1);
        let (cancel, cancelled) = bounded::<()>(0);
        forward(&queue, &cancelled, &counters, event(1, 1));
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(30));
                let _ = queue_rx.recv();
            });
            // Full: waits until the reader makes room.
            forward(&queue, &cancelled, &counters, event(1, 2));
        });
        assert_eq!(counters.waits.load(Ordering::Relaxed), 1);
        assert_eq!(queue_rx.len(), 1);
        drop(cancel);
        forward(&queue, &cancelled, &counters, event(1, 3));
        assert_eq!(counters.dropped_at_stop.load(Ordering::Relaxed), 1);
    }
}
