//! PUB/SUB/XPUB/XSUB behaviour over inproc, ipc and tcp.
//!
//! Synchronisation never sleeps: a subscriber's subscriptions reach the publisher
//! asynchronously, so each test first has the publisher repeat a probe on a topic the
//! subscriber subscribed to *last* until one arrives (subscriptions travel in order, so all
//! earlier ones are in force), and ends each phase with an `!end` marker: everything the
//! publisher sent to that subscriber before the marker has arrived when the marker does,
//! which also proves what did *not* arrive. XSUB subscribers (which do not filter) show
//! that filtering happens at the publisher.

use ferrozmq::{Context, Error, Message, Socket, SocketType};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

static N: AtomicUsize = AtomicUsize::new(0);

/// One bind address per transport, unique within the test run.
fn endpoints(name: &str) -> Vec<String> {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir();
    vec![
        format!("inproc://ps-{name}-{n}"),
        format!(
            "ipc://{}/fz-ps-{}-{n}.sock",
            dir.display(),
            std::process::id()
        ),
        "tcp://127.0.0.1:*".to_string(),
    ]
}

fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let mut s = ctx.socket(kind).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

/// Binds `binder` on `ep` and returns the address to connect to.
fn bind(binder: &mut Socket, ep: &str) -> String {
    binder.bind(ep).unwrap();
    binder.last_endpoint().unwrap()
}

fn text(m: &Message) -> String {
    m.iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join("|")
}

/// Subscribes every subscriber to `topic` (last), then repeats `topic`+"sync" until each
/// has received one.
fn sync(publ: &mut Socket, subs: &mut [&mut Socket], topic: &str) {
    for s in subs.iter_mut() {
        s.subscribe(topic).unwrap();
    }
    let probe = format!("{topic}sync");
    let mut done = vec![false; subs.len()];
    let deadline = Instant::now() + T;
    while done.contains(&false) {
        assert!(Instant::now() < deadline, "subscribers never synchronised");
        publ.send(probe.as_str()).unwrap();
        for (i, s) in subs.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            match s.recv_timeout(Duration::from_millis(20)) {
                Ok(m) => done[i] |= m[0] == probe.as_bytes(),
                Err(Error::Timeout) => {}
                Err(e) => panic!("recv: {e}"),
            }
        }
    }
}

/// What arrives before `!end`, without the probes.
fn collect(sub: &mut Socket) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let m = sub.recv_timeout(T).expect("the end marker");
        if m[0].ends_with(b"sync") {
            continue;
        }
        if &m[0][..] == b"!end" {
            return got;
        }
        got.push(text(&m));
    }
}

fn publish(publ: &mut Socket, msgs: &[&str]) {
    for m in msgs {
        publ.send(*m).unwrap();
    }
    publ.send("!end").unwrap();
}

fn recv_text(s: &mut Socket) -> String {
    match s.recv_timeout(T) {
        Ok(m) => text(&m),
        Err(e) => panic!("no message on {:?}: {e}", s.last_endpoint()),
    }
}

// ----- filtering -----

fn filtering(sub_kind: SocketType, publ_binds: bool) {
    for ep in endpoints("filter") {
        let ctx = Context::new();
        let mut publ = socket(&ctx, SocketType::Pub);
        let mut sub = socket(&ctx, sub_kind);
        if publ_binds {
            let addr = bind(&mut publ, &ep);
            sub.connect(&addr).unwrap();
        } else {
            let addr = bind(&mut sub, &ep);
            publ.connect(&addr).unwrap();
        }
        sub.subscribe("A").unwrap();
        sub.subscribe("AB").unwrap();
        sub.subscribe("B").unwrap();
        sync(&mut publ, &mut [&mut sub], "!");
        publish(&mut publ, &["ABC", "A1", "B1", "C1", "XA", ""]);
        assert_eq!(collect(&mut sub), ["ABC", "A1", "B1"], "{ep}");

        sub.unsubscribe("B").unwrap();
        sub.unsubscribe("A").unwrap();
        sync(&mut publ, &mut [&mut sub], "#");
        publish(&mut publ, &["ABC", "A2", "B2"]);
        assert_eq!(collect(&mut sub), ["ABC"], "{ep}: only AB is left");

        // Counted: subscribing twice needs two unsubscribes.
        sub.subscribe("C").unwrap();
        sub.subscribe("C").unwrap();
        sub.unsubscribe("C").unwrap();
        sync(&mut publ, &mut [&mut sub], "$");
        publish(&mut publ, &["C3"]);
        assert_eq!(collect(&mut sub), ["C3"], "{ep}");
        sub.unsubscribe("C").unwrap();
        sync(&mut publ, &mut [&mut sub], "%");
        publish(&mut publ, &["C4", "AB4"]);
        assert_eq!(collect(&mut sub), ["AB4"], "{ep}");
    }
}

