//! Latency client with libzmq's `remote_lat` conventions:
//! `remote_lat <connect-to> <message-size> <roundtrip-count>`.
//!
//! A REQ socket sends `roundtrip-count` requests one after another and prints the average
//! one-way latency: the elapsed time divided by twice the number of round trips.
//!
//! With `ZMQ_PERF_CURVE=1` in the environment it runs over CURVE as the client (see
//! `perf_common`).

mod perf_common;

use bytes::Bytes;
use ferrozmq::{Context, SocketType};
use std::time::Instant;

fn main() -> ferrozmq::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: remote_lat <connect-to> <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    let (connect_to, size, count) = (&args[1], parse(&args[2]), parse(&args[3]));
    let ctx = Context::new();
    let mut req = ctx.socket(SocketType::Req)?;
    perf_common::security(&mut req, perf_common::Side::Connect)?;
    req.connect(connect_to)?;
    let payload = Bytes::from_static(vec![0u8; size].leak());
    let start = Instant::now();
    for _ in 0..count {
        req.send(payload.clone())?;
        let reply = req.recv()?;
        if reply.byte_len() != size {
            eprintln!("message of incorrect size received");
            std::process::exit(1);
        }
    }
    let latency = start.elapsed().as_secs_f64() * 1e6 / (count as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency:.3} [us]");
    drop(req);
    ctx.term();
    Ok(())
}

fn parse(s: &str) -> usize {
    s.parse().unwrap_or_else(|_| {
        eprintln!("not a number: {s}");
        std::process::exit(1)
    })
}
