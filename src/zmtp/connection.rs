//! `Connection`: the state machine of one ZMTP 3.x connection with the NULL mechanism.
//!
//! It consumes peer bytes (greeting, then frames), emits [`Event`]s, and writes our replies
//! (READY, PONG, ERROR) into an [`OutBuf`]. It must keep true: every limit (message size,
//! frame count, an incomplete message's bytes plus [`FRAME_OVERHEAD`] per frame, the size
//! of a handshake command) is checked on the frame header before waiting for the body, so
//! what an incomplete message holds stays within `max_msg_size` whatever the peer sends;
//! nothing is reserved from an announced length; frames are sliced out of the input
//! without copying; only complete multipart messages are delivered; a handshake that fails
//! on our side writes an ERROR command; after the first error every call fails with that
//! error.

use super::command::{self, Command};
use super::frame::{self, FrameHeader, FLAG_MORE};
use super::greeting::{self, GREETING_LEN};
use super::OutBuf;
use crate::options::FRAME_OVERHEAD;
use crate::{Message, ProtocolError, SocketType};
use bytes::{Buf, Bytes, BytesMut};
use log::{debug, trace};

/// The largest command accepted before the handshake is complete, that is the largest READY
/// (its name and metadata). libzmq's READY is well under 100 bytes plus whatever metadata
/// the application added with `ZMQ_METADATA`; 64 KiB is far above that, and small enough
/// that a peer which never finishes its handshake cannot make us hold much.
pub(crate) const MAX_HANDSHAKE_COMMAND: u64 = 64 * 1024;
/// Command frames after the handshake may be at least this long even under a smaller
/// `max_msg_size`, so heartbeats and subscriptions survive tiny limits.
const COMMAND_MIN_LIMIT: u64 = 1024;

/// Frames below this size are copied out of the read buffer; larger ones are sliced.
pub(crate) const SMALL_FRAME: usize = 1024;

/// What a connection needs to know about our side.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Our socket type, announced as `Socket-Type`.
    pub socket_type: SocketType,
    /// Our routing id, announced as `Identity` iff `socket_type.sends_identity()`.
    pub routing_id: Bytes,
    /// Largest accepted message (sum of its frames), `None` for unlimited. Checked on the
    /// frame header before any byte of the body is waited for. It also bounds what an
    /// incomplete message may hold: its bytes plus [`FRAME_OVERHEAD`] per frame.
    pub max_msg_size: Option<u64>,
    /// Most frames in one message, `None` for unlimited. Checked on the frame header.
    pub max_msg_frames: Option<u64>,
}

/// What the peer told us in its greeting and READY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerInfo {
    /// The peer's socket type.
    pub socket_type: SocketType,
    /// The peer's `Identity` property, empty if absent.
    pub routing_id: Bytes,
    /// The peer's ZMTP minor version: 0 = 3.0, 1 = 3.1 (or higher).
    pub minor: u8,
    /// All READY metadata as received, in order.
    pub properties: Vec<(String, Bytes)>,
}

/// Something the socket layer must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// The handshake is complete (emitted once).
    Ready(PeerInfo),
    /// One complete multipart message; frames are zero-copy slices of the input.
    Message(Message),
    /// The peer subscribed to a topic (SUBSCRIBE command).
    Subscribe(Bytes),
    /// The peer cancelled a subscription (CANCEL command).
    Cancel(Bytes),
    /// The peer sent a PING (already answered with a PONG) announcing this time-to-live in
    /// tenths of a second (0: none).
    Ping(u16),
}

#[derive(Debug)]
enum Phase {
    /// Waiting for (the rest of) the peer's greeting.
    Greeting,
    /// Greeting done, our READY sent, waiting for the peer's READY.
    Handshake,
    /// Exchanging messages.
    Ready,
    /// Dead; every call returns this error.
    Failed(ProtocolError),
}

