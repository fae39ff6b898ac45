//! Security between ferrozmq sockets: PLAIN (RFC 24), CURVE (RFC 25/26) and ZAP (RFC 27)
//! through both the typed authenticator and an inproc ZAP handler (ROUTER or REP).
//!
//! What must hold: an admitted client's messages carry `User-Id` (what ZAP said, or, with
//! no ZAP at all, the PLAIN user name or the CURVE key in Z85) along with `Socket-Type` and
//! `Peer-Address`; a refused client gets nothing through, both monitors say why
//! (`HANDSHAKE_FAILED_AUTH` with the ZAP status, `HANDSHAKE_FAILED_PROTOCOL` for a
//! mechanism mismatch or a wrong server key), and the server goes on serving its other
//! clients meanwhile; the role is set by option, never by bind or connect; NULL asks ZAP
//! only when a ZAP domain is set; everything after a CURVE handshake (messages,
//! subscriptions, heartbeats) travels boxed.

mod util;

use ferrozmq::{
    curve_keypair, AuthCredentials, AuthDecision, AuthRequest, Context, CurveKeyPair, EventKind,
    Message, Monitor, Socket, SocketType, ZAP_ENDPOINT,
};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;
use util::events::expect_event;
use util::raw::*;
use util::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A socket of `kind` that never blocks a test for long and drops what it holds on close.
fn sock(ctx: &Context, kind: SocketType) -> Socket {
    bounded_socket(ctx, kind, TIMEOUT)
}

/// A PLAIN server socket.
fn plain_server(ctx: &Context, kind: SocketType) -> Socket {
    let mut s = sock(ctx, kind);
    s.set_plain_server(true).unwrap();
    s
}

/// A PLAIN client socket logging in as `user` with `pass`.
fn plain_client(ctx: &Context, kind: SocketType, user: &str, pass: &str) -> Socket {
    let mut s = sock(ctx, kind);
    s.set_plain_username(user).unwrap();
    s.set_plain_password(pass).unwrap();
    s
}

/// A CURVE server socket with `keys`.
fn curve_server(ctx: &Context, kind: SocketType, keys: &CurveKeyPair) -> Socket {
    let mut s = sock(ctx, kind);
    s.set_curve_server(true).unwrap();
    s.set_curve_secretkey(keys.secret_z85()).unwrap();
    s
}

/// A CURVE client socket with `keys`, of the server whose public key is `server`'s.
fn curve_client(
    ctx: &Context,
    kind: SocketType,
    keys: &CurveKeyPair,
    server: &CurveKeyPair,
) -> Socket {
    let mut s = sock(ctx, kind);
    s.set_curve_secretkey(keys.secret_z85()).unwrap();
    s.set_curve_publickey(keys.public_z85()).unwrap();
    s.set_curve_serverkey(server.public_z85()).unwrap();
    s
}

/// Binds `binder` to a fresh endpoint of `t` and connects `connecter` to it.
fn link(binder: &mut Socket, connecter: &mut Socket, t: Transport) -> String {
    let ep = bind_fresh(binder, t);
    connecter.connect(&ep).unwrap();
    ep
}

/// Links `server` and `client` over `t`, the client binding iff `client_binds`.
fn link_roles(server: &mut Socket, client: &mut Socket, t: Transport, client_binds: bool) {
    if client_binds {
        link(client, server, t);
    } else {
        link(server, client, t);
    }
}

/// Waits for the next `HANDSHAKE_FAILED_AUTH` and returns its status.
#[track_caller]
fn expect_auth_failure(monitor: &Monitor, who: &str) -> u16 {
    let e = expect_event(
        monitor,
        &format!("HANDSHAKE_FAILED_AUTH on the {who}"),
        |e| matches!(e.kind, EventKind::HandshakeFailedAuth { .. }),
    );
    let EventKind::HandshakeFailedAuth { status } = e.kind else {
        unreachable!()
    };
    status
}

/// Waits for the next `HANDSHAKE_FAILED_PROTOCOL` and returns its reason.
#[track_caller]
fn expect_protocol_failure(monitor: &Monitor, who: &str) -> String {
    let e = expect_event(
        monitor,
        &format!("HANDSHAKE_FAILED_PROTOCOL on the {who}"),
        |e| matches!(e.kind, EventKind::HandshakeFailedProtocol { .. }),
    );
    let EventKind::HandshakeFailedProtocol { reason } = e.kind else {
        unreachable!()
    };
    reason
}

/// Checks that no event in what `monitor` has queued so far is one `bad` matches.
#[track_caller]
fn assert_no_event(monitor: &Monitor, what: &str, bad: impl Fn(&EventKind) -> bool) {
    while let Ok(e) = monitor.try_recv() {
        assert!(!bad(&e.kind), "unexpected monitor event ({what}): {e}");
    }
}

/// REQ sends, REP answers, REQ gets the answer; returns the request as REP received it.
fn req_rep_roundtrip(req: &mut Socket, rep: &mut Socket, body: &str) -> Message {
    send(req, body, "the request");
    let got = recv(rep, "the request");
    assert_eq!(text(&got), body);
    send(rep, format!("re: {body}"), "the reply");
    let reply = recv(req, "the reply");
    assert_eq!(text(&reply), format!("re: {body}"));
    got
}

