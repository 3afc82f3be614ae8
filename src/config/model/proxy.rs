//! Proxy sections (frontend, backend, listen) and their per-proxy settings:
//! binds, options, timeouts, balancing, the stats page and cookies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{
    is_default, is_false, HttpCheckRule, HttpChk, LogTarget, Origin, Origins, Server, UseBackend,
    UseServer, Words,
};
use crate::config::diag::Span;
use crate::util::addr::BindAddr;
use crate::util::time::serde_time;

/// What a proxy section is. A `listen` is a frontend and a backend in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKind {
    /// Accepts connections and routes them to backends.
    Frontend,
    /// Holds servers.
    Backend,
    /// Both at once.
    Listen,
}

impl ProxyKind {
    /// The section keyword.
    pub fn name(self) -> &'static str {
        match self {
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "listen",
        }
    }

    /// Accepts connections (frontend or listen).
    pub fn has_frontend(self) -> bool {
        matches!(self, ProxyKind::Frontend | ProxyKind::Listen)
    }

    /// Holds servers (backend or listen).
    pub fn has_backend(self) -> bool {
        matches!(self, ProxyKind::Backend | ProxyKind::Listen)
    }
}

/// `mode tcp|http`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Layer 4: bytes are passed through (HAProxy's default).
    #[default]
    Tcp,
    /// Layer 7: HTTP/1.x is parsed and may be edited.
    Http,
}

/// A frontend, backend or listen section, with its defaults folded in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Proxy {
    /// frontend, backend or listen.
    pub kind: ProxyKind,
    /// The section's name.
    pub name: String,
    /// `mode` (default tcp).
    #[serde(default, skip_serializing_if = "is_default")]
    pub mode: Mode,
    /// `bind` lines (frontend side).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bind: Vec<Bind>,
    /// `maxconn` (frontend side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// `log` lines (`no log` empties the list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogTarget>,
    /// `option ...` settings.
    #[serde(default, skip_serializing_if = "is_default")]
    pub option: Options,
    /// `timeout ...` settings.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeout: Timeouts,
    /// `balance` (backend side; default roundrobin).
    #[serde(default, skip_serializing_if = "is_default")]
    pub balance: Balance,
    /// `retries` (backend side; default 3).
    #[serde(
        default = "default_retries",
        skip_serializing_if = "is_default_retries"
    )]
    pub retries: u32,
    /// `default_backend`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_backend: Option<String>,
    /// `use_backend` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub use_backend: Vec<UseBackend>,
    /// `acl NAME CRITERION...` lines (the words after `acl`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<Words>,
    /// `http-request` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_request: Vec<Words>,
    /// `http-response` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_response: Vec<Words>,
    /// `http-after-response` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_after_response: Vec<Words>,
    /// `redirect` rules (run after the http-request rules), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect: Vec<Words>,
    /// `tcp-request connection` rules (words after the keyword pair).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_request_connection: Vec<Words>,
    /// `tcp-request content` rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_request_content: Vec<Words>,
    /// `tcp-request inspect-delay`: how long content rules may wait for data.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_request_inspect_delay: Option<std::time::Duration>,
    /// `force-persist if|unless COND`: persistence goes to a down server too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub force_persist: Vec<Words>,
    /// `ignore-persist if|unless COND`: the persistence cookie is ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_persist: Vec<Words>,
    /// `monitor-uri`: a URI answered 200 by the proxy itself (503 when a
    /// `monitor fail` condition holds), for an upstream health checker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_uri: Option<String>,
    /// `http-reuse`: unset, fulcrum's default (see README, "Connection
    /// reuse").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_reuse: Option<HttpReuse>,
    /// `unique-id-format STRING`: each request's unique ID, a log-format
    /// string (%ID in logs, the `unique-id` fetch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id_format: Option<String>,
    /// `unique-id-header NAME`: the ID is sent to the server in this header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id_header: Option<String>,
    /// `http-send-name-header NAME`: the server's name is sent in this
    /// header, which replaces any the client sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_send_name_header: Option<String>,
    /// `monitor fail if|unless COND` lines (their condition words).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitor_fail: Vec<Words>,
    /// `default-server` parameters in force for the next `server` lines
    /// while the section is read; folded into each server, so empty in a
    /// finished model (not serialized).
    #[serde(skip)]
    pub default_server: Vec<String>,
    /// `use-server` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub use_server: Vec<UseServer>,
    /// `stats ...` settings.
    #[serde(default, skip_serializing_if = "is_default")]
    pub stats: Stats,
    /// `http-check send|expect` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_check: Vec<HttpCheckRule>,
    /// `http-check disable-on-404`: a 404 answer to the check takes the
    /// server out of load balancing (NOLB) while it stays up.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http_check_disable_on_404: bool,
    /// `http-check send-state`: checks say how the server is seen.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http_check_send_state: bool,
    /// `tcp-check` rules, in order (with `option tcp-check`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_check: Vec<super::check::TcpCheckRule>,
    /// `cookie NAME ...`: sticky sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<Cookie>,
    /// `capture request|response header NAME len N` and `declare capture
    /// request|response len N`: the log's capture slots, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capture: Vec<Capture>,
    /// `errorfiles NAME [CODE...]`: error files taken from an `http-errors`
    /// section (all of them, or the codes listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errorfiles: Vec<Words>,
    /// `http-error status CODE ...`: an error answer described inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_error: Vec<Words>,
    /// `stick-table ...`: this proxy's table (named after the proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stick_table: Option<super::StickTable>,
    /// `stick on|match|store-request ...` rules, in order: the words after
    /// `stick`, starting with the rule's kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stick: Vec<Words>,
    /// `errorfile CODE FILE`: custom error answers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errorfile: BTreeMap<u16, PathBuf>,
    /// `server` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server: Vec<Server>,
    /// Where each keyword was set (not serialized).
    #[serde(skip)]
    pub origins: Origins,
}

