//! The I/O thread: one mio event loop that owns listeners and peer connections (sessions),
//! takes commands from sockets, and moves messages between pipes and the network.
//!
//! What must hold:
//! - Nothing blocks the loop: no name lookup (a host name is looked up on a thread of its
//!   own before each connect attempt, which reports back through the inbox),
//!   no user code, no lock held across I/O.
//! - Work arrives batched: commands and pipe activations queue in one inbox, and the loop is
//!   woken once per batch (the `woken` flag saves the eventfd write while a wake is pending).
//! - Every session ends by being removed from `sessions`, which drops its stream and pipe
//!   ends, so the socket always learns that a peer is gone.
//! - After `Shutdown` the loop runs until every session has flushed or its linger ran out,
//!   then exits; commands that arrive later are dropped at once.

mod heartbeat;
mod session;

use crate::monitor::EventKind;
use crate::options::Options;
use crate::pipe::Pipe;
use crate::socket::SocketLink;
use crate::transport::{ConnectTarget, Listener};
use crate::SocketType;
use mio::{Events, Interest, Poll, Token, Waker};
use session::{Session, Status};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const WAKER: Token = Token(0);

/// What a session needs to know of its socket, fixed when the endpoint was bound or
/// connected (as libzmq applies options).
#[derive(Debug)]
pub(crate) struct SessionConfig {
    pub(crate) socket_type: SocketType,
    pub(crate) options: Options,
    /// The mechanism and role of every connection of this endpoint, with its secrets.
    pub(crate) security: crate::zmtp::Security,
    /// The context's ZAP, asked about clients by server connections.
    pub(crate) zap: Arc<crate::zap::Zap>,
    /// For a connect: the routing id the socket gives this peer, if the user set one.
    pub(crate) connect_routing_id: Option<bytes::Bytes>,
    /// The endpoint as bound (port resolved) or connected, for monitor events.
    pub(crate) endpoint: String,
}

/// A request from a socket (or the context) to an I/O thread.
// Commands are rare (one per bind, connect or close) and short-lived: their size is no cost.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum IoCommand {
    /// Accept connections on `listener` for `socket`, spreading their sessions over the
    /// I/O threads in `spread` (the context's, this one included).
    Listen {
        key: usize,
        listener: Listener,
        socket: Arc<SocketLink>,
        config: Arc<SessionConfig>,
        endpoint: u64,
        spread: Arc<[Arc<ReactorShared>]>,
    },
    /// Serve `stream`, which another I/O thread's listener accepted, as session `key`.
    Adopt {
        key: usize,
        stream: crate::transport::Stream,
        socket: Arc<SocketLink>,
        config: Arc<SessionConfig>,
        endpoint: u64,
    },
    /// Keep a connection to `target` up, carrying `pipe` (the session's ends), or, if
    /// `None`, making a new link with the socket at each handshake.
    Connect {
        key: usize,
        target: ConnectTarget,
        pipe: Option<Pipe>,
        socket: Arc<SocketLink>,
        config: Arc<SessionConfig>,
        endpoint: u64,
    },
    /// The lookup of session `key`'s host name finished (see `Session::resolved`).
    Resolved {
        key: usize,
        result: std::io::Result<Vec<std::net::SocketAddr>>,
    },
    /// Close a listener and the sessions it accepted. Sent to the listener's thread, which
    /// then forwards it to the other threads of its spread, after any `Adopt` it sent them.
    Unbind { socket: u64, endpoint: u64 },
    /// Close a connection made by `Connect`.
    Disconnect { socket: u64, endpoint: u64 },
    /// The socket closed: close its listeners, let its sessions linger. Sent to the
    /// socket's thread, which forwards it like `Unbind`.
    CloseSocket { socket: u64 },
    /// The context is terminating.
    Shutdown,
}

/// The part of an I/O thread other threads talk to.
pub(crate) struct ReactorShared {
    waker: Waker,
    inbox: Mutex<Inbox>,
    next_key: AtomicUsize,
    /// Sessions assigned to this thread and not yet ended: what listeners compare to
    /// choose the least-loaded thread for a new connection, as libzmq does.
    load: AtomicUsize,
}

