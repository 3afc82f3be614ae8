//! The Runtime: what the data path reads. Built from a validated Config by
//! [`compile`], immutable afterwards, swapped whole through an ArcSwap.
//! Every default is resolved here: no `Option` that "must be Some" is left.

pub mod admin;
pub mod check;
mod check_hdr;
mod check_http;
pub mod check_proto;
mod compile;
pub mod limits;
pub mod peers;
mod route;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::balance::Balancer;
use crate::config::model::{Bind, ForwardFor, HttpConnection, Mode, Stats};
use crate::state::{ProxyCounters, ServerState};
use crate::util::addr::ServerPort;

pub use crate::config::model::ProxyV2Options;
pub use check::ServerCheck;
pub use compile::{compile, CompileError};

/// What every worker and the control thread share: the Runtime swap point
/// and the process-wide limits.
#[derive(Debug)]
pub struct Shared {
    /// The one swap point.
    pub runtime: arc_swap::ArcSwap<Runtime>,
    /// Client connections open now, across workers (for graceful stops).
    pub active: std::sync::atomic::AtomicU64,
}

/// A timeout that may be infinite (HAProxy's "unset").
pub type Timeout = Option<Duration>;

/// The whole running configuration.
#[derive(Debug)]
pub struct Runtime {
    /// Frontends and the frontend side of listens, in configuration order.
    pub frontends: Vec<Frontend>,
    /// Backends and the backend side of listens.
    pub backends: Vec<Arc<Backend>>,
    /// Process-wide settings.
    pub global: Global,
    /// `userlist` sections, for `http_auth`.
    pub userlists: Vec<crate::config::model::Userlist>,
    /// Stick tables, in the order of `rules::table_names` (live state,
    /// carried over a reload while their definition is unchanged).
    pub tables: Vec<Arc<crate::state::stick::Table>>,
    /// `resolvers` sections, their name servers complete
    /// (`parse-resolv-conf` read).
    pub resolvers: Vec<Arc<crate::config::model::Resolvers>>,
    /// The `peers` sections this node takes part in.
    pub peers: Vec<Arc<peers::PeersSection>>,
}

/// Process-wide settings.
#[derive(Debug, Clone)]
pub struct Global {
    /// Data-plane threads.
    pub nbthread: usize,
    /// Process-wide connection limit, as configured.
    pub maxconn: Option<u32>,
    /// Its slots (carried across reloads, see [`limits`]).
    pub limit: Option<Arc<crate::state::Limit>>,
    /// `hard-stop-after`: how long a stop waits for open connections.
    pub hard_stop_after: Option<Duration>,
    /// Request/response head buffer (`tune.bufsize`, default 16384).
    pub bufsize: usize,
    /// The longest head read from a peer: `tune.bufsize` less the room
    /// kept for rewrites (`tune.maxrewrite`, default 1024, at most half
    /// the buffer as HAProxy readjusts it).
    pub head_room: usize,
    /// The most fields a head may have (`tune.http.maxhdr` less its first
    /// line).
    pub max_fields: usize,
    /// `maxpipes`, as `show info` reports it (0 under `nosplice`).
    pub maxpipes: usize,
    /// The runtime API sockets (`stats socket`).
    pub cli: Vec<CliSocket>,
    /// `spread-checks`: how much (percent) each check interval varies.
    pub spread_checks: u32,
    /// The global section's `log` targets: process events (reloads).
    pub log_targets: Vec<crate::log::syslog::Target>,
    /// `node`, else the system's host name (`http-check send-state`).
    pub node: String,
    /// When the process started (`show info`'s uptime; kept across reloads).
    pub started: std::time::SystemTime,
}

/// One `stats socket` as the control thread serves it: two lines with the
/// same settings are the same socket across a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliSocket {
    /// Where it listens.
    pub addr: crate::util::addr::CliAddr,
    /// A UNIX socket file's permissions (`mode`).
    pub mode: Option<u32>,
    /// A UNIX socket file's owner (`uid`, or `user` looked up).
    pub uid: Option<u32>,
    /// A UNIX socket file's group (`gid`, or `group` looked up).
    pub gid: Option<u32>,
    /// What its sessions may do (`level`, default admin).
    pub level: crate::config::model::StatsLevel,
    /// Sessions at once (`stats maxconn`, default 10); more wait in the
    /// kernel's backlog.
    pub maxconn: u32,
    /// How long a session may stay silent (`stats timeout`, default 10s).
    pub timeout: Duration,
}

