//! `Connection`: the state machine of one ZMTP 3.x connection: greeting, the security
//! mechanism's handshake (NULL, PLAIN or CURVE, see `mechanism`), then traffic, boxed
//! frame by frame under CURVE.
//!
//! It consumes peer bytes (greeting, then frames), emits [`Event`]s, and writes our replies
//! (handshake commands, PONG, ERROR) into an [`OutBuf`]. While a ZAP decision is pending it
//! holds the input unread. It must keep true: every limit (message size,
//! frame count, an incomplete message's bytes plus [`FRAME_OVERHEAD`] per frame, the size
//! of a handshake command) is checked on the frame header before waiting for the body, so
//! what an incomplete message holds stays within `max_msg_size` whatever the peer sends;
//! nothing is reserved from an announced length; frames are sliced out of the input
//! without copying; only complete multipart messages are delivered; a handshake that fails
//! on our side writes an ERROR command; after the first error every call fails with that
//! error.

use super::command::{self, Command};
use super::frame::{self, FrameHeader, FLAG_COMMAND, FLAG_MORE};
use super::greeting::{self, GREETING_LEN};
use super::mechanism::{
    Cipher, Credentials, Mechanism, Progress, Properties, Security, Verdict, MSG_COMMAND, MSG_MORE,
};
use super::OutBuf;
use crate::options::FRAME_OVERHEAD;
use crate::{Frame, Message, ProtocolError, SocketType};
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

/// The largest arena those copies share: a queued small frame keeps its whole arena alive.
const ARENA_MAX: usize = 16 * 1024;

/// The bytes a CURVE MESSAGE adds to a frame: `\x07MESSAGE`, an 8-byte nonce, a 16-byte
/// tag and the flags byte.
const BOX_OVERHEAD: u64 = 33;

/// What a connection needs to know about our side.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The security mechanism and role, with its keys or credentials.
    pub security: Security,
    /// Under NULL: whether to ask ZAP about the peer (a ZAP domain is set), as libzmq does.
    pub authenticate_null: bool,
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
    /// All READY (or INITIATE) metadata as received, in order.
    pub properties: Vec<(String, Bytes)>,
    /// The `User-Id` ZAP gave the peer, if ZAP was asked.
    pub user_id: Option<Bytes>,
    /// Further metadata from the ZAP reply.
    pub zap_properties: Vec<(String, Bytes)>,
}

/// Something the socket layer must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// The handshake is complete (emitted once).
    Ready(PeerInfo),
    /// A server must decide on the client: answer with [`Connection::on_verdict`]. Input is
    /// held unread until then.
    Authenticate(Credentials),
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
    /// Greeting done, the mechanism's handshake under way.
    Handshake,
    /// The mechanism asked for a ZAP decision; input waits.
    Authenticating,
    /// Exchanging messages.
    Ready,
    /// Dead; every call returns this error.
    Failed(ProtocolError),
}

/// One ZMTP connection, sans I/O.
#[derive(Debug)]
pub(crate) struct Connection {
    config: Config,
    mechanism: Mechanism,
    phase: Phase,
    /// The peer's minor version, known once its greeting has been read.
    peer_minor: Option<u8>,
    peer: Option<PeerInfo>,
    /// Header of the frame whose body we are waiting for (already removed from the input).
    current: Option<FrameHeader>,
    /// Frames received so far of an incomplete multipart message.
    partial: Vec<Frame>,
    /// Whole messages the current `handle_input_up_to` call may still decode.
    budget: usize,
    /// Total body bytes of `partial`.
    partial_size: u64,
    /// Where small frames of the current `handle_input` call are copied together.
    arena: BytesMut,
    /// What ZAP said about the peer, until the handshake completes.
    verdict: Option<(Bytes, Properties)>,
}

impl Connection {
    /// Starts a connection and writes our whole 64-byte greeting (version 3.1, our
    /// mechanism and role) into `out`.
    pub fn new(config: Config, out: &mut OutBuf) -> Connection {
        let identity = config
            .socket_type
            .sends_identity()
            .then_some(&config.routing_id[..]);
        let metadata = command::encode_properties(config.socket_type, identity);
        let mechanism = config.security.build(metadata, config.authenticate_null);
        greeting::encode_greeting(mechanism.name(), mechanism.as_server(), out);
        Connection {
            config,
            mechanism,
            phase: Phase::Greeting,
            peer_minor: None,
            peer: None,
            current: None,
            partial: Vec::new(),
            budget: usize::MAX,
            partial_size: 0,
            arena: BytesMut::new(),
            verdict: None,
        }
    }

    /// Whether frames after the handshake are boxed (CURVE). Such a connection cannot take
    /// the direct write path, whose encoder holds no per-connection state.
    pub fn encrypts(&self) -> bool {
        self.mechanism.encrypts()
    }

