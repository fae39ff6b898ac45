//! `zmq_cat`: netcat for ferrozmq sockets.
//!
//! Opens one socket of the given type, binds and/or connects it, then moves messages
//! between the socket and stdin/stdout:
//!
//! ```text
//! zmq_cat pull --bind tcp://127.0.0.1:5555 --mode recv
//! printf 'hello\tworld\n' | zmq_cat push --connect tcp://127.0.0.1:5555 --mode send
//! ```
//!
//! One message is one line; its frames are separated by a TAB. An empty line is a message
//! of one empty frame. With `--hex` every frame is written as lowercase hex, so binary data
//! (and frames holding TABs or newlines) survive the trip.
//!
//! Exit codes: 0 success, 1 any other error (for example an address in use), 2 bad
//! arguments (including a malformed endpoint, an unknown transport or an option value out
//! of range), 3 timeout.
//!
//! With `--monitor` every socket event goes to stderr as one line, `monitor: EVENT
//! ENDPOINT [DETAIL]`. What must stay true: the monitor is attached before the first
//! bind/connect (so LISTENING is seen), events are printed by a thread of their own (so a
//! blocked receive never holds them back), and every event raised before the socket and
//! context are closed is on stderr before the process exits.
//!
//! Security follows libzmq's options, the role set by option and never by bind or
//! connect: `--plain-server` or `--plain-user`/`--plain-password` for PLAIN,
//! `--curve-server --curve-secret KEY` or `--curve-serverkey KEY` for CURVE (keys are 40
//! characters of Z85). The `--zap-*` rules are one typed authenticator on the context:
//! an address in `--zap-deny-addr` is refused first, whatever the mechanism (NULL
//! included, through a ZAP domain); then PLAIN credentials must be one of
//! `--zap-allow-plain` and a CURVE client key one of `--zap-allow-curve`, where given.
//! Without any `--zap-*` option no authenticator is installed and the library admits
//! every client that completes the handshake. `--show-user-id` prints each received
//! message's `User-Id` (the PLAIN user name or the client's CURVE key in Z85) before it.
//!
//! ```text
//! zmq_cat pull --bind tcp://127.0.0.1:5555 --mode recv --show-user-id \
//!     --plain-server --zap-allow-plain admin:secret
//! echo hi | zmq_cat push --connect tcp://127.0.0.1:5555 --mode send \
//!     --plain-user admin --plain-password secret
//! ```
//!
//! Run `cargo run --example zmq_cat -- --help` for the full usage text.

use ferrozmq::{
    AuthCredentials, AuthDecision, AuthRequest, Context, Error, Message, Monitor, Socket,
    SocketType,
};
use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const USAGE: &str = "\
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
enum Mode {
    Send,
    Recv,
    Echo,
    Request,
}

/// The parsed command line.
#[derive(Debug)]
struct Options {
    socket_type: SocketType,
    mode: Mode,
    binds: Vec<String>,
    connects: Vec<String>,
    count: Option<u64>,
    timeout: Option<Duration>,
    subscriptions: Vec<Vec<u8>>,
    identity: Option<Vec<u8>>,
    hex: bool,
    delay: Option<Duration>,
    linger: Option<Duration>,
    heartbeat_ivl: Option<Duration>,
    heartbeat_timeout: Option<Duration>,
    heartbeat_ttl: Option<Duration>,
    /// `None`: leave the library's default; `Some(None)`: no limit.
    handshake_ivl: Option<Option<Duration>>,
    monitor: bool,
    /// The mechanism and role.
    security: Security,
    /// The `--zap-*` rules; `None` when no `--zap-*` option was given.
    zap: Option<ZapRules>,
    show_user_id: bool,
}

/// Text that must not appear in `Debug` output (secret keys, passwords).
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The mechanism and role chosen by the security options.
#[derive(Debug, PartialEq, Eq)]
enum Security {
    /// No security option: the NULL mechanism.
    Null,
    /// `--plain-server`.
    PlainServer,
    /// `--plain-user` (and `--plain-password`).
    PlainClient { user: String, password: Secret },
    /// `--curve-server --curve-secret KEY`.
    CurveServer { secret: Secret },
    /// `--curve-serverkey KEY`, with `--curve-secret` or a fresh key pair.
    CurveClient {
        server_key: String,
        secret: Option<Secret>,
    },
}

