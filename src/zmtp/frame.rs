//! ZMTP 3.x frame headers: decoding a header from the front of the input and encoding
//! headers and whole frames into an [`OutBuf`].
//!
//! It must keep true: a header is decoded from the bytes present only (no panics, no
//! allocation), a LONG size is accepted for any length but never with its top bit set or
//! beyond `usize`, reserved flag bits are ignored, and encoding uses LONG iff the body is
//! longer than 255 bytes (as libzmq does).

use super::OutBuf;
use crate::Frame;
use crate::ProtocolError;

/// Flag bit 0: more frames of this message follow.
pub(crate) const FLAG_MORE: u8 = 0x01;
/// Flag bit 1: the size field is 8 bytes (big-endian) instead of 1.
pub(crate) const FLAG_LONG: u8 = 0x02;
/// Flag bit 2: the frame is a command, not message data.
pub(crate) const FLAG_COMMAND: u8 = 0x04;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// The flags byte as received (reserved bits included, callers ignore them).
    pub flags: u8,
    /// The announced body size.
    pub size: usize,
    /// How many bytes the header itself took (2 or 9).
    pub header_len: usize,
}

impl FrameHeader {
    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    /// Whether this is a command frame.
    pub fn command(&self) -> bool {
        self.flags & FLAG_COMMAND != 0
    }
}

/// Decodes the header at the front of `buf`. `Ok(None)` means more bytes are needed.
pub(crate) fn decode_header(buf: &[u8]) -> Result<Option<FrameHeader>, ProtocolError> {
    let Some(&flags) = buf.first() else {
        return Ok(None);
    };
    if flags & FLAG_LONG == 0 {
        return Ok(buf.get(1).map(|&size| FrameHeader {
            flags,
            size: usize::from(size),
            header_len: 2,
        }));
    }
    let Some(size_bytes) = buf.get(1..9) else {
        return Ok(None);
    };
    let mut be = [0u8; 8];
    be.copy_from_slice(size_bytes);
    let size = u64::from_be_bytes(be);
    if size >> 63 != 0 {
        return Err(ProtocolError::Malformed("frame size (top bit set)"));
    }
    let size =
        usize::try_from(size).map_err(|_| ProtocolError::Malformed("frame size (too large)"))?;
    Ok(Some(FrameHeader {
        flags,
        size,
        header_len: 9,
    }))
}

/// Writes a frame header for a body of `size` bytes; LONG is added iff `size > 255`.
pub(crate) fn encode_header(flags: u8, size: usize, out: &mut OutBuf) {
    let flags = flags & (FLAG_MORE | FLAG_COMMAND);
    match u8::try_from(size) {
        Ok(short) => out.put_slice(&[flags, short]),
        Err(_) => {
            let mut header = [0u8; 9];
            header[0] = flags | FLAG_LONG;
            header[1..].copy_from_slice(&(size as u64).to_be_bytes());
            out.put_slice(&header);
        }
    }
}

/// Writes one whole frame (header and body), without copying a large body.
pub(crate) fn encode_frame(flags: u8, body: &Frame, out: &mut OutBuf) {
    encode_header(flags, body.len(), out);
    match body.shared() {
        Some(shared) => out.put_ref(shared),
        None => out.put_slice(body),
    }
}

#[cfg(test)]
mod tests {
    use super::super::outbuf::tests::drain;
    use super::*;

    #[test]
    fn short_and_long_headers_round_trip() {
        for (size, header_len) in [(0usize, 2usize), (255, 2), (256, 9), (300, 9), (70_000, 9)] {
            let mut out = OutBuf::new();
            encode_header(FLAG_MORE, size, &mut out);
            let bytes = drain(&mut out);
            assert_eq!(bytes.len(), header_len, "size {size}");
            let h = decode_header(&bytes).unwrap().unwrap();
            assert_eq!(h.size, size);
            assert_eq!(h.header_len, header_len);
            assert!(h.more());
            assert!(!h.command());
            assert_eq!(h.flags & FLAG_LONG != 0, size > 255);
        }
    }

    #[test]
    fn long_encoding_of_300_bytes_is_exact() {
        let mut out = OutBuf::new();
        encode_frame(FLAG_COMMAND, &Frame::from(vec![9u8; 300]), &mut out);
        let bytes = drain(&mut out);
        assert_eq!(&bytes[..9], &[0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x2C]);
        assert_eq!(bytes.len(), 309);
    }

    #[test]
    fn partial_headers_need_more() {
        assert_eq!(decode_header(&[]), Ok(None));
        assert_eq!(decode_header(&[0x00]), Ok(None));
        assert_eq!(decode_header(&[0x02, 0, 0, 0, 0, 0, 0, 0]), Ok(None));
    }

    #[test]
    fn long_size_below_256_is_accepted_and_reserved_bits_ignored() {
        let h = decode_header(&[0xF2, 0, 0, 0, 0, 0, 0, 0, 5])
            .unwrap()
            .unwrap();
        assert_eq!((h.size, h.header_len), (5, 9));
        assert!(!h.more() && !h.command());
    }

    #[test]
    fn long_size_with_top_bit_is_rejected() {
        let r = decode_header(&[0x02, 0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(r, Err(ProtocolError::Malformed(_))));
        let ok = decode_header(&[0x02, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(ok.is_ok(), usize::BITS == 64);
    }
}
