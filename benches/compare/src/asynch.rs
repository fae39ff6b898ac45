//! The async group (issue 11): ferrozmq's `send_async`/`recv_async` against OMQ.rs's async
//! socket API and zmq.rs, with ferrozmq's blocking API as the reference.
//!
//! Threading, the same for every async library: each end of a pair has a thread of its own
//! running a **current-thread tokio runtime**, the form OMQ.rs's own `bench_peer_tokio`
//! uses (one current-thread runtime per process, `Context::current()`), and its fastest.
//! The sending end (PUSH, REQ) runs on the bench thread, in `block_on` over its runtime for
//! each measured batch; the receiving end (PULL, REP) runs as a task on a runtime of its own
//! on a spawned thread. This mirrors the blocking fixtures (sync.rs: sender on the bench
//! thread, receiver on one thread of its own), so the blocking reference row and the async
//! rows differ only in the API.
//!
//! - OMQ.rs: sockets from `Context::current()`, so its I/O (the socket actors, the
//!   connection tasks) runs on the same current-thread runtime as the application task.
//! - ferrozmq: one `Context` per data point (its default single I/O thread, as in the
//!   blocking rows), the application tasks awaiting `send_async`/`recv_async`.
//! - zmq.rs: its sockets created inside each end's runtime, so its connection tasks run
//!   there too (the main tables run it on a multi-thread runtime instead).

use bytes::Bytes;
use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::timeout;

use crate::measure::Fixture;
use crate::sync::{payload, Res, K};

const DEADLINE: Duration = Duration::from_secs(60);

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn current_thread() -> Res<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(e)
}

/// One async socket of some library, used from the runtime it was made in.
pub trait ASock: 'static {
    fn send(&mut self, payload: &Bytes) -> impl Future<Output = Res<()>>;
    fn recv_len(&mut self) -> impl Future<Output = Res<usize>>;
    /// Receives one message and sends the same message back; returns its size.
    fn echo(&mut self) -> impl Future<Output = Res<usize>>;
}

/// An async library: makes a socket bound or connected to `ep`, inside the calling task's
/// (current-thread) runtime.
pub trait ALib: Send + Sync + 'static {
    type S: ASock;
    fn make(&self, k: K, ep: &str, bind: bool) -> impl Future<Output = Res<Self::S>>;
}

// ---------------------------------------------------------------------------------------------
// ferrozmq: send_async / recv_async

pub struct Ferro {
    ctx: ferrozmq::Context,
}

impl Ferro {
    pub fn new() -> Ferro {
        Ferro {
            ctx: ferrozmq::Context::new(),
        }
    }
}

impl Drop for Ferro {
    fn drop(&mut self) {
        self.ctx.term();
    }
}

pub struct FerroSock(ferrozmq::Socket);

impl ALib for Ferro {
    type S = FerroSock;
    async fn make(&self, k: K, ep: &str, bind: bool) -> Res<FerroSock> {
        let mut s = crate::libs::ferro_socket(&self.ctx, k)?;
        if bind {
            s.bind(ep).map_err(e)?;
        } else {
            s.connect(ep).map_err(e)?;
        }
        Ok(FerroSock(s))
    }
}

impl ASock for FerroSock {
    async fn send(&mut self, payload: &Bytes) -> Res<()> {
        self.0.send_async(payload.clone()).await.map_err(e)
    }
    async fn recv_len(&mut self) -> Res<usize> {
        self.0.recv_async().await.map(|m| m.byte_len()).map_err(e)
    }
    async fn echo(&mut self) -> Res<usize> {
        let m = self.0.recv_async().await.map_err(e)?;
        let l = m.byte_len();
        self.0.send_async(m).await.map_err(e)?;
        Ok(l)
    }
}

// ---------------------------------------------------------------------------------------------
// OMQ.rs (omq-tokio): its async Socket on the caller's current-thread runtime

pub struct Omq;

pub struct OmqSock {
    s: omq_tokio::Socket,
    _ctx: omq_tokio::Context,
}

impl ALib for Omq {
    type S = OmqSock;
    async fn make(&self, k: K, ep: &str, bind: bool) -> Res<OmqSock> {
        use omq_tokio::SocketType as T;
        let t = match k {
            K::Push => T::Push,
            K::Pull => T::Pull,
            K::Req => T::Req,
            K::Rep => T::Rep,
            K::Pub => T::Pub,
            K::Sub => T::Sub,
        };
        let ctx = omq_tokio::Context::current();
        let s = ctx.socket(t, omq_tokio::Options::default().linger(Duration::ZERO));
        if bind {
            s.bind(ep).await.map_err(e)?;
        } else {
            s.connect(ep).await.map_err(e)?;
        }
        Ok(OmqSock { s, _ctx: ctx })
    }
}

