//! Pipes: a bounded single-producer/single-consumer queue of whole messages between a
//! socket and one peer (a session on an I/O thread, or another socket over inproc).
//!
//! What must hold:
//! - Messages are whole: a pipe never holds part of a multipart message.
//! - The writer is refused (`Full`) once `hwm` messages are queued and unread (0 means no
//!   limit). An I/O thread delivering what it decoded (`write_all`) decodes no more than
//!   the `room` left, so it passes the mark by one message at most, and is then told to
//!   stop reading from the network.
//! - Wake-ups only on the transitions that matter: the reader is notified when it found the
//!   queue empty and a message arrives (or the writer goes away); the writer is notified
//!   when it found the queue full and the reader has made room (or the reader goes away).
//! - A conflating pipe (`ZMQ_CONFLATE`) holds at most one message, the newest: a write
//!   replaces what is unread and is never refused, and the same wake-up protocol applies to
//!   its one-slot flag.
//! - Normal traffic takes no lock: the queue is lock-free (`spsc`), and the two flags use
//!   store → full fence → load on both sides (Dekker's pattern), so one side always sees the
//!   other and no wake-up is lost. The notifier mutexes are only taken on a transition.

mod counts;
mod direct;
mod id;
mod reader;
mod spsc;

pub(crate) use counts::{bump, get, Alarm, Counts, CountsHandle, DropTally};
pub(crate) use direct::{with_replying, DirectOut, DirectSink};
pub(crate) use id::IdMap;
pub(crate) use reader::PipeReader;

use crate::mailbox::Notifier;
use crate::zmtp::OutBuf;
use crate::Message;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A process-wide unique pipe id. Both directions of one peer link share an id.
pub(crate) type PipeId = u64;

static NEXT_PIPE_ID: AtomicU64 = AtomicU64::new(1);

/// Allocates a fresh pipe id.
pub(crate) fn next_pipe_id() -> PipeId {
    NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed)
}

/// The reader tells a blocked writer about free room every this many messages (and when
/// it finds the pipe empty): a low-water mark that costs one fence per batch.
const WRITER_CHECK_EVERY: u64 = 32;

/// How many times an application thread re-checks a pipe that just had traffic before it
/// arms its wake-up (about a microsecond). Without it a reader that keeps up with its
/// writer arms after every message, and every write then pays for a notification.
const HOT_SPIN: u32 = 64;

struct Shared {
    id: PipeId,
    hwm: u64,
    /// Whether the reader (a session) offers the direct path (see `direct`).
    direct_on: AtomicBool,
    /// Boxed so that the I/O thread locking it per write does not share a cache line with
    /// the flags the writer reads on every send.
    direct: Box<Mutex<DirectOut>>,
    reader_asleep: AtomicBool,
    writer_blocked: AtomicBool,
    writer_gone: AtomicBool,
    reader_gone: AtomicBool,
    wake_reader: Mutex<Notifier>,
    wake_writer: Mutex<Notifier>,
    /// For a conflating pipe: the one message it holds, and whether it holds one.
    slot: Mutex<Option<Message>>,
    slot_full: AtomicBool,
    /// A `Socket::flush` waits for this pipe's session to hand messages to the kernel: the
    /// session tells the writer when it next does (same protocol as `writer_blocked`).
    flush_waiting: AtomicBool,
    /// Delivery accounting (see `counts`).
    counts: Counts,
}

impl Shared {
    fn notify(&self, who: &Mutex<Notifier>) {
        who.lock()
            .unwrap_or_else(|e| e.into_inner())
            .notify(self.id);
    }

    /// The second half of the wake-up protocol, the same for both sides: after publishing
    /// (a message, or room), fence, then tell `who` if the other side had raised `flag`
    /// (the reader asleep, or the writer blocked). Exactly one caller wins the flag.
    fn wake_if_raised(&self, flag: &AtomicBool, who: &Mutex<Notifier>) {
        fence(Ordering::SeqCst);
        self.tell_if_raised(flag, who);
    }

    /// The end of `wake_if_raised`, for a caller that has fenced already.
    fn tell_if_raised(&self, flag: &AtomicBool, who: &Mutex<Notifier>) {
        if flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::AcqRel) {
            self.notify(who);
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipe")
            .field("id", &self.id)
            .field("hwm", &self.hwm)
            .finish()
    }
}

/// The fence between deferred writes to many pipes and the wake-up checks that follow
/// them (see [`PipeWriter::try_write_deferred`]).
pub(crate) fn fence_for_wakeups() {
    fence(Ordering::SeqCst);
}

