//! Endpoint strings: parsing `tcp://`, `ipc://` and `inproc://` addresses into [`Endpoint`] and
//! printing them back in canonical form.
//!
//! What this module must keep true:
//! - parsing never panics and never touches the network or the file system;
//! - every rejection is an [`Error::InvalidEndpoint`] whose `reason` names the part that is
//!   wrong, so a user can fix the string without reading libzmq's source;
//! - `Endpoint::parse(&ep.to_string())` gives back `ep` for every endpoint `parse` accepted.

use crate::{Error, Result};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

/// Size of `sun_path` in a Linux `sockaddr_un`, including the terminating NUL for paths.
const SUN_PATH_LEN: usize = 108;

/// Longest host name DNS allows.
const MAX_HOST_NAME_LEN: usize = 253;

/// A parsed endpoint address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    /// `tcp://host:port`.
    Tcp(TcpAddr),
    /// `ipc://path`, `ipc://@abstract` or `ipc://*`.
    Ipc(IpcAddr),
    /// `inproc://name`; the name is never empty.
    Inproc(String),
}

/// The host and port of a `tcp://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TcpAddr {
    /// Where to bind or connect.
    pub host: Host,
    /// The port; `None` for `*` or `0`, which ask bind for an ephemeral port.
    pub port: Option<u16>,
}

/// The host part of a `tcp://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Host {
    /// `*`: every interface (bind only).
    Any,
    /// A literal IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A host name, resolved when binding or connecting.
    Name(String),
}

/// The address of an `ipc://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum IpcAddr {
    /// A file-system path (absolute or relative), short enough for `sockaddr_un`.
    Path(PathBuf),
    /// `ipc://@name`: a Linux abstract-namespace name, without the leading NUL.
    Abstract(Vec<u8>),
    /// `ipc://*`: bind picks a fresh temporary path (bind only).
    Any,
}

/// Builds the error for endpoint `endpoint`.
fn invalid(endpoint: &str, reason: impl Into<String>) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.into(),
    }
}

impl Endpoint {
    /// Parses "tcp://host:port", "tcp://[v6]:port", "tcp://*:*", "ipc:///abs/path",
    /// "ipc://rel/path", "ipc://@name", "ipc://*" and "inproc://name".
    ///
    /// Fails with [`Error::InvalidEndpoint`] whose reason names the faulty part.
    pub fn parse(s: &str) -> Result<Endpoint> {
        let Some((transport, rest)) = s.split_once("://") else {
            return Err(invalid(
                s,
                "missing `://` between the transport and the address (expected e.g. `tcp://127.0.0.1:5555`)",
            ));
        };
        match transport {
            "tcp" => parse_tcp(s, rest).map(Endpoint::Tcp),
            "ipc" => parse_ipc(s, rest).map(Endpoint::Ipc),
            "inproc" => {
                if rest.is_empty() {
                    Err(invalid(s, "empty inproc name"))
                } else {
                    Ok(Endpoint::Inproc(rest.to_owned()))
                }
            }
            "" => Err(invalid(s, "missing transport before `://`")),
            "pgm" | "epgm" | "norm" | "udp" | "tipc" | "vmci" | "ws" | "wss" => Err(invalid(
                s,
                format!("transport `{transport}` is not supported (supported: tcp, ipc, inproc)"),
            )),
            other => Err(invalid(
                s,
                format!("unknown transport `{other}` (supported: tcp, ipc, inproc)"),
            )),
        }
    }

    /// Extra checks for connect: host `*`, an ephemeral port and `ipc://*` are only
    /// meaningful for bind. `original` is the string the user gave, for the error.
    pub fn check_connectable(&self, original: &str) -> Result<()> {
        match self {
            Endpoint::Tcp(TcpAddr { host, port }) => {
                if *host == Host::Any {
                    return Err(invalid(
                        original,
                        "host `*` can only be used to bind; connect needs an address or host name",
                    ));
                }
                if port.is_none() {
                    return Err(invalid(
                        original,
                        "port `*` or `0` can only be used to bind; connect needs a port number",
                    ));
                }
                Ok(())
            }
            Endpoint::Ipc(IpcAddr::Any) => Err(invalid(
                original,
                "`ipc://*` can only be used to bind; connect needs a path",
            )),
            Endpoint::Ipc(_) | Endpoint::Inproc(_) => Ok(()),
        }
    }
}

