//! `maxconn` across a reload. A limit counts the slots its connections
//! hold, so a reload keeps the same [`Limit`] object for a process,
//! frontend or server that keeps a `maxconn`, and resizes it once the new
//! Runtime is stored: connections opened before the reload stay counted
//! and a new value takes effect at once. A `set maxconn` made on the
//! runtime API survives a reload that leaves the configured value alone.

use std::sync::Arc;

use super::Runtime;
use crate::state::Limit;

/// The limit a newly compiled object starts with: the old one's, carried
/// over, while the configuration still sets a `maxconn`.
pub(super) fn carry(old: Option<&Arc<Limit>>, maxconn: Option<u32>) -> Option<Arc<Limit>> {
    let m = maxconn.filter(|&m| m > 0)?;
    Some(match old {
        Some(l) => l.clone(),
        None => Limit::new(m as usize),
    })
}

/// One limit's change: its configured value before and after, and the
/// objects of both Runtimes.
struct Change<'a> {
    before: Option<u32>,
    after: Option<u32>,
    old: Option<&'a Arc<Limit>>,
    new: Option<&'a Arc<Limit>>,
}

impl Change<'_> {
    fn apply(self) {
        if self.before == self.after {
            return;
        }
        match (self.new, self.after) {
            (Some(l), Some(m)) => l.resize(m as usize),
            _ => {
                // The limit is gone: an accept loop may be waiting on its
                // semaphore; let it through.
                if let Some(old) = self.old {
                    old.open_wide();
                }
            }
        }
    }
}

/// Applies the `maxconn` values of `new` to the limits carried over from
/// `old`. Call once `new` is stored.
pub fn apply(old: &Runtime, new: &Runtime) {
    Change {
        before: old.global.maxconn,
        after: new.global.maxconn,
        old: old.global.limit.as_ref(),
        new: new.global.limit.as_ref(),
    }
    .apply();
    for fe in &old.frontends {
        let now = new.frontend(&fe.name);
        Change {
            before: fe.maxconn,
            after: now.and_then(|f| f.maxconn),
            old: fe.limit.as_ref(),
            new: now.and_then(|f| f.limit.as_ref()),
        }
        .apply();
    }
    for be in &old.backends {
        let nb = new.backends.iter().find(|b| b.name == be.name);
        for s in &be.servers {
            let now = nb.and_then(|b| b.servers.iter().find(|n| n.name == s.name));
            Change {
                before: s.maxconn,
                after: now.and_then(|n| n.maxconn),
                old: s.limit.as_ref(),
                new: now.and_then(|n| n.limit.as_ref()),
            }
            .apply();
        }
    }
}
