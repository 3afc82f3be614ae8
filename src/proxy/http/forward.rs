//! The server side of an exchange: persistence (`use-server`, the cookie),
//! balance and connect with retries, the request head and body out, the
//! response head in, the `http-response` rules, and the response out.

use crate::runtime::Traffic;
use std::sync::atomic::Ordering::Relaxed;

use crate::proxy::stream::Stream;
use tokio::time::Instant;

use super::access::{Access, Term};
use super::answer::{self, send};
use super::body::{self, BodyError, Flow};
use super::buf::{ReadError, RecvBuf};
use super::exchange::{env, Cx, Request};
use super::head::{self, BodyKind, HeadError, HeadLimits, RequestHead, ResponseHead};
use super::{persist, rewrite, Next, Status};
use crate::balance::RequestKey;
use crate::config::model::{HttpConnection, HttpReuse};
use crate::proxy::connect::{connect, ConnectError, Connected, Reuse};
use crate::rules::action::{self, Env, RuleSet, Target, Verdict};
use crate::rules::facts::Vars;
use crate::rules::http::{Head, View};
use crate::runtime::{Backend, Frontend};

/// What persistence rules decided for one request.
#[derive(Default)]
struct Persistence {
    /// The server `use-server` picked: the first rule whose condition
    /// holds and whose server may take traffic (a rule naming an unusable
    /// server is skipped, as in HAProxy).
    ruled: Option<usize>,
    /// `force-persist` holds: the cookie's server is used even when down.
    force: bool,
    /// `ignore-persist` holds: the cookie is not looked at.
    ignore: bool,
}

fn persistence(cx: &Cx, req: &Request, be: &Backend, be_index: usize) -> Persistence {
    let r = &be.rules;
    if r.use_server.is_empty() && r.force_persist.is_empty() && r.ignore_persist.is_empty() {
        return Persistence::default();
    }
    let env = env(cx, req, Some(be_index));
    let f = env.facts(
        Some(View {
            buf: cx.cbuf.filled(),
            head: &req.msg,
        }),
        None,
        &req.vars,
    );
    Persistence {
        ruled: r
            .use_server
            .iter()
            .find(|(c, s)| {
                be.servers.get(*s).is_some_and(|s| s.state.usable())
                    && c.as_ref().is_none_or(|c| c.holds(&f))
            })
            .map(|(_, s)| *s),
        force: r.force_persist.iter().any(|c| c.holds(&f)),
        ignore: r.ignore_persist.iter().any(|c| c.holds(&f)),
    }
}

/// The server names `sni EXPR` gives for each server of `be`, read while
/// the request is at hand (empty when no server has one).
fn sni_names(cx: &Cx, req: &Request, be: &Backend, be_index: usize) -> Vec<Option<String>> {
    let has_sni = |s: &crate::runtime::Server| s.tls.as_ref().is_some_and(|t| t.sni.is_some());
    if !be.servers.iter().any(has_sni) {
        return Vec::new();
    }
    let env = env(cx, req, Some(be_index));
    let f = env.facts(
        Some(View {
            buf: cx.cbuf.filled(),
            head: &req.msg,
        }),
        None,
        &req.vars,
    );
    be.servers
        .iter()
        .map(|s| {
            let e = s.tls.as_ref()?.sni.as_ref()?;
            let v = e.eval(&f)?;
            Some(String::from_utf8_lossy(&v.to_bytes()).into_owned())
        })
        .collect()
}

/// The request's unique ID, made now if nothing asked for it before: as in
/// HAProxy, which makes it at this point (after the backend's rules) even
/// when no header or PROXY header sends it, so that what reads it later
/// (response rules, the log) sees the request's values.
fn unique_id_now(cx: &Cx, req: &Request, be_index: usize) -> Option<Vec<u8>> {
    cx.fe.rules.unique_id_format.as_ref()?;
    let env = env(cx, req, Some(be_index));
    let view = View {
        buf: cx.cbuf.filled(),
        head: &req.msg,
    };
    let f = env.facts(Some(view), None, &req.vars);
    f.unique_id().map(<[u8]>::to_vec)
}

