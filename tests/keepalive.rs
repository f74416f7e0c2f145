//! TCP keepalive against a peer that vanishes without a FIN: an IdleListener on the real
//! Dovecot, whose packets are then dropped on loopback (nftables, else iptables), notices
//! the dead connection within the keepalive window — not at its IDLE renewal — and
//! reconnects once packets flow again; a listener with keepalive off notices nothing.
//! (That the options are set on IMAP and POP3 sockets is read back by the unit tests in
//! src/net/sockopt.rs.)
//!
//! Dropping packets needs root and `nft` or `iptables` (scripts/test installs nftables):
//! without them the test prints `SKIP:` and passes, unless `MAILWIRE_REQUIRE_SERVERS=1`,
//! where it fails.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwire::imap::{IdleEvent, IdleEvents, IdleListener, ImapConnection};
use mailwire::{Config, Keepalive, RetryPolicy};
use support::dovecot::{Dovecot, User};

/// The IDLE renewal of the listeners: far beyond anything the test waits for, so only
/// keepalive can notice the dead peer.
const RENEW: Duration = Duration::from_secs(1200);

/// How a test drops a port's packets.
#[derive(Debug, Clone, Copy)]
enum Tool {
    Nft,
    Iptables,
}

/// Drops every packet to and from a loopback port while it lives (both directions, on the
/// way in, so nothing answers and nothing is refused: a peer that vanished). Dropping it
/// removes the rules, also when the test fails.
#[derive(Debug)]
struct Blackout {
    tool: Tool,
    port: u16,
}

impl Blackout {
    /// The tool to drop packets with, or why there is none.
    fn tool() -> Result<Tool, String> {
        if !support::is_root() {
            return Err("not root (dropping packets needs CAP_NET_ADMIN)".into());
        }
        let works = |cmd: &str| {
            Command::new(program(cmd))
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if works("nft") {
            Ok(Tool::Nft)
        } else if works("iptables") {
            Ok(Tool::Iptables)
        } else {
            Err("neither nft nor iptables is installed (apt-get install -y nftables)".into())
        }
    }

    fn table(port: u16) -> String {
        format!("mailwire_keepalive_{port}")
    }

    /// The iptables rules, as arguments after `-I` / `-D`.
    fn iptables_rules(port: u16) -> [[String; 7]; 2] {
        let rule = |dir: &str| {
            ["INPUT", "-p", "tcp", dir, &port.to_string(), "-j", "DROP"].map(String::from)
        };
        [rule("--dport"), rule("--sport")]
    }

    /// Starts dropping the packets of `port`.
    fn start(tool: Tool, port: u16) -> Result<Blackout, String> {
        // From here on, dropping the guard removes whatever was installed.
        let guard = Blackout { tool, port };
        match tool {
            Tool::Nft => {
                let table = Blackout::table(port);
                // A table left by a killed run of this test goes first.
                let _ = run("nft", &["delete", "table", "inet", &table], None);
                let script = format!(
                    "table inet {table} {{\n  chain input {{\n    type filter hook input priority -10; policy accept;\n    tcp dport {port} drop\n    tcp sport {port} drop\n  }}\n}}\n"
                );
                run("nft", &["-f", "-"], Some(&script))?;
            }
            Tool::Iptables => {
                for rule in Blackout::iptables_rules(port) {
                    let mut args = vec!["-I"];
                    args.extend(rule.iter().map(String::as_str));
                    run("iptables", &args, None)?;
                }
            }
        }
        Ok(guard)
    }
}

impl Drop for Blackout {
    fn drop(&mut self) {
        match self.tool {
            Tool::Nft => {
                let table = Blackout::table(self.port);
                if let Err(e) = run("nft", &["delete", "table", "inet", &table], None) {
                    println!("could not remove nft table {table}: {e}");
                }
            }
            Tool::Iptables => {
                for rule in Blackout::iptables_rules(self.port) {
                    let mut args = vec!["-D"];
                    args.extend(rule.iter().map(String::as_str));
                    let _ = run("iptables", &args, None);
                }
            }
        }
    }
}

/// Where `name` is: /usr/sbin or /sbin (not always on a test's PATH), else on the PATH.
fn program(name: &str) -> String {
    ["/usr/sbin", "/sbin"]
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|path| std::path::Path::new(path).is_file())
        .unwrap_or_else(|| name.to_string())
}

