//! Hostile security handshakes: a PLAIN or CURVE server that one raw peer feeds a
//! truncated, garbage or oversized HELLO, a PLAIN HELLO whose lengths overrun its body, a
//! handshake abandoned halfway, or the wrong mechanism; and, after a real CURVE handshake
//! (a ferrozmq client through a relay this test controls), a replayed MESSAGE or one whose
//! nonce goes down.
//!
//! What must hold: each attack ends in a clean close of that connection (no panic, nothing
//! allocated from an announced size), the monitor says why, and the server goes on serving
//! a well-behaved client afterwards.

mod util;

use ferrozmq::{curve_keypair, Context, CurveKeyPair, EventKind, Monitor, Socket, SocketType};
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;
use util::events::expect_event;
use util::raw::*;
use util::*;

/// The server's mechanism in one test.
enum Mech {
    Null,
    Plain,
    Curve(CurveKeyPair),
}

impl Mech {
    fn curve() -> Mech {
        Mech::Curve(curve_keypair())
    }

    /// The name in the greeting.
    fn name(&self) -> &'static str {
        match self {
            Mech::Null => "NULL",
            Mech::Plain => "PLAIN",
            Mech::Curve(_) => "CURVE",
        }
    }

    /// Makes `s` this mechanism's server.
    fn serve(&self, s: &mut Socket) {
        match self {
            Mech::Null => {}
            Mech::Plain => s.set_plain_server(true).unwrap(),
            Mech::Curve(keys) => {
                s.set_curve_server(true).unwrap();
                s.set_curve_secretkey(keys.secret_z85()).unwrap();
            }
        }
    }

    /// Makes `s` a well-behaved client of this mechanism's server.
    fn client(&self, s: &mut Socket) {
        match self {
            Mech::Null => {}
            Mech::Plain => {
                s.set_plain_username("good").unwrap();
                s.set_plain_password("client").unwrap();
            }
            Mech::Curve(keys) => s.set_curve_serverkey(keys.public_z85()).unwrap(),
        }
    }
}

/// A server under attack: a PULL on tcp with a well-behaved PUSH connected and served.
struct Served {
    pull: Socket,
    push: Socket,
    monitor: Monitor,
    ep: String,
}

fn served(ctx: &Context, mech: &Mech, configure: impl FnOnce(&mut Socket)) -> Served {
    let mut pull = bounded_socket(ctx, SocketType::Pull, TIMEOUT);
    mech.serve(&mut pull);
    configure(&mut pull);
    let monitor = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut push = bounded_socket(ctx, SocketType::Push, TIMEOUT);
    mech.client(&mut push);
    push.connect(&ep).unwrap();
    send(&mut push, "first", "the good client's first message");
    assert_eq!(
        text(&recv(&mut pull, "the good client's first message")),
        "first"
    );
    Served {
        pull,
        push,
        monitor,
        ep,
    }
}

impl Served {
    /// The good client is still served after the attack.
    fn still_served(&mut self) {
        for k in 0..50 {
            send(
                &mut self.push,
                format!("m{k}"),
                "the good client's messages",
            );
        }
        for k in 0..50 {
            let m = recv(
                &mut self.pull,
                "the good client's messages after the attack",
            );
            assert_eq!(text(&m), format!("m{k}"));
        }
        assert_nothing(&mut self.pull, "nothing from the attacker");
    }

    /// Waits for the server's `HANDSHAKE_FAILED_PROTOCOL` and checks its reason holds
    /// `why`.
    #[track_caller]
    fn expect_protocol_failure(&self, why: &str) {
        let e = expect_event(
            &self.monitor,
            &format!("HANDSHAKE_FAILED_PROTOCOL ({why})"),
            |e| matches!(&e.kind, EventKind::HandshakeFailedProtocol { .. }),
        );
        let EventKind::HandshakeFailedProtocol { reason } = e.kind else {
            unreachable!()
        };
        assert!(reason.contains(why), "reason {reason:?} lacks {why:?}");
    }

    /// A raw client of this server's mechanism, past the greetings.
    fn raw(&self, mech: &Mech) -> TcpStream {
        let (s, greeting) = raw_greeted_as(&self.ep, mech.name(), false);
        let name = mech.name().as_bytes();
        assert_eq!(
            &greeting[12..12 + name.len()],
            name,
            "the server's mechanism"
        );
        s
    }
}

