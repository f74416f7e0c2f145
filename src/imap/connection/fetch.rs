//! `ImapConnection` calls that fetch messages: whole, metadata, headers, parts, ranges, to a writer.

use super::*;

/// What to fetch for each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FetchWhat {
    /// Flags, size, internal date, envelope and body structure; no content.
    #[default]
    Metadata,
    /// The whole message (`BODY.PEEK[]`: does not set `\Seen`) and the flags, size and
    /// internal date.
    Full,
    /// The header block only (`BODY.PEEK[HEADER]`), with flags, size and internal date.
    Headers,
}

/// The items of a fetch of `what` on a server with `caps`: `PREVIEW` with the metadata,
/// `EMAILID` / `THREADID` (OBJECTID) and Gmail's ids and labels (X-GM-EXT-1) with every
/// kind, each only where offered.
fn fetch_items(what: FetchWhat, caps: &Capabilities) -> Vec<FetchAttr> {
    let mut items = vec![
        FetchAttr::Uid,
        FetchAttr::Flags,
        FetchAttr::Rfc822Size,
        FetchAttr::InternalDate,
    ];
    if caps.has("OBJECTID") {
        items.extend([FetchAttr::EmailId, FetchAttr::ThreadId]);
    }
    if caps.has("X-GM-EXT-1") {
        items.extend([
            FetchAttr::GmailMessageId,
            FetchAttr::GmailThreadId,
            FetchAttr::GmailLabels,
        ]);
    }
    let preview = caps.has("PREVIEW");
    match what {
        FetchWhat::Metadata => {
            items.push(FetchAttr::Envelope);
            items.push(FetchAttr::BodyStructure);
            if preview {
                items.push(FetchAttr::Preview);
            }
        }
        FetchWhat::Full => items.push(FetchAttr::full_message()),
        FetchWhat::Headers => items.push(FetchAttr::peek(Section::header())),
    }
    items
}

/// Turns a fetch's FETCH responses into `Message`s as they arrive (the hook of
/// `Session::run_pipelined_taking`).
struct Collector<'s, 'p> {
    wanted: &'s SequenceSet,
    messages: Vec<Message>,
    /// The metadata of the message whose body was asked for with `Take::Part`.
    pending: Option<MessageMeta>,
    /// Told after each message.
    progress: Option<&'p mut dyn FnMut(Progress)>,
    done: Progress,
    /// `UTF8=ACCEPT` is on: Gmail labels come in UTF-8, not modified UTF-7.
    utf8: bool,
}

impl<'s, 'p> Collector<'s, 'p> {
    fn new(
        wanted: &'s SequenceSet,
        progress: Option<&'p mut dyn FnMut(Progress)>,
        utf8: bool,
    ) -> Self {
        let hint = wanted.len().unwrap_or(0).min(256);
        Collector {
            wanted,
            messages: Vec::with_capacity(usize::try_from(hint).unwrap_or(256)),
            pending: None,
            progress,
            done: Progress {
                total_messages: wanted.len(),
                ..Progress::default()
            },
            utf8,
        }
    }

    fn keep(&mut self, message: Message) {
        let now = self.done.advance(message.raw().len());
        self.messages.push(message);
        if let Some(progress) = self.progress.as_mut() {
            progress(now);
        }
    }

    fn offer(&mut self, offer: Offer<'_>) -> Result<Take> {
        let bytes = match offer {
            Offer::Part(raw) => {
                if let Some(meta) = self.pending.take() {
                    self.keep(Message::with_meta(raw, meta));
                }
                return Ok(Take::Yes);
            }
            Offer::Frame(bytes) => bytes,
        };
        // Unsolicited FETCHes (another client's flag change) lack a wanted UID: they take
        // the general path.
        let Some(parts) =
            parse_fetch(bytes)?.filter(|p| p.uid.is_some_and(|uid| self.wanted.contains(uid)))
        else {
            return Ok(Take::No);
        };
        let (meta, content) = split_parts(parts, self.utf8);
        let raw = match content {
            // Still in the read buffer: ask for it (moved rather than copied when large).
            Some(Cow::Borrowed(body)) => match range_within(bytes, body) {
                Some(range) => {
                    self.pending = Some(meta);
                    return Ok(Take::Part(range));
                }
                None => body.to_vec(),
            },
            other => other.map(Cow::into_owned).unwrap_or_default(),
        };
        self.keep(Message::with_meta(raw, meta));
        Ok(Take::Yes)
    }
}