/// A client's credentials, for the authenticators below.
fn plain_user<'a>(req: &AuthRequest<'a>) -> Option<(&'a [u8], &'a [u8])> {
    match req.credentials {
        AuthCredentials::Plain { username, password } => Some((username, password)),
        _ => None,
    }
}

/// An authenticator that admits `admin`/`secret` as `admin-id` and refuses the rest.
fn admin_only(ctx: &Context) {
    ctx.set_authenticator(|req: &AuthRequest<'_>| match plain_user(req) {
        Some((b"admin", b"secret")) => AuthDecision::allow("admin-id"),
        _ => AuthDecision::deny("wrong user name or password"),
    });
}

/// A ZAP handler bound at [`ZAP_ENDPOINT`] on a thread: it hands each RFC 27 request
/// (from its version frame on) to `decide` and sends back the frames `decide` returns (from
/// the version frame on; the ROUTER adds the routing id and the delimiter, the REP its
/// envelope). Every request is also passed on to [`ZapHandler::requests`]. It stops when
/// dropped.
struct ZapHandler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    requests: mpsc::Receiver<Vec<Vec<u8>>>,
}

type Decide = dyn Fn(&[Vec<u8>]) -> Vec<Vec<u8>> + Send;

impl ZapHandler {
    fn spawn(
        ctx: &Context,
        kind: SocketType,
        decide: impl Fn(&[Vec<u8>]) -> Vec<Vec<u8>> + Send + 'static,
    ) -> ZapHandler {
        let mut s = sock(ctx, kind);
        // Bound before any client comes: the server looks the handler up at each HELLO.
        s.bind(ZAP_ENDPOINT).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, requests) = mpsc::channel();
        let stopping = stop.clone();
        let decide: Box<Decide> = Box::new(decide);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                // A short bounded wait so the flag is seen soon after the drop.
                let m = match s.recv_timeout(Duration::from_millis(20)) {
                    Ok(m) => m,
                    Err(ferrozmq::Error::Timeout) => continue,
                    Err(e) => panic!("the ZAP handler's recv failed: {e:?}"),
                };
                let mut all = frames(&m);
                let envelope: Vec<Vec<u8>> = match kind {
                    SocketType::Router => {
                        assert!(all.len() >= 2 && all[1].is_empty(), "ROUTER got {all:?}");
                        all.drain(..2).take(1).collect()
                    }
                    _ => Vec::new(),
                };
                let mut reply = Message::new();
                for f in &envelope {
                    reply.push_back(f.clone());
                }
                if kind == SocketType::Router {
                    reply.push_back(Vec::new());
                }
                for f in decide(&all) {
                    reply.push_back(f);
                }
                let _ = tx.send(all);
                if let Err(e) = s.send_timeout(reply, TIMEOUT) {
                    panic!("the ZAP handler's send failed: {:?}", e.error);
                }
            }
        });
        ZapHandler {
            stop,
            thread: Some(thread),
            requests,
        }
    }

    /// The next request the handler got (from the version frame on).
    #[track_caller]
    fn next_request(&self) -> Vec<Vec<u8>> {
        self.requests
            .recv_timeout(TIMEOUT)
            .expect("a ZAP request within the timeout")
    }
}

impl Drop for ZapHandler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let result = t.join();
            if !std::thread::panicking() {
                result.expect("the ZAP handler thread");
            }
        }
    }
}

/// A ZAP reply (from the version frame on).
fn zap_reply(status: &str, user_id: &str) -> Vec<Vec<u8>> {
    [
        "1.0",
        "1",
        status,
        if status == "200" { "OK" } else { "no" },
        user_id,
        "",
    ]
    .map(|s| s.as_bytes().to_vec())
    .to_vec()
}

/// A handler's decision like [`admin_only`]'s: `admin`/`secret` as `admin-id`.
fn admin_only_reply(request: &[Vec<u8>]) -> Vec<Vec<u8>> {
    // "1.0", "1", domain, address, routing id, mechanism, user name, password
    match request.get(5..) {
        Some([mech, user, pass]) if mech == b"PLAIN" && user == b"admin" && pass == b"secret" => {
            zap_reply("200", "admin-id")
        }
        _ => zap_reply("400", ""),
    }
}

// ---------------------------------------------------------------------------------------
// PLAIN
// ---------------------------------------------------------------------------------------

fn plain_is_admitted_by_an_authenticator(t: Transport) {
    let ctx = Context::new();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    ctx.set_authenticator(move |req: &AuthRequest<'_>| {
        counter.fetch_add(1, Ordering::Relaxed);
        assert_eq!(req.mechanism(), "PLAIN");
        match plain_user(req) {
            Some((b"admin", b"secret")) => AuthDecision::allow("admin-id"),
            _ => AuthDecision::deny("no"),
        }
    });
    let mut rep = plain_server(&ctx, SocketType::Rep);
    let server = rep.monitor();
    let mut req = plain_client(&ctx, SocketType::Req, "admin", "secret");
    let client = req.monitor();
    link(&mut rep, &mut req, t);
    req_rep_roundtrip(&mut req, &mut rep, "hello");
    assert_eq!(asked.load(Ordering::Relaxed), 1);
    expect_event(&server, "the server's handshake", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    expect_event(&client, "the client's handshake", |e| {
        e.kind == EventKind::HandshakeSucceeded
    });
    // The User-Id over PUSH/PULL too (REQ and REP: see `req_and_rep_keep_the_metadata`).
    let mut pull = plain_server(&ctx, SocketType::Pull);
    let mut push = plain_client(&ctx, SocketType::Push, "admin", "secret");
    link(&mut pull, &mut push, t);
    send(&mut push, "hello", "a message");
    let got = recv(&mut pull, "a message");
    assert_eq!(got.property("User-Id"), Some("admin-id"));
    assert_eq!(got.property("Socket-Type"), Some("PUSH"));
    assert_eq!(asked.load(Ordering::Relaxed), 2);
}

