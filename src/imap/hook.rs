//! The caller's setup run on every IMAP connection the library opens for a config
//! (`ConfigBuilder::on_connect`), and the client's `ID` fields (`ConfigBuilder::client_id`).
//! The library's own setup (`ID`, then `ENABLE`: `imap/session/enable.rs`) runs before the
//! hook, inside `Session::establish`.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::imap::connection::ImapConnection;

/// The function an [`OnConnect`] hook calls.
type Setup = dyn Fn(&ImapConnection) -> Result<()> + Send + Sync;

/// The caller's setup for each new IMAP connection, set with
/// [`ConfigBuilder::on_connect`](crate::ConfigBuilder::on_connect). Clones share the
/// function; `Debug` shows nothing of it.
#[derive(Clone)]
pub(crate) struct OnConnect(Arc<Setup>);

impl OnConnect {
    pub(crate) fn new(
        setup: impl Fn(&ImapConnection) -> Result<()> + Send + Sync + 'static,
    ) -> OnConnect {
        OnConnect(Arc::new(setup))
    }

    /// The function's address: which hook a pooled connection ran (the pool's reuse key).
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.0).cast::<()>() as usize
    }

    /// Runs the setup on `conn`; a panic in it is an error, not the caller's thread's end.
    pub(crate) fn run(&self, conn: &ImapConnection) -> Result<()> {
        match catch_unwind(AssertUnwindSafe(|| (self.0)(conn))) {
            Ok(result) => result,
            Err(_) => Err(Error::invalid(
                "on_connect hook",
                "the hook panicked; the connection was closed",
            )),
        }
    }
}

impl fmt::Debug for OnConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnConnect(..)")
    }
}

/// The `ID` fields (RFC 2971) the client sends after login when the server offers `ID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientId {
    pub(crate) name: String,
    pub(crate) version: String,
}

impl ClientId {
    /// RFC 2971 §3.3: field values are at most 1024 octets; ours are also printable (they
    /// go out as quoted strings and into the server's log).
    pub(crate) fn new(name: String, version: String) -> Result<ClientId> {
        for (what, value) in [("client_id name", &name), ("client_id version", &version)] {
            if value.is_empty() || value.len() > 1024 {
                return Err(Error::invalid(what, "must be 1 to 1024 bytes (RFC 2971)"));
            }
            if value.chars().any(char::is_control) {
                return Err(Error::invalid(what, "contains a control character"));
            }
        }
        Ok(ClientId { name, version })
    }
}
