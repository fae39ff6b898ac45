//! Runs the `zmq_cat` example binary end to end: argument errors, exit codes, and real
//! message round trips between two `zmq_cat` processes over tcp and ipc.
//!
//! Cargo gives integration tests no `CARGO_BIN_EXE_*` path for examples, so the binary is
//! found next to this test's own executable: `<target>/<profile>/deps/zmq_cat-HASH` runs
//! this test, and the example lives at `<target>/<profile>/examples/zmq_cat`. A plain
//! `cargo test` already builds every example before it runs the tests; to stay correct
//! under `cargo test --test zmq_cat` (which builds no examples) and after an edit to the
//! example, the first test to need the binary runs `cargo build --example zmq_cat` once,
//! with the same cargo, target directory and profile. When the example is up to date that
//! build is a no-op that takes a fraction of a second.
//!
//! Every wait on a child process is bounded: a child still running at its deadline is
//! killed and the test fails with whatever the child printed. A child whose test ends
//! (or fails) before it exits is killed, so no test leaves a process behind.
//!
//! The `--monitor`, heartbeat and handshake tests bind `tcp://127.0.0.1:*` and learn the
//! port from the `monitor: LISTENING` line, as it is printed, so they race no other
//! process for a port.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use util::raw;

/// How long any one `zmq_cat` run may take before the test gives up on it.
const DEADLINE: Duration = Duration::from_secs(30);

/// Path of the `zmq_cat` example, built (once per test process) if needed.
fn zmq_cat_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        util::build_examples(&["zmq_cat"]).join(format!("zmq_cat{}", std::env::consts::EXE_SUFFIX))
    })
}

/// What a finished `zmq_cat` printed and how it exited.
#[derive(Debug)]
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Output {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// A running `zmq_cat` whose output is collected in the background (so that a full pipe
/// never stalls it). Its stderr also arrives line by line in `stderr_lines` as it is
/// printed. Dropping it kills the process if it is still running.
struct Running {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    stderr_lines: mpsc::Receiver<String>,
    args: Vec<String>,
}

/// Starts `zmq_cat ARGS` and feeds it `input` on stdin (closed afterwards).
fn spawn(args: &[&str], input: &[u8]) -> Running {
    let (running, mut stdin) = spawn_with_stdin(args);
    // A child that exits early closes the pipe: a failed write is then expected.
    let _ = stdin.write_all(input);
    drop(stdin);
    running
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Like [`read_all`], and also sends each line (without its newline) as it arrives.
fn read_lines(pipe: impl Read + Send + 'static) -> (JoinHandle<Vec<u8>>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut pipe = BufReader::new(pipe);
        let mut all = Vec::new();
        let mut line = Vec::new();
        while matches!(pipe.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            all.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line);
            // Nobody watching the lines is fine: they are kept in `all` as well.
            let _ = tx.send(text.trim_end_matches('\n').to_owned());
            line.clear();
        }
        all
    });
    (reader, rx)
}

