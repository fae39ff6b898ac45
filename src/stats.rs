//! Delivery accounting as the application sees it: per-peer counters
//! ([`Socket::stats`](crate::Socket::stats)), what a flush left pending
//! ([`Socket::flush`](crate::Socket::flush)) and what closing did
//! ([`Socket::close_with`](crate::Socket::close_with)).
//!
//! What must hold: these are plain snapshots, built off the message path from counters that
//! each have one writing thread; taking one never slows a send or a receive. Every struct is
//! `#[non_exhaustive]`, so counters can be added without breaking callers.

use bytes::Bytes;

/// Why messages were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// A peer's queue was at its high-water mark and the socket type drops rather than
    /// waits (a PUB's slow subscriber, a ROUTER's full peer).
    HighWaterMark,
    /// A ROUTER had no peer with the message's routing id.
    Unroutable,
    /// A conflating socket replaced an unsent message with a newer one.
    Conflated,
}

impl DropReason {
    /// A short lower-case name: `hwm`, `unroutable`, `conflated`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::DropReason::Unroutable.name(), "unroutable");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            DropReason::HighWaterMark => "hwm",
            DropReason::Unroutable => "unroutable",
            DropReason::Conflated => "conflated",
        }
    }
}

/// Failed handshakes, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandshakeFailures {
    /// The peer broke the protocol (a bad greeting, a malformed command, a mechanism
    /// mismatch).
    pub protocol: u64,
    /// Authentication refused the peer, or the peer refused us.
    pub auth: u64,
    /// Anything else: the peer went away or the handshake timed out.
    pub other: u64,
}

impl HandshakeFailures {
    /// All of them.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::HandshakeFailures::default().total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        self.protocol + self.auth + self.other
    }
}

/// One peer's counters, from [`Socket::stats`](crate::Socket::stats).
///
/// Messages and bytes count whole messages and their payload (frames' bytes, without
/// ZMTP framing), as the application sent or received them. A peer made by `connect` keeps
/// its counters across reconnects; a peer that came through `bind` is a new peer each time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerStats {
    /// The endpoint this peer belongs to: the one connected to, or the one bound.
    pub endpoint: String,
    /// The peer's address while a connection is up (`127.0.0.1:40000`, an ipc path).
    pub address: Option<String>,
    /// The routing id this socket uses for the peer (empty where the type uses none).
    pub routing_id: Bytes,
    /// Messages received from the peer (taken by the application).
    pub msgs_in: u64,
    /// Their payload bytes.
    pub bytes_in: u64,
    /// Messages sent to the peer (accepted by the socket for it).
    pub msgs_out: u64,
    /// Their payload bytes.
    pub bytes_out: u64,
    /// Messages sent to the peer and not yet handed to the kernel (tcp, ipc) or to the
    /// peer's queue (inproc): what a [`Socket::flush`](crate::Socket::flush) waits for.
    pub queued: u64,
    /// Messages received from the peer and not yet taken by the application: at most the
    /// receive high-water mark (plus one), since a session decodes no more than that.
    pub queued_in: u64,
    /// Times a send found the peer's queue at its high-water mark.
    pub hwm_hits: u64,
    /// Messages for this peer dropped by policy (see [`DropReason`]).
    pub dropped: u64,
    /// Whether a handshake with the peer ever completed (always true for inproc).
    pub reached: bool,
    /// Connections re-established after the first.
    pub reconnects: u64,
    /// Failed handshakes with this endpoint (peers made by `connect`).
    pub handshake_failures: HandshakeFailures,
}

/// A socket's counters, from [`Socket::stats`](crate::Socket::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketStats {
    /// Each attached peer.
    pub peers: Vec<PeerStats>,
    /// Messages a ROUTER dropped because no peer had their routing id.
    pub unroutable: u64,
    /// Messages dropped by policy for peers that have since gone, so that totals over
    /// `peers` plus this one never go down.
    pub dropped_departed: u64,
    /// Failed handshakes on every endpoint of the socket, bound or connected.
    pub handshake_failures: HandshakeFailures,
}

impl SocketStats {
    /// Messages dropped by policy, over every peer (past and present) and unroutable ones.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::SocketStats::default().dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.peers.iter().map(|p| p.dropped).sum::<u64>() + self.unroutable + self.dropped_departed
    }
}

/// A peer still holding messages when a flush ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingPeer {
    /// The endpoint the peer belongs to.
    pub endpoint: String,
    /// The peer's address, while connected.
    pub address: Option<String>,
    /// The peer's routing id (empty where the type uses none).
    pub routing_id: Bytes,
    /// Messages not yet handed to the kernel.
    pub pending: u64,
    /// Whether a handshake with the peer ever completed.
    pub reached: bool,
}

/// What [`Socket::flush`](crate::Socket::flush) achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushReport {
    /// Messages that were pending when the flush began and were handed over during it.
    pub flushed: u64,
    /// The peers still holding messages when it returned: empty when everything went out.
    pub pending: Vec<PendingPeer>,
}

impl FlushReport {
    /// Whether every message queued before the flush was handed over.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ferrozmq::FlushReport::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.pending.is_empty()
    }

    /// Messages still pending, over every peer.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::FlushReport::default().pending_total(), 0);
    /// ```
    pub fn pending_total(&self) -> u64 {
        self.pending.iter().map(|p| p.pending).sum()
    }
}

/// What closing a socket did with the messages it still held, from
/// [`Socket::close_with`](crate::Socket::close_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReport {
    /// Messages handed to the kernel (or to an inproc peer) during the linger.
    pub flushed: u64,
    /// Messages for peers that had been reached, dropped when the linger ran out.
    pub dropped: u64,
    /// Messages for peers that were never reached (no handshake ever completed), dropped.
    pub unreached: u64,
}
