//! ZAP (RFC 27): how a server decides whether to admit a client that completed its
//! mechanism's handshake.
//!
//! Two forms give the same decisions:
//! - a typed [`Authenticator`] installed on the context with
//!   [`Context::set_authenticator`](crate::Context::set_authenticator), called on the I/O
//!   thread with no message round trip;
//! - a ZAP handler: any socket the application binds at `inproc://zeromq.zap.01` (a REP or
//!   ROUTER), which gets RFC 27 requests and sends RFC 27 replies, exactly as with libzmq.
//!
//! The authenticator is asked first; without one, the handler; without either, the client
//! is admitted, as libzmq does. What must hold: the I/O thread never blocks on a handler
//! (the request goes down a pipe and the handshake waits for the reply's wake-up); a reply
//! that breaks RFC 27 refuses the client (status 500), never admits it; a password never
//! appears in `Debug` output or in logs.

use crate::inproc::Registry;
use crate::mailbox::Notifier;
use crate::pipe::{Pipe, ReadError};
use crate::zmtp::{Credentials, Verdict};
use crate::Message;
use bytes::Bytes;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

/// The inproc name where libzmq (and ferrozmq) look for a ZAP handler.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";
/// The name part of [`ZAP_ENDPOINT`].
const ZAP_NAME: &str = "zeromq.zap.01";

/// What a client presented, as an [`Authenticator`] sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthCredentials<'a> {
    /// The NULL mechanism: nothing (asked only when the server socket has a ZAP domain).
    Null,
    /// PLAIN: the user name and password the client sent.
    Plain {
        /// The user name.
        username: &'a [u8],
        /// The password, in clear: PLAIN has no encryption.
        password: &'a [u8],
    },
    /// CURVE: the client's long-term public key, proven by its handshake.
    Curve {
        /// The client's public key (32 bytes; [`crate::z85::encode`] gives its text form).
        public_key: &'a [u8; 32],
    },
}

impl fmt::Debug for AuthCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthCredentials::Null => f.write_str("Null"),
            AuthCredentials::Plain { username, .. } => f
                .debug_struct("Plain")
                .field("username", &String::from_utf8_lossy(username))
                .field("password", &"<redacted>")
                .finish(),
            AuthCredentials::Curve { public_key } => f
                .debug_struct("Curve")
                .field(
                    "public_key",
                    &crate::z85::encode(&public_key[..]).unwrap_or_default(),
                )
                .finish(),
        }
    }
}

/// One client to decide on: the fields of an RFC 27 request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AuthRequest<'a> {
    /// The server socket's ZAP domain ([`Socket::set_zap_domain`](crate::Socket::set_zap_domain)).
    pub domain: &'a str,
    /// The client's IP address (tcp), or empty (ipc).
    pub address: &'a str,
    /// The server socket's routing id, as libzmq sends it.
    pub routing_id: &'a [u8],
    /// What the client presented.
    pub credentials: AuthCredentials<'a>,
}

impl AuthRequest<'_> {
    /// The mechanism name as ZAP spells it: `NULL`, `PLAIN` or `CURVE`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{AuthCredentials, AuthDecision, AuthRequest};
    ///
    /// let check = |req: &AuthRequest<'_>| match req.mechanism() {
    ///     "CURVE" => AuthDecision::allow("curve client"),
    ///     _ => AuthDecision::deny("CURVE only"),
    /// };
    /// # let _ = check;
    /// ```
    pub fn mechanism(&self) -> &'static str {
        match self.credentials {
            AuthCredentials::Null => "NULL",
            AuthCredentials::Plain { .. } => "PLAIN",
            AuthCredentials::Curve { .. } => "CURVE",
        }
    }
}

/// An authenticator's answer: admit the client (with the `User-Id` its messages carry) or
/// refuse it with a ZAP status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthDecision {
    status: u16,
    text: String,
    user_id: String,
    properties: Vec<(String, Bytes)>,
}

