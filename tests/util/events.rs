//! Waiting for socket monitor events in tests: every wait is bounded by [`TIMEOUT`], and a
//! failure says which event was expected and lists the ones that did come.

use super::TIMEOUT;
use ferrozmq::{EventKind, Monitor, MonitorEvent};
use std::time::Instant;

/// Waits until `monitor` reports an event for which `wanted` holds, skipping the others,
/// and returns it. Panics after [`TIMEOUT`] with `what` and the events seen.
#[track_caller]
pub fn expect_event(
    monitor: &Monitor,
    what: &str,
    mut wanted: impl FnMut(&MonitorEvent) -> bool,
) -> MonitorEvent {
    let end = Instant::now() + TIMEOUT;
    let mut seen = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match monitor.recv_timeout(left) {
            Ok(event) if wanted(&event) => return event,
            Ok(event) => seen.push(event.to_string()),
            Err(e) => panic!("no monitor event {what} ({e}); saw {seen:#?}"),
        }
    }
}

/// Waits for the next event of the same kind as `kind` (details ignored) and returns it.
#[track_caller]
pub fn expect_kind(monitor: &Monitor, kind: &EventKind) -> MonitorEvent {
    let name = kind.name();
    expect_event(monitor, name, |e| e.kind.name() == name)
}

/// The names of the next `n` events, in order, each waited for up to [`TIMEOUT`].
#[track_caller]
pub fn next_names(monitor: &Monitor, n: usize) -> Vec<&'static str> {
    (0..n)
        .map(|i| match monitor.recv_timeout(TIMEOUT) {
            Ok(e) => e.kind.name(),
            Err(err) => panic!("monitor event {} of {n} did not come: {err}", i + 1),
        })
        .collect()
}
