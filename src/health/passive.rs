//! What a check reports beyond its probe: `on-error` acting on the
//! traffic's errors (`observe`), and the `http-check send-state` header
//! that tells a server how it is seen.

use std::sync::atomic::Ordering::Relaxed;

use super::fsm::{Health, Verdict};
use super::outcome::{self, Outcome};
use super::{observe as count, settle};
use crate::runtime::Shared;
use crate::state::ServerState;

/// `on-error`: enough consecutive errors in the traffic, as HAProxy acts
/// on them: `fastinter` only checks sooner; `fail-check` counts a failed
/// check ("Health analyze"); `sudden-death` first leaves an UP server one
/// failure from DOWN; `mark-down` takes it DOWN.
pub(super) fn on_error(
    shared: &Shared,
    key: &(String, String),
    state: &ServerState,
    health: &mut Health,
    last_status: &mut Option<outcome::CheckStatus>,
    mode: crate::config::model::OnError,
    msg: String,
) {
    use crate::config::model::OnError;
    match mode {
        OnError::Fastinter => return,
        OnError::FailCheck => {}
        OnError::SuddenDeath => health.sudden_death(),
        OnError::MarkDown => health.mark_down(),
    }
    let outcome = Outcome {
        info_kept: true,
        status: outcome::CheckStatus::Hana,
        code: None,
        info: Some(msg),
        duration: std::time::Duration::ZERO,
    };
    state.check_failures.fetch_add(1, Relaxed);
    let flip = count(shared, key, health, last_status, &outcome, Verdict::Fail);
    settle(shared, key, state, health, &outcome, flip);
}

/// `http-check send-state`'s header value, as HAProxy 2.6 writes it:
/// "UP 1/3; address=A; port=P; name=B/S; node=N; weight=W/T; scur=C/T;
/// qcur=0" (the weight against the farm's usable weight, the sessions
/// against the backend's).
pub(super) fn server_state_line(
    shared: &Shared,
    key: &(String, String),
    health: &Health,
) -> String {
    let rt = shared.runtime.load();
    let Some(be) = rt.backends.iter().find(|b| b.name == key.0) else {
        return health.describe();
    };
    let Some(srv) = be.servers.iter().find(|s| s.name == key.1) else {
        return health.describe();
    };
    let mut word = health.describe();
    if srv.state.nolb() {
        word = word.replacen("UP", "NOLB", 1);
    }
    let (ip, port) = srv.address();
    let usable = |backup: bool| {
        be.servers
            .iter()
            .filter(|s| s.backup == backup && s.state.usable())
            .map(|s| s.state.effective_weight())
            .sum::<u32>()
    };
    let farm = match usable(false) {
        0 => usable(true),
        w => w,
    };
    let cur = |s: &crate::runtime::Server| s.state.cur_sessions.load(Relaxed);
    let total: u64 = be.servers.iter().map(cur).sum();
    format!(
        "{word}; address={ip}; port={}; name={}/{}; node={}; weight={}/{farm}; scur={}/{total}; qcur=0",
        port.unwrap_or(0),
        be.name,
        srv.name,
        rt.global.node,
        srv.state.effective_weight(),
        cur(srv),
    )
}
