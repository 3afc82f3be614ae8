//! The control plane: the workers, health checks, signals and reloads. It
//! talks to the workers only through the Runtime swap point, the servers'
//! live state, and the listener commands.
//!
//! Signals, as HAProxy's: SIGHUP reloads; SIGUSR1 stops softly (no new
//! connections, the open ones finish, then exit); SIGTERM and SIGINT stop
//! accepting and wait for open connections at most `hard-stop-after`
//! (not at all when it is unset).

pub mod cli;
pub mod cmdline;
pub mod master;
pub mod probe;
pub mod reload;
pub mod workers;

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use self::workers::Workers;

/// Why the control thread returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM.
    Terminate,
    /// SIGINT.
    Interrupt,
    /// SIGUSR1, once every connection had finished.
    Soft,
}

/// Runs the control thread until a stop signal has been handled. `paths`
/// are the configuration files, read again on SIGHUP. The Runtime in force
/// when the stop comes says how long it waits for open connections
/// (`hard-stop-after`).
pub fn run(mut workers: Workers, paths: Vec<PathBuf>) -> std::io::Result<Stop> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut usr1 = signal(SignalKind::user_defined1())?;
        let mut checks = crate::health::Checks::default();
        checks.reconcile(&workers.shared);
        let mut dns = crate::resolve::Resolvers::default();
        dns.reconcile(&workers.shared);
        let mut peers = crate::peers::Peers::default();
        peers.reconcile(&workers.shared);
        // A stats socket that cannot be opened stops the start, as in
        // HAProxy; on reload it is logged and the others keep serving.
        let mut cli = cli::Sockets::default();
        cli.reconcile(&workers.shared)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        // Only now are the signals ours (before, SIGHUP or SIGUSR1 would
        // kill the process): this is the line that says we are ready.
        tracing::info!(pid = std::process::id(), "fulcrum started");
        let mut retired = Retired::default();
        let mut sweep = tokio::time::interval(std::time::Duration::from_secs(1));
        let stop = loop {
            tokio::select! {
                _ = sweep.tick() => retired.sweep(),
                _ = term.recv() => break Stop::Terminate,
                _ = int.recv() => break Stop::Interrupt,
                _ = usr1.recv() => break Stop::Soft,
                _ = hup.recv() => {
                    match reload::reload(&paths, &mut workers) {
                        Ok(mut summary) => {
                            retired.keep(summary.replaced.take());
                            checks.reconcile(&workers.shared);
                            dns.reconcile(&workers.shared);
                            peers.reconcile(&workers.shared);
                            match cli.reconcile(&workers.shared) {
                                Ok(changes) => summary.changes.extend(changes),
                                Err(e) => tracing::error!("{e}"),
                            }
                            let line = if summary.changes.is_empty() {
                                "reloaded: nothing changed".to_string()
                            } else {
                                format!("reloaded: {}", summary.changes.join("; "))
                            };
                            tracing::info!("{line}");
                            // To the global log targets too, at notice.
                            let targets = &workers.shared.runtime.load().global.log_targets;
                            crate::log::syslog::send_at(targets, 5, &line);
                        }
                        Err(reload::ReloadError::Config(d)) => {
                            // One line per problem, file:line first, then the verdict.
                            for e in d.errors() {
                                tracing::error!("{e}");
                            }
                            tracing::error!("reload refused, the previous configuration keeps running");
                        }
                        Err(e) => tracing::error!("reload refused, the previous configuration keeps running: {e}"),
                    }
                }
            }
        };
        workers.stop_accepting();
        // Peer sessions and their listener go now: a new process (a
        // master's next worker) takes the peers' connections.
        drop(peers);
        let hard_stop_after = workers.shared.runtime.load().global.hard_stop_after;
        let wait = match stop {
            Stop::Soft => hard_stop_after,
            _ => Some(hard_stop_after.unwrap_or(Duration::ZERO)),
        };
        let started = Instant::now();
        tracing::info!(signal = ?stop, active = workers.shared.active.load(Relaxed), "stopping: no new connections");
        while workers.shared.active.load(Relaxed) > 0 {
            if wait.is_some_and(|w| started.elapsed() >= w) {
                tracing::warn!(active = workers.shared.active.load(Relaxed), "hard-stop-after reached: closing the remaining connections");
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(stop)
    })
}

/// Runtimes a reload replaced, kept by the control thread until no
/// worker holds one any more. Dropping a large Runtime (10,000 servers)
/// takes milliseconds; without this, whichever worker let go of it last
/// paid that in the middle of a request.
#[derive(Default)]
struct Retired(Vec<std::sync::Arc<crate::runtime::Runtime>>);

impl Retired {
    fn keep(&mut self, rt: Option<std::sync::Arc<crate::runtime::Runtime>>) {
        self.sweep();
        self.0.extend(rt);
    }

    /// Drops, here, those only this list still holds.
    fn sweep(&mut self) {
        self.0.retain(|r| std::sync::Arc::strong_count(r) > 1);
    }
}
