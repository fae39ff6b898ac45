//! [`Context`]: owns the I/O threads and the inproc registry, creates sockets, and shuts
//! everything down.
//!
//! What must hold: no thread starts before a socket uses tcp or ipc; `term` (or dropping the
//! last context handle and socket) closes every socket, lets each linger, then stops and
//! joins every I/O thread, so no thread outlives the context.

use crate::inproc::{Peer, Registry};
use crate::pipe::Pipe;
use crate::reactor::{self, IoCommand, ReactorShared};
use crate::socket::{PeerMeta, SocketLink};
use crate::zap::{Authenticator, Zap};
use crate::{Error, Result, Socket, SocketType};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;

/// The owner of a group of sockets and of the I/O threads that serve them.
///
/// Cloning a `Context` gives another handle to the same one. It is `Send` and `Sync`.
///
/// # Examples
///
/// ```
/// use ferrozmq::{Context, SocketType};
///
/// let ctx = Context::new();
/// let mut a = ctx.socket(SocketType::Pair)?;
/// let mut b = ctx.socket(SocketType::Pair)?;
/// a.bind("inproc://pair-example")?;
/// b.connect("inproc://pair-example")?;
/// b.send("ping")?;
/// assert_eq!(&a.recv()?[0][..], b"ping");
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    io_threads: usize,
    next_socket: AtomicU64,
    terminated: AtomicBool,
    reactors: Mutex<Option<Vec<IoThread>>>,
    inproc: Arc<Mutex<Registry>>,
    zap: Arc<Zap>,
    sockets: Mutex<HashMap<u64, Weak<SocketLink>>>,
}

struct IoThread {
    shared: Arc<ReactorShared>,
    join: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Context {
    /// A context with one I/O thread, started when first needed.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// assert_eq!(ctx.io_threads(), 1);
    /// let _pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn new() -> Context {
        Context::with_io_threads(1)
    }

