//! Hostile peers: a PULL that one peer feeds garbage, a legacy protocol, an oversized or
//! endless frame, too many frames, malformed READY metadata, or a stalled handshake closes
//! that connection and keeps serving a well-behaved PUSH; a size a peer merely announces
//! is never allocated (an exabyte allocation would abort the whole test process).
//! For the input-limit and READY cases the socket monitor must also say why.

mod util;

use ferrozmq::{Context, EventKind, Socket, SocketType};
use std::io::Write;
use std::net::TcpStream;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;
use util::events::expect_event;
use util::raw::*;
use util::*;

/// A PULL on tcp with a well-behaved ferrozmq PUSH connected; returns (pull, push, endpoint).
fn served_pull(ctx: &Context, configure: impl FnOnce(&mut Socket)) -> (Socket, Socket, String) {
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    configure(&mut pull);
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO)).unwrap();
    push.connect(&ep).unwrap();
    send(&mut push, "first", "the good peer's first message");
    assert_eq!(
        text(&recv(&mut pull, "the good peer's first message")),
        "first"
    );
    (pull, push, ep)
}

/// The good peer is still served after the hostile one did its worst.
fn still_served(pull: &mut Socket, push: &mut Socket) {
    for k in 0..100 {
        send(
            push,
            format!("m{k}"),
            "the good peer's messages after the attack",
        );
    }
    for k in 0..100 {
        let m = recv(pull, "the good peer's messages after the attack");
        assert_eq!(text(&m), format!("m{k}"));
    }
}

fn connect_raw(ep: &str) -> std::net::TcpStream {
    std::net::TcpStream::connect(ep.strip_prefix("tcp://").unwrap()).expect("raw connect")
}

#[test]
fn garbage_instead_of_a_greeting_is_closed() {
    init();
    let ctx = Context::new();
    let (mut pull, mut push, ep) = served_pull(&ctx, |_| {});
    let mut raw = connect_raw(&ep);
    raw.write_all(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        .unwrap();
    expect_closed(&mut raw, "an HTTP request instead of ZMTP");
    still_served(&mut pull, &mut push);
}

#[test]
fn a_legacy_zmtp_peer_is_closed() {
    init();
    let ctx = Context::new();
    let (mut pull, mut push, ep) = served_pull(&ctx, |_| {});
    let mut raw = connect_raw(&ep);
    // A ZMTP 2.0 signature and revision: ferrozmq speaks 3.x only.
    raw.write_all(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, 0x08])
        .unwrap();
    expect_closed(&mut raw, "a ZMTP 2.0 peer");
    still_served(&mut pull, &mut push);
}

#[test]
fn an_oversized_frame_is_refused_from_its_header() {
    init();
    let ctx = Context::new();
    let (mut pull, mut push, ep) = served_pull(&ctx, |p| p.set_max_msg_size(Some(1024)).unwrap());
    let mut raw = raw_handshake(&ep, "PUSH");
    // A LONG frame announcing 1 MiB; not one byte of the body follows.
    let mut header = vec![0x02];
    header.extend_from_slice(&(1u64 << 20).to_be_bytes());
    raw.write_all(&header).unwrap();
    expect_closed(&mut raw, "a frame over max_msg_size");
    still_served(&mut pull, &mut push);
}

#[test]
fn an_announced_exabyte_frame_is_not_allocated_and_others_are_served() {
    init();
    let ctx = Context::new();
    let mut header = vec![0x02];
    header.extend_from_slice(&(1u64 << 60).to_be_bytes());
    header.extend_from_slice(&[7u8; 1000]);
    // The default max_msg_size (1 GiB) refuses it from the header.
    let (mut pull, mut push, ep) = served_pull(&ctx, |_| {});
    let monitor = pull.monitor();
    let mut raw = raw_handshake(&ep, "PUSH");
    raw.write_all(&header).unwrap();
    expect_closed(&mut raw, "an exabyte frame under the default limit");
    let why = "message of 1152921504606846976 bytes exceeds max_msg_size";
    expect_event(
        &monitor,
        why,
        |e| matches!(&e.kind, EventKind::Disconnected { reason } if reason.contains(why)),
    );
    still_served(&mut pull, &mut push);
    // No max_msg_size (libzmq's default): the peer may announce any size, and memory must
    // still follow only what arrives.
    let (mut pull, mut push, ep) = served_pull(&ctx, |p| p.set_max_msg_size(None).unwrap());
    let mut raw = raw_handshake(&ep, "PUSH");
    raw.write_all(&header).unwrap();
    // The hostile connection stays open (its frame is merely incomplete); the good peer is
    // served meanwhile, which needs the I/O thread alive and not stuck on that frame.
    still_served(&mut pull, &mut push);
    assert_nothing(&mut pull, "nothing of the incomplete exabyte frame");
}

