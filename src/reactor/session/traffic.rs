//! A session's reads and writes: filling the read buffer in growing chunks and decoding
//! it, and writing queued output in vectored batches, in step with the direct path.
//!
//! What must hold: a read grant never follows a size the peer announced; reading stops
//! while the output a peer made us produce is over its allowance, and while the socket's
//! inbound pipe is full; a decode yields no more messages than that pipe has room for, and
//! input left over is decoded before the next read (no new edge comes for it), so a
//! connection holds at most the high-water mark in messages plus one read chunk in bytes;
//! after a failed write nothing more is written, but what the peer sent before it went is
//! still read.

use super::wire::{encode, read_plan};
use super::{Cause, Cx, Session, MAX_READ, MAX_SLICES, OUT_BATCH, READ_CHUNK, REPLY_ROOM};
use crate::pipe::DirectHandle;
use crate::zmtp::OutBuf;
use std::io::{self, IoSlice, Write};

impl Session {
    /// Whether the output buffer holds more than the socket's data plus `REPLY_ROOM`: then
    /// the peer is not reading what it makes us write, and we stop reading from it.
    pub(super) fn output_over_allowance(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| {
            c.write_error.is_none() && c.out.len() > self.data_out.max(OUT_BATCH) + REPLY_ROOM
        })
    }

    pub(super) fn read_input(&mut self, cx: &mut Cx<'_>) -> Result<(), Cause> {
        loop {
            if self.output_over_allowance() {
                self.read_held = true;
                return Ok(());
            }
            let Some(conn) = &mut self.conn else {
                return Ok(());
            };
            if conn.zmtp.is_none() || self.read_paused {
                return Ok(());
            }
            if self.undecoded {
                // Input left when the pipe filled: decode it before asking the kernel for
                // more (no new edge will come for bytes already read).
                self.decode(cx)?;
                continue;
            }
            if !conn.readable {
                return Ok(());
            }
            // Reads start at one chunk and double (up to MAX_READ) while each one comes
            // back full, that is while the kernel already holds that much: a busy link
            // then moves many large messages per read and per wake-up, and memory still
            // follows what arrived, never a length a peer announced. A short read starts
            // over at one chunk, so a quiet link keeps small batches and sessions take turns.
            let missing = conn
                .zmtp
                .as_ref()
                .map_or(0, |z| z.body_missing(conn.rbuf.len()));
            let plan = read_plan(
                conn.read_size,
                missing,
                conn.rbuf.len(),
                conn.rbuf.capacity() - conn.rbuf.len(),
                conn.after_large,
            );
            conn.after_large = plan.large;
            let want = plan.want;
            if plan.reserve {
                conn.rbuf.reserve(want);
            }
            let room = (conn.rbuf.capacity() - conn.rbuf.len()).min(want);
            match conn.stream.read_into(&mut conn.rbuf, room) {
                Ok(0) if self.half_closed.is_some() => {
                    // The peer answered our FIN: the close is clean.
                    self.eof = true;
                    conn.readable = false;
                    return Ok(());
                }
                Ok(0) => return Err(Cause::Other("peer closed the connection".to_owned())),
                // A short read emptied the kernel's queue; the next arrival raises a new
                // edge, so skip the read that would only say WouldBlock. Not after the
                // peer's FIN: it came with this edge, and only the next read reports it.
                Ok(n) if n < room => {
                    conn.readable = conn.read_closed;
                    conn.read_size = READ_CHUNK;
                }
                Ok(_) => conn.read_size = (conn.read_size * 2).min(MAX_READ),
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => {
                        conn.readable = false;
                        if let Some(error) = &conn.write_error {
                            return Err(Cause::Other(format!("write failed: {error}")));
                        }
                        return Ok(());
                    }
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(Cause::Other(format!("read failed: {e}"))),
                },
            }
            self.heartbeat.heard(cx.now);
            self.decode(cx)?;
            if self.undecoded {
                // The socket is not keeping up with this peer: read in small chunks, so
                // that a throttled connection holds one chunk, not a grown buffer.
                if let Some(conn) = &mut self.conn {
                    conn.read_size = READ_CHUNK;
                }
            }
        }
    }

    /// Encodes queued messages and writes until done or the kernel pushes back. Holds the
    /// direct-path lock throughout, and marks the session idle for the direct path only if
    /// it leaves nothing behind.
    pub(super) fn write_output(&mut self) -> io::Result<()> {
        let Some(conn) = &mut self.conn else {
            return Ok(());
        };
        let Some(zmtp) = &mut conn.zmtp else {
            return Ok(());
        };
        if conn.write_error.is_some() || self.half_closed.is_some() {
            // Nothing can be written any more: drop what reading produced (PONGs), and
            // leave what is queued in the pipe for the next connection.
            conn.out = OutBuf::new();
            return Ok(());
        }
        let ready = zmtp.is_ready();
        let mut direct = conn.direct.as_ref().map(DirectHandle::lock);
        if let Some(d) = direct.as_mut() {
            d.idle = false;
            if !d.pending.is_empty() {
                // The tail of a message the socket began to write goes first: whatever the
                // session queued since (a PONG, say) has not been written yet.
                let mut out = std::mem::take(&mut d.pending);
                out.append(&mut conn.out);
                conn.out = out;
                if let Some(pipe) = &mut self.pipe {
                    pipe.reader
                        .absorb_tails(std::mem::take(&mut d.pending_msgs));
                }
            }
        }
        let mut drained = false;
        let result = loop {
            if ready && conn.out.len() < OUT_BATCH {
                if let Some(pipe) = &mut self.pipe {
                    while conn.out.len() < OUT_BATCH {
                        match pipe.reader.try_read() {
                            Ok(msg) => encode(zmtp, self.config.socket_type, &msg, &mut conn.out),
                            Err(_) => {
                                drained = true;
                                break;
                            }
                        }
                    }
                    self.data_out = conn.out.len();
                }
            }
            if conn.out.is_empty() || !conn.writable {
                break Ok(());
            }
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = conn.out.io_slices(&mut slices);
            let offered: usize = slices[..n].iter().map(|s| s.len()).sum();
            match conn.stream.write_vectored(&slices[..n]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    conn.out.advance(written);
                    if written < offered {
                        // The kernel's buffer is full; wait for the writable edge.
                        conn.writable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.writable = false;
                    break Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if let Some(d) = direct.as_mut() {
            d.idle = result.is_ok() && ready && drained && conn.out.is_empty() && conn.writable;
        }
        if result.is_ok() && conn.out.is_empty() {
            // Everything taken from the pipe is in the kernel: one store for the batch
            // (and a wake-up only if a flush waits).
            if let Some(pipe) = &mut self.pipe {
                pipe.reader.all_handed();
            }
        }
        result
    }

    /// A write failed: stop writing (what was encoded for this connection is lost with it,
    /// as if the kernel had taken it), withdraw the direct path, and keep reading until the
    /// input is exhausted; `read_input` then ends the connection.
    pub(super) fn write_failed(&mut self, e: io::Error) {
        self.withdraw_direct();
        if let Some(conn) = &mut self.conn {
            log::debug!(
                "connection to {}: write failed: {e}; reading what is left",
                conn.peer
            );
            conn.out = OutBuf::new();
            conn.write_error = Some(e.to_string());
            if let Some(pipe) = &mut self.pipe {
                pipe.reader.all_lost();
            }
            // Look at the input at least once more, even without a new edge.
            conn.readable = true;
            conn.read_closed = true;
        }
    }
}