/// A frontend as the data path sees it.
#[derive(Debug)]
pub struct Frontend {
    /// Name.
    pub name: String,
    /// tcp or http.
    pub mode: Mode,
    /// Bind lines.
    pub binds: Vec<Bind>,
    /// TLS termination, per `bind ... ssl` line: the addresses it listens
    /// on and its rustls configuration (built once, swapped on reload).
    pub tls: Vec<BindTls>,
    /// `maxconn` of the frontend.
    pub maxconn: Option<u32>,
    /// Inactivity timeout on the client side.
    pub timeout_client: Timeout,
    /// Time for a whole request head.
    pub timeout_http_request: Timeout,
    /// Time to wait for the next request on a kept-alive connection.
    pub timeout_http_keep_alive: Timeout,
    /// How long `http-request tarpit` holds a client.
    pub timeout_tarpit: Timeout,
    /// `option forwardfor` of the frontend.
    pub forwardfor: Option<ForwardFor>,
    /// `option originalto` of the frontend.
    pub originalto: Option<crate::config::model::OriginalTo>,
    /// Connection mode of the frontend.
    pub http_connection: HttpConnection,
    /// `option http-buffer-request`.
    pub buffer_request: bool,
    /// Backend when no rule matches.
    pub default_backend: Option<usize>,
    /// The proxy's rules (`use_backend`, http-request, ...), compiled. A
    /// listen's frontend and backend share one.
    pub rules: Arc<crate::rules::ProxyRules>,
    /// The stats page, when enabled here.
    pub stats: Option<Stats>,
    /// `monitor-uri` (HTTP only).
    pub monitor_uri: Option<String>,
    /// `capture request|response header` and `declare capture` slots, in
    /// order (slot ids count each direction separately).
    pub captures: Vec<crate::config::model::Capture>,
    /// Live counters (carried across reloads by name).
    pub counters: Arc<ProxyCounters>,
    /// `maxconn` slots (carried across reloads while `maxconn` is unchanged).
    pub limit: Option<Arc<crate::state::Limit>>,
    /// `option tcpka` or `option clitcpka`: TCP keep-alive to clients.
    pub client_keepalive: bool,
    /// `errorfile`: whole HTTP answers by status code.
    pub errorfiles: ErrorFiles,
    /// Where access-log lines go (`log global` already expanded).
    pub log_targets: Vec<crate::log::syslog::Target>,
    /// `option dontlognull`.
    pub dontlognull: bool,
    /// `option log-separate-errors`.
    pub log_separate_errors: bool,
    /// `option logasap` (acted on in mode tcp).
    pub logasap: bool,
    /// `option dontlog-normal`.
    pub dontlog_normal: bool,
    /// How sessions splice (mode tcp streams, mode http bodies); None
    /// under `nosplice`.
    pub splice: Option<Splice>,
}

/// Splicing settings, from `global` (`maxpipes`, `tune.pipesize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Splice {
    /// Pipes the process may hold.
    pub maxpipes: usize,
    /// The size asked of each pipe; the kernel's default when None.
    pub pipesize: Option<usize>,
}

/// TLS to a server (`server ... ssl`).
#[derive(Debug)]
pub struct ServerTls {
    /// The client configuration (verification, session cache).
    pub config: Arc<rustls::ClientConfig>,
    /// `sni EXPR`: the server name to send, evaluated per request.
    pub sni: Option<crate::rules::sample::Expr>,
    /// `verifyhost NAME`: the name to check when no SNI was sent.
    pub verifyhost: Option<String>,
}

/// The TLS side of one `bind ... ssl` line.
#[derive(Debug)]
pub struct BindTls {
    /// The bind's addresses (a wildcard address matches any local one on
    /// its port).
    pub addrs: Vec<std::net::SocketAddr>,
    /// What the handshake uses.
    pub config: Arc<crate::tls::Terminator>,
}

impl Frontend {
    /// The TLS configuration of the bind a connection to `local` came in on.
    pub fn tls_for(&self, local: std::net::SocketAddr) -> Option<&Arc<crate::tls::Terminator>> {
        self.tls
            .iter()
            .find(|t| {
                t.addrs.iter().any(|a| {
                    a.port() == local.port() && (a.ip() == local.ip() || a.ip().is_unspecified())
                })
            })
            .map(|t| &t.config)
    }
}

/// What a worker's pool keeps of a server's idle connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// At most this many (`pool-max-conn`; 0 keeps none).
    pub max_conn: usize,
    /// Each for at most this long (`pool-purge-delay`; None: until the
    /// server closes it).
    pub max_age: Option<Duration>,
}

