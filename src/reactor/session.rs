//! A session: one peer connection on an I/O thread, joined to its socket by a pipe pair.
//! This file holds its life cycle; `connect` holds connecting and reconnecting, `traffic`
//! the reads and writes, `ending` closing and losing the connection, `auth` ZAP and
//! metadata, `wire` the byte-level helpers.
//!
//! A connecting session owns its pipe from the start and keeps it across reconnects, so
//! messages sent while the peer is away wait in the pipe (up to the high-water mark). An
//! accepted session gets its pipe when the handshake completes and ends with its connection.
//!
//! What must hold:
//! - Bytes in are decoded in full on every read, and every decoded message goes to the
//!   socket in one batch; reading pauses while the socket's inbound pipe is at its mark.
//! - Bytes out are encoded in batches of up to `OUT_BATCH` and written with one vectored
//!   write per batch until the kernel says WouldBlock.
//! - No message is taken from the pipe before the handshake completes, so a message is
//!   either still queued or was handed to the kernel whole.
//! - A protocol error closes this connection only, with the reason logged and raised as a
//!   monitor event.
//! - Output the peer makes us produce (PONGs, ERROR) is bounded: reading stops while the
//!   output buffer is over its allowance, and resumes once the peer has taken it.
//! - A dead peer is found: with heartbeats on, silence after a PING closes the connection
//!   (see `heartbeat`), and a connect attempt is bounded by the connect timeout.
//! - A server's handshake that needs a ZAP decision waits for it without blocking the
//!   thread: at once from the context's authenticator, or from the handler's reply, which
//!   wakes this session through its pipe. Meanwhile the peer's input stays unread, and the
//!   handshake timer still runs.
//! - Closing never resets a connection the peer still sends on: after the last byte the
//!   session shuts its side and reads (dropping) until the peer's FIN or a short deadline.
//! - Every message from an authenticated connection carries its metadata (one shared
//!   `Metadata`); plain NULL links carry none, keeping their fast path free of a
//!   reference count per message.

mod auth;
mod connect;
mod ending;
mod traffic;
mod wire;

use super::heartbeat::{Beat, Heartbeat};
use super::{ReactorShared, SessionConfig};
use crate::mailbox::Notifier;
use crate::metadata::Metadata;
use crate::monitor::EventKind;
use crate::pipe::{link_with, DirectHandle, Pipe};
use crate::socket::{PeerMeta, SocketCommand, SocketLink};
use crate::transport::{self, ConnectTarget, Stream};
use crate::zap::Call;
use crate::zmtp::{Config, Connection, Event, OutBuf, PeerInfo, Security, Verdict};
use crate::{Message, ProtocolError, SocketType};
use bytes::{BufMut, Bytes, BytesMut};
use mio::{Interest, Registry, Token};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::DirectWriter;

/// Bytes requested from the kernel per read.
const READ_CHUNK: usize = 64 * 1024;
/// The largest read, while a large frame arrives.
const MAX_READ: usize = 1024 * 1024;
/// Room granted at once for the rest of a large frame, whatever has arrived of it (the
/// most one read may take anyway); beyond this, room grows with the bytes that did arrive
/// (see `read_input`).
const FRAME_GRANT: usize = MAX_READ;
/// Encoded bytes gathered before a write.
const OUT_BATCH: usize = 256 * 1024;
/// Slices per vectored write.
const MAX_SLICES: usize = 64;
/// Output a peer can make us produce (PONGs, ERROR) on top of what the socket queued,
/// before we stop reading from it until it takes what we wrote.
const REPLY_ROOM: usize = 64 * 1024;

/// Why a connection is being dropped.
#[derive(Debug)]
pub(super) enum Cause {
    /// The peer broke the protocol.
    Protocol(String),
    /// Authentication refused the peer (ZAP status), or the peer refused us.
    Auth { status: u16, reason: String },
    /// Anything else: the peer closed, an I/O error, a timeout.
    Other(String),
}

impl Cause {
    fn reason(&self) -> &str {
        match self {
            Cause::Protocol(r) | Cause::Other(r) | Cause::Auth { reason: r, .. } => r,
        }
    }
}

