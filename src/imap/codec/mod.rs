//! The pure IMAP protocol layer: functions over bytes, no sockets.
//!
//! - [`frame`] splits a byte stream into complete responses (lines and literals);
//! - [`parse`] turns one framed response into a typed [`Response`](crate::imap::types::Response);
//! - [`encode`] builds commands, choosing atom / quoted / literal for every user string;
//! - [`utf7`] converts mailbox names to and from modified UTF-7.

pub mod encode;
pub mod frame;
pub mod parse;
pub mod utf7;
