//! What one request's access-log line says, filled in by the phases as the
//! exchange goes, and the `option httplog` line built from it.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use crate::runtime::{Frontend, Runtime};

/// HAProxy's two termination-state letters: who ended the exchange and
/// in which phase (manual 8.5). `--` is a normal end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// C client, S server, P proxy, L local (the proxy answered), R
    /// resource, c/s a client or server timeout, `-` nobody.
    pub side: u8,
    /// R request, Q queue, C connect, H headers, D data, L last bytes,
    /// T tarpit, `-` none.
    pub phase: u8,
}

impl Term {
    /// A normal end.
    pub const NORMAL: Term = Term::new(b'-', b'-');

    /// The letters `side` and `phase`.
    pub const fn new(side: u8, phase: u8) -> Term {
        Term { side, phase }
    }
}

/// Captured values by slot (an empty slot logs as nothing).
pub type Slots = Vec<Option<Box<[u8]>>>;

/// The log facts of one request.
pub struct Access<'c> {
    /// The client's address.
    pub src: SocketAddr,
    /// The address it connected to.
    pub dst: SocketAddr,
    /// When the connection was accepted, and how long its handshake took.
    pub accepted: Accepted,
    /// When this request's wait began (the end of the previous one, or
    /// of the handshake).
    pub start: std::time::Instant,
    pub date: std::time::SystemTime,
    /// The request's first byte, and its whole head.
    pub first_byte: Cell<Option<std::time::Instant>>,
    pub head_at: Cell<Option<std::time::Instant>>,
    pub backend: Cell<Option<usize>>,
    pub server: Cell<Option<usize>>,
    pub status: Cell<u16>,
    /// What getting the server connection took (%Tw, %Tc, %rc).
    pub attempts: Cell<crate::proxy::connect::Attempts>,
    pub response_ms: Cell<Option<u128>>,
    pub bytes: Cell<u64>,
    pub term: Cell<Term>,
    /// The persistence-cookie letters of %tsc: what the client's cookie
    /// was (N none, I invalid, V valid) and what was done with the
    /// server's (N nothing, I inserted); `--` without cookie persistence.
    pub cookie: Cell<[u8; 2]>,
    /// No line for this request (`monitor-uri`, as HAProxy).
    pub quiet: Cell<bool>,
    /// The capture slots' values (request, response), when the frontend
    /// has any: shown as `{a|b}` fields.
    pub captures: std::cell::RefCell<(Slots, Slots)>,
    /// `set-log-level`: syslog severity, 8 for silent.
    pub level: Cell<Option<u8>>,
    /// The request's number and unique ID.
    pub stream: crate::rules::facts::StreamFacts,
    /// What is known of the client connection (TLS, PROXY TLVs).
    pub conn: &'c crate::rules::facts::ConnFacts,
    /// The connection's `sess.*` variables.
    pub session_vars: &'c crate::proxy::accept::SessionVars,
}

/// When a client connection was accepted, for the timers of its logs.
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    /// The accept.
    pub at: std::time::Instant,
    /// The same moment on the wall clock.
    pub date: std::time::SystemTime,
    /// The TLS handshake's duration (zero without TLS): %Th.
    pub handshake: std::time::Duration,
}

impl Accepted {
    /// Now.
    pub fn now() -> Accepted {
        Accepted {
            at: std::time::Instant::now(),
            date: std::time::SystemTime::now(),
            handshake: std::time::Duration::ZERO,
        }
    }
}

