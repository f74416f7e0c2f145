//! The IDLE exchange (RFC 2177): start, wait for news, done.

use super::*;

impl Session {
    /// Starts IDLE: sends the command and waits for the server's continuation. Returns the
    /// tag to finish it with [`idle_done`](Self::idle_done) and the untagged responses that
    /// arrived first (the server reports what happened since the last command as soon as
    /// IDLE starts); their mailbox events are also queued as news unless the session reads
    /// news from answers.
    pub(crate) fn idle_start(&mut self) -> Result<(String, Vec<Untagged>)> {
        self.ensure_usable()?;
        self.start_turn();
        let tag = self.tag();
        let result = self.idle_start_inner(&tag);
        self.guard(result).map(|early| (tag, early))
    }

    fn idle_start_inner(&mut self, tag: &str) -> Result<Vec<Untagged>> {
        let encoded = Command::Idle.encode(tag, &self.encode_options)?;
        for part in encoded.parts() {
            self.transport.send(part, encoded.trace_text())?;
        }
        let mut early = Vec::new();
        loop {
            match self.read_response("starting IDLE")? {
                Response::Continuation(_) => {
                    self.state = ConnectionState::Idle;
                    return Ok(early);
                }
                other => match Completion::of(other, tag) {
                    Ok(c) => {
                        return c.into_result("IDLE").and_then(|_| {
                            Err(Error::protocol("the server ended IDLE at once", &[], 0))
                        });
                    }
                    Err(other) => self.absorb_for("IDLE", other, &mut early)?,
                },
            }
        }
    }

    /// Waits up to `tick` for one untagged response during IDLE (or between polls).
    /// `Ok(None)` when nothing arrived in time: the connection stays usable.
    pub(crate) fn poll_untagged(&mut self, tick: Duration) -> Result<Option<Untagged>> {
        let result = self.poll_untagged_inner(tick);
        self.guard(result)
    }

    fn poll_untagged_inner(&mut self, tick: Duration) -> Result<Option<Untagged>> {
        let deadline = Instant::now() + tick;
        match self.next_response("waiting in IDLE", Wait::Poll(deadline), None, None)? {
            None | Some(Response::Continuation(_)) => Ok(None),
            Some(Response::Untagged(u)) => {
                let absorbed = self.absorb(Response::Untagged(u));
                // Handed to the caller: no longer held for the IDLE command.
                self.start_turn();
                absorbed
            }
            Some(Response::Tagged {
                tag, status, text, ..
            }) => Err(Error::protocol(
                format!("unexpected completion {tag} {status:?} while idle: {text}"),
                &[],
                0,
            )),
        }
    }

    /// Ends IDLE: sends `DONE` and reads until the IDLE command completes, waiting at most
    /// `timeout`. Returns the untagged responses received meanwhile.
    pub(crate) fn idle_done(&mut self, tag: &str, timeout: Duration) -> Result<Vec<Untagged>> {
        let result = self.idle_done_inner(tag, timeout);
        self.guard(result)
    }

    fn idle_done_inner(&mut self, tag: &str, timeout: Duration) -> Result<Vec<Untagged>> {
        let done = codec::idle_done();
        for part in done.parts() {
            self.transport.send(part, done.trace_text())?;
        }
        let deadline = Instant::now() + timeout;
        let mut untagged = Vec::new();
        loop {
            let response = self
                .next_response(
                    "waiting for the end of IDLE",
                    Wait::Until(deadline),
                    None,
                    None,
                )?
                .ok_or_else(|| Error::Timeout {
                    operation: "waiting for the end of IDLE".into(),
                    after: timeout,
                })?;
            match Completion::of(response, tag) {
                Ok(c) => {
                    if self.state == ConnectionState::Idle {
                        self.state = ConnectionState::Selected;
                    }
                    c.into_result("IDLE")?;
                    return Ok(untagged);
                }
                Err(other) => self.absorb_for("IDLE", other, &mut untagged)?,
            }
        }
    }
}
