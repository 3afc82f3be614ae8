//! One reading of every counter and state, in HAProxy's stats vocabulary:
//! a row per frontend, per server and per backend, the columns of HAProxy's
//! CSV (`show stat`), so the CSV, HTML and JSON views say the same thing.

use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use crate::config::model::Mode;
use crate::runtime::{Backend, Runtime};
use crate::state::latency::{percentiles, Percentiles};
use crate::state::{ProxyCounters, Status};

/// HAProxy 2.6's CSV columns, in order (the "-" separates the generic
/// columns from the per-protocol ones).
pub const COLUMNS: [&str; 128] = [
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
    "-",
    "ssl_sess",
    "ssl_reused_sess",
    "ssl_failed_handshake",
    "h2_headers_rcvd",
    "h2_data_rcvd",
    "h2_settings_rcvd",
    "h2_rst_stream_rcvd",
    "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors",
    "h2_detected_strm_protocol_errors",
    "h2_rst_stream_resp",
    "h2_goaway_resp",
    "h2_open_connections",
    "h2_backend_open_streams",
    "h2_total_connections",
    "h2_backend_total_streams",
    "h1_open_connections",
    "h1_open_streams",
    "h1_total_connections",
    "h1_total_streams",
    "h1_bytes_in",
    "h1_bytes_out",
    "h1_spliced_bytes_in",
    "h1_spliced_bytes_out",
];

/// What a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A frontend (type 0).
    Frontend,
    /// A backend (type 1).
    Backend,
    /// A server (type 2).
    Server,
}

/// How a server row is coloured on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Not a server.
    Plain,
    /// Up (active or backup).
    Up,
    /// Down.
    Down,
    /// Up, failing checks.
    GoingDown,
    /// Down, passing checks.
    GoingUp,
    /// In maintenance.
    Maint,
    /// Draining.
    Drain,
    /// Not checked.
    NoCheck,
}

/// One row: values by column index, empty where HAProxy leaves them empty.
#[derive(Debug, Clone)]
pub struct Row {
    /// What it is.
    pub kind: Kind,
    /// A backup server.
    pub backup: bool,
    /// Colour class.
    pub look: Look,
    /// The values, one per column of [`COLUMNS`].
    pub values: Vec<String>,
    /// Response-time percentiles (servers and backends).
    pub latency: Option<Percentiles>,
    /// TLS handshakes completed and failed (frontends with `bind ... ssl`),
    /// HAProxy's SSL module fields `ssl_sess` and `ssl_failed_handshake`.
    pub tls: Option<(u64, u64)>,
}

impl Row {
    fn new(kind: Kind, px: &str, sv: &str) -> Row {
        let mut values = vec![String::new(); COLUMNS.len()];
        values[0] = px.to_string();
        values[1] = sv.to_string();
        values[32] = match kind {
            Kind::Frontend => "0",
            Kind::Backend => "1",
            Kind::Server => "2",
        }
        .to_string();
        values[26] = "1".into(); // pid: one process
        Row {
            kind,
            backup: false,
            look: Look::Plain,
            values,
            latency: None,
            tls: None,
        }
    }

    fn set(&mut self, col: &str, v: impl ToString) {
        if let Some(i) = COLUMNS.iter().position(|c| *c == col) {
            self.values[i] = v.to_string();
        }
    }

    /// The value of a column.
    pub fn get(&self, col: &str) -> &str {
        COLUMNS
            .iter()
            .position(|c| *c == col)
            .map(|i| self.values[i].as_str())
            .unwrap_or("")
    }
}

fn hrsp(row: &mut Row, h: &[std::sync::atomic::AtomicU64; 6]) {
    for (col, v) in [
        "hrsp_1xx",
        "hrsp_2xx",
        "hrsp_3xx",
        "hrsp_4xx",
        "hrsp_5xx",
        "hrsp_other",
    ]
    .iter()
    .zip(h)
    {
        row.set(col, v.load(Relaxed));
    }
}

fn counters(row: &mut Row, c: &ProxyCounters, http: bool) {
    row.set("scur", c.cur_sessions.load(Relaxed));
    row.set("stot", c.total_sessions.load(Relaxed));
    row.set("bin", c.bytes_in.load(Relaxed));
    row.set("bout", c.bytes_out.load(Relaxed));
    row.set("ereq", c.request_errors.load(Relaxed));
    row.set("dreq", c.denied_req.load(Relaxed));
    row.set("dresp", c.denied_resp.load(Relaxed));
    if http {
        hrsp(row, &c.hrsp);
        row.set("req_tot", c.requests.load(Relaxed));
    }
}

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Tcp => "tcp",
        Mode::Http => "http",
    }
}

