//! `RoutingTable`: the outbound side of a ROUTER, one pipe per peer routing id.
//!
//! What must hold:
//! - An id names at most one pipe and a pipe has at most one id, in both maps at once.
//! - Every pipe gets an id: the one the peer asked for when it is free, else a generated
//!   libzmq-style id (5 bytes: `0x00` then a big-endian counter) that is not in use.
//! - A routed message goes whole to its pipe or comes back; a pipe found closed is removed.

use crate::pipe::{PipeId, PipeWriter, WriteError};
use crate::Message;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Why a routed message came back.
#[derive(Debug, PartialEq)]
pub(crate) enum RouteError {
    /// No pipe has that routing id (or its peer is gone).
    Unknown(Message),
    /// The pipe is at its high-water mark; the writer will be notified when it drains.
    Full(Message),
}

/// The outcome of adding a pipe.
#[derive(Debug)]
pub(crate) struct Added {
    /// The routing id the pipe was given.
    pub(crate) routing_id: Bytes,
    /// The live pipe that held that id and was taken over (handover); the caller drops it.
    pub(crate) displaced: Option<PipeWriter>,
}

/// Routing ids to pipes, with libzmq-style id generation.
///
/// A pipe keeps its name (`by_pipe`) until [`RoutingTable::remove_pipe`], so messages
/// still queued from a peer that left are delivered under its id; it stops being routable
/// (`by_id`) as soon as its peer is known to be gone. Every entry of `by_id` is named in
/// `by_pipe` under the same id.
#[derive(Debug)]
pub(crate) struct RoutingTable {
    by_id: HashMap<Bytes, PipeWriter>,
    by_pipe: HashMap<PipeId, Bytes>,
    next_generated: u32,
}

impl Default for RoutingTable {
    fn default() -> Self {
        // Start the counter somewhere random-ish, as libzmq does, so that ids from two
        // runs of a program are unlikely to be confused with each other.
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        RoutingTable::with_seed(seed as u32)
    }
}

impl RoutingTable {
    /// A table whose generated ids count up from `seed`.
    pub(crate) fn with_seed(seed: u32) -> RoutingTable {
        RoutingTable {
            by_id: HashMap::new(),
            by_pipe: HashMap::new(),
            next_generated: seed,
        }
    }

    /// Adds `writer` under `wanted` (empty = generate one). If `wanted` is in use, the new
    /// pipe takes it over when the holder's peer is gone, or when `handover` is set (the
    /// holder is then handed back in [`Added::displaced`], no longer named); otherwise the
    /// new pipe gets a generated id.
    pub(crate) fn add(&mut self, wanted: Bytes, writer: PipeWriter, handover: bool) -> Added {
        let mut displaced = None;
        let routing_id = match self.by_id.get(&wanted) {
            _ if wanted.is_empty() => self.generate(),
            None => wanted,
            Some(holder) if holder.is_closed() => {
                self.by_id.remove(&wanted);
                wanted
            }
            Some(_) if handover => {
                if let Some(old) = self.by_id.remove(&wanted) {
                    self.by_pipe.remove(&old.id());
                    displaced = Some(old);
                }
                wanted
            }
            Some(_) => {
                log::debug!("routing id {wanted:?} is in use; the new peer gets a generated one");
                self.generate()
            }
        };
        self.by_pipe.insert(writer.id(), routing_id.clone());
        self.by_id.insert(routing_id.clone(), writer);
        Added {
            routing_id,
            displaced,
        }
    }

    /// The routing id of pipe `id`.
    pub(crate) fn routing_id(&self, id: PipeId) -> Option<&Bytes> {
        self.by_pipe.get(&id)
    }

    /// Forgets pipe `id` entirely, returning its writer if it was still routable.
    pub(crate) fn remove_pipe(&mut self, id: PipeId) -> Option<PipeWriter> {
        let routing_id = self.by_pipe.remove(&id)?;
        if self.by_id.get(&routing_id).is_some_and(|w| w.id() == id) {
            self.by_id.remove(&routing_id)
        } else {
            None
        }
    }

