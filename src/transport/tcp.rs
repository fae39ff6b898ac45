//! The tcp transport: binding listeners (with `SO_REUSEADDR`, like libzmq), resolving host
//! names, and starting non-blocking connects.
//!
//! What this module must keep true: a connect endpoint's host name is looked up before every
//! attempt (as libzmq does, so a name that does not resolve yet, or moves, is retried like a
//! refused connection), and only through [`lookup_name`], which the session runs off the I/O
//! thread; [`bind`] looks names up in the caller's thread; [`connect`] never blocks; every
//! connection gets `TCP_NODELAY`.

use super::{bind_error, Listener};
use crate::endpoint::{Endpoint, Host, TcpAddr};
use crate::options::Options;
use crate::{Error, Result};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Listen backlog, libzmq's `ZMQ_BACKLOG` default.
const BACKLOG: i32 = 100;

/// Addresses of a tcp connect endpoint; [`connect`] tries them in turn.
#[derive(Debug, Clone)]
pub(crate) struct TcpTarget {
    endpoint: String,
    /// The host name and port to look up before each attempt (`None` for an IP address).
    name: Option<(String, u16)>,
    /// The addresses: fixed for an IP address, from the latest lookup for a name.
    addrs: Arc<[SocketAddr]>,
    /// Index of the next address to try, shared by clones.
    next: Arc<AtomicUsize>,
}

impl TcpTarget {
    /// The canonical endpoint string this target came from.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The host name and port to look up (with [`lookup_name`]) before the next attempt, if
    /// the endpoint names a host.
    pub fn host_name(&self) -> Option<(&str, u16)> {
        self.name.as_ref().map(|(n, p)| (n.as_str(), *p))
    }

    /// Takes the addresses of a fresh lookup.
    pub fn set_addrs(&mut self, addrs: Vec<SocketAddr>) {
        self.addrs = addrs.into();
    }
}

/// Looks up a host name. It blocks (the system resolver may take seconds), so the I/O
/// thread never calls it itself.
pub(crate) fn lookup_name(name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (name, port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("host name `{name}` resolved to no addresses"),
        ));
    }
    Ok(addrs)
}

/// Resolves `host` (with `port`) to socket addresses in the caller's thread.
fn lookup(endpoint: &str, host: &Host, port: u16) -> Result<Vec<SocketAddr>> {
    match host {
        Host::Any => Ok(vec![SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
        )]),
        Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => lookup_name(name, port).map_err(|e| Error::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason: format!("cannot resolve host name `{name}`: {e}"),
        }),
    }
}

/// Formats a socket address the way libzmq's last endpoint does.
fn endpoint_string(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    }
}

/// Binds `addr` (the tcp part of `ep`): first resolved address, `*` as 0.0.0.0.
pub(super) fn bind(ep: &Endpoint, addr: &TcpAddr) -> Result<(Listener, String)> {
    let endpoint = ep.to_string();
    let sock_addr = lookup(&endpoint, &addr.host, addr.port.unwrap_or(0))?[0];
    let socket = Socket::new(
        Domain::for_address(sock_addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket
        .bind(&sock_addr.into())
        .map_err(|e| bind_error(&endpoint, e))?;
    socket
        .listen(BACKLOG)
        .map_err(|e| bind_error(&endpoint, e))?;
    socket.set_nonblocking(true)?;
    let std_listener: std::net::TcpListener = socket.into();
    let local = std_listener.local_addr()?;
    let bound = endpoint_string(local);
    log::debug!("bound {endpoint} as {bound}");
    Ok((
        Listener::Tcp(mio::net::TcpListener::from_std(std_listener)),
        bound,
    ))
}

/// Prepares a connectable tcp endpoint (`original` is its string, for errors). A host name
/// is not looked up here but before each connect attempt (see [`TcpTarget::host_name`]).
pub(super) fn resolve(original: &str, addr: &TcpAddr) -> Result<TcpTarget> {
    let Some(port) = addr.port else {
        return Err(Error::InvalidEndpoint {
            endpoint: original.to_owned(),
            reason: "connect needs a port number".to_owned(),
        });
    };
    let (name, addrs) = match &addr.host {
        Host::Name(name) => (Some((name.clone(), port)), Vec::new()),
        host => (None, lookup(original, host, port)?),
    };
    Ok(TcpTarget {
        endpoint: original.to_owned(),
        name,
        addrs: addrs.into(),
        next: Arc::new(AtomicUsize::new(0)),
    })
}

/// Starts a non-blocking connect to the target's next address.
pub(super) fn connect(target: &TcpTarget) -> io::Result<mio::net::TcpStream> {
    let n = target.addrs.len();
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no address to connect to",
        ));
    }
    let i = target.next.fetch_add(1, Ordering::Relaxed) % n;
    let addr = target.addrs[i];
    log::trace!("connecting to {} at {addr}", target.endpoint);
    let stream = mio::net::TcpStream::connect(addr)?;
    if let Err(e) = stream.set_nodelay(true) {
        log::debug!("cannot set TCP_NODELAY connecting to {addr}: {e}");
    }
    Ok(stream)
}

