//! The examples run to completion on their own and print what they promise. Each run is
//! bounded: a child that is still running after the deadline is killed and the test fails.

mod util;

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const EXAMPLES: [&str; 8] = [
    "async_tokio",
    "async_smol",
    "pipeline",
    "req_rep",
    "pub_sub",
    "lb_broker",
    "forwarder",
    "lazy_pirate",
];
const DEADLINE: Duration = Duration::from_secs(60);

fn examples_dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| util::build_examples(&EXAMPLES))
}

/// Runs example `name` with `args` and returns its standard output; fails on a non-zero
/// exit or when the deadline passes.
fn run(name: &str, args: &[&str]) -> String {
    let bin = examples_dir().join(name);
    let out_path = std::env::temp_dir().join(format!("{}.out", util::unique_name(name)));
    let out_file = std::fs::File::create(&out_path).expect("create output file");
    let mut child = Command::new(&bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let end = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("example {name} did not finish within {DEADLINE:?}");
        }
        // Polling a child process for exit, not synchronising with the library.
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    assert!(status.success(), "example {name} failed ({status}):\n{out}");
    out
}

#[test]
fn pipeline_reports_rates_for_inproc_and_tcp() {
    let out = run("pipeline", &["20000", "2", "16"]);
    assert!(out.contains("inproc") && out.contains("tcp"), "{out}");
    assert!(out.contains("msg/s"), "{out}");
}

#[test]
fn async_tokio_serves_requests_and_runs_the_pipeline() {
    let out = run("async_tokio", &[]);
    assert_eq!(out.matches("reply: Hello, ").count(), 5, "{out}");
    // The sum of n*n for n in 0..100.
    assert!(
        out.contains("pipeline: 100 results, sum of squares 328350"),
        "{out}"
    );
}

#[test]
fn async_smol_gets_every_reply() {
    let out = run("async_smol", &[]);
    for word in ["TINY", "FAST", "ASYNC"] {
        assert!(out.contains(&format!("reply: {word}")), "{out}");
    }
}

#[test]
fn req_rep_gets_every_reply() {
    let out = run("req_rep", &[]);
    assert_eq!(out.matches("client got \"World\"").count(), 10, "{out}");
}

#[test]
fn pub_sub_filters_by_prefix() {
    let out = run("pub_sub", &[]);
    assert!(
        out.contains("paris: average") && out.contains("tokyo: average"),
        "{out}"
    );
}

#[test]
fn lb_broker_answers_every_request() {
    let out = run("lb_broker", &[]);
    // Which workers served how many depends on when their threads got to connect, so only
    // the total is checked (the example itself checks every reply against its request).
    assert!(out.contains("200 requests answered"), "{out}");
    assert!(out.contains("worker-"), "{out}");
}

#[test]
fn forwarder_passes_only_subscribed_messages() {
    let out = run("forwarder", &[]);
    assert_eq!(out.matches("subscriber got news").count(), 10, "{out}");
}

#[test]
fn lazy_pirate_retries_dropped_requests_until_answered() {
    let out = run("lazy_pirate", &[]);
    // The server drops three requests; each costs the client at least one reopen and
    // resend (more if a reply was merely slow on a loaded machine).
    assert!(out.contains("10 requests answered"), "{out}");
    assert_eq!(out.matches("simulated crash").count(), 3, "{out}");
    assert!(out.matches("retrying").count() >= 3, "{out}");
    for i in 1..=10 {
        assert!(
            out.contains(&format!("client: server replied OK ({i})")),
            "{out}"
        );
    }
}
