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
    let mut f = match u8::try_from(body.len()) {
        Ok(short) => vec![0x04, short],
        Err(_) => {
            let mut f = vec![0x06];
            f.extend_from_slice(&(body.len() as u64).to_be_bytes());
            f
        }
    };
    f.extend_from_slice(&body);
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
