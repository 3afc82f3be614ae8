//! Server addresses resolved at run time (`resolvers` sections): one task
//! per section on the control thread. Every `timeout resolve` it looks at
//! its resolutions (one per backend and name) and runs those whose last
//! run is older than `hold valid`; the answers move servers between
//! addresses and in and out of maintenance (RMAINT), in HAProxy's words.

mod apply;
mod query;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::config::model::{Family, Resolvers as Section};
use crate::runtime::{Runtime, Shared};

pub use query::Failure;

/// The running resolver tasks, by section name, reconciled with each new
/// Runtime: an unchanged section keeps its task and what it learnt.
#[derive(Debug, Default)]
pub struct Resolvers {
    tasks: HashMap<String, (Arc<Section>, tokio::task::JoinHandle<()>)>,
}

impl Resolvers {
    /// Starts, keeps or stops tasks to match the current Runtime. Must run
    /// on the control thread's runtime.
    pub fn reconcile(&mut self, shared: &Arc<Shared>) {
        let rt = shared.runtime.load_full();
        let wanted: HashMap<&str, &Arc<Section>> =
            rt.resolvers.iter().map(|r| (r.name.as_str(), r)).collect();
        self.tasks.retain(|name, (spec, task)| {
            let keep = wanted.get(name.as_str()).is_some_and(|w| **w == *spec);
            if !keep {
                task.abort();
            }
            keep
        });
        for (name, spec) in wanted {
            if self.tasks.contains_key(name) {
                continue;
            }
            let task = tokio::spawn(run(shared.clone(), spec.clone()));
            self.tasks.insert(name.to_string(), (spec.clone(), task));
        }
    }
}

impl Drop for Resolvers {
    fn drop(&mut self) {
        for (_, task) in self.tasks.values() {
            task.abort();
        }
    }
}

/// What one resolution remembers between runs.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    /// When it last ran.
    last_run: Option<Instant>,
    /// When it last got a valid answer.
    pub(crate) last_valid: Option<Instant>,
    /// The addresses answered, in answer order, with when each was last
    /// seen (`hold obsolete` keeps one that a later answer missed).
    pub(crate) addrs: Vec<(IpAddr, Instant)>,
    /// The SRV records answered, likewise.
    pub(crate) srv: Vec<(query::SrvRecord, Instant)>,
}

/// The servers of one backend that share a name: one resolution.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    backend: String,
    fqdn: String,
}

async fn run(shared: Arc<Shared>, spec: Arc<Section>) {
    let asker = query::Asker::new(&spec);
    let mut book: BTreeMap<Key, Resolution> = BTreeMap::new();
    loop {
        let rt = shared.runtime.load_full();
        let groups = groups(&rt, &spec.name);
        book.retain(|k, _| groups.contains_key(k));
        for (key, members) in &groups {
            let res = book.entry(key.clone()).or_default();
            let due = res.last_run.is_none_or(|t| t.elapsed() >= spec.hold.valid);
            if due {
                resolve_one(&rt, &asker, &spec, key, members, res).await;
                res.last_run = Some(Instant::now());
            }
        }
        tokio::time::sleep(spec.timeout_resolve).await;
    }
}

/// The servers that ask `section`, by (backend, name), in configuration
/// order: indexes into the backend's servers.
fn groups(rt: &Runtime, section: &str) -> BTreeMap<Key, (usize, Vec<usize>)> {
    let mut out: BTreeMap<Key, (usize, Vec<usize>)> = BTreeMap::new();
    for (bi, be) in rt.backends.iter().enumerate() {
        for (si, s) in be.servers.iter().enumerate() {
            let Some(d) = s.dns.as_ref().filter(|d| d.resolvers == section) else {
                continue;
            };
            let key = Key {
                backend: be.name.clone(),
                fqdn: d.fqdn.clone(),
            };
            out.entry(key).or_insert((bi, Vec::new())).1.push(si);
        }
    }
    out
}

async fn resolve_one(
    rt: &Runtime,
    asker: &query::Asker,
    spec: &Section,
    key: &Key,
    (bi, members): &(usize, Vec<usize>),
    res: &mut Resolution,
) {
    let be = &rt.backends[*bi];
    let Some(first) = members.first().and_then(|&i| be.servers[i].dns.as_ref()) else {
        return;
    };
    let now = Instant::now();
    if first.srv_label {
        match asker.srv(&key.fqdn).await {
            Ok(answer) => {
                res.last_valid = Some(now);
                let targets = srv_targets(asker, &answer.records, first.prefer).await;
                apply::srv_answer(rt, be, members, &answer, &targets, res, spec.hold.obsolete);
            }
            Err(f) => apply::failure(rt, be, members, f, res, &spec.hold),
        }
        return;
    }
    match asker.addrs(&key.fqdn, first.prefer).await {
        Ok(answer) => {
            res.last_valid = Some(now);
            apply::addr_answer(rt, be, members, &answer, res, spec.hold.obsolete);
        }
        Err(f) => apply::failure(rt, be, members, f, res, &spec.hold),
    }
}

/// The addresses of SRV targets that came without an additional record,
/// asked separately (as HAProxy does for such a server's host name).
async fn srv_targets(
    asker: &query::Asker,
    records: &[query::SrvRecord],
    prefer: Family,
) -> HashMap<String, IpAddr> {
    let mut out = HashMap::new();
    let mut asked = HashSet::new();
    for r in records.iter().filter(|r| r.additional.is_none()) {
        if !asked.insert(r.target.clone()) {
            continue;
        }
        if let Ok(a) = asker.addrs(&r.target, prefer).await {
            if let Some(ip) = a.records.first() {
                out.insert(r.target.clone(), *ip);
            }
        }
    }
    out
}
