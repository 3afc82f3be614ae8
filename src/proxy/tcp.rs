//! `mode tcp`: bytes both ways until both sides have closed.
//!
//! Each direction is its own loop, so a FIN from one side is passed on
//! (half-close) while the other direction goes on. The session expires when
//! neither direction has moved for its timeout (`timeout tunnel` when set,
//! else `timeout client` on the client side and `timeout server` on the
//! server side), as HAProxy's inactivity timeouts do.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::connect::connect;
use super::splice::Turn;
use crate::balance::RequestKey;
use crate::proxy::stream::Stream;
use crate::runtime::Splice;
use crate::runtime::{Backend, Frontend};
use crate::util::buffer::Buffer;

/// Buffer per direction: bounded memory whatever the volume.
pub const BUF_SIZE: usize = 16 * 1024;

/// How a pump ended badly.
#[derive(Debug, thiserror::Error)]
pub enum PumpError {
    /// Neither side moved for the timeout.
    #[error("inactivity timeout")]
    Timeout,
    /// The server was marked DOWN and its sessions shut down.
    #[error("server marked down: session shut down")]
    Killed,
    /// A read or write failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Byte counters a direction adds to.
pub struct Counters<'a> {
    /// Each counter gets every byte moved in this direction.
    pub sinks: [&'a AtomicU64; 3],
}

/// Copies `r` to `w` until EOF (then shuts `w`'s write side), with the
/// session's shared activity clock. The wait for bytes has no timer of
/// its own: [`expire`] watches the whole session's idleness. `waits`
/// holds this direction's idle timeout while it still waits for bytes
/// (None once it is done), for that watch.
#[allow(clippy::manual_async_fn)] // arguments held once, see [`pump`]
pub fn copy_one_way<'a, 'h: 'a>(
    r: &'a mut ReadHalf<'h>,
    w: &'a mut WriteHalf<'h>,
    idle: Option<Duration>,
    waits: &'a Cell<Option<Duration>>,
    activity: &'a Cell<Instant>,
    counters: Counters<'a>,
    splice: Option<&'a Splice>,
) -> impl std::future::Future<Output = Result<u64, PumpError>> + use<'a, 'h> {
    async move {
        // However this direction ends, it no longer waits for bytes.
        let _done = NoLongerWaits(waits);
        // Spliced when the settings allow and the pool has a pipe; held only
        // while bytes are in it, like the buffer below.
        let mut pipe = super::splice::PipeSlot::none();
        // A buffer only while bytes are on their way: taken from the worker's
        // spares when the socket is readable, given back once they are
        // written, so an idle session holds none. Reads go into spare
        // capacity, so it is never zeroed.
        let mut buf = Buffer::none();
        let mut total = 0u64;
        loop {
            // Readiness polled in place: no future (nor timer) is kept for
            // the wait, which is where an idle session spends its life.
            std::future::poll_fn(|cx| r.as_ref().poll_read_ready(cx)).await?;
            if let Some(settings) = splice {
                // Boxed: a turn's state (the pipe's drain, its write timer)
                // exists only while bytes move, and an idle session's task
                // should not carry its room.
                let turn =
                    super::splice::turn(r, w, &mut pipe, settings, idle, activity, &counters);
                match Box::pin(turn).await? {
                    Turn::Moved(n) => {
                        total += n as u64;
                        continue;
                    }
                    Turn::Closed => return Ok(total),
                    Turn::NoPipe => {}
                }
            }
            if !buf.is_held() {
                buf = Buffer::take(BUF_SIZE);
            }
            buf.clear();
            let n = match r.try_read_buf(&mut *buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    buf.release();
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                let _ = w.shutdown().await;
                return Ok(total);
            }
            activity.set(Instant::now());
            // The read went into the cleared buffer: it holds its n bytes alone.
            let read = buf.as_slice();
            // Boxed, as the splice turn: the write's timer exists only while
            // bytes are on their way.
            match idle {
                None => w.write_all(read).await?,
                Some(t) => Box::pin(tokio::time::timeout(t, w.write_all(read)))
                    .await
                    .map_err(|_| PumpError::Timeout)??,
            }
            activity.set(Instant::now());
            total += n as u64;
            for c in counters.sinks {
                c.fetch_add(n as u64, Relaxed);
            }
            // A short read drained the socket: the session may now idle.
            if n < buf.capacity() {
                super::stream::drained(r.as_ref());
                buf.release();
            }
        }
    }
}

