//! The crate's error types: [`Error`] for every public call, [`ProtocolError`] for what a
//! peer did wrong on the wire, and [`SendError`], which hands an unsent message back.
//!
//! Every message here must make sense to a user who has never read the ZMTP spec.

use crate::{Message, SocketType};
use std::fmt;

/// The result type of every fallible ferrozmq call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a ferrozmq call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The endpoint string could not be used; `reason` says which part is wrong.
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another socket already uses this address.
    #[error("address already in use: {0}")]
    AddressInUse(String),
    /// The endpoint was never bound or connected on this socket.
    #[error("endpoint `{0}` is not bound or connected on this socket")]
    EndpointNotFound(String),
    /// A non-blocking call could not complete now.
    #[error("the operation would block")]
    WouldBlock,
    /// A blocking call ran out of time (send or receive timeout).
    #[error("the operation timed out")]
    Timeout,
    /// The context was terminated; the socket can no longer be used.
    #[error("the context was terminated")]
    Terminated,
    /// This socket type cannot do that (for example, `send` on a PULL socket).
    #[error("{socket_type} sockets do not support {op}")]
    NotSupported {
        /// The operation attempted.
        op: &'static str,
        /// The type of the socket it was attempted on.
        socket_type: SocketType,
    },
    /// An option was given a value it cannot take.
    #[error("invalid value for option {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why the value is refused.
        reason: &'static str,
    },
    /// A ROUTER with `router_mandatory` was asked to send to a routing id it does not know.
    #[error("no peer with that routing id is connected")]
    HostUnreachable,
    /// A call came out of turn for the socket's pattern (for example, REQ sending twice
    /// without a reply in between).
    #[error("{0}")]
    WrongState(&'static str),
    /// The message had no frames; a ZeroMQ message needs at least one.
    #[error("cannot send a message with no frames")]
    EmptyMessage,
    /// A peer broke the ZMTP protocol.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
}

/// Ways a peer can break the ZMTP protocol. Each closes that one connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The peer does not speak ZMTP 3.x (an unversioned or ZMTP 1.0/2.0 peer).
    #[error(
        "peer speaks an unsupported ZMTP version (revision {0}); ZMTP 3.0 or later is required"
    )]
    UnsupportedVersion(u8),
    /// The first ten bytes were not a ZMTP signature.
    #[error("peer did not send a ZMTP signature")]
    BadSignature,
    /// The peer uses another security mechanism.
    #[error("security mechanism mismatch: we use {ours}, the peer uses {theirs}")]
    MechanismMismatch {
        /// Our mechanism name.
        ours: &'static str,
        /// The peer's mechanism name, lossily decoded.
        theirs: String,
    },
    /// The peer's socket type cannot talk to ours.
    #[error("socket type {theirs} cannot talk to {ours}")]
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's `Socket-Type` value, lossily decoded.
        theirs: String,
    },
    /// The peer's READY had no `Socket-Type` property.
    #[error("peer did not announce its socket type")]
    MissingSocketType,
    /// A command or its properties could not be parsed.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A command arrived where the protocol does not allow it.
    #[error("unexpected command {0} during the handshake")]
    UnexpectedCommand(String),
    /// A message arrived before the handshake finished.
    #[error("message received before the handshake finished")]
    UnexpectedMessage,
    /// A command frame was marked as part of a multipart message.
    #[error("command frame inside a multipart message")]
    CommandInMessage,
    /// A message (the frames received so far plus the one just announced) is larger than
    /// `max_msg_size`. Decided from the frame header, before any of its body is read.
    #[error("message of {size} bytes exceeds max_msg_size, the limit of {limit} bytes")]
    MessageTooLarge {
        /// The size the peer announced.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A message has more frames than `max_msg_frames` allows.
    #[error("message of more than {limit} frames exceeds max_msg_frames")]
    TooManyFrames {
        /// The limit in force.
        limit: u64,
    },
    /// An incomplete multipart message holds more than `max_msg_size`, counting its bytes
    /// plus a fixed overhead per frame (what keeping a frame costs), so that a flood of tiny
    /// frames cannot use unbounded memory.
    #[error(
        "incomplete message of {frames} frames and {bytes} bytes, counted with {overhead} \
         bytes per frame, exceeds max_msg_size, the limit of {limit} bytes"
    )]
    IncompleteMessageTooLarge {
        /// Frames the message would hold.
        frames: u64,
        /// Body bytes the message would hold.
        bytes: u64,
        /// What each frame is counted as on top of its bytes.
        overhead: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A command during the handshake (the peer's READY metadata) is larger than ferrozmq
    /// accepts there.
    #[error(
        "handshake command (READY metadata) of {size} bytes exceeds the limit of {limit} bytes"
    )]
    HandshakeCommandTooLarge {
        /// The size the peer announced.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The peer's READY metadata has a property with an empty name.
    #[error("peer's READY metadata has a property with an empty name")]
    EmptyPropertyName,
    /// The peer's READY metadata names the same property twice (names compare without
    /// regard to ASCII case, as ZMTP says).
    #[error("peer's READY metadata repeats the property `{0}`")]
    DuplicateProperty(String),
    /// The peer's `Identity` property is longer than ZMTP's 255 bytes.
    #[error("peer's Identity of {0} bytes is longer than 255 bytes")]
    IdentityTooLong(usize),
    /// The peer sent an ERROR command.
    #[error("peer reported an error: {0}")]
    PeerError(String),
    /// A ZAP handler (or the context's authenticator) refused the peer with this status code
    /// (300 temporary, 400 denied, 500 internal error), or the peer's ERROR carried one.
    #[error("authentication refused (ZAP status {status})")]
    AuthFailed {
        /// The ZAP status code.
        status: u16,
    },
    /// A PLAIN or CURVE handshake step failed: a box did not open, a nonce was replayed, a
    /// key was wrong, a command came out of turn.
    #[error("security handshake failed: {0}")]
    Security(&'static str),
    /// The handshake did not finish in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
}

/// A send that failed, with the message handed back so it is not lost.
///
/// # Examples
///
/// ```
/// use ferrozmq::{Context, Error, SocketType};
///
/// let ctx = Context::new();
/// let mut push = ctx.socket(SocketType::Push).unwrap();
/// // No peer yet, so a non-blocking send cannot go anywhere.
/// let err = push.try_send("hello").unwrap_err();
/// assert!(matches!(err.error, Error::WouldBlock));
/// assert_eq!(&err.message[0][..], b"hello");
/// ```
#[derive(Debug)]
pub struct SendError {
    /// Why the send failed.
    pub error: Error,
    /// The message that was not sent.
    pub message: Message,
}

impl SendError {
    /// Takes the unsent message back.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// // No peer yet: keep the message and send it once there is one.
    /// let unsent = push.try_send("hello").unwrap_err().into_message();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-into-message")?;
    /// push.connect("inproc://doc-into-message")?;
    /// push.send(unsent)?;
    /// assert_eq!(&pull.recv()?[0][..], b"hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn into_message(self) -> Message {
        self.message
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        e.error
    }
}
