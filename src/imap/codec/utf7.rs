//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII (0x20–0x7e) stands for itself, except `&`, written `&-`. Every run of
//! other characters is written as `&`, the modified BASE64 of its UTF-16BE code units
//! (alphabet `A–Z a–z 0–9 + ,`, no padding), and `-`. So `~peter/mail/台北/日本語` is
//! `~peter/mail/&U,BTFw-/&ZeVnLIqe-`.
//!
//! [`decode`] is strict and refuses anything a correct encoder cannot produce; use
//! [`decode_lenient`] to show a name from a server that gets it wrong.

use crate::error::{Error, Result};

/// Encodes a mailbox name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_printable(c as u32) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut run, &mut out);
    out
}

fn is_printable(c: u32) -> bool {
    (0x20..=0x7e).contains(&c)
}

fn flush(run: &mut Vec<u16>, out: &mut String) {
    if run.is_empty() {
        return;
    }
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for unit in run.drain(..) {
        acc = (acc << 16) | u32::from(unit);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(b64_char((acc >> bits) & 0x3f));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(b64_char((acc << (6 - bits)) & 0x3f));
    }
    out.push('-');
}

fn b64_char(v: u32) -> char {
    let b = match v {
        0..=25 => b'A' + v as u8,
        26..=51 => b'a' + (v - 26) as u8,
        52..=61 => b'0' + (v - 52) as u8,
        62 => b'+',
        _ => b',',
    };
    b as char
}

fn b64_value(b: u8) -> Option<u32> {
    match b {
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

/// Decodes the modified BASE64 between `&` and `-` into UTF-16 code units, strictly.
/// On failure gives the offset (within `seg`) and the reason.
fn decode_units(seg: &[u8]) -> std::result::Result<Vec<u16>, (usize, &'static str)> {
    let mut units = Vec::with_capacity(seg.len() * 3 / 8 + 1);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for (i, &b) in seg.iter().enumerate() {
        let v = b64_value(b).ok_or((i, "invalid character in modified BASE64"))?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            units.push(((acc >> bits) & 0xffff) as u16);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err((
            seg.len(),
            "modified BASE64 ends with an incomplete UTF-16 unit",
        ));
    }
    if acc != 0 {
        return Err((seg.len(), "modified BASE64 has non-zero trailing bits"));
    }
    Ok(units)
}

/// Decodes a modified UTF-7 mailbox name, strictly.
///
/// Fails with [`Error::Protocol`] on bytes outside printable US-ASCII, an unterminated `&`
/// shift, invalid modified BASE64 (bad character, leftover bits that are not zero, an
/// incomplete UTF-16 unit), unpaired surrogates, and shifts that encode printable ASCII
/// (which must be written directly). Whatever it accepts, [`encode`] turns back into the
/// same bytes, apart from adjacent shifts (`&AOk-&AOk-`), which are accepted.
pub fn decode(input: impl AsRef<[u8]>) -> Result<String> {
    let bytes = input.as_ref();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if !is_printable(u32::from(b)) {
            return Err(Error::protocol(
                "mailbox name is not modified UTF-7: byte outside printable ASCII",
                bytes,
                i,
            ));
        }
        if b != b'&' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let rest = bytes.get(i + 1..).unwrap_or(&[]);
        let Some(len) = rest.iter().position(|&c| c == b'-') else {
            return Err(Error::protocol(
                "mailbox name is not modified UTF-7: '&' shift without closing '-'",
                bytes,
                i,
            ));
        };
        let seg = rest.get(..len).unwrap_or(&[]);
        if seg.is_empty() {
            out.push('&');
        } else {
            let units = decode_units(seg).map_err(|(at, why)| {
                Error::protocol(
                    format!("mailbox name is not modified UTF-7: {why}"),
                    bytes,
                    i + 1 + at,
                )
            })?;
            for c in char::decode_utf16(units) {
                let c = c.map_err(|_| {
                    Error::protocol(
                        "mailbox name is not modified UTF-7: unpaired UTF-16 surrogate",
                        bytes,
                        i,
                    )
                })?;
                if is_printable(c as u32) {
                    return Err(Error::protocol(
                        "mailbox name is not modified UTF-7: printable ASCII inside a '&' shift",
                        bytes,
                        i,
                    ));
                }
                out.push(c);
            }
        }
        i += len + 2;
    }
    Ok(out)
}

/// Decodes a mailbox name for display, never failing: invalid shifts are kept as written,
/// invalid UTF-8 and unpaired surrogates become U+FFFD.
pub fn decode_lenient(input: impl AsRef<[u8]>) -> String {
    let bytes = input.as_ref();
    if let Ok(s) = decode(bytes) {
        return s;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        match after.find('-') {
            None => {
                out.push_str(rest.get(amp..).unwrap_or(""));
                rest = "";
            }
            Some(0) => {
                out.push('&');
                rest = after.get(1..).unwrap_or("");
            }
            Some(end) => {
                let seg = after.get(..end).unwrap_or("");
                match decode_units(seg.as_bytes()) {
                    Ok(units) => out.extend(
                        char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)),
                    ),
                    Err(_) => {
                        out.push('&');
                        out.push_str(seg);
                        out.push('-');
                    }
                }
                rest = after.get(end + 1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3501_example() {
        let name = "~peter/mail/台北/日本語";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(), name);
    }

    #[test]
    fn ampersand_and_ascii() {
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode("Tom &- Jerry").unwrap(), "Tom & Jerry");
        assert_eq!(encode("INBOX.Sent"), "INBOX.Sent");
        assert_eq!(encode(""), "");
        // RFC 2152-style examples adapted to the modified form.
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(decode("Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(encode("\u{1F600}"), "&2D3eAA-");
        assert_eq!(decode("&2D3eAA-").unwrap(), "\u{1F600}");
        assert_eq!(encode("a\tb"), "a&AAk-b");
    }

    #[test]
    fn strict_decode_rejects() {
        for bad in [
            "&",         // unterminated
            "abc&U,BT",  // unterminated
            "&U,BTFw",   // unterminated
            "&U/BTFw-",  // '/' is standard base64, not modified
            "&U,BTFx-",  // non-zero trailing bits
            "&A-",       // incomplete unit
            "&AGE-",     // encodes 'a' (printable ASCII)
            "&2D0-",     // unpaired high surrogate
            "caf\u{e9}", // 8-bit
            "a\nb",      // control
            "&AOkA-",    // incomplete second unit
        ] {
            assert!(decode(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(decode("&"), Err(Error::Protocol { .. })));
    }

    #[test]
    fn lenient_decode_shows_something() {
        assert_eq!(decode_lenient("Entw&APw-rfe"), "Entwürfe");
        assert_eq!(decode_lenient("a&U/BT-b"), "a&U/BT-b");
        assert_eq!(decode_lenient("caf\u{e9} &- x&"), "caf\u{e9} & x&");
        assert_eq!(decode_lenient(b"x\xff"), "x\u{fffd}");
    }
}
