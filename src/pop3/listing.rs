//! Bounded POP3 listings (`CAPA`, `LIST`, `UIDL`): the decoded content of a multi-line
//! answer is split into lines and each line is parsed into an entry as it arrives, so the
//! listing itself is never held whole and what is held stays bounded. Pure: no I/O.
//!
//! Two bounds apply, both from [`Limits`]:
//!
//! - a line (line end included) may not be longer than `max_line_length`;
//! - the entries parsed so far may not take more than `max_listing_size` bytes of memory
//!   ([`Entry::footprint`]: the entry itself and what it owns on the heap), so the number of
//!   entries is bounded too, whatever the server claims (a `STAT` count, message numbers)
//!   and however short its lines are.
//!
//! The bytes received for a listing are bounded by the session, which feeds at most
//! `max_listing_size` of them to the decoder.

use std::io::{self, Write};
use std::mem::size_of;

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::pop3::codec::{self, Capability, ListEntry, UidlEntry};

/// What the lines of a listing become.
pub(crate) trait Entry: Sized {
    /// The command whose answer this is, as named in errors.
    const COMMAND: &'static str;

    /// Parses one content line, without its line end; `None` for a line that carries no
    /// entry (a blank line).
    fn parse(line: &[u8]) -> Result<Option<Self>>;

    /// The bytes the entry occupies in memory, including what it owns on the heap.
    fn footprint(&self) -> usize;
}

impl Entry for ListEntry {
    const COMMAND: &'static str = "LIST";

    fn parse(line: &[u8]) -> Result<Option<Self>> {
        codec::parse_list_content_line(line)
    }

    fn footprint(&self) -> usize {
        size_of::<Self>()
    }
}

impl Entry for UidlEntry {
    const COMMAND: &'static str = "UIDL";

    fn parse(line: &[u8]) -> Result<Option<Self>> {
        codec::parse_uidl_content_line(line)
    }

    fn footprint(&self) -> usize {
        size_of::<Self>().saturating_add(self.uid.len())
    }
}

impl Entry for Capability {
    const COMMAND: &'static str = "CAPA";

    fn parse(line: &[u8]) -> Result<Option<Self>> {
        Ok(codec::parse_capa_line(line))
    }

    fn footprint(&self) -> usize {
        let args: usize = self
            .args
            .iter()
            .map(|a| size_of::<String>().saturating_add(a.len()))
            .sum();
        size_of::<Self>()
            .saturating_add(self.name.len())
            .saturating_add(self.raw_args.len())
            .saturating_add(args)
    }
}

/// Collects the entries of one listing from its decoded content, written in any chunks
/// (it is a [`Write`], so the multi-line decoder writes straight into it).
///
/// A write that breaks a bound fails at once with an I/O error; the typed error is kept and
/// handed out by [`take_failure`](Self::take_failure). A line that does not parse does not
/// stop the answer: the rest is read and discarded (still bounded by the session), and
/// [`finish`](Self::finish) reports the first such line, so a connection that drops
/// halfway is reported as the drop, as when the listing was parsed whole.
pub(crate) struct Listing<T> {
    entries: Vec<T>,
    /// The current line so far, line end included once it arrived.
    line: Vec<u8>,
    /// The summed footprint of `entries`.
    footprint: usize,
    max_footprint: u64,
    max_line: usize,
    /// Why a write failed, until taken.
    failure: Option<Error>,
    /// Whether a write failed: every later write fails too.
    refused: bool,
    /// The first line that did not parse; everything after it is discarded.
    malformed: Option<Error>,
}

impl<T: Entry> Listing<T> {
    /// An empty listing bounded by `limits`.
    pub(crate) fn new(limits: &Limits) -> Listing<T> {
        Listing {
            entries: Vec::new(),
            line: Vec::new(),
            footprint: 0,
            max_footprint: limits.max_listing_size,
            max_line: limits.max_line_length,
            failure: None,
            refused: false,
            malformed: None,
        }
    }

