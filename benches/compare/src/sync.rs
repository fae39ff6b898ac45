//! Fixtures for the blocking APIs (ferrozmq, libzmq through the `zmq` crate, OMQ.rs through
//! `omq_tokio::blocking`): one shape for all three, so they are measured the same way.
//!
//! Threading, as in libzmq's perf tools: the sending end (PUSH, REQ, PUB) runs on the bench
//! thread, the receiving end (PULL, REP, the SUBs) on one thread of its own, and each library
//! has its default I/O threads (one, for all three).

use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::measure::Fixture;

pub type Res<T> = Result<T, String>;

/// Socket kinds the fixtures need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum K {
    Push,
    Pull,
    Req,
    Rep,
    Pub,
    Sub,
}

/// One blocking socket of some library.
pub trait SyncSock: Send {
    fn send_bytes(&mut self, payload: &Bytes) -> Res<()>;
    fn recv_len(&mut self) -> Res<usize>;
    /// `Ok(None)` when nothing is queued.
    fn try_recv_len(&mut self) -> Res<Option<usize>>;
    /// `Ok(None)` on timeout.
    fn recv_timeout_len(&mut self, d: Duration) -> Res<Option<usize>>;
    /// Receives one message and sends the same message back; returns its size.
    fn echo(&mut self) -> Res<usize>;
}

/// A library: makes sockets that are bound or connected to `ep`. SUB sockets come back
/// subscribed to the prefix `A`. `hwm` sets both high-water marks when given.
pub trait SyncLib: Send + Sync {
    fn make(&self, k: K, ep: &str, bind: bool, hwm: Option<usize>) -> Res<Box<dyn SyncSock>>;
}

/// A constant payload of `size` bytes as a static `Bytes`: cloning it per message copies a
/// pointer and touches no shared reference count. (Cloning one heap `Bytes` for every
/// message makes the sending thread and the I/O thread bump the same counter from two
/// cores, a cost of the benchmark, not of the library.) Leaked once per size.
pub fn payload(size: usize) -> Bytes {
    let mut v = vec![b'x'; size];
    if let Some(b) = v.first_mut() {
        *b = b'A'; // matches the SUBs' prefix filter
    }
    Bytes::from_static(Box::leak(v.into_boxed_slice()))
}

const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// PUSH -> PULL throughput

pub struct Thr {
    push: Box<dyn SyncSock>,
    payload: Bytes,
    cmd: Option<Sender<u64>>,
    ack: Receiver<Res<()>>,
    thread: Option<JoinHandle<()>>,
    _lib: Arc<dyn SyncLib>,
}

