//! Side-by-side PAIR ping-pong latency of ferrozmq and libzmq in one run:
//! `cargo run --release --example lat_compare -- [transport] [size] [roundtrips] [ferrozmq|libzmq]`
//! (the last argument runs one side only).
//! Prints the one-way latency (elapsed / 2 / roundtrips), as libzmq's remote_lat does.

use std::time::Instant;

fn endpoint(transport: &str, tag: &str) -> String {
    match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        "ipc" => format!("ipc:///tmp/{tag}-lat-{}.sock", std::process::id()),
        _ => format!("inproc://{tag}-lat"),
    }
}

fn ferrozmq_run(transport: &str, size: usize, n: usize) -> f64 {
    use ferrozmq::{Context, SocketType};
    let ctx = Context::new();
    let mut a = ctx.socket(SocketType::Pair).unwrap();
    a.bind(&endpoint(transport, "ferrozmq")).unwrap();
    let ep = a.last_endpoint().unwrap();
    let mut b = ctx.socket(SocketType::Pair).unwrap();
    b.connect(&ep).unwrap();
    let echo = std::thread::spawn(move || {
        for _ in 0..n + 1 {
            let m = b.recv().unwrap();
            b.send(m).unwrap();
        }
        b
    });
    let payload = bytes::Bytes::from_static(vec![0u8; size].leak());
    a.send(payload.clone()).unwrap();
    a.recv().unwrap();
    let start = Instant::now();
    for _ in 0..n {
        a.send(payload.clone()).unwrap();
        a.recv().unwrap();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (2 * n) as f64;
    drop(echo.join().unwrap());
    us
}

fn libzmq_run(transport: &str, size: usize, n: usize) -> f64 {
    let ctx = zmq::Context::new();
    let a = ctx.socket(zmq::PAIR).unwrap();
    a.bind(&endpoint(transport, "libzmq")).unwrap();
    let ep = a.get_last_endpoint().unwrap().unwrap();
    let b = ctx.socket(zmq::PAIR).unwrap();
    b.connect(&ep).unwrap();
    let echo = std::thread::spawn(move || {
        let mut m = zmq::Message::new();
        for _ in 0..n + 1 {
            b.recv(&mut m, 0).unwrap();
            b.send(&m[..], 0).unwrap();
        }
        b
    });
    let payload = vec![0u8; size];
    let mut m = zmq::Message::new();
    a.send(&payload[..], 0).unwrap();
    a.recv(&mut m, 0).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        a.send(&payload[..], 0).unwrap();
        a.recv(&mut m, 0).unwrap();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (2 * n) as f64;
    drop(echo.join().unwrap());
    us
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let transport = args.get(1).map(String::as_str).unwrap_or("tcp").to_string();
    let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let only = args.get(4).map(String::as_str);
    let f = if only == Some("libzmq") {
        1.0
    } else {
        ferrozmq_run(&transport, size, n)
    };
    let l = if only == Some("ferrozmq") {
        1.0
    } else {
        libzmq_run(&transport, size, n)
    };
    println!(
        "{transport} {size} B x {n}: ferrozmq {f:.2} us, libzmq {l:.2} us one-way, ratio {:.2}",
        f / l
    );
}