impl<'c> Access<'c> {
    /// The record of a request on connection `origin` whose wait began at
    /// `start` (`date` on the wall clock).
    pub fn new(
        origin: &'c crate::proxy::accept::Origin,
        first: bool,
        start: std::time::Instant,
        date: std::time::SystemTime,
    ) -> Access<'c> {
        let (src, dst, accepted) = (origin.peer, origin.local, origin.accepted);
        Access {
            src,
            dst,
            accepted,
            start,
            date,
            first_byte: Default::default(),
            head_at: Default::default(),
            backend: Default::default(),
            server: Default::default(),
            status: Default::default(),
            attempts: Default::default(),
            response_ms: Default::default(),
            bytes: Default::default(),
            term: Cell::new(Term::NORMAL),
            cookie: Cell::new(*b"--"),
            quiet: Cell::new(false),
            captures: Default::default(),
            level: Cell::new(None),
            stream: crate::rules::facts::StreamFacts::next(first),
            conn: &origin.conn,
            session_vars: &origin.session_vars,
        }
    }

    /// Records what was sent to the client: a response head (and the
    /// body bytes in `out` after it), plus `more` body bytes to follow.
    /// Counted as HAProxy counts %B, over its internal (HTX) form of the
    /// message: each header line without its `: ` and CRLF, so that the
    /// logs of both say the same for the same response.
    pub fn sent(&self, out: &[u8], more: u64) {
        let head = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .and_then(|p| out.get(..p + 4))
            .unwrap_or(out);
        let lines = head.windows(2).filter(|w| w == b"\r\n").count() as u64;
        // The start line's and the blank line's CRLFs are counted.
        let headers = lines.saturating_sub(2);
        self.bytes
            .set((out.len() as u64).saturating_sub(4 * headers) + more);
    }

    /// Records who ended the exchange, unless an earlier phase already did.
    pub fn end(&self, t: Term) {
        if self.term.get() == Term::NORMAL {
            self.term.set(t);
        }
    }

    /// Sends the frontend's access-log line (`option httplog`, its
    /// variants, or `log-format`) when the frontend logs. `first` says
    /// whether this is the connection's first request (its wait began at
    /// the handshake, and counts as HAProxy's Th + Ti).
    pub fn log(&self, fe: &Frontend, rt: &Runtime, peer: SocketAddr, request: &str, active: u64) {
        use crate::rules::logline::{Conns, LogRecord, Timers};
        // `http-request set-log-level` wins; else `option
        // log-separate-errors` sends failed exchanges at err.
        let t = self.term.get();
        let failed = self.status.get() >= 500 || t.side != b'-';
        let level = self
            .level
            .get()
            .unwrap_or(if fe.log_separate_errors && failed {
                3
            } else {
                6
            });
        if fe.rules.log_line.is_none() || fe.log_targets.is_empty() || self.quiet.get() || level > 7
        {
            return;
        }
        // `option dontlog-normal`: only errors, timeouts and 5xx are logged.
        if fe.dontlog_normal && self.term.get() == Term::NORMAL && self.status.get() < 500 {
            return;
        }
        let now = std::time::Instant::now();
        let ms = |d: std::time::Duration| d.as_millis() as u64;
        let be = self.backend.get().and_then(|b| rt.backends.get(b));
        let srv = be
            .zip(self.server.get())
            .and_then(|(b, s)| b.servers.get(s));
        let a = self.attempts.get();
        let first = self.first_byte.get().unwrap_or(self.start);
        let captures = self.captures.borrow();
        let slots = &fe.rules.capture_slots;
        let padded = |declared: &Vec<usize>, got: &Slots| -> Option<Slots> {
            (!declared.is_empty()).then(|| {
                let mut v = got.clone();
                v.resize(declared.len(), None);
                v
            })
        };
        let (req_caps, res_caps) = (padded(&slots.0, &captures.0), padded(&slots.1, &captures.1));
        // Samples in the line see the connection: addresses, names, TLS.
        let vars = crate::rules::facts::Vars::default();
        let env = crate::rules::action::Env {
            src: peer,
            dst: self.dst,
            frontend: &fe.name,
            backend: self.backend.get(),
            server: self.server.get(),
            req_body_len: None,
            world: rt,
            conn: self.conn,
            stream: Some(&self.stream),
            unique_id_format: fe.rules.unique_id_format.as_ref(),
            tracked: Default::default(),
        };
        let facts = env.facts(None, None, &vars);
        // The log makes the ID if nothing asked for it before, as HAProxy does.
        let unique_id = facts.unique_id();
        let rec = LogRecord {
            client: peer,
            local: self.dst,
            accept: self.accepted.date,
            request_date: self.date + first.saturating_duration_since(self.start),
            frontend: &fe.name,
            tls: self.conn.tls.as_deref(),
            backend: be.map(|b| b.name.as_str()),
            server: srv.map(|s| s.name.as_str()),
            server_addr: srv.map(|s| s.target(self.dst.port())),
            backend_src: None,
            timers: Timers {
                handshake: Some(ms(self.accepted.handshake)),
                idle: Some(ms(first.saturating_duration_since(self.start))),
                request: self
                    .head_at
                    .get()
                    .map(|h| ms(h.saturating_duration_since(first))),
                queue: a.server.map(|_| ms(a.queue)),
                connect: a.connect.filter(|_| a.established).map(ms),
                response: self.response_ms.get().map(|v| v as u64),
                active: Some(ms(now.saturating_duration_since(first))),
                total: Some(ms(now.saturating_duration_since(self.accepted.at))),
            },
            logasap: false,
            status: Some(self.status.get()).filter(|s| *s != 0),
            bytes_read: self.bytes.get(),
            bytes_uploaded: 0,
            term: [t.side, t.phase],
            cookie: self.cookie.get(),
            conns: Conns {
                process: active,
                frontend: fe.counters.cur_sessions.load(Relaxed),
                backend: be.map_or(0, |b| b.counters.cur_sessions.load(Relaxed)),
                server: srv.map_or(0, |s| s.state.cur_sessions.load(Relaxed)),
                ..Conns::default()
            },
            retries: a.retries,
            redispatched: a.redispatched,
            request: Some(request),
            captures: (req_caps.as_deref(), res_caps.as_deref()),
            counter: fe.counters.requests.load(Relaxed),
            request_id: Some(self.stream.id),
            unique_id,
        };
        super::super::accesslog::emit(fe, Some(&facts), &rec, level);
    }

    /// Stores a capture, truncated to its slot's length.
    pub fn capture(&self, fe: &Frontend, response: bool, slot: usize, v: &[u8]) {
        let slots = if response {
            &fe.rules.capture_slots.1
        } else {
            &fe.rules.capture_slots.0
        };
        let Some(&len) = slots.get(slot) else { return };
        let mut c = self.captures.borrow_mut();
        let list = if response { &mut c.1 } else { &mut c.0 };
        if list.len() < slots.len() {
            list.resize(slots.len(), None);
        }
        if let Some(kept) = list.get_mut(slot) {
            *kept = Some(v.get(..len).unwrap_or(v).into());
        }
    }

    /// Keeps what rules recorded for the log: captures and the log level.
    pub fn keep(&self, fe: &Frontend, vars: &mut crate::rules::facts::Vars) {
        let mut kept = self.session_vars.borrow_mut();
        if kept.is_some() || vars.has_session_vars() {
            kept.get_or_insert_default().keep_session(vars);
        }
        for (response, slot, v) in vars.captures.drain(..) {
            self.capture(fe, response, slot, &v);
        }
        if let Some(l) = vars.log_level {
            self.level.set(Some(l));
        }
    }
}
