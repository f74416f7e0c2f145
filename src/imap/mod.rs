//! IMAP4rev1 / IMAP4rev2 client.
//!
//! [`codec`] is the pure protocol layer (framing, parsing, encoding) with no I/O.

pub mod codec;
mod connection;
pub mod folder;
mod handler;
mod idle;
mod idle_queue;
mod meta;
mod pool;
pub mod search;
pub mod seqset;
pub(crate) mod session;
mod sync;
pub mod types;
pub mod uids;
mod validity;

pub use codec::encode::InternalDate;
pub use connection::{
    AppendUid, CopyUids, FetchWhat, FolderStatus, ImapConnection, ImapGuard, Mailbox, Namespaces,
    Quota,
};
pub use folder::{Folder, FolderKind};
pub use handler::{ImapHandler, Selection};
pub use idle::{IdleEvent, IdleEvents, IdleListener, IdleListenerBuilder};
pub use pool::{ImapManager, ImapPool, PooledImap};
pub use search::SearchQuery;
pub use seqset::SequenceSet;
pub use session::{Capabilities, ConnectionState};
pub use sync::{SyncDelta, SyncState, SyncStrategy};
pub use types::Flag;
pub use uids::{Uid, Uids};
