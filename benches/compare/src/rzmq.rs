//! rzmq (crate `rzmq`, tokio-based, built with its `io-uring` feature) as a peer of the main
//! tables: PUSH→PULL throughput, REQ↔REP latency, PUB fan-out and one PUSH to many PULLs.
//!
//! rzmq is async only. Each fixture owns its runtimes, so dropping it ends every task rzmq
//! spawned for it, whatever state rzmq's own shutdown is in. Two shapes ([`Form`]):
//! - current-thread: the sending end on a current-thread runtime driven by `block_on` on
//!   the bench thread, the receiving end on a current-thread runtime on a thread of its own
//!   (the shape of the async group, asynch.rs);
//! - multi-thread: one multi-thread runtime (a worker per core), the sending end in
//!   `block_on` on the bench thread, the receiving end a spawned task (zmq.rs's shape).
//!
//! With `uring`, TCP sessions run on rzmq's io_uring backend (`IO_URING_SESSION_ENABLED`);
//! ipc and inproc never use it. [`FORM`] is the form the tables use (the faster one measured
//! here: current-thread, tokio sessions); `FERROZMQ_BENCH_RZMQ_FORM=ct|mt[,tokio]` picks
//! another for comparing forms (without `tokio`: io_uring). One PUSH to many PULLs always
//! runs multi-thread: it loses messages in the current-thread form (see [`PushMany`]).
//!
//! Invariants: every socket has linger 0 and HWM 1000 (the other peers' default; 100 000 in
//! the fan-out, as for them, so a batch is never dropped), every wait
//! is bounded by [`DEADLINE`] so a stuck rzmq case fails instead of hanging the bench, and
//! context termination is bounded too (a warning, never a hang, if rzmq does not finish it).

use ::rzmq::socket::options::{IO_URING_SESSION_ENABLED, RCVHWM, SNDHWM, SUBSCRIBE};
use ::rzmq::{Context, Msg, Socket, SocketType};
use bytes::Bytes;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::timeout;

use crate::measure::Fixture;
use crate::sync::{payload, Res, BATCH, K};

/// The rzmq release the bench is built against (benches/compare/Cargo.toml).
pub const VERSION: &str = "0.5.28";

const DEADLINE: Duration = Duration::from_secs(20);
/// How long context termination may take when a fixture is dropped.
const TERM_LIMIT: Duration = Duration::from_secs(2);
const HWM: i32 = 1000;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

/// The runtime shape and whether TCP sessions use io_uring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Form {
    pub multi_thread: bool,
    pub uring: bool,
}

/// The form of the tables: the faster of those measured here (see the report's method text).
/// io_uring works in this container (rings are set up and TCP sessions run on them), but on
/// 2 cores it lost everywhere that mattered: tcp 64 B one-way latency about 54 µs against
/// 17 µs with tokio sessions, 64 KiB throughput about 5 k msg/s against 11–22 k. The
/// current-thread runtime beat the multi-thread one on latency (tcp 64 B 16 µs against
/// 50 µs, ipc 64 KiB 30 µs against 70 µs) and on most throughput points (ipc 64 KiB 58 k
/// against 25 k msg/s), losing only some (tcp 1 KiB 0.77 M against 1.0 M msg/s).
pub const FORM: Form = Form {
    multi_thread: false,
    uring: false,
};

/// [`FORM`], or the one `FERROZMQ_BENCH_RZMQ_FORM` names.
pub fn form() -> Form {
    match std::env::var("FERROZMQ_BENCH_RZMQ_FORM") {
        Ok(v) => Form {
            multi_thread: v.split(',').any(|w| w == "mt"),
            uring: !v.split(',').any(|w| w == "tokio"),
        },
        Err(_) => FORM,
    }
}

impl Form {
    pub fn describe(&self) -> String {
        format!(
            "{} runtime, {}",
            if self.multi_thread {
                "multi-thread"
            } else {
                "current-thread"
            },
            if self.uring {
                "io_uring TCP sessions"
            } else {
                "plain tokio TCP sessions"
            }
        )
    }
}

fn current_thread() -> Res<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(e)
}

