//! When to re-arm `TCP_QUICKACK`: once per server turn, at the first read that finds the
//! answer still incomplete, so that a server waiting for our acknowledgement (Nagle's
//! algorithm) gets it at once instead of after the delayed-ACK timer.
//!
//! A server that writes an answer in several small pieces without `TCP_NODELAY` sends the
//! first piece and holds the rest until that piece is acknowledged. Linux, having just sent
//! a command, is in its "interactive" (ping-pong) mode and delays that acknowledgement,
//! hoping to piggyback it on the next command: about 40 ms per command instead of well
//! under one. Setting `TCP_QUICKACK` sends the held acknowledgement now and leaves
//! ping-pong mode; the kernel stays out of it, acknowledging each further small piece as it
//! is read, until the client sends again (the next command). So one system call per
//! turn is enough, and only in turns whose answer took more than one read: a bulk fetch
//! makes one call, not one per read, and a command answered in one piece makes none.

use crate::net::socket::Socket;

/// The per-connection state of the rule: what happened since the client last sent.
#[derive(Debug, Default)]
pub(crate) struct QuickAck {
    /// Bytes arrived since the last send: a read now means the caller's answer is still
    /// incomplete.
    received: bool,
    /// `TCP_QUICKACK` was set since the last send.
    rearmed: bool,
    /// The `setsockopt` calls made on this connection.
    calls: u64,
}

impl QuickAck {
    /// The client sent: the server's turn starts.
    pub(crate) fn turn_started(&mut self) {
        self.received = false;
        self.rearmed = false;
    }

    /// A read returned bytes.
    pub(crate) fn received(&mut self) {
        self.received = true;
    }

    /// Called before every socket read: re-arms `TCP_QUICKACK` when bytes of this turn have
    /// arrived already (the answer is incomplete, or the caller would not read again) and it
    /// was not re-armed in this turn yet.
    pub(crate) fn before_read(&mut self, socket: &Socket, id: &str) {
        if self.received && !self.rearmed {
            self.rearmed = true;
            if socket.quickack(id) {
                self.calls = self.calls.saturating_add(1);
            }
        }
    }

    /// How many times `TCP_QUICKACK` was set on this connection.
    pub(crate) fn calls(&self) -> u64 {
        self.calls
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::QuickAck;
    use crate::net::socket::Socket;

    /// A connected TCP socket, and its peer.
    fn pair() -> (Socket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Socket::tcp(client), server)
    }

    #[test]
    fn only_a_read_after_bytes_of_the_same_turn_rearms_and_only_once() {
        let (mut socket, mut server) = pair();
        let mut q = QuickAck::default();
        let linux = cfg!(any(target_os = "linux", target_os = "android"));
        // The first read of a turn: nothing arrived yet.
        q.before_read(&socket, "t");
        assert_eq!(q.calls(), 0);
        server.write_all(b"* OK").unwrap();
        let mut buf = [0u8; 16];
        let _ = socket.read(&mut buf).unwrap();
        q.received();
        // The answer is incomplete: re-armed once, however many reads follow.
        for _ in 0..3 {
            q.before_read(&socket, "t");
        }
        assert_eq!(q.calls(), u64::from(linux));
        // A new turn starts over.
        q.turn_started();
        q.before_read(&socket, "t");
        assert_eq!(q.calls(), u64::from(linux));
        q.received();
        q.before_read(&socket, "t");
        assert_eq!(q.calls(), 2 * u64::from(linux));
    }

    #[test]
    fn the_in_memory_pipe_makes_no_call() {
        let (a, _b) = crate::net::memory::pair();
        let socket = Socket::memory(a);
        let mut q = QuickAck::default();
        q.received();
        q.before_read(&socket, "t");
        assert_eq!(q.calls(), 0);
    }
}
