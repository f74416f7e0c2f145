//! The pure POP3 protocol layer: no I/O, only bytes in and typed values or bytes out.
//!
//! - [`parse_status`] reads a `+OK` / `-ERR` line, with the response codes of RFC 2449 and
//!   RFC 3206 (`[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/TEMP]`, `[SYS/PERM]`, `[AUTH]`), and
//!   [`Status::into_result`] / [`Status::into_auth_result`] turn it into a [`Result`] whose
//!   error [`Error::is_transient`] classifies correctly.
//! - [`parse_auth_line`] reads the answer to an `AUTH` step: a `+ challenge` continuation or a
//!   status.
//! - [`MultiLineDecoder`] streams the body of a multi-line response (`RETR`, `TOP`, `LIST`,
//!   `UIDL`, `CAPA`) to any writer, removing the dot-stuffing and stopping right after the
//!   terminating `.` line, in constant memory whatever the line lengths.
//! - [`parse_stat`], [`parse_list_line`], [`parse_uidl_line`], [`parse_list`], [`parse_uidl`]
//!   and [`parse_capa`] read the answers of those commands; [`apop_timestamp`] finds the
//!   APOP timestamp in a greeting.
//! - [`Command`] encodes commands, refusing arguments that could inject another command and
//!   lines longer than the 255 octets of RFC 2449; [`plan_auth`] applies the initial-response
//!   rule of RFC 5034 §4; [`Command::trace_text`] is the form safe to log.
//!
//! One file per part: `status` (status and `AUTH` lines), `multiline` (the decoder),
//! `answers` (STAT, LIST, UIDL), `capa` (CAPA and the greeting) and `command` (encoding);
//! everything is re-exported here, so the paths are `pop3::codec::X`.

#[cfg(doc)]
use crate::error::{Error, Result};

mod answers;
mod capa;
mod command;
mod multiline;
mod status;

pub use answers::{
    ListEntry, UidlEntry, parse_list, parse_list_line, parse_stat, parse_uidl, parse_uidl_line,
};
pub(crate) use answers::{parse_list_content_line, parse_uidl_content_line};
pub(crate) use capa::parse_capa_line;
pub use capa::{Capabilities, Capability, Expire, apop_timestamp, parse_capa};
pub use command::{AuthPlan, Command, MAX_COMMAND_LINE, plan_auth};
pub use multiline::{Decoded, MultiLineDecoder, content_lines};
pub use status::{AuthLine, ResponseCode, Status, parse_auth_line, parse_status};

/// Trims leading and trailing blanks (space, tab); shared by the line parsers.
fn trim_ascii_blanks(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p + 1);
    bytes.get(start..end).unwrap_or(&[])
}

#[cfg(test)]
fn protocol_offset(r: crate::error::Result<impl std::fmt::Debug>) -> (usize, String) {
    match r {
        Err(crate::error::Error::Protocol {
            offset, excerpt, ..
        }) => (offset, excerpt),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}
