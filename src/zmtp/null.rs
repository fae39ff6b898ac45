//! The NULL mechanism (RFC 37): each side sends READY with its metadata and waits for the
//! peer's. With a ZAP domain set, libzmq asks ZAP about the peer before its READY goes
//! out; so do we.
//!
//! What must hold: our READY is written exactly once, and only after an `Allow` when ZAP
//! was asked; the only command accepted is READY.

use super::mechanism::{deny, split_command, Handshake, Progress, Verdict};
use super::{command, OutBuf};
use crate::ProtocolError;
use bytes::Bytes;

/// One connection's NULL handshake.
#[derive(Debug)]
pub(crate) struct Null {
    /// Our READY metadata (encoded properties).
    metadata: Bytes,
    /// Whether to ask ZAP before admitting the peer.
    authenticate: bool,
    /// Our READY has gone out.
    ready_sent: bool,
    /// The peer's READY properties, if it arrived before our READY could go (ZAP pending).
    peer: Option<Bytes>,
}

impl Null {
    /// A NULL handshake sending `metadata`, asking ZAP first iff `authenticate`.
    pub(crate) fn new(metadata: Bytes, authenticate: bool) -> Null {
        Null {
            metadata,
            authenticate,
            ready_sent: false,
            peer: None,
        }
    }

    fn send_ready(&mut self, out: &mut OutBuf) {
        command::encode_command("READY", &[&self.metadata], out);
        self.ready_sent = true;
    }
}

impl Handshake for Null {
    fn start(&mut self, out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        if self.authenticate {
            return Ok(Progress::Authenticate(super::mechanism::Credentials::Null));
        }
        self.send_ready(out);
        Ok(Progress::Continue)
    }

    fn on_command(&mut self, body: Bytes, _out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        let (name, data) = split_command(&body)?;
        if name != b"READY" || self.peer.is_some() {
            return Err(ProtocolError::UnexpectedCommand(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        if !self.ready_sent {
            // The connection holds input while ZAP decides, so this cannot happen; be safe.
            self.peer = Some(data);
            return Ok(Progress::Continue);
        }
        Ok(Progress::Done(command::parse_properties(&data)?))
    }

    fn on_verdict(
        &mut self,
        verdict: &Verdict,
        out: &mut OutBuf,
    ) -> Result<Progress, ProtocolError> {
        if self.ready_sent {
            return Err(ProtocolError::Security("ZAP reply out of turn"));
        }
        match verdict {
            Verdict::Deny { status, .. } => Err(deny(*status, out)),
            Verdict::Allow { .. } => {
                self.send_ready(out);
                match self.peer.take() {
                    Some(data) => Ok(Progress::Done(command::parse_properties(&data)?)),
                    None => Ok(Progress::Continue),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::outbuf::tests::drain;
    use super::*;

    fn ready_body(props: &[u8]) -> Bytes {
        let mut b = vec![5u8];
        b.extend_from_slice(b"READY");
        b.extend_from_slice(props);
        Bytes::from(b)
    }

    #[test]
    fn sends_ready_at_start_and_finishes_on_the_peers() {
        let mut m = Null::new(Bytes::from_static(b"\x01AB\x00\x00\x00\x01x"), false);
        let mut out = OutBuf::new();
        assert!(matches!(m.start(&mut out), Ok(Progress::Continue)));
        let bytes = drain(&mut out);
        assert_eq!(&bytes[2..8], b"\x05READY");
        match m.on_command(ready_body(b"\x01C\x00\x00\x00\x00"), &mut out) {
            Ok(Progress::Done(props)) => assert_eq!(props[0].0, "C"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn with_zap_ready_waits_for_the_verdict() {
        let mut m = Null::new(Bytes::new(), true);
        let mut out = OutBuf::new();
        assert!(matches!(m.start(&mut out), Ok(Progress::Authenticate(_))));
        assert!(out.is_empty());
        let deny = Verdict::Deny {
            status: 400,
            text: "no".into(),
        };
        assert_eq!(
            m.on_verdict(&deny, &mut out).unwrap_err(),
            ProtocolError::AuthFailed { status: 400 }
        );
        let bytes = drain(&mut out);
        assert_eq!(&bytes[2..], b"\x05ERROR\x03400");
    }

    #[test]
    fn a_temporary_refusal_sends_no_error() {
        let mut m = Null::new(Bytes::new(), true);
        let mut out = OutBuf::new();
        m.start(&mut out).unwrap();
        let deny = Verdict::Deny {
            status: 300,
            text: "later".into(),
        };
        assert!(m.on_verdict(&deny, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn anything_but_ready_is_refused() {
        let mut m = Null::new(Bytes::new(), false);
        let mut out = OutBuf::new();
        m.start(&mut out).unwrap();
        let mut b = vec![5u8];
        b.extend_from_slice(b"HELLO");
        assert!(m.on_command(Bytes::from(b), &mut out).is_err());
        assert!(m.on_command(Bytes::new(), &mut out).is_err());
    }
}