/// Which idle server connection a request may take: HAProxy's
/// `http-reuse` modes when the backend sets one. fulcrum's default is
/// `safe` made faster where it stays as safe: a first request may take
/// another client's idle connection when it is idempotent and has no body,
/// so that replaying it on a new connection, if the idle one was closed,
/// is harmless. Upgrades and CONNECT always get their own connection.
fn reuse_policy<'a>(
    be: &Backend,
    idempotent: bool,
    head: &RequestHead,
    first: bool,
    session: &'a crate::proxy::connect::SessionConn,
) -> Reuse<'a> {
    use crate::proxy::pool::Want;
    if head.upgrade || head.connect {
        return Reuse::New;
    }
    let has_body = head.body != BodyKind::None;
    // A body cannot be replayed: look that the server kept the connection.
    let any = Want {
        probe: has_body,
        proven_only: false,
    };
    match be.http_reuse {
        Some(HttpReuse::Never) => Reuse::Session(session, any),
        Some(HttpReuse::Safe) if first => Reuse::New,
        Some(HttpReuse::Aggressive) if first => Reuse::Pool(Want {
            proven_only: true,
            ..any
        }),
        None if first && (has_body || !idempotent) => Reuse::New,
        _ => Reuse::Pool(any),
    }
}

/// RFC 9110 9.2.2: methods a client may repeat with the same effect.
fn idempotent(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE" | b"PUT" | b"DELETE"
    )
}

/// What the response rules need from the request once its bytes have left
/// the receive buffer: a copy of the head, kept only when such rules exist.
struct RequestCopy {
    bytes: Vec<u8>,
    msg: Head,
}

