//! `SCRAM-SHA-1` and `SCRAM-SHA-256` (RFC 5802, RFC 7677), client side, without channel
//! binding (`n,,`).
//!
//! The exchange: client-first (`n,,n=user,r=nonce`), the server's first message (its nonce
//! appended to ours, the salt, the iteration count), client-final with the proof, and the
//! server's final message `v=ServerSignature`, which is checked: a server that does not
//! prove it knows the password (wrong or missing signature, or `e=…`) fails the login with
//! [`Error::Auth`] even if it then says OK.
//!
//! Primitives are RustCrypto's `sha1` / `sha2`, `hmac` and `pbkdf2`; the signature is
//! compared without an early exit. The client nonce is 24 bytes from the
//! operating system's CSPRNG (`getrandom`: no user-space generator to seed or fork-protect).
//! The password is prepared with SASLprep (RFC 4013, the `stringprep` crate); a password
//! SASLprep refuses (prohibited or unassigned code points, wrong bidi) is an
//! [`Error::InvalidInput`] before anything is sent. The user name is sent as given, with
//! `=` and `,` escaped (RFC 5802 §5.1); a user name with a control character is refused.

use hmac::digest::block_api::EagerHash;
use hmac::{Hmac, KeyInit, Mac};

use crate::base64;
use crate::error::{Error, Result};

/// The highest iteration count accepted from a server: PBKDF2 costs this many HMACs before
/// anything is sent, so a hostile server could otherwise make the client spin. Dovecot uses
/// 4096; RFC 7677 asks for at least 4096.
pub(crate) const MAX_ITERATIONS: u32 = 1_000_000;

/// Bytes of randomness in the client nonce (base64-encoded on the wire).
const NONCE_BYTES: usize = 24;

/// The hash a SCRAM variant is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    /// SHA-1 (`SCRAM-SHA-1`).
    Sha1,
    /// SHA-256 (`SCRAM-SHA-256`).
    Sha256,
}

/// Where the exchange is.
#[derive(Debug)]
enum Stage {
    /// Client-first sent; waiting for the server's first message.
    SentFirst,
    /// Client-final sent; waiting for `v=` with this expected server signature.
    SentFinal { server_signature: Vec<u8> },
    /// The server proved it knows the password.
    Verified,
    /// The server failed to prove it (the reason, for the error).
    Failed(String),
}

/// One SCRAM exchange.
pub(crate) struct Scram {
    hash: Hash,
    password: String,
    client_first_bare: String,
    nonce: String,
    stage: Stage,
}

impl std::fmt::Debug for Scram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scram")
            .field("hash", &self.hash)
            .field("password", &"<redacted>")
            .field("stage", &"…")
            .finish()
    }
}

/// A fresh client nonce: [`NONCE_BYTES`] from the OS CSPRNG, base64 (printable, no `,`).
fn fresh_nonce() -> Result<String> {
    let mut bytes = [0u8; NONCE_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::invalid(
            "SCRAM nonce",
            format!("the operating system's random generator failed: {e}"),
        )
    })?;
    Ok(base64::encode(&bytes))
}

/// `saslname` (RFC 5802 §5.1): `=` as `=3D`, `,` as `=2C`.
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// The attribute `key=` of a SCRAM message, if present.
fn attribute(message: &str, key: char) -> Option<&str> {
    message.split(',').find_map(|part| {
        let mut chars = part.chars();
        (chars.next() == Some(key) && chars.next() == Some('=')).then(|| part.get(2..))?
    })
}

fn hmac<H: EagerHash>(key: &[u8], data: &[u8]) -> Result<Vec<u8>>
where
    Hmac<H>: KeyInit + Mac,
{
    let mut mac = <Hmac<H> as KeyInit>::new_from_slice(key)
        .map_err(|_| Error::invalid("SCRAM key", "cannot key the HMAC"))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// `ClientProof` and `ServerSignature` for `password`, `salt`, `iterations` and the
/// `auth_message` (RFC 5802 §3).
fn proof_and_signature<H: EagerHash>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    auth_message: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)>
where
    Hmac<H>: KeyInit + Mac,
{
    let mut salted = vec![0u8; <H as hmac::digest::OutputSizeUser>::output_size()];
    pbkdf2::pbkdf2_hmac::<H>(password, salt, iterations, &mut salted);
    let client_key = hmac::<H>(&salted, b"Client Key")?;
    let stored_key = H::digest(&client_key).to_vec();
    let client_signature = hmac::<H>(&stored_key, auth_message)?;
    let proof = client_key
        .iter()
        .zip(&client_signature)
        .map(|(k, s)| k ^ s)
        .collect();
    let server_key = hmac::<H>(&salted, b"Server Key")?;
    let server_signature = hmac::<H>(&server_key, auth_message)?;
    Ok((proof, server_signature))
}

