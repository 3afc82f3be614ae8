//! `mode http`: HTTP/1.0 and 1.1, request by request on one client
//! connection (keep-alive and pipelining answered in order), each request
//! balanced on its own, bodies streamed by their framing, `Upgrade` and
//! `CONNECT` turned into tunnels.

pub mod body;
pub mod buf;
pub mod head;
pub mod persist;
pub mod reply;
pub mod rewrite;

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use self::body::{BodyError, Flow};
use self::buf::{ReadError, RecvBuf};
use self::head::{BodyKind, HeadError, RequestHead};
pub use self::reply::Status;
use super::accept::Shared;
use super::connect::{connect, ConnectError, Connected};
use crate::balance::RequestKey;
use crate::config::model::HttpConnection;
use crate::runtime::{Backend, Frontend, Runtime};

/// How an exchange ended for the client connection.
enum Next {
    KeepAlive,
    Close,
}

async fn send(client: &mut TcpStream, bytes: &[u8], timeout: Option<Duration>) -> bool {
    let w = client.write_all(bytes);
    match timeout {
        Some(t) => matches!(tokio::time::timeout(t, w).await, Ok(Ok(()))),
        None => w.await.is_ok(),
    }
}

/// Answers with an error page and closes: the backend's `errorfile` for
/// that status if it has one, else the frontend's, else HAProxy's page.
async fn reply_from(
    client: &mut TcpStream,
    status: Status,
    fe: &Frontend,
    be: Option<&Backend>,
    access: &Access,
) {
    access.status.set(status.code());
    fe.counters.proxy_errors.fetch_add(1, Relaxed);
    fe.counters.hrsp[crate::state::hrsp_class(status.code())].fetch_add(1, Relaxed);
    let custom = be
        .and_then(|b| b.errorfiles.get(&status.code()))
        .or_else(|| fe.errorfiles.get(&status.code()));
    match custom {
        Some(bytes) => send(client, bytes, fe.timeout_client).await,
        None => send(client, &status.response(), fe.timeout_client).await,
    };
    let _ = client.shutdown().await;
}

/// [`reply_from`] for errors that involve no backend.
async fn reply(client: &mut TcpStream, status: Status, fe: &Frontend, access: &Access) {
    reply_from(client, status, fe, None, access).await
}

/// Serves one client connection in `mode http`. Each request takes the
/// Runtime current when it arrives, so a kept-alive connection moves to a
/// reloaded configuration at its next request.
pub async fn serve(
    mut client: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    frontend: &str,
    shared: &Shared,
) {
    let mut rt = shared.runtime.load_full();
    let mut cbuf = RecvBuf::new(rt.global.bufsize);
    let mut first = true;
    loop {
        let Some(fe) = rt.frontend(frontend) else {
            return;
        };
        // Between requests an idle connection holds no buffer.
        cbuf.release();
        let access = Access::new();
        let head = match read_request(&mut client, &mut cbuf, fe, first).await {
            Ok(h) => h,
            Err(None) => return,
            Err(Some(status)) => {
                if status != Status::RequestTimeout {
                    fe.counters.request_errors.fetch_add(1, Relaxed);
                }
                // `option dontlognull`: a connection that timed out
                // without sending a byte (a pre-connect, a probe) is not logged.
                let null = status == Status::RequestTimeout && cbuf.is_empty();
                reply(&mut client, status, fe, &access).await;
                if !(fe.dontlognull && null) {
                    access.log(fe, &rt, peer, "<BADREQ>");
                }
                return;
            }
        };
        first = false;
        fe.counters.requests.fetch_add(1, Relaxed);
        // A reload may have happened while we waited for this request.
        rt = shared.runtime.load_full();
        let Some(fe) = rt.frontend(frontend) else {
            let _ = client.shutdown().await;
            return;
        };
        // Boxed: the exchange's state (heads, buffers, the server
        // connection) exists only while a request is in flight, so an idle
        // keep-alive connection's task stays small.
        let request_line = if fe.log_format.is_some() {
            request_line(cbuf.filled(), &head)
        } else {
            String::new()
        };
        let next = Box::pin(exchange(
            &mut client,
            &mut cbuf,
            &head,
            peer,
            local,
            fe,
            &rt,
            &access,
        ))
        .await;
        access.log(fe, &rt, peer, &request_line);
        match next {
            Next::KeepAlive => continue,
            Next::Close => {
                let _ = client.shutdown().await;
                return;
            }
        }
    }
}

