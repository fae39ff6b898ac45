//! A hand-written ZMTP 3.1 NULL peer over a plain `TcpStream`: for tests that need to send
//! what no well-behaved library would (a wrong socket type, malformed or hostile input).

use super::TIMEOUT;
use std::io::{Read, Write};

/// Our 64-byte greeting: ZMTP 3.1, mechanism NULL, as-server 0.
pub fn raw_greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0); // as-server
    g.extend_from_slice(&[0; 31]);
    assert_eq!(g.len(), 64);
    g
}

/// A READY command announcing `socket_type`.
pub fn raw_ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(&body);
    f
}

/// A READY command carrying exactly `props` (name, value) in that order; a LONG frame when
/// the body needs one. For malformed metadata a well-behaved peer would never send.
pub fn raw_ready_with(props: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut body = b"\x05READY".to_vec();
    for (name, value) in props {
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    }
    command_frame(&body)
}

/// A command frame holding `body` (name length, name, data), in the LONG form when the body
/// needs it.
fn command_frame(body: &[u8]) -> Vec<u8> {
    let mut f = match u8::try_from(body.len()) {
        Ok(short) => vec![0x04, short],
        Err(_) => {
            let mut f = vec![0x06];
            f.extend_from_slice(&(body.len() as u64).to_be_bytes());
            f
        }
    };
    f.extend_from_slice(body);
    f
}

/// A one-frame message (short form: `body` under 256 bytes).
pub fn raw_message(body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x00, body.len() as u8];
    f.extend_from_slice(body);
    f
}

/// Connects to `ep` (tcp) as a raw ZMTP peer of type `socket_type`: sends its greeting,
/// reads ferrozmq's 64-byte greeting (checked) and sends READY.
pub fn raw_handshake(ep: &str, socket_type: &str) -> std::net::TcpStream {
    let mut s = raw_greeted(ep);
    s.write_all(&raw_ready(socket_type)).unwrap();
    s
}

/// Connects to `ep` (tcp) as a raw ZMTP peer: sends its greeting and reads ferrozmq's
/// 64-byte greeting (checked); the handshake's READY is the caller's to send.
pub fn raw_greeted(ep: &str) -> std::net::TcpStream {
    let addr = ep.strip_prefix("tcp://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).expect("raw connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(&raw_greeting()).unwrap();
    let mut greeting = [0u8; 64];
    s.read_exact(&mut greeting)
        .expect("ferrozmq's 64-byte greeting");
    assert_eq!(
        (greeting[0], greeting[9]),
        (0xFF, 0x7F),
        "ZMTP signature: {:?}",
        &greeting[..10]
    );
    assert_eq!(greeting[10], 3, "ZMTP major version");
    assert_eq!(&greeting[12..16], b"NULL", "mechanism");
    s
}

/// [`raw_handshake`], then one message with `body`.
pub fn raw_peer(ep: &str, socket_type: &str, body: &[u8]) -> std::net::TcpStream {
    let mut s = raw_handshake(ep, socket_type);
    s.write_all(&raw_message(body)).unwrap();
    s
}

/// Waits (up to [`TIMEOUT`]) for ferrozmq to close `s`, reading and dropping whatever it
/// still sends (its greeting, READY, an ERROR command). Panics if it stays open.
pub fn expect_closed(s: &mut std::net::TcpStream, why: &str) {
    read_until_closed(s, why);
}

/// [`expect_closed`], returning what ferrozmq sent before closing (as far as it arrived:
/// a reset may drop the tail).
pub fn read_until_closed(s: &mut std::net::TcpStream, why: &str) -> Vec<u8> {
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("ferrozmq kept the connection open ({why}): {e}"),
        }
    }
}

/// One ZMTP frame as read off the wire.
#[derive(Debug)]
pub struct RawFrame {
    /// The flags byte (0x01 more, 0x02 long, 0x04 command).
    pub flags: u8,
    pub body: Vec<u8>,
}

impl RawFrame {
    /// For a command frame, its name and data; `None` for a message frame.
    pub fn command(&self) -> Option<(&[u8], &[u8])> {
        if self.flags & 0x04 == 0 {
            return None;
        }
        let (&len, rest) = self.body.split_first()?;
        (rest.len() >= usize::from(len)).then(|| rest.split_at(usize::from(len)))
    }
}

/// Reads the next frame from `s` (after the greeting), under `s`'s read timeout. Refuses
/// a frame over 1 MiB, which no test here expects, rather than allocating it.
pub fn read_frame(s: &mut std::net::TcpStream) -> std::io::Result<RawFrame> {
    let mut flags = [0u8; 1];
    s.read_exact(&mut flags)?;
    let len = if flags[0] & 0x02 != 0 {
        let mut len = [0u8; 8];
        s.read_exact(&mut len)?;
        u64::from_be_bytes(len)
    } else {
        let mut len = [0u8; 1];
        s.read_exact(&mut len)?;
        u64::from(len[0])
    };
    if len > 1 << 20 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body)?;
    Ok(RawFrame {
        flags: flags[0],
        body,
    })
}

