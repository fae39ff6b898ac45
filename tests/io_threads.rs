//! Several I/O threads: a listener spreads the connections it accepts over the context's
//! I/O threads (the least-loaded first, as libzmq does), and unbinding or closing still
//! reaches every one of them.
//!
//! Nothing sleeps: every wait is a receive or a monitor event with a deadline.

mod util;

use ferrozmq::{Context, EventKind, Socket, SocketType};
use std::time::Duration;
use util::events::expect_event;
use util::{bind_fresh, init, recv, send, Transport, TIMEOUT};

const PEERS: usize = 9;

fn dealers(ctx: &Context, ep: &str) -> Vec<Socket> {
    (0..PEERS)
        .map(|i| {
            let mut d = ctx.socket(SocketType::Dealer).unwrap();
            d.set_linger(Some(Duration::ZERO)).unwrap();
            d.set_routing_id(format!("peer-{i}")).unwrap();
            d.connect(ep).unwrap();
            d
        })
        .collect()
}

/// Every peer's request reaches the ROUTER and every reply comes back.
fn round_trip(router: &mut Socket, peers: &mut [Socket]) {
    for (i, d) in peers.iter_mut().enumerate() {
        send(d, format!("request {i}"), "a request");
    }
    for _ in 0..PEERS {
        let msg = recv(router, "a request");
        let reply = vec![msg[0].to_vec(), b"reply".to_vec()];
        send(router, reply, "a reply");
    }
    for d in peers.iter_mut() {
        assert_eq!(&recv(d, "a reply")[0][..], b"reply");
    }
}

#[test]
fn connections_spread_over_io_threads_and_work() {
    init();
    for t in [Transport::Tcp, Transport::Ipc] {
        let server_ctx = Context::with_io_threads(3);
        let mut router = server_ctx.socket(SocketType::Router).unwrap();
        router.set_linger(Some(Duration::ZERO)).unwrap();
        let ep = bind_fresh(&mut router, t);
        let client_ctx = Context::new();
        let mut peers = dealers(&client_ctx, &ep);
        round_trip(&mut router, &mut peers);
        round_trip(&mut router, &mut peers);
    }
}

#[test]
fn unbind_reaches_sessions_on_every_io_thread() {
    init();
    let server_ctx = Context::with_io_threads(3);
    let mut router = server_ctx.socket(SocketType::Router).unwrap();
    router.set_linger(Some(Duration::ZERO)).unwrap();
    let monitor = router.monitor();
    let ep = bind_fresh(&mut router, Transport::Tcp);
    let client_ctx = Context::new();
    let mut peers = dealers(&client_ctx, &ep);
    round_trip(&mut router, &mut peers);
    router.unbind(&ep).unwrap();
    for i in 0..PEERS {
        expect_event(&monitor, &format!("disconnect {i} of {PEERS}"), |e| {
            matches!(e.kind, EventKind::Disconnected { .. })
        });
    }
}

#[test]
fn close_lingers_on_every_io_thread() {
    init();
    let server_ctx = Context::with_io_threads(3);
    let mut router = server_ctx.socket(SocketType::Router).unwrap();
    router.set_linger(Some(TIMEOUT)).unwrap();
    let ep = bind_fresh(&mut router, Transport::Tcp);
    let client_ctx = Context::new();
    let mut peers = dealers(&client_ctx, &ep);
    round_trip(&mut router, &mut peers);
    // Queue a last message for every peer, close at once: lingering sessions on every
    // thread still send it.
    for i in 0..PEERS {
        send(
            &mut router,
            vec![format!("peer-{i}").into_bytes(), b"last".to_vec()],
            "a last message",
        );
    }
    drop(router);
    for d in peers.iter_mut() {
        assert_eq!(&recv(d, "the last message")[0][..], b"last");
    }
    drop(server_ctx); // terminates once every thread's sessions are done
}
