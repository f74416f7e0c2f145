//! The one place TCP socket options are set (through `socket2`, without `unsafe`): no Nagle
//! and the configured keepalive on every connected socket, and the `TCP_QUICKACK` that
//! `net::quickack` re-arms.

use std::net::TcpStream;

use socket2::{SockRef, TcpKeepalive};

use crate::config::{Config, Keepalive};

/// Sets the options every TCP connection gets, right after it connected: `TCP_NODELAY`
/// (commands are small and answered one by one) and the config's [`Keepalive`]. A refused
/// option is logged and the connection goes on without it.
pub(crate) fn apply(tcp: &TcpStream, config: &Config, id: &str) {
    let socket = SockRef::from(tcp);
    if let Err(e) = socket.set_tcp_nodelay(true) {
        log::debug!(target: "mailwire::net", "[{id}] could not turn Nagle's algorithm off: {e}");
    }
    let keepalive = config.keepalive();
    let result = match params(keepalive) {
        Some(params) => socket.set_tcp_keepalive(&params),
        None => socket.set_keepalive(false),
    };
    match result {
        Ok(()) => {
            log::trace!(target: "mailwire::net", "[{id}] TCP keepalive {keepalive:?}");
        }
        Err(e) => {
            log::warn!(target: "mailwire::net", "[{id}] could not set TCP keepalive ({keepalive:?}): {e}; a silently dead connection is noticed only by the read deadlines");
        }
    }
}

/// Sets `TCP_QUICKACK` on Linux and Android (elsewhere there is no such option and nothing
/// is done): an acknowledgement the kernel holds back is sent now. Returns whether a system
/// call was made; a refused option is logged and changes nothing else.
pub(crate) fn quickack(tcp: &TcpStream, id: &str) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Err(e) = SockRef::from(tcp).set_tcp_quickack(true) {
            log::debug!(target: "mailwire::net", "[{id}] could not set TCP_QUICKACK: {e}");
        }
        true
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (tcp, id);
        false
    }
}

/// What the socket is told for `keepalive` (`None`: off).
fn params(keepalive: Keepalive) -> Option<TcpKeepalive> {
    let idle = keepalive.idle()?;
    let params = TcpKeepalive::new().with_time(idle);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "windows",
    ))]
    let params = match (keepalive.interval(), keepalive.probes()) {
        (Some(interval), Some(probes)) => params.with_interval(interval).with_retries(probes),
        _ => params,
    };
    Some(params)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Duration;

    use socket2::SockRef;

    use crate::config::{Config, Keepalive, Protocol, Security};
    use crate::net::connect::open;

    /// Connects through the crate's connect chain to a loopback listener with `protocol`
    /// and returns the options read back from the socket: (keepalive, idle, interval,
    /// probes, nodelay).
    fn read_back(
        protocol: Protocol,
        keepalive: Keepalive,
    ) -> (bool, Duration, Duration, u32, bool) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Config::builder("127.0.0.1")
            .security(Security::Plain)
            .port(port)
            .pop3_port(port)
            .keepalive(keepalive)
            .build()
            .unwrap();
        let transport = open(&config, protocol, "test#1").unwrap();
        let tcp = transport.socket().tcp_stream().expect("a TCP socket");
        let socket = SockRef::from(tcp);
        (
            socket.keepalive().unwrap(),
            socket.tcp_keepalive_time().unwrap(),
            socket.tcp_keepalive_interval().unwrap(),
            socket.tcp_keepalive_retries().unwrap(),
            socket.tcp_nodelay().unwrap(),
        )
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn keepalive_and_nodelay_are_set_on_every_imap_and_pop3_socket() {
        let secs = Duration::from_secs;
        for protocol in [Protocol::Imap, Protocol::Pop3] {
            assert_eq!(
                read_back(protocol, Keepalive::default()),
                (true, secs(60), secs(15), 4, true),
                "{protocol} with the default keepalive"
            );
            let quick = Keepalive::new(secs(2), secs(1), 3);
            assert_eq!(
                read_back(protocol, quick),
                (true, secs(2), secs(1), 3, true),
                "{protocol} with a chosen keepalive"
            );
            let (on, .., nodelay) = read_back(protocol, Keepalive::off());
            assert!(!on && nodelay, "{protocol} with keepalive off");
        }
    }

    #[test]
    fn the_detection_time_is_idle_plus_interval_times_probes() {
        let secs = Duration::from_secs;
        assert_eq!(Keepalive::default().detection_time(), Some(secs(120)));
        assert_eq!(
            Keepalive::new(secs(2), secs(1), 3).detection_time(),
            Some(secs(5))
        );
        assert_eq!(Keepalive::off().detection_time(), None);
        assert_eq!(
            Config::builder("h").build().unwrap().keepalive(),
            Keepalive::default()
        );
    }

    #[test]
    fn out_of_range_keepalive_settings_are_refused() {
        let secs = Duration::from_secs;
        for bad in [
            Keepalive::new(Duration::from_millis(500), secs(1), 3),
            Keepalive::new(secs(1), secs(0), 3),
            Keepalive::new(secs(40_000), secs(1), 3),
            Keepalive::new(secs(1), secs(1), 0),
            Keepalive::new(secs(1), secs(1), 128),
        ] {
            let built = Config::builder("h").keepalive(bad).build();
            assert!(
                matches!(built, Err(crate::Error::InvalidInput { .. })),
                "{bad:?}: {built:?}"
            );
        }
        assert!(
            Config::builder("h")
                .keepalive(Keepalive::off())
                .build()
                .is_ok()
        );
    }
}
