//! Answers the proxy writes itself: error pages (the proxy's `errorfile`
//! first, then HAProxy's page), and the answers rules produce (`deny`,
//! `return`, `redirect`, `auth`). Phases build them; only this file and
//! the forwarding code write to the client.

use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::proxy::stream::Stream;
use tokio::io::AsyncWriteExt;

use super::access::{Access, Term};
use super::reply::Status;
use crate::rules::action::{self, Answer, Env, RuleSet, Target};
use crate::rules::facts::Vars;
use crate::runtime::{Backend, Frontend, Runtime};

/// Writes `bytes`, within `timeout` when there is one.
pub async fn send(client: &mut Stream, bytes: &[u8], timeout: Option<Duration>) -> bool {
    let w = client.write_all(bytes);
    match timeout {
        Some(t) => matches!(tokio::time::timeout(t, w).await, Ok(Ok(()))),
        None => w.await.is_ok(),
    }
}

/// Answers with an error page and closes: the backend's `errorfile` for
/// that status if it has one, else the frontend's, else HAProxy's page,
/// passed through the `http-after-response` rules.
pub async fn error(
    client: &mut Stream,
    status: Status,
    fe: &Frontend,
    be: Option<&Backend>,
    rt: &Runtime,
    access: &Access<'_>,
    term: Term,
) {
    let out = error_page(status, fe, be, access, term);
    let out = after_response(out, fe, be, rt, access, &mut Vars::default());
    close_with(client, &out, fe, access).await;
}

/// Answers a request that could not be read (bad framing, too large, a
/// timeout) and closes. No rule runs: as in HAProxy, where the connection
/// layer answers these before any stream exists.
pub async fn read_error(
    client: &mut Stream,
    status: Status,
    fe: &Frontend,
    access: &Access<'_>,
    term: Term,
) {
    let out = error_page(status, fe, None, access, term);
    close_with(client, &out, fe, access).await;
}

/// Records an error answer and its page.
fn error_page(
    status: Status,
    fe: &Frontend,
    be: Option<&Backend>,
    access: &Access<'_>,
    term: Term,
) -> Vec<u8> {
    access.status.set(status.code());
    access.end(term);
    fe.counters.proxy_errors.fetch_add(1, Relaxed);
    crate::state::hrsp_counter(&fe.counters.hrsp, status.code()).fetch_add(1, Relaxed);
    let custom = be
        .and_then(|b| b.errorfiles.get(&status.code()))
        .or_else(|| fe.errorfiles.get(&status.code()));
    match custom {
        Some(bytes) => bytes.to_vec(),
        None => status.response(),
    }
}

async fn close_with(client: &mut Stream, out: &[u8], fe: &Frontend, access: &Access<'_>) {
    access.sent(out, 0);
    send(client, out, fe.timeout_client).await;
    let _ = client.shutdown().await;
}

/// The `http-after-response` rules (backend's, then frontend's) applied to
/// an answer the proxy made itself, as HAProxy applies them to every
/// response. The answer is parsed back into a head for the rules; its body
/// is kept as it is.
pub fn after_response(
    out: Vec<u8>,
    fe: &Frontend,
    be: Option<&Backend>,
    rt: &Runtime,
    access: &Access,
    vars: &mut Vars,
) -> Vec<u8> {
    let be_rules = be
        .filter(|b| !std::sync::Arc::ptr_eq(&b.rules, &fe.rules))
        .map(|b| b.rules.http_after_response.as_slice())
        .unwrap_or_default();
    if be_rules.is_empty() && fe.rules.http_after_response.is_empty() {
        return out;
    }
    let Ok(head) =
        super::head::parse_response(&out, true, false, false, super::head::HeadLimits::OWN)
    else {
        return out;
    };
    let mut msg = head.msg.clone();
    let mut env = Env {
        src: access.src,
        dst: access.dst,
        frontend: &fe.name,
        backend: access.backend.get(),
        server: access.server.get(),
        req_body_len: None,
        world: rt,
        conn: access.conn,
        stream: Some(&access.stream),
        unique_id_format: fe.rules.unique_id_format.as_ref(),
        // After-response rules of the proxy's own answers read no table.
        tracked: Default::default(),
    };
    for rules in [be_rules, &fe.rules.http_after_response] {
        let mut t = Target {
            buf: &out,
            head: &mut msg,
            other: None,
            set: RuleSet::AfterResponse,
        };
        let _ = action::run(rules, &mut env, &mut t, vars);
    }
    let mut new = super::rewrite::response_head(&out, &msg);
    // The body: what follows the head just parsed from `out`.
    new.extend_from_slice(out.get(head.len..).unwrap_or_default());
    new
}

/// The bytes of an answer a rule produced. Without a body of its own, the
/// answer is the error page for its status (an `errorfile` if the proxy
/// has one), with the rule's headers added.
pub fn render(a: &Answer, fe: &Frontend, be: Option<&Backend>, close: bool) -> Vec<u8> {
    let custom = be
        .and_then(|b| b.errorfiles.get(&a.status))
        .or_else(|| fe.errorfiles.get(&a.status));
    if let (None, Some(file)) = (&a.body, custom) {
        return file.to_vec();
    }
    let mut out = Vec::with_capacity(256);
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        a.status,
        crate::rules::reason_phrase(a.status)
    );
    let page;
    let body: &[u8] = match &a.body {
        Some(b) => b,
        None => {
            page = super::reply::page_body(a.status);
            page.as_bytes()
        }
    };
    // HAProxy's order: length, cache-control, type, then the rule's own.
    let _ = write!(out, "content-length: {}\r\n", body.len());
    if a.body.is_none() || a.status >= 300 {
        out.extend_from_slice(b"cache-control: no-cache\r\n");
    }
    if a.body.is_none() {
        out.extend_from_slice(b"content-type: text/html\r\n");
    }
    for (n, v) in &a.headers {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
