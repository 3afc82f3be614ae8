//! `tcp-request` rules on the data path: `connection` rules at accept, and
//! `content` rules over the first bytes of a `mode tcp` session, read for
//! at most `tcp-request inspect-delay`, before the backend is chosen (so
//! that `use_backend` can route on `req.ssl_sni`). The bytes read go to the
//! server first.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use crate::proxy::stream::Stream;
use tokio::time::Instant;

use crate::rules::action::Env;
use crate::rules::facts::{Facts, Vars};
use crate::rules::stick;
use crate::rules::tcp::{self, TcpVerdict};
use crate::runtime::{Frontend, Runtime};
use crate::state::stick::{Slots, Tracked};

/// The most bytes content inspection reads (HAProxy: one buffer).
const MAX_INSPECT: usize = 16 * 1024;

fn env<'a>(
    fe: &'a Frontend,
    rt: &'a Runtime,
    peer: SocketAddr,
    local: SocketAddr,
    slots: &'a Slots,
    conn: &'a crate::rules::facts::ConnFacts,
) -> Env<'a> {
    Env {
        src: peer,
        dst: local,
        frontend: &fe.name,
        backend: None,
        server: None,
        req_body_len: None,
        world: rt,
        conn,
        stream: None,
        unique_id_format: None,
        tracked: Tracked {
            session: Some(slots),
            stream: None,
        },
    }
}

fn facts<'a>(env: &'a Env, vars: &'a Vars, payload: &'a [u8], last: bool) -> Facts<'a> {
    let mut f = env.facts(None, None, vars);
    f.payload = payload;
    f.payload_final = last;
    f
}

/// `tcp-request connection` rules of `fe`.
pub fn connection_rules(
    fe: &Frontend,
    rt: &Runtime,
    peer: SocketAddr,
    local: SocketAddr,
    slots: &Slots,
) -> TcpVerdict {
    if fe.rules.tcp_connection.is_empty() {
        return TcpVerdict::Accept;
    }
    let conn = crate::rules::facts::ConnFacts::none();
    let (env, vars) = (env(fe, rt, peer, local, slots, conn), Vars::default());
    match tcp::run(&fe.rules.tcp_connection, &facts(&env, &vars, &[], true)) {
        TcpVerdict::Wait => TcpVerdict::Accept,
        v => v,
    }
}

/// A `mode tcp` session: content inspection when rules need it, backend
/// choice, then the pump. Written as a block rather than an `async fn`,
/// whose arguments the compiler would keep twice in the session's task.
#[allow(clippy::manual_async_fn)] // see above
pub fn tcp_session<'a>(
    mut sock: Stream,
    origin: &'a super::accept::Origin,
    fe: &'a Frontend,
    rt: &'a Runtime,
    slots: &'a Slots,
) -> impl std::future::Future<Output = ()> + 'a {
    async move {
        let inspect = !fe.rules.tcp_content.is_empty() || fe.rules.routes_on_payload;
        // Boxed: the inspection's state is freed before the session's
        // long wait in the pump.
        let payload = if inspect {
            match Box::pin(inspect_payload(&mut sock, origin, fe, rt, slots)).await {
                Some(p) => p,
                None => return,
            }
        } else {
            Vec::new()
        };
        let Some((be, stuck)) = choose(origin, fe, rt, slots, &payload) else {
            return;
        };
        super::tcp::serve(sock, origin, fe, be, payload, stuck).await;
    }
}

/// `tcp-request content` rules over the first bytes, read for at most
/// `tcp-request inspect-delay`: the bytes read, or None when the rules
/// rejected the session.
async fn inspect_payload(
    sock: &mut Stream,
    origin: &super::accept::Origin,
    fe: &Frontend,
    rt: &Runtime,
    slots: &Slots,
) -> Option<Vec<u8>> {
    let env = env(fe, rt, origin.peer, origin.local, slots, &origin.conn);
    let vars = Vars::default();
    let mut payload = Vec::new();
    let deadline = fe.rules.inspect_delay.map(|d| Instant::now() + d);
    let mut last = deadline.is_none();
    loop {
        match tcp::run(&fe.rules.tcp_content, &facts(&env, &vars, &payload, last)) {
            TcpVerdict::Reject => {
                fe.counters.denied_conn.fetch_add(1, Relaxed);
                tracing::debug!("rejected by tcp-request content");
                return None;
            }
            TcpVerdict::Accept if !fe.rules.routes_on_payload || last => break,
            // Routing reads the payload too: keep reading until it is
            // whole or the delay ends.
            TcpVerdict::Accept if routing_settled(fe, &env, &vars, &payload) => break,
            _ if last => break,
            _ => {}
        }
        last = !read_more(sock, &mut payload, deadline).await;
    }
    Some(payload)
}

/// The backend for the session (`use_backend` over the connection and
/// `payload`), its own content rules, and what `stick` rules decided;
/// None closes the session.
fn choose(
    origin: &super::accept::Origin,
    fe: &Frontend,
    rt: &Runtime,
    slots: &Slots,
    payload: &[u8],
) -> Option<(std::sync::Arc<crate::runtime::Backend>, super::tcp::Stuck)> {
    let env = env(fe, rt, origin.peer, origin.local, slots, &origin.conn);
    let vars = Vars::default();
    let f = facts(&env, &vars, payload, true);
    let Some(be) = fe.choose_backend(&f).and_then(|b| rt.backends.get(b)) else {
        tracing::info!("no backend for this session: closing");
        return None;
    };
    // A separate backend's own content rules see the same bytes.
    if !std::sync::Arc::ptr_eq(&fe.rules, &be.rules)
        && tcp::run(&be.rules.tcp_content, &f) == TcpVerdict::Reject
    {
        be.counters.denied_conn.fetch_add(1, Relaxed);
        return None;
    }
    // `stick` rules: a known client goes back to its server; a new one
    // is recorded once it has one.
    let (forced, to_store) = if be.rules.stick.is_empty() {
        (None, Vec::new())
    } else {
        let usable = |s: usize| be.servers.get(s).is_some_and(|s| s.state.usable());
        (
            stick::matched_server(&be.rules.stick, &f, &usable),
            stick::to_store(&be.rules.stick, &f),
        )
    };
    Some((be.clone(), super::tcp::Stuck { forced, to_store }))
}

/// Whether the `use_backend` conditions can be decided on what has arrived.
fn routing_settled(fe: &Frontend, env: &Env, vars: &Vars, payload: &[u8]) -> bool {
    let f = facts(env, vars, payload, false);
    for (c, _) in &fe.rules.use_backend {
        let Some(c) = c else { return true };
        f.missing.set(false);
        let holds = c.holds(&f);
        if f.missing.get() {
            return false;
        }
        if holds {
            return true;
        }
    }
    true
}

/// Reads more bytes before `deadline`; false when no more will come (the
/// delay ended, the client closed, or the buffer is full).
async fn read_more(sock: &mut Stream, payload: &mut Vec<u8>, deadline: Option<Instant>) -> bool {
    if payload.len() >= MAX_INSPECT {
        return false;
    }
    let Some(deadline) = deadline else {
        return false;
    };
    // Straight into the payload's spare room: a chunk array here would be
    // held across the wait and size the task of every `mode tcp` session
    // for its whole life (the future is part of it).
    let room = (MAX_INSPECT - payload.len()).min(4096);
    payload.reserve(room);
    matches!(
        tokio::time::timeout_at(deadline, sock.read_some(payload, room)).await,
        Ok(Ok(n)) if n > 0
    )
}
