//! Routing helpers: the few policies every socket type is built from.
//!
//! Each helper owns the pipe ends it works on and knows nothing of threads or I/O. A socket
//! type composes them and adds only its own rules. They keep an *active prefix*: the first
//! `active` entries are the pipes worth trying, so a full or empty pipe costs nothing until
//! its notification brings it back.

mod dist;
mod fq;
mod lb;
mod table;
mod trie;

pub(crate) use dist::Distributor;
pub(crate) use fq::FairQueue;
pub(crate) use lb::LoadBalancer;
pub(crate) use table::{RouteError, RoutingTable};
pub(crate) use trie::{Removed, SubscriptionCounts, SubscriptionTrie};

/// Moves entry `from` to the end of the active prefix `[0, active)` and shrinks the prefix.
fn deactivate<T>(items: &mut [T], active: &mut usize, from: usize) {
    *active -= 1;
    items.swap(from, *active);
}

/// Removes entry `index` while keeping the active prefix intact, and returns it.
fn remove_at<T>(items: &mut Vec<T>, active: &mut usize, index: usize) -> T {
    if index < *active {
        deactivate(items, active, index);
        items.swap_remove(*active)
    } else {
        items.swap_remove(index)
    }
}

/// Brings inactive entry `index` into the active prefix.
fn activate<T>(items: &mut [T], active: &mut usize, index: usize) {
    if index >= *active {
        items.swap(index, *active);
        *active += 1;
    }
}
