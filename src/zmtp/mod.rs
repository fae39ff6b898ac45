//! The sans-IO ZMTP 3.1 codec: greeting, the security mechanisms (NULL, PLAIN, CURVE),
//! framing, commands.
//!
//! Nothing here touches a socket or a clock: bytes come in through
//! [`Connection::handle_input`], bytes to send go out through an [`OutBuf`]. It must keep
//! true: no panic and no unbounded allocation on any peer input (memory grows only with
//! bytes that actually arrived), received frames are zero-copy slices of the input buffer,
//! and commands never surface as messages.

mod command;
mod connection;
pub(crate) mod curve;
mod frame;
mod greeting;
mod mechanism;
mod null;
mod outbuf;
mod plain;

// Used by the socket layer; unused until it lands.
#[allow(unused_imports)]
pub(crate) use command::parse_properties;
pub(crate) use connection::{Config, Connection, Event, PeerInfo};
pub(crate) use mechanism::{Credentials, Security, Verdict};
pub(crate) use outbuf::OutBuf;
