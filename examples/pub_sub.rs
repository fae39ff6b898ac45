//! A pub/sub feed with prefix filters: a publisher sends weather updates for several
//! cities, and two subscribers each receive only the city they subscribed to.
//!
//! A subscription reaches the publisher asynchronously (the "slow joiner"): whatever the
//! publisher sends before it arrives is not for that subscriber. So, instead of sleeping,
//! each subscriber waits until its subscription has left it (`wait_subscribed`) and the
//! publisher waits until it holds a subscriber for each city (`wait_subscribers`). Then
//! every update is delivered, the very first included: each subscriber gets exactly
//! `WANTED` updates.
//!
//! Run: `cargo run --example pub_sub`

use ferrozmq::{Context, SocketType};
use std::time::Duration;

const WANTED: usize = 20;
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ferrozmq::Result<()> {
    let ctx = Context::new();
    let mut publisher = ctx.socket(SocketType::Pub)?;
    publisher.bind("tcp://127.0.0.1:*")?;
    let endpoint = publisher.last_endpoint().expect("bound");

    let subscribed = ["paris", "tokyo"];
    let mut subscribers = Vec::new();
    for city in subscribed {
        let (ctx, endpoint) = (ctx.clone(), endpoint.clone());
        subscribers.push(std::thread::spawn(move || -> ferrozmq::Result<()> {
            let mut sub = ctx.socket(SocketType::Sub)?;
            sub.connect(&endpoint)?;
            sub.subscribe(format!("weather.{city} "))?;
            sub.wait_subscribed(JOIN_TIMEOUT)?;
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
            Ok(())
        }));
    }

    // No sleep: wait until each subscribed city has its subscriber.
    for city in subscribed {
        publisher.wait_subscribers(format!("weather.{city} "), 1, JOIN_TIMEOUT)?;
    }
    let cities = ["paris", "tokyo", "lima", "oslo"];
    let n = WANTED * cities.len();
    for i in 0..n {
        let city = cities[i % cities.len()];
        let temperature = 10 + (i * 7 % 20) as i64;
        publisher.send(format!("weather.{city} {temperature}"))?;
    }
    for s in subscribers {
        s.join().expect("subscriber thread")?;
    }
    println!("published {n} updates");
    Ok(())
}
