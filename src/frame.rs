//! `Frame`: one part of a message. A frame of at most [`Frame::INLINE_CAPACITY`] bytes is
//! held inline, in the frame itself; a longer one is a [`Bytes`], shared by reference count.
//!
//! Why: a small frame in a `Bytes` costs an allocation when it is built and a reference
//! count that two threads touch (the one that queues a message and the one that frees it),
//! and a PUB's copies of one message for each subscriber all share that count. Inline
//! frames move and clone as plain bytes, with no allocation and no atomic operation.
//!
//! What must hold: a frame's value is its bytes, whatever its representation: equality,
//! ordering and hashing look at the bytes only, so an inline frame and a `Bytes` frame with
//! the same content are equal and hash alike (they may key the same map). A frame is
//! inline exactly when it is short enough, never because of how it was built.

use bytes::Bytes;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// One frame of a [`Message`](crate::Message): a byte string, cheap to clone.
///
/// Frames of up to [`Frame::INLINE_CAPACITY`] bytes live inside the `Frame` value (no heap
/// allocation, no reference count); longer ones are a [`Bytes`], so cloning them costs one
/// reference count and never a copy. A `Frame` dereferences to `[u8]` and compares equal to
/// byte strings, `str`s and `Bytes` with the same content.
///
/// # Examples
///
/// ```
/// use ferrozmq::Frame;
///
/// let small = Frame::from("hello");
/// assert_eq!(small, "hello");
/// assert_eq!(&small[..], b"hello");
/// assert!(small.is_inline());
///
/// let large = Frame::from(vec![7u8; 1000]);
/// assert_eq!(large.len(), 1000);
/// assert!(!large.is_inline());
/// let shared: bytes::Bytes = large.clone().into_bytes(); // no copy for a large frame
/// assert_eq!(shared.len(), 1000);
/// ```
#[derive(Clone)]
pub struct Frame(Repr);

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        data: [u8; Frame::INLINE_CAPACITY],
    },
    Shared(Bytes),
}

impl Frame {
    /// The longest frame held inline. Chosen so that a 64-byte payload (the usual small
    /// message in benchmarks and in libzmq's perf tools) and a routing id of up to 70
    /// bytes never touch the heap, while a `Frame` stays 72 bytes.
    pub const INLINE_CAPACITY: usize = 38;

    /// An empty frame.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ferrozmq::Frame::new().is_empty());
    /// ```
    pub const fn new() -> Frame {
        Frame(Repr::Inline {
            len: 0,
            data: [0; Frame::INLINE_CAPACITY],
        })
    }

    /// A frame holding a copy of `data`: inline if it is short enough, else a new `Bytes`.
    ///
    /// # Examples
    ///
    /// ```
    /// let frame = ferrozmq::Frame::copy_from_slice(b"abc");
    /// assert_eq!(frame, b"abc");
    /// ```
    pub fn copy_from_slice(data: &[u8]) -> Frame {
        if data.len() <= Frame::INLINE_CAPACITY {
            let mut buf = [0; Frame::INLINE_CAPACITY];
            buf[..data.len()].copy_from_slice(data);
            Frame(Repr::Inline {
                len: data.len() as u8,
                data: buf,
            })
        } else {
            Frame(Repr::Shared(Bytes::copy_from_slice(data)))
        }
    }

    /// A frame over a static byte string: no copy for a long one, a short one is inline.
    ///
    /// # Examples
    ///
    /// ```
    /// static PAYLOAD: [u8; 4096] = [0; 4096];
    /// let frame = ferrozmq::Frame::from_static(&PAYLOAD);
    /// assert_eq!(frame.len(), 4096);
    /// ```
    pub fn from_static(data: &'static [u8]) -> Frame {
        if data.len() <= Frame::INLINE_CAPACITY {
            Frame::copy_from_slice(data)
        } else {
            Frame(Repr::Shared(Bytes::from_static(data)))
        }
    }

    /// The frame's bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::Frame::from("ab").as_slice(), b"ab");
    /// ```
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, data } => &data[..*len as usize],
            Repr::Shared(b) => b,
        }
    }

    /// Whether the bytes are held inline (the frame is at most
    /// [`Frame::INLINE_CAPACITY`] bytes long).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Frame;
    ///
    /// assert!(Frame::from("id").is_inline());
    /// assert!(!Frame::from(vec![0u8; 100]).is_inline());
    /// ```
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// The frame as a `Bytes`: the same buffer for a long frame (one reference count), a
    /// new allocation holding a copy for an inline one.
    ///
    /// # Examples
    ///
    /// ```
    /// let bytes = ferrozmq::Frame::from("id").to_bytes();
    /// assert_eq!(bytes, "id");
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_slice()),
            Repr::Shared(b) => b.clone(),
        }
    }

    /// Turns the frame into a `Bytes`, without a copy for a long frame.
    ///
    /// # Examples
    ///
    /// ```
    /// let bytes = ferrozmq::Frame::from(vec![1u8; 500]).into_bytes();
    /// assert_eq!(bytes.len(), 500);
    /// ```
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_slice()),
            Repr::Shared(b) => b,
        }
    }

    /// The shared buffer of a long frame, for zero-copy writes (`None` when inline).
    pub(crate) fn shared(&self) -> Option<&Bytes> {
        match &self.0 {
            Repr::Inline { .. } => None,
            Repr::Shared(b) => Some(b),
        }
    }
}

