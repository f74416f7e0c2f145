//! The header block of one entity: where each field is, capped in number, each value decoded
//! once and cached.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::encoded_words::decode_value;
use super::{MAX_ERRORS, Message, guard};

/// One header field: where its name and its raw value lie in the header bytes, and its
/// decoded value once asked for.
pub(super) struct Field {
    /// End of the name, trimmed.
    name_end: usize,
    /// Start of the name, trimmed.
    name_start: usize,
    /// The raw value: after the colon and the spaces that follow it, up to the final line
    /// break.
    value_start: usize,
    value_end: usize,
    value: OnceLock<String>,
}

impl Field {
    /// Whether the field is called `name` (ASCII case-insensitive; a name that is not ASCII
    /// is read as Latin-1, as mailparse reads it).
    pub(super) fn is(&self, raw: &[u8], name: &str) -> bool {
        let Some(own) = raw.get(self.name_start..self.name_end) else {
            return false;
        };
        if own.is_ascii() {
            own.eq_ignore_ascii_case(name.as_bytes())
        } else {
            charset::decode_latin1(own).eq_ignore_ascii_case(name)
        }
    }

    /// The raw value: after the colon and the spaces that follow it, folded lines included,
    /// the final line break not; UTF-8 or else Latin-1.
    pub(super) fn raw_value<'a>(&self, raw: &'a [u8]) -> Cow<'a, str> {
        let value = raw.get(self.value_start..self.value_end).unwrap_or(&[]);
        match std::str::from_utf8(value) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => charset::decode_latin1(value),
        }
    }

    /// The decoded value (unfolded, encoded words decoded), computed on first use. Linear in
    /// the field's length.
    pub(super) fn value(&self, raw: &[u8]) -> &str {
        self.value
            .get_or_init(|| decode_value(&self.raw_value(raw)))
    }
}

/// Whether `b`, read as Latin-1, is whitespace (what `str::trim` removes from a header name
/// mailparse has decoded as Latin-1).
fn latin1_space(b: u8) -> bool {
    matches!(b, 0x09..=0x0d | b' ' | 0x85 | 0xa0)
}

/// The header block of one entity: where each field is and where the body starts.
pub(super) struct HeaderIndex {
    pub(super) fields: Vec<Field>,
    /// Absolute offset of the first body byte.
    pub(super) body_start: usize,
    /// Problems as (absolute offset, message).
    pub(super) problems: Vec<(usize, String)>,
}