/// Starts `zmq_cat ARGS` and hands back its stdin, still open, to write to.
fn spawn_with_stdin(args: &[&str]) -> (Running, ChildStdin) {
    let mut child = Command::new(zmq_cat_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start zmq_cat");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = read_all(child.stdout.take().expect("stdout"));
    let (stderr, stderr_lines) = read_lines(child.stderr.take().expect("stderr"));
    let running = Running {
        child,
        stdout: Some(stdout),
        stderr: Some(stderr),
        stderr_lines,
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    (running, stdin)
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Running {
    /// Whether the process has exited.
    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits (up to [`util::TIMEOUT`]) for the next stderr line that starts with `prefix`,
    /// skipping others, and returns it. Lines are taken in the order printed, so two
    /// calls in a row also check the order of the two lines.
    #[track_caller]
    fn expect_stderr(&mut self, prefix: &str) -> String {
        let end = Instant::now() + util::TIMEOUT;
        let mut skipped = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) => skipped.push(line),
                Err(e) => {
                    let exited = self.exited();
                    panic!(
                        "zmq_cat {:?}: no stderr line starting with {prefix:?} ({e}); \
                         other lines since the last match: {skipped:?}; exited: {exited}",
                        self.args
                    )
                }
            }
        }
    }

    /// Waits for the next `monitor: EVENT ENDPOINT` or `monitor: EVENT ENDPOINT DETAIL` line
    /// for exactly this event and endpoint (so `...:4288` does not match `...:42889`).
    #[track_caller]
    fn expect_event(&mut self, event: &str, endpoint: &str) -> String {
        let line = format!("monitor: {event} {endpoint}");
        let found = self.expect_stderr(&line);
        assert!(
            found.len() == line.len() || found[line.len()..].starts_with(' '),
            "expected `{line}` with or without a detail, got `{found}`"
        );
        found
    }

    /// Waits for `monitor: LISTENING tcp://...` and returns the endpoint, port resolved.
    #[track_caller]
    fn listening_endpoint(&mut self) -> String {
        let line = self.expect_stderr("monitor: LISTENING tcp://127.0.0.1:");
        line.split(' ')
            .nth(2)
            .expect("LISTENING has an endpoint")
            .to_owned()
    }

    /// Waits until the process exits, for at most [`DEADLINE`].
    fn wait(mut self) -> Output {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            // Polling the child with a deadline: std offers no wait with a timeout.
            thread::sleep(Duration::from_millis(10));
        };
        let join = |h: Option<JoinHandle<Vec<u8>>>| {
            String::from_utf8_lossy(&h.expect("joined once").join().unwrap()).into_owned()
        };
        let stdout = join(self.stdout.take());
        let stderr = join(self.stderr.take());
        match status {
            Some(status) => Output {
                status,
                stdout,
                stderr,
            },
            None => panic!(
                "zmq_cat {:?} still running after {DEADLINE:?}; stdout: {stdout:?}; stderr: {stderr:?}",
                self.args
            ),
        }
    }
}

/// Runs `zmq_cat ARGS` with `input` on stdin and waits for it.
fn run(args: &[&str], input: &[u8]) -> Output {
    spawn(args, input).wait()
}

/// A TCP port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// A fresh ipc endpoint whose socket file is removed when the guard drops: zmq_cat's socket
/// removes it when it closes, but not if the test kills the process at its deadline.
fn ipc_endpoint() -> (String, util::IpcFile) {
    let file = util::IpcFile::fresh();
    (file.endpoint(), file)
}

fn assert_exit(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.code(),
        Some(code),
        "{what}: expected exit {code}; stdout: {:?}; stderr: {:?}",
        output.stdout,
        output.stderr
    );
}

#[test]
fn bad_arguments_exit_2() {
    let cases: &[(&str, &[&str])] = &[
        ("no arguments", &[]),
        (
            "unknown socket type",
            &["frob", "--bind", "inproc://a", "--mode", "recv"],
        ),
        ("missing --mode", &["pull", "--bind", "inproc://a"]),
        (
            "unknown mode",
            &["pull", "--bind", "inproc://a", "--mode", "listen"],
        ),
        (
            "mode the type cannot do",
            &["pull", "--connect", "tcp://127.0.0.1:1", "--mode", "send"],
        ),
        (
            "req outside request mode",
            &["req", "--connect", "inproc://a", "--mode", "send"],
        ),
        ("no endpoint", &["push", "--mode", "send"]),
        (
            "bad number",
            &[
                "pull",
                "--bind",
                "inproc://a",
                "--mode",
                "recv",
                "--count",
                "many",
            ],
        ),
        ("missing value", &["pull", "--mode", "recv", "--bind"]),
        (
            "unknown option",
            &["pull", "--bind", "inproc://a", "--mode", "recv", "--frob"],
        ),
        (
            "bad hex identity",
            &[
                "pull",
                "--bind",
                "inproc://a",
                "--mode",
                "recv",
                "--hex",
                "--identity",
                "zz",
            ],
        ),
        (
            "subscribe on a pull socket",
            &[
                "pull",
                "--bind",
                "inproc://a",
                "--mode",
                "recv",
                "--subscribe",
                "x",
            ],
        ),
        (
            "malformed endpoint",
            &[
                "pull",
                "--connect",
                "tcp://x",
                "--mode",
                "recv",
                "--timeout-ms",
                "100",
            ],
        ),
        (
            "unknown transport",
            &[
                "pull",
                "--connect",
                "foo://bar",
                "--mode",
                "recv",
                "--timeout-ms",
                "100",
            ],
        ),
    ];
    for (what, args) in cases {
        let output = run(args, b"");
        assert_exit(&output, 2, what);
        assert!(!output.stderr.is_empty(), "{what}: nothing on stderr");
    }
}

