//! The security mechanism interface: what the [`Connection`](super::Connection) asks of
//! NULL, PLAIN and CURVE during the handshake, and (for CURVE) for every frame after it.
//!
//! A mechanism is a sans-IO state machine: handshake command bodies in, commands written to
//! an [`OutBuf`], and a [`Progress`] that says what the connection does next. What must
//! hold: a mechanism never panics on peer input and never allocates from a length the peer
//! announced; a server asks for a ZAP decision ([`Progress::Authenticate`]) before it admits
//! a client, and goes on only through [`Mechanism::on_verdict`]; no secret key material is
//! ever logged or shown by `Debug`; the peer's metadata reaches the connection only as parsed
//! properties in [`Progress::Done`] (the connection validates them).

use super::curve::Curve;
use super::null::Null;
use super::plain::Plain;
use super::OutBuf;
use crate::ProtocolError;
use bytes::{Bytes, BytesMut};

/// Flag in the plaintext flags byte of a CURVE MESSAGE: more frames follow.
pub(crate) const MSG_MORE: u8 = 0x01;
/// Flag in the plaintext flags byte of a CURVE MESSAGE: the frame is a command (libzmq
/// sends PING, PONG, SUBSCRIBE and CANCEL this way).
pub(crate) const MSG_COMMAND: u8 = 0x02;

/// Metadata properties as parsed from a READY or INITIATE: (name, value) in order.
pub(crate) type Properties = Vec<(String, Bytes)>;

/// What a server hands to ZAP to decide on a client.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// NULL: nothing but the peer's address (asked only when a ZAP domain is set).
    Null,
    /// PLAIN: the user name and password from the client's HELLO.
    Plain { username: Bytes, password: Bytes },
    /// CURVE: the client's long-term public key, from its INITIATE.
    Curve { public_key: [u8; 32] },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Null => f.write_str("Null"),
            // The password is a secret: never shown.
            Credentials::Plain { username, .. } => f
                .debug_struct("Plain")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Curve { public_key } => f
                .debug_struct("Curve")
                .field(
                    "public_key",
                    &crate::z85::encode(public_key).unwrap_or_default(),
                )
                .finish(),
        }
    }
}

impl Credentials {
    /// The mechanism name as ZAP spells it.
    pub(crate) fn mechanism(&self) -> &'static str {
        match self {
            Credentials::Null => "NULL",
            Credentials::Plain { .. } => "PLAIN",
            Credentials::Curve { .. } => "CURVE",
        }
    }
}

/// A ZAP decision on a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Admit the client; its messages carry `user_id` as `User-Id`, and `properties` as
    /// further metadata.
    Allow {
        user_id: Bytes,
        properties: Properties,
    },
    /// Refuse it with a ZAP status code: 300 (temporary: close without ERROR), 400 (denied)
    /// or 500 (internal error); the code is the ERROR reason sent to the client.
    Deny { status: u16, text: String },
}

/// What the connection does after a mechanism step.
#[derive(Debug)]
pub(crate) enum Progress {
    /// Go on reading handshake commands (the step may have written commands to `out`).
    Continue,
    /// A server must decide on the client: the connection holds the input and waits for
    /// [`Mechanism::on_verdict`].
    Authenticate(Credentials),
    /// The handshake is complete; the peer's metadata (READY or INITIATE properties, not yet
    /// validated). Anything our side still had to send is in `out`.
    Done(Properties),
}

/// The mechanism of one connection.
#[derive(Debug)]
pub(crate) enum Mechanism {
    Null(Null),
    Plain(Plain),
    Curve(Box<Curve>),
}

impl Mechanism {
    /// The name in the greeting: `NULL`, `PLAIN` or `CURVE`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Mechanism::Null(_) => "NULL",
            Mechanism::Plain(_) => "PLAIN",
            Mechanism::Curve(_) => "CURVE",
        }
    }

    /// The as-server byte of our greeting: whether we hold the server role.
    pub(crate) fn as_server(&self) -> bool {
        match self {
            Mechanism::Null(_) => false,
            Mechanism::Plain(m) => m.is_server(),
            Mechanism::Curve(m) => m.is_server(),
        }
    }

    /// Both greetings are done: the first step (a client writes its HELLO; NULL writes its
    /// READY, or asks ZAP first).
    pub(crate) fn start(&mut self, out: &mut OutBuf) -> Result<Progress, ProtocolError> {
        match self {
            Mechanism::Null(m) => m.start(out),
            Mechanism::Plain(m) => m.start(out),
            Mechanism::Curve(m) => m.start(out),
        }
    }

    /// A handshake command arrived: `body` is the whole command frame body (name length,
    /// name, data). ERROR commands are handled by the connection and never get here.
    pub(crate) fn on_command(
        &mut self,
        body: Bytes,
        out: &mut OutBuf,
    ) -> Result<Progress, ProtocolError> {
        match self {
            Mechanism::Null(m) => m.on_command(body, out),
            Mechanism::Plain(m) => m.on_command(body, out),
            Mechanism::Curve(m) => m.on_command(body, out),
        }
    }

    /// The ZAP decision asked for by [`Progress::Authenticate`]. A `Deny` returns
    /// `Err(ProtocolError::AuthFailed)` after writing the ERROR the RFC asks for (none for
    /// status 300).
    pub(crate) fn on_verdict(
        &mut self,
        verdict: &Verdict,
        out: &mut OutBuf,
    ) -> Result<Progress, ProtocolError> {
        match self {
            Mechanism::Null(m) => m.on_verdict(verdict, out),
            Mechanism::Plain(m) => m.on_verdict(verdict, out),
            Mechanism::Curve(m) => m.on_verdict(verdict, out),
        }
    }

    /// The CURVE state when frames after the handshake are boxed, else `None`.
    pub(crate) fn cipher(&mut self) -> Option<&mut Curve> {
        match self {
            Mechanism::Curve(m) => Some(m),
            _ => None,
        }
    }

    /// Whether frames after the handshake are boxed.
    pub(crate) fn encrypts(&self) -> bool {
        matches!(self, Mechanism::Curve(_))
    }
}