impl Default for Frame {
    fn default() -> Frame {
        Frame::new()
    }
}

impl Deref for Frame {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Frame {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Bytes> for Frame {
    /// Keeps a long `Bytes` as it is (no copy); a short one is copied inline, so that the
    /// frame holds no reference count.
    fn from(b: Bytes) -> Frame {
        if b.len() <= Frame::INLINE_CAPACITY {
            Frame::copy_from_slice(&b)
        } else {
            Frame(Repr::Shared(b))
        }
    }
}

impl From<Frame> for Bytes {
    fn from(f: Frame) -> Bytes {
        f.into_bytes()
    }
}

impl From<Vec<u8>> for Frame {
    fn from(v: Vec<u8>) -> Frame {
        if v.len() <= Frame::INLINE_CAPACITY {
            Frame::copy_from_slice(&v)
        } else {
            Frame(Repr::Shared(Bytes::from(v)))
        }
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Frame {
        Frame::from(s.into_bytes())
    }
}

impl From<&[u8]> for Frame {
    fn from(s: &[u8]) -> Frame {
        Frame::copy_from_slice(s)
    }
}

impl<const N: usize> From<&[u8; N]> for Frame {
    fn from(s: &[u8; N]) -> Frame {
        Frame::copy_from_slice(s)
    }
}

impl From<&str> for Frame {
    fn from(s: &str) -> Frame {
        Frame::copy_from_slice(s.as_bytes())
    }
}

impl From<&Frame> for Frame {
    fn from(f: &Frame) -> Frame {
        f.clone()
    }
}

impl fmt::Debug for Frame {
    /// Like `Bytes`: `b"..."` with escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"")?;
        for &b in self.as_slice() {
            write!(f, "{}", std::ascii::escape_default(b))?;
        }
        write!(f, "\"")
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Frame {}

impl PartialOrd for Frame {
    fn partial_cmp(&self, other: &Frame) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Frame {
    fn cmp(&self, other: &Frame) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Frame {
    /// Hashes as the byte slice does, so a `[u8]` can look a `Frame` key up.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

macro_rules! eq_bytes {
    ($($t:ty),* $(,)?) => {$(
        impl PartialEq<$t> for Frame {
            fn eq(&self, other: &$t) -> bool {
                let other: &[u8] = other.as_ref();
                self.as_slice() == other
            }
        }
        impl PartialEq<Frame> for $t {
            fn eq(&self, other: &Frame) -> bool {
                other == self
            }
        }
    )*};
}

eq_bytes!([u8], &[u8], str, &str, Vec<u8>, String, Bytes);

impl<const N: usize> PartialEq<[u8; N]> for Frame {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Frame {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn a_frame_is_72_bytes_and_inline_exactly_up_to_the_capacity() {
        assert_eq!(std::mem::size_of::<Frame>(), 40);
        for len in [0, 1, Frame::INLINE_CAPACITY] {
            assert!(Frame::from(vec![1u8; len]).is_inline(), "{len}");
            assert!(
                Frame::from(Bytes::from(vec![1u8; len])).is_inline(),
                "{len}"
            );
        }
        let long = Frame::INLINE_CAPACITY + 1;
        assert!(!Frame::from(vec![1u8; long]).is_inline());
        assert!(!Frame::copy_from_slice(&vec![1u8; long]).is_inline());
    }

    #[test]
    fn value_is_the_bytes_whatever_the_representation() {
        let long = vec![9u8; 200];
        let a = Frame::from(long.clone());
        let b = Frame::from(Bytes::from(long.clone()));
        assert_eq!(a, b);
        assert_eq!(hash_of(&a), hash_of(&b));
        assert_eq!(hash_of(&Frame::from("id")), hash_of(&b"id"[..]));
        assert_eq!(Frame::from("x"), Frame::from(Bytes::from_static(b"x")));
        assert_eq!(Frame::from("a").cmp(&Frame::from("b")), Ordering::Less);
        assert_eq!(format!("{:?}", Frame::from("a\n")), "b\"a\\n\"");
    }

    #[test]
    fn a_long_frame_is_not_copied() {
        let b = Bytes::from(vec![3u8; 1000]);
        let f = Frame::from(b.clone());
        assert_eq!(f.shared().unwrap().as_ptr(), b.as_ptr());
        assert_eq!(f.into_bytes().as_ptr(), b.as_ptr());
    }
}