/// Forwards the request to a server of `be` and the response back.
pub async fn run(cx: Cx<'_>, req: Request, be: &Backend) -> Next {
    let be_index = cx.access.backend.get().unwrap_or_default();
    let persist = persistence(&cx, &req, be, be_index);
    // `stick` rules, read while the request is at hand: the server a known
    // key names, and the keys to record the chosen server under.
    let (stuck, to_store) = if be.rules.stick.is_empty() {
        (None, Vec::new())
    } else {
        let env = env(&cx, &req, Some(be_index));
        let f = env.facts(
            Some(View {
                buf: cx.cbuf.filled(),
                head: &req.msg,
            }),
            None,
            &req.vars,
        );
        let usable = |s: usize| be.servers.get(s).is_some_and(|s| s.state.usable());
        (
            crate::rules::stick::matched_server(&be.rules.stick, &f, &usable),
            crate::rules::stick::to_store(&be.rules.stick, &f),
        )
    };
    let tracked = cx.tracked;
    let conn_facts = cx.access.conn;
    let unique_id = unique_id_now(&cx, &req, be_index);
    let sni_names = sni_names(&cx, &req, be, be_index);
    let response_rules = has_response_rules(cx.fe, be);
    let (env_src, env_dst) = (req.src, req.dst);
    let Cx {
        client,
        cbuf,
        peer,
        local,
        fe,
        rt,
        access,
        last_server,
        first_request,
        session_conn,
        ..
    } = cx;
    // `option prefer-last-server`: the server of this connection's last
    // request, while it takes traffic (a backend of an older configuration
    // is another one).
    let this_backend = be as *const Backend as usize;
    let last = last_server
        .get()
        .filter(|_| be.prefer_last_server)
        .filter(|(b, s)| *b == this_backend && be.servers.get(*s).is_some_and(|v| v.state.usable()))
        .map(|(_, s)| s);
    let Request {
        head, msg, vars, ..
    } = req;
    let buf = cbuf.filled();
    let view = View { buf, head: &msg };
    let is_head = view.method() == b"HEAD";
    let idempotent = idempotent(view.method());
    let is_connect = head.connect;
    // Hashing balancers read the request; the others need nothing from it.
    let (uri, hdr): (Option<String>, Option<Vec<u8>>) = if be.hashes_request {
        (
            std::str::from_utf8(view.target()).ok().map(str::to_owned),
            be.hash_header
                .as_deref()
                .and_then(|n| view.lines(n.as_bytes()).next())
                .map(<[u8]>::to_vec),
        )
    } else {
        (None, None)
    };
    let key = RequestKey {
        client: Some(env_src.ip()),
        uri: uri.as_deref(),
        header: hdr.as_deref(),
    };
    // Persistence: `use-server` first, then a cookie naming a usable server.
    let persisted = be
        .cookie
        .as_ref()
        .filter(|_| !persist.ignore)
        .and_then(|c| {
            persist::find(view.lines(b"cookie"), &c.name)
                .map(|v| (v.to_vec(), persist::server_for(be, v, persist.force)))
        });
    if be.cookie.is_some() {
        let client = match &persisted {
            None => b'N',
            Some((_, Some(_))) => b'V',
            Some((_, None)) => b'I',
        };
        access.cookie.set([client, b'N']);
    }
    // HAProxy's order: use-server, the persistence cookie, then stick rules.
    let mut forced = persist
        .ruled
        .or(persisted.as_ref().and_then(|(_, s)| *s))
        .or(stuck)
        .or(last);
    let mut to_store = Some(to_store);
    // A request whose framing was suspect (Transfer-Encoding with a
    // Content-Length, or on HTTP/1.0) closes the server connection too.
    let server_close = fe.http_connection != HttpConnection::KeepAlive
        || be.http_connection != HttpConnection::KeepAlive
        || head.suspect_framing;
    let client_close_mode =
        fe.http_connection == HttpConnection::Close || be.http_connection == HttpConnection::Close;
    let has_body = head.body != BodyKind::None;
    let answer_continue = head.expect_continue && has_body && msg.minor == 1;
    let edit = rewrite::RequestEdit {
        forwarded_for: rewrite::AddedAddress::resolve(
            fe.forwardfor
                .as_ref()
                .map(|f| (f.header.as_str(), f.except, f.if_none)),
            be.forwardfor
                .as_ref()
                .map(|f| (f.header.as_str(), f.except, f.if_none)),
            env_src.ip(),
        ),
        original_to: rewrite::AddedAddress::resolve(
            fe.originalto
                .as_ref()
                .map(|o| (o.header.as_str(), o.except, false)),
            be.originalto
                .as_ref()
                .map(|o| (o.header.as_str(), o.except, false)),
            env_dst.ip(),
        ),
        server_close,
        drop_expect: answer_continue,
        strip_cookie: be
            .cookie
            .as_ref()
            .filter(|c| c.indirect)
            .map(|c| c.name.as_str()),
        unique_id: fe
            .rules
            .unique_id_header
            .as_deref()
            .map(|h| (h, unique_id.as_deref().unwrap_or_default())),
        server_name_header: be.send_name_header.as_deref(),
    };
    let out_head = rewrite::request(buf, &head, &msg, &edit);
    let req_copy = response_rules.then(|| RequestCopy {
        bytes: cbuf.prefix(head.len).to_vec(),
        msg: msg.clone(),
    });
    let client_minor = msg.minor;
    cbuf.consume(head.len);

    // Which idle connection the request may take (`http-reuse`). If the
    // one it took turns out closed before answering, a request whose body
    // has not been read yet is replayed once on a new one.
    let mut reuse = reuse_policy(be, idempotent, &head, first_request, session_conn);
    let mut sbuf = RecvBuf::new(rt.global.bufsize);
    let (conn, resp) = loop {
        let sni = |i: usize| sni_names.get(i).cloned().flatten();
        let (connected, attempts) = connect(
            be,
            &key,
            local.port(),
            reuse,
            forced,
            &super::super::connect::ProxySource {
                src: peer,
                dst: local,
                conn: conn_facts,
                unique_id: unique_id.as_deref(),
            },
            &sni,
        )
        .await;
        access.attempts.set(attempts);
        if let Some(s) = attempts.server {
            access.server.set(Some(s));
        }
        let mut conn = match connected {
            Ok(c) => c,
            Err(e) => {
                be.counters.proxy_errors.fetch_add(1, Relaxed);
                tracing::info!(backend = %be.name, error = %e, "no server connection");
                let term = match e {
                    ConnectError::QueueTimeout => Term::new(b's', b'Q'),
                    ConnectError::NoServer | ConnectError::Failed(_) => Term::new(b'S', b'C'),
                };
                answer::error(client, Status::Unavailable, fe, Some(be), rt, access, term).await;
                return Next::Close;
            }
        };
        let srv = conn.srv;
        access.server.set(Some(conn.server));
        last_server.set(Some((this_backend, conn.server)));
        if let Some(keys) = to_store.take() {
            crate::rules::stick::store(keys, conn.server);
        }
        let sent_at = Instant::now();
        let named_head;
        let head_bytes = match &be.send_name_header {
            Some(name) => {
                named_head = rewrite::with_server_name(&out_head, name, &srv.name);
                &named_head
            }
            None => &out_head,
        };
        if !send(&mut conn.stream, head_bytes, be.timeout_server).await {
            if conn.reused {
                // Replayed on a new connection to the same server: the
                // balancer already chose it (HAProxy does not pick again).
                reuse = Reuse::New;
                forced = Some(conn.server);
                continue;
            }
            srv.state.response_errors.fetch_add(1, Relaxed);
            answer::error(
                client,
                Status::BadGateway,
                fe,
                Some(be),
                rt,
                access,
                Term::new(b'S', b'H'),
            )
            .await;
            return Next::Close;
        }
        if answer_continue
            && !send(client, b"HTTP/1.1 100 Continue\r\n\r\n", fe.timeout_client).await
        {
            access.end(Term::new(b'C', b'D'));
            return Next::Close;
        }
        // Request body, client -> server.
        let up = Flow {
            read_timeout: fe.timeout_client,
            write_timeout: be.timeout_server,
            counters: [
                &fe.counters.bytes_in,
                &be.counters.bytes_in,
                &srv.state.bytes_in,
            ],
            splice: fe.splice,
        };
        if let Err(e) = body::copy(head.body, client, cbuf, &mut conn.stream, &up).await {
            match e {
                BodyError::Malformed => {
                    fe.counters.request_errors.fetch_add(1, Relaxed);
                    answer::error(
                        client,
                        Status::BadRequest,
                        fe,
                        None,
                        rt,
                        access,
                        Term::new(b'P', b'D'),
                    )
                    .await;
                }
                BodyError::Write(_) | BodyError::WriteTimeout => {
                    srv.state.response_errors.fetch_add(1, Relaxed);
                    answer::error(
                        client,
                        Status::BadGateway,
                        fe,
                        Some(be),
                        rt,
                        access,
                        Term::new(b'S', b'D'),
                    )
                    .await;
                }
                BodyError::Read(ReadError::Timeout) => {
                    answer::error(
                        client,
                        Status::RequestTimeout,
                        fe,
                        None,
                        rt,
                        access,
                        Term::new(b'c', b'D'),
                    )
                    .await
                }
                BodyError::Read(_) | BodyError::Truncated => access.end(Term::new(b'C', b'D')),
            }
            return Next::Close;
        }
        // `shutdown sessions server` (or `on-marked-down
        // shutdown-sessions`) ends a request waiting for its answer too.
        let answered = tokio::select! {
            r = read_response(
                client,
                &mut conn,
                &mut sbuf,
                client_minor,
                is_head,
                is_connect,
                fe,
                be,
                HeadLimits::of(&rt.global),
            ) => Some(r),
            _ = srv.state.kill.notified() => None,
        };
        let Some(answered) = answered else {
            access.end(Term::new(b'K', b'H'));
            return Next::Close;
        };
        match answered {
            Ok(r) => {
                srv.observe(Traffic::of_status(r.status));
                srv.state.latency.record(sent_at.elapsed());
                access.response_ms.set(Some(sent_at.elapsed().as_millis()));
                access.status.set(r.status);
                break (conn, r);
            }
            // A pooled connection closed by the server before it answered;
            // a body already sent cannot be sent again.
            Err(None) if conn.reused && !has_body => {
                reuse = Reuse::New;
                forced = Some(conn.server);
                continue;
            }
            Err(status) => {
                srv.state.response_errors.fetch_add(1, Relaxed);
                srv.observe(match status {
                    None => Traffic::BrokenPipe,
                    Some(Status::GatewayTimeout) => Traffic::ReadTimeout,
                    Some(_) => Traffic::HttpRsp,
                });
                let status = status.unwrap_or(Status::BadGateway);
                let term = if status == Status::GatewayTimeout {
                    Term::new(b's', b'H')
                } else {
                    Term::new(b'S', b'H')
                };
                answer::error(client, status, fe, Some(be), rt, access, term).await;
                return Next::Close;
            }
        }
    };
    let mut resp = resp;
    let mut resp_msg = std::mem::take(&mut resp.msg);
    super::exchange::capture_headers(fe, access, &resp_msg, sbuf.filled(), true);
    if response_rules {
        let mut env = Env {
            src: env_src,
            dst: local,
            frontend: &fe.name,
            backend: Some(be_index),
            server: Some(conn.server),
            req_body_len: None,
            world: rt,
            conn: conn_facts,
            stream: Some(&access.stream),
            unique_id_format: fe.rules.unique_id_format.as_ref(),
            tracked,
        };
        let mut vars: Vars = vars;
        let verdict = run_response_rules(
            fe,
            be,
            &mut env,
            sbuf.filled(),
            &mut resp_msg,
            req_copy.as_ref(),
            &mut vars,
        );
        access.keep(fe, &mut vars);
        if let Verdict::Answer(a) | Verdict::Tarpit(a) = verdict {
            // The server's response is dropped, and its connection with it:
            // denied (a 4xx/5xx) or redirected (`http-response redirect`).
            let denied = a.status >= 400;
            if denied {
                be.counters.denied_resp.fetch_add(1, Relaxed);
                fe.counters.denied_resp.fetch_add(1, Relaxed);
            }
            access.status.set(a.status);
            access.end(Term::new(if denied { b'P' } else { b'L' }, b'H'));
            crate::state::hrsp_counter(&fe.counters.hrsp, a.status).fetch_add(1, Relaxed);
            let out = answer::render(&a, fe, Some(be), true);
            let out = answer::after_response(out, fe, Some(be), rt, access, &mut vars);
            access.sent(&out, 0);
            send(client, &out, fe.timeout_client).await;
            return Next::Close;
        }
    }
    respond(
        client,
        cbuf,
        conn,
        sbuf,
        resp,
        resp_msg,
        &head,
        client_minor,
        persisted,
        be,
        fe,
        access,
        KeepServer {
            close: server_close,
            port: local.port(),
            session: (be.http_reuse == Some(HttpReuse::Never)).then_some(session_conn),
        },
        client_close_mode,
    )
    .await
}

