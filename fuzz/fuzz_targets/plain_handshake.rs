//! Fuzz target `plain_handshake`: the PLAIN mechanism (and NULL with ZAP) through the whole
//! connection, greeting to traffic.
//!
//! Byte 0 picks the role under test (bits 0-1: PLAIN server, PLAIN client, NULL with a ZAP
//! domain, CURVE server) and whether ZAP admits (bit 2). Bit 3 clear: after a valid
//! greeting of the same mechanism, the rest is read as command chunks (a length byte, then
//! that many bytes, each sent as one command frame). Bit 3 set: a genuine peer's side of a
//! whole handshake, then the rest as raw bytes. Byte 1 cuts the stream in two. It checks:
//! no panic, never more input held than arrived, output bounded by the input, and errors
//! that stick.

#![no_main]

use ferrozmq::fuzzing::{converse, Codec, Role};
use ferrozmq::SocketType;
use libfuzzer_sys::fuzz_target;

fn codec(role: Role, admit: bool) -> Codec {
    Codec::with_role(SocketType::Dealer, b"", Some(1 << 20), Some(1000), role, admit)
}

fuzz_target!(|data: &[u8]| {
    let Some(([mode, cut], rest)) = data.split_first_chunk::<2>().map(|(h, r)| (*h, r)) else {
        return;
    };
    let (ours, theirs) = match mode & 3 {
        0 => (Role::PlainServer, Role::PlainClient),
        1 => (Role::PlainClient, Role::PlainServer),
        2 => (Role::NullZap, Role::Null),
        _ => (Role::CurveServer, Role::CurveClient),
    };
    let admit = mode & 4 != 0;
    let mut peer = codec(theirs, true);
    let mut stream = if mode & 8 == 0 {
        let mut s = peer.take_output()[..64].to_vec();
        let mut chunks = rest;
        while let Some((&len, tail)) = chunks.split_first() {
            let body = &tail[..usize::from(len).min(tail.len())];
            s.extend_from_slice(&[0x04, body.len() as u8]);
            s.extend_from_slice(body);
            chunks = &tail[body.len()..];
        }
        s
    } else {
        let mut genuine_us = codec(ours, admit);
        let mut s = converse(&mut peer, &mut genuine_us);
        s.extend_from_slice(rest);
        s
    };
    stream.truncate(1 << 20);
    let (a, b) = stream.split_at(usize::from(cut).min(stream.len()));
    let mut ours = codec(ours, admit);
    let mut arrived = 0;
    let mut output = 0;
    for chunk in [a, b] {
        arrived += chunk.len();
        let result = ours.feed(chunk);
        assert!(ours.buffered() <= arrived);
        output += ours.take_output().len();
        assert!(output <= 1024 + 2 * arrived, "output {output} for {arrived} in");
        if result.is_err() {
            assert!(ours.feed(b"\x04\x01x").is_err(), "errors stick");
            break;
        }
    }
});
