//! `mode http`: HTTP/1.0 and 1.1, request by request on one client
//! connection (keep-alive and pipelining answered in order), each request
//! balanced on its own, bodies streamed by their framing, `Upgrade` and
//! `CONNECT` turned into tunnels.

pub(crate) mod access;
mod answer;
pub mod body;
pub mod buf;
mod exchange;
mod forward;
pub mod head;
mod idle;
pub mod persist;
pub mod reply;
pub mod rewrite;
mod service;

use std::sync::atomic::Ordering::Relaxed;

use crate::proxy::stream::Stream;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use self::access::{Access, Term};
use self::answer::send;
use self::buf::{ReadError, RecvBuf};
use self::head::{HeadError, HeadLimits, RequestHead};
pub use self::reply::Status;
use super::accept::Shared;
use super::connect::Connected;
use crate::runtime::{Backend, Frontend};

/// How an exchange ended for the client connection.
enum Next {
    KeepAlive,
    Close,
}

/// A client connection in mode http, and what it keeps from one request
/// to the next. It is owned (no borrow of the task that accepted it), so
/// that an idle one can wait without a task of its own (see [`idle`]).
pub struct Client {
    stream: Stream,
    kept: Kept,
}

/// What a client connection keeps from one request to the next, apart
/// from its socket: all an idle connection holds.
struct Kept {
    origin: super::accept::Origin,
    frontend: std::sync::Arc<str>,
    /// Stick-table entries the session tracks.
    slots: crate::state::stick::Slots,
    /// Its `maxconn` slots and place in the counts.
    life: super::accept::Life,
    /// No request came yet.
    first: bool,
    last_server: std::cell::Cell<Option<(usize, usize)>>,
    session_conn: crate::proxy::connect::SessionConn,
    /// The wait for the next request, when it was interrupted by a park.
    waiting: Option<Waiting>,
}

impl Client {
    /// A connection just accepted (and its TLS handshake done).
    pub fn new(
        stream: Stream,
        origin: super::accept::Origin,
        frontend: std::sync::Arc<str>,
        slots: crate::state::stick::Slots,
        life: super::accept::Life,
    ) -> Client {
        Client {
            stream,
            kept: Kept {
                origin,
                frontend,
                slots,
                life,
                first: true,
                last_server: std::cell::Cell::new(None),
                session_conn: Default::default(),
                waiting: None,
            },
        }
    }
}

/// A wait for a request: since when, and until when it may last while
/// nothing has come (`timeout http-request` for a first request,
/// `timeout http-keep-alive` for the later ones).
#[derive(Debug, Clone, Copy)]
struct Waiting {
    at: std::time::Instant,
    date: std::time::SystemTime,
    until: Option<Instant>,
}

impl Waiting {
    /// A wait that starts now.
    fn now(fe: &Frontend, first: bool) -> Waiting {
        let limit = if first {
            fe.timeout_http_request
        } else {
            fe.timeout_http_keep_alive
        };
        Waiting {
            at: std::time::Instant::now(),
            date: std::time::SystemTime::now(),
            until: limit.map(|t| Instant::now() + t),
        }
    }
}

/// Serves one client connection in `mode http`. Each request takes the
/// Runtime current when it arrives, so a kept-alive connection moves to a
/// reloaded configuration at its next request.
///
/// Written as a block rather than an `async fn`, whose argument the
/// compiler would keep twice in the task.
#[allow(clippy::manual_async_fn)] // see above: an async fn would hold its argument twice
pub fn serve(mut c: Client) -> impl std::future::Future<Output = ()> {
    async move {
        let shared = c.kept.life.shared().clone();
        let mut rt = shared.runtime.load_full();
        let mut cbuf = RecvBuf::new(rt.global.bufsize);
        loop {
            let Some(fe) = rt.frontend(&c.kept.frontend) else {
                return;
            };
            // Between requests an idle connection holds no buffer.
            cbuf.release();
            // Only instants are kept while the connection waits: the exchange's
            // record is made once a request comes, so that an idle
            // keep-alive connection's task stays small.
            let waiting = c
                .kept
                .waiting
                .take()
                .unwrap_or_else(|| Waiting::now(fe, c.kept.first));
            let mut first_byte = None;
            let read = read_request(
                &mut c.stream,
                &mut cbuf,
                fe,
                HeadLimits::of(&rt.global),
                c.kept.first,
                waiting.until,
                &mut first_byte,
            )
            .await;
            let read = match read {
                Read::Head(h) => Ok(h),
                Read::Quiet => Err(None),
                Read::Answer(s) => Err(Some(s)),
                Read::Idle => {
                    // Nothing came for a while: the connection waits on in
                    // the worker's lot of idle connections, and this task ends.
                    c.kept.waiting = Some(waiting);
                    idle::park(c);
                    return;
                }
            };
            // Boxed: what follows a read (the exchange's record, error
            // answers, the exchange itself, the log line) exists only while a
            // request is handled; the task of an idle connection holds only
            // the wait for the next one.
            let conn = Conn {
                client: &mut c.stream,
                cbuf: &mut cbuf,
                origin: &c.kept.origin,
                frontend: &c.kept.frontend,
                shared: &shared,
                slots: &c.kept.slots,
                rt: &mut rt,
                first: &mut c.kept.first,
                last_server: &c.kept.last_server,
                session_conn: &c.kept.session_conn,
            };
            let waited = Waited {
                at: waiting.at,
                date: waiting.date,
                first_byte,
            };
            match Box::pin(handle(conn, read, waited)).await {
                Next::KeepAlive => continue,
                Next::Close => return,
            }
        }
    }
}