    /// The bytes held now: the entries and the partial line.
    pub(crate) fn held(&self) -> usize {
        self.footprint.saturating_add(self.line.len())
    }

    /// The error that made a write fail, if one did.
    pub(crate) fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    /// The entries, once the decoder saw the terminator (a last line without line end,
    /// which a decoder never produces, is parsed too).
    pub(crate) fn finish(mut self) -> Result<Vec<T>> {
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        if self.refused {
            return Err(Error::protocol(
                format!("the answer to {} was refused earlier", T::COMMAND),
                &[],
                0,
            ));
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.add(&line)?;
        }
        match self.malformed {
            Some(e) => Err(e),
            None => Ok(self.entries),
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        if self.malformed.is_some() {
            return Ok(());
        }
        while !bytes.is_empty() {
            let (part, rest, complete) = match bytes.iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    let (part, rest) = bytes.split_at(lf.saturating_add(1));
                    (part, rest, true)
                }
                None => (bytes, &[][..], false),
            };
            if self.line.len().saturating_add(part.len()) > self.max_line {
                return Err(Error::LimitExceeded {
                    what: format!(
                        "a line of the answer to {} (Limits::max_line_length)",
                        T::COMMAND
                    ),
                    limit: self.max_line,
                });
            }
            if !complete {
                self.line.extend_from_slice(part);
            } else if self.line.is_empty() {
                // The common case: a whole line in one chunk, parsed where it is.
                self.add(part)?;
            } else {
                self.line.extend_from_slice(part);
                let mut line = std::mem::take(&mut self.line);
                let added = self.add(&line);
                line.clear();
                self.line = line;
                added?;
            }
            if self.malformed.is_some() {
                self.line = Vec::new();
                return Ok(());
            }
            bytes = rest;
        }
        Ok(())
    }

    /// Parses one line (its line end, if any, is removed) and keeps its entry, if it has
    /// one and it fits.
    fn add(&mut self, line: &[u8]) -> Result<()> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let entry = match T::parse(line) {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok(()),
            Err(e) => {
                // Kept for the end of the answer; nothing more is parsed or held.
                self.malformed = Some(e);
                self.entries = Vec::new();
                self.footprint = 0;
                return Ok(());
            }
        };
        let footprint = self.footprint.saturating_add(entry.footprint());
        if footprint as u64 > self.max_footprint {
            return Err(Error::LimitExceeded {
                what: format!(
                    "the entries parsed from the answer to {} (their memory; Limits::max_listing_size)",
                    T::COMMAND
                ),
                limit: usize::try_from(self.max_footprint).unwrap_or(usize::MAX),
            });
        }
        self.footprint = footprint;
        self.entries.push(entry);
        Ok(())
    }
}

