//! ferrozmq: a pure-Rust, brokerless, ZeroMQ-compatible messaging library.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
// A `SendError` hands the unsent `Message` back by value (80 bytes, small frames inline):
// boxing it would allocate on every `WouldBlock`, the common error of a non-blocking send.
#![allow(clippy::result_large_err)]

mod context;
mod curve_key;
mod endpoint;
mod error;
mod frame;
mod inproc;
mod mailbox;
mod message;
mod metadata;
mod monitor;
mod options;
mod pipe;
mod poll;
mod proxy;
mod reactor;
mod route;
mod socket;
mod socket_type;
mod stats;
mod transport;
pub mod z85;
mod zap;
mod zmtp;

/// Hooks for the `cargo fuzz` targets in `fuzz/` (feature `fuzzing`, off by default): thin
/// wrappers over the ZMTP codec and endpoint parsing. Not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use context::Context;
pub use curve_key::{curve_keypair, curve_public, CurveKeyPair};
pub use error::{Error, ProtocolError, Result, SendError};
pub use frame::Frame;
pub use message::Message;
pub use metadata::Metadata;
pub use monitor::{EventKind, Monitor, MonitorEvent, DEFAULT_MONITOR_CAPACITY};
pub use poll::{poll, PollEvents, PollItem};
pub use proxy::{proxy, proxy_steerable, ProxyStats};
pub use socket::Socket;
pub use socket_type::SocketType;
pub use stats::{
    CloseReport, DropReason, FlushReport, HandshakeFailures, PeerStats, PendingPeer, SocketStats,
};
pub use zap::{AuthCredentials, AuthDecision, AuthRequest, Authenticator, ZAP_ENDPOINT};

// The code in the README and the user guide runs as doctests, so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
struct GuideDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/security.md")]
struct SecurityDoctests;
