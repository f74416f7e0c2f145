//! The two keys of a pool.
//!
//! - [`AccountKey`] names the account a connection counts against: host, port and user, no
//!   secret. The server counts connections per account, so two configs of one account
//!   share [`PoolOptions::max_per_account`](super::PoolOptions::max_per_account). It has a
//!   stable string form (the same in every process and release) for storing it elsewhere.
//! - [`ReuseKey`] decides which idle connection a caller may be handed: the account plus a
//!   keyed digest of everything that changes trust or behaviour (credentials, root
//!   certificates, danger switches, server name, mechanism, limits, timeouts, security
//!   mode). Two configs that differ in any of them never share a connection; the retry
//!   policy is left out (it only decides how a connection is opened). The
//!   digest is keyed with a random per-process key, so it is meaningless outside the process
//!   and reveals nothing about the secret.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use crate::config::{Config, Protocol};
use crate::error::{Error, Result};

/// The account a pooled connection counts against: host, port and user.
///
/// Carries no secret. Two configs of one account (say, one with a shorter read timeout)
/// have equal account keys: they share the per-account limit, while their [`ReuseKey`]s
/// keep them from being handed each other's connections.
///
/// The host is compared without regard to ASCII case (it is stored in lower case).
///
/// `Display` is the stable string form `user@host:port` (or `host:port` without a user),
/// with every byte of the user and the host outside printable ASCII, and every `%` and
/// `@`, percent-encoded (`%40`); it is the same in every process and release, and
/// [`FromStr`] reads it back. It is safe to print: it never holds a control character.
///
/// ```
/// use mailwire::pool::AccountKey;
///
/// let key = AccountKey::new("IMAP.Example.com", 993, "alice@example.com");
/// assert_eq!(key.to_string(), "alice%40example.com@imap.example.com:993");
/// assert_eq!(key.to_string().parse::<AccountKey>()?, key);
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    host: String,
    port: u16,
    user: String,
}

impl AccountKey {
    /// The account of `user` (empty for none) on `host:port`.
    pub fn new(host: impl Into<String>, port: u16, user: impl Into<String>) -> AccountKey {
        let mut host = host.into();
        host.make_ascii_lowercase();
        AccountKey {
            host,
            port,
            user: user.into(),
        }
    }

    /// The account `config` logs in to with `protocol`: its host, the port it uses for
    /// `protocol`, and its user name.
    pub fn for_config(config: &Config, protocol: Protocol) -> AccountKey {
        AccountKey::new(
            config.host(),
            config.port(protocol),
            config.user().unwrap_or(""),
        )
    }

    /// The host (lower case).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user (empty when none).
    pub fn user(&self) -> &str {
        &self.user
    }
}

/// Writes `text` percent-encoding every byte outside printable ASCII and `%` / `@`.
fn write_encoded(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let mut plain_from = 0;
    for (i, b) in text.bytes().enumerate() {
        if needs_encoding(b) {
            // Every byte of a multi-byte character is encoded, so a plain run is ASCII and
            // `get` finds it (it is empty when it would start inside a character).
            f.write_str(text.get(plain_from..i).unwrap_or(""))?;
            write!(f, "%{b:02X}")?;
            plain_from = i + 1;
        }
    }
    f.write_str(text.get(plain_from..).unwrap_or(""))
}

fn needs_encoding(b: u8) -> bool {
    !(0x21..=0x7e).contains(&b) || b == b'%' || b == b'@'
}

