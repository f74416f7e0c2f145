//! The library's own setup after login: `ENABLE IMAP4rev2` when the config asks for it
//! and the server offers it, else `ENABLE UTF8=ACCEPT` when offered (unless switched off),
//! and what an enabled `IMAP4rev2` changes in the session.

use super::*;

/// The extensions IMAP4rev2 contains (RFC 9051 Appendix E): once it is enabled they count
/// as offered even when the server does not list them. Not `BINARY` (IMAP4rev2 has its
/// `FETCH BINARY[]` but not `APPEND` of a `literal8`) nor `CONDSTORE` / `QRESYNC`.
const IN_IMAP4REV2: &[&str] = &[
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "ESEARCH",
    "SEARCHRES",
    "ENABLE",
    "IDLE",
    "SASL-IR",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "MOVE",
    "LITERAL-",
    "SPECIAL-USE",
    "STATUS=SIZE",
    "CHILDREN",
];

impl Session {
    /// Runs right after login (and the `ID`), before the caller's `on_connect` hook, on
    /// every connection: nothing before login or on a server that offers neither
    /// extension; `ENABLE IMAP4rev2` when the config asks for it and the server offers it;
    /// otherwise `ENABLE UTF8=ACCEPT` when the server offers it and the config has not
    /// turned it off. What the server enabled comes back as `* ENABLED`, which the session
    /// applies where it files responses (`note_enabled`). A `NO` / `BAD` to the `ENABLE` is
    /// logged and the connection goes on as IMAP4rev1 with modified UTF-7 names; only an
    /// error that breaks the connection fails the connect.
    pub(super) fn enable_after_login(&mut self) -> Result<()> {
        if self.state != ConnectionState::Authenticated {
            return Ok(());
        }
        let wanted = self.config.enable;
        if wanted.imap4rev2 {
            if self.caps.has("IMAP4rev2") {
                self.enable_logged("IMAP4rev2")?;
                if self.imap4rev2 {
                    return Ok(());
                }
            } else {
                log::debug!(target: "mailwire::imap", "[{}] IMAP4rev2 asked for but not offered; the connection stays IMAP4rev1", self.id());
            }
        }
        if wanted.utf8_accept && self.caps.has("UTF8=ACCEPT") {
            self.enable_logged("UTF8=ACCEPT")?;
        }
        Ok(())
    }

    /// `ENABLE extension`; a refusal is logged, not an error.
    fn enable_logged(&mut self, extension: &str) -> Result<()> {
        let completion = self.run(&Command::Enable(vec![extension.to_string()]))?;
        if completion.status != Status::Ok {
            log::debug!(target: "mailwire::imap", "[{}] the server refused ENABLE {extension}: {}", self.id(), escaped(&completion.text));
        }
        Ok(())
    }

    /// Applies `* ENABLED IMAP4rev2`: folder names in UTF-8 both ways (RFC 9051 §5.1, as
    /// after `UTF8=ACCEPT` but with 8-bit headers in a plain `APPEND` literal), and the
    /// extensions IMAP4rev2 contains count as offered.
    pub(super) fn note_imap4rev2(&mut self, enabled: &[String]) {
        if enabled.iter().any(|e| e.eq_ignore_ascii_case("IMAP4rev2")) {
            self.imap4rev2 = true;
            self.encode_options = self
                .encode_options
                .with_utf8_accept(true)
                .with_imap4rev2(true);
            self.add_imap4rev2_implied();
        }
    }

    /// Adds [`IN_IMAP4REV2`] to the capabilities once IMAP4rev2 is enabled (again after
    /// each capability refresh), and re-reads the literal mode (`LITERAL-`).
    pub(super) fn add_imap4rev2_implied(&mut self) {
        if !self.imap4rev2 {
            return;
        }
        let mut names: Vec<String> = self.caps.iter().map(str::to_string).collect();
        for implied in IN_IMAP4REV2 {
            if !self.caps.has(implied) {
                names.push((*implied).to_string());
            }
        }
        self.caps = Capabilities::new(names);
        self.update_literal_mode();
    }

    /// Whether `ENABLE IMAP4rev2` succeeded on this connection.
    pub(crate) fn imap4rev2(&self) -> bool {
        self.imap4rev2
    }
}
