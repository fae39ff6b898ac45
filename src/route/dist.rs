//! `Distributor`: one message to many outbound pipes (PUB/XPUB to subscribers, XSUB/SUB
//! subscriptions upstream).
//!
//! What must hold: sending never blocks and never fails as a whole. A pipe at its
//! high-water mark loses that message while the others still get it (RFC 29: a publisher
//! drops per subscriber), and is skipped without a write attempt until its reader frees
//! room and the notification arrives. A pipe whose reader is gone is removed and reported.
//! Each pipe gets a message at most once however often it was marked. Cloning a message
//! for each pipe costs reference counts, not copies of the frames.

use crate::pipe::{fence_for_wakeups, IdMap, PipeId, PipeWriter, WriteError};
use crate::DropReason;
use crate::Message;

#[derive(Debug)]
struct Slot {
    writer: PipeWriter,
    /// The last write found the pipe full; wait for its notification.
    full: bool,
    /// Chosen for the next `send_to_marked`.
    marked: bool,
}

/// Sends copies of a message to all pipes or to the ones marked for it.
#[derive(Debug, Default)]
pub(crate) struct Distributor {
    slots: Vec<Slot>,
    index: IdMap<usize>,
    /// Slot indices marked since the last send, each once.
    marked: Vec<usize>,
    /// Scratch for the pipes found closed during one send.
    gone: Vec<usize>,
    /// Scratch batch for `force_to`.
    batch: Vec<Message>,
    /// Scratch for the pipes one send queued on, whose readers it may have to wake.
    queued: Vec<usize>,
}

impl Distributor {
    /// Adds an outbound pipe.
    pub(crate) fn attach(&mut self, writer: PipeWriter) {
        self.unmark_all();
        let id = writer.id();
        if let Some(&i) = self.index.get(&id) {
            self.slots[i].writer = writer;
            self.slots[i].full = false;
            return;
        }
        self.index.insert(id, self.slots.len());
        self.slots.push(Slot {
            writer,
            full: false,
            marked: false,
        });
    }

    /// Removes pipe `id`, returning its end.
    pub(crate) fn remove(&mut self, id: PipeId) -> Option<PipeWriter> {
        self.unmark_all();
        let i = self.index.remove(&id)?;
        let slot = self.slots.swap_remove(i);
        if let Some(moved) = self.slots.get(i) {
            self.index.insert(moved.writer.id(), i);
        }
        Some(slot.writer)
    }

    /// Whether pipe `id` is attached.
    pub(crate) fn contains(&self, id: PipeId) -> bool {
        self.index.contains_key(&id)
    }

    /// How many pipes are attached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// How many attached pipes are open, and whether their readers have taken everything
    /// written to them. The pipes not drained notify when they are (see
    /// [`PipeWriter::all_taken`]). Not on the message path.
    pub(crate) fn all_taken(&mut self) -> (usize, bool) {
        let mut open = 0;
        let mut taken = true;
        for slot in &mut self.slots {
            if slot.writer.is_closed() {
                continue;
            }
            open += 1;
            taken &= slot.writer.all_taken();
        }
        (open, taken)
    }

    /// A notification for pipe `id`: it may have room again.
    pub(crate) fn activated(&mut self, id: PipeId) {
        if let Some(&i) = self.index.get(&id) {
            self.slots[i].full = false;
        }
    }

    /// Chooses pipe `id` for the next [`Distributor::send_to_marked`]; unknown ids and
    /// repeated marks are ignored.
    pub(crate) fn mark(&mut self, id: PipeId) {
        if let Some(&i) = self.index.get(&id) {
            let slot = &mut self.slots[i];
            if !slot.marked {
                slot.marked = true;
                self.marked.push(i);
            }
        }
    }

    /// Forgets the marks made since the last send.
    pub(crate) fn unmark_all(&mut self) {
        for i in self.marked.drain(..) {
            if let Some(slot) = self.slots.get_mut(i) {
                slot.marked = false;
            }
        }
    }

    /// Sends `msg` to every marked pipe with room and clears the marks. Returns how many
    /// pipes took it. Ids of pipes found closed are removed and pushed to `closed`.
    pub(crate) fn send_to_marked(&mut self, msg: Message, closed: &mut Vec<PipeId>) -> usize {
        let mut targets = std::mem::take(&mut self.marked);
        for &i in &targets {
            self.slots[i].marked = false;
        }
        let sent = self.deliver(targets.iter().copied(), msg);
        targets.clear();
        self.marked = targets;
        self.reap(closed);
        sent
    }

