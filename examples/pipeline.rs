//! Fan-out/fan-in pipeline: how fast ferrozmq moves messages.
//!
//! ```text
//!                        +--> worker (PULL -> PUSH) --+
//! ventilator (PUSH) -----+--> worker (PULL -> PUSH) --+-----> sink (PULL)
//!                        +--> ...                   --+
//! ```
//!
//! A ventilator PUSH socket load-balances messages over N worker threads, each of which
//! forwards what it receives to a sink PULL socket, which fair-queues them. The run is done
//! once over `inproc://` and once over `tcp://127.0.0.1` (an ephemeral port, found with
//! `last_endpoint`), and prints the messages per second of each.
//!
//! ```text
//! cargo run --release --example pipeline [-- [MESSAGES] [WORKERS] [SIZE]]
//! ```
//!
//! Nothing sleeps to synchronise: the sink counts to the expected total, and then the
//! context is terminated, which makes the workers' blocking calls return
//! `Error::Terminated`.

use bytes::Bytes;
use ferrozmq::{Context, Error, Result, Socket, SocketType};
use std::process::ExitCode;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const DEFAULT_MESSAGES: u64 = 1_000_000;
const DEFAULT_WORKERS: usize = 4;
const DEFAULT_SIZE: usize = 16;

const USAGE: &str = "usage: pipeline [MESSAGES] [WORKERS] [SIZE]
  MESSAGES  messages per transport (default 1000000)
  WORKERS   worker threads between ventilator and sink (default 4)
  SIZE      payload bytes per message (default 16)";

/// The size of one run.
#[derive(Clone, Copy, Debug)]
struct Config {
    messages: u64,
    workers: usize,
    size: usize,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("pipeline: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!(
        "pipeline: {} messages of {} bytes through {} workers, per transport",
        config.messages, config.size, config.workers
    );
    let start = Instant::now();
    for (name, endpoint) in [
        ("inproc", "inproc://pipeline"),
        ("tcp", "tcp://127.0.0.1:*"),
    ] {
        match run(endpoint, config) {
            Ok(elapsed) => report(name, config.messages, elapsed),
            Err(e) => {
                eprintln!("pipeline: {name} run failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("total    {:.3} s", start.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

/// Parses `[MESSAGES] [WORKERS] [SIZE]`; `Ok(None)` means `--help`.
fn parse_args(args: &[String]) -> std::result::Result<Option<Config>, String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(None);
    }
    if args.len() > 3 {
        return Err("too many arguments".into());
    }
    let number = |i: usize, name: &str, default: u64| -> std::result::Result<u64, String> {
        match args.get(i) {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| format!("{name} must be a non-negative integer, not `{s}`")),
        }
    };
    let config = Config {
        messages: number(0, "MESSAGES", DEFAULT_MESSAGES)?,
        workers: number(1, "WORKERS", DEFAULT_WORKERS as u64)? as usize,
        size: number(2, "SIZE", DEFAULT_SIZE as u64)? as usize,
    };
    if config.workers == 0 {
        return Err("WORKERS must be at least 1".into());
    }
    Ok(Some(config))
}

fn report(name: &str, messages: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        messages as f64 / secs
    } else {
        f64::INFINITY
    };
    println!("{name:<8} {messages} messages in {secs:.3} s = {rate:.0} msg/s");
}

/// One full run over the transport of `base` (`inproc://NAME` or `tcp://HOST:*`).
/// Returns the time from the first send until the sink has every message.
fn run(base: &str, config: Config) -> Result<Duration> {
    let ctx = Context::new();

    let mut sink = ctx.socket(SocketType::Pull)?;
    sink.bind(&endpoint(base, "sink"))?;
    let sink_ep = bound_endpoint(&sink)?;

    let mut ventilator = ctx.socket(SocketType::Push)?;
    ventilator.bind(&endpoint(base, "ventilator"))?;
    let ventilator_ep = bound_endpoint(&ventilator)?;

    let workers = (0..config.workers)
        .map(|_| spawn_worker(&ctx, &ventilator_ep, &sink_ep))
        .collect::<Result<Vec<_>>>()?;

    let start = Instant::now();
    let sender = spawn_ventilator(ventilator, config);
    let received = drain(&mut sink, config.messages, config.size);
    let elapsed = start.elapsed();

    // Every message has arrived (or the sink failed): end the workers' blocking calls.
    ctx.term();
    let sent = sender.join().expect("ventilator thread panicked");
    let forwarded: u64 = workers
        .into_iter()
        .map(|w| w.join().expect("worker thread panicked"))
        .sum();
    received?;
    sent?;
    assert_eq!(forwarded, config.messages, "workers lost messages");
    Ok(elapsed)
}

/// `inproc://pipeline` becomes `inproc://pipeline-sink`; a tcp endpoint stays as it is.
fn endpoint(base: &str, role: &str) -> String {
    if base.starts_with("inproc://") {
        format!("{base}-{role}")
    } else {
        base.to_string()
    }
}

/// The endpoint actually bound (with the ephemeral port resolved).
fn bound_endpoint(socket: &Socket) -> Result<String> {
    socket
        .last_endpoint()
        .ok_or_else(|| Error::Io(std::io::Error::other("last_endpoint is empty after a bind")))
}

/// Sends `config.messages` messages, then closes the socket.
fn spawn_ventilator(mut socket: Socket, config: Config) -> JoinHandle<Result<()>> {
    thread::spawn(move || {
        let payload = Bytes::from(vec![b'x'; config.size]);
        for _ in 0..config.messages {
            socket.send(payload.clone())?;
        }
        Ok(())
    })
}

/// A worker: forwards from the ventilator to the sink until its context is terminated.
/// Returns how many messages it forwarded.
fn spawn_worker(ctx: &Context, from: &str, to: &str) -> Result<JoinHandle<u64>> {
    let mut input = ctx.socket(SocketType::Pull)?;
    input.connect(from)?;
    let mut output = ctx.socket(SocketType::Push)?;
    output.connect(to)?;
    Ok(thread::spawn(move || {
        let mut forwarded = 0;
        while let Ok(msg) = input.recv() {
            if output.send(msg).is_err() {
                break;
            }
            forwarded += 1;
        }
        forwarded
    }))
}

/// Receives until `expected` messages have arrived, checking that each is whole.
fn drain(sink: &mut Socket, expected: u64, size: usize) -> Result<()> {
    for _ in 0..expected {
        let msg = sink.recv()?;
        assert!(
            msg.len() == 1 && msg[0].len() == size,
            "the sink received a damaged message: {} frames, {} bytes",
            msg.len(),
            msg.byte_len()
        );
    }
    Ok(())
}