#[test]
fn sub_filters_by_prefix() {
    filtering(SocketType::Sub, true);
}

#[test]
fn sub_filters_by_prefix_when_sub_binds() {
    filtering(SocketType::Sub, false);
}

#[test]
fn publisher_filters_for_xsub() {
    filtering(SocketType::XSub, true);
}

#[test]
fn empty_prefix_gets_everything_and_no_subscription_nothing() {
    for ep in endpoints("all") {
        let ctx = Context::new();
        let mut publ = socket(&ctx, SocketType::Pub);
        let addr = bind(&mut publ, &ep);
        let mut all = socket(&ctx, SocketType::XSub);
        all.connect(&addr).unwrap();
        let mut none = socket(&ctx, SocketType::XSub);
        none.connect(&addr).unwrap();
        all.subscribe("").unwrap();
        sync(&mut publ, &mut [&mut all, &mut none], "!");
        publish(&mut publ, &["a", "", "zzz"]);
        assert_eq!(collect(&mut all), ["a", "", "zzz"], "{ep}");
        assert!(collect(&mut none).is_empty(), "{ep}");
    }
}

#[test]
fn multipart_is_filtered_on_the_first_frame_and_delivered_whole() {
    for ep in endpoints("multi") {
        let ctx = Context::new();
        let mut publ = socket(&ctx, SocketType::Pub);
        let addr = bind(&mut publ, &ep);
        let mut sub = socket(&ctx, SocketType::Sub);
        sub.connect(&addr).unwrap();
        sub.subscribe("A").unwrap();
        sync(&mut publ, &mut [&mut sub], "!");
        publ.send(vec!["B", "A"]).unwrap();
        publ.send(vec!["A", "x", "y"]).unwrap();
        publ.send(vec!["", "A"]).unwrap();
        publish(&mut publ, &[]);
        assert_eq!(collect(&mut sub), ["A|x|y"], "{ep}");
    }
}

#[test]
fn pub_drops_for_a_slow_subscriber_only() {
    for ep in endpoints("hwm") {
        let ctx = Context::new();
        let mut publ = socket(&ctx, SocketType::Pub);
        publ.set_sndhwm(10).unwrap();
        let addr = bind(&mut publ, &ep);
        let mut fast = socket(&ctx, SocketType::Sub);
        let mut slow = socket(&ctx, SocketType::Sub);
        for s in [&mut fast, &mut slow] {
            s.set_rcvhwm(10).unwrap();
            s.connect(&addr).unwrap();
            s.subscribe("m").unwrap();
        }
        sync(&mut publ, &mut [&mut fast, &mut slow], "!");
        // Enough bytes to fill the kernel buffers of a stream connection several times.
        let total = if ep.starts_with("inproc") {
            1000
        } else {
            20_000
        };
        let body = vec![b'm'; 1000];
        for i in 0..total {
            publ.try_send(body.clone()).expect("PUB never blocks");
            // Lock-step: the fast subscriber takes each message before the next is sent.
            let m = fast
                .recv_timeout(T)
                .expect("fast subscriber misses nothing");
            assert_eq!(m[0].len(), 1000, "message {i}");
        }
        let mut slow_got = 0;
        while slow.recv_timeout(Duration::from_millis(500)).is_ok() {
            slow_got += 1;
        }
        assert!(slow_got >= 10, "{ep}: slow got {slow_got}");
        assert!(slow_got < total, "{ep}: slow got everything");
    }
}

// ----- XPUB -----

#[test]
fn xpub_passes_up_new_subscriptions_and_last_cancels() {
    for ep in endpoints("xpub") {
        let ctx = Context::new();
        let mut xpub = socket(&ctx, SocketType::XPub);
        let addr = bind(&mut xpub, &ep);
        let mut s1 = socket(&ctx, SocketType::Sub);
        s1.connect(&addr).unwrap();
        let mut s2 = socket(&ctx, SocketType::Sub);
        s2.connect(&addr).unwrap();

        s1.subscribe("A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x01A", "{ep}");
        s2.subscribe("A").unwrap();
        s2.subscribe("B").unwrap();
        assert_eq!(
            recv_text(&mut xpub),
            "\x01B",
            "{ep}: the second A is not new"
        );

        s1.unsubscribe("A").unwrap();
        s1.subscribe("C").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x01C", "{ep}: s2 still has A");
        s2.unsubscribe("A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x00A", "{ep}");

        // A peer that goes away cancels what only it had.
        drop(s2);
        assert_eq!(recv_text(&mut xpub), "\x00B", "{ep}");
        assert!(matches!(xpub.try_recv(), Err(Error::WouldBlock)), "{ep}");
    }
}

