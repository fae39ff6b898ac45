//! The server under test of the scale section: a child process (this binary re-run with
//! `--scale-server MODE IMP N IO MS DEADLINE_MS [TOPICS]`) holding one ferrozmq, libzmq or
//! OMQ.rs socket, whose many peers live in grandchildren (`scale_peers.rs`), split so that no
//! process needs more fds than its limit. It prints its figures as `key=value` lines.
//!
//! One implementation per process, so that RSS is that implementation's alone and a failure
//! (fd exhaustion, a hang) cannot spill into the next data point. Modes:
//! - `router` / `pull`: N DEALER / PUSH peers connect (timed), RSS is read before and after,
//!   then every peer sends 64 B messages for MS ms while this process counts what it receives;
//! - `pub`: N SUB peers subscribe; the PUB publishes 64 B messages for MS ms; the peers count
//!   what they got (delivered) against what was published (drops at the HWM);
//! - `trie`: one SUB peer with TOPICS subscriptions; the PUB publishes messages on topics of
//!   which half match; the figure is the publish rate and CPU per published message;
//! - `idle`: N sockets (half PULL bound on tcp, half PUSH connected to them) sit idle; the
//!   figures are the process's CPU time and context switches over MS ms.
//!
//! Must keep true: every wait has a deadline; the peer processes die with this one
//! (PR_SET_PDEATHSIG) and are killed on every exit path; the exit skips socket teardown
//! (`process::exit`), so linger or a stuck close never costs a data point.

use bytes::Bytes;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use crate::measure::cpu_time;
use crate::scale_peers::{child_setup, topic, MSG, SYNC_TOPIC};

/// At most this many peers per peer process (each peer is one fd there).
pub const PEERS_PER_CHILD: usize = 2500;
/// At most this many SUB peers per process: readers are CPU-bound, spread them.
pub const SUBS_PER_CHILD: usize = 500;
/// The receive HWM of ROUTER/PULL servers (every implementation): 10,000 full pipes of the
/// default 1,000 would hold 10 M messages.
pub const SERVER_RCVHWM: usize = 100;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

pub fn status_kib(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Open fds of this process; `None` when even listing them fails for want of an fd (EMFILE).
fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// Context switches (voluntary, involuntary) summed over every thread of this process.
fn ctx_switches() -> (u64, u64) {
    let mut v = (0, 0);
    if let Ok(d) = std::fs::read_dir("/proc/self/task") {
        for t in d.flatten() {
            let s = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            for l in s.lines() {
                let n = |l: &str| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|x| x.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                if l.starts_with("voluntary_ctxt_switches") {
                    v.0 += n(l);
                } else if l.starts_with("nonvoluntary_ctxt_switches") {
                    v.1 += n(l);
                }
            }
        }
    }
    v
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn out(k: &str, v: impl std::fmt::Display) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{k}={v}");
    let _ = o.flush();
}

fn free_tcp() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    format!("tcp://{}", l.local_addr().unwrap())
}

// ---------------------------------------------------------------------------------------------
// the server socket, for each implementation

#[derive(Clone, Copy)]
enum Kind {
    Router,
    Pull,
    Push,
    Pub,
}

enum Srv {
    F(Box<ferrozmq::Socket>),
    Z(zmq::Socket, zmq::Message),
    O(omq_tokio::blocking::Socket),
}

/// The context of every socket of the process (kept alive until exit).
enum Ctx {
    F(ferrozmq::Context),
    Z(zmq::Context),
    O(omq_tokio::Context),
}

impl Ctx {
    fn new(imp: &str, io: usize) -> Result<Ctx, String> {
        Ok(match imp {
            "ferrozmq" => Ctx::F(ferrozmq::Context::with_io_threads(io)),
            "libzmq" => {
                let c = zmq::Context::new();
                c.set_io_threads(io as i32).map_err(e)?;
                Ctx::Z(c)
            }
            "omq" => Ctx::O(omq_tokio::Context::with_config(omq_tokio::ContextConfig {
                io_threads: io,
            })),
            x => return Err(format!("unknown implementation {x}")),
        })
    }

