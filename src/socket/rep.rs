//! REP (RFC 28): a ROUTER that answers one request at a time. It takes the next request
//! from any peer, keeps its envelope (the routing id and every frame up to and including
//! the empty delimiter) and puts it back in front of the reply, which goes to the peer the
//! request came from.
//!
//! What must hold: `recv` and `send` strictly alternate (`WrongState` otherwise); a request
//! without a delimiter, or with nothing after it, is dropped and the next one is read; a
//! reply whose peer has gone (or is full) is dropped, as in libzmq, and the socket is ready
//! for the next request either way.

use super::pattern::{Pattern, PeerMeta, TypeOption};
use super::router::Router;
use crate::pipe::{Pipe, PipeId};
use crate::{Error, Frame, Message, Result, SendError, SocketType};

/// Splits `msg` after its first empty frame at index `from` or later into the envelope
/// (including that delimiter) and the body. `None` if there is no such delimiter or no
/// body after it. The body keeps the message's metadata (its connection's properties).
pub(crate) fn split_envelope(msg: Message, from: usize) -> Option<(Vec<Frame>, Message)> {
    let meta = msg.shared_metadata();
    let mut frames = msg.into_frames();
    let delimiter = from + frames.get(from..)?.iter().position(|f| f.is_empty())?;
    let body = frames.split_off(delimiter + 1);
    if body.is_empty() {
        return None;
    }
    let mut body = Message::from(body);
    body.set_metadata(meta);
    Some((frames, body))
}

/// REP socket rules.
#[derive(Debug, Default)]
pub(crate) struct Rep {
    router: Router,
    /// The envelope of the request being answered, while a reply is owed.
    replying: Option<Vec<Frame>>,
    /// A well-formed request taken early (by polling), with its envelope.
    ready: Option<(Vec<Frame>, Message)>,
}

impl Rep {
    /// The next well-formed request, dropping malformed ones.
    fn next_request(&mut self) -> Option<(Vec<Frame>, Message)> {
        if let Some(ready) = self.ready.take() {
            return Some(ready);
        }
        while let Ok(msg) = self.router.recv() {
            // Frame 0 is the routing id the ROUTER core added.
            match split_envelope(msg, 1) {
                Some(request) => return Some(request),
                None => log::debug!("REP: dropping a request without an envelope delimiter"),
            }
        }
        None
    }
}

impl Pattern for Rep {
    fn attach(&mut self, pipe: Pipe, peer: PeerMeta) {
        self.router.attach(pipe, peer);
    }

    fn detach(&mut self, id: PipeId) {
        self.router.detach(id);
    }

    fn activated(&mut self, id: PipeId) {
        self.router.activated(id);
    }

    fn send(&mut self, message: Message) -> Result<(), SendError> {
        let Some(envelope) = self.replying.take() else {
            return Err(SendError {
                error: Error::WrongState("REP must receive a request before sending a reply"),
                message,
            });
        };
        let route_len = envelope.len();
        let reply: Message = envelope.into_iter().chain(message).collect();
        // The ROUTER core is not mandatory: an unreachable or full peer drops the reply.
        self.router.send(reply).map_err(|e| SendError {
            error: e.error,
            message: e.message.into_iter().skip(route_len).collect(),
        })
    }

    fn recv(&mut self) -> Result<Message> {
        if self.replying.is_some() {
            return Err(Error::WrongState(
                "REP must send the reply before receiving another request",
            ));
        }
        let (envelope, body) = self.next_request().ok_or(Error::WouldBlock)?;
        self.replying = Some(envelope);
        Ok(body)
    }

    fn can_send(&mut self) -> bool {
        self.replying.is_some()
    }

    fn can_recv(&mut self) -> bool {
        if self.replying.is_some() {
            return false;
        }
        self.ready = self.next_request();
        self.ready.is_some()
    }

    fn set_alarm(&mut self, alarm: std::sync::Arc<dyn crate::pipe::Alarm>) {
        self.router.set_alarm(alarm);
    }

    fn unroutable(&self) -> u64 {
        self.router.unroutable()
    }

    fn set_option(&mut self, option: TypeOption, socket_type: SocketType) -> Result<()> {
        Err(super::pattern::unsupported_option(&option, socket_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::{Mailbox, Notifier};
    use crate::pipe::link;

    #[test]
    fn split_envelope_cases() {
        let m = |f: &[&'static str]| Message::multipart(f.iter().copied());
        let (env, body) = split_envelope(m(&["id", "hop", "", "a", "b"]), 1).unwrap();
        assert_eq!(env, vec!["id", "hop", ""]);
        assert_eq!(body, Message::multipart(["a", "b"]));
        // The search starts at `from`: an empty frame before it does not count.
        let (env, _) = split_envelope(m(&["", "x", "", "a"]), 1).unwrap();
        assert_eq!(env.len(), 3);
        assert!(split_envelope(m(&["id", "a", "b"]), 1).is_none());
        assert!(split_envelope(m(&["id", ""]), 1).is_none());
        assert!(split_envelope(m(&["id"]), 3).is_none());
        assert!(split_envelope(Message::new(), 0).is_none());
    }

    #[test]
    fn alternation_and_malformed_requests() {
        let mut rep = Rep::default();
        let mb = Mailbox::new();
        let (ours, mut theirs) = link(Notifier::Socket(mb.clone()), Notifier::Socket(mb), 0, 0);
        rep.attach(ours, PeerMeta::default());
        assert!(matches!(
            rep.send(Message::from("x")).unwrap_err().error,
            Error::WrongState(_)
        ));
        theirs
            .writer
            .try_write(Message::from("no delimiter"))
            .unwrap();
        theirs
            .writer
            .try_write(Message::multipart(["hop", "", "q"]))
            .unwrap();
        rep.activated(theirs.id());
        assert!(rep.can_recv());
        assert_eq!(rep.recv().unwrap(), Message::from("q"));
        assert!(matches!(rep.recv(), Err(Error::WrongState(_))));
        assert!(!rep.can_recv());
        rep.send(Message::from("r")).unwrap();
        assert_eq!(
            theirs.reader.try_read().unwrap(),
            Message::multipart(["hop", "", "r"])
        );
        assert!(matches!(rep.recv(), Err(Error::WouldBlock)));
    }
}
