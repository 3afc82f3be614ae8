//! The configuration model: plain serde data, one struct per section kind.
//!
//! Both readers produce it (haproxy.cfg and YAML); YAML is simply its serde
//! form. `defaults` sections are already folded into each proxy here, so
//! nothing downstream looks them up. Values are typed (Duration, addresses,
//! enums); defaults that HAProxy documents are filled in by the readers.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::diag::Span;
use crate::util::addr::{BindAddr, ServerAddr};
use crate::util::time::serde_time;

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The `global` section.
    #[serde(default, skip_serializing_if = "is_default")]
    pub global: Global,
    /// Frontends, backends and listens, in the order they were declared
    /// (HAProxy numbers proxies in that order; the stats page shows it).
    #[serde(default)]
    pub proxies: Vec<Proxy>,
}

impl Config {
    /// The proxy of this name that can act as a backend (backend or listen).
    pub fn backend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.name == name && p.kind.has_backend())
    }
}

/// The `global` section: process-wide settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Global {
    /// `log` targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogTarget>,
    /// `maxconn`: process-wide limit on concurrent connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// `nbthread`: data-plane threads (default: one per core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbthread: Option<u32>,
    /// `daemon`: detach and run in the background.
    #[serde(default, skip_serializing_if = "is_false")]
    pub daemon: bool,
    /// `pidfile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pidfile: Option<PathBuf>,
    /// `stats socket` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stats_socket: Vec<StatsSocket>,
    /// `stats timeout`: idle timeout on the stats socket (default 10s).
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub stats_timeout: Option<Duration>,
    /// `hard-stop-after`: how long a stopping process waits for connections.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub hard_stop_after: Option<Duration>,
    /// `tune.bufsize`: the request buffer, and so the largest request head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune_bufsize: Option<u32>,
    /// `tune.maxrewrite`: room kept in the buffer for header rewrites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune_maxrewrite: Option<u32>,
    /// `ca-base`: directory for relative CA file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_base: Option<PathBuf>,
    /// `crt-base`: directory for relative certificate file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crt_base: Option<PathBuf>,
    /// `ssl-default-bind-ciphers` (TLS 1.2 cipher list, kept for the TLS layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_default_bind_ciphers: Option<String>,
    /// `ssl-default-bind-ciphersuites` (TLS 1.3 suites).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_default_bind_ciphersuites: Option<String>,
    /// `ssl-default-bind-options`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssl_default_bind_options: Vec<String>,
    /// Process-level settings that mean nothing for fulcrum, kept as written so
    /// that `convert` loses nothing (`chroot`, `user`, `group`, ...). Each one
    /// draws a warning; the list of such keywords is `keywords::IGNORED_GLOBAL`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored: BTreeMap<String, Vec<String>>,
}

/// `stats socket ADDR [params]`: the runtime API socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsSocket {
    /// A UNIX socket path, or `ipv4@ADDR:PORT`.
    pub address: String,
    /// `mode 660`: file permissions (octal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// `level user|operator|admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<StatsLevel>,
    /// Other bind parameters as written (`expose-fd listeners`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
}

/// Access level on the stats socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsLevel {
    /// Read-only, no sensitive data.
    User,
    /// Read and some changes.
    Operator,
    /// Everything.
    Admin,
}

/// A `log` line: where logs go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    /// `log global`: use the global section's targets.
    Global,
    /// `log ADDR FACILITY [LEVEL [MINLEVEL]]`.
    Syslog(SyslogTarget),
}

/// A syslog destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogTarget {
    /// Where to send.
    pub address: LogAddress,
    /// `len N`: longest line sent (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<u32>,
    /// `format rfc3164|rfc5424|raw|short|...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<LogFormat>,
    /// Syslog facility.
    pub facility: Facility,
    /// Most verbose level sent (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Least verbose level: more urgent messages are lowered to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minlevel: Option<Level>,
}

/// Where a syslog target sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogAddress {
    /// UDP to an address (port 514 when none is given).
    Udp(std::net::SocketAddr),
    /// A UNIX datagram socket such as `/dev/log`.
    Unix(PathBuf),
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
}

