//! Counters each worker writes alone and readers add up: the way to count
//! on the request path without a cache line that two cores write.
//!
//! A worker registers its own array once (thread-local) and updates it
//! with a plain load and store; `show info`, `show pools` and the stats
//! sum every registered array when asked.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// One worker's `N` counters.
pub type Counts<const N: usize> = [AtomicUsize; N];

/// Every worker's counters of one kind.
pub struct Registry<const N: usize> {
    all: Mutex<Vec<Arc<Counts<N>>>>,
}

impl<const N: usize> Registry<N> {
    /// An empty registry, for a `static`.
    pub const fn new() -> Registry<N> {
        Registry {
            all: Mutex::new(Vec::new()),
        }
    }

    /// A new worker's counters, all zero, registered for the readers.
    pub fn register(&self) -> Arc<Counts<N>> {
        let counts: Arc<Counts<N>> = Arc::new(std::array::from_fn(|_| AtomicUsize::new(0)));
        if let Ok(mut all) = self.all.lock() {
            // A thread that ended and left nothing counted is dropped.
            all.retain(|c| Arc::strong_count(c) > 1 || c.iter().any(|v| v.load(Relaxed) != 0));
            all.push(counts.clone());
        }
        counts
    }

    /// Every worker's counters added up.
    pub fn sum(&self) -> [usize; N] {
        let mut out = [0usize; N];
        if let Ok(all) = self.all.lock() {
            for c in all.iter() {
                for (o, v) in out.iter_mut().zip(c.iter()) {
                    *o = o.wrapping_add(v.load(Relaxed));
                }
            }
        }
        out
    }
}

impl<const N: usize> Default for Registry<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Adds `d` (may be negative) to a counter only this thread writes: a
/// load and a store, no locked instruction.
pub fn bump(c: &AtomicUsize, d: isize) {
    c.store(c.load(Relaxed).wrapping_add_signed(d), Relaxed);
}