/// A 64-byte ZMTP 3.1 greeting announcing `mechanism` (at most 20 bytes) and the as-server
/// byte `as_server`.
pub fn raw_greeting_for(mechanism: &str, as_server: bool) -> Vec<u8> {
    let mut g = raw_greeting();
    g[12..32].fill(0);
    g[12..12 + mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g[32] = u8::from(as_server);
    g
}

/// A command frame (name and data), in the LONG form when the body needs it.
pub fn raw_command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    command_frame(&body)
}

/// Connects to `ep` (tcp) as a raw peer announcing `mechanism` and `as_server` in its
/// greeting, and reads ferrozmq's 64-byte greeting, which it returns unchecked (a
/// mechanism mismatch is the caller's to look for).
pub fn raw_greeted_as(
    ep: &str,
    mechanism: &str,
    as_server: bool,
) -> (std::net::TcpStream, [u8; 64]) {
    let addr = ep.strip_prefix("tcp://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).expect("raw connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.write_all(&raw_greeting_for(mechanism, as_server))
        .unwrap();
    let mut greeting = [0u8; 64];
    s.read_exact(&mut greeting)
        .expect("ferrozmq's 64-byte greeting");
    assert_eq!(
        (greeting[0], greeting[9], greeting[10]),
        (0xFF, 0x7F, 3),
        "ZMTP 3 signature: {:?}",
        &greeting[..11]
    );
    (s, greeting)
}

/// The command frames in `bytes` (what ferrozmq sent after its greeting), by name; stops
/// at the first incomplete frame.
pub fn command_names(mut bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    while let Some((flags, body, rest)) = split_frame(bytes) {
        if flags & 0x04 != 0 {
            if body.starts_with(b"\x5eRROR") {
                // libzmq's PLAIN spelling of ERROR, which ferrozmq's PLAIN server copies.
                names.push("ERROR".to_owned());
            } else if let Some((&len, tail)) = body.split_first() {
                let name = tail.get(..usize::from(len)).unwrap_or(tail);
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        }
        bytes = rest;
    }
    names
}

/// Splits the first whole ZMTP frame off `bytes`: (flags, body, rest), or `None` if
/// `bytes` does not hold a whole frame.
pub fn split_frame(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&flags, rest) = bytes.split_first()?;
    let (len, rest) = if flags & 0x02 != 0 {
        let (len, rest) = rest.split_at_checked(8)?;
        (
            usize::try_from(u64::from_be_bytes(len.try_into().ok()?)).ok()?,
            rest,
        )
    } else {
        let (&len, rest) = rest.split_first()?;
        (usize::from(len), rest)
    };
    let (body, rest) = rest.split_at_checked(len)?;
    Some((flags, body, rest))
}

/// What a [`Relay`] does to the client's traffic once the handshake is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Forward every byte unchanged.
    Nothing,
    /// Forward the client's first CURVE MESSAGE twice (a replay).
    ReplayFirstMessage,
    /// Hold the client's first CURVE MESSAGE and forward it after the second (a nonce
    /// that goes down).
    SwapFirstTwoMessages,
    /// Forward the client's first frame (its HELLO) and swallow the rest, keeping the
    /// connection open: a client that stops halfway through its handshake.
    StallAfterHello,
}

/// Shared between a [`Relay`] and its threads: what the client sent, and the count of
/// CURVE MESSAGE frames among it.
#[derive(Default)]
struct RelayLog {
    client_bytes: Vec<u8>,
    client_messages: usize,
    server_messages: usize,
}

/// A TCP relay between one client and `target`, parsing the client's ZMTP frames: it can
/// replay or reorder the client's CURVE MESSAGE frames (see [`Tamper`]), and records what
/// the client sent. It accepts one connection, then stops listening.
pub struct Relay {
    endpoint: String,
    log: std::sync::Arc<(std::sync::Mutex<RelayLog>, std::sync::Condvar)>,
}