#[test]
fn plain_is_admitted_by_an_authenticator_over_tcp() {
    init();
    plain_is_admitted_by_an_authenticator(Transport::Tcp);
}

#[test]
fn plain_is_admitted_by_an_authenticator_over_ipc() {
    init();
    plain_is_admitted_by_an_authenticator(Transport::Ipc);
}

/// A PULL server with one good PLAIN client and one refused, whatever decides; the
/// good one is served meanwhile, and nothing of the refused one gets through.
fn refused_while_another_is_served(ctx: &Context, t: Transport) {
    let mut pull = plain_server(ctx, SocketType::Pull);
    let server = pull.monitor();
    let ep = bind_fresh(&mut pull, t);

    let mut bad = plain_client(ctx, SocketType::Push, "admin", "wrong");
    let bad_monitor = bad.monitor();
    bad.connect(&ep).unwrap();
    send(
        &mut bad,
        "from the refused client",
        "a message that must not arrive",
    );

    let mut good = plain_client(ctx, SocketType::Push, "admin", "secret");
    good.connect(&ep).unwrap();

    assert_eq!(expect_auth_failure(&bad_monitor, "refused client"), 400);
    assert_eq!(expect_auth_failure(&server, "server"), 400);
    for k in 0..20 {
        send(&mut good, format!("good {k}"), "the good client's messages");
    }
    for k in 0..20 {
        let m = recv(&mut pull, "the good client's messages");
        assert_eq!(text(&m), format!("good {k}"));
        assert_eq!(m.property("User-Id"), Some("admin-id"));
    }
    // The refused client keeps trying and keeps being refused.
    assert_eq!(expect_auth_failure(&bad_monitor, "refused client"), 400);
    assert_nothing(&mut pull, "nothing from the refused client");
    assert_no_event(&bad_monitor, "refused client", |k| {
        *k == EventKind::HandshakeSucceeded
    });
}

#[test]
fn plain_refused_by_an_authenticator_while_another_client_is_served() {
    init();
    let ctx = Context::new();
    admin_only(&ctx);
    refused_while_another_is_served(&ctx, Transport::Tcp);
}

fn plain_through_a_zap_handler(kind: SocketType) {
    let ctx = Context::new();
    let handler = ZapHandler::spawn(&ctx, kind, admin_only_reply);
    let mut pull = plain_server(&ctx, SocketType::Pull);
    pull.set_zap_domain("global").unwrap();
    let mut push = plain_client(&ctx, SocketType::Push, "admin", "secret");
    link(&mut pull, &mut push, Transport::Tcp);
    send(&mut push, "hello", "a message");
    let got = recv(&mut pull, "a message");
    assert_eq!(got.property("User-Id"), Some("admin-id"));
    let request = handler.next_request();
    let want: Vec<Vec<u8>> = [
        "1.0",
        "1",
        "global",
        "127.0.0.1",
        "",
        "PLAIN",
        "admin",
        "secret",
    ]
    .map(|s| s.as_bytes().to_vec())
    .to_vec();
    assert_eq!(request, want, "the RFC 27 request");
    drop(push);
    refused_while_another_is_served(&ctx, Transport::Tcp);
    drop(handler);
}

#[test]
fn plain_through_a_router_zap_handler() {
    init();
    plain_through_a_zap_handler(SocketType::Router);
}

#[test]
fn plain_through_a_rep_zap_handler() {
    init();
    plain_through_a_zap_handler(SocketType::Rep);
}

fn plain_without_any_handler(t: Transport) {
    let ctx = Context::new();
    let mut pull = plain_server(&ctx, SocketType::Pull);
    let mut push = plain_client(&ctx, SocketType::Push, "alice", "anything");
    link(&mut pull, &mut push, t);
    send(&mut push, "hi", "a message");
    let m = recv(&mut pull, "a message");
    assert_eq!(m.property("User-Id"), Some("alice"));
    assert_eq!(m.property("Socket-Type"), Some("PUSH"));
}

#[test]
fn plain_without_any_handler_admits_with_the_user_name_over_tcp() {
    init();
    plain_without_any_handler(Transport::Tcp);
}

#[test]
fn plain_without_any_handler_admits_with_the_user_name_over_ipc() {
    init();
    plain_without_any_handler(Transport::Ipc);
}