impl Scram {
    /// Starts an exchange for `user` / `password` with a fresh nonce.
    ///
    /// Fails with [`Error::InvalidInput`] if SASLprep refuses the password or the user
    /// name holds a control character.
    pub(crate) fn new(hash: Hash, user: &str, password: &str) -> Result<Scram> {
        Scram::with_nonce(hash, user, password, fresh_nonce()?)
    }

    /// Starts an exchange with a given client nonce (the RFC test vectors).
    pub(crate) fn with_nonce(
        hash: Hash,
        user: &str,
        password: &str,
        nonce: String,
    ) -> Result<Scram> {
        if user.chars().any(char::is_control) {
            return Err(Error::invalid(
                "user name",
                "holds a control character, which SCRAM cannot carry",
            ));
        }
        let password = stringprep::saslprep(password)
            .map_err(|e| {
                Error::invalid(
                    "password",
                    format!("SASLprep (RFC 4013), which SCRAM requires, refuses it: {e}; use PLAIN over TLS for such a password"),
                )
            })?
            .into_owned();
        let client_first_bare = format!("n={},r={nonce}", saslname(user));
        Ok(Scram {
            hash,
            password,
            client_first_bare,
            nonce,
            stage: Stage::SentFirst,
        })
    }

    /// The client-first message, base64 (sent as the initial response).
    pub(crate) fn client_first(&self) -> String {
        base64::encode(format!("n,,{}", self.client_first_bare).as_bytes())
    }

    /// The answer to the server's challenge (base64): client-final after the server's
    /// first message, an empty response after a verified server-final, `*` (cancel) after a
    /// server-final that fails the check.
    ///
    /// Fails with [`Error::Protocol`] when the server's first message is malformed (bad
    /// base64, missing or wrong nonce, salt or iteration count, a mandatory extension `m=`,
    /// an iteration count over [`MAX_ITERATIONS`]).
    pub(crate) fn respond(&mut self, challenge: &str) -> Result<String> {
        let bytes = base64::decode(challenge.trim().as_bytes())?;
        let message = String::from_utf8_lossy(&bytes).into_owned();
        match std::mem::replace(
            &mut self.stage,
            Stage::Failed("its first message was refused".into()),
        ) {
            Stage::SentFirst => {
                let (final_message, signature) = self.client_final(&message)?;
                self.stage = Stage::SentFinal {
                    server_signature: signature,
                };
                Ok(final_message)
            }
            Stage::SentFinal { server_signature } => {
                self.stage = check_server_final(&message, &server_signature);
                Ok(match self.stage {
                    Stage::Verified => String::new(),
                    _ => "*".to_string(),
                })
            }
            Stage::Verified | Stage::Failed(_) => {
                self.stage =
                    Stage::Failed("the server sent a challenge after its final message".into());
                Ok("*".to_string())
            }
        }
    }

    /// After the server said OK: `Ok` only if it proved it knows the password.
    ///
    /// Fails with [`Error::Auth`] (`mechanism` names the command) otherwise.
    pub(crate) fn verified(&self, mechanism: &str) -> Result<()> {
        let why = match &self.stage {
            Stage::Verified => return Ok(()),
            Stage::SentFirst => "it accepted the login before the SCRAM exchange finished",
            Stage::SentFinal { .. } => "it accepted the login without sending its signature (v=)",
            Stage::Failed(why) => why.as_str(),
        };
        Err(self.auth_error(mechanism, why))
    }

