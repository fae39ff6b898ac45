//! ROUTER (RFC 28): fair-queues messages from all peers, each prefixed with the routing id
//! of the peer it came from, and routes each sent message by its first frame. It is also
//! the core a REP socket wraps.
//!
//! What must hold:
//! - A ROUTER never blocks on send unless `router_mandatory` is set: a message for an
//!   unknown peer, for a peer at its high-water mark, or with no frame after the routing id
//!   is dropped. With `router_mandatory`, an unknown peer is `HostUnreachable` and a full
//!   one is `WouldBlock` (so a blocking send waits).
//! - Every received message starts with a routing id that a send can use to reach the same
//!   peer while it is connected (see [`RoutingTable`] for how ids are chosen).
//! - A peer asking for an id a live peer holds (without handover) is parked, unread, until
//!   the id is free, as libzmq ignores it: its messages then come in order under its id,
//!   and a peer that reconnects before its old connection is noticed gone keeps its name.

use super::pattern::{unsupported_option, Pattern, PeerMeta, TypeOption};
use crate::pipe::{Alarm, DropTally, Pipe, PipeId};
use crate::route::{FairQueue, RouteError, RoutingTable};
use crate::DropReason;
use crate::{Error, Message, Result, SendError, SocketType};
use bytes::Bytes;
use std::sync::Arc;

/// ROUTER socket rules.
#[derive(Debug, Default)]
pub(crate) struct Router {
    fq: FairQueue,
    table: RoutingTable,
    mandatory: bool,
    handover: bool,
    probe_router: bool,
    closed: Vec<PipeId>,
    /// Links whose peer asked for a routing id that a live link holds, with that id.
    parked: Vec<(Pipe, Bytes)>,
    /// Messages dropped for want of a peer with their routing id.
    unroutable: DropTally,
    /// Told about those drops.
    alarm: Option<Arc<dyn Alarm>>,
}

impl Router {
    /// Counts a message dropped for want of a peer, and tells the alarm on the first and
    /// every so many (see `DropTally`).
    fn note_unroutable(&mut self) {
        if let (Some(tell), Some(alarm)) = (self.unroutable.add(1), &self.alarm) {
            alarm.dropped(DropReason::Unroutable, tell, None);
        }
    }
}

impl Pattern for Router {
    fn attach(&mut self, mut pipe: Pipe, peer: PeerMeta) {
        if self.probe_router && pipe.writer.try_write(Message::from(Bytes::new())).is_err() {
            log::debug!("probe_router: link {} cannot take the probe", pipe.id());
        }
        self.admit(pipe, peer.routing_id);
    }

    fn detach(&mut self, id: PipeId) {
        self.fq.remove(id);
        self.table.remove_pipe(id);
        self.parked.retain(|(p, _)| p.id() != id);
        self.admit_parked();
    }

    fn activated(&mut self, id: PipeId) {
        self.fq.activated(id);
        self.table.unroute_if_closed(id);
        self.admit_parked();
    }

    fn reconnected(&mut self, id: PipeId) {
        // The peer may be a new process: it hears the probe again.
        if self.probe_router
            && self
                .table
                .send_to_pipe(id, Message::from(Bytes::new()))
                .is_err()
        {
            log::debug!("probe_router: link {id} cannot take the probe");
        }
    }

    fn send(&mut self, mut msg: Message) -> Result<(), SendError> {
        if msg.len() < 2 {
            log::debug!("ROUTER: dropping a message with no frame after the routing id");
            return Ok(());
        }
        let Some(routing_id) = msg.pop_front() else {
            return Ok(());
        };
        let (mut back, error) = match self.table.send(&routing_id, msg) {
            Ok(()) => return Ok(()),
            Err(RouteError::Unknown(m)) if self.mandatory => (m, Error::HostUnreachable),
            Err(RouteError::Full(m)) if self.mandatory => (m, Error::WouldBlock),
            Err(RouteError::Unknown(_)) => {
                log::trace!("ROUTER: dropping a message for unknown peer {routing_id:?}");
                self.note_unroutable();
                return Ok(());
            }
            Err(RouteError::Full(_)) => {
                log::trace!("ROUTER: dropping a message for full peer {routing_id:?}");
                self.table.note_dropped(&routing_id);
                return Ok(());
            }
        };
        back.push_front(routing_id);
        Err(SendError {
            error,
            message: back,
        })
    }

