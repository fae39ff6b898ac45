//! Unit tests of `Connection`: handshakes, framing at every split point, commands, and a
//! deterministic fuzz run. The input limits and hostile sizes are in
//! `connection_limits_tests.rs`, which uses the helpers here.

use super::super::command::tests::body_of;
use super::super::frame::{FLAG_COMMAND, FLAG_LONG};
use super::super::outbuf::tests::drain;
use super::*;

pub(super) fn config(socket_type: SocketType) -> Config {
    Config {
        security: Default::default(),
        authenticate_null: false,
        socket_type,
        routing_id: Bytes::new(),
        max_msg_size: None,
        max_msg_frames: None,
    }
}

/// A greeting the way libzmq writes it: routing-id size + 1 as a u64 in the padding.
pub(super) fn libzmq_greeting(minor: u8) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xFF;
    g[1..9].copy_from_slice(&6u64.to_be_bytes());
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = minor;
    g[12..16].copy_from_slice(b"NULL");
    g
}

pub(super) fn ready(socket_type: &str, identity: Option<&[u8]>) -> Vec<u8> {
    let mut props = Vec::new();
    props.push(11u8);
    props.extend_from_slice(b"Socket-Type");
    props.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    props.extend_from_slice(socket_type.as_bytes());
    if let Some(id) = identity {
        props.push(8u8);
        props.extend_from_slice(b"Identity");
        props.extend_from_slice(&(id.len() as u32).to_be_bytes());
        props.extend_from_slice(id);
    }
    command(b"READY", &props)
}

/// A READY carrying exactly `props` (name, value), in that order, of any size.
pub(super) fn ready_with(props: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut body = b"\x05READY".to_vec();
    for (name, value) in props {
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    }
    let mut out = OutBuf::new();
    frame::encode_header(FLAG_COMMAND, body.len(), &mut out);
    let mut f = drain(&mut out);
    f.extend_from_slice(&body);
    f
}

/// What a connection of type `ours` wrote after its READY: it must be one ERROR command,
/// whose reason is returned.
pub(super) fn error_after_ready(ours: SocketType, written: &[u8]) -> String {
    let mut ready = OutBuf::new();
    command::encode_ready(ours, None, &mut ready);
    let ready_len = drain(&mut ready).len();
    assert!(written.len() > ready_len, "no ERROR command written");
    match command::parse(body_of(&written[ready_len..])) {
        Ok(Command::Error(reason)) => reason,
        other => panic!("expected ERROR, got {other:?}"),
    }
}

/// A short command frame `name` + `data` (data below 250 bytes).
pub(super) fn command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut f = vec![
        FLAG_COMMAND,
        (1 + name.len() + data.len()) as u8,
        name.len() as u8,
    ];
    f.extend_from_slice(name);
    f.extend_from_slice(data);
    f
}

pub(super) fn message(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = OutBuf::new();
    let msg = Message::multipart(frames.iter().map(|f| Bytes::copy_from_slice(f)));
    Connection::encode_plain_message(&msg, &mut out);
    drain(&mut out)
}

/// The bytes a connection of type `ours` writes before any input: its greeting.
pub(super) fn new_conn(cfg: Config) -> (Connection, OutBuf) {
    let mut out = OutBuf::new();
    let conn = Connection::new(cfg, &mut out);
    assert_eq!(out.len(), 64);
    (conn, out)
}

/// Feeds `chunks` one after the other; returns events, written bytes (greeting
/// excluded) and the first error.
pub(super) fn feed(
    cfg: Config,
    chunks: &[&[u8]],
) -> (Vec<Event>, Vec<u8>, Result<(), ProtocolError>) {
    let (mut conn, mut out) = new_conn(cfg);
    drain(&mut out);
    let mut input = BytesMut::new();
    let mut events = Vec::new();
    for c in chunks {
        input.extend_from_slice(c);
        if let Err(e) = conn.handle_input(&mut input, &mut out, &mut events) {
            return (events, drain(&mut out), Err(e));
        }
    }
    (events, drain(&mut out), Ok(()))
}

