//! Telling a missing folder from any other refusal of a folder-scoped command: by the
//! response code when the server sends one, else by one `LIST` of the exact name.

use super::folders::to_folder;
use super::*;
use crate::error::{ServerStatus, code_says_missing};
use crate::imap::types::NameAttribute;

/// The commands that name a folder which must exist (SUBSCRIBE may name one that does
/// not, CREATE one that must not).
const FOLDER_SCOPED: &[&str] = &[
    "SELECT", "EXAMINE", "STATUS", "APPEND", "COPY", "UID COPY", "MOVE", "UID MOVE", "DELETE",
    "RENAME",
];

/// `e` as [`Error::MissingFolder`] when it is the refusal of a folder-scoped command on
/// `folder` and the folder does not exist; else `e` unchanged.
///
/// A `NO` with `NONEXISTENT` or `TRYCREATE` says so itself. A `NO` without a code (or with
/// only `ALERT`) is checked with one `LIST "" <folder>` on the same session, compared with
/// the exact name: Dovecot 2.3 answers a missing folder with `NO Mailbox doesn't exist`
/// and no code. Any other code already explains the refusal, and a throttling answer or a
/// broken session is not asked about. If the `LIST` fails, `e` is returned, or the `LIST`'s
/// error when it broke the connection.
pub(super) fn classify(s: &mut Session, folder: &str, e: Error) -> Error {
    let Error::Server {
        status: ServerStatus::No,
        command,
        code,
        text,
    } = &e
    else {
        return e;
    };
    if !FOLDER_SCOPED
        .iter()
        .any(|c| c.eq_ignore_ascii_case(command))
    {
        return e;
    }
    let missing = |code: Option<String>| Error::MissingFolder {
        folder: folder.to_string(),
        command: command.clone(),
        code,
        text: text.clone(),
    };
    match code.as_deref() {
        Some(c) if code_says_missing(c) => return missing(code.clone()),
        Some(c) if !c.eq_ignore_ascii_case("ALERT") => return e,
        _ => {}
    }
    if e.retry_after().is_some() || s.is_broken() {
        return e;
    }
    match exists(s, folder) {
        Ok(true) => e,
        Ok(false) => {
            log::debug!(target: "mailwire::imap", "[{}] {command} refused without a code; LIST confirms that {folder:?} does not exist", s.id());
            missing(None)
        }
        Err(list_error) if list_error.breaks_connection() => list_error,
        Err(_) => e,
    }
}

/// Whether `LIST "" <folder>` names exactly `folder` (INBOX in any case), not as
/// `\NonExistent`. The pattern's wildcards (`*`, `%` in the name) may list other folders;
/// only the exact name counts, and what the server lists is bounded by the per-command
/// limits on untagged responses.
fn exists(s: &mut Session, folder: &str) -> Result<bool> {
    let list = Command::List {
        reference: MailboxName::new(""),
        pattern: folder.to_string(),
        returns: ListReturn::new(),
    };
    let c = run_ok(s, &list)?;
    let utf8 = s.utf8_accept() || s.capabilities().has("UTF8=ONLY");
    let inbox = folder.eq_ignore_ascii_case("INBOX");
    Ok(c.untagged.into_iter().any(|u| match u {
        Untagged::List(item) => {
            let listed = to_folder(item, utf8);
            let same =
                listed.name == folder || (inbox && listed.name.eq_ignore_ascii_case("INBOX"));
            same && !listed
                .attributes
                .iter()
                .any(|a| matches!(a, NameAttribute::NonExistent))
        }
        _ => false,
    }))
}
