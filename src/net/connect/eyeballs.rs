//! Happy eyeballs (RFC 8305): the addresses of a host raced against each other, families
//! interleaved, a new attempt every [`ATTEMPT_DELAY`] or as soon as the one before failed,
//! the first to connect winning, all within the connect deadline.
//!
//! Each attempt is one short-lived thread blocked in a connect bounded by the deadline. The
//! race keeps a clone of every attempt's socket: when an attempt wins (or the deadline
//! passes), the others are shut down, which aborts a connect still in progress (on Linux a
//! socket in `SYN_SENT` is reset at once), so their threads end and their sockets close
//! within a moment; where the system does not abort it, the thread still ends at the
//! deadline, and a connection that completes after losing is closed by its thread.

use std::fmt::Write as _;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// How long an attempt has before the next address is tried as well: RFC 8305 §5's
/// recommended "Connection Attempt Delay" (250 ms; its bounds are 100 ms to 2 s). A server
/// that answers within it is reached with one attempt; a dead first address (an IPv6 route
/// that drops packets) costs this much, not the whole connect deadline.
pub(crate) const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// The most attempts in flight at once (each is a thread and a socket).
pub(crate) const MAX_CONCURRENT: usize = 8;

/// The most addresses tried for one connect; a resolver may return hundreds.
pub(crate) const MAX_ADDRESSES: usize = 16;

/// What an attempt thread sends back: its address and its outcome.
type Outcome = (SocketAddr, io::Result<TcpStream>);

/// Why no address connected: every address tried with its error (those still pending when
/// the deadline passed have a `TimedOut` error).
#[derive(Debug)]
pub(crate) struct Failure {
    /// Each address tried and why it failed, in the order tried.
    pub(crate) tried: Vec<(SocketAddr, io::Error)>,
    /// Whether the deadline passed (rather than every address failing first).
    pub(crate) timed_out: bool,
}

impl Failure {
    /// "a: why; b: why": every address tried and its error.
    pub(crate) fn summary(&self) -> String {
        let mut text = String::new();
        for (i, (addr, error)) in self.tried.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            let _ = write!(text, "{sep}{addr}: {error}");
        }
        if text.is_empty() {
            text.push_str("no address was tried before the deadline");
        }
        text
    }
}

/// The order to try `addrs` in (RFC 8305 §4): duplicates dropped, the family of the first
/// address first (the resolver's preference, as RFC 6724 sorted it), then alternating
/// between the families, each family in the resolver's order; at most `max` addresses.
pub(crate) fn interleave(addrs: &[SocketAddr], max: usize) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let mut first = addrs.iter().filter(|a| a.is_ipv6() == first_v6);
    let mut second = addrs.iter().filter(|a| a.is_ipv6() != first_v6);
    let mut out: Vec<SocketAddr> = Vec::with_capacity(max.min(addrs.len()));
    let mut push = |addr: Option<&SocketAddr>| match addr {
        Some(a) if !out.contains(a) && out.len() < max => {
            out.push(*a);
            true
        }
        Some(_) => out.len() < max,
        None => false,
    };
    loop {
        let a = push(first.next());
        let b = push(second.next());
        if !(a || b) {
            break;
        }
    }
    out
}

/// Races connects to `addrs` in this order (already [`interleave`]d): one attempt now, the
/// next after [`ATTEMPT_DELAY`] or as soon as an attempt fails, at most [`MAX_CONCURRENT`]
/// at once; the first to connect wins and the others are aborted. Nothing outlives
/// `deadline` but the threads' last moment. `id` names the connection in the log.
pub(crate) fn race(
    addrs: &[SocketAddr],
    deadline: Instant,
    id: &str,
) -> Result<(TcpStream, SocketAddr), Failure> {
    race_tracked(addrs, deadline, id, &Arc::new(()))
}

