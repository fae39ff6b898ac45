//! In-process latency with libzmq's `inproc_lat` conventions:
//! `inproc_lat <message-size> <roundtrip-count>`.
//!
//! A REQ and a REP socket in two threads of one process, joined over inproc; prints the
//! same lines as `remote_lat`.

use bytes::Bytes;
use ferrozmq::{Context, SocketType};
use std::time::Instant;

fn main() -> ferrozmq::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: inproc_lat <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    let (size, count) = (parse(&args[1]), parse(&args[2]));
    let ctx = Context::new();
    let mut rep = ctx.socket(SocketType::Rep)?;
    rep.bind("inproc://lat_test")?;
    let worker = std::thread::spawn(move || -> ferrozmq::Result<()> {
        for _ in 0..count {
            let msg = rep.recv()?;
            rep.send(msg)?;
        }
        Ok(())
    });
    let mut req = ctx.socket(SocketType::Req)?;
    req.connect("inproc://lat_test")?;
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
    worker.join().expect("worker thread")?;
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}

fn parse(s: &str) -> usize {
    s.parse().unwrap_or_else(|_| {
        eprintln!("not a number: {s}");
        std::process::exit(1)
    })
}
