//! Delivery accounting for one pipe: how many messages went in, came out, reached the
//! kernel, were lost with a connection or dropped by policy, and the link facts a snapshot
//! shows beside them (endpoint, peer address, reconnects, handshake failures).
//!
//! What must hold:
//! - Every counter has exactly one writing thread, which adds with a load and a store, never
//!   a read-modify-write: the message path pays a plain add. Other threads only read.
//! - Counters that different threads write sit on different cache lines, so one side's
//!   adds never slow the other side's reads of the queue.
//! - Counts only grow; `handed + lost + direct` never exceeds what the writer sent.
//! - Nothing here decides anything about messages: losing every counter would change no
//!   delivery, only what the snapshot reports.

use super::{PipeId, Shared};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Adds `n` to a counter only the calling thread writes.
#[inline]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}

/// Reads a counter.
#[inline]
pub(crate) fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Written by the pipe's writer.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct WriterCounts {
    /// Messages accepted (queued or written directly).
    pub(crate) msgs: AtomicU64,
    /// Their payload bytes.
    pub(crate) bytes: AtomicU64,
    /// Times a write found the pipe at its high-water mark after having found room.
    pub(crate) hwm_hits: AtomicU64,
    /// Messages dropped by policy (a full subscriber, a full ROUTER peer, conflation).
    pub(crate) dropped: AtomicU64,
    /// Messages the writer wrote whole to the connection itself (the direct path).
    pub(crate) direct: AtomicU64,
    /// Messages accepted and then replaced by a newer one before the reader took them
    /// (conflation; also counted in `dropped`).
    pub(crate) conflated: AtomicU64,
}

/// Written by the pipe's reader.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct ReaderCounts {
    /// Messages an application thread took (inproc, or a socket's inbound pipe).
    pub(crate) msgs: AtomicU64,
    /// Their payload bytes.
    pub(crate) bytes: AtomicU64,
    /// Messages a session took and saw handed to the kernel whole.
    pub(crate) handed: AtomicU64,
    /// Messages a session took and lost with a connection before the kernel had them.
    pub(crate) lost: AtomicU64,
}

/// What a connection's session says about the link (rarely written).
#[derive(Debug, Default)]
pub(crate) struct LinkFacts {
    /// The endpoint the link belongs to (set once, by whoever creates the link).
    pub(crate) endpoint: OnceLock<String>,
    /// The peer's address while connected (tcp `ip:port`, an ipc path).
    pub(crate) address: Mutex<Option<String>>,
    /// A handshake completed at least once.
    pub(crate) reached: AtomicBool,
    /// Handshakes completed after the first.
    pub(crate) reconnects: AtomicU64,
    /// Failed handshakes: protocol errors, authentication refusals, anything else.
    pub(crate) failed_protocol: AtomicU64,
    pub(crate) failed_auth: AtomicU64,
    pub(crate) failed_other: AtomicU64,
    /// Whether the link is served by a session (tcp, ipc) rather than a socket (inproc).
    pub(crate) via_session: AtomicBool,
}

/// All of one pipe's counters.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) writer: WriterCounts,
    pub(crate) reader: ReaderCounts,
    pub(crate) link: LinkFacts,
}

impl Counts {
    /// Messages the writer sent that a session has not yet handed to the kernel (nor lost).
    /// Zero for a pipe an application thread reads: the message is in the peer's pipe.
    pub(crate) fn pending(&self) -> u64 {
        if !self.link.via_session.load(Ordering::Acquire) {
            return 0;
        }
        let done = get(&self.reader.handed)
            + get(&self.reader.lost)
            + get(&self.writer.direct)
            + get(&self.writer.conflated);
        get(&self.writer.msgs).saturating_sub(done)
    }
}

/// Why messages were dropped, as the monitor reports it.
pub(crate) use crate::stats::DropReason;

/// Who hears about high-water marks and drops, rate-limited (the socket's monitors).
/// Called only off the message path: on a transition to full, and every `ALARM_EVERY`
/// drops.
pub(crate) trait Alarm: Send + Sync + std::fmt::Debug {
    /// Pipe `id` refused a message at its high-water mark.
    fn hwm_reached(&self, id: PipeId, counts: &Counts);
    /// `n` more messages were dropped for `reason` (on pipe `id`'s peer, if there is one).
    fn dropped(&self, reason: DropReason, n: u64, counts: Option<&Counts>);
}

/// A drop is reported to the alarm on the first one and then once per this many.
const ALARM_EVERY: u64 = 256;

/// Drops counted by their one owner, and how many of them the alarm was told.
#[derive(Debug, Default)]
pub(crate) struct DropTally {
    total: u64,
    told: u64,
}

impl DropTally {
    /// Counts `n` more drops. Returns how many to tell the alarm now: all untold ones, on
    /// the first drop and whenever the total crosses a multiple of `ALARM_EVERY`.
    pub(crate) fn add(&mut self, n: u64) -> Option<u64> {
        let before = self.total;
        self.total += n;
        if before == 0 || before / ALARM_EVERY != self.total / ALARM_EVERY {
            let tell = self.total - self.told;
            self.told = self.total;
            Some(tell)
        } else {
            None
        }
    }

    /// All drops counted.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

/// A handle on one pipe's counters and liveness, kept by a socket for snapshots and
/// flushes after the pipe end itself went to the socket's pattern.
#[derive(Clone)]
pub(crate) struct CountsHandle(pub(super) Arc<Shared>);

impl CountsHandle {
    /// The counters.
    pub(crate) fn counts(&self) -> &Counts {
        &self.0.counts
    }

    /// Whether either end of the pipe is gone.
    pub(crate) fn is_gone(&self) -> bool {
        self.0.writer_gone.load(Ordering::Acquire) || self.0.reader_gone.load(Ordering::Acquire)
    }

    /// Messages not yet handed over (see `Counts::pending`). When some are, and `arm`,
    /// the writer will be told (through its notifier) when the session hands more over.
    pub(crate) fn pending(&self, arm: bool) -> u64 {
        let pending = self.0.counts.pending();
        if pending == 0 || !arm {
            return pending;
        }
        self.0.flush_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.0.counts.pending()
    }
}

impl std::fmt::Debug for CountsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CountsHandle").field(&self.0.id).finish()
    }
}
