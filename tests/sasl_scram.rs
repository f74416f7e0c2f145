//! SCRAM-SHA-1, SCRAM-SHA-256 and CRAM-MD5 logins: real ones against the test Dovecot
//! (IMAP and POP3, each mechanism chosen explicitly, and the automatic choice picking
//! SCRAM-SHA-256 over PLAIN), and fake servers that cannot prove they know the password
//! (a wrong signature, none, `e=`, an OK without the final message): each refused with
//! `Error::Auth`, even when the server then says OK. In every case the password and the
//! client proof never show up in the log (the wire trace included).
//! Own test binary: it installs a global logger.

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use mailwire::imap::ImapConnection;
use mailwire::pop3::Pop3Handler;
use mailwire::sasl::Mechanism;
use mailwire::{Config, Error, RetryPolicy, Security};
use support::base64;
use support::dovecot::{self, Dovecot, User};

const PASSWORD: &str = "Scr4m-pw-s3cret";

fn decode(s: &str) -> String {
    let engine = |c: u8| {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            .iter()
            .position(|&a| a == c)
    };
    let (mut bits, mut n, mut out) = (0u32, 0, Vec::new());
    for c in s.trim().trim_end_matches('=').bytes() {
        bits = (bits << 6) | engine(c).unwrap_or(0) as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Asserts that nothing logged holds the password (in clear or base64) or any of `proofs`.
fn assert_clean_log(what: &str, password: &str, proofs: &[String]) {
    let all = capture::lines().join("\n");
    assert!(!all.is_empty(), "{what}: nothing logged");
    let mut forbidden = vec![password.to_string(), base64(password.as_bytes())];
    forbidden.extend(proofs.iter().cloned());
    for secret in forbidden {
        assert!(
            !all.contains(&secret),
            "{what}: {secret:?} was logged:\n{all}"
        );
    }
}

fn imap_config(dc: &Dovecot, user: &User, mechanism: Option<Mechanism>) -> Config {
    let mut b = Config::builder(dc.host())
        .port(dc.imaps_port())
        .login(&user.name, &user.password)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none());
    if let Some(m) = mechanism {
        b = b.auth_mechanism(m);
    }
    b.build().unwrap()
}

fn pop3_config(dc: &Dovecot, user: &User, mechanism: Option<Mechanism>) -> Config {
    let mut b = Config::builder(dc.host())
        .pop3_port(dc.pop3s_port())
        .login(&user.name, &user.password)
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .timeouts(Duration::from_secs(10))
        .retry(RetryPolicy::none());
    if let Some(m) = mechanism {
        b = b.auth_mechanism(m);
    }
    b.build().unwrap()
}

/// The IMAP mechanism the last login used, from the session's debug line.
fn imap_logged_in_with(user: &str) -> String {
    capture::lines()
        .iter()
        .rev()
        .find_map(|l| {
            l.split_once(&format!("logged in as {user} ("))
                .map(|(_, rest)| rest.trim_end_matches(')').to_string())
        })
        .unwrap_or_default()
}

#[test]
fn real_logins_with_scram_and_cram_md5() {
    capture::install();
    let Some(dc) = dovecot::shared() else { return };
    let user = dc.add_user();
    dc.seed(&user, "INBOX", &[b"Subject: one\n\nbody\n"]);
    for m in [
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::CramMd5,
    ] {
        let conn = ImapConnection::connect(&imap_config(dc, &user, Some(m)))
            .unwrap_or_else(|e| panic!("IMAP {m}: {e}"));
        assert_eq!(imap_logged_in_with(&user.name), format!("AUTHENTICATE {m}"));
        assert_eq!(conn.select("INBOX").unwrap().exists, 1, "IMAP {m}");
        conn.logout();

        let pop = Pop3Handler::connect(&pop3_config(dc, &user, Some(m)))
            .unwrap_or_else(|e| panic!("POP3 {m}: {e}"));
        assert_eq!(pop.logged_in_with(), Some(m.name()));
        assert_eq!(pop.stat().unwrap().count, 1, "POP3 {m}");
        pop.quit().unwrap();
    }
    // The automatic choice: Dovecot offers PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 and both
    // SCRAMs over TLS; SCRAM-SHA-256 is the one used.
    let conn = ImapConnection::connect(&imap_config(dc, &user, None)).unwrap();
    assert_eq!(
        imap_logged_in_with(&user.name),
        "AUTHENTICATE SCRAM-SHA-256"
    );
    conn.logout();
    let pop = Pop3Handler::connect(&pop3_config(dc, &user, None)).unwrap();
    assert_eq!(pop.logged_in_with(), Some("SCRAM-SHA-256"));
    pop.quit().unwrap();
    assert_clean_log("real logins", &user.password, &[]);

    // A wrong password through SCRAM is the server's refusal: Error::Auth, not transient.
    let mut wrong = user.clone();
    wrong.password = "not the password".into();
    match ImapConnection::connect(&imap_config(dc, &wrong, Some(Mechanism::ScramSha256))) {
        Err(e @ Error::Auth { .. }) => assert!(!e.is_transient(), "{e}"),
        other => panic!("expected Auth, got {other:?}"),
    }
}

/// How a fake server ends the SCRAM exchange after the client-final message.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// `v=` with a signature that is not the right one.
    WrongSignature,
    /// `e=invalid-proof` as the final message.
    ErrorFinal,
    /// A final message without `v=`.
    NoSignature,
    /// OK at once, no final message.
    OkWithoutFinal,
}