impl ASock for OmqSock {
    async fn send(&mut self, payload: &Bytes) -> Res<()> {
        self.s
            .send(omq_tokio::Message::single(payload.clone()))
            .await
            .map_err(e)
    }
    async fn recv_len(&mut self) -> Res<usize> {
        self.s.recv().await.map(|m| m.byte_len()).map_err(e)
    }
    async fn echo(&mut self) -> Res<usize> {
        let m = self.s.recv().await.map_err(e)?;
        let l = m.byte_len();
        self.s.send(m).await.map_err(e)?;
        Ok(l)
    }
}

// ---------------------------------------------------------------------------------------------
// zmq.rs (zeromq): one socket type per pattern, so an enum

pub struct Zmqrs;

pub enum ZSock {
    Push(zeromq::PushSocket),
    Pull(zeromq::PullSocket),
    Req(zeromq::ReqSocket),
    Rep(zeromq::RepSocket),
}

fn zlen(m: &zeromq::ZmqMessage) -> usize {
    m.iter().map(|b| b.len()).sum()
}

impl ALib for Zmqrs {
    type S = ZSock;
    async fn make(&self, k: K, ep: &str, bind: bool) -> Res<ZSock> {
        use zeromq::Socket as _;
        async fn attach<S: zeromq::Socket>(mut s: S, ep: &str, bind: bool) -> Res<S> {
            if bind {
                s.bind(ep).await.map_err(e)?;
            } else {
                s.connect(ep).await.map_err(e)?;
            }
            Ok(s)
        }
        Ok(match k {
            K::Push => ZSock::Push(attach(zeromq::PushSocket::new(), ep, bind).await?),
            K::Pull => ZSock::Pull(attach(zeromq::PullSocket::new(), ep, bind).await?),
            K::Req => ZSock::Req(attach(zeromq::ReqSocket::new(), ep, bind).await?),
            K::Rep => ZSock::Rep(attach(zeromq::RepSocket::new(), ep, bind).await?),
            K::Pub | K::Sub => return Err("not used in the async group".into()),
        })
    }
}

impl ASock for ZSock {
    async fn send(&mut self, payload: &Bytes) -> Res<()> {
        use zeromq::SocketSend as _;
        let m = zeromq::ZmqMessage::from(payload.clone());
        match self {
            ZSock::Push(s) => s.send(m).await.map_err(e),
            ZSock::Req(s) => s.send(m).await.map_err(e),
            ZSock::Rep(s) => s.send(m).await.map_err(e),
            ZSock::Pull(_) => Err("PULL cannot send".into()),
        }
    }
    async fn recv_len(&mut self) -> Res<usize> {
        use zeromq::SocketRecv as _;
        let m = match self {
            ZSock::Pull(s) => s.recv().await.map_err(e)?,
            ZSock::Req(s) => s.recv().await.map_err(e)?,
            ZSock::Rep(s) => s.recv().await.map_err(e)?,
            ZSock::Push(_) => return Err("PUSH cannot receive".into()),
        };
        Ok(zlen(&m))
    }
    async fn echo(&mut self) -> Res<usize> {
        use zeromq::{SocketRecv as _, SocketSend as _};
        let ZSock::Rep(s) = self else {
            return Err("echo needs a REP".into());
        };
        let m = s.recv().await.map_err(e)?;
        let l = zlen(&m);
        s.send(m).await.map_err(e)?;
        Ok(l)
    }
}

// ---------------------------------------------------------------------------------------------
// The far end: a thread with its own current-thread runtime, the socket made in it.