/// What a session needs from its I/O thread while it runs.
pub(super) struct Cx<'a> {
    pub(super) registry: &'a Registry,
    pub(super) reactor: &'a Arc<ReactorShared>,
    pub(super) now: Instant,
}

/// What a readiness event said about a session's stream.
#[derive(Debug, Clone, Copy)]
pub(super) struct Readiness {
    pub(super) readable: bool,
    pub(super) writable: bool,
    /// The peer closed its side (or the stream failed): read on to the end.
    pub(super) read_closed: bool,
}

/// Whether the session goes on.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Status {
    Continue,
    Done,
}

enum Origin {
    Connect(ConnectTarget),
    Accepted(Option<Stream>),
}

struct Conn {
    stream: Stream,
    /// `None` while a non-blocking connect is in progress.
    zmtp: Option<Connection>,
    rbuf: BytesMut,
    out: OutBuf,
    readable: bool,
    writable: bool,
    /// The peer's FIN (or an error) was reported: reads go on until they return 0, even
    /// after a short one, because no further readiness edge will come.
    read_closed: bool,
    /// A write failed (the peer is gone or reset us): nothing more is written, but what the
    /// peer sent before it went is still read and delivered, as libzmq does, and the
    /// connection ends once the input is exhausted.
    write_error: Option<String>,
    /// Bytes to ask for in the next read (see `read_input`).
    read_size: usize,
    /// The last read was planned to finish a large frame (see `wire::read_plan`).
    after_large: bool,
    /// The direct-path state shared with the socket's writer, once offered.
    direct: Option<DirectHandle>,
    peer: String,
    /// The peer's IP address (tcp), or empty: what ZAP is told.
    address: String,
}

pub(super) struct Session {
    key: usize,
    pub(super) socket: Arc<SocketLink>,
    config: Arc<SessionConfig>,
    pub(super) endpoint: u64,
    origin: Origin,
    pipe: Option<Pipe>,
    /// Whether `pipe` outlives connections (made at connect time), or is made per handshake.
    pipe_persists: bool,
    /// How many handshakes completed.
    handshakes: u64,
    conn: Option<Conn>,
    reconnect_at: Option<Instant>,
    backoff: Duration,
    handshake_deadline: Option<Instant>,
    /// Set once the socket closed: `Some(None)` lingers forever, `Some(Some(t))` until `t`.
    closing: Option<Option<Instant>>,
    /// The timer the reactor holds for this session (managed by the reactor).
    pub(super) scheduled: Option<Instant>,
    read_paused: bool,
    /// The last decode stopped at the inbound pipe's room with input left in the read
    /// buffer: decode that before reading more.
    undecoded: bool,
    /// Reading stopped because the output buffer is over its allowance.
    read_held: bool,
    /// The output that came from the socket at the last pull (see `output_allowance`).
    data_out: usize,
    heartbeat: Heartbeat,
    /// When the pending connect attempt is abandoned.
    connect_deadline: Option<Instant>,
    events: Vec<Event>,
    inbound: Vec<Message>,
    seed: u64,
    /// A ZAP decision to apply to the handshake (given at once, or just replied).
    verdict: Option<Verdict>,
    /// A request to the ZAP handler, awaiting its reply.
    zap_call: Option<Call>,
    /// The connection's metadata, attached to every message from it.
    meta: Option<Arc<Metadata>>,
    /// Everything queued went out and our side of the connection is shut (FIN sent): the
    /// session reads and discards until the peer closes too, or until this time, so that
    /// closing never resets a connection whose peer is still sending (a reset would destroy
    /// what our kernel has not yet transmitted). See `half_close`.
    half_closed: Option<Instant>,
    /// The peer closed its side while we were half-closed.
    eof: bool,
}