#[test]
fn help_exits_0() {
    let output = run(&["--help"], b"");
    assert_exit(&output, 0, "--help");
    assert!(
        output.stdout.contains("usage: zmq_cat"),
        "{:?}",
        output.stdout
    );
}

#[test]
fn push_to_pull_over_tcp_round_trips_text() {
    let input = "hello\nmulti\tframe\tmessage\n\n\u{fc}nic\u{f6}de \u{2713}\nlast\n";
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let receiver = spawn(
        &[
            "pull",
            "--bind",
            &endpoint,
            "--mode",
            "recv",
            "--count",
            "5",
            "--timeout-ms",
            "20000",
        ],
        b"",
    );
    let sender = run(
        &["push", "--connect", &endpoint, "--mode", "send"],
        input.as_bytes(),
    );
    let received = receiver.wait();
    assert_exit(&sender, 0, "push --mode send");
    assert_exit(&received, 0, "pull --mode recv");
    assert_eq!(received.stdout, input);
}

#[test]
fn push_to_pull_over_ipc_round_trips_hex() {
    // Frames with a NUL, a newline, a TAB and bytes that are not UTF-8; an empty frame in
    // the middle; a message of one empty frame.
    let input = "00ff0a09\t\t68656c6c6f\n\ndeadbeef\tc3\n";
    let (endpoint, _ipc) = ipc_endpoint();
    let receiver = spawn(
        &[
            "pull",
            "--bind",
            &endpoint,
            "--mode",
            "recv",
            "--count",
            "3",
            "--hex",
            "--timeout-ms",
            "20000",
        ],
        b"",
    );
    let sender = run(
        &["push", "--connect", &endpoint, "--mode", "send", "--hex"],
        input.as_bytes(),
    );
    let received = receiver.wait();
    assert_exit(&sender, 0, "push --mode send --hex");
    assert_exit(&received, 0, "pull --mode recv --hex");
    assert_eq!(received.stdout, input);
}

#[test]
fn pair_request_against_pair_echo() {
    let input = "ping\tone\n\nping two\n";
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let echo = spawn(
        &[
            "pair",
            "--bind",
            &endpoint,
            "--mode",
            "echo",
            "--count",
            "3",
            "--timeout-ms",
            "20000",
        ],
        b"",
    );
    let requester = run(
        &[
            "pair",
            "--connect",
            &endpoint,
            "--mode",
            "request",
            "--timeout-ms",
            "20000",
        ],
        input.as_bytes(),
    );
    let echoed = echo.wait();
    assert_exit(&requester, 0, "pair --mode request");
    assert_exit(&echoed, 0, "pair --mode echo");
    assert_eq!(requester.stdout, input);
    assert_eq!(echoed.stdout, "");
}

#[test]
fn bad_hex_on_stdin_is_an_error() {
    let (endpoint, _ipc) = ipc_endpoint();
    let output = run(
        &[
            "push",
            "--bind",
            &endpoint,
            "--mode",
            "send",
            "--hex",
            "--linger-ms",
            "0",
        ],
        b"abc\n",
    );
    assert_exit(&output, 1, "odd-length hex on stdin");
    assert!(output.stderr.contains("hex"), "{:?}", output.stderr);
}

