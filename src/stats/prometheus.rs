//! Prometheus text exposition, served where HAProxy serves its exporter
//! (`http-request use-service prometheus-exporter if { path /metrics }`),
//! with HAProxy's metric names and labels where fulcrum has the figure.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use crate::runtime::Runtime;
use crate::state::Status;

struct Out(String);

impl Out {
    fn head(&mut self, name: &str, help: &str, kind: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn line(&mut self, name: &str, labels: &str, v: impl std::fmt::Display) {
        let _ = writeln!(self.0, "{name}{{{labels}}} {v}");
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

const CHECK_STATES: [&str; 7] = [
    "L4OK", "L4TOUT", "L4CON", "L7OK", "L7STS", "L7RSP", "L7TOUT",
];

/// The whole exposition.
pub fn render(rt: &Runtime) -> String {
    let mut o = Out(String::new());
    o.head(
        "haproxy_process_nbthread",
        "Number of started threads (global.nbthread).",
        "gauge",
    );
    let _ = writeln!(o.0, "haproxy_process_nbthread {}", rt.global.nbthread);

    type FeMetric = (
        &'static str,
        &'static str,
        &'static str,
        fn(&crate::runtime::Frontend) -> u64,
    );
    let fe_metrics: [FeMetric; 8] = [
        (
            "haproxy_frontend_current_sessions",
            "Number of current sessions.",
            "gauge",
            |f| f.counters.cur_sessions.load(Relaxed),
        ),
        (
            "haproxy_frontend_sessions_total",
            "Total number of sessions.",
            "counter",
            |f| f.counters.total_sessions.load(Relaxed),
        ),
        (
            "haproxy_frontend_bytes_in_total",
            "Current total of incoming bytes.",
            "counter",
            |f| f.counters.bytes_in.load(Relaxed),
        ),
        (
            "haproxy_frontend_bytes_out_total",
            "Current total of outgoing bytes.",
            "counter",
            |f| f.counters.bytes_out.load(Relaxed),
        ),
        (
            "haproxy_frontend_request_errors_total",
            "Total of request errors.",
            "counter",
            |f| f.counters.request_errors.load(Relaxed),
        ),
        (
            "haproxy_frontend_requests_denied_total",
            "Total number of denied requests.",
            "counter",
            |f| f.counters.denied_req.load(Relaxed),
        ),
        (
            "haproxy_frontend_ssl_sessions_total",
            "Total number of TLS handshakes completed.",
            "counter",
            |f| f.counters.tls_handshakes.load(Relaxed),
        ),
        (
            "haproxy_frontend_ssl_failed_handshake_total",
            "Total number of failed TLS handshakes.",
            "counter",
            |f| f.counters.tls_failures.load(Relaxed),
        ),
    ];
    for (name, help, kind, get) in fe_metrics {
        o.head(name, help, kind);
        for f in &rt.frontends {
            o.line(name, &format!("proxy=\"{}\"", esc(&f.name)), get(f));
        }
    }
    const CODES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
    let http_fe = || {
        rt.frontends
            .iter()
            .filter(|f| f.mode == crate::config::model::Mode::Http)
    };
    o.head(
        "haproxy_frontend_http_requests_total",
        "Total number of HTTP requests received.",
        "counter",
    );
    for f in http_fe() {
        o.line(
            "haproxy_frontend_http_requests_total",
            &format!("proxy=\"{}\"", esc(&f.name)),
            f.counters.requests.load(Relaxed),
        );
    }
    o.head(
        "haproxy_frontend_http_responses_total",
        "Total number of HTTP responses.",
        "counter",
    );
    for f in http_fe() {
        for (code, v) in CODES.iter().zip(&f.counters.hrsp) {
            o.line(
                "haproxy_frontend_http_responses_total",
                &format!("proxy=\"{}\",code=\"{code}\"", esc(&f.name)),
                v.load(Relaxed),
            );
        }
    }
    o.head(
        "haproxy_server_http_responses_total",
        "Total number of HTTP responses.",
        "counter",
    );
    for b in rt
        .backends
        .iter()
        .filter(|b| b.mode == crate::config::model::Mode::Http)
    {
        for s in &b.servers {
            for (code, v) in CODES.iter().zip(&s.state.hrsp) {
                o.line(
                    "haproxy_server_http_responses_total",
                    &format!(
                        "proxy=\"{}\",server=\"{}\",code=\"{code}\"",
                        esc(&b.name),
                        esc(&s.name)
                    ),
                    v.load(Relaxed),
                );
            }
        }
    }
    o.head(
        "haproxy_frontend_status",
        "Current status of the service, per state label value.",
        "gauge",
    );
    for f in &rt.frontends {
        for (state, v) in [("DOWN", 0), ("UP", 1)] {
            o.line(
                "haproxy_frontend_status",
                &format!("proxy=\"{}\",state=\"{state}\"", esc(&f.name)),
                v,
            );
        }
    }

    o.head(
        "haproxy_backend_status",
        "Current status of the service, per state label value.",
        "gauge",
    );
    for b in &rt.backends {
        let up = b.servers.is_empty() || b.servers.iter().any(|s| s.state.usable());
        for (state, v) in [("DOWN", u8::from(!up)), ("UP", u8::from(up))] {
            o.line(
                "haproxy_backend_status",
                &format!("proxy=\"{}\",state=\"{state}\"", esc(&b.name)),
                v,
            );
        }
    }
    o.head(
        "haproxy_backend_active_servers",
        "Current number of active servers.",
        "gauge",
    );
    for b in &rt.backends {
        let n = b
            .servers
            .iter()
            .filter(|s| !s.backup && s.state.usable())
            .count();
        o.line(
            "haproxy_backend_active_servers",
            &format!("proxy=\"{}\"", esc(&b.name)),
            n,
        );
    }
    o.head(
        "haproxy_backend_backup_servers",
        "Current number of backup servers.",
        "gauge",
    );
    for b in &rt.backends {
        let n = b
            .servers
            .iter()
            .filter(|s| s.backup && s.state.usable())
            .count();
        o.line(
            "haproxy_backend_backup_servers",
            &format!("proxy=\"{}\"", esc(&b.name)),
            n,
        );
    }
    for (name, help, kind) in [
        (
            "haproxy_backend_bytes_in_total",
            "Current total of incoming bytes.",
            "counter",
        ),
        (
            "haproxy_backend_bytes_out_total",
            "Current total of outgoing bytes.",
            "counter",
        ),
    ] {
        o.head(name, help, kind);
        for b in &rt.backends {
            let v = if name.ends_with("in_total") {
                &b.counters.bytes_in
            } else {
                &b.counters.bytes_out
            };
            o.line(
                name,
                &format!("proxy=\"{}\"", esc(&b.name)),
                v.load(Relaxed),
            );
        }
    }

    type SvMetric = (
        &'static str,
        &'static str,
        &'static str,
        fn(&crate::state::ServerState) -> u64,
    );
    let sv_metrics: [SvMetric; 10] = [
        (
            "haproxy_server_current_sessions",
            "Number of current sessions.",
            "gauge",
            |s| s.cur_sessions.load(Relaxed),
        ),
        (
            "haproxy_server_sessions_total",
            "Total number of sessions.",
            "counter",
            |s| s.total_sessions.load(Relaxed),
        ),
        (
            "haproxy_server_bytes_in_total",
            "Current total of incoming bytes.",
            "counter",
            |s| s.bytes_in.load(Relaxed),
        ),
        (
            "haproxy_server_bytes_out_total",
            "Current total of outgoing bytes.",
            "counter",
            |s| s.bytes_out.load(Relaxed),
        ),
        (
            "haproxy_server_connection_errors_total",
            "Total number of connection errors.",
            "counter",
            |s| s.connect_errors.load(Relaxed),
        ),
        (
            "haproxy_server_response_errors_total",
            "Total number of response errors.",
            "counter",
            |s| s.response_errors.load(Relaxed),
        ),
        (
            "haproxy_server_retry_warnings_total",
            "Total number of retry warnings.",
            "counter",
            |s| s.retries.load(Relaxed),
        ),
        (
            "haproxy_server_redispatch_warnings_total",
            "Total number of redispatch warnings.",
            "counter",
            |s| s.redispatches.load(Relaxed),
        ),
        (
            "haproxy_server_check_failures_total",
            "Total number of failed individual health checks.",
            "counter",
            |s| s.check_failures.load(Relaxed),
        ),
        (
            "haproxy_server_check_up_down_total",
            "Total number of failed checks causing UP to DOWN server transitions.",
            "counter",
            |s| s.down_transitions.load(Relaxed),
        ),
    ];
    for (name, help, kind, get) in sv_metrics {
        o.head(name, help, kind);
        for b in &rt.backends {
            for s in &b.servers {
                o.line(
                    name,
                    &format!("proxy=\"{}\",server=\"{}\"", esc(&b.name), esc(&s.name)),
                    get(&s.state),
                );
            }
        }
    }
    o.head(
        "haproxy_server_status",
        "Current status of the service, per state label value.",
        "gauge",
    );
    for b in &rt.backends {
        for s in &b.servers {
            let st = s.state.status();
            for (state, is) in [
                ("DOWN", Status::Down),
                ("UP", Status::Up),
                ("MAINT", Status::Maint),
                ("DRAIN", Status::Drain),
            ] {
                o.line(
                    "haproxy_server_status",
                    &format!(
                        "proxy=\"{}\",server=\"{}\",state=\"{state}\"",
                        esc(&b.name),
                        esc(&s.name)
                    ),
                    u8::from(st == is),
                );
            }
        }
    }
    o.head(
        "haproxy_server_check_status",
        "Status of last health check, per state label value.",
        "gauge",
    );
    o.head(
        "haproxy_server_check_duration_seconds",
        "Total duration of the latest server health check, in seconds.",
        "gauge",
    );
    for b in &rt.backends {
        for s in &b.servers {
            if s.check.is_none() {
                continue;
            }
            let rec = s.state.check.lock().map(|c| c.clone()).unwrap_or_default();
            let labels = format!("proxy=\"{}\",server=\"{}\"", esc(&b.name), esc(&s.name));
            for state in CHECK_STATES {
                o.line(
                    "haproxy_server_check_status",
                    &format!("{labels},state=\"{state}\""),
                    u8::from(rec.status == state),
                );
            }
            o.line(
                "haproxy_server_check_duration_seconds",
                &labels,
                format!("{:.6}", rec.duration.as_secs_f64()),
            );
        }
    }
    o.0
}
