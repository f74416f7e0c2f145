//! Reading multi-line answers: where their content goes (a caller's writer, a listing, a
//! message in memory), the raw-size limits, `RETR` / `TOP` and pipelined `RETR`.

use std::io::{self, Write};

use crate::error::{Error, Result};
use crate::message::{Message, MessageMeta};
use crate::pop3::codec::{Command, MultiLineDecoder, parse_status};
use crate::pop3::listing::{Entry, Listing};
use crate::progress::Progress;

use super::{LOG, PIPELINING_HINT, Session};

/// Where the content of a multi-line answer goes, and how many bytes of it the library
/// holds in memory (counted in [`Pop3Handler::peak_buffered_bytes`](crate::pop3::Pop3Handler::peak_buffered_bytes)).
pub(super) trait BodySink: Write {
    /// The bytes held in memory for the answer so far (0 for a caller's writer).
    fn held(&self) -> usize;
}

/// A caller's writer: what it keeps is not the library's memory.
pub(super) struct Streamed<'a>(&'a mut dyn Write);

impl Write for Streamed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl BodySink for Streamed<'_> {
    fn held(&self) -> usize {
        0
    }
}

impl<T: Entry> BodySink for Listing<T> {
    fn held(&self) -> usize {
        Listing::held(self)
    }
}

/// The bound on the bytes received for one multi-line answer: `limit` bytes, named `what`
/// in the error.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawLimit<'a> {
    pub(super) limit: u64,
    pub(super) what: &'a str,
}

/// A writer that refuses to grow past a limit.
pub(super) struct Limited<'a> {
    out: &'a mut Vec<u8>,
    limit: u64,
    exceeded: bool,
    /// The shared budget the message being read draws from while it is read, and how much
    /// of it this answer holds (given back when the answer is handed over or dropped).
    budget: Option<(&'a crate::MemoryBudget, u64)>,
    over_budget: bool,
}

impl Drop for Limited<'_> {
    fn drop(&mut self) {
        if let Some((budget, charged)) = self.budget {
            budget.release(charged);
        }
    }
}

impl BodySink for Limited<'_> {
    fn held(&self) -> usize {
        self.out.len()
    }
}

