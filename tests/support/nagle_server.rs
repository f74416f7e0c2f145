//! A minimal IMAP server on loopback that writes every answer in two pieces with Nagle's
//! algorithm on: the server that stalls a client on its delayed ACK (about 40 ms a command).
//!
//! It holds `count` copies of one message (UIDs 1..=count) in INBOX and answers the
//! commands the bench's clients send: CAPABILITY, LOGIN, SELECT / EXAMINE, UID FETCH (a
//! set of UIDs and ranges; every answer carries UID, FLAGS, RFC822.SIZE, INTERNALDATE and
//! BODY[]), NOOP and LOGOUT; anything else gets a `BAD`. With [`Split::Two`] each answer
//! (the greeting too) goes out as two writes: the first half of its first line, then the
//! rest. `TCP_NODELAY` stays off on the server's sockets, so the second write waits until
//! the client has acknowledged the first. With [`Split::One`] each answer is one write.
//!
//! A connection's thread ends when the client closes (or after 60 s of silence); dropping
//! the server stops accepting.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the server writes an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// In one write.
    One,
    /// In two writes, `pause` apart (zero: at once, and Nagle holds the second back).
    Two {
        /// How long to wait between the two writes.
        pause: Duration,
    },
}

/// The running server (see the module documentation).
pub struct NagleServer {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl NagleServer {
    /// Starts the server with `count` copies of `message`, writing answers as `split` says.
    pub fn start(split: Split, count: u32, message: Vec<u8>) -> NagleServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the nagle server");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let message = Arc::new(message);
        let accept = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let message = message.clone();
                    std::thread::spawn(move || serve(conn, split, count, &message));
                }
            })
        };
        NagleServer {
            port,
            stop,
            accept: Some(accept),
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for NagleServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Writes `answer` as `split` says.
fn send(conn: &mut TcpStream, split: Split, answer: &[u8]) -> std::io::Result<()> {
    match split {
        Split::One => conn.write_all(answer),
        Split::Two { pause } => {
            let line = answer
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(answer.len());
            let (first, rest) = answer.split_at((line / 2).max(1).min(answer.len()));
            conn.write_all(first)?;
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            conn.write_all(rest)
        }
    }
}

/// The UIDs of `set` (`1,3:5,7:*`) that exist, in order.
fn uids(set: &str, count: u32) -> Vec<u32> {
    let number = |s: &str| {
        if s == "*" {
            Some(count)
        } else {
            s.parse::<u32>().ok()
        }
    };
    let mut out = Vec::new();
    for item in set.split(',') {
        let (a, b) = item.split_once(':').unwrap_or((item, item));
        if let (Some(a), Some(b)) = (number(a), number(b)) {
            out.extend(a.min(b).max(1)..=a.max(b).min(count));
        }
    }
    out
}

fn serve(conn: TcpStream, split: Split, count: u32, message: &[u8]) {
    let _ = conn.set_nodelay(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    if send(
        &mut out,
        split,
        b"* OK [CAPABILITY IMAP4rev1] nagle server ready\r\n",
    )
    .is_err()
    {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut words = line.trim_end().splitn(3, ' ');
        let tag = words.next().unwrap_or("*").to_string();
        let command = words.next().unwrap_or("").to_ascii_uppercase();
        let rest = words.next().unwrap_or("");
        let mut answer = Vec::new();
        let mut bye = false;
        match command.as_str() {
            "CAPABILITY" => answer.extend_from_slice(b"* CAPABILITY IMAP4rev1\r\n"),
            "LOGIN" | "NOOP" | "CLOSE" | "UNSELECT" => {}
            "SELECT" | "EXAMINE" => answer.extend_from_slice(
                format!(
                    "* FLAGS (\\Seen)\r\n* {count} EXISTS\r\n* 0 RECENT\r\n\
                     * OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT {}] ok\r\n",
                    count + 1
                )
                .as_bytes(),
            ),
            "UID" if rest.to_ascii_uppercase().starts_with("FETCH ") => {
                let set = rest.get(6..).unwrap_or("").split(' ').next().unwrap_or("");
                for uid in uids(set, count) {
                    answer.extend_from_slice(
                        format!(
                            "* {uid} FETCH (UID {uid} FLAGS (\\Seen) RFC822.SIZE {n} \
                             INTERNALDATE \"03-Nov-2025 10:00:00 +0100\" BODY[] {{{n}}}\r\n",
                            n = message.len()
                        )
                        .as_bytes(),
                    );
                    answer.extend_from_slice(message);
                    answer.extend_from_slice(b")\r\n");
                }
            }
            "LOGOUT" => {
                answer.extend_from_slice(b"* BYE logging out\r\n");
                bye = true;
            }
            _ => {
                answer.extend_from_slice(format!("{tag} BAD unknown command\r\n").as_bytes());
                if send(&mut out, split, &answer).is_err() {
                    return;
                }
                continue;
            }
        }
        answer.extend_from_slice(format!("{tag} OK done\r\n").as_bytes());
        if send(&mut out, split, &answer).is_err() || bye {
            return;
        }
    }
}
