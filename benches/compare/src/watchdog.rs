//! A hang guard: if one data point runs far past its budget (a peer that dropped messages
//! and now waits forever, say), write the report from what was measured so far and exit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

static CURRENT: Mutex<Option<(String, Instant)>> = Mutex::new(None);

pub fn enter(name: &str) {
    eprintln!("bench {name}");
    *CURRENT.lock().unwrap() = Some((name.to_string(), Instant::now()));
}

pub fn leave() {
    *CURRENT.lock().unwrap() = None;
}

/// Starts the watchdog thread; `on_hang` gets the name of the stuck data point.
pub fn start(limit: Duration, on_hang: impl Fn(&str) + Send + 'static) {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let stuck = match &*CURRENT.lock().unwrap() {
                Some((name, t)) if t.elapsed() > limit => Some(name.clone()),
                _ => None,
            };
            if let Some(name) = stuck {
                eprintln!(
                    "watchdog: {name} exceeded {limit:?}; writing a partial report and exiting"
                );
                on_hang(&name);
                std::process::exit(2);
            }
        })
        .expect("spawn watchdog");
}
