//! REQ/REP over inproc, ipc and tcp: round trips, the alternation rules, envelopes through
//! a hand-built ROUTER/DEALER broker, load balancing, `req_relaxed`/`req_correlate`, and
//! REP dropping malformed requests.
//!
//! Every wait is bounded by a receive timeout or a poll timeout; nothing sleeps.

mod util;

use ferrozmq::{poll, Context, Error, Message, PollEvents, PollItem, Socket, SocketType};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn socket(ctx: &Context, kind: SocketType) -> Socket {
    util::bounded_socket(ctx, kind, WAIT)
}

/// Binds `s` on a fresh endpoint and returns the address to connect to.
fn bind(s: &mut Socket, transport: &str) -> String {
    util::bind_fresh(s, util::Transport::named(transport))
}

fn msg(frames: &[&str]) -> Message {
    Message::multipart(frames.iter().map(|f| f.to_string()))
}

fn is_wrong_state(e: &Error) -> bool {
    matches!(e, Error::WrongState(_))
}

/// Waits until one of `sockets` has a message and takes it; returns its index.
fn recv_any(sockets: &mut [&mut Socket]) -> (usize, Message) {
    let mut items: Vec<PollItem<'_>> = sockets
        .iter_mut()
        .map(|s| PollItem::new(s, PollEvents::READABLE))
        .collect();
    let ready = poll(&mut items, Some(WAIT)).unwrap();
    assert!(ready > 0, "nothing arrived within {WAIT:?}");
    let i = items.iter().position(|it| it.is_readable()).unwrap();
    let m = items[i].socket().try_recv().unwrap();
    (i, m)
}

fn round_trips(t: &str) {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    for i in 0..20 {
        let request = msg(&["req", &i.to_string(), ""]);
        req.send(request.clone()).unwrap();
        assert_eq!(rep.recv().unwrap(), request);
        rep.send(msg(&["rep", &i.to_string()])).unwrap();
        assert_eq!(req.recv().unwrap(), msg(&["rep", &i.to_string()]));
    }
}

fn alternation_errors(t: &str) {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();

    assert!(is_wrong_state(&req.try_recv().unwrap_err()));
    assert!(is_wrong_state(
        &rep.try_send("no request yet").unwrap_err().error
    ));
    req.send("q").unwrap();
    let e = req.send("again").unwrap_err();
    assert!(is_wrong_state(&e.error));
    assert_eq!(e.message, Message::from("again"));

    assert_eq!(rep.recv().unwrap(), Message::from("q"));
    assert!(is_wrong_state(&rep.try_recv().unwrap_err()));
    rep.send("a").unwrap();
    assert!(is_wrong_state(&rep.try_send("twice").unwrap_err().error));
    assert_eq!(req.recv().unwrap(), Message::from("a"));
    assert!(is_wrong_state(&req.try_recv().unwrap_err()));
    req.send("next").unwrap();
    assert_eq!(rep.recv().unwrap(), Message::from("next"));
}

/// REQ × 3 → ROUTER … DEALER → REP, forwarding by hand: each reply finds its way back to
/// the REQ that asked, through two envelope layers.
fn broker(t: &str) {
    let ctx = Context::new();
    let mut frontend = socket(&ctx, SocketType::Router);
    let front_ep = bind(&mut frontend, t);
    let mut backend = socket(&ctx, SocketType::Dealer);
    let back_ep = bind(&mut backend, t);
    let mut rep = socket(&ctx, SocketType::Rep);
    rep.connect(&back_ep).unwrap();
    let mut reqs: Vec<Socket> = (0..3)
        .map(|_| {
            let mut r = socket(&ctx, SocketType::Req);
            r.connect(&front_ep).unwrap();
            r
        })
        .collect();
    for (i, r) in reqs.iter_mut().enumerate() {
        r.send(msg(&["hello from", &i.to_string()])).unwrap();
    }
    for _ in 0..3 {
        let m = frontend.recv().unwrap();
        assert_eq!(m.len(), 4, "routing id, delimiter, two body frames: {m:?}");
        assert!(m[1].is_empty());
        backend.send(m).unwrap();
    }
    for _ in 0..3 {
        let request = rep.recv().unwrap();
        assert_eq!(&request[0][..], b"hello from");
        let who = String::from_utf8(request[1].to_vec()).unwrap();
        rep.send(msg(&["reply to", &who])).unwrap();
    }
    for _ in 0..3 {
        let m = backend.recv().unwrap();
        frontend.send(m).unwrap();
    }
    for (i, r) in reqs.iter_mut().enumerate() {
        assert_eq!(r.recv().unwrap(), msg(&["reply to", &i.to_string()]));
    }
}

fn load_balances_over_two_reps(t: &str) {
    let ctx = Context::new();
    let mut a = socket(&ctx, SocketType::Rep);
    let ep_a = bind(&mut a, t);
    let mut b = socket(&ctx, SocketType::Rep);
    let ep_b = bind(&mut b, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep_a).unwrap();
    req.connect(&ep_b).unwrap();
    let mut served = Vec::new();
    for i in 0..6 {
        req.send(i.to_string()).unwrap();
        let mut reps = [&mut a, &mut b];
        let (which, m) = recv_any(&mut reps);
        assert_eq!(m, Message::from(i.to_string()));
        reps[which].send(format!("{which}")).unwrap();
        assert_eq!(req.recv().unwrap(), Message::from(which.to_string()));
        served.push(which);
    }
    // Round robin: strictly alternating between the two.
    assert!(
        served.windows(2).all(|w| w[0] != w[1]),
        "not alternating: {served:?}"
    );
}