impl std::fmt::Display for LogAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogAddress::Udp(a) => write!(f, "{a}"),
            LogAddress::Unix(p) => write!(f, "{}", p.display()),
            LogAddress::Stdout => f.write_str("stdout"),
            LogAddress::Stderr => f.write_str("stderr"),
        }
    }
}

impl std::str::FromStr for LogAddress {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stdout" => return Ok(LogAddress::Stdout),
            "stderr" => return Ok(LogAddress::Stderr),
            _ => {}
        }
        if s.starts_with('/') {
            return Ok(LogAddress::Unix(PathBuf::from(s)));
        }
        let s = s
            .strip_prefix("udp@")
            .or_else(|| s.strip_prefix("udp4@"))
            .or_else(|| s.strip_prefix("udp6@"))
            .unwrap_or(s);
        if let Ok(a) = s.parse::<std::net::SocketAddr>() {
            return Ok(LogAddress::Udp(a));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(LogAddress::Udp((ip, 514).into()));
        }
        if let Some((host, port)) = s.rsplit_once(':') {
            if let (Ok(ip), Ok(port)) = (host.parse::<IpAddr>(), port.parse::<u16>()) {
                return Ok(LogAddress::Udp((ip, port).into()));
            }
        }
        Err(format!(
            "invalid log address '{s}' (expected IP[:PORT], a UNIX socket path, stdout or stderr)"
        ))
    }
}

impl Serialize for LogAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for LogAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Log line formats of the `log ... format` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// BSD syslog (the default).
    Rfc3164,
    /// Structured syslog.
    Rfc5424,
    /// Just the message.
    Raw,
    /// `<PRI>` and the message.
    Short,
    /// Timestamp-less rfc3164.
    Priority,
    /// Timestamp and message.
    Timed,
    /// ISO timestamp and message.
    Iso,
    /// Local rfc3164 without hostname.
    Local,
}

impl LogFormat {
    /// All formats with their names in the configuration.
    pub const ALL: [(&'static str, LogFormat); 8] = [
        ("rfc3164", LogFormat::Rfc3164),
        ("rfc5424", LogFormat::Rfc5424),
        ("raw", LogFormat::Raw),
        ("short", LogFormat::Short),
        ("priority", LogFormat::Priority),
        ("timed", LogFormat::Timed),
        ("iso", LogFormat::Iso),
        ("local", LogFormat::Local),
    ];
}

/// Syslog facilities.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Facility {
    Kern,
    User,
    Mail,
    Daemon,
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    Auth2,
    Ftp,
    Ntp,
    Audit,
    Alert,
    Cron2,
    Local0,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    Local7,
}

impl Facility {
    /// Facility names in syslog code order (code = index).
    pub const NAMES: [&'static str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
        "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
        "local5", "local6", "local7",
    ];
    const ALL: [Facility; 24] = [
        Facility::Kern,
        Facility::User,
        Facility::Mail,
        Facility::Daemon,
        Facility::Auth,
        Facility::Syslog,
        Facility::Lpr,
        Facility::News,
        Facility::Uucp,
        Facility::Cron,
        Facility::Auth2,
        Facility::Ftp,
        Facility::Ntp,
        Facility::Audit,
        Facility::Alert,
        Facility::Cron2,
        Facility::Local0,
        Facility::Local1,
        Facility::Local2,
        Facility::Local3,
        Facility::Local4,
        Facility::Local5,
        Facility::Local6,
        Facility::Local7,
    ];

    /// Looks a facility up by name.
    pub fn from_name(s: &str) -> Option<Facility> {
        let i = Self::NAMES.iter().position(|n| *n == s)?;
        Some(Self::ALL[i])
    }

    /// The name written in a configuration.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Syslog severity levels, most urgent first.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl Level {
    /// Level names in severity order (code = index).
    pub const NAMES: [&'static str; 8] = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    const ALL: [Level; 8] = [
        Level::Emerg,
        Level::Alert,
        Level::Crit,
        Level::Err,
        Level::Warning,
        Level::Notice,
        Level::Info,
        Level::Debug,
    ];

    /// Looks a level up by name.
    pub fn from_name(s: &str) -> Option<Level> {
        let i = Self::NAMES.iter().position(|n| *n == s)?;
        Some(Self::ALL[i])
    }

