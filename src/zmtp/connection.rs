//! `Connection`: the state machine of one ZMTP 3.x connection with the NULL mechanism.
//!
//! It consumes peer bytes (greeting, then frames), emits [`Event`]s, and writes our replies
//! (READY, PONG, ERROR) into an [`OutBuf`]. It must keep true: every size limit is checked
//! on the frame header before waiting for the body; nothing is reserved from an announced
//! length; frames are sliced out of the input without copying; only complete multipart
//! messages are delivered; after the first error every call fails with that error.

use super::command::{self, Command};
use super::frame::{self, FrameHeader, FLAG_MORE};
use super::greeting::{self, GREETING_LEN};
use super::OutBuf;
use crate::{Message, ProtocolError, SocketType};
use bytes::{Buf, Bytes, BytesMut};
use log::{debug, trace};

/// The largest frame accepted before the handshake is complete (hostile-input guard).
const HANDSHAKE_MAX_FRAME: u64 = 1024 * 1024;
/// Command frames after the handshake may be at least this long even under a smaller
/// `max_msg_size`, so heartbeats and subscriptions survive tiny limits.
const COMMAND_MIN_LIMIT: u64 = 1024;

/// What a connection needs to know about our side.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Our socket type, announced as `Socket-Type`.
    pub socket_type: SocketType,
    /// Our routing id, announced as `Identity` iff `socket_type.sends_identity()`.
    pub routing_id: Bytes,
    /// Largest accepted message (sum of its frames), `None` for unlimited. Checked on the
    /// frame header before any byte of the body is waited for.
    pub max_msg_size: Option<u64>,
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
        }
    }

    /// Whether the handshake is complete.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// The peer, once the handshake is complete.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
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
        if let Err(e) = &result {
            debug!("zmtp: connection failed: {e}");
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
            let body = input.split_to(header.size).freeze();
            if header.command() {
                self.on_command(body, out, events)?;
            } else {
                self.on_data(header.more(), body, events);
            }
        }
    }

    /// Everything that can be decided from a header alone, before its body is awaited.
    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        let size = h.size as u64;
        let handshaking = !self.is_ready();
        if h.command() {
            if h.more() || !self.partial.is_empty() {
                return Err(ProtocolError::CommandInMessage);
            }
            let limit = if handshaking {
                Some(HANDSHAKE_MAX_FRAME)
            } else {
                self.config.max_msg_size.map(|m| m.max(COMMAND_MIN_LIMIT))
            };
            return check_limit(size, limit);
        }
        if handshaking {
            return Err(ProtocolError::UnexpectedMessage);
        }
        check_limit(
            self.partial_size.saturating_add(size),
            self.config.max_msg_size,
        )
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
                Command::Ready(data) => self.on_ready(&data, out, events),
                other => Err(ProtocolError::UnexpectedCommand(command_name(&other))),
            };
        }
        match cmd {
            Command::Ping { ttl, context } => {
                trace!("zmtp: PING ttl={ttl}");
                command::encode_pong(&context, out);
            }
            Command::Pong(_) => trace!("zmtp: PONG"),
            Command::Subscribe(topic) => events.push(Event::Subscribe(topic)),
            Command::Cancel(topic) => events.push(Event::Cancel(topic)),
            other => debug!("zmtp: ignoring command {}", command_name(&other)),
        }
        Ok(())
    }

    fn on_ready(
        &mut self,
        data: &Bytes,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        let properties = command::parse_properties(data)?;
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
                command::encode_error("Invalid socket type", out);
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
