//! The pure IMAP protocol layer: functions over bytes, no sockets.
//!
//! - [`frame`] splits a byte stream into complete responses (lines and literals), or finds
//!   the first complete response in a buffer you already hold (`complete_len`);
//! - [`parse`] turns one framed response into a typed [`Response`](crate::imap::types::Response),
//!   or a FETCH response into [`FetchParts`](parse::FetchParts) with the message data
//!   borrowed (`parse_fetch`);
//! - [`encode`] builds commands, choosing atom / quoted / literal for every user string;
//! - `writer` (internal) writes one command's bytes and trace, choosing the string form;
//! - [`utf7`] converts mailbox names to and from modified UTF-7.

pub mod encode;
pub mod frame;
pub mod parse;
pub mod utf7;
pub(crate) mod writer;
