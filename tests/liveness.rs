//! Liveness: heartbeats find a silent peer and keep an answering one, a peer's TTL is
//! honoured, a connect attempt is bounded, `immediate` queues only to live peers,
//! `conflate` keeps only the newest message, and a peer that never reads what it makes us
//! write stops being read.

mod util;

use ferrozmq::{Context, EventKind, SocketType};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use util::events::*;
use util::raw::*;
use util::*;

const MS: Duration = Duration::from_millis(1);

/// Reads frames until a command named `name` arrives; returns its data.
fn read_command(s: &mut TcpStream, name: &[u8]) -> Vec<u8> {
    for _ in 0..1000 {
        let frame = read_frame(s).expect("a frame");
        if let Some((n, data)) = frame.command() {
            if n == name {
                return data.to_vec();
            }
        }
    }
    panic!(
        "no {} command among 1000 frames",
        String::from_utf8_lossy(name)
    );
}

/// A raw command frame `name` + `data` (short form).
fn raw_command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x04, (1 + name.len() + data.len()) as u8, name.len() as u8];
    f.extend_from_slice(name);
    f.extend_from_slice(data);
    f
}

/// A PULL with heartbeats bound on tcp, and a raw PUSH peer that completed the handshake
/// (ferrozmq's READY read).
fn heartbeating_pull(
    ctx: &Context,
    configure: impl FnOnce(&mut ferrozmq::Socket),
) -> (ferrozmq::Socket, ferrozmq::Monitor, TcpStream) {
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    configure(&mut pull);
    let monitor = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut raw = raw_handshake(&ep, "PUSH");
    read_command(&mut raw, b"READY");
    expect_kind(&monitor, &EventKind::HandshakeSucceeded);
    (pull, monitor, raw)
}

#[test]
fn a_silent_peer_gets_pings_and_is_dropped_after_the_timeout() {
    init();
    let ctx = Context::new();
    let (_pull, monitor, mut raw) = heartbeating_pull(&ctx, |p| {
        p.set_heartbeat_ivl(Some(100 * MS)).unwrap();
        p.set_heartbeat_timeout(Some(300 * MS)).unwrap();
        p.set_heartbeat_ttl(Some(2550 * MS)).unwrap();
    });
    let ping = read_command(&mut raw, b"PING");
    assert_eq!(
        &ping[..2],
        &25u16.to_be_bytes(),
        "TTL in deciseconds, rounded down"
    );
    // Never answer: the connection is closed, and the monitor says why.
    expect_closed(&mut raw, "a peer silent after our PING");
    let gone = expect_kind(
        &monitor,
        &EventKind::Disconnected {
            reason: String::new(),
        },
    );
    assert!(gone.to_string().contains("heartbeat"), "{gone}");
}

#[test]
fn a_peer_that_answers_is_kept_and_served() {
    init();
    let ctx = Context::new();
    let (mut pull, monitor, mut raw) = heartbeating_pull(&ctx, |p| {
        p.set_heartbeat_ivl(Some(50 * MS)).unwrap();
        p.set_heartbeat_timeout(Some(300 * MS)).unwrap();
    });
    // Twenty PINGs (a second at least, over three timeouts), each answered only by a PONG:
    // that is all the traffic there is, and the connection must survive it.
    for _ in 0..20 {
        let ping = read_command(&mut raw, b"PING");
        raw.write_all(&raw_command(b"PONG", &ping[2..])).unwrap();
    }
    raw.write_all(&raw_message(b"still here")).unwrap();
    assert_eq!(
        text(&recv(&mut pull, "a message after 20 heartbeats")),
        "still here"
    );
    assert!(
        monitor.try_recv().is_err(),
        "no event: the connection never dropped"
    );
}

#[test]
fn the_ttl_in_a_peers_ping_is_honoured() {
    init();
    let ctx = Context::new();
    // No heartbeats of our own: only the peer's TTL can close this connection.
    let (_pull, monitor, mut raw) = heartbeating_pull(&ctx, |_| {});
    let ttl_200ms = 2u16.to_be_bytes();
    raw.write_all(&raw_command(b"PING", &ttl_200ms)).unwrap();
    read_command(&mut raw, b"PONG");
    expect_closed(&mut raw, "a peer silent past its own TTL");
    let gone = expect_kind(
        &monitor,
        &EventKind::Disconnected {
            reason: String::new(),
        },
    );
    assert!(gone.to_string().contains("TTL"), "{gone}");
}

#[test]
fn two_ferrozmq_peers_with_heartbeats_stay_connected_while_idle() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_heartbeat_ivl(Some(50 * MS)).unwrap();
    let server = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_heartbeat_ivl(Some(50 * MS)).unwrap();
    push.set_heartbeat_timeout(Some(250 * MS)).unwrap();
    push.connect(&ep).unwrap();
    expect_kind(&server, &EventKind::HandshakeSucceeded);
    // Idle for four timeouts (QUIET is 100 ms): only the heartbeats keep the link up.
    for _ in 0..10 {
        assert_nothing(&mut pull, "an idle, heartbeating link");
    }
    send(&mut push, "after the silence", "a message on the kept link");
    assert_eq!(
        text(&recv(&mut pull, "a message on the kept link")),
        "after the silence"
    );
    assert!(server.try_recv().is_err(), "the link never dropped");
}