impl AuthDecision {
    /// Admits the client; its messages carry `user_id` as the `User-Id` property (none if
    /// empty).
    ///
    /// # Examples
    ///
    /// ```
    /// let yes = ferrozmq::AuthDecision::allow("alice");
    /// assert!(yes.is_allowed());
    /// ```
    pub fn allow(user_id: impl Into<String>) -> AuthDecision {
        AuthDecision {
            status: 200,
            text: "OK".to_owned(),
            user_id: user_id.into(),
            properties: Vec::new(),
        }
    }

    /// Refuses the client (status 400): it gets an ERROR and is disconnected.
    ///
    /// # Examples
    ///
    /// ```
    /// let no = ferrozmq::AuthDecision::deny("unknown user");
    /// assert_eq!(no.status(), 400);
    /// ```
    pub fn deny(reason: impl Into<String>) -> AuthDecision {
        AuthDecision::refuse(400, reason)
    }

    /// Refuses the client for now (status 300): it is disconnected without an ERROR, and
    /// may try again.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::AuthDecision::temporary_failure("busy").status(), 300);
    /// ```
    pub fn temporary_failure(reason: impl Into<String>) -> AuthDecision {
        AuthDecision::refuse(300, reason)
    }

    /// Refuses the client because the authenticator failed (status 500).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::AuthDecision::internal_error("db down").status(), 500);
    /// ```
    pub fn internal_error(reason: impl Into<String>) -> AuthDecision {
        AuthDecision::refuse(500, reason)
    }

    fn refuse(status: u16, reason: impl Into<String>) -> AuthDecision {
        AuthDecision {
            status,
            text: reason.into(),
            user_id: String::new(),
            properties: Vec::new(),
        }
    }

    /// Adds a property that the client's messages carry as metadata (only for an admitted
    /// client).
    ///
    /// # Examples
    ///
    /// ```
    /// let yes = ferrozmq::AuthDecision::allow("alice").with_property("Role", "admin");
    /// assert!(yes.is_allowed());
    /// ```
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    /// The ZAP status code: 200 admitted, 300 temporary failure, 400 denied, 500 error.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferrozmq::AuthDecision::allow("").status(), 200);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the client is admitted.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!ferrozmq::AuthDecision::deny("no").is_allowed());
    /// ```
    pub fn is_allowed(&self) -> bool {
        self.status == 200
    }

    fn into_verdict(self) -> Verdict {
        if self.is_allowed() {
            Verdict::Allow {
                user_id: Bytes::from(self.user_id),
                properties: self.properties,
            }
        } else {
            Verdict::Deny {
                status: self.status,
                text: self.text,
            }
        }
    }
}

/// Decides on clients in-process, in place of a ZAP handler: install one with
/// [`Context::set_authenticator`](crate::Context::set_authenticator). Any
/// `Fn(&AuthRequest) -> AuthDecision` closure is one.
///
/// It runs on an I/O thread, so it must answer quickly and never block: other connections
/// wait meanwhile. An authenticator that must look things up slowly belongs in a ZAP
/// handler at [`ZAP_ENDPOINT`] instead.
///
/// # Examples
///
/// ```
/// use ferrozmq::{AuthCredentials, AuthDecision, AuthRequest, Context};
///
/// let ctx = Context::new();
/// ctx.set_authenticator(|req: &AuthRequest<'_>| match req.credentials {
///     AuthCredentials::Plain { username: b"admin", password: b"secret" } => {
///         AuthDecision::allow("admin")
///     }
///     _ => AuthDecision::deny("wrong user name or password"),
/// });
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Decides on one client.
    fn authenticate(&self, request: &AuthRequest<'_>) -> AuthDecision;
}

impl<F> Authenticator for F
where
    F: Fn(&AuthRequest<'_>) -> AuthDecision + Send + Sync + 'static,
{
    fn authenticate(&self, request: &AuthRequest<'_>) -> AuthDecision {
        self(request)
    }
}

/// One context's ZAP: its authenticator, and the inproc names where a handler may be bound.
pub(crate) struct Zap {
    authenticator: RwLock<Option<Arc<dyn Authenticator>>>,
    inproc: Arc<Mutex<Registry>>,
}

impl fmt::Debug for Zap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Zap").finish_non_exhaustive()
    }
}

