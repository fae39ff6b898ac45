//! Each tcp or ipc connection costs exactly one file descriptor at each end, as in libzmq:
//! the direct path (an application thread writing a reply straight to an idle connection)
//! must share the connection's descriptor, not hold a duplicate of it. With 10,000 peers a
//! second descriptor per connection would need a 20,000-descriptor limit.
//!
//! The test counts the entries of `/proc/self/fd` with every socket made and the server
//! bound (the baseline: listener, I/O thread poller and waker), then after [`PEERS`]
//! connections have completed request/reply turns (which offer and use the direct path on
//! both ends), and checks that each connection added at most one descriptor per end. Then it
//! closes the peers and checks every connection's descriptors are closed again.
//!
//! What must stay true: it is the only test in this binary (other tests' descriptors would
//! skew the counts), every wait is bounded (replies with a receive timeout, the count going
//! back down by polling against a deadline). Linux only: it reads `/proc`.
#![cfg(target_os = "linux")]

mod util;

use bytes::Bytes;
use ferrozmq::{Context, Message, Socket, SocketType};
use std::time::Duration;
use util::Transport;

/// Connections per scenario.
const PEERS: usize = 50;

/// How long the descriptors of closed connections may take to go.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

#[test]
fn each_connection_holds_one_descriptor_per_end() {
    util::init();
    for transport in [Transport::Tcp, Transport::Ipc] {
        request_reply(transport);
        push_pull(transport);
    }
}

/// The descriptors this process has open now.
fn open_fds() -> usize {
    // The directory's own descriptor is in the listing; it is there on every count alike.
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// A server (bound) and its `PEERS` clients (not yet connected), and the endpoint.
fn sockets(
    ctx: &Context,
    transport: Transport,
    server: SocketType,
    client: SocketType,
) -> (Socket, Vec<Socket>, String) {
    let mut s = util::bounded_socket(ctx, server, util::TIMEOUT);
    let ep = util::bind_fresh(&mut s, transport);
    let clients = (0..PEERS)
        .map(|_| util::bounded_socket(ctx, client, util::TIMEOUT))
        .collect();
    (s, clients, ep)
}

/// Checks that `PEERS` connections added at most one descriptor per end (both ends are in
/// this process) to `baseline`.
fn check_connected(what: &str, baseline: usize) {
    let now = open_fds();
    let added = now.saturating_sub(baseline);
    eprintln!("{what}: {baseline} descriptors before, {now} with {PEERS} connections");
    assert!(
        added <= 2 * PEERS,
        "{what}: {PEERS} connections added {added} descriptors; at most {} expected \
         (one per connection end)",
        2 * PEERS
    );
}

/// Closes `clients` and waits until the descriptor count is back to `baseline`: the
/// connections' descriptors close when they end, at both ends.
fn close_and_check(what: &str, clients: Vec<Socket>, baseline: usize) {
    drop(clients);
    let deadline = util::deadline(CLOSE_WAIT);
    loop {
        let now = open_fds();
        if now <= baseline {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {now} descriptors open {CLOSE_WAIT:?} after closing the peers, \
             {baseline} before they connected"
        );
        // Polling: the I/O thread closes them on its own schedule, and nothing tells us.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// DEALERs ask a ROUTER twice; its answers (and the DEALERs' second requests, sent right
/// after a receive) are the turns the direct path serves.
fn request_reply(transport: Transport) {
    let what = format!("{transport:?} ROUTER/DEALER");
    let ctx = Context::new();
    let (mut router, mut dealers, ep) =
        sockets(&ctx, transport, SocketType::Router, SocketType::Dealer);
    let baseline = open_fds();
    for d in &mut dealers {
        d.connect(&ep).expect("connect a DEALER");
    }
    for round in 0..2 {
        for (i, d) in dealers.iter_mut().enumerate() {
            util::send(d, format!("request {round} {i}"), "a request");
        }
        for _ in 0..PEERS {
            let m = util::recv(&mut router, "a request");
            assert_eq!(m.len(), 2, "{what}: routing id and body");
            let reply = Message::multipart([
                Bytes::copy_from_slice(&m[0]),
                Bytes::from(format!("reply to {}", String::from_utf8_lossy(&m[1]))),
            ]);
            util::send(&mut router, reply, "a reply");
        }
        for (i, d) in dealers.iter_mut().enumerate() {
            let m = util::recv(d, "a reply");
            assert_eq!(util::text(&m), format!("reply to request {round} {i}"));
        }
    }
    check_connected(&what, baseline);
    close_and_check(&what, dealers, baseline);
}

/// PUSHes send to a PULL: the direct path is offered at both ends once the handshake is
/// done, whether or not it is used.
fn push_pull(transport: Transport) {
    let what = format!("{transport:?} PULL/PUSH");
    let ctx = Context::new();
    let (mut pull, mut pushes, ep) = sockets(&ctx, transport, SocketType::Pull, SocketType::Push);
    let baseline = open_fds();
    for (i, p) in pushes.iter_mut().enumerate() {
        p.connect(&ep).expect("connect a PUSH");
        util::send(p, format!("message {i}"), "a message");
    }
    for _ in 0..PEERS {
        util::recv(&mut pull, "a message");
    }
    check_connected(&what, baseline);
    close_and_check(&what, pushes, baseline);
}
