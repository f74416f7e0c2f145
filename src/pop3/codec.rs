//! The pure POP3 protocol layer: no I/O, only bytes in and typed values or bytes out.
//!
//! - [`parse_status`] reads a `+OK` / `-ERR` line, with the response codes of RFC 2449 and
//!   RFC 3206 (`[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/TEMP]`, `[SYS/PERM]`, `[AUTH]`), and
//!   [`Status::into_result`] / [`Status::into_auth_result`] turn it into a [`Result`] whose
//!   error [`Error::is_transient`] classifies correctly.
//! - [`parse_auth_line`] reads the answer to an `AUTH` step: a `+ challenge` continuation or a
//!   status.
//! - [`MultiLineDecoder`] streams the body of a multi-line response (`RETR`, `TOP`, `LIST`,
//!   `UIDL`, `CAPA`) to any writer, removing the dot-stuffing and stopping right after the
//!   terminating `.` line, in constant memory whatever the line lengths.
//! - [`parse_stat`], [`parse_list_line`], [`parse_uidl_line`], [`parse_list`], [`parse_uidl`]
//!   and [`parse_capa`] read the answers of those commands; [`apop_timestamp`] finds the
//!   APOP timestamp in a greeting.
//! - [`Command`] encodes commands, refusing arguments that could inject another command and
//!   lines longer than the 255 octets of RFC 2449; [`plan_auth`] applies the initial-response
//!   rule of RFC 5034 §4; [`Command::trace_text`] is the form safe to log.

use std::fmt;
use std::io::Write;

use crate::error::{Error, Result, ServerStatus};

/// The longest command line a client may send, CRLF included (RFC 2449 §4).
pub const MAX_COMMAND_LINE: usize = 255;

// ---------------------------------------------------------------------------------------
// Status lines
// ---------------------------------------------------------------------------------------

/// A response code in brackets at the start of a `-ERR` text (RFC 2449 §8, RFC 3206).
///
/// Codes are hierarchical (`SYS/TEMP`) and compared without regard to ASCII case; a code
/// with further levels (`SYS/TEMP/DISK`) is classified by its known prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `IN-USE`: the maildrop is locked by another session. Transient.
    InUse,
    /// `LOGIN-DELAY`: the user logged in too recently. Transient.
    LoginDelay,
    /// `SYS/TEMP`: a temporary server problem. Transient.
    SysTemp,
    /// `SYS/PERM`: a permanent server problem; retrying will not help.
    SysPerm,
    /// `AUTH`: the credentials were refused. Never retried.
    Auth,
    /// Any other code, as the server sent it (without the brackets).
    Other(String),
}

impl ResponseCode {
    /// Classifies the text between the brackets.
    pub fn parse(code: &str) -> ResponseCode {
        let code = code.trim();
        let mut levels = code.split('/');
        let first = levels.next().unwrap_or("");
        let second = levels.next();
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if is(first, "IN-USE") {
            ResponseCode::InUse
        } else if is(first, "LOGIN-DELAY") {
            ResponseCode::LoginDelay
        } else if is(first, "AUTH") {
            ResponseCode::Auth
        } else if is(first, "SYS") && second.is_some_and(|s| is(s, "TEMP")) {
            ResponseCode::SysTemp
        } else if is(first, "SYS") && second.is_some_and(|s| is(s, "PERM")) {
            ResponseCode::SysPerm
        } else {
            ResponseCode::Other(code.to_string())
        }
    }

    /// The code's canonical spelling (`IN-USE`, `SYS/TEMP`, …; `Other` as received).
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Auth => "AUTH",
            ResponseCode::Other(s) => s,
        }
    }

    /// Whether the condition is temporary (`IN-USE`, `LOGIN-DELAY`, `SYS/TEMP`), so that the
    /// same command may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ResponseCode::InUse | ResponseCode::LoginDelay | ResponseCode::SysTemp
        )
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `+OK` or `-ERR` line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// `+OK`, with the rest of the line (may be empty).
    Ok {
        /// The text after `+OK`, trimmed.
        text: String,
    },
    /// `-ERR`, with the optional response code and the rest of the line.
    Err {
        /// The bracketed response code, if the text starts with one.
        code: Option<ResponseCode>,
        /// The text after `-ERR` and the code, trimmed.
        text: String,
    },
}

impl Status {
    /// Whether this is `+OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Ok { .. })
    }

    /// `+OK` gives its text; `-ERR` becomes [`Error::Server`] with status `-ERR`, `command`
    /// and the code's canonical spelling, so that [`Error::is_transient`] sees `IN-USE`,
    /// `LOGIN-DELAY` and `SYS/TEMP` as transient.
    pub fn into_result(self, command: &str) -> Result<String> {
        match self {
            Status::Ok { text } => Ok(text),
            Status::Err { code, text } => Err(Error::Server {
                status: ServerStatus::Err,
                command: command.to_string(),
                code: code.map(|c| c.as_str().to_string()),
                text,
            }),
        }
    }

    /// Like [`into_result`](Self::into_result) for an authentication step (`USER`, `PASS`,
    /// `APOP`, `AUTH`): a `-ERR` with a transient code (`IN-USE`, `LOGIN-DELAY`,
    /// `SYS/TEMP`) or `SYS/PERM` stays [`Error::Server`]; any other `-ERR` (`[AUTH]`, no
    /// code, an unknown code) is [`Error::Auth`] for `mechanism` and is never retried.
    pub fn into_auth_result(self, mechanism: &str) -> Result<String> {
        let keeps_server_error = matches!(
            &self,
            Status::Err { code: Some(code), .. }
                if code.is_transient() || *code == ResponseCode::SysPerm
        );
        if keeps_server_error {
            return self.into_result(mechanism);
        }
        match self {
            Status::Err { code, text } => Err(Error::Auth {
                mechanism: mechanism.to_string(),
                text: match code {
                    Some(ResponseCode::Other(c)) => format!("[{c}] {text}"),
                    _ => text,
                },
            }),
            Status::Ok { text } => Ok(text),
        }
    }
}

/// Removes one trailing CRLF or LF; fails on a CR or LF anywhere else.
fn strip_line_end<'a>(line: &'a [u8], what: &str) -> Result<&'a [u8]> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if let Some(pos) = body.iter().position(|&b| b == b'\n' || b == b'\r') {
        return Err(Error::protocol(
            format!("line break inside a {what}"),
            line,
            pos,
        ));
    }
    Ok(body)
}

fn trim_ascii_blanks(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p + 1);
    bytes.get(start..end).unwrap_or(&[])
}

/// Matches `keyword` (ASCII case-insensitive) at the start of `line`, followed by the end
/// of the line or a blank; returns the rest.
fn after_keyword<'a>(line: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = line.get(keyword.len()..)?;
    match rest.first() {
        None | Some(b' ') | Some(b'\t') => Some(rest),
        Some(_) => None,
    }
}

/// Parses a status line (`+OK …` or `-ERR …`), with or without its CRLF or bare LF.
///
/// Lenient where real servers differ: any case (`+ok`), missing text, extra or trailing
/// blanks. Anything else (including a `+` continuation) is [`Error::Protocol`] with the
/// offset and an excerpt of the line.
pub fn parse_status(line: &[u8]) -> Result<Status> {
    let body = strip_line_end(line, "status line")?;
    if let Some(rest) = after_keyword(body, b"+OK") {
        return Ok(Status::Ok {
            text: String::from_utf8_lossy(trim_ascii_blanks(rest)).into_owned(),
        });
    }
    if let Some(rest) = after_keyword(body, b"-ERR") {
        let rest = trim_ascii_blanks(rest);
        let (code, text) = split_code(rest);
        return Ok(Status::Err {
            code,
            text: String::from_utf8_lossy(text).into_owned(),
        });
    }
    Err(Error::protocol(
        "expected a status line starting with +OK or -ERR",
        line,
        0,
    ))
}

