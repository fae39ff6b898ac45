//! A load-balancing broker: REQ clients talk to a ROUTER frontend, a `proxy` moves requests
//! to a DEALER backend, which spreads them over REP workers; replies find their way back
//! through the envelopes.
//!
//! ```text
//!  REQ client ─┐                              ┌─► REP worker 1
//!  REQ client ─┼─► ROUTER ══ proxy ══ DEALER ─┼─► REP worker 2
//!  REQ client ─┘  (frontend)       (backend)  └─► REP worker 3
//! ```
//!
//! Run: `cargo run --example lb_broker`

use ferrozmq::{proxy, Context, Error, SocketType};
use std::collections::BTreeMap;

const CLIENTS: usize = 4;
const WORKERS: usize = 3;
const REQUESTS: usize = 50;

fn main() -> ferrozmq::Result<()> {
    let ctx = Context::new();
    let mut frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("tcp://127.0.0.1:*")?;
    let front_ep = frontend.last_endpoint().expect("bound");
    let mut backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("inproc://workers")?;

    let broker = std::thread::spawn(move || proxy(&mut frontend, &mut backend, None));

    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let ctx = ctx.clone();
        workers.push(std::thread::spawn(move || -> ferrozmq::Result<usize> {
            let mut rep = ctx.socket(SocketType::Rep)?;
            rep.connect("inproc://workers")?;
            let mut served = 0;
            loop {
                match rep.recv() {
                    Ok(request) => {
                        let mut reply = request;
                        reply.push_back(format!("worker-{w}"));
                        rep.send(reply)?;
                        served += 1;
                    }
                    Err(Error::Terminated) => return Ok(served),
                    Err(e) => return Err(e),
                }
            }
        }));
    }

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (ctx, ep) = (ctx.clone(), front_ep.clone());
        clients.push(std::thread::spawn(
            move || -> ferrozmq::Result<BTreeMap<String, usize>> {
                let mut req = ctx.socket(SocketType::Req)?;
                req.connect(&ep)?;
                let mut by_worker = BTreeMap::new();
                for i in 0..REQUESTS {
                    let body = format!("client-{c} request-{i}");
                    req.send(body.as_str())?;
                    let reply = req.recv()?;
                    assert_eq!(&reply[0][..], body.as_bytes(), "reply matches request");
                    let worker = String::from_utf8_lossy(&reply[1]).into_owned();
                    *by_worker.entry(worker).or_insert(0) += 1;
                }
                Ok(by_worker)
            },
        ));
    }

    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    for c in clients {
        for (worker, n) in c.join().expect("client thread")? {
            *totals.entry(worker).or_insert(0) += n;
        }
    }
    println!("{} requests answered: {totals:?}", CLIENTS * REQUESTS);

    // Everything is answered: terminating the context stops the proxy and the workers.
    ctx.term();
    assert!(matches!(
        broker.join().expect("broker thread"),
        Err(Error::Terminated)
    ));
    for w in workers {
        w.join().expect("worker thread")?;
    }
    Ok(())
}
