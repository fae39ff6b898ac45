//! Interoperability with libzmq 4.3 (through the `zmq` crate) over tcp and ipc, with
//! ferrozmq binding and libzmq connecting and the reverse: PUSH/PULL both ways and
//! PAIR/PAIR, with multipart, empty, 255/256-byte boundary and 8 MiB messages.
//! Plus a hand-written ZMTP peer to check that ferrozmq refuses incompatible socket types.
//! An ipc socket file libzmq binds is removed by the test's guard: libzmq leaves it behind.

mod util;

use ferrozmq::{Context, Message, Socket, SocketType};
use util::raw::*;
use util::*;

/// Which library binds; the other connects.
#[derive(Clone, Copy, Debug)]
enum Binder {
    Ferro,
    Libzmq,
}

/// One test per transport (tcp, ipc) and binder for each listed `fn name(Transport, Binder)`.
macro_rules! matrix {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            use super::{Binder, Transport};
            #[test] fn tcp_ferrozmq_binds() { super::$f(Transport::Tcp, Binder::Ferro) }
            #[test] fn tcp_libzmq_binds() { super::$f(Transport::Tcp, Binder::Libzmq) }
            #[test] fn ipc_ferrozmq_binds() { super::$f(Transport::Ipc, Binder::Ferro) }
            #[test] fn ipc_libzmq_binds() { super::$f(Transport::Ipc, Binder::Libzmq) }
        }
    )*};
}

matrix!(
    ferrozmq_push_to_libzmq_pull,
    libzmq_push_to_ferrozmq_pull,
    pair_both_ways
);

/// A libzmq socket whose every blocking call is bounded and whose close never hangs.
fn zsocket(zctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = zctx.socket(kind).expect("libzmq socket");
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(TIMEOUT.as_millis() as i32).unwrap();
    s.set_sndtimeo(TIMEOUT.as_millis() as i32).unwrap();
    s
}

/// Connects `ferro` and `z` over `t`, `b` binding. Keep what it returns until the end of
/// the test: the guard of libzmq's ipc socket file, which libzmq leaves behind.
#[must_use = "dropping the guard removes libzmq's ipc socket file"]
fn link(t: Transport, b: Binder, ferro: &mut Socket, z: &zmq::Socket) -> Option<IpcFile> {
    match b {
        Binder::Ferro => {
            let ep = bind_fresh(ferro, t);
            z.connect(&ep)
                .unwrap_or_else(|e| panic!("libzmq connect({ep}): {e}"));
            None
        }
        Binder::Libzmq => {
            let ipc = (t == Transport::Ipc).then(IpcFile::fresh);
            let ep = match &ipc {
                Some(ipc) => ipc.endpoint(),
                None if t == Transport::Tcp => "tcp://127.0.0.1:*".to_string(),
                None => t.fresh_endpoint(),
            };
            z.bind(&ep)
                .unwrap_or_else(|e| panic!("libzmq bind({ep}): {e}"));
            let ep = z.get_last_endpoint().unwrap().unwrap();
            ferro
                .connect(&ep)
                .unwrap_or_else(|e| panic!("ferrozmq connect({ep}): {e:?}"));
            ipc
        }
    }
}

/// The messages every interop test exchanges, in order.
fn test_messages() -> Vec<Vec<Vec<u8>>> {
    vec![
        vec![b"hello".to_vec()],
        vec![
            b"a".to_vec(),
            b"bb".to_vec(),
            b"".to_vec(),
            b"dddd".to_vec(),
        ],
        vec![vec![]],
        vec![payload(255, 1)],
        vec![payload(256, 2)],
        vec![
            payload(255, 3),
            payload(256, 4),
            vec![],
            payload(1, 5),
            payload(65536, 6),
        ],
        vec![payload(8 << 20, 7)],
        vec![b"last".to_vec()],
    ]
}

fn describe(m: &[Vec<u8>]) -> String {
    format!(
        "message with frame sizes {:?}",
        m.iter().map(Vec::len).collect::<Vec<_>>()
    )
}

#[track_caller]
fn zrecv(z: &zmq::Socket, what: &str) -> Vec<Vec<u8>> {
    match z.recv_multipart(0) {
        Ok(m) => m,
        Err(zmq::Error::EAGAIN) => panic!("libzmq timed out after {TIMEOUT:?} waiting for {what}"),
        Err(e) => panic!("libzmq recv failed waiting for {what}: {e}"),
    }
}

#[track_caller]
fn zsend(z: &zmq::Socket, m: &[Vec<u8>], what: &str) {
    z.send_multipart(m.iter(), 0)
        .unwrap_or_else(|e| panic!("libzmq send of {what} failed: {e}"));
}

fn ferro_to_libzmq(ferro: &mut Socket, z: &zmq::Socket) {
    let msgs = test_messages();
    for m in &msgs {
        send(ferro, Message::multipart(m.clone()), &describe(m));
    }
    for m in &msgs {
        assert_same_frames(
            &zrecv(z, &describe(m)),
            m,
            &format!("ferrozmq -> libzmq {}", describe(m)),
        );
    }
    for k in 0..200 {
        send(
            ferro,
            Message::multipart([format!("{k}"), "x".into()]),
            "a numbered message",
        );
    }
    for k in 0..200 {
        assert_eq!(
            zrecv(z, "a numbered message"),
            vec![k.to_string().into_bytes(), b"x".to_vec()]
        );
    }
}