impl Session {
    fn new(
        key: usize,
        socket: Arc<SocketLink>,
        config: Arc<SessionConfig>,
        endpoint: u64,
        origin: Origin,
    ) -> Session {
        let backoff = config.options.reconnect_ivl;
        let options = &config.options;
        let heartbeat = Heartbeat::new(
            options.heartbeat_ivl,
            options.heartbeat_timeout,
            options.heartbeat_ttl,
        );
        Session {
            key,
            socket,
            config,
            endpoint,
            origin,
            pipe: None,
            pipe_persists: false,
            handshakes: 0,
            conn: None,
            reconnect_at: None,
            backoff,
            handshake_deadline: None,
            closing: None,
            scheduled: None,
            read_paused: false,
            undecoded: false,
            read_held: false,
            data_out: 0,
            heartbeat,
            connect_deadline: None,
            events: Vec::new(),
            inbound: Vec::new(),
            seed: (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            verdict: None,
            zap_call: None,
            meta: None,
            half_closed: None,
            eof: false,
        }
    }

    /// A session that connects to `target`, carrying `pipe` (its ends) across reconnects,
    /// or making a new link at each handshake if `pipe` is `None`.
    pub(super) fn connect(
        key: usize,
        target: ConnectTarget,
        pipe: Option<Pipe>,
        socket: Arc<SocketLink>,
        config: Arc<SessionConfig>,
        endpoint: u64,
    ) -> Session {
        let mut s = Session::new(key, socket, config, endpoint, Origin::Connect(target));
        s.pipe_persists = pipe.is_some();
        s.pipe = pipe;
        s
    }

    /// A session for a connection a listener accepted.
    pub(super) fn accepted(
        key: usize,
        stream: Stream,
        socket: Arc<SocketLink>,
        config: Arc<SessionConfig>,
        endpoint: u64,
    ) -> Session {
        Session::new(
            key,
            socket,
            config,
            endpoint,
            Origin::Accepted(Some(stream)),
        )
    }

    /// Whether this is a request/reply session (REQ, REP), whose next message usually
    /// follows within a round trip (see `HOT_POLL`).
    pub(super) fn replies(&self) -> bool {
        matches!(self.config.socket_type, SocketType::Req | SocketType::Rep)
    }

    /// Whether the connection was accepted (rather than made by connect).
    pub(super) fn is_accepted(&self) -> bool {
        matches!(self.origin, Origin::Accepted(_))
    }

    /// Whether the socket has closed and the session is lingering.
    pub(super) fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    /// The earliest time the session wants `on_timer`.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        [
            self.reconnect_at,
            self.handshake_deadline,
            self.connect_deadline,
            self.closing.flatten(),
            self.half_closed,
            self.heartbeat.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// First step: connect, or start the handshake on an accepted stream.
    pub(super) fn start(&mut self, cx: &mut Cx<'_>) -> Status {
        match &mut self.origin {
            Origin::Connect(_) => self.try_connect(cx),
            Origin::Accepted(stream) => {
                let Some(stream) = stream.take() else {
                    return Status::Done;
                };
                if !self.install(cx, stream) {
                    return Status::Done;
                }
                self.begin_handshake(cx);
                self.drive(cx)
            }
        }
    }

    /// The stream reported readiness.
    pub(super) fn on_io(&mut self, cx: &mut Cx<'_>, ready: Readiness) -> Status {
        let Some(conn) = &mut self.conn else {
            return Status::Continue;
        };
        conn.readable |= ready.readable;
        conn.writable |= ready.writable;
        conn.read_closed |= ready.read_closed;
        if conn.zmtp.is_none() {
            match conn.stream.finish_connect() {
                Ok(true) => {
                    self.connect_deadline = None;
                    self.begin_handshake(cx);
                    self.raise(EventKind::Connected);
                }
                Ok(false) => return Status::Continue,
                Err(e) => return self.lost(cx, Cause::Other(format!("connect failed: {e}"))),
            }
        }
        self.drive(cx)
    }

    /// A pipe changed: the socket queued messages, made room, or let go of the pipe; or the
    /// ZAP handler replied.
    pub(super) fn on_pipe(&mut self, cx: &mut Cx<'_>) -> Status {
        if let Some(verdict) = self.zap_call.as_mut().and_then(Call::poll) {
            self.zap_call = None;
            self.verdict = Some(verdict);
            if let Err(cause) = self.decode(cx) {
                return self.lost(cx, cause);
            }
        }
        if self.read_paused {
            if let Some(pipe) = &mut self.pipe {
                self.read_paused = !pipe.writer.has_room();
            }
        }
        self.drive(cx)
    }

    /// A deadline passed.
    pub(super) fn on_timer(&mut self, cx: &mut Cx<'_>) -> Status {
        let now = cx.now;
        if self.closing.flatten().is_some_and(|t| t <= now) {
            log::debug!("linger expired, dropping what is still queued");
            return Status::Done;
        }
        if self.half_closed.is_some_and(|t| t <= now) {
            log::debug!("the peer did not close after our FIN; closing anyway");
            return Status::Done;
        }
        if self.handshake_deadline.is_some_and(|t| t <= now) {
            self.handshake_deadline = None;
            return self.lost(cx, Cause::Other("handshake timed out".to_owned()));
        }
        if self.connect_deadline.is_some_and(|t| t <= now) {
            self.connect_deadline = None;
            return self.lost(cx, Cause::Other("connect timed out".to_owned()));
        }
        match self.heartbeat.on_timer(now) {
            Beat::Idle => {}
            Beat::SendPing(_) if self.half_closed.is_some() => {}
            Beat::SendPing(ttl) => {
                if let Some(conn) = &mut self.conn {
                    log::trace!("connection to {}: heartbeat PING", conn.peer);
                    if let Some(zmtp) = &mut conn.zmtp {
                        zmtp.encode_ping(ttl, &[], &mut conn.out);
                    }
                }
                return self.drive(cx);
            }
            Beat::Dead(reason) => return self.lost(cx, Cause::Other(reason)),
        }
        if self.reconnect_at.is_some_and(|t| t <= now) {
            self.reconnect_at = None;
            return self.try_connect(cx);
        }
        Status::Continue
    }

    /// Watches `stream`; false if the poller refused it.
    fn install(&mut self, cx: &mut Cx<'_>, mut stream: Stream) -> bool {
        if let Err(e) = cx.registry.register(
            &mut stream,
            Token(self.key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("cannot watch a connection: {e}");
            return false;
        }
        transport::set_keepalive(&stream, &self.config.options);
        let peer = stream.peer_description();
        self.conn = Some(Conn {
            stream,
            zmtp: None,
            rbuf: BytesMut::new(),
            out: OutBuf::new(),
            readable: false,
            writable: false,
            read_closed: false,
            write_error: None,
            read_size: READ_CHUNK,
            after_large: false,
            direct: None,
            peer,
            address: String::new(),
        });
        true
    }

    fn begin_handshake(&mut self, cx: &mut Cx<'_>) {
        let Some(conn) = &mut self.conn else {
            return;
        };
        let options = &self.config.options;
        let config = Config {
            security: self.config.security.clone(),
            authenticate_null: options.security.authenticate_null(),
            socket_type: self.config.socket_type,
            routing_id: options.routing_id.clone(),
            max_msg_size: options.max_msg_size,
            max_msg_frames: options.max_msg_frames,
        };
        conn.zmtp = Some(Connection::new(config, &mut conn.out));
        // Known now for a connect that was pending at `install`.
        conn.peer = conn.stream.peer_description();
        conn.address = conn
            .stream
            .peer_ip()
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        // Data may already be waiting, and an edge may have passed: try both directions.
        conn.readable = true;
        conn.writable = true;
        self.handshake_deadline = options.handshake_ivl.map(|d| cx.now + d);
        log::debug!("connection to {}: handshake started", conn.peer);
    }

    /// Moves data both ways as far as it can, then decides whether the session is over.
    fn drive(&mut self, cx: &mut Cx<'_>) -> Status {
        loop {
            if let Err(cause) = self.read_input(cx) {
                return self.lost(cx, cause);
            }
            if let Err(e) = self.write_output() {
                self.write_failed(e);
                continue; // Read what the peer sent before it went.
            }
            // Reading waited for the output to drain; if it has, read on.
            if !self.read_held || self.output_over_allowance() {
                break;
            }
            self.read_held = false;
        }
        if !self.finished() {
            return Status::Continue;
        }
        if self.half_closed.is_none() {
            if !self.half_close(cx) {
                return Status::Done;
            }
            // The peer's FIN may be in already, and no new readiness edge would say so.
            if let Err(cause) = self.read_input(cx) {
                return self.lost(cx, cause);
            }
        }
        if self.eof {
            Status::Done
        } else {
            Status::Continue
        }
    }

    /// Decodes everything buffered and hands the messages to the socket in one batch. A
    /// ZAP decision that is ready is applied first, and then the input it held is decoded.
    fn decode(&mut self, cx: &mut Cx<'_>) -> Result<(), Cause> {
        loop {
            let Some(conn) = &mut self.conn else {
                return Ok(());
            };
            let Some(zmtp) = &mut conn.zmtp else {
                return Ok(());
            };
            let verdict = self.verdict.take();
            let was_verdict = verdict.is_some();
            // Decode no more messages than the inbound pipe has room for: the rest waits in
            // the read buffer, and reading resumes when the socket has made room.
            let room = self.pipe.as_mut().map_or(usize::MAX, |p| p.writer.room());
            let result = match verdict {
                Some(verdict) => zmtp.on_verdict(&verdict, &mut conn.out, &mut self.events),
                None => {
                    zmtp.handle_input_up_to(&mut conn.rbuf, &mut conn.out, &mut self.events, room)
                }
            };
            self.undecoded = zmtp.at_budget() && !conn.rbuf.is_empty();
            self.absorb(cx, result)?;
            // After a verdict, the input it held is decoded; after input, a verdict given at
            // once (by the authenticator, or for want of a handler) is applied.
            if !was_verdict && self.verdict.is_none() {
                return Ok(());
            }
        }
    }

    /// Acts on what one codec call produced: its events, its messages, its error.
    fn absorb(&mut self, cx: &mut Cx<'_>, result: Result<(), ProtocolError>) -> Result<(), Cause> {
        let peer = self
            .conn
            .as_ref()
            .map(|c| c.peer.clone())
            .unwrap_or_default();
        let mut events = std::mem::take(&mut self.events);
        for event in events.drain(..) {
            match event {
                Event::Ready(info) => {
                    log::debug!("connection to {peer}: ready, peer is {}", info.socket_type);
                    self.handshake_ready(cx, &info);
                }
                Event::Message(mut msg) => {
                    msg.set_metadata(self.meta.clone());
                    self.inbound.push(msg);
                }
                Event::Subscribe(topic) => self.subscription(true, &topic),
                Event::Cancel(topic) => self.subscription(false, &topic),
                Event::Ping(ttl) => self.heartbeat.peer_ping(cx.now, ttl),
                Event::Authenticate(credentials) => self.authenticate(cx, &credentials),
            }
        }
        self.events = events;
        self.deliver();
        if let Err(e) = result {
            log::warn!("connection to {peer}: {e}");
            // One attempt to tell the peer why (an ERROR command may be queued).
            let _ = self.write_output();
            return Err(match e {
                ProtocolError::AuthFailed { status } => Cause::Auth {
                    status,
                    reason: e.to_string(),
                },
                e => Cause::Protocol(format!("protocol error: {e}")),
            });
        }
        Ok(())
    }

    fn handshake_ready(&mut self, cx: &mut Cx<'_>, info: &PeerInfo) {
        // Only authenticated connections (PLAIN, CURVE, or NULL with ZAP) carry metadata: a
        // reference count per message costs 6-10 % of the small-message throughput of a
        // plain NULL link (measured with local_thr/remote_thr, tcp 1 B and 64 B), and the
        // crypto of a secure link dwarfs it.
        let authenticated =
            !matches!(self.config.security, Security::Null) || info.user_id.is_some();
        self.meta = authenticated.then(|| Arc::new(self.metadata(info)));
        self.handshake_deadline = None;
        self.heartbeat.start(cx.now);
        self.raise(EventKind::HandshakeSucceeded);
        self.backoff = self.config.options.reconnect_ivl;
        self.handshakes += 1;
        match &self.pipe {
            None => {
                let options = &self.config.options;
                let (ours, theirs) = link_with(
                    Notifier::Reactor(cx.reactor.clone(), self.key),
                    Notifier::Socket(self.socket.mailbox.clone()),
                    options.rcvhwm,
                    options.sndhwm,
                    options.conflate && self.config.socket_type.conflates(),
                );
                let routing_id = self
                    .config
                    .connect_routing_id
                    .clone()
                    .unwrap_or_else(|| info.routing_id.clone());
                self.pipe = Some(ours);
                self.socket.mailbox.post(SocketCommand::Attach(
                    theirs,
                    PeerMeta {
                        routing_id,
                        endpoint: self.config.endpoint.clone(),
                    },
                ));
            }
            Some(pipe) if self.handshakes > 1 => {
                self.socket
                    .mailbox
                    .post(SocketCommand::Reconnected(pipe.id()));
            }
            Some(_) => {}
        }
        self.note_reached();
        self.offer_direct();
    }

    /// Tells the socket's accounting that the link is up, to whom, and whether again.
    fn note_reached(&mut self) {
        let (Some(conn), Some(pipe)) = (&self.conn, &self.pipe) else {
            return;
        };
        let facts = pipe.reader.link_facts();
        let _ = facts.endpoint.set(self.config.endpoint.clone());
        *facts.address.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn.peer.clone());
        if facts
            .reached
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            crate::pipe::bump(&facts.reconnects, 1);
        }
    }

