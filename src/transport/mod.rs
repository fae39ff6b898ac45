//! The byte-stream transports under ZMTP: binding listeners, resolving and starting
//! non-blocking connects, and the [`Stream`] / [`Listener`] types the I/O loop drives through
//! mio. `tcp.rs` and `ipc.rs` hold the per-transport details.
//!
//! What this module must keep true:
//! - [`bind`] and [`resolve`] do all blocking work (name resolution, stale-socket probing) in
//!   the caller's thread; [`connect`], [`Listener::accept`] and [`Stream`] I/O never block;
//! - every stream handed out is non-blocking, close-on-exec, and has `TCP_NODELAY` on tcp;
//! - a [`Listener`] removes the ipc socket file it created when dropped, and only that file;
//! - a connection holds one descriptor: a [`WriteHandle`] shares the [`Stream`]'s, never
//!   keeps it open, and holds it open for each write it makes, so the descriptor closes
//!   when the `Stream` is dropped (or when a write under way ends) and is never written
//!   after it closed;
//! - bad input yields an error, never a panic.

mod ipc;
mod tcp;

use crate::endpoint::Endpoint;
use crate::{Error, Result};
use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Weak};

pub(crate) use ipc::IpcTarget;
pub(crate) use tcp::{lookup_name, TcpTarget};

/// A connected (or connecting) byte stream to a peer.
///
/// The socket lives in an `Arc`, and this `Stream` holds the only strong reference that
/// outlives a call: the descriptor is closed when the `Stream` is dropped. A
/// [`WriteHandle`] (the direct path's) holds a `Weak` reference and upgrades it only for the
/// length of one write, so a write can never reach a closed descriptor, let alone a reused
/// one: it either holds the socket open for that write, or finds it gone.
#[derive(Debug)]
pub(crate) enum Stream {
    /// A tcp connection.
    Tcp(Sole<mio::net::TcpStream>),
    /// A Unix-domain (ipc) connection.
    Unix(Sole<mio::net::UnixStream>),
}

/// A [`Stream`]'s socket: shared, so that a [`WriteHandle`] can use the same descriptor,
/// but not cloneable, and its `Arc` is private to this module, so no code can take a second
/// lasting strong reference and keep a connection open after its `Stream` is dropped.
#[derive(Debug)]
pub(crate) struct Sole<T>(Arc<T>);

impl<T> std::ops::Deref for Sole<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl Stream {
    /// For a non-blocking connect in progress: `Ok(true)` once connected, `Ok(false)` while
    /// still pending, `Err` if the connect failed (for example `ConnectionRefused`).
    ///
    /// Call it when the stream becomes writable (or on any event) after [`connect`].
    pub fn finish_connect(&self) -> io::Result<bool> {
        let (err, peer) = match self {
            Stream::Tcp(s) => (s.take_error()?, s.peer_addr().map(drop)),
            Stream::Unix(s) => (s.take_error()?, s.peer_addr().map(drop)),
        };
        if let Some(e) = err {
            return Err(e);
        }
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The peer's IP address (tcp only): what ZAP and the `Peer-Address` property carry.
    pub fn peer_ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|a| a.ip()),
            Stream::Unix(_) => None,
        }
    }

    /// A short description of the other end for logs: `127.0.0.1:5555` for tcp, the socket
    /// path (or `@name`) for ipc.
    pub fn peer_description(&self) -> String {
        match self {
            Stream::Tcp(s) => match s.peer_addr() {
                Ok(a) => a.to_string(),
                Err(_) => "unconnected tcp socket".to_owned(),
            },
            Stream::Unix(s) => ipc::stream_description(s),
        }
    }
}

/// A second, non-owning handle on a connected stream's socket, for writing from another
/// thread (the direct path). It shares the `Stream`'s one descriptor (and so its
/// non-blocking mode) without keeping it open: a connection costs one descriptor, as in
/// libzmq, and it closes when the `Stream` is dropped, whatever became of this handle.
#[derive(Debug)]
pub(crate) enum WriteHandle {
    Tcp(Weak<mio::net::TcpStream>),
    Unix(Weak<mio::net::UnixStream>),
}

