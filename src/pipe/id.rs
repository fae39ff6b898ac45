//! Maps keyed by pipe id, with a hash fit for ids we hand out ourselves.
//!
//! What must hold: only keys this process chose go in an `IdMap`; anything a peer chooses
//! (routing ids) keeps a flood-resistant hash.

use super::PipeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by pipe id, hashed with one multiplication: pipe ids are our own sequential
/// counters, never chosen by a peer, so they need no protection against flooding, and a
/// publisher looks one up per subscriber per message (SipHash cost more than the rest of
/// choosing the subscriber).
pub(crate) type IdMap<V> = HashMap<PipeId, V, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`]: Fibonacci hashing of the id, which spreads sequential ids over
/// the table's high bits, which hashbrown uses.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for pipe ids; anything else still hashes, slowly.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
