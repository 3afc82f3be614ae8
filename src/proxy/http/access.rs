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
pub struct Access {
    /// The client's address.
    pub src: SocketAddr,
    /// The address it connected to.
    pub dst: SocketAddr,
    pub start: std::time::Instant,
    pub date: std::time::SystemTime,
    pub backend: Cell<Option<usize>>,
    pub server: Cell<Option<usize>>,
    pub status: Cell<u16>,
    pub connect_ms: Cell<Option<u128>>,
    pub response_ms: Cell<Option<u128>>,
    pub bytes: Cell<u64>,
    pub term: Cell<Term>,
    /// No line for this request (`monitor-uri`, as HAProxy).
    pub quiet: Cell<bool>,
    /// The capture slots' values (request, response), when the frontend
    /// has any: shown as `{a|b}` fields.
    pub captures: std::cell::RefCell<(Slots, Slots)>,
    /// `set-log-level`: syslog severity, 8 for silent.
    pub level: Cell<Option<u8>>,
}

impl Access {
    pub fn new(src: SocketAddr, dst: SocketAddr) -> Access {
        Access {
            src,
            dst,
            start: std::time::Instant::now(),
            date: std::time::SystemTime::now(),
            backend: Default::default(),
            server: Default::default(),
            status: Default::default(),
            connect_ms: Default::default(),
            response_ms: Default::default(),
            bytes: Default::default(),
            term: Cell::new(Term::NORMAL),
            quiet: Cell::new(false),
            captures: Default::default(),
            level: Cell::new(None),
        }
    }

    /// Records who ended the exchange, unless an earlier phase already did.
    pub fn end(&self, t: Term) {
        if self.term.get() == Term::NORMAL {
            self.term.set(t);
        }
    }

    /// Sends the `option httplog` line (HAProxy's layout) when the frontend logs.
    pub fn log(
        &self,
        fe: &Frontend,
        rt: &Runtime,
        peer: SocketAddr,
        request: &str,
        tls: Option<&crate::rules::facts::TlsFacts>,
    ) {
        let level = self.level.get().unwrap_or(6);
        if fe.log_format.is_none() || fe.log_targets.is_empty() || self.quiet.get() || level > 7 {
            return;
        }
        // `option dontlog-normal`: only errors, timeouts and 5xx are logged.
        if fe.dontlog_normal && self.term.get() == Term::NORMAL && self.status.get() < 500 {
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
        let t = self.term.get();
        let captures = self.capture_fields(fe);
        let mut line = format!(
            "{}:{} [{}] {}{} {}/{} 0/0/{}/{}/{} {} {} - - {}{}-- {}/{}/0/0/0 0/0 {captures}\"{}\"",
            peer.ip(),
            peer.port(),
            super::super::accesslog::accept_date(self.date),
            fe.name,
            // HAProxy marks a frontend reached over TLS with a '~'.
            if tls.is_some() { "~" } else { "" },
            be_name,
            srv_name,
            ms(self.connect_ms.get()),
            ms(self.response_ms.get()),
            self.start.elapsed().as_millis(),
            self.status.get(),
            self.bytes.get(),
            t.side as char,
            t.phase as char,
            fe.counters.cur_sessions.load(Relaxed),
            fe.counters.cur_sessions.load(Relaxed),
            request.escape_default(),
        );
        if fe.log_format == Some(crate::config::model::AccessLog::Httpslog) {
            // httpslog: fc_err/ssl_fc_err/ssl_c_err/ssl_c_ca_err/resumed, then
            // SNI/version/cipher, as HAProxy writes them (errors are 0:
            // a failed handshake never reaches this line).
            match tls {
                Some(t) => line.push_str(&format!(
                    " 0/0000000000000000/0/0/{} {}/{}/{}",
                    u8::from(t.resumed),
                    t.sni.as_deref().unwrap_or("-"),
                    t.protocol.as_deref().unwrap_or("-"),
                    t.cipher.as_deref().unwrap_or("-")
                )),
                None => line.push_str(" 0/-/-/-/0 -/-/-"),
            }
        }
        super::super::accesslog::send_at(&fe.log_targets, level, &line);
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
        list[slot] = Some(v[..v.len().min(len)].into());
    }

    /// Keeps what rules recorded for the log: captures and the log level.
    pub fn keep(&self, fe: &Frontend, vars: &mut crate::rules::facts::Vars) {
        for (response, slot, v) in vars.captures.drain(..) {
            self.capture(fe, response, slot, &v);
        }
        if let Some(l) = vars.log_level {
            self.level.set(Some(l));
        }
    }

    /// `{req1|req2} {res1} ` as HAProxy writes captures (each part only
    /// when the frontend has such slots).
    fn capture_fields(&self, fe: &Frontend) -> String {
        let c = self.captures.borrow();
        let mut out = String::new();
        for (slots, values) in [
            (&fe.rules.capture_slots.0, &c.0),
            (&fe.rules.capture_slots.1, &c.1),
        ] {
            if slots.is_empty() {
                continue;
            }
            out.push('{');
            for i in 0..slots.len() {
                if i > 0 {
                    out.push('|');
                }
                if let Some(Some(v)) = values.get(i) {
                    for &b in v.iter() {
                        // As HAProxy: unprintable bytes and the field's own
                        // delimiters are written #XX.
                        if b.is_ascii_graphic() && !matches!(b, b'#' | b'{' | b'|' | b'}' | b'"')
                            || b == b' '
                        {
                            out.push(b as char);
                        } else {
                            out.push_str(&format!("#{b:02X}"));
                        }
                    }
                }
            }
            out.push_str("} ");
        }
        out
    }
}
