//! Base64 and quoted-printable decoding, for bodies and for encoded words.
//!
//! They accept and produce exactly what mailparse's decoders do (data-encoding's
//! `BASE64_MIME_PERMISSIVE` after removing whitespace, quoted_printable's robust mode), but
//! in one pass over the input and without first copying it into a filtered buffer, so that
//! decoding a part holds the message plus the decoded content, nothing more.

/// The 6-bit value of a base64 symbol.
fn sextet(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Padded base64 in blocks of four symbols (a padded block may be followed by more
/// blocks), the bytes `skip` accepts ignored, unused bits ignored. `Err` carries the offset
/// in `text` where the input stops being base64.
pub(super) fn base64(text: &[u8], skip: impl Fn(u8) -> bool) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut block = [0u8; 4];
    let mut filled = 0usize;
    let mut block_start = 0usize;
    for (i, &b) in text.iter().enumerate() {
        if skip(b) {
            continue;
        }
        if filled == 0 {
            block_start = i;
        }
        if let Some(slot) = block.get_mut(filled) {
            *slot = b;
        }
        filled += 1;
        if filled < 4 {
            continue;
        }
        filled = 0;
        let [a, b, c, d] = block;
        let bad = || block_start;
        let (a, b) = (sextet(a).ok_or_else(bad)?, sextet(b).ok_or_else(bad)?);
        match (c, d) {
            (b'=', b'=') => out.push(((a << 2) | (b >> 4)) as u8),
            (c, b'=') => {
                let c = sextet(c).ok_or_else(bad)?;
                let n = (a << 18) | (b << 12) | (c << 6);
                out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
            }
            (c, d) => {
                let n = (a << 18)
                    | (b << 12)
                    | (sextet(c).ok_or_else(bad)? << 6)
                    | sextet(d).ok_or_else(bad)?;
                out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
            }
        }
    }
    if filled == 0 {
        Ok(out)
    } else {
        Err(block_start)
    }
}

/// Whitespace as mailparse removes it from a base64 body before decoding.
pub(super) fn base64_body_space(b: u8) -> bool {
    b.is_ascii_whitespace()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Bytes quoted-printable keeps (everything else is dropped before decoding).
fn qp_keeps(b: u8) -> bool {
    matches!(b, b'\t' | b'\r' | b'\n' | b' '..=b'~')
}

/// Quoted-printable, robustly: bytes outside printable ASCII, tab, CR and LF are dropped,
/// trailing whitespace on each line is dropped, `=XY` is a byte, a malformed escape is kept
/// as it is, a `=` at the end of a line joins it to the next one, lines are joined with CRLF.
pub(super) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    // `str::lines` over the filtered input: a last piece that is empty after filtering is
    // not a line, and then the input ended with a line break.
    let mut pieces = input.split(|&b| b == b'\n').peekable();
    let mut add_line_break: Option<bool> = None;
    let mut ends_with_newline = false;
    let mut first = true;
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        if last && !piece.iter().any(|&b| qp_keeps(b)) {
            ends_with_newline = !first;
            break;
        }
        first = false;
        // Trailing whitespace (of what is kept) goes.
        let end = piece
            .iter()
            .rposition(|&b| qp_keeps(b) && !matches!(b, b' ' | b'\t' | b'\r'))
            .map_or(0, |p| p.saturating_add(1));
        let line = piece.get(..end).unwrap_or(&[]);
        if add_line_break == Some(true) {
            out.extend_from_slice(b"\r\n");
            add_line_break = Some(false);
        }
        let mut bytes = line.iter().copied().filter(|&b| qp_keeps(b));
        loop {
            let Some(b) = bytes.next() else {
                add_line_break = Some(true);
                break;
            };
            if b != b'=' {
                out.push(b);
                continue;
            }
            let Some(upper) = bytes.next() else { break };
            let Some(lower) = bytes.next() else {
                out.extend_from_slice(&[b, upper]);
                add_line_break = Some(true);
                break;
            };
            match (hex(upper), hex(lower)) {
                (Some(u), Some(l)) => out.push((u << 4) | l),
                _ => out.extend_from_slice(&[b, upper, lower]),
            }
        }
    }
    if ends_with_newline && add_line_break == Some(true) {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailparse::ParsedContentType;
    use mailparse::body::Body;
    use proptest::prelude::*;

    fn mailparse_decode(body: &[u8], encoding: &str) -> Option<Vec<u8>> {
        let ctype = ParsedContentType::default();
        let cte = Some(encoding.to_string());
        match Body::new(body, &ctype, &cte) {
            Body::Base64(b) | Body::QuotedPrintable(b) => b.get_decoded().ok(),
            _ => None,
        }
    }

    #[test]
    fn known_inputs() {
        let space = base64_body_space;
        assert_eq!(base64(b"w6Q=", space), Ok("ä".as_bytes().to_vec()));
        assert_eq!(base64(b"QU\r\nJD", space), Ok(b"ABC".to_vec()));
        assert_eq!(base64(b"QQ==QQ==", space), Ok(b"AA".to_vec()));
        assert_eq!(base64(b"QR==", space), Ok(b"A".to_vec()));
        assert_eq!(base64(b"", space), Ok(Vec::new()));
        assert_eq!(base64(b"QQ=", space), Err(0));
        assert_eq!(base64(b"QUJDQ!==", space), Err(4));
        assert_eq!(quoted_printable(b"a=3Db=\r\nc\r\n"), b"a=bc\r\n".to_vec());
        assert_eq!(quoted_printable(b"x  \r\ny"), b"x\r\ny".to_vec());
        assert_eq!(quoted_printable(b"=4"), b"=4".to_vec());
        assert_eq!(quoted_printable(b"=zz\xff"), b"=zz".to_vec());
        assert_eq!(quoted_printable(b""), b"".to_vec());
        assert_eq!(quoted_printable(b"\n"), b"\r\n".to_vec());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

        #[test]
        fn base64_bodies_decode_like_mailparse(body in "[A-Za-z0-9+/=\r\n \t!\u{e4}]{0,40}") {
            let ours = base64(body.as_bytes(), base64_body_space).ok();
            prop_assert_eq!(ours, mailparse_decode(body.as_bytes(), "base64"), "{:?}", body);
        }

        #[test]
        fn quoted_printable_bodies_decode_like_mailparse(
            body in prop::collection::vec(prop_oneof![
                Just(b'='), Just(b'\r'), Just(b'\n'), Just(b' '), Just(b'\t'), Just(b'A'),
                Just(b'f'), Just(b'3'), Just(b'D'), Just(b'z'), Just(0xff), Just(0x0b), any::<u8>()
            ], 0..40)
        ) {
            prop_assert_eq!(Some(quoted_printable(&body)), mailparse_decode(&body, "quoted-printable"), "{:?}", body);
        }
    }
}