#[derive(Default)]
struct Inbox {
    commands: Vec<IoCommand>,
    activated: Vec<usize>,
    woken: bool,
    stopped: bool,
}

impl ReactorShared {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh key for a listener or session on this thread.
    pub(crate) fn next_key(&self) -> usize {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues a command for the loop.
    pub(crate) fn send(&self, command: IoCommand) {
        let mut inbox = self.lock();
        if inbox.stopped {
            drop(inbox);
            drop(command); // Outside the lock: dropping pipes notifies back into it.
            return;
        }
        inbox.commands.push(command);
        self.wake(inbox);
    }

    /// Tells the loop that a pipe of session `key` changed.
    pub(crate) fn activate(&self, key: usize) {
        let mut inbox = self.lock();
        if inbox.stopped {
            return;
        }
        inbox.activated.push(key);
        self.wake(inbox);
    }

    fn wake(&self, mut inbox: MutexGuard<'_, Inbox>) {
        if !inbox.woken {
            inbox.woken = true;
            drop(inbox);
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake the I/O thread: {e}");
            }
        }
    }
}

impl fmt::Debug for ReactorShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReactorShared").finish_non_exhaustive()
    }
}

/// Starts I/O thread number `index`.
pub(crate) fn spawn(index: usize) -> io::Result<(Arc<ReactorShared>, JoinHandle<()>)> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let shared = Arc::new(ReactorShared {
        waker,
        inbox: Mutex::new(Inbox::default()),
        next_key: AtomicUsize::new(1),
        load: AtomicUsize::new(0),
    });
    let for_thread = shared.clone();
    let join = std::thread::Builder::new()
        .name(format!("ferrozmq-io-{index}"))
        .spawn(move || Reactor::new(poll, for_thread).run())?;
    Ok((shared, join))
}

struct ListenerEntry {
    listener: Listener,
    socket: Arc<SocketLink>,
    config: Arc<SessionConfig>,
    endpoint: u64,
    /// The I/O threads this listener's sessions may go to.
    spread: Arc<[Arc<ReactorShared>]>,
    /// Accepting paused (no descriptors left) until this time; see `accept_all`.
    retry_at: Option<Instant>,
}

/// How long a listener waits before it tries to accept again after running out of file
/// descriptors (or memory): long enough not to spin, short enough to serve peers soon
/// after descriptors are free again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Whether a failed accept means the process (or system) is out of a resource, so that
/// trying again at once would only spin: EMFILE, ENFILE, ENOBUFS, ENOMEM.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24 | 105 | 12)) || e.kind() == io::ErrorKind::OutOfMemory
}

struct Reactor {
    poll: Poll,
    shared: Arc<ReactorShared>,
    listeners: HashMap<usize, ListenerEntry>,
    sessions: HashMap<usize, Session>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    shutting_down: bool,
    /// A request/reply session was busy recently (I/O, its pipe, a timer): until then the
    /// loop polls without sleeping (see `HOT_POLL`).
    hot_until: Option<Instant>,
}

/// How long the loop keeps polling without sleeping after request/reply traffic. The next
/// request or reply usually comes within a round trip: finding it with a zero-timeout poll
/// saves the wake-up of a thread asleep in epoll (and the sender's wake of this thread).
const HOT_POLL: Duration = Duration::from_micros(50);

