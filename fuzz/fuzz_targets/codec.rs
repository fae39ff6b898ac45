//! Fuzz target `codec`: arbitrary bytes, cut into arbitrary chunks, into one ZMTP
//! connection of an arbitrary socket type, with and without input limits.
//!
//! Input layout: byte 0 picks the socket type (low nibble) and the options (bit 4: a
//! `max_msg_size` from byte 1, bit 5: a `max_msg_frames` from byte 2, bit 6: start with a
//! valid greeting and READY from a compatible peer so the fuzzer reaches the framing at
//! once; bit 7: decode at most 1-4 messages per codec call, from the seed's top bits, as a
//! session whose socket's queue has little room does); byte 3 seeds the chunk sizes; the
//! rest is the peer's stream. It checks, after
//! every chunk: no panic, never more input held than arrived, an incomplete message within
//! both limits, output bounded by the input, and errors that stick.

#![no_main]

use ferrozmq::fuzzing::{handshake_bytes, Codec, FRAME_OVERHEAD};
use ferrozmq::SocketType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, stream)) = data.split_first_chunk::<4>() else {
        return;
    };
    let [flags, size_byte, frames_byte, seed] = *head;
    let ours = SocketType::ALL[usize::from(flags & 0x0F) % SocketType::ALL.len()];
    // Small limits, so the fuzzer can reach them with short inputs.
    let max_msg_size = (flags & 0x10 != 0).then_some(u64::from(size_byte) * 8);
    let max_msg_frames = (flags & 0x20 != 0).then_some(u64::from(frames_byte % 16));
    let mut bytes = Vec::new();
    if flags & 0x40 != 0 {
        let peer = SocketType::ALL
            .into_iter()
            .find(|t| ours.accepts(*t))
            .expect("every type has a peer type");
        bytes = handshake_bytes(peer, b"peer-id");
    }
    bytes.extend_from_slice(stream);

    let mut codec = Codec::new(ours, b"our-id", max_msg_size, max_msg_frames);
    if flags & 0x80 != 0 {
        codec.set_message_budget(1 + usize::from(seed >> 6));
    }
    let mut arrived = 0usize;
    let mut rng = u32::from(seed) | 0x100;
    let mut rest = &bytes[..];
    let mut output = codec.take_output().len();
    assert_eq!(output, 64, "the greeting");
    while !rest.is_empty() {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        let len = if seed == 0 {
            rest.len()
        } else {
            1 + rng as usize % 300
        };
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        arrived += chunk.len();
        let result = codec.feed(chunk);
        assert!(codec.buffered() <= arrived, "holds more than arrived");
        let (frames, held) = codec.held();
        if let Some(limit) = max_msg_size {
            assert!(held + frames * FRAME_OVERHEAD <= limit, "over max_msg_size");
        }
        if let Some(limit) = max_msg_frames {
            assert!(frames <= limit, "over max_msg_frames");
        }
        // READY (under 300 bytes with our id) and ERROR (at most 264) once each; a PONG is
        // never longer than the PING it answers.
        output += codec.take_output().len();
        assert!(
            output <= 64 + 600 + arrived,
            "output {output} for {arrived} in"
        );
        if let Err(e) = result {
            assert_eq!(codec.feed(b"\x00\x00").err(), Some(e), "errors stick");
            break;
        }
    }
});
