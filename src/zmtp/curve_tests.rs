//! Unit tests of the CURVE mechanism: whole handshakes in memory, MESSAGE boxing both
//! ways, hostile and out-of-turn input, and known answers for the NaCl box primitive.

use super::super::frame::{decode_header, FLAG_LONG, FLAG_MORE};
use super::super::outbuf::tests::drain;
use super::*;

const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const META_C: &[u8] = b"\x0bSocket-Type\x00\x00\x00\x06DEALER";
const META_S: &[u8] = b"\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x00";

fn server_keys() -> CurveKeyPair {
    CurveKeyPair::from_secret_z85(SERVER_SECRET).unwrap()
}

fn client_keys() -> CurveKeyPair {
    CurveKeyPair::from_secret_z85(CLIENT_SECRET).unwrap()
}

fn new_server() -> Curve {
    Curve::new(server_keys(), CurveRole::Server, Bytes::from_static(META_S))
}

fn new_client(server_key: [u8; 32]) -> Curve {
    Curve::new(
        client_keys(),
        CurveRole::Client { server_key },
        Bytes::from_static(META_C),
    )
}

fn allow() -> Verdict {
    Verdict::Allow {
        user_id: Bytes::new(),
        properties: Vec::new(),
    }
}

/// Splits one whole frame into its header flags and body.
fn frame_of(bytes: &[u8]) -> (u8, Vec<u8>) {
    let h = decode_header(bytes).unwrap().unwrap();
    assert_eq!(
        bytes.len(),
        h.header_len + h.size,
        "one whole frame expected"
    );
    (h.flags, bytes[h.header_len..].to_vec())
}

/// The body of the one command frame in `out`.
fn command_in(out: &mut OutBuf) -> Bytes {
    let (flags, body) = frame_of(&drain(out));
    assert_eq!(
        flags & FLAG_COMMAND,
        FLAG_COMMAND,
        "handshake commands are commands"
    );
    Bytes::from(body)
}

/// The commands of one genuine handshake, with each side in the state it was left in.
struct Run {
    client: Curve,
    server: Curve,
    hello: Bytes,
    welcome: Bytes,
    initiate: Bytes,
    ready: Bytes,
}

/// Runs a whole handshake with ZAP allowing; both sides end ready.
fn handshake() -> Run {
    let mut server = new_server();
    let mut client = new_client(*server_keys().public_key());
    let mut out = OutBuf::new();
    assert!(matches!(server.start(&mut out), Ok(Progress::Continue)));
    assert!(out.is_empty(), "a server speaks second");
    client.start(&mut out).unwrap();
    let hello = command_in(&mut out);
    assert!(matches!(
        server.on_command(hello.clone(), &mut out),
        Ok(Progress::Continue)
    ));
    let welcome = command_in(&mut out);
    assert!(matches!(
        client.on_command(welcome.clone(), &mut out),
        Ok(Progress::Continue)
    ));
    let initiate = command_in(&mut out);
    match server.on_command(initiate.clone(), &mut out).unwrap() {
        Progress::Authenticate(Credentials::Curve { public_key }) => {
            assert_eq!(&public_key, client_keys().public_key());
        }
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty(), "nothing is sent before ZAP decides");
    match server.on_verdict(&allow(), &mut out).unwrap() {
        Progress::Done(props) => assert_eq!(
            props,
            vec![("Socket-Type".to_string(), Bytes::from_static(b"DEALER"))]
        ),
        other => panic!("{other:?}"),
    }
    let ready = command_in(&mut out);
    match client.on_command(ready.clone(), &mut out).unwrap() {
        Progress::Done(props) => assert_eq!(
            props,
            vec![
                ("Socket-Type".to_string(), Bytes::from_static(b"ROUTER")),
                ("Identity".to_string(), Bytes::new()),
            ]
        ),
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty());
    Run {
        client,
        server,
        hello,
        welcome,
        initiate,
        ready,
    }
}

/// Boxes one frame on `from` and returns the wire frame's flags and body.
fn send(from: &mut Curve, flags: u8, payload: &[u8]) -> (u8, Vec<u8>) {
    let mut out = OutBuf::new();
    from.encode(flags, payload, &mut out);
    frame_of(&drain(&mut out))
}

