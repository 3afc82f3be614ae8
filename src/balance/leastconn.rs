//! `balance leastconn` (fewest current sessions per unit of weight) and
//! `balance first` (the first server, in order, with a free slot).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::{Algorithm, Candidate, RequestKey};

/// Fewest sessions relative to weight; ties go round robin.
#[derive(Debug, Default)]
pub struct LeastConn {
    tie: AtomicUsize,
}

fn load(c: &Candidate) -> u64 {
    // sessions / weight compared without division: scale by 256 (max weight).
    c.state.cur_sessions.load(Relaxed) * 256 / u64::from(c.weight().max(1))
}

impl Algorithm for LeastConn {
    fn pick(
        &self,
        servers: &[Candidate],
        allowed: &[usize],
        _: &RequestKey,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let choices: Vec<usize> = allowed
            .iter()
            .copied()
            .filter(|&i| Some(i) != avoid || allowed.len() == 1)
            .collect();
        let min = choices.iter().map(|&i| load(&servers[i])).min()?;
        let tied: Vec<usize> = choices
            .into_iter()
            .filter(|&i| load(&servers[i]) == min)
            .collect();
        Some(tied[self.tie.fetch_add(1, Relaxed) % tied.len()])
    }
}

/// The first server with a free slot, in configuration order.
#[derive(Debug)]
pub struct First;

impl Algorithm for First {
    fn pick(
        &self,
        servers: &[Candidate],
        allowed: &[usize],
        _: &RequestKey,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let free = |i: &&usize| {
            let s = &servers[**i];
            s.maxconn
                .is_none_or(|m| s.state.cur_sessions.load(Relaxed) < u64::from(m))
        };
        allowed
            .iter()
            .filter(|&&i| Some(i) != avoid)
            .find(free)
            .or_else(|| allowed.iter().find(free))
            .or(allowed.first())
            .copied()
    }
}
