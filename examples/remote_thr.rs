//! Throughput sender with libzmq's `remote_thr` conventions:
//! `remote_thr <connect-to> <message-size> <message-count>`.
//!
//! A PUSH socket connects and sends `message-count` messages of `message-size` bytes, then
//! closes, waiting (linger) until all are delivered, as libzmq's tool does.
//!
//! With `ZMQ_PERF_CURVE=1` in the environment it runs over CURVE as the client (see
//! `perf_common`).

mod perf_common;

use bytes::Bytes;
use ferrozmq::{Context, SocketType};

fn main() -> ferrozmq::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: remote_thr <connect-to> <message-size> <message-count>");
        std::process::exit(1);
    }
    let (connect_to, size, count) = (&args[1], parse(&args[2]), parse(&args[3]));
    let ctx = Context::new();
    let mut push = ctx.socket(SocketType::Push)?;
    perf_common::security(&mut push, perf_common::Side::Connect)?;
    push.connect(connect_to)?;
    let payload = Bytes::from_static(vec![0u8; size].leak());
    for _ in 0..count {
        push.send(payload.clone())?;
    }
    drop(push);
    ctx.term();
    Ok(())
}

fn parse(s: &str) -> usize {
    s.parse().unwrap_or_else(|_| {
        eprintln!("not a number: {s}");
        std::process::exit(1)
    })
}
