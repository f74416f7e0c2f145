//! What a look at the bytes waiting on a stream saw, without waiting or consuming them
//! (`Socket::peek_now`, the in-memory pipe's `peek_now`).

/// What a non-blocking peek saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peeked {
    /// Nothing waits (the peer is silent for now).
    Nothing,
    /// This many bytes wait (at most the probe's length).
    Bytes(usize),
    /// The peer closed its side.
    Eof,
}
