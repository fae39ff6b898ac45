//! The socket monitor: typed events about a socket's endpoints and connections, mirroring
//! libzmq's `zmq_socket_monitor` event set.
//!
//! What must hold:
//! - Nobody listening costs one relaxed atomic load per event site, and no event site is on
//!   the per-message path: events are about listeners and connections, never messages.
//! - A monitor that is not read stays bounded: past its capacity the oldest event is
//!   dropped and counted.
//! - A receiver learns that the socket is gone: once the socket and every connection it
//!   had are closed and the queue is empty, `recv` fails with [`Error::Terminated`]
//!   (libzmq's `MONITOR_STOPPED`).
//! - Every wake-up goes through `MonitorQueue::push`, so an async receiver can add a
//!   `std::task::Waker` there without touching the event sites.

use crate::{Error, Result};
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// How many events a monitor keeps unread before it drops the oldest.
pub const DEFAULT_MONITOR_CAPACITY: usize = 1024;

/// What happened, with its detail. The names follow libzmq's `ZMQ_EVENT_*` constants
/// ([`EventKind::name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The socket listens on the endpoint (`bind` succeeded).
    Listening,
    /// `bind` failed.
    BindFailed {
        /// Why.
        error: String,
    },
    /// A listener accepted a connection.
    Accepted,
    /// A listener could not accept a connection (for example, no file descriptors were
    /// left); it tries again shortly.
    AcceptFailed {
        /// Why.
        error: String,
    },
    /// A connect attempt reached the peer (the handshake comes next).
    Connected,
    /// A connect attempt is under way and did not complete at once.
    ConnectDelayed,
    /// A connect attempt failed, or a connection was lost; the next attempt comes after
    /// `interval`.
    ConnectRetried {
        /// The delay before the next attempt.
        interval: Duration,
    },
    /// A listener or a pending connect attempt was closed.
    Closed,
    /// Closing failed (not raised by ferrozmq today; kept for libzmq's set).
    CloseFailed {
        /// Why.
        error: String,
    },
    /// An established connection ended.
    Disconnected {
        /// Why, in words (peer closed, heartbeat timeout, a protocol error, ...).
        reason: String,
    },
    /// The ZMTP handshake completed: messages can flow.
    HandshakeSucceeded,
    /// The handshake failed without a protocol error: the peer went away, or it timed out.
    HandshakeFailedNoDetail {
        /// Why, in words.
        reason: String,
    },
    /// The handshake failed because the peer broke the protocol.
    HandshakeFailedProtocol {
        /// What the peer did wrong.
        reason: String,
    },
    /// The handshake failed because authentication refused the peer.
    HandshakeFailedAuth {
        /// The ZAP status code (for example 400).
        status: u16,
    },
    /// A send found a peer's queue at its high-water mark (ferrozmq's own event; at most
    /// one per socket every 100 ms). The endpoint and peer are the full peer's.
    HwmReached,
    /// The socket dropped messages by policy (ferrozmq's own event; at most one per socket
    /// every 100 ms). `count` is how many since the previous such event, as far as they
    /// were reported: drops are told to the monitor on the first and then every 256th, so
    /// [`Socket::stats`](crate::Socket::stats) has the exact totals.
    MessagesDropped {
        /// Why they were dropped.
        reason: crate::DropReason,
        /// How many.
        count: u64,
    },
}

