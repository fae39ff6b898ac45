//! Wake-ups: the one place where a thread that has work for another lets it know.
//!
//! A [`Mailbox`] belongs to a socket. Pipes report "pipe N changed" to it, and the I/O
//! threads and the inproc registry post commands to it. A [`Notifier`] is what the writing
//! side of a pipe holds: it wakes either a socket's mailbox or an I/O thread.
//!
//! What must hold:
//! - A notification is never lost: the flag `pending` is set under the lock before the
//!   waiter is woken, and the waiter re-checks it under the same lock before it sleeps.
//! - The common path costs no syscall: a thread is only signalled when it is waiting, and
//!   an idle socket is checked with one atomic load.
//! - Everything funnels through [`Mailbox::wake_waiter`], so a `std::task::Waker` can later
//!   join the parked thread as a wake target without touching the pipes.

use crate::pipe::PipeId;
use crate::reactor::ReactorShared;
use crate::socket::SocketCommand;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

/// How many times `wait` checks for news before it sleeps (about a microsecond; longer
/// spins starved the I/O thread on a 2-core machine).
const SPIN_CHECKS: u32 = 200;

/// The longest a socket keeps checking (yielding) before it sleeps.
const MAX_YIELD_SPIN_NS: u64 = 50_000;

/// Where a pipe sends its notifications.
#[derive(Clone, Debug)]
pub(crate) enum Notifier {
    /// A socket, through its mailbox.
    Socket(Arc<Mailbox>),
    /// An I/O thread; `key` names the session that owns the pipe end.
    Reactor(Arc<ReactorShared>, usize),
}

impl Notifier {
    /// Tells the owner of the other end that pipe `id` may have changed state.
    pub(crate) fn notify(&self, id: PipeId) {
        match self {
            Notifier::Socket(mailbox) => mailbox.pipe_activated(id),
            Notifier::Reactor(reactor, key) => reactor.activate(*key),
        }
    }
}

/// A socket's inbox of pipe activations and commands, plus the means to wake its thread.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    pending: AtomicBool,
    /// A running average of how long this socket's recent waits lasted, in nanoseconds
    /// (only its own thread touches it).
    typical_wait_ns: AtomicU64,
    state: Mutex<MailboxState>,
    cond: Condvar,
}

/// What a socket takes out of its mailbox in one go.
#[derive(Debug, Default)]
pub(crate) struct MailboxState {
    /// Pipes that may have become readable, writable or closed.
    pub(crate) activated: Vec<PipeId>,
    /// Commands from I/O threads and other sockets.
    pub(crate) commands: Vec<SocketCommand>,
    /// Set once by `Context::term`; never cleared.
    pub(crate) terminated: bool,
    waiting: bool,
    /// A poller watching this socket (and others), woken with the socket's own thread.
    observer: Option<Arc<Signal>>,
    /// The task of a pending `send_async`/`recv_async`, woken (once) by the next arrival.
    waker: Option<Waker>,
}

impl Mailbox {
    /// A fresh, empty mailbox.
    pub(crate) fn new() -> Arc<Mailbox> {
        Arc::new(Mailbox::default())
    }

    fn lock(&self) -> MutexGuard<'_, MailboxState> {
        // A panic while holding this lock leaves plain data behind; keep going with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that pipe `id` changed.
    pub(crate) fn pipe_activated(&self, id: PipeId) {
        let mut state = self.lock();
        state.activated.push(id);
        self.wake_waiter(state);
    }

    /// Posts a command.
    pub(crate) fn post(&self, command: SocketCommand) {
        let mut state = self.lock();
        state.commands.push(command);
        self.wake_waiter(state);
    }

    /// Marks the socket terminated and wakes it, so its blocking calls return.
    pub(crate) fn terminate(&self) {
        let mut state = self.lock();
        state.terminated = true;
        self.wake_waiter(state);
    }

