//! PUB/SUB/XPUB/XSUB against libzmq (through the `zmq` crate), over tcp and ipc, with
//! either side binding.
//!
//! Proves the wire forms: libzmq's XPUB receives a ferrozmq SUB's subscription as
//! `\x01topic` (so the SUBSCRIBE/CANCEL commands are encoded right), a ferrozmq XPUB
//! receives libzmq's, and filtered messages flow both ways. Every wait is bounded; a
//! subscriber is synchronised by repeating a probe until one arrives, never by sleeping.
//! Every ipc socket file is removed by the case's guard (libzmq leaves the ones it binds
//! behind).

mod util;

use ferrozmq::{Context, Error, Message, Socket, SocketType};
use std::time::{Duration, Instant};
use util::IpcFile;

const T: Duration = Duration::from_secs(10);
const POLL_MS: i32 = 20;

/// Every (transport, libzmq binds?) combination.
fn cases() -> Vec<(&'static str, bool)> {
    vec![("tcp", true), ("tcp", false), ("ipc", true), ("ipc", false)]
}

fn zsocket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(POLL_MS).unwrap();
    s
}

fn fsocket(ctx: &Context, kind: SocketType) -> Socket {
    let mut s = ctx.socket(kind).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

/// Joins the two sockets over `transport`, the side given by `zmq_binds` binding. Keep
/// what it returns until the end of the case: the guard that removes the ipc socket file
/// (libzmq leaves its own behind).
#[must_use = "dropping the guard removes the ipc socket file"]
fn join(f: &mut Socket, z: &zmq::Socket, transport: &str, zmq_binds: bool) -> Option<IpcFile> {
    let ipc = (transport == "ipc").then(IpcFile::fresh);
    let ep = match &ipc {
        Some(ipc) => ipc.endpoint(),
        None => "tcp://127.0.0.1:*".to_string(),
    };
    let addr = if zmq_binds {
        z.bind(&ep).unwrap();
        z.get_last_endpoint().unwrap().unwrap()
    } else {
        f.bind(&ep).unwrap();
        f.last_endpoint().unwrap()
    };
    if zmq_binds {
        f.connect(&addr).unwrap();
    } else {
        z.connect(&addr).unwrap();
    }
    ipc
}

/// Waits for a message on the libzmq socket while letting the ferrozmq socket look at its
/// mailbox (a ferrozmq socket acts on a new peer when it is next called).
fn zrecv(z: &zmq::Socket, f: &mut Socket) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + T;
    loop {
        let _ = f.try_recv();
        match z.recv_multipart(0) {
            Ok(m) => return m,
            Err(zmq::Error::EAGAIN) => {}
            Err(e) => panic!("libzmq recv: {e}"),
        }
        assert!(Instant::now() < deadline, "nothing arrived at libzmq");
    }
}

fn frames(m: &Message) -> Vec<Vec<u8>> {
    m.iter().map(|f| f.to_vec()).collect()
}

fn frecv(f: &mut Socket) -> Vec<Vec<u8>> {
    frames(&f.recv_timeout(T).expect("a message at ferrozmq"))
}

/// Waits for a message on the ferrozmq socket while letting the libzmq socket process its
/// commands: libzmq, too, attaches a new peer (and sends its subscriptions to it) only
/// when the socket is next called.
fn frecv_poking(f: &mut Socket, z: &zmq::Socket) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + T;
    loop {
        let _ = z.get_events();
        match f.recv_timeout(Duration::from_millis(20)) {
            Ok(m) => return frames(&m),
            Err(Error::Timeout) => {}
            Err(e) => panic!("ferrozmq recv: {e}"),
        }
        assert!(Instant::now() < deadline, "nothing arrived at ferrozmq");
    }
}

// ----- libzmq PUB -> ferrozmq SUB -----

#[test]
fn libzmq_pub_to_ferrozmq_sub() {
    for (transport, zmq_binds) in cases() {
        let zctx = zmq::Context::new();
        let ctx = Context::new();
        let publ = zsocket(&zctx, zmq::PUB);
        let mut sub = fsocket(&ctx, SocketType::Sub);
        let _ipc = join(&mut sub, &publ, transport, zmq_binds);
        sub.subscribe("A").unwrap();
        sub.subscribe("!").unwrap();
        let deadline = Instant::now() + T;
        loop {
            assert!(Instant::now() < deadline, "{transport}: never synchronised");
            publ.send("!sync", 0).unwrap();
            if sub.recv_timeout(Duration::from_millis(20)).is_ok() {
                break;
            }
        }
        publ.send("B1", 0).unwrap();
        publ.send_multipart(["A1", "more"], 0).unwrap();
        publ.send("!end", 0).unwrap();
        let mut got = Vec::new();
        loop {
            let m = frecv(&mut sub);
            if m[0] == b"!sync" {
                continue;
            }
            if m[0] == b"!end" {
                break;
            }
            got.push(m);
        }
        assert_eq!(
            got,
            vec![vec![b"A1".to_vec(), b"more".to_vec()]],
            "{transport}"
        );
    }
}

// ----- ferrozmq PUB -> libzmq SUB -----