/// Parses the part after `tcp://`.
fn parse_tcp(s: &str, rest: &str) -> Result<TcpAddr> {
    if rest.is_empty() {
        return Err(invalid(s, "empty address (expected `host:port`)"));
    }
    if rest.contains(';') {
        return Err(invalid(
            s,
            "source addresses (`source;destination`) are not supported",
        ));
    }
    let (host_str, port_str, bracketed) = if let Some(inner) = rest.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else {
            return Err(invalid(s, "unbalanced IPv6 brackets: `[` without `]`"));
        };
        if after.is_empty() {
            return Err(invalid(s, "missing port (expected `[address]:port`)"));
        }
        let Some(port) = after.strip_prefix(':') else {
            return Err(invalid(
                s,
                format!("expected `:port` after `]`, found `{after}`"),
            ));
        };
        (v6, port, true)
    } else {
        if rest.contains(']') {
            return Err(invalid(s, "unbalanced IPv6 brackets: `]` without `[`"));
        }
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, p, false),
            None => return Err(invalid(s, "missing port (expected `host:port`)")),
        }
    };

    let port = parse_port(s, port_str)?;
    let host = parse_host(s, host_str, bracketed)?;
    Ok(TcpAddr { host, port })
}

/// Parses a tcp port: `*` and `0` mean "any" (`None`).
fn parse_port(s: &str, p: &str) -> Result<Option<u16>> {
    if p.is_empty() {
        return Err(invalid(s, "missing port after `:`"));
    }
    if p == "*" {
        return Ok(None);
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            s,
            format!("port `{p}` is not a number (use a number from 1 to 65535, or `*`)"),
        ));
    }
    match p.parse::<u16>() {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(invalid(
            s,
            format!("port `{p}` is out of range (1 to 65535)"),
        )),
    }
}

/// Parses the host part of a tcp endpoint (brackets already removed when `bracketed`).
fn parse_host(s: &str, h: &str, bracketed: bool) -> Result<Host> {
    if h.is_empty() {
        return Err(invalid(
            s,
            "empty host (use `*` to bind on every interface)",
        ));
    }
    if h.contains('%') {
        return Err(invalid(
            s,
            format!("IPv6 scope ids are not supported in host `{h}`"),
        ));
    }
    if bracketed {
        return match h.parse::<Ipv6Addr>() {
            Ok(a) => Ok(Host::Ip(IpAddr::V6(a))),
            Err(_) => Err(invalid(s, format!("`[{h}]` is not an IPv6 address"))),
        };
    }
    if h == "*" {
        return Ok(Host::Any);
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    if h.contains(':') {
        return Err(invalid(
            s,
            format!(
                "host `{h}` is not a valid IPv6 address (write IPv6 addresses as `[addr]:port`)"
            ),
        ));
    }
    if h.len() > MAX_HOST_NAME_LEN {
        return Err(invalid(
            s,
            format!(
                "host name is {} bytes long, the limit is {MAX_HOST_NAME_LEN}",
                h.len()
            ),
        ));
    }
    if let Some(c) = h
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(invalid(
            s,
            format!("invalid character `{c}` in host name `{h}`"),
        ));
    }
    Ok(Host::Name(h.to_owned()))
}

/// Parses the part after `ipc://`.
fn parse_ipc(s: &str, rest: &str) -> Result<IpcAddr> {
    if rest.is_empty() {
        return Err(invalid(s, "empty ipc path"));
    }
    if rest.contains('\0') {
        return Err(invalid(s, "ipc path contains a NUL byte"));
    }
    if rest == "*" {
        return Ok(IpcAddr::Any);
    }
    if let Some(name) = rest.strip_prefix('@') {
        if name.is_empty() {
            return Err(invalid(s, "empty abstract socket name after `@`"));
        }
        // The abstract name follows a leading NUL in sun_path and needs no terminator.
        if name.len() > SUN_PATH_LEN - 1 {
            return Err(invalid(
                s,
                format!(
                    "abstract socket name is {} bytes long, the limit is {}",
                    name.len(),
                    SUN_PATH_LEN - 1
                ),
            ));
        }
        return Ok(IpcAddr::Abstract(name.as_bytes().to_vec()));
    }
    // A path needs its terminating NUL to fit in sun_path too.
    if rest.len() >= SUN_PATH_LEN {
        return Err(invalid(
            s,
            format!(
                "ipc path is {} bytes long, too long for a Unix socket (at most {} bytes)",
                rest.len(),
                SUN_PATH_LEN - 1
            ),
        ));
    }
    Ok(IpcAddr::Path(PathBuf::from(rest)))
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("*"),
            Host::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

impl fmt::Display for TcpAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}:*", self.host),
        }
    }
}

