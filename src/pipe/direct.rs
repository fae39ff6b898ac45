//! The direct path: an application thread that sends on an idle connection writes to the
//! socket itself, instead of queuing the message and waking the I/O thread.
//!
//! The session (on the I/O thread) owns the connection and publishes a [`DirectSink`] here
//! once its handshake is done. The writing end of the pipe may use it only while the
//! session has marked itself `idle`: nothing queued in the pipe, nothing left in its output
//! buffer, the connection writable. Both sides hold the lock for their whole write, so the
//! byte stream keeps the order in which messages were sent.
//!
//! What must hold: a message goes out whole or its unwritten tail is left in `pending`, which
//! the session sends before anything else; the application never blocks on this lock (it
//! only tries it), so the I/O thread can never stall a sender; and a [`DirectSink`] never
//! owns the connection: it shares the session's socket without keeping it open, so the
//! connection's one descriptor closes when the session drops it, and a sink left behind
//! fails its writes rather than reaching a closed (or reused) descriptor.

use crate::zmtp::OutBuf;
use crate::Message;
use std::cell::Cell;
use std::fmt;
use std::io;

thread_local! {
    /// Set by a socket around a send that answers a message it just received (a
    /// request/reply loop): only then is the direct path worth a syscall on the sending
    /// thread. A stream of sends keeps going through the pipe, where the I/O thread
    /// batches many messages per write.
    static REPLYING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the direct path allowed (when `replying`) for sends on this thread.
pub(crate) fn with_replying<T>(replying: bool, f: impl FnOnce() -> T) -> T {
    if !replying {
        return f(); // The flag is only ever set inside this function, so it is clear.
    }
    REPLYING.with(|r| r.set(true));
    let out = f();
    REPLYING.with(|r| r.set(false));
    out
}

/// Whether the current send may take the direct path.
pub(crate) fn replying() -> bool {
    REPLYING.with(Cell::get)
}

/// Something that can write an encoded message to a connection without blocking. It must
/// not keep the connection open (see the module docs).
pub(crate) trait DirectSink: Send {
    /// Encodes `msg` and writes as much of it as the kernel takes now. Returns the bytes
    /// that were not written (empty when the whole message went out; large frames stay
    /// uncopied). `Err` means nothing was written (for example WouldBlock), and the message
    /// must take the normal path.
    fn write_message(&mut self, msg: &Message) -> io::Result<OutBuf>;
}

/// What the session shares with the writer of its outbound pipe.
#[derive(Default)]
pub(crate) struct DirectOut {
    /// The connection to write to, while one is up and its handshake done.
    pub(crate) sink: Option<Box<dyn DirectSink>>,
    /// The session has nothing pending: the writer may write directly.
    pub(crate) idle: bool,
    /// The tail of a message the writer could not write whole; the session sends it first.
    pub(crate) pending: OutBuf,
    /// How many messages `pending` finishes (0 or 1), for the session's accounting.
    pub(crate) pending_msgs: u64,
}

impl fmt::Debug for DirectOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectOut")
            .field("connected", &self.sink.is_some())
            .field("idle", &self.idle)
            .field("pending", &self.pending.len())
            .finish()
    }
}
