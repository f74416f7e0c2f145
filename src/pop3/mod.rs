//! POP3 client.
//!
//! [`codec`] is the pure protocol layer (status lines, multi-line responses) with no I/O.

pub(crate) mod apop;
pub mod codec;
