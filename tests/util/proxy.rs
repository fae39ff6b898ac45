//! A fault-injecting TCP proxy for the fault tests: it sits between two ZMTP peers on
//! 127.0.0.1 and, on command from the test thread, delays, stalls, cuts, corrupts or
//! refuses their traffic.
//!
//! # API (stable: other branches reuse it)
//!
//! ```ignore
//! let proxy = FaultProxy::start("tcp://127.0.0.1:5555"); // or "127.0.0.1:5555"
//! peer.connect(&proxy.endpoint())?;   // "tcp://127.0.0.1:<proxy port>"
//! proxy.pass();                       // forward everything as it comes (the default)
//! proxy.delay(Duration::from_millis(50)); // hold each chunk that long before forwarding
//! proxy.stall();                      // stop reading and forwarding, keep sockets open
//! proxy.resume();                     // end a stall (or delay, or refusal): back to pass
//! proxy.cut_fin();                    // close every current connection (FIN both ways)
//! proxy.cut_rst();                    // abort every current connection (RST both ways)
//! proxy.corrupt(n);                   // flip (XOR 0xFF) the next n bytes sent to the target
//! proxy.corrupt_to_client(n);         // ... and the next n bytes sent back to the client
//! proxy.refuse();                     // close each new connection as soon as it is accepted
//! proxy.wait_accepted(n, timeout);    // true once n connections were accepted in total
//! proxy.wait_live(n, timeout);        // true once exactly n connections are being forwarded
//! proxy.accepted(); proxy.live();     // connections accepted so far / being forwarded now
//! proxy.bytes_to_target(); proxy.bytes_to_client(); // bytes forwarded so far, per direction
//! proxy.mode(); proxy.addr();         // the current Mode; the listening SocketAddr
//! drop(proxy);                        // closes everything and joins every thread
//! ```
//!
//! Each accepted connection gets its own connection to the target and two threads, one per
//! direction. If the target cannot be reached the accepted connection is closed at once.
//!
//! What must hold:
//! - Commands take effect for data read after they return; `stall` additionally holds back
//!   a chunk that was read but not yet written, so after `stall` returns nothing more
//!   reaches either side until `resume` (or a cut).
//! - While stalled the proxy reads nothing, so the senders' kernel buffers fill and their
//!   writes block — as with a peer that has stopped reading.
//! - `cut_fin`/`cut_rst` are synchronous: when they return, the FIN or RST has been sent on
//!   both sides of every connection that existed when they were called, and nothing more is
//!   forwarded on it. `cut_rst` closes with SO_LINGER 0, which makes the kernel send RST.
//!   After `cut_fin` the proxy reads and discards what either side still sends until that
//!   side closes too (at most [`DRAIN_LIMIT`]), so that its own close is clean: a socket
//!   closed with unread data would send RST after the FIN.
//! - Dropping the proxy stops the acceptor and every forwarding thread within a bounded
//!   time (they all wake at least every [`TICK`] to check for it) and joins them: no leaks.
//! - Only 127.0.0.1 is used.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a forwarding thread blocked in a read or write wakes to check for commands.
pub const TICK: Duration = Duration::from_millis(20);

/// How long, after `cut_fin`, the proxy keeps discarding what a side sends before it
/// closes the socket regardless.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How long the proxy waits for the target to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the forwarding threads do with the data they read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward at once.
    Pass,
    /// Forward each chunk this long after it was read.
    Delay(Duration),
    /// Read nothing, forward nothing.
    Stall,
}

/// State shared by the controller and every thread.
struct Shared {
    mode: Mutex<Mode>,
    /// Signalled when the mode changes, a connection is cut, or the proxy shuts down.
    changed: Condvar,
    refuse: AtomicBool,
    shutdown: AtomicBool,
    corrupt_to_target: AtomicUsize,
    corrupt_to_client: AtomicUsize,
    accepted: AtomicUsize,
    bytes_to_target: AtomicU64,
    bytes_to_client: AtomicU64,
    conns: Mutex<Vec<Conn>>,
    /// Connections cut with FIN whose threads are still draining.
    closing: Mutex<Vec<Conn>>,
    /// Signalled when a connection is accepted or registered.
    conns_changed: Condvar,
}