    /// A context with `n` I/O threads (at least one), started when first needed. Sockets are
    /// spread over them in turn, and each connection a socket accepts goes to the thread
    /// with the fewest connections (as in libzmq), so one busy listener can use them all.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::with_io_threads(2);
    /// assert_eq!(ctx.io_threads(), 2);
    /// ```
    pub fn with_io_threads(n: usize) -> Context {
        let inproc = Arc::new(Mutex::new(Registry::default()));
        Context {
            inner: Arc::new(Inner {
                io_threads: n.max(1),
                next_socket: AtomicU64::new(1),
                terminated: AtomicBool::new(false),
                reactors: Mutex::new(None),
                zap: Arc::new(Zap::new(inproc.clone())),
                inproc,
                sockets: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The number of I/O threads this context runs once started.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Context;
    ///
    /// assert_eq!(Context::new().io_threads(), 1);
    /// assert_eq!(Context::with_io_threads(4).io_threads(), 4);
    /// assert_eq!(Context::with_io_threads(0).io_threads(), 1); // at least one
    /// ```
    pub fn io_threads(&self) -> usize {
        self.inner.io_threads
    }

    /// Creates a socket of type `kind`.
    ///
    /// Fails with [`Error::Terminated`] after [`Context::term`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let req = ctx.socket(SocketType::Req)?;
    /// assert_eq!(req.socket_type(), SocketType::Req);
    /// ctx.term();
    /// assert!(matches!(ctx.socket(SocketType::Req), Err(Error::Terminated)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn socket(&self, kind: SocketType) -> Result<Socket> {
        if self.inner.terminated.load(Ordering::Acquire) {
            return Err(Error::Terminated);
        }
        let id = self.inner.next_socket.fetch_add(1, Ordering::Relaxed);
        let socket = Socket::new(self.clone(), kind, id)?;
        lock(&self.inner.sockets).insert(id, Arc::downgrade(socket.link()));
        Ok(socket)
    }

    /// Shuts the context down: every socket's blocking calls return [`Error::Terminated`],
    /// every socket lingers as set, and the I/O threads stop and are joined. Sockets that
    /// still exist can only be dropped afterwards. Calling it twice is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut s = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// ctx.term();
    /// assert!(matches!(s.try_recv(), Err(ferrozmq::Error::Terminated)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn term(&self) {
        self.inner.shutdown();
    }

    /// Installs a typed authenticator: every PLAIN or CURVE server socket of this context
    /// (and every NULL socket with a ZAP domain) asks it about each client before admitting
    /// it. It takes precedence over a ZAP handler bound at [`ZAP_ENDPOINT`]; without
    /// either, servers admit every client that completes the handshake. It applies to
    /// handshakes that start after the call.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{AuthCredentials, AuthDecision, Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// ctx.set_authenticator(|req: &ferrozmq::AuthRequest<'_>| match req.credentials {
    ///     AuthCredentials::Plain { username, password } if username == b"admin" && password == b"secret" => {
    ///         AuthDecision::allow("admin")
    ///     }
    ///     _ => AuthDecision::deny("who are you?"),
    /// });
    ///
    /// let mut server = ctx.socket(SocketType::Pull)?;
    /// server.set_plain_server(true)?;
    /// server.bind("tcp://127.0.0.1:*")?;
    /// let endpoint = server.last_endpoint().unwrap();
    /// let mut client = ctx.socket(SocketType::Push)?;
    /// client.set_plain_username("admin")?;
    /// client.set_plain_password("secret")?;
    /// client.connect(&endpoint)?;
    /// client.send("hello")?;
    /// let msg = server.recv()?;
    /// assert_eq!(msg.property("User-Id"), Some("admin"));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    ///
    /// [`ZAP_ENDPOINT`]: crate::ZAP_ENDPOINT
    pub fn set_authenticator(&self, authenticator: impl Authenticator) {
        self.inner
            .zap
            .set_authenticator(Some(Arc::new(authenticator)));
    }

    /// Removes the typed authenticator (see [`Context::set_authenticator`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// ctx.set_authenticator(|_: &ferrozmq::AuthRequest<'_>| ferrozmq::AuthDecision::allow(""));
    /// ctx.clear_authenticator();
    /// ```
    pub fn clear_authenticator(&self) {
        self.inner.zap.set_authenticator(None);
    }

    /// The context's ZAP, for sessions.
    pub(crate) fn zap(&self) -> Arc<Zap> {
        self.inner.zap.clone()
    }

    /// The I/O thread that serves socket `socket_id`, starting the threads if needed.
    pub(crate) fn reactor_for(&self, socket_id: u64) -> Result<Arc<ReactorShared>> {
        let mut reactors = lock(&self.inner.reactors);
        if self.inner.terminated.load(Ordering::Acquire) {
            return Err(Error::Terminated);
        }
        if reactors.is_none() {
            let mut threads = Vec::with_capacity(self.inner.io_threads);
            for i in 0..self.inner.io_threads {
                let (shared, join) = reactor::spawn(i)?;
                threads.push(IoThread {
                    shared,
                    join: Some(join),
                });
            }
            *reactors = Some(threads);
        }
        let threads = reactors.as_ref().map(Vec::as_slice).unwrap_or_default();
        let n = threads.len() as u64;
        Ok(threads[(socket_id % n) as usize].shared.clone())
    }

    /// Every I/O thread of the context (started by `reactor_for`), for a listener to spread
    /// its connections over.
    pub(crate) fn all_reactors(&self) -> Arc<[Arc<ReactorShared>]> {
        let reactors = lock(&self.inner.reactors);
        reactors
            .as_ref()
            .map(|threads| threads.iter().map(|t| t.shared.clone()).collect())
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    pub(crate) fn inproc_bind(&self, name: &str, binder: Peer) -> Result<Vec<(Pipe, PeerMeta)>> {
        lock(&self.inner.inproc).bind(name, binder)
    }

    pub(crate) fn inproc_connect(&self, name: &str, connector: Peer) -> Result<(Pipe, PeerMeta)> {
        lock(&self.inner.inproc).connect(name, connector)
    }

    pub(crate) fn inproc_unbind(&self, name: &str, socket_id: u64) {
        lock(&self.inner.inproc).unbind(name, socket_id)
    }

    /// Forgets socket `socket_id`, which is closing.
    pub(crate) fn socket_closed(&self, socket_id: u64) {
        lock(&self.inner.inproc).remove_socket(socket_id);
        lock(&self.inner.sockets).remove(&socket_id);
    }
}

impl Inner {
    fn shutdown(&self) {
        self.terminated.store(true, Ordering::Release);
        let links: Vec<Arc<SocketLink>> = lock(&self.sockets)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for link in links {
            link.mailbox.terminate();
        }
        let threads = lock(&self.reactors).take();
        for mut t in threads.into_iter().flatten() {
            t.shared.send(IoCommand::Shutdown);
            if let Some(join) = t.join.take() {
                if join.join().is_err() {
                    log::error!("an I/O thread panicked");
                }
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("io_threads", &self.inner.io_threads)
            .field("terminated", &self.inner.terminated.load(Ordering::Relaxed))
            .finish()
    }
}
