//! Comparative benchmarks (issue 8): mailwire against the server's limit (a raw-socket
//! reader), rust-imap (`imap` 2.4) and Python's imaplib / poplib, on a private Dovecot.
//!
//! Run through `scripts/bench` (or `cargo bench --bench compare -- [--quick]`). Without
//! `--bench` on the command line (as under `cargo test --benches`) it does nothing.
//!
//! Every workload runs in rounds; each round runs every client once, in turn, so that the
//! load of the (shared) machine falls on all of them alike. The figures are medians over
//! the rounds: wall time of the workload (connecting and logging in are not measured) and
//! the client's CPU time (getrusage of this process for the in-process clients, the Python
//! process's own getrusage for imaplib / poplib). Nothing is asserted.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, clippy::all)]
mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mailwire::imap::{FetchWhat, Flag, ImapConnection, ImapPool};
use mailwire::pop3::Pop3Handler;
use mailwire::{Config, Security};

/// Messages in the bulk mailbox.
const BULK_COUNT: usize = 10_000;
/// About the size of each bulk message.
const MESSAGE_SIZE: usize = 4096;
/// The single-fetch, store and POP3 workloads touch this many messages.
const SINGLE_COUNT: usize = 1000;
/// The Nagle workload's single fetches (each a command of its own).
const NAGLE_COUNT: usize = 100;
/// The large message.
const BIG_SIZE: usize = 50 * 1024 * 1024;
/// The items every client asks for in the bulk and single workloads (what mailwire's
/// `FetchWhat::Full` sends).
const FULL_ITEMS: &str = "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])";
/// The items every client asks for in the metadata workload (mailwire's
/// `FetchWhat::Metadata`).
const META_ITEMS: &str = "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)";

// ---- measurement ----------------------------------------------------------------------

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let mut r = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        rest: [0; 14],
    };
    // SAFETY: `r` is a valid, writable rusage struct of the Linux x86_64/aarch64 layout.
    let rc = unsafe { getrusage(0, &mut r) };
    assert_eq!(rc, 0, "getrusage failed");
    let t = |v: &Timeval| v.sec as f64 + v.usec as f64 / 1e6;
    t(&r.utime) + t(&r.stime)
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Until the client has the values in hand.
    wall: f64,
    cpu: f64,
    /// Freeing them afterwards (wall time; not part of `wall`).
    free: f64,
}

/// Runs `f` and measures it; `f` returns how many items it got (checked by the caller).
fn measure(f: impl FnOnce() -> usize) -> (Sample, usize) {
    measure_kept(|| (f(), ()))
}