/// Spawns the far end's thread: makes its socket (`k`, bound to `ep`) in a fresh
/// current-thread runtime, reports success, then runs `body` on it to completion.
fn far_end<L, F, Fut>(lib: &Arc<L>, k: K, ep: &str, body: F) -> Res<JoinHandle<()>>
where
    L: ALib,
    F: FnOnce(L::S) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (ready_tx, ready) = std::sync::mpsc::channel::<Res<()>>();
    let (lib, ep) = (lib.clone(), ep.to_string());
    let thread = std::thread::spawn(move || {
        let rt = match current_thread() {
            Ok(rt) => rt,
            Err(x) => {
                let _ = ready_tx.send(Err(x));
                return;
            }
        };
        rt.block_on(async move {
            match lib.make(k, &ep, true).await {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    body(s).await;
                }
                Err(x) => {
                    let _ = ready_tx.send(Err(x));
                }
            }
        });
    });
    match ready.recv_timeout(DEADLINE) {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(x)) => Err(x),
        Err(_) => Err("the far end never bound".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// PUSH -> PULL throughput

pub struct Thr<L: ALib> {
    rt: Runtime,
    push: Option<L::S>,
    payload: Bytes,
    cmd: Option<UnboundedSender<u64>>,
    ack: UnboundedReceiver<Res<()>>,
    thread: Option<JoinHandle<()>>,
    _lib: Arc<L>,
}

impl<L: ALib> Thr<L> {
    pub fn fixture(lib: Arc<L>, ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let (cmd, mut cmd_rx) = unbounded_channel::<u64>();
        let (ack_tx, ack) = unbounded_channel::<Res<()>>();
        let thread = far_end(&lib, K::Pull, ep, move |mut pull: L::S| async move {
            while let Some(n) = cmd_rx.recv().await {
                let mut r = Ok(());
                for _ in 0..n {
                    match timeout(DEADLINE, pull.recv_len()).await {
                        Ok(Ok(l)) if l == size => {}
                        Ok(Ok(l)) => r = Err(format!("received {l} bytes, expected {size}")),
                        Ok(Err(x)) => r = Err(x),
                        Err(_) => r = Err("receive timed out".into()),
                    }
                    if r.is_err() {
                        break;
                    }
                }
                if ack_tx.send(r).is_err() {
                    break;
                }
            }
        })?;
        let rt = current_thread()?;
        let push = rt.block_on(lib.make(K::Push, ep, false))?;
        let mut f = Thr {
            rt,
            push: Some(push),
            payload: payload(size),
            cmd: Some(cmd),
            ack,
            thread: Some(thread),
            _lib: lib,
        };
        f.run(10)?; // connected and warm
        Ok(Box::new(f))
    }
}

impl<L: ALib> Fixture for Thr<L> {
    fn run(&mut self, n: u64) -> Res<Duration> {
        self.cmd
            .as_ref()
            .ok_or("no receiver")?
            .send(n)
            .map_err(|_| "receiver gone".to_string())?;
        let push = self.push.as_mut().ok_or("lost the PUSH socket")?;
        let (payload, ack) = (&self.payload, &mut self.ack);
        // The sender's runtime is driven until the receiver has everything: with OMQ.rs
        // (and zmq.rs) the sending I/O runs on it too.
        self.rt.block_on(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                push.send(payload).await?;
            }
            match timeout(DEADLINE, ack.recv()).await {
                Ok(Some(r)) => r.map(|_| t0.elapsed()),
                Ok(None) => Err("receiver gone".into()),
                Err(_) => Err("receiver timed out".into()),
            }
        })
    }
}

impl<L: ALib> Drop for Thr<L> {
    fn drop(&mut self) {
        {
            let _in_rt = self.rt.enter();
            self.push.take();
        }
        self.cmd.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// REQ <-> REP latency

pub struct Lat<L: ALib> {
    rt: Runtime,
    req: Option<L::S>,
    payload: Bytes,
    thread: Option<JoinHandle<()>>,
    _lib: Arc<L>,
}

impl<L: ALib> Lat<L> {
    pub fn fixture(lib: Arc<L>, ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let thread = far_end(&lib, K::Rep, ep, |mut rep: L::S| async move {
            // An empty request is the stop signal (no measured size is 0 B).
            while let Ok(l) = rep.echo().await {
                if l == 0 {
                    break;
                }
            }
        })?;
        let rt = current_thread()?;
        let req = rt.block_on(lib.make(K::Req, ep, false))?;
        let mut f = Lat {
            rt,
            req: Some(req),
            payload: payload(size),
            thread: Some(thread),
            _lib: lib,
        };
        f.run(10)?;
        Ok(Box::new(f))
    }
}

impl<L: ALib> Fixture for Lat<L> {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let req = self.req.as_mut().ok_or("lost the REQ socket")?;
        let payload = &self.payload;
        self.rt.block_on(async move {
            let want = payload.len();
            let t0 = Instant::now();
            for _ in 0..n {
                req.send(payload).await?;
                let l = match timeout(DEADLINE, req.recv_len()).await {
                    Ok(r) => r?,
                    Err(_) => return Err("reply timed out".to_string()),
                };
                if l != want {
                    return Err(format!("reply of {l} bytes, expected {want}"));
                }
            }
            Ok(t0.elapsed())
        })
    }
}

impl<L: ALib> Drop for Lat<L> {
    fn drop(&mut self) {
        let Some(mut req) = self.req.take() else {
            return;
        };
        let stopped = self.rt.block_on(async {
            req.send(&Bytes::new()).await.is_ok()
                && matches!(
                    timeout(Duration::from_secs(1), req.recv_len()).await,
                    Ok(Ok(0))
                )
        });
        {
            let _in_rt = self.rt.enter();
            drop(req);
        }
        match self.thread.take() {
            Some(t) if stopped => {
                let _ = t.join();
            }
            _ => eprintln!("warning: the async echo thread did not stop; left running"),
        }
    }
}