/// One forwarded connection: the client side, the target side, their threads.
struct Conn {
    client: Arc<TcpStream>,
    target: Arc<TcpStream>,
    cut: Arc<AtomicBool>,
    /// Set with `cut` by `cut_fin`: discard input until the peer closes.
    drain: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Conn {
    /// Ends the connection. RST: linger 0 on both sides, join the threads, drop the last
    /// references (the close sends RST). FIN: shut down writing on both sides (the FIN goes
    /// now) and leave the threads draining; the connection goes to `closing`.
    fn close(mut self, shared: &Shared, rst: bool) {
        self.drain.store(!rst, Ordering::SeqCst);
        self.cut.store(true, Ordering::SeqCst);
        for s in [&self.client, &self.target] {
            if rst {
                let _ = socket2::SockRef::from(&**s).set_linger(Some(Duration::ZERO));
                // Wakes a blocked reader without sending anything; the close below sends RST.
                let _ = s.shutdown(std::net::Shutdown::Read);
            } else {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
        }
        shared.changed.notify_all();
        if rst {
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
            // The threads held the only other references: the sockets close here.
        } else {
            shared.closing.lock().unwrap().push(self);
        }
    }

    fn finished(&self) -> bool {
        self.threads.iter().all(JoinHandle::is_finished)
    }

    fn join(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The proxy. See the module doc for its API and guarantees.
pub struct FaultProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// A handle on the acceptor's listener, to wake it on drop.
    listener: TcpListener,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 (ephemeral port) that forwards to `target`
    /// (`tcp://127.0.0.1:port` or `127.0.0.1:port`), in [`Mode::Pass`].
    pub fn start(target: &str) -> FaultProxy {
        let target: SocketAddr = target
            .strip_prefix("tcp://")
            .unwrap_or(target)
            .parse()
            .unwrap_or_else(|e| panic!("proxy target {target}: {e}"));
        assert!(
            target.ip().is_loopback(),
            "the proxy only forwards to loopback"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let addr = listener.local_addr().unwrap();
        let wake_handle = listener.try_clone().expect("clone the proxy listener");
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Pass),
            changed: Condvar::new(),
            refuse: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            corrupt_to_target: AtomicUsize::new(0),
            corrupt_to_client: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            bytes_to_target: AtomicU64::new(0),
            bytes_to_client: AtomicU64::new(0),
            conns: Mutex::new(Vec::new()),
            closing: Mutex::new(Vec::new()),
            conns_changed: Condvar::new(),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || accept_loop(&shared, &listener, target))
                .expect("spawn proxy acceptor")
        };
        FaultProxy {
            shared,
            addr,
            listener: wake_handle,
            acceptor: Some(acceptor),
        }
    }

    /// The endpoint peers connect to: `tcp://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
        self.shared.changed.notify_all();
    }

    /// Forward everything at once and accept new connections (the default).
    pub fn pass(&self) {
        self.shared.refuse.store(false, Ordering::SeqCst);
        self.set_mode(Mode::Pass);
    }

    /// Forward each chunk `d` after it was read.
    pub fn delay(&self, d: Duration) {
        self.set_mode(Mode::Delay(d));
    }

    /// Stop reading and forwarding on every connection (current and new), keeping the
    /// sockets open.
    pub fn stall(&self) {
        self.set_mode(Mode::Stall);
    }

    /// Back to normal after a stall, delay or refusal: the same as [`FaultProxy::pass`].
    pub fn resume(&self) {
        self.pass();
    }

    /// Closes every current connection with FIN on both sides.
    pub fn cut_fin(&self) {
        self.cut(false);
    }

    /// Aborts every current connection with RST on both sides (SO_LINGER 0).
    pub fn cut_rst(&self) {
        self.cut(true);
    }

    fn cut(&self, rst: bool) {
        let conns: Vec<Conn> = std::mem::take(&mut *self.shared.conns.lock().unwrap());
        for c in conns {
            c.close(&self.shared, rst);
        }
        // Closes the sockets of FIN-cut connections that have finished draining.
        self.shared
            .closing
            .lock()
            .unwrap()
            .retain(|c| !c.finished());
    }