    /// The ZAP decision on the client that [`Event::Authenticate`] asked for. Afterwards,
    /// call [`Connection::handle_input`] again for the input held meanwhile. On `Err` the
    /// connection is dead, and `out` may hold an ERROR worth one flush attempt.
    pub fn on_verdict(
        &mut self,
        verdict: &Verdict,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        if !matches!(self.phase, Phase::Authenticating) {
            return Err(ProtocolError::Security("ZAP reply out of turn"));
        }
        self.phase = Phase::Handshake;
        if let Verdict::Allow {
            user_id,
            properties,
        } = verdict
        {
            self.verdict = Some((user_id.clone(), properties.clone()));
        }
        let result = self
            .mechanism
            .on_verdict(verdict, out)
            .and_then(|progress| self.advance(progress, events));
        if let Err(e) = &result {
            self.fail(e, out);
        }
        result
    }

    /// Whether the last `handle_input_up_to` stopped because it had decoded as many
    /// messages as it was allowed (input may be left).
    pub fn at_budget(&self) -> bool {
        self.budget == 0
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
    #[cfg(test)]
    pub fn handle_input(
        &mut self,
        input: &mut BytesMut,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        self.handle_input_up_to(input, out, events, usize::MAX)
    }

    /// Like [`Connection::handle_input`], but stops once `max_messages` whole messages have
    /// been decoded, leaving the rest of `input` for a later call: a reader whose queue is
    /// full decodes no further than the room it has, so what a fast peer sent waits in
    /// the read buffer as bytes instead of growing the queue without bound.
    pub fn handle_input_up_to(
        &mut self,
        input: &mut BytesMut,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
        max_messages: usize,
    ) -> Result<(), ProtocolError> {
        if let Phase::Failed(e) = &self.phase {
            return Err(e.clone());
        }
        self.budget = max_messages.max(1);
        let result = self.process(input, out, events);
        // Let go of this call's arena: from now on only the frames cut from it refer to it.
        self.arena = BytesMut::new();
        if let Err(e) = &result {
            self.fail(e, out);
        }
        result
    }

    /// The connection is dead with `e`.
    fn fail(&mut self, e: &ProtocolError, out: &mut OutBuf) {
        debug!("zmtp: connection failed: {e}");
        // RFC 37 allows an ERROR command during the handshake (after the greetings): tell
        // the peer why before the connection closes. A peer's own ERROR gets none, and a
        // ZAP refusal has written its own (or, for a temporary one, none on purpose).
        let handshaking = matches!(self.phase, Phase::Handshake | Phase::Authenticating);
        if handshaking
            && !matches!(
                e,
                ProtocolError::PeerError(_) | ProtocolError::AuthFailed { .. }
            )
        {
            command::encode_error(&error_reason(e), out);
        }
        self.phase = Phase::Failed(e.clone());
    }

    /// Acts on what the mechanism said.
    fn advance(
        &mut self,
        progress: Progress,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        match progress {
            Progress::Continue => Ok(()),
            Progress::Authenticate(credentials) => {
                self.phase = Phase::Authenticating;
                events.push(Event::Authenticate(credentials));
                Ok(())
            }
            Progress::Done(properties) => self.on_ready(properties, events),
        }
    }

    fn process(
        &mut self,
        input: &mut BytesMut,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        if let Phase::Greeting = self.phase {
            let Some(peer) = greeting::check(input, self.mechanism.name())? else {
                return Ok(());
            };
            input.advance(GREETING_LEN);
            trace!("zmtp: peer greeting {}.{}", peer.major, peer.minor);
            self.peer_minor = Some(peer.minor);
            self.phase = Phase::Handshake;
            let progress = self.mechanism.start(out)?;
            self.advance(progress, events)?;
        }
        loop {
            if matches!(self.phase, Phase::Authenticating) {
                // The input waits for the ZAP decision.
                return Ok(());
            }
            if self.budget == 0 {
                // As many messages as the caller has room for: the rest stays in `input`.
                return Ok(());
            }
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
            if self.is_ready() && self.mechanism.encrypts() {
                let boxed = self.take_body_mut(input, header.size);
                self.on_box(boxed, out, events)?;
                continue;
            }
            if header.command() {
                let body = self.take_body(input, header.size);
                self.on_command(body, out, events)?;
            } else {
                let body = self.take_frame(input, header.size);
                self.on_data(header.more(), body, events);
            }
        }
    }

    /// Opens one boxed frame (CURVE, after the handshake): the flags inside say whether it
    /// is a command and whether more frames follow; the wire flags do not count.
    fn on_box(
        &mut self,
        boxed: BytesMut,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        let Some(cipher) = self.mechanism.cipher() else {
            return Err(ProtocolError::Security("no cipher"));
        };
        let (flags, body) = cipher.decode(boxed)?;
        if flags & MSG_COMMAND != 0 {
            if flags & MSG_MORE != 0 || !self.partial.is_empty() {
                return Err(ProtocolError::CommandInMessage);
            }
            return self.on_command(body, out, events);
        }
        // The limits were checked on the wire size; the opened size is what counts.
        self.check_data(body.len() as u64, flags & MSG_MORE != 0)?;
        self.on_data(flags & MSG_MORE != 0, Frame::from(body), events);
        Ok(())
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
            // Enough for what has arrived, up to `ARENA_MAX`: memory follows the input, never
            // a length the peer announced, and a queued frame pins at most one such arena.
            self.arena = BytesMut::with_capacity(input.len().min(ARENA_MAX).max(size));
        }
        self.arena.extend_from_slice(&input[..size]);
        input.advance(size);
        self.arena.split().freeze()
    }