#[test]
fn recv_without_peer_times_out_with_exit_3() {
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let output = run(
        &[
            "pull",
            "--bind",
            &endpoint,
            "--mode",
            "recv",
            "--timeout-ms",
            "200",
        ],
        b"",
    );
    assert_exit(&output, 3, "recv --timeout-ms 200 without a peer");
    assert!(output.stderr.contains("timed out"), "{:?}", output.stderr);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

/// Runs a PULL that binds a tcp address another socket holds, with `extra` options;
/// returns its output and the endpoint.
fn pull_bound_to_an_address_in_use(extra: &[&str]) -> (Output, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let mut args = vec![
        "pull",
        "--bind",
        &endpoint,
        "--mode",
        "recv",
        "--timeout-ms",
        "5000",
    ];
    args.extend_from_slice(extra);
    let output = run(&args, b"");
    drop(listener);
    (output, endpoint)
}

#[test]
fn bind_to_address_in_use_exits_1() {
    let (output, _) = pull_bound_to_an_address_in_use(&[]);
    assert_exit(&output, 1, "bind to an address in use");
    assert!(output.stderr.contains("in use"), "{:?}", output.stderr);
}

#[test]
fn req_against_rep_echo() {
    let input = "first\n\nthird\tpart\n";
    let (endpoint, _ipc) = ipc_endpoint();
    let echo = spawn(
        &[
            "rep",
            "--bind",
            &endpoint,
            "--mode",
            "echo",
            "--count",
            "3",
            "--timeout-ms",
            "20000",
        ],
        b"",
    );
    let requester = run(
        &[
            "req",
            "--connect",
            &endpoint,
            "--mode",
            "request",
            "--timeout-ms",
            "20000",
        ],
        input.as_bytes(),
    );
    let echoed = echo.wait();
    assert_exit(&requester, 0, "req --mode request");
    assert_exit(&echoed, 0, "rep --mode echo");
    assert_eq!(requester.stdout, input);
}

#[test]
fn router_echo_returns_to_each_dealer() {
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let router = spawn(
        &[
            "router",
            "--bind",
            &endpoint,
            "--mode",
            "echo",
            "--count",
            "4",
            "--timeout-ms",
            "20000",
        ],
        b"",
    );
    let dealers: Vec<Running> = ["alpha", "beta"]
        .iter()
        .map(|id| {
            let input = format!("{id}\tone\n{id}\ttwo\n");
            spawn(
                &[
                    "dealer",
                    "--connect",
                    &endpoint,
                    "--identity",
                    id,
                    "--mode",
                    "request",
                    "--timeout-ms",
                    "20000",
                ],
                input.as_bytes(),
            )
        })
        .collect();
    for (dealer, id) in dealers.into_iter().zip(["alpha", "beta"]) {
        let output = dealer.wait();
        assert_exit(&output, 0, "dealer --mode request");
        assert_eq!(output.stdout, format!("{id}\tone\n{id}\ttwo\n"));
    }
    assert_exit(&router.wait(), 0, "router --mode echo");
}

#[test]
fn router_shows_the_dealer_identity_first() {
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let router = spawn(
        &[
            "router",
            "--bind",
            &endpoint,
            "--mode",
            "recv",
            "--count",
            "1",
            "--hex",
            "--timeout-ms",
            "20000",
        ],
        b"",
    );
    let dealer = run(
        &[
            "dealer",
            "--connect",
            &endpoint,
            "--mode",
            "send",
            "--hex",
            "--identity",
            "ff00",
        ],
        b"6869\n",
    );
    let received = router.wait();
    assert_exit(&dealer, 0, "dealer --mode send --hex");
    assert_exit(&received, 0, "router --mode recv --hex");
    assert_eq!(received.stdout, "ff00\t6869\n");
}

#[test]
fn sub_receives_only_its_prefix() {
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let mut subscriber = spawn(
        &[
            "sub",
            "--bind",
            &endpoint,
            "--mode",
            "recv",
            "--subscribe",
            "a",
            "--count",
            "3",
            "--timeout-ms",
            "20000",
        ],
        b"",
    );
    let (publisher, mut stdin) = spawn_with_stdin(&[
        "pub",
        "--connect",
        &endpoint,
        "--mode",
        "send",
        "--linger-ms",
        "0",
    ]);
    // PUB drops what it sends before the subscription reaches it, so keep publishing until
    // the subscriber has its three messages (or the deadline passes).
    let start = Instant::now();
    while !subscriber.exited() && start.elapsed() < DEADLINE {
        if stdin.write_all(b"b-skip\na-keep\n").is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let received = subscriber.wait();
    let published = publisher.wait();
    assert_exit(&received, 0, "sub --mode recv --subscribe a");
    assert_exit(&published, 0, "pub --mode send");
    assert_eq!(received.stdout, "a-keep\n".repeat(3));
}

#[test]
fn bad_liveness_values_exit_2() {
    let base = ["pull", "--bind", "inproc://a", "--mode", "recv"];
    let cases: &[(&str, &[&str])] = &[
        (
            "heartbeat interval not a number",
            &["--heartbeat-ivl", "often"],
        ),
        ("negative heartbeat interval", &["--heartbeat-ivl", "-5"]),
        (
            "heartbeat interval over libzmq's int",
            &["--heartbeat-ivl", "2147483648"],
        ),
        (
            "heartbeat timeout of 0",
            &["--heartbeat-ivl", "100", "--heartbeat-timeout", "0"],
        ),
        (
            "heartbeat timeout not a number",
            &["--heartbeat-ivl", "100", "--heartbeat-timeout", "1s"],
        ),
        (
            "heartbeat timeout without heartbeats",
            &["--heartbeat-timeout", "100"],
        ),
        (
            "heartbeat TTL over a u16 of deciseconds",
            &["--heartbeat-ivl", "100", "--heartbeat-ttl", "6553600"],
        ),
        (
            "heartbeat TTL without heartbeats",
            &["--heartbeat-ivl", "0", "--heartbeat-ttl", "1000"],
        ),
        ("handshake interval not a number", &["--handshake-ivl", "x"]),
        (
            "handshake interval that overflows u64",
            &["--handshake-ivl", "18446744073709551616"],
        ),
        ("missing value", &["--handshake-ivl"]),
        ("--monitor takes no value", &["--monitor", "yes"]),
    ];
    for (what, extra) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let output = run(&args, b"");
        assert_exit(&output, 2, what);
        assert!(!output.stderr.is_empty(), "{what}: nothing on stderr");
    }
}

#[test]
fn monitor_prints_a_peer_arriving_and_leaving() {
    let mut pull = spawn(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "--mode",
            "recv",
            "--count",
            "1",
            "--timeout-ms",
            "20000",
            "--monitor",
        ],
        b"",
    );
    let endpoint = pull.listening_endpoint();

    // A peer that completes the handshake and goes away.
    let first = raw::raw_handshake(&endpoint, "PUSH");
    pull.expect_event("ACCEPTED", &endpoint);
    pull.expect_event("HANDSHAKE_SUCCEEDED", &endpoint);
    drop(first);
    pull.expect_event("DISCONNECTED", &endpoint);

    // A second one sends the message that ends the run, which must exit cleanly.
    let _second = raw::raw_peer(&endpoint, "PUSH", b"bye");
    let output = pull.wait();
    assert_exit(&output, 0, "pull --monitor --count 1");
    assert_eq!(output.stdout, "bye\n");
    assert!(
        output
            .stderr
            .lines()
            .all(|l| l.starts_with("monitor: ") && l.split(' ').count() >= 3),
        "every stderr line is `monitor: EVENT ENDPOINT [DETAIL]`: {:?}",
        output.stderr
    );
}

