//! Soak test: pushes millions of messages through every pattern (PUSH/PULL, REQ/REP,
//! DEALER/ROUTER, PUB/SUB, PAIR) over every transport (inproc, ipc, tcp), in rotation, with
//! seeded random peer restarts (ipc, tcp) and faults injected through the fault proxy (tcp:
//! cuts with FIN or RST, stalls, delays, refusals, corruption), and checks the whole message
//! history and the process's memory and descriptors.
//!
//! Run it with `cargo test --release --test soak -- --ignored soak`. `FERROZMQ_SOAK_SECS`
//! sets the duration (default 600), `FERROZMQ_SOAK_SEED` replays a run's random choices
//! (the seed is printed first; timing still differs between runs), `FERROZMQ_SOAK_ONLY`
//! (say `tcp` or `PAIR/ipc`) narrows the rotation, and `FERROZMQ_SOAK_ALLOW_LINGER_LOSS=1`
//! counts a restarted sender's lost tail instead of failing on it. Progress and the
//! summary go straight to stderr, so they show without `--nocapture`.
//!
//! What must hold (and is checked):
//! - No message is received twice, none arrives that was never sent or at a receiver it was
//!   not sent to, none arrives altered, and from one sender to one receiver the sequence
//!   numbers strictly increase, with one documented exception (reliability.md, **Order**):
//!   over tcp, a PULL or SUB that bound fair-queues a reconnected sender's new connection
//!   with the old one's unread tail, so after a gap taken inside a fault window the
//!   messages of that gap may still come as one more increasing run (exactly consecutive
//!   from the gap's start on a strict track), as `check_two_runs` in tests/faults.rs
//!   accepts. A ROUTER keeps a fixed-id DEALER's order across a reconnect, so it stays
//!   strict.
//! - Nothing is lost outside the documented cases: a gap is allowed only while a fault on
//!   that link is open — a cut (alone or with refusals) or corruption of its connection, or
//!   a restart of its receiver (what the kernel or the dead connection held, and the closed
//!   socket's unread queue). One gap uses up one fault, and a fault closes with the first
//!   message received that was sent after it (a corruption stays open at least 3 s: it acts
//!   when the garbage is parsed). PUB may drop for its deliberately slow subscriber (over
//!   the high-water mark) and while a subscriber is not (yet) subscribed. A restarted PAIR
//!   that connects may be refused by its peer while the old instance's connection is still
//!   there, losing the head of its new stream (reliability.md, item 3). Stalls, delays and
//!   a sender's restart (it lingers) lose nothing, except over tcp when the closed sender's
//!   peer was sending to it too: its data draws a reset that destroys the closed socket's
//!   untransmitted tail (reliability.md, item 1; counted as `lingerl`). A closed sender
//!   whose peer only reads must deliver its whole tail, and so must a PAIR that connected
//!   to a bound PAIR: that PAIR drops a closed peer's unread messages when the next peer
//!   attaches (`Pair::attach`), which is a bug, not a reset.
//! - Faults heal: after the last one every link carries messages again within 20 s, and
//!   everything sent then arrives; a slice where nothing arrives for 15 s has stalled.
//! - REQ/REP: every request gets exactly its own reply; a resend happens only after a fault.
//! - After the warm-up, RSS does not grow (last third's peak within 1.5x + 32 MiB of the
//!   first third's) and the fd count returns to its warm-up level between slices.
//! - Nothing synchronises by sleeping: the driver waits with `poll` or polls with
//!   deadlines, and every loop is bounded in count or time. Traffic stays on 127.0.0.1.
//!
//! How: each slice runs one pattern over one transport (two or three sockets, in one
//! context that lives for the whole run) from a single non-blocking driver thread, so the
//! driver knows each stream's exact sequence number at every fault it injects; over tcp
//! every connection runs through its own `FaultProxy`. The slice then stops injecting,
//! waits for every fault to heal, drains, checks the tails, closes everything and waits
//! for the fd count to come back.

mod util;

use ferrozmq::{poll, Context, Error, Message, PollEvents, PollItem, Socket, SocketType};
use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use util::proxy::FaultProxy;
use util::Transport;

// ----- tuning -----

/// Every socket lingers this long when closed, so a restarted sender's queue still goes out.
const LINGER: Duration = Duration::from_secs(2);
/// Bound on each end-of-slice phase: faults healing, then every stream draining.
const SETTLE: Duration = Duration::from_secs(20);
/// A slice in which no message at all arrives for this long has stalled.
const STALL_LIMIT: Duration = Duration::from_secs(15);
/// A REQ resends after this long without its reply (only legitimate after a fault).
const REQ_TIMEOUT: Duration = Duration::from_secs(3);
/// The PUB runs at most this far ahead of its strict subscriber...
const PUB_WINDOW: u64 = 500;
/// ... which is well under its high-water mark, so the strict subscriber never hits it.
const PUB_SNDHWM: usize = 5000;
/// The slow subscriber's mark: PUB drops for it all the time.
const SLOW_SUB_RCVHWM: usize = 20;
/// Far above any message the soak sends, so a corrupted length is refused quickly.
const MAX_MSG: u64 = 64 * 1024;
/// How many fds over the warm-up level a settled slice boundary may show.
const FD_SLACK: usize = 4;
/// How many violations of one slice are printed as they are found (all are counted).
const VIOLATIONS_SHOWN: usize = 8;

/// Writes a line to stderr past the test harness's capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={v}: {e}")))
}

// ----- seeded PRNG (SplitMix64) -----

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            xs.swap(i, j);
        }
    }
    fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }
}

// ----- message bodies: tag, stream, sequence number, attempt, checksum, padding -----

/// A data message the receiver checks.
const TAG_DATA: u8 = b'S';
/// A PUB message on a topic nobody subscribes to: must never arrive.
const TAG_UNWANTED: u8 = b'N';
/// A REP's reply.
const TAG_REPLY: u8 = b'R';
const HEADER: usize = 25;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Body {
    tag: u8,
    stream: u64,
    seq: u64,
    attempt: u32,
}

fn fnv(data: &[u8]) -> u32 {
    data.iter().fold(0x811C_9DC5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn encode(b: Body, pad: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER + pad);
    v.push(b.tag);
    v.extend_from_slice(&b.stream.to_le_bytes());
    v.extend_from_slice(&b.seq.to_le_bytes());
    v.extend_from_slice(&b.attempt.to_le_bytes());
    v.extend_from_slice(&[0; 4]);
    let mut x = b.seq as u8;
    v.extend((0..pad).map(|_| {
        x = x.wrapping_mul(31).wrapping_add(7);
        x
    }));
    let sum = fnv(&v);
    v[21..25].copy_from_slice(&sum.to_le_bytes());
    v
}

/// The body of `frame`, or `None` if it is too short or its checksum does not match.
fn decode(frame: &[u8]) -> Option<Body> {
    if frame.len() < HEADER {
        return None;
    }
    let mut copy = frame.to_vec();
    let sum = u32::from_le_bytes(copy[21..25].try_into().unwrap());
    copy[21..25].copy_from_slice(&[0; 4]);
    if fnv(&copy) != sum {
        return None;
    }
    Some(Body {
        tag: frame[0],
        stream: u64::from_le_bytes(frame[1..9].try_into().unwrap()),
        seq: u64::from_le_bytes(frame[9..17].try_into().unwrap()),
        attempt: u32::from_le_bytes(frame[17..21].try_into().unwrap()),
    })
}

/// Mostly tiny messages, some of a few KiB, a few of tens of KiB.
fn pad_len(rng: &mut Rng) -> usize {
    match rng.below(1000) {
        0..=899 => rng.below(40) as usize,
        900..=994 => rng.below(4096) as usize,
        _ => rng.below(40_000) as usize,
    }
}

// ----- the history checker -----

/// `FERROZMQ_SOAK_ALLOW_LINGER_LOSS=1`: count a restarted sender's lost tail instead of
/// failing on it even where its peer only read (undocumented; see `Checker::finish`), to
/// hunt for other violations.
fn allow_linger_loss() -> bool {
    std::env::var("FERROZMQ_SOAK_ALLOW_LINGER_LOSS").is_ok_and(|v| v == "1")
}

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

/// One sender instance's sequence.
struct StreamRec {
    label: String,
    from: usize,
    next: u64,
    /// When its sender was closed (or its receiver replaced): nothing more will be sent, so
    /// a fault on it can never close.
    retired: Option<Instant>,
    /// Its sender was closed by a restart: its tail must still arrive (it lingers).
    closed_sender: bool,
    /// When its sender was closed: each stream from one of its receivers back to its node,
    /// with how much of that stream the closed node had read by then. If a receiver then
    /// had more on its way to the closed node (or sent more), that data reaches the closed
    /// socket and draws a reset (see `Checker::finish`).
    peers_at_close: Vec<(usize, u64, u64)>,
}

/// What one receiver (a node, whichever socket instance plays it) got of one stream.
struct Track {
    last: Option<u64>,
    received: u64,
    /// PUB's slow subscriber: gaps are expected anywhere.
    lossy: bool,
    /// Open faults, each the stream's next sequence number when it happened. A gap needs an
    /// open fault and uses it up (one connection loss makes one gap); a fault also closes
    /// once a message sent after it arrives.
    open: Vec<Fault>,
    /// The receiver fair-queues this sender's connections: it bound the endpoint (each
    /// reconnect is a new accepted connection with its own queue) and is a PULL or SUB
    /// (a ROUTER parks a peer whose fixed routing id is still held, a PAIR takes one peer),
    /// over tcp (the only transport where a connection dies while both sockets live).
    interleave: bool,
    /// Gaps that may be a reconnect: taken inside a fault window on an `interleave` track,
    /// while the old connection's unread tail may still come (see `Tail`).
    jumps: Vec<Jump>,
    /// The old connection's run, still arriving after the new connection's head.
    tail: Option<Tail>,
}

/// A gap `lo..hi` taken inside a fault window: `hi` may be the head of a new connection,
/// and `lo..` the unread tail of the old one.
#[derive(Clone, Copy, Debug)]
struct Jump {
    lo: u64,
    hi: u64,
    at: Instant,
}

/// The old connection's run after a reconnect: `next` is the lowest sequence number it may
/// still deliver, `hi` the new connection's first (the old run stays below it).
#[derive(Clone, Copy, Debug)]
struct Tail {
    next: u64,
    hi: u64,
}

/// What `Checker::late_tail` found a message below the last received to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Late {
    /// Not an old connection's tail: a violation.
    No,
    /// The first of an old connection's tail after a reconnect.
    NewRun,
    /// The next of that tail.
    Continues,
}