/// The receiving end's runtime: a handle to spawn on, and for the current-thread form the
/// thread that drives it until `stop` is dropped.
struct Far {
    handle: Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Both ends of a fixture: the near runtime (bench thread, `block_on`), the far one, and a
/// context for each end. The ends get contexts of their own (one shared for inproc, which
/// needs it): an rzmq socket actor follows its context's event bus, and in the
/// current-thread form the near actors are idle while the far end makes its sockets; with
/// one context, 100 far sockets' events made the idle near PUSH (or PUB) close itself.
struct Ends {
    near: Option<Runtime>,
    far: Far,
    ctx: Context,
    far_ctx: Context,
    form: Form,
}

impl Ends {
    fn new(ep: &str) -> Res<Ends> {
        Ends::with_form(ep, form())
    }

    fn with_form(ep: &str, form: Form) -> Res<Ends> {
        let (near, far) = if form.multi_thread {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(e)?;
            let handle = rt.handle().clone();
            (
                rt,
                Far {
                    handle,
                    stop: None,
                    thread: None,
                },
            )
        } else {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let (htx, hrx) = std::sync::mpsc::channel();
            let thread = std::thread::Builder::new()
                .name("rzmq-far".into())
                .spawn(move || match current_thread() {
                    Ok(rt) => {
                        let _ = htx.send(Ok(rt.handle().clone()));
                        rt.block_on(async {
                            let _ = stopped.await;
                        });
                        rt.shutdown_timeout(TERM_LIMIT);
                    }
                    Err(x) => {
                        let _ = htx.send(Err(x));
                    }
                })
                .map_err(e)?;
            let handle = hrx.recv().map_err(e)??;
            (
                current_thread()?,
                Far {
                    handle,
                    stop: Some(stop),
                    thread: Some(thread),
                },
            )
        };
        let ctx = Context::new().map_err(e)?.with_blocky(false); // linger 0
        let far_ctx = if ep.starts_with("inproc://") {
            ctx.clone()
        } else {
            Context::new().map_err(e)?.with_blocky(false)
        };
        Ok(Ends {
            near: Some(near),
            far,
            ctx,
            far_ctx,
            form,
        })
    }

    fn near(&self) -> &Runtime {
        self.near.as_ref().expect("near runtime")
    }

    /// A socket of kind `k` made (and bound or connected) in the calling task's runtime.
    async fn socket(
        ctx: Context,
        form: Form,
        k: K,
        ep: String,
        bind: bool,
        hwm: Option<usize>,
    ) -> Res<Socket> {
        let t = match k {
            K::Push => SocketType::Push,
            K::Pull => SocketType::Pull,
            K::Req => SocketType::Req,
            K::Rep => SocketType::Rep,
            K::Pub => SocketType::Pub,
            K::Sub => SocketType::Sub,
        };
        let s = ctx.socket(t).map_err(e)?;
        let hwm = hwm.map(|h| h as i32).unwrap_or(HWM);
        s.set_option(SNDHWM, hwm).await.map_err(e)?;
        s.set_option(RCVHWM, hwm).await.map_err(e)?;
        if form.uring && ep.starts_with("tcp://") {
            s.set_option(IO_URING_SESSION_ENABLED, true)
                .await
                .map_err(e)?;
        }
        if k == K::Sub {
            s.set_option(SUBSCRIBE, b"A").await.map_err(e)?;
        }
        if bind {
            s.bind(&ep).await.map_err(e)?;
        } else {
            s.connect(&ep).await.map_err(e)?;
        }
        Ok(s)
    }

    /// Makes a socket in the near runtime.
    fn near_socket(&self, k: K, ep: &str, bind: bool, hwm: Option<usize>) -> Res<Socket> {
        let fut = Self::socket(self.ctx.clone(), self.form, k, ep.to_string(), bind, hwm);
        self.near()
            .block_on(async { timeout(DEADLINE, fut).await })
            .map_err(|_| format!("{k:?} socket setup timed out"))?
    }