impl fmt::Display for IpcAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpcAddr::Path(p) => write!(f, "{}", p.display()),
            IpcAddr::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
            IpcAddr::Any => f.write_str("*"),
        }
    }
}

impl fmt::Display for Endpoint {
    /// Canonical form: `tcp://127.0.0.1:5555`, `tcp://[::1]:5555`, `ipc:///tmp/x`,
    /// `ipc://@name`, `inproc://name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
            Endpoint::Ipc(a) => write!(f, "ipc://{a}"),
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn reason(s: &str) -> String {
        match Endpoint::parse(s) {
            Err(Error::InvalidEndpoint { endpoint, reason }) => {
                assert_eq!(endpoint, s);
                reason
            }
            other => panic!("{s:?} should be rejected, got {other:?}"),
        }
    }

    fn tcp(host: Host, port: Option<u16>) -> Endpoint {
        Endpoint::Tcp(TcpAddr { host, port })
    }

    #[test]
    fn parses_good_endpoints() {
        let v4 = |a, b, c, d| Host::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d)));
        let table: Vec<(&str, Endpoint)> = vec![
            ("tcp://127.0.0.1:5555", tcp(v4(127, 0, 0, 1), Some(5555))),
            ("tcp://*:5555", tcp(Host::Any, Some(5555))),
            ("tcp://*:*", tcp(Host::Any, None)),
            ("tcp://127.0.0.1:0", tcp(v4(127, 0, 0, 1), None)),
            ("tcp://0.0.0.0:65535", tcp(v4(0, 0, 0, 0), Some(65535))),
            (
                "tcp://[::1]:5555",
                tcp(Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)), Some(5555)),
            ),
            (
                "tcp://::1:5555",
                tcp(Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)), Some(5555)),
            ),
            (
                "tcp://[::]:*",
                tcp(Host::Ip(IpAddr::V6(Ipv6Addr::UNSPECIFIED)), None),
            ),
            (
                "tcp://localhost:80",
                tcp(Host::Name("localhost".into()), Some(80)),
            ),
            (
                "tcp://my-host_1.example.com:1",
                tcp(Host::Name("my-host_1.example.com".into()), Some(1)),
            ),
            (
                "ipc:///tmp/x.sock",
                Endpoint::Ipc(IpcAddr::Path("/tmp/x.sock".into())),
            ),
            (
                "ipc://rel/path",
                Endpoint::Ipc(IpcAddr::Path("rel/path".into())),
            ),
            (
                "ipc://@name",
                Endpoint::Ipc(IpcAddr::Abstract(b"name".to_vec())),
            ),
            ("ipc://*", Endpoint::Ipc(IpcAddr::Any)),
            ("inproc://name", Endpoint::Inproc("name".into())),
            ("inproc://a:b/c", Endpoint::Inproc("a:b/c".into())),
        ];
        for (s, want) in table {
            match Endpoint::parse(s) {
                Ok(got) => assert_eq!(got, want, "{s}"),
                Err(e) => panic!("{s:?} should parse: {e}"),
            }
        }
    }

    #[test]
    fn rejects_bad_endpoints_saying_why() {
        let long_path = format!("ipc:///{}", "a".repeat(107));
        let long_abstract = format!("ipc://@{}", "a".repeat(108));
        let long_host = format!("tcp://{}:1", "a".repeat(254));
        let table: Vec<(&str, &str)> = vec![
            ("", "missing `://`"),
            ("tcp:/127.0.0.1:5555", "missing `://`"),
            ("127.0.0.1:5555", "missing `://`"),
            ("://x", "missing transport"),
            ("foo://bar", "unknown transport `foo`"),
            ("TCP://127.0.0.1:1", "unknown transport `TCP`"),
            ("pgm://eth0;239.1.1.1:5555", "`pgm` is not supported"),
            ("tcp://", "empty address"),
            ("tcp://127.0.0.1", "missing port"),
            ("tcp://localhost", "missing port"),
            ("tcp://127.0.0.1:", "missing port"),
            ("tcp://127.0.0.1:abc", "port `abc` is not a number"),
            ("tcp://127.0.0.1:-1", "port `-1` is not a number"),
            ("tcp://127.0.0.1:+1", "port `+1` is not a number"),
            ("tcp://127.0.0.1:65536", "port `65536` is out of range"),
            ("tcp://127.0.0.1:99999999999", "out of range"),
            ("tcp://:5555", "empty host"),
            ("tcp://[]:5555", "empty host"),
            ("tcp://[::1:5555", "unbalanced IPv6 brackets"),
            ("tcp://::1]:5555", "unbalanced IPv6 brackets"),
            ("tcp://[::1]", "missing port"),
            ("tcp://[::1]5555", "expected `:port` after `]`"),
            ("tcp://[::1]:", "missing port"),
            ("tcp://[127.0.0.1]:1", "is not an IPv6 address"),
            ("tcp://[fe80::1%eth0]:1", "scope ids"),
            ("tcp://1:2:3:4", "not a valid IPv6 address"),
            ("tcp://bad host:1", "invalid character ` `"),
            ("tcp://h/x:1", "invalid character `/`"),
            (&long_host, "the limit is 253"),
            ("tcp://1.2.3.4:5;6.7.8.9:1", "source addresses"),
            ("inproc://", "empty inproc name"),
            ("ipc://", "empty ipc path"),
            ("ipc://@", "empty abstract socket name"),
            ("ipc://a\0b", "NUL"),
            (&long_path, "too long for a Unix socket"),
            (&long_abstract, "the limit is 107"),
        ];
        for (s, fragment) in table {
            let r = reason(s);
            assert!(
                r.contains(fragment),
                "{s:?}: reason {r:?} should contain {fragment:?}"
            );
        }
    }

    #[test]
    fn path_length_limit_is_exact() {
        // 107 bytes plus the NUL fill sun_path exactly.
        let ok = format!("ipc:///{}", "a".repeat(106));
        assert!(Endpoint::parse(&ok).is_ok());
        let ok = format!("ipc://@{}", "a".repeat(107));
        assert!(Endpoint::parse(&ok).is_ok());
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        let table = [
            ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"),
            ("tcp://[::1]:5555", "tcp://[::1]:5555"),
            ("tcp://::1:5555", "tcp://[::1]:5555"),
            ("tcp://[0:0:0:0:0:0:0:1]:5555", "tcp://[::1]:5555"),
            ("tcp://*:*", "tcp://*:*"),
            ("tcp://*:0", "tcp://*:*"),
            ("tcp://localhost:1", "tcp://localhost:1"),
            ("ipc:///tmp/x", "ipc:///tmp/x"),
            ("ipc://rel/x", "ipc://rel/x"),
            ("ipc://@name", "ipc://@name"),
            ("ipc://*", "ipc://*"),
            ("inproc://name", "inproc://name"),
        ];
        for (input, canonical) in table {
            let ep = Endpoint::parse(input).unwrap();
            assert_eq!(ep.to_string(), canonical);
            assert_eq!(Endpoint::parse(canonical).unwrap(), ep, "{canonical}");
        }
    }

    #[test]
    fn connect_checks() {
        for good in [
            "tcp://127.0.0.1:1",
            "tcp://localhost:1",
            "ipc:///tmp/x",
            "ipc://@x",
            "inproc://x",
        ] {
            Endpoint::parse(good)
                .unwrap()
                .check_connectable(good)
                .unwrap();
        }
        for (bad, fragment) in [
            ("tcp://*:5555", "host `*`"),
            ("tcp://127.0.0.1:*", "port"),
            ("tcp://127.0.0.1:0", "port"),
            ("ipc://*", "ipc://*"),
        ] {
            match Endpoint::parse(bad).unwrap().check_connectable(bad) {
                Err(Error::InvalidEndpoint { endpoint, reason }) => {
                    assert_eq!(endpoint, bad);
                    assert!(reason.contains(fragment), "{bad}: {reason}");
                }
                other => panic!("{bad} should not be connectable: {other:?}"),
            }
        }
    }
}
