//! The security options: PLAIN and CURVE roles, keys and credentials, and the ZAP domain,
//! with libzmq's names and rules.
//!
//! What must hold, as in libzmq (`options.cpp`): the last security option set chooses the
//! mechanism (`set_plain_*` → PLAIN, `set_curve_*` → CURVE, turning a server option off →
//! NULL); the role comes from the options, never from bind or connect; a setting applies to
//! the endpoints bound or connected after it. Secrets are wiped when replaced or dropped
//! and never appear in `Debug` output.

use super::Socket;
use crate::curve_key::{parse_key, CurveKeyPair};
use crate::zmtp::Security;
use crate::{Error, Result};
use bytes::Bytes;
use zeroize::Zeroizing;

/// Which mechanism the options chose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Choice {
    #[default]
    Null,
    Plain,
    Curve,
}

/// A socket's security settings.
#[derive(Clone, Default)]
pub(crate) struct SecurityOptions {
    choice: Choice,
    /// Whether this socket is the PLAIN or CURVE server.
    server: bool,
    plain_username: Bytes,
    plain_password: Zeroizing<Vec<u8>>,
    /// Our CURVE key pair: set from the secret key (public key derived), or generated at
    /// the first connect of a client that was given none.
    curve_keys: Option<CurveKeyPair>,
    /// The public key the user set, checked against the secret key's.
    curve_public: Option<[u8; 32]>,
    curve_server_key: Option<[u8; 32]>,
    /// The ZAP domain; non-empty also makes NULL connections ask ZAP.
    pub(crate) zap_domain: String,
}

impl std::fmt::Debug for SecurityOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityOptions")
            .field("choice", &self.choice)
            .field("server", &self.server)
            .field("plain_username", &self.plain_username)
            .field("curve_keys", &self.curve_keys)
            .field("zap_domain", &self.zap_domain)
            .finish_non_exhaustive()
    }
}

impl SecurityOptions {
    /// The mechanism and role for the next connections, generating a CURVE client's key
    /// pair if it has none. Fails where a CURVE server has no secret key, or a client no
    /// server key.
    pub(crate) fn security(&mut self) -> Result<Security> {
        Ok(match (self.choice, self.server) {
            (Choice::Null, _) => Security::Null,
            (Choice::Plain, true) => Security::PlainServer,
            (Choice::Plain, false) => Security::PlainClient {
                username: self.plain_username.clone(),
                password: self.plain_password.clone(),
            },
            (Choice::Curve, true) => Security::CurveServer {
                keys: self.curve_keys.clone().ok_or(Error::InvalidOption {
                    option: "curve_server",
                    reason: "a CURVE server needs its secret key (set_curve_secretkey)",
                })?,
            },
            (Choice::Curve, false) => {
                let server_key = self.curve_server_key.ok_or(Error::InvalidOption {
                    option: "curve_serverkey",
                    reason: "a CURVE client needs the server's public key",
                })?;
                let keys = self
                    .curve_keys
                    .get_or_insert_with(CurveKeyPair::generate)
                    .clone();
                Security::CurveClient { keys, server_key }
            }
        })
    }

    /// Whether NULL connections ask ZAP (a domain is set), as libzmq does.
    pub(crate) fn authenticate_null(&self) -> bool {
        !self.zap_domain.is_empty()
    }

    fn check_public(&self) -> Result<()> {
        match (&self.curve_keys, &self.curve_public) {
            (Some(keys), Some(public)) if keys.public_key() != public => {
                Err(Error::InvalidOption {
                    option: "curve_publickey",
                    reason: "the public key does not belong to the secret key",
                })
            }
            _ => Ok(()),
        }
    }
}

/// A PLAIN user name or password: at most 255 bytes (RFC 24).
fn plain_field(option: &'static str, value: &[u8]) -> Result<()> {
    if value.len() > 255 {
        return Err(Error::InvalidOption {
            option,
            reason: "longer than 255 bytes",
        });
    }
    Ok(())
}

