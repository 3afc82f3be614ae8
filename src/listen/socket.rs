//! One listening socket, with HAProxy's bind options, through socket2.
//!
//! Every worker binds its own copy of each address with SO_REUSEPORT, so the
//! kernel spreads connections over the workers and a connection lives and
//! dies on one core. `transparent` sets IP_TRANSPARENT and IP_FREEBIND: the
//! address need not exist on this host yet (a floating VIP still held by the
//! other node of an HA pair), and binding it succeeds all the same.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::model::Bind;

/// Why a listener could not be opened, with the address and the step.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind {addr}: {step}: {source}{hint}")]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// What was being done.
    pub step: &'static str,
    /// The system's error.
    pub source: io::Error,
    /// Advice, when the error has a usual cause.
    pub hint: &'static str,
}

/// The listen backlog when neither `backlog` nor `maxconn` says otherwise.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// Opens a non-blocking listening socket on `addr` with `bind`'s options.
pub fn open(
    addr: SocketAddr,
    bind: &Bind,
    backlog: u32,
) -> Result<std::net::TcpListener, BindError> {
    let err = |step, source: io::Error| {
        let hint = match source.raw_os_error() {
            Some(99) if !bind.transparent => {
                " (the address is not on this host: add 'transparent' to the bind line to listen before it arrives)"
            }
            Some(98) => " (another process already listens there)",
            Some(13) => " (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
            Some(1) if bind.transparent || bind.interface.is_some() => {
                " ('transparent' and 'interface' need CAP_NET_ADMIN or CAP_NET_RAW)"
            }
            _ => "",
        };
        BindError {
            addr,
            step,
            source,
            hint,
        }
    };
    let domain = Domain::for_address(addr);
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(|e| err("socket", e))?;
    s.set_reuse_address(true)
        .map_err(|e| err("SO_REUSEADDR", e))?;
    s.set_reuse_port(true).map_err(|e| err("SO_REUSEPORT", e))?;
    if addr.is_ipv6() {
        if bind.v6only {
            s.set_only_v6(true).map_err(|e| err("IPV6_V6ONLY", e))?;
        } else if bind.v4v6 {
            s.set_only_v6(false).map_err(|e| err("IPV6_V6ONLY", e))?;
        }
    }
    if bind.transparent {
        let transparent = if addr.is_ipv6() {
            s.set_ip_transparent_v6(true)
        } else {
            s.set_ip_transparent_v4(true)
        };
        // IP_TRANSPARENT needs CAP_NET_ADMIN; IP_FREEBIND alone, which any
        // user may set, is what lets a missing VIP be bound. Without the
        // privilege we go on with FREEBIND and say so.
        if let Err(e) = transparent {
            if e.kind() != io::ErrorKind::PermissionDenied {
                return Err(err("IP_TRANSPARENT", e));
            }
            tracing::warn!(%addr, "IP_TRANSPARENT not permitted (needs CAP_NET_ADMIN); binding with IP_FREEBIND only");
        }
        if addr.is_ipv6() {
            s.set_freebind_v6(true)
                .map_err(|e| err("IPV6_FREEBIND", e))?;
        } else {
            s.set_freebind_v4(true).map_err(|e| err("IP_FREEBIND", e))?;
        }
    }
    if let Some(iface) = &bind.interface {
        s.bind_device(Some(iface.as_bytes()))
            .map_err(|e| err("SO_BINDTODEVICE", e))?;
    }
    s.bind(&addr.into()).map_err(|e| err("bind", e))?;
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    s.listen(backlog).map_err(|e| err("listen", e))?;
    s.set_nonblocking(true).map_err(|e| err("O_NONBLOCK", e))?;
    Ok(s.into())
}

/// A non-blocking listener for the control side's own sockets (a TCP
/// `stats socket`, a `peers` section's address). SO_REUSEPORT lets a
/// master's next worker bind it while the previous worker, about to
/// leave, still holds it.
pub fn control_listener(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(backlog)?;
    Ok(s.into())
}

/// Takes over the listening TCP socket inherited as file descriptor `fd`
/// (`bind fd@N`), once per process: later calls (each worker, a reload)
/// get copies of it (`dup`), so that every worker accepts on it.
pub fn inherited(fd: i32) -> io::Result<std::net::TcpListener> {
    let mut taken = taken()?;
    if let Some(l) = taken.get(&fd) {
        return l.try_clone();
    }
    // listenfd takes sockets passed by the systemd convention; point it at
    // this one descriptor. It checks that the descriptor is a TCP socket.
    std::env::set_var("LISTEN_FDS", "1");
    std::env::set_var("LISTEN_FDS_FIRST_FD", fd.to_string());
    std::env::remove_var("LISTEN_PID");
    let mut fds = listenfd::ListenFd::from_env();
    std::env::remove_var("LISTEN_FDS_FIRST_FD");
    let l = fds
        .take_tcp_listener(0)?
        .ok_or_else(|| io::Error::other(format!("fd@{fd}: no such inherited socket")))?;
    l.set_nonblocking(true)?;
    let copy = l.try_clone()?;
    taken.insert(fd, l);
    Ok(copy)
}

type Taken = std::collections::HashMap<i32, std::net::TcpListener>;

/// The inherited sockets adopted so far, by their descriptor.
fn taken() -> io::Result<std::sync::MutexGuard<'static, Taken>> {
    use std::sync::{Mutex, OnceLock};
    static TAKEN: OnceLock<Mutex<Taken>> = OnceLock::new();
    TAKEN
        .get_or_init(|| Mutex::new(Taken::new()))
        .lock()
        .map_err(|_| io::Error::other("inherited listeners lock poisoned"))
}

/// Lets inherited socket `fd` pass, under the same number, to a program
/// this one starts (a master's worker, whose configuration names it).
pub fn pass_on_inherited(fd: i32) -> io::Result<()> {
    inherited(fd)?;
    let taken = taken()?;
    let l = taken
        .get(&fd)
        .ok_or_else(|| io::Error::other(format!("fd@{fd}: not adopted")))?;
    rustix::io::fcntl_setfd(l, rustix::io::FdFlags::empty())?;
    Ok(())
}
