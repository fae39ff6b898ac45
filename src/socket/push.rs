//! PUSH (RFC 30): load-balances each message to one peer with room; never receives.
//! A send blocks only when no peer can take the message.

use super::pattern::{not_supported, would_block, Parked, Pattern, PeerMeta};
use crate::pipe::{Pipe, PipeId, PipeReader};
use crate::route::LoadBalancer;
use crate::{Message, Result, SendError, SocketType};

/// PUSH socket rules.
#[derive(Debug, Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
    unused: Parked<PipeReader>,
    closed: Vec<PipeId>,
}

impl Pattern for Push {
    fn attach(&mut self, pipe: Pipe, _peer: PeerMeta) {
        self.unused.park(pipe.id(), pipe.reader);
        self.lb.attach(pipe.writer);
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.remove(id);
        self.unused.remove(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.lb.activated(id);
    }

    fn send(&mut self, msg: Message) -> Result<(), SendError> {
        let sent = self.lb.send(msg, &mut self.closed);
        for id in self.closed.drain(..) {
            self.unused.remove(id);
        }
        sent.map(drop).map_err(would_block)
    }

    fn recv(&mut self) -> Result<Message> {
        Err(not_supported("recv", SocketType::Push))
    }

    fn can_send(&mut self) -> bool {
        self.lb.has_room()
    }

    fn can_recv(&mut self) -> bool {
        false
    }
}
