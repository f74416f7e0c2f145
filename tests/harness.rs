//! Self-tests of the test harness in `tests/support` (real Dovecot + scripted server),
//! using raw std / native_tls sockets only.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::certs::test_cert;
use support::dovecot::{self, Dovecot};
use support::script_server::{Script, ScriptServer};

/// A minimal line client over any stream.
struct Client<S: Read + Write> {
    r: BufReader<S>,
}

impl<S: Read + Write> Client<S> {
    fn new(s: S) -> Self {
        Client {
            r: BufReader::new(s),
        }
    }
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l
    }
    fn send(&mut self, line: &str) {
        let s = self.r.get_mut();
        s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        s.flush().unwrap();
    }
    /// Sends `tag cmd`, returns all lines up to and including the tagged one.
    fn imap(&mut self, tag: &str, cmd: &str) -> Vec<String> {
        self.send(&format!("{tag} {cmd}"));
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            assert!(!l.is_empty(), "EOF while waiting for {tag}; got {lines:?}");
            let done = l.starts_with(&format!("{tag} "));
            lines.push(l);
            if done {
                return lines;
            }
        }
    }
    /// Sends a POP3 command, returns the status line.
    fn pop3(&mut self, cmd: &str) -> String {
        self.send(cmd);
        self.line()
    }
    fn read_to_end(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        let _ = self.r.read_to_end(&mut v);
        v
    }
}

fn tcp(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn tls(port: u16, cert_pem: &[u8]) -> native_tls::TlsStream<TcpStream> {
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(native_tls::Certificate::from_pem(cert_pem).unwrap())
        .build()
        .unwrap();
    connector.connect("localhost", tcp(port)).unwrap()
}

fn imap_login<S: Read + Write>(c: &mut Client<S>, user: &str, pw: &str) {
    assert!(c.line().starts_with("* OK"));
    let r = c.imap("l1", &format!("LOGIN {user} {pw}"));
    assert!(r.last().unwrap().starts_with("l1 OK"), "{r:?}");
}

fn exists(lines: &[String]) -> usize {
    lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("* ")?
                .strip_suffix(" EXISTS\r\n")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no EXISTS in {lines:?}"))
}

// ---------------------------------------------------------------- Dovecot

#[test]
fn private_instance_greets_on_all_ports_and_cleans_up_on_drop() {
    let t = Instant::now();
    let Some(dc) = dovecot::start() else { return };
    eprintln!("Dovecot::start took {:?}", t.elapsed());
    assert_eq!(dc.host(), "127.0.0.1");
    assert!(Client::new(tcp(dc.imap_port())).line().starts_with("* OK"));
    assert!(Client::new(tcp(dc.pop3_port())).line().starts_with("+OK"));
    let mut imaps = Client::new(tls(dc.imaps_port(), dc.cert_pem()));
    assert!(imaps.line().starts_with("* OK"));
    let mut pop3s = Client::new(tls(dc.pop3s_port(), dc.cert_pem()));
    assert!(pop3s.line().starts_with("+OK"));
    // STARTTLS on the plain IMAP port.
    let mut plain = Client::new(tcp(dc.imap_port()));
    plain.line();
    let r = plain.imap("s1", "STARTTLS");
    assert!(r.last().unwrap().starts_with("s1 OK"), "{r:?}");
    let stream = plain.r.into_inner();
    let mut upgraded = Client::new(
        test_cert()
            .connector()
            .connect("localhost", stream)
            .unwrap(),
    );
    let r = upgraded.imap("s2", "LOGIN alice alicepw");
    assert!(r.last().unwrap().starts_with("s2 OK"), "{r:?}");

    let dir = dc.dir().to_path_buf();
    let pids = dc.processes();
    assert!(
        pids.len() >= 5,
        "expected dovecot's processes, got {pids:?}"
    );
    let t = Instant::now();
    drop(dc);
    eprintln!("Dovecot drop took {:?}", t.elapsed());
    assert!(!dir.exists(), "{} left behind", dir.display());
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
                || std::fs::read(format!("/proc/{pid}/cmdline"))
                    .unwrap()
                    .is_empty(),
            "dovecot process {pid} survived drop"
        );
    }
    // The connections it served are closed (EOF, not a read timeout).
    let mut rest = Vec::new();
    imaps.r.read_to_end(&mut rest).expect("EOF after drop");
    assert!(rest.is_empty() || rest.starts_with(b"* BYE"), "{rest:?}");
}

