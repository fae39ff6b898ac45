//! The scale section (how cost grows with the number of peers): runs one server process per
//! data point (`scale_server.rs`, whose peers live in processes of their own, `scale_peers.rs`)
//! and keeps the `key=value` figures each prints. ferrozmq, libzmq and OMQ.rs take turns at
//! every point. Groups, each selectable with `--filter` (data point names start `scale/`):
//! - `scale/conn-router`, `scale/conn-pull`: 1 .. 10,000 tcp peers on one ROUTER / PULL;
//! - `scale/fanout`: one PUB to 1 .. 1,000 subscribers; `scale/trie`: one subscriber with
//!   1 .. 100,000 topics;
//! - `scale/idle`: 1,000 idle sockets in one context; `scale/iothreads`: 1, 2, 4 I/O threads.
//!
//! Must keep true: a data point never hangs the run (each server process has a hard time
//! limit and is killed past it), and a point that could not be measured says why.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const SCALE_IMPS: [&str; 3] = ["ferrozmq", "libzmq", "omq"];
pub const CONN_PEERS: [usize; 5] = [1, 10, 100, 1_000, 10_000];
pub const FANOUT_SUBS: [usize; 4] = [1, 10, 100, 1_000];
pub const TRIE_TOPICS: [usize; 6] = [1, 10, 100, 1_000, 10_000, 100_000];
pub const IDLE_SOCKETS: usize = 1_000;
pub const IO_THREADS: [usize; 3] = [1, 2, 4];
/// Rounds of the fan-out points (not with --quick).
pub const FANOUT_ROUNDS: usize = 3;

/// One data point: its group, implementation, peer (or topic, or socket) count, I/O threads,
/// and the figures its server printed.
#[derive(Clone, Debug, Default)]
pub struct ScalePoint {
    pub group: String,
    pub imp: String,
    pub n: usize,
    pub io: usize,
    pub m: BTreeMap<String, f64>,
    pub error: Option<String>,
}

impl ScalePoint {
    pub fn get(&self, k: &str) -> Option<f64> {
        self.m.get(k).copied().filter(|v| v.is_finite())
    }
}

#[derive(Clone, Debug, Default)]
pub struct ScaleResults {
    pub points: Vec<ScalePoint>,
    /// Why the section is empty, when it is.
    pub note: Option<String>,
    /// Sending / publishing window and idle window of this run, ms.
    pub window_ms: u64,
    pub idle_ms: u64,
    pub iothreads_peers: usize,
}

