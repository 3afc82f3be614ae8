//! Agent checks (`agent-check`): a small agent on the server answers a
//! line of words, and the server follows them as in HAProxy: `up` and
//! `down` (also `stopped`, `fail`), `ready`, `drain` and `maint`, a weight
//! as a share of the configured one (`75%`), and `maxconn:N`.
//!
//! A failed agent check changes nothing: only what the agent says does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::runtime::check::AgentCheck;
use crate::runtime::{Runtime, Shared};
use crate::state::{Admin, ServerState};

/// The longest answer read.
const MAX_ANSWER: usize = 1024;

/// Asks the agent every `inter`, for as long as the task lives.
pub async fn agent_loop(
    shared: Arc<Shared>,
    key: (String, String),
    spec: AgentCheck,
    state: Arc<ServerState>,
) {
    tokio::time::sleep(super::jitter(spec.inter)).await;
    loop {
        let start = Instant::now();
        if let Some(answer) = ask(&spec).await {
            let rt = shared.runtime.load_full();
            follow(&rt, &key, &state, &answer, start.elapsed());
        }
        tokio::time::sleep(spec.inter).await;
    }
}

/// One exchange: connect, send `agent-send`, read a line (or up to the
/// close). None when the agent could not be reached or said nothing.
async fn ask(spec: &AgentCheck) -> Option<String> {
    let exchange = async {
        let mut s = TcpStream::connect(spec.target).await.ok()?;
        if !spec.send.is_empty() {
            s.write_all(&spec.send).await.ok()?;
        }
        let mut buf = Vec::new();
        let mut chunk = [0u8; 256];
        loop {
            let n = s.read(&mut chunk).await.ok()?;
            buf.extend_from_slice(&chunk[..n]);
            if n == 0 || buf.contains(&b'\n') || buf.len() >= MAX_ANSWER {
                break;
            }
        }
        let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
        Some(String::from_utf8_lossy(line).trim().to_string())
    };
    tokio::time::timeout(spec.inter, exchange)
        .await
        .ok()
        .flatten()
        .filter(|a| !a.is_empty())
}

/// Acts on the agent's words, logging each change in HAProxy's words.
fn follow(rt: &Runtime, key: &(String, String), state: &ServerState, answer: &str, took: Duration) {
    let Some(bi) = rt.backends.iter().position(|b| b.name == key.0) else {
        return;
    };
    let be = &rt.backends[bi];
    let Some(srv) = be.servers.iter().find(|s| s.name == key.1) else {
        return;
    };
    let name = format!("{}/{}", be.name, srv.name);
    let title = srv.title();
    let ms = took.as_millis();
    for word in answer
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
    {
        match word.as_str() {
            "up" => {
                if state.set_agent_down(false) && state.health() == crate::state::Status::Up {
                    let online = be.servers_left_words("online");
                    super::event(be, super::Severity::Notice, &format!(
                        "{title} {name} is UP, reason: Layer7 check passed, code: 0, info: \"via agent : up\", check duration: {ms}ms. {online} 0 sessions requeued, 0 total in queue."
                    ));
                }
            }
            "down" | "stopped" | "fail" => {
                if state.set_agent_down(true) {
                    let left = be.servers_left_words("left");
                    let cur = state
                        .cur_sessions
                        .load(std::sync::atomic::Ordering::Relaxed);
                    super::event(be, super::Severity::Alert, &format!(
                        "{title} {name} is DOWN, reason: Layer7 wrong status, code: 0, info: \"via agent : {word}\", check duration: {ms}ms. {left} {cur} sessions active, 0 requeued, 0 remaining in queue."
                    ));
                    none_left(rt, be);
                    if srv.shutdown_on_down {
                        state.kill.notify_waiters();
                    }
                }
            }
            "ready" => {
                let was = state.admin();
                if was != Admin::Ready {
                    state.set_admin_by_agent(Admin::Ready);
                    // HAProxy's words: "UP/READY" out of maintenance, "UP"
                    // out of drain, "DOWN" when the checks say so.
                    let up = state.health() == crate::state::Status::Up;
                    let (from, now) = match (was, up) {
                        (Admin::Maint, true) => ("maintenance", "UP/READY"),
                        (Admin::Maint, false) => ("maintenance", "DOWN"),
                        (_, true) => ("drain", "UP"),
                        (_, false) => ("drain", "DOWN"),
                    };
                    super::event(
                        be,
                        super::Severity::Notice,
                        &format!("{title} {name} is {now} (leaving forced {from})."),
                    );
                }
            }
            "drain" => {
                if state.admin() != Admin::Drain {
                    state.set_admin_by_agent(Admin::Drain);
                    let online = be.servers_left_words("online");
                    super::event(be, super::Severity::Notice, &format!(
                        "{title} {name} enters drain state. {online} 0 sessions requeued, 0 total in queue."
                    ));
                    none_left(rt, be);
                }
            }
            "maint" => {
                if state.admin() != Admin::Maint {
                    state.set_admin_by_agent(Admin::Maint);
                    let left = be.servers_left_words("left");
                    let cur = state
                        .cur_sessions
                        .load(std::sync::atomic::Ordering::Relaxed);
                    super::event(be, super::Severity::Notice, &format!(
                        "{title} {name} is going DOWN for maintenance. {left} {cur} sessions active, 0 requeued, 0 remaining in queue."
                    ));
                    none_left(rt, be);
                }
            }
            w => {
                if let Some(pct) = w.strip_suffix('%').and_then(|p| p.parse::<u32>().ok()) {
                    let weight =
                        (state.initial_weight() * pct / 100).min(crate::config::model::MAX_WEIGHT);
                    if state.weight() != weight {
                        state.set_weight(weight);
                        be.balancer.reweigh();
                    }
                } else if let Some(n) = w
                    .strip_prefix("maxconn:")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    if let Some(limit) = &srv.limit {
                        limit.resize(n);
                    }
                }
                // Other words (HAProxy's agent protocol has none else that
                // act) are ignored, as HAProxy ignores them.
            }
        }
    }
}

/// "backend X has no server available!" when nothing is left.
fn none_left(rt: &Runtime, be: &crate::runtime::Backend) {
    let (a, b) = super::remaining(be);
    if a == 0 && b == 0 {
        super::event(
            be,
            super::Severity::Emerg,
            &format!(
                "{} {} has no server available!",
                super::proxy_word(rt, be),
                be.name
            ),
        );
    }
}
