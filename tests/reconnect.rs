//! Reconnection: a connecting PUSH survives its peer going away and coming back on the
//! same address, and can connect before the peer exists at all.

mod util;

use ferrozmq::{Context, Error, Socket, SocketType};
use std::io::Read;
use std::time::{Duration, Instant};
use util::*;

fn push_with_fast_reconnect(ctx: &Context) -> Socket {
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    push.set_reconnect_ivl_max(Duration::ZERO).unwrap();
    push
}

fn port_of(ep: &str) -> u16 {
    ep.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {ep}"))
}

/// Binds a plain std listener on 127.0.0.1:`port`, retrying while the port is still held.
fn std_listener(port: u16) -> std::net::TcpListener {
    let end = deadline(TIMEOUT);
    loop {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => return l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("could not bind 127.0.0.1:{port} again: {e}"),
        }
    }
}

/// Waits for the next connection on `port` and checks that it starts with a ZMTP signature.
/// Seeing the PUSH reconnect proves it has noticed the old connection is gone, so every
/// message sent afterwards is queued for the next peer instead of going down a dead link.
fn wait_for_reconnect_attempt(port: u16) {
    let listener = std_listener(port);
    let mut stream = within(TIMEOUT, "the PUSH's reconnect attempt", move || {
        let (s, _) = listener.accept().expect("accept");
        s
    });
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut sig = [0u8; 10];
    stream
        .read_exact(&mut sig)
        .expect("the reconnecting PUSH should send a ZMTP greeting");
    assert_eq!(sig[0], 0xFF, "ZMTP signature starts with 0xFF: {sig:?}");
    assert_eq!(sig[9], 0x7F, "ZMTP signature ends with 0x7F: {sig:?}");
    // Dropping the stream (and the listener, already gone) makes the handshake fail; the
    // PUSH keeps retrying until the real PULL is back.
}

#[test]
fn push_reconnects_after_pull_restarts_on_same_port() {
    reconnects_after_pull_restarts(false);
}

/// A host name is looked up before every connect attempt, as libzmq does: connecting by
/// name works, and so does reconnecting (with a fresh lookup) after the peer restarts.
#[test]
fn push_connected_by_host_name_reconnects_after_pull_restarts() {
    reconnects_after_pull_restarts(true);
}

/// Binds a PULL on `t` in a context of its own, connects `push` to it (by `connect_to`,
/// which maps the bound endpoint to the one to connect), checks that a message gets
/// through, then takes the PULL away completely (its context joins its I/O thread, so the
/// fds are closed). Returns the endpoint the PULL was bound to.
fn serve_once_then_vanish(
    push: &mut Socket,
    t: Transport,
    connect_to: impl FnOnce(&str) -> String,
) -> String {
    let pull_ctx = Context::new();
    let mut pull1 = pull_ctx.socket(SocketType::Pull).unwrap();
    let ep = bind_fresh(&mut pull1, t);
    push.connect(&connect_to(&ep)).unwrap();
    send(push, "before", "the message before the restart");
    assert_eq!(
        text(&recv(&mut pull1, "the message before the restart")),
        "before"
    );
    drop(pull1);
    within(TIMEOUT, "term() of the first PULL's context", move || {
        pull_ctx.term()
    });
    ep
}

fn reconnects_after_pull_restarts(by_name: bool) {
    init();
    let ctx = Context::new();
    let mut push = push_with_fast_reconnect(&ctx);
    let ep = serve_once_then_vanish(&mut push, Transport::Tcp, |ep| {
        if by_name {
            format!("tcp://localhost:{}", port_of(ep))
        } else {
            ep.to_owned()
        }
    });
    wait_for_reconnect_attempt(port_of(&ep));

    // Meanwhile the PUSH queues (its connect-side pipe outlives the connection).
    const N: usize = 50;
    for k in 0..N {
        send(
            &mut push,
            format!("{k}"),
            &format!("message {k} while the PULL is down"),
        );
    }

    let mut pull2 = ctx.socket(SocketType::Pull).unwrap();
    bind_retry(&mut pull2, &ep);
    for k in 0..N {
        let m = recv(
            &mut pull2,
            &format!("message {k} of {N} queued while the PULL was down"),
        );
        assert_eq!(text(&m), k.to_string());
    }
    send(&mut push, "after", "a message after the reconnect");
    assert_eq!(
        text(&recv(&mut pull2, "a message after the reconnect")),
        "after"
    );
}

