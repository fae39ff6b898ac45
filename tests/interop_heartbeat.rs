//! ZMTP heartbeats between ferrozmq and libzmq 4.3 (through the `zmq` crate): PING/PONG
//! keeps an idle connection alive, a peer that stops answering is dropped and the link
//! comes back, and the TTL each side announces in its PINGs is honoured by the other.
//!
//! What must hold: stalls are made with the fault proxy between the two libraries (it stops
//! reading, so no bytes and no FIN pass), libzmq-side disconnects are observed with
//! libzmq's own socket monitor, ferrozmq-side ones with `Socket::monitor`; nothing sleeps
//! to synchronise and every wait is bounded.

mod util;

use ferrozmq::{Context, EventKind, Socket, SocketType};
use std::time::{Duration, Instant};
use util::events::expect_event;
use util::proxy::FaultProxy;
use util::*;

/// Heartbeat interval used on whichever side sends PINGs.
const IVL: Duration = Duration::from_millis(100);

/// Heartbeat timeouts and TTLs: short enough to see a stall dropped in about a second,
/// long enough that a loaded 2-core machine does not starve an I/O thread past them.
const DEAD_AFTER: Duration = Duration::from_millis(800);

fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap()
}

/// A libzmq socket whose blocking calls are bounded and whose close never hangs.
fn zsocket(zctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = zctx.socket(kind).expect("libzmq socket");
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(ms(TIMEOUT)).unwrap();
    s.set_sndtimeo(ms(TIMEOUT)).unwrap();
    s
}

/// The receiving end of a libzmq socket monitor (`zmq_socket_monitor`).
struct ZMonitor {
    pair: zmq::Socket,
}

impl ZMonitor {
    /// Monitors every event of `s`; call before `s` binds or connects.
    fn attach(zctx: &zmq::Context, s: &zmq::Socket) -> ZMonitor {
        let ep = format!("inproc://{}", unique_name("zmon"));
        s.monitor(&ep, zmq::SocketEvent::ALL as i32).unwrap();
        let pair = zctx.socket(zmq::PAIR).unwrap();
        pair.set_linger(0).unwrap();
        pair.connect(&ep).unwrap();
        ZMonitor { pair }
    }

    /// The next event within `wait`, or None.
    fn next(&self, wait: Duration) -> Option<zmq::SocketEvent> {
        self.pair.set_rcvtimeo(ms(wait).max(1)).unwrap();
        match self.pair.recv_multipart(0) {
            Ok(frames) => {
                let id = u16::from_le_bytes([frames[0][0], frames[0][1]]);
                Some(zmq::SocketEvent::from_raw(id))
            }
            Err(zmq::Error::EAGAIN) => None,
            Err(e) => panic!("libzmq monitor: {e}"),
        }
    }

    /// Discards the events already reported, so that later waits see only what follows
    /// (a spurious reconnect under load before a stall must not be taken for its effect).
    fn drain(&self) {
        for _ in 0..10_000 {
            if self.next(Duration::from_millis(1)).is_none() {
                return;
            }
        }
    }

    /// Waits up to [`TIMEOUT`] for `want`, skipping other events.
    #[track_caller]
    fn wait_for(&self, want: zmq::SocketEvent, what: &str) {
        let end = deadline(TIMEOUT);
        let mut seen = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(e) if e == want => return,
                Some(e) => seen.push(e),
                None => panic!("libzmq never reported {what} ({want:?}); saw {seen:?}"),
            }
        }
    }

    /// Asserts that no event in `bad` comes within `window`.
    #[track_caller]
    fn assert_none_of(&self, bad: &[zmq::SocketEvent], window: Duration, what: &str) {
        let end = deadline(window);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next(left) {
                Some(e) if bad.contains(&e) => panic!("libzmq reported {e:?}: {what}"),
                Some(_) => {}
                None => return,
            }
        }
    }
}

