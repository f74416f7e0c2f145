//! Message flags, shared by every protocol.

pub use crate::imap::types::Flag;