fn secs_since(t: Option<SystemTime>) -> String {
    t.and_then(|t| t.elapsed().ok())
        .map(|d| d.as_secs().to_string())
        .unwrap_or_default()
}

/// Reads every row, proxy by proxy as HAProxy lists them: the frontend row,
/// then the servers, then the backend row (a listen has all three).
pub fn take(rt: &Runtime) -> Vec<Row> {
    let mut rows = Vec::new();
    // A proxy's id, as HAProxy numbers them: 1, 2, ... in order of first
    // appearance; a listen's two sides share one.
    // With a stats socket, HAProxy's runtime API has a proxy of its own
    // (GLOBAL) that takes id 1: the numbering then starts at 2.
    let mut ids: Vec<&str> = if rt.global.cli.is_empty() {
        Vec::new()
    } else {
        vec![""]
    };
    fn iid<'a>(name: &'a str, ids: &mut Vec<&'a str>) -> usize {
        match ids.iter().position(|n| *n == name) {
            Some(i) => i + 1,
            None => {
                ids.push(name);
                ids.len()
            }
        }
    }
    let mut done = vec![false; rt.backends.len()];
    for fe in &rt.frontends {
        let id = iid(&fe.name, &mut ids);
        let mut r = Row::new(Kind::Frontend, &fe.name, "FRONTEND");
        counters(&mut r, &fe.counters, fe.mode == Mode::Http);
        r.set(
            "slim",
            fe.limit
                .as_ref()
                .map(|l| l.size().to_string())
                .unwrap_or_default(),
        );
        // `disable frontend` shows as HAProxy shows a paused proxy.
        let paused = fe.counters.paused.load(Relaxed);
        r.set("status", if paused { "PAUSED" } else { "OPEN" });
        if !fe.tls.is_empty() {
            r.tls = Some((
                fe.counters.tls_handshakes.load(Relaxed),
                fe.counters.tls_failures.load(Relaxed),
            ));
        }
        r.set("iid", id);
        r.set("sid", 0);
        r.set("mode", mode(fe.mode));
        rows.push(r);
        if let Some(bi) = rt.backends.iter().position(|b| b.name == fe.name) {
            done[bi] = true;
            backend_rows(rt, bi, id, &mut rows);
        }
    }
    for (bi, _) in done.iter().enumerate().filter(|(_, d)| !**d) {
        let id = iid(&rt.backends[bi].name, &mut ids);
        backend_rows(rt, bi, id, &mut rows);
    }
    rows
}

fn backend_rows(rt: &Runtime, bi: usize, iid: usize, rows: &mut Vec<Row>) {
    let be = &rt.backends[bi];
    for si in 0..be.servers.len() {
        rows.push(server_row(rt, be, si, iid, si + 1));
    }
    let mut r = Row::new(Kind::Backend, &be.name, "BACKEND");
    counters(&mut r, &be.counters, be.mode == Mode::Http);
    let usable = be.servers.iter().filter(|s| s.state.usable()).count();
    r.set(
        "status",
        if usable > 0 || be.servers.is_empty() {
            "UP"
        } else {
            "DOWN"
        },
    );
    let weight: u32 = be
        .servers
        .iter()
        .filter(|s| s.state.usable())
        .map(|s| s.state.weight())
        .sum();
    r.set("weight", weight);
    r.set(
        "act",
        be.servers
            .iter()
            .filter(|s| !s.backup && s.state.usable())
            .count(),
    );
    r.set(
        "bck",
        be.servers
            .iter()
            .filter(|s| s.backup && s.state.usable())
            .count(),
    );
    r.set("iid", iid);
    r.set("sid", 0);
    let total = |f: fn(&crate::state::ServerState) -> &std::sync::atomic::AtomicU64| {
        be.servers
            .iter()
            .map(|s| f(&s.state).load(Relaxed))
            .sum::<u64>()
    };
    r.set("wretr", total(|s| &s.retries));
    r.set("wredis", total(|s| &s.redispatches));
    r.set("econ", total(|s| &s.connect_errors));
    r.set("eresp", total(|s| &s.response_errors));
    r.set("mode", mode(be.mode));
    r.set("algo", be.algo);
    let mut merged = None;
    for s in &be.servers {
        s.state.latency.merge_into(&mut merged);
    }
    r.latency = Some(percentiles(merged.as_ref()));
    rows.push(r);
}

