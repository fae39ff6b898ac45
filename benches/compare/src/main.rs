//! `ferrozmq-bench`: ferrozmq, libzmq, OMQ.rs, rzmq and zmq.rs side by side in one run, plus the
//! raw-socket floor, libzmq's own perf tools cross-run against ferrozmq's, and a memory probe.
//! Writes docs/performance.md and docs/perf/{throughput,latency}.svg.
//!
//! Run through `cargo bench` at the repository root (benches/compare.rs launches this), or
//! directly: `cargo run --release -p ferrozmq-bench -- [options]`:
//!   --out PATH          report path (default: <repo>/docs/performance.md)
//!   --quick             shorter measurements (a smoke test, numbers not for publishing)
//!   --filter TEXT       only data points whose name contains TEXT (repeatable)
//!   --skip-perf-tools   do not build/run libzmq's perf tools
//!   (`--filter async` selects the async group: ferrozmq's send_async/recv_async against
//!   OMQ.rs's async API and zmq.rs, ferrozmq blocking as the reference; see asynch.rs)
//!   (`--filter curve` selects the CURVE section: ferrozmq and libzmq on NULL and CURVE,
//!   through perf tools; see curve.rs)
//!   --report-only JSON  regenerate the report from a saved results file, measure nothing
//!   --rss-probe IMP     (internal) the memory probe child process
//!   (`--filter scale` selects the scale section: 1 .. 10,000 peers, fan-out, idle sockets,
//!   I/O threads, each implementation's server in a process of its own; see scale.rs)
//!   --scale-server ..., --scale-peers ...  (internal) the scale section's processes

mod asynch;
mod curve;
mod libs;
mod measure;
mod memory;
mod perftools;
mod raw;
mod report;
mod rzmq;
mod scale;
mod scale_peers;
mod scale_report;
mod scale_server;
mod sync;
mod watchdog;
mod zmqrs;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use measure::{run_point, Id, Kind, Timing};
use sync::SyncLib;

pub const SIZES: [usize; 5] = [1, 64, 1024, 64 * 1024, 1024 * 1024];
pub const TRANSPORTS: [&str; 3] = ["inproc", "ipc", "tcp"];
pub const IMPS: [&str; 5] = ["ferrozmq", "libzmq", "omq", "rzmq", "zmq.rs"];
pub const FANOUT_SUBS: [usize; 3] = [1, 10, 100];
/// Rounds per throughput or latency data point (see `main`).
pub const ROUNDS: usize = 3;
pub const FANOUT_SIZE: usize = 64;
pub const PUSH_MANY_PULLS: usize = 100;
/// The liveness-cost scenario: ferrozmq as configured everywhere else against ferrozmq with
/// heartbeats and an unread monitor on every socket (`libs::Ferro::with_liveness`).
pub const LIVENESS_IMPS: [&str; 2] = ["ferrozmq", "ferrozmq+liveness"];
pub const LIVENESS_TRANSPORTS: [&str; 2] = ["tcp", "ipc"];
/// Scenario ids and what they measure at which sizes. The names do not end in `thr`/`lat`,
/// so the filters of the main tables (`--filter thr/tcp`) leave them out; `--filter liveness`
/// selects exactly them.
pub const LIVENESS_POINTS: [(&str, Kind, &[usize]); 2] = [
    ("liveness-throughput", Kind::Throughput, &[64, 1024]),
    ("liveness-latency", Kind::Latency, &[64]),
];

/// The async group (issue 11): ferrozmq's async API, OMQ.rs's async API and zmq.rs, each
/// end on a current-thread tokio runtime of its own (asynch.rs), and ferrozmq's blocking API
/// as the reference (sync.rs, the same threads). The scenario names contain `async`, so
/// `--filter async` selects exactly this group.
pub const ASYNC_IMPS: [&str; 4] = [
    "ferrozmq-async",
    "omq-async",
    "zmq.rs-async",
    "ferrozmq-blocking",
];
pub const ASYNC_TRANSPORTS: [&str; 2] = ["tcp", "ipc"];
pub const ASYNC_POINTS: [(&str, Kind, &[usize]); 2] = [
    ("async-throughput", Kind::Throughput, &[64, 1024]),
    ("async-latency", Kind::Latency, &[64]),
];

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// The cargo target directory this binary was built into: `<target>` of
/// `<target>/release/ferrozmq-bench`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>/exe")
        .to_path_buf()
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh endpoint: every data point gets its own name, path or port.
fn endpoint(transport: &str) -> String {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    match transport {
        "inproc" => format!("inproc://bench-{seq}"),
        "ipc" => {
            let p = format!("/tmp/ferrozmq-bench-{}-{seq}.sock", std::process::id());
            let _ = std::fs::remove_file(&p);
            format!("ipc://{p}")
        }
        _ => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            let port = l.local_addr().unwrap().port();
            format!("tcp://127.0.0.1:{port}")
        }
    }
}

