//! DEALER/ROUTER over inproc, ipc and tcp: explicit and generated routing ids,
//! `router_mandatory`, `router_handover`, `probe_router`, `connect_routing_id` (ROUTER to
//! ROUTER), load balancing and fair queueing.
//!
//! Every wait is bounded by a receive timeout, a poll timeout or a deadline; nothing sleeps.

mod util;

use bytes::Bytes;
use ferrozmq::{poll, Context, Error, Message, PollEvents, PollItem, Socket, SocketType};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);
/// How long to wait for something that must not arrive.
const QUIET: Duration = Duration::from_millis(200);

fn socket(ctx: &Context, kind: SocketType) -> Socket {
    util::bounded_socket(ctx, kind, WAIT)
}

/// Binds `s` on a fresh endpoint and returns the address to connect to.
fn bind(s: &mut Socket, transport: &str) -> String {
    util::bind_fresh(s, util::Transport::named(transport))
}

fn dealer_with_id(ctx: &Context, id: &str, ep: &str) -> Socket {
    let mut d = socket(ctx, SocketType::Dealer);
    if !id.is_empty() {
        d.set_routing_id(id.to_owned()).unwrap();
    }
    d.connect(ep).unwrap();
    d
}

fn routed(id: impl Into<Bytes>, body: &str) -> Message {
    Message::multipart([id.into(), Bytes::from(body.to_owned())])
}

fn explicit_ids(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let names = ["alpha", "beta", "gamma"];
    let mut dealers: Vec<Socket> = names.iter().map(|n| dealer_with_id(&ctx, n, &ep)).collect();
    for (d, n) in dealers.iter_mut().zip(names) {
        d.send(format!("hello from {n}")).unwrap();
    }
    for _ in 0..3 {
        let m = router.recv().unwrap();
        assert_eq!(m.len(), 2);
        let id = std::str::from_utf8(&m[0]).unwrap().to_owned();
        assert_eq!(m[1], format!("hello from {id}").as_bytes());
        router
            .send(routed(id.clone(), &format!("to {id}")))
            .unwrap();
    }
    for (d, n) in dealers.iter_mut().zip(names) {
        assert_eq!(d.recv().unwrap(), Message::from(format!("to {n}")));
    }
}

fn generated_ids(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut a = dealer_with_id(&ctx, "", &ep);
    let mut b = dealer_with_id(&ctx, "", &ep);
    a.send("a").unwrap();
    b.send("b").unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let m = router.recv().unwrap();
        assert_eq!(m[0].len(), 5, "generated id {:?}", m[0]);
        assert_eq!(m[0][0], 0);
        ids.push((m[0].clone(), m[1].clone()));
    }
    assert_ne!(ids[0].0, ids[1].0);
    for (id, body) in &ids {
        let mut reply = Message::from(id.clone());
        reply.push_back(Bytes::from([b"re:", &body[..]].concat()));
        router.send(reply).unwrap();
    }
    assert_eq!(a.recv().unwrap(), Message::from("re:a"));
    assert_eq!(b.recv().unwrap(), Message::from("re:b"));
}

fn mandatory_and_unroutable(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut d = dealer_with_id(&ctx, "known", &ep);
    d.send("hi").unwrap();
    assert_eq!(router.recv().unwrap(), routed("known", "hi"));

    // Without mandatory: dropped silently, and sending carries on.
    router.send(routed("unknown", "lost")).unwrap();
    router.send(Message::from("known")).unwrap(); // No body: dropped too.
    router.send(routed("known", "first")).unwrap();
    assert_eq!(d.recv().unwrap(), Message::from("first"));

    router.set_router_mandatory(true).unwrap();
    let e = router.send(routed("unknown", "x")).unwrap_err();
    assert!(matches!(e.error, Error::HostUnreachable), "{:?}", e.error);
    assert_eq!(e.message, routed("unknown", "x"));
    router.send(routed("known", "second")).unwrap();
    assert_eq!(d.recv().unwrap(), Message::from("second"));
    assert!(matches!(d.try_recv(), Err(Error::WouldBlock)));
}

fn handover(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    router.set_router_handover(true).unwrap();
    let ep = bind(&mut router, t);
    let mut old = dealer_with_id(&ctx, "X", &ep);
    old.send("old").unwrap();
    assert_eq!(router.recv().unwrap(), routed("X", "old"));
    let mut new = dealer_with_id(&ctx, "X", &ep);
    new.send("new").unwrap();
    assert_eq!(router.recv().unwrap(), routed("X", "new"));
    router.send(routed("X", "for the new one")).unwrap();
    assert_eq!(new.recv().unwrap(), Message::from("for the new one"));
    assert!(old.recv_timeout(QUIET).is_err());
}

