//! Pop3Handler and Pop3Pool against the real Dovecot of the test harness: every method over
//! POP3S and STLS, AUTH PLAIN and USER/PASS, 1,000 messages through pipelined and
//! sequential fetch_messages, deletion semantics (QUIT commits, drop does not, RSET undoes),
//! a 20 MB message streamed with bounded memory, and the pool's one-connection-per-account
//! behaviour.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mailwire::pool::PoolOptions;
use mailwire::pop3::{LoginMethod, Pop3Handler, Pop3Options, Pop3Pool};
use mailwire::{Config, Error, RetryPolicy, Security};
use support::dovecot::{self, Dovecot, User};

fn config(dc: &Dovecot, user: &User, security: Security) -> Config {
    let port = match security {
        Security::Tls => dc.pop3s_port(),
        _ => dc.pop3_port(),
    };
    Config::builder(dc.host())
        .pop3_port(port)
        .security(security)
        .login(&user.name, &user.password)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// CRLF → LF, so that seeded files and what the server sends compare equal.
fn normalise(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The `X-Seq` header value of a message (our own marker for matching).
fn seq_of(raw: &[u8]) -> usize {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .find(|l| l.starts_with("X-Seq: "))
        .unwrap_or_else(|| panic!("no X-Seq in {:?}", &text[..text.len().min(200)]));
    line["X-Seq: ".len()..].trim().parse().unwrap()
}

/// A message with tricky content: lines starting with ".", a long line every 50th message,
/// 8-bit bytes.
fn tricky_message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender {i} <s{i}@example.com>\nTo: rcpt@example.com\nSubject: message {i}\nX-Seq: {i}\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
    )
    .into_bytes();
    m.extend_from_slice(b".a line starting with a dot\n..two dots\n.\n. dot space\n");
    m.extend_from_slice(b"8-bit: caf\xe9 na\xefve \xff\xfe\x80\n");
    if i.is_multiple_of(50) {
        let long: Vec<u8> = (0..12_000 + i).map(|k| b'a' + (k % 26) as u8).collect();
        m.extend_from_slice(&long);
        m.push(b'\n');
        m.push(b'.');
        m.extend_from_slice(&long[..10_001]);
        m.push(b'\n');
    }
    for k in 0..(i % 7) {
        m.extend_from_slice(format!("body line {k} of message {i}\n").as_bytes());
    }
    m.extend_from_slice(b"last line\n");
    m
}