/// When the wait for a request began, and when its first byte came.
struct Waited {
    at: std::time::Instant,
    date: std::time::SystemTime,
    first_byte: Option<std::time::Instant>,
}

/// What a client connection keeps from one request to the next.
struct Conn<'a> {
    client: &'a mut Stream,
    cbuf: &'a mut RecvBuf,
    origin: &'a super::accept::Origin,
    frontend: &'a str,
    shared: &'a Shared,
    slots: &'a crate::state::stick::Slots,
    rt: &'a mut std::sync::Arc<crate::runtime::Runtime>,
    first: &'a mut bool,
    last_server: &'a std::cell::Cell<Option<(usize, usize)>>,
    session_conn: &'a crate::proxy::connect::SessionConn,
}

/// One read's outcome handled: an error answered and logged, or the
/// request exchanged and logged. Says whether the connection goes on.
async fn handle(c: Conn<'_>, read: Result<RequestHead, Option<Status>>, waited: Waited) -> Next {
    let Conn {
        client,
        cbuf,
        origin,
        frontend,
        shared,
        slots,
        rt,
        first,
        last_server,
        session_conn,
    } = c;
    let (peer, local) = (origin.peer, origin.local);
    let Some(fe) = rt.frontend(frontend) else {
        return Next::Close;
    };
    let access = Access::new(origin, *first, waited.at, waited.date);
    access.first_byte.set(waited.first_byte);
    if read.is_ok() {
        access.head_at.set(Some(std::time::Instant::now()));
    }
    // HAProxy starts an HTTP session's stream, and so logs its
    // "Connect from" line, once the first request's bytes arrive.
    if *first && (read.is_ok() || !cbuf.is_empty()) {
        super::accesslog::connect_line(fe, peer, local);
    }
    let head = match read {
        Ok(h) => h,
        Err(None) => {
            // A client that leaves before a whole first request (or in
            // the middle of a later one) is logged as HAProxy logs it:
            // CR, 400, <BADREQ>; an idle keep-alive close is not.
            let nothing = cbuf.is_empty();
            let logged = if nothing {
                *first && !fe.dontlognull
            } else {
                true
            };
            if logged {
                access.status.set(400);
                access.end(Term::new(b'C', b'R'));
                access.log(fe, rt, peer, "<BADREQ>", shared.active.load(Relaxed));
            }
            return Next::Close;
        }
        Err(Some(status)) => {
            if status != Status::RequestTimeout {
                fe.counters.request_errors.fetch_add(1, Relaxed);
            }
            // `option dontlognull`: a connection that timed out
            // without sending a byte (a pre-connect, a probe) is not logged.
            let null = status == Status::RequestTimeout && cbuf.is_empty();
            let term = if status == Status::RequestTimeout {
                Term::new(b'c', b'R')
            } else {
                Term::new(b'P', b'R')
            };
            answer::read_error(client, status, fe, &access, term).await;
            if !(fe.dontlognull && null) {
                access.log(fe, rt, peer, "<BADREQ>", shared.active.load(Relaxed));
            }
            return Next::Close;
        }
    };
    let first_request = std::mem::replace(first, false);
    fe.counters.requests.fetch_add(1, Relaxed);
    // A reload may have happened while we waited for this request.
    *rt = shared.runtime.load_full();
    let rt: &crate::runtime::Runtime = rt;
    let Some(fe) = rt.frontend(frontend) else {
        let _ = client.shutdown().await;
        return Next::Close;
    };
    let request_line = if fe.rules.log_line.is_some() {
        request_line(cbuf.filled(), &head)
    } else {
        String::new()
    };
    // `http-request track-scN` entries live as long as the request.
    let stream = crate::state::stick::Slots::default();
    let tracked = crate::state::stick::Tracked {
        session: Some(slots),
        stream: Some(&stream),
    };
    let cx = exchange::Cx {
        client: &mut *client,
        cbuf,
        peer,
        local,
        fe,
        rt,
        access: &access,
        tracked,
        last_server,
        first_request,
        session_conn,
    };
    // Not boxed again: this whole function is, once per request.
    let next = exchange::run(cx, head).await;
    // A 4xx answer, the server's or ours, counts as an HTTP error on
    // every tracked entry.
    if (400..500).contains(&access.status.get()) {
        slots.http_err();
        stream.http_err();
    }
    drop(stream);
    access.log(fe, rt, peer, &request_line, shared.active.load(Relaxed));
    if let Next::Close = next {
        let _ = client.shutdown().await;
    }
    next
}