/// A fake IMAP (or POP3) server for one SCRAM-SHA-256 login: answers the client-first with
/// a server-first that extends the client's nonce, then ends as `ending` says, and says OK
/// to whatever the client answers. Returns the port and a handle yielding the lines it got.
fn fake_scram_server(
    pop3: bool,
    sasl_ir: bool,
    ending: Ending,
) -> (u16, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        serve(stream, pop3, sasl_ir, ending)
    });
    (port, handle)
}

fn serve(stream: TcpStream, pop3: bool, sasl_ir: bool, ending: Ending) -> Vec<String> {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut got = Vec::new();
    let mut read = |got: &mut Vec<String>| {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap_or(0);
        got.push(line.trim_end().to_string());
        line.trim_end().to_string()
    };
    let mut send = |s: &str| {
        let _ = out.write_all(format!("{s}\r\n").as_bytes());
    };
    let ok = if pop3 { "+OK in" } else { "A1 OK in" };
    if pop3 {
        send("+OK ready");
        read(&mut got); // CAPA
        send("+OK\r\nSASL SCRAM-SHA-256 PLAIN\r\n.");
    } else {
        let ir = if sasl_ir { "SASL-IR " } else { "" };
        send(&format!(
            "* OK [CAPABILITY IMAP4rev1 {ir}AUTH=SCRAM-SHA-256 AUTH=PLAIN] ready"
        ));
    }
    // `AUTHENTICATE SCRAM-SHA-256 <client-first>` / `AUTH SCRAM-SHA-256 <client-first>`,
    // or without SASL-IR the command, an empty challenge, then the client-first.
    let mut first = read(&mut got);
    if !sasl_ir {
        send("+ ");
        first = read(&mut got);
    }
    let client_first = decode(first.rsplit(' ').next().unwrap_or(""));
    let nonce = client_first.rsplit("r=").next().unwrap_or("").to_string();
    send(&format!(
        "+ {}",
        base64(format!("r={nonce}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").as_bytes())
    ));
    read(&mut got); // client-final
    match ending {
        Ending::WrongSignature => send(&format!(
            "+ {}",
            base64(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        )),
        Ending::ErrorFinal => send(&format!("+ {}", base64(b"e=invalid-proof"))),
        Ending::NoSignature => send(&format!("+ {}", base64(b"x=1"))),
        Ending::OkWithoutFinal => {}
    }
    if !matches!(ending, Ending::OkWithoutFinal) {
        read(&mut got); // the client's answer (`*`)
    }
    // A hostile server says OK whatever the client answered.
    send(ok);
    for _ in 0..3 {
        if read(&mut got).is_empty() {
            break;
        }
        send(if pop3 {
            "+OK bye"
        } else {
            "* BYE bye\r\nA2 OK done"
        });
    }
    got
}

/// The client proof among the lines a fake server got: the `p=` value of the client-final
/// message, and that message as sent (base64).
fn proofs(got: &[String]) -> Vec<String> {
    got.iter()
        .filter_map(|l| {
            let word = l.rsplit(' ').next().unwrap_or(l);
            decode(word)
                .split_once(",p=")
                .map(|(_, p)| [p.to_string(), word.to_string()])
        })
        .flatten()
        .collect()
}

#[test]
fn a_server_that_cannot_prove_it_knows_the_password_is_refused() {
    capture::install();
    let endings = [
        Ending::WrongSignature,
        Ending::ErrorFinal,
        Ending::NoSignature,
        Ending::OkWithoutFinal,
    ];
    let cases = endings
        .iter()
        .flat_map(|&e| [(false, true, e), (true, true, e)])
        // IMAP without SASL-IR: the client-first answers an empty challenge.
        .chain([(false, false, Ending::WrongSignature)]);
    {
        for (pop3, sasl_ir, ending) in cases {
            let what = format!(
                "{} {ending:?}{}",
                if pop3 { "POP3" } else { "IMAP" },
                if sasl_ir { "" } else { " without SASL-IR" }
            );
            let (port, server) = fake_scram_server(pop3, sasl_ir, ending);
            let config = Config::builder("127.0.0.1")
                .port(port)
                .pop3_port(port)
                .security(Security::Plain)
                .login("user", PASSWORD)
                .timeouts(Duration::from_secs(5))
                .retry(RetryPolicy::none())
                .build()
                .unwrap();
            let result = if pop3 {
                Pop3Handler::connect(&config).map(|_| ())
            } else {
                ImapConnection::connect(&config).map(|_| ())
            };
            match result {
                Err(e @ Error::Auth { .. }) => {
                    let text = e.to_string();
                    assert!(
                        text.contains("could not prove it knows the password"),
                        "{what}: {text}"
                    );
                    assert!(text.contains("SCRAM-SHA-256"), "{what}: {text}");
                    assert!(!e.is_transient(), "{what}");
                }
                other => panic!("{what}: expected Error::Auth, got {other:?}"),
            }
            let got = server.join().unwrap();
            let proofs = proofs(&got);
            assert_eq!(
                proofs.len(),
                2,
                "{what}: the client-final was sent: {got:?}"
            );
            // The password itself never crossed the wire.
            assert!(
                !got.iter()
                    .any(|l| l.contains(PASSWORD) || decode(l).contains(PASSWORD)),
                "{what}: {got:?}"
            );
            assert_clean_log(&what, PASSWORD, &proofs);
        }
    }
}