/// The interface each mechanism file implements (by inherent methods of the same names, so
/// the enum above dispatches without a vtable). Kept as a trait so the contract is written
/// once and checked by the compiler.
pub(crate) trait Handshake {
    /// See [`Mechanism::start`].
    fn start(&mut self, out: &mut OutBuf) -> Result<Progress, ProtocolError>;
    /// See [`Mechanism::on_command`].
    fn on_command(&mut self, body: Bytes, out: &mut OutBuf) -> Result<Progress, ProtocolError>;
    /// See [`Mechanism::on_verdict`]. Mechanisms that never ask return an error.
    fn on_verdict(
        &mut self,
        verdict: &Verdict,
        out: &mut OutBuf,
    ) -> Result<Progress, ProtocolError>;
}

/// The per-frame half of an encrypting mechanism (CURVE), used once the handshake is done.
pub(crate) trait Cipher {
    /// Boxes one frame: `flags` is [`MSG_MORE`] and/or [`MSG_COMMAND`], `payload` the frame
    /// body (for a command: its whole body, name included). Writes one complete wire frame
    /// to `out`.
    fn encode(&mut self, flags: u8, payload: &[u8], out: &mut OutBuf);
    /// Opens one received wire frame body (a MESSAGE command), checking its nonce against
    /// the last one; returns the flags byte and the frame body. Decrypts in place.
    fn decode(&mut self, body: BytesMut) -> Result<(u8, Bytes), ProtocolError>;
}

/// Splits a handshake command body into its name and data, or fails as malformed.
pub(crate) fn split_command(body: &Bytes) -> Result<(&[u8], Bytes), ProtocolError> {
    let Some(&len) = body.first() else {
        return Err(ProtocolError::Malformed("command (empty frame)"));
    };
    let end = 1 + usize::from(len);
    if body.len() < end {
        return Err(ProtocolError::Malformed("command (name longer than frame)"));
    }
    Ok((&body[1..end], body.slice(end..)))
}

/// The error a server fails with after a `Deny`, once it has written the ERROR the RFC
/// asks for: none for a temporary failure (300), the status code as reason otherwise, as
/// libzmq does.
pub(crate) fn deny(status: u16, out: &mut OutBuf) -> ProtocolError {
    if status != 300 {
        super::command::encode_error(&status.to_string(), out);
    }
    ProtocolError::AuthFailed { status }
}

/// Which mechanism a connection runs, in which role and with which secrets: what the
/// socket's options chose. `Debug` never shows a secret.
#[derive(Clone, Default)]
pub(crate) enum Security {
    /// No security (the default).
    #[default]
    Null,
    /// A PLAIN client with these credentials.
    PlainClient {
        username: Bytes,
        password: zeroize::Zeroizing<Vec<u8>>,
    },
    /// A PLAIN server.
    PlainServer,
    /// A CURVE client with our long-term keys, of the server with this public key.
    CurveClient {
        keys: crate::CurveKeyPair,
        server_key: [u8; 32],
    },
    /// A CURVE server with our long-term keys.
    CurveServer { keys: crate::CurveKeyPair },
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Security::Null => f.write_str("Null"),
            Security::PlainClient { username, .. } => f
                .debug_struct("PlainClient")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Security::PlainServer => f.write_str("PlainServer"),
            Security::CurveClient { keys, .. } => f
                .debug_struct("CurveClient")
                .field("keys", keys)
                .finish_non_exhaustive(),
            Security::CurveServer { keys } => {
                f.debug_struct("CurveServer").field("keys", keys).finish()
            }
        }
    }
}

impl Security {
    /// The mechanism for one connection, sending `metadata` (our encoded properties);
    /// under NULL, ZAP is asked iff `authenticate_null` (a ZAP domain is set).
    pub(crate) fn build(&self, metadata: Bytes, authenticate_null: bool) -> Mechanism {
        use super::curve::CurveRole;
        match self {
            Security::Null => Mechanism::Null(Null::new(metadata, authenticate_null)),
            Security::PlainClient { username, password } => {
                Mechanism::Plain(Plain::client(metadata, username.clone(), password))
            }
            Security::PlainServer => Mechanism::Plain(Plain::server(metadata)),
            Security::CurveClient { keys, server_key } => Mechanism::Curve(Box::new(Curve::new(
                keys.clone(),
                CurveRole::Client {
                    server_key: *server_key,
                },
                metadata,
            ))),
            Security::CurveServer { keys } => Mechanism::Curve(Box::new(Curve::new(
                keys.clone(),
                CurveRole::Server,
                metadata,
            ))),
        }
    }
}
