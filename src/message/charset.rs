//! Text in a declared charset: bodies and `text/*` parts.

use charset::Charset;

use super::guard;
use crate::error::escape_bytes;

/// Decodes text with `charset`. Without a charset, or with `us-ascii`, valid UTF-8 is taken
/// as UTF-8 and anything else as Windows-1252. An unknown charset falls back to lossy UTF-8
/// and returns a note saying so. Linear in the text (the decoded string is at most three
/// times as long: a replacement character for a byte).
pub(super) fn decode_text(data: &[u8], charset: Option<&str>) -> (String, Option<String>) {
    let label = charset.map(|c| c.trim().to_ascii_lowercase());
    let label = match label.as_deref() {
        None | Some("" | "us-ascii" | "ascii") => match std::str::from_utf8(data) {
            Ok(s) => return (s.to_string(), None),
            Err(_) => "windows-1252".to_string(),
        },
        Some("utf-8" | "utf8") => return (String::from_utf8_lossy(data).into_owned(), None),
        Some(other) => other.to_string(),
    };
    if charset_known(&label) {
        let decoded = Charset::for_label(label.as_bytes())
            .and_then(|known| guard(|| known.decode(data).0.into_owned()).ok());
        if let Some(text) = decoded {
            return (text, None);
        }
    }
    (
        String::from_utf8_lossy(data).into_owned(),
        Some(format!(
            "unknown charset {:?}; decoded as UTF-8 with replacement characters",
            super::shown(&escape_bytes(label.as_bytes()))
        )),
    )
}

/// Whether `label` names a charset that decodes (not the WHATWG "replacement" encoding,
/// which turns everything into one replacement character).
pub(super) fn charset_known(label: &str) -> bool {
    let token = !label.is_empty()
        && label.len() <= 64
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+".contains(&b));
    token && Charset::for_label_no_replacement(label.as_bytes()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_probe() {
        assert!(charset_known("iso-8859-1"));
        assert!(charset_known("windows-1252"));
        assert!(charset_known("koi8-r"));
        assert!(charset_known("utf-7"));
        assert!(!charset_known("x-no-such-charset"));
        assert!(!charset_known("utf-8'';x"));
        assert!(!charset_known("iso-2022-kr"), "the replacement encoding");
        assert_eq!(
            decode_text(b"\xe4", Some("ISO-8859-1")),
            ("\u{e4}".to_string(), None)
        );
        assert_eq!(decode_text("ä".as_bytes(), None).0, "ä");
        assert_eq!(decode_text(b"\xe4", None).0, "\u{e4}");
        let (text, note) = decode_text(b"a\xff", Some("x-bogus"));
        assert_eq!(text, "a\u{fffd}");
        assert!(note.is_some());
    }
}