/// What the `--zap-*` options admit; see [`ZapRules::decide`].
#[derive(Debug, Default, Clone)]
struct ZapRules {
    /// `--zap-allow-plain USER:PASS`.
    allow_plain: Vec<(String, Secret)>,
    /// `--zap-allow-curve KEY`, as the 32-byte keys.
    allow_curve: Vec<[u8; 32]>,
    /// `--zap-deny-addr IP`.
    deny_addr: Vec<IpAddr>,
}

/// The ZAP domain zmq_cat sets when `--zap-deny-addr` is given, so that NULL connections
/// are checked too (libzmq asks ZAP about NULL peers only where a domain is set).
const ZAP_DOMAIN: &str = "zmq_cat";

/// Why the program stops early: the exit code and the message for stderr.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

const EXIT_ERROR: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_TIMEOUT: u8 = 3;

/// The largest millisecond value the liveness options take: libzmq's options are a C
/// `int` of milliseconds, and a bound keeps every deadline computed from them in range.
const MAX_OPTION_MS: u64 = i32::MAX as u64;

/// The largest `--heartbeat-ttl`: the TTL travels as a u16 of deciseconds.
const MAX_TTL_MS: u64 = u16::MAX as u64 * 100 + 99;

/// How long, once the socket and context are closed, to wait for the monitor thread to
/// print the last events. The library ends the monitor at once then; this only bounds the
/// exit should it not.
const MONITOR_DRAIN_LIMIT: Duration = Duration::from_secs(2);

