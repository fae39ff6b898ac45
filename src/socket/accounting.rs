//! Delivery accounting on the socket: the record of every peer link it adopted, the
//! snapshot `stats`, `flush` (wait until what was sent is in the kernel) and `close_with`
//! (close, and say what became of what was still queued), and the rate-limited monitor
//! events for high-water marks and drops.
//!
//! What must hold:
//! - Nothing here runs per message: the counters are kept by the pipes (`pipe::counts`),
//!   and this module only reads them, when asked.
//! - A flush waits without spinning: it arms each pending link, and the link's session
//!   wakes the socket when it next hands messages to the kernel or loses them.
//! - Monitor events about drops and marks come at most once per `ALARM_INTERVAL` for each
//!   kind, and cost one relaxed load when no monitor is attached.

use super::{Socket, SocketLink};
use crate::monitor::{EventKind, MonitorEvent};
use crate::pipe::{get, Alarm, Counts, CountsHandle, Pipe, PipeId};
use crate::socket::PeerMeta;
use crate::stats::{
    CloseReport, DropReason, FlushReport, HandshakeFailures, PeerStats, PendingPeer, SocketStats,
};
use crate::Result;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shortest time between two monitor events of one kind about drops or marks.
pub(crate) const ALARM_INTERVAL: Duration = Duration::from_millis(100);

/// One adopted peer link: its counters in both directions, and its routing id.
#[derive(Debug)]
pub(crate) struct PeerRecord {
    out: CountsHandle,
    inn: CountsHandle,
    routing_id: Bytes,
}

impl PeerRecord {
    fn counts(&self) -> &Counts {
        self.out.counts()
    }

    fn via_session(&self) -> bool {
        self.counts().link.via_session.load(Ordering::Acquire)
    }

    fn reached(&self) -> bool {
        !self.via_session() || self.counts().link.reached.load(Ordering::Acquire)
    }

    fn endpoint(&self) -> String {
        self.counts()
            .link
            .endpoint
            .get()
            .cloned()
            .unwrap_or_default()
    }

    fn address(&self) -> Option<String> {
        self.counts()
            .link
            .address
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn stats(&self) -> PeerStats {
        let out = &self.counts().writer;
        let inn = &self.inn.counts().reader;
        let link = &self.counts().link;
        PeerStats {
            endpoint: self.endpoint(),
            address: self.address(),
            routing_id: self.routing_id.clone(),
            msgs_in: get(&inn.msgs),
            bytes_in: get(&inn.bytes),
            msgs_out: get(&out.msgs),
            bytes_out: get(&out.bytes),
            queued: self.out.pending(false),
            queued_in: get(&self.inn.counts().writer.msgs).saturating_sub(get(&inn.msgs)),
            hwm_hits: get(&out.hwm_hits),
            dropped: get(&out.dropped),
            reached: self.reached(),
            reconnects: get(&link.reconnects),
            handshake_failures: HandshakeFailures {
                protocol: get(&link.failed_protocol),
                auth: get(&link.failed_auth),
                other: get(&link.failed_other),
            },
        }
    }

    fn pending_peer(&self, pending: u64) -> PendingPeer {
        PendingPeer {
            endpoint: self.endpoint(),
            address: self.address(),
            routing_id: self.routing_id.clone(),
            pending,
            reached: self.reached(),
        }
    }
}

/// Failed handshakes on all of a socket's endpoints, counted by its sessions.
#[derive(Debug, Default)]
pub(crate) struct FailureCounts {
    protocol: AtomicU64,
    auth: AtomicU64,
    other: AtomicU64,
}

/// The kinds of handshake failure, as counted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    Protocol,
    Auth,
    Other,
}

