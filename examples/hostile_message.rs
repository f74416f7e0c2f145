//! Times the `Message` accessors on hostile messages built in memory and reports the peak
//! resident memory, to check that reading mail stays linear and bounded.
//!
//! ```text
//! cargo build --release --example hostile_message
//! for s in subject parts headers nesting addresses params; do
//!     /usr/bin/time -v target/release/examples/hostile_message $s 2>&1 |
//!         grep -E '^(scenario|  )|Maximum resident'
//! done
//! ```
//!
//! Each scenario runs in its own process so that the peak (`VmHWM`, Linux) belongs to it.
//! The peak above the process's resident size at start is printed with its ratio to the
//! message size; it includes the message's own bytes (1.0 means "nothing but the
//! message"). Scenarios:
//!
//! - `subject`: a 1 MB `Subject:` of repeated `=?`;
//! - `parts`: 25 MB of 5 M empty MIME parts;
//! - `headers`: a header block of 1 M tiny header fields;
//! - `nesting`: multiparts nested 100,000 deep around a 10 MB body;
//! - `addresses`: a 1 MB `To:` of `=?` plus 100,000 addresses in `Cc:`;
//! - `params`: a `Content-Disposition` with 100,000 RFC 2231 parameters;
//! - `attachment`: one 24 MB base64 attachment.

use std::time::{Duration, Instant};

use mailwire::Message;

fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_else(|| "subject".into());
    let at_start = peak_rss();
    let raw = match scenario.as_str() {
        "subject" => subject(),
        "parts" => parts(),
        "headers" => headers(),
        "nesting" => nesting(),
        "addresses" => addresses(),
        "params" => params(),
        "attachment" => attachment(),
        other => {
            eprintln!("unknown scenario {other}");
            std::process::exit(2);
        }
    };
    let size = raw.len();
    let baseline = peak_rss();
    println!(
        "scenario {scenario}: {size} bytes, peak RSS after building {:.1} MB",
        mb(baseline)
    );
    let m = Message::from_bytes(raw);
    let total = Instant::now();
    timed("subject (first call: indexes the header)", || {
        m.subject().map_or(0, |s| s.len())
    });
    timed("subject (again)", || m.subject().map_or(0, |s| s.len()));
    timed("header(X-Last)", || {
        m.header("X-Last").map_or(0, |s| s.len())
    });
    timed("headers(X)", || m.headers("X").len());
    timed("from", || m.from().len());
    timed("to", || m.to().len());
    timed("cc", || m.cc().len());
    timed("date", || usize::from(m.date().is_some()));
    timed("message_id", || m.message_id().map_or(0, |s| s.len()));
    timed("references", || m.references().len());
    timed("text_body", || m.text_body().map_or(0, str::len));
    timed("html_body", || m.html_body().map_or(0, str::len));
    timed("parts", || m.parts().len());
    timed("attachments", || m.attachments().len());
    timed("walk parts (data)", || {
        m.parts().iter().map(|p| p.data().len()).sum::<usize>()
    });
    timed("walk attachments (data, filename)", || {
        m.attachments()
            .iter()
            .map(|a| a.data().len() + a.filename().map_or(0, str::len))
            .sum::<usize>()
    });
    timed("mime_errors", || m.mime_errors().len());
    for e in m.mime_errors().iter().take(4) {
        println!("    mime error: {e}");
    }
    let peak = peak_rss();
    let used = peak.saturating_sub(at_start);
    println!(
        "  total {:?}; peak RSS {:.1} MB; above the process's start {:.1} MB = {:.2} x the message",
        total.elapsed(),
        mb(peak),
        mb(used),
        used as f64 / size.max(1) as f64
    );
}

fn timed(what: &str, f: impl FnOnce() -> usize) {
    let start = Instant::now();
    let n = f();
    let took = start.elapsed();
    let flag = if took > Duration::from_millis(10) {
        "  <-- over 10 ms"
    } else {
        ""
    };
    println!("  {what:<36} {took:>12?}  -> {n}{flag}");
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// The process's peak resident set (`VmHWM`), in bytes; 0 where /proc is not available.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn subject() -> Vec<u8> {
    let mut raw = Vec::with_capacity(1_100_000);
    raw.extend_from_slice(b"From: a@example.org\r\nSubject: ");
    for _ in 0..500_000 {
        raw.extend_from_slice(b"=?");
    }
    raw.extend_from_slice(b"\r\n\r\nbody\r\n");
    raw
}

fn parts() -> Vec<u8> {
    let n = 5_000_000;
    let mut raw = Vec::with_capacity(n * 5 + 100);
    raw.extend_from_slice(b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    for _ in 0..n {
        raw.extend_from_slice(b"--b\r\n");
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}

fn headers() -> Vec<u8> {
    let n = 1_000_000;
    let mut raw = Vec::with_capacity(n * 6 + 100);
    for _ in 0..n {
        raw.extend_from_slice(b"X: y\r\n");
    }
    raw.extend_from_slice(b"Subject: many\r\nX-Last: last\r\n\r\nbody\r\n");
    raw
}

fn nesting() -> Vec<u8> {
    let depth = 100_000;
    let body = 10_000_000;
    let mut raw = Vec::with_capacity(depth * 60 + body + 100);
    for i in 0..depth {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
    for _ in 0..body / 10 {
        raw.extend_from_slice(b"--b1 x\r\n\r\n");
    }
    raw
}

fn addresses() -> Vec<u8> {
    let mut raw = Vec::with_capacity(3_000_000);
    raw.extend_from_slice(b"From: a@example.org\r\nTo: ");
    for _ in 0..500_000 {
        raw.extend_from_slice(b"=?");
    }
    raw.extend_from_slice(b"\r\nCc: ");
    for i in 0..100_000 {
        raw.extend_from_slice(format!("=?utf-8?q?n{i}?= <u{i}@example.org>, ").as_bytes());
    }
    raw.extend_from_slice(b"\r\n\r\nbody\r\n");
    raw
}

fn params() -> Vec<u8> {
    let mut raw = Vec::with_capacity(3_000_000);
    raw.extend_from_slice(
        b"Subject: params\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
          Content-Type: application/octet-stream\r\nContent-Disposition: attachment",
    );
    for i in 0..100_000 {
        raw.extend_from_slice(format!("; p{i}*0*=utf-8''x").as_bytes());
    }
    raw.extend_from_slice(b"\r\n\r\ndata\r\n--b--\r\n");
    raw
}

fn attachment() -> Vec<u8> {
    let lines = 320_000; // 76 base64 characters per line: 24.3 MB
    let mut raw = Vec::with_capacity(lines * 78 + 300);
    raw.extend_from_slice(
        b"Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
          Content-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\n\
          Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
          Content-Disposition: attachment; filename=big.bin\r\n\r\n",
    );
    for _ in 0..lines {
        raw.extend_from_slice(
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n",
        );
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}
