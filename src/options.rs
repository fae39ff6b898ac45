//! Socket options: plain data with libzmq's defaults.
//!
//! Options are read when an endpoint is bound or connected, so a change applies to the
//! endpoints that come after it, as in libzmq. Nothing here touches a thread or a socket.

use bytes::Bytes;
use std::time::Duration;

/// The options of one socket. Defaults follow libzmq 4.3 (`src/options.cpp`).
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
    /// Largest inbound message accepted from a peer; `None` is unlimited.
    pub(crate) max_msg_size: Option<u64>,
    /// First reconnect delay.
    pub(crate) reconnect_ivl: Duration,
    /// Upper bound of the exponential back-off; zero (or below `reconnect_ivl`) keeps it flat.
    pub(crate) reconnect_ivl_max: Duration,
    /// Time allowed for a ZMTP handshake; `None` disables the limit.
    pub(crate) handshake_ivl: Option<Duration>,
}

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
            max_msg_size: None,
            reconnect_ivl: Duration::from_millis(100),
            reconnect_ivl_max: Duration::ZERO,
            handshake_ivl: Some(Duration::from_secs(30)),
        }
    }
}
