//! `server` lines: the server, what it tracks, TLS verification, and the
//! built-in defaults of its parameters.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{is_false, Origin};
use crate::util::addr::ServerAddr;
use crate::util::time::serde_time;

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
    /// `agent-check`: ask an agent on the server for its state and weight.
    #[serde(default, skip_serializing_if = "is_false")]
    pub agent_check: bool,
    /// `agent-port N`: where the agent answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_port: Option<u16>,
    /// `agent-addr A`: the agent's address (default: the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_addr: Option<IpAddr>,
    /// `agent-inter T`: time between agent checks (default: `inter`).
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_inter: Option<Duration>,
    /// `agent-send S`: what to send the agent first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_send: Option<String>,
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
    /// `on-marked-down shutdown-sessions`: a server marked DOWN has its
    /// sessions closed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shutdown_on_down: bool,
    /// `on-marked-up shutdown-backup-sessions`: an active server coming UP
    /// closes the sessions of the backup servers.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shutdown_backups_on_up: bool,
    /// `send-proxy-v2`: a PROXY protocol v2 header opens each connection.
    #[serde(default, skip_serializing_if = "is_false")]
    pub send_proxy_v2: bool,
    /// `proxy-v2-options`: what a v2 header carries besides addresses.
    #[serde(default, skip_serializing_if = "ProxyV2Options::is_empty")]
    pub proxy_v2_options: ProxyV2Options,
    /// `crt FILE`: the client certificate shown to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crt: Option<PathBuf>,
    /// `alpn LIST`: protocols offered to the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// `no-ssl-reuse`: no TLS session resumption with this server.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_ssl_reuse: bool,
    /// `check-ssl`: health checks over TLS.
    #[serde(default, skip_serializing_if = "is_false")]
    pub check_ssl: bool,
    /// `check-sni NAME`: the server name health checks send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_sni: Option<String>,
    /// `sni EXPR`: the server name sent in the TLS handshake, a sample
    /// expression such as `str(www.example.com)` or `req.hdr(host)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// `verifyhost NAME`: with `verify required`, the name the server's
    /// certificate must hold when no SNI was sent. Without it and without
    /// `sni`, only the chain is checked, as in HAProxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifyhost: Option<String>,
    /// `send-proxy`: PROXY protocol v1 header before the data.
    #[serde(default, skip_serializing_if = "is_false")]
    pub send_proxy: bool,
    /// `observe layer4|layer7`: traffic to the server counts towards its
    /// health (`none`: not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe: Option<ObserveLayer>,
    /// `error-limit N`: consecutive observed errors that trigger
    /// `on-error` (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_limit: Option<u32>,
    /// `on-error MODE` (default fail-check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
    /// `check-send-proxy`: health checks open with a PROXY header (v2
    /// when the server has `send-proxy-v2`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub check_send_proxy: bool,
    /// `slowstart T`: after coming back up, the server's weight (and
    /// maxconn) grow from almost nothing to full over T.
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub slowstart: Option<Duration>,
    /// `pool-max-conn N`: idle connections kept for reuse at most (0:
    /// none; unset or -1: no limit of the server's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_max_conn: Option<i32>,
    /// `pool-purge-delay T`: how long an idle connection is kept (0:
    /// until the server closes it).
    #[serde(
        default,
        with = "serde_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub pool_purge_delay: Option<Duration>,
    /// `resolvers NAME`: the address is asked of these name servers at
    /// run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolvers: Option<String>,
    /// `resolve-prefer ipv4|ipv6` (default ipv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_prefer: Option<Family>,
    /// `resolve-net NET,...`: addresses in these networks come first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolve_net: Vec<ipnet::IpNet>,
    /// `resolve-opts OPT,...`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolve_opts: Vec<ResolveOpt>,
    /// `init-addr METHOD,...`: how the address is found at start-up
    /// (empty: HAProxy's default, `last,libc`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_addr: Vec<InitAddr>,
    /// `server-template PREFIX RANGE ...`: the template this server was
    /// made from, as `PREFIX RANGE` (written back as one line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Where the line was written (not serialized).
    #[serde(skip)]
    pub origin: Origin,
}

/// What `observe` watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObserveLayer {
    /// Connections: refused or timed out is an error.
    Layer4,
    /// HTTP answers too: a status outside 100-499, 501, 505, or an
    /// invalid, missing or late answer is an error (mode http only).
    Layer7,
}

/// What enough consecutive observed errors do (`on-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Only check again sooner (`fastinter`).
    Fastinter,
    /// Count as one failed check (the default).
    FailCheck,
    /// Leave the server one failed check from DOWN, and count one.
    SuddenDeath,
    /// Mark the server DOWN at once.
    MarkDown,
}

impl OnError {
    /// HAProxy's word for it.
    pub fn word(self) -> &'static str {
        match self {
            OnError::Fastinter => "fastinter",
            OnError::FailCheck => "fail-check",
            OnError::SuddenDeath => "sudden-death",
            OnError::MarkDown => "mark-down",
        }
    }
}