    /// Sends `msg` to every pipe with room. Returns how many took it. Ids of pipes found
    /// closed are removed and pushed to `closed`.
    pub(crate) fn send_to_all(&mut self, msg: Message, closed: &mut Vec<PipeId>) -> usize {
        self.unmark_all();
        let sent = self.deliver(0..self.slots.len(), msg);
        self.reap(closed);
        sent
    }

    /// Queues `msg` on pipe `id` whatever its high-water mark (subscriptions must not be
    /// lost). Returns false if the pipe is unknown or closed (then removed and reported).
    pub(crate) fn force_to(&mut self, id: PipeId, msg: Message, closed: &mut Vec<PipeId>) -> bool {
        let Some(&i) = self.index.get(&id) else {
            return false;
        };
        self.batch.push(msg);
        let ok = self.slots[i].writer.write_all(&mut self.batch).is_ok();
        self.batch.clear();
        if !ok {
            self.remove(id);
            closed.push(id);
        }
        ok
    }

    /// Queues `msg` on every pipe whatever its high-water mark (subscriptions upstream).
    pub(crate) fn force_to_all(&mut self, msg: Message, closed: &mut Vec<PipeId>) {
        self.unmark_all();
        for i in 0..self.slots.len() {
            self.batch.push(msg.clone());
            if self.slots[i].writer.write_all(&mut self.batch).is_err() {
                self.gone.push(i);
            }
            self.batch.clear();
        }
        self.reap(closed);
    }

    /// Queues `msg` on each target with room. The wake-up checks come after all the writes
    /// and one fence, not one fence per pipe: with N subscribers that is N - 1 fewer full
    /// fences per message.
    fn deliver(&mut self, targets: impl Iterator<Item = usize>, msg: Message) -> usize {
        let mut sent = 0;
        let mut queued = std::mem::take(&mut self.queued);
        for i in targets {
            let slot = &mut self.slots[i];
            if slot.full {
                slot.writer.note_dropped(DropReason::HighWaterMark, 1);
                continue;
            }
            match slot.writer.try_write_deferred(msg.clone()) {
                Ok(wake) => {
                    sent += 1;
                    if wake {
                        queued.push(i);
                    }
                }
                Err(WriteError::Full(_)) => {
                    log::trace!("pipe {} at its high-water mark: message dropped", {
                        slot.writer.id()
                    });
                    slot.writer.note_dropped(DropReason::HighWaterMark, 1);
                    slot.full = true;
                }
                Err(WriteError::Closed(_)) => self.gone.push(i),
            }
        }
        if !queued.is_empty() {
            fence_for_wakeups();
            for &i in &queued {
                self.slots[i].writer.wake_reader_fenced();
            }
            queued.clear();
        }
        self.queued = queued;
        sent
    }

    /// Removes the slots collected in `gone`, highest index first so indices stay valid.
    fn reap(&mut self, closed: &mut Vec<PipeId>) {
        if self.gone.is_empty() {
            return;
        }
        let mut gone = std::mem::take(&mut self.gone);
        gone.sort_unstable_by(|a, b| b.cmp(a));
        gone.dedup();
        for &i in &gone {
            let id = self.slots[i].writer.id();
            self.remove(id);
            closed.push(id);
        }
        gone.clear();
        self.gone = gone;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Mailbox, Notifier};
    use crate::pipe::{pipe, PipeReader};

    fn setup(n: u64, hwm: usize) -> (Distributor, Vec<PipeReader>) {
        let mut d = Distributor::default();
        let mut readers = Vec::new();
        for id in 0..n {
            let mb = Mailbox::new();
            let (w, r) = pipe(id, hwm, Notifier::Socket(mb.clone()), Notifier::Socket(mb));
            d.attach(w);
            readers.push(r);
        }
        (d, readers)
    }

    fn drain(r: &mut PipeReader) -> Vec<Message> {
        let mut v = Vec::new();
        while let Ok(m) = r.try_read() {
            v.push(m);
        }
        v
    }

