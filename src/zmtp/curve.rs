//! The CURVE mechanism (RFC 25 and 26). STUB: being written; see the brief.

use super::mechanism::{Cipher, Handshake, Progress, Verdict};
use super::OutBuf;
use crate::curve_key::CurveKeyPair;
use crate::ProtocolError;
use bytes::{Bytes, BytesMut};

/// Which side of the CURVE handshake we are.
#[derive(Debug, Clone)]
pub(crate) enum CurveRole {
    /// A client of the server whose long-term public key this is.
    Client { server_key: [u8; 32] },
    /// A server.
    Server,
}

/// One connection's CURVE state.
#[derive(Debug)]
pub(crate) struct Curve {
    role: CurveRole,
}

impl Curve {
    /// A mechanism with our long-term `keys`, in `role`, sending `metadata` (encoded
    /// properties) in its INITIATE or READY.
    pub(crate) fn new(keys: CurveKeyPair, role: CurveRole, metadata: Bytes) -> Curve {
        let _ = (keys, metadata);
        Curve { role }
    }

    /// Whether we are the server.
    pub(crate) fn is_server(&self) -> bool {
        matches!(self.role, CurveRole::Server)
    }
}

impl Handshake for Curve {
    fn start(&mut self, _out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        Err(ProtocolError::Security("CURVE is not built yet"))
    }
    fn on_command(&mut self, _body: Bytes, _out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        Err(ProtocolError::Security("CURVE is not built yet"))
    }
    fn on_verdict(&mut self, _v: &Verdict, _out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        Err(ProtocolError::Security("CURVE is not built yet"))
    }
}

impl Cipher for Curve {
    fn encode(&mut self, _flags: u8, _payload: &[u8], _out: &mut OutBuf) {}
    fn decode(&mut self, _body: BytesMut) -> Result<(u8, Bytes), ProtocolError> {
        Err(ProtocolError::Security("CURVE is not built yet"))
    }
}