/// Creates a pipe holding up to `hwm` messages (0 = unlimited). `wake_reader` is told when
/// the reader has something new to see, `wake_writer` when the writer may write again.
#[cfg(test)]
pub(crate) fn pipe(
    id: PipeId,
    hwm: usize,
    wake_reader: Notifier,
    wake_writer: Notifier,
) -> (PipeWriter, PipeReader) {
    pipe_with(id, hwm, false, wake_reader, wake_writer)
}

/// [`pipe`], conflating (keeping only the newest message) if `conflate`.
fn pipe_with(
    id: PipeId,
    hwm: usize,
    conflate: bool,
    wake_reader: Notifier,
    wake_writer: Notifier,
) -> (PipeWriter, PipeReader) {
    let shared = Arc::new(Shared {
        id,
        hwm: hwm as u64,
        direct_on: AtomicBool::new(false),
        direct: Box::default(),
        reader_asleep: AtomicBool::new(false),
        writer_blocked: AtomicBool::new(false),
        writer_gone: AtomicBool::new(false),
        reader_gone: AtomicBool::new(false),
        wake_reader: Mutex::new(wake_reader),
        wake_writer: Mutex::new(wake_writer),
        slot: Mutex::new(None),
        slot_full: AtomicBool::new(false),
        flush_waiting: AtomicBool::new(false),
        counts: Counts::default(),
    });
    let (producer, consumer) = spsc::queue();
    // Spin only where an application thread reads; an I/O thread has other sessions to
    // serve, and spinning there would delay them.
    let spin = matches!(
        *shared.wake_reader.lock().unwrap_or_else(|e| e.into_inner()),
        Notifier::Socket(_)
    );
    shared
        .counts
        .link
        .via_session
        .store(!spin, Ordering::Release);
    (
        PipeWriter {
            shared: shared.clone(),
            queue: producer,
            conflate,
            at_mark: false,
            alarm: None,
            drops: DropTally::default(),
        },
        PipeReader::new(shared, consumer, spin, conflate),
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
pub(crate) struct PipeWriter {
    shared: Arc<Shared>,
    queue: spsc::Producer<Message>,
    conflate: bool,
    /// The last write found the pipe at its mark (a new refusal is not a new "hit").
    at_mark: bool,
    /// Told about marks and drops (a socket's monitors); `None` on an I/O thread's writer.
    alarm: Option<Arc<dyn Alarm>>,
    /// Drops by policy (mirrored in the counters), and how many the alarm heard of.
    drops: DropTally,
}

impl std::fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PipeWriter").field(&self.shared).finish()
    }
}

impl PipeWriter {
    /// The pipe's id.
    pub(crate) fn id(&self) -> PipeId {
        self.shared.id
    }

    /// Queues `msg` unless the pipe is full or closed.
    pub(crate) fn try_write(&mut self, msg: Message) -> Result<(), WriteError> {
        if self.enqueue(msg)? {
            self.wake_reader_if_asleep();
        }
        Ok(())
    }

    /// Like [`PipeWriter::try_write`], without the wake-up check, for a sender that
    /// queues one message on many pipes (a PUB): it calls [`fence_for_wakeups`] once after
    /// the last of them, then [`PipeWriter::wake_reader_fenced`] on each pipe this
    /// returned `Ok(true)` for. One fence then serves every pipe, where each write would
    /// otherwise pay its own.
    pub(crate) fn try_write_deferred(&mut self, msg: Message) -> Result<bool, WriteError> {
        self.enqueue(msg)
    }

    /// The second half of a deferred write (see [`PipeWriter::try_write_deferred`]): wakes
    /// the reader if it sleeps. The caller has fenced since the write.
    pub(crate) fn wake_reader_fenced(&self) {
        let shared = &self.shared;
        shared.tell_if_raised(&shared.reader_asleep, &shared.wake_reader);
    }