impl PoolLimits {
    /// fulcrum's bound when `pool-max-conn` is unset or -1: enough for the
    /// busiest moment's concurrency, per server and worker.
    pub const DEFAULT_MAX_CONN: usize = 1024;
    /// An idle connection older than this is closed rather than reused:
    /// servers commonly close idle keep-alive connections after 5 to 15 s.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(4);

    /// The limits a server line sets.
    pub fn of(max_conn: Option<i32>, purge_delay: Option<Duration>) -> PoolLimits {
        PoolLimits {
            max_conn: match max_conn {
                Some(n) if n >= 0 => n as usize,
                _ => Self::DEFAULT_MAX_CONN,
            },
            max_age: match purge_delay {
                Some(d) if d.is_zero() => None,
                Some(d) => Some(d),
                None => Some(Self::DEFAULT_MAX_AGE),
            },
        }
    }
}

/// `errorfile` contents by status, read once when the Runtime is built.
pub type ErrorFiles = std::collections::BTreeMap<u16, Arc<[u8]>>;

impl Runtime {
    /// The frontend of this name.
    pub fn frontend(&self, name: &str) -> Option<&Frontend> {
        self.frontends.iter().find(|f| f.name == name)
    }
}

/// A backend as the data path sees it.
#[derive(Debug)]
pub struct Backend {
    /// Name.
    pub name: String,
    /// tcp or http.
    pub mode: Mode,
    /// Servers, in configuration order (the balancer's indices).
    pub servers: Vec<Server>,
    /// Server choice.
    pub balancer: Balancer,
    /// The balancer hashes on the request (uri, url_param, hdr).
    pub hashes_request: bool,
    /// The header `balance hdr(NAME)` hashes on.
    pub hash_header: Option<String>,
    /// `retries`.
    pub retries: u32,
    /// `option redispatch [interval]`: which retries go to another server.
    pub redispatch: Option<Redispatch>,
    /// `timeout connect`.
    pub timeout_connect: Timeout,
    /// `timeout server`.
    pub timeout_server: Timeout,
    /// `timeout queue` (defaults to `timeout connect`, as in HAProxy).
    pub timeout_queue: Timeout,
    /// `timeout tunnel`.
    pub timeout_tunnel: Timeout,
    /// How long `http-request tarpit` holds a client.
    pub timeout_tarpit: Timeout,
    /// `option forwardfor` of the backend.
    pub forwardfor: Option<ForwardFor>,
    /// `option originalto` of the backend.
    pub originalto: Option<crate::config::model::OriginalTo>,
    /// Connection mode of the backend.
    pub http_connection: HttpConnection,
    /// `option http-buffer-request`.
    pub buffer_request: bool,
    /// Live counters.
    pub counters: Arc<ProxyCounters>,
    /// The HTTP check of this backend (`option httpchk`), else TCP checks.
    pub http_check: Option<Arc<check::HttpCheck>>,
    /// The `tcp-check` sequence (`option tcp-check` with rules, or a
    /// protocol check such as `option redis-check`).
    pub tcp_check: Option<Arc<check::TcpCheck>>,
    /// `timeout check`.
    pub timeout_check: Timeout,
    /// `option allbackups`.
    pub allbackups: bool,
    /// The `balance` algorithm's name, for the stats page.
    pub algo: &'static str,
    /// `option tcpka` or `option srvtcpka`: TCP keep-alive to servers.
    pub server_keepalive: bool,
    /// `cookie NAME ...`: persistence (HTTP backends only).
    pub cookie: Option<crate::config::model::Cookie>,
    /// `errorfile`: whole HTTP answers by status code.
    pub errorfiles: ErrorFiles,
    /// Where its events go (server UP/DOWN, "no server available"): its
    /// `log` lines, `log global` expanded, as in HAProxy.
    pub log_targets: Vec<crate::log::syslog::Target>,
    /// `option log-health-checks`.
    pub log_health_checks: bool,
    /// `option prefer-last-server`.
    pub prefer_last_server: bool,
    /// `http-reuse`; None: fulcrum's default.
    pub http_reuse: Option<crate::config::model::HttpReuse>,
    /// `http-send-name-header`: the header that carries the server's name.
    pub send_name_header: Option<String>,
    /// The backend's rules (http-request, use-server, http-response...).
    pub rules: Arc<crate::rules::ProxyRules>,
}

impl Backend {
    /// A server event, in fulcrum's log and to the backend's log targets
    /// at syslog severity `level`, as HAProxy sends its events.
    pub fn event(&self, level: u8, msg: &str) {
        tracing::warn!("{msg}");
        crate::log::syslog::send_at(&self.log_targets, level, msg);
    }