fn default_retries() -> u32 {
    3
}
fn is_default_retries(r: &u32) -> bool {
    *r == 3
}

impl Proxy {
    /// An empty proxy with HAProxy's built-in defaults.
    pub fn new(kind: ProxyKind, name: impl Into<String>) -> Proxy {
        Proxy {
            kind,
            name: name.into(),
            mode: Mode::Tcp,
            bind: Vec::new(),
            maxconn: None,
            log: Vec::new(),
            option: Options::default(),
            timeout: Timeouts::default(),
            balance: Balance::default(),
            retries: 3,
            default_backend: None,
            use_backend: Vec::new(),
            acl: Vec::new(),
            http_request: Vec::new(),
            http_response: Vec::new(),
            http_after_response: Vec::new(),
            redirect: Vec::new(),
            use_server: Vec::new(),
            default_server: Vec::new(),
            monitor_uri: None,
            http_reuse: None,
            unique_id_format: None,
            unique_id_header: None,
            http_send_name_header: None,
            monitor_fail: Vec::new(),
            force_persist: Vec::new(),
            ignore_persist: Vec::new(),
            tcp_request_connection: Vec::new(),
            tcp_request_content: Vec::new(),
            tcp_request_inspect_delay: None,
            stats: Stats::default(),
            http_check: Vec::new(),
            tcp_check: Vec::new(),
            http_check_disable_on_404: false,
            http_check_send_state: false,
            cookie: None,
            capture: Vec::new(),
            errorfiles: Vec::new(),
            http_error: Vec::new(),
            stick_table: None,
            stick: Vec::new(),
            errorfile: BTreeMap::new(),
            server: Vec::new(),
            origins: Origins::default(),
        }
    }

    /// Where `keyword` was written, or at least the file this proxy came from.
    pub fn span_of(&self, keyword: &str) -> Option<&Span> {
        self.origins.get(keyword).or_else(|| self.origins.get(""))
    }
}

