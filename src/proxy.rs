//! [`proxy`] and [`proxy_steerable`]: move messages between two sockets in both directions,
//! as `zmq_proxy` does, to build queues (ROUTER↔DEALER) and forwarders (XSUB↔XPUB).
//!
//! What must hold: a message is forwarded whole (its frames stay together); a message
//! waits in the source socket while the destination cannot take it (the send blocks), which
//! is how back-pressure crosses the proxy; a paused proxy forwards nothing but still
//! answers its control socket.

use crate::{poll, Error, Message, PollEvents, PollItem, Result, Socket};

/// How many messages one direction may forward before the other gets its turn.
const BURST: usize = 1000;

/// Message and byte counts of a proxy, as its STATISTICS command reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Messages received from the frontend.
    pub frontend_msgs_in: u64,
    /// Bytes received from the frontend.
    pub frontend_bytes_in: u64,
    /// Messages sent to the frontend.
    pub frontend_msgs_out: u64,
    /// Bytes sent to the frontend.
    pub frontend_bytes_out: u64,
    /// Messages received from the backend.
    pub backend_msgs_in: u64,
    /// Bytes received from the backend.
    pub backend_bytes_in: u64,
    /// Messages sent to the backend.
    pub backend_msgs_out: u64,
    /// Bytes sent to the backend.
    pub backend_bytes_out: u64,
}

impl ProxyStats {
    fn to_message(self) -> Message {
        Message::multipart(
            [
                self.frontend_msgs_in,
                self.frontend_bytes_in,
                self.frontend_msgs_out,
                self.frontend_bytes_out,
                self.backend_msgs_in,
                self.backend_bytes_in,
                self.backend_msgs_out,
                self.backend_bytes_out,
            ]
            .map(|n| n.to_ne_bytes().to_vec()),
        )
    }
}

/// Forwards messages from `frontend` to `backend` and back until the context is terminated
/// (then it returns [`Error::Terminated`]). Every message is also sent to `capture`, if
/// given.
///
/// # Examples
///
/// A queue between clients and workers:
///
/// ```no_run
/// use ferrozmq::{proxy, Context, SocketType};
///
/// let ctx = Context::new();
/// let mut frontend = ctx.socket(SocketType::Router)?;
/// frontend.bind("tcp://*:5559")?;
/// let mut backend = ctx.socket(SocketType::Dealer)?;
/// backend.bind("tcp://*:5560")?;
/// proxy(&mut frontend, &mut backend, None)?;
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub fn proxy(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: Option<&mut Socket>,
) -> Result<()> {
    run(frontend, backend, capture, None)
}

/// Like [`proxy`], but steered through `control`: a message `PAUSE` stops forwarding,
/// `RESUME` starts it again, `TERMINATE` makes the call return `Ok(())`, and `STATISTICS`
/// is answered (on `control`, which must then be able to reply, e.g. REP or PAIR) with eight
/// frames of native-endian `u64` counts, as in libzmq.
///
/// # Examples
///
/// ```
/// use ferrozmq::{proxy_steerable, Context, SocketType};
///
/// let ctx = Context::new();
/// let mut control = ctx.socket(SocketType::Pair)?;
/// control.bind("inproc://steer")?;
/// let worker_ctx = ctx.clone();
/// let proxy_thread = std::thread::spawn(move || -> ferrozmq::Result<()> {
///     let mut frontend = worker_ctx.socket(SocketType::Pull)?;
///     frontend.bind("inproc://in")?;
///     let mut backend = worker_ctx.socket(SocketType::Push)?;
///     backend.bind("inproc://out")?;
///     let mut ctl = worker_ctx.socket(SocketType::Pair)?;
///     ctl.connect("inproc://steer")?;
///     proxy_steerable(&mut frontend, &mut backend, None, &mut ctl)
/// });
/// control.send("TERMINATE")?;
/// proxy_thread.join().unwrap()?;
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub fn proxy_steerable(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: Option<&mut Socket>,
    control: &mut Socket,
) -> Result<()> {
    run(frontend, backend, capture, Some(control))
}

#[derive(PartialEq, Eq)]
enum Side {
    Front,
    Back,
}

fn run(
    frontend: &mut Socket,
    backend: &mut Socket,
    mut capture: Option<&mut Socket>,
    mut control: Option<&mut Socket>,
) -> Result<()> {
    let mut stats = ProxyStats::default();
    let mut paused = false;
    loop {
        let data = if paused {
            PollEvents::default()
        } else {
            PollEvents::READABLE
        };
        let (front_ready, back_ready, control_ready) = {
            let mut items = vec![PollItem::new(frontend, data), PollItem::new(backend, data)];
            if let Some(c) = control.as_deref_mut() {
                items.push(PollItem::new(c, PollEvents::READABLE));
            }
            poll(&mut items, None)?;
            (
                items[0].is_readable(),
                items[1].is_readable(),
                items.get(2).is_some_and(PollItem::is_readable),
            )
        };
        if control_ready {
            if let Some(c) = control.as_deref_mut() {
                let command = c.recv()?;
                match command.first().map(|f| &f[..]) {
                    Some(b"PAUSE") => paused = true,
                    Some(b"RESUME") => paused = false,
                    Some(b"TERMINATE") => return Ok(()),
                    Some(b"STATISTICS") => c.send(stats.to_message())?,
                    _ => log::warn!("proxy: unknown control command {command:?}"),
                }
            }
        }
        if front_ready {
            forward(
                frontend,
                backend,
                capture.as_deref_mut(),
                &mut stats,
                Side::Front,
            )?;
        }
        if back_ready {
            forward(
                backend,
                frontend,
                capture.as_deref_mut(),
                &mut stats,
                Side::Back,
            )?;
        }
    }
}

fn forward(
    from: &mut Socket,
    to: &mut Socket,
    mut capture: Option<&mut Socket>,
    stats: &mut ProxyStats,
    side: Side,
) -> Result<()> {
    for _ in 0..BURST {
        let msg = match from.try_recv() {
            Ok(msg) => msg,
            Err(Error::WouldBlock) => return Ok(()),
            Err(e) => return Err(e),
        };
        let bytes = msg.byte_len() as u64;
        if let Some(c) = capture.as_deref_mut() {
            c.send(msg.clone())?;
        }
        to.send(msg)?;
        if side == Side::Front {
            stats.frontend_msgs_in += 1;
            stats.frontend_bytes_in += bytes;
            stats.backend_msgs_out += 1;
            stats.backend_bytes_out += bytes;
        } else {
            stats.backend_msgs_in += 1;
            stats.backend_bytes_in += bytes;
            stats.frontend_msgs_out += 1;
            stats.frontend_bytes_out += bytes;
        }
    }
    Ok(())
}
