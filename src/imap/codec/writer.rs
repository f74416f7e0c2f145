//! The string writer: one IMAP command's bytes and trace, with every user string written
//! as atom, quoted string or literal by one rule ([`choose`]).
//!
//! [`EncodeOptions`] say what the server allows, [`EncodedCommand`] is what comes out; the
//! encoder (`encode.rs`) and the search keys (`imap/search.rs`) write through
//! [`Writer`].

use std::fmt;

pub(crate) use crate::atom::{check_atom, is_atom_char};
use crate::error::{Error, Result, escape_bytes};
use crate::imap::seqset::SequenceSet;
use crate::setters::setters;

/// The largest literal sent non-synchronizing under `LITERAL-` (RFC 7888).
pub const LITERAL_MINUS_MAX: usize = 4096;

/// Quoted strings longer than this are sent as literals instead.
const MAX_QUOTED: usize = 1024;

/// Literals up to this size are shown in the trace; longer ones as a byte count.
const TRACE_LITERAL_MAX: usize = 80;

/// Which kind of literal the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LiteralMode {
    /// Only synchronizing literals `{n}`: the client waits for `+` before the data.
    #[default]
    Synchronizing,
    /// `LITERAL+` (RFC 7888): every literal may be non-synchronizing, `{n+}`.
    Plus,
    /// `LITERAL-` (RFC 7888): non-synchronizing only up to [`LITERAL_MINUS_MAX`] bytes.
    Minus,
}

/// What the server has advertised or enabled that changes how commands are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// The literal form the server accepts.
    pub literal: LiteralMode,
    /// `ENABLE UTF8=ACCEPT` succeeded: mailbox names and quoted strings are sent as UTF-8.
    pub utf8_accept: bool,
    /// `ENABLE IMAP4rev2` succeeded (RFC 9051): names are UTF-8 as with
    /// [`utf8_accept`](Self::utf8_accept), but a message with 8-bit headers goes in a plain
    /// `APPEND` literal (IMAP4rev2 has no `UTF8 (...)` append data).
    pub imap4rev2: bool,
}

impl EncodeOptions {
    /// The conservative default: synchronizing literals, no UTF-8.
    pub fn new() -> EncodeOptions {
        EncodeOptions::default()
    }

    setters! {
        /// Sets the literal form.
        #[must_use]
        pub fn with_literal(literal: LiteralMode) -> EncodeOptions { self.literal = literal }

        /// Sets whether `UTF8=ACCEPT` is enabled.
        #[must_use]
        pub fn with_utf8_accept(utf8_accept: bool) -> EncodeOptions {
            self.utf8_accept = utf8_accept
        }

        /// Sets whether `IMAP4rev2` is enabled.
        #[must_use]
        pub fn with_imap4rev2(imap4rev2: bool) -> EncodeOptions { self.imap4rev2 = imap4rev2 }
    }
}

/// A command ready to send, in parts.
///
/// Send [`parts`](Self::parts) in order. Every part but the last ends with a synchronizing
/// literal announcement `{n}\r\n` (or `~{n}\r\n`): after sending it, wait for the server's
/// `+` continuation (a tagged `NO`/`BAD` instead means the command was refused) before
/// sending the next. The last part ends with the command's single CRLF.
///
/// `Debug` and [`trace_text`](Self::trace_text) show the command with credentials replaced
/// by `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedCommand {
    parts: Vec<Vec<u8>>,
    trace: String,
}

impl EncodedCommand {
    /// A command of one line, `line` already ending in CRLF, shown as `trace`.
    pub(crate) fn line(line: Vec<u8>, trace: &str) -> EncodedCommand {
        EncodedCommand {
            parts: vec![line],
            trace: trace.to_string(),
        }
    }

    /// The parts to send, in order (see the type's documentation).
    pub fn parts(&self) -> &[Vec<u8>] {
        &self.parts
    }

    /// Takes the parts out.
    pub fn into_parts(self) -> Vec<Vec<u8>> {
        self.parts
    }