/// What becomes of the server connection once the exchange is over.
struct KeepServer<'a> {
    /// It closes (the `option` modes, a suspect request).
    close: bool,
    /// The port the client reached (a server without one uses it).
    port: u16,
    /// It goes back to the client session (`http-reuse never`), else to
    /// the worker's pool.
    session: Option<&'a crate::proxy::connect::SessionConn>,
}

fn has_response_rules(fe: &Frontend, be: &Backend) -> bool {
    !fe.rules.http_response.is_empty()
        || !be.rules.http_response.is_empty()
        || !fe.rules.http_after_response.is_empty()
        || !be.rules.http_after_response.is_empty()
}

/// `http-response` rules of the backend, then of the frontend (once for a
/// listen), then `http-after-response` in the same order.
fn run_response_rules(
    fe: &Frontend,
    be: &Backend,
    env: &mut Env,
    buf: &[u8],
    msg: &mut Head,
    req: Option<&RequestCopy>,
    vars: &mut Vars,
) -> Verdict {
    let other = req.map(|r| View {
        buf: &r.bytes,
        head: &r.msg,
    });
    let same = std::sync::Arc::ptr_eq(&fe.rules, &be.rules);
    let sets: [(&[action::Rule], RuleSet); 4] = [
        (&be.rules.http_response, RuleSet::Response),
        (
            if same { &[] } else { &fe.rules.http_response },
            RuleSet::Response,
        ),
        (&be.rules.http_after_response, RuleSet::AfterResponse),
        (
            if same {
                &[]
            } else {
                &fe.rules.http_after_response
            },
            RuleSet::AfterResponse,
        ),
    ];
    for (rules, set) in sets {
        let mut t = Target {
            buf,
            head: msg,
            other,
            set,
        };
        let v = action::run(rules, env, &mut t, vars);
        if v != Verdict::Continue {
            return v;
        }
    }
    Verdict::Continue
}