    /// Runs `body` as a task in the far runtime; waits until it reports ready (its sockets
    /// are made) through the sender it is given.
    /// [`Ends::socket`] for a far-end task: on failure the error goes to `ready` (and the
    /// task should end); on success `ready` hears that the far end is up.
    async fn ready_socket(
        ctx: Context,
        form: Form,
        k: K,
        ep: String,
        bind: bool,
        ready: &std::sync::mpsc::Sender<Res<()>>,
    ) -> Option<Socket> {
        match Ends::socket(ctx, form, k, ep, bind, None).await {
            Ok(s) => {
                let _ = ready.send(Ok(()));
                Some(s)
            }
            Err(x) => {
                let _ = ready.send(Err(x));
                None
            }
        }
    }

    fn far_task<F, Fut>(&self, body: F) -> Res<()>
    where
        F: FnOnce(Context, Form, std::sync::mpsc::Sender<Res<()>>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (ready_tx, ready) = std::sync::mpsc::channel();
        self.far
            .handle
            .spawn(body(self.far_ctx.clone(), self.form, ready_tx));
        match ready.recv_timeout(DEADLINE) {
            Ok(r) => r,
            Err(_) => Err("the far end never got ready".into()),
        }
    }
}

impl Drop for Ends {
    fn drop(&mut self) {
        let (ctx, far_ctx) = (self.ctx.clone(), self.far_ctx.clone());
        let near = self.near.take().expect("near runtime");
        let done = near.block_on(async move {
            let both = async { tokio::join!(ctx.term(), far_ctx.term()) };
            timeout(TERM_LIMIT, both).await.is_ok()
        });
        if !done {
            eprintln!(
                "warning: rzmq context termination exceeded {TERM_LIMIT:?}; runtimes dropped"
            );
        }
        near.shutdown_timeout(TERM_LIMIT);
        self.far.stop.take();
        if let Some(t) = self.far.thread.take() {
            let _ = t.join();
        }
    }
}

fn msg(p: &Bytes) -> Msg {
    Msg::from_bytes(p.clone())
}

async fn send_deadline(s: &Socket, m: Msg) -> Res<()> {
    match timeout(DEADLINE, s.send(m)).await {
        Ok(r) => r.map_err(e),
        Err(_) => Err("send timed out".into()),
    }
}

async fn recv_deadline(s: &Socket) -> Res<Msg> {
    match timeout(DEADLINE, s.recv()).await {
        Ok(r) => r.map_err(e),
        Err(_) => Err("receive timed out".into()),
    }
}

async fn ack_deadline(ack: &mut UnboundedReceiver<Res<()>>) -> Res<()> {
    match timeout(DEADLINE, ack.recv()).await {
        Ok(Some(r)) => r,
        Ok(None) => Err("the receiving end is gone".into()),
        Err(_) => Err("the receiving end timed out".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// PUSH -> PULL throughput

pub struct Thr {
    push: Socket,
    payload: Bytes,
    cmd: UnboundedSender<u64>,
    ack: UnboundedReceiver<Res<()>>,
    ends: Ends, // dropped last: the sockets above go first
}

impl Thr {
    pub fn fixture(ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let ends = Ends::new(ep)?;
        let (cmd, mut cmd_rx) = unbounded_channel::<u64>();
        let (ack_tx, ack) = unbounded_channel::<Res<()>>();
        let far_ep = ep.to_string();
        ends.far_task(move |ctx, form, ready| async move {
            let Some(pull) = Ends::ready_socket(ctx, form, K::Pull, far_ep, true, &ready).await
            else {
                return;
            };
            while let Some(n) = cmd_rx.recv().await {
                let mut r = Ok(());
                for _ in 0..n {
                    match recv_deadline(&pull).await {
                        Ok(m) if m.size() == size => {}
                        Ok(m) => r = Err(format!("received {} bytes, expected {size}", m.size())),
                        Err(x) => r = Err(x),
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
        let push = ends.near_socket(K::Push, ep, false, None)?;
        let mut f = Thr {
            push,
            payload: payload(size),
            cmd,
            ack,
            ends,
        };
        f.run(10)?; // connected and warm
        Ok(Box::new(f))
    }
}

impl Fixture for Thr {
    fn run(&mut self, n: u64) -> Res<Duration> {
        self.cmd
            .send(n)
            .map_err(|_| "the receiving end is gone".to_string())?;
        let (push, payload, ack) = (&self.push, &self.payload, &mut self.ack);
        self.ends.near().block_on(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                send_deadline(push, msg(payload)).await?;
            }
            ack_deadline(ack).await?;
            Ok(t0.elapsed())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// REQ <-> REP latency

pub struct Lat {
    req: Socket,
    payload: Bytes,
    ends: Ends,
}

impl Lat {
    pub fn fixture(ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let ends = Ends::new(ep)?;
        let far_ep = ep.to_string();
        ends.far_task(move |ctx, form, ready| async move {
            let Some(rep) = Ends::ready_socket(ctx, form, K::Rep, far_ep, true, &ready).await
            else {
                return;
            };
            while let Ok(m) = rep.recv().await {
                if rep.send(m).await.is_err() {
                    break;
                }
            }
        })?;
        let req = ends.near_socket(K::Req, ep, false, None)?;
        let mut f = Lat {
            req,
            payload: payload(size),
            ends,
        };
        f.run(10)?;
        Ok(Box::new(f))
    }
}

impl Fixture for Lat {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let (req, payload) = (&self.req, &self.payload);
        self.ends.near().block_on(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                send_deadline(req, msg(payload)).await?;
                let m = recv_deadline(req).await?;
                if m.size() != payload.len() {
                    return Err(format!("reply of {} bytes", m.size()));
                }
            }
            Ok(t0.elapsed())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// PUB fan-out: one task reads every SUB

pub struct Fanout {
    publ: Socket,
    payload: Bytes,
    cmd: UnboundedSender<u64>,
    ack: UnboundedReceiver<Res<()>>,
    ends: Ends,
}

impl Fanout {
    pub fn fixture(ep: &str, size: usize, nsubs: usize) -> Res<Box<dyn Fixture>> {
        let ends = Ends::new(ep)?;
        // HWM far above a batch, as for the other peers (sync.rs): nothing is dropped.
        let hwm = Some(100_000);
        let publ = ends.near_socket(K::Pub, ep, true, hwm)?;
        let (cmd, mut cmd_rx) = unbounded_channel::<u64>();
        let (ack_tx, mut ack) = unbounded_channel::<Res<()>>();
        let far_ep = ep.to_string();
        ends.far_task(move |ctx, form, ready| async move {
            let mut subs = Vec::new();
            for _ in 0..nsubs {
                let s = Ends::socket(ctx.clone(), form, K::Sub, far_ep.clone(), false, hwm);
                match s.await {
                    Ok(s) => subs.push(s),
                    Err(x) => {
                        let _ = ready.send(Err(x));
                        return;
                    }
                }
            }
            let _ = ready.send(Ok(()));
            // Until the first command: every SUB must see a probe, then the rest drains.
            let mut r = Ok(());
            for s in &subs {
                if let Err(x) = recv_deadline(s).await {
                    r = Err(format!("subscription never took effect: {x}"));
                    break;
                }
            }
            let _ = ack_tx.send(r);
            // Probes still in flight are told apart by their size and skipped: no draining
            // with timed-out receives, as a cancelled rzmq `recv` can lose what it was
            // receiving (a drain that way left the SUBs deaf).
            while let Some(n) = cmd_rx.recv().await {
                let mut r = Ok(());
                'b: for _ in 0..n {
                    for (j, s) in subs.iter().enumerate() {
                        let mut i = 0;
                        while i < BATCH {
                            // Shorter than the PUB's wait for the ack, so this error is the
                            // one reported.
                            match timeout(DEADLINE / 2, s.recv()).await {
                                Ok(Ok(m)) if m.size() == size => i += 1,
                                Ok(Ok(_)) => {} // a probe
                                Ok(Err(x)) => r = Err(e(x)),
                                Err(_) => {
                                    r = Err(format!(
                                        "SUB {j} timed out after {i} of a batch of {BATCH}"
                                    ))
                                }
                            }
                            if r.is_err() {
                                break 'b;
                            }
                        }
                    }
                }
                if ack_tx.send(r).is_err() {
                    break;
                }
            }
        })?;
        let probe = payload(size + 1);
        ends.near().block_on(async {
            let t0 = Instant::now();
            loop {
                publ.send(msg(&probe)).await.map_err(e)?;
                match timeout(Duration::from_millis(1), ack.recv()).await {
                    Ok(Some(r)) => break r,
                    Ok(None) => break Err("the SUB task is gone".into()),
                    Err(_) if t0.elapsed() > DEADLINE => {
                        break Err("subscriptions never took effect".into())
                    }
                    Err(_) => {}
                }
            }
        })?;
        let mut f = Fanout {
            publ,
            payload: payload(size),
            cmd,
            ack,
            ends,
        };
        f.run(1)?;
        Ok(Box::new(f))
    }
}

impl Fixture for Fanout {
    fn run(&mut self, n: u64) -> Res<Duration> {
        // One command per batch, so the SUB task acknowledges each batch before the next.
        let (publ, payload, ack, cmd) = (&self.publ, &self.payload, &mut self.ack, &self.cmd);
        self.ends.near().block_on(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                cmd.send(1)
                    .map_err(|_| "the SUB task is gone".to_string())?;
                for _ in 0..BATCH {
                    publ.send(msg(payload)).await.map_err(e)?;
                }
                ack_deadline(ack).await?;
            }
            Ok(t0.elapsed())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// One PUSH to many PULLs: one task per PULL, a shared count

pub struct PushMany {
    push: Socket,
    payload: Bytes,
    target: Arc<std::sync::atomic::AtomicU64>,
    count: Arc<std::sync::atomic::AtomicU64>,
    base: u64,
    done: UnboundedReceiver<Res<()>>,
    ends: Ends,
}

impl PushMany {
    pub fn fixture(ep: &str, size: usize, pulls: usize) -> Res<Box<dyn Fixture>> {
        use std::sync::atomic::{AtomicU64, Ordering};
        // Always the multi-thread form: in the current-thread one, rzmq delivered about a
        // third of the first 1000 messages to the 100 PULLs and the rest never arrived.
        let form = Form {
            multi_thread: true,
            ..form()
        };
        let ends = Ends::with_form(ep, form)?;
        let push = ends.near_socket(K::Push, ep, true, None)?;
        let count = Arc::new(AtomicU64::new(0));
        let target = Arc::new(AtomicU64::new(u64::MAX));
        let (done_tx, done) = unbounded_channel::<Res<()>>();
        for _ in 0..pulls {
            let (count, target, done_tx) = (count.clone(), target.clone(), done_tx.clone());
            let far_ep = ep.to_string();
            ends.far_task(move |ctx, form, ready| async move {
                let Some(pull) =
                    Ends::ready_socket(ctx, form, K::Pull, far_ep, false, &ready).await
                else {
                    return;
                };
                while pull.recv().await.is_ok() {
                    let c = count.fetch_add(1, Ordering::AcqRel) + 1;
                    if c == target.load(Ordering::Acquire) {
                        let _ = done_tx.send(Ok(()));
                    }
                }
            })?;
        }
        // Every PULL connected. The near runtime is driven meanwhile: in the current-thread
        // form it is what accepts the connections and runs their handshakes.
        ends.near()
            .block_on(tokio::time::sleep(Duration::from_millis(200)));
        let mut f = PushMany {
            push,
            payload: payload(size),
            target,
            count,
            base: 0,
            done,
            ends,
        };
        f.run(pulls as u64 * 10)?;
        Ok(Box::new(f))
    }
}

impl Fixture for PushMany {
    fn run(&mut self, n: u64) -> Res<Duration> {
        self.base += n;
        self.target
            .store(self.base, std::sync::atomic::Ordering::Release);
        let (push, payload, done) = (&self.push, &self.payload, &mut self.done);
        let (count, base) = (&self.count, self.base);
        self.ends.near().block_on(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                send_deadline(push, msg(payload)).await?;
            }
            match ack_deadline(done).await {
                Ok(()) => Ok(t0.elapsed()),
                Err(x) => Err(format!(
                    "{x}: the PULLs have {} of {} messages",
                    count.load(std::sync::atomic::Ordering::Acquire),
                    base
                )),
            }
        })
    }
}