/// Runs `f`, which returns how many items it got and the values themselves (already
/// touched as a caller would), and measures it up to that point; then frees the values
/// and times that separately: the workload is "fetch into typed values", and what a
/// client's values cost to free is reported beside it rather than inside it.
fn measure_kept<T>(f: impl FnOnce() -> (usize, T)) -> (Sample, usize) {
    let c0 = cpu_seconds();
    let t0 = Instant::now();
    let (n, values) = f();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - c0;
    let t1 = Instant::now();
    drop(values);
    let free = t1.elapsed().as_secs_f64();
    (Sample { wall, cpu, free }, n)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Samples of one workload, per client, in the order the clients were added.
#[derive(Default)]
struct Results {
    order: Vec<String>,
    samples: BTreeMap<String, Vec<Sample>>,
}

impl Results {
    fn add(&mut self, client: &str, s: Sample) {
        if !self.samples.contains_key(client) {
            self.order.push(client.to_string());
        }
        self.samples.entry(client.to_string()).or_default().push(s);
    }

    /// The client's samples (none if it was left out: its medians are then NaN).
    fn get(&self, client: &str) -> &[Sample] {
        self.samples.get(client).map_or(&[], Vec::as_slice)
    }

    fn wall(&self, client: &str) -> f64 {
        let mut v: Vec<f64> = self.get(client).iter().map(|s| s.wall).collect();
        median(&mut v)
    }

    fn cpu(&self, client: &str) -> f64 {
        let mut v: Vec<f64> = self.get(client).iter().map(|s| s.cpu).collect();
        median(&mut v)
    }

    fn free(&self, client: &str) -> f64 {
        let mut v: Vec<f64> = self.get(client).iter().map(|s| s.free).collect();
        median(&mut v)
    }

    fn print(&self, title: &str) {
        println!("\n{title}");
        println!(
            "  {:<22} {:>6} {:>11} {:>11} {:>13} {:>9}",
            "client", "rounds", "wall ms", "cpu ms", "mailwire/it", "free ms"
        );
        let mw = self
            .samples
            .contains_key("mailwire")
            .then(|| self.wall("mailwire"));
        for c in &self.order {
            let ratio = mw
                .map(|m| format!("{:.3}", m / self.wall(c)))
                .unwrap_or_default();
            println!(
                "  {:<22} {:>6} {:>11.1} {:>11.1} {:>13} {:>9.1}",
                c,
                self.samples[c].len(),
                self.wall(c) * 1e3,
                self.cpu(c) * 1e3,
                ratio,
                self.free(c) * 1e3
            );
        }
    }
}

/// A client's run of a workload: connects (not measured), measures, returns the sample.
type Run<'a> = Box<dyn FnMut() -> Sample + 'a>;

/// Runs `rounds` rounds; round `i` starts with client `i % n`, so that no client is always
/// the first after another's run (or after the warm-up).
fn rounds(r: &mut Results, rounds: usize, clients: &mut [(&str, Run<'_>)]) {
    let n = clients.len();
    // MAILWIRE_BENCH_CLIENTS=mailwire,raw: only these (for profiling one client).
    let only = std::env::var("MAILWIRE_BENCH_CLIENTS").unwrap_or_default();
    for round in 0..rounds {
        for k in 0..n {
            let (name, run) = &mut clients[(round + k) % n];
            if !only.is_empty() && !only.split(',').any(|c| c == *name) {
                continue;
            }
            let s = run();
            r.add(name, s);
        }
    }
}

// ---- the fixture ----------------------------------------------------------------------

struct Env {
    dc: support::dovecot::Dovecot,
    /// The 10,000-message INBOX and the "Big" folder.
    imap_user: support::dovecot::User,
    /// 1,000 messages for POP3.
    pop_user: support::dovecot::User,
    ca_file: PathBuf,
}

fn message(i: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender {i} <sender{i}@example.org>\r\nTo: Receiver <rcpt{}@example.net>\r\n\
         Subject: Benchmark message number {i}\r\nDate: Mon, 3 Nov 2025 10:{:02}:{:02} +0100\r\n\
         Message-ID: <bench{i}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n",
        i % 97,
        (i / 60) % 60,
        i % 60
    )
    .into_bytes();
    let line =
        b"The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\r\n";
    while m.len() + line.len() <= size {
        m.extend_from_slice(line);
    }
    m
}

fn setup() -> Option<Env> {
    let dc = support::dovecot::start()?;
    let imap_user = dc.alice();
    let pop_user = dc.bob();
    let t0 = Instant::now();
    let msgs: Vec<Vec<u8>> = (0..BULK_COUNT).map(|i| message(i, MESSAGE_SIZE)).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    dc.seed(&imap_user, "INBOX", &refs);
    dc.seed(&pop_user, "INBOX", &refs[..SINGLE_COUNT]);
    let big = message(0, BIG_SIZE);
    dc.seed(&imap_user, "Big", &[&big]);
    let ca_file = dc.dir().join("bench-ca.pem");
    std::fs::write(&ca_file, dc.cert_pem()).expect("write CA file");
    eprintln!(
        "seeded {BULK_COUNT} x {MESSAGE_SIZE} B + {SINGLE_COUNT} (POP3) + {} MB in {:.1} s",
        BIG_SIZE >> 20,
        t0.elapsed().as_secs_f64()
    );
    Some(Env {
        dc,
        imap_user,
        pop_user,
        ca_file,
    })
}

impl Env {
    fn config(&self, tls: bool) -> Config {
        let b = Config::builder("127.0.0.1")
            .login(&self.imap_user.name, &self.imap_user.password)
            .max_literal_size(u64::MAX / 2);
        let b = if tls {
            b.port(self.dc.imaps_port())
                .add_root_certificate_pem(self.dc.cert_pem().to_vec())
        } else {
            b.security(Security::Plain).port(self.dc.imap_port())
        };
        b.build().expect("config")
    }

    fn pop_config(&self) -> Config {
        Config::builder("127.0.0.1")
            .login(&self.pop_user.name, &self.pop_user.password)
            .security(Security::Plain)
            .pop3_port(self.dc.pop3_port())
            .build()
            .expect("pop3 config")
    }

    fn mailwire(&self, tls: bool, folder: &str) -> ImapConnection {
        let conn = ImapConnection::connect(&self.config(tls)).expect("mailwire connect");
        conn.select(folder).expect("mailwire select");
        conn
    }

    fn tls_connector(&self) -> native_tls::TlsConnector {
        let cert = native_tls::Certificate::from_pem(self.dc.cert_pem()).expect("cert");
        native_tls::TlsConnector::builder()
            .add_root_certificate(cert)
            .build()
            .expect("tls connector")
    }

    fn rust_imap(&self, tls: bool, folder: &str) -> RustImap {
        let (user, pass) = (&self.imap_user.name, &self.imap_user.password);
        let mut s = if tls {
            let tls = self.tls_connector();
            let client = imap::connect(("127.0.0.1", self.dc.imaps_port()), "localhost", &tls)
                .expect("rust-imap connect");
            RustImap::Tls(client.login(user, pass).map_err(|e| e.0).expect("login"))
        } else {
            rust_imap_plain(self.dc.imap_port(), user, pass)
        };
        s.select(folder);
        s
    }

    fn raw_imap(&self, tls: bool, folder: &str) -> Raw {
        let mut raw = if tls {
            let s = TcpStream::connect(("127.0.0.1", self.dc.imaps_port())).expect("tcp");
            Raw::new(RawStream::Tls(Box::new(
                self.tls_connector().connect("localhost", s).expect("tls"),
            )))
        } else {
            Raw::new(RawStream::Plain(
                TcpStream::connect(("127.0.0.1", self.dc.imap_port())).expect("tcp"),
            ))
        };
        raw.read_line_response(); // greeting
        let (u, p) = (&self.imap_user.name, &self.imap_user.password);
        raw.imap(&format!("LOGIN {u} {p}"));
        // Like mailwire, which asks for CONDSTORE when the server has it (the server then
        // sends MODSEQ with every FETCH response).
        if std::env::var_os("MAILWIRE_BENCH_RAW_PLAIN_SELECT").is_some() {
            raw.imap(&format!("SELECT {folder}"));
        } else {
            raw.imap(&format!("SELECT {folder} (CONDSTORE)"));
        }
        raw
    }

    /// Runs the Python peer; returns its own measurement and item count.
    fn python(&self, tls: bool, workload: &str, port: u16, uids: &[u32]) -> (Sample, usize) {
        let user = if workload == "pop3" {
            &self.pop_user
        } else {
            &self.imap_user
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_imaplib.py");
        let list: Vec<String> = uids.iter().map(u32::to_string).collect();
        let out = Command::new("python3")
            .arg(script)
            .arg("127.0.0.1")
            .arg(port.to_string())
            .arg(if tls { "tls" } else { "plain" })
            .arg(&self.ca_file)
            .arg(&user.name)
            .arg(&user.password)
            .arg(workload)
            .arg(list.join(","))
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "bench_imaplib.py {workload} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| -> f64 {
            let key = format!("\"{name}\": ");
            let start = text.find(&key).expect("field") + key.len();
            let rest = &text[start..];
            let end = rest.find([',', '}']).expect("field end");
            rest[..end].trim().parse().expect("number")
        };
        (
            Sample {
                wall: field("wall"),
                cpu: field("cpu"),
                free: field("free"),
            },
            field("count") as usize,
        )
    }
}

/// mailwire's config for plain IMAP on 127.0.0.1:`port`.
fn plain_config(port: u16, user: &str, pass: &str) -> Config {
    Config::builder("127.0.0.1")
        .login(user, pass)
        .security(Security::Plain)
        .port(port)
        .build()
        .expect("config")
}

/// rust-imap logged in over plain IMAP on 127.0.0.1:`port` (nothing selected).
fn rust_imap_plain(port: u16, user: &str, pass: &str) -> RustImap {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("tcp");
    let mut client = imap::Client::new(stream);
    client.read_greeting().expect("greeting");
    RustImap::Plain(client.login(user, pass).map_err(|e| e.0).expect("login"))
}

enum RustImap {
    Plain(imap::Session<TcpStream>),
    Tls(imap::Session<native_tls::TlsStream<TcpStream>>),
}

impl RustImap {
    fn select(&mut self, folder: &str) {
        match self {
            RustImap::Plain(x) => drop(x.select(folder).expect("select")),
            RustImap::Tls(x) => drop(x.select(folder).expect("select")),
        }
    }

    /// UID FETCH; returns (responses, body bytes).
    fn uid_fetch(&mut self, set: &str, items: &str) -> (usize, usize) {
        let (n, bytes, _) = self.uid_fetch_kept(set, items);
        (n, bytes)
    }

    /// UID FETCH; returns (responses, body bytes, the fetched values to free later).
    fn uid_fetch_kept(
        &mut self,
        set: &str,
        items: &str,
    ) -> (usize, usize, imap::types::ZeroCopy<Vec<imap::types::Fetch>>) {
        let fetches = match self {
            RustImap::Plain(s) => s.uid_fetch(set, items),
            RustImap::Tls(s) => s.uid_fetch(set, items),
        }
        .expect("rust-imap uid_fetch");
        let bytes = fetches
            .iter()
            .map(|f| f.body().map_or(0, <[u8]>::len))
            .sum();
        // Touch the typed values as a caller would.
        let typed = fetches
            .iter()
            .filter(|f| f.uid.is_some() && (f.envelope().is_some() || f.body().is_some()))
            .count();
        (typed, bytes, fetches)
    }

    fn uid_store(&mut self, set: &str, query: &str) {
        match self {
            RustImap::Plain(s) => drop(s.uid_store(set, query).expect("uid_store")),
            RustImap::Tls(s) => drop(s.uid_store(set, query).expect("uid_store")),
        }
    }

    fn logout(mut self) {
        let _ = match &mut self {
            RustImap::Plain(s) => s.logout(),
            RustImap::Tls(s) => s.logout(),
        };
    }
}

// ---- the raw-socket reader -------------------------------------------------------------

enum RawStream {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
}

impl Read for RawStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            RawStream::Plain(s) => s.read(buf),
            RawStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for RawStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            RawStream::Plain(s) => s.write(buf),
            RawStream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            RawStream::Plain(s) => s.flush(),
            RawStream::Tls(s) => s.flush(),
        }
    }
}

