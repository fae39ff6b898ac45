//! `Message`: a multipart ZeroMQ message, an ordered list of [`Frame`]s.
//!
//! Invariants: cloning a frame never copies a long one (a reference count) and never
//! touches the heap for a short one (inline bytes); a one-frame message needs no allocation
//! beyond its frame, so a small one-frame message allocates nothing; a message moves
//! through every pipe whole.

use crate::frame::Frame;
use crate::metadata::Metadata;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// A multipart message: one or more frames, delivered whole or not at all.
///
/// # Examples
///
/// ```
/// use ferrozmq::Message;
///
/// let mut msg = Message::from("header");
/// msg.push_back("body");
/// assert_eq!(msg.len(), 2);
/// assert_eq!(&msg[1][..], b"body");
///
/// let parts = Message::from(vec!["a", "b", "c"]);
/// assert_eq!(parts.len(), 3);
/// ```
#[derive(Clone, Default)]
pub struct Message {
    repr: Repr,
    /// The connection's properties, shared by every message from it (see `Metadata`).
    /// Not part of the message's value: equality and hashing look at the frames only.
    meta: Option<Arc<Metadata>>,
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self.repr == other.repr
    }
}

impl Eq for Message {}

impl std::hash::Hash for Message {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.repr.hash(state);
    }
}

#[derive(Clone, Default, PartialEq, Eq, Hash)]
enum Repr {
    #[default]
    Empty,
    One(Frame),
    Many(Vec<Frame>),
}

impl Message {
    /// An empty message with no frames. Add frames with [`Message::push_back`] before sending.
    ///
    /// # Examples
    ///
    /// ```
    /// let msg = ferrozmq::Message::new();
    /// assert!(msg.is_empty());
    /// ```
    pub fn new() -> Message {
        Message::default()
    }

    /// Builds a message from any sequence of frames.
    ///
    /// # Examples
    ///
    /// ```
    /// let msg = ferrozmq::Message::multipart([&b"id"[..], b"", b"payload"]);
    /// assert_eq!(msg.len(), 3);
    /// ```
    pub fn multipart<I, F>(frames: I) -> Message
    where
        I: IntoIterator<Item = F>,
        F: Into<Frame>,
    {
        let mut msg = Message::new();
        for f in frames {
            msg.push_back(f);
        }
        msg
    }