/// Clears a direction's entry in the session's waits when it ends.
struct NoLongerWaits<'a>(&'a Cell<Option<Duration>>);

impl Drop for NoLongerWaits<'_> {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

/// Timeouts of a TCP session.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    /// Client side.
    pub client: Option<Duration>,
    /// Server side.
    pub server: Option<Duration>,
}

/// Pumps both ways between `client` and `server` until both are closed.
/// Returns (bytes client->server, bytes server->client). Plain sockets
/// take the readiness path that holds no buffer while idle; TLS goes
/// through rustls.
#[allow(clippy::manual_async_fn)] // an `async fn` would hold its arguments twice in the task
pub fn pump<'a>(
    client: &'a mut Stream,
    server: &'a mut Stream,
    idle: Idle,
    up: Counters<'a>,
    down: Counters<'a>,
    splice: Option<&'a Splice>,
) -> impl std::future::Future<Output = Result<(u64, u64), PumpError>> + 'a {
    async move {
        match (client, server) {
            (Stream::Plain(c), Stream::Plain(s)) => pump_plain(c, s, idle, up, down, splice).await,
            (c, s) => pump_any(c, s, idle, up, down).await,
        }
    }
}

async fn pump_any(
    client: &mut Stream,
    server: &mut Stream,
    idle: Idle,
    up: Counters<'_>,
    down: Counters<'_>,
) -> Result<(u64, u64), PumpError> {
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = tokio::io::split(server);
    let activity = Cell::new(Instant::now());
    let upstream = copy_any(&mut cr, &mut sw, idle.client, &activity, up);
    let downstream = copy_any(&mut sr, &mut cw, idle.server, &activity, down);
    tokio::try_join!(upstream, downstream)
}

/// [`copy_one_way`] for any stream (TLS): reads through the stream's own
/// buffers, with the same shared activity clock.
async fn copy_any<R, W>(
    r: &mut R,
    w: &mut W,
    idle: Option<Duration>,
    activity: &Cell<Instant>,
    counters: Counters<'_>,
) -> Result<u64, PumpError>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; BUF_SIZE];
    let mut total = 0u64;
    loop {
        let n = match idle {
            None => r.read(&mut buf).await?,
            Some(t) => loop {
                let deadline = activity.get() + t;
                match tokio::time::timeout_at(deadline, r.read(&mut buf)).await {
                    Ok(res) => break res?,
                    Err(_) if activity.get() + t > Instant::now() => continue,
                    Err(_) => return Err(PumpError::Timeout),
                }
            },
        };
        if n == 0 {
            let _ = w.shutdown().await;
            return Ok(total);
        }
        activity.set(Instant::now());
        // `read` returned how many bytes it put in `buf`, so n <= buf.len().
        #[allow(clippy::indexing_slicing)]
        let read = &buf[..n];
        match idle {
            None => w.write_all(read).await?,
            Some(t) => tokio::time::timeout(t, w.write_all(read))
                .await
                .map_err(|_| PumpError::Timeout)??,
        }
        w.flush().await?;
        activity.set(Instant::now());
        total += n as u64;
        for c in counters.sinks {
            c.fetch_add(n as u64, Relaxed);
        }
    }
}