/// A ready connection; the peer is a libzmq-like socket of the first compatible type,
/// speaking ZMTP 3.`minor`.
pub(super) fn ready_conn(cfg: Config, minor: u8) -> (Connection, OutBuf, BytesMut) {
    let peer_type = SocketType::ALL
        .into_iter()
        .find(|t| cfg.socket_type.accepts(*t))
        .unwrap();
    let (mut conn, mut out) = new_conn(cfg);
    let mut input = BytesMut::new();
    input.extend_from_slice(&libzmq_greeting(minor));
    input.extend_from_slice(&ready(peer_type.zmtp_name(), None));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert!(conn.is_ready());
    assert!(matches!(events.as_slice(), [Event::Ready(_)]));
    drain(&mut out);
    (conn, out, input)
}

pub(super) fn msg_event(frames: &[&[u8]]) -> Event {
    Event::Message(Message::multipart(
        frames.iter().map(|f| Bytes::copy_from_slice(f)),
    ))
}

/// Moves everything `from_out` holds into `to`'s input and lets `to` handle it.
pub(super) fn pump(from_out: &mut OutBuf, to: &mut Connection, to_out: &mut OutBuf) -> Vec<Event> {
    let mut input = BytesMut::from(&drain(from_out)[..]);
    let mut events = Vec::new();
    to.handle_input(&mut input, to_out, &mut events).unwrap();
    assert!(input.is_empty());
    events
}

#[test]
fn two_connections_handshake_and_exchange_messages() {
    let (mut push, mut push_out) = new_conn(config(SocketType::Push));
    let (mut pull, mut pull_out) = new_conn(config(SocketType::Pull));
    assert!(!push.is_ready() && push.peer().is_none());
    // Both greetings cross, then both READYs.
    let ev_pull = pump(&mut push_out, &mut pull, &mut pull_out);
    assert!(ev_pull.is_empty());
    let ev_push = pump(&mut pull_out, &mut push, &mut push_out);
    assert!(matches!(&ev_push[..], [Event::Ready(p)] if p.socket_type == SocketType::Pull));
    let ev_pull = pump(&mut push_out, &mut pull, &mut pull_out);
    let [Event::Ready(p)] = &ev_pull[..] else {
        panic!("expected Ready, got {ev_pull:?}");
    };
    assert_eq!(p.socket_type, SocketType::Push);
    assert_eq!(p.minor, 1);
    assert!(p.routing_id.is_empty());
    assert_eq!(p.properties.len(), 1, "PUSH sends no Identity");
    assert!(push.is_ready() && pull.is_ready());
    assert_eq!(pull.peer(), Some(p));

    let big = vec![0xABu8; 10_000];
    let msgs: Vec<Vec<&[u8]>> = vec![
        vec![b"hello"],
        vec![b"a", b"", b"c"],
        vec![b""],
        vec![&[5u8; 300][..]],
        vec![b"head", &big[..]],
    ];
    for m in &msgs {
        let msg = Message::multipart(m.iter().map(|f| Bytes::copy_from_slice(f)));
        Connection::encode_plain_message(&msg, &mut push_out);
    }
    let events = pump(&mut push_out, &mut pull, &mut pull_out);
    let expected: Vec<Event> = msgs.iter().map(|m| msg_event(m)).collect();
    assert_eq!(events, expected);
    assert!(pull_out.is_empty(), "nothing to answer to messages");
}

#[test]
fn dealer_and_router_exchange_identities() {
    let mut cfg = config(SocketType::Dealer);
    cfg.routing_id = Bytes::from_static(b"dealer-1");
    let (mut dealer, mut dealer_out) = new_conn(cfg);
    let (mut router, mut router_out) = new_conn(config(SocketType::Router));
    pump(&mut dealer_out, &mut router, &mut router_out);
    let ev = pump(&mut router_out, &mut dealer, &mut dealer_out);
    let [Event::Ready(router_info)] = &ev[..] else {
        panic!("{ev:?}");
    };
    // ROUTER sends an (empty) Identity, as libzmq does.
    assert_eq!(router_info.properties.len(), 2);
    assert!(router_info.routing_id.is_empty());
    let ev = pump(&mut dealer_out, &mut router, &mut router_out);
    let [Event::Ready(dealer_info)] = &ev[..] else {
        panic!("{ev:?}");
    };
    assert_eq!(&dealer_info.routing_id[..], b"dealer-1");
}