    fn socket(&self, k: Kind, hwm: Option<usize>) -> Result<Srv, String> {
        Ok(match self {
            Ctx::F(c) => {
                use ferrozmq::SocketType as T;
                let t = match k {
                    Kind::Router => T::Router,
                    Kind::Pull => T::Pull,
                    Kind::Push => T::Push,
                    Kind::Pub => T::Pub,
                };
                let mut s = c.socket(t).map_err(e)?;
                s.set_linger(Some(Duration::ZERO)).map_err(e)?;
                if let Some(h) = hwm {
                    s.set_rcvhwm(h).map_err(e)?;
                }
                Srv::F(Box::new(s))
            }
            Ctx::Z(c) => {
                let t = match k {
                    Kind::Router => zmq::ROUTER,
                    Kind::Pull => zmq::PULL,
                    Kind::Push => zmq::PUSH,
                    Kind::Pub => zmq::PUB,
                };
                let s = c.socket(t).map_err(e)?;
                s.set_linger(0).map_err(e)?;
                if let Some(h) = hwm {
                    s.set_rcvhwm(h as i32).map_err(e)?;
                }
                s.set_rcvtimeo(50).map_err(e)?;
                Srv::Z(s, zmq::Message::new())
            }
            Ctx::O(c) => {
                use omq_tokio::SocketType as T;
                let t = match k {
                    Kind::Router => T::Router,
                    Kind::Pull => T::Pull,
                    Kind::Push => T::Push,
                    Kind::Pub => T::Pub,
                };
                let mut o = omq_tokio::Options::default().linger(Duration::ZERO);
                if let Some(h) = hwm {
                    o = o.recv_hwm(h as u32);
                }
                Srv::O(c.blocking_socket(t, o))
            }
        })
    }
}

