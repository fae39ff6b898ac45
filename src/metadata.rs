//! `Metadata`: the properties of the connection a message came from: the peer's READY
//! properties (`Socket-Type`, `Identity`, ...), `Peer-Address`, and what ZAP said
//! (`User-Id` and any properties of its reply).
//!
//! What must hold: one `Metadata` is built per connection at its handshake and shared by
//! reference count with every message from it, so attaching it costs no allocation per
//! message; names compare without regard to ASCII case (RFC 37).

use bytes::Bytes;
use std::fmt;

/// The properties of the connection a received message came from.
///
/// Messages from an authenticated network peer carry it: one that used PLAIN or CURVE, or
/// NULL with a ZAP domain set on the receiving socket. Messages from a plain NULL
/// connection carry none, so that the fastest path pays no reference count per message
/// (6-10 % of small-message throughput). Nor do messages built locally or received over
/// `inproc://`. See [`Message::property`](crate::Message::property).
///
/// # Examples
///
/// ```
/// use ferrozmq::{Context, SocketType};
///
/// let ctx = Context::new();
/// let mut pull = ctx.socket(SocketType::Pull)?;
/// pull.set_zap_domain("global")?; // NULL with ZAP: the connection is authenticated
/// pull.bind("tcp://127.0.0.1:*")?;
/// let endpoint = pull.last_endpoint().unwrap();
/// let mut push = ctx.socket(SocketType::Push)?;
/// push.connect(&endpoint)?;
/// push.send("hello")?;
/// let msg = pull.recv()?;
/// let meta = msg.metadata().expect("an authenticated peer's message has metadata");
/// assert_eq!(meta.get("Socket-Type"), Some(&b"PUSH"[..]));
/// assert_eq!(meta.get("peer-address"), Some(&b"127.0.0.1"[..])); // any case
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    properties: Vec<(String, Bytes)>,
}

impl Metadata {
    /// Metadata holding `properties`, in order; the first of two equal names wins.
    pub(crate) fn new(properties: Vec<(String, Bytes)>) -> Metadata {
        Metadata { properties }
    }

    /// The value of property `name` (any ASCII case), if present.
    ///
    /// # Examples
    ///
    /// See [`Metadata`].
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
    }

    /// Every property, in the order received.
    ///
    /// # Examples
    ///
    /// ```
    /// # use ferrozmq::{Context, SocketType};
    /// # let ctx = Context::new();
    /// # let mut pull = ctx.socket(SocketType::Pull)?;
    /// # pull.set_zap_domain("global")?;
    /// # pull.bind("tcp://127.0.0.1:*")?;
    /// # let endpoint = pull.last_endpoint().unwrap();
    /// # let mut push = ctx.socket(SocketType::Push)?;
    /// # push.connect(&endpoint)?;
    /// # push.send("hello")?;
    /// let msg = pull.recv()?;
    /// for (name, value) in msg.metadata().unwrap().iter() {
    ///     println!("{name}: {}", String::from_utf8_lossy(value));
    /// }
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.properties.iter().map(|(n, v)| (n.as_str(), &v[..]))
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.properties
                    .iter()
                    .map(|(n, v)| (n, String::from_utf8_lossy(v))),
            )
            .finish()
    }
}