/// A libzmq-like PUSH peer's whole stream, and what a PULL must make of it.
fn libzmq_stream() -> (Vec<u8>, Vec<Event>) {
    let mut s = libzmq_greeting(1);
    s.extend(ready("PUSH", Some(b"")));
    s.extend(message(&[b"one"]));
    s.extend(message(&[b"a", b"", b"c"]));
    s.extend(command(b"PING", b"\x00\x64ctx"));
    s.extend(command(b"JOIN", b"group"));
    s.extend(message(&[&[7u8; 300][..]]));
    // A LONG header for a 3-byte body, with reserved flag bits set.
    s.extend([0x08 | FLAG_LONG, 0, 0, 0, 0, 0, 0, 0, 3]);
    s.extend(b"xyz");
    s.extend(command(b"SUBSCRIBE", b"news"));
    s.extend(command(b"CANCEL", b""));
    s.extend(command(b"PONG", b"ctx"));
    s.extend(message(&[b""]));
    let peer = PeerInfo {
        socket_type: SocketType::Push,
        routing_id: Bytes::new(),
        minor: 1,
        properties: vec![
            ("Socket-Type".into(), Bytes::from("PUSH")),
            ("Identity".into(), Bytes::new()),
        ],
        user_id: None,
        zap_properties: Vec::new(),
    };
    let events = vec![
        Event::Ready(peer),
        msg_event(&[b"one"]),
        msg_event(&[b"a", b"", b"c"]),
        Event::Ping(100),
        msg_event(&[&[7u8; 300][..]]),
        msg_event(&[b"xyz"]),
        Event::Subscribe(Bytes::from("news")),
        Event::Cancel(Bytes::new()),
        msg_event(&[b""]),
    ];
    (s, events)
}