/// How many of the last bytes received the raw reader keeps (more than the longest
/// completion line, e.g. an OK with a CAPABILITY list).
const TAIL: usize = 4096;

/// Sends commands and reads until the completion without parsing anything: the server's
/// limit. The completion is always the last thing received (nothing is outstanding after
/// it), so only the end of what was read so far is looked at.
struct Raw {
    stream: RawStream,
    buf: Vec<u8>,
    /// The last bytes received (up to TAIL).
    tail: Vec<u8>,
    tag: u32,
}

impl Raw {
    fn new(stream: RawStream) -> Raw {
        let timeout = Some(std::time::Duration::from_secs(120));
        match &stream {
            RawStream::Plain(s) => s.set_read_timeout(timeout).expect("timeout"),
            RawStream::Tls(s) => s.get_ref().set_read_timeout(timeout).expect("timeout"),
        }
        Raw {
            stream,
            buf: vec![0; 64 * 1024],
            tail: Vec::with_capacity(512),
            tag: 0,
        }
    }

    /// Reads once; appends to `tail` (keeping the last TAIL bytes); returns the bytes read.
    fn fill(&mut self) -> usize {
        let n = self.stream.read(&mut self.buf).expect("raw read");
        assert!(n > 0, "raw: connection closed");
        let got = &self.buf[..n];
        let keep = got.len().min(TAIL);
        self.tail.extend_from_slice(&got[got.len() - keep..]);
        if self.tail.len() > TAIL {
            let cut = self.tail.len() - TAIL;
            self.tail.drain(..cut);
        }
        n
    }

    fn read_line_response(&mut self) -> usize {
        self.tail.clear();
        let mut total = 0;
        while !self.tail.ends_with(b"\r\n") {
            total += self.fill();
        }
        total
    }

