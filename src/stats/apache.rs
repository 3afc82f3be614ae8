//! httpd's mod_status page in its own layout, from fulcrum's figures, for
//! what scrapes a converted Apache site's `/server-status` (Pacemaker's
//! apache agent, check_apache, collectd, Zabbix): the `?auto` text and
//! the HTML page, with mod_proxy's `ProxyBalancer[i]Worker[j]` lines.
//!
//! A field fulcrum has no figure for is left out rather than invented:
//! Server Built, Total Duration and DurationPerReq, the ConnsAsync*
//! counts, CPUChildren*. What the others
//! mean here: BusyWorkers are the connections in progress, IdleWorkers
//! the connections `maxconn` still allows, and the scoreboard has a `W`
//! for each busy one and a `_` for each idle one (at most 1,024 slots).

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use crate::runtime::{Runtime, Server};
use crate::state::Status;
use crate::util::date::apache_date;

/// The most scoreboard slots written.
const SLOTS: u64 = 1024;

/// Which form: `?auto` (any query holding "auto", as httpd reads it) or HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Machine-readable `Key: value` lines.
    Auto,
    /// The HTML page.
    Html,
}

impl Form {
    /// The form a request's query asks for.
    pub fn of(query: Option<&[u8]>) -> Form {
        match query {
            Some(q) if q.windows(4).any(|w| w == b"auto") => Form::Auto,
            _ => Form::Html,
        }
    }

    /// The answer's Content-Type, httpd's.
    pub fn content_type(self) -> &'static str {
        match self {
            Form::Auto => "text/plain; charset=ISO-8859-1",
            Form::Html => "text/html; charset=ISO-8859-1",
        }
    }
}

/// The figures both forms show.
struct Figures {
    uptime: u64,
    accesses: u64,
    bytes: u64,
    busy: u64,
    idle: u64,
    cpu: Option<(f64, f64)>,
    load: Option<[String; 3]>,
}

fn figures(rt: &Runtime) -> Figures {
    let uptime = rt
        .global
        .started
        .elapsed()
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let sum = |f: &dyn Fn(&crate::state::ProxyCounters) -> u64| -> u64 {
        rt.frontends.iter().map(|fe| f(&fe.counters)).sum()
    };
    let busy = sum(&|c| c.cur_sessions.load(Relaxed));
    let maxconn = rt.global.maxconn.map(u64::from).unwrap_or(SLOTS);
    Figures {
        uptime,
        accesses: sum(&|c| c.requests.load(Relaxed)),
        bytes: sum(&|c| c.bytes_out.load(Relaxed)),
        busy,
        idle: maxconn.saturating_sub(busy),
        cpu: cpu_seconds(),
        load: load_average(),
    }
}

/// The process's user and system CPU seconds (`/proc/self/stat`, in the
/// kernel's 100 ticks a second).
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which may hold spaces: state is the
    // first, utime the 12th, stime the 13th.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace().skip(11);
    let user: f64 = f.next()?.parse().ok()?;
    let system: f64 = f.next()?.parse().ok()?;
    Some((user / 100.0, system / 100.0))
}

fn load_average() -> Option<[String; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut f = text.split_whitespace();
    Some([
        f.next()?.to_string(),
        f.next()?.to_string(),
        f.next()?.to_string(),
    ])
}

