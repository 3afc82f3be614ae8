//! What the rules may read about one connection or request: built once per
//! request by the proxy, read lazily by the fetches (nothing is looked up
//! until a rule asks for it).

use std::net::SocketAddr;

use super::http::View;
use super::sample::Value;

/// Live state that belongs to the running configuration, not to the
/// request: answered by the runtime, which owns the servers.
pub trait World {
    /// Usable servers in backend `backend` (an index in the Runtime).
    fn nbsrv(&self, backend: usize) -> u32;
    /// Whether server `server` of backend `backend` is UP.
    fn srv_is_up(&self, backend: usize, server: usize) -> bool;
    /// Backend index -> name.
    fn backend_name(&self, backend: usize) -> &str;
    /// Server name in a backend.
    fn server_name(&self, backend: usize, server: usize) -> &str;
    /// Users of `userlist` `list` (an index): whether `user`/`password`
    /// match, and the user's groups.
    fn check_user(&self, list: usize, user: &[u8], password: &[u8]) -> Option<&[String]>;
    /// Stick table `i` (an index that [`super::Context::table`] resolved).
    fn table(&self, i: usize) -> Option<&std::sync::Arc<crate::state::stick::Table>> {
        let _ = i;
        None
    }
}

/// A World with nothing in it, for contexts (tests, benches) without a Runtime.
pub struct NoWorld;

impl World for NoWorld {
    fn nbsrv(&self, _: usize) -> u32 {
        0
    }
    fn srv_is_up(&self, _: usize, _: usize) -> bool {
        false
    }
    fn backend_name(&self, _: usize) -> &str {
        ""
    }
    fn server_name(&self, _: usize, _: usize) -> &str {
        ""
    }
    fn check_user(&self, _: usize, _: &[u8], _: &[u8]) -> Option<&[String]> {
        None
    }
}

/// What rules record during one transaction: variables set by `set-var`,
/// values captured for the log, and a log level. Few and short-lived: a
/// vector searched by name is faster than a map here, and nothing is
/// allocated until the first one is set.
#[derive(Debug, Default)]
pub struct Vars {
    vars: Vec<(Box<str>, Value<'static>)>,
    /// `capture ... len|id`: (response?, slot, value).
    pub captures: Vec<(bool, usize, Box<[u8]>)>,
    /// `set-log-level`: a syslog severity (0-7), or 8 for `silent`.
    pub log_level: Option<u8>,
}

impl Vars {
    /// The variable's value.
    pub fn get(&self, name: &str) -> Option<&Value<'static>> {
        self.vars.iter().find(|(n, _)| &**n == name).map(|(_, v)| v)
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, name: &str, v: Value<'static>) {
        match self.vars.iter_mut().find(|(n, _)| &**n == name) {
            Some(slot) => slot.1 = v,
            None => self.vars.push((name.into(), v)),
        }
    }

    /// Removes a variable.
    pub fn unset(&mut self, name: &str) {
        self.vars.retain(|(n, _)| &**n != name);
    }

    /// The session's variables (`sess.*`) to start a transaction with.
    pub fn session_copy(&self) -> Vars {
        Vars {
            vars: self.vars.clone(),
            ..Vars::default()
        }
    }

    /// Whether a `sess.*` variable is set.
    pub fn has_session_vars(&self) -> bool {
        self.vars.iter().any(|(n, _)| n.starts_with("sess."))
    }

    /// Keeps the `sess.*` variables of a transaction, set or unset, for
    /// the connection's later ones.
    pub fn keep_session(&mut self, txn: &Vars) {
        self.vars
            .retain(|(n, _)| txn.vars.iter().any(|(t, _)| t == n));
        for (n, v) in txn.vars.iter().filter(|(n, _)| n.starts_with("sess.")) {
            self.set(n, v.clone());
        }
    }
}