/// A CURVE HELLO body after its name: version 1.0, 72 bytes of padding, a client transient
/// key, a short nonce and a 80-byte box, all of the right size (200 bytes in the frame)
/// but `fill` where the key, nonce and box go.
fn curve_hello_data(fill: u8) -> Vec<u8> {
    let mut data = vec![1, 0];
    data.extend_from_slice(&[0; 72]);
    data.extend_from_slice(&[fill; 32 + 8 + 80]);
    assert_eq!(data.len() + 6, 200);
    data
}

/// A LONG command header announcing a body of `size` bytes whose name is HELLO, and the
/// first bytes of that body.
fn huge_hello(size: u64) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&size.to_be_bytes());
    f.extend_from_slice(b"\x05HELLO");
    f.extend_from_slice(&[0x55; 1000]);
    f
}

// ---------------------------------------------------------------------------------------
// Raw peers
// ---------------------------------------------------------------------------------------

#[test]
fn a_truncated_plain_hello_is_closed() {
    init();
    let ctx = Context::new();
    let mech = Mech::Plain;
    let mut server = served(&ctx, &mech, |_| {});
    // A frame announcing 20 bytes, 9 of them sent, then the end of the stream.
    let mut raw = server.raw(&mech);
    raw.write_all(b"\x04\x14\x05HELLO\x05adm").unwrap();
    raw.shutdown(Shutdown::Write).unwrap();
    expect_closed(&mut raw, "a HELLO cut off by the end of the stream");
    // A complete HELLO frame that stops inside its user name.
    let mut raw = server.raw(&mech);
    raw.write_all(&raw_command("HELLO", b"\x05adm")).unwrap();
    expect_closed(&mut raw, "a HELLO whose user name is cut off");
    server.expect_protocol_failure("PLAIN HELLO");
    server.still_served();
}

#[test]
fn a_truncated_curve_hello_is_closed() {
    init();
    let ctx = Context::new();
    let mech = Mech::curve();
    let mut server = served(&ctx, &mech, |_| {});
    let mut raw = server.raw(&mech);
    raw.write_all(&raw_command("HELLO", &curve_hello_data(7)[..100]))
        .unwrap();
    let after = read_until_closed(&mut raw, "a CURVE HELLO of 106 bytes");
    assert_eq!(command_names(&after), ["ERROR"], "{after:?}");
    server.expect_protocol_failure("CURVE HELLO");
    // And one cut off by the end of the stream.
    let mut raw = server.raw(&mech);
    let whole = raw_command("HELLO", &curve_hello_data(7));
    raw.write_all(&whole[..120]).unwrap();
    raw.shutdown(Shutdown::Write).unwrap();
    expect_closed(&mut raw, "a CURVE HELLO cut off by the end of the stream");
    server.still_served();
}

#[test]
fn a_garbage_curve_hello_of_the_right_size_is_closed() {
    init();
    let ctx = Context::new();
    let mech = Mech::curve();
    let mut server = served(&ctx, &mech, |_| {});
    for fill in [0x00, 0xA5, 0xFF] {
        let mut raw = server.raw(&mech);
        raw.write_all(&raw_command("HELLO", &curve_hello_data(fill)))
            .unwrap();
        let after = read_until_closed(&mut raw, "a CURVE HELLO whose box does not open");
        assert!(
            !command_names(&after).contains(&"WELCOME".to_owned()),
            "a WELCOME to a garbage HELLO"
        );
        server.expect_protocol_failure("");
    }
    // The right size and box, a wrong version.
    let mut data = curve_hello_data(1);
    data[0] = 2;
    let mut raw = server.raw(&mech);
    raw.write_all(&raw_command("HELLO", &data)).unwrap();
    expect_closed(&mut raw, "a CURVE HELLO of version 2.0");
    server.expect_protocol_failure("version");
    server.still_served();
}

#[test]
fn a_garbage_plain_hello_is_closed() {
    init();
    let ctx = Context::new();
    let mech = Mech::Plain;
    let mut server = served(&ctx, &mech, |_| {});
    for data in [&payload(200, 3)[..], b"", &[0xFF; 40]] {
        let mut raw = server.raw(&mech);
        raw.write_all(&raw_command("HELLO", data)).unwrap();
        expect_closed(&mut raw, "a PLAIN HELLO of garbage");
        server.expect_protocol_failure("PLAIN HELLO");
    }
    // A command that is not HELLO at all, and a message before any command.
    let mut raw = server.raw(&mech);
    raw.write_all(&raw_command("INITIATE", b"")).unwrap();
    expect_closed(&mut raw, "an INITIATE before HELLO");
    let mut raw = server.raw(&mech);
    raw.write_all(&raw_message(b"hi")).unwrap();
    expect_closed(&mut raw, "a message before the handshake");
    server.still_served();
}