/// A `bind` line: one or more addresses sharing the same parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bind {
    /// The addresses (`bind a:80,b:80` lists several).
    pub addresses: Vec<BindAddr>,
    /// `fd@N`: listening sockets inherited from the process that started
    /// fulcrum (VTest, a supervisor), by file descriptor number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fd: Vec<i32>,
    /// `transparent`: bind an address that is not (yet) local.
    #[serde(default, skip_serializing_if = "is_false")]
    pub transparent: bool,
    /// `interface NAME`: bind to one network interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `v4v6`: an IPv6 socket that also accepts IPv4.
    #[serde(default, skip_serializing_if = "is_false")]
    pub v4v6: bool,
    /// `v6only`: an IPv6 socket that accepts only IPv6.
    #[serde(default, skip_serializing_if = "is_false")]
    pub v6only: bool,
    /// `backlog N`: the listen queue length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
    /// `maxconn N` on this listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// `name NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `accept-proxy`: expect a PROXY protocol header.
    #[serde(default, skip_serializing_if = "is_false")]
    pub accept_proxy: bool,
    /// `defer-accept`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub defer_accept: bool,
    /// `tfo`: TCP Fast Open on the listener (accepted with a warning).
    #[serde(default, skip_serializing_if = "is_false")]
    pub tfo: bool,
    /// `ssl`: terminate TLS (with `crt`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ssl: bool,
    /// `crt FILE` (repeatable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crt: Vec<PathBuf>,
    /// `crt-list FILE` (repeatable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crt_list: Vec<PathBuf>,
    /// `alpn LIST`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// `ciphers LIST` (TLS 1.2, OpenSSL's syntax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphers: Option<String>,
    /// `ciphersuites LIST` (TLS 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphersuites: Option<String>,
    /// `ssl-min-ver SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_min_ver: Option<String>,
    /// `ssl-max-ver ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_max_ver: Option<String>,
    /// `strict-sni`: no default certificate for unknown names.
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_sni: bool,
    /// `no-tls-tickets`: no TLS session tickets.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_tls_tickets: bool,
    /// `prefer-client-ciphers`: the client's suite order wins (by default
    /// the server's does, as in HAProxy).
    #[serde(default, skip_serializing_if = "is_false")]
    pub prefer_client_ciphers: bool,
    /// `verify none|optional|required`: client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<ClientVerify>,
    /// `ca-file FILE`: the CAs client certificates are checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Where the line was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// A `bind ... ssl` line's TLS settings with the global
/// `ssl-default-bind-*` defaults filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectiveTls {
    /// `ciphers`.
    pub ciphers: Option<String>,
    /// `ciphersuites`.
    pub ciphersuites: Option<String>,
    /// `ssl-min-ver`.
    pub min: Option<String>,
    /// `ssl-max-ver`.
    pub max: Option<String>,
    /// `no-tls-tickets`.
    pub no_tickets: bool,
    /// `prefer-client-ciphers`.
    pub prefer_client_ciphers: bool,
    /// Default options that are not applied (for a warning).
    pub unapplied: Vec<String>,
}

impl Bind {
    /// The TLS settings of this bind, the global defaults filling the gaps
    /// (`ssl-default-bind-ciphers`, `-ciphersuites`, `-options`).
    pub fn effective_tls(&self, g: &super::Global) -> EffectiveTls {
        let mut e = EffectiveTls {
            ciphers: self
                .ciphers
                .clone()
                .or_else(|| g.ssl_default_bind_ciphers.clone()),
            ciphersuites: self
                .ciphersuites
                .clone()
                .or_else(|| g.ssl_default_bind_ciphersuites.clone()),
            min: self.ssl_min_ver.clone(),
            max: self.ssl_max_ver.clone(),
            no_tickets: self.no_tls_tickets,
            prefer_client_ciphers: self.prefer_client_ciphers,
            unapplied: Vec::new(),
        };
        let mut it = g.ssl_default_bind_options.iter();
        while let Some(o) = it.next() {
            match o.as_str() {
                "ssl-min-ver" => {
                    let v = it.next().cloned();
                    e.min = e.min.take().or(v);
                }
                "ssl-max-ver" => {
                    let v = it.next().cloned();
                    e.max = e.max.take().or(v);
                }
                "no-tls-tickets" => e.no_tickets = true,
                "prefer-client-ciphers" => e.prefer_client_ciphers = true,
                // rustls never offers these: already in force.
                "no-sslv3" | "no-tlsv10" | "no-tlsv11" => {}
                "no-tlsv12" => e.min = e.min.take().or(Some("TLSv1.3".into())),
                "no-tlsv13" => e.max = e.max.take().or(Some("TLSv1.2".into())),
                other => e.unapplied.push(other.to_string()),
            }
        }
        e
    }

