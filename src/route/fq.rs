//! `FairQueue`: round-robin over the inbound pipes that have messages (PULL, DEALER, ROUTER,
//! REP, SUB).
//!
//! What must hold: after each whole message the next active pipe gets its turn, so one
//! busy peer cannot starve the others; an empty pipe leaves the rotation until it is
//! notified; a closed pipe is removed once drained and reported.

use super::active::ActiveSet;
use crate::pipe::{PipeId, PipeReader, ReadError};
use crate::Message;

/// Round-robin over readable pipes.
#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    pipes: ActiveSet<PipeReader>,
    current: usize,
    /// Pipes `has_message` found closed and drained, removed but not yet reported.
    gone: Vec<PipeId>,
}

impl FairQueue {
    /// Adds a pipe to the rotation.
    pub(crate) fn attach(&mut self, reader: PipeReader) {
        self.pipes.push_active(reader);
    }

    /// A notification for pipe `id`: it may have messages, or be closed; try it again.
    pub(crate) fn activated(&mut self, id: PipeId) {
        if let Some(i) = self.pipes.position(id) {
            self.pipes.activate(i);
        }
    }

    /// Removes pipe `id`, returning its end.
    pub(crate) fn remove(&mut self, id: PipeId) -> Option<PipeReader> {
        let r = self.pipes.remove(id)?;
        self.fix_current();
        Some(r)
    }

    /// Takes the next message and the pipe it came from. Ids of pipes found closed and
    /// drained are pushed to `closed`.
    pub(crate) fn recv(&mut self, closed: &mut Vec<PipeId>) -> Option<(Message, PipeId)> {
        self.take_gone(closed);
        while self.pipes.active() > 0 {
            let i = self.current;
            match self.pipes.get_mut(i).try_read() {
                Ok(msg) => {
                    let id = self.pipes.get_mut(i).id();
                    self.current = (i + 1) % self.pipes.active();
                    return Some((msg, id));
                }
                Err(ReadError::Empty) => self.pipes.deactivate(i),
                Err(ReadError::Closed) => {
                    let r = self.pipes.remove_at(i);
                    closed.push(r.id());
                }
            }
            self.fix_current();
        }
        None
    }

    /// Whether a message is ready now (for polling). Empty pipes are deactivated; closed and
    /// drained ones are removed and reported by the next `recv` or `take_gone` (deactivating
    /// them instead would lose them: no notification comes for a pipe whose writer is gone).
    pub(crate) fn has_message(&mut self) -> bool {
        while self.pipes.active() > 0 {
            let i = self.current;
            match self.pipes.get_mut(i).poll_state() {
                Ok(()) => return true,
                Err(ReadError::Empty) => self.pipes.deactivate(i),
                Err(ReadError::Closed) => {
                    let r = self.pipes.remove_at(i);
                    self.gone.push(r.id());
                }
            }
            self.fix_current();
        }
        false
    }

    /// Reports the pipes `has_message` removed as closed.
    pub(crate) fn take_gone(&mut self, closed: &mut Vec<PipeId>) {
        closed.append(&mut self.gone);
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
    use crate::pipe::{pipe, PipeWriter};

    fn setup(n: u64) -> (FairQueue, Vec<PipeWriter>) {
        let mut fq = FairQueue::default();
        let mut writers = Vec::new();
        for id in 0..n {
            let mb = Mailbox::new();
            let (w, r) = pipe(id, 0, Notifier::Socket(mb.clone()), Notifier::Socket(mb));
            fq.attach(r);
            writers.push(w);
        }
        (fq, writers)
    }

    #[test]
    fn takes_turns_between_pipes() {
        let (mut fq, mut writers) = setup(2);
        for i in 0..3 {
            writers[0]
                .try_write(Message::from(format!("a{i}")))
                .unwrap();
            writers[1]
                .try_write(Message::from(format!("b{i}")))
                .unwrap();
        }
        let mut closed = Vec::new();
        let got: Vec<u64> = (0..6).map(|_| fq.recv(&mut closed).unwrap().1).collect();
        assert_eq!(got, vec![0, 1, 0, 1, 0, 1]);
        assert!(fq.recv(&mut closed).is_none());
    }

    #[test]
    fn empty_pipe_returns_after_notification_and_closed_is_reported() {
        let (mut fq, mut writers) = setup(2);
        let mut closed = Vec::new();
        assert!(fq.recv(&mut closed).is_none());
        writers[1].try_write(Message::from("x")).unwrap();
        fq.activated(1);
        assert_eq!(fq.recv(&mut closed).unwrap().1, 1);
        drop(writers.remove(0));
        fq.activated(0);
        assert!(fq.recv(&mut closed).is_none());
        assert_eq!(closed, vec![0]);
    }
}