    /// The failure to report when the server refused the login after a failed check, or
    /// `None` when the check did not fail (the refusal is then the server's own).
    pub(crate) fn failure(&self, mechanism: &str) -> Option<Error> {
        match &self.stage {
            Stage::Failed(why) => Some(self.auth_error(mechanism, why)),
            _ => None,
        }
    }

    fn auth_error(&self, mechanism: &str, why: &str) -> Error {
        Error::Auth {
            mechanism: mechanism.to_string(),
            text: format!(
                "the server could not prove it knows the password: {why}; the connection may not reach the real server (check the host and TLS), or the server's SCRAM secret is wrong"
            ),
        }
    }

    fn client_final(&self, server_first: &str) -> Result<(String, Vec<u8>)> {
        let bad = |what: &str| {
            Error::protocol(
                format!("SCRAM server-first message: {what}"),
                server_first.as_bytes(),
                0,
            )
        };
        if let Some(e) = attribute(server_first, 'e') {
            return Err(Error::Auth {
                mechanism: self.name().to_string(),
                text: format!("the server refused the SCRAM exchange: e={e}"),
            });
        }
        if server_first.starts_with("m=") {
            return Err(bad("a mandatory extension (m=) this client does not know"));
        }
        let nonce = attribute(server_first, 'r').ok_or_else(|| bad("no nonce (r=)"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(bad("the nonce does not extend the client's nonce"));
        }
        if nonce.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
            return Err(bad("the nonce holds a byte outside printable ASCII"));
        }
        let salt = attribute(server_first, 's').ok_or_else(|| bad("no salt (s=)"))?;
        let salt = base64::decode(salt.as_bytes())?;
        let iterations: u32 = attribute(server_first, 'i')
            .ok_or_else(|| bad("no iteration count (i=)"))?
            .parse()
            .map_err(|_| bad("the iteration count is not a number"))?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(bad(&format!(
                "iteration count {iterations} outside 1..={MAX_ITERATIONS}"
            )));
        }
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let password = self.password.as_bytes();
        let (proof, signature) = match self.hash {
            Hash::Sha1 => proof_and_signature::<sha1::Sha1>(
                password,
                &salt,
                iterations,
                auth_message.as_bytes(),
            )?,
            Hash::Sha256 => proof_and_signature::<sha2::Sha256>(
                password,
                &salt,
                iterations,
                auth_message.as_bytes(),
            )?,
        };
        let message = format!("{without_proof},p={}", base64::encode(&proof));
        Ok((base64::encode(message.as_bytes()), signature))
    }

    fn name(&self) -> &'static str {
        match self.hash {
            Hash::Sha1 => "SCRAM-SHA-1",
            Hash::Sha256 => "SCRAM-SHA-256",
        }
    }
}

