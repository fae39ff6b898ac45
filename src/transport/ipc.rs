//! The ipc transport: Unix-domain stream sockets at file-system paths or, on Linux, in the
//! abstract namespace (`ipc://@name`).
//!
//! What this module must keep true:
//! - bind never takes a path away from a live listener: an existing socket file is removed
//!   only when a connect to it is refused (it is stale), and a non-socket file is never removed;
//! - a listener removes on drop only the socket file it created itself (same device and inode);
//! - `ipc://*` binds a fresh path under [`std::env::temp_dir`] and reports it.

use super::{bind_error, Listener};
use crate::endpoint::{Endpoint, IpcAddr};
use crate::{Error, Result};
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest path that fits in `sockaddr_un` with its terminating NUL.
const MAX_PATH_LEN: usize = 107;

/// How many fresh names `ipc://*` tries before giving up.
const WILDCARD_ATTEMPTS: u32 = 16;

/// A resolved ipc connect address.
#[derive(Debug, Clone)]
pub(crate) struct IpcTarget {
    endpoint: String,
    addr: SocketAddr,
}

impl IpcTarget {
    /// The canonical endpoint string this target came from.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

fn invalid(endpoint: &str, reason: impl Into<String>) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.into(),
    }
}

/// Binds the ipc part of `ep`.
pub(super) fn bind(ep: &Endpoint, addr: &IpcAddr) -> Result<(Listener, String)> {
    let endpoint = ep.to_string();
    match addr {
        IpcAddr::Path(p) => bind_path(&endpoint, p),
        IpcAddr::Abstract(name) => {
            let sa = SocketAddr::from_abstract_name(name)
                .map_err(|e| invalid(&endpoint, e.to_string()))?;
            let listener =
                mio::net::UnixListener::bind_addr(&sa).map_err(|e| bind_error(&endpoint, e))?;
            log::debug!("bound {endpoint}");
            Ok((
                Listener::Unix {
                    listener,
                    path: None,
                    file_id: None,
                },
                endpoint,
            ))
        }
        IpcAddr::Any => bind_wildcard(&endpoint),
    }
}

/// Binds a fresh, unique path in the temporary directory.
fn bind_wildcard(endpoint: &str) -> Result<(Listener, String)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..WILDCARD_ATTEMPTS {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(
            "ferrozmq-{}-{n}-{nanos:08x}.sock",
            std::process::id()
        ));
        if path.as_os_str().len() > MAX_PATH_LEN {
            return Err(invalid(
                endpoint,
                format!(
                    "the temporary directory `{}` is too long for a Unix socket path; set TMPDIR to a shorter one",
                    dir.display()
                ),
            ));
        }
        // bind() fails with EADDRINUSE if anything exists at the path, and does not follow
        // symlinks there, so a unique name is claimed atomically.
        match mio::net::UnixListener::bind(&path) {
            Ok(listener) => return Ok(finish_path_bind(listener, path)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(Error::Io(e)),
        }
    }
    Err(Error::Io(io::Error::new(
        io::ErrorKind::AddrInUse,
        "could not find a free temporary ipc path",
    )))
}

/// Binds a file-system path, clearing a stale socket file first.
fn bind_path(endpoint: &str, path: &Path) -> Result<(Listener, String)> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            // Non-blocking probe: it completes or fails at once, even with a full backlog.
            match mio::net::UnixStream::connect(path) {
                Ok(_) => {
                    log::debug!("{endpoint}: a live listener answers at {}", path.display());
                    return Err(Error::AddressInUse(endpoint.to_owned()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(Error::AddressInUse(endpoint.to_owned()));
                }
                // The file went away between the look and the probe (its listener was
                // closing): nothing is in the way any more.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    log::info!("removing stale ipc socket file {}", path.display());
                    match std::fs::remove_file(path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::Io(e)),
                    }
                }
                Err(e) => return Err(Error::Io(e)),
            }
        }
        Ok(_) => {
            log::warn!(
                "{endpoint}: `{}` exists and is not a socket; not removing it",
                path.display()
            );
            return Err(Error::AddressInUse(endpoint.to_owned()));
        }
        // Nothing there, or we cannot look: let bind report what is wrong.
        Err(_) => {}
    }
    let listener = mio::net::UnixListener::bind(path).map_err(|e| bind_error(endpoint, e))?;
    let (listener, bound) = finish_path_bind(listener, path.to_path_buf());
    log::debug!("bound {bound}");
    Ok((listener, bound))
}