impl Reactor {
    fn new(poll: Poll, shared: Arc<ReactorShared>) -> Reactor {
        Reactor {
            poll,
            shared,
            listeners: HashMap::new(),
            sessions: HashMap::new(),
            timers: BinaryHeap::new(),
            shutting_down: false,
            hot_until: None,
        }
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        let mut ready = Vec::new();
        let mut commands = Vec::new();
        let mut activated = Vec::new();
        // Whether the last turn left the inbox marked awake: then this turn must not sleep,
        // since no sender will wake it.
        let mut hot = false;
        loop {
            let timeout = if hot || self.is_hot() {
                Some(Duration::ZERO)
            } else {
                self.timers
                    .peek()
                    .map(|Reverse((t, _))| t.saturating_duration_since(Instant::now()))
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("I/O thread poll failed: {e}");
                    break;
                }
            }
            ready.extend(events.iter().map(|e| {
                let failed = e.is_error() || e.is_read_closed() || e.is_write_closed();
                let ready = session::Readiness {
                    readable: e.is_readable() || failed,
                    writable: e.is_writable() || failed,
                    read_closed: e.is_error() || e.is_read_closed(),
                };
                (e.token().0, ready)
            }));
            for (key, ready) in ready.drain(..) {
                if key == WAKER.0 {
                    continue;
                }
                if self.listeners.contains_key(&key) {
                    self.accept_all(key);
                } else {
                    self.with_session(key, |s, cx| s.on_io(cx, ready));
                }
            }
            hot = self.is_hot();
            {
                let mut inbox = self.shared.lock();
                // While hot, the loop looks at the inbox on every turn anyway: senders need
                // not wake it (`ReactorShared::wake` skips the waker while this is set).
                inbox.woken = hot;
                std::mem::swap(&mut inbox.commands, &mut commands);
                std::mem::swap(&mut inbox.activated, &mut activated);
            }
            if hot && activated.is_empty() && commands.is_empty() {
                std::thread::yield_now();
            }
            // Pipe activations first: a socket that sends and then closes with linger 0
            // expects what it sent before closing to go out if it can (as in libzmq,
            // whose session sees the two in order).
            activated.sort_unstable();
            activated.dedup();
            for key in activated.drain(..) {
                self.with_session(key, |s, cx| s.on_pipe(cx));
            }
            for command in commands.drain(..) {
                self.handle(command);
            }
            self.fire_timers();
            if self.shutting_down && self.sessions.is_empty() {
                break;
            }
        }
        self.stop();
    }

    /// Marks the inbox stopped and drops everything still queued or owned.
    fn stop(mut self) {
        let leftovers = {
            let mut inbox = self.shared.lock();
            inbox.stopped = true;
            std::mem::take(&mut inbox.commands)
        };
        drop(leftovers);
        let registry = self.poll.registry();
        for (_, mut s) in self.sessions.drain() {
            s.close(registry);
        }
        for (_, mut l) in self.listeners.drain() {
            let _ = registry.deregister(&mut l.listener);
        }
        log::debug!("I/O thread stopped");
    }

    fn handle(&mut self, command: IoCommand) {
        match command {
            IoCommand::Listen {
                key,
                mut listener,
                socket,
                config,
                endpoint,
                spread,
            } => {
                if self.shutting_down {
                    return;
                }
                if let Err(e) =
                    self.poll
                        .registry()
                        .register(&mut listener, Token(key), Interest::READABLE)
                {
                    log::error!("cannot watch a listener: {e}");
                    return;
                }
                self.listeners.insert(
                    key,
                    ListenerEntry {
                        listener,
                        socket,
                        config,
                        endpoint,
                        spread,
                        retry_at: None,
                    },
                );
                // Connections may have queued before we watched the listener.
                self.accept_all(key);
            }
            IoCommand::Connect {
                key,
                target,
                pipe,
                socket,
                config,
                endpoint,
            } => {
                if self.shutting_down {
                    return;
                }
                let session = Session::connect(key, target, pipe, socket, config, endpoint);
                self.shared.load.fetch_add(1, Ordering::Relaxed);
                self.sessions.insert(key, session);
                self.with_session(key, |s, cx| s.start(cx));
            }
            IoCommand::Adopt {
                key,
                stream,
                socket,
                config,
                endpoint,
            } => {
                if self.shutting_down {
                    self.shared.load.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
                let session = Session::accepted(key, stream, socket, config, endpoint);
                self.sessions.insert(key, session);
                self.with_session(key, |s, cx| s.start(cx));
            }
            IoCommand::Resolved { key, result } => {
                self.with_session(key, |s, cx| s.resolved(cx, result));
            }
            IoCommand::Unbind { socket, endpoint } => {
                let others =
                    self.remove_listeners(|l| l.socket.id == socket && l.endpoint == endpoint);
                self.end_sessions(|s| {
                    s.socket.id == socket && s.endpoint == endpoint && s.is_accepted()
                });
                for other in others {
                    other.send(IoCommand::Unbind { socket, endpoint });
                }
            }
            IoCommand::Disconnect { socket, endpoint } => {
                self.end_sessions(|s| {
                    s.socket.id == socket && s.endpoint == endpoint && !s.is_accepted()
                });
            }
            IoCommand::CloseSocket { socket } => {
                let others = self.remove_listeners(|l| l.socket.id == socket);
                for key in keys_where(&self.sessions, |s| s.socket.id == socket) {
                    self.with_session(key, |s, cx| {
                        let linger = s.socket.linger();
                        s.socket_closed(cx, linger)
                    });
                }
                for other in others {
                    other.send(IoCommand::CloseSocket { socket });
                }
            }
            IoCommand::Shutdown => {
                self.shutting_down = true;
                self.remove_listeners(|_| true);
                let keys: Vec<usize> = self.sessions.keys().copied().collect();
                for key in keys {
                    self.with_session(key, |s, cx| {
                        if s.is_closing() {
                            Status::Continue
                        } else {
                            let linger = s.socket.linger();
                            s.socket_closed(cx, linger)
                        }
                    });
                }
            }
        }
    }

    /// Closes the matching listeners, and returns the other I/O threads they spread their
    /// sessions to (each once), which must hear about it after them.
    fn remove_listeners(
        &mut self,
        matches: impl Fn(&ListenerEntry) -> bool,
    ) -> Vec<Arc<ReactorShared>> {
        let mut others: Vec<Arc<ReactorShared>> = Vec::new();
        for key in keys_where(&self.listeners, matches) {
            if let Some(mut l) = self.listeners.remove(&key) {
                let _ = self.poll.registry().deregister(&mut l.listener);
                drop(l.listener); // Closed (and an ipc file removed) before the event.
                l.socket
                    .monitors
                    .raise(EventKind::Closed, &l.config.endpoint, None);
                for r in l.spread.iter() {
                    if !Arc::ptr_eq(r, &self.shared) && !others.iter().any(|o| Arc::ptr_eq(o, r)) {
                        others.push(r.clone());
                    }
                }
            }
        }
        others
    }

    fn end_sessions(&mut self, matches: impl Fn(&Session) -> bool) {
        for key in keys_where(&self.sessions, matches) {
            if let Some(mut s) = self.sessions.remove(&key) {
                self.shared.load.fetch_sub(1, Ordering::Relaxed);
                s.close(self.poll.registry());
            }
        }
    }

    /// Accepts every pending connection. When the process runs out of descriptors, the
    /// listener pauses for `ACCEPT_RETRY` (the pending peers wait in the kernel's backlog)
    /// and then tries again from a timer: it neither spins nor goes deaf, since no new
    /// readiness edge may ever come for peers already waiting.
    fn accept_all(&mut self, key: usize) {
        loop {
            let Some(entry) = self.listeners.get_mut(&key) else {
                return;
            };
            if entry.retry_at.is_some() {
                return; // Paused; the timer resumes it.
            }
            match entry.listener.accept() {
                Ok(stream) => {
                    let peer = stream.peer_description();
                    entry.socket.monitors.raise(
                        EventKind::Accepted,
                        &entry.config.endpoint,
                        Some(&peer),
                    );
                    let target = least_loaded(&entry.spread, &self.shared);
                    target.load.fetch_add(1, Ordering::Relaxed);
                    let session_key = target.next_key();
                    if !Arc::ptr_eq(&target, &self.shared) {
                        target.send(IoCommand::Adopt {
                            key: session_key,
                            stream,
                            socket: entry.socket.clone(),
                            config: entry.config.clone(),
                            endpoint: entry.endpoint,
                        });
                        continue;
                    }
                    let session = Session::accepted(
                        session_key,
                        stream,
                        entry.socket.clone(),
                        entry.config.clone(),
                        entry.endpoint,
                    );
                    self.sessions.insert(session_key, session);
                    self.with_session(session_key, |s, cx| s.start(cx));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    log::warn!("accept on {} failed: {e}", entry.config.endpoint);
                    let error = e.to_string();
                    entry.socket.monitors.raise(
                        EventKind::AcceptFailed { error },
                        &entry.config.endpoint,
                        None,
                    );
                    if out_of_resources(&e) {
                        let at = Instant::now() + ACCEPT_RETRY;
                        entry.retry_at = Some(at);
                        self.timers.push(Reverse((at, key)));
                    }
                    return;
                }
            }
        }
    }

    /// Runs `f` on session `key`, then removes the session if it is done, or schedules its
    /// next timer.
    fn with_session(
        &mut self,
        key: usize,
        f: impl FnOnce(&mut Session, &mut session::Cx<'_>) -> Status,
    ) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let mut cx = session::Cx {
            registry: self.poll.registry(),
            reactor: &self.shared,
            now: Instant::now(),
        };
        if session.replies() {
            self.hot_until = Some(cx.now + HOT_POLL);
        }
        match f(session, &mut cx) {
            Status::Done => {
                if let Some(mut s) = self.sessions.remove(&key) {
                    self.shared.load.fetch_sub(1, Ordering::Relaxed);
                    s.close(self.poll.registry());
                }
            }
            Status::Continue => {
                let next = session.next_deadline();
                if next.is_some() && next != session.scheduled {
                    session.scheduled = next;
                    if let Some(t) = next {
                        self.timers.push(Reverse((t, key)));
                    }
                }
            }
        }
    }

    /// Whether a request/reply session was busy within `HOT_POLL`: then the loop polls
    /// without sleeping.
    fn is_hot(&self) -> bool {
        self.hot_until.is_some_and(|t| Instant::now() < t)
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((t, key))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            if let Some(l) = self.listeners.get_mut(&key) {
                if l.retry_at == Some(t) {
                    l.retry_at = None;
                    self.accept_all(key);
                }
                continue;
            }
            let due = self
                .sessions
                .get(&key)
                .is_some_and(|s| s.scheduled == Some(t));
            if due {
                if let Some(s) = self.sessions.get_mut(&key) {
                    s.scheduled = None;
                }
                self.with_session(key, |s, cx| s.on_timer(cx));
            }
        }
    }
}