/// A server's question about one client.
#[derive(Debug)]
pub(crate) struct Query<'a> {
    pub(crate) domain: &'a str,
    pub(crate) address: &'a str,
    pub(crate) routing_id: &'a [u8],
    pub(crate) credentials: &'a Credentials,
}

/// The answer to a [`Query`]: at once, or from a handler later.
pub(crate) enum Answer {
    Now(Verdict),
    Later(Call),
}

/// A request sent to the ZAP handler, awaiting its reply.
#[derive(Debug)]
pub(crate) struct Call {
    pipe: Pipe,
}

impl Zap {
    /// The ZAP of a context whose inproc names are `inproc`.
    pub(crate) fn new(inproc: Arc<Mutex<Registry>>) -> Zap {
        Zap {
            authenticator: RwLock::new(None),
            inproc,
        }
    }

    /// Installs (or, with `None`, removes) the typed authenticator.
    pub(crate) fn set_authenticator(&self, authenticator: Option<Arc<dyn Authenticator>>) {
        *self
            .authenticator
            .write()
            .unwrap_or_else(|e| e.into_inner()) = authenticator;
    }

    /// Decides on a client: through the authenticator, else through a request to the
    /// handler (whose reply wakes `notifier`), else by admitting it.
    pub(crate) fn ask(&self, query: &Query<'_>, notifier: Notifier) -> Answer {
        let authenticator = self
            .authenticator
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(auth) = authenticator {
            let request = AuthRequest {
                domain: query.domain,
                address: query.address,
                routing_id: query.routing_id,
                credentials: match query.credentials {
                    Credentials::Null => AuthCredentials::Null,
                    Credentials::Plain { username, password } => {
                        AuthCredentials::Plain { username, password }
                    }
                    Credentials::Curve { public_key } => AuthCredentials::Curve { public_key },
                },
            };
            let decision = auth.authenticate(&request);
            log::debug!(
                "zap: authenticator says {} for a {} client from {}",
                decision.status,
                request.mechanism(),
                query.address
            );
            return Answer::Now(decision.into_verdict());
        }
        let pipe = self
            .inproc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .connect_session(ZAP_NAME, notifier);
        let Some(mut pipe) = pipe else {
            // No handler: admit, as libzmq does, naming the user by what it presented.
            return Answer::Now(Verdict::Allow {
                user_id: default_user_id(query.credentials),
                properties: Vec::new(),
            });
        };
        if pipe.writer.try_write(request(query)).is_err() {
            return Answer::Now(Verdict::Deny {
                status: 500,
                text: "the ZAP handler takes no requests".to_owned(),
            });
        }
        // The first read finds nothing, and arms the reply's wake-up: a pipe wakes its
        // reader only once it has seen it empty.
        let mut call = Call { pipe };
        match call.poll() {
            Some(verdict) => Answer::Now(verdict),
            None => Answer::Later(call),
        }
    }
}

impl Call {
    /// The handler's verdict, once its reply is in (or it went away: refused, status 500).
    pub(crate) fn poll(&mut self) -> Option<Verdict> {
        match self.pipe.reader.try_read() {
            Ok(reply) => Some(parse_reply(&reply).unwrap_or_else(|why| {
                log::warn!("zap: refusing the client: {why}");
                Verdict::Deny {
                    status: 500,
                    text: why.to_owned(),
                }
            })),
            Err(ReadError::Empty) => None,
            Err(ReadError::Closed) => Some(Verdict::Deny {
                status: 500,
                text: "the ZAP handler went away".to_owned(),
            }),
        }
    }
}

/// The `User-Id` of a client admitted without a handler: the PLAIN user name or the CURVE
/// public key in Z85; none under NULL.
fn default_user_id(credentials: &Credentials) -> Bytes {
    match credentials {
        Credentials::Null => Bytes::new(),
        Credentials::Plain { username, .. } => username.clone(),
        Credentials::Curve { public_key } => {
            Bytes::from(crate::z85::encode(&public_key[..]).unwrap_or_default())
        }
    }
}

