//! Backend choice: the first `use_backend` whose condition holds, else the
//! `default_backend` (a listen is its own default).

use std::net::IpAddr;

use super::Frontend;
use crate::config::model::{Condition, Fetch, PredefinedAcl};

/// Evaluates a condition for a client and, in HTTP, the request's path
/// (the target without its query string).
pub fn holds(cond: &Condition, client: IpAddr, path: Option<&str>) -> bool {
    let predefined = cond.terms.iter().all(|t| {
        let v = match t.acl {
            PredefinedAcl::True => true,
            PredefinedAcl::False => false,
            PredefinedAcl::Localhost => client.is_loopback(),
        };
        v != t.negate
    });
    let anonymous = cond.anonymous.iter().all(|a| {
        let v = path.is_some_and(|p| {
            let p = p.split('?').next().unwrap_or(p);
            a.values.iter().any(|v| match a.fetch {
                Fetch::Path => p == v,
                Fetch::PathBeg => p.starts_with(v.as_str()),
            })
        });
        v != a.negate
    });
    (predefined && anonymous) != cond.unless
}

impl Frontend {
    /// The backend index for a request from `client` for `path` (the
    /// request target; None in mode tcp, where no path exists).
    pub fn choose_backend(&self, client: IpAddr, path: Option<&str>) -> Option<usize> {
        self.use_backend
            .iter()
            .find(|(u, _)| u.cond.as_ref().is_none_or(|c| holds(c, client, path)))
            .map(|(_, b)| *b)
            .or(self.default_backend)
    }
}
