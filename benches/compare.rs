//! `cargo bench` entry point. The comparison benchmarks (ferrozmq vs libzmq, OMQ.rs, zmq.rs)
//! live in the workspace member benches/compare (package `ferrozmq-bench`) so that their
//! dependencies stay out of the `cargo test` build. This launcher builds and runs that member
//! in release mode with the same cargo and target directory, and it regenerates
//! docs/performance.md and docs/perf/*.svg.
//!
//! `cargo bench -- ARGS` passes ARGS on (e.g. `cargo bench -- --quick`, `--filter thr/tcp`).
//! Cargo holds no build lock while bench binaries run, so the nested build does not deadlock.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn main() {
    let started = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // cargo passes `--bench` (and any filter); forward only what the member understands.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        // `cargo test --benches` / `cargo bench -- --list`: nothing to do here.
        return;
    }
    // This binary lives in <target>/release/deps; build the member into the same <target>.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("current_exe");
            exe.ancestors()
                .nth(3)
                .expect("<target>/<profile>/deps/<exe>")
                .to_path_buf()
        });
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "run",
            "--release",
            "-p",
            "ferrozmq-bench",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--")
        .args(&args)
        .status()
        .expect("cannot run cargo for the ferrozmq-bench member");
    eprintln!(
        "cargo bench (compare): {:.0} s in total",
        started.elapsed().as_secs_f64()
    );
    if !status.success() {
        eprintln!("ferrozmq-bench failed: {status}");
        std::process::exit(status.code().unwrap_or(1));
    }
}
