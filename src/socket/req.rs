//! REQ (RFC 28): a DEALER that asks one question at a time. Each request gets an empty
//! delimiter frame in front (and, with `req_correlate`, a 4-byte request id before that),
//! goes to one peer by load balancing, and only that peer's matching reply is accepted.
//!
//! What must hold: `send` and `recv` alternate (`WrongState` otherwise; `req_relaxed`
//! allows a new request at any time and forgets the old one); a reply from another peer,
//! without the delimiter, or with the wrong request id, is dropped and the socket keeps
//! waiting. If the peer asked goes away, the socket keeps waiting, as libzmq does: the
//! application bounds the wait with a timeout (and, if relaxed, asks again).

use super::dealer::Dealer;
use super::pattern::{unsupported_option, would_block, Pattern, PeerMeta, TypeOption};
use super::rep::split_envelope;
use crate::pipe::{Pipe, PipeId};
use crate::{Error, Message, Result, SendError, SocketType};
use bytes::Bytes;
use std::hash::{BuildHasher, Hasher};

/// The request a REQ waits for an answer to.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// The link it went out on.
    pipe: PipeId,
    /// Its id (checked only with `req_correlate`).
    request_id: u32,
}

/// REQ socket rules.
#[derive(Debug)]
pub(crate) struct Req {
    dealer: Dealer,
    relaxed: bool,
    correlate: bool,
    next_request_id: u32,
    pending: Option<Pending>,
    /// A valid reply taken early (by polling).
    ready: Option<Message>,
}

impl Default for Req {
    fn default() -> Self {
        // libzmq starts request ids at a random value too.
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Req {
            dealer: Dealer::default(),
            relaxed: false,
            correlate: false,
            next_request_id: seed as u32,
            pending: None,
            ready: None,
        }
    }
}

impl Req {
    /// The body of `reply` if it answers `pending`: the request id when correlating, then
    /// an empty delimiter, then at least one frame.
    fn accept(&self, reply: Message, pending: Pending) -> Option<Message> {
        let (envelope, body) = split_envelope(reply, 0)?;
        let id = pending.request_id.to_be_bytes();
        let ok = match &envelope[..] {
            [_delimiter] => !self.correlate,
            [request_id, _delimiter] => self.correlate && request_id[..] == id[..],
            _ => false,
        };
        ok.then_some(body)
    }

    /// The next valid reply to the pending request, dropping anything else.
    fn next_reply(&mut self) -> Option<Message> {
        if let Some(ready) = self.ready.take() {
            return Some(ready);
        }
        let pending = self.pending?;
        while let Some((msg, pipe)) = self.dealer.recv_any() {
            if pipe != pending.pipe {
                log::debug!("REQ: dropping a message from a peer not asked");
                continue;
            }
            match self.accept(msg, pending) {
                Some(body) => return Some(body),
                None => log::debug!("REQ: dropping a malformed or stale reply"),
            }
        }
        None
    }
}

impl Pattern for Req {
    fn attach(&mut self, pipe: Pipe, peer: PeerMeta) {
        self.dealer.attach(pipe, peer);
    }