    /// A bind on these addresses with no parameters.
    pub fn new(addresses: Vec<BindAddr>) -> Bind {
        Bind {
            addresses,
            fd: Vec::new(),
            transparent: false,
            interface: None,
            v4v6: false,
            v6only: false,
            backlog: None,
            maxconn: None,
            name: None,
            accept_proxy: false,
            defer_accept: false,
            tfo: false,
            ssl: false,
            crt: Vec::new(),
            alpn: Vec::new(),
            crt_list: Vec::new(),
            ciphers: None,
            ciphersuites: None,
            ssl_min_ver: None,
            ssl_max_ver: None,
            strict_sni: false,
            no_tls_tickets: false,
            prefer_client_ciphers: false,
            verify: None,
            ca_file: None,
            origin: Origin::default(),
        }
    }
}

/// The `option` settings of a proxy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// `option httplog [clf]` / `option tcplog`: which access-log format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<AccessLog>,
    /// `option dontlognull`: no log for connections that sent nothing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dontlognull: bool,
    /// `option splice-auto|splice-request|splice-response`: kernel splicing
    /// (accepted with a warning: fulcrum copies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub splice: Vec<String>,
    /// `option http-buffer-request`: the request's body (up to a buffer)
    /// is received before the proxy's rules run and a server is connected.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http_buffer_request: bool,
    /// `option prefer-last-server`: a kept-alive client's next request goes
    /// to the server of its last one, while that server takes traffic.
    #[serde(default, skip_serializing_if = "is_false")]
    pub prefer_last_server: bool,
    /// `option log-separate-errors`: lines of exchanges that failed are
    /// sent at level err instead of info.
    #[serde(default, skip_serializing_if = "is_false")]
    pub log_separate_errors: bool,
    /// `option log-health-checks`: every change in a server's check result
    /// is logged, not only UP/DOWN.
    #[serde(default, skip_serializing_if = "is_false")]
    pub log_health_checks: bool,
    /// `option dontlog-normal`: only exchanges that end in an error, a
    /// timeout, a retry or a 5xx are logged.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dontlog_normal: bool,
    /// `option tcp-check` with no `tcp-check` rule: the check is a TCP
    /// connection, as plain `check` (it also turns `option httpchk` off).
    #[serde(default, skip_serializing_if = "is_false")]
    pub tcp_check: bool,
    /// A built-in protocol check (`option redis-check`...); like the other
    /// check options, the last one written wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_check: Option<super::check::ProtocolCheck>,
    /// `option logasap`: log when the response starts, not at the end.
    #[serde(default, skip_serializing_if = "is_false")]
    pub logasap: bool,
    /// `option http-keep-alive|http-server-close|httpclose`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub http_connection: HttpConnection,
    /// `option forwardfor ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwardfor: Option<ForwardFor>,
    /// `option originalto ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originalto: Option<OriginalTo>,
    /// `option redispatch`: a retry may go to another server.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redispatch: bool,
    /// `option redispatch <interval>`: which retries redispatch. A positive
    /// P is every Pth retry, a negative N the Nth retry before the last
    /// (absent: -1, the last retry, HAProxy's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redispatch_interval: Option<i32>,
    /// `option httpchk ...`: HTTP health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub httpchk: Option<HttpChk>,
    /// `option allbackups`: use every UP backup at once, not only the first.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allbackups: bool,
    /// `option tcpka`: TCP keep-alive on both sides.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tcpka: bool,
    /// `option clitcpka`: TCP keep-alive to clients.
    #[serde(default, skip_serializing_if = "is_false")]
    pub clitcpka: bool,
    /// `option srvtcpka`: TCP keep-alive to servers.
    #[serde(default, skip_serializing_if = "is_false")]
    pub srvtcpka: bool,
}