#[test]
fn a_stalled_handshake_times_out() {
    init();
    let ctx = Context::new();
    let (mut pull, mut push, ep) = served_pull(&ctx, |p| {
        p.set_handshake_ivl(Some(Duration::from_millis(200)))
            .unwrap()
    });
    let mut raw = connect_raw(&ep);
    raw.write_all(&[0xFF, 0, 0]).unwrap(); // a third of a signature, then silence
    expect_closed(&mut raw, "a handshake that never completes");
    still_served(&mut pull, &mut push);
}

#[test]
fn a_command_inside_a_multipart_message_is_closed() {
    init();
    let ctx = Context::new();
    let (mut pull, mut push, ep) = served_pull(&ctx, |_| {});
    let mut raw = raw_handshake(&ep, "PUSH");
    // First frame with MORE, then a command frame: illegal in ZMTP 3.
    let mut bytes = vec![0x01, 1, b'a'];
    bytes.extend_from_slice(&[0x04, 5, 4, b'P', b'I', b'N', b'G']);
    raw.write_all(&bytes).unwrap();
    expect_closed(&mut raw, "a command between the frames of a message");
    assert_nothing(&mut pull, "no part of the broken message");
    still_served(&mut pull, &mut push);
}

/// Tests that take much memory (or measure it) run one at a time, so that a memory bound
/// measured in one is not blurred by another in the same process.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a hostile peer did: its connection, and the thread still writing to it, if any.
struct Attack {
    raw: TcpStream,
    writer: Option<JoinHandle<()>>,
}

impl Attack {
    /// Waits for ferrozmq to close the connection, and for the writer to give up.
    fn expect_closed(mut self, why: &str) -> Vec<u8> {
        let got = read_until_closed(&mut self.raw, why);
        if let Some(writer) = self.writer.take() {
            writer.join().expect("the writer thread");
        }
        got
    }
}