/// Splits a leading `[CODE]` off `text`.
fn split_code(text: &[u8]) -> (Option<ResponseCode>, &[u8]) {
    if text.first() != Some(&b'[') {
        return (None, text);
    }
    let Some(close) = text.iter().position(|&b| b == b']') else {
        return (None, text);
    };
    let inner = text.get(1..close).unwrap_or(&[]);
    let inner = trim_ascii_blanks(inner);
    if inner.is_empty() {
        return (None, text);
    }
    let rest = trim_ascii_blanks(text.get(close + 1..).unwrap_or(&[]));
    (
        Some(ResponseCode::parse(&String::from_utf8_lossy(inner))),
        rest,
    )
}

/// The answer to a step of `AUTH`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthLine {
    /// `+ challenge`: the server waits for the next client response. The payload is the
    /// base64 text as sent (empty for a bare `+`).
    Continuation {
        /// The base64 challenge, trimmed.
        payload: String,
    },
    /// `+OK` or `-ERR`: the exchange is over.
    Status(Status),
}

/// Parses a line received during `AUTH`: a continuation (`+`, `+ `, `+ base64`) or a
/// status line.
pub fn parse_auth_line(line: &[u8]) -> Result<AuthLine> {
    let body = strip_line_end(line, "continuation line")?;
    if let Some(rest) = body.strip_prefix(b"+") {
        if rest.is_empty() || rest.first() == Some(&b' ') {
            return Ok(AuthLine::Continuation {
                payload: String::from_utf8_lossy(trim_ascii_blanks(rest)).into_owned(),
            });
        }
    }
    parse_status(line).map(AuthLine::Status)
}

// ---------------------------------------------------------------------------------------
// Multi-line responses
// ---------------------------------------------------------------------------------------

/// How far a [`MultiLineDecoder::decode`] call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decoded {
    /// How many bytes of the input were used. When `done`, the bytes after this belong to
    /// the next response (with `PIPELINING` it may already be there).
    pub consumed: usize,
    /// Whether the terminating `.` line was read: the response is complete.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeState {
    /// At the first byte of a line.
    LineStart,
    /// A line started with `.`, which was consumed.
    AfterDot,
    /// A line started with `.` and CR, both consumed.
    AfterDotCr,
    /// Inside a line that is being copied.
    InLine,
    /// The terminator was read.
    Done,
}

/// Decodes the body of a multi-line response as it arrives, in any chunks.
///
/// Feed it the bytes that follow the `+OK` status line. It writes the content to a writer
/// with the dot-stuffing removed (a line starting with `.` loses that first `.`, so `..`
/// becomes `.`), and stops right after the terminator line `.` CRLF. Line ends are
/// written exactly as received: CRLF stays CRLF and a bare LF from a broken server stays a
/// bare LF (nothing is normalised, so the bytes are the message as the server stored it).
/// A bare-LF terminator (`.` LF) is accepted too. An empty message gives empty content.
///
/// The state is a few bytes: no line is ever buffered, so there is no line-length limit
/// and memory does not grow with the message. The terminator is recognised wherever the
/// chunks are split.
///
/// ```
/// use mailwire::pop3::codec::MultiLineDecoder;
///
/// let mut decoder = MultiLineDecoder::new();
/// let mut content = Vec::new();
/// let first = decoder.decode(b"Subject: hi\r\n\r\n..dots\r\n.", &mut content)?;
/// assert!(!first.done);
/// let second = decoder.decode(b"\r\n+OK next response\r\n", &mut content)?;
/// assert!(second.done);
/// assert_eq!(second.consumed, 2); // the next response is left alone
/// assert_eq!(content, b"Subject: hi\r\n\r\n.dots\r\n");
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultiLineDecoder {
    state: DecodeState,
    content_bytes: u64,
}

impl Default for MultiLineDecoder {
    fn default() -> Self {
        MultiLineDecoder::new()
    }
}

impl MultiLineDecoder {
    /// A decoder positioned at the start of the first content line.
    pub fn new() -> MultiLineDecoder {
        MultiLineDecoder {
            state: DecodeState::LineStart,
            content_bytes: 0,
        }
    }

    /// Whether the terminator has been read.
    pub fn is_done(&self) -> bool {
        self.state == DecodeState::Done
    }

    /// How many content bytes have been written so far.
    pub fn content_len(&self) -> u64 {
        self.content_bytes
    }

    /// Decodes `input`, writing the content to `out`.
    ///
    /// Uses all of `input` unless the terminator is in it, in which case `consumed` ends
    /// just after it. After `done`, further calls consume nothing. A failing writer gives
    /// [`Error::Io`]; the decoder is then in an unknown position and must be discarded.
    pub fn decode<W: Write + ?Sized>(&mut self, input: &[u8], out: &mut W) -> Result<Decoded> {
        let mut pos = 0;
        while let Some(&byte) = input.get(pos) {
            match self.state {
                DecodeState::Done => break,
                DecodeState::LineStart => {
                    if byte == b'.' {
                        pos += 1;
                        self.state = DecodeState::AfterDot;
                    } else {
                        self.state = DecodeState::InLine;
                    }
                }
                DecodeState::AfterDot => match byte {
                    b'\r' => {
                        pos += 1;
                        self.state = DecodeState::AfterDotCr;
                    }
                    b'\n' => {
                        pos += 1;
                        self.state = DecodeState::Done;
                    }
                    // The stuffing dot is dropped; this byte (a second `.` or, from a
                    // lax server, anything else) is content.
                    _ => self.state = DecodeState::InLine,
                },
                DecodeState::AfterDotCr => {
                    if byte == b'\n' {
                        pos += 1;
                        self.state = DecodeState::Done;
                    } else {
                        // `.` CR followed by more: a stuffed line whose content starts with
                        // CR. The dot is dropped, the CR is content.
                        self.emit(out, b"\r")?;
                        self.state = DecodeState::InLine;
                    }
                }
                DecodeState::InLine => {
                    let rest = input.get(pos..).unwrap_or(&[]);
                    let (run, next) = scan_run(rest);
                    self.emit(out, rest.get(..run).unwrap_or(&[]))?;
                    pos += run;
                    self.state = next;
                    if next == DecodeState::AfterDot {
                        pos += 1; // the dot that starts the next line
                    }
                }
            }
        }
        Ok(Decoded {
            consumed: pos,
            done: self.state == DecodeState::Done,
        })
    }

    fn emit<W: Write + ?Sized>(&mut self, out: &mut W, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        out.write_all(bytes).map_err(|source| Error::Io {
            operation: "writing the content of a multi-line response".to_string(),
            source,
        })?;
        self.content_bytes = self.content_bytes.saturating_add(bytes.len() as u64);
        Ok(())
    }
}

/// Scans `bytes`, which start inside a line, for the longest run of content that can be
/// copied as is: up to the end of the input, or up to the end of a line whose next line
/// starts with `.` (or whose next line has not arrived yet). Returns the run's length and
/// the state after it; for `AfterDot` the dot itself is at `run` and not part of the run.
fn scan_run(bytes: &[u8]) -> (usize, DecodeState) {
    let mut from = 0;
    loop {
        let Some(lf) = bytes.get(from..).and_then(find_lf) else {
            return (bytes.len(), DecodeState::InLine);
        };
        let line_end = from + lf + 1;
        match bytes.get(line_end) {
            None => return (line_end, DecodeState::LineStart),
            Some(b'.') => return (line_end, DecodeState::AfterDot),
            Some(_) => from = line_end,
        }
    }
}

/// The position of the first LF, eight bytes at a time.
fn find_lf(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LFS: u64 = ONES * b'\n' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LFS;
        // Sets the high bit of each zero byte of x (exact for the lowest one, which is the
        // only one used).
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(base + (zeros.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| base + p)
}

/// The lines of a decoded multi-line content, without their CRLF or LF (empty lines kept,
/// no empty line after a final line end).
pub fn content_lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    let trimmed = content.strip_suffix(b"\n").unwrap_or(content);
    let none = content.is_empty();
    trimmed
        .split(|&b| b == b'\n')
        .filter(move |_| !none)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

// ---------------------------------------------------------------------------------------
// STAT, LIST, UIDL
// ---------------------------------------------------------------------------------------

fn parse_number<T: std::str::FromStr>(
    token: Option<(usize, &str)>,
    text: &str,
    what: &str,
) -> Result<T> {
    let Some((offset, token)) = token else {
        return Err(Error::protocol(
            format!("missing {what}"),
            text.as_bytes(),
            text.len(),
        ));
    };
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::protocol(
            format!("{what} is not a number"),
            text.as_bytes(),
            offset,
        ));
    }
    token
        .parse()
        .map_err(|_| Error::protocol(format!("{what} is out of range"), text.as_bytes(), offset))
}

