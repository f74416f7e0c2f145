//! The MIME walk: one forward pass over the message that finds every leaf part.
//!
//! The multiparts that enclose the current position are kept on a stack with their
//! boundaries; each line is read once and, when it starts with `--`, compared with those
//! boundaries, outermost first (an enclosing boundary always ends what it encloses, as
//! RFC 2046 requires). A recursive walk that splits each multipart and then splits each
//! part again reads a byte once per level of nesting around it; this one reads it once.
//!
//! The walk is capped: at most [`Message::MAX_PARTS`] parts are read (leaves and
//! multiparts; the rest of the message is left unread), multiparts nest at most
//! [`Message::MAX_NESTING`] deep (deeper ones are skipped), and each part's header block is
//! indexed up to [`Message::MAX_HEADER_FIELDS`] fields. Each cap that is hit is reported
//! once as a [`MimeError`].

use std::sync::Arc;

use super::charset::decode_text;
use super::content_type::{
    ContentDisposition, ContentType, Parsed, content_disposition, content_id, content_type,
};
use super::header::HeaderIndex;
use super::mime_error::{Errors, MimeError};
use super::part::{Attachment, Content, Disposition, Part, PartData};
use super::transfer::{base64, base64_body_space, quoted_printable};
use super::{Message, guard, shown};
use crate::error::escape_bytes;

/// The result of walking the MIME tree once.
pub(super) struct Mime {
    pub(super) parts: Vec<Part>,
    pub(super) text: Option<String>,
    pub(super) html: Option<String>,
    pub(super) attachments: Vec<Attachment>,
    pub(super) errors: Vec<MimeError>,
}

/// What a parent multipart tells its children.
#[derive(Clone, Copy, Default)]
struct Context {
    in_digest: bool,
    in_related: bool,
}

/// What an entity's header block says about how to read its content (parsed when the
/// header block is read, so that no header value is kept while the content is).
struct EntityHeaders {
    content_type: ContentType,
    encoding: Option<String>,
    /// Parsed now, its problems reported if the entity turns out to be a leaf.
    disposition: Option<Parsed<Option<ContentDisposition>>>,
    content_id: Option<String>,
}

/// A multipart whose parts are being read.
struct Frame {
    boundary: Vec<u8>,
    /// The multipart's own part number (empty for the message).
    path: String,
    start: usize,
    body_start: usize,
    depth: usize,
    /// Delimiter lines seen so far (parts begun).
    children: usize,
    ctx: Context,
    child_ctx: Context,
    /// Its own headers, to read it as text when its boundary never appears.
    headers: EntityHeaders,
}

/// The content being read; it ends at the next delimiter line of any enclosing multipart.
enum Open {
    Leaf(Box<Leaf>),
    /// Content that is not kept: a preamble, an epilogue, a multipart nested too deep.
    Skipped,
}

/// A leaf part whose content is being read.
struct Leaf {
    start: usize,
    body_start: usize,
    path: String,
    headers: EntityHeaders,
    ctx: Context,
}

/// A delimiter line of one of the enclosing multiparts.
struct Delimiter {
    line_start: usize,
    line_end: usize,
    /// Which frame (0: outermost).
    level: usize,
    close: bool,
}

struct Walker<'a> {
    raw: &'a Arc<Vec<u8>>,
    stack: Vec<Frame>,
    parts: Vec<Part>,
    errors: Errors,
    /// Parts begun so far (not counting the message itself).
    entities: usize,
    too_deep_reported: bool,
}

