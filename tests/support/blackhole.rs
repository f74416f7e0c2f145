//! A blackhole on 127.0.0.1: an address whose connects hang, as one to a dead route does.
//!
//! It is a listener whose accept queue is full and never drained: Linux then drops new
//! SYNs. Uses `socket2` (a dependency of the crate), so it is not part of `mod.rs`;
//! included with `#[path]` by tests/net_connect.rs, the happy-eyeballs unit tests and
//! benches/connect.rs. Where such a listener cannot be made (another OS,
//! `tcp_abort_on_overflow`), [`blackhole`] prints `SKIP:` and returns `None`, unless
//! `MAILWIRE_REQUIRE_SERVERS=1`, where it panics.
#![allow(dead_code)]

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// A listener whose SYNs are dropped, and the connections that fill its queue.
#[derive(Debug)]
pub struct Blackhole {
    /// Where connects hang.
    pub addr: SocketAddr,
    _listener: Socket,
    _fill: Vec<TcpStream>,
}

/// Makes a blackhole on 127.0.0.1, or says why it cannot (then `None`, or with
/// `MAILWIRE_REQUIRE_SERVERS=1` a panic).
pub fn blackhole() -> Option<Blackhole> {
    let made = (|| -> std::io::Result<Option<Blackhole>> {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        listener.listen(0)?;
        let addr = listener
            .local_addr()?
            .as_socket()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut fill = Vec::new();
        // A connect that times out means a full queue, unless the machine is so loaded
        // that loopback's handshake itself took longer: where /proc/net/tcp tells the
        // queue's length, a timeout counts only once the queue is really full, and the
        // next probe waits longer.
        let mut wait = Duration::from_millis(300);
        for _ in 0..16 {
            match TcpStream::connect_timeout(&addr, wait) {
                Ok(stream) => fill.push(stream),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    if queue_full(addr.port()) == Some(false) {
                        wait = (wait * 2).min(Duration::from_secs(5));
                        continue;
                    }
                    return Ok(Some(Blackhole {
                        addr,
                        _listener: listener,
                        _fill: fill,
                    }));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    })();
    match made {
        Ok(Some(hole)) => Some(hole),
        other => {
            let why = format!("SKIP: no loopback blackhole on this system ({other:?})");
            assert!(
                std::env::var("MAILWIRE_REQUIRE_SERVERS").as_deref() != Ok("1"),
                "{why} (MAILWIRE_REQUIRE_SERVERS=1)"
            );
            // Straight to fd 2: the test runner captures println!.
            let _ = writeln!(std::io::stderr(), "{why}");
            None
        }
    }
}

/// Whether the accept queue of the listener on 127.0.0.1:`port` is full, from
/// /proc/net/tcp (for a listening socket its `tx_queue:rx_queue` field holds the queue's
/// limit and length; Linux drops SYNs once the length exceeds the limit). `None` where
/// that file is not there or does not list the listener.
pub fn queue_full(port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&local.as_str()) || fields.get(3) != Some(&"0A") {
            return None;
        }
        let (limit, length) = fields.get(4)?.split_once(':')?;
        let limit = u64::from_str_radix(limit, 16).ok()?;
        let length = u64::from_str_radix(length, 16).ok()?;
        Some(length > limit)
    })
}
