//! Passes on where zmq-sys (through zeromq-src) built the static libzmq, so the bench can
//! compile libzmq's own perf tools against exactly that library. `DEP_ZMQ_*` come from
//! zmq-sys's `links = "zmq"` build script, visible here because zmq-sys is a direct dependency.
fn main() {
    for (dep, name) in [
        ("DEP_ZMQ_LIB", "LIBZMQ_LIB_DIR"),
        ("DEP_ZMQ_INCLUDE", "LIBZMQ_INCLUDE_DIR"),
        ("DEP_ZMQ_OUT", "LIBZMQ_OUT_DIR"),
    ] {
        let v = std::env::var(dep).unwrap_or_default();
        println!("cargo:rustc-env={name}={v}");
        println!("cargo:rerun-if-env-changed={dep}");
    }
}
