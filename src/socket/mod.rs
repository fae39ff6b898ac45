//! The public [`Socket`]: endpoints, options, and blocking or non-blocking send and receive
//! over whichever socket type it was created as.
//!
//! What must hold:
//! - A socket is used by one thread at a time (`Send`, `&mut self`); everything other threads
//!   have to say reaches it through its [`Mailbox`], which it drains before each operation.
//! - A blocking call waits on the mailbox with a deadline and never spins; a non-blocking call
//!   never waits.
//! - Closing hands the socket's sessions to their I/O thread, which keeps sending what is
//!   queued for up to the linger; `close` itself never blocks.

mod accounting;
mod asynchronous;
mod dealer;
mod endpoints;
mod joiner;
mod options;
mod pair;
mod pattern;
mod r#pub;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod security;
mod sub;
mod xpub;
mod xsub;

use crate::context::Context;
use crate::endpoint::Endpoint;
use crate::mailbox::{Mailbox, Notifier};
use crate::monitor::{EventKind, Monitor, MonitorHub, DEFAULT_MONITOR_CAPACITY};
use crate::options::Options;
use crate::pipe::{link_with, with_replying, Pipe, PipeId};
use crate::reactor::{IoCommand, ReactorShared, SessionConfig};
use crate::{transport, Error, Message, Result, SendError, SocketType};
use pattern::Pattern;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use accounting::{Failure, FailureCounts};
pub(crate) use pattern::PeerMeta;
pub(crate) use security::SecurityOptions;

/// A command to a socket from another thread.
#[derive(Debug)]
pub(crate) enum SocketCommand {
    /// A new peer link, from a connection whose handshake completed or an inproc peer.
    Attach(Pipe, PeerMeta),
    /// The connection behind link `id` (made by connect) was re-established.
    Reconnected(PipeId),
}

/// What other threads know about a socket: how to reach it and how long it lingers.
#[derive(Debug)]
pub(crate) struct SocketLink {
    /// The socket's id, unique within the process.
    pub(crate) id: u64,
    /// Where its notifications and commands go.
    pub(crate) mailbox: Arc<Mailbox>,
    /// The socket's current linger, read by the I/O thread when the context terminates.
    pub(crate) linger: Mutex<Option<Duration>>,
    /// The socket's monitors; every listener and session of the socket raises events here.
    pub(crate) monitors: MonitorHub,
    /// Failed handshakes on all the socket's endpoints (for `Socket::stats`).
    pub(crate) failures: FailureCounts,
}

