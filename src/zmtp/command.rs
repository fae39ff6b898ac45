//! ZMTP command bodies: READY (with its metadata properties), ERROR, PING, PONG, SUBSCRIBE
//! and CANCEL, encoded into an [`OutBuf`] and parsed from a received command frame body.
//!
//! It must keep true: parsing never reads past the body (every length field is checked
//! against what is left, a bad one is `Malformed`), never panics, and slices values out of
//! the received `Bytes` without copying; READY metadata with an empty name, a name given
//! twice (ignoring ASCII case) or an `Identity` over 255 bytes is refused; encoding emits
//! names exactly as libzmq expects (`Socket-Type`, `Identity`, case-sensitive).

use super::frame::{encode_header, FLAG_COMMAND};
use super::OutBuf;
use crate::{ProtocolError, SocketType};
use bytes::Bytes;

/// Property name of the socket type in READY.
pub(crate) const PROP_SOCKET_TYPE: &str = "Socket-Type";
/// Property name of the routing id in READY.
pub(crate) const PROP_IDENTITY: &str = "Identity";
/// How libzmq's PLAIN mechanism spells ERROR: its source writes the prefix as the C string
/// `"\x05ERROR"`, where the hex escape swallows the `E`, so the bytes are 0x5E `RROR` (a
/// 94-byte name length that overruns the frame). libzmq's PLAIN client recognises only this
/// form, and libzmq's PLAIN server sends only it (libzmq master, `plain_common.hpp`), so
/// ferrozmq accepts it as an ERROR everywhere and a PLAIN server sends it when it refuses a
/// client.
pub(crate) const LIBZMQ_PLAIN_ERROR: &[u8] = b"\x5eRROR";
/// The longest PING context echoed in a PONG.
pub(crate) const MAX_PING_CONTEXT: usize = 16;
/// The longest `Identity` ZMTP allows (RFC 37: `identity = 0*255OCTET`).
pub(crate) const MAX_IDENTITY: usize = 255;

/// A received command, split into what the connection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// READY; the raw property block, parsed with [`parse_properties`] when it matters.
    Ready(Bytes),
    /// ERROR with its reason (lossily decoded).
    Error(String),
    /// PING: TTL in tenths of a second and the context to echo (at most 16 bytes).
    Ping {
        /// Time-to-live in deciseconds, 0 if absent.
        ttl: u16,
        /// The context to send back in the PONG.
        context: Bytes,
    },
    /// PONG with its context.
    Pong(Bytes),
    /// SUBSCRIBE with its topic.
    Subscribe(Bytes),
    /// CANCEL with its topic.
    Cancel(Bytes),
    /// Any other command (name as received).
    Unknown(Bytes),
}

/// Splits a command frame body into name and data and interprets the known commands.
/// Command names are compared case-sensitively, as libzmq does.
pub(crate) fn parse(mut body: Bytes) -> Result<Command, ProtocolError> {
    if let Some(reason) = body.strip_prefix(LIBZMQ_PLAIN_ERROR) {
        return Ok(Command::Error(parse_error_reason(reason)));
    }
    let Some(&name_len) = body.first() else {
        return Err(ProtocolError::Malformed("command (empty frame)"));
    };
    let name_end = 1 + usize::from(name_len);
    if body.len() < name_end {
        return Err(ProtocolError::Malformed("command (name longer than frame)"));
    }
    let name = body.slice(1..name_end);
    let data = body.split_off(name_end);
    Ok(match &name[..] {
        b"READY" => Command::Ready(data),
        b"ERROR" => Command::Error(parse_error_reason(&data)),
        b"PING" => {
            // A PING too short for its TTL is tolerated as TTL 0: dropping the link over a
            // heartbeat gains nothing.
            let ttl = match data.get(..2) {
                Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
                _ => 0,
            };
            let start = data.len().min(2);
            let end = data.len().min(2 + MAX_PING_CONTEXT);
            Command::Ping {
                ttl,
                context: data.slice(start..end),
            }
        }
        b"PONG" => Command::Pong(data),
        b"SUBSCRIBE" => Command::Subscribe(data),
        b"CANCEL" => Command::Cancel(data),
        _ => Command::Unknown(name),
    })
}

/// The reason of an ERROR command: u8 length + text. A length past the end is tolerated
/// (the connection is closing anyway); what is there is used.
fn parse_error_reason(data: &[u8]) -> String {
    let Some((&len, rest)) = data.split_first() else {
        return String::new();
    };
    let reason = rest.get(..usize::from(len)).unwrap_or(rest);
    String::from_utf8_lossy(reason).into_owned()
}