impl Mime {
    /// Walks `raw`, whose header block is `top`.
    pub(super) fn build(raw: &Arc<Vec<u8>>, top: &HeaderIndex) -> Mime {
        let mut walker = Walker {
            raw,
            stack: Vec::new(),
            parts: Vec::new(),
            errors: Errors::default(),
            entities: 0,
            too_deep_reported: false,
        };
        if !raw.is_empty() {
            let walked = guard(|| walker.walk(top));
            if let Err(panic) = walked {
                walker.errors.push(raw, "", 0, panic);
            }
        }
        let Walker {
            parts, mut errors, ..
        } = walker;

        let text_ix = parts.iter().position(|p| p.is_body("text/plain"));
        let html_ix = parts.iter().position(|p| p.is_body("text/html"));
        let mut decode_body = |ix: Option<usize>| {
            let part = parts.get(ix?)?;
            let (text, problem) = decode_text(part.data(), part.charset());
            if let Some(problem) = problem {
                errors.push(raw, part.path(), part.offset(), problem);
            }
            Some(text)
        };
        let text = decode_body(text_ix);
        let html = decode_body(html_ix);
        let attachments = parts
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != text_ix && Some(*i) != html_ix)
            .map(|(_, p)| Attachment::new(p.clone()))
            .collect();
        Mime {
            parts,
            text,
            html,
            attachments,
            errors: errors.finish(),
        }
    }
}

/// The end of the line that starts at `from` (after its `\n`), or the end of `raw`.
fn line_end(raw: &[u8], from: usize) -> usize {
    raw.get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(raw.len(), |p| from.saturating_add(p).saturating_add(1))
}

/// Where a part's content ends before a delimiter line at `delimiter`: the CRLF (or LF) in
/// front of the delimiter belongs to it (RFC 2046).
fn content_end(raw: &[u8], part_start: usize, delimiter: usize) -> usize {
    let mut end = delimiter;
    if end > part_start && raw.get(end.saturating_sub(1)) == Some(&b'\n') {
        end -= 1;
        if end > part_start && raw.get(end.saturating_sub(1)) == Some(&b'\r') {
            end -= 1;
        }
    }
    end.max(part_start)
}

/// Whether `line` is a delimiter line (`--boundary`, then whitespace only) or the closing
/// one (`--boundary--`, then anything) of `boundary`.
fn delimiter_kind(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let after = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    if after.starts_with(b"--") {
        Some(true)
    } else if after.iter().all(u8::is_ascii_whitespace) {
        Some(false)
    } else {
        None
    }
}

