//! A pub/sub feed with prefix filters: a publisher sends weather updates for several
//! cities, and two subscribers each receive only the city they subscribed to.
//!
//! A subscription reaches the publisher asynchronously (the "slow joiner"), so the
//! publisher keeps publishing until both subscribers have what they want, then stops.
//!
//! Run: `cargo run --example pub_sub`

use ferrozmq::{Context, SocketType};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const WANTED: usize = 20;

fn main() -> ferrozmq::Result<()> {
    let ctx = Context::new();
    let mut publisher = ctx.socket(SocketType::Pub)?;
    publisher.bind("tcp://127.0.0.1:*")?;
    let endpoint = publisher.last_endpoint().expect("bound");

    let finished = Arc::new(AtomicUsize::new(0));
    let mut subscribers = Vec::new();
    for city in ["paris", "tokyo"] {
        let (ctx, endpoint, finished) = (ctx.clone(), endpoint.clone(), finished.clone());
        subscribers.push(std::thread::spawn(move || -> ferrozmq::Result<()> {
            let mut sub = ctx.socket(SocketType::Sub)?;
            sub.connect(&endpoint)?;
            sub.subscribe(format!("weather.{city} "))?;
            let mut total = 0i64;
            for _ in 0..WANTED {
                let update = sub.recv()?;
                let text = String::from_utf8_lossy(&update[0]).into_owned();
                assert!(
                    text.starts_with(&format!("weather.{city} ")),
                    "filtered: {text}"
                );
                total += text
                    .rsplit(' ')
                    .next()
                    .and_then(|t| t.parse::<i64>().ok())
                    .unwrap_or(0);
            }
            println!(
                "{city}: average {} over {WANTED} updates",
                total / WANTED as i64
            );
            finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
    }

    let cities = ["paris", "tokyo", "lima", "oslo"];
    let mut n = 0u64;
    while finished.load(Ordering::SeqCst) < subscribers.len() {
        let city = cities[(n % cities.len() as u64) as usize];
        let temperature = 10 + (n * 7 % 20) as i64;
        publisher.send(format!("weather.{city} {temperature}"))?;
        n += 1;
        if n % cities.len() as u64 == 0 {
            // Pace the demo; this is not synchronisation, the loop ends on `finished`.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    for s in subscribers {
        s.join().expect("subscriber thread")?;
    }
    println!("published {n} updates");
    Ok(())
}