impl<T: Entry> Write for Listing<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.refused {
            return Err(io::Error::other("the listing was already refused"));
        }
        match self.feed(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.refused = true;
                self.failure = Some(e);
                Err(io::Error::other("the listing was refused"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(listing: u64, line: usize) -> Limits {
        Limits {
            max_listing_size: listing,
            max_line_length: line,
            ..Limits::default()
        }
    }

    fn feed_in_chunks<T: Entry>(
        listing: &mut Listing<T>,
        content: &[u8],
        chunk: usize,
    ) -> Result<()> {
        for piece in content.chunks(chunk.max(1)) {
            if listing.write_all(piece).is_err() {
                return Err(listing.take_failure().unwrap());
            }
        }
        Ok(())
    }

    #[test]
    fn entries_parse_in_any_chunks() {
        let content = b"1 120\r\n\r\n2 200\n  \r\n3 0\r\n";
        for chunk in [1, 2, 3, 7, content.len()] {
            let mut listing = Listing::<ListEntry>::new(&Limits::default());
            feed_in_chunks(&mut listing, content, chunk).unwrap();
            let entries = listing.finish().unwrap();
            assert_eq!(
                entries,
                codec::parse_list(content).unwrap(),
                "chunk {chunk}"
            );
            assert_eq!(entries.len(), 3);
        }
        let mut uidl = Listing::<UidlEntry>::new(&Limits::default());
        feed_in_chunks(&mut uidl, b"1 a\r\n2 bb\r\n", 3).unwrap();
        assert_eq!(uidl.held(), 2 * size_of::<UidlEntry>() + 3);
        assert_eq!(uidl.finish().unwrap()[1].uid, "bb");
        let mut capa = Listing::<Capability>::new(&Limits::default());
        feed_in_chunks(&mut capa, b"TOP\r\nSASL PLAIN LOGIN\r\n\r\n", 4).unwrap();
        let caps = codec::Capabilities::from_list(capa.finish().unwrap());
        assert_eq!(caps.sasl_mechanisms(), ["PLAIN", "LOGIN"]);
    }

    #[test]
    fn a_bad_line_is_reported_at_the_end() {
        let mut listing = Listing::<UidlEntry>::new(&Limits::default());
        let content = b"1 a\r\n99999999999999999999999999999 b\r\n2 c\r\n3 \x01\r\n";
        feed_in_chunks(&mut listing, content, 5).unwrap();
        // What follows is discarded, not held.
        assert_eq!(listing.held(), 0);
        match listing.finish() {
            Err(Error::Protocol { message, .. }) => {
                assert!(
                    message.contains("out of range"),
                    "the first bad line: {message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refused_listing_refuses_every_later_write() {
        let mut listing = Listing::<UidlEntry>::new(&limits(1 << 20, 1024));
        assert!(listing.write(&[b'u'; 2000]).is_err());
        assert!(matches!(
            listing.take_failure(),
            Some(Error::LimitExceeded { .. })
        ));
        assert!(listing.write(b"2 c\r\n").is_err());
        assert!(listing.finish().is_err());
    }

    #[test]
    fn the_entries_memory_is_bounded() {
        // Short lines, big entries: bounded by their footprint, not by the bytes received.
        let limit = 4096u64;
        let mut listing = Listing::<ListEntry>::new(&limits(limit, 1 << 20));
        let mut content = Vec::new();
        for n in 1..=10_000u32 {
            content.extend_from_slice(format!("{n} 1\n").as_bytes());
        }
        match feed_in_chunks(&mut listing, &content, 4096) {
            Err(Error::LimitExceeded { what, limit: l }) => {
                assert_eq!(l as u64, limit);
                assert!(
                    what.contains("LIST") && what.contains("max_listing_size"),
                    "{what}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(listing.held() as u64 <= limit + 4096);
        assert!(listing.entries.len() <= limit as usize / size_of::<ListEntry>());
    }

    #[test]
    fn a_long_line_is_refused_before_it_is_held() {
        let mut listing = Listing::<UidlEntry>::new(&limits(1 << 30, 1024));
        let mut content = b"1 ".to_vec();
        content.extend(std::iter::repeat_n(b'u', 10_000));
        match feed_in_chunks(&mut listing, &content, 100) {
            Err(Error::LimitExceeded { what, limit }) => {
                assert_eq!(limit, 1024);
                assert!(what.contains("line") && what.contains("UIDL"), "{what}");
            }
            other => panic!("{other:?}"),
        }
        assert!(listing.held() <= 1024);
        // A line of exactly the limit (line end included) is fine.
        let mut listing = Listing::<UidlEntry>::new(&limits(1 << 30, 1024));
        let mut line = b"1 ".to_vec();
        line.extend(std::iter::repeat_n(b'u', 1020));
        line.extend_from_slice(b"\r\n");
        assert_eq!(line.len(), 1024);
        feed_in_chunks(&mut listing, &line, 7).unwrap();
        assert_eq!(listing.finish().unwrap()[0].uid.len(), 1020);
    }
}