impl EventKind {
    /// libzmq's name for the event, without the `ZMQ_EVENT_` prefix: `LISTENING`,
    /// `ACCEPTED`, `HANDSHAKE_FAILED_PROTOCOL`, ...
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::EventKind;
    /// assert_eq!(EventKind::Accepted.name(), "ACCEPTED");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Listening => "LISTENING",
            EventKind::BindFailed { .. } => "BIND_FAILED",
            EventKind::Accepted => "ACCEPTED",
            EventKind::AcceptFailed { .. } => "ACCEPT_FAILED",
            EventKind::Connected => "CONNECTED",
            EventKind::ConnectDelayed => "CONNECT_DELAYED",
            EventKind::ConnectRetried { .. } => "CONNECT_RETRIED",
            EventKind::Closed => "CLOSED",
            EventKind::CloseFailed { .. } => "CLOSE_FAILED",
            EventKind::Disconnected { .. } => "DISCONNECTED",
            EventKind::HandshakeSucceeded => "HANDSHAKE_SUCCEEDED",
            EventKind::HandshakeFailedNoDetail { .. } => "HANDSHAKE_FAILED_NO_DETAIL",
            EventKind::HandshakeFailedProtocol { .. } => "HANDSHAKE_FAILED_PROTOCOL",
            EventKind::HandshakeFailedAuth { .. } => "HANDSHAKE_FAILED_AUTH",
            EventKind::HwmReached => "HWM_REACHED",
            EventKind::MessagesDropped { .. } => "MESSAGES_DROPPED",
        }
    }

    /// libzmq's numeric event code (`ZMQ_EVENT_CONNECTED` = 1, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::EventKind;
    /// assert_eq!(EventKind::Listening.code(), 0x0008);
    /// ```
    pub fn code(&self) -> u32 {
        match self {
            EventKind::Connected => 0x0001,
            EventKind::ConnectDelayed => 0x0002,
            EventKind::ConnectRetried { .. } => 0x0004,
            EventKind::Listening => 0x0008,
            EventKind::BindFailed { .. } => 0x0010,
            EventKind::Accepted => 0x0020,
            EventKind::AcceptFailed { .. } => 0x0040,
            EventKind::Closed => 0x0080,
            EventKind::CloseFailed { .. } => 0x0100,
            EventKind::Disconnected { .. } => 0x0200,
            EventKind::HandshakeFailedNoDetail { .. } => 0x0800,
            EventKind::HandshakeSucceeded => 0x1000,
            EventKind::HandshakeFailedProtocol { .. } => 0x2000,
            EventKind::HandshakeFailedAuth { .. } => 0x4000,
            // ferrozmq's own, above libzmq's draft PIPES_STATS (0x10000).
            EventKind::HwmReached => 0x2_0000,
            EventKind::MessagesDropped { .. } => 0x4_0000,
        }
    }

    /// The detail as text, if the event has one.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::EventKind;
    /// use std::time::Duration;
    /// let retried = EventKind::ConnectRetried { interval: Duration::from_millis(100) };
    /// assert_eq!(retried.detail().as_deref(), Some("100ms"));
    /// assert_eq!(EventKind::Accepted.detail(), None);
    /// ```
    pub fn detail(&self) -> Option<String> {
        match self {
            EventKind::BindFailed { error }
            | EventKind::AcceptFailed { error }
            | EventKind::CloseFailed { error } => Some(error.clone()),
            EventKind::ConnectRetried { interval } => Some(format!("{}ms", interval.as_millis())),
            EventKind::Disconnected { reason }
            | EventKind::HandshakeFailedNoDetail { reason }
            | EventKind::HandshakeFailedProtocol { reason } => Some(reason.clone()),
            EventKind::HandshakeFailedAuth { status } => Some(status.to_string()),
            EventKind::MessagesDropped { reason, count } => {
                Some(format!("{count} {}", reason.name()))
            }
            _ => None,
        }
    }
}

/// One monitor event: what happened, on which endpoint, with which peer.
///
/// Its `Display` form is one line, `EVENT ENDPOINT` or `EVENT ENDPOINT DETAIL`, with the
/// peer's address (where there is one) at the start of the detail.
///
/// # Examples
///
/// ```
/// use ferrozmq::{EventKind, MonitorEvent};
///
/// let event = MonitorEvent {
///     kind: EventKind::Accepted,
///     endpoint: "tcp://127.0.0.1:5555".into(),
///     peer: Some("127.0.0.1:40000".into()),
/// };
/// assert_eq!(event.to_string(), "ACCEPTED tcp://127.0.0.1:5555 peer 127.0.0.1:40000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorEvent {
    /// What happened.
    pub kind: EventKind,
    /// The endpoint as bound or connected (ports resolved).
    pub endpoint: String,
    /// The other end's address (`127.0.0.1:40000`, an ipc path), where there is one.
    pub peer: Option<String>,
}