    /// Queues `msg` (or writes it directly, or replaces the conflated one). `Ok(true)` when
    /// it went into the queue, so the reader may need waking.
    fn enqueue(&mut self, msg: Message) -> Result<bool, WriteError> {
        if self.shared.reader_gone.load(Ordering::Acquire) {
            return Err(WriteError::Closed(msg));
        }
        let bytes = msg.byte_len() as u64;
        if self.conflate {
            self.replace(msg);
            self.count_sent(1, bytes);
            return Ok(false);
        }
        if !self.room_or_block() {
            return Err(WriteError::Full(msg));
        }
        // The cheap, usually false, test first: only a send answering a receive may go
        // direct, so a stream of sends pays one thread-local load here.
        let msg = if direct::replying() && self.shared.direct_on.load(Ordering::Relaxed) {
            match self.try_direct(msg) {
                Ok(()) => {
                    self.count_sent(1, bytes);
                    return Ok(false);
                }
                Err(msg) => msg,
            }
        } else {
            msg
        };
        self.queue.push(msg);
        self.queue.publish();
        self.count_sent(1, bytes);
        Ok(true)
    }

    /// Counts messages accepted for the peer.
    #[inline]
    fn count_sent(&self, msgs: u64, bytes: u64) {
        let counts = &self.shared.counts.writer;
        bump(&counts.msgs, msgs);
        bump(&counts.bytes, bytes);
    }

    /// Counts `n` messages for this peer dropped by policy (a full subscriber or ROUTER
    /// peer, conflation), and tells the alarm as `DropTally` says.
    pub(crate) fn note_dropped(&mut self, reason: crate::stats::DropReason, n: u64) {
        let tell = self.drops.add(n);
        let counts = &self.shared.counts;
        counts
            .writer
            .dropped
            .store(self.drops.total(), Ordering::Relaxed);
        if let (Some(tell), Some(alarm)) = (tell, &self.alarm) {
            alarm.dropped(reason, tell, Some(counts));
        }
    }

    /// Makes `alarm` the one told about this pipe's marks and drops.
    pub(crate) fn set_alarm(&mut self, alarm: Arc<dyn Alarm>) {
        self.alarm = Some(alarm);
    }

    /// A handle on this pipe's counters, for snapshots and flushes.
    pub(crate) fn counts_handle(&self) -> CountsHandle {
        CountsHandle(self.shared.clone())
    }

    /// The direct path (see `direct`): when the reading session is idle and nothing is
    /// queued, write the message to its connection from this thread. Gives the message back
    /// when it must be queued instead.
    #[inline(never)]
    fn try_direct(&mut self, msg: Message) -> Result<(), Message> {
        if !self.shared.reader_asleep.load(Ordering::Relaxed) || self.queue.len() != 0 {
            return Err(msg);
        }
        let Ok(mut direct) = self.shared.direct.try_lock() else {
            return Err(msg);
        };
        if !direct.idle {
            return Err(msg);
        }
        let Some(sink) = direct.sink.as_mut() else {
            return Err(msg);
        };
        match sink.write_message(&msg) {
            Ok(rest) if rest.is_empty() => {
                bump(&self.shared.counts.writer.direct, 1);
                Ok(())
            }
            Ok(rest) => {
                log::trace!(
                    "pipe {}: direct write left {} bytes for the session",
                    self.shared.id,
                    rest.len()
                );
                // Part of it is in the kernel: the session sends the rest before anything.
                direct.pending = rest;
                direct.pending_msgs = 1;
                direct.idle = false;
                drop(direct);
                self.shared.notify(&self.shared.wake_reader);
                Ok(())
            }
            Err(_) => Err(msg),
        }
    }

    /// Queues every message of `batch` regardless of the high-water mark (an I/O thread
    /// delivering what it already decoded). Returns `Ok(true)` if the pipe is now at or over
    /// its mark, so the caller should stop reading from the network until notified.
    pub(crate) fn write_all(&mut self, batch: &mut Vec<Message>) -> Result<bool, ReadError> {
        if self.shared.reader_gone.load(Ordering::Acquire) {
            batch.clear();
            return Err(ReadError::Closed);
        }
        if self.conflate {
            if let Some(newest) = batch.pop() {
                self.replace(newest);
            }
            batch.clear();
            return Ok(false);
        }
        bump(&self.shared.counts.writer.msgs, batch.len() as u64);
        for msg in batch.drain(..) {
            self.queue.push(msg);
        }
        self.queue.publish();
        self.wake_reader_if_asleep();
        Ok(!self.room_or_block())
    }

    /// How many more messages fit under the high-water mark now (`usize::MAX` without one),
    /// re-reading the reader's progress.
    pub(crate) fn room(&mut self) -> usize {
        let hwm = self.shared.hwm;
        if hwm == 0 || self.conflate {
            return usize::MAX;
        }
        usize::try_from(hwm.saturating_sub(self.queue.len())).unwrap_or(usize::MAX)
    }