/// How long after a reconnect's gap the old connection's first late message may come: the
/// receiver fair-queues, so its unread tail is read within a few rounds.
const TAIL_WINDOW: Duration = Duration::from_secs(5);

/// An open fault: the sender's next sequence number (or REQ attempt number) when it
/// happened, and the earliest time it may close (a corruption acts when the flipped bytes
/// are parsed, which can be later than the first message sent after it arrives).
#[derive(Clone, Copy, Debug)]
struct Fault {
    at: u64,
    hold: Instant,
}

impl Fault {
    fn closed_by(self, seq: u64) -> bool {
        seq >= self.at && Instant::now() >= self.hold
    }
}

/// How long a corruption's window stays open at least.
const CORRUPT_HOLD: Duration = Duration::from_secs(3);

#[derive(Default)]
struct Checker {
    streams: HashMap<u64, StreamRec>,
    tracks: HashMap<(u64, usize), Track>,
    /// Gaps (and tails) lost at faults.
    lost: u64,
    /// Gaps at the slow subscriber (PUB's high-water mark) and before a subscription.
    dropped: u64,
    /// Tails of restarted senders that never arrived although they lingered.
    linger_lost: u64,
    /// Old connections' tails that arrived after a reconnect's new head: runs, messages.
    late_runs: u64,
    late: u64,
    violations: Vec<String>,
    /// Links whose receiver fair-queues the sender's connections: (sender, receiver).
    interleaving: HashSet<(usize, usize)>,
    /// tcp: a closed socket answers data with a reset, which destroys what it had not yet
    /// transmitted (reliability.md, item 1).
    reset_on_close: bool,
    /// Links (sender, receiver) whose receiver is a PAIR that bound: when the sender's new
    /// instance connects after the old one closed, the PAIR attaches it and drops the old
    /// connection's unread messages (`Pair::attach`, src/socket/pair.rs, replaces a peer
    /// whose writer is closed without draining its reader; seen over ipc and tcp with a
    /// peer that only sent). That is not documented, so a closed sender's lost tail there
    /// stays a violation even over tcp, where a reset could also explain it.
    pair_replaces: HashSet<(usize, usize)>,
}

impl Checker {
    /// A new stream from node `from` to each of `to` (node, lossy, open from the start).
    fn stream(&mut self, label: String, from: usize, to: &[(usize, bool, bool)]) -> u64 {
        let id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
        self.streams.insert(
            id,
            StreamRec {
                label,
                from,
                next: 0,
                retired: None,
                closed_sender: false,
                peers_at_close: Vec::new(),
            },
        );
        for &(node, lossy, open) in to {
            let start = Fault {
                at: 0,
                hold: Instant::now(),
            };
            let open = if open { vec![start] } else { Vec::new() };
            self.tracks.insert(
                (id, node),
                Track {
                    last: None,
                    received: 0,
                    lossy,
                    open,
                    interleave: self.interleaving.contains(&(from, node)),
                    jumps: Vec::new(),
                    tail: None,
                },
            );
        }
        id
    }

    fn next(&self, stream: u64) -> u64 {
        self.streams[&stream].next
    }

    fn commit(&mut self, stream: u64) {
        self.streams.get_mut(&stream).unwrap().next += 1;
    }

    fn retire(&mut self, stream: u64, closed_sender: bool) {
        let Some(s) = self.streams.get(&stream) else {
            return;
        };
        let from = s.from;
        let receivers: HashSet<usize> = self
            .tracks
            .keys()
            .filter(|&&(st, _)| st == stream)
            .map(|&(_, to)| to)
            .collect();
        // What each receiver had sent back to the closing node and that node had not read.
        let peers: Vec<(usize, u64, u64)> = self
            .tracks
            .iter()
            .filter(|(&(x, to), _)| to == from && receivers.contains(&self.streams[&x].from))
            .map(|(&(x, _), t)| (self.streams[&x].from, x, t.last.map_or(0, |l| l + 1)))
            .collect();
        let s = self.streams.get_mut(&stream).unwrap();
        s.retired = Some(Instant::now());
        s.closed_sender = closed_sender;
        s.peers_at_close = peers;
    }

    /// Whether receiver `to` had data on its way to `stream`'s closed sender when it closed,
    /// or sent it more afterwards: data that reaches the closed socket.
    fn peer_sent_to_closed(&self, stream: u64, to: usize) -> bool {
        self.streams[&stream]
            .peers_at_close
            .iter()
            .any(|&(node, x, read)| node == to && self.streams[&x].next > read)
    }

    /// Opens a fault on every track whose stream and receiver pass `affected`; says which
    /// (for the event log).
    fn fault(&mut self, hold: Duration, affected: impl Fn(usize, usize) -> bool) -> String {
        let mut said = Vec::new();
        let hold = Instant::now() + hold;
        for (&(stream, to), t) in self.tracks.iter_mut() {
            let s = &self.streams[&stream];
            if affected(s.from, to) {
                t.open.push(Fault { at: s.next, hold });
                said.push(format!(
                    "{}->{to} at {} (got {:?})",
                    s.label, s.next, t.last
                ));
            }
        }
        said.sort();
        said.join(", ")
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    /// Checks one received data message: `body` arrived at node `to`.
    fn receive(&mut self, body: Body, to: usize) {
        let Some(s) = self.streams.get(&body.stream) else {
            self.violation(format!(
                "node {to} got a message of unknown stream {body:?}"
            ));
            return;
        };
        if body.seq >= s.next {
            let what = format!("{}: seq {} received but never sent", s.label, body.seq);
            self.violation(what);
            return;
        }
        let label = s.label.clone();
        let Some(t) = self.tracks.get_mut(&(body.stream, to)) else {
            self.violation(format!(
                "{label}: seq {} misdelivered to node {to}",
                body.seq
            ));
            return;
        };
        let expected = t.last.map_or(0, |l| l + 1);
        let late = if body.seq < expected {
            Self::late_tail(t, body.seq)
        } else {
            Late::No
        };
        if late != Late::No {
            self.late += 1;
            if late == Late::NewRun {
                self.late_runs += 1;
            }
            // The old connection's tail after a reconnect (reliability.md, **Order**): it
            // fills part of the gap that was counted when the new head arrived.
            if t.lossy {
                self.dropped -= 1;
            } else {
                self.lost -= 1;
            }
            t.received += 1;
            return;
        }
        if body.seq < expected {
            let what = if Some(body.seq) == t.last {
                "duplicate"
            } else {
                "out of order"
            };
            let last = t.last;
            self.violation(format!(
                "{label} -> node {to}: {what}: seq {} after {last:?}",
                body.seq
            ));
            return;
        }
        let mut gap_violation = None;
        if body.seq > expected {
            let gap = body.seq - expected;
            if t.interleave && !t.open.is_empty() {
                // Inside a fault window this gap may be a reconnect: the new connection's
                // head, with the old one's unread tail still to come.
                t.jumps.retain(|j| j.at.elapsed() < TAIL_WINDOW);
                t.jumps.push(Jump {
                    lo: expected,
                    hi: body.seq,
                    at: Instant::now(),
                });
            }
            if t.lossy {
                self.dropped += gap;
            } else if let Some(first) = (0..t.open.len()).min_by_key(|&k| t.open[k].at) {
                self.lost += gap;
                t.open.remove(first);
            } else {
                gap_violation = Some(format!(
                    "{label} -> node {to}: {gap} message(s) lost (seq {expected}..{}) with no fault",
                    body.seq
                ));
            }
        }
        t.last = Some(body.seq);
        t.received += 1;
        t.open.retain(|f| !f.closed_by(body.seq));
        if let Some(v) = gap_violation {
            self.violation(v);
        }
    }

    /// Whether `seq`, below what track `t` has already received, is the old connection's
    /// tail interleaving with a new connection's head (reliability.md, **Order**, and
    /// `check_two_runs` in tests/faults.rs): after a gap taken inside a fault window (a
    /// `Jump`), the messages below it form at most one more run, increasing, inside that
    /// gap, and for a strict track exactly the consecutive messages from the gap's start
    /// (the old connection delivers a prefix: its losses are at its end). Anything else
    /// below `last` — a duplicate, a third run, a reorder outside a fault window — is not.
    fn late_tail(t: &mut Track, seq: u64) -> Late {
        if let Some(tail) = &mut t.tail {
            let fits = if t.lossy {
                seq >= tail.next
            } else {
                seq == tail.next
            };
            if fits && seq < tail.hi {
                tail.next = seq + 1;
                return Late::Continues;
            }
        }
        let Some(k) = t.jumps.iter().position(|j| {
            j.at.elapsed() < TAIL_WINDOW
                && seq < j.hi
                && if t.lossy { seq >= j.lo } else { seq == j.lo }
        }) else {
            return Late::No;
        };
        // The old run is now fixed: no other gap can take a late run (at most two runs).
        let hi = t.jumps[k].hi;
        t.jumps.clear();
        t.tail = Some(Tail { next: seq + 1, hi });
        Late::NewRun
    }

    /// Whether `stream` may send: its strict receivers are less than `window` behind
    /// (`Some(true)`), or the ones that are not have an open fault, so they may never catch
    /// up and the sender must trickle on to close it (`Some(false)`), or not (`None`).
    fn window(&self, stream: u64, window: u64) -> Option<bool> {
        let next = self.next(stream);
        let mut free = true;
        for (&(s, _), t) in &self.tracks {
            if s != stream || t.lossy || next - t.last.map_or(0, |l| l + 1) < window {
                continue;
            }
            if t.open.is_empty() {
                return None;
            }
            free = false;
        }
        Some(free)
    }

    /// Whether any strict track of a live stream still has an open fault.
    fn any_open(&self) -> bool {
        self.tracks.iter().any(|(&(s, _), t)| {
            !t.lossy && !t.open.is_empty() && self.streams[&s].retired.is_none()
        })
    }

    /// Strict tracks of live streams with an open fault.
    fn open_tracks(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tracks
            .iter()
            .filter(|(&(s, _), t)| {
                !t.lossy && !t.open.is_empty() && self.streams[&s].retired.is_none()
            })
            .map(|(&(s, to), t)| {
                let rec = &self.streams[&s];
                format!(
                    "{} -> node {to}: sent {}, received up to {:?}, open faults {:?}",
                    rec.label, rec.next, t.last, t.open
                )
            })
            .collect();
        v.sort();
        v
    }

    /// Strict tracks without an open fault that have not received everything sent, except
    /// those of senders closed longer ago than they linger (their tail will not come).
    fn incomplete(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tracks
            .iter()
            .filter(|(_, t)| !t.lossy && t.open.is_empty())
            .filter_map(|(&(s, to), t)| {
                let rec = &self.streams[&s];
                if rec
                    .retired
                    .is_some_and(|r| r.elapsed() > LINGER + Duration::from_secs(1))
                {
                    return None;
                }
                let got = t.last.map_or(0, |l| l + 1);
                (got != rec.next).then(|| {
                    format!(
                        "{} -> node {to}: sent {}, received up to {:?}, open faults at {:?}",
                        rec.label, rec.next, t.last, t.open
                    )
                })
            })
            .collect();
        v.sort();
        v
    }

    /// Ends the slice: a strict track missing its tail is lost in a documented case only
    /// if a fault is still open on it.
    fn finish(&mut self) {
        let mut found = Vec::new();
        for (&(s, to), t) in &self.tracks {
            let rec = &self.streams[&s];
            let got = t.last.map_or(0, |l| l + 1);
            if got == rec.next {
                continue;
            }
            if t.lossy {
                self.dropped += rec.next - got;
            } else if !t.open.is_empty() {
                self.lost += rec.next - got;
            } else if rec.closed_sender
                && self.reset_on_close
                && self.peer_sent_to_closed(s, to)
                && !self.pair_replaces.contains(&(rec.from, to))
            {
                // reliability.md, item 1: the closed socket's peer had data on its way to it
                // (or sent more), the closed socket answered it with a reset, and the reset
                // destroyed what its kernel had not yet transmitted. Documented loss.
                self.linger_lost += rec.next - got;
            } else if rec.closed_sender {
                // A closed sender whose peer only reads must deliver its whole tail within
                // its linger (reliability.md, item 1: "A peer that only reads gets the
                // whole tail").
                self.linger_lost += rec.next - got;
                let hint = if self.pair_replaces.contains(&(rec.from, to)) {
                    " (the bound PAIR drops a closed peer's unread messages when the next peer \
                     attaches: Pair::attach)"
                } else {
                    ""
                };
                let line = format!(
                    "{} -> node {to}: tail of a closed (lingering) sender lost: sent {}, received up to {:?}{hint}",
                    rec.label, rec.next, t.last
                );
                if !allow_linger_loss() {
                    found.push(line);
                }
            } else {
                found.push(format!(
                    "{} -> node {to}: tail lost with no fault: sent {}, received up to {:?}",
                    rec.label, rec.next, t.last
                ));
            }
        }
        found.sort();
        self.violations.extend(found);
    }
}

// ----- patterns, nodes, links -----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pat {
    PushPull,
    ReqRep,
    DealerRouter,
    PubSub,
    Pair,
}