impl Walker<'_> {
    fn error(&mut self, path: &str, offset: usize, message: impl Into<String>) {
        self.errors.push(self.raw, path, offset, message);
    }

    /// The delimiter line of an enclosing multipart that `line` is, outermost first.
    fn delimiter_at(&self, line: &[u8]) -> Option<(usize, bool)> {
        if !line.starts_with(b"--") {
            return None;
        }
        self.stack
            .iter()
            .enumerate()
            .find_map(|(level, f)| delimiter_kind(line, &f.boundary).map(|close| (level, close)))
    }

    /// The next delimiter line at or after the line that starts at `from`.
    fn next_delimiter(&self, from: usize) -> Option<Delimiter> {
        if self.stack.is_empty() {
            return None;
        }
        let raw: &[u8] = self.raw;
        let mut line_start = from;
        while line_start < raw.len() {
            let end = line_end(raw, line_start);
            let line = raw.get(line_start..end).unwrap_or(&[]);
            if let Some((level, close)) = self.delimiter_at(line) {
                return Some(Delimiter {
                    line_start,
                    line_end: end,
                    level,
                    close,
                });
            }
            line_start = end;
        }
        None
    }

    /// Where the header block of the part at `start` can end: after its first blank line,
    /// or before a delimiter line that comes first (the part then has no body; the
    /// delimiter's line start is returned too), or at the end of the message.
    fn header_region(&self, start: usize) -> (usize, Option<usize>) {
        let raw: &[u8] = self.raw;
        let mut line_start = start;
        while line_start < raw.len() {
            let end = line_end(raw, line_start);
            let line = raw.get(line_start..end).unwrap_or(&[]);
            if line.iter().all(|&b| b == b'\r' || b == b'\n') && line.ends_with(b"\n") {
                return (end, None);
            }
            if self.delimiter_at(line).is_some() {
                return (content_end(raw, start, line_start), Some(line_start));
            }
            line_start = end;
        }
        (raw.len(), None)
    }

    fn walk(&mut self, top: &HeaderIndex) {
        let (mut open, mut from) = self.begin(0, Some(top), String::new(), 0, Context::default());
        loop {
            let Some(d) = self.next_delimiter(from) else {
                let end = self.raw.len();
                self.finish(open, end);
                while let Some(frame) = self.stack.pop() {
                    self.finish_frame(frame, end, false);
                }
                return;
            };
            let raw: &[u8] = self.raw;
            let leaf_end = match &open {
                Open::Leaf(leaf) => content_end(raw, leaf.start, d.line_start),
                Open::Skipped => d.line_start,
            };
            self.finish(open, leaf_end);
            while self.stack.len() > d.level.saturating_add(1) {
                if let Some(frame) = self.stack.pop() {
                    let end = content_end(raw, frame.start, d.line_start);
                    self.finish_frame(frame, end, false);
                }
            }
            if d.close {
                if let Some(frame) = self.stack.pop() {
                    self.finish_frame(frame, d.line_start, true);
                }
                if self.stack.is_empty() {
                    // The message's own closing delimiter: the rest is its epilogue.
                    return;
                }
                open = Open::Skipped;
                from = d.line_end;
                continue;
            }
            let Some(frame) = self.stack.last_mut() else {
                return;
            };
            frame.children = frame.children.saturating_add(1);
            let path = if frame.path.is_empty() {
                frame.children.to_string()
            } else {
                format!("{}.{}", frame.path, frame.children)
            };
            let (depth, ctx) = (frame.depth.saturating_add(1), frame.child_ctx);
            self.entities = self.entities.saturating_add(1);
            if self.entities > Message::MAX_PARTS {
                self.errors.always(
                    self.raw,
                    &path,
                    d.line_end,
                    format!(
                        "more than {} MIME parts; this part and everything after it are not read",
                        Message::MAX_PARTS
                    ),
                );
                return;
            }
            (open, from) = self.begin(d.line_end, None, path, depth, ctx);
        }
    }

    /// Reads the header block of the entity at `start` (the message's own, `top`, is
    /// indexed already) and decides how its content is read. Returns what is open and where
    /// the scan for the next delimiter continues.
    fn begin(
        &mut self,
        start: usize,
        top: Option<&HeaderIndex>,
        path: String,
        depth: usize,
        ctx: Context,
    ) -> (Open, usize) {
        let raw: &[u8] = self.raw;
        let built;
        let (index, resume) = match top {
            Some(index) => (index, None),
            None => {
                let (region_end, delimiter) = self.header_region(start);
                built = HeaderIndex::build(raw.get(start..region_end).unwrap_or(&[]), start);
                (&built, delimiter)
            }
        };
        for (offset, problem) in &index.problems {
            self.error(&path, *offset, problem.clone());
        }
        let body_start = index.body_start.min(raw.len());
        let parsed = content_type(index.first_value(raw, "Content-Type"), ctx.in_digest);
        if let Some(panic) = parsed.panic {
            self.error(&path, start, panic);
        }
        if parsed.capped {
            self.error(&path, start, capped_message("Content-Type"));
        }
        let ct = parsed.value;
        let disposition = index
            .first_value(raw, "Content-Disposition")
            .map(content_disposition);
        let encoding = index
            .first_value(raw, "Content-Transfer-Encoding")
            .map(|e| e.trim().to_ascii_lowercase());
        let content_id = index.first_value(raw, "Content-ID").and_then(content_id);
        let headers = |ct: ContentType| EntityHeaders {
            content_type: ct,
            encoding,
            disposition,
            content_id,
        };
        // Where the scan continues: in the body, or at a delimiter inside the header block.
        let from = resume.unwrap_or(body_start);

        if ct.mime.starts_with("multipart/") {
            let Some(boundary) = ct.boundary.clone() else {
                self.error(
                    &path,
                    start,
                    format!(
                        "{} without a boundary parameter; body read as text/plain",
                        shown(&ct.mime)
                    ),
                );
                let ct = ContentType {
                    mime: "text/plain".into(),
                    ..ct
                };
                return (
                    Open::Leaf(Box::new(Leaf {
                        start,
                        body_start,
                        path,
                        headers: headers(ct),
                        ctx,
                    })),
                    from,
                );
            };
            if depth >= Message::MAX_NESTING {
                if !self.too_deep_reported {
                    self.too_deep_reported = true;
                    self.errors.always(
                        self.raw,
                        &path,
                        start,
                        format!(
                            "multiparts nested more than {} deep; everything deeper is skipped",
                            Message::MAX_NESTING
                        ),
                    );
                }
                return (Open::Skipped, from);
            }
            let child_ctx = Context {
                in_digest: ct.mime == "multipart/digest",
                in_related: ctx.in_related || ct.mime == "multipart/related",
            };
            self.stack.push(Frame {
                boundary: boundary.into_bytes(),
                path,
                start,
                body_start,
                depth,
                children: 0,
                ctx,
                child_ctx,
                headers: headers(ct),
            });
            return (Open::Skipped, from);
        }
        (
            Open::Leaf(Box::new(Leaf {
                start,
                body_start,
                path,
                headers: headers(ct),
                ctx,
            })),
            from,
        )
    }

    /// A multipart has ended at `end` (`closed`: at its closing delimiter).
    fn finish_frame(&mut self, frame: Frame, end: usize, closed: bool) {
        if closed {
            return;
        }
        let boundary = shown(&String::from_utf8_lossy(&frame.boundary));
        if frame.children == 0 {
            // The blank line before a delimiter that directly follows the header block
            // belongs to the delimiter: the body starts (empty) at `end`.
            let body_start = frame.body_start.min(end);
            self.error(
                &frame.path,
                body_start,
                format!(
                    "{} boundary \"{boundary}\" never appears; body read as text/plain",
                    shown(&frame.headers.content_type.mime)
                ),
            );
            let headers = EntityHeaders {
                content_type: ContentType {
                    mime: "text/plain".into(),
                    ..frame.headers.content_type
                },
                ..frame.headers
            };
            let leaf = Open::Leaf(Box::new(Leaf {
                start: frame.start,
                body_start,
                path: frame.path,
                headers,
                ctx: frame.ctx,
            }));
            self.finish(leaf, end);
        } else {
            self.error(
                &frame.path,
                end,
                format!(
                    "closing boundary \"--{boundary}--\" missing; the last part runs to the end"
                ),
            );
        }
    }

    /// The open content has ended at `end`: a leaf becomes a [`Part`].
    fn finish(&mut self, open: Open, end: usize) {
        let Open::Leaf(leaf) = open else {
            return;
        };
        let Leaf {
            start,
            body_start,
            path,
            headers,
            ctx,
        } = *leaf;
        let raw = self.raw;
        let body_start = body_start.min(end);
        let body = raw.get(body_start..end).unwrap_or(&[]);
        let path = if path.is_empty() {
            if body.is_empty() {
                // A message with an empty body has no parts.
                return;
            }
            "1".to_string()
        } else {
            path
        };
        let in_place = || Content::InPlace {
            raw: Arc::clone(raw),
            start: body_start,
            end,
        };
        let content = match headers.encoding.as_deref() {
            Some("base64") => match base64(body, base64_body_space) {
                Ok(data) => Content::Decoded(data),
                Err(at) => {
                    self.error(
                        &path,
                        body_start.saturating_add(at),
                        "base64 content cannot be decoded (not base64 from here on); part skipped",
                    );
                    return;
                }
            },
            Some("quoted-printable") => Content::Decoded(quoted_printable(body)),
            None | Some("" | "7bit" | "8bit" | "binary") => in_place(),
            Some(other) => {
                self.error(
                    &path,
                    start,
                    format!(
                        "unknown Content-Transfer-Encoding {:?}; content kept undecoded",
                        shown(&escape_bytes(other.as_bytes()))
                    ),
                );
                in_place()
            }
        };

        let parsed_disposition = headers.disposition.and_then(|parsed| {
            if let Some(panic) = parsed.panic {
                self.error(&path, start, panic);
            }
            if parsed.capped {
                self.error(&path, start, capped_message("Content-Disposition"));
            }
            parsed.value
        });
        let content_id = headers.content_id;
        let explicit_attachment = parsed_disposition.as_ref().is_some_and(|d| !d.inline);
        let disposition = match &parsed_disposition {
            Some(d) if d.inline => Disposition::Inline,
            Some(_) => Disposition::Attachment,
            None if content_id.is_some() || ctx.in_related => Disposition::Inline,
            None => Disposition::Attachment,
        };
        let ct = headers.content_type;
        let filename = parsed_disposition.and_then(|d| d.filename).or(ct.name);

        self.parts.push(Part::new(PartData {
            path,
            content_type: ct.mime,
            charset: ct.charset,
            disposition,
            explicit_attachment,
            filename,
            content_id,
            offset: start,
            content,
        }));
    }
}