    /// The number of frames.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Message;
    ///
    /// assert_eq!(Message::from(vec!["id", "", "body"]).len(), 3);
    /// assert_eq!(Message::from("hello").len(), 1); // frames, not bytes
    /// ```
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Empty => 0,
            Repr::One(_) => 1,
            Repr::Many(v) => v.len(),
        }
    }

    /// Whether the message has no frames at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Message;
    ///
    /// let mut msg = Message::new();
    /// assert!(msg.is_empty());
    /// msg.push_back("");
    /// assert!(!msg.is_empty()); // one empty frame is still a frame
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total number of payload bytes over all frames.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::Message::multipart(["ab", "cde"]).byte_len(), 5);
    /// ```
    pub fn byte_len(&self) -> usize {
        self.frames().iter().map(|f| f.len()).sum()
    }

    /// The frames, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let msg = ferrozmq::Message::from(vec!["a", "b"]);
    /// assert_eq!(msg.frames(), ["a", "b"]);
    /// assert!(ferrozmq::Message::new().frames().is_empty());
    /// ```
    pub fn frames(&self) -> &[Frame] {
        match &self.repr {
            Repr::Empty => &[],
            Repr::One(b) => std::slice::from_ref(b),
            Repr::Many(v) => v,
        }
    }

    /// Frame `index`, if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let msg = ferrozmq::Message::from(vec!["a", "b"]);
    /// assert_eq!(&msg.get(1).unwrap()[..], b"b");
    /// assert!(msg.get(2).is_none());
    /// ```
    pub fn get(&self, index: usize) -> Option<&Frame> {
        self.frames().get(index)
    }

    /// The first frame, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Message;
    ///
    /// let msg = Message::from(vec!["topic", "payload"]);
    /// assert_eq!(&msg.first().unwrap()[..], b"topic");
    /// assert!(Message::new().first().is_none());
    /// ```
    pub fn first(&self) -> Option<&Frame> {
        self.frames().first()
    }

    /// The last frame, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::Message;
    ///
    /// let msg = Message::from(vec!["id", "", "payload"]);
    /// assert_eq!(&msg.last().unwrap()[..], b"payload");
    /// assert!(Message::new().last().is_none());
    /// ```
    pub fn last(&self) -> Option<&Frame> {
        self.frames().last()
    }

    /// An iterator over the frames.
    ///
    /// # Examples
    ///
    /// ```
    /// let msg = ferrozmq::Message::from(vec!["id", "", "payload"]);
    /// let sizes: Vec<usize> = msg.iter().map(|frame| frame.len()).collect();
    /// assert_eq!(sizes, [2, 0, 7]);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, Frame> {
        self.frames().iter()
    }

    /// Appends a frame.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut msg = ferrozmq::Message::new();
    /// msg.push_back("header");
    /// msg.push_back(vec![1u8, 2, 3]);
    /// assert_eq!(msg.len(), 2);
    /// assert_eq!(&msg[1][..], [1, 2, 3]);
    /// ```
    pub fn push_back(&mut self, frame: impl Into<Frame>) {
        let frame = frame.into();
        self.repr = match std::mem::take(&mut self.repr) {
            Repr::Empty => Repr::One(frame),
            Repr::One(first) => Repr::Many(vec![first, frame]),
            Repr::Many(mut v) => {
                v.push(frame);
                Repr::Many(v)
            }
        };
    }

    /// Puts a frame in front of the others (as ROUTER does with a routing id).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut msg = ferrozmq::Message::from("body");
    /// msg.push_front("id");
    /// assert_eq!(&msg[0][..], b"id");
    /// ```
    pub fn push_front(&mut self, frame: impl Into<Frame>) {
        let frame = frame.into();
        self.repr = match std::mem::take(&mut self.repr) {
            Repr::Empty => Repr::One(frame),
            Repr::One(second) => Repr::Many(vec![frame, second]),
            Repr::Many(mut v) => {
                v.insert(0, frame);
                Repr::Many(v)
            }
        };
    }

    /// Removes and returns the first frame.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut msg = ferrozmq::Message::from(vec!["id", "body"]);
    /// assert_eq!(&msg.pop_front().unwrap()[..], b"id");
    /// assert_eq!(&msg.pop_front().unwrap()[..], b"body");
    /// assert_eq!(msg.pop_front(), None);
    /// ```
    pub fn pop_front(&mut self) -> Option<Frame> {
        match std::mem::take(&mut self.repr) {
            Repr::Empty => None,
            Repr::One(b) => Some(b),
            Repr::Many(mut v) => {
                let first = if v.is_empty() {
                    None
                } else {
                    Some(v.remove(0))
                };
                self.repr = Repr::from_vec(v);
                first
            }
        }
    }

    /// Removes and returns the last frame.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut msg = ferrozmq::Message::from(vec!["id", "body"]);
    /// assert_eq!(&msg.pop_back().unwrap()[..], b"body");
    /// assert_eq!(msg.len(), 1);
    /// assert_eq!(&msg[0][..], b"id");
    /// ```
    pub fn pop_back(&mut self) -> Option<Frame> {
        match std::mem::take(&mut self.repr) {
            Repr::Empty => None,
            Repr::One(b) => Some(b),
            Repr::Many(mut v) => {
                let last = v.pop();
                self.repr = Repr::from_vec(v);
                last
            }
        }
    }

    /// Takes the frames out as a vector.
    ///
    /// # Examples
    ///
    /// ```
    /// let frames = ferrozmq::Message::from(vec!["a", "b"]).into_frames();
    /// assert_eq!(frames, ["a", "b"]);
    /// assert!(ferrozmq::Message::new().into_frames().is_empty());
    /// ```
    pub fn into_frames(self) -> Vec<Frame> {
        match self.repr {
            Repr::Empty => Vec::new(),
            Repr::One(b) => vec![b],
            Repr::Many(v) => v,
        }
    }
}

impl Message {
    /// The properties of the connection this message came from: the peer's metadata
    /// (`Socket-Type`, `Identity`, ...), `Peer-Address`, and `User-Id` and other properties
    /// set by authentication. Only authenticated connections (PLAIN, CURVE, or NULL with a
    /// ZAP domain) attach them; `None` for a plain NULL connection, a message built locally,
    /// or one received over `inproc://`.
    ///
    /// # Examples
    ///
    /// ```
    /// let msg = ferrozmq::Message::from("local");
    /// assert!(msg.metadata().is_none());
    /// ```
    pub fn metadata(&self) -> Option<&Metadata> {
        self.meta.as_deref()
    }

