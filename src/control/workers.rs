//! Data-plane workers: `nbthread` threads, each with its own current-thread
//! tokio runtime and its own SO_REUSEPORT copy of every listener, so that a
//! connection lives and dies on one core with no cross-thread wake-ups.
//!
//! Listeners are keyed by (frontend, address, bind options). On reload the
//! control thread opens the new ones first (a bind error refuses the reload
//! with nothing changed), then tells each worker to start accepting on them
//! and to stop accepting on the removed ones; connections already accepted
//! are not touched.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::config::model::Bind;
use crate::listen::socket::{self, BindError, DEFAULT_BACKLOG};
use crate::proxy::accept::{accept_loop, Shared};
use crate::runtime::Runtime;

/// Why listeners or workers could not start.
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
    /// An inherited listener (`fd@N`) could not be taken over.
    #[error("frontend '{frontend}': cannot use inherited socket fd@{fd}: {source}")]
    Inherited {
        /// The frontend.
        frontend: String,
        /// The descriptor.
        fd: i32,
        /// Why.
        source: std::io::Error,
    },
    /// A worker thread or its runtime could not be built.
    #[error("cannot start worker thread: {0}")]
    Thread(std::io::Error),
}

/// What identifies a listener across reloads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListenerKey {
    /// The frontend it feeds.
    pub frontend: Arc<str>,
    /// The address.
    pub addr: SocketAddr,
    /// The bind options that shape the socket.
    pub options: String,
    /// An inherited socket (`fd@N`): its descriptor.
    pub fd: Option<i32>,
}

/// The backlog is not among them: a new value is applied to the open
/// socket (listen(2) again), so a `maxconn` change keeps the listener and
/// the connections queued on it.
fn options(b: &Bind) -> String {
    format!(
        "transparent={} interface={:?} v4v6={} v6only={} accept-proxy={}",
        b.transparent, b.interface, b.v4v6, b.v6only, b.accept_proxy
    )
}

/// Every listener a Runtime wants, with what is needed to open it.
pub fn wanted(rt: &Runtime) -> Result<Vec<(ListenerKey, Bind, u32)>, StartError> {
    let handed = handed_down();
    let mut v = Vec::new();
    for fe in &rt.frontends {
        let name: Arc<str> = fe.name.as_str().into();
        for bind in &fe.binds {
            let backlog = bind.backlog.or(fe.maxconn).unwrap_or(DEFAULT_BACKLOG);
            for a in &bind.addresses {
                for addr in a.socket_addrs() {
                    let options = options(bind);
                    // A master's socket for this address is taken over as
                    // it is, so that a reload loses no queued connection.
                    let fd = handed
                        .iter()
                        .find(|(_, a, o)| *a == addr && *o == options)
                        .map(|(fd, _, _)| *fd);
                    let key = ListenerKey {
                        frontend: name.clone(),
                        addr,
                        options,
                        fd,
                    };
                    v.push((key, bind.clone(), backlog));
                }
            }
            for &fd in &bind.fd {
                let err = |source| StartError::Inherited {
                    frontend: fe.name.clone(),
                    fd,
                    source,
                };
                let addr = socket::inherited(fd)
                    .and_then(|l| l.local_addr())
                    .map_err(err)?;
                let key = ListenerKey {
                    frontend: name.clone(),
                    addr,
                    options: options(bind),
                    fd: Some(fd),
                };
                v.push((key, bind.clone(), backlog));
            }
        }
    }
    Ok(v)
}

/// The environment variable by which a master hands its listening sockets
/// to a worker: one `FD<TAB>ADDR<TAB>OPTIONS` line per socket.
pub const HANDED_DOWN_ENV: &str = "FULCRUM_LISTENER_FDS";

/// The sockets a master handed down, if any.
fn handed_down() -> Vec<(i32, SocketAddr, String)> {
    let Ok(text) = std::env::var(HANDED_DOWN_ENV) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            let fd = f.next()?.parse().ok()?;
            let addr = f.next()?.parse().ok()?;
            Some((fd, addr, f.next()?.to_string()))
        })
        .collect()
}

/// The line of [`HANDED_DOWN_ENV`] for one socket.
pub fn handed_down_line(fd: i32, key: &ListenerKey) -> String {
    format!("{fd}\t{}\t{}", key.addr, key.options)
}

/// A listener opened for one worker: its key, its socket, and whether it
/// expects a PROXY protocol header.
type Opened = (ListenerKey, std::net::TcpListener, bool);