#[test]
fn plain_roles_are_set_by_option_not_by_bind() {
    init();
    let ctx = Context::new();
    admin_only(&ctx);
    for t in [Transport::Tcp, Transport::Ipc] {
        // The client binds, the server connects.
        let mut rep = plain_server(&ctx, SocketType::Rep);
        let mut req = plain_client(&ctx, SocketType::Req, "admin", "secret");
        link_roles(&mut rep, &mut req, t, true);
        req_rep_roundtrip(&mut req, &mut rep, "from a binding client");
        let mut pull = plain_server(&ctx, SocketType::Pull);
        let mut push = plain_client(&ctx, SocketType::Push, "admin", "secret");
        link_roles(&mut pull, &mut push, t, true);
        send(&mut push, "hi", "a message from a binding client");
        let got = recv(&mut pull, "a message from a binding client");
        assert_eq!(got.property("User-Id"), Some("admin-id"), "{t:?}");
        // And a refused binding client.
        let mut pull = plain_server(&ctx, SocketType::Pull);
        let server = pull.monitor();
        let mut push = plain_client(&ctx, SocketType::Push, "admin", "wrong");
        let client = push.monitor();
        link_roles(&mut pull, &mut push, t, true);
        // (A binding PUSH has no peer to queue a message for until a handshake succeeds.)
        assert_eq!(expect_auth_failure(&server, "connecting server"), 400);
        assert_eq!(expect_auth_failure(&client, "binding client"), 400);
        assert_nothing(&mut pull, "nothing from the refused binding client");
    }
}

#[test]
fn a_zap_handler_replying_garbage_refuses_with_500() {
    init();
    let ctx = Context::new();
    // Three frames where RFC 27 wants seven.
    let _handler = ZapHandler::spawn(&ctx, SocketType::Router, |_| {
        vec![b"1.0".to_vec(), b"1".to_vec(), b"200".to_vec()]
    });
    let mut pull = plain_server(&ctx, SocketType::Pull);
    let server = pull.monitor();
    let mut push = plain_client(&ctx, SocketType::Push, "admin", "secret");
    let client = push.monitor();
    link(&mut pull, &mut push, Transport::Tcp);
    send(&mut push, "nope", "a message that must not arrive");
    assert_eq!(expect_auth_failure(&server, "server"), 500);
    assert_eq!(expect_auth_failure(&client, "client"), 500);
    assert_nothing(&mut pull, "nothing from a client ZAP could not judge");
}

#[test]
fn a_zap_status_300_refuses_without_an_error_command() {
    init();
    let ctx = Context::new();
    let _handler = ZapHandler::spawn(&ctx, SocketType::Router, |_| zap_reply("300", ""));
    let mut pull = plain_server(&ctx, SocketType::Pull);
    let server = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);

    // A raw client sees exactly what the server sends: a greeting, then nothing.
    let (mut raw, greeting) = raw_greeted_as(&ep, "PLAIN", false);
    assert_eq!(&greeting[12..17], b"PLAIN");
    assert_eq!(greeting[32], 1, "the server's as-server byte");
    raw.write_all(&raw_command("HELLO", b"\x05admin\x06secret"))
        .unwrap();
    let after = read_until_closed(&mut raw, "a client ZAP said 300 about");
    assert_eq!(
        command_names(&after),
        Vec::<String>::new(),
        "no WELCOME and no ERROR after a 300: {after:?}"
    );
    assert_eq!(expect_auth_failure(&server, "server"), 300);

    // A ferrozmq client is closed without being told a status.
    let mut push = plain_client(&ctx, SocketType::Push, "admin", "secret");
    let client = push.monitor();
    push.connect(&ep).unwrap();
    expect_event(&client, "a handshake failure without an ERROR", |e| {
        matches!(e.kind, EventKind::HandshakeFailedNoDetail { .. })
    });
    assert_no_event(&client, "client", |k| {
        matches!(
            k,
            EventKind::HandshakeFailedAuth { .. } | EventKind::HandshakeSucceeded
        )
    });
}

#[test]
fn a_denied_plain_client_gets_error_400() {
    init();
    let ctx = Context::new();
    admin_only(&ctx);
    let mut pull = plain_server(&ctx, SocketType::Pull);
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let (mut raw, _) = raw_greeted_as(&ep, "PLAIN", false);
    raw.write_all(&raw_command("HELLO", b"\x05admin\x05wrong"))
        .unwrap();
    let after = read_until_closed(&mut raw, "a denied client");
    assert_eq!(command_names(&after), ["ERROR"], "{after:?}");
    let (_, body, _) = split_frame(&after).unwrap();
    // Spelled as libzmq's PLAIN server spells it (0x5E "RROR"), which libzmq's PLAIN
    // client needs in order to report an authentication failure.
    assert_eq!(body, b"\x5eRROR\x03400");
}

// ---------------------------------------------------------------------------------------
// NULL and ZAP
// ---------------------------------------------------------------------------------------