/// Wraps a freshly bound path listener, remembering the file's identity for drop.
fn finish_path_bind(listener: mio::net::UnixListener, path: PathBuf) -> (Listener, String) {
    let file_id = std::fs::symlink_metadata(&path)
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let bound = format!("ipc://{}", path.display());
    (
        Listener::Unix {
            listener,
            path: Some(path),
            file_id,
        },
        bound,
    )
}

/// Removes a listener's socket file if it is still the one the listener created.
pub(super) fn remove_socket_file(path: &Path, file_id: Option<(u64, u64)>) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if file_id.is_none() || file_id == Some((m.dev(), m.ino())) => {
            if let Err(e) = std::fs::remove_file(path) {
                log::debug!("cannot remove ipc socket file {}: {e}", path.display());
            }
        }
        Ok(_) => log::debug!(
            "ipc socket file {} was replaced by another; leaving it",
            path.display()
        ),
        Err(e) => log::debug!("ipc socket file {} is gone: {e}", path.display()),
    }
}

/// Resolves a connectable ipc endpoint (`original` is its string, for errors).
pub(super) fn resolve(original: &str, addr: &IpcAddr) -> Result<IpcTarget> {
    let sa = match addr {
        IpcAddr::Path(p) => SocketAddr::from_pathname(p),
        IpcAddr::Abstract(name) => SocketAddr::from_abstract_name(name),
        IpcAddr::Any => return Err(invalid(original, "`ipc://*` can only be used to bind")),
    }
    .map_err(|e| invalid(original, e.to_string()))?;
    Ok(IpcTarget {
        endpoint: original.to_owned(),
        addr: sa,
    })
}

/// Starts (and on Unix sockets, usually finishes) a non-blocking connect.
pub(super) fn connect(target: &IpcTarget) -> io::Result<mio::net::UnixStream> {
    log::trace!("connecting to {}", target.endpoint);
    mio::net::UnixStream::connect_addr(&target.addr)
}

/// Describes a Unix socket address, or `None` if it is unnamed.
fn describe(addr: &SocketAddr) -> Option<String> {
    if let Some(p) = addr.as_pathname() {
        return Some(p.display().to_string());
    }
    addr.as_abstract_name()
        .map(|n| format!("@{}", String::from_utf8_lossy(n)))
}