impl fmt::Display for MonitorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name(), self.endpoint)?;
        let detail = self.kind.detail();
        match (&self.peer, detail) {
            (Some(peer), Some(d)) => write!(f, " peer {peer}: {d}"),
            (Some(peer), None) => write!(f, " peer {peer}"),
            (None, Some(d)) => write!(f, " {d}"),
            (None, None) => Ok(()),
        }
    }
}

/// The receiving end of a socket monitor, from [`Socket::monitor`](crate::Socket::monitor).
///
/// Events queue up to a capacity ([`DEFAULT_MONITOR_CAPACITY`] unless set with
/// [`Socket::monitor_with_capacity`](crate::Socket::monitor_with_capacity)); past it the oldest are dropped
/// and counted in [`Monitor::dropped`]. Dropping the `Monitor` stops the events. It is
/// `Send` and `Sync`, so another thread can watch a socket.
///
/// # Examples
///
/// ```
/// use ferrozmq::{Context, EventKind, SocketType};
/// use std::time::Duration;
///
/// let ctx = Context::new();
/// let mut pull = ctx.socket(SocketType::Pull)?;
/// let monitor = pull.monitor();
/// pull.bind("tcp://127.0.0.1:*")?;
/// let event = monitor.recv_timeout(Duration::from_secs(5))?;
/// assert_eq!(event.kind, EventKind::Listening);
/// assert_eq!(Some(event.endpoint), pull.last_endpoint());
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Debug)]
pub struct Monitor {
    queue: Arc<MonitorQueue>,
}

impl Monitor {
    /// Waits for the next event. Fails with [`Error::Terminated`] once the socket and all
    /// its connections are closed and every event has been read.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// let monitor = pull.monitor();
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// assert_eq!(monitor.recv()?.kind.name(), "LISTENING");
    /// drop(pull);
    /// assert_eq!(monitor.recv()?.kind.name(), "CLOSED"); // the listener went with it
    /// assert!(monitor.recv().is_err()); // and then nothing more will come
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn recv(&self) -> Result<MonitorEvent> {
        self.queue.pop(None)?.ok_or(Error::Timeout)
    }

    /// Waits for the next event, as a future, on any runtime. Fails with
    /// [`Error::Terminated`] once the socket and all its connections are closed and every
    /// event has been read. Cancel-safe: an event leaves the queue only in the poll that
    /// returns it. `Monitor` is also a `futures_core::Stream` of events.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context as Cx, Poll, Wake, Waker};
    /// #     use std::sync::Arc;
    /// #     struct T(std::thread::Thread);
    /// #     impl Wake for T { fn wake(self: Arc<Self>) { self.0.unpark() } }
    /// #     let waker = Waker::from(Arc::new(T(std::thread::current())));
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         if let Poll::Ready(v) = f.as_mut().poll(&mut Cx::from_waker(&waker)) { return v; }
    /// #         std::thread::park();
    /// #     }
    /// # }
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// let monitor = pull.monitor();
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let event = block_on(monitor.recv_async())?;
    /// assert_eq!(event.kind.name(), "LISTENING");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub async fn recv_async(&self) -> Result<MonitorEvent> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll behind [`Monitor::recv_async`]: `Ready` with the next event (or
    /// [`Error::Terminated`]), or `Pending` with `cx`'s waker registered.
    ///
    /// # Examples
    ///
    /// See [`Monitor::recv_async`].
    pub fn poll_recv(&self, cx: &mut std::task::Context<'_>) -> Poll<Result<MonitorEvent>> {
        self.queue.poll_pop(cx.waker())
    }

