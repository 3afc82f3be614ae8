//! Runs one parsed command against the live state and says what to answer.
//! Changes act at once: the balancer reads each server's state and weight
//! per request, and the stats page, CSV and Prometheus read the same
//! atomics. They live in the servers' state, which a reload carries over,
//! so they survive it exactly as a change made on the stats page does.

use std::fmt::Write;

use super::command::{Command, MaxconnOf, ServerRef, Weight, HELP};
use super::show;
use crate::config::model::StatsLevel as Level;
use crate::runtime::{Backend, Runtime, Server, Shared};
use crate::state::Admin;

/// One connection to the runtime API.
#[derive(Debug)]
pub struct Session {
    /// What it may do (lowered by `operator`/`user`).
    pub level: Level,
    /// `prompt` mode: a prompt after each answer, and the session stays.
    pub interactive: bool,
    /// How long it may stay silent.
    pub timeout: std::time::Duration,
    /// Who it is, for the log: the socket path or the peer's address.
    pub who: String,
}

/// What the session does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// Close the connection (`quit`).
    Quit,
}

/// The word `show cli level` answers.
pub fn level_word(l: Level) -> &'static str {
    match l {
        Level::User => "user",
        Level::Operator => "operator",
        Level::Admin => "admin",
    }
}

/// Runs `cmd`; returns the answer's text (each line ending in `\n`; the
/// caller adds the empty line that ends every answer).
pub fn execute(cmd: &Command, s: &mut Session, shared: &Shared) -> (String, Flow) {
    if cmd.level() > s.level {
        return ("Permission denied\n".into(), Flow::Continue);
    }
    let rt = shared.runtime.load_full();
    let text = match cmd {
        Command::Quit => return (String::new(), Flow::Quit),
        Command::Prompt => {
            s.interactive = !s.interactive;
            String::new()
        }
        Command::Help(words) => help(words, false),
        Command::Lower(l) => {
            if *l > s.level {
                "Permission denied\n".into()
            } else {
                s.level = *l;
                String::new()
            }
        }
        Command::SetTimeout(d) => {
            s.timeout = *d;
            String::new()
        }
        Command::ShowCliLevel => format!("{}\n", level_word(s.level)),
        Command::ShowVersion => format!("{}\n", show::VERSION),
        Command::ShowInfo { typed: false } => show::info(&rt, shared),
        Command::ShowInfo { typed: true } => super::typed::info(&show::info(&rt, shared)),
        Command::ShowStat(f) => show::stat(&rt, f, s.level),
        Command::ShowServersState(b) => show::servers_state(&rt, b.as_deref()),
        Command::ShowTable(t) => super::table::show_table(&rt, t.as_deref()),
        Command::ShowPeers => super::table::show_peers(&rt),
        Command::ShowPools => show::pools(),
        Command::ShowBackend => show::backends(&rt),
        Command::ShowEnv(name) => show::env(name.as_deref()),
        Command::GetWeight(r) => match find(&rt, r) {
            Ok((_, srv)) => format!(
                "{} (initial {})\n",
                srv.state.weight(),
                srv.state.initial_weight()
            ),
            Err(e) => e,
        },
        Command::SetWeight(r, w) => set_weight(&rt, r, *w, &s.who),
        Command::SetState(r, a) => set_state(&rt, r, *a, &s.who),
        Command::Health(r, on) => match find(&rt, r) {
            Ok((_, srv)) if srv.check.is_none() => format!(
                "Health checks are not configured on this server, cannot {}.\n",
                if *on { "enable" } else { "disable" }
            ),
            Ok((_, srv)) => {
                if srv.state.checks_enabled() != *on {
                    srv.state.set_checks_enabled(*on);
                    // The last check's phase no longer says anything: the
                    // page shows the state until the next check.
                    if let Ok(mut c) = srv.state.check.lock() {
                        c.phase.clear();
                    }
                    tracing::warn!(
                        "Health checks of server {}/{} {} by {}",
                        r.backend,
                        r.server,
                        if *on { "resumed" } else { "stopped" },
                        s.who
                    );
                }
                String::new()
            }
            Err(e) => e,
        },
        Command::ShutdownSessions(r) => match find(&rt, r) {
            Ok((_, srv)) => {
                srv.state.kill.notify_waiters();
                tracing::warn!(
                    "Sessions on server {}/{} shut down by {}",
                    r.backend,
                    r.server,
                    s.who
                );
                String::new()
            }
            Err(e) => e,
        },
        Command::SetAddr(r, args) => match find(&rt, r) {
            Ok((be, srv)) => set_addr(be, srv, args, &s.who),
            Err(e) => e,
        },
        Command::SetMaxconn(what, n) => set_maxconn(&rt, what, *n, &s.who),
        Command::Frontend(name, on) => match rt.frontend(name) {
            None => "No such frontend.\n".into(),
            Some(fe) => {
                let was_paused = fe
                    .counters
                    .paused
                    .swap(!on, std::sync::atomic::Ordering::Relaxed);
                if *on {
                    fe.counters.resumed.notify_waiters();
                }
                if was_paused == *on {
                    tracing::warn!(
                        "Frontend {name} {} by {}",
                        if *on { "resumed" } else { "paused" },
                        s.who
                    );
                }
                String::new()
            }
        },
        Command::Agent(r, on) => match find(&rt, r) {
            Ok(_) => format!(
                "Agent checks are not configured on this server, cannot {}.\n",
                if *on { "enable" } else { "disable" }
            ),
            Err(e) => e,
        },
        Command::ClearCounters { all } => {
            clear_counters(&rt, *all);
            String::new()
        }
    };
    (text, Flow::Continue)
}

