//! CURVE keys. STUB: being written; see the brief.

/// A CURVE long-term key pair.
pub struct CurveKeyPair {
    public: [u8; 32],
    secret: [u8; 32],
}

impl std::fmt::Debug for CurveKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurveKeyPair { .. }")
    }
}

impl CurveKeyPair {
    /// The pair whose secret key is `secret`.
    pub fn from_secret(secret: &[u8; 32]) -> CurveKeyPair {
        CurveKeyPair {
            public: [0; 32],
            secret: *secret,
        }
    }
    /// The public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }
    /// The secret key.
    pub(crate) fn secret_bytes(&self) -> &[u8; 32] {
        &self.secret
    }
}