#[test]
fn monitor_events_are_printed_before_a_failed_exit() {
    let (output, endpoint) = pull_bound_to_an_address_in_use(&["--monitor"]);
    assert_exit(&output, 1, "bind to an address in use, with --monitor");
    let lines: Vec<&str> = output.stderr.lines().collect();
    let event = lines
        .iter()
        .position(|l| l.starts_with(&format!("monitor: BIND_FAILED {endpoint} ")));
    let error = lines
        .iter()
        .position(|l| l.starts_with("zmq_cat: cannot bind"));
    assert!(
        matches!((event, error), (Some(e), Some(f)) if e < f),
        "BIND_FAILED, then the error: {lines:?}"
    );
}

#[test]
fn handshake_ivl_closes_a_peer_that_sends_nothing() {
    let mut pull = spawn(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "--mode",
            "recv",
            "--timeout-ms",
            "20000",
            "--monitor",
            "--handshake-ivl",
            "200",
        ],
        b"",
    );
    let endpoint = pull.listening_endpoint();
    let mut silent =
        TcpStream::connect(endpoint.strip_prefix("tcp://").unwrap()).expect("connect to zmq_cat");
    // The default limit (30 s) is past the wait in `expect_closed` (util::TIMEOUT), so
    // only --handshake-ivl can close the connection in time.
    raw::expect_closed(
        &mut silent,
        "--handshake-ivl 200 and a peer that sends nothing",
    );
}

