//! `balance roundrobin` and `static-rr`: smooth weighted round robin.
//!
//! The smooth sequence (the one nginx uses: weights 5,1,1 give a a b a c a a,
//! not a a a a a b c) is computed once for the configured weights; a shared
//! atomic counter walks it. Servers that are not candidates right now are
//! skipped, so health changes adapt at once without rebuilding anything.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::{Algorithm, Candidate, RequestKey};

/// Weighted round robin over a precomputed sequence.
#[derive(Debug)]
pub struct RoundRobin {
    sequence: Vec<usize>,
    next: AtomicUsize,
}

impl RoundRobin {
    /// Builds the sequence for these weights.
    pub fn new(weights: &[u32]) -> RoundRobin {
        RoundRobin {
            sequence: smooth_sequence(weights),
            next: AtomicUsize::new(0),
        }
    }
}

/// The smooth weighted round-robin order over one period (sum of weights).
pub fn smooth_sequence(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut seq = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for (i, &w) in weights.iter().enumerate() {
            current[i] += i64::from(w);
            if current[i] > current[best] || weights[best] == 0 {
                best = i;
            }
        }
        current[best] -= total;
        seq.push(best);
    }
    seq
}

impl Algorithm for RoundRobin {
    fn pick(
        &self,
        servers: &[Candidate],
        allowed: &[usize],
        _: &RequestKey,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let n = self.sequence.len();
        if n == 0 {
            return None;
        }
        let mut fallback = None;
        // One period is enough to meet every allowed server of non-zero weight.
        for _ in 0..n {
            let i = self.sequence[self.next.fetch_add(1, Relaxed) % n];
            if !allowed.contains(&i) || servers[i].weight() == 0 {
                continue;
            }
            if Some(i) == avoid && allowed.len() > 1 {
                fallback = Some(i);
                continue;
            }
            return Some(i);
        }
        fallback
    }
}