    /// Lets the socket write straight to this connection while the session is idle (see
    /// `pipe::direct`). Not for subscribers, whose subscriptions need per-peer encoding.
    /// Only over tcp, for now: measured with local_lat/remote_lat in two processes, the
    /// one-way tcp latency fell from ~9.5 to ~3.5 us, while ipc did not change (8.7 vs
    /// 8.8 us) and got slower in one process, where both ends share an I/O thread.
    fn offer_direct(&mut self) {
        if matches!(self.config.socket_type, SocketType::Sub | SocketType::XSub) {
            return;
        }
        let (Some(conn), Some(pipe)) = (&mut self.conn, &mut self.pipe) else {
            return;
        };
        if !matches!(conn.stream, Stream::Tcp(_))
            || conn.zmtp.as_ref().is_some_and(Connection::encrypts)
        {
            return;
        }
        let handle = conn.stream.write_handle();
        pipe.reader
            .set_direct(Some(Box::new(DirectWriter::new(handle))));
        conn.direct = Some(pipe.reader.direct_handle());
    }

    /// Withdraws the direct path (the connection is going away).
    fn withdraw_direct(&mut self) {
        if let (Some(conn), Some(pipe)) = (&mut self.conn, &mut self.pipe) {
            if conn.direct.take().is_some() {
                pipe.reader.set_direct(None);
            }
        }
    }

