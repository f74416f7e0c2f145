//! # mailwire
//!
//! Blocking IMAP and POP3 clients for synchronous Rust code and worker threads: mail sync
//! services, archivers, ticketing backends, monitors that react to new mail.
//!
//! Everything starts from a [`Config`] (one account on one server), built with
//! [`Config::builder`] and validated once. Every fallible call returns [`Result`], whose
//! error is the single [`Error`]; [`Error::is_transient`] says whether trying again may help.
//!
//! ## Which type for what
//!
//! | You want to… | Use |
//! |---|---|
//! | talk IMAP on one connection, from one or many threads | [`imap::ImapConnection`] |
//! | serve many calls / accounts from worker threads | [`imap::ImapHandler`] (over [`imap::ImapPool`]) |
//! | react to new mail in a folder | [`imap::IdleListener`] |
//! | watch many accounts or folders at once | [`imap::IdleGroup`] |
//! | read a POP3 maildrop | [`pop3::Pop3Handler`], [`pop3::Pop3Pool`] |
//! | read a message: headers, bodies, attachments | [`Message`] |
//! | build search criteria | [`imap::SearchQuery`] |
//! | parse raw IMAP bytes yourself | [`imap::codec`] |
//!
//! ## IMAP in a few lines
//!
//! ```no_run
//! use mailwire::{Config, Security};
//! use mailwire::imap::{ImapConnection, SearchQuery};
//!
//! let config = Config::builder("imap.example.com")
//!     .security(Security::Tls)                 // 993; StartTls for 143; never plaintext by accident
//!     .login("alice@example.com", "app-password")
//!     .build()?;
//! let conn = ImapConnection::connect(&config)?;
//! let unseen = conn.search("INBOX", &SearchQuery::unseen())?;
//! for message in conn.fetch_messages("INBOX", &unseen)? {  // BODY.PEEK: stays unseen
//!     println!("{:?} {:?}", message.from(), message.subject());
//!     for file in message.attachments() {
//!         println!("  attachment {:?} ({} bytes)", file.filename(), file.size());
//!     }
//! }
//! conn.mark_as_read("INBOX", &unseen)?;
//! conn.logout();
//! # Ok::<(), mailwire::Error>(())
//! ```
//!
//! ## Threads
//!
//! [`imap::ImapConnection`], [`imap::ImapHandler`], [`imap::ImapPool`],
//! [`imap::IdleListener`], [`imap::IdleGroup`], [`pop3::Pop3Handler`] and [`pop3::Pop3Pool`]
//! are `Send + Sync`.
//! A connection serialises its callers; every folder-scoped call names its folder and
//! selects it under the same lock, so threads sharing a connection never act on each
//! other's folder. For throughput, give each worker its own connection through the pool.
//!
//! ## Failures
//!
//! Deadlines bound operations, not reads: an answer completes within
//! [`Config::read_timeout`] or keeps arriving at [`Limits::min_transfer_rate`], so a server
//! that trickles cannot stretch a call; connecting is bounded as a whole by the connect
//! timeout, and closing (LOGOUT, QUIT, every `Drop`) takes at most a second. Connecting is
//! retried with exponential backoff on transient failures only (never after a rejected
//! password, nor after a `BYE` in answer to it). A connection that saw a transport or
//! protocol error is marked broken ([`Error::breaks_connection`]) and is never reused by the
//! pools. [`Limits`] bound every size and count a server sends (lines, literals, whole
//! responses, untagged responses per command, POP3 listings, sets), and an optional
//! [`MemoryBudget`] bounds the response buffers of many connections together.
//!
//! ## Security defaults
//!
//! Certificates are verified (add a private CA with
//! [`ConfigBuilder::add_root_certificate_pem`]); `Security::StartTls` fails rather than fall
//! back to plaintext and refuses bytes injected before the handshake; user strings are
//! encoded so no input can inject a command; passwords, tokens and SASL payloads never
//! appear in `Debug` output or logs.
//!
//! ## Logging
//!
//! Through the `log` crate: targets `mailwire::net`, `mailwire::imap`, `mailwire::pop3`,
//! `mailwire::pool`, `mailwire::idle`, and `mailwire::wire` for the protocol trace (level
//! `trace`, credentials redacted). Every line carries the connection id (`[imap#3]`).
//!
//! More in the `docs/` folder of the repository: getting started, one guide per area, the
//! errors and what to do about each, troubleshooting, and the mapping from the Python
//! service mailwire replaces.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod atom;
pub(crate) mod base64;
pub mod budget;
mod cancel;
pub mod config;
pub mod credentials;
#[cfg(doctest)]
mod doc_tests;
pub mod error;
mod flag;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod imap;
pub mod message;
pub(crate) mod net;
pub mod pool;
pub mod pop3;
mod progress;
pub mod sasl;
mod setters;
mod throttle;

pub use budget::MemoryBudget;
pub use cancel::Cancel;
pub use config::{
    Config, ConfigBuilder, Credentials, Keepalive, Limits, Protocol, RetryPolicy, Security,
};
pub use error::{Error, Result, Retry, ServerStatus};
pub use flag::Flag;
pub use message::{Address, Attachment, Disposition, Message, MessageMeta, MimeError, Part};
pub use progress::Progress;

/// The README's code examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// docs/troubleshooting.md's code examples (the OAuth2 token provider, the NetEase client
/// ID), compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/troubleshooting.md")]
pub struct TroubleshootingDoctests;
