//! Security interop with libzmq: CURVE, PLAIN and ZAP between ferrozmq and pyzmq (whose
//! bundled libzmq has CURVE; the `zmq` crate's vendored one has not), over tcp on loopback.
//!
//! The pyzmq side is `tests/py/zmq_peer.py`, driven through `tests/util/pyzmq.rs`. Every
//! test is generated for both bind directions (`ferrozmq_binds`, `pyzmq_binds`) and for
//! each mechanism it applies to, so a client that binds and a server that connects are
//! covered too:
//! - ferrozmq server and pyzmq client, and the reverse: REQ/REP and DEALER/ROUTER (messages
//!   both ways; a multipart one too) and PUSH/PULL (one way);
//! - a pyzmq server whose ZAP handler (`--zap-allow-*`, `--zap-deny-addr`) admits the right
//!   ferrozmq client, with the User-Id it gives (PLAIN: the user name; CURVE: the client's
//!   public key in Z85), and refuses a wrong one or a denied address (the ferrozmq client's
//!   monitor sees `HandshakeFailedAuth { status: 400 }`);
//! - a ferrozmq server deciding the same through the typed authenticator and through an
//!   RFC 27 handler on `inproc://zeromq.zap.01` (a ferrozmq ROUTER in the same context,
//!   served by a thread), admitting and refusing pyzmq clients, and setting the User-Id.
//!
//! A pyzmq PLAIN server always runs a ZAP handler (`--zap`): libzmq's PLAIN server refuses
//! every client without one. NULL is checked by ZAP only where a ZAP domain is set, as in
//! libzmq, so the ferrozmq servers here set one.
//!
//! libzmq 4.3's PLAIN ERROR command is malformed: its C prefix `"\x05ERROR"` reads as the
//! byte 0x5E then `RROR`, so a libzmq PLAIN server sends `^RROR` + status, and a libzmq
//! PLAIN client recognises only that form (it takes a well-formed ERROR for an unexpected
//! command, a protocol failure). The PLAIN refusal tests expect libzmq's view on both
//! sides: a ferrozmq client reports `HandshakeFailedAuth { status: 400 }` on libzmq's form,
//! and a pyzmq client refused by ferrozmq reports `HANDSHAKE_FAILED_AUTH 400`.
//!
//! Skipped with a message where python3 or pyzmq is missing; failing instead under
//! `FERROZMQ_REQUIRE_PYZMQ=1`, as in CI. Nothing sleeps: every wait is for a line of the
//! python peer, a message or a monitor event, with a deadline.

mod util;

use ferrozmq::{
    poll, AuthCredentials, AuthDecision, AuthRequest, Context, CurveKeyPair, EventKind, Message,
    PollEvents, PollItem, Socket, SocketType,
};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use util::events::expect_event;
use util::pyzmq::{self, opt, PyPeer};
use util::{bind_fresh, bounded_socket, recv, send, strings, Transport, TIMEOUT};

/// The PLAIN credentials of the right client.
const USER: &str = "admin";
const PASSWORD: &str = "s3cret";

/// How many messages each exchange carries.
const ROUNDS: usize = 3;

/// The libzmq ZAP endpoint.
const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mech {
    Null,
    Plain,
    Curve,
}

/// Which side binds; the other connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binder {
    Ferro,
    Py,
}

/// For each `scenario: [module = Mech, ...]`, one test per mechanism and bind direction:
/// `scenario::curve::ferrozmq_binds` calls `scenario(Mech::Curve, Binder::Ferro, name)`.
macro_rules! matrix {
    ($($f:ident: [$($m:ident = $mech:ident),* $(,)?]),* $(,)?) => {$(
        mod $f {$(
            mod $m {
                use super::super::{Binder, Mech};
                #[test]
                fn ferrozmq_binds() {
                    super::super::$f(
                        Mech::$mech,
                        Binder::Ferro,
                        concat!(stringify!($f), "::", stringify!($m), "::ferrozmq_binds"),
                    )
                }
                #[test]
                fn pyzmq_binds() {
                    super::super::$f(
                        Mech::$mech,
                        Binder::Py,
                        concat!(stringify!($f), "::", stringify!($m), "::pyzmq_binds"),
                    )
                }
            }
        )*}
    )*};
}

