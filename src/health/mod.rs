//! Health checks, run on the control thread: one task per checked server,
//! each with its own schedule (`inter`, `fastinter` while changing state,
//! `downinter` while down), the first check spread at random within `inter`
//! so that many servers are not probed at once. A flip of the rise/fall
//! state machine sets the server's live state, is logged in HAProxy's words,
//! and is copied to every server that `track`s it (and theirs, in turn).

mod agent;
pub mod fsm;
pub mod http;
pub mod outcome;
mod passive;
mod protocols;
pub mod tcp;
mod tcpcheck;
mod warmup;

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use self::fsm::{Flip, Health, Phase, Verdict};
use self::outcome::Outcome;
use crate::runtime::{Backend, Runtime, Shared};
use crate::state::{ServerState, Status};

/// The running checks, one task per checked server, keyed by
/// (backend, server) name and reconciled against each new Runtime.
#[derive(Debug, Default)]
pub struct Checks {
    tasks: HashMap<(String, String), (String, tokio::task::JoinHandle<()>)>,
    /// The agent checks, one task per server with `agent-check`.
    agents: HashMap<(String, String), (String, tokio::task::JoinHandle<()>)>,
    /// Moves `slowstart` warm-ups on (one task for the process).
    warmups: Option<tokio::task::JoinHandle<()>>,
}

impl Checks {
    /// Starts, keeps, restarts or stops checks to match the current Runtime:
    /// a server whose check is unchanged keeps its task and so its rise/fall
    /// progress; a changed one restarts; a removed one stops. Must run on
    /// the control thread's runtime.
    pub fn reconcile(&mut self, shared: &Arc<Shared>) {
        if self.warmups.is_none() {
            self.warmups = Some(tokio::spawn(warmup::run(shared.clone())));
        }
        let rt = shared.runtime.load_full();
        let mut wanted = HashMap::new();
        for be in &rt.backends {
            for s in &be.servers {
                let (Some(spec), None) = (&s.check, s.track) else {
                    continue;
                };
                // Everything the task captured: if any of it changed, restart.
                let on_error = s.observe.map(|o| o.on_error);
                let fingerprint = format!(
                    "{spec:?}|{:?}|{:?}|{:?}|{:?}|{:p}|{on_error:?}",
                    be.http_check,
                    be.tcp_check,
                    be.timeout_check,
                    be.timeout_connect,
                    Arc::as_ptr(&s.state)
                );
                let probe = Probe {
                    spec: spec.clone(),
                    http: be.http_check.clone(),
                    tcp: be.tcp_check.clone(),
                    timeout_check: be.timeout_check,
                    timeout_connect: be.timeout_connect,
                    on_error,
                };
                wanted.insert(
                    (be.name.clone(), s.name.clone()),
                    (fingerprint, probe, s.state.clone()),
                );
            }
        }
        let mut agents = HashMap::new();
        for be in &rt.backends {
            for s in &be.servers {
                if let Some(a) = &s.agent {
                    let fingerprint = format!("{a:?}|{:p}", Arc::as_ptr(&s.state));
                    agents.insert(
                        (be.name.clone(), s.name.clone()),
                        (fingerprint, a.clone(), s.state.clone()),
                    );
                }
            }
        }
        self.agents.retain(|key, (fp, handle)| {
            let keep = agents.get(key).is_some_and(|(w, _, _)| w == fp);
            if !keep {
                handle.abort();
            }
            keep
        });
        for (key, (fp, spec, state)) in agents {
            if self.agents.contains_key(&key) {
                continue;
            }
            let task = tokio::spawn(agent::agent_loop(shared.clone(), key.clone(), spec, state));
            self.agents.insert(key, (fp, task));
        }
        self.tasks.retain(|key, (fp, handle)| {
            let keep = wanted.get(key).is_some_and(|(w, _, _)| w == fp);
            if !keep {
                handle.abort();
            }
            keep
        });
        for (key, (fp, probe, state)) in wanted {
            if self.tasks.contains_key(&key) {
                continue;
            }
            let task = tokio::spawn(check_loop(shared.clone(), key.clone(), probe, state));
            self.tasks.insert(key, (fp, task));
        }
    }

    /// Number of running check tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when no server is checked.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

/// What a check task needs to probe, captured when it starts.
#[derive(Debug, Clone)]
struct Probe {
    spec: crate::runtime::ServerCheck,
    http: Option<Arc<crate::runtime::check::HttpCheck>>,
    tcp: Option<Arc<crate::runtime::check::TcpCheck>>,
    timeout_check: Option<Duration>,
    timeout_connect: Option<Duration>,
    /// `on-error`, when the server has `observe`.
    on_error: Option<crate::config::model::OnError>,
}

fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let ms = max.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(nanos) % ms)
}

