//! ferrozmq: a pure-Rust, brokerless, ZeroMQ-compatible messaging library.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

#[allow(dead_code)]
mod endpoint;
mod error;
mod message;
mod socket_type;
#[allow(dead_code)]
mod transport;
#[allow(dead_code)]
mod zmtp;

pub use error::{Error, ProtocolError, Result, SendError};
pub use message::Message;
pub use socket_type::SocketType;