impl Srv {
    fn bind(&mut self, ep: &str) -> Result<(), String> {
        match self {
            Srv::F(s) => s.bind(ep).map_err(e),
            Srv::Z(s, _) => s.bind(ep).map_err(e),
            Srv::O(s) => s.bind(ep).map(|_| ()).map_err(e),
        }
    }
    fn connect(&mut self, ep: &str) -> Result<(), String> {
        match self {
            Srv::F(s) => s.connect(ep).map_err(e),
            Srv::Z(s, _) => s.connect(ep).map_err(e),
            Srv::O(s) => s.connect(ep).map(|_| ()).map_err(e),
        }
    }
    /// Receives one whole message (all its frames); false on a 50 ms timeout.
    fn recv(&mut self) -> Result<bool, String> {
        let t = Duration::from_millis(50);
        match self {
            Srv::F(s) => match s.recv_timeout(t) {
                Ok(_) => Ok(true),
                Err(ferrozmq::Error::Timeout) | Err(ferrozmq::Error::WouldBlock) => Ok(false),
                Err(x) => Err(e(x)),
            },
            Srv::Z(s, m) => loop {
                match s.recv(m, 0) {
                    Ok(()) => {
                        if !m.get_more() {
                            return Ok(true);
                        }
                    }
                    Err(zmq::Error::EAGAIN) => return Ok(false),
                    Err(x) => return Err(e(x)),
                }
            },
            Srv::O(s) => match s.recv_timeout(t) {
                Ok(_) => Ok(true),
                Err(omq_tokio::Error::Timeout) | Err(omq_tokio::Error::WouldBlock) => Ok(false),
                Err(x) => Err(e(x)),
            },
        }
    }
    /// Publishes one message; a PUB drops it when a subscriber's HWM is full.
    fn publish(&mut self, b: &Bytes) -> Result<(), String> {
        match self {
            Srv::F(s) => s.send(b.clone()).map_err(e),
            Srv::Z(s, _) => s.send(&b[..], 0).map_err(e),
            // OMQ.rs's PUB hands messages to its I/O thread through a queue and drops there
            // when that thread is behind, so its publish rate measures the hand-off, not the
            // filtering (the report says so). Bounded, in case a send ever blocks: a timeout
            // counts as a drop.
            Srv::O(s) => match s.send_timeout(
                omq_tokio::Message::single(b.clone()),
                Duration::from_millis(100),
            ) {
                Ok(()) | Err(omq_tokio::Error::Timeout) | Err(omq_tokio::Error::WouldBlock) => {
                    Ok(())
                }
                Err(x) => Err(e(x)),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the peer processes

struct Peers {
    children: Vec<Child>,
    stdins: Vec<ChildStdin>,
    lines: Receiver<(usize, String)>,
}

impl Peers {
    /// Starts enough peer processes for `n` peers of `role` and waits for each `ready`.
    fn spawn(
        role: &str,
        addr: &str,
        n: usize,
        per_child: usize,
        deadline_ms: u64,
        topics: usize,
    ) -> Result<Peers, String> {
        let exe = std::env::current_exe().map_err(e)?;
        let (tx, lines) = channel();
        let mut p = Peers {
            children: Vec::new(),
            stdins: Vec::new(),
            lines,
        };
        let mut left = n;
        let mut i = 0;
        while left > 0 {
            let count = left.min(per_child);
            left -= count;
            let mut c = Command::new(&exe)
                .args(["--scale-peers", role, addr])
                .arg(count.to_string())
                .arg(deadline_ms.to_string())
                .arg(topics.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(e)?;
            p.stdins.push(c.stdin.take().unwrap());
            let stdout = c.stdout.take().unwrap();
            p.children.push(c);
            let tx = tx.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(stdout).lines() {
                    match l {
                        Ok(l) => {
                            if tx.send((i, l)).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
            });
            i += 1;
        }
        p.collect("ready", Duration::from_secs(30))?;
        Ok(p)
    }

    fn tell(&mut self, line: &str) {
        for s in &mut self.stdins {
            let _ = writeln!(s, "{line}");
            let _ = s.flush();
        }
    }

    /// Waits for one line starting with `word` from every child; returns the number after it.
    fn collect(&self, word: &str, limit: Duration) -> Result<Vec<u64>, String> {
        let deadline = Instant::now() + limit;
        let mut got: Vec<Option<u64>> = vec![None; self.children.len()];
        while got.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((i, l)) => {
                    if let Some(rest) = l.strip_prefix(word) {
                        got[i] = Some(rest.trim().parse().unwrap_or(0));
                    }
                }
                Err(_) => {
                    let missing = got.iter().filter(|g| g.is_none()).count();
                    return Err(format!(
                        "{missing} of {} peer processes did not say `{word}` in {limit:?}",
                        self.children.len()
                    ));
                }
            }
        }
        Ok(got.into_iter().map(|g| g.unwrap_or(0)).collect())
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        self.stdins.clear();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the modes

pub fn child(args: &[String]) {
    child_setup();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize| arg(i).parse::<u64>().unwrap_or(0);
    let (mode, imp) = (arg(0), arg(1));
    let (n, io, ms, deadline_ms, topics) = (
        num(2) as usize,
        num(3).max(1) as usize,
        num(4),
        num(5),
        num(6) as usize,
    );
    let r = match mode.as_str() {
        "router" | "pull" => conn(&mode, &imp, n, io, ms, deadline_ms),
        "pub" | "trie" => fanout(&mode, &imp, n, ms, deadline_ms, topics),
        "idle" => idle(&imp, n, ms),
        m => Err(format!("unknown mode {m}")),
    };
    if let Err(x) = r {
        out("error", x);
    }
    std::process::exit(0);
}

/// `router` / `pull`: connect N peers, RSS per connection, then throughput with all sending.
fn conn(
    mode: &str,
    imp: &str,
    n: usize,
    io: usize,
    ms: u64,
    deadline_ms: u64,
) -> Result<(), String> {
    let ctx = Ctx::new(imp, io)?;
    let kind = if mode == "router" {
        Kind::Router
    } else {
        Kind::Pull
    };
    let mut s = ctx.socket(kind, Some(SERVER_RCVHWM))?;
    let ep = free_tcp();
    s.bind(&ep)?;
    let role = if mode == "router" { "DEALER" } else { "PUSH" };
    let mut peers = Peers::spawn(role, &ep, n, PEERS_PER_CHILD, deadline_ms, 0)?;
    std::thread::sleep(Duration::from_millis(200));
    let rss0 = status_kib("VmRSS:");
    let fds0 = open_fds();
    let t0 = Instant::now();
    peers.tell("go");
    let connected: u64 = peers
        .collect("connected", Duration::from_millis(deadline_ms + 10_000))?
        .iter()
        .sum();
    let connect_s = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(300)); // the server finishes attaching pipes
    let rss1 = status_kib("VmRSS:");
    let fds1 = open_fds();
    out("connected", connected);
    match (fds0, fds1) {
        (Some(a), Some(b)) => {
            out(
                "fds_per_conn",
                b.saturating_sub(a) as f64 / connected.max(1) as f64,
            );
            out("open_fds", b);
        }
        _ => out("fd_exhausted", 1),
    }
    if (connected as usize) < n {
        std::mem::forget((s, ctx));
        return Err(format!(
            "only {connected} of {n} peers connected (server fds: {})",
            fds1.map_or("exhausted".to_string(), |f| f.to_string())
        ));
    }
    out("connect_s", connect_s);
    out("rss0_kib", rss0);
    out("rss_kib", rss1);
    out("rss_per_conn_kib", (rss1 as f64 - rss0 as f64) / n as f64);
    // everyone sends for `ms`; count what arrives in that window
    let c0 = cpu_time();
    let t0 = Instant::now();
    let end = t0 + Duration::from_millis(ms);
    peers.tell(&format!("send {ms}"));
    let mut got = 0u64;
    while Instant::now() < end {
        if s.recv()? {
            got += 1;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_time().saturating_sub(c0).as_secs_f64();
    out("received", got);
    out("rate", got as f64 / secs);
    out("cpu_us_per_msg", cpu * 1e6 / got.max(1) as f64);
    out("rss_peak_kib", status_kib("VmHWM:"));
    peers.tell("quit");
    drop(peers);
    std::mem::forget((s, ctx));
    Ok(())
}

/// `pub` (N subscribers, one topic) and `trie` (one subscriber, `topics` topics).
fn fanout(
    mode: &str,
    imp: &str,
    n: usize,
    ms: u64,
    deadline_ms: u64,
    topics: usize,
) -> Result<(), String> {
    let ctx = Ctx::new(imp, 1)?;
    let mut s = ctx.socket(Kind::Pub, None)?;
    let ep = free_tcp();
    s.bind(&ep)?;
    let mut peers = Peers::spawn("SUB", &ep, n, SUBS_PER_CHILD, deadline_ms, topics)?;
    peers.tell("go");
    let connected: u64 = peers
        .collect("connected", Duration::from_millis(deadline_ms + 10_000))?
        .iter()
        .sum();
    out("connected", connected);
    if (connected as usize) < n {
        std::mem::forget((s, ctx));
        return Err(format!("only {connected} of {n} subscribers connected"));
    }
    // publish sync messages until every subscriber has one: all subscriptions are in
    // Static payloads, as in the main tables (Method): one heap `Bytes` published over and
    // over would make the publisher's clones and the I/O thread's drops bump one shared
    // counter from two cores, a cost of the benchmark, not of the library. (This child
    // process exits after one point, so the leak is bounded.)
    let pad = |mut v: Vec<u8>| {
        v.resize(MSG, b'.');
        Bytes::from_static(Box::leak(v.into_boxed_slice()))
    };
    let sync = pad(SYNC_TOPIC.to_vec());
    let t0 = Instant::now();
    let sync_limit = Duration::from_millis(deadline_ms + 10_000);
    let mut seen = 0;
    loop {
        s.publish(&sync)?;
        std::thread::sleep(Duration::from_millis(1));
        if synced_all(&peers, &mut seen) {
            break;
        }
        if t0.elapsed() > sync_limit {
            return Err("subscribers did not sync".into());
        }
    }
    out("sync_s", t0.elapsed().as_secs_f64());
    std::thread::sleep(Duration::from_millis(200));
    peers.tell("mark");
    let before: u64 = peers
        .collect("count", Duration::from_secs(10))?
        .iter()
        .sum();
    // the measured window
    let msgs: Vec<Bytes> = if mode == "trie" {
        // topics 0 .. 2*topics in a scattered order: about half match a subscription
        let m = (2 * topics).max(2);
        (0..4096usize)
            .map(|i| pad(topic(i.wrapping_mul(7919) % m).into_bytes()))
            .collect()
    } else {
        vec![pad(SYNC_TOPIC.to_vec())]
    };
    let c0 = cpu_time();
    let t0 = Instant::now();
    let end = t0 + Duration::from_millis(ms);
    let mut published = 0u64;
    'outer: loop {
        for m in &msgs {
            s.publish(m)?;
            published += 1;
            if published.is_multiple_of(16) && Instant::now() >= end {
                break 'outer;
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_time().saturating_sub(c0).as_secs_f64();
    std::thread::sleep(Duration::from_millis(300)); // in-flight messages drain
    peers.tell("stop");
    let after: u64 = peers
        .collect("received", Duration::from_secs(10))?
        .iter()
        .sum();
    let delivered = after.saturating_sub(before);
    out("published", published);
    out("publish_rate", published as f64 / secs);
    out("delivered", delivered);
    out("rate", delivered as f64 / secs);
    out("cpu_ns_per_published", cpu * 1e9 / published.max(1) as f64);
    out("cpu_ns_per_delivered", cpu * 1e9 / delivered.max(1) as f64);
    if mode == "pub" {
        let offered = published as f64 * n as f64;
        out("drop_rate", 1.0 - delivered as f64 / offered.max(1.0));
    }
    drop(peers);
    std::mem::forget((s, ctx));
    Ok(())
}

/// Counts `synced` lines as they come; true once every peer process said it.
fn synced_all(peers: &Peers, seen: &mut usize) -> bool {
    while let Ok((_, l)) = peers.lines.try_recv() {
        if l == "synced" {
            *seen += 1;
        }
    }
    *seen >= peers.children.len()
}

/// `idle`: n sockets (n/2 PULL bound on tcp, n/2 PUSH connected to them), then `ms` of
/// nothing: CPU time and context switches of the whole process.
fn idle(imp: &str, n: usize, ms: u64) -> Result<(), String> {
    let ctx = Ctx::new(imp, 1)?;
    let mut socks = Vec::with_capacity(n);
    let pairs = n / 2;
    for _ in 0..pairs {
        let mut pull = ctx.socket(Kind::Pull, None)?;
        let mut bound = None;
        for _ in 0..5 {
            let ep = free_tcp();
            if pull.bind(&ep).is_ok() {
                bound = Some(ep);
                break;
            }
        }
        let ep = bound.ok_or("cannot bind")?;
        let mut push = ctx.socket(Kind::Push, None)?;
        push.connect(&ep)?;
        socks.push(pull);
        socks.push(push);
    }
    std::thread::sleep(Duration::from_millis(1500)); // connections settle
    let (v0, i0) = ctx_switches();
    let c0 = cpu_time();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(ms));
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_time().saturating_sub(c0).as_secs_f64();
    let (v1, i1) = ctx_switches();
    out("sockets", socks.len());
    out("threads", threads());
    out("open_fds", open_fds().unwrap_or(0));
    out("idle_s", secs);
    out("cpu_ms_per_s", cpu * 1e3 / secs);
    // our own sleep is one voluntary switch of the main thread; the rest are wake-ups
    out(
        "wakeups_per_s",
        (v1 + i1).saturating_sub(v0 + i0 + 1) as f64 / secs,
    );
    out("rss_kib", status_kib("VmRSS:"));
    std::mem::forget((socks, ctx));
    Ok(())
}
