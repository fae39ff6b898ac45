//! CURVE long-term keys: a key pair type, key generation, and reading keys in the forms
//! libzmq accepts (32 raw bytes or 40 Z85 characters).
//!
//! It must keep true: a secret key lives only in memory that is wiped when its owner is
//! dropped ([`zeroize::Zeroizing`]); `Debug` never shows it; the public key is always the
//! X25519 base-point multiple of the secret key, so a pair can never be inconsistent; the
//! secret leaves the pair only through calls that say so ([`CurveKeyPair::secret_z85`]
//! and the crate-internal `secret_bytes`).

use crate::{z85, Error, Result};
use crypto_box::SecretKey;
use zeroize::Zeroizing;

/// The length of a CURVE key in bytes.
const KEY_LEN: usize = 32;
/// The length of a CURVE key in Z85 characters.
const KEY_Z85_LEN: usize = 40;

/// A CURVE long-term key pair: a Curve25519 public key and its secret key.
///
/// The secret key is wiped from memory when the pair is dropped, and `Debug` shows only
/// the public key.
///
/// ```
/// let pair = ferrozmq::CurveKeyPair::generate();
/// assert_eq!(pair.public_z85().len(), 40);
/// assert!(!format!("{pair:?}").contains(&pair.secret_z85()));
/// ```
#[derive(Clone)]
pub struct CurveKeyPair {
    public: [u8; KEY_LEN],
    secret: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for CurveKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveKeyPair")
            .field("public", &self.public_z85())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl CurveKeyPair {
    /// A new random key pair, from the operating system's random source (what libzmq's
    /// `zmq_curve_keypair` does).
    ///
    /// # Panics
    ///
    /// If the operating system cannot provide random bytes (a broken system: there is no
    /// safe key to return then).
    ///
    /// ```
    /// let a = ferrozmq::CurveKeyPair::generate();
    /// let b = ferrozmq::CurveKeyPair::generate();
    /// assert_ne!(a.public_key(), b.public_key());
    /// ```
    pub fn generate() -> CurveKeyPair {
        let mut secret = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::getrandom(&mut secret[..]).expect("the OS random source failed");
        CurveKeyPair::from_secret(&secret)
    }

    /// The pair whose secret key is `secret`; the public key is derived from it.
    ///
    /// ```
    /// let pair = ferrozmq::CurveKeyPair::generate();
    /// let secret = ferrozmq::z85::decode(&pair.secret_z85())?;
    /// let again = ferrozmq::CurveKeyPair::from_secret(&secret.try_into().unwrap());
    /// assert_eq!(again.public_key(), pair.public_key());
    /// # Ok::<(), ferrozmq::z85::Z85Error>(())
    /// ```
    pub fn from_secret(secret: &[u8; KEY_LEN]) -> CurveKeyPair {
        let public = SecretKey::from_bytes(*secret).public_key().to_bytes();
        CurveKeyPair {
            public,
            secret: Zeroizing::new(*secret),
        }
    }

    /// The pair whose secret key is the 40-character Z85 text `secret` (the form
    /// `zmq_curve_keypair` prints).
    ///
    /// ```
    /// let pair = ferrozmq::CurveKeyPair::from_secret_z85("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")?;
    /// assert_eq!(pair.public_z85(), "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    /// assert!(ferrozmq::CurveKeyPair::from_secret_z85("too short").is_err());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn from_secret_z85(secret: &str) -> Result<CurveKeyPair> {
        let secret = decode_z85_key("curve_secretkey", secret)?;
        Ok(CurveKeyPair::from_secret(&secret))
    }

    /// The public key (32 bytes).
    ///
    /// ```
    /// let pair = ferrozmq::CurveKeyPair::generate();
    /// assert_eq!(pair.public_key().len(), 32);
    /// ```
    pub fn public_key(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The public key as 40 Z85 characters: what a client configures as the server key.
    ///
    /// ```
    /// let pair = ferrozmq::CurveKeyPair::generate();
    /// assert_eq!(ferrozmq::z85::decode(&pair.public_z85())?, pair.public_key());
    /// # Ok::<(), ferrozmq::z85::Z85Error>(())
    /// ```
    pub fn public_z85(&self) -> String {
        z85_of(&self.public)
    }

    /// The **secret** key as 40 Z85 characters, for storing it (for example in a
    /// certificate file). Whoever reads this string can impersonate the key's owner: keep
    /// it out of logs.
    ///
    /// ```
    /// let pair = ferrozmq::CurveKeyPair::generate();
    /// let copy = ferrozmq::CurveKeyPair::from_secret_z85(&pair.secret_z85())?;
    /// assert_eq!(copy.public_key(), pair.public_key());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn secret_z85(&self) -> String {
        z85_of(&self.secret)
    }

    /// The secret key, for the CURVE mechanism.
    pub(crate) fn secret_bytes(&self) -> &[u8; KEY_LEN] {
        &self.secret
    }
}

/// A new random CURVE key pair; the same as [`CurveKeyPair::generate`], named after
/// libzmq's `zmq_curve_keypair`.
///
/// ```
/// let pair = ferrozmq::CurveKeyPair::generate();
/// assert_eq!(pair.public_z85().len(), 40);
/// ```
pub fn curve_keypair() -> CurveKeyPair {
    CurveKeyPair::generate()
}

