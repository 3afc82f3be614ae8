//! Backend choice: the first `use_backend` whose condition holds, else the
//! `default_backend` (a listen is its own default).

use std::net::IpAddr;

use super::Frontend;
use crate::config::model::{Condition, PredefinedAcl};

/// Evaluates a condition made of predefined ACLs for a client.
pub fn holds(cond: &Condition, client: IpAddr) -> bool {
    let all = cond.terms.iter().all(|t| {
        let v = match t.acl {
            PredefinedAcl::True => true,
            PredefinedAcl::False => false,
            PredefinedAcl::Localhost => client.is_loopback(),
        };
        v != t.negate
    });
    all != cond.unless
}

impl Frontend {
    /// The backend index for a request from `client`.
    pub fn choose_backend(&self, client: IpAddr) -> Option<usize> {
        self.use_backend
            .iter()
            .find(|(u, _)| u.cond.as_ref().is_none_or(|c| holds(c, client)))
            .map(|(_, b)| *b)
            .or(self.default_backend)
    }
}
