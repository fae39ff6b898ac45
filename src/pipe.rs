//! Pipes: a bounded single-producer/single-consumer queue of whole messages between a
//! socket and one peer (a session on an I/O thread, or another socket over inproc).
//!
//! What must hold:
//! - Messages are whole: a pipe never holds part of a multipart message.
//! - The writer is refused (`Full`) once `hwm` messages wait in the shared queue; the reader
//!   takes the whole queue in one lock, so a pipe holds at most `hwm` shared plus the batch
//!   the reader is working through (libzmq likewise counts a watermark on each side).
//! - Wake-ups only on the transitions that matter: the reader is notified when it found the
//!   queue empty and a message arrives (or the writer goes away); the writer is notified
//!   when it found the queue full and the reader takes a batch (or the reader goes away).
//! - The reader pays one lock per batch, not per message; notifications run outside the lock.
//!
//! This version guards the shared queue with a mutex held for a few instructions; the
//! interface is what the rest of the crate relies on, so a lock-free queue can replace it.

use crate::mailbox::Notifier;
use crate::Message;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A process-wide unique pipe id. Both directions of one peer link share an id.
pub(crate) type PipeId = u64;

static NEXT_PIPE_ID: AtomicU64 = AtomicU64::new(1);

/// Allocates a fresh pipe id.
pub(crate) fn next_pipe_id() -> PipeId {
    NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug)]
struct Shared {
    id: PipeId,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Message>,
    hwm: usize,
    reader_asleep: bool,
    writer_blocked: bool,
    writer_gone: bool,
    reader_gone: bool,
    wake_reader: Notifier,
    wake_writer: Notifier,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates a pipe holding up to `hwm` messages (0 = unlimited). `wake_reader` is told when
/// the reader has something new to see, `wake_writer` when the writer may write again.
pub(crate) fn pipe(
    id: PipeId,
    hwm: usize,
    wake_reader: Notifier,
    wake_writer: Notifier,
) -> (PipeWriter, PipeReader) {
    let shared = Arc::new(Shared {
        id,
        state: Mutex::new(State {
            queue: VecDeque::new(),
            hwm,
            reader_asleep: false,
            writer_blocked: false,
            writer_gone: false,
            reader_gone: false,
            wake_reader,
            wake_writer,
        }),
    });
    (
        PipeWriter {
            shared: shared.clone(),
        },
        PipeReader {
            shared,
            batch: VecDeque::new(),
        },
    )
}

/// Why a write was refused; the message comes back.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The pipe is at its high-water mark; the writer will be notified when it drains.
    Full(Message),
    /// The reader is gone.
    Closed(Message),
}

/// Why a read returned nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Nothing queued; the reader will be notified when something arrives.
    Empty,
    /// Nothing queued and the writer is gone: the pipe is finished.
    Closed,
}

/// The writing end of a pipe.
#[derive(Debug)]
pub(crate) struct PipeWriter {
    shared: Arc<Shared>,
}

impl PipeWriter {
    /// The pipe's id.
    pub(crate) fn id(&self) -> PipeId {
        self.shared.id
    }

    /// Queues `msg` unless the pipe is full or closed.
    pub(crate) fn try_write(&mut self, msg: Message) -> Result<(), WriteError> {
        let mut state = self.shared.lock();
        if state.reader_gone {
            return Err(WriteError::Closed(msg));
        }
        if state.hwm != 0 && state.queue.len() >= state.hwm {
            state.writer_blocked = true;
            return Err(WriteError::Full(msg));
        }
        state.queue.push_back(msg);
        self.wake_reader_if_asleep(state);
        Ok(())
    }

    /// Queues every message of `batch` regardless of the high-water mark (an I/O thread
    /// delivering what it already decoded). Returns `Ok(true)` if the pipe is now at or over
    /// its mark, so the caller should stop reading from the network until notified.
    pub(crate) fn write_all(&mut self, batch: &mut Vec<Message>) -> Result<bool, ReadError> {
        let mut state = self.shared.lock();
        if state.reader_gone {
            batch.clear();
            return Err(ReadError::Closed);
        }
        state.queue.extend(batch.drain(..));
        let full = state.hwm != 0 && state.queue.len() >= state.hwm;
        if full {
            state.writer_blocked = true;
        }
        self.wake_reader_if_asleep(state);
        Ok(full)
    }

    /// Whether a write would be accepted now. If not, the writer will be notified.
    pub(crate) fn has_room(&self) -> bool {
        let mut state = self.shared.lock();
        if state.reader_gone {
            return true; // A write fails at once with Closed, which is news to act on.
        }
        let room = state.hwm == 0 || state.queue.len() < state.hwm;
        if !room {
            state.writer_blocked = true;
        }
        room
    }

