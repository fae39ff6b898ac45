//! PAIR (RFC 31): one peer at a time, both directions. A second peer is refused while the
//! first is connected; once the first is gone the next one may attach, and it takes over
//! only after everything the first one sent has been read.

use super::pattern::{would_block, Pattern, PeerMeta};
use crate::pipe::{Pipe, PipeId, ReadError, WriteError};
use crate::{Error, Message, Result, SendError};

/// PAIR socket rules.
#[derive(Debug, Default)]
pub(crate) struct Pair {
    peer: Option<Pipe>,
    /// A peer that came while the previous one was gone but not yet read to the end; it
    /// takes over once that is done, so no message of the previous peer is dropped.
    next: Option<Pipe>,
}

impl Pair {
    /// Moves on to `next` if the current peer is gone and everything it sent was read.
    fn promote_if_done(&mut self) {
        let done = match &mut self.peer {
            None => true,
            Some(p) => p.writer.is_closed() && p.reader.peek_state() == Err(ReadError::Closed),
        };
        if done {
            self.peer = self.next.take();
        }
    }

    /// The pipe a send goes to: the peer, or the one waiting if the peer is gone.
    fn sending_pipe(&mut self) -> Option<&mut Pipe> {
        let peer_gone = self.peer.as_ref().is_none_or(|p| p.writer.is_closed());
        if peer_gone && self.next.is_some() {
            self.next.as_mut()
        } else {
            self.peer.as_mut()
        }
    }
}

impl Pattern for Pair {
    fn attach(&mut self, pipe: Pipe, _peer: PeerMeta) {
        self.promote_if_done();
        match &self.peer {
            None => self.peer = Some(pipe),
            Some(current) if !current.writer.is_closed() => {
                log::debug!("PAIR refuses a second peer");
                // Dropping `pipe` closes that link.
            }
            // The previous peer left messages to read: the newcomer waits for them.
            Some(_) => self.next = Some(pipe),
        }
    }

    fn detach(&mut self, id: PipeId) {
        if self.next.as_ref().is_some_and(|p| p.id() == id) {
            self.next = None;
        }
        if self.peer.as_ref().is_some_and(|p| p.id() == id) {
            self.peer = self.next.take();
        }
    }

    fn activated(&mut self, _id: PipeId) {}

    fn send(&mut self, msg: Message) -> Result<(), SendError> {
        let Some(pipe) = self.sending_pipe() else {
            return Err(would_block(msg));
        };
        match pipe.writer.try_write(msg) {
            Ok(()) => Ok(()),
            // A gone peer stays until what it sent has been read.
            Err(WriteError::Full(msg) | WriteError::Closed(msg)) => Err(would_block(msg)),
        }
    }

    fn recv(&mut self) -> Result<Message> {
        loop {
            let Some(peer) = &mut self.peer else {
                return Err(Error::WouldBlock);
            };
            match peer.reader.try_read() {
                Ok(msg) => return Ok(msg),
                Err(ReadError::Empty) => return Err(Error::WouldBlock),
                Err(ReadError::Closed) => {
                    self.peer = self.next.take();
                    if self.peer.is_none() {
                        return Err(Error::WouldBlock);
                    }
                }
            }
        }
    }

    fn can_send(&mut self) -> bool {
        self.sending_pipe()
            .is_some_and(|p| !p.writer.is_closed() && p.writer.has_room())
    }

    fn can_recv(&mut self) -> bool {
        self.promote_if_done();
        self.peer.as_mut().is_some_and(|p| p.reader.has_message())
    }
}