/// Splits on blanks, keeping each token's byte offset.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split([' ', '\t'])
        .scan(0usize, |offset, token| {
            let start = *offset;
            *offset += token.len() + 1;
            Some((start, token))
        })
        .filter(|(_, t)| !t.is_empty())
}

/// Parses the text of a `STAT` answer (`+OK 2 320`): the number of messages and their
/// total size in octets. Text after the two numbers is ignored.
pub fn parse_stat(text: &str) -> Result<(u32, u64)> {
    let mut t = tokens(text);
    let count = parse_number(t.next(), text, "message count in the STAT answer")?;
    let size = parse_number(t.next(), text, "maildrop size in the STAT answer")?;
    Ok((count, size))
}

/// One line of a `LIST` answer: a message number and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ListEntry {
    /// The message number (1-based, valid for this session).
    pub number: u32,
    /// The size in octets (as the server counts it: with CRLF line ends).
    pub size: u64,
}

/// One line of a `UIDL` answer: a message number and its unique id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct UidlEntry {
    /// The message number (1-based, valid for this session).
    pub number: u32,
    /// The unique id, stable across sessions.
    pub uid: String,
}

/// Parses `msg-number size`: a line of the multi-line `LIST` answer, or the text of the
/// single-line answer to `LIST n` (`+OK 2 200`). Text after the size is ignored.
pub fn parse_list_line(text: &str) -> Result<ListEntry> {
    let mut t = tokens(text);
    let number = parse_number(t.next(), text, "message number in the LIST answer")?;
    let size = parse_number(t.next(), text, "message size in the LIST answer")?;
    Ok(ListEntry { number, size })
}

/// Parses `msg-number unique-id`: a line of the multi-line `UIDL` answer, or the text of
/// the single-line answer to `UIDL n` (`+OK 2 QhdPYR:00WBw1Ph7x7`). The id must be printable
/// (RFC 1939 allows 0x21 to 0x7E; other non-blank UTF-8 is accepted from lax servers).
pub fn parse_uidl_line(text: &str) -> Result<UidlEntry> {
    let mut t = tokens(text);
    let number = parse_number(t.next(), text, "message number in the UIDL answer")?;
    let Some((offset, uid)) = t.next() else {
        return Err(Error::protocol(
            "missing unique id in the UIDL answer",
            text.as_bytes(),
            text.len(),
        ));
    };
    if let Some(bad) = uid.bytes().position(|b| b.is_ascii_control()) {
        return Err(Error::protocol(
            "control character in a unique id",
            text.as_bytes(),
            offset + bad,
        ));
    }
    Ok(UidlEntry {
        number,
        uid: uid.to_string(),
    })
}

/// Converts a content line to text, failing on invalid UTF-8 at its offset.
fn line_text<'a>(line: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(line).map_err(|e| {
        Error::protocol(
            format!("invalid UTF-8 in a {what} line"),
            line,
            e.valid_up_to(),
        )
    })
}

/// Parses one content line (without its line end) of a multi-line `LIST` answer; `None`
/// for a blank line.
pub(crate) fn parse_list_content_line(line: &[u8]) -> Result<Option<ListEntry>> {
    if trim_ascii_blanks(line).is_empty() {
        return Ok(None);
    }
    parse_list_line(line_text(line, "LIST")?).map(Some)
}

/// Parses one content line (without its line end) of a multi-line `UIDL` answer; `None`
/// for a blank line.
pub(crate) fn parse_uidl_content_line(line: &[u8]) -> Result<Option<UidlEntry>> {
    if trim_ascii_blanks(line).is_empty() {
        return Ok(None);
    }
    parse_uidl_line(line_text(line, "UIDL")?).map(Some)
}

/// Parses the decoded content of a multi-line `LIST` answer (blank lines are skipped).
///
/// The whole content is in memory here; the client itself parses a listing line by line
/// as it arrives, bounded by [`Limits::max_listing_size`](crate::Limits::max_listing_size).
pub fn parse_list(content: &[u8]) -> Result<Vec<ListEntry>> {
    content_lines(content)
        .filter_map(|l| parse_list_content_line(l).transpose())
        .collect()
}

/// Parses the decoded content of a multi-line `UIDL` answer (blank lines are skipped).
///
/// The whole content is in memory here; the client itself parses a listing line by line
/// as it arrives, bounded by [`Limits::max_listing_size`](crate::Limits::max_listing_size).
pub fn parse_uidl(content: &[u8]) -> Result<Vec<UidlEntry>> {
    content_lines(content)
        .filter_map(|l| parse_uidl_content_line(l).transpose())
        .collect()
}

// ---------------------------------------------------------------------------------------
// CAPA and the greeting
// ---------------------------------------------------------------------------------------

/// One capability line: a name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capability {
    /// The name as the server sent it (compare without regard to case).
    pub name: String,
    /// The arguments, split on blanks.
    pub args: Vec<String>,
    /// Everything after the name, trimmed (for free text such as `IMPLEMENTATION`).
    pub raw_args: String,
}

/// How long the server keeps messages (`EXPIRE`, RFC 2449 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expire {
    /// `EXPIRE NEVER`: messages stay until deleted.
    Never,
    /// `EXPIRE n`: messages may be removed n days after they were first retrieved (0:
    /// right after the session in which they were retrieved).
    Days(u32),
}

/// The capabilities listed by `CAPA` (RFC 2449). Names are matched without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    list: Vec<Capability>,
}

impl Capabilities {
    /// The capabilities of `list`, in that order.
    pub(crate) fn from_list(list: Vec<Capability>) -> Capabilities {
        Capabilities { list }
    }

    /// Whether the capability `name` is listed (any case).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The capability `name`, with its arguments.
    pub fn get(&self, name: &str) -> Option<&Capability> {
        self.list.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// All listed capabilities, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = &Capability> {
        self.list.iter()
    }