#[allow(clippy::manual_async_fn)] // arguments held once, see [`pump`]
fn pump_plain<'a>(
    client: &'a mut TcpStream,
    server: &'a mut TcpStream,
    idle: Idle,
    up: Counters<'a>,
    down: Counters<'a>,
    splice: Option<&'a Splice>,
) -> impl std::future::Future<Output = Result<(u64, u64), PumpError>> + 'a {
    async move {
        let (mut cr, mut cw) = client.split();
        let (mut sr, mut sw) = server.split();
        let activity = Cell::new(Instant::now());
        let waits = [Cell::new(idle.client), Cell::new(idle.server)];
        // The two directions are made inside the block: made outside, they
        // would be held twice in the session's task (captured, and again in
        // the join).
        let both = async {
            let upstream = copy_one_way(
                &mut cr,
                &mut sw,
                idle.client,
                &waits[0],
                &activity,
                up,
                splice,
            );
            let downstream = copy_one_way(
                &mut sr,
                &mut cw,
                idle.server,
                &waits[1],
                &activity,
                down,
                splice,
            );
            tokio::try_join!(upstream, downstream)
        };
        tokio::select! {
            r = both => r,
            e = expire(&activity, &waits) => Err(e),
        }
    }
}

/// One timer for a whole session: it expires when nothing moved for the
/// shortest idle timeout among the directions still waiting for bytes
/// (`timeout client` for the client's, `timeout server` for the
/// server's), as two directions each waiting with its own timeout would.
async fn expire(activity: &Cell<Instant>, waits: &[Cell<Option<Duration>>; 2]) -> PumpError {
    loop {
        let Some(t) = waits.iter().filter_map(Cell::get).min() else {
            // Neither direction that still waits has a timeout, and
            // limits only ever go away.
            return std::future::pending().await;
        };
        let due = activity.get() + t;
        if due <= Instant::now() {
            return PumpError::Timeout;
        }
        tokio::time::sleep_until(due).await;
    }
}

/// What `stick` rules decided before the server is chosen.
#[derive(Debug, Default)]
pub struct Stuck {
    /// The server a matching entry names.
    pub forced: Option<usize>,
    /// Keys to record the chosen server under.
    pub to_store: crate::rules::stick::ToStore,
}

