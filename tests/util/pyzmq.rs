//! pyzmq as an interop peer: the `zmq` crate's vendored libzmq has no CURVE, pyzmq's
//! bundled libzmq has, so the security interop tests drive `tests/py/zmq_peer.py` (one
//! pyzmq socket, configured by flags; its module doc lists them) as a child process.
//!
//! Where python3 or pyzmq (with CURVE) is missing, [`require_or_skip`] says so and the test
//! returns early, unless `FERROZMQ_REQUIRE_PYZMQ=1` (set by `.ci/run`), when the test
//! fails instead: CI never passes these tests silently. The interpreter is `python3` from
//! the `PATH`, or `FERROZMQ_PYTHON` when set.
//!
//! Nothing sleeps: the peer prints `READY <endpoint>` once bound or connected, and every
//! further wait is for one of its lines, with a deadline. A [`PyPeer`] still running when
//! it is dropped is killed. The child writes no bytecode (`-B`, `PYTHONDONTWRITEBYTECODE`)
//! and no files, so the suite's private TMPDIR stays empty.
//!
//! Pass option values in the `--name=VALUE` form ([`opt`]): a Z85 key may start with `-`,
//! which python's argparse would otherwise take for an option.

use super::TIMEOUT;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The environment variable that turns a missing pyzmq into a failure (`1`).
pub const REQUIRE_ENV: &str = "FERROZMQ_REQUIRE_PYZMQ";

/// The environment variable naming the python interpreter (default `python3`).
pub const PYTHON_ENV: &str = "FERROZMQ_PYTHON";

/// How long to wait for one line of the peer (its own waits are bounded by [`TIMEOUT`],
/// so it normally reports a timeout of its own first, with a reason on stderr).
pub const LINE_DEADLINE: Duration = Duration::from_secs(2 * TIMEOUT.as_secs());

/// How long to wait for the peer to exit after its last expected line.
pub const EXIT_DEADLINE: Duration = Duration::from_secs(3 * TIMEOUT.as_secs());

/// The peer program.
pub fn script() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/zmq_peer.py")
}

/// The python interpreter to run.
pub fn python() -> OsString {
    std::env::var_os(PYTHON_ENV).unwrap_or_else(|| "python3".into())
}

/// A command running the interpreter without writing bytecode, with no stdin.
fn python_command() -> Command {
    let mut cmd = Command::new(python());
    cmd.arg("-B")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null());
    cmd
}

/// `--name=value`, one argument, safe for values that start with `-` (Z85 keys may).
pub fn opt(name: &str, value: impl std::fmt::Display) -> String {
    format!("{name}={value}")
}

/// A fresh CURVE key pair from pyzmq, `(public, secret)`, both Z85.
pub fn curve_keypair() -> (String, String) {
    const PROG: &str = "import zmq\np, s = zmq.curve_keypair()\nprint(p.decode(), s.decode())\n";
    let output = super::within(TIMEOUT, "pyzmq's curve_keypair", || {
        python_command()
            .args(["-c", PROG])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
    })
    .expect("run python for a key pair");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "zmq.curve_keypair() failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (public, secret) = text
        .trim_end_matches('\n')
        .split_once(' ')
        .expect("two keys");
    assert_eq!((public.len(), secret.len()), (40, 40), "Z85 keys: {text:?}");
    (public.to_owned(), secret.to_owned())
}

/// `Ok` when python3 runs and imports a pyzmq whose libzmq has CURVE; else why not.
/// Checked once per test process.
pub fn available() -> Result<(), String> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    CHECK.get_or_init(check).clone()
}

fn check() -> Result<(), String> {
    const PROBE: &str = "import sys, zmq\n\
        print(zmq.pyzmq_version(), zmq.zmq_version())\n\
        sys.exit(0 if zmq.has('curve') else 3)\n";
    let py = python();
    let output = super::within(TIMEOUT, "the pyzmq probe", move || {
        python_command()
            .args(["-c", PROBE])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
    })
    .map_err(|e| format!("cannot run {}: {e}", py.to_string_lossy()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => Ok(()),
        Some(3) => Err(format!(
            "pyzmq {} has no CURVE support (install a pyzmq wheel, whose libzmq has it)",
            stdout.trim()
        )),
        _ => Err(format!(
            "{} cannot import zmq ({}): {} (install it: python3 -m pip install --user pyzmq)",
            py.to_string_lossy(),
            output.status,
            stderr.trim().lines().last().unwrap_or("")
        )),
    }
}

/// Whether the test `test` may run: `true` when pyzmq is available. Otherwise panics when
/// `FERROZMQ_REQUIRE_PYZMQ=1`, else prints `SKIPPED <test>: <reason>` and returns `false`.
pub fn require_or_skip(test: &str) -> bool {
    super::init();
    match available() {
        Ok(()) => true,
        Err(reason) if std::env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1") => {
            panic!("{test}: pyzmq is required ({REQUIRE_ENV}=1) but unavailable: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIPPED {test}: {reason}");
            false
        }
    }
}

/// A running `zmq_peer.py`: its stdout arrives line by line, its stderr is collected for
/// failure messages. Killed when dropped if still running.
pub struct PyPeer {
    child: Child,
    args: Vec<String>,
    endpoint: String,
    lines: Receiver<String>,
    /// Every stdout line read so far (for failure messages).
    seen: Vec<String>,
    /// Lines read but not yet taken by a matching call.
    pending: VecDeque<String>,
    stderr: Arc<Mutex<String>>,
    /// Disconnected when stderr reaches its end.
    stderr_done: Receiver<()>,
}

