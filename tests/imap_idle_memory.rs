//! What one idle listener costs in memory, per component (measurements, run by hand, each
//! in its own process so that memory freed by one does not hide the next one's growth):
//!
//! ```text
//! for part in tcp tls connection listener; do
//!   MAILWIRE_MEM_N=1000 cargo test --test imap_idle_memory -- --ignored --nocapture --exact memory_of_$part
//! done
//! ```
//!
//! Each opens `MAILWIRE_MEM_N` (default 200) of one thing against the test Dovecot (TLS on
//! loopback) and prints the process's RSS growth per item (/proc/self/status `VmRSS`, and
//! the anonymous memory of /proc/self/smaps_rollup), and, for listeners, the stack pages
//! their threads touched (/proc/self/smaps: the stack mappings). docs/idle.md "What a
//! listener costs" holds the figures.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use mailwire::imap::{IdleListener, ImapConnection};
use mailwire::{Config, RetryPolicy};
use support::dovecot::{Dovecot, User};

fn n() -> usize {
    std::env::var("MAILWIRE_MEM_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn account(dc: &Dovecot, user: &User) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::default())
        .build()
        .unwrap()
}

/// (VmRSS, anonymous RSS) of the process, in KiB.
fn rss_kib() -> (u64, u64) {
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    (field(&status, "VmRSS:"), field(&rollup, "Anonymous:"))
}

/// Settles: gives the threads a moment to reach their idle state.
fn settle() {
    std::thread::sleep(Duration::from_secs(2));
}

fn report(what: &str, count: usize, before: (u64, u64), after: (u64, u64)) {
    let per = |a: u64, b: u64| (a.saturating_sub(b)) as f64 / count as f64;
    println!(
        "memory: {count} {what}: VmRSS {} → {} KiB ({:.1} KiB each), anonymous {:.1} KiB each",
        before.0,
        after.0,
        per(after.0, before.0),
        per(after.1, before.1),
    );
}

/// Anonymous read-write mappings that `at_least` or more threads share the size of — the
/// threads' stacks (/proc/self/smaps lists each thread's stack as one such mapping, its
/// guard page apart): (size KiB, how many, mean Rss KiB).
fn stack_mappings(at_least: usize) -> Vec<(u64, usize, f64)> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut by_size: std::collections::BTreeMap<u64, (usize, u64)> = Default::default();
    let mut current: Option<u64> = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first().is_some_and(|f| f.contains('-'))
            && fields.len() >= 5
            && !line.ends_with(':')
            && fields.get(1).is_some_and(|p| p.len() == 4)
        {
            // A mapping's header: "start-end perms offset dev inode [path]".
            let (a, b) = fields[0].split_once('-').unwrap_or(("0", "0"));
            let len = u64::from_str_radix(b, 16)
                .unwrap_or(0)
                .saturating_sub(u64::from_str_radix(a, 16).unwrap_or(0));
            let anon = fields.len() == 5;
            current = (anon && fields[1].starts_with("rw")).then_some(len / 1024);
        } else if let (Some(v), Some(size)) = (line.strip_prefix("Rss:"), current) {
            let kib = v
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap_or(0);
            let entry = by_size.entry(size).or_default();
            entry.0 += 1;
            entry.1 += kib;
        }
    }
    by_size
        .into_iter()
        .filter(|(_, (count, _))| *count >= at_least)
        .map(|(size, (count, rss))| (size, count, rss as f64 / count as f64))
        .collect()
}

#[test]
#[ignore = "a measurement, run by hand"]
fn memory_of_tcp() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let n = n();
    settle();
    let before = rss_kib();
    let streams: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", dc.imap_port())).unwrap();
            let mut greeting = [0u8; 256];
            let _ = s.read(&mut greeting).unwrap();
            s
        })
        .collect();
    settle();
    report(
        "plain TCP connections (greeting read)",
        n,
        before,
        rss_kib(),
    );
    drop(streams);
}

#[test]
#[ignore = "a measurement, run by hand"]
fn memory_of_tls() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let n = n();
    let root = native_tls::Certificate::from_pem(dc.cert_pem()).unwrap();
    // One connector for all, as mailwire shares one per Config (its clones too).
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    settle();
    let before = rss_kib();
    let streams: Vec<native_tls::TlsStream<TcpStream>> = (0..n)
        .map(|_| {
            let tcp = TcpStream::connect(("127.0.0.1", dc.imaps_port())).unwrap();
            let mut s = connector.connect("localhost", tcp).unwrap();
            let mut greeting = [0u8; 256];
            let _ = s.read(&mut greeting).unwrap();
            s
        })
        .collect();
    settle();
    report(
        "TLS streams (native-tls/OpenSSL, greeting read)",
        n,
        before,
        rss_kib(),
    );
    drop(streams);
}

#[test]
#[ignore = "a measurement, run by hand"]
fn memory_of_connection() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let n = n();
    let users: Vec<User> = (0..n.div_ceil(500)).map(|_| dc.add_user()).collect();
    let configs: Vec<Config> = users.iter().map(|u| account(dc, u)).collect();
    settle();
    let before = rss_kib();
    let connections: Vec<ImapConnection> = (0..n)
        .map(|i| {
            let c = ImapConnection::connect(&configs[i % configs.len()]).unwrap();
            c.examine("INBOX").unwrap();
            c
        })
        .collect();
    settle();
    report(
        "ImapConnections (TLS, logged in, INBOX examined)",
        n,
        before,
        rss_kib(),
    );
    drop(connections);
}

#[test]
#[ignore = "a measurement, run by hand"]
fn memory_of_listener() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let n = n();
    // `MAILWIRE_MEM_CHANNEL`: the listeners' event channel capacity (default 1,024; a
    // group's listeners hold 2).
    let channel: usize = std::env::var("MAILWIRE_MEM_CHANNEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let users: Vec<User> = (0..n.div_ceil(500)).map(|_| dc.add_user()).collect();
    let configs: Vec<Config> = users.iter().map(|u| account(dc, u)).collect();
    settle();
    let before = rss_kib();
    let listeners: Vec<IdleListener> = (0..n)
        .map(|i| {
            IdleListener::builder(configs[i % configs.len()].clone())
                .channel_capacity(channel)
                .spawn()
                .unwrap()
        })
        .collect();
    settle();
    report(
        &format!("IdleListeners (TLS, idling on INBOX, channel of {channel})"),
        n,
        before,
        rss_kib(),
    );
    for (size, count, touched) in stack_mappings(n) {
        println!(
            "memory: {count} mappings of {size} KiB (thread stacks): {touched:.1} KiB touched each"
        );
    }
    drop(listeners);
}
