//! Socket options: plain data with libzmq's defaults.
//!
//! Options are read when an endpoint is bound or connected, so a change applies to the
//! endpoints that come after it, as in libzmq. Nothing here touches a thread or a socket.

use crate::socket::SecurityOptions;
use bytes::Bytes;
use std::time::Duration;

/// The options of one socket. Defaults follow libzmq 4.3 (`src/options.cpp`), except the
/// input limits `max_msg_size` and `max_msg_frames` (docs/guide.md says why).
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Outbound high-water mark in messages per peer; 0 means unlimited.
    pub(crate) sndhwm: usize,
    /// Inbound high-water mark in messages per peer; 0 means unlimited.
    pub(crate) rcvhwm: usize,
    /// How long queued messages may still go out after close; `None` waits forever.
    pub(crate) linger: Option<Duration>,
    /// Bound on a blocking send; `None` blocks forever.
    pub(crate) sndtimeo: Option<Duration>,
    /// Bound on a blocking receive; `None` blocks forever.
    pub(crate) rcvtimeo: Option<Duration>,
    /// The routing id this socket announces as `Identity`.
    pub(crate) routing_id: Bytes,
    /// The routing id for the peer of the next connect (ROUTER), used once.
    pub(crate) connect_routing_id: Option<Bytes>,
    /// Largest inbound message accepted from a peer, and the most an incomplete message
    /// may hold (its bytes plus `FRAME_OVERHEAD` per frame); `None` is unlimited.
    pub(crate) max_msg_size: Option<u64>,
    /// Most frames in one inbound message; `None` is unlimited.
    pub(crate) max_msg_frames: Option<u64>,
    /// First reconnect delay.
    pub(crate) reconnect_ivl: Duration,
    /// Upper bound of the exponential back-off; zero (or below `reconnect_ivl`) keeps it flat.
    pub(crate) reconnect_ivl_max: Duration,
    /// Time allowed for a ZMTP handshake; `None` disables the limit.
    pub(crate) handshake_ivl: Option<Duration>,
    /// Send a PING after this long without hearing from the peer; `None`: no heartbeats.
    pub(crate) heartbeat_ivl: Option<Duration>,
    /// Close a connection that sent nothing this long after our PING; `None`: the interval.
    pub(crate) heartbeat_timeout: Option<Duration>,
    /// The time-to-live announced in our PINGs (whole deciseconds); `None` announces none.
    pub(crate) heartbeat_ttl: Option<Duration>,
    /// Bound on one tcp connect attempt; `None` leaves it to the OS.
    pub(crate) connect_timeout: Option<Duration>,
    /// `SO_KEEPALIVE` on tcp connections; `None` leaves the OS default.
    pub(crate) tcp_keepalive: Option<bool>,
    /// `TCP_KEEPIDLE`; `None` leaves the OS default.
    pub(crate) tcp_keepalive_idle: Option<Duration>,
    /// `TCP_KEEPCNT`; `None` leaves the OS default.
    pub(crate) tcp_keepalive_cnt: Option<u32>,
    /// `TCP_KEEPINTVL`; `None` leaves the OS default.
    pub(crate) tcp_keepalive_intvl: Option<Duration>,
    /// Queue messages only to peers whose handshake completed.
    pub(crate) immediate: bool,
    /// Keep only the last message in each pipe (PUSH, PULL, PUB, SUB, DEALER).
    pub(crate) conflate: bool,
    /// The mechanism, role, keys and credentials, and the ZAP domain.
    pub(crate) security: SecurityOptions,
}

/// The default `max_msg_size`: 1 GiB. libzmq has no limit; this one is far above what an
/// ordinary application sends in one message and far below what hurts a server.
pub(crate) const DEFAULT_MAX_MSG_SIZE: u64 = 1 << 30;
/// The default `max_msg_frames`: libzmq has no limit.
pub(crate) const DEFAULT_MAX_MSG_FRAMES: u64 = 1_000_000;
/// What one frame of an incomplete message is counted as, on top of its bytes, when an
/// incomplete message is checked against `max_msg_size`: about what its bookkeeping costs.
#[allow(dead_code)] // Read by the codec once it checks incomplete messages.
pub(crate) const FRAME_OVERHEAD: u64 = 32;

impl Default for Options {
    fn default() -> Options {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: None,
            sndtimeo: None,
            rcvtimeo: None,
            routing_id: Bytes::new(),
            connect_routing_id: None,
            max_msg_size: Some(DEFAULT_MAX_MSG_SIZE),
            max_msg_frames: Some(DEFAULT_MAX_MSG_FRAMES),
            reconnect_ivl: Duration::from_millis(100),
            reconnect_ivl_max: Duration::ZERO,
            handshake_ivl: Some(Duration::from_secs(30)),
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            connect_timeout: None,
            tcp_keepalive: None,
            tcp_keepalive_idle: None,
            tcp_keepalive_cnt: None,
            tcp_keepalive_intvl: None,
            immediate: false,
            conflate: false,
            security: SecurityOptions::default(),
        }
    }
}