/// Reverses [`write_encoded`]; fails on a malformed escape or bytes that are not UTF-8.
fn decode(part: &str, what: &str) -> Result<String> {
    let bad = |reason: &str| Error::invalid("account key", format!("{what}: {reason}"));
    let mut out = Vec::with_capacity(part.len());
    let mut bytes = part.bytes();
    while let Some(b) = bytes.next() {
        if needs_encoding(b) && b != b'%' {
            return Err(bad("holds a character that must be percent-encoded"));
        }
        if b == b'%' {
            let hex = [bytes.next(), bytes.next()];
            let digit = |d: Option<u8>| d.and_then(|d| char::from(d).to_digit(16));
            match (digit(hex[0]), digit(hex[1])) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(bad("a % is not followed by two hex digits")),
            }
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| bad("is not UTF-8 once decoded"))
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.user.is_empty() {
            write_encoded(f, &self.user)?;
            f.write_str("@")?;
        }
        write_encoded(f, &self.host)?;
        write!(f, ":{}", self.port)
    }
}

impl FromStr for AccountKey {
    type Err = Error;

    /// Reads the stable form written by `Display` (`user@host:port` or `host:port`).
    fn from_str(s: &str) -> Result<AccountKey> {
        let (user, rest) = match s.split_once('@') {
            Some((user, rest)) if !user.is_empty() => (decode(user, "user")?, rest),
            Some(_) => return Err(Error::invalid("account key", "the user is empty")),
            None => (String::new(), s),
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| Error::invalid("account key", "no :port at the end"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| Error::invalid("account key", "the port is not a number 0-65535"))?;
        let host = decode(host, "host")?;
        if host.is_empty() {
            return Err(Error::invalid("account key", "the host is empty"));
        }
        if host.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "account key",
                "the host is not in lower case",
            ));
        }
        Ok(AccountKey { host, port, user })
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKey")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .finish()
    }
}

/// Which idle connections a caller may be handed: the [`AccountKey`] plus a digest of
/// everything else that makes two connections different.
///
/// Made by [`ReuseKey::for_config`] (what the IMAP and POP3 pools use), or by
/// [`ReuseKey::new`] for other [`Manage`](super::Manage) implementations. The digest is
/// 128 bits of SipHash keyed with random per-process keys: the secret is never stored, the
/// digest cannot be computed, compared or guessed outside the process, and it differs
/// between processes (never store it; store the [`AccountKey`]). `Debug` and `Display`
/// show only the account.
#[derive(Clone, Eq)]
pub struct ReuseKey {
    account: Arc<AccountKey>,
    digest: [u64; 2],
}

impl PartialEq for ReuseKey {
    /// Both parts, the digest first (it differs first when anything differs).
    fn eq(&self, other: &ReuseKey) -> bool {
        self.digest == other.digest && self.account == other.account
    }
}

impl Hash for ReuseKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.account.hash(state);
        self.digest.hash(state);
    }
}

/// Feeds two independently keyed hashers at once: 128 bits of keyed digest.
struct Digest {
    a: std::hash::DefaultHasher,
    b: std::hash::DefaultHasher,
}

impl Digest {
    fn new() -> Digest {
        static KEYS: OnceLock<(RandomState, RandomState)> = OnceLock::new();
        let (a, b) = KEYS.get_or_init(|| (RandomState::new(), RandomState::new()));
        Digest {
            a: a.build_hasher(),
            b: b.build_hasher(),
        }
    }

    fn finish128(&self) -> [u64; 2] {
        [self.a.finish(), self.b.finish()]
    }
}

impl Hasher for Digest {
    fn write(&mut self, bytes: &[u8]) {
        self.a.write(bytes);
        self.b.write(bytes);
    }

    fn finish(&self) -> u64 {
        self.a.finish()
    }
}

impl ReuseKey {
    /// A key for connections of `account` that may be handed to any target with an equal
    /// `identity`.
    ///
    /// `identity` must cover the secret and every setting that changes what a connection
    /// trusts or how it behaves; anything left out lets a target be handed a connection
    /// made for another. Only its digest is kept.
    pub fn new<T: Hash + ?Sized>(account: AccountKey, identity: &T) -> ReuseKey {
        let mut digest = Digest::new();
        account.hash(&mut digest);
        identity.hash(&mut digest);
        ReuseKey {
            account: Arc::new(account),
            digest: digest.finish128(),
        }
    }