#[test]
fn a_handshake_then_messages_both_ways() {
    let Run {
        mut client,
        mut server,
        ..
    } = handshake();
    let big = vec![0xA5u8; 70_000];
    let cases: [(u8, &[u8]); 5] = [
        (0, b"hello"),
        (MSG_MORE, b""),
        (MSG_COMMAND, b"\x04PING\x00\x0a"),
        (MSG_COMMAND, b"\x09SUBSCRIBE\x00topic"),
        (MSG_MORE, &big),
    ];
    for (flags, payload) in cases {
        for client_sends in [true, false] {
            let (from, to) = if client_sends {
                (&mut client, &mut server)
            } else {
                (&mut server, &mut client)
            };
            let (frame_flags, body) = send(from, flags, payload);
            // As libzmq: no MORE, no COMMAND on the wire frame; LONG iff over 255 bytes.
            let long = if body.len() > 255 { FLAG_LONG } else { 0 };
            assert_eq!(frame_flags, long);
            assert_eq!(body.len(), 33 + payload.len());
            assert_eq!(&body[..8], b"\x07MESSAGE");
            let (got_flags, got) = to.decode(BytesMut::from(&body[..])).unwrap();
            assert_eq!((got_flags, &got[..]), (flags, payload));
        }
    }
}

#[test]
fn short_nonces_follow_libzmq() {
    let mut run = handshake();
    assert_eq!(u64_at(&run.hello, 112), 1);
    assert_eq!(u64_at(&run.initiate, 105), 2);
    assert_eq!(u64_at(&run.ready, 6), 1);
    let (_, from_client) = send(&mut run.client, 0, b"a");
    let (_, from_server) = send(&mut run.server, 0, b"b");
    assert_eq!(u64_at(&from_client, 8), 3);
    assert_eq!(u64_at(&from_server, 8), 2);
}

/// HELLO field by field as RFC 26 lists them, and its signature box opened as a server
/// would: 64 zero bytes from C' to S.
#[test]
fn hello_layout_is_rfc_26() {
    let hello = handshake().hello;
    assert_eq!(hello.len(), 200);
    assert_eq!(&hello[..6], b"\x05HELLO");
    assert_eq!(&hello[6..8], &[1, 0], "version 1.0");
    assert!(hello[8..80].iter().all(|&b| b == 0), "72 bytes of padding");
    let client_transient = key_at(&hello, 80);
    let cipher = SalsaBox::new(
        &PublicKey::from(client_transient),
        &SecretKey::from_bytes(*server_keys().secret_bytes()),
    );
    let mut signature = hello[120..200].to_vec();
    open(
        &cipher,
        &short_nonce(b"CurveZMQHELLO---", u64_at(&hello, 112)),
        &mut signature,
        "HELLO",
    )
    .unwrap();
    assert_eq!(&signature[16..], &[0u8; 64][..]);
}

#[test]
fn command_sizes_are_exact() {
    let run = handshake();
    assert_eq!(run.welcome.len(), 168);
    assert_eq!(run.initiate.len(), 257 + META_C.len());
    assert_eq!(run.ready.len(), 30 + META_S.len());
    assert_eq!(&run.welcome[..8], b"\x07WELCOME");
    assert_eq!(&run.initiate[..9], b"\x08INITIATE");
    assert_eq!(&run.ready[..6], b"\x05READY");
}

#[test]
fn a_denied_client_gets_error_400_and_no_ready() {
    for (status, error) in [(400u16, Some(&b"\x05ERROR\x03400"[..])), (300, None)] {
        let mut server = new_server();
        let mut client = new_client(*server_keys().public_key());
        let mut out = OutBuf::new();
        client.start(&mut out).unwrap();
        server.on_command(command_in(&mut out), &mut out).unwrap();
        client.on_command(command_in(&mut out), &mut out).unwrap();
        server.on_command(command_in(&mut out), &mut out).unwrap();
        let deny = Verdict::Deny {
            status,
            text: "no".into(),
        };
        assert_eq!(
            server.on_verdict(&deny, &mut out).unwrap_err(),
            ProtocolError::AuthFailed { status }
        );
        match error {
            Some(bytes) => assert_eq!(&command_in(&mut out)[..], bytes),
            None => assert!(out.is_empty(), "status 300 sends no ERROR"),
        }
        // Nothing more is accepted from that server.
        assert!(server.on_verdict(&allow(), &mut out).is_err());
        assert!(server.decode(BytesMut::from(&[0u8; 40][..])).is_err());
    }
}

