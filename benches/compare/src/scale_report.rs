//! The "Scale" section of docs/performance.md and its plots (docs/perf/scale-*.svg), from the
//! figures of scale.rs. Every curve is drawn against the peer, topic or thread count on log
//! scales, and the text names every cost that grows faster than linearly.
//!
//! Must keep true: a point that failed shows as n/a with its reason (never as a number), and
//! the growth checks only compare points that were both measured.

use std::fmt::Write as _;
use std::path::Path;

use crate::report::{svg_hgrid, svg_panel, svg_xtick};
use crate::scale::{
    ScalePoint, ScaleResults, CONN_PEERS, FANOUT_SUBS, IDLE_SOCKETS, IO_THREADS, SCALE_IMPS,
    TRIE_TOPICS,
};
use crate::scale_server::SERVER_RCVHWM;

/// Connect times below this are left out of the growth checks: a few ms are decided by
/// process scheduling on this shared machine, not by the number of peers.
const CONNECT_FLOOR_S: f64 = 0.02;

const COLORS: [(&str, &str, &str); 3] = [
    ("ferrozmq", "ferrozmq", "#d62728"),
    ("libzmq", "libzmq", "#1f77b4"),
    ("omq", "OMQ.rs", "#2ca02c"),
];

fn label(imp: &str) -> &'static str {
    COLORS
        .iter()
        .find(|c| c.0 == imp)
        .map(|c| c.1)
        .unwrap_or("?")
}

fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The cell of a point: `f(point)` when it was measured, else why not.
fn cell(p: Option<&ScalePoint>, f: impl Fn(&ScalePoint) -> Option<String>) -> String {
    match p {
        None => "–".into(),
        Some(p) => match &p.error {
            Some(e) => match p.get("connected") {
                Some(c) if (c as usize) < p.n => format!(
                    "n/a ({}: {c:.0} connected)",
                    if p.get("fd_exhausted").is_some()
                        || p.get("open_fds").unwrap_or(0.0) > 15_000.0
                    {
                        "fd limit"
                    } else {
                        "stopped"
                    }
                ),
                _ => format!("n/a ({})", e.chars().take(40).collect::<String>()),
            },
            None => f(p).unwrap_or_else(|| "–".into()),
        },
    }
}

/// Log-log slopes between consecutive measured points with n ≥ `from` and a cost of at least
/// `floor` (below it fixed costs and scheduling noise decide); a sentence for each step that
/// grows faster than linearly (slope above 1.2).
fn superlinear(what: &str, pts: &[(usize, f64)], from: usize, floor: f64) -> Vec<String> {
    let pts: Vec<(usize, f64)> = pts
        .iter()
        .copied()
        .filter(|&(n, c)| n >= from && c.is_finite() && c > 0.0 && c >= floor)
        .collect();
    pts.windows(2)
        .filter_map(|w| {
            let (n1, c1) = w[0];
            let (n2, c2) = w[1];
            let slope = (c2 / c1).ln() / (n2 as f64 / n1 as f64).ln();
            (slope > 1.2).then(|| {
                format!(
                    "**{what} grows faster than linearly** from {n1} to {n2}: ×{:.1} for ×{:.0} \
                     (log-log slope {slope:.2}).",
                    c2 / c1,
                    n2 as f64 / n1 as f64
                )
            })
        })
        .collect()
}