    /// The key of connections made from `config` with `protocol`.
    ///
    /// Covers every setting of the config, exhaustively (a setting added to [`Config`]
    /// later does not compile until it is covered here): host, the port used for
    /// `protocol`, security mode, the kind of credentials, user and secret, the
    /// authentication mechanism, connect / read / write timeouts, every limit (not the
    /// retry policy, which only decides how a connection is opened), the TLS server name, turned-off verification and the contents of every extra
    /// root certificate.
    pub fn for_config(config: &Config, protocol: Protocol) -> ReuseKey {
        let account = AccountKey::for_config(config, protocol);
        let mut digest = Digest::new();
        account.hash(&mut digest);
        config.hash_reuse_identity(protocol, &mut digest);
        ReuseKey {
            account: Arc::new(account),
            digest: digest.finish128(),
        }
    }

    /// The account the connections count against.
    pub fn account(&self) -> &AccountKey {
        &self.account
    }

    pub(crate) fn account_arc(&self) -> &Arc<AccountKey> {
        &self.account
    }
}

impl fmt::Display for ReuseKey {
    /// The account (the digest is never shown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.account, f)
    }
}

impl fmt::Debug for ReuseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReuseKey")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_keyed_not_a_plain_hash_of_the_identity() {
        let identity = ("imap+tls", "alice", "secret");
        let mut digest = Digest::new();
        identity.hash(&mut digest.a);
        identity.hash(&mut digest.b);
        // The same identity through unkeyed SipHash (zero keys): what anyone could compute.
        let mut plain = std::hash::DefaultHasher::new();
        identity.hash(&mut plain);
        let keyed = digest.finish128();
        assert_ne!(keyed[0], plain.finish());
        assert_ne!(keyed[1], plain.finish());
        assert_ne!(keyed[0], keyed[1], "two independent keys");
        // Another process draws other keys: a fresh RandomState stands for it.
        assert_ne!(RandomState::new().hash_one(identity), keyed[0]);
    }

    #[test]
    fn stable_form_encodes_separators_and_controls() {
        let k = AccountKey::new("Host.Example", 143, "a@b%c d\x1bé");
        let s = k.to_string();
        assert_eq!(s, "a%40b%25c%20d%1B%C3%A9@host.example:143");
        assert_eq!(s.parse::<AccountKey>().unwrap(), k);
        let anonymous = AccountKey::new("h", 110, "");
        assert_eq!(anonymous.to_string(), "h:110");
        assert_eq!("h:110".parse::<AccountKey>().unwrap(), anonymous);
        let odd_host = AccountKey::new("a@b", 1, "u");
        assert_eq!(odd_host.to_string(), "u@a%40b:1");
        assert_eq!(
            odd_host.to_string().parse::<AccountKey>().unwrap(),
            odd_host
        );
        let v6 = AccountKey::new("::1", 993, "u");
        assert_eq!(v6.to_string().parse::<AccountKey>().unwrap(), v6);
        for bad in [
            "",
            "h",
            "u@h",
            "@h:1",
            "u@h:x",
            "u@h:70000",
            "u@:1",
            "u@H:1",
            "u%4@h:1",
            "u v@h:1",
            "%FF@h:1",
        ] {
            assert!(bad.parse::<AccountKey>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn reuse_key_hides_the_identity() {
        let k = ReuseKey::new(AccountKey::new("h", 1, "u"), "hunter2");
        assert_eq!(k, ReuseKey::new(AccountKey::new("H", 1, "u"), "hunter2"));
        assert_ne!(k, ReuseKey::new(AccountKey::new("h", 1, "u"), "hunter3"));
        assert_ne!(k, ReuseKey::new(AccountKey::new("h", 2, "u"), "hunter2"));
        let shown = format!("{k} {k:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("digest"),
            "{shown}"
        );
        assert_eq!(k.to_string(), "u@h:1");
    }
}
