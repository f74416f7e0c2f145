//! A TCP relay to a local port with a gate: while the gate is held, new connections wait
//! (accepted, nothing relayed, so a client waits for its greeting) until it is released.
//! The IDLE catch-up tests hold a listener's reconnect with it while they change the
//! mailbox. Uses only `std`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// A TCP relay to a local port whose gate, while held, keeps new connections waiting
/// (accepted, nothing relayed, so the client waits for the greeting) until it is
/// released: the listener's reconnect waits, deterministically, for the test's changes.
pub struct GatedRelay {
    /// Where clients connect.
    pub port: u16,
    gate: Arc<(Mutex<bool>, Condvar)>,
    waiting: Arc<AtomicUsize>,
}

impl GatedRelay {
    /// Starts a relay to 127.0.0.1:`upstream`, its gate open.
    pub fn start(upstream: u16) -> GatedRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let gate = Arc::new((Mutex::new(true), Condvar::new()));
        let waiting = Arc::new(AtomicUsize::new(0));
        let (g, w) = (Arc::clone(&gate), Arc::clone(&waiting));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (g, w) = (Arc::clone(&g), Arc::clone(&w));
                std::thread::spawn(move || {
                    let (open, wake) = &*g;
                    let mut is_open = open.lock().unwrap();
                    if !*is_open {
                        w.fetch_add(1, Ordering::SeqCst);
                    }
                    while !*is_open {
                        is_open = wake.wait(is_open).unwrap();
                    }
                    drop(is_open);
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) {
                        relay(client, server);
                    }
                });
            }
        });
        GatedRelay {
            port,
            gate,
            waiting,
        }
    }

    /// Opens (`true`) or holds (`false`) the gate.
    pub fn set(&self, open: bool) {
        *self.gate.0.lock().unwrap() = open;
        self.gate.1.notify_all();
    }

    /// Connections held at the gate so far.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, server: TcpStream) {
    let copy = |mut from: TcpStream, mut to: TcpStream| {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    };
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || copy(c2, s2));
    copy(server, client);
}