    #[test]
    fn a_send_wakes_every_sleeping_reader_after_one_fence() {
        let mut d = Distributor::default();
        let mut readers = Vec::new();
        let mut mailboxes = Vec::new();
        for id in 0..3 {
            let mb = Mailbox::new();
            let (w, r) = pipe(
                id,
                0,
                Notifier::Socket(mb.clone()),
                Notifier::Socket(mb.clone()),
            );
            d.attach(w);
            readers.push(r);
            mailboxes.push(mb);
        }
        // Readers 0 and 2 find their pipes empty and go to sleep; reader 1 stays awake.
        for i in [0, 2] {
            assert!(readers[i].try_read().is_err());
        }
        assert!(mailboxes.iter().all(|mb| !mb.has_pending()));
        let mut closed = Vec::new();
        assert_eq!(d.send_to_all(Message::from("x"), &mut closed), 3);
        let woken: Vec<bool> = mailboxes.iter().map(|mb| mb.has_pending()).collect();
        assert_eq!(woken, [true, false, true]);
        for r in &mut readers {
            assert_eq!(drain(r), vec![Message::from("x")]);
        }
    }

    #[test]
    fn sends_to_all() {
        let (mut d, mut readers) = setup(3, 0);
        let mut closed = Vec::new();
        assert_eq!(d.send_to_all(Message::from(vec!["a", "b"]), &mut closed), 3);
        for r in &mut readers {
            assert_eq!(drain(r), vec![Message::from(vec!["a", "b"])]);
        }
        assert!(closed.is_empty());
    }

    #[test]
    fn sends_to_marked_once_each() {
        let (mut d, mut readers) = setup(3, 0);
        let mut closed = Vec::new();
        d.mark(2);
        d.mark(0);
        d.mark(2);
        d.mark(99);
        assert_eq!(d.send_to_marked(Message::from("x"), &mut closed), 2);
        assert_eq!(drain(&mut readers[0]).len(), 1);
        assert_eq!(drain(&mut readers[1]).len(), 0);
        assert_eq!(drain(&mut readers[2]).len(), 1);
        // Marks do not outlive a send.
        assert_eq!(d.send_to_marked(Message::from("y"), &mut closed), 0);
    }

    #[test]
    fn full_pipe_loses_messages_others_do_not() {
        let (mut d, mut readers) = setup(2, 2);
        let mut closed = Vec::new();
        for i in 0..5 {
            d.send_to_all(Message::from(format!("m{i}")), &mut closed);
            // Reader 1 keeps up; reader 0 never reads.
            assert_eq!(drain(&mut readers[1]).len(), 1);
        }
        let got = drain(&mut readers[0]);
        assert_eq!(got, vec![Message::from("m0"), Message::from("m1")]);
        // Room again, but no notice yet: still skipped.
        assert_eq!(d.send_to_all(Message::from("m5"), &mut closed), 1);
        d.activated(0);
        assert_eq!(d.send_to_all(Message::from("m6"), &mut closed), 2);
        assert_eq!(drain(&mut readers[0]), vec![Message::from("m6")]);
    }

    #[test]
    fn closed_pipes_are_removed_and_reported() {
        let (mut d, mut readers) = setup(3, 0);
        drop(readers.remove(0));
        drop(readers.remove(1)); // id 2
        let mut closed = Vec::new();
        assert_eq!(d.send_to_all(Message::from("x"), &mut closed), 1);
        closed.sort_unstable();
        assert_eq!(closed, vec![0, 2]);
        assert_eq!(d.len(), 1);
        assert!(d.contains(1));
        d.mark(1);
        assert_eq!(d.send_to_marked(Message::from("y"), &mut closed), 1);
        assert_eq!(drain(&mut readers[0]).len(), 2);
    }

    #[test]
    fn forced_messages_ignore_the_high_water_mark() {
        let (mut d, mut readers) = setup(2, 1);
        let mut closed = Vec::new();
        d.send_to_all(Message::from("fill"), &mut closed);
        d.force_to_all(Message::from("\x01sub"), &mut closed);
        assert!(d.force_to(1, Message::from("\x01again"), &mut closed));
        assert!(!d.force_to(7, Message::from("\x01nobody"), &mut closed));
        assert_eq!(drain(&mut readers[0]).len(), 2);
        assert_eq!(drain(&mut readers[1]).len(), 3);
        drop(readers.remove(0));
        assert!(!d.force_to(0, Message::from("\x01x"), &mut closed));
        assert_eq!(closed, vec![0]);
        assert_eq!(d.len(), 1);
    }
}
