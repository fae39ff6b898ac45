//! A socket's endpoints: binding, connecting, unbinding and disconnecting, over inproc (pipes
//! made at once through the context's registry) or tcp/ipc (listeners and sessions handed to
//! an I/O thread).
//!
//! What must hold: options are read when an endpoint is bound or connected, so a change
//! applies only to later endpoints; a connect makes its pipe at once (messages queue before
//! the peer is there) except for ROUTER and `immediate`, whose links come with the
//! handshake; the security options are checked before anything is handed to an I/O thread.

use super::*;

impl Socket {
    /// Accepts peers on `endpoint`: `tcp://host:port`, `ipc://path` or `inproc://name`.
    ///
    /// A tcp port of `*` or `0` picks a free port; [`Socket::last_endpoint`] tells which.
    /// An ipc path left behind by a dead process is reused; `ipc://@name` uses the Linux
    /// abstract namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// assert!(pull.last_endpoint().unwrap().starts_with("tcp://127.0.0.1:"));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let parsed = Endpoint::parse(endpoint)?;
        if let Endpoint::Inproc(name) = &parsed {
            let peers = self.ctx.inproc_bind(name, self.inproc_peer())?;
            self.endpoints.push(EndpointRecord {
                given: endpoint.to_owned(),
                resolved: parsed.to_string(),
                kind: EndpointKind::InprocBound(name.clone()),
            });
            for (pipe, peer) in peers {
                self.adopt(pipe, peer);
            }
            return Ok(());
        }
        let (listener, resolved) = match transport::bind(&parsed) {
            Ok(bound) => bound,
            Err(e) => {
                let error = e.to_string();
                self.link
                    .monitors
                    .raise(EventKind::BindFailed { error }, endpoint, None);
                return Err(e);
            }
        };
        let reactor = self.reactor()?;
        let mut config = self.session_config()?;
        config.endpoint.clone_from(&resolved);
        self.link
            .monitors
            .raise(EventKind::Listening, &resolved, None);
        let key = NEXT_ENDPOINT_KEY.fetch_add(1, Ordering::Relaxed);
        reactor.send(IoCommand::Listen {
            key: reactor.next_key(),
            listener,
            socket: self.link.clone(),
            config: Arc::new(config),
            endpoint: key,
            spread: self.ctx.all_reactors(),
        });
        self.endpoints.push(EndpointRecord {
            given: endpoint.to_owned(),
            resolved,
            kind: EndpointKind::Listening(key),
        });
        Ok(())
    }

    /// Connects to `endpoint`. The peer need not exist yet: messages queue up to the
    /// high-water mark and go out once the connection is up, and a lost connection is
    /// re-established with back-off. A tcp host name is looked up before every attempt, so
    /// one that does not resolve yet is retried too (as in libzmq), not refused here.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut push = ctx.socket(ferrozmq::SocketType::Push)?;
    /// push.set_linger(Some(std::time::Duration::ZERO))?;
    /// push.connect("tcp://127.0.0.1:5999")?; // nobody there yet: fine
    /// push.try_send("queued")?;
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn connect(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let parsed = Endpoint::parse(endpoint)?;
        parsed.check_connectable(endpoint)?;
        // As in libzmq, a connect routing id applies to the next connect only.
        let connect_id = self.options.connect_routing_id.take();
        if let Endpoint::Inproc(name) = &parsed {
            let (pipe, mut peer) = self.ctx.inproc_connect(name, self.inproc_peer())?;
            if let Some(id) = connect_id {
                peer.routing_id = id;
            }
            self.endpoints.push(EndpointRecord {
                given: endpoint.to_owned(),
                resolved: parsed.to_string(),
                kind: EndpointKind::InprocConnected(pipe.id()),
            });
            self.adopt(pipe, peer);
            return Ok(());
        }
        let target = transport::resolve(&parsed)?;
        let reactor = self.reactor()?;
        let session_key = reactor.next_key();
        let mut config = self.session_config()?;
        config.connect_routing_id = connect_id.clone();
        config.endpoint = parsed.to_string();
        // A ROUTER can only address a peer once it knows its routing id, and `immediate`
        // wants no queue for a peer that is not there, so those links are made when the
        // handshake completes (and end with the connection); every other link is made now,
        // so that messages queue before the peer is there.
        let (pipe, pipe_id) = if self.kind == SocketType::Router || self.options.immediate {
            (None, None)
        } else {
            let (ours, theirs) = link_with(
                Notifier::Socket(self.link.mailbox.clone()),
                Notifier::Reactor(reactor.clone(), session_key),
                self.options.sndhwm,
                self.options.rcvhwm,
                self.conflating(),
            );
            let peer = PeerMeta {
                routing_id: connect_id.unwrap_or_default(),
                endpoint: parsed.to_string(),
            };
            let id = ours.id();
            self.adopt(ours, peer);
            (Some(theirs), Some(id))
        };
        let key = NEXT_ENDPOINT_KEY.fetch_add(1, Ordering::Relaxed);
        reactor.send(IoCommand::Connect {
            key: session_key,
            target,
            pipe,
            socket: self.link.clone(),
            config: Arc::new(config),
            endpoint: key,
        });
        self.endpoints.push(EndpointRecord {
            given: endpoint.to_owned(),
            resolved: parsed.to_string(),
            kind: EndpointKind::Connecting(key, pipe_id),
        });
        Ok(())
    }

    /// Stops accepting peers on a bound endpoint and drops the peers that came through it.
    /// `endpoint` is the string given to `bind` or the one `last_endpoint` reported.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let endpoint = pull.last_endpoint().unwrap(); // with the port that was picked
    /// pull.unbind(&endpoint)?;
    /// assert!(matches!(pull.unbind(&endpoint), Err(Error::EndpointNotFound(_))));
    ///
    /// pull.bind("inproc://doc-unbind")?;
    /// pull.unbind("inproc://doc-unbind")?;
    /// ctx.socket(SocketType::Pull)?.bind("inproc://doc-unbind")?; // the name is free again
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn unbind(&mut self, endpoint: &str) -> Result<()> {
        let record = self.take_endpoint(endpoint, true)?;
        match record.kind {
            EndpointKind::Listening(key) => {
                if let Some(reactor) = &self.reactor {
                    reactor.send(IoCommand::Unbind {
                        socket: self.link.id,
                        endpoint: key,
                    });
                }
            }
            EndpointKind::InprocBound(name) => self.ctx.inproc_unbind(&name, self.link.id),
            _ => unreachable!("take_endpoint filters by direction"),
        }
        Ok(())
    }

    /// Drops a connection made with `connect`; messages still queued for it are discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{Context, Error, SocketType};
    ///
    /// let ctx = Context::new();
    /// let mut pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://doc-disconnect")?;
    /// let mut push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://doc-disconnect")?;
    /// push.disconnect("inproc://doc-disconnect")?;
    /// // No peer is left to take a message.
    /// assert!(matches!(push.try_send("hello").unwrap_err().error, Error::WouldBlock));
    /// assert!(matches!(
    ///     push.disconnect("inproc://doc-disconnect"),
    ///     Err(Error::EndpointNotFound(_))
    /// ));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn disconnect(&mut self, endpoint: &str) -> Result<()> {
        let record = self.take_endpoint(endpoint, false)?;
        match record.kind {
            EndpointKind::Connecting(key, pipe) => {
                // Stop using the link now, as libzmq does, so nothing more is sent into a
                // pipe that is about to be discarded.
                if let Some(pipe) = pipe {
                    self.pattern.detach(pipe);
                }
                if let Some(reactor) = &self.reactor {
                    reactor.send(IoCommand::Disconnect {
                        socket: self.link.id,
                        endpoint: key,
                    });
                }
            }
            EndpointKind::InprocConnected(pipe) => self.pattern.detach(pipe),
            _ => unreachable!("take_endpoint filters by direction"),
        }
        Ok(())
    }

    /// The endpoint most recently bound or connected, with any wildcard resolved
    /// (like libzmq's `ZMQ_LAST_ENDPOINT`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut pull = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(pull.last_endpoint(), None);
    /// pull.bind("inproc://doc-last-endpoint")?;
    /// assert_eq!(pull.last_endpoint().as_deref(), Some("inproc://doc-last-endpoint"));
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let endpoint = pull.last_endpoint().unwrap();
    /// assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with(":*"));
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn last_endpoint(&self) -> Option<String> {
        self.endpoints.last().map(|e| e.resolved.clone())
    }

    pub(super) fn take_endpoint(&mut self, endpoint: &str, bound: bool) -> Result<EndpointRecord> {
        let pos = self.endpoints.iter().rposition(|e| {
            let kind_ok = match e.kind {
                EndpointKind::Listening(_) | EndpointKind::InprocBound(_) => bound,
                EndpointKind::Connecting(..) | EndpointKind::InprocConnected(_) => !bound,
            };
            kind_ok && (e.given == endpoint || e.resolved == endpoint)
        });
        match pos {
            Some(i) => Ok(self.endpoints.remove(i)),
            None => Err(Error::EndpointNotFound(endpoint.to_owned())),
        }
    }

    pub(super) fn reactor(&mut self) -> Result<Arc<ReactorShared>> {
        if let Some(r) = &self.reactor {
            return Ok(r.clone());
        }
        let r = self.ctx.reactor_for(self.link.id)?;
        self.reactor = Some(r.clone());
        Ok(r)
    }

    /// What the sessions of the next endpoint need; fails if the security options are
    /// incomplete (a CURVE server without its secret key, a client without the server's).
    pub(super) fn session_config(&mut self) -> Result<SessionConfig> {
        Ok(SessionConfig {
            socket_type: self.kind,
            security: self.options.security.security()?,
            options: self.options.clone(),
            connect_routing_id: None,
            endpoint: String::new(),
            zap: self.ctx.zap(),
        })
    }

    /// Whether this socket's links conflate (`conflate` on, and meaningful for its type).
    pub(super) fn conflating(&self) -> bool {
        self.options.conflate && self.kind.conflates()
    }

    pub(super) fn inproc_peer(&self) -> crate::inproc::Peer {
        crate::inproc::Peer {
            socket_id: self.link.id,
            mailbox: self.link.mailbox.clone(),
            socket_type: self.kind,
            sndhwm: self.options.sndhwm,
            rcvhwm: self.options.rcvhwm,
            routing_id: self.options.routing_id.clone(),
            conflate: self.conflating(),
        }
    }
}