fn capped_message(header: &str) -> String {
    format!(
        "{header} has more than {} parameters of one name; the rest are ignored",
        Message::MAX_PARAMETERS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_lines() {
        assert_eq!(delimiter_kind(b"--b\r\n", b"b"), Some(false));
        assert_eq!(delimiter_kind(b"--b  \r\n", b"b"), Some(false));
        assert_eq!(delimiter_kind(b"--b", b"b"), Some(false));
        assert_eq!(delimiter_kind(b"--b--junk", b"b"), Some(true));
        assert_eq!(delimiter_kind(b"--bX\r\n", b"b"), None);
        assert_eq!(delimiter_kind(b"-b\r\n", b"b"), None);
        assert_eq!(content_end(b"A\r\n--b", 0, 3), 1);
        assert_eq!(content_end(b"\n--b", 1, 1), 1);
    }

    fn walk(raw: &[u8]) -> Mime {
        let raw = Arc::new(raw.to_vec());
        let top = HeaderIndex::build(&raw, 0);
        Mime::build(&raw, &top)
    }

    #[test]
    fn an_enclosing_boundary_ends_what_it_encloses() {
        let m = walk(
            b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\
              Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\ninner\r\n\
              --o\r\n\r\nsecond\r\n--o--\r\nepilogue\r\n--o\r\n\r\nignored",
        );
        let parts: Vec<(&str, &[u8])> = m.parts.iter().map(|p| (p.path(), p.data())).collect();
        assert_eq!(parts, vec![("1.1", &b"inner"[..]), ("2", &b"second"[..])]);
        assert_eq!(m.errors.len(), 1, "{:?}", m.errors);
        assert!(m.errors[0].message.contains("--i--"), "{:?}", m.errors);
        assert_eq!(m.errors[0].path, "1");
    }

    #[test]
    fn a_delimiter_inside_a_header_block_ends_the_part() {
        let m = walk(
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
              Content-Type: text/html\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n--b--",
        );
        let parts: Vec<(&str, &str, usize)> = m
            .parts
            .iter()
            .map(|p| (p.path(), p.content_type(), p.size()))
            .collect();
        assert_eq!(parts, vec![("1", "text/html", 0), ("2", "text/plain", 0)]);
        assert!(
            m.errors[0].message.contains("never appears"),
            "{:?}",
            m.errors
        );
    }
}