#[test]
fn heartbeat_ivl_pings_a_silent_peer_with_the_ttl_and_times_it_out() {
    let mut pull = spawn(
        &[
            "pull",
            "--bind",
            "tcp://127.0.0.1:*",
            "--mode",
            "recv",
            "--timeout-ms",
            "20000",
            "--monitor",
            "--heartbeat-ivl",
            "100",
            "--heartbeat-timeout",
            "300",
            "--heartbeat-ttl",
            "2399",
        ],
        b"",
    );
    let endpoint = pull.listening_endpoint();
    // Handshake, then silence: zmq_cat hears nothing after our READY.
    let mut peer = raw::raw_handshake(&endpoint, "PUSH");
    let end = Instant::now() + util::TIMEOUT;
    let mut before = Vec::new();
    let ping = loop {
        assert!(
            Instant::now() < end,
            "no PING within {:?}; frames: {before:?}",
            util::TIMEOUT
        );
        let frame = raw::read_frame(&mut peer).unwrap_or_else(|e| {
            panic!("no PING from zmq_cat --heartbeat-ivl 100 ({e}); frames: {before:?}")
        });
        match frame.command() {
            Some((b"PING", data)) => break data.to_vec(),
            _ => before.push(frame),
        }
    };
    assert!(ping.len() >= 2, "PING without a TTL: {ping:?}");
    let ttl = u16::from_be_bytes([ping[0], ping[1]]);
    assert_eq!(ttl, 23, "--heartbeat-ttl 2399 is 23 deciseconds");
    // Still silent: --heartbeat-timeout closes the connection.
    raw::expect_closed(
        &mut peer,
        "--heartbeat-timeout 300 after an unanswered PING",
    );
}

// --- security: PLAIN, CURVE and the --zap-* rules ----------------------------------------

/// libzmq's well-known test keys (also the perf tools' CURVE keys): never use them for
/// anything real.
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

/// Starts `zmq_cat ARGS --bind tcp://127.0.0.1:* --monitor` and returns it with the bound
/// endpoint, learnt from its LISTENING line.
fn spawn_bound(args: &[&str]) -> (Running, String) {
    let mut all = args.to_vec();
    all.extend(["--bind", "tcp://127.0.0.1:*", "--monitor"]);
    let mut running = spawn(&all, b"");
    let endpoint = running.listening_endpoint();
    (running, endpoint)
}

/// A PUSH that sends `input` to `endpoint` with the extra `security` options, and exits
/// once all of it is delivered.
fn push_to(endpoint: &str, security: &[&str], input: &[u8]) -> Running {
    let mut args = vec!["push", "--connect", endpoint, "--mode", "send"];
    args.extend(security);
    spawn(&args, input)
}

/// A PUSH that connects to `endpoint` with `security` and stays (its stdin open, sending
/// nothing) until it has printed `monitor: EVENT ENDPOINT ...`; returned still running.
fn push_until_event(endpoint: &str, security: &[&str], event: &str) -> (Running, ChildStdin) {
    let mut args = vec!["push", "--connect", endpoint, "--mode", "send", "--monitor"];
    args.extend(security);
    let (mut push, stdin) = spawn_with_stdin(&args);
    push.expect_event(event, endpoint);
    (push, stdin)
}

#[test]
fn plain_allowed_user_is_shown_as_user_id() {
    let (pull, endpoint) = spawn_bound(&[
        "pull",
        "--mode",
        "recv",
        "--count",
        "2",
        "--show-user-id",
        "--plain-server",
        "--zap-allow-plain",
        "guest:guest",
        "--zap-allow-plain",
        "admin:se:cret",
    ]);
    let push = push_to(
        &endpoint,
        &["--plain-user", "admin", "--plain-password", "se:cret"],
        b"hello\ttwo frames\nbye\n",
    );
    assert_exit(&push.wait(), 0, "PLAIN client with allowed credentials");
    let output = pull.wait();
    assert_exit(&output, 0, "PLAIN server");
    assert_eq!(output.stdout, "admin\thello\ttwo frames\nadmin\tbye\n");
}

