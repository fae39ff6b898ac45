//! Latency echo server with libzmq's `local_lat` conventions:
//! `local_lat <bind-to> <message-size> <roundtrip-count>`.
//!
//! A REP socket binds and sends every request straight back.
//!
//! With `ZMQ_PERF_CURVE=1` in the environment it runs over CURVE as the server (see
//! `perf_common`).

mod perf_common;

use ferrozmq::{Context, SocketType};

fn main() -> ferrozmq::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: local_lat <bind-to> <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    let (bind_to, size, count) = (&args[1], parse(&args[2]), parse(&args[3]));
    let ctx = Context::new();
    let mut rep = ctx.socket(SocketType::Rep)?;
    perf_common::security(&mut rep, perf_common::Side::Bind)?;
    rep.bind(bind_to)?;
    for _ in 0..count {
        let msg = rep.recv()?;
        if msg.byte_len() != size {
            eprintln!("message of incorrect size received");
            std::process::exit(1);
        }
        rep.send(msg)?;
    }
    drop(rep);
    ctx.term();
    Ok(())
}

fn parse(s: &str) -> usize {
    s.parse().unwrap_or_else(|_| {
        eprintln!("not a number: {s}");
        std::process::exit(1)
    })
}