    /// The servers taking traffic, as (active, backup): HAProxy's "1
    /// active and 1 backup servers left". A NOLB server is up but takes
    /// no traffic: it does not count.
    pub fn servers_left(&self) -> (usize, usize) {
        let up = |s: &&Server| s.state.status() == crate::state::Status::Up && !s.state.nolb();
        let active = self.servers.iter().filter(|s| !s.backup).filter(up).count();
        let backup = self.servers.iter().filter(|s| s.backup).filter(up).count();
        (active, backup)
    }
}

impl Backend {
    /// "1 active and 0 backup servers left." (or "online"), with HAProxy's
    /// " Running on backup." when only backups are left.
    pub fn servers_left_words(&self, word: &str) -> String {
        let (a, b) = self.servers_left();
        let on_backup = if a == 0 && b > 0 {
            " Running on backup."
        } else {
            ""
        };
        format!("{a} active and {b} backup servers {word}.{on_backup}")
    }
}

impl Runtime {
    /// How HAProxy names a backend's proxy in its messages: "proxy" for a
    /// listen, "backend" for a backend section.
    pub fn proxy_word(&self, be: &Backend) -> &'static str {
        if self.frontend(&be.name).is_some() {
            "proxy"
        } else {
            "backend"
        }
    }
}

/// A server as the data path sees it.
#[derive(Debug)]
pub struct Server {
    /// Name.
    pub name: String,
    /// Resolved address (its port is meaningless unless `port` is Fixed).
    pub addr: SocketAddr,
    /// How the port is chosen.
    pub port: ServerPort,
    /// `maxconn`: a semaphore with that many permits; excess requests queue.
    pub limit: Option<Arc<crate::state::Limit>>,
    /// `send-proxy`.
    pub send_proxy: bool,
    /// `send-proxy-v2`: the header is the binary version 2.
    pub send_proxy_v2: bool,
    /// `proxy-v2-options`.
    pub proxy_v2_options: ProxyV2Options,
    /// `on-marked-down shutdown-sessions`.
    pub shutdown_on_down: bool,
    /// `on-marked-up shutdown-backup-sessions`.
    pub shutdown_backups_on_up: bool,
    /// `backup`.
    pub backup: bool,
    /// `weight`.
    pub weight: u32,
    /// `maxconn`, if any.
    pub maxconn: Option<u32>,
    /// `cookie VALUE`: this server's persistence cookie.
    pub cookie: Option<String>,
    /// Its health check, when it has `check`.
    pub check: Option<check::ServerCheck>,
    /// Its agent check, when it has `agent-check`.
    pub agent: Option<check::AgentCheck>,
    /// The server it tracks, as (backend index, server index).
    pub track: Option<(usize, usize)>,
    /// The servers that track this one, as (backend index, server index).
    pub trackers: Vec<(usize, usize)>,
    /// Live state (carried across reloads).
    pub state: Arc<ServerState>,
    /// `ssl`: TLS to this server.
    pub tls: Option<ServerTls>,
    /// Its address comes from a `resolvers` section at run time.
    pub dns: Option<ServerDns>,
    /// `slowstart`, when the backend's algorithm weighs dynamically.
    pub slowstart: Option<std::time::Duration>,
    /// What the worker's pool keeps of this server's idle connections.
    pub pool: PoolLimits,
    /// `observe` with its `error-limit` and `on-error` (checked servers).
    pub observe: Option<Observe>,
}

/// Passive health: what the traffic to a server counts (`observe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observe {
    /// `layer7`: HTTP answers count too.
    pub layer7: bool,
    /// `error-limit` (default 10).
    pub limit: u32,
    /// `on-error` (default fail-check).
    pub on_error: crate::config::model::OnError,
}

/// What an exchange with a server showed, in HAProxy's analysis words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// The connection was established.
    L4Ok,
    /// It was refused, failed or timed out.
    L4Err,
    /// An answer with a valid status (100-499, 501, 505).
    HttpOk,
    /// An answer with another status.
    HttpSts,
    /// An answer that could not be parsed.
    HttpRsp,
    /// No answer in time.
    ReadTimeout,
    /// The server closed before answering.
    BrokenPipe,
}