impl Pat {
    const ALL: [Pat; 5] = [
        Pat::PushPull,
        Pat::ReqRep,
        Pat::DealerRouter,
        Pat::PubSub,
        Pat::Pair,
    ];

    fn name(self) -> &'static str {
        match self {
            Pat::PushPull => "PUSH/PULL",
            Pat::ReqRep => "REQ/REP",
            Pat::DealerRouter => "DEALER/ROUTER",
            Pat::PubSub => "PUB/SUB",
            Pat::Pair => "PAIR",
        }
    }

    /// The nodes (name, type) and which one is the centre the others link to.
    fn nodes(self) -> (Vec<(&'static str, SocketType)>, usize) {
        use SocketType::*;
        match self {
            Pat::PushPull => (vec![("push0", Push), ("push1", Push), ("pull", Pull)], 2),
            Pat::ReqRep => (vec![("req0", Req), ("req1", Req), ("rep", Rep)], 2),
            Pat::DealerRouter => (
                vec![("dealer0", Dealer), ("dealer1", Dealer), ("router", Router)],
                2,
            ),
            Pat::PubSub => (vec![("pub", Pub), ("sub", Sub), ("slowsub", Sub)], 0),
            Pat::Pair => (vec![("pair0", Pair), ("pair1", Pair)], 0),
        }
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Inproc => "inproc",
        Transport::Ipc => "ipc",
        Transport::Tcp => "tcp",
    }
}

fn transport_index(t: Transport) -> usize {
    Transport::ALL.iter().position(|&x| x == t).unwrap()
}

/// One role in a slice: the socket now playing it and how to recreate it.
struct Node {
    name: &'static str,
    kind: SocketType,
    sock: Option<Socket>,
    bind_ep: Option<String>,
    connect_eps: Vec<String>,
    instance: u64,
    sndhwm: usize,
    rcvhwm: usize,
    /// A send found no room: poll for writability.
    want_write: bool,
}

impl Node {
    fn receives(&self) -> bool {
        !matches!(self.kind, SocketType::Push | SocketType::Pub)
    }

    fn sock(&mut self) -> &mut Socket {
        self.sock.as_mut().expect("node has a socket")
    }
}

/// A connection between two nodes; over tcp it runs through its own fault proxy.
struct Link {
    connector: usize,
    binder: usize,
    proxy: Option<FaultProxy>,
}

fn open_socket(ctx: &Context, n: &Node) -> Socket {
    let mut s = ctx.socket(n.kind).unwrap();
    s.set_linger(Some(LINGER)).unwrap();
    s.set_sndhwm(n.sndhwm).unwrap();
    s.set_rcvhwm(n.rcvhwm).unwrap();
    s.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    s.set_reconnect_ivl_max(Duration::from_millis(100)).unwrap();
    s.set_max_msg_size(Some(MAX_MSG)).unwrap();
    match n.kind {
        SocketType::Req => {
            s.set_req_relaxed(true).unwrap();
            s.set_req_correlate(true).unwrap();
        }
        SocketType::Router => s.set_router_mandatory(true).unwrap(),
        SocketType::Dealer => s
            .set_routing_id(format!("{}#{}", n.name, n.instance))
            .unwrap(),
        SocketType::Sub => {
            s.subscribe([TAG_DATA]).unwrap();
        }
        _ => {}
    }
    s
}

/// Per-pattern driver state.
#[derive(Default)]
struct Roles {
    /// The current outbound data stream of each sending node (PUSH, DEALER, PUB, PAIR).
    out: HashMap<usize, u64>,
    /// REQ clients by node.
    clients: HashMap<usize, Client>,
    /// REP: the last (seq, attempt) seen per client stream.
    served: HashMap<u64, (u64, u32)>,
    /// Client streams that exist (any instance).
    client_streams: HashSet<u64>,
    /// ROUTER: per dealer node, echoes owed, the routing id to use, and the echo stream.
    echo_owed: HashMap<usize, u64>,
    echo_rid: HashMap<usize, Vec<u8>>,
    echo_stream: HashMap<usize, u64>,
    /// Which dealer node each dealer stream comes from.
    dealer_of: HashMap<u64, usize>,
    /// Nodes that may receive a corrupted message (a corruption was injected towards them).
    corrupted_towards: HashSet<usize>,
}

/// A REQ client (Lazy Pirate: relaxed + correlate, resend on timeout).
struct Client {
    stream: u64,
    seq: u64,
    attempt: u32,
    outstanding: bool,
    sent_at: Instant,
    /// Attempts sent so far, and the number of the outstanding one.
    sends: u64,
    this_send: u64,
    /// Faults (as attempt numbers) not yet followed by a reply to a later attempt.
    open: Vec<Fault>,
}

impl Client {
    fn new() -> Client {
        Client {
            stream: NEXT_STREAM.fetch_add(1, Ordering::Relaxed),
            seq: 0,
            attempt: 0,
            outstanding: false,
            sent_at: Instant::now(),
            sends: 0,
            this_send: 0,
            open: Vec::new(),
        }
    }
}

// ----- statistics and resources -----

#[derive(Clone, Copy, Default)]
struct Stats {
    slices: u64,
    sent: u64,
    received: u64,
    lost: u64,
    dropped: u64,
    linger_lost: u64,
    restarts: u64,
    cuts: u64,
    other_faults: u64,
    resends: u64,
    violations: u64,
    /// Rebinds of an ipc path that failed with NotFound (a library race) and were retried.
    rebind_races: u64,
    /// Old connections' tails accepted after a reconnect's new head: runs, messages.
    late_runs: u64,
    late: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.slices += o.slices;
        self.sent += o.sent;
        self.received += o.received;
        self.lost += o.lost;
        self.dropped += o.dropped;
        self.linger_lost += o.linger_lost;
        self.restarts += o.restarts;
        self.cuts += o.cuts;
        self.other_faults += o.other_faults;
        self.resends += o.resends;
        self.violations += o.violations;
        self.rebind_races += o.rebind_races;
        self.late_runs += o.late_runs;
        self.late += o.late;
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
}

// ----- the whole run -----

struct Soak {
    ctx: Context,
    rng: Rng,
    seed: u64,
    start: Instant,
    end: Instant,
    stats: [[Stats; 3]; 5],
    samples: Vec<Sample>,
    next_sample: Instant,
    next_progress: Instant,
    /// The fd count at each settled slice boundary.
    boundary_fds: Vec<usize>,
    violations: Vec<String>,
    slice_no: usize,
}