impl WriteHandle {
    /// Writes as much of `bufs` as the kernel takes now; `NotConnected` once the `Stream` is
    /// gone. The socket is held open (a strong reference) for the length of the write only,
    /// so if the `Stream` is dropped meanwhile, the descriptor closes when the write returns.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHandle::Tcp(s) => match s.upgrade() {
                Some(s) => (&*s).write_vectored(bufs),
                None => Err(io::ErrorKind::NotConnected.into()),
            },
            WriteHandle::Unix(s) => match s.upgrade() {
                Some(s) => (&*s).write_vectored(bufs),
                None => Err(io::ErrorKind::NotConnected.into()),
            },
        }
    }
}

impl Stream {
    /// A tcp stream.
    pub(crate) fn tcp(s: mio::net::TcpStream) -> Stream {
        Stream::Tcp(Sole(Arc::new(s)))
    }

    /// A Unix-domain stream.
    pub(crate) fn unix(s: mio::net::UnixStream) -> Stream {
        Stream::Unix(Sole(Arc::new(s)))
    }

    /// A handle for writing to this stream's socket from another thread, sharing its
    /// descriptor (see [`WriteHandle`]).
    pub(crate) fn write_handle(&self) -> WriteHandle {
        match self {
            Stream::Tcp(s) => WriteHandle::Tcp(Arc::downgrade(&s.0)),
            Stream::Unix(s) => WriteHandle::Unix(Arc::downgrade(&s.0)),
        }
    }

    /// Shuts the writing side: the peer reads the end of the stream after the last byte
    /// written (a FIN), while this side can still read.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        }
    }

    /// The socket's descriptor, for the poller.
    fn raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Reads at most `max` bytes into the spare capacity of `buf` without zero-filling it
    /// first, and returns how many bytes arrived (0 at end of stream).
    ///
    /// Zero-filling 64 KiB before every read cost more than the read itself on a quiet
    /// link, so this is the crate's one `unsafe` outside the pipes.
    #[allow(unsafe_code)]
    pub(crate) fn read_into(&self, buf: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        let sock = match self {
            Stream::Tcp(s) => socket2::SockRef::from(&**s),
            Stream::Unix(s) => socket2::SockRef::from(&**s),
        };
        let spare = buf.spare_capacity_mut();
        let limit = spare.len().min(max);
        let n = sock.recv(&mut spare[..limit])?;
        // SAFETY: `recv` wrote `n` initialized bytes at the start of the spare capacity,
        // and `n` cannot exceed `limit` (at most its length), so the first `len + n` bytes
        // are initialized.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&**s).read(buf),
            Stream::Unix(s) => (&**s).read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&**s).read_vectored(bufs),
            Stream::Unix(s) => (&**s).read_vectored(bufs),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&**s).write(buf),
            Stream::Unix(s) => (&**s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&**s).write_vectored(bufs),
            Stream::Unix(s) => (&**s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => (&**s).flush(),
            Stream::Unix(s) => (&**s).flush(),
        }
    }
}

/// Registered by descriptor: mio's own `Source` impls want `&mut` access to the socket,
/// which a shared one does not give, and on Unix they register the same descriptor.
impl Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.raw_fd()).deregister(registry)
    }
}

/// A bound, listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    /// A tcp listener.
    Tcp(mio::net::TcpListener),
    /// A Unix-domain listener. `path` is the socket file this listener created (removed on
    /// drop); `None` for abstract names. `file_id` is that file's (device, inode) at bind time,
    /// so drop never removes a file someone else put there since.
    Unix {
        /// The listening socket.
        listener: mio::net::UnixListener,
        /// The socket file to remove on drop.
        path: Option<PathBuf>,
        /// (device, inode) of `path` right after bind.
        file_id: Option<(u64, u64)>,
    },
}

impl Listener {
    /// Accepts one pending connection; `WouldBlock` when none is pending. Sets `TCP_NODELAY`
    /// on tcp. Errors such as `ConnectionAborted` concern only that one connection: the caller
    /// should log them and keep accepting.
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, addr) = l.accept()?;
                if let Err(e) = s.set_nodelay(true) {
                    log::debug!("cannot set TCP_NODELAY on connection from {addr}: {e}");
                }
                Ok(Stream::tcp(s))
            }
            Listener::Unix { listener, .. } => {
                let (s, _) = listener.accept()?;
                Ok(Stream::unix(s))
            }
        }
    }
}

