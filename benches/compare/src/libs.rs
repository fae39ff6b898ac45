//! The three blocking libraries behind `SyncLib`: ferrozmq, libzmq (`zmq` crate) and OMQ.rs
//! (`omq_tokio::blocking`). Every socket gets linger 0, so teardown never waits.

use bytes::Bytes;
use std::time::Duration;

use crate::sync::{Res, SyncLib, SyncSock, K};

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

// ---------------------------------------------------------------------------------------------
// ferrozmq

/// A ferrozmq socket of kind `k` with linger 0, as every ferrozmq bench peer (blocking or
/// async) starts.
pub fn ferro_socket(ctx: &ferrozmq::Context, k: K) -> Res<ferrozmq::Socket> {
    use ferrozmq::SocketType as T;
    let t = match k {
        K::Push => T::Push,
        K::Pull => T::Pull,
        K::Req => T::Req,
        K::Rep => T::Rep,
        K::Pub => T::Pub,
        K::Sub => T::Sub,
    };
    let mut s = ctx.socket(t).map_err(e)?;
    s.set_linger(Some(Duration::ZERO)).map_err(e)?;
    Ok(s)
}

pub struct Ferro {
    ctx: ferrozmq::Context,
    liveness: bool,
}

/// The liveness variant's heartbeat interval: short enough that PINGs really go out while a
/// point is measured (a PUSH hears nothing from its PULL, so it PINGs every interval).
pub const LIVENESS_IVL: Duration = Duration::from_millis(10);
/// The liveness variant's heartbeat timeout.
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(1);

impl Ferro {
    pub fn new() -> Ferro {
        Ferro {
            ctx: ferrozmq::Context::new(),
            liveness: false,
        }
    }

    /// ferrozmq with its liveness machinery on: every socket gets heartbeats
    /// ([`LIVENESS_IVL`], [`LIVENESS_TIMEOUT`]) and a monitor that is attached before
    /// bind/connect and never read, kept as long as the socket.
    pub fn with_liveness() -> Ferro {
        Ferro {
            ctx: ferrozmq::Context::new(),
            liveness: true,
        }
    }
}

impl Drop for Ferro {
    fn drop(&mut self) {
        self.ctx.term();
    }
}

/// The socket, and its unread monitor in the liveness variant (dropped after the socket).
struct FerroSock {
    s: ferrozmq::Socket,
    _monitor: Option<ferrozmq::Monitor>,
}

impl SyncLib for Ferro {
    fn make(&self, k: K, ep: &str, bind: bool, hwm: Option<usize>) -> Res<Box<dyn SyncSock>> {
        let mut s = ferro_socket(&self.ctx, k)?;
        if let Some(h) = hwm {
            s.set_sndhwm(h).map_err(e)?;
            s.set_rcvhwm(h).map_err(e)?;
        }
        if k == K::Sub {
            s.subscribe("A").map_err(e)?;
        }
        let monitor = if self.liveness {
            s.set_heartbeat_ivl(Some(LIVENESS_IVL)).map_err(e)?;
            s.set_heartbeat_timeout(Some(LIVENESS_TIMEOUT)).map_err(e)?;
            Some(s.monitor())
        } else {
            None
        };
        if bind {
            s.bind(ep).map_err(e)?;
        } else {
            s.connect(ep).map_err(e)?;
        }
        Ok(Box::new(FerroSock {
            s,
            _monitor: monitor,
        }))
    }
}

impl SyncSock for FerroSock {
    fn send_bytes(&mut self, payload: &Bytes) -> Res<()> {
        self.s.send(payload.clone()).map_err(e)
    }
    fn recv_len(&mut self) -> Res<usize> {
        self.s.recv().map(|m| m.byte_len()).map_err(e)
    }
    fn try_recv_len(&mut self) -> Res<Option<usize>> {
        match self.s.try_recv() {
            Ok(m) => Ok(Some(m.byte_len())),
            Err(ferrozmq::Error::WouldBlock) => Ok(None),
            Err(x) => Err(e(x)),
        }
    }
    fn recv_timeout_len(&mut self, d: Duration) -> Res<Option<usize>> {
        match self.s.recv_timeout(d) {
            Ok(m) => Ok(Some(m.byte_len())),
            Err(ferrozmq::Error::Timeout) | Err(ferrozmq::Error::WouldBlock) => Ok(None),
            Err(x) => Err(e(x)),
        }
    }
    fn echo(&mut self) -> Res<usize> {
        let m = self.s.recv().map_err(e)?;
        let l = m.byte_len();
        self.s.send(m).map_err(e)?;
        Ok(l)
    }
}

// ---------------------------------------------------------------------------------------------
// libzmq 4.3.4 through the `zmq` crate

pub struct Libzmq {
    ctx: zmq::Context,
}

impl Libzmq {
    pub fn new() -> Libzmq {
        Libzmq {
            ctx: zmq::Context::new(),
        }
    }
}

struct ZSock {
    s: zmq::Socket,
    msg: zmq::Message,
    rcvtimeo: i32,
}

