//! A lock-free, unbounded, single-producer/single-consumer queue: the storage under every
//! pipe. This is the only module of the crate with `unsafe` code.
//!
//! Items live in a linked list of fixed-size chunks. Two monotonically increasing counters,
//! `tail` (items published by the producer) and `head` (items taken by the consumer), are
//! the only words both sides write, each on its own cache line; each side keeps a cached
//! copy of the other's counter and re-reads it only when its copy says full or empty.
//!
//! What must hold:
//! - Exactly one [`Producer`] and one [`Consumer`] exist per queue (they are created
//!   together and neither is `Clone`), so chunk pointers each have a single owner.
//! - The producer links a new chunk *before* it publishes an index inside that chunk
//!   (release on `tail`, acquire by the consumer), so the consumer never follows a null link.
//! - Every slot in `[head, tail)` holds an initialised item; everything else is
//!   uninitialised. The last owner of the queue drops `[head, tail)` and frees every chunk.
//! - One spent chunk is kept for reuse, so a steady flow allocates nothing.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;

/// Items per chunk.
const CHUNK: usize = 64;

struct Chunk<T> {
    slots: [UnsafeCell<MaybeUninit<T>>; CHUNK],
    next: AtomicPtr<Chunk<T>>,
}

impl<T> Chunk<T> {
    fn allocate() -> *mut Chunk<T> {
        Box::into_raw(Box::new(Chunk {
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            next: AtomicPtr::new(ptr::null_mut()),
        }))
    }
}

/// Keeps a counter on its own cache line, so the two sides do not share one by accident.
#[repr(align(128))]
struct Padded(AtomicU64);

struct Shared<T> {
    /// Items published by the producer.
    tail: Padded,
    /// Items taken by the consumer.
    head: Padded,
    /// The chunk holding index `head` (consumer's; read by `Drop` only).
    head_chunk: UnsafeCell<*mut Chunk<T>>,
    /// One spent chunk kept for reuse.
    spare: AtomicPtr<Chunk<T>>,
}

// SAFETY: the raw chunk pointers are only dereferenced by the single producer, the single
// consumer, or `Drop` (which has exclusive access); items move between threads, so `T: Send`.
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; shared access goes through atomics, and each `UnsafeCell` has one user.
#[allow(unsafe_code)]
unsafe impl<T: Send> Sync for Shared<T> {}

/// The writing side.
pub(crate) struct Producer<T> {
    shared: Arc<Shared<T>>,
    chunk: *mut Chunk<T>,
    tail: u64,
    head_cache: u64,
}

/// The reading side.
pub(crate) struct Consumer<T> {
    shared: Arc<Shared<T>>,
    head: u64,
    tail_cache: u64,
}

// SAFETY: each side is the only user of its chunk pointer; moving it to another thread
// moves that exclusive use along with it.
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for Producer<T> {}
// SAFETY: as for `Producer`.
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for Consumer<T> {}

/// Creates a queue and returns its two ends.
pub(crate) fn queue<T>() -> (Producer<T>, Consumer<T>) {
    let first = Chunk::allocate();
    let shared = Arc::new(Shared {
        tail: Padded(AtomicU64::new(0)),
        head: Padded(AtomicU64::new(0)),
        head_chunk: UnsafeCell::new(first),
        spare: AtomicPtr::new(ptr::null_mut()),
    });
    (
        Producer {
            shared: shared.clone(),
            chunk: first,
            tail: 0,
            head_cache: 0,
        },
        Consumer {
            shared,
            head: 0,
            tail_cache: 0,
        },
    )
}

impl<T> Producer<T> {
    /// Appends `value`; it becomes visible to the consumer at the next [`Producer::publish`].
    #[allow(unsafe_code)]
    pub(crate) fn push(&mut self, value: T) {
        let index = (self.tail % CHUNK as u64) as usize;
        if index == 0 && self.tail != 0 {
            let mut next = self.shared.spare.swap(ptr::null_mut(), Ordering::Acquire);
            if next.is_null() {
                next = Chunk::allocate();
            }
            // SAFETY: `self.chunk` is the producer's current chunk and stays allocated until
            // the consumer has moved past it, which needs this link (published below).
            unsafe { (*self.chunk).next.store(next, Ordering::Relaxed) };
            self.chunk = next;
        }
        // SAFETY: slot `index` of the current chunk is at position `tail`, which is not in
        // `[head, tail)`, so it is uninitialised and the consumer does not touch it until
        // `tail` is published past it.
        unsafe { (*(*self.chunk).slots[index].get()).write(value) };
        self.tail += 1;
    }

    /// Makes every pushed item visible to the consumer.
    pub(crate) fn publish(&mut self) {
        self.shared.tail.0.store(self.tail, Ordering::Release);
    }

    /// Items published and not yet taken, by the cached head (may overestimate).
    pub(crate) fn len_estimate(&self) -> u64 {
        self.tail - self.head_cache
    }

    /// Items published and not yet taken, re-reading the consumer's head.
    pub(crate) fn len(&mut self) -> u64 {
        self.head_cache = self.shared.head.0.load(Ordering::Acquire);
        self.tail - self.head_cache
    }
}