/// One ZMTP connection, sans I/O.
#[derive(Debug)]
pub(crate) struct Connection {
    config: Config,
    phase: Phase,
    /// The peer's minor version, known once its greeting has been read.
    peer_minor: Option<u8>,
    peer: Option<PeerInfo>,
    /// Header of the frame whose body we are waiting for (already removed from the input).
    current: Option<FrameHeader>,
    /// Frames received so far of an incomplete multipart message.
    partial: Vec<Bytes>,
    /// Total body bytes of `partial`.
    partial_size: u64,
    /// Where small frames of the current `handle_input` call are copied together.
    arena: BytesMut,
}

impl Connection {
    /// Starts a connection and writes our whole 64-byte greeting (version 3.1, mechanism
    /// NULL, as-server 0) into `out`.
    pub fn new(config: Config, out: &mut OutBuf) -> Connection {
        greeting::encode_greeting(out);
        Connection {
            config,
            phase: Phase::Greeting,
            peer_minor: None,
            peer: None,
            current: None,
            partial: Vec::new(),
            partial_size: 0,
            arena: BytesMut::new(),
        }
    }

    /// Whether the handshake is complete.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// The peer, once the handshake is complete.
    #[allow(dead_code)] // For monitor events and socket metadata, which come next.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// The incomplete message held: (frames, body bytes). For the fuzz targets' checks.
    #[cfg(feature = "fuzzing")]
    pub fn held(&self) -> (u64, u64) {
        (self.partial.len() as u64, self.partial_size)
    }

    /// How many bytes of the frame body now awaited are still missing, given the `buffered`
    /// bytes of input the caller holds (0 when no body is awaited). The session sizes its
    /// next read with it, so that a large frame lands whole in one buffer.
    pub fn body_missing(&self, buffered: usize) -> usize {
        match self.current {
            Some(h) => h.size.saturating_sub(buffered),
            None => 0,
        }
    }

    /// Consumes every complete unit (greeting, frames) at the front of `input`, leaving any
    /// partial trailing data there; pushes events and writes replies into `out`. On `Err`
    /// the connection is dead (later calls return the same error) and `out` may hold an
    /// ERROR command worth one flush attempt.
    pub fn handle_input(
        &mut self,
        input: &mut BytesMut,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        if let Phase::Failed(e) = &self.phase {
            return Err(e.clone());
        }
        let result = self.process(input, out, events);
        // Let go of this call's arena: from now on only the frames cut from it refer to it.
        self.arena = BytesMut::new();
        if let Err(e) = &result {
            debug!("zmtp: connection failed: {e}");
            // RFC 37 allows an ERROR command during the handshake (after the greetings):
            // tell the peer why before the connection closes. A peer's own ERROR gets none.
            if matches!(self.phase, Phase::Handshake) && !matches!(e, ProtocolError::PeerError(_)) {
                command::encode_error(&error_reason(e), out);
            }
            self.phase = Phase::Failed(e.clone());
        }
        result
    }

    fn process(
        &mut self,
        input: &mut BytesMut,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        if let Phase::Greeting = self.phase {
            let Some(peer) = greeting::check(input)? else {
                return Ok(());
            };
            input.advance(GREETING_LEN);
            trace!("zmtp: peer greeting {}.{}", peer.major, peer.minor);
            self.peer_minor = Some(peer.minor);
            let identity = self
                .config
                .socket_type
                .sends_identity()
                .then_some(&self.config.routing_id[..]);
            command::encode_ready(self.config.socket_type, identity, out);
            self.phase = Phase::Handshake;
        }
        loop {
            let header = match self.current {
                Some(h) => h,
                None => {
                    let Some(h) = frame::decode_header(input)? else {
                        return Ok(());
                    };
                    self.check_header(&h)?;
                    input.advance(h.header_len);
                    self.current = Some(h);
                    h
                }
            };
            if input.len() < header.size {
                return Ok(());
            }
            self.current = None;
            let body = self.take_body(input, header.size);
            if header.command() {
                self.on_command(body, out, events)?;
            } else {
                self.on_data(header.more(), body, events);
            }
        }
    }

