//! The perf tools (examples local_thr, remote_thr, local_lat, remote_lat, inproc_thr,
//! inproc_lat) keep libzmq's exact command lines and output lines, so one end of a
//! measurement can be libzmq's own tool. These tests run them with tiny counts and check every
//! line they print, character for character where libzmq's format is fixed.
//!
//! Cargo gives integration tests no path to examples, so (as tests/zmq_cat.rs on `tools`
//! does) the binaries are found next to this test's executable, in `<target>/<profile>/examples`,
//! after one `cargo build --example ...` with the same cargo, target dir and profile (a no-op
//! when they are up to date). Every child is killed at a deadline.

mod util;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const TOOLS: [&str; 6] = [
    "local_thr",
    "remote_thr",
    "local_lat",
    "remote_lat",
    "inproc_thr",
    "inproc_lat",
];
const DEADLINE: Duration = Duration::from_secs(60);
const COUNT: usize = 1000;

/// `<target>/<profile>/examples`, with the six tools built.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| util::build_examples(&TOOLS))
}

struct Running {
    child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    what: String,
}

#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn spawn(tool: &str, args: &[&str]) -> Running {
    spawn_env(tool, args, &[])
}

/// [`spawn`] with extra environment variables.
fn spawn_env(tool: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut child = Command::new(examples_dir().join(tool))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {tool}: {e}"));
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    Running {
        child,
        stdout,
        stderr,
        what: format!("{tool} {}", args.join(" ")),
    }
}

impl Running {
    /// Waits for the exit, killing the child at the deadline (and then failing).
    fn wait(self, deadline: Instant) -> Output {
        let what = self.what.clone();
        self.finish(deadline).unwrap_or_else(|out| {
            panic!(
                "`{what}` still running at its deadline; stdout {:?}, stderr {:?}",
                out.stdout, out.stderr
            )
        })
    }

    /// Waits for the exit: `Ok` with its output, or `Err` with what it printed if it was
    /// still running at the deadline (it is then killed).
    fn finish(mut self, deadline: Instant) -> Result<Output, Output> {
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let stdout = String::from_utf8_lossy(&self.stdout.join().unwrap()).into_owned();
        let stderr = String::from_utf8_lossy(&self.stderr.join().unwrap()).into_owned();
        let out = Output {
            code: status.and_then(|s| s.code()),
            stdout,
            stderr,
        };
        match status {
            Some(_) => Ok(out),
            None => Err(out),
        }
    }
}

/// Runs a local/remote pair: the local (binding) side first, then the remote.
fn run_pair(local: &str, remote: &str, endpoint: &str, size: usize) -> (Output, Output) {
    run_pair_env(local, remote, endpoint, size, &[])
}

/// [`run_pair`] with extra environment variables for both tools.
fn run_pair_env(
    local: &str,
    remote: &str,
    endpoint: &str,
    size: usize,
    env: &[(&str, &str)],
) -> (Output, Output) {
    let (size, count) = (size.to_string(), COUNT.to_string());
    let deadline = Instant::now() + DEADLINE;
    let l = spawn_env(local, &[endpoint, &size, &count], env);
    // No wait for the bind: the remote's connect is retried until the local side listens.
    let r = spawn_env(remote, &[endpoint, &size, &count], env);
    let r = r.wait(deadline);
    let l = l.wait(deadline);
    assert_eq!(r.code, Some(0), "{remote} failed: {r:?}");
    assert_eq!(l.code, Some(0), "{local} failed: {l:?}");
    (l, r)
}

fn free_tcp() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    format!("tcp://{}", l.local_addr().unwrap())
}

// --- line checks -----------------------------------------------------------------------------

