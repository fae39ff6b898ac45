//! Security: the mechanism and role the `--plain-*`/`--curve-*` options choose, the
//! `--zap-*` rules of the one typed authenticator, and setting both on the socket.
//!
//! What must stay true: the role comes from the options only, never from bind or
//! connect; at most one role is chosen; secret keys and passwords stay [`Secret`]s,
//! never shown by `Debug` nor echoed in zmq_cat's own error messages; and everything is
//! set before the first bind or connect, so that it applies to every connection.

use crate::args::Options;
use crate::Failure;
use ferrozmq::{AuthCredentials, AuthDecision, AuthRequest, Error, Socket};
use std::fmt;
use std::net::IpAddr;

/// Text that must not appear in `Debug` output (secret keys, passwords).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The mechanism and role chosen by the security options.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Security {
    /// No security option: the NULL mechanism.
    Null,
    /// `--plain-server`.
    PlainServer,
    /// `--plain-user` (and `--plain-password`).
    PlainClient { user: String, password: Secret },
    /// `--curve-server --curve-secret KEY`.
    CurveServer { secret: Secret },
    /// `--curve-serverkey KEY`, with `--curve-secret` or a fresh key pair.
    CurveClient {
        server_key: String,
        secret: Option<Secret>,
    },
}

/// What the `--zap-*` options admit; see [`ZapRules::decide`].
#[derive(Debug, Default, Clone)]
pub(crate) struct ZapRules {
    /// `--zap-allow-plain USER:PASS`.
    pub(crate) allow_plain: Vec<(String, Secret)>,
    /// `--zap-allow-curve KEY`, as the 32-byte keys.
    pub(crate) allow_curve: Vec<[u8; 32]>,
    /// `--zap-deny-addr IP`.
    pub(crate) deny_addr: Vec<IpAddr>,
}

/// The ZAP domain zmq_cat sets when `--zap-deny-addr` is given, so that NULL connections
/// are checked too (libzmq asks ZAP about NULL peers only where a domain is set).
const ZAP_DOMAIN: &str = "zmq_cat";

/// The security options as given, before [`security_role`] checks them.
pub(crate) struct SecurityArgs {
    pub(crate) curve_server: bool,
    pub(crate) curve_serverkey: Option<String>,
    pub(crate) curve_secret: Option<Secret>,
    pub(crate) plain_server: bool,
    pub(crate) plain_user: Option<String>,
    pub(crate) plain_password: Option<Secret>,
}

/// The one mechanism and role the security options ask for, or why they conflict.
pub(crate) fn security_role(args: SecurityArgs) -> Result<Security, String> {
    let SecurityArgs {
        curve_server,
        curve_serverkey,
        curve_secret,
        plain_server,
        plain_user,
        plain_password,
    } = args;
    let roles = [
        ("--curve-server", curve_server),
        ("--curve-serverkey", curve_serverkey.is_some()),
        ("--plain-server", plain_server),
        ("--plain-user", plain_user.is_some()),
    ];
    let chosen: Vec<&str> = roles.iter().filter(|r| r.1).map(|r| r.0).collect();
    if chosen.len() > 1 {
        return Err(format!(
            "{} choose different roles: give only one of them",
            chosen.join(" and ")
        ));
    }
    if plain_password.is_some() && plain_user.is_none() {
        return Err("--plain-password needs --plain-user".into());
    }
    if let Some(user) = &plain_user {
        if user.is_empty() {
            return Err("--plain-user needs a non-empty user name".into());
        }
    }
    if curve_secret.is_some() && !curve_server && curve_serverkey.is_none() {
        return Err("--curve-secret needs --curve-server or --curve-serverkey".into());
    }
    Ok(if curve_server {
        Security::CurveServer {
            secret: curve_secret.ok_or("--curve-server needs --curve-secret KEY")?,
        }
    } else if let Some(server_key) = curve_serverkey {
        Security::CurveClient {
            server_key,
            secret: curve_secret,
        }
    } else if plain_server {
        Security::PlainServer
    } else if let Some(user) = plain_user {
        Security::PlainClient {
            user,
            password: plain_password.unwrap_or_else(|| Secret(String::new())),
        }
    } else {
        Security::Null
    })
}