impl Soak {
    fn sample(&mut self) {
        let now = Instant::now();
        if now >= self.next_sample {
            self.next_sample = now + Duration::from_millis(250);
            self.samples.push(Sample {
                at: now - self.start,
                rss_kib: rss_kib(),
                fds: fd_count(),
            });
        }
    }

    fn totals(&self) -> Stats {
        let mut t = Stats::default();
        self.stats.iter().flatten().for_each(|s| t.add(s));
        t
    }

    fn progress(&mut self, current: &str, live: &Stats) {
        let now = Instant::now();
        if now < self.next_progress {
            return;
        }
        self.next_progress = now + Duration::from_secs(30);
        let mut t = self.totals();
        t.add(live);
        let last = self.samples.last();
        say(&format!(
            "soak [{:>5.0}s] slice {} {current}: sent {} received {} lost at faults {} PUB drops {} \
             restarts {} cuts {} other faults {} resends {} | RSS {} MiB, fds {} | violations {}",
            (now - self.start).as_secs_f64(),
            self.slice_no,
            t.sent,
            t.received,
            t.lost,
            t.dropped,
            t.restarts,
            t.cuts,
            t.other_faults,
            t.resends,
            last.map_or(0, |s| s.rss_kib / 1024),
            last.map_or(0, |s| s.fds),
            self.violations.len() as u64 + live.violations,
        ));
    }
}

/// One pattern over one transport for a while, then healed, drained and closed.
struct Slice<'a> {
    soak: &'a mut Soak,
    pat: Pat,
    tr: Transport,
    nodes: Vec<Node>,
    links: Vec<Link>,
    chk: Checker,
    roles: Roles,
    stats: Stats,
    /// When to put each proxy back to pass (after a stall, delay or refusal).
    resume_at: Vec<(Instant, usize)>,
    next_fault: Instant,
    last_progress: Instant,
    label: String,
    /// When the PUB last sent past its window.
    trickle: Instant,
    /// What happened in this slice (faults, restarts), for the violation report.
    events: Vec<String>,
    began: Instant,
}

