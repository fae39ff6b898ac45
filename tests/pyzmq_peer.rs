//! Checks the pyzmq interop peer (`tests/py/zmq_peer.py`, driven through
//! `tests/util/pyzmq.rs`) against itself, so that the security interop tests stand on a
//! peer known to work: CURVE both ways (a client that binds too), PUB/SUB over CURVE,
//! PLAIN through its ZAP handler admitting and refusing (and libzmq's PLAIN server
//! refusing everyone without one), and NULL refused by address.
//!
//! Skipped with a message where python3 or pyzmq is missing; failing instead under
//! `FERROZMQ_REQUIRE_PYZMQ=1`, as in CI.

mod util;

use util::pyzmq::{self, opt, PyPeer};

#[test]
fn curve_server_and_client_exchange_with_the_client_key_as_user_id() {
    if !pyzmq::require_or_skip("curve_server_and_client_exchange_with_the_client_key_as_user_id") {
        return;
    }
    let (server_public, server_secret) = pyzmq::curve_keypair();
    let (client_public, client_secret) = pyzmq::curve_keypair();
    let mut server = PyPeer::spawn([
        "--type=REP",
        "--bind=tcp://127.0.0.1:0",
        "--curve-server",
        &opt("--curve-secret", &server_secret),
        &opt("--zap-allow-curve", &client_public),
        "--echo=2",
        "--show-user-id",
    ]);
    let mut client = PyPeer::spawn([
        "--type=REQ",
        &opt("--connect", server.endpoint()),
        &opt("--curve-serverkey", &server_public),
        &opt("--curve-secret", &client_secret),
        "--request=2",
        "--monitor",
    ]);
    assert_eq!(client.expect_event("HANDSHAKE_SUCCEEDED"), "0");
    for i in 0..2 {
        assert_eq!(client.next_message("reply"), format!("msg-{i}"));
        assert_eq!(
            server.next_message("request"),
            format!("{client_public}\tmsg-{i}")
        );
    }
    client.wait_success();
    server.wait_success();
}

#[test]
fn curve_client_that_binds_reaches_a_connecting_server() {
    if !pyzmq::require_or_skip("curve_client_that_binds_reaches_a_connecting_server") {
        return;
    }
    let (server_public, server_secret) = pyzmq::curve_keypair();
    // A fresh client key pair: no --curve-secret.
    let mut client = PyPeer::spawn([
        "--type=PUSH",
        "--bind=tcp://127.0.0.1:0",
        &opt("--curve-serverkey", &server_public),
        "--send=3",
    ]);
    let mut server = PyPeer::spawn([
        "--type=PULL",
        &opt("--connect", client.endpoint()),
        "--curve-server",
        &opt("--curve-secret", &server_secret),
        "--recv=3",
    ]);
    for i in 0..3 {
        assert_eq!(server.next_message("message"), format!("msg-{i}"));
    }
    server.wait_success();
    client.wait_success();
}

#[test]
fn curve_pub_waits_for_its_subscriber() {
    if !pyzmq::require_or_skip("curve_pub_waits_for_its_subscriber") {
        return;
    }
    let (server_public, server_secret) = pyzmq::curve_keypair();
    let mut publisher = PyPeer::spawn([
        "--type=PUB",
        "--bind=tcp://127.0.0.1:0",
        "--curve-server",
        &opt("--curve-secret", &server_secret),
        "--send=3",
    ]);
    let mut subscriber = PyPeer::spawn([
        "--type=SUB",
        &opt("--connect", publisher.endpoint()),
        &opt("--curve-serverkey", &server_public),
        "--recv=3",
    ]);
    for i in 0..3 {
        assert_eq!(subscriber.next_message("publication"), format!("msg-{i}"));
    }
    subscriber.wait_success();
    publisher.wait_success();
}