#[test]
fn null_with_a_zap_domain_is_refused_by_address() {
    init();
    let ctx = Context::new();
    let (tx, asked) = mpsc::channel::<(String, String, String)>();
    let tx = std::sync::Mutex::new(tx);
    ctx.set_authenticator(move |req: &AuthRequest<'_>| {
        let _ = tx.lock().unwrap().send((
            req.domain.to_owned(),
            req.address.to_owned(),
            req.mechanism().to_owned(),
        ));
        if req.address == "127.0.0.1" {
            AuthDecision::deny("not from here")
        } else {
            AuthDecision::allow("")
        }
    });
    let mut pull = sock(&ctx, SocketType::Pull);
    pull.set_zap_domain("global").unwrap();
    let server = pull.monitor();
    let mut push = sock(&ctx, SocketType::Push);
    let client = push.monitor();
    link(&mut pull, &mut push, Transport::Tcp);
    send(&mut push, "nope", "a message that must not arrive");
    assert_eq!(expect_auth_failure(&server, "server"), 400);
    assert_eq!(expect_auth_failure(&client, "client"), 400);
    let (domain, address, mechanism) = asked.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(
        (domain.as_str(), address.as_str(), mechanism.as_str()),
        ("global", "127.0.0.1", "NULL")
    );
    assert_nothing(&mut pull, "nothing from a refused NULL client");

    // Over ipc there is no address, and the same authenticator admits.
    let mut pull = sock(&ctx, SocketType::Pull);
    pull.set_zap_domain("global").unwrap();
    let mut push = sock(&ctx, SocketType::Push);
    link(&mut pull, &mut push, Transport::Ipc);
    send(&mut push, "yes", "a message over ipc");
    let m = recv(&mut pull, "a message over ipc");
    assert_eq!(text(&m), "yes");
    assert_eq!(m.property("User-Id"), None);
}

#[test]
fn null_without_a_zap_domain_never_asks() {
    init();
    let ctx = Context::new();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    ctx.set_authenticator(move |_: &AuthRequest<'_>| {
        counter.fetch_add(1, Ordering::Relaxed);
        AuthDecision::deny("nobody")
    });
    for t in [Transport::Tcp, Transport::Ipc] {
        let mut pull = sock(&ctx, SocketType::Pull);
        let mut push = sock(&ctx, SocketType::Push);
        link(&mut pull, &mut push, t);
        send(&mut push, "hi", "a NULL message");
        let m = recv(&mut pull, "a NULL message");
        assert_eq!(m.property("User-Id"), None);
    }
    // Nor does a handler get asked: the authenticator goes, a handler comes.
    ctx.clear_authenticator();
    let handler = ZapHandler::spawn(&ctx, SocketType::Router, |_| zap_reply("400", ""));
    let mut pull = sock(&ctx, SocketType::Pull);
    let mut push = sock(&ctx, SocketType::Push);
    link(&mut pull, &mut push, Transport::Tcp);
    send(&mut push, "hi", "a NULL message");
    recv(&mut pull, "a NULL message");
    assert_eq!(asked.load(Ordering::Relaxed), 0);
    assert!(
        handler.requests.try_recv().is_err(),
        "the handler was asked"
    );
}

#[test]
fn a_mechanism_mismatch_fails_the_handshake_on_both_sides() {
    init();
    let ctx = Context::new();
    // NULL client, PLAIN server; then PLAIN client, NULL server.
    for null_client in [true, false] {
        let (mut server_sock, mut client_sock) = if null_client {
            (
                plain_server(&ctx, SocketType::Pull),
                sock(&ctx, SocketType::Push),
            )
        } else {
            (
                sock(&ctx, SocketType::Pull),
                plain_client(&ctx, SocketType::Push, "u", "p"),
            )
        };
        let server = server_sock.monitor();
        let client = client_sock.monitor();
        link(&mut server_sock, &mut client_sock, Transport::Tcp);
        send(&mut client_sock, "nope", "a message that must not arrive");
        let why = expect_protocol_failure(&server, "server");
        assert!(why.contains("mechanism"), "{why}");
        let why = expect_protocol_failure(&client, "client");
        assert!(why.contains("mechanism"), "{why}");
        assert_nothing(&mut server_sock, "nothing across a mechanism mismatch");
    }
}

#[test]
fn a_plain_client_of_a_curve_server_fails_on_both_sides() {
    init();
    let ctx = Context::new();
    let keys = curve_keypair();
    let mut pull = curve_server(&ctx, SocketType::Pull, &keys);
    let server = pull.monitor();
    let mut push = plain_client(&ctx, SocketType::Push, "u", "p");
    let client = push.monitor();
    link(&mut pull, &mut push, Transport::Tcp);
    send(&mut push, "nope", "a message that must not arrive");
    let why = expect_protocol_failure(&server, "CURVE server");
    assert!(why.contains("mechanism"), "{why}");
    let why = expect_protocol_failure(&client, "PLAIN client");
    assert!(why.contains("mechanism"), "{why}");
    assert_nothing(&mut pull, "nothing across a mechanism mismatch");
}

// ---------------------------------------------------------------------------------------
// CURVE
// ---------------------------------------------------------------------------------------

/// The four ways to link: tcp and ipc, the client connecting or binding.
const LAYOUTS: [(Transport, bool); 4] = [
    (Transport::Tcp, false),
    (Transport::Tcp, true),
    (Transport::Ipc, false),
    (Transport::Ipc, true),
];

#[test]
fn curve_req_rep() {
    init();
    let ctx = Context::new();
    for (t, client_binds) in LAYOUTS {
        let server_keys = curve_keypair();
        let client_keys = curve_keypair();
        let mut rep = curve_server(&ctx, SocketType::Rep, &server_keys);
        let mut req = curve_client(&ctx, SocketType::Req, &client_keys, &server_keys);
        link_roles(&mut rep, &mut req, t, client_binds);
        for k in 0..10 {
            let got = req_rep_roundtrip(&mut req, &mut rep, &format!("request {k}"));
            // No handler: the client's public key in Z85.
            assert_eq!(
                got.property("User-Id"),
                Some(client_keys.public_z85().as_str()),
                "{t:?} client_binds={client_binds}"
            );
        }
    }
}

