//! Hostile peers: a PULL that one peer feeds garbage, a legacy protocol, an oversized or
//! endless frame, or a stalled handshake closes that connection and keeps serving a
//! well-behaved PUSH; a size a peer merely announces is never allocated (an exabyte
//! allocation would abort the whole test process).

mod util;

use ferrozmq::{Context, Socket, SocketType};
use std::io::Write;
use std::time::Duration;
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
    // No max_msg_size (libzmq's default): the peer may announce any size, and memory must
    // still follow only what arrives.
    let (mut pull, mut push, ep) = served_pull(&ctx, |_| {});
    let mut raw = raw_handshake(&ep, "PUSH");
    let mut header = vec![0x02];
    header.extend_from_slice(&(1u64 << 60).to_be_bytes());
    header.extend_from_slice(&[7u8; 1000]);
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
