//! The slow-joiner API: `wait_subscribers` on PUB/XPUB and `wait_subscribed` on SUB/XSUB,
//! between ferrozmq sockets over inproc, ipc and tcp, and against libzmq (the `zmq` crate)
//! and pyzmq (`tests/py/zmq_peer.py`).
//!
//! Nothing sleeps: each test relies on the waits under test, bounded by deadlines. A check
//! that something does not happen is a wait that must time out.

mod util;

use ferrozmq::{Context, Error, Socket, SocketType};
use std::time::{Duration, Instant};
use util::{unique_name, IpcFile, QUIET, TIMEOUT};

/// A fresh bind address for `transport`.
fn endpoint(transport: &str) -> String {
    match transport {
        "inproc" => format!("inproc://{}", unique_name("joiner")),
        "ipc" => format!("ipc://{}", util::ipc_path().display()),
        _ => "tcp://127.0.0.1:*".to_owned(),
    }
}

fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let mut s = ctx.socket(kind).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

/// A publisher of `kind` bound on `transport`, and its address.
fn publisher(ctx: &Context, kind: SocketType, transport: &str) -> (Socket, String) {
    let mut p = socket(ctx, kind);
    p.bind(&endpoint(transport)).unwrap();
    let addr = p.last_endpoint().unwrap();
    (p, addr)
}

/// A SUB connected to `addr` with `topics`.
fn subscriber(ctx: &Context, addr: &str, topics: &[&str]) -> Socket {
    let mut s = socket(ctx, SocketType::Sub);
    s.connect(addr).unwrap();
    for t in topics {
        s.subscribe(t).unwrap();
    }
    s
}

#[track_caller]
fn assert_timeout(r: ferrozmq::Result<()>) {
    assert!(
        matches!(r, Err(Error::Timeout)),
        "expected a timeout: {r:?}"
    );
}

/// N subscribers: once the publisher saw them all, its very first message reaches each.
fn first_message_reaches_all(transport: &str) {
    for kind in [SocketType::Pub, SocketType::XPub] {
        let ctx = Context::new();
        let (mut publ, addr) = publisher(&ctx, kind, transport);
        let mut subs: Vec<Socket> = (0..4).map(|_| subscriber(&ctx, &addr, &["news"])).collect();
        publ.wait_subscribers("news.today", subs.len(), TIMEOUT)
            .unwrap();
        publ.send(vec!["news.today", "first"]).unwrap();
        for s in &mut subs {
            let msg = s.recv_timeout(TIMEOUT).unwrap();
            assert_eq!(&msg[1][..], b"first");
        }
    }
}

/// Too few subscribers: the wait times out, and not before its timeout.
fn too_few_subscribers_time_out(transport: &str) {
    let ctx = Context::new();
    let (mut publ, addr) = publisher(&ctx, SocketType::Pub, transport);
    let _subs: Vec<Socket> = (0..2).map(|_| subscriber(&ctx, &addr, &[""])).collect();
    publ.wait_subscribers("x", 2, TIMEOUT).unwrap();
    let start = Instant::now();
    assert_timeout(publ.wait_subscribers("x", 3, QUIET));
    assert!(start.elapsed() >= QUIET);
    // Zero subscribers are always there.
    publ.wait_subscribers("x", 0, Duration::ZERO).unwrap();
}

/// A peer counts for `prefix` when it subscribed to a prefix of it, once however many of
/// its subscriptions match.
fn prefix_semantics(transport: &str) {
    let ctx = Context::new();
    let (mut publ, addr) = publisher(&ctx, SocketType::Pub, transport);
    let _a = subscriber(&ctx, &addr, &["A", "AB", "ABC"]);
    let _ab = subscriber(&ctx, &addr, &["AB"]);
    let _b = subscriber(&ctx, &addr, &["B"]);
    // Subscriptions on one link arrive in order: "ABC" is the last of the first peer's.
    publ.wait_subscribers("ABC", 2, TIMEOUT).unwrap();
    publ.wait_subscribers("B", 1, TIMEOUT).unwrap();
    assert_timeout(publ.wait_subscribers("ABC", 3, QUIET));
    assert_timeout(publ.wait_subscribers("A", 2, QUIET)); // "AB" is no prefix of "A"
    assert_timeout(publ.wait_subscribers("", 1, QUIET)); // nobody subscribed to all
    assert_timeout(publ.wait_subscribers("C", 1, QUIET));
    publ.wait_subscribers("ABZ", 2, Duration::ZERO).unwrap();
    publ.wait_subscribers("Bx", 1, Duration::ZERO).unwrap();
}