impl Source for Listener {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(registry, token, interests),
            Listener::Unix { listener, .. } => listener.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(registry, token, interests),
            Listener::Unix { listener, .. } => listener.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(registry),
            Listener::Unix { listener, .. } => listener.deregister(registry),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix {
            path: Some(path),
            file_id,
            ..
        } = self
        {
            ipc::remove_socket_file(path, *file_id);
        }
    }
}

/// Binds a tcp or ipc endpoint now, in the caller's thread, and returns the listener plus the
/// endpoint actually bound, libzmq `ZMQ_LAST_ENDPOINT` style: `tcp://127.0.0.1:40123` (port
/// resolved, `*` reported as `0.0.0.0`), `ipc:///tmp/path`, `ipc://@name`.
///
/// Fails with [`Error::AddressInUse`] when the address is taken, [`Error::InvalidEndpoint`]
/// for inproc endpoints or host names that do not resolve, and [`Error::Io`] otherwise.
pub(crate) fn bind(ep: &Endpoint) -> Result<(Listener, String)> {
    match ep {
        Endpoint::Tcp(addr) => tcp::bind(ep, addr),
        Endpoint::Ipc(addr) => ipc::bind(ep, addr),
        Endpoint::Inproc(_) => Err(Error::InvalidEndpoint {
            endpoint: ep.to_string(),
            reason: "inproc endpoints are not bound through the network transports".to_owned(),
        }),
    }
}

/// Where to connect. Everything but a tcp host name is resolved in the caller's thread; a
/// host name is looked up before each attempt, off the I/O thread (see
/// [`TcpTarget::host_name`]), so the I/O loop never blocks on DNS.
#[derive(Debug, Clone)]
pub(crate) enum ConnectTarget {
    /// Tcp addresses, tried in turn (for a host name, those of the latest lookup).
    Tcp(TcpTarget),
    /// A Unix-domain socket address.
    Ipc(IpcTarget),
}

impl ConnectTarget {
    /// The endpoint this target was resolved from, canonical form, for logs.
    pub fn endpoint(&self) -> &str {
        match self {
            ConnectTarget::Tcp(t) => t.endpoint(),
            ConnectTarget::Ipc(t) => t.endpoint(),
        }
    }

    /// The host name and port to look up before the next attempt, if any.
    pub fn host_name(&self) -> Option<(&str, u16)> {
        match self {
            ConnectTarget::Tcp(t) => t.host_name(),
            ConnectTarget::Ipc(_) => None,
        }
    }
}

/// Prepares a connect endpoint in the caller's thread: tcp IP addresses and ipc paths become
/// socket addresses, tcp host names are kept for a lookup before each attempt. Run
/// [`Endpoint::check_connectable`] first; endpoints that only make sense for bind (and inproc
/// ones) are refused with [`Error::InvalidEndpoint`].
pub(crate) fn resolve(ep: &Endpoint) -> Result<ConnectTarget> {
    let original = ep.to_string();
    ep.check_connectable(&original)?;
    match ep {
        Endpoint::Tcp(addr) => tcp::resolve(&original, addr).map(ConnectTarget::Tcp),
        Endpoint::Ipc(addr) => ipc::resolve(&original, addr).map(ConnectTarget::Ipc),
        Endpoint::Inproc(_) => Err(Error::InvalidEndpoint {
            endpoint: original,
            reason: "inproc endpoints are not connected through the network transports".to_owned(),
        }),
    }
}

/// Starts a non-blocking connect and returns the stream at once; use
/// [`Stream::finish_connect`] once it is writable. Sets `TCP_NODELAY` on tcp. With several
/// resolved tcp addresses, each call tries the next one (round robin).
///
/// An ipc connect completes or fails at once; `WouldBlock` from it means the listener's backlog
/// is full, and the caller should retry later like any failed connect.
pub(crate) fn connect(target: &ConnectTarget) -> io::Result<Stream> {
    match target {
        ConnectTarget::Tcp(t) => tcp::connect(t).map(Stream::tcp),
        ConnectTarget::Ipc(t) => ipc::connect(t).map(Stream::unix),
    }
}

/// Applies the socket's TCP keepalive options to a tcp connection; other streams have none.
pub(crate) fn set_keepalive(stream: &Stream, options: &crate::options::Options) {
    if let Stream::Tcp(s) = stream {
        tcp::set_keepalive(s, options);
    }
}

