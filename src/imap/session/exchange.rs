//! The command / response cycle: tags, sending, continuation requests, reading and filing responses, streaming and pipelining.

use super::*;

/// Numbers the saved search results of the whole process, so that a handle never matches
/// the result of another connection or a later search.
static SAVED_SEARCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Whether `command` resets or replaces the saved search result `$` (RFC 5182 §2.1:
/// SELECT, EXAMINE, CLOSE, UNSELECT and LOGOUT reset it, a `SEARCH ... RETURN (SAVE)`
/// replaces it, also when it fails). A command this library does not model may do anything.
fn touches_saved_search(command: &Command) -> bool {
    match command {
        Command::Select { .. }
        | Command::Examine { .. }
        | Command::Close
        | Command::Unselect
        | Command::Logout
        | Command::RawExtension { .. } => true,
        Command::Search { returns, .. } => returns
            .as_deref()
            .is_some_and(|r| r.contains(&crate::imap::codec::SearchReturn::Save)),
        _ => false,
    }
}

impl Session {
    /// The handle number of the current saved search result (see
    /// [`keep_saved_search`](Self::keep_saved_search)), `None` once anything reset it.
    pub(crate) fn saved_search(&self) -> Option<u64> {
        self.saved_search
    }

    /// Records that the search just completed on the selected folder is the saved result
    /// from now on; returns its handle number, unique in the process. Any later command
    /// that resets or replaces `$` forgets it.
    pub(crate) fn keep_saved_search(&mut self) -> u64 {
        let id = SAVED_SEARCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.saved_search = Some(id);
        id
    }

    pub(super) fn tag(&mut self) -> String {
        let tag = format!("A{}", self.next_tag);
        self.next_tag = self.next_tag.wrapping_add(1);
        tag
    }

    /// Sends `command` and reads until its completion. A `NO` or `BAD` completion is
    /// returned as such (see [`Completion::into_result`]); errors are transport, protocol,
    /// limit or encoding failures (the latter before anything was sent).
    pub(crate) fn run(&mut self, command: &Command) -> Result<Completion> {
        self.run_to(command, &mut refuse_continuation, None)
    }

    /// Like [`run`](Self::run); `on_continuation` answers continuation requests that are
    /// not for a literal of the command (SASL challenges).
    pub(crate) fn run_with(
        &mut self,
        command: &Command,
        mut on_continuation: impl FnMut(&str, &Continuation) -> Result<EncodedCommand>,
    ) -> Result<Completion> {
        self.run_to(command, &mut on_continuation, None)
    }

    /// Encodes, sends and completes `command`; literals the framer streams go to `sink`.
    fn run_to<'s>(
        &mut self,
        command: &Command,
        on_continuation: &mut dyn FnMut(&str, &Continuation) -> Result<EncodedCommand>,
        sink: Option<&mut (dyn Write + 's)>,
    ) -> Result<Completion> {
        self.ensure_usable()?;
        if touches_saved_search(command) {
            self.saved_search = None;
        }
        self.start_turn();
        let tag = self.tag();
        let encoded = command.encode(&tag, &self.encode_options)?;
        let name = command.name().to_string();
        let result = self.exchange(&tag, &name, &encoded, on_continuation, sink);
        self.guard(result)
    }

    /// Sends an encoded command and reads until its completion. Literals the framer is told
    /// to stream go to `sink`.
    fn exchange<'s>(
        &mut self,
        tag: &str,
        name: &str,
        encoded: &EncodedCommand,
        on_continuation: &mut dyn FnMut(&str, &Continuation) -> Result<EncodedCommand>,
        mut sink: Option<&mut (dyn Write + 's)>,
    ) -> Result<Completion> {
        // Every part but the last ends with a synchronizing literal announcement: the next
        // part goes out when the server sends its continuation.
        let mut parts = encoded.parts().iter();
        if let Some(first) = parts.next() {
            self.transport.send(first, encoded.trace_text())?;
        }
        let mut untagged = Vec::new();
        loop {
            let response = match Completion::of(
                self.read_response_to(name, sink.as_deref_mut(), None)?,
                tag,
            ) {
                // Also a NO / BAD that refuses a literal before it was sent.
                Ok(completion) => {
                    return Ok(Completion {
                        untagged,
                        ..completion
                    });
                }
                Err(other) => other,
            };
            match response {
                Response::Tagged { tag: t, .. } => {
                    return Err(Error::protocol(
                        format!("completion for unknown tag {t:?} while waiting for {tag}"),
                        &[],
                        0,
                    ));
                }
                Response::Continuation(c) => match parts.next() {
                    Some(part) => self.transport.send(part, "<literal continued>")?,
                    None => {
                        let answer = on_continuation(name, &c)?;
                        for part in answer.parts() {
                            self.transport.send(part, answer.trace_text())?;
                        }
                    }
                },
                Response::Untagged(u) => {
                    self.absorb_for(name, Response::Untagged(u), &mut untagged)?
                }
            }
        }
    }

    /// Like [`absorb`](Self::absorb), for a response that arrived while `command` runs: an
    /// untagged `BYE` (except during LOGOUT) ends the wait at once with
    /// [`Error::Server`] (status `Bye`) instead of waiting for a completion that will not
    /// come; the connection is then unusable.
    pub(super) fn absorb_for(
        &mut self,
        command: &str,
        response: Response,
        untagged: &mut Vec<Untagged>,
    ) -> Result<()> {
        let bye = match &response {
            Response::Untagged(Untagged::Condition {
                status: Status::Bye,
                code,
                text,
            }) if command != "LOGOUT" => Some((code.as_ref().map(code_text), text.clone())),
            _ => None,
        };
        untagged.extend(self.absorb(response)?);
        match bye {
            Some((code, text)) => Err(Error::Server {
                status: ServerStatus::Bye,
                command: command.to_string(),
                code,
                text,
            }),
            None => Ok(()),
        }
    }

    /// Files an untagged response: state changes are applied, mailbox events also go to the
    /// unsolicited queue; returns it for the command's list.
    pub(super) fn absorb(&mut self, response: Response) -> Result<Option<Untagged>> {
        let Response::Untagged(u) = response else {
            return Ok(None);
        };
        let size = self.last_frame_len;
        self.hold(size)?;
        match &u {
            Untagged::Condition {
                status: Status::Bye,
                text,
                ..
            } => {
                log::debug!(target: "mailwire::imap", "[{}] server said BYE: {}", self.id(), escaped(text));
                self.state = ConnectionState::Logout;
            }
            Untagged::Condition {
                code: Some(ResponseCode::Alert),
                text,
                ..
            } => {
                log::warn!(target: "mailwire::imap", "[{}] server alert: {}", self.id(), escaped(text));
            }
            Untagged::Capability(caps) => self.caps = Capabilities::new(caps.clone()),
            Untagged::Enabled(enabled) => self.note_enabled(enabled),
            Untagged::Fetch { items, .. }
                if self.solicited_uids.as_ref().is_some_and(|set| {
                    items.iter().any(|i| {
                        matches!(i, crate::imap::types::FetchData::Uid(uid) if set.contains(*uid))
                    })
                }) => {}
            // VANISHED means something only once QRESYNC is enabled (RFC 7162 §3.2.10).
            Untagged::Vanished { .. } if !self.qresync_enabled => {}
            Untagged::Exists(_)
            | Untagged::Expunge(_)
            | Untagged::Vanished { earlier: false, .. }
            | Untagged::Recent(_)
            | Untagged::Fetch { .. }
                if self.news == News::Queued =>
            {
                self.push_unsolicited(u.clone(), size)
            }
            _ => {}
        }
        Ok(Some(u))
    }

    /// Reads one complete response (see [`Wait::Response`]).
    pub(crate) fn read_response(&mut self, operation: &str) -> Result<Response> {
        self.read_response_to(operation, None, None)
    }

    /// Reads one complete response, copying literals the framer streams to `sink` and
    /// offering complete responses to `take` first (see
    /// [`run_pipelined_taking`](Self::run_pipelined_taking)).
    fn read_response_to<'s>(
        &mut self,
        operation: &str,
        sink: Option<&mut (dyn Write + 's)>,
        take: Option<&mut TakeFrame<'_>>,
    ) -> Result<Response> {
        match self.next_response(operation, Wait::Response, sink, take)? {
            Some(response) => Ok(response),
            None => Err(Error::Timeout {
                operation: operation.to_string(),
                after: self.transport.read_timeout(),
            }),
        }
    }

    /// The one loop that turns bytes into responses: frames, reads more when needed under
    /// `wait`, and copies streamed literals to `sink`. `Ok(None)` only when a
    /// [`Wait::Poll`] deadline passed without a complete response.
    pub(super) fn next_response<'s>(
        &mut self,
        operation: &str,
        wait: Wait,
        mut sink: Option<&mut (dyn Write + 's)>,
        mut take: Option<&mut TakeFrame<'_>>,
    ) -> Result<Option<Response>> {
        loop {
            let deadline = match wait {
                Wait::Response => None,
                Wait::Until(deadline) | Wait::Poll(deadline) => Some(deadline),
            };
            match self.framer.next_frame()? {
                Some(FrameEvent::Response(frame)) => {
                    net::transport::trace_server(self.transport.id(), frame.bytes);
                    if let Some(take) = take.as_deref_mut() {
                        match take(Offer::Frame(frame.bytes))? {
                            Take::No => {}
                            Take::Yes => continue,
                            Take::Part(range) => {
                                let part = self.framer.take_from_last(range).ok_or_else(|| {
                                    Error::protocol(
                                        "a fetch asked for bytes outside its response",
                                        &[],
                                        0,
                                    )
                                })?;
                                take(Offer::Part(part))?;
                                continue;
                            }
                        }
                    }
                    self.last_frame_len = frame.bytes.len();
                    let response = parse_response(frame.bytes)?;
                    if matches!(response, Response::Tagged { .. }) {
                        // A command completed: the next read is at rest (`net::buffer`).
                        self.read_size.completed();
                    }
                    return Ok(Some(response));
                }
                Some(FrameEvent::StreamLiteral { size, .. }) => {
                    let Some(sink) = sink.as_deref_mut() else {
                        return Err(Error::protocol(
                            format!(
                                "a streamed literal outside a streaming fetch, while {operation}"
                            ),
                            &[],
                            0,
                        ));
                    };
                    log::trace!(target: net::transport::WIRE, "[{}] S: <{size} bytes of literal data streamed to the caller>", self.transport.id());
                    while self.framer.literal_remaining() > 0 {
                        let chunk = self.framer.streamed_bytes();
                        if chunk.is_empty() {
                            self.fill(deadline, operation)?;
                            continue;
                        }
                        sink.write_all(chunk).map_err(|source| Error::Io {
                            operation: "writing the message to the caller's writer".into(),
                            source,
                        })?;
                        let n = chunk.len();
                        self.streamed = self.streamed.saturating_add(n as u64);
                        self.framer.consume_streamed(n);
                    }
                }
                None => {
                    if let Wait::Poll(deadline) = wait {
                        if Instant::now() >= deadline {
                            return Ok(None);
                        }
                        match self.fill(Some(deadline), operation) {
                            Ok(_) => {}
                            Err(Error::Timeout { .. }) => return Ok(None),
                            Err(e) => return Err(e),
                        }
                    } else {
                        self.fill(deadline, operation)?;
                    }
                }
            }
        }
    }

    fn fill(&mut self, deadline: Option<Instant>, operation: &str) -> Result<usize> {
        // The crate's buffer policy (`net::buffer`): small and given back at rest, large
        // chunks while an answer arrives.
        let at_rest = self.framer.is_idle();
        let (size, release) = self.read_size.next(at_rest);
        if release {
            self.framer.release_storage(buffer::KEEP_AT_REST);
            self.transport.release_line_buffer(buffer::KEEP_AT_REST);
        }
        self.framer.make_room(size)?;
        let mut reader = DeadlineReader {
            transport: &mut self.transport,
            deadline,
            operation,
            error: None,
        };
        match self.framer.read_from(&mut reader, size) {
            Ok(n) => {
                self.read_size.after_read(size, n);
                self.peak_buffered = self.peak_buffered.max(self.framer.buffered_len());
                self.bytes_received = self.bytes_received.saturating_add(n as u64);
                Ok(n)
            }
            Err(e) => Err(reader.error.take().unwrap_or(Error::Io {
                operation: operation.to_string(),
                source: e,
            })),
        }
    }

    /// Runs `command`, whose response carries literals that are copied to `sink` as they
    /// arrive instead of being held in memory (a literal over `threshold` bytes). Returns the
    /// completion (streamed literals read as empty) and how many bytes went to the sink.
    pub(crate) fn run_streaming(
        &mut self,
        command: &Command,
        threshold: u64,
        sink: &mut dyn Write,
    ) -> Result<(Completion, u64)> {
        self.framer.set_stream_threshold(Some(threshold));
        let before = self.streamed;
        let result = self.run_to(command, &mut refuse_continuation, Some(sink));
        self.framer.set_stream_threshold(None);
        let written = self.streamed.saturating_sub(before);
        result.map(|c| (c, written))
    }

    /// Sends independent, literal-free commands back to back and then reads all their
    /// completions: one round trip for the lot instead of one per command. Returns every
    /// untagged response received and the completions in command order. Commands that need
    /// a synchronizing literal are refused (send them with `run`).
    pub(crate) fn run_pipelined(
        &mut self,
        commands: &[Command],
    ) -> Result<(Vec<Untagged>, Vec<Completion>)> {
        self.run_pipelined_taking(commands, &mut |_| Ok(Take::No))
    }

    /// [`run_pipelined`](Self::run_pipelined), offering each complete response's bytes to
    /// `take` before they are parsed: a response it takes ([`Take::Yes`] or
    /// [`Take::Part`]) is its own and is not returned. A fetch reads its FETCH responses in place this way, with
    /// [`parse_fetch`](crate::imap::codec::parse::parse_fetch), and none outlives its parse.
    /// `take` must only take FETCH responses the command solicited: the responses it takes
    /// bypass [`absorb`](Self::absorb).
    pub(crate) fn run_pipelined_taking(
        &mut self,
        commands: &[Command],
        take: &mut TakeFrame<'_>,
    ) -> Result<(Vec<Untagged>, Vec<Completion>)> {
        self.ensure_usable()?;
        self.start_turn();
        let mut tags = Vec::with_capacity(commands.len());
        let mut wire = Vec::new();
        let mut names = Vec::with_capacity(commands.len());
        if commands.iter().any(touches_saved_search) {
            self.saved_search = None;
        }
        for command in commands {
            let tag = self.tag();
            let encoded = command.encode(&tag, &self.encode_options)?;
            if encoded.needs_continuation() {
                return Err(Error::invalid(
                    "pipelined command",
                    format!(
                        "{} needs a synchronizing literal and cannot be pipelined",
                        command.name()
                    ),
                ));
            }
            for part in encoded.parts() {
                wire.extend_from_slice(part);
            }
            names.push(command.name().to_string());
            tags.push(tag);
        }
        let result = self.pipeline_exchange(&wire, &tags, &names, take);
        self.guard(result)
    }

    fn pipeline_exchange(
        &mut self,
        wire: &[u8],
        tags: &[String],
        names: &[String],
        take: &mut TakeFrame<'_>,
    ) -> Result<(Vec<Untagged>, Vec<Completion>)> {
        let summary = format!(
            "<{} pipelined commands: {} {}…>",
            tags.len(),
            tags.first().map(String::as_str).unwrap_or(""),
            names.first().map(String::as_str).unwrap_or("")
        );
        self.transport.send(wire, &summary)?;
        let mut untagged = Vec::new();
        let mut done: Vec<Option<Completion>> = tags.iter().map(|_| None).collect();
        let mut remaining = tags.len();
        while remaining > 0 {
            let name = names
                .first()
                .map(String::as_str)
                .unwrap_or("pipelined commands");
            let response =
                match Completion::tagged(self.read_response_to(name, None, Some(&mut *take))?) {
                    Ok((tag, completion)) => {
                        let Some(i) = tags.iter().position(|t| *t == tag) else {
                            return Err(Error::protocol(
                                format!("completion for unknown tag {tag:?}"),
                                &[],
                                0,
                            ));
                        };
                        if let Some(slot) = done.get_mut(i) {
                            if slot.is_none() {
                                remaining -= 1;
                            }
                            *slot = Some(completion);
                        }
                        continue;
                    }
                    Err(other) => other,
                };
            match response {
                Response::Continuation(c) => {
                    return Err(Error::protocol(
                        format!("unexpected continuation request in a pipeline: {}", c.text),
                        &[],
                        0,
                    ));
                }
                other => self.absorb_for(name, other, &mut untagged)?,
            }
        }
        Ok((untagged, done.into_iter().flatten().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::codec::{SavedAction, SearchReturn};
    use crate::imap::search::SearchQuery;

    #[test]
    fn what_resets_the_saved_result() {
        let search = |returns: Option<Vec<SearchReturn>>| Command::Search {
            uid: true,
            query: SearchQuery::all(),
            returns,
        };
        for resets in [
            Command::select("INBOX"),
            Command::Close,
            Command::Unselect,
            Command::Logout,
            search(Some(vec![SearchReturn::Save])),
            search(Some(vec![SearchReturn::Min, SearchReturn::Save])),
            Command::raw_extension("XANYTHING", []),
        ] {
            assert!(touches_saved_search(&resets), "{resets:?}");
        }
        for keeps in [
            search(None),
            search(Some(vec![SearchReturn::Count])),
            Command::Noop,
            Command::OnSaved(SavedAction::Uids),
            Command::OnSaved(SavedAction::Expunge),
            Command::Expunge,
        ] {
            assert!(!touches_saved_search(&keeps), "{keeps:?}");
        }
    }
}
