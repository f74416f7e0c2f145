//! The command encoder's former path, kept for one release: its items are in
//! [`imap::codec`](super) now, three of them renamed.

pub use super::{
    Command, EncodeOptions, EncodedCommand, Flag, InternalDate, LITERAL_MINUS_MAX, ListReturn,
    LiteralMode, Partial, Qresync, RawArg, SearchReturn, Secret, Section, SectionText,
    SelectOptions, StoreAction, idle_done, sasl_response,
};

/// The former name of [`FetchAttr`](super::FetchAttr).
pub type FetchItem = super::FetchAttr;

/// The former name of [`StatusAttr`](super::StatusAttr).
pub type StatusItem = super::StatusAttr;

/// The former name of [`MailboxName`](super::MailboxName).
pub type Mailbox = super::MailboxName;
