//! REQ/REP/DEALER/ROUTER against libzmq (through the `zmq` crate), over tcp and ipc, with
//! either side binding: envelopes, routing ids announced in the handshake, request
//! correlation, and ROUTER to ROUTER.
//!
//! Every wait is bounded by a receive timeout on both sides; nothing sleeps. Every ipc
//! socket file is removed by the test's guard (libzmq leaves the ones it binds behind).

mod util;

use ferrozmq::{Context, Message, Socket, SocketType};
use std::time::Duration;
use util::IpcFile;

const WAIT: Duration = Duration::from_secs(5);
const WAIT_MS: i32 = 5000;

fn ours(ctx: &Context, kind: SocketType) -> Socket {
    let mut s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(Some(WAIT)).unwrap();
    s.set_sndtimeo(Some(WAIT)).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

fn theirs(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(WAIT_MS).unwrap();
    s.set_sndtimeo(WAIT_MS).unwrap();
    s.set_linger(0).unwrap();
    s
}

/// Joins the two sockets on `transport`, `ferro_binds` saying which side binds. Keep what
/// it returns until the end of the test: the guard that removes the ipc socket file
/// (libzmq leaves its own behind).
#[must_use = "dropping the guard removes the ipc socket file"]
fn join(
    transport: &str,
    ferro_binds: bool,
    ferro: &mut Socket,
    lz: &zmq::Socket,
) -> Option<IpcFile> {
    let ipc = (transport == "ipc").then(IpcFile::fresh);
    let ep = match &ipc {
        Some(ipc) => ipc.endpoint(),
        None => "tcp://127.0.0.1:*".to_owned(),
    };
    if ferro_binds {
        ferro.bind(&ep).unwrap();
        lz.connect(&ferro.last_endpoint().unwrap()).unwrap();
    } else {
        lz.bind(&ep).unwrap();
        let resolved = lz.get_last_endpoint().unwrap().unwrap();
        ferro.connect(&resolved).unwrap();
    }
    ipc
}

fn frames(m: &Message) -> Vec<Vec<u8>> {
    m.iter().map(|f| f.to_vec()).collect()
}

fn v(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn libzmq_req_to_ferro_rep(t: &str, ferro_binds: bool) {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut rep = ours(&ctx, SocketType::Rep);
    let req = theirs(&zctx, zmq::REQ);
    let _ipc = join(t, ferro_binds, &mut rep, &req);
    for i in 0..5 {
        let n = i.to_string();
        req.send_multipart(["question", n.as_str()], 0).unwrap();
        assert_eq!(frames(&rep.recv().unwrap()), v(&["question", &n]));
        rep.send(vec!["answer", n.as_str()]).unwrap();
        assert_eq!(req.recv_multipart(0).unwrap(), v(&["answer", &n]));
    }
}

fn ferro_req_to_libzmq_rep(t: &str, ferro_binds: bool) {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut req = ours(&ctx, SocketType::Req);
    let rep = theirs(&zctx, zmq::REP);
    let _ipc = join(t, ferro_binds, &mut req, &rep);
    for i in 0..5 {
        let n = i.to_string();
        req.send(vec!["question", n.as_str()]).unwrap();
        assert_eq!(rep.recv_multipart(0).unwrap(), v(&["question", &n]));
        rep.send_multipart(["answer", n.as_str()], 0).unwrap();
        assert_eq!(frames(&req.recv().unwrap()), v(&["answer", &n]));
    }
    // libzmq's REP echoes the request-id frame too, so correlation works across.
    req.set_req_correlate(true).unwrap();
    req.send("correlated").unwrap();
    assert_eq!(rep.recv_multipart(0).unwrap(), v(&["correlated"]));
    rep.send("ok", 0).unwrap();
    assert_eq!(frames(&req.recv().unwrap()), v(&["ok"]));
}

/// Our ROUTER sees the identity a libzmq DEALER set; replies by it reach that DEALER.
fn libzmq_dealer_to_ferro_router(t: &str, ferro_binds: bool) {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut router = ours(&ctx, SocketType::Router);
    let dealer = theirs(&zctx, zmq::DEALER);
    dealer.set_identity(b"lz-dealer").unwrap();
    let _ipc = join(t, ferro_binds, &mut router, &dealer);
    dealer.send_multipart(["a", "b"], 0).unwrap();
    assert_eq!(frames(&router.recv().unwrap()), v(&["lz-dealer", "a", "b"]));
    router.send(vec!["lz-dealer", "", "reply"]).unwrap();
    assert_eq!(dealer.recv_multipart(0).unwrap(), v(&["", "reply"]));
}

/// A libzmq ROUTER sees the routing id our DEALER announced.
fn ferro_dealer_to_libzmq_router(t: &str, ferro_binds: bool) {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut dealer = ours(&ctx, SocketType::Dealer);
    dealer.set_routing_id("fz-dealer").unwrap();
    let router = theirs(&zctx, zmq::ROUTER);
    let _ipc = join(t, ferro_binds, &mut dealer, &router);
    dealer.send(vec!["a", "b"]).unwrap();
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        v(&["fz-dealer", "a", "b"])
    );
    router
        .send_multipart(["fz-dealer", "", "reply"], 0)
        .unwrap();
    assert_eq!(frames(&dealer.recv().unwrap()), v(&["", "reply"]));
}

/// The connecting DEALER probes: libzmq's announces itself to our bound ROUTER, or ours to
/// libzmq's. (A libzmq socket attaches an accepted peer, and so probes it, only inside its
/// next API call, so probing from the binding side is not tested.)
fn probe_from_connecting_dealer(t: &str, ferro_binds: bool) {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    if ferro_binds {
        let mut router = ours(&ctx, SocketType::Router);
        let dealer = theirs(&zctx, zmq::DEALER);
        dealer.set_identity(b"lz-prober").unwrap();
        dealer.set_probe_router(true).unwrap();
        let _ipc = join(t, true, &mut router, &dealer);
        assert_eq!(frames(&router.recv().unwrap()), v(&["lz-prober", ""]));
    } else {
        let mut dealer = ours(&ctx, SocketType::Dealer);
        dealer.set_routing_id("fz-prober").unwrap();
        dealer.set_probe_router(true).unwrap();
        let router = theirs(&zctx, zmq::ROUTER);
        let _ipc = join(t, false, &mut dealer, &router);
        assert_eq!(router.recv_multipart(0).unwrap(), v(&["fz-prober", ""]));
    }
}

/// ROUTER to ROUTER: the connecting side names its peer (ours with `connect_routing_id`;
/// libzmq's by the Identity we announce) and probes, so the binder learns of it.
fn router_to_router(t: &str, ferro_binds: bool) {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut router = ours(&ctx, SocketType::Router);
    router.set_routing_id("fz").unwrap();
    let their_router = theirs(&zctx, zmq::ROUTER);
    their_router.set_identity(b"lz").unwrap();
    if ferro_binds {
        their_router.set_probe_router(true).unwrap();
    } else {
        router.set_connect_routing_id("lz-peer").unwrap();
        router.set_probe_router(true).unwrap();
    }
    let _ipc = join(t, ferro_binds, &mut router, &their_router);
    let them = if ferro_binds { "lz" } else { "lz-peer" };
    // Our connecting ROUTER makes its link (and sends its probe) once its handshake is
    // done and it looks at its mailbox, here inside `recv`; libzmq waits in a thread.
    std::thread::scope(|scope| {
        let their_side = scope.spawn(move || {
            let first = their_router.recv_multipart(0).unwrap();
            their_router.send_multipart(["fz", "hello fz"], 0).unwrap();
            (first, their_router.recv_multipart(0).unwrap())
        });
        if ferro_binds {
            assert_eq!(frames(&router.recv().unwrap()), v(&["lz", ""]));
            router.send(vec!["lz", "hello lz"]).unwrap();
        }
        assert_eq!(frames(&router.recv().unwrap()), v(&[them, "hello fz"]));
        router.send(vec![them, "bye"]).unwrap();
        let (first, last) = their_side.join().unwrap();
        let expected_first = if ferro_binds { "hello lz" } else { "" };
        assert_eq!(first, v(&["fz", expected_first]));
        assert_eq!(last, v(&["fz", "bye"]));
    });
}

macro_rules! interop {
    ($($name:ident),* $(,)?) => {
        mod tcp_ferrozmq_binds { $( #[test] fn $name() { let _ = env_logger::try_init(); super::$name("tcp", true); } )* }
        mod tcp_libzmq_binds { $( #[test] fn $name() { let _ = env_logger::try_init(); super::$name("tcp", false); } )* }
        mod ipc_ferrozmq_binds { $( #[test] fn $name() { let _ = env_logger::try_init(); super::$name("ipc", true); } )* }
        mod ipc_libzmq_binds { $( #[test] fn $name() { let _ = env_logger::try_init(); super::$name("ipc", false); } )* }
    };
}

interop!(
    libzmq_req_to_ferro_rep,
    ferro_req_to_libzmq_rep,
    libzmq_dealer_to_ferro_router,
    ferro_dealer_to_libzmq_router,
    probe_from_connecting_dealer,
    router_to_router,
);