/// Serves one `mode tcp` session: pick, connect, pump. `inspected` holds
/// the bytes `tcp-request content` rules read before the backend was
/// chosen; they go to the server first.
///
/// A session spends its life in the pump, so only what the pump and the
/// log line at the end need is kept across it: the rule facts are made
/// again for the line (the same stream, so the same unique ID), and the
/// connect phase runs boxed, its state freed once a server answered.
#[allow(clippy::manual_async_fn)] // see [`pump`]: arguments held once
pub fn serve<'a>(
    mut client: Stream,
    origin: &'a super::accept::Origin,
    fe: &'a Frontend,
    be: Arc<Backend>,
    inspected: Vec<u8>,
    stuck: Stuck,
) -> impl std::future::Future<Output = ()> + 'a {
    async move {
        let peer = origin.peer;
        let (start, date) = (std::time::Instant::now(), std::time::SystemTime::now());
        let stream = crate::rules::facts::StreamFacts::next(true);
        let on_backend = crate::state::ProxySession::start(&be.counters);
        let (connected, attempts) = Box::pin(dial(origin, fe, &be, &stream, stuck.forced)).await;
        let log = |term: [u8; 2], read: u64, uploaded: u64, logasap: bool| {
            let line = TcpLog {
                fe,
                be: &be,
                peer,
                local: origin.local,
                date,
                start,
                attempts: &attempts,
            };
            session_facts(origin, fe, &stream, |f| {
                line.emit(Some(f), term, read, uploaded, logasap)
            });
        };
        let mut conn = match connected {
            Ok(c) => c,
            Err(e) => {
                be.counters.proxy_errors.fetch_add(1, Relaxed);
                tracing::info!(frontend = %fe.name, backend = %be.name, client = %peer, error = %e, "session refused");
                let term = match e {
                    super::connect::ConnectError::QueueTimeout => *b"sQ",
                    _ => *b"SC",
                };
                drop(on_backend);
                log(term, 0, 0, false);
                return;
            }
        };
        crate::rules::stick::store(stuck.to_store, conn.server);
        let srv = conn.srv;
        if !inspected.is_empty() {
            if let Err(e) = conn.stream.write_all(&inspected).await {
                tracing::debug!(frontend = %fe.name, server = %srv.name, error = %e, "server closed before the inspected bytes were sent");
                return;
            }
            for c in [
                &fe.counters.bytes_in,
                &be.counters.bytes_in,
                &srv.state.bytes_in,
            ] {
                c.fetch_add(inspected.len() as u64, Relaxed);
            }
        }
        drop(inspected);
        let idle = match be.timeout_tunnel {
            Some(t) => Idle {
                client: Some(t),
                server: Some(t),
            },
            None => Idle {
                client: fe.timeout_client,
                server: be.timeout_server,
            },
        };
        // `option logasap`: the line goes out now, its Tt and bytes marked
        // `+` as lower bounds; none is written at the end.
        if fe.logasap {
            log(*b"--", 0, 0, true);
        }
        // `on-marked-down shutdown-sessions` ends the session from outside.
        let res = {
            let up = Counters {
                sinks: [
                    &fe.counters.bytes_in,
                    &be.counters.bytes_in,
                    &srv.state.bytes_in,
                ],
            };
            let down = Counters {
                sinks: [
                    &fe.counters.bytes_out,
                    &be.counters.bytes_out,
                    &srv.state.bytes_out,
                ],
            };
            tokio::select! {
                r = pump(&mut client, &mut conn.stream, idle, up, down, fe.splice.as_ref()) => r,
                _ = srv.state.kill.notified() => Err(PumpError::Killed),
            }
        };
        let (sent, received) = res.as_ref().map(|(a, b)| (*a, *b)).unwrap_or((0, 0));
        // `option dontlognull`: a connection that carried nothing (a port
        // scan, a health probe) is not logged.
        let null = sent == 0 && received == 0;
        // `option dontlog-normal`: a session that ended without error is not logged.
        let normal = fe.dontlog_normal && res.is_ok();
        // The server's and backend's sessions end before the line, as in
        // HAProxy (%sc, %bc).
        drop(conn);
        drop(on_backend);
        let quiet = fe.logasap || normal || (fe.dontlognull && null);
        if !quiet {
            let term = match &res {
                Ok(_) => *b"--",
                Err(PumpError::Timeout) => *b"cD",
                Err(PumpError::Killed) => *b"KD",
                Err(PumpError::Io(_)) => *b"CD",
            };
            log(term, received, sent, false);
        }
        if let Err(e) = res {
            tracing::debug!(frontend = %fe.name, server = %srv.name, client = %peer, error = %e, "session ended");
        }
    }
}

/// The connect phase: the balancing key, the facts an `sni` expression or
/// a PROXY v2 unique ID reads (in mode tcp they see the connection only,
/// not a request), and the connection attempts.
async fn dial<'b>(
    origin: &super::accept::Origin,
    fe: &Frontend,
    be: &'b Backend,
    stream: &crate::rules::facts::StreamFacts,
    forced: Option<usize>,
) -> (
    Result<super::connect::Connected<'b>, super::connect::ConnectError>,
    super::connect::Attempts,
) {
    let key = RequestKey {
        client: Some(origin.peer.ip()),
        ..Default::default()
    };
    let vars = crate::rules::facts::Vars::default();
    let world = crate::rules::facts::NoWorld;
    let env = session_env(origin, fe, stream, &world);
    let facts = env.facts(None, None, &vars);
    let sni = |i: usize| {
        let e = be.servers.get(i)?.tls.as_ref()?.sni.as_ref()?;
        let v = e.eval(&facts)?;
        Some(String::from_utf8_lossy(&v.to_bytes()).into_owned())
    };
    let source = super::connect::ProxySource {
        src: origin.peer,
        dst: origin.local,
        conn: &origin.conn,
        unique_id: be
            .servers
            .iter()
            .any(|s| s.proxy_v2_options.unique_id)
            .then(|| facts.unique_id())
            .flatten(),
    };
    let reuse = super::connect::Reuse::New;
    connect(be, &key, origin.local.port(), reuse, forced, &source, &sni).await
}

