//! The reading end of a pipe: taking messages in order, the reader's half of the wake-up
//! protocol (arm, fence, look again before sleeping), telling a blocked writer about room
//! at the low-water mark, and a session's accounting of what it handed to the kernel.
//!
//! What must hold: a reader that finds the queue empty sleeps only after raising
//! `reader_asleep`, fencing and finding the queue still empty, so a writer's publish is
//! never missed; a writer blocked at the mark is told once the queue drains to half of it
//! or empties; dropping the reader frees what is queued and tells the writer.

use super::*;

/// The reading end of a pipe.
pub(crate) struct PipeReader {
    shared: Arc<Shared>,
    queue: spsc::Consumer<Message>,
    /// Whether to spin on a hot pipe before arming (application threads only).
    spin: bool,
    /// A message arrived since the reader last armed its wake-up.
    hot: bool,
    conflate: bool,
    /// Messages a conflating reader took from its slot.
    slot_taken: u64,
    /// A session's delivery accounting (see `counts`): direct-path tails it took over,
    /// and how many of the messages it took it has reported handed and lost.
    tails: u64,
    handed: u64,
    lost: u64,
}

impl std::fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PipeReader").field(&self.shared).finish()
    }
}

impl PipeReader {
    /// The reading end over `queue` (see `pipe_with`).
    pub(super) fn new(
        shared: Arc<Shared>,
        queue: spsc::Consumer<Message>,
        spin: bool,
        conflate: bool,
    ) -> PipeReader {
        PipeReader {
            shared,
            queue,
            spin,
            hot: false,
            conflate,
            slot_taken: 0,
            tails: 0,
            handed: 0,
            lost: 0,
        }
    }
}

impl PipeReader {
    /// The pipe's id.
    pub(crate) fn id(&self) -> PipeId {
        self.shared.id
    }

    /// Makes `owner` the one told when this reader has something new.
    pub(crate) fn set_owner(&mut self, owner: Notifier) {
        *self
            .shared
            .wake_reader
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = owner;
    }

    /// Takes the next message.
    pub(crate) fn try_read(&mut self) -> Result<Message, ReadError> {
        if self.conflate {
            return self.take_slot();
        }
        if let Some(msg) = self.queue.pop() {
            if self.queue.taken() % WRITER_CHECK_EVERY == 0 && self.below_low_water() {
                self.wake_writer_if_blocked();
            }
            self.hot = true;
            if self.spin {
                self.count_read(&msg);
            }
            return Ok(msg);
        }
        self.poll_state()?;
        self.try_read()
    }

    /// A conflating read: the one message held, if any.
    fn take_slot(&mut self) -> Result<Message, ReadError> {
        if self.shared.slot_full.load(Ordering::Acquire) {
            let mut slot = self.shared.slot.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.slot_full.store(false, Ordering::Relaxed);
            if let Some(msg) = slot.take() {
                self.slot_taken += 1;
                if self.spin {
                    self.count_read(&msg);
                }
                return Ok(msg);
            }
        }
        self.poll_state()?;
        self.take_slot()
    }

    /// Counts a message an application thread took.
    #[inline]
    fn count_read(&self, msg: &Message) {
        let counts = &self.shared.counts.reader;
        bump(&counts.msgs, 1);
        bump(&counts.bytes, msg.byte_len() as u64);
    }

    /// A handle on this pipe's counters, for snapshots.
    pub(crate) fn counts_handle(&self) -> CountsHandle {
        CountsHandle(self.shared.clone())
    }

    /// The session's side of the link's facts (address, reconnects, failures).
    pub(crate) fn link_facts(&self) -> &counts::LinkFacts {
        &self.shared.counts.link
    }

    /// Messages taken from this pipe so far, plus direct-path tails taken over.
    fn taken_total(&self) -> u64 {
        let taken = if self.conflate {
            self.slot_taken
        } else {
            self.queue.taken()
        };
        taken + self.tails
    }

    /// A session took over the unwritten tails of `n` messages the writer began directly.
    pub(crate) fn absorb_tails(&mut self, n: u64) {
        self.tails += n;
    }

    /// A session's output is empty: every message it took is in the kernel (or was lost,
    /// as already reported). Tells a waiting `flush`.
    pub(crate) fn all_handed(&mut self) {
        let handed = self.taken_total() - self.lost;
        if handed != self.handed {
            self.handed = handed;
            self.tell_flush(&self.shared.counts.reader.handed, handed);
        }
    }

    /// A session's connection is gone with its output: every message it took and has not
    /// reported handed is lost. Tells a waiting `flush`.
    pub(crate) fn all_lost(&mut self) {
        let lost = self.taken_total() - self.handed;
        if lost != self.lost {
            self.lost = lost;
            self.tell_flush(&self.shared.counts.reader.lost, lost);
        }
    }

