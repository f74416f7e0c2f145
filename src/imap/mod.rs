//! IMAP4rev1 / IMAP4rev2 client.
//!
//! [`codec`] is the pure protocol layer (framing, parsing, encoding) with no I/O.

pub mod codec;
pub mod folder;
pub mod search;
pub mod seqset;
pub mod types;
