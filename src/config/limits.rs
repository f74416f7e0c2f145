//! [`Limits`]: what a misbehaving server may make a connection hold in memory, their
//! defaults, their checks, and the builder's setters for them.

use crate::error::{Error, Result};
use crate::setters::setters;

use super::ConfigBuilder;

/// Limits that keep a misbehaving server from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Limits {
    /// The longest response line accepted, CRLF included. Default 8 MiB (a `SEARCH`
    /// answer over a million messages fits).
    pub max_line_length: usize,
    /// The largest literal (message body, header block) held in memory. Default 256 MiB.
    /// Streaming calls that write to a caller's writer are bounded by their buffer, not by
    /// this.
    pub max_literal_size: u64,
    /// The largest single IMAP response held in memory: all its lines and literals
    /// together. Default 512 MiB, or `max_literal_size` when that is larger and this was not
    /// set. A response made of many small literals is bound by this even when each literal
    /// is under `max_literal_size`.
    pub max_response_size: u64,
    /// How many untagged responses may wait, unread by the caller, while one command runs
    /// (another client's flag changes, `EXISTS`, …). Default 1,000,000.
    pub max_untagged_responses: usize,
    /// The bytes (as received) those waiting untagged responses may hold. Default 128 MiB.
    pub max_untagged_bytes: u64,
    /// The longest POP3 multi-line listing (`CAPA`, `LIST`, `UIDL`, `TOP` headers, …) held in
    /// memory, in bytes: counted on the bytes received and, again, on the parsed entries'
    /// memory. Default 256 MiB: a `UIDL` of a million messages with 70-character unique ids
    /// takes about 80 MiB.
    pub max_listing_size: u64,
    /// How many ranges (`a:b` or single numbers) a set sent by the server may have before
    /// it is refused (`SEARCH`, `ESEARCH`, `VANISHED`, a `[COPYUID]`). Default 4,000,000:
    /// memory for a set is bounded by its ranges, never by how many numbers they cover.
    pub max_set_ranges: usize,
    /// The slowest rate, in bytes per second, at which a response that takes longer than
    /// the read timeout must keep arriving. A response completes within `read_timeout`, or
    /// keeps arriving at this average rate over each `read_timeout` window after that; a
    /// server trickling one byte at a time cannot stretch a call. Default 1 KiB/s.
    pub min_transfer_rate: u64,
    /// The most message bytes one
    /// [`append_batch`](crate::imap::ImapConnection::append_batch) call sends: all its
    /// messages together, since with MULTIAPPEND they go out as one command built in
    /// memory. A larger batch is refused with [`Error::InvalidInput`] before anything is
    /// sent (split it, or raise this). Default 64 MiB.
    pub max_append_batch: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_length: 8 * 1024 * 1024,
            max_literal_size: 256 * 1024 * 1024,
            max_response_size: 512 * 1024 * 1024,
            max_untagged_responses: 1_000_000,
            max_untagged_bytes: 128 * 1024 * 1024,
            max_listing_size: 256 * 1024 * 1024,
            max_set_ranges: 4_000_000,
            min_transfer_rate: 1024,
            max_append_batch: 64 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Checks the limits as [`ConfigBuilder::build`] does and returns them as a config
    /// holds them: unless the caller chose a response limit (`response_size_set`), a
    /// response can hold one literal of the permitted size.
    pub(super) fn validated(self, response_size_set: bool) -> Result<Limits> {
        if self.max_line_length < 1024 {
            return Err(Error::invalid(
                "max_line_length",
                format!(
                    "{} bytes is below the minimum of 1024",
                    self.max_line_length
                ),
            ));
        }
        if self.max_literal_size == 0 {
            return Err(Error::invalid(
                "max_literal_size",
                "must be at least 1 byte",
            ));
        }
        // Unless the caller chose a response limit, a response can hold one literal of the
        // permitted size (raising max_literal_size alone must not make a config invalid).
        // A chosen response limit stands: a literal larger than it is refused by it.
        let mut limits = self;
        if !response_size_set {
            limits.max_response_size = limits.max_response_size.max(limits.max_literal_size);
        }
        for (name, value) in [
            ("max_untagged_responses", self.max_untagged_responses as u64),
            ("max_untagged_bytes", self.max_untagged_bytes),
            ("max_listing_size", self.max_listing_size),
            ("max_set_ranges", self.max_set_ranges as u64),
            ("min_transfer_rate", self.min_transfer_rate),
            ("max_append_batch", self.max_append_batch),
        ] {
            if value == 0 {
                return Err(Error::invalid(name, "must be at least 1"));
            }
        }
        Ok(limits)
    }
}

impl ConfigBuilder {
    setters! {
        /// The longest response line accepted (default 8 MiB, minimum 1 KiB).
        pub fn max_line_length(bytes: usize) { self.limits.max_line_length = bytes }

        /// The largest literal held in memory (default 256 MiB).
        pub fn max_literal_size(bytes: u64) { self.limits.max_literal_size = bytes }
    }

    /// The largest single IMAP response held in memory, literals included (default
    /// 512 MiB, or `max_literal_size` when that is larger; once set here it stands, and a
    /// literal larger than it is refused).
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.limits.max_response_size = bytes;
        self.response_size_set = true;
        self
    }

    /// How many untagged responses, and how many bytes of them, may wait unread while one
    /// command runs (default 1,000,000 and 128 MiB).
    pub fn max_untagged(mut self, responses: usize, bytes: u64) -> Self {
        self.limits.max_untagged_responses = responses;
        self.limits.max_untagged_bytes = bytes;
        self
    }

    setters! {
        /// The longest POP3 multi-line listing held in memory (default 256 MiB).
        pub fn max_listing_size(bytes: u64) { self.limits.max_listing_size = bytes }

        /// How many ranges a server-sent set may have (default 4,000,000).
        pub fn max_set_ranges(ranges: usize) { self.limits.max_set_ranges = ranges }

        /// The slowest average rate at which a response that outlasts the read timeout must
        /// keep arriving (default 1 KiB/s; see [`Limits::min_transfer_rate`]).
        pub fn min_transfer_rate(bytes_per_second: u64) {
            self.limits.min_transfer_rate = bytes_per_second
        }

        /// The most message bytes one `append_batch` call sends (default 64 MiB; see
        /// [`Limits::max_append_batch`]).
        pub fn max_append_batch(bytes: u64) { self.limits.max_append_batch = bytes }
    }

    /// All limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.response_size_set = true;
        self
    }
}
