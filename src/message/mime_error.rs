//! Problems met while parsing a message, and how many are kept.

use std::fmt;

use crate::error::{Error, excerpt};

use super::MAX_ERRORS;

/// A problem met while parsing a message's MIME structure.
///
/// Converts into [`Error::Protocol`] for callers who want to fail on it. The message never
/// quotes more than a few dozen characters of the mail, escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MimeError {
    /// The IMAP part number of the part concerned; empty for the message as a whole.
    pub path: String,
    /// The byte offset in the raw message where the problem is.
    pub offset: usize,
    /// What went wrong and what was done about it.
    pub message: String,
    /// A few escaped bytes around the offset.
    pub excerpt: String,
}

impl fmt::Display for MimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "message: {} (at byte {})", self.message, self.offset)
        } else {
            write!(
                f,
                "part {}: {} (at byte {})",
                self.path, self.message, self.offset
            )
        }
    }
}

impl std::error::Error for MimeError {}

impl From<MimeError> for Error {
    fn from(e: MimeError) -> Error {
        let message = if e.path.is_empty() {
            format!("malformed message: {}", e.message)
        } else {
            format!("malformed MIME part {}: {}", e.path, e.message)
        };
        Error::Protocol {
            message,
            excerpt: e.excerpt,
            offset: e.offset,
        }
    }
}

/// Collects parse problems, at most `MAX_ERRORS` of them; the caps that cut a message short
/// are reported once each and never suppressed.
#[derive(Default)]
pub(super) struct Errors {
    list: Vec<MimeError>,
    suppressed: usize,
}

impl Errors {
    pub(super) fn push(
        &mut self,
        raw: &[u8],
        path: &str,
        offset: usize,
        message: impl Into<String>,
    ) {
        if self.list.len() >= MAX_ERRORS {
            self.suppressed = self.suppressed.saturating_add(1);
            return;
        }
        self.always(raw, path, offset, message);
    }

    /// Records a problem even when `MAX_ERRORS` are already recorded (for the caps, which
    /// happen once per message).
    pub(super) fn always(
        &mut self,
        raw: &[u8],
        path: &str,
        offset: usize,
        message: impl Into<String>,
    ) {
        self.list.push(MimeError {
            path: path.to_string(),
            offset,
            message: message.into(),
            excerpt: excerpt(raw, offset),
        });
    }

    pub(super) fn finish(mut self) -> Vec<MimeError> {
        if self.suppressed > 0 {
            self.list.push(MimeError {
                path: String::new(),
                offset: 0,
                message: format!("{} further problems not listed", self.suppressed),
                excerpt: String::new(),
            });
        }
        self.list
    }
}
