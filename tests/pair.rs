//! PAIR <-> PAIR over inproc, ipc and tcp, both directions, both bind orders.

mod util;

use ferrozmq::{Context, Message, Socket, SocketType};
use util::*;

fn pair_sockets(ctx: &Context, t: Transport) -> (Socket, Socket) {
    let mut a = ctx.socket(SocketType::Pair).expect("PAIR socket");
    let mut b = ctx.socket(SocketType::Pair).expect("PAIR socket");
    let ep = bind_fresh(&mut a, t);
    b.connect(&ep)
        .unwrap_or_else(|e| panic!("connect({ep}): {e:?}"));
    (a, b)
}

/// `binder` bound, `connecter` connected; messages go both ways, interleaved and in bulk.
fn both_directions(t: Transport) {
    init();
    let ctx = Context::new();
    let (mut binder, mut connecter) = pair_sockets(&ctx, t);
    // The connecter speaks first (its pipe exists from connect), then the binder answers.
    send(&mut connecter, "ping", "ping");
    assert_eq!(text(&recv(&mut binder, "ping")), "ping");
    send(&mut binder, Message::multipart(["pong", "", "2"]), "pong");
    assert_eq!(
        strings(&recv(&mut connecter, "pong")),
        vec!["pong", "", "2"]
    );
    // Both directions at once.
    for k in 0..100 {
        send(&mut binder, format!("b{k}"), "a message from the binder");
        send(
            &mut connecter,
            format!("c{k}"),
            "a message from the connecter",
        );
    }
    for k in 0..100 {
        assert_eq!(
            text(&recv(&mut connecter, "a message from the binder")),
            format!("b{k}")
        );
        assert_eq!(
            text(&recv(&mut binder, "a message from the connecter")),
            format!("c{k}")
        );
    }
    let big = payload(1 << 20, 3);
    send(&mut binder, big.clone(), "1 MiB");
    assert_same_frames(
        &frames(&recv(&mut connecter, "1 MiB")),
        &[big],
        "1 MiB frame",
    );
    assert_nothing(&mut binder, "nothing else was sent to the binder");
    assert_nothing(&mut connecter, "nothing else was sent to the connecter");
}

/// The binder speaks first: its send blocks (bounded) until the connection exists.
fn binder_speaks_first(t: Transport) {
    init();
    let ctx = Context::new();
    let (mut binder, mut connecter) = pair_sockets(&ctx, t);
    send(&mut binder, "first", "the binder's first message");
    assert_eq!(
        text(&recv(&mut connecter, "the binder's first message")),
        "first"
    );
    send(&mut connecter, "reply", "the reply");
    assert_eq!(text(&recv(&mut binder, "the reply")), "reply");
}

#[test]
fn inproc_both_directions() {
    both_directions(Transport::Inproc);
}
#[test]
fn ipc_both_directions() {
    both_directions(Transport::Ipc);
}
#[test]
fn tcp_both_directions() {
    both_directions(Transport::Tcp);
}
#[test]
fn inproc_binder_speaks_first() {
    binder_speaks_first(Transport::Inproc);
}
#[test]
fn ipc_binder_speaks_first() {
    binder_speaks_first(Transport::Ipc);
}
#[test]
fn tcp_binder_speaks_first() {
    binder_speaks_first(Transport::Tcp);
}

/// PAIR is exclusive: once it has a peer, a second one's messages must not reach it.
#[test]
fn tcp_pair_keeps_its_first_peer() {
    init();
    let ctx = Context::new();
    let (mut a, mut b) = pair_sockets(&ctx, Transport::Tcp);
    send(&mut b, "from b", "b's message");
    assert_eq!(text(&recv(&mut a, "b's message")), "from b");
    let ep = a.last_endpoint().unwrap();
    let mut c = ctx.socket(SocketType::Pair).unwrap();
    c.set_linger(Some(std::time::Duration::ZERO)).unwrap();
    c.connect(&ep).unwrap();
    let _ = c.try_send("from c");
    assert_nothing(&mut a, "a second PAIR peer must not get through");
    send(&mut a, "to b", "a's message to b");
    assert_eq!(text(&recv(&mut b, "a's message to b")), "to b");
    send(&mut b, "again", "b's second message");
    assert_eq!(text(&recv(&mut a, "b's second message")), "again");
}

/// A peer that leaves is read to the end before the next one takes over: what it sent is
/// not dropped when a new peer arrives (found by the soak test).
fn a_gone_peer_is_read_to_the_end_before_the_next(t: Transport) {
    init();
    let ctx = Context::new();
    let mut a = bounded_socket(&ctx, SocketType::Pair, TIMEOUT);
    let monitor = a.monitor();
    let ep = bind_fresh(&mut a, t);
    let ctx_b = Context::new();
    let mut b = ctx_b.socket(SocketType::Pair).unwrap();
    b.connect(&ep).unwrap();
    for k in 0..50 {
        send(&mut b, format!("b{k}"), "the first peer's messages");
    }
    assert_eq!(text(&recv(&mut a, "the first message")), "b0");
    // B leaves (lingering until everything went out), and C comes.
    drop(b);
    within(TIMEOUT, "the first peer's linger", move || ctx_b.term());
    let mut c = ctx.socket(SocketType::Pair).unwrap();
    c.set_linger(Some(std::time::Duration::ZERO)).unwrap();
    c.connect(&ep).unwrap();
    send(&mut c, "from c", "the next peer's message");
    // A's side has seen B go and C arrive before A reads on.
    util::events::expect_event(&monitor, "B's connection ending at A", |e| {
        matches!(e.kind, ferrozmq::EventKind::Disconnected { .. })
    });
    util::events::expect_event(&monitor, "C's handshake at A", |e| {
        e.kind == ferrozmq::EventKind::HandshakeSucceeded
    });
    for k in 1..50 {
        assert_eq!(
            text(&recv(&mut a, "the rest of the first peer's")),
            format!("b{k}")
        );
    }
    assert_eq!(text(&recv(&mut a, "then the next peer's")), "from c");
    send(&mut a, "to c", "a reply to the next peer");
    assert_eq!(text(&recv(&mut c, "the reply")), "to c");
}

#[test]
fn tcp_a_gone_peer_is_read_to_the_end_before_the_next() {
    a_gone_peer_is_read_to_the_end_before_the_next(Transport::Tcp);
}

#[test]
fn ipc_a_gone_peer_is_read_to_the_end_before_the_next() {
    a_gone_peer_is_read_to_the_end_before_the_next(Transport::Ipc);
}
