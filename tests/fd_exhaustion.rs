//! A listener that runs out of file descriptors while accepting (EMFILE) must survive,
//! must not spin, must say so on its monitor (ACCEPT_FAILED), and must serve peers again
//! once descriptors are free.
//!
//! The test re-runs its own binary as a child under `ulimit -n` ([`FD_LIMIT`]), selected by
//! the [`CHILD_ROLE`] environment variable, so the lowered limit touches no other test. The
//! child binds a PULL on `tcp://127.0.0.1:*`, prints `child: endpoint EP`, every monitor
//! event as `child: event EVENT ...` and every message count as `child: received N`, and
//! exits when its stdin closes. The parent floods it with raw TCP connections until the
//! child's descriptor table is full (seen in `/proc/PID/fd`), then checks it.
//!
//! What must stay true: every wait has a deadline, the only sleep is the CPU measurement
//! window (it measures, it does not synchronise), and the child never outlives the test
//! (killed on drop; it also exits when the parent's end of its stdin closes). Linux only:
//! it reads `/proc`.
#![cfg(target_os = "linux")]

mod util;

use ferrozmq::{Context, SocketType};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Set (to anything) in the child's environment: run the child's role, not the test.
const CHILD_ROLE: &str = "FERROZMQ_FD_EXHAUSTION_CHILD";

/// The child's RLIMIT_NOFILE.
const FD_LIMIT: usize = 64;

/// Raw connections the parent opens: more than the child can hold, fewer than the listen
/// backlog (100) can queue on top of what it accepted.
const RAW_CONNECTIONS: usize = FD_LIMIT + 16;

/// How long the child's CPU time is watched while it is out of descriptors.
const SPIN_WINDOW: Duration = Duration::from_secs(1);

#[test]
fn accept_survives_running_out_of_file_descriptors() {
    if std::env::var_os(CHILD_ROLE).is_some() {
        child_role();
    }
    util::init();
    let mut child = Exhausted::spawn();
    let endpoint = child.expect_line("child: endpoint ")["child: endpoint ".len()..].to_owned();

    // Fill the child's descriptor table: it accepts until EMFILE, the rest wait in the
    // kernel's backlog.
    let addr = endpoint.strip_prefix("tcp://").unwrap();
    let raw: Vec<TcpStream> = (0..RAW_CONNECTIONS)
        .map(|i| TcpStream::connect(addr).unwrap_or_else(|e| panic!("raw connection {i}: {e}")))
        .collect();
    child.wait_for_full_fd_table();

    // (a) and (b): alive, and not burning a core on accept while nothing can be accepted.
    child.assert_alive("once out of descriptors");
    let (cpu, wall) = child.cpu_over(SPIN_WINDOW);
    assert!(
        cpu < wall / 2,
        "the child spins while out of descriptors: {cpu:?} of CPU in {wall:?}"
    );
    child.assert_alive("after the CPU window");

    // (c): the monitor says why it is not accepting.
    child.expect_line("child: event ACCEPT_FAILED ");

    // (d): with descriptors free again, a real peer is served.
    drop(raw);
    let ctx = Context::new();
    let mut push = util::bounded_socket(&ctx, SocketType::Push, util::TIMEOUT);
    push.connect(&endpoint).expect("connect the PUSH");
    util::send(&mut push, "after the flood", "a message after the flood");
    child.expect_line("child: received 1");
    child.assert_alive("after serving a new peer");
    child.finish();
}

/// The child process seen from the parent: its stdout lines, as they come.
struct Exhausted {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, for [`Exhausted::expect_line`] and failure messages.
    seen: Vec<String>,
}

