//! Lazy Pirate (the zguide's reliable request/reply, chapter 4): a REQ client that, when
//! no reply comes within a timeout, closes its socket, opens a new one and sends the
//! request again, giving up after a few tries. The server here is a flaky in-process REP
//! on tcp that now and then "crashes" on a request (drops it unanswered and restarts on
//! the same port), so the retries are exercised on every run.
//!
//! What this must keep true: it runs to completion by itself in a few seconds, every
//! request gets its own reply (checked), and it prints what happened, ending with
//! `N requests answered, R retries`.
//!
//! Run: `cargo run --example lazy_pirate`

use ferrozmq::{Context, Error, Socket, SocketType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REQUESTS: u32 = 10;
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
const REQUEST_RETRIES: u32 = 5;
/// The server "crashes" on the requests it receives at these positions (1-based, resends
/// included), so the pattern of drops is the same on every run.
const CRASH_ON: [u32; 3] = [3, 6, 8];

/// A REP socket bound on `endpoint`, retrying briefly while the old one's port is released.
fn bind_rep(ctx: &Context, endpoint: &str) -> ferrozmq::Result<Socket> {
    let mut rep = ctx.socket(SocketType::Rep)?;
    rep.set_linger(Some(Duration::ZERO))?;
    for _ in 0..400 {
        match rep.bind(endpoint) {
            Err(Error::AddressInUse(_)) => std::thread::sleep(Duration::from_millis(5)),
            other => return other.map(|()| rep),
        }
    }
    Err(Error::AddressInUse(endpoint.to_string()))
}

/// The flaky server: echoes each request, except that it drops the ones listed in
/// [`CRASH_ON`] and restarts. Runs until `stop` is set (or a minute has passed).
fn server(ctx: Context, mut rep: Socket, endpoint: String, stop: Arc<AtomicBool>) {
    let end = Instant::now() + Duration::from_secs(60);
    let mut received = 0;
    while !stop.load(Ordering::SeqCst) && Instant::now() < end {
        let request = match rep.recv_timeout(Duration::from_millis(50)) {
            Ok(m) => m,
            Err(Error::Timeout) => continue,
            Err(e) => panic!("server: {e}"),
        };
        received += 1;
        let text = String::from_utf8_lossy(&request[0]).into_owned();
        if CRASH_ON.contains(&received) {
            println!("server: dropping request {text:?} (simulated crash), restarting");
            drop(rep);
            rep = bind_rep(&ctx, &endpoint).expect("server restart");
            continue;
        }
        println!("server: normal request {text:?}");
        rep.send(request).expect("server reply");
    }
}

/// A fresh client socket: linger 0, so closing it discards an unanswered request.
fn client_socket(ctx: &Context, endpoint: &str) -> ferrozmq::Result<Socket> {
    let mut req = ctx.socket(SocketType::Req)?;
    req.set_linger(Some(Duration::ZERO))?;
    req.connect(endpoint)?;
    Ok(req)
}

fn main() -> ferrozmq::Result<()> {
    let ctx = Context::new();
    let rep = bind_rep(&ctx, "tcp://127.0.0.1:*")?;
    let endpoint = rep.last_endpoint().expect("bound");
    let stop = Arc::new(AtomicBool::new(false));
    let server_thread = {
        let (ctx, endpoint, stop) = (ctx.clone(), endpoint.clone(), stop.clone());
        std::thread::spawn(move || server(ctx, rep, endpoint, stop))
    };

    let mut client = client_socket(&ctx, &endpoint)?;
    let mut retries = 0;
    for sequence in 1..=REQUESTS {
        let request = sequence.to_string();
        client.send(request.as_str())?;
        let mut retries_left = REQUEST_RETRIES;
        loop {
            match client.recv_timeout(REQUEST_TIMEOUT) {
                Ok(reply) if reply.len() == 1 && reply[0][..] == *request.as_bytes() => {
                    println!("client: server replied OK ({request})");
                    break;
                }
                Ok(reply) => println!("client: malformed reply from server: {reply:?}"),
                Err(Error::Timeout) => {
                    retries_left -= 1;
                    if retries_left == 0 {
                        stop.store(true, Ordering::SeqCst);
                        let _ = server_thread.join();
                        eprintln!("client: server seems to be offline, abandoning");
                        std::process::exit(1);
                    }
                    retries += 1;
                    println!("client: no response from server, retrying ({request})");
                    // The old socket is stuck waiting for a reply that will not come:
                    // close it and resend on a new one.
                    client = client_socket(&ctx, &endpoint)?;
                    client.send(request.as_str())?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    server_thread.join().expect("server thread");
    println!("{REQUESTS} requests answered, {retries} retries");
    Ok(())
}
