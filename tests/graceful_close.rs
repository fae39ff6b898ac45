//! Closing never resets a connection whose peer is still sending: a socket that closed
//! sends the rest of what it queued, shuts its side (FIN), and reads and drops what the
//! peer still sends until the peer closes too. Closing at once would make the kernel answer
//! the peer's next bytes with a reset, which destroys the tail the kernel still holds.
//!
//! The peer here is a raw ZMTP PULL that answers every message it reads with a PING, so it
//! is always sending while the closed PUSH's tail drains. Nothing sleeps: the peer reads
//! until the end of the stream, with a read timeout as the deadline.

mod util;

use ferrozmq::{Context, SocketType};
use std::io::Write;
use util::raw::{raw_command, raw_handshake, read_frame};
use util::{bind_fresh, init, Transport};

#[test]
fn a_closed_sender_delivers_its_whole_tail_to_a_peer_that_keeps_sending() {
    init();
    const N: usize = 2048;
    const SIZE: usize = 8 * 1024; // 16 MiB in all: more than the kernel's buffers hold
    let ctx = Context::new();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(0).unwrap();
    let ep = bind_fresh(&mut push, Transport::Tcp);
    let mut peer = raw_handshake(&ep, "PULL");
    for i in 0..N {
        let mut body = vec![0u8; SIZE];
        body[0] = i as u8;
        push.send(body).unwrap();
    }
    // Closed with messages still queued: it lingers (forever, by default) to send them.
    drop(push);

    let mut got = 0;
    loop {
        match read_frame(&mut peer) {
            Ok(frame) if frame.command().is_some() => continue, // READY, PONGs
            Ok(frame) => {
                assert_eq!(frame.body.len(), SIZE);
                assert_eq!(usize::from(frame.body[0]), got % 256, "order");
                got += 1;
                // Keep sending while the tail drains. A failed write means the connection
                // was reset; the reads below then say what was lost.
                let _ = peer.write_all(&raw_command("PING", &[0, 0, b'x']));
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("the connection failed after {got} of {N} messages: {e}"),
        }
    }
    assert_eq!(got, N, "the whole tail, then the end of the stream");
    drop(peer); // our FIN: the lingering session closes cleanly
    drop(ctx); // and the context terminates
}
