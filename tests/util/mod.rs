//! Shared helpers for the integration tests: logging, fresh endpoints per transport,
//! bounded waits and message comparison.
//!
//! Every blocking call in the suite goes through a timeout: nothing may hang, and nothing
//! synchronises by sleeping. Nothing is left in the temp directory: an ipc path is removed
//! by the ferrozmq listener bound to it or, where anything else may create the file, by an
//! [`IpcFile`] guard (`.ci/run` checks the suite leaves its private TMPDIR empty).
#![allow(dead_code)]

pub mod events;
pub mod proxy;
pub mod pyzmq;
pub mod raw;

use ferrozmq::{Context, Error, Message, Socket, SocketType};

/// Generates `mod inproc`, `mod ipc` and `mod tcp`, each with one test per named function,
/// which is called with the transport's name ("inproc", "ipc" or "tcp").
#[macro_export]
macro_rules! per_transport_name {
    ($($name:ident),* $(,)?) => {
        mod inproc { $( #[test] fn $name() { let _ = env_logger::try_init(); super::$name("inproc"); } )* }
        mod ipc { $( #[test] fn $name() { let _ = env_logger::try_init(); super::$name("ipc"); } )* }
        mod tcp { $( #[test] fn $name() { let _ = env_logger::try_init(); super::$name("tcp"); } )* }
    };
}
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The bound on every wait for something that should happen (a message, a connection).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait when checking that something does *not* happen.
pub const QUIET: Duration = Duration::from_millis(100);

/// Initialises logging once per test binary (`RUST_LOG=debug cargo test` shows the library's logs).
pub fn init() {
    let _ = env_logger::builder().is_test(true).try_init();
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A number unique within this test process.
pub fn unique() -> usize {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A fresh name, unique across processes (pid) and tests (counter).
pub fn unique_name(tag: &str) -> String {
    format!("fzmq-{}-{}-{}", tag, std::process::id(), unique())
}

/// A fresh ipc socket path under the temp dir (short enough for `sun_path`).
///
/// Nothing removes the path by itself but a ferrozmq listener bound to it (which removes
/// its socket file when it closes). Where anything else may create the file (libzmq, a
/// `std` listener, a child process that may be killed) use an [`IpcFile`] instead, so the
/// suite leaves nothing in the temp dir.
pub fn ipc_path() -> PathBuf {
    std::env::temp_dir().join(format!("{}.sock", unique_name("ipc")))
}

/// A fresh ipc socket path (as from [`ipc_path`]) that is removed when the guard drops,
/// even when the test fails.
///
/// For paths whose socket file no ferrozmq listener owns: libzmq 4.3 leaves its ipc socket
/// file behind on close, on unbind and on context termination (it removes only the
/// directory it made for `ipc://*`), and a child process killed at a deadline removes
/// nothing. Removing the path under a listener that is still open is harmless: open
/// connections stay up, and the path was unique to this test.
#[must_use = "the path is removed when the guard drops"]
#[derive(Debug)]
pub struct IpcFile {
    path: PathBuf,
}

impl IpcFile {
    /// A guard for a fresh path; no file exists there yet.
    pub fn fresh() -> IpcFile {
        IpcFile { path: ipc_path() }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// `ipc://PATH`.
    pub fn endpoint(&self) -> String {
        format!("ipc://{}", self.path.display())
    }
}

impl Drop for IpcFile {
    fn drop(&mut self) {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Not worth a panic (possibly during another one): say so and go on.
            Err(e) => eprintln!("cannot remove {}: {e}", self.path.display()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Inproc,
    Ipc,
    Tcp,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Inproc, Transport::Ipc, Transport::Tcp];

    /// The transport called `name` ("inproc", "ipc" or "tcp").
    pub fn named(name: &str) -> Transport {
        match name {
            "inproc" => Transport::Inproc,
            "ipc" => Transport::Ipc,
            "tcp" => Transport::Tcp,
            other => panic!("unknown transport {other}"),
        }
    }

    /// A fresh endpoint to bind: a unique inproc name, a unique ipc path, or
    /// `tcp://127.0.0.1:*` (the port is resolved by the bind; see [`bind_fresh`]).
    pub fn fresh_endpoint(self) -> String {
        match self {
            Transport::Inproc => format!("inproc://{}", unique_name("inproc")),
            Transport::Ipc => format!("ipc://{}", ipc_path().display()),
            Transport::Tcp => "tcp://127.0.0.1:*".to_string(),
        }
    }
}

/// The three fresh endpoints, one per transport, in the order inproc, ipc, tcp.
pub fn endpoints() -> [String; 3] {
    Transport::ALL.map(Transport::fresh_endpoint)
}

/// Binds `s` to a fresh endpoint of `t` and returns the endpoint a peer must connect to
/// (for tcp the resolved port from `last_endpoint()`).
pub fn bind_fresh(s: &mut Socket, t: Transport) -> String {
    let ep = t.fresh_endpoint();
    s.bind(&ep)
        .unwrap_or_else(|e| panic!("bind({ep}) failed: {e:?}"));
    match t {
        Transport::Tcp => {
            let last = s
                .last_endpoint()
                .unwrap_or_else(|| panic!("last_endpoint() is None after bind({ep})"));
            assert!(
                last.starts_with("tcp://127.0.0.1:")
                    && !last.ends_with(":*")
                    && !last.ends_with(":0"),
                "last_endpoint() after bind({ep}) should report the resolved port, got {last}"
            );
            last
        }
        _ => ep,
    }
}

/// A socket whose blocking calls give up after `wait`, and which discards what is still
/// queued when it is closed (linger 0), so no test can hang on it.
pub fn bounded_socket(ctx: &Context, kind: SocketType, wait: Duration) -> Socket {
    let mut s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(Some(wait)).unwrap();
    s.set_sndtimeo(Some(wait)).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s
}

/// A deadline `d` from now.
pub fn deadline(d: Duration) -> Instant {
    Instant::now() + d
}

/// Time left until `deadline`; panics with `what` if it has passed.
pub fn remaining(deadline: Instant, what: &str) -> Duration {
    let now = Instant::now();
    assert!(now < deadline, "timed out: {what}");
    deadline - now
}

/// Receives one message within [`TIMEOUT`], panicking with a clear message otherwise.
#[track_caller]
pub fn recv(s: &mut Socket, what: &str) -> Message {
    match s.recv_timeout(TIMEOUT) {
        Ok(m) => m,
        Err(Error::Timeout) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
        Err(e) => panic!("recv failed while waiting for {what}: {e:?}"),
    }
}

/// Sends within [`TIMEOUT`], panicking with a clear message otherwise.
#[track_caller]
pub fn send(s: &mut Socket, m: impl Into<Message>, what: &str) {
    if let Err(e) = s.send_timeout(m, TIMEOUT) {
        panic!("send of {what} failed: {:?}", e.error);
    }
}

/// Asserts that nothing arrives on `s` within [`QUIET`].
#[track_caller]
pub fn assert_nothing(s: &mut Socket, what: &str) {
    match s.recv_timeout(QUIET) {
        Err(Error::Timeout) => {}
        Ok(m) => panic!("expected nothing ({what}), but received {:?}", frames(&m)),
        Err(e) => panic!("expected a Timeout ({what}), got {e:?}"),
    }
}

/// The frames of a message as byte vectors (easy to compare and print).
pub fn frames(m: &Message) -> Vec<Vec<u8>> {
    m.iter().map(|f| f.to_vec()).collect()
}

/// The frames of a message as lossy strings.
pub fn strings(m: &Message) -> Vec<String> {
    m.iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

/// A single-frame message as a string; panics if it has more frames.
#[track_caller]
pub fn text(m: &Message) -> String {
    assert_eq!(
        m.len(),
        1,
        "expected a one-frame message, got {:?}",
        frames(m)
    );
    String::from_utf8_lossy(&m[0]).into_owned()
}

/// A deterministic pseudo-random payload of `len` bytes (every byte value occurs).
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Compares two messages frame by frame, without printing megabytes on failure.
#[track_caller]
pub fn assert_same_frames(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: frame count differs (got sizes {:?}, want sizes {:?})",
        got.iter().map(Vec::len).collect::<Vec<_>>(),
        want.iter().map(Vec::len).collect::<Vec<_>>()
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let first_diff = g.iter().zip(w).position(|(a, b)| a != b);
            panic!(
                "{what}: frame {i} differs (got {} bytes, want {} bytes, first differing byte at {:?})",
                g.len(),
                w.len(),
                first_diff
            );
        }
    }
}

/// Binds `s` to `ep`, retrying while the address is still in use (a just-closed listener
/// on the same port), up to [`TIMEOUT`].
pub fn bind_retry(s: &mut Socket, ep: &str) {
    let end = deadline(TIMEOUT);
    loop {
        match s.bind(ep) {
            Ok(()) => return,
            Err(Error::AddressInUse(_)) if Instant::now() < end => {
                // Polling a kernel resource that gives no event: back off briefly.
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("bind({ep}) failed: {e:?}"),
        }
    }
}

/// A tcp port on 127.0.0.1 that was free a moment ago (bound by the OS, then released).
pub fn free_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().unwrap().port()
}

/// Runs `f` on a helper thread and waits for it at most `limit`; panics with `what` if it
/// does not finish (the thread is then leaked, the test fails instead of hanging).
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {limit:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// Builds the named examples into the target directory and profile this test binary was
/// built with (a no-op when they are up to date), and returns `<target>/<profile>/examples`.
///
/// Cargo gives integration tests no path to example binaries, and `cargo test --test X`
/// builds no examples, so tests that run one build it first with the same cargo.
pub fn build_examples(names: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // <target>/<profile>/deps/<this test>
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("test executable is not in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("profile dir has a parent");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(name) => name.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "--profile", &profile]);
    for name in names {
        cmd.args(["--example", name]);
    }
    let output = cmd
        .arg("--manifest-path")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cannot run cargo to build the examples");
    assert!(
        output.status.success(),
        "building the examples {names:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = profile_dir.join("examples");
    for name in names {
        let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} was not built", bin.display());
    }
    dir
}