/// [`race`], each attempt thread holding a clone of `alive` until it ends: its strong count
/// tells how many are still running (what the tests check).
fn race_tracked(
    addrs: &[SocketAddr],
    deadline: Instant,
    id: &str,
    alive: &Arc<()>,
) -> Result<(TcpStream, SocketAddr), Failure> {
    let (tx, rx) = unbounded();
    let mut race = Race {
        pending: Vec::new(),
        tried: Vec::new(),
        tx,
        rx,
    };
    let mut next = addrs.iter();
    let mut next_start = Instant::now();
    let mut more = true;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(race.give_up(true));
        }
        if more && now >= next_start && race.pending.len() < MAX_CONCURRENT {
            match next.next() {
                Some(addr) => {
                    log::debug!(target: "mailwire::net", "[{id}] connecting to {addr}");
                    race.start(*addr, deadline, alive);
                    next_start = now + ATTEMPT_DELAY;
                    continue;
                }
                None => more = false,
            }
        }
        if race.pending.is_empty() {
            if more {
                // The attempt just started could not even begin: go on at once.
                next_start = now;
                continue;
            }
            return Err(race.give_up(false));
        }
        let wake = if more && race.pending.len() < MAX_CONCURRENT {
            next_start.min(deadline)
        } else {
            deadline
        };
        match race.rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok((addr, Ok(stream))) => {
                log::debug!(target: "mailwire::net", "[{id}] connected to {addr}");
                race.forget(addr);
                race.abort_all();
                return Ok((stream, addr));
            }
            Ok((addr, Err(error))) => {
                log::debug!(target: "mailwire::net", "[{id}] connect to {addr} failed: {error}");
                race.forget(addr);
                race.tried.push((addr, error));
                // The attempt failed: the next one need not wait (RFC 8305 §5).
                next_start = Instant::now();
            }
            Err(RecvTimeoutError::Timeout) => {}
            // The race holds a sender itself, so the channel cannot disconnect.
            Err(RecvTimeoutError::Disconnected) => return Err(race.give_up(false)),
        }
    }
}

/// The attempts in flight and those that failed.
struct Race {
    /// Each attempt in flight: its address and a clone of its socket, to abort it.
    pending: Vec<(SocketAddr, Socket)>,
    tried: Vec<(SocketAddr, io::Error)>,
    tx: Sender<Outcome>,
    rx: Receiver<Outcome>,
}

impl Race {
    /// Starts an attempt to `addr` on its own thread, bounded by `deadline`; a socket or a
    /// thread that cannot be made counts as a failed attempt.
    fn start(&mut self, addr: SocketAddr, deadline: Instant, alive: &Arc<()>) {
        match spawn_attempt(addr, deadline, self.tx.clone(), Arc::clone(alive)) {
            Ok(abort) => self.pending.push((addr, abort)),
            Err(error) => self.tried.push((addr, error)),
        }
    }

    /// Drops the abort handle of the attempt to `addr` (it has ended).
    fn forget(&mut self, addr: SocketAddr) {
        self.pending.retain(|(a, _)| *a != addr);
    }

    /// Aborts every attempt still in flight: each thread's connect fails at once and its
    /// socket closes (or, if it connected meanwhile, its thread closes it).
    fn abort_all(&mut self) {
        for (_, socket) in self.pending.drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Ends the race without a winner: aborts what is in flight, recorded as not answering
    /// before the deadline when `timed_out`.
    fn give_up(mut self, timed_out: bool) -> Failure {
        for (addr, _) in &self.pending {
            self.tried.push((
                *addr,
                io::Error::new(io::ErrorKind::TimedOut, "no answer before the deadline"),
            ));
        }
        self.abort_all();
        Failure {
            tried: self.tried,
            timed_out,
        }
    }
}

/// Makes a socket for `addr` and connects it on a new thread within `deadline`, the outcome
/// sent on `tx` (a stream nobody receives any more is closed when dropped); the thread
/// holds `alive` until it ends. Returns a clone of the socket, whose shutdown aborts the
/// attempt.
fn spawn_attempt(
    addr: SocketAddr,
    deadline: Instant,
    tx: Sender<Outcome>,
    alive: Arc<()>,
) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    let abort = socket.try_clone()?;
    std::thread::Builder::new()
        .name("mailwire-connect".into())
        .spawn(move || {
            let _alive = alive;
            let left = deadline.saturating_duration_since(Instant::now());
            let outcome = if left.is_zero() {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connect deadline passed",
                ))
            } else {
                socket
                    .connect_timeout(&SockAddr::from(addr), left)
                    .map(|()| TcpStream::from(socket))
            };
            let _ = tx.send((addr, outcome));
        })?;
    Ok(abort)
}

#[cfg(test)]
#[path = "../../../tests/support/blackhole.rs"]
mod blackhole;

#[cfg(test)]
mod tests {
    use super::blackhole::blackhole;
    use super::*;

