//! Unit tests of `Connection`'s input limits: hostile frame sizes, `max_msg_size` and
//! `max_msg_frames`, the per-frame overhead of incomplete messages, and READY metadata at
//! and past its limits. Each limit must fail from the frame header, before any body is
//! awaited or allocated.

use super::super::frame::FLAG_LONG;
use super::super::outbuf::tests::drain;
use super::tests::*;
use super::*;

fn hostile_header() -> [u8; 9] {
    let mut h = [FLAG_LONG; 9];
    h[1..].copy_from_slice(&(1u64 << 62).to_be_bytes());
    h
}

#[test]
fn hostile_long_size_without_limit_does_not_allocate() {
    let (mut conn, mut out, _) = ready_conn(config(SocketType::Pull), 1);
    let mut input = BytesMut::with_capacity(64);
    input.extend_from_slice(&hostile_header());
    input.extend_from_slice(&[0u8; 10]);
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert!(events.is_empty());
    assert_eq!(input.len(), 10, "header consumed, body bytes kept");
    assert_eq!(conn.body_missing(input.len()), (1usize << 62) - 10);
    assert!(
        input.capacity() <= 64,
        "capacity grew to {}",
        input.capacity()
    );
    input.extend_from_slice(&[0u8; 20]);
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(input.len(), 30);
    assert!(input.capacity() <= 64);
}

#[test]
fn hostile_long_size_with_limit_fails_from_the_header() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(1000);
    let (mut conn, mut out, _) = ready_conn(cfg, 1);
    let mut input = BytesMut::from(&hostile_header()[..]);
    let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
    assert_eq!(
        r,
        Err(ProtocolError::MessageTooLarge {
            size: 1 << 62,
            limit: 1000
        })
    );
}

#[test]
fn top_bit_long_size_is_rejected() {
    let (mut conn, mut out, _) = ready_conn(config(SocketType::Pull), 1);
    let mut input = BytesMut::from(&[0x02, 0x80, 0, 0, 0, 0, 0, 0, 0][..]);
    let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
    assert!(matches!(r, Err(ProtocolError::Malformed(_))));
}

#[test]
fn max_msg_size_counts_the_whole_multipart_message() {
    let limited = || {
        let mut cfg = config(SocketType::Pull);
        cfg.max_msg_size = Some(100);
        ready_conn(cfg, 1)
    };
    // Exactly at the limit passes.
    let (mut conn, mut out, mut input) = limited();
    input.extend_from_slice(&message(&[&[1u8; 60][..], &[2u8; 40][..]]));
    input.extend_from_slice(&message(&[&[3u8; 100][..]]));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events.len(), 2);
    // One byte over fails at the second frame's header, before its body arrives.
    let (mut conn, mut out, mut input) = limited();
    let over = message(&[&[1u8; 60][..], &[2u8; 41][..]]);
    input.extend_from_slice(&over[..2 + 60 + 2]);
    let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
    assert_eq!(
        r,
        Err(ProtocolError::MessageTooLarge {
            size: 101,
            limit: 100
        })
    );
    // A single frame one byte over fails too.
    let (mut conn, mut out, mut input) = limited();
    input.extend_from_slice(&[0x00, 101]);
    let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
    assert!(matches!(
        r,
        Err(ProtocolError::MessageTooLarge { size: 101, .. })
    ));
    // The running total restarts with each message.
    let (mut conn, mut out, mut input) = limited();
    for _ in 0..3 {
        input.extend_from_slice(&message(&[&[1u8; 50][..], &[2u8; 50][..]]));
    }
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events.len(), 3);
}

#[test]
fn small_limit_still_allows_heartbeats() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(4);
    let (mut conn, mut out, mut input) = ready_conn(cfg, 1);
    input.extend_from_slice(&command(b"PING", b"\x00\x01sixteen-bytes-xx"));
    conn.handle_input(&mut input, &mut out, &mut Vec::new())
        .unwrap();
    assert_eq!(drain(&mut out), command(b"PONG", b"sixteen-bytes-xx"));
}