/// `N` — a plain non-negative integer.
fn is_int(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `X.XXX` — printf's `%.3f` of a non-negative number.
fn is_fixed3(s: &str) -> bool {
    match s.split_once('.') {
        Some((i, f)) => is_int(i) && f.len() == 3 && is_int(f),
        None => false,
    }
}

/// Checks `line` is `prefix<value>suffix` with a value accepted by `ok`; returns the value.
fn field<'a>(line: &'a str, prefix: &str, suffix: &str, ok: fn(&str) -> bool) -> &'a str {
    let v = line
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("line {line:?} is not `{prefix}…{suffix}`"));
    assert!(ok(v), "line {line:?}: bad value {v:?}");
    v
}

fn lines(out: &str) -> Vec<&str> {
    assert!(
        out.ends_with('\n'),
        "output does not end with a newline: {out:?}"
    );
    out.lines().collect()
}

/// The four lines of local_thr / inproc_thr.
fn check_thr(out: &str, size: usize) {
    let l = lines(out);
    assert_eq!(l.len(), 4, "expected 4 lines, got {out:?}");
    assert_eq!(
        field(l[0], "message size: ", " [B]", is_int),
        size.to_string()
    );
    assert_eq!(
        field(l[1], "message count: ", "", is_int),
        COUNT.to_string()
    );
    let msgs: u64 = field(l[2], "mean throughput: ", " [msg/s]", is_int)
        .parse()
        .unwrap();
    assert!(msgs > 0, "zero throughput: {out:?}");
    let mbits: f64 = field(l[3], "mean throughput: ", " [Mb/s]", is_fixed3)
        .parse()
        .unwrap();
    // libzmq: megabits = throughput * size * 8 / 1e6
    let expect = (msgs * size as u64 * 8) as f64 / 1e6;
    assert!(
        (mbits - expect).abs() <= 0.0011 + expect * 1e-9,
        "Mb/s {mbits} does not match {msgs} msg/s × {size} B"
    );
}

/// The three lines of remote_lat / inproc_lat.
fn check_lat(out: &str, size: usize) {
    let l = lines(out);
    assert_eq!(l.len(), 3, "expected 3 lines, got {out:?}");
    assert_eq!(
        field(l[0], "message size: ", " [B]", is_int),
        size.to_string()
    );
    assert_eq!(
        field(l[1], "roundtrip count: ", "", is_int),
        COUNT.to_string()
    );
    let us: f64 = field(l[2], "average latency: ", " [us]", is_fixed3)
        .parse()
        .unwrap();
    assert!(us > 0.0, "zero latency: {out:?}");
}

// --- tests -----------------------------------------------------------------------------------

#[test]
fn thr_over_tcp() {
    let (local, remote) = run_pair("local_thr", "remote_thr", &free_tcp(), 64);
    check_thr(&local.stdout, 64);
    assert_eq!(
        remote.stdout, "",
        "remote_thr prints nothing, like libzmq's"
    );
}

/// `ZMQ_PERF_CURVE=1`: both tools run over CURVE with libzmq's test keys, command lines
/// unchanged.
#[test]
fn thr_over_tcp_with_curve() {
    let (local, remote) = run_pair_env(
        "local_thr",
        "remote_thr",
        &free_tcp(),
        64,
        &[("ZMQ_PERF_CURVE", "1")],
    );
    check_thr(&local.stdout, 64);
    assert_eq!(remote.stdout, "");
}

#[test]
fn lat_over_tcp_with_curve() {
    let (local, remote) = run_pair_env(
        "local_lat",
        "remote_lat",
        &free_tcp(),
        64,
        &[("ZMQ_PERF_CURVE", "1")],
    );
    check_lat(&remote.stdout, 64);
    assert_eq!(local.stdout, "");
}