/// Sends the response head and streams the body; pools the server
/// connection when it may be reused.
#[allow(clippy::too_many_arguments)]
async fn respond(
    client: &mut Stream,
    cbuf: &mut RecvBuf,
    mut conn: Connected<'_>,
    mut sbuf: RecvBuf,
    resp: ResponseHead,
    resp_msg: Head,
    head: &RequestHead,
    client_minor: u8,
    persisted: Option<(Vec<u8>, Option<usize>)>,
    be: &Backend,
    fe: &Frontend,
    access: &Access<'_>,
    keep: KeepServer<'_>,
    client_close_mode: bool,
) -> Next {
    let srv = conn.srv;
    // The status after the rules (`set-status`) is what the client gets.
    let status = crate::rules::sample::parse_leading_int(resp_msg.first.of(sbuf.filled()))
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(resp.status);
    access.status.set(status);
    for hrsp in [&fe.counters.hrsp, &be.counters.hrsp, &srv.state.hrsp] {
        crate::state::hrsp_counter(hrsp, status).fetch_add(1, Relaxed);
    }
    let tunnel =
        (resp.status == 101 && head.upgrade) || (head.connect && (200..300).contains(&resp.status));
    // The server closing its side does not close the client's, unless the
    // body is delimited by that close.
    let client_close = head.close
        || client_close_mode
        || resp.body == BodyKind::UntilClose
        || resp.suspect_framing;
    let mut out = rewrite::response(
        sbuf.filled(),
        &resp,
        &resp_msg,
        client_minor,
        client_close && !tunnel,
    );
    // Insert mode: tell the client its server, unless its cookie already does.
    // HAProxy's %B leaves that header out (it counts what the server sent).
    let mut inserted = 0u64;
    if let (Some(c), Some(value)) = (&be.cookie, srv.cookie.as_deref()) {
        let held = persisted
            .as_ref()
            .is_some_and(|(v, _)| v.as_slice() == value.as_bytes());
        if !held {
            let extra = persist::set_cookie(c, value);
            // In HAProxy's internal form: without ": " and CRLF.
            inserted = (extra.len() as u64).saturating_sub(4);
            let [client, _] = access.cookie.get();
            access.cookie.set([client, b'I']);
            // Before the blank line that ends the head.
            let at = out.len() - 2;
            out.splice(at..at, extra);
        }
    }
    sbuf.consume(resp.len);
    // A body that arrived with the head leaves in the same write.
    let mut body_kind = resp.body;
    if let BodyKind::Length(n) = resp.body {
        let arrived = sbuf.prefix(usize::try_from(n).unwrap_or(usize::MAX));
        let have = arrived.len();
        out.extend_from_slice(arrived);
        sbuf.consume(have);
        for c in [
            &fe.counters.bytes_out,
            &be.counters.bytes_out,
            &srv.state.bytes_out,
        ] {
            c.fetch_add(have as u64, Relaxed);
        }
        body_kind = BodyKind::Length(n - have as u64);
        if n == have as u64 {
            body_kind = BodyKind::None;
        }
    }
    if !send(client, &out, fe.timeout_client).await {
        access.end(Term::new(b'C', b'D'));
        return Next::Close;
    }
    access.sent(
        &out,
        match body_kind {
            BodyKind::Length(n) => n,
            _ => 0,
        },
    );
    access
        .bytes
        .set(access.bytes.get().saturating_sub(inserted));
    if tunnel {
        return super::tunnel(client, cbuf, &mut conn, &mut sbuf, fe, be).await;
    }
    let down = Flow {
        read_timeout: be.timeout_server,
        write_timeout: fe.timeout_client,
        counters: [
            &fe.counters.bytes_out,
            &be.counters.bytes_out,
            &srv.state.bytes_out,
        ],
        splice: fe.splice,
    };
    if let Err(e) = body::copy(body_kind, &mut conn.stream, &mut sbuf, client, &down).await {
        srv.state.response_errors.fetch_add(1, Relaxed);
        access.end(match e {
            BodyError::Write(_) | BodyError::WriteTimeout => Term::new(b'C', b'D'),
            BodyError::Read(ReadError::Timeout) => Term::new(b's', b'D'),
            _ => Term::new(b'S', b'D'),
        });
        tracing::debug!(server = %srv.name, error = ?e, "response body aborted");
        return Next::Close;
    }
    // A connection whose TLS name came from the request is not pooled: the
    // next request may need another name.
    let per_request_sni = srv.tls.as_ref().is_some_and(|t| t.sni.is_some());
    if !resp.close && !keep.close && sbuf.is_empty() && !srv.send_proxy && !per_request_sni {
        let target = srv.target(keep.port);
        match keep.session {
            Some(slot) => *slot.borrow_mut() = Some(Box::new((target, conn.stream))),
            None => crate::proxy::pool::put(target, conn.stream, conn.reused, srv.pool),
        }
    }
    if client_close {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

/// Reads the final response head, passing interim 1xx answers to the client.
/// Err(None): the server closed before sending a byte (a pooled connection
/// may be retried); Err(Some(s)): answer `s`.
#[allow(clippy::too_many_arguments)]
async fn read_response(
    client: &mut Stream,
    conn: &mut Connected<'_>,
    sbuf: &mut RecvBuf,
    client_minor: u8,
    is_head: bool,
    is_connect: bool,
    fe: &Frontend,
    be: &Backend,
    limits: HeadLimits,
) -> Result<ResponseHead, Option<Status>> {
    let mut got_bytes = false;
    loop {
        if !sbuf.is_empty() {
            match head::parse_response(sbuf.filled(), sbuf.is_full(), is_head, is_connect, limits) {
                Ok(r) if (100..200).contains(&r.status) && r.status != 101 => {
                    let out = rewrite::response(sbuf.filled(), &r, &r.msg, client_minor, false);
                    sbuf.consume(r.len);
                    if client_minor == 1 && !send(client, &out, fe.timeout_client).await {
                        return Err(Some(Status::BadGateway));
                    }
                    continue;
                }
                Ok(r) => return Ok(r),
                Err(HeadError::Bad(s)) => return Err(Some(s)),
                Err(HeadError::Partial) => {}
            }
        }
        match sbuf.fill(&mut conn.stream, be.timeout_server).await {
            Ok(0) | Err(ReadError::Io(_)) if !got_bytes => return Err(None),
            Ok(0) | Err(ReadError::Io(_)) => return Err(Some(Status::BadGateway)),
            Ok(_) => got_bytes = true,
            Err(ReadError::Timeout) => {
                tracing::info!(backend = %be.name, server = %conn.srv.name, "timeout waiting for the server's response");
                return Err(Some(Status::GatewayTimeout));
            }
        }
    }
}