matrix! {
    ferro_rep_serves_py_req: [curve = Curve, plain = Plain],
    py_rep_serves_ferro_req: [curve = Curve, plain = Plain],
    ferro_router_serves_py_dealer: [curve = Curve, plain = Plain],
    py_router_serves_ferro_dealer: [curve = Curve, plain = Plain],
    ferro_pull_from_py_push: [curve = Curve, plain = Plain],
    py_pull_from_ferro_push: [curve = Curve, plain = Plain],
    ferro_sub_from_py_pub: [curve = Curve, plain = Plain],
    py_sub_from_ferro_pub: [curve = Curve, plain = Plain],
    curve_heartbeats_with_libzmq: [curve = Curve],
    py_zap_admits_the_right_ferro_client: [curve = Curve, plain = Plain],
    py_zap_refuses_a_wrong_ferro_client: [curve = Curve, plain = Plain],
    py_zap_refuses_a_denied_address: [null = Null, plain = Plain, curve = Curve],
    ferro_authenticator_admits_the_right_py_client: [curve = Curve, plain = Plain],
    ferro_authenticator_refuses_a_wrong_py_client: [curve = Curve, plain = Plain],
    ferro_authenticator_refuses_a_denied_address: [null = Null, plain = Plain, curve = Curve],
    ferro_zap_handler_admits_the_right_py_client: [curve = Curve, plain = Plain],
    ferro_zap_handler_refuses_a_wrong_py_client: [curve = Curve, plain = Plain],
    ferro_zap_handler_refuses_a_denied_address: [null = Null, plain = Plain, curve = Curve],
}

// ---------------------------------------------------------------------------------------
// Keys, credentials and the two sides' options
// ---------------------------------------------------------------------------------------

/// One test's mechanism and key pairs (fresh, from ferrozmq; pyzmq is given them as Z85).
struct Setup {
    mech: Mech,
    server: CurveKeyPair,
    client: CurveKeyPair,
}

impl Setup {
    fn new(mech: Mech) -> Setup {
        Setup {
            mech,
            server: ferrozmq::curve_keypair(),
            client: ferrozmq::curve_keypair(),
        }
    }

    /// The User-Id our ZAP policies give the right client.
    fn user_id(&self) -> String {
        match self.mech {
            Mech::Null => String::new(),
            Mech::Plain => USER.to_owned(),
            Mech::Curve => self.client.public_z85(),
        }
    }

    /// The policy that admits exactly the right client.
    fn policy(&self) -> Policy {
        Policy {
            deny_addr: None,
            plain: (self.mech == Mech::Plain).then(|| (USER.to_owned(), PASSWORD.to_owned())),
            curve: (self.mech == Mech::Curve).then(|| *self.client.public_key()),
        }
    }

    fn ferro_server(&self, s: &mut Socket) {
        match self.mech {
            Mech::Null => {}
            Mech::Plain => s.set_plain_server(true).unwrap(),
            Mech::Curve => {
                s.set_curve_server(true).unwrap();
                s.set_curve_secretkey(self.server.secret_z85()).unwrap();
            }
        }
    }

    /// The right client: the server's key and our known key pair, or USER and PASSWORD.
    fn ferro_client(&self, s: &mut Socket) {
        self.ferro_client_as(s, &self.client, PASSWORD);
    }

    /// A wrong client: an unknown key pair (the server key is right), or a wrong password.
    fn ferro_wrong_client(&self, s: &mut Socket) {
        self.ferro_client_as(s, &ferrozmq::curve_keypair(), "guess");
    }

    fn ferro_client_as(&self, s: &mut Socket, keys: &CurveKeyPair, password: &str) {
        match self.mech {
            Mech::Null => {}
            Mech::Plain => {
                s.set_plain_username(USER).unwrap();
                s.set_plain_password(password).unwrap();
            }
            Mech::Curve => {
                s.set_curve_serverkey(self.server.public_z85()).unwrap();
                s.set_curve_secretkey(keys.secret_z85()).unwrap();
                s.set_curve_publickey(keys.public_key()).unwrap();
            }
        }
    }

    /// The pyzmq server's options. A PLAIN server gets an open ZAP handler (`--zap`), which
    /// libzmq needs to admit anyone; so does a CURVE server here, for the User-Id.
    fn py_server(&self) -> Vec<String> {
        match self.mech {
            Mech::Null => vec![],
            Mech::Plain => vec!["--plain-server".into(), "--zap".into()],
            Mech::Curve => vec![
                "--curve-server".into(),
                opt("--curve-secret", self.server.secret_z85()),
                "--zap".into(),
            ],
        }
    }

