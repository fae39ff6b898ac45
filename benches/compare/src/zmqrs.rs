//! zmq.rs (crate `zeromq` 0.7) fixtures. zmq.rs is async only; it runs on a multi-thread
//! tokio runtime with the default worker count (one per core), the setup its examples use
//! (`#[tokio::main]`). The sending end runs in `block_on` on the bench thread, the receiving
//! end in a spawned task. zmq.rs has no inproc transport.

use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::time::timeout;
use zeromq::{
    PubSocket, PullSocket, PushSocket, RepSocket, ReqSocket, Socket, SocketRecv, SocketSend,
    SubSocket, ZmqMessage,
};

use crate::measure::Fixture;
use crate::sync::{payload, Res, BATCH};

const DEADLINE: Duration = Duration::from_secs(60);

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn len(m: &ZmqMessage) -> usize {
    m.iter().map(|b| b.len()).sum()
}

pub fn runtime() -> Arc<Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime"),
    )
}

async fn recv_deadline<S: SocketRecv>(s: &mut S) -> Res<ZmqMessage> {
    match timeout(DEADLINE, s.recv()).await {
        Ok(r) => r.map_err(e),
        Err(_) => Err("receive timed out".into()),
    }
}

// ---------------------------------------------------------------------------------------------

pub struct Thr {
    rt: Arc<Runtime>,
    push: PushSocket,
    pull: Option<PullSocket>,
    payload: Bytes,
}

impl Thr {
    pub fn fixture(rt: Arc<Runtime>, ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let (push, pull) = rt.block_on(async {
            let mut pull = PullSocket::new();
            pull.bind(ep).await.map_err(e)?;
            let mut push = PushSocket::new();
            push.connect(ep).await.map_err(e)?;
            Ok::<_, String>((push, pull))
        })?;
        let mut f = Thr {
            rt,
            push,
            pull: Some(pull),
            payload: payload(size),
        };
        f.run(10)?;
        Ok(Box::new(f))
    }
}

impl Fixture for Thr {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let mut pull = self.pull.take().ok_or("lost the PULL socket")?;
        let size = self.payload.len();
        let (push, payload, rt) = (&mut self.push, &self.payload, &self.rt);
        let (r, pull) = rt.block_on(async move {
            let t0 = Instant::now();
            let h = tokio::spawn(async move {
                for _ in 0..n {
                    match recv_deadline(&mut pull).await {
                        Ok(m) if len(&m) == size => {}
                        Ok(m) => {
                            return (Err(format!("got {} bytes, expected {size}", len(&m))), pull)
                        }
                        Err(x) => return (Err(x), pull),
                    }
                }
                (Ok(()), pull)
            });
            for _ in 0..n {
                if let Err(x) = push.send(ZmqMessage::from(payload.clone())).await {
                    return (Err(e(x)), None);
                }
            }
            match h.await {
                Ok((r, pull)) => (r.map(|_| t0.elapsed()), Some(pull)),
                Err(x) => (Err(e(x)), None),
            }
        });
        self.pull = pull;
        r
    }
}

// ---------------------------------------------------------------------------------------------

pub struct Lat {
    rt: Arc<Runtime>,
    req: ReqSocket,
    payload: Bytes,
    echo: Option<tokio::task::JoinHandle<()>>,
}

impl Lat {
    pub fn fixture(rt: Arc<Runtime>, ep: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let (req, echo) = rt.block_on(async {
            let mut rep = RepSocket::new();
            rep.bind(ep).await.map_err(e)?;
            let echo = tokio::spawn(async move {
                while let Ok(m) = rep.recv().await {
                    let l = len(&m);
                    if rep.send(m).await.is_err() || l == 0 {
                        break;
                    }
                }
            });
            let mut req = ReqSocket::new();
            req.connect(ep).await.map_err(e)?;
            Ok::<_, String>((req, echo))
        })?;
        let mut f = Lat {
            rt,
            req,
            payload: payload(size),
            echo: Some(echo),
        };
        f.run(10)?;
        Ok(Box::new(f))
    }
}

impl Fixture for Lat {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let (req, payload) = (&mut self.req, &self.payload);
        self.rt.block_on(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                req.send(ZmqMessage::from(payload.clone()))
                    .await
                    .map_err(e)?;
                let m = recv_deadline(req).await?;
                if len(&m) != payload.len() {
                    return Err(format!("reply of {} bytes", len(&m)));
                }
            }
            Ok(t0.elapsed())
        })
    }
}

