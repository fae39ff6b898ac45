//! The inproc transport: sockets in one context joined by pipes directly, with no I/O
//! thread and no encoding, so messages move whole, long frames as `Bytes` without a copy.
//!
//! What must hold: bind and connect work in either order (a connect before the bind gets
//! its pipe at once, so messages queue, and the binder picks the link up when it binds);
//! a link is only made between compatible socket types.

use crate::mailbox::{Mailbox, Notifier};
use crate::pipe::{link_with, Pipe};
use crate::socket::{PeerMeta, SocketCommand};
use crate::{Error, ProtocolError, Result, SocketType};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;

/// What the registry needs to know of a socket to join it to another.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    pub(crate) socket_id: u64,
    pub(crate) mailbox: Arc<Mailbox>,
    pub(crate) socket_type: SocketType,
    pub(crate) sndhwm: usize,
    pub(crate) rcvhwm: usize,
    pub(crate) routing_id: Bytes,
    /// Whether `conflate` is on and applies to this socket's type.
    pub(crate) conflate: bool,
}

impl Peer {
    fn meta(&self, name: &str) -> PeerMeta {
        PeerMeta {
            routing_id: self.routing_id.clone(),
            endpoint: format!("inproc://{name}"),
        }
    }
}

#[derive(Debug)]
struct Pending {
    connector: Peer,
    binder_end: Pipe,
}

/// The inproc names of one context.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    bound: HashMap<String, Peer>,
    pending: HashMap<String, Vec<Pending>>,
}

/// libzmq sums both sides' marks for an inproc pipe; 0 on either side means unlimited.
fn combined_hwm(sender: usize, receiver: usize) -> usize {
    if sender == 0 || receiver == 0 {
        0
    } else {
        sender + receiver
    }
}

fn incompatible(ours: SocketType, theirs: SocketType) -> Error {
    Error::Protocol(ProtocolError::IncompatibleSocketType {
        ours,
        theirs: theirs.to_string(),
    })
}

impl Registry {
    /// Binds `name` for `binder`; returns the links of connectors that were waiting.
    pub(crate) fn bind(&mut self, name: &str, binder: Peer) -> Result<Vec<(Pipe, PeerMeta)>> {
        if self.bound.contains_key(name) {
            return Err(Error::AddressInUse(format!("inproc://{name}")));
        }
        let mut pipes = Vec::new();
        for p in self.pending.remove(name).unwrap_or_default() {
            if !binder.socket_type.accepts(p.connector.socket_type) {
                log::warn!(
                    "inproc://{name}: dropping a waiting {} peer, incompatible with {}",
                    p.connector.socket_type,
                    binder.socket_type
                );
                continue;
            }
            let mut end = p.binder_end;
            end.reader
                .set_owner(Notifier::Socket(binder.mailbox.clone()));
            end.writer
                .set_owner(Notifier::Socket(binder.mailbox.clone()));
            pipes.push((end, p.connector.meta(name)));
        }
        self.bound.insert(name.to_owned(), binder);
        Ok(pipes)
    }

    /// Connects `connector` to `name` and returns its end of the new link, with what is
    /// known of the binder. If `name` is bound, the binder is sent the other end; if not,
    /// the other end waits for the bind.
    pub(crate) fn connect(&mut self, name: &str, connector: Peer) -> Result<(Pipe, PeerMeta)> {
        let ours = Notifier::Socket(connector.mailbox.clone());
        match self.bound.get(name) {
            Some(binder) => {
                if !connector.socket_type.accepts(binder.socket_type) {
                    return Err(incompatible(connector.socket_type, binder.socket_type));
                }
                let (mine, theirs) = link_with(
                    ours,
                    Notifier::Socket(binder.mailbox.clone()),
                    combined_hwm(connector.sndhwm, binder.rcvhwm),
                    combined_hwm(binder.sndhwm, connector.rcvhwm),
                    connector.conflate || binder.conflate,
                );
                binder
                    .mailbox
                    .post(SocketCommand::Attach(theirs, connector.meta(name)));
                Ok((mine, binder.meta(name)))
            }
            None => {
                // Nobody to wake on the other side yet: the binder takes over its ends
                // (and tries them at once) when it binds.
                let nobody = Notifier::Socket(Mailbox::new());
                let (mine, theirs) = link_with(
                    ours,
                    nobody,
                    connector.sndhwm,
                    connector.rcvhwm,
                    connector.conflate,
                );
                self.pending
                    .entry(name.to_owned())
                    .or_default()
                    .push(Pending {
                        connector,
                        binder_end: theirs,
                    });
                Ok((
                    mine,
                    PeerMeta {
                        endpoint: format!("inproc://{name}"),
                        ..PeerMeta::default()
                    },
                ))
            }
        }
    }

    /// Joins an I/O thread's session to the socket bound at `name`, if one is, as a DEALER
    /// peer whose end wakes `ours`: the way a session reaches the ZAP handler at
    /// `inproc://zeromq.zap.01`, as libzmq's sessions do. `None` if nothing is bound there
    /// (or the binder cannot take a DEALER peer).
    pub(crate) fn connect_session(&mut self, name: &str, ours: Notifier) -> Option<Pipe> {
        let binder = self.bound.get(name)?;
        if !binder.socket_type.accepts(SocketType::Dealer) {
            return None;
        }
        let (mine, theirs) = link_with(
            ours,
            Notifier::Socket(binder.mailbox.clone()),
            binder.rcvhwm,
            binder.sndhwm,
            false,
        );
        binder.mailbox.post(SocketCommand::Attach(
            theirs,
            PeerMeta {
                endpoint: format!("inproc://{name}"),
                ..PeerMeta::default()
            },
        ));
        Some(mine)
    }

    /// Releases `name` if `socket_id` holds it.
    pub(crate) fn unbind(&mut self, name: &str, socket_id: u64) {
        if self
            .bound
            .get(name)
            .is_some_and(|p| p.socket_id == socket_id)
        {
            self.bound.remove(name);
        }
    }

    /// Releases every name `socket_id` holds (it is closing).
    pub(crate) fn remove_socket(&mut self, socket_id: u64) {
        self.bound.retain(|_, p| p.socket_id != socket_id);
    }
}