/// An address family, for `resolve-prefer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `ipv4`.
    Ipv4,
    /// `ipv6`.
    Ipv6,
}

/// One `resolve-opts` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResolveOpt {
    /// `allow-dup-ip`: servers of one name may share an address.
    AllowDupIp,
    /// `prevent-dup-ip`: they may not (the default).
    PreventDupIp,
    /// `ignore-weight`: SRV weights do not set the server's weight.
    IgnoreWeight,
}

impl ResolveOpt {
    /// HAProxy's word for it.
    pub fn word(self) -> &'static str {
        match self {
            ResolveOpt::AllowDupIp => "allow-dup-ip",
            ResolveOpt::PreventDupIp => "prevent-dup-ip",
            ResolveOpt::IgnoreWeight => "ignore-weight",
        }
    }
}

/// One `init-addr` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitAddr {
    /// `last`: the address in the server-state file (fulcrum has none, so
    /// this method never finds one).
    Last,
    /// `libc`: the system's resolver.
    Libc,
    /// `none`: start without an address, in maintenance until resolved.
    None,
    /// An address to start with.
    #[serde(untagged)]
    Ip(IpAddr),
}

impl std::fmt::Display for InitAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitAddr::Last => f.write_str("last"),
            InitAddr::Libc => f.write_str("libc"),
            InitAddr::None => f.write_str("none"),
            InitAddr::Ip(ip) => write!(f, "{ip}"),
        }
    }
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
    /// Whether its name is a SRV label (`_service._proto.name`), which
    /// HAProxy asks SRV records for.
    pub fn is_srv_label(&self) -> bool {
        matches!(&self.address.host, crate::util::addr::Host::Name(n) if n.starts_with('_'))
    }

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
            agent_check: false,
            agent_port: None,
            agent_addr: None,
            agent_inter: None,
            agent_send: None,
            disabled: false,
            cookie: None,
            ssl: false,
            verify: None,
            ca_file: None,
            sni: None,
            verifyhost: None,
            check_ssl: false,
            crt: None,
            alpn: Vec::new(),
            no_ssl_reuse: false,
            send_proxy_v2: false,
            proxy_v2_options: ProxyV2Options::default(),
            shutdown_on_down: false,
            shutdown_backups_on_up: false,
            check_sni: None,
            send_proxy: false,
            slowstart: None,
            pool_max_conn: None,
            pool_purge_delay: None,
            check_send_proxy: false,
            observe: None,
            error_limit: None,
            on_error: None,
            resolvers: None,
            resolve_prefer: None,
            resolve_net: Vec::new(),
            resolve_opts: Vec::new(),
            init_addr: Vec::new(),
            template: None,
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

/// `proxy-v2-options`: the TLVs a `send-proxy-v2` header carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProxyV2Options {
    /// `ssl`: the client's TLS (version, and flags for its certificate).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ssl: bool,
    /// `cert-cn`: with `ssl`, the client certificate's common name.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cert_cn: bool,
    /// `ssl-cipher`: with `ssl`, the cipher's name.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ssl_cipher: bool,
    /// `authority`: the host name the client gave (SNI, or the authority
    /// of a PROXY header in front of us).
    #[serde(default, skip_serializing_if = "is_false")]
    pub authority: bool,
    /// `crc32c`: a checksum of the header.
    #[serde(default, skip_serializing_if = "is_false")]
    pub crc32c: bool,
    /// `unique-id`: the request's unique ID (`unique-id-format`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique_id: bool,
}

impl ProxyV2Options {
    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        *self == ProxyV2Options::default()
    }

    /// The options set, as `proxy-v2-options` names them.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.ssl, "ssl"),
            (self.cert_cn, "cert-cn"),
            (self.ssl_cipher, "ssl-cipher"),
            (self.authority, "authority"),
            (self.crc32c, "crc32c"),
            (self.unique_id, "unique-id"),
        ]
        .into_iter()
        .filter_map(|(on, n)| on.then_some(n))
        .collect()
    }

    /// Sets one option by name.
    pub fn set(&mut self, name: &str) -> Result<(), String> {
        match name {
            "ssl" => self.ssl = true,
            "cert-cn" => self.cert_cn = true,
            "ssl-cipher" => self.ssl_cipher = true,
            "authority" => self.authority = true,
            "crc32c" => self.crc32c = true,
            "unique-id" => self.unique_id = true,
            "cert-sig" | "cert-key" => {
                return Err(format!(
                    "'proxy-v2-options {name}' (the client certificate's algorithms) is not supported yet; supported: ssl, cert-cn, ssl-cipher, authority, crc32c, unique-id"
                ))
            }
            other => {
                return Err(format!(
                    "'proxy-v2-options': '{other}' is an unknown option (expected ssl, cert-cn, ssl-cipher, cert-sig, cert-key, authority, crc32c or unique-id)"
                ))
            }
        }
        Ok(())
    }
}