/// A TCP session's rule environment: its addresses and connection.
fn session_env<'a>(
    origin: &'a super::accept::Origin,
    fe: &'a Frontend,
    stream: &'a crate::rules::facts::StreamFacts,
    world: &'a crate::rules::facts::NoWorld,
) -> crate::rules::action::Env<'a> {
    crate::rules::action::Env {
        src: origin.peer,
        dst: origin.local,
        frontend: &fe.name,
        backend: None,
        server: None,
        req_body_len: None,
        world,
        conn: &origin.conn,
        stream: Some(stream),
        unique_id_format: fe.rules.unique_id_format.as_ref(),
        tracked: Default::default(),
    }
}

/// Runs `f` over the session's facts, made for the moment.
fn session_facts<R>(
    origin: &super::accept::Origin,
    fe: &Frontend,
    stream: &crate::rules::facts::StreamFacts,
    f: impl FnOnce(&crate::rules::facts::Facts) -> R,
) -> R {
    let vars = crate::rules::facts::Vars::default();
    let world = crate::rules::facts::NoWorld;
    let env = session_env(origin, fe, stream, &world);
    f(&env.facts(None, None, &vars))
}

/// What a TCP session's log line needs besides its end.
struct TcpLog<'a> {
    fe: &'a Frontend,
    be: &'a Backend,
    peer: SocketAddr,
    local: SocketAddr,
    date: std::time::SystemTime,
    start: std::time::Instant,
    attempts: &'a super::connect::Attempts,
}

impl TcpLog<'_> {
    /// Sends the frontend's line (tcplog or its `log-format`): `term` is
    /// the termination state, `read` the bytes sent to the client.
    fn emit(
        &self,
        facts: Option<&crate::rules::facts::Facts>,
        term: [u8; 2],
        read: u64,
        uploaded: u64,
        logasap: bool,
    ) {
        use crate::rules::logline::{Conns, LogRecord, Timers};
        let a = self.attempts;
        let srv = a.server.and_then(|s| self.be.servers.get(s));
        let ms = |d: std::time::Duration| d.as_millis() as u64;
        let rec = LogRecord {
            client: self.peer,
            local: self.local,
            accept: self.date,
            request_date: self.date,
            frontend: &self.fe.name,
            tls: None,
            backend: Some(&self.be.name),
            server: srv.map(|s| s.name.as_str()),
            server_addr: srv.map(|s| s.target(self.local.port())),
            backend_src: None,
            timers: Timers {
                handshake: Some(0),
                queue: Some(ms(a.queue)),
                connect: a.connect.filter(|_| a.established).map(ms),
                total: Some(ms(self.start.elapsed())),
                ..Timers::default()
            },
            logasap,
            status: None,
            bytes_read: read,
            bytes_uploaded: uploaded,
            term,
            cookie: *b"--",
            conns: Conns {
                process: self.fe.counters.cur_sessions.load(Relaxed),
                frontend: self.fe.counters.cur_sessions.load(Relaxed),
                backend: self.be.counters.cur_sessions.load(Relaxed),
                server: srv.map_or(0, |s| s.state.cur_sessions.load(Relaxed)),
                ..Conns::default()
            },
            retries: a.retries,
            redispatched: a.redispatched,
            request: None,
            captures: (None, None),
            request_id: None,
            unique_id: facts.and_then(|f| f.unique_id()),
            counter: self.fe.counters.total_sessions.load(Relaxed),
        };
        let level = if self.fe.log_separate_errors && term[0] != b'-' {
            3
        } else {
            6
        };
        super::accesslog::emit(self.fe, facts, &rec, level);
    }
}