#[test]
fn a_hello_over_the_handshake_limit_is_refused_from_its_header() {
    init();
    let ctx = Context::new();
    for mech in [Mech::Plain, Mech::curve()] {
        let mut server = served(&ctx, &mech, |_| {});
        for size in [64 * 1024 + 1, 1 << 40, u64::MAX] {
            let mut raw = server.raw(&mech);
            // Only the header and a little of the body are sent: the size alone refuses it,
            // and is never allocated.
            raw.write_all(&huge_hello(size)).unwrap();
            expect_closed(&mut raw, "a HELLO over 64 KiB");
            server.expect_protocol_failure("");
        }
        server.still_served();
    }
}

#[test]
fn a_plain_hello_whose_lengths_overrun_its_body_is_closed() {
    init();
    let ctx = Context::new();
    let mech = Mech::Plain;
    let mut server = served(&ctx, &mech, |_| {});
    for data in [
        &b"\x05admin\x07secret"[..], // password length past the end
        b"\x09admin\x06secret",      // user name length into the password
        b"\xffa\x01b",               // user name length far past the end
        b"\x05admin",                // no password length at all
        b"\x05admin\x06secret!",     // a byte left over
        b"\x05admin\xff",            // password length past the end, no password
    ] {
        let mut raw = server.raw(&mech);
        raw.write_all(&raw_command("HELLO", data)).unwrap();
        let after = read_until_closed(&mut raw, "a PLAIN HELLO whose lengths overrun");
        assert_eq!(command_names(&after), ["ERROR"], "{data:?}: {after:?}");
        server.expect_protocol_failure("PLAIN HELLO");
    }
    server.still_served();
}

#[test]
fn a_plain_client_that_stops_halfway_times_out() {
    init();
    let ctx = Context::new();
    let mech = Mech::Plain;
    let mut server = served(&ctx, &mech, |p| {
        p.set_handshake_ivl(Some(Duration::from_millis(200)))
            .unwrap()
    });
    let mut raw = server.raw(&mech);
    raw.write_all(&raw_command("HELLO", b"\x04user\x04pass"))
        .unwrap();
    // The server admits it (no ZAP) and says WELCOME; the client never sends INITIATE.
    let welcome = read_frame(&mut raw).expect("WELCOME");
    assert_eq!(welcome.command().map(|(n, _)| n), Some(&b"WELCOME"[..]));
    expect_closed(&mut raw, "a client silent after WELCOME");
    expect_event(
        &server.monitor,
        "the handshake timing out",
        |e| matches!(&e.kind, EventKind::HandshakeFailedNoDetail { reason } if reason.contains("timed out")),
    );
    server.still_served();
}

#[test]
fn a_curve_client_that_stops_halfway_times_out() {
    init();
    let ctx = Context::new();
    let mech = Mech::curve();
    let mut server = served(&ctx, &mech, |p| {
        p.set_handshake_ivl(Some(Duration::from_millis(200)))
            .unwrap()
    });
    // A raw client silent after its greeting.
    let mut raw = server.raw(&mech);
    expect_closed(&mut raw, "a client silent after its greeting");
    // A real client whose INITIATE never arrives: the relay passes its HELLO only.
    let relay = Relay::start(&server.ep, Tamper::StallAfterHello);
    let mut stalled = bounded_socket(&ctx, SocketType::Push, TIMEOUT);
    mech.client(&mut stalled);
    let stalled_monitor = stalled.monitor();
    stalled.connect(relay.endpoint()).unwrap();
    for _ in 0..2 {
        expect_event(
            &server.monitor,
            "the handshake timing out",
            |e| matches!(&e.kind, EventKind::HandshakeFailedNoDetail { reason } if reason.contains("timed out")),
        );
    }
    // The stalled client saw its connection end before its handshake did.
    expect_event(&stalled_monitor, "the stalled client's failure", |e| {
        matches!(e.kind, EventKind::HandshakeFailedNoDetail { .. })
    });
    let names = command_names(&relay.client_bytes()[64..]);
    assert_eq!(names[..1], ["HELLO"], "{names:?}");
    server.still_served();
}

