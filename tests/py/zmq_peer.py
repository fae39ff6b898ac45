#!/usr/bin/env python3
"""The libzmq side of ferrozmq's security interop tests, through pyzmq.

One socket, configured by command-line flags, that binds or connects, optionally runs
CURVE or PLAIN (as client or server) with a ZAP handler of its own, then performs a
bounded sequence of actions and exits. Driven by tests/util/pyzmq.rs.

Output protocol (stdout, one line each, flushed at once):
  READY <endpoint>        once bound (the resolved endpoint) or connected
  <frames>                a received message: frames separated by one TAB, lossy UTF-8;
                          with --show-user-id preceded by the User-Id ('' if none) and a TAB
  event: <NAME> <VALUE>   with --monitor: a handshake event (HANDSHAKE_SUCCEEDED,
                          HANDSHAKE_FAILED_AUTH 400, HANDSHAKE_FAILED_PROTOCOL ...)
Diagnostics (ZAP decisions, errors) go to stderr.

Actions run in this order: wait for a subscriber (PUB with --send), --send, --request,
--echo, --recv, --wait-event. Every blocking call is bounded by --timeout-ms.

Exit status: 0 success, 1 error, 2 timeout, 64 bad usage.

The ZAP handler is written here (not zmq.auth) so the User-Id is under our control:
PLAIN -> the user name, CURVE -> the client's public key in Z85, NULL -> ''. It runs
with --zap or any --zap-* list; an empty allow list admits every credential.

Note libzmq 4.3: a PLAIN server with no ZAP handler refuses every client (monitor:
HANDSHAKE_FAILED_NO_DETAIL 14, EFAULT; the client hears nothing), while a CURVE server
with none admits every client that completes the handshake. Give a PLAIN server --zap.
"""

import argparse
import sys
import threading

import zmq
from zmq.utils import z85

EXIT_TIMEOUT = 2
EXIT_USAGE = 64

ZAP_ENDPOINT = "inproc://zeromq.zap.01"

SOCKET_TYPES = {
    "PUSH": zmq.PUSH,
    "PULL": zmq.PULL,
    "REQ": zmq.REQ,
    "REP": zmq.REP,
    "DEALER": zmq.DEALER,
    "ROUTER": zmq.ROUTER,
    # A PUB is an XPUB, so that it can wait for its subscriber before sending.
    "PUB": zmq.XPUB,
    "SUB": zmq.SUB,
    "PAIR": zmq.PAIR,
}

MONITORED_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_MONITOR_STOPPED
)

_out_lock = threading.Lock()


def say(line):
    """One line on stdout, flushed (the test waits for it)."""
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(line):
    with _out_lock:
        sys.stderr.write("zmq_peer: " + line + "\n")
        sys.stderr.flush()


class Timeout(Exception):
    pass


