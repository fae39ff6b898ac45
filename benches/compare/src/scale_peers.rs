//! The many peers of the scale section: a child process (this binary re-run with
//! `--scale-peers ROLE ADDR COUNT DEADLINE_MS [TOPICS]`) holding COUNT raw ZMTP NULL
//! connections to one server, driven by lines on its stdin and answering on its stdout.
//!
//! The peers are hand-written ZMTP over plain sockets (no messaging library), so the very same
//! peers face ferrozmq's, libzmq's and OMQ.rs's servers: that is what keeps the comparison fair.
//! Roles: `DEALER` and `PUSH` send 64 B messages as fast as the kernel takes them; `SUB`
//! subscribes (subscription messages, after the handshake) and counts the messages it receives.
//!
//! Protocol (one line each way, the parent never has to guess):
//! - child prints `ready` once started; parent sends `go`;
//! - child connects every peer (greeting + READY both ways, bounded by DEADLINE_MS), prints
//!   `connected K` (K < COUNT when the server stopped accepting or handshaking in time);
//! - senders: `send MS` → send for MS milliseconds, then print `sent N`;
//! - subscribers: print `synced` once every peer has received a message; `mark` → print
//!   `count N` (messages so far); `stop` → print `received N` and exit;
//! - EOF or `quit` on stdin → exit. The child also dies with its parent (PR_SET_PDEATHSIG),
//!   so a killed server never leaves peers behind.
//!
//! Must keep true: never block without a deadline, never exceed the fd limit of one process
//! (the parent splits the peers over several children), and count only whole data messages.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Payload size of every data message of the scale section.
pub const MSG: usize = 64;

/// Dies with the parent process and raises the soft fd limit to the hard one.
pub fn child_setup() {
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    raise_fd_limit();
}

/// Soft RLIMIT_NOFILE := hard.
pub fn raise_fd_limit() {
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// A ZMTP 3.x NULL greeting, as-server 0.
fn greeting(minor: u8) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, minor];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0);
    g.resize(64, 0);
    g
}

fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = b"\x05READY\x0bSocket-Type".to_vec();
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(&body);
    f
}

/// A one-frame data message (short form).
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x00, body.len() as u8];
    f.extend_from_slice(body);
    f
}

/// The topics of the trie scenario: `t/000000`, `t/000001`, ...
pub fn topic(i: usize) -> String {
    format!("t/{i:06}")
}

/// The topic every SUB peer subscribes to last; the publisher's sync and fan-out messages
/// start with it, so a peer that receives one knows all its subscriptions are in place.
pub const SYNC_TOPIC: &[u8] = b"A";

/// Counts whole data messages in a ZMTP byte stream, whatever the read boundaries.
#[derive(Default)]
struct FrameCounter {
    state: u8,
    flags: u8,
    need: u64,
    acc: u64,
    accn: u8,
    msgs: u64,
}

impl FrameCounter {
    fn feed(&mut self, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                0 => {
                    self.flags = data[i];
                    i += 1;
                    if self.flags & 2 != 0 {
                        self.state = 2;
                        self.acc = 0;
                        self.accn = 0;
                    } else {
                        self.state = 1;
                    }
                }
                1 => {
                    self.need = data[i] as u64;
                    i += 1;
                    self.body_start();
                }
                2 => {
                    self.acc = (self.acc << 8) | data[i] as u64;
                    i += 1;
                    self.accn += 1;
                    if self.accn == 8 {
                        self.need = self.acc;
                        self.body_start();
                    }
                }
                _ => {
                    let take = (self.need as usize).min(data.len() - i);
                    i += take;
                    self.need -= take as u64;
                    if self.need == 0 {
                        self.frame_done();
                    }
                }
            }
        }
    }
    fn body_start(&mut self) {
        self.state = 3;
        if self.need == 0 {
            self.frame_done();
        }
    }
    fn frame_done(&mut self) {
        // a data frame without MORE ends a message; commands (PING, ...) are not counted
        if self.flags & 0x05 == 0 {
            self.msgs += 1;
        }
        self.state = 0;
    }
}