/// A subscriber that leaves stops counting.
fn disconnect_lowers_the_count(transport: &str) {
    let ctx = Context::new();
    let (mut publ, addr) = publisher(&ctx, SocketType::Pub, transport);
    let mut stays = subscriber(&ctx, &addr, &["t"]);
    let mut leaves = subscriber(&ctx, &addr, &["t"]);
    publ.wait_subscribers("t", 2, TIMEOUT).unwrap();
    leaves.disconnect(&addr).unwrap();
    if transport == "inproc" {
        // The link is gone at once, and the publisher learns it at its next look.
        assert_timeout(publ.wait_subscribers("t", 2, QUIET));
    } else {
        // The publisher learns it when the connection closes, on its I/O thread.
        let end = Instant::now() + TIMEOUT;
        while publ.wait_subscribers("t", 2, Duration::ZERO).is_ok() {
            assert!(Instant::now() < end, "the publisher still counts 2");
            std::thread::yield_now();
        }
    }
    publ.wait_subscribers("t", 1, Duration::ZERO).unwrap();
    publ.send("t1").unwrap();
    assert_eq!(&stays.recv_timeout(TIMEOUT).unwrap()[0][..], b"t1");
    assert_timeout(leaves.recv_timeout(QUIET).map(drop));
}

/// `wait_subscribed` over the network, then the publisher's own wait: the next message
/// arrives. Also: it waits for a publisher to exist.
fn subscribed_then_next_message_arrives(transport: &str) {
    let ctx = Context::new();
    let mut sub = socket(&ctx, SocketType::Sub);
    assert_timeout(sub.wait_subscribed(QUIET)); // no publisher
    let (mut publ, addr) = publisher(&ctx, SocketType::Pub, transport);
    sub.connect(&addr).unwrap();
    sub.subscribe("a").unwrap();
    sub.subscribe("b").unwrap();
    if transport == "inproc" {
        // The publisher reads subscriptions only in its own calls: until it makes one,
        // they are not consumed.
        assert_timeout(sub.wait_subscribed(QUIET));
        publ.send("b0").unwrap(); // reads them first, then sends
        sub.wait_subscribed(Duration::ZERO).unwrap();
        assert_eq!(&sub.recv_timeout(TIMEOUT).unwrap()[0][..], b"b0");
    } else {
        sub.wait_subscribed(TIMEOUT).unwrap();
        publ.wait_subscribers("b", 1, TIMEOUT).unwrap();
        publ.send("b0").unwrap();
        assert_eq!(&sub.recv_timeout(TIMEOUT).unwrap()[0][..], b"b0");
    }
    // A later subscription: the wait covers it too.
    sub.subscribe("c").unwrap();
    if transport == "inproc" {
        assert_timeout(sub.wait_subscribed(QUIET));
        publ.send("c0").unwrap(); // reads "c" first
        sub.wait_subscribed(Duration::ZERO).unwrap();
    } else {
        sub.wait_subscribed(TIMEOUT).unwrap();
        publ.wait_subscribers("c", 1, TIMEOUT).unwrap();
        publ.send("c0").unwrap();
    }
    assert_eq!(&sub.recv_timeout(TIMEOUT).unwrap()[0][..], b"c0");
}

/// `wait_subscribed` waits for every linked publisher, including one not up yet.
fn subscribed_waits_for_every_publisher(transport: &str) {
    let ctx = Context::new();
    let (mut p1, a1) = publisher(&ctx, SocketType::Pub, transport);
    let mut sub = subscriber(&ctx, &a1, &["x"]);
    let later = endpoint(transport);
    let later = if transport == "tcp" {
        // A free port: bind, note it, unbind.
        let (mut tmp, addr) = publisher(&ctx, SocketType::Pub, "tcp");
        tmp.unbind(&addr).unwrap();
        drop(tmp);
        addr
    } else {
        later
    };
    sub.connect(&later).unwrap();
    p1.wait_subscribers("x", 1, TIMEOUT).unwrap();
    assert_timeout(sub.wait_subscribed(QUIET));
    let mut p2 = socket(&ctx, SocketType::Pub);
    p2.bind(&later).unwrap();
    if transport == "inproc" {
        p2.wait_subscribers("x", 1, TIMEOUT).unwrap();
        sub.wait_subscribed(Duration::ZERO).unwrap();
    } else {
        sub.wait_subscribed(TIMEOUT).unwrap();
    }
}

