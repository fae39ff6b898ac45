//! A session's part in security: asking ZAP about a client, and the metadata its messages
//! carry once the handshake is done.
//!
//! What must hold: the I/O thread never waits for a decision (an answer given at once is
//! applied by `decode`; a handler's reply arrives through `on_pipe`); metadata is built once
//! per connection.

use super::{Cx, Session};
use crate::mailbox::Notifier;
use crate::metadata::Metadata;
use crate::zap::{Answer, Query};
use crate::zmtp::{Credentials, PeerInfo};
use bytes::Bytes;

impl Session {
    /// The handshake needs a ZAP decision on the client: ask for it. An answer given at
    /// once is kept for `decode` to apply; a handler's reply comes through `on_pipe`.
    pub(super) fn authenticate(&mut self, cx: &mut Cx<'_>, credentials: &Credentials) {
        let Some(conn) = &self.conn else {
            return;
        };
        let options = &self.config.options;
        let query = Query {
            domain: &options.security.zap_domain,
            address: &conn.address,
            routing_id: &options.routing_id,
            credentials,
        };
        match self
            .config
            .zap
            .ask(&query, Notifier::Reactor(cx.reactor.clone(), self.key))
        {
            Answer::Now(verdict) => self.verdict = Some(verdict),
            Answer::Later(call) => self.zap_call = Some(call),
        }
    }

    /// The connection's metadata: the peer's properties, then `User-Id` and the ZAP
    /// reply's properties, then `Peer-Address`, as libzmq gathers them.
    pub(super) fn metadata(&self, info: &PeerInfo) -> Metadata {
        let mut properties = info.properties.clone();
        if let Some(user_id) = info.user_id.as_ref().filter(|u| !u.is_empty()) {
            properties.push(("User-Id".to_owned(), user_id.clone()));
        }
        properties.extend(info.zap_properties.iter().cloned());
        if let Some(conn) = self.conn.as_ref().filter(|c| !c.address.is_empty()) {
            properties.push((
                "Peer-Address".to_owned(),
                Bytes::copy_from_slice(conn.address.as_bytes()),
            ));
        }
        Metadata::new(properties)
    }
}
