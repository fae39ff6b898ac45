//! XPUB (RFC 29): sends each message to every peer subscribed to a prefix of its first
//! frame, and hands subscriptions to the application. Also the engine of PUB.
//!
//! What must hold:
//! - Sending never blocks: a peer at its high-water mark loses the message, the others
//!   still get it (the [`Distributor`] does that).
//! - Subscriptions (`0x01`+topic, `0x00`+topic) are read from a peer's pipe as soon as it
//!   is attached or notified, whatever the application does, and update the trie at once.
//! - The application sees a subscription only when it is the first for that topic (or
//!   always with `xpub_verbose`), a cancel only when the last subscriber of the topic goes
//!   (or always with `xpub_verboser`), as libzmq `xpub.cpp` does. With `xpub_manual` the
//!   trie changes only through `subscribe`/`unsubscribe`, applied to the peer whose
//!   subscription message was received last.
//! - A peer that goes away loses its subscriptions; the cancels that causes are passed up
//!   under the same rules. Other messages from peers (an XSUB may send any) are passed up.
//! - As a PUB it passes nothing up.

use super::pattern::{unsupported_option, Pattern, PeerMeta, TypeOption};
use crate::pipe::{IdMap, Pipe, PipeId, PipeReader, ReadError};
use crate::route::{Distributor, Removed, SubscriptionTrie};
use crate::{Error, Frame, Message, Result, SendError, SocketType};
use bytes::{BufMut, BytesMut};
use std::collections::VecDeque;

/// Splits a subscription frame into (subscribe?, topic); `None` for any other frame.
pub(super) fn subscription(frame: &Frame) -> Option<(bool, &[u8])> {
    match frame.first() {
        Some(&flag @ (0 | 1)) => Some((flag == 1, &frame[1..])),
        _ => None,
    }
}

/// Builds the one-frame message `0x01`+topic (subscribe) or `0x00`+topic (cancel).
pub(super) fn subscription_message(subscribe: bool, topic: &[u8]) -> Message {
    let mut body = BytesMut::with_capacity(topic.len() + 1);
    body.put_u8(u8::from(subscribe));
    body.put_slice(topic);
    Message::from(body.freeze())
}

/// Where a message waiting for `recv` came from (what `xpub_manual` acts on).
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A subscription or cancel sent by this peer.
    Peer(PipeId),
    /// A cancel caused by a peer going away.
    Gone,
    /// Not a subscription.
    Other,
}

/// XPUB socket rules (and, with `publisher_only`, PUB's).
#[derive(Debug, Default)]
pub(crate) struct XPub {
    dist: Distributor,
    subscriptions: SubscriptionTrie,
    /// What peers asked for in manual mode, to cancel when they go.
    manual_subscriptions: SubscriptionTrie,
    /// Subscription pipes by id (a notification for one of thousands is a lookup).
    readers: IdMap<PipeReader>,
    pending: VecDeque<(Message, Source)>,
    last_pipe: Option<PipeId>,
    verbose_subs: bool,
    verbose_unsubs: bool,
    manual: bool,
    publisher_only: bool,
    closed: Vec<PipeId>,
    /// Reading from peers stopped because `pending` is full (see `PENDING_LIMIT`).
    stalled: bool,
}

/// At most this many messages wait for `recv`. Past it the XPUB stops reading its peers'
/// pipes (they fill to their high-water marks and the peers are slowed by TCP flow control)
/// until the application takes half of them: a peer can never grow this queue without bound.
const PENDING_LIMIT: usize = 10_000;

impl XPub {
    /// The rules of a PUB: the same, but nothing is passed up.
    pub(crate) fn publisher() -> XPub {
        XPub {
            publisher_only: true,
            ..XPub::default()
        }
    }

    fn pass_up(&mut self, msg: Message, source: Source) {
        if !self.publisher_only {
            self.pending.push_back((msg, source));
        }
    }

    /// Reads everything queued on pipe `id`, until it is empty (which arms its notification).
    fn read_pipe(&mut self, id: PipeId) {
        if !self.readers.contains_key(&id) {
            return;
        }
        loop {
            if !self.publisher_only && self.pending.len() >= PENDING_LIMIT {
                self.stalled = true;
                return;
            }
            let Some(reader) = self.readers.get_mut(&id) else {
                return;
            };
            match reader.try_read() {
                Ok(msg) => {
                    log::trace!("XPUB: from peer {id}: {msg:?}");
                    self.handle_peer_message(msg, id)
                }
                Err(ReadError::Empty) => return,
                Err(ReadError::Closed) => {
                    self.terminate(id);
                    return;
                }
            }
        }
    }

    fn handle_peer_message(&mut self, msg: Message, id: PipeId) {
        if msg.first().and_then(subscription).is_none() {
            self.pass_up(msg, Source::Other);
            return;
        }
        // Like libzmq, every frame of such a message that looks like a subscription is one.
        for frame in msg.into_frames() {
            match subscription(&frame) {
                Some((subscribe, topic)) => {
                    let topic = topic.to_vec();
                    self.apply(subscribe, &topic, frame, id)
                }
                None => self.pass_up(Message::from(frame), Source::Other),
            }
        }
    }

    fn apply(&mut self, subscribe: bool, topic: &[u8], frame: Frame, id: PipeId) {
        if self.manual {
            if subscribe {
                self.manual_subscriptions.add(topic, id);
            } else {
                self.manual_subscriptions.remove(topic, id);
            }
            self.pass_up(Message::from(frame), Source::Peer(id));
            return;
        }
        let notify = if subscribe {
            self.subscriptions.add(topic, id) || self.verbose_subs
        } else {
            // libzmq also passes up a cancel for a topic the peer did not have.
            self.subscriptions.remove(topic, id) != Removed::OthersRemain || self.verbose_unsubs
        };
        if notify {
            self.pass_up(Message::from(frame), Source::Peer(id));
        }
    }

