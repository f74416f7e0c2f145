//! Typed IMAP search queries (in progress).