    /// The pyzmq server's ZAP allow list: exactly the right client.
    fn py_zap_allow(&self) -> Vec<String> {
        match self.mech {
            Mech::Null => vec![],
            Mech::Plain => vec![opt("--zap-allow-plain", format!("{USER}:{PASSWORD}"))],
            Mech::Curve => vec![opt("--zap-allow-curve", self.client.public_z85())],
        }
    }

    /// The right pyzmq client.
    fn py_client(&self) -> Vec<String> {
        match self.mech {
            Mech::Null => vec![],
            Mech::Plain => vec![opt("--plain-user", USER), opt("--plain-password", PASSWORD)],
            Mech::Curve => vec![
                opt("--curve-serverkey", self.server.public_z85()),
                opt("--curve-secret", self.client.secret_z85()),
            ],
        }
    }

    /// A wrong pyzmq client: a fresh key pair of its own, or a wrong password.
    fn py_wrong_client(&self) -> Vec<String> {
        match self.mech {
            Mech::Null => vec![],
            Mech::Plain => vec![opt("--plain-user", USER), opt("--plain-password", "guess")],
            Mech::Curve => vec![opt("--curve-serverkey", self.server.public_z85())],
        }
    }
}

/// `fixed` then `more`, as the peer's arguments.
fn args<const N: usize>(fixed: [&str; N], more: Vec<String>) -> Vec<String> {
    fixed.iter().map(|a| a.to_string()).chain(more).collect()
}

/// Joins `ferro` and a new pyzmq peer started with `py_args`, `binder` binding (tcp on
/// 127.0.0.1), and returns the peer, READY.
#[track_caller]
fn link(binder: Binder, ferro: &mut Socket, mut py_args: Vec<String>) -> PyPeer {
    match binder {
        Binder::Ferro => {
            let ep = bind_fresh(ferro, Transport::Tcp);
            py_args.push(opt("--connect", ep));
            PyPeer::spawn(py_args)
        }
        Binder::Py => {
            py_args.push("--bind=tcp://127.0.0.1:0".into());
            let py = PyPeer::spawn(py_args);
            ferro
                .connect(py.endpoint())
                .unwrap_or_else(|e| panic!("connect({}): {e:?}", py.endpoint()));
            py
        }
    }
}

/// A ferrozmq socket whose every wait is bounded.
fn ours(ctx: &Context, kind: SocketType) -> Socket {
    bounded_socket(ctx, kind, TIMEOUT)
}

/// Waits for `HandshakeFailedAuth { status: 400 }` on `monitor`.
#[track_caller]
fn expect_refused(monitor: &ferrozmq::Monitor, whose: &str) {
    expect_event(
        monitor,
        &format!("HANDSHAKE_FAILED_AUTH 400 ({whose})"),
        |e| matches!(e.kind, EventKind::HandshakeFailedAuth { status: 400 }),
    );
}

// ---------------------------------------------------------------------------------------
// Messages both ways: ferrozmq server with a pyzmq client, and the reverse
// ---------------------------------------------------------------------------------------

fn ferro_rep_serves_py_req(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut rep = ours(&ctx, SocketType::Rep);
    setup.ferro_server(&mut rep);
    let request = format!("--request={ROUNDS}");
    let mut py = link(
        binder,
        &mut rep,
        args(["--type=REQ", &request], setup.py_client()),
    );
    for i in 0..ROUNDS {
        let m = recv(&mut rep, "a request from pyzmq");
        assert_eq!(strings(&m), [format!("msg-{i}")]);
        send(&mut rep, format!("reply-{i}"), "a reply to pyzmq");
        assert_eq!(py.next_message("a reply"), format!("reply-{i}"));
    }
    py.wait_success();
}

fn py_rep_serves_ferro_req(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut req = ours(&ctx, SocketType::Req);
    setup.ferro_client(&mut req);
    let echo = format!("--echo={ROUNDS}");
    let py_args = args(["--type=REP", &echo, "--show-user-id"], setup.py_server());
    let mut py = link(binder, &mut req, py_args);
    for i in 0..ROUNDS {
        send(&mut req, format!("ferro-{i}"), "a request to pyzmq");
        assert_eq!(
            py.next_message("the request"),
            format!("{}\tferro-{i}", setup.user_id())
        );
        let m = recv(&mut req, "the echo from pyzmq");
        assert_eq!(strings(&m), [format!("ferro-{i}")]);
    }
    py.wait_success();
}