    fn detach(&mut self, id: PipeId) {
        self.dealer.detach(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.dealer.activated(id);
    }

    fn reconnected(&mut self, id: PipeId) {
        self.dealer.reconnected(id);
    }

    fn send(&mut self, mut message: Message) -> Result<(), SendError> {
        if self.pending.is_some() && !self.relaxed {
            return Err(SendError {
                error: Error::WrongState("REQ must receive the reply before sending again"),
                message,
            });
        }
        let request_id = self.next_request_id;
        message.push_front(Bytes::new());
        if self.correlate {
            message.push_front(Bytes::copy_from_slice(&request_id.to_be_bytes()));
        }
        match self.dealer.send_any(message) {
            Ok(pipe) => {
                self.pending = Some(Pending { pipe, request_id });
                self.next_request_id = request_id.wrapping_add(1);
                self.ready = None;
                Ok(())
            }
            Err(mut message) => {
                message.pop_front();
                if self.correlate {
                    message.pop_front();
                }
                Err(would_block(message))
            }
        }
    }

    fn recv(&mut self) -> Result<Message> {
        if self.pending.is_none() {
            return Err(Error::WrongState(
                "REQ must send a request before receiving a reply",
            ));
        }
        let reply = self.next_reply().ok_or(Error::WouldBlock)?;
        self.pending = None;
        Ok(reply)
    }

    fn can_send(&mut self) -> bool {
        (self.pending.is_none() || self.relaxed) && self.dealer.has_room()
    }

    fn can_recv(&mut self) -> bool {
        self.ready = self.next_reply();
        self.ready.is_some()
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        match option {
            TypeOption::ReqRelaxed(on) => self.relaxed = on,
            TypeOption::ReqCorrelate(on) => self.correlate = on,
            TypeOption::ProbeRouter(on) => self.dealer.set_probe_router(on),
            other => return Err(unsupported_option(&other, socket_type)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Mailbox, Notifier};
    use crate::pipe::link;
    use crate::Frame;

    fn peer(req: &mut Req) -> Pipe {
        let mb = Mailbox::new();
        let (ours, theirs) = link(Notifier::Socket(mb.clone()), Notifier::Socket(mb), 0, 0);
        req.attach(ours, PeerMeta::default());
        theirs
    }

    fn wrong_state(e: &Error) -> bool {
        matches!(e, Error::WrongState(_))
    }

    #[test]
    fn strict_alternation() {
        let mut req = Req::default();
        let mut p = peer(&mut req);
        assert!(wrong_state(&req.recv().unwrap_err()));
        req.send(Message::from("q")).unwrap();
        assert!(!req.can_send());
        assert!(wrong_state(
            &req.send(Message::from("q2")).unwrap_err().error
        ));
        assert_eq!(p.reader.try_read().unwrap(), Message::multipart(["", "q"]));
        assert!(matches!(req.recv(), Err(Error::WouldBlock)));
        // A reply without the delimiter is dropped; the good one is taken.
        p.writer.try_write(Message::from("bad")).unwrap();
        p.writer.try_write(Message::multipart(["", "a"])).unwrap();
        req.activated(p.id());
        assert!(req.can_recv());
        assert_eq!(req.recv().unwrap(), Message::from("a"));
        assert!(req.can_send());
        assert!(wrong_state(&req.recv().unwrap_err()));
    }

    #[test]
    fn replies_from_other_peers_are_dropped() {
        let mut req = Req::default();
        let mut a = peer(&mut req);
        let mut b = peer(&mut req);
        req.send(Message::from("q")).unwrap();
        let (asked, other) = if a.reader.try_read().is_ok() {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        other
            .writer
            .try_write(Message::multipart(["", "fake"]))
            .unwrap();
        req.activated(other.id());
        assert!(matches!(req.recv(), Err(Error::WouldBlock)));
        asked
            .writer
            .try_write(Message::multipart(["", "real"]))
            .unwrap();
        req.activated(asked.id());
        assert_eq!(req.recv().unwrap(), Message::from("real"));
    }

    #[test]
    fn correlate_and_relaxed() {
        let mut req = Req::default();
        req.set_option(TypeOption::ReqRelaxed(true), SocketType::Req)
            .unwrap();
        req.set_option(TypeOption::ReqCorrelate(true), SocketType::Req)
            .unwrap();
        let mut p = peer(&mut req);
        req.send(Message::from("q1")).unwrap();
        req.send(Message::from("q2")).unwrap();
        let r1 = p.reader.try_read().unwrap();
        let r2 = p.reader.try_read().unwrap();
        assert_eq!(r1.len(), 3);
        assert_eq!(r1[0].len(), 4);
        assert_ne!(r1[0], r2[0]);
        // The late reply to q1 is dropped; the reply to q2 is taken.
        let reply = |req: &Message, body: &'static str| {
            Message::multipart([req[0].clone(), req[1].clone(), Frame::from(body)])
        };
        p.writer.try_write(reply(&r1, "a1")).unwrap();
        p.writer.try_write(reply(&r2, "a2")).unwrap();
        req.activated(p.id());
        assert_eq!(req.recv().unwrap(), Message::from("a2"));
        // A reply without the id is malformed when correlating.
        req.send(Message::from("q3")).unwrap();
        p.writer.try_write(Message::multipart(["", "x"])).unwrap();
        req.activated(p.id());
        assert!(matches!(req.recv(), Err(Error::WouldBlock)));
    }

    #[test]
    fn blocked_send_returns_the_message_unchanged() {
        let mut req = Req::default();
        req.set_option(TypeOption::ReqCorrelate(true), SocketType::Req)
            .unwrap();
        let e = req.send(Message::multipart(["a", "b"])).unwrap_err();
        assert!(matches!(e.error, Error::WouldBlock));
        assert_eq!(e.message, Message::multipart(["a", "b"]));
        assert!(req
            .set_option(TypeOption::RouterMandatory(true), SocketType::Req)
            .is_err());
    }
}
