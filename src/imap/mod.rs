//! IMAP4rev1 / IMAP4rev2 client.
//!
//! [`codec`] is the pure protocol layer (framing, parsing, encoding) with no I/O.

pub mod codec;
mod connection;
pub mod folder;
mod handler;
pub(crate) mod hook;
mod idle;
mod idle_queue;
mod mailbox;
mod meta;
mod path;
mod pool;
pub mod search;
pub mod seqset;
pub(crate) mod session;
mod sync;
pub mod types;
pub mod uids;
mod validity;

pub use codec::{AppendMessage, InternalDate};
pub use codec::{SortCriterion, SortKey, ThreadAlgorithm};
pub use connection::{
    AppendUid, CopyUids, FetchWhat, FolderStatus, ImapConnection, ImapGuard, Namespaces, Quota,
    SavedSearch, SearchStats,
};
pub use folder::{Folder, FolderKind};
pub use handler::{ImapHandler, Selection};
pub use idle::{
    GroupEvent, GroupEvents, GroupStats, IdleGroup, IdleGroupBuilder, IdleListener,
    IdleListenerBuilder, WatchId,
};
pub use idle_queue::{IdleEvent, IdleEvents, WatchMode};
pub use mailbox::Mailbox;
pub use path::{FolderLayout, FolderPath, LayoutSource};
pub use pool::{ImapManager, ImapPool, PooledImap};
pub use search::SearchQuery;
pub use seqset::SequenceSet;
pub use session::{Capabilities, ConnectionState};
pub use sync::{SyncDelta, SyncState, SyncStrategy};
pub use types::{Flag, Thread};
pub use uids::{Uid, Uids};
