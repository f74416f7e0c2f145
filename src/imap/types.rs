//! Typed IMAP responses (in progress).
