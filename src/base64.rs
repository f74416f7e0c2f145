//! Standard base64 (RFC 4648 §4, alphabet `A–Z a–z 0–9 + /`, `=` padding), as SASL uses it.
//!
//! The `base64` crate's standard engine does the work; this module fixes the rules on top of
//! it. Decoding is strict: the length must be a multiple of 4, padding is required,
//! whitespace and any other byte outside the alphabet are refused, and the unused bits
//! before the padding must be zero (so every byte string has exactly one accepted encoding).
//! A refusal is an [`Error::Protocol`] naming the offset of the first bad byte.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

/// Encodes `input` as padded standard base64.
pub(crate) fn encode(input: &[u8]) -> String {
    STANDARD.encode(input)
}

/// Decodes padded standard base64.
///
/// Fails with [`Error::Protocol`] (the input normally comes from the server) naming the
/// offset of the first bad byte.
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
    if input.iter().rev().take_while(|&&b| b == b'=').count() > 2 {
        return Err(Error::protocol(
            "invalid base64: too much padding",
            input,
            input.len().saturating_sub(4),
        ));
    }
    // The crate's STANDARD engine requires canonical padding and zero trailing bits; its
    // errors carry the offset, mapped here to this module's messages.
    STANDARD.decode(input).map_err(|e| {
        let (what, offset) = match e {
            base64::DecodeError::InvalidByte(offset, b'=') => {
                ("invalid base64: padding before the end", offset)
            }
            base64::DecodeError::InvalidByte(offset, _) => {
                ("invalid base64: byte outside the alphabet", offset)
            }
            base64::DecodeError::InvalidLastSymbol(offset, _) => {
                ("invalid base64: non-zero bits before the padding", offset)
            }
            base64::DecodeError::InvalidLength(_) => (
                "invalid base64: too much padding",
                input.iter().position(|&b| b == b'=').unwrap_or(0),
            ),
            base64::DecodeError::InvalidPadding => (
                "invalid base64: wrong padding",
                input.iter().position(|&b| b == b'=').unwrap_or(0),
            ),
        };
        Error::protocol(what, input, offset)
    })
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