    /// A SUBSCRIBE or CANCEL command: publishers get it as a `0x01`/`0x00` message, like
    /// the ZMTP 3.0 form; other socket types have no use for it.
    fn subscription(&mut self, subscribe: bool, topic: &Bytes) {
        if matches!(self.config.socket_type, SocketType::Pub | SocketType::XPub) {
            let mut body = BytesMut::with_capacity(topic.len() + 1);
            body.put_u8(u8::from(subscribe));
            body.put_slice(topic);
            self.inbound.push(Message::from(body.freeze()));
        }
    }

    fn deliver(&mut self) {
        if self.inbound.is_empty() {
            return;
        }
        let Some(pipe) = &mut self.pipe else {
            self.inbound.clear();
            return;
        };
        if self.closing.is_some() {
            self.inbound.clear();
            return;
        }
        match pipe.writer.write_all(&mut self.inbound) {
            Ok(full) => self.read_paused = full,
            Err(_) => self.inbound.clear(), // The socket no longer reads: drop.
        }
    }

    /// Raises a monitor event about this session's endpoint and peer (once connected).
    fn raise(&self, kind: EventKind) {
        let peer = self
            .conn
            .as_ref()
            .filter(|c| c.zmtp.is_some())
            .map(|c| c.peer.as_str());
        self.socket
            .monitors
            .raise(kind, &self.config.endpoint, peer);
    }
}