pub fn section(w: &mut String, r: &ScaleResults) {
    let _ = writeln!(w, "## Scale: cost against the number of peers\n");
    let _ = writeln!(
        w,
        "Each data point runs the server under test (one ferrozmq, libzmq or OMQ.rs socket) in a \
         process of its own, so that RSS and failures are its own; its peers are hand-written \
         ZMTP 3 NULL clients over plain sockets in further processes (at most 2,500 per process, \
         below the fd limit), the very same peers for every implementation. tcp on 127.0.0.1, \
         64 B messages, sending/publishing window {} ms. ROUTER and PULL servers get RCVHWM {} \
         (all implementations), PUB the default SNDHWM (1,000). On this 2-core machine the peer \
         processes compete with the server for the CPUs: figures with many busy peers measure \
         the whole system, and on this shared machine a throughput figure can differ by up to \
         2× from one run to the next; read the shapes of the curves, not single digits. Growth \
         checks skip connect times under {} ms. `--filter scale` runs this section alone.\n",
        r.window_ms,
        SERVER_RCVHWM,
        CONNECT_FLOOR_S * 1e3
    );
    if let Some(n) = &r.note {
        let _ = writeln!(w, "{n}\n");
        return;
    }
    let mut growth: Vec<String> = Vec::new();
    conn_section(w, r, &mut growth);
    fanout_section(w, r, &mut growth);
    idle_section(w, r);
    io_section(w, r);
    let _ = writeln!(w, "### Growth faster than linear\n");
    if growth.is_empty() {
        let _ = writeln!(
            w,
            "None seen: no measured cost (connect time, memory, CPU per delivered message, trie \
             filtering per message) grew faster than the number of peers or topics between two \
             measured points.\n"
        );
    } else {
        for g in &growth {
            let _ = writeln!(w, "- {g}");
        }
        let _ = writeln!(w);
    }
    crate::report::failures(
        w,
        "Scale points not measured",
        r.points.iter().filter_map(|p| {
            let name = format!("scale/{}/{}/{}, I/O threads {}", p.group, p.imp, p.n, p.io);
            p.error.as_deref().map(|e| (name, e))
        }),
    );
}