/// A CURVE key option's value, checked (see [`decode_key`]) and kept as the Z85 text the
/// socket options take.
pub(crate) fn key_text(flag: &str, text: &str) -> Result<String, String> {
    decode_key(flag, text).map(|_| text.to_owned())
}

/// Decodes a CURVE key given as `flag`'s value: exactly 40 characters of Z85.
pub(crate) fn decode_key(flag: &str, text: &str) -> Result<[u8; 32], String> {
    // The text is not echoed: it may be a secret key with a typo.
    let bad = |why: String| format!("{flag}: not a CURVE key: {why}");
    if text.len() != 40 {
        return Err(bad(format!(
            "a key is 40 characters of Z85, this has {}",
            text.chars().count()
        )));
    }
    let bytes = ferrozmq::z85::decode(text).map_err(|e| bad(e.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| bad("not 32 bytes once decoded".into()))
}

impl ZapRules {
    /// The decision on one client: a denied address first, whatever the mechanism; then
    /// PLAIN credentials must be allowed (when any `--zap-allow-plain` is given) and a
    /// CURVE key must be allowed (when any `--zap-allow-curve` is given). The `User-Id` is
    /// the PLAIN user name or the CURVE key in Z85, as the library sets it without ZAP.
    pub(crate) fn decide(&self, req: &AuthRequest<'_>) -> AuthDecision {
        if let Ok(ip) = req.address.parse::<IpAddr>() {
            if self.deny_addr.contains(&ip.to_canonical()) {
                return AuthDecision::deny(format!("address {ip} is refused"));
            }
        }
        match req.credentials {
            AuthCredentials::Null => AuthDecision::allow(""),
            AuthCredentials::Plain { username, password } => {
                let known = self
                    .allow_plain
                    .iter()
                    .any(|(u, p)| u.as_bytes() == username && p.0.as_bytes() == password);
                if self.allow_plain.is_empty() || known {
                    AuthDecision::allow(String::from_utf8_lossy(username))
                } else {
                    AuthDecision::deny("unknown user name or wrong password")
                }
            }
            AuthCredentials::Curve { public_key } => {
                if self.allow_curve.is_empty() || self.allow_curve.contains(public_key) {
                    // A 32-byte key always has a Z85 form.
                    AuthDecision::allow(ferrozmq::z85::encode(public_key).unwrap_or_default())
                } else {
                    AuthDecision::deny("client key not allowed")
                }
            }
            // A mechanism zmq_cat has no rules for.
            _ => AuthDecision::deny("unsupported mechanism"),
        }
    }
}

/// Sets the mechanism, role and keys, before any bind or connect (they apply to the
/// connections made after them), and the ZAP domain that makes `--zap-deny-addr` apply to
/// NULL connections too.
pub(crate) fn set_security(socket: &mut Socket, options: &Options) -> Result<(), Failure> {
    fn failed(what: &'static str) -> impl Fn(Error) -> Failure {
        move |e| Failure::zmq(what, e)
    }
    match &options.security {
        Security::Null => {}
        Security::PlainServer => socket
            .set_plain_server(true)
            .map_err(failed("cannot set --plain-server"))?,
        Security::PlainClient { user, password } => {
            // libzmq's rule, kept by ferrozmq: an empty password alone turns PLAIN off,
            // so the user name goes last and chooses PLAIN whatever the password.
            socket
                .set_plain_password(&password.0)
                .map_err(failed("cannot set --plain-password"))?;
            socket
                .set_plain_username(user)
                .map_err(failed("cannot set --plain-user"))?;
        }
        Security::CurveServer { secret } => {
            socket
                .set_curve_secretkey(&secret.0)
                .map_err(failed("cannot set --curve-secret"))?;
            socket
                .set_curve_server(true)
                .map_err(failed("cannot set --curve-server"))?;
        }
        Security::CurveClient { server_key, secret } => {
            if let Some(secret) = secret {
                socket
                    .set_curve_secretkey(&secret.0)
                    .map_err(failed("cannot set --curve-secret"))?;
            }
            socket
                .set_curve_serverkey(server_key)
                .map_err(failed("cannot set --curve-serverkey"))?;
        }
    }
    if options
        .zap
        .as_ref()
        .is_some_and(|z| !z.deny_addr.is_empty())
    {
        socket
            .set_zap_domain(ZAP_DOMAIN)
            .map_err(failed("cannot set the ZAP domain"))?;
    }
    Ok(())
}
