//! The 64-byte ZMTP greeting: encoding ours and checking the peer's, byte by byte as it
//! arrives.
//!
//! It must keep true: the padding (bytes 1..9) is never interpreted (libzmq puts a length
//! there); a non-ZMTP-3 peer is rejected as soon as the deciding byte has arrived, without
//! waiting for 64 bytes a legacy peer would never send; any major >= 3 and any minor are
//! accepted; the peer's mechanism must be exactly ours; the peer's as-server byte is
//! never read (libzmq 4.3 always sends 0), each side takes its role from its own options.

use super::OutBuf;
use crate::ProtocolError;

/// Length of a ZMTP 3.x greeting.
pub(crate) const GREETING_LEN: usize = 64;
/// The ZMTP major version we speak.
const OUR_MAJOR: u8 = 3;
/// The ZMTP minor version we speak (3.1).
const OUR_MINOR: u8 = 1;
const MECHANISM_RANGE: std::ops::Range<usize> = 12..32;

/// What we learnt from a complete, valid peer greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerGreeting {
    /// The peer's major version (3 or more).
    pub major: u8,
    /// The peer's minor version.
    pub minor: u8,
}

/// Writes our whole greeting: signature, version 3.1, `mechanism`, the as-server byte,
/// filler.
pub(crate) fn encode_greeting(mechanism: &str, as_server: bool, out: &mut OutBuf) {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = OUR_MAJOR;
    g[11] = OUR_MINOR;
    let name = &mechanism.as_bytes()[..mechanism.len().min(MECHANISM_RANGE.len())];
    g[MECHANISM_RANGE.start..MECHANISM_RANGE.start + name.len()].copy_from_slice(name);
    g[MECHANISM_RANGE.end] = u8::from(as_server);
    out.put_slice(&g);
}

/// Checks the part of the peer's greeting present in `buf` (which may hold more data after
/// it). Fails as soon as a present byte proves the greeting unusable; `Ok(None)` means it is
/// fine so far but incomplete; `Ok(Some(_))` means the first 64 bytes are a valid greeting.
/// The peer must use `mechanism`, as we do.
pub(crate) fn check(
    buf: &[u8],
    mechanism: &'static str,
) -> Result<Option<PeerGreeting>, ProtocolError> {
    if let Some(&first) = buf.first() {
        if first != 0xFF {
            // An unversioned ZMTP 1.0 peer with a short identity, or not ZMTP at all.
            return Err(ProtocolError::BadSignature);
        }
    }
    if let Some(&b9) = buf.get(9) {
        if b9 & 0x01 == 0 {
            // 0xFF + 8-byte length + flags: an unversioned ZMTP 1.0 peer with a long identity.
            return Err(ProtocolError::UnsupportedVersion(0));
        }
    }
    let major = match buf.get(10) {
        Some(&major) if major < OUR_MAJOR => return Err(ProtocolError::UnsupportedVersion(major)),
        Some(&major) => major,
        None => return Ok(None),
    };
    if let Some(mechanism_field) = buf.get(MECHANISM_RANGE) {
        let theirs = mechanism_field;
        let (name, padding) = theirs.split_at(mechanism.len().min(theirs.len()));
        if name != mechanism.as_bytes() || padding.iter().any(|&b| b != 0) {
            let end = theirs.iter().position(|&b| b == 0).unwrap_or(theirs.len());
            let theirs = String::from_utf8_lossy(theirs.get(..end).unwrap_or(theirs));
            return Err(ProtocolError::MechanismMismatch {
                ours: mechanism,
                theirs: theirs.into_owned(),
            });
        }
    }
    if buf.len() < GREETING_LEN {
        return Ok(None);
    }
    // as-server (byte 32) is not read: libzmq 4.3 sends 0 whatever its role, so a role
    // clash shows up as a command out of turn instead. The filler (33..64) is ignored.
    let minor = buf.get(11).copied().unwrap_or(0);
    Ok(Some(PeerGreeting { major, minor }))
}

#[cfg(test)]
mod tests {
    use super::super::outbuf::tests::drain;
    use super::*;

    fn ours() -> Vec<u8> {
        let mut out = OutBuf::new();
        encode_greeting("NULL", false, &mut out);
        drain(&mut out)
    }

    #[test]
    fn our_greeting_layout() {
        let g = ours();
        assert_eq!(g.len(), 64);
        assert_eq!(g[0], 0xFF);
        assert_eq!(&g[1..9], &[0; 8]);
        assert_eq!(&g[9..12], &[0x7F, 3, 1]);
        assert_eq!(&g[12..16], b"NULL");
        assert!(g[16..].iter().all(|&b| b == 0));
        assert_eq!(
            check(&g, "NULL"),
            Ok(Some(PeerGreeting { major: 3, minor: 1 }))
        );
    }

    #[test]
    fn every_prefix_is_incomplete_not_an_error() {
        let g = ours();
        for n in 0..GREETING_LEN {
            assert_eq!(check(&g[..n], "NULL"), Ok(None), "prefix {n}");
        }
    }

    #[test]
    fn higher_versions_are_accepted() {
        let mut g = ours();
        g[10] = 4;
        g[11] = 7;
        assert_eq!(
            check(&g, "NULL"),
            Ok(Some(PeerGreeting { major: 4, minor: 7 }))
        );
    }

    #[test]
    fn legacy_peers_fail_early() {
        // ZMTP 1.0, short identity: length byte then flags.
        assert_eq!(check(&[0x01], "NULL"), Err(ProtocolError::BadSignature));
        // ZMTP 1.0, long identity: 0xFF, 8-byte length, flags 0.
        let mut long_id = vec![0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 0x00];
        assert_eq!(
            check(&long_id, "NULL"),
            Err(ProtocolError::UnsupportedVersion(0))
        );
        long_id[9] = 0x7F;
        for revision in [0u8, 1, 2] {
            let mut v = long_id.clone();
            v.push(revision);
            assert_eq!(
                check(&v, "NULL"),
                Err(ProtocolError::UnsupportedVersion(revision))
            );
        }
    }

    #[test]
    fn the_as_server_byte_follows_the_role() {
        let mut out = OutBuf::new();
        encode_greeting("CURVE", true, &mut out);
        let g = drain(&mut out);
        assert_eq!(&g[12..18], b"CURVE\0");
        assert_eq!(g[32], 1);
        // The peer's byte is not read: a CURVE server greeting is fine for a CURVE server.
        assert!(check(&g, "CURVE").unwrap().is_some());
        assert!(check(&g, "NULL").is_err());
    }

    #[test]
    fn mechanism_must_be_exactly_null() {
        let mut g = ours();
        g[12..17].copy_from_slice(b"PLAIN");
        assert_eq!(
            check(&g[..32], "NULL"),
            Err(ProtocolError::MechanismMismatch {
                ours: "NULL",
                theirs: "PLAIN".into()
            })
        );
        let mut g = ours();
        g[16] = b'X'; // "NULLX"
        assert!(matches!(
            check(&g, "NULL"),
            Err(ProtocolError::MechanismMismatch { .. })
        ));
        let mut g = ours();
        g[12..16].copy_from_slice(b"null");
        assert!(check(&g, "NULL").is_err());
    }
}