    /// The mechanisms of the `SASL` capability (empty if absent).
    pub fn sasl_mechanisms(&self) -> Vec<&str> {
        self.get("SASL")
            .map(|c| c.args.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The free text of `IMPLEMENTATION`.
    pub fn implementation(&self) -> Option<&str> {
        self.get("IMPLEMENTATION").map(|c| c.raw_args.as_str())
    }

    /// The `EXPIRE` policy, if listed and understood.
    pub fn expire(&self) -> Option<Expire> {
        let arg = self.get("EXPIRE")?.args.first()?;
        if arg.eq_ignore_ascii_case("NEVER") {
            Some(Expire::Never)
        } else {
            arg.parse().ok().map(Expire::Days)
        }
    }

    /// The minimum number of seconds between logins (`LOGIN-DELAY`), if listed.
    pub fn login_delay(&self) -> Option<u32> {
        self.get("LOGIN-DELAY")?.args.first()?.parse().ok()
    }

    /// Whether commands may be sent without waiting for each answer (`PIPELINING`).
    pub fn pipelining(&self) -> bool {
        self.has("PIPELINING")
    }

    /// Whether `STLS` (STARTTLS for POP3) is offered.
    pub fn stls(&self) -> bool {
        self.has("STLS")
    }

    /// Whether `TOP` is supported.
    pub fn top(&self) -> bool {
        self.has("TOP")
    }

    /// Whether `UIDL` is supported.
    pub fn uidl(&self) -> bool {
        self.has("UIDL")
    }

    /// Whether `USER` / `PASS` login is offered.
    pub fn user(&self) -> bool {
        self.has("USER")
    }

    /// Whether `-ERR` answers carry response codes (`RESP-CODES`).
    pub fn resp_codes(&self) -> bool {
        self.has("RESP-CODES")
    }

    /// Whether authentication failures carry `[AUTH]` (`AUTH-RESP-CODE`, RFC 3206).
    pub fn auth_resp_code(&self) -> bool {
        self.has("AUTH-RESP-CODE")
    }

    /// Whether the `UTF8` command (RFC 6856) is offered.
    pub fn utf8(&self) -> bool {
        self.has("UTF8")
    }
}

/// Parses the decoded content of a `CAPA` answer, one capability per line. Blank lines are
/// skipped and invalid UTF-8 is replaced, so this never fails.
pub fn parse_capa(content: &[u8]) -> Capabilities {
    Capabilities::from_list(content_lines(content).filter_map(parse_capa_line).collect())
}

/// Parses one line (without its line end) of a `CAPA` answer; `None` for a blank line.
pub(crate) fn parse_capa_line(line: &[u8]) -> Option<Capability> {
    let line = String::from_utf8_lossy(trim_ascii_blanks(line));
    let mut parts = line.splitn(2, [' ', '\t']);
    let name = parts.next().filter(|n| !n.is_empty())?.to_string();
    let raw_args = parts.next().unwrap_or("").trim().to_string();
    let args = raw_args
        .split([' ', '\t'])
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    Some(Capability {
        name,
        args,
        raw_args,
    })
}

/// The APOP timestamp of a greeting: the first `<…>` containing `@` (brackets included), or
/// `None` if the server offers no APOP.
pub fn apop_timestamp(greeting: &str) -> Option<&str> {
    let mut rest = greeting;
    let mut base = 0;
    while let Some(open) = rest.find('<') {
        let after = rest.get(open..)?;
        let close = after.find('>')?;
        let candidate = after.get(..=close)?;
        let inner = candidate.get(1..candidate.len() - 1).unwrap_or("");
        if inner.contains('@') && !inner.contains(['<', ' ', '\t']) {
            return greeting.get(base + open..base + open + close + 1);
        }
        let skip = open + 1;
        base += skip;
        rest = rest.get(skip..)?;
    }
    None
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

/// A POP3 command, encoded with [`Command::encode`].
///
/// Arguments are borrowed; secrets (`PASS`, the APOP digest, SASL responses) never appear in
/// `Debug` or [`trace_text`](Command::trace_text).
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `CAPA`.
    Capa,
    /// `STLS`.
    Stls,
    /// `USER name`.
    User(&'a str),
    /// `PASS password` (the password may contain spaces).
    Pass(&'a str),
    /// `APOP name digest`.
    Apop {
        /// The user name (no blanks).
        user: &'a str,
        /// The digest from the greeting's timestamp and the password.
        digest: &'a str,
    },
    /// `AUTH mechanism [initial-response]`; build it with [`plan_auth`].
    Auth {
        /// The SASL mechanism name.
        mechanism: &'a str,
        /// The base64 initial response (`Some("")` is sent as `=`).
        initial_response: Option<&'a str>,
    },
    /// A client response after a `+` continuation (base64), or `*` to cancel. Not limited to
    /// 255 octets.
    AuthResponse(&'a str),
    /// `STAT`.
    Stat,
    /// `LIST` (all messages) or `LIST n`.
    List(Option<u32>),
    /// `UIDL` (all messages) or `UIDL n`.
    Uidl(Option<u32>),
    /// `RETR n`.
    Retr(u32),
    /// `TOP n lines`: the headers and the first `lines` body lines.
    Top {
        /// The message number.
        number: u32,
        /// How many body lines.
        lines: u32,
    },
    /// `DELE n`.
    Dele(u32),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `UTF8` (RFC 6856).
    Utf8,
    /// `QUIT`.
    Quit,
}

impl fmt::Debug for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({:?})", self.trace_text())
    }
}

fn check_argument(what: &str, value: &str, allow_blanks: bool) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(what, "is empty"));
    }
    if value.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(Error::invalid(
            what,
            "contains NUL, CR or LF, which would end the command early",
        ));
    }
    if !allow_blanks && value.bytes().any(|b| b == b' ' || b == b'\t') {
        return Err(Error::invalid(
            what,
            "contains a space, which would split the argument",
        ));
    }
    Ok(())
}

fn check_number(n: u32) -> Result<u32> {
    if n == 0 {
        Err(Error::invalid(
            "message number",
            "POP3 message numbers start at 1",
        ))
    } else {
        Ok(n)
    }
}

fn check_mechanism(mechanism: &str) -> Result<()> {
    // RFC 4422 §3.1: upper-case letters, digits, '-' and '_', 1 to 20 characters.
    let valid = !mechanism.is_empty()
        && mechanism.len() <= 20
        && mechanism
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            "SASL mechanism",
            format!("{mechanism:?} is not a valid mechanism name"),
        ))
    }
}

impl Command<'_> {
    /// The command line to send, CRLF included.
    ///
    /// Fails with [`Error::InvalidInput`] on an empty argument, NUL / CR / LF in an
    /// argument, a blank in a user name or mechanism, message number 0, or a command line
    /// longer than [`MAX_COMMAND_LINE`] octets (a SASL continuation response is exempt).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let line = self.line()?;
        let limited = !matches!(self, Command::AuthResponse(_));
        if limited && line.len() + 2 > MAX_COMMAND_LINE {
            return Err(Error::invalid(
                format!("{} command", self.name()),
                format!(
                    "the command line would be {} octets, over the limit of {MAX_COMMAND_LINE} (RFC 2449)",
                    line.len() + 2
                ),
            ));
        }
        let mut bytes = line.into_bytes();
        bytes.extend_from_slice(b"\r\n");
        Ok(bytes)
    }

    /// The command's keyword (`RETR`, `PASS`, …; `AUTH` for a continuation response).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Auth { .. } | Command::AuthResponse(_) => "AUTH",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top { .. } => "TOP",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Utf8 => "UTF8",
            Command::Quit => "QUIT",
        }
    }

    /// Whether the answer is a multi-line response (to read with [`MultiLineDecoder`] after
    /// a `+OK`).
    pub fn is_multi_line(&self) -> bool {
        matches!(
            self,
            Command::Capa
                | Command::List(None)
                | Command::Uidl(None)
                | Command::Retr(_)
                | Command::Top { .. }
        )
    }

    fn line(&self) -> Result<String> {
        let name = self.name();
        Ok(match *self {
            Command::User(user) => {
                check_argument("user name", user, true)?;
                format!("USER {user}")
            }
            Command::Pass(password) => {
                check_argument("password", password, true)?;
                format!("PASS {password}")
            }
            Command::Apop { user, digest } => {
                check_argument("user name", user, false)?;
                check_argument("APOP digest", digest, false)?;
                format!("APOP {user} {digest}")
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                check_mechanism(mechanism)?;
                match initial_response {
                    None => format!("AUTH {mechanism}"),
                    Some("") => format!("AUTH {mechanism} ="),
                    Some(ir) => {
                        check_argument("SASL initial response", ir, false)?;
                        format!("AUTH {mechanism} {ir}")
                    }
                }
            }
            Command::AuthResponse(response) => {
                if !response.is_empty() {
                    check_argument("SASL response", response, false)?;
                }
                response.to_string()
            }
            Command::List(Some(n)) | Command::Uidl(Some(n)) => {
                format!("{name} {}", check_number(n)?)
            }
            Command::Retr(n) | Command::Dele(n) => format!("{name} {}", check_number(n)?),
            Command::Top { number, lines } => format!("TOP {} {lines}", check_number(number)?),
            Command::Capa
            | Command::Stls
            | Command::Stat
            | Command::List(None)
            | Command::Uidl(None)
            | Command::Noop
            | Command::Rset
            | Command::Utf8
            | Command::Quit => name.to_string(),
        })
    }

    /// The command as it may be logged: `PASS`, the APOP digest and SASL payloads are
    /// replaced by `<redacted>`; no CRLF.
    pub fn trace_text(&self) -> String {
        const HIDDEN: &str = "<redacted>";
        match *self {
            Command::Pass(_) => format!("PASS {HIDDEN}"),
            Command::Apop { user, .. } => format!("APOP {user} {HIDDEN}"),
            Command::Auth {
                mechanism,
                initial_response: Some(_),
            } => format!("AUTH {mechanism} {HIDDEN}"),
            Command::AuthResponse("*") => "*".to_string(),
            Command::AuthResponse(_) => HIDDEN.to_string(),
            _ => self
                .line()
                .unwrap_or_else(|_| format!("{} <invalid>", self.name())),
        }
    }
}

