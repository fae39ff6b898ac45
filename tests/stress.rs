//! Wake-up stress: many messages through tiny high-water marks, so both ends keep
//! blocking and waking. A lost wake-up shows up as a receive or send that times out.

mod util;

use ferrozmq::{Context, SocketType};
use std::time::Duration;
use util::*;

const MESSAGES: usize = 50_000;
const STALL: Duration = Duration::from_secs(10);

fn push_pull_through_tiny_hwm(t: Transport) {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(3).unwrap();
    pull.set_rcvtimeo(Some(STALL)).unwrap();
    let ep = bind_fresh(&mut pull, t);
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(3).unwrap();
    push.set_sndtimeo(Some(STALL)).unwrap();
    push.connect(&ep).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..MESSAGES {
            push.send(format!("{i}"))
                .expect("send stalled: a lost wake-up?");
        }
        push
    });
    for i in 0..MESSAGES {
        let m = pull.recv().expect("recv stalled: a lost wake-up?");
        assert_eq!(&m[0][..], i.to_string().as_bytes());
    }
    drop(sender.join().unwrap());
}

#[test]
fn tiny_hwm_inproc() {
    push_pull_through_tiny_hwm(Transport::Inproc);
}

#[test]
fn tiny_hwm_ipc() {
    push_pull_through_tiny_hwm(Transport::Ipc);
}

#[test]
fn tiny_hwm_tcp() {
    push_pull_through_tiny_hwm(Transport::Tcp);
}

/// Over tcp a send that answers a receive may be written by the sending thread itself
/// (the direct path); a message larger than the socket buffer leaves a tail that the I/O
/// thread must send first. Ping-pong messages of very different sizes and check every byte
/// and the order.
#[test]
fn direct_path_keeps_order_and_bytes_through_partial_writes() {
    init();
    let ctx = Context::new();
    let mut a = ctx.socket(SocketType::Pair).unwrap();
    a.set_rcvtimeo(Some(STALL)).unwrap();
    let ep = bind_fresh(&mut a, Transport::Tcp);
    let mut b = ctx.socket(SocketType::Pair).unwrap();
    b.set_rcvtimeo(Some(STALL)).unwrap();
    b.connect(&ep).unwrap();
    let sizes = [1usize, 64, 100_000, 4 << 20, 0, 300, 3 << 20, 17];
    let rounds = 3;
    let echo = std::thread::spawn(move || {
        for _ in 0..rounds * sizes.len() {
            let m = b.recv().expect("echo side stalled");
            b.send(m).expect("echo send failed");
        }
        b
    });
    for round in 0..rounds {
        for (i, &size) in sizes.iter().enumerate() {
            let tag = (round * sizes.len() + i) as u8;
            let body: Vec<u8> = (0..size).map(|k| tag.wrapping_add(k as u8)).collect();
            a.send(vec![vec![tag], body.clone()]).unwrap();
            let back = a
                .recv()
                .expect("reply stalled: a lost tail on the direct path?");
            assert_eq!(back.len(), 2);
            assert_eq!(&back[0][..], &[tag], "replies out of order");
            assert!(
                back[1][..] == body[..],
                "message {tag} ({size} B) came back changed"
            );
        }
    }
    drop(echo.join().unwrap());
}
