//! Subscription tries: byte-prefix matching of a message's first frame against topics.
//!
//! Two flavours share one radix tree kept in an arena (nodes refer to each other by index,
//! so every walk is a loop and no topic length or subscription count can exhaust the stack):
//! - [`SubscriptionTrie`] (XPUB, PUB): topic → set of pipes. Adding a topic a pipe already
//!   has changes nothing (libzmq `mtrie` keeps a set per pipe; the subscriber counts).
//! - [`SubscriptionCounts`] (SUB, XSUB): topic → how many times the application subscribed.
//!
//! What must hold: the empty topic matches everything; a topic matches a message whose
//! first frame starts with it; matching allocates nothing; a topic whose value becomes
//! empty is removed together with any branch it leaves without values, so memory follows
//! the live subscriptions.

use crate::pipe::PipeId;

/// What a node holds; "empty" means the topic is not subscribed.
trait Value: Default {
    fn is_empty(&self) -> bool;
}

impl Value for u32 {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

impl Value for Vec<PipeId> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

const ROOT: usize = 0;

#[derive(Debug, Default)]
struct Node<V> {
    /// The bytes on the edge from the parent (empty only for the root).
    label: Vec<u8>,
    /// Children by the first byte of their label, sorted by that byte.
    children: Vec<(u8, usize)>,
    parent: usize,
    value: V,
    live: bool,
}

/// A radix tree over byte strings with a value per node, stored in an arena.
#[derive(Debug)]
struct Radix<V> {
    nodes: Vec<Node<V>>,
    free: Vec<usize>,
}

impl<V: Value> Default for Radix<V> {
    fn default() -> Self {
        let root = Node {
            live: true,
            ..Node::default()
        };
        Radix {
            nodes: vec![root],
            free: Vec::new(),
        }
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V: Value> Radix<V> {
    fn child(&self, node: usize, byte: u8) -> Option<usize> {
        let children = &self.nodes[node].children;
        children
            .binary_search_by_key(&byte, |&(b, _)| b)
            .ok()
            .map(|i| children[i].1)
    }

    fn alloc(&mut self, label: Vec<u8>, parent: usize) -> usize {
        let node = Node {
            label,
            children: Vec::new(),
            parent,
            value: V::default(),
            live: true,
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn link_child(&mut self, parent: usize, child: usize) {
        let byte = self.nodes[child].label[0];
        let children = &mut self.nodes[parent].children;
        match children.binary_search_by_key(&byte, |&(b, _)| b) {
            Ok(i) => children[i].1 = child,
            Err(i) => children.insert(i, (byte, child)),
        }
    }

    /// The node for exactly `key`, if there is one.
    fn find(&self, key: &[u8]) -> Option<usize> {
        let mut node = ROOT;
        let mut rest = key;
        while let Some(&byte) = rest.first() {
            let child = self.child(node, byte)?;
            let label = &self.nodes[child].label;
            if !rest.starts_with(label) {
                return None;
            }
            rest = &rest[label.len()..];
            node = child;
        }
        Some(node)
    }

    /// The node for exactly `key`, created (splitting an edge if needed) if missing.
    fn find_or_insert(&mut self, key: &[u8]) -> usize {
        let mut node = ROOT;
        let mut rest = key;
        while let Some(&byte) = rest.first() {
            let Some(child) = self.child(node, byte) else {
                let leaf = self.alloc(rest.to_vec(), node);
                self.link_child(node, leaf);
                return leaf;
            };
            let common = common_prefix(&self.nodes[child].label, rest);
            if common == self.nodes[child].label.len() {
                rest = &rest[common..];
                node = child;
                continue;
            }
            // Split the edge: node → mid (label[..common]) → child (label[common..]).
            let tail = self.nodes[child].label.split_off(common);
            let head = std::mem::replace(&mut self.nodes[child].label, tail);
            let mid = self.alloc(head, node);
            self.link_child(node, mid);
            self.nodes[child].parent = mid;
            self.link_child(mid, child);
            rest = &rest[common..];
            node = mid;
        }
        node
    }

    /// Removes `node` and then each ancestor left without a value or children.
    fn prune(&mut self, mut node: usize) {
        while node != ROOT {
            let n = &self.nodes[node];
            if !n.live || !n.value.is_empty() || !n.children.is_empty() {
                return;
            }
            let parent = n.parent;
            let byte = n.label[0];
            let siblings = &mut self.nodes[parent].children;
            if let Ok(i) = siblings.binary_search_by_key(&byte, |&(b, _)| b) {
                siblings.remove(i);
            }
            let dead = &mut self.nodes[node];
            dead.live = false;
            dead.label = Vec::new();
            dead.children = Vec::new();
            self.free.push(node);
            node = parent;
        }
    }

    /// Calls `f` with the value of every node whose key is a prefix of `data`.
    fn for_each_match(&self, data: &[u8], mut f: impl FnMut(&V)) {
        let mut node = ROOT;
        let mut rest = data;
        loop {
            let value = &self.nodes[node].value;
            if !value.is_empty() {
                f(value);
            }
            let Some(&byte) = rest.first() else { return };
            let Some(child) = self.child(node, byte) else {
                return;
            };
            let label = &self.nodes[child].label;
            if !rest.starts_with(label) {
                return;
            }
            rest = &rest[label.len()..];
            node = child;
        }
    }

    /// Whether some key is a prefix of `data`; stops at the first one found.
    fn any_match(&self, data: &[u8]) -> bool {
        let mut node = ROOT;
        let mut rest = data;
        loop {
            if !self.nodes[node].value.is_empty() {
                return true;
            }
            let Some(&byte) = rest.first() else {
                return false;
            };
            let Some(child) = self.child(node, byte) else {
                return false;
            };
            let label = &self.nodes[child].label;
            if !rest.starts_with(label) {
                return false;
            }
            rest = &rest[label.len()..];
            node = child;
        }
    }

    /// The full key of `node`.
    fn key_of(&self, mut node: usize) -> Vec<u8> {
        let mut parts = Vec::new();
        while node != ROOT {
            parts.push(node);
            node = self.nodes[node].parent;
        }
        let mut key = Vec::new();
        for &n in parts.iter().rev() {
            key.extend_from_slice(&self.nodes[n].label);
        }
        key
    }

    /// Indices of every live node with a value, in no particular order.
    fn valued_nodes(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.live && !n.value.is_empty())
            .map(|(i, _)| i)
    }
}

/// The outcome of removing one pipe's subscription to a topic (libzmq `mtrie` `rm_result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removed {
    /// The pipe was not subscribed to that topic.
    NotFound,
    /// It was the last pipe subscribed to the topic.
    Last,
    /// Other pipes are still subscribed to the topic.
    OthersRemain,
}

/// Topic → set of pipes, for XPUB/PUB.
#[derive(Debug, Default)]
pub(crate) struct SubscriptionTrie {
    tree: Radix<Vec<PipeId>>,
}

impl SubscriptionTrie {
    /// Subscribes pipe `id` to `topic`. Returns true if no pipe had that topic before.
    pub(crate) fn add(&mut self, topic: &[u8], id: PipeId) -> bool {
        let node = self.tree.find_or_insert(topic);
        let pipes = &mut self.tree.nodes[node].value;
        let first = pipes.is_empty();
        if !pipes.contains(&id) {
            pipes.push(id);
        }
        first
    }

    /// Drops pipe `id`'s subscription to `topic`.
    pub(crate) fn remove(&mut self, topic: &[u8], id: PipeId) -> Removed {
        let Some(node) = self.tree.find(topic) else {
            return Removed::NotFound;
        };
        let pipes = &mut self.tree.nodes[node].value;
        let Some(i) = pipes.iter().position(|&p| p == id) else {
            return Removed::NotFound;
        };
        pipes.swap_remove(i);
        if pipes.is_empty() {
            self.tree.prune(node);
            Removed::Last
        } else {
            Removed::OthersRemain
        }
    }

    /// Drops every subscription of pipe `id` (it went away). Calls `f(topic, last)` for each
    /// topic it had, `last` telling whether no pipe is left subscribed to it.
    pub(crate) fn remove_pipe(&mut self, id: PipeId, mut f: impl FnMut(&[u8], bool)) {
        let hit: Vec<usize> = self
            .tree
            .valued_nodes()
            .filter(|&n| self.tree.nodes[n].value.contains(&id))
            .collect();
        for &node in &hit {
            let pipes = &mut self.tree.nodes[node].value;
            pipes.retain(|&p| p != id);
            let last = pipes.is_empty();
            let key = self.tree.key_of(node);
            f(&key, last);
        }
        for node in hit {
            self.tree.prune(node);
        }
    }

    /// Calls `f` for each pipe subscribed to a prefix of `data`. A pipe with several
    /// matching topics ("A" and "AB" for "ABC") is reported once per topic; the
    /// [`Distributor`](super::Distributor) marks it once. Allocates nothing.
    pub(crate) fn for_each_match(&self, data: &[u8], mut f: impl FnMut(PipeId)) {
        self.tree.for_each_match(data, |pipes| {
            for &p in pipes {
                f(p);
            }
        });
    }

    /// Whether no pipe has any subscription.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.tree.valued_nodes().next().is_none()
    }
}

/// Topic → count, for SUB/XSUB: subscribing twice needs two unsubscribes.
#[derive(Debug, Default)]
pub(crate) struct SubscriptionCounts {
    tree: Radix<u32>,
}

impl SubscriptionCounts {
    /// Counts one more subscription to `topic`. Returns true if it is new.
    pub(crate) fn add(&mut self, topic: &[u8]) -> bool {
        let node = self.tree.find_or_insert(topic);
        let count = &mut self.tree.nodes[node].value;
        *count = count.saturating_add(1);
        *count == 1
    }