/// Checks the server-final message against the expected signature.
fn check_server_final(message: &str, expected: &[u8]) -> Stage {
    if let Some(e) = attribute(message, 'e') {
        return Stage::Failed(format!("its final message is the error e={e}"));
    }
    let Some(v) = attribute(message, 'v') else {
        return Stage::Failed("its final message has no signature (v=)".into());
    };
    let Ok(signature) = base64::decode(v.as_bytes()) else {
        return Stage::Failed("its signature is not base64".into());
    };
    // Compared without an early exit (no timing signal on how much of it matched).
    let same = signature.len() == expected.len()
        && signature
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Stage::Verified
    } else {
        Stage::Failed("its signature (v=) is wrong".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::encode(s.as_bytes())
    }

    fn text(b: &str) -> String {
        String::from_utf8(base64::decode(b.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn rfc5802_sha1_exchange() {
        // RFC 5802 §5.
        let mut s = Scram::with_nonce(
            Hash::Sha1,
            "user",
            "pencil",
            "fyko+d2lbbFgONRv9qkxdawL".into(),
        )
        .unwrap();
        assert_eq!(
            text(&s.client_first()),
            "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
        );
        let final_ = s
            .respond(&b64(
                "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            ))
            .unwrap();
        assert_eq!(
            text(&final_),
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        assert!(s.verified("x").is_err());
        assert_eq!(
            s.respond(&b64("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")).unwrap(),
            ""
        );
        s.verified("x").unwrap();
    }

    #[test]
    fn rfc7677_sha256_exchange() {
        // RFC 7677 §3.
        let mut s = Scram::with_nonce(
            Hash::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        )
        .unwrap();
        assert_eq!(text(&s.client_first()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let final_ = s
            .respond(&b64("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
            .unwrap();
        assert_eq!(
            text(&final_),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            s.respond(&b64("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
                .unwrap(),
            ""
        );
        s.verified("x").unwrap();
    }

    fn started() -> Scram {
        let mut s = Scram::with_nonce(
            Hash::Sha1,
            "user",
            "pencil",
            "fyko+d2lbbFgONRv9qkxdawL".into(),
        )
        .unwrap();
        s.respond(&b64(
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        ))
        .unwrap();
        s
    }

    fn refused(s: &Scram) -> String {
        match s.verified("AUTHENTICATE SCRAM-SHA-1") {
            Err(Error::Auth { text, .. }) => text,
            other => panic!("expected Auth, got {other:?}"),
        }
    }

    #[test]
    fn wrong_missing_or_error_final_is_refused() {
        let mut s = started();
        // One bit off in the RFC's signature.
        assert_eq!(
            s.respond(&b64("v=rmF9pqV8S7suAoZWja4dJRkFsKA=")).unwrap(),
            "*"
        );
        assert!(refused(&s).contains("could not prove it knows the password"));
        assert!(refused(&s).contains("wrong"));
        assert!(s.failure("x").is_some());

        let mut s = started();
        s.respond(&b64("e=other-error")).unwrap();
        assert!(refused(&s).contains("e=other-error"));

        let mut s = started();
        s.respond(&b64("x=1")).unwrap();
        assert!(refused(&s).contains("no signature"));

        // OK without any final message.
        let s = started();
        assert!(refused(&s).contains("without sending its signature"));
        assert!(s.failure("x").is_none());
    }

    #[test]
    fn hostile_server_first_is_refused_before_any_work() {
        let first = |msg: &str| {
            let mut s = Scram::with_nonce(Hash::Sha256, "u", "p", "abc".into()).unwrap();
            s.respond(&b64(msg))
        };
        assert!(first("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").is_ok());
        for bad in [
            "r=xyzdef,s=QSXCR+Q6sek8bf92,i=4096", // not our nonce
            "r=abc,s=QSXCR+Q6sek8bf92,i=4096",    // not extended
            "r=abcdef,i=4096",                    // no salt
            "r=abcdef,s=QSXCR+Q6sek8bf92",        // no count
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=0",
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=4294967295", // would spin
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=-1",
            "m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
        ] {
            assert!(matches!(first(bad), Err(Error::Protocol { .. })), "{bad}");
        }
        assert!(matches!(first("e=unknown-user"), Err(Error::Auth { .. })));
        assert!(first("!!!").is_err());
    }

    #[test]
    fn saslprep_and_names() {
        // RFC 4013 §3 examples: a soft hyphen is mapped to nothing; U+2168 to "IX".
        let s = Scram::with_nonce(Hash::Sha1, "u", "I\u{00AD}X", "n".into()).unwrap();
        assert_eq!(s.password, "IX");
        let s = Scram::with_nonce(Hash::Sha1, "u", "\u{2168}", "n".into()).unwrap();
        assert_eq!(s.password, "IX");
        // A prohibited character (U+0007) is refused before anything is sent.
        assert!(matches!(
            Scram::with_nonce(Hash::Sha1, "u", "a\u{7}b", "n".into()),
            Err(Error::InvalidInput { .. })
        ));
        assert!(Scram::with_nonce(Hash::Sha1, "a\nb", "p", "n".into()).is_err());
        let s = Scram::with_nonce(Hash::Sha1, "a=b,c", "p", "n".into()).unwrap();
        assert_eq!(text(&s.client_first()), "n,,n=a=3Db=2Cc,r=n");
        // The Debug form hides the password.
        assert!(!format!("{s:?}").contains("\"p\""));
    }

    #[test]
    fn nonces_are_fresh() {
        let a = fresh_nonce().unwrap();
        let b = fresh_nonce().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(!a.contains(','));
    }
}
