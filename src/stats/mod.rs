//! The statistics page, served by the HTTP path itself when a request on a
//! frontend or listen with `stats enable` begins with `stats uri`, before
//! any backend is chosen, exactly where HAProxy serves it.
//!
//! Suffixes after the URI, as in HAProxy: `;csv` (HAProxy's CSV columns),
//! `;json`, `;up` (hide servers that are not UP), `;norefresh`.

pub mod admin;
pub mod apache;
pub mod auth;
pub mod balancer_manager;
pub mod csv;
pub mod guard;
pub mod html;
pub mod json;
pub mod prometheus;
pub mod snapshot;

use crate::config::model::{Stats, DEFAULT_STATS_REALM, DEFAULT_STATS_URI};
use crate::runtime::Runtime;

/// The views of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The HTML page.
    Html,
    /// HAProxy's CSV.
    Csv,
    /// JSON.
    Json,
}

/// What the request asks of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// Which view.
    pub view: View,
    /// `;up`.
    pub up_only: bool,
    /// `;norefresh`.
    pub norefresh: bool,
    /// `;st=CODE`: the outcome of an admin action, to show.
    pub outcome: Option<String>,
    /// `scope=TEXT` in the URL: only the proxies whose name contains it
    /// (without regard to case), as HAProxy's page filters.
    pub scope: Option<String>,
}

/// One request for the page.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// GET, HEAD, POST...
    pub method: &'a [u8],
    /// The `Authorization` header.
    pub authorization: Option<&'a [u8]>,
    /// Whether the proxy's `stats admin` condition holds for this request
    /// (the proxy evaluates it: it has the request's facts).
    pub admin: bool,
    /// A POST's form body.
    pub body: Option<&'a [u8]>,
    /// The proxy serving the page (`stats scope .`).
    pub proxy: &'a str,
    /// A `stats http-request allow` rule let it in: no `stats auth` check.
    pub allowed: bool,
    /// The client's address.
    pub source: std::net::IpAddr,
    /// Where a POST says it comes from (the form's token is read here).
    pub provenance: guard::Provenance<'a>,
}

/// Whether `target` is for the stats page of `stats`, and what it asks.
pub fn matches(stats: &Stats, target: &str) -> Option<Ask> {
    let uri = stats.uri.as_deref().unwrap_or(DEFAULT_STATS_URI);
    let rest = target.strip_prefix(uri)?;
    let mut ask = Ask {
        view: View::Html,
        up_only: false,
        norefresh: false,
        outcome: None,
        scope: None,
    };
    // Options come as ";csv;up", before or in the query string, as
    // HAProxy finds them anywhere after the page's URI.
    let opts = rest.split('#').next().unwrap_or("");
    for o in opts.split([';', '?', '&']) {
        match o {
            o if o.starts_with("scope=") => {
                ask.scope = Some(o[6..].to_string()).filter(|s| !s.is_empty())
            }
            "csv" => ask.view = View::Csv,
            "json" => ask.view = View::Json,
            "up" => ask.up_only = true,
            "norefresh" => ask.norefresh = true,
            o if o.starts_with("st=") => ask.outcome = Some(o[3..].to_string()),
            _ => {}
        }
    }
    Some(ask)
}

/// The 401 answer: no byte of the page, a Basic challenge for the realm.
pub fn unauthorized(stats: &Stats, realm: Option<&str>) -> Vec<u8> {
    let realm = realm
        .or(stats.realm.as_deref())
        .unwrap_or(DEFAULT_STATS_REALM);
    let body = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n";
    format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"{realm}\"\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The 403 answer to a forged admin POST.
fn forbidden() -> Vec<u8> {
    let body = "<html><body><h1>403 Forbidden</h1>\nThis action did not come from this page.\n</body></html>\n";
    format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The whole answer to a stats request: 401 unless the credentials are
/// good (when `stats auth` is set); for a POST, the admin action and a 303
/// back to the page; else the page in the asked view.
///
/// A source with too many failed logins gets 429; an admin POST that a
/// browser marks as sent by another site, or that lacks the form's token,
/// gets 403 (see [`guard`]).
pub fn respond(stats: &Stats, rt: &Runtime, ask: &Ask, req: Request) -> Vec<u8> {
    let mut user = None;
    if !req.allowed && !stats.auth.is_empty() {
        if guard::locked_out(req.source) {
            return guard::too_many();
        }
        user = auth::user(req.authorization, &stats.auth);
        if user.is_none() {
            // A first visit without credentials is the challenge's cue,
            // not a failure.
            if req.authorization.is_some() {
                guard::failed(req.source);
                tracing::info!(source = %req.source, "stats page: failed login");
            }
            return unauthorized(stats, None);
        }
    }
    let uri = stats.uri.as_deref().unwrap_or(DEFAULT_STATS_URI);
    let admin = req.admin;
    if req.method == b"POST" {
        let token = req.body.and_then(|b| admin::field(b, guard::FIELD));
        let provenance = guard::Provenance {
            token: token.as_deref(),
            ..req.provenance
        };
        if admin {
            if let Err(e) = guard::check(&provenance) {
                tracing::warn!(source = %req.source, user = %user.unwrap_or("-"), reason = %e, "stats page: admin POST refused");
                return forbidden();
            }
        }
        let actor = admin::Actor {
            user,
            source: req.source,
        };
        let outcome = match (admin, req.body) {
            (false, _) => admin::Outcome::Deny,
            (true, Some(body)) => admin::apply(rt, body, actor),
            (true, None) => admin::Outcome::Error,
        };
        return admin::redirect(uri, outcome);
    }
    let mut rows = snapshot::take(rt);
    // `stats scope`: only the named proxies (`.` is this one).
    if !stats.scope.is_empty() {
        rows.retain(|r| {
            let px = r.get("pxname");
            stats
                .scope
                .iter()
                .any(|s| s == px || (s == "." && px == req.proxy))
        });
    }
    if let Some(s) = &ask.scope {
        let s = s.to_ascii_lowercase();
        rows.retain(|r| r.get("pxname").to_ascii_lowercase().contains(&s));
    }
    let (ctype, body) = match ask.view {
        View::Csv => ("text/plain", csv::render(&rows)),
        View::Json => ("application/json", json::render(&rows)),
        View::Html => (
            "text/html; charset=utf-8",
            html::render(
                &rows,
                &html::Page {
                    refresh: stats
                        .refresh
                        .filter(|_| !ask.norefresh)
                        .map(|d| d.as_secs().max(1)),
                    show_version: !stats.hide_version,
                    show_legends: stats.show_legends,
                    up_only: ask.up_only,
                    uri,
                    admin,
                    notice: ask.outcome.as_deref().and_then(admin::Outcome::message),
                    node: stats.show_node.as_ref().map(|n| {
                        if n.is_empty() {
                            std::fs::read_to_string("/proc/sys/kernel/hostname")
                                .map(|h| h.trim().to_string())
                                .unwrap_or_default()
                        } else {
                            n.clone()
                        }
                    }),
                    desc: stats.show_desc.as_deref(),
                },
            ),
        ),
    };
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if req.method != b"HEAD" {
        out.extend_from_slice(body.as_bytes());
    }
    out
}