#[test]
fn xpub_verbose_and_verboser() {
    for ep in endpoints("verbose") {
        let ctx = Context::new();
        let mut xpub = socket(&ctx, SocketType::XPub);
        xpub.set_xpub_verbose(true).unwrap();
        let addr = bind(&mut xpub, &ep);
        let mut s1 = socket(&ctx, SocketType::Sub);
        s1.connect(&addr).unwrap();
        let mut s2 = socket(&ctx, SocketType::Sub);
        s2.connect(&addr).unwrap();
        s1.subscribe("A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x01A", "{ep}");
        s2.subscribe("A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x01A", "{ep}: verbose repeats");
        // Verbose only: a cancel that leaves a subscriber is not passed up.
        s1.unsubscribe("A").unwrap();
        s1.subscribe("X").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x01X", "{ep}");

        xpub.set_xpub_verboser(true).unwrap();
        s1.subscribe("A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x01A", "{ep}");
        s1.unsubscribe("A").unwrap();
        assert_eq!(
            recv_text(&mut xpub),
            "\x00A",
            "{ep}: verboser passes every cancel"
        );
        s2.unsubscribe("A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x00A", "{ep}");
    }
}

#[test]
fn xpub_manual_mode() {
    for ep in endpoints("manual") {
        let ctx = Context::new();
        let mut xpub = socket(&ctx, SocketType::XPub);
        xpub.set_xpub_manual(true).unwrap();
        let addr = bind(&mut xpub, &ep);
        let mut xsub = socket(&ctx, SocketType::XSub);
        xsub.connect(&addr).unwrap();

        xsub.send("\x01A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x01A", "{ep}");
        // The application decides: this peer gets "B" and "!", not "A".
        xpub.subscribe("B").unwrap();
        xpub.subscribe("!").unwrap();
        publish(&mut xpub, &["A1", "B1"]);
        assert_eq!(collect(&mut xsub), ["B1"], "{ep}");

        xsub.send("\x01A").unwrap();
        assert_eq!(
            recv_text(&mut xpub),
            "\x01A",
            "{ep}: manual passes up every one"
        );
        // The XSUB counts: two subscribes need two cancels, and only the last goes up.
        xsub.send("\x00A").unwrap();
        xsub.send("\x00A").unwrap();
        assert_eq!(recv_text(&mut xpub), "\x00A", "{ep}");
        xpub.unsubscribe("B").unwrap();
        xpub.subscribe("A").unwrap();
        publish(&mut xpub, &["A2", "B2"]);
        assert_eq!(collect(&mut xsub), ["A2"], "{ep}");
    }
}

#[test]
fn xpub_subscribe_needs_manual_mode_and_pub_cannot_recv() {
    let ctx = Context::new();
    let mut xpub = socket(&ctx, SocketType::XPub);
    assert!(xpub.subscribe("A").is_err());
    let mut publ = socket(&ctx, SocketType::Pub);
    assert!(matches!(publ.try_recv(), Err(Error::NotSupported { .. })));
    let mut sub = socket(&ctx, SocketType::Sub);
    assert!(matches!(
        sub.try_send("x"),
        Err(ferrozmq::SendError {
            error: Error::NotSupported { .. },
            ..
        })
    ));
}

