//! [`poll`]: wait until any of several sockets can receive or send, like `zmq_poll`.
//!
//! What must hold: no wake-up is lost between checking the sockets and going to sleep. The
//! poller registers one `Signal` with every socket's mailbox, checks them all again, and
//! only then sleeps; anything that arrives after registration raises the signal.

use crate::mailbox::Signal;
use crate::{Result, Socket};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Readiness flags for [`PollItem`]: what to wait for, and what was found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollEvents {
    /// A message can be received without blocking.
    pub readable: bool,
    /// A message can be sent without blocking.
    pub writable: bool,
}

impl PollEvents {
    /// Wait for incoming messages only.
    pub const READABLE: PollEvents = PollEvents {
        readable: true,
        writable: false,
    };
    /// Wait for room to send only.
    pub const WRITABLE: PollEvents = PollEvents {
        readable: false,
        writable: true,
    };
    /// Wait for either.
    pub const BOTH: PollEvents = PollEvents {
        readable: true,
        writable: true,
    };

    fn any(self) -> bool {
        self.readable || self.writable
    }
}

/// One socket to poll, what to wait for, and (after [`poll`]) what is ready.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: &'a mut Socket,
    events: PollEvents,
    revents: PollEvents,
}

impl<'a> PollItem<'a> {
    /// Polls `socket` for `events`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{poll, Context, PollEvents, PollItem, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-poll-item-new")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-poll-item-new")?;
    /// let mut items = [
    ///     PollItem::new(&mut pull, PollEvents::READABLE),
    ///     PollItem::new(&mut push, PollEvents::WRITABLE),
    /// ];
    /// // The PUSH has a peer with room; the PULL has nothing to read yet.
    /// assert_eq!(poll(&mut items, Some(Duration::from_secs(5)))?, 1);
    /// assert!(items[1].is_writable());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn new(socket: &'a mut Socket, events: PollEvents) -> PollItem<'a> {
        PollItem {
            socket,
            events,
            revents: PollEvents::default(),
        }
    }

    /// What [`poll`] found ready.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{poll, Context, PollEvents, PollItem, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-revents")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-revents")?;
    /// push.send("hi")?;
    /// // Asked for both; a PULL never sends, so only `readable` is found.
    /// let mut items = [PollItem::new(&mut pull, PollEvents::BOTH)];
    /// poll(&mut items, Some(Duration::from_secs(5)))?;
    /// assert_eq!(items[0].revents(), PollEvents::READABLE);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn revents(&self) -> PollEvents {
        self.revents
    }

    /// Whether a message can be received now.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{poll, Context, PollEvents, PollItem, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-is-readable")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-is-readable")?;
    /// let mut items = [PollItem::new(&mut pull, PollEvents::READABLE)];
    /// poll(&mut items, Some(Duration::ZERO))?;
    /// assert!(!items[0].is_readable()); // nothing sent yet
    /// push.send("hi")?;
    /// poll(&mut items, Some(Duration::from_secs(5)))?;
    /// assert!(items[0].is_readable());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn is_readable(&self) -> bool {
        self.revents.readable
    }

    /// Whether a message can be sent now.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{poll, Context, PollEvents, PollItem, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-is-writable")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// let mut items = [PollItem::new(&mut push, PollEvents::WRITABLE)];
    /// poll(&mut items, Some(Duration::ZERO))?;
    /// assert!(!items[0].is_writable()); // no peer to send to yet
    /// items[0].socket().connect("inproc://doc-is-writable")?;
    /// poll(&mut items, Some(Duration::from_secs(5)))?;
    /// assert!(items[0].is_writable());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn is_writable(&self) -> bool {
        self.revents.writable
    }

    /// The socket, to act on what was found.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{poll, Context, PollEvents, PollItem, SocketType};
    /// use std::time::Duration;
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-poll-socket")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-poll-socket")?;
    /// push.send("job")?;
    /// let mut items = [PollItem::new(&mut pull, PollEvents::READABLE)];
    /// poll(&mut items, Some(Duration::from_secs(5)))?;
    /// assert!(items[0].is_readable());
    /// let msg = items[0].socket().try_recv()?;
    /// assert_eq!(&msg[0][..], b"job");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn socket(&mut self) -> &mut Socket {
        self.socket
    }

    fn check(&mut self) -> Result<bool> {
        let (readable, writable) = self.socket.readiness()?;
        self.revents = PollEvents {
            readable: readable && self.events.readable,
            writable: writable && self.events.writable,
        };
        Ok(self.revents.any())
    }
}

/// Waits until at least one item is ready, or `timeout` passes (`None` waits forever), and
/// returns how many items are ready. Each item's [`PollItem::revents`] tells what it found.
///
/// # Examples
///
/// ```
/// use ferrozmq::{poll, Context, PollEvents, PollItem, SocketType};
/// use std::time::Duration;
///
/// let ctx = Context::new();
/// let mut a = ctx.socket(SocketType::Pull)?;
/// let mut b = ctx.socket(SocketType::Pull)?;
/// a.bind("inproc://poll-a")?;
/// b.bind("inproc://poll-b")?;
/// let mut push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://poll-b")?;
/// push.send("hi")?;
///
/// let mut items = [
///     PollItem::new(&mut a, PollEvents::READABLE),
///     PollItem::new(&mut b, PollEvents::READABLE),
/// ];
/// let ready = poll(&mut items, Some(Duration::from_secs(5)))?;
/// assert_eq!(ready, 1);
/// assert!(!items[0].is_readable());
/// assert!(items[1].is_readable());
/// assert_eq!(&items[1].socket().recv()?[0][..], b"hi");
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let signal = Arc::new(Signal::default());
    let mut registered = false;
    let result = loop {
        let mut ready = 0;
        let mut failed = None;
        for item in items.iter_mut() {
            match item.check() {
                Ok(true) => ready += 1,
                Ok(false) => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        if ready > 0 || timeout == Some(Duration::ZERO) {
            break Ok(ready);
        }
        if !registered {
            // Register, then check once more: whatever arrives from now on raises `signal`.
            for item in items.iter() {
                item.socket.mailbox().set_observer(Some(signal.clone()));
            }
            registered = true;
            continue;
        }
        if !signal.wait(deadline) {
            break Ok(0);
        }
    };
    if registered {
        for item in items.iter() {
            item.socket.mailbox().set_observer(None);
        }
    }
    result
}