/// Waits until the proxy has forwarded at least `bytes` more towards its target than
/// `since` (polling a counter with a deadline: the proxy raises no event for it).
fn wait_forwarded(proxy: &FaultProxy, since: u64, bytes: u64, what: &str) {
    let end = deadline(TIMEOUT);
    while proxy.bytes_to_target() < since + bytes {
        remaining(end, what);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The smallest PING on the wire: a 2-byte command header, "\x04PING" and a 2-byte TTL.
const PING_BYTES: u64 = 9;

fn ferro_pull(ctx: &Context) -> (Socket, String) {
    let mut pull = bounded_socket(ctx, SocketType::Pull, TIMEOUT);
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    (pull, ep)
}

/// (a) Property: ferrozmq answers libzmq's PINGs, so a libzmq peer with heartbeats
/// (100 ms interval, 1 s timeout) keeps an idle connection to ferrozmq open across many
/// intervals — no disconnect, no second handshake — and messages still flow after.
#[test]
fn libzmq_heartbeats_keep_an_idle_connection_alive() {
    init();
    let ctx = Context::new();
    let (mut pull, ep) = ferro_pull(&ctx);
    let zctx = zmq::Context::new();
    let zpush = zsocket(&zctx, zmq::PUSH);
    zpush.set_heartbeat_ivl(ms(IVL)).unwrap();
    zpush.set_heartbeat_timeout(1000).unwrap();
    let zmon = ZMonitor::attach(&zctx, &zpush);
    zpush.connect(&ep).unwrap();
    zpush.send("one", 0).unwrap();
    assert_eq!(text(&recv(&mut pull, "the first message")), "one");
    zmon.wait_for(zmq::SocketEvent::HANDSHAKE_SUCCEEDED, "the handshake");

    // Idle for 20 heartbeat intervals: libzmq sends PINGs, ferrozmq must answer each.
    zmon.assert_none_of(
        &[
            zmq::SocketEvent::DISCONNECTED,
            zmq::SocketEvent::HANDSHAKE_SUCCEEDED,
        ],
        IVL * 20,
        "the idle connection was dropped (are PINGs answered?)",
    );
    zpush.send("two", 0).unwrap();
    assert_eq!(
        text(&recv(&mut pull, "a message after the idle time")),
        "two"
    );
    zmon.assert_none_of(
        &[
            zmq::SocketEvent::DISCONNECTED,
            zmq::SocketEvent::HANDSHAKE_SUCCEEDED,
        ],
        Duration::ZERO,
        "the connection was replaced",
    );
}

/// (b) Property: a libzmq peer with heartbeats drops a ferrozmq peer that stopped
/// answering (the proxy between them stalled) and, once the path works again, reconnects
/// and messages flow.
#[test]
fn libzmq_heartbeats_drop_a_stalled_ferrozmq_peer_and_reconnect() {
    init();
    let ctx = Context::new();
    let (mut pull, ep) = ferro_pull(&ctx);
    let proxy = FaultProxy::start(&ep);
    let zctx = zmq::Context::new();
    let zpush = zsocket(&zctx, zmq::PUSH);
    zpush.set_heartbeat_ivl(ms(IVL)).unwrap();
    zpush.set_heartbeat_timeout(ms(DEAD_AFTER)).unwrap();
    zpush.set_reconnect_ivl(50).unwrap();
    let zmon = ZMonitor::attach(&zctx, &zpush);
    zpush.connect(&proxy.endpoint()).unwrap();
    zpush.send("before", 0).unwrap();
    assert_eq!(text(&recv(&mut pull, "before the stall")), "before");
    zmon.wait_for(zmq::SocketEvent::HANDSHAKE_SUCCEEDED, "the handshake");

    zmon.drain();
    proxy.stall();
    zmon.wait_for(
        zmq::SocketEvent::DISCONNECTED,
        "the heartbeat timeout on a stalled path",
    );
    proxy.resume();
    zmon.wait_for(
        zmq::SocketEvent::HANDSHAKE_SUCCEEDED,
        "the handshake after the stall",
    );
    zpush.send("after", 0).unwrap();
    assert_eq!(text(&recv(&mut pull, "after the reconnect")), "after");
}

/// (c) Property: the TTL ferrozmq announces in its PINGs is honoured by libzmq. ferrozmq
/// sends PINGs (100 ms) with an 800 ms TTL; libzmq has no heartbeat of its own, so only that
/// TTL can make it drop the connection when the path stalls. After the path works again,
/// ferrozmq reconnects and messages flow.
#[test]
fn ferrozmq_ttl_is_honoured_by_libzmq() {
    init();
    let zctx = zmq::Context::new();
    let zpull = zsocket(&zctx, zmq::PULL);
    let zmon = ZMonitor::attach(&zctx, &zpull);
    zpull.bind("tcp://127.0.0.1:*").unwrap();
    let zep = zpull.get_last_endpoint().unwrap().unwrap();
    let proxy = FaultProxy::start(&zep);

    let ctx = Context::new();
    let mut push = bounded_socket(&ctx, SocketType::Push, TIMEOUT);
    push.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    push.set_heartbeat_ivl(Some(IVL)).unwrap();
    push.set_heartbeat_ttl(Some(DEAD_AFTER)).unwrap();
    // Our own timeout is long: the drop seen below must be libzmq's doing.
    push.set_heartbeat_timeout(Some(TIMEOUT * 3)).unwrap();
    push.connect(&proxy.endpoint()).unwrap();
    send(&mut push, "hello", "the first message");
    assert_eq!(zpull.recv_bytes(0).unwrap(), b"hello");
    zmon.wait_for(zmq::SocketEvent::HANDSHAKE_SUCCEEDED, "the handshake");
    // libzmq arms its TTL timer when a PING arrives: let two through before stalling.
    let since = proxy.bytes_to_target();
    wait_forwarded(&proxy, since, 2 * PING_BYTES, "two PINGs from ferrozmq");

    zmon.drain();
    proxy.stall();
    zmon.wait_for(
        zmq::SocketEvent::DISCONNECTED,
        "libzmq dropping after our TTL",
    );
    proxy.resume();
    zmon.wait_for(
        zmq::SocketEvent::HANDSHAKE_SUCCEEDED,
        "ferrozmq reconnecting after the drop",
    );
    send(&mut push, "after", "a message after the reconnect");
    assert_eq!(zpull.recv_bytes(0).unwrap(), b"after");
}

/// (d) Property: the TTL libzmq announces in its PINGs is honoured by ferrozmq. libzmq
/// sends PINGs (100 ms) with an 800 ms TTL; ferrozmq has heartbeats off, so only that TTL
/// can make it drop the connection when the path stalls (its monitor shows Disconnected).
/// After the path works again, libzmq reconnects and messages flow.
#[test]
fn libzmq_ttl_is_honoured_by_ferrozmq() {
    init();
    let ctx = Context::new();
    let mut pull = bounded_socket(&ctx, SocketType::Pull, TIMEOUT);
    let monitor = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let proxy = FaultProxy::start(&ep);
    let zctx = zmq::Context::new();
    let zpush = zsocket(&zctx, zmq::PUSH);
    zpush.set_heartbeat_ivl(ms(IVL)).unwrap();
    zpush.set_heartbeat_ttl(ms(DEAD_AFTER)).unwrap();
    // libzmq's own timeout is long: the drop seen below must be ferrozmq's doing.
    zpush.set_heartbeat_timeout(ms(TIMEOUT * 3)).unwrap();
    zpush.set_reconnect_ivl(50).unwrap();
    let zmon = ZMonitor::attach(&zctx, &zpush);
    zpush.connect(&proxy.endpoint()).unwrap();
    zpush.send("hello", 0).unwrap();
    assert_eq!(text(&recv(&mut pull, "the first message")), "hello");
    zmon.wait_for(zmq::SocketEvent::HANDSHAKE_SUCCEEDED, "the handshake");
    let since = proxy.bytes_to_target();
    wait_forwarded(&proxy, since, 2 * PING_BYTES, "two PINGs from libzmq");

    zmon.drain();
    proxy.stall();
    let gone = expect_event(&monitor, "ferrozmq dropping after libzmq's TTL", |e| {
        matches!(e.kind, EventKind::Disconnected { .. })
    });
    assert!(
        gone.kind.detail().unwrap_or_default().contains("TTL"),
        "the drop should come from libzmq's TTL: {gone}"
    );
    proxy.resume();
    zmon.wait_for(
        zmq::SocketEvent::HANDSHAKE_SUCCEEDED,
        "libzmq reconnecting after the drop",
    );
    zpush.send("after", 0).unwrap();
    assert_eq!(text(&recv(&mut pull, "after the reconnect")), "after");
}