fn ferro_router_serves_py_dealer(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut router = ours(&ctx, SocketType::Router);
    setup.ferro_server(&mut router);
    let request = format!("--request={ROUNDS}");
    let mut py = link(
        binder,
        &mut router,
        args(["--type=DEALER", &request], setup.py_client()),
    );
    for i in 0..ROUNDS {
        let m = recv(&mut router, "a request from pyzmq");
        assert_eq!(m.len(), 2, "routing id and body: {:?}", strings(&m));
        assert_eq!(strings(&m)[1], format!("msg-{i}"));
        let reply = Message::multipart([m[0].clone(), format!("reply-{i}").into_bytes().into()]);
        send(&mut router, reply, "a reply to pyzmq");
        assert_eq!(py.next_message("a reply"), format!("reply-{i}"));
    }
    py.wait_success();
}

fn py_router_serves_ferro_dealer(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut dealer = ours(&ctx, SocketType::Dealer);
    setup.ferro_client(&mut dealer);
    let echo = format!("--echo={ROUNDS}");
    let py_args = args(
        ["--type=ROUTER", &echo, "--show-user-id"],
        setup.py_server(),
    );
    let mut py = link(binder, &mut dealer, py_args);
    for i in 0..ROUNDS {
        let n = i.to_string();
        // Multipart, and an empty frame, across the encryption.
        send(
            &mut dealer,
            vec!["ferro", "", n.as_str()],
            "a request to pyzmq",
        );
        assert_eq!(
            py.next_message("the request"),
            format!("{}\tferro\t\t{i}", setup.user_id())
        );
        let m = recv(&mut dealer, "the echo from pyzmq");
        assert_eq!(strings(&m), ["ferro", "", n.as_str()]);
    }
    py.wait_success();
}

/// Receives the `ROUNDS` messages a Python peer sends with `--send`: `msg-0`, `msg-1`, ...
fn expect_numbered(s: &mut Socket, what: &str) {
    for i in 0..ROUNDS {
        let m = recv(s, what);
        assert_eq!(strings(&m), [format!("msg-{i}")]);
    }
}

fn ferro_pull_from_py_push(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut pull = ours(&ctx, SocketType::Pull);
    setup.ferro_server(&mut pull);
    let count = format!("--send={ROUNDS}");
    let mut py = link(
        binder,
        &mut pull,
        args(["--type=PUSH", &count], setup.py_client()),
    );
    expect_numbered(&mut pull, "a message from pyzmq");
    py.wait_success();
}

fn py_pull_from_ferro_push(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut push = ours(&ctx, SocketType::Push);
    setup.ferro_client(&mut push);
    let count = format!("--recv={ROUNDS}");
    let py_args = args(["--type=PULL", &count, "--show-user-id"], setup.py_server());
    let mut py = link(binder, &mut push, py_args);
    for i in 0..ROUNDS {
        send(&mut push, format!("ferro-{i}"), "a message to pyzmq");
    }
    for i in 0..ROUNDS {
        assert_eq!(
            py.next_message("a message"),
            format!("{}\tferro-{i}", setup.user_id())
        );
    }
    py.wait_success();
}

/// A ferrozmq SUB (the client) from a libzmq PUB (the server): the SUBSCRIBE that libzmq's
/// XPUB waits for travels boxed, flags and command name inside, as libzmq expects.
fn ferro_sub_from_py_pub(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut sub = ours(&ctx, SocketType::Sub);
    setup.ferro_client(&mut sub);
    sub.subscribe("").unwrap();
    let count = format!("--send={ROUNDS}");
    let mut py = link(
        binder,
        &mut sub,
        args(["--type=PUB", &count], setup.py_server()),
    );
    expect_numbered(&mut sub, "a published message from pyzmq");
    py.wait_success();
}

/// A libzmq SUB (the client) from a ferrozmq PUB (the server), which waits for it with
/// `wait_subscribers` instead of a sleep: libzmq's boxed SUBSCRIBE must open here.
fn py_sub_from_ferro_pub(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut publisher = ours(&ctx, SocketType::Pub);
    setup.ferro_server(&mut publisher);
    let count = format!("--recv={ROUNDS}");
    let mut py = link(
        binder,
        &mut publisher,
        args(["--type=SUB", &count], setup.py_client()),
    );
    publisher
        .wait_subscribers("", 1, TIMEOUT)
        .expect("the pyzmq subscriber's subscription");
    for i in 0..ROUNDS {
        send(&mut publisher, format!("pub-{i}"), "a message to publish");
    }
    for i in 0..ROUNDS {
        assert_eq!(py.next_message("a published message"), format!("pub-{i}"));
    }
    py.wait_success();
}