    /// Sends an IMAP command and reads until its tagged completion; returns bytes read.
    fn imap(&mut self, command: &str) -> usize {
        self.tag += 1;
        let tag = format!("R{}", self.tag);
        self.stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .expect("raw write");
        self.tail.clear();
        self.tail.extend_from_slice(b"\r\n");
        let mut total = 0;
        loop {
            total += self.fill();
            if self.tail.ends_with(b"\r\n") {
                let body = &self.tail[..self.tail.len() - 2];
                let start = body
                    .windows(2)
                    .rposition(|w| w == b"\r\n")
                    .map_or(0, |p| p + 2);
                let last = &body[start..];
                if last.starts_with(tag.as_bytes()) && last.get(tag.len()) == Some(&b' ') {
                    assert!(
                        last[tag.len() + 1..].starts_with(b"OK"),
                        "raw: {}",
                        String::from_utf8_lossy(last)
                    );
                    return total;
                }
            }
        }
    }

    /// Sends a POP3 command whose answer is a single line.
    fn pop_line(&mut self, command: &str) {
        self.stream
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("raw write");
        self.read_line_response();
        assert!(self.tail.starts_with(b"+OK"), "raw pop3: {command}");
    }

    /// Reads `count` multi-line POP3 answers (each ends with CRLF . CRLF); the data is
    /// only scanned for the terminator.
    fn pop_multi(&mut self, count: usize) -> usize {
        // State: how much of "\r\n.\r\n" has matched; starts as if after a CRLF.
        const PAT: &[u8] = b"\r\n.\r\n";
        let mut state = 0usize;
        let mut seen = 0;
        let mut total = 0;
        while seen < count {
            let n = self.stream.read(&mut self.buf).expect("raw read");
            assert!(n > 0, "raw: connection closed");
            total += n;
            for &b in &self.buf[..n] {
                if b == PAT[state] {
                    state += 1;
                    if state == PAT.len() {
                        seen += 1;
                        state = 0;
                    }
                } else {
                    state = usize::from(b == b'\r');
                }
            }
        }
        total
    }
}

// ---- workloads --------------------------------------------------------------------------

struct Plan {
    quick: bool,
}

impl Plan {
    fn rounds(&self, full: usize) -> usize {
        if self.quick {
            full.div_ceil(3).max(1)
        } else {
            full
        }
    }
}

fn bulk(env: &Env, plan: &Plan, tls: bool) -> Results {
    let port = if tls {
        env.dc.imaps_port()
    } else {
        env.dc.imap_port()
    };
    let fetch = format!("UID FETCH 1:* {FULL_ITEMS}");
    // Warm-up (not measured): the server's indexes and caches, the page cache.
    env.raw_imap(tls, "INBOX").imap(&fetch);
    let mut r = Results::default();
    let mut clients: Vec<(&str, Run)> = vec![
        (
            "raw",
            Box::new(|| {
                let mut raw = env.raw_imap(tls, "INBOX");
                let (s, n) = measure(|| raw.imap(&fetch));
                assert!(n > BULK_COUNT * MESSAGE_SIZE * 9 / 10, "raw bulk read {n}");
                s
            }),
        ),
        (
            "mailwire",
            Box::new(|| {
                let conn = env.mailwire(tls, "INBOX");
                let (s, n) = measure_kept(|| {
                    let msgs = conn
                        .fetch_uid_range("INBOX", 1..=u32::MAX, FetchWhat::Full)
                        .expect("mailwire bulk");
                    let bytes: usize = msgs.iter().map(|m| m.raw().len()).sum();
                    assert!(bytes > BULK_COUNT * MESSAGE_SIZE * 9 / 10);
                    (msgs.len(), msgs)
                });
                assert_eq!(n, BULK_COUNT);
                conn.logout();
                s
            }),
        ),
        (
            "rust-imap",
            Box::new(|| {
                let mut ri = env.rust_imap(tls, "INBOX");
                let (s, n) = measure_kept(|| {
                    let (n, _, fetches) = ri.uid_fetch_kept("1:*", FULL_ITEMS);
                    (n, fetches)
                });
                assert_eq!(n, BULK_COUNT);
                ri.logout();
                s
            }),
        ),
        (
            "imaplib",
            Box::new(|| {
                let (s, n) = env.python(tls, "bulk", port, &[]);
                assert_eq!(n, BULK_COUNT);
                s
            }),
        ),
    ];
    if !tls {
        // Not a client: the raw reader, then one owned copy of every message (as fresh
        // heap memory, like the bodies any client hands out). Its CPU time is the floor
        // for a client that returns owned messages: reading plus the allocator and page
        // faults of 40 MB, with no parsing at all.
        clients.push((
            "raw+copies",
            Box::new(|| {
                let mut raw = env.raw_imap(tls, "INBOX");
                let template = vec![b'x'; MESSAGE_SIZE];
                let (s, _) = measure_kept(|| {
                    let n = raw.imap(&fetch);
                    let held: Vec<Vec<u8>> = (0..BULK_COUNT).map(|_| template.clone()).collect();
                    std::hint::black_box(&held);
                    (n, held)
                });
                s
            }),
        ));
    }
    rounds(&mut r, plan.rounds(if tls { 5 } else { 7 }), &mut clients);
    r
}

fn meta(env: &Env, plan: &Plan) -> Results {
    let fetch = format!("UID FETCH 1:* {META_ITEMS}");
    env.raw_imap(false, "INBOX").imap(&fetch);
    let mut r = Results::default();
    let mut clients: Vec<(&str, Run)> = vec![
        (
            "raw",
            Box::new(|| {
                let mut raw = env.raw_imap(false, "INBOX");
                measure(|| raw.imap(&fetch)).0
            }),
        ),
        (
            "mailwire",
            Box::new(|| {
                let conn = env.mailwire(false, "INBOX");
                let (s, n) = measure_kept(|| {
                    let msgs = conn
                        .fetch_uid_range("INBOX", 1..=u32::MAX, FetchWhat::Metadata)
                        .expect("mailwire metadata");
                    assert!(msgs.iter().all(|m| m.meta().envelope.is_some()));
                    (msgs.len(), msgs)
                });
                assert_eq!(n, BULK_COUNT);
                conn.logout();
                s
            }),
        ),
        (
            "rust-imap",
            Box::new(|| {
                let mut ri = env.rust_imap(false, "INBOX");
                let (s, n) = measure_kept(|| {
                    let (n, _, fetches) = ri.uid_fetch_kept("1:*", META_ITEMS);
                    (n, fetches)
                });
                assert_eq!(n, BULK_COUNT);
                ri.logout();
                s
            }),
        ),
        (
            "imaplib",
            Box::new(|| {
                let (s, n) = env.python(false, "meta", env.dc.imap_port(), &[]);
                assert_eq!(n, BULK_COUNT);
                s
            }),
        ),
    ];
    rounds(&mut r, plan.rounds(7), &mut clients);
    r
}

