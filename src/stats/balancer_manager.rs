//! httpd's `/balancer-manager` page, read only, from fulcrum's figures:
//! a table per balancer (a backend with servers) and one per member, with
//! httpd's columns, for what reads a converted site's page. There are no
//! forms, no nonce, and no `?xml` form (httpd gives that only with a
//! Referer of its own); a member's route is not known here (it lives in
//! the converted `use-server` rules), so that column is empty.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use super::apache::{balancers, esc, worker_name, worker_status};
use crate::config::model::Balance;
use crate::runtime::Runtime;

/// httpd's name for a balancing method.
fn method(b: &Balance) -> &'static str {
    match b {
        Balance::Leastconn => "bybusyness",
        _ => "byrequests",
    }
}

/// Bytes as httpd's `apr_strfsize` writes them: `512 `, `5.6K`, `12M`.
fn size(n: u64) -> String {
    match n {
        0..1024 => format!("{n} "),
        1024..1_048_576 => format!("{:.1}K", n as f64 / 1024.0),
        _ => format!("{:.1}M", n as f64 / 1_048_576.0),
    }
}

/// The page for `server_name`.
pub fn render(rt: &Runtime, server_name: &str) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head><title>Balancer Manager</title>\n</head><body>\n\
         <h1>Load Balancer Manager for {}</h1>\n\n<dl><dt>Server Version: fulcrum/{} (read only)</dt>\n</dl>\n",
        esc(server_name),
        env!("CARGO_PKG_VERSION")
    );
    for be in balancers(rt) {
        let name = esc(&be.name);
        let n = be.servers.len();
        let _ = write!(
            o,
            "<hr />\n<h3>LoadBalancer Status for balancer://{name}</h3>\n\n\n\
             <table><tr><th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th><th>Timeout</th>\
             <th>FailoverAttempts</th><th>Method</th><th>Path</th><th>Active</th></tr>\n\
             <tr><td>{n} [{n} Used]</td><td>(-)</td><td>Off</td><td>0</td><td>{}</td><td>{}</td><td>/</td><td>Yes</td></tr>\n\
             </table>\n<br />\n\n<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th>\
             <th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th></tr>\n",
            be.retries,
            method(be.balancer.balance())
        );
        for s in &be.servers {
            let st = &s.state;
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td></td><td></td><td>{}.00</td><td>0</td><td>{}</td><td>{}</td><td>{}</td><td>0</td><td>{}</td><td>{}</td></tr>",
                esc(&worker_name(s)),
                s.weight,
                worker_status(s),
                st.total_sessions.load(Relaxed),
                st.cur_sessions.load(Relaxed),
                size(st.bytes_in.load(Relaxed)),
                size(st.bytes_out.load(Relaxed))
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
    fn sizes_as_httpd_writes_them() {
        assert_eq!(size(512), "512 ");
        assert_eq!(size(5734), "5.6K");
        assert_eq!(size(12 * 1_048_576), "12.0M");
    }
}