/// A FETCH response's metadata, and its message data; `utf8`: Gmail labels are UTF-8
/// (`UTF8=ACCEPT`), else modified UTF-7.
fn split_parts(parts: FetchParts<'_>, utf8: bool) -> (MessageMeta, Option<Cow<'_, [u8]>>) {
    let mut meta = MessageMeta {
        uid: parts.uid,
        seq: Some(parts.seq),
        flags: parts.flags.unwrap_or_default(),
        internal_date: parts.internal_date,
        size: parts.size,
        envelope: parts.envelope.map(|e| Box::new(meta::envelope(*e))),
        body_structure: parts.body_structure,
        mod_seq: parts.mod_seq,
        ..MessageMeta::default()
    };
    for item in parts.other {
        match item {
            FetchData::Preview(text) => meta.preview = meta.preview.take().or(text),
            FetchData::EmailId(id) => meta.email_id = Some(id),
            FetchData::ThreadId(id) => meta.thread_id = id,
            FetchData::GmMsgId(id) => meta.gmail_message_id = Some(id),
            FetchData::GmThrId(id) => meta.gmail_thread_id = Some(id),
            FetchData::GmLabels(labels) => {
                meta.gmail_labels = Some(labels.iter().map(|l| gmail_label(l, utf8)).collect())
            }
            _ => {}
        }
    }
    (meta, parts.content)
}

/// A Gmail label as sent, as text: a system label (`\Inbox`) as it is, any other decoded
/// like a mailbox name (modified UTF-7, or UTF-8 after `UTF8=ACCEPT`).
fn gmail_label(raw: &[u8], utf8: bool) -> String {
    if utf8 || raw.starts_with(b"\\") {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        utf7::decode_lenient(raw)
    }
}

