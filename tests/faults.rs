//! Fault injection: what ferrozmq delivers, loses and recovers when a tcp connection is
//! cut, stalled or refused, a peer restarts, or many peers connect at once.
//!
//! What must hold: each test states the loss/survival property it checks; none sleeps to
//! synchronise (they wait for messages, monitor events or proxy state with deadlines), and
//! each passes on a loaded 2-core machine. All traffic stays on 127.0.0.1.

mod util;

use std::io::{Read, Write};

use util::proxy::FaultProxy;
use util::*;

/// The proxy itself: passes bytes, corrupts exactly the bytes asked for, stalls without
/// forwarding, and cuts with FIN (clean EOF) or RST (connection reset).
#[test]
fn proxy_passes_corrupts_stalls_and_cuts() {
    init();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = FaultProxy::start(&listener.local_addr().unwrap().to_string());
    let accept = |l: &std::net::TcpListener| {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s
    };

    // pass
    let mut c = std::net::TcpStream::connect(proxy.addr()).unwrap();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut s = accept(&listener);
    assert!(proxy.wait_live(1, TIMEOUT));
    c.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");

    // corrupt the next 2 bytes towards the target
    proxy.corrupt(2);
    c.write_all(b"abcd").unwrap();
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(buf, [!b'a', !b'b', b'c', b'd']);

    // stall: nothing arrives; resume: it does
    proxy.stall();
    c.write_all(b"held").unwrap();
    s.set_read_timeout(Some(QUIET)).unwrap();
    let mut buf = [0u8; 4];
    assert!(s.read(&mut buf).is_err(), "stalled proxy forwarded data");
    proxy.resume();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"held");

    // cut with FIN: both sides see EOF
    proxy.cut_fin();
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    assert_eq!(proxy.live(), 0);

    // cut with RST: both sides see a reset
    let mut c = std::net::TcpStream::connect(proxy.addr()).unwrap();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut s = accept(&listener);
    assert!(proxy.wait_live(1, TIMEOUT));
    proxy.cut_rst();
    for (side, stream) in [("client", &mut c), ("target", &mut s)] {
        let err = stream.read(&mut buf).expect_err("a reset, not EOF");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{side}");
    }

    // refuse: new connections are closed at once, without reaching the target
    proxy.refuse();
    let mut c = std::net::TcpStream::connect(proxy.addr()).unwrap();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert!(proxy.wait_accepted(3, TIMEOUT));
    assert!(matches!(c.read(&mut buf), Ok(0) | Err(_)));
    assert_eq!(proxy.live(), 0);
    drop(proxy);
    listener.set_nonblocking(true).unwrap();
    // The refused connection never reached the target.
    assert!(listener.accept().is_err());
}