/// The thread of `spread` with the fewest sessions; `own` on a tie, so a single busy
/// socket's connections stay together until another thread is clearly lighter.
fn least_loaded(spread: &[Arc<ReactorShared>], own: &Arc<ReactorShared>) -> Arc<ReactorShared> {
    let mut best = own.clone();
    let mut best_load = own.load.load(Ordering::Relaxed);
    for r in spread {
        let load = r.load.load(Ordering::Relaxed);
        if load < best_load {
            best = r.clone();
            best_load = load;
        }
    }
    best
}

/// The keys of the entries of `map` that match.
fn keys_where<T>(map: &HashMap<usize, T>, matches: impl Fn(&T) -> bool) -> Vec<usize> {
    map.iter()
        .filter(|(_, v)| matches(v))
        .map(|(k, _)| *k)
        .collect()
}

/// Adds libzmq-style jitter and back-off to a reconnect delay.
pub(crate) fn next_backoff(
    current: Duration,
    base: Duration,
    max: Duration,
    seed: &mut u64,
) -> (Duration, Duration) {
    // xorshift: cheap, good enough to spread reconnect storms.
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let base_ms = base.as_millis().max(1) as u64;
    let jitter = Duration::from_millis(*seed % base_ms);
    let delay = current + jitter;
    let next = if max > base {
        (current * 2).min(max)
    } else {
        current
    };
    (delay, next)
}
