//! PAIR (RFC 31): one peer at a time, both directions. A second peer is refused while the
//! first is connected; once the first is gone the next one may attach.

use super::pattern::{would_block, Pattern, PeerMeta};
use crate::pipe::{Pipe, PipeId, ReadError, WriteError};
use crate::{Error, Message, Result, SendError};

/// PAIR socket rules.
#[derive(Debug, Default)]
pub(crate) struct Pair {
    peer: Option<Pipe>,
}

impl Pattern for Pair {
    fn attach(&mut self, pipe: Pipe, _peer: PeerMeta) {
        if let Some(current) = &self.peer {
            if !current.writer.is_closed() {
                log::debug!("PAIR refuses a second peer");
                return; // Dropping `pipe` closes that link.
            }
        }
        self.peer = Some(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        if self.peer.as_ref().is_some_and(|p| p.id() == id) {
            self.peer = None;
        }
    }

    fn activated(&mut self, _id: PipeId) {}

    fn send(&mut self, msg: Message) -> Result<(), SendError> {
        let Some(peer) = &mut self.peer else {
            return Err(would_block(msg));
        };
        match peer.writer.try_write(msg) {
            Ok(()) => Ok(()),
            Err(WriteError::Full(msg)) => Err(would_block(msg)),
            Err(WriteError::Closed(msg)) => {
                self.peer = None;
                Err(would_block(msg))
            }
        }
    }

    fn recv(&mut self) -> Result<Message> {
        let Some(peer) = &mut self.peer else {
            return Err(Error::WouldBlock);
        };
        match peer.reader.try_read() {
            Ok(msg) => Ok(msg),
            Err(ReadError::Empty) => Err(Error::WouldBlock),
            Err(ReadError::Closed) => {
                self.peer = None;
                Err(Error::WouldBlock)
            }
        }
    }

    fn can_send(&mut self) -> bool {
        self.peer.as_mut().is_some_and(|p| p.writer.has_room())
    }

    fn can_recv(&mut self) -> bool {
        self.peer.as_mut().is_some_and(|p| p.reader.has_message())
    }
}