#[test]
fn imaps_login_needs_the_cert_as_root() {
    let t = Instant::now();
    let Some(dc) = Dovecot::shared() else { return };
    eprintln!("Dovecot::shared took {:?}", t.elapsed());
    let mut c = Client::new(tls(dc.imaps_port(), dc.cert_pem()));
    imap_login(&mut c, "alice", "alicepw");
    let r = c.imap("l2", "LOGOUT");
    assert!(r.last().unwrap().starts_with("l2 OK"));

    // Without the extra root the handshake must fail verification.
    let plain = native_tls::TlsConnector::new().unwrap();
    let err = plain
        .connect("localhost", tcp(dc.imaps_port()))
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certif"),
        "unexpected error {err}"
    );
    // The certificate file is the same certificate.
    assert_eq!(std::fs::read(dc.cert_path()).unwrap(), dc.cert_pem());
    assert_eq!(dc.cert_pem(), &test_cert().cert_pem[..]);
}

#[test]
fn seeded_messages_show_on_select() {
    let Some(dc) = Dovecot::shared() else { return };
    let u = dc.add_user();
    let msg = |n: usize| format!("Subject: m{n}\r\nFrom: a@b\r\n\r\nbody {n}\r\n").into_bytes();
    let (m1, m2, m3) = (msg(1), msg(2), msg(3));
    dc.seed(&u, "INBOX", &[&m1, &m2, &m3]);
    dc.seed(&u, "Archive/2024", &[&m1, &m2]);
    dc.seed_with_flags(&u, "Archive/2024", &m3, "SF");
    dc.seed(&u, "Entwürfe & Co", &[&m1]);

    let mut c = Client::new(tcp(dc.imap_port()));
    imap_login(&mut c, &u.name, &u.password);
    assert_eq!(exists(&c.imap("a1", "SELECT INBOX")), 3);
    let r = c.imap("a2", "FETCH 1:* (FLAGS RFC822.SIZE)");
    assert_eq!(r.iter().filter(|l| l.contains("FETCH")).count(), 3, "{r:?}");
    assert!(r.iter().all(|l| !l.contains("\\Seen")), "{r:?}");
    assert_eq!(exists(&c.imap("a3", "SELECT Archive/2024")), 3);
    let r = c.imap("a4", "FETCH 3 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    let text = r.concat();
    assert!(
        text.contains("\\Seen") && text.contains("\\Flagged"),
        "{r:?}"
    );
    assert!(text.contains("Subject: m3"), "{r:?}");
    // Non-ASCII names are stored in modified UTF-7, as Dovecot expects.
    assert_eq!(exists(&c.imap("a5", "SELECT \"Entw&APw-rfe &- Co\"")), 1);
    // The script's SPECIAL-USE mailboxes exist.
    let r = c
        .imap("a6", "LIST \"\" \"*\" RETURN (SPECIAL-USE)")
        .concat();
    for m in ["\\Drafts", "\\Sent", "\\Trash", "\\Junk"] {
        assert!(r.contains(m), "{m} missing in {r}");
    }
    // Seeding while the mailbox is selected is seen by the next NOOP.
    c.imap("a7", "SELECT INBOX");
    dc.seed(&u, "INBOX", &[&m1]);
    let r = c.imap("a8", "NOOP");
    assert!(r.iter().any(|l| l == "* 4 EXISTS\r\n"), "{r:?}");
}

#[test]
fn added_user_logs_in_and_pop3_stat_sees_seeded_count() {
    let Some(dc) = Dovecot::shared() else { return };
    let u = dc.add_user();
    let v = dc.add_user();
    assert_ne!(u.name, v.name);
    let body: &[u8] = b"Subject: x\r\n\r\nhello\r\n";
    dc.seed(&u, "INBOX", &[body, body, body, body]);

    let mut c = Client::new(tcp(dc.pop3_port()));
    assert!(c.line().starts_with("+OK"));
    assert!(c.pop3(&format!("USER {}", u.name)).starts_with("+OK"));
    assert!(c.pop3(&format!("PASS {}", u.password)).starts_with("+OK"));
    let stat = c.pop3("STAT");
    assert_eq!(stat, format!("+OK 4 {}\r\n", 4 * body.len()));
    c.pop3("QUIT");

    // POP3S, and a wrong password is refused.
    let mut c = Client::new(tls(dc.pop3s_port(), dc.cert_pem()));
    c.line();
    c.pop3(&format!("USER {}", v.name));
    assert!(c.pop3("PASS wrong").starts_with("-ERR"));

    // The other added user sees its own (empty) mailbox over IMAP.
    let mut c = Client::new(tcp(dc.imap_port()));
    imap_login(&mut c, &v.name, &v.password);
    assert_eq!(exists(&c.imap("b1", "SELECT INBOX")), 0);
}

#[test]
fn connections_and_kick() {
    let Some(dc) = Dovecot::shared() else { return };
    let u = dc.add_user();
    assert_eq!(dc.connections(&u.name), 0);
    let mut a = Client::new(tcp(dc.imap_port()));
    imap_login(&mut a, &u.name, &u.password);
    let mut b = Client::new(tcp(dc.pop3_port()));
    b.line();
    b.pop3(&format!("USER {}", u.name));
    assert!(b.pop3(&format!("PASS {}", u.password)).starts_with("+OK"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while dc.connections(&u.name) != 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dc.connections(&u.name), 2);

    // Another user is not affected by the kick.
    let other = dc.add_user();
    let mut o = Client::new(tcp(dc.imap_port()));
    imap_login(&mut o, &other.name, &other.password);

    dc.kick(&u.name);
    assert_eq!(dc.connections(&u.name), 0);
    dc.kick(&u.name); // nobody left to kick: not an error
    let rest = String::from_utf8_lossy(&a.read_to_end()).into_owned();
    assert!(rest.is_empty() || rest.starts_with("* BYE"), "{rest:?}");
    assert!(b.read_to_end().len() < 100);
    let r = o.imap("o1", "NOOP");
    assert!(r.last().unwrap().starts_with("o1 OK"));
}

#[test]
fn restart_keeps_ports_users_and_mail() {
    let Some(dc) = dovecot::start() else { return };
    let u = dc.add_user();
    dc.seed(&u, "INBOX", &[b"Subject: a\r\n\r\na\r\n"]);
    let ports = dc.ports();
    let mut c = Client::new(tcp(dc.imap_port()));
    imap_login(&mut c, &u.name, &u.password);
    let t = Instant::now();
    dc.restart();
    eprintln!("Dovecot::restart took {:?}", t.elapsed());
    assert_eq!(dc.ports(), ports);
    // The old connection is gone.
    c.send("x NOOP");
    let rest = String::from_utf8_lossy(&c.read_to_end()).into_owned();
    assert!(!rest.contains("x OK"), "{rest:?}");
    let mut c = Client::new(tls(dc.imaps_port(), dc.cert_pem()));
    imap_login(&mut c, &u.name, &u.password);
    assert_eq!(exists(&c.imap("r1", "SELECT INBOX")), 1);
}

#[test]
fn seeding_many_messages_is_fast() {
    let Some(dc) = Dovecot::shared() else { return };
    let u = dc.add_user();
    let msg: &[u8] = b"Subject: bulk\r\n\r\nbulk body\r\n";
    let msgs = vec![msg; 10_000];
    let t = Instant::now();
    let files = dc.seed(&u, "Bulk", &msgs);
    eprintln!("seeding 10000 messages took {:?}", t.elapsed());
    assert_eq!(files.len(), 10_000);
    let mut c = Client::new(tcp(dc.imap_port()));
    imap_login(&mut c, &u.name, &u.password);
    let r = c.imap("s1", "STATUS Bulk (MESSAGES)").concat();
    assert!(r.contains("(MESSAGES 10000)"), "{r}");
}

// ---------------------------------------------------------------- script server

#[test]
fn script_expect_and_reply_tagged_round_trip() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK fake ready")
            .expect_contains("LOGIN")
            .reply_tagged("OK done")
            .expect_prefix("z9 ")
            .reply_tagged("OK bye")
            .read_until_closed()
    });
    let mut c = Client::new(tcp(server.port()));
    assert_eq!(c.line(), "* OK fake ready\r\n");
    assert_eq!(c.imap("A001", "LOGIN u p"), vec!["A001 OK done\r\n"]);
    assert_eq!(c.imap("z9", "LOGOUT"), vec!["z9 OK bye\r\n"]);
    c.send("trailing");
    drop(c);
    server.assert_ok();
    assert_eq!(
        server.received(0),
        vec!["A001 LOGIN u p", "z9 LOGOUT", "trailing"]
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn script_per_connection_choice_and_counting() {
    let server = ScriptServer::start_seq(vec![
        Script::new().send_line("first"),
        Script::new().send_line("again"),
    ]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut c = Client::new(tcp(server.port()));
        seen.push(c.line());
        assert!(c.read_to_end().is_empty(), "closed after the script");
    }
    assert_eq!(seen, ["first\r\n", "again\r\n", "again\r\n"]);
    assert_eq!(server.connections(), 3);
    let by_index = ScriptServer::start(|i| Script::new().send_line(&format!("conn {i}")));
    for i in 0..2 {
        assert_eq!(
            Client::new(tcp(by_index.port())).line(),
            format!("conn {i}\r\n")
        );
    }
    server.assert_ok();
    by_index.assert_ok();
}

#[test]
fn script_starttls_and_implicit_tls() {
    let server = ScriptServer::start(|_| {
        Script::new()
            .send_line("* OK [CAPABILITY IMAP4rev1 STARTTLS]")
            .expect_contains("STARTTLS")
            .reply_tagged("OK begin TLS")
            .starttls()
            .send_line("* inside")
            .expect_contains("NOOP")
            .reply_tagged("OK noop")
    });
    let mut c = Client::new(tcp(server.port()));
    c.line();
    assert_eq!(c.imap("t1", "STARTTLS"), vec!["t1 OK begin TLS\r\n"]);
    let tls_stream = test_cert()
        .connector()
        .connect("localhost", c.r.into_inner())
        .unwrap();
    let mut c = Client::new(tls_stream);
    assert_eq!(c.line(), "* inside\r\n");
    assert_eq!(c.imap("t2", "NOOP"), vec!["t2 OK noop\r\n"]);
    server.assert_ok();
    assert_eq!(server.received(0), vec!["t1 STARTTLS", "t2 NOOP"]);

    let implicit = ScriptServer::start_tls_seq(vec![Script::new().send_line("+OK tls")]);
    let mut c = Client::new(tls(implicit.port(), &test_cert().cert_pem));
    assert_eq!(c.line(), "+OK tls\r\n");
    implicit.assert_ok();
}

#[test]
fn script_trickle_and_partial_close() {
    let server = ScriptServer::start_seq(vec![
        Script::new().trickle("abcd", Duration::from_millis(30)),
        Script::new().send_partial_then_close("* 1 FETCH (BODY[] {100}\r\nonly"),
    ]);
    let t = Instant::now();
    let mut s = tcp(server.port());
    let mut first = [0u8; 4];
    let n = s.read(&mut first).unwrap();
    assert!(n < 4, "trickle must not send everything at once");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!([&first[..1], &rest[..]].concat(), b"abcd");
    assert!(
        t.elapsed() >= Duration::from_millis(90),
        "{:?}",
        t.elapsed()
    );
    let mut c = Client::new(tcp(server.port()));
    assert_eq!(c.read_to_end(), b"* 1 FETCH (BODY[] {100}\r\nonly");
    server.assert_ok();
}

#[test]
fn script_hang_is_stopped_promptly_on_drop() {
    let server = ScriptServer::start(|_| Script::new().send_line("* OK").hang());
    let mut c = Client::new(tcp(server.port()));
    assert_eq!(c.line(), "* OK\r\n");
    c.send("a1 NOOP");
    assert!(server.wait_done(Duration::from_secs(5)), "parked in hang()");
    let live = server.live_threads();
    assert_eq!(live.load(std::sync::atomic::Ordering::SeqCst), 2);
    let t = Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(live.load(std::sync::atomic::Ordering::SeqCst), 0);
    // The client sees the connection end, without any answer.
    assert!(c.read_to_end().is_empty());
}

#[test]
fn script_errors_report_mismatch_and_early_close() {
    let server = ScriptServer::start_seq(vec![
        Script::new()
            .send_line("* OK")
            .expect_contains("LOGIN")
            .reply_tagged("OK"),
        Script::new().send_line("* OK").expect_prefix("x "),
    ]);
    let mut c = Client::new(tcp(server.port()));
    c.line();
    c.send("a1 CAPABILITY");
    assert!(c.read_to_end().is_empty(), "server gives up on a mismatch");
    let mut c2 = Client::new(tcp(server.port()));
    c2.line();
    drop(c2);
    assert!(server.wait_done(Duration::from_secs(5)));
    let errors = server.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("connection 0:") && errors[0].contains("a1 CAPABILITY"));
    assert!(errors[1].starts_with("connection 1:") && errors[1].contains("closed"));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.assert_ok()));
    assert!(panicked.is_err(), "assert_ok must fail");
}