    /// The next event if there is one now; [`Error::WouldBlock`] if not.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Error;
    /// let ctx = ferrozmq::Context::new();
    /// let pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// let monitor = pull.monitor();
    /// assert!(matches!(monitor.try_recv(), Err(Error::WouldBlock)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn try_recv(&self) -> Result<MonitorEvent> {
        self.queue
            .pop(Some(Instant::now()))?
            .ok_or(Error::WouldBlock)
    }

    /// Waits up to `timeout` for the next event; [`Error::Timeout`] if none came.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Error;
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// let monitor = pull.monitor();
    /// let nothing = monitor.recv_timeout(Duration::from_millis(10));
    /// assert!(matches!(nothing, Err(Error::Timeout)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<MonitorEvent> {
        self.queue
            .pop(Some(Instant::now() + timeout))?
            .ok_or(Error::Timeout)
    }

    /// How many events were dropped because the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// let monitor = pull.monitor_with_capacity(1);
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// pull.bind("tcp://127.0.0.1:*")?; // a second LISTENING pushes out the first
    /// assert_eq!(monitor.dropped(), 1);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn dropped(&self) -> u64 {
        self.queue.lock().dropped
    }
}

/// A monitor's queue, shared by its receiver and the socket's event sites.
#[derive(Debug)]
pub(crate) struct MonitorQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
}

#[derive(Debug, Default)]
struct QueueState {
    events: VecDeque<MonitorEvent>,
    dropped: u64,
    /// The socket and everything it had are gone: no more events will come.
    stopped: bool,
    /// The task of a pending `recv_async` (or stream poll), woken by the next event.
    waker: Option<Waker>,
}

