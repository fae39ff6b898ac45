//! The async API (`send_async`, `recv_async`) under no runtime, tokio (both flavours) and
//! smol, and its cancel safety: futures dropped at any point lose and duplicate nothing.
//!
//! Nothing here sleeps to synchronise: the tasks wait on the sockets, and the timers in the
//! cancellation races are there to interrupt futures, not to order events.

mod util;

use ferrozmq::{Context, Error, SocketType};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskCx, Poll, Wake, Waker};
use std::time::Duration;
use util::{bind_fresh, init, Transport, TIMEOUT};

/// A runtime-free executor: polls on this thread and parks it between wake-ups.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread, AtomicBool);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.1.store(true, Ordering::Release);
            self.0.unpark();
        }
    }
    let unpark = Arc::new(Unpark(std::thread::current(), AtomicBool::new(false)));
    let waker = Waker::from(unpark.clone());
    let mut cx = TaskCx::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        while !unpark.1.swap(false, Ordering::Acquire) {
            std::thread::park_timeout(TIMEOUT);
        }
    }
}

/// A tokio multi-thread runtime with two workers, as many as this machine has cores.
fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn pair(ctx: &Context, t: Transport) -> (ferrozmq::Socket, ferrozmq::Socket) {
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = bind_fresh(&mut pull, t);
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    (push, pull)
}

#[test]
fn futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let ctx = Context::new();
    let (mut push, mut pull) = pair(&ctx, Transport::Inproc);
    is_send(&push.send_async("x"));
    is_send(&pull.recv_async());
}

#[test]
fn no_runtime_at_all() {
    init();
    for t in [Transport::Tcp, Transport::Ipc, Transport::Inproc] {
        let ctx = Context::new();
        let (mut push, mut pull) = pair(&ctx, t);
        let sender = std::thread::spawn(move || {
            block_on(async {
                for i in 0..1000u32 {
                    push.send_async(i.to_be_bytes().to_vec()).await.unwrap();
                }
            });
            push
        });
        block_on(async {
            for i in 0..1000u32 {
                let msg = pull.recv_async().await.unwrap();
                assert_eq!(&msg[0][..], &i.to_be_bytes()[..], "{t:?}");
            }
        });
        sender.join().unwrap();
    }
}

#[test]
fn a_waiting_receive_is_woken_by_an_arrival() {
    init();
    let ctx = Context::new();
    let (mut push, mut pull) = pair(&ctx, Transport::Tcp);
    let receiver = std::thread::spawn(move || block_on(pull.recv_async()));
    // The receiver may or may not be waiting yet; either way the message must reach it.
    push.send("late").unwrap();
    let msg = receiver.join().unwrap().unwrap();
    assert_eq!(&msg[0][..], b"late");
}

#[test]
fn termination_ends_a_waiting_receive() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let stopper = ctx.clone();
    let receiver = std::thread::spawn(move || block_on(pull.recv_async()));
    stopper.term();
    assert!(matches!(receiver.join().unwrap(), Err(Error::Terminated)));
}

#[test]
fn tokio_multi_thread_req_rep() {
    init();
    let rt = multi_thread();
    let ctx = Context::new();
    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    let ep = bind_fresh(&mut rep, Transport::Tcp);
    let mut req = ctx.socket(SocketType::Req).unwrap();
    req.connect(&ep).unwrap();
    rt.block_on(async move {
        let server = tokio::spawn(async move {
            for _ in 0..100 {
                let msg = rep.recv_async().await.unwrap();
                rep.send_async(msg).await.unwrap();
            }
        });
        for i in 0..100u32 {
            req.send_async(i.to_string()).await.unwrap();
            let reply = req.recv_async().await.unwrap();
            assert_eq!(reply[0], i.to_string().as_bytes());
        }
        server.await.unwrap();
    });
}

#[test]
fn tokio_current_thread_pipeline() {
    init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = Context::new();
    let (mut push, mut pull) = pair(&ctx, Transport::Ipc);
    rt.block_on(async move {
        let producer = tokio::spawn(async move {
            for i in 0..5000u32 {
                push.send_async(i.to_be_bytes().to_vec()).await.unwrap();
            }
        });
        for i in 0..5000u32 {
            let msg = pull.recv_async().await.unwrap();
            assert_eq!(&msg[0][..], &i.to_be_bytes()[..]);
        }
        producer.await.unwrap();
    });
}