/// `help`, and the answer to an unknown command (`unknown`): HAProxy's
/// first line, then the commands whose syntax shares a word with what
/// was typed (all of them when none does), always ending with help,
/// prompt and quit.
pub fn help(words: &[String], unknown: bool) -> String {
    let mut out = String::from(if unknown {
        "Unknown command, but maybe one of the following ones is a better match:\n"
    } else {
        "The following commands are valid at this level:\n"
    });
    let tail = ["help [<command>]", "prompt", "quit"];
    let shares_word = |syntax: &str| {
        words
            .iter()
            .any(|w| syntax.split_whitespace().any(|s| s == w))
    };
    let body: Vec<&(&str, &str)> = HELP.iter().filter(|(c, _)| !tail.contains(c)).collect();
    let matching: Vec<&&(&str, &str)> = body.iter().filter(|(c, _)| shares_word(c)).collect();
    let chosen: Vec<&(&str, &str)> = if words.is_empty() || matching.is_empty() {
        body
    } else {
        matching.into_iter().copied().collect()
    };
    for (c, d) in chosen
        .into_iter()
        .chain(HELP.iter().filter(|(c, _)| tail.contains(c)))
    {
        let _ = writeln!(out, "  {c:<40}: {d}");
    }
    out
}

/// The backend and server a command names, or the answer saying which is
/// missing.
fn find<'a>(rt: &'a Runtime, r: &ServerRef) -> Result<(&'a Backend, &'a Server), String> {
    let be = rt
        .backends
        .iter()
        .find(|b| b.name == r.backend)
        .ok_or_else(|| "No such backend.\n".to_string())?;
    let srv = be
        .servers
        .iter()
        .find(|s| s.name == r.server)
        .ok_or_else(|| "No such server.\n".to_string())?;
    Ok((be, srv))
}

fn set_weight(rt: &Runtime, r: &ServerRef, w: Weight, who: &str) -> String {
    let (be, srv) = match find(rt, r) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let weight = match w {
        Weight::Absolute(n) => n,
        Weight::Percent(p) => srv.state.initial_weight() * p / 100,
    };
    if srv.state.weight() != weight {
        srv.state.set_weight(weight);
        be.balancer.reweigh();
        tracing::warn!(
            "Server {}/{} weight set to {weight} by {who}",
            be.name,
            srv.name
        );
    }
    String::new()
}