impl<'a> Slice<'a> {
    fn new(soak: &'a mut Soak, pat: Pat, tr: Transport) -> Slice<'a> {
        let label = format!("{}/{}", pat.name(), transport_name(tr));
        let (specs, center) = pat.nodes();
        let rng = &mut soak.rng;
        let mut nodes: Vec<Node> = specs
            .iter()
            .map(|&(name, kind)| Node {
                name,
                kind,
                sock: None,
                bind_ep: None,
                connect_eps: Vec::new(),
                instance: 0,
                sndhwm: rng.pick(&[10, 100, 1000]),
                rcvhwm: rng.pick(&[10, 100, 1000]),
                want_write: false,
            })
            .collect();
        if pat == Pat::PubSub {
            nodes[0].sndhwm = PUB_SNDHWM;
            nodes[1].rcvhwm = PUB_SNDHWM;
            nodes[2].rcvhwm = SLOW_SUB_RCVHWM;
        }
        let center_binds = pat == Pat::DealerRouter || rng.chance(60);
        let mut links = Vec::new();
        for edge in (0..nodes.len()).filter(|&i| i != center) {
            let (connector, binder) = if center_binds {
                (edge, center)
            } else {
                (center, edge)
            };
            links.push(Link {
                connector,
                binder,
                proxy: None,
            });
        }
        // Binders first: over tcp the proxies need their ports.
        for (i, n) in nodes.iter_mut().enumerate() {
            if links.iter().any(|l| l.binder == i) {
                let mut s = open_socket(&soak.ctx, n);
                n.bind_ep = Some(util::bind_fresh(&mut s, tr));
                n.sock = Some(s);
            }
        }
        for l in &mut links {
            let target = nodes[l.binder].bind_ep.clone().unwrap();
            let ep = if tr == Transport::Tcp {
                let proxy = FaultProxy::start(&target);
                let ep = proxy.endpoint();
                l.proxy = Some(proxy);
                ep
            } else {
                target
            };
            nodes[l.connector].connect_eps.push(ep);
        }
        for n in nodes.iter_mut().filter(|n| n.sock.is_none()) {
            let mut s = open_socket(&soak.ctx, n);
            for ep in &n.connect_eps {
                s.connect(ep).unwrap();
            }
            n.sock = Some(s);
        }
        let now = Instant::now();
        let mut chk = Checker {
            reset_on_close: tr == Transport::Tcp,
            ..Checker::default()
        };
        for l in &links {
            if nodes[l.binder].kind == SocketType::Pair {
                chk.pair_replaces.insert((l.connector, l.binder));
            }
        }
        if tr == Transport::Tcp {
            for l in &links {
                if matches!(nodes[l.binder].kind, SocketType::Pull | SocketType::Sub) {
                    chk.interleaving.insert((l.connector, l.binder));
                }
            }
        }
        let mut slice = Slice {
            soak,
            pat,
            tr,
            nodes,
            links,
            chk,
            roles: Roles::default(),
            stats: Stats {
                slices: 1,
                ..Stats::default()
            },
            resume_at: Vec::new(),
            next_fault: now + Duration::from_millis(300),
            last_progress: now,
            label,
            trickle: now,
            events: Vec::new(),
            began: now,
        };
        let layout: Vec<String> = slice
            .links
            .iter()
            .map(|l| {
                let (c, b) = (&slice.nodes[l.connector], &slice.nodes[l.binder]);
                format!(
                    "{}(snd {} rcv {}) -> {}(snd {} rcv {})",
                    c.name, c.sndhwm, c.rcvhwm, b.name, b.sndhwm, b.rcvhwm
                )
            })
            .collect();
        slice.event(format!(
            "links (connector -> binder): {}",
            layout.join(", ")
        ));
        for i in 0..slice.nodes.len() {
            slice.new_role(i);
        }
        slice
    }

    /// Sets up the driver state for node `i`'s current socket.
    fn new_role(&mut self, i: usize) {
        let name = self.nodes[i].name;
        let inst = self.nodes[i].instance;
        let label = format!("{}#{inst}", name);
        match (self.pat, self.nodes[i].kind) {
            (Pat::PushPull, SocketType::Push) => {
                let s = self.chk.stream(label, i, &[(2, false, false)]);
                self.set_out(i, s);
            }
            (Pat::Pair, _) => {
                // A restarted PAIR that connects may reach its peer while the old instance's
                // connection is still there (lingering, or not yet noticed gone): the peer
                // refuses it after the handshake and what it sent over it is lost
                // (reliability.md, item 3). Nothing of this stream arrives before it is
                // accepted, so that loss is one gap at its head: the fault is open from the
                // start and closes with the first message received.
                let refusable = inst > 0 && self.nodes[i].bind_ep.is_none();
                let s = self.chk.stream(label, i, &[(1 - i, false, refusable)]);
                self.set_out(i, s);
            }
            (Pat::PubSub, SocketType::Pub) => {
                // Until a subscriber's subscription reaches the new PUB, it drops for it.
                let s = self
                    .chk
                    .stream(label, i, &[(1, false, true), (2, true, true)]);
                self.set_out(i, s);
            }
            (Pat::DealerRouter, SocketType::Dealer) => {
                let s = self.chk.stream(label, i, &[(2, false, false)]);
                self.set_out(i, s);
                self.roles.dealer_of.insert(s, i);
                self.roles.echo_owed.insert(i, 0);
                if let Some(old) = self.roles.echo_stream.remove(&i) {
                    self.chk.retire(old, false);
                }
                self.roles.echo_rid.remove(&i);
            }
            (Pat::DealerRouter, SocketType::Router) => {
                // A new ROUTER instance starts new echo streams; what the dealers are owed
                // stays owed.
                for (_, old) in self.roles.echo_stream.drain() {
                    self.chk.retire(old, true);
                }
            }
            (Pat::ReqRep, SocketType::Req) => {
                let c = Client::new();
                self.roles.client_streams.insert(c.stream);
                self.roles.clients.insert(i, c);
            }
            _ => {}
        }
    }

    /// Makes `s` node `i`'s outbound stream; the one it replaces (a closed socket's) gets
    /// no more messages.
    fn set_out(&mut self, i: usize, s: u64) {
        if let Some(old) = self.roles.out.insert(i, s) {
            self.chk.retire(old, true);
        }
    }

    fn violation(&mut self, what: String) {
        self.chk.violation(what);
    }

    fn event(&mut self, what: String) {
        let at = self.began.elapsed().as_secs_f64();
        if self.events.len() < 500 {
            self.events.push(format!("{at:7.3}s {what}"));
        }
    }

    // ----- sending and receiving -----

    /// Sends up to `batch` data messages on node `i`'s stream; returns how many went.
    fn send_data(&mut self, i: usize, batch: usize) -> usize {
        let stream = self.roles.out[&i];
        let mut sent = 0;
        while sent < batch {
            if self.pat == Pat::PubSub {
                // PUB never blocks: it must not run further ahead of the strict subscriber
                // than its high-water mark, or it drops for it. While that subscriber is
                // cut off (a fault), one message a millisecond, so it is not flooded when it
                // comes back.
                match self.chk.window(stream, PUB_WINDOW) {
                    Some(true) => {}
                    Some(false) if self.trickle.elapsed() >= Duration::from_millis(1) => {
                        self.trickle = Instant::now();
                    }
                    _ => break,
                }
                if self.soak.rng.chance(5) {
                    let body = Body {
                        tag: TAG_UNWANTED,
                        stream,
                        seq: u64::MAX,
                        attempt: 0,
                    };
                    let _ = self.nodes[i].sock().try_send(encode(body, 3));
                }
            }
            let body = Body {
                tag: TAG_DATA,
                stream,
                seq: self.chk.next(stream),
                attempt: 0,
            };
            let pad = pad_len(&mut self.soak.rng);
            match self.nodes[i].sock().try_send(encode(body, pad)) {
                Ok(()) => {
                    self.chk.commit(stream);
                    self.stats.sent += 1;
                    sent += 1;
                }
                Err(e) if matches!(e.error, Error::WouldBlock) => {
                    self.nodes[i].want_write = true;
                    break;
                }
                Err(e) => {
                    let what = format!("{}: send on {} failed: {:?}", self.label, i, e.error);
                    self.violation(what);
                    break;
                }
            }
        }
        sent
    }

    /// Takes up to `limit` messages from node `i`.
    fn recv_batch(&mut self, i: usize, limit: usize) -> Vec<Message> {
        let mut out = Vec::new();
        while out.len() < limit {
            match self.nodes[i].sock().try_recv() {
                Ok(m) => out.push(m),
                Err(Error::WouldBlock) => break,
                Err(e) => {
                    let what = format!("{}: recv on node {i} failed: {e:?}", self.label);
                    self.violation(what);
                    break;
                }
            }
        }
        if !out.is_empty() {
            self.last_progress = Instant::now();
            self.stats.received += out.len() as u64;
        }
        out
    }

    /// Decodes the one data frame of a message that arrived at node `i`.
    fn data_frame(&mut self, i: usize, frame: &[u8], frames: usize) -> Option<Body> {
        let body = (frames == 1).then(|| decode(frame)).flatten();
        match body {
            Some(b) if b.tag == TAG_DATA || b.tag == TAG_REPLY => Some(b),
            Some(b) if b.tag == TAG_UNWANTED => {
                let what = format!("{}: node {i} got an unsubscribed topic", self.label);
                self.violation(what);
                None
            }
            _ => {
                if !self.roles.corrupted_towards.contains(&i) {
                    let what = format!(
                        "{}: node {i} got a malformed message ({frames} frames, {} B) with no corruption injected",
                        self.label,
                        frame.len()
                    );
                    self.violation(what);
                }
                None
            }
        }
    }

    /// Receives up to `limit` data messages on node `i` and checks them.
    fn recv_data(&mut self, i: usize, limit: usize) -> usize {
        let msgs = self.recv_batch(i, limit);
        for m in &msgs {
            if let Some(b) = self.data_frame(i, &m[0], m.len()) {
                self.chk.receive(b, i);
            }
        }
        msgs.len()
    }

    /// One round of work for the pattern; returns whether anything moved.
    fn step(&mut self, sending: bool) -> bool {
        let mut moved = 0;
        match self.pat {
            Pat::PushPull => {
                if sending {
                    moved += self.send_data(0, 64) + self.send_data(1, 64);
                }
                moved += self.recv_data(2, 256);
            }
            Pat::Pair => {
                for i in 0..2 {
                    if sending {
                        moved += self.send_data(i, 64);
                    }
                    moved += self.recv_data(i, 256);
                }
            }
            Pat::PubSub => {
                if sending {
                    moved += self.send_data(0, 32);
                }
                moved += self.recv_data(1, 256);
                // The slow subscriber takes a few at a time and falls behind.
                moved += self.recv_data(2, 4);
            }
            Pat::DealerRouter => moved += self.step_dealer_router(sending),
            Pat::ReqRep => moved += self.step_req_rep(sending),
        }
        moved > 0
    }

    fn step_dealer_router(&mut self, sending: bool) -> usize {
        let mut moved = 0;
        for i in 0..2 {
            if sending {
                moved += self.send_data(i, 64);
            }
            moved += self.recv_data(i, 256);
        }
        // The ROUTER always reads (echoes owed are only a count). It must not stop reading
        // until its echoes go: after a cut, the dealer's id stays held by the dead
        // connection, and routes there (full), until that connection has handed up
        // everything it read, which takes the ROUTER's reads (reliability.md, **Order**);
        // a ROUTER that waited for its echoes first would wait forever (the soak found it:
        // slices stalled with 2000 echoes owed). The dealers are still pushed back by the
        // ROUTER's receive high-water mark whenever the driver falls behind.
        for m in self.recv_batch(2, 256) {
            moved += 1;
            let rid = m.first().map(|f| f.to_vec()).unwrap_or_default();
            let frames = m.len().saturating_sub(1);
            let Some(last) = m.last() else { continue };
            let Some(b) = self.data_frame(2, last, frames) else {
                continue;
            };
            self.chk.receive(b, 2);
            if let Some(&d) = self.roles.dealer_of.get(&b.stream) {
                // Only the dealer's current instance is answered.
                if self.roles.out.get(&d) == Some(&b.stream) {
                    *self.roles.echo_owed.entry(d).or_default() += 1;
                    self.roles.echo_rid.insert(d, rid);
                }
            }
        }
        // Echo: one message back per message received, on the ROUTER's own stream.
        for d in 0..2 {
            while self.roles.echo_owed.get(&d).copied().unwrap_or(0) > 0 {
                let stream = match self.roles.echo_stream.get(&d) {
                    Some(&s) => s,
                    None => {
                        let label = format!(
                            "router#{}->{}#{}",
                            self.nodes[2].instance, self.nodes[d].name, self.nodes[d].instance
                        );
                        let s = self.chk.stream(label, 2, &[(d, false, false)]);
                        self.roles.echo_stream.insert(d, s);
                        s
                    }
                };
                let body = Body {
                    tag: TAG_DATA,
                    stream,
                    seq: self.chk.next(stream),
                    attempt: 0,
                };
                let rid = self.roles.echo_rid[&d].clone();
                let pad = pad_len(&mut self.soak.rng);
                let msg = Message::from(vec![rid, encode(body, pad)]);
                match self.nodes[2].sock().try_send(msg) {
                    Ok(()) => {
                        self.chk.commit(stream);
                        self.stats.sent += 1;
                        *self.roles.echo_owed.get_mut(&d).unwrap() -= 1;
                        moved += 1;
                    }
                    Err(e) if matches!(e.error, Error::WouldBlock) => {
                        self.nodes[2].want_write = true;
                        break;
                    }
                    Err(e) if matches!(e.error, Error::HostUnreachable) => {
                        // That connection is gone (a cut or restart): the echoes it was
                        // owed are forgotten; nothing was sent, so nothing is lost.
                        self.roles.echo_owed.insert(d, 0);
                    }
                    Err(e) => {
                        let what = format!("{}: ROUTER send failed: {:?}", self.label, e.error);
                        self.violation(what);
                        break;
                    }
                }
            }
        }
        moved
    }

    fn step_req_rep(&mut self, sending: bool) -> usize {
        let mut moved = 0;
        let now = Instant::now();
        for i in 0..2 {
            let c = &self.roles.clients[&i];
            let resend = c.outstanding && now - c.sent_at > REQ_TIMEOUT;
            if resend {
                let c = self.roles.clients.get_mut(&i).unwrap();
                let what = (c.open.is_empty()).then(|| {
                    format!(
                        "{}: req{i} got no reply to seq {} attempt {} within {REQ_TIMEOUT:?}, with no fault",
                        self.label, c.seq, c.attempt
                    )
                });
                c.attempt += 1;
                c.outstanding = false;
                self.stats.resends += 1;
                if let Some(w) = what {
                    self.violation(w);
                }
            }
            let c = &self.roles.clients[&i];
            if !c.outstanding && (sending || c.attempt > 0) {
                let body = Body {
                    tag: TAG_DATA,
                    stream: c.stream,
                    seq: c.seq,
                    attempt: c.attempt,
                };
                let pad = pad_len(&mut self.soak.rng);
                match self.nodes[i].sock().try_send(encode(body, pad)) {
                    Ok(()) => {
                        let c = self.roles.clients.get_mut(&i).unwrap();
                        c.outstanding = true;
                        c.sent_at = Instant::now();
                        c.this_send = c.sends;
                        c.sends += 1;
                        self.stats.sent += 1;
                        moved += 1;
                    }
                    Err(e) if matches!(e.error, Error::WouldBlock) => {
                        self.nodes[i].want_write = true;
                    }
                    Err(e) => {
                        let what = format!("{}: REQ send failed: {:?}", self.label, e.error);
                        self.violation(what);
                    }
                }
            }
            // One at a time: a REQ with no request pending refuses to receive.
            for _ in 0..16 {
                if !self.roles.clients[&i].outstanding {
                    break;
                }
                let m = match self.nodes[i].sock().try_recv() {
                    Ok(m) => m,
                    Err(Error::WouldBlock) => break,
                    Err(Error::WrongState(_)) => {
                        // The socket took a reply the driver rejected (already reported):
                        // it has nothing pending any more, so ask again.
                        let c = self.roles.clients.get_mut(&i).unwrap();
                        c.outstanding = false;
                        c.attempt += 1;
                        break;
                    }
                    Err(e) => {
                        let what = format!("{}: recv on req{i} failed: {e:?}", self.label);
                        self.violation(what);
                        break;
                    }
                };
                self.last_progress = Instant::now();
                self.stats.received += 1;
                {
                    moved += 1;
                    let Some(b) = self.data_frame(i, &m[0], m.len()) else {
                        continue;
                    };
                    let c = self.roles.clients.get_mut(&i).unwrap();
                    let want = (c.stream, c.seq, c.attempt);
                    if b.tag != TAG_REPLY || (b.stream, b.seq, b.attempt) != want {
                        let what = format!(
                            "{}: req{i} got reply {:?} while waiting for {want:?}",
                            self.label, b
                        );
                        self.violation(what);
                        continue;
                    }
                    let answered = c.this_send;
                    c.open.retain(|f| !f.closed_by(answered));
                    c.outstanding = false;
                    c.seq += 1;
                    c.attempt = 0;
                }
            }
        }
        // The REP answers everything queued.
        for _ in 0..64 {
            let msgs = self.recv_batch(2, 1);
            let Some(m) = msgs.first() else { break };
            moved += 1;
            let Some(b) = self.data_frame(2, &m[0], m.len()) else {
                // A REP must still answer before it can read again: answer the garbage.
                let _ = self.nodes[2].sock().try_send("?");
                continue;
            };
            self.serve(b);
            let reply = Body {
                tag: TAG_REPLY,
                ..b
            };
            let pad = pad_len(&mut self.soak.rng);
            match self.nodes[2].sock().try_send(encode(reply, pad)) {
                Ok(()) => self.stats.sent += 1,
                Err(e) => {
                    let what = format!("{}: REP send failed: {:?}", self.label, e.error);
                    self.violation(what);
                }
            }
        }
        moved
    }

    /// REP side: requests of one client come in order, each seq at most once per attempt.
    fn serve(&mut self, b: Body) {
        if !self.roles.client_streams.contains(&b.stream) {
            let what = format!("{}: REP got a request of unknown client {b:?}", self.label);
            self.violation(what);
            return;
        }
        let ok = match self.roles.served.get(&b.stream) {
            None => b.seq == 0,
            Some(&(seq, attempt)) => {
                (b.seq, b.attempt) > (seq, attempt) && (b.seq == seq || b.seq == seq + 1)
            }
        };
        if !ok {
            let last = self.roles.served.get(&b.stream).copied();
            let what = format!(
                "{}: REP got request {:?} after {last:?} (duplicate, reordered or skipped)",
                self.label, b
            );
            self.violation(what);
        }
        self.roles.served.insert(b.stream, (b.seq, b.attempt));
    }

    // ----- faults -----

    fn inject(&mut self) {
        let tcp = self.tr == Transport::Tcp;
        let roll = self.soak.rng.below(100);
        if !tcp || roll < 40 {
            let i = self.soak.rng.below(self.nodes.len() as u64) as usize;
            self.restart(i);
            return;
        }
        let l = self.soak.rng.below(self.links.len() as u64) as usize;
        let (a, b) = (self.links[l].connector, self.links[l].binder);
        let link = format!("{}-{}", self.nodes[a].name, self.nodes[b].name);
        let now = Instant::now();
        match roll {
            40..=69 => {
                let said = self.fault_link(a, b, Duration::ZERO);
                let proxy = self.links[l].proxy.as_ref().unwrap();
                if roll < 55 {
                    proxy.cut_fin();
                } else {
                    proxy.cut_rst();
                }
                self.stats.cuts += 1;
                let how = if roll < 55 { "FIN" } else { "RST" };
                self.event(format!("cut {link} ({how}); faults: {said}"));
            }
            70..=81 => {
                self.links[l].proxy.as_ref().unwrap().stall();
                let d = self.soak.rng.ms(20, 400);
                self.resume_at.push((now + d, l));
                self.stats.other_faults += 1;
                self.event(format!("stall {link} for {d:?}"));
            }
            82..=89 => {
                let d = self.soak.rng.ms(1, 20);
                self.links[l].proxy.as_ref().unwrap().delay(d);
                let for_ = self.soak.rng.ms(100, 1000);
                self.resume_at.push((now + for_, l));
                self.stats.other_faults += 1;
                self.event(format!("delay {link} by {d:?} for {for_:?}"));
            }
            90..=94 => {
                // Refuse new connections and cut the current ones: the peers retry until
                // the proxy takes them again.
                let said = self.fault_link(a, b, Duration::ZERO);
                let proxy = self.links[l].proxy.as_ref().unwrap();
                proxy.refuse();
                proxy.cut_fin();
                let d = self.soak.rng.ms(50, 500);
                self.resume_at.push((now + d, l));
                self.stats.cuts += 1;
                self.event(format!("refuse+cut {link} for {d:?}; faults: {said}"));
            }
            _ => {
                // Flip a byte or two somewhere in the stream: the receiver must refuse the
                // garbage (or, at worst, hand up a message whose checksum fails) and the
                // link recover; what is lost counts as lost at a fault.
                let said = self.fault_link(a, b, CORRUPT_HOLD);
                self.roles.corrupted_towards.insert(a);
                self.roles.corrupted_towards.insert(b);
                let n = self.soak.rng.range(1, 3) as usize;
                let proxy = self.links[l].proxy.as_ref().unwrap();
                let up = self.soak.rng.chance(50);
                if up {
                    proxy.corrupt(n);
                } else {
                    proxy.corrupt_to_client(n);
                }
                self.stats.other_faults += 1;
                let dir = if up { "to binder" } else { "to connector" };
                self.event(format!("corrupt {n} B {dir} on {link}; faults: {said}"));
            }
        }
    }

    /// Records a fault on every stream between nodes `a` and `b`, in both directions.
    fn fault_link(&mut self, a: usize, b: usize, hold: Duration) -> String {
        let mut said = self.chk.fault(hold, |from, to| {
            (from, to) == (a, b) || (from, to) == (b, a)
        });
        let hold = Instant::now() + hold;
        for (&i, c) in self.roles.clients.iter_mut() {
            if i == a || i == b {
                c.open.push(Fault { at: c.sends, hold });
                said.push_str(&format!(" req{i} at attempt no. {}", c.sends));
            }
        }
        said
    }

    /// Closes node `i`'s socket and opens a new one on the same endpoints.
    fn restart(&mut self, i: usize) {
        // What was on its way to this node, or queued in it, may be lost.
        let said = self.chk.fault(Duration::ZERO, |_, to| to == i);
        for (&c, client) in self.roles.clients.iter_mut() {
            if self.nodes[i].kind == SocketType::Rep || c == i {
                client.open.push(Fault {
                    at: client.sends,
                    hold: Instant::now(),
                });
            }
        }
        let what = format!(
            "restart {}#{}; faults: {said}",
            self.nodes[i].name, self.nodes[i].instance
        );
        self.event(what);
        let old = self.nodes[i].sock.take();
        drop(old);
        self.nodes[i].instance += 1;
        let mut s = open_socket(&self.soak.ctx, &self.nodes[i]);
        if let Some(ep) = self.nodes[i].bind_ep.clone() {
            self.rebind(&mut s, &ep);
        }
        for ep in &self.nodes[i].connect_eps {
            s.connect(ep).unwrap();
        }
        self.nodes[i].sock = Some(s);
        self.new_role(i);
        self.stats.restarts += 1;
    }

    /// Binds `s` to `ep` again, retrying (polling, with a deadline) while the closed
    /// socket's listener still holds it.
    fn rebind(&mut self, s: &mut Socket, ep: &str) {
        let deadline = Instant::now() + util::TIMEOUT;
        loop {
            match s.bind(ep) {
                Ok(()) => return,
                Err(Error::AddressInUse(_)) if Instant::now() < deadline => {}
                // A library race (see the report): the old listener's socket file vanished
                // between the new bind's look at it and its probe connect.
                Err(Error::Io(e))
                    if e.kind() == std::io::ErrorKind::NotFound && Instant::now() < deadline =>
                {
                    self.stats.rebind_races += 1;
                    let what = format!("rebind of {ep} failed with NotFound ({e}); retrying");
                    self.event(what);
                }
                Err(e) => panic!("bind({ep}) failed: {e:?}"),
            }
            // No event tells when the old listener is gone: poll briefly.
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn timers(&mut self, faults: bool) {
        let now = Instant::now();
        let (links, events, began) = (&self.links, &mut self.events, self.began);
        self.resume_at.retain(|&(at, l)| {
            if now >= at {
                links[l].proxy.as_ref().unwrap().resume();
                let t = began.elapsed().as_secs_f64();
                events.push(format!("{t:7.3}s resume link {l}"));
            }
            now < at
        });
        if faults && self.tr != Transport::Inproc && now >= self.next_fault {
            self.inject();
            self.next_fault = Instant::now() + self.soak.rng.ms(150, 1500);
        }
    }

    /// What each socket says it could do right now (for a stall report).
    fn readiness(&mut self) -> String {
        let owed = format!("{:?}", self.roles.echo_owed);
        let mut said = Vec::new();
        for n in &mut self.nodes {
            let (name, inst) = (n.name, n.instance);
            let Some(sock) = n.sock.as_mut() else {
                continue;
            };
            let mut item = [PollItem::new(sock, PollEvents::BOTH)];
            let r = poll(&mut item, Some(Duration::ZERO)).map(|_| item[0].revents());
            said.push(format!("{name}#{inst}: {r:?}"));
        }
        for l in &self.links {
            if let Some(p) = &l.proxy {
                said.push(format!(
                    "proxy {}-{}: mode {:?}, accepted {}, live {}, bytes to binder {}, to connector {}",
                    self.nodes[l.connector].name,
                    self.nodes[l.binder].name,
                    p.mode(),
                    p.accepted(),
                    p.live(),
                    p.bytes_to_target(),
                    p.bytes_to_client()
                ));
            }
        }
        format!("{}; echoes owed {owed}", said.join(", "))
    }

    /// Waits up to `d` for any socket to become readable (or writable, if a send found no
    /// room).
    fn wait(&mut self, d: Duration) {
        let mut items: Vec<PollItem<'_>> = self
            .nodes
            .iter_mut()
            .filter_map(|n| {
                let events = PollEvents {
                    readable: n.receives(),
                    writable: std::mem::take(&mut n.want_write),
                };
                let sock = n.sock.as_mut()?;
                (events.readable || events.writable).then(|| PollItem::new(sock, events))
            })
            .collect();
        if let Err(e) = poll(&mut items, Some(d)) {
            drop(items);
            let what = format!("{}: poll failed: {e:?}", self.label);
            self.violation(what);
        }
    }

    /// Runs the loop until `until` says stop, or the slice stalls; false if it stalled.
    fn run(
        &mut self,
        sending: bool,
        faults: bool,
        deadline: Instant,
        mut until: impl FnMut(&Self) -> bool,
    ) -> bool {
        // Bounded by the deadline; the count bound is a backstop.
        for _ in 0..u64::MAX / 2 {
            if until(self) || Instant::now() >= deadline {
                return true;
            }
            let moved = self.step(sending);
            self.timers(faults);
            self.soak.sample();
            let mut live = self.stats;
            live.violations = self.chk.violations.len() as u64;
            live.lost = self.chk.lost;
            live.dropped = self.chk.dropped;
            self.soak.progress(&self.label, &live);
            if self.chk.violations.len() > 1000 {
                return false;
            }
            if !moved {
                if self.last_progress.elapsed() > STALL_LIMIT {
                    let sockets = self.readiness();
                    let what = format!(
                        "{}: nothing received for {STALL_LIMIT:?}; incomplete: {:?}; sockets: {sockets}",
                        self.label,
                        self.chk.incomplete(),
                    );
                    self.violation(what);
                    return false;
                }
                self.wait(Duration::from_millis(20));
            }
        }
        true
    }

    fn healed(&self) -> bool {
        !self.chk.any_open() && self.roles.clients.values().all(|c| c.open.is_empty())
    }

    fn drained(&self) -> bool {
        self.chk.incomplete().is_empty()
            && self.roles.clients.values().all(|c| !c.outstanding)
            && self.roles.echo_owed.values().all(|&n| n == 0)
    }

    /// Runs the slice until `end`, injecting faults until `faults_until`; then lets every
    /// fault heal (still sending), drains, checks and closes everything.
    fn run_all(mut self, end: Instant, faults_until: Instant) {
        let mut ok = self.run(true, true, faults_until, |_| false);
        ok = ok && self.run(true, false, end, |_| false);
        for proxy in self.links.iter().filter_map(|l| l.proxy.as_ref()) {
            proxy.resume();
        }
        self.resume_at.clear();
        if ok {
            self.last_progress = Instant::now();
            ok = self.run(true, false, Instant::now() + SETTLE, |s| s.healed());
            if ok && !self.healed() {
                let sockets = self.readiness();
                let what = format!(
                    "{}: faults did not heal within {SETTLE:?}: {:?}; sockets: {sockets}",
                    self.label,
                    self.chk.open_tracks()
                );
                self.violation(what);
            }
        }
        if ok {
            self.last_progress = Instant::now();
            ok = self.run(false, false, Instant::now() + SETTLE, |s| s.drained());
            if ok && !self.drained() {
                let sockets = self.readiness();
                let what = format!(
                    "{}: not drained within {SETTLE:?}: {:?}; REQ outstanding: {:?}; echoes owed: {:?}",
                    self.label,
                    self.chk.incomplete(),
                    self.roles
                        .clients
                        .values()
                        .filter(|c| c.outstanding)
                        .map(|c| (c.seq, c.attempt))
                        .collect::<Vec<_>>(),
                    self.roles.echo_owed
                ) + &format!("; sockets: {sockets}");
                self.violation(what);
            }
        }
        if ok {
            self.chk.finish();
        }
        self.stats.lost = self.chk.lost;
        self.stats.dropped = self.chk.dropped;
        self.stats.linger_lost = self.chk.linger_lost;
        self.stats.late_runs = self.chk.late_runs;
        self.stats.late = self.chk.late;
        self.stats.violations = self.chk.violations.len() as u64;
        // Close the sockets, then the proxies (which joins their threads).
        for n in &mut self.nodes {
            drop(n.sock.take());
        }
        for l in &mut self.links {
            drop(l.proxy.take());
        }
        let (p, t) = (
            Pat::ALL.iter().position(|&p| p == self.pat).unwrap(),
            transport_index(self.tr),
        );
        self.soak.stats[p][t].add(&self.stats);
        let label = self.label.clone();
        let slice_no = self.soak.slice_no;
        // A flood in one slice (say a reordering) must not hide the other slices' reports:
        // each slice prints its first few violations and its events.
        let found = self.chk.violations.len();
        for (k, v) in self.chk.violations.drain(..).enumerate() {
            let line = format!("slice {slice_no} ({label}): {v}");
            if k < VIOLATIONS_SHOWN {
                say(&format!("soak VIOLATION: {line}"));
            }
            self.soak.violations.push(line);
        }
        if found > VIOLATIONS_SHOWN {
            say(&format!(
                "soak: ... and {} more violations in slice {slice_no}",
                found - VIOLATIONS_SHOWN
            ));
        }
        if found > 0 {
            say(&format!(
                "soak: events of slice {slice_no} ({label}):\n  {}",
                self.events.join("\n  ")
            ));
        }
    }
}

// ----- the test -----

#[test]
#[ignore = "a long soak: cargo test --release --test soak -- --ignored soak"]
fn soak() {
    util::init();
    let secs = env_u64("FERROZMQ_SOAK_SECS").unwrap_or(600);
    let seed = env_u64("FERROZMQ_SOAK_SEED").unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        t.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
    });
    let slice_len = Duration::from_secs((secs / 60).clamp(3, 10));
    say(&format!(
        "soak: {secs} s in slices of {slice_len:?}, seed {seed} (replay: FERROZMQ_SOAK_SEED={seed})"
    ));
    let start = Instant::now();
    let mut soak = Soak {
        ctx: Context::new(),
        rng: Rng(seed),
        seed,
        start,
        end: start + Duration::from_secs(secs),
        stats: [[Stats::default(); 3]; 5],
        samples: Vec::new(),
        next_sample: start,
        next_progress: start + Duration::from_secs(30),
        boundary_fds: Vec::new(),
        violations: Vec::new(),
        slice_no: 0,
    };
    // FERROZMQ_SOAK_ONLY=tcp (or PUB/SUB, or PAIR/ipc, ...) narrows the rotation.
    let only = std::env::var("FERROZMQ_SOAK_ONLY").unwrap_or_default();
    let combos: Vec<(Pat, Transport)> = Pat::ALL
        .iter()
        .flat_map(|&p| Transport::ALL.map(|t| (p, t)))
        .filter(|&(p, t)| format!("{}/{}", p.name(), transport_name(t)).contains(&only))
        .collect();
    assert!(
        !combos.is_empty(),
        "FERROZMQ_SOAK_ONLY={only} matches nothing"
    );
    let planned = (secs as usize / slice_len.as_secs() as usize).max(combos.len());
    let warmup = (planned / 3).clamp(1, combos.len());
    let mut order = Vec::new();
    let mut warmup_end = None;
    // Bounded: at most `planned` slices plus one round, and by the end time.
    while soak.slice_no < planned + combos.len() {
        if order.is_empty() {
            order = combos.clone();
            soak.rng.shuffle(&mut order);
        }
        let now = Instant::now();
        // Every combination runs at least once, even in a short run.
        if now >= soak.end && soak.slice_no >= combos.len() {
            break;
        }
        let (pat, tr) = order.pop().unwrap();
        soak.slice_no += 1;
        let end = now + slice_len;
        let faults_until = now + slice_len * 3 / 4;
        Slice::new(&mut soak, pat, tr).run_all(end, faults_until);
        settle_fds(&mut soak, warmup);
        if soak.slice_no == warmup {
            warmup_end = Some(start.elapsed());
        }
    }
    soak.samples.push(Sample {
        at: start.elapsed(),
        rss_kib: rss_kib(),
        fds: fd_count(),
    });
    report(&soak, warmup, warmup_end.unwrap_or_default());
}

/// After a slice every socket is closed: waits (polling, with a deadline) for the fd count
/// to come back to the warm-up level and records it.
fn settle_fds(soak: &mut Soak, warmup: usize) {
    let baseline = soak.boundary_fds[..soak.boundary_fds.len().min(warmup)]
        .iter()
        .max()
        .copied();
    // Lingering sessions close within LINGER; the proxies have already joined.
    let deadline = Instant::now() + LINGER + Duration::from_secs(8);
    let mut fds = fd_count();
    let mut last_change = Instant::now();
    while Instant::now() < deadline {
        // Wait for the level itself; the check allows the slack.
        if baseline.is_some_and(|b| fds <= b) {
            break;
        }
        // In the warm-up there is no level yet: wait until the count holds still.
        if baseline.is_none() && last_change.elapsed() > LINGER + Duration::from_millis(500) {
            break;
        }
        // No event tells when the I/O thread has closed a descriptor: poll briefly.
        std::thread::sleep(Duration::from_millis(20));
        let now = fd_count();
        if now != fds {
            last_change = Instant::now();
        }
        fds = now;
        soak.sample();
    }
    soak.boundary_fds.push(fds);
}

fn report(soak: &Soak, warmup: usize, warmup_end: Duration) {
    let mut out = String::new();
    let line = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(
        &mut out,
        format!(
            "soak summary: seed {} | {:.0} s | {} slices",
            soak.seed,
            soak.start.elapsed().as_secs_f64(),
            soak.slice_no
        ),
    );
    let row = |pat: &str, tr: &str, s: [String; 11]| {
        format!(
            "{pat:<14} {tr:<6} {:>6} {:>10} {:>10} {:>10} {:>9} {:>7} {:>8} {:>5} {:>5} {:>7} {:>4}",
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10]
        )
    };
    let cells = |s: &Stats| {
        [
            s.slices,
            s.sent,
            s.received,
            s.lost,
            s.dropped,
            s.linger_lost,
            s.restarts,
            s.cuts,
            s.other_faults,
            s.resends,
            s.violations,
        ]
        .map(|v| v.to_string())
    };
    let header = [
        "slices",
        "sent",
        "received",
        "lost@fault",
        "pub-drops",
        "lingerl",
        "restarts",
        "cuts",
        "other",
        "resends",
        "viol",
    ]
    .map(str::to_string);
    line(&mut out, row("pattern", "transp", header));
    for (p, pat) in Pat::ALL.iter().enumerate() {
        for (t, tr) in Transport::ALL.iter().enumerate() {
            let s = cells(&soak.stats[p][t]);
            line(&mut out, row(pat.name(), transport_name(*tr), s));
        }
    }
    let t = soak.totals();
    line(&mut out, row("total", "", cells(&t)));
    line(
        &mut out,
        "lost@fault: gaps at recorded cuts/corruptions/receiver restarts/refused PAIR \
         reconnects; pub-drops: slow \
         subscriber over its HWM or not yet subscribed; lingerl: tails of restarted senders \
         lost to the reset drawn by a peer that kept sending to them (tcp); other: stalls, delays, corruptions"
            .to_string(),
    );
    // Resources: everything after the warm-up, in thirds.
    let after: Vec<&Sample> = soak.samples.iter().filter(|s| s.at >= warmup_end).collect();
    let third = (after.len() / 3).max(1);
    let max_rss = |xs: &[&Sample]| xs.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let first_rss = max_rss(&after[..third.min(after.len())]);
    let last_rss = max_rss(&after[after.len().saturating_sub(third)..]);
    let peak_rss = soak.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let final_rss = soak.samples.last().map_or(0, |s| s.rss_kib);
    let peak_fds = soak.samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let final_fds = soak.samples.last().map_or(0, |s| s.fds);
    let base_fds = soak.boundary_fds[..soak.boundary_fds.len().min(warmup)]
        .iter()
        .max()
        .copied()
        .unwrap_or(0);
    let later_fds = soak.boundary_fds.get(warmup..).unwrap_or(&[]);
    let max_later_fds = later_fds.iter().max().copied().unwrap_or(0);
    line(
        &mut out,
        format!(
            "RSS: peak {} MiB, final {} MiB; after warm-up ({} slices, {:.0} s): first third's peak {} MiB, last third's {} MiB",
            peak_rss / 1024,
            final_rss / 1024,
            warmup,
            warmup_end.as_secs_f64(),
            first_rss / 1024,
            last_rss / 1024
        ),
    );
    line(
        &mut out,
        format!(
            "fds: peak {peak_fds}, final {final_fds}; between slices: warm-up level {base_fds}, highest after it {max_later_fds} (slack {FD_SLACK})"
        ),
    );
    line(
        &mut out,
        format!(
            "ipc rebinds that failed with NotFound and were retried: {}",
            t.rebind_races
        ),
    );
    line(
        &mut out,
        format!(
            "old connections' tails read after the new connection's head (bound PULL/SUB, tcp): {} runs, {} messages",
            t.late_runs, t.late
        ),
    );
    line(&mut out, format!("violations: {}", soak.violations.len()));
    say(&out);