/// Applies the socket's TCP keepalive options to a connection (libzmq's
/// `ZMQ_TCP_KEEPALIVE*`); what is unset keeps the operating system's value. A failure only
/// costs the keepalive, so it is logged, not returned.
pub(super) fn set_keepalive(stream: &mio::net::TcpStream, options: &Options) {
    let sock = socket2::SockRef::from(stream);
    if let Some(on) = options.tcp_keepalive {
        if let Err(e) = sock.set_keepalive(on) {
            log::debug!("cannot set SO_KEEPALIVE: {e}");
        }
        if !on {
            return;
        }
    }
    let mut params = socket2::TcpKeepalive::new();
    let mut any = false;
    if let Some(idle) = options.tcp_keepalive_idle {
        params = params.with_time(idle);
        any = true;
    }
    if let Some(intvl) = options.tcp_keepalive_intvl {
        params = params.with_interval(intvl);
        any = true;
    }
    if let Some(cnt) = options.tcp_keepalive_cnt {
        params = params.with_retries(cnt);
        any = true;
    }
    if any {
        if let Err(e) = sock.set_tcp_keepalive(&params) {
            log::debug!("cannot set the TCP keepalive parameters: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::round_trip;
    use super::super::{bind, connect, resolve, ConnectTarget};
    use super::*;

    fn bind_str(s: &str) -> Result<(Listener, String)> {
        bind(&Endpoint::parse(s).unwrap())
    }

    #[test]
    fn ephemeral_port_is_reported_and_taken() {
        let (_l, bound) = bind_str("tcp://127.0.0.1:*").unwrap();
        let port: u16 = bound
            .strip_prefix("tcp://127.0.0.1:")
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(port, 0);
        match bind_str(&bound) {
            Err(Error::AddressInUse(e)) => assert_eq!(e, bound),
            other => panic!("second bind of {bound} should fail, got {other:?}"),
        }
    }

    #[test]
    fn star_host_reports_any_address() {
        let (_l, bound) = bind_str("tcp://*:0").unwrap();
        assert!(bound.starts_with("tcp://0.0.0.0:"), "{bound}");
        assert!(!bound.ends_with(":0"), "{bound}");
    }

    #[test]
    fn ipv6_loopback() {
        if std::net::TcpListener::bind("[::1]:0").is_err() {
            eprintln!("no IPv6 loopback on this machine; skipping");
            return;
        }
        let (mut l, bound) = bind_str("tcp://[::1]:*").unwrap();
        assert!(bound.starts_with("tcp://[::1]:"), "{bound}");
        round_trip(&mut l, &bound);
    }

    #[test]
    fn a_host_name_is_looked_up_later_and_localhost_resolves() {
        let ep = Endpoint::parse("tcp://localhost:5555").unwrap();
        let ConnectTarget::Tcp(mut t) = resolve(&ep).unwrap() else {
            panic!("tcp endpoint gave a non-tcp target");
        };
        assert!(t.addrs.is_empty(), "looked up at connect time");
        assert_eq!(t.host_name(), Some(("localhost", 5555)));
        assert_eq!(t.endpoint(), "tcp://localhost:5555");
        let addrs = lookup_name("localhost", 5555).unwrap();
        assert!(addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 5555));
        t.set_addrs(addrs);
        assert!(!t.addrs.is_empty());
    }

    #[test]
    fn an_ip_address_needs_no_lookup() {
        let ep = Endpoint::parse("tcp://127.0.0.1:5555").unwrap();
        let ConnectTarget::Tcp(t) = resolve(&ep).unwrap() else {
            panic!("tcp endpoint gave a non-tcp target");
        };
        assert_eq!(t.host_name(), None);
        assert_eq!(&t.addrs[..], &["127.0.0.1:5555".parse().unwrap()]);
    }

    #[test]
    fn bind_by_host_name() {
        let (mut l, bound) = bind_str("tcp://localhost:*").unwrap();
        assert!(!bound.contains("localhost"), "{bound}");
        round_trip(&mut l, &bound);
    }

    #[test]
    fn an_unresolvable_name_fails_the_lookup_not_the_connect() {
        let ep = Endpoint::parse("tcp://no-such-host.invalid:1").unwrap();
        assert!(resolve(&ep).is_ok());
        assert!(lookup_name("no-such-host.invalid", 1).is_err());
        // Binding needs the address now, so there the name must resolve.
        match bind_str("tcp://no-such-host.invalid:1") {
            Err(Error::InvalidEndpoint { reason, .. }) => {
                assert!(reason.contains("cannot resolve"), "{reason}")
            }
            other => panic!("expected InvalidEndpoint, got {other:?}"),
        }
    }

    #[test]
    fn resolve_refuses_bind_only_endpoints() {
        for s in ["tcp://*:1", "tcp://127.0.0.1:*"] {
            let ep = Endpoint::parse(s).unwrap();
            assert!(matches!(resolve(&ep), Err(Error::InvalidEndpoint { .. })));
        }
    }

    #[test]
    fn keepalive_options_reach_the_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = mio::net::TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap());
        let sock = socket2::SockRef::from(&stream);
        let options = Options {
            tcp_keepalive: Some(true),
            tcp_keepalive_idle: Some(std::time::Duration::from_secs(42)),
            tcp_keepalive_intvl: Some(std::time::Duration::from_secs(7)),
            tcp_keepalive_cnt: Some(3),
            ..Options::default()
        };
        set_keepalive(&stream, &options);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.keepalive_time().unwrap().as_secs(), 42);
        assert_eq!(sock.keepalive_interval().unwrap().as_secs(), 7);
        assert_eq!(sock.keepalive_retries().unwrap(), 3);
        let off = Options {
            tcp_keepalive: Some(false),
            ..Options::default()
        };
        set_keepalive(&stream, &off);
        assert!(!sock.keepalive().unwrap());
    }

    #[test]
    fn connect_and_accept_round_trip() {
        let (mut l, bound) = bind_str("tcp://127.0.0.1:*").unwrap();
        round_trip(&mut l, &bound);
        // Accept with nothing pending reports WouldBlock.
        match l.accept() {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            Ok(_) => panic!("no connection was pending"),
        }
    }

    #[test]
    fn connect_refused_is_reported_by_finish_connect() {
        // Find a port nobody listens on: bind, note it, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let ep = Endpoint::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
        let target = resolve(&ep).unwrap();
        let mut poll = mio::Poll::new().unwrap();
        let mut s = match connect(&target) {
            Ok(s) => s,
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
                return;
            }
        };
        poll.registry()
            .register(&mut s, mio::Token(0), mio::Interest::WRITABLE)
            .unwrap();
        let err = super::super::test_util::poll_until(&mut poll, || match s.finish_connect() {
            Ok(true) => panic!("connected to a closed port"),
            Ok(false) => None,
            Err(e) => Some(e),
        });
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn round_robin_over_addresses() {
        let (a, bound_a) = bind_str("tcp://127.0.0.1:*").unwrap();
        let port = bound_a.rsplit(':').next().unwrap().to_owned();
        let Ok((b, _)) = bind_str(&format!("tcp://127.0.0.2:{port}")) else {
            eprintln!("cannot bind 127.0.0.2:{port}; skipping");
            return;
        };
        let t = TcpTarget {
            endpoint: "tcp://test:1".into(),
            name: None,
            addrs: vec![
                format!("127.0.0.1:{port}").parse().unwrap(),
                format!("127.0.0.2:{port}").parse().unwrap(),
            ]
            .into(),
            next: Arc::new(AtomicUsize::new(0)),
        };
        let target = ConnectTarget::Tcp(t.clone());
        let mut poll = mio::Poll::new().unwrap();
        let mut a = a;
        let mut b = b;
        poll.registry()
            .register(&mut a, mio::Token(0), mio::Interest::READABLE)
            .unwrap();
        poll.registry()
            .register(&mut b, mio::Token(1), mio::Interest::READABLE)
            .unwrap();
        let _c1 = connect(&target).unwrap();
        let _c2 = connect(&target).unwrap();
        for l in [&a, &b] {
            super::super::test_util::poll_until(&mut poll, || match l.accept() {
                Ok(_) => Some(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                Err(e) => panic!("accept failed: {e}"),
            });
        }
        // The clone shares the rotation with the original.
        assert_eq!(t.next.load(Ordering::Relaxed), 2);
    }
}
