//! Idle server connections kept per worker for reuse by later requests.
//!
//! Locking choice: the pool is thread-local. Each worker runs a
//! current-thread runtime, so its sessions never race for it and no other
//! worker ever touches it: no lock, no atomics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// Idle connections kept per server and worker.
const MAX_IDLE_PER_SERVER: usize = 32;
/// An idle connection older than this is closed rather than reused: servers
/// commonly close idle keep-alive connections after 5 to 15 seconds.
const MAX_IDLE_AGE: Duration = Duration::from_secs(4);

thread_local! {
    static POOL: RefCell<HashMap<SocketAddr, Vec<(TcpStream, Instant)>>> = RefCell::new(HashMap::new());
}

/// Keeps `conn` for a later request to `target`.
pub fn put(target: SocketAddr, conn: TcpStream) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.entry(target).or_default();
        if idle.len() < MAX_IDLE_PER_SERVER {
            idle.push((conn, Instant::now()));
        }
    });
}

/// An idle connection to `target` that still looks open, if any.
pub fn take(target: SocketAddr) -> Option<TcpStream> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.get_mut(&target)?;
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() > MAX_IDLE_AGE {
                continue;
            }
            // Open and silent: a read would block. EOF or stray bytes: drop it.
            let mut probe = [0u8; 1];
            match conn.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Some(conn),
                _ => continue,
            }
        }
        None
    })
}