/// Relaxed: a new request may go out before the reply (here to the other REP, since the
/// first never answers). Correlated: the late reply to the first request is ignored.
fn relaxed_and_correlate(t: &str) {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.connect(&ep).unwrap();

    req.send("q1").unwrap();
    assert_eq!(rep.recv().unwrap(), Message::from("q1"));
    req.send("q2").unwrap(); // Allowed: relaxed.
    rep.send("a1").unwrap(); // Late reply to q1: must be ignored.
    assert_eq!(rep.recv().unwrap(), Message::from("q2"));
    rep.send("a2").unwrap();
    assert_eq!(req.recv().unwrap(), Message::from("a2"));
    // Nothing else is delivered: the stale a1 was dropped, not queued.
    assert!(is_wrong_state(&req.try_recv().unwrap_err()));
}

/// Without correlation a relaxed REQ may still resend after a peer that will never answer.
fn relaxed_resend_to_another_peer(t: &str) {
    let ctx = Context::new();
    let mut silent = socket(&ctx, SocketType::Rep);
    let ep_silent = bind(&mut silent, t);
    let mut good = socket(&ctx, SocketType::Rep);
    let ep_good = bind(&mut good, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.set_req_relaxed(true).unwrap();
    req.connect(&ep_silent).unwrap();
    req.connect(&ep_good).unwrap();

    req.send("first").unwrap();
    req.send("second").unwrap();
    let mut reps = [&mut silent, &mut good];
    let (i, m1) = recv_any(&mut reps);
    let (j, m2) = recv_any(&mut reps);
    assert_ne!(i, j, "the two requests went to the same REP");
    // Whoever got "second" answers; the other stays silent.
    let answerer = if m2 == Message::from("second") { j } else { i };
    assert!(m1 == Message::from("second") || m2 == Message::from("second"));
    reps[answerer].send("answer").unwrap();
    assert_eq!(req.recv().unwrap(), Message::from("answer"));
}

fn correlate_alone_is_invisible(t: &str) {
    // Correlate alone: a normal exchange still works (the id frame is invisible).
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.set_req_correlate(true).unwrap();
    req.connect(&ep).unwrap();
    for i in 0..3 {
        req.send(i.to_string()).unwrap();
        assert_eq!(rep.recv().unwrap(), Message::from(i.to_string()));
        rep.send("ok").unwrap();
        assert_eq!(req.recv().unwrap(), Message::from("ok"));
    }
}

fn rep_drops_malformed_request(t: &str) {
    let ctx = Context::new();
    let mut rep = socket(&ctx, SocketType::Rep);
    let ep = bind(&mut rep, t);
    let mut dealer = socket(&ctx, SocketType::Dealer);
    dealer.connect(&ep).unwrap();
    dealer.send(msg(&["no", "delimiter"])).unwrap();
    dealer.send(msg(&[""])).unwrap(); // Delimiter but no body.
    dealer.send(msg(&["hop", "", "good"])).unwrap();
    assert_eq!(rep.recv().unwrap(), Message::from("good"));
    rep.send("answer").unwrap();
    assert_eq!(dealer.recv().unwrap(), msg(&["hop", "", "answer"]));
    assert!(matches!(rep.try_recv(), Err(Error::WouldBlock)));
}

fn req_ignores_replies_without_delimiter(t: &str) {
    let ctx = Context::new();
    let mut router = socket(&ctx, SocketType::Router);
    let ep = bind(&mut router, t);
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    req.send("q").unwrap();
    let m = router.recv().unwrap();
    assert_eq!(m.len(), 3);
    let id = m[0].clone();
    router
        .send(Message::multipart([id.clone(), "bad".into()]))
        .unwrap();
    router
        .send(Message::multipart([id, "".into(), "good".into()]))
        .unwrap();
    assert_eq!(req.recv().unwrap(), Message::from("good"));
}

fn options_by_type() {
    let ctx = Context::new();
    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    assert!(matches!(
        rep.set_req_relaxed(true),
        Err(Error::NotSupported { .. })
    ));
    assert!(matches!(
        rep.set_probe_router(true),
        Err(Error::NotSupported { .. })
    ));
    let mut req = ctx.socket(SocketType::Req).unwrap();
    req.set_probe_router(true).unwrap();
    assert!(matches!(
        req.set_router_mandatory(true),
        Err(Error::NotSupported { .. })
    ));
}

#[test]
fn options_are_checked_per_type() {
    options_by_type();
}

per_transport_name!(
    round_trips,
    alternation_errors,
    broker,
    load_balances_over_two_reps,
    relaxed_and_correlate,
    relaxed_resend_to_another_peer,
    correlate_alone_is_invisible,
    rep_drops_malformed_request,
    req_ignores_replies_without_delimiter,
);
