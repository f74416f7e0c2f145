//! `CRAM-MD5` (RFC 2195): the answer to the server's challenge is the user name and the
//! lowercase hex HMAC-MD5 of the challenge keyed with the password.
//!
//! HMAC and MD5 come from RustCrypto's `hmac` and `md-5`. The password never goes on the
//! wire, but the server must store it in clear (or as an HMAC-MD5 context), and the answer
//! is open to an offline dictionary attack by anyone who sees it: use it over TLS, and only
//! when the server offers nothing better (see `sasl::choose`).

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use super::hex;
use crate::base64;
use crate::error::{Error, Result};

/// The client response to the base64 `challenge`: base64 of `user SP hex(HMAC-MD5(password,
/// challenge))`.
///
/// Fails with [`Error::Protocol`] when the challenge is not valid base64 or is empty, and
/// with [`Error::InvalidInput`] when the user name holds a space or a control character
/// (the server splits the answer at its last space).
pub(crate) fn response(user: &str, password: &str, challenge: &str) -> Result<String> {
    if user.chars().any(|c| c == ' ' || c.is_control()) {
        return Err(Error::invalid(
            "user name",
            "holds a space or a control character, which CRAM-MD5 cannot carry",
        ));
    }
    let challenge = base64::decode(challenge.trim().as_bytes())?;
    if challenge.is_empty() {
        return Err(Error::protocol(
            "the server sent an empty CRAM-MD5 challenge",
            &[],
            0,
        ));
    }
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(password.as_bytes())
        .map_err(|_| Error::invalid("password", "cannot key HMAC-MD5"))?;
    mac.update(&challenge);
    let digest = hex(&mac.finalize().into_bytes());
    Ok(base64::encode(format!("{user} {digest}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2195_example() {
        // RFC 2195 §2: user "tim", password "tanstaaftanstaaf".
        let challenge = base64::encode(b"<1896.697170952@postoffice.reston.mci.net>");
        assert_eq!(
            challenge,
            "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
        );
        let answer = response("tim", "tanstaaftanstaaf", &challenge).unwrap();
        assert_eq!(answer, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
        assert_eq!(
            base64::decode(answer.as_bytes()).unwrap(),
            b"tim b913a602c7eda7a495b4e6e7334d3890"
        );
    }

    #[test]
    fn refuses_bad_input() {
        assert!(matches!(
            response("t m", "pw", "PDE+"),
            Err(Error::InvalidInput { .. })
        ));
        assert!(matches!(
            response("tim", "pw", "not base64"),
            Err(Error::Protocol { .. })
        ));
        assert!(matches!(
            response("tim", "pw", ""),
            Err(Error::Protocol { .. })
        ));
    }
}