/// Parses READY metadata: repeated name-length u8 + name + value-length u32 BE + value.
/// An empty name is refused here (RFC 37: names are 1 to 255 characters); duplicates are
/// left to [`validate_properties`].
pub(crate) fn parse_properties(data: &Bytes) -> Result<Vec<(String, Bytes)>, ProtocolError> {
    const BAD: ProtocolError = ProtocolError::Malformed("READY properties");
    let mut props = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let name_len = usize::from(*data.get(pos).ok_or(BAD)?);
        if name_len == 0 {
            return Err(ProtocolError::EmptyPropertyName);
        }
        let name_start = pos + 1;
        let name_end = name_start + name_len;
        let name = data.get(name_start..name_end).ok_or(BAD)?;
        let len_bytes = data.get(name_end..name_end + 4).ok_or(BAD)?;
        let mut be = [0u8; 4];
        be.copy_from_slice(len_bytes);
        let value_len = usize::try_from(u32::from_be_bytes(be)).map_err(|_| BAD)?;
        let value_start = name_end + 4;
        let value_end = value_start.checked_add(value_len).ok_or(BAD)?;
        if value_end > data.len() {
            return Err(BAD);
        }
        props.push((
            String::from_utf8_lossy(name).into_owned(),
            data.slice(value_start..value_end),
        ));
        pos = value_end;
    }
    Ok(props)
}

/// Checks parsed READY metadata: no property named twice (names compare without regard to
/// ASCII case, as RFC 37 says, so `Socket-Type` and `socket-type` conflict) and an
/// `Identity` of at most 255 bytes. Sorting indices keeps this O(n log n) with no
/// allocation per name, whatever the peer sends.
pub(crate) fn validate_properties(props: &[(String, Bytes)]) -> Result<(), ProtocolError> {
    let folded = |i: usize| props[i].0.bytes().map(|c| c.to_ascii_lowercase());
    // A stable sort keeps equal names in arrival order: the one reported is the repeat.
    let mut order: Vec<usize> = (0..props.len()).collect();
    order.sort_by(|&a, &b| folded(a).cmp(folded(b)));
    if let Some(pair) = order
        .windows(2)
        .find(|w| props[w[0]].0.eq_ignore_ascii_case(&props[w[1]].0))
    {
        return Err(ProtocolError::DuplicateProperty(props[pair[1]].0.clone()));
    }
    for (name, value) in props {
        if name.eq_ignore_ascii_case(PROP_IDENTITY) && value.len() > MAX_IDENTITY {
            return Err(ProtocolError::IdentityTooLong(value.len()));
        }
    }
    Ok(())
}

/// A command body: `[len]name` + the concatenation of `parts` (for a command that is
/// boxed under CURVE before it goes out).
pub(crate) fn command_body(name: &str, parts: &[&[u8]]) -> Vec<u8> {
    let name = &name.as_bytes()[..name.len().min(255)];
    let size = 1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut body = Vec::with_capacity(size);
    body.push(name.len() as u8);
    body.extend_from_slice(name);
    for p in parts {
        body.extend_from_slice(p);
    }
    body
}

/// Writes one command frame `[len]name` + the concatenation of `parts`.
pub(crate) fn encode_command(name: &str, parts: &[&[u8]], out: &mut OutBuf) {
    let name = &name.as_bytes()[..name.len().min(255)];
    let size = 1 + name.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    encode_header(FLAG_COMMAND, size, out);
    out.put_slice(&[name.len() as u8]);
    out.put_slice(name);
    for p in parts {
        out.put_slice(p);
    }
}

/// Our metadata, encoded as properties: `Socket-Type` always, `Identity` iff `identity` is
/// given. It is the body of READY (NULL, PLAIN) and of the metadata boxes (CURVE).
pub(crate) fn encode_properties(socket_type: SocketType, identity: Option<&[u8]>) -> Bytes {
    let mut props = Vec::with_capacity(64);
    let mut put_prop = |name: &str, value: &[u8]| {
        let value = &value[..value.len().min(u32::MAX as usize)];
        props.push(name.len() as u8);
        props.extend_from_slice(name.as_bytes());
        props.extend_from_slice(&(value.len() as u32).to_be_bytes());
        props.extend_from_slice(value);
    };
    put_prop(PROP_SOCKET_TYPE, socket_type.zmtp_name().as_bytes());
    if let Some(id) = identity {
        put_prop(PROP_IDENTITY, id);
    }
    Bytes::from(props)
}

/// Writes our READY: `Socket-Type` always, `Identity` iff `identity` is given.
#[cfg(test)]
pub(crate) fn encode_ready(socket_type: SocketType, identity: Option<&[u8]>, out: &mut OutBuf) {
    encode_command("READY", &[&encode_properties(socket_type, identity)], out);
}

/// Writes an ERROR command; the reason is cut to 255 bytes.
pub(crate) fn encode_error(reason: &str, out: &mut OutBuf) {
    let reason = &reason.as_bytes()[..reason.len().min(255)];
    encode_command("ERROR", &[&[reason.len() as u8], reason], out);
}