    /// Whether the command has a synchronizing literal, so that sending it needs the
    /// server's continuation between parts.
    pub fn needs_continuation(&self) -> bool {
        self.parts.len() > 1
    }

    /// All parts joined: the exact bytes the command puts on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.parts.concat()
    }

    /// The total length in bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    /// Whether the command is empty (never true for an encoded command).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A one-line rendering for logs: control and 8-bit bytes escaped, long literals shown
    /// as a byte count, and passwords, tokens and SASL responses as `<redacted>`. No CRLF.
    pub fn trace_text(&self) -> &str {
        &self.trace
    }
}

impl fmt::Debug for EncodedCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedCommand")
            .field("parts", &self.parts.len())
            .field("trace", &self.trace)
            .finish()
    }
}

/// ASTRING-CHAR of RFC 3501: ATOM-CHAR or `]`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// Refuses a string holding NUL, which IMAP cannot send in any form.
pub(crate) fn refuse_nul(bytes: &[u8], what: &str) -> Result<()> {
    match bytes.iter().position(|&b| b == 0) {
        Some(at) => Err(Error::invalid(
            what,
            format!("contains a NUL byte (at offset {at}), which IMAP cannot send"),
        )),
        None => Ok(()),
    }
}

/// Which grammar a string argument must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// `astring`: atom (with `]`), quoted or literal.
    Astring,
    /// `list-mailbox`: like astring, also allowing `%` and `*` in the atom form.
    ListMailbox,
    /// `string`: quoted or literal only.
    String,
}

/// How one string is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repr {
    Atom,
    Quoted,
    Literal,
}

/// The one place that decides how a user string goes on the wire (NUL is refused before).
pub(crate) fn choose(bytes: &[u8], syntax: Syntax, utf8_accept: bool) -> Repr {
    if bytes.is_empty() {
        return Repr::Quoted;
    }
    let atom_ok = match syntax {
        Syntax::String => false,
        Syntax::Astring => bytes.iter().all(|&b| is_astring_char(b)),
        Syntax::ListMailbox => bytes
            .iter()
            .all(|&b| is_astring_char(b) || b == b'%' || b == b'*'),
    };
    // NIL would read as nil where an nstring is possible; quote it to be unambiguous.
    if atom_ok && !bytes.eq_ignore_ascii_case(b"NIL") {
        return Repr::Atom;
    }
    let printable = |b: u8| (0x20..=0x7e).contains(&b);
    let quotable = bytes.len() <= MAX_QUOTED
        && if bytes.is_ascii() {
            bytes.iter().all(|&b| printable(b))
        } else {
            // 8-bit only as UTF-8 under UTF8=ACCEPT, and still no controls.
            utf8_accept
                && std::str::from_utf8(bytes).is_ok()
                && bytes.iter().all(|&b| b >= 0x80 || printable(b))
        };
    if quotable {
        Repr::Quoted
    } else {
        Repr::Literal
    }
}

/// Builds the parts of one command and its trace.
pub(crate) struct Writer<'o> {
    opts: &'o EncodeOptions,
    parts: Vec<Vec<u8>>,
    cur: Vec<u8>,
    trace: String,
}