/// What waiting for a request head gave.
enum Read {
    /// A whole head.
    Head(RequestHead),
    /// The client went away quietly, or an idle keep-alive connection
    /// expired: close without an answer.
    Quiet,
    /// Answer this and close.
    Answer(Status),
    /// Nothing came for [`idle::PARK_AFTER`] and the wait goes on: park.
    Idle,
}

/// Reads one request head. While nothing has come the wait lasts until
/// `until`; once bytes come, `timeout http-request` bounds the rest of the
/// head (from accept for the first request, from its first byte for the
/// later ones).
async fn read_request(
    client: &mut Stream,
    cbuf: &mut RecvBuf,
    fe: &Frontend,
    limits: HeadLimits,
    first: bool,
    until: Option<Instant>,
    first_byte: &mut Option<std::time::Instant>,
) -> Read {
    let mut deadline = if first {
        until
    } else if !cbuf.is_empty() {
        fe.timeout_http_request.map(|t| Instant::now() + t)
    } else {
        None
    };
    loop {
        if !cbuf.is_empty() {
            if first_byte.is_none() {
                *first_byte = Some(std::time::Instant::now());
            }
            match head::parse_request(cbuf.filled(), cbuf.is_full(), limits) {
                Ok(h) => return Read::Head(h),
                Err(HeadError::Bad(s)) => return Read::Answer(s),
                Err(HeadError::Partial) => {}
            }
        }
        let empty = cbuf.is_empty();
        let idle = empty && !first;
        let ends = if empty { until } else { deadline };
        let mut wait = ends.map(|d| d.saturating_duration_since(Instant::now()));
        // A long wait with nothing received is left to the idle lot.
        let park = empty && client.is_plain() && wait.is_none_or(|w| w > idle::PARK_AFTER);
        if park {
            wait = Some(idle::PARK_AFTER);
        }
        match cbuf.fill(client, wait).await {
            // Closed before or in the middle of a head: nothing to answer.
            Ok(0) => return Read::Quiet,
            Ok(_) => {
                if idle {
                    deadline = fe.timeout_http_request.map(|t| Instant::now() + t);
                }
            }
            Err(ReadError::Timeout) if park => return Read::Idle,
            Err(ReadError::Timeout) if idle => return Read::Quiet,
            Err(ReadError::Timeout) => return Read::Answer(Status::RequestTimeout),
            Err(ReadError::Io(_)) => return Read::Quiet,
        }
    }
}

/// "GET /path HTTP/1.1" as it came, for the log.
fn request_line(buf: &[u8], head: &RequestHead) -> String {
    format!(
        "{} {} HTTP/1.{}",
        String::from_utf8_lossy(head.msg.first.of(buf)),
        String::from_utf8_lossy(head.msg.second.of(buf)),
        head.msg.minor
    )
}

/// After `101 Switching Protocols` or a successful CONNECT: bytes both ways.
async fn tunnel(
    client: &mut Stream,
    cbuf: &mut RecvBuf,
    conn: &mut Connected<'_>,
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
    let srv = conn.srv;
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
    tokio::select! {
        _ = super::tcp::pump(client, &mut conn.stream, idle, up, down, None) => {}
        _ = srv.state.kill.notified() => {}
    }
    Next::Close
}
