//! One HTTP exchange, as phases over one request (DESIGN.md, "One HTTP
//! exchange, as phases"):
//!
//! ```text
//!  head parsed ─▶ frontend http-request rules, redirect ─▶ services (stats page)
//!   ─▶ use_backend ─▶ backend http-request rules, redirect ─▶ use-server / cookie
//!   ─▶ forward (connect, retries, body, response head)
//!   ─▶ http-response rules (backend, then frontend) ─▶ response out ─▶ log
//! ```
//!
//! Each phase returns [`Flow`]: go on, or the exchange is over with what
//! the connection does next. The access log's termination letters are set
//! where the end is decided.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use crate::proxy::stream::Stream;

use super::access::{Access, Term};
use super::answer::{self, send};
use super::buf::RecvBuf;
use super::head::{BodyKind, RequestHead};
use super::Next;
use crate::rules::action::{self, Env, RuleSet, Target, Verdict};
use crate::rules::facts::Vars;
use crate::rules::http::{Head, View};
use crate::rules::ProxyRules;
use crate::runtime::{Backend, Frontend, Runtime};

/// What one exchange works with.
pub struct Cx<'a> {
    pub client: &'a mut Stream,
    pub cbuf: &'a mut RecvBuf,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub fe: &'a Frontend,
    pub rt: &'a Runtime,
    pub access: &'a Access<'a>,
    pub tracked: crate::state::stick::Tracked<'a>,
    /// This is the connection's first request (`http-reuse safe` gives it
    /// a new server connection).
    pub first_request: bool,
    /// The connection's own idle server connection (`http-reuse never`).
    pub session_conn: &'a crate::proxy::connect::SessionConn,
    /// The server this connection's last request went to, as (backend
    /// identity, server index), for `option prefer-last-server`.
    pub last_server: &'a std::cell::Cell<Option<(usize, usize)>>,
}

/// A phase's outcome.
pub enum Flow {
    /// Go on with the next phase.
    Continue,
    /// The exchange is over.
    Done(Next),
}

/// The request as the phases share it: the framing facts, the head the
/// rules edit, and the transaction's variables.
pub struct Request {
    pub head: RequestHead,
    pub msg: Head,
    pub vars: Vars,
    /// The client address the rules see (`set-src` may change it).
    pub src: SocketAddr,
    /// The address it reached, as the rules see it (`set-dst`).
    pub dst: SocketAddr,
}

/// Runs the request phases, then forwards.
pub async fn run(mut cx: Cx<'_>, mut head: RequestHead) -> Next {
    let msg = std::mem::take(&mut head.msg);
    let mut req = Request {
        head,
        msg,
        // The connection's `sess.*` variables, as its last request left them.
        vars: cx
            .access
            .session_vars
            .borrow()
            .as_deref()
            .map(Vars::session_copy)
            .unwrap_or_default(),
        src: cx.peer,
        dst: cx.local,
    };
    let fe = cx.fe;
    capture_headers(fe, cx.access, &req.msg, cx.cbuf.filled(), false);
    // `tcp-request content` rules of an HTTP frontend see the request head.
    if !fe.rules.tcp_content.is_empty() {
        let env = env(&cx, &req, None);
        let mut f = env.facts(Some(view(&cx, &req)), None, &req.vars);
        f.payload = cx.cbuf.filled().get(..req.head.len).unwrap_or_default();
        if crate::rules::tcp::run(&fe.rules.tcp_content, &f)
            == crate::rules::tcp::TcpVerdict::Reject
        {
            fe.counters.denied_conn.fetch_add(1, Relaxed);
            cx.access.end(Term::new(b'P', b'R'));
            return Next::Close;
        }
    }
    // A request on a connection tracked by `tcp-request` rules counts on
    // its entries; `http-request track-scN` counts its own when it tracks.
    for s in [cx.tracked.session, cx.tracked.stream]
        .into_iter()
        .flatten()
    {
        s.http_req();
    }
    // `monitor-uri` is answered before any rule, as in HAProxy.
    if let Some(uri) = &fe.monitor_uri {
        // A URI starting with '/' is compared with the path, so that an
        // absolute-form request matches too.
        let v = view(&cx, &req);
        let asked = if uri.starts_with('/') {
            v.path()
        } else {
            v.target()
        };
        if asked == uri.as_bytes() {
            return super::service::monitor(&mut cx, &req).await;
        }
    }
    if fe.buffer_request {
        if let Flow::Done(n) = buffer_body(&mut cx, &req).await {
            return n;
        }
    }
    if let Flow::Done(n) = request_rules(&mut cx, &mut req, &fe.rules, None).await {
        return n;
    }
    if let Some(stats) = &fe.stats {
        let target = std::str::from_utf8(req.msg.second.of(cx.cbuf.filled())).ok();
        if let Some(ask) = target.and_then(|t| crate::stats::matches(stats, t)) {
            return super::service::stats_page(&mut cx, &req, stats, &ask).await;
        }
    }
    let backend = {
        let env = env(&cx, &req, None);
        let f = env.facts(Some(view(&cx, &req)), None, &req.vars);
        fe.choose_backend(&f)
    };
    cx.access.backend.set(backend);
    let Some(be) = backend.and_then(|b| cx.rt.backends.get(b)) else {
        answer::error(
            cx.client,
            super::Status::Unavailable,
            fe,
            None,
            cx.rt,
            cx.access,
            Term::new(b'S', b'C'),
        )
        .await;
        return Next::Close;
    };
    // The request counts on its backend (`scur`, %bc) until it ends.
    let _on_backend = crate::state::ProxySession::start(&be.counters);
    if be.buffer_request && !fe.buffer_request {
        if let Flow::Done(n) = buffer_body(&mut cx, &req).await {
            return n;
        }
    }
    // A listen's rules already ran as the frontend's.
    if !std::sync::Arc::ptr_eq(&fe.rules, &be.rules) {
        if let Flow::Done(n) = request_rules(&mut cx, &mut req, &be.rules, Some(be)).await {
            return n;
        }
    }
    super::forward::run(cx, req, be).await
}

