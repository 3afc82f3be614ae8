//! Idle server connections kept per worker for reuse by later requests.
//!
//! Locking choice: the pool is thread-local. Each worker runs a
//! current-thread runtime, so its sessions never race for it and no other
//! worker ever touches it: no lock, no atomics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use crate::proxy::stream::Stream;

use crate::runtime::PoolLimits;

/// An idle connection.
struct Idle {
    conn: Stream,
    since: Instant,
    /// It has carried more than one request (`http-reuse aggressive`
    /// lets a first request take only such proven ones).
    proven: bool,
}

thread_local! {
    static POOL: RefCell<HashMap<SocketAddr, Vec<Idle>>> = RefCell::new(HashMap::new());
}

/// Which idle connection a request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// Look first that the server has not closed it: for a request whose
    /// body could not be replayed on another connection.
    pub probe: bool,
    /// Only a connection that has already been reused.
    pub proven_only: bool,
}

/// Keeps `conn` for a later request to `target` within `limits`;
/// `proven` when it has carried more than one request.
pub fn put(target: SocketAddr, conn: Stream, proven: bool, limits: PoolLimits) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.entry(target).or_default();
        if idle.len() < limits.max_conn {
            idle.push(Idle {
                conn,
                since: Instant::now(),
                proven,
            });
        }
    });
}

/// The most recently idled connection to `target` that `want` accepts and
/// is young enough. Without `probe` it is not looked at (that would cost
/// a system call per request): the caller replays a body-less request
/// once if the server had closed it.
pub fn take(target: SocketAddr, want: Want, limits: PoolLimits) -> Option<Stream> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.get_mut(&target)?;
        // Oldest first: the stale ones are a prefix, dropped here.
        if let Some(age) = limits.max_age {
            let stale = idle.partition_point(|i| i.since.elapsed() > age);
            idle.drain(..stale);
        }
        loop {
            let at = idle.iter().rposition(|i| i.proven || !want.proven_only)?;
            let i = idle.remove(at);
            if !(want.probe && i.conn.peer_gone()) {
                return Some(i.conn);
            }
        }
    })
}
