//! The `show` family: process facts, the stats CSV, the servers' states,
//! in the layouts HAProxy 2.6 prints, since tools (hatop, exporters,
//! server-state-file scripts) parse them.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use super::command::StatFilter;
use crate::config::model::StatsLevel as Level;
use crate::runtime::{Runtime, Shared};
use crate::state::{Admin, Status};
use crate::stats::snapshot::{self, Kind, COLUMNS};

/// What `show version` and `show info` report: the HAProxy release whose
/// configuration language and runtime API fulcrum follows, then fulcrum's
/// own version, so that a tool reading major.minor sees 2.6.
pub const VERSION: &str = concat!("2.6-fulcrum-", env!("CARGO_PKG_VERSION"));

/// `show info`: HAProxy's field names, in its order, for the facts fulcrum
/// has. Fields about machinery fulcrum does not have (compression, SSL
/// key rates) read 0, which is true of it; rates it does not
/// compute yet are left out rather than invented. ActivePeers and
/// ConnectedPeers read 0 even when `peers` sections sync: the peer
/// sessions' state is not reported here yet (`show peers` lists the
/// sections).
pub fn info(rt: &Runtime, shared: &Shared) -> String {
    let started = rt.global.started;
    let up = started.elapsed().unwrap_or(Duration::ZERO).as_secs();
    let start_sec = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let sum = |f: &dyn Fn(&crate::state::ProxyCounters) -> u64| -> u64 {
        rt.frontends.iter().map(|fe| f(&fe.counters)).sum()
    };
    let nofile = open_files_limit();
    let maxconn = rt.global.maxconn.map(u64::from).unwrap_or(nofile);
    let cur = shared.active.load(Relaxed);
    let listeners: usize = rt
        .frontends
        .iter()
        .flat_map(|f| &f.binds)
        .flat_map(|b| &b.addresses)
        .map(|a| usize::from(a.port_end - a.port) + 1)
        .sum::<usize>()
        + rt.global.cli.len();
    let checks: usize = rt
        .backends
        .iter()
        .flat_map(|b| &b.servers)
        .filter(|s| s.check.is_some())
        .count();
    let pool = crate::util::buffer::usage();
    let (pipes_used, pipes_free, spliced) = crate::proxy::splice::usage();
    let fields: Vec<(&str, String)> = vec![
        ("Name", "fulcrum".into()),
        ("Version", VERSION.into()),
        ("Release_date", RELEASE_DATE.into()),
        ("Nbthread", rt.global.nbthread.to_string()),
        ("Nbproc", "1".into()),
        ("Process_num", "1".into()),
        ("Pid", std::process::id().to_string()),
        ("Uptime", uptime(up)),
        ("Uptime_sec", up.to_string()),
        ("Memmax_MB", "0".into()),
        ("PoolAlloc_MB", (pool.allocated_bytes >> 20).to_string()),
        ("PoolUsed_MB", (pool.used_bytes >> 20).to_string()),
        ("PoolFailed", "0".into()),
        ("Ulimit-n", nofile.to_string()),
        ("Maxsock", nofile.to_string()),
        ("Maxconn", maxconn.to_string()),
        ("Hard_maxconn", maxconn.to_string()),
        ("CurrConns", cur.to_string()),
        (
            "CumConns",
            sum(&|c| c.total_sessions.load(Relaxed)).to_string(),
        ),
        ("CumReq", sum(&|c| c.requests.load(Relaxed)).to_string()),
        (
            "CumSslConns",
            sum(&|c| c.tls_handshakes.load(Relaxed)).to_string(),
        ),
        ("Maxpipes", rt.global.maxpipes.to_string()),
        ("PipesUsed", pipes_used.to_string()),
        ("PipesFree", pipes_free.to_string()),
        // One task per connection and per health check, as fulcrum runs them.
        ("Tasks", (cur + checks as u64).to_string()),
        ("Run_queue", "0".into()),
        ("node", hostname()),
        ("Stopping", "0".into()),
        ("Jobs", (cur + listeners as u64).to_string()),
        ("Listeners", listeners.to_string()),
        ("ActivePeers", "0".into()),
        ("ConnectedPeers", "0".into()),
        (
            "DroppedLogs",
            crate::log::syslog::DROPPED.load(Relaxed).to_string(),
        ),
        (
            "TotalBytesOut",
            sum(&|c| c.bytes_out.load(Relaxed)).to_string(),
        ),
        // HAProxy 2.6 spells it so.
        ("TotalSplicdedBytesOut", spliced.to_string()),
        (
            "Build info",
            concat!("fulcrum ", env!("CARGO_PKG_VERSION")).into(),
        ),
        ("Memmax_bytes", "0".into()),
        ("Start_time_sec", start_sec.to_string()),
    ];
    let mut out = String::new();
    for (k, v) in fields {
        let _ = writeln!(out, "{k}: {v}");
    }
    out
}

