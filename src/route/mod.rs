//! Routing helpers: the few policies every socket type is built from.
//!
//! Each helper owns the pipe ends it works on and knows nothing of threads or I/O. A socket
//! type composes them and adds only its own rules. They keep an *active prefix*: the first
//! `active` entries are the pipes worth trying, so a full or empty pipe costs nothing until
//! its notification brings it back.

mod active;
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
