//! In-process throughput with libzmq's `inproc_thr` conventions:
//! `inproc_thr <message-size> <message-count>`.
//!
//! A PUSH thread sends to a PULL over inproc; the PULL times from the first message to the
//! last and prints the same lines as `local_thr`.

use bytes::Bytes;
use ferrozmq::{Context, SocketType};
use std::time::Instant;

fn main() -> ferrozmq::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: inproc_thr <message-size> <message-count>");
        std::process::exit(1);
    }
    let (size, count) = (parse(&args[1]), parse(&args[2]));
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull)?;
    pull.bind("inproc://thr_test")?;
    let sender_ctx = ctx.clone();
    let sender = std::thread::spawn(move || -> ferrozmq::Result<()> {
        let mut push = sender_ctx.socket(SocketType::Push)?;
        push.connect("inproc://thr_test")?;
        let payload = Bytes::from_static(vec![0u8; size].leak());
        for _ in 0..count {
            push.send(payload.clone())?;
        }
        Ok(())
    });
    pull.recv()?;
    let start = Instant::now();
    for _ in 1..count {
        pull.recv()?;
    }
    let elapsed_us = (start.elapsed().as_micros() as u64).max(1);
    sender.join().expect("sender thread")?;
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