class Usage(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write("zmq_peer: " + message + "\n")
        sys.exit(EXIT_USAGE)


def parse_args(argv):
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--type", required=True, type=str.upper, choices=sorted(SOCKET_TYPES))
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--bind", metavar="EP")
    where.add_argument("--connect", metavar="EP")
    p.add_argument("--curve-server", action="store_true")
    p.add_argument("--curve-secret", metavar="Z85")
    p.add_argument("--curve-serverkey", metavar="Z85")
    p.add_argument("--plain-server", action="store_true")
    p.add_argument("--plain-user", metavar="U")
    p.add_argument("--plain-password", metavar="P")
    p.add_argument("--zap-allow-plain", metavar="U:P", action="append", default=[])
    p.add_argument("--zap-allow-curve", metavar="Z85", action="append", default=[])
    p.add_argument("--zap-deny-addr", metavar="IP", action="append", default=[])
    p.add_argument(
        "--zap",
        action="store_true",
        help="run the ZAP handler even without --zap-* lists (it then admits everyone)",
    )
    p.add_argument("--send", metavar="N", type=int, default=0)
    p.add_argument("--recv", metavar="N", type=int, default=0)
    p.add_argument("--echo", metavar="N", type=int, default=0)
    p.add_argument("--request", metavar="N", type=int, default=0)
    p.add_argument("--show-user-id", action="store_true")
    p.add_argument("--timeout-ms", metavar="T", type=int, default=10000)
    p.add_argument("--monitor", action="store_true")
    p.add_argument(
        "--heartbeat-ivl-ms",
        metavar="MS",
        type=int,
        default=0,
        help="send ZMTP PINGs after MS of silence, and drop a peer silent for 20 x MS",
    )
    p.add_argument(
        "--wait-event",
        metavar="NAME",
        help="after the other actions, wait for this monitor event (implies --monitor)",
    )
    args = p.parse_args(argv)
    if args.wait_event:
        args.monitor = True
    return args


def zap_wanted(args):
    return bool(args.zap or args.zap_allow_plain or args.zap_allow_curve or args.zap_deny_addr)


class ZapHandler:
    """An RFC 27 handler on inproc://zeromq.zap.01, served by a thread of its own."""

    def __init__(self, ctx, args):
        self.deny_addr = set(args.zap_deny_addr)
        self.allow_plain = set()
        for entry in args.zap_allow_plain:
            user, sep, password = entry.partition(":")
            if not sep:
                raise Usage("--zap-allow-plain wants USER:PASS, got %r" % entry)
            self.allow_plain.add((user.encode(), password.encode()))
        self.allow_curve = set()
        for key in args.zap_allow_curve:
            if len(key) != 40:
                raise Usage("--zap-allow-curve wants a 40-character Z85 key, got %r" % key)
            self.allow_curve.add(key)
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.bind(ZAP_ENDPOINT)
        # A PAIR of sockets to tell the thread to stop, without polling on a timer.
        stop_ep = "inproc://zmq-peer-zap-stop"
        self.stop_rx = ctx.socket(zmq.PAIR)
        self.stop_rx.linger = 0
        self.stop_rx.bind(stop_ep)
        self.stop_tx = ctx.socket(zmq.PAIR)
        self.stop_tx.linger = 0
        self.stop_tx.connect(stop_ep)
        self.thread = threading.Thread(target=self._run, name="zap", daemon=True)
        self.thread.start()

    def decide(self, address, mechanism, credentials):
        """(status code, status text, user id) for one request."""
        if address in self.deny_addr:
            return b"400", b"address denied", b""
        if mechanism == b"PLAIN":
            if len(credentials) != 2:
                return b"500", b"bad PLAIN credentials", b""
            user, password = credentials
            if self.allow_plain and (user, password) not in self.allow_plain:
                return b"400", b"invalid user name or password", b""
            return b"200", b"OK", user
        if mechanism == b"CURVE":
            if len(credentials) != 1 or len(credentials[0]) != 32:
                return b"500", b"bad CURVE credentials", b""
            key = z85.encode(credentials[0])
            if self.allow_curve and key.decode() not in self.allow_curve:
                return b"400", b"unknown client key", b""
            return b"200", b"OK", key
        return b"200", b"OK", b""

    def _serve_one(self):
        frames = self.sock.recv_multipart()
        # [routing id, empty delimiter, version, request id, domain, address, identity,
        #  mechanism, credentials...]
        if len(frames) < 8 or frames[1] != b"" or frames[2] != b"1.0":
            log("ZAP: malformed request %r" % (frames,))
            return
        rid, request_id = frames[0], frames[3]
        address, mechanism = frames[5].decode(errors="replace"), frames[7]
        status, text, user_id = self.decide(address, mechanism, frames[8:])
        log(
            "ZAP: %s from %s -> %s %s (user id %r)"
            % (mechanism.decode(errors="replace"), address, status.decode(), text.decode(),
               user_id.decode(errors="replace"))
        )
        self.sock.send_multipart([rid, b"", b"1.0", request_id, status, text, user_id, b""])

    def _run(self):
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.stop_rx, zmq.POLLIN)
        try:
            while True:
                ready = dict(poller.poll())
                if self.stop_rx in ready:
                    break
                if self.sock in ready:
                    self._serve_one()
        except zmq.ZMQError as e:
            log("ZAP handler failed: %s" % e)
        finally:
            self.sock.close()
            self.stop_rx.close()

    def stop(self, timeout_s):
        self.stop_tx.send(b"")
        self.thread.join(timeout_s)
        self.stop_tx.close()
        if self.thread.is_alive():
            log("the ZAP handler did not stop")


class MonitorPrinter:
    """Prints the socket's handshake events as `event: NAME VALUE` lines."""

    def __init__(self, sock):
        self.sock = sock
        self.mon = sock.get_monitor_socket(MONITORED_EVENTS)
        self.seen = set()
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="monitor", daemon=True)
        self.thread.start()

    def _run(self):
        from zmq.utils.monitor import recv_monitor_message

        try:
            while True:
                ev = recv_monitor_message(self.mon)
                code = ev["event"]
                if code == zmq.EVENT_MONITOR_STOPPED:
                    break
                name = zmq.Event(code).name
                say("event: %s %s" % (name, ev["value"]))
                with self.cond:
                    self.seen.add(name)
                    self.cond.notify_all()
        except zmq.ZMQError as e:
            log("monitor failed: %s" % e)
        finally:
            self.mon.close()

    def wait_for(self, name, timeout_s):
        with self.cond:
            if not self.cond.wait_for(lambda: name in self.seen, timeout_s):
                raise Timeout("event " + name)

    def stop(self, timeout_s):
        self.sock.disable_monitor()
        self.thread.join(timeout_s)
        if self.thread.is_alive():
            log("the monitor did not stop")


