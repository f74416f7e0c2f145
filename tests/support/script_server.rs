//! A scripted fake server on loopback for what no real server does on demand: faults,
//! quirks, hostile input.
//!
//! ```ignore
//! let server = ScriptServer::start(|_conn| {
//!     Script::new()
//!         .send_line("* OK ready")
//!         .expect_contains("LOGIN")
//!         .reply_tagged("OK logged in")
//!         .read_until_closed()
//! });
//! // ... connect a client to server.port() ...
//! server.assert_ok();
//! ```
//!
//! One thread per accepted connection runs the script chosen for that connection (by
//! index, 0-based). Everything the client sends is recorded; script failures (unexpected
//! line, client closed early) are recorded too and never panic inside the server: check
//! them with [`ScriptServer::errors`] / [`ScriptServer::assert_ok`]. The connection is
//! closed when its script ends. Dropping the server stops the accept loop and every
//! connection thread promptly (sockets are shut down, sleeps and `hang()` are woken) and
//! joins them.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::certs::test_cert;

type Predicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Clone)]
enum Step {
    Send(Vec<u8>),
    Expect { desc: String, pred: Predicate },
    ReplyTagged(String),
    Sleep(Duration),
    Close,
    Trickle(Vec<u8>, Duration),
    SendPartialThenClose(Vec<u8>),
    Hang,
    StartTls,
    ReadUntilClosed,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Send(b) => write!(f, "send({:?})", String::from_utf8_lossy(b)),
            Step::Expect { desc, .. } => write!(f, "expect({desc})"),
            Step::ReplyTagged(s) => write!(f, "reply_tagged({s:?})"),
            Step::Sleep(d) => write!(f, "sleep({d:?})"),
            Step::Close => write!(f, "close()"),
            Step::Trickle(b, d) => {
                write!(f, "trickle({:?}, {d:?})", String::from_utf8_lossy(b))
            }
            Step::SendPartialThenClose(b) => {
                write!(
                    f,
                    "send_partial_then_close({:?})",
                    String::from_utf8_lossy(b)
                )
            }
            Step::Hang => write!(f, "hang()"),
            Step::StartTls => write!(f, "starttls()"),
            Step::ReadUntilClosed => write!(f, "read_until_closed()"),
        }
    }
}

/// What the server does on one connection, step by step (builder style).
#[derive(Clone, Debug, Default)]
pub struct Script {
    steps: Vec<Step>,
}

impl Script {
    /// An empty script (the connection is accepted and closed at once).
    pub fn new() -> Script {
        Script::default()
    }

    fn step(mut self, step: Step) -> Script {
        self.steps.push(step);
        self
    }

    /// Sends raw bytes.
    pub fn send(self, bytes: impl AsRef<[u8]>) -> Script {
        self.step(Step::Send(bytes.as_ref().to_vec()))
    }

    /// Sends `line` followed by CRLF.
    pub fn send_line(self, line: &str) -> Script {
        self.step(Step::Send(format!("{line}\r\n").into_bytes()))
    }

    /// Reads one client line (without its line ending) and checks it with `pred`.
    pub fn expect(self, pred: impl Fn(&str) -> bool + Send + Sync + 'static) -> Script {
        self.step(Step::Expect {
            desc: "a line matching the predicate".into(),
            pred: Arc::new(pred),
        })
    }

    /// Reads one client line that must contain `needle` (case-sensitive).
    pub fn expect_contains(self, needle: &str) -> Script {
        let n = needle.to_string();
        self.step(Step::Expect {
            desc: format!("a line containing {needle:?}"),
            pred: Arc::new(move |l| l.contains(&n)),
        })
    }

    /// Reads one client line that must start with `prefix`.
    pub fn expect_prefix(self, prefix: &str) -> Script {
        let p = prefix.to_string();
        self.step(Step::Expect {
            desc: format!("a line starting with {prefix:?}"),
            pred: Arc::new(move |l| l.starts_with(&p)),
        })
    }

    /// Reads one client line that must equal `line` exactly.
    pub fn expect_line(self, line: &str) -> Script {
        let p = line.to_string();
        self.step(Step::Expect {
            desc: format!("the line {line:?}"),
            pred: Arc::new(move |l| l == p),
        })
    }

    /// Reads one client line, whatever it is.
    pub fn expect_any(self) -> Script {
        self.step(Step::Expect {
            desc: "any line".into(),
            pred: Arc::new(|_| true),
        })
    }