enum Cmd {
    Open(Vec<Opened>),
    /// Close these; then answer on the channel, if any.
    Close(Vec<ListenerKey>, Option<mpsc::Sender<()>>),
    /// Set the backlog of these open listeners.
    Backlog(Vec<(ListenerKey, u32)>),
}

/// Running workers.
#[derive(Debug)]
pub struct Workers {
    /// What the workers share (the Runtime swap point among it).
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    senders: Vec<UnboundedSender<Cmd>>,
    /// The open listeners and their backlog.
    open: HashMap<ListenerKey, u32>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Open(v) => write!(f, "Open({})", v.len()),
            Cmd::Close(v, _) => write!(f, "Close({})", v.len()),
            Cmd::Backlog(v) => write!(f, "Backlog({})", v.len()),
        }
    }
}

/// Opens one copy per worker of each listener; all or nothing.
fn open_copies(
    items: &[(ListenerKey, Bind, u32)],
    workers: usize,
) -> Result<Vec<Vec<Opened>>, StartError> {
    let mut per_worker: Vec<Vec<_>> = (0..workers).map(|_| Vec::new()).collect();
    for (key, bind, backlog) in items {
        for copies in per_worker.iter_mut() {
            let l = match key.fd {
                // An inherited socket: every worker accepts on a copy.
                Some(fd) => socket::inherited(fd).map_err(|source| StartError::Inherited {
                    frontend: key.frontend.to_string(),
                    fd,
                    source,
                })?,
                None => {
                    socket::open(key.addr, bind, *backlog).map_err(|source| StartError::Bind {
                        frontend: key.frontend.to_string(),
                        source,
                    })?
                }
            };
            copies.push((key.clone(), l, bind.accept_proxy));
        }
    }
    Ok(per_worker)
}