/// 1,000 UIDs spread over the mailbox (every tenth).
fn spread_uids(env: &Env) -> Vec<u32> {
    let conn = env.mailwire(false, "INBOX");
    let all = conn
        .search("INBOX", &mailwire::imap::SearchQuery::all())
        .expect("search");
    conn.logout();
    assert_eq!(all.len(), BULK_COUNT);
    let step = BULK_COUNT / SINGLE_COUNT;
    all.iter().step_by(step).take(SINGLE_COUNT).collect()
}

fn single(env: &Env, plan: &Plan, uids: &[u32]) -> Results {
    let mut r = Results::default();
    let mut clients: Vec<(&str, Run)> = vec![(
        "mailwire",
        Box::new(|| {
            let conn = env.mailwire(false, "INBOX");
            let (s, n) = measure_kept(|| {
                let msgs = conn.fetch_messages("INBOX", uids).expect("mailwire");
                (msgs.len(), msgs)
            });
            assert_eq!(n, uids.len());
            conn.logout();
            s
        }),
    )];
    clients.extend(single_peers(env, env.dc.imap_port(), uids));
    rounds(&mut r, plan.rounds(7), &mut clients);
    r
}

/// rust-imap and imaplib fetching `uids` one `UID FETCH` each, over plain IMAP on
/// 127.0.0.1:`port`.
fn single_peers<'a>(env: &'a Env, port: u16, uids: &'a [u32]) -> Vec<(&'static str, Run<'a>)> {
    let (user, pass) = (&env.imap_user.name, &env.imap_user.password);
    vec![
        (
            "rust-imap",
            Box::new(move || {
                let mut ri = rust_imap_plain(port, user, pass);
                ri.select("INBOX");
                let (s, n) = measure(|| {
                    uids.iter()
                        .map(|u| ri.uid_fetch(&u.to_string(), FULL_ITEMS).0)
                        .sum::<usize>()
                });
                assert_eq!(n, uids.len());
                ri.logout();
                s
            }),
        ),
        (
            "imaplib",
            Box::new(move || {
                let (s, n) = env.python(false, "single", port, uids);
                assert_eq!(n, uids.len());
                s
            }),
        ),
    ]
}

/// Single-message fetches one command at a time (mailwire too: `fetch_message` per UID),
/// over plain IMAP on 127.0.0.1:`port`, by every client; also returns how many times
/// mailwire re-armed `TCP_QUICKACK` in its last round.
fn singles_at(env: &Env, plan: &Plan, port: u16, uids: &[u32]) -> (Results, u64) {
    let (user, pass) = (&env.imap_user.name, &env.imap_user.password);
    let config = plain_config(port, user, pass);
    let mut r = Results::default();
    let mut quickacks = 0;
    let mut clients: Vec<(&str, Run)> = vec![(
        "mailwire",
        Box::new(|| {
            let conn = ImapConnection::connect(&config).expect("mailwire connect");
            conn.select("INBOX").expect("mailwire select");
            let before = conn.quickack_calls();
            let (s, n) = measure(|| {
                uids.iter()
                    .map(|&u| {
                        conn.fetch_message("INBOX", u)
                            .expect("mailwire")
                            .iter()
                            .count()
                    })
                    .sum()
            });
            assert_eq!(n, uids.len());
            quickacks = conn.quickack_calls() - before;
            conn.logout();
            s
        }),
    )];
    clients.extend(single_peers(env, port, uids));
    rounds(&mut r, plan.rounds(5), &mut clients);
    drop(clients);
    (r, quickacks)
}

/// Prints the time per fetch of each client of a [`singles_at`] run.
fn print_per_fetch(r: &Results, count: usize) {
    let per = |c: &str| r.wall(c) * 1e3 / count as f64;
    println!(
        "  per fetch: mailwire {:.3} ms, rust-imap {:.3} ms, imaplib {:.3} ms",
        per("mailwire"),
        per("rust-imap"),
        per("imaplib")
    );
}

/// The `TCP_QUICKACK` calls mailwire makes in one bulk fetch of the whole mailbox.
fn bulk_quickacks(env: &Env) -> (u64, usize) {
    let conn = env.mailwire(false, "INBOX");
    let before = conn.quickack_calls();
    let msgs = conn
        .fetch_uid_range("INBOX", 1..=u32::MAX, FetchWhat::Full)
        .expect("mailwire bulk");
    let calls = conn.quickack_calls() - before;
    conn.logout();
    (calls, msgs.len())
}