    /// Sends `<tag> <rest>\r\n`, the tag being the first word of the last expected line.
    pub fn reply_tagged(self, rest: &str) -> Script {
        self.step(Step::ReplyTagged(rest.to_string()))
    }

    /// Waits (cut short when the server is dropped).
    pub fn sleep(self, d: Duration) -> Script {
        self.step(Step::Sleep(d))
    }

    /// Closes the connection cleanly (TLS close_notify if in TLS, then FIN).
    pub fn close(self) -> Script {
        self.step(Step::Close)
    }

    /// Sends `bytes` one byte at a time, pausing `every` after each byte.
    pub fn trickle(self, bytes: impl AsRef<[u8]>, every: Duration) -> Script {
        self.step(Step::Trickle(bytes.as_ref().to_vec(), every))
    }

    /// Sends `bytes` and closes abruptly (no TLS close_notify), e.g. mid-response.
    pub fn send_partial_then_close(self, bytes: impl AsRef<[u8]>) -> Script {
        self.step(Step::SendPartialThenClose(bytes.as_ref().to_vec()))
    }

    /// Keeps the connection open and never answers, until the server is dropped.
    pub fn hang(self) -> Script {
        self.step(Step::Hang)
    }

    /// Upgrades the connection to TLS (server side, test certificate); later steps run
    /// inside TLS.
    pub fn starttls(self) -> Script {
        self.step(Step::StartTls)
    }

    /// Continues with the steps of `next`.
    pub fn then(mut self, next: Script) -> Script {
        self.steps.extend(next.steps);
        self
    }

    /// Records every further client line until the client closes.
    pub fn read_until_closed(self) -> Script {
        self.step(Step::ReadUntilClosed)
    }
}

/// Per-connection record.
#[derive(Debug, Default)]
struct ConnState {
    lines: Vec<String>,
    /// The script ended (or hit an error).
    finished: bool,
    /// The script is in `hang()`.
    parked: bool,
}

struct Shared {
    stop: AtomicBool,
    stop_lock: Mutex<()>,
    stop_cv: Condvar,
    conns: Mutex<Vec<ConnState>>,
    conns_cv: Condvar,
    errors: Mutex<Vec<String>>,
    sockets: Mutex<Vec<TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    live: Arc<AtomicUsize>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps up to `d`; returns false if the server is stopping.
    fn wait(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut guard = lock(&self.stop_lock);
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            guard = self
                .stop_cv
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn error(&self, conn: usize, msg: String) {
        if !self.stopping() {
            lock(&self.errors).push(format!("connection {conn}: {msg}"));
        }
    }

    fn update(&self, conn: usize, f: impl FnOnce(&mut ConnState)) {
        if let Some(c) = lock(&self.conns).get_mut(conn) {
            f(c);
        }
        self.conns_cv.notify_all();
    }
}

/// Counts a live thread until dropped.
struct LiveGuard(Arc<AtomicUsize>);

impl LiveGuard {
    fn new(live: &Arc<AtomicUsize>) -> LiveGuard {
        live.fetch_add(1, Ordering::SeqCst);
        LiveGuard(live.clone())
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
    Gone,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Gone => Ok(0),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Gone => Ok(()),
        }
    }
}

/// Reads CRLF/LF-terminated lines, keeping unread bytes across a TLS upgrade check.
struct Conn {
    index: usize,
    stream: Stream,
    raw: TcpStream,
    buf: Vec<u8>,
    shared: Arc<Shared>,
}

impl Conn {
    /// One line without its ending; `None` at EOF (a partial last line is returned first).
    fn read_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let line = String::from_utf8_lossy(&self.buf).into_owned();
                self.buf.clear();
                return Ok(Some(line));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn record(&self, line: &str) {
        let line = line.to_string();
        self.shared.update(self.index, |c| c.lines.push(line));
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    fn upgrade(&mut self, acceptor: &native_tls::TlsAcceptor) -> Result<(), String> {
        if !self.buf.is_empty() {
            return Err(format!(
                "client sent {:?} before the TLS handshake",
                String::from_utf8_lossy(&self.buf)
            ));
        }
        match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(tcp) => match acceptor.accept(tcp) {
                Ok(tls) => {
                    self.stream = Stream::Tls(Box::new(tls));
                    Ok(())
                }
                Err(e) => Err(format!("TLS handshake failed: {e}")),
            },
            other => {
                self.stream = other;
                Err("starttls() on a connection that is already TLS".into())
            }
        }
    }

