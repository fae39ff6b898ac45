//! The CURVE fuzzing driver: a server and a client fed arbitrary handshake commands and
//! frames, or a genuine handshake with its frames corrupted in flight.
//!
//! What must hold: any outcome but a panic is acceptable, so nothing here asserts on
//! results; it only drives the mechanism the way a connection would.

use super::*;

/// The fuzzing entry point (see `crate::fuzzing`): drives a CURVE server and a CURVE
/// client with arbitrary handshake commands and frames, and a genuine handshake whose
/// commands are corrupted as `data` says. Any outcome but a panic is fine.
#[allow(dead_code)] // Called by crate::fuzzing once it re-exports it.
pub(crate) fn fuzz_handshake(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let server_keys = CurveKeyPair::from_secret(&[1; KEY]);
    let client_keys = CurveKeyPair::from_secret(&[2; KEY]);
    let server_key = *server_keys.public_key();
    let metadata = Bytes::from_static(b"\x0bSocket-Type\x00\x00\x00\x06DEALER");
    let mut server = Curve::new(server_keys, CurveRole::Server, metadata.clone());
    let mut client = Curve::new(client_keys, CurveRole::Client { server_key }, metadata);
    if mode & 1 == 0 {
        // Arbitrary chunks (u8 length, then bytes) as commands, then as MESSAGE frames.
        let mut out = OutBuf::new();
        let target = if mode & 2 == 0 {
            &mut server
        } else {
            &mut client
        };
        let _ = target.start(&mut out);
        for chunk in chunks(rest) {
            feed(target, chunk, mode & 4 != 0, &mut out);
        }
    } else {
        // A genuine handshake; each (index, offset, xor) triple in `rest` corrupts the
        // index-th frame exchanged. Each side that is ready sends a MESSAGE back.
        let edits: Vec<&[u8]> = rest.chunks(3).collect();
        let (mut to_server, mut to_client) = (OutBuf::new(), OutBuf::new());
        let _ = client.start(&mut to_server);
        for step in 0..8u8 {
            let (receiver, inbox, outbox) = if step % 2 == 0 {
                (&mut server, &mut to_server, &mut to_client)
            } else {
                (&mut client, &mut to_client, &mut to_server)
            };
            let Some(mut frame) = take_frame(inbox) else {
                break;
            };
            for edit in &edits {
                if let [index, offset, xor] = edit {
                    if *index == step && !frame.is_empty() {
                        let at = usize::from(*offset) % frame.len();
                        frame[at] ^= xor;
                    }
                }
            }
            feed(receiver, &frame, mode & 2 == 0, outbox);
            if receiver.state == State::Ready {
                receiver.encode(MSG_MORE, b"hello", outbox);
            }
        }
    }
}

/// Splits fuzz input into chunks, each a length byte and that many bytes.
#[cfg(any(test, feature = "fuzzing"))]
fn chunks(mut data: &[u8]) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let len = usize::from(len).min(rest.len());
        chunks.push(&rest[..len]);
        data = &rest[len..];
    }
    chunks
}

/// Hands one frame body to `curve` as the connection would: a handshake command until it
/// is ready (ZAP allows), then a MESSAGE.
#[cfg(any(test, feature = "fuzzing"))]
fn feed(curve: &mut Curve, body: &[u8], allow: bool, out: &mut OutBuf) {
    if curve.state == State::Ready {
        let _ = curve.decode(BytesMut::from(body));
        return;
    }
    if let Ok(Progress::Authenticate(_)) = curve.on_command(Bytes::copy_from_slice(body), out) {
        let verdict = if allow {
            Verdict::Allow {
                user_id: Bytes::new(),
                properties: Vec::new(),
            }
        } else {
            Verdict::Deny {
                status: 400,
                text: String::new(),
            }
        };
        let _ = curve.on_verdict(&verdict, out);
    }
}

/// Takes the first whole frame body out of `out` (all of it is whole frames).
#[cfg(any(test, feature = "fuzzing"))]
fn take_frame(out: &mut OutBuf) -> Option<Vec<u8>> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let mut slices = [std::io::IoSlice::new(&[]); 8];
        let n = out.io_slices(&mut slices);
        let before = all.len();
        for s in &slices[..n] {
            all.extend_from_slice(s);
        }
        out.advance(all.len() - before);
    }
    let header = crate::zmtp::frame::decode_header(&all).ok()??;
    let end = header.header_len.checked_add(header.size)?;
    let body = all.get(header.header_len..end)?.to_vec();
    if let Some(rest) = all.get(end..) {
        out.put_slice(rest);
    }
    Some(body)
}
