//! The internal contract between the generic socket and one socket type.
//!
//! A pattern owns the pipe ends of its peers and decides where a message goes and which
//! message comes next. It never blocks and never touches a thread: when it cannot act now
//! it says `WouldBlock`, and the socket waits for a notification and asks again.
//!
//! Subscriptions travel through pipes as ordinary one-frame messages, `0x01` + topic to
//! subscribe and `0x00` + topic to cancel, whatever the peer's ZMTP version: the session
//! converts them to and from SUBSCRIBE/CANCEL commands on the wire.

use crate::pipe::{Alarm, Pipe, PipeId};
use crate::{Error, Message, Result, SendError, SocketType};
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// What is known of the peer at the other end of a new link.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerMeta {
    /// The routing id to use for this peer: the `connect_routing_id` set before connect,
    /// else the peer's announced `Identity`, else empty (ROUTER then generates one).
    pub(crate) routing_id: Bytes,
    /// The endpoint the link belongs to (as connected or bound), for `Socket::stats`.
    pub(crate) endpoint: String,
}

/// Options that only some socket types understand.
#[derive(Clone, Debug)]
pub(crate) enum TypeOption {
    /// SUB/XSUB (and XPUB in manual mode): add a subscription.
    Subscribe(Bytes),
    /// SUB/XSUB (and XPUB in manual mode): drop a subscription.
    Unsubscribe(Bytes),
    /// REQ: allow a new request before the reply arrived.
    ReqRelaxed(bool),
    /// REQ: tag requests with an id and accept only the matching reply.
    ReqCorrelate(bool),
    /// ROUTER: an unroutable message is an error instead of being dropped.
    RouterMandatory(bool),
    /// ROUTER: a new peer with a routing id already in use takes it over.
    RouterHandover(bool),
    /// ROUTER/DEALER/REQ: send an empty message to each new peer on connection.
    ProbeRouter(bool),
    /// XPUB: pass every subscription up, not only new ones.
    XpubVerbose(bool),
    /// XPUB: pass every subscription and cancel up.
    XpubVerboser(bool),
    /// XPUB: the application decides the subscriptions (with Subscribe/Unsubscribe).
    XpubManual(bool),
}

/// One socket type's rules.
pub(crate) trait Pattern: Send + fmt::Debug {
    /// A new peer link. The pattern may refuse it by dropping it (PAIR with a peer already).
    fn attach(&mut self, pipe: Pipe, peer: PeerMeta);
    /// Drops link `id` (disconnect, or the peer is gone).
    fn detach(&mut self, id: PipeId);
    /// Link `id` may have become readable, writable or closed.
    fn activated(&mut self, id: PipeId);
    /// Link `id` (made by connect) reconnected to a possibly new peer process, whose state
    /// must be rebuilt (XSUB resends its subscriptions). Most types ignore it.
    fn reconnected(&mut self, _id: PipeId) {}
    /// Sends now, or fails with `WouldBlock` (retryable) or another error.
    fn send(&mut self, msg: Message) -> Result<(), SendError>;
    /// Receives now, or fails with `WouldBlock` (retryable) or another error.
    fn recv(&mut self) -> Result<Message>;
    /// Whether `send` could succeed now (for polling).
    fn can_send(&mut self) -> bool;
    /// Whether `recv` could succeed now (for polling).
    fn can_recv(&mut self) -> bool;
    /// PUB/XPUB: how many attached peers hold a subscription matching `prefix` (a message
    /// whose first frame is `prefix` would go to them). `None` for the other types.
    fn subscribers(&mut self, _prefix: &[u8]) -> Option<usize> {
        None
    }
    /// SUB/XSUB: whether at least one link is open and every open link's other end has
    /// taken all this socket wrote to it (its subscriptions). When not, the links still
    /// holding messages notify once drained. `None` for the other types.
    fn subscriptions_taken(&mut self) -> Option<bool> {
        None
    }
    /// Hands the pattern the socket's alarm, for drops it makes without a peer (ROUTER's
    /// unroutable messages). Most types ignore it.
    fn set_alarm(&mut self, _alarm: Arc<dyn Alarm>) {}
    /// Messages dropped because no peer had their routing id (ROUTER).
    fn unroutable(&self) -> u64 {
        0
    }
    /// Applies a type-specific option.
    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        Err(unsupported_option(&option, socket_type))
    }
}

/// The error for an option this socket type does not have.
pub(crate) fn unsupported_option(option: &TypeOption, socket_type: SocketType) -> Error {
    let op = match option {
        TypeOption::Subscribe(_) => "subscribe",
        TypeOption::Unsubscribe(_) => "unsubscribe",
        TypeOption::ReqRelaxed(_) => "the req_relaxed option",
        TypeOption::ReqCorrelate(_) => "the req_correlate option",
        TypeOption::RouterMandatory(_) => "the router_mandatory option",
        TypeOption::RouterHandover(_) => "the router_handover option",
        TypeOption::ProbeRouter(_) => "the probe_router option",
        TypeOption::XpubVerbose(_) => "the xpub_verbose option",
        TypeOption::XpubVerboser(_) => "the xpub_verboser option",
        TypeOption::XpubManual(_) => "the xpub_manual option",
    };
    not_supported(op, socket_type)
}

/// The "cannot do that" error for `op` on `socket_type`.
pub(crate) fn not_supported(op: &'static str, socket_type: SocketType) -> Error {
    Error::NotSupported { op, socket_type }
}

/// The retryable send refusal.
pub(crate) fn would_block(message: Message) -> SendError {
    SendError {
        error: Error::WouldBlock,
        message,
    }
}

/// Pipe ends a pattern keeps alive without using them (a PUSH's inbound ends, a PULL's
/// outbound ends): dropping one would tell the peer's session that the socket left.
#[derive(Debug)]
pub(crate) struct Parked<T> {
    items: Vec<(PipeId, T)>,
}

impl<T> Default for Parked<T> {
    fn default() -> Self {
        Parked { items: Vec::new() }
    }
}

impl<T> Parked<T> {
    /// Keeps `item` for link `id`.
    pub(crate) fn park(&mut self, id: PipeId, item: T) {
        self.items.push((id, item));
    }

    /// Drops what is kept for link `id`.
    pub(crate) fn remove(&mut self, id: PipeId) {
        self.items.retain(|(i, _)| *i != id);
    }
}