fn duplicate_id_without_handover(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut first = dealer_with_id(&ctx, "X", &ep);
    first.send("first").unwrap();
    assert_eq!(router.recv().unwrap(), routed("X", "first"));
    let mut second = dealer_with_id(&ctx, "X", &ep);
    second.send("second").unwrap();
    // As libzmq: the second peer is ignored while the first holds the id...
    assert!(
        router.recv_timeout(QUIET).is_err(),
        "the second peer must wait"
    );
    router.send(routed("X", "to first")).unwrap();
    assert_eq!(first.recv().unwrap(), Message::from("to first"));
    // ... and takes it, with its queued message, once the first is gone.
    first.close();
    assert_eq!(router.recv().unwrap(), routed("X", "second"));
    router.send(routed("X", "to second")).unwrap();
    assert_eq!(second.recv().unwrap(), Message::from("to second"));
}

fn probe_router(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut d = socket(&ctx, SocketType::Dealer);
    d.set_routing_id("prober").unwrap();
    d.set_probe_router(true).unwrap();
    d.connect(&ep).unwrap();
    // The ROUTER hears of the DEALER without it sending anything.
    assert_eq!(router.recv().unwrap(), routed("prober", ""));
    router.send(routed("prober", "welcome")).unwrap();
    assert_eq!(d.recv().unwrap(), Message::from("welcome"));
}

fn router_to_router(t: &str) {
    let ctx = Context::new();
    let mut server = socket(&ctx, SocketType::Router);
    let ep = bind(&mut server, t);
    let mut client = socket(&ctx, SocketType::Router);
    client.set_routing_id("client").unwrap();
    client.set_probe_router(true).unwrap();
    client.set_router_mandatory(true).unwrap();
    client.set_connect_routing_id("server").unwrap();
    client.connect(&ep).unwrap();
    // The client's link is made when its handshake completes and the client next looks
    // at its mailbox; here it does so inside `recv`, while the server (in another thread)
    // waits for the probe that tells it the client is there.
    std::thread::scope(|scope| {
        let server_side = scope.spawn(|| {
            assert_eq!(server.recv().unwrap(), routed("client", ""));
            server.send(routed("client", "hi client")).unwrap();
            server.recv().unwrap()
        });
        assert_eq!(client.recv().unwrap(), routed("server", "hi client"));
        client.send(routed("server", "hi server")).unwrap();
        assert_eq!(server_side.join().unwrap(), routed("client", "hi server"));
    });
}

fn dealer_balances_and_router_fair_queues(t: &str) {
    let ctx = Context::new();
    let mut r1 = socket(&ctx, SocketType::Router);
    let ep1 = bind(&mut r1, t);
    let mut r2 = socket(&ctx, SocketType::Router);
    let ep2 = bind(&mut r2, t);
    let mut d = socket(&ctx, SocketType::Dealer);
    d.connect(&ep1).unwrap();
    d.connect(&ep2).unwrap();
    for i in 0..10 {
        d.send(i.to_string()).unwrap();
    }
    let mut counts = [0, 0];
    for _ in 0..10 {
        let mut items = [
            PollItem::new(&mut r1, PollEvents::READABLE),
            PollItem::new(&mut r2, PollEvents::READABLE),
        ];
        assert!(poll(&mut items, Some(WAIT)).unwrap() > 0);
        let i = usize::from(!items[0].is_readable());
        items[i].socket().try_recv().unwrap();
        counts[i] += 1;
    }
    assert_eq!(counts, [5, 5]);

    // Fair queueing: two DEALERs with a backlog each are served in turn.
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut a = dealer_with_id(&ctx, "a", &ep);
    let mut b = dealer_with_id(&ctx, "b", &ep);
    for i in 0..5 {
        a.send(format!("a{i}")).unwrap();
        b.send(format!("b{i}")).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 10 {
        let m = router.recv().unwrap();
        got.push(String::from_utf8(m[1].to_vec()).unwrap());
    }
    for name in ["a", "b"] {
        let mine: Vec<&String> = got.iter().filter(|g| g.starts_with(name)).collect();
        let expected: Vec<String> = (0..5).map(|i| format!("{name}{i}")).collect();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "per-peer order");
    }
}

