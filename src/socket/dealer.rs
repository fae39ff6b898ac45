//! DEALER (RFC 28): load-balances each message to one peer with room and fair-queues what
//! comes back, with no envelope. It is also the core a REQ socket wraps.
//!
//! What must hold: a send blocks only when no peer can take the message; with
//! `probe_router`, every new link (and every re-established connection) starts with one
//! empty one-frame message; a link's reader stays until drained, so replies that arrived
//! before a peer left are still delivered.

use super::pattern::{would_block, Pattern, PeerMeta, TypeOption};
use crate::pipe::{Pipe, PipeId, PipeWriter};
use crate::route::{FairQueue, LoadBalancer};
use crate::{Error, Message, Result, SendError, SocketType};

/// DEALER socket rules, and the load-balancing core of REQ.
#[derive(Debug, Default)]
pub(crate) struct Dealer {
    lb: LoadBalancer,
    fq: FairQueue,
    probe_router: bool,
    closed: Vec<PipeId>,
}

impl Dealer {
    /// Sends `msg` to the next peer with room and says which link took it, or hands the
    /// message back if none can take it now.
    pub(crate) fn send_any(&mut self, msg: Message) -> Result<PipeId, Message> {
        // A link found closed here keeps its reader until drained; `recv_any` drops it.
        let sent = self.lb.send(msg, &mut self.closed);
        self.closed.clear();
        sent
    }

    /// Takes the next message from any peer, with the link it came from.
    pub(crate) fn recv_any(&mut self) -> Option<(Message, PipeId)> {
        let got = self.fq.recv(&mut self.closed);
        for id in self.closed.drain(..) {
            self.lb.remove(id);
        }
        got
    }

    /// Whether some peer has room for a message now.
    pub(crate) fn has_room(&mut self) -> bool {
        self.lb.has_room()
    }

    /// Whether some peer has a message queued now.
    pub(crate) fn has_message(&mut self) -> bool {
        self.fq.has_message()
    }

    /// Applies `probe_router`, the one type option a DEALER has (REQ passes it on).
    pub(crate) fn set_probe_router(&mut self, on: bool) {
        self.probe_router = on;
    }

    fn probe(&self, writer: &mut PipeWriter) {
        if self.probe_router {
            // A fresh link has room; if not, the peer misses one probe, as in libzmq.
            if writer
                .try_write(Message::from(bytes::Bytes::new()))
                .is_err()
            {
                log::debug!("probe_router: link {} cannot take the probe", writer.id());
            }
        }
    }
}

impl Pattern for Dealer {
    fn attach(&mut self, mut pipe: Pipe, _peer: PeerMeta) {
        self.probe(&mut pipe.writer);
        self.lb.attach(pipe.writer);
        self.fq.attach(pipe.reader);
    }

    fn detach(&mut self, id: PipeId) {
        self.lb.remove(id);
        self.fq.remove(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.lb.activated(id);
        self.fq.activated(id);
    }

    fn reconnected(&mut self, id: PipeId) {
        if self.probe_router {
            if let Some(mut writer) = self.lb.remove(id) {
                self.probe(&mut writer);
                self.lb.attach(writer);
            }
        }
    }

    fn send(&mut self, msg: Message) -> Result<(), SendError> {
        self.send_any(msg).map(drop).map_err(would_block)
    }

    fn recv(&mut self) -> Result<Message> {
        self.recv_any().map(|(msg, _)| msg).ok_or(Error::WouldBlock)
    }

    fn can_send(&mut self) -> bool {
        self.has_room()
    }

    fn can_recv(&mut self) -> bool {
        self.has_message()
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        match option {
            TypeOption::ProbeRouter(on) => {
                self.set_probe_router(on);
                Ok(())
            }
            other => Err(super::pattern::unsupported_option(&other, socket_type)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Mailbox, Notifier};
    use crate::pipe::link;

    fn peer(d: &mut Dealer) -> Pipe {
        let mb = Mailbox::new();
        let (ours, theirs) = link(Notifier::Socket(mb.clone()), Notifier::Socket(mb), 0, 0);
        d.attach(ours, PeerMeta::default());
        theirs
    }

    #[test]
    fn probe_router_sends_one_empty_frame_on_attach_and_reconnect() {
        let mut d = Dealer::default();
        d.set_option(TypeOption::ProbeRouter(true), SocketType::Dealer)
            .unwrap();
        let mut p = peer(&mut d);
        let probe = p.reader.try_read().unwrap();
        assert_eq!(probe.len(), 1);
        assert!(probe[0].is_empty());
        assert!(p.reader.try_read().is_err());
        d.reconnected(p.id());
        assert_eq!(p.reader.try_read().unwrap(), probe);
    }

    #[test]
    fn no_probe_by_default_and_no_envelope() {
        let mut d = Dealer::default();
        let mut p = peer(&mut d);
        d.send(Message::from("x")).unwrap();
        assert_eq!(p.reader.try_read().unwrap(), Message::from("x"));
        p.writer.try_write(Message::from("y")).unwrap();
        d.activated(p.id());
        assert_eq!(d.recv().unwrap(), Message::from("y"));
        assert!(matches!(d.recv(), Err(Error::WouldBlock)));
    }

    #[test]
    fn other_options_are_refused() {
        let mut d = Dealer::default();
        assert!(matches!(
            d.set_option(TypeOption::ReqRelaxed(true), SocketType::Dealer),
            Err(Error::NotSupported { .. })
        ));
    }

    #[test]
    fn reply_queued_before_the_peer_left_is_still_delivered() {
        let mut d = Dealer::default();
        let mut p = peer(&mut d);
        p.writer.try_write(Message::from("last words")).unwrap();
        let id = p.id();
        drop(p);
        d.activated(id);
        assert!(d.send(Message::from("x")).is_err());
        assert_eq!(d.recv().unwrap(), Message::from("last words"));
        assert!(matches!(d.recv(), Err(Error::WouldBlock)));
    }
}