#[test]
fn curve_dealer_router_multipart() {
    init();
    let ctx = Context::new();
    for (t, client_binds) in LAYOUTS {
        let server_keys = curve_keypair();
        let client_keys = curve_keypair();
        let mut router = curve_server(&ctx, SocketType::Router, &server_keys);
        let mut dealer = curve_client(&ctx, SocketType::Dealer, &client_keys, &server_keys);
        dealer.set_routing_id("dealer-1").unwrap();
        link_roles(&mut router, &mut dealer, t, client_binds);
        // Frames of every size class: empty, short, over 255 bytes (LONG), over 1 KiB.
        let parts: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"short".to_vec(),
            payload(300, 1),
            payload(5000, 2),
            b"last".to_vec(),
        ];
        for _ in 0..3 {
            send(
                &mut dealer,
                Message::multipart(parts.clone()),
                "a multipart request",
            );
            let got = recv(&mut router, "a multipart request");
            let all = frames(&got);
            assert_eq!(all[0], b"dealer-1", "the routing id");
            assert_same_frames(&all[1..], &parts, "the dealer's message");
            assert_eq!(
                got.property("User-Id"),
                Some(client_keys.public_z85().as_str())
            );
            let mut reply = Message::multipart(all.clone());
            reply.push_back(b"from the router".to_vec());
            send(&mut router, reply, "a multipart reply");
            let back = recv(&mut dealer, "a multipart reply");
            let mut want = parts.clone();
            want.push(b"from the router".to_vec());
            assert_same_frames(&frames(&back), &want, "the router's reply");
        }
    }
}

#[test]
fn curve_push_pull_with_a_1_mib_message() {
    init();
    let ctx = Context::new();
    for (t, client_binds) in LAYOUTS {
        let server_keys = curve_keypair();
        let client_keys = curve_keypair();
        let mut pull = curve_server(&ctx, SocketType::Pull, &server_keys);
        let mut push = curve_client(&ctx, SocketType::Push, &client_keys, &server_keys);
        link_roles(&mut pull, &mut push, t, client_binds);
        let big = payload(1 << 20, 7);
        send(&mut push, "small first", "a small message");
        send(&mut push, big.clone(), "a 1 MiB message");
        for k in 0..100 {
            send(&mut push, format!("m{k}"), "a run of small messages");
        }
        assert_eq!(text(&recv(&mut pull, "a small message")), "small first");
        let got = recv(&mut pull, "a 1 MiB message");
        assert_same_frames(&frames(&got), &[big], "the 1 MiB message");
        for k in 0..100 {
            assert_eq!(
                text(&recv(&mut pull, "a run of small messages")),
                format!("m{k}")
            );
        }
    }
}

/// Publishes `topic`-prefixed messages until `sub` receives one (a subscription takes a
/// moment to reach the publisher), then returns it.
fn receive_published(publisher: &mut Socket, sub: &mut Socket, topic: &str) -> Message {
    let end = deadline(TIMEOUT);
    loop {
        remaining(end, "a published message to reach the subscriber");
        send(publisher, format!("{topic}:payload"), "a publication");
        send(publisher, "other:payload", "a publication nobody wants");
        if let Ok(m) = sub.recv_timeout(Duration::from_millis(20)) {
            return m;
        }
    }
}

#[test]
fn curve_pub_sub_subscriptions_travel_boxed() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    let client_keys = curve_keypair();
    let mut publisher = curve_server(&ctx, SocketType::Pub, &server_keys);
    let ep = bind_fresh(&mut publisher, Transport::Tcp);
    // Through a relay that records what the subscriber sends.
    let relay = Relay::start(&ep, Tamper::Nothing);
    let mut sub = curve_client(&ctx, SocketType::Sub, &client_keys, &server_keys);
    sub.subscribe("weather").unwrap();
    sub.connect(relay.endpoint()).unwrap();
    let m = receive_published(&mut publisher, &mut sub, "weather");
    assert_eq!(text(&m), "weather:payload");
    // Only what was subscribed to comes through.
    for k in 0..20 {
        send(
            &mut publisher,
            format!("other:{k}"),
            "a publication nobody wants",
        );
        send(&mut publisher, format!("weather:{k}"), "a publication");
    }
    for _ in 0..20 {
        let m = recv(&mut sub, "more publications");
        assert!(text(&m).starts_with("weather:"), "{:?}", frames(&m));
    }
    let wire = relay.client_bytes();
    let contains = |needle: &[u8]| wire.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(b"weather"), "the topic travelled in clear");
    assert!(!contains(b"SUBSCRIBE"), "a SUBSCRIBE travelled in clear");
    // Every frame after the client's HELLO and INITIATE is a MESSAGE.
    let mut rest = &wire[64..];
    let mut names = Vec::new();
    while let Some((_, body, tail)) = split_frame(rest) {
        let (&len, name) = body.split_first().unwrap();
        names.push(String::from_utf8_lossy(&name[..usize::from(len)]).into_owned());
        rest = tail;
    }
    assert_eq!(names[..2], ["HELLO", "INITIATE"]);
    assert!(names.len() > 2, "the subscription was sent");
    assert!(names[2..].iter().all(|n| n == "MESSAGE"), "{names:?}");
}