    /// Waits up to `bound` for every attempt thread of a race to end (the strong count of
    /// `alive` back to 1); `false` if some still run then.
    fn threads_end(alive: &Arc<()>, bound: Duration) -> bool {
        let since = Instant::now();
        while Arc::strong_count(alive) > 1 {
            if since.elapsed() > bound {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    #[test]
    fn a_losing_attempt_is_aborted_when_another_connects() {
        let Some(hole) = blackhole() else { return };
        let good = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good = good.local_addr().unwrap();
        let alive = Arc::new(());
        let deadline = Instant::now() + Duration::from_secs(20);
        let (_stream, won) = race_tracked(&[hole.addr, good], deadline, "test", &alive).unwrap();
        assert_eq!(won, good);
        // The attempt to the blackhole would hang until the deadline, 20 s away: it was
        // aborted, its thread ended and its socket closed.
        assert!(
            threads_end(&alive, Duration::from_secs(5)),
            "{} attempt threads still running 5 s after the race was won",
            Arc::strong_count(&alive) - 1
        );
    }

    #[test]
    fn a_blackholes_queue_is_full() {
        let Some(hole) = blackhole() else { return };
        // Where /proc/net/tcp is readable it must agree (SYNs to the port are dropped).
        assert_ne!(super::blackhole::queue_full(hole.addr.port()), Some(false));
        if cfg!(target_os = "linux") {
            assert_eq!(super::blackhole::queue_full(hole.addr.port()), Some(true));
        }
    }

    #[test]
    fn no_attempt_thread_outlives_the_deadline() {
        let (Some(one), Some(two)) = (blackhole(), blackhole()) else {
            return;
        };
        let alive = Arc::new(());
        let deadline = Instant::now() + Duration::from_secs(1);
        match race_tracked(&[one.addr, two.addr], deadline, "test", &alive) {
            Ok((_, addr)) => panic!("connected to the blackhole {addr}"),
            Err(f) => assert!(
                f.timed_out && f.tried.len() == 2,
                "timed out: {}, tried: {}",
                f.timed_out,
                f.summary()
            ),
        }
        assert!(
            threads_end(&alive, Duration::from_secs(3)),
            "{} attempt threads still running 3 s after the deadline",
            Arc::strong_count(&alive) - 1
        );
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().filter_map(|a| a.parse().ok()).collect()
    }

    #[test]
    fn families_alternate_starting_with_the_first_family() {
        let given = addrs(&[
            "[2001:db8::1]:993",
            "[2001:db8::2]:993",
            "[2001:db8::3]:993",
            "192.0.2.1:993",
            "192.0.2.2:993",
        ]);
        let want = addrs(&[
            "[2001:db8::1]:993",
            "192.0.2.1:993",
            "[2001:db8::2]:993",
            "192.0.2.2:993",
            "[2001:db8::3]:993",
        ]);
        assert_eq!(interleave(&given, MAX_ADDRESSES), want);
    }

    #[test]
    fn ipv4_first_when_the_resolver_put_it_first() {
        let given = addrs(&[
            "192.0.2.1:993",
            "192.0.2.2:993",
            "[2001:db8::1]:993",
            "[2001:db8::2]:993",
        ]);
        let want = addrs(&[
            "192.0.2.1:993",
            "[2001:db8::1]:993",
            "192.0.2.2:993",
            "[2001:db8::2]:993",
        ]);
        assert_eq!(interleave(&given, MAX_ADDRESSES), want);
    }

    #[test]
    fn one_family_keeps_its_order_and_duplicates_go() {
        let given = addrs(&["192.0.2.2:1", "192.0.2.1:1", "192.0.2.2:1", "192.0.2.3:1"]);
        assert_eq!(
            interleave(&given, MAX_ADDRESSES),
            addrs(&["192.0.2.2:1", "192.0.2.1:1", "192.0.2.3:1"])
        );
        assert!(interleave(&[], MAX_ADDRESSES).is_empty());
    }

    #[test]
    fn hundreds_of_addresses_are_cut_to_the_bound() {
        let given: Vec<SocketAddr> = (0..500u32)
            .map(|i| {
                if i % 3 == 0 {
                    SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16], 143))
                } else {
                    SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 143))
                }
            })
            .collect();
        let out = interleave(&given, MAX_ADDRESSES);
        assert_eq!(out.len(), MAX_ADDRESSES);
        assert!(out[0].is_ipv6() && out[1].is_ipv4() && out[2].is_ipv6());
    }

    #[test]
    fn a_refused_address_is_followed_at_once_and_the_failure_names_each() {
        // Two ports nothing listens on: each refused at once, both named.
        let closed = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .ok()
        };
        let (Some(a), Some(b)) = (closed(), closed()) else {
            return;
        };
        let started = Instant::now();
        let failure = race(&[a, b], started + Duration::from_secs(20), "test").err();
        let failure = failure.map(|f| (f.timed_out, f.summary(), f.tried.len()));
        let (timed_out, summary, tried) = failure.unwrap_or_default();
        assert!(!timed_out);
        assert_eq!(tried, 2);
        assert!(summary.contains(&a.to_string()) && summary.contains(&b.to_string()));
        // Refused at once: the second did not wait for the attempt delay of the first.
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