impl SocketLink {
    /// The linger now in force.
    pub(crate) fn linger(&self) -> Option<Duration> {
        *self.linger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

static NEXT_ENDPOINT_KEY: AtomicU64 = AtomicU64::new(1);

#[derive(Debug)]
enum EndpointKind {
    /// A tcp or ipc listener on an I/O thread.
    Listening(u64),
    /// A tcp or ipc connection (with reconnects) on an I/O thread, and the link made for it
    /// at connect time (none for a ROUTER, which links at each handshake).
    Connecting(u64, Option<PipeId>),
    /// An inproc name this socket bound.
    InprocBound(String),
    /// An inproc link this socket connected.
    InprocConnected(PipeId),
}

#[derive(Debug)]
struct EndpointRecord {
    /// The endpoint as the user gave it.
    given: String,
    /// The endpoint as resolved (ephemeral port filled in), for `last_endpoint`.
    resolved: String,
    kind: EndpointKind,
}

/// How long a call may wait.
#[derive(Clone, Copy, Debug)]
enum Wait {
    Never,
    Until(Option<Instant>),
}

impl Wait {
    fn from_timeout(timeout: Option<Duration>) -> Wait {
        Wait::Until(timeout.map(|t| Instant::now() + t))
    }
}

/// A ZeroMQ socket of one [`SocketType`].
///
/// Create it with [`Context::socket`]. It is `Send` but not `Sync`: one thread uses it at a
/// time. Dropping it closes it; messages still queued keep going out in the background
/// for up to the linger time ([`Socket::set_linger`]).
///
/// # Examples
///
/// ```
/// use ferrozmq::{Context, SocketType};
///
/// let ctx = Context::new();
/// let mut pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://example")?;
/// let mut push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://example")?;
///
/// push.send(vec!["two", "frames"])?;
/// let msg = pull.recv()?;
/// assert_eq!(msg.len(), 2);
/// assert_eq!(&msg[1][..], b"frames");
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Debug)]
pub struct Socket {
    kind: SocketType,
    link: Arc<SocketLink>,
    options: Options,
    pattern: Box<dyn Pattern>,
    endpoints: Vec<EndpointRecord>,
    reactor: Option<Arc<ReactorShared>>,
    activated: Vec<PipeId>,
    commands: Vec<SocketCommand>,
    terminated: bool,
    /// A message went out since this socket last waited to receive: the next wait is for
    /// a reply, which is worth a longer spin (see `Mailbox::wait_for`).
    sent_since_recv_wait: bool,
    /// The last message operation was a receive that had to wait: the next send answers it
    /// (request/reply), which may take the direct path (see `pipe::direct`).
    answering: bool,
    /// Every peer link adopted, for `stats` and `flush` (see `accounting`).
    peers: Vec<accounting::PeerRecord>,
    /// Live links after the last sweep of `peers`, and drops of the links swept away.
    live_at_last_sweep: usize,
    dropped_departed: u64,
    /// Turns marks and drops into monitor events.
    alarm: Arc<accounting::SocketAlarm>,
    // Last, so the pattern's pipe ends are gone before the context may shut down.
    ctx: Context,
}

impl Socket {
    pub(crate) fn new(ctx: Context, kind: SocketType, id: u64) -> Result<Socket> {
        let pattern: Box<dyn Pattern> = match kind {
            SocketType::Push => Box::<push::Push>::default(),
            SocketType::Pull => Box::<pull::Pull>::default(),
            SocketType::Pair => Box::<pair::Pair>::default(),
            SocketType::Req => Box::<req::Req>::default(),
            SocketType::Rep => Box::<rep::Rep>::default(),
            SocketType::Dealer => Box::<dealer::Dealer>::default(),
            SocketType::Router => Box::<router::Router>::default(),
            SocketType::Pub => Box::<r#pub::Pub>::default(),
            SocketType::Sub => Box::<sub::Sub>::default(),
            SocketType::XPub => Box::<xpub::XPub>::default(),
            SocketType::XSub => Box::<xsub::XSub>::default(),
        };
        let mut pattern = pattern;
        let options = Options::default();
        let link = Arc::new(SocketLink {
            id,
            mailbox: Mailbox::new(),
            linger: Mutex::new(options.linger),
            monitors: MonitorHub::default(),
            failures: FailureCounts::default(),
        });
        let alarm = Arc::new(accounting::SocketAlarm::new(link.clone()));
        pattern.set_alarm(alarm.clone());
        Ok(Socket {
            ctx,
            kind,
            link,
            options,
            pattern,
            endpoints: Vec::new(),
            reactor: None,
            activated: Vec::new(),
            commands: Vec::new(),
            terminated: false,
            sent_since_recv_wait: false,
            answering: false,
            peers: Vec::new(),
            live_at_last_sweep: 0,
            dropped_departed: 0,
            alarm,
        })
    }

    pub(crate) fn link(&self) -> &Arc<SocketLink> {
        &self.link
    }