#[test]
fn curve_server_zap_refuses_an_unknown_client_key() {
    if !pyzmq::require_or_skip("curve_server_zap_refuses_an_unknown_client_key") {
        return;
    }
    let (server_public, server_secret) = pyzmq::curve_keypair();
    let (known_public, _) = pyzmq::curve_keypair();
    let mut server = PyPeer::spawn([
        "--type=ROUTER",
        "--bind=tcp://127.0.0.1:0",
        "--curve-server",
        &opt("--curve-secret", &server_secret),
        &opt("--zap-allow-curve", &known_public),
        "--wait-event=HANDSHAKE_FAILED_AUTH",
    ]);
    let mut client = PyPeer::spawn([
        "--type=DEALER",
        &opt("--connect", server.endpoint()),
        &opt("--curve-serverkey", &server_public),
        "--wait-event=HANDSHAKE_FAILED_AUTH",
    ]);
    assert_eq!(client.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    assert_eq!(server.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    client.wait_success();
    server.wait_success();
}

#[test]
fn plain_zap_admits_the_right_password_and_refuses_a_wrong_one() {
    if !pyzmq::require_or_skip("plain_zap_admits_the_right_password_and_refuses_a_wrong_one") {
        return;
    }
    let mut server = PyPeer::spawn([
        "--type=ROUTER",
        "--bind=tcp://127.0.0.1:0",
        "--plain-server",
        "--zap-allow-plain=admin:s3cret",
        "--zap-allow-plain=guest:guest",
        "--echo=1",
        "--show-user-id",
        "--wait-event=HANDSHAKE_FAILED_AUTH",
    ]);
    let mut intruder = PyPeer::spawn([
        "--type=DEALER",
        &opt("--connect", server.endpoint()),
        "--plain-user=admin",
        "--plain-password=guess",
        "--wait-event=HANDSHAKE_FAILED_AUTH",
    ]);
    assert_eq!(intruder.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    assert_eq!(server.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    intruder.wait_success();

    let mut admin = PyPeer::spawn([
        "--type=DEALER",
        &opt("--connect", server.endpoint()),
        "--plain-user=admin",
        "--plain-password=s3cret",
        "--request=1",
        "--show-user-id",
    ]);
    assert_eq!(server.next_message("request"), "admin\tmsg-0");
    // The client side of a connection has no User-Id.
    assert_eq!(admin.next_message("reply"), "\tmsg-0");
    admin.wait_success();
    server.wait_success();
}

#[test]
fn plain_with_an_open_zap_handler_admits_anyone() {
    if !pyzmq::require_or_skip("plain_with_an_open_zap_handler_admits_anyone") {
        return;
    }
    let mut server = PyPeer::spawn([
        "--type=PULL",
        "--bind=tcp://127.0.0.1:0",
        "--plain-server",
        "--zap",
        "--recv=1",
        "--show-user-id",
    ]);
    // An empty password (libzmq cannot set one: the peer leaves it unset).
    let mut client = PyPeer::spawn([
        "--type=PUSH",
        &opt("--connect", server.endpoint()),
        "--plain-user=anyone",
        "--plain-password=",
        "--send=1",
    ]);
    assert_eq!(server.next_message("message"), "anyone\tmsg-0");
    client.wait_success();
    server.wait_success();
}

/// libzmq's PLAIN server needs a ZAP handler: without one it fails every handshake.
#[test]
fn plain_server_without_zap_refuses_everyone_as_libzmq_does() {
    if !pyzmq::require_or_skip("plain_server_without_zap_refuses_everyone_as_libzmq_does") {
        return;
    }
    let mut server = PyPeer::spawn([
        "--type=PULL",
        "--bind=tcp://127.0.0.1:0",
        "--plain-server",
        "--wait-event=HANDSHAKE_FAILED_NO_DETAIL",
    ]);
    let _client = PyPeer::spawn([
        "--type=PUSH",
        &opt("--connect", server.endpoint()),
        "--plain-user=anyone",
        "--plain-password=any",
        "--send=1",
    ]);
    assert_eq!(server.expect_event("HANDSHAKE_FAILED_NO_DETAIL"), "14");
    server.wait_success();
}

#[test]
fn null_zap_refuses_a_denied_address_and_admits_others() {
    if !pyzmq::require_or_skip("null_zap_refuses_a_denied_address_and_admits_others") {
        return;
    }
    let mut server = PyPeer::spawn([
        "--type=PULL",
        "--bind=tcp://127.0.0.1:0",
        "--zap-deny-addr=127.0.0.1",
        "--wait-event=HANDSHAKE_FAILED_AUTH",
    ]);
    let mut client = PyPeer::spawn([
        "--type=PUSH",
        &opt("--connect", server.endpoint()),
        "--wait-event=HANDSHAKE_FAILED_AUTH",
    ]);
    assert_eq!(client.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    assert_eq!(server.expect_event("HANDSHAKE_FAILED_AUTH"), "400");
    client.wait_success();
    server.wait_success();

    // Another address in the deny list does not refuse this one; NULL has no User-Id.
    let mut server = PyPeer::spawn([
        "--type=PULL",
        "--bind=tcp://127.0.0.1:0",
        "--zap-deny-addr=192.0.2.1",
        "--recv=1",
        "--show-user-id",
    ]);
    let mut client = PyPeer::spawn([
        "--type=PUSH",
        &opt("--connect", server.endpoint()),
        "--send=1",
    ]);
    assert_eq!(server.next_message("message"), "\tmsg-0");
    client.wait_success();
    server.wait_success();
}

#[test]
fn bad_usage_exits_64_before_ready() {
    if !pyzmq::require_or_skip("bad_usage_exits_64_before_ready") {
        return;
    }
    let result = std::panic::catch_unwind(|| {
        PyPeer::spawn(["--type=REP", "--bind=tcp://127.0.0.1:0", "--curve-server"])
    });
    let message = *result
        .expect_err("a CURVE server without a secret key must not get READY")
        .downcast::<String>()
        .expect("a panic message");
    assert!(
        message.contains("--curve-server needs --curve-secret"),
        "{message}"
    );
}