impl Write for Limited<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let total = (self.out.len() as u64).saturating_add(buf.len() as u64);
        if total > self.limit {
            self.exceeded = true;
            return Err(io::Error::other("message larger than max_literal_size"));
        }
        if let Some((budget, charged)) = &mut self.budget {
            if !budget.try_reserve(buf.len() as u64) {
                self.over_budget = true;
                return Err(io::Error::other("the shared memory budget is used up"));
            }
            *charged = charged.saturating_add(buf.len() as u64);
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Session {
    /// Reads the body of a multi-line response into `out`, in constant memory of its own.
    /// With `raw`, at most `raw.limit` bytes (as received, terminator included) are
    /// decoded: an answer that is not complete by then is [`Error::LimitExceeded`], and
    /// nothing past the limit is ever handed to `out`.
    pub(super) fn read_multi_line(
        &mut self,
        out: &mut dyn BodySink,
        operation: &str,
        raw: Option<RawLimit<'_>>,
    ) -> Result<u64> {
        let mut decoder = MultiLineDecoder::new();
        let mut received = 0u64;
        loop {
            let buffered = self.transport.buffered();
            let input = match raw {
                Some(raw) => {
                    let room = raw.limit.saturating_sub(received);
                    let take =
                        usize::try_from(room).map_or(buffered.len(), |r| r.min(buffered.len()));
                    buffered.get(..take).unwrap_or(buffered)
                }
                None => buffered,
            };
            let decoded = decoder.decode(input, &mut *out)?;
            self.transport.consume(decoded.consumed);
            received = received.saturating_add(decoded.consumed as u64);
            self.note_buffer(out.held());
            if decoded.done {
                return Ok(decoder.content_len());
            }
            if let Some(raw) = raw
                && received >= raw.limit
            {
                log::debug!(target: LOG, "[{}] {} over {} bytes", self.id(), raw.what, raw.limit);
                return Err(Error::LimitExceeded {
                    what: raw.what.to_string(),
                    limit: usize::try_from(raw.limit).unwrap_or(usize::MAX),
                });
            }
            // Under the turn deadline: a trickle cannot stretch the answer.
            self.transport.fill(operation)?;
            self.note_buffer(out.held());
        }
    }

    /// Reads the status line and, on `+OK`, the content of a multi-line answer to `command`.
    /// `hint` is appended to the operation named in timeouts and closes.
    pub(super) fn read_multi_answer(
        &mut self,
        command: &Command<'_>,
        out: &mut dyn BodySink,
        hint: &str,
        raw_limit: Option<u64>,
    ) -> Result<u64> {
        let trace = command.trace_text();
        let operation = format!("waiting for the answer to {trace}{hint}");
        let line = self.read_status_line(&operation)?;
        parse_status(&line)?.into_result(&trace)?;
        let operation = format!("reading the answer to {trace}{hint}");
        let what = format!("the answer to {trace} (a listing; Limits::max_listing_size)");
        let raw = raw_limit.map(|limit| RawLimit { limit, what: &what });
        self.read_multi_line(out, &operation, raw)
    }

    /// Reads a multi-line answer into memory: its content bounded by `max_literal_size`,
    /// and with `raw_limit` the bytes received too.
    pub(super) fn read_multi_to_vec(
        &mut self,
        command: &Command<'_>,
        hint: &str,
        raw_limit: Option<u64>,
    ) -> Result<Vec<u8>> {
        let limit = self.config.limits().max_literal_size;
        let mut out = Vec::new();
        let budget = self.config.memory_budget().cloned();
        let mut sink = Limited {
            out: &mut out,
            limit,
            exceeded: false,
            budget: budget.as_ref().map(|b| (b, 0)),
            over_budget: false,
        };
        let result = self.read_multi_answer(command, &mut sink, hint, raw_limit);
        let (exceeded, over_budget) = (sink.exceeded, sink.over_budget);
        drop(sink);
        match result {
            Ok(_) => Ok(out),
            Err(_) if over_budget => Err(Error::LimitExceeded {
                what: format!(
                    "the shared memory budget (MemoryBudget), reading the answer to {}",
                    command.trace_text()
                ),
                limit: budget.as_ref().map_or(usize::MAX, |b| {
                    usize::try_from(b.limit()).unwrap_or(usize::MAX)
                }),
            }),
            Err(_) if exceeded => Err(Error::LimitExceeded {
                what: format!(
                    "the answer to {} (a message held in memory; Limits::max_literal_size)",
                    command.trace_text()
                ),
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            }),
            Err(e) => Err(e),
        }
    }

    /// Runs a listing command (`LIST`, `UIDL`): sends it and parses its answer line by line
    /// as it arrives, bounded by `max_listing_size` (bytes received and the entries'
    /// memory) and `max_line_length`.
    pub(super) fn listing<T: Entry>(&mut self, command: Command<'_>) -> Result<Vec<T>> {
        self.send(&command)?;
        let limit = self.config.limits().max_listing_size;
        let mut listing = Listing::<T>::new(&self.config.limits());
        match self.read_multi_answer(&command, &mut listing, "", Some(limit)) {
            Ok(_) => listing.finish(),
            Err(e) => Err(listing.take_failure().unwrap_or(e)),
        }
    }

    pub(crate) fn retr(&mut self, number: u32) -> Result<Message> {
        let command = Command::Retr(number);
        self.send(&command)?;
        let raw = self.read_multi_to_vec(&command, "", None)?;
        Ok(pop3_message(raw, number))
    }

    pub(crate) fn top(&mut self, number: u32, lines: u32) -> Result<Message> {
        let command = Command::Top { number, lines };
        self.send(&command)?;
        // Headers and a few lines: a message part and a listing, so both bounds apply.
        let listing_limit = self.config.limits().max_listing_size;
        let raw = self.read_multi_to_vec(&command, "", Some(listing_limit))?;
        Ok(pop3_message(raw, number))
    }

    pub(crate) fn retr_to_writer(&mut self, number: u32, out: &mut dyn Write) -> Result<u64> {
        let command = Command::Retr(number);
        self.send(&command)?;
        self.read_multi_answer(&command, &mut Streamed(out), "", None)
    }

    /// `RETR` for each number, pipelined in windows when the server advertises PIPELINING
    /// and the options allow it, one by one otherwise. On a `-ERR` for one message the
    /// answers already requested are still read (the connection stays in step) and the
    /// first error is returned.
    /// `RETR` for each number (pipelined when the server offers it), telling `progress`
    /// after each message received.
    pub(crate) fn retr_many(
        &mut self,
        numbers: &[u32],
        mut progress: Option<&mut dyn FnMut(Progress)>,
    ) -> Result<Vec<Message>> {
        // Validate everything before sending anything.
        for &n in numbers {
            Command::Retr(n).encode()?;
        }
        let mut done = Progress {
            total_messages: u64::try_from(numbers.len()).ok(),
            ..Progress::default()
        };
        let mut tell = |message: &Message| {
            let now = done.advance(message.raw().len());
            if let Some(progress) = progress.as_mut() {
                progress(now);
            }
        };
        if !self.pipelines() || numbers.len() < 2 {
            let mut messages = Vec::with_capacity(numbers.len());
            for &n in numbers {
                let message = self.retr(n)?;
                tell(&message);
                messages.push(message);
            }
            return Ok(messages);
        }
        let window = self.options.pipeline_window.max(1);
        let refill_at = window / 2;
        let hint = format!(" ({PIPELINING_HINT})");
        log::debug!(
            target: LOG,
            "[{}] pipelining {} RETR commands, up to {window} in flight",
            self.id(),
            numbers.len()
        );
        let mut messages = Vec::with_capacity(numbers.len());
        let mut next_to_send = 0usize;
        let mut first_error: Option<Error> = None;
        for (index, &number) in numbers.iter().enumerate() {
            let in_flight = next_to_send.saturating_sub(index);
            if first_error.is_none() && in_flight <= refill_at && next_to_send < numbers.len() {
                let end = index.saturating_add(window).min(numbers.len());
                let batch = numbers.get(next_to_send..end).unwrap_or(&[]);
                let mut bytes = Vec::with_capacity(batch.len().saturating_mul(16));
                for &n in batch {
                    bytes.extend_from_slice(&Command::Retr(n).encode()?);
                }
                let trace = match (batch.first(), batch.last()) {
                    (Some(a), Some(b)) => {
                        format!("RETR {a} … RETR {b} ({} pipelined)", batch.len())
                    }
                    _ => String::new(),
                };
                self.transport.send(&bytes, &trace)?;
                next_to_send = end;
            }
            if index >= next_to_send {
                // Stopped sending after an error: nothing more in flight.
                break;
            }
            let command = Command::Retr(number);
            match self.read_multi_to_vec(&command, &hint, None) {
                Ok(raw) => {
                    let message = pop3_message(raw, number);
                    tell(&message);
                    messages.push(message);
                }
                Err(e) if e.breaks_connection() => return Err(e),
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(messages),
        }
    }
}

fn pop3_message(raw: Vec<u8>, number: u32) -> Message {
    let meta = MessageMeta {
        seq: Some(number),
        size: Some(raw.len() as u64),
        ..MessageMeta::default()
    };
    Message::with_meta(raw, meta)
}
