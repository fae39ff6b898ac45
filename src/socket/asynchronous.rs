//! Async send and receive on the same sockets, on any runtime or none.
//!
//! A task that finds nothing to do registers its `Waker` with the socket's mailbox, where a
//! blocked thread would park; the next arrival (a message, room in a pipe, a peer, the
//! context's end) wakes it. No runtime is involved, so the futures work under tokio, smol or
//! a hand-written executor alike.
//!
//! What must hold (cancel safety): a message leaves a pipe only in the poll that returns it,
//! and a send that returns `Pending` has queued nothing, so a future dropped at any point
//! loses no message and duplicates none. Registering the waker is checked against pending
//! arrivals under the mailbox's lock, so no wake-up falls between a look and a sleep.

use super::{Socket, Wait};
use crate::{Error, Message, Result, SendError};
use std::future::poll_fn;
use std::task::{Context, Poll};

impl Socket {
    /// Receives the next message, as a future. It never blocks the thread: while nothing
    /// is queued the task waits, and any arrival wakes it. The receive timeout
    /// ([`Socket::set_rcvtimeo`]) does not apply; use your runtime's timeout instead.
    ///
    /// **Cancel-safe**: dropping the future at any point loses no message, since a message
    /// leaves the socket only in the poll that returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, SocketType};
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context as Cx, Poll, Wake, Waker};
    /// #     use std::sync::Arc;
    /// #     struct T(std::thread::Thread);
    /// #     impl Wake for T { fn wake(self: Arc<Self>) { self.0.unpark() } }
    /// #     let waker = Waker::from(Arc::new(T(std::thread::current())));
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         if let Poll::Ready(v) = f.as_mut().poll(&mut Cx::from_waker(&waker)) { return v; }
    /// #         std::thread::park();
    /// #     }
    /// # }
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-recv-async")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-recv-async")?;
    /// // Any executor will do: tokio, smol, or (here) a few lines of std.
    /// let msg = block_on(async {
    ///     push.send_async("hello").await?;
    ///     pull.recv_async().await
    /// })?;
    /// assert_eq!(&msg[0][..], b"hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub async fn recv_async(&mut self) -> Result<Message> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Sends a message, as a future: it completes once a peer's queue has taken the
    /// message (as [`Socket::send`] returns), and never blocks the thread. The send timeout
    /// ([`Socket::set_sndtimeo`]) does not apply; use your runtime's timeout instead.
    ///
    /// **Cancel-safe**: while the future is pending, nothing has been queued, so dropping
    /// it drops the message unsent; once it is ready, the message was queued exactly once.
    ///
    /// # Examples
    ///
    /// See [`Socket::recv_async`].
    pub async fn send_async(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let mut msg = Some(msg.into());
        poll_fn(|cx| self.poll_send(cx, &mut msg)).await
    }

    /// The poll behind [`Socket::recv_async`], for writing futures and streams by hand:
    /// `Ready` with a message (or an error), or `Pending` with `cx`'s waker registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::task::{Context as Cx, Wake, Waker};
    /// use ferrozmq::{Context, SocketType};
    ///
    /// struct Nobody;
    /// impl Wake for Nobody {
    ///     fn wake(self: Arc<Self>) {}
    /// }
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// let waker = Waker::from(Arc::new(Nobody));
    /// let mut cx = Cx::from_waker(&waker);
    /// assert!(pull.poll_recv(&mut cx).is_pending()); // nothing queued
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        loop {
            match self.recv_with(Wait::Never) {
                Err(Error::WouldBlock) => {}
                done => return Poll::Ready(done),
            }
            if !self.link.mailbox.register_waker(cx.waker()) {
                return Poll::Pending;
            }
            // Something arrived meanwhile: look again rather than sleep.
        }
    }

    /// The poll behind [`Socket::send_async`]: sends the message in `slot` if a peer can
    /// take it now (`Ready`, `slot` emptied), else leaves it in `slot` and registers `cx`'s
    /// waker (`Pending`). An empty `slot` is `Ready(Ok(()))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::task::{Context as Cx, Wake, Waker};
    /// use ferrozmq::{Context, Message, SocketType};
    ///
    /// struct Nobody;
    /// impl Wake for Nobody {
    ///     fn wake(self: Arc<Self>) {}
    /// }
    ///
    /// let ctx = Context::new();
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// let waker = Waker::from(Arc::new(Nobody));
    /// let mut cx = Cx::from_waker(&waker);
    /// let mut slot = Some(Message::from("hello"));
    /// assert!(push.poll_send(&mut cx, &mut slot).is_pending()); // no peer yet
    /// assert!(slot.is_some()); // nothing was queued
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        slot: &mut Option<Message>,
    ) -> Poll<Result<(), SendError>> {
        loop {
            let Some(message) = slot.take() else {
                return Poll::Ready(Ok(()));
            };
            match self.send_with(message, Wait::Never) {
                Err(SendError {
                    error: Error::WouldBlock,
                    message,
                }) => *slot = Some(message),
                done => return Poll::Ready(done),
            }
            if !self.link.mailbox.register_waker(cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}