    fn close(&mut self, clean: bool) {
        if clean && let Stream::Tls(tls) = &mut self.stream {
            let _ = tls.shutdown();
        }
        let _ = self.raw.shutdown(Shutdown::Both);
        self.stream = Stream::Gone;
    }

    fn run(&mut self, script: &Script) {
        let mut last_tag: Option<String> = None;
        for step in &script.steps {
            if self.shared.stopping() {
                return;
            }
            let result: Result<(), String> = match step {
                Step::Send(bytes) => self.send(bytes).map_err(|e| format!("send failed: {e}")),
                Step::Expect { desc, pred } => match self.read_line() {
                    Ok(Some(line)) => {
                        self.record(&line);
                        last_tag = line.split(' ').next().map(str::to_string);
                        if pred(&line) {
                            Ok(())
                        } else {
                            Err(format!("expected {desc}, got {line:?}"))
                        }
                    }
                    Ok(None) => Err(format!("client closed while expecting {desc}")),
                    Err(e) => Err(format!("read failed while expecting {desc}: {e}")),
                },
                Step::ReplyTagged(rest) => match &last_tag {
                    Some(tag) => {
                        let line = format!("{tag} {rest}\r\n");
                        self.send(line.as_bytes())
                            .map_err(|e| format!("send failed: {e}"))
                    }
                    None => Err("reply_tagged() before any expected line".into()),
                },
                Step::Sleep(d) => {
                    self.shared.wait(*d);
                    Ok(())
                }
                Step::Close => {
                    self.close(true);
                    return;
                }
                Step::Trickle(bytes, every) => {
                    let mut r = Ok(());
                    for b in bytes {
                        if let Err(e) = self.send(&[*b]) {
                            r = Err(format!("trickle send failed: {e}"));
                            break;
                        }
                        if !self.shared.wait(*every) {
                            break;
                        }
                    }
                    r
                }
                Step::SendPartialThenClose(bytes) => {
                    let r = self.send(bytes).map_err(|e| format!("send failed: {e}"));
                    self.close(false);
                    if let Err(e) = r {
                        self.shared.error(self.index, e);
                    }
                    return;
                }
                Step::Hang => {
                    self.shared.update(self.index, |c| c.parked = true);
                    while self.shared.wait(Duration::from_secs(3600)) {}
                    return;
                }
                Step::StartTls => self.upgrade(&test_cert().acceptor()),
                Step::ReadUntilClosed => loop {
                    match self.read_line() {
                        Ok(Some(line)) => self.record(&line),
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(format!("read failed: {e}")),
                    }
                },
            };
            if let Err(e) = result {
                self.shared.error(self.index, format!("{step:?}: {e}"));
                self.close(false);
                return;
            }
        }
        self.close(true);
    }
}

type Chooser = Arc<dyn Fn(usize) -> Script + Send + Sync>;

/// A running scripted server; see the module docs.
pub struct ScriptServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for ScriptServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptServer")
            .field("addr", &self.addr)
            .field("connections", &self.connections())
            .field("errors", &self.errors())
            .finish()
    }
}