/// How to start an `AUTH` exchange: the command, and the response to send after the
/// server's first `+` continuation if the initial response could not go with the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthPlan<'a> {
    /// The `AUTH` command to send.
    pub command: Command<'a>,
    /// The initial response to send after the first continuation, when it did not fit.
    pub deferred_response: Option<&'a str>,
}

/// Plans `AUTH mechanism` with an optional base64 initial response (RFC 5034 §4): the
/// response goes on the command line (an empty one as `=`) only if the whole line stays
/// within [`MAX_COMMAND_LINE`] octets; otherwise the command is sent bare and the response
/// follows the server's `+` continuation.
pub fn plan_auth<'a>(
    mechanism: &'a str,
    initial_response: Option<&'a str>,
) -> Result<AuthPlan<'a>> {
    let with = Command::Auth {
        mechanism,
        initial_response,
    };
    match with.encode() {
        Ok(_) => Ok(AuthPlan {
            command: with,
            deferred_response: None,
        }),
        Err(too_long) => {
            let bare = Command::Auth {
                mechanism,
                initial_response: None,
            };
            bare.encode()?;
            let Some(response) = initial_response else {
                return Err(too_long);
            };
            // Validate the deferred response now rather than after the server answered.
            Command::AuthResponse(response).encode()?;
            Ok(AuthPlan {
                command: bare,
                deferred_response: Some(response),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // --- status lines -------------------------------------------------------------------

    fn ok(text: &str) -> Status {
        Status::Ok { text: text.into() }
    }

    fn err(code: Option<ResponseCode>, text: &str) -> Status {
        Status::Err {
            code,
            text: text.into(),
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status(b"+OK POP3 ready\r\n").unwrap(),
            ok("POP3 ready")
        );
        assert_eq!(parse_status(b"+ok\r\n").unwrap(), ok(""));
        assert_eq!(parse_status(b"+OK").unwrap(), ok(""));
        assert_eq!(parse_status(b"+Ok  2 320   \n").unwrap(), ok("2 320"));
        assert_eq!(parse_status(b"-ERR\r\n").unwrap(), err(None, ""));
        assert_eq!(
            parse_status(b"-err no such message\r\n").unwrap(),
            err(None, "no such message")
        );
        assert_eq!(
            parse_status(b"-ERR [IN-USE] Mailbox locked\r\n").unwrap(),
            err(Some(ResponseCode::InUse), "Mailbox locked")
        );
        assert_eq!(
            parse_status(b"-ERR [sys/temp] try later").unwrap(),
            err(Some(ResponseCode::SysTemp), "try later")
        );
        assert_eq!(
            parse_status(b"-ERR [SYS/PERM/DISK]\r\n").unwrap(),
            err(Some(ResponseCode::SysPerm), "")
        );
        assert_eq!(
            parse_status(b"-ERR [LOGIN-DELAY] wait 900s\r\n").unwrap(),
            err(Some(ResponseCode::LoginDelay), "wait 900s")
        );
        assert_eq!(
            parse_status(b"-ERR [AUTH] Authentication failed.\r\n").unwrap(),
            err(Some(ResponseCode::Auth), "Authentication failed.")
        );
        assert_eq!(
            parse_status(b"-ERR [X-FOO] odd\r\n").unwrap(),
            err(Some(ResponseCode::Other("X-FOO".into())), "odd")
        );
        // Not a code: no closing bracket, or empty brackets.
        assert_eq!(
            parse_status(b"-ERR [unclosed\r\n").unwrap(),
            err(None, "[unclosed")
        );
        assert_eq!(parse_status(b"-ERR [] x\r\n").unwrap(), err(None, "[] x"));
        // 8-bit text is kept (lossily).
        assert_eq!(
            parse_status(b"+OK caf\xc3\xa9 \xff\r\n").unwrap(),
            ok("café \u{fffd}")
        );
    }

    fn protocol_offset(r: Result<impl fmt::Debug>) -> (usize, String) {
        match r {
            Err(Error::Protocol {
                offset, excerpt, ..
            }) => (offset, excerpt),
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    #[test]
    fn status_garbage() {
        let (offset, excerpt) = protocol_offset(parse_status(b"HTTP/1.1 400 Bad\r\n"));
        assert_eq!(offset, 0);
        assert!(excerpt.starts_with("HTTP/1.1"), "{excerpt}");
        protocol_offset(parse_status(b"+OKAY\r\n"));
        protocol_offset(parse_status(b"-ERROR\r\n"));
        protocol_offset(parse_status(b""));
        protocol_offset(parse_status(b"+ abc\r\n"));
        assert_eq!(protocol_offset(parse_status(b"+OK a\rb\r\n")).0, 5);
        assert_eq!(protocol_offset(parse_status(b"+OK a\r\n+OK\r\n")).0, 5);
    }

    #[test]
    fn response_codes() {
        for (raw, code) in [
            ("IN-USE", ResponseCode::InUse),
            ("in-use", ResponseCode::InUse),
            ("LOGIN-DELAY", ResponseCode::LoginDelay),
            ("SYS/TEMP", ResponseCode::SysTemp),
            ("Sys/Temp/quota", ResponseCode::SysTemp),
            ("SYS/PERM", ResponseCode::SysPerm),
            ("AUTH", ResponseCode::Auth),
            ("SYS", ResponseCode::Other("SYS".into())),
            ("SYSTEMP", ResponseCode::Other("SYSTEMP".into())),
            ("UTF8", ResponseCode::Other("UTF8".into())),
        ] {
            assert_eq!(ResponseCode::parse(raw), code, "{raw}");
        }
        assert_eq!(ResponseCode::parse("sys/temp").to_string(), "SYS/TEMP");
        assert!(ResponseCode::InUse.is_transient());
        assert!(!ResponseCode::SysPerm.is_transient());
        assert!(!ResponseCode::Auth.is_transient());
    }

    #[test]
    fn status_into_result_classifies() {
        assert_eq!(ok("2 320").into_result("STAT").unwrap(), "2 320");
        for (code, transient) in [
            (Some(ResponseCode::InUse), true),
            (Some(ResponseCode::LoginDelay), true),
            (Some(ResponseCode::parse("sys/temp/disk")), true),
            (Some(ResponseCode::SysPerm), false),
            (Some(ResponseCode::Auth), false),
            (None, false),
        ] {
            let e = err(code.clone(), "nope").into_result("RETR").unwrap_err();
            assert_eq!(e.is_transient(), transient, "{code:?}: {e}");
            match e {
                Error::Server {
                    status,
                    command,
                    code: c,
                    text,
                } => {
                    assert_eq!(status, ServerStatus::Err);
                    assert_eq!(command, "RETR");
                    assert_eq!(c, code.map(|c| c.as_str().to_string()));
                    assert_eq!(text, "nope");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn auth_result_classifies() {
        assert_eq!(ok("welcome").into_auth_result("PASS").unwrap(), "welcome");
        let plain = err(None, "invalid login").into_auth_result("USER/PASS");
        match plain {
            Err(Error::Auth { mechanism, text }) => {
                assert_eq!(
                    (mechanism.as_str(), text.as_str()),
                    ("USER/PASS", "invalid login")
                )
            }
            other => panic!("{other:?}"),
        }
        let auth = err(Some(ResponseCode::Auth), "bad").into_auth_result("APOP");
        assert!(matches!(auth, Err(Error::Auth { .. })));
        let other = err(Some(ResponseCode::Other("X".into())), "bad").into_auth_result("PLAIN");
        match other {
            Err(Error::Auth { text, .. }) => assert_eq!(text, "[X] bad"),
            o => panic!("{o:?}"),
        }
        for code in [
            ResponseCode::InUse,
            ResponseCode::LoginDelay,
            ResponseCode::SysTemp,
        ] {
            let e = err(Some(code), "later")
                .into_auth_result("PASS")
                .unwrap_err();
            assert!(
                matches!(e, Error::Server { .. }) && e.is_transient(),
                "{e:?}"
            );
        }
        let perm = err(Some(ResponseCode::SysPerm), "gone").into_auth_result("PASS");
        let perm = perm.unwrap_err();
        assert!(matches!(perm, Error::Server { .. }) && !perm.is_transient());
    }

    #[test]
    fn auth_lines() {
        assert_eq!(
            parse_auth_line(b"+ VXNlcm5hbWU6\r\n").unwrap(),
            AuthLine::Continuation {
                payload: "VXNlcm5hbWU6".into()
            }
        );
        assert_eq!(
            parse_auth_line(b"+\r\n").unwrap(),
            AuthLine::Continuation { payload: "".into() }
        );
        assert_eq!(
            parse_auth_line(b"+ \n").unwrap(),
            AuthLine::Continuation { payload: "".into() }
        );
        assert_eq!(
            parse_auth_line(b"+OK Logged in.\r\n").unwrap(),
            AuthLine::Status(ok("Logged in."))
        );
        assert_eq!(
            parse_auth_line(b"-ERR [AUTH] no\r\n").unwrap(),
            AuthLine::Status(err(Some(ResponseCode::Auth), "no"))
        );
        protocol_offset(parse_auth_line(b"* garbage\r\n"));
        protocol_offset(parse_auth_line(b"+x\r\n"));
    }

    // --- multi-line decoder -------------------------------------------------------------

    /// Decodes `input` fed in `chunks`-sized pieces; returns the content and the bytes
    /// consumed.
    fn decode_in_chunks(input: &[u8], sizes: &[usize]) -> (Vec<u8>, usize, bool) {
        let mut decoder = MultiLineDecoder::new();
        let mut out = Vec::new();
        let mut pos = 0;
        let mut i = 0;
        while pos < input.len() && !decoder.is_done() {
            let size = sizes
                .get(i % sizes.len().max(1))
                .copied()
                .unwrap_or(1)
                .max(1);
            i += 1;
            let end = (pos + size).min(input.len());
            let d = decoder.decode(&input[pos..end], &mut out).unwrap();
            assert!(d.consumed <= end - pos);
            if !d.done {
                assert_eq!(d.consumed, end - pos, "must consume everything before done");
            }
            pos += d.consumed;
        }
        (out, pos, decoder.is_done())
    }

    fn decode_whole(input: &[u8]) -> (Vec<u8>, usize, bool) {
        decode_in_chunks(input, &[input.len().max(1)])
    }

    const RESPONSE: &[u8] = b"Return-Path: <a@example.org>\r\n\
Subject: test\r\n\
\r\n\
Hello.\r\n\
..a line that started with a dot\r\n\
...\r\n\
.\r\n\
+OK next";

    const CONTENT: &[u8] = b"Return-Path: <a@example.org>\r\n\
Subject: test\r\n\
\r\n\
Hello.\r\n\
.a line that started with a dot\r\n\
..\r\n";

    #[test]
    fn decodes_a_response_and_stops_at_the_terminator() {
        let (content, consumed, done) = decode_whole(RESPONSE);
        assert!(done);
        assert_eq!(content, CONTENT);
        assert_eq!(&RESPONSE[consumed..], b"+OK next");
    }

    #[test]
    fn terminator_split_at_every_position() {
        for split in 0..=RESPONSE.len() {
            let mut decoder = MultiLineDecoder::new();
            let mut out = Vec::new();
            let first = decoder.decode(&RESPONSE[..split], &mut out).unwrap();
            let end = RESPONSE.len() - b"+OK next".len();
            if split < end {
                assert!(!first.done, "done too early at split {split}");
                assert_eq!(first.consumed, split);
                let second = decoder.decode(&RESPONSE[split..], &mut out).unwrap();
                assert!(second.done, "split {split}");
                assert_eq!(split + second.consumed, end, "split {split}");
            } else {
                // The whole terminator is in the first piece.
                assert!(first.done, "split {split}");
                assert_eq!(first.consumed, end, "split {split}");
            }
            assert_eq!(out, CONTENT, "split {split}");
            assert_eq!(decoder.content_len(), CONTENT.len() as u64);
        }
        // And byte by byte.
        let (content, consumed, done) = decode_in_chunks(RESPONSE, &[1]);
        assert!(done);
        assert_eq!(content, CONTENT);
        assert_eq!(&RESPONSE[consumed..], b"+OK next");
    }

    #[test]
    fn empty_content() {
        let (content, consumed, done) = decode_whole(b".\r\n+OK");
        assert!(done && content.is_empty());
        assert_eq!(consumed, 3);
        let (content, consumed, done) = decode_whole(b".\n");
        assert!(done && content.is_empty() && consumed == 2);
        let mut d = MultiLineDecoder::new();
        let r = d.decode(b"", &mut Vec::new()).unwrap();
        assert_eq!(
            r,
            Decoded {
                consumed: 0,
                done: false
            }
        );
    }

    #[test]
    fn bare_lf_is_kept_and_dot_lf_terminates() {
        let (content, consumed, done) = decode_whole(b"a\nb\r\n..c\n.\nrest");
        assert!(done);
        assert_eq!(content, b"a\nb\r\n.c\n");
        assert_eq!(consumed, 11);
        // CRLF content ended by a bare-LF terminator.
        let (content, _, done) = decode_whole(b"x\r\n.\n");
        assert!(done);
        assert_eq!(content, b"x\r\n");
    }

    #[test]
    fn dot_lines_that_are_not_terminators() {
        // `.x` from a lax server: the dot is removed as RFC 1939 says.
        let (content, _, done) = decode_whole(b".x\r\n.. \r\n.\rz\r\n.\r\n");
        assert!(done);
        assert_eq!(content, b"x\r\n. \r\n\rz\r\n");
        // A dot in the middle of a line is content; so is "\r." without LF.
        let (content, _, done) = decode_whole(b"a.b\r.\r\n.\r\n");
        assert!(done);
        assert_eq!(content, b"a.b\r.\r\n");
    }

    #[test]
    fn unterminated_is_not_done() {
        let (content, consumed, done) = decode_whole(b"line\r\n..\r\n.");
        assert!(!done);
        assert_eq!(consumed, 11);
        assert_eq!(content, b"line\r\n.\r\n");
        let (_, _, done) = decode_whole(b"line\r\n.\r");
        assert!(!done);
    }

    #[test]
    fn nothing_is_consumed_after_done() {
        let mut d = MultiLineDecoder::new();
        let mut out = Vec::new();
        assert!(d.decode(b".\r\n", &mut out).unwrap().done);
        let again = d.decode(b"+OK\r\n", &mut out).unwrap();
        assert_eq!(
            again,
            Decoded {
                consumed: 0,
                done: true
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn very_long_lines_and_8bit_bytes() {
        let mut line: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        line.retain(|&b| b != b'\n' && b != b'\r');
        line[0] = b'.';
        let mut input = b".".to_vec();
        input.extend_from_slice(&line);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&line[1..]);
        input.extend_from_slice(b"\r\n.\r\n");
        let mut expected = line.clone();
        expected.extend_from_slice(b"\r\n");
        expected.extend_from_slice(&line[1..]);
        expected.extend_from_slice(b"\r\n");
        for sizes in [&[input.len()][..], &[4096], &[1, 7, 4093]] {
            let (content, consumed, done) = decode_in_chunks(&input, sizes);
            assert!(done);
            assert_eq!(consumed, input.len());
            assert!(
                content == expected,
                "content differs for chunk sizes {sizes:?}"
            );
        }
    }

    #[test]
    fn writer_errors_are_io_errors() {
        struct Failing;
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let e = MultiLineDecoder::new()
            .decode(b"abc\r\n.\r\n", &mut Failing)
            .unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        // Empty content writes nothing, so even a failing writer is fine.
        assert!(
            MultiLineDecoder::new()
                .decode(b".\r\n", &mut Failing)
                .unwrap()
                .done
        );
    }

    #[test]
    fn find_lf_matches_naive_search() {
        let mut hay = vec![b'x'; 40];
        assert_eq!(find_lf(&hay), None);
        for i in 0..hay.len() {
            hay[i] = b'\n';
            assert_eq!(find_lf(&hay), Some(i));
            // A later LF and bytes that differ from LF by one bit do not confuse it.
            hay[i] = 0x0b;
            hay[39] = b'\n';
            assert_eq!(
                find_lf(&hay[..i + 1]),
                if i == 39 { Some(39) } else { None }
            );
            hay[39] = b'x';
            hay[i] = b'x';
        }
        assert_eq!(find_lf(b"\x8a\x0a"), Some(1));
        assert_eq!(find_lf(b"\x09\x0b\x00\xff\x0a"), Some(4));
    }

    /// What a server does: every line starting with `.` gets another `.`, then `.` CRLF.
    fn dot_stuff(lines: &[(Vec<u8>, bool)]) -> (Vec<u8>, Vec<u8>) {
        let mut wire = Vec::new();
        let mut content = Vec::new();
        for (line, crlf) in lines {
            let end: &[u8] = if *crlf { b"\r\n" } else { b"\n" };
            if line.first() == Some(&b'.') {
                wire.push(b'.');
            }
            wire.extend_from_slice(line);
            wire.extend_from_slice(end);
            content.extend_from_slice(line);
            content.extend_from_slice(end);
        }
        wire.extend_from_slice(b".\r\n");
        (wire, content)
    }

    fn line_strategy() -> impl Strategy<Value = (Vec<u8>, bool)> {
        let byte = prop_oneof![
            4 => Just(b'.'),
            2 => Just(b'\r'),
            1 => any::<u8>().prop_filter("no LF", |b| *b != b'\n'),
            4 => proptest::sample::select(b"ab .\r\t\xff".to_vec()),
        ];
        (proptest::collection::vec(byte, 0..12), any::<bool>())
    }

    proptest! {
        #[test]
        fn stuffed_content_round_trips_in_any_chunks(
            lines in proptest::collection::vec(line_strategy(), 0..20),
            sizes in proptest::collection::vec(1usize..16, 1..8),
            trailer in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let (mut wire, content) = dot_stuff(&lines);
            let response_len = wire.len();
            wire.extend_from_slice(&trailer);
            let (decoded, consumed, done) = decode_in_chunks(&wire, &sizes);
            prop_assert!(done);
            prop_assert_eq!(consumed, response_len);
            prop_assert_eq!(decoded, content);
        }
    }

    /// Not a benchmark (see benches/), a sanity measurement printed with `--nocapture`.
    #[test]
    fn decoder_throughput() {
        let mut line =
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusm\r\n".to_vec();
        line.extend_from_slice(b"..dot-stuffed line\r\n");
        let mut input = Vec::new();
        while input.len() < 8 << 20 {
            input.extend_from_slice(&line);
        }
        input.extend_from_slice(b".\r\n");
        let mut out = Vec::with_capacity(input.len());
        let start = std::time::Instant::now();
        let mut total = 0usize;
        for _ in 0..4 {
            out.clear();
            let mut d = MultiLineDecoder::new();
            let mut pos = 0;
            for chunk in input.chunks(16 * 1024) {
                let r = d.decode(chunk, &mut out).unwrap();
                pos += r.consumed;
            }
            assert!(d.is_done());
            assert_eq!(pos, input.len());
            total += input.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "MultiLineDecoder: {:.0} MB/s ({} MiB in {:.3} s)",
            total as f64 / secs / 1e6,
            total >> 20,
            secs
        );
        assert_eq!(out.len(), input.len() - 3 - input.len() / line.len());
    }

    // --- lines, STAT, LIST, UIDL ----------------------------------------------------------

    #[test]
    fn splitting_content_lines() {
        let lines: Vec<&[u8]> = content_lines(b"a\r\nb\n\r\nc\r\n").collect();
        assert_eq!(lines, [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(content_lines(b"").count(), 0);
        assert_eq!(
            content_lines(b"no end").collect::<Vec<_>>(),
            [&b"no end"[..]]
        );
    }

    #[test]
    fn stat_answers() {
        assert_eq!(parse_stat("2 320").unwrap(), (2, 320));
        assert_eq!(parse_stat(" 0  0 extra words").unwrap(), (0, 0));
        assert_eq!(
            parse_stat("4294967295 18446744073709551615").unwrap(),
            (u32::MAX, u64::MAX)
        );
        assert_eq!(protocol_offset(parse_stat("2")).0, 1);
        assert_eq!(protocol_offset(parse_stat("")).0, 0);
        assert_eq!(protocol_offset(parse_stat("2 x20")).0, 2);
        assert_eq!(protocol_offset(parse_stat("-1 20")).0, 0);
        assert_eq!(protocol_offset(parse_stat("4294967296 1")).0, 0);
    }

    #[test]
    fn numbers_too_large_for_their_type_never_wrap() {
        const HUGE: &str = "123456789012345678901234567890";
        let out_of_range = |r: Result<()>| match r {
            Err(Error::Protocol { message, .. }) => assert!(message.contains("out of range")),
            other => panic!("expected a protocol error, got {other:?}"),
        };
        out_of_range(parse_stat(&format!("{HUGE} 1")).map(drop));
        out_of_range(parse_stat(&format!("1 {HUGE}")).map(drop));
        out_of_range(parse_stat("1 18446744073709551616").map(drop));
        out_of_range(parse_list_line(&format!("{HUGE} 1")).map(drop));
        out_of_range(parse_list_line(&format!("1 {HUGE}")).map(drop));
        out_of_range(parse_uidl_line(&format!("{HUGE} uid")).map(drop));
        out_of_range(parse_list(format!("1 2\r\n{HUGE} 3\r\n").as_bytes()).map(drop));
        out_of_range(parse_uidl(format!("{HUGE} a\r\n").as_bytes()).map(drop));
        // Signs and other non-digits are not numbers at all.
        for bad in ["+1 2", "1 -2", "0x10 2", "1 2e3"] {
            assert!(parse_list_line(bad).is_err(), "{bad}");
        }
        // The greatest values still fit.
        assert_eq!(
            parse_list_line("4294967295 18446744073709551615")
                .unwrap()
                .size,
            u64::MAX
        );
    }

    #[test]
    fn list_and_uidl_lines() {
        assert_eq!(
            parse_list_line("1 120").unwrap(),
            ListEntry {
                number: 1,
                size: 120
            }
        );
        // The single-line answer to LIST 2 has the same shape.
        let single = parse_status(b"+OK 2 200\r\n")
            .unwrap()
            .into_result("LIST")
            .unwrap();
        assert_eq!(
            parse_list_line(&single).unwrap(),
            ListEntry {
                number: 2,
                size: 200
            }
        );
        assert_eq!(parse_list_line("3 5 octets").unwrap().size, 5);
        assert_eq!(protocol_offset(parse_list_line("3")).0, 1);
        assert_eq!(protocol_offset(parse_list_line("x 3")).0, 0);

        assert_eq!(
            parse_uidl_line("2 QhdPYR:00WBw1Ph7x7").unwrap(),
            UidlEntry {
                number: 2,
                uid: "QhdPYR:00WBw1Ph7x7".into()
            }
        );
        assert_eq!(parse_uidl_line("1\t<a@b>  ").unwrap().uid, "<a@b>");
        assert_eq!(protocol_offset(parse_uidl_line("1")).0, 1);
        assert_eq!(protocol_offset(parse_uidl_line("1 ab\u{7}c")).0, 4);
        assert_eq!(protocol_offset(parse_uidl_line("one uid")).0, 0);
    }

    #[test]
    fn multi_line_lists() {
        let list = parse_list(b"1 120\r\n2 200\r\n\r\n3 0\n").unwrap();
        assert_eq!(
            list,
            [
                ListEntry {
                    number: 1,
                    size: 120
                },
                ListEntry {
                    number: 2,
                    size: 200
                },
                ListEntry { number: 3, size: 0 }
            ]
        );
        assert!(parse_list(b"").unwrap().is_empty());
        assert!(parse_list(b"1 120\r\n2\r\n").is_err());
        let uidl = parse_uidl(b"1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n").unwrap();
        assert_eq!(uidl.len(), 2);
        assert_eq!(uidl[1].uid, "QhdPYR:00WBw1Ph7x7");
        assert_eq!(protocol_offset(parse_uidl(b"1 ab\xffc\r\n")).0, 4);
    }

    // --- CAPA and greeting --------------------------------------------------------------

    #[test]
    fn capabilities() {
        let capa = parse_capa(
            b"CAPA\r\ntop\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n\
USER\r\nSASL PLAIN LOGIN  xoauth2\r\nIMPLEMENTATION Dovecot (Ubuntu) ready.\r\n\
EXPIRE 31 USER\r\nLOGIN-DELAY 900\r\nSTLS\r\n\r\nUTF8 USER\n",
        );
        assert!(capa.has("pipelining") && capa.pipelining());
        assert!(capa.has("TOP") && capa.top());
        assert!(capa.uidl() && capa.user() && capa.stls() && capa.utf8());
        assert!(capa.resp_codes() && capa.auth_resp_code());
        assert!(!capa.has("APOP"));
        assert_eq!(capa.sasl_mechanisms(), ["PLAIN", "LOGIN", "xoauth2"]);
        assert_eq!(capa.implementation(), Some("Dovecot (Ubuntu) ready."));
        assert_eq!(capa.expire(), Some(Expire::Days(31)));
        assert_eq!(capa.get("expire").unwrap().args, ["31", "USER"]);
        assert_eq!(capa.login_delay(), Some(900));
        assert_eq!(capa.iter().count(), 13);
        assert_eq!(
            parse_capa(b"EXPIRE never\r\n").expire(),
            Some(Expire::Never)
        );
        let none = parse_capa(b"");
        assert!(!none.pipelining() && none.sasl_mechanisms().is_empty());
        assert_eq!(none.expire(), None);
        assert_eq!(none.login_delay(), None);
    }

    #[test]
    fn greeting_timestamp() {
        assert_eq!(
            apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(apop_timestamp("Dovecot ready."), None);
        assert_eq!(apop_timestamp("ready <no-at-sign>"), None);
        assert_eq!(apop_timestamp("ready <unclosed@x"), None);
        assert_eq!(
            apop_timestamp("<v1.2> ready <a <12.3@h> x"),
            Some("<12.3@h>")
        );
        assert_eq!(apop_timestamp("<>"), None);
    }

    // --- commands -----------------------------------------------------------------------

    fn encoded(c: Command<'_>) -> String {
        String::from_utf8(c.encode().unwrap()).unwrap()
    }

    fn invalid(c: Command<'_>) -> String {
        match c.encode() {
            Err(Error::InvalidInput { what, reason }) => format!("{what}: {reason}"),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn command_encoding() {
        assert_eq!(encoded(Command::Capa), "CAPA\r\n");
        assert_eq!(encoded(Command::User("alice")), "USER alice\r\n");
        assert_eq!(encoded(Command::Pass("two words")), "PASS two words\r\n");
        assert_eq!(
            encoded(Command::Apop {
                user: "mrose",
                digest: "c4c9334bac560ecc979e58001b3e22fb"
            }),
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"
        );
        assert_eq!(encoded(Command::List(None)), "LIST\r\n");
        assert_eq!(encoded(Command::List(Some(2))), "LIST 2\r\n");
        assert_eq!(encoded(Command::Uidl(Some(7))), "UIDL 7\r\n");
        assert_eq!(encoded(Command::Retr(1)), "RETR 1\r\n");
        assert_eq!(
            encoded(Command::Top {
                number: 3,
                lines: 0
            }),
            "TOP 3 0\r\n"
        );
        assert_eq!(encoded(Command::Dele(4)), "DELE 4\r\n");
        assert_eq!(encoded(Command::Stat), "STAT\r\n");
        assert_eq!(encoded(Command::Quit), "QUIT\r\n");
        assert_eq!(
            encoded(Command::Auth {
                mechanism: "PLAIN",
                initial_response: Some("")
            }),
            "AUTH PLAIN =\r\n"
        );
        assert_eq!(encoded(Command::AuthResponse("")), "\r\n");
        assert_eq!(encoded(Command::AuthResponse("*")), "*\r\n");
        assert!(Command::Retr(1).is_multi_line() && Command::Capa.is_multi_line());
        assert!(!Command::List(Some(1)).is_multi_line() && Command::List(None).is_multi_line());
    }

    #[test]
    fn command_injection_is_refused() {
        assert!(invalid(Command::User("a\r\nDELE 1")).contains("CR or LF"));
        assert!(invalid(Command::Pass("pw\nQUIT")).contains("CR or LF"));
        assert!(invalid(Command::Pass("p\0w")).contains("NUL"));
        assert!(invalid(Command::User("")).contains("empty"));
        assert!(
            invalid(Command::Apop {
                user: "a b",
                digest: "d"
            })
            .contains("space")
        );
        assert!(invalid(Command::Retr(0)).contains("start at 1"));
        assert!(
            invalid(Command::Top {
                number: 0,
                lines: 1
            })
            .contains("start at 1")
        );
        assert!(
            invalid(Command::Auth {
                mechanism: "PLAIN X",
                initial_response: None
            })
            .starts_with("SASL mechanism")
        );
        assert!(invalid(Command::AuthResponse("abc\r\n")).contains("CR or LF"));
    }

    #[test]
    fn the_255_octet_limit() {
        // "PASS " + 248 + CRLF = 255: allowed; one more is refused.
        let fits = "p".repeat(248);
        assert_eq!(Command::Pass(&fits).encode().unwrap().len(), 255);
        let over = "p".repeat(249);
        let reason = invalid(Command::Pass(&over));
        assert!(
            reason.contains("256 octets") && reason.contains("255"),
            "{reason}"
        );
        // A continuation response may be longer (OAuth2 tokens are).
        let long = "A".repeat(2000);
        assert_eq!(Command::AuthResponse(&long).encode().unwrap().len(), 2002);
    }

    #[test]
    fn auth_initial_response_rule() {
        // "AUTH PLAIN " (11) + 242 + CRLF = 255: sent with the command.
        let fits = "A".repeat(242);
        let plan = plan_auth("PLAIN", Some(&fits)).unwrap();
        assert_eq!(plan.deferred_response, None);
        assert_eq!(plan.command.encode().unwrap().len(), 255);
        // One octet more: sent after the continuation, command without "=".
        let over = "A".repeat(243);
        let plan = plan_auth("XOAUTH2", Some(&over)).unwrap();
        assert_eq!(plan.command.encode().unwrap(), b"AUTH XOAUTH2\r\n");
        assert_eq!(plan.deferred_response, Some(over.as_str()));
        // Empty initial response: "=".
        let plan = plan_auth("PLAIN", Some("")).unwrap();
        assert_eq!(plan.command.encode().unwrap(), b"AUTH PLAIN =\r\n");
        // No initial response (LOGIN).
        let plan = plan_auth("LOGIN", None).unwrap();
        assert_eq!(plan.command.encode().unwrap(), b"AUTH LOGIN\r\n");
        assert_eq!(plan.deferred_response, None);
        assert!(plan_auth("PLAIN", Some("a\r\nb")).is_err());
        assert!(plan_auth("PLAIN", Some(&format!("{over}\r\n"))).is_err());
        assert!(plan_auth("BAD MECH", Some("x")).is_err());
    }

    #[test]
    fn trace_text_redacts_secrets() {
        let secret = "s3cr3t";
        for c in [
            Command::Pass(secret),
            Command::Apop {
                user: "mrose",
                digest: secret,
            },
            Command::Auth {
                mechanism: "PLAIN",
                initial_response: Some(secret),
            },
            Command::AuthResponse(secret),
        ] {
            let t = c.trace_text();
            assert!(!t.contains(secret) && t.contains("<redacted>"), "{t}");
            assert!(!format!("{c:?}").contains(secret));
        }
        assert_eq!(
            Command::Apop {
                user: "mrose",
                digest: "d"
            }
            .trace_text(),
            "APOP mrose <redacted>"
        );
        assert_eq!(Command::User("alice").trace_text(), "USER alice");
        assert_eq!(Command::Retr(3).trace_text(), "RETR 3");
        assert_eq!(Command::AuthResponse("*").trace_text(), "*");
        assert_eq!(
            Command::Auth {
                mechanism: "LOGIN",
                initial_response: None
            }
            .trace_text(),
            "AUTH LOGIN"
        );
    }
}
