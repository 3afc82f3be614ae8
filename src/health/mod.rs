//! Health checks, run on the control thread: one task per checked server,
//! each with its own schedule (`inter`, `fastinter` while changing state,
//! `downinter` while down), the first check spread at random within `inter`
//! so that many servers are not probed at once. A flip of the rise/fall
//! state machine sets the server's live state, is logged in HAProxy's words,
//! and is copied to every server that `track`s it (and theirs, in turn).

pub mod fsm;
pub mod http;
pub mod outcome;
pub mod tcp;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use self::fsm::{Flip, Health, Phase, Verdict};
use self::outcome::Outcome;
use crate::runtime::{Backend, Runtime};
use crate::state::Status;

/// Starts the checks of every checked server of `rt` on the current
/// (control) runtime. The tasks stop when the handles are dropped/aborted.
pub fn start(rt: Arc<Runtime>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for (bi, be) in rt.backends.iter().enumerate() {
        for (si, s) in be.servers.iter().enumerate() {
            if s.check.is_some() && s.track.is_none() {
                tasks.push(tokio::spawn(check_loop(rt.clone(), bi, si)));
            }
        }
    }
    tasks
}

fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let ms = max.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(nanos) % ms)
}

async fn check_loop(rt: Arc<Runtime>, bi: usize, si: usize) {
    let be = &rt.backends[bi];
    let srv = &be.servers[si];
    let Some(spec) = srv.check.clone() else {
        return;
    };
    let mut health = Health::new(spec.rise, spec.fall);
    tokio::time::sleep(jitter(spec.inter)).await;
    loop {
        let outcome = probe(be, &spec).await;
        let verdict = if outcome.status.passed() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        if verdict == Verdict::Fail {
            srv.state.check_failures.fetch_add(1, Relaxed);
        }
        let flip = health.observe(verdict);
        record(&rt, bi, si, &outcome, &health, flip);
        if let Some(flip) = flip {
            apply(&rt, bi, si, flip, Some(&outcome), None);
        }
        let wait = match health.phase() {
            Phase::Up => spec.inter,
            Phase::Down => spec.downinter,
            Phase::GoingUp | Phase::GoingDown => spec.fastinter,
        };
        tokio::time::sleep(wait).await;
    }
}

/// One check with HAProxy's timeouts: with `timeout check`, the connect
/// may take min(`timeout connect`, `inter`) and the answer `timeout check`;
/// without it, `inter` bounds both.
async fn probe(be: &Backend, spec: &crate::runtime::ServerCheck) -> Outcome {
    let (connect, read) = match be.timeout_check {
        Some(t) => (be.timeout_connect.unwrap_or(spec.inter).min(spec.inter), t),
        None => (spec.inter, spec.inter),
    };
    match &be.http_check {
        Some(h) => http::check(spec.target, h, connect, read).await,
        None => tcp::check(spec.target, connect).await,
    }
}

fn record(rt: &Runtime, bi: usize, si: usize, o: &Outcome, h: &Health, flip: Option<Flip>) {
    let srv = &rt.backends[bi].servers[si];
    // Control plane only; the data path never takes this lock.
    if let Ok(mut c) = srv.state.check.lock() {
        c.status = o.status.code();
        c.code = o.code;
        c.duration = o.duration;
        c.phase = h.describe();
        if flip.is_some() {
            c.last_change = Some(SystemTime::now());
        }
    }
}

/// "1 active and 1 backup servers left" (or "online" when going up).
fn remaining(be: &Backend) -> (usize, usize) {
    let up = |s: &&crate::runtime::Server| s.state.status() == Status::Up;
    let active = be.servers.iter().filter(|s| !s.backup).filter(up).count();
    let backup = be.servers.iter().filter(|s| s.backup).filter(up).count();
    (active, backup)
}

/// Sets a server's state after a flip, logs it, and follows the trackers.
fn apply(
    rt: &Runtime,
    bi: usize,
    si: usize,
    flip: Flip,
    outcome: Option<&Outcome>,
    via: Option<(usize, usize)>,
) {
    let be = &rt.backends[bi];
    let srv = &be.servers[si];
    let why = match (outcome, via) {
        (Some(o), _) => format!(", {}", o.describe()),
        (None, Some((vb, vs))) => format!(
            " via {}/{}",
            rt.backends[vb].name, rt.backends[vb].servers[vs].name
        ),
        (None, None) => String::new(),
    };
    match flip {
        Flip::Down => {
            srv.state.set_health(Status::Down);
            srv.state.down_transitions.fetch_add(1, Relaxed);
            let (a, b) = remaining(be);
            let cur = srv.state.cur_sessions.load(Relaxed);
            tracing::warn!(
                "Server {}/{} is DOWN{why}. {a} active and {b} backup servers left. {cur} sessions active, 0 requeued, 0 remaining in queue.",
                be.name, srv.name
            );
            if a == 0 && b == 0 {
                tracing::error!("backend {} has no server available!", be.name);
            }
        }
        Flip::Up => {
            srv.state.set_health(Status::Up);
            let (a, b) = remaining(be);
            tracing::warn!(
                "Server {}/{} is UP{why}. {a} active and {b} backup servers online. 0 sessions requeued, 0 total in queue.",
                be.name, srv.name
            );
        }
    }
    if let Ok(mut c) = srv.state.check.lock() {
        if via.is_some() {
            c.last_change = Some(SystemTime::now());
        }
    }
    for &(tb, ts) in &srv.trackers {
        apply(rt, tb, ts, flip, None, Some((bi, si)));
    }
}
