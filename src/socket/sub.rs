//! SUB (RFC 29): an XSUB that cannot send and filters what it receives. The application
//! subscribes with `subscribe`/`unsubscribe`, which become `0x01`/`0x00` messages upstream.

use super::pattern::{not_supported, unsupported_option, Pattern, PeerMeta, TypeOption};
use super::xsub::XSub;
use crate::pipe::{Pipe, PipeId};
use crate::{Message, Result, SendError, SocketType};

/// SUB socket rules.
#[derive(Debug)]
pub(crate) struct Sub {
    xsub: XSub,
}

impl Default for Sub {
    fn default() -> Self {
        Sub {
            xsub: XSub::filtering(),
        }
    }
}

impl Pattern for Sub {
    fn attach(&mut self, pipe: Pipe, peer: PeerMeta) {
        self.xsub.attach(pipe, peer);
    }

    fn detach(&mut self, id: PipeId) {
        self.xsub.detach(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.xsub.activated(id);
    }

    fn reconnected(&mut self, id: PipeId) {
        self.xsub.reconnected(id);
    }

    fn send(&mut self, message: Message) -> Result<(), SendError> {
        Err(SendError {
            error: not_supported("send", SocketType::Sub),
            message,
        })
    }

    fn recv(&mut self) -> Result<Message> {
        self.xsub.recv()
    }

    fn can_send(&mut self) -> bool {
        false
    }

    fn can_recv(&mut self) -> bool {
        self.xsub.can_recv()
    }

    fn subscriptions_taken(&mut self) -> Option<bool> {
        Some(self.xsub.subscriptions_taken())
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        match option {
            TypeOption::Subscribe(topic) => self.xsub.subscribe(&topic),
            TypeOption::Unsubscribe(topic) => self.xsub.unsubscribe(&topic),
            other => return Err(unsupported_option(&other, socket_type)),
        }
        Ok(())
    }
}