    /// The name written in a configuration.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

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

/// Where each keyword of a proxy was last set, for diagnostics. Not part of
/// the model's identity: two proxies written on different lines are equal.
#[derive(Debug, Clone, Default)]
pub struct Origins(pub BTreeMap<String, Span>);

impl PartialEq for Origins {
    fn eq(&self, _: &Origins) -> bool {
        true
    }
}

/// Where one line was written, for diagnostics; like [`Origins`], not part
/// of the model's identity.
#[derive(Debug, Clone, Default)]
pub struct Origin(pub Option<Span>);

impl PartialEq for Origin {
    fn eq(&self, _: &Origin) -> bool {
        true
    }
}

impl Origins {
    /// Where `keyword` was set, if it came from a file.
    pub fn get(&self, keyword: &str) -> Option<&Span> {
        self.0.get(keyword)
    }
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
    /// `http-request` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_request: Vec<HttpRequestRule>,
    /// `stats ...` settings.
    #[serde(default, skip_serializing_if = "is_default")]
    pub stats: Stats,
    /// `http-check send|expect` rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_check: Vec<HttpCheckRule>,
    /// `cookie NAME ...`: sticky sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<Cookie>,
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
            http_request: Vec::new(),
            stats: Stats::default(),
            http_check: Vec::new(),
            cookie: None,
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
    /// `ssl`: terminate TLS (with `crt`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ssl: bool,
    /// `crt FILE` (repeatable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crt: Vec<PathBuf>,
    /// `alpn LIST`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// Where the line was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

impl Bind {
    /// A bind on these addresses with no parameters.
    pub fn new(addresses: Vec<BindAddr>) -> Bind {
        Bind {
            addresses,
            transparent: false,
            interface: None,
            v4v6: false,
            v6only: false,
            backlog: None,
            maxconn: None,
            name: None,
            accept_proxy: false,
            defer_accept: false,
            ssl: false,
            crt: Vec::new(),
            alpn: Vec::new(),
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
    /// `option logasap`: log when the response starts, not at the end.
    #[serde(default, skip_serializing_if = "is_false")]
    pub logasap: bool,
    /// `option http-keep-alive|http-server-close|httpclose`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub http_connection: HttpConnection,
    /// `option forwardfor ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwardfor: Option<ForwardFor>,
    /// `option redispatch`: a retry may go to another server.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redispatch: bool,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessLog {
    /// `option tcplog`.
    Tcplog,
    /// `option httplog`.
    Httplog,
    /// `option httplog clf`.
    HttplogClf,
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

/// The header `option forwardfor` adds unless told otherwise.
pub const DEFAULT_XFF: &str = "X-Forwarded-For";
fn default_xff() -> String {
    DEFAULT_XFF.to_string()
}
fn is_default_xff(h: &String) -> bool {
    h == DEFAULT_XFF
}

/// `option httpchk [[METH] URI [VER]]`: what the HTTP check sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpChk {
    /// Method (default OPTIONS).
    #[serde(default = "default_chk_method")]
    pub method: String,
    /// URI (default "/").
    #[serde(default = "default_chk_uri")]
    pub uri: String,
    /// Version (default HTTP/1.0).
    #[serde(default = "default_chk_version")]
    pub version: String,
    /// Headers given the old way, after `\r\n` in the version argument.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

fn default_chk_method() -> String {
    "OPTIONS".into()
}
fn default_chk_uri() -> String {
    "/".into()
}
fn default_chk_version() -> String {
    "HTTP/1.0".into()
}

impl Default for HttpChk {
    fn default() -> Self {
        HttpChk {
            method: default_chk_method(),
            uri: default_chk_uri(),
            version: default_chk_version(),
            headers: Vec::new(),
        }
    }
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

/// `if COND` / `unless COND` after a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `unless` instead of `if`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unless: bool,
    /// ACL terms, all of which must hold (OR-groups come with named ACLs).
    pub terms: Vec<AclTerm>,
    /// Anonymous ACLs (`{ path /metrics }`), which must hold as well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anonymous: Vec<AnonymousAcl>,
}

/// An anonymous ACL between braces: a fetch and the values it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymousAcl {
    /// `!` before the braces.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// What is tested.
    pub fetch: Fetch,
    /// It holds when any value matches.
    pub values: Vec<String>,
}

/// The sample fetches fulcrum's anonymous ACLs know so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fetch {
    /// `path`: the request path equals a value.
    Path,
    /// `path_beg`: the request path begins with a value.
    PathBeg,
}

impl Fetch {
    /// The fetch's name in a configuration.
    pub fn name(self) -> &'static str {
        match self {
            Fetch::Path => "path",
            Fetch::PathBeg => "path_beg",
        }
    }
}

/// `http-request ACTION [if|unless COND]`; only the action HAProxy's
/// Prometheus exporter is wired with is supported yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpRequestRule {
    /// The action.
    pub action: HttpRequestAction,
    /// When; always when absent.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub cond: Option<Condition>,
}

/// `http-request` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpRequestAction {
    /// `use-service prometheus-exporter`: answer with metrics.
    UsePrometheusExporter,
}

