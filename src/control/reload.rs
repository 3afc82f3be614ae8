//! SIGHUP: read, parse, validate, compile against the current Runtime,
//! open the new listeners, swap. A failure at any step changes nothing: the
//! errors are logged with their file:line and the old Runtime keeps serving.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::workers::Workers;
use crate::config;
use crate::runtime::{compile, Runtime};

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The configuration has errors.
    #[error("configuration refused:\n{0}")]
    Config(config::Diagnostics),
    /// It could not be compiled (e.g. a host name does not resolve).
    #[error("{0}")]
    Compile(#[from] crate::runtime::CompileError),
    /// The change needs a new process: the workers' threads are started
    /// once.
    #[error("{0}; a restart is needed to apply it")]
    NeedsRestart(String),
    /// A new listener could not be opened.
    #[error("{0}")]
    Listen(#[from] super::workers::StartError),
}

/// What a reload changed, for its log line.
#[derive(Debug, Default)]
pub struct Summary {
    /// Lines like "frontend www added".
    pub changes: Vec<String>,
}

fn diff(kind: &str, old: &BTreeSet<String>, new: &BTreeSet<String>, out: &mut Vec<String>) {
    for n in new.difference(old) {
        out.push(format!("{kind} {n} added"));
    }
    for n in old.difference(new) {
        out.push(format!("{kind} {n} removed"));
    }
}

fn describe(old: &Runtime, new: &Runtime) -> Vec<String> {
    let mut out = Vec::new();
    let names = |v: Vec<&String>| v.into_iter().cloned().collect::<BTreeSet<String>>();
    diff(
        "frontend",
        &names(old.frontends.iter().map(|f| &f.name).collect()),
        &names(new.frontends.iter().map(|f| &f.name).collect()),
        &mut out,
    );
    let maxconn = |m: Option<u32>| m.map_or("none".to_string(), |m| m.to_string());
    if old.global.maxconn != new.global.maxconn {
        out.push(format!(
            "maxconn {} -> {}",
            maxconn(old.global.maxconn),
            maxconn(new.global.maxconn)
        ));
    }
    if old.global.hard_stop_after != new.global.hard_stop_after {
        out.push("hard-stop-after changed".into());
    }
    for nf in &new.frontends {
        if let Some(of) = old.frontend(&nf.name) {
            if of.maxconn != nf.maxconn {
                out.push(format!(
                    "frontend {} maxconn {} -> {}",
                    nf.name,
                    maxconn(of.maxconn),
                    maxconn(nf.maxconn)
                ));
            }
        }
    }
    diff(
        "backend",
        &names(old.backends.iter().map(|b| &b.name).collect()),
        &names(new.backends.iter().map(|b| &b.name).collect()),
        &mut out,
    );
    let servers = |rt: &Runtime| -> BTreeSet<String> {
        rt.backends
            .iter()
            .flat_map(|b| {
                b.servers
                    .iter()
                    .map(move |s| format!("{}/{}", b.name, s.name))
            })
            .collect()
    };
    diff("server", &servers(old), &servers(new), &mut out);
    for nb in &new.backends {
        let Some(ob) = old.backends.iter().find(|b| b.name == nb.name) else {
            continue;
        };
        for ns in &nb.servers {
            let Some(os) = ob.servers.iter().find(|s| s.name == ns.name) else {
                continue;
            };
            let (ow, nw) = (os.weight, ns.weight);
            if ow != nw {
                out.push(format!(
                    "server {}/{} weight {ow} -> {nw}",
                    nb.name, ns.name
                ));
            }
            if os.addr != ns.addr || os.port != ns.port {
                out.push(format!("server {}/{} address changed", nb.name, ns.name));
            }
        }
    }
    out
}

/// Reloads from `paths`. On success the new Runtime is live.
pub fn reload(paths: &[PathBuf], workers: &mut Workers) -> Result<Summary, ReloadError> {
    let start = Instant::now();
    let (cfg, diags) = crate::check(paths);
    for d in diags.warnings() {
        tracing::warn!("{d}");
    }
    let Some(cfg) = cfg else {
        return Err(ReloadError::Config(config::Diagnostics(
            diags.errors().cloned().collect(),
        )));
    };
    let old = workers.shared.runtime.load_full();
    let new = compile(&cfg, Some(&old))?;
    if new.global.nbthread != old.global.nbthread {
        return Err(ReloadError::NeedsRestart(format!(
            "'nbthread' changed from {} to {}",
            old.global.nbthread, new.global.nbthread
        )));
    }
    // Bound first (a bind error refuses the reload and changes nothing),
    // accepted on only once the new Runtime is stored: a connection to a
    // new frontend never finds it missing.
    let prepared = workers.prepare_listeners(&new)?;
    let mut changes = describe(&old, &new);
    let new = Arc::new(new);
    workers.shared.runtime.store(new.clone());
    crate::runtime::limits::apply(&old, &new);
    let listeners = workers.commit_listeners(prepared);
    for k in &listeners.opened {
        changes.push(format!("listener {} ({}) opened", k.addr, k.frontend));
    }
    for k in &listeners.closed {
        changes.push(format!("listener {} ({}) closed", k.addr, k.frontend));
    }
    tracing::info!(
        elapsed_ms = start.elapsed().as_millis() as u64,
        "reload done"
    );
    Ok(Summary { changes })
}