impl<T> Consumer<T> {
    /// Whether an item is ready, re-reading the producer's tail if needed.
    pub(crate) fn has_item(&mut self) -> bool {
        if self.head == self.tail_cache {
            self.tail_cache = self.shared.tail.0.load(Ordering::Acquire);
        }
        self.head != self.tail_cache
    }

    /// Takes the oldest published item.
    #[allow(unsafe_code)]
    pub(crate) fn pop(&mut self) -> Option<T> {
        if !self.has_item() {
            return None;
        }
        let index = (self.head % CHUNK as u64) as usize;
        // SAFETY: only the consumer (or `Drop`, with exclusive access) uses `head_chunk`.
        let chunk_slot = unsafe { &mut *self.shared.head_chunk.get() };
        if index == 0 && self.head != 0 {
            let old = *chunk_slot;
            // SAFETY: an item exists at `head`, the first index of the next chunk, so the
            // producer linked that chunk before publishing (acquire on `tail` above).
            let next = unsafe { (*old).next.load(Ordering::Acquire) };
            *chunk_slot = next;
            // SAFETY: every item of `old` was taken and the producer has moved on, so it is
            // ours to reuse or free.
            unsafe { (*old).next.store(ptr::null_mut(), Ordering::Relaxed) };
            let previous = self.shared.spare.swap(old, Ordering::AcqRel);
            if !previous.is_null() {
                // SAFETY: a chunk in `spare` is owned by nobody else once swapped out.
                drop(unsafe { Box::from_raw(previous) });
            }
        }
        // SAFETY: `head < tail` (published), so this slot holds an initialised item, which
        // we move out; `head` then advances past it so it is never read again.
        let value = unsafe { (*(**chunk_slot).slots[index].get()).assume_init_read() };
        self.head += 1;
        self.shared.head.0.store(self.head, Ordering::Release);
        Some(value)
    }

    /// Items published and not yet taken, by a relaxed look at the producer's tail.
    pub(crate) fn unread_estimate(&self) -> u64 {
        self.shared
            .tail
            .0
            .load(Ordering::Relaxed)
            .saturating_sub(self.head)
    }

    /// Items taken so far.
    pub(crate) fn taken(&self) -> u64 {
        self.head
    }
}

impl<T> Drop for Shared<T> {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        let tail = *self.tail.0.get_mut();
        let mut head = *self.head.0.get_mut();
        let mut chunk = *self.head_chunk.get_mut();
        while head != tail {
            let index = (head % CHUNK as u64) as usize;
            if index == 0 && head != 0 {
                // SAFETY: exclusive access; the chunk after a full one was linked.
                let next = unsafe { (*chunk).next.load(Ordering::Relaxed) };
                // SAFETY: every item of `chunk` was dropped; nobody else holds it.
                drop(unsafe { Box::from_raw(chunk) });
                chunk = next;
            }
            // SAFETY: `[head, tail)` holds initialised items.
            unsafe { (*(*chunk).slots[index].get()).assume_init_drop() };
            head += 1;
        }
        // The producer may have linked one more chunk before publishing into it: free the
        // chain from `chunk` on.
        while !chunk.is_null() {
            // SAFETY: exclusive access; these chunks hold no initialised items.
            let next = unsafe { (*chunk).next.load(Ordering::Relaxed) };
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(chunk) });
            chunk = next;
        }
        let spare = *self.spare.get_mut();
        if !spare.is_null() {
            // SAFETY: the spare chunk is owned by the queue alone.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn fifo_across_chunks() {
        let (mut p, mut c) = queue();
        for i in 0..1000u32 {
            p.push(i);
            if i % 7 == 0 {
                p.publish();
            }
        }
        p.publish();
        for i in 0..1000u32 {
            assert_eq!(c.pop(), Some(i));
        }
        assert_eq!(c.pop(), None);
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn unpublished_items_are_invisible() {
        let (mut p, mut c) = queue();
        p.push(1);
        assert_eq!(c.pop(), None);
        p.publish();
        assert_eq!(c.pop(), Some(1));
    }

    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn leftovers_are_dropped_exactly_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut p, mut c) = queue();
        for _ in 0..200 {
            p.push(Counted(drops.clone()));
        }
        p.publish();
        for _ in 0..70 {
            drop(c.pop());
        }
        assert_eq!(drops.load(Ordering::SeqCst), 70);
        drop(p);
        drop(c);
        assert_eq!(drops.load(Ordering::SeqCst), 200);
    }

    #[test]
    fn two_threads_keep_order() {
        let (mut p, mut c) = queue();
        const N: u64 = 1_000_000;
        let t = std::thread::spawn(move || {
            for i in 0..N {
                p.push(i);
                p.publish();
            }
        });
        let mut next = 0;
        while next < N {
            if let Some(v) = c.pop() {
                assert_eq!(v, next);
                next += 1;
            } else {
                std::hint::spin_loop();
            }
        }
        t.join().unwrap();
        assert_eq!(c.pop(), None);
    }
}
