//! The command line: the usage text, the parsed [`Options`] and [`parse_args`] with its
//! small value parsers.
//!
//! What must stay true: every check that needs no socket happens here, before one
//! exists (endpoints and option values the library refuses exit 2 later, from `run`);
//! every refusal is an `Err` whose message `main` prints before exiting with code 2; and
//! [`USAGE`] is exactly what `--help` prints.

use crate::frames::decode_hex;
use crate::security::{
    decode_key, key_text, security_role, Secret, Security, SecurityArgs, ZapRules,
};
use ferrozmq::SocketType;
use std::net::IpAddr;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
usage: zmq_cat TYPE --mode MODE [OPTIONS]

TYPE:  pair push pull pub sub xpub xsub req rep dealer router

MODE (--mode, required):
  send     send each stdin line as one message, until EOF, then deliver
           everything queued and exit
  recv     print each received message as one line
  echo     send each received message back unchanged (the mode for rep)
  request  for each stdin line, send it, wait for one reply and print it
           (the mode for req)

OPTIONS:
  --bind EP          bind to endpoint EP (repeatable)
  --connect EP       connect to endpoint EP (repeatable)
  --count N          stop after N messages (default: run until killed in recv
                     and echo modes, until stdin ends in send and request modes)
  --timeout-ms MS    give up (exit 3) when no message arrives within MS
  --subscribe PFX    sub/xsub: subscribe to PFX (repeatable; \"\" = everything;
                     none = nothing)
  --identity ID      this socket's routing id
  --hex              frames on stdin/stdout, --identity and --subscribe are hex
  --delay-ms MS      sleep MS after bind/connect, before the first send
  --linger-ms MS     on exit, wait at most MS to deliver queued messages
                     (default: wait until everything is delivered)
  --heartbeat-ivl MS send a ZMTP PING after MS of silence on a connection
                     (0 = no heartbeats, the default)
  --heartbeat-timeout MS
                     close a connection when nothing at all arrived for MS after
                     a PING was sent (at least 1; default: the interval)
  --heartbeat-ttl MS the TTL announced in our PINGs, rounded down to deciseconds
                     (at most 6553599; default: none)
  --handshake-ivl MS close a connection whose handshake has not completed
                     within MS (0 = no limit; default 30000)
  --monitor          write each socket event to stderr as one line,
                     `monitor: EVENT ENDPOINT` or `monitor: EVENT ENDPOINT DETAIL`
                     (EVENT is libzmq's name without ZMQ_EVENT_: LISTENING,
                     ACCEPTED, HANDSHAKE_SUCCEEDED, DISCONNECTED, ...)
  --show-user-id     recv mode: start each printed line with the message's
                     User-Id (empty when none) and a TAB

SECURITY (the role is set here, independently of --bind and --connect; KEY is
40 characters of Z85):
  --curve-server     be a CURVE server; needs --curve-secret (the public key is
                     derived from it)
  --curve-serverkey KEY
                     be a CURVE client of the server whose public key is KEY;
                     own key pair from --curve-secret, or a fresh one
  --curve-secret KEY this socket's long-term CURVE secret key
  --plain-server     be a PLAIN server
  --plain-user USER  be a PLAIN client logging in as USER
  --plain-password PASS
                     the PLAIN client's password (needs --plain-user)
  --zap-allow-plain USER:PASS
                     a PLAIN server admits only these credentials (repeatable)
  --zap-allow-curve KEY
                     a CURVE server admits only these client public keys
                     (repeatable)
  --zap-deny-addr IP refuse peers from IP, whatever the mechanism, NULL
                     included (repeatable)
  Without any --zap-* option, a server admits every client that completes the
  handshake. User-Id is the PLAIN user name, or the client's CURVE public key in
  Z85.

  -h, --help         print this help

The heartbeat and handshake options apply to every connection of the socket, take
at most 2147483647 ms (libzmq's limit), and --heartbeat-timeout and --heartbeat-ttl
need --heartbeat-ivl.

FORMAT: one message per line, frames separated by one TAB; an empty line is a
message of one empty frame. Without --hex, stdin bytes are sent as they are and
received frames that are not UTF-8 are printed lossily.

EXIT: 0 ok, 1 error, 2 bad arguments, option value or endpoint, 3 timeout
";

/// What the program does with its socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Send,
    Recv,
    Echo,
    Request,
}

/// The parsed command line.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) socket_type: SocketType,
    pub(crate) mode: Mode,
    pub(crate) binds: Vec<String>,
    pub(crate) connects: Vec<String>,
    pub(crate) count: Option<u64>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) subscriptions: Vec<Vec<u8>>,
    pub(crate) identity: Option<Vec<u8>>,
    pub(crate) hex: bool,
    pub(crate) delay: Option<Duration>,
    pub(crate) linger: Option<Duration>,
    pub(crate) heartbeat_ivl: Option<Duration>,
    pub(crate) heartbeat_timeout: Option<Duration>,
    pub(crate) heartbeat_ttl: Option<Duration>,
    /// `None`: leave the library's default; `Some(None)`: no limit.
    pub(crate) handshake_ivl: Option<Option<Duration>>,
    pub(crate) monitor: bool,
    /// The mechanism and role.
    pub(crate) security: Security,
    /// The `--zap-*` rules; `None` when no `--zap-*` option was given.
    pub(crate) zap: Option<ZapRules>,
    pub(crate) show_user_id: bool,
}