#[test]
fn curve_heartbeats_flow_boxed_and_keep_the_link_up() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    let client_keys = curve_keypair();
    // A timeout many intervals long (a loaded machine may stall a few), and a wait below
    // spanning more than two timeouts: a link whose heartbeats failed would be dead by then.
    let ivl = Some(Duration::from_millis(25));
    let timeout = Some(Duration::from_millis(1000));
    let mut pull = curve_server(&ctx, SocketType::Pull, &server_keys);
    pull.set_heartbeat_ivl(ivl).unwrap();
    pull.set_heartbeat_timeout(timeout).unwrap();
    let server = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let relay = Relay::start(&ep, Tamper::Nothing);
    let mut push = curve_client(&ctx, SocketType::Push, &client_keys, &server_keys);
    push.set_heartbeat_ivl(ivl).unwrap();
    push.set_heartbeat_timeout(timeout).unwrap();
    let client = push.monitor();
    push.connect(relay.endpoint()).unwrap();
    send(&mut push, "before", "a message before the heartbeats");
    assert_eq!(text(&recv(&mut pull, "a message before")), "before");
    // The application sends nothing now: each further MESSAGE either way is a boxed
    // PING or PONG (about two per interval from each side). Wait for 100 intervals, more
    // than two heartbeat timeouts.
    relay.wait_messages(200, 200);
    send(&mut push, "after", "a message after the heartbeats");
    assert_eq!(text(&recv(&mut pull, "a message after")), "after");
    // One connection all along: no failure, no second handshake.
    for (monitor, who) in [(&server, "server"), (&client, "client")] {
        expect_event(monitor, "the handshake", |e| {
            e.kind == EventKind::HandshakeSucceeded
        });
        assert_no_event(monitor, who, |k| {
            matches!(
                k,
                EventKind::Disconnected { .. } | EventKind::HandshakeSucceeded
            )
        });
    }
    let wire = relay.client_bytes();
    let contains = |needle: &[u8]| wire.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(b"PING"), "a PING travelled in clear");
}

#[test]
fn curve_without_a_handler_user_id_is_the_client_key() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    for t in [Transport::Tcp, Transport::Ipc] {
        let client_keys = curve_keypair();
        let mut pull = curve_server(&ctx, SocketType::Pull, &server_keys);
        let mut push = curve_client(&ctx, SocketType::Push, &client_keys, &server_keys);
        link(&mut pull, &mut push, t);
        send(&mut push, "hi", "a message");
        let m = recv(&mut pull, "a message");
        let user = m.property("User-Id").expect("a User-Id");
        assert_eq!(user, client_keys.public_z85());
        assert_eq!(user.len(), 40);
        let meta = m.metadata().expect("metadata");
        assert_eq!(meta.get("Socket-Type"), Some(&b"PUSH"[..]));
        match t {
            Transport::Tcp => assert_eq!(meta.get("Peer-Address"), Some(&b"127.0.0.1"[..])),
            _ => assert_eq!(meta.get("Peer-Address"), None, "no address over ipc"),
        }
    }
}

#[test]
fn curve_a_client_generates_its_keys_when_given_none() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    let mut pull = curve_server(&ctx, SocketType::Pull, &server_keys);
    let mut push = sock(&ctx, SocketType::Push);
    push.set_curve_serverkey(server_keys.public_z85()).unwrap();
    assert_eq!(push.mechanism(), "CURVE");
    link(&mut pull, &mut push, Transport::Tcp);
    send(&mut push, "hi", "a message");
    let m = recv(&mut pull, "a message");
    let user = m.property("User-Id").expect("a User-Id");
    assert_eq!(user.len(), 40, "a Z85 key: {user}");
    assert_ne!(user, server_keys.public_z85());
}

#[test]
fn curve_an_authenticator_admits_one_key_and_refuses_another() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    let good_keys = curve_keypair();
    let bad_keys = curve_keypair();
    let allowed = *good_keys.public_key();
    ctx.set_authenticator(move |req: &AuthRequest<'_>| match req.credentials {
        AuthCredentials::Curve { public_key } if *public_key == allowed => {
            AuthDecision::allow("the good one").with_property("Role", "tester")
        }
        _ => AuthDecision::deny("unknown key"),
    });
    let mut pull = curve_server(&ctx, SocketType::Pull, &server_keys);
    let server = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut bad = curve_client(&ctx, SocketType::Push, &bad_keys, &server_keys);
    let bad_monitor = bad.monitor();
    bad.connect(&ep).unwrap();
    send(&mut bad, "nope", "a message that must not arrive");
    let mut good = curve_client(&ctx, SocketType::Push, &good_keys, &server_keys);
    good.connect(&ep).unwrap();
    assert_eq!(expect_auth_failure(&bad_monitor, "refused client"), 400);
    assert_eq!(expect_auth_failure(&server, "server"), 400);
    send(&mut good, "yes", "the admitted client's message");
    let m = recv(&mut pull, "the admitted client's message");
    assert_eq!(text(&m), "yes");
    assert_eq!(m.property("User-Id"), Some("the good one"));
    assert_eq!(m.property("Role"), Some("tester"));
    assert_nothing(&mut pull, "nothing from the refused key");
}