#[test]
fn libzmq_style_peer_gives_the_same_events_at_every_split() {
    let (stream, expected) = libzmq_stream();
    let (events, written, result) = feed(config(SocketType::Pull), &[&stream]);
    result.unwrap();
    assert_eq!(events, expected);
    // We answered with READY then a PONG carrying the context.
    let mut want = OutBuf::new();
    command::encode_ready(SocketType::Pull, None, &mut want);
    command::encode_pong(b"ctx", &mut want);
    let want = drain(&mut want);
    assert_eq!(written, want);

    for split in 0..=stream.len() {
        let (a, b) = stream.split_at(split);
        let (ev, out, r) = feed(config(SocketType::Pull), &[a, b]);
        assert_eq!(r, Ok(()), "split {split}");
        assert_eq!(ev, expected, "split {split}");
        assert_eq!(out, want, "split {split}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let (ev, out, r) = feed(config(SocketType::Pull), &bytes);
    assert_eq!(r, Ok(()));
    assert_eq!(ev, expected);
    assert_eq!(out, want);
}

#[test]
fn ready_is_sent_only_after_the_peer_greeting_and_partial_data_is_kept() {
    let (mut conn, mut out) = new_conn(config(SocketType::Pull));
    drain(&mut out);
    let g = libzmq_greeting(1);
    let mut input = BytesMut::from(&g[..63]);
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(input.len(), 63);
    input.extend_from_slice(&g[63..]);
    input.extend_from_slice(&ready("PUSH", None)[..5]);
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert!(
        !out.is_empty(),
        "READY expected once the greeting is complete"
    );
    assert!(events.is_empty());
    assert!(input.len() <= 5, "greeting (and maybe a header) consumed");
}

#[test]
fn large_frames_are_zero_copy_mid_sized_ones_share_an_arena_and_short_ones_are_inline() {
    let (mut conn, mut out, _) = ready_conn(config(SocketType::Pull), 1);
    let big = vec![1u8; SMALL_FRAME];
    let mid = [2u8; 100];
    let stream = message(&[&big[..], &mid[..], &big[..], &mid[..80], b"tiny"]);
    let mut input = BytesMut::from(&stream[..]);
    let base = input.as_ptr() as usize;
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    let [Event::Message(m)] = &events[..] else {
        panic!("{events:?}");
    };
    let header = 9;
    assert_eq!(m[0].as_ptr() as usize, base + header);
    assert_eq!(
        m[2].as_ptr() as usize,
        base + header + SMALL_FRAME + 2 + 100 + header
    );
    let in_input = |p: usize| p >= base && p < base + stream.len();
    assert!(
        !in_input(m[1].as_ptr() as usize),
        "mid-sized frames are copied"
    );
    assert_eq!(
        m[3].as_ptr() as usize,
        m[1].as_ptr() as usize + 100,
        "into one arena"
    );
    assert!(!m[1].is_inline() && !m[3].is_inline());
    assert!(m[4].is_inline(), "a short frame holds its bytes itself");
    assert_eq!(&m[1][..], &mid[..]);
    assert_eq!(&m[3][..], &mid[..80]);
    assert_eq!(&m[4][..], b"tiny");
}

#[test]
fn decoding_stops_at_the_message_budget_and_resumes_where_it_stopped() {
    let (mut conn, mut out, _) = ready_conn(config(SocketType::Pull), 1);
    let mut stream = message(&[b"a"]);
    stream.extend(message(&[b"b", b"c"]));
    stream.extend(message(&[b"d"]));
    stream.extend(message(&[b"e"]));
    let mut input = BytesMut::from(&stream[..]);
    let mut events = Vec::new();
    let mut got = Vec::new();
    for (budget, expect) in [(2, 2), (0, 1), (5, 1)] {
        conn.handle_input_up_to(&mut input, &mut out, &mut events, budget)
            .unwrap();
        let msgs: Vec<Vec<Vec<u8>>> = events
            .drain(..)
            .map(|e| match e {
                Event::Message(m) => m.iter().map(|f| f.to_vec()).collect(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(msgs.len(), expect, "budget {budget} (0 still decodes one)");
        assert_eq!(conn.at_budget(), budget <= 2, "budget {budget}");
        got.extend(msgs);
    }
    assert!(input.is_empty());
    let want: Vec<Vec<Vec<u8>>> = vec![
        vec![b"a".to_vec()],
        vec![b"b".to_vec(), b"c".to_vec()],
        vec![b"d".to_vec()],
        vec![b"e".to_vec()],
    ];
    assert_eq!(got, want);
}

#[test]
fn zmtp_3_0_peer_gets_subscriptions_as_messages() {
    let (mut conn, mut out, _) = ready_conn(config(SocketType::Sub), 0);
    assert_eq!(conn.peer().map(|p| p.minor), Some(0));
    conn.encode_subscription(b"topic", true, &mut out);
    conn.encode_subscription(b"topic", false, &mut out);
    conn.encode_subscription(b"", true, &mut out);
    assert_eq!(
        drain(&mut out),
        b"\x00\x06\x01topic\x00\x06\x00topic\x00\x01\x01"
    );

    let (mut conn, mut out, _) = ready_conn(config(SocketType::Sub), 1);
    conn.encode_subscription(b"topic", true, &mut out);
    conn.encode_subscription(b"topic", false, &mut out);
    let mut want = command(b"SUBSCRIBE", b"topic");
    want.extend(command(b"CANCEL", b"topic"));
    assert_eq!(drain(&mut out), want);
}

#[test]
fn legacy_peers_are_rejected() {
    // ZMTP 1.0 with a short identity: fails on the first byte.
    let (_, _, r) = feed(config(SocketType::Pull), &[&[0x01]]);
    assert_eq!(r, Err(ProtocolError::BadSignature));
    // ZMTP 1.0 with a long identity: flags byte 9 has bit 0 clear.
    let (_, _, r) = feed(
        config(SocketType::Pull),
        &[&[0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 0]],
    );
    assert_eq!(r, Err(ProtocolError::UnsupportedVersion(0)));
    // ZMTP 2.0 (revision 1) and 2 are rejected from 11 bytes, without waiting for 64.
    for major in [1u8, 2] {
        let g = libzmq_greeting(0);
        let mut v = g[..11].to_vec();
        v[10] = major;
        let (_, out, r) = feed(config(SocketType::Pull), &[&v]);
        assert_eq!(r, Err(ProtocolError::UnsupportedVersion(major)));
        assert!(out.is_empty(), "no READY to a legacy peer");
    }
}

#[test]
fn errors_are_sticky() {
    let (mut conn, mut out) = new_conn(config(SocketType::Pull));
    let mut events = Vec::new();
    let mut input = BytesMut::from(&b"GET / HTTP/1.1"[..]);
    let e = conn.handle_input(&mut input, &mut out, &mut events);
    assert_eq!(e, Err(ProtocolError::BadSignature));
    let mut fine = BytesMut::from(&libzmq_greeting(1)[..]);
    let again = conn.handle_input(&mut fine, &mut out, &mut events);
    assert_eq!(again, Err(ProtocolError::BadSignature));
    assert!(!conn.is_ready());
}

#[test]
fn mechanism_mismatch_is_rejected() {
    let mut g = libzmq_greeting(1);
    g[12..17].copy_from_slice(b"CURVE");
    let (_, out, r) = feed(config(SocketType::Pull), &[&g]);
    assert_eq!(
        r,
        Err(ProtocolError::MechanismMismatch {
            ours: "NULL",
            theirs: "CURVE".into()
        })
    );
    assert!(out.is_empty());
}

#[test]
fn incompatible_socket_type_writes_error() {
    for theirs in ["PUSH", "FOO", "pull"] {
        let g = libzmq_greeting(1);
        let (events, out, r) = feed(config(SocketType::Push), &[&g, &ready(theirs, None)]);
        assert_eq!(
            r,
            Err(ProtocolError::IncompatibleSocketType {
                ours: SocketType::Push,
                theirs: theirs.into()
            })
        );
        assert!(events.is_empty());
        let mut ours = OutBuf::new();
        command::encode_ready(SocketType::Push, None, &mut ours);
        let ready_len = drain(&mut ours).len();
        let error = body_of(&out[ready_len..]);
        assert_eq!(&error[..6], b"\x05ERROR");
        assert_eq!(
            command::parse(error),
            Ok(Command::Error("Invalid socket type".into()))
        );
    }
}

#[test]
fn missing_or_malformed_ready_properties_fail() {
    let g = libzmq_greeting(1);
    let no_type = command(b"READY", b"\x08Identity\x00\x00\x00\x00");
    let (_, _, r) = feed(config(SocketType::Pull), &[&g, &no_type]);
    assert_eq!(r, Err(ProtocolError::MissingSocketType));
    let bad = command(b"READY", b"\x0bSocket-Type\x00\x00\x00\x09PUSH");
    let (_, _, r) = feed(config(SocketType::Pull), &[&g, &bad]);
    assert_eq!(r, Err(ProtocolError::Malformed("READY properties")));
    // Property names are case-sensitive, as in libzmq.
    let lower = command(b"READY", b"\x0bsocket-type\x00\x00\x00\x04PUSH");
    let (_, _, r) = feed(config(SocketType::Pull), &[&g, &lower]);
    assert_eq!(r, Err(ProtocolError::MissingSocketType));
}

#[test]
fn handshake_rejects_data_other_commands_and_huge_frames() {
    let g = libzmq_greeting(1);
    let (_, _, r) = feed(config(SocketType::Pull), &[&g, &message(&[b"early"])]);
    assert_eq!(r, Err(ProtocolError::UnexpectedMessage));
    let (_, _, r) = feed(config(SocketType::Pull), &[&g, &command(b"PING", b"\0\0")]);
    assert_eq!(r, Err(ProtocolError::UnexpectedCommand("PING".into())));
    // A 2 MiB READY is refused from its header alone.
    let mut huge = vec![FLAG_COMMAND | FLAG_LONG];
    huge.extend_from_slice(&(2u64 << 20).to_be_bytes());
    let (_, _, r) = feed(config(SocketType::Pull), &[&g, &huge]);
    assert_eq!(
        r,
        Err(ProtocolError::HandshakeCommandTooLarge {
            size: 2 << 20,
            limit: MAX_HANDSHAKE_COMMAND
        })
    );
    let (_, _, r) = feed(
        config(SocketType::Pull),
        &[&g, &command(b"ERROR", b"\x04nope")],
    );
    assert_eq!(r, Err(ProtocolError::PeerError("nope".into())));
}

#[test]
fn ping_gets_pong_and_reports_only_its_ttl() {
    let (mut conn, mut out, mut input) = ready_conn(config(SocketType::Pull), 1);
    let mut context = b"\x00\x0a".to_vec();
    context.extend_from_slice(&[b'z'; 20]);
    input.extend_from_slice(&command(b"PING", &context));
    input.extend_from_slice(&command(b"PONG", b"whatever"));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events, [Event::Ping(10)]);
    assert_eq!(drain(&mut out), command(b"PONG", &[b'z'; 16]));
}

#[test]
fn unknown_and_repeated_commands_are_ignored() {
    let (mut conn, mut out, mut input) = ready_conn(config(SocketType::Pull), 1);
    input.extend_from_slice(&command(b"LEAVE", b"g"));
    input.extend_from_slice(&command(b"READY", b"junk"));
    input.extend_from_slice(&message(&[b"after"]));
    let mut events = Vec::new();
    conn.handle_input(&mut input, &mut out, &mut events)
        .unwrap();
    assert_eq!(events, vec![msg_event(&[b"after"])]);
    assert!(out.is_empty());
}

#[test]
fn peer_error_after_handshake_fails() {
    let (mut conn, mut out, mut input) = ready_conn(config(SocketType::Pull), 1);
    input.extend_from_slice(&command(b"ERROR", b"\x03bye"));
    let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
    assert_eq!(r, Err(ProtocolError::PeerError("bye".into())));
}

#[test]
fn commands_inside_a_multipart_message_are_rejected() {
    // A command after a frame with MORE.
    let (mut conn, mut out, mut input) = ready_conn(config(SocketType::Pull), 1);
    input.extend_from_slice(b"\x01\x01a");
    input.extend_from_slice(&command(b"PING", b"\0\0"));
    let mut events = Vec::new();
    let r = conn.handle_input(&mut input, &mut out, &mut events);
    assert_eq!(r, Err(ProtocolError::CommandInMessage));
    assert!(events.is_empty(), "the partial message is not delivered");
    // A command frame with MORE set.
    let (mut conn, mut out, mut input) = ready_conn(config(SocketType::Pull), 1);
    let mut cmd = command(b"PING", b"\0\0");
    cmd[0] |= FLAG_MORE;
    input.extend_from_slice(&cmd);
    let r = conn.handle_input(&mut input, &mut out, &mut Vec::new());
    assert_eq!(r, Err(ProtocolError::CommandInMessage));
}

#[test]
fn encode_message_uses_more_and_long_flags() {
    let bytes = message(&[b"ab", &[0u8; 256][..], b""]);
    assert_eq!(&bytes[..4], b"\x01\x02ab");
    assert_eq!(&bytes[4..13], &[0x03, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert_eq!(&bytes[13 + 256..], b"\x00\x00");
    let mut out = OutBuf::new();
    Connection::encode_plain_message(&Message::new(), &mut out);
    assert!(out.is_empty());
}

/// Valid traffic with random bytes changed, or followed by garbage, fed in random chunk
/// sizes to every socket type, with and without size and frame-count limits: the codec
/// may refuse it but must never panic (overflow checks are on in tests), never hold
/// more input than arrived, and never keep an incomplete message over its limits.
#[test]
fn mutated_and_random_input_never_panics() {
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let traffic: Vec<u8> = [
        message(&[b"a", b"", b"ccc"]),
        command(b"PING", &[0, 1, b'x']),
        message(&[&[7u8; 300]]),
        command(b"SUBSCRIBE", b"topic"),
        command(b"ERROR", &[3, b'b', b'a', b'd']),
        message(&[b"last"]),
    ]
    .concat();
    let (mut delivered, mut refused) = (0, 0);
    for round in 0..20_000 {
        let ours = SocketType::ALL[round % SocketType::ALL.len()];
        let peer = SocketType::ALL
            .into_iter()
            .find(|t| ours.accepts(*t))
            .unwrap();
        let mut cfg = config(ours);
        if round % 2 == 1 {
            cfg.max_msg_size = Some(next() % 400);
        }
        if round % 3 == 1 {
            cfg.max_msg_frames = Some(next() % 5);
        }
        let limits = (cfg.max_msg_size, cfg.max_msg_frames);
        let mut bytes = libzmq_greeting((round % 2) as u8);
        bytes.extend(ready(peer.zmtp_name(), Some(b"id")));
        bytes.extend_from_slice(&traffic);
        for _ in 0..next() % 6 {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        for _ in 0..next() % 64 {
            bytes.push(next() as u8);
        }
        let (mut conn, mut out) = new_conn(cfg);
        let (mut input, mut events, mut pos) = (BytesMut::new(), Vec::new(), 0);
        while pos < bytes.len() {
            let end = (pos + 1 + (next() as usize) % 200).min(bytes.len());
            input.extend_from_slice(&bytes[pos..end]);
            pos = end;
            if conn
                .handle_input(&mut input, &mut out, &mut events)
                .is_err()
            {
                refused += 1;
                break;
            }
            assert!(input.len() <= pos);
            let frames = conn.partial.len() as u64;
            if let Some(limit) = limits.0 {
                assert!(conn.partial_size + frames * FRAME_OVERHEAD <= limit);
            }
            if let Some(limit) = limits.1 {
                assert!(frames <= limit);
            }
        }
        delivered += events
            .iter()
            .filter(|e| matches!(e, Event::Message(_)))
            .count();
        drain(&mut out);
    }
    // Both outcomes must be common, or the test is not exercising the decoder.
    assert!(
        delivered > 10_000 && refused > 2_500,
        "{delivered} {refused}"
    );
}
