//! Z85 (ZeroMQ RFC 32): the printable encoding ZeroMQ uses for CURVE keys.
//!
//! Every 4 bytes become 5 characters from an 85-character alphabet, big-endian. It must
//! keep true: [`encode`] accepts only lengths that are a multiple of 4 and [`decode`] only
//! lengths that are a multiple of 5, made only of alphabet characters, with no group above
//! `u32::MAX` (such text has no 4-byte preimage); `decode(encode(x)) == x` for every
//! accepted `x`; neither ever panics, whatever the input.
//!
//! ```
//! let text = ferrozmq::z85::encode(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])?;
//! assert_eq!(text, "HelloWorld");
//! assert_eq!(ferrozmq::z85::decode(&text)?, [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
//! # Ok::<(), ferrozmq::z85::Z85Error>(())
//! ```

/// The Z85 alphabet: the character for each value 0..85.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Why a Z85 encoding or decoding was refused.
///
/// ```
/// use ferrozmq::z85::{decode, encode, Z85Error};
///
/// assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::BadLength { len: 3, multiple: 4 }));
/// assert_eq!(decode("Hello Worl"), Err(Z85Error::InvalidChar { position: 5 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// The input length is not a multiple of `multiple` (4 bytes to encode, 5 characters
    /// to decode).
    #[error("Z85 input of {len} is not a multiple of {multiple}")]
    BadLength {
        /// The length given.
        len: usize,
        /// What it must be a multiple of.
        multiple: usize,
    },
    /// The character at byte `position` is not in the Z85 alphabet.
    #[error("character at position {position} is not in the Z85 alphabet")]
    InvalidChar {
        /// Byte offset of the offending character.
        position: usize,
    },
    /// The 5-character group starting at `position` stands for a value above `u32::MAX`.
    #[error("Z85 group at position {position} is too large for 4 bytes")]
    Overflow {
        /// Byte offset of the group.
        position: usize,
    },
}

/// Encodes `data`, whose length must be a multiple of 4, as Z85 text.
///
/// ```
/// let key = [0u8; 32];
/// let text = ferrozmq::z85::encode(&key)?;
/// assert_eq!(text.len(), 40);
/// assert_eq!(text, "0".repeat(40));
/// assert!(ferrozmq::z85::encode(b"abc").is_err());
/// # Ok::<(), ferrozmq::z85::Z85Error>(())
/// ```
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::BadLength {
            len: data.len(),
            multiple: 4,
        });
    }
    let mut text = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut chars = [0u8; 5];
        for slot in chars.iter_mut().rev() {
            *slot = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(chars.iter().map(|&c| char::from(c)));
    }
    Ok(text)
}

/// Decodes Z85 `text`, whose length must be a multiple of 5, into bytes.
///
/// ```
/// let bytes = ferrozmq::z85::decode("HelloWorld")?;
/// assert_eq!(bytes, [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
/// assert!(ferrozmq::z85::decode("Hello").is_ok());
/// assert!(ferrozmq::z85::decode("Hell").is_err()); // not a multiple of 5
/// assert!(ferrozmq::z85::decode("%%%%%").is_err()); // above u32::MAX
/// # Ok::<(), ferrozmq::z85::Z85Error>(())
/// ```
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let bytes = text.as_bytes();
    if bytes.len() % 5 != 0 {
        return Err(Z85Error::BadLength {
            len: bytes.len(),
            multiple: 5,
        });
    }
    let mut data = Vec::with_capacity(bytes.len() / 5 * 4);
    for (index, group) in bytes.chunks_exact(5).enumerate() {
        let start = index * 5;
        let mut value: u64 = 0;
        for (offset, &c) in group.iter().enumerate() {
            let digit = digit_of(c).ok_or(Z85Error::InvalidChar {
                position: start + offset,
            })?;
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow { position: start })?;
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

/// The value of one Z85 character, or `None` if it is not in the alphabet.
fn digit_of(c: u8) -> Option<u8> {
    ALPHABET.iter().position(|&a| a == c).map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_32_test_vector() {
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&bytes).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), bytes);
    }

    #[test]
    fn libzmq_test_keys_round_trip() {
        for key in [
            "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
            "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
        ] {
            let bytes = decode(key).unwrap();
            assert_eq!(bytes.len(), 32);
            assert_eq!(encode(&bytes).unwrap(), key);
        }
    }

    #[test]
    fn every_group_value_edge_round_trips() {
        for value in [0u32, 1, 84, 85, 85 * 85, u32::MAX - 1, u32::MAX] {
            let bytes = value.to_be_bytes();
            let text = encode(&bytes).unwrap();
            assert_eq!(decode(&text).unwrap(), bytes, "{value}");
        }
        assert_eq!(encode(&u32::MAX.to_be_bytes()).unwrap(), "%nSc0");
        assert_eq!(encode(&[]).unwrap(), "");
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bad_input_is_refused_without_panic() {
        assert_eq!(
            decode("%nSc1"),
            Err(Z85Error::Overflow { position: 0 }),
            "u32::MAX + 1"
        );
        assert_eq!(
            decode("00000#####"),
            Err(Z85Error::Overflow { position: 5 })
        );
        assert_eq!(decode("0000~"), Err(Z85Error::InvalidChar { position: 4 }));
        // A multi-byte UTF-8 character is never in the alphabet.
        assert_eq!(decode("000é"), Err(Z85Error::InvalidChar { position: 3 }));
        assert_eq!(
            decode("0000"),
            Err(Z85Error::BadLength {
                len: 4,
                multiple: 5
            })
        );
        assert!(encode(&[0; 5]).is_err());
    }
}
