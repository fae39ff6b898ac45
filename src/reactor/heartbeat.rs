//! ZMTP heartbeats for one connection, as a pure state machine: the session tells it what
//! arrived and when, and it says when to send a PING and when the connection is dead.
//!
//! The rules (libzmq's options `ZMQ_HEARTBEAT_IVL`, `_TIMEOUT`, `_TTL`, RFC 37):
//! - After `ivl` in which nothing arrived from the peer, send a PING carrying our TTL.
//! - If nothing at all arrives within `timeout` of that PING, the connection is dead.
//! - A PING from the peer with a TTL arms a deadline: if nothing arrives within that TTL,
//!   the connection is dead.
//! - Anything that arrives clears both deadlines.
//!
//! What must hold: bytes arriving cost three stores, with no timer change; the next deadline
//! only moves when a timer fires or a deadline is armed or cleared, so the I/O thread's timer
//! heap sees at most a few entries per interval, whatever the traffic.

use std::time::{Duration, Instant};

/// What the session must do when a heartbeat deadline passed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Beat {
    /// Nothing yet.
    Idle,
    /// Send a PING announcing this TTL (deciseconds).
    SendPing(u16),
    /// The connection is dead, for this reason.
    Dead(String),
}

/// The heartbeat state of one connection.
#[derive(Debug)]
pub(super) struct Heartbeat {
    ivl: Option<Duration>,
    timeout: Duration,
    ttl_deciseconds: u16,
    /// When bytes last arrived.
    heard_at: Option<Instant>,
    /// When to look again at whether a PING is due (lazily: arrivals do not move it).
    check_at: Option<Instant>,
    /// After our PING: dead unless something arrives before this.
    silence_deadline: Option<Instant>,
    /// After the peer's PING with a TTL: dead unless something arrives before this.
    peer_ttl_deadline: Option<Instant>,
}

impl Heartbeat {
    /// Heartbeats with interval `ivl` (`None`: only honour the peer's TTL), silence
    /// `timeout` after our PING (`None`: the interval), and our `ttl` to announce.
    pub(super) fn new(
        ivl: Option<Duration>,
        timeout: Option<Duration>,
        ttl: Option<Duration>,
    ) -> Heartbeat {
        let ttl_deciseconds = ttl.map_or(0, |t| {
            u16::try_from(t.as_millis() / 100).unwrap_or(u16::MAX)
        });
        Heartbeat {
            ivl,
            timeout: timeout.or(ivl).unwrap_or_default(),
            ttl_deciseconds,
            heard_at: None,
            check_at: None,
            silence_deadline: None,
            peer_ttl_deadline: None,
        }
    }

    /// The handshake completed at `now`: start the interval.
    pub(super) fn start(&mut self, now: Instant) {
        self.heard_at = Some(now);
        self.check_at = self.ivl.map(|ivl| now + ivl);
    }

    /// The connection is gone: forget every deadline.
    pub(super) fn stop(&mut self) {
        self.heard_at = None;
        self.check_at = None;
        self.silence_deadline = None;
        self.peer_ttl_deadline = None;
    }

    /// Bytes arrived from the peer at `now`.
    pub(super) fn heard(&mut self, now: Instant) {
        self.heard_at = Some(now);
        self.silence_deadline = None;
        self.peer_ttl_deadline = None;
    }

    /// The peer sent a PING announcing `ttl` deciseconds (0: none).
    pub(super) fn peer_ping(&mut self, now: Instant, ttl: u16) {
        if ttl > 0 && self.peer_ttl_deadline.is_none() {
            self.peer_ttl_deadline = Some(now + Duration::from_millis(u64::from(ttl) * 100));
        }
    }

    /// The earliest time `on_timer` has something to do.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        [self.check_at, self.silence_deadline, self.peer_ttl_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// A deadline may have passed: says what to do at `now`.
    pub(super) fn on_timer(&mut self, now: Instant) -> Beat {
        if self.silence_deadline.is_some_and(|t| t <= now) {
            return Beat::Dead(format!(
                "heartbeat timed out: nothing arrived within {} ms of our PING",
                self.timeout.as_millis()
            ));
        }
        if self.peer_ttl_deadline.is_some_and(|t| t <= now) {
            return Beat::Dead("the TTL announced in the peer's PING ran out".to_owned());
        }
        let (Some(check), Some(ivl)) = (self.check_at, self.ivl) else {
            return Beat::Idle;
        };
        if check > now {
            return Beat::Idle;
        }
        let due = self.heard_at.map_or(now, |h| h + ivl);
        if due > now {
            self.check_at = Some(due); // Traffic came meanwhile: look again later.
            return Beat::Idle;
        }
        self.check_at = Some(now + ivl);
        if self.silence_deadline.is_none() {
            self.silence_deadline = Some(now + self.timeout);
        }
        Beat::SendPing(self.ttl_deciseconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_silent_peer_gets_a_ping_and_then_is_dead() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(Some(100 * MS), Some(300 * MS), Some(2500 * MS));
        hb.start(t0);
        assert_eq!(hb.next_deadline(), Some(t0 + 100 * MS));
        assert_eq!(hb.on_timer(t0 + 50 * MS), Beat::Idle);
        assert_eq!(hb.on_timer(t0 + 100 * MS), Beat::SendPing(25));
        // Still silent: another PING each interval, and the first timeout holds.
        assert_eq!(hb.on_timer(t0 + 200 * MS), Beat::SendPing(25));
        assert_eq!(hb.next_deadline(), Some(t0 + 300 * MS));
        assert!(matches!(hb.on_timer(t0 + 400 * MS), Beat::Dead(_)));
    }

    #[test]
    fn traffic_postpones_the_ping_and_clears_the_timeout() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(Some(100 * MS), None, None);
        hb.start(t0);
        hb.heard(t0 + 60 * MS);
        // The timer fires at the old time and moves itself to 100 ms after the traffic.
        assert_eq!(hb.on_timer(t0 + 100 * MS), Beat::Idle);
        assert_eq!(hb.next_deadline(), Some(t0 + 160 * MS));
        assert_eq!(hb.on_timer(t0 + 160 * MS), Beat::SendPing(0));
        // The timeout defaults to the interval; an answer clears it.
        assert_eq!(hb.next_deadline(), Some(t0 + 260 * MS));
        hb.heard(t0 + 170 * MS);
        assert_eq!(hb.next_deadline(), Some(t0 + 260 * MS)); // now the next check
        assert_eq!(hb.on_timer(t0 + 260 * MS), Beat::Idle);
    }

    #[test]
    fn the_peer_ttl_is_honoured_until_something_arrives() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(None, None, None);
        hb.start(t0);
        assert_eq!(hb.next_deadline(), None);
        hb.peer_ping(t0, 5); // 500 ms
        assert_eq!(hb.next_deadline(), Some(t0 + 500 * MS));
        hb.heard(t0 + 100 * MS);
        assert_eq!(hb.next_deadline(), None);
        hb.peer_ping(t0 + 100 * MS, 5);
        assert!(matches!(hb.on_timer(t0 + 600 * MS), Beat::Dead(_)));
        hb.stop();
        assert_eq!(hb.next_deadline(), None);
    }

    #[test]
    fn our_ttl_is_rounded_down_to_deciseconds_and_capped() {
        let hb = Heartbeat::new(Some(MS), None, Some(1999 * MS));
        assert_eq!(hb.ttl_deciseconds, 19);
        let hb = Heartbeat::new(Some(MS), None, Some(Duration::from_secs(100_000)));
        assert_eq!(hb.ttl_deciseconds, u16::MAX);
    }
}
