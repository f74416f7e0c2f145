//! Time to connect (issue 17): `ImapConnection::connect` to a host whose first address is
//! blackholed (a loopback listener with a full backlog drops SYNs, as a dead IPv6 route
//! does) and whose second is good, against a connect to the good address alone. Happy
//! eyeballs should cost that host about its 250 ms attempt delay, never the connect timeout.
//!
//! Run through `scripts/bench` (or `cargo bench --bench connect [-- --quick]`).
//! Without `--bench` on the command line (as under `cargo test --benches`) it does nothing.
//! The server is a scripted IMAP responder on loopback (a PREAUTH greeting, `OK` to every
//! command), so only the connect path is measured. Nothing is asserted.

#[path = "../tests/support/blackhole.rs"]
mod blackhole;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use mailwire::imap::ImapConnection;
use mailwire::{Config, RetryPolicy, Security};

/// The host name the configs resolve with `ConfigBuilder::resolve`.
const HOST: &str = "connect-bench.invalid";
/// The connect timeout: what a connect that waited for the dead address would pay.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// RFC 8305's attempt delay, as mailwire uses it.
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Answers one IMAP client: a PREAUTH greeting, `OK` to every command, `BYE` to `LOGOUT`.
fn respond(stream: TcpStream) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    out.write_all(b"* PREAUTH [CAPABILITY IMAP4rev1] connect bench ready\r\n")?;
    for line in BufReader::new(stream).lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let (Some(tag), command) = (words.next(), words.next().unwrap_or("")) else {
            continue;
        };
        let reply = match command.to_ascii_uppercase().as_str() {
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n"),
            "LOGOUT" => format!("* BYE bye\r\n{tag} OK done\r\n"),
            _ => format!("{tag} OK done\r\n"),
        };
        out.write_all(reply.as_bytes())?;
        if command.eq_ignore_ascii_case("LOGOUT") {
            break;
        }
    }
    Ok(())
}

/// Starts the responder on 127.0.0.1; its address.
fn server() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || respond(stream));
        }
    });
    Ok(addr)
}

fn config(addrs: &[SocketAddr]) -> Config {
    Config::builder(HOST)
        .resolve(HOST, addrs.iter().copied())
        .security(Security::Plain)
        .login("bench", "bench")
        .timeouts(CONNECT_TIMEOUT)
        .retry(RetryPolicy::none())
        .build()
        .expect("a valid config")
}

/// Seconds one connect (TCP, greeting) to `config` took; the connection is then closed.
fn connect_once(config: &Config) -> f64 {
    let started = Instant::now();
    let conn = ImapConnection::connect(config).expect("connect");
    let took = started.elapsed().as_secs_f64();
    conn.logout();
    took
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("connect: not run (use scripts/bench or cargo bench --bench connect)");
        return;
    }
    let rounds = if args.iter().any(|a| a == "--quick") {
        5
    } else {
        20
    };
    let good = server().expect("a loopback listener");
    let Some(hole) = blackhole::blackhole() else {
        println!("connect: no loopback blackhole on this system; nothing measured");
        return;
    };
    let plain = config(&[good]);
    let holed = config(&[hole.addr, good]);
    let (mut one, mut two) = (Vec::new(), Vec::new());
    // Each round runs both, in turn, so that the machine's load falls on both alike.
    for _ in 0..rounds {
        one.push(connect_once(&plain));
        two.push(connect_once(&holed));
    }
    let (one, two) = (median(one), median(two));
    let paid = two - one;
    let delay = ATTEMPT_DELAY.as_secs_f64();
    let timeout = CONNECT_TIMEOUT.as_secs_f64();
    println!("\n(connect) ImapConnection::connect (TCP + greeting), median of {rounds} rounds");
    println!("  one good address                  {:>9.2} ms", one * 1e3);
    println!("  blackholed first, good second     {:>9.2} ms", two * 1e3);
    println!(
        "  paid for the dead address         {:>9.2} ms   (attempt delay {:.0} ms, connect timeout {:.0} s)",
        paid * 1e3,
        delay * 1e3,
        timeout
    );
    println!(
        "connect_ratios: dead_address/attempt_delay={:.2} blackholed/connect_timeout={:.4}",
        paid / delay,
        two / timeout
    );
}