    /// Flips (XOR 0xFF) the next `n` bytes forwarded towards the target.
    pub fn corrupt(&self, n: usize) {
        self.shared.corrupt_to_target.store(n, Ordering::SeqCst);
    }

    /// Flips (XOR 0xFF) the next `n` bytes forwarded back towards the client.
    pub fn corrupt_to_client(&self, n: usize) {
        self.shared.corrupt_to_client.store(n, Ordering::SeqCst);
    }

    /// Closes each new connection as soon as it is accepted (current ones are untouched).
    pub fn refuse(&self) {
        self.shared.refuse.store(true, Ordering::SeqCst);
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        *self.shared.mode.lock().unwrap()
    }

    /// How many connections the proxy has accepted so far (refused ones included).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// How many connections are being forwarded now.
    pub fn live(&self) -> usize {
        self.shared.conns.lock().unwrap().len()
    }

    /// Bytes forwarded towards the target so far. A chunk is counted just before it is
    /// written, once nothing but a cut can stop it: every byte the target has received is
    /// counted, and a counted byte arrives even if the proxy stalls right after.
    pub fn bytes_to_target(&self) -> u64 {
        self.shared.bytes_to_target.load(Ordering::SeqCst)
    }

    /// Bytes forwarded back towards the client so far (counted as for
    /// [`FaultProxy::bytes_to_target`]).
    pub fn bytes_to_client(&self) -> u64 {
        self.shared.bytes_to_client.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` until at least `n` connections have been accepted in total.
    pub fn wait_accepted(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |_| self.accepted() >= n)
    }

    /// Waits up to `timeout` until exactly `n` connections are being forwarded (a
    /// connection counts once its target side is connected).
    pub fn wait_live(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |conns| {
            conns.retain(|c| !c.finished());
            conns.len() == n
        })
    }

    /// Waits up to `timeout` until `done` holds for the connection list, re-checking at
    /// each change and at least every tick (a connection that ends by itself signals
    /// nothing). Says whether it came true.
    fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&mut Vec<Conn>) -> bool) -> bool {
        let end = Instant::now() + timeout;
        let mut conns = self.shared.conns.lock().unwrap();
        loop {
            if done(&mut conns) {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            conns = self
                .shared
                .conns_changed
                .wait_timeout(conns, (end - now).min(TICK))
                .unwrap()
                .0;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wake the acceptor from its blocking accept: with a connection, and, should that
        // fail (no descriptors left), by shutting the listener down (accept then fails).
        if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_err() {
            let _ = socket2::SockRef::from(&self.listener).shutdown(std::net::Shutdown::Both);
        }
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        // Shutdown is set: the FIN-cut connections stop draining at once.
        self.cut(false);
        let closing = std::mem::take(&mut *self.shared.closing.lock().unwrap());
        for c in closing {
            c.join();
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener, target: SocketAddr) {
    for incoming in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = incoming else {
            // Out of descriptors or a transient error: back off instead of spinning.
            std::thread::sleep(TICK);
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        shared.conns_changed.notify_all();
        if shared.refuse.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let Ok(upstream) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
            drop(client);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let client = Arc::new(client);
        let upstream = Arc::new(upstream);
        let cut = Arc::new(AtomicBool::new(false));
        let drain = Arc::new(AtomicBool::new(false));
        let mut conns = shared.conns.lock().unwrap();
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        // Reap connections that ended on their own.
        conns.retain(|c| !c.finished());
        shared.closing.lock().unwrap().retain(|c| !c.finished());
        let threads = vec![
            spawn_pump(shared, &client, &upstream, &cut, &drain, true),
            spawn_pump(shared, &upstream, &client, &cut, &drain, false),
        ];
        conns.push(Conn {
            client,
            target: upstream,
            cut,
            drain,
            threads,
        });
        drop(conns);
        shared.conns_changed.notify_all();
    }
}

fn spawn_pump(
    shared: &Arc<Shared>,
    from: &Arc<TcpStream>,
    to: &Arc<TcpStream>,
    cut: &Arc<AtomicBool>,
    drain: &Arc<AtomicBool>,
    to_target: bool,
) -> JoinHandle<()> {
    let (shared, from, to) = (shared.clone(), from.clone(), to.clone());
    let (cut, drain) = (cut.clone(), drain.clone());
    std::thread::Builder::new()
        .name(if to_target { "proxy-up" } else { "proxy-down" }.into())
        .spawn(move || {
            pump(&shared, &from, &to, &cut, to_target);
            if drain.load(Ordering::SeqCst) {
                discard_until_closed(&shared, &from);
            }
        })
        .expect("spawn proxy pump")
}

/// After a FIN cut: reads and drops what `from` still sends until it closes, the proxy
/// shuts down, or [`DRAIN_LIMIT`] passes.
fn discard_until_closed(shared: &Shared, from: &TcpStream) {
    let end = Instant::now() + DRAIN_LIMIT;
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < end && !shared.shutdown.load(Ordering::SeqCst) {
        match (&*from).read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

/// Forwards `from` → `to` until EOF, an error, a cut or shutdown. On EOF it passes the
/// half-close on (FIN) so the other side sees what the peer did.
fn pump(shared: &Shared, from: &TcpStream, to: &TcpStream, cut: &AtomicBool, to_target: bool) {
    let _ = from.set_read_timeout(Some(TICK));
    let _ = to.set_write_timeout(Some(TICK));
    let stop = || cut.load(Ordering::SeqCst) || shared.shutdown.load(Ordering::SeqCst);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !wait_unstalled(shared, &stop) {
            return;
        }
        let n = match (&*from).read(&mut buf) {
            Ok(0) => {
                // A cut wakes readers with a local shutdown: not the peer's FIN to pass on.
                if !stop() {
                    let _ = to.shutdown(std::net::Shutdown::Write);
                }
                return;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop() {
                    return;
                }
                continue;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) if stop() => return,
            Err(_) => {
                // A reset from this side: pass it on as an abort of the other side.
                let _ = socket2::SockRef::from(to).set_linger(Some(Duration::ZERO));
                let _ = to.shutdown(std::net::Shutdown::Both);
                return;
            }
        };
        let read_at = Instant::now();
        let chunk = &mut buf[..n];
        let counter = if to_target {
            &shared.corrupt_to_target
        } else {
            &shared.corrupt_to_client
        };
        let flip = counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                Some(left - left.min(n))
            })
            .unwrap();
        for b in chunk.iter_mut().take(flip) {
            *b ^= 0xFF;
        }
        // A stall or delay commanded while this chunk was being read holds it back too.
        loop {
            if !wait_unstalled(shared, &stop) {
                return;
            }
            let due = match *shared.mode.lock().unwrap() {
                Mode::Delay(d) => read_at + d,
                _ => read_at,
            };
            let now = Instant::now();
            if now >= due {
                break;
            }
            let guard = shared.mode.lock().unwrap();
            let _ = shared
                .changed
                .wait_timeout(guard, (due - now).min(TICK))
                .unwrap();
            if stop() {
                return;
            }
        }
        // Counted before the write, so a byte the receiver has seen is always counted; from
        // here on the chunk is written whatever the mode (only a cut stops it).
        let total = if to_target {
            &shared.bytes_to_target
        } else {
            &shared.bytes_to_client
        };
        total.fetch_add(n as u64, Ordering::SeqCst);
        let mut off = 0;
        while off < n {
            match (&*to).write(&chunk[off..]) {
                Ok(0) => return,
                Ok(w) => off += w,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    if stop() {
                        return;
                    }
                }
                Err(_) if stop() => return,
                Err(_) => {
                    let _ = socket2::SockRef::from(from).set_linger(Some(Duration::ZERO));
                    let _ = from.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
        }
    }
}

/// Blocks while the proxy is stalled; false if the connection was cut or the proxy shut
/// down meanwhile.
fn wait_unstalled(shared: &Shared, stop: &impl Fn() -> bool) -> bool {
    let mut mode = shared.mode.lock().unwrap();
    loop {
        if stop() {
            return false;
        }
        if *mode != Mode::Stall {
            return true;
        }
        mode = shared.changed.wait_timeout(mode, TICK).unwrap().0;
    }
}