#[test]
fn xsub_forwards_subscriptions_and_messages_upstream() {
    for ep in endpoints("proxy") {
        let ctx = Context::new();
        // upstream XPUB <- proxy XSUB ... proxy XPUB <- SUB
        let mut upstream = socket(&ctx, SocketType::XPub);
        let up_addr = bind(&mut upstream, &ep);
        let mut front = socket(&ctx, SocketType::XPub);
        let front_ep = endpoints("proxy-front").swap_remove(0);
        let front_addr = bind(&mut front, &front_ep);
        let mut back = socket(&ctx, SocketType::XSub);
        back.connect(&up_addr).unwrap();
        let mut sub = socket(&ctx, SocketType::Sub);
        sub.connect(&front_addr).unwrap();

        sub.subscribe("T").unwrap();
        let subscription = front.recv_timeout(T).unwrap();
        assert_eq!(text(&subscription), "\x01T");
        back.send(subscription).unwrap();
        assert_eq!(recv_text(&mut upstream), "\x01T", "{ep}");

        upstream.send(vec!["T", "hello"]).unwrap();
        let m = back.recv_timeout(T).unwrap();
        front.send(m).unwrap();
        assert_eq!(recv_text(&mut sub), "T|hello", "{ep}");

        // Plain messages from an XSUB go upstream too, and reach the XPUB's application.
        back.send(vec!["up", "stream"]).unwrap();
        assert_eq!(recv_text(&mut upstream), "up|stream", "{ep}");
        sub.unsubscribe("T").unwrap();
        let cancel = front.recv_timeout(T).unwrap();
        back.send(cancel).unwrap();
        assert_eq!(recv_text(&mut upstream), "\x00T", "{ep}");
    }
}

#[test]
fn xsub_sends_its_subscriptions_to_late_peers() {
    for ep in endpoints("late") {
        let ctx = Context::new();
        let mut xsub = socket(&ctx, SocketType::XSub);
        let addr = bind(&mut xsub, &ep);
        xsub.subscribe("A").unwrap();
        xsub.subscribe("A").unwrap();
        xsub.subscribe("B").unwrap();
        let mut xpub = socket(&ctx, SocketType::XPub);
        xpub.connect(&addr).unwrap();
        // The XSUB learns of its new peer when it next looks at its mailbox (any call).
        let mut got = Vec::new();
        let deadline = Instant::now() + T;
        while got.len() < 2 {
            assert!(Instant::now() < deadline, "{ep}: got only {got:?}");
            assert!(matches!(xsub.try_recv(), Err(Error::WouldBlock)));
            if let Ok(m) = xpub.recv_timeout(Duration::from_millis(20)) {
                got.push(text(&m));
            }
        }
        got.sort();
        assert_eq!(got, ["\x01A", "\x01B"], "{ep}: each topic once");
        assert!(
            xpub.recv_timeout(Duration::from_millis(100)).is_err(),
            "{ep}"
        );
    }
}

#[test]
fn subscriptions_are_resent_after_a_reconnect() {
    let ctx = Context::new();
    let mut xpub = socket(&ctx, SocketType::XPub);
    let addr = bind(&mut xpub, "tcp://127.0.0.1:*");
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    sub.connect(&addr).unwrap();
    sub.subscribe("A").unwrap();
    sub.subscribe("B").unwrap();
    assert_eq!(recv_text(&mut xpub), "\x01A");
    assert_eq!(recv_text(&mut xpub), "\x01B");
    drop(xpub);

    let mut xpub = socket(&ctx, SocketType::XPub);
    let deadline = Instant::now() + T;
    while let Err(e) = xpub.bind(&addr) {
        assert!(Instant::now() < deadline, "rebinding {addr}: {e}");
        std::thread::yield_now();
    }
    // The SUB resends when it next looks at its mailbox (as libzmq's does on a hiccup).
    let mut got = Vec::new();
    let deadline = Instant::now() + T;
    while got.len() < 2 {
        assert!(Instant::now() < deadline, "got only {got:?}");
        assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
        if let Ok(m) = xpub.recv_timeout(Duration::from_millis(20)) {
            got.push(text(&m));
        }
    }
    got.sort();
    assert_eq!(got, ["\x01A", "\x01B"]);

    // And the subscriber gets what the new publisher sends.
    let deadline = Instant::now() + T;
    loop {
        assert!(Instant::now() < deadline, "nothing after the reconnect");
        xpub.send("A-again").unwrap();
        if let Ok(m) = sub.recv_timeout(Duration::from_millis(20)) {
            assert_eq!(text(&m), "A-again");
            break;
        }
    }
}

#[test]
fn sub_try_recv_skips_filtered_messages() {
    let ctx = Context::new();
    let mut publ = socket(&ctx, SocketType::Pub);
    let addr = bind(&mut publ, "inproc://ps-poll");
    let mut sub = socket(&ctx, SocketType::Sub);
    sub.connect(&addr).unwrap();
    sync(&mut publ, &mut [&mut sub], "!");
    // Drain stray probes; after that, a filtered-out message leaves nothing to receive.
    while sub.try_recv().is_ok() {}
    publ.send("nope").unwrap();
    assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
    publ.send("!yes").unwrap();
    assert_eq!(text(&sub.try_recv().unwrap()), "!yes");
}
