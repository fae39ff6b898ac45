//! Entry points for the `cargo fuzz` targets in `fuzz/`, compiled only with the
//! non-default `fuzzing` feature and hidden from the documentation.
//!
//! Everything here is a thin wrapper over crate internals (the sans-IO ZMTP codec and
//! endpoint parsing) so that fuzz targets can drive them without the crate making them
//! public API. It must keep true: no logic of its own beyond moving bytes in and out, so
//! that what the fuzzers exercise is exactly what a socket runs; and nothing here is a
//! stable interface.

use crate::endpoint::Endpoint;
use crate::zmtp::{Config, Connection, Event, OutBuf};
use crate::{ProtocolError, SocketType};
use bytes::{Bytes, BytesMut};
use std::io::IoSlice;

/// What each frame of an incomplete message counts as, on top of its bytes, against
/// `max_msg_size`.
pub const FRAME_OVERHEAD: u64 = crate::options::FRAME_OVERHEAD;

/// One ZMTP connection fed from memory: the codec as a session drives it.
#[derive(Debug)]
pub struct Codec {
    conn: Connection,
    out: OutBuf,
    input: BytesMut,
    events: Vec<Event>,
}

/// What one [`Codec::feed`] produced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Whether a handshake completed (a READY event).
    pub ready: bool,
    /// Complete messages delivered.
    pub messages: usize,
    /// Frames over all delivered messages.
    pub frames: usize,
    /// SUBSCRIBE and CANCEL events.
    pub subscriptions: usize,
    /// PING commands (each already answered with a PONG).
    pub pings: usize,
}

impl Codec {
    /// A connection of type `socket_type` announcing `routing_id`, with the given input
    /// limits (`None` is unlimited). Our greeting is queued as output at once.
    pub fn new(
        socket_type: SocketType,
        routing_id: &[u8],
        max_msg_size: Option<u64>,
        max_msg_frames: Option<u64>,
    ) -> Codec {
        let mut out = OutBuf::new();
        let config = Config {
            security: Default::default(),
            authenticate_null: false,
            socket_type,
            routing_id: Bytes::copy_from_slice(routing_id),
            max_msg_size,
            max_msg_frames,
        };
        let conn = Connection::new(config, &mut out);
        Codec {
            conn,
            out,
            input: BytesMut::new(),
            events: Vec::new(),
        }
    }

    /// Appends `bytes` to the input and lets the codec consume what it can.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Fed, ProtocolError> {
        self.input.extend_from_slice(bytes);
        let result = self
            .conn
            .handle_input(&mut self.input, &mut self.out, &mut self.events);
        let mut fed = Fed::default();
        for event in self.events.drain(..) {
            match event {
                Event::Ready(_) => fed.ready = true,
                Event::Message(m) => {
                    fed.messages += 1;
                    fed.frames += m.len();
                }
                Event::Subscribe(_) | Event::Cancel(_) => fed.subscriptions += 1,
                Event::Ping(_) => fed.pings += 1,
            }
        }
        result.map(|()| fed)
    }

    /// Whether the handshake is complete.
    pub fn is_ready(&self) -> bool {
        self.conn.is_ready()
    }

    /// Input bytes received but not consumed yet (a partial header or frame body).
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// The incomplete message the codec holds: (frames, body bytes).
    pub fn held(&self) -> (u64, u64) {
        self.conn.held()
    }

    /// Takes everything the codec wrote for the peer (greeting, READY, PONG, ERROR).
    pub fn take_output(&mut self) -> Vec<u8> {
        drain(&mut self.out)
    }
}

/// Takes everything pending out of `out`, the way a writer would.
fn drain(out: &mut OutBuf) -> Vec<u8> {
    let mut all = Vec::with_capacity(out.len());
    while !out.is_empty() {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = out.io_slices(&mut slices);
        let before = all.len();
        for s in &slices[..n] {
            all.extend_from_slice(s);
        }
        out.advance(all.len() - before);
    }
    all
}

/// The bytes a well-behaved peer of type `socket_type` sends first: its greeting, then
/// its READY (with `Identity` if that type sends one).
pub fn handshake_bytes(socket_type: SocketType, routing_id: &[u8]) -> Vec<u8> {
    let mut peer = Codec::new(socket_type, routing_id, None, None);
    let mut bytes = peer.take_output();
    // A connection writes its READY once it has a complete peer greeting; any valid
    // greeting will do, its own included.
    let _ = peer.feed(&bytes.clone());
    bytes.extend(peer.take_output());
    bytes
}

/// Encodes one message as ZMTP frames (MORE on all but the last).
pub fn encode_message(frames: &[&[u8]]) -> Vec<u8> {
    let msg = crate::Message::multipart(frames.iter().map(|f| Bytes::copy_from_slice(f)));
    let mut out = OutBuf::new();
    Connection::encode_plain_message(&msg, &mut out);
    drain(&mut out)
}

/// Parses an endpoint string and prints it back in canonical form.
pub fn parse_endpoint(s: &str) -> crate::Result<String> {
    Endpoint::parse(s).map(|ep| ep.to_string())
}

/// Parses an endpoint string and applies the extra checks `connect` makes.
pub fn check_connectable(s: &str) -> crate::Result<()> {
    Endpoint::parse(s)?.check_connectable(s)
}
