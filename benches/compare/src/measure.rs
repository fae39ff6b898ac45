//! Measurement plumbing: the fixture trait, CPU time from getrusage, criterion as the driver,
//! and the results store that the report is generated from.

use criterion::{Criterion, SamplingMode};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One benchmark data point, set up and ready: `run(n)` performs `n` iterations (messages for
/// throughput, round trips for latency, batches for fan-out) and returns the wall time.
pub trait Fixture {
    fn run(&mut self, n: u64) -> Result<Duration, String>;
}

/// Process CPU time (user + system, all threads: both ends of every measurement live in this
/// process, so this is the total cost of sender, receiver and every I/O thread).
pub fn cpu_time() -> Duration {
    // SAFETY-free wrapper: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// What one data point measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// messages per second; `per_iter` messages per iteration
    Throughput,
    /// one iteration is a round trip; reported as one-way latency (RTT / 2)
    Latency,
}

/// A finished data point.
#[derive(Clone, Debug)]
pub struct Point {
    pub scenario: String,  // "thr", "lat", "fanout", "push_many"
    pub transport: String, // inproc | ipc | tcp
    pub imp: String,       // ferrozmq | libzmq | omq | rzmq | zmq.rs | raw
    pub size: usize,
    pub peers: usize,
    /// median messages per second (throughput) or round trips per second (latency)
    pub rate: f64,
    /// median one-way latency in µs (latency points only)
    pub lat_us: f64,
    /// median CPU seconds per million messages (throughput) / CPU µs per round trip (latency)
    pub cpu: f64,
    pub samples: usize,
    pub error: Option<String>,
}

impl Point {
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario, "transport": self.transport, "imp": self.imp,
            "size": self.size, "peers": self.peers, "rate": self.rate, "lat_us": self.lat_us,
            "cpu": self.cpu, "samples": self.samples, "error": self.error,
        })
    }
    pub fn from_json(v: &Value) -> Point {
        Point {
            scenario: v["scenario"].as_str().unwrap_or_default().into(),
            transport: v["transport"].as_str().unwrap_or_default().into(),
            imp: v["imp"].as_str().unwrap_or_default().into(),
            size: v["size"].as_u64().unwrap_or(0) as usize,
            peers: v["peers"].as_u64().unwrap_or(0) as usize,
            rate: v["rate"].as_f64().unwrap_or(0.0),
            lat_us: v["lat_us"].as_f64().unwrap_or(0.0),
            cpu: v["cpu"].as_f64().unwrap_or(0.0),
            samples: v["samples"].as_u64().unwrap_or(0) as usize,
            error: v["error"].as_str().map(String::from),
        }
    }
}

pub static RESULTS: Mutex<Vec<Point>> = Mutex::new(Vec::new());

/// Every recorded sample of each data point so far, by name, so that a point measured in
/// several rounds (fresh sockets each time) gets medians over all of them.
static SAMPLES: Mutex<Vec<(String, Vec<[f64; 3]>)>> = Mutex::new(Vec::new());

/// Timing knobs, from the command line.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub warm_up: Duration,
    pub measure: Duration,
    pub samples: usize,
}

pub fn criterion(t: Timing) -> Criterion {
    Criterion::default()
        .warm_up_time(t.warm_up)
        .measurement_time(t.measure)
        .sample_size(t.samples.max(10))
        .nresamples(1001)
        .without_plots()
    // No configure_from_args(): the member binary has its own command line.
}

