//! Services the proxy answers itself, in place of a server: the stats page
//! (`stats uri`) and `http-request use-service prometheus-exporter`.

use super::access::Term;
use super::answer::send;
use super::exchange::{env, view, Cx, Request};
use super::head::BodyKind;
use super::Next;
use crate::config::model::Stats;

/// The most of a POST body the stats page reads (an admin form).
const MAX_FORM: u64 = 64 * 1024;

/// Serves the Prometheus metrics.
pub async fn prometheus(cx: &mut Cx<'_>, req: &Request) -> Next {
    let body = crate::stats::prometheus::render(cx.rt);
    let out = format!(
        "HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    cx.access.status.set(200);
    cx.access.end(Term::new(b'L', b'R'));
    cx.access.sent(out.as_bytes(), 0);
    let close = req.head.close || req.head.body != BodyKind::None;
    cx.cbuf.consume(req.head.len);
    if !send(cx.client, out.as_bytes(), cx.fe.timeout_client).await || close {
        return Next::Close;
    }
    Next::KeepAlive
}

/// Serves httpd's mod_status page (`use-service apache-status`): the
/// `?auto` text or the HTML page, GET and HEAD as httpd serves it.
pub async fn apache_status(
    cx: &mut Cx<'_>,
    req: &Request,
    page: crate::rules::action::ApachePage,
) -> Next {
    use crate::rules::action::ApachePage;
    use crate::stats::apache::{render, Form};
    let (form, host, method) = {
        let v = view(cx, req);
        let host = v
            .lines(b"host")
            .next()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .unwrap_or_else(|| cx.local.ip().to_string());
        // httpd names the server as the client asked for it, without the port.
        let host = match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
            _ => host,
        };
        let form = match page {
            ApachePage::Status => Form::of(v.query()),
            ApachePage::BalancerManager => Form::Html,
        };
        (form, host, v.method().to_vec())
    };
    let (status, body) = match (method.as_slice(), page) {
        (b"GET" | b"HEAD", ApachePage::Status) => (200, render(cx.rt, form, &host)),
        (b"GET" | b"HEAD", ApachePage::BalancerManager) => {
            (200, crate::stats::balancer_manager::render(cx.rt, &host))
        }
        _ => (405, String::new()),
    };
    let reason = if status == 200 {
        "OK"
    } else {
        "Method Not Allowed"
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncache-control: no-cache\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n",
        form.content_type(),
        body.len()
    )
    .into_bytes();
    if method != b"HEAD" {
        out.extend_from_slice(body.as_bytes());
    }
    cx.access.status.set(status);
    cx.access.end(Term::new(b'L', b'R'));
    cx.access.sent(&out, 0);
    let close = req.head.close || req.head.body != BodyKind::None;
    cx.cbuf.consume(req.head.len);
    if !send(cx.client, &out, cx.fe.timeout_client).await || close {
        return Next::Close;
    }
    Next::KeepAlive
}

/// Answers `monitor-uri`: 200, or 503 when a `monitor fail` condition
/// holds (an upstream checker then takes this node out).
pub async fn monitor(cx: &mut Cx<'_>, req: &Request) -> Next {
    let failing = {
        let env = env(cx, req, None);
        let f = env.facts(Some(view(cx, req)), None, &req.vars);
        cx.fe.rules.monitor_fail.iter().any(|c| c.holds(&f))
    };
    let a = crate::rules::action::Answer {
        status: if failing { 503 } else { 200 },
        headers: Vec::new(),
        body: None,
    };
    let close = req.head.close || req.head.body != BodyKind::None;
    let out = super::answer::render(&a, cx.fe, None, close);
    cx.access.status.set(a.status);
    cx.access.quiet.set(true);
    cx.cbuf.consume(req.head.len);
    if !send(cx.client, &out, cx.fe.timeout_client).await || close {
        return Next::Close;
    }
    Next::KeepAlive
}

/// Answers a request for the stats page.
pub async fn stats_page(
    cx: &mut Cx<'_>,
    req: &Request,
    stats: &Stats,
    ask: &crate::stats::Ask,
) -> Next {
    let fe = cx.fe;
    let admin = match &fe.rules.stats_admin {
        Some(c) => {
            let env = env(cx, req, None);
            let f = env.facts(Some(view(cx, req)), None, &req.vars);
            c.holds(&f)
        }
        None => false,
    };
    // `stats http-request`: the first rule whose condition holds decides.
    let access = {
        let env = env(cx, req, None);
        let f = env.facts(Some(view(cx, req)), None, &req.vars);
        fe.rules
            .stats_http_request
            .iter()
            .find(|(_, c)| c.as_ref().is_none_or(|c| c.holds(&f)))
            .map(|(a, _)| a.clone())
    };
    let buf = cx.cbuf.filled();
    let method = req.msg.first.of(buf).to_vec();
    let header = |name: &[u8]| {
        crate::rules::http::View {
            buf,
            head: &req.msg,
        }
        .lines(name)
        .next()
        .map(<[u8]>::to_vec)
    };
    let auth = header(b"authorization");
    let (host, origin, fetch_site) = (
        header(b"host"),
        header(b"origin"),
        header(b"sec-fetch-site"),
    );
    cx.cbuf.consume(req.head.len);
    cx.access.status.set(200);
    cx.access.end(Term::new(b'L', b'R'));
    // A form body is small and framed by Content-Length; read it whole.
    let body = match req.head.body {
        BodyKind::None => None,
        BodyKind::Length(n) if n <= MAX_FORM => {
            while (cx.cbuf.filled().len() as u64) < n {
                match cx.cbuf.fill(cx.client, fe.timeout_client).await {
                    Ok(k) if k > 0 => {}
                    _ => return Next::Close,
                }
            }
            let b = cx.cbuf.prefix(n as usize).to_vec();
            cx.cbuf.consume(n as usize);
            Some(b)
        }
        _ => {
            super::answer::error(
                cx.client,
                super::Status::BadRequest,
                fe,
                None,
                cx.rt,
                cx.access,
                Term::new(b'P', b'R'),
            )
            .await;
            return Next::Close;
        }
    };
    let out = match access {
        Some(crate::rules::StatsAccess::Deny) => crate::proxy::http::Status::Forbidden.response(),
        Some(crate::rules::StatsAccess::Auth(realm)) => {
            crate::stats::unauthorized(stats, realm.as_deref())
        }
        _ => crate::stats::respond(
            stats,
            cx.rt,
            ask,
            crate::stats::Request {
                method: &method,
                authorization: auth.as_deref(),
                admin,
                body: body.as_deref(),
                proxy: &fe.name,
                allowed: access == Some(crate::rules::StatsAccess::Allow),
                source: cx.peer.ip(),
                provenance: crate::stats::guard::Provenance {
                    host: host.as_deref(),
                    origin: origin.as_deref(),
                    fetch_site: fetch_site.as_deref(),
                    token: None,
                },
            },
        ),
    };
    // The admin form's 303 keeps the connection, as HAProxy's does: its
    // body was read whole.
    let close = req.head.close
        || out.starts_with(b"HTTP/1.1 401")
        || out.starts_with(b"HTTP/1.1 403")
        || out.starts_with(b"HTTP/1.1 429");
    cx.access.sent(&out, 0);
    if !send(cx.client, &out, fe.timeout_client).await || close {
        return Next::Close;
    }
    Next::KeepAlive
}