/// Access log format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessLog {
    /// `log-format STRING`.
    Custom(String),
    /// `option tcplog`.
    Tcplog,
    /// `option httplog`.
    Httplog,
    /// `option httplog clf`.
    HttplogClf,
    /// `option httpslog`: httplog with the TLS facts at the end.
    Httpslog,
}

/// How HTTP connections are kept (the last `option` among the three wins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpConnection {
    /// Both sides kept alive (HAProxy's default).
    #[default]
    KeepAlive,
    /// Client side kept alive, server side closed after each response.
    ServerClose,
    /// Both sides closed after each response.
    Close,
}

/// `http-reuse`: which idle server connections a request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpReuse {
    /// Only the client session's own connection.
    Never,
    /// A session's first request gets a new connection; later ones may
    /// take any idle one.
    Safe,
    /// Like safe, but a first request may take an idle connection that
    /// has already been reused once.
    Aggressive,
    /// Any request may take any idle connection.
    Always,
}

impl HttpReuse {
    /// The keyword's word for it.
    pub fn name(self) -> &'static str {
        match self {
            HttpReuse::Never => "never",
            HttpReuse::Safe => "safe",
            HttpReuse::Aggressive => "aggressive",
            HttpReuse::Always => "always",
        }
    }
}

/// `option forwardfor [except NET] [header NAME] [if-none]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ForwardFor {
    /// Sources in this network get no header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<IpNet>,
    /// Header name (default X-Forwarded-For).
    #[serde(default = "default_xff", skip_serializing_if = "is_default_xff")]
    pub header: String,
    /// Only add the header when the request has none.
    #[serde(default, skip_serializing_if = "is_false")]
    pub if_none: bool,
}

/// `option originalto [except NET] [header NAME]`: the address the client
/// reached, for the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OriginalTo {
    /// Destinations in this network get no header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<IpNet>,
    /// Header name (default X-Original-To).
    #[serde(default = "default_xot", skip_serializing_if = "is_default_xot")]
    pub header: String,
}

/// The header `option originalto` adds unless told otherwise.
pub const DEFAULT_XOT: &str = "X-Original-To";
fn default_xot() -> String {
    DEFAULT_XOT.to_string()
}
fn is_default_xot(h: &str) -> bool {
    h == DEFAULT_XOT
}

/// The header `option forwardfor` adds unless told otherwise.
pub const DEFAULT_XFF: &str = "X-Forwarded-For";
fn default_xff() -> String {
    DEFAULT_XFF.to_string()
}
fn is_default_xff(h: &String) -> bool {
    h == DEFAULT_XFF
}

/// `timeout ...` values; absent ones use HAProxy's meaning of "unset".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Timeouts {
    /// `timeout client`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub client: Option<Duration>,
    /// `timeout client-fin`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_fin: Option<Duration>,
    /// `timeout server`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub server: Option<Duration>,
    /// `timeout server-fin`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_fin: Option<Duration>,
    /// `timeout connect`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub connect: Option<Duration>,
    /// `timeout queue`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub queue: Option<Duration>,
    /// `timeout http-request`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub http_request: Option<Duration>,
    /// `timeout http-keep-alive`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub http_keep_alive: Option<Duration>,
    /// `timeout check`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub check: Option<Duration>,
    /// `timeout tunnel`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub tunnel: Option<Duration>,
    /// `timeout tarpit`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub tarpit: Option<Duration>,
}

/// `balance ALGORITHM [ARGS]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    /// Weighted round robin that adapts to weight and health changes.
    #[default]
    Roundrobin,
    /// Weighted round robin fixed when the configuration is loaded.
    StaticRr,
    /// Fewest current connections.
    Leastconn,
    /// The first server with a free slot.
    First,
    /// Hash of the client's address.
    Source,
    /// Hash of the URI.
    Uri(UriHash),
    /// Hash of a query-string parameter.
    UrlParam {
        /// The parameter name.
        param: String,
    },
    /// Hash of a request header.
    Hdr {
        /// The header name.
        name: String,
        /// Hash only the domain part of a host name.
        #[serde(default, skip_serializing_if = "is_false")]
        use_domain_only: bool,
    },
    /// Random with N draws (power of N choices; default 2).
    Random {
        /// Number of draws.
        draws: u32,
    },
}

