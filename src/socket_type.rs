//! The eleven ZeroMQ socket types, their ZMTP names and the peer-compatibility table.
//!
//! This is the one place that knows which socket types may talk to each other
//! (RFC 23 and RFC 37). The handshake checks every peer against [`SocketType::accepts`]
//! and closes the connection on a mismatch.

use std::fmt;

/// The type of a ZeroMQ socket, which decides its messaging pattern.
///
/// # Examples
///
/// ```
/// use ferrozmq::SocketType;
///
/// assert_eq!(SocketType::Push.zmtp_name(), "PUSH");
/// assert!(SocketType::Push.accepts(SocketType::Pull));
/// assert!(!SocketType::Push.accepts(SocketType::Push));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair: one peer, both directions (RFC 31).
    Pair,
    /// Publisher: sends to every matching subscriber, never blocks (RFC 29).
    Pub,
    /// Subscriber: receives what matches its subscriptions (RFC 29).
    Sub,
    /// Requester: strict request/reply alternation (RFC 28).
    Req,
    /// Replier: answers requests (RFC 28).
    Rep,
    /// Asynchronous requester: load-balances out, fair-queues in (RFC 28).
    Dealer,
    /// Asynchronous replier: routes by peer routing id (RFC 28).
    Router,
    /// Pipeline sink: fair-queues in (RFC 30).
    Pull,
    /// Pipeline source: load-balances out (RFC 30).
    Push,
    /// Publisher that also hands subscriptions to the application (RFC 29).
    XPub,
    /// Subscriber that sends subscriptions as messages (RFC 29).
    XSub,
}

impl SocketType {
    /// Every socket type, in the order of libzmq's numbering.
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ];

    /// The name this type carries in the ZMTP `Socket-Type` property.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::SocketType::XPub.zmtp_name(), "XPUB");
    /// ```
    pub fn zmtp_name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
        }
    }

    /// Parses a ZMTP `Socket-Type` value. Matching is exact, as in libzmq.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::SocketType;
    /// assert_eq!(SocketType::from_zmtp_name(b"PULL"), Some(SocketType::Pull));
    /// assert_eq!(SocketType::from_zmtp_name(b"pull"), None);
    /// ```
    pub fn from_zmtp_name(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL
            .into_iter()
            .find(|t| t.zmtp_name().as_bytes() == name)
    }

    /// Whether a socket of this type may talk to a peer of type `peer`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::SocketType;
    /// assert!(SocketType::Req.accepts(SocketType::Router));
    /// assert!(!SocketType::Req.accepts(SocketType::Req));
    /// ```
    pub fn accepts(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Pair, Pair)
                | (Pub, Sub | XSub)
                | (XPub, Sub | XSub)
                | (Sub, Pub | XPub)
                | (XSub, Pub | XPub)
                | (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Push, Pull)
                | (Pull, Push)
        )
    }

    /// Whether this type announces an `Identity` property in its handshake (as libzmq does
    /// for REQ, DEALER and ROUTER).
    pub(crate) fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }

    /// Whether `ZMQ_CONFLATE` applies to this type (as in libzmq: PUSH, PULL, PUB, SUB,
    /// DEALER).
    pub(crate) fn conflates(self) -> bool {
        matches!(
            self,
            SocketType::Push
                | SocketType::Pull
                | SocketType::Pub
                | SocketType::Sub
                | SocketType::Dealer
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.zmtp_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_is_symmetric() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.accepts(b), b.accepts(a), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(
                SocketType::from_zmtp_name(t.zmtp_name().as_bytes()),
                Some(t)
            );
        }
    }

    #[test]
    fn table_matches_rfc() {
        use SocketType::*;
        let count = |t: SocketType| SocketType::ALL.iter().filter(|p| t.accepts(**p)).count();
        assert_eq!(count(Pair), 1);
        assert_eq!(count(Push), 1);
        assert_eq!(count(Dealer), 3);
        assert_eq!(count(Router), 3);
        assert_eq!(count(Pub), 2);
        assert!(!Pub.accepts(Pub));
    }
}
