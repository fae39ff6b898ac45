//! Endpoint parsing and binding: malformed endpoints, address in use, resolved ports,
//! IPv6, localhost, abstract and stale ipc sockets.

mod util;

use ferrozmq::{Context, Error, Socket, SocketType};
use util::*;

fn pull(ctx: &Context) -> Socket {
    ctx.socket(SocketType::Pull).unwrap()
}

/// Checks that messages flow from a fresh PUSH connected to `ep` into `pull`.
fn assert_reachable(ctx: &Context, pull: &mut Socket, ep: &str) {
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(ep)
        .unwrap_or_else(|e| panic!("connect({ep}): {e:?}"));
    send(&mut push, ep, &format!("a message via {ep}"));
    assert_eq!(text(&recv(pull, &format!("a message via {ep}"))), ep);
}

#[test]
fn malformed_endpoints_are_invalid() {
    init();
    let ctx = Context::new();
    let mut s = pull(&ctx);
    let bad = [
        "foo://x",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:99999",
        "tcp://127.0.0.1:-1",
        "tcp://127.0.0.1:port",
        "tcp://[::1:5555",
        "tcp://:5555x",
        "inproc://",
        "ipc://",
        "no-transport",
        "",
    ];
    let mut wrong = Vec::new();
    for ep in bad {
        for (op, r) in [("bind", s.bind(ep)), ("connect", s.connect(ep))] {
            match r {
                Err(Error::InvalidEndpoint { endpoint, reason }) => {
                    assert_eq!(
                        endpoint, ep,
                        "InvalidEndpoint should carry the endpoint as given"
                    );
                    assert!(
                        !reason.is_empty(),
                        "{op}({ep:?}): the reason should say what is wrong"
                    );
                }
                other => wrong.push(format!("{op}({ep:?}) -> {other:?}")),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "expected Error::InvalidEndpoint for:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn tcp_address_in_use() {
    init();
    let ctx = Context::new();
    let mut a = pull(&ctx);
    let ep = bind_fresh(&mut a, Transport::Tcp);
    let mut b = pull(&ctx);
    match b.bind(&ep) {
        Err(Error::AddressInUse(_)) => {}
        other => {
            panic!("second bind({ep}) on another socket: expected AddressInUse, got {other:?}")
        }
    }
    match a.bind(&ep) {
        Err(Error::AddressInUse(_)) => {}
        other => {
            panic!("second bind({ep}) on the same socket: expected AddressInUse, got {other:?}")
        }
    }
    // The first binding is unharmed.
    assert_reachable(&ctx, &mut a, &ep);
}

#[test]
fn inproc_address_in_use() {
    init();
    let ctx = Context::new();
    let mut a = pull(&ctx);
    let ep = bind_fresh(&mut a, Transport::Inproc);
    let mut b = pull(&ctx);
    assert!(
        matches!(b.bind(&ep), Err(Error::AddressInUse(_))),
        "second inproc bind({ep})"
    );
    assert_reachable(&ctx, &mut a, &ep);
}

#[test]
fn last_endpoint_reports_resolved_port() {
    init();
    let ctx = Context::new();
    let mut s = pull(&ctx);
    assert_eq!(s.last_endpoint(), None);
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint().expect("last_endpoint after bind");
    let port: u16 = ep
        .strip_prefix("tcp://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected last_endpoint {ep}"))
        .parse()
        .unwrap_or_else(|_| panic!("no numeric port in {ep}"));
    assert_ne!(port, 0);
    // Something really listens there.
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the reported port");
    assert_reachable(&ctx, &mut s, &ep);
    // A second bind updates it.
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep2 = s.last_endpoint().unwrap();
    assert_ne!(ep2, ep);
    assert_reachable(&ctx, &mut s, &ep2);
    // Other transports report what was bound.
    let inproc = Transport::Inproc.fresh_endpoint();
    s.bind(&inproc).unwrap();
    assert_eq!(s.last_endpoint().as_deref(), Some(inproc.as_str()));
    let ipc = Transport::Ipc.fresh_endpoint();
    s.bind(&ipc).unwrap();
    assert_eq!(s.last_endpoint().as_deref(), Some(ipc.as_str()));
}

#[test]
fn tcp_wildcard_address_port_zero() {
    init();
    let ctx = Context::new();
    let mut s = pull(&ctx);
    s.bind("tcp://*:0").unwrap();
    let ep = s.last_endpoint().expect("last_endpoint after bind");
    let port: u16 = ep
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no port in {ep}"));
    assert_ne!(port, 0, "port 0 must be resolved: {ep}");
    assert_reachable(&ctx, &mut s, &format!("tcp://127.0.0.1:{port}"));
}

#[test]
fn tcp_localhost() {
    init();
    let ctx = Context::new();
    let mut s = pull(&ctx);
    let ep = bind_fresh(&mut s, Transport::Tcp);
    let port = ep.rsplit(':').next().unwrap();
    assert_reachable(&ctx, &mut s, &format!("tcp://localhost:{port}"));
}

#[test]
fn tcp_ipv6_loopback() {
    init();
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine: skipping");
        return;
    }
    let ctx = Context::new();
    let mut s = pull(&ctx);
    s.bind("tcp://[::1]:*")
        .unwrap_or_else(|e| panic!("bind tcp://[::1]:*: {e:?}"));
    let ep = s.last_endpoint().unwrap();
    assert!(
        ep.starts_with("tcp://[::1]:") && !ep.ends_with(":*") && !ep.ends_with(":0"),
        "last_endpoint {ep}"
    );
    assert_reachable(&ctx, &mut s, &ep);
}

#[test]
fn ipc_abstract_namespace() {
    init();
    let ctx = Context::new();
    let mut s = pull(&ctx);
    let ep = format!("ipc://@{}", unique_name("abstract"));
    s.bind(&ep).unwrap_or_else(|e| panic!("bind({ep}): {e:?}"));
    assert_eq!(s.last_endpoint().as_deref(), Some(ep.as_str()));
    assert_reachable(&ctx, &mut s, &ep);
}

#[test]
fn ipc_stale_socket_file_is_replaced_and_removed_on_close() {
    init();
    let path = ipc_path();
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(
        path.exists(),
        "a dropped UnixListener leaves its file behind"
    );
    let ep = format!("ipc://{}", path.display());
    let ctx = Context::new();
    let mut s = pull(&ctx);
    s.bind(&ep)
        .unwrap_or_else(|e| panic!("bind over a stale socket file {ep}: {e:?}"));
    assert_reachable(&ctx, &mut s, &ep);
    drop(s);
    within(TIMEOUT, "ctx.term()", move || ctx.term());
    assert!(
        !path.exists(),
        "the ipc socket file {} should be removed once the socket is closed",
        path.display()
    );
}

#[test]
fn unbind_frees_the_tcp_port() {
    init();
    let ctx = Context::new();
    let mut a = pull(&ctx);
    let ep = bind_fresh(&mut a, Transport::Tcp);
    a.unbind(&ep).unwrap();
    let mut b = pull(&ctx);
    bind_retry(&mut b, &ep);
    assert_reachable(&ctx, &mut b, &ep);
}
