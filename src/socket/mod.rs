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

mod asynchronous;
mod dealer;
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
        let options = Options::default();
        let link = Arc::new(SocketLink {
            id,
            mailbox: Mailbox::new(),
            linger: Mutex::new(options.linger),
            monitors: MonitorHub::default(),
        });
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

    // ----- endpoints -----

    /// Accepts peers on `endpoint`: `tcp://host:port`, `ipc://path` or `inproc://name`.
    ///
    /// A tcp port of `*` or `0` picks a free port; [`Socket::last_endpoint`] tells which.
    /// An ipc path left behind by a dead process is reused; `ipc://@name` uses the Linux
    /// abstract namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// assert!(pull.last_endpoint().unwrap().starts_with("tcp://127.0.0.1:"));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let parsed = Endpoint::parse(endpoint)?;
        if let Endpoint::Inproc(name) = &parsed {
            let peers = self.ctx.inproc_bind(name, self.inproc_peer())?;
            self.endpoints.push(EndpointRecord {
                given: endpoint.to_owned(),
                resolved: parsed.to_string(),
                kind: EndpointKind::InprocBound(name.clone()),
            });
            for (pipe, peer) in peers {
                self.pattern.attach(pipe, peer);
            }
            return Ok(());
        }
        let (listener, resolved) = match transport::bind(&parsed) {
            Ok(bound) => bound,
            Err(e) => {
                let error = e.to_string();
                self.link
                    .monitors
                    .raise(EventKind::BindFailed { error }, endpoint, None);
                return Err(e);
            }
        };
        let reactor = self.reactor()?;
        let mut config = self.session_config()?;
        config.endpoint.clone_from(&resolved);
        self.link
            .monitors
            .raise(EventKind::Listening, &resolved, None);
        let key = NEXT_ENDPOINT_KEY.fetch_add(1, Ordering::Relaxed);
        reactor.send(IoCommand::Listen {
            key: reactor.next_key(),
            listener,
            socket: self.link.clone(),
            config: Arc::new(config),
            endpoint: key,
        });
        self.endpoints.push(EndpointRecord {
            given: endpoint.to_owned(),
            resolved,
            kind: EndpointKind::Listening(key),
        });
        Ok(())
    }

    /// Connects to `endpoint`. The peer need not exist yet: messages queue up to the
    /// high-water mark and go out once the connection is up, and a lost connection is
    /// re-established with back-off. A tcp host name is looked up before every attempt, so
    /// one that does not resolve yet is retried too (as in libzmq), not refused here.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_linger(Some(std::time::Duration::ZERO))?;
    /// push.connect("tcp://127.0.0.1:5999")?; // nobody there yet: fine
    /// push.try_send("queued")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn connect(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let parsed = Endpoint::parse(endpoint)?;
        parsed.check_connectable(endpoint)?;
        // As in libzmq, a connect routing id applies to the next connect only.
        let connect_id = self.options.connect_routing_id.take();
        if let Endpoint::Inproc(name) = &parsed {
            let (pipe, mut peer) = self.ctx.inproc_connect(name, self.inproc_peer())?;
            if let Some(id) = connect_id {
                peer.routing_id = id;
            }
            self.endpoints.push(EndpointRecord {
                given: endpoint.to_owned(),
                resolved: parsed.to_string(),
                kind: EndpointKind::InprocConnected(pipe.id()),
            });
            self.pattern.attach(pipe, peer);
            return Ok(());
        }
        let target = transport::resolve(&parsed)?;
        let reactor = self.reactor()?;
        let session_key = reactor.next_key();
        let mut config = self.session_config()?;
        config.connect_routing_id = connect_id.clone();
        config.endpoint = parsed.to_string();
        // A ROUTER can only address a peer once it knows its routing id, and `immediate`
        // wants no queue for a peer that is not there, so those links are made when the
        // handshake completes (and end with the connection); every other link is made now,
        // so that messages queue before the peer is there.
        let (pipe, pipe_id) = if self.kind == SocketType::Router || self.options.immediate {
            (None, None)
        } else {
            let (ours, theirs) = link_with(
                Notifier::Socket(self.link.mailbox.clone()),
                Notifier::Reactor(reactor.clone(), session_key),
                self.options.sndhwm,
                self.options.rcvhwm,
                self.conflating(),
            );
            let peer = PeerMeta {
                routing_id: connect_id.unwrap_or_default(),
            };
            let id = ours.id();
            self.pattern.attach(ours, peer);
            (Some(theirs), Some(id))
        };
        let key = NEXT_ENDPOINT_KEY.fetch_add(1, Ordering::Relaxed);
        reactor.send(IoCommand::Connect {
            key: session_key,
            target,
            pipe,
            socket: self.link.clone(),
            config: Arc::new(config),
            endpoint: key,
        });
        self.endpoints.push(EndpointRecord {
            given: endpoint.to_owned(),
            resolved: parsed.to_string(),
            kind: EndpointKind::Connecting(key, pipe_id),
        });
        Ok(())
    }

    /// Stops accepting peers on a bound endpoint and drops the peers that came through it.
    /// `endpoint` is the string given to `bind` or the one `last_endpoint` reported.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let endpoint = pull.last_endpoint().unwrap(); // with the port that was picked
    /// pull.unbind(&endpoint)?;
    /// assert!(matches!(pull.unbind(&endpoint), Err(Error::EndpointNotFound(_))));
    ///
    /// pull.bind("inproc://doc-unbind")?;
    /// pull.unbind("inproc://doc-unbind")?;
    /// ctx.socket(SocketType::Pull)?.bind("inproc://doc-unbind")?; // the name is free again
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn unbind(&mut self, endpoint: &str) -> Result<()> {
        let record = self.take_endpoint(endpoint, true)?;
        match record.kind {
            EndpointKind::Listening(key) => {
                if let Some(reactor) = &self.reactor {
                    reactor.send(IoCommand::Unbind {
                        socket: self.link.id,
                        endpoint: key,
                    });
                }
            }
            EndpointKind::InprocBound(name) => self.ctx.inproc_unbind(&name, self.link.id),
            _ => unreachable!("take_endpoint filters by direction"),
        }
        Ok(())
    }

    /// Drops a connection made with `connect`; messages still queued for it are discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-disconnect")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-disconnect")?;
    /// push.disconnect("inproc://doc-disconnect")?;
    /// // No peer is left to take a message.
    /// assert!(matches!(push.try_send("hello").unwrap_err().error, Error::WouldBlock));
    /// assert!(matches!(
    ///     push.disconnect("inproc://doc-disconnect"),
    ///     Err(Error::EndpointNotFound(_))
    /// ));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn disconnect(&mut self, endpoint: &str) -> Result<()> {
        let record = self.take_endpoint(endpoint, false)?;
        match record.kind {
            EndpointKind::Connecting(key, pipe) => {
                // Stop using the link now, as libzmq does, so nothing more is sent into a
                // pipe that is about to be discarded.
                if let Some(pipe) = pipe {
                    self.pattern.detach(pipe);
                }
                if let Some(reactor) = &self.reactor {
                    reactor.send(IoCommand::Disconnect {
                        socket: self.link.id,
                        endpoint: key,
                    });
                }
            }
            EndpointKind::InprocConnected(pipe) => self.pattern.detach(pipe),
            _ => unreachable!("take_endpoint filters by direction"),
        }
        Ok(())
    }

    /// The endpoint most recently bound or connected, with any wildcard resolved
    /// (like libzmq's `ZMQ_LAST_ENDPOINT`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.last_endpoint(), None);
    /// pull.bind("inproc://doc-last-endpoint")?;
    /// assert_eq!(pull.last_endpoint().as_deref(), Some("inproc://doc-last-endpoint"));
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let endpoint = pull.last_endpoint().unwrap();
    /// assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with(":*"));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn last_endpoint(&self) -> Option<String> {
        self.endpoints.last().map(|e| e.resolved.clone())
    }

    fn take_endpoint(&mut self, endpoint: &str, bound: bool) -> Result<EndpointRecord> {
        let pos = self.endpoints.iter().rposition(|e| {
            let kind_ok = match e.kind {
                EndpointKind::Listening(_) | EndpointKind::InprocBound(_) => bound,
                EndpointKind::Connecting(..) | EndpointKind::InprocConnected(_) => !bound,
            };
            kind_ok && (e.given == endpoint || e.resolved == endpoint)
        });
        match pos {
            Some(i) => Ok(self.endpoints.remove(i)),
            None => Err(Error::EndpointNotFound(endpoint.to_owned())),
        }
    }

    fn reactor(&mut self) -> Result<Arc<ReactorShared>> {
        if let Some(r) = &self.reactor {
            return Ok(r.clone());
        }
        let r = self.ctx.reactor_for(self.link.id)?;
        self.reactor = Some(r.clone());
        Ok(r)
    }

    /// What the sessions of the next endpoint need; fails if the security options are
    /// incomplete (a CURVE server without its secret key, a client without the server's).
    fn session_config(&mut self) -> Result<SessionConfig> {
        Ok(SessionConfig {
            socket_type: self.kind,
            security: self.options.security.security()?,
            options: self.options.clone(),
            connect_routing_id: None,
            endpoint: String::new(),
            zap: self.ctx.zap(),
        })
    }

    /// Whether this socket's links conflate (`conflate` on, and meaningful for its type).
    fn conflating(&self) -> bool {
        self.options.conflate && self.kind.conflates()
    }

    fn inproc_peer(&self) -> crate::inproc::Peer {
        crate::inproc::Peer {
            socket_id: self.link.id,
            mailbox: self.link.mailbox.clone(),
            socket_type: self.kind,
            sndhwm: self.options.sndhwm,
            rcvhwm: self.options.rcvhwm,
            routing_id: self.options.routing_id.clone(),
            conflate: self.conflating(),
        }
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
            for command in self.commands.drain(..) {
                match command {
                    SocketCommand::Attach(pipe, peer) => self.pattern.attach(pipe, peer),
                    SocketCommand::Reconnected(id) => self.pattern.reconnected(id),
                }
            }
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