/// XPUB and XSUB have the waits too; other types do not.
#[test]
fn xpub_xsub_and_other_types() {
    util::init();
    let ctx = Context::new();
    let (mut xpub, addr) = publisher(&ctx, SocketType::XPub, "tcp");
    let mut xsub = socket(&ctx, SocketType::XSub);
    xsub.connect(&addr).unwrap();
    xsub.send(&b"\x01topic"[..]).unwrap();
    xsub.wait_subscribed(TIMEOUT).unwrap();
    xpub.wait_subscribers("topic", 1, TIMEOUT).unwrap();
    assert_eq!(&xpub.recv_timeout(TIMEOUT).unwrap()[0][..], b"\x01topic");
    xpub.send("topic!").unwrap();
    assert_eq!(&xsub.recv_timeout(TIMEOUT).unwrap()[0][..], b"topic!");

    for kind in [
        SocketType::Sub,
        SocketType::XSub,
        SocketType::Push,
        SocketType::Router,
    ] {
        let mut s = socket(&ctx, kind);
        let r = s.wait_subscribers("", 0, Duration::ZERO);
        assert!(
            matches!(r, Err(Error::NotSupported { .. })),
            "{kind:?}: {r:?}"
        );
    }
    for kind in [
        SocketType::Pub,
        SocketType::XPub,
        SocketType::Pull,
        SocketType::Dealer,
    ] {
        let mut s = socket(&ctx, kind);
        let r = s.wait_subscribed(Duration::ZERO);
        assert!(
            matches!(r, Err(Error::NotSupported { .. })),
            "{kind:?}: {r:?}"
        );
    }
}

/// Several subscribers in their own threads, the publisher waiting for them in its own.
#[test]
fn threads_join_then_the_first_message_reaches_all() {
    util::init();
    let ctx = Context::new();
    let (mut publ, addr) = publisher(&ctx, SocketType::Pub, "tcp");
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let (ctx, addr) = (ctx.clone(), addr.clone());
            std::thread::spawn(move || {
                let mut sub = subscriber(&ctx, &addr, &["feed"]);
                sub.wait_subscribed(TIMEOUT).unwrap();
                let msg = sub.recv_timeout(TIMEOUT).unwrap();
                assert_eq!(&msg[0][..], b"feed 1", "subscriber {i}");
            })
        })
        .collect();
    publ.wait_subscribers("feed", 3, TIMEOUT).unwrap();
    publ.send("feed 1").unwrap();
    for h in handles {
        h.join().unwrap();
    }
}

per_transport_name!(
    first_message_reaches_all,
    too_few_subscribers_time_out,
    prefix_semantics,
    disconnect_lowers_the_count,
    subscribed_then_next_message_arrives,
    subscribed_waits_for_every_publisher,
);

// ----- against libzmq -----

fn zsocket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT.as_millis() as i32).unwrap();
    s
}

/// The address to bind on `transport` ("tcp" or "ipc"), and the guard of an ipc path.
fn wire_endpoint(transport: &str) -> (String, Option<IpcFile>) {
    match transport {
        "ipc" => {
            let f = IpcFile::fresh();
            (f.endpoint(), Some(f))
        }
        _ => ("tcp://127.0.0.1:*".to_owned(), None),
    }
}

/// A ferrozmq PUB waits for libzmq SUBs; its first message reaches them all.
#[test]
fn libzmq_subscribers_of_a_ferrozmq_publisher() {
    util::init();
    for transport in ["tcp", "ipc"] {
        for zmq_binds in [false, true] {
            let zctx = zmq::Context::new();
            let ctx = Context::new();
            let mut publ = socket(&ctx, SocketType::Pub);
            let (ep, _guard) = wire_endpoint(transport);
            let subs: Vec<zmq::Socket> = if zmq_binds {
                let z = zsocket(&zctx, zmq::SUB);
                z.set_subscribe(b"news").unwrap();
                z.bind(&ep).unwrap();
                publ.connect(&z.get_last_endpoint().unwrap().unwrap())
                    .unwrap();
                vec![z]
            } else {
                publ.bind(&ep).unwrap();
                let addr = publ.last_endpoint().unwrap();
                (0..2)
                    .map(|_| {
                        let z = zsocket(&zctx, zmq::SUB);
                        z.connect(&addr).unwrap();
                        z.set_subscribe(b"news").unwrap();
                        z
                    })
                    .collect()
            };
            // A libzmq socket takes in a connection it accepted (and, a SUB, sends its
            // subscriptions) only inside one of its own calls: each receives in a thread.
            let n = subs.len();
            let receivers: Vec<_> = subs
                .into_iter()
                .map(|z| std::thread::spawn(move || z.recv_bytes(0)))
                .collect();
            publ.wait_subscribers("news.1", n, TIMEOUT)
                .unwrap_or_else(|e| panic!("{transport} {zmq_binds}: {e}"));
            assert_timeout(publ.wait_subscribers("sport", 1, QUIET));
            publ.send("news.1").unwrap();
            for r in receivers {
                let got = r.join().unwrap();
                assert_eq!(
                    got.as_deref(),
                    Ok(&b"news.1"[..]),
                    "{transport} {zmq_binds}"
                );
            }
        }
    }
}

