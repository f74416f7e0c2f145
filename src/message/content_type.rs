//! `Content-Type` and `Content-Disposition`: type, parameters (RFC 2231 included), with the
//! number of parameters handed to mailparse capped.

use mailparse::{DispositionType, ParsedContentDisposition, ParsedContentType};

use super::encoded_words::decode_value;
use super::{Message, guard};

/// The parsed `Content-Type` of an entity, with the defaults applied.
pub(super) struct ContentType {
    pub(super) mime: String,
    pub(super) charset: Option<String>,
    pub(super) boundary: Option<String>,
    pub(super) name: Option<String>,
}

impl ContentType {
    /// The type an entity without `Content-Type` has: `text/plain`, or `message/rfc822`
    /// in a `multipart/digest`.
    pub(super) fn default_for(in_digest: bool) -> ContentType {
        ContentType {
            mime: if in_digest {
                "message/rfc822"
            } else {
                "text/plain"
            }
            .to_string(),
            charset: None,
            boundary: None,
            name: None,
        }
    }
}

/// What parsing a parameter header found besides its content.
pub(super) struct Parsed<T> {
    pub(super) value: T,
    /// Parameters were left out (more than [`Message::MAX_PARAMETERS`]).
    pub(super) capped: bool,
    /// mailparse failed internally (the message is in the string).
    pub(super) panic: Option<String>,
}

/// What of `value` is handed to mailparse's parameter parser: the type and the parameters
/// called one of `wanted` (with their RFC 2231 forms `name*`, `name*0`, `name*1*`, …), at
/// most [`Message::MAX_PARAMETERS`] of them; `true` when more were left out. The other
/// parameters are never read, and mailparse's decoder compares every RFC 2231 parameter with
/// every other one (100,000 parameters took 46 s), so they never reach it. Parameters are
/// split as mailparse splits them: at every `;`, and one without `=` is no parameter.
fn parameters_for(value: &str, wanted: &[&str]) -> (String, bool) {
    let mut pieces = value.split(';');
    let mut out = String::with_capacity(value.len().min(1024));
    out.push_str(pieces.next().unwrap_or(""));
    let mut kept = 0usize;
    for piece in pieces {
        let Some((key, _)) = piece.split_once('=') else {
            continue;
        };
        let base = key.trim().split('*').next().unwrap_or("");
        if !wanted.iter().any(|w| base.eq_ignore_ascii_case(w)) {
            continue;
        }
        if kept == Message::MAX_PARAMETERS {
            return (out, true);
        }
        kept += 1;
        out.push(';');
        out.push_str(piece);
    }
    (out, false)
}

/// Parses a decoded `Content-Type` value; `None` (no header) gives the default.
pub(super) fn content_type(value: Option<&str>, in_digest: bool) -> Parsed<ContentType> {
    let default_mime = ContentType::default_for(in_digest).mime;
    let Some(value) = value else {
        return Parsed {
            value: ContentType::default_for(in_digest),
            capped: false,
            panic: None,
        };
    };
    let (value, capped) = parameters_for(value, &["charset", "boundary", "name"]);
    let parsed: ParsedContentType = match guard(|| mailparse::parse_content_type(&value)) {
        Ok(parsed) => parsed,
        Err(panic) => {
            return Parsed {
                value: ContentType::default_for(in_digest),
                capped,
                panic: Some(panic),
            };
        }
    };
    let mut mime = parsed.mimetype.trim().to_ascii_lowercase();
    if mime.is_empty() || !mime.contains('/') {
        mime = default_mime;
    }
    let param = |k: &str| {
        parsed
            .params
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Parsed {
        value: ContentType {
            mime,
            charset: param("charset"),
            boundary: parsed
                .params
                .get("boundary")
                .cloned()
                .filter(|b| !b.is_empty()),
            name: param("name").map(|n| decode_words(&n)),
        },
        capped,
        panic: None,
    }
}

/// A parsed `Content-Disposition`: whether it is `inline`, and the file name.
pub(super) struct ContentDisposition {
    pub(super) inline: bool,
    pub(super) filename: Option<String>,
}

/// Parses a decoded `Content-Disposition` value.
pub(super) fn content_disposition(value: &str) -> Parsed<Option<ContentDisposition>> {
    let (value, capped) = parameters_for(value, &["filename"]);
    match guard(|| mailparse::parse_content_disposition(&value)) {
        Ok(ParsedContentDisposition {
            disposition,
            params,
        }) => Parsed {
            value: Some(ContentDisposition {
                inline: disposition == DispositionType::Inline,
                filename: params
                    .get("filename")
                    .map(|n| decode_words(n.trim()))
                    .filter(|n| !n.is_empty()),
            }),
            capped,
            panic: None,
        },
        Err(panic) => Parsed {
            value: None,
            capped,
            panic: Some(panic),
        },
    }
}

/// Decodes RFC 2047 encoded words left in a parameter value (they are not allowed inside
/// quoted strings, but common).
fn decode_words(value: &str) -> String {
    if value.contains("=?") {
        decode_value(value)
    } else {
        value.to_string()
    }
}

/// A `Content-ID` value without its angle brackets; `None` when empty.
pub(super) fn content_id(value: &str) -> Option<String> {
    let v = value.trim();
    let v = v.strip_prefix('<').unwrap_or(v);
    let v = v.strip_suffix('>').unwrap_or(v);
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_parameters_read_reach_mailparse_and_at_most_the_cap() {
        let mut value = "attachment; size=5; filename*0*=utf-8''%C3%A4".to_string();
        for i in 1..Message::MAX_PARAMETERS + 10 {
            value.push_str(&format!("; p{i}*0*=x; filename*{i}=b"));
        }
        let (cut, capped) = parameters_for(&value, &["filename"]);
        assert!(capped);
        assert_eq!(cut.matches(';').count(), Message::MAX_PARAMETERS);
        assert!(!cut.contains("size") && !cut.contains("p1"), "{cut}");
        let d = content_disposition(&value);
        assert!(d.capped);
        let d = d.value.expect("parsed");
        assert!(!d.inline);
        let expected = format!("\u{e4}{}", "b".repeat(Message::MAX_PARAMETERS - 1));
        assert_eq!(d.filename.as_deref(), Some(expected.as_str()));
        let (cut, capped) =
            parameters_for("text/plain; charset=utf-8; format=flowed; x", &["charset"]);
        assert_eq!((cut.as_str(), capped), ("text/plain; charset=utf-8", false));
    }

    #[test]
    fn types_and_names() {
        let ct = content_type(
            Some("Text/HTML; charset=\"utf-8\"; name=\"=?utf-8?q?B=C3=A4r.jpg?=\""),
            false,
        )
        .value;
        assert_eq!(ct.mime, "text/html");
        assert_eq!(ct.charset.as_deref(), Some("utf-8"));
        assert_eq!(ct.name.as_deref(), Some("Bär.jpg"));
        assert_eq!(
            content_type(Some("bogus"), true).value.mime,
            "message/rfc822"
        );
        assert_eq!(content_type(None, false).value.mime, "text/plain");
        assert_eq!(content_id(" <a@b> ").as_deref(), Some("a@b"));
        assert_eq!(content_id("<>"), None);
    }
}
