//! Throughput receiver with libzmq's `local_thr` conventions, so either end of a
//! measurement can be libzmq's own tool:
//! `local_thr <bind-to> <message-size> <message-count>`.
//!
//! A PULL socket binds, times from the first message to the last, and prints the same four
//! lines as libzmq.
//!
//! With `ZMQ_PERF_CURVE=1` in the environment it runs over CURVE as the server (see
//! `perf_common`).

mod perf_common;

use ferrozmq::{Context, SocketType};
use std::time::Instant;

fn main() -> ferrozmq::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: local_thr <bind-to> <message-size> <message-count>");
        std::process::exit(1);
    }
    let (bind_to, size, count) = (&args[1], parse(&args[2]), parse(&args[3]));
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull)?;
    perf_common::security(&mut pull, perf_common::Side::Bind)?;
    pull.bind(bind_to)?;
    let first = pull.recv()?;
    check_size(first.byte_len(), size);
    let start = Instant::now();
    for _ in 1..count {
        let msg = pull.recv()?;
        check_size(msg.byte_len(), size);
    }
    let elapsed_us = (start.elapsed().as_micros() as u64).max(1);
    // Same arithmetic as libzmq's perf/local_thr.cpp.
    let throughput = (count as f64 / elapsed_us as f64 * 1_000_000.0) as u64;
    let megabits = (throughput * size as u64 * 8) as f64 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
    Ok(())
}

fn parse(s: &str) -> usize {
    s.parse().unwrap_or_else(|_| {
        eprintln!("not a number: {s}");
        std::process::exit(1)
    })
}

fn check_size(got: usize, want: usize) {
    if got != want {
        eprintln!("message of incorrect size received");
        std::process::exit(1);
    }
}