impl SyncLib for Libzmq {
    fn make(&self, k: K, ep: &str, bind: bool, hwm: Option<usize>) -> Res<Box<dyn SyncSock>> {
        let t = match k {
            K::Push => zmq::PUSH,
            K::Pull => zmq::PULL,
            K::Req => zmq::REQ,
            K::Rep => zmq::REP,
            K::Pub => zmq::PUB,
            K::Sub => zmq::SUB,
        };
        let s = self.ctx.socket(t).map_err(e)?;
        s.set_linger(0).map_err(e)?;
        if let Some(h) = hwm {
            s.set_sndhwm(h as i32).map_err(e)?;
            s.set_rcvhwm(h as i32).map_err(e)?;
        }
        if k == K::Sub {
            s.set_subscribe(b"A").map_err(e)?;
        }
        if bind {
            s.bind(ep).map_err(e)?;
        } else {
            s.connect(ep).map_err(e)?;
        }
        Ok(Box::new(ZSock {
            s,
            msg: zmq::Message::new(),
            rcvtimeo: -1,
        }))
    }
}

impl ZSock {
    fn timeo(&mut self, ms: i32) -> Res<()> {
        if self.rcvtimeo != ms {
            self.s.set_rcvtimeo(ms).map_err(e)?;
            self.rcvtimeo = ms;
        }
        Ok(())
    }
}

impl SyncSock for ZSock {
    fn send_bytes(&mut self, payload: &Bytes) -> Res<()> {
        self.s.send(&payload[..], 0).map_err(e)
    }
    fn recv_len(&mut self) -> Res<usize> {
        self.timeo(-1)?;
        self.s.recv(&mut self.msg, 0).map_err(e)?;
        Ok(self.msg.len())
    }
    fn try_recv_len(&mut self) -> Res<Option<usize>> {
        match self.s.recv(&mut self.msg, zmq::DONTWAIT) {
            Ok(()) => Ok(Some(self.msg.len())),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(x) => Err(e(x)),
        }
    }
    fn recv_timeout_len(&mut self, d: Duration) -> Res<Option<usize>> {
        self.timeo(d.as_millis() as i32)?;
        match self.s.recv(&mut self.msg, 0) {
            Ok(()) => Ok(Some(self.msg.len())),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(x) => Err(e(x)),
        }
    }
    fn echo(&mut self) -> Res<usize> {
        self.timeo(-1)?;
        self.s.recv(&mut self.msg, 0).map_err(e)?;
        let m = std::mem::replace(&mut self.msg, zmq::Message::new());
        let l = m.len();
        self.s.send(m, 0).map_err(e)?;
        Ok(l)
    }
}

// ---------------------------------------------------------------------------------------------
// OMQ.rs (omq-tokio) through its blocking API: a Context with its default single I/O thread
// (a current_thread tokio runtime on a thread of its own), application code on plain threads.
// This is the shape of OMQ.rs's own `omq_bench_peer_blocking` tool.

pub struct Omq {
    ctx: omq_tokio::Context,
}

impl Omq {
    pub fn new() -> Omq {
        Omq {
            ctx: omq_tokio::Context::new(),
        }
    }
}

struct OSock(omq_tokio::blocking::Socket);

impl SyncLib for Omq {
    fn make(&self, k: K, ep: &str, bind: bool, hwm: Option<usize>) -> Res<Box<dyn SyncSock>> {
        use omq_tokio::SocketType as T;
        let t = match k {
            K::Push => T::Push,
            K::Pull => T::Pull,
            K::Req => T::Req,
            K::Rep => T::Rep,
            K::Pub => T::Pub,
            K::Sub => T::Sub,
        };
        let mut o = omq_tokio::Options::default().linger(Duration::ZERO);
        if let Some(h) = hwm {
            o = o.send_hwm(h as u32).recv_hwm(h as u32);
        }
        let s = self.ctx.blocking_socket(t, o);
        if k == K::Sub {
            s.subscribe(Bytes::from_static(b"A")).map_err(e)?;
        }
        if bind {
            s.bind(ep).map_err(e)?;
        } else {
            s.connect(ep).map_err(e)?;
        }
        Ok(Box::new(OSock(s)))
    }
}

impl SyncSock for OSock {
    fn send_bytes(&mut self, payload: &Bytes) -> Res<()> {
        self.0
            .send(omq_tokio::Message::single(payload.clone()))
            .map_err(e)
    }
    fn recv_len(&mut self) -> Res<usize> {
        self.0.recv().map(|m| m.byte_len()).map_err(e)
    }
    fn try_recv_len(&mut self) -> Res<Option<usize>> {
        match self.0.try_recv() {
            Ok(m) => Ok(Some(m.byte_len())),
            Err(omq_tokio::Error::WouldBlock) => Ok(None),
            Err(x) => Err(e(x)),
        }
    }
    fn recv_timeout_len(&mut self, d: Duration) -> Res<Option<usize>> {
        match self.0.recv_timeout(d) {
            Ok(m) => Ok(Some(m.byte_len())),
            Err(omq_tokio::Error::Timeout) | Err(omq_tokio::Error::WouldBlock) => Ok(None),
            Err(x) => Err(e(x)),
        }
    }
    fn echo(&mut self) -> Res<usize> {
        let m = self.0.recv().map_err(e)?;
        let l = m.byte_len();
        self.0.send(m).map_err(e)?;
        Ok(l)
    }
}