/// Heartbeats under CURVE with libzmq both ways: each side PINGs the other every 50 ms of
/// silence and drops a peer silent for 1 s (long, so a loaded machine's stalls do not
/// count), and the PINGs and PONGs travel boxed with the COMMAND flag inside. Over 2.5 s of
/// silence (more than two timeouts) a side that could not open the other's boxed PING or
/// PONG would drop the link; the ferrozmq side's monitor must show no disconnect, and a
/// message must still get through afterwards.
fn curve_heartbeats_with_libzmq(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut push = ours(&ctx, SocketType::Push);
    setup.ferro_client(&mut push);
    push.set_heartbeat_ivl(Some(Duration::from_millis(50)))
        .unwrap();
    push.set_heartbeat_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let monitor = push.monitor();
    let mut py = link(
        binder,
        &mut push,
        args(
            ["--type=PULL", "--recv=2", "--heartbeat-ivl-ms=50"],
            setup.py_server(),
        ),
    );
    send(&mut push, "first", "a message before the silence");
    assert_eq!(py.next_message("the first message"), "first");
    // 2.5 s with nothing but heartbeats on the link: no disconnect may show.
    let quiet_until = Instant::now() + Duration::from_millis(2500);
    while let Some(left) = quiet_until.checked_duration_since(Instant::now()) {
        match monitor.recv_timeout(left) {
            Ok(event) => assert!(
                !matches!(event.kind, EventKind::Disconnected { .. }),
                "the heartbeats failed: {event:?}"
            ),
            Err(_) => break,
        }
    }
    send(&mut push, "second", "a message after the silence");
    assert_eq!(py.next_message("the second message"), "second");
    py.wait_success();
}

// ---------------------------------------------------------------------------------------
// A pyzmq server's ZAP handler deciding about ferrozmq clients
// ---------------------------------------------------------------------------------------

fn py_zap_admits_the_right_ferro_client(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut dealer = ours(&ctx, SocketType::Dealer);
    setup.ferro_client(&mut dealer);
    let monitor = dealer.monitor();
    let mut py_server = setup.py_server();
    py_server.extend(setup.py_zap_allow());
    let py_args = args(["--type=ROUTER", "--echo=1", "--show-user-id"], py_server);
    let mut py = link(binder, &mut dealer, py_args);
    send(&mut dealer, "hello", "a request to pyzmq");
    assert_eq!(
        py.next_message("the request"),
        format!("{}\thello", setup.user_id())
    );
    assert_eq!(strings(&recv(&mut dealer, "the echo")), ["hello"]);
    util::events::expect_kind(&monitor, &EventKind::HandshakeSucceeded);
    py.wait_success();
}

fn py_zap_refuses_a_wrong_ferro_client(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut dealer = ours(&ctx, SocketType::Dealer);
    setup.ferro_wrong_client(&mut dealer);
    let monitor = dealer.monitor();
    let mut py_server = setup.py_server();
    py_server.extend(setup.py_zap_allow());
    let py_args = args(
        ["--type=ROUTER", "--wait-event=HANDSHAKE_FAILED_AUTH"],
        py_server,
    );
    let mut py = link(binder, &mut dealer, py_args);
    expect_refused(&monitor, "the ferrozmq client");
    assert_eq!(py.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    py.wait_success();
}

fn py_zap_refuses_a_denied_address(mech: Mech, binder: Binder, name: &str) {
    if !pyzmq::require_or_skip(name) {
        return;
    }
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let mut push = ours(&ctx, SocketType::Push);
    // The right credentials: the address alone is refused.
    setup.ferro_client(&mut push);
    let monitor = push.monitor();
    let mut py_server = setup.py_server();
    py_server.extend(setup.py_zap_allow());
    py_server.push("--zap-deny-addr=127.0.0.1".into());
    let py_args = args(
        ["--type=PULL", "--wait-event=HANDSHAKE_FAILED_AUTH"],
        py_server,
    );
    let mut py = link(binder, &mut push, py_args);
    expect_refused(&monitor, "the ferrozmq client");
    assert_eq!(py.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    py.wait_success();
}

// ---------------------------------------------------------------------------------------
// A ferrozmq server deciding about pyzmq clients: typed authenticator and inproc handler
// ---------------------------------------------------------------------------------------

/// Who decides for the ferrozmq server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decider {
    /// `Context::set_authenticator`.
    Typed,
    /// A ROUTER at `inproc://zeromq.zap.01`, speaking RFC 27.
    Inproc,
}

/// What the decider was asked: (peer address, mechanism).
type AskLog = Arc<Mutex<Vec<(String, &'static str)>>>;

/// Allow and deny rules, the same for both deciders.
#[derive(Clone, Debug, Default)]
struct Policy {
    deny_addr: Option<String>,
    /// When set, the only PLAIN credentials admitted.
    plain: Option<(String, String)>,
    /// When set, the only CURVE client key admitted.
    curve: Option<[u8; 32]>,
}

/// Credentials as the deciders see them.
enum Presented<'a> {
    Null,
    Plain {
        username: &'a [u8],
        password: &'a [u8],
    },
    Curve(&'a [u8; 32]),
}

impl Presented<'_> {
    fn mechanism(&self) -> &'static str {
        match self {
            Presented::Null => "NULL",
            Presented::Plain { .. } => "PLAIN",
            Presented::Curve(_) => "CURVE",
        }
    }
}

