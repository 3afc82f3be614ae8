//! The HTML view: one self-contained page (no external asset, so it works
//! on a network without internet), a table per proxy with a row per server,
//! in HAProxy's colours and words.

use std::fmt::Write;

use super::snapshot::{Kind, Look, Row};

/// What the page shows around the tables.
pub struct Page<'a> {
    /// Seconds between automatic reloads, if any.
    pub refresh: Option<u64>,
    /// Show fulcrum's version.
    pub show_version: bool,
    /// Show the colour legend.
    pub show_legends: bool,
    /// Hide servers that are not UP (`;up`).
    pub up_only: bool,
    /// The URI of the page, for its links.
    pub uri: &'a str,
    /// Show the admin form (`stats admin` holds for this client).
    pub admin: bool,
    /// The outcome of the last admin action, to show.
    pub notice: Option<&'a str>,
    /// `stats show-node`: the node's name.
    pub node: Option<String>,
    /// `stats show-desc`: a description.
    pub desc: Option<&'a str>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn class(r: &Row) -> &'static str {
    let backup = r.backup;
    match (r.kind, r.look) {
        (Kind::Frontend, _) => "frontend",
        (Kind::Backend, _) => "backend",
        (_, Look::Maint) => "maintain",
        (_, Look::Drain) => {
            if backup {
                "backup_draining"
            } else {
                "active_draining"
            }
        }
        (_, Look::NoCheck) => {
            if backup {
                "backup_no_check"
            } else {
                "active_no_check"
            }
        }
        (_, Look::Down) => {
            if backup {
                "backup_down"
            } else {
                "active_down"
            }
        }
        (_, Look::GoingUp) => {
            if backup {
                "backup_going_up"
            } else {
                "active_going_up"
            }
        }
        (_, Look::GoingDown) => {
            if backup {
                "backup_going_down"
            } else {
                "active_going_down"
            }
        }
        (_, Look::Up | Look::Plain) => {
            if backup {
                "backup_up"
            } else {
                "active_up"
            }
        }
    }
}

const STYLE: &str = "body{font-family:arial,helvetica,sans-serif;font-size:12px;color:black;background:white}\
h1{font-size:x-large;margin-bottom:.5em}\
table.tbl{border-collapse:collapse;margin-bottom:1.5em}\
table.tbl td,table.tbl th{border:1px solid gray;padding:2px 4px;font-size:11px;white-space:nowrap}\
table.tbl td{text-align:right}table.tbl td.name,table.tbl td.ac{text-align:left}\
th.pxname{background:#b00040;color:#ffff40;text-align:left}\
tr.titre th{background:#20D0D0}\
.frontend,.backend{background:#e8e8d0;font-weight:bold}\
.active_up{background:#c0ffc0}.active_down{background:#ff9090}.active_going_up{background:#ffd020}\
.active_going_down{background:#ffffa0}.active_draining{background:#20a0ff}.active_no_check{background:#e0e0e0}\
.backup_up{background:#b0d0ff}.backup_down{background:#ff9090}.backup_going_up{background:#ff80ff}\
.backup_going_down{background:#c060ff}.backup_draining{background:#cc9900}.backup_no_check{background:#e0e0e0}\
.maintain{background:#c07820}\
table.lgd td{padding:2px 6px;border:1px solid gray}";