struct Sample {
    iters: u64,
    wall: Duration,
    cpu: Duration,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Identifies a data point (criterion id and report keys).
#[derive(Clone, Debug)]
pub struct Id {
    pub scenario: &'static str,
    pub transport: &'static str,
    pub imp: &'static str,
    pub size: usize,
    pub peers: usize,
}

impl Id {
    pub fn name(&self) -> String {
        let mut s = format!(
            "{}/{}/{}/{}B",
            self.scenario, self.transport, self.imp, self.size
        );
        if self.peers > 1 || self.scenario == "fanout" {
            s.push_str(&format!("/{}peers", self.peers));
        }
        s
    }
}

/// Runs one data point through criterion (`iter_custom`), keeping our own record of every
/// measurement sample (wall and CPU) so the report can give medians of both.
pub fn run_point(
    c: &mut Criterion,
    id: Id,
    kind: Kind,
    per_iter: u64,
    setup: impl FnOnce() -> Result<Box<dyn Fixture>, String>,
    samples_wanted: usize,
) {
    let name = id.name();
    crate::watchdog::enter(&name);
    let started = Instant::now();
    let mut point = Point {
        scenario: id.scenario.into(),
        transport: id.transport.into(),
        imp: id.imp.into(),
        size: id.size,
        peers: id.peers,
        rate: f64::NAN,
        lat_us: f64::NAN,
        cpu: f64::NAN,
        samples: 0,
        error: None,
    };
    match setup() {
        Err(e) => point.error = Some(e),
        Ok(mut fixture) => {
            let mut rec: Vec<Sample> = Vec::new();
            let mut error: Option<String> = None;
            let mut group = c.benchmark_group(id.scenario);
            group.sampling_mode(SamplingMode::Flat);
            match kind {
                Kind::Throughput => {
                    group.throughput(criterion::Throughput::Elements(per_iter));
                }
                Kind::Latency => {}
            }
            group.bench_function(
                name.trim_start_matches(id.scenario).trim_start_matches('/'),
                |b| {
                    b.iter_custom(|iters| {
                        if error.is_some() {
                            return Duration::from_millis(10) * iters as u32;
                        }
                        let c0 = cpu_time();
                        match fixture.run(iters) {
                            Ok(wall) => {
                                let cpu = cpu_time().saturating_sub(c0);
                                rec.push(Sample { iters, wall, cpu });
                                wall
                            }
                            Err(e) => {
                                error = Some(e);
                                Duration::from_millis(10) * iters as u32
                            }
                        }
                    })
                },
            );
            group.finish();
            drop(fixture);
            if let Some(e) = error {
                point.error = Some(e);
            } else {
                // criterion calls iter_custom for warm-up first; the measurement samples are
                // the last `samples_wanted` calls. Each becomes (rate, one-way µs, CPU).
                let keep = rec.len().min(samples_wanted);
                let msgs = |s: &Sample| (s.iters * per_iter) as f64;
                let this_round = rec[rec.len() - keep..].iter().map(|s| {
                    let wall = s.wall.as_secs_f64();
                    let cpu = s.cpu.as_secs_f64();
                    match kind {
                        Kind::Throughput => [msgs(s) / wall, f64::NAN, cpu / msgs(s) * 1e6],
                        Kind::Latency => [
                            s.iters as f64 / wall,
                            wall * 1e6 / (2.0 * s.iters as f64),
                            cpu * 1e6 / s.iters as f64,
                        ],
                    }
                });
                let mut store = SAMPLES.lock().unwrap();
                let all = match store.iter().position(|(n, _)| *n == name) {
                    Some(i) => &mut store[i].1,
                    None => {
                        store.push((name.clone(), Vec::new()));
                        &mut store.last_mut().unwrap().1
                    }
                };
                all.extend(this_round);
                let column = |k: usize| median(all.iter().map(|v| v[k]).collect());
                point.samples = all.len();
                point.rate = column(0);
                point.cpu = column(2);
                if kind == Kind::Latency {
                    point.lat_us = column(1);
                }
            }
        }
    }
    eprintln!(
        "  -> {name}: {} ({:.1}s)",
        match (&point.error, kind) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, Kind::Throughput) =>
                format!("{:.0} msg/s, {:.3} CPU s/1M msgs", point.rate, point.cpu),
            (None, Kind::Latency) => format!(
                "{:.2} us one-way, {:.1} CPU us/roundtrip",
                point.lat_us, point.cpu
            ),
        },
        started.elapsed().as_secs_f64()
    );
    let mut results = RESULTS.lock().unwrap();
    let same = |p: &Point| {
        (&p.scenario, &p.transport, &p.imp, p.size, p.peers)
            == (
                &point.scenario,
                &point.transport,
                &point.imp,
                point.size,
                point.peers,
            )
    };
    match results.iter().position(same) {
        // A later round of the same point: keep an earlier failure, else the new medians.
        Some(i) if results[i].error.is_none() => results[i] = point,
        Some(_) => {}
        None => results.push(point),
    }
    drop(results);
    crate::watchdog::leave();
}