/// `show pools`: HAProxy's layout and meaning, for the one pool fulcrum
/// keeps: the 16 KiB buffers a connection holds while bytes pass through
/// it. As in HAProxy, "used" counts the objects out of the pool,
/// including those kept in the workers' caches as spares; what
/// connections hold is used minus cached.
pub fn pools() -> String {
    let b = crate::util::buffer::usage();
    let size = b.allocated_bytes.checked_div(b.allocated).unwrap_or(0);
    let spares = b.allocated.saturating_sub(b.used);
    let spare_bytes = b.allocated_bytes.saturating_sub(b.used_bytes);
    let mut out = String::from("Dumping pools usage. Use SIGQUIT to flush them.\n");
    let _ = writeln!(
        out,
        "  - Pool buffer ({size} bytes) : {} allocated ({} bytes), {} used (~{spares} by thread caches), 0 failures, 1 users",
        b.allocated, b.allocated_bytes, b.allocated,
    );
    let _ = writeln!(
        out,
        "Total: 1 pools, {} bytes allocated, {} used (~{spare_bytes} by thread caches).",
        b.allocated_bytes, b.allocated_bytes,
    );
    out
}

/// The date of the release `VERSION` names.
const RELEASE_DATE: &str = "2026/11/29";

/// HAProxy's uptime layout: `0d 0h00m09s`.
fn uptime(secs: u64) -> String {
    format!(
        "{}d {}h{:02}m{:02}s",
        secs / 86400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// The soft limit on open files (each connection needs one), from
/// /proc/self/limits; 0 when unreadable.
fn open_files_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// `show stat`: the stats page's CSV, filtered. At level user the server
/// addresses and cookies are blanked, as HAProxy does for sessions below
/// operator.
pub fn stat(rt: &Runtime, f: &StatFilter, level: Level) -> String {
    let mut rows = snapshot::take(rt);
    rows.retain(|r| {
        let proxy_ok = f
            .proxy
            .as_deref()
            .is_none_or(|p| r.get("pxname") == p || r.get("iid") == p);
        let bit = match r.kind {
            Kind::Frontend => 1,
            Kind::Backend => 2,
            Kind::Server => 4,
        };
        let type_ok = f.types.is_none_or(|t| t & bit != 0);
        let sid_ok = f
            .sid
            .is_none_or(|sid| r.kind != Kind::Server || r.get("sid") == sid.to_string());
        let status = r.get("status");
        let up_ok = !f.up_only
            || r.kind != Kind::Server
            || status.starts_with("UP")
            || status == "no check";
        let maint_ok = !f.no_maint || r.kind != Kind::Server || !status.starts_with("MAINT");
        proxy_ok && type_ok && sid_ok && up_ok && maint_ok
    });
    if level < Level::Operator {
        for r in &mut rows {
            for col in ["addr", "cookie"] {
                if let Some(i) = COLUMNS.iter().position(|c| *c == col) {
                    r.values[i].clear();
                }
            }
        }
    }
    if f.typed {
        return super::typed::stat(&rows);
    }
    crate::stats::csv::render(&rows)
}

/// `show backend`.
pub fn backends(rt: &Runtime) -> String {
    let mut out = String::from("# name\n");
    for b in &rt.backends {
        let _ = writeln!(out, "{}", b.name);
    }
    out
}

/// `show env [NAME]`.
pub fn env(name: Option<&str>) -> String {
    match name {
        Some(n) => match std::env::var_os(n) {
            Some(v) => format!("{n}={}\n", v.to_string_lossy()),
            None => "Variable not found\n".into(),
        },
        None => {
            let mut out = String::new();
            for (k, v) in std::env::vars_os() {
                let _ = writeln!(out, "{}={}", k.to_string_lossy(), v.to_string_lossy());
            }
            out
        }
    }
}

/// `show servers state [BACKEND]`: the server-state-file layout
/// (version 1), one line per server. The numbers are HAProxy's: the
/// operational state (0 stopped, 2 running), the admin flags (0x01 forced
/// maintenance, 0x04 `disabled` in the configuration, 0x08 forced drain),
/// the check status code and result.
pub fn servers_state(rt: &Runtime, backend: Option<&str>) -> String {
    let ids = proxy_ids(rt);
    let backends: Vec<_> = match backend {
        Some(name) => match rt.backends.iter().find(|b| b.name == name) {
            Some(b) => vec![b],
            None => return "Can't find backend.\n".into(),
        },
        None => rt.backends.iter().collect(),
    };
    let mut out = String::from(
        "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n",
    );
    for be in backends {
        let be_id = ids
            .iter()
            .find(|(n, _)| *n == be.name)
            .map_or("0", |(_, id)| id.as_str());
        for (i, srv) in be.servers.iter().enumerate() {
            let st = &srv.state;
            let check = st.check.lock().map(|c| c.clone()).unwrap_or_default();
            // In maintenance a server is stopped, and its checks paused
            // (HAProxy's CHK_ST_PAUSED, 0x8).
            let maint = st.rmaint() || st.admin() == Admin::Maint;
            let op = match st.health() {
                Status::Up if !maint => 2,
                _ => 0,
            };
            let mut admin = match st.admin() {
                Admin::Ready => 0,
                Admin::Maint => 1,
                Admin::Drain => 8,
            };
            // HAProxy's RMAINT (no address from DNS) is 0x20; a server
            // made for SRV records carries HMAINT (0x40) as 2.6 shows it.
            let srv_label = srv.dns.as_ref().filter(|d| d.srv_label);
            if st.rmaint() {
                admin |= 0x20;
            }
            if srv_label.is_some() {
                admin |= 0x40;
            }
            let fqdn = match &srv.dns {
                Some(d) if d.srv_label => st
                    .srv_target
                    .lock()
                    .ok()
                    .and_then(|t| t.clone())
                    .unwrap_or_else(|| "-".into()),
                Some(d) => d.fqdn.clone(),
                None => "-".into(),
            };
            let record = srv_label.map_or("-", |d| d.fqdn.as_str());
            let since = check
                .last_change
                .unwrap_or(rt.global.started)
                .elapsed()
                .unwrap_or(Duration::ZERO)
                .as_secs();
            let (status, result) = match (srv.check.is_some(), check.status) {
                (false, _) | (true, "") => (1, 0),
                (true, code) => (
                    check_status_number(code),
                    if code.ends_with("OK") || code.starts_with("L7OK") {
                        3
                    } else {
                        2
                    },
                ),
            };
            let (ip, port) = srv.address();
            let port = port.unwrap_or(0);
            let ip = if st.rmaint() {
                "-".to_string()
            } else {
                ip.to_string()
            };
            let _ = writeln!(
                out,
                "{be_id} {} {} {} {ip} {op} {admin} {} {} {since} {status} {result} {} {} 0 0 0 {fqdn} {port} {record} {} 0 - - 0",
                be.name,
                i + 1,
                srv.name,
                st.weight(),
                st.initial_weight(),
                match (op, &srv.check) {
                    (0, _) => 0,
                    (_, Some(c)) => c.rise + c.fall - 1,
                    // Unchecked servers count as fully up: `rise` (default 2).
                    (_, None) => 2,
                },
                match (srv.check.is_some() && st.checks_enabled(), maint) {
                    (true, true) => 14,
                    (true, false) => 6,
                    (false, _) => 0,
                },
                u8::from(srv.tls.is_some()),
            );
        }
    }
    out
}

/// HAProxy's numbers for check statuses (`enum healthcheck_status`).
fn check_status_number(code: &str) -> u8 {
    match code {
        "SOCKERR" => 5,
        "L4OK" => 6,
        "L4TOUT" => 7,
        "L4CON" => 8,
        "L6OK" => 9,
        "L6TOUT" => 10,
        "L6RSP" => 11,
        "L7TOUT" => 12,
        "L7RSP" => 13,
        "L7OK" => 15,
        "L7OKC" => 16,
        "L7STS" => 17,
        _ => 0,
    }
}

/// Each proxy's id, as the stats page numbers them (`iid`).
fn proxy_ids(rt: &Runtime) -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = Vec::new();
    for r in snapshot::take(rt) {
        let name = r.get("pxname");
        if !ids.iter().any(|(n, _)| n == name) {
            ids.push((name.to_string(), r.get("iid").to_string()));
        }
    }
    ids
}