impl Exhausted {
    fn spawn() -> Exhausted {
        let exe = std::env::current_exe().expect("current_exe");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
            .arg(exe)
            .args([
                "--exact",
                "accept_survives_running_out_of_file_descriptors",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ROLE, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start the child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(mut line) = line else { break };
                // libtest's `test NAME ... ` has no newline before the child's first line.
                if let Some(start) = line.find("child: ") {
                    line.drain(..start);
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Exhausted {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line (seen so far or arriving within [`util::TIMEOUT`]) that starts with
    /// `prefix`.
    #[track_caller]
    fn expect_line(&mut self, prefix: &str) -> &str {
        let end = util::deadline(util::TIMEOUT);
        let found = loop {
            if let Some(i) = self.seen.iter().position(|l| l.starts_with(prefix)) {
                break i;
            }
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(e) => {
                    let status = self.child.try_wait();
                    panic!(
                        "no line `{prefix}...` from the child ({e}; exit status {status:?}); \
                         it printed: {:#?}",
                        self.seen
                    )
                }
            }
        };
        &self.seen[found]
    }

    /// Polls `/proc/PID/fd` (the kernel raises no event for it) until the child holds
    /// [`FD_LIMIT`] descriptors.
    #[track_caller]
    fn wait_for_full_fd_table(&mut self) {
        let dir = format!("/proc/{}/fd", self.child.id());
        let end = util::deadline(util::TIMEOUT);
        loop {
            self.assert_alive("while it fills its descriptor table");
            let open = std::fs::read_dir(&dir).map_or(0, Iterator::count);
            if open >= FD_LIMIT {
                return;
            }
            assert!(
                Instant::now() < end,
                "the child holds only {open} of {FD_LIMIT} descriptors after {:?} and \
                 {RAW_CONNECTIONS} connections",
                util::TIMEOUT
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// The child's CPU time (user + system) over about `window` of wall time, and that
    /// wall time.
    fn cpu_over(&self, window: Duration) -> (Duration, Duration) {
        let start = Instant::now();
        let before = self.cpu_time();
        // Measuring, not synchronising: the window is the measurement.
        thread::sleep(window);
        let after = self.cpu_time();
        (after.saturating_sub(before), start.elapsed())
    }

    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("read /proc/PID/stat");
        // Fields after the command name (which may hold spaces) start at field 3, state;
        // utime and stime are fields 14 and 15, in clock ticks.
        let rest = &stat[stat.rfind(')').expect("comm in /proc/PID/stat") + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }

    #[track_caller]
    fn assert_alive(&mut self, when: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            panic!(
                "the child died {when}: {status}; it printed: {:#?}",
                self.seen
            );
        }
    }

    /// Closes the child's stdin, which ends it, and checks that it exits cleanly.
    fn finish(mut self) {
        drop(self.stdin.take());
        let end = util::deadline(util::TIMEOUT);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < end,
                "the child did not exit after stdin closed"
            );
            // Polling the child with a deadline: std offers no wait with a timeout.
            thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "the child exited with {status}");
    }
}

impl Drop for Exhausted {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `getconf CLK_TCK`, or 100 (Linux's USER_HZ everywhere) if that cannot be run.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The child: a PULL that prints its endpoint, its monitor events and how many messages it
/// received, until its stdin closes. Never returns.
fn child_role() -> ! {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).expect("PULL");
    // No handshake limit: the raw connections, which never handshake, must keep their
    // descriptors for as long as the parent holds them.
    pull.set_handshake_ivl(None).expect("handshake_ivl");
    let monitor = pull.monitor();
    thread::spawn(move || {
        while let Ok(event) = monitor.recv() {
            say(&format!("child: event {event}"));
        }
    });
    thread::spawn(|| {
        // Ends the child when the parent closes our stdin (or dies).
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        std::process::exit(0);
    });
    pull.bind("tcp://127.0.0.1:*").expect("bind");
    say(&format!(
        "child: endpoint {}",
        pull.last_endpoint().expect("last_endpoint")
    ));
    let mut received = 0u64;
    loop {
        match pull.recv() {
            Ok(_) => {
                received += 1;
                say(&format!("child: received {received}"));
            }
            Err(e) => {
                say(&format!("child: recv failed: {e}"));
                std::process::exit(1);
            }
        }
    }
}

/// One line on stdout, flushed (the parent waits on it).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