/// The largest millisecond value the liveness options take: libzmq's options are a C
/// `int` of milliseconds, and a bound keeps every deadline computed from them in range.
pub(crate) const MAX_OPTION_MS: u64 = i32::MAX as u64;

/// The largest `--heartbeat-ttl`: the TTL travels as a u16 of deciseconds.
pub(crate) const MAX_TTL_MS: u64 = u16::MAX as u64 * 100 + 99;

/// Parses the arguments (without the program name). `Ok(None)` means `--help`.
pub(crate) fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(None);
    }
    let mut args = args.iter();
    let type_name = args.next().ok_or("missing socket TYPE")?;
    let socket_type = parse_socket_type(type_name)?;

    let mut mode = None;
    let mut binds = Vec::new();
    let mut connects = Vec::new();
    let mut count = None;
    let mut timeout = None;
    let mut raw_subscriptions = Vec::new();
    let mut raw_identity = None;
    let mut hex = false;
    let mut delay = None;
    let mut linger = None;
    let mut heartbeat_ivl = None;
    let mut heartbeat_timeout = None;
    let mut heartbeat_ttl = None;
    let mut handshake_ivl = None;
    let mut monitor = false;
    let mut show_user_id = false;
    let mut curve_server = false;
    let mut curve_serverkey = None;
    let mut curve_secret = None;
    let mut plain_server = false;
    let mut plain_user = None;
    let mut plain_password = None;
    let mut zap = None::<ZapRules>;

    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--mode" => mode = Some(parse_mode(value()?)?),
            "--bind" => binds.push(value()?.to_string()),
            "--connect" => connects.push(value()?.to_string()),
            "--count" => count = Some(parse_number(flag, value()?)?),
            "--timeout-ms" => timeout = Some(parse_millis(flag, value()?)?),
            "--subscribe" => raw_subscriptions.push(value()?.to_string()),
            "--identity" => raw_identity = Some(value()?.to_string()),
            "--hex" => hex = true,
            "--delay-ms" => delay = Some(parse_millis(flag, value()?)?),
            "--linger-ms" => linger = Some(parse_millis(flag, value()?)?),
            "--heartbeat-ivl" => {
                heartbeat_ivl = Some(parse_millis_in(flag, value()?, 0, MAX_OPTION_MS)?)
            }
            "--heartbeat-timeout" => {
                heartbeat_timeout = Some(parse_millis_in(flag, value()?, 1, MAX_OPTION_MS)?)
            }
            "--heartbeat-ttl" => {
                heartbeat_ttl = Some(parse_millis_in(flag, value()?, 0, MAX_TTL_MS)?)
            }
            "--handshake-ivl" => {
                handshake_ivl = Some(parse_millis_in(flag, value()?, 0, MAX_OPTION_MS)?)
            }
            "--monitor" => monitor = true,
            "--show-user-id" => show_user_id = true,
            "--curve-server" => curve_server = true,
            "--curve-serverkey" => curve_serverkey = Some(key_text(flag, value()?)?),
            "--curve-secret" => curve_secret = Some(Secret(key_text(flag, value()?)?)),
            "--plain-server" => plain_server = true,
            "--plain-user" => plain_user = Some(value()?.to_owned()),
            "--plain-password" => plain_password = Some(Secret(value()?.to_owned())),
            "--zap-allow-plain" => {
                let (user, pass) = value()?
                    .split_once(':')
                    .ok_or_else(|| format!("{flag} takes USER:PASS"))?;
                zap.get_or_insert_with(ZapRules::default)
                    .allow_plain
                    .push((user.to_owned(), Secret(pass.to_owned())));
            }
            "--zap-allow-curve" => {
                let key = decode_key(flag, value()?)?;
                zap.get_or_insert_with(ZapRules::default)
                    .allow_curve
                    .push(key);
            }
            "--zap-deny-addr" => {
                let text = value()?;
                let ip = text
                    .parse::<IpAddr>()
                    .map_err(|_| format!("{flag} takes an IP address, not `{text}`"))?;
                zap.get_or_insert_with(ZapRules::default)
                    .deny_addr
                    .push(ip.to_canonical());
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }

    let mode = mode.ok_or("--mode is required (send, recv, echo or request)")?;
    check_mode(socket_type, mode)?;
    if binds.is_empty() && connects.is_empty() {
        return Err("give at least one --bind or --connect endpoint".into());
    }
    if !raw_subscriptions.is_empty() && !matches!(socket_type, SocketType::Sub | SocketType::XSub) {
        return Err(format!(
            "--subscribe only applies to sub and xsub sockets, not {}",
            type_label(socket_type)
        ));
    }
    let subscriptions = raw_subscriptions
        .iter()
        .map(|s| decode_arg("--subscribe", s, hex))
        .collect::<Result<_, _>>()?;
    let identity = raw_identity
        .map(|id| decode_arg("--identity", &id, hex))
        .transpose()?;
    // 0 turns heartbeats off and the handshake limit off, as in libzmq.
    let heartbeat_ivl = heartbeat_ivl.filter(|d: &Duration| !d.is_zero());
    if heartbeat_ivl.is_none() {
        for (flag, given) in [
            ("--heartbeat-timeout", heartbeat_timeout.is_some()),
            ("--heartbeat-ttl", heartbeat_ttl.is_some()),
        ] {
            if given {
                return Err(format!("{flag} needs --heartbeat-ivl (heartbeats are off)"));
            }
        }
    }
    let handshake_ivl = handshake_ivl.map(|d: Duration| Some(d).filter(|d| !d.is_zero()));
    let security = security_role(SecurityArgs {
        curve_server,
        curve_serverkey,
        curve_secret,
        plain_server,
        plain_user,
        plain_password,
    })?;
    if let Some(rules) = &zap {
        if !rules.allow_plain.is_empty() && security != Security::PlainServer {
            return Err("--zap-allow-plain needs --plain-server".into());
        }
        if !rules.allow_curve.is_empty() && !matches!(security, Security::CurveServer { .. }) {
            return Err("--zap-allow-curve needs --curve-server".into());
        }
    }
    if show_user_id && mode != Mode::Recv {
        return Err("--show-user-id applies to --mode recv only".into());
    }

    Ok(Some(Options {
        socket_type,
        mode,
        binds,
        connects,
        count,
        timeout,
        subscriptions,
        identity,
        hex,
        delay,
        linger,
        heartbeat_ivl,
        heartbeat_timeout,
        heartbeat_ttl,
        handshake_ivl,
        monitor,
        security,
        zap,
        show_user_id,
    }))
}