impl HeaderIndex {
    /// Indexes the header block at the start of `bytes`, which begins at `base` in the raw
    /// message. Lenient: a line that is not a header is skipped and noted. At most
    /// [`Message::MAX_HEADER_FIELDS`] fields are indexed; the block is still read to its end
    /// (to find the body), the fields after the cap are counted and noted.
    pub(super) fn build(bytes: &[u8], base: usize) -> HeaderIndex {
        let mut fields = Vec::new();
        let mut problems = Vec::new();
        let note = |problems: &mut Vec<(usize, String)>, at: usize, what: String| {
            if problems.len() < MAX_ERRORS {
                problems.push((base.saturating_add(at), what));
            }
        };
        // The fields past the cap: where the first one starts, how many.
        let mut skipped: Option<(usize, usize)> = None;
        let mut ix = 0usize;
        let body_start = loop {
            let rest = match bytes.get(ix..) {
                Some(rest) if !rest.is_empty() => rest,
                _ => break bytes.len(),
            };
            match rest.first() {
                Some(b'\n') => break ix.saturating_add(1),
                Some(b'\r') if rest.get(1) == Some(&b'\n') => break ix.saturating_add(2),
                Some(b'\r') => {
                    note(&mut problems, ix, "stray CR in header block".into());
                    ix = ix.saturating_add(1);
                    continue;
                }
                _ => {}
            }
            let parsed = guard(|| {
                mailparse::parse_header(rest).map(|(h, n)| {
                    let value = h.get_value_raw();
                    // Where mailparse's value slice lies in `rest`.
                    let at = (value.as_ptr() as usize).wrapping_sub(rest.as_ptr() as usize);
                    (h.get_key_raw().len(), at, value.len(), n)
                })
            });
            match parsed {
                Ok(Ok((key_len, value_at, value_len, n))) if n > 0 && n <= rest.len() => {
                    let end = ix.saturating_add(n);
                    if fields.len() < Message::MAX_HEADER_FIELDS {
                        let key = rest.get(..key_len).unwrap_or(&[]);
                        let lead = key.iter().take_while(|&&b| latin1_space(b)).count();
                        let trail = key.iter().rev().take_while(|&&b| latin1_space(b)).count();
                        let name_start = ix.saturating_add(lead.min(key_len));
                        let name_end = ix
                            .saturating_add(key_len.saturating_sub(trail))
                            .max(name_start);
                        let (value_start, value_end) = match value_at.checked_add(value_len) {
                            Some(value_end) if value_end <= n => (value_at, value_end),
                            _ => (n, n),
                        };
                        fields.push(Field {
                            name_start: base.saturating_add(name_start),
                            name_end: base.saturating_add(name_end),
                            value_start: base.saturating_add(ix).saturating_add(value_start),
                            value_end: base.saturating_add(ix).saturating_add(value_end),
                            value: OnceLock::new(),
                        });
                    } else {
                        let (_, count) = skipped.get_or_insert((ix, 0));
                        *count = count.saturating_add(1);
                    }
                    ix = end;
                }
                other => {
                    let why = match other {
                        Ok(Err(e)) => e.to_string(),
                        Err(panic) => panic,
                        Ok(Ok(_)) => "header line could not be read".to_string(),
                    };
                    note(&mut problems, ix, format!("skipped a header line: {why}"));
                    // Skip to the next line.
                    let skip = rest
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(rest.len(), |p| p.saturating_add(1));
                    ix = ix.saturating_add(skip.max(1));
                }
            }
        };
        if let Some((at, count)) = skipped {
            note(
                &mut problems,
                at,
                format!(
                    "more than {} header fields; the {count} after them are not read",
                    Message::MAX_HEADER_FIELDS
                ),
            );
        }
        HeaderIndex {
            fields,
            body_start: base.saturating_add(body_start),
            problems,
        }
    }

    /// The fields called `name`, in order.
    pub(super) fn named<'s>(
        &'s self,
        raw: &'s [u8],
        name: &str,
    ) -> impl Iterator<Item = &'s Field> {
        self.fields.iter().filter(move |f| f.is(raw, name))
    }

    /// The decoded value of the first field called `name`.
    pub(super) fn first_value<'s>(&'s self, raw: &'s [u8], name: &str) -> Option<&'s str> {
        self.named(raw, name).next().map(|f| f.value(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_index_is_lenient() {
        let raw = b" leading continuation\r\nSubject: x\r\n\rFrom: a@b\r\n\r\nbody";
        let idx = HeaderIndex::build(raw, 0);
        assert_eq!(idx.first_value(raw, "subject"), Some("x"));
        assert_eq!(idx.first_value(raw, "FROM"), Some("a@b"));
        assert_eq!(&raw[idx.body_start..], b"body");
        assert_eq!(idx.problems.len(), 2);
    }

    #[test]
    fn names_are_trimmed_and_values_cached() {
        let raw = b"Sub ject : one\r\n two\r\nX-A\t: =?utf-8?q?=C3=A4?=\r\nNo colon\r\n\r\n";
        let idx = HeaderIndex::build(raw, 0);
        assert_eq!(idx.fields.len(), 3);
        assert_eq!(idx.first_value(raw, "sub ject"), Some("one two"));
        assert_eq!(idx.first_value(raw, "x-a"), Some("\u{e4}"));
        assert_eq!(idx.first_value(raw, "no colon"), Some(""));
        let f = &idx.fields[1];
        assert!(std::ptr::eq(f.value(raw), f.value(raw)), "decoded once");
    }

    #[test]
    fn fields_past_the_cap_are_counted_and_the_body_still_found() {
        let mut raw = b"X: y\r\n".repeat(Message::MAX_HEADER_FIELDS + 5);
        raw.extend_from_slice(b"\r\nbody");
        let idx = HeaderIndex::build(&raw, 10);
        assert_eq!(idx.fields.len(), Message::MAX_HEADER_FIELDS);
        assert_eq!(&raw[idx.body_start - 10..], b"body");
        assert_eq!(idx.problems.len(), 1);
        let (at, what) = &idx.problems[0];
        assert_eq!(*at, 10 + 6 * Message::MAX_HEADER_FIELDS);
        assert!(what.contains("the 5 after them"), "{what}");
    }
}