/// Writes `chunks` from a thread, stopping at the first error (the connection closed).
fn write_from_thread(
    raw: &TcpStream,
    chunks: impl Iterator<Item = Vec<u8>> + Send + 'static,
) -> JoinHandle<()> {
    let mut w = raw.try_clone().expect("clone the raw stream");
    std::thread::spawn(move || {
        for chunk in chunks {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
    })
}

/// A LONG frame header announcing `size`.
fn long_header(size: u64, more: bool) -> Vec<u8> {
    let mut h = vec![0x02 | u8::from(more)];
    h.extend_from_slice(&size.to_be_bytes());
    h
}

/// After the handshake, a LONG header announcing `size`, then `body` bytes really sent (in
/// 1 MiB writes, from a thread).
fn announce(ep: &str, size: u64, body: usize) -> Attack {
    let mut raw = raw_handshake(ep, "PUSH");
    raw.write_all(&long_header(size, false)).unwrap();
    let chunks =
        (0..body.div_ceil(1 << 20)).map(move |i| vec![i as u8; (body - (i << 20)).min(1 << 20)]);
    let writer = Some(write_from_thread(&raw, chunks));
    Attack { raw, writer }
}

/// After the handshake, `count` one-byte frames, all with MORE, written in big batches.
fn one_byte_frames(ep: &str, count: usize) -> Attack {
    let raw = raw_handshake(ep, "PUSH");
    const BATCH: usize = 100_000;
    let chunks = (0..count.div_ceil(BATCH)).map(move |i| {
        let n = (count - i * BATCH).min(BATCH);
        b"\x01\x01x".repeat(n)
    });
    let writer = Some(write_from_thread(&raw, chunks));
    Attack { raw, writer }
}

/// After the greetings, a READY with exactly `props`.
fn bad_ready(ep: &str, props: &[(&[u8], &[u8])]) -> Attack {
    let mut raw = raw_greeted(ep);
    raw.write_all(&raw_ready_with(props)).unwrap();
    Attack { raw, writer: None }
}

/// The hostile cases added with the input limits: how the PULL is set up, what the peer
/// does, and words the reason for closing must contain.
#[derive(Clone, Copy)]
enum Case {
    Announce262WithBytes,
    Announce2p32Plus5,
    AnnounceI64Max,
    MillionAndOneFrames,
    IncompleteOverLimit,
    EmptyPropertyName,
    DuplicateSocketType,
    ConflictingSocketType,
    DuplicateIdentity,
    LongIdentity,
    OversizedReady,
}

impl Case {
    fn configure(self, pull: &mut Socket) {
        if let Case::IncompleteOverLimit = self {
            // 1 MiB: 256 frames of 4 KiB would only reach it in bytes, but each frame also
            // counts 32 bytes of overhead, so the 255th (4 KiB short of it) is already over.
            pull.set_max_msg_size(Some(1 << 20)).unwrap();
        }
    }

    fn attack(self, ep: &str) -> Attack {
        match self {
            Case::Announce262WithBytes => announce(ep, 1 << 62, 64 << 20),
            Case::Announce2p32Plus5 => announce(ep, (1 << 32) + 5, 4096),
            Case::AnnounceI64Max => announce(ep, i64::MAX as u64, 4096),
            Case::MillionAndOneFrames => one_byte_frames(ep, 1_000_001),
            Case::IncompleteOverLimit => {
                let raw = raw_handshake(ep, "PUSH");
                let mut frame = long_header(4096, true);
                frame.extend_from_slice(&[9u8; 4096]);
                let writer = Some(write_from_thread(&raw, std::iter::repeat_n(frame, 256)));
                Attack { raw, writer }
            }
            Case::EmptyPropertyName => bad_ready(ep, &[(b"Socket-Type", b"PUSH"), (b"", b"x")]),
            Case::DuplicateSocketType => {
                bad_ready(ep, &[(b"Socket-Type", b"PUSH"), (b"Socket-Type", b"PUSH")])
            }
            Case::ConflictingSocketType => {
                bad_ready(ep, &[(b"Socket-Type", b"PUSH"), (b"Socket-Type", b"PUB")])
            }
            Case::DuplicateIdentity => bad_ready(
                ep,
                &[
                    (b"Identity", b"a"),
                    (b"Socket-Type", b"PUSH"),
                    (b"Identity", b"a"),
                ],
            ),
            Case::LongIdentity => bad_ready(
                ep,
                &[(b"Socket-Type", b"PUSH"), (b"Identity", &[b'i'; 256])],
            ),
            Case::OversizedReady => {
                // Only the header of a READY one byte over 64 KiB: refused from it alone.
                let mut raw = raw_greeted(ep);
                let mut header = long_header(64 * 1024 + 1, false);
                header[0] = 0x06; // LONG command
                raw.write_all(&header).unwrap();
                Attack { raw, writer: None }
            }
        }
    }

    /// Words the monitor's reason must contain (`ProtocolError`'s texts).
    fn why(self) -> &'static str {
        match self {
            Case::Announce262WithBytes => {
                "message of 4611686018427387904 bytes exceeds max_msg_size"
            }
            Case::Announce2p32Plus5 => "message of 4294967301 bytes exceeds max_msg_size",
            Case::AnnounceI64Max => "message of 9223372036854775807 bytes exceeds max_msg_size",
            Case::MillionAndOneFrames => "more than 1000000 frames exceeds max_msg_frames",
            Case::IncompleteOverLimit => "incomplete message of 255 frames and 1044480 bytes",
            Case::EmptyPropertyName => "property with an empty name",
            Case::DuplicateSocketType | Case::ConflictingSocketType => {
                "repeats the property `Socket-Type`"
            }
            Case::DuplicateIdentity => "repeats the property `Identity`",
            Case::LongIdentity => "Identity of 256 bytes",
            Case::OversizedReady => "(READY metadata) of 65537 bytes exceeds the limit",
        }
    }

    /// Whether the case fails the handshake, so that ferrozmq answers with ERROR.
    fn in_handshake(self) -> bool {
        !matches!(
            self,
            Case::Announce262WithBytes
                | Case::Announce2p32Plus5
                | Case::AnnounceI64Max
                | Case::MillionAndOneFrames
                | Case::IncompleteOverLimit
        )
    }
}

