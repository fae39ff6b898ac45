//! Fuzz target `curve_handshake`: the CURVE mechanism's handshake and MESSAGE decoding.
//!
//! Byte 0 picks a mode. Bit 0 clear: the rest, read as chunks (a length byte, then that
//! many bytes), goes to a CURVE server (bit 1 clear) or a client that has sent its HELLO
//! (bit 1 set) as handshake commands, and as MESSAGE frames once it is ready (bit 2: ZAP
//! allows, else denies). Bit 0 set: a genuine client and server shake hands and exchange
//! MESSAGEs (ZAP allows unless bit 1 is set), while each (index, offset, xor) triple in the
//! rest corrupts the index-th frame in flight. It checks: no panic on any input, whatever
//! state it reaches.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrozmq::fuzzing::curve_handshake(data);
});
