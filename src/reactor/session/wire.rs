//! The session's byte-level helpers: how a socket's message is encoded for the wire, how
//! much the next read asks for, and the writer the socket uses on the direct path.
//!
//! What must hold: a read grant never follows a size the peer announced (only a constant or
//! what already arrived); a direct write leaves any unwritten tail to the session; and the
//! direct writer shares the connection's one descriptor without keeping it open (a
//! [`WriteHandle`] holds the socket only for each write), so the connection still closes
//! when the session drops its stream, and the writer can never write to it afterwards.

use super::{FRAME_GRANT, MAX_SLICES, READ_CHUNK};
use crate::pipe::DirectSink;
use crate::transport::WriteHandle;
use crate::zmtp::{Connection, OutBuf};
use crate::{Message, SocketType};
use std::io::{self, IoSlice};

/// Encodes one message from the socket. A subscriber's one-frame `0x01`/`0x00` messages are
/// subscriptions: SUBSCRIBE/CANCEL commands to a ZMTP 3.1 peer, the message form to 3.0.
pub(super) fn encode(
    zmtp: &mut Connection,
    socket_type: SocketType,
    msg: &Message,
    out: &mut OutBuf,
) {
    if matches!(socket_type, SocketType::Sub | SocketType::XSub) && msg.len() == 1 {
        let frame = &msg[0];
        if let Some(&flag @ (0 | 1)) = frame.first() {
            zmtp.encode_subscription(&frame[1..], flag == 1, out);
            return;
        }
    }
    zmtp.encode_message(msg, out);
}

/// The longest frame header (flags, then an 8-byte size).
const MAX_HEADER: usize = 9;

/// Frames at least this long are read to their end and no further (see [`read_plan`]).
/// Smaller ones share reads: for them an extra read per message would cost more than the
/// copy it saves.
const LARGE_FRAME: usize = 256 * 1024;

/// What the next read asks for (see [`read_plan`]).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ReadPlan {
    /// Bytes to ask for.
    pub(super) want: usize,
    /// Whether the buffer must make room first.
    pub(super) reserve: bool,
    /// The read finishes a large frame: ask for the next frame's header alone next time.
    pub(super) large: bool,
}

/// How much the next read asks for, and whether the buffer must grow first, given the
/// usual read size, the bytes still `missing` from a frame body being received, the bytes
/// `buffered` and the `spare` capacity, and whether the last read finished a large frame
/// (`after_large`).
///
/// A frame with more than a read chunk still to come gets room for the rest of it in one
/// go, so the kernel copies it straight to where the message will live and the buffer is
/// never regrown (and copied) under it; that grant is bounded by a constant or by twice
/// what already arrived, never by the size the peer announced. A frame of `LARGE_FRAME` or
/// more is also read to its end and no further, and the read after it asks only for a
/// header: the next large body then starts a buffer of its own, instead of arriving behind
/// the previous message in a buffer that message still owns, from which it would have to
/// be copied out when it needs room.
pub(super) fn read_plan(
    read_size: usize,
    missing: usize,
    buffered: usize,
    spare: usize,
    after_large: bool,
) -> ReadPlan {
    let large = missing > 0 && buffered.saturating_add(missing) >= LARGE_FRAME;
    if large || missing > READ_CHUNK {
        let want = missing.min(FRAME_GRANT.max(buffered.saturating_mul(2)));
        return ReadPlan {
            want,
            reserve: spare < want,
            large,
        };
    }
    if after_large && missing == 0 && buffered == 0 {
        return ReadPlan {
            want: MAX_HEADER,
            reserve: spare < MAX_HEADER,
            large: false,
        };
    }
    ReadPlan {
        want: read_size,
        reserve: spare < read_size / 4,
        large: false,
    }
}

/// The session's side of the direct path: encodes a message and writes it to the
/// connection's socket through a non-owning [`WriteHandle`]. Only for connections that send
/// in clear: a CURVE connection's encoder holds nonce state that lives with the session.
/// Once the session has dropped its stream, every write fails with `NotConnected` and the
/// message takes the normal path.
pub(super) struct DirectWriter {
    handle: WriteHandle,
    scratch: OutBuf,
}

