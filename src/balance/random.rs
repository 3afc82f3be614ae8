//! `balance random[(N)]`: N random draws, the least loaded one wins
//! ("power of N choices"), weighted by server weight.

use std::sync::atomic::Ordering::Relaxed;

use super::{Algorithm, Candidate, RequestKey};

/// Weighted random with N draws.
#[derive(Debug)]
pub struct Random {
    draws: u32,
}

impl Random {
    /// With this many draws (at least 1).
    pub fn new(draws: u32) -> Random {
        Random {
            draws: draws.max(1),
        }
    }
}

pub use crate::util::random::next_u64;

impl Algorithm for Random {
    fn pick(
        &self,
        servers: &[Candidate],
        allowed: &[usize],
        _: &RequestKey,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let pool: Vec<usize> = allowed
            .iter()
            .copied()
            .filter(|&i| servers[i].weight() > 0 && (Some(i) != avoid || allowed.len() == 1))
            .collect();
        let total: u64 = pool.iter().map(|&i| u64::from(servers[i].weight())).sum();
        if total == 0 {
            return None;
        }
        let draw = || {
            let mut r = next_u64() % total;
            for &i in &pool {
                let w = u64::from(servers[i].weight());
                if r < w {
                    return i;
                }
                r -= w;
            }
            pool[0]
        };
        (0..self.draws).map(|_| draw()).min_by_key(|&i| {
            servers[i].state.cur_sessions.load(Relaxed) * 256 / u64::from(servers[i].weight())
        })
    }
}