impl ScaleResults {
    pub fn to_json(&self) -> Value {
        json!({
            "note": self.note, "window_ms": self.window_ms, "idle_ms": self.idle_ms,
            "iothreads_peers": self.iothreads_peers,
            "points": self.points.iter().map(|p| json!({
                "group": p.group, "imp": p.imp, "n": p.n, "io": p.io, "m": p.m, "error": p.error,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn from_json(v: &Value) -> ScaleResults {
        ScaleResults {
            note: v["note"].as_str().map(String::from),
            window_ms: v["window_ms"].as_u64().unwrap_or(0),
            idle_ms: v["idle_ms"].as_u64().unwrap_or(0),
            iothreads_peers: v["iothreads_peers"].as_u64().unwrap_or(0) as usize,
            points: v["points"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| ScalePoint {
                    group: p["group"].as_str().unwrap_or_default().into(),
                    imp: p["imp"].as_str().unwrap_or_default().into(),
                    n: p["n"].as_u64().unwrap_or(0) as usize,
                    io: p["io"].as_u64().unwrap_or(1) as usize,
                    m: p["m"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
                        .collect(),
                    error: p["error"].as_str().map(String::from),
                })
                .collect(),
        }
    }

    pub fn find(&self, group: &str, imp: &str, n: usize, io: usize) -> Option<&ScalePoint> {
        self.points
            .iter()
            .find(|p| p.group == group && p.imp == imp && p.n == n && p.io == io)
    }
}

/// Whether any filter selects part of this section.
pub fn wanted(filters: &[String]) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.contains("scale"))
}

/// Runs every selected point of the section.
pub fn run(filters: &[String], quick: bool) -> ScaleResults {
    let want = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let window_ms = if quick { 500 } else { 1500 };
    let idle_ms = if quick { 1000 } else { 3000 };
    let max_peers = if quick { 1_000 } else { 10_000 };
    let max_topics = if quick { 10_000 } else { 100_000 };
    let io_peers = if quick { 100 } else { 1_000 };
    let mut r = ScaleResults {
        window_ms,
        idle_ms,
        iothreads_peers: io_peers,
        ..Default::default()
    };
    let mut point = |group: &str, imp: &str, n: usize, io: usize, args: Vec<String>| {
        let name = format!(
            "scale/{group}/{imp}/{n}{}",
            if io > 1 {
                format!("/io{io}")
            } else {
                String::new()
            }
        );
        if !want(&name) {
            return;
        }
        let p = run_server(&name, group, imp, n, io, args);
        r.points.push(p);
    };
    let s = |x: usize| x.to_string();
    for mode in ["router", "pull"] {
        for n in CONN_PEERS.into_iter().filter(|&n| n <= max_peers) {
            let deadline_ms = 5_000 + n as u64 * 3;
            for imp in SCALE_IMPS {
                let args = vec![
                    mode.into(),
                    imp.into(),
                    s(n),
                    s(1),
                    window_ms.to_string(),
                    deadline_ms.to_string(),
                ];
                point(&format!("conn-{mode}"), imp, n, 1, args);
            }
        }
    }
    // Fan-out swings most from one run to the next (the publisher, the I/O thread and the
    // subscribers share 2 cores) and carries a ratio target: FANOUT_ROUNDS rounds, the
    // implementations taking turns, medians (`merge`).
    for _ in 0..if quick { 1 } else { FANOUT_ROUNDS } {
        for n in FANOUT_SUBS {
            for imp in SCALE_IMPS {
                let args = vec![
                    "pub".into(),
                    imp.into(),
                    s(n),
                    s(1),
                    window_ms.to_string(),
                    "10000".into(),
                ];
                point("fanout", imp, n, 1, args);
            }
        }
    }
    for k in TRIE_TOPICS.into_iter().filter(|&k| k <= max_topics) {
        for imp in SCALE_IMPS {
            let args = vec![
                "trie".into(),
                imp.into(),
                s(1),
                s(1),
                window_ms.to_string(),
                "20000".into(),
                s(k),
            ];
            point("trie", imp, k, 1, args);
        }
    }
    for imp in SCALE_IMPS {
        let args = vec![
            "idle".into(),
            imp.into(),
            s(IDLE_SOCKETS),
            s(1),
            idle_ms.to_string(),
            "0".into(),
        ];
        point("idle", imp, IDLE_SOCKETS, 1, args);
    }
    for io in IO_THREADS {
        for imp in SCALE_IMPS {
            let deadline_ms = 5_000 + io_peers as u64 * 3;
            let args = vec![
                "pull".into(),
                imp.into(),
                s(io_peers),
                s(io),
                window_ms.to_string(),
                deadline_ms.to_string(),
            ];
            point("iothreads", imp, io_peers, io, args);
        }
    }
    if r.points.is_empty() {
        r.note = Some("Not measured in this run (a --filter without `scale`).".into());
    }
    r.points = merge(std::mem::take(&mut r.points));
    r
}

/// One point per (group, implementation, n, I/O threads): the median of each figure over
/// the rounds that succeeded (`rounds` says how many); an error only if every round failed.
fn merge(points: Vec<ScalePoint>) -> Vec<ScalePoint> {
    let mut out: Vec<(ScalePoint, Vec<ScalePoint>)> = Vec::new();
    for p in points {
        let key = |q: &ScalePoint| (q.group.clone(), q.imp.clone(), q.n, q.io);
        match out.iter_mut().find(|(first, _)| key(first) == key(&p)) {
            Some((_, all)) => all.push(p),
            None => out.push((p.clone(), vec![p])),
        }
    }
    out.into_iter()
        .map(|(first, all)| {
            let ok: Vec<&ScalePoint> = all.iter().filter(|p| p.error.is_none()).collect();
            if ok.is_empty() {
                return first;
            }
            let mut m = BTreeMap::new();
            for k in ok[0].m.keys() {
                let mut v: Vec<f64> = ok.iter().filter_map(|p| p.get(k)).collect();
                v.sort_by(|a, b| a.total_cmp(b));
                if !v.is_empty() {
                    m.insert(k.clone(), v[v.len() / 2]);
                }
            }
            m.insert("rounds".into(), ok.len() as f64);
            ScalePoint {
                m,
                error: None,
                ..first
            }
        })
        .collect()
}

/// One server process, killed if it outlives its limit; its `key=value` lines are the point.
fn run_server(
    name: &str,
    group: &str,
    imp: &str,
    n: usize,
    io: usize,
    args: Vec<String>,
) -> ScalePoint {
    crate::watchdog::enter(name);
    let limit = Duration::from_secs(100);
    let mut p = ScalePoint {
        group: group.into(),
        imp: imp.into(),
        n,
        io,
        ..Default::default()
    };
    let started = Instant::now();
    let exe = std::env::current_exe().expect("current_exe");
    match Command::new(exe)
        .arg("--scale-server")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
    {
        Err(x) => p.error = Some(x.to_string()),
        Ok(mut c) => {
            let mut stdout = c.stdout.take().unwrap();
            let reader = std::thread::spawn(move || {
                let mut s = String::new();
                let _ = stdout.read_to_string(&mut s);
                s
            });
            let mut timed_out = false;
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if started.elapsed() > limit => {
                        let _ = c.kill();
                        let _ = c.wait();
                        timed_out = true;
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                    Err(_) => break,
                }
            }
            let text = reader.join().unwrap_or_default();
            for l in text.lines() {
                if let Some((k, v)) = l.split_once('=') {
                    if k == "error" {
                        p.error = Some(v.to_string());
                    } else if let Ok(f) = v.trim().parse::<f64>() {
                        p.m.insert(k.to_string(), f);
                    }
                }
            }
            if timed_out {
                p.error = Some(format!("timed out after {limit:?}"));
            } else if p.m.is_empty() && p.error.is_none() {
                p.error = Some("the server process printed nothing".into());
            }
        }
    }
    eprintln!(
        "  -> {name}: {} ({:.1}s)",
        match &p.error {
            Some(x) => format!("FAILED: {x}"),
            None =>
                p.m.iter()
                    .map(|(k, v)| format!("{k}={v:.4}"))
                    .collect::<Vec<_>>()
                    .join(" "),
        },
        started.elapsed().as_secs_f64()
    );
    crate::watchdog::leave();
    p
}
