//! The guides in docs/ compiled as doc tests, so that every Rust block in them builds
//! (README.md, docs/troubleshooting.md, docs/imap.md, docs/sync.md and docs/pop3.md are
//! included beside the code they describe; `tests/doc_blocks.rs` checks that every guide
//! with a Rust block is included somewhere).

/// docs/errors.md.
#[doc = include_str!("../docs/errors.md")]
pub struct Errors;

/// docs/getting-started.md.
#[doc = include_str!("../docs/getting-started.md")]
pub struct GettingStarted;

/// docs/idle.md.
#[doc = include_str!("../docs/idle.md")]
pub struct Idle;

/// docs/imap-codec.md.
#[doc = include_str!("../docs/imap-codec.md")]
pub struct ImapCodec;

/// docs/migrating-from-python.md.
#[doc = include_str!("../docs/migrating-from-python.md")]
pub struct MigratingFromPython;

/// docs/pooling.md.
#[doc = include_str!("../docs/pooling.md")]
pub struct Pooling;

/// docs/architecture.md (no Rust blocks today; included so that one added is compiled).
#[doc = include_str!("../docs/architecture.md")]
pub struct Architecture;

/// docs/performance.md.
#[doc = include_str!("../docs/performance.md")]
pub struct Performance;

/// docs/reliability.md.
#[doc = include_str!("../docs/reliability.md")]
pub struct Reliability;

/// docs/security.md.
#[doc = include_str!("../docs/security.md")]
pub struct Security;

/// docs/index.md.
#[doc = include_str!("../docs/index.md")]
pub struct Index;
