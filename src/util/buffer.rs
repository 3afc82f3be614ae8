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
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Spare buffers kept per worker.
const SPARES: usize = 64;

/// One worker's counts.
#[derive(Debug, Default)]
struct Counts {
    /// Buffers alive: held by connections or kept as spares.
    allocated: AtomicUsize,
    /// Bytes of those.
    allocated_bytes: AtomicUsize,
    /// Buffers held by connections.
    used: AtomicUsize,
    /// Bytes of those.
    used_bytes: AtomicUsize,
}

impl Counts {
    /// Adds `d` (may be negative) to a counter only this thread writes.
    fn bump(c: &AtomicUsize, d: isize) {
        c.store(c.load(Relaxed).wrapping_add_signed(d), Relaxed);
    }
}

/// Every worker's counts, for the readers.
static ALL: Mutex<Vec<Arc<Counts>>> = Mutex::new(Vec::new());

struct Local {
    spares: RefCell<Vec<Vec<u8>>>,
    counts: Arc<Counts>,
}

impl Local {
    fn new() -> Local {
        let counts = Arc::new(Counts::default());
        if let Ok(mut all) = ALL.lock() {
            // A thread that ended left its counts at zero: drop them.
            all.retain(|c| Arc::strong_count(c) > 1 || c.allocated.load(Relaxed) != 0);
            all.push(counts.clone());
        }
        Local {
            spares: RefCell::new(Vec::new()),
            counts,
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        for v in self.spares.get_mut().drain(..) {
            Counts::bump(&self.counts.allocated, -1);
            Counts::bump(&self.counts.allocated_bytes, -(v.capacity() as isize));
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
                            Counts::bump(&l.counts.allocated, -1);
                            Counts::bump(&l.counts.allocated_bytes, -(small.capacity() as isize));
                        }
                        let v = Vec::with_capacity(capacity);
                        Counts::bump(&l.counts.allocated, 1);
                        Counts::bump(&l.counts.allocated_bytes, v.capacity() as isize);
                        v
                    }
                };
                Counts::bump(&l.counts.used, 1);
                Counts::bump(&l.counts.used_bytes, v.capacity() as isize);
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
        let size = v.capacity() as isize;
        // During thread teardown the pool is gone; the Vec is just freed.
        let _ = LOCAL.try_with(|l| {
            Counts::bump(&l.counts.used, -1);
            Counts::bump(&l.counts.used_bytes, -size);
            let mut spares = l.spares.borrow_mut();
            if spares.len() < SPARES {
                spares.push(v);
            } else {
                Counts::bump(&l.counts.allocated, -1);
                Counts::bump(&l.counts.allocated_bytes, -size);
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
    let mut u = Usage::default();
    if let Ok(all) = ALL.lock() {
        for c in all.iter() {
            u.allocated += c.allocated.load(Relaxed);
            u.allocated_bytes += c.allocated_bytes.load(Relaxed);
            u.used += c.used.load(Relaxed);
            u.used_bytes += c.used_bytes.load(Relaxed);
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts of this thread only (other tests run on other threads).
    fn mine() -> (usize, usize) {
        LOCAL.with(|l| {
            (
                l.counts.allocated.load(Relaxed),
                l.counts.used.load(Relaxed),
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
