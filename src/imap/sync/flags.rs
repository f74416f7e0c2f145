//! Flag canonicalisation: the stable text of each flag a [`SyncState`](super::SyncState)
//! stores, sorted and deduplicated, without `\Recent`.

use crate::imap::types::Flag;

/// The stable text of a flag (its wire text), `None` for `\Recent` (session-specific,
/// never stored).
fn flag_text(flag: &Flag) -> Option<String> {
    (*flag != Flag::Recent).then(|| flag.as_str().into_owned())
}

pub(crate) fn canonical_flags(flags: &[Flag]) -> Vec<String> {
    canonical_texts(flags.iter().filter_map(flag_text).collect())
}

/// Sorted, deduplicated, without empty names and `\Recent`.
pub(super) fn canonical_texts(texts: Vec<String>) -> Vec<String> {
    let mut texts: Vec<String> = texts
        .into_iter()
        .map(|t| flag_text(&Flag::from_bytes(t.as_bytes())).unwrap_or_default())
        .filter(|t| !t.is_empty())
        .collect();
    texts.sort();
    texts.dedup();
    texts
}