    /// Stops routing to pipe `id` if its peer has gone away (it keeps its name).
    pub(crate) fn unroute_if_closed(&mut self, id: PipeId) {
        let Some(routing_id) = self.by_pipe.get(&id) else {
            return;
        };
        if self
            .by_id
            .get(routing_id)
            .is_some_and(|w| w.id() == id && w.is_closed())
        {
            self.by_id.remove(routing_id);
        }
    }

    /// Writes `msg` to the pipe named `routing_id`.
    pub(crate) fn send(&mut self, routing_id: &[u8], msg: Message) -> Result<(), RouteError> {
        let Some(writer) = self.by_id.get_mut(routing_id) else {
            return Err(RouteError::Unknown(msg));
        };
        match writer.try_write(msg) {
            Ok(()) => Ok(()),
            Err(WriteError::Full(msg)) => Err(RouteError::Full(msg)),
            Err(WriteError::Closed(msg)) => {
                self.by_id.remove(routing_id);
                Err(RouteError::Unknown(msg))
            }
        }
    }

    /// Writes `msg` to pipe `id`, if it is routable (a probe on a re-established link).
    pub(crate) fn send_to_pipe(&mut self, id: PipeId, msg: Message) -> Result<(), RouteError> {
        let routing_id = match self.by_pipe.get(&id) {
            Some(rid) if self.by_id.get(rid).is_some_and(|w| w.id() == id) => rid.clone(),
            _ => return Err(RouteError::Unknown(msg)),
        };
        self.send(&routing_id, msg)
    }