#[test]
fn a_connect_attempt_that_hangs_is_abandoned_after_the_connect_timeout() {
    init();
    // A listener that never accepts and whose accept queue is full: the kernel drops
    // further SYNs, so a connect to it hangs until its timeout.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let fillers: Vec<TcpStream> = (0..4)
        .filter_map(|_| TcpStream::connect_timeout(&addr, 200 * MS).ok())
        .collect();
    assert!(!fillers.is_empty(), "the accept queue takes at least one");
    let ctx = Context::new();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.set_connect_timeout(Some(100 * MS)).unwrap();
    let monitor = push.monitor();
    push.connect(&format!("tcp://{addr}")).unwrap();
    expect_kind(&monitor, &EventKind::ConnectDelayed);
    expect_kind(&monitor, &EventKind::Closed);
    expect_kind(
        &monitor,
        &EventKind::ConnectRetried {
            interval: Duration::ZERO,
        },
    );
}

#[test]
fn immediate_sends_only_to_peers_that_are_there() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.set_immediate(true).unwrap();
    let monitor = push.monitor();
    // One peer that never comes, one that is there.
    push.connect(&format!("tcp://127.0.0.1:{}", free_tcp_port()))
        .unwrap();
    push.connect(&ep).unwrap();
    expect_kind(&monitor, &EventKind::HandshakeSucceeded);
    for k in 0..20 {
        send(&mut push, format!("m{k}"), "messages with one live peer");
    }
    // Without `immediate`, round robin would park every other message on the absent peer.
    for k in 0..20 {
        assert_eq!(
            text(&recv(&mut pull, "every message at the live peer")),
            format!("m{k}")
        );
    }
}

#[test]
fn conflate_keeps_only_the_newest_message_over_tcp() {
    init();
    let ctx = Context::new();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_conflate(true).unwrap();
    push.set_sndhwm(1).unwrap();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    push.connect(&ep).unwrap();
    // No peer yet, a mark of 1: a conflating socket still takes every send.
    for k in 0..100 {
        push.try_send(format!("state {k}")).unwrap();
    }
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    bind_retry(&mut pull, &ep);
    assert_eq!(text(&recv(&mut pull, "the newest state")), "state 99");
    assert_nothing(&mut pull, "nothing older than the newest state");
}

#[test]
fn conflate_on_the_receiving_side_over_inproc() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_conflate(true).unwrap();
    let ep = bind_fresh(&mut pull, Transport::Inproc);
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    for k in 0..5000 {
        push.try_send(format!("state {k}")).unwrap();
    }
    assert_eq!(text(&recv(&mut pull, "the newest state")), "state 4999");
    assert_nothing(&mut pull, "nothing older than the newest state");
}

#[test]
fn a_peer_that_never_reads_our_pongs_stops_being_read() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut good = ctx.socket(SocketType::Push).unwrap();
    good.set_linger(Some(Duration::ZERO)).unwrap();
    good.connect(&ep).unwrap();
    let mut raw = raw_handshake(&ep, "PUSH");
    // PINGs with the longest context, never reading a PONG. ferrozmq must stop reading
    // once its output is full, so our writes block long before 256 MiB have gone.
    let ping = raw_command(
        b"PING",
        &[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    );
    let batch: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 4096)
        .collect();
    raw.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let limit = 256usize << 20;
    let mut sent = 0usize;
    let blocked = loop {
        match raw.write(&batch) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break true,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break true,
            Err(e) => panic!("write failed: {e}"),
        }
        if sent >= limit {
            break false;
        }
    };
    assert!(
        blocked,
        "ferrozmq read {sent} bytes of PINGs without its PONGs being read"
    );
    // Meanwhile the other peer is served.
    for k in 0..100 {
        send(&mut good, format!("m{k}"), "the good peer's messages");
    }
    for k in 0..100 {
        assert_eq!(
            text(&recv(&mut pull, "the good peer's messages")),
            format!("m{k}")
        );
    }
}

#[test]
fn what_a_closed_peer_sent_is_read_to_the_end_even_after_our_write_fails() {
    init();
    let ctx_a = Context::new();
    let mut a = ctx_a.socket(SocketType::Pair).unwrap();
    let ep = bind_fresh(&mut a, Transport::Tcp);
    let ctx_b = Context::new();
    let mut b = ctx_b.socket(SocketType::Pair).unwrap();
    b.set_rcvhwm(10).unwrap(); // B stops reading early; the rest waits in the kernel
    b.set_linger(Some(Duration::ZERO)).unwrap();
    let monitor = b.monitor();
    b.connect(&ep).unwrap();
    expect_kind(&monitor, &EventKind::HandshakeSucceeded);
    // Little enough that all of it leaves A's kernel before A closes: B's writes then draw
    // a reset from A, which would destroy anything still in A's send buffer.
    const N: usize = 100;
    for k in 0..N {
        send(&mut a, format!("{k:04}").repeat(256), "A's messages");
    }
    // A closes and lingers until the kernel has taken everything, then its side is gone.
    drop(a);
    within(TIMEOUT, "A's linger", move || ctx_a.term());
    // B writes to the closed peer: the first write draws a reset, a later one fails. The
    // messages A sent before it went must still all be read.
    for k in 0..20 {
        b.try_send(format!("b{k}")).ok();
        if monitor.recv_timeout(QUIET / 10).is_ok() {
            break; // B gave up the connection (what this test must not see yet)
        }
    }
    for k in 0..N {
        let m = recv(&mut b, "every message A sent before it closed");
        assert_eq!(text(&m), format!("{k:04}").repeat(256));
    }
}
