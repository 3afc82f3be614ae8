//! Accepting connections the way HAProxy does: a `maxconn` slot (global and
//! frontend) is taken *before* `accept()`, so excess connections wait in the
//! kernel's backlog; an out-of-descriptors error backs off instead of spinning.
//!
//! A listener knows its frontend by name, not by index, so that a reload
//! that adds or removes other frontends does not disturb it: each accepted
//! connection looks its frontend up in the Runtime current at that moment.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use crate::config::model::Mode;
use crate::proxy::stream::Stream;
use crate::rules::facts::ConnFacts;
use crate::rules::tcp::TcpVerdict;
pub use crate::runtime::Shared;

async fn slot(limit: Option<Arc<crate::state::Limit>>) -> Option<OwnedSemaphorePermit> {
    match limit {
        Some(l) => l.semaphore().clone().acquire_owned().await.ok(),
        None => None,
    }
}

/// Accepts on `listener` for the frontend named `frontend` until the task
/// is aborted (which closes the listening socket). With `accept_proxy`, each
/// connection starts with a PROXY protocol header naming the real client.
pub async fn accept_loop(
    listener: TcpListener,
    frontend: Arc<str>,
    shared: Arc<Shared>,
    accept_proxy: bool,
) {
    let fixed_local = fixed_local(&listener);
    // Linux copies TCP_NODELAY from the listening socket to each accepted
    // one: set once here, it spares a setsockopt(2) per connection.
    let nodelay_inherited = socket2::SockRef::from(&listener)
        .set_tcp_nodelay(true)
        .is_ok();
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS: wait for descriptors to be freed.
                tracing::warn!(error = %e, "accept failed; pausing");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // The slots are taken after the accept, not before: each worker
        // has its own listening socket (SO_REUSEPORT), and a loop that sat
        // on a slot while waiting for a connection the kernel gave to
        // another worker's socket would starve that one. At `maxconn`,
        // each loop holds one accepted connection until a slot frees; the
        // rest wait in the kernel's backlog. The limits are those of the
        // Runtime in force now, so a reload's values apply at once.
        let (global, limit) = {
            let rt = shared.runtime.load();
            let fe = rt.frontend(&frontend).and_then(|f| f.limit.clone());
            (rt.global.limit.clone(), fe)
        };
        let global = slot(global).await;
        let local = slot(limit).await;
        // `disable frontend`: the connection accepted while waiting waits
        // too (the others stay in the backlog) until `enable frontend`.
        paused(&shared, &frontend).await;
        shared.active.fetch_add(1, Relaxed);
        let life = Life {
            shared: shared.clone(),
            frontend: None,
            _slots: (global, local),
        };
        let incoming = Incoming {
            sock,
            peer,
            fixed_local,
            nodelay_inherited,
        };
        tokio::task::spawn_local(session(incoming, frontend.clone(), life, accept_proxy));
    }
}

/// The address every connection on `listener` reached, when nothing else
/// is possible: bound to one address, and not `transparent` (connections
/// to a wildcard or transparent listener may have reached any address).
/// It spares a getsockname(2) per connection.
fn fixed_local(listener: &TcpListener) -> Option<SocketAddr> {
    let addr = listener.local_addr().ok()?;
    if addr.ip().is_unspecified() {
        return None;
    }
    let sock = socket2::SockRef::from(listener);
    let transparent = match addr {
        SocketAddr::V4(_) => sock.ip_transparent_v4(),
        SocketAddr::V6(_) => sock.ip_transparent_v6(),
    };
    match transparent {
        Ok(false) => Some(addr),
        _ => None,
    }
}

/// A connection just accepted, and what its listener settles for it: its
/// address when that is the connection's own (see [`fixed_local`]), and
/// TCP_NODELAY when the listener has it.
struct Incoming {
    sock: TcpStream,
    peer: SocketAddr,
    fixed_local: Option<SocketAddr>,
    nodelay_inherited: bool,
}

/// What a session holds for as long as its client connection is open: its
/// `maxconn` slots and its place in the counts (`CurrConns`, the
/// frontend's current sessions). An idle HTTP connection moves from task
/// to task (see `http::idle`), so these go with the connection and are
/// given back when it is dropped, in whichever task that happens.
pub struct Life {
    shared: Arc<Shared>,
    /// The frontend counting it, once it is a session (after the PROXY
    /// header).
    frontend: Option<Arc<crate::state::ProxyCounters>>,
    _slots: (Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>),
}

impl Life {
    /// The process's shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Counts the connection as a session of the frontend.
    fn count_in(&mut self, counters: &Arc<crate::state::ProxyCounters>) {
        counters.cur_sessions.fetch_add(1, Relaxed);
        counters.total_sessions.fetch_add(1, Relaxed);
        self.frontend = Some(counters.clone());
    }
}

impl Drop for Life {
    fn drop(&mut self) {
        if let Some(c) = &self.frontend {
            c.cur_sessions.fetch_sub(1, Relaxed);
        }
        self.shared.active.fetch_sub(1, Relaxed);
        // The slots go after this, freeing room for a waiting accept.
    }
}

/// What a session knows of its client connection once it is accepted:
/// HAProxy's `origin` and accept date, and the connection's facts.
pub struct Origin {
    /// The client (after the PROXY header, if any).
    pub peer: SocketAddr,
    /// The address it reached (after the PROXY header, if any).
    pub local: SocketAddr,
    /// When it was accepted, and its handshake.
    pub accepted: super::http::access::Accepted,
    /// TLS and PROXY TLVs.
    pub conn: ConnFacts,
    /// The `sess.*` variables its requests set, for the next ones.
    /// Boxed and made on first use: most connections set none, and an
    /// idle one should not carry the room.
    pub session_vars: SessionVars,
}

