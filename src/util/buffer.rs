//! The worker's buffer pool: the 16 KiB blocks a connection holds only
//! while bytes are on their way through it.
//!
//! A [`Buffer`] is a `Vec<u8>` that goes back to its worker's spares when
//! dropped. Each worker counts the buffers it has allocated and how many
//! are held by connections; `show pools` and `show info` add the workers'
//! counts up when asked. The counts are written by their own worker only
//! (a load and a store, no locked instruction, no cache line shared with
//! another worker), which keeps them off the request path's costs.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::worker_counts::{bump, Counts, Registry};

/// Spare buffers kept per worker.
const SPARES: usize = 64;

// The counters of a worker, by index.
const ALLOCATED: usize = 0; // buffers alive: held by connections or spare
const ALLOCATED_BYTES: usize = 1;
const USED: usize = 2; // buffers held by connections
const USED_BYTES: usize = 3;

static ALL: Registry<4> = Registry::new();

struct Local {
    spares: RefCell<Vec<Vec<u8>>>,
    counts: Arc<Counts<4>>,
}

impl Local {
    fn new() -> Local {
        Local {
            spares: RefCell::new(Vec::new()),
            counts: ALL.register(),
        }
    }

    /// Counts `v` in (`sign` 1) or out (-1) of `[count, bytes]`.
    fn count(&self, at: usize, v: &Vec<u8>, sign: isize) {
        bump(&self.counts[at], sign);
        bump(&self.counts[at + 1], sign * v.capacity() as isize);
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        for v in std::mem::take(self.spares.get_mut()) {
            self.count(ALLOCATED, &v, -1);
        }
    }
}

thread_local! {
    // Buffers are recycled per worker thread (no lock: a worker is one
    // thread). Reusing them keeps the heap from interleaving short-lived
    // 16 KiB blocks with long-lived small ones, which would fragment it.
    static LOCAL: Local = Local::new();
}

/// A pooled byte buffer, or none (capacity 0, the idle state). It derefs
/// to its `Vec<u8>`; the Vec must not be grown past the capacity it was
/// taken with (the counts assume its size does not change).
#[derive(Debug, Default)]
pub struct Buffer {
    v: Vec<u8>,
}

impl Buffer {
    /// No buffer: holds no memory.
    pub const fn none() -> Buffer {
        Buffer { v: Vec::new() }
    }

    /// An empty buffer of at least `capacity` bytes, a spare one if the
    /// worker has one.
    pub fn take(capacity: usize) -> Buffer {
        let v = LOCAL
            .try_with(|l| {
                let spare = l.spares.borrow_mut().pop();
                let v = match spare {
                    Some(v) if v.capacity() >= capacity => v,
                    other => {
                        if let Some(small) = other {
                            // Smaller than asked (another bufsize): freed.
                            l.count(ALLOCATED, &small, -1);
                        }
                        let v = Vec::with_capacity(capacity);
                        l.count(ALLOCATED, &v, 1);
                        v
                    }
                };
                l.count(USED, &v, 1);
                v
            })
            .unwrap_or_else(|_| Vec::with_capacity(capacity));
        Buffer { v }
    }

    /// True when it holds memory.
    pub fn is_held(&self) -> bool {
        self.v.capacity() != 0
    }

    /// Gives the memory back to the worker now; `self` holds none after.
    pub fn release(&mut self) {
        drop(std::mem::take(self));
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if self.v.capacity() == 0 {
            return;
        }
        let mut v = std::mem::take(&mut self.v);
        v.clear();
        // During thread teardown the pool is gone; the Vec is just freed.
        let _ = LOCAL.try_with(|l| {
            l.count(USED, &v, -1);
            let mut spares = l.spares.borrow_mut();
            if spares.len() < SPARES {
                spares.push(v);
            } else {
                l.count(ALLOCATED, &v, -1);
            }
        });
    }
}

impl Deref for Buffer {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.v
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.v
    }
}

/// The pool's state summed over the workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Buffers alive (held or spare).
    pub allocated: usize,
    /// Their bytes.
    pub allocated_bytes: usize,
    /// Buffers held by connections.
    pub used: usize,
    /// Their bytes.
    pub used_bytes: usize,
}

/// Sums every worker's counts.
pub fn usage() -> Usage {
    let c = ALL.sum();
    Usage {
        allocated: c[ALLOCATED],
        allocated_bytes: c[ALLOCATED_BYTES],
        used: c[USED],
        used_bytes: c[USED_BYTES],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts of this thread only (other tests run on other threads).
    fn mine() -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        LOCAL.with(|l| {
            (
                l.counts[ALLOCATED].load(Relaxed),
                l.counts[USED].load(Relaxed),
            )
        })
    }

    #[test]
    fn a_buffer_is_counted_while_held_and_kept_as_a_spare_after() {
        let (a0, u0) = mine();
        let mut b = Buffer::take(1000);
        assert!(b.is_held());
        b.extend_from_slice(b"abc");
        assert_eq!(mine(), (a0 + 1, u0 + 1));
        b.release();
        assert!(!b.is_held());
        assert_eq!(mine(), (a0 + 1, u0), "a released buffer stays as a spare");
        let c = Buffer::take(1000);
        assert!(c.is_empty(), "a spare comes back empty");
        assert_eq!(mine(), (a0 + 1, u0 + 1), "the spare was reused");
        drop(c);
        assert_eq!(Buffer::none().capacity(), 0);
        assert!(usage().allocated > a0);
    }
}