impl Policy {
    /// `Ok(user id)` or `Err(reason)`.
    fn decide(&self, address: &str, presented: &Presented<'_>) -> Result<String, String> {
        if self.deny_addr.as_deref() == Some(address) {
            return Err(format!("address {address} denied"));
        }
        match *presented {
            Presented::Null => Ok(String::new()),
            Presented::Plain { username, password } => match &self.plain {
                Some((u, p)) if u.as_bytes() == username && p.as_bytes() == password => {
                    Ok(u.clone())
                }
                Some(_) => Err("wrong user name or password".into()),
                None => Ok(String::from_utf8_lossy(username).into_owned()),
            },
            Presented::Curve(key) => {
                let z85 = ferrozmq::z85::encode(key).expect("a 32-byte key encodes");
                match &self.curve {
                    Some(k) if k != key => Err(format!("unknown client key {z85}")),
                    _ => Ok(z85),
                }
            }
        }
    }
}

/// Installs `policy` as `ctx`'s typed authenticator, logging each request to `log`.
fn install_authenticator(ctx: &Context, policy: Policy, log: AskLog) {
    ctx.set_authenticator(move |req: &AuthRequest<'_>| -> AuthDecision {
        let presented = match req.credentials {
            AuthCredentials::Null => Presented::Null,
            AuthCredentials::Plain { username, password } => {
                Presented::Plain { username, password }
            }
            AuthCredentials::Curve { public_key } => Presented::Curve(public_key),
            _ => return AuthDecision::deny("a mechanism this test does not know"),
        };
        log.lock()
            .unwrap()
            .push((req.address.to_owned(), presented.mechanism()));
        match policy.decide(req.address, &presented) {
            Ok(user_id) => AuthDecision::allow(user_id),
            Err(reason) => AuthDecision::deny(reason),
        }
    });
}

/// An RFC 27 handler: a ferrozmq ROUTER bound at `inproc://zeromq.zap.01` in the server's
/// context, served by a thread until [`ZapHandler::stop`] (or drop).
struct ZapHandler {
    stop: Socket,
    thread: Option<JoinHandle<()>>,
}

impl ZapHandler {
    fn start(ctx: &Context, policy: Policy, log: AskLog) -> ZapHandler {
        let mut zap = ours(ctx, SocketType::Router);
        zap.bind(ZAP_ENDPOINT).expect("bind the ZAP endpoint");
        // A PAIR to tell the thread to stop, so it waits on nothing but sockets.
        let stop_ep = format!("inproc://{}", util::unique_name("zap-stop"));
        let mut stop_rx = ours(ctx, SocketType::Pair);
        stop_rx.bind(&stop_ep).unwrap();
        let mut stop = ours(ctx, SocketType::Pair);
        stop.connect(&stop_ep).unwrap();
        let thread = thread::spawn(move || serve_zap(zap, stop_rx, policy, log));
        ZapHandler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread, and fails the test if it panicked.
    fn stop(mut self) {
        send(&mut self.stop, "stop", "the ZAP handler's stop");
        let thread = self.thread.take().expect("stopped once");
        assert!(thread.join().is_ok(), "the ZAP handler thread panicked");
    }
}

impl Drop for ZapHandler {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            // A test failing elsewhere: stop the thread, ignore what it did.
            let _ = self.stop.send_timeout("stop", TIMEOUT);
            let _ = thread.join();
        }
    }
}