impl Drop for Lat {
    fn drop(&mut self) {
        if let Some(h) = self.echo.take() {
            h.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------------

pub struct Fanout {
    rt: Arc<Runtime>,
    publ: PubSocket,
    subs: Option<Vec<SubSocket>>,
    payload: Bytes,
}

impl Fanout {
    pub fn fixture(rt: Arc<Runtime>, ep: &str, size: usize, nsubs: usize) -> Res<Box<dyn Fixture>> {
        let probe = payload(size);
        let (publ, subs) = rt.block_on(async {
            let mut publ = PubSocket::new();
            publ.bind(ep).await.map_err(e)?;
            let mut subs = Vec::new();
            for _ in 0..nsubs {
                let mut s = SubSocket::new();
                s.connect(ep).await.map_err(e)?;
                s.subscribe("A").await.map_err(e)?;
                subs.push(s);
            }
            // every SUB must see a probe before measuring
            let h = tokio::spawn(async move {
                for s in subs.iter_mut() {
                    match timeout(Duration::from_secs(20), s.recv()).await {
                        Ok(Ok(_)) => {}
                        _ => return Err("subscription never took effect".to_string()),
                    }
                }
                Ok(subs)
            });
            while !h.is_finished() {
                publ.send(ZmqMessage::from(probe.clone()))
                    .await
                    .map_err(e)?;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let mut subs = h.await.map_err(e)??;
            tokio::time::sleep(Duration::from_millis(100)).await;
            for s in subs.iter_mut() {
                while let Ok(Ok(_)) = timeout(Duration::from_millis(2), s.recv()).await {}
            }
            Ok::<_, String>((publ, subs))
        })?;
        let mut f = Fanout {
            rt,
            publ,
            subs: Some(subs),
            payload: payload(size),
        };
        f.run(1)?;
        Ok(Box::new(f))
    }
}

impl Fixture for Fanout {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let mut subs = self.subs.take().ok_or("lost the SUB sockets")?;
        let (publ, payload) = (&mut self.publ, &self.payload);
        let (r, subs) = self.rt.block_on(async move {
            let (ack_tx, mut ack) = tokio::sync::mpsc::unbounded_channel::<Res<()>>();
            let t0 = Instant::now();
            let h = tokio::spawn(async move {
                for _ in 0..n {
                    let mut r = Ok(());
                    'b: for s in subs.iter_mut() {
                        for _ in 0..BATCH {
                            if let Err(x) = recv_deadline(s).await {
                                r = Err(x);
                                break 'b;
                            }
                        }
                    }
                    if ack_tx.send(r).is_err() {
                        break;
                    }
                }
                subs
            });
            for _ in 0..n {
                for _ in 0..BATCH {
                    if let Err(x) = publ.send(ZmqMessage::from(payload.clone())).await {
                        return (Err(e(x)), None);
                    }
                }
                match ack.recv().await {
                    Some(Ok(())) => {}
                    Some(Err(x)) => return (Err(x), None),
                    None => return (Err("subscriber task died".into()), None),
                }
            }
            let el = t0.elapsed();
            match h.await {
                Ok(subs) => (Ok(el), Some(subs)),
                Err(x) => (Err(e(x)), None),
            }
        });
        self.subs = subs;
        r
    }
}

// ---------------------------------------------------------------------------------------------

pub struct PushMany {
    rt: Arc<Runtime>,
    push: PushSocket,
    payload: Bytes,
    target: Arc<AtomicU64>,
    base: u64,
    done: tokio::sync::mpsc::UnboundedReceiver<()>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl PushMany {
    pub fn fixture(rt: Arc<Runtime>, ep: &str, size: usize, pulls: usize) -> Res<Box<dyn Fixture>> {
        let count = Arc::new(AtomicU64::new(0));
        let target = Arc::new(AtomicU64::new(u64::MAX));
        let (done_tx, done) = tokio::sync::mpsc::unbounded_channel();
        let (push, tasks) = rt.block_on(async {
            let mut push = PushSocket::new();
            push.bind(ep).await.map_err(e)?;
            let mut tasks = Vec::new();
            for _ in 0..pulls {
                let mut pull = PullSocket::new();
                pull.connect(ep).await.map_err(e)?;
                let (count, target, done_tx) = (count.clone(), target.clone(), done_tx.clone());
                tasks.push(tokio::spawn(async move {
                    while pull.recv().await.is_ok() {
                        let c = count.fetch_add(1, Ordering::AcqRel) + 1;
                        if c == target.load(Ordering::Acquire) {
                            let _ = done_tx.send(());
                        }
                    }
                }));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, String>((push, tasks))
        })?;
        let mut f = PushMany {
            rt,
            push,
            payload: payload(size),
            target,
            base: 0,
            done,
            tasks,
        };
        f.run(pulls as u64 * 10)?;
        Ok(Box::new(f))
    }
}

impl Fixture for PushMany {
    fn run(&mut self, n: u64) -> Res<Duration> {
        self.base += n;
        self.target.store(self.base, Ordering::Release);
        let (push, payload, done) = (&mut self.push, &self.payload, &mut self.done);
        self.rt.block_on(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                push.send(ZmqMessage::from(payload.clone()))
                    .await
                    .map_err(e)?;
            }
            match timeout(DEADLINE, done.recv()).await {
                Ok(Some(())) => Ok(t0.elapsed()),
                _ => Err("pullers timed out".to_string()),
            }
        })
    }
}

impl Drop for PushMany {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}
