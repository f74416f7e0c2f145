//! The `idle` workload (issue 19): N `IdleListener`s in one `IdleGroup` against the private
//! Dovecot over TLS; prints one `idle:` line (spawn time, RSS per listener, idle CPU, the
//! APPEND → callback latency over Dovecot's own notify floor, group-stop time).
//!
//! Run through `scripts/bench` (`MAILWIRE_BENCH_ONLY=idle`), or
//! `cargo bench --bench idle -- --bench [--quick]`. N is 1,000 with `--quick`, 10,000
//! otherwise, `MAILWIRE_IDLE_N` overrides it; `MAILWIRE_IDLE_CONNECTS` sets
//! `max_concurrent_connects` (default 16). Without `--bench` (as under
//! `cargo test --benches`) it does nothing. Nothing is asserted.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, clippy::all)]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailwire::imap::{IdleEvent, IdleGroup, IdleListener, ImapConnection};
use mailwire::sasl::Mechanism;
use mailwire::{Config, RetryPolicy};
use parking_lot::Mutex;

/// Listeners per account (the bench's `mail_max_userip_connections` is above it).
const PER_ACCOUNT: usize = 100;
/// Listeners whose latency is measured (those of the first account).
const MEASURED: usize = 100;
/// How long the idle CPU is measured.
const IDLE_WINDOW: Duration = Duration::from_secs(10);

/// The Dovecot settings N listeners need (see docs/idle.md "Dovecot limits for many
/// listeners"); appended to the test configuration.
fn dovecot_extra(n: usize) -> String {
    let procs = n + 500;
    // MAILWIRE_IDLE_IMAP_CLIENTS: connections per imap process (Dovecot's default 1 forks
    // and starts one imap process per connection).
    let clients: usize = std::env::var("MAILWIRE_IDLE_IMAP_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    format!(
        "mail_max_userip_connections = {}\n\
         service imap {{\n  process_limit = {procs}\n  client_limit = {clients}\n  vsz_limit = 1G\n}}\n\
         service imap-login {{\n  process_limit = 64\n  client_limit = {procs}\n  process_min_avail = 4\n}}\n\
         service anvil {{\n  client_limit = {}\n}}\n\
         service config {{\n  client_limit = {procs}\n}}\n\
         service auth {{\n  client_limit = {}\n}}\n",
        PER_ACCOUNT * 2,
        procs * 2 + 1000,
        procs * 2 + 1000,
    )
}

fn cpu_ms() -> f64 {
    // /proc/self/stat: utime and stime (fields 14, 15) in clock ticks (100 per second).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let f: Vec<&str> = after.split(' ').collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) * 10.0
}

/// CPU ms (user + system) of the private Dovecot's live processes.
fn server_cpu_ms(dc: &support::dovecot::Dovecot) -> f64 {
    let ticks = |pid: u32| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = after.split(' ').collect();
        Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
    };
    dc.processes().into_iter().filter_map(ticks).sum::<f64>() * 10.0
}

