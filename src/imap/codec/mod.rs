//! The pure IMAP protocol layer: functions over bytes, no sockets.
//!
//! - [`frame`] splits a byte stream into complete responses (lines and literals), or finds
//!   the first complete response in a buffer you already hold (`complete_len`);
//! - [`parse`] turns one framed response into a typed [`Response`](crate::imap::types::Response),
//!   or a FETCH response into [`FetchParts`](parse::FetchParts) with the message data
//!   borrowed (`parse_fetch`);
//! - [`Command`] and its argument types (here, from the internal `command` module) build
//!   commands, choosing atom / quoted / literal for every user string;
//! - `writer` (internal) writes one command's bytes and trace, choosing the string form;
//!   its [`EncodeOptions`] and [`EncodedCommand`] are here too;
//! - [`utf7`] converts mailbox names to and from modified UTF-7.
//!
//! Requests and responses have one name each: a client asks for [`FetchAttr`]s and
//! [`StatusAttr`]s, the server answers with [`FetchData`](crate::imap::types::FetchData)
//! and [`StatusData`](crate::imap::types::StatusData); [`MailboxName`] is a mailbox as a
//! command argument.

mod command;
#[deprecated(
    since = "0.2.0",
    note = "the same items are in `mailwire::imap::codec`; `FetchItem` is `FetchAttr`, `StatusItem` is `StatusAttr`, `Mailbox` is `MailboxName`, `Flag` is the one `mailwire::Flag`"
)]
pub mod encode;
pub mod frame;
pub mod parse;
pub mod utf7;
pub(crate) mod writer;

pub(crate) use command::sasl_line;
pub use command::{
    AppendMessage, Command, FetchAttr, InternalDate, ListReturn, MailboxName, Partial, Qresync,
    RawArg, SavedAction, SearchReturn, Secret, Section, SectionText, SelectOptions, SortCriterion,
    SortKey, StatusAttr, StoreAction, ThreadAlgorithm, idle_done, sasl_response,
};
pub use writer::{EncodeOptions, EncodedCommand, LITERAL_MINUS_MAX, LiteralMode};

pub use crate::flag::Flag;