    fn recv(&mut self) -> Result<Message> {
        loop {
            let got = self.fq.recv(&mut self.closed);
            let mut admitted = false;
            if !self.closed.is_empty() {
                for id in self.closed.drain(..) {
                    self.table.remove_pipe(id);
                }
                admitted = self.admit_parked();
            }
            let Some((mut msg, id)) = got else {
                if admitted {
                    continue; // A parked peer's messages may be waiting.
                }
                return Err(Error::WouldBlock);
            };
            match self.table.routing_id(id) {
                Some(routing_id) => {
                    msg.push_front(routing_id.clone());
                    return Ok(msg);
                }
                None => log::debug!("ROUTER: dropping a message from unnamed link {id}"),
            }
        }
    }

    fn can_send(&mut self) -> bool {
        // As libzmq: whether a send succeeds depends on where the message goes.
        true
    }

    fn can_recv(&mut self) -> bool {
        loop {
            if self.fq.has_message() {
                return true;
            }
            // A peer that went may free a routing id a parked peer waits for.
            self.fq.take_gone(&mut self.closed);
            if self.closed.is_empty() {
                return false;
            }
            for id in self.closed.drain(..) {
                self.table.remove_pipe(id);
            }
            if !self.admit_parked() {
                return false;
            }
        }
    }

    fn set_alarm(&mut self, alarm: Arc<dyn Alarm>) {
        self.alarm = Some(alarm);
    }

    fn unroutable(&self) -> u64 {
        self.unroutable.total()
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        match option {
            TypeOption::RouterMandatory(on) => self.mandatory = on,
            TypeOption::RouterHandover(on) => self.handover = on,
            TypeOption::ProbeRouter(on) => self.probe_router = on,
            other => return Err(unsupported_option(&other, socket_type)),
        }
        Ok(())
    }
}

impl Router {
    /// Gives `pipe` the routing id `wanted` (or a generated one), or parks it while a live
    /// peer holds `wanted`.
    fn admit(&mut self, pipe: Pipe, wanted: Bytes) {
        let Pipe { reader, writer } = pipe;
        match self.table.add(wanted.clone(), writer, self.handover) {
            Ok(added) => {
                log::trace!(
                    "ROUTER: link {} has routing id {:?}",
                    reader.id(),
                    added.routing_id
                );
                if let Some(old) = added.displaced {
                    log::debug!("ROUTER: handover of {:?} to a new peer", added.routing_id);
                    // Dropping both ends of the old link closes it.
                    self.fq.remove(old);
                }
                self.fq.attach(reader);
            }
            Err(writer) => {
                log::debug!("ROUTER: routing id {wanted:?} is in use; the new peer waits");
                self.parked.push((Pipe { reader, writer }, wanted));
            }
        }
    }

    /// Admits the parked links whose id has come free, and drops those whose peer left.
    /// Says whether any was admitted.
    fn admit_parked(&mut self) -> bool {
        if self.parked.is_empty() {
            return false;
        }
        let before = self.parked.len();
        for (pipe, wanted) in std::mem::take(&mut self.parked) {
            if !pipe.writer.is_closed() {
                self.admit(pipe, wanted);
            }
        }
        self.parked.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Mailbox, Notifier};
    use crate::pipe::link;
    use crate::Frame;

    fn peer(r: &mut Router, id: &'static [u8], hwm: usize) -> Pipe {
        let mb = Mailbox::new();
        let (ours, theirs) = link(Notifier::Socket(mb.clone()), Notifier::Socket(mb), hwm, 0);
        r.attach(
            ours,
            PeerMeta {
                routing_id: Bytes::from_static(id),
                ..PeerMeta::default()
            },
        );
        theirs
    }