/// Everything a fetch can read.
pub struct Facts<'a> {
    /// The client's address (after `set-src` or the PROXY protocol).
    pub src: SocketAddr,
    /// The address the client connected to.
    pub dst: SocketAddr,
    /// The frontend's name.
    pub frontend: &'a str,
    /// The backend, once chosen (a Runtime index).
    pub backend: Option<usize>,
    /// The server, once chosen (an index in the backend).
    pub server: Option<usize>,
    /// The request head (HTTP only).
    pub req: Option<View<'a>>,
    /// The request body's length when known (Content-Length).
    pub req_body_len: Option<u64>,
    /// The response head, in response rules.
    pub res: Option<View<'a>>,
    /// Bytes of the request received so far (mode tcp content inspection).
    pub payload: &'a [u8],
    /// No more bytes will come for inspection (the data is complete, the
    /// client closed, or `inspect-delay` ended).
    pub payload_final: bool,
    /// Set by a fetch that needed more payload than has arrived, so that
    /// `tcp-request content` waits instead of deciding.
    pub missing: std::cell::Cell<bool>,
    /// Transaction variables.
    pub vars: &'a Vars,
    /// The runtime's live state.
    pub world: &'a dyn World,
    /// What is known of the client connection: its TLS, its PROXY TLVs.
    pub conn: &'a ConnFacts,
    /// The request's number and unique ID (HTTP; None in mode tcp).
    pub stream: Option<&'a StreamFacts>,
    /// The frontend's `unique-id-format`.
    pub unique_id_format: Option<&'a super::fmt::Fmt>,
    /// The stick-table entries this connection and request track.
    pub tracked: crate::state::stick::Tracked<'a>,
}

impl Facts<'_> {
    /// The client connection's TLS, when fulcrum terminated it.
    pub fn tls(&self) -> Option<&TlsFacts> {
        self.conn.tls.as_deref()
    }
}

/// What is known of a client connection for its whole life: the TLS it
/// negotiated with us and the TLVs of the PROXY v2 header in front of it.
#[derive(Debug, Default)]
pub struct ConnFacts {
    /// The TLS fulcrum terminated, if any; boxed, so that a plain
    /// connection (an idle one especially) does not carry the room.
    pub tls: Option<Box<TlsFacts>>,
    /// The PROXY v2 header's TLVs (`accept-proxy`), boxed: most
    /// connections have none and should not pay for the room.
    pub proxy_tlvs: Option<Box<crate::util::proxy_header::Tlvs>>,
}

impl ConnFacts {
    /// A connection with nothing known: plain, no PROXY header.
    pub fn none() -> &'static ConnFacts {
        static NONE: ConnFacts = ConnFacts {
            tls: None,
            proxy_tlvs: None,
        };
        &NONE
    }

    /// The value of the PROXY TLV of type `kind`.
    pub fn proxy_tlv(&self, kind: u8) -> Option<&[u8]> {
        self.proxy_tlvs.as_ref()?.get(kind)
    }
}

/// What HAProxy's stream knows of one request besides its messages: its
/// number (`%rt`) and its unique ID (`unique-id-format`), which is made the
/// first time a rule, the `unique-id-header`, a PROXY header or the log
/// asks for it, then stays the same for the rest of the request.
#[derive(Debug, Default)]
pub struct StreamFacts {
    /// The process-wide request number, from 0.
    pub id: u64,
    /// The connection's first request (`http_first_req`).
    pub first: bool,
    unique_id: std::cell::OnceCell<Box<[u8]>>,
    /// Set while the format is rendered, so that a format naming the ID
    /// itself reads it as empty instead of recursing.
    making: std::cell::Cell<bool>,
}

impl StreamFacts {
    /// A new request's facts, numbered in the process's order; `first`
    /// when it is its connection's first.
    pub fn next(first: bool) -> StreamFacts {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        StreamFacts {
            id: COUNTER.fetch_add(1, Ordering::Relaxed),
            first,
            ..StreamFacts::default()
        }
    }

    /// The unique ID, made from `format` over `f` if nothing asked for it
    /// before.
    pub fn unique_id(&self, format: &super::fmt::Fmt, f: &Facts) -> &[u8] {
        if let Some(v) = self.unique_id.get() {
            return v;
        }
        if self.making.replace(true) {
            return b"";
        }
        let mut made = format.render(f);
        // HAProxy's room for it (UNIQUEID_LEN, with its terminator).
        made.truncate(127);
        self.making.set(false);
        self.unique_id.get_or_init(|| made.into())
    }
}

impl Facts<'_> {
    /// The request's unique ID, when the frontend has `unique-id-format`.
    pub fn unique_id(&self) -> Option<&[u8]> {
        Some(self.stream?.unique_id(self.unique_id_format?, self))
    }
}

/// What a TLS handshake settled, for the `ssl_fc*` fetches and the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// The server name the client asked for.
    pub sni: Option<String>,
    /// "TLSv1_3", ...
    pub protocol: Option<String>,
    /// The negotiated cipher suite's name.
    pub cipher: Option<String>,
    /// The session was resumed.
    pub resumed: bool,
    /// The client presented a certificate.
    pub client_cert: bool,
    /// Its subject, as `/C=../CN=..` (`ssl_c_s_dn`).
    pub client_dn: Option<String>,
}
