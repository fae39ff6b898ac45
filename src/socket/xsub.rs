//! XSUB (RFC 29): fair-queues messages from its publishers and sends subscriptions
//! upstream as messages. Also the engine of SUB.
//!
//! What must hold:
//! - Subscriptions are counted: every subscribe goes upstream (the XPUB dedupes per peer),
//!   a cancel only when the count of its topic reaches zero (libzmq `xsub.cpp`).
//! - Subscriptions and cancels are queued on every pipe whatever its high-water mark, so
//!   none is lost (libzmq drops one at the mark; this is stricter). Other messages go
//!   upstream to every peer with room.
//! - Every new link, and every link re-established after a reconnect, first gets the whole
//!   current subscription set, once per topic.
//! - With `filter` (SUB), a received message whose first frame matches no subscription is
//!   dropped; an XSUB, like libzmq's, passes up all it gets (the publisher filtered).

use super::pattern::{unsupported_option, Pattern, PeerMeta, TypeOption};
use super::xpub::{subscription, subscription_message};
use crate::pipe::{Pipe, PipeId};
use crate::route::{Distributor, FairQueue, SubscriptionCounts};
use crate::{Error, Message, Result, SendError, SocketType};
use bytes::Bytes;

/// XSUB socket rules (and, with `filter`, SUB's).
#[derive(Debug, Default)]
pub(crate) struct XSub {
    fq: FairQueue,
    dist: Distributor,
    subscriptions: SubscriptionCounts,
    filter: bool,
    /// A message taken while polling, returned by the next `recv`.
    ready: Option<Message>,
    closed: Vec<PipeId>,
}

impl XSub {
    /// The rules of a SUB: received messages are filtered against the subscriptions.
    pub(crate) fn filtering() -> XSub {
        XSub {
            filter: true,
            ..XSub::default()
        }
    }

    /// Applies one subscription (`frame` = `0x01`/`0x00` + `topic`) and sends it upstream
    /// if it must go.
    fn apply(&mut self, subscribe: bool, topic: &[u8], frame: Message) {
        let send = if subscribe {
            self.subscriptions.add(topic);
            true
        } else {
            self.subscriptions.remove(topic)
        };
        if send {
            self.dist.force_to_all(frame, &mut self.closed);
            self.closed.clear(); // The fair queue reports those links once drained.
        }
    }

    /// Adds a subscription, as `send` of `0x01`+topic would.
    pub(crate) fn subscribe(&mut self, topic: &Bytes) {
        self.apply(true, topic, subscription_message(true, topic));
    }

    /// Drops one subscription, as `send` of `0x00`+topic would.
    pub(crate) fn unsubscribe(&mut self, topic: &Bytes) {
        self.apply(false, topic, subscription_message(false, topic));
    }

    /// Sends the whole subscription set into link `id`.
    fn resend_subscriptions(&mut self, id: PipeId) {
        let topics = self.subscriptions.topics();
        log::debug!("sending {} subscription(s) to link {id}", topics.len());
        for topic in topics {
            let msg = subscription_message(true, &topic);
            if !self.dist.force_to(id, msg, &mut self.closed) {
                break;
            }
        }
        self.closed.clear();
    }

    /// Whether at least one link is open and every open one has had all this socket wrote
    /// to it taken by its other end (the slow-joiner wait); if not, those links notify
    /// once drained.
    pub(crate) fn subscriptions_taken(&mut self) -> bool {
        let (open, taken) = self.dist.all_taken();
        open > 0 && taken
    }

    fn next_message(&mut self) -> Option<Message> {
        if let Some(msg) = self.ready.take() {
            return Some(msg);
        }
        let mut closed = std::mem::take(&mut self.closed);
        let mut found = None;
        while let Some((msg, _)) = self.fq.recv(&mut closed) {
            let wanted = !self.filter
                || msg
                    .first()
                    .is_some_and(|first| self.subscriptions.matches(first));
            if wanted {
                found = Some(msg);
                break;
            }
        }
        for id in closed.drain(..) {
            self.dist.remove(id);
        }
        self.closed = closed;
        found
    }
}

impl Pattern for XSub {
    fn attach(&mut self, pipe: Pipe, _peer: PeerMeta) {
        let id = pipe.id();
        self.fq.attach(pipe.reader);
        self.dist.attach(pipe.writer);
        self.resend_subscriptions(id);
    }

    fn detach(&mut self, id: PipeId) {
        self.fq.remove(id);
        self.dist.remove(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.fq.activated(id);
        self.dist.activated(id);
    }

    fn reconnected(&mut self, id: PipeId) {
        self.resend_subscriptions(id);
    }

    fn send(&mut self, msg: Message) -> Result<(), SendError> {
        if msg.first().and_then(subscription).is_none() {
            self.dist.send_to_all(msg, &mut self.closed);
            self.closed.clear();
            return Ok(());
        }
        if msg.len() == 1 {
            if let Some((subscribe, topic)) = msg.first().and_then(subscription) {
                let topic = topic.to_vec();
                self.apply(subscribe, &topic, msg);
            }
            return Ok(());
        }
        // Like libzmq, each frame of such a message is handled on its own.
        for frame in msg.into_frames() {
            match subscription(&frame) {
                Some((subscribe, topic)) => {
                    let topic = topic.to_vec();
                    self.apply(subscribe, &topic, Message::from(frame))
                }
                None => {
                    self.dist
                        .send_to_all(Message::from(frame), &mut self.closed);
                    self.closed.clear();
                }
            }
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Message> {
        self.next_message().ok_or(Error::WouldBlock)
    }

    fn can_send(&mut self) -> bool {
        true
    }

    fn subscriptions_taken(&mut self) -> Option<bool> {
        Some(XSub::subscriptions_taken(self))
    }

    fn can_recv(&mut self) -> bool {
        if self.ready.is_none() {
            self.ready = self.next_message();
        }
        self.ready.is_some()
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        match option {
            TypeOption::Subscribe(topic) => self.subscribe(&topic),
            TypeOption::Unsubscribe(topic) => self.unsubscribe(&topic),
            other => return Err(unsupported_option(&other, socket_type)),
        }
        Ok(())
    }
}