impl Failure {
    fn error(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_ERROR,
            message: message.into(),
        }
    }

    /// A library error during `what`, with the exit code its kind calls for.
    fn zmq(what: &str, err: Error) -> Failure {
        let code = match err {
            Error::InvalidEndpoint { .. } | Error::InvalidOption { .. } => EXIT_USAGE,
            Error::Timeout => EXIT_TIMEOUT,
            _ => EXIT_ERROR,
        };
        Failure {
            code,
            message: format!("{what}: {err}"),
        }
    }

    fn io(what: &str, err: io::Error) -> Failure {
        Failure::error(format!("{what}: {err}"))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("zmq_cat: {message}");
            eprintln!("run `zmq_cat --help` for usage");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("zmq_cat: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

/// Parses the arguments (without the program name). `Ok(None)` means `--help`.
fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
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

/// The security options as given, before [`security_role`] checks them.
struct SecurityArgs {
    curve_server: bool,
    curve_serverkey: Option<String>,
    curve_secret: Option<Secret>,
    plain_server: bool,
    plain_user: Option<String>,
    plain_password: Option<Secret>,
}

/// The one mechanism and role the security options ask for, or why they conflict.
fn security_role(args: SecurityArgs) -> Result<Security, String> {
    let SecurityArgs {
        curve_server,
        curve_serverkey,
        curve_secret,
        plain_server,
        plain_user,
        plain_password,
    } = args;
    let roles = [
        ("--curve-server", curve_server),
        ("--curve-serverkey", curve_serverkey.is_some()),
        ("--plain-server", plain_server),
        ("--plain-user", plain_user.is_some()),
    ];
    let chosen: Vec<&str> = roles.iter().filter(|r| r.1).map(|r| r.0).collect();
    if chosen.len() > 1 {
        return Err(format!(
            "{} choose different roles: give only one of them",
            chosen.join(" and ")
        ));
    }
    if plain_password.is_some() && plain_user.is_none() {
        return Err("--plain-password needs --plain-user".into());
    }
    if let Some(user) = &plain_user {
        if user.is_empty() {
            return Err("--plain-user needs a non-empty user name".into());
        }
    }
    if curve_secret.is_some() && !curve_server && curve_serverkey.is_none() {
        return Err("--curve-secret needs --curve-server or --curve-serverkey".into());
    }
    Ok(if curve_server {
        Security::CurveServer {
            secret: curve_secret.ok_or("--curve-server needs --curve-secret KEY")?,
        }
    } else if let Some(server_key) = curve_serverkey {
        Security::CurveClient {
            server_key,
            secret: curve_secret,
        }
    } else if plain_server {
        Security::PlainServer
    } else if let Some(user) = plain_user {
        Security::PlainClient {
            user,
            password: plain_password.unwrap_or_else(|| Secret(String::new())),
        }
    } else {
        Security::Null
    })
}

/// A CURVE key option's value, checked (see [`decode_key`]) and kept as the Z85 text the
/// socket options take.
fn key_text(flag: &str, text: &str) -> Result<String, String> {
    decode_key(flag, text).map(|_| text.to_owned())
}

/// Decodes a CURVE key given as `flag`'s value: exactly 40 characters of Z85.
fn decode_key(flag: &str, text: &str) -> Result<[u8; 32], String> {
    // The text is not echoed: it may be a secret key with a typo.
    let bad = |why: String| format!("{flag}: not a CURVE key: {why}");
    if text.len() != 40 {
        return Err(bad(format!(
            "a key is 40 characters of Z85, this has {}",
            text.chars().count()
        )));
    }
    let bytes = ferrozmq::z85::decode(text).map_err(|e| bad(e.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| bad("not 32 bytes once decoded".into()))
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

// ---------------------------------------------------------------------------------------
// Line format
// ---------------------------------------------------------------------------------------

/// Turns one input line (without its newline) into a message: TAB-separated frames.
fn parse_line(line: &[u8], hex: bool) -> Result<Message, String> {
    let frames = line
        .split(|&b| b == b'\t')
        .map(|field| {
            if hex {
                decode_hex(field)
            } else {
                Ok(field.to_vec())
            }
        })
        .collect::<Result<Vec<Vec<u8>>, String>>()?;
    Ok(Message::from(frames))
}

/// Formats a message as one output line, newline included.
fn format_message(msg: &Message, hex: bool) -> String {
    let mut line = String::new();
    for (i, frame) in msg.iter().enumerate() {
        if i > 0 {
            line.push('\t');
        }
        if hex {
            line.push_str(&encode_hex(frame));
        } else {
            let text: Cow<'_, str> = String::from_utf8_lossy(frame);
            line.push_str(&text);
        }
    }
    line.push('\n');
    line
}

fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

fn decode_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err(format!(
            "invalid hex `{}`: odd number of digits",
            String::from_utf8_lossy(text)
        ));
    }
    text.chunks(2)
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| format!("invalid hex `{}`", String::from_utf8_lossy(text)))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Reads the next line from stdin without its trailing newline; `None` at EOF.
fn read_line(input: &mut impl BufRead) -> Result<Option<Vec<u8>>, Failure> {
    let mut line = Vec::new();
    let n = input
        .read_until(b'\n', &mut line)
        .map_err(|e| Failure::io("cannot read stdin", e))?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(Some(line))
}

/// Reads the next stdin line as a message; `None` at EOF.
fn read_message(input: &mut impl BufRead, hex: bool) -> Result<Option<Message>, Failure> {
    match read_line(input)? {
        None => Ok(None),
        Some(line) => parse_line(&line, hex)
            .map(Some)
            .map_err(|e| Failure::error(format!("bad input line: {e}"))),
    }
}

fn print_message(out: &mut impl Write, msg: &Message, hex: bool) -> Result<(), Failure> {
    out.write_all(format_message(msg, hex).as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("cannot write stdout", e))
}

// ---------------------------------------------------------------------------------------
// Socket work
// ---------------------------------------------------------------------------------------

fn run(options: &Options) -> Result<(), Failure> {
    let ctx = Context::new();
    if let Some(rules) = &options.zap {
        let rules = rules.clone();
        ctx.set_authenticator(move |req: &AuthRequest<'_>| rules.decide(req));
    }
    let mut socket = ctx
        .socket(options.socket_type)
        .map_err(|e| Failure::zmq("cannot create socket", e))?;
    // Attached before any bind or connect, so that LISTENING is among the events.
    let printer = options
        .monitor
        .then(|| MonitorPrinter::start(socket.monitor()));
    let result = setup(&mut socket, options).and_then(|()| serve(&mut socket, options));
    if result.is_err() {
        // Exit promptly on failure instead of waiting to deliver what is still queued.
        let _ = socket.set_linger(Some(Duration::ZERO));
    }
    // Closing the socket and then the context waits (up to the linger) until every queued
    // message is delivered.
    drop(socket);
    drop(ctx);
    if let Some(printer) = printer {
        printer.finish();
    }
    result
}

/// Prints a socket's monitor events to stderr from a thread of its own, so that events
/// come out while the main thread is blocked in a receive or a send.
struct MonitorPrinter {
    /// Disconnected when the thread has printed its last event.
    done: mpsc::Receiver<()>,
    thread: thread::JoinHandle<()>,
}

impl MonitorPrinter {
    fn start(monitor: Monitor) -> MonitorPrinter {
        let (done_tx, done) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            let _done = done_tx;
            // `recv` fails (Terminated) once the socket and all its connections are gone
            // and every event was read.
            while let Ok(event) = monitor.recv() {
                let mut err = io::stderr().lock();
                // Nowhere to report a failed write to stderr; keep draining regardless.
                let _ = writeln!(err, "monitor: {event}").and_then(|()| err.flush());
            }
        });
        MonitorPrinter { done, thread }
    }

    /// Waits, once the socket and context are closed, until every event is printed.
    fn finish(self) {
        match self.done.recv_timeout(MONITOR_DRAIN_LIMIT) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                eprintln!("zmq_cat: the monitor did not end; some events may be missing");
            }
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = self.thread.join();
            }
        }
    }
}