#[test]
fn hostile_sizes_fail_from_the_header_under_the_default_limit() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(crate::options::DEFAULT_MAX_MSG_SIZE);
    let limit = 1u64 << 30;
    for (size, more) in [
        (1u64 << 62, false),
        ((1 << 32) + 5, true),
        (i64::MAX as u64, false),
        (limit + 1, false),
    ] {
        let (mut conn, mut out, _) = ready_conn(cfg.clone(), 1);
        let mut input = BytesMut::new();
        input.extend_from_slice(&[FLAG_LONG | u8::from(more)]);
        input.extend_from_slice(&size.to_be_bytes());
        let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
        assert_eq!(
            r,
            Err(ProtocolError::MessageTooLarge { size, limit }),
            "size {size}"
        );
        assert!(out.is_empty(), "no ERROR after the handshake");
    }
    // Exactly 1 GiB is accepted: the header is consumed and the body awaited.
    let (mut conn, mut out, _) = ready_conn(cfg, 1);
    let mut input = BytesMut::new();
    input.extend_from_slice(&[FLAG_LONG]);
    input.extend_from_slice(&limit.to_be_bytes());
    conn.handle_input(&mut input, &mut out, &mut Vec::new())
        .unwrap();
    assert_eq!(conn.body_missing(0), 1 << 30);
}

#[test]
fn max_msg_frames_counts_frames_per_message() {
    let limited = || {
        let mut cfg = config(SocketType::Pull);
        cfg.max_msg_frames = Some(3);
        ready_conn(cfg, 1)
    };
    // Exactly at the limit passes, and the count restarts with each message.
    let (mut conn, mut out, mut input) = limited();
    input.extend_from_slice(&message(&[b"a", b"b", b"c"]));
    input.extend_from_slice(&message(&[b"d", b"e", b"f"]));
    input.extend_from_slice(&message(&[b"g"]));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events.len(), 3);
    // One over fails at the fourth frame's header, before its body arrives.
    let (mut conn, mut out, mut input) = limited();
    let four = message(&[b"a", b"b", b"c", b"d"]);
    input.extend_from_slice(&four[..four.len() - 1]);
    let mut events = Vec::new();
    let r = conn.handle_input(&mut input, &mut out, &mut events);
    assert_eq!(r, Err(ProtocolError::TooManyFrames { limit: 3 }));
    assert!(events.is_empty(), "the partial message is not delivered");
    // Commands between messages are not frames of a message.
    let (mut conn, mut out, mut input) = limited();
    for _ in 0..5 {
        input.extend_from_slice(&command(b"PING", b"\0\0"));
    }
    input.extend_from_slice(&message(&[b"a", b"b", b"c"]));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events.last(), Some(&msg_event(&[b"a", b"b", b"c"])));
    assert_eq!(events.len(), 6, "five PINGs and the message");
}

#[test]
fn an_incomplete_message_counts_an_overhead_per_frame() {
    let limited = || {
        let mut cfg = config(SocketType::Pull);
        cfg.max_msg_size = Some(100);
        ready_conn(cfg, 1)
    };
    // 36 bytes in two incomplete frames hold 36 + 2 * 32 = 100: exactly at the limit.
    let (mut conn, mut out, mut input) = limited();
    input.extend_from_slice(&message(&[&[1u8; 36][..], b"", b""]));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events, vec![msg_event(&[&[1u8; 36][..], b"", b""])]);
    // 37 bytes: one over, refused at the second header.
    let (mut conn, mut out, mut input) = limited();
    let over = message(&[&[1u8; 37][..], b"", b""]);
    input.extend_from_slice(&over[..2 + 37 + 2]);
    let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
    assert_eq!(
        r,
        Err(ProtocolError::IncompleteMessageTooLarge {
            frames: 2,
            bytes: 37,
            overhead: FRAME_OVERHEAD,
            limit: 100
        })
    );
    // The last frame completes the message, so only bytes count for it: 68 + 32 = 100
    // bytes in two frames pass although with overheads they would hold 164.
    let (mut conn, mut out, mut input) = limited();
    input.extend_from_slice(&message(&[&[1u8; 68][..], &[2u8; 32][..]]));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn a_flood_of_one_byte_frames_is_bounded() {
    // A limit of 1000 one-byte incomplete frames; the frame-count limit is off.
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(1000 * (1 + FRAME_OVERHEAD));
    let (mut conn, mut out, mut input) = ready_conn(cfg, 1);
    for _ in 0..1000 {
        input.extend_from_slice(b"\x01\x01x");
    }
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert!(events.is_empty() && input.is_empty());
    input.extend_from_slice(b"\x01\x01x");
    let r = conn.handle_input(&mut input, &mut out, &mut events);
    assert!(
        matches!(
            r,
            Err(ProtocolError::IncompleteMessageTooLarge { frames: 1001, .. })
        ),
        "{r:?}"
    );
}