/// Where `part` (a slice borrowed from `whole`) lies in `whole`.
fn range_within(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

impl ImapConnection {
    /// Fetches the messages with these UIDs (whole content, flags, size, internal date), in
    /// ascending UID order; UIDs that do not exist are skipped. Many UIDs are fetched with
    /// a few pipelined commands, not one round trip each. Does not set `\Seen`.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, SearchQuery};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let uids = conn.search("INBOX", &SearchQuery::unseen())?;
    /// for m in conn.fetch_messages("INBOX", &uids)? {
    ///     println!("{:?} {:?}", m.subject(), m.text_body());
    ///     for a in m.attachments() {
    ///         println!("  {:?} {} bytes", a.filename(), a.size());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_messages(&self, folder: &str, uids: impl Into<Uids>) -> Result<Vec<Message>> {
        self.fetch(folder, uids, FetchWhat::Full)
    }

    /// Fetches one whole message by UID, `None` if there is no such message.
    pub fn fetch_message(&self, folder: &str, uid: impl Into<Uid>) -> Result<Option<Message>> {
        Ok(self
            .fetch(folder, uid.into(), FetchWhat::Full)?
            .into_iter()
            .next())
    }

    /// Fetches metadata only: flags, size, internal date, envelope and body structure.
    pub fn fetch_metadata(&self, folder: &str, uids: impl Into<Uids>) -> Result<Vec<Message>> {
        self.fetch(folder, uids, FetchWhat::Metadata)
    }

    /// Fetches the header blocks only.
    pub fn fetch_headers(&self, folder: &str, uids: impl Into<Uids>) -> Result<Vec<Message>> {
        self.fetch(folder, uids, FetchWhat::Headers)
    }

    /// Fetches `what` for the messages with these UIDs, in ascending UID order. UIDs read
    /// under another UIDVALIDITY than the folder's are refused with
    /// [`Error::UidValidityChanged`] before anything is fetched (see [`Uids`]).
    pub fn fetch(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        let uids = uids.into();
        let set = uids.set().difference(&SequenceSet::single(0));
        self.fetch_set(folder, set, uids.validity(), what, None)
    }

    /// [`fetch`](Self::fetch), telling `progress` after each message has arrived: the
    /// messages and bytes so far, and how many UIDs were asked for (see [`Progress`]).
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, FetchWhat, SearchQuery};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// let uids = conn.search("INBOX", &SearchQuery::all())?;
    /// let messages = conn.fetch_with_progress("INBOX", &uids, FetchWhat::Full, &mut |p| {
    ///     let total = p.total_messages.map_or("?".to_string(), |t| t.to_string());
    ///     eprintln!("{}/{total} messages, {} bytes", p.messages, p.bytes);
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn fetch_with_progress(
        &self,
        folder: &str,
        uids: impl Into<Uids>,
        what: FetchWhat,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Message>> {
        let uids = uids.into();
        let set = uids.set().difference(&SequenceSet::single(0));
        self.fetch_set(folder, set, uids.validity(), what, Some(progress))
    }

    fn fetch_set(
        &self,
        folder: &str,
        set: SequenceSet,
        carried: Option<u32>,
        what: FetchWhat,
        progress: Option<&mut dyn FnMut(Progress)>,
    ) -> Result<Vec<Message>> {
        if set.is_empty() {
            return Ok(Vec::new());
        }
        let memory = self.validities();
        self.cancellable("fetching messages", |s| {
            ensure_acting(s, &memory, folder, carried)?;
            let items = fetch_items(what, s.capabilities());
            let commands: Vec<Command> = set
                .chunks(MAX_SET_LEN)
                .map(|chunk| Command::uid_fetch(chunk, items.clone()))
                .collect();
            // Every FETCH is turned into its Message as it arrives, so no response
            // outlives its parse (the memory of one is reused for the next).
            let mut collector = Collector::new(&set, progress, s.utf8_accept());
            s.soliciting(set.clone(), |s| {
                for window in commands.chunks(PIPELINE_WINDOW) {
                    let (_, completions) =
                        s.run_pipelined_taking(window, &mut |offer| collector.offer(offer))?;
                    for c in completions {
                        c.into_result("UID FETCH")?;
                    }
                }
                Ok(())
            })?;
            let mut messages = collector.messages;
            messages.sort_by_key(|m| m.uid());
            messages.dedup_by_key(|m| m.uid());
            Ok(messages)
        })
    }

    /// Fetches `what` for every message whose UID is in `uids` (e.g. `100..=200`, or
    /// `first..=u32::MAX` for everything from `first` on), in ascending UID order: one
    /// `UID FETCH first:last`, without searching first. UIDs that do not exist are simply
    /// absent from the result. An empty range (`start > end`) is
    /// [`Error::InvalidInput`]; UID 0 does not exist and is skipped.
    ///
    /// ```no_run
    /// # use mailwire::imap::{ImapConnection, FetchWhat};
    /// # fn demo(conn: &ImapConnection) -> mailwire::Result<()> {
    /// for m in conn.fetch_uid_range("INBOX", 1000..=u32::MAX, FetchWhat::Metadata)? {
    ///     println!("{:?} {:?}", m.uid(), m.subject());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_uid_range(
        &self,
        folder: &str,
        uids: RangeInclusive<u32>,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        let (first, last) = (*uids.start(), *uids.end());
        if first > last {
            return Err(Error::invalid(
                "UID range",
                format!("{first}..={last} is empty (the start is after the end)"),
            ));
        }
        let set = SequenceSet::range(first.max(1), last.max(1));
        self.fetch_set(folder, set, None, what, None)
    }

    /// The newest `count` messages of `folder` (highest UIDs), fetching `what`.
    pub fn fetch_newest(
        &self,
        folder: &str,
        count: usize,
        what: FetchWhat,
    ) -> Result<Vec<Message>> {
        let all = self.search(folder, &SearchQuery::all())?;
        self.fetch(folder, all.newest(count), what)
    }

    /// Fetches one MIME part (`path` as in [`Part::path`](crate::Part::path), e.g. `[2, 1]`)
    /// of a message, still transfer-encoded. `None` if there is no such message.
    pub fn fetch_part(
        &self,
        folder: &str,
        uid: impl Into<Uid>,
        path: &[u32],
    ) -> Result<Option<Vec<u8>>> {
        self.fetch_section(
            folder,
            uid.into(),
            FetchAttr::peek(Section::part(path.to_vec())),
        )
    }

    /// Fetches one MIME part like [`fetch_part`](Self::fetch_part), decoded by the server:
    /// `BINARY.PEEK[path]` (RFC 3516) returns the part with its
    /// Content-Transfer-Encoding (base64, quoted-printable) removed, so an attachment
    /// comes back as its original bytes. `None` if there is no such message (or the
    /// server sends `NIL` for the part). Does not set `\Seen`.
    ///
    /// Needs `BINARY`: without it the call fails with [`Error::InvalidInput`] before
    /// anything is sent (fetch with [`fetch_part`](Self::fetch_part) and decode the part
    /// yourself, e.g. through [`Message::parts`](crate::Message::parts)). A server that
    /// cannot decode the part's encoding answers `NO [UNKNOWN-CTE]`
    /// ([`Error::Server`]).
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> Result<(), Box<dyn std::error::Error>> {
    /// if let Some(pdf) = conn.fetch_part_binary("INBOX", 42, &[2])? {
    ///     std::fs::write("attachment.pdf", pdf)?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_part_binary(
        &self,
        folder: &str,
        uid: impl Into<Uid>,
        path: &[u32],
    ) -> Result<Option<Vec<u8>>> {
        let uid = uid.into();
        let (validity, uid) = (uid.validity(), uid.uid());
        let memory = self.validities();
        self.cancellable("fetching a decoded message part", |s| {
            if !s.capabilities().has("BINARY") {
                return Err(Error::invalid(
                    "fetch_part_binary",
                    "the server does not offer BINARY (RFC 3516); use fetch_part and decode the part's Content-Transfer-Encoding",
                ));
            }
            ensure_acting(s, &memory, folder, validity)?;
            let set = SequenceSet::single(uid);
            let command = Command::uid_fetch(
                set.clone(),
                [
                    FetchAttr::Uid,
                    FetchAttr::Binary {
                        part: path.to_vec(),
                        partial: None,
                        peek: true,
                    },
                ],
            );
            let c = s.soliciting(set, |s| run_ok(s, &command))?;
            Ok(c.untagged.into_iter().find_map(|u| match u {
                Untagged::Fetch { items, .. } if items.contains(&FetchData::Uid(uid)) => {
                    items.into_iter().find_map(|i| match i {
                        FetchData::Binary { data, .. } => data,
                        _ => None,
                    })
                }
                _ => None,
            }))
        })
    }

    /// Fetches `len` bytes of a message starting at byte `offset` (a partial fetch).
    pub fn fetch_range(
        &self,
        folder: &str,
        uid: impl Into<Uid>,
        offset: u32,
        len: u32,
    ) -> Result<Option<Vec<u8>>> {
        self.fetch_section(
            folder,
            uid.into(),
            FetchAttr::Body {
                section: Section::full(),
                partial: Some(Partial { offset, count: len }),
                peek: true,
            },
        )
    }

    fn fetch_section(&self, folder: &str, uid: Uid, item: FetchAttr) -> Result<Option<Vec<u8>>> {
        let memory = self.validities();
        let set = SequenceSet::single(uid.uid());
        self.cancellable("fetching a message section", |s| {
            ensure_acting(s, &memory, folder, uid.validity())?;
            let command = Command::uid_fetch(set.clone(), [FetchAttr::Uid, item]);
            // Read like a fetch of messages: a large section is handed over from the read
            // buffer, not copied.
            let mut collector = Collector::new(&set, None, false);
            s.soliciting(set.clone(), |s| {
                let (_, completions) = s
                    .run_pipelined_taking(std::slice::from_ref(&command), &mut |offer| {
                        collector.offer(offer)
                    })?;
                completions
                    .into_iter()
                    .try_for_each(|c| c.into_result("UID FETCH").map(drop))
            })?;
            Ok(collector.messages.pop().map(Message::into_raw))
        })
    }

    /// Streams a whole message to `writer` as it arrives, never holding it in memory (a
    /// 50 MB message costs a 64 KiB buffer). Returns the number of bytes written, or `None`
    /// if there is no message with this UID. Does not set `\Seen`.
    ///
    /// ```no_run
    /// # use mailwire::imap::ImapConnection;
    /// # fn demo(conn: &ImapConnection) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut file = std::io::BufWriter::new(std::fs::File::create("message.eml")?);
    /// match conn.fetch_to_writer("INBOX", 42, &mut file)? {
    ///     Some(bytes) => println!("saved {bytes} bytes"),
    ///     None => println!("no message with UID 42"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_to_writer(
        &self,
        folder: &str,
        uid: impl Into<Uid>,
        writer: &mut dyn Write,
    ) -> Result<Option<u64>> {
        let uid = uid.into();
        let (validity, uid) = (uid.validity(), uid.uid());
        let memory = self.validities();
        // Stops at the next chunk on a cancel, not after what the socket already holds.
        let writer = &mut crate::cancel::CheckedWriter::new(writer, self.cancel_token());
        self.cancellable("streaming a message", |s| {
            ensure_acting(s, &memory, folder, validity)?;
            let command = Command::uid_fetch(
                SequenceSet::single(uid),
                [FetchAttr::Uid, FetchAttr::full_message()],
            );
            let set = SequenceSet::single(uid);
            let (c, written) =
                s.soliciting(set.clone(), |s| s.run_streaming(&command, 0, writer))?;
            let c = c.into_result("UID FETCH")?;
            let found = c.untagged.iter().any(
                |u| matches!(u, Untagged::Fetch { items, .. } if items.contains(&FetchData::Uid(uid))),
            );
            Ok(found.then_some(written))
        })
    }
}
