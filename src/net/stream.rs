//! What a transport reads and writes: the [`Socket`] itself, or a [`Layer`] over it (TLS,
//! from `net::connect::tls`). The connect steps build it; the transport only reads, writes
//! and reaches the socket under it for deadlines and shutdown.

use std::io::{self, Read, Write};

use crate::net::socket::Socket;

/// A stream over the socket that transforms what crosses it (TLS; later, compression):
/// every read and write it makes goes through the socket, whose deadlines bound them.
pub(crate) trait Layer: Read + Write + Send {
    /// The socket under the layer.
    fn socket(&self) -> &Socket;
    /// The socket under the layer, to set its deadlines.
    fn socket_mut(&mut self) -> &mut Socket;
}

/// A connected stream, plain or TLS, over a [`Socket`] whose deadlines bound every read
/// and write (also those the TLS layer makes on its own).
pub(crate) enum Stream {
    Plain(Socket),
    Tls(Box<dyn Layer>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Plain(_) => f.write_str("Stream::Plain"),
            Stream::Tls(_) => f.write_str("Stream::Tls"),
        }
    }
}

impl Stream {
    pub(crate) fn socket(&self) -> &Socket {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.socket(),
        }
    }

    pub(crate) fn socket_mut(&mut self) -> &mut Socket {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.socket_mut(),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    pub(crate) fn shutdown(&self) {
        self.socket().shutdown();
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}