#[test]
fn a_wrong_server_key_fails_cleanly_on_both_sides() {
    let other = CurveKeyPair::from_secret(&[7; 32]);
    let mut out = OutBuf::new();
    // Our server cannot open a HELLO boxed for another server's key.
    let mut client = new_client(*other.public_key());
    client.start(&mut out).unwrap();
    let hello_for_other = command_in(&mut out);
    let mut server = new_server();
    assert!(matches!(
        server.on_command(hello_for_other.clone(), &mut out),
        Err(ProtocolError::Security(_))
    ));
    assert!(out.is_empty(), "no WELCOME");
    // A client given our server's key refuses the WELCOME of another server.
    let mut impostor = Curve::new(other, CurveRole::Server, Bytes::new());
    impostor.on_command(hello_for_other, &mut out).unwrap();
    let impostor_welcome = command_in(&mut out);
    let mut expecting_ours = new_client(*server_keys().public_key());
    expecting_ours.start(&mut OutBuf::new()).unwrap();
    assert!(matches!(
        expecting_ours.on_command(impostor_welcome, &mut out),
        Err(ProtocolError::Security(_))
    ));
    assert!(out.is_empty(), "no INITIATE");
}

#[test]
fn a_vouch_for_another_server_is_refused() {
    let mut server = new_server();
    let mut client = new_client(*server_keys().public_key());
    let mut out = OutBuf::new();
    client.start(&mut out).unwrap();
    server.on_command(command_in(&mut out), &mut out).unwrap();
    // The client now vouches for another server key than the one it boxed HELLO for.
    client.role = CurveRole::Client {
        server_key: [9; 32],
    };
    client.on_command(command_in(&mut out), &mut out).unwrap();
    assert_eq!(
        server
            .on_command(command_in(&mut out), &mut out)
            .unwrap_err(),
        ProtocolError::Security("CURVE INITIATE vouch names other keys")
    );
    assert!(out.is_empty(), "no ZAP, no READY");
}

#[test]
fn replayed_and_reordered_messages_are_refused() {
    let Run {
        mut client,
        mut server,
        ..
    } = handshake();
    let (_, first) = send(&mut client, 0, b"one");
    let (_, second) = send(&mut client, 0, b"two");
    let (_, third) = send(&mut client, 0, b"three");
    server.decode(BytesMut::from(&second[..])).unwrap();
    let replay = server.decode(BytesMut::from(&second[..])).unwrap_err();
    assert!(matches!(replay, ProtocolError::Security(_)), "{replay:?}");
    let lower = server.decode(BytesMut::from(&first[..])).unwrap_err();
    assert!(matches!(lower, ProtocolError::Security(_)), "{lower:?}");
    // A refused frame leaves the count alone: the next genuine one still opens.
    assert_eq!(
        &server.decode(BytesMut::from(&third[..])).unwrap().1[..],
        b"three"
    );
}

#[test]
fn any_flipped_bit_is_refused() {
    let Run {
        mut client,
        mut server,
        ..
    } = handshake();
    let (_, genuine) = send(&mut client, MSG_MORE, b"payload");
    // Nonce (past the name), tag and ciphertext: every bit.
    for at in 8..genuine.len() {
        for bit in 0..8 {
            let mut forged = genuine.clone();
            forged[at] ^= 1 << bit;
            assert!(
                server.decode(BytesMut::from(&forged[..])).is_err(),
                "byte {at} bit {bit}"
            );
        }
    }
    // The genuine frame still opens after all that.
    assert_eq!(
        server.decode(BytesMut::from(&genuine[..])).unwrap().0,
        MSG_MORE
    );
    // A message boxed for the other direction does not open either.
    let (_, own) = send(&mut server, 0, b"x");
    assert!(server.decode(BytesMut::from(&own[..])).is_err());
}

#[test]
fn short_or_foreign_message_frames_are_refused() {
    let Run { mut server, .. } = handshake();
    for bad in [
        &b""[..],
        b"\x07MESSAG",
        b"\x07MESSAGE",
        &[b"\x07MESSAGE" as &[u8], &[0; 24]].concat(),
        b"\x05HELLO plain text",
        &[0u8; 64],
    ] {
        assert!(server.decode(BytesMut::from(bad)).is_err(), "{bad:?}");
    }
}