#[test]
fn malformed_ready_metadata_is_refused_with_an_error_command() {
    let g = libzmq_greeting(1);
    let cases: Vec<(Vec<u8>, ProtocolError)> = vec![
        (
            ready_with(&[(b"Socket-Type", b"PUSH"), (b"", b"x")]),
            ProtocolError::EmptyPropertyName,
        ),
        (
            ready_with(&[(b"Socket-Type", b"PUSH"), (b"Socket-Type", b"PUSH")]),
            ProtocolError::DuplicateProperty("Socket-Type".into()),
        ),
        (
            ready_with(&[(b"Socket-Type", b"PUSH"), (b"Socket-Type", b"PUB")]),
            ProtocolError::DuplicateProperty("Socket-Type".into()),
        ),
        (
            ready_with(&[(b"socket-type", b"PUB"), (b"Socket-Type", b"PUSH")]),
            ProtocolError::DuplicateProperty("Socket-Type".into()),
        ),
        (
            ready_with(&[
                (b"Identity", b"a"),
                (b"Socket-Type", b"PUSH"),
                (b"Identity", b"b"),
            ]),
            ProtocolError::DuplicateProperty("Identity".into()),
        ),
        (
            ready_with(&[(b"Socket-Type", b"PUSH"), (b"Identity", &[7u8; 256])]),
            ProtocolError::IdentityTooLong(256),
        ),
        (
            ready_with(&[(b"Socket-Type", b"PUSH"), (b"X-Big", &[0u8; 70_000])]),
            ProtocolError::HandshakeCommandTooLarge {
                size: 6 + 12 + 4 + 4 + 6 + 4 + 70_000,
                limit: MAX_HANDSHAKE_COMMAND,
            },
        ),
    ];
    for (ready, want) in cases {
        let (events, written, r) = feed(config(SocketType::Pull), &[&g, &ready]);
        assert_eq!(r.as_ref(), Err(&want));
        assert!(events.is_empty());
        let reason = error_after_ready(SocketType::Pull, &written);
        assert_eq!(reason, want.to_string());
    }
}

#[test]
fn ready_metadata_at_its_limits_is_accepted() {
    let g = libzmq_greeting(1);
    // A 255-byte Identity, other properties, and a READY body of exactly 64 KiB.
    let id = [7u8; 255];
    let fixed = 6 + (1 + 11 + 4 + 4) + (1 + 8 + 4 + 255) + (1 + 5 + 4);
    let pad = vec![0u8; MAX_HANDSHAKE_COMMAND as usize - fixed];
    let ready = ready_with(&[
        (b"Socket-Type", b"PUSH"),
        (b"Identity", &id),
        (b"X-Pad", &pad),
    ]);
    assert_eq!(ready.len(), 9 + MAX_HANDSHAKE_COMMAND as usize);
    let (events, written, r) = feed(config(SocketType::Pull), &[&g, &ready]);
    r.unwrap();
    let [Event::Ready(info)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(&info.routing_id[..], &id[..]);
    let mut ours = OutBuf::new();
    command::encode_ready(SocketType::Pull, None, &mut ours);
    assert_eq!(written, drain(&mut ours), "READY and nothing else");
    // One byte more is refused from the header.
    let mut pad = pad;
    pad.push(0);
    let ready = ready_with(&[
        (b"Socket-Type", b"PUSH"),
        (b"Identity", &id),
        (b"X-Pad", &pad),
    ]);
    let (_, _, r) = feed(config(SocketType::Pull), &[&g, &ready[..9]]);
    assert_eq!(
        r,
        Err(ProtocolError::HandshakeCommandTooLarge {
            size: MAX_HANDSHAKE_COMMAND + 1,
            limit: MAX_HANDSHAKE_COMMAND
        })
    );
}