impl FailureCounts {
    /// Counts one failure (any I/O thread).
    pub(crate) fn count(&self, failure: Failure) {
        let counter = match failure {
            Failure::Protocol => &self.protocol,
            Failure::Auth => &self.auth,
            Failure::Other => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> HandshakeFailures {
        HandshakeFailures {
            protocol: self.protocol.load(Ordering::Relaxed),
            auth: self.auth.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Default)]
struct AlarmState {
    last_hwm: Option<Instant>,
    last_drop: Option<Instant>,
    /// Drops told to the alarm and not yet in an event, by reason.
    unreported: [u64; 3],
}

/// The socket's alarm: turns marks and drops into rate-limited monitor events.
#[derive(Debug)]
pub(crate) struct SocketAlarm {
    link: Arc<SocketLink>,
    state: Mutex<AlarmState>,
}

impl SocketAlarm {
    pub(crate) fn new(link: Arc<SocketLink>) -> SocketAlarm {
        SocketAlarm {
            link,
            state: Mutex::new(AlarmState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, AlarmState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn raise(&self, kind: EventKind, counts: Option<&Counts>) {
        let (endpoint, peer) = counts.map_or((String::new(), None), |c| {
            (
                c.link.endpoint.get().cloned().unwrap_or_default(),
                c.link
                    .address
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone(),
            )
        });
        self.link.monitors.emit(|| MonitorEvent {
            kind,
            endpoint,
            peer,
        });
    }
}

fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|t| now.duration_since(t) >= ALARM_INTERVAL)
}

impl Alarm for SocketAlarm {
    fn hwm_reached(&self, _id: PipeId, counts: &Counts) {
        if !self.link.monitors.is_active() {
            return;
        }
        let now = Instant::now();
        {
            let mut state = self.state();
            if !due(state.last_hwm, now) {
                return;
            }
            state.last_hwm = Some(now);
        }
        self.raise(EventKind::HwmReached, Some(counts));
    }

    fn dropped(&self, reason: DropReason, n: u64, counts: Option<&Counts>) {
        if !self.link.monitors.is_active() {
            return;
        }
        let now = Instant::now();
        let slot = reason as usize;
        let count = {
            let mut state = self.state();
            state.unreported[slot] += n;
            if !due(state.last_drop, now) {
                return;
            }
            state.last_drop = Some(now);
            std::mem::take(&mut state.unreported[slot])
        };
        self.raise(EventKind::MessagesDropped { reason, count }, counts);
    }
}

impl Socket {
    /// Takes a new peer link: records its counters, gives its writer the alarm, and hands
    /// it to the pattern.
    pub(super) fn adopt(&mut self, mut pipe: Pipe, peer: PeerMeta) {
        // Amortised: the records stay at most about twice as many as the live links.
        if self.peers.len() >= 8 && self.peers.len() >= 2 * self.live_at_last_sweep {
            self.forget_departed();
        }
        let out = pipe.writer.counts_handle();
        if !peer.endpoint.is_empty() {
            let _ = out.counts().link.endpoint.set(peer.endpoint.clone());
        }
        pipe.writer.set_alarm(self.alarm.clone());
        self.peers.push(PeerRecord {
            out,
            inn: pipe.reader.counts_handle(),
            routing_id: peer.routing_id.clone(),
        });
        self.pattern.attach(pipe, peer);
    }

    /// Drops the records of links that are gone, keeping their drops in the totals.
    fn forget_departed(&mut self) {
        let mut departed = 0;
        self.peers.retain(|p| {
            let gone = p.out.is_gone();
            if gone {
                departed += get(&p.counts().writer.dropped);
            }
            !gone
        });
        self.dropped_departed += departed;
        self.live_at_last_sweep = self.peers.len();
    }

    /// A snapshot of the socket's counters, one entry per attached peer. Cheap: it reads
    /// counters the message path keeps anyway, and takes no lock that a send or a receive
    /// takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-stats")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-stats")?;
    /// push.send("hello")?;
    /// pull.recv()?;
    ///
    /// let out = &push.stats()?.peers[0];
    /// assert_eq!((out.endpoint.as_str(), out.msgs_out, out.bytes_out), ("inproc://doc-stats", 1, 5));
    /// assert_eq!(pull.stats()?.peers[0].msgs_in, 1);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn stats(&mut self) -> Result<SocketStats> {
        self.process_mailbox()?;
        self.forget_departed();
        Ok(SocketStats {
            peers: self.peers.iter().map(PeerRecord::stats).collect(),
            unroutable: self.pattern.unroutable(),
            dropped_departed: self.dropped_departed,
            handshake_failures: self.link.failures.snapshot(),
        })
    }

    /// The per-peer part of [`Socket::stats`].
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert!(push.peers()?.is_empty());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn peers(&mut self) -> Result<Vec<PeerStats>> {
        Ok(self.stats()?.peers)
    }

    /// Waits until every message sent before the call has been handed to the kernel (tcp,
    /// ipc) or to the peer's queue (inproc), for every peer, or until `timeout` passes.
    /// `None` waits as long as it takes.
    ///
    /// "Handed to the kernel" means written to the connection's socket buffer: it says the
    /// message left this process, not that the peer read it. A message for a peer that is
    /// not connected (a `connect` still retrying) stays pending. Messages lost with a
    /// connection that broke count as done: they will not be handed over by waiting (see
    /// the guide for what ZeroMQ's delivery model promises).
    ///
    /// The report lists the peers that still hold messages; it is complete when none do.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect(&pull.last_endpoint().unwrap())?;
    /// for i in 0..100 {
    ///     push.send(format!("message {i}"))?;
    /// }
    /// let report = push.flush(Some(Duration::from_secs(10)))?;
    /// assert!(report.is_complete());
    /// assert_eq!(push.peers()?[0].queued, 0);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn flush(&mut self, timeout: Option<Duration>) -> Result<FlushReport> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.process_mailbox()?;
        let before: Vec<u64> = self.peers.iter().map(|p| p.out.pending(false)).collect();
        loop {
            let mut waiting = false;
            for (p, &was) in self.peers.iter().zip(&before) {
                if was > 0 && !p.out.is_gone() && p.out.pending(true) > 0 {
                    waiting = true;
                }
            }
            let expired = deadline.is_some_and(|d| Instant::now() >= d);
            if !waiting || expired {
                return Ok(self.flush_report(&before));
            }
            self.link.mailbox.wait_for(deadline, false);
            self.process_mailbox()?;
        }
    }

    fn flush_report(&self, before: &[u64]) -> FlushReport {
        let mut report = FlushReport::default();
        for (p, &was) in self.peers.iter().zip(before) {
            if was == 0 {
                continue;
            }
            let now = if p.out.is_gone() {
                0
            } else {
                p.out.pending(false).min(was)
            };
            report.flushed += was - now;
            if now > 0 {
                report.pending.push(p.pending_peer(now));
            }
        }
        report
    }

    /// Closes the socket after trying, for up to `linger`, to hand every queued message to
    /// the kernel, and reports what became of them. `None` waits as long as it takes (as a
    /// linger of -1 does in libzmq); `Some(Duration::ZERO)` drops everything at once.
    ///
    /// Unlike dropping the socket, which lingers in the background, this returns only when
    /// it is done, and nothing is sent after it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("tcp://127.0.0.1:5998")?; // nobody listens there
    /// push.send("never delivered")?;
    /// let report = push.close_with(Some(Duration::from_millis(50)))?;
    /// assert_eq!((report.flushed, report.dropped, report.unreached), (0, 0, 1));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn close_with(mut self, linger: Option<Duration>) -> Result<CloseReport> {
        let flush = self.flush(linger)?;
        let mut report = CloseReport {
            flushed: flush.flushed,
            ..CloseReport::default()
        };
        for p in &flush.pending {
            if p.reached {
                report.dropped += p.pending;
            } else {
                report.unreached += p.pending;
            }
        }
        // Whatever is still queued is dropped now, not sent in the background.
        self.set_linger(Some(Duration::ZERO))?;
        Ok(report)
    }
}