/// Reads one request head. Err(None): the client went away quietly (or an
/// idle keep-alive connection expired); Err(Some(s)): answer `s` and close.
async fn read_request(
    client: &mut TcpStream,
    cbuf: &mut RecvBuf,
    fe: &Frontend,
    first: bool,
) -> Result<RequestHead, Option<Status>> {
    // The request timer starts at accept for the first request, and at the
    // first byte of later ones; before that, keep-alive idleness applies.
    let mut deadline = (first || !cbuf.is_empty())
        .then(|| fe.timeout_http_request.map(|t| Instant::now() + t))
        .flatten();
    loop {
        if !cbuf.is_empty() {
            match head::parse_request(cbuf.filled(), cbuf.is_full()) {
                Ok(h) => return Ok(h),
                Err(HeadError::Bad(s)) => return Err(Some(s)),
                Err(HeadError::Partial) => {}
            }
        }
        let idle = cbuf.is_empty() && !first;
        let wait = if idle {
            fe.timeout_http_keep_alive
        } else {
            deadline.map(|d| d.saturating_duration_since(Instant::now()))
        };
        match cbuf.fill(client, wait).await {
            Ok(0) if cbuf.is_empty() => return Err(None),
            // Closed in the middle of a head: nothing to answer to.
            Ok(0) => return Err(None),
            Ok(_) => {
                if idle {
                    deadline = fe.timeout_http_request.map(|t| Instant::now() + t);
                }
            }
            Err(ReadError::Timeout) if idle => return Err(None),
            Err(ReadError::Timeout) => return Err(Some(Status::RequestTimeout)),
            Err(ReadError::Io(_)) => return Err(None),
        }
    }
}

fn header_value<'a>(buf: &'a [u8], head: &RequestHead, name: &str) -> Option<&'a [u8]> {
    head.headers
        .iter()
        .find(|h| buf[h.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| &buf[h.value.clone()])
}

/// What one request's access-log line says, filled in as it goes.
struct Access {
    start: std::time::Instant,
    date: std::time::SystemTime,
    backend: std::cell::Cell<Option<usize>>,
    server: std::cell::Cell<Option<usize>>,
    status: std::cell::Cell<u16>,
    connect_ms: std::cell::Cell<Option<u128>>,
    response_ms: std::cell::Cell<Option<u128>>,
    bytes: std::cell::Cell<u64>,
}

impl Access {
    fn new() -> Access {
        Access {
            start: std::time::Instant::now(),
            date: std::time::SystemTime::now(),
            backend: Default::default(),
            server: Default::default(),
            status: Default::default(),
            connect_ms: Default::default(),
            response_ms: Default::default(),
            bytes: Default::default(),
        }
    }