/// Opens every listener of `rt` once per worker and starts the workers.
/// Returns once every worker accepts, or with the first error.
pub fn start(rt: Runtime) -> Result<Workers, StartError> {
    let nbthread = rt.global.nbthread.max(1);
    let items = wanted(&rt)?;
    // Bind every copy first: a bind error stops the start before any worker
    // runs, with the address and the reason.
    let per_worker = open_copies(&items, nbthread)?;
    for (key, _, _) in &items {
        tracing::info!(frontend = %key.frontend, addr = %key.addr, workers = nbthread, "listening");
    }
    let shared = Arc::new(Shared {
        runtime: ArcSwap::from_pointee(rt),
        active: AtomicU64::new(0),
    });
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut threads = Vec::new();
    let mut senders = Vec::new();
    for (i, listeners) in per_worker.into_iter().enumerate() {
        let shared = shared.clone();
        let ready = ready_tx.clone();
        let (tx, mut rx) = unbounded_channel::<Cmd>();
        // The first command is the initial listener set.
        let _ = tx.send(Cmd::Open(listeners));
        senders.push(tx);
        let t = std::thread::Builder::new()
            .name(format!("fulcrum-worker-{i}"))
            .spawn(move || {
                crate::state::latency::set_worker(i);
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(StartError::Thread(e)));
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    tokio::task::spawn_local(timer_floor());
                    // Each accept task, with a second descriptor of its
                    // socket for listen(2); both go when it is closed.
                    let mut accepting: HashMap<ListenerKey, (tokio::task::JoinHandle<()>, Option<std::net::TcpListener>)> = HashMap::new();
                    let mut first = true;
                    while let Some(cmd) = rx.recv().await {
                        match cmd {
                            Cmd::Open(ls) => {
                                for (key, l, accept_proxy) in ls {
                                    let again = l.try_clone().ok();
                                    match tokio::net::TcpListener::from_std(l) {
                                        Ok(l) => {
                                            let h = tokio::task::spawn_local(accept_loop(
                                                l,
                                                key.frontend.clone(),
                                                shared.clone(),
                                                accept_proxy,
                                            ));
                                            if let Some((old, _)) = accepting.insert(key, (h, again)) {
                                                old.abort();
                                            }
                                        }
                                        Err(e) => tracing::error!(addr = %key.addr, error = %e, "cannot register listener"),
                                    }
                                }
                                if first {
                                    first = false;
                                    let _ = ready.send(Ok(()));
                                }
                            }
                            Cmd::Close(keys, ack) => {
                                // Aborting the accept task drops (closes) its
                                // socket once the task is polled; yield so
                                // that happens before we acknowledge.
                                for k in keys {
                                    if let Some((h, _)) = accepting.remove(&k) {
                                        h.abort();
                                        let _ = h.await;
                                    }
                                }
                                if let Some(ack) = ack {
                                    let _ = ack.send(());
                                }
                            }
                            Cmd::Backlog(v) => {
                                for (k, n) in v {
                                    let Some((_, Some(l))) = accepting.get(&k) else { continue };
                                    let n = i32::try_from(n).unwrap_or(i32::MAX);
                                    if let Err(e) = socket2::SockRef::from(l).listen(n) {
                                        tracing::warn!(addr = %k.addr, error = %e, "cannot change the backlog");
                                    }
                                }
                            }
                        }
                    }
                    // The control thread is gone: keep serving what is open.
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
    let open = items.into_iter().map(|(k, _, b)| (k, b)).collect();
    Ok(Workers {
        shared,
        threads,
        senders,
        open,
    })
}

/// Listeners bound for a reload, not accepted on yet.
pub struct PreparedListeners {
    per_worker: Vec<Vec<Opened>>,
    keys: HashMap<ListenerKey, u32>,
    backlogs: Vec<(ListenerKey, u32)>,
    changes: ListenerChanges,
}

/// What a listener update did.
#[derive(Debug, Default, Clone)]
pub struct ListenerChanges {
    /// Listeners opened.
    pub opened: Vec<ListenerKey>,
    /// Listeners closed.
    pub closed: Vec<ListenerKey>,
}

impl Workers {
    /// Waits for the worker threads (they run until the process exits).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Binds the listeners `rt` adds (all or nothing) without accepting on
    /// them yet, and lists the ones it drops. Nothing changes for the
    /// workers until [`Workers::commit_listeners`].
    pub fn prepare_listeners(&self, rt: &Runtime) -> Result<PreparedListeners, StartError> {
        let items = wanted(rt)?;
        let keys: HashMap<ListenerKey, u32> =
            items.iter().map(|(k, _, b)| (k.clone(), *b)).collect();
        let new: Vec<(ListenerKey, Bind, u32)> = items
            .into_iter()
            .filter(|(k, _, _)| !self.open.contains_key(k))
            .collect();
        let per_worker = open_copies(&new, self.senders.len())?;
        let closed: Vec<ListenerKey> = self
            .open
            .keys()
            .filter(|k| !keys.contains_key(*k))
            .cloned()
            .collect();
        let backlogs: Vec<(ListenerKey, u32)> = keys
            .iter()
            .filter(|(k, b)| self.open.get(*k).is_some_and(|old| old != *b))
            .map(|(k, b)| (k.clone(), *b))
            .collect();
        let opened: Vec<ListenerKey> = new.into_iter().map(|(k, _, _)| k).collect();
        Ok(PreparedListeners {
            per_worker,
            keys,
            backlogs,
            changes: ListenerChanges { opened, closed },
        })
    }

    /// The workers start accepting on the prepared listeners and close
    /// the dropped ones. Called once the Runtime that knows their
    /// frontends is stored, so that no connection finds none.
    pub fn commit_listeners(&mut self, p: PreparedListeners) -> ListenerChanges {
        for (tx, ls) in self.senders.iter().zip(p.per_worker) {
            let _ = tx.send(Cmd::Open(ls));
            let _ = tx.send(Cmd::Close(p.changes.closed.clone(), None));
            let _ = tx.send(Cmd::Backlog(p.backlogs.clone()));
        }
        self.open = p.keys;
        p.changes
    }

    /// Stops accepting everywhere (soft stop); open connections go on.
    /// Returns once every worker has closed its listeners (1 s at most each).
    pub fn stop_accepting(&mut self) {
        let all: Vec<ListenerKey> = self.open.drain().map(|(k, _)| k).collect();
        let (tx_ack, rx_ack) = mpsc::channel();
        for tx in &self.senders {
            let _ = tx.send(Cmd::Close(all.clone(), Some(tx_ack.clone())));
        }
        for _ in &self.senders {
            let _ = rx_ack.recv_timeout(std::time::Duration::from_secs(1));
        }
    }
}

/// Keeps a timer due within [`TIMER_FLOOR`] armed in the worker, always.
///
/// tokio wakes its own driver (a write to its eventfd) whenever a timer is
/// set that is due before the driver's planned wake-up, even from the
/// worker's own thread where the driver is not asleep. With no timer
/// armed, every new one is such a timer: in a close-per-request load
/// each response wait (`timeout server`) cost one write(2), about one
/// system call in thirteen per request (strace -c). With this floor
/// armed, only timers due sooner than it (sub-second timeouts) do; the
/// price is one wake-up per second per worker.
async fn timer_floor() {
    loop {
        tokio::time::sleep(TIMER_FLOOR).await;
    }
}

/// See [`timer_floor`].
const TIMER_FLOOR: std::time::Duration = std::time::Duration::from_secs(1);