fn departed_peer_is_unroutable(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    router.set_router_mandatory(true).unwrap();
    let ep = bind(&mut router, t);
    let mut d = dealer_with_id(&ctx, "gone", &ep);
    d.send("hi").unwrap();
    assert_eq!(router.recv().unwrap(), routed("gone", "hi"));
    drop(d);
    let deadline = Instant::now() + WAIT;
    loop {
        match router.try_send(routed("gone", "x")) {
            Err(e) if matches!(e.error, Error::HostUnreachable) => break,
            Ok(()) => {}
            Err(e) => panic!("unexpected {:?}", e.error),
        }
        assert!(
            Instant::now() < deadline,
            "the departed peer is still routable"
        );
        // Wait for news from the I/O thread (the disconnect) for a bounded time.
        let _ = router.recv_timeout(Duration::from_millis(20));
    }
}

#[test]
fn mandatory_full_peer_would_block_then_succeeds() {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    router.set_sndhwm(1).unwrap();
    router.set_router_mandatory(true).unwrap();
    router.bind("inproc://router-dealer-full").unwrap();
    let mut d = socket(&ctx, SocketType::Dealer);
    d.set_rcvhwm(1).unwrap();
    d.set_routing_id("slow").unwrap();
    d.connect("inproc://router-dealer-full").unwrap();
    d.send("hi").unwrap();
    router.recv().unwrap();
    let mut sent = 0;
    let err = loop {
        match router.try_send(routed("slow", "m")) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 100, "the HWM never applied");
    };
    assert!(matches!(err.error, Error::WouldBlock), "{:?}", err.error);
    assert_eq!(err.message, routed("slow", "m"));
    assert!(sent >= 1);
    // Without mandatory the same send is dropped silently.
    router.set_router_mandatory(false).unwrap();
    router.try_send(routed("slow", "dropped")).unwrap();
    router.set_router_mandatory(true).unwrap();
    d.recv().unwrap();
    router.send_timeout(routed("slow", "after"), WAIT).unwrap();
    let mut rest = Vec::new();
    while let Ok(m) = d.try_recv() {
        rest.push(m);
    }
    assert_eq!(rest.last(), Some(&Message::from("after")));
    assert!(!rest.contains(&Message::from("dropped")));
}

#[test]
fn options_are_checked_per_type() {
    let ctx = Context::new();
    let mut dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_probe_router(true).unwrap();
    assert!(matches!(
        dealer.set_router_mandatory(true),
        Err(Error::NotSupported { .. })
    ));
    assert!(matches!(
        dealer.set_req_correlate(true),
        Err(Error::NotSupported { .. })
    ));
    let mut router = ctx.socket(SocketType::Router).unwrap();
    router.set_router_handover(true).unwrap();
    router.set_probe_router(true).unwrap();
    assert!(matches!(
        router.set_req_relaxed(true),
        Err(Error::NotSupported { .. })
    ));
}

per_transport_name!(
    explicit_ids,
    generated_ids,
    mandatory_and_unroutable,
    handover,
    duplicate_id_without_handover,
    probe_router,
    router_to_router,
    dealer_balances_and_router_fair_queues,
    departed_peer_is_unroutable,
);

/// A ROUTER watched only through `poll` admits a reconnecting peer with a fixed routing id
/// once its old connection is gone: the old link, found closed while polling, frees the id
/// (found by the soak test, where such a peer stayed parked for good).
#[test]
fn a_polled_router_admits_a_reconnected_fixed_id_peer() {
    use ferrozmq::EventKind;
    util::init();
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let monitor = router.monitor();
    let ep = bind(&mut router, "tcp");
    let mut first = dealer_with_id(&ctx, "X", &ep);
    first.set_linger(Some(Duration::ZERO)).unwrap();
    first.send("a").unwrap();
    let wait_readable = |router: &mut Socket| {
        let mut items = [PollItem::new(router, PollEvents::READABLE)];
        assert_eq!(
            poll(&mut items, Some(util::TIMEOUT)).unwrap(),
            1,
            "router readable"
        );
    };
    wait_readable(&mut router);
    assert_eq!(router.try_recv().unwrap(), routed("X", "a"));
    wait_nothing(&mut router);
    util::events::expect_event(&monitor, "the first's handshake", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    drop(first);
    util::events::expect_event(&monitor, "the first's connection ending", |e| {
        matches!(e.kind, EventKind::Disconnected { .. })
    });
    // The router has not looked since: the gone link still holds "X", so the second waits.
    let mut second = dealer_with_id(&ctx, "X", &ep);
    second.send("b").unwrap();
    util::events::expect_event(&monitor, "the second's handshake", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    wait_readable(&mut router);
    assert_eq!(router.try_recv().unwrap(), routed("X", "b"));
}

/// Polls `router` briefly, so that its empty links leave the rotation.
fn wait_nothing(router: &mut Socket) {
    let mut items = [PollItem::new(router, PollEvents::READABLE)];
    assert_eq!(poll(&mut items, Some(util::QUIET)).unwrap(), 0);
}
