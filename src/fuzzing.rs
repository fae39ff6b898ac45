//! Entry points for the `cargo fuzz` targets in `fuzz/`, compiled only with the
//! non-default `fuzzing` feature and hidden from the documentation.
//!
//! Everything here is a thin wrapper over crate internals (the sans-IO ZMTP codec and
//! endpoint parsing) so that fuzz targets can drive them without the crate making them
//! public API. It must keep true: no logic of its own beyond moving bytes in and out, so
//! that what the fuzzers exercise is exactly what a socket runs; and nothing here is a
//! stable interface.

use crate::endpoint::Endpoint;
use crate::zmtp::{Config, Connection, Event, OutBuf, Security, Verdict};
use crate::{ProtocolError, SocketType};
use bytes::{Bytes, BytesMut};
use std::io::IoSlice;

/// What each frame of an incomplete message counts as, on top of its bytes, against
/// `max_msg_size`.
pub const FRAME_OVERHEAD: u64 = crate::options::FRAME_OVERHEAD;

/// The security mechanism and role of a [`Codec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// NULL, asking nobody.
    Null,
    /// NULL with a ZAP domain: the codec asks for a verdict before its READY.
    NullZap,
    /// A PLAIN server.
    PlainServer,
    /// A PLAIN client logging in as `admin`/`secret`.
    PlainClient,
    /// A CURVE server with a fixed key pair ([`CURVE_SERVER_SECRET`]).
    CurveServer,
    /// A CURVE client of the [`CURVE_SERVER_SECRET`] server, with a fixed key pair.
    CurveClient,
}

/// The secret key of a [`Role::CurveServer`] codec (a fixed test key: never for real use).
pub const CURVE_SERVER_SECRET: [u8; 32] = [0x11; 32];
/// The secret key of a [`Role::CurveClient`] codec.
pub const CURVE_CLIENT_SECRET: [u8; 32] = [0x22; 32];

impl Role {
    fn security(self) -> Security {
        let server = crate::CurveKeyPair::from_secret(&CURVE_SERVER_SECRET);
        match self {
            Role::Null | Role::NullZap => Security::Null,
            Role::PlainServer => Security::PlainServer,
            Role::PlainClient => Security::PlainClient {
                username: Bytes::from_static(b"admin"),
                password: zeroize::Zeroizing::new(b"secret".to_vec()),
            },
            Role::CurveServer => Security::CurveServer { keys: server },
            Role::CurveClient => Security::CurveClient {
                keys: crate::CurveKeyPair::from_secret(&CURVE_CLIENT_SECRET),
                server_key: *server.public_key(),
            },
        }
    }
}

/// One ZMTP connection fed from memory: the codec as a session drives it.
#[derive(Debug)]
pub struct Codec {
    conn: Connection,
    out: OutBuf,
    input: BytesMut,
    events: Vec<Event>,
    /// Whether ZAP questions are answered with an admission (else a 400 refusal).
    admit: bool,
    /// Messages decoded per codec call, as a session whose socket has that much room.
    budget: usize,
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
        Codec::with_role(
            socket_type,
            routing_id,
            max_msg_size,
            max_msg_frames,
            Role::Null,
            true,
        )
    }

    /// Like [`Codec::new`], with the security mechanism and role `role`; ZAP questions
    /// are answered by admitting the peer iff `admit`.
    pub fn with_role(
        socket_type: SocketType,
        routing_id: &[u8],
        max_msg_size: Option<u64>,
        max_msg_frames: Option<u64>,
        role: Role,
        admit: bool,
    ) -> Codec {
        let mut out = OutBuf::new();
        let config = Config {
            security: role.security(),
            authenticate_null: role == Role::NullZap,
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
            admit,
            budget: usize::MAX,
        }
    }

    /// Decode at most `n` messages per codec call (at least one), as a session does when
    /// its socket's queue has room for `n`; what is left is decoded by the next calls of
    /// the same feed, as the session does once the socket makes room.
    pub fn set_message_budget(&mut self, n: usize) {
        self.budget = n.max(1);
    }

    /// Appends `bytes` to the input and lets the codec consume what it can.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Fed, ProtocolError> {
        self.input.extend_from_slice(bytes);
        let mut fed = Fed::default();
        let mut result = self.decode(&mut fed);
        // A ZAP question is answered at once, as an authenticator would, and the input it
        // held is decoded next, as the session does.
        while let Ok(true) = result {
            let verdict = if self.admit {
                Verdict::Allow {
                    user_id: Bytes::from_static(b"user"),
                    properties: Vec::new(),
                }
            } else {
                Verdict::Deny {
                    status: 400,
                    text: "refused".to_owned(),
                }
            };
            result = self
                .conn
                .on_verdict(&verdict, &mut self.out, &mut self.events)
                .and_then(|()| self.decode(&mut fed));
        }
        self.take_events(&mut fed);
        result.map(|_| fed)
    }

    /// Decodes what the input holds, `budget` messages per codec call, as the session
    /// does; true if a ZAP question is pending.
    fn decode(&mut self, fed: &mut Fed) -> Result<bool, ProtocolError> {
        loop {
            let result = self.conn.handle_input_up_to(
                &mut self.input,
                &mut self.out,
                &mut self.events,
                self.budget,
            );
            let asked = self.take_events(fed);
            result?;
            if asked || !self.conn.at_budget() || self.input.is_empty() {
                return Ok(asked);
            }
        }
    }

    /// Counts the pending events into `fed`; true if one asked for a ZAP verdict.
    fn take_events(&mut self, fed: &mut Fed) -> bool {
        let mut asked = false;
        for event in self.events.drain(..) {
            match event {
                Event::Authenticate(_) => asked = true,
                Event::Ready(_) => fed.ready = true,
                Event::Message(m) => {
                    fed.messages += 1;
                    fed.frames += m.len();
                }
                Event::Subscribe(_) | Event::Cancel(_) => fed.subscriptions += 1,
                Event::Ping(_) => fed.pings += 1,
            }
        }
        asked
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

/// Runs a whole handshake between two codecs in memory (`a` and `b` of the same mechanism,
/// in opposite roles), passing every byte each writes to the other, and returns the bytes
/// `a` wrote (`b`'s input). Fuzz targets start from these to reach the later commands.
pub fn converse(a: &mut Codec, b: &mut Codec) -> Vec<u8> {
    let mut a_wrote = Vec::new();
    for _ in 0..8 {
        let from_a = a.take_output();
        let from_b = b.take_output();
        if from_a.is_empty() && from_b.is_empty() {
            break;
        }
        a_wrote.extend_from_slice(&from_a);
        let _ = b.feed(&from_a);
        let _ = a.feed(&from_b);
    }
    a_wrote
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

/// Drives a CURVE server and client with `data` (see fuzz/fuzz_targets/curve_handshake.rs).
pub fn curve_handshake(data: &[u8]) {
    crate::zmtp::curve::fuzz_handshake(data)
}

/// Parses an endpoint string and prints it back in canonical form.
pub fn parse_endpoint(s: &str) -> crate::Result<String> {
    Endpoint::parse(s).map(|ep| ep.to_string())
}

/// Parses an endpoint string and applies the extra checks `connect` makes.
pub fn check_connectable(s: &str) -> crate::Result<()> {
    Endpoint::parse(s)?.check_connectable(s)
}
