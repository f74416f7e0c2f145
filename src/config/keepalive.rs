//! [`Keepalive`]: the TCP keepalive settings every connection's socket gets, and their checks.

use std::time::Duration;

use crate::error::{Error, Result};

/// The longest idle time or probe interval the kernel takes (Linux: 32,767 s).
const MAX_SECONDS: u64 = 32_767;
/// The most probes the kernel takes (Linux: 127).
const MAX_PROBES: u32 = 127;

/// TCP keepalive: how a connection that silently died (a NAT table or a firewall dropped
/// it, the server's host vanished without a FIN) is noticed while nothing is being sent,
/// as during IDLE or in a pool's idle list.
///
/// After `idle` without any packet from the server, the operating system sends a probe,
/// then another every `interval`; when `probes` probes in a row go unanswered it ends the
/// connection, and the read waiting on it (an [`IdleListener`](crate::imap::IdleListener)'s,
/// a call's) fails at once with a transient [`Error::Closed`]. A dead peer is therefore
/// noticed within [`detection_time`](Self::detection_time) = `idle + interval × probes`:
/// with the default 60 s / 15 s / 4 probes, within 2 minutes (instead of at the next IDLE
/// renewal, up to 25 minutes later). A live but quiet server costs one small packet each
/// way per `idle`.
///
/// On by default; set with [`ConfigBuilder::keepalive`](crate::ConfigBuilder::keepalive).
/// Times are whole seconds (fractions are dropped); the interval and the probe count are
/// applied on Linux, Android, macOS, iOS, FreeBSD, NetBSD and Windows (elsewhere only the
/// idle time, with the system's interval and count).
///
/// Keepalive watches a connection with nothing in flight. While a command waits for its
/// answer, the read deadlines bound the wait ([`Config::read_timeout`](crate::Config::read_timeout)).
///
/// ```
/// use std::time::Duration;
/// use mailwire::{Config, Keepalive};
///
/// let quick = Keepalive::new(Duration::from_secs(20), Duration::from_secs(5), 3);
/// assert_eq!(quick.detection_time(), Some(Duration::from_secs(35)));
/// let config = Config::builder("imap.example.com").keepalive(quick).build()?;
/// assert_eq!(config.keepalive(), quick);
/// assert_eq!(Keepalive::default().detection_time(), Some(Duration::from_secs(120)));
/// assert_eq!(Keepalive::off().detection_time(), None);
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Keepalive {
    /// `None`: keepalive off.
    on: Option<Probing>,
}

/// The three numbers of a keepalive that is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Probing {
    idle: Duration,
    interval: Duration,
    probes: u32,
}

impl Default for Keepalive {
    /// On: 60 s idle, then a probe every 15 s, 4 probes (a dead peer is noticed within 2
    /// minutes).
    fn default() -> Self {
        Keepalive::new(Duration::from_secs(60), Duration::from_secs(15), 4)
    }
}

impl Keepalive {
    /// Keepalive on: the first probe after `idle` without a packet from the server, then
    /// one every `interval`, the connection ended after `probes` unanswered probes. Idle
    /// time and interval must be from 1 s to 32,767 s, probes from 1 to 127
    /// ([`ConfigBuilder::build`](crate::ConfigBuilder::build) checks).
    pub fn new(idle: Duration, interval: Duration, probes: u32) -> Keepalive {
        Keepalive {
            on: Some(Probing {
                idle,
                interval,
                probes,
            }),
        }
    }

    /// No keepalive: a silently dead connection is noticed only by a deadline (an
    /// IdleListener's at its next IDLE renewal).
    pub fn off() -> Keepalive {
        Keepalive { on: None }
    }

    /// Whether keepalive is on.
    pub fn is_on(&self) -> bool {
        self.on.is_some()
    }

    /// The silence before the first probe (`None` when off).
    pub fn idle(&self) -> Option<Duration> {
        self.on.map(|p| p.idle)
    }

    /// The time between probes (`None` when off).
    pub fn interval(&self) -> Option<Duration> {
        self.on.map(|p| p.interval)
    }

    /// How many unanswered probes end the connection (`None` when off).
    pub fn probes(&self) -> Option<u32> {
        self.on.map(|p| p.probes)
    }

    /// The longest a dead peer goes unnoticed on a quiet connection:
    /// `idle + interval × probes` (`None` when off).
    pub fn detection_time(&self) -> Option<Duration> {
        self.on
            .map(|p| p.idle.saturating_add(p.interval.saturating_mul(p.probes)))
    }

    /// Refuses times or counts the kernel does not take.
    pub(super) fn validate(&self) -> Result<()> {
        let Some(p) = self.on else { return Ok(()) };
        for (what, value) in [
            ("keepalive idle time", p.idle),
            ("keepalive interval", p.interval),
        ] {
            if value.as_secs() < 1 || value.as_secs() > MAX_SECONDS {
                return Err(Error::invalid(
                    what,
                    format!("must be from 1 s to {MAX_SECONDS} s, got {value:?}"),
                ));
            }
        }
        if p.probes < 1 || p.probes > MAX_PROBES {
            return Err(Error::invalid(
                "keepalive probes",
                format!("must be from 1 to {MAX_PROBES}, got {}", p.probes),
            ));
        }
        Ok(())
    }
}