impl ZapRules {
    /// The decision on one client: a denied address first, whatever the mechanism; then
    /// PLAIN credentials must be allowed (when any `--zap-allow-plain` is given) and a
    /// CURVE key must be allowed (when any `--zap-allow-curve` is given). The `User-Id` is
    /// the PLAIN user name or the CURVE key in Z85, as the library sets it without ZAP.
    fn decide(&self, req: &AuthRequest<'_>) -> AuthDecision {
        if let Ok(ip) = req.address.parse::<IpAddr>() {
            if self.deny_addr.contains(&ip.to_canonical()) {
                return AuthDecision::deny(format!("address {ip} is refused"));
            }
        }
        match req.credentials {
            AuthCredentials::Null => AuthDecision::allow(""),
            AuthCredentials::Plain { username, password } => {
                let known = self
                    .allow_plain
                    .iter()
                    .any(|(u, p)| u.as_bytes() == username && p.0.as_bytes() == password);
                if self.allow_plain.is_empty() || known {
                    AuthDecision::allow(String::from_utf8_lossy(username))
                } else {
                    AuthDecision::deny("unknown user name or wrong password")
                }
            }
            AuthCredentials::Curve { public_key } => {
                if self.allow_curve.is_empty() || self.allow_curve.contains(public_key) {
                    // A 32-byte key always has a Z85 form.
                    AuthDecision::allow(ferrozmq::z85::encode(public_key).unwrap_or_default())
                } else {
                    AuthDecision::deny("client key not allowed")
                }
            }
            // A mechanism zmq_cat has no rules for.
            _ => AuthDecision::deny("unsupported mechanism"),
        }
    }
}

/// Sets the mechanism, role and keys, before any bind or connect (they apply to the
/// connections made after them), and the ZAP domain that makes `--zap-deny-addr` apply to
/// NULL connections too.
fn set_security(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    fn failed(what: &'static str) -> impl Fn(Error) -> Failure {
        move |e| Failure::zmq(what, e)
    }
    match &options.security {
        Security::Null => {}
        Security::PlainServer => socket
            .set_plain_server(true)
            .map_err(failed("cannot set --plain-server"))?,
        Security::PlainClient { user, password } => {
            // libzmq's rule, kept by ferrozmq: an empty password alone turns PLAIN off,
            // so the user name goes last and chooses PLAIN whatever the password.
            socket
                .set_plain_password(&password.0)
                .map_err(failed("cannot set --plain-password"))?;
            socket
                .set_plain_username(user)
                .map_err(failed("cannot set --plain-user"))?;
        }
        Security::CurveServer { secret } => {
            socket
                .set_curve_secretkey(&secret.0)
                .map_err(failed("cannot set --curve-secret"))?;
            socket
                .set_curve_server(true)
                .map_err(failed("cannot set --curve-server"))?;
        }
        Security::CurveClient { server_key, secret } => {
            if let Some(secret) = secret {
                socket
                    .set_curve_secretkey(&secret.0)
                    .map_err(failed("cannot set --curve-secret"))?;
            }
            socket
                .set_curve_serverkey(server_key)
                .map_err(failed("cannot set --curve-serverkey"))?;
        }
    }
    if options
        .zap
        .as_ref()
        .is_some_and(|z| !z.deny_addr.is_empty())
    {
        socket
            .set_zap_domain(ZAP_DOMAIN)
            .map_err(failed("cannot set the ZAP domain"))?;
    }
    Ok(())
}

