//! # mailwire
//!
//! Blocking IMAP and POP3 clients for synchronous Rust code and worker threads.
//!
//! Everything starts from a [`Config`], built with [`Config::builder`]; every fallible call
//! returns [`Result`], whose error type is the single [`Error`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub(crate) mod base64;
pub mod config;
pub mod error;
pub mod imap;
pub mod message;
pub(crate) mod net;
pub mod pool;
pub mod pop3;
pub mod sasl;

pub use config::{Config, ConfigBuilder, Credentials, Limits, Protocol, RetryPolicy, Security};
pub use error::{Error, Result, ServerStatus};
pub use message::{Address, Attachment, Disposition, Message, MessageMeta, MimeError, Part};

/// The README's code examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