    fn opt(r: &mut Router, o: TypeOption) {
        r.set_option(o, SocketType::Router).unwrap();
    }

    #[test]
    fn prefixes_and_routes_by_id() {
        let mut r = Router::default();
        let mut a = peer(&mut r, b"A", 0);
        let mut b = peer(&mut r, b"", 0);
        b.writer.try_write(Message::from("hi")).unwrap();
        r.activated(b.id());
        let got = r.recv().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 5);
        assert_eq!(got[0][0], 0);
        r.send(Message::multipart([got[0].clone(), Frame::from("to b")]))
            .unwrap();
        r.send(Message::multipart(["A", "to", "a"])).unwrap();
        assert_eq!(b.reader.try_read().unwrap(), Message::from("to b"));
        assert_eq!(
            a.reader.try_read().unwrap(),
            Message::multipart(["to", "a"])
        );
    }

    #[test]
    fn unroutable_is_dropped_or_an_error_with_mandatory() {
        let mut r = Router::default();
        let mut a = peer(&mut r, b"A", 1);
        r.send(Message::multipart(["nobody", "x"])).unwrap();
        r.send(Message::from("A")).unwrap(); // No body: dropped.
        r.send(Message::multipart(["A", "1"])).unwrap();
        r.send(Message::multipart(["A", "2"])).unwrap(); // Full: dropped.
        opt(&mut r, TypeOption::RouterMandatory(true));
        let e = r.send(Message::multipart(["nobody", "x"])).unwrap_err();
        assert!(matches!(e.error, Error::HostUnreachable));
        assert_eq!(e.message, Message::multipart(["nobody", "x"]));
        let e = r.send(Message::multipart(["A", "3"])).unwrap_err();
        assert!(matches!(e.error, Error::WouldBlock));
        assert_eq!(e.message, Message::multipart(["A", "3"]));
        assert_eq!(a.reader.try_read().unwrap(), Message::from("1"));
        r.activated(a.id());
        r.send(Message::multipart(["A", "3"])).unwrap();
        assert_eq!(a.reader.try_read().unwrap(), Message::from("3"));
    }

    #[test]
    fn handover_closes_the_old_link() {
        let mut r = Router::default();
        opt(&mut r, TypeOption::RouterHandover(true));
        let old = peer(&mut r, b"X", 0);
        let mut new = peer(&mut r, b"X", 0);
        assert!(old.writer.is_closed());
        r.send(Message::multipart(["X", "m"])).unwrap();
        assert_eq!(new.reader.try_read().unwrap(), Message::from("m"));
    }

    #[test]
    fn probe_router_and_option_checks() {
        let mut r = Router::default();
        opt(&mut r, TypeOption::ProbeRouter(true));
        let mut a = peer(&mut r, b"A", 0);
        assert_eq!(a.reader.try_read().unwrap(), Message::from(Bytes::new()));
        r.reconnected(a.id());
        assert_eq!(a.reader.try_read().unwrap(), Message::from(Bytes::new()));
        assert!(r
            .set_option(TypeOption::ReqCorrelate(true), SocketType::Router)
            .is_err());
    }

    #[test]
    fn last_messages_of_a_departed_peer_keep_its_id() {
        let mut r = Router::default();
        let a = peer(&mut r, b"A", 0);
        let mut a = a;
        a.writer.try_write(Message::from("bye")).unwrap();
        let id = a.id();
        drop(a);
        r.activated(id);
        assert_eq!(r.recv().unwrap(), Message::multipart(["A", "bye"]));
        assert!(matches!(r.recv(), Err(Error::WouldBlock)));
        let e = {
            opt(&mut r, TypeOption::RouterMandatory(true));
            r.send(Message::multipart(["A", "x"])).unwrap_err()
        };
        assert!(matches!(e.error, Error::HostUnreachable));
    }
}
