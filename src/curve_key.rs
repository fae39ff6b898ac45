//! CURVE keys. STUB: being written; see the brief.

/// A CURVE long-term key pair.
#[derive(Clone)]
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

impl CurveKeyPair {
    /// A fresh pair.
    pub fn generate() -> CurveKeyPair {
        CurveKeyPair::from_secret(&[7; 32])
    }
    /// The public key in Z85.
    pub fn public_z85(&self) -> String {
        String::new()
    }
    /// The secret key in Z85.
    pub fn secret_z85(&self) -> String {
        String::new()
    }
}

/// A fresh pair.
pub fn curve_keypair() -> CurveKeyPair {
    CurveKeyPair::generate()
}

/// Parses a key option.
pub(crate) fn parse_key(option: &'static str, key: &[u8]) -> crate::Result<[u8; 32]> {
    key.try_into().map_err(|_| crate::Error::InvalidOption {
        option,
        reason: "stub",
    })
}