#[test]
fn push_reconnects_after_pull_restarts_ipc() {
    init();
    let ctx = Context::new();
    let mut push = push_with_fast_reconnect(&ctx);
    let ep = serve_once_then_vanish(&mut push, Transport::Ipc, str::to_owned);

    // No reconnect barrier over ipc: messages sent before the PUSH noticed the loss may
    // vanish with the dead link, but from the first one the new PULL gets, none may.
    let mut pull2 = ctx.socket(SocketType::Pull).unwrap();
    bind_retry(&mut pull2, &ep);
    let end = deadline(TIMEOUT);
    let mut k = 0usize;
    let first = loop {
        send(&mut push, format!("{k}"), "a message while reconnecting");
        k += 1;
        match pull2.recv_timeout(Duration::from_millis(5)) {
            Ok(m) => break text(&m).parse::<usize>().unwrap(),
            Err(Error::Timeout) => remaining(end, "the PUSH to reconnect over ipc"),
            Err(e) => panic!("recv: {e:?}"),
        };
    };
    for j in k..k + 20 {
        send(&mut push, format!("{j}"), "a message after the reconnect");
    }
    // One connect-side pipe: everything sent after `first` follows it on the new link.
    for want in first + 1..k + 20 {
        let got = text(&recv(
            &mut pull2,
            &format!("message {want} (the first over the new link was {first})"),
        ));
        assert_eq!(
            got,
            want.to_string(),
            "lost or reordered after the reconnect"
        );
    }
    assert_nothing(&mut pull2, "everything was received");
}

#[test]
fn bind_side_serves_new_peer_after_old_one_left() {
    init();
    let ctx = Context::new();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let ep = bind_fresh(&mut push, Transport::Tcp);
    let old_ctx = Context::new();
    let mut pull1 = old_ctx.socket(SocketType::Pull).unwrap();
    pull1.connect(&ep).unwrap();
    send(&mut push, "old", "the message to the first PULL");
    assert_eq!(
        text(&recv(&mut pull1, "the message to the first PULL")),
        "old"
    );
    drop(pull1);
    within(TIMEOUT, "term() of the first PULL's context", move || {
        old_ctx.term()
    });

    let mut pull2 = ctx.socket(SocketType::Pull).unwrap();
    pull2.connect(&ep).unwrap();
    // Send until the new PULL has one (earlier ones may have gone down the dead link).
    let end = deadline(TIMEOUT);
    let mut k = 0usize;
    loop {
        send(&mut push, format!("{k}"), "a message to the new PULL");
        k += 1;
        match pull2.recv_timeout(Duration::from_millis(5)) {
            Ok(_) => break,
            Err(Error::Timeout) => remaining(end, "the new PULL's first message"),
            Err(e) => panic!("recv: {e:?}"),
        };
    }
    // From now on the old peer is long gone: every message reaches the new one, in order.
    for j in 0..20 {
        send(&mut push, format!("final-{j}"), "a final message");
    }
    let mut j = 0;
    while j < 20 {
        let s = text(&recv(&mut pull2, &format!("final message {j}")));
        if let Some(n) = s.strip_prefix("final-") {
            assert_eq!(n, j.to_string(), "final messages lost or reordered");
            j += 1;
        } else {
            assert_eq!(j, 0, "an early message {s} arrived after final messages");
        }
    }
}

fn connect_before_peer_exists(t: Transport) {
    init();
    let ctx = Context::new();
    let mut push = push_with_fast_reconnect(&ctx);
    let ep = match t {
        Transport::Tcp => format!("tcp://127.0.0.1:{}", free_tcp_port()),
        _ => t.fresh_endpoint(),
    };
    push.connect(&ep).unwrap();
    const N: usize = 20;
    for k in 0..N {
        send(
            &mut push,
            format!("{k}"),
            "a message before the peer exists",
        );
    }
    let pull_ctx = Context::new();
    let mut pull = if t == Transport::Inproc {
        ctx.socket(SocketType::Pull)
    } else {
        pull_ctx.socket(SocketType::Pull)
    }
    .unwrap();
    bind_retry(&mut pull, &ep);
    for k in 0..N {
        assert_eq!(
            text(&recv(
                &mut pull,
                &format!("message {k} sent before the peer existed")
            )),
            k.to_string()
        );
    }
}

#[test]
fn connect_before_peer_exists_tcp() {
    connect_before_peer_exists(Transport::Tcp);
}

#[test]
fn connect_before_peer_exists_ipc() {
    connect_before_peer_exists(Transport::Ipc);
}

#[test]
fn connect_before_peer_exists_inproc() {
    connect_before_peer_exists(Transport::Inproc);
}

/// A name that does not resolve (yet) is no error at connect (libzmq keeps trying it like a
/// refused connection): messages queue, and the socket closes cleanly while lookups fail.
#[test]
fn unresolvable_host_name_is_not_refused_at_connect() {
    init();
    let ctx = Context::new();
    let mut push = push_with_fast_reconnect(&ctx);
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.connect("tcp://no-such-host.invalid:5555").unwrap();
    push.try_send("queued").unwrap();
    assert_eq!(
        push.last_endpoint().as_deref(),
        Some("tcp://no-such-host.invalid:5555")
    );
    drop(push);
    within(
        TIMEOUT,
        "term() with a lookup that keeps failing",
        move || ctx.term(),
    );
}