impl MonitorQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, event: MonitorEvent) {
        let mut state = self.lock();
        if state.events.len() >= self.capacity {
            state.events.pop_front();
            state.dropped += 1;
        }
        state.events.push_back(event);
        let waker = state.waker.take();
        drop(state);
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        let waker = state.waker.take();
        drop(state);
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next event if there is one, else registers `waker` for the next push.
    fn poll_pop(&self, waker: &Waker) -> Poll<Result<MonitorEvent>> {
        let mut state = self.lock();
        if let Some(event) = state.events.pop_front() {
            return Poll::Ready(Ok(event));
        }
        if state.stopped {
            return Poll::Ready(Err(Error::Terminated));
        }
        match &state.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => state.waker = Some(waker.clone()),
        }
        Poll::Pending
    }

    /// The next event; `Ok(None)` if none came by `deadline` (`None`: wait forever).
    fn pop(&self, deadline: Option<Instant>) -> Result<Option<MonitorEvent>> {
        let mut state = self.lock();
        loop {
            if let Some(event) = state.events.pop_front() {
                return Ok(Some(event));
            }
            if state.stopped {
                return Err(Error::Terminated);
            }
            match deadline {
                None => state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(t) => {
                    let now = Instant::now();
                    if now >= t {
                        return Ok(None);
                    }
                    state = self
                        .ready
                        .wait_timeout(state, t - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

/// The events as a stream, ending after [`Error::Terminated`] (which it does not yield).
impl futures_core::Stream for Monitor {
    type Item = MonitorEvent;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<MonitorEvent>> {
        self.queue.poll_pop(cx.waker()).map(Result::ok)
    }
}

/// The event sites' side: the monitors attached to one socket. Held inside the socket's
/// `SocketLink`, so it lives as long as anything (the socket, a listener, a session) can
/// still raise an event, and stops every monitor when it goes.
#[derive(Debug, Default)]
pub(crate) struct MonitorHub {
    /// Whether any monitor is attached: the only cost of an event nobody watches.
    active: AtomicBool,
    queues: Mutex<Vec<Arc<MonitorQueue>>>,
}

impl MonitorHub {
    fn queues(&self) -> MutexGuard<'_, Vec<Arc<MonitorQueue>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Attaches a new monitor holding up to `capacity` unread events.
    pub(crate) fn attach(&self, capacity: usize) -> Monitor {
        let queue = Arc::new(MonitorQueue {
            state: Mutex::new(QueueState::default()),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        });
        self.queues().push(queue.clone());
        self.active.store(true, Ordering::Release);
        Monitor { queue }
    }

    /// Whether anyone listens; event sites may skip building an event when not.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Raises an event: `make` runs only if a monitor is attached.
    pub(crate) fn emit(&self, make: impl FnOnce() -> MonitorEvent) {
        if !self.is_active() {
            return;
        }
        let event = make();
        log::trace!("monitor: {event}");
        let mut queues = self.queues();
        // A monitor whose receiver was dropped is held only here: let it go.
        queues.retain(|q| Arc::strong_count(q) > 1);
        if queues.is_empty() {
            self.active.store(false, Ordering::Relaxed);
            return;
        }
        if let Some((last, rest)) = queues.split_last() {
            for q in rest {
                q.push(event.clone());
            }
            last.push(event);
        }
    }

    /// Shorthand for [`MonitorHub::emit`] with the parts of an event.
    pub(crate) fn raise(&self, kind: EventKind, endpoint: &str, peer: Option<&str>) {
        self.emit(|| MonitorEvent {
            kind,
            endpoint: endpoint.to_owned(),
            peer: peer.map(str::to_owned),
        });
    }
}

impl Drop for MonitorHub {
    fn drop(&mut self) {
        for q in self.queues().drain(..) {
            q.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> MonitorEvent {
        MonitorEvent {
            kind: EventKind::ConnectRetried {
                interval: Duration::from_millis(n as u64),
            },
            endpoint: "tcp://127.0.0.1:1".into(),
            peer: None,
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let hub = MonitorHub::default();
        let monitor = hub.attach(3);
        for n in 0..5 {
            hub.emit(|| event(n));
        }
        assert_eq!(monitor.dropped(), 2);
        for n in 2..5 {
            assert_eq!(monitor.try_recv().unwrap(), event(n));
        }
        assert!(matches!(monitor.try_recv(), Err(Error::WouldBlock)));
    }

    #[test]
    fn nobody_listening_builds_no_event() {
        let hub = MonitorHub::default();
        hub.emit(|| panic!("built an event nobody watches"));
        let monitor = hub.attach(4);
        drop(monitor);
        hub.emit(|| event(1)); // prunes the dropped monitor
        hub.emit(|| panic!("built an event after the monitor was dropped"));
    }

    #[test]
    fn every_monitor_gets_every_event_and_learns_when_the_socket_is_gone() {
        let hub = MonitorHub::default();
        let a = hub.attach(8);
        let b = hub.attach(8);
        hub.emit(|| event(7));
        drop(hub);
        for m in [&a, &b] {
            assert_eq!(m.recv().unwrap(), event(7));
            assert!(matches!(m.recv(), Err(Error::Terminated)));
        }
    }

    #[test]
    fn a_blocked_receiver_is_woken_by_another_thread() {
        let hub = Arc::new(MonitorHub::default());
        let monitor = hub.attach(8);
        let sender = hub.clone();
        let t = std::thread::spawn(move || sender.emit(|| event(3)));
        assert_eq!(
            monitor.recv_timeout(Duration::from_secs(10)).unwrap(),
            event(3)
        );
        t.join().unwrap();
    }

    #[test]
    fn names_and_codes_follow_libzmq() {
        let all = [
            (EventKind::Connected, "CONNECTED", 1),
            (EventKind::ConnectDelayed, "CONNECT_DELAYED", 2),
            (EventKind::Listening, "LISTENING", 8),
            (EventKind::Accepted, "ACCEPTED", 0x20),
            (EventKind::Closed, "CLOSED", 0x80),
            (EventKind::HandshakeSucceeded, "HANDSHAKE_SUCCEEDED", 0x1000),
            (
                EventKind::HandshakeFailedAuth { status: 400 },
                "HANDSHAKE_FAILED_AUTH",
                0x4000,
            ),
        ];
        for (kind, name, code) in all {
            assert_eq!((kind.name(), kind.code()), (name, code));
        }
    }
}