/// `spread-checks`: the interval moved by a random amount of up to
/// `percent` either way.
fn spread_by(wait: Duration, percent: u32) -> Duration {
    if percent == 0 {
        return wait;
    }
    let span = wait.mul_f64(f64::from(percent) / 100.0);
    // jitter() is uniform in [0, 2 x span): shift it to [-span, +span).
    (wait + jitter(span * 2)).saturating_sub(span)
}

async fn check_loop(
    shared: Arc<Shared>,
    key: (String, String),
    probe: Probe,
    state: Arc<ServerState>,
) {
    let spec = &probe.spec;
    let mut health = Health::new(spec.rise, spec.fall);
    // A server that is already DOWN (kept across a reload) stays DOWN until
    // `rise` checks pass, rather than starting UP again.
    if state.health() == Status::Down {
        health.observe(Verdict::Fail);
    }
    let mut last_status = None;
    // Traffic may call for `on-error` before the first check too.
    let first = jitter(spec.inter);
    pause(
        &shared,
        &key,
        &probe,
        &state,
        &mut health,
        &mut last_status,
        first,
    )
    .await;
    loop {
        // `disable health` on the runtime API: no probe; the server counts
        // as UP (set there) and starts from UP when checks resume.
        if !state.checks_enabled() {
            health = Health::new(spec.rise, spec.fall);
            tokio::time::sleep(spec.inter).await;
            continue;
        }
        // A server in maintenance (an operator's, or without an address
        // from DNS) is not probed: HAProxy pauses its checks.
        if state.rmaint() || state.admin() == crate::state::Admin::Maint {
            tokio::time::sleep(spec.inter).await;
            continue;
        }
        // `set server addr` moves the checks with the traffic.
        let target = match state.moved.load().as_deref() {
            Some((ip, port)) => std::net::SocketAddr::new(*ip, port.unwrap_or(spec.target.port())),
            None => spec.target,
        };
        let state_line = probe
            .http
            .as_ref()
            .filter(|h| h.send_state)
            .map(|_| passive::server_state_line(&shared, &key, &health));
        let outcome = run_probe(&probe, target, state_line.as_deref()).await;
        let verdict = if outcome.status.passed() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        if verdict == Verdict::Fail {
            state.check_failures.fetch_add(1, Relaxed);
        }
        // LDAP's and SPOP's success counts twice, as in HAProxy 2.6: once
        // as their parser reports it (with its text), then as the end of
        // the rules reports it (without).
        let mut flip = None;
        if let (Verdict::Pass, Some(text)) =
            (verdict, probe.tcp.as_ref().and_then(|t| t.double_report))
        {
            let early = Outcome {
                info_kept: true,
                info: Some(text.into()),
                ..outcome.clone()
            };
            flip = observe(
                &shared,
                &key,
                &mut health,
                &mut last_status,
                &early,
                verdict,
            );
        }
        let again = observe(
            &shared,
            &key,
            &mut health,
            &mut last_status,
            &outcome,
            verdict,
        );
        let flip = flip.or(again);
        settle(&shared, &key, &state, &health, &outcome, flip);
        let wait = match health.phase() {
            Phase::Up => spec.inter,
            Phase::Down => spec.downinter,
            Phase::GoingUp | Phase::GoingDown => spec.fastinter,
        };
        let spread = shared.runtime.load().global.spread_checks;
        let wait = spread_by(wait, spread);
        pause(
            &shared,
            &key,
            &probe,
            &state,
            &mut health,
            &mut last_status,
            wait,
        )
        .await;
    }
}

/// Waits `wait` for the next check. Meanwhile the traffic (`observe`)
/// may call for `on-error`: it acts at once, as HAProxy's does, and the
/// next check then comes after `fastinter`.
async fn pause(
    shared: &Shared,
    key: &(String, String),
    probe: &Probe,
    state: &ServerState,
    health: &mut Health,
    last_status: &mut Option<outcome::CheckStatus>,
    wait: Duration,
) {
    let woke = tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = state.hana_wake.notified() => true,
    };
    let event = state.hana.lock().ok().and_then(|mut h| h.take());
    if let (true, Some(msg), Some(mode)) = (woke, event, probe.on_error) {
        passive::on_error(shared, key, state, health, last_status, mode, msg);
        tokio::time::sleep(probe.spec.fastinter).await;
    }
}