/// Answers ZAP requests on `zap` until `stop` receives, or nothing comes for a while.
fn serve_zap(mut zap: Socket, mut stop: Socket, policy: Policy, log: AskLog) {
    loop {
        let mut items = [
            PollItem::new(&mut zap, PollEvents::READABLE),
            PollItem::new(&mut stop, PollEvents::READABLE),
        ];
        let ready = poll(&mut items, Some(4 * TIMEOUT)).expect("poll the ZAP sockets");
        let (request, stopping) = (items[0].is_readable(), items[1].is_readable());
        if ready == 0 || stopping {
            return;
        }
        if request {
            let m = recv(&mut zap, "a ZAP request");
            let reply = answer_zap(&util::frames(&m), &policy, &log);
            send(&mut zap, Message::from(reply), "a ZAP reply");
        }
    }
}

/// The reply, routing id first, to one request:
/// [routing id, "", "1.0", request id, domain, address, identity, mechanism, credentials..].
fn answer_zap(frames: &[Vec<u8>], policy: &Policy, log: &AskLog) -> Vec<Vec<u8>> {
    assert!(
        frames.len() >= 8 && frames[1].is_empty() && frames[2] == b"1.0",
        "a malformed ZAP request: {frames:?}"
    );
    let address = String::from_utf8_lossy(&frames[5]).into_owned();
    let credentials = &frames[8..];
    let presented = match (frames[7].as_slice(), credentials) {
        (b"NULL", []) => Presented::Null,
        (b"PLAIN", [username, password]) => Presented::Plain { username, password },
        (b"CURVE", [key]) => {
            Presented::Curve(<&[u8; 32]>::try_from(key.as_slice()).expect("a 32-byte CURVE key"))
        }
        (mechanism, _) => panic!(
            "unexpected ZAP mechanism {:?} with {} credential frames",
            String::from_utf8_lossy(mechanism),
            credentials.len()
        ),
    };
    log.lock()
        .unwrap()
        .push((address.clone(), presented.mechanism()));
    let (status, text, user_id) = match policy.decide(&address, &presented) {
        Ok(user_id) => ("200", "OK".to_owned(), user_id),
        Err(reason) => ("400", reason, String::new()),
    };
    vec![
        frames[0].clone(),
        Vec::new(),
        b"1.0".to_vec(),
        frames[3].clone(),
        status.as_bytes().to_vec(),
        text.into_bytes(),
        user_id.into_bytes(),
        Vec::new(),
    ]
}

/// A ferrozmq REP server of `setup`'s mechanism whose decisions `decider` makes with
/// `policy`. Keep the handler (if any) until the end of the test.
fn ferro_zap_server(
    ctx: &Context,
    setup: &Setup,
    decider: Decider,
    policy: Policy,
    log: &AskLog,
) -> (Socket, Option<ZapHandler>) {
    let handler = match decider {
        Decider::Typed => {
            install_authenticator(ctx, policy, log.clone());
            None
        }
        Decider::Inproc => Some(ZapHandler::start(ctx, policy, log.clone())),
    };
    let mut rep = ours(ctx, SocketType::Rep);
    setup.ferro_server(&mut rep);
    // As in libzmq, a domain makes NULL connections go through ZAP too.
    rep.set_zap_domain("global").unwrap();
    (rep, handler)
}

/// Asserts that the decider was asked about at least `n` connections (a refused libzmq
/// client may retry before it exits), all from 127.0.0.1 with `mech`.
#[track_caller]
fn assert_asked(log: &AskLog, mech: Mech, n: usize) {
    let asked = log.lock().unwrap().clone();
    let want = match mech {
        Mech::Null => "NULL",
        Mech::Plain => "PLAIN",
        Mech::Curve => "CURVE",
    };
    assert!(asked.len() >= n, "expected {n}+ requests, got {asked:?}");
    for (address, mechanism) in &asked {
        assert_eq!(
            (address.as_str(), *mechanism),
            ("127.0.0.1", want),
            "{asked:?}"
        );
    }
}