fn libzmq_to_ferro(z: &zmq::Socket, ferro: &mut Socket) {
    let msgs = test_messages();
    for m in &msgs {
        zsend(z, m, &describe(m));
    }
    for m in &msgs {
        let got = recv(ferro, &describe(m));
        assert_same_frames(
            &frames(&got),
            m,
            &format!("libzmq -> ferrozmq {}", describe(m)),
        );
    }
    for k in 0..200 {
        zsend(
            z,
            &[k.to_string().into_bytes(), b"x".to_vec()],
            "a numbered message",
        );
    }
    for k in 0..200 {
        assert_eq!(
            strings(&recv(ferro, "a numbered message")),
            vec![k.to_string(), "x".into()]
        );
    }
}

fn ferrozmq_push_to_libzmq_pull(t: Transport, b: Binder) {
    init();
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let pull = zsocket(&zctx, zmq::PULL);
    let _ipc = link(t, b, &mut push, &pull);
    ferro_to_libzmq(&mut push, &pull);
}

fn libzmq_push_to_ferrozmq_pull(t: Transport, b: Binder) {
    init();
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let push = zsocket(&zctx, zmq::PUSH);
    let _ipc = link(t, b, &mut pull, &push);
    libzmq_to_ferro(&push, &mut pull);
    assert_nothing(&mut pull, "libzmq sent nothing more");
}

fn pair_both_ways(t: Transport, b: Binder) {
    init();
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut fpair = ctx.socket(SocketType::Pair).unwrap();
    let zpair = zsocket(&zctx, zmq::PAIR);
    let _ipc = link(t, b, &mut fpair, &zpair);
    ferro_to_libzmq(&mut fpair, &zpair);
    libzmq_to_ferro(&zpair, &mut fpair);
    // Ping-pong.
    for k in 0..50 {
        send(&mut fpair, format!("ping {k}"), "a ping");
        assert_eq!(
            zrecv(&zpair, "a ping"),
            vec![format!("ping {k}").into_bytes()]
        );
        zsend(&zpair, &[format!("pong {k}").into_bytes()], "a pong");
        assert_eq!(text(&recv(&mut fpair, "a pong")), format!("pong {k}"));
    }
}

/// Several libzmq PUSHes and a ferrozmq PUSH feed one libzmq PULL and one ferrozmq PULL.
#[test]
fn mixed_pushes_and_pulls_tcp() {
    init();
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let mut fpull = ctx.socket(SocketType::Pull).unwrap();
    let fep = bind_fresh(&mut fpull, Transport::Tcp);
    let zpushes: Vec<zmq::Socket> = (0..3).map(|_| zsocket(&zctx, zmq::PUSH)).collect();
    for z in &zpushes {
        z.connect(&fep).unwrap();
    }
    for (i, z) in zpushes.iter().enumerate() {
        for k in 0..10 {
            zsend(
                z,
                &[i.to_string().into_bytes(), k.to_string().into_bytes()],
                "a message",
            );
        }
    }
    let mut next = [0usize; 3];
    for _ in 0..30 {
        let m = strings(&recv(
            &mut fpull,
            &format!("a message from a libzmq PUSH ({next:?} so far)"),
        ));
        let i: usize = m[0].parse().unwrap();
        assert_eq!(m[1], next[i].to_string(), "stream {i} out of order");
        next[i] += 1;
    }
    assert_eq!(next, [10, 10, 10]);
}

// ---------------------------------------------------------------------------------------
// A hand-written ZMTP 3.1 NULL peer (tests/util/raw.rs), to check socket-type validation on
// the ferrozmq side (libzmq peers validate too, so they cannot show whether ferrozmq does).

#[test]
fn raw_zmtp_push_peer_is_accepted() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let _raw = raw_peer(&ep, "PUSH", b"raw-ok");
    assert_eq!(
        text(&recv(&mut pull, "the raw PUSH peer's message")),
        "raw-ok"
    );
}

#[test]
fn raw_zmtp_peer_with_incompatible_type_is_refused() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    // PAIR may not talk to PULL: the message must never be delivered, the link must close.
    let mut raw = raw_peer(&ep, "PAIR", b"wrong");
    expect_closed(&mut raw, "a PAIR peer talking to a PULL");
    assert_nothing(&mut pull, "a PAIR peer's message must not reach a PULL");
    // The PULL still works for a compatible libzmq peer.
    let zctx = zmq::Context::new();
    let zpush = zsocket(&zctx, zmq::PUSH);
    zpush.connect(&ep).unwrap();
    zsend(&zpush, &[b"right".to_vec()], "the libzmq PUSH's message");
    assert_eq!(text(&recv(&mut pull, "the libzmq PUSH's message")), "right");
}
