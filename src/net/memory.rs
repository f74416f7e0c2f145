//! An in-memory duplex stream: two connected ends, each reading what the other wrote. A
//! session runs on one end without any socket (unit tests of the sessions, the fuzz target
//! that plays arbitrary bytes as the server); reads wait with the same deadlines as a
//! socket's.
// The seam is used by the session tests and the fuzz target only.
#![cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::net::peek::Peeked;

/// Bytes one side may write before the other reads them; a write beyond it fails, so a
/// peer that never reads cannot grow memory.
const PIPE_CAPACITY: usize = 64 << 20;

#[derive(Debug, Default)]
struct Pipe {
    state: Mutex<PipeState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct PipeState {
    bytes: VecDeque<u8>,
    /// No more bytes will come (the writer closed or the pipe was shut down).
    closed: bool,
}

impl Pipe {
    fn close(&self) {
        self.state.lock().closed = true;
        self.ready.notify_all();
    }
}

/// One end of an in-memory duplex stream (see [`pair`]).
#[derive(Debug)]
pub(crate) struct MemoryEnd {
    incoming: Arc<Pipe>,
    outgoing: Arc<Pipe>,
}

/// Shuts both directions of a [`MemoryEnd`] from another thread.
#[derive(Debug, Clone)]
pub(crate) struct MemoryShutdown {
    incoming: Arc<Pipe>,
    outgoing: Arc<Pipe>,
}

impl MemoryShutdown {
    pub(crate) fn shutdown(&self) {
        self.incoming.close();
        self.outgoing.close();
    }
}

/// Two connected ends: what one writes, the other reads.
pub(crate) fn pair() -> (MemoryEnd, MemoryEnd) {
    let a = Arc::new(Pipe::default());
    let b = Arc::new(Pipe::default());
    (
        MemoryEnd {
            incoming: Arc::clone(&a),
            outgoing: Arc::clone(&b),
        },
        MemoryEnd {
            incoming: b,
            outgoing: a,
        },
    )
}

impl MemoryEnd {
    /// Reads at least one byte, waiting until `deadline`: `Ok(0)` at the end of the
    /// stream, `TimedOut` past the deadline.
    pub(crate) fn read_until(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut state = self.incoming.state.lock();
        loop {
            if !state.bytes.is_empty() {
                let n = buf.len().min(state.bytes.len());
                for (slot, byte) in buf.iter_mut().zip(state.bytes.drain(..n)) {
                    *slot = byte;
                }
                return Ok(n);
            }
            if state.closed {
                return Ok(0);
            }
            match deadline {
                Some(d) => {
                    if self.incoming.ready.wait_until(&mut state, d).timed_out()
                        && state.bytes.is_empty()
                        && !state.closed
                    {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
                    }
                }
                None => self.incoming.ready.wait(&mut state),
            }
        }
    }

    /// Appends `buf` for the other end (all of it, or an error).
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.outgoing.state.lock();
        if state.closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the other end is closed",
            ));
        }
        if state.bytes.len().saturating_add(buf.len()) > PIPE_CAPACITY {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the other end does not read",
            ));
        }
        state.bytes.extend(buf);
        drop(state);
        self.outgoing.ready.notify_all();
        Ok(buf.len())
    }

    /// Writes `buf` and closes this end's sending direction (the other end then reads
    /// the end of the stream after the bytes).
    pub(crate) fn write_and_close(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write(buf)?;
        self.outgoing.close();
        Ok(())
    }

    /// What is waiting, without consuming it or waiting.
    pub(crate) fn peek_now(&self, probe: &mut [u8]) -> Peeked {
        let state = self.incoming.state.lock();
        if state.bytes.is_empty() {
            return if state.closed {
                Peeked::Eof
            } else {
                Peeked::Nothing
            };
        }
        let n = probe.len().min(state.bytes.len());
        for (slot, byte) in probe.iter_mut().zip(state.bytes.iter()) {
            *slot = *byte;
        }
        Peeked::Bytes(n)
    }

    /// Closes both directions.
    pub(crate) fn shutdown(&self) {
        self.incoming.close();
        self.outgoing.close();
    }

    pub(crate) fn shutdown_handle(&self) -> MemoryShutdown {
        MemoryShutdown {
            incoming: Arc::clone(&self.incoming),
            outgoing: Arc::clone(&self.outgoing),
        }
    }
}

impl Drop for MemoryEnd {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ends_read_what_the_other_wrote_then_eof() {
        let (mut a, mut b) = pair();
        a.write_and_close(b"hello").unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(b.read_until(&mut buf, None).unwrap(), 3);
        assert_eq!(&buf, b"hel");
        assert_eq!(b.read_until(&mut buf, None).unwrap(), 2);
        assert_eq!(b.read_until(&mut buf, None).unwrap(), 0);
    }

    #[test]
    fn a_read_ends_at_its_deadline_and_at_a_shutdown_from_another_thread() {
        let (_a, mut b) = pair();
        let mut buf = [0u8; 4];
        let err = b
            .read_until(&mut buf, Some(Instant::now() + Duration::from_millis(20)))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let handle = b.shutdown_handle();
        let t = std::thread::spawn(move || b.read_until(&mut [0u8; 4], None).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        handle.shutdown();
        assert_eq!(t.join().unwrap(), 0);
    }
}
