//! Data-plane workers: `nbthread` threads, each with its own current-thread
//! tokio runtime and its own SO_REUSEPORT copy of every listener, so that a
//! connection lives and dies on one core with no cross-thread wake-ups.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use tokio::sync::Semaphore;

use crate::listen::socket::{self, BindError, DEFAULT_BACKLOG};
use crate::proxy::accept::{accept_loop, Shared};
use crate::runtime::Runtime;

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be opened.
    #[error("frontend '{frontend}': {source}")]
    Bind {
        /// The frontend.
        frontend: String,
        /// The bind failure.
        source: BindError,
    },
    /// The runtime of a worker could not be built.
    #[error("cannot start worker thread: {0}")]
    Thread(std::io::Error),
}

/// Running workers.
#[derive(Debug)]
pub struct Workers {
    /// What the workers share (the Runtime swap point among it).
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Waits for the worker threads (they run until the process exits).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Opens every listener of `rt` once per worker and starts the workers.
/// Returns once every worker listens, or with the first error.
pub fn start(rt: Runtime) -> Result<Workers, StartError> {
    let nbthread = rt.global.nbthread.max(1);
    let shared = Arc::new(Shared {
        global_limit: rt
            .global
            .maxconn
            .map(|m| Arc::new(Semaphore::new(m as usize))),
        frontend_limits: rt
            .frontends
            .iter()
            .map(|f| f.maxconn.map(|m| Arc::new(Semaphore::new(m as usize))))
            .collect(),
        runtime: ArcSwap::from_pointee(rt),
    });
    // Bind every copy on this thread first: a bind error stops the start
    // before any worker runs, with the address and the reason.
    let rt = shared.runtime.load_full();
    let mut per_worker: Vec<Vec<(std::net::TcpListener, usize)>> =
        (0..nbthread).map(|_| Vec::new()).collect();
    for (fi, fe) in rt.frontends.iter().enumerate() {
        for bind in &fe.binds {
            let backlog = bind.backlog.or(fe.maxconn).unwrap_or(DEFAULT_BACKLOG);
            for addr in bind
                .addresses
                .iter()
                .flat_map(|a| a.socket_addrs().collect::<Vec<_>>())
            {
                for listeners in per_worker.iter_mut() {
                    let l =
                        socket::open(addr, bind, backlog).map_err(|source| StartError::Bind {
                            frontend: fe.name.clone(),
                            source,
                        })?;
                    listeners.push((l, fi));
                }
                tracing::info!(frontend = %fe.name, %addr, workers = nbthread, "listening");
            }
        }
    }
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut threads = Vec::new();
    for (i, listeners) in per_worker.into_iter().enumerate() {
        let shared = shared.clone();
        let ready = ready_tx.clone();
        let t = std::thread::Builder::new()
            .name(format!("fulcrum-worker-{i}"))
            .spawn(move || {
                crate::state::latency::set_worker(i);
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(StartError::Thread(e)));
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    let mut ok = true;
                    for (l, fe) in listeners {
                        match tokio::net::TcpListener::from_std(l) {
                            Ok(l) => {
                                tokio::task::spawn_local(accept_loop(l, fe, shared.clone()));
                            }
                            Err(e) => {
                                ok = false;
                                let _ = ready.send(Err(StartError::Thread(e)));
                            }
                        }
                    }
                    if ok {
                        let _ = ready.send(Ok(()));
                    }
                    std::future::pending::<()>().await;
                });
            })
            .map_err(StartError::Thread)?;
        threads.push(t);
    }
    drop(ready_tx);
    for _ in 0..nbthread {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(StartError::Thread(std::io::ErrorKind::BrokenPipe.into())),
        }
    }
    Ok(Workers { shared, threads })
}