#[test]
fn every_method_over_pop3s_and_stls() {
    let Some(dc) = dovecot::shared() else { return };
    for security in [Security::Tls, Security::StartTls] {
        let user = dc.add_user();
        let seeded: Vec<Vec<u8>> = (1..=5).map(tricky_message).collect();
        let refs: Vec<&[u8]> = seeded.iter().map(|m| m.as_slice()).collect();
        dc.seed(&user, "INBOX", &refs);
        let cfg = config(dc, &user, security);
        let pop = Pop3Handler::connect(&cfg).unwrap();
        assert!(pop.is_tls(), "{security:?}");
        assert!(!pop.is_closed());
        assert!(
            pop.greeting().to_ascii_lowercase().contains("ready"),
            "{}",
            pop.greeting()
        );

        let caps = pop.capabilities();
        assert!(caps.top() && caps.uidl() && caps.pipelining(), "{caps:?}");
        assert!(
            !caps.stls(),
            "STLS must not be offered again over TLS: {caps:?}"
        );
        assert_eq!(pop.refresh_capabilities().unwrap(), caps);
        assert!(pop.pipelines());

        let stat = pop.stat().unwrap();
        assert_eq!(stat.count, 5);
        let list = pop.list().unwrap();
        assert_eq!(list.len(), 5);
        assert_eq!(list.iter().map(|e| e.size).sum::<u64>(), stat.size);
        for entry in &list {
            assert_eq!(pop.list_one(entry.number).unwrap(), *entry);
            assert_eq!(pop.message_size(entry.number).unwrap(), entry.size);
        }
        let uidl = pop.uidl().unwrap();
        assert_eq!(uidl.len(), 5);
        assert_eq!(uidl.iter().map(|e| &e.uid).collect::<HashSet<_>>().len(), 5);
        assert_eq!(pop.uidl_one(3).unwrap(), uidl[2]);

        // RETR: exact bytes (the server's size is the CRLF size).
        let by_seq: HashMap<usize, &Vec<u8>> = seeded.iter().map(|m| (seq_of(m), m)).collect();
        for entry in &list {
            let m = pop.fetch_message(entry.number).unwrap();
            assert_eq!(m.raw().len() as u64, entry.size);
            assert_eq!(m.meta().seq, Some(entry.number));
            assert_eq!(normalise(m.raw()), normalise(by_seq[&seq_of(m.raw())]));
            assert!(m.subject().unwrap().starts_with("message "));
            // Streaming gives the same bytes.
            let mut streamed = Vec::new();
            let n = pop.fetch_to_writer(entry.number, &mut streamed).unwrap();
            assert_eq!(n, entry.size);
            assert_eq!(streamed, m.raw());
        }
        let all = pop.fetch_messages(&[5, 1, 3]).unwrap();
        assert_eq!(
            all.iter()
                .map(|m| m.meta().seq.unwrap())
                .collect::<Vec<_>>(),
            vec![5, 1, 3]
        );
        assert_eq!(all[1].raw(), pop.fetch_message(1).unwrap().raw());

        // TOP: headers plus n body lines.
        let top0 = pop.fetch_headers(2, 0).unwrap();
        let text = String::from_utf8_lossy(top0.raw()).into_owned();
        assert!(text.contains("X-Seq:") && !text.contains("dot"), "{text}");
        let top1 = pop.fetch_headers(2, 1).unwrap();
        assert!(
            String::from_utf8_lossy(top1.raw()).ends_with("\r\n.a line starting with a dot\r\n"),
            "{:?}",
            String::from_utf8_lossy(top1.raw())
        );

        // UIDL helper.
        let seen: HashSet<String> = uidl[..3].iter().map(|e| e.uid.clone()).collect();
        let new = pop.new_messages(&seen).unwrap();
        assert_eq!(new, uidl[3..].to_vec());

        // Errors that leave the connection usable.
        match pop.fetch_message(99) {
            Err(Error::Server { command, .. }) => assert_eq!(command, "RETR 99"),
            other => panic!("expected -ERR, got {other:?}"),
        }
        assert!(matches!(
            pop.fetch_message(0),
            Err(Error::InvalidInput { .. })
        ));
        assert!(pop.test_connection().is_ok());
        pop.noop().unwrap();

        // DELE, RSET, DELE, QUIT.
        pop.delete_message(1).unwrap();
        pop.delete_messages(&[2, 3]).unwrap();
        assert_eq!(pop.pending_deletions(), vec![1, 2, 3]);
        assert!(matches!(pop.fetch_message(1), Err(Error::Server { .. })));
        assert_eq!(pop.stat().unwrap().count, 2);
        pop.reset().unwrap();
        assert!(pop.pending_deletions().is_empty());
        assert_eq!(pop.stat().unwrap().count, 5);
        pop.delete_message(4).unwrap();
        pop.quit().unwrap();
        assert!(pop.is_closed() && !pop.is_broken());
        assert!(matches!(pop.noop(), Err(Error::Closed { .. })));
        assert!(pop.test_connection().is_err());

        let again = Pop3Handler::connect(&cfg).unwrap();
        assert_eq!(again.stat().unwrap().count, 4, "{security:?}");
        again.quit().unwrap();
    }
}