#[test]
fn plain_without_zap_admits_everyone_and_null_has_no_user_id() {
    // No --zap-* option: the library admits the client and sets User-Id itself.
    let (pull, endpoint) = spawn_bound(&[
        "pull",
        "--mode",
        "recv",
        "--count",
        "1",
        "--show-user-id",
        "--plain-server",
    ]);
    let push = push_to(&endpoint, &["--plain-user", "anyone"], b"x\n");
    assert_exit(&push.wait(), 0, "PLAIN client without a password");
    assert_eq!(pull.wait().stdout, "anyone\tx\n");

    let (pull, endpoint) =
        spawn_bound(&["pull", "--mode", "recv", "--count", "1", "--show-user-id"]);
    assert_exit(&push_to(&endpoint, &[], b"y\n").wait(), 0, "NULL push");
    assert_eq!(pull.wait().stdout, "\ty\n", "NULL: an empty User-Id field");
}

#[test]
fn plain_wrong_password_is_refused_and_the_server_keeps_serving() {
    let (mut pull, endpoint) = spawn_bound(&[
        "pull",
        "--mode",
        "recv",
        "--count",
        "1",
        "--show-user-id",
        "--plain-server",
        "--zap-allow-plain",
        "admin:secret",
    ]);
    // The refused client learns it from the server's ERROR.
    let (refused, _stdin) = push_until_event(
        &endpoint,
        &["--plain-user", "admin", "--plain-password", "wrong"],
        "HANDSHAKE_FAILED_AUTH",
    );
    pull.expect_event("HANDSHAKE_FAILED_AUTH", &endpoint);
    drop(refused);
    // Its one message (--count 1) is the allowed client's: nothing came from the other.
    let push = push_to(
        &endpoint,
        &["--plain-user", "admin", "--plain-password", "secret"],
        b"ok\n",
    );
    assert_exit(&push.wait(), 0, "allowed PLAIN client");
    let output = pull.wait();
    assert_exit(&output, 0, "PLAIN server");
    assert_eq!(output.stdout, "admin\tok\n");
}

#[test]
fn zap_deny_addr_refuses_a_null_peer() {
    let (mut pull, endpoint) =
        spawn_bound(&["pull", "--mode", "recv", "--zap-deny-addr", "127.0.0.1"]);
    let (refused, _stdin) = push_until_event(&endpoint, &[], "HANDSHAKE_FAILED_AUTH");
    pull.expect_event("HANDSHAKE_FAILED_AUTH", &endpoint);
    drop(refused);
    drop(pull);

    // Another address in the list leaves 127.0.0.1 admitted.
    let (pull, endpoint) = spawn_bound(&[
        "pull",
        "--mode",
        "recv",
        "--count",
        "1",
        "--zap-deny-addr",
        "192.0.2.1",
    ]);
    assert_exit(&push_to(&endpoint, &[], b"in\n").wait(), 0, "NULL push");
    assert_eq!(pull.wait().stdout, "in\n");
}

#[test]
fn bad_security_options_exit_2() {
    let base = ["pull", "--bind", "tcp://127.0.0.1:*", "--mode", "recv"];
    let cases: &[(&str, &[&str])] = &[
        ("short key", &["--curve-serverkey", "abc"]),
        (
            "non-Z85 key",
            &[
                "--curve-serverkey",
                "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y~7",
            ],
        ),
        (
            "key above 2^32 in a group",
            &[
                "--curve-serverkey",
                "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%",
            ],
        ),
        ("bad secret key", &["--curve-server", "--curve-secret", "x"]),
        (
            "bad allowed key",
            &[
                "--curve-server",
                "--curve-secret",
                SERVER_SECRET,
                "--zap-allow-curve",
                "0",
            ],
        ),
        ("server without secret", &["--curve-server"]),
        ("secret without a role", &["--curve-secret", SERVER_SECRET]),
        (
            "two roles",
            &["--plain-server", "--curve-serverkey", SERVER_PUBLIC],
        ),
        ("password without user", &["--plain-password", "p"]),
        (
            "allow-plain without a colon",
            &["--plain-server", "--zap-allow-plain", "admin"],
        ),
        (
            "allow-plain on a non-PLAIN server",
            &["--zap-allow-plain", "a:b"],
        ),
        (
            "allow-curve on a non-CURVE server",
            &["--plain-server", "--zap-allow-curve", CLIENT_PUBLIC],
        ),
        ("bad address", &["--zap-deny-addr", "localhost"]),
    ];
    for (what, extra) in cases {
        let mut args = base.to_vec();
        args.extend(*extra);
        let output = run(&args, b"");
        assert_exit(&output, 2, what);
        assert!(
            output.stderr.contains("zmq_cat: "),
            "{what}: {:?}",
            output.stderr
        );
        assert!(
            !output.stderr.contains(SERVER_SECRET),
            "{what}: a secret key on stderr: {:?}",
            output.stderr
        );
    }
    let output = run(
        &[
            "push",
            "--connect",
            "tcp://127.0.0.1:1",
            "--mode",
            "send",
            "--show-user-id",
        ],
        b"",
    );
    assert_exit(&output, 2, "--show-user-id outside recv mode");
}