/// Connects one peer and completes the handshake: our greeting and READY (and the
/// subscriptions of a SUB), then the server's 64-byte greeting and its READY command.
fn handshake(
    addr: SocketAddr,
    role: &str,
    subs: &[Vec<u8>],
    deadline: Instant,
) -> std::io::Result<TcpStream> {
    // a loopback handshake that takes seconds means the server stopped accepting (its fd
    // limit, say): give up on it after 5 s rather than waiting for the whole deadline
    let deadline = deadline.min(Instant::now() + Duration::from_secs(5));
    let left = |d: Instant| {
        d.checked_duration_since(Instant::now())
            .filter(|l| !l.is_zero())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline"))
    };
    let mut s = TcpStream::connect_timeout(&addr, left(deadline)?)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(left(deadline)?))?;
    s.set_write_timeout(Some(left(deadline)?))?;
    let mut out = greeting(1);
    out.extend_from_slice(&ready(role));
    s.write_all(&out)?;
    let mut g = [0u8; 64];
    s.read_exact(&mut g)?;
    if g[0] != 0xFF || g[9] != 0x7F || &g[12..16] != b"NULL" {
        return Err(std::io::Error::other("not a ZMTP NULL greeting"));
    }
    let mut h = [0u8; 2];
    s.read_exact(&mut h)?;
    let len = if h[0] & 2 != 0 {
        let mut rest = [0u8; 7];
        s.read_exact(&mut rest)?;
        let mut b = [0u8; 8];
        b[0] = h[1];
        b[1..].copy_from_slice(&rest);
        u64::from_be_bytes(b)
    } else {
        h[1] as u64
    };
    if h[0] & 4 == 0 || len > 4096 {
        return Err(std::io::Error::other("expected the READY command"));
    }
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body)?;
    if !body.starts_with(b"\x05READY") {
        return Err(std::io::Error::other("expected READY"));
    }
    // Subscriptions (ZMTP 3.0 message form, which 3.1 servers accept too) only now: libzmq
    // drops a connection whose first segment carries data past the READY.
    let mut subs_out = Vec::new();
    for t in subs {
        let mut body = vec![1u8];
        body.extend_from_slice(t);
        subs_out.extend_from_slice(&frame(&body));
    }
    s.write_all(&subs_out)?;
    s.set_read_timeout(None)?;
    s.set_write_timeout(None)?;
    Ok(s)
}