/// A connection's `sess.*` variables, made when the first one is set.
pub type SessionVars = std::cell::RefCell<Option<Box<crate::rules::facts::Vars>>>;

/// Waits while the frontend is paused (`disable frontend`). The wake-up
/// comes from `enable frontend`; the periodic look covers a wake-up sent
/// just before this waiter registered.
async fn paused(shared: &Shared, frontend: &str) {
    loop {
        let counters = match shared.runtime.load().frontend(frontend) {
            Some(f) => f.counters.clone(),
            None => return,
        };
        if !counters.paused.load(Relaxed) {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), counters.resumed.notified()).await;
    }
}

async fn session(incoming: Incoming, frontend: Arc<str>, mut life: Life, accept_proxy: bool) {
    let Incoming {
        mut sock,
        mut peer,
        fixed_local,
        nodelay_inherited,
    } = incoming;
    if !nodelay_inherited {
        let _ = sock.set_nodelay(true);
    }
    // The Runtime current at accept: a TCP session finishes on it, an HTTP
    // one takes the newest at each request (see proxy::http).
    let rt = life.shared.runtime.load_full();
    let Some(fe) = rt.frontend(&frontend) else {
        return;
    };
    if fe.client_keepalive {
        let _ = socket2::SockRef::from(&sock).set_keepalive(true);
    }
    let Some(mut local) = fixed_local.or_else(|| sock.local_addr().ok()) else {
        return;
    };
    // The bind the connection came in on (a PROXY header may change `local`).
    let bound = local;
    let mut proxy_tlvs = None;
    if accept_proxy {
        match super::proxyproto::read(&mut sock, fe.timeout_client).await {
            Ok(got) => {
                if let Some((src, dst)) = got.addrs {
                    peer = src;
                    local = dst;
                }
                proxy_tlvs = got.tlvs;
            }
            Err(e) => {
                tracing::info!(frontend = %fe.name, client = %peer, error = %e, "connection refused");
                fe.counters.request_errors.fetch_add(1, Relaxed);
                return;
            }
        }
    }
    life.count_in(&fe.counters);
    let span = tracing::debug_span!("session", frontend = %fe.name, client = %peer);
    // Stick-table entries this connection tracks: released (and their
    // `conn_cur` decremented) when the session ends.
    let slots = crate::state::stick::Slots::default();
    let mut accepted = super::http::access::Accepted::now();
    async {
        if super::inspect::connection_rules(fe, &rt, peer, local, &slots) == TcpVerdict::Reject {
            fe.counters.denied_conn.fetch_add(1, Relaxed);
            tracing::debug!("rejected by tcp-request connection");
            return;
        }
        // In mode tcp the session starts here (HTTP: at its first request).
        if fe.mode == Mode::Tcp {
            super::accesslog::connect_line(fe, peer, local);
        }
        let sock: Stream = match fe.tls_for(bound) {
            None => sock.into(),
            // Boxed: the handshake's state is large and only TLS
            // connections should pay for it in their task.
            Some(tls) => match Box::pin(handshake(sock, tls, fe.timeout_client)).await {
                Ok(s) => {
                    fe.counters.tls_handshakes.fetch_add(1, Relaxed);
                    accepted.handshake = accepted.at.elapsed();
                    s
                }
                Err(e) => {
                    fe.counters.tls_failures.fetch_add(1, Relaxed);
                    tracing::info!(error = %e, "TLS handshake failed");
                    return;
                }
            },
        };
        let origin = Origin {
            peer,
            local,
            accepted,
            conn: ConnFacts {
                tls: sock.tls_facts().map(Box::new),
                proxy_tlvs,
            },
            session_vars: Default::default(),
        };
        match fe.mode {
            // Boxed, so that the (larger) TCP pump and inspection state do
            // not size every HTTP connection's task too.
            // A task of its own, sized for a TCP session: this one, sized
            // for HTTP's states too, ends.
            Mode::Tcp => {
                let task = tcp_task(sock, origin, frontend.clone(), rt.clone(), slots, life);
                tokio::task::spawn_local(task.instrument(tracing::Span::current()));
            }
            Mode::Http => {
                let client = super::http::Client::new(sock, origin, frontend.clone(), slots, life);
                super::http::serve(client).await
            }
        }
    }
    .instrument(span)
    .await;
}

/// A `mode tcp` session in a task of its own, owning what it needs.
/// Written as a block rather than an `async fn`, whose arguments the
/// compiler would keep twice in the task.
#[allow(clippy::manual_async_fn)] // see above
fn tcp_task(
    sock: Stream,
    origin: Origin,
    frontend: Arc<str>,
    rt: Arc<crate::runtime::Runtime>,
    slots: crate::state::stick::Slots,
    life: Life,
) -> impl std::future::Future<Output = ()> {
    async move {
        if let Some(fe) = rt.frontend(&frontend) {
            super::inspect::tcp_session(sock, &origin, fe, &rt, &slots).await;
        }
        // The session's slots and counts go once it is over.
        drop(life);
    }
}

/// The server side of a TLS handshake (`bind ... ssl`), within the
/// client timeout (10 s when there is none).
async fn handshake(
    sock: TcpStream,
    tls: &crate::tls::Terminator,
    timeout: Option<Duration>,
) -> std::io::Result<Stream> {
    let accept = tls.accept(sock);
    match tokio::time::timeout(timeout.unwrap_or(Duration::from_secs(10)), accept).await {
        Ok(Ok(tls)) => Ok(Stream::TlsServer(Box::new(tls))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}