    /// Sends the `option httplog` line (HAProxy's layout) when the frontend logs.
    fn log(&self, fe: &Frontend, rt: &Runtime, peer: SocketAddr, request: &str) {
        if fe.log_format.is_none() || fe.log_targets.is_empty() {
            return;
        }
        let be = self.backend.get().and_then(|b| rt.backends.get(b));
        let (be_name, srv_name) = match (be, self.server.get()) {
            (Some(b), Some(s)) => (
                b.name.as_str(),
                b.servers
                    .get(s)
                    .map(|s| s.name.as_str())
                    .unwrap_or("<NOSRV>"),
            ),
            (Some(b), None) => (b.name.as_str(), "<NOSRV>"),
            (None, _) => (fe.name.as_str(), "<NOSRV>"),
        };
        let ms = |v: Option<u128>| v.map(|v| v.to_string()).unwrap_or_else(|| "-1".into());
        let line = format!(
            "{}:{} [{}] {} {}/{} 0/0/{}/{}/{} {} {} - - ---- {}/{}/0/0/0 0/0 \"{}\"",
            peer.ip(),
            peer.port(),
            super::accesslog::accept_date(self.date),
            fe.name,
            be_name,
            srv_name,
            ms(self.connect_ms.get()),
            ms(self.response_ms.get()),
            self.start.elapsed().as_millis(),
            self.status.get(),
            self.bytes.get(),
            fe.counters.cur_sessions.load(Relaxed),
            fe.counters.cur_sessions.load(Relaxed),
            request.escape_default(),
        );
        super::accesslog::send(&fe.log_targets, &line);
    }
}

/// "GET /path HTTP/1.1" as it came, for the log.
fn request_line(buf: &[u8], head: &RequestHead) -> String {
    format!(
        "{} {} HTTP/1.{}",
        String::from_utf8_lossy(&buf[head.method.clone()]),
        String::from_utf8_lossy(&buf[head.target.clone()]),
        head.minor
    )
}