#[test]
fn ferrozmq_pub_to_libzmq_sub() {
    for (transport, zmq_binds) in cases() {
        let zctx = zmq::Context::new();
        let ctx = Context::new();
        let sub = zsocket(&zctx, zmq::SUB);
        sub.set_subscribe(b"A").unwrap();
        sub.set_subscribe(b"!").unwrap();
        let mut publ = fsocket(&ctx, SocketType::Pub);
        let _ipc = join(&mut publ, &sub, transport, zmq_binds);
        let deadline = Instant::now() + T;
        loop {
            assert!(Instant::now() < deadline, "{transport}: never synchronised");
            publ.send("!sync").unwrap();
            if sub.recv_bytes(0).is_ok() {
                break;
            }
        }
        publ.send("B1").unwrap();
        publ.send(vec!["A1", "more"]).unwrap();
        publ.send("!end").unwrap();
        let mut got = Vec::new();
        loop {
            let m = zrecv(&sub, &mut publ);
            if m[0] == b"!sync" {
                continue;
            }
            if m[0] == b"!end" {
                break;
            }
            got.push(m);
        }
        assert_eq!(
            got,
            vec![vec![b"A1".to_vec(), b"more".to_vec()]],
            "{transport}"
        );
    }
}

// ----- subscriptions on the wire -----

#[test]
fn libzmq_xpub_receives_ferrozmq_subscriptions() {
    for (transport, zmq_binds) in cases() {
        let zctx = zmq::Context::new();
        let ctx = Context::new();
        let xpub = zsocket(&zctx, zmq::XPUB);
        let mut sub = fsocket(&ctx, SocketType::Sub);
        let _ipc = join(&mut sub, &xpub, transport, zmq_binds);
        sub.subscribe("topic").unwrap();
        assert_eq!(
            zrecv(&xpub, &mut sub),
            [b"\x01topic".to_vec()],
            "{transport}"
        );
        xpub.send_multipart(["topic.x", "data"], 0).unwrap();
        xpub.send("other", 0).unwrap();
        assert_eq!(
            frecv(&mut sub),
            [b"topic.x".to_vec(), b"data".to_vec()],
            "{transport}"
        );
        sub.unsubscribe("topic").unwrap();
        assert_eq!(
            zrecv(&xpub, &mut sub),
            [b"\x00topic".to_vec()],
            "{transport}"
        );
    }
}

#[test]
fn ferrozmq_xpub_receives_libzmq_subscriptions() {
    for (transport, zmq_binds) in cases() {
        let zctx = zmq::Context::new();
        let ctx = Context::new();
        let sub = zsocket(&zctx, zmq::SUB);
        let mut xpub = fsocket(&ctx, SocketType::XPub);
        let _ipc = join(&mut xpub, &sub, transport, zmq_binds);
        sub.set_subscribe(b"news").unwrap();
        assert_eq!(
            frecv_poking(&mut xpub, &sub),
            [b"\x01news".to_vec()],
            "{transport}"
        );
        xpub.send("sports").unwrap();
        xpub.send(vec!["news.today", "body"]).unwrap();
        assert_eq!(
            zrecv(&sub, &mut xpub),
            [b"news.today".to_vec(), b"body".to_vec()],
            "{transport}"
        );
        sub.set_unsubscribe(b"news").unwrap();
        assert_eq!(
            frecv_poking(&mut xpub, &sub),
            [b"\x00news".to_vec()],
            "{transport}"
        );
    }
}

#[test]
fn ferrozmq_xsub_with_libzmq_xpub() {
    for (transport, zmq_binds) in cases() {
        let zctx = zmq::Context::new();
        let ctx = Context::new();
        let xpub = zsocket(&zctx, zmq::XPUB);
        let mut xsub = fsocket(&ctx, SocketType::XSub);
        let _ipc = join(&mut xsub, &xpub, transport, zmq_binds);
        xsub.send("\x01T").unwrap();
        assert_eq!(zrecv(&xpub, &mut xsub), [b"\x01T".to_vec()], "{transport}");
        xpub.send("T-data", 0).unwrap();
        assert_eq!(frecv(&mut xsub), [b"T-data".to_vec()], "{transport}");
        // A plain message from an XSUB goes upstream unchanged.
        xsub.send(vec!["up", "stream"]).unwrap();
        assert_eq!(
            zrecv(&xpub, &mut xsub),
            [b"up".to_vec(), b"stream".to_vec()],
            "{transport}"
        );
        xsub.send("\x00T").unwrap();
        assert_eq!(zrecv(&xpub, &mut xsub), [b"\x00T".to_vec()], "{transport}");
    }
}

#[test]
fn libzmq_xsub_with_ferrozmq_xpub() {
    for (transport, zmq_binds) in cases() {
        let zctx = zmq::Context::new();
        let ctx = Context::new();
        let xsub = zsocket(&zctx, zmq::XSUB);
        let mut xpub = fsocket(&ctx, SocketType::XPub);
        xpub.set_xpub_verbose(true).unwrap();
        let _ipc = join(&mut xpub, &xsub, transport, zmq_binds);
        // Before the link is up libzmq keeps the subscription and sends it once on attach.
        xsub.send(b"\x01T".as_slice(), 0).unwrap();
        assert_eq!(
            frecv_poking(&mut xpub, &xsub),
            [b"\x01T".to_vec()],
            "{transport}"
        );
        xsub.send(b"\x01T".as_slice(), 0).unwrap();
        assert_eq!(
            frecv_poking(&mut xpub, &xsub),
            [b"\x01T".to_vec()],
            "{transport}: verbose passes up a repeat"
        );
        xpub.send("T-data").unwrap();
        assert_eq!(zrecv(&xsub, &mut xpub), [b"T-data".to_vec()], "{transport}");
        xsub.send_multipart(["up", "stream"], 0).unwrap();
        assert_eq!(
            frecv_poking(&mut xpub, &xsub),
            [b"up".to_vec(), b"stream".to_vec()],
            "{transport}"
        );
        assert!(matches!(xpub.try_recv(), Err(Error::WouldBlock)));
    }
}
