//! Fuzz target `handshake`: the ZMTP greeting and the NULL handshake.
//!
//! Byte 0 picks our socket type (low nibble) and a mode (bits 4-5): 0 feeds the rest as the
//! peer's greeting and beyond; 1 sends a valid greeting, then the rest as is (READY,
//! commands, anything); 2 sends a valid greeting, then a READY built from the rest as a
//! list of properties (name length, name, 2-byte value length, value), then whatever the
//! list left over. Byte 1 cuts the stream in two. It checks: no panic, never more input
//! held than arrived, output bounded by the input, a READY event only with the connection
//! ready, and errors that stick.

#![no_main]

use ferrozmq::fuzzing::{encode_message, handshake_bytes, Codec};
use ferrozmq::SocketType;
use libfuzzer_sys::fuzz_target;

/// Builds a READY body from `data` read as properties; returns it and the unread rest.
fn ready_from(mut data: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut body = b"\x05READY".to_vec();
    for _ in 0..16 {
        let Some((&name_len, rest)) = data.split_first() else {
            break;
        };
        let name_len = usize::from(name_len % 24);
        let Some((name, rest)) = rest.split_at_checked(name_len) else {
            break;
        };
        let Some((len, rest)) = rest.split_first_chunk::<2>() else {
            break;
        };
        let value_len = usize::from(u16::from_be_bytes(*len) % 512);
        let Some((value, rest)) = rest.split_at_checked(value_len) else {
            break;
        };
        // Name the properties that matter often enough to be found.
        let name: &[u8] = match name.first() {
            Some(b'S') => b"Socket-Type",
            Some(b'I') => b"Identity",
            _ => name,
        };
        let value: &[u8] = match (name, value.first()) {
            (b"Socket-Type", Some(&k)) if k < 0x40 => SocketType::ALL
                [usize::from(k) % SocketType::ALL.len()]
            .zmtp_name()
            .as_bytes(),
            _ => value,
        };
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
        data = rest;
    }
    let mut frame = if body.len() < 256 {
        vec![0x04, body.len() as u8]
    } else {
        let mut f = vec![0x06];
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
        f
    };
    frame.extend_from_slice(&body);
    (frame, data)
}

fuzz_target!(|data: &[u8]| {
    let Some(([mode, cut], rest)) = data.split_first_chunk::<2>().map(|(h, r)| (*h, r)) else {
        return;
    };
    let ours = SocketType::ALL[usize::from(mode & 0x0F) % SocketType::ALL.len()];
    let greeting = &handshake_bytes(ours, b"")[..64];
    let stream = match (mode >> 4) & 3 {
        0 => rest.to_vec(),
        1 => [greeting, rest].concat(),
        _ => {
            let (ready, after) = ready_from(rest);
            let mut s = [greeting, &ready[..]].concat();
            s.extend(encode_message(&[b"after", b"ready"]));
            s.extend_from_slice(after);
            s
        }
    };
    let (a, b) = stream.split_at(usize::from(cut).min(stream.len()));
    let mut codec = Codec::new(ours, b"id", Some(1 << 20), Some(1000));
    let mut arrived = 0;
    let mut output = 0;
    for chunk in [a, b] {
        arrived += chunk.len();
        let result = codec.feed(chunk);
        assert!(codec.buffered() <= arrived);
        output += codec.take_output().len();
        assert!(
            output <= 64 + 600 + arrived,
            "output {output} for {arrived} in"
        );
        match result {
            Ok(fed) => assert_eq!(fed.ready, fed.ready && codec.is_ready()),
            Err(_) => {
                assert!(!fed_more(&mut codec));
                break;
            }
        }
    }
});

/// Whether a failed codec still takes input (it must not).
fn fed_more(codec: &mut Codec) -> bool {
    codec.feed(b"\x00\x01x").is_ok()
}