fn set_state(rt: &Runtime, r: &ServerRef, a: Admin, who: &str) -> String {
    let (be, srv) = match find(rt, r) {
        Ok(found) => found,
        Err(e) => return e,
    };
    if crate::runtime::admin::set_admin(rt, be, srv, a) {
        // Who did it goes to fulcrum's own log (HAProxy 2.6 does not say).
        tracing::info!(server = %format!("{}/{}", be.name, srv.name), by = %who, "operator state change");
    }
    String::new()
}

/// `set server B/S addr A [port P]`, answered in HAProxy's words. The
/// next connections (and checks) go to the new address; open ones stay.
fn set_addr(be: &Backend, srv: &Server, args: &[String], who: &str) -> String {
    const BY: &str = "by 'stats socket command'";
    let (old_ip, old_port) = srv.address();
    let Ok(ip) = args[0].parse::<std::net::IpAddr>() else {
        return format!("Invalid addr '{}' {BY}\n", args[0]);
    };
    let port = match args.get(1..) {
        Some([p, v, ..]) if p == "port" => match v.parse::<u16>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!("problem converting port '{v}' to an int")),
        },
        _ => Ok(None),
    };
    let mut said = Vec::new();
    if ip == old_ip {
        said.push("no need to change the addr".to_string());
    } else {
        said.push(format!("IP changed from '{old_ip}' to '{ip}'"));
    }
    let new_port = match port {
        Err(e) => {
            said.push(e);
            old_port
        }
        Ok(None) => old_port,
        Ok(Some(p)) if Some(p) == old_port => {
            said.push("no need to change the port".into());
            old_port
        }
        Ok(Some(p)) => {
            said.push(match old_port {
                Some(o) => format!("port changed from '{o}' to '{p}'"),
                None => format!("port set to '{p}'"),
            });
            Some(p)
        }
    };
    if (ip, new_port) != (old_ip, old_port) {
        srv.state
            .moved
            .store(Some(std::sync::Arc::new((ip, new_port))));
        let msg = format!(
            "{}/{} changed its {} (set by {who}).",
            be.name,
            srv.name,
            said.join(", ")
        );
        tracing::warn!("{msg}");
        crate::log::syslog::send_at(&be.log_targets, 5, &msg);
    }
    format!("{} {BY}\n", said.join(", "))
}

/// `set maxconn`: resizes a limit the configuration set. A frontend,
/// server or process without `maxconn` has no limit to resize (HAProxy
/// always has one; fulcrum creates them only from the configuration).
fn set_maxconn(rt: &Runtime, what: &MaxconnOf, n: u32, who: &str) -> String {
    let (limit, name) = match what {
        MaxconnOf::Global => (rt.global.limit.as_ref(), "global".to_string()),
        MaxconnOf::Frontend(f) => match rt.frontend(f) {
            Some(fe) => (fe.limit.as_ref(), format!("frontend {f}")),
            None => return "No such frontend.\n".into(),
        },
        MaxconnOf::Server(r) => match find(rt, r) {
            Ok((_, srv)) => (
                srv.limit.as_ref(),
                format!("server {}/{}", r.backend, r.server),
            ),
            Err(e) => return e,
        },
    };
    let Some(limit) = limit else {
        return format!(
            "fulcrum cannot set a maxconn on {name}: it has none in the configuration (add one, then reload).\n"
        );
    };
    if n == 0 {
        return "Value out of range.\n".into();
    }
    limit.resize(n as usize);
    tracing::warn!("maxconn of {name} set to {n} by {who}");
    String::new()
}

fn clear_counters(rt: &Runtime, all: bool) {
    for be in &rt.backends {
        for srv in &be.servers {
            srv.state.clear_counters(all);
        }
        if all {
            be.counters.clear();
        }
    }
    if all {
        for fe in &rt.frontends {
            fe.counters.clear();
        }
    }
}
