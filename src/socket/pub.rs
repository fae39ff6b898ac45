//! PUB (RFC 29): an XPUB that passes nothing up. It still reads its peers' subscriptions
//! (on attach and on every notification) so that it sends each message only to the peers
//! subscribed to a prefix of its first frame, and it never blocks: a peer at its
//! high-water mark loses the message.

use super::pattern::{not_supported, unsupported_option, Pattern, PeerMeta, TypeOption};
use super::xpub::XPub;
use crate::pipe::{Pipe, PipeId};
use crate::{Message, Result, SendError, SocketType};

/// PUB socket rules.
#[derive(Debug)]
pub(crate) struct Pub {
    xpub: XPub,
}

impl Default for Pub {
    fn default() -> Self {
        Pub {
            xpub: XPub::publisher(),
        }
    }
}

impl Pattern for Pub {
    fn attach(&mut self, pipe: Pipe, peer: PeerMeta) {
        self.xpub.attach(pipe, peer);
    }

    fn detach(&mut self, id: PipeId) {
        self.xpub.detach(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.xpub.activated(id);
    }

    fn send(&mut self, msg: Message) -> Result<(), SendError> {
        self.xpub.send(msg)
    }

    fn recv(&mut self) -> Result<Message> {
        Err(not_supported("recv", SocketType::Pub))
    }

    fn can_send(&mut self) -> bool {
        true
    }

    fn can_recv(&mut self) -> bool {
        false
    }

    fn subscribers(&mut self, prefix: &[u8]) -> Option<usize> {
        Some(self.xpub.subscribers(prefix))
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        match option {
            // Accepted as libzmq does, without effect: a PUB passes nothing up.
            TypeOption::XpubVerbose(_) | TypeOption::XpubVerboser(_) => Ok(()),
            other => Err(unsupported_option(&other, socket_type)),
        }
    }
}