#[test]
fn smol_pipeline() {
    init();
    let ctx = Context::new();
    let (mut push, mut pull) = pair(&ctx, Transport::Tcp);
    smol::block_on(async move {
        let producer = smol::spawn(async move {
            for i in 0..2000u32 {
                push.send_async(i.to_be_bytes().to_vec()).await.unwrap();
            }
        });
        for i in 0..2000u32 {
            let msg = pull.recv_async().await.unwrap();
            assert_eq!(&msg[0][..], &i.to_be_bytes()[..]);
        }
        producer.await;
    });
}

/// Races `recv_async` thousands of times, while messages flow, against a future that is
/// ready on its second poll (so a receive that had to wait is usually dropped after it
/// registered its waker), and against a short timer: every message must arrive exactly
/// once, in order, whichever side of each race wins.
#[test]
fn a_dropped_receive_loses_and_duplicates_nothing() {
    init();
    const N: u32 = 20_000;
    let rt = multi_thread();
    let ctx = Context::new();
    let (mut push, mut pull) = pair(&ctx, Transport::Tcp);
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            push.send(i.to_be_bytes().to_vec()).unwrap();
        }
        push
    });
    let (got, cancelled) = rt.block_on(async move {
        let (mut next, mut cancelled) = (0u32, 0u32);
        while next < N {
            let received = if next % 2 == 0 {
                tokio::select! {
                    biased;
                    msg = pull.recv_async() => Some(msg),
                    _ = tokio::task::yield_now() => None,
                }
            } else {
                tokio::select! {
                    msg = pull.recv_async() => Some(msg),
                    _ = tokio::time::sleep(Duration::from_micros(20)) => None,
                }
            };
            match received {
                Some(msg) => {
                    let msg = msg.unwrap();
                    assert_eq!(&msg[0][..], &next.to_be_bytes()[..], "lost or duplicated");
                    next += 1;
                }
                None => cancelled += 1,
            }
        }
        // Nothing more may come: every message was taken exactly once.
        let extra = tokio::time::timeout(Duration::from_millis(50), pull.recv_async()).await;
        assert!(extra.is_err(), "a message arrived twice");
        (next, cancelled)
    });
    sender.join().unwrap();
    assert_eq!(got, N);
    eprintln!("{cancelled} receives were cancelled midway");
}

/// Races `send_async`, into a peer with a tiny queue, against a future that is ready on its
/// second poll: every send that completed arrives exactly once, and none that was cancelled
/// arrives at all.
#[test]
fn a_dropped_send_queues_nothing() {
    init();
    const N: u32 = 5_000;
    let rt = multi_thread();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.bind("inproc://dropped-send").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(1).unwrap();
    push.connect("inproc://dropped-send").unwrap();
    let receiver = std::thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            match pull.recv_timeout(TIMEOUT) {
                Ok(msg) => {
                    let mut b = [0u8; 4];
                    b.copy_from_slice(&msg[0]);
                    let v = u32::from_be_bytes(b);
                    if v == u32::MAX {
                        return seen;
                    }
                    seen.push(v);
                }
                Err(e) => panic!("receiver: {e}"),
            }
        }
    });
    let sent = rt.block_on(async move {
        let mut sent = Vec::new();
        for i in 0..N {
            tokio::select! {
                biased;
                r = push.send_async(i.to_be_bytes().to_vec()) => { r.unwrap(); sent.push(i); }
                _ = tokio::task::yield_now() => {}
            }
        }
        push.send_async(u32::MAX.to_be_bytes().to_vec())
            .await
            .unwrap();
        sent
    });
    let seen = receiver.join().unwrap();
    eprintln!(
        "{} of {N} sends completed, the rest were cancelled",
        sent.len()
    );
    assert_eq!(seen, sent, "what arrived must be exactly what completed");
}

#[test]
fn the_monitor_is_a_stream_that_ends_with_its_socket() {
    use smol::stream::StreamExt;
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let mut monitor = pull.monitor();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    smol::block_on(async move {
        assert_eq!(monitor.next().await.unwrap().kind.name(), "LISTENING");
        drop(pull);
        assert_eq!(monitor.next().await.unwrap().kind.name(), "CLOSED");
        assert!(
            monitor.next().await.is_none(),
            "the stream ends with the socket"
        );
    });
}

#[test]
fn a_monitor_wakes_a_waiting_task() {
    init();
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let monitor = pull.monitor();
    let waiter = std::thread::spawn(move || block_on(monitor.recv_async()));
    pull.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(waiter.join().unwrap().unwrap().kind.name(), "LISTENING");
}
