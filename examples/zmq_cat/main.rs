//! `zmq_cat`: netcat for ferrozmq sockets.
//!
//! Opens one socket of the given type, binds and/or connects it, then moves messages
//! between the socket and stdin/stdout:
//!
//! ```text
//! zmq_cat pull --bind tcp://127.0.0.1:5555 --mode recv
//! printf 'hello\tworld\n' | zmq_cat push --connect tcp://127.0.0.1:5555 --mode send
//! ```
//!
//! One message is one line; its frames are separated by a TAB. An empty line is a message
//! of one empty frame. With `--hex` every frame is written as lowercase hex, so binary data
//! (and frames holding TABs or newlines) survive the trip.
//!
//! Exit codes: 0 success, 1 any other error (for example an address in use), 2 bad
//! arguments (including a malformed endpoint, an unknown transport or an option value out
//! of range), 3 timeout.
//!
//! With `--monitor` every socket event goes to stderr as one line, `monitor: EVENT
//! ENDPOINT [DETAIL]`. What must stay true: the monitor is attached before the first
//! bind/connect (so LISTENING is seen), events are printed by a thread of their own (so a
//! blocked receive never holds them back), and every event raised before the socket and
//! context are closed is on stderr before the process exits.
//!
//! Security follows libzmq's options, the role set by option and never by bind or
//! connect: `--plain-server` or `--plain-user`/`--plain-password` for PLAIN,
//! `--curve-server --curve-secret KEY` or `--curve-serverkey KEY` for CURVE (keys are 40
//! characters of Z85). The `--zap-*` rules are one typed authenticator on the context:
//! an address in `--zap-deny-addr` is refused first, whatever the mechanism (NULL
//! included, through a ZAP domain); then PLAIN credentials must be one of
//! `--zap-allow-plain` and a CURVE client key one of `--zap-allow-curve`, where given.
//! Without any `--zap-*` option no authenticator is installed and the library admits
//! every client that completes the handshake. `--show-user-id` prints each received
//! message's `User-Id` (the PLAIN user name or the client's CURVE key in Z85) before it.
//!
//! ```text
//! zmq_cat pull --bind tcp://127.0.0.1:5555 --mode recv --show-user-id \
//!     --plain-server --zap-allow-plain admin:secret
//! echo hi | zmq_cat push --connect tcp://127.0.0.1:5555 --mode send \
//!     --plain-user admin --plain-password secret
//! ```
//!
//! Run `cargo run --example zmq_cat -- --help` for the full usage text.

mod args;
mod frames;
mod security;

use args::{parse_args, Mode, Options, USAGE};
use ferrozmq::{AuthRequest, Context, Error, Message, Monitor, Socket};
use frames::{print_message, read_message};
use security::set_security;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Why the program stops early: the exit code and the message for stderr.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

const EXIT_ERROR: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_TIMEOUT: u8 = 3;

/// How long, once the socket and context are closed, to wait for the monitor thread to
/// print the last events. The library ends the monitor at once then; this only bounds the
/// exit should it not.
const MONITOR_DRAIN_LIMIT: Duration = Duration::from_secs(2);

impl Failure {
    fn error(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_ERROR,
            message: message.into(),
        }
    }

    /// A library error during `what`, with the exit code its kind calls for.
    fn zmq(what: &str, err: Error) -> Failure {
        let code = match err {
            Error::InvalidEndpoint { .. } | Error::InvalidOption { .. } => EXIT_USAGE,
            Error::Timeout => EXIT_TIMEOUT,
            _ => EXIT_ERROR,
        };
        Failure {
            code,
            message: format!("{what}: {err}"),
        }
    }

    fn io(what: &str, err: io::Error) -> Failure {
        Failure::error(format!("{what}: {err}"))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("zmq_cat: {message}");
            eprintln!("run `zmq_cat --help` for usage");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("zmq_cat: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Socket work
// ---------------------------------------------------------------------------------------

fn run(options: &Options) -> Result<(), Failure> {
    let ctx = Context::new();
    if let Some(rules) = &options.zap {
        let rules = rules.clone();
        ctx.set_authenticator(move |req: &AuthRequest<'_>| rules.decide(req));
    }
    let mut socket = ctx
        .socket(options.socket_type)
        .map_err(|e| Failure::zmq("cannot create socket", e))?;
    // Attached before any bind or connect, so that LISTENING is among the events.
    let printer = options
        .monitor
        .then(|| MonitorPrinter::start(socket.monitor()));
    let result = setup(&mut socket, options).and_then(|()| serve(&mut socket, options));
    if result.is_err() {
        // Exit promptly on failure instead of waiting to deliver what is still queued.
        let _ = socket.set_linger(Some(Duration::ZERO));
    }
    // Closing the socket and then the context waits (up to the linger) until every queued
    // message is delivered.
    drop(socket);
    drop(ctx);
    if let Some(printer) = printer {
        printer.finish();
    }
    result
}

/// Prints a socket's monitor events to stderr from a thread of its own, so that events
/// come out while the main thread is blocked in a receive or a send.
struct MonitorPrinter {
    /// Disconnected when the thread has printed its last event.
    done: mpsc::Receiver<()>,
    thread: thread::JoinHandle<()>,
}

impl MonitorPrinter {
    fn start(monitor: Monitor) -> MonitorPrinter {
        let (done_tx, done) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            let _done = done_tx;
            // `recv` fails (Terminated) once the socket and all its connections are gone
            // and every event was read.
            while let Ok(event) = monitor.recv() {
                let mut err = io::stderr().lock();
                // Nowhere to report a failed write to stderr; keep draining regardless.
                let _ = writeln!(err, "monitor: {event}").and_then(|()| err.flush());
            }
        });
        MonitorPrinter { done, thread }
    }

    /// Waits, once the socket and context are closed, until every event is printed.
    fn finish(self) {
        match self.done.recv_timeout(MONITOR_DRAIN_LIMIT) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                eprintln!("zmq_cat: the monitor did not end; some events may be missing");
            }
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = self.thread.join();
            }
        }
    }
}