impl DirectWriter {
    /// A writer on `handle`, a non-owning handle on the connection's socket.
    pub(super) fn new(handle: WriteHandle) -> DirectWriter {
        DirectWriter {
            handle,
            scratch: OutBuf::new(),
        }
    }
}

impl DirectSink for DirectWriter {
    fn write_message(&mut self, msg: &Message) -> io::Result<OutBuf> {
        Connection::encode_plain_message(msg, &mut self.scratch);
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let n = self.scratch.io_slices(&mut slices);
        let result = self.handle.write_vectored(&slices[..n]);
        let written = *result.as_ref().unwrap_or(&0);
        if written == 0 {
            // Nothing went out: drop the encoding, keep the buffer's allocation.
            self.scratch.advance(self.scratch.len());
            return Err(result
                .err()
                .unwrap_or_else(|| io::ErrorKind::WriteZero.into()));
        }
        self.scratch.advance(written);
        if self.scratch.is_empty() {
            // The usual case: all of it went out, and the scratch buffer keeps its
            // allocation for the next message.
            Ok(OutBuf::new())
        } else {
            // The rest goes to the session, large frames uncopied.
            Ok(std::mem::take(&mut self.scratch))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::MAX_READ;
    use super::*;

    fn plan(want: usize, reserve: bool, large: bool) -> ReadPlan {
        ReadPlan {
            want,
            reserve,
            large,
        }
    }

    #[test]
    fn a_large_frame_gets_room_for_its_rest_at_once() {
        // 1 MiB body, 40 KiB of it buffered, 24 KiB spare: room for all the rest.
        let missing = (1 << 20) - 40 * 1024;
        assert_eq!(
            read_plan(READ_CHUNK, missing, 40 * 1024, 24 * 1024, false),
            plan(missing, true, true)
        );
        // Already enough room: no regrow.
        assert_eq!(
            read_plan(READ_CHUNK, missing, 40 * 1024, 1 << 20, false),
            plan(missing, false, true)
        );
    }

    #[test]
    fn a_large_frame_is_read_to_its_end_and_no_further() {
        // The last 9 bytes of a 1 MiB body: ask for exactly those, however large reads are.
        assert_eq!(
            read_plan(MAX_READ, 9, (1 << 20) - 9, 1 << 20, false),
            plan(9, false, true)
        );
        // Then the next header alone, into a fresh buffer.
        assert_eq!(
            read_plan(MAX_READ, 0, 0, 0, true),
            plan(MAX_HEADER, true, false)
        );
        // A small frame's rest is not large: the usual read.
        assert_eq!(
            read_plan(MAX_READ, 9, 100, 1 << 20, true),
            plan(MAX_READ, false, false)
        );
        // Nor is a 64 KiB frame's: messages of that size share reads.
        assert_eq!(
            read_plan(MAX_READ, 9, (64 << 10) - 9, 1 << 20, false),
            plan(MAX_READ, false, false)
        );
    }

    #[test]
    fn an_announced_size_alone_buys_a_bounded_grant() {
        // A hostile header: 2^62 bytes announced, 10 arrived.
        let p = read_plan(READ_CHUNK, 1 << 62, 10, 0, false);
        assert_eq!((p.want, p.reserve), (FRAME_GRANT, true));
        // Past the constant, room only grows with what did arrive.
        let p = read_plan(READ_CHUNK, 1 << 62, 8 << 20, 0, false);
        assert_eq!(p.want, 16 << 20);
    }

    #[test]
    fn small_frames_keep_the_usual_read_size() {
        assert_eq!(
            read_plan(READ_CHUNK, 100, 0, READ_CHUNK, false),
            plan(READ_CHUNK, false, false)
        );
        assert_eq!(
            read_plan(MAX_READ, 0, 0, 1024, false),
            plan(MAX_READ, true, false)
        );
    }
}
