//! Standard base64 (RFC 4648 §4, alphabet `A–Z a–z 0–9 + /`, `=` padding), as SASL uses it.
//!
//! Decoding is strict: the length must be a multiple of 4, padding is required, whitespace
//! and any other byte outside the alphabet are refused, and the unused bits before the
//! padding must be zero (so every byte string has exactly one accepted encoding).

use crate::error::{Error, Result};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Sentinel in [`DECODE`] for a byte outside the alphabet.
const INVALID: u8 = 0xff;

/// Maps a byte to its 6-bit value, or [`INVALID`].
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes `input` as padded standard base64.
// used by the SASL client responses
pub(crate) fn encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    let sym = |v: u32| char::from(ALPHABET[(v & 0x3f) as usize]);
    let mut chunks = input.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(sym(n >> 6));
        out.push(sym(n));
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.push(sym(n >> 18));
            out.push(sym(n >> 12));
            out.push_str("==");
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.push(sym(n >> 18));
            out.push(sym(n >> 12));
            out.push(sym(n >> 6));
            out.push('=');
        }
        _ => {}
    }
    out
}

/// Decodes padded standard base64.
///
/// Fails with [`Error::Protocol`] (the input normally comes from the server) naming the
/// offset of the first bad byte.
// used by the SASL challenge decoding
pub(crate) fn decode(input: &[u8]) -> Result<Vec<u8>> {
    if !input.len().is_multiple_of(4) {
        return Err(Error::protocol(
            format!(
                "invalid base64: length {} is not a multiple of 4 (padding is required)",
                input.len()
            ),
            input,
            input.len(),
        ));
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let groups = input.len() / 4;
    for (g, quad) in input.chunks_exact(4).enumerate() {
        let base = g * 4;
        let last = g + 1 == groups;
        let pad = if last {
            quad.iter().rev().take_while(|&&b| b == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return Err(Error::protocol(
                "invalid base64: too much padding",
                input,
                base,
            ));
        }
        let mut n: u32 = 0;
        for (i, &b) in quad.iter().enumerate() {
            let v = if i >= 4 - pad {
                0
            } else {
                let v = DECODE[usize::from(b)];
                if v == INVALID {
                    let what = if b == b'=' {
                        "invalid base64: padding before the end"
                    } else {
                        "invalid base64: byte outside the alphabet"
                    };
                    return Err(Error::protocol(what, input, base + i));
                }
                v
            };
            n = (n << 6) | u32::from(v);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = 3 - pad;
        // The bits dropped with the padding must be zero.
        let dropped_nonzero = bytes.iter().skip(keep).any(|&b| b != 0);
        if dropped_nonzero {
            return Err(Error::protocol(
                "invalid base64: non-zero bits before the padding",
                input,
                base + 3 - pad,
            ));
        }
        out.extend(bytes.iter().take(keep));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4648_vectors() {
        let vectors: [(&str, &str); 7] = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded.as_bytes()).unwrap(), plain.as_bytes());
        }
        assert_eq!(encode(&[0xfb, 0xff, 0xbf]), "+/+/");
        assert_eq!(decode(b"+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    fn offset_of(input: &[u8]) -> usize {
        match decode(input) {
            Err(Error::Protocol { offset, .. }) => offset,
            other => panic!("expected a protocol error for {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn rejects_invalid_input() {
        assert_eq!(offset_of(b"Zg"), 2); // missing padding
        assert_eq!(offset_of(b"Zm9v Yg=="), 9); // length not a multiple of 4
        assert_eq!(offset_of(b"Zm9vY g="), 5); // whitespace
        assert_eq!(offset_of(b"Zm9v\r\nYg"), 4);
        assert_eq!(offset_of(b"Zm-v"), 2); // URL-safe alphabet is not standard base64
        assert_eq!(offset_of(b"Zg==Zg=="), 2); // padding in the middle
        assert_eq!(offset_of(b"Z==="), 0); // three padding bytes
        assert_eq!(offset_of(b"Zh=="), 1); // non-zero trailing bits
        assert_eq!(offset_of(b"Zm9=" as &[u8]), 2);
        assert!(decode(b"Zm8=").is_ok());
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let encoded = encode(&bytes);
            prop_assert_eq!(encoded.len() % 4, 0);
            prop_assert_eq!(decode(encoded.as_bytes()).unwrap(), bytes);
        }
    }
}
