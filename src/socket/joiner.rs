//! The slow-joiner API: waiting until subscriptions have reached a publisher, instead of
//! sleeping before the first message.
//!
//! What must hold:
//! - Both waits drive the socket as `recv` does (its mailbox, hence the pipes it reads on
//!   notification) and block on the mailbox between checks: no sleep, no spin of their own.
//! - Nothing changes on the wire, so both work with any ZMTP peer (libzmq included), and
//!   nothing is added to the per-message path.
//! - `wait_subscribers` counts peers in the publisher's own routing state, so what it
//!   reports is exactly who the next `send` of a message starting with the prefix reaches.
//! - `wait_subscribed` looks, per link, at whether the other end has taken everything the
//!   subscriber wrote to it; the other end arms a wake-up as for a full pipe.

use super::pattern::not_supported;
use super::{Socket, Wait};
use crate::Result;
use std::time::{Duration, Instant};

/// The wait until `timeout` from now (forever if that is beyond what `Instant` can hold).
fn wait_for(timeout: Duration) -> Wait {
    Wait::Until(Instant::now().checked_add(timeout))
}

impl Socket {
    /// PUB and XPUB: waits until at least `n` connected peers hold a subscription matching
    /// `prefix`, that is until a message whose first frame is `prefix` would be sent to at
    /// least `n` peers (a peer subscribed to any prefix of `prefix`, the empty one
    /// included, counts). Fails with [`Error::Timeout`](crate::Error::Timeout) after
    /// `timeout`, and with [`Error::NotSupported`](crate::Error::NotSupported) on other
    /// socket types.
    ///
    /// This replaces the `sleep` a publisher used to make before its first message (the
    /// "slow joiner"): once it returns, the next [`send`](Socket::send) of such a message
    /// reaches those peers (unless one is at its high-water mark or leaves meanwhile).
    /// Subscriptions are read while waiting, as they arrive; a peer that disconnects stops
    /// counting. The exception, as in libzmq: a link this socket made with `connect` outlives
    /// its connection (messages queue on it for the reconnect), and so do the peer's
    /// subscriptions until the link is dropped. It works with any peer, libzmq's included:
    /// nothing changes on the wire.
    /// An XPUB whose unread subscription queue is full stops reading its peers (see
    /// [`Socket::recv`]) and counts only what it read.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut publisher = ctx.socket(SocketType::Pub)?;
    /// publisher.bind("tcp://127.0.0.1:*")?;
    /// let mut subscriber = ctx.socket(SocketType::Sub)?;
    /// subscriber.connect(&publisher.last_endpoint().unwrap())?;
    /// subscriber.subscribe("weather.")?;
    ///
    /// // "weather." is a prefix of "weather.paris": the subscriber counts.
    /// publisher.wait_subscribers("weather.paris", 1, Duration::from_secs(10))?;
    /// publisher.send(vec!["weather.paris", "21"])?;
    /// assert_eq!(&subscriber.recv()?[1][..], b"21");
    ///
    /// // Nobody wants "news": the wait gives up.
    /// let nobody = publisher.wait_subscribers("news", 1, Duration::from_millis(10));
    /// assert!(matches!(nobody, Err(Error::Timeout)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn wait_subscribers(
        &mut self,
        prefix: impl AsRef<[u8]>,
        n: usize,
        timeout: Duration,
    ) -> Result<()> {
        let prefix = prefix.as_ref();
        let wait = wait_for(timeout);
        loop {
            self.process_mailbox()?;
            match self.pattern.subscribers(prefix) {
                None => return Err(not_supported("wait_subscribers", self.kind)),
                Some(count) if count >= n => return Ok(()),
                Some(_) => {}
            }
            self.wait(wait, false)?;
        }
    }

    /// SUB and XSUB: waits until this socket's current subscriptions have left it for
    /// every publisher it is linked to, after their handshakes. Fails with
    /// [`Error::Timeout`](crate::Error::Timeout) after `timeout`, and with
    /// [`Error::NotSupported`](crate::Error::NotSupported) on other socket types.
    ///
    /// Exactly what it guarantees, per link:
    /// - tcp and ipc: the connection's I/O thread has taken the subscriptions (everything
    ///   this socket queued for that peer) from the link, which it does only once the
    ///   handshake is complete, and encoded them for the peer; it hands them to the kernel
    ///   in the same step unless the kernel's send buffer is full. The publisher applies
    ///   them when they arrive, a network trip later: a publisher that must not miss this
    ///   subscriber should also wait on its side ([`Socket::wait_subscribers`]).
    /// - inproc: the publisher socket itself has read them, so its next `send` takes them
    ///   into account. It reads them only while its own thread is in one of its calls
    ///   (`send`, `wait_subscribers`, ...), so the publisher must not be waiting for this
    ///   subscriber by other means meanwhile.
    ///
    /// Every link counts, including one made by `connect` whose peer is not there yet: the
    /// wait lasts until it is connected and has taken its share. With no link at all, it
    /// waits for the first publisher. With no subscription, a link that exists is enough.
    /// A reconnect queues the subscriptions again for the new peer once this socket hears
    /// of it (in any of its calls, this wait included); a wait that ended before that does
    /// not cover the new peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut subscriber = ctx.socket(SocketType::Sub)?;
    /// // No publisher yet: nothing can be sent.
    /// let alone = subscriber.wait_subscribed(Duration::from_millis(10));
    /// assert!(matches!(alone, Err(Error::Timeout)));
    ///
    /// let mut publisher = ctx.socket(SocketType::Pub)?;
    /// publisher.bind("tcp://127.0.0.1:*")?;
    /// subscriber.connect(&publisher.last_endpoint().unwrap())?;
    /// subscriber.subscribe("weather.")?;
    /// subscriber.wait_subscribed(Duration::from_secs(10))?; // on its way to the publisher
    ///
    /// publisher.wait_subscribers("weather.", 1, Duration::from_secs(10))?;
    /// publisher.send("weather.oslo -3")?;
    /// assert_eq!(&subscriber.recv()?[0][..], b"weather.oslo -3");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn wait_subscribed(&mut self, timeout: Duration) -> Result<()> {
        let wait = wait_for(timeout);
        loop {
            self.process_mailbox()?;
            match self.pattern.subscriptions_taken() {
                None => return Err(not_supported("wait_subscribed", self.kind)),
                Some(true) => return Ok(()),
                Some(false) => {}
            }
            self.wait(wait, false)?;
        }
    }
}
