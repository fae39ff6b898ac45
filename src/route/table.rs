//! `RoutingTable`: the outbound side of a ROUTER, one pipe per peer routing id.
//!
//! What must hold:
//! - An id names at most one pipe and a pipe has at most one id, in both maps at once.
//! - A pipe gets the id its peer asked for when that id is free (or taken over), a
//!   generated libzmq-style id (5 bytes: `0x00` then a big-endian counter) not in use when
//!   it asked for none, and is refused while a live peer holds the id it asked for.
//! - A routed message goes whole to its pipe or comes back; a pipe found closed is removed.

use crate::pipe::{IdMap, PipeId, PipeWriter, WriteError};
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
    /// The pipe that held that id and lost it to the new one (handover); the caller drops
    /// its reading end too.
    pub(crate) displaced: Option<PipeId>,
}

/// Routing ids to pipes, with libzmq-style id generation.
///
/// A pipe keeps its name (`by_pipe`) until [`RoutingTable::remove_pipe`], so messages
/// still queued from a peer that left are delivered under its id; it stops being routable
/// (`by_id`) as soon as its peer is known to be gone. Every entry of `by_id` is named in
/// `by_pipe` under the same id, and `names` is the inverse of `by_pipe`: a name is held by
/// one pipe, routable or still being drained, until that pipe is removed.
#[derive(Debug)]
pub(crate) struct RoutingTable {
    by_id: HashMap<Bytes, PipeWriter>,
    by_pipe: IdMap<Bytes>,
    names: HashMap<Bytes, PipeId>,
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
            by_pipe: IdMap::default(),
            names: HashMap::new(),
            next_generated: seed,
        }
    }

    /// Adds `writer` under `wanted` (empty = generate one). If a pipe holds `wanted`, the
    /// new one takes it over with `handover` (the holder, named in [`Added::displaced`],
    /// loses its name and with it what it still has queued). Otherwise the writer comes
    /// back, as libzmq ignores a peer with a duplicate id, even when the holder's peer is
    /// gone but its messages are still being read: the caller tries again once the holder
    /// is removed, so one peer's messages never interleave across its reconnect.
    pub(crate) fn add(
        &mut self,
        wanted: Bytes,
        writer: PipeWriter,
        handover: bool,
    ) -> Result<Added, PipeWriter> {
        let mut displaced = None;
        let routing_id = match self.names.get(&wanted).copied() {
            _ if wanted.is_empty() => self.generate(),
            None => wanted,
            Some(holder) if handover => {
                self.by_id.remove(&wanted);
                self.by_pipe.remove(&holder);
                displaced = Some(holder);
                wanted
            }
            Some(_) => {
                self.unroute_if_closed_id(&wanted);
                return Err(writer);
            }
        };
        self.by_pipe.insert(writer.id(), routing_id.clone());
        self.names.insert(routing_id.clone(), writer.id());
        self.by_id.insert(routing_id.clone(), writer);
        Ok(Added {
            routing_id,
            displaced,
        })
    }

    /// The routing id of pipe `id`.
    pub(crate) fn routing_id(&self, id: PipeId) -> Option<&Bytes> {
        self.by_pipe.get(&id)
    }

    /// Forgets pipe `id` entirely, returning its writer if it was still routable.
    pub(crate) fn remove_pipe(&mut self, id: PipeId) -> Option<PipeWriter> {
        let routing_id = self.by_pipe.remove(&id)?;
        if self.names.get(&routing_id) == Some(&id) {
            self.names.remove(&routing_id);
        }
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

    /// Stops routing to the pipe named `routing_id` if its peer has gone away.
    fn unroute_if_closed_id(&mut self, routing_id: &Bytes) {
        if self
            .by_id
            .get(routing_id)
            .is_some_and(PipeWriter::is_closed)
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

    /// Counts a message for `routing_id`'s peer dropped at its high-water mark.
    pub(crate) fn note_dropped(&mut self, routing_id: &[u8]) {
        if let Some(writer) = self.by_id.get_mut(routing_id) {
            writer.note_dropped(crate::DropReason::HighWaterMark, 1);
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
            if !self.names.contains_key(&id) {
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
            &t.add(Bytes::new(), w1, false).unwrap().routing_id[..],
            [0, 0xff, 0xff, 0xff, 0xfe]
        );
        assert_eq!(
            &t.add(Bytes::new(), w2, false).unwrap().routing_id[..],
            [0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            &t.add(Bytes::new(), w3, false).unwrap().routing_id[..],
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
        t.add(taken.clone(), w1, false).unwrap();
        let got = t.add(Bytes::new(), w2, false).unwrap().routing_id;
        assert_eq!(&got[..], [0, 0, 0, 0, 8]);
    }

    #[test]
    fn routes_by_id_and_reports_unknown_and_full() {
        let mut t = RoutingTable::with_seed(0);
        let (w, mut r) = new_pipe(1, 1);
        t.add(Bytes::from_static(b"A"), w, false).unwrap();
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
    fn a_duplicate_id_without_handover_is_refused_while_its_holder_lives() {
        let mut t = RoutingTable::with_seed(0);
        let (w1, r1) = new_pipe(1, 0);
        let (w2, _r2) = new_pipe(2, 0);
        t.add(Bytes::from_static(b"X"), w1, false).unwrap();
        let w2 = t.add(Bytes::from_static(b"X"), w2, false).unwrap_err();
        assert_eq!(w2.id(), 2);
        t.send(b"X", Message::from("to first")).unwrap();
        // Once the holder's peer is gone and its pipe removed, the id is free.
        drop(r1);
        let w2 = t.add(Bytes::from_static(b"X"), w2, false).unwrap_err();
        t.remove_pipe(1);
        let added = t.add(Bytes::from_static(b"X"), w2, false).unwrap();
        assert_eq!(&added.routing_id[..], b"X");
    }

    #[test]
    fn handover_displaces_the_old_pipe() {
        let mut t = RoutingTable::with_seed(0);
        let (w1, _r1) = new_pipe(1, 0);
        let (w2, mut r2) = new_pipe(2, 0);
        t.add(Bytes::from_static(b"X"), w1, false).unwrap();
        let added = t.add(Bytes::from_static(b"X"), w2, true).unwrap();
        assert_eq!(&added.routing_id[..], b"X");
        assert_eq!(added.displaced, Some(1));
        assert!(t.routing_id(1).is_none());
        t.send(b"X", Message::from("to second")).unwrap();
        assert_eq!(r2.try_read().unwrap(), Message::from("to second"));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_dead_holder_keeps_its_name_until_removed() {
        let mut t = RoutingTable::with_seed(0);
        let (w1, r1) = new_pipe(1, 0);
        let (w2, r2) = new_pipe(2, 0);
        t.add(Bytes::from_static(b"X"), w1, false).unwrap();
        drop(r1);
        // The dead pipe keeps its name for what it still has queued, and the newcomer
        // waits for it to be removed.
        let w2 = t.add(Bytes::from_static(b"X"), w2, false).unwrap_err();
        assert_eq!(t.len(), 0, "a dead holder is not routable");
        assert_eq!(t.routing_id(1).map(|b| &b[..]), Some(&b"X"[..]));
        assert!(t.remove_pipe(1).is_none());
        let added = t.add(Bytes::from_static(b"X"), w2, false).unwrap();
        assert_eq!(&added.routing_id[..], b"X");
        assert!(added.displaced.is_none());
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
        t.add(Bytes::from_static(b"A"), w1, false).unwrap();
        t.add(Bytes::from_static(b"B"), w2, false).unwrap();
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