/// Dovecot's CPU ms by process name (live processes).
fn server_cpu_by_name(dc: &support::dovecot::Dovecot) -> String {
    let mut by: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
    for pid in dc.processes() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(a), Some(b)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let f: Vec<&str> = stat[b + 2..].split(' ').collect();
        let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let e = by.entry(stat[a + 1..b].to_string()).or_default();
        e.0 += (t(11) + t(12)) * 10.0;
        e.1 += 1;
    }
    by.iter()
        .map(|(k, (ms, c))| format!("{k} x{c}: {ms:.0} ms"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CPU ms of this process's threads but the main one, at nanosecond resolution
/// (/proc/self/task/*/schedstat: time on CPU).
fn cpu_ms_fine() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    // The measuring (main) thread itself is left out: reading 10,000 files costs it more
    // than all the listeners use.
    let main = std::process::id().to_string();
    dir.flatten()
        .filter(|t| t.file_name().to_str() != Some(main.as_str()))
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e6
}

/// The Python peer: `n` imaplib threads in a raw IDLE; (RSS KB, idle CPU ms/s) per thread.
fn python_idle(
    dc: &support::dovecot::Dovecot,
    user: &support::dovecot::User,
    n: usize,
) -> Option<(f64, f64)> {
    let ca = dc.dir().join("idle-bench-ca.pem");
    std::fs::write(&ca, dc.cert_pem()).ok()?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_imaplib.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["127.0.0.1", &dc.imaps_port().to_string(), "tls"])
        .arg(&ca)
        .args([&user.name, &user.password, "idle", &n.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        eprintln!(
            "idle: bench_imaplib.py idle failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let field = |name: &str| -> Option<f64> {
        let key = format!("\"{name}\": ");
        let rest = &text[text.find(&key)? + key.len()..];
        rest[..rest.find([',', '}'])?].trim().parse().ok()
    };
    Some((
        field("rss_kb_per_listener")?,
        field("idle_cpu_ms_per_s")? / n as f64,
    ))
}

fn rss_kb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn config(dc: &support::dovecot::Dovecot, user: &support::dovecot::User) -> Config {
    // MAILWIRE_IDLE_AUTH=plain forces AUTHENTICATE PLAIN (over TLS); the default lets
    // mailwire choose (SCRAM-SHA-256 against this Dovecot).
    let b = Config::builder("127.0.0.1");
    let b = match std::env::var("MAILWIRE_IDLE_AUTH").as_deref() {
        Ok("plain") => b.auth_mechanism(Mechanism::Plain),
        _ => b,
    };
    b.port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(60))
        .retry(RetryPolicy::new(3, Duration::from_millis(500)))
        .build()
        .expect("config")
}

fn message(i: usize) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: idle bench {i}\r\n\r\nhello\r\n").into_bytes()
}