fn say(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// Lines from stdin, read on a thread of its own; `None` once stdin is closed.
fn stdin_lines() -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::stdin().lock().lines() {
            match l {
                Ok(l) => {
                    if tx.send(l.trim().to_string()).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    rx
}

/// The child's entry point (`--scale-peers` and its arguments).
pub fn child(args: &[String]) {
    child_setup();
    let role = args.first().cloned().unwrap_or_default();
    let addr: SocketAddr = args
        .get(1)
        .and_then(|a| a.trim_start_matches("tcp://").parse().ok())
        .expect("--scale-peers ROLE ADDR COUNT DEADLINE_MS [TOPICS]");
    let count: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let deadline_ms: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let topics: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(0);
    let mut subs: Vec<Vec<u8>> = (0..topics).map(|i| topic(i).into_bytes()).collect();
    if role == "SUB" {
        subs.push(SYNC_TOPIC.to_vec());
    }
    let lines = stdin_lines();
    say("ready");
    match lines.recv_timeout(Duration::from_secs(60)) {
        Ok(l) if l == "go" => {}
        _ => std::process::exit(1),
    }

    // connect: a few threads, each handshaking peers one after another until COUNT, the
    // deadline or a failure (one failure stops all: the server is at its limit).
    let deadline = Instant::now() + Duration::from_millis(deadline_ms);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let streams = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let subs = Arc::new(subs);
    let threads: Vec<_> = (0..count.clamp(1, 8))
        .map(|_| {
            let (next, failed, streams, subs, role) = (
                next.clone(),
                failed.clone(),
                streams.clone(),
                subs.clone(),
                role.clone(),
            );
            std::thread::spawn(move || {
                while !failed.load(Ordering::Relaxed)
                    && next.fetch_add(1, Ordering::Relaxed) < count
                {
                    match handshake(addr, &role, &subs, deadline) {
                        Ok(s) => streams.lock().unwrap().push(s),
                        Err(e) => {
                            if !failed.swap(true, Ordering::Relaxed) {
                                eprintln!("scale peer: handshake failed: {e}");
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let streams = std::mem::take(&mut *streams.lock().unwrap());
    say(&format!("connected {}", streams.len()));
    for s in &streams {
        let _ = s.set_nonblocking(true);
    }
    if role == "SUB" {
        subscriber(streams, lines);
    } else {
        sender(streams, lines);
    }
}

struct Epoll(i32);

impl Epoll {
    fn new() -> Epoll {
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(fd >= 0, "epoll_create1");
        Epoll(fd)
    }
    fn add(&self, fd: i32, events: u32, token: u64) {
        let mut ev = libc::epoll_event { events, u64: token };
        unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    }
    fn del(&self, fd: i32) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }
    /// Tokens of the ready fds, waiting at most `ms`.
    fn wait(&self, evs: &mut [libc::epoll_event], ms: i32) -> Vec<u64> {
        let n = unsafe { libc::epoll_wait(self.0, evs.as_mut_ptr(), evs.len() as i32, ms) };
        (0..n.max(0) as usize).map(|i| evs[i].u64).collect()
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        unsafe { libc::close(self.0) };
    }
}

fn sender(mut streams: Vec<TcpStream>, lines: std::sync::mpsc::Receiver<String>) {
    // wait for `send MS`
    let ms: u64 = loop {
        match lines.recv() {
            Ok(l) if l.starts_with("send ") => break l[5..].parse().unwrap_or(1000),
            Ok(l) if l == "quit" => std::process::exit(0),
            Ok(_) => {}
            Err(_) => std::process::exit(0),
        }
    };
    // 64 whole messages per buffer: a partial write resumes at its offset, so every
    // connection carries a well-formed stream of 64 B messages.
    let one = frame(&[b'm'; MSG]);
    let buf: Vec<u8> = one.iter().copied().cycle().take(one.len() * 64).collect();
    let mut off = vec![0usize; streams.len()];
    let mut bytes = 0u64;
    let ep = Epoll::new();
    for (i, s) in streams.iter().enumerate() {
        ep.add(s.as_raw_fd(), libc::EPOLLOUT as u32, i as u64);
    }
    let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let end = Instant::now() + Duration::from_millis(ms);
    let mut open = streams.len();
    while Instant::now() < end && open > 0 {
        for t in ep.wait(&mut evs, 20) {
            let i = t as usize;
            loop {
                match streams[i].write(&buf[off[i]..]) {
                    Ok(0) => break,
                    Ok(n) => {
                        bytes += n as u64;
                        off[i] = (off[i] + n) % buf.len();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        ep.del(streams[i].as_raw_fd());
                        open -= 1;
                        break;
                    }
                }
            }
        }
    }
    say(&format!("sent {}", bytes / one.len() as u64));
    // keep the connections until told to go (the server counts what is in flight)
    while let Ok(l) = lines.recv() {
        if l == "quit" {
            break;
        }
    }
    streams.clear();
}

fn subscriber(streams: Vec<TcpStream>, lines: std::sync::mpsc::Receiver<String>) {
    let mut counters: Vec<FrameCounter> = streams.iter().map(|_| FrameCounter::default()).collect();
    let ep = Epoll::new();
    for (i, s) in streams.iter().enumerate() {
        ep.add(s.as_raw_fd(), libc::EPOLLIN as u32, i as u64);
    }
    let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = vec![0u8; 256 * 1024];
    let mut synced = streams.is_empty();
    let mut unsynced = streams.len();
    let mut open = streams.len();
    let total = |c: &[FrameCounter]| c.iter().map(|c| c.msgs).sum::<u64>();
    loop {
        for t in ep.wait(&mut evs, 10) {
            let i = t as usize;
            let before = counters[i].msgs;
            loop {
                match (&streams[i]).read(&mut buf) {
                    Ok(0) => {
                        ep.del(streams[i].as_raw_fd());
                        open -= 1;
                        break;
                    }
                    Ok(n) => counters[i].feed(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        ep.del(streams[i].as_raw_fd());
                        open -= 1;
                        break;
                    }
                }
            }
            if before == 0 && counters[i].msgs > 0 {
                unsynced -= 1;
            }
        }
        if !synced && unsynced == 0 {
            synced = true;
            say("synced");
        }
        loop {
            match lines.try_recv() {
                Ok(l) if l == "mark" => say(&format!("count {}", total(&counters))),
                Ok(l) if l == "stop" => {
                    say(&format!("received {}", total(&counters)));
                    return;
                }
                Ok(l) if l == "quit" => return,
                Ok(_) => {}
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
            }
        }
        let _ = open; // closed peers simply stop counting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_across_split_reads() {
        let mut stream = frame(&[1; 64]);
        stream.extend_from_slice(&[0x04, 4, 4, b'P', b'I', b'N']); // a command: not counted
        stream.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]); // LONG form
        stream.extend_from_slice(&[0x01, 1, 9]); // MORE ...
        stream.extend_from_slice(&frame(b"x")); // ... last part
        for split in 1..stream.len() {
            let mut c = FrameCounter::default();
            c.feed(&stream[..split]);
            c.feed(&stream[split..]);
            assert_eq!(c.msgs, 3, "split at {split}");
        }
    }
}