    /// Makes `owner` the one told when this writer may write again.
    pub(crate) fn set_owner(&mut self, owner: Notifier) {
        self.shared.lock().wake_writer = owner;
    }

    /// Whether the reader has gone away.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().reader_gone
    }

    fn wake_reader_if_asleep(&self, mut state: MutexGuard<'_, State>) {
        if state.reader_asleep {
            state.reader_asleep = false;
            let notifier = state.wake_reader.clone();
            drop(state);
            notifier.notify(self.shared.id);
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.writer_gone = true;
        if !state.reader_gone {
            // Wake the reader whether or not it sleeps: it must learn the pipe is finished.
            state.reader_asleep = false;
            let notifier = state.wake_reader.clone();
            drop(state);
            notifier.notify(self.shared.id);
        }
    }
}

/// The reading end of a pipe.
#[derive(Debug)]
pub(crate) struct PipeReader {
    shared: Arc<Shared>,
    batch: VecDeque<Message>,
}

impl PipeReader {
    /// The pipe's id.
    pub(crate) fn id(&self) -> PipeId {
        self.shared.id
    }

    /// Makes `owner` the one told when this reader has something new.
    pub(crate) fn set_owner(&mut self, owner: Notifier) {
        self.shared.lock().wake_reader = owner;
    }

    /// Takes the next message.
    pub(crate) fn try_read(&mut self) -> Result<Message, ReadError> {
        if let Some(msg) = self.batch.pop_front() {
            return Ok(msg);
        }
        self.refill()?;
        self.batch.pop_front().ok_or(ReadError::Empty)
    }

    /// Whether a message is ready without blocking (refilling the batch if needed).
    /// When it returns false the reader will be notified of the next arrival.
    pub(crate) fn has_message(&mut self) -> bool {
        !self.batch.is_empty() || self.refill().is_ok()
    }

    /// `Ok` if a message is ready, else why not. Takes nothing, and does not move the
    /// shared queue into the batch, so the writer's high-water mark stays where it was.
    pub(crate) fn poll_state(&self) -> Result<(), ReadError> {
        if !self.batch.is_empty() {
            return Ok(());
        }
        let mut state = self.shared.lock();
        if !state.queue.is_empty() {
            Ok(())
        } else if state.writer_gone {
            Err(ReadError::Closed)
        } else {
            state.reader_asleep = true;
            Err(ReadError::Empty)
        }
    }

    fn refill(&mut self) -> Result<(), ReadError> {
        let mut state = self.shared.lock();
        if state.queue.is_empty() {
            if state.writer_gone {
                return Err(ReadError::Closed);
            }
            state.reader_asleep = true;
            return Err(ReadError::Empty);
        }
        std::mem::swap(&mut state.queue, &mut self.batch);
        if state.writer_blocked {
            state.writer_blocked = false;
            let notifier = state.wake_writer.clone();
            drop(state);
            notifier.notify(self.shared.id);
        }
        Ok(())
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.reader_gone = true;
        state.queue.clear();
        if !state.writer_gone {
            let notifier = state.wake_writer.clone();
            drop(state);
            notifier.notify(self.shared.id);
        }
    }
}

/// Both directions of one peer link, as a socket holds them.
#[derive(Debug)]
pub(crate) struct Pipe {
    /// Messages from the peer.
    pub(crate) reader: PipeReader,
    /// Messages to the peer.
    pub(crate) writer: PipeWriter,
}

impl Pipe {
    /// The link's id (shared by both directions).
    pub(crate) fn id(&self) -> PipeId {
        self.reader.id()
    }
}