/// One term of a condition: a predefined ACL, maybe negated with `!`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclTerm {
    /// `!` before the name.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// The ACL.
    pub acl: PredefinedAcl,
}

/// The predefined ACLs fulcrum knows so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PredefinedAcl {
    /// Always true.
    #[serde(rename = "TRUE")]
    True,
    /// Always false.
    #[serde(rename = "FALSE")]
    False,
    /// The client connected from 127.0.0.1 or ::1.
    #[serde(rename = "LOCALHOST")]
    Localhost,
}

impl PredefinedAcl {
    /// Names and values.
    pub const ALL: [(&'static str, PredefinedAcl); 3] = [
        ("TRUE", PredefinedAcl::True),
        ("FALSE", PredefinedAcl::False),
        ("LOCALHOST", PredefinedAcl::Localhost),
    ];

    /// The name written in a configuration.
    pub fn name(self) -> &'static str {
        match self {
            PredefinedAcl::True => "TRUE",
            PredefinedAcl::False => "FALSE",
            PredefinedAcl::Localhost => "LOCALHOST",
        }
    }
}

/// `use_backend NAME [if|unless COND]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseBackend {
    /// The backend to use.
    pub backend: String,
    /// When; always when absent.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub cond: Option<Condition>,
    /// Where the rule was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
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
    pub admin: Option<Condition>,
    /// `stats hide-version`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hide_version: bool,
    /// `stats show-legends`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_legends: bool,
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

/// One `http-check` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpCheckRule {
    /// `http-check send ...`.
    Send(HttpCheckSend),
    /// `http-check expect ...`.
    Expect(HttpCheckExpect),
}

/// `http-check send [meth M] [uri U] [ver V] [hdr N V]* [body S]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckSend {
    /// Method; `option httpchk`'s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meth: Option<String>,
    /// URI; `option httpchk`'s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Version; `option httpchk`'s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// Headers added to the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hdr: Vec<(String, String)>,
    /// Request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `http-check expect [!] MATCH PATTERN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckExpect {
    /// `!`: the check passes when the match fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// What to look at and how.
    #[serde(rename = "match")]
    pub matcher: ExpectMatch,
    /// The pattern: status codes, a string or a regular expression.
    pub pattern: String,
}

/// The matching methods of `http-check expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectMatch {
    /// Status code among a list or ranges (`200`, `200-299,302`).
    Status,
    /// Status code matches a regular expression.
    Rstatus,
    /// Body contains a string.
    String,
    /// Body matches a regular expression.
    Rstring,
}