/// Writes a PING with a TTL in tenths of a second and a context (cut to 16 bytes).
#[cfg(test)]
pub(crate) fn encode_ping(ttl_deciseconds: u16, context: &[u8], out: &mut OutBuf) {
    let context = &context[..context.len().min(MAX_PING_CONTEXT)];
    encode_command("PING", &[&ttl_deciseconds.to_be_bytes(), context], out);
}

/// Writes a PONG echoing `context` (cut to 16 bytes).
#[cfg(test)]
pub(crate) fn encode_pong(context: &[u8], out: &mut OutBuf) {
    let context = &context[..context.len().min(MAX_PING_CONTEXT)];
    encode_command("PONG", &[context], out);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::frame::decode_header;
    use super::super::outbuf::tests::drain;
    use super::*;

    /// Strips the frame header off one encoded command and returns its body.
    pub(crate) fn body_of(frame: &[u8]) -> Bytes {
        let h = decode_header(frame).unwrap().unwrap();
        assert!(h.command());
        assert_eq!(
            frame.len(),
            h.header_len + h.size,
            "one whole frame expected"
        );
        Bytes::copy_from_slice(&frame[h.header_len..])
    }

    #[test]
    fn ready_bytes_are_exact() {
        let mut out = OutBuf::new();
        encode_ready(SocketType::Dealer, Some(b"id"), &mut out);
        let mut expected = vec![0x04, 0];
        expected.extend_from_slice(b"\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER");
        expected.extend_from_slice(b"\x08Identity\x00\x00\x00\x02id");
        expected[1] = (expected.len() - 2) as u8;
        assert_eq!(drain(&mut out), expected);
    }

    #[test]
    fn ready_round_trips() {
        let mut out = OutBuf::new();
        encode_ready(SocketType::Push, None, &mut out);
        let Command::Ready(data) = parse(body_of(&drain(&mut out))).unwrap() else {
            panic!("not READY");
        };
        let props = parse_properties(&data).unwrap();
        assert_eq!(
            props,
            vec![("Socket-Type".to_string(), Bytes::from("PUSH"))]
        );
    }

    #[test]
    fn bad_property_lengths_are_malformed() {
        let good = b"\x0bSocket-Type\x00\x00\x00\x04PUSH";
        assert!(parse_properties(&Bytes::from_static(good)).is_ok());
        // Every truncation of a valid property block is malformed.
        for n in 1..good.len() {
            let r = parse_properties(&Bytes::copy_from_slice(&good[..n]));
            assert_eq!(
                r,
                Err(ProtocolError::Malformed("READY properties")),
                "cut {n}"
            );
        }
        // A value length far past the end.
        let huge = b"\x01A\xff\xff\xff\xffxx";
        assert!(parse_properties(&Bytes::from_static(huge)).is_err());
        assert_eq!(parse_properties(&Bytes::new()), Ok(vec![]));
    }

    #[test]
    fn command_names_and_bodies() {
        assert!(parse(Bytes::new()).is_err());
        assert!(parse(Bytes::from_static(b"\x09READ")).is_err());
        assert_eq!(
            parse(Bytes::from_static(b"\x05ERROR\x03bad")),
            Ok(Command::Error("bad".into()))
        );
        // ERROR with an over-long reason length keeps what is there.
        assert_eq!(
            parse(Bytes::from_static(b"\x05ERROR\x09bad")),
            Ok(Command::Error("bad".into()))
        );
        assert_eq!(
            parse(Bytes::from_static(b"\x09SUBSCRIBEtopic")),
            Ok(Command::Subscribe(Bytes::from("topic")))
        );
        assert_eq!(
            parse(Bytes::from_static(b"\x06CANCEL")),
            Ok(Command::Cancel(Bytes::new()))
        );
        assert_eq!(
            parse(Bytes::from_static(b"\x05ready")),
            Ok(Command::Unknown(Bytes::from("ready")))
        );
    }

    #[test]
    fn ping_context_is_cut_to_16() {
        let mut body = b"\x04PING\x00\x0a".to_vec();
        body.extend_from_slice(&[b'c'; 20]);
        assert_eq!(
            parse(Bytes::from(body)),
            Ok(Command::Ping {
                ttl: 10,
                context: Bytes::from(vec![b'c'; 16])
            })
        );
        assert_eq!(
            parse(Bytes::from_static(b"\x04PING\x01")),
            Ok(Command::Ping {
                ttl: 0,
                context: Bytes::new()
            })
        );
        let mut out = OutBuf::new();
        encode_ping(7, b"ctx", &mut out);
        assert_eq!(drain(&mut out), b"\x04\x0a\x04PING\x00\x07ctx");
    }
}