/// Maps a bind error: "address in use" becomes [`Error::AddressInUse`] naming `endpoint`.
fn bind_error(endpoint: &str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::AddrInUse {
        Error::AddressInUse(endpoint.to_owned())
    } else {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A connected pair: a `Stream` and the blocking std socket at the other end.
    fn tcp_pair() -> (Stream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        ours.set_nonblocking(true).unwrap();
        let (theirs, _) = listener.accept().unwrap();
        theirs
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (Stream::tcp(mio::net::TcpStream::from_std(ours)), theirs)
    }

    #[test]
    fn a_write_handle_shares_the_descriptor_and_never_keeps_it_open() {
        let (stream, mut peer) = tcp_pair();
        let mut handle = stream.write_handle();
        let n = handle
            .write_vectored(&[IoSlice::new(b"di"), IoSlice::new(b"rect")])
            .unwrap();
        assert_eq!(n, 6);
        let mut got = [0u8; 6];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"direct");

        // Dropping the stream closes the connection although the handle lives on: the
        // peer sees the end of the stream, and the handle can no longer write.
        drop(stream);
        assert_eq!(
            peer.read(&mut got).unwrap(),
            0,
            "the connection must be closed"
        );
        let err = handle.write_vectored(&[IoSlice::new(b"late")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
    }

    #[test]
    fn a_stale_write_handle_never_reaches_a_reused_descriptor() {
        let (stream, _peer) = tcp_pair();
        let mut stale = stream.write_handle();
        let old_fd = stream.raw_fd();
        drop(stream);
        // The next socket usually gets the lowest free number: the one just closed.
        let (reused, mut peer) = tcp_pair();
        let err = stale.write_vectored(&[IoSlice::new(b"stray")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
        // Nothing reached the new connection, whatever its descriptor's number.
        peer.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 8];
        match peer.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => panic!(
                "the new connection (fd {} after {old_fd}) got {other:?}",
                reused.raw_fd()
            ),
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the transport tests.

    use super::*;
    use mio::{Events, Poll};
    use std::time::{Duration, Instant};

    /// Polls until `done` returns `Some`, with a 10 s deadline.
    pub fn poll_until<T>(poll: &mut Poll, mut done: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut events = Events::with_capacity(16);
        loop {
            if let Some(v) = done() {
                return v;
            }
            let now = Instant::now();
            assert!(now < deadline, "timed out waiting for an event");
            poll.poll(
                &mut events,
                Some((deadline - now).min(Duration::from_millis(100))),
            )
            .unwrap();
        }
    }

    /// Connects to `bound`, accepts on `listener`, and sends bytes both ways.
    pub fn round_trip(listener: &mut Listener, bound: &str) {
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(listener, Token(0), Interest::READABLE)
            .unwrap();
        let ep = Endpoint::parse(bound).unwrap();
        let target = resolve(&ep).unwrap();
        let mut client = connect(&target).unwrap();
        poll.registry()
            .register(
                &mut client,
                Token(1),
                Interest::READABLE | Interest::WRITABLE,
            )
            .unwrap();

        let mut server = poll_until(&mut poll, || match listener.accept() {
            Ok(s) => Some(s),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => panic!("accept failed: {e}"),
        });
        poll_until(&mut poll, || client.finish_connect().unwrap().then_some(()));
        assert!(!client.peer_description().is_empty());
        assert!(!server.peer_description().is_empty());
        poll.registry()
            .register(&mut server, Token(2), Interest::READABLE)
            .unwrap();

        let parts = [IoSlice::new(b"hel"), IoSlice::new(b"lo")];
        let n = client.write_vectored(&parts).unwrap();
        assert_eq!(n, 5, "a tiny vectored write goes out whole");
        assert_eq!(read_exactly(&mut poll, &mut server, 5), b"hello");

        server.write_all(b"world").unwrap();
        assert_eq!(read_exactly(&mut poll, &mut client, 5), b"world");
    }

    /// Reads from `stream` until `n` bytes have arrived, polling between tries.
    fn read_exactly(poll: &mut Poll, stream: &mut Stream, n: usize) -> Vec<u8> {
        let mut got = Vec::new();
        poll_until(poll, || {
            let mut buf = [0u8; 16];
            match stream.read(&mut buf) {
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("read failed: {e}"),
            }
            (got.len() >= n).then_some(())
        });
        got
    }
}