/// Runs `case` against a served PULL: the hostile connection is closed (with an ERROR
/// command first if the handshake failed), the monitor says why (HANDSHAKE_FAILED_PROTOCOL
/// for a failed handshake, DISCONNECTED after one), and the good peer is still served.
fn closed_and_served(case: Case) {
    init();
    let ctx = Context::new();
    let (mut pull, mut push, ep) = served_pull(&ctx, |p| case.configure(p));
    let monitor = pull.monitor();
    let got = case.attack(&ep).expect_closed(case.why());
    if case.in_handshake() {
        assert!(
            got.windows(6).any(|w| w == b"\x05ERROR"),
            "an ERROR command before closing, got {got:?}"
        );
    }
    let why = case.why();
    expect_event(&monitor, why, |e| match &e.kind {
        EventKind::HandshakeFailedProtocol { reason } => {
            case.in_handshake() && reason.contains(why)
        }
        EventKind::Disconnected { reason } => !case.in_handshake() && reason.contains(why),
        _ => false,
    });
    still_served(&mut pull, &mut push);
    assert_nothing(&mut pull, "nothing of the hostile peer's input");
}

#[test]
fn an_announced_2_pow_62_frame_with_real_bytes_is_closed() {
    let _heavy = heavy();
    closed_and_served(Case::Announce262WithBytes);
}

#[test]
fn an_announced_2_pow_32_plus_5_frame_is_closed() {
    closed_and_served(Case::Announce2p32Plus5);
}

#[test]
fn an_announced_2_pow_63_minus_1_frame_is_closed() {
    closed_and_served(Case::AnnounceI64Max);
}

#[test]
fn a_message_of_1_000_001_frames_is_closed() {
    let _heavy = heavy();
    closed_and_served(Case::MillionAndOneFrames);
}

#[test]
fn an_incomplete_message_over_max_msg_size_through_many_frames_is_closed() {
    let _heavy = heavy();
    closed_and_served(Case::IncompleteOverLimit);
}

#[test]
fn a_ready_property_with_an_empty_name_is_refused() {
    closed_and_served(Case::EmptyPropertyName);
}

#[test]
fn a_ready_with_a_duplicate_socket_type_is_refused() {
    closed_and_served(Case::DuplicateSocketType);
}

#[test]
fn a_ready_with_conflicting_socket_types_is_refused() {
    closed_and_served(Case::ConflictingSocketType);
}

#[test]
fn a_ready_with_a_duplicate_identity_is_refused() {
    closed_and_served(Case::DuplicateIdentity);
}

#[test]
fn a_ready_with_a_256_byte_identity_is_refused() {
    closed_and_served(Case::LongIdentity);
}

#[test]
fn an_oversized_ready_is_refused_from_its_header() {
    closed_and_served(Case::OversizedReady);
}

/// The resident set size of this process, from /proc/self/status.
fn vm_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

#[test]
fn a_2_pow_62_frame_with_64_mib_of_real_bytes_costs_bounded_memory() {
    let _heavy = heavy();
    init();
    let ctx = Context::new();
    let (mut pull, mut push, ep) = served_pull(&ctx, |_| {});
    still_served(&mut pull, &mut push); // warm up: buffers and pipes exist before measuring
    let before = vm_rss();
    Case::Announce262WithBytes
        .attack(&ep)
        .expect_closed("a 2^62-byte frame with 64 MiB of real bytes");
    still_served(&mut pull, &mut push);
    let after = vm_rss();
    let growth = after.saturating_sub(before);
    assert!(
        growth < 64 << 20,
        "resident memory grew by {growth} bytes ({before} -> {after})"
    );
}
