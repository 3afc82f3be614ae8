//! Idle server connections kept per worker for reuse by later requests.
//!
//! Locking choice: the pool is thread-local. Each worker runs a
//! current-thread runtime, so its sessions never race for it and no other
//! worker ever touches it: no lock, no atomics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::proxy::stream::Stream;

/// Idle connections kept per server and worker: enough for the busiest
/// moment's concurrency, so that a burst does not churn connections.
const MAX_IDLE_PER_SERVER: usize = 1024;
/// An idle connection older than this is closed rather than reused: servers
/// commonly close idle keep-alive connections after 5 to 15 seconds.
const MAX_IDLE_AGE: Duration = Duration::from_secs(4);

thread_local! {
    static POOL: RefCell<HashMap<SocketAddr, Vec<(Stream, Instant)>>> = RefCell::new(HashMap::new());
}

/// Keeps `conn` for a later request to `target`.
pub fn put(target: SocketAddr, conn: Stream) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.entry(target).or_default();
        if idle.len() < MAX_IDLE_PER_SERVER {
            idle.push((conn, Instant::now()));
        }
    });
}

/// The most recently idled connection to `target`, if any is young enough.
/// It is not probed (that would cost a system call per request): the
/// caller replays a body-less request once if the server had closed it.
pub fn take(target: SocketAddr) -> Option<Stream> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.get_mut(&target)?;
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() <= MAX_IDLE_AGE {
                return Some(conn);
            }
        }
        None
    })
}