    /// This socket's type.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let dealer = ctx.socket(SocketType::Dealer)?;
    /// assert_eq!(dealer.socket_type(), SocketType::Dealer);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn socket_type(&self) -> SocketType {
        self.kind
    }

    /// Starts watching this socket: the returned [`Monitor`] receives an event for each
    /// listener and connection that comes, goes or fails, like libzmq's
    /// `zmq_socket_monitor` for all events. It keeps up to
    /// [`DEFAULT_MONITOR_CAPACITY`] unread events and then drops the oldest. Several
    /// monitors may watch one socket; each gets every event raised after it was made.
    /// Events are about tcp and ipc endpoints; inproc raises none, as in libzmq.
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
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect(&pull.last_endpoint().unwrap())?;
    /// let kinds: Vec<EventKind> = (0..3)
    ///     .map(|_| monitor.recv_timeout(Duration::from_secs(10)).map(|e| e.kind))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(
    ///     kinds,
    ///     [EventKind::Listening, EventKind::Accepted, EventKind::HandshakeSucceeded]
    /// );
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn monitor(&self) -> Monitor {
        self.monitor_with_capacity(DEFAULT_MONITOR_CAPACITY)
    }

    /// [`Socket::monitor`] with room for `capacity` unread events (at least one).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// let monitor = pull.monitor_with_capacity(16);
    /// assert_eq!(monitor.dropped(), 0);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn monitor_with_capacity(&self, capacity: usize) -> Monitor {
        self.link.monitors.attach(capacity)
    }

    // ----- sending and receiving -----

    /// Sends a message, waiting while no peer can take it, for up to the send timeout
    /// ([`Socket::set_sndtimeo`], forever by default).
    ///
    /// On failure the message comes back inside the [`SendError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-send")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-send")?;
    /// push.send("one frame")?;
    /// push.send(vec!["two", "frames"])?;
    /// assert_eq!(&pull.recv()?[0][..], b"one frame");
    /// assert_eq!(pull.recv()?.len(), 2);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let wait = Wait::from_timeout(self.options.sndtimeo);
        self.send_with(msg.into(), wait)
    }

    /// Sends a message only if a peer can take it now; otherwise fails with
    /// [`Error::WouldBlock`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// // No peer yet: the message comes back.
    /// let err = push.try_send("hello").unwrap_err();
    /// assert!(matches!(err.error, Error::WouldBlock));
    ///
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-try-send")?;
    /// push.connect("inproc://doc-try-send")?;
    /// push.try_send(err.message)?; // now there is room
    /// assert_eq!(&pull.recv()?[0][..], b"hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        self.send_with(msg.into(), Wait::Never)
    }

    /// Sends a message, waiting at most `timeout`; fails with [`Error::Timeout`] after that.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// // No peer to send to: give up after 10 ms.
    /// let err = push.send_timeout("hello", Duration::from_millis(10)).unwrap_err();
    /// assert!(matches!(err.error, Error::Timeout));
    /// assert_eq!(&err.message[0][..], b"hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn send_timeout(
        &mut self,
        msg: impl Into<Message>,
        timeout: Duration,
    ) -> Result<(), SendError> {
        self.send_with(msg.into(), Wait::from_timeout(Some(timeout)))
    }

    /// Receives the next message, waiting for up to the receive timeout
    /// ([`Socket::set_rcvtimeo`], forever by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut rep = ctx.socket(SocketType::Rep)?;
    /// rep.bind("inproc://doc-recv")?;
    /// let mut req = ctx.socket(SocketType::Req)?;
    /// req.connect("inproc://doc-recv")?;
    /// req.send("ping")?;
    /// assert_eq!(&rep.recv()?[0][..], b"ping");
    /// rep.send("pong")?;
    /// assert_eq!(&req.recv()?[0][..], b"pong");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn recv(&mut self) -> Result<Message> {
        let wait = Wait::from_timeout(self.options.rcvtimeo);
        self.recv_with(wait)
    }

    /// Receives a message if one is queued; otherwise fails with [`Error::WouldBlock`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-try-recv")?;
    /// assert!(matches!(pull.try_recv(), Err(Error::WouldBlock))); // nothing queued yet
    ///
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-try-recv")?;
    /// push.send("hello")?;
    /// assert_eq!(&pull.try_recv()?[0][..], b"hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn try_recv(&mut self) -> Result<Message> {
        self.recv_with(Wait::Never)
    }

    /// Receives the next message, waiting at most `timeout`; fails with [`Error::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-recv-timeout")?;
    /// let nothing = pull.recv_timeout(Duration::from_millis(10));
    /// assert!(matches!(nothing, Err(Error::Timeout)));
    ///
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-recv-timeout")?;
    /// push.send("hello")?;
    /// assert_eq!(&pull.recv_timeout(Duration::from_secs(5))?[0][..], b"hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Message> {
        self.recv_with(Wait::from_timeout(Some(timeout)))
    }

    fn send_with(&mut self, mut message: Message, wait: Wait) -> Result<(), SendError> {
        if message.is_empty() {
            return Err(SendError {
                error: Error::EmptyMessage,
                message,
            });
        }
        loop {
            if let Err(error) = self.process_mailbox() {
                return Err(SendError { error, message });
            }
            let pattern = &mut self.pattern;
            match with_replying(self.answering, || pattern.send(message)) {
                Err(SendError {
                    error: Error::WouldBlock,
                    message: m,
                }) => message = m,
                done => {
                    if done.is_ok() {
                        self.sent_since_recv_wait = true;
                        self.answering = false;
                    }
                    return done;
                }
            }
            if let Err(error) = self.wait(wait, false) {
                return Err(SendError { error, message });
            }
        }
    }

    fn recv_with(&mut self, wait: Wait) -> Result<Message> {
        let mut waited = false;
        loop {
            self.process_mailbox()?;
            match self.pattern.recv() {
                Err(Error::WouldBlock) => {}
                done => {
                    // The next send answers this message. Only a message the socket had to
                    // wait for makes it a request/reply turn worth the direct path: a server
                    // working through queued requests leaves its replies to the I/O thread,
                    // which batches those to one peer into one write.
                    self.answering = done.is_ok() && waited;
                    return done;
                }
            }
            let expect_reply = std::mem::take(&mut self.sent_since_recv_wait);
            self.wait(wait, expect_reply)?;
            waited = true;
        }
    }

    /// Waits for the mailbox, or says why not.
    fn wait(&mut self, wait: Wait, expect_reply: bool) -> Result<()> {
        match wait {
            Wait::Never => Err(Error::WouldBlock),
            Wait::Until(deadline) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Error::Timeout);
                }
                self.link.mailbox.wait_for(deadline, expect_reply);
                Ok(())
            }
        }
    }

    fn check_alive(&mut self) -> Result<()> {
        self.process_mailbox()
    }

    /// Applies whatever other threads reported since the last call.
    fn process_mailbox(&mut self) -> Result<()> {
        if self.link.mailbox.has_pending() {
            let terminated = self
                .link
                .mailbox
                .take(&mut self.activated, &mut self.commands);
            let mut commands = std::mem::take(&mut self.commands);
            for command in commands.drain(..) {
                match command {
                    SocketCommand::Attach(pipe, peer) => self.adopt(pipe, peer),
                    SocketCommand::Reconnected(id) => self.pattern.reconnected(id),
                }
            }
            self.commands = commands;
            for id in self.activated.drain(..) {
                self.pattern.activated(id);
            }
            self.terminated |= terminated;
        }
        if self.terminated {
            Err(Error::Terminated)
        } else {
            Ok(())
        }
    }

    /// Whether a message can be received and whether one can be sent, right now, after
    /// applying what other threads reported (for polling).
    pub(crate) fn readiness(&mut self) -> Result<(bool, bool)> {
        self.process_mailbox()?;
        Ok((self.pattern.can_recv(), self.pattern.can_send()))
    }

    /// The mailbox a poller watches.
    pub(crate) fn mailbox(&self) -> &Arc<Mailbox> {
        &self.link.mailbox
    }

    /// Closes the socket; the same as dropping it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-close")?;
    /// pull.close();
    /// // Its endpoints went with it: another socket can bind the name.
    /// let mut other = ctx.socket(SocketType::Pull)?;
    /// other.bind("inproc://doc-close")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn close(self) {}
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ctx.socket_closed(self.link.id);
        if let Some(reactor) = &self.reactor {
            reactor.send(IoCommand::CloseSocket {
                socket: self.link.id,
            });
        }
        // The pattern drops its pipe ends after this, which tells every session that the
        // socket is gone; each then sends what is left, within the linger.
    }
}