    /// The one place every wake-up of the socket's owner goes through: a blocked thread, a
    /// poller, or an async task.
    fn wake_waiter(&self, mut state: MutexGuard<'_, MailboxState>) {
        self.pending.store(true, Ordering::Release);
        let waiting = state.waiting;
        let observer = state.observer.clone();
        let waker = state.waker.take();
        drop(state);
        if waiting {
            self.cond.notify_one();
        }
        if let Some(observer) = observer {
            observer.notify();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Arranges for `waker` to be woken by the next arrival, unless something is already
    /// pending: then it returns `true` and registers nothing, and the caller looks again.
    /// Checked under the lock that arrivals take, so no arrival falls between the look and
    /// the registration.
    pub(crate) fn register_waker(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        if self.pending.load(Ordering::Acquire) {
            return true;
        }
        match &state.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => state.waker = Some(waker.clone()),
        }
        false
    }

    /// Lets `observer` be woken by whatever wakes this socket (or stops it, with `None`).
    pub(crate) fn set_observer(&self, observer: Option<Arc<Signal>>) {
        self.lock().observer = observer;
    }

    /// Whether anything arrived since the last [`Mailbox::take`]: one atomic load.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Moves everything that arrived into `into` (whose vectors must be empty) and
    /// returns whether the socket was terminated.
    pub(crate) fn take(
        &self,
        activated: &mut Vec<PipeId>,
        commands: &mut Vec<SocketCommand>,
    ) -> bool {
        let mut state = self.lock();
        self.pending.store(false, Ordering::Relaxed);
        std::mem::swap(&mut state.activated, activated);
        std::mem::swap(&mut state.commands, commands);
        state.terminated
    }

    /// Blocks until something arrives or `deadline` passes. Returns at once if something
    /// is already pending. `expect_reply` says the caller just sent and now waits for the
    /// answer (a request/reply loop), the one case worth a longer spin.
    pub(crate) fn wait_for(&self, deadline: Option<Instant>, expect_reply: bool) {
        // Spin briefly first: a message is often only a few hundred nanoseconds away, and
        // a sleeping thread costs its waker a futex syscall and itself a scheduler round trip.
        for _ in 0..SPIN_CHECKS {
            if self.pending.load(Ordering::Acquire) {
                return;
            }
            std::hint::spin_loop();
        }
        let start = Instant::now();
        // Then, if this socket's waits have been short lately (a request/reply loop), keep
        // checking for about twice that long, yielding the core between checks so that an
        // I/O thread sharing it can run: waking from a futex costs tens of microseconds on
        // a virtual machine, more than the wait itself.
        let typical = self.typical_wait_ns.load(Ordering::Relaxed);
        let budget = Duration::from_nanos((2 * typical).min(MAX_YIELD_SPIN_NS));
        // Only while waiting for a reply: a streaming reader or a writer blocked on a full
        // pipe would take the core its I/O thread needs to make progress.
        if expect_reply && typical > 0 {
            while start.elapsed() < budget {
                if self.pending.load(Ordering::Acquire) {
                    self.record_wait(start);
                    return;
                }
                std::thread::yield_now();
            }
        }
        self.park(deadline);
        self.record_wait(start);
    }

    /// Blocks until something arrives or `deadline` passes (see [`Mailbox::wait_for`]).
    #[cfg(test)]
    pub(crate) fn wait(&self, deadline: Option<Instant>) {
        self.wait_for(deadline, false)
    }

    /// Folds the length of the wait that began at `start` into the running average.
    fn record_wait(&self, start: Instant) {
        let took = start.elapsed().as_nanos().min(u128::from(u64::MAX / 8)) as u64;
        let old = self.typical_wait_ns.load(Ordering::Relaxed);
        let new = if old == 0 { took } else { (old * 7 + took) / 8 };
        self.typical_wait_ns.store(new.max(1), Ordering::Relaxed);
    }

    fn park(&self, deadline: Option<Instant>) {
        let mut state = self.lock();
        while !self.pending.load(Ordering::Acquire) {
            state.waiting = true;
            match deadline {
                None => state = self.cond.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    state = self
                        .cond
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        state.waiting = false;
    }
}

/// A one-shot wake-up flag for a thread that waits on several sockets at once (a poller).
#[derive(Debug, Default)]
pub(crate) struct Signal {
    raised: Mutex<bool>,
    cond: Condvar,
}

impl Signal {
    /// Raises the flag and wakes the waiter.
    pub(crate) fn notify(&self) {
        let mut raised = self.raised.lock().unwrap_or_else(|e| e.into_inner());
        if !*raised {
            *raised = true;
            self.cond.notify_one();
        }
    }

    /// Waits until the flag is raised or `deadline` passes, then lowers it. Returns whether
    /// it was raised.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut raised = self.raised.lock().unwrap_or_else(|e| e.into_inner());
        while !*raised {
            match deadline {
                None => raised = self.cond.wait(raised).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    raised = self
                        .cond
                        .wait_timeout(raised, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        *raised = false;
        true
    }
}