/// Parameters of `balance uri`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UriHash {
    /// `len N`: hash only the first N characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<u32>,
    /// `depth N`: hash only the first N directories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// `whole`: include the query string.
    #[serde(default, skip_serializing_if = "is_false")]
    pub whole: bool,
    /// `path-only`: ignore scheme and authority.
    #[serde(default, skip_serializing_if = "is_false")]
    pub path_only: bool,
}

/// The `stats ...` settings: the statistics page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Stats {
    /// `stats enable`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable: bool,
    /// `stats uri` (default `/haproxy?stats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// `stats realm` (default "HAProxy Statistics").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// `stats auth USER:PASSWORD` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<Credentials>,
    /// `stats refresh`: the page reloads itself this often.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh: Option<Duration>,
    /// `stats admin if COND`: when the page may change server states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<Words>,
    /// `stats hide-version`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hide_version: bool,
    /// `stats show-legends`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_legends: bool,
    /// `stats show-node [NAME]`: the page names this node (the host name
    /// when no name is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_node: Option<String>,
    /// `stats show-desc [TEXT]`: the page shows this description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_desc: Option<String>,
    /// `stats scope NAME` lines: the page shows only these proxies (`.`
    /// is the proxy serving the page).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// `stats http-request allow|deny|auth [realm R] [if|unless COND]`
    /// lines, as written (compiled with the proxy's rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_request: Vec<Words>,
}

/// The stats page URI when `stats uri` is not given.
pub const DEFAULT_STATS_URI: &str = "/haproxy?stats";
/// The Basic-auth realm when `stats realm` is not given.
pub const DEFAULT_STATS_REALM: &str = "HAProxy Statistics";

/// A user allowed to see the stats page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password, in clear as HAProxy's `stats auth` takes it.
    pub password: String,
}

/// `cookie NAME [rewrite|insert|prefix] [indirect] [nocache] [postonly]
/// [preserve] [httponly] [secure] [domain D]* [maxidle T] [maxlife T]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cookie {
    /// The cookie's name.
    pub name: String,
    /// How the cookie is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<CookieMethod>,
    /// `indirect`: hide the cookie from the server.
    #[serde(default, skip_serializing_if = "is_false")]
    pub indirect: bool,
    /// `nocache`: mark responses that set it as not cacheable.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nocache: bool,
    /// `postonly`: insert only on POST responses.
    #[serde(default, skip_serializing_if = "is_false")]
    pub postonly: bool,
    /// `preserve`: keep a cookie the server set itself.
    #[serde(default, skip_serializing_if = "is_false")]
    pub preserve: bool,
    /// `httponly`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub httponly: bool,
    /// `secure`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secure: bool,
    /// `domain D` (repeatable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain: Vec<String>,
    /// `maxidle`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub maxidle: Option<Duration>,
    /// `maxlife`.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub maxlife: Option<Duration>,
}

/// How a persistence cookie is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieMethod {
    /// Rewrite the server's own cookie.
    Rewrite,
    /// Insert our own cookie.
    Insert,
    /// Prefix the server's cookie with the server's value.
    Prefix,
}

/// One capture slot of the access log (`{...}` fields of `option httplog`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// Request or response.
    pub response: bool,
    /// The header captured (its last occurrence); None for a slot made by
    /// `declare capture`, filled by `http-request|response capture ... id N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// At most this many bytes are kept.
    pub len: u32,
}

/// `bind ... verify`: whether clients must show a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientVerify {
    /// No certificate is asked for.
    None,
    /// A certificate is asked for, checked if given.
    Optional,
    /// A valid certificate is required.
    Required,
}
