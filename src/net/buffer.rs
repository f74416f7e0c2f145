//! The crate's one read-buffer policy: small while a connection waits, large chunks only
//! while an answer is arriving, given back once it is read.
//!
//! - **At rest** — a command has completed and nothing of another answer is buffered
//!   (the IMAP framer is at a response boundary): storage beyond [`KEEP_AT_REST`] is given
//!   back, and reads ask for [`SMALL_READ`] bytes. A pooled connection between calls and an
//!   idle listener's IDLE wait (which starts after the catch-up's last command completed)
//!   therefore hold a few KiB, not the chunk of their last large answer.
//! - **Arriving** — once a read fills the space it was given (the server has more than a
//!   small read holds), every further read asks for [`LARGE_READ`] bytes until the next
//!   command completes, so a bulk fetch reads in 64 KiB chunks into one reused buffer, also
//!   across the response boundaries inside it. A burst of events during one IDLE can grow
//!   the buffer too; it is given back when that IDLE ends (at the latest at its renewal).
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
    /// A command completed since the last read.
    completed: bool,
}

impl ReadSize {
    /// A command's completion was read.
    pub(crate) fn completed(&mut self) {
        self.completed = true;
    }

    /// The size of the next read, and whether to give storage back first; `boundary` when
    /// nothing of an answer is buffered.
    pub(crate) fn next(&mut self, boundary: bool) -> (usize, bool) {
        let rest = boundary && self.completed;
        if rest {
            self.arriving = false;
            self.completed = false;
        }
        (
            if self.arriving {
                LARGE_READ
            } else {
                SMALL_READ
            },
            rest,
        )
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
    fn small_at_rest_large_once_a_read_fills_until_a_command_completes() {
        let mut size = ReadSize::default();
        assert_eq!(size.next(true), (SMALL_READ, false));
        size.after_read(SMALL_READ, 100);
        assert_eq!(
            size.next(false).0,
            SMALL_READ,
            "a short read: no more is coming"
        );
        size.after_read(SMALL_READ, SMALL_READ);
        assert_eq!(size.next(false).0, LARGE_READ);
        // Partial reads of a large answer (TLS records) keep the large size, and so do
        // the response boundaries inside it.
        size.after_read(LARGE_READ, 16 * 1024);
        assert_eq!(size.next(false).0, LARGE_READ);
        assert_eq!(size.next(true), (LARGE_READ, false));
        size.completed();
        assert_eq!(
            size.next(false).0,
            LARGE_READ,
            "more of the next answer buffered"
        );
        assert_eq!(
            size.next(true),
            (SMALL_READ, true),
            "at rest: given back, small"
        );
        assert_eq!(size.next(true), (SMALL_READ, false), "given back once");
        const { assert!(KEEP_AT_REST >= SMALL_READ && KEEP_AT_REST < LARGE_READ) };
    }
}