fn conn_section(w: &mut String, r: &ScaleResults, growth: &mut Vec<String>) {
    let _ = writeln!(w, "### Connections: N tcp peers on one ROUTER / one PULL\n");
    let _ = writeln!(
        w,
        "Connect time: from telling the peer processes to connect until every peer has \
         finished its handshake (8 connecting threads per peer process). Memory: (VmRSS with N \
         connected − VmRSS with none) / N, of the server process. Peak: the server process's \
         VmHWM over the whole point, sending window included, which shows what it buffers \
         while every peer sends faster than it reads (RCVHWM 100). Throughput: every peer sends \
         as fast as its socket takes it; the server counts what it receives; in brackets the \
         ratio to the 10-peer point (target: ≥ 0.5 at 10,000).\n"
    );
    let _ = writeln!(w, "![connections](perf/scale-connections.svg)\n");
    for mode in ["router", "pull"] {
        let group = format!("conn-{mode}");
        let _ = writeln!(w, "#### {}\n", mode.to_uppercase());
        let _ = write!(w, "| peers |");
        for what in ["connect", "RSS / conn", "peak RSS", "msg/s (× 10-peer)"] {
            for imp in SCALE_IMPS {
                let _ = write!(w, " {what}: {} |", label(imp));
            }
        }
        let _ = writeln!(w, "\n|---|{}", "---|".repeat(12));
        for n in CONN_PEERS {
            if SCALE_IMPS.iter().all(|i| r.find(&group, i, n, 1).is_none()) {
                continue;
            }
            let _ = write!(w, "| {n} |");
            for imp in SCALE_IMPS {
                let c = cell(r.find(&group, imp, n, 1), |p| {
                    p.get("connect_s").map(|s| format!("{:.0} ms", s * 1e3))
                });
                let _ = write!(w, " {c} |");
            }
            for imp in SCALE_IMPS {
                let c = cell(r.find(&group, imp, n, 1), |p| {
                    p.get("rss_per_conn_kib").map(|k| format!("{k:.1} KiB"))
                });
                let _ = write!(w, " {c} |");
            }
            for imp in SCALE_IMPS {
                let c = cell(r.find(&group, imp, n, 1), |p| {
                    p.get("rss_peak_kib")
                        .map(|k| format!("{:.0} MiB", k / 1024.0))
                });
                let _ = write!(w, " {c} |");
            }
            for imp in SCALE_IMPS {
                let base = r.find(&group, imp, 10, 1).and_then(|p| p.get("rate"));
                let c = cell(r.find(&group, imp, n, 1), |p| {
                    p.get("rate").map(|v| match base {
                        Some(b) if b > 0.0 => format!("{} ({:.2}×)", num(v), v / b),
                        _ => num(v),
                    })
                });
                let _ = write!(w, " {c} |");
            }
            let _ = writeln!(w);
        }
        let _ = writeln!(w);
        // targets
        let f = |n: usize, k: &str, imp: &str| r.find(&group, imp, n, 1).and_then(|p| p.get(k));
        let mem: Vec<String> = CONN_PEERS
            .iter()
            .filter(|&&n| n >= 100)
            .filter_map(|&n| {
                let (a, b) = (
                    f(n, "rss_per_conn_kib", "ferrozmq")?,
                    f(n, "rss_per_conn_kib", "libzmq")?,
                );
                Some(format!(
                    "{n}: {a:.1} vs {b:.1} KiB {}",
                    if a <= b { "(met)" } else { "(**missed**)" }
                ))
            })
            .collect();
        let _ = writeln!(
            w,
            "- Target, memory per connection at or below libzmq's (from 100 peers; below that \
             the difference is noise): {}.",
            if mem.is_empty() {
                "not measured".into()
            } else {
                mem.join("; ")
            }
        );
        let top = CONN_PEERS
            .iter()
            .rev()
            .copied()
            .find(|&n| r.find(&group, "ferrozmq", n, 1).is_some());
        let thr = match (f(10, "rate", "ferrozmq"), top) {
            (Some(b), Some(n)) => match f(n, "rate", "ferrozmq") {
                Some(v) => format!(
                    "{:.2}× the 10-peer throughput at {n} peers{} {}",
                    v / b,
                    match (f(10, "rate", "libzmq"), f(n, "rate", "libzmq")) {
                        (Some(lb), Some(lv)) if lb > 0.0 => format!(" (libzmq: {:.2}×)", lv / lb),
                        _ => String::new(),
                    },
                    if n < 10_000 {
                        "(10,000 not measured)"
                    } else if v * 2.0 >= b {
                        "(met)"
                    } else {
                        "(**missed**)"
                    }
                ),
                None => format!(
                    "not measurable at {n} peers ({})",
                    cell(r.find(&group, "ferrozmq", n, 1), |_| None)
                ),
            },
            _ => "not measured".into(),
        };
        let _ = writeln!(
            w,
            "- Target, ferrozmq's throughput with 10,000 peers within 2× of 10 peers: {thr}.\n"
        );
        for imp in SCALE_IMPS {
            let pts = |k: &str| -> Vec<(usize, f64)> {
                CONN_PEERS
                    .iter()
                    .filter_map(|&n| Some((n, f(n, k, imp)?)))
                    .collect()
            };
            growth.extend(superlinear(
                &format!("{} {} connect time", label(imp), mode.to_uppercase()),
                &pts("connect_s"),
                100,
                CONNECT_FLOOR_S,
            ));
            let rss: Vec<(usize, f64)> = CONN_PEERS
                .iter()
                .filter_map(|&n| Some((n, f(n, "rss_kib", imp)? - f(n, "rss0_kib", imp)?)))
                .collect();
            growth.extend(superlinear(
                &format!("{} {} memory", label(imp), mode.to_uppercase()),
                &rss,
                100,
                0.0,
            ));
        }
    }
}