impl<'o> Writer<'o> {
    pub(crate) fn new(opts: &'o EncodeOptions) -> Writer<'o> {
        Writer {
            opts,
            parts: Vec::new(),
            cur: Vec::with_capacity(64),
            trace: String::with_capacity(64),
        }
    }

    /// The options the command is written under.
    pub(crate) fn options(&self) -> &EncodeOptions {
        self.opts
    }

    /// Library-made syntax (keywords, parentheses, validated atoms): written as is.
    pub(crate) fn token(&mut self, t: &str) {
        self.cur.extend_from_slice(t.as_bytes());
        self.trace.push_str(t);
    }

    /// A token that is a secret: written as is, traced as `<redacted>`.
    pub(crate) fn secret_token(&mut self, t: &str) {
        self.cur.extend_from_slice(t.as_bytes());
        self.trace.push_str("<redacted>");
    }

    pub(crate) fn sp(&mut self) {
        self.token(" ");
    }

    /// Writes each of `items` with `write`, a space between two; stops at the first error.
    pub(crate) fn spaced<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut write: impl FnMut(&mut Self, T) -> Result<()>,
    ) -> Result<()> {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sp();
            }
            write(self, item)?;
        }
        Ok(())
    }

    /// `(item item ...)`: [`spaced`](Self::spaced) in parentheses.
    pub(crate) fn parenthesized<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        write: impl FnMut(&mut Self, T) -> Result<()>,
    ) -> Result<()> {
        self.token("(");
        self.spaced(items, write)?;
        self.token(")");
        Ok(())
    }

    pub(crate) fn number(&mut self, n: u64) {
        self.token(&n.to_string());
    }

    pub(crate) fn set(&mut self, set: &SequenceSet, what: &str) -> Result<()> {
        set.validate(what)?;
        self.token(&set.to_string());
        Ok(())
    }

    pub(crate) fn astring(&mut self, bytes: &[u8], what: &str) -> Result<()> {
        self.write_string(bytes, Syntax::Astring, false, what)
    }

    pub(crate) fn string(&mut self, bytes: &[u8], what: &str) -> Result<()> {
        self.write_string(bytes, Syntax::String, false, what)
    }

    /// Writes a user string as atom, quoted string or literal; refuses NUL.
    pub(crate) fn write_string(
        &mut self,
        bytes: &[u8],
        syntax: Syntax,
        secret: bool,
        what: &str,
    ) -> Result<()> {
        refuse_nul(bytes, what)?;
        match choose(bytes, syntax, self.opts.utf8_accept) {
            Repr::Atom => {
                self.cur.extend_from_slice(bytes);
                if secret {
                    self.trace.push_str("<redacted>");
                } else {
                    self.trace.push_str(&escape_bytes(bytes));
                }
            }
            Repr::Quoted => {
                self.cur.push(b'"');
                for &b in bytes {
                    if b == b'"' || b == b'\\' {
                        self.cur.push(b'\\');
                    }
                    self.cur.push(b);
                }
                self.cur.push(b'"');
                if secret {
                    self.trace.push_str("<redacted>");
                } else {
                    self.trace.push('"');
                    self.trace
                        .push_str(&escape_bytes(bytes).replace('"', "\\\""));
                    self.trace.push('"');
                }
            }
            Repr::Literal => self.literal(bytes, false, secret),
        }
        Ok(())
    }

    /// Writes a literal (`~{n}` when `binary`), splitting the command after a synchronizing
    /// announcement.
    pub(crate) fn literal(&mut self, data: &[u8], binary: bool, secret: bool) {
        let non_sync = match self.opts.literal {
            LiteralMode::Synchronizing => false,
            LiteralMode::Plus => true,
            LiteralMode::Minus => data.len() <= LITERAL_MINUS_MAX,
        };
        let head = format!(
            "{}{{{}{}}}",
            if binary { "~" } else { "" },
            data.len(),
            if non_sync { "+" } else { "" }
        );
        self.cur.extend_from_slice(head.as_bytes());
        self.cur.extend_from_slice(b"\r\n");
        self.trace.push_str(&head);
        if secret {
            self.trace.push_str("<redacted>");
        } else if data.len() <= TRACE_LITERAL_MAX {
            self.trace.push_str(&escape_bytes(data));
        } else {
            self.trace.push_str(&format!("<{} bytes>", data.len()));
        }
        if !non_sync {
            self.parts.push(std::mem::take(&mut self.cur));
        }
        self.cur.extend_from_slice(data);
    }

    pub(crate) fn finish(mut self) -> EncodedCommand {
        self.cur.extend_from_slice(b"\r\n");
        self.parts.push(self.cur);
        EncodedCommand {
            parts: self.parts,
            trace: self.trace,
        }
    }
}