    /// Whether a write would be accepted now. If not, the writer will be notified.
    pub(crate) fn has_room(&mut self) -> bool {
        // A closed pipe "has room": the write then fails with Closed, which is news.
        self.shared.reader_gone.load(Ordering::Acquire) || self.room_or_block()
    }

    /// Whether the reader has gone away.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.reader_gone.load(Ordering::Acquire)
    }

    /// Whether the reader has taken every message written so far (the slow-joiner wait of
    /// a subscriber). If not, arms the writer's wake-up, as a full pipe does: the reader
    /// notifies `wake_writer` when it next finds the pipe empty. Not on the message path.
    pub(crate) fn all_taken(&mut self) -> bool {
        if self.unread() == 0 {
            return true;
        }
        self.shared.writer_blocked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.unread() == 0 {
            // Taken meanwhile; the reader may still notify us, which is harmless.
            self.shared.writer_blocked.store(false, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Messages written and not yet taken by the reader.
    fn unread(&mut self) -> u64 {
        if self.conflate {
            u64::from(self.shared.slot_full.load(Ordering::Acquire))
        } else {
            self.queue.len()
        }
    }

    /// Makes `owner` the one told when this writer may write again.
    pub(crate) fn set_owner(&mut self, owner: Notifier) {
        *self
            .shared
            .wake_writer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = owner;
    }

    /// A conflating write: `msg` replaces whatever is unread, then the reader is told.
    fn replace(&mut self, msg: Message) {
        let old = {
            let mut slot = self.shared.slot.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.slot_full.store(true, Ordering::Relaxed);
            slot.replace(msg)
        };
        if old.is_some() {
            bump(&self.shared.counts.writer.conflated, 1);
            self.note_dropped(crate::stats::DropReason::Conflated, 1);
        }
        drop(old); // Outside the lock.
        self.wake_reader_if_asleep();
    }

    /// True if there is room under the mark; if not, arms `writer_blocked` so the reader
    /// notifies when it makes room.
    fn room_or_block(&mut self) -> bool {
        if self.conflate {
            return true;
        }
        let hwm = self.shared.hwm;
        if hwm == 0 || self.queue.len_estimate() < hwm || self.queue.len() < hwm {
            self.at_mark = false;
            return true;
        }
        self.shared.writer_blocked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.queue.len() < hwm {
            // The reader made room meanwhile; it may still notify us, which is harmless.
            self.shared.writer_blocked.store(false, Ordering::Relaxed);
            self.at_mark = false;
            return true;
        }
        if !self.at_mark {
            self.at_mark = true;
            bump(&self.shared.counts.writer.hwm_hits, 1);
            if let Some(alarm) = &self.alarm {
                alarm.hwm_reached(self.shared.id, &self.shared.counts);
            }
        }
        false
    }

    fn wake_reader_if_asleep(&self) {
        let shared = &self.shared;
        shared.wake_if_raised(&shared.reader_asleep, &shared.wake_reader);
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.shared.writer_gone.store(true, Ordering::Release);
        if !self.shared.reader_gone.load(Ordering::Acquire) {
            // Wake the reader whether or not it sleeps: it must learn the pipe is finished.
            self.shared.reader_asleep.store(false, Ordering::Relaxed);
            self.shared.notify(&self.shared.wake_reader);
        }
    }
}

/// The session's handle on a pipe's direct-path state.
pub(crate) struct DirectHandle(Arc<Shared>);

impl DirectHandle {
    /// Locks the state for a whole write.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, DirectOut> {
        self.0.direct.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for DirectHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DirectHandle").field(&self.0.id).finish()
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
#[cfg(test)]
pub(crate) fn link(a: Notifier, b: Notifier, a_to_b_hwm: usize, b_to_a_hwm: usize) -> (Pipe, Pipe) {
    link_with(a, b, a_to_b_hwm, b_to_a_hwm, false)
}

/// [`link`], conflating both directions if `conflate` (each then holds only the newest
/// message, and the marks do not apply).
pub(crate) fn link_with(
    a: Notifier,
    b: Notifier,
    a_to_b_hwm: usize,
    b_to_a_hwm: usize,
    conflate: bool,
) -> (Pipe, Pipe) {
    let id = next_pipe_id();
    let (a_writer, b_reader) = pipe_with(id, a_to_b_hwm, conflate, b.clone(), a.clone());
    let (b_writer, a_reader) = pipe_with(id, b_to_a_hwm, conflate, a, b);
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
mod tests;