fn ferro_admits_the_right_py_client(decider: Decider, mech: Mech, binder: Binder) {
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let log = AskLog::default();
    let (mut rep, handler) = ferro_zap_server(&ctx, &setup, decider, setup.policy(), &log);
    let monitor = rep.monitor();
    let mut py = link(
        binder,
        &mut rep,
        args(["--type=REQ", "--request=1"], setup.py_client()),
    );
    let m = recv(&mut rep, "the admitted client's request");
    assert_eq!(strings(&m), ["msg-0"]);
    assert_eq!(
        m.property("User-Id"),
        Some(setup.user_id().as_str()),
        "the User-Id of the admitted client"
    );
    send(&mut rep, "welcome", "the reply");
    assert_eq!(py.next_message("the reply"), "welcome");
    util::events::expect_kind(&monitor, &EventKind::HandshakeSucceeded);
    py.wait_success();
    assert_asked(&log, mech, 1);
    if let Some(handler) = handler {
        handler.stop();
    }
}

fn ferro_refuses_a_wrong_py_client(decider: Decider, mech: Mech, binder: Binder) {
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let log = AskLog::default();
    let (mut rep, handler) = ferro_zap_server(&ctx, &setup, decider, setup.policy(), &log);
    let monitor = rep.monitor();
    let mut wrong = link(
        binder,
        &mut rep,
        args(
            ["--type=REQ", "--wait-event=HANDSHAKE_FAILED_AUTH"],
            setup.py_wrong_client(),
        ),
    );
    assert_eq!(wrong.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    expect_refused(&monitor, "the ferrozmq server");
    wrong.wait_success();
    util::assert_nothing(&mut rep, "nothing from a refused client");

    // The server still serves the right client afterwards.
    let mut right = link(
        binder,
        &mut rep,
        args(["--type=REQ", "--request=1"], setup.py_client()),
    );
    let m = recv(&mut rep, "the admitted client's request");
    assert_eq!(m.property("User-Id"), Some(setup.user_id().as_str()));
    send(&mut rep, "welcome", "the reply");
    assert_eq!(right.next_message("the reply"), "welcome");
    right.wait_success();
    assert_asked(&log, mech, 2);
    if let Some(handler) = handler {
        handler.stop();
    }
}

fn ferro_refuses_a_denied_address(decider: Decider, mech: Mech, binder: Binder) {
    let setup = Setup::new(mech);
    let ctx = Context::new();
    let log = AskLog::default();
    let policy = Policy {
        deny_addr: Some("127.0.0.1".into()),
        ..setup.policy()
    };
    let (mut rep, handler) = ferro_zap_server(&ctx, &setup, decider, policy, &log);
    let monitor = rep.monitor();
    // The right credentials: the address alone is refused.
    let mut py = link(
        binder,
        &mut rep,
        args(
            ["--type=REQ", "--wait-event=HANDSHAKE_FAILED_AUTH"],
            setup.py_client(),
        ),
    );
    assert_eq!(py.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    expect_refused(&monitor, "the ferrozmq server");
    py.wait_success();
    assert_asked(&log, mech, 1);
    if let Some(handler) = handler {
        handler.stop();
    }
}

fn ferro_authenticator_admits_the_right_py_client(mech: Mech, binder: Binder, name: &str) {
    if pyzmq::require_or_skip(name) {
        ferro_admits_the_right_py_client(Decider::Typed, mech, binder);
    }
}

fn ferro_authenticator_refuses_a_wrong_py_client(mech: Mech, binder: Binder, name: &str) {
    if pyzmq::require_or_skip(name) {
        ferro_refuses_a_wrong_py_client(Decider::Typed, mech, binder);
    }
}

fn ferro_authenticator_refuses_a_denied_address(mech: Mech, binder: Binder, name: &str) {
    if pyzmq::require_or_skip(name) {
        ferro_refuses_a_denied_address(Decider::Typed, mech, binder);
    }
}

fn ferro_zap_handler_admits_the_right_py_client(mech: Mech, binder: Binder, name: &str) {
    if pyzmq::require_or_skip(name) {
        ferro_admits_the_right_py_client(Decider::Inproc, mech, binder);
    }
}

fn ferro_zap_handler_refuses_a_wrong_py_client(mech: Mech, binder: Binder, name: &str) {
    if pyzmq::require_or_skip(name) {
        ferro_refuses_a_wrong_py_client(Decider::Inproc, mech, binder);
    }
}

fn ferro_zap_handler_refuses_a_denied_address(mech: Mech, binder: Binder, name: &str) {
    if pyzmq::require_or_skip(name) {
        ferro_refuses_a_denied_address(Decider::Inproc, mech, binder);
    }
}