/// Runs `cmd args`, with `input` on its stdin; its stderr as the error when it fails.
fn run(cmd: &str, args: &[&str], input: Option<&str>) -> Result<(), String> {
    let mut child = Command::new(program(cmd))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take()
        && let Some(text) = input
    {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("{cmd}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Says why the test is skipped or, with `MAILWIRE_REQUIRE_SERVERS=1`, fails.
fn skip(why: &str) {
    let why = format!("SKIP: cannot drop packets on loopback: {why}");
    assert!(
        std::env::var("MAILWIRE_REQUIRE_SERVERS").as_deref() != Ok("1"),
        "{why} (MAILWIRE_REQUIRE_SERVERS=1)"
    );
    // Straight to fd 2: the test runner captures println!.
    let _ = writeln!(std::io::stderr(), "{why}");
}

fn account(dc: &Dovecot, user: &User, keepalive: Keepalive) -> Config {
    Config::builder("127.0.0.1")
        .port(dc.imaps_port())
        .add_root_certificate_pem(dc.cert_pem().to_vec())
        .login(&user.name, &user.password)
        .timeouts(Duration::from_secs(10))
        // Reconnects during the blackout give up quickly and try again.
        .connect_timeout(Duration::from_secs(3))
        .retry(
            RetryPolicy::new(2, Duration::from_millis(300)).with_max_delay(Duration::from_secs(1)),
        )
        .keepalive(keepalive)
        .build()
        .unwrap()
}

/// Waits up to `timeout` for an event matching `pred`.
fn wait_for(
    events: &IdleEvents,
    timeout: Duration,
    pred: impl FnMut(&IdleEvent) -> bool,
) -> Option<IdleEvent> {
    let until = Instant::now() + timeout;
    std::iter::from_fn(|| events.recv_deadline(until).ok()).find(pred)
}

#[test]
fn an_idle_listener_notices_a_peer_that_vanished_within_the_keepalive_window() {
    let tool = match Blackout::tool() {
        Ok(tool) => tool,
        Err(why) => return skip(&why),
    };
    // A private Dovecot: the drop rules touch only its port.
    let Some(dc) = support::dovecot::start() else {
        return;
    };
    let user = dc.add_user();
    let quick = Keepalive::new(Duration::from_secs(2), Duration::from_secs(1), 3);
    let window = quick.detection_time().unwrap();
    let watched = IdleListener::builder(account(&dc, &user, quick))
        .renew_every(RENEW)
        .spawn()
        .unwrap();
    let unwatched = IdleListener::builder(account(&dc, &user, Keepalive::off()))
        .renew_every(RENEW)
        .spawn()
        .unwrap();
    let (watched_events, unwatched_events) = (watched.events(), unwatched.events());

    // Both are IDLE on live connections: a new message reaches both.
    let writer = ImapConnection::connect(&account(&dc, &user, Keepalive::default())).unwrap();
    writer
        .append("INBOX", b"Subject: before\r\n\r\nhello\r\n", &[], None)
        .unwrap();
    writer.logout();
    for events in [&watched_events, &unwatched_events] {
        let new = wait_for(events, Duration::from_secs(15), |e| {
            matches!(e, IdleEvent::NewMessages { .. })
        });
        assert!(new.is_some(), "the listener did not see the new message");
    }
    // The event comes before the listener is back in IDLE: let its IDLE command be sent
    // and answered, so that nothing is in flight when the packets stop (data in flight is
    // the retransmission timer's and the read deadline's, not keepalive's).
    std::thread::sleep(Duration::from_secs(1));

    let blackout = match Blackout::start(tool, dc.imaps_port()) {
        Ok(b) => b,
        Err(why) => return skip(&why),
    };
    let cut = Instant::now();
    let bound = window * 4;
    let noticed = wait_for(&watched_events, bound, |e| matches!(e, IdleEvent::Error(_)));
    let took = cut.elapsed();
    let Some(IdleEvent::Error(error)) = noticed else {
        panic!(
            "the dead peer was not noticed within {bound:?} (keepalive window {window:?}): {noticed:?}"
        );
    };
    println!("dead peer noticed after {took:?} (keepalive window {window:?}): {error}");
    assert!(took < bound, "noticed after {took:?}");
    // The kernel's keepalive ended the connection, not a deadline or the IDLE renewal.
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("keepalive"), "{error}");
    // Without keepalive the same dead connection goes unnoticed (until its renewal).
    while let Ok(event) = unwatched_events.try_recv() {
        assert!(
            !matches!(event, IdleEvent::Error(_)),
            "the listener without keepalive noticed something: {event:?}"
        );
    }

    // Packets flow again: the listener reconnects on its own.
    drop(blackout);
    let back = wait_for(&watched_events, Duration::from_secs(30), |e| {
        matches!(e, IdleEvent::Reconnected { .. })
    });
    assert!(
        back.is_some(),
        "no Reconnected after the packets flowed again"
    );
    watched.stop();
    unwatched.stop();
}