    /// Counts one subscription to `topic` less. Returns true if that was the last one (the
    /// cancel should go upstream); false if others remain or there was none.
    pub(crate) fn remove(&mut self, topic: &[u8]) -> bool {
        let Some(node) = self.tree.find(topic) else {
            return false;
        };
        let count = &mut self.tree.nodes[node].value;
        if *count == 0 {
            return false;
        }
        *count -= 1;
        if *count == 0 {
            self.tree.prune(node);
            true
        } else {
            false
        }
    }

    /// Whether some subscribed topic is a prefix of `data`. Allocates nothing.
    pub(crate) fn matches(&self, data: &[u8]) -> bool {
        self.tree.any_match(data)
    }

    /// Every subscribed topic, once each whatever its count.
    pub(crate) fn topics(&self) -> Vec<Vec<u8>> {
        self.tree
            .valued_nodes()
            .map(|n| self.tree.key_of(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matching(t: &SubscriptionTrie, data: &[u8]) -> Vec<PipeId> {
        let mut v = Vec::new();
        t.for_each_match(data, |p| v.push(p));
        v.sort_unstable();
        v
    }

    fn live_nodes<V: Value>(r: &Radix<V>) -> usize {
        r.nodes.iter().filter(|n| n.live).count()
    }

    #[test]
    fn prefix_matching_with_overlaps() {
        let mut t = SubscriptionTrie::default();
        assert!(t.add(b"A", 1));
        assert!(t.add(b"AB", 1));
        assert!(t.add(b"ABD", 2));
        assert!(t.add(b"B", 3));
        assert_eq!(matching(&t, b"ABC"), vec![1, 1]);
        assert_eq!(matching(&t, b"ABDX"), vec![1, 1, 2]);
        assert_eq!(matching(&t, b"A"), vec![1]);
        assert_eq!(matching(&t, b""), Vec::<PipeId>::new());
        assert_eq!(matching(&t, b"C"), Vec::<PipeId>::new());
        assert_eq!(matching(&t, b"AXB"), vec![1]);
    }

    #[test]
    fn empty_topic_matches_everything() {
        let mut t = SubscriptionTrie::default();
        t.add(b"", 7);
        assert_eq!(matching(&t, b""), vec![7]);
        assert_eq!(matching(&t, b"anything"), vec![7]);
        let mut c = SubscriptionCounts::default();
        assert!(!c.matches(b"x"));
        c.add(b"");
        assert!(c.matches(b"x"));
        assert!(c.matches(b""));
    }

    #[test]
    fn add_reports_new_topics_and_remove_the_last() {
        let mut t = SubscriptionTrie::default();
        assert!(t.add(b"top", 1));
        assert!(!t.add(b"top", 2));
        assert!(!t.add(b"top", 1), "a pipe's topics are a set");
        assert_eq!(t.remove(b"top", 3), Removed::NotFound);
        assert_eq!(t.remove(b"to", 1), Removed::NotFound);
        assert_eq!(t.remove(b"top", 1), Removed::OthersRemain);
        assert_eq!(t.remove(b"top", 1), Removed::NotFound);
        assert_eq!(t.remove(b"top", 2), Removed::Last);
        assert!(t.is_empty());
        assert_eq!(live_nodes(&t.tree), 1);
    }

    #[test]
    fn splits_and_prunes_edges() {
        let mut t = SubscriptionTrie::default();
        t.add(b"abcdef", 1);
        t.add(b"abcxyz", 2);
        t.add(b"ab", 3);
        assert_eq!(matching(&t, b"abcdefg"), vec![1, 3]);
        assert_eq!(matching(&t, b"abcxy"), vec![3]);
        assert_eq!(matching(&t, b"abcxyz"), vec![2, 3]);
        assert_eq!(t.remove(b"abcdef", 1), Removed::Last);
        assert_eq!(t.remove(b"ab", 3), Removed::Last);
        assert_eq!(matching(&t, b"abcxyz!"), vec![2]);
        assert_eq!(t.remove(b"abcxyz", 2), Removed::Last);
        assert_eq!(live_nodes(&t.tree), 1, "everything pruned");
        // Freed nodes are reused.
        t.add(b"q", 1);
        assert_eq!(t.tree.nodes.len(), 5);
    }

    #[test]
    fn removing_a_pipe_reports_its_topics() {
        let mut t = SubscriptionTrie::default();
        t.add(b"A", 1);
        t.add(b"AB", 1);
        t.add(b"AB", 2);
        t.add(b"C", 2);
        let mut gone = Vec::new();
        t.remove_pipe(1, |topic, last| gone.push((topic.to_vec(), last)));
        gone.sort();
        assert_eq!(gone, vec![(b"A".to_vec(), true), (b"AB".to_vec(), false)]);
        assert_eq!(matching(&t, b"ABC"), vec![2]);
        let mut gone = Vec::new();
        t.remove_pipe(2, |topic, last| gone.push((topic.to_vec(), last)));
        gone.sort();
        assert_eq!(gone, vec![(b"AB".to_vec(), true), (b"C".to_vec(), true)]);
        assert!(t.is_empty());
        assert_eq!(live_nodes(&t.tree), 1);
    }

    #[test]
    fn counts_need_as_many_removes_as_adds() {
        let mut c = SubscriptionCounts::default();
        assert!(c.add(b"A"));
        assert!(!c.add(b"A"));
        assert!(c.add(b"AB"));
        assert!(!c.remove(b"X"));
        assert!(!c.remove(b"A"));
        assert!(c.matches(b"AZ"));
        assert!(c.remove(b"A"));
        assert!(!c.remove(b"A"));
        assert!(!c.matches(b"AZ"));
        assert!(c.matches(b"ABZ"));
        let mut topics = c.topics();
        topics.sort();
        assert_eq!(topics, vec![b"AB".to_vec()]);
        assert!(c.remove(b"AB"));
        assert!(c.topics().is_empty());
        assert_eq!(live_nodes(&c.tree), 1);
    }

    #[test]
    fn long_and_deep_topics_do_not_recurse() {
        let mut c = SubscriptionCounts::default();
        let long = vec![b'a'; 100_000];
        for n in 1..2000 {
            c.add(&long[..n]);
        }
        assert!(c.matches(&long));
        for n in 1..2000 {
            assert!(c.remove(&long[..n]));
        }
        assert_eq!(live_nodes(&c.tree), 1);
        c.add(&long);
        assert!(c.matches(&long));
        assert!(!c.matches(&long[..99_999]));
    }
}
