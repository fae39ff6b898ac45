//! `ActiveSet`: pipe ends in a vector whose first `active` entries are the ones worth
//! trying, with an index from pipe id to position, so that a notification for one pipe
//! among thousands costs a hash lookup rather than a scan.
//!
//! What must hold: `index[id]` is the position of the entry with that id, for every entry,
//! after every operation (each swap updates both moved entries); the active prefix is
//! `[0, active)`.

use crate::pipe::{IdMap, PipeId, PipeReader, PipeWriter};

/// Something with a pipe id.
pub(crate) trait Keyed {
    fn key(&self) -> PipeId;
}

impl Keyed for PipeReader {
    fn key(&self) -> PipeId {
        self.id()
    }
}

impl Keyed for PipeWriter {
    fn key(&self) -> PipeId {
        self.id()
    }
}

/// Entries with an active prefix and an index by id.
#[derive(Debug)]
pub(crate) struct ActiveSet<T> {
    items: Vec<T>,
    index: IdMap<usize>,
    active: usize,
}

impl<T> Default for ActiveSet<T> {
    fn default() -> Self {
        ActiveSet {
            items: Vec::new(),
            index: IdMap::default(),
            active: 0,
        }
    }
}

impl<T: Keyed> ActiveSet<T> {
    /// How many entries are active.
    pub(crate) fn active(&self) -> usize {
        self.active
    }

    /// How many entries there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The entry at `i`.
    pub(crate) fn get_mut(&mut self, i: usize) -> &mut T {
        &mut self.items[i]
    }

    /// The position of the entry with id `id`.
    pub(crate) fn position(&self, id: PipeId) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// Adds an entry, active.
    pub(crate) fn push_active(&mut self, item: T) {
        let i = self.items.len();
        self.index.insert(item.key(), i);
        self.items.push(item);
        self.activate(i);
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.items.swap(a, b);
        self.index.insert(self.items[a].key(), a);
        self.index.insert(self.items[b].key(), b);
    }

    /// Moves active entry `i` out of the active prefix.
    pub(crate) fn deactivate(&mut self, i: usize) {
        self.active -= 1;
        self.swap(i, self.active);
    }

    /// Brings entry `i` into the active prefix (no-op if it is there).
    pub(crate) fn activate(&mut self, i: usize) {
        if i >= self.active {
            self.swap(i, self.active);
            self.active += 1;
        }
    }

    /// Removes entry `i`, keeping the active prefix intact, and returns it.
    pub(crate) fn remove_at(&mut self, i: usize) -> T {
        let i = if i < self.active {
            self.deactivate(i);
            self.active
        } else {
            i
        };
        let last = self.items.len() - 1;
        self.swap(i, last);
        let item = self.items.pop().expect("an entry at a valid position");
        self.index.remove(&item.key());
        item
    }

    /// Removes the entry with id `id`.
    pub(crate) fn remove(&mut self, id: PipeId) -> Option<T> {
        let i = self.position(id)?;
        Some(self.remove_at(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct K(PipeId);

    impl Keyed for K {
        fn key(&self) -> PipeId {
            self.0
        }
    }

    fn check(set: &ActiveSet<K>) {
        assert_eq!(set.index.len(), set.items.len());
        for (i, item) in set.items.iter().enumerate() {
            assert_eq!(set.index[&item.0], i);
        }
        assert!(set.active <= set.items.len());
    }

    #[test]
    fn the_index_follows_every_swap() {
        let mut set = ActiveSet::default();
        for id in 0..10 {
            set.push_active(K(id));
        }
        check(&set);
        set.deactivate(set.position(3).unwrap());
        set.deactivate(set.position(0).unwrap());
        check(&set);
        assert_eq!(set.active(), 8);
        assert!(set.position(3).unwrap() >= 8);
        set.activate(set.position(3).unwrap());
        check(&set);
        assert!(set.position(3).unwrap() < 9);
        assert_eq!(set.remove(5), Some(K(5)));
        assert_eq!(set.remove(0), Some(K(0)));
        assert_eq!(set.remove(0), None);
        check(&set);
        assert_eq!((set.len(), set.active()), (8, 8));
        for id in [1, 2, 3, 4, 6, 7, 8, 9] {
            let i = set.position(id).unwrap();
            assert_eq!(set.get_mut(i).0, id);
        }
    }
}