/// Dovecot's own delay: a raw TLS client in IDLE, the time from an APPEND's OK (on another
/// connection) to its `* n EXISTS`; median of `rounds`.
fn floor_ms(dc: &support::dovecot::Dovecot, user: &support::dovecot::User, rounds: usize) -> f64 {
    let cert = native_tls::Certificate::from_pem(dc.cert_pem()).expect("cert");
    let tls = native_tls::TlsConnector::builder()
        .add_root_certificate(cert)
        .build()
        .expect("tls");
    let tcp = TcpStream::connect(("127.0.0.1", dc.imaps_port())).expect("tcp");
    let stream = tls.connect("localhost", tcp).expect("tls connect");
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    let mut until = |r: &mut BufReader<_>, what: &str| loop {
        line.clear();
        r.read_line(&mut line).expect("read");
        if line.is_empty() {
            panic!("EOF waiting for {what}");
        }
        if line.contains(what) {
            return;
        }
    };
    until(&mut r, "* OK");
    let w = |r: &mut BufReader<native_tls::TlsStream<TcpStream>>, s: &str| {
        r.get_mut().write_all(s.as_bytes()).expect("write");
    };
    w(
        &mut r,
        &format!("a LOGIN {} {}\r\n", user.name, user.password),
    );
    until(&mut r, "a OK");
    w(&mut r, "b SELECT INBOX\r\n");
    until(&mut r, "b OK");
    w(&mut r, "c IDLE\r\n");
    until(&mut r, "+ ");
    let appender = ImapConnection::connect(&config(dc, user)).expect("appender");
    let mut v = Vec::new();
    for i in 0..rounds {
        std::thread::sleep(Duration::from_millis(300 + (i as u64 * 137) % 700));
        appender
            .append("INBOX", &message(i), &[], None)
            .expect("append");
        let t = Instant::now();
        until(&mut r, " EXISTS");
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    w(&mut r, "DONE\r\n");
    percentile(&mut v, 0.5)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("idle: not run (use scripts/bench or cargo bench --bench idle -- --bench)");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let n: usize = std::env::var("MAILWIRE_IDLE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1000 } else { 10_000 });
    // Each listener holds two descriptors (its socket and the shutdown handle's duplicate):
    // fewer listeners than asked when the fd limit cannot hold them (said on stderr).
    let fd_limit: usize = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|x| x.starts_with("Max open files"))
                .and_then(|x| x.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(usize::MAX);
    let fit = fd_limit.saturating_sub(400) / 2;
    let n = if n > fit {
        let fit = fit / PER_ACCOUNT * PER_ACCOUNT;
        eprintln!(
            "idle: the fd limit {fd_limit} holds about {fit} listeners (2 descriptors each): \
             running {fit} instead of {n} (raise ulimit -n for more)"
        );
        fit
    } else {
        n
    };
    let connects: usize = std::env::var("MAILWIRE_IDLE_CONNECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let Some(dc) = support::dovecot::start_with_config(&dovecot_extra(n)) else {
        eprintln!("idle: Dovecot is not installed; nothing measured");
        std::process::exit(2);
    };
    let accounts = n.div_ceil(PER_ACCOUNT).max(1);
    let users: Vec<_> = (0..accounts).map(|_| dc.add_user()).collect();
    let configs: Vec<Config> = users.iter().map(|u| config(&dc, u)).collect();
    for u in &users {
        dc.seed(u, "INBOX", &[message(0)]);
    }
    eprintln!("idle: {n} listeners over {accounts} accounts, {connects} connects at once");
    let floor = floor_ms(&dc, &users[0], if quick { 5 } else { 10 });
    eprintln!("idle: Dovecot's notify floor (raw IDLE client) {floor:.0} ms");

    // Latency: the time each measured watch's callback saw NewMessages, per round.
    let seen: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; n + 1]));
    let seen2 = Arc::clone(&seen);
    let group = IdleGroup::builder()
        .max_concurrent_connects(connects)
        .on_event(move |e| {
            if let IdleEvent::NewMessages { .. } = e.event
                && let Some(slot) = seen2.lock().get_mut(e.watch.get() as usize)
            {
                slot.get_or_insert_with(Instant::now);
            }
        })
        .build()
        .expect("group");

    let rss0 = rss_kb();
    let (cpu0, server0) = (cpu_ms(), server_cpu_ms(&dc));
    let t0 = Instant::now();
    // Listener i watches account i / PER_ACCOUNT; the first MEASURED are the first account's.
    let results = group.add_many(
        (0..n).map(|i| IdleListener::builder(configs[i / PER_ACCOUNT].clone()).folder("INBOX")),
    );
    let spawn = t0.elapsed().as_secs_f64();
    let (spawn_cpu, spawn_server) = (cpu_ms() - cpu0, server_cpu_ms(&dc) - server0);
    eprintln!(
        "idle: Dovecot CPU by process after spawn: {}",
        server_cpu_by_name(&dc)
    );
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    let ok = n - failed.len();
    if let Some(e) = failed.first() {
        eprintln!("idle: {} of {n} failed to start; first: {e}", failed.len());
    }
    // Watch ids in start order are not the builder order: the first account's watches.
    let mut first_account: Vec<u64> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        if let (true, Ok(id)) = (i < MEASURED.min(PER_ACCOUNT), r) {
            first_account.push(id.get());
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let rss1 = rss_kb();
    let c0 = cpu_ms_fine();
    let w0 = Instant::now();
    std::thread::sleep(IDLE_WINDOW);
    let idle_cpu = (cpu_ms_fine() - c0) / w0.elapsed().as_secs_f64();

    // Latency rounds: one APPEND to the first account reaches its 100 listeners.
    let appender = ImapConnection::connect(&configs[0]).expect("appender");
    let rounds = if quick { 3 } else { 5 };
    let mut lat = Vec::new();
    for round in 0..rounds {
        seen.lock().iter_mut().for_each(|s| *s = None);
        appender
            .append("INBOX", &message(round + 1), &[], None)
            .expect("append");
        let t = Instant::now();
        let deadline = t + Duration::from_secs(10);
        loop {
            let got = {
                let s = seen.lock();
                first_account
                    .iter()
                    .filter(|&&id| s[id as usize].is_some())
                    .count()
            };
            if got == first_account.len() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let s = seen.lock();
        for &id in &first_account {
            if let Some(at) = s[id as usize] {
                lat.push(at.duration_since(t).as_secs_f64() * 1e3);
            }
        }
        drop(s);
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(appender);
    let samples = lat.len();
    let p50 = percentile(&mut lat, 0.5);
    let p99 = percentile(&mut lat, 0.99);

    let t1 = Instant::now();
    group.stop();
    let stop = t1.elapsed().as_secs_f64();

    let rss_per = (rss1 - rss0) / ok.max(1) as f64;
    // Python: 100 threads on the second account (its connection cap), per watched folder.
    let py_n = PER_ACCOUNT.min(n);
    let py = python_idle(&dc, &users[1.min(users.len() - 1)], py_n);
    println!(
        "\n(idle) {ok} of {n} listeners, one IdleGroup, TLS to the private Dovecot, \
         {connects} connects at once, {accounts} accounts"
    );
    println!(
        "  spawn {spawn:.2} s ({:.2} s per 1,000); RSS {:.0} KB per listener; idle CPU \
         {idle_cpu:.2} ms/s over {} s ({:.2} ms/s per 1,000)",
        spawn * 1000.0 / ok.max(1) as f64,
        rss_per,
        IDLE_WINDOW.as_secs(),
        idle_cpu * 1000.0 / ok.max(1) as f64
    );
    let mw_cpu_per = idle_cpu / ok.max(1) as f64;
    if let Some((py_rss, py_cpu)) = py {
        println!(
            "  imaplib, {py_n} threads each in a raw IDLE: RSS {py_rss:.0} KB, idle CPU \
             {:.4} ms/s per folder; mailwire/imaplib: memory {:.2}, CPU {:.2}",
            py_cpu,
            rss_per / py_rss,
            mw_cpu_per / py_cpu
        );
        println!(
            "idle_ratios: rss_mailwire/imaplib={:.2} cpu_mailwire/imaplib={:.2} imaplib_rss_kb={py_rss:.0} imaplib_cpu_ms_per_s_per_folder={py_cpu:.4} mailwire_cpu_ms_per_s_per_listener={mw_cpu_per:.4}",
            rss_per / py_rss,
            mw_cpu_per / py_cpu
        );
    }
    println!(
        "  spawn CPU: this process {:.0} ms ({:.1} ms per listener), Dovecot {:.0} ms \
         ({:.1} ms per listener; processes alive at the end only)",
        spawn_cpu,
        spawn_cpu / ok.max(1) as f64,
        spawn_server,
        spawn_server / ok.max(1) as f64
    );
    println!(
        "  APPEND -> callback: p50 {p50:.0} ms, p99 {p99:.0} ms over {samples} samples \
         ({rounds} APPENDs x {} listeners); Dovecot's floor {floor:.0} ms; stop {:.0} ms",
        first_account.len(),
        stop * 1e3
    );
    println!(
        "idle: n={ok} failed={} connects={connects} spawn_s={spawn:.2} spawn_per_1000_s={:.2} \
         rss_kb_per_listener={rss_per:.0} idle_cpu_ms_per_s={idle_cpu:.2} \
         p50_over_floor_ms={:.0} p99_over_floor_ms={:.0} floor_ms={floor:.0} stop_ms={:.0} spawn_cpu_ms_per_listener={:.1} dovecot_spawn_cpu_ms_per_listener={:.1}",
        failed.len(),
        spawn * 1000.0 / ok.max(1) as f64,
        p50 - floor,
        p99 - floor,
        stop * 1e3,
        spawn_cpu / ok.max(1) as f64,
        spawn_server / ok.max(1) as f64
    );
}
