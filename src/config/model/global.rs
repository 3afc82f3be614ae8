//! The `global` section: process settings, the stats socket and log targets.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::is_false;
use crate::util::time::serde_time;

/// The `global` section: process-wide settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Global {
    /// `log` targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<LogTarget>,
    /// `spread-checks PERCENT` (0-50): each check interval varies by up
    /// to this much, so that checks do not all fire together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_checks: Option<u32>,
    /// `node NAME`: this node's name (the system's host name when unset),
    /// sent by `http-check send-state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `localpeer NAME`: this node's name in `peers` sections (`-L` wins;
    /// the host name when neither is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localpeer: Option<String>,
    /// `log-tag NAME`: the program name in syslog headers (default haproxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tag: Option<String>,
    /// `log-send-hostname [NAME]`: a host name in syslog headers (the
    /// system's when none is given, written as the empty string here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_send_hostname: Option<String>,
    /// `maxconn`: process-wide limit on concurrent connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// `nbthread`: data-plane threads (default: one per core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbthread: Option<u32>,
    /// `daemon`: detach and run in the background.
    #[serde(default, skip_serializing_if = "is_false")]
    pub daemon: bool,
    /// `zero-warning`: a warning stops the start (as `-dW`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub zero_warning: bool,
    /// `master-worker`: run as a master with a worker process (as `-W`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub master_worker: bool,
    /// `pidfile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pidfile: Option<PathBuf>,
    /// `stats socket` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stats_socket: Vec<StatsSocket>,
    /// `stats maxconn`: connections at once on each stats socket (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_maxconn: Option<u32>,
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
    /// `maxpipes`: pipes the process may hold for splicing (default a
    /// quarter of `maxconn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxpipes: Option<u32>,
    /// `tune.pipesize`: the size asked of each pipe (the kernel's default,
    /// 64 KiB, when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune_pipesize: Option<u32>,
    /// `nosplice`: never splice, copy through user space.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nosplice: bool,
    /// `tune.maxrewrite`: room kept in the buffer for header rewrites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune_maxrewrite: Option<u32>,
    /// `tune.http.maxhdr`: the most lines a head may have, its first
    /// line included (default 101).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune_http_maxhdr: Option<u32>,
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
    /// `ssl-server-verify none|required`: the default of `server ... verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_server_verify: Option<super::Verify>,
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
    /// `uid N`: the socket file's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// `gid N`: the socket file's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// `user NAME`: the socket file's owner, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `group NAME`: the socket file's group, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `level user|operator|admin` (default: admin, as in HAProxy 2.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<StatsLevel>,
    /// Parameters accepted with a warning, as written (`expose-fd
    /// listeners`, `process 1`): they matter only to HAProxy's own
    /// reload and process model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
}

impl StatsSocket {
    /// A socket at `address` with the defaults (level admin).
    pub fn at(address: String) -> StatsSocket {
        StatsSocket {
            address,
            mode: None,
            uid: None,
            gid: None,
            user: None,
            group: None,
            level: None,
            params: Vec::new(),
        }
    }
}

/// Access level on the stats socket, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
        // A log is sent as datagrams: `dgram+` says so and changes nothing.
        let s = s.strip_prefix("dgram+").unwrap_or(s);
        if let Some(path) = s.strip_prefix("unix@") {
            return Ok(LogAddress::Unix(PathBuf::from(path)));
        }
        let s = s
            .strip_prefix("ipv4@")
            .or_else(|| s.strip_prefix("ipv6@"))
            .unwrap_or(s);
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