/// One request and its response.
#[allow(clippy::too_many_arguments)]
async fn exchange(
    client: &mut TcpStream,
    cbuf: &mut RecvBuf,
    head: &RequestHead,
    peer: SocketAddr,
    local: SocketAddr,
    fe: &Frontend,
    rt: &Runtime,
    access: &Access,
) -> Next {
    // `http-request use-service prometheus-exporter if ...`: metrics.
    if !fe.http_request.is_empty() {
        let path = std::str::from_utf8(&cbuf.filled()[head.target.clone()]).ok();
        let hit = fe.http_request.iter().find(|r| {
            r.cond
                .as_ref()
                .is_none_or(|c| crate::runtime::holds(c, peer.ip(), path))
        });
        if hit.is_some() {
            let body = crate::stats::prometheus::render(rt);
            let out = format!(
                "HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let close = head.close || head.body != BodyKind::None;
            cbuf.consume(head.len);
            if !send(client, out.as_bytes(), fe.timeout_client).await || close {
                return Next::Close;
            }
            return Next::KeepAlive;
        }
    }
    // The stats page is answered here, before any backend is chosen.
    if let Some(stats) = &fe.stats {
        let ask = std::str::from_utf8(&cbuf.filled()[head.target.clone()])
            .ok()
            .and_then(|t| crate::stats::matches(stats, t));
        if let Some(ask) = ask {
            access.status.set(200);
            return stats_page(client, cbuf, head, peer, fe, rt, stats, &ask, access).await;
        }
    }
    let target = std::str::from_utf8(&cbuf.filled()[head.target.clone()]).ok();
    access.backend.set(fe.choose_backend(peer.ip(), target));
    let Some(be) = access.backend.get().and_then(|b| rt.backends.get(b)) else {
        reply(client, Status::Unavailable, fe, access).await;
        return Next::Close;
    };
    let be: &Backend = be;
    let buf = cbuf.filled();
    let method = &buf[head.method.clone()];
    let is_head = method == b"HEAD";
    let is_connect = method == b"CONNECT";
    // Hashing balancers read the request; the others need nothing from it.
    let (uri, hdr): (Option<String>, Option<Vec<u8>>) = if be.hashes_request {
        (
            std::str::from_utf8(&buf[head.target.clone()])
                .ok()
                .map(str::to_owned),
            be.hash_header
                .as_deref()
                .and_then(|n| header_value(buf, head, n))
                .map(<[u8]>::to_vec),
        )
    } else {
        (None, None)
    };
    let key = RequestKey {
        client: Some(peer.ip()),
        uri: uri.as_deref(),
        header: hdr.as_deref(),
    };
    // Cookie persistence: the server the client's cookie names, if usable.
    let cookie_headers = || {
        head.headers
            .iter()
            .filter(|h| buf[h.name.clone()].eq_ignore_ascii_case(b"cookie"))
            .map(|h| &buf[h.value.clone()])
    };
    let persisted = be.cookie.as_ref().and_then(|c| {
        persist::find(cookie_headers(), &c.name).map(|v| (v.to_vec(), persist::server_for(be, v)))
    });
    let forced = persisted.as_ref().and_then(|(_, s)| *s);
    let server_close = fe.http_connection != HttpConnection::KeepAlive
        || be.http_connection != HttpConnection::KeepAlive;
    let client_close_mode =
        fe.http_connection == HttpConnection::Close || be.http_connection == HttpConnection::Close;
    let has_body = head.body != BodyKind::None;
    let answer_continue = head.expect_continue && has_body && head.minor == 1;
    let edit = rewrite::RequestEdit {
        forwardfor: fe.forwardfor.as_ref().or(be.forwardfor.as_ref()),
        client: peer.ip(),
        server_close,
        drop_expect: answer_continue,
        strip_cookie: be
            .cookie
            .as_ref()
            .filter(|c| c.indirect)
            .map(|c| c.name.as_str()),
    };
    let out_head = rewrite::request(buf, head, &edit);
    cbuf.consume(head.len);

    // A request without a body may go on an idle pooled connection; if that
    // one turns out closed before answering, it is replayed once on a new one.
    let mut reuse = !has_body && !head.upgrade && !is_connect;
    let mut sbuf = RecvBuf::new(rt.global.bufsize);
    let (mut conn, resp) = loop {
        let mut conn =
            match connect(be, &key, local.port(), reuse, forced, Some((peer, local))).await {
                Ok(c) => c,
                Err(e) => {
                    be.counters.proxy_errors.fetch_add(1, Relaxed);
                    tracing::info!(backend = %be.name, error = %e, "no server connection");
                    let status = match e {
                        ConnectError::NoServer
                        | ConnectError::QueueTimeout
                        | ConnectError::Failed(_) => Status::Unavailable,
                    };
                    reply_from(client, status, fe, Some(be), access).await;
                    return Next::Close;
                }
            };
        let srv = &be.servers[conn.server];
        access.server.set(Some(conn.server));
        access
            .connect_ms
            .set(Some(access.start.elapsed().as_millis()));
        let sent_at = Instant::now();
        if !send(&mut conn.stream, &out_head, be.timeout_server).await {
            if conn.reused {
                reuse = false;
                continue;
            }
            srv.state.response_errors.fetch_add(1, Relaxed);
            reply_from(client, Status::BadGateway, fe, Some(be), access).await;
            return Next::Close;
        }
        if answer_continue
            && !send(client, b"HTTP/1.1 100 Continue\r\n\r\n", fe.timeout_client).await
        {
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
        };
        if let Err(e) = body::copy(head.body, client, cbuf, &mut conn.stream, &up).await {
            match e {
                BodyError::Malformed => {
                    fe.counters.request_errors.fetch_add(1, Relaxed);
                    reply(client, Status::BadRequest, fe, access).await;
                }
                BodyError::Write(_) | BodyError::WriteTimeout => {
                    srv.state.response_errors.fetch_add(1, Relaxed);
                    reply_from(client, Status::BadGateway, fe, Some(be), access).await;
                }
                BodyError::Read(ReadError::Timeout) => {
                    reply(client, Status::RequestTimeout, fe, access).await
                }
                BodyError::Read(_) | BodyError::Truncated => {}
            }
            return Next::Close;
        }
        match read_response(
            client, &mut conn, &mut sbuf, head, is_head, is_connect, fe, be,
        )
        .await
        {
            Ok(r) => {
                srv.state.latency.record(sent_at.elapsed());
                access.response_ms.set(Some(sent_at.elapsed().as_millis()));
                access.status.set(r.status);
                break (conn, r);
            }
            // A pooled connection closed by the server before it answered.
            Err(None) if conn.reused => {
                reuse = false;
                continue;
            }
            Err(status) => {
                srv.state.response_errors.fetch_add(1, Relaxed);
                reply_from(
                    client,
                    status.unwrap_or(Status::BadGateway),
                    fe,
                    Some(be),
                    access,
                )
                .await;
                return Next::Close;
            }
        }
    };
    let srv = &be.servers[conn.server];
    let class = crate::state::hrsp_class(resp.status);
    for c in [
        &fe.counters.hrsp[class],
        &be.counters.hrsp[class],
        &srv.state.hrsp[class],
    ] {
        c.fetch_add(1, Relaxed);
    }
    let tunnel =
        (resp.status == 101 && head.upgrade) || (is_connect && (200..300).contains(&resp.status));
    // The server closing its side does not close the client's, unless the
    // body is delimited by that close.
    let client_close = head.close || client_close_mode || resp.body == BodyKind::UntilClose;
    let mut out = rewrite::response(sbuf.filled(), &resp, head.minor, client_close && !tunnel);
    // Insert mode: tell the client its server, unless its cookie already does.
    if let (Some(c), Some(value)) = (&be.cookie, srv.cookie.as_deref()) {
        let held = persisted
            .as_ref()
            .is_some_and(|(v, _)| v.as_slice() == value.as_bytes());
        if !held {
            let extra = persist::set_cookie(c, value);
            // Before the blank line that ends the head.
            let at = out.len() - 2;
            out.splice(at..at, extra);
        }
    }
    sbuf.consume(resp.len);
    // A body that arrived with the head leaves in the same write.
    let mut body_kind = resp.body;
    if let BodyKind::Length(n) = resp.body {
        let have = sbuf
            .filled()
            .len()
            .min(usize::try_from(n).unwrap_or(usize::MAX));
        out.extend_from_slice(&sbuf.filled()[..have]);
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
        return Next::Close;
    }
    access.bytes.set(
        out.len() as u64
            + match body_kind {
                BodyKind::Length(n) => n,
                _ => 0,
            },
    );
    if tunnel {
        return self::tunnel(client, cbuf, &mut conn, &mut sbuf, fe, be).await;
    }
    let down = Flow {
        read_timeout: be.timeout_server,
        write_timeout: fe.timeout_client,
        counters: [
            &fe.counters.bytes_out,
            &be.counters.bytes_out,
            &srv.state.bytes_out,
        ],
    };
    if let Err(e) = body::copy(body_kind, &mut conn.stream, &mut sbuf, client, &down).await {
        srv.state.response_errors.fetch_add(1, Relaxed);
        tracing::debug!(server = %srv.name, error = ?e, "response body aborted");
        return Next::Close;
    }
    if !resp.close && !server_close && sbuf.is_empty() && !srv.send_proxy {
        super::pool::put(srv.target(local.port()), conn.stream);
    }
    if client_close {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

/// The most of a POST body the stats page reads (an admin form).
const MAX_FORM: u64 = 64 * 1024;

/// Answers a request for the stats page.
#[allow(clippy::too_many_arguments)]
async fn stats_page(
    client: &mut TcpStream,
    cbuf: &mut RecvBuf,
    head: &RequestHead,
    peer: SocketAddr,
    fe: &Frontend,
    rt: &Runtime,
    stats: &crate::config::model::Stats,
    ask: &crate::stats::Ask,
    access: &Access,
) -> Next {
    let method = cbuf.filled()[head.method.clone()].to_vec();
    let auth = header_value(cbuf.filled(), head, "authorization").map(<[u8]>::to_vec);
    cbuf.consume(head.len);
    // A form body is small and framed by Content-Length; read it whole.
    let body = match head.body {
        BodyKind::None => None,
        BodyKind::Length(n) if n <= MAX_FORM => {
            while (cbuf.filled().len() as u64) < n {
                match cbuf.fill(client, fe.timeout_client).await {
                    Ok(k) if k > 0 => {}
                    _ => return Next::Close,
                }
            }
            let b = cbuf.filled()[..n as usize].to_vec();
            cbuf.consume(n as usize);
            Some(b)
        }
        _ => {
            reply(client, Status::BadRequest, fe, access).await;
            return Next::Close;
        }
    };
    let out = crate::stats::respond(
        stats,
        rt,
        ask,
        crate::stats::Request {
            method: &method,
            authorization: auth.as_deref(),
            client: peer.ip(),
            body: body.as_deref(),
        },
    );
    let close = head.close || out.starts_with(b"HTTP/1.1 401") || out.starts_with(b"HTTP/1.1 303");
    if !send(client, &out, fe.timeout_client).await || close {
        return Next::Close;
    }
    Next::KeepAlive
}

/// Reads the final response head, passing interim 1xx answers to the client.
/// Err(None): the server closed before sending a byte (a pooled connection
/// may be retried); Err(Some(s)): answer `s`.
#[allow(clippy::too_many_arguments)]
async fn read_response(
    client: &mut TcpStream,
    conn: &mut Connected,
    sbuf: &mut RecvBuf,
    req: &RequestHead,
    is_head: bool,
    is_connect: bool,
    fe: &Frontend,
    be: &Backend,
) -> Result<head::ResponseHead, Option<Status>> {
    let mut got_bytes = false;
    loop {
        if !sbuf.is_empty() {
            match head::parse_response(sbuf.filled(), sbuf.is_full(), is_head, is_connect) {
                Ok(r) if (100..200).contains(&r.status) && r.status != 101 => {
                    let out = rewrite::response(sbuf.filled(), &r, req.minor, false);
                    sbuf.consume(r.len);
                    if req.minor == 1 && !send(client, &out, fe.timeout_client).await {
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
                tracing::info!(backend = %be.name, server = %be.servers[conn.server].name, "timeout waiting for the server's response");
                return Err(Some(Status::GatewayTimeout));
            }
        }
    }
}

/// After `101 Switching Protocols` or a successful CONNECT: bytes both ways.
async fn tunnel(
    client: &mut TcpStream,
    cbuf: &mut RecvBuf,
    conn: &mut Connected,
    sbuf: &mut RecvBuf,
    fe: &Frontend,
    be: &Backend,
) -> Next {
    // Bytes that arrived with the heads belong to the tunnel.
    if !cbuf.is_empty() && send(&mut conn.stream, cbuf.filled(), be.timeout_server).await {
        let n = cbuf.filled().len();
        cbuf.consume(n);
    }
    if !sbuf.is_empty() && send(client, sbuf.filled(), fe.timeout_client).await {
        let n = sbuf.filled().len();
        sbuf.consume(n);
    }
    let srv = &be.servers[conn.server];
    let idle = match be.timeout_tunnel {
        Some(t) => super::tcp::Idle {
            client: Some(t),
            server: Some(t),
        },
        None => super::tcp::Idle {
            client: fe.timeout_client,
            server: be.timeout_server,
        },
    };
    let up = super::tcp::Counters {
        sinks: [
            &fe.counters.bytes_in,
            &be.counters.bytes_in,
            &srv.state.bytes_in,
        ],
    };
    let down = super::tcp::Counters {
        sinks: [
            &fe.counters.bytes_out,
            &be.counters.bytes_out,
            &srv.state.bytes_out,
        ],
    };
    let _ = super::tcp::pump(client, &mut conn.stream, idle, up, down).await;
    Next::Close
}