/// An RFC 27 request: delimiter, version, request id, domain, address, identity,
/// mechanism, credentials.
fn request(query: &Query<'_>) -> Message {
    let mut msg = Message::multipart([
        Bytes::new(),
        Bytes::from_static(b"1.0"),
        Bytes::from_static(b"1"),
        Bytes::copy_from_slice(query.domain.as_bytes()),
        Bytes::copy_from_slice(query.address.as_bytes()),
        Bytes::copy_from_slice(query.routing_id),
        Bytes::from_static(query.credentials.mechanism().as_bytes()),
    ]);
    match query.credentials {
        Credentials::Null => {}
        Credentials::Plain { username, password } => {
            msg.push_back(username.clone());
            msg.push_back(password.clone());
        }
        Credentials::Curve { public_key } => msg.push_back(Bytes::copy_from_slice(public_key)),
    }
    msg
}

/// Reads an RFC 27 reply: delimiter, version `1.0`, request id `1`, status code, status
/// text, user id, metadata.
fn parse_reply(reply: &Message) -> Result<Verdict, &'static str> {
    let [delimiter, version, id, code, text, user_id, metadata] = reply.frames() else {
        return Err("a ZAP reply must have 7 frames");
    };
    if !delimiter.is_empty() {
        return Err("a ZAP reply must start with an empty frame");
    }
    if &version[..] != b"1.0" {
        return Err("a ZAP reply must have version 1.0");
    }
    if &id[..] != b"1" {
        return Err("a ZAP reply has the wrong request id");
    }
    let status = match &code[..] {
        b"200" => 200,
        b"300" => 300,
        b"400" => 400,
        b"500" => 500,
        _ => return Err("a ZAP reply has an invalid status code"),
    };
    if status != 200 {
        return Ok(Verdict::Deny {
            status,
            text: String::from_utf8_lossy(text).into_owned(),
        });
    }
    let properties = crate::zmtp::parse_properties(&metadata.to_bytes())
        .map_err(|_| "a ZAP reply has malformed metadata")?;
    Ok(Verdict::Allow {
        user_id: user_id.to_bytes(),
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(frames: &[&[u8]]) -> Message {
        Message::multipart(frames.iter().map(|f| Bytes::copy_from_slice(f)))
    }

    #[test]
    fn a_request_has_the_rfc_27_frames() {
        let creds = Credentials::Plain {
            username: Bytes::from_static(b"admin"),
            password: Bytes::from_static(b"secret"),
        };
        let query = Query {
            domain: "global",
            address: "127.0.0.1",
            routing_id: b"",
            credentials: &creds,
        };
        let msg = request(&query);
        let frames: Vec<&[u8]> = msg.iter().map(|f| &f[..]).collect();
        assert_eq!(
            frames,
            [
                &b""[..],
                b"1.0",
                b"1",
                b"global",
                b"127.0.0.1",
                b"",
                b"PLAIN",
                b"admin",
                b"secret"
            ]
        );
    }

    #[test]
    fn replies_are_read_strictly() {
        let ok = reply(&[b"", b"1.0", b"1", b"200", b"OK", b"alice", b""]);
        assert_eq!(
            parse_reply(&ok),
            Ok(Verdict::Allow {
                user_id: Bytes::from_static(b"alice"),
                properties: vec![]
            })
        );
        let no = reply(&[b"", b"1.0", b"1", b"400", b"bad", b"", b""]);
        assert!(matches!(
            parse_reply(&no),
            Ok(Verdict::Deny { status: 400, .. })
        ));
        for bad in [
            reply(&[b"", b"1.0", b"1", b"200", b"OK", b"alice"]),
            reply(&[b"x", b"1.0", b"1", b"200", b"OK", b"alice", b""]),
            reply(&[b"", b"2.0", b"1", b"200", b"OK", b"alice", b""]),
            reply(&[b"", b"1.0", b"2", b"200", b"OK", b"alice", b""]),
            reply(&[b"", b"1.0", b"1", b"201", b"OK", b"alice", b""]),
            reply(&[b"", b"1.0", b"1", b"200", b"OK", b"alice", b"\x05"]),
        ] {
            assert!(parse_reply(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let c = AuthCredentials::Plain {
            username: b"u",
            password: b"hunter2",
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