impl Relay {
    /// Listens on a fresh port of 127.0.0.1 and relays its first connection to `target`
    /// (a `tcp://` endpoint), tampering as `tamper` says.
    pub fn start(target: &str, tamper: Tamper) -> Relay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("relay bind");
        let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
        let target = target.strip_prefix("tcp://").unwrap().to_owned();
        let log = std::sync::Arc::new((
            std::sync::Mutex::new(RelayLog::default()),
            std::sync::Condvar::new(),
        ));
        let shared = log.clone();
        std::thread::spawn(move || {
            // The thread ends with the test process if nobody connects.
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            drop(listener);
            let Ok(server) = std::net::TcpStream::connect(&target) else {
                return;
            };
            let (Ok(client_r), Ok(server_r)) = (client.try_clone(), server.try_clone()) else {
                return;
            };
            let down_log = shared.clone();
            std::thread::spawn(move || relay_down(server_r, client, &down_log));
            relay_up(client_r, server, tamper, &shared);
        });
        Relay { endpoint, log }
    }

    /// The endpoint the client connects to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every byte the client sent so far.
    pub fn client_bytes(&self) -> Vec<u8> {
        self.log.0.lock().unwrap().client_bytes.clone()
    }

    /// Waits (up to [`TIMEOUT`]) until the client has sent at least `client` and the
    /// server at least `server` CURVE MESSAGE frames after the handshake; panics
    /// otherwise.
    pub fn wait_messages(&self, client: usize, server: usize) {
        let (lock, cond) = &*self.log;
        let end = std::time::Instant::now() + TIMEOUT;
        let mut log = lock.lock().unwrap();
        while log.client_messages < client || log.server_messages < server {
            let left = end.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "relay: {}/{client} MESSAGE frames from the client and {}/{server} from the \
                 server after {TIMEOUT:?}",
                log.client_messages,
                log.server_messages
            );
            log = cond.wait_timeout(log, left).unwrap().0;
        }
    }
}

type SharedLog = std::sync::Arc<(std::sync::Mutex<RelayLog>, std::sync::Condvar)>;

/// Reads one whole frame (header and body, as on the wire) from `r`; `None` at the end.
fn read_wire_frame(r: &mut impl Read) -> Option<Vec<u8>> {
    let mut head = vec![0u8; 2];
    r.read_exact(&mut head).ok()?;
    let len = if head[0] & 0x02 != 0 {
        let mut rest = [0u8; 7];
        r.read_exact(&mut rest).ok()?;
        head.extend_from_slice(&rest);
        u64::from_be_bytes(head[1..9].try_into().unwrap())
    } else {
        u64::from(head[1])
    };
    // The relay only carries what the tests send: nothing near this size.
    if len > 64 << 20 {
        return None;
    }
    let start = head.len();
    head.resize(start + len as usize, 0);
    r.read_exact(&mut head[start..]).ok()?;
    Some(head)
}

fn is_curve_message(wire: &[u8]) -> bool {
    split_frame(wire).is_some_and(|(_, body, _)| body.starts_with(b"\x07MESSAGE"))
}

/// Client to server: the greeting, then frame by frame, tampering with MESSAGE frames.
fn relay_up(
    mut client: std::net::TcpStream,
    mut server: std::net::TcpStream,
    tamper: Tamper,
    log: &SharedLog,
) {
    let record = |bytes: &[u8], message: bool| {
        let mut l = log.0.lock().unwrap();
        l.client_bytes.extend_from_slice(bytes);
        l.client_messages += usize::from(message);
        log.1.notify_all();
    };
    let mut greeting = [0u8; 64];
    if client.read_exact(&mut greeting).is_err() || server.write_all(&greeting).is_err() {
        let _ = server.shutdown(std::net::Shutdown::Both);
        return;
    }
    record(&greeting, false);
    let mut messages = 0usize;
    let mut frames = 0usize;
    let mut held: Option<Vec<u8>> = None;
    while let Some(frame) = read_wire_frame(&mut client) {
        let message = is_curve_message(&frame);
        record(&frame, message);
        frames += 1;
        let mut out = Vec::new();
        if tamper == Tamper::StallAfterHello && frames > 1 {
            continue;
        }
        if message {
            messages += 1;
            match (tamper, messages) {
                (Tamper::ReplayFirstMessage, 1) => {
                    out.extend_from_slice(&frame);
                    out.extend_from_slice(&frame);
                }
                (Tamper::SwapFirstTwoMessages, 1) => held = Some(frame),
                (Tamper::SwapFirstTwoMessages, 2) => {
                    out.extend_from_slice(&frame);
                    out.extend(held.take().unwrap_or_default());
                }
                _ => out = frame,
            }
        } else {
            out = frame;
        }
        if server.write_all(&out).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Both);
    let _ = client.shutdown(std::net::Shutdown::Both);
}

/// Server to client: the greeting, then frame by frame, unchanged (MESSAGE frames
/// counted).
fn relay_down(mut server: std::net::TcpStream, mut client: std::net::TcpStream, log: &SharedLog) {
    let mut greeting = [0u8; 64];
    if server.read_exact(&mut greeting).is_ok() && client.write_all(&greeting).is_ok() {
        while let Some(frame) = read_wire_frame(&mut server) {
            if is_curve_message(&frame) {
                log.0.lock().unwrap().server_messages += 1;
                log.1.notify_all();
            }
            if client.write_all(&frame).is_err() {
                break;
            }
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = server.shutdown(std::net::Shutdown::Both);
}