    /// Cuts a data frame of `size` bytes off the front of `input`: a short one straight into
    /// an inline [`Frame`] (no allocation, no reference count shared with the application),
    /// a longer one as `take_body` does.
    fn take_frame(&mut self, input: &mut BytesMut, size: usize) -> Frame {
        if size <= Frame::INLINE_CAPACITY {
            let frame = Frame::copy_from_slice(&input[..size]);
            input.advance(size);
            return frame;
        }
        Frame::from(self.take_body(input, size))
    }

    /// Like `take_body`, for a body that is opened in place (a CURVE box).
    fn take_body_mut(&mut self, input: &mut BytesMut, size: usize) -> BytesMut {
        if size >= SMALL_FRAME {
            return input.split_to(size);
        }
        if self.arena.capacity() - self.arena.len() < size {
            self.arena = BytesMut::with_capacity(input.len().max(size));
        }
        self.arena.extend_from_slice(&input[..size]);
        input.advance(size);
        self.arena.split()
    }

    /// Everything that can be decided from a header alone, before its body is awaited.
    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        let size = h.size as u64;
        let handshaking = !self.is_ready();
        if !handshaking && self.mechanism.encrypts() {
            // A box: whether it is a command and whether more follow is inside. Its opened
            // size is at most the wire size less the box overhead, which must fit the limit
            // as a data frame or a command would.
            if size < BOX_OVERHEAD {
                return Err(ProtocolError::Malformed("CURVE MESSAGE (too short)"));
            }
            let opened = size - BOX_OVERHEAD;
            if opened <= COMMAND_MIN_LIMIT && self.partial.is_empty() {
                return Ok(());
            }
            return self.check_data(opened, true);
        }
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
        self.check_data(size, h.more())
    }

    /// The limits on a data frame of `size` bytes joining the incomplete message, with more
    /// frames to come iff `more`.
    fn check_data(&self, size: u64, more: bool) -> Result<(), ProtocolError> {
        // What the message will hold once this frame is in.
        let frames = (self.partial.len() as u64).saturating_add(1);
        let bytes = self.partial_size.saturating_add(size);
        if let Some(limit) = self.config.max_msg_frames {
            if frames > limit {
                return Err(ProtocolError::TooManyFrames { limit });
            }
        }
        check_limit(bytes, self.config.max_msg_size)?;
        if let (true, Some(limit)) = (more, self.config.max_msg_size) {
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

    fn on_data(&mut self, more: bool, body: Frame, events: &mut Vec<Event>) {
        if !more && self.partial.is_empty() {
            events.push(Event::Message(Message::from(body)));
            self.budget = self.budget.saturating_sub(1);
            return;
        }
        self.partial_size = self.partial_size.saturating_add(body.len() as u64);
        self.partial.push(body);
        if !more {
            self.partial_size = 0;
            let frames = std::mem::take(&mut self.partial);
            events.push(Event::Message(Message::from(frames)));
            self.budget = self.budget.saturating_sub(1);
        }
    }

    fn on_command(
        &mut self,
        body: Bytes,
        out: &mut OutBuf,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
        if !self.is_ready() {
            if let Command::Error(reason) = command::parse(body.clone())? {
                return Err(peer_error(reason));
            }
            let progress = self.mechanism.on_command(body, out)?;
            return self.advance(progress, events);
        }
        let cmd = command::parse(body)?;
        match cmd {
            Command::Error(reason) => return Err(peer_error(reason)),
            Command::Ping { ttl, context } => {
                trace!("zmtp: PING ttl={ttl}");
                let pong = command::command_body("PONG", &[&context]);
                self.put_command(&pong, out);
                events.push(Event::Ping(ttl));
            }
            Command::Pong(_) => trace!("zmtp: PONG"),
            Command::Subscribe(topic) => events.push(Event::Subscribe(topic)),
            Command::Cancel(topic) => events.push(Event::Cancel(topic)),
            other => debug!("zmtp: ignoring command {}", command_name(&other)),
        }
        Ok(())
    }

    /// The handshake is complete: checks the peer's metadata and announces it.
    fn on_ready(
        &mut self,
        properties: Properties,
        events: &mut Vec<Event>,
    ) -> Result<(), ProtocolError> {
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
            user_id: None,
            zap_properties: Vec::new(),
        };
        let mut info = info;
        if let Some((user_id, zap_properties)) = self.verdict.take() {
            info.user_id = Some(user_id);
            info.zap_properties = zap_properties;
        }
        debug!("zmtp: handshake complete with {socket_type} peer");
        self.peer = Some(info.clone());
        self.phase = Phase::Ready;
        events.push(Event::Ready(info));
        Ok(())
    }

    /// Encodes one message in clear: MORE on every frame but the last, LONG iff a frame
    /// exceeds 255 bytes. Large frames are queued without copying. A message with no frames
    /// writes nothing. This is the whole encoding under NULL and PLAIN; it needs no
    /// connection state, so the direct write path uses it too.
    pub fn encode_plain_message(msg: &Message, out: &mut OutBuf) {
        let last = msg.len().saturating_sub(1);
        for (i, f) in msg.iter().enumerate() {
            let flags = if i < last { FLAG_MORE } else { 0 };
            frame::encode_frame(flags, f, out);
        }
    }

    /// Encodes one message for this connection: in clear, or boxed frame by frame under
    /// CURVE. Call it only once the connection is ready.
    pub fn encode_message(&mut self, msg: &Message, out: &mut OutBuf) {
        let Some(cipher) = self.mechanism.cipher() else {
            Connection::encode_plain_message(msg, out);
            return;
        };
        let last = msg.len().saturating_sub(1);
        for (i, f) in msg.iter().enumerate() {
            let flags = if i < last { MSG_MORE } else { 0 };
            cipher.encode(flags, f, out);
        }
    }

    /// Writes one command frame whose body (name length, name, data) is `body`: in clear,
    /// or boxed under CURVE (as libzmq does, with the COMMAND flag inside the box).
    fn put_command(&mut self, body: &[u8], out: &mut OutBuf) {
        let ready = self.is_ready();
        match self.mechanism.cipher() {
            Some(cipher) if ready => cipher.encode(MSG_COMMAND, body, out),
            _ => {
                frame::encode_header(FLAG_COMMAND, body.len(), out);
                out.put_slice(body);
            }
        }
    }

    /// Encodes a subscription (`subscribe`) or its cancellation: a SUBSCRIBE/CANCEL command
    /// to a ZMTP 3.1 peer, a one-frame message `0x01`+topic / `0x00`+topic to a 3.0 peer
    /// (or to a peer whose version is not known yet). Call it only once the connection is
    /// ready, so that it follows our READY.
    pub fn encode_subscription(&mut self, topic: &[u8], subscribe: bool, out: &mut OutBuf) {
        if self.peer_minor.unwrap_or(0) >= 1 {
            let name = if subscribe { "SUBSCRIBE" } else { "CANCEL" };
            self.put_command(&command::command_body(name, &[topic]), out);
        } else {
            let mut body = Vec::with_capacity(1 + topic.len());
            body.push(u8::from(subscribe));
            body.extend_from_slice(topic);
            match self.mechanism.cipher() {
                Some(cipher) => cipher.encode(0, &body, out),
                None => {
                    frame::encode_header(0, body.len(), out);
                    out.put_slice(&body);
                }
            }
        }
    }

    /// Encodes a PING with a TTL in tenths of a second and a context (cut to 16 bytes), for
    /// heartbeating. Call it only once the connection is ready.
    pub fn encode_ping(&mut self, ttl_deciseconds: u16, context: &[u8], out: &mut OutBuf) {
        let context = &context[..context.len().min(command::MAX_PING_CONTEXT)];
        let body = command::command_body("PING", &[&ttl_deciseconds.to_be_bytes(), context]);
        self.put_command(&body, out);
    }
}

/// The error for a peer's ERROR command: a refusal when its reason is a ZAP status code
/// (libzmq sends "400" or "500"), a plain peer error otherwise.
fn peer_error(reason: String) -> ProtocolError {
    match reason.parse::<u16>() {
        Ok(status @ 300..=599) if reason.len() == 3 => ProtocolError::AuthFailed { status },
        _ => ProtocolError::PeerError(reason),
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

#[cfg(test)]
#[path = "connection_limits_tests.rs"]
mod limits_tests;