#[test]
fn curve_through_a_zap_handler() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    let good_keys = curve_keypair();
    let bad_keys = curve_keypair();
    let allowed = good_keys.public_key().to_vec();
    let handler = ZapHandler::spawn(&ctx, SocketType::Router, move |request| {
        match request.get(5..) {
            Some([mech, key]) if mech == b"CURVE" && *key == allowed => zap_reply("200", "good"),
            _ => zap_reply("400", ""),
        }
    });
    let mut pull = curve_server(&ctx, SocketType::Pull, &server_keys);
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut good = curve_client(&ctx, SocketType::Push, &good_keys, &server_keys);
    good.connect(&ep).unwrap();
    send(&mut good, "yes", "the admitted client's message");
    let m = recv(&mut pull, "the admitted client's message");
    assert_eq!(m.property("User-Id"), Some("good"));
    let request = handler.next_request();
    assert_eq!(request[5], b"CURVE");
    assert_eq!(request[6], good_keys.public_key().to_vec());
    let mut bad = curve_client(&ctx, SocketType::Push, &bad_keys, &server_keys);
    let bad_monitor = bad.monitor();
    bad.connect(&ep).unwrap();
    send(&mut bad, "nope", "a message that must not arrive");
    assert_eq!(expect_auth_failure(&bad_monitor, "refused client"), 400);
    assert_nothing(&mut pull, "nothing from the refused key");
}

#[test]
fn curve_a_wrong_server_key_fails_the_client_and_others_are_served() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    let impostor = curve_keypair();
    let mut pull = curve_server(&ctx, SocketType::Pull, &server_keys);
    let server = pull.monitor();
    let ep = bind_fresh(&mut pull, Transport::Tcp);
    let mut lost = curve_client(&ctx, SocketType::Push, &curve_keypair(), &impostor);
    let lost_monitor = lost.monitor();
    lost.connect(&ep).unwrap();
    send(&mut lost, "nope", "a message that must not arrive");
    expect_protocol_failure(&lost_monitor, "client with the wrong server key");
    expect_protocol_failure(&server, "server");
    let mut good = curve_client(&ctx, SocketType::Push, &curve_keypair(), &server_keys);
    good.connect(&ep).unwrap();
    for k in 0..20 {
        send(&mut good, format!("m{k}"), "the good client's messages");
    }
    for k in 0..20 {
        assert_eq!(
            text(&recv(&mut pull, "the good client's messages")),
            format!("m{k}")
        );
    }
    assert_nothing(&mut pull, "nothing from the client with the wrong key");
    assert_no_event(&lost_monitor, "wrong-key client", |k| {
        *k == EventKind::HandshakeSucceeded
    });
}

#[test]
fn curve_metadata_has_socket_type_and_peer_address() {
    init();
    let ctx = Context::new();
    let server_keys = curve_keypair();
    let mut router = curve_server(&ctx, SocketType::Router, &server_keys);
    let mut dealer = curve_client(&ctx, SocketType::Dealer, &curve_keypair(), &server_keys);
    dealer.set_routing_id("d").unwrap();
    link(&mut router, &mut dealer, Transport::Tcp);
    send(&mut dealer, "hi", "a message");
    let m = recv(&mut router, "a message");
    assert_eq!(m.property("Socket-Type"), Some("DEALER"));
    assert_eq!(m.property("Identity"), Some("d"));
    assert_eq!(m.property("Peer-Address"), Some("127.0.0.1"));
    // And the other way: the client sees the server's READY.
    send(&mut router, Message::multipart(["d", "back"]), "a reply");
    let back = recv(&mut dealer, "a reply");
    assert_eq!(back.property("Socket-Type"), Some("ROUTER"));
    assert_eq!(back.property("Peer-Address"), Some("127.0.0.1"));
    assert_eq!(
        back.property("User-Id"),
        None,
        "a client authenticates nobody"
    );
}

#[test]
fn curve_debug_output_shows_no_secret() {
    let ctx = Context::new();
    let keys = curve_keypair();
    let s = curve_server(&ctx, SocketType::Rep, &keys);
    let secret = keys.secret_z85();
    for shown in [format!("{keys:?}"), format!("{s:?}")] {
        assert!(!shown.contains(&secret), "a secret key in Debug output");
    }
    let p = plain_client(&ctx, SocketType::Req, "user", "hunter2");
    assert!(!format!("{p:?}").contains("hunter2"));
}

#[test]
fn req_and_rep_keep_the_metadata() {
    init();
    let ctx = Context::new();
    let mut rep = plain_server(&ctx, SocketType::Rep);
    let mut req = plain_client(&ctx, SocketType::Req, "alice", "pw");
    link(&mut rep, &mut req, Transport::Tcp);
    let request = req_rep_roundtrip(&mut req, &mut rep, "hello");
    assert_eq!(request.property("Socket-Type"), Some("REQ"));
    assert_eq!(request.property("User-Id"), Some("alice"));
    send(&mut req, "again", "a second request");
    recv(&mut rep, "a second request");
    send(&mut rep, "reply", "a reply");
    let reply = recv(&mut req, "a reply");
    assert_eq!(reply.property("Socket-Type"), Some("REP"));
    assert_eq!(reply.property("Peer-Address"), Some("127.0.0.1"));
}
