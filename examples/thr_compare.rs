//! Side-by-side PUSH->PULL throughput of ferrozmq and libzmq (through the `zmq` crate) in
//! one run, over tcp, ipc or inproc: `cargo run --release --example thr_compare -- [transport] [size] [count] [ferrozmq|libzmq]`
//! (the last argument runs one side only, for profiling).
//!
//! Each side runs the same shape as libzmq's `local_thr`/`remote_thr`: the receiver times
//! from its first message to its last.

use std::time::Instant;

fn ferrozmq_run(transport: &str, size: usize, count: usize) -> f64 {
    use ferrozmq::{Context, SocketType};
    // FERROZMQ_THR_IO_THREADS=N: a context with N I/O threads (default 1, as libzmq's).
    let ctx = match std::env::var("FERROZMQ_THR_IO_THREADS").map(|n| n.parse()) {
        Ok(Ok(n)) => Context::with_io_threads(n),
        _ => Context::new(),
    };
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        "ipc" => format!("ipc:///tmp/ferrozmq-thr-{}.sock", std::process::id()),
        _ => "inproc://thr".to_string(),
    };
    pull.bind(&ep).unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    let payload = bytes::Bytes::from_static(vec![0u8; size].leak());
    // FERROZMQ_THR_COPY=1: build each message from a borrowed slice (a copy per message, as
    // libzmq's remote_thr and most applications do) instead of sharing one static payload.
    let copy = std::env::var_os("FERROZMQ_THR_COPY").is_some();
    let sender = std::thread::spawn(move || {
        for _ in 0..count {
            if copy {
                push.send(&payload[..]).unwrap();
            } else {
                push.send(payload.clone()).unwrap();
            }
        }
        push
    });
    pull.recv().unwrap();
    let start = Instant::now();
    for _ in 1..count {
        pull.recv().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    drop(sender.join().unwrap());
    (count - 1) as f64 / secs
}

fn libzmq_run(transport: &str, size: usize, count: usize) -> f64 {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    let ep = match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        "ipc" => format!("ipc:///tmp/libzmq-thr-{}.sock", std::process::id()),
        _ => "inproc://thr".to_string(),
    };
    pull.bind(&ep).unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&ep).unwrap();
    let payload = vec![0u8; size];
    let sender = std::thread::spawn(move || {
        for _ in 0..count {
            push.send(&payload[..], 0).unwrap();
        }
        push
    });
    let mut msg = zmq::Message::new();
    pull.recv(&mut msg, 0).unwrap();
    let start = Instant::now();
    for _ in 1..count {
        pull.recv(&mut msg, 0).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    drop(sender.join().unwrap());
    (count - 1) as f64 / secs
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let transport = args.get(1).map(String::as_str).unwrap_or("tcp").to_string();
    let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let count: usize = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let only = args.get(4).map(String::as_str);
    let f = if only == Some("libzmq") {
        1.0
    } else {
        ferrozmq_run(&transport, size, count)
    };
    let l = if only == Some("ferrozmq") {
        1.0
    } else {
        libzmq_run(&transport, size, count)
    };
    println!(
        "{transport} {size} B x {count}: ferrozmq {f:.0} msg/s, libzmq {l:.0} msg/s, ratio {:.2}",
        f / l
    );
}