impl ScriptServer {
    /// Plaintext server; connection `i` (0-based) runs `script(i)`.
    pub fn start(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> ScriptServer {
        ScriptServer::spawn(Arc::new(script), false)
    }

    /// Implicit TLS from the first byte (test certificate); connection `i` runs `script(i)`.
    pub fn start_tls(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> ScriptServer {
        ScriptServer::spawn(Arc::new(script), true)
    }

    /// Plaintext server; connection `i` runs `scripts[i]`, the last one repeated.
    pub fn start_seq(scripts: Vec<Script>) -> ScriptServer {
        ScriptServer::start(move |i| pick(&scripts, i))
    }

    /// Implicit TLS; connection `i` runs `scripts[i]`, the last one repeated.
    pub fn start_tls_seq(scripts: Vec<Script>) -> ScriptServer {
        ScriptServer::start_tls(move |i| pick(&scripts, i))
    }

    fn spawn(chooser: Chooser, tls: bool) -> ScriptServer {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            stop_lock: Mutex::new(()),
            stop_cv: Condvar::new(),
            conns: Mutex::new(Vec::new()),
            conns_cv: Condvar::new(),
            errors: Mutex::new(Vec::new()),
            sockets: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
            live: Arc::new(AtomicUsize::new(0)),
        });
        let acceptor = tls.then(|| test_cert().acceptor());
        let sh = shared.clone();
        let accept_thread = std::thread::Builder::new()
            .name("script-server-accept".into())
            .spawn(move || {
                let _live = LiveGuard::new(&sh.live);
                accept_loop(listener, chooser, acceptor, sh)
            })
            .expect("spawn accept thread");
        ScriptServer {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// The listening address (127.0.0.1:port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Number of connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.shared.conns).len()
    }

    /// Lines the client sent on connection `conn` (without line endings), so far.
    pub fn received(&self, conn: usize) -> Vec<String> {
        lock(&self.shared.conns)
            .get(conn)
            .map(|c| c.lines.clone())
            .unwrap_or_default()
    }

    /// Waits up to `timeout` for connection `conn` to have sent a line containing
    /// `needle`; whether it did. For a script that still expects a line the client sends
    /// after the event the test waited for (a listener's `IDLE` after `Reconnected`).
    pub fn wait_received(&self, conn: usize, needle: &str, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.received(conn).iter().any(|l| l.contains(needle)) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// All lines received, connection by connection.
    pub fn received_all(&self) -> Vec<String> {
        lock(&self.shared.conns)
            .iter()
            .flat_map(|c| c.lines.iter().cloned())
            .collect()
    }

    /// Script failures so far, each prefixed with its connection index.
    pub fn errors(&self) -> Vec<String> {
        lock(&self.shared.errors).clone()
    }

    /// Waits until every accepted connection has finished its script or sits in `hang()`;
    /// false on timeout.
    pub fn wait_done(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut conns = lock(&self.shared.conns);
        loop {
            if conns.iter().all(|c| c.finished || c.parked) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            conns = self
                .shared
                .conns_cv
                .wait_timeout(conns, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits (up to 5 s) for the scripts to finish, then panics if any step failed or a
    /// script is still running.
    pub fn assert_ok(&self) {
        let done = self.wait_done(Duration::from_secs(5));
        let errors = self.errors();
        assert!(
            errors.is_empty(),
            "script server errors: {errors:#?}\nreceived: {:#?}",
            self.received_all()
        );
        assert!(
            done,
            "a script is still running after 5 s; received: {:#?}",
            self.received_all()
        );
    }

    /// A counter of this server's live threads (accept loop + connections); 0 after drop.
    pub fn live_threads(&self) -> Arc<AtomicUsize> {
        self.shared.live.clone()
    }
}

fn pick(scripts: &[Script], i: usize) -> Script {
    scripts
        .get(i)
        .or_else(|| scripts.last())
        .cloned()
        .unwrap_or_default()
}

fn accept_loop(
    listener: TcpListener,
    chooser: Chooser,
    acceptor: Option<native_tls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            return;
        }
        let Ok((stream, _)) = accepted else {
            // e.g. EMFILE: do not spin.
            shared.wait(Duration::from_millis(10));
            continue;
        };
        let Ok(raw) = stream.try_clone() else {
            continue;
        };
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.sockets).push(clone);
        }
        let index = {
            let mut conns = lock(&shared.conns);
            conns.push(ConnState::default());
            conns.len() - 1
        };
        let script = chooser(index);
        let acceptor = acceptor.clone();
        let sh = shared.clone();
        let handle = std::thread::Builder::new()
            .name(format!("script-conn-{index}"))
            .spawn(move || {
                let _live = LiveGuard::new(&sh.live);
                let mut conn = Conn {
                    index,
                    stream: Stream::Plain(stream),
                    raw,
                    buf: Vec::new(),
                    shared: sh.clone(),
                };
                if let Some(acceptor) = acceptor
                    && let Err(e) = conn.upgrade(&acceptor)
                {
                    sh.error(index, e);
                    conn.close(false);
                    sh.update(index, |c| c.finished = true);
                    return;
                }
                conn.run(&script);
                sh.update(index, |c| c.finished = true);
            })
            .expect("spawn connection thread");
        lock(&shared.threads).push(handle);
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _g = lock(&self.shared.stop_lock);
            self.shared.stop_cv.notify_all();
        }
        // Unblock accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        for s in lock(&self.shared.sockets).iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let threads: Vec<JoinHandle<()>> = lock(&self.shared.threads).drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }
}
