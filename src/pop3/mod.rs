//! POP3 client.
//!
//! - [`Pop3Handler`]: one logged-in connection, `Send + Sync`, every POP3 command of
//!   RFC 1939 / 2449 (STAT, LIST, UIDL, RETR — streamed, pipelined —, TOP, DELE, RSET, NOOP,
//!   QUIT), with STLS, `AUTH` (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER), `USER` / `PASS` and
//!   APOP. [`Pop3Handler::session`] runs a unit of work and quits only on success.
//! - [`Pop3Pool`]: connections kept per account (one by default: the server locks the
//!   maildrop), on the shared [pool core](crate::pool). A checked-out connection is a unit
//!   of work whose deletions are committed only by [`Pop3PoolGuard::commit`] (or
//!   [`Pop3Pool::session`] with a closure that returned `Ok`), never by a drop, an error or
//!   a panic.
//! - [`Download`]: a maildrop downloaded into the caller's [`Pop3Store`] so that no crash
//!   loses or repeats a message: new messages saved, saved ones deleted (earlier leftovers
//!   too), committed with `QUIT` only when all of it succeeded
//!   ([`Pop3Handler::download`]).
//! - [`codec`]: the pure protocol layer (status lines, multi-line responses) with no I/O.
//!
//! Deletions are committed only by `QUIT`; see [`Pop3Handler`]. The guide is
//! `docs/pop3.md`.

pub(crate) mod apop;
pub mod codec;
mod download;
mod handler;
mod listing;
mod pool;
pub(crate) mod session;

pub use codec::{Capabilities, ListEntry, UidlEntry};
pub use download::{Download, DownloadReport, Incoming, Pop3Store};
pub use handler::{MailboxStat, Pop3Handler};
pub use pool::{Pop3Manager, Pop3Pool, Pop3PoolGuard};
pub use session::{LoginMethod, Pop3Options};