impl Traffic {
    /// HAProxy's description ("L4 unsuccessful connection"...).
    pub fn describe(self) -> &'static str {
        match self {
            Traffic::L4Ok => "L4 successful connection",
            Traffic::L4Err => "L4 unsuccessful connection",
            Traffic::HttpOk => "Correct http response",
            Traffic::HttpSts => "Wrong http response",
            Traffic::HttpRsp => "Invalid http response",
            Traffic::ReadTimeout => "Read timeout (http)",
            Traffic::BrokenPipe => "Close from server (http)",
        }
    }

    /// An HTTP answer's status, as `observe layer7` judges it.
    pub fn of_status(status: u16) -> Traffic {
        if (100..=499).contains(&status) || status == 501 || status == 505 {
            Traffic::HttpOk
        } else {
            Traffic::HttpSts
        }
    }

    /// Whether it is an error for this layer; None when it does not count
    /// (a connection that worked says nothing at layer 7).
    fn failed(self, layer7: bool) -> Option<bool> {
        match (self, layer7) {
            (Traffic::L4Ok, false) => Some(false),
            (Traffic::L4Ok, true) => None,
            (Traffic::L4Err, _) => Some(true),
            (_, false) => None,
            (Traffic::HttpOk, true) => Some(false),
            (_, true) => Some(true),
        }
    }
}

/// How a server's address is asked of a `resolvers` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDns {
    /// The section.
    pub resolvers: String,
    /// The host name, or the SRV label (`_service._proto.name`).
    pub fqdn: String,
    /// `fqdn` is a SRV label.
    pub srv_label: bool,
    /// `resolve-prefer` (default ipv6).
    pub prefer: crate::config::model::Family,
    /// `resolve-net`.
    pub nets: Vec<ipnet::IpNet>,
    /// `resolve-opts allow-dup-ip`.
    pub allow_dup_ip: bool,
    /// `resolve-opts ignore-weight`.
    pub ignore_weight: bool,
}

impl Server {
    /// Counts an exchange towards passive health, when `observe` is set.
    pub fn observe(&self, t: Traffic) {
        let Some(o) = &self.observe else { return };
        if let Some(failed) = t.failed(o.layer7) {
            self.state.observed(failed, o.limit, t.describe());
        }
    }

    /// How HAProxy's state messages name it: "Backup Server" for a backup.
    pub fn title(&self) -> &'static str {
        if self.backup {
            "Backup Server"
        } else {
            "Server"
        }
    }

    /// The address to connect to for a client that reached us on `local_port`.
    pub fn target(&self, local_port: u16) -> SocketAddr {
        let moved = self.state.moved.load();
        if let Some((ip, port)) = moved.as_deref() {
            return SocketAddr::new(*ip, port.unwrap_or_else(|| self.port_for(local_port)));
        }
        SocketAddr::new(self.addr.ip(), self.port_for(local_port))
    }

    /// The configured port for a client that reached us on `local_port`.
    fn port_for(&self, local_port: u16) -> u16 {
        match self.port {
            ServerPort::Fixed(p) => p,
            ServerPort::SameAsClient => local_port,
            ServerPort::Offset(o) => (i32::from(local_port) + o).clamp(1, 65535) as u16,
        }
    }

    /// The address and fixed port in force (after `set server addr`).
    pub fn address(&self) -> (std::net::IpAddr, Option<u16>) {
        let fixed = match self.port {
            ServerPort::Fixed(p) => Some(p),
            _ => None,
        };
        match self.state.moved.load().as_deref() {
            Some((ip, port)) => (*ip, port.or(fixed)),
            None => (self.addr.ip(), fixed),
        }
    }
}

/// Which retries of a connection go to another server (`option
/// redispatch [interval]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redispatch {
    /// Every Pth retry (`option redispatch P`, P > 0).
    Every(u32),
    /// The Nth retry before the last, counting the last as 1 (`option
    /// redispatch -N`; plain `option redispatch` is -1).
    BeforeLast(u32),
}

impl Redispatch {
    /// From the option's interval (None: -1); None when off.
    pub fn of(on: bool, interval: Option<i32>) -> Option<Redispatch> {
        match (on, interval.unwrap_or(-1)) {
            (false, _) | (_, 0) => None,
            (true, p) if p > 0 => Some(Redispatch::Every(p.unsigned_abs())),
            (true, n) => Some(Redispatch::BeforeLast(n.unsigned_abs())),
        }
    }

    /// Whether retry `attempt` (1..=retries) of `retries` redispatches.
    pub fn at(self, attempt: u32, retries: u32) -> bool {
        match self {
            Redispatch::Every(p) => attempt.is_multiple_of(p),
            Redispatch::BeforeLast(n) => {
                retries.checked_add(1).and_then(|r| r.checked_sub(n)) == Some(attempt)
            }
        }
    }
}
