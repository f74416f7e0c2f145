//! The crate's one read-buffer policy: small while a connection waits, large chunks only
//! while an answer is arriving, given back once it is read.
//!
//! - **At rest** — nothing of an answer is buffered (the IMAP framer is at a response
//!   boundary): a read asks for [`SMALL_READ`] bytes, and storage beyond [`KEEP_AT_REST`]
//!   is given back first. An idle listener's IDLE wait, a pooled connection between calls
//!   and a command's first read all happen at rest, so a connection that waits holds a few
//!   KiB, not the chunk of its last large answer.
//! - **Arriving** — once a read fills the space it was given (the server has more than a
//!   small read holds), every further read of that answer asks for [`LARGE_READ`] bytes, so
//!   a bulk fetch reads in 64 KiB chunks as before; the next rest ends it.
//!
//! [`ReadSize`] carries the choice between reads; the IMAP session (`imap::session`)
//! applies it to its framer and to the transport's line buffer (which holds only the
//! greeting and STARTTLS lines on IMAP). POP3 reads through the transport's line buffer,
//! which grows to [`LARGE_READ`] on the first read and keeps it (a POP3 connection is
//! never left idle by a listener).

/// Bytes asked of the socket at rest.
pub(crate) const SMALL_READ: usize = 4 * 1024;
/// Bytes asked of the socket per read while an answer is arriving.
pub(crate) const LARGE_READ: usize = 64 * 1024;
/// Storage a buffer keeps at rest; above it, the storage is given back.
pub(crate) const KEEP_AT_REST: usize = 2 * SMALL_READ;

/// How many bytes the next read asks for (see the module doc).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadSize {
    arriving: bool,
}

impl ReadSize {
    /// The size of the next read: `at_rest` when nothing of an answer is buffered.
    pub(crate) fn next(&mut self, at_rest: bool) -> usize {
        if at_rest {
            self.arriving = false;
        }
        if self.arriving {
            LARGE_READ
        } else {
            SMALL_READ
        }
    }

    /// A read of `asked` bytes returned `got`: a full read means more is coming.
    pub(crate) fn after_read(&mut self, asked: usize, got: usize) {
        if got >= asked {
            self.arriving = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_at_rest_large_once_a_read_fills_until_the_next_rest() {
        let mut size = ReadSize::default();
        assert_eq!(size.next(true), SMALL_READ);
        size.after_read(SMALL_READ, 100);
        assert_eq!(
            size.next(false),
            SMALL_READ,
            "a short read: no more is coming"
        );
        size.after_read(SMALL_READ, SMALL_READ);
        assert_eq!(size.next(false), LARGE_READ);
        // Partial reads of a large answer (TLS records) keep the large size.
        size.after_read(LARGE_READ, 16 * 1024);
        assert_eq!(size.next(false), LARGE_READ);
        assert_eq!(
            size.next(true),
            SMALL_READ,
            "the answer was read: at rest again"
        );
        const { assert!(KEEP_AT_REST >= SMALL_READ && KEEP_AT_REST < LARGE_READ) };
    }
}