/// One side on CURVE and the other on NULL never complete a handshake: the variable really
/// changes the mechanism. The NULL remote_thr queues its messages and waits for a peer
/// that never accepts it, so both are killed at a short deadline.
#[test]
fn curve_local_thr_refuses_a_null_remote_thr() {
    let ep = free_tcp();
    let deadline = Instant::now() + Duration::from_secs(2);
    let local = spawn_env("local_thr", &[&ep, "64", "10"], &[("ZMQ_PERF_CURVE", "1")]);
    let remote = spawn("remote_thr", &[&ep, "64", "10"]);
    for (what, run) in [("remote_thr", remote), ("local_thr", local)] {
        let result = run.finish(deadline);
        assert!(
            result.is_err(),
            "{what} finished: CURVE against NULL must not work: {result:?}"
        );
    }
}

#[test]
fn thr_over_ipc() {
    // Removes the socket file should the test kill the tools at their deadline.
    let ipc = util::IpcFile::fresh();
    let (local, remote) = run_pair("local_thr", "remote_thr", &ipc.endpoint(), 1024);
    check_thr(&local.stdout, 1024);
    assert_eq!(remote.stdout, "");
}

#[test]
fn lat_over_tcp() {
    let (local, remote) = run_pair("local_lat", "remote_lat", &free_tcp(), 64);
    check_lat(&remote.stdout, 64);
    assert_eq!(local.stdout, "", "local_lat prints nothing, like libzmq's");
}

#[test]
fn lat_over_ipc() {
    // Removes the socket file should the test kill the tools at their deadline.
    let ipc = util::IpcFile::fresh();
    let (local, remote) = run_pair("local_lat", "remote_lat", &ipc.endpoint(), 1);
    check_lat(&remote.stdout, 1);
    assert_eq!(local.stdout, "");
}

#[test]
fn inproc_thr_format() {
    let out = spawn("inproc_thr", &["64", &COUNT.to_string()]).wait(Instant::now() + DEADLINE);
    assert_eq!(out.code, Some(0), "{out:?}");
    check_thr(&out.stdout, 64);
}

#[test]
fn inproc_lat_format() {
    let out = spawn("inproc_lat", &["64", &COUNT.to_string()]).wait(Instant::now() + DEADLINE);
    assert_eq!(out.code, Some(0), "{out:?}");
    check_lat(&out.stdout, 64);
}

#[test]
fn wrong_arguments_print_usage_and_fail() {
    for tool in TOOLS {
        // every tool needs at least two arguments
        let out = spawn(tool, &["1"]).wait(Instant::now() + DEADLINE);
        assert_ne!(
            out.code,
            Some(0),
            "{tool} with too few arguments succeeded: {out:?}"
        );
        assert!(
            out.stderr.contains("usage:"),
            "{tool}: no usage line on stderr: {out:?}"
        );
        assert!(out.stdout.is_empty(), "{tool}: printed to stdout: {out:?}");
    }
}

#[test]
fn line_checkers_accept_libzmq_output_and_reject_others() {
    // Exactly what libzmq 4.3.4's local_thr and remote_lat print.
    check_thr("message size: 64 [B]\nmessage count: 1000\nmean throughput: 5000000 [msg/s]\nmean throughput: 2560.000 [Mb/s]\n", 64);
    check_lat(
        "message size: 64 [B]\nroundtrip count: 1000\naverage latency: 48.123 [us]\n",
        64,
    );
    for bad in [
        "message size: 64 B\nmessage count: 1000\nmean throughput: 5000000 [msg/s]\nmean throughput: 2560.000 [Mb/s]\n",
        "message size: 64 [B]\nmessage count: 1000\nmean throughput: 5000000.0 [msg/s]\nmean throughput: 2560.000 [Mb/s]\n",
        "message size: 64 [B]\nmessage count: 1000\nmean throughput: 5000000 [msg/s]\nmean throughput: 2560.0 [Mb/s]\n",
    ] {
        assert!(std::panic::catch_unwind(|| check_thr(bad, 64)).is_err(), "accepted {bad:?}");
    }
    assert!(std::panic::catch_unwind(|| check_lat(
        "message size: 64 [B]\nroundtrip count: 1000\naverage latency: 48 [us]\n",
        64
    ))
    .is_err());
}