impl ExpectMatch {
    /// Names and values.
    pub const ALL: [(&'static str, ExpectMatch); 4] = [
        ("status", ExpectMatch::Status),
        ("rstatus", ExpectMatch::Rstatus),
        ("string", ExpectMatch::String),
        ("rstring", ExpectMatch::Rstring),
    ];

    /// The keyword.
    pub fn name(self) -> &'static str {
        match self {
            ExpectMatch::Status => "status",
            ExpectMatch::Rstatus => "rstatus",
            ExpectMatch::String => "string",
            ExpectMatch::Rstring => "rstring",
        }
    }
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

/// `server NAME ADDR[:PORT] [params]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Server {
    /// The server's name, unique in its backend.
    pub name: String,
    /// Where it lives.
    pub address: ServerAddr,
    /// `check`: health-check this server.
    #[serde(default, skip_serializing_if = "is_false")]
    pub check: bool,
    /// `backup`: used only when no active server is up.
    #[serde(default, skip_serializing_if = "is_false")]
    pub backup: bool,
    /// `track [BACKEND/]SERVER`: take another server's health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<Track>,
    /// `weight` 0-256 (default 1).
    #[serde(default = "default_weight", skip_serializing_if = "is_default_weight")]
    pub weight: u32,
    /// `inter`: time between checks (default 2s).
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub inter: Option<Duration>,
    /// `fastinter`: interval while going up or down (default: inter).
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fastinter: Option<Duration>,
    /// `downinter`: interval while down (default: inter).
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub downinter: Option<Duration>,
    /// `rise`: successes to go UP (default 2).
    #[serde(default = "default_rise", skip_serializing_if = "is_default_rise")]
    pub rise: u32,
    /// `fall`: failures to go DOWN (default 3).
    #[serde(default = "default_fall", skip_serializing_if = "is_default_fall")]
    pub fall: u32,
    /// `port`: check this port instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `addr`: check this address instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<IpAddr>,
    /// `maxconn`: concurrent connections to this server; more wait in a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// `disabled`: start in maintenance.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// `cookie VALUE`: this server's persistence cookie value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// `ssl`: TLS to the server.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ssl: bool,
    /// `verify none|required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// `ca-file`: CAs to verify the server with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// `send-proxy`: PROXY protocol v1 header before the data.
    #[serde(default, skip_serializing_if = "is_false")]
    pub send_proxy: bool,
    /// Where the line was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// Built-in server defaults, from the manual.
pub const DEFAULT_WEIGHT: u32 = 1;
/// `rise` default.
pub const DEFAULT_RISE: u32 = 2;
/// `fall` default.
pub const DEFAULT_FALL: u32 = 3;
/// Largest server weight.
pub const MAX_WEIGHT: u32 = 256;

fn default_weight() -> u32 {
    DEFAULT_WEIGHT
}
fn is_default_weight(w: &u32) -> bool {
    *w == DEFAULT_WEIGHT
}
fn default_rise() -> u32 {
    DEFAULT_RISE
}
fn is_default_rise(w: &u32) -> bool {
    *w == DEFAULT_RISE
}
fn default_fall() -> u32 {
    DEFAULT_FALL
}
fn is_default_fall(w: &u32) -> bool {
    *w == DEFAULT_FALL
}

impl Server {
    /// A server with HAProxy's defaults.
    pub fn new(name: impl Into<String>, address: ServerAddr) -> Server {
        Server {
            name: name.into(),
            address,
            check: false,
            backup: false,
            track: None,
            weight: DEFAULT_WEIGHT,
            inter: None,
            fastinter: None,
            downinter: None,
            rise: DEFAULT_RISE,
            fall: DEFAULT_FALL,
            port: None,
            addr: None,
            maxconn: None,
            disabled: false,
            cookie: None,
            ssl: false,
            verify: None,
            ca_file: None,
            send_proxy: false,
            origin: Origin::default(),
        }
    }
}

/// `track [BACKEND/]SERVER`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    /// The backend; the server's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// The tracked server.
    pub server: String,
}

impl std::fmt::Display for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Some(b) => write!(f, "{b}/{}", self.server),
            None => f.write_str(&self.server),
        }
    }
}

/// `verify none|required` on a TLS server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verify {
    /// No certificate verification.
    None,
    /// Verify against `ca-file`.
    Required,
}

/// `200`, `200-299`, or a comma-separated list of those.
pub fn parse_status_list(s: &str) -> Result<Vec<(u16, u16)>, String> {
    s.split(',')
        .map(|part| {
            let code = |c: &str| {
                c.parse::<u16>()
                    .ok()
                    .filter(|n| (100..=599).contains(n))
                    .ok_or_else(|| format!("invalid status code '{c}' (expected 100-599)"))
            };
            match part.split_once('-') {
                Some((a, b)) => Ok((code(a)?, code(b)?)),
                None => code(part).map(|c| (c, c)),
            }
        })
        .collect()
}