/// Feeds each body to `curve` as a command, expecting a refusal with nothing written;
/// after each, the peer is put back in the state it was in, to face the next one.
fn refuses_all(curve: &mut Curve, bodies: &[Vec<u8>], what: &str) {
    let state = curve.state;
    for body in bodies {
        let mut out = OutBuf::new();
        let result = curve.on_command(Bytes::from(body.clone()), &mut out);
        assert!(result.is_err(), "{what}: {} bytes accepted", body.len());
        assert_eq!(curve.state, State::Failed);
        assert!(out.is_empty(), "{what}: wrote a reply to a bad command");
        curve.state = state;
    }
}

/// Every strict prefix, the command with a byte more, and garbage of the same size.
fn hostile_variants(valid: &[u8]) -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = (0..valid.len()).map(|n| valid[..n].to_vec()).collect();
    let mut longer = valid.to_vec();
    longer.push(0);
    bodies.push(longer);
    let mut garbage = valid.to_vec();
    for (i, b) in garbage.iter_mut().enumerate().skip(20) {
        *b ^= (i as u8).wrapping_mul(31) | 1;
    }
    bodies.push(garbage);
    bodies
}

#[test]
fn hostile_handshake_commands_are_refused() {
    // HELLO to a fresh server.
    let run = handshake();
    refuses_all(&mut new_server(), &hostile_variants(&run.hello), "HELLO");

    // WELCOME to a client that has sent its HELLO.
    let mut server = new_server();
    let mut client = new_client(*server_keys().public_key());
    let mut out = OutBuf::new();
    client.start(&mut out).unwrap();
    server.on_command(command_in(&mut out), &mut out).unwrap();
    let welcome = command_in(&mut out);
    refuses_all(&mut client, &hostile_variants(&welcome), "WELCOME");
    client.on_command(welcome, &mut out).unwrap();

    // INITIATE to that server; then the genuine one still passes.
    let initiate = command_in(&mut out);
    refuses_all(&mut server, &hostile_variants(&initiate), "INITIATE");
    assert!(matches!(
        server.on_command(initiate, &mut out),
        Ok(Progress::Authenticate(_))
    ));
    server.on_verdict(&allow(), &mut out).unwrap();

    // READY to that client; then the genuine one still passes.
    let ready = command_in(&mut out);
    refuses_all(&mut client, &hostile_variants(&ready), "READY");
    assert!(matches!(
        client.on_command(ready, &mut out),
        Ok(Progress::Done(_))
    ));
}

#[test]
fn a_hello_of_another_version_is_refused() {
    let mut hello = handshake().hello.to_vec();
    hello[7] = 1;
    refuses_all(&mut new_server(), &[hello], "HELLO 1.1");
}

#[test]
fn commands_out_of_turn_are_refused() {
    let run = handshake();
    let mut out = OutBuf::new();
    // To a fresh server: anything but HELLO.
    for body in [&run.welcome, &run.initiate, &run.ready] {
        assert!(new_server().on_command(body.clone(), &mut out).is_err());
    }
    // To a client that sent HELLO: anything but WELCOME.
    for body in [&run.hello, &run.initiate, &run.ready] {
        let mut client = new_client(*server_keys().public_key());
        client.start(&mut OutBuf::new()).unwrap();
        assert!(client.on_command(body.clone(), &mut out).is_err());
    }
    // Handshake commands after the handshake, a second start, a verdict to a client,
    // a MESSAGE before the handshake.
    let Run {
        mut client,
        mut server,
        ..
    } = handshake();
    assert!(server.on_command(run.hello.clone(), &mut out).is_err());
    assert!(client.on_command(run.welcome.clone(), &mut out).is_err());
    assert!(client.start(&mut out).is_err());
    assert!(client.on_verdict(&allow(), &mut out).is_err());
    let mut fresh = new_client(*server_keys().public_key());
    assert!(fresh.decode(BytesMut::from(&[0u8; 40][..])).is_err());
    fresh.encode(0, b"dropped", &mut out);
    assert!(out.is_empty(), "nothing is boxed before the handshake");
}