    /// Cuts a frame body of `size` bytes off the front of `input`. Large bodies are slices of
    /// the input (zero-copy). Small ones are copied into this call's arena: slicing them
    /// would make the I/O thread and the application bump one shared reference count per
    /// frame from two cores, and would pin a whole read buffer for each queued frame.
    fn take_body(&mut self, input: &mut BytesMut, size: usize) -> Bytes {
        if size == 0 {
            return Bytes::new();
        }
        if size >= SMALL_FRAME {
            return input.split_to(size).freeze();
        }
        if self.arena.capacity() - self.arena.len() < size {
            // Enough for every byte that has arrived: memory follows the input, never a
            // length the peer announced.
            self.arena = BytesMut::with_capacity(input.len());
        }
        self.arena.extend_from_slice(&input[..size]);
        input.advance(size);
        self.arena.split().freeze()
    }

    /// Everything that can be decided from a header alone, before its body is awaited.
    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        let size = h.size as u64;
        let handshaking = !self.is_ready();
        if h.command() {
            if h.more() || !self.partial.is_empty() {
                return Err(ProtocolError::CommandInMessage);
            }
            if handshaking {
                if size > MAX_HANDSHAKE_COMMAND {
                    return Err(ProtocolError::HandshakeCommandTooLarge {
                        size,
                        limit: MAX_HANDSHAKE_COMMAND,
                    });
                }
                return Ok(());
            }
            return check_limit(
                size,
                self.config.max_msg_size.map(|m| m.max(COMMAND_MIN_LIMIT)),
            );
        }
        if handshaking {
            return Err(ProtocolError::UnexpectedMessage);
        }
        // What the message will hold once this frame is in.
        let frames = (self.partial.len() as u64).saturating_add(1);
        let bytes = self.partial_size.saturating_add(size);
        if let Some(limit) = self.config.max_msg_frames {
            if frames > limit {
                return Err(ProtocolError::TooManyFrames { limit });
            }
        }
        check_limit(bytes, self.config.max_msg_size)?;
        if let (true, Some(limit)) = (h.more(), self.config.max_msg_size) {
            // Still incomplete after this frame: every frame kept costs bookkeeping too, so
            // a flood of tiny frames is bounded by the same limit.
            let held = bytes.saturating_add(frames.saturating_mul(FRAME_OVERHEAD));
            if held > limit {
                return Err(ProtocolError::IncompleteMessageTooLarge {
                    frames,
                    bytes,
                    overhead: FRAME_OVERHEAD,
                    limit,
                });
            }
        }
        Ok(())
    }

    fn on_data(&mut self, more: bool, body: Bytes, events: &mut Vec<Event>) {
        if !more && self.partial.is_empty() {
            events.push(Event::Message(Message::from(body)));
            return;
        }
        self.partial_size = self.partial_size.saturating_add(body.len() as u64);
        self.partial.push(body);
        if !more {
            self.partial_size = 0;
            let frames = std::mem::take(&mut self.partial);
            events.push(Event::Message(Message::from(frames)));
        }
    }

    fn on_command(
        &mut self,
        body: Bytes,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        let cmd = command::parse(body)?;
        if let Command::Error(reason) = cmd {
            return Err(ProtocolError::PeerError(reason));
        }
        if !self.is_ready() {
            return match cmd {
                Command::Ready(data) => self.on_ready(&data, events),
                other => Err(ProtocolError::UnexpectedCommand(command_name(&other))),
            };
        }
        match cmd {
            Command::Ping { ttl, context } => {
                trace!("zmtp: PING ttl={ttl}");
                command::encode_pong(&context, out);
                events.push(Event::Ping(ttl));
            }
            Command::Pong(_) => trace!("zmtp: PONG"),
            Command::Subscribe(topic) => events.push(Event::Subscribe(topic)),
            Command::Cancel(topic) => events.push(Event::Cancel(topic)),
            other => debug!("zmtp: ignoring command {}", command_name(&other)),
        }
        Ok(())
    }

    fn on_ready(&mut self, data: &Bytes, events: &mut Vec<Event>) -> Result<(), ProtocolError> {
        let properties = command::parse_properties(data)?;
        command::validate_properties(&properties)?;
        let find = |name: &str| {
            properties
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let Some(type_name) = find(command::PROP_SOCKET_TYPE) else {
            return Err(ProtocolError::MissingSocketType);
        };
        let ours = self.config.socket_type;
        let socket_type = match SocketType::from_zmtp_name(&type_name) {
            Some(t) if ours.accepts(t) => t,
            _ => {
                return Err(ProtocolError::IncompatibleSocketType {
                    ours,
                    theirs: String::from_utf8_lossy(&type_name).into_owned(),
                });
            }
        };
        let info = PeerInfo {
            socket_type,
            routing_id: find(command::PROP_IDENTITY).unwrap_or_default(),
            minor: self.peer_minor.unwrap_or(0),
            properties,
        };
        debug!("zmtp: handshake complete with {socket_type} peer");
        self.peer = Some(info.clone());
        self.phase = Phase::Ready;
        events.push(Event::Ready(info));
        Ok(())
    }

    /// Encodes one message: MORE on every frame but the last, LONG iff a frame exceeds 255
    /// bytes. Large frames are queued without copying. A message with no frames writes
    /// nothing. Call it only once the connection is ready.
    pub fn encode_message(msg: &Message, out: &mut OutBuf) {
        let last = msg.len().saturating_sub(1);
        for (i, f) in msg.iter().enumerate() {
            let flags = if i < last { FLAG_MORE } else { 0 };
            frame::encode_frame(flags, f.clone(), out);
        }
    }

    /// Encodes a subscription (`subscribe`) or its cancellation: a SUBSCRIBE/CANCEL command
    /// to a ZMTP 3.1 peer, a one-frame message `0x01`+topic / `0x00`+topic to a 3.0 peer
    /// (or to a peer whose version is not known yet). Call it only once the connection is
    /// ready, so that it follows our READY.
    pub fn encode_subscription(&self, topic: &[u8], subscribe: bool, out: &mut OutBuf) {
        if self.peer_minor.unwrap_or(0) >= 1 {
            command::encode_subscription(topic, subscribe, out);
        } else {
            frame::encode_header(0, topic.len() + 1, out);
            out.put_slice(&[u8::from(subscribe)]);
            out.put_slice(topic);
        }
    }

    /// Encodes a PING with a TTL in tenths of a second and a context (cut to 16 bytes), for
    /// heartbeating. Call it only once the connection is ready.
    pub fn encode_ping(ttl_deciseconds: u16, context: &[u8], out: &mut OutBuf) {
        command::encode_ping(ttl_deciseconds, context, out);
    }
}

fn check_limit(size: u64, limit: Option<u64>) -> Result<(), ProtocolError> {
    match limit {
        Some(limit) if size > limit => Err(ProtocolError::MessageTooLarge { size, limit }),
        _ => Ok(()),
    }
}

/// The reason in our ERROR command: libzmq's words for a wrong socket type, ours (made
/// printable ASCII, as the ZMTP grammar wants) for the rest.
fn error_reason(e: &ProtocolError) -> String {
    if let ProtocolError::IncompatibleSocketType { .. } = e {
        return "Invalid socket type".to_owned();
    }
    e.to_string()
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn command_name(cmd: &Command) -> String {
    match cmd {
        Command::Ready(_) => "READY".into(),
        Command::Error(_) => "ERROR".into(),
        Command::Ping { .. } => "PING".into(),
        Command::Pong(_) => "PONG".into(),
        Command::Subscribe(_) => "SUBSCRIBE".into(),
        Command::Cancel(_) => "CANCEL".into(),
        Command::Unknown(name) => String::from_utf8_lossy(name).into_owned(),
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