/// `option http-buffer-request`: waits until the whole body has arrived
/// or the buffer is full, within `timeout http-request` (else the client
/// timeout), so that a slow client holds no server connection while it
/// sends. A client that stops before gets 408 (or leaves, logged as
/// such), and the server never hears of the request.
async fn buffer_body(cx: &mut Cx<'_>, req: &Request) -> Flow {
    let need = match req.head.body {
        BodyKind::Length(n) => usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_add(req.head.len)),
        BodyKind::Chunked => None,
        BodyKind::None | BodyKind::UntilClose => return Flow::Continue,
    };
    let done = |buf: &[u8]| match need {
        Some(n) => buf.len() >= n,
        // Chunked: until the last chunk is in (a scan that may stop early
        // only ends the wait sooner; the body is parsed when forwarded).
        None => {
            let body = buf.get(req.head.len..).unwrap_or_default();
            body.starts_with(b"0\r\n") || body.windows(5).any(|w| w == b"\r\n0\r\n")
        }
    };
    // The 100-continue a client waits for comes with the forwarding; a
    // client that asked for it is not waited for.
    if req.head.expect_continue {
        return Flow::Continue;
    }
    let fe = cx.fe;
    let limit = fe.timeout_http_request.or(fe.timeout_client);
    let deadline = limit.map(|t| tokio::time::Instant::now() + t);
    while !done(cx.cbuf.filled()) && !cx.cbuf.is_full() {
        let left = deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
        match cx.cbuf.fill(cx.client, left).await {
            Ok(n) if n > 0 => {}
            Err(super::buf::ReadError::Timeout) => {
                answer::error(
                    cx.client,
                    super::Status::RequestTimeout,
                    fe,
                    None,
                    cx.rt,
                    cx.access,
                    Term::new(b'c', b'R'),
                )
                .await;
                return Flow::Done(Next::Close);
            }
            // Closed (or the buffer is full, which the loop sees).
            _ if cx.cbuf.is_full() => break,
            _ => {
                cx.access.end(Term::new(b'C', b'R'));
                return Flow::Done(Next::Close);
            }
        }
    }
    Flow::Continue
}

/// `capture request|response header NAME len N`: the last occurrence of
/// each captured header, for the log line.
pub fn capture_headers(fe: &Frontend, access: &Access, msg: &Head, buf: &[u8], response: bool) {
    let requests = fe.captures.iter().filter(|c| c.response == response);
    for (slot, c) in requests.enumerate() {
        if let Some(name) = &c.header {
            let v = View { buf, head: msg };
            if let Some(value) = v.lines(name.as_bytes()).last() {
                access.capture(fe, response, slot, value);
            }
        }
    }
}