#[test]
fn auth_plain_user_pass_and_bad_password() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[b"Subject: one\n\nbody\n"]);
    // Plain port without TLS: Dovecot is configured to allow it for tests.
    let cfg = config(dc, &user, Security::Plain);
    let pop = Pop3Handler::connect(&cfg).unwrap();
    // Dovecot offers SCRAM-SHA-256, preferred over PLAIN (docs/security.md).
    assert_eq!(pop.logged_in_with(), Some("SCRAM-SHA-256"));
    assert!(!pop.is_tls());
    assert_eq!(pop.stat().unwrap().count, 1);
    pop.quit().unwrap();

    let plain = Config::builder(dc.host())
        .pop3_port(dc.pop3_port())
        .security(Security::Plain)
        .login(&user.name, &user.password)
        .auth_mechanism(mailwire::sasl::Mechanism::Plain)
        .build()
        .unwrap();
    let pop = Pop3Handler::connect(&plain).unwrap();
    assert_eq!(pop.logged_in_with(), Some("PLAIN"));
    assert_eq!(pop.stat().unwrap().count, 1);
    pop.quit().unwrap();

    let forced =
        Pop3Handler::connect_with(&cfg, Pop3Options::new().login_method(LoginMethod::UserPass))
            .unwrap();
    assert_eq!(forced.logged_in_with(), Some("USER/PASS"));
    assert_eq!(forced.stat().unwrap().count, 1);
    forced.quit().unwrap();

    let login = Config::builder(dc.host())
        .pop3_port(dc.pop3s_port())
        .login(&user.name, &user.password)
        .auth_mechanism(mailwire::sasl::Mechanism::Login)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .build()
        .unwrap();
    let pop = Pop3Handler::connect(&login).unwrap();
    assert_eq!(pop.logged_in_with(), Some("LOGIN"));
    assert_eq!(pop.stat().unwrap().count, 1);
    pop.quit().unwrap();

    // A wrong password: Error::Auth, not transient. One attempt only: Dovecot penalises
    // failed logins per IP with growing delays (that retries are never made is shown
    // against the scripted server in tests/pop3_scripted.rs).
    let wrong = Config::builder(dc.host())
        .pop3_port(dc.pop3s_port())
        .login(&user.name, "wrong password")
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    match Pop3Handler::connect(&wrong) {
        Err(e @ Error::Auth { .. }) => {
            assert!(!e.is_transient());
            assert!(e.to_string().contains("SCRAM-SHA-256"), "{e}");
        }
        other => panic!("expected Auth, got {other:?}"),
    }

    // APOP asked for but Dovecot's greeting has no timestamp: a clear error.
    match Pop3Handler::connect_with(&cfg, Pop3Options::new().login_method(LoginMethod::Apop)) {
        Err(Error::InvalidInput { reason, .. }) => assert!(reason.contains("APOP"), "{reason}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn a_thousand_messages_pipelined_and_sequential() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    let seeded: Vec<Vec<u8>> = (0..1000).map(tricky_message).collect();
    let refs: Vec<&[u8]> = seeded.iter().map(|m| m.as_slice()).collect();
    dc.seed(&user, "INBOX", &refs);
    let cfg = config(dc, &user, Security::Tls);
    let numbers: Vec<u32> = (1..=1000).collect();

    let pipelined = Pop3Handler::connect(&cfg).unwrap();
    assert!(pipelined.pipelines());
    let started = Instant::now();
    let messages = pipelined.fetch_messages(&numbers).unwrap();
    let pipelined_time = started.elapsed();
    let sizes = pipelined.list().unwrap();
    pipelined.quit().unwrap();

    assert_eq!(messages.len(), 1000);
    let mut found = HashSet::new();
    for (m, entry) in messages.iter().zip(&sizes) {
        assert_eq!(m.meta().seq, Some(entry.number));
        assert_eq!(m.raw().len() as u64, entry.size, "message {}", entry.number);
        let seq = seq_of(m.raw());
        assert_eq!(
            normalise(m.raw()),
            normalise(&seeded[seq]),
            "message {} (X-Seq {seq})",
            entry.number
        );
        found.insert(seq);
    }
    assert_eq!(found.len(), 1000);

    let sequential = Pop3Handler::connect_with(&cfg, Pop3Options::new().pipelining(false)).unwrap();
    assert!(!sequential.pipelines());
    let started = Instant::now();
    let again = sequential.fetch_messages(&numbers).unwrap();
    let sequential_time = started.elapsed();
    sequential.quit().unwrap();
    assert!(again.iter().zip(&messages).all(|(a, b)| a.raw() == b.raw()));
    let total: usize = messages.iter().map(|m| m.raw().len()).sum();
    eprintln!(
        "1,000 RETR ({:.1} MB) over POP3S: pipelined {pipelined_time:?}, sequential {sequential_time:?}",
        total as f64 / 1e6
    );
}

#[test]
fn deletions_need_quit_and_reset_undoes_them() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    let seeded: Vec<Vec<u8>> = (1..=6).map(tricky_message).collect();
    let refs: Vec<&[u8]> = seeded.iter().map(|m| m.as_slice()).collect();
    dc.seed(&user, "INBOX", &refs);
    let cfg = config(dc, &user, Security::Tls);

    // Delete 3 and drop the connection without QUIT: all still there.
    let pop = Pop3Handler::connect(&cfg).unwrap();
    pop.delete_messages(&[1, 2, 3]).unwrap();
    assert_eq!(pop.stat().unwrap().count, 3);
    drop(pop);
    let pop = Pop3Handler::connect(&cfg).unwrap();
    assert_eq!(pop.stat().unwrap().count, 6);
    // Same with an explicit disconnect.
    pop.delete_messages(&[1, 2, 3]).unwrap();
    pop.disconnect();
    assert!(pop.is_closed());

    // The scoped helper: Err → nothing deleted.
    let result: Result<(), Error> = Pop3Handler::session(&cfg, |pop| {
        pop.delete_messages(&[1, 2, 3])?;
        pop.fetch_message(42)?; // fails: no such message
        Ok(())
    });
    assert!(matches!(result, Err(Error::Server { .. })));
    assert_eq!(
        Pop3Handler::session(&cfg, |pop| pop.stat()).unwrap().count,
        6
    );

    // Reset undoes deletions, even when QUIT follows.
    let pop = Pop3Handler::connect(&cfg).unwrap();
    pop.delete_messages(&[4, 5]).unwrap();
    pop.reset().unwrap();
    pop.quit().unwrap();
    let uidl_before = Pop3Handler::session(&cfg, |pop| pop.uidl()).unwrap();
    assert_eq!(uidl_before.len(), 6);

    // Delete then quit (through the scoped helper): gone.
    Pop3Handler::session(&cfg, |pop| pop.delete_messages(&[1, 2, 3])).unwrap();
    let after = Pop3Handler::session(&cfg, |pop| pop.uidl()).unwrap();
    assert_eq!(after.len(), 3);
    let kept: Vec<&String> = after.iter().map(|e| &e.uid).collect();
    let expected: Vec<&String> = uidl_before[3..].iter().map(|e| &e.uid).collect();
    assert_eq!(kept, expected);
}