fn store(env: &Env, plan: &Plan, uids: &[u32]) -> Results {
    // Warm-up: the flag is set from then on, so every measured round does the same work.
    let conn = env.mailwire(false, "INBOX");
    conn.add_flags("INBOX", uids, &[Flag::Flagged])
        .expect("warm-up store");
    conn.logout();
    let mut r = Results::default();
    let mut clients: Vec<(&str, Run)> = vec![
        (
            "mailwire",
            Box::new(|| {
                let conn = env.mailwire(false, "INBOX");
                let (s, _) = measure(|| {
                    conn.add_flags("INBOX", uids, &[Flag::Flagged])
                        .expect("mailwire store");
                    uids.len()
                });
                conn.logout();
                s
            }),
        ),
        (
            "rust-imap",
            Box::new(|| {
                let mut ri = env.rust_imap(false, "INBOX");
                let (s, _) = measure(|| {
                    for u in uids {
                        ri.uid_store(&u.to_string(), "+FLAGS (\\Flagged)");
                    }
                    uids.len()
                });
                ri.logout();
                s
            }),
        ),
        (
            "imaplib",
            Box::new(|| {
                let (s, n) = env.python(false, "store", env.dc.imap_port(), uids);
                assert_eq!(n, uids.len());
                s
            }),
        ),
    ];
    rounds(&mut r, plan.rounds(7), &mut clients);
    r
}

fn raw_pop(env: &Env) -> Raw {
    let s = TcpStream::connect(("127.0.0.1", env.dc.pop3_port())).expect("tcp");
    let mut raw = Raw::new(RawStream::Plain(s));
    raw.read_line_response();
    raw.pop_line(&format!("USER {}", env.pop_user.name));
    raw.pop_line(&format!("PASS {}", env.pop_user.password));
    raw
}

fn pop3(env: &Env, plan: &Plan) -> Results {
    let numbers: Vec<u32> = (1..=SINGLE_COUNT as u32).collect();
    let numbers = &numbers;
    let mut r = Results::default();
    let mut clients: Vec<(&str, Run)> = vec![
        (
            "raw sequential",
            Box::new(|| {
                let mut raw = raw_pop(env);
                measure(|| {
                    for n in numbers {
                        raw.stream
                            .write_all(format!("RETR {n}\r\n").as_bytes())
                            .expect("write");
                        raw.pop_multi(1);
                    }
                    numbers.len()
                })
                .0
            }),
        ),
        (
            "raw pipelined",
            Box::new(|| {
                let mut raw = raw_pop(env);
                measure(|| {
                    // 1,000 short commands fit in the socket buffer: write all, then read.
                    let all: String = numbers.iter().map(|n| format!("RETR {n}\r\n")).collect();
                    raw.stream.write_all(all.as_bytes()).expect("write");
                    raw.pop_multi(numbers.len());
                    numbers.len()
                })
                .0
            }),
        ),
        (
            "mailwire",
            Box::new(|| {
                let pop = Pop3Handler::connect(&env.pop_config()).expect("pop3 connect");
                let (s, n) = measure(|| pop.fetch_messages(numbers).expect("pop3 fetch").len());
                assert_eq!(n, numbers.len());
                s
            }),
        ),
        (
            "poplib",
            Box::new(|| {
                let (s, n) = env.python(false, "pop3", env.dc.pop3_port(), numbers);
                assert_eq!(n, numbers.len());
                s
            }),
        ),
    ];
    rounds(&mut r, plan.rounds(7), &mut clients);
    r
}

/// Peak RSS over the baseline of a child process fetching the big message, in MB.
fn big(env: &Env, plan: &Plan) -> BTreeMap<&'static str, (f64, f64)> {
    let mut out = BTreeMap::new();
    for client in ["mailwire", "mailwire-in-memory", "rust-imap"] {
        let mut mbs = Vec::new();
        let mut walls = Vec::new();
        for _ in 0..plan.rounds(3) {
            let o = Command::new(std::env::current_exe().expect("current exe"))
                .args(["--bench", "--big-child", client])
                .arg(env.dc.imap_port().to_string())
                .arg(&env.imap_user.name)
                .arg(&env.imap_user.password)
                .output()
                .expect("run child");
            assert!(
                o.status.success(),
                "big child {client}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let text = String::from_utf8_lossy(&o.stdout);
            let nums: Vec<f64> = text
                .split_whitespace()
                .map(|x| x.parse().expect("number"))
                .collect();
            // base_kb peak_kb wall_s bytes
            assert_eq!(nums.len(), 4, "child output {text:?}");
            assert!(
                nums[3] >= BIG_SIZE as f64 * 0.99,
                "big: got {} bytes",
                nums[3]
            );
            mbs.push((nums[1] - nums[0]) / 1024.0);
            walls.push(nums[2]);
        }
        out.insert(client, (median(&mut mbs), median(&mut walls)));
    }
    out
}

/// CPU seconds (user + system) the private Dovecot's processes have used so far; a process
/// that exits in between is simply not counted (the pool's imap processes stay).
fn server_cpu_seconds(env: &Env) -> f64 {
    // Clock ticks: 100 per second on Linux (sysconf(_SC_CLK_TCK)).
    let ticks = |pid: u32| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after.split(' ').collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some(utime + stime)
    };
    env.dc
        .processes()
        .into_iter()
        .filter_map(ticks)
        .sum::<f64>()
        / 100.0
}

fn vm_kb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS / VmHWM")
}

/// The child side of [`big`]: prints `baseline_kb peak_kb wall_s bytes`.
fn big_child(args: &[String]) {
    let [client, port, user, pass] = args else {
        panic!("--big-child CLIENT PORT USER PASS")
    };
    let port: u16 = port.parse().expect("port");
    let t0;
    let bytes;
    let base;
    if client.starts_with("mailwire") {
        let conn = ImapConnection::connect(&plain_config(port, user, pass)).expect("connect");
        conn.select("Big").expect("select");
        base = vm_kb("VmRSS:");
        t0 = Instant::now();
        bytes = if client == "mailwire" {
            conn.fetch_to_writer("Big", 1, &mut std::io::sink())
                .expect("fetch_to_writer")
                .expect("message 1") as usize
        } else {
            // The same message as a `Message` in memory: what holding it costs.
            let msgs = conn
                .fetch("Big", &[1], FetchWhat::Full)
                .expect("fetch in memory");
            msgs.iter().map(|m| m.raw().len()).sum()
        };
    } else {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("tcp");
        let mut client = imap::Client::new(stream);
        client.read_greeting().expect("greeting");
        let mut s = client.login(user, pass).map_err(|e| e.0).expect("login");
        s.select("Big").expect("select");
        base = vm_kb("VmRSS:");
        t0 = Instant::now();
        let f = s.uid_fetch("1", "BODY.PEEK[]").expect("uid_fetch");
        bytes = f.iter().map(|f| f.body().map_or(0, <[u8]>::len)).sum();
    }
    let wall = t0.elapsed().as_secs_f64();
    println!("{base} {} {wall} {bytes}", vm_kb("VmHWM:"));
}

