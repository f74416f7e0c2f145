//! A 20 MB message streamed from Dovecot to a writer with bounded memory, and large
//! messages fetched into memory between small ones.

mod support;

use std::io::Write;
use std::time::Duration;

use mailwire::imap::ImapConnection;
use mailwire::{Config, RetryPolicy};

/// The harness Dovecot over IMAPS (`tls`) or plain IMAP, 30 s timeouts, no retry.
fn config(dc: &support::dovecot::Dovecot, u: &support::dovecot::User, tls: bool) -> Config {
    let builder = Config::builder("127.0.0.1")
        .login(&u.name, &u.password)
        .timeouts(Duration::from_secs(30))
        .retry(RetryPolicy::none());
    let builder = if tls {
        builder
            .port(dc.imaps_port())
            .add_root_certificate_pem(dc.cert_pem().to_vec())
    } else {
        builder
            .port(dc.imap_port())
            .security(mailwire::Security::Plain)
    };
    builder.build().unwrap()
}

/// Checks every byte written against the expected message as it arrives, and records the
/// largest single write.
struct Checker<'a> {
    expected: &'a [u8],
    pos: usize,
    largest_write: usize,
}

impl Write for Checker<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let end = self.pos + buf.len();
        assert!(
            end <= self.expected.len(),
            "more bytes than the message has"
        );
        assert!(
            self.expected[self.pos..end] == *buf,
            "bytes differ in {}..{end}",
            self.pos
        );
        self.pos = end;
        self.largest_write = self.largest_write.max(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn twenty_megabytes_streamed_with_bounded_memory() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    // 20 MiB of base64-like lines with a varying pattern, so that a shifted or repeated
    // chunk would not compare equal.
    let mut message = b"From: big@example.org\r\nSubject: twenty megabytes\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0usize;
    while message.len() < 20 * 1024 * 1024 {
        for _ in 0..76 {
            message.push(alphabet[(i * 7 + i / 97) % 64]);
            i += 1;
        }
        message.extend_from_slice(b"\r\n");
    }
    let path = dc.seed(&u.name, "INBOX", &[&message]).remove(0);
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(on_disk.len(), message.len());

    let conn = ImapConnection::connect(&config(dc, &u, true)).unwrap();
    let mut checker = Checker {
        expected: &on_disk,
        pos: 0,
        largest_write: 0,
    };
    let written = conn.fetch_to_writer("INBOX", 1, &mut checker).unwrap();
    assert_eq!(written, Some(on_disk.len() as u64));
    assert_eq!(checker.pos, on_disk.len(), "the writer saw every byte");
    let peak = conn.peak_buffered_bytes();
    // The docs' promise: streaming a message costs the 64 KiB read buffer, nothing that
    // grows with the message.
    assert!(peak <= 64 * 1024, "peak buffered {peak} bytes");
    println!("20 MiB message streamed; the library buffered at most {peak} bytes at once");
    assert!(checker.largest_write < 8 * 1024 * 1024);
    // The connection is still in step: the next command works.
    let meta = conn.fetch_metadata("INBOX", &[1]).unwrap();
    assert_eq!(meta[0].size(), on_disk.len() as u64);
    assert!(!meta[0].is_seen(), "streaming must not set \\Seen");
    conn.logout();
    let name = std::fs::read_dir(dc.maildir(&u.name, "INBOX").join("cur"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    assert!(
        !name
            .to_string_lossy()
            .split(":2,")
            .nth(1)
            .unwrap_or("")
            .contains('S'),
        "{name:?}"
    );
}

/// A message of `size` bytes whose lines differ, so that a shifted, repeated or truncated
/// chunk would not compare equal.
fn patterned(subject: &str, size: usize) -> Vec<u8> {
    let mut m = format!("From: big@example.org\r\nSubject: {subject}\r\n\r\n").into_bytes();
    let mut i = 0u64;
    while m.len() < size {
        m.extend_from_slice(format!("{i:016x} line of a large message\r\n").as_bytes());
        i += 1;
    }
    m
}

#[test]
fn large_messages_fetched_into_memory_between_small_ones() {
    let Some(dc) = support::dovecot::shared() else {
        return;
    };
    let u = dc.add_user();
    // small, 3 MiB, small, 5 MiB, small: the large bodies are handed over from the read
    // buffer while the small responses after them are already buffered.
    let messages = [
        patterned("one", 600),
        patterned("two", 3 << 20),
        patterned("three", 900),
        patterned("four", 5 << 20),
        patterned("five", 1200),
    ];
    let paths = dc.seed(&u.name, "INBOX", &messages);
    let on_disk: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let conn = ImapConnection::connect(&config(dc, &u, false)).unwrap();
    for round in 0..2 {
        let got = conn
            .fetch_uid_range("INBOX", 1..=u32::MAX, mailwire::imap::FetchWhat::Full)
            .unwrap();
        assert_eq!(got.len(), on_disk.len(), "round {round}");
        for (m, expected) in got.iter().zip(&on_disk) {
            assert_eq!(m.raw().len(), expected.len());
            assert!(m.raw() == expected.as_slice(), "uid {:?} differs", m.uid());
            assert_eq!(m.size(), expected.len() as u64);
        }
        assert_eq!(got[1].subject().as_deref(), Some("two"));
    }
    // Fetched one by one as well, and the connection is still in step afterwards.
    let four = conn
        .fetch("INBOX", &[4], mailwire::imap::FetchWhat::Full)
        .unwrap();
    assert!(four[0].raw() == on_disk[3].as_slice());
    let meta = conn.fetch_metadata("INBOX", &[5]).unwrap();
    assert_eq!(meta[0].subject().as_deref(), Some("five"));
    // A large part, and a range of it, are the same bytes too.
    let body_of = |m: &[u8]| m[m.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..].to_vec();
    let part = conn.fetch_part("INBOX", 4, &[1]).unwrap().unwrap();
    assert!(part == body_of(&on_disk[3]), "part of {} bytes", part.len());
    let range = conn
        .fetch_range("INBOX", 2, 1000, 2 << 20)
        .unwrap()
        .unwrap();
    assert!(range.as_slice() == &on_disk[1][1000..1000 + (2 << 20)]);
    assert_eq!(conn.fetch_part("INBOX", 99, &[1]).unwrap(), None);
    conn.logout();
}