/// Describes an ipc stream for logs: the peer's address if it has one (the connecting side),
/// otherwise our own (the accepting side, whose peer is unnamed).
pub(super) fn stream_description(s: &mio::net::UnixStream) -> String {
    s.peer_addr()
        .ok()
        .as_ref()
        .and_then(describe)
        .or_else(|| s.local_addr().ok().as_ref().and_then(describe))
        .unwrap_or_else(|| "unnamed unix socket".to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::round_trip;
    use super::super::{bind as bind_ep, resolve as resolve_ep};
    use super::*;

    fn temp_path(tag: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        std::env::temp_dir().join(format!(
            "fzmq-t-{}-{}-{tag}.sock",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn bind_str(s: &str) -> Result<(Listener, String)> {
        bind_ep(&Endpoint::parse(s).unwrap())
    }

    #[test]
    fn bind_creates_file_and_drop_removes_it() {
        let path = temp_path("life");
        let ep = format!("ipc://{}", path.display());
        let (l, bound) = bind_str(&ep).unwrap();
        assert_eq!(bound, ep);
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_socket());
        drop(l);
        assert!(!path.exists(), "drop should remove {}", path.display());
    }

    #[test]
    fn stale_socket_file_does_not_block_bind() {
        let path = temp_path("stale");
        // std does not unlink on drop, so this leaves a stale socket file behind.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let ep = format!("ipc://{}", path.display());
        let (mut l, bound) = bind_str(&ep).unwrap();
        round_trip(&mut l, &bound);
        drop(l);
        assert!(!path.exists());
    }

    #[test]
    fn live_listener_gives_address_in_use() {
        let path = temp_path("live");
        let _live = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let ep = format!("ipc://{}", path.display());
        match bind_str(&ep) {
            Err(Error::AddressInUse(e)) => assert_eq!(e, ep),
            other => panic!("expected AddressInUse, got {other:?}"),
        }
        assert!(path.exists(), "the live listener's file must stay");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn our_own_listener_conflicts_and_survives() {
        let path = temp_path("twice");
        let ep = format!("ipc://{}", path.display());
        let (_l, _) = bind_str(&ep).unwrap();
        assert!(matches!(bind_str(&ep), Err(Error::AddressInUse(_))));
        assert!(path.exists());
    }

    #[test]
    fn regular_file_is_not_removed() {
        let path = temp_path("plain");
        std::fs::write(&path, b"data").unwrap();
        let ep = format!("ipc://{}", path.display());
        assert!(matches!(bind_str(&ep), Err(Error::AddressInUse(_))));
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn drop_leaves_a_replaced_file_alone() {
        let path = temp_path("replaced");
        let ep = format!("ipc://{}", path.display());
        let (l, _) = bind_str(&ep).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"other").unwrap();
        drop(l);
        assert_eq!(std::fs::read(&path).unwrap(), b"other");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn abstract_bind_and_conflict() {
        let name = format!(
            "ipc://@ferrozmq-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        );
        let (mut l, bound) = bind_str(&name).unwrap();
        assert_eq!(bound, name);
        match bind_str(&name) {
            Err(Error::AddressInUse(e)) => assert_eq!(e, name),
            other => panic!("expected AddressInUse, got {other:?}"),
        }
        round_trip(&mut l, &bound);
        drop(l);
        // The name is free again once the listener is gone.
        let (_l, _) = bind_str(&name).unwrap();
    }

    #[test]
    fn wildcard_binds_a_fresh_temp_path() {
        let (mut a, bound_a) = bind_str("ipc://*").unwrap();
        let (_b, bound_b) = bind_str("ipc://*").unwrap();
        assert_ne!(bound_a, bound_b);
        let path = PathBuf::from(bound_a.strip_prefix("ipc://").unwrap());
        assert!(path.starts_with(std::env::temp_dir()), "{bound_a}");
        assert!(path.exists());
        round_trip(&mut a, &bound_a);
        drop(a);
        assert!(!path.exists());
    }

    #[test]
    fn connect_round_trip_and_descriptions() {
        let path = temp_path("rt");
        let ep = format!("ipc://{}", path.display());
        let (mut l, bound) = bind_str(&ep).unwrap();
        round_trip(&mut l, &bound);

        let target = resolve_ep(&Endpoint::parse(&ep).unwrap()).unwrap();
        assert_eq!(target.endpoint(), ep);
        let client = super::super::connect(&target).unwrap();
        assert!(client.finish_connect().unwrap());
        assert_eq!(client.peer_description(), path.display().to_string());
        let server = l.accept().unwrap();
        assert_eq!(server.peer_description(), path.display().to_string());
    }

    #[test]
    fn connect_to_nothing_fails() {
        let path = temp_path("none");
        let ep = Endpoint::parse(&format!("ipc://{}", path.display())).unwrap();
        let target = resolve_ep(&ep).unwrap();
        let err = super::super::connect(&target).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn resolve_refuses_wildcard() {
        let ep = Endpoint::parse("ipc://*").unwrap();
        assert!(matches!(
            resolve_ep(&ep),
            Err(Error::InvalidEndpoint { .. })
        ));
    }
}