impl Socket {
    /// Makes this socket a PLAIN server (`true`), which asks ZAP about each client's user
    /// name and password, or turns security off (`false`). The role is independent of bind
    /// and connect. PLAIN sends passwords in clear: use it only on trusted networks.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut server = ctx.socket(ferrozmq::SocketType::Rep)?;
    /// server.set_plain_server(true)?;
    /// assert_eq!(server.mechanism(), "PLAIN");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_plain_server(&mut self, server: bool) -> Result<()> {
        let s = &mut self.options.security;
        s.server = server;
        s.choice = if server { Choice::Plain } else { Choice::Null };
        Ok(())
    }

    /// Makes this socket a PLAIN client logging in as `username` (at most 255 bytes); an
    /// empty name turns security off, as in libzmq.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut client = ctx.socket(ferrozmq::SocketType::Req)?;
    /// client.set_plain_username("admin")?;
    /// client.set_plain_password("secret")?;
    /// assert_eq!(client.mechanism(), "PLAIN");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_plain_username(&mut self, username: impl AsRef<[u8]>) -> Result<()> {
        let username = username.as_ref();
        plain_field("plain_username", username)?;
        let s = &mut self.options.security;
        s.plain_username = Bytes::copy_from_slice(username);
        s.server = false;
        s.choice = if username.is_empty() {
            Choice::Null
        } else {
            Choice::Plain
        };
        Ok(())
    }

    /// Sets the PLAIN client's password (at most 255 bytes); see
    /// [`Socket::set_plain_username`].
    ///
    /// # Examples
    ///
    /// See [`Socket::set_plain_username`].
    pub fn set_plain_password(&mut self, password: impl AsRef<[u8]>) -> Result<()> {
        let password = password.as_ref();
        plain_field("plain_password", password)?;
        let s = &mut self.options.security;
        s.plain_password = Zeroizing::new(password.to_vec());
        s.server = false;
        s.choice = if password.is_empty() {
            Choice::Null
        } else {
            Choice::Plain
        };
        Ok(())
    }

    /// Makes this socket a CURVE server (`true`), or turns security off (`false`). A server
    /// needs its secret key ([`Socket::set_curve_secretkey`]) before it binds or connects;
    /// its clients need the matching public key. The role is independent of bind and
    /// connect.
    ///
    /// # Examples
    ///
    /// ```
    /// let keys = ferrozmq::curve_keypair();
    /// let ctx = ferrozmq::Context::new();
    /// let mut server = ctx.socket(ferrozmq::SocketType::Router)?;
    /// server.set_curve_server(true)?;
    /// server.set_curve_secretkey(keys.secret_z85())?;
    /// assert_eq!(server.mechanism(), "CURVE");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_curve_server(&mut self, server: bool) -> Result<()> {
        let s = &mut self.options.security;
        s.server = server;
        s.choice = if server { Choice::Curve } else { Choice::Null };
        Ok(())
    }

    /// Sets this socket's long-term CURVE secret key: 32 bytes, or 40 characters of Z85.
    /// The public key is derived from it. Chooses CURVE.
    ///
    /// # Examples
    ///
    /// See [`Socket::set_curve_server`] and [`Socket::set_curve_serverkey`].
    pub fn set_curve_secretkey(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        let secret = Zeroizing::new(parse_key("curve_secretkey", key.as_ref())?);
        let s = &mut self.options.security;
        s.curve_keys = Some(CurveKeyPair::from_secret(&secret));
        s.choice = Choice::Curve;
        s.check_public()
    }

    /// Sets this socket's long-term CURVE public key (32 bytes or 40 Z85 characters), as
    /// libzmq wants it set. Optional here, since it is derived from the secret key; if set,
    /// it must belong to that secret key. Chooses CURVE.
    ///
    /// # Examples
    ///
    /// ```
    /// let keys = ferrozmq::curve_keypair();
    /// let ctx = ferrozmq::Context::new();
    /// let mut client = ctx.socket(ferrozmq::SocketType::Dealer)?;
    /// client.set_curve_secretkey(keys.secret_z85())?;
    /// client.set_curve_publickey(keys.public_z85())?;
    /// let wrong = ferrozmq::curve_keypair();
    /// assert!(client.set_curve_publickey(wrong.public_z85()).is_err());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_curve_publickey(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        let public = parse_key("curve_publickey", key.as_ref())?;
        let s = &mut self.options.security;
        s.curve_public = Some(public);
        s.choice = Choice::Curve;
        let checked = s.check_public();
        if checked.is_err() {
            s.curve_public = None;
        }
        checked
    }

    /// Makes this socket a CURVE client of the server whose long-term public key is `key`
    /// (32 bytes or 40 Z85 characters). Its own key pair is the one set with
    /// [`Socket::set_curve_secretkey`], or a fresh one made at the first connect.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrozmq::{curve_keypair, Context, SocketType};
    ///
    /// let server_keys = curve_keypair();
    /// let ctx = Context::new();
    /// let mut server = ctx.socket(SocketType::Rep)?;
    /// server.set_curve_server(true)?;
    /// server.set_curve_secretkey(server_keys.secret_z85())?;
    /// server.bind("tcp://127.0.0.1:*")?;
    ///
    /// let mut client = ctx.socket(SocketType::Req)?;
    /// client.set_curve_serverkey(server_keys.public_z85())?;
    /// client.connect(&server.last_endpoint().unwrap())?;
    /// client.send("hello")?;
    /// assert_eq!(&server.recv()?[0][..], b"hello");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_curve_serverkey(&mut self, key: impl AsRef<[u8]>) -> Result<()> {
        let server_key = parse_key("curve_serverkey", key.as_ref())?;
        let s = &mut self.options.security;
        s.curve_server_key = Some(server_key);
        s.server = false;
        s.choice = Choice::Curve;
        Ok(())
    }

    /// Sets the ZAP domain sent in each authentication request. A non-empty domain also
    /// makes NULL connections ask ZAP, as in libzmq, so a handler can refuse peers by
    /// address even without PLAIN or CURVE.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut s = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// s.set_zap_domain("global")?;
    /// assert_eq!(s.zap_domain(), "global");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn set_zap_domain(&mut self, domain: &str) -> Result<()> {
        if domain.len() > 255 {
            return Err(Error::InvalidOption {
                option: "zap_domain",
                reason: "longer than 255 bytes",
            });
        }
        self.options.security.zap_domain = domain.to_owned();
        Ok(())
    }

    /// The ZAP domain (see [`Socket::set_zap_domain`]).
    ///
    /// # Examples
    ///
    /// See [`Socket::set_zap_domain`].
    pub fn zap_domain(&self) -> &str {
        &self.options.security.zap_domain
    }

    /// The mechanism the options chose: `"NULL"`, `"PLAIN"` or `"CURVE"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let s = ctx.socket(ferrozmq::SocketType::Pull)?;
    /// assert_eq!(s.mechanism(), "NULL");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn mechanism(&self) -> &'static str {
        match self.options.security.choice {
            Choice::Null => "NULL",
            Choice::Plain => "PLAIN",
            Choice::Curve => "CURVE",
        }
    }

    /// Whether this socket is a PLAIN or CURVE server.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = ferrozmq::Context::new();
    /// let mut s = ctx.socket(ferrozmq::SocketType::Rep)?;
    /// s.set_plain_server(true)?;
    /// assert!(s.is_security_server());
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn is_security_server(&self) -> bool {
        self.options.security.server && self.options.security.choice != Choice::Null
    }
}