#[test]
fn a_mechanism_mismatch_in_the_greeting_is_closed() {
    init();
    let ctx = Context::new();
    for (server_mech, peer) in [
        (Mech::curve(), "PLAIN"),
        (Mech::curve(), "NULL"),
        (Mech::Plain, "NULL"),
        (Mech::Plain, "CURVE"),
        (Mech::Null, "CURVE"),
        (Mech::Null, "PLAIN"),
        (Mech::Plain, "PLAINX"),
    ] {
        let mut server = served(&ctx, &server_mech, |_| {});
        let (mut raw, greeting) = raw_greeted_as(&server.ep, peer, false);
        let name = server_mech.name().as_bytes();
        assert_eq!(&greeting[12..12 + name.len()], name);
        // The peer goes on as if the greetings agreed.
        let _ = raw.write_all(&raw_command("HELLO", b"\x01u\x01p"));
        expect_closed(&mut raw, "a peer of another mechanism");
        server.expect_protocol_failure("mechanism");
        server.still_served();
    }
}

// ---------------------------------------------------------------------------------------
// After a real CURVE handshake, through a relay
// ---------------------------------------------------------------------------------------

/// A ferrozmq CURVE client of `server` through a relay doing `tamper`, which sends "one"
/// and "two"; returns the client (kept alive by the caller) after the server has seen the
/// connection end with a reason about the nonce.
fn tampered(ctx: &Context, mech: &Mech, server: &Served, tamper: Tamper) -> (Socket, Relay) {
    let relay = Relay::start(&server.ep, tamper);
    let mut client = bounded_socket(ctx, SocketType::Push, TIMEOUT);
    mech.client(&mut client);
    client.connect(relay.endpoint()).unwrap();
    send(&mut client, "one", "the tampered client's first message");
    send(&mut client, "two", "the tampered client's second message");
    // The handshake succeeds: the tampering comes after.
    expect_event(&server.monitor, "the tampered client's handshake", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    let e = expect_event(&server.monitor, "the tampered connection's end", |e| {
        matches!(e.kind, EventKind::Disconnected { .. })
    });
    let EventKind::Disconnected { reason } = e.kind else {
        unreachable!()
    };
    assert!(reason.contains("nonce"), "{reason}");
    relay.wait_messages(2, 0);
    (client, relay)
}

#[test]
fn a_replayed_curve_message_closes_the_connection() {
    init();
    let ctx = Context::new();
    let mech = Mech::curve();
    let mut server = served(&ctx, &mech, |_| {});
    let (_client, _relay) = tampered(&ctx, &mech, &server, Tamper::ReplayFirstMessage);
    // The original got through; its replay and what followed it did not.
    assert_eq!(text(&recv(&mut server.pull, "the original message")), "one");
    server.still_served();
}

#[test]
fn a_curve_nonce_that_goes_down_closes_the_connection() {
    init();
    let ctx = Context::new();
    let mech = Mech::curve();
    let mut server = served(&ctx, &mech, |_| {});
    let (_client, _relay) = tampered(&ctx, &mech, &server, Tamper::SwapFirstTwoMessages);
    // The later message came first and got through; the earlier one, its nonce now
    // below the last, did not.
    assert_eq!(
        text(&recv(&mut server.pull, "the message sent second")),
        "two"
    );
    server.still_served();
}

#[test]
fn an_untampered_relay_passes_a_curve_connection() {
    init();
    // The control for the two tests above: the relay itself breaks nothing.
    let ctx = Context::new();
    let mech = Mech::curve();
    let mut server = served(&ctx, &mech, |_| {});
    let relay = Relay::start(&server.ep, Tamper::Nothing);
    let mut client = bounded_socket(&ctx, SocketType::Push, TIMEOUT);
    mech.client(&mut client);
    client.connect(relay.endpoint()).unwrap();
    for k in 0..20 {
        send(&mut client, format!("r{k}"), "messages through the relay");
    }
    for k in 0..20 {
        assert_eq!(
            text(&recv(&mut server.pull, "messages through the relay")),
            format!("r{k}")
        );
    }
    relay.wait_messages(20, 0);
    server.still_served();
}