/// What follows a counted report: NOLB, the state change and its lines,
/// the state following the counter, and the page's record.
fn settle(
    shared: &Shared,
    key: &(String, String),
    state: &ServerState,
    health: &Health,
    outcome: &Outcome,
    flip: Option<Flip>,
) {
    // NOLB comes and goes with the 404s while the server is up. Its line
    // goes out last, once the page shows the check that caused it.
    let mut nolb_changed = None;
    if flip.is_none() && health.is_up() {
        let nolb = outcome.status == super::health::outcome::CheckStatus::L7OkC;
        if state.set_nolb(nolb) {
            nolb_changed = Some(nolb);
        }
    } else if flip == Some(Flip::Down) {
        state.set_nolb(false);
    }
    if let Some(flip) = flip {
        // The topology (counts, trackers) is read from the current Runtime.
        let rt = shared.runtime.load_full();
        if let Some(bi) = rt.backends.iter().position(|b| b.name == key.0) {
            if let Some(si) = rt.backends[bi].servers.iter().position(|s| s.name == key.1) {
                apply(&rt, bi, si, flip, Some(outcome), None);
            }
        }
    }
    // The state follows the checks even without a flip: `disable
    // health` set it UP meanwhile, and an `enable health` right after
    // finds the counter where it was.
    let want = if health.is_up() {
        Status::Up
    } else {
        Status::Down
    };
    if flip.is_none() && state.health() != want && state.checks_enabled() {
        state.set_health(want);
    }
    // Recorded once the state follows it, so that the page never shows
    // a phase the balancer does not act on yet.
    record(state, outcome, health, flip);
    if let Some(nolb) = nolb_changed {
        nolb_event(shared, key, outcome, nolb);
    }
}

/// Counts one report of a check; a report that changed the counter or
/// the result is logged (`option log-health-checks`; steady states are
/// not).
fn observe(
    shared: &Shared,
    key: &(String, String),
    health: &mut Health,
    last_status: &mut Option<outcome::CheckStatus>,
    o: &Outcome,
    verdict: Verdict,
) -> Option<Flip> {
    let before = (health.value(), *last_status);
    let flip = health.observe(verdict);
    *last_status = Some(o.status);
    if before != (health.value(), *last_status) {
        log_check(shared, key, o, health, verdict);
    }
    flip
}

/// A server entering NOLB ("is stopping") or leaving it ("is UP"), in
/// HAProxy's words, at notice; a backend left with no server says so.
fn nolb_event(shared: &Shared, key: &(String, String), o: &Outcome, nolb: bool) {
    let rt = shared.runtime.load();
    let Some(be) = rt.backends.iter().find(|b| b.name == key.0) else {
        return;
    };
    let (a, b) = remaining(be);
    let online = be.servers_left_words("online");
    let title = be
        .servers
        .iter()
        .find(|s| s.name == key.1)
        .map_or("Server", |s| s.title());
    let msg = if nolb {
        format!(
            "{title} {}/{} is stopping, {}. {online} 0 sessions requeued, 0 total in queue.",
            key.0,
            key.1,
            o.describe()
        )
    } else {
        format!(
            "{title} {}/{} is UP, {}. {online} 0 sessions requeued, 0 total in queue.",
            key.0,
            key.1,
            o.describe()
        )
    };
    tracing::warn!("{msg}");
    event(be, Severity::Notice, &msg);
    if nolb && a == 0 && b == 0 {
        let msg = format!(
            "{} {} has no server available!",
            proxy_word(&rt, be),
            be.name
        );
        tracing::error!("{msg}");
        event(be, Severity::Emerg, &msg);
    }
}

/// How HAProxy names a backend's proxy in its messages: "proxy" for a
/// listen, "backend" for a backend section.
fn proxy_word(rt: &Runtime, be: &Backend) -> &'static str {
    rt.proxy_word(be)
}

/// The line `option log-health-checks` sends for a check, at notice.
fn log_check(shared: &Shared, key: &(String, String), o: &Outcome, h: &Health, v: Verdict) {
    let rt = shared.runtime.load();
    let Some(be) = rt.backends.iter().find(|b| b.name == key.0) else {
        return;
    };
    if !be.log_health_checks {
        return;
    }
    let backup = be
        .servers
        .iter()
        .find(|s| s.name == key.1)
        .is_some_and(|s| s.backup);
    let msg = format!(
        "Health check for {}server {}/{} {}, {}, status: {}.",
        if backup { "backup " } else { "" },
        key.0,
        key.1,
        if v == Verdict::Pass {
            "succeeded"
        } else {
            "failed"
        },
        o.describe(),
        h.status()
    );
    event(be, Severity::Notice, &msg);
}