/// Renders the page.
pub fn render(rows: &[Row], page: &Page) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Statistics Report for fulcrum</title>");
    if let Some(r) = page.refresh {
        let _ = write!(o, "<meta http-equiv=\"refresh\" content=\"{r}\">");
    }
    let _ = write!(
        o,
        "<style>{STYLE}</style></head><body>\n<h1>fulcrum statistics"
    );
    if let Some(n) = &page.node {
        let _ = write!(o, " on node {}", esc(n));
    }
    o.push_str("</h1>\n");
    if let Some(d) = page.desc.filter(|d| !d.is_empty()) {
        let _ = writeln!(o, "<p class=\"desc\">{}</p>", esc(d));
    }
    if page.show_version {
        let _ = writeln!(
            o,
            "<p>fulcrum version {}, process id {}</p>",
            crate::VERSION,
            std::process::id()
        );
    }
    let _ = writeln!(
        o,
        "<p><a href=\"{u};csv\">CSV export</a> &middot; <a href=\"{u};json\">JSON export</a> &middot; <a href=\"{u}{}\">{}</a> &middot; <a href=\"{u}{}\">{}</a></p>",
        if page.up_only { "" } else { ";up" },
        if page.up_only { "Show all servers" } else { "Hide servers that are not UP" },
        if page.refresh.is_some() { ";norefresh" } else { "" },
        if page.refresh.is_some() { "Stop refreshing" } else { "Reload" },
        u = esc(page.uri),
    );
    if let Some(n) = page.notice {
        let _ = writeln!(o, "<p class=\"notice\"><b>{}</b></p>", esc(n));
    }
    if page.show_legends {
        o.push_str("<table class=\"lgd\"><tr><td class=\"active_up\">active UP</td><td class=\"backup_up\">backup UP</td>\
<td class=\"active_going_down\">active UP, going down</td><td class=\"backup_going_down\">backup UP, going down</td>\
<td class=\"active_going_up\">active DOWN, going up</td><td class=\"backup_going_up\">backup DOWN, going up</td>\
<td class=\"active_down\">active or backup DOWN</td><td class=\"active_no_check\">not checked</td>\
<td class=\"maintain\">in maintenance (MAINT)</td><td class=\"active_draining\">draining (DRAIN)</td></tr></table>\n");
    }
    let mut i = 0;
    while i < rows.len() {
        let px = &rows[i].values[0];
        let end = rows[i..]
            .iter()
            .position(|r| r.values[0] != *px)
            .map(|n| i + n)
            .unwrap_or(rows.len());
        let group = &rows[i..end];
        let form = page.admin && group.iter().any(|r| r.kind == Kind::Server);
        if form {
            let _ = write!(o, "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"b\" value=\"{}\"><input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(page.uri), esc(px), super::guard::FIELD, esc(super::guard::token()));
        }
        let _ = write!(
            o,
            "<table class=\"tbl\" id=\"{id}\"><tr><th class=\"pxname\" colspan=\"25\">{name}</th></tr>\n\
<tr class=\"titre\">{sel}<th>Name</th><th>Status</th><th>Last check</th><th>Weight</th><th>Act</th><th>Bck</th>\
<th>Sessions cur</th><th>max</th><th>limit</th><th>total</th><th>Bytes in</th><th>out</th>\
<th>Errors req</th><th>conn</th><th>resp</th><th>Retries</th><th>Redispatches</th><th>Chk fail</th><th>Down</th><th>Last change</th>\
<th>Resp. p50 ms</th><th>p90</th><th>p99</th><th>max</th></tr>\n",
            id = esc(px),
            name = esc(px),
            sel = if form { "<th></th>" } else { "" },
        );
        for r in group {
            if page.up_only && r.kind == Kind::Server && r.get("status") != "UP" {
                continue;
            }
            let last_check = match r.get("check_status") {
                "" => String::new(),
                s => {
                    let code = r.get("check_code");
                    format!(
                        "{s}{}{} in {}ms",
                        if code.is_empty() { "" } else { "/" },
                        code,
                        r.get("check_duration")
                    )
                }
            };
            let status = match r.get("tracked") {
                "" => r.get("status").to_string(),
                t => format!("{} (via {t})", r.get("status")),
            };
            let select = match (form, r.kind) {
                (true, Kind::Server) => format!(
                    "<td><input type=\"checkbox\" name=\"s\" value=\"{}\"></td>",
                    esc(r.get("svname"))
                ),
                (true, _) => "<td></td>".to_string(),
                _ => String::new(),
            };
            let _ = write!(
                o,
                "<tr class=\"{cls}\" data-proxy=\"{px}\" data-server=\"{sv}\" data-status=\"{st}\">{select}<td class=\"name\">{sv}</td><td class=\"ac\">{status}</td><td class=\"ac\">{lc}</td>",
                cls = class(r),
                px = esc(px),
                sv = esc(r.get("svname")),
                st = esc(r.get("status")),
                status = esc(&status),
                lc = esc(&last_check),
            );
            for col in [
                "weight", "act", "bck", "scur", "smax", "slim", "stot", "bin", "bout", "ereq",
                "econ", "eresp", "wretr", "wredis", "chkfail", "chkdown", "lastchg",
            ] {
                let _ = write!(o, "<td>{}</td>", esc(r.get(col)));
            }
            match r.latency.filter(|p| p.count > 0) {
                Some(p) => {
                    for v in [p.p50, p.p90, p.p99, p.max] {
                        let _ = write!(o, "<td>{:.1}</td>", v as f64 / 1000.0);
                    }
                }
                None => o.push_str("<td></td><td></td><td></td><td></td>"),
            }
            o.push_str("</tr>\n");
        }
        o.push_str("</table>\n");
        if let Some((ok, failed)) = group.iter().find_map(|r| r.tls) {
            let _ = writeln!(
                o,
                "<p class=\"tls\">TLS handshakes: {ok} completed, {failed} failed</p>"
            );
        }
        if form {
            o.push_str("<p>Choose the action to perform on the checked servers: <select name=\"action\">\
<option value=\"\"></option><option value=\"ready\">Set state to READY</option>\
<option value=\"drain\">Set state to DRAIN</option><option value=\"maint\">Set state to MAINT</option></select> \
<input type=\"submit\" value=\"Apply\"></p></form>\n");
        }
        i = end;
    }
    o.push_str("</body></html>\n");
    o
}