    /// How many peers are routable.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// A fresh 5-byte id, `0x00` + big-endian counter, not in use.
    fn generate(&mut self) -> Bytes {
        loop {
            let mut id = BytesMut::with_capacity(5);
            id.put_u8(0);
            id.put_u32(self.next_generated);
            self.next_generated = self.next_generated.wrapping_add(1);
            let id = id.freeze();
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Mailbox, Notifier};
    use crate::pipe::{pipe, PipeReader, ReadError};

    fn new_pipe(id: PipeId, hwm: usize) -> (PipeWriter, PipeReader) {
        let mb = Mailbox::new();
        pipe(id, hwm, Notifier::Socket(mb.clone()), Notifier::Socket(mb))
    }

    #[test]
    fn generated_ids_are_five_bytes_counting_up() {
        let mut t = RoutingTable::with_seed(0xffff_fffe);
        let (w1, _r1) = new_pipe(1, 0);
        let (w2, _r2) = new_pipe(2, 0);
        let (w3, _r3) = new_pipe(3, 0);
        assert_eq!(
            &t.add(Bytes::new(), w1, false).routing_id[..],
            [0, 0xff, 0xff, 0xff, 0xfe]
        );
        assert_eq!(
            &t.add(Bytes::new(), w2, false).routing_id[..],
            [0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            &t.add(Bytes::new(), w3, false).routing_id[..],
            [0, 0, 0, 0, 0]
        );
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn generation_skips_ids_in_use() {
        let mut t = RoutingTable::with_seed(7);
        let (w1, _r1) = new_pipe(1, 0);
        let (w2, _r2) = new_pipe(2, 0);
        let taken = Bytes::from_static(&[0, 0, 0, 0, 7]);
        t.add(taken.clone(), w1, false);
        let got = t.add(Bytes::new(), w2, false).routing_id;
        assert_eq!(&got[..], [0, 0, 0, 0, 8]);
    }

    #[test]
    fn routes_by_id_and_reports_unknown_and_full() {
        let mut t = RoutingTable::with_seed(0);
        let (w, mut r) = new_pipe(1, 1);
        t.add(Bytes::from_static(b"A"), w, false);
        assert_eq!(t.routing_id(1).map(|b| &b[..]), Some(&b"A"[..]));
        t.send(b"A", Message::from("m1")).unwrap();
        assert_eq!(
            t.send(b"A", Message::from("m2")),
            Err(RouteError::Full(Message::from("m2")))
        );
        assert_eq!(
            t.send(b"B", Message::from("m3")),
            Err(RouteError::Unknown(Message::from("m3")))
        );
        assert_eq!(r.try_read().unwrap(), Message::from("m1"));
        assert_eq!(r.try_read(), Err(ReadError::Empty));
    }

    #[test]
    fn duplicate_id_without_handover_gets_a_generated_id() {
        let mut t = RoutingTable::with_seed(0);
        let (w1, mut r1) = new_pipe(1, 0);
        let (w2, _r2) = new_pipe(2, 0);
        t.add(Bytes::from_static(b"X"), w1, false);
        let added = t.add(Bytes::from_static(b"X"), w2, false);
        assert_eq!(added.routing_id.len(), 5);
        assert!(added.displaced.is_none());
        t.send(b"X", Message::from("to first")).unwrap();
        assert_eq!(r1.try_read().unwrap(), Message::from("to first"));
    }

    #[test]
    fn handover_displaces_the_old_pipe() {
        let mut t = RoutingTable::with_seed(0);
        let (w1, _r1) = new_pipe(1, 0);
        let (w2, mut r2) = new_pipe(2, 0);
        t.add(Bytes::from_static(b"X"), w1, false);
        let added = t.add(Bytes::from_static(b"X"), w2, true);
        assert_eq!(&added.routing_id[..], b"X");
        assert_eq!(added.displaced.map(|w| w.id()), Some(1));
        assert!(t.routing_id(1).is_none());
        t.send(b"X", Message::from("to second")).unwrap();
        assert_eq!(r2.try_read().unwrap(), Message::from("to second"));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn dead_holder_gives_its_id_up_but_keeps_its_name() {
        let mut t = RoutingTable::with_seed(0);
        let (w1, r1) = new_pipe(1, 0);
        let (w2, r2) = new_pipe(2, 0);
        t.add(Bytes::from_static(b"X"), w1, false);
        drop(r1);
        let added = t.add(Bytes::from_static(b"X"), w2, false);
        assert_eq!(&added.routing_id[..], b"X");
        assert!(added.displaced.is_none());
        // The dead pipe keeps its name for what it still has queued.
        assert_eq!(t.routing_id(1).map(|b| &b[..]), Some(&b"X"[..]));
        assert!(t.remove_pipe(1).is_none());
        drop(r2);
        assert_eq!(
            t.send(b"X", Message::from("m")),
            Err(RouteError::Unknown(Message::from("m")))
        );
        assert_eq!(t.len(), 0);
        assert_eq!(t.routing_id(2).map(|b| &b[..]), Some(&b"X"[..]));
        assert!(t.remove_pipe(2).is_none());
        assert!(t.routing_id(2).is_none());
    }

    #[test]
    fn unroute_if_closed_keeps_live_pipes_and_names() {
        let mut t = RoutingTable::with_seed(0);
        let (w1, mut r1) = new_pipe(1, 0);
        let (w2, r2) = new_pipe(2, 0);
        t.add(Bytes::from_static(b"A"), w1, false);
        t.add(Bytes::from_static(b"B"), w2, false);
        drop(r2);
        t.unroute_if_closed(1);
        t.unroute_if_closed(2);
        assert_eq!(t.len(), 1);
        assert_eq!(t.routing_id(2).map(|b| &b[..]), Some(&b"B"[..]));
        assert_eq!(
            t.send_to_pipe(2, Message::from("m")),
            Err(RouteError::Unknown(Message::from("m")))
        );
        t.send_to_pipe(1, Message::from("probe")).unwrap();
        assert_eq!(r1.try_read().unwrap(), Message::from("probe"));
        assert!(t.remove_pipe(1).is_some());
        assert!(t.remove_pipe(1).is_none());
    }
}
