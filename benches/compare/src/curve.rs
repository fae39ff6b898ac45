//! The cost of CURVE (issue 10): tcp throughput at 64 B and 1 KiB and latency at 64 B, for
//! ferrozmq and libzmq, each on NULL and on CURVE, in one run.
//!
//! The `zmq` crate's libzmq has no CURVE (it is built without libsodium), so libzmq is
//! measured through perf tools of our own (`c/perf_tool.c`: libzmq's `local_thr`,
//! `remote_thr`, `local_lat` and `remote_lat`, with ferrozmq's `ZMQ_PERF_CURVE=1`
//! convention), compiled with gcc against a libzmq that has CURVE: pyzmq's bundled one
//! (found by asking `python3`), or the one `FERROZMQ_BENCH_LIBZMQ` names. ferrozmq runs
//! its examples of the same names. Both are separate processes over tcp 127.0.0.1, the bind
//! side a CURVE server and the connect side its client, with libzmq's test keys. Each
//! point is measured in [`crate::ROUNDS`] rounds, the four variants taking turns; the
//! report gives the median of the rounds. Two CURVE cross-runs (ferrozmq against libzmq,
//! both ways) check the pairing works and are shown beside. The local side gets 300 ms to
//! bind before the remote starts, as in the perf-tools section.
//!
//! `--filter curve` selects this section alone (add `--skip-perf-tools`).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::perftools::{self, PerfResults, PerfRun};

/// The variable that puts the perf tools on CURVE.
pub const CURVE_ENV: &str = "ZMQ_PERF_CURVE";
/// Names a CURVE-capable libzmq shared library, instead of pyzmq's.
pub const LIBZMQ_ENV: &str = "FERROZMQ_BENCH_LIBZMQ";

/// The measured points: (kind, size).
pub const POINTS: [(&str, usize); 3] = [("thr", 64), ("thr", 1024), ("lat", 64)];
/// The variants measured on every point, in turn: (implementation, CURVE).
pub const VARIANTS: [(&str, bool); 4] = [
    ("ferrozmq", false),
    ("ferrozmq", true),
    ("libzmq", false),
    ("libzmq", true),
];

/// One run of a local/remote pair.
#[derive(Clone, Debug, Default)]
pub struct CurveRun {
    /// Whether both ends ran CURVE.
    pub curve: bool,
    /// Which round (0-based) of the point; cross-runs are round 0.
    pub round: usize,
    pub size: usize,
    /// "thr" or "lat".
    pub kind: String,
    pub run: PerfRun,
}

/// Everything the CURVE section measured.
#[derive(Clone, Debug, Default)]
pub struct CurveResults {
    /// Why something is missing (libzmq's tools not built, say).
    pub note: Option<String>,
    /// The libzmq that was measured (path and version).
    pub libzmq: Option<String>,
    pub build_cmds: Vec<String>,
    pub runs: Vec<CurveRun>,
}

