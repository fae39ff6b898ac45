//! The connecting side of a session: looking a host name up, connecting, and scheduling
//! the next attempt with back-off.
//!
//! What must hold: a name lookup never blocks the I/O thread (it runs on a thread of its
//! own and reports back through the inbox); a failed attempt always leads to a scheduled
//! retry, unless the session is finished.

use super::{Cx, Origin, Session, Status};
use crate::monitor::EventKind;
use crate::reactor::{next_backoff, IoCommand};
use crate::transport::{self, ConnectTarget, Stream};
use std::io;
use std::net::SocketAddr;

impl Session {
    /// Starts a connect attempt: at once for an address, after a lookup for a host name.
    pub(super) fn try_connect(&mut self, cx: &mut Cx<'_>) -> Status {
        let Origin::Connect(target) = &self.origin else {
            return Status::Done;
        };
        let Some((name, port)) = target.host_name() else {
            return self.connect_now(cx);
        };
        // The system resolver blocks, for seconds if DNS is slow, so it runs on a thread of
        // its own, which reports back through the inbox; no timer is armed meanwhile.
        let name = name.to_owned();
        let reactor = cx.reactor.clone();
        let key = self.key;
        let spawned = std::thread::Builder::new()
            .name("ferrozmq-lookup".to_owned())
            .spawn(move || {
                let result = transport::lookup_name(&name, port);
                reactor.send(IoCommand::Resolved { key, result });
            });
        match spawned {
            Ok(_) => Status::Continue,
            Err(e) => {
                log::warn!("cannot start a lookup for {}: {e}", target.endpoint());
                self.schedule_reconnect(cx)
            }
        }
    }

    /// The lookup started by `try_connect` finished: connect to what it found, or retry
    /// later as after a refused connect (libzmq also keeps trying a name that does not
    /// resolve yet).
    pub(in crate::reactor) fn resolved(
        &mut self,
        cx: &mut Cx<'_>,
        result: io::Result<Vec<SocketAddr>>,
    ) -> Status {
        let Origin::Connect(ConnectTarget::Tcp(target)) = &mut self.origin else {
            return Status::Done;
        };
        match result {
            Ok(addrs) => {
                log::debug!("{} resolved to {addrs:?}", target.endpoint());
                target.set_addrs(addrs);
                self.connect_now(cx)
            }
            Err(e) => {
                log::debug!("cannot resolve {}: {e}; will retry", target.endpoint());
                self.schedule_reconnect(cx)
            }
        }
    }

    pub(super) fn connect_now(&mut self, cx: &mut Cx<'_>) -> Status {
        let Origin::Connect(target) = &self.origin else {
            return Status::Done;
        };
        match transport::connect(target) {
            Ok(stream) => {
                let tcp = matches!(stream, Stream::Tcp(_));
                if !self.install(cx, stream) {
                    return self.schedule_reconnect(cx);
                }
                if tcp {
                    // A tcp connect completes later (libzmq reports it as delayed).
                    self.raise(EventKind::ConnectDelayed);
                    self.connect_deadline = self.config.options.connect_timeout.map(|t| cx.now + t);
                }
                Status::Continue
            }
            Err(e) => {
                log::debug!("connect to {} failed: {e}", target.endpoint());
                self.schedule_reconnect(cx)
            }
        }
    }

    pub(super) fn schedule_reconnect(&mut self, cx: &mut Cx<'_>) -> Status {
        if self.finished() {
            return Status::Done;
        }
        let options = &self.config.options;
        let (delay, next) = next_backoff(
            self.backoff,
            options.reconnect_ivl,
            options.reconnect_ivl_max,
            &mut self.seed,
        );
        self.backoff = next;
        self.reconnect_at = Some(cx.now + delay);
        self.raise(EventKind::ConnectRetried { interval: delay });
        Status::Continue
    }
}