/// Options, endpoints, subscriptions and the start-up delay.
fn setup(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    socket
        .set_linger(options.linger)
        .map_err(|e| Failure::zmq("cannot set linger", e))?;
    if let Some(id) = &options.identity {
        socket
            .set_routing_id(id.clone())
            .map_err(|e| Failure::zmq("cannot set identity", e))?;
    }
    set_liveness(socket, options)?;
    set_security(socket, options)?;
    for ep in &options.binds {
        socket
            .bind(ep)
            .map_err(|e| Failure::zmq(&format!("cannot bind {ep}"), e))?;
    }
    for ep in &options.connects {
        socket
            .connect(ep)
            .map_err(|e| Failure::zmq(&format!("cannot connect {ep}"), e))?;
    }
    for prefix in &options.subscriptions {
        subscribe(socket, prefix)?;
    }
    if let Some(delay) = options.delay {
        std::thread::sleep(delay);
    }
    Ok(())
}

/// Heartbeats and the handshake limit; they must be set before bind/connect to apply.
fn set_liveness(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    if options.heartbeat_ivl.is_some() {
        socket
            .set_heartbeat_ivl(options.heartbeat_ivl)
            .map_err(|e| Failure::zmq("cannot set --heartbeat-ivl", e))?;
    }
    if options.heartbeat_timeout.is_some() {
        socket
            .set_heartbeat_timeout(options.heartbeat_timeout)
            .map_err(|e| Failure::zmq("cannot set --heartbeat-timeout", e))?;
    }
    if options.heartbeat_ttl.is_some() {
        socket
            .set_heartbeat_ttl(options.heartbeat_ttl)
            .map_err(|e| Failure::zmq("cannot set --heartbeat-ttl", e))?;
    }
    if let Some(ivl) = options.handshake_ivl {
        socket
            .set_handshake_ivl(ivl)
            .map_err(|e| Failure::zmq("cannot set --handshake-ivl", e))?;
    }
    Ok(())
}

/// Subscribes a SUB or XSUB socket to `prefix` (an empty prefix matches everything).
fn subscribe(socket: &mut Socket, prefix: &[u8]) -> Result<(), Failure> {
    socket
        .subscribe(prefix)
        .map_err(|e| Failure::zmq("cannot subscribe", e))
}

fn serve(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    match options.mode {
        Mode::Send => send_lines(socket, options),
        Mode::Recv => print_received(socket, options),
        Mode::Echo => echo(socket, options),
        Mode::Request => request(socket, options),
    }
}

/// Whether `done` messages already reach the `--count` limit.
fn reached(options: &Options, done: u64) -> bool {
    options.count.is_some_and(|n| done >= n)
}

/// Waits for one message, for at most `--timeout-ms`.
fn receive(socket: &mut Socket, options: &Options) -> Result<Message, Failure> {
    let received = match options.timeout {
        Some(timeout) => socket.recv_timeout(timeout),
        None => socket.recv(),
    };
    received.map_err(|e| match e {
        Error::Timeout => Failure {
            code: EXIT_TIMEOUT,
            message: format!(
                "timed out: no message within {} ms",
                options.timeout.unwrap_or_default().as_millis()
            ),
        },
        e => Failure::zmq("receive failed", e),
    })
}

fn send(socket: &mut Socket, msg: Message) -> Result<(), Failure> {
    socket
        .send(msg)
        .map_err(|e| Failure::zmq("send failed", e.into()))
}

/// `--mode send`: every stdin line becomes a message, until EOF.
fn send_lines(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut input = io::stdin().lock();
    let mut done = 0;
    while !reached(options, done) {
        let Some(msg) = read_message(&mut input, options.hex)? else {
            break;
        };
        send(socket, msg)?;
        done += 1;
    }
    Ok(())
}

/// `--mode recv`: print every message received.
fn print_received(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    let mut done = 0;
    while !reached(options, done) {
        let msg = receive(socket, options)?;
        if options.show_user_id {
            let user_id = msg.property("User-Id").unwrap_or("");
            write!(out, "{user_id}\t").map_err(|e| Failure::io("cannot write stdout", e))?;
        }
        print_message(&mut out, &msg, options.hex)?;
        done += 1;
    }
    Ok(())
}

/// `--mode echo`: send every message back as it came (on ROUTER the routing id stays
/// first, so the reply goes back to its sender).
fn echo(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut done = 0;
    while !reached(options, done) {
        let msg = receive(socket, options)?;
        send(socket, msg)?;
        done += 1;
    }
    Ok(())
}

/// `--mode request`: send each stdin line and print the one reply.
fn request(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    let mut done = 0;
    while !reached(options, done) {
        let Some(msg) = read_message(&mut input, options.hex)? else {
            break;
        };
        send(socket, msg)?;
        let reply = receive(socket, options)?;
        print_message(&mut out, &reply, options.hex)?;
        done += 1;
    }
    Ok(())
}
