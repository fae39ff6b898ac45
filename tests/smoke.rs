use ferrozmq::{Context, SocketType};
use std::time::Duration;

fn roundtrip(ep_bind: &str) {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(ep_bind).unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    for i in 0..1000 {
        push.send(
            vec![format!("m{i}"), "x".to_string()]
                .into_iter()
                .map(bytes::Bytes::from)
                .collect::<Vec<_>>(),
        )
        .unwrap();
    }
    for i in 0..1000 {
        let m = pull.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(m[0], format!("m{i}").as_bytes());
    }
}

#[test]
fn smoke_inproc() {
    let _ = env_logger::try_init();
    roundtrip("inproc://smoke");
}
#[test]
fn smoke_tcp() {
    let _ = env_logger::try_init();
    roundtrip("tcp://127.0.0.1:*");
}
#[test]
fn smoke_ipc() {
    let _ = env_logger::try_init();
    roundtrip(&format!(
        "ipc:///tmp/ferrozmq-smoke-{}.sock",
        std::process::id()
    ));
}
