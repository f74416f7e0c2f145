//! Test support shared by the integration tests and the library's unit tests.
//!
//! Uses only `std` and `native_tls` so that it can be included both as `mod support;` from
//! `tests/*.rs` and as `#[path = "../../tests/support/mod.rs"] mod support;` from unit tests
//! (and the demo server). `capture.rs` beside it (a logger keeping every line) uses `log` and is included
//! with `#[path]` by the tests that need it.
//!
//! - [`certs`]: a per-process self-signed certificate (CN=localhost, 127.0.0.1).
//! - [`dovecot`]: a private Dovecot on 127.0.0.1 (IMAP, IMAPS, POP3, POP3S).
//! - [`script_server`]: a scripted fake server for faults and quirks.
//! - [`gated_relay`]: a TCP relay whose gate holds new connections (a held reconnect).
//! - [`hostile_pop3`]: a POP3 server that generates endless or huge answers.
//! - [`nagle_server`]: an IMAP server that writes each answer in two pieces, Nagle on.
#![allow(dead_code)]

pub mod certs;
pub mod dovecot;
pub mod gated_relay;
pub mod hostile_pop3;
pub mod nagle_server;
pub mod script_server;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A random-looking lowercase alphanumeric string of `len` characters.
pub fn random_token(len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut state = 0u64;
    for i in 0..len {
        if i % 8 == 0 {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            h.write_u32(std::process::id());
            h.write_u128(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            state = h.finish();
        }
        out.push(ALPHABET[(state % ALPHABET.len() as u64) as usize] as char);
        state /= ALPHABET.len() as u64;
    }
    out
}

/// The base for temp dirs: `/dev/shm` (tmpfs: creating 10,000 maildir files takes well
/// under a second there, several seconds on a loaded disk) when usable, else `/tmp`.
/// Short on purpose: Dovecot's unix socket paths must stay below 107 bytes.
pub fn temp_base() -> &'static Path {
    static BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let probe = shm.join(format!(".mw-probe-{}", random_token(8)));
        if std::fs::create_dir(&probe).is_ok() {
            let _ = std::fs::remove_dir(&probe);
            shm.to_path_buf()
        } else {
            PathBuf::from("/tmp")
        }
    })
}

/// Creates a fresh, empty directory `<temp_base>/<prefix><random>`.
pub fn make_temp_dir(prefix: &str) -> PathBuf {
    for _ in 0..100 {
        let dir = temp_base().join(format!("{prefix}{}", random_token(6)));
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
    }
    panic!(
        "cannot create a unique temp dir {}/{prefix}*",
        temp_base().display()
    )
}

/// Removes `path` (recursively) when this test process exits, however it exits.
///
/// A tiny `sh` waits on a pipe whose write end only this process holds; when the process
/// ends (normally, by panic or by a signal) the pipe closes, `read` returns and `sh` removes
/// the path. Needed for things owned by statics, which are never dropped.
pub fn remove_at_exit(path: &Path) {
    static HOLDERS: Mutex<Vec<std::process::ChildStdin>> = Mutex::new(Vec::new());
    let child = Command::new("sh")
        .arg("-c")
        .arg("read -r _ ; rm -rf -- \"$1\"")
        .arg("sh")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            if let Some(stdin) = child.stdin.take() {
                HOLDERS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(stdin);
            }
            // Never waited for: it outlives us on purpose and is reaped by init.
            std::mem::forget(child);
        }
        Err(e) => eprintln!("warning: cannot arrange removal of {}: {e}", path.display()),
    }
}

/// Writes `data` to `path` and flushes it.
fn write_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(data)?;
    f.flush()
}

/// True when running as root (uid 0).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self is owned by the process's effective uid.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Asserts that what started at `started` ended within `bound`, and prints how long it took
/// (`what: 1.003s`): hang bounds in tests are generous, never speeds.
pub fn assert_within(started: std::time::Instant, bound: std::time::Duration, what: &str) {
    let took = started.elapsed();
    assert!(took < bound, "{what} took {took:?}, more than {bound:?}");
    println!("{what}: {took:?}");
}

/// Standard base64 with padding (the tests compute what a secret looks like encoded).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
