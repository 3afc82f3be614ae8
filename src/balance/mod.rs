//! Server selection: one file per `balance` algorithm behind one trait.
//!
//! Tables are built once per Runtime; picking is arithmetic on an index, with
//! at most an atomic counter shared between workers (no lock). Which servers
//! are candidates (active ones, else the first or all backups) is decided
//! here, from each server's live state, for every algorithm alike.

mod hash;
mod leastconn;
mod random;
mod roundrobin;

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::model::Balance;
use crate::state::ServerState;

pub use hash::sdbm;

/// What the balancer knows about one server.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `backup`.
    pub backup: bool,
    /// `maxconn`, if any (a full server is skipped by `first`).
    pub maxconn: Option<u32>,
    /// Live state.
    pub state: Arc<ServerState>,
}

impl Candidate {
    /// The weight in force (0 takes no traffic).
    pub fn weight(&self) -> u32 {
        self.state.effective_weight()
    }

    fn usable(&self) -> bool {
        self.weight() > 0 && self.state.usable()
    }
}

/// What a request offers to hash on.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestKey<'a> {
    /// The client's address (`balance source`).
    pub client: Option<IpAddr>,
    /// The request target as sent (`balance uri`, `url_param`).
    pub uri: Option<&'a str>,
    /// The value of the header named by `balance hdr()`, when present.
    pub header: Option<&'a [u8]>,
}

/// One balancing algorithm over a fixed list of servers.
pub trait Algorithm: Send + Sync + std::fmt::Debug {
    /// Picks among `servers[i]` for `i` in `allowed` (indices into the list),
    /// avoiding `avoid` when another choice exists.
    fn pick(
        &self,
        servers: &[Candidate],
        allowed: &[usize],
        key: &RequestKey,
        avoid: Option<usize>,
    ) -> Option<usize>;
}

/// A backend's balancer: the algorithm and the candidate rules.
#[derive(Debug)]
pub struct Balancer {
    /// Swapped whole when an operator changes a weight (`reweigh`); the
    /// request path only loads it.
    algo: arc_swap::ArcSwap<Box<dyn Algorithm>>,
    balance: Balance,
    http: bool,
    servers: Vec<Candidate>,
    allbackups: bool,
    /// Indices of the active (non-backup) servers: the usual candidate set,
    /// used as is (no allocation) while all of them are usable.
    active: Vec<usize>,
}

impl Balancer {
    /// Builds the balancer of a backend.
    pub fn new(
        balance: &Balance,
        servers: Vec<Candidate>,
        allbackups: bool,
        http: bool,
    ) -> Balancer {
        let active: Vec<usize> = (0..servers.len()).filter(|&i| !servers[i].backup).collect();
        let algo = algorithm(balance, &servers, &active, http);
        Balancer {
            algo: arc_swap::ArcSwap::from_pointee(algo),
            balance: balance.clone(),
            http,
            servers,
            allbackups,
            active,
        }
    }

    /// Rebuilds the tables from the weights in force, after an operator
    /// changed one. `static-rr` keeps its table, as in HAProxy (only a
    /// weight of 0 takes effect there: such a server is skipped).
    pub fn reweigh(&self) {
        if self.balance == Balance::StaticRr {
            return;
        }
        let algo = algorithm(&self.balance, &self.servers, &self.active, self.http);
        self.algo.store(std::sync::Arc::new(algo));
    }

    /// The `balance` setting it was built from.
    pub fn balance(&self) -> &Balance {
        &self.balance
    }

    /// The servers, in configuration order.
    pub fn servers(&self) -> &[Candidate] {
        &self.servers
    }

    /// Chooses a server for a new session: an active one if any is usable,
    /// else the first usable backup (or any backup with `option allbackups`).
    /// `avoid` is the server that just failed (redispatch).
    pub fn pick(&self, key: &RequestKey, avoid: Option<usize>) -> Option<usize> {
        if !self.active.is_empty() && self.active.iter().all(|&i| self.servers[i].usable()) {
            return self
                .algo
                .load()
                .pick(&self.servers, &self.active, key, avoid);
        }
        let active: Vec<usize> = self
            .active
            .iter()
            .copied()
            .filter(|&i| self.servers[i].usable())
            .collect();
        if !active.is_empty() {
            return self.algo.load().pick(&self.servers, &active, key, avoid);
        }
        let backups =
            (0..self.servers.len()).filter(|&i| self.servers[i].backup && self.servers[i].usable());
        if self.allbackups {
            let b: Vec<usize> = backups.collect();
            if b.is_empty() {
                return None;
            }
            self.algo.load().pick(&self.servers, &b, key, avoid)
        } else {
            let mut b = backups;
            let first = b.next()?;
            // With one backup in use, a failed one gives way to the next.
            match avoid {
                Some(a) if a == first => b.next().or(Some(first)),
                _ => Some(first),
            }
        }
    }
}

/// The algorithm's tables for the weights in force.
fn algorithm(
    balance: &Balance,
    servers: &[Candidate],
    active: &[usize],
    http: bool,
) -> Box<dyn Algorithm> {
    let weights: Vec<u32> = servers.iter().map(Candidate::weight).collect();
    match balance {
        Balance::Roundrobin | Balance::StaticRr => Box::new(roundrobin::RoundRobin::new(&weights)),
        Balance::Leastconn => Box::new(leastconn::LeastConn::default()),
        Balance::First => Box::new(leastconn::First),
        Balance::Random { draws } => Box::new(random::Random::new(*draws)),
        Balance::Source => Box::new(hash::Hash::new(hash::On::Source, &weights, active)),
        // Layer-7 hashes fall back to round robin in `mode tcp`, as in HAProxy.
        _ if !http => Box::new(roundrobin::RoundRobin::new(&weights)),
        Balance::Uri(u) => Box::new(hash::Hash::new(hash::On::Uri(u.clone()), &weights, active)),
        Balance::UrlParam { param } => Box::new(hash::Hash::new(
            hash::On::UrlParam(param.clone()),
            &weights,
            active,
        )),
        Balance::Hdr {
            use_domain_only, ..
        } => Box::new(hash::Hash::new(
            hash::On::Header {
                domain_only: *use_domain_only,
            },
            &weights,
            active,
        )),
    }
}

#[cfg(test)]
mod tests;