/// The request's view for fetches.
pub fn view<'a>(cx: &'a Cx, req: &'a Request) -> View<'a> {
    View {
        buf: cx.cbuf.filled(),
        head: &req.msg,
    }
}

/// What the rules read besides the message.
pub fn env<'a>(cx: &'a Cx, req: &Request, be: Option<usize>) -> Env<'a> {
    Env {
        src: req.src,
        dst: req.dst,
        frontend: &cx.fe.name,
        backend: be.or(cx.access.backend.get()),
        server: cx.access.server.get(),
        req_body_len: match req.head.body {
            BodyKind::Length(n) => Some(n),
            BodyKind::None => Some(0),
            _ => None,
        },
        world: cx.rt,
        conn: cx.access.conn,
        stream: Some(&cx.access.stream),
        unique_id_format: cx.fe.rules.unique_id_format.as_ref(),
        tracked: cx.tracked,
    }
}

/// `http-request` rules, then `redirect` rules, of one proxy.
async fn request_rules(
    cx: &mut Cx<'_>,
    req: &mut Request,
    rules: &ProxyRules,
    be: Option<&Backend>,
) -> Flow {
    if rules.http_request.is_empty() && rules.redirect.is_empty() {
        return Flow::Continue;
    }
    let verdict = {
        let mut env = env(cx, req, None);
        let buf = cx.cbuf.filled();
        let mut t = Target {
            buf,
            head: &mut req.msg,
            other: None,
            set: RuleSet::Request,
        };
        let mut v = action::run(&rules.http_request, &mut env, &mut t, &mut req.vars);
        if v == Verdict::Continue {
            v = action::run(&rules.redirect, &mut env, &mut t, &mut req.vars);
        }
        req.src = env.src;
        req.dst = env.dst;
        v
    };
    cx.access.keep(cx.fe, &mut req.vars);
    match verdict {
        Verdict::Continue => Flow::Continue,
        Verdict::Prometheus => Flow::Done(super::service::prometheus(cx, req).await),
        Verdict::ApacheStatus(page) => {
            Flow::Done(super::service::apache_status(cx, req, page).await)
        }
        Verdict::Answer(a) => Flow::Done(answer_request(cx, req, &a, be, false).await),
        Verdict::Tarpit(a) => Flow::Done(answer_request(cx, req, &a, be, true).await),
    }
}

/// Sends an answer a request rule produced, in place of the server's.
async fn answer_request(
    cx: &mut Cx<'_>,
    req: &mut Request,
    a: &action::Answer,
    be: Option<&Backend>,
    tarpit: bool,
) -> Next {
    let fe = cx.fe;
    let term = if tarpit {
        Term::new(b'P', b'T')
    } else if a.status == 401 || (300..400).contains(&a.status) || a.body.is_some() {
        // auth, redirect and return: the proxy answered locally.
        Term::new(b'L', b'R')
    } else {
        Term::new(b'P', b'R')
    };
    cx.access.end(term);
    cx.access.status.set(a.status);
    if matches!(term.side, b'P') {
        fe.counters.denied_req.fetch_add(1, Relaxed);
    }
    crate::state::hrsp_counter(&fe.counters.hrsp, a.status).fetch_add(1, Relaxed);
    if tarpit {
        // Hold the client for `timeout tarpit` (else `timeout connect`),
        // as HAProxy does, so that a flood costs the attacker time.
        let hold = be
            .and_then(|b| b.timeout_tarpit.or(b.timeout_connect))
            .or(fe.timeout_tarpit)
            .unwrap_or_default();
        tokio::time::sleep(hold).await;
    }
    // The connection stays open only when nothing of the request is left
    // to read and the client did not ask to close.
    let close = tarpit || req.head.close || req.head.body != BodyKind::None;
    let out = answer::render(a, fe, be, close);
    let out = answer::after_response(out, fe, be, cx.rt, cx.access, &mut req.vars);
    cx.cbuf.consume(req.head.len);
    cx.access.sent(&out, 0);
    if !send(cx.client, &out, fe.timeout_client).await || close {
        return Next::Close;
    }
    Next::KeepAlive
}
