//! `LoadBalancer`: round-robin over the outbound pipes that have room (PUSH, DEALER, REQ).
//!
//! What must hold: a message goes to exactly one pipe or comes back; a full pipe leaves the
//! rotation until its reader frees room; a closed pipe is dropped the first time it refuses.

use super::active::ActiveSet;
use crate::pipe::{PipeId, PipeWriter, WriteError};
use crate::Message;

/// Round-robin over writable pipes.
#[derive(Debug, Default)]
pub(crate) struct LoadBalancer {
    pipes: ActiveSet<PipeWriter>,
    current: usize,
}

impl LoadBalancer {
    /// Adds a pipe to the rotation.
    pub(crate) fn attach(&mut self, writer: PipeWriter) {
        self.pipes.push_active(writer);
    }

    /// A notification for pipe `id`: bring it back into the rotation if it has room.
    pub(crate) fn activated(&mut self, id: PipeId) {
        if let Some(i) = self.pipes.position(id) {
            if i >= self.pipes.active() && self.pipes.get_mut(i).has_room() {
                self.pipes.activate(i);
            }
        }
    }

    /// Removes pipe `id`, returning its end.
    pub(crate) fn remove(&mut self, id: PipeId) -> Option<PipeWriter> {
        let w = self.pipes.remove(id)?;
        self.fix_current();
        Some(w)
    }

    /// Sends to the next pipe with room. Returns the pipe used, or the message if none can
    /// take it now. Ids of pipes found closed are pushed to `closed`.
    pub(crate) fn send(
        &mut self,
        mut msg: Message,
        closed: &mut Vec<PipeId>,
    ) -> Result<PipeId, Message> {
        while self.pipes.active() > 0 {
            let i = self.current;
            match self.pipes.get_mut(i).try_write(msg) {
                Ok(()) => {
                    let id = self.pipes.get_mut(i).id();
                    self.current = (i + 1) % self.pipes.active();
                    return Ok(id);
                }
                Err(WriteError::Full(m)) => {
                    msg = m;
                    self.pipes.deactivate(i);
                }
                Err(WriteError::Closed(m)) => {
                    msg = m;
                    let w = self.pipes.remove_at(i);
                    closed.push(w.id());
                }
            }
            self.fix_current();
        }
        Err(msg)
    }

    /// Whether some pipe has room now (for polling). Pipes found full are deactivated.
    pub(crate) fn has_room(&mut self) -> bool {
        while self.pipes.active() > 0 {
            let i = self.current;
            if self.pipes.get_mut(i).has_room() {
                return true;
            }
            self.pipes.deactivate(i);
            self.fix_current();
        }
        false
    }

    /// How many pipes are attached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pipes.len()
    }

    fn fix_current(&mut self) {
        if self.current >= self.pipes.active() {
            self.current = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Mailbox, Notifier};
    use crate::pipe::{pipe, PipeReader, ReadError};

    fn pipes(n: u64, hwm: usize) -> (LoadBalancer, Vec<PipeReader>) {
        let mut lb = LoadBalancer::default();
        let mut readers = Vec::new();
        for id in 0..n {
            let mb = Mailbox::new();
            let (w, r) = pipe(id, hwm, Notifier::Socket(mb.clone()), Notifier::Socket(mb));
            lb.attach(w);
            readers.push(r);
        }
        (lb, readers)
    }

    fn count(r: &mut PipeReader) -> usize {
        let mut n = 0;
        while r.try_read().is_ok() {
            n += 1;
        }
        n
    }

    #[test]
    fn spreads_evenly() {
        let (mut lb, mut readers) = pipes(3, 0);
        let mut closed = Vec::new();
        for _ in 0..300 {
            lb.send(Message::from("x"), &mut closed).unwrap();
        }
        for r in &mut readers {
            assert_eq!(count(r), 100);
        }
    }

    #[test]
    fn skips_full_pipes_and_refuses_when_all_are_full() {
        let (mut lb, mut readers) = pipes(2, 2);
        let mut closed = Vec::new();
        for _ in 0..4 {
            lb.send(Message::from("x"), &mut closed).unwrap();
        }
        assert!(lb.send(Message::from("y"), &mut closed).is_err());
        assert!(!lb.has_room());
        // Reader 1 drains; its notification brings it back.
        assert_eq!(count(&mut readers[1]), 2);
        lb.activated(1);
        assert_eq!(lb.send(Message::from("z"), &mut closed), Ok(1));
        assert_eq!(readers[0].try_read().map(|_| ()), Ok(()));
        assert_eq!(readers[1].try_read().unwrap(), Message::from("z"));
        assert_eq!(readers[1].try_read(), Err(ReadError::Empty));
    }

    #[test]
    fn drops_closed_pipes() {
        let (mut lb, mut readers) = pipes(2, 0);
        drop(readers.remove(0));
        let mut closed = Vec::new();
        for _ in 0..4 {
            assert_eq!(lb.send(Message::from("x"), &mut closed), Ok(1));
        }
        assert_eq!(closed, vec![0]);
        assert_eq!(lb.len(), 1);
        assert_eq!(count(&mut readers[0]), 4);
    }
}
