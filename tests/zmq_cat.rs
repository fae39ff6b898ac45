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
//! killed and the test fails with whatever the child printed.

mod util;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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
/// never stalls it).
struct Running {
    child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    args: Vec<String>,
}

/// Starts `zmq_cat ARGS` and feeds it `input` on stdin (closed afterwards).
fn spawn(args: &[&str], input: &[u8]) -> Running {
    let mut child = Command::new(zmq_cat_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start zmq_cat");
    let mut stdin = child.stdin.take().expect("stdin");
    // A child that exits early closes the pipe: a failed write is then expected.
    let _ = stdin.write_all(input);
    drop(stdin);
    let stdout = read_all(child.stdout.take().expect("stdout"));
    let stderr = read_all(child.stderr.take().expect("stderr"));
    Running {
        child,
        stdout,
        stderr,
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
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
    let stderr = read_all(child.stderr.take().expect("stderr"));
    let running = Running {
        child,
        stdout,
        stderr,
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    (running, stdin)
}

impl Running {
    /// Whether the process has exited.
    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
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
            thread::sleep(Duration::from_millis(10));
        };
        let stdout = String::from_utf8_lossy(&self.stdout.join().unwrap()).into_owned();
        let stderr = String::from_utf8_lossy(&self.stderr.join().unwrap()).into_owned();
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

/// An ipc endpoint in the temp directory, unique to this process and `name`.
fn ipc_endpoint(name: &str) -> (String, PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "ferrozmq-zmq-cat-{}-{name}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    (format!("ipc://{}", path.display()), path)
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
    let (endpoint, path) = ipc_endpoint("hex");
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
    let _ = std::fs::remove_file(path);
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
    let (endpoint, path) = ipc_endpoint("badhex");
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
    let _ = std::fs::remove_file(path);
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

#[test]
fn bind_to_address_in_use_exits_1() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let output = run(
        &[
            "pull",
            "--bind",
            &endpoint,
            "--mode",
            "recv",
            "--timeout-ms",
            "5000",
        ],
        b"",
    );
    assert_exit(&output, 1, "bind to an address in use");
    assert!(output.stderr.contains("in use"), "{:?}", output.stderr);
    drop(listener);
}

#[test]
fn req_against_rep_echo() {
    let input = "first\n\nthird\tpart\n";
    let (endpoint, path) = ipc_endpoint("reqrep");
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
    let _ = std::fs::remove_file(path);
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