/// libsodium test/default/box.c: Alice's secret key, Bob's public key, the nonce and the
/// 131-byte message; box.exp is the expected output after the 16 zero bytes, which is
/// the 16-byte tag and then the ciphertext. Proves the crate boxes as libzmq's libsodium
/// does (tag first).
#[test]
fn the_box_primitive_matches_libsodium() {
    const ALICE_SK: [u8; 32] =
        hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const ALICE_PK: [u8; 32] =
        hex32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    const BOB_SK: [u8; 32] =
        hex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    const BOB_PK: [u8; 32] =
        hex32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    let nonce = hex("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37");
    let message = hex(concat!(
        "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc",
        "e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31",
        "0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde",
        "048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864",
        "5e0705",
    ));
    let expected = hex(concat!(
        "f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce",
        "48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972",
        "71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae",
        "90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3",
        "7973f622a43d14a6599b1f654cb45a74e355a5",
    ));
    assert_eq!(message.len(), 131);
    // X25519 as RFC 7748 section 6.1 gives it, through our key pair type.
    assert_eq!(CurveKeyPair::from_secret(&ALICE_SK).public_key(), &ALICE_PK);
    assert_eq!(CurveKeyPair::from_secret(&BOB_SK).public_key(), &BOB_PK);

    let nonce = *Nonce::from_slice(&nonce);
    let alice = SalsaBox::new(&PublicKey::from(BOB_PK), &SecretKey::from_bytes(ALICE_SK));
    let mut boxed = vec![0u8; 16 + message.len()];
    seal(&alice, &nonce, &message, &mut boxed);
    assert_eq!(boxed, expected);

    let bob = SalsaBox::new(&PublicKey::from(ALICE_PK), &SecretKey::from_bytes(BOB_SK));
    open(&bob, &nonce, &mut boxed, "KAT").unwrap();
    assert_eq!(&boxed[16..], &message[..]);
}

#[test]
fn debug_never_shows_secrets() {
    let run = handshake();
    let secrets = [SERVER_SECRET, CLIENT_SECRET];
    for curve in [&run.client, &run.server, &new_server()] {
        let shown = format!("{curve:?}");
        for secret in secrets {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("Curve"), "{shown}");
    }
}

#[test]
fn the_fuzz_driver_survives_assorted_input() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    fuzz_handshake(&[]);
    fuzz_handshake(&[1]);
    fuzz_handshake(&[3]);
    for _ in 0..40 {
        let len = (next() % 600) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        fuzz_handshake(&data);
    }
}

/// Decodes hex text (test vectors).
fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Decodes 64 hex digits at compile time.
const fn hex32(text: &str) -> [u8; 32] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not hex"),
        }
    }
    let bytes = text.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = digit(bytes[2 * i]) << 4 | digit(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

#[test]
fn frame_more_flag_is_never_on_a_message() {
    let Run { mut client, .. } = handshake();
    let (flags, _) = send(&mut client, MSG_MORE | MSG_COMMAND | 0xF0, b"x");
    assert_eq!(flags & (FLAG_MORE | FLAG_COMMAND), 0);
}

/// Not a test: how long sealing and opening one small frame takes. Run with
/// `cargo test --release --lib curve_cost -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn curve_cost() {
    let mut run = handshake();
    let size: usize = std::env::var("CURVE_COST_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let payload = vec![7u8; size];
    let n = 100_000;
    let mut out = OutBuf::new();
    let t = std::time::Instant::now();
    for _ in 0..n {
        run.client.encode(0, &payload, &mut out);
        if out.len() > 1 << 20 {
            drain(&mut out);
        }
    }
    let seal = t.elapsed() / n;
    let mut frames = Vec::new();
    let mut out = OutBuf::new();
    for _ in 0..n {
        run.client.encode(0, &payload, &mut out);
    }
    let bytes = drain(&mut out);
    let mut rest = &bytes[..];
    while let Some(h) = decode_header(rest).unwrap() {
        let end = h.header_len + h.size;
        frames.push(BytesMut::from(&rest[h.header_len..end]));
        rest = &rest[end..];
    }
    let t = std::time::Instant::now();
    for f in frames {
        run.server.decode(f).unwrap();
    }
    let open = t.elapsed() / n;
    println!("{size} B: seal {seal:?}, open {open:?} per frame");
}
