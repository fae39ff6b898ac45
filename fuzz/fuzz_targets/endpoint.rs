//! Fuzz target `endpoint`: `Endpoint::parse` on arbitrary strings. It checks: no panic,
//! and an accepted endpoint printed back parses to the same canonical text.

#![no_main]

use ferrozmq::fuzzing::{check_connectable, parse_endpoint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(canonical) = parse_endpoint(s) {
        let again = parse_endpoint(&canonical);
        assert_eq!(again.ok().as_deref(), Some(canonical.as_str()), "for {s:?}");
        let _ = check_connectable(s);
    }
});