fn server_row(rt: &Runtime, be: &Backend, si: usize, iid: usize, sid: usize) -> Row {
    let s = &be.servers[si];
    let st = &s.state;
    let mut r = Row::new(Kind::Server, &be.name, &s.name);
    r.backup = s.backup;
    r.latency = Some(st.latency.percentiles());
    r.set("qcur", 0);
    r.set("qmax", 0);
    r.set("scur", st.cur_sessions.load(Relaxed));
    r.set("smax", st.max_sessions.load(Relaxed));
    r.set(
        "slim",
        s.limit
            .as_ref()
            .map(|l| l.size().to_string())
            .unwrap_or_default(),
    );
    r.set("stot", st.total_sessions.load(Relaxed));
    r.set("lbtot", st.total_sessions.load(Relaxed));
    r.set("bin", st.bytes_in.load(Relaxed));
    r.set("bout", st.bytes_out.load(Relaxed));
    r.set("econ", st.connect_errors.load(Relaxed));
    r.set("eresp", st.response_errors.load(Relaxed));
    r.set("wretr", st.retries.load(Relaxed));
    r.set("wredis", st.redispatches.load(Relaxed));
    if s.observe.is_some() {
        r.set("hanafail", st.hana_failures.load(Relaxed));
    }
    // The weight in force, scaled during a slowstart warm-up; the user
    // weight as set.
    r.set("weight", st.effective_weight());
    r.set("uweight", st.weight());
    r.set("act", u8::from(!s.backup));
    r.set("bck", u8::from(s.backup));
    r.set("iid", iid);
    r.set("sid", sid);
    r.set("mode", mode(be.mode));
    let (ip, port) = s.address();
    r.set(
        "addr",
        match port {
            Some(p) => format!("{ip}:{p}"),
            None => ip.to_string(),
        },
    );
    let check = st.check.lock().map(|c| c.clone()).unwrap_or_default();
    let status = st.status();
    let checked_by = s.track;
    let (word, look) = match status {
        Status::Maint if st.rmaint() => ("MAINT (resolution)".to_string(), Look::Maint),
        Status::Maint => ("MAINT".to_string(), Look::Maint),
        Status::Drain if st.admin_by_agent() => ("DRAIN (agent)".to_string(), Look::Drain),
        Status::Drain => ("DRAIN".to_string(), Look::Drain),
        Status::Down if st.agent_down() => ("DOWN (agent)".to_string(), Look::Down),
        Status::Up if st.nolb() => ("NOLB".to_string(), Look::Drain),
        // `disable health`: no check phase to show, only what it counts as.
        Status::Up if s.check.is_some() && !st.checks_enabled() => ("UP".to_string(), Look::Up),
        _ if s.check.is_none() && checked_by.is_none() => ("no check".to_string(), Look::NoCheck),
        _ if check.phase.is_empty() || checked_by.is_some() => (
            status.word().to_string(),
            if status == Status::Up {
                Look::Up
            } else {
                Look::Down
            },
        ),
        _ => {
            let look = if check.phase.starts_with("UP ") {
                Look::GoingDown
            } else if check.phase.starts_with("DOWN ") {
                Look::GoingUp
            } else if check.phase == "UP" {
                Look::Up
            } else {
                Look::Down
            };
            (check.phase.clone(), look)
        }
    };
    r.look = look;
    r.set("status", &word);
    if let Some((tb, ts)) = s.track {
        r.set(
            "tracked",
            format!(
                "{}/{}",
                rt.backends[tb].name, rt.backends[tb].servers[ts].name
            ),
        );
    }
    if let Some(c) = &s.check {
        r.set("chkfail", st.check_failures.load(Relaxed));
        r.set("chkdown", st.down_transitions.load(Relaxed));
        r.set("check_rise", c.rise);
        r.set("check_fall", c.fall);
        if !check.status.is_empty() {
            r.set("check_status", check.status);
            r.set(
                "check_code",
                check.code.map(|c| c.to_string()).unwrap_or_default(),
            );
            r.set("check_duration", check.duration.as_millis());
        }
    }
    r.set("lastchg", secs_since(check.last_change));
    if be.mode == Mode::Http {
        hrsp(&mut r, &st.hrsp);
    }
    if s.check.is_some() || s.track.is_some() {
        let down_now = check
            .down_since
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        r.set("downtime", (check.downtime + down_now).as_secs());
    }
    r
}
