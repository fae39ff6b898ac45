//! Delivery accounting: `Socket::stats`/`peers`, `flush`, `close_with`, and the monitor's
//! `HWM_REACHED` and `MESSAGES_DROPPED` events, over inproc, ipc and tcp.
//!
//! Nothing sleeps. A peer that "does not read" is a PULL or SUB whose application never
//! calls recv, with a high-water mark of 1: its session stops reading the connection, so
//! the kernel's buffers fill and the sender's messages stay queued for as long as the test
//! wants. Where a test expects a flush not to complete, the flush's own timeout is the
//! wait.

mod util;

use ferrozmq::{Context, DropReason, EventKind, Socket, SocketType};
use std::time::Duration;
use util::events::expect_event;
use util::{bind_fresh, init, recv, send, Transport, TIMEOUT};

const MIB: usize = 1 << 20;

fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let mut s = ctx.socket(kind).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

/// A PUSH connected to a PULL bound on `t`.
fn push_pull(ctx: &Context, t: Transport) -> (Socket, Socket) {
    let mut pull = socket(ctx, SocketType::Pull);
    let ep = bind_fresh(&mut pull, t);
    let mut push = socket(ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    (push, pull)
}

#[test]
fn counters_follow_messages_and_bytes_both_ways() {
    init();
    for t in Transport::ALL {
        let ctx = Context::new();
        let (mut push, mut pull) = push_pull(&ctx, t);
        for i in 0..100u32 {
            send(
                &mut push,
                vec![vec![0u8; 10], i.to_le_bytes().to_vec()],
                "a message",
            );
        }
        for _ in 0..100 {
            recv(&mut pull, "a message");
        }
        let out = push.peers().unwrap();
        assert_eq!(out.len(), 1, "{t:?}: one peer");
        let out = &out[0];
        assert_eq!((out.msgs_out, out.bytes_out), (100, 1400), "{t:?}: sent");
        assert_eq!((out.msgs_in, out.hwm_hits, out.dropped), (0, 0, 0), "{t:?}");
        assert!(out.reached, "{t:?}: the peer was reached");
        let inn = &pull.peers().unwrap()[0];
        assert_eq!((inn.msgs_in, inn.bytes_in), (100, 1400), "{t:?}: received");
        match t {
            Transport::Inproc => assert!(out.endpoint.starts_with("inproc://")),
            Transport::Ipc => assert!(out.endpoint.starts_with("ipc://"), "{}", out.endpoint),
            Transport::Tcp => {
                assert!(
                    out.endpoint.starts_with("tcp://127.0.0.1:"),
                    "{}",
                    out.endpoint
                );
                let address = out.address.as_deref().expect("a connected peer's address");
                assert!(address.starts_with("127.0.0.1:"), "{address}");
                assert!(
                    inn.endpoint.starts_with("tcp://127.0.0.1:"),
                    "{}",
                    inn.endpoint
                );
            }
        }
    }
}

#[test]
fn flush_waits_for_the_kernel_and_reports_what_is_left() {
    init();
    for t in [Transport::Tcp, Transport::Ipc] {
        let ctx = Context::new();
        let mut pull = socket(&ctx, SocketType::Pull);
        pull.set_rcvhwm(1).unwrap();
        let ep = bind_fresh(&mut pull, t);
        let mut push = socket(&ctx, SocketType::Push);
        push.set_sndhwm(0).unwrap();
        push.connect(&ep).unwrap();
        // Far more than the kernel's buffers hold while the PULL does not read.
        const N: usize = 48;
        for _ in 0..N {
            send(&mut push, vec![7u8; MIB], "a large message");
        }
        let stuck = push.flush(Some(Duration::from_millis(200))).unwrap();
        assert!(!stuck.is_complete(), "{t:?}: the peer reads nothing");
        assert_eq!(stuck.pending.len(), 1);
        let left = stuck.pending[0].pending;
        assert!(left > 0 && left <= N as u64, "{t:?}: pending {left}");
        assert!(stuck.pending[0].reached);
        assert_eq!(push.peers().unwrap()[0].queued, left);

        // Reading on another thread lets everything out; the flush then completes.
        let reader = std::thread::spawn(move || {
            for _ in 0..N {
                recv(&mut pull, "a large message");
            }
            pull
        });
        let done = push.flush(Some(TIMEOUT)).unwrap();
        assert!(done.is_complete(), "{t:?}: {done:?}");
        assert_eq!(done.flushed, left);
        assert_eq!(push.peers().unwrap()[0].queued, 0);
        reader.join().unwrap();
    }
}

#[test]
fn flush_of_a_quiet_socket_or_an_inproc_peer_returns_at_once() {
    init();
    let ctx = Context::new();
    let mut push = socket(&ctx, SocketType::Push);
    assert!(push.flush(Some(Duration::ZERO)).unwrap().is_complete());
    let (mut push, _pull) = push_pull(&ctx, Transport::Inproc);
    push.send("in the peer's queue").unwrap();
    let report = push.flush(Some(Duration::ZERO)).unwrap();
    assert!(report.is_complete(), "{report:?}");
}

#[test]
fn direct_writes_of_replies_count_as_flushed() {
    init();
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind_fresh(&mut rep, Transport::Tcp);
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    for i in 0..50u32 {
        send(&mut req, i.to_le_bytes().to_vec(), "a request");
        let got = recv(&mut rep, "a request");
        send(&mut rep, got, "a reply");
        let report = rep.flush(Some(TIMEOUT)).unwrap();
        assert!(report.is_complete(), "turn {i}: {report:?}");
        recv(&mut req, "a reply");
    }
    let peer = &rep.peers().unwrap()[0];
    assert_eq!((peer.msgs_in, peer.msgs_out, peer.queued), (50, 50, 0));
}

#[test]
fn close_with_reports_unreached_peers() {
    init();
    let ctx = Context::new();
    let mut push = socket(&ctx, SocketType::Push);
    let port = util::free_tcp_port();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    for _ in 0..3 {
        push.send("nobody listens").unwrap();
    }
    let peer = &push.peers().unwrap()[0];
    assert!(!peer.reached);
    assert_eq!(peer.queued, 3);
    let report = push.close_with(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(
        (report.flushed, report.dropped, report.unreached),
        (0, 0, 3)
    );
}

#[test]
fn close_with_reports_flushed_and_dropped() {
    init();
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(1).unwrap();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(0).unwrap();
    push.connect(&ep).unwrap();
    send(&mut push, "first", "a message");
    recv(&mut pull, "the first message"); // the peer is reached
    const N: u64 = 48;
    for _ in 0..N {
        send(&mut push, vec![1u8; MIB], "a large message");
    }
    // What is queued now is at most what the close accounts for: some may still reach
    // the kernel before the close begins.
    let queued = push.peers().unwrap()[0].queued;
    assert!(queued > 0 && queued <= N, "queued {queued}");
    let report = push.close_with(Some(Duration::from_millis(200))).unwrap();
    assert!(report.dropped > 0, "{report:?}");
    assert_eq!(report.unreached, 0);
    assert!(report.flushed + report.dropped <= queued, "{report:?}");
}

#[test]
fn a_slow_subscriber_shows_as_drops_and_events() {
    init();
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    publisher.set_sndhwm(4).unwrap();
    let monitor = publisher.monitor();
    let ep = bind_fresh(&mut publisher, Transport::Inproc);
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.set_rcvhwm(4).unwrap();
    sub.connect(&ep).unwrap();
    sub.subscribe(b"").unwrap();
    publisher.wait_subscribers(b"", 1, TIMEOUT).unwrap();
    for i in 0..1000u32 {
        publisher.send(i.to_le_bytes().to_vec()).unwrap();
    }
    let stats = publisher.stats().unwrap();
    let peer = &stats.peers[0];
    assert_eq!(peer.msgs_out + peer.dropped, 1000, "{peer:?}");
    assert!(peer.dropped >= 1000 - 8, "{peer:?}");
    assert!(peer.hwm_hits >= 1, "{peer:?}");
    assert_eq!(stats.dropped(), peer.dropped);
    expect_event(&monitor, "HWM_REACHED", |e| e.kind == EventKind::HwmReached);
    let dropped = expect_event(&monitor, "MESSAGES_DROPPED", |e| {
        matches!(e.kind, EventKind::MessagesDropped { .. })
    });
    assert!(matches!(
        dropped.kind,
        EventKind::MessagesDropped {
            reason: DropReason::HighWaterMark,
            count,
        } if count >= 1
    ));
    assert!(dropped.endpoint.starts_with("inproc://"), "{dropped}");
}

#[test]
fn a_router_counts_unroutable_messages() {
    init();
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let monitor = router.monitor();
    for _ in 0..3 {
        router.send(vec!["nobody", "hello"]).unwrap();
    }
    let stats = router.stats().unwrap();
    assert_eq!((stats.unroutable, stats.dropped()), (3, 3));
    let event = expect_event(&monitor, "MESSAGES_DROPPED", |e| {
        matches!(e.kind, EventKind::MessagesDropped { .. })
    });
    assert_eq!(
        event.kind,
        EventKind::MessagesDropped {
            reason: DropReason::Unroutable,
            count: 1
        }
    );
}

#[test]
fn conflation_counts_replaced_messages() {
    init();
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.set_conflate(true).unwrap();
    let ep = bind_fresh(&mut pull, Transport::Inproc);
    let mut push = socket(&ctx, SocketType::Push);
    push.set_conflate(true).unwrap();
    push.connect(&ep).unwrap();
    for i in 0..5u8 {
        push.send(vec![i]).unwrap();
    }
    assert_eq!(&recv(&mut pull, "the newest")[0][..], [4]);
    let peer = &push.peers().unwrap()[0];
    assert_eq!((peer.msgs_out, peer.dropped, peer.queued), (5, 4, 0));
}

#[test]
fn reconnects_and_handshake_failures_are_counted() {
    init();
    let ctx = Context::new();
    // A server that wants PLAIN refuses a NULL client: a protocol failure on both sides.
    let mut strict = socket(&ctx, SocketType::Pull);
    strict.set_plain_server(true).unwrap();
    let strict_monitor = strict.monitor();
    let ep = bind_fresh(&mut strict, Transport::Tcp);
    let mut push = socket(&ctx, SocketType::Push);
    let monitor = push.monitor();
    push.connect(&ep).unwrap();
    let failed =
        |e: &ferrozmq::MonitorEvent| matches!(e.kind, EventKind::HandshakeFailedProtocol { .. });
    expect_event(&monitor, "a failed handshake", failed);
    let failures = push.peers().unwrap()[0].handshake_failures;
    assert!(failures.protocol >= 1, "{failures:?}");
    assert!(push.stats().unwrap().handshake_failures.protocol >= 1);
    assert!(!push.peers().unwrap()[0].reached);
    expect_event(&strict_monitor, "the server's failed handshake", failed);
    // Counted before the event is raised.
    assert!(strict.stats().unwrap().handshake_failures.protocol >= 1);
    assert!(
        strict.peers().unwrap().is_empty(),
        "no peer was ever attached"
    );

    // A peer that restarts on the same port: the connect side reconnects once.
    let ctx = Context::new();
    let mut pull = socket(&ctx, SocketType::Pull);
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut push = socket(&ctx, SocketType::Push);
    let monitor = push.monitor();
    push.connect(&ep).unwrap();
    send(&mut push, "one", "a message");
    recv(&mut pull, "the first message");
    drop(pull);
    let mut pull = socket(&ctx, SocketType::Pull);
    util::bind_retry(&mut pull, &ep);
    expect_event(&monitor, "the first handshake", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    expect_event(&monitor, "the second handshake", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    send(&mut push, "two", "a message");
    recv(&mut pull, "the message after the reconnect");
    let peer = &push.peers().unwrap()[0];
    assert_eq!((peer.reconnects, peer.msgs_out), (1, 2), "{peer:?}");
}

#[test]
fn flush_to_a_libzmq_peer_waits_for_the_kernel() {
    init();
    let zctx = zmq::Context::new();
    let zpull = zctx.socket(zmq::PULL).unwrap();
    zpull.set_rcvhwm(1).unwrap();
    zpull.set_linger(0).unwrap();
    zpull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = zpull.get_last_endpoint().unwrap().unwrap();
    let ctx = Context::new();
    let mut push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(0).unwrap();
    push.connect(&ep).unwrap();
    const N: usize = 48;
    for _ in 0..N {
        send(&mut push, vec![3u8; MIB], "a large message");
    }
    let stuck = push.flush(Some(Duration::from_millis(200))).unwrap();
    assert!(!stuck.is_complete(), "libzmq reads nothing yet");
    let reader = std::thread::spawn(move || {
        zpull.set_rcvtimeo(TIMEOUT.as_millis() as i32).unwrap();
        for _ in 0..N {
            assert_eq!(zpull.recv_bytes(0).unwrap().len(), MIB);
        }
    });
    let done = push.flush(Some(TIMEOUT)).unwrap();
    assert!(done.is_complete(), "{done:?}");
    reader.join().unwrap();
}

/// A session decodes no more messages than the socket's queue has room for: what a fast
/// peer sent beyond the receive high-water mark waits in the read buffer as bytes (memory
/// per connection stays bounded however far ahead the peer is), and arrives intact and in
/// order once the application reads.
#[test]
fn a_session_queues_no_more_than_the_receive_hwm() {
    init();
    const N: u32 = 20_000;
    const RCVHWM: u64 = 10;
    for t in [Transport::Ipc, Transport::Tcp] {
        let ctx = Context::new();
        let mut pull = socket(&ctx, SocketType::Pull);
        pull.set_rcvhwm(RCVHWM as usize).unwrap();
        let ep = bind_fresh(&mut pull, t);
        let mut push = socket(&ctx, SocketType::Push);
        push.set_sndhwm(N as usize).unwrap();
        push.connect(&ep).unwrap();
        for i in 0..N {
            send(&mut push, i.to_le_bytes().to_vec(), "a numbered message");
        }
        // Wait until the PULL's session has queued what it will; one read holds thousands
        // of these 6-byte frames, so a session that decoded whole reads would queue them.
        let deadline = util::deadline(TIMEOUT);
        let queued = loop {
            let q = pull.peers().unwrap().first().map_or(0, |p| p.queued_in);
            if q >= RCVHWM {
                break q;
            }
            util::remaining(deadline, "the PULL to queue up to its RCVHWM");
            std::thread::yield_now();
        };
        assert!(
            queued <= RCVHWM + 1,
            "{t:?}: {queued} queued, RCVHWM {RCVHWM}"
        );
        for i in 0..N {
            let m = recv(&mut pull, "a numbered message");
            assert_eq!(m[0], i.to_le_bytes(), "{t:?}: message {i} in order");
        }
        let stats = &pull.peers().unwrap()[0];
        assert_eq!((stats.msgs_in, stats.queued_in), (u64::from(N), 0), "{t:?}");
    }
}