/// One check with HAProxy's timeouts: with `timeout check`, the connect
/// may take min(`timeout connect`, `inter`) and the answer `timeout check`;
/// without it, `inter` bounds both.
async fn run_probe(p: &Probe, target: std::net::SocketAddr, state: Option<&str>) -> Outcome {
    let spec = &p.spec;
    let (connect, read) = match p.timeout_check {
        Some(t) => (p.timeout_connect.unwrap_or(spec.inter).min(spec.inter), t),
        None => (spec.inter, spec.inter),
    };
    let proxy = spec.send_proxy;
    let dial = tcp::Dial {
        target,
        tls: spec.tls.as_ref(),
        proxy,
        step_tls: spec.step_tls.as_ref(),
    };
    if let (None, Some(t)) = (&p.http, &p.tcp) {
        return tcpcheck::run(dial, t, connect, read).await;
    }
    match (&p.http, &spec.tls) {
        (Some(h), _) => http::check(dial, h, state, connect, read).await,
        (None, Some(tls)) => tcp::check_tls(target, tls, connect, read, proxy).await,
        (None, None) => tcp::check(target, connect, proxy).await,
    }
}

fn record(state: &ServerState, o: &Outcome, h: &Health, flip: Option<Flip>) {
    // Control plane only; the data path never takes this lock.
    if let Ok(mut c) = state.check.lock() {
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
    be.servers_left()
}

/// Syslog severities of the events a backend logs.
#[derive(Debug, Clone, Copy)]
enum Severity {
    Emerg = 0,
    Alert = 1,
    Notice = 5,
}

/// Sends a backend's event to its log targets.
fn event(be: &crate::runtime::Backend, level: Severity, msg: &str) {
    crate::log::syslog::send_at(&be.log_targets, level as u8, msg);
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
        // With `option log-health-checks` the check's own line said why.
        (Some(_), _) if be.log_health_checks => String::new(),
        (Some(o), _) => format!(", {}", o.describe_state_change()),
        (None, Some((vb, vs))) => format!(
            " via {}/{}",
            rt.backends[vb].name, rt.backends[vb].servers[vs].name
        ),
        (None, None) => String::new(),
    };
    if let Ok(mut c) = srv.state.check.lock() {
        match flip {
            Flip::Down => c.down_since = Some(SystemTime::now()),
            Flip::Up => {
                if let Some(t) = c.down_since.take() {
                    c.downtime += t.elapsed().unwrap_or_default();
                }
            }
        }
    }
    match flip {
        Flip::Down => {
            srv.state.set_health(Status::Down);
            srv.state.down_transitions.fetch_add(1, Relaxed);
            let (a, b) = remaining(be);
            let left = be.servers_left_words("left");
            let cur = srv.state.cur_sessions.load(Relaxed);
            let msg = format!(
                "{} {}/{} is DOWN{why}. {left} {cur} sessions active, 0 requeued, 0 remaining in queue.",
                srv.title(), be.name, srv.name
            );
            tracing::warn!("{msg}");
            // HAProxy's severities: alert for a server going down, emerg
            // for a backend left with none.
            event(be, Severity::Alert, &msg);
            if a == 0 && b == 0 {
                let msg = format!(
                    "{} {} has no server available!",
                    proxy_word(rt, be),
                    be.name
                );
                tracing::error!("{msg}");
                event(be, Severity::Emerg, &msg);
            }
            if srv.shutdown_on_down {
                srv.state.kill.notify_waiters();
            }
        }
        Flip::Up => {
            srv.state.set_health(Status::Up);
            if let Some(period) = srv.slowstart {
                srv.state.start_warmup(period);
                warmup::warm(srv);
                be.balancer.reweigh();
            }
            let online = be.servers_left_words("online");
            let msg = format!(
                "{} {}/{} is UP{why}. {online} 0 sessions requeued, 0 total in queue.",
                srv.title(),
                be.name,
                srv.name
            );
            tracing::warn!("{msg}");
            event(be, Severity::Notice, &msg);
            if srv.shutdown_backups_on_up && !srv.backup {
                for b in be.servers.iter().filter(|s| s.backup) {
                    b.state.kill.notify_waiters();
                }
            }
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