    /// How many attached peers hold a subscription matching `prefix`: the ones a message
    /// whose first frame is `prefix` would be sent to (the slow-joiner wait).
    pub(crate) fn subscribers(&self, prefix: &[u8]) -> usize {
        let mut peers = Vec::new();
        self.subscriptions.for_each_match(prefix, |p| {
            if self.dist.contains(p) {
                peers.push(p);
            }
        });
        peers.sort_unstable();
        peers.dedup();
        peers.len()
    }

    /// Forgets peer `id` and its subscriptions, passing up the cancels that causes.
    fn terminate(&mut self, id: PipeId) {
        self.readers.remove(&id);
        self.dist.remove(id);
        if self.last_pipe == Some(id) {
            self.last_pipe = None;
        }
        let mut cancels = Vec::new();
        if self.manual {
            self.manual_subscriptions
                .remove_pipe(id, |topic, _| cancels.push(topic.to_vec()));
            self.subscriptions.remove_pipe(id, |_, _| {});
        } else {
            let verbose = self.verbose_unsubs;
            self.subscriptions.remove_pipe(id, |topic, last| {
                if last || verbose {
                    cancels.push(topic.to_vec());
                }
            });
        }
        log::debug!("XPUB peer {id} gone, {} cancel(s)", cancels.len());
        for topic in cancels {
            self.pass_up(subscription_message(false, &topic), Source::Gone);
        }
    }
}

impl Pattern for XPub {
    fn attach(&mut self, pipe: Pipe, _peer: PeerMeta) {
        let id = pipe.id();
        self.dist.attach(pipe.writer);
        self.readers.insert(id, pipe.reader);
        self.read_pipe(id);
    }

    fn detach(&mut self, id: PipeId) {
        self.terminate(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.dist.activated(id);
        self.read_pipe(id);
    }

    fn send(&mut self, msg: Message) -> Result<(), SendError> {
        let Self {
            subscriptions,
            dist,
            ..
        } = self;
        if let Some(first) = msg.first() {
            subscriptions.for_each_match(first, |p| dist.mark(p));
        }
        let mut closed = std::mem::take(&mut self.closed);
        self.dist.send_to_marked(msg, &mut closed);
        for id in closed.drain(..) {
            self.terminate(id);
        }
        self.closed = closed;
        Ok(())
    }

    fn recv(&mut self) -> Result<Message> {
        let (msg, source) = self.pending.pop_front().ok_or(Error::WouldBlock)?;
        if self.stalled && self.pending.len() <= PENDING_LIMIT / 2 {
            // The stalled pipes were not read to empty, so no notification will come: read
            // them now.
            self.stalled = false;
            let ids: Vec<PipeId> = self.readers.keys().copied().collect();
            for id in ids {
                self.read_pipe(id);
            }
        }
        if self.manual {
            match source {
                Source::Peer(p) => self.last_pipe = self.dist.contains(p).then_some(p),
                Source::Gone => self.last_pipe = None,
                Source::Other => {}
            }
        }
        Ok(msg)
    }

    fn can_send(&mut self) -> bool {
        true
    }

    fn can_recv(&mut self) -> bool {
        !self.pending.is_empty()
    }

    fn subscribers(&mut self, prefix: &[u8]) -> Option<usize> {
        Some(XPub::subscribers(self, prefix))
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        match option {
            TypeOption::XpubVerbose(on) => {
                self.verbose_subs = on;
                self.verbose_unsubs = false;
            }
            TypeOption::XpubVerboser(on) => {
                self.verbose_subs = on;
                self.verbose_unsubs = on;
            }
            TypeOption::XpubManual(on) if !self.publisher_only => self.manual = on,
            TypeOption::Subscribe(topic) if self.manual => {
                if let Some(p) = self.last_pipe {
                    self.subscriptions.add(&topic, p);
                }
            }
            TypeOption::Unsubscribe(topic) if self.manual => {
                if let Some(p) = self.last_pipe {
                    self.subscriptions.remove(&topic, p);
                }
            }
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

    #[test]
    fn a_peer_cannot_grow_the_pending_queue_without_bound() {
        let mut xpub = XPub::default();
        xpub.set_option(TypeOption::XpubVerbose(true), SocketType::XPub)
            .unwrap();
        let mb = Mailbox::new();
        let (ours, mut peer) = link(Notifier::Socket(mb.clone()), Notifier::Socket(mb), 0, 0);
        let id = ours.id();
        // The peer sends far more distinct subscriptions than the limit.
        let total = PENDING_LIMIT * 2 + 10;
        for n in 0..total {
            let mut body = vec![1u8];
            body.extend_from_slice(n.to_string().as_bytes());
            peer.writer.try_write(Message::from(body)).unwrap();
        }
        xpub.attach(ours, PeerMeta::default());
        xpub.activated(id);
        assert_eq!(
            xpub.pending.len(),
            PENDING_LIMIT,
            "reading stops at the limit"
        );
        // Taking half resumes reading, and every subscription arrives in order.
        for n in 0..total {
            let msg = xpub
                .recv()
                .unwrap_or_else(|e| panic!("subscription {n} missing: {e}"));
            assert_eq!(&msg[0][1..], n.to_string().as_bytes());
            assert!(xpub.pending.len() <= PENDING_LIMIT);
        }
        assert!(xpub.recv().is_err());
    }
}