/// A CURVE server and client, each in both bind directions: the role comes from the
/// options, so a binding client and a connecting server work as well as the usual way.
#[test]
fn curve_server_and_client_in_both_bind_directions_show_the_client_key() {
    let server = ["--curve-server", "--curve-secret", SERVER_SECRET];
    let client = [
        "--curve-serverkey",
        SERVER_PUBLIC,
        "--curve-secret",
        CLIENT_SECRET,
    ];
    let recv = ["pull", "--mode", "recv", "--count", "1", "--show-user-id"];

    // The server binds and receives.
    let (pull, endpoint) = spawn_bound(&[&recv[..], &server[..]].concat());
    assert_exit(
        &push_to(&endpoint, &client, b"bound server\n").wait(),
        0,
        "CURVE client connecting",
    );
    let output = pull.wait();
    assert_exit(&output, 0, "CURVE server binding");
    assert_eq!(output.stdout, format!("{CLIENT_PUBLIC}\tbound server\n"));

    // The client binds and receives; the server connects and sends. The User-Id is the
    // client's key on the server side only: here the receiver is the client.
    let (pull, endpoint) = spawn_bound(&[&recv[..], &client[..]].concat());
    assert_exit(
        &push_to(&endpoint, &server, b"bound client\n").wait(),
        0,
        "CURVE server connecting",
    );
    let output = pull.wait();
    assert_exit(&output, 0, "CURVE client binding");
    assert_eq!(output.stdout, "\tbound client\n");

    // The server binds and sends; a connecting client with a fresh key pair receives.
    let (mut push, mut stdin) = spawn_with_stdin(&[
        "push",
        "--bind",
        "tcp://127.0.0.1:*",
        "--mode",
        "send",
        "--monitor",
        "--curve-server",
        "--curve-secret",
        SERVER_SECRET,
    ]);
    let endpoint = push.listening_endpoint();
    let pull = spawn(
        &[
            "pull",
            "--connect",
            &endpoint,
            "--mode",
            "recv",
            "--count",
            "1",
            "--curve-serverkey",
            SERVER_PUBLIC,
        ],
        b"",
    );
    push.expect_event("HANDSHAKE_SUCCEEDED", &endpoint);
    stdin.write_all(b"to a fresh key\n").unwrap();
    drop(stdin);
    assert_exit(&push.wait(), 0, "CURVE server sending");
    assert_eq!(pull.wait().stdout, "to a fresh key\n");
}

#[test]
fn zap_allow_curve_admits_only_the_listed_key() {
    let (mut pull, endpoint) = spawn_bound(&[
        "pull",
        "--mode",
        "recv",
        "--count",
        "1",
        "--show-user-id",
        "--curve-server",
        "--curve-secret",
        SERVER_SECRET,
        "--zap-allow-curve",
        CLIENT_PUBLIC,
    ]);
    // A client with a fresh key pair is refused...
    let (refused, _stdin) = push_until_event(
        &endpoint,
        &["--curve-serverkey", SERVER_PUBLIC],
        "HANDSHAKE_FAILED_AUTH",
    );
    pull.expect_event("HANDSHAKE_FAILED_AUTH", &endpoint);
    drop(refused);
    // ...and the listed one admitted, its message the server's only one.
    let push = push_to(
        &endpoint,
        &[
            "--curve-serverkey",
            SERVER_PUBLIC,
            "--curve-secret",
            CLIENT_SECRET,
        ],
        b"listed\n",
    );
    assert_exit(&push.wait(), 0, "listed CURVE client");
    let output = pull.wait();
    assert_exit(&output, 0, "CURVE server with --zap-allow-curve");
    assert_eq!(output.stdout, format!("{CLIENT_PUBLIC}\tlisted\n"));
}