    /// Publishes a new total of handed or lost messages and wakes a waiting `flush`.
    fn tell_flush(&self, counter: &AtomicU64, total: u64) {
        counter.store(total, Ordering::Release);
        let shared = &self.shared;
        shared.wake_if_raised(&shared.flush_waiting, &shared.wake_writer);
    }

    /// Whether a message is queued (a cheap look).
    fn has_item(&mut self) -> bool {
        if self.conflate {
            self.shared.slot_full.load(Ordering::Acquire)
        } else {
            self.queue.has_item()
        }
    }

    /// Offers (`Some`) or withdraws (`None`) the direct path to this pipe's writer. A
    /// conflating pipe never takes it: its one message is replaced, never queued behind.
    /// A tail the writer left and the session never took over is lost with the connection:
    /// it is counted as taken, for `all_lost` to report.
    pub(crate) fn set_direct(&mut self, sink: Option<Box<dyn DirectSink>>) {
        if self.conflate {
            return;
        }
        let mut direct = self.shared.direct.lock().unwrap_or_else(|e| e.into_inner());
        self.shared
            .direct_on
            .store(sink.is_some(), Ordering::Relaxed);
        direct.sink = sink;
        direct.idle = false;
        direct.pending = OutBuf::new();
        let abandoned = std::mem::take(&mut direct.pending_msgs);
        drop(direct);
        self.tails += abandoned;
    }

    /// A handle on the direct-path state, for the session's writes.
    pub(crate) fn direct_handle(&self) -> DirectHandle {
        DirectHandle(self.shared.clone())
    }

    /// Whether a message is ready without blocking. When it returns false the reader will
    /// be notified of the next arrival.
    pub(crate) fn has_message(&mut self) -> bool {
        self.poll_state().is_ok()
    }

    /// `Ok` if a message is ready, else why not, without arming or disarming any wake-up.
    /// For a caller that only wants to know, and will not read now.
    pub(crate) fn peek_state(&mut self) -> Result<(), ReadError> {
        if self.has_item() {
            Ok(())
        } else if self.shared.writer_gone.load(Ordering::Acquire) && !self.has_item() {
            Err(ReadError::Closed)
        } else {
            Err(ReadError::Empty)
        }
    }

    /// `Ok` if a message is ready, else why not. Takes nothing. When it says `Empty`, the
    /// reader is armed to be notified of the next arrival. When it says `Ok` the caller must
    /// read (or check again later on its own): it may have disarmed the notification for a
    /// message that arrived meanwhile.
    pub(crate) fn poll_state(&mut self) -> Result<(), ReadError> {
        if self.has_item() {
            return Ok(());
        }
        // Everything is read: a blocked writer may go on.
        self.wake_writer_if_blocked();
        if self.spin && self.hot {
            self.hot = false;
            for _ in 0..HOT_SPIN {
                std::hint::spin_loop();
                if self.has_item() {
                    return Ok(());
                }
            }
        }
        self.shared.reader_asleep.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.has_item() {
            // A message slipped in; the writer may still notify us, which is harmless.
            self.shared.reader_asleep.store(false, Ordering::Relaxed);
            return Ok(());
        }
        if self.shared.writer_gone.load(Ordering::Acquire) {
            // The writer published everything before it left: look once more.
            return if self.has_item() {
                Ok(())
            } else {
                Err(ReadError::Closed)
            };
        }
        Err(ReadError::Empty)
    }

    /// Whether a blocked writer should be told now: it is blocked (a cheap, possibly stale
    /// look) and at most half the high-water mark is unread. An I/O thread can put far
    /// more than the mark into a pipe at once, and telling it about "room" every few
    /// messages while there is none would only wake it for nothing. A stale look merely
    /// delays the news: draining the pipe always tells (see `poll_state`).
    fn below_low_water(&self) -> bool {
        self.shared.writer_blocked.load(Ordering::Relaxed)
            && self.queue.unread_estimate() <= self.shared.hwm / 2
    }

    fn wake_writer_if_blocked(&self) {
        let shared = &self.shared;
        shared.wake_if_raised(&shared.writer_blocked, &shared.wake_writer);
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.shared.reader_gone.store(true, Ordering::Release);
        // Free what is queued now rather than when the writer goes too.
        while self.queue.pop().is_some() {}
        let held = self.shared.slot.lock().map(|mut s| s.take());
        drop(held);
        if !self.shared.writer_gone.load(Ordering::Acquire) {
            self.shared.notify(&self.shared.wake_writer);
        }
    }
}