impl Thr {
    pub fn fixture(lib: Arc<dyn SyncLib>, ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let mut pull = lib.make(K::Pull, ep, true, None)?;
        let push = lib.make(K::Push, ep, false, None)?;
        let (cmd, cmd_rx) = channel::<u64>();
        let (ack_tx, ack) = channel();
        let thread = std::thread::spawn(move || {
            while let Ok(n) = cmd_rx.recv() {
                let mut r = Ok(());
                for _ in 0..n {
                    match pull.recv_len() {
                        Ok(l) if l == size => {}
                        Ok(l) => {
                            r = Err(format!("received {l} bytes, expected {size}"));
                            break;
                        }
                        Err(e) => {
                            r = Err(e);
                            break;
                        }
                    }
                }
                if ack_tx.send(r).is_err() {
                    break;
                }
            }
        });
        let mut f = Thr {
            push,
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

impl Fixture for Thr {
    fn run(&mut self, n: u64) -> Res<Duration> {
        self.cmd
            .as_ref()
            .unwrap()
            .send(n)
            .map_err(|_| "receiver gone".to_string())?;
        let t0 = Instant::now();
        for _ in 0..n {
            self.push.send_bytes(&self.payload)?;
        }
        match self.ack.recv_timeout(DEADLINE) {
            Ok(r) => r.map(|_| t0.elapsed()),
            Err(_) => Err("receiver timed out".into()),
        }
    }
}

impl Drop for Thr {
    fn drop(&mut self) {
        self.cmd.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// REQ <-> REP round trips

pub struct Lat {
    req: Box<dyn SyncSock>,
    payload: Bytes,
    thread: Option<JoinHandle<()>>,
    _lib: Arc<dyn SyncLib>,
}

impl Lat {
    pub fn fixture(lib: Arc<dyn SyncLib>, ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let mut rep = lib.make(K::Rep, ep, true, None)?;
        let req = lib.make(K::Req, ep, false, None)?;
        let thread = std::thread::spawn(move || {
            // An empty request is the stop signal (no measured size is 0 B).
            while let Ok(l) = rep.echo() {
                if l == 0 {
                    break;
                }
            }
        });
        let mut f = Lat {
            req,
            payload: payload(size),
            thread: Some(thread),
            _lib: lib,
        };
        f.run(10)?;
        Ok(Box::new(f))
    }
}

impl Fixture for Lat {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let want = self.payload.len();
        let t0 = Instant::now();
        for _ in 0..n {
            self.req.send_bytes(&self.payload)?;
            let l = self.req.recv_len()?;
            if l != want {
                return Err(format!("reply of {l} bytes, expected {want}"));
            }
        }
        Ok(t0.elapsed())
    }
}

impl Drop for Lat {
    fn drop(&mut self) {
        if self.req.send_bytes(&Bytes::new()).is_ok() {
            let t = Instant::now();
            let r = self.req.recv_timeout_len(Duration::from_secs(1));
            if t.elapsed() >= Duration::from_secs(1) {
                eprintln!(
                    "warning: the stop round trip took {:?} ({r:?})",
                    t.elapsed()
                );
            }
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PUB -> N SUBs (prefix filter), in batches: the PUB sends BATCH messages, then waits until
// every SUB has all of them. A batch is far below every HWM, so nothing is dropped, and the
// number reported is messages published per second (each delivered to every SUB).

pub const BATCH: u64 = 1000;

pub struct Fanout {
    publ: Box<dyn SyncSock>,
    payload: Bytes,
    cmd: Option<Sender<u64>>,
    ack: Receiver<Res<()>>,
    thread: Option<JoinHandle<()>>,
    _lib: Arc<dyn SyncLib>,
}

impl Fanout {
    pub fn fixture(
        lib: Arc<dyn SyncLib>,
        ep: &str,
        size: usize,
        subs: usize,
    ) -> Res<Box<dyn Fixture>> {
        let hwm = Some(100_000);
        let mut publ = lib.make(K::Pub, ep, true, hwm)?;
        let mut socks = Vec::with_capacity(subs);
        for _ in 0..subs {
            socks.push(lib.make(K::Sub, ep, false, hwm)?);
        }
        let (cmd, cmd_rx) = channel::<u64>();
        let (ack_tx, ack) = channel::<Res<()>>();
        let thread = std::thread::spawn(move || {
            // 1. subscriptions: every SUB must see a probe.
            let mut r = Ok(());
            for s in socks.iter_mut() {
                match s.recv_timeout_len(Duration::from_secs(20)) {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        r = Err("subscription never took effect".to_string());
                        break;
                    }
                    Err(e) => {
                        r = Err(e);
                        break;
                    }
                }
            }
            let failed = r.is_err();
            let _ = ack_tx.send(r);
            if failed {
                return;
            }
            // 2. drain leftover probes once the PUB went quiet.
            if cmd_rx.recv().is_err() {
                return;
            }
            for s in socks.iter_mut() {
                while let Ok(Some(_)) = s.try_recv_len() {}
            }
            let _ = ack_tx.send(Ok(()));
            // 3. batches.
            while let Ok(n) = cmd_rx.recv() {
                for _ in 0..n {
                    let mut r = Ok(());
                    'b: for s in socks.iter_mut() {
                        for _ in 0..BATCH {
                            if let Err(e) = s.recv_len() {
                                r = Err(e);
                                break 'b;
                            }
                        }
                    }
                    if ack_tx.send(r).is_err() {
                        return;
                    }
                }
            }
        });
        let probe = payload(size);
        let ready = loop {
            let _ = publ.send_bytes(&probe);
            std::thread::sleep(Duration::from_millis(1));
            match ack.try_recv() {
                Ok(r) => break r,
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(_) => break Err("subscriber thread died".into()),
            }
        };
        ready?;
        std::thread::sleep(Duration::from_millis(100));
        cmd.send(0).map_err(|_| "subscriber thread died")?;
        ack.recv_timeout(DEADLINE)
            .map_err(|_| "drain timed out")??;
        let mut f = Fanout {
            publ,
            payload: payload(size),
            cmd: Some(cmd),
            ack,
            thread: Some(thread),
            _lib: lib,
        };
        f.run(1)?;
        Ok(Box::new(f))
    }
}

impl Fixture for Fanout {
    fn run(&mut self, n: u64) -> Res<Duration> {
        self.cmd
            .as_ref()
            .unwrap()
            .send(n)
            .map_err(|_| "subscriber thread gone".to_string())?;
        let t0 = Instant::now();
        for _ in 0..n {
            for _ in 0..BATCH {
                self.publ.send_bytes(&self.payload)?;
            }
            match self.ack.recv_timeout(DEADLINE) {
                Ok(r) => r?,
                Err(_) => return Err("subscribers timed out (messages dropped?)".into()),
            }
        }
        Ok(t0.elapsed())
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        self.cmd.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// one PUSH -> N PULLs, each PULL on its own thread (blocking API: a thread per socket).

pub struct PushMany {
    push: Box<dyn SyncSock>,
    payload: Bytes,
    target: Arc<AtomicU64>,
    base: u64,
    done: Receiver<()>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    _lib: Arc<dyn SyncLib>,
}

impl PushMany {
    pub fn fixture(
        lib: Arc<dyn SyncLib>,
        ep: &str,
        size: usize,
        pulls: usize,
    ) -> Res<Box<dyn Fixture>> {
        let push = lib.make(K::Push, ep, true, None)?;
        let count = Arc::new(AtomicU64::new(0));
        let target = Arc::new(AtomicU64::new(u64::MAX));
        let stop = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = channel();
        let mut threads = Vec::new();
        for _ in 0..pulls {
            let mut pull = lib.make(K::Pull, ep, false, None)?;
            let (count, target, stop, done_tx) =
                (count.clone(), target.clone(), stop.clone(), done_tx.clone());
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match pull.recv_timeout_len(Duration::from_millis(100)) {
                        Ok(Some(_)) => {
                            let c = count.fetch_add(1, Ordering::AcqRel) + 1;
                            if c == target.load(Ordering::Acquire) {
                                let _ = done_tx.send(());
                            }
                        }
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            }));
        }
        // let every PULL connect before measuring, so the PUSH spreads over all of them.
        std::thread::sleep(Duration::from_millis(200 + 5 * pulls as u64));
        let mut f = PushMany {
            push,
            payload: payload(size),
            target,
            base: 0,
            done,
            stop,
            threads,
            _lib: lib,
        };
        f.run(pulls as u64 * 10)?;
        Ok(Box::new(f))
    }
}

impl Fixture for PushMany {
    fn run(&mut self, n: u64) -> Res<Duration> {
        self.base += n;
        self.target.store(self.base, Ordering::Release);
        let t0 = Instant::now();
        for _ in 0..n {
            self.push.send_bytes(&self.payload)?;
        }
        self.done
            .recv_timeout(DEADLINE)
            .map_err(|_| "pullers timed out".to_string())?;
        Ok(t0.elapsed())
    }
}

impl Drop for PushMany {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