/// httpd's uptime words: "1 day 2 hours 3 minutes 4 seconds".
fn uptime_words(secs: u64) -> String {
    let mut out = String::new();
    for (n, unit) in [
        (secs / 86_400, "day"),
        (secs / 3600 % 24, "hour"),
        (secs / 60 % 60, "minute"),
        (secs % 60, "second"),
    ] {
        if n > 0 {
            let _ = write!(out, " {n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    out.trim_start().to_string()
}

fn scoreboard(f: &Figures) -> String {
    let busy = f.busy.min(SLOTS);
    let idle = f.idle.min(SLOTS - busy);
    let mut s = "W".repeat(busy as usize);
    s.push_str(&"_".repeat(idle as usize));
    s
}

/// httpd's status words for a member: the flags, then `Ok` if usable,
/// each followed by a space (as httpd writes them).
pub(super) fn worker_status(s: &Server) -> String {
    let mut out = String::from("Init ");
    match s.state.status() {
        Status::Maint => out.push_str("Dis "),
        Status::Down => out.push_str("Err "),
        Status::Drain => out.push_str("Drn "),
        Status::Up => {}
    }
    if s.backup {
        out.push_str("Stby ");
    }
    if s.state.usable() {
        out.push_str("Ok ");
    }
    out
}

/// A server as httpd names a member: scheme://host[:port].
pub(super) fn worker_name(s: &Server) -> String {
    let scheme = if s.tls.is_some() { "https" } else { "http" };
    let looks_like_authority = s
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    if looks_like_authority {
        format!("{scheme}://{}", s.name)
    } else {
        format!("{scheme}://{}", s.addr)
    }
}

/// The page for `server_name` (what httpd puts first: the Host asked for).
pub fn render(rt: &Runtime, form: Form, server_name: &str) -> String {
    let f = figures(rt);
    match form {
        Form::Auto => auto(rt, &f, server_name),
        Form::Html => html(rt, &f, server_name),
    }
}

fn auto(rt: &Runtime, f: &Figures, server_name: &str) -> String {
    let mut o = String::new();
    // Rates over the first second count it as a whole one.
    let up = f.uptime.max(1) as f64;
    let now = SystemTime::now();
    let _ = writeln!(o, "{server_name}");
    let _ = writeln!(o, "ServerVersion: fulcrum/{}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(o, "ServerMPM: event");
    let _ = writeln!(o, "CurrentTime: {}", apache_date(now));
    let _ = writeln!(o, "RestartTime: {}", apache_date(rt.global.started));
    let _ = writeln!(o, "ParentServerConfigGeneration: 1");
    let _ = writeln!(o, "ParentServerMPMGeneration: 0");
    let _ = writeln!(o, "ServerUptimeSeconds: {}", f.uptime);
    let _ = writeln!(o, "ServerUptime: {}", uptime_words(f.uptime));
    if let Some([l1, l5, l15]) = &f.load {
        let _ = writeln!(o, "Load1: {l1}\nLoad5: {l5}\nLoad15: {l15}");
    }
    let _ = writeln!(o, "Total Accesses: {}", f.accesses);
    let _ = writeln!(o, "Total kBytes: {}", f.bytes >> 10);
    if let Some((user, system)) = f.cpu {
        let _ = writeln!(o, "CPUUser: {user}\nCPUSystem: {system}");
        let load = (user + system) / up * 100.0;
        let _ = writeln!(o, "CPULoad: {load:.6}");
    }
    let _ = writeln!(o, "Uptime: {}", f.uptime);
    let _ = writeln!(o, "ReqPerSec: {:.6}", f.accesses as f64 / up);
    let _ = writeln!(o, "BytesPerSec: {:.6}", f.bytes as f64 / up);
    if f.accesses > 0 {
        let _ = writeln!(o, "BytesPerReq: {:.6}", f.bytes as f64 / f.accesses as f64);
    }
    let _ = writeln!(o, "BusyWorkers: {}", f.busy);
    let _ = writeln!(o, "GracefulWorkers: 0");
    let _ = writeln!(o, "IdleWorkers: {}", f.idle);
    let _ = writeln!(o, "Processes: 1");
    let _ = writeln!(o, "Stopping: 0");
    let _ = writeln!(o, "ConnsTotal: {}", f.busy);
    let _ = writeln!(o, "Scoreboard: {}", scoreboard(f));
    for (i, be) in balancers(rt).enumerate() {
        let _ = writeln!(o, "ProxyBalancer[{i}]Name: balancer://{}", be.name);
        for (j, s) in be.servers.iter().enumerate() {
            let st = &s.state;
            let p = format!("ProxyBalancer[{i}]Worker[{j}]");
            let _ = writeln!(o, "{p}Name: {}", worker_name(s));
            let _ = writeln!(o, "{p}Status: {}", worker_status(s));
            let _ = writeln!(o, "{p}Elected: {}", st.total_sessions.load(Relaxed));
            let _ = writeln!(o, "{p}Busy: {}", st.cur_sessions.load(Relaxed));
            let _ = writeln!(o, "{p}Sent: {}K", st.bytes_in.load(Relaxed) >> 10);
            let _ = writeln!(o, "{p}Rcvd: {}K", st.bytes_out.load(Relaxed) >> 10);
        }
    }
    o
}

/// The backends with servers: httpd's balancers.
pub(super) fn balancers(rt: &Runtime) -> impl Iterator<Item = &crate::runtime::Backend> {
    rt.backends
        .iter()
        .map(|b| &**b)
        .filter(|b| !b.servers.is_empty())
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(rt: &Runtime, f: &Figures, server_name: &str) -> String {
    let mut o = String::new();
    let now = SystemTime::now();
    let _ = write!(
        o,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head>\n<title>Apache Status</title>\n</head><body>\n\
         <h1>Apache Server Status for {} (served by fulcrum)</h1>\n\n",
        esc(server_name)
    );
    let _ = writeln!(
        o,
        "<dl><dt>Server Version: fulcrum/{}</dt>\n<dt>Server MPM: event</dt>\n</dl><hr /><dl>",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(o, "<dt>Current Time: {}</dt>", apache_date(now));
    let _ = writeln!(
        o,
        "<dt>Restart Time: {}</dt>",
        apache_date(rt.global.started)
    );
    let _ = writeln!(o, "<dt>Server uptime: {}</dt>", uptime_words(f.uptime));
    let _ = writeln!(
        o,
        "<dt>Total accesses: {} - Total Traffic: {} kB</dt>",
        f.accesses,
        f.bytes >> 10
    );
    let _ = writeln!(
        o,
        "<dt>{} requests currently being processed, {} idle workers</dt>\n</dl>",
        f.busy, f.idle
    );
    let _ = writeln!(o, "<pre>{}</pre>", scoreboard(f));
    for be in balancers(rt) {
        let _ = writeln!(
            o,
            "<hr />\n<h1>Proxy LoadBalancer Status for balancer://{}</h1>\n\n\n\n<table><tr><th>Sch</th><th>Host</th><th>Stat</th><th>Route</th><th>Redir</th><th>F</th><th>Set</th><th>Acc</th><th>Busy</th><th>Wr</th><th>Rd</th></tr>",
            esc(&be.name)
        );
        for s in &be.servers {
            let st = &s.state;
            let name = worker_name(s);
            let (scheme, host) = name.split_once("://").unwrap_or(("http", &name));
            let _ = writeln!(
                o,
                "<tr><td>{scheme}</td><td>{}</td><td>{}</td><td></td><td></td><td>{}</td><td>0</td><td>{}</td><td>{}</td><td>{}K</td><td>{}K</td></tr>",
                esc(host),
                worker_status(s).trim_end(),
                s.weight,
                st.total_sessions.load(Relaxed),
                st.cur_sessions.load(Relaxed),
                st.bytes_in.load(Relaxed) >> 10,
                st.bytes_out.load(Relaxed) >> 10
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_in_httpds_words() {
        assert_eq!(uptime_words(41), "41 seconds");
        assert_eq!(uptime_words(90_061), "1 day 1 hour 1 minute 1 second");
        assert_eq!(uptime_words(7200), "2 hours");
    }

    #[test]
    fn auto_is_any_query_holding_auto() {
        assert_eq!(Form::of(Some(b"auto")), Form::Auto);
        assert_eq!(Form::of(Some(b"x=1&refresh=5&auto")), Form::Auto);
        assert_eq!(Form::of(Some(b"refresh=5")), Form::Html);
        assert_eq!(Form::of(None), Form::Html);
    }
}