fn sync_lib(imp: &str) -> Arc<dyn SyncLib> {
    match imp {
        "ferrozmq" => Arc::new(libs::Ferro::new()),
        "ferrozmq+liveness" => Arc::new(libs::Ferro::with_liveness()),
        "libzmq" => Arc::new(libs::Libzmq::new()),
        "omq" => Arc::new(libs::Omq::new()),
        _ => unreachable!(),
    }
}

pub struct Opts {
    pub out: PathBuf,
    pub quick: bool,
    pub filters: Vec<String>,
    pub perf_tools: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--rss-probe") {
        memory::child(args.get(1).map(String::as_str).unwrap_or("ferrozmq"));
        return;
    }
    match args.first().map(String::as_str) {
        Some("--scale-server") => return scale_server::child(&args[1..]),
        Some("--scale-peers") => return scale_peers::child(&args[1..]),
        _ => {}
    }
    let mut opts = Opts {
        out: repo_root().join("docs/performance.md"),
        quick: false,
        filters: Vec::new(),
        perf_tools: true,
    };
    let mut report_only: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => opts.out = PathBuf::from(it.next().expect("--out PATH")),
            "--quick" => opts.quick = true,
            "--filter" => opts.filters.push(it.next().expect("--filter TEXT").clone()),
            "--skip-perf-tools" => opts.perf_tools = false,
            "--report-only" => {
                report_only = Some(PathBuf::from(it.next().expect("--report-only JSON")))
            }
            "--bench" => {} // passed by `cargo bench`
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(1);
            }
        }
    }
    let results_path = target_dir().join("ferrozmq-bench/results.json");
    if let Some(p) = report_only {
        let run = report::Run::load(&p).expect("read results");
        report::write(&opts.out, &run).expect("write report");
        eprintln!("wrote {}", opts.out.display());
        return;
    }

    let started = Instant::now();
    let timing = if opts.quick {
        Timing {
            warm_up: Duration::from_millis(100),
            measure: Duration::from_millis(300),
            samples: 10,
        }
    } else {
        Timing {
            warm_up: Duration::from_millis(300),
            measure: Duration::from_millis(1000),
            samples: 10,
        }
    };
    {
        let out = opts.out.clone();
        let results_path = results_path.clone();
        let quick = opts.quick;
        watchdog::start(Duration::from_secs(120), move |name| {
            let mut run = report::Run::collect(started.elapsed(), quick);
            run.notes.push(format!(
                "The run was aborted: data point `{name}` hung (watchdog)."
            ));
            let _ = run.save(&results_path);
            let _ = report::write(&out, &run);
        });
    }

    let mut c = measure::criterion(timing);
    let want = |id: &Id| {
        opts.filters.is_empty() || opts.filters.iter().any(|f| id.name().contains(f.as_str()))
    };
    let rt = zmqrs::runtime();
    let _rt_guard = rt.enter(); // zmq.rs sockets are created and dropped inside the runtime

    // 0. unrecorded warm-up (CPU frequency, page cache, first thread spawns).
    for imp in ["ferrozmq", "libzmq", "omq"] {
        let ep = endpoint("inproc");
        if let Ok(mut f) = sync::Thr::fixture(sync_lib(imp), &ep, 64) {
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(if opts.quick { 100 } else { 500 }) {
                if f.run(10_000).is_err() {
                    break;
                }
            }
        }
    }

    // 1. PUSH -> PULL throughput and 2. REQ <-> REP latency, every transport and size. Each
    // data point is measured in ROUNDS rounds with fresh sockets, the implementations taking
    // turns (A B C A B C ...), and its medians are over the samples of every round: on a VM
    // whose speed drifts between fast and slow modes within seconds, no implementation gets
    // a whole quiet or a whole noisy stretch to itself.
    let mut c_round = measure::criterion(Timing {
        warm_up: timing.warm_up / ROUNDS as u32,
        measure: timing.measure / ROUNDS as u32,
        samples: timing.samples,
    });
    for (scenario, kind) in [("thr", Kind::Throughput), ("lat", Kind::Latency)] {
        for transport in TRANSPORTS {
            for size in SIZES {
                for imp in (0..ROUNDS).flat_map(|_| IMPS.iter().copied().chain(["raw"])) {
                    let id = Id {
                        scenario,
                        transport,
                        imp,
                        size,
                        peers: 1,
                    };
                    if !want(&id) || (transport == "inproc" && (imp == "zmq.rs" || imp == "raw")) {
                        continue;
                    }
                    // The raw stream of 1 B records is just the byte rate; the floor for small
                    // messages is the stream of 64 B records.
                    if imp == "raw" && kind == Kind::Throughput && size < 64 {
                        continue;
                    }
                    let rt = rt.clone();
                    run_point(
                        &mut c_round,
                        id,
                        kind,
                        1,
                        move || {
                            let ep = endpoint(transport);
                            match (imp, kind) {
                                ("raw", Kind::Throughput) => raw::Thr::fixture(transport, size),
                                ("raw", Kind::Latency) => raw::Lat::fixture(transport, size),
                                ("zmq.rs", Kind::Throughput) => zmqrs::Thr::fixture(rt, &ep, size),
                                ("zmq.rs", Kind::Latency) => zmqrs::Lat::fixture(rt, &ep, size),
                                ("rzmq", Kind::Throughput) => crate::rzmq::Thr::fixture(&ep, size),
                                ("rzmq", Kind::Latency) => crate::rzmq::Lat::fixture(&ep, size),
                                (_, Kind::Throughput) => {
                                    sync::Thr::fixture(sync_lib(imp), &ep, size)
                                }
                                (_, Kind::Latency) => sync::Lat::fixture(sync_lib(imp), &ep, size),
                            }
                        },
                        timing.samples,
                    );
                }
            }
        }
    }

    // 2b. the cost of liveness: ferrozmq plain against ferrozmq with heartbeats and an unread
    // monitor, measured like 1 and 2 (ROUNDS rounds, the two variants taking turns).
    for (scenario, kind, sizes) in LIVENESS_POINTS {
        for transport in LIVENESS_TRANSPORTS {
            for &size in sizes {
                for imp in (0..ROUNDS).flat_map(|_| LIVENESS_IMPS) {
                    let id = Id {
                        scenario,
                        transport,
                        imp,
                        size,
                        peers: 1,
                    };
                    if !want(&id) {
                        continue;
                    }
                    run_point(
                        &mut c_round,
                        id,
                        kind,
                        1,
                        move || {
                            let ep = endpoint(transport);
                            match kind {
                                Kind::Throughput => sync::Thr::fixture(sync_lib(imp), &ep, size),
                                Kind::Latency => sync::Lat::fixture(sync_lib(imp), &ep, size),
                            }
                        },
                        timing.samples,
                    );
                }
            }
        }
    }

    // 2c. the async group: ferrozmq async, OMQ.rs async, zmq.rs, ferrozmq blocking, measured
    // like 1 and 2 (ROUNDS rounds, taking turns, medians over every sample). Latency on tcp
    // only, as issue 11 asks.
    for (scenario, kind, sizes) in ASYNC_POINTS {
        for transport in ASYNC_TRANSPORTS {
            if kind == Kind::Latency && transport != "tcp" {
                continue;
            }
            for &size in sizes {
                for imp in (0..ROUNDS).flat_map(|_| ASYNC_IMPS) {
                    let id = Id {
                        scenario,
                        transport,
                        imp,
                        size,
                        peers: 1,
                    };
                    if !want(&id) {
                        continue;
                    }
                    run_point(
                        &mut c_round,
                        id,
                        kind,
                        1,
                        move || {
                            let ep = endpoint(transport);
                            match (imp, kind) {
                                ("ferrozmq-async", Kind::Throughput) => {
                                    asynch::Thr::fixture(Arc::new(asynch::Ferro::new()), &ep, size)
                                }
                                ("ferrozmq-async", Kind::Latency) => {
                                    asynch::Lat::fixture(Arc::new(asynch::Ferro::new()), &ep, size)
                                }
                                ("omq-async", Kind::Throughput) => {
                                    asynch::Thr::fixture(Arc::new(asynch::Omq), &ep, size)
                                }
                                ("omq-async", Kind::Latency) => {
                                    asynch::Lat::fixture(Arc::new(asynch::Omq), &ep, size)
                                }
                                ("zmq.rs-async", Kind::Throughput) => {
                                    asynch::Thr::fixture(Arc::new(asynch::Zmqrs), &ep, size)
                                }
                                ("zmq.rs-async", Kind::Latency) => {
                                    asynch::Lat::fixture(Arc::new(asynch::Zmqrs), &ep, size)
                                }
                                (_, Kind::Throughput) => {
                                    sync::Thr::fixture(sync_lib("ferrozmq"), &ep, size)
                                }
                                (_, Kind::Latency) => {
                                    sync::Lat::fixture(sync_lib("ferrozmq"), &ep, size)
                                }
                            }
                        },
                        timing.samples,
                    );
                }
            }
        }
    }

    // 3. PUB fan-out to 1, 10, 100 SUBs (prefix filter), tcp, 64 B.
    for subs in FANOUT_SUBS {
        for imp in IMPS {
            let id = Id {
                scenario: "fanout",
                transport: "tcp",
                imp,
                size: FANOUT_SIZE,
                peers: subs,
            };
            if !want(&id) {
                continue;
            }
            let rt = rt.clone();
            run_point(
                &mut c,
                id,
                Kind::Throughput,
                sync::BATCH,
                move || {
                    let ep = endpoint("tcp");
                    match imp {
                        "zmq.rs" => zmqrs::Fanout::fixture(rt, &ep, FANOUT_SIZE, subs),
                        "rzmq" => crate::rzmq::Fanout::fixture(&ep, FANOUT_SIZE, subs),
                        _ => sync::Fanout::fixture(sync_lib(imp), &ep, FANOUT_SIZE, subs),
                    }
                },
                timing.samples,
            );
        }
    }

    // 4. one PUSH to 100 PULLs, tcp, 64 B.
    for imp in IMPS {
        let id = Id {
            scenario: "push_many",
            transport: "tcp",
            imp,
            size: FANOUT_SIZE,
            peers: PUSH_MANY_PULLS,
        };
        if !want(&id) {
            continue;
        }
        let rt = rt.clone();
        run_point(
            &mut c,
            id,
            Kind::Throughput,
            1,
            move || {
                let ep = endpoint("tcp");
                match imp {
                    "zmq.rs" => zmqrs::PushMany::fixture(rt, &ep, FANOUT_SIZE, PUSH_MANY_PULLS),
                    "rzmq" => crate::rzmq::PushMany::fixture(&ep, FANOUT_SIZE, PUSH_MANY_PULLS),
                    _ => sync::PushMany::fixture(sync_lib(imp), &ep, FANOUT_SIZE, PUSH_MANY_PULLS),
                }
            },
            timing.samples,
        );
    }
    drop(_rt_guard);
    watchdog::leave();

    // 4b. scale: 1 .. 10,000 peers, fan-out, idle sockets, I/O threads (processes).
    let scale = if scale::wanted(&opts.filters) {
        scale::run(&opts.filters, opts.quick)
    } else {
        scale::ScaleResults::default()
    };

    // 5. memory: a PUSH whose PULL stopped reading, in a child process.
    let mem = if opts.filters.is_empty() || opts.filters.iter().any(|f| f == "memory") {
        memory::run_all()
    } else {
        Vec::new()
    };

    // 5b. the cost of CURVE, ferrozmq's and libzmq's, through perf tools (processes).
    let curve = if opts.filters.is_empty() || opts.filters.iter().any(|f| f == "curve") {
        curve::run(opts.quick)
    } else {
        curve::CurveResults {
            note: Some("Not measured in this run (a --filter without `curve`).".into()),
            ..Default::default()
        }
    };

    // 6. libzmq's own perf tools against ferrozmq's.
    let perf = if opts.perf_tools {
        perftools::run(opts.quick)
    } else {
        perftools::PerfResults::skipped("--skip-perf-tools was given")
    };

    let mut run = report::Run::collect(started.elapsed(), opts.quick);
    run.memory = mem;
    run.perf = perf;
    run.curve = curve;
    run.scale = scale;
    if let Err(e) = run.save(&results_path) {
        eprintln!("cannot save {}: {e}", results_path.display());
    }
    report::write(&opts.out, &run).expect("write report");
    eprintln!(
        "wrote {} (results: {}) in {:.0}s",
        opts.out.display(),
        results_path.display(),
        started.elapsed().as_secs_f64()
    );
}
