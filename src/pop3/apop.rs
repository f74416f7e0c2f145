//! APOP (RFC 1939 §7): the MD5 digest of the greeting's timestamp followed by the password.
//!
//! MD5 comes from RustCrypto's `md-5`. MD5 is broken for collision resistance; APOP is
//! offered only because some servers still expect it, and it is no substitute for TLS.

use md5::{Digest, Md5};

use crate::sasl::hex;

/// The APOP digest argument: lowercase hex MD5 of `timestamp` (brackets included, as
/// found in the greeting) followed by `password`.
pub(crate) fn apop_digest(timestamp: &str, password: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(timestamp.as_bytes());
    md5.update(password.as_bytes());
    hex(&md5.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1321_test_suite() {
        let suite = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, expected) in suite {
            assert_eq!(
                hex(&Md5::digest(input.as_bytes())),
                expected,
                "MD5({input:?})"
            );
        }
    }

    #[test]
    fn padding_boundaries() {
        // Lengths around the 56-byte and 64-byte boundaries take different padding paths.
        let known = [
            (55, "ef1772b6dff9a122358552954ad0df65"),
            (56, "3b0c8ac703f828b04c6c197006d17218"),
            (63, "b06521f39153d618550606be297466d5"),
            (64, "014842d480b571495a4a0363793f7367"),
            (65, "c743a45e0d2e6a95cb859adae0248435"),
        ];
        for (len, expected) in known {
            let input = vec![b'a'; len];
            assert_eq!(hex(&Md5::digest(&input)), expected, "MD5('a' x {len})");
        }
    }

    #[test]
    fn rfc1939_apop_example() {
        assert_eq!(
            apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb"
        );
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0xff, 0x10]), "00abff10");
    }
}