/// The pool workload: mailwire's 1-worker and 2-worker times, then the raw reader's on two
/// connections (the same halves one after the other, then at the same time): what the
/// server and the machine allow two parallel fetches, the ceiling for the pool's speed-up.
fn pool(env: &Env, plan: &Plan) -> (f64, f64, f64, f64, f64) {
    let config = env.config(false);
    let pool = ImapPool::new().expect("pool");
    {
        // Two warm, selected connections.
        let a = pool.get(&config).expect("get");
        let b = pool.get(&config).expect("get");
        a.select("INBOX").expect("select");
        b.select("INBOX").expect("select");
    }
    let half = (BULK_COUNT / 2) as u32;
    // Like the other fetch workloads, timed until the workers hold their messages.
    let fetch = |range: std::ops::RangeInclusive<u32>| {
        let conn = pool.get(&config).expect("get");
        let msgs = conn
            .fetch_uid_range("INBOX", range, FetchWhat::Full)
            .expect("fetch");
        assert!(!msgs.is_empty());
        msgs
    };
    let (mut one, mut two) = (Vec::new(), Vec::new());
    let server_before = server_cpu_seconds(env);
    for _ in 0..plan.rounds(9) {
        let t0 = Instant::now();
        let held = [fetch(1..=half), fetch(half + 1..=u32::MAX)];
        one.push(t0.elapsed().as_secs_f64());
        assert_eq!(held.iter().map(Vec::len).sum::<usize>(), BULK_COUNT);
        drop(held);

        let t0 = Instant::now();
        let held = std::thread::scope(|s| {
            let a = s.spawn(|| fetch(1..=half));
            let b = s.spawn(|| fetch(half + 1..=u32::MAX));
            [a.join().expect("worker"), b.join().expect("worker")]
        });
        two.push(t0.elapsed().as_secs_f64());
        assert_eq!(held.iter().map(Vec::len).sum::<usize>(), BULK_COUNT);
        drop(held);
    }
    // The server's CPU per fetch of the whole mailbox (two of them per round).
    let server = (server_cpu_seconds(env) - server_before) / (2 * plan.rounds(9)) as f64;
    let half_cmd = format!("UID FETCH 1:{half} {FULL_ITEMS}");
    let rest_cmd = format!("UID FETCH {}:* {FULL_ITEMS}", half + 1);
    let mut raws = [env.raw_imap(false, "INBOX"), env.raw_imap(false, "INBOX")];
    let (mut raw_one, mut raw_two) = (Vec::new(), Vec::new());
    for _ in 0..plan.rounds(9) {
        let t0 = Instant::now();
        let [a, b] = &mut raws;
        a.imap(&half_cmd);
        b.imap(&rest_cmd);
        raw_one.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        std::thread::scope(|s| {
            let [a, b] = &mut raws;
            let ta = s.spawn(|| a.imap(&half_cmd));
            let tb = s.spawn(|| b.imap(&rest_cmd));
            ta.join().expect("raw worker");
            tb.join().expect("raw worker");
        });
        raw_two.push(t0.elapsed().as_secs_f64());
    }
    (
        median(&mut one),
        median(&mut two),
        median(&mut raw_one),
        median(&mut raw_two),
        server,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --benches` runs this without `--bench`: nothing to do.
        println!("compare: not run (use scripts/bench or cargo bench --bench compare)");
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--big-child") {
        big_child(&args[i + 1..]);
        return;
    }
    let plan = Plan {
        quick: args.iter().any(|a| a == "--quick"),
    };
    let Some(env) = setup() else {
        eprintln!("compare: Dovecot is not installed; nothing measured");
        std::process::exit(2);
    };
    let started = Instant::now();
    let only = std::env::var("MAILWIRE_BENCH_ONLY").unwrap_or_default();
    let want = |w: &str| only.is_empty() || only.split(',').any(|x| x == w);

    let mut ratios: Vec<(String, String)> = Vec::new();
    // Two decimals; four where two would show a ratio of many times faster as 0.00.
    let mut put = |k: &str, v: f64| {
        let p = if v != 0.0 && v.abs() < 0.01 { 4 } else { 2 };
        ratios.push((k.to_string(), format!("{v:.p$}")))
    };
    // The issue's `ratios:` line has a fixed set of keys; these go on an `other:` line.
    const OTHER: &[&str] = &[
        "bulk_cpu_imaplib",
        "bulk_cpu_floor_imaplib",
        "bulk_tls_raw",
        "store_rust_imap",
        "pop3_raw_pipelined",
        "pool_2x_raw",
        "nagle_dovecot_imaplib",
    ];

    if want("bulk") {
        let r = bulk(&env, &plan, false);
        r.print("(1) UID FETCH 1:* BODY.PEEK[] (10,000 x 4 KB), plain");

        println!(
            "  cpu mailwire/rust-imap {:.3}  mailwire/imaplib {:.3}",
            r.cpu("mailwire") / r.cpu("rust-imap"),
            r.cpu("mailwire") / r.cpu("imaplib")
        );
        put("bulk_raw", r.wall("mailwire") / r.wall("raw"));
        put("bulk_rust_imap", r.wall("mailwire") / r.wall("rust-imap"));
        put("bulk_imaplib", r.wall("mailwire") / r.wall("imaplib"));
        put("bulk_cpu_rust_imap", r.cpu("mailwire") / r.cpu("rust-imap"));
        put("bulk_cpu_imaplib", r.cpu("mailwire") / r.cpu("imaplib"));
        put(
            "bulk_cpu_floor_imaplib",
            r.cpu("raw+copies") / r.cpu("imaplib"),
        );
    }
    if want("bulk_tls") {
        let r = bulk(&env, &plan, true);
        r.print("(1) UID FETCH 1:* BODY.PEEK[] (10,000 x 4 KB), TLS");
        put("bulk_tls_raw", r.wall("mailwire") / r.wall("raw"));
    }
    if want("meta") {
        let r = meta(&env, &plan);
        r.print("(2) UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)");
        put("meta_raw", r.wall("mailwire") / r.wall("raw"));
    }
    let uids = if want("single") || want("store") {
        spread_uids(&env)
    } else {
        Vec::new()
    };
    if want("single") {
        let r = single(&env, &plan, &uids);
        r.print("(3) 1,000 single-message fetches by UID (mailwire: one batch call)");
        put("single_imaplib", r.wall("mailwire") / r.wall("imaplib"));
        put("single_rust_imap", r.wall("mailwire") / r.wall("rust-imap"));
    }
    if want("nagle") {
        let server = support::nagle_server::NagleServer::start(
            support::nagle_server::Split::Two {
                pause: std::time::Duration::ZERO,
            },
            NAGLE_COUNT as u32,
            message(0, MESSAGE_SIZE),
        );
        let uids: Vec<u32> = (1..=NAGLE_COUNT as u32).collect();
        let (r, calls) = singles_at(&env, &plan, server.port(), &uids);
        r.print(
            "(8) 100 single-message fetches, one command each, from a server that writes each \
             answer in two pieces with Nagle on",
        );
        print_per_fetch(&r, NAGLE_COUNT);
        println!("  mailwire's TCP_QUICKACK calls: {calls} for {NAGLE_COUNT} fetches");
        put("nagle_ms", r.wall("mailwire") * 1e3 / NAGLE_COUNT as f64);
        put("nagle_imaplib", r.wall("mailwire") / r.wall("imaplib"));
        put("nagle_rust_imap", r.wall("mailwire") / r.wall("rust-imap"));
        drop(server);
        let conn = env.mailwire(false, "INBOX");
        let all = conn
            .search("INBOX", &mailwire::imap::SearchQuery::all())
            .expect("search");
        conn.logout();
        let uids: Vec<u32> = all.iter().take(NAGLE_COUNT).collect();
        let (r, calls) = singles_at(&env, &plan, env.dc.imap_port(), &uids);
        r.print("(8) the same 100 single-message fetches from Dovecot (TCP_NODELAY on)");
        print_per_fetch(&r, NAGLE_COUNT);
        println!("  mailwire's TCP_QUICKACK calls: {calls} for {NAGLE_COUNT} fetches");
        put(
            "nagle_dovecot_imaplib",
            r.wall("mailwire") / r.wall("imaplib"),
        );
        let (calls, n) = bulk_quickacks(&env);
        println!("  mailwire's TCP_QUICKACK calls in one bulk fetch of {n} messages: {calls}");
    }
    if want("store") {
        let r = store(&env, &plan, &uids);
        r.print("(4) 1,000 flag stores (mailwire: one add_flags call)");
        put("store_imaplib", r.wall("mailwire") / r.wall("imaplib"));
        put("store_rust_imap", r.wall("mailwire") / r.wall("rust-imap"));
    }
    if want("pop3") {
        let r = pop3(&env, &plan);
        r.print("(5) POP3 RETR x 1,000 (4 KB each)");
        put("pop3_poplib", r.wall("mailwire") / r.wall("poplib"));
        put(
            "pop3_raw_pipelined",
            r.wall("mailwire") / r.wall("raw pipelined"),
        );
    }
    if want("big") {
        let b = big(&env, &plan);
        println!("\n(6) the 50 MB message (plain IMAP), peak RSS over the process's baseline");
        for (client, (mb, wall)) in &b {
            println!("  {client:<22} {mb:>8.1} MB {:>10.1} ms", wall * 1e3);
        }
        put("big_rss_mb", b["mailwire"].0);
    }
    if want("pool") {
        let (one, two, raw_one, raw_two, server) = pool(&env, &plan);
        println!("\n(7) the pool: both halves of the mailbox, 1 worker vs 2 workers");
        println!("  1 worker   {:>10.1} ms", one * 1e3);
        println!(
            "  2 workers  {:>10.1} ms   speed-up {:.2}x",
            two * 1e3,
            one / two
        );
        println!(
            "  raw reader, 2 connections: {:.1} ms one after the other, {:.1} ms at once: \
             speed-up {:.2}x (the ceiling here)",
            raw_one * 1e3,
            raw_two * 1e3,
            raw_one / raw_two
        );
        println!(
            "  Dovecot's CPU per fetch of the whole mailbox: {:.0} ms (on 2 cores shared with \
             the client, two workers cannot take less than half of that plus the client's CPU)",
            server * 1e3
        );
        put("pool_2x", one / two);
        put("pool_2x_raw", raw_one / raw_two);
    }
    println!("\nmeasured in {:.0} s", started.elapsed().as_secs_f64());
    let line = |other: bool| -> String {
        ratios
            .iter()
            .filter(|(k, _)| OTHER.contains(&k.as_str()) == other)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("other: {}", line(true));
    println!("ratios: {}", line(false));
}