    /// The value of one property of the connection this message came from, as text (any
    /// ASCII case for the name; `None` if absent or not UTF-8), like libzmq's
    /// `zmq_msg_gets`. Under PLAIN or CURVE, `User-Id` says who the peer authenticated as.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.set_plain_server(true)?; // no ZAP handler: every client is admitted
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let endpoint = pull.last_endpoint().unwrap();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.set_plain_username("alice")?;
    /// push.set_plain_password("secret")?;
    /// push.connect(&endpoint)?;
    /// push.send("hello")?;
    /// let msg = pull.recv()?;
    /// assert_eq!(msg.property("Socket-Type"), Some("PUSH"));
    /// assert_eq!(msg.property("User-Id"), Some("alice"));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn property(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(self.metadata()?.get(name)?).ok()
    }

    /// The metadata's shared handle, to carry it over to a message built from this one.
    pub(crate) fn shared_metadata(&self) -> Option<Arc<Metadata>> {
        self.meta.clone()
    }

    /// Attaches the connection's metadata (the session does it for each message it
    /// receives).
    pub(crate) fn set_metadata(&mut self, meta: Option<Arc<Metadata>>) {
        self.meta = meta;
    }
}

impl Repr {
    fn from_vec(mut v: Vec<Frame>) -> Repr {
        match v.len() {
            0 => Repr::Empty,
            1 => Repr::One(v.pop().unwrap_or_default()),
            _ => Repr::Many(v),
        }
    }
}

impl std::ops::Index<usize> for Message {
    type Output = Frame;

    fn index(&self, index: usize) -> &Frame {
        &self.frames()[index]
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.frames()).finish()
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Message {
    type Item = Frame;
    type IntoIter = std::vec::IntoIter<Frame>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_frames().into_iter()
    }
}

impl From<Frame> for Message {
    fn from(frame: Frame) -> Message {
        Message {
            repr: Repr::One(frame),
            meta: None,
        }
    }
}

impl From<Bytes> for Message {
    fn from(frame: Bytes) -> Message {
        Message::from(Frame::from(frame))
    }
}

impl From<Vec<u8>> for Message {
    fn from(frame: Vec<u8>) -> Message {
        Message::from(Frame::from(frame))
    }
}

impl From<&[u8]> for Message {
    fn from(frame: &[u8]) -> Message {
        Message::from(Frame::copy_from_slice(frame))
    }
}

impl<const N: usize> From<&[u8; N]> for Message {
    fn from(frame: &[u8; N]) -> Message {
        Message::from(Frame::copy_from_slice(frame))
    }
}

impl From<&str> for Message {
    fn from(frame: &str) -> Message {
        Message::from(Frame::copy_from_slice(frame.as_bytes()))
    }
}

impl From<String> for Message {
    fn from(frame: String) -> Message {
        Message::from(Frame::from(frame))
    }
}

impl From<Vec<Frame>> for Message {
    fn from(frames: Vec<Frame>) -> Message {
        Message {
            repr: Repr::from_vec(frames),
            meta: None,
        }
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(frames: Vec<Bytes>) -> Message {
        Message::multipart(frames)
    }
}

impl From<Vec<&str>> for Message {
    fn from(frames: Vec<&str>) -> Message {
        Message::multipart(frames)
    }
}

impl From<Vec<Vec<u8>>> for Message {
    fn from(frames: Vec<Vec<u8>>) -> Message {
        Message::multipart(frames)
    }
}

impl FromIterator<Bytes> for Message {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Message {
        Message::multipart(iter)
    }
}

impl FromIterator<Frame> for Message {
    fn from_iter<I: IntoIterator<Item = Frame>>(iter: I) -> Message {
        Message::multipart(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_pop_keep_order() {
        let mut m = Message::new();
        m.push_back("b");
        m.push_front("a");
        m.push_back("c");
        assert_eq!(m.len(), 3);
        assert_eq!(m.pop_front().unwrap(), "a");
        assert_eq!(m.pop_back().unwrap(), "c");
        assert_eq!(m.len(), 1);
        assert_eq!(m.pop_front().unwrap(), "b");
        assert!(m.is_empty());
        assert_eq!(m.pop_front(), None);
    }

    #[test]
    fn a_message_is_80_bytes_and_a_small_one_allocates_nothing() {
        assert_eq!(std::mem::size_of::<Message>(), 48);
        assert!(Message::from(&[0u8; 38]).frames()[0].is_inline());
    }

    #[test]
    fn equal_messages_compare_equal_whatever_their_history() {
        let mut a = Message::from(vec!["x", "y"]);
        a.pop_back();
        assert_eq!(a, Message::from("x"));
    }
}