/// A ferrozmq SUB's subscriptions leave for a libzmq PUB; the publisher then delivers.
#[test]
fn ferrozmq_subscriber_of_a_libzmq_publisher() {
    util::init();
    for transport in ["tcp", "ipc"] {
        for zmq_binds in [true, false] {
            let zctx = zmq::Context::new();
            let ctx = Context::new();
            let z = zsocket(&zctx, zmq::PUB);
            let mut sub = socket(&ctx, SocketType::Sub);
            let (ep, _guard) = wire_endpoint(transport);
            if zmq_binds {
                z.bind(&ep).unwrap();
                sub.connect(&z.get_last_endpoint().unwrap().unwrap())
                    .unwrap();
            } else {
                sub.bind(&ep).unwrap();
                assert_timeout(sub.wait_subscribed(QUIET)); // nobody linked yet
                z.connect(&sub.last_endpoint().unwrap()).unwrap();
            }
            sub.subscribe("news").unwrap();
            sub.wait_subscribed(TIMEOUT).unwrap();
            // The subscription is on the wire; libzmq applies it when it arrives, which no
            // API of a libzmq PUB reveals: publish until it does (each wait bounded).
            let end = Instant::now() + TIMEOUT;
            let got = loop {
                z.send("news.1", 0).unwrap();
                match sub.recv_timeout(Duration::from_millis(20)) {
                    Ok(m) => break m,
                    Err(Error::Timeout) if Instant::now() < end => {}
                    Err(e) => panic!("{transport} {zmq_binds}: {e}"),
                }
            };
            assert_eq!(&got[0][..], b"news.1");
        }
    }
}

// ----- against pyzmq (tests/py/zmq_peer.py; skipped without python3 and pyzmq) -----

/// pyzmq SUBs (subscribed to everything) of a ferrozmq PUB: its first message reaches them.
#[test]
fn pyzmq_subscribers_of_a_ferrozmq_publisher() {
    use util::pyzmq::{opt, require_or_skip, PyPeer};
    if !require_or_skip("pyzmq_subscribers_of_a_ferrozmq_publisher") {
        return;
    }
    let ctx = Context::new();
    let (mut publ, addr) = publisher(&ctx, SocketType::Pub, "tcp");
    let mut subs: Vec<PyPeer> = (0..2)
        .map(|_| PyPeer::spawn(["--type=SUB", &opt("--connect", &addr), "--recv=1"]))
        .collect();
    publ.wait_subscribers("msg-0", subs.len(), TIMEOUT).unwrap();
    publ.send("msg-0").unwrap();
    for s in &mut subs {
        assert_eq!(s.next_message("the first publication"), "msg-0");
        s.wait_success();
    }
}

/// A ferrozmq SUB with a pyzmq publisher (an XPUB that sends once it has a subscriber),
/// either side binding: the wait returns, and the message sent after arrives.
#[test]
fn ferrozmq_subscriber_of_a_pyzmq_publisher() {
    use util::pyzmq::{opt, require_or_skip, PyPeer};
    if !require_or_skip("ferrozmq_subscriber_of_a_pyzmq_publisher") {
        return;
    }
    for py_binds in [true, false] {
        let ctx = Context::new();
        let mut sub = socket(&ctx, SocketType::Sub);
        sub.subscribe("msg").unwrap();
        let mut py = if py_binds {
            let py = PyPeer::spawn(["--type=PUB", "--bind=tcp://127.0.0.1:0", "--send=1"]);
            sub.connect(py.endpoint()).unwrap();
            py
        } else {
            sub.bind("tcp://127.0.0.1:*").unwrap();
            let addr = sub.last_endpoint().unwrap();
            PyPeer::spawn(["--type=PUB", &opt("--connect", &addr), "--send=1"])
        };
        sub.wait_subscribed(TIMEOUT)
            .unwrap_or_else(|e| panic!("pyzmq binds: {py_binds}: {e}"));
        assert_eq!(&sub.recv_timeout(TIMEOUT).unwrap()[0][..], b"msg-0");
        py.wait_success();
    }
}