/// Creates a bidirectional link between two parties, `a` and `b`. Returns `(a's end, b's end)`.
/// `a_to_b_hwm` bounds the direction a writes; `b_to_a_hwm` the other.
pub(crate) fn link(a: Notifier, b: Notifier, a_to_b_hwm: usize, b_to_a_hwm: usize) -> (Pipe, Pipe) {
    let id = next_pipe_id();
    let (a_writer, b_reader) = pipe(id, a_to_b_hwm, b.clone(), a.clone());
    let (b_writer, a_reader) = pipe(id, b_to_a_hwm, a, b);
    (
        Pipe {
            reader: a_reader,
            writer: a_writer,
        },
        Pipe {
            reader: b_reader,
            writer: b_writer,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::Mailbox;

    fn ends(hwm: usize) -> (PipeWriter, PipeReader, Arc<Mailbox>, Arc<Mailbox>) {
        let r = Mailbox::new();
        let w = Mailbox::new();
        let (pw, pr) = pipe(
            7,
            hwm,
            Notifier::Socket(r.clone()),
            Notifier::Socket(w.clone()),
        );
        (pw, pr, r, w)
    }

    fn drain(m: &Mailbox) -> Vec<PipeId> {
        let (mut a, mut c) = (Vec::new(), Vec::new());
        m.take(&mut a, &mut c);
        a
    }

    #[test]
    fn messages_keep_order_and_hwm_refuses() {
        let (mut w, mut r, _rm, wm) = ends(2);
        w.try_write(Message::from("a")).unwrap();
        w.try_write(Message::from("b")).unwrap();
        assert!(matches!(
            w.try_write(Message::from("c")),
            Err(WriteError::Full(_))
        ));
        assert!(drain(&wm).is_empty());
        assert_eq!(r.try_read().unwrap(), Message::from("a"));
        // Taking the batch frees the shared queue and tells the blocked writer.
        assert_eq!(drain(&wm), vec![7]);
        w.try_write(Message::from("c")).unwrap();
        assert_eq!(r.try_read().unwrap(), Message::from("b"));
        assert_eq!(r.try_read().unwrap(), Message::from("c"));
        assert_eq!(r.try_read(), Err(ReadError::Empty));
    }

    #[test]
    fn reader_is_woken_only_after_it_found_the_pipe_empty() {
        let (mut w, mut r, rm, _wm) = ends(0);
        w.try_write(Message::from("a")).unwrap();
        assert!(drain(&rm).is_empty(), "reader never slept: no wake-up");
        r.try_read().unwrap();
        assert_eq!(r.try_read(), Err(ReadError::Empty));
        w.try_write(Message::from("b")).unwrap();
        w.try_write(Message::from("c")).unwrap();
        assert_eq!(drain(&rm), vec![7], "one wake-up for the batch");
    }

    #[test]
    fn closing_the_writer_lets_the_reader_drain_then_see_closed() {
        let (mut w, mut r, rm, _wm) = ends(0);
        w.try_write(Message::from("a")).unwrap();
        drop(w);
        assert_eq!(drain(&rm), vec![7]);
        assert_eq!(r.try_read().unwrap(), Message::from("a"));
        assert_eq!(r.try_read(), Err(ReadError::Closed));
    }

    #[test]
    fn closing_the_reader_fails_writes_and_wakes_the_writer() {
        let (mut w, r, _rm, wm) = ends(0);
        drop(r);
        assert_eq!(drain(&wm), vec![7]);
        assert!(matches!(
            w.try_write(Message::from("a")),
            Err(WriteError::Closed(_))
        ));
    }

    #[test]
    fn write_all_reports_the_mark() {
        let (mut w, mut r, _rm, _wm) = ends(3);
        let mut batch = vec![Message::from("a"), Message::from("b")];
        assert_eq!(w.write_all(&mut batch), Ok(false));
        let mut batch = vec![Message::from("c"), Message::from("d")];
        assert_eq!(w.write_all(&mut batch), Ok(true));
        for want in ["a", "b", "c", "d"] {
            assert_eq!(r.try_read().unwrap(), Message::from(want));
        }
    }

    #[test]
    fn threads_exchange_a_million_messages_in_order() {
        let r_mb = Mailbox::new();
        let w_mb = Mailbox::new();
        let (mut w, mut r) = pipe(
            1,
            100,
            Notifier::Socket(r_mb.clone()),
            Notifier::Socket(w_mb.clone()),
        );
        const N: u64 = 200_000;
        let writer = std::thread::spawn(move || {
            let (mut a, mut c) = (Vec::new(), Vec::new());
            for i in 0..N {
                let mut msg = Message::from(i.to_le_bytes().to_vec());
                loop {
                    match w.try_write(msg) {
                        Ok(()) => break,
                        Err(WriteError::Full(m)) => {
                            msg = m;
                            w_mb.wait(None);
                            a.clear();
                            w_mb.take(&mut a, &mut c);
                        }
                        Err(WriteError::Closed(_)) => panic!("reader vanished"),
                    }
                }
            }
        });
        let (mut a, mut c) = (Vec::new(), Vec::new());
        let mut next = 0u64;
        loop {
            match r.try_read() {
                Ok(m) => {
                    assert_eq!(m[0][..], next.to_le_bytes());
                    next += 1;
                }
                Err(ReadError::Empty) => {
                    r_mb.wait(None);
                    a.clear();
                    r_mb.take(&mut a, &mut c);
                }
                Err(ReadError::Closed) => break,
            }
        }
        assert_eq!(next, N);
        writer.join().unwrap();
    }
}
