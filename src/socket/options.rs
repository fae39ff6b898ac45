//! The socket options: typed setters and getters with libzmq's names and defaults.
//!
//! What must hold: an option is read when an endpoint is bound or connected, so a change
//! applies to the endpoints that come after it, as in libzmq; options of one socket type
//! go through its pattern, which refuses what it does not understand.

use super::pattern::TypeOption;
use super::Socket;
use crate::{Error, Result};
use bytes::Bytes;
use std::time::Duration;

impl Socket {
    fn set_type_option(&mut self, option: TypeOption) -> Result<()> {
        self.process_mailbox()?;
        self.pattern.set_option(option, self.kind)
    }

    /// Subscribes a SUB or XSUB socket to messages whose first frame starts with `prefix`;
    /// an empty prefix matches everything. Subscriptions are counted: subscribing twice
    /// needs two unsubscribes. On an XPUB in manual mode, it adds the subscription for the
    /// peer that sent the last one.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut sub = ctx.socket(ferrozmq::SocketType::Sub)?;
    /// sub.subscribe("weather.")?;
    /// sub.unsubscribe("weather.")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn subscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        let prefix = Bytes::copy_from_slice(prefix.as_ref());
        self.set_type_option(TypeOption::Subscribe(prefix))
    }

    /// Drops one subscription to `prefix` made with [`Socket::subscribe`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut publisher = ctx.socket(SocketType::Pub)?;
    /// publisher.bind("inproc://doc-unsubscribe")?;
    /// let mut sub = ctx.socket(SocketType::Sub)?;
    /// sub.connect("inproc://doc-unsubscribe")?;
    /// sub.subscribe("news.")?;
    /// sub.subscribe("sport.")?;
    /// sub.unsubscribe("sport.")?;
    /// publisher.send("sport.football")?; // no longer wanted
    /// publisher.send("news.today")?;
    /// assert_eq!(&sub.try_recv()?[0][..], b"news.today");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn unsubscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        let prefix = Bytes::copy_from_slice(prefix.as_ref());
        self.set_type_option(TypeOption::Unsubscribe(prefix))
    }

    /// REQ: allows sending a new request without waiting for the reply to the last one
    /// (libzmq `ZMQ_REQ_RELAXED`). Only replies from the peer that got the newest request
    /// are taken; as in libzmq, a late reply to an older request from that same peer can
    /// still be taken for the answer unless [`Socket::set_req_correlate`] is on too.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut rep = ctx.socket(SocketType::Rep)?;
    /// rep.bind("inproc://doc-req-relaxed")?;
    /// let mut req = ctx.socket(SocketType::Req)?;
    /// req.set_req_relaxed(true)?;
    /// req.connect("inproc://doc-req-relaxed")?;
    /// req.send("first")?;
    /// req.send("second")?; // a strict REQ fails here with Error::WrongState
    /// assert_eq!(&rep.recv()?[0][..], b"first");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_req_relaxed(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::ReqRelaxed(on))
    }

    /// REQ: prefixes each request with a request id and accepts only the reply that
    /// carries it (libzmq `ZMQ_REQ_CORRELATE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut rep = ctx.socket(SocketType::Rep)?;
    /// rep.bind("inproc://doc-req-correlate")?;
    /// let mut req = ctx.socket(SocketType::Req)?;
    /// req.set_req_relaxed(true)?;
    /// req.set_req_correlate(true)?;
    /// req.connect("inproc://doc-req-correlate")?;
    /// req.send("first")?;
    /// req.send("second")?; // gives up on "first"
    /// for _ in 0..2 {
    ///     let request = rep.recv()?;
    ///     rep.send(request)?; // echo
    /// }
    /// // The echo of "first" carries a stale request id and is dropped.
    /// assert_eq!(&req.recv()?[0][..], b"second");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_req_correlate(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::ReqCorrelate(on))
    }

    /// ROUTER: makes sending to an unknown routing id fail with
    /// [`Error::HostUnreachable`] instead of dropping the message, and makes a send to a
    /// full peer block or fail with `WouldBlock` (libzmq `ZMQ_ROUTER_MANDATORY`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.set_router_mandatory(true)?;
    /// let err = router.send(vec!["nobody", "hello"]).unwrap_err();
    /// assert!(matches!(err.error, Error::HostUnreachable));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_router_mandatory(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::RouterMandatory(on))
    }

    /// ROUTER: lets a new peer take over a routing id that is already in use
    /// (libzmq `ZMQ_ROUTER_HANDOVER`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.set_router_handover(true)?;
    /// router.bind("inproc://doc-router-handover")?;
    /// let mut old = ctx.socket(SocketType::Dealer)?;
    /// old.set_routing_id("worker")?;
    /// old.connect("inproc://doc-router-handover")?;
    /// let mut new = ctx.socket(SocketType::Dealer)?;
    /// new.set_routing_id("worker")?;
    /// new.connect("inproc://doc-router-handover")?;
    /// router.send(vec!["worker", "job"])?; // "worker" is now the newer peer
    /// assert_eq!(&new.try_recv()?[0][..], b"job");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_router_handover(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::RouterHandover(on))
    }

    /// ROUTER, DEALER and REQ: sends an empty message to every peer as soon as it is
    /// connected (libzmq `ZMQ_PROBE_ROUTER`), so a ROUTER learns of the peer at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.bind("inproc://doc-probe-router")?;
    /// let mut dealer = ctx.socket(SocketType::Dealer)?;
    /// dealer.set_routing_id("d1")?;
    /// dealer.set_probe_router(true)?;
    /// dealer.connect("inproc://doc-probe-router")?;
    /// // The router hears of the dealer before it sends anything: [routing id, empty frame].
    /// let probe = router.try_recv()?;
    /// assert_eq!(&probe[0][..], b"d1");
    /// assert!(probe[1].is_empty());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_probe_router(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::ProbeRouter(on))
    }

    /// XPUB: passes every subscription message to the application, not only the first
    /// for each topic (libzmq `ZMQ_XPUB_VERBOSE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut xpub = ctx.socket(SocketType::XPub)?;
    /// xpub.set_xpub_verbose(true)?;
    /// xpub.bind("inproc://doc-xpub-verbose")?;
    /// let mut a = ctx.socket(SocketType::Sub)?;
    /// let mut b = ctx.socket(SocketType::Sub)?;
    /// for sub in [&mut a, &mut b] {
    ///     sub.connect("inproc://doc-xpub-verbose")?;
    ///     sub.subscribe("news")?;
    /// }
    /// // Both subscriptions come up, not only the first.
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_xpub_verbose(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::XpubVerbose(on))
    }

    /// XPUB: passes every subscription and every cancel to the application
    /// (libzmq `ZMQ_XPUB_VERBOSER`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut xpub = ctx.socket(SocketType::XPub)?;
    /// xpub.set_xpub_verboser(true)?;
    /// xpub.bind("inproc://doc-xpub-verboser")?;
    /// let mut a = ctx.socket(SocketType::Sub)?;
    /// let mut b = ctx.socket(SocketType::Sub)?;
    /// for sub in [&mut a, &mut b] {
    ///     sub.connect("inproc://doc-xpub-verboser")?;
    ///     sub.subscribe("news")?;
    /// }
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// a.unsubscribe("news")?; // `b` is still subscribed, yet the cancel comes up
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x00news");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_xpub_verboser(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::XpubVerboser(on))
    }

    /// XPUB: the application decides what each peer is subscribed to, with
    /// [`Socket::subscribe`] and [`Socket::unsubscribe`] after receiving its subscription
    /// message (libzmq `ZMQ_XPUB_MANUAL`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut xpub = ctx.socket(SocketType::XPub)?;
    /// xpub.set_xpub_manual(true)?;
    /// xpub.bind("inproc://doc-xpub-manual")?;
    /// let mut sub = ctx.socket(SocketType::Sub)?;
    /// sub.connect("inproc://doc-xpub-manual")?;
    /// sub.subscribe("news")?;
    /// assert_eq!(&xpub.try_recv()?[0][..], b"\x01news");
    /// xpub.send("news: too early")?; // not granted yet: not sent
    /// xpub.subscribe("news")?; // grant it to the peer that asked
    /// xpub.send("news: hello")?;
    /// assert_eq!(&sub.try_recv()?[0][..], b"news: hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_xpub_manual(&mut self, on: bool) -> Result<()> {
        self.set_type_option(TypeOption::XpubManual(on))
    }

    /// Sets the routing id that a ROUTER gives the peer of the *next* `connect`
    /// (libzmq `ZMQ_CONNECT_ROUTING_ID`); it applies to that one connect only.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut dealer = ctx.socket(SocketType::Dealer)?;
    /// dealer.bind("inproc://doc-connect-routing-id")?;
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.set_connect_routing_id("backend")?;
    /// router.connect("inproc://doc-connect-routing-id")?;
    /// router.send(vec!["backend", "job"])?; // the peer is known by that id at once
    /// assert_eq!(&dealer.try_recv()?[0][..], b"job");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_connect_routing_id(&mut self, id: impl Into<Bytes>) -> Result<()> {
        let id = id.into();
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidOption {
                option: "connect_routing_id",
                reason: "must be 1 to 255 bytes",
            });
        }
        self.options.connect_routing_id = Some(id);
        Ok(())
    }

    /// Sets the outbound high-water mark: messages queued per peer before a send blocks
    /// (or, for PUB, drops). 0 means no limit; the default is 1000. Applies to endpoints
    /// bound or connected afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_sndhwm(500)?; // before connecting, so that it applies
    /// assert_eq!(push.sndhwm(), 500);
    /// push.connect("inproc://doc-set-sndhwm")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_sndhwm(&mut self, messages: usize) -> Result<()> {
        self.options.sndhwm = messages;
        Ok(())
    }

    /// The outbound high-water mark.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.sndhwm(), 1000); // the default
    /// push.set_sndhwm(0)?; // no limit
    /// assert_eq!(push.sndhwm(), 0);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn sndhwm(&self) -> usize {
        self.options.sndhwm
    }

    /// Sets the inbound high-water mark per peer (0 = no limit, default 1000).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// pull.set_rcvhwm(10_000)?; // before binding, so that it applies
    /// assert_eq!(pull.rcvhwm(), 10_000);
    /// pull.bind("inproc://doc-set-rcvhwm")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_rcvhwm(&mut self, messages: usize) -> Result<()> {
        self.options.rcvhwm = messages;
        Ok(())
    }

    /// The inbound high-water mark.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.rcvhwm(), 1000); // the default
    /// pull.set_rcvhwm(0)?; // no limit
    /// assert_eq!(pull.rcvhwm(), 0);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn rcvhwm(&self) -> usize {
        self.options.rcvhwm
    }

    /// How long queued messages may still go out after the socket is closed: `None` (the
    /// default, as in libzmq) waits until they are all delivered, `Some(Duration::ZERO)`
    /// discards them at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut s = ctx.socket(ferrozmq::SocketType::Push)?;
    /// s.set_linger(Some(Duration::from_millis(500)))?;
    /// assert_eq!(s.linger(), Some(Duration::from_millis(500)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_linger(&mut self, linger: Option<Duration>) -> Result<()> {
        self.options.linger = linger;
        *self.link.linger.lock().unwrap_or_else(|e| e.into_inner()) = linger;
        Ok(())
    }

    /// The linger time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.linger(), None); // the default: wait for delivery
    /// push.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(push.linger(), Some(Duration::ZERO));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn linger(&self) -> Option<Duration> {
        self.options.linger
    }

    /// Bounds how long [`Socket::send`] blocks (`None`, the default, is forever).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.set_sndtimeo(Some(Duration::from_millis(10)))?;
    /// // No peer to send to: `send` gives up after 10 ms instead of waiting forever.
    /// let err = push.send("hello").unwrap_err();
    /// assert!(matches!(err.error, Error::Timeout));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_sndtimeo(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.sndtimeo = timeout;
        Ok(())
    }

    /// The send timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.sndtimeo(), None); // the default: wait forever
    /// push.set_sndtimeo(Some(Duration::from_secs(1)))?;
    /// assert_eq!(push.sndtimeo(), Some(Duration::from_secs(1)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn sndtimeo(&self) -> Option<Duration> {
        self.options.sndtimeo
    }

    /// Bounds how long [`Socket::recv`] blocks (`None`, the default, is forever).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-set-rcvtimeo")?;
    /// pull.set_rcvtimeo(Some(Duration::from_millis(10)))?;
    /// // Nothing was sent: `recv` gives up after 10 ms instead of waiting forever.
    /// assert!(matches!(pull.recv(), Err(Error::Timeout)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_rcvtimeo(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.rcvtimeo = timeout;
        Ok(())
    }

    /// The receive timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.rcvtimeo(), None); // the default: wait forever
    /// pull.set_rcvtimeo(Some(Duration::from_secs(1)))?;
    /// assert_eq!(pull.rcvtimeo(), Some(Duration::from_secs(1)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn rcvtimeo(&self) -> Option<Duration> {
        self.options.rcvtimeo
    }

    /// Sets the routing id this socket announces to its peers (ZMTP `Identity`): at most
    /// 255 bytes, and not starting with a zero byte (reserved for generated ids).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut router = ctx.socket(SocketType::Router)?;
    /// router.bind("inproc://doc-set-routing-id")?;
    /// let mut dealer = ctx.socket(SocketType::Dealer)?;
    /// dealer.set_routing_id("client-1")?; // before connecting
    /// dealer.connect("inproc://doc-set-routing-id")?;
    /// dealer.send("hello")?;
    /// let msg = router.try_recv()?;
    /// assert_eq!(&msg[0][..], b"client-1"); // the router knows the peer by that id
    /// assert!(dealer.set_routing_id(&b"\0reserved"[..]).is_err());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_routing_id(&mut self, id: impl Into<Bytes>) -> Result<()> {
        let id = id.into();
        if id.len() > 255 {
            return Err(Error::InvalidOption {
                option: "routing_id",
                reason: "longer than 255 bytes",
            });
        }
        if id.first() == Some(&0) {
            return Err(Error::InvalidOption {
                option: "routing_id",
                reason: "a leading zero byte is reserved",
            });
        }
        self.options.routing_id = id;
        Ok(())
    }

    /// The routing id this socket announces.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut dealer = ctx.socket(ferrozmq::SocketType::Dealer)?;
    /// assert!(dealer.routing_id().is_empty()); // none by default
    /// dealer.set_routing_id("client-1")?;
    /// assert_eq!(&dealer.routing_id()[..], b"client-1");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn routing_id(&self) -> &Bytes {
        &self.options.routing_id
    }

    /// Limits the size of an inbound message; a peer that sends a larger one is
    /// disconnected as soon as the frame header that goes over the limit arrives, and so is
    /// one whose incomplete message holds more (its bytes plus 32 per frame). The default
    /// is 1 GiB; `None` lifts the limit (libzmq's default).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// pull.set_max_msg_size(Some(1024 * 1024))?; // before binding, so that it applies
    /// assert_eq!(pull.max_msg_size(), Some(1024 * 1024));
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_max_msg_size(&mut self, limit: Option<u64>) -> Result<()> {
        self.options.max_msg_size = limit;
        Ok(())
    }

    /// The inbound message size limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.max_msg_size(), Some(1 << 30)); // the default: 1 GiB
    /// pull.set_max_msg_size(Some(4096))?;
    /// assert_eq!(pull.max_msg_size(), Some(4096));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn max_msg_size(&self) -> Option<u64> {
        self.options.max_msg_size
    }

    /// Sets the first delay before reconnecting a lost connection (default 100 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.set_linger(Some(Duration::ZERO))?;
    /// // Set before connecting: if the connection drops, retry after about 250 ms.
    /// push.set_reconnect_ivl(Duration::from_millis(250))?;
    /// push.connect(&pull.last_endpoint().unwrap())?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_reconnect_ivl(&mut self, ivl: Duration) -> Result<()> {
        self.options.reconnect_ivl = ivl;
        Ok(())
    }

    /// Caps the exponential reconnect back-off; zero (the default) keeps the delay flat.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.set_linger(Some(Duration::ZERO))?;
    /// // Retry after 100 ms, then 200 ms, 400 ms, ... but never wait more than 5 s.
    /// push.set_reconnect_ivl(Duration::from_millis(100))?;
    /// push.set_reconnect_ivl_max(Duration::from_secs(5))?;
    /// push.connect(&pull.last_endpoint().unwrap())?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_reconnect_ivl_max(&mut self, ivl: Duration) -> Result<()> {
        self.options.reconnect_ivl_max = ivl;
        Ok(())
    }

    /// Bounds the ZMTP handshake of each new connection (default 30 s, `None` = no limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// // Set before binding: drop peers that have not finished the handshake within 5 s.
    /// pull.set_handshake_ivl(Some(Duration::from_secs(5)))?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_handshake_ivl(&mut self, ivl: Option<Duration>) -> Result<()> {
        self.options.handshake_ivl = ivl;
        Ok(())
    }

    /// Limits how many frames one inbound message may have; a peer that sends more is
    /// disconnected when the frame that goes over the limit arrives. The default is
    /// 1,000,000; `None` lifts the limit (libzmq has none).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.max_msg_frames(), Some(1_000_000)); // the default
    /// pull.set_max_msg_frames(Some(16))?; // before binding, so that it applies
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_max_msg_frames(&mut self, limit: Option<u64>) -> Result<()> {
        self.options.max_msg_frames = limit;
        Ok(())
    }

    /// The inbound frame-count limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// pull.set_max_msg_frames(None)?;
    /// assert_eq!(pull.max_msg_frames(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn max_msg_frames(&self) -> Option<u64> {
        self.options.max_msg_frames
    }

    /// Sends a ZMTP PING on a connection after `ivl` in which nothing arrived from the peer
    /// (libzmq's `ZMQ_HEARTBEAT_IVL`). A peer that then sends nothing at all for the
    /// heartbeat timeout is disconnected; a connecting socket reconnects, and what it had
    /// queued waits for the new connection. `None` (the default) sends no heartbeats.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_heartbeat_ivl(Some(Duration::from_secs(1)))?; // before connecting
    /// assert_eq!(push.heartbeat_ivl(), Some(Duration::from_secs(1)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_heartbeat_ivl(&mut self, ivl: Option<Duration>) -> Result<()> {
        if ivl == Some(Duration::ZERO) {
            return Err(Error::InvalidOption {
                option: "heartbeat_ivl",
                reason: "use None to turn heartbeats off",
            });
        }
        self.options.heartbeat_ivl = ivl;
        Ok(())
    }

    /// The heartbeat interval.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.heartbeat_ivl(), None); // the default: no heartbeats
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn heartbeat_ivl(&self) -> Option<Duration> {
        self.options.heartbeat_ivl
    }

    /// How long a connection may stay silent after we sent a PING before it is closed
    /// (libzmq's `ZMQ_HEARTBEAT_TIMEOUT`). `None` (the default) uses the heartbeat interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut dealer = ctx.socket(ferrozmq::SocketType::Dealer)?;
    /// dealer.set_heartbeat_ivl(Some(Duration::from_secs(1)))?;
    /// dealer.set_heartbeat_timeout(Some(Duration::from_secs(3)))?;
    /// assert_eq!(dealer.heartbeat_timeout(), Some(Duration::from_secs(3)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_heartbeat_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.heartbeat_timeout = timeout;
        Ok(())
    }

    /// The heartbeat timeout as set (`None`: the interval applies).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let dealer = ctx.socket(ferrozmq::SocketType::Dealer)?;
    /// assert_eq!(dealer.heartbeat_timeout(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn heartbeat_timeout(&self) -> Option<Duration> {
        self.options.heartbeat_timeout
    }

    /// The time-to-live announced in our PINGs (libzmq's `ZMQ_HEARTBEAT_TTL`): a peer that
    /// hears nothing from us for this long after our PING may close the connection. It
    /// travels in whole deciseconds (rounded down), at most 6553.5 s. `None` (the default)
    /// announces no TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut sub = ctx.socket(ferrozmq::SocketType::Sub)?;
    /// sub.set_heartbeat_ttl(Some(Duration::from_secs(10)))?;
    /// assert!(sub.set_heartbeat_ttl(Some(Duration::from_secs(7000))).is_err());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_heartbeat_ttl(&mut self, ttl: Option<Duration>) -> Result<()> {
        if ttl.is_some_and(|t| t.as_millis() / 100 > u128::from(u16::MAX)) {
            return Err(Error::InvalidOption {
                option: "heartbeat_ttl",
                reason: "the TTL travels in deciseconds as a u16: at most 6553.5 s",
            });
        }
        self.options.heartbeat_ttl = ttl;
        Ok(())
    }

    /// The heartbeat TTL we announce.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let sub = ctx.socket(ferrozmq::SocketType::Sub)?;
    /// assert_eq!(sub.heartbeat_ttl(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn heartbeat_ttl(&self) -> Option<Duration> {
        self.options.heartbeat_ttl
    }

    /// Bounds each tcp connect attempt (libzmq's `ZMQ_CONNECT_TIMEOUT`): an attempt still
    /// pending after `timeout` is abandoned and retried after the reconnect interval.
    /// `None` (the default) leaves it to the operating system, which can take minutes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_connect_timeout(Some(Duration::from_secs(2)))?;
    /// assert_eq!(push.connect_timeout(), Some(Duration::from_secs(2)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_connect_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.options.connect_timeout = timeout.filter(|t| !t.is_zero());
        Ok(())
    }

    /// The connect timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// assert_eq!(push.connect_timeout(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.options.connect_timeout
    }

    /// Turns TCP keepalive probes on or off for this socket's tcp connections
    /// (`SO_KEEPALIVE`, libzmq's `ZMQ_TCP_KEEPALIVE`); `None` (the default) leaves the
    /// operating system's setting.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_tcp_keepalive(Some(true))?;
    /// assert_eq!(push.tcp_keepalive(), Some(true));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_tcp_keepalive(&mut self, on: Option<bool>) -> Result<()> {
        self.options.tcp_keepalive = on;
        Ok(())
    }

    /// The TCP keepalive setting.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// assert_eq!(ctx.socket(ferrozmq::SocketType::Push)?.tcp_keepalive(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn tcp_keepalive(&self) -> Option<bool> {
        self.options.tcp_keepalive
    }

    /// How long a tcp connection is idle before the first keepalive probe (`TCP_KEEPIDLE`,
    /// libzmq's `ZMQ_TCP_KEEPALIVE_IDLE`, whole seconds); `None` keeps the OS default.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_tcp_keepalive(Some(true))?;
    /// push.set_tcp_keepalive_idle(Some(Duration::from_secs(30)))?;
    /// assert_eq!(push.tcp_keepalive_idle(), Some(Duration::from_secs(30)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_tcp_keepalive_idle(&mut self, idle: Option<Duration>) -> Result<()> {
        self.options.tcp_keepalive_idle = idle;
        Ok(())
    }

    /// The keepalive idle time.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// assert_eq!(ctx.socket(ferrozmq::SocketType::Push)?.tcp_keepalive_idle(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn tcp_keepalive_idle(&self) -> Option<Duration> {
        self.options.tcp_keepalive_idle
    }

    /// How many unanswered keepalive probes close a tcp connection (`TCP_KEEPCNT`,
    /// libzmq's `ZMQ_TCP_KEEPALIVE_CNT`); `None` keeps the OS default.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_tcp_keepalive_cnt(Some(4))?;
    /// assert_eq!(push.tcp_keepalive_cnt(), Some(4));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_tcp_keepalive_cnt(&mut self, count: Option<u32>) -> Result<()> {
        self.options.tcp_keepalive_cnt = count;
        Ok(())
    }

    /// The keepalive probe count.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// assert_eq!(ctx.socket(ferrozmq::SocketType::Push)?.tcp_keepalive_cnt(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn tcp_keepalive_cnt(&self) -> Option<u32> {
        self.options.tcp_keepalive_cnt
    }

    /// The time between keepalive probes (`TCP_KEEPINTVL`, libzmq's
    /// `ZMQ_TCP_KEEPALIVE_INTVL`, whole seconds); `None` keeps the OS default.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_tcp_keepalive_intvl(Some(Duration::from_secs(5)))?;
    /// assert_eq!(push.tcp_keepalive_intvl(), Some(Duration::from_secs(5)));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_tcp_keepalive_intvl(&mut self, interval: Option<Duration>) -> Result<()> {
        self.options.tcp_keepalive_intvl = interval;
        Ok(())
    }

    /// The keepalive probe interval.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// assert_eq!(ctx.socket(ferrozmq::SocketType::Push)?.tcp_keepalive_intvl(), None);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn tcp_keepalive_intvl(&self) -> Option<Duration> {
        self.options.tcp_keepalive_intvl
    }

    /// Queues messages only to peers whose handshake completed (libzmq's
    /// `ZMQ_IMMEDIATE`). Off by default: a `connect` then gets its queue at once, and
    /// messages wait in it for a peer that may never come. With it on, a connection gets
    /// its queue when its handshake completes and loses it with the connection, so a PUSH
    /// sends only to peers that are there (and blocks, or fails with `WouldBlock`, while
    /// there are none). Applies to connects made afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.set_immediate(true)?;
    /// push.connect("tcp://127.0.0.1:5998")?; // nobody there
    /// assert!(matches!(push.try_send("lost?").unwrap_err().error, Error::WouldBlock));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_immediate(&mut self, on: bool) -> Result<()> {
        self.options.immediate = on;
        Ok(())
    }

    /// Whether `immediate` is on.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// assert!(!ctx.socket(ferrozmq::SocketType::Push)?.immediate());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn immediate(&self) -> bool {
        self.options.immediate
    }

    /// Keeps only the most recent message in each queue, inbound and outbound (libzmq's
    /// `ZMQ_CONFLATE`): a newer message replaces an unread or unsent older one, so a reader
    /// always gets the latest state. It applies to PUSH, PULL, PUB, SUB and DEALER, as in
    /// libzmq, to endpoints bound or connected afterwards; other types ignore it. Meant for
    /// one-frame messages, as in libzmq.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.set_conflate(true)?;
    /// pull.bind("inproc://doc-conflate")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-conflate")?;
    /// for k in 0..10 {
    ///     push.send(format!("state {k}"))?;
    /// }
    /// assert_eq!(&pull.recv()?[0][..], b"state 9");
    /// assert!(pull.try_recv().is_err()); // the older states are gone
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_conflate(&mut self, on: bool) -> Result<()> {
        self.options.conflate = on;
        Ok(())
    }

    /// Whether `conflate` is on.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// assert!(!ctx.socket(ferrozmq::SocketType::Sub)?.conflate());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn conflate(&self) -> bool {
        self.options.conflate
    }
}
