//! PULL (RFC 30): fair-queues messages from all peers; never sends.

use super::pattern::{not_supported, Parked, Pattern, PeerMeta};
use crate::pipe::{Pipe, PipeId, PipeWriter};
use crate::route::FairQueue;
use crate::{Error, Message, Result, SendError, SocketType};

/// PULL socket rules.
#[derive(Debug, Default)]
pub(crate) struct Pull {
    fq: FairQueue,
    unused: Parked<PipeWriter>,
    closed: Vec<PipeId>,
}

impl Pattern for Pull {
    fn attach(&mut self, pipe: Pipe, _peer: PeerMeta) {
        self.unused.park(pipe.id(), pipe.writer);
        self.fq.attach(pipe.reader);
    }

    fn detach(&mut self, id: PipeId) {
        self.fq.remove(id);
        self.unused.remove(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.fq.activated(id);
    }

    fn send(&mut self, message: Message) -> Result<(), SendError> {
        Err(SendError {
            error: not_supported("send", SocketType::Pull),
            message,
        })
    }

    fn recv(&mut self) -> Result<Message> {
        let got = self.fq.recv(&mut self.closed);
        for id in self.closed.drain(..) {
            self.unused.remove(id);
        }
        got.map(|(msg, _)| msg).ok_or(Error::WouldBlock)
    }

    fn can_send(&mut self) -> bool {
        false
    }

    fn can_recv(&mut self) -> bool {
        self.fq.has_message()
    }
}