    let mut failures = soak.violations.clone();
    if last_rss > first_rss * 3 / 2 + 32 * 1024 {
        failures.push(format!(
            "RSS grew: last third's peak {last_rss} KiB > 1.5 x {first_rss} KiB + 32 MiB"
        ));
    }
    if max_later_fds > base_fds + FD_SLACK {
        failures.push(format!(
            "fds leak: after the warm-up a settled slice boundary had {max_later_fds} fds, warm-up level {base_fds} (+{FD_SLACK}); all: {:?}",
            soak.boundary_fds
        ));
    }
    assert!(
        t.sent > 0 && t.received > 0,
        "the soak moved no messages at all"
    );
    // The first two of each slice, so one flood does not hide the rest.
    let mut shown: Vec<&String> = Vec::new();
    let mut per_slice: HashMap<&str, usize> = HashMap::new();
    for f in &failures {
        let slice = f.split(':').next().unwrap_or("");
        let n = per_slice.entry(slice).or_default();
        *n += 1;
        if *n <= 2 && shown.len() < 40 {
            shown.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "soak failed (seed {}): {} problem(s), the first of each slice:\n{}",
        soak.seed,
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ----- the checker's own tests: each documented case is accepted, and only it -----

/// A checker with one stream from node 0 to node 1, strict or lossy, on a link whose
/// receiver fair-queues the sender's connections (`interleave`) or not.
fn checker(lossy: bool, interleave: bool) -> (Checker, u64) {
    let mut c = Checker::default();
    if interleave {
        c.interleaving.insert((0, 1));
    }
    let s = c.stream("s".into(), 0, &[(1, lossy, false)]);
    (c, s)
}

fn feed(c: &mut Checker, s: u64, sent: u64, got: &[u64]) {
    while c.next(s) < sent {
        c.commit(s);
    }
    for &seq in got {
        let body = Body {
            tag: TAG_DATA,
            stream: s,
            seq,
            attempt: 0,
        };
        c.receive(body, 1);
    }
}

#[test]
fn checker_accepts_two_runs_after_a_reconnect_inside_a_fault_window() {
    let (mut c, s) = checker(false, true);
    feed(&mut c, s, 10, &[0, 1, 2]);
    c.fault(Duration::ZERO, |_, _| true);
    // Old connection: 3, 4, 5 unread; 6, 7 lost; new connection from 8.
    feed(&mut c, s, 12, &[8, 3, 9, 4, 5, 10, 11]);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    assert_eq!(c.lost, 2);
    assert_eq!((c.late_runs, c.late), (1, 3));
    c.finish();
    assert!(c.violations.is_empty(), "{:?}", c.violations);
}

#[test]
fn checker_refuses_a_reorder_outside_a_fault_window() {
    let (mut c, s) = checker(false, true);
    feed(&mut c, s, 10, &[0, 1, 3, 2]);
    assert_eq!(c.violations.len(), 2, "{:?}", c.violations);
    assert!(
        c.violations[1].contains("out of order"),
        "{:?}",
        c.violations
    );
}

#[test]
fn checker_refuses_a_tail_that_skips_or_repeats_or_a_third_run() {
    // The old run must continue exactly where the reading left off (strict track).
    let (mut c, s) = checker(false, true);
    feed(&mut c, s, 20, &[0, 1, 2]);
    c.fault(Duration::ZERO, |_, _| true);
    feed(&mut c, s, 20, &[8, 4]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    // A duplicate of the tail.
    let (mut c, s) = checker(false, true);
    feed(&mut c, s, 20, &[0, 1, 2]);
    c.fault(Duration::ZERO, |_, _| true);
    feed(&mut c, s, 20, &[8, 3, 3]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    assert!(c.violations[0].contains("seq 3"), "{:?}", c.violations);
    // A tail reaching into the new run.
    let (mut c, s) = checker(false, true);
    feed(&mut c, s, 20, &[0, 1, 2]);
    c.fault(Duration::ZERO, |_, _| true);
    feed(&mut c, s, 20, &[8, 9, 3, 4, 5, 6, 7, 8]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    // Two reconnects: a late message of the first old run after the second tail began.
    let (mut c, s) = checker(false, true);
    feed(&mut c, s, 30, &[0, 1, 2]);
    c.fault(Duration::ZERO, |_, _| true);
    feed(&mut c, s, 30, &[8, 3]);
    c.fault(Duration::ZERO, |_, _| true);
    feed(&mut c, s, 30, &[9, 10, 20, 11, 4]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    assert!(c.violations[0].contains("seq 4"), "{:?}", c.violations);
}

#[test]
fn checker_keeps_order_strict_where_the_receiver_does_not_fair_queue_reconnects() {
    // A ROUTER with a fixed-id DEALER, a PAIR, a receiver that connects, inproc or ipc.
    let (mut c, s) = checker(false, false);
    feed(&mut c, s, 10, &[0, 1, 2]);
    c.fault(Duration::ZERO, |_, _| true);
    feed(&mut c, s, 10, &[8, 3]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    assert!(
        c.violations[0].contains("out of order"),
        "{:?}",
        c.violations
    );
}

#[test]
fn checker_accepts_a_lossy_tail_with_gaps_but_not_a_reorder_within_it() {
    let (mut c, s) = checker(true, true);
    feed(&mut c, s, 100, &[]);
    c.fault(Duration::ZERO, |_, _| true);
    feed(&mut c, s, 100, &[0, 1, 5, 50, 7, 9, 51, 12]);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    feed(&mut c, s, 100, &[11]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    // Outside a fault window a lossy track's reorder is a violation too.
    let (mut c, s) = checker(true, true);
    feed(&mut c, s, 100, &[0, 1, 5, 50, 7]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
}

#[test]
fn checker_counts_a_closed_senders_lost_tail_only_where_its_peer_sent_to_it_over_tcp() {
    if allow_linger_loss() {
        return;
    }
    // Node 0 sends to node 1 and is closed; node 1 sends to node 0 (a PAIR).
    let setup = |tcp: bool, peer_sends_after: bool| {
        let mut c = Checker {
            reset_on_close: tcp,
            ..Checker::default()
        };
        let s = c.stream("a".into(), 0, &[(1, false, false)]);
        let back = c.stream("b".into(), 1, &[(0, false, false)]);
        feed(&mut c, back, 5, &[]);
        for _ in 0..5 {
            c.receive(
                Body {
                    tag: TAG_DATA,
                    stream: back,
                    seq: c.tracks[&(back, 0)].last.map_or(0, |l| l + 1),
                    attempt: 0,
                },
                0,
            );
        }
        feed(&mut c, s, 10, &[0, 1, 2]);
        c.retire(s, true);
        if peer_sends_after {
            c.commit(back);
        }
        c.retire(back, true);
        c.tracks.get_mut(&(back, 0)).unwrap().last = Some(c.next(back) - 1);
        c.finish();
        c
    };
    let c = setup(true, true);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    assert_eq!(c.linger_lost, 7);
    // The peer had read everything and sent nothing more: it only read, so the tail must come.
    let c = setup(true, false);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    assert!(
        c.violations[0].contains("tail of a closed"),
        "{:?}",
        c.violations
    );
    // No reset over ipc.
    let c = setup(false, true);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
}

#[test]
fn checker_keeps_a_closed_pair_connectors_lost_tail_a_violation_at_a_bound_pair() {
    // The bound PAIR drops a closed peer's unread messages when the next one attaches: a
    // library bug, not a reset, even though the bound PAIR was sending too.
    let mut c = Checker {
        reset_on_close: true,
        ..Checker::default()
    };
    c.pair_replaces.insert((0, 1));
    let s = c.stream("pair0#0".into(), 0, &[(1, false, false)]);
    let back = c.stream("pair1#0".into(), 1, &[(0, false, false)]);
    feed(&mut c, s, 10, &[0, 1, 2]);
    c.retire(s, true);
    c.commit(back);
    c.finish();
    assert!(
        c.violations
            .iter()
            .any(|v| v.starts_with("pair0#0 -> node 1: tail of a closed")),
        "{:?}",
        c.violations
    );
}

#[test]
fn checker_lets_a_refusable_pair_lose_only_its_new_streams_head() {
    let mut c = Checker::default();
    let s = c.stream("pair1#1".into(), 0, &[(1, false, true)]);
    feed(&mut c, s, 2000, &[1000, 1001, 1003]);
    assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
    assert!(
        c.violations[0].contains("seq 1002..1003"),
        "{:?}",
        c.violations
    );
    assert_eq!(c.lost, 1000);
}