/// Counts bytes and checks the content without keeping it.
struct CountingSink {
    bytes: u64,
    lines: u64,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len() as u64;
        self.lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn twenty_megabytes_streamed_with_bounded_memory() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    let mut big = b"Subject: big\r\nX-Seq: 0\r\n\r\n".to_vec();
    let line: Vec<u8> = (0..998).map(|k| b'A' + (k % 26) as u8).collect();
    let mut lines = 0u64;
    while big.len() < 20 * 1024 * 1024 {
        if lines.is_multiple_of(100) {
            big.push(b'.'); // dot-stuffed on the wire
        }
        big.extend_from_slice(&line);
        big.extend_from_slice(b"\r\n");
        lines += 1;
    }
    dc.seed(&user, "INBOX", &[&big]);
    let cfg = config(dc, &user, Security::Tls);
    let pop = Pop3Handler::connect(&cfg).unwrap();
    let size = pop.message_size(1).unwrap();
    assert_eq!(size, big.len() as u64);
    let mut sink = CountingSink { bytes: 0, lines: 0 };
    let n = pop.fetch_to_writer(1, &mut sink).unwrap();
    assert_eq!(n, big.len() as u64);
    assert_eq!(sink.bytes, big.len() as u64);
    assert_eq!(sink.lines, lines + 3);
    let peak = pop.peak_buffered_bytes();
    eprintln!("20 MB streamed; peak bytes buffered by the library: {peak}");
    assert!(peak > 0 && peak <= 256 * 1024, "peak {peak}");
    // The same connection still works afterwards.
    assert_eq!(pop.stat().unwrap().count, 1);
    pop.quit().unwrap();
}