fn fanout_section(w: &mut String, r: &ScaleResults, growth: &mut Vec<String>) {
    let _ = writeln!(w, "### Fan-out: one PUB to N tcp subscribers, 64 B\n");
    let _ = writeln!(
        w,
        "The PUB publishes as fast as it can, a static payload as in the main tables (libzmq \
         copies it into each message); each subscriber counts what it receives. Messages \
         delivered per second in total (all subscribers), in brackets the share dropped at the \
         HWM (1 − delivered / (published × subscribers)); medians of 3 rounds, the \
         implementations taking turns (1 round with --quick). Target: ferrozmq ≥ 1.5× libzmq at \
         every point.\n"
    );
    let _ = writeln!(w, "![fan-out](perf/scale-fanout.svg)\n");
    let _ = write!(w, "| subscribers |");
    for imp in SCALE_IMPS {
        let _ = write!(w, " {} |", label(imp));
    }
    let _ = writeln!(
        w,
        " ferrozmq / libzmq |\n|---|{}---|",
        "---|".repeat(SCALE_IMPS.len())
    );
    let rate = |imp: &str, n: usize| r.find("fanout", imp, n, 1).and_then(|p| p.get("rate"));
    let mut misses = Vec::new();
    let mut any = false;
    for n in FANOUT_SUBS {
        if SCALE_IMPS
            .iter()
            .all(|i| r.find("fanout", i, n, 1).is_none())
        {
            continue;
        }
        any = true;
        let _ = write!(w, "| {n} |");
        for imp in SCALE_IMPS {
            let c = cell(r.find("fanout", imp, n, 1), |p| {
                Some(format!(
                    "{} ({:.0}% dropped, {:.0} ns CPU / delivered)",
                    num(p.get("rate")?),
                    p.get("drop_rate")? * 100.0,
                    p.get("cpu_ns_per_delivered").unwrap_or(f64::NAN)
                ))
            });
            let _ = write!(w, " {c} |");
        }
        match (rate("ferrozmq", n), rate("libzmq", n)) {
            (Some(a), Some(b)) if b > 0.0 => {
                if a / b < 1.5 {
                    misses.push(n.to_string());
                }
                let _ = writeln!(w, " {:.2}× |", a / b);
            }
            _ => {
                misses.push(format!("{n} (not measured)"));
                let _ = writeln!(w, " – |");
            }
        }
    }
    let _ = writeln!(w);
    if any {
        let _ = writeln!(
            w,
            "- Target, ≥ 1.5× libzmq at every point: {}.\n",
            if misses.is_empty() {
                "met".to_string()
            } else {
                format!("**missed** at {} subscribers", misses.join(", "))
            }
        );
    }
    // Publishing one message to N subscribers costs N deliveries: the total grows faster
    // than linearly when the cost per delivered message itself grows with N.
    for imp in SCALE_IMPS {
        let pts: Vec<(usize, f64)> = FANOUT_SUBS
            .iter()
            .filter_map(|&n| Some((n, r.find("fanout", imp, n, 1)?.get("cpu_ns_per_delivered")?)))
            .collect();
        for win in pts.windows(2) {
            let ((n1, c1), (n2, c2)) = (win[0], win[1]);
            let slope = (c2 / c1).ln() / (n2 as f64 / n1 as f64).ln();
            if slope > 0.2 {
                growth.push(format!(
                    "**{} fan-out cost grows faster than linearly** from {n1} to {n2} \
                     subscribers: the CPU per delivered message ×{:.1} ({c1:.0} → {c2:.0} ns), \
                     so delivering one message to all of them costs ×{:.0} for ×{:.0} \
                     subscribers.",
                    label(imp),
                    c2 / c1,
                    c2 / c1 * n2 as f64 / n1 as f64,
                    n2 as f64 / n1 as f64
                ));
            }
        }
    }

    let _ = writeln!(
        w,
        "#### Subscription trie: one subscriber with 1 .. 100,000 topics\n"
    );
    let _ = writeln!(
        w,
        "One subscriber subscribes to topics `t/000000`, `t/000001`, ...; the PUB publishes 64 B \
         messages on topics drawn from twice that range, so about half match. Publish rate, in \
         brackets the publishing process's CPU per published message (filtering, plus sending \
         what matched), then what the subscriber received. A flat curve means the filtering cost \
         does not depend on the number of subscriptions. OMQ.rs's PUB hands each message to its \
         I/O thread through a queue and drops it there when that thread is behind, before any \
         filtering, so its publish rate shows the hand-off and not the trie: its delivered rate \
         is the figure to compare.\n"
    );
    let _ = write!(w, "| topics |");
    for imp in SCALE_IMPS {
        let _ = write!(w, " {} |", label(imp));
    }
    let _ = writeln!(w, "\n|---|{}", "---|".repeat(SCALE_IMPS.len()));
    for k in TRIE_TOPICS {
        if SCALE_IMPS.iter().all(|i| r.find("trie", i, k, 1).is_none()) {
            continue;
        }
        let _ = write!(w, "| {k} |");
        for imp in SCALE_IMPS {
            let c = cell(r.find("trie", imp, k, 1), |p| {
                Some(format!(
                    "{} msg/s ({:.0} ns); {} delivered/s",
                    num(p.get("publish_rate")?),
                    p.get("cpu_ns_per_published")?,
                    num(p.get("rate")?)
                ))
            });
            let _ = write!(w, " {c} |");
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(w);
    for imp in SCALE_IMPS {
        let pts: Vec<(usize, f64)> = TRIE_TOPICS
            .iter()
            .filter_map(|&k| Some((k, r.find("trie", imp, k, 1)?.get("cpu_ns_per_published")?)))
            .collect();
        if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
            if b.0 > a.0 {
                let slope = (b.1 / a.1).ln() / (b.0 as f64 / a.0 as f64).ln();
                let _ = writeln!(
                    w,
                    "- {}: CPU per published message ×{:.2} from {} to {} topics (log-log slope \
                     {slope:.2}{}).",
                    label(imp),
                    b.1 / a.1,
                    a.0,
                    b.0,
                    if slope > 1.2 {
                        ": **faster than linear**"
                    } else if slope > 0.05 {
                        ": grows with the topic count, slower than linearly"
                    } else {
                        ": flat"
                    }
                );
            }
        }
        growth.extend(superlinear(
            &format!("{} trie filtering cost per message", label(imp)),
            &pts,
            1,
            0.0,
        ));
    }
    let _ = writeln!(w);
}

fn idle_section(w: &mut String, r: &ScaleResults) {
    let _ = writeln!(w, "### Idle: {IDLE_SOCKETS} sockets in one context\n");
    let _ = writeln!(
        w,
        "{} PULL sockets bound on tcp and {} PUSH sockets connected to them, then {} ms of \
         nothing. CPU time of the whole process (getrusage) and wake-ups (voluntary + \
         involuntary context switches summed over every thread, /proc/self/task/*/status). \
         Target: zero.\n",
        IDLE_SOCKETS / 2,
        IDLE_SOCKETS / 2,
        r.idle_ms
    );
    let _ = writeln!(
        w,
        "| | threads | open fds | CPU ms per s | wake-ups per s | RSS |\n|---|---|---|---|---|---|"
    );
    for imp in SCALE_IMPS {
        let p = r.find("idle", imp, IDLE_SOCKETS, 1);
        if p.is_none() {
            continue;
        }
        let g = |k: &str, f: fn(f64) -> String| cell(p, |p| p.get(k).map(f));
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            label(imp),
            g("threads", |v| format!("{v:.0}")),
            g("open_fds", |v| format!("{v:.0}")),
            g("cpu_ms_per_s", |v| format!("{v:.2}")),
            g("wakeups_per_s", |v| format!("{v:.1}")),
            g("rss_kib", |v| format!("{:.1} MiB", v / 1024.0)),
        );
    }
    let _ = writeln!(w);
}