impl CurveResults {
    /// The median result of the rounds of one variant: msg/s for throughput, one-way µs for
    /// latency. Only runs with both ends the same implementation count.
    pub fn median(&self, kind: &str, size: usize, imp: &str, curve: bool) -> Option<f64> {
        let mut v: Vec<f64> = self
            .runs
            .iter()
            .filter(|r| {
                r.kind == kind
                    && r.size == size
                    && r.curve == curve
                    && r.run.local == imp
                    && r.run.remote == imp
                    && r.run.error.is_none()
            })
            .filter_map(|r| {
                if kind == "thr" {
                    r.run.msgs_per_s
                } else {
                    r.run.lat_us
                }
            })
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "note": self.note, "libzmq": self.libzmq, "build_cmds": self.build_cmds,
            "runs": self.runs.iter().map(|r| json!({
                "curve": r.curve, "round": r.round, "size": r.size, "kind": r.kind,
                "test": r.run.test, "local": r.run.local, "remote": r.run.remote,
                "cmd": r.run.cmd, "lines": r.run.lines, "msgs_per_s": r.run.msgs_per_s,
                "lat_us": r.run.lat_us, "error": r.run.error,
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads [`CurveResults::to_json`]'s output; a results file from before this section
    /// gives an empty one.
    pub fn from_json(v: &Value) -> CurveResults {
        let s = |x: &Value| x.as_str().map(String::from);
        CurveResults {
            note: s(&v["note"]),
            libzmq: s(&v["libzmq"]),
            build_cmds: v["build_cmds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(s)
                .collect(),
            runs: v["runs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| CurveRun {
                    curve: r["curve"].as_bool().unwrap_or(false),
                    round: r["round"].as_u64().unwrap_or(0) as usize,
                    size: r["size"].as_u64().unwrap_or(0) as usize,
                    kind: s(&r["kind"]).unwrap_or_default(),
                    run: PerfRun::from_json(r),
                })
                .collect(),
        }
    }
}

/// A CURVE-capable libzmq shared library: `$FERROZMQ_BENCH_LIBZMQ`, or the one bundled with
/// pyzmq (`<site-packages>/pyzmq.libs/libzmq-*.so*`, next to its libsodium).
fn find_libzmq() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var(LIBZMQ_ENV) {
        return Ok(PathBuf::from(p));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, zmq; print(os.path.dirname(os.path.dirname(zmq.__file__)))",
        ])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("python3 not found ({e}); set {LIBZMQ_ENV} to a libzmq with CURVE"))?;
    if !out.status.success() {
        return Err(format!(
            "pyzmq is not installed (`python3 -m pip install --user pyzmq`), or set {LIBZMQ_ENV}"
        ));
    }
    let site = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let libs = site.join("pyzmq.libs");
    let found = std::fs::read_dir(&libs)
        .map_err(|e| format!("{}: {e}", libs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libzmq") && n.contains(".so"))
        });
    found.ok_or_else(|| format!("no libzmq*.so* in {}", libs.display()))
}

/// pyzmq's version string for its libzmq, for the report (best effort).
fn libzmq_version() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import zmq; print(zmq.zmq_version())"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Compiles `c/perf_tool.c` four times (one binary per tool name) against `lib`, with the
/// `zmq.h` of the zeromq-src crate (libzmq's C API is the same across 4.3.x).
fn build_c_tools(lib: &Path, res: &mut CurveResults) -> Result<PathBuf, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/perf_tool.c");
    let include = PathBuf::from(env!("LIBZMQ_INCLUDE_DIR"));
    let lib_dir = lib.parent().ok_or("libzmq path has no directory")?;
    let dest = crate::target_dir().join("libzmq-curve-perf");
    std::fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
    for tool in ["local_thr", "remote_thr", "local_lat", "remote_lat"] {
        let mut cmd = Command::new("gcc");
        cmd.arg("-O2")
            .arg(format!("-I{}", include.display()))
            .arg(&src)
            .arg("-o")
            .arg(dest.join(tool))
            .arg(lib)
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
        res.build_cmds.push(format!("{cmd:?}").replace('"', ""));
        let o = cmd.output().map_err(|e| format!("gcc: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "gcc {tool} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    Ok(dest)
}

/// Runs one local/remote pair; `kind` is "thr" or "lat".
#[allow(clippy::too_many_arguments)]
fn run_pair(
    dirs: &(PathBuf, PathBuf),
    local: &str,
    remote: &str,
    curve: bool,
    kind: &str,
    size: usize,
    count: u64,
) -> PerfRun {
    let dir = |imp: &str| if imp == "libzmq" { &dirs.1 } else { &dirs.0 };
    let mech = if curve { "CURVE" } else { "NULL" };
    let ep = format!("tcp://127.0.0.1:{}", perftools::free_port());
    let args = [ep.clone(), size.to_string(), count.to_string()];
    let env = if curve { "ZMQ_PERF_CURVE=1 " } else { "" };
    let mut run = PerfRun {
        test: format!("{kind} tcp {size} B {mech}"),
        local: local.into(),
        remote: remote.into(),
        cmd: format!(
            "[{local}] {env}local_{kind} {ep} {size} {count} & [{remote}] {env}remote_{kind} {ep} {size} {count}"
        ),
        ..Default::default()
    };
    let spawn = |imp: &str, side: &str| {
        let mut cmd = Command::new(dir(imp).join(format!("{side}_{kind}")));
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if curve {
            cmd.env(CURVE_ENV, "1");
        } else {
            cmd.env_remove(CURVE_ENV);
        }
        cmd.spawn()
            .map_err(|e| format!("{side}_{kind} ({imp}): {e}"))
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    // The remote tools retry a refused connect, but libzmq's retry comes 100 ms later, and
    // remote_lat's clock is already running then: give the local side time to bind, as
    // the perf-tools section does.
    let l = spawn(local, "local");
    std::thread::sleep(Duration::from_millis(300));
    let r = spawn(remote, "remote");
    let r_out = r.and_then(|c| perftools::wait_bounded(c, deadline));
    let l_out = l.and_then(|c| perftools::wait_bounded(c, deadline));
    match (l_out, r_out) {
        (Ok(lo), Ok(ro)) => perftools::parse(&mut run, if kind == "thr" { &lo } else { &ro }),
        (Err(e), _) => run.error = Some(format!("local: {e}")),
        (_, Err(e)) => run.error = Some(format!("remote: {e}")),
    }
    eprintln!(
        "  -> {}: {:?} {:?} {:?}",
        run.cmd, run.msgs_per_s, run.lat_us, run.error
    );
    run
}

/// Measures every point and variant ([`POINTS`] × [`VARIANTS`]), then the cross-runs.
pub fn run(quick: bool) -> CurveResults {
    crate::watchdog::enter("curve (build)");
    let mut res = CurveResults::default();
    let built = find_libzmq().and_then(|lib| {
        res.libzmq = Some(format!(
            "{} (libzmq {})",
            lib.display(),
            libzmq_version().unwrap_or_else(|| "version unknown".into())
        ));
        build_c_tools(&lib, &mut res)
    });
    let libzmq_dir = match built {
        Ok(d) => Some(d),
        Err(e) => {
            res.note = Some(format!("libzmq rows not measured: {e}"));
            None
        }
    };
    let mut perf = PerfResults::default();
    let ferro_dir = match perftools::build_ferrozmq_tools(&mut perf) {
        Ok(d) => d,
        Err(e) => {
            res.note = Some(e);
            crate::watchdog::leave();
            return res;
        }
    };
    res.build_cmds.extend(perf.build_cmds);
    let dirs = (ferro_dir, libzmq_dir.clone().unwrap_or_default());
    let (thr_count, lat_count): (u64, u64) = if quick {
        (100_000, 2_000)
    } else {
        (1_000_000, 20_000)
    };
    let count = |kind: &str, size: usize| match (kind, size) {
        ("lat", _) => lat_count,
        (_, s) if s >= 1024 => thr_count / 4,
        _ => thr_count,
    };
    for (kind, size) in POINTS {
        for round in 0..crate::ROUNDS {
            for (imp, curve) in VARIANTS {
                if imp == "libzmq" && libzmq_dir.is_none() {
                    continue;
                }
                crate::watchdog::enter(&format!("curve {kind} {size} B {imp} curve={curve}"));
                let run = run_pair(&dirs, imp, imp, curve, kind, size, count(kind, size));
                res.runs.push(CurveRun {
                    curve,
                    round,
                    size,
                    kind: kind.into(),
                    run,
                });
            }
        }
    }
    if libzmq_dir.is_some() {
        for (kind, size) in POINTS {
            for (local, remote) in [("ferrozmq", "libzmq"), ("libzmq", "ferrozmq")] {
                crate::watchdog::enter(&format!("curve cross {kind} {size} B {local}<-{remote}"));
                let run = run_pair(&dirs, local, remote, true, kind, size, count(kind, size));
                res.runs.push(CurveRun {
                    curve: true,
                    round: 0,
                    size,
                    kind: kind.into(),
                    run,
                });
            }
        }
    }
    crate::watchdog::leave();
    res
}
