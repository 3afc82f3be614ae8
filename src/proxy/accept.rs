//! Accepting connections the way HAProxy does: a `maxconn` slot (global and
//! frontend) is taken *before* `accept()`, so excess connections wait in the
//! kernel's backlog; an out-of-descriptors error backs off instead of spinning.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::config::model::Mode;
use crate::runtime::Runtime;

/// What every worker shares: the Runtime swap point and the process limits.
#[derive(Debug)]
pub struct Shared {
    /// The one swap point.
    pub runtime: ArcSwap<Runtime>,
    /// Global `maxconn`.
    pub global_limit: Option<Arc<Semaphore>>,
    /// Each frontend's `maxconn`, by frontend index.
    pub frontend_limits: Vec<Option<Arc<Semaphore>>>,
}

async fn slot(limit: &Option<Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    match limit {
        Some(s) => s.clone().acquire_owned().await.ok(),
        None => None,
    }
}

/// Accepts on `listener` for frontend `fe` until the task is dropped.
pub async fn accept_loop(listener: TcpListener, fe: usize, shared: Arc<Shared>) {
    loop {
        let global = slot(&shared.global_limit).await;
        let local = slot(shared.frontend_limits.get(fe).unwrap_or(&None)).await;
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS: wait for descriptors to be freed.
                tracing::warn!(error = %e, "accept failed; pausing");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::task::spawn_local(async move {
            session(sock, peer, fe, &shared).await;
            drop((global, local));
        });
    }
}

async fn session(sock: TcpStream, peer: SocketAddr, fe_index: usize, shared: &Shared) {
    let _ = sock.set_nodelay(true);
    let rt = shared.runtime.load_full();
    let Some(fe) = rt.frontends.get(fe_index) else {
        return;
    };
    fe.counters.cur_sessions.fetch_add(1, Relaxed);
    fe.counters.total_sessions.fetch_add(1, Relaxed);
    let span = tracing::debug_span!("session", frontend = %fe.name, client = %peer);
    async {
        match fe.mode {
            Mode::Tcp => match fe
                .choose_backend(peer.ip())
                .and_then(|b| rt.backends.get(b))
            {
                Some(be) => super::tcp::serve(sock, peer, fe, be.clone()).await,
                None => tracing::info!("no backend for this session: closing"),
            },
            Mode::Http => super::http::serve(sock, peer, fe, &rt).await,
        }
    }
    .instrument(span)
    .await;
    fe.counters.cur_sessions.fetch_sub(1, Relaxed);
}
