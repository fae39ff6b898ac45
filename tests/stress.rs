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