/// Options, endpoints, subscriptions and the start-up delay.
fn setup(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    socket
        .set_linger(options.linger)
        .map_err(|e| Failure::zmq("cannot set linger", e))?;
    if let Some(id) = &options.identity {
        socket
            .set_routing_id(id.clone())
            .map_err(|e| Failure::zmq("cannot set identity", e))?;
    }
    set_liveness(socket, options)?;
    set_security(socket, options)?;
    for ep in &options.binds {
        socket
            .bind(ep)
            .map_err(|e| Failure::zmq(&format!("cannot bind {ep}"), e))?;
    }
    for ep in &options.connects {
        socket
            .connect(ep)
            .map_err(|e| Failure::zmq(&format!("cannot connect {ep}"), e))?;
    }
    for prefix in &options.subscriptions {
        subscribe(socket, prefix)?;
    }
    if let Some(delay) = options.delay {
        std::thread::sleep(delay);
    }
    Ok(())
}

/// Heartbeats and the handshake limit; they must be set before bind/connect to apply.
fn set_liveness(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    if options.heartbeat_ivl.is_some() {
        socket
            .set_heartbeat_ivl(options.heartbeat_ivl)
            .map_err(|e| Failure::zmq("cannot set --heartbeat-ivl", e))?;
    }
    if options.heartbeat_timeout.is_some() {
        socket
            .set_heartbeat_timeout(options.heartbeat_timeout)
            .map_err(|e| Failure::zmq("cannot set --heartbeat-timeout", e))?;
    }
    if options.heartbeat_ttl.is_some() {
        socket
            .set_heartbeat_ttl(options.heartbeat_ttl)
            .map_err(|e| Failure::zmq("cannot set --heartbeat-ttl", e))?;
    }
    if let Some(ivl) = options.handshake_ivl {
        socket
            .set_handshake_ivl(ivl)
            .map_err(|e| Failure::zmq("cannot set --handshake-ivl", e))?;
    }
    Ok(())
}

/// Subscribes a SUB or XSUB socket to `prefix` (an empty prefix matches everything).
fn subscribe(socket: &mut Socket, prefix: &[u8]) -> Result<(), Failure> {
    socket
        .subscribe(prefix)
        .map_err(|e| Failure::zmq("cannot subscribe", e))
}

fn serve(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    match options.mode {
        Mode::Send => send_lines(socket, options),
        Mode::Recv => print_received(socket, options),
        Mode::Echo => echo(socket, options),
        Mode::Request => request(socket, options),
    }
}

/// Whether `done` messages already reach the `--count` limit.
fn reached(options: &Options, done: u64) -> bool {
    options.count.is_some_and(|n| done >= n)
}

/// Waits for one message, for at most `--timeout-ms`.
fn receive(socket: &mut Socket, options: &Options) -> Result<Message, Failure> {
    let received = match options.timeout {
        Some(timeout) => socket.recv_timeout(timeout),
        None => socket.recv(),
    };
    received.map_err(|e| match e {
        Error::Timeout => Failure {
            code: EXIT_TIMEOUT,
            message: format!(
                "timed out: no message within {} ms",
                options.timeout.unwrap_or_default().as_millis()
            ),
        },
        e => Failure::zmq("receive failed", e),
    })
}

fn send(socket: &mut Socket, msg: Message) -> Result<(), Failure> {
    socket
        .send(msg)
        .map_err(|e| Failure::zmq("send failed", e.into()))
}

/// `--mode send`: every stdin line becomes a message, until EOF.
fn send_lines(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut input = io::stdin().lock();
    let mut done = 0;
    while !reached(options, done) {
        let Some(msg) = read_message(&mut input, options.hex)? else {
            break;
        };
        send(socket, msg)?;
        done += 1;
    }
    Ok(())
}

/// `--mode recv`: print every message received.
fn print_received(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    let mut done = 0;
    while !reached(options, done) {
        let msg = receive(socket, options)?;
        if options.show_user_id {
            let user_id = msg.property("User-Id").unwrap_or("");
            write!(out, "{user_id}\t").map_err(|e| Failure::io("cannot write stdout", e))?;
        }
        print_message(&mut out, &msg, options.hex)?;
        done += 1;
    }
    Ok(())
}

/// `--mode echo`: send every message back as it came (on ROUTER the routing id stays
/// first, so the reply goes back to its sender).
fn echo(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut done = 0;
    while !reached(options, done) {
        let msg = receive(socket, options)?;
        send(socket, msg)?;
        done += 1;
    }
    Ok(())
}

/// `--mode request`: send each stdin line and print the one reply.
fn request(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    let mut done = 0;
    while !reached(options, done) {
        let Some(msg) = read_message(&mut input, options.hex)? else {
            break;
        };
        send(socket, msg)?;
        let reply = receive(socket, options)?;
        print_message(&mut out, &reply, options.hex)?;
        done += 1;
    }
    Ok(())
}