def configure_security(sock, args):
    if args.curve_server and args.curve_serverkey:
        raise Usage("--curve-server and --curve-serverkey exclude each other")
    if args.curve_server:
        if not args.curve_secret:
            raise Usage("--curve-server needs --curve-secret")
        secret = args.curve_secret.encode()
        sock.curve_server = True
        sock.curve_secretkey = secret
        sock.curve_publickey = zmq.curve_public(secret)
    elif args.curve_serverkey:
        if args.curve_secret:
            secret = args.curve_secret.encode()
            public = zmq.curve_public(secret)
        else:
            public, secret = zmq.curve_keypair()
        sock.curve_serverkey = args.curve_serverkey.encode()
        sock.curve_secretkey = secret
        sock.curve_publickey = public
    elif args.curve_secret:
        raise Usage("--curve-secret needs --curve-server or --curve-serverkey")
    plain_client = args.plain_user is not None or args.plain_password is not None
    if args.plain_server and plain_client:
        raise Usage("--plain-server excludes --plain-user/--plain-password")
    if (args.plain_server or plain_client) and (args.curve_server or args.curve_serverkey):
        raise Usage("PLAIN and CURVE exclude each other")
    if args.plain_server:
        sock.plain_server = True
    elif plain_client:
        # libzmq refuses an empty value for either option (EINVAL); left unset, the
        # HELLO carries an empty one. Setting either makes the socket a PLAIN client.
        if args.plain_user:
            sock.plain_username = args.plain_user.encode()
        if args.plain_password:
            sock.plain_password = args.plain_password.encode()
        if not args.plain_user and not args.plain_password:
            raise Usage("a PLAIN client needs a non-empty --plain-user or --plain-password")
    if zap_wanted(args):
        # With a domain set, libzmq asks ZAP about NULL connections too.
        sock.zap_domain = b"global"


def recv_frames(sock, what):
    try:
        return sock.recv_multipart(copy=False)
    except zmq.Again:
        raise Timeout(what)


def send_frames(sock, frames, what):
    try:
        sock.send_multipart(frames)
    except zmq.Again:
        raise Timeout(what)


def user_id(frames):
    try:
        return frames[-1].get("User-Id")
    except zmq.ZMQError:
        return ""


def print_message(frames, args, skip=0):
    text = "\t".join(bytes(f.buffer).decode("utf-8", errors="backslashreplace")
                     for f in frames[skip:])
    if args.show_user_id:
        text = user_id(frames) + "\t" + text
    say(text)


def run(args, ctx):
    kind = SOCKET_TYPES[args.type]
    timeout_s = args.timeout_ms / 1000.0
    zap = ZapHandler(ctx, args) if zap_wanted(args) else None
    sock = ctx.socket(kind)
    sock.rcvtimeo = args.timeout_ms
    sock.sndtimeo = args.timeout_ms
    sock.linger = 0
    if args.heartbeat_ivl_ms:
        sock.setsockopt(zmq.HEARTBEAT_IVL, args.heartbeat_ivl_ms)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 20 * args.heartbeat_ivl_ms)
    monitor = None
    ok = False
    try:
        configure_security(sock, args)
        if kind == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        if args.monitor:
            monitor = MonitorPrinter(sock)
        if args.bind:
            sock.bind(args.bind)
            endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        else:
            sock.connect(args.connect)
            endpoint = args.connect
        say("READY " + endpoint)

        if kind == zmq.XPUB and args.send:
            frames = recv_frames(sock, "a subscriber")
            if not bytes(frames[0].buffer).startswith(b"\x01"):
                raise RuntimeError("expected a subscription, got %r" % frames[0].bytes)
        for i in range(args.send):
            send_frames(sock, [b"msg-%d" % i], "sending msg-%d" % i)
        for i in range(args.request):
            send_frames(sock, [b"msg-%d" % i], "sending request msg-%d" % i)
            print_message(recv_frames(sock, "the reply to msg-%d" % i), args)
        for i in range(args.echo):
            frames = recv_frames(sock, "message %d to echo" % i)
            print_message(frames, args, skip=1 if kind == zmq.ROUTER else 0)
            send_frames(sock, frames, "echoing message %d" % i)
        for i in range(args.recv):
            print_message(recv_frames(sock, "message %d" % i), args)
        if args.wait_event:
            monitor.wait_for(args.wait_event, timeout_s)
        ok = True
    finally:
        if monitor is not None:
            monitor.stop(timeout_s)
        # On success, give messages it sent last up to the timeout to leave. Only then: a
        # lingering socket whose peer has gone waits out the linger (libzmq keeps, e.g.,
        # a SUB's subscriptions queued for a reconnection).
        sends_last = args.send or args.echo
        sock.close(linger=args.timeout_ms if ok and sends_last else 0)
        if zap is not None:
            zap.stop(timeout_s)


def main(argv):
    args = parse_args(argv)
    ctx = zmq.Context()
    ok = False
    try:
        run(args, ctx)
        ok = True
        return 0
    except Timeout as e:
        log("timed out after %d ms waiting for %s" % (args.timeout_ms, e))
        return EXIT_TIMEOUT
    except Usage as e:
        log(str(e))
        return EXIT_USAGE
    except Exception as e:  # noqa: BLE001 - any failure is reported, not raised
        log("error: %s: %s" % (type(e).__name__, e))
        return 1
    finally:
        if ok:
            ctx.term()
        else:
            # Whatever a failure left open is closed, so the exit never hangs.
            ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
