//! `OutBuf`: the queue of bytes waiting to be written to a peer.
//!
//! Small pieces (frame headers, commands, short frame bodies) are copied together into one
//! contiguous chunk so that a write needs few system calls; a `Bytes` of at least
//! [`OutBuf::ZERO_COPY_MIN`] bytes is queued as its own chunk without copying. It must keep
//! true: the bytes come out of [`OutBuf::io_slices`] in exactly the order they were put in,
//! and [`OutBuf::len`] is always the number of bytes not yet advanced past.

use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::IoSlice;

/// Bytes waiting to be written to one peer, ready for a vectored write.
#[derive(Debug, Default)]
pub(crate) struct OutBuf {
    /// Chunks that come before `tail`, oldest first. Never holds an empty chunk.
    chunks: VecDeque<Bytes>,
    /// The chunk small writes are copied into; it comes after every chunk in `chunks`.
    tail: BytesMut,
    /// Total pending bytes over `chunks` and `tail`.
    len: usize,
}

impl OutBuf {
    /// A `Bytes` at least this long is queued as its own chunk instead of being copied.
    pub const ZERO_COPY_MIN: usize = 8 * 1024;

    /// An empty buffer.
    pub fn new() -> OutBuf {
        OutBuf::default()
    }

    /// The number of bytes pending.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a copy of `data`.
    pub fn put_slice(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    /// Appends `len` bytes written in place by `f`, which gets them zeroed: lets a caller
    /// build (for example, encrypt) a frame body directly in the buffer, without a copy.
    pub(crate) fn put_with(&mut self, len: usize, f: impl FnOnce(&mut [u8])) {
        let start = self.tail.len();
        self.tail.resize(start + len, 0);
        f(&mut self.tail[start..]);
        self.len += len;
    }

    /// Appends `data`: a body shorter than [`OutBuf::ZERO_COPY_MIN`] is copied, and only a
    /// large one is cloned (one reference count) and queued as its own chunk. A small frame
    /// thus costs no reference-count traffic here, where a clone and its drop would touch a
    /// count that the application thread (or, for a PUB, every subscriber's copy) shares.
    pub fn put_ref(&mut self, data: &Bytes) {
        if data.len() < Self::ZERO_COPY_MIN {
            self.put_slice(data);
            return;
        }
        self.push_chunk(data.clone());
    }

    fn push_chunk(&mut self, data: Bytes) {
        self.seal_tail();
        self.len += data.len();
        self.chunks.push_back(data);
    }

    /// Moves everything pending in `other` to the end of this buffer, without copying
    /// large chunks; `other` is left empty.
    pub fn append(&mut self, other: &mut OutBuf) {
        let other = std::mem::take(other);
        if other.is_empty() {
            return;
        }
        self.seal_tail();
        self.len += other.len;
        self.chunks.extend(other.chunks);
        if !other.tail.is_empty() {
            self.chunks.push_back(other.tail.freeze());
        }
    }

    /// Closes the small-write chunk, so that whatever is queued next comes after it.
    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            let small = self.tail.split().freeze();
            self.chunks.push_back(small);
        }
    }

    /// Fills `dst` with slices of the pending data in order, returns how many were filled.
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let pending = self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.tail[..]))
            .filter(|c| !c.is_empty());
        let mut filled = 0;
        for (slot, chunk) in dst.iter_mut().zip(pending) {
            *slot = IoSlice::new(chunk);
            filled += 1;
        }
        filled
    }

    /// Drops the first `n` pending bytes (after a write of `n` bytes). Advancing past the end
    /// simply empties the buffer.
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if n < front.len() {
                front.advance(n);
                self.len -= n;
                return;
            }
            n -= front.len();
            self.len -= front.len();
            self.chunks.pop_front();
        }
        let n = n.min(self.tail.len());
        self.tail.advance(n);
        self.len -= n;
        if self.tail.is_empty() {
            // Lets the next small write reuse the allocation from its start.
            self.tail.clear();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Takes everything pending out of `out` as one vector, the way a writer would.
    pub(crate) fn drain(out: &mut OutBuf) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let mut slices = [IoSlice::new(&[]); 8];
            let n = out.io_slices(&mut slices);
            if n == 0 {
                break;
            }
            let before = all.len();
            for s in &slices[..n] {
                all.extend_from_slice(s);
            }
            let written = all.len() - before;
            out.advance(written);
        }
        assert!(out.is_empty());
        all
    }

    #[test]
    fn small_writes_are_joined_into_one_chunk() {
        let mut out = OutBuf::new();
        out.put_slice(b"ab");
        out.put_ref(&Bytes::from_static(b"cd"));
        out.put_slice(b"e");
        assert_eq!(out.len(), 5);
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(out.io_slices(&mut slices), 1);
        assert_eq!(&slices[0][..], b"abcde");
    }

    #[test]
    fn large_bytes_are_not_copied_and_order_is_kept() {
        let big = Bytes::from(vec![7u8; OutBuf::ZERO_COPY_MIN]);
        let mut out = OutBuf::new();
        out.put_slice(b"head");
        out.put_ref(&big);
        out.put_slice(b"tail");
        assert_eq!(out.len(), big.len() + 8);
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(out.io_slices(&mut slices), 3);
        assert_eq!(&slices[0][..], b"head");
        assert_eq!(slices[1].as_ptr(), big.as_ptr(), "large body was copied");
        assert_eq!(&slices[2][..], b"tail");
        // A too-small destination gets the first slices only.
        let mut one = [IoSlice::new(&[])];
        assert_eq!(out.io_slices(&mut one), 1);
        assert_eq!(&one[0][..], b"head");
    }

    #[test]
    fn append_keeps_order_and_does_not_copy_large_chunks() {
        let big = Bytes::from(vec![9u8; OutBuf::ZERO_COPY_MIN]);
        let mut rest = OutBuf::new();
        rest.put_ref(&big);
        rest.put_slice(b"end");
        rest.advance(2);
        let mut out = OutBuf::new();
        out.put_slice(b"first");
        out.append(&mut rest);
        assert!(rest.is_empty());
        assert_eq!(out.len(), 5 + big.len() - 2 + 3);
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(out.io_slices(&mut slices), 3);
        assert_eq!(
            slices[1].as_ptr(),
            big[2..].as_ptr(),
            "large chunk was copied"
        );
        let all = drain(&mut out);
        assert_eq!(&all[..5], b"first");
        assert_eq!(&all[all.len() - 3..], b"end");
        out.append(&mut OutBuf::new());
        assert!(out.is_empty());
    }

    #[test]
    fn advance_crosses_chunk_boundaries() {
        let big = Bytes::from(vec![1u8; OutBuf::ZERO_COPY_MIN + 3]);
        let mut out = OutBuf::new();
        out.put_slice(b"xyz");
        out.put_ref(&big);
        out.put_slice(b"end");
        out.advance(2);
        assert_eq!(out.len(), 1 + big.len() + 3);
        out.advance(1 + big.len() - 1);
        assert_eq!(out.len(), 4);
        let mut expected = vec![1u8];
        expected.extend_from_slice(b"end");
        assert_eq!(drain(&mut out), expected);
        out.put_slice(b"again");
        out.advance(100);
        assert!(out.is_empty());
        assert_eq!(out.io_slices(&mut [IoSlice::new(&[])]), 0);
    }
}
