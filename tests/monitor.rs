//! The socket monitor: each listener and connection raises libzmq's events in libzmq's
//! order, with its endpoint and peer; failures say why; an unread monitor stays bounded; and
//! a monitor learns when its socket is gone.

mod util;

use ferrozmq::{Context, Error, EventKind, SocketType};
use std::io::Write;
use std::time::Duration;
use util::events::*;
use util::raw::*;
use util::*;

#[test]
fn a_tcp_connection_raises_the_libzmq_sequence_on_both_sides() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let server = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let client = push.monitor();
    push.connect(&ep).unwrap();

    let listening = server.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(
        (listening.kind, &listening.endpoint),
        (EventKind::Listening, &ep)
    );
    let accepted = expect_kind(&server, &EventKind::Accepted);
    assert_eq!(accepted.endpoint, ep);
    let client_addr = accepted.peer.clone().expect("the peer's address");
    assert!(client_addr.starts_with("127.0.0.1:"), "{client_addr}");
    let ok = server.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(ok.kind, EventKind::HandshakeSucceeded);
    assert_eq!(ok.peer.as_deref(), Some(client_addr.as_str()));

    assert_eq!(
        next_names(&client, 3),
        ["CONNECT_DELAYED", "CONNECTED", "HANDSHAKE_SUCCEEDED"]
    );

    // The client goes: the server sees the connection end.
    drop(push);
    let gone = expect_kind(
        &server,
        &EventKind::Disconnected {
            reason: String::new(),
        },
    );
    assert_eq!(gone.peer.as_deref(), Some(client_addr.as_str()));
    let EventKind::Disconnected { reason } = gone.kind else {
        unreachable!()
    };
    assert!(reason.contains("peer closed"), "{reason}");
    // The client's monitor ends once the socket and its connection are gone.
    expect_event(&client, "the client's own DISCONNECTED", |e| {
        e.kind.name() == "DISCONNECTED"
    });
    assert!(matches!(
        client.recv_timeout(TIMEOUT),
        Err(Error::Terminated)
    ));

    drop(pull);
    expect_kind(&server, &EventKind::Closed);
    assert!(matches!(
        server.recv_timeout(TIMEOUT),
        Err(Error::Terminated)
    ));
}

#[test]
fn an_ipc_connection_is_connected_at_once() {
    init();
    let ctx = Context::new();
    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    let server = rep.monitor();
    let ep = bind_fresh(&mut rep, Transport::Ipc);
    let mut req = ctx.socket(SocketType::Req).unwrap();
    let client = req.monitor();
    req.connect(&ep).unwrap();
    assert_eq!(
        next_names(&server, 3),
        ["LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED"]
    );
    let names = next_names(&client, 2);
    assert_eq!(names, ["CONNECTED", "HANDSHAKE_SUCCEEDED"]);
}

#[test]
fn a_refused_connect_is_retried_with_its_interval() {
    init();
    let ctx = Context::new();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.set_reconnect_ivl(Duration::from_millis(50)).unwrap();
    let monitor = push.monitor();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    push.connect(&ep).unwrap();
    let retried = expect_kind(
        &monitor,
        &EventKind::ConnectRetried {
            interval: Duration::ZERO,
        },
    );
    assert_eq!(retried.endpoint, ep);
    let EventKind::ConnectRetried { interval } = retried.kind else {
        unreachable!()
    };
    // The interval plus jitter below the interval (libzmq's back-off).
    assert!(interval >= Duration::from_millis(50) && interval < Duration::from_millis(100));
    // And it keeps trying.
    expect_kind(&monitor, &EventKind::ConnectRetried { interval });
}

#[test]
fn a_bind_that_fails_is_reported() {
    init();
    let ctx = Context::new();
    let mut first = ctx.socket(SocketType::Pull).unwrap();
    let ep = bind_fresh(&mut first, Transport::Tcp);
    let mut second = ctx.socket(SocketType::Pull).unwrap();
    let monitor = second.monitor();
    assert!(second.bind(&ep).is_err());
    let failed = monitor
        .try_recv()
        .expect("BIND_FAILED is raised before bind returns");
    assert_eq!(failed.endpoint, ep);
    assert!(matches!(failed.kind, EventKind::BindFailed { .. }));
}

#[test]
fn a_wrong_peer_type_fails_the_handshake_with_the_reason() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut raw = raw_handshake(&ep, "PULL"); // PULL cannot talk to PULL
    expect_closed(&mut raw, "an incompatible peer");
    let failed = expect_kind(
        &monitor,
        &EventKind::HandshakeFailedProtocol {
            reason: String::new(),
        },
    );
    assert!(failed.to_string().contains("PULL"), "{failed}");
    expect_kind(
        &monitor,
        &EventKind::Disconnected {
            reason: String::new(),
        },
    );
}

#[test]
fn a_handshake_that_stalls_fails_without_detail() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_handshake_ivl(Some(Duration::from_millis(100)))
        .unwrap();
    let monitor = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut raw = std::net::TcpStream::connect(ep.strip_prefix("tcp://").unwrap()).unwrap();
    // A whole greeting, then nothing: the READY never comes.
    raw.write_all(&raw_greeting()).unwrap();
    expect_closed(&mut raw, "a peer that stops after its greeting");
    let failed = expect_kind(
        &monitor,
        &EventKind::HandshakeFailedNoDetail {
            reason: String::new(),
        },
    );
    assert!(failed.to_string().contains("timed out"), "{failed}");
}

#[test]
fn an_unread_monitor_keeps_only_the_newest_events() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor_with_capacity(4);
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    // Each raw connection raises ACCEPTED, and more as it fails; 20 of them overflow 4.
    for _ in 0..20 {
        let mut raw = raw_handshake(&ep, "PULL");
        expect_closed(&mut raw, "an incompatible peer");
    }
    let end = deadline(TIMEOUT);
    while monitor.dropped() < 40 {
        remaining(end, "the monitor to drop the events nobody read");
        std::thread::yield_now();
    }
    let mut left = 0;
    while monitor.try_recv().is_ok() {
        left += 1;
    }
    assert!(left <= 4, "{left} events kept by a monitor of capacity 4");
}

#[test]
fn inproc_raises_no_events() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor();
    pull.bind(&Transport::Inproc.fresh_endpoint()).unwrap();
    assert!(matches!(monitor.try_recv(), Err(Error::WouldBlock)));
}
