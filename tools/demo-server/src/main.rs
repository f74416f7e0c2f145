//! `mailwire-demo-server`: a throw-away Dovecot on 127.0.0.1 with a sample mailbox, for
//! `scripts/demo`. It prints the account as `KEY=value` lines (the `MAILWIRE_*` variables
//! every example reads), then `READY`, and runs until its standard input closes; the server
//! and its files go with it. `--namespace default|inbox-dot|inbox-slash` lays out the
//! personal namespace (no prefix with `/`, `INBOX.` with `.`, `INBOX/` with `/`).

#[path = "../../../tests/support/mod.rs"]
#[allow(dead_code, clippy::all)]
mod support;

use std::io::{Read, Write};

fn main() {
    use support::dovecot::Namespace;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let namespace = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => Namespace::Default,
        ["--namespace", name] => Namespace::from_name(name).unwrap_or_else(|| {
            eprintln!("unknown namespace setup {name:?}: use default, inbox-dot or inbox-slash");
            std::process::exit(2);
        }),
        _ => {
            eprintln!("usage: mailwire-demo-server [--namespace default|inbox-dot|inbox-slash]");
            std::process::exit(2);
        }
    };
    let Some(dc) = support::dovecot::start_with_namespace(namespace) else {
        eprintln!("dovecot is not installed: apt-get install -y dovecot-imapd dovecot-pop3d");
        std::process::exit(2);
    };
    let user = dc.alice();
    seed(&dc, &user.name);
    let bobs: Vec<Vec<u8>> = (60..65).map(message).collect();
    let refs: Vec<&[u8]> = bobs.iter().map(|m| m.as_slice()).collect();
    dc.seed(&dc.bob().name, "INBOX", &refs);
    let ca = dc.dir().join("demo-ca.pem");
    if let Err(e) = std::fs::write(&ca, dc.cert_pem()) {
        eprintln!("cannot write {}: {e}", ca.display());
        std::process::exit(1);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "MAILWIRE_HOST=127.0.0.1");
    let _ = writeln!(out, "MAILWIRE_PORT={}", dc.imaps_port());
    let _ = writeln!(out, "MAILWIRE_SECURITY=tls");
    let _ = writeln!(out, "MAILWIRE_USER={}", user.name);
    let _ = writeln!(out, "MAILWIRE_PASSWORD={}", user.password);
    let _ = writeln!(out, "MAILWIRE_CA_FILE={}", ca.display());
    let _ = writeln!(out, "MAILWIRE_POP3_PORT={}", dc.pop3s_port());
    let bob = dc.bob();
    let _ = writeln!(out, "MAILWIRE_USER_2={}", bob.name);
    let _ = writeln!(out, "MAILWIRE_PASSWORD_2={}", bob.password);
    let _ = writeln!(out, "MAILWIRE_STARTTLS_PORT={}", dc.imap_port());
    let _ = writeln!(out, "MAILWIRE_DEMO_DIR={}", dc.dir().display());
    let _ = writeln!(out, "MAILWIRE_DEMO_NAMESPACE={}", namespace.name());
    let _ = writeln!(out, "READY");
    let _ = out.flush();
    drop(out);
    // Run until the caller closes our stdin.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

const PEOPLE: &[(&str, &str)] = &[
    ("Ada Lovelace", "ada@analytical.example"),
    ("Grace Hopper", "grace@navy.example"),
    ("Jürgen Müller", "juergen@beispiel.example"),
    ("Amélie Poulain", "amelie@montmartre.example"),
    ("Алексей Смирнов", "alexey@primer.example"),
    ("Linus T.", "linus@kernel.example"),
];

const SUBJECTS: &[&str] = &[
    "Quarterly report",
    "Lunch on Friday?",
    "Re: Build is green again",
    "Invoice #2024-117",
    "Grüße aus München",
    "Réunion de lundi",
    "Отчёт за месяц",
    "Your ticket #4411 was updated",
    "Photos from the trip",
    "Release notes 0.1.0",
];

fn encoded_word(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    // RFC 2047 B-encoding, written out here to keep this tool dependency-free.
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("=?UTF-8?B?{out}?=")
}

fn base64_lines(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(T[((n >> (18 - 6 * j)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn message(i: usize) -> Vec<u8> {
    let (name, email) = PEOPLE[i % PEOPLE.len()];
    let subject = SUBJECTS[i % SUBJECTS.len()];
    let day = 1 + (i % 28);
    let headers = format!(
        "From: {} <{email}>\r\nTo: Alice <alice@example.org>\r\nSubject: {}\r\nDate: {day:02} Nov 2026 {:02}:{:02}:00 +0100\r\nMessage-ID: <demo-{i}@mailwire.example>\r\nMIME-Version: 1.0\r\n",
        encoded_word(name),
        encoded_word(subject),
        8 + i % 10,
        (i * 7) % 60
    );
    let body = match i % 4 {
        0 => format!("Content-Type: text/plain; charset=utf-8\r\n\r\nHello Alice,\r\n\r\nthis is sample message {i} of the mailwire demo.\r\n\r\n-- \r\n{name}\r\n"),
        1 => format!(
            "Content-Type: multipart/alternative; boundary=\"alt{i}\"\r\n\r\n--alt{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSample {i} in plain text.\r\n--alt{i}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Sample <b>{i}</b> in HTML.</p></body></html>\r\n--alt{i}--\r\n"
        ),
        2 => {
            let csv = format!("id,amount\r\n{i},{}.00\r\n", 100 + i);
            format!(
                "Content-Type: multipart/mixed; boundary=\"mix{i}\"\r\n\r\n--mix{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe figures are attached.\r\n--mix{i}\r\nContent-Type: text/csv; name=\"report-{i}.csv\"\r\nContent-Disposition: attachment; filename=\"report-{i}.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--mix{i}\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%C3%9Cbersicht-{i}.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--mix{i}--\r\n",
                base64_lines(csv.as_bytes()),
                base64_lines(b"%PDF-1.4\n% not a real PDF, just demo bytes\n")
            )
        }
        _ => format!(
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe, Alice! Nachricht {i}.\r\n"
        ),
    };
    format!("{headers}{body}").into_bytes()
}

fn seed(dc: &support::dovecot::Dovecot, user: &str) {
    let inbox: Vec<Vec<u8>> = (0..36).map(message).collect();
    for (i, m) in inbox.iter().enumerate() {
        let flags = if i < 24 { "S" } else if i % 5 == 0 { "F" } else { "" };
        dc.seed_with_flags(user, "INBOX", m, flags);
    }
    let archive: Vec<Vec<u8>> = (36..48).map(message).collect();
    let refs: Vec<&[u8]> = archive.iter().map(|m| m.as_slice()).collect();
    dc.seed(user, "Archive/2025", &refs);
    dc.seed(user, "Entwürfe", &[&message(48)]);
    dc.seed(user, "Sent", &[&message(49), &message(50)]);
}