fn parse_socket_type(name: &str) -> Result<SocketType, String> {
    SocketType::ALL
        .into_iter()
        .find(|t| type_label(*t) == name)
        .ok_or_else(|| format!("unknown socket type `{name}`"))
}

/// The lowercase name used on the command line.
fn type_label(socket_type: SocketType) -> String {
    socket_type.zmtp_name().to_ascii_lowercase()
}

fn parse_mode(name: &str) -> Result<Mode, String> {
    match name {
        "send" => Ok(Mode::Send),
        "recv" => Ok(Mode::Recv),
        "echo" => Ok(Mode::Echo),
        "request" => Ok(Mode::Request),
        _ => Err(format!(
            "unknown mode `{name}` (expected send, recv, echo or request)"
        )),
    }
}

fn parse_number(flag: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs a non-negative integer, not `{value}`"))
}

fn parse_millis(flag: &str, value: &str) -> Result<Duration, String> {
    parse_number(flag, value).map(Duration::from_millis)
}

/// A millisecond value from `min` to `max`.
fn parse_millis_in(flag: &str, value: &str, min: u64, max: u64) -> Result<Duration, String> {
    let ms = parse_number(flag, value)?;
    if !(min..=max).contains(&ms) {
        return Err(format!(
            "{flag} takes {min} to {max} milliseconds, not `{value}`"
        ));
    }
    Ok(Duration::from_millis(ms))
}

fn decode_arg(flag: &str, value: &str, hex: bool) -> Result<Vec<u8>, String> {
    if hex {
        decode_hex(value.as_bytes()).map_err(|e| format!("{flag}: {e}"))
    } else {
        Ok(value.as_bytes().to_vec())
    }
}

/// Whether a socket of this type can send messages (as in libzmq).
fn can_send(t: SocketType) -> bool {
    !matches!(t, SocketType::Pull | SocketType::Sub)
}

/// Whether a socket of this type can receive messages (as in libzmq).
fn can_recv(t: SocketType) -> bool {
    !matches!(t, SocketType::Push | SocketType::Pub)
}

/// Refuses a mode the socket type cannot do. REQ and REP alternate strictly, so REQ may
/// only use `request` and REP only `echo`.
fn check_mode(t: SocketType, mode: Mode) -> Result<(), String> {
    let ok = match (t, mode) {
        (SocketType::Req, m) => m == Mode::Request,
        (SocketType::Rep, m) => m == Mode::Echo,
        (_, Mode::Send) => can_send(t),
        (_, Mode::Recv) => can_recv(t),
        (_, Mode::Echo | Mode::Request) => can_send(t) && can_recv(t),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "a {} socket cannot use --mode {}",
            type_label(t),
            format!("{mode:?}").to_ascii_lowercase()
        ))
    }
}
