//! The internal contract between the generic socket and one socket type.
//!
//! A pattern owns the pipe ends of its peers and decides where a message goes and which
//! message comes next. It never blocks and never touches a thread: when it cannot act now
//! it says `WouldBlock`, and the socket waits for a notification and asks again.

use crate::pipe::{Pipe, PipeId};
use crate::{Error, Message, Result, SendError, SocketType};
use std::fmt;

/// One socket type's rules.
pub(crate) trait Pattern: Send + fmt::Debug {
    /// A new peer link. The pattern may refuse it by dropping it (PAIR with a peer already).
    fn attach(&mut self, pipe: Pipe);
    /// Drops link `id` (disconnect, or the peer is gone).
    fn detach(&mut self, id: PipeId);
    /// Link `id` may have become readable, writable or closed.
    fn activated(&mut self, id: PipeId);
    /// Sends now, or fails with `WouldBlock` (retryable) or another error.
    fn send(&mut self, msg: Message) -> Result<(), SendError>;
    /// Receives now, or fails with `WouldBlock` (retryable) or another error.
    fn recv(&mut self) -> Result<Message>;
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
