//! Memory: a PUSH whose PULL stopped reading must stay bounded by the high-water marks.
//! The probe runs in a child process (this binary re-executed with `--rss-probe IMP`) so the
//! peak RSS it reports (VmHWM from /proc/self/status) is its own and not the bench's.

use std::process::Command;
use std::time::{Duration, Instant};

pub const MSG: usize = 16 * 1024;
pub const ATTEMPTS: usize = 200_000; // 3.2 GB if nothing bounded it
pub const HWM: usize = 1000;

#[derive(Clone, Debug, Default)]
pub struct Probe {
    pub imp: String,
    pub accepted: u64,
    pub baseline_kib: u64,
    pub peak_kib: u64,
    pub error: Option<String>,
}

fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn run_all() -> Vec<Probe> {
    ["ferrozmq", "libzmq"]
        .iter()
        .map(|imp| run_one(imp))
        .collect()
}

fn run_one(imp: &str) -> Probe {
    crate::watchdog::enter(&format!("memory/{imp}"));
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe).args(["--rss-probe", imp]).output();
    let mut p = Probe {
        imp: imp.into(),
        ..Default::default()
    };
    match out {
        Err(e) => p.error = Some(e.to_string()),
        Ok(o) => {
            let s = String::from_utf8_lossy(&o.stdout);
            for l in s.lines() {
                let mut kv = l.splitn(2, '=');
                let (k, v) = (kv.next().unwrap_or(""), kv.next().unwrap_or("").trim());
                match k {
                    "accepted" => p.accepted = v.parse().unwrap_or(0),
                    "baseline_kib" => p.baseline_kib = v.parse().unwrap_or(0),
                    "peak_kib" => p.peak_kib = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            if !o.status.success() || p.peak_kib == 0 {
                p.error = Some(format!(
                    "probe failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
        }
    }
    eprintln!("  -> memory/{imp}: {p:?}");
    crate::watchdog::leave();
    p
}

/// The child: PULL bound on tcp and never read; PUSH connected; send 16 KiB messages with a
/// 200 ms send timeout until one times out (the HWMs are full) or ATTEMPTS is reached.
pub fn child(imp: &str) {
    let baseline = vm_hwm_kib();
    let payload = bytes::Bytes::from(vec![7u8; MSG]);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", l.local_addr().unwrap());
    drop(l);
    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let mut accepted = 0u64;
    match imp {
        "ferrozmq" => {
            let ctx = ferrozmq::Context::new();
            let mut pull = ctx.socket(ferrozmq::SocketType::Pull).unwrap();
            pull.set_rcvhwm(HWM).unwrap();
            pull.bind(&ep).unwrap();
            let mut push = ctx.socket(ferrozmq::SocketType::Push).unwrap();
            push.set_sndhwm(HWM).unwrap();
            push.set_linger(Some(Duration::ZERO)).unwrap();
            push.connect(&ep).unwrap();
            for _ in 0..ATTEMPTS {
                if push.send_timeout(payload.clone(), timeout).is_err() {
                    break;
                }
                accepted += 1;
            }
            std::thread::sleep(Duration::from_millis(300)); // let the I/O thread settle
            println!("peak_kib={}", vm_hwm_kib());
            std::mem::forget((push, pull, ctx)); // exit without linger
        }
        "libzmq" => {
            let ctx = zmq::Context::new();
            let pull = ctx.socket(zmq::PULL).unwrap();
            pull.set_rcvhwm(HWM as i32).unwrap();
            pull.bind(&ep).unwrap();
            let push = ctx.socket(zmq::PUSH).unwrap();
            push.set_sndhwm(HWM as i32).unwrap();
            push.set_sndtimeo(timeout.as_millis() as i32).unwrap();
            push.set_linger(0).unwrap();
            push.connect(&ep).unwrap();
            for _ in 0..ATTEMPTS {
                if push.send(&payload[..], 0).is_err() {
                    break;
                }
                accepted += 1;
            }
            std::thread::sleep(Duration::from_millis(300));
            println!("peak_kib={}", vm_hwm_kib());
            std::mem::forget((push, pull, ctx));
        }
        _ => panic!("unknown implementation {imp}"),
    }
    println!("baseline_kib={baseline}");
    println!("accepted={accepted}");
    eprintln!("probe took {:?}", started.elapsed());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}