impl std::fmt::Debug for PyPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyPeer")
            .field("args", &self.args)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl PyPeer {
    /// Starts `zmq_peer.py ARGS` and waits for its `READY <endpoint>` line. Unless `ARGS`
    /// has one, `--timeout-ms` is [`TIMEOUT`].
    #[track_caller]
    pub fn spawn<I, S>(args: I) -> PyPeer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut args: Vec<String> = args
            .into_iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        if !args.iter().any(|a| a == "--timeout-ms") {
            args.push("--timeout-ms".into());
            args.push(TIMEOUT.as_millis().to_string());
        }
        let mut child = python_command()
            .arg(script())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python().to_string_lossy()));
        let lines = read_lines(child.stdout.take().expect("piped stdout"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_done = collect(child.stderr.take().expect("piped stderr"), stderr.clone());
        let mut peer = PyPeer {
            child,
            args,
            endpoint: String::new(),
            lines,
            seen: Vec::new(),
            pending: VecDeque::new(),
            stderr,
            stderr_done,
        };
        let ready = peer.expect_line("READY", |l| l.starts_with("READY "));
        peer.endpoint = ready["READY ".len()..].to_owned();
        peer
    }

    /// The endpoint it bound (port resolved) or connected to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The next stdout line not yet taken, waited for up to [`LINE_DEADLINE`]; panics
    /// (with what the peer printed) at the deadline or when the peer ends its output.
    #[track_caller]
    pub fn next_line(&mut self, what: &str) -> String {
        self.expect_line(what, |_| true)
    }

    /// The next stdout line that is not an `event: ` line (a message the peer printed,
    /// with `--show-user-id` as `USER-ID<TAB>FRAMES`).
    #[track_caller]
    pub fn next_message(&mut self, what: &str) -> String {
        self.expect_line(what, |l| !l.starts_with("event: "))
    }

    /// Takes the first stdout line for which `wanted` holds, waiting for it up to
    /// [`LINE_DEADLINE`]. Lines it passes over are kept, in order, for later calls: so
    /// [`expect_event`](Self::expect_event) and [`next_message`](Self::next_message) may
    /// be called in any order even though the monitor's and the messages' lines interleave.
    #[track_caller]
    pub fn expect_line(&mut self, what: &str, mut wanted: impl FnMut(&str) -> bool) -> String {
        if let Some(i) = self.pending.iter().position(|l| wanted(l)) {
            return self.pending.remove(i).expect("a pending line");
        }
        let end = Instant::now() + LINE_DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                    self.pending.push_back(line);
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no line {what} within {LINE_DEADLINE:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("the peer ended its output before a line {what}"))
                }
            }
        }
    }

    /// Waits for an `event: NAME ...` line from the peer's monitor (`--monitor` or
    /// `--wait-event`) and returns its value (the status of `HANDSHAKE_FAILED_AUTH`).
    #[track_caller]
    pub fn expect_event(&mut self, name: &str) -> String {
        let prefix = format!("event: {name} ");
        let line = self.expect_line(&format!("`event: {name}`"), |l| l.starts_with(&prefix));
        line[prefix.len()..].to_owned()
    }

    /// Waits (up to [`EXIT_DEADLINE`]) for the peer to end its output and exit, and
    /// returns its status. Lines not yet taken are kept for failure messages.
    #[track_caller]
    pub fn wait(&mut self) -> ExitStatus {
        let end = Instant::now() + EXIT_DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("still running after {EXIT_DEADLINE:?}"))
                }
            }
        }
        // Its stdout is closed: the process is exiting, so this wait is short.
        let status = self.child.wait().expect("wait for the python peer");
        let _ = self.stderr_done.recv_timeout(TIMEOUT);
        status
    }

    /// Waits for the peer to exit and asserts that it succeeded.
    #[track_caller]
    pub fn wait_success(&mut self) {
        let status = self.wait();
        if !status.success() {
            self.fail(&format!("exited with {status}"));
        }
    }

    /// Waits for the peer to exit and asserts its exit code (2: it timed out).
    #[track_caller]
    pub fn wait_code(&mut self, code: i32) {
        let status = self.wait();
        if status.code() != Some(code) {
            self.fail(&format!("exited with {status}, expected code {code}"));
        }
    }

    /// What the peer printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    #[track_caller]
    fn fail(&mut self, what: &str) -> ! {
        // Give stderr a moment to catch up when the peer is ending (it explains why).
        let _ = self.stderr_done.recv_timeout(Duration::from_millis(500));
        panic!(
            "zmq_peer.py {:?}: {what}\nstdout lines: {:#?}\nstderr:\n{}",
            self.args,
            self.seen,
            self.stderr()
        )
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends each line of `pipe` (without its newline) as it arrives; disconnects at the end.
fn read_lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(pipe.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line);
            if tx.send(text.trim_end_matches('\n').to_owned()).is_err() {
                break;
            }
            line.clear();
        }
    });
    rx
}

/// Appends everything from `pipe` to `into`; the receiver disconnects at the end.
fn collect(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> Receiver<()> {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        let _tx = tx;
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    rx
}
