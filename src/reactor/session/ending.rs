//! How a session ends: the socket closing (linger), a clean close that never resets a
//! connection the peer still sends on (half-close), and a lost connection, with what the
//! socket's accounting and monitors hear of each.
//!
//! What must hold: a session ends only when everything queued went out (or the linger
//! ran out); after the last byte it shuts its side and reads, dropping, until the peer's
//! FIN or `HALF_CLOSE_WAIT`; whatever it took from the pipe and did not hand to the kernel
//! is reported lost; an accepted session ends with its connection, a connecting one tries
//! again unless its socket is done with it.

use super::{Cause, Cx, Origin, Session, Status};
use crate::monitor::EventKind;
use crate::pipe::ReadError;
use crate::socket::Failure;
use crate::zmtp::Connection;
use mio::Registry;
use std::io::Read;
use std::time::Duration;

/// How long a session whose work is done waits, after its FIN, for the peer's (see
/// `Session::half_close`).
pub(super) const HALF_CLOSE_WAIT: Duration = Duration::from_millis(500);

impl Session {
    /// The socket closed (or the context is terminating): linger for up to `linger`.
    pub(in crate::reactor) fn socket_closed(
        &mut self,
        cx: &mut Cx<'_>,
        linger: Option<Duration>,
    ) -> Status {
        if linger == Some(Duration::ZERO) {
            return Status::Done;
        }
        self.closing = Some(linger.map(|l| cx.now + l));
        self.drive(cx)
    }

    /// Ends the session: stops watching the stream and drops it and the pipe ends.
    pub(in crate::reactor) fn close(&mut self, registry: &Registry) {
        self.withdraw_direct();
        if self.conn.as_ref().is_some_and(|c| c.zmtp.is_some()) {
            self.raise(EventKind::Disconnected {
                reason: "closed by this socket".to_owned(),
            });
        }
        if let Some(mut conn) = self.conn.take() {
            // Read what the peer already sent, so closing does not reset the connection
            // (a reset can destroy data still in flight towards the peer).
            let mut scratch = [0u8; 4096];
            while let Ok(n) = conn.stream.read(&mut scratch) {
                if n == 0 {
                    break;
                }
            }
            let _ = registry.deregister(&mut conn.stream);
        }
        self.pipe = None;
    }

    /// Everything queued went out: shuts our side of an established connection (a FIN
    /// after the last byte) and waits, reading and discarding, for the peer to close its
    /// side, for up to `HALF_CLOSE_WAIT` (and never past the linger). Closing at once would
    /// make the kernel answer whatever the peer still sends with a reset, and a reset
    /// destroys the tail our kernel holds but has not transmitted (a stalled network, a
    /// slow reader). Both libzmq and ferrozmq close when they read the FIN. False if there
    /// is nothing to wait for: no established connection, or it already failed.
    pub(super) fn half_close(&mut self, cx: &mut Cx<'_>) -> bool {
        let Some(conn) = &mut self.conn else {
            return false;
        };
        if conn.write_error.is_some() || !conn.zmtp.as_ref().is_some_and(Connection::is_ready) {
            return false;
        }
        if let Err(e) = conn.stream.shutdown_write() {
            log::debug!("connection to {}: cannot shut down writing: {e}", conn.peer);
            return false;
        }
        let mut until = cx.now + HALF_CLOSE_WAIT;
        if let Some(Some(linger_end)) = self.closing {
            until = until.min(linger_end);
        }
        log::trace!(
            "connection to {}: sent FIN, waiting for the peer's",
            conn.peer
        );
        self.half_closed = Some(until);
        // The peer's FIN may be here already: look without waiting for a new edge. What
        // the peer still sends is read and dropped, whatever the inbound pipe holds.
        conn.readable = true;
        self.read_paused = false;
        self.read_held = false;
        self.withdraw_direct();
        true
    }

    /// Whether there is nothing left to do: the socket let go of the pipe (or closed) and
    /// everything it queued went out.
    pub(super) fn finished(&mut self) -> bool {
        let out_empty = self
            .conn
            .as_ref()
            .is_none_or(|c| c.out.is_empty() || !c.zmtp.as_ref().is_some_and(Connection::is_ready));
        let Some(pipe) = &mut self.pipe else {
            // An accepted connection still in its handshake: only a closing socket ends it.
            return self.closing.is_some();
        };
        // Only look: this session reads the pipe in `write_output`, which arms the wake-up.
        match pipe.reader.peek_state() {
            Err(ReadError::Closed) => out_empty,
            Err(ReadError::Empty) => self.closing.is_some() && out_empty,
            Ok(()) => false,
        }
    }

    /// The connection is gone: accepted sessions end, connecting ones try again later.
    pub(super) fn lost(&mut self, cx: &mut Cx<'_>, cause: Cause) -> Status {
        self.withdraw_direct();
        let failure = self.conn.as_ref().and_then(|c| {
            let zmtp = c.zmtp.as_ref()?;
            (!zmtp.is_ready()).then_some(match &cause {
                Cause::Protocol(_) => Failure::Protocol,
                Cause::Auth { .. } => Failure::Auth,
                Cause::Other(_) => Failure::Other,
            })
        });
        if self.conn.is_some() {
            self.note_lost(failure);
        }
        if let Some(conn) = &self.conn {
            log::debug!("connection to {} closed: {}", conn.peer, cause.reason());
            match &conn.zmtp {
                // The connect attempt itself failed: its socket is closed.
                None => self.raise(EventKind::Closed),
                Some(zmtp) => {
                    if !zmtp.is_ready() {
                        self.raise(match &cause {
                            Cause::Protocol(reason) => EventKind::HandshakeFailedProtocol {
                                reason: reason.clone(),
                            },
                            Cause::Auth { status, .. } => {
                                EventKind::HandshakeFailedAuth { status: *status }
                            }
                            Cause::Other(reason) => EventKind::HandshakeFailedNoDetail {
                                reason: reason.clone(),
                            },
                        });
                    }
                    self.raise(EventKind::Disconnected {
                        reason: cause.reason().to_owned(),
                    });
                }
            }
        }
        if let Some(mut conn) = self.conn.take() {
            let _ = cx.registry.deregister(&mut conn.stream);
        }
        self.read_paused = false;
        self.undecoded = false;
        self.read_held = false;
        self.inbound.clear();
        self.verdict = None;
        self.zap_call = None;
        self.meta = None;
        self.handshake_deadline = None;
        self.connect_deadline = None;
        self.heartbeat.stop();
        if !self.pipe_persists {
            self.pipe = None;
        }
        match self.origin {
            Origin::Accepted(_) => Status::Done,
            Origin::Connect(_) => {
                if self.finished() {
                    Status::Done
                } else {
                    self.schedule_reconnect(cx)
                }
            }
        }
    }

    /// The connection is going: whatever this session took from the pipe and did not hand
    /// to the kernel is lost with it (for the socket's accounting).
    pub(super) fn note_lost(&mut self, failure: Option<Failure>) {
        let Some(pipe) = &mut self.pipe else {
            if let Some(failure) = failure {
                self.socket.failures.count(failure);
            }
            return;
        };
        pipe.reader.all_lost();
        let facts = pipe.reader.link_facts();
        *facts.address.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(failure) = failure {
            self.socket.failures.count(failure);
            crate::pipe::bump(
                match failure {
                    Failure::Protocol => &facts.failed_protocol,
                    Failure::Auth => &facts.failed_auth,
                    Failure::Other => &facts.failed_other,
                },
                1,
            );
        }
    }
}