fn io_section(w: &mut String, r: &ScaleResults) {
    let _ = writeln!(
        w,
        "### I/O threads: {} busy PUSH peers on one PULL\n",
        r.iothreads_peers
    );
    let _ = writeln!(
        w,
        "The connections measurement (PULL) with 1, 2 and 4 I/O threads in the server's context \
         (ferrozmq `Context::with_io_threads`, libzmq `ZMQ_IO_THREADS`, OMQ.rs \
         `ContextConfig::io_threads`); in brackets the ratio to 1 I/O thread. This machine has 2 \
         cores, shared with the server's application thread and the peer processes: past 2 \
         threads a gain cannot come from parallelism, only from how work is spread.\n"
    );
    let _ = writeln!(w, "![I/O threads](perf/scale-iothreads.svg)\n");
    let _ = write!(w, "| I/O threads |");
    for imp in SCALE_IMPS {
        let _ = write!(w, " {} |", label(imp));
    }
    let _ = writeln!(w, "\n|---|{}", "---|".repeat(SCALE_IMPS.len()));
    let n = r.iothreads_peers;
    for io in IO_THREADS {
        let _ = write!(w, "| {io} |");
        for imp in SCALE_IMPS {
            let base = r.find("iothreads", imp, n, 1).and_then(|p| p.get("rate"));
            let c = cell(r.find("iothreads", imp, n, io), |p| {
                let v = p.get("rate")?;
                Some(match base {
                    Some(b) if b > 0.0 => format!("{} ({:.2}×)", num(v), v / b),
                    _ => num(v),
                })
            });
            let _ = write!(w, " {c} |");
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(w);
    for imp in SCALE_IMPS {
        let rate = |io: usize| r.find("iothreads", imp, n, io).and_then(|p| p.get("rate"));
        let best = IO_THREADS
            .iter()
            .filter_map(|&io| Some((io, rate(io)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let (Some((io, v)), Some(one)) = (best, rate(1)) {
            let _ = writeln!(
                w,
                "- {}: fastest with {io} I/O thread{} ({:.2}× one).",
                label(imp),
                if io == 1 { "" } else { "s" },
                v / one
            );
        }
    }
    let _ = writeln!(w);
}

// ---------------------------------------------------------------------------------------------
// plots

struct Series {
    label: String,
    color: &'static str,
    dashed: bool,
    pts: Vec<(f64, f64)>,
}

struct Panel {
    title: String,
    xlabel: String,
    ylabel: String,
    series: Vec<Series>,
}

fn series_of(
    r: &ScaleResults,
    group: &str,
    xs: &[usize],
    io_axis: bool,
    key: &str,
    dashed: bool,
    suffix: &str,
) -> Vec<Series> {
    COLORS
        .iter()
        .map(|&(imp, name, color)| Series {
            label: format!("{name}{suffix}"),
            color,
            dashed,
            pts: xs
                .iter()
                .filter_map(|&x| {
                    let p = if io_axis {
                        r.find(group, imp, r.iothreads_peers, x)
                    } else {
                        r.find(group, imp, x, 1)
                    }?;
                    if p.error.is_some() {
                        return None;
                    }
                    Some((x as f64, p.get(key)?))
                })
                .filter(|&(_, y)| y > 0.0)
                .collect(),
        })
        .collect()
}

pub fn write_svgs(dir: &Path, r: &ScaleResults) -> std::io::Result<()> {
    if r.points.is_empty() {
        return Ok(());
    }
    let conn = |key: &str| {
        let mut s = series_of(r, "conn-router", &CONN_PEERS, false, key, false, " ROUTER");
        s.extend(series_of(
            r,
            "conn-pull",
            &CONN_PEERS,
            false,
            key,
            true,
            " PULL",
        ));
        s
    };
    let mut connect = conn("connect_s");
    for s in &mut connect {
        for p in &mut s.pts {
            p.1 *= 1e3;
        }
    }
    std::fs::write(
        dir.join("scale-connections.svg"),
        plot(
            "N tcp peers on one ROUTER (solid) / PULL (dashed)",
            &[
                Panel {
                    title: "time to connect all (ms)".into(),
                    xlabel: "peers".into(),
                    ylabel: "ms".into(),
                    series: connect,
                },
                Panel {
                    title: "RSS per connection (KiB)".into(),
                    xlabel: "peers".into(),
                    ylabel: "KiB".into(),
                    series: conn("rss_per_conn_kib"),
                },
                Panel {
                    title: "throughput, all sending (msg/s)".into(),
                    xlabel: "peers".into(),
                    ylabel: "msg/s".into(),
                    series: conn("rate"),
                },
            ],
        ),
    )?;
    std::fs::write(
        dir.join("scale-fanout.svg"),
        plot(
            "PUB fan-out and subscription filtering, 64 B",
            &[
                Panel {
                    title: "delivered msg/s, all subscribers".into(),
                    xlabel: "subscribers".into(),
                    ylabel: "msg/s".into(),
                    series: series_of(r, "fanout", &FANOUT_SUBS, false, "rate", false, ""),
                },
                Panel {
                    title: "CPU ns per delivered message".into(),
                    xlabel: "subscribers".into(),
                    ylabel: "ns".into(),
                    series: series_of(
                        r,
                        "fanout",
                        &FANOUT_SUBS,
                        false,
                        "cpu_ns_per_delivered",
                        false,
                        "",
                    ),
                },
                Panel {
                    title: "trie: CPU ns per published message".into(),
                    xlabel: "topics subscribed".into(),
                    ylabel: "ns".into(),
                    series: series_of(
                        r,
                        "trie",
                        &TRIE_TOPICS,
                        false,
                        "cpu_ns_per_published",
                        false,
                        "",
                    ),
                },
            ],
        ),
    )?;
    std::fs::write(
        dir.join("scale-iothreads.svg"),
        plot(
            &format!("{} busy PUSH peers on one PULL", r.iothreads_peers),
            &[Panel {
                title: "throughput (msg/s)".into(),
                xlabel: "I/O threads".into(),
                ylabel: "msg/s".into(),
                series: series_of(r, "iothreads", &IO_THREADS, true, "rate", false, ""),
            }],
        ),
    )
}

/// An x tick: a peer, topic or thread count.
fn tick(x: f64) -> String {
    if x >= 1e3 && x % 1e3 == 0.0 {
        format!("{}k", x / 1e3)
    } else {
        format!("{x}")
    }
}

fn decade_label(d: i32) -> String {
    let v = 10f64.powi(d);
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

/// Panels side by side, both axes log10, one polyline per series.
fn plot(title: &str, panels: &[Panel]) -> String {
    let (pw, ph, left, top, gap) = (340.0, 260.0, 70.0, 100.0, 70.0);
    let width = left + panels.len() as f64 * (pw + gap);
    let height = top + ph + 60.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="20" font-size="15" font-weight="bold">{title}</text>"#
    );
    // legend: one entry per implementation (and line style)
    let mut lx = left;
    let mut seen: Vec<String> = Vec::new();
    for p in panels {
        for sr in &p.series {
            if sr.pts.is_empty() || seen.contains(&sr.label) {
                continue;
            }
            seen.push(sr.label.clone());
            let dash = if sr.dashed {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            };
            let ly = if seen.len() <= 6 { 40.0 } else { 58.0 };
            if seen.len() == 7 {
                lx = left;
            }
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{}" stroke-width="2.5"{dash}/><text x="{}" y="{}">{}</text>"#,
                lx + 24.0,
                sr.color,
                lx + 28.0,
                ly + 4.0,
                sr.label
            );
            lx += 140.0;
        }
    }
    for (i, p) in panels.iter().enumerate() {
        let x0 = left + i as f64 * (pw + gap);
        let y0 = top;
        let all: Vec<(f64, f64)> = p
            .series
            .iter()
            .flat_map(|s| s.pts.iter().copied())
            .collect();
        let (mut xlo, mut xhi, mut ylo, mut yhi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in &all {
            xlo = xlo.min(x.log10());
            xhi = xhi.max(x.log10());
            ylo = ylo.min(y.log10());
            yhi = yhi.max(y.log10());
        }
        if all.is_empty() {
            (xlo, xhi, ylo, yhi) = (0.0, 1.0, 0.0, 1.0);
        }
        let (xlo, xhi) = (xlo - 0.1, xhi.max(xlo + 0.5) + 0.1);
        let (ylo, yhi) = (ylo.floor(), yhi.ceil().max(ylo.floor() + 1.0));
        let px = |x: f64| x0 + (x.log10() - xlo) / (xhi - xlo) * pw;
        let py = |y: f64| y0 + ph - (y.log10() - ylo) / (yhi - ylo) * ph;
        let panel = (x0, y0, pw, ph);
        svg_panel(&mut s, panel, &p.title);
        let mut d = ylo as i32;
        while d as f64 <= yhi {
            svg_hgrid(&mut s, panel, py(10f64.powi(d)), Some(&decade_label(d)));
            d += 1;
        }
        let mut xs: Vec<f64> = all.iter().map(|p| p.0).collect();
        xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        xs.dedup();
        for x in xs {
            svg_xtick(&mut s, panel, px(x), &tick(x));
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            x0 + pw / 2.0,
            y0 + ph + 34.0,
            p.xlabel
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">{}</text>"#,
            x0 - 48.0,
            y0 + ph / 2.0,
            p.ylabel
        );
        for sr in &p.series {
            if sr.pts.is_empty() {
                continue;
            }
            let dash = if sr.dashed {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            };
            let path: Vec<String> = sr
                .pts
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.2"{dash}/>"#,
                path.join(" "),
                sr.color
            );
            for &(x, y) in &sr.pts {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                    px(x),
                    py(y),
                    sr.color
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