#[test]
fn pool_one_connection_per_account() {
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    let other = dc.add_user();
    dc.seed(
        &user,
        "INBOX",
        &[b"Subject: a\n\n1\n", b"Subject: b\n\n2\n"],
    );
    let cfg = config(dc, &user, Security::Tls);
    let other_cfg = config(dc, &other, Security::Tls);
    let pool = Pop3Pool::with_options(
        PoolOptions::new()
            .max_per_account(1)
            .get_timeout(Duration::from_millis(300)),
        Pop3Options::default(),
    )
    .unwrap();
    assert_eq!(Pop3Pool::new().unwrap().options().max_per_account, 1);

    let first = pool.get(&cfg).unwrap();
    let first_id = first.id().to_string();
    assert_eq!(first.stat().unwrap().count, 2);
    // A second acquire for the same account waits, then times out.
    let started = Instant::now();
    match pool.get(&cfg) {
        Err(Error::PoolTimeout { waited, .. }) => assert!(waited >= Duration::from_millis(300)),
        other => panic!("expected PoolTimeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(290));
    // Another account is not blocked.
    let other_conn = pool.get(&other_cfg).unwrap();
    assert_eq!(other_conn.stat().unwrap().count, 0);
    drop(other_conn);

    // A waiter gets the connection as soon as the holder releases it.
    let released = Arc::new(AtomicBool::new(false));
    let waiter = {
        let pool = pool.clone();
        let cfg = cfg.clone();
        let released = Arc::clone(&released);
        std::thread::spawn(move || {
            let conn = pool.get_timeout(&cfg, Duration::from_secs(5)).unwrap();
            assert!(released.load(Ordering::SeqCst));
            conn.id().to_string()
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    released.store(true, Ordering::SeqCst);
    drop(first); // release
    assert_eq!(
        waiter.join().unwrap(),
        first_id,
        "the idle connection is reused"
    );
    assert_eq!(pool.stats_for(&cfg).created, 1);

    // Deletions are committed by commit() (QUIT) only; discard and a plain release do
    // not (tests/pop3_unit_of_work.rs tries every path).
    {
        let conn = pool.get(&cfg).unwrap();
        conn.delete_message(1).unwrap();
        conn.discard();
    }
    assert_eq!(pool.get(&cfg).unwrap().stat().unwrap().count, 2);
    {
        let conn = pool.get(&cfg).unwrap();
        conn.delete_message(1).unwrap();
    }
    assert_eq!(pool.get(&cfg).unwrap().stat().unwrap().count, 2);
    {
        let conn = pool.get(&cfg).unwrap();
        conn.delete_message(1).unwrap();
        conn.commit().unwrap();
    }
    let conn = pool.get(&cfg).unwrap();
    assert_eq!(conn.stat().unwrap().count, 1);
    drop(conn);

    assert!(pool.open_connections() >= 1);
    pool.clear_all();
    assert_eq!(pool.open_connections(), 0);
    assert_eq!(dc.connections(&user.name), 0);
}
