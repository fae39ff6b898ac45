//! An XSUB/XPUB forwarder: publishers connect to the forwarder's XSUB side, subscribers to
//! its XPUB side, and `proxy` moves messages down and subscriptions up.
//!
//! ```text
//!  PUB ──► XSUB ══ proxy ══ XPUB ──► SUB
//!                (forwarder)
//! ```
//!
//! Run: `cargo run --example forwarder`

use ferrozmq::{proxy, Context, Error, SocketType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() -> ferrozmq::Result<()> {
    let ctx = Context::new();
    let mut xsub = ctx.socket(SocketType::XSub)?;
    xsub.bind("tcp://127.0.0.1:*")?;
    let upstream = xsub.last_endpoint().expect("bound");
    let mut xpub = ctx.socket(SocketType::XPub)?;
    xpub.bind("tcp://127.0.0.1:*")?;
    let downstream = xpub.last_endpoint().expect("bound");
    let forwarder = std::thread::spawn(move || proxy(&mut xsub, &mut xpub, None));

    let done = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (ctx, done) = (ctx.clone(), done.clone());
        std::thread::spawn(move || -> ferrozmq::Result<u64> {
            let mut publisher = ctx.socket(SocketType::Pub)?;
            publisher.connect(&upstream)?;
            let mut n = 0u64;
            while !done.load(Ordering::SeqCst) {
                publisher.send(format!("news {n}"))?;
                publisher.send(format!("sport {n}"))?;
                n += 1;
                // Pace the demo; the loop ends when the subscriber is done.
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(n)
        })
    };

    let mut sub = ctx.socket(SocketType::Sub)?;
    sub.connect(&downstream)?;
    sub.subscribe("news")?;
    for _ in 0..10 {
        let msg = sub.recv()?;
        let text = String::from_utf8_lossy(&msg[0]).into_owned();
        assert!(
            text.starts_with("news"),
            "only news passes the filter: {text}"
        );
        println!("subscriber got {text}");
    }
    done.store(true, Ordering::SeqCst);
    let published = publisher.join().expect("publisher thread")?;
    println!("publisher sent {published} news and {published} sport messages");
    drop(sub);
    ctx.term();
    assert!(matches!(
        forwarder.join().expect("forwarder thread"),
        Err(Error::Terminated)
    ));
    Ok(())
}