/// The Z85 public key of the Z85 secret key `secret_z85`, like libzmq's
/// `zmq_curve_public`.
///
/// ```
/// # use ferrozmq::CurveKeyPair;
/// let pair = CurveKeyPair::from_secret_z85("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs")?;
/// assert_eq!(pair.public_z85(), "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub fn curve_public(secret_z85: &str) -> Result<String> {
    Ok(CurveKeyPair::from_secret_z85(secret_z85)?.public_z85())
}

/// Reads a key option's value as libzmq does: 32 raw bytes, 40 Z85 characters, or 41
/// bytes that are 40 Z85 characters and a trailing NUL (a C string with its terminator).
/// Anything else is [`Error::InvalidOption`] for `option`.
#[allow(dead_code)] // Used by the socket options, which are being wired up.
pub(crate) fn parse_key(option: &'static str, key: &[u8]) -> Result<[u8; KEY_LEN]> {
    let text = match key.len() {
        KEY_LEN => {
            let mut raw = [0u8; KEY_LEN];
            raw.copy_from_slice(key);
            return Ok(raw);
        }
        KEY_Z85_LEN => key,
        41 if key[KEY_Z85_LEN] == 0 => &key[..KEY_Z85_LEN],
        _ => {
            return Err(Error::InvalidOption {
                option,
                reason: "a CURVE key is 32 bytes or 40 Z85 characters",
            })
        }
    };
    let text = std::str::from_utf8(text).map_err(|_| Error::InvalidOption {
        option,
        reason: "a 40-character CURVE key must be Z85 text",
    })?;
    decode_z85_key(option, text)
}

/// Decodes a 40-character Z85 key, refusing anything else as an invalid `option` value.
fn decode_z85_key(option: &'static str, text: &str) -> Result<[u8; KEY_LEN]> {
    if text.len() != KEY_Z85_LEN {
        return Err(Error::InvalidOption {
            option,
            reason: "a Z85 CURVE key is exactly 40 characters",
        });
    }
    let bytes = Zeroizing::new(z85::decode(text).map_err(|_| Error::InvalidOption {
        option,
        reason: "a 40-character CURVE key must be valid Z85",
    })?);
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// The Z85 text of a 32-byte key (which always encodes: 32 is a multiple of 4).
fn z85_of(key: &[u8; KEY_LEN]) -> String {
    z85::encode(key).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

    #[test]
    fn libzmq_test_keys_derive_their_public_keys() {
        for (secret, public) in [
            (SERVER_SECRET, SERVER_PUBLIC),
            (CLIENT_SECRET, CLIENT_PUBLIC),
        ] {
            let pair = CurveKeyPair::from_secret_z85(secret).unwrap();
            assert_eq!(pair.public_z85(), public);
            assert_eq!(pair.secret_z85(), secret);
            assert_eq!(curve_public(secret).unwrap(), public);
        }
    }

    #[test]
    fn generated_pairs_are_consistent_and_distinct() {
        let pair = curve_keypair();
        let again = CurveKeyPair::from_secret(pair.secret_bytes());
        assert_eq!(again.public_key(), pair.public_key());
        assert_ne!(curve_keypair().public_key(), pair.public_key());
        let copy = pair.clone();
        assert_eq!(copy.secret_bytes(), pair.secret_bytes());
    }

    #[test]
    fn debug_shows_the_public_key_only() {
        let pair = CurveKeyPair::from_secret_z85(SERVER_SECRET).unwrap();
        let shown = format!("{pair:?}");
        assert!(shown.contains(SERVER_PUBLIC), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains(SERVER_SECRET), "{shown}");
    }

    #[test]
    fn parse_key_accepts_the_three_libzmq_forms() {
        let raw = z85::decode(SERVER_PUBLIC).unwrap();
        let expected: [u8; 32] = raw.clone().try_into().unwrap();
        assert_eq!(parse_key("curve_serverkey", &raw).unwrap(), expected);
        assert_eq!(
            parse_key("curve_serverkey", SERVER_PUBLIC.as_bytes()).unwrap(),
            expected
        );
        let mut c_string = SERVER_PUBLIC.as_bytes().to_vec();
        c_string.push(0);
        assert_eq!(parse_key("curve_serverkey", &c_string).unwrap(), expected);
    }

    #[test]
    fn parse_key_refuses_everything_else() {
        let mut not_nul = SERVER_PUBLIC.as_bytes().to_vec();
        not_nul.push(b'x');
        let mut bad_char = SERVER_PUBLIC.as_bytes().to_vec();
        bad_char[3] = b'~';
        let mut not_utf8 = SERVER_PUBLIC.as_bytes().to_vec();
        not_utf8[0] = 0xFF;
        let overflow = "%%%%%".repeat(8);
        for bad in [
            &b""[..],
            &[0u8; 31],
            &[0u8; 33],
            &not_nul,
            &bad_char,
            &not_utf8,
            overflow.as_bytes(),
        ] {
            match parse_key("curve_publickey", bad) {
                Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "curve_publickey"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        match CurveKeyPair::from_secret_z85("0".repeat(41).as_str()) {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "curve_secretkey"),
            other => panic!("{other:?}"),
        }
    }
}
