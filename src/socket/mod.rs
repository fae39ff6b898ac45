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

mod dealer;
mod pair;
mod pattern;
mod r#pub;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod sub;
mod xpub;
mod xsub;

use crate::context::Context;
use crate::endpoint::Endpoint;
use crate::mailbox::{Mailbox, Notifier};
use crate::options::Options;
use crate::pipe::{link, with_replying, Pipe, PipeId};
use crate::reactor::{IoCommand, ReactorShared, SessionConfig};
use crate::{transport, Error, Message, Result, SendError, SocketType};
use bytes::Bytes;
use pattern::{Pattern, TypeOption};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use pattern::PeerMeta;

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
        let (listener, resolved) = transport::bind(&parsed)?;
        let reactor = self.reactor()?;
        let key = NEXT_ENDPOINT_KEY.fetch_add(1, Ordering::Relaxed);
        reactor.send(IoCommand::Listen {
            key: reactor.next_key(),
            listener,
            socket: self.link.clone(),
            config: Arc::new(self.session_config()),
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
        let mut config = self.session_config();
        config.connect_routing_id = connect_id.clone();
        // A ROUTER can only address a peer once it knows its routing id, so its link is
        // made when the handshake completes; every other type gets its link now, so that
        // messages queue before the peer is there.
        let (pipe, pipe_id) = if self.kind == SocketType::Router {
            (None, None)
        } else {
            let (ours, theirs) = link(
                Notifier::Socket(self.link.mailbox.clone()),
                Notifier::Reactor(reactor.clone(), session_key),
                self.options.sndhwm,
                self.options.rcvhwm,
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

    fn session_config(&self) -> SessionConfig {
        SessionConfig {
            socket_type: self.kind,
            options: self.options.clone(),
            connect_routing_id: None,
        }
    }

    fn inproc_peer(&self) -> crate::inproc::Peer {
        crate::inproc::Peer {
            socket_id: self.link.id,
            mailbox: self.link.mailbox.clone(),
            socket_type: self.kind,
            sndhwm: self.options.sndhwm,
            rcvhwm: self.options.rcvhwm,
            routing_id: self.options.routing_id.clone(),
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

    // ----- options -----

    fn set_type_option(&mut self, option: TypeOption) -> Result<()> {
        self.process_mailbox()?;
        self.pattern.set_option(option, self.kind)
    }

    /// Subscribes a SUB or XSUB socket to messages whose first frame starts with `prefix`;
    /// an empty prefix matches everything. Subscriptions are counted: subscribing twice
    /// needs two unsubscribes. On an XPUB in manual mode, it adds the subscription for the
    /// peer that sent the last one.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut sub = ctx.socket(ferrozmq::SocketType::Sub)?;
    /// sub.subscribe("weather.")?;
    /// sub.unsubscribe("weather.")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn subscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        let prefix = Bytes::copy_from_slice(prefix.as_ref());
        self.set_type_option(TypeOption::Subscribe(prefix))
    }

    /// Drops one subscription to `prefix` made with [`Socket::subscribe`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut publisher = ctx.socket(SocketType::Pub)?;
    /// publisher.bind("inproc://doc-unsubscribe")?;
    /// let mut sub = ctx.socket(SocketType::Sub)?;
    /// sub.connect("inproc://doc-unsubscribe")?;
    /// sub.subscribe("news.")?;
    /// sub.subscribe("sport.")?;
    /// sub.unsubscribe("sport.")?;
    /// publisher.send("sport.football")?; // no longer wanted
    /// publisher.send("news.today")?;
    /// assert_eq!(&sub.try_recv()?[0][..], b"news.today");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn unsubscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        let prefix = Bytes::copy_from_slice(prefix.as_ref());
        self.set_type_option(TypeOption::Unsubscribe(prefix))
    }

    /// REQ: allows sending a new request without waiting for the reply to the last one
    /// (libzmq `ZMQ_REQ_RELAXED`). Only replies from the peer that got the newest request
    /// are taken; as in libzmq, a late reply to an older request from that same peer can
    /// still be taken for the answer unless [`Socket::set_req_correlate`] is on too.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut rep = ctx.socket(SocketType::Rep)?;
    /// rep.bind("inproc://doc-req-relaxed")?;
    /// let mut req = ctx.socket(SocketType::Req)?;
    /// req.set_req_relaxed(true)?;
    /// req.connect("inproc://doc-req-relaxed")?;
    /// req.send("first")?;
    /// req.send("second")?; // a strict REQ fails here with Error::WrongState
    /// assert_eq!(&rep.recv()?[0][..], b"first");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_req_relaxed(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::ReqRelaxed(on))
    }

    /// REQ: prefixes each request with a request id and accepts only the reply that
    /// carries it (libzmq `ZMQ_REQ_CORRELATE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut rep = ctx.socket(SocketType::Rep)?;
    /// rep.bind("inproc://doc-req-correlate")?;
    /// let mut req = ctx.socket(SocketType::Req)?;
    /// req.set_req_relaxed(true)?;
    /// req.set_req_correlate(true)?;
    /// req.connect("inproc://doc-req-correlate")?;
    /// req.send("first")?;
    /// req.send("second")?; // gives up on "first"
    /// for _ in 0..2 {
    ///     let request = rep.recv()?;
    ///     rep.send(request)?; // echo
    /// }
    /// // The echo of "first" carries a stale request id and is dropped.
    /// assert_eq!(&req.recv()?[0][..], b"second");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_req_correlate(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::ReqCorrelate(on))
    }

    /// ROUTER: makes sending to an unknown routing id fail with
    /// [`Error::HostUnreachable`] instead of dropping the message, and makes a send to a
    /// full peer block or fail with `WouldBlock` (libzmq `ZMQ_ROUTER_MANDATORY`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.set_router_mandatory(true)?;
    /// let err = router.send(vec!["nobody", "hello"]).unwrap_err();
    /// assert!(matches!(err.error, Error::HostUnreachable));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_router_mandatory(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::RouterMandatory(on))
    }

    /// ROUTER: lets a new peer take over a routing id that is already in use
    /// (libzmq `ZMQ_ROUTER_HANDOVER`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.set_router_handover(true)?;
    /// router.bind("inproc://doc-router-handover")?;
    /// let mut old = ctx.socket(SocketType::Dealer)?;
    /// old.set_routing_id("worker")?;
    /// old.connect("inproc://doc-router-handover")?;
    /// let mut new = ctx.socket(SocketType::Dealer)?;
    /// new.set_routing_id("worker")?;
    /// new.connect("inproc://doc-router-handover")?;
    /// router.send(vec!["worker", "job"])?; // "worker" is now the newer peer
    /// assert_eq!(&new.try_recv()?[0][..], b"job");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_router_handover(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::RouterHandover(on))
    }

    /// ROUTER, DEALER and REQ: sends an empty message to every peer as soon as it is
    /// connected (libzmq `ZMQ_PROBE_ROUTER`), so a ROUTER learns of the peer at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.bind("inproc://doc-probe-router")?;
    /// let mut dealer = ctx.socket(SocketType::Dealer)?;
    /// dealer.set_routing_id("d1")?;
    /// dealer.set_probe_router(true)?;
    /// dealer.connect("inproc://doc-probe-router")?;
    /// // The router hears of the dealer before it sends anything: [routing id, empty frame].
    /// let probe = router.try_recv()?;
    /// assert_eq!(&probe[0][..], b"d1");
    /// assert!(probe[1].is_empty());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_probe_router(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::ProbeRouter(on))
    }

    /// XPUB: passes every subscription message to the application, not only the first
    /// for each topic (libzmq `ZMQ_XPUB_VERBOSE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut xpub = ctx.socket(SocketType::XPub)?;
    /// xpub.set_xpub_verbose(true)?;
    /// xpub.bind("inproc://doc-xpub-verbose")?;
    /// let mut a = ctx.socket(SocketType::Sub)?;
    /// let mut b = ctx.socket(SocketType::Sub)?;
    /// for sub in [&mut a, &mut b] {
    ///     sub.connect("inproc://doc-xpub-verbose")?;
    ///     sub.subscribe("news")?;
    /// }
    /// // Both subscriptions come up, not only the first.
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_xpub_verbose(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::XpubVerbose(on))
    }

    /// XPUB: passes every subscription and every cancel to the application
    /// (libzmq `ZMQ_XPUB_VERBOSER`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut xpub = ctx.socket(SocketType::XPub)?;
    /// xpub.set_xpub_verboser(true)?;
    /// xpub.bind("inproc://doc-xpub-verboser")?;
    /// let mut a = ctx.socket(SocketType::Sub)?;
    /// let mut b = ctx.socket(SocketType::Sub)?;
    /// for sub in [&mut a, &mut b] {
    ///     sub.connect("inproc://doc-xpub-verboser")?;
    ///     sub.subscribe("news")?;
    /// }
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// a.unsubscribe("news")?; // `b` is still subscribed, yet the cancel comes up
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x00news");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_xpub_verboser(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::XpubVerboser(on))
    }

    /// XPUB: the application decides what each peer is subscribed to, with
    /// [`Socket::subscribe`] and [`Socket::unsubscribe`] after receiving its subscription
    /// message (libzmq `ZMQ_XPUB_MANUAL`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut xpub = ctx.socket(SocketType::XPub)?;
    /// xpub.set_xpub_manual(true)?;
    /// xpub.bind("inproc://doc-xpub-manual")?;
    /// let mut sub = ctx.socket(SocketType::Sub)?;
    /// sub.connect("inproc://doc-xpub-manual")?;
    /// sub.subscribe("news")?;
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// xpub.send("news: too early")?; // not granted yet: not sent
    /// xpub.subscribe("news")?; // grant it to the peer that asked
    /// xpub.send("news: hello")?;
    /// assert_eq!(&sub.try_recv()?[0][..], b"news: hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_xpub_manual(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::XpubManual(on))
    }

    /// Sets the routing id that a ROUTER gives the peer of the *next* `connect`
    /// (libzmq `ZMQ_CONNECT_ROUTING_ID`); it applies to that one connect only.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut dealer = ctx.socket(SocketType::Dealer)?;
    /// dealer.bind("inproc://doc-connect-routing-id")?;
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.set_connect_routing_id("backend")?;
    /// router.connect("inproc://doc-connect-routing-id")?;
    /// router.send(vec!["backend", "job"])?; // the peer is known by that id at once
    /// assert_eq!(&dealer.try_recv()?[0][..], b"job");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_connect_routing_id(&mut self, id: impl Into<Bytes>) -> Result<()> {
        let id = id.into();
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidOption {
                option: "connect_routing_id",
                reason: "must be 1 to 255 bytes",
            });
        }
        self.options.connect_routing_id = Some(id);
        Ok(())
    }

    /// Sets the outbound high-water mark: messages queued per peer before a send blocks
    /// (or, for PUB, drops). 0 means no limit; the default is 1000. Applies to endpoints
    /// bound or connected afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_sndhwm(500)?; // before connecting, so that it applies
    /// assert_eq!(push.sndhwm(), 500);
    /// push.connect("inproc://doc-set-sndhwm")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_sndhwm(&mut self, messages: usize) -> Result<()> {
        self.options.sndhwm = messages;
        Ok(())
    }

    /// The outbound high-water mark.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.sndhwm(), 1000); // the default
    /// push.set_sndhwm(0)?; // no limit
    /// assert_eq!(push.sndhwm(), 0);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn sndhwm(&self) -> usize {
        self.options.sndhwm
    }

    /// Sets the inbound high-water mark per peer (0 = no limit, default 1000).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// pull.set_rcvhwm(10_000)?; // before binding, so that it applies
    /// assert_eq!(pull.rcvhwm(), 10_000);
    /// pull.bind("inproc://doc-set-rcvhwm")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_rcvhwm(&mut self, messages: usize) -> Result<()> {
        self.options.rcvhwm = messages;
        Ok(())
    }

    /// The inbound high-water mark.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.rcvhwm(), 1000); // the default
    /// pull.set_rcvhwm(0)?; // no limit
    /// assert_eq!(pull.rcvhwm(), 0);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn rcvhwm(&self) -> usize {
        self.options.rcvhwm
    }

    /// How long queued messages may still go out after the socket is closed: `None` (the
    /// default, as in libzmq) waits until they are all delivered, `Some(Duration::ZERO)`
    /// discards them at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut s = ctx.socket(ferrozmq::SocketType::Push)?;
    /// s.set_linger(Some(Duration::from_millis(500)))?;
    /// assert_eq!(s.linger(), Some(Duration::from_millis(500)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_linger(&mut self, linger: Option<Duration>) -> Result<()> {
        self.options.linger = linger;
        *self.link.linger.lock().unwrap_or_else(|e| e.into_inner()) = linger;
        Ok(())
    }

    /// The linger time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.linger(), None); // the default: wait for delivery
    /// push.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(push.linger(), Some(Duration::ZERO));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn linger(&self) -> Option<Duration> {
        self.options.linger
    }

    /// Bounds how long [`Socket::send`] blocks (`None`, the default, is forever).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.set_sndtimeo(Some(Duration::from_millis(10)))?;
    /// // No peer to send to: `send` gives up after 10 ms instead of waiting forever.
    /// let err = push.send("hello").unwrap_err();
    /// assert!(matches!(err.error, Error::Timeout));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_sndtimeo(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.sndtimeo = timeout;
        Ok(())
    }

    /// The send timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.sndtimeo(), None); // the default: wait forever
    /// push.set_sndtimeo(Some(Duration::from_secs(1)))?;
    /// assert_eq!(push.sndtimeo(), Some(Duration::from_secs(1)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn sndtimeo(&self) -> Option<Duration> {
        self.options.sndtimeo
    }

    /// Bounds how long [`Socket::recv`] blocks (`None`, the default, is forever).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-set-rcvtimeo")?;
    /// pull.set_rcvtimeo(Some(Duration::from_millis(10)))?;
    /// // Nothing was sent: `recv` gives up after 10 ms instead of waiting forever.
    /// assert!(matches!(pull.recv(), Err(Error::Timeout)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_rcvtimeo(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.rcvtimeo = timeout;
        Ok(())
    }

    /// The receive timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.rcvtimeo(), None); // the default: wait forever
    /// pull.set_rcvtimeo(Some(Duration::from_secs(1)))?;
    /// assert_eq!(pull.rcvtimeo(), Some(Duration::from_secs(1)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn rcvtimeo(&self) -> Option<Duration> {
        self.options.rcvtimeo
    }

    /// Sets the routing id this socket announces to its peers (ZMTP `Identity`): at most
    /// 255 bytes, and not starting with a zero byte (reserved for generated ids).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.bind("inproc://doc-set-routing-id")?;
    /// let mut dealer = ctx.socket(SocketType::Dealer)?;
    /// dealer.set_routing_id("client-1")?; // before connecting
    /// dealer.connect("inproc://doc-set-routing-id")?;
    /// dealer.send("hello")?;
    /// let msg = router.try_recv()?;
    /// assert_eq!(&msg[0][..], b"client-1"); // the router knows the peer by that id
    /// assert!(dealer.set_routing_id(&b"\0reserved"[..]).is_err());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_routing_id(&mut self, id: impl Into<Bytes>) -> Result<()> {
        let id = id.into();
        if id.len() > 255 {
            return Err(Error::InvalidOption {
                option: "routing_id",
                reason: "longer than 255 bytes",
            });
        }
        if id.first() == Some(&0) {
            return Err(Error::InvalidOption {
                option: "routing_id",
                reason: "a leading zero byte is reserved",
            });
        }
        self.options.routing_id = id;
        Ok(())
    }

    /// The routing id this socket announces.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut dealer = ctx.socket(ferrozmq::SocketType::Dealer)?;
    /// assert!(dealer.routing_id().is_empty()); // none by default
    /// dealer.set_routing_id("client-1")?;
    /// assert_eq!(&dealer.routing_id()[..], b"client-1");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn routing_id(&self) -> &Bytes {
        &self.options.routing_id
    }

    /// Limits the size of an inbound message; a peer that sends a larger one is
    /// disconnected. `None` (the default) is unlimited.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// pull.set_max_msg_size(Some(1024 * 1024))?; // before binding, so that it applies
    /// assert_eq!(pull.max_msg_size(), Some(1024 * 1024));
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_max_msg_size(&mut self, limit: Option<u64>) -> Result<()> {
        self.options.max_msg_size = limit;
        Ok(())
    }

    /// The inbound message size limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.max_msg_size(), None); // the default: no limit
    /// pull.set_max_msg_size(Some(4096))?;
    /// assert_eq!(pull.max_msg_size(), Some(4096));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn max_msg_size(&self) -> Option<u64> {
        self.options.max_msg_size
    }

    /// Sets the first delay before reconnecting a lost connection (default 100 ms).
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
    /// push.set_linger(Some(Duration::ZERO))?;
    /// // Set before connecting: if the connection drops, retry after about 250 ms.
    /// push.set_reconnect_ivl(Duration::from_millis(250))?;
    /// push.connect(&pull.last_endpoint().unwrap())?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_reconnect_ivl(&mut self, ivl: Duration) -> Result<()> {
        self.options.reconnect_ivl = ivl;
        Ok(())
    }

    /// Caps the exponential reconnect back-off; zero (the default) keeps the delay flat.
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
    /// push.set_linger(Some(Duration::ZERO))?;
    /// // Retry after 100 ms, then 200 ms, 400 ms, ... but never wait more than 5 s.
    /// push.set_reconnect_ivl(Duration::from_millis(100))?;
    /// push.set_reconnect_ivl_max(Duration::from_secs(5))?;
    /// push.connect(&pull.last_endpoint().unwrap())?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_reconnect_ivl_max(&mut self, ivl: Duration) -> Result<()> {
        self.options.reconnect_ivl_max = ivl;
        Ok(())
    }

    /// Bounds the ZMTP handshake of each new connection (default 30 s, `None` = no limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// // Set before binding: drop peers that have not finished the handshake within 5 s.
    /// pull.set_handshake_ivl(Some(Duration::from_secs(5)))?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_handshake_ivl(&mut self, ivl: Option<Duration>) -> Result<()> {
        self.options.handshake_ivl = ivl;
        Ok(())
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
